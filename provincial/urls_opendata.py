"""Open data: stable addresses, no login (docs/OPEN_DATA.md)."""

from django.urls import path, re_path

from provincial.views import opendata

urlpatterns = [
    path("", opendata.OpenDataIndexView.as_view(), name="index"),
    path("schema.json", opendata.OpenDataSchemaView.as_view(), name="schema"),
    re_path(r"^(?P<month>\d{4}-\d{2})\.csv$", opendata.OpenDataCsvView.as_view(), name="csv"),
    re_path(r"^(?P<month>\d{4}-\d{2})\.json$", opendata.OpenDataJsonView.as_view(), name="json"),
]
