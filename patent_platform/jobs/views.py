"""The pages of an import job, one set for every importer: the job page with its progress panel (polled by
htmx while the job runs), the error report and the history export.

An app subclasses them with its model, roles, URL names (`JobUrls`) and titles; its templates extend
templates/jobs/job.html and jobs/_progress.html with its breadcrumb, heading and result. Jobs are read
through the model's `visible_to` (ScopedViewMixin): a job out of the user's scope answers 404 like a
missing one, and a role not in `roles` gets 404 on every page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView

from patent_platform import tabular
from patent_platform.exports import xlsx_response
from patent_platform.jobs.models import Job
from patent_platform.views.base import ScopedViewMixin


@dataclass(frozen=True)
class JobUrls:
    """URL names of one importer's pages ("namespace:name")."""

    home: str  # the upload form and the history
    detail: str  # one job (takes its pk), and the two below
    progress: str
    errors: str


class JobViewMixin(ScopedViewMixin):
    urls: ClassVar[JobUrls]
    title: ClassVar[Any] = ""  # the importer's page title, as in its breadcrumb

    def get_queryset(self) -> Any:
        return self.scoped_queryset().select_related("created_by")


class JobDetailView(JobViewMixin, DetailView):
    """One job: a progress bar that follows the background work, then its result or its errors."""

    context_object_name = "job"
    progress_template: ClassVar[str]  # the importer's panel (extends jobs/_progress.html)
    panel: ClassVar[bool] = False  # True: the panel alone, what htmx fetches every second while the job runs
    errors_shown: ClassVar[int] = 200  # on the page; the error report has them all

    def get_template_names(self) -> list[str]:
        return [self.progress_template] if self.panel else super().get_template_names()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        job: Job = context["job"]
        context.update(
            running=job.running,
            errors_shown=job.errors[: self.errors_shown],
            errors_hidden=max(0, len(job.errors) - self.errors_shown),
            error_limit=self.errors_shown,
            job_urls=self.urls,
            job_title=self.title,
            progress_template=self.progress_template,
        )
        return context


class JobErrorsView(JobViewMixin, View):
    """The error report of a failed job as an Excel file: row, column, message, then the job's message."""

    report_suffix: ClassVar[str] = ""  # after the uploaded file's name in the report's file name
    audit_key: ClassVar[str] = "job"  # the job's id in the export's audit record
    audit_message: ClassVar[str] = "import error report"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = get_object_or_404(self.scoped_queryset(), pk=pk)
        return xlsx_response(
            filename=f"{_('导入错误报告')}-{job.original_name}{self.report_suffix}",
            title=_("错误报告"),
            headers=tabular.error_report_headers(),
            rows=tabular.error_report_rows(job.errors, job.message),
            object_type=job._meta.label,
            changes={self.audit_key: job.pk},
            message=self.audit_message,
            actor=request.user,
        )


Column = tuple[Any, Callable[[Any], Any]]  # a header and how a job gives its cell


def history_columns(*, kinds: Sequence[Column] = (), counts: Sequence[Column] = ()) -> list[Column]:
    """The history's columns: upload time, the importer's kind columns, file, status, rows, the importer's
    counts, errors, uploader."""
    return [
        (_("上传时间"), lambda job: job.created_at),
        *kinds,
        (_("文件名"), lambda job: job.original_name),
        (_("状态"), lambda job: job.get_status_display()),
        (_("数据行数"), lambda job: job.total_rows),
        *counts,
        (_("错误数"), lambda job: len(job.errors)),
        (_("上传人"), lambda job: job.created_by.email if job.created_by else ""),
    ]


class JobHistoryExportView(JobViewMixin, View):
    """Every job the user may see as an Excel file (the same scoped queryset as the importer's page)."""

    filename: ClassVar[Any]  # before the date
    audit_message: ClassVar[str] = "import history export"

    def columns(self) -> list[Column]:
        return history_columns()

    def get(self, request: HttpRequest) -> HttpResponse:
        columns = self.columns()
        jobs = self.get_queryset().iterator(chunk_size=1000)
        return xlsx_response(
            filename=f"{self.filename}-{timezone.localdate().isoformat()}.xlsx",
            title=_("导入记录"),
            headers=[header for header, _cell in columns],
            rows=([cell(job) for _header, cell in columns] for job in jobs),
            object_type=self.model._meta.label if self.model else "",
            message=self.audit_message,
            actor=request.user,
        )
