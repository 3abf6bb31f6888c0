"""/national/verification-clients/: the national office's pages for the verification API's clients."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from verification import views
from verification.api.schema import SETTINGS

app_name = "verification"

urlpatterns = [
    path("national/verification-clients/", views.ClientListView.as_view(), name="list"),
    path("national/verification-clients/new/", views.ClientCreateView.as_view(), name="create"),
    path("national/verification-clients/<id:pk>/", views.ClientDetailView.as_view(), name="detail"),
    path("national/verification-clients/<id:pk>/usage/", views.ClientUsageView.as_view(), name="usage"),
    # one pattern per confirmed action (no free-form action in the URL)
    *(
        path(
            f"national/verification-clients/<id:pk>/{action}/",
            views.ClientActionView.as_view(),
            {"action": action},
            name=action,
        )
        for action in views.ClientActionView.ACTIONS
    ),
    # the verification API's own OpenAPI document and its page
    path(
        "api/verify/schema/",
        SpectacularAPIView.as_view(urlconf="verification.api.schema_urls", custom_settings=SETTINGS),
        name="schema",
    ),
    path("api/verify/docs/", SpectacularSwaggerSplitView.as_view(url_name="verification:schema"), name="docs"),
]
