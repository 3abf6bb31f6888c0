"""Concurrency without 500s (issue 17, mechanism 5; docs/ONE_TRUTH.md §5), in one module.

Two clicks at once — the same approval by two reviewers, a round finalised from two windows — must give
one result and a clear answer to the other, on PostgreSQL and on the embedded SQLite alike:

- **The loser of a race gets `Conflict`.** Every state-changing service locks its row (`select_for_update`)
  and checks the state again under the lock; when that state shows that another action already happened
  (the same action done, or the row changed since the request read it), the service raises a `Conflict`
  (each domain has its own subclass, so its pages keep catching their own error): a page shows the message
  ("另一操作已先完成：…", with 409 where it renders a page, or a redirect with the message) and the API
  answers **409** `{"detail": "…", "code": "…"}` (`filings.api.views.ApiErrorsMixin`). Nothing is written
  twice: no second transition, audit record or notice.
- **SQLite: a bounded retry when the database is busy.** Write transactions begin with `BEGIN IMMEDIATE`
  (settings: `transaction_mode`), which waits for the other writer up to the `timeout` (20 s). If the lock is
  still held then, `begin_with_retry` tries again a few times with a short backoff before giving up; nothing
  has run in the transaction yet, so a retry cannot do anything twice. `retry_sqlite_begin` puts it on every
  SQLite connection when it opens (`connection_created`, connected in `PatentPlatformConfig.ready`);
  PostgreSQL needs none (its row locks queue the writers) and never retries.
- **Never a 500 for a busy SQLite.** If SQLite is still busy after the retries (or a statement outside a
  transaction meets the lock), `BusyDatabaseMiddleware` and the 500 handler answer 503 with Retry-After and
  a message saying to try again — not Django's 500 page, nor the "database unreachable" page.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from patent_platform.api.problems import problem_json_response
from patent_platform.messages import Conflict as Conflict  # defined with the other rule refusals; read from here

logger = logging.getLogger(__name__)

# SQLite's BEGIN IMMEDIATE: the first attempt and two more, after 0.05 s and 0.2 s (plus jitter); each
# attempt itself waits up to the connection's busy `timeout`.
BEGIN_ATTEMPTS = 3
BEGIN_BACKOFF = (0.05, 0.2)
BUSY_RETRY_AFTER_SECONDS = 2


def when(moment: Any) -> str:
    """A moment for a conflict message, in the platform's time zone (minutes are enough for a person)."""
    if moment is None:
        return "—"
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------------------------------------
# SQLite: "database is locked"


def sqlite_busy(exc: BaseException | None) -> bool:
    """SQLite's "database is locked" / "database is busy" (an OperationalError), directly or as a cause."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OperationalError) or type(exc).__name__ == "OperationalError":
            text = str(exc).lower()
            if "database is locked" in text or "database is busy" in text or "database table is locked" in text:
                return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def begin_with_retry(
    begin: Callable[[], None],
    *,
    attempts: int = BEGIN_ATTEMPTS,
    backoff: tuple[float, ...] = BEGIN_BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Run `begin` (SQLite's `BEGIN IMMEDIATE`); while it fails because the database is locked, wait a little
    and try again, `attempts` times in all. Safe because nothing has run in the transaction yet."""
    for attempt in range(attempts):
        try:
            begin()
            return
        except Exception as exc:
            if not sqlite_busy(exc) or attempt == attempts - 1:
                raise
            pause = backoff[min(attempt, len(backoff) - 1)] * (1 + random.random())  # noqa: S311 (jitter)
            logger.warning("SQLite busy at BEGIN (attempt %s of %s); retrying in %.2f s", attempt + 1, attempts, pause)
            sleep(pause)


def retry_sqlite_begin(sender: Any, connection: Any, **kwargs: Any) -> None:
    """`connection_created` receiver: on SQLite, the connection's BEGIN (IMMEDIATE) goes through
    `begin_with_retry`. Django calls `_start_transaction_under_autocommit` when an outermost atomic block
    opens, after the connection exists. Other engines are left alone."""
    if connection.vendor != "sqlite" or getattr(connection, "_begin_retried", False):
        return
    # Django's private hook for BEGIN, wrapped (see the docstring)
    begin = connection._start_transaction_under_autocommit  # noqa: SLF001
    connection._start_transaction_under_autocommit = lambda: begin_with_retry(begin)  # noqa: SLF001
    connection._begin_retried = True  # noqa: SLF001 (our marker on the connection)


def busy_response(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: the embedded database stayed busy (JSON under /api/, a short page elsewhere)."""
    message = _("系统繁忙：其他操作正在写入数据，请稍后重试。")
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = problem_json_response("database_busy", message)
    else:
        response = HttpResponse(str(message), status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class BusyDatabaseMiddleware:
    """A view that met a busy SQLite (after the retries) answers 503 "try again", never 500 — with DEBUG too
    (the 500 handler, `views/errors.py`, gives the same answer for errors raised outside a view)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if sqlite_busy(exception):
            logger.warning("SQLite stayed busy: %s %s answered 503", request.method, request.path)
            return busy_response(request)
        return None
