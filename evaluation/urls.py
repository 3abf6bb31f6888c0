"""URLs of the evaluation app; each area has its own module and namespace."""

from django.urls import include, path

urlpatterns = [
    path("certification/", include(("evaluation.urls_certification", "certification"))),
    path("certified/", include(("evaluation.urls_public", "certified"))),
]
