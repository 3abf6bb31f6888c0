"""Claiming tasks and a lost database connection (patent_platform/claims.py, issue 25): the failure is
recorded on a new connection, a claim that could not be released is re-taken by the task's own retry, the
retry comes within a minute, and an import goes back to the queue (its error recorded) instead of ending
half-way. The real fault (a worker's sessions terminated mid-build) is tests/provincial/test_publication_db_fault.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from celery.exceptions import Retry
from django.core.files.base import ContentFile
from django.db import OperationalError, connection

from filings.choices import ImportStatus
from filings.models import ImportJob
from patent_platform import claims
from patent_platform.models import AuditEvent
from provincial.choices import PublicationKind as K
from provincial.choices import PublicationStatus as S
from provincial.models import ManagementUnit, Publication
from provincial.publications import build, services
from provincial.publications.build import Parts
from tests.factories import FilingUnitFactory, UserFactory

PERIOD = dt.date(2026, 3, 1)


def lost() -> OperationalError:
    return OperationalError("terminating connection due to administrator command")


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def row(reference: None, media: Path) -> Publication:
    ManagementUnit.objects.update(is_open=False)
    ManagementUnit.objects.filter(code="440300").update(is_open=True)
    return next(r for r in services.ensure_publications(K.MONTHLY, PERIOD) if r.scope_key == "440300")


def small_parts(publication: Publication) -> Parts:
    return Parts(figures={"n": 1}, write_xlsx=lambda fh: fh.write(b"xlsx"), render_pdf=lambda: b"%PDF-1.4 small")


def test_retry_seconds_start_at_the_setting_and_stay_within_a_minute(settings: Any) -> None:
    settings.TASK_DB_RETRY_SECONDS = 10
    assert [claims.retry_seconds(n) for n in range(6)] == [10, 20, 40, 60, 60, 60]


def test_connection_lost_reads_the_cause() -> None:
    assert claims.connection_lost(lost())
    try:
        try:
            raise lost()
        except OperationalError as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError as wrapped:
        assert claims.connection_lost(wrapped)
    assert not claims.connection_lost(ValueError("a bug"))


@pytest.mark.django_db(transaction=True)
def test_on_fresh_connection_reconnects_and_runs_the_write_again() -> None:
    calls: list[int] = []

    def write() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise lost()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()[0]

    assert claims.on_fresh_connection(write) == 1 and len(calls) == 2


@pytest.mark.django_db(transaction=True)
def test_a_claim_that_could_not_be_released_is_retaken_by_the_tasks_own_retry(
    row: Publication, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provincial.tasks import build_publication

    failures = {"builder": 1, "mark_failed": 3}  # the failure cannot be recorded: every attempt of it fails

    def builder(publication: Publication) -> Parts:
        if failures["builder"]:
            failures["builder"] -= 1
            raise lost()
        return small_parts(publication)

    real_mark_failed = build._mark_failed

    def mark_failed(*args: Any) -> bool:
        if failures["mark_failed"]:
            failures["mark_failed"] -= 1
            raise lost()
        return real_mark_failed(*args)

    monkeypatch.setattr(build, "document_parts", builder)
    monkeypatch.setattr(build, "_mark_failed", mark_failed)
    # the service alone: the claim is still held and the token is handed on
    with pytest.raises(claims.ClaimStillHeld) as held:
        build.build_publication(row.pk)
    row.refresh_from_db()
    assert row.status == S.BUILDING and str(row.claim) == held.value.token and row.lease_until > dt.datetime.now(dt.UTC)
    # another build (the sweep, a redelivery) finds a live lease and leaves it
    assert build.build_publication(row.pk).status == S.BUILDING
    # the task's retry carries the token and re-takes the claim at once (in-process: retries run at once)
    result = build_publication.apply(args=[row.pk], kwargs={"claim": held.value.token})
    assert result.get() == S.READY
    row.refresh_from_db()
    assert row.status == S.READY and row.attempts == 2 and row.lease_until is None
    assert AuditEvent.objects.filter(
        object_id=str(row.pk), message="publication build retried (the claim its failed attempt could not release)"
    ).exists()


@pytest.mark.django_db(transaction=True)
def test_the_task_retries_a_lost_connection_within_a_minute_with_the_claim(
    row: Publication, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    from celery.canvas import Signature

    from provincial.tasks import build_publication

    settings.TASK_DB_RETRY_SECONDS = 10
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(Signature, "apply_async", lambda sig, *a, **kw: sent.append(dict(sig.kwargs)))
    task = build_publication._get_current_object()
    task.push_request(id="t-1", retries=1, called_directly=False, is_eager=False, args=[row.pk], kwargs={})
    try:
        with pytest.raises(Retry) as retry:
            task.retry(exc=claims.ClaimStillHeld("claim", "0123"), countdown=600)  # the backoff would be 10 min
        assert retry.value.when == 20  # the second retry after a lost connection: 20 s, not the backoff
        assert sent == [{"claim": "0123"}]
        with pytest.raises(Retry) as retry:
            task.retry(exc=ValueError("a bug"), countdown=600)
        assert retry.value.when == 600  # other errors keep the task's backoff
    finally:
        task.pop_request()


@pytest.mark.django_db(transaction=True)
def test_an_import_that_lost_its_connection_goes_back_to_the_queue_with_the_error(
    media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from filings import imports

    user = UserFactory()
    job = ImportJob.objects.create(
        unit=FilingUnitFactory(),
        kind="patents",
        original_name="p.xlsx",
        created_by=user,
        file=ContentFile(b"x", "p.xlsx"),
    )

    def run(job: ImportJob) -> str:
        raise lost()

    monkeypatch.setattr(imports.IMPORTER, "read", run)
    with pytest.raises(OperationalError):
        imports.run_import_job(job.pk, will_retry=True)
    job.refresh_from_db()
    assert job.status == ImportStatus.QUEUED and "数据库连接中断" in job.message and job.finished_at is None
    # the last attempt: the job ends with the error instead (never left running)
    assert imports.run_import_job(job.pk, will_retry=False) == ImportStatus.ERROR
    job.refresh_from_db()
    assert job.status == ImportStatus.ERROR and job.finished_at is not None


@pytest.mark.django_db
def test_the_row_claim_takes_a_row_once_and_a_claimant_that_lost_it_writes_nothing(row: Publication) -> None:
    """patent_platform.claims.RowClaim, the one exactly-once claim of the publications and the subscription
    deliveries: one taker per row, the lease renewed by progress, taken over once it expired, and every write
    of the old claimant refused after that; a retry re-takes its own ended attempt's claim."""
    claim = build.CLAIM
    first = claim.take(row.pk)
    assert first is not None and claim.take(row.pk) is None  # held: nobody else takes it
    claim.renew(row.pk, first, progress=40)
    taken = Publication.objects.get(pk=row.pk)
    assert (taken.status, taken.progress, taken.attempts, taken.claim) == (S.BUILDING, 40, 1, first)
    Publication.objects.filter(pk=row.pk).update(lease_until=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    second = claim.take(row.pk)  # the lease expired: taken over
    assert second is not None and second != first
    with pytest.raises(claims.ClaimLost):
        claim.renew(row.pk, first, progress=90)
    with pytest.raises(claims.ClaimLost):
        claim.lock(row.pk, first)
    assert not claim.release(row.pk, first, status=S.FAILED, error="late")
    assert claim.take(row.pk, previous=second) is not None  # its own retry re-takes a live claim
    current = Publication.objects.get(pk=row.pk)
    assert claim.release(row.pk, current.claim, status=S.FAILED, error="boom")
    done = Publication.objects.get(pk=row.pk)
    assert (done.status, done.error, done.lease_until, done.attempts) == (S.FAILED, "boom", None, 3)
