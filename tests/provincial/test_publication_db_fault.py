"""A publication build whose database connections are terminated mid-build (issue 25, "nothing lost when a
part fails"): a real Celery worker process on the PostgreSQL test database and the real Redis broker; the
build is held half-way (PUBLICATION_TEST_PAUSE), every connection of the worker is ended with
`pg_terminate_backend`, and the build carries on.

Found: the failing attempt could not record its failure on the dead connection and kept its claim (a live
lease of 30 minutes); its own retry (30 s of backoff later) found that lease and returned "building": the
row stayed stuck until the lease expired and the hourly sweep ran. Now the attempt reconnects, records the
error and releases its claim, and the task is retried within a minute (TASK_DB_RETRY_SECONDS)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection

from patent_platform import clock
from patent_platform.celery import app
from patent_platform.models import AuditEvent
from provincial.choices import PublicationKind as K
from provincial.choices import PublicationStatus as S
from provincial.models import Publication
from provincial.publications import files, services
from tests.processes import free_port, start_redis, stop, wait_for
from tests.provincial.test_publication_worker import assert_complete, broker, finals, open_only, temporaries

pytestmark = [
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored", "ignore::RuntimeWarning"),
]

# The build waits half-way, its temporary files written, until the test creates the release file (at most
# PAUSE seconds): the test ends the worker's connections while it waits, however loaded the machine is. (A
# fixed 6-second pause was missed once in CI, beside the deadline scenario: the build finished unseen.)
PAUSE = 120


def terminate_other_connections() -> int:
    """End every other session on the test database (the worker's): what an operator, a failover or a
    restarted PostgreSQL does to a worker's connections. This test's own session stays."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_connections_terminated_mid_build_the_retry_finishes_within_a_minute(
    start_worker: Callable[..., subprocess.Popen], media: Path, tmp_path: Path
) -> None:
    open_only("440300")
    period = clock.previous_month()
    rows = services.ensure_publications(K.MONTHLY, period)
    target = next(r for r in rows if r.scope_key == "440300")
    folder = f"publications/monthly/{period:%Y-%m}"  # in the storage: MEDIA_ROOT, or the object store

    # the default lease (30 minutes): only a real retry can finish within the minute
    release = tmp_path / "release-the-build"
    # a Redis of this test's own: no other worker (a process another test left, a scenario's) can take the task
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = start_redis(port)
    try:
        with broker(url):
            _run(start_worker, target, folder, release, url)
    finally:
        stop([server])


def _run(
    start_worker: Callable[..., subprocess.Popen], target: Publication, folder: str, release: Path, url: str
) -> None:
    worker = start_worker(
        redis_url=url,
        PUBLICATION_TEST_PAUSE=str(PAUSE),
        PUBLICATION_TEST_RELEASE=str(release),
        PUBLICATION_LEASE_SECONDS="1800",
    )
    app.send_task("provincial.tasks.build_publication", args=[target.pk])

    def half_way() -> bool:
        target.refresh_from_db()
        assert target.status != S.READY, "the build finished without pausing half-way"
        return target.status == S.BUILDING and target.progress == 90 and len(temporaries(folder)) == 2

    wait_for(half_way, "the build paused half-way with its temporary files written", 120, [worker])
    first_claim = target.claim
    assert terminate_other_connections() >= 1  # the worker's connection, idle in its pause
    cut = time.monotonic()
    release.touch()  # the build goes on, on a dead connection

    def finished() -> bool:
        row = Publication.objects.get(pk=target.pk)
        return row.status == S.READY

    try:
        wait_for(finished, "the retry finished the build", 60, [worker])
    except AssertionError:
        row = Publication.objects.get(pk=target.pk)
        pytest.fail(
            f"not finished {time.monotonic() - cut:.0f} s after the connections were terminated: status "
            f"{row.status}, attempts {row.attempts}, progress {row.progress}, lease until {row.lease_until}, "
            f"claim {'the first attempt' if row.claim == first_claim else row.claim}, error {row.error!r}"
        )
    elapsed = time.monotonic() - cut
    print(f"the build finished {elapsed:.1f} s after its connections were terminated")  # noqa: T201

    done = Publication.objects.get(pk=target.pk)
    assert_complete(done)
    assert done.attempts == 2 and done.claim != first_claim  # the retry took the row afresh
    assert done.lease_until is None  # the claim released: nothing holds the row
    # exactly one file of each kind, the failed attempt's temporary files removed
    mine = [n for n in finals(folder) if n.rsplit("/", 1)[-1].startswith("440300-")]
    assert sorted(mine) == sorted([files.publication_name(done, "xlsx"), files.publication_name(done, "pdf")])
    assert temporaries(folder) == []
    # the failure was recorded, with its error, before the retry
    failed = AuditEvent.objects.filter(
        object_type=Publication._meta.label, object_id=str(target.pk), message="publication build failed"
    )
    assert failed.count() == 1
    assert "OperationalError" in failed.get().changes["error"]
    assert elapsed < 60
