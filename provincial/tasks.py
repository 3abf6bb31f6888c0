"""Background work of the provincial app: the monthly publications, the year-end evaluation and the
hourly sweep. Tasks are thin: they take ids and ISO dates and call `provincial.publications.services` and
`provincial.publications.build`.

Every task acknowledges late and is rejected (so redelivered) when its worker is lost; its time limits
lie below the publication lease, and the lease below the broker's visibility timeout, so a message
is redelivered only after its attempt can no longer be alive. Builds are one task per port (no chords);
a failed build retries with exponential backoff a bounded number of times, after which the hourly
sweep enqueues it again while its attempts stay below PUBLICATION_MAX_ATTEMPTS. Every task here claims
work (`patent_platform.claims.ClaimingTask`): a lost database connection is closed and the task retried
within a minute, the failure recorded and the claim released first.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError

from patent_platform import clock
from patent_platform.claims import ClaimingTask, retries_left

RELIABLE = {"base": ClaimingTask, "acks_late": True, "reject_on_worker_lost": True}
SHORT = {
    **RELIABLE,
    "soft_time_limit": min(5 * 60, settings.PUBLICATION_TASK_SOFT_TIME_LIMIT),
    "time_limit": min(6 * 60, settings.PUBLICATION_TASK_TIME_LIMIT),
    "autoretry_for": (Exception,),
    "dont_autoretry_for": (ValidationError, PermissionDenied),
    "retry_backoff": 10,
    "retry_backoff_max": 10 * 60,
    "max_retries": 3,
}


@shared_task(
    **RELIABLE,
    soft_time_limit=settings.PUBLICATION_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.PUBLICATION_TASK_TIME_LIMIT,
    autoretry_for=(Exception,),
    dont_autoretry_for=(ObjectDoesNotExist, ValidationError, PermissionDenied),
    retry_backoff=30,
    retry_backoff_max=30 * 60,
    retry_jitter=True,
    max_retries=settings.PUBLICATION_MAX_RETRIES,
)
def build_publication(publication_id: int, claim: str | None = None) -> str:
    """Build one port's publication (nothing if it is ready or another attempt holds it); a failure is
    recorded on the row and retried (`claim`: the token of an earlier attempt of this task that could not
    release it, re-taken by this retry). Returns the row's status."""
    from provincial.publications import build

    return build.build_publication(publication_id, claim=claim).status


@shared_task(**SHORT)
def monthly_publications(period_iso: str | None = None) -> int:
    """Beat, the 1st of each month: last month's publication of every open port and the national one
    (or of the month `period_iso`, YYYY-MM-DD); returns how many builds were enqueued."""
    from provincial.choices import PublicationKind
    from provincial.publications import services

    period = dt.date.fromisoformat(period_iso) if period_iso else clock.previous_month()
    return len(services.run_period(PublicationKind.MONTHLY, period))


@shared_task(**SHORT)
def yearend_publications(year: int | None = None) -> int:
    """Beat, early January: the year-end evaluation of the previous year (or of `year`)."""
    from provincial.choices import PublicationKind
    from provincial.publications import services

    year = int(year) if year else clock.last_year()
    return len(services.run_period(PublicationKind.YEAREND, dt.date(year, 1, 1)))


@shared_task(**SHORT)
def sweep_publications() -> dict[str, int]:
    """Beat, hourly: build what the scheduled runs missed (broker down, worker killed, retries spent)."""
    from provincial.publications import services

    return services.sweep()


@shared_task(**RELIABLE, soft_time_limit=50 * 60, time_limit=55 * 60)
def deliver_subscriptions() -> dict[str, int]:
    """Beat, daily: build and mail every active subscription's due period once (provincial/subscriptions.py)."""
    from provincial import subscriptions

    return subscriptions.run_due()


@shared_task
def notify_report_submitted(report_id: int) -> int:
    """Kept for messages enqueued before the outbox: writes the report's notice (once: the key)."""
    from django.db import transaction

    from provincial import reports

    with transaction.atomic():
        return len(reports.queue_submitted_notice(report_id))


@shared_task
def notify_report_comment(comment_id: int) -> int:
    """Kept for messages enqueued before the outbox: writes the comment's notice (once: the key)."""
    from django.db import transaction

    from provincial import reports

    with transaction.atomic():
        return len(reports.queue_comment_notice(comment_id))


@shared_task(**RELIABLE, soft_time_limit=20 * 60, time_limit=25 * 60)
def rebuild_summary() -> dict:
    """Rebuild the dashboards' summary cells in full (beat: hourly; a stale dashboard asks too)."""
    from django.core.cache import cache

    from provincial.dashboards import cells, freshness

    try:
        return cells.rebuild()
    finally:
        cache.delete(freshness.REBUILD_LOCK)


@shared_task(**RELIABLE, soft_time_limit=5 * 60, time_limit=6 * 60)
def drain_summary() -> int:
    """Recompute the cells of every dirty region (beat: every minute), so reads rarely have to."""
    from provincial.dashboards import cells

    return cells.drain()


@shared_task(bind=True, base=ClaimingTask)
def run_roster_upload(self: Any, job_id: int) -> str:
    """Check an uploaded roster and, if every row is valid, save it (provincial.rosters.RosterImport); a lost
    database connection queues the upload again and retries within a minute (patent_platform/claims.py)."""
    from provincial.rosters import run_roster_upload as run

    return run(job_id, will_retry=retries_left(self))
