"""Background work of the evaluation app. Tasks take ids, re-read the rows and call one service."""

from typing import Any

from celery import shared_task

from patent_platform.claims import ClaimingTask


@shared_task(bind=True, base=ClaimingTask, acks_late=True)
def run_patent_evaluation(self: Any, round_id: int) -> dict[str, int]:
    """The set-based patent evaluation of a round (idempotent: it recomputes from scratch, in one transaction
    that holds the round's row lock). A lost database connection retries it within a minute."""
    from evaluation.rounds import round_evaluate

    return round_evaluate(round_id=round_id)


@shared_task(bind=True)
def notify_candidates(self: Any, candidate_ids: list[int], kind: str) -> int:
    """Kept for messages enqueued before the outbox: writes the candidates' notices (once each: the key)."""
    from django.db import transaction

    from evaluation.notifications import queue_candidate_notices

    with transaction.atomic():
        return queue_candidate_notices(candidate_ids, kind)


@shared_task(bind=True, acks_late=True)
def run_whatif(self: Any, run_id: int) -> str:
    """A what-if comparison across method versions (reads the round's tables, writes only its run row)."""
    from evaluation.whatif import province_names, run

    return run(run_id, province_names())


@shared_task(bind=True, base=ClaimingTask, acks_late=True, name="evaluation.calendar_tick")
def calendar_tick(self: Any) -> dict[str, int]:
    """Daily: close the information requests past their deadline, start the patent evaluations whose
    cut-off has passed, send the reminders of the coming deadlines (each at most once)."""
    from evaluation.schedule import tick

    return tick()


@shared_task(bind=True, name="evaluation.recheck_certificates")
def recheck_certificates(self: Any) -> int:
    """Daily (beat, evaluation/migrations/0006): record certificates expired and yearly updates missed at a
    cut-off that has passed (or filed since); the readers already show both before this runs."""
    from evaluation.lifecycle import certificate_recheck_all

    return certificate_recheck_all()
