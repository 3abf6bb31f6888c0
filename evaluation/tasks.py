"""Background work of the evaluation app. Tasks take ids, re-read the rows and call one service."""

from typing import Any

from celery import shared_task


@shared_task(bind=True, acks_late=True)
def run_patent_evaluation(self: Any, round_id: int) -> dict[str, int]:
    """The set-based patent evaluation of a round (idempotent: it recomputes from scratch)."""
    from evaluation.rounds import evaluate

    return evaluate(round_id)


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notify_candidates(self: Any, candidate_ids: list[int], kind: str) -> int:
    """E-mail the filers of candidates (information requested, certified); returns messages sent."""
    from evaluation.notifications import send_candidate_mail

    return send_candidate_mail(candidate_ids, kind)
