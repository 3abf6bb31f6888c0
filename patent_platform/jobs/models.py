"""The abstract import job: what every import's job row holds, and its status.

A concrete job (filings.ImportJob, filings.PatentStatusImport) inherits these fields and adds its own:
the owner's scope (a filing unit, or none for the platform's own imports), its kind, its result counts,
and `file`, whose upload path is the importer's (declared on the concrete model: the path function is
named in its migrations). The fields here are those both tables already had, so inheriting them changed
no table and no migration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.db.models.fields.files import FieldFile


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("校验中")
    FAILED = "failed", _("有错误，未导入")  # the file or its rows were refused: the error report says why
    DONE = "done", _("已导入")
    ERROR = "error", _("处理出错")  # the platform could not finish it (an unexpected error, the owner gone)


# A job in these states is still to be done (a worker that died left it running: its task runs again).
UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING)


class Job(models.Model):
    """An uploaded file, checked in the background and applied all or nothing (patent_platform.jobs.runner)."""

    status = models.CharField(_("状态"), max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    original_name = models.CharField(_("文件名"), max_length=200)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{row, column, message}], at most the importer's max
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    if TYPE_CHECKING:
        file: FieldFile  # a FileField on every concrete job

    class Meta:
        abstract = True
        ordering: ClassVar[list[str]] = ["-created_at"]

    @property
    def running(self) -> bool:
        return self.status in UNFINISHED

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 0 if self.running else 100
        return min(100, round(100 * self.processed_rows / self.total_rows))
