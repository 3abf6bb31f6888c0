"""/national/verification-clients/: the national office's pages for the verification API's clients."""

from django.urls import path

from verification import views

app_name = "verification"

urlpatterns = [
    path("national/verification-clients/", views.ClientListView.as_view(), name="list"),
    path("national/verification-clients/new/", views.ClientCreateView.as_view(), name="create"),
    path("national/verification-clients/<id:pk>/", views.ClientDetailView.as_view(), name="detail"),
    path("national/verification-clients/<id:pk>/usage/", views.ClientUsageView.as_view(), name="usage"),
    path("national/verification-clients/<id:pk>/<slug:action>/", views.ClientActionView.as_view(), name="action"),
]
