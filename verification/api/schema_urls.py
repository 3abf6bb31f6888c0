"""The URL configuration the verification API's OpenAPI document is generated from: its endpoints only."""

from django.urls import include, path

urlpatterns = [path("api/v1/verify/", include("verification.api.urls"))]
