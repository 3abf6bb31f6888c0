"""One runner for every import job: claim, progress, all or nothing, finish, release for a retry, audit.

An importer is a small `Importer` subclass that holds its rules only:
- `check(job, data, progress) -> Checked`: read the file's bytes and check every row and cell without
  writing anything; the problems are {row, column, message} (`tabular.Problems.sorted()`). The whole file
  refused (not a table, a wrong header, no rows) is a `tabular.FileError`. `progress.total(n)` once the
  rows are read, `progress.row(i)` per row checked;
- `apply(job, rows) -> fields`: write the checked rows and return the job's result fields (its counts and
  `message`). It runs inside the runner's transaction: any failure rolls back every row written before it.
  `RowFailed(row, message)` names the row that could not be saved, `JobError(message)` a reason that is
  the platform's, not the file's (the uploader gone or no longer allowed).

The runner, the same for every import (`run_job`, what the import's task calls):
1. claim: a conditional UPDATE sets a queued (or left running) job running and clears its last attempt;
   a finished job is left alone, so a redelivered task does nothing. On PostgreSQL the claim first takes a
   session-level advisory lock on the job, held until the run ends: a second worker given the same job at
   the same time (a redelivery while the first still runs) finds it held and leaves the job to the first;
   a worker that died frees it with its session, so its redelivered task can take the job again;
2. progress: `total_rows`, then `processed_rows` every `progress_every` rows, each an UPDATE outside any
   transaction (the job page polls them); `processed_rows` never goes back within a run;
3. a file with any problem ends FAILED with the problems (at most `max_errors`; the count in the message is
   complete) and nothing written; otherwise `apply` in one transaction, the job DONE in the same one;
4. the uploader is the audit actor of everything the job writes (`audit.set_context`);
5. an unexpected error ends the job in ERROR, recorded on a fresh connection (patent_platform/claims.py);
   a lost database connection while the task will be retried puts the job back in the queue instead
   (`release_for_retry`, nothing was saved) and is raised, so that the retry takes it again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from patent_platform import audit, claims, locks, tabular
from patent_platform.jobs.models import UNFINISHED, Job, JobStatus

logger = logging.getLogger(__name__)

J = TypeVar("J", bound=Job)


class JobError(Exception):
    """The job ends in ERROR with this message and nothing applied (a reason that is not the file's)."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = str(message)


class RowFailed(Exception):
    """A row could not be saved although it was checked: everything is rolled back, the job FAILED."""

    def __init__(self, row: int, message: Any) -> None:
        super().__init__(str(message))
        self.row, self.message = row, str(message)


@dataclass
class Checked:
    """What `Importer.check` found: the rows `apply` will receive and every problem (none: apply them)."""

    rows: Any
    errors: list[dict[str, Any]] = field(default_factory=list)


def update(job: Job, **fields: Any) -> None:
    # A queryset update outside any transaction: visible at once to the page that polls the job.
    type(job)._default_manager.filter(pk=job.pk).update(**fields)


def finish(job: Job, status: str, **fields: Any) -> str:
    update(job, status=status, finished_at=timezone.now(), **fields)
    return status


class Progress:
    """The rows read and checked so far, written every `every` rows for the page that follows the job."""

    def __init__(self, job: Job, every: int) -> None:
        self.job, self.every, self.total_rows = job, max(1, every), 0

    def total(self, rows: int) -> None:
        self.total_rows = rows
        update(self.job, total_rows=rows)

    def row(self, done: int) -> None:
        if done % self.every == 0:
            self._processed(done)

    def complete(self) -> None:
        self._processed(self.total_rows)

    def _processed(self, done: int) -> None:
        # never backwards: a poller sees the count grow (the claim resets it to 0 for a new attempt)
        type(self.job)._default_manager.filter(pk=self.job.pk, processed_rows__lte=done).update(processed_rows=done)


class Importer(Generic[J]):
    """The rules of one import; `run_job(importer, job_id)` does the rest (see the module's docstring)."""

    model: type[J]
    name: ClassVar[str] = "import job"  # in the log
    related: ClassVar[Sequence[str]] = ("created_by",)  # select_related when the job is read
    progress_every: ClassVar[int] = 50
    max_errors: ClassVar[int] = 5000
    # the job's messages in the site's language (settings.LANGUAGE_CODE), whoever enqueued it; False: the
    # language active when the task runs (the uploader's when it runs in-process)
    site_language: ClassVar[bool] = False

    def read(self, job: J) -> bytes:
        """The uploaded file's bytes."""
        with job.file.open("rb") as handle:
            result: bytes = handle.read()
            return result

    def check(self, job: J, data: bytes, progress: Progress) -> Checked:
        raise NotImplementedError

    def apply(self, job: J, rows: Any) -> dict[str, Any]:
        raise NotImplementedError


def _lock_name(model: type[Job], job_id: int) -> str:
    return f"job:{model._meta.label}:{job_id}"


def claim(model: type[Job], job_id: int) -> bool:
    """Set the job running for this worker; False if it is finished or another worker is running it."""
    if not locks.try_advisory_lock(_lock_name(model, job_id)):
        return False
    claimed = model._default_manager.filter(pk=job_id, status__in=UNFINISHED).update(
        status=JobStatus.RUNNING, processed_rows=0, errors=[], message=""
    )
    if not claimed:
        unclaim(model, job_id)
    return bool(claimed)


def unclaim(model: type[Job], job_id: int) -> None:
    """Free the claim's lock (a lost connection has freed it already, with its session)."""
    try:
        locks.advisory_unlock(_lock_name(model, job_id))
    except Exception:  # the connection is gone: so is the session's lock
        logger.debug("could not free the lock of %s %s", model._meta.label, job_id, exc_info=True)


@contextmanager
def _claimed(model: type[Job], job_id: int) -> Iterator[bool]:
    claimed = claim(model, job_id)
    try:
        yield claimed
    finally:
        if claimed:
            unclaim(model, job_id)


def release_for_retry(job: Job, exc: BaseException) -> None:
    """A lost database connection ended the attempt (nothing was saved: all or nothing): the job goes back
    to the queue with the error, written on a new connection, and the task's retry takes it again."""
    model = type(job)
    logger.warning("%s %s: database connection lost (%s); queued again for the retry", model.__name__, job.pk, exc)
    message = _("数据库连接中断，未导入任何数据，稍后自动重试：%(error)s") % {"error": exc}
    claims.on_fresh_connection(
        lambda: model._default_manager.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            status=JobStatus.QUEUED, message=message[:2000]
        )
    )


