"""Publications on real Celery worker processes, the real Redis broker and the PostgreSQL test database:
the monthly run builds every port exactly once; a worker killed half-way leaves no file and the sweep
completes the build; with Redis stopped filing still works and the sweep builds after Redis is back.

The workers run `tests.provincial.publication_worker_settings` (the test settings, but tasks sent by a
task go through the broker: one build task per port, as in production)."""

import contextlib
import datetime as dt
import hashlib
import importlib
import io
import logging
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from filings.choices import FilingStatus
from filings.models import ProductVersion
from patent_platform import clock
from patent_platform.celery import app
from patent_platform.models import User
from provincial.choices import PublicationKind as K
from provincial.choices import PublicationStatus as S
from provincial.models import NATIONAL_SCOPE, ManagementUnit, Publication
from provincial.publications import files, services
from tests.processes import free_port, start_redis, wait_for

pytestmark = [
    pytest.mark.worker,
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored", "ignore::RuntimeWarning"),
]


@pytest.fixture
def demo_data(start_worker: Callable[..., subprocess.Popen]) -> None:
    """The demo (`make run`) in the test database; an earlier transactional test may have emptied the
    rows its migrations created (the default evaluation method): put them back first."""
    from evaluation.models import MethodVersion

    if not MethodVersion.objects.exists():
        importlib.import_module("evaluation.migrations.0002_default_method").create(django_apps, None)
    call_command("load_demo", verbosity=0, stdout=io.StringIO())


def read(name: str) -> bytes:
    with default_storage.open(name, "rb") as fh:
        return fh.read()


def sha(name: str) -> str:
    return hashlib.sha256(read(name)).hexdigest()


def _stored(directory: str) -> list[str]:
    """The files stored in a folder of the storage (the test's MEDIA_ROOT, or its prefix on S3), by name."""
    try:
        return sorted(f"{directory}/{n}" for n in default_storage.listdir(directory)[1])
    except FileNotFoundError:
        return []


def finals(directory: str) -> list[str]:
    return [n for n in _stored(directory) if not n.rsplit("/", 1)[-1].startswith(".")]


def temporaries(directory: str) -> list[str]:
    return [n for n in _stored(directory) if n.rsplit("/", 1)[-1].startswith(".") and n.endswith(".tmp")]


def assert_complete(publication: Publication) -> None:
    assert publication.status == S.READY and publication.progress == 100
    for ext in ("xlsx", "pdf"):
        name = files.publication_name(publication, ext)
        assert sha(name) == getattr(publication, f"{ext}_sha256")
        assert default_storage.size(name) == getattr(publication, f"{ext}_size") > 0
    assert read(files.publication_name(publication, "pdf"))[:5] == b"%PDF-"


def open_only(*codes: str) -> int:
    ManagementUnit.objects.update(is_open=False)
    return ManagementUnit.objects.filter(code__in=codes).update(is_open=True)


# ---------------------------------------------------------------------------------------------
# (a) the monthly run, twice


def test_the_monthly_task_builds_exactly_one_publication_per_port_and_a_rerun_changes_nothing(
    start_worker: Callable[..., subprocess.Popen], demo_data: None
) -> None:
    period = clock.previous_month()
    expected = {u.code for u in ManagementUnit.objects.filter(is_open=True)} | {NATIONAL_SCOPE}
    assert len(expected) >= 4  # the demo's three open ports and the national office
    worker = start_worker()
    first = app.send_task("provincial.tasks.monthly_publications", kwargs={"period_iso": period.isoformat()})
    rows = Publication.objects.filter(kind=K.MONTHLY, period=period)
    wait_for(
        lambda: rows.filter(status=S.READY).count() == len(expected), "every port's publication ready", 240, [worker]
    )
    assert first.get(timeout=10, disable_sync_subtasks=False) == len(expected)  # one build task per port
    assert set(rows.values_list("scope_key", flat=True)) == expected
    for publication in rows:
        assert_complete(publication)
        assert publication.attempts == 1 and publication.figures
    before = sorted(rows.values_list("pk", "scope_key", "xlsx_sha256", "pdf_sha256", "built_at", "attempts"))
    folder = files.publication_name(rows.first(), "pdf").rsplit("/", 1)[0]
    on_disk = finals(folder)
    assert len(on_disk) == 2 * len(expected)

    again = app.send_task("provincial.tasks.monthly_publications", kwargs={"period_iso": period.isoformat()})
    assert again.get(timeout=60, disable_sync_subtasks=False) == 0  # everything is built: nothing enqueued
    swept = app.send_task("provincial.tasks.sweep_publications")
    assert swept.get(timeout=60, disable_sync_subtasks=False)["enqueued"] == 0
    assert sorted(rows.values_list("pk", "scope_key", "xlsx_sha256", "pdf_sha256", "built_at", "attempts")) == before
    assert finals(folder) == on_disk and temporaries(folder) == []


# ---------------------------------------------------------------------------------------------
# (b) a worker killed half-way


