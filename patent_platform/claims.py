"""Tasks that claim work, and a lost database connection (issue 25, "nothing lost when a part fails").

A task that claims work (a publication's claim token and lease, an import job set running) must never end
holding its claim. When PostgreSQL drops a worker's connection mid-task (the session terminated with
`pg_terminate_backend`, a restart, a failover), every later query on that connection fails, the one that
would record the failure included: before this module the failed publication build kept its lease and its
own retry found that live lease and did nothing, for up to the lease and the hourly sweep.

- `connection_lost(exc)`: an OperationalError or InterfaceError of the database, or an error caused by one;
- `reconnect()`: close the broken connections (outside a transaction), so the next query opens a new one;
- `on_fresh_connection(write)`: run a short write (record the error, release the claim); on a lost
  connection reconnect and run it again, a few times over a few seconds;
- `ClaimStillHeld`: what a service raises when even that failed (the database still unreachable): it
  carries the claim token, which the retry passes back so that the retry re-takes its own claim instead of
  waiting for the lease;
- `RowClaim`: the exactly-once claim of a row itself (the publications, the subscription deliveries): a
  conditional UPDATE takes the row with a fresh token and a lease if it is claimable (or still held by this
  task's own ended attempt); progress renews the lease; every later write is made `WHERE claim = <token>`
  (`held`, `lock`, `release`), so a claimant whose token no longer matches writes nothing (`ClaimLost`);
- `ClaimingTask`: the base class of every task that claims work. A lost connection or a claim still held
  retries the task after TASK_DB_RETRY_SECONDS (doubled on each further retry, at most a minute) instead of
  the task's own backoff, within the task's max_retries.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.db.models import F, Model, Q, QuerySet
from django.utils import timezone

from patent_platform.celery import ResilientTask

logger = logging.getLogger(__name__)

T = TypeVar("T")

DB_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
MAX_RETRY_SECONDS = 60


class ClaimStillHeld(Exception):
    """The attempt ends without having released its claim (the database could not be reached to release
    it); the retry is called with `argument=token` and re-takes that claim."""

    def __init__(self, argument: str, token: str, message: str = "") -> None:
        super().__init__(message or f"claim {token} still held: the database could not be reached to release it")
        self.argument = argument
        self.token = token


# What a claiming task retries: a lost database connection, or a claim it could not release.
RETRIED: tuple[type[BaseException], ...] = (*DB_ERRORS, ClaimStillHeld)


class ClaimLost(Exception):
    """This attempt's claim token no longer matches the row: another attempt (or a reset) owns it."""


def _no_fields(now: dt.datetime) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class RowClaim:
    """The exactly-once claim of the rows of `model` (one instance per model, at module level).

    `claimable(now)`: the rows that may be taken (pending, failed with attempts left, held with an expired
    lease …); `lease()`: how long a claim lasts without progress; `held_status`: the status of a held row;
    `on_take(now)`: further fields set when the row is taken (a start time, progress back to 0 …). The token,
    the lease and the attempt counter live in `claim_field`, `lease_field` and `attempts_field`."""

    model: type[Model]
    claimable: Callable[[dt.datetime], Q]
    lease: Callable[[], dt.timedelta]
    held_status: str
    on_take: Callable[[dt.datetime], dict[str, Any]] = field(default=_no_fields)
    status_field: str = "status"
    claim_field: str = "claim"
    lease_field: str = "lease_until"
    attempts_field: str = "attempts"

    def take(self, pk: Any, previous: uuid.UUID | None = None) -> uuid.UUID | None:
        """Take the row with a conditional UPDATE; the token if this call got it, else None (whoever updates
        no row does nothing). `previous`: the token of an ended attempt of this task that could not release its
        claim — the retry re-takes it even while its lease lasts."""
        token, now = uuid.uuid4(), timezone.now()
        claimable = self.claimable(now)
        if previous is not None:
            claimable |= Q(**{self.status_field: self.held_status, self.claim_field: previous})
        taken = (
            self.model._default_manager.filter(pk=pk)
            .filter(claimable)
            .update(
                **{
                    self.status_field: self.held_status,
                    self.claim_field: token,
                    self.lease_field: now + self.lease(),
                    self.attempts_field: F(self.attempts_field) + 1,
                },
                **self.on_take(now),
            )
        )
        return token if taken else None

    def held(self, pk: Any, token: uuid.UUID) -> QuerySet[Any]:
        """The row, if this claim still holds it (empty otherwise)."""
        return self.model._default_manager.filter(
            **{"pk": pk, self.claim_field: token, self.status_field: self.held_status}
        )

    def renew(self, pk: Any, token: uuid.UUID, **fields: Any) -> None:
        """Renew the lease (and write `fields`, the progress); a claimant that lost the row stops here
        (ClaimLost)."""
        if not self.held(pk, token).update(**{self.lease_field: timezone.now() + self.lease()}, **fields):
            raise ClaimLost

    def lock(self, pk: Any, token: uuid.UUID) -> Any:
        """The row locked for update (in the caller's transaction) if this claim still holds it; else
        ClaimLost."""
        row = self.held(pk, token).select_for_update().first()
        if row is None:
            raise ClaimLost
        return row

    def release(self, pk: Any, token: uuid.UUID, **fields: Any) -> bool:
        """End the claim with `fields` (a failed status and its error) if this claim still holds the row;
        True if it did."""
        return bool(self.held(pk, token).update(**{self.lease_field: None}, **fields))


