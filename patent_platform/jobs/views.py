"""The pages of an import job, one set for every importer: the job page with its progress panel (polled by
htmx while the job runs), the error report and the history export.

An app subclasses them with its model, roles, URL names (`JobUrls`) and titles; its templates extend
templates/jobs/job.html and jobs/_progress.html with its breadcrumb, heading and result. Jobs are read
through the model's `visible_to` (ScopedViewMixin): a job out of the user's scope answers 404 like a
missing one, and a role not in `roles` gets 404 on every page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
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


class JobDetailView(JobViewMixin, DetailView[Job]):
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


@dataclass(frozen=True)
class HistoryColumn:
    """One column of an importer's history: on its home page and in its Excel export alike."""

    header: Any
    cell: Callable[[Any], Any]
    link: str = ""  # "detail": to the job's page; "errors": to its error report (when it has errors); "status"
    numeric: bool = False
    on_page: bool = True  # False: in the export only


def history_columns(
    *, kinds: Sequence[Column] = (), counts: Sequence[Column] = (), uploader_on_page: bool = False
) -> list[HistoryColumn]:
    """The history's columns: upload time, the importer's kind columns, file, status, rows, the importer's
    counts, errors, uploader."""
    return [
        HistoryColumn(_("上传时间"), lambda job: job.created_at),
        *(HistoryColumn(header, cell) for header, cell in kinds),
        HistoryColumn(_("文件名"), lambda job: job.original_name, link="detail"),
        HistoryColumn(_("状态"), lambda job: job.get_status_display(), link="status"),
        HistoryColumn(_("数据行数"), lambda job: job.total_rows, numeric=True),
        *(HistoryColumn(header, cell, numeric=True) for header, cell in counts),
        HistoryColumn(_("错误数"), lambda job: len(job.errors), link="errors", numeric=True),
        HistoryColumn(
            _("上传人"), lambda job: job.created_by.email if job.created_by else "", on_page=uploader_on_page
        ),
    ]


@dataclass(frozen=True)
class HistoryCell:
    value: Any
    href: str = ""
    link: str = ""
    numeric: bool = False


@dataclass(frozen=True)
class JobHistory:
    """The latest jobs of an importer's home page (templates/jobs/_history.html), in the columns of its export."""

    headers: list[tuple[Any, bool]]  # (header, numeric)
    rows: list[tuple[Job, list[HistoryCell]]]
    total: int
    shown: int
    export_url: str
    testid: str  # data-testid prefix: "<testid>-table", "<testid>-export", "<testid>-empty"; rows "<row_testid>"
    row_testid: str
    empty: Any  # what the page says when there is no job yet


def job_history(
    queryset: Any,
    columns: Sequence[HistoryColumn],
    urls: JobUrls,
    *,
    export: str,
    empty: Any,
    shown: int = 50,
    testid: str = "jobs",
    row_testid: str = "job-row",
) -> JobHistory:
    """The `shown` latest jobs of a scoped queryset as the home page's table (the export has them all)."""
    columns = [c for c in columns if c.on_page]
    rows = []
    for job in queryset[:shown]:
        cells = []
        for column in columns:
            value = column.cell(job)
            if isinstance(value, dt.datetime):
                value = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
            href = ""
            if column.link == "detail":
                href = reverse(urls.detail, args=[job.pk])
            elif column.link == "errors" and job.errors:
                href = reverse(urls.errors, args=[job.pk])
            cells.append(HistoryCell(value, href, column.link, column.numeric))
        rows.append((job, cells))
    return JobHistory(
        headers=[(c.header, c.numeric) for c in columns],
        rows=rows,
        total=queryset.count(),
        shown=shown,
        export_url=reverse(export),
        testid=testid,
        row_testid=row_testid,
        empty=empty,
    )


class JobHistoryExportView(JobViewMixin, View):
    """Every job the user may see as an Excel file (the same scoped queryset as the importer's page)."""

    filename: ClassVar[Any]  # before the date
    audit_message: ClassVar[str] = "import history export"

    def columns(self) -> list[HistoryColumn]:
        return history_columns()

    def get(self, request: HttpRequest) -> HttpResponse:
        columns = self.columns()
        jobs = self.get_queryset().iterator(chunk_size=1000)
        return xlsx_response(
            filename=f"{self.filename}-{timezone.localdate().isoformat()}.xlsx",
            title=_("导入记录"),
            headers=[c.header for c in columns],
            rows=([c.cell(job) for c in columns] for job in jobs),
            object_type=self.model._meta.label if self.model else "",
            message=self.audit_message,
            actor=request.user,
        )
