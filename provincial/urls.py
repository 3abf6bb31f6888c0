"""URLs of the provincial app; each area has its own module and namespace."""

from django.urls import include, path

urlpatterns = [
    path("port/", include(("provincial.urls_port", "port"))),
    path("national/", include(("provincial.urls_national", "national"))),
    path("ports/apply/", include(("provincial.urls_applications", "port_apply"))),
    path("rosters/", include(("provincial.urls_rosters", "rosters"))),
    path("open-data/", include(("provincial.urls_opendata", "opendata"))),
    path("", include(("provincial.urls_statements", "statements"))),
]
