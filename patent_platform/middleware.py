"""Request-wide context for the audit log, and no caching of pages that carry personal data."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from patent_platform import audit


def client_ip(request: HttpRequest, *args: object) -> str | None:
    """The client's address for the audit log and the login lockout.

    Behind PROXY_COUNT trusted reverse proxies, each appends the address it saw to X-Forwarded-For,
    so the client is the PROXY_COUNT-th entry from the right; anything further left was written by
    the client itself and is never trusted. With no proxy (PROXY_COUNT=0) it is REMOTE_ADDR."""
    count = settings.PROXY_COUNT
    if count > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= count:
            return forwarded[-count]
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
