"""Open data pages and files: no login, aggregated figures only (docs/OPEN_DATA.md).

`/open-data/` (what it is, the fields, the months), `/open-data/<YYYY-MM>.csv` and `.json`,
`/open-data/schema.json`. Every request counts against the `open_data` rate limit per client address;
the files carry an ETag and Last-Modified and answer 304 to a matching conditional request.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, ClassVar

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.urls import reverse
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from patent_platform import ratelimit
from patent_platform.replica import ReplicaReadsMixin
from provincial import opendata

SCOPE = "open_data"


class _OpenDataMixin:
    """Public (aggregates only, no login) and rate-limited per address."""

    scope_policy: ClassVar[str] = "public"
    rate_limit_scope: ClassVar[str] = SCOPE
    answers_json: ClassVar[bool] = False

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        limited = ratelimit.check(request, SCOPE)
        if limited is not None:
            if self.answers_json:
                response: HttpResponse = JsonResponse({"detail": limited.message}, status=429)
                response["Retry-After"] = str(limited.retry_after)
                return response
            return ratelimit.too_many_requests(request, limited)
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class OpenDataIndexView(ReplicaReadsMixin, _OpenDataMixin, TemplateView):
    template_name = "provincial/opendata/index.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        months = list(reversed(opendata.available_months()))
        context.update(
            months=months,
            fields=[(name, kind, _(description)) for name, kind, description in opendata.FIELDS],
            schema_version=opendata.SCHEMA_VERSION,
            license_note=_(opendata.LICENSE_NOTE),
            cache_minutes=opendata.CACHE_SECONDS // 60,
            rate=ratelimit.rate_for(SCOPE),
        )
        return context


def _month_document(month: str) -> dict[str, Any]:
    start = opendata.parse(month)
    if start is None:
        raise Http404
    return opendata.document(month, start)


def _conditional(request: HttpRequest, doc: dict[str, Any], response: HttpResponse) -> HttpResponse:
    etag = f'"{doc["etag"]}"'
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
    response["ETag"] = etag
    response["Last-Modified"] = http_date(doc["generated"].timestamp())
    response["Cache-Control"] = f"public, max-age={opendata.CACHE_SECONDS}"
    response["Access-Control-Allow-Origin"] = "*"
    return response


class OpenDataJsonView(ReplicaReadsMixin, _OpenDataMixin, View):
    answers_json = True

    def get(self, request: HttpRequest, month: str) -> HttpResponse:
        doc = _month_document(month)
        body = {"$schema": request.build_absolute_uri(reverse("opendata:schema")), **doc["body"]}
        response = HttpResponse(
            json.dumps(body, ensure_ascii=False, indent=1), content_type="application/json; charset=utf-8"
        )
        return _conditional(request, doc, response)


class OpenDataCsvView(ReplicaReadsMixin, _OpenDataMixin, View):
    def get(self, request: HttpRequest, month: str) -> HttpResponse:
        doc = _month_document(month)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(opendata.CSV_HEADER)
        for row in doc["body"]["rows"]:
            writer.writerow([row[name] for name in opendata.CSV_HEADER])
        response = HttpResponse(("\ufeff" + buffer.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="open-data-{month}.csv"'
        return _conditional(request, doc, response)


class OpenDataSchemaView(_OpenDataMixin, View):
    answers_json = True

    def get(self, request: HttpRequest) -> HttpResponse:
        schema = opendata.json_schema(request.build_absolute_uri(reverse("opendata:schema")))
        response = HttpResponse(
            json.dumps(schema, ensure_ascii=False, indent=1), content_type="application/schema+json; charset=utf-8"
        )
        response["Cache-Control"] = f"public, max-age={opendata.CACHE_SECONDS}"
        response["Access-Control-Allow-Origin"] = "*"
        return response
