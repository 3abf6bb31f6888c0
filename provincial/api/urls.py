"""/api/v1/provincial/: statistics, coverage and rosters, through the same scoping rule as the pages.

Aggregate endpoints are listed in `urlpatterns`; model viewsets, if any, register on `router`.
"""

from django.urls import path
from rest_framework.routers import SimpleRouter

from provincial.api import rosters, views

router = SimpleRouter()

urlpatterns = [
    path("dashboard/", views.DashboardView.as_view(), name="provincial-dashboard"),
    path("national/ranking/", views.NationalRankingView.as_view(), name="provincial-national-ranking"),
    path("rosters/", rosters.RosterListAPIView.as_view(), name="provincial-rosters"),
    path("coverage/", rosters.CoverageAPIView.as_view(), name="provincial-coverage"),
    *router.urls,
]