def connection_lost(exc: BaseException | None) -> bool:
    """An OperationalError / InterfaceError of the database, directly or as the cause of `exc`."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, RETRIED):
            return True
        seen.add(id(exc))
        exc = exc.__cause__
    return False


def reconnect() -> bool:
    """Close every database connection of this thread that is not inside a transaction (a broken one cannot
    be used again; the next query opens a new one). False if one is inside a transaction: that
    transaction's owner must end it first."""
    clean = True
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block:
            clean = False
            continue
        try:
            conn.close()
        except Exception:  # closing a dead connection may fail: it is dropped all the same
            logger.debug("closing a broken database connection failed", exc_info=True)
    return clean


def on_fresh_connection(write: Callable[[], T], attempts: int = 3, pause: float = 1.0) -> T:
    """Run `write`; if the database connection was lost, reconnect and run it again (at once, then after
    `pause`, 2 × `pause` … seconds); the last error is raised. Inside a transaction it runs once (the
    transaction cannot survive its connection)."""
    for attempt in range(attempts):
        try:
            return write()
        except DB_ERRORS:
            if not reconnect() or attempt == attempts - 1:
                raise
            logger.warning("database connection lost; reconnected (attempt %s of %s)", attempt + 2, attempts)
            if attempt:
                time.sleep(pause * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def retry_seconds(retries: int) -> int:
    """The wait before retry number `retries` + 1 after a lost connection: 10, 20, 40, 60, 60 … seconds."""
    base = max(1, int(getattr(settings, "TASK_DB_RETRY_SECONDS", 10)))
    result: int = min(base * 2 ** min(retries, 6), max(MAX_RETRY_SECONDS, base))
    return result


def retries_left(task: Any) -> bool:
    """Whether the running task will be retried once more if it fails now (tells a service whether to
    record a final error or to release its claim for the retry)."""
    request = task.request
    if getattr(request, "called_directly", True):
        return False
    limit = task.max_retries
    return limit is None or request.retries < limit


class ClaimingTask(ResilientTask):
    """A task that claims work: a lost database connection (or a claim a failed attempt could not
    release) retries it within a minute, on a new connection."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except RETRIED as exc:
            # tasks without autoretry; those with it already turned the error into a Retry (see retry())
            raise self.retry(exc=exc) from exc

    def retry(
        self,
        args: Any = None,
        kwargs: Any = None,
        exc: BaseException | None = None,
        throw: bool = True,
        eta: Any = None,
        countdown: float | None = None,
        max_retries: int | None = None,
        **options: Any,
    ) -> Any:
        if connection_lost(exc):
            reconnect()
            held = exc if isinstance(exc, ClaimStillHeld) else None
            if held is not None:
                kwargs = {**(self.request.kwargs or {}), **(kwargs or {}), held.argument: held.token}
            countdown, eta = retry_seconds(self.request.retries), None
            logger.warning(
                "task %s[%s]: database connection lost (%s: %s)%s; retry %s of %s in %s s",
                self.name,
                self.request.id,
                type(exc).__name__,
                str(exc).strip()[:200],
                "; its claim is still held and the retry re-takes it" if held else "",
                self.request.retries + 1,
                self.max_retries if max_retries is None else max_retries,
                countdown,
            )
        return super().retry(args, kwargs, exc, throw, eta, countdown, max_retries, **options)