def run_job(importer: Importer[J], job_id: int, *, will_retry: bool = False) -> str:
    """Check a queued job's file and, if every row is valid, apply it all; returns the final status.
    `will_retry`: the task is retried if this attempt fails, so a lost database connection puts the job
    back in the queue (the error recorded) and is raised; otherwise it ends the job with an error."""
    model = importer.model
    with _claimed(model, job_id) as claimed:
        job = model._default_manager.select_related(*importer.related).get(pk=job_id)
        if not claimed:  # finished (a redelivered task), or another worker runs it
            return job.status
        token = audit.set_context(actor=job.created_by)
        try:
            with translation.override(settings.LANGUAGE_CODE) if importer.site_language else nullcontext():
                return process(importer, job)
        except Exception as exc:
            if will_retry and claims.connection_lost(exc):
                release_for_retry(job, exc)
                raise
            logger.exception("%s %s failed", importer.name, job_id)
            message = _("处理时发生意外错误，未导入任何数据：%(error)s") % {"error": exc}
            return claims.on_fresh_connection(lambda: finish(job, JobStatus.ERROR, message=message))
        finally:
            audit.reset_context(token)


def process(importer: Importer[J], job: J) -> str:
    """The claimed job's work: check every row, then apply all of them or none; returns the final status."""
    progress = Progress(job, importer.progress_every)
    try:
        checked = importer.check(job, importer.read(job), progress)
    except tabular.FileError as exc:
        return finish(job, JobStatus.FAILED, errors=[exc.error], message=exc.error["message"])
    progress.complete()
    if checked.errors:
        return finish(
            job,
            JobStatus.FAILED,
            errors=checked.errors[: importer.max_errors],
            message=_("发现 %(n)s 处错误，未导入任何数据。请按错误报告修改后重新上传。") % {"n": len(checked.errors)},
        )
    try:
        # All or nothing: a failure anywhere rolls back every row written before it, and the job stays
        # running until the same transaction marks it done.
        with transaction.atomic():
            fields = importer.apply(job, checked.rows)
            finish(job, JobStatus.DONE, **fields)
    except RowFailed as exc:
        return finish(
            job,
            JobStatus.FAILED,
            errors=[{"row": exc.row, "column": "", "message": exc.message}],
            message=_("第 %(row)s 行保存失败，已全部撤销，未导入任何数据：%(error)s")
            % {"row": exc.row, "error": exc.message},
        )
    except JobError as exc:
        return finish(job, JobStatus.ERROR, message=exc.message)
    return JobStatus.DONE
