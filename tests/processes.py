"""Real processes for tests: Celery worker processes on the PostgreSQL test database and the real Redis
broker (fixture `start_worker`, settings `tests.provincial.publication_worker_settings`), gunicorn web
processes (`start_web`), a private redis-server, a free loopback port, and waiting with a bound.

Fixtures are used by importing them into a test module (`from tests.processes import media, start_worker`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import connection

from tests import s3server

ROOT = Path(__file__).resolve().parents[1]


def wait_for(condition: Callable[[], bool], what: str, timeout: float, workers: list[subprocess.Popen]) -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds or as soon as a process has died."""
    deadline = time.monotonic() + timeout
    while not condition():
        for proc in workers:
            assert proc.poll() is None, f"a worker process died while waiting for: {what}"
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.3)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(port: int) -> subprocess.Popen:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed for this test (apt-get install redis-server)"
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen([*command, "--daemonize", "no"], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            if redis.Redis(port=port, socket_connect_timeout=1).ping():
                return proc
        except redis.exceptions.ConnectionError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.1)


def database_url() -> str:
    """The URL of the test database this process uses (what a started process must connect to)."""
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


def stop(procs: list[subprocess.Popen]) -> None:
    """Terminate the processes still running (killed if they do not stop within 30 s)."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_web(
    env: dict[str, str], *, cwd: Path = ROOT, args: Sequence[str] = (), timeout: float = 120
) -> tuple[subprocess.Popen, str]:
    """A gunicorn process of the platform's WSGI application on a free loopback port, once it answers at all
    (any HTTP status: a server whose database is down answers 503): (the process, its address). The caller
    stops it (`stop`)."""
    port = free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    command = [gunicorn, "patent_platform.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1", *args]
    proc = subprocess.Popen(command, cwd=cwd, env=env)
    address = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            urllib.request.urlopen(address + "/healthz", timeout=20).close()  # noqa: S310  (loopback)
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    try:
        wait_for(answers, "the web process answers", timeout, [proc])
    except BaseException:
        stop([proc])
        raise
    return proc, address


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    path = tmp_path / "worker-media"
    settings.MEDIA_ROOT = str(path)
    return path


@pytest.fixture
def start_worker(transactional_db: None, reference: None, media: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start a worker process with extra environment (its Redis, a lease, a pause) and, if given, only some
    queues; all stopped after."""
    procs: list[subprocess.Popen] = []
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()  # this run's own Redis database: no leftovers

    def start(redis_url: str | None = None, queues: str | None = None, **extra: str) -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.provincial.publication_worker_settings",
            "MEDIA_ROOT": str(media),
            **s3server.process_environment(),  # the test's own prefix on the object store (TEST_S3=1)
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url or os.environ["REDIS_URL"],
            **extra,
        }
        name = f"publications-{len(procs)}-{os.getpid()}@%h"
        command = [sys.executable, "-m", "celery", "-A", "patent_platform", "worker", "--pool=solo", "-n", name]
        if queues:  # as a deployment's worker of one kind (-Q); without it every queue (settings.TASK_QUEUES)
            command += ["-Q", queues]
        proc = subprocess.Popen([*command, "-l", "warning"], cwd=ROOT, env=env)
        procs.append(proc)
        return proc

    yield start
    stop(procs)
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
