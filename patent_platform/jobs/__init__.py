"""Import jobs: one abstract job model, one runner, one set of pages, for every import of the platform.

- `models`: `Job` (abstract: status, counts, errors, owner, times) and `JobStatus`;
- `runner`: `Importer` (what an import supplies: `check` and `apply`) and `run_job` (claim, progress, all or
  nothing, finish, release for a retry, audit);
- `views`: the job page with its htmx-polled progress panel, the error report and the history export,
  parameterised by the importer's model, roles, URL names and titles (templates/jobs/).

The importers: filings.imports (products and patents, Excel) and filings.drift (legal statuses).
"""

from patent_platform.jobs.models import UNFINISHED, Job, JobStatus
from patent_platform.jobs.runner import (
    Checked,
    Importer,
    JobError,
    Progress,
    RowFailed,
    claim,
    finish,
    process,
    release_for_retry,
    run_job,
    unclaim,
)

__all__ = [
    "UNFINISHED",
    "Checked",
    "Importer",
    "Job",
    "JobError",
    "JobStatus",
    "Progress",
    "RowFailed",
    "claim",
    "finish",
    "process",
    "release_for_retry",
    "run_job",
    "unclaim",
]