def test_a_worker_killed_mid_build_leaves_no_file_and_the_sweep_completes_exactly_one(
    start_worker: Callable[..., subprocess.Popen], media: Path
) -> None:
    open_only("440300")
    period = clock.previous_month()
    rows = services.ensure_publications(K.MONTHLY, period)
    target = next(r for r in rows if r.scope_key == "440300")
    folder = f"publications/monthly/{period:%Y-%m}"

    doomed = start_worker(PUBLICATION_TEST_PAUSE="300", PUBLICATION_LEASE_SECONDS="4")
    app.send_task("provincial.tasks.build_publication", args=[target.pk])

    def half_way() -> bool:
        target.refresh_from_db()
        return target.progress == 90 and len(temporaries(folder)) == 2

    wait_for(half_way, "the build paused with its temporary files written", 120, [doomed])
    doomed.kill()  # SIGKILL: no clean-up of any kind
    doomed.wait(timeout=30)
    target.refresh_from_db()
    assert target.status == S.BUILDING and target.attempts == 1
    assert (target.xlsx_file, target.pdf_file, target.xlsx_sha256) == ("", "", "")
    assert finals(folder) == []  # no final file, complete or half
    killed_claim = target.claim

    lease = 10
    rescuer = start_worker(PUBLICATION_LEASE_SECONDS=str(lease))
    # the killed attempt's lease (4 s) runs out; its temporary files are older than a lease
    wait_for(
        lambda: (
            timezone.now() > target.lease_until
            and all(
                default_storage.get_modified_time(n) < timezone.now() - dt.timedelta(seconds=lease + 1)
                for n in temporaries(folder)
            )
        ),
        "the killed attempt's lease expired",
        60,
        [rescuer],
    )
    app.send_task("provincial.tasks.sweep_publications")
    wait_for(
        lambda: Publication.objects.get(pk=target.pk).status == S.READY, "the sweep's build completed", 180, [rescuer]
    )
    done = Publication.objects.get(pk=target.pk)
    assert_complete(done)
    assert done.attempts == 2 and done.claim != killed_claim
    assert Publication.objects.filter(scope_key="440300", kind=K.MONTHLY, period=period).count() == 1
    wait_for(
        lambda: Publication.objects.filter(period=period, status=S.READY).count() == 2, "national ready", 120, [rescuer]
    )
    mine = [n for n in finals(folder) if n.rsplit("/", 1)[-1].startswith("440300-")]
    assert sorted(mine) == sorted([files.publication_name(done, "xlsx"), files.publication_name(done, "pdf")])
    assert temporaries(folder) == []  # the killed attempt's leftovers removed by the sweep


# ---------------------------------------------------------------------------------------------
# (c) Redis stopped


def _drop_connections() -> None:
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)


@contextlib.contextmanager
def broker(url: str) -> Iterator[None]:
    """This process's app sends through `url` (broker and results), not in-process."""
    conf = app.conf
    saved = {k: conf[k] for k in ("broker_url", "result_backend", "task_always_eager")}
    conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    _drop_connections()
    try:
        yield
    finally:
        conf.update(saved)
        _drop_connections()


def test_with_redis_stopped_filing_still_works_and_the_sweep_builds_once_redis_is_back(
    start_worker: Callable[..., subprocess.Popen], demo_data: None, caplog: pytest.LogCaptureFixture
) -> None:
    from provincial.tasks import monthly_publications, sweep_publications

    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = start_redis(port)
    try:
        with broker(url):
            server.terminate()  # our own Redis, not the machine's
            server.wait(timeout=20)
            filer = User.objects.get(email="ent-gz@example.cn")
            draft = ProductVersion.objects.get(name="视觉引导分拣系统", status=FilingStatus.DRAFT)
            client = Client()
            client.force_login(filer)
            started = time.monotonic()
            with caplog.at_level(logging.ERROR, logger="patent_platform.celery"):
                response = client.post(reverse("enterprise:version_submit", args=[draft.pk]))
                assert response.status_code == 302
                assert response["Location"] == reverse("enterprise:version", args=[draft.pk])
                assert time.monotonic() - started < 15  # the request is not held up by the broker
                draft.refresh_from_db()
                assert draft.status == FilingStatus.SUBMITTED and draft.submitted_at is not None
                # (a submission notifies nobody; notices due while Redis is down: tests/platform/test_outbox_faults.py)

                # beat (or anyone) sending the monthly run fails softly too: nothing is built
                assert monthly_publications.delay() is None
                assert "could not enqueue task provincial.tasks.monthly_publications" in caplog.text
            period = clock.previous_month()
            rows = Publication.objects.filter(kind=K.MONTHLY, period=period)
            assert not rows.exists()

            server = start_redis(port)  # Redis is back
            worker = start_worker(redis_url=url)
            result = sweep_publications.delay()
            assert result is not None
            expected = {u.code for u in ManagementUnit.objects.filter(is_open=True)} | {NATIONAL_SCOPE}
            wait_for(
                lambda: rows.filter(status=S.READY).count() == len(expected),
                "the sweep's builds after Redis came back",
                240,
                [worker],
            )
            assert result.get(timeout=10, disable_sync_subtasks=False)["enqueued"] == len(expected)
            assert set(rows.values_list("scope_key", flat=True)) == expected
            for publication in rows:
                assert_complete(publication)
                assert publication.data_as_of <= timezone.now()  # when its figures were read
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=20)
