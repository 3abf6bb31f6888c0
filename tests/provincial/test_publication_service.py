"""Publications, exactly once, in-process (SQLite and PostgreSQL): rows, claims, files, failures,
rebuilds, the notice e-mail, the sweep, the beat schedules and enqueueing with the broker down."""

import datetime as dt
import hashlib
import importlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from patent_platform import beat, clock
from patent_platform.celery import app
from patent_platform.choices import Role
from patent_platform.management.commands.backup import stored_names
from patent_platform.models import AuditEvent, Notice, User
from patent_platform.tasks import deliver_notices
from provincial.choices import PublicationKind as K
from provincial.choices import PublicationStatus as S
from provincial.models import NATIONAL_SCOPE, ManagementUnit, PortContact, Publication
from provincial.publications import build, files, services
from provincial.publications.build import Parts

# embedded (CI runs it on SQLite too): publications built in-process on SQLite
pytestmark = pytest.mark.embedded

OPEN = ("440000", "440300", "330000")
PERIOD = dt.date(2026, 3, 1)


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def ports(reference: None) -> dict[str, ManagementUnit]:
    ManagementUnit.objects.update(is_open=False)
    ManagementUnit.objects.filter(code__in=OPEN).update(is_open=True)
    return {unit.code: unit for unit in ManagementUnit.objects.filter(code__in=OPEN)}


