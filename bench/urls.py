"""The project's URLs plus one bare Django view, the baseline of the throughput benchmarks (the bench
sets ROOT_URLCONF to this module; the platform itself never routes here)."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/bare/", bare, name="bench-bare"),
    path("", include("patent_platform.urls")),
]
