"""`/healthz`: what a load balancer and an operator ask — can this process serve, and is a part degraded.

200 while the database answers, with `"cache": "degraded"` when Redis is unreachable and the local cache
answers instead (patent_platform/cache.py: pages, login and writes still work); 503 when the database does
not answer. No data, no login: the answer names parts, never contents.
"""

from typing import Any, ClassVar

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views import View

from patent_platform.cache import cache_state


class HealthView(View):
    scope_policy: ClassVar[str] = "public"
    http_method_names = ["get", "head"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
            database = "ok"
        except DatabaseError:
            database = "down"
        cache = cache_state()
        status = "down" if database != "ok" else ("degraded" if cache == "degraded" else "ok")
        response = JsonResponse({"status": status, "database": database, "cache": cache})
        response.status_code = 503 if database != "ok" else 200
        response["Cache-Control"] = "no-store"
        return response
