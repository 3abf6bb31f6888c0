"""The patent evaluation of a round runs in a real Celery worker process (Redis broker, PostgreSQL) and gives
exactly the rows that the in-process run gave."""

import io
import subprocess
import time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from evaluation.models import Candidate, IndicatorResult, Round


def snapshot(rnd: Round) -> tuple[list[tuple], list[tuple]]:
    candidates = sorted(
        Candidate.objects.filter(round=rnd).values_list(
            "version_id",
            "status",
            "passed_protection",
            "passed_value",
            "passed_dependence",
            "passed_benefit",
            "passed_total",
            "patent_passed",
            "benchmark_set_id",
        )
    )
    results = sorted(
        (version, indicator, None if value is None else Decimal(value).quantize(Decimal("0.0001")), bench, ok)
        for version, indicator, value, bench, ok in IndicatorResult.objects.filter(candidate__round=rnd).values_list(
            "candidate__version_id", "indicator_id", "value", "benchmark", "passed"
        )
    )
    return candidates, results


@pytest.mark.worker
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored", "ignore::RuntimeWarning")
def test_a_real_worker_evaluates_a_round_with_the_same_result(worker: subprocess.Popen) -> None:
    from patent_platform.celery import app

    call_command("load_demo", verbosity=0, stdout=io.StringIO())  # its round was evaluated in-process
    rnd = Round.objects.get()
    before = snapshot(rnd)
    assert before[0] and before[1]

    # the demo round is finished; put a copy of its stage back to the first one so that the task may run
    Round.objects.filter(pk=rnd.pk).update(stage="patent", evaluation_requested_at=timezone.now())
    app.send_task("evaluation.tasks.run_patent_evaluation", args=[rnd.pk])
    deadline = time.monotonic() + 90
    while True:
        rnd.refresh_from_db()
        if not rnd.evaluating:
            break
        assert worker.poll() is None, "the worker process died"
        assert time.monotonic() < deadline, "the worker did not evaluate the round within 90 s"
        time.sleep(0.3)
    assert rnd.evaluation_runs >= 2
    # the worker recomputed from scratch: candidates start again from the patent evaluation's statuses
    after = snapshot(rnd)
    expected = [(*row[:1], "patent_passed" if row[7] else "patent_failed", *row[2:]) for row in before[0]]
    assert after[0] == expected
    assert after[1] == before[1]
