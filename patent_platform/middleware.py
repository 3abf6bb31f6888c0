"""Request-wide context for the audit log, and no caching of pages that carry personal data."""

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.translation import gettext as _

from patent_platform import audit
from patent_platform.api.problems import problem_json_response


def client_ip(request: HttpRequest, *args: object) -> str | None:
    """The client's address for the audit log and the login lockout.

    Behind PROXY_COUNT trusted reverse proxies, each appends the address it saw to X-Forwarded-For,
    so the client is the PROXY_COUNT-th entry from the right; anything further left was written by
    the client itself and is never trusted. With no proxy (PROXY_COUNT=0) it is REMOTE_ADDR."""
    count = settings.PROXY_COUNT
    if count > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= count:
            result: str | None = forwarded[-count]
            return result
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = audit.set_context(actor=getattr(request, "user", None), ip=client_ip(request))
        try:
            return self.get_response(request)
        finally:
            audit.reset_context(token)


class NoStoreForAuthenticatedMiddleware:
    """Pages seen by a logged-in user may carry personal or confidential data: never cache them
    (等保 L3-CES1-31/32, residual information)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith("/static/"):
            response["Cache-Control"] = "no-store"
        return response


class RefuseNulInQueryMiddleware:
    """A NUL character (0x00) is never valid input: PostgreSQL refuses it in any text value, so a query
    parameter carrying one that reached a filter answered 500 (found by the API fuzzer, `?q=…%00…` on
    /api/v1/products/). Forms and serializers already refuse NUL in their fields (Django's
    ProhibitNullCharactersValidator); this refuses it in every query string, for every page and the API,
    with 400 before any view runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # the parsed query string: "%00" and a raw NUL both arrive as "\x00"
        if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
            message = _("查询参数不能包含空字符（NUL）。")
            if request.path.startswith("/api/"):
                return problem_json_response("bad_request", message)
            return HttpResponseBadRequest(str(message), content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """The database unreachable: every page answers 503 with the static page and the API 503 JSON
    (patent_platform/views/errors.py) before any other middleware or view runs, so nothing is half-done:
    no session or user lookup, no upload written, no page that happens to need no database served as if
    all were well. Connecting is a no-op while the connection is open (CONN_MAX_AGE); a connection lost
    later in the request reaches the same answer through the 500 handler. `/healthz` answers for itself
    (its JSON names the part that is down); static files are served before this (WhiteNoise)."""

    EXEMPT = ("/healthz",)

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path not in self.EXEMPT:
            from django.db import connection

            from patent_platform.claims import DB_ERRORS
            from patent_platform.views.errors import unavailable

            try:
                connection.ensure_connection()
            except DB_ERRORS:
                return unavailable(request)
            except RuntimeError:
                # database access refused inside this process (pytest-django's guard in a test that uses no
                # database): nothing to check here, the view decides as before
                pass
        return self.get_response(request)


class SessionRenewalMiddleware:
    """The idle timeout (等保 L3-CES1-02; SESSION_COOKIE_AGE) renews a session's expiry on the server as
    requests come, but at most once per SESSION_RENEW_SECONDS: a page view then costs no session UPDATE,
    and the session still expires between SESSION_COOKIE_AGE - SESSION_RENEW_SECONDS and SESSION_COOKIE_AGE
    after the last request (29 to 30 minutes by default). Right after SessionMiddleware; a request with no
    session cookie starts no session."""

    KEY = "_renewed"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.session_key:
            now = int(time.time())
            if now - int(session.get(self.KEY, 0)) >= settings.SESSION_RENEW_SECONDS:
                session[self.KEY] = now  # modified: saved with a new expiry when the response leaves
        return self.get_response(request)
