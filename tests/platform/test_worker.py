"""A real Celery worker process on the real Redis broker reads the real PostgreSQL test database."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from patent_platform.celery import app
from patent_platform.models import Region

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(transactional_db: None, reference: None):
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "patent_platform.settings.test",
        # the worker must read the test database that pytest-django created, not the configured one
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
            f"/{connection.settings_dict['NAME']}"
        ),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "patent_platform",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-l",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    yield proc
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.worker
def test_worker_runs_a_task_against_the_database(worker: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    result = app.send_task("patent_platform.ping")
    while not result.ready():
        assert worker.poll() is None, "the worker process died"
        assert time.monotonic() < deadline, "no worker answered within 60 s"
        time.sleep(0.2)
    assert result.get(timeout=5) == {"pong": "pong", "regions": Region.objects.count()}
