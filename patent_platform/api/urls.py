"""/api/v1/: each app contributes its routes by dotted path."""

from django.urls import include, path

from patent_platform.api.views import ObtainTokenView

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("", include("filings.api.urls")),
    path("evaluation/", include("evaluation.api.urls")),
    path("provincial/", include("provincial.api.urls")),
    path("verify/", include("verification.api.urls")),
]
