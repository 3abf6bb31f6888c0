"""Test urlconf: the project's URLs plus the roster API routes (until provincial/api/urls.py lists them)."""

from django.urls import include, path

from provincial.api import rosters

urlpatterns = [
    path("api/v1/provincial/rosters/", rosters.RosterListAPIView.as_view(), name="provincial-rosters"),
    path("api/v1/provincial/coverage/", rosters.CoverageAPIView.as_view(), name="provincial-coverage"),
    path("", include("patent_platform.urls")),
]
