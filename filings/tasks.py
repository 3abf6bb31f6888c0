"""Background work of the filings app. Tasks take ids, re-read the rows and call one service."""

from typing import Any

from celery import shared_task

from patent_platform.claims import ClaimingTask, retries_left


@shared_task(bind=True)
def notify_transition(self: Any, transition_id: int) -> int:
    """Kept for messages enqueued before the outbox: writes the transition's notice to the outbox (once: the
    key) and returns how many recipients it has. New transitions write their notice themselves."""
    from django.db import transaction

    from filings.models import Transition
    from filings.notifications import queue_transition_notice

    with transaction.atomic():
        transition = Transition.objects.select_related("version__product__unit").filter(pk=transition_id).first()
        return len(queue_transition_notice(transition)) if transition else 0


@shared_task(bind=True, base=ClaimingTask)
def run_import(self: Any, job_id: int) -> str:
    """Validate and (if every row is valid) save an Excel bulk filing; returns the job's final status. A lost
    database connection queues the job again and retries within a minute (patent_platform/claims.py)."""
    from filings.imports import run_import_job

    return run_import_job(job_id, will_retry=retries_left(self))


@shared_task(bind=True, base=ClaimingTask)
def run_status_import(self: Any, import_id: int) -> str:
    """Validate and (if every row is valid) apply a patent legal-status file; returns the final status. A lost
    database connection queues the import again and retries within a minute (patent_platform/claims.py)."""
    from filings.drift import run_status_import as run

    return run(import_id, will_retry=retries_left(self))


@shared_task(bind=True)
def notify_flags(self: Any, flag_ids: list[int]) -> int:
    """Kept for messages enqueued before the outbox: writes the flags' notices (those not yet written)."""
    from django.db import transaction

    from filings.flags import queue_flag_notices

    with transaction.atomic():
        return queue_flag_notices(flag_ids)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=30 * 60, time_limit=35 * 60)
def detect_conflicts() -> dict[str, int]:
    """The daily full scan for ownership and licence conflicts (beat: 04:10), which also catches rights
    edited where no hook runs (the admin site); returns the counts."""
    from filings.conflicts import detect_all

    result = detect_all()
    return {"checked": result.checked, "opened": result.opened, "updated": result.updated, "closed": result.closed}


@shared_task(name="filings.deliver_webhooks", base=ClaimingTask, max_retries=3)
def deliver_webhooks() -> dict[str, int]:
    """Send the webhook deliveries that are due (filings/webhooks.py): asked for after every change that
    writes one, and by beat every minute for retries and for what the broker or a worker left unsent."""
    from filings.webhooks import deliver_due

    return deliver_due()


@shared_task(bind=True, base=ClaimingTask)
def run_credit_list_import(self: Any, import_id: int) -> str:
    """Validate and (if every row is valid) apply a credit-list file (filings.credit_lists); returns the final
    status. A lost database connection queues the import again and retries (patent_platform/claims.py)."""
    from filings.credit_lists import run_credit_list_import as run

    return run(import_id, will_retry=retries_left(self))
