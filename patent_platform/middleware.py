"""Request-wide context for the audit log, and no caching of pages that carry personal data."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from patent_platform import audit


def client_ip(request: HttpRequest) -> str | None:
    # Behind the production reverse proxy REMOTE_ADDR is set from X-Real-IP by the proxy itself
    # (see docs/DEPLOY.md); X-Forwarded-For from the client is never trusted here.
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
    (等保 L3-CES1-32/33, residual information)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith("/static/"):
            response["Cache-Control"] = "no-store"
        return response
