"""Background work of the filings app. Tasks take ids, re-read the rows and call one service."""

from typing import Any

from celery import shared_task


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notify_transition(self: Any, transition_id: int) -> int:
    """E-mail the people concerned by a filing transition; returns how many messages were sent."""
    from filings.notifications import send_transition_mail

    return send_transition_mail(transition_id)


@shared_task(bind=True)
def run_import(self: Any, job_id: int) -> str:
    """Validate and (if every row is valid) save an Excel bulk filing; returns the job's final status."""
    from filings.imports import run_import_job

    return run_import_job(job_id)


@shared_task(bind=True)
def run_status_import(self: Any, import_id: int) -> str:
    """Validate and (if every row is valid) apply a patent legal-status file; returns the final status."""
    from filings.drift import run_status_import as run

    return run(import_id)


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notify_flags(self: Any, flag_ids: list[int]) -> int:
    """E-mail the filer and the approving reviewer about new patent-status flags; returns messages sent."""
    from filings.drift import send_flag_mail

    return send_flag_mail(flag_ids)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=30 * 60, time_limit=35 * 60)
def detect_conflicts() -> dict[str, int]:
    """The daily full scan for ownership and licence conflicts (beat: 04:10), which also catches rights
    edited where no hook runs (the admin site); returns the counts."""
    from filings.conflicts import detect_all

    result = detect_all()
    return {"checked": result.checked, "opened": result.opened, "updated": result.updated, "closed": result.closed}