class FakeBuilder:
    """Small documents whose bytes name the row and its revision; counts calls; can fail on demand."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.fail: Exception | None = None
        self.during: Callable[[Publication], None] | None = None

    def __call__(self, publication: Publication) -> Parts:
        self.calls.append(publication.pk)
        if self.during is not None:
            self.during(publication)
        body = f"{publication.scope_key} {publication.kind} {publication.period} r{publication.revision}".encode()

        def write_xlsx(fh: Any) -> None:
            fh.write(b"XLSX " + body)
            if self.fail is not None:
                raise self.fail

        return Parts(
            figures={"scope": publication.scope_key, "total": 7},
            write_xlsx=write_xlsx,
            render_pdf=lambda: b"%PDF " + body,
        )


@pytest.fixture
def builder(monkeypatch: pytest.MonkeyPatch) -> FakeBuilder:
    fake = FakeBuilder()
    monkeypatch.setattr(build, "document_parts", fake)  # what the tasks build with, too
    return fake


def files_in(media: Path) -> list[str]:
    """Every stored file of the publications (this test's MEDIA_ROOT, or its prefix on the object store)."""
    return stored_names(default_storage, "publications")


def read(name: str) -> bytes:
    with default_storage.open(name, "rb") as fh:
        return fh.read()


def sha(name: str) -> str:
    return hashlib.sha256(read(name)).hexdigest()


def the_row(unit_code: str = "440300", kind: str = K.MONTHLY, period: dt.date = PERIOD) -> Publication:
    return Publication.objects.get(scope_key=unit_code, kind=kind, period=period)


def national_admin(make_user: Callable[..., User]) -> User:
    return make_user("nat@example.cn", Role.NATIONAL_ADMIN)


# ---------------------------------------------------------------------------------------------
# Rows


def test_ensure_creates_one_row_per_open_port_and_the_national_one_once(ports: dict[str, ManagementUnit]) -> None:
    rows = services.ensure_publications(K.MONTHLY, dt.date(2026, 3, 17))
    assert sorted(r.scope_key for r in rows) == sorted([*OPEN, NATIONAL_SCOPE])
    assert {r.period for r in rows} == {PERIOD} and {r.status for r in rows} == {S.PENDING}
    assert Publication.objects.get(scope_key=NATIONAL_SCOPE).unit is None
    again = services.ensure_publications(K.MONTHLY, PERIOD)
    assert [r.pk for r in again] == [r.pk for r in rows]
    assert Publication.objects.count() == 4
    # another kind or period is another row; a closed port gets none
    services.ensure_publications(K.YEAREND, dt.date(2025, 6, 1))
    assert Publication.objects.filter(kind=K.YEAREND, period=dt.date(2025, 1, 1)).count() == 4
    assert not Publication.objects.filter(scope_key="320000").exists()


def test_the_database_refuses_a_second_publication_of_a_port_and_period(ports: dict[str, ManagementUnit]) -> None:
    services.ensure_publications(K.MONTHLY, PERIOD)
    with pytest.raises(IntegrityError), transaction.atomic():
        Publication.objects.create(unit=ports["440300"], kind=K.MONTHLY, period=PERIOD)
    with pytest.raises(IntegrityError), transaction.atomic():
        Publication.objects.create(unit=None, kind=K.MONTHLY, period=PERIOD)
    assert Publication.objects.filter(scope_key=ports["440300"].code).count() == 1


# ---------------------------------------------------------------------------------------------
# Building


def test_a_build_writes_the_files_with_their_checksums_and_a_second_build_does_nothing(
    ports: dict[str, ManagementUnit], builder: FakeBuilder, media: Path
) -> None:
    services.ensure_publications(K.MONTHLY, PERIOD)
    row = the_row()
    before = timezone.now()
    built = build.build_publication(row.pk)
    assert built.status == S.READY and built.progress == 100 and built.attempts == 1
    assert built.figures == {"scope": "440300", "total": 7}
    assert before <= built.data_as_of <= timezone.now()  # when the figures were read (no time in them)
    xlsx, pdf = files.publication_name(built, "xlsx"), files.publication_name(built, "pdf")
    assert files_in(media) == sorted([xlsx, pdf])  # no temporary file left
    assert (sha(xlsx), default_storage.size(xlsx)) == (built.xlsx_sha256, built.xlsx_size)
    assert (sha(pdf), default_storage.size(pdf)) == (built.pdf_sha256, built.pdf_size)
    assert read(pdf) == b"%PDF 440300 monthly 2026-03-01 r0"
    with files.open_file(built, "pdf") as fh:
        assert fh.read() == read(pdf) and fh.name == "深圳市-2026年03月-月度备案数据.pdf"

    again = build.build_publication(row.pk)
    assert builder.calls == [row.pk]
    assert (again.xlsx_sha256, again.pdf_sha256) == (built.xlsx_sha256, built.pdf_sha256)
    assert again.built_at == built.built_at
    assert again.attempts == 1 and files_in(media) == sorted([xlsx, pdf])
    messages = list(AuditEvent.objects.filter(object_id=str(row.pk)).values_list("message", flat=True))
    assert messages.count("publication ready") == 1 and messages.count("publication build") == 1


def test_a_stale_building_row_is_reclaimed_and_a_live_one_is_not(
    ports: dict[str, ManagementUnit], builder: FakeBuilder
) -> None:
    services.ensure_publications(K.MONTHLY, PERIOD)
    row = the_row()
    someone = uuid.uuid4()
    live = timezone.now() + dt.timedelta(minutes=10)
    Publication.objects.filter(pk=row.pk).update(status=S.BUILDING, claim=someone, lease_until=live, attempts=1)
    result = build.build_publication(row.pk)
    assert builder.calls == [] and result.status == S.BUILDING and result.claim == someone

    Publication.objects.filter(pk=row.pk).update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    result = build.build_publication(row.pk)
    assert builder.calls == [row.pk] and result.status == S.READY and result.attempts == 2
    assert result.claim != someone
    taken = AuditEvent.objects.get(object_id=str(row.pk), message="publication build taken over (lease expired)")
    assert taken.changes["claim"][0] == str(someone)


def test_a_failing_build_is_recorded_leaves_no_file_and_the_next_build_succeeds(
    ports: dict[str, ManagementUnit], builder: FakeBuilder, media: Path
) -> None:
    services.ensure_publications(K.MONTHLY, PERIOD)
    row = the_row()
    builder.fail = OSError("disk full")
    with pytest.raises(OSError, match="disk full"):
        build.build_publication(row.pk)
    row.refresh_from_db()
    assert row.status == S.FAILED and row.error == "OSError: disk full" and row.attempts == 1
    assert (row.xlsx_file, row.pdf_file, row.xlsx_sha256) == ("", "", "")
    assert files_in(media) == []  # the half-written temporary file is gone too
    assert AuditEvent.objects.filter(object_id=str(row.pk), message="publication build failed", success=False).exists()

    builder.fail = None
    done = build.build_publication(row.pk)
    assert done.status == S.READY and done.error == "" and done.attempts == 2
    assert len(files_in(media)) == 2


def test_a_claimant_whose_token_no_longer_matches_cannot_mark_the_row_ready(
    ports: dict[str, ManagementUnit], builder: FakeBuilder, media: Path
) -> None:
    services.ensure_publications(K.MONTHLY, PERIOD)
    row = the_row()
    other = uuid.uuid4()

    def lease_lost(publication: Publication) -> None:
        # while this attempt computes, its lease expires and another attempt takes the row over
        Publication.objects.filter(pk=publication.pk).update(claim=other, lease_until=timezone.now() + dt.timedelta(1))

    builder.during = lease_lost
    result = build.build_publication(row.pk)
    assert result.status == S.BUILDING and result.claim == other and result.xlsx_sha256 == ""
    assert files_in(media) == []

    # the same when the take-over happens after the files were written: they are removed again
    builder.during = None
    Publication.objects.filter(pk=row.pk).update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    real_mark_ready = build._mark_ready

    def stored_then_lose(pk: int, *args: Any) -> Publication:
        Publication.objects.filter(pk=row.pk).update(claim=other)
        return real_mark_ready(pk, *args)

    build._mark_ready = stored_then_lose
    try:
        result = build.build_publication(row.pk)
    finally:
        build._mark_ready = real_mark_ready
    assert result.status == S.BUILDING and result.claim == other and files_in(media) == []


def test_the_files_of_a_real_publication_match_the_stored_checksums(
    demo: None, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    """The real figures and documents (helper modules): an XLSX and a PDF, checksums as stored."""
    period = clock.previous_month()
    rows = services.ensure_publications(K.MONTHLY, period)
    shenzhen = next(r for r in rows if r.scope_key == "440300")
    with django_capture_on_commit_callbacks(execute=True):
        built = build.build_publication(shenzhen.pk)
    assert built.status == S.READY
    xlsx, pdf = files.publication_name(built, "xlsx"), files.publication_name(built, "pdf")
    assert read(xlsx)[:2] == b"PK" and read(pdf)[:5] == b"%PDF-"
    assert sha(xlsx) == built.xlsx_sha256 and sha(pdf) == built.pdf_sha256
    assert built.figures and built.pdf_size == default_storage.size(pdf)


# ---------------------------------------------------------------------------------------------
# Delivery


def test_the_ports_contacts_are_emailed_a_link_once_the_publication_is_ready(
    ports: dict[str, ManagementUnit],
    builder: FakeBuilder,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.SITE_URL = "https://pp.example.cn"
    shenzhen = ports["440300"]
    PortContact.objects.create(unit=shenzhen, name="张三", email="zhang@sz.example.cn")
    PortContact.objects.create(unit=shenzhen, name="李四", email="li@sz.example.cn", is_admin=True)
    PortContact.objects.create(unit=ports["440000"], name="广东", email="gd@gd.example.cn")
    services.ensure_publications(K.MONTHLY, PERIOD)
    row = the_row()
    with django_capture_on_commit_callbacks(execute=True):
        build.build_publication(row.pk)
    assert sorted(m.to[0] for m in mailoutbox) == ["li@sz.example.cn", "zhang@sz.example.cn"]
    assert all(len(m.to) == 1 for m in mailoutbox)  # one message each: contacts do not see each other
    message = mailoutbox[0]
    assert "深圳市 2026年3月备案数据已发布" in message.subject
    assert "https://pp.example.cn" + reverse("port:publications") in message.body
    row.refresh_from_db()
    assert row.notified_at is not None
    assert AuditEvent.objects.filter(object_id=str(row.pk), message="publication notice queued").count() == 1
    assert build.notify_ready(row.pk) == 0 and len(mailoutbox) == 2  # never twice


def test_the_national_publication_is_emailed_to_the_national_administrators(
    ports: dict[str, ManagementUnit],
    builder: FakeBuilder,
    mailoutbox: list[Any],
    make_user: Callable[..., User],
    django_capture_on_commit_callbacks: Any,
) -> None:
    national_admin(make_user)
    make_user("reviewer@example.cn", Role.REVIEWER)
    services.ensure_publications(K.MONTHLY, PERIOD)
    with django_capture_on_commit_callbacks(execute=True):
        build.build_publication(the_row(NATIONAL_SCOPE).pk)
    assert [m.to for m in mailoutbox] == [["nat@example.cn"]]
    assert reverse("national:publications") in mailoutbox[0].body and "全国" in mailoutbox[0].subject


def test_a_notice_the_mail_server_refused_is_sent_by_the_outbox_sweep_once(
    ports: dict[str, ManagementUnit],
    builder: FakeBuilder,
    mailoutbox: list[Any],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    PortContact.objects.create(unit=ports["440300"], name="张三", email="zhang@sz.example.cn")
    services.ensure_publications(K.MONTHLY, PERIOD)
    row = the_row()
    locmem = settings.EMAIL_BACKEND
    settings.EMAIL_BACKEND = "tests.mailbackends.RefusingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        assert build.build_publication(row.pk).status == S.READY  # the build does not fail for the mail
    row.refresh_from_db()
    notice = Notice.objects.get(kind="provincial.publication")
    assert row.notified_at is not None and mailoutbox == []  # written to the outbox with the ready row
    assert notice.status == "pending" and notice.attempts == 1 and "unreachable" in notice.last_error
    assert notice.due_at > timezone.now()  # the next attempt waits
    settings.EMAIL_BACKEND = locmem
    Notice.objects.filter(pk=notice.pk).update(due_at=timezone.now())  # a minute later, beat's sweep
    deliver_notices.delay()
    assert [m.to for m in mailoutbox] == [["zhang@sz.example.cn"]]
    services.sweep()
    deliver_notices.delay()
    assert len(mailoutbox) == 1  # once
    notice.refresh_from_db()
    assert notice.status == "sent" and notice.attempts == 2


# ---------------------------------------------------------------------------------------------
# Rebuild and year-end, by the national office


def test_only_a_national_administrator_may_rebuild(
    ports: dict[str, ManagementUnit], builder: FakeBuilder, make_user: Callable[..., User]
) -> None:
    services.ensure_publications(K.MONTHLY, PERIOD)
    for role in (Role.PORT_ADMIN, Role.REVIEWER, Role.ENTERPRISE):
        user = make_user(f"{role}@example.cn", role)
        with pytest.raises(PermissionDenied):
            services.publication_rebuild_request(user=user, kind=K.MONTHLY, period=PERIOD, unit=ports["440300"])
        with pytest.raises(PermissionDenied):
            services.publication_yearend_request(user=user, year=2025)
    assert set(Publication.objects.values_list("revision", flat=True)) == {0}
    assert not Publication.objects.filter(kind=K.YEAREND).exists()


def test_a_rebuild_replaces_the_files_with_revision_plus_one_and_audits_the_old_checksums(
    ports: dict[str, ManagementUnit],
    builder: FakeBuilder,
    make_user: Callable[..., User],
    media: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    national = national_admin(make_user)
    services.ensure_publications(K.MONTHLY, PERIOD)
    first = build.build_publication(the_row().pk)
    old_files = [files.publication_name(first, "xlsx"), files.publication_name(first, "pdf")]

    with django_capture_on_commit_callbacks(execute=True):  # the build task runs in-process after the commit
        rows = services.publication_rebuild_request(user=national, kind=K.MONTHLY, period=PERIOD, unit=ports["440300"])
    assert [r.pk for r in rows] == [first.pk]
    rebuilt = the_row()
    assert rebuilt.status == S.READY and rebuilt.revision == 1 and rebuilt.requested_by == national
    assert rebuilt.pdf_sha256 != first.pdf_sha256 and rebuilt.built_at > first.built_at
    new_pdf = files.publication_name(rebuilt, "pdf")
    assert read(new_pdf) == b"%PDF 440300 monthly 2026-03-01 r1"
    assert not any(default_storage.exists(p) for p in old_files)  # replaced, not kept beside
    assert files_in(media) == sorted([files.publication_name(rebuilt, "xlsx"), new_pdf])
    assert files.download_name(rebuilt, "pdf") == "深圳市-2026年03月-月度备案数据-第2版.pdf"

    requested = AuditEvent.objects.get(object_id=str(first.pk), message="publication rebuild requested")
    assert requested.actor_id == national.pk
    assert requested.changes["revision"] == [0, 1]
    assert requested.changes["pdf_sha256"][0] == first.pdf_sha256
    assert requested.changes["xlsx_sha256"][0] == first.xlsx_sha256
    ready = AuditEvent.objects.filter(object_id=str(first.pk), message="publication ready").latest("id")
    assert ready.changes["pdf_sha256"] == [first.pdf_sha256, rebuilt.pdf_sha256]
    # the other ports were not touched
    assert the_row("440000").revision == 0


def test_a_rebuild_of_all_ports_creates_missing_rows_and_rebuilds_every_one(
    ports: dict[str, ManagementUnit],
    builder: FakeBuilder,
    make_user: Callable[..., User],
    django_capture_on_commit_callbacks: Any,
) -> None:
    national = national_admin(make_user)
    services.ensure_publications(K.MONTHLY, PERIOD)
    build.build_publication(the_row().pk)
    with django_capture_on_commit_callbacks(execute=True):
        rows = services.publication_rebuild_request(user=national, kind=K.MONTHLY, period=PERIOD, all_ports=True)
    assert len(rows) == 4
    # the built row is rebuilt as its second edition; the rows never built stay the first (issue 17)
    revisions = dict(Publication.objects.values_list("scope_key", "revision"))
    assert revisions == {"440300": 1, "440000": 0, "330000": 0, NATIONAL_SCOPE: 0}
    assert set(Publication.objects.values_list("status", flat=True)) == {S.READY}


def test_a_rebuild_of_a_month_not_yet_ended_is_refused(
    ports: dict[str, ManagementUnit], make_user: Callable[..., User]
) -> None:
    national = national_admin(make_user)
    with pytest.raises(services.PublicationError):
        services.publication_rebuild_request(user=national, kind=K.MONTHLY, period=clock.china_today(), all_ports=True)
    assert not Publication.objects.exists()


def test_the_national_administrator_requests_the_yearend_evaluation(
    ports: dict[str, ManagementUnit],
    builder: FakeBuilder,
    make_user: Callable[..., User],
    django_capture_on_commit_callbacks: Any,
) -> None:
    national = national_admin(make_user)
    with django_capture_on_commit_callbacks(execute=True):
        rows = services.publication_yearend_request(user=national, year=2025)
    assert sorted(r.scope_key for r in rows) == sorted([*OPEN, NATIONAL_SCOPE])
    stored = Publication.objects.filter(kind=K.YEAREND, period=dt.date(2025, 1, 1))
    assert stored.count() == 4 and set(stored.values_list("status", flat=True)) == {S.READY}
    assert set(stored.values_list("requested_by", flat=True)) == {national.pk}
    assert AuditEvent.objects.filter(message="year-end evaluation 2025 requested", actor_id=national.pk).exists()
    # asking again builds nothing more
    with django_capture_on_commit_callbacks(execute=True):
        services.publication_yearend_request(user=national, year=2025)
    assert len(builder.calls) == 4
    with pytest.raises(services.PublicationError):
        services.publication_yearend_request(user=national, year=clock.china_today().year + 1)


# ---------------------------------------------------------------------------------------------
# The tasks and the sweep (tasks run in-process under the test settings)


def test_the_monthly_task_builds_every_port_once(
    ports: dict[str, ManagementUnit], builder: FakeBuilder, django_capture_on_commit_callbacks: Any
) -> None:
    from provincial.tasks import monthly_publications

    with django_capture_on_commit_callbacks(execute=True):
        assert monthly_publications.delay(PERIOD.isoformat()).get() == 4
    assert set(Publication.objects.values_list("status", flat=True)) == {S.READY}
    checksums = dict(Publication.objects.values_list("scope_key", "pdf_sha256"))
    with django_capture_on_commit_callbacks(execute=True):
        assert monthly_publications.delay(PERIOD.isoformat()).get() == 0  # nothing left to build
    assert dict(Publication.objects.values_list("scope_key", "pdf_sha256")) == checksums
    assert len(builder.calls) == 4


def test_the_sweep_creates_last_months_rows_and_enqueues_what_is_left(
    ports: dict[str, ManagementUnit], builder: FakeBuilder, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    services.ensure_publications(K.MONTHLY, PERIOD)
    now = timezone.now()
    rows = {r.scope_key: r for r in Publication.objects.filter(period=PERIOD)}
    Publication.objects.filter(pk=rows["440000"].pk).update(status=S.FAILED, attempts=1)
    Publication.objects.filter(pk=rows["330000"].pk).update(status=S.FAILED, attempts=settings.PUBLICATION_MAX_ATTEMPTS)
    Publication.objects.filter(pk=rows["440300"].pk).update(
        status=S.BUILDING, claim=uuid.uuid4(), lease_until=now + dt.timedelta(minutes=5)
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = services.sweep()
    last_month = clock.previous_month()
    assert Publication.objects.filter(kind=K.MONTHLY, period=last_month).count() == 4  # the monthly run never ran
    assert set(Publication.objects.filter(period=last_month).values_list("status", flat=True)) == {S.READY}
    statuses = dict(Publication.objects.filter(period=PERIOD).values_list("scope_key", "status"))
    # pending and failed-with-attempts-left are built; attempts spent and a live lease are left alone
    assert statuses == {NATIONAL_SCOPE: S.READY, "440000": S.READY, "330000": S.FAILED, "440300": S.BUILDING}
    assert result["enqueued"] == 4 + 2


def test_the_sweep_removes_temporary_files_left_by_a_killed_worker(
    ports: dict[str, ManagementUnit], media: Path, settings: Any
) -> None:
    # stored files carry the time they were stored (the object store's, to the second): a lease of 1 s
    folder = "publications/monthly/2026-03"
    settings.PUBLICATION_LEASE_SECONDS = 1
    left = default_storage.save(f"{folder}/.440300-monthly-202603-r0-abcdef12.xlsx.x1.tmp", ContentFile(b"half"))
    time.sleep(2.2)
    fresh = f"{folder}/.440000-monthly-202603-r0-12345678.xlsx.x2.tmp"
    fresh = default_storage.save(fresh, ContentFile(b"being written"))
    services.sweep()
    assert not default_storage.exists(left) and default_storage.exists(fresh)


# ---------------------------------------------------------------------------------------------
# Beat schedules (data migration 0004)


def test_the_beat_schedules_exist_once_and_the_migration_is_reversible(db: None) -> None:
    migration = importlib.import_module("provincial.migrations.0004_publication_schedules")
    tasks = dict(PeriodicTask.objects.filter(name__startswith="publications:").values_list("task", "name"))
    assert set(tasks) == {
        "provincial.tasks.monthly_publications",
        "provincial.tasks.sweep_publications",
        "provincial.tasks.yearend_publications",
    }
    monthly = PeriodicTask.objects.get(task="provincial.tasks.monthly_publications")
    cron = monthly.crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year) == ("0", "1", "1", "*")
    assert str(cron.timezone) == "Asia/Shanghai"
    assert monthly.expire_seconds < 28 * 24 * 3600
    sweep = PeriodicTask.objects.get(task="provincial.tasks.sweep_publications")
    assert sweep.crontab.hour == "*" and sweep.expire_seconds < 3600
    yearly = PeriodicTask.objects.get(task="provincial.tasks.yearend_publications")
    assert (yearly.crontab.month_of_year, yearly.crontab.day_of_month) == ("1", "2")
    app.loader.import_default_modules()
    assert set(tasks) <= set(app.tasks)  # the names the schedules send are registered tasks

    beat.install(django_apps, migration.SCHEDULES)  # idempotent
    assert PeriodicTask.objects.filter(name__startswith="publications:").count() == 3
    beat.uninstall(django_apps, migration.SCHEDULES)
    assert not PeriodicTask.objects.filter(name__startswith="publications:").exists()
    beat.install(django_apps, migration.SCHEDULES)
    assert PeriodicTask.objects.filter(name__startswith="publications:").count() == 3


# ---------------------------------------------------------------------------------------------
# Enqueueing with the broker down


@pytest.fixture
def dead_broker() -> Iterator[None]:
    """The app pointed at a Redis port where nothing listens, tasks sent through the broker."""
    conf = app.conf
    saved = {k: conf[k] for k in ("broker_url", "result_backend", "task_always_eager")}
    conf.update(broker_url="redis://127.0.0.1:9/0", result_backend=None, task_always_eager=False)
    _drop_connections()
    yield
    conf.update(saved)
    _drop_connections()


def _drop_connections() -> None:
    app._pool = None
    app.__dict__.get("amqp") and setattr(app.amqp, "_producer_pool", None)
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)


def test_enqueueing_with_the_broker_down_logs_and_returns_quickly(
    dead_broker: None, caplog: pytest.LogCaptureFixture
) -> None:
    from provincial.tasks import sweep_publications

    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="patent_platform.celery"):
        assert sweep_publications.delay() is None
    assert time.monotonic() - started < 10
    assert "could not enqueue task provincial.tasks.sweep_publications" in caplog.text
