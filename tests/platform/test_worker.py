"""A real Celery worker process on the real Redis broker reads the real PostgreSQL test database."""

import subprocess
import time

import pytest

from patent_platform.celery import app
from patent_platform.models import Region


@pytest.mark.worker
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored", "ignore::RuntimeWarning")
def test_worker_runs_a_task_against_the_database(worker: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    result = app.send_task("patent_platform.ping")
    while not result.ready():
        assert worker.poll() is None, "the worker process died"
        assert time.monotonic() < deadline, "no worker answered within 60 s"
        time.sleep(0.2)
    # the test settings run tasks eagerly in-process; this result came from the worker through Redis
    assert result.get(timeout=5, disable_sync_subtasks=False) == {"pong": "pong", "regions": Region.objects.count()}
