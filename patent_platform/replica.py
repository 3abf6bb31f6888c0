"""Reads that can go elsewhere (issue 21): a database router that sends the read-only heavy pages to a
streaming replica when one is configured (`DATABASE_REPLICA_URL`), and everything else to the primary.

- Only a view that says so reads from the replica: `ReplicaReadsMixin` / `replica_reads` mark the
  public search, the dashboards, the analysis and the open data and their exports. Inside such a view every
  read goes to the replica and every write (an export's audit record) to the primary; outside, every query
  goes to the primary, so the forms, the workflow and the locks never see a replica.
- Read your writes: a request that changes something (a POST, PUT, PATCH or DELETE answered below 400)
  pins its user to the primary for `REPLICA_PIN_SECONDS` — longer than the replica's lag is allowed to
  be — through a cookie (kept by browsers, anonymous visitors included) and, for an authenticated user,
  a cache key too (API clients that keep no cookie). While pinned, the marked views read the primary.
- No replica configured (the embedded default, tests): the router answers the primary always.

The replica may be seconds behind the primary: the pages that read it say nothing of the seconds, as they
show figures of the summary cells that are themselves refreshed on a schedule (docs/DEPLOY.md, "Read replica").
"""

from __future__ import annotations

import contextvars
import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"
PIN_COOKIE = "pp_primary"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

_reading_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("reading_replica", default=False)


def configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads_allowed(allowed: bool = True) -> Iterator[None]:
    """Within the block, reads go to the replica (if one is configured and `allowed`)."""
    token = _reading_replica.set(allowed and configured())
    try:
        yield
    finally:
        _reading_replica.reset(token)


class ReplicaRouter:
    """Django's router: reads to the replica inside `replica_reads_allowed`, all else to the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return REPLICA if _reading_replica.get() else None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the replica is a copy of the primary: the same rows

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        return db != REPLICA


def _pin_key(user_id: Any) -> str:
    return f"replica:pin:{user_id}"


def is_pinned(request: HttpRequest) -> bool:
    """True while the request's user wrote within REPLICA_PIN_SECONDS (cookie or, signed in, cache)."""
    try:
        until = float(request.COOKIES.get(PIN_COOKIE, "0"))
    except ValueError:
        until = 0.0
    if until > time.time():
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and cache.get(_pin_key(user.pk)))


def pin(request: HttpRequest, response: HttpResponse) -> None:
    seconds = settings.REPLICA_PIN_SECONDS
    response.set_cookie(
        PIN_COOKIE,
        f"{time.time() + seconds:.0f}",
        max_age=seconds,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        cache.set(_pin_key(user.pk), 1, timeout=seconds)


class ReplicaPinMiddleware:
    """Pins to the primary whoever has just changed something (see the module's text)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if configured() and request.method not in _SAFE and response.status_code < 400:
            pin(request, response)
        return response


def replica_reads(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A view function whose reads may go to the replica (unless its user is pinned to the primary)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in _SAFE:
            return view(request, *args, **kwargs)
        with replica_reads_allowed(not is_pinned(request)):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()  # a TemplateResponse renders here, its lazy querysets on the replica
            return response

    return wrapped


class ReplicaReadsMixin:
    """The class-based form of `replica_reads`: put it first among the view's bases."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        dispatch = super().dispatch  # type: ignore[misc]
        return replica_reads(lambda req, *a, **kw: dispatch(req, *a, **kw))(request, *args, **kwargs)
