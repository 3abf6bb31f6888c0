"""Django's 500 handler (patent_platform.urls.handler500): the database unreachable answers 503.

When PostgreSQL cannot be reached (the connection refused or lost: OperationalError / InterfaceError),
whatever middleware or view first touched the database raised; instead of the 500 page, every page answers
503 with a static bilingual page (templates/503.html, rendered without the request: no context processor,
session or user lookup, nothing that needs the database) and the API answers 503 JSON, both with
Retry-After. Other errors keep Django's 500 page. `/healthz` says which part is down (views/health.py).
"""

import logging
import sys

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.views import defaults

from patent_platform.api.problems import problem_json_response
from patent_platform.claims import connection_lost
from patent_platform.concurrency import busy_response, sqlite_busy

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
FALLBACK = (
    "服务暂时不可用：平台的数据库暂时无法连接，请稍后重试。\n"
    "Service temporarily unavailable: the platform's database cannot be reached; please try again later.\n"
)


def unavailable(request: HttpRequest) -> HttpResponse:
    """503: JSON under /api/, the static page elsewhere."""
    response: HttpResponse
    if request.path.startswith("/api/"):
        # the language as LocaleMiddleware would choose it (this may run before it): cookie or header
        with translation.override(translation.get_language_from_request(request)):
            detail = str(_("服务暂时不可用：数据库无法连接，请稍后重试。"))
        response = problem_json_response("database_unavailable", detail)
    else:
        try:
            page = render_to_string("503.html")  # no request: no context processors
        except Exception:  # the page must never fail in its turn
            logger.exception("the 503 page could not be rendered")
            response = HttpResponse(FALLBACK, status=503, content_type="text/plain; charset=utf-8")
        else:
            response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest, template_name: str = defaults.ERROR_500_TEMPLATE_NAME) -> HttpResponse:
    """Called by Django while it handles an uncaught exception (sys.exc_info() is that exception)."""
    if sqlite_busy(sys.exc_info()[1]):  # the embedded database stayed locked: "try again" (concurrency.py)
        return busy_response(request)
    if connection_lost(sys.exc_info()[1]):
        return unavailable(request)
    return defaults.server_error(request, template_name)
