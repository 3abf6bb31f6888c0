"""The import-job runner (patent_platform/jobs): an exclusive claim, all or nothing, the retry, the progress.

The importer here is a toy (one patent number a line) on the product import's table, so that only the
runner is under test; the two real importers are covered by tests/filings/test_imports.py and test_drift.py.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import OperationalError, connection

from filings.models import ImportJob, Patent
from patent_platform import jobs
from patent_platform.jobs import JobStatus
from tests.factories import FilingUnitFactory, UserFactory

NUMBERS = ["201710601862.3", "201810001234.5", "201910005678.9", "202010009999.1"]


class Lines(jobs.Importer[ImportJob]):
    """One patent number a line; "bad" is a problem; `apply` creates the patents."""

    model = ImportJob
    name = "test job"
    progress_every = 2

    def __init__(self) -> None:
        self.checks = 0
        self.seen: list[int] = []  # processed_rows as a poller reads it, after every row
        self.wait: threading.Event | None = None  # check() waits for it (a long job)
        self.started = threading.Event()
        self.fail: BaseException | None = None  # raised by apply() after the first patent

    def check(self, job: ImportJob, data: bytes, progress: jobs.Progress) -> jobs.Checked:
        self.checks += 1
        self.started.set()
        if self.wait is not None:
            assert self.wait.wait(10)
        lines = data.decode().split()
        progress.total(len(lines))
        errors = []
        for i, line in enumerate(lines, start=1):
            if line == "bad":
                errors.append({"row": i, "column": "", "message": "bad line"})
            progress.row(i)
            self.seen.append(ImportJob.objects.values_list("processed_rows", flat=True).get(pk=job.pk))
        return jobs.Checked(lines, errors)

    def apply(self, job: ImportJob, rows: list[str]) -> dict[str, Any]:
        for n, number in enumerate(rows, start=1):
            Patent.objects.create(number=number, kind="invention", title=f"专利 {n}")
            if self.fail is not None:
                fail, self.fail = self.fail, None
                raise fail
        return {"created_count": len(rows), "message": f"{len(rows)} saved"}


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def new_job(lines: list[str]) -> ImportJob:
    return ImportJob.objects.create(
        unit=FilingUnitFactory(),
        kind="patents",
        original_name="t.txt",
        created_by=UserFactory(),
        file=ContentFile("\n".join(lines).encode(), "t.txt"),
    )


@pytest.mark.embedded
@pytest.mark.django_db
def test_a_valid_file_is_applied_and_a_finished_job_is_not_run_again(media: Path) -> None:
    job = new_job(NUMBERS)
    importer = Lines()
    assert jobs.run_job(importer, job.pk) == JobStatus.DONE
    job.refresh_from_db()
    assert (job.status, job.created_count, job.message) == (JobStatus.DONE, 4, "4 saved")
    assert job.finished_at is not None and job.total_rows == job.processed_rows == 4
    assert Patent.objects.count() == 4
    # a redelivered task finds the job finished: nothing runs, nothing is written again
    assert jobs.run_job(importer, job.pk) == JobStatus.DONE
    assert importer.checks == 1 and Patent.objects.count() == 4


@pytest.mark.embedded
@pytest.mark.django_db
def test_problems_or_a_failure_roll_back_everything_and_record_why(media: Path) -> None:
    # a problem in the file: nothing applied, the problems stored
    job = new_job([NUMBERS[0], "bad"])
    assert jobs.run_job(Lines(), job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert job.errors == [{"row": 2, "column": "", "message": "bad line"}] and "发现 1 处错误" in job.message

    # a row that fails while saving: the rows saved before it are rolled back
    importer = Lines()
    importer.fail = jobs.RowFailed(1, "cannot save")
    job = new_job(NUMBERS)
    assert jobs.run_job(importer, job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert job.errors == [{"row": 1, "column": "", "message": "cannot save"}] and "第 1 行保存失败" in job.message
    assert not Patent.objects.exists()

    # a reason that is the platform's (JobError), and an unexpected error: ERROR, nothing saved
    for fail, said in ((jobs.JobError("owner gone"), "owner gone"), (ValueError("a bug"), "a bug")):
        importer = Lines()
        importer.fail = fail
        job = new_job(NUMBERS)
        assert jobs.run_job(importer, job.pk) == JobStatus.ERROR
        job.refresh_from_db()
        assert job.status == JobStatus.ERROR and said in job.message and job.finished_at is not None
        assert not Patent.objects.exists() and job.created_count == 0


@pytest.mark.embedded
@pytest.mark.django_db
def test_a_job_released_for_retry_runs_again(media: Path) -> None:
    job = new_job(NUMBERS)
    importer = Lines()
    importer.fail = OperationalError("terminating connection due to administrator command")
    with pytest.raises(OperationalError):
        jobs.run_job(importer, job.pk, will_retry=True)
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and "数据库连接中断" in job.message and job.finished_at is None
    assert not Patent.objects.exists()
    # the task's retry claims it again (the first attempt's claim is free) and finishes it
    assert jobs.run_job(importer, job.pk, will_retry=True) == JobStatus.DONE
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.message == "4 saved" and Patent.objects.count() == 4
    assert importer.checks == 2


@pytest.mark.embedded
@pytest.mark.django_db
def test_progress_only_grows(media: Path) -> None:
    job = new_job([*NUMBERS, "201110001111.X"])
    importer = Lines()
    assert jobs.run_job(importer, job.pk) == JobStatus.DONE
    assert importer.seen == [0, 2, 2, 4, 4]  # every `progress_every` rows, never back
    job.refresh_from_db()
    assert job.processed_rows == job.total_rows == 5 and job.percent == 100
    # a late, lower count (a slow writer) does not move it back
    progress = jobs.Progress(job, every=1)
    progress.row(3)
    job.refresh_from_db()
    assert job.processed_rows == 5


@pytest.mark.postgres
def test_the_claim_is_exclusive_between_two_workers(transactional_db: None, media: Path) -> None:
    job = new_job(NUMBERS)
    ready = threading.Barrier(2, timeout=10)
    both_tried = threading.Barrier(2, timeout=10)
    claimed: list[bool] = []

    def worker() -> None:
        try:
            ready.wait()
            got = jobs.claim(ImportJob, job.pk)  # both at once, each on its own connection
            claimed.append(got)
            both_tried.wait()  # the winner holds its claim until the other has tried
            if got:
                jobs.unclaim(ImportJob, job.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert sorted(claimed) == [False, True]
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING

    # a whole run: the second worker, given the same job while the first runs it, leaves it alone
    job = new_job(NUMBERS)
    importer = Lines()
    importer.wait = threading.Event()
    results: dict[str, str] = {}

    def run(name: str) -> None:
        try:
            results[name] = jobs.run_job(importer, job.pk)
        finally:
            connection.close()

    first = threading.Thread(target=run, args=("first",))
    first.start()
    assert importer.started.wait(10)  # the first holds the claim and is checking the file
    second = threading.Thread(target=run, args=("second",))
    second.start()
    second.join(15)
    assert results == {"second": JobStatus.RUNNING}  # it did nothing
    importer.wait.set()
    first.join(15)
    assert results["first"] == JobStatus.DONE and importer.checks == 1
    assert Patent.objects.count() == 4
