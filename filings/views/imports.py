"""Excel bulk filing pages: templates, upload, the job page that follows the background check, reports.

Enterprise users only (others get 404); every job is read through `ImportJob.objects.visible_to`, so a
job of another unit answers 404 like a missing one. The job page, its progress panel, the error report and
the history export are patent_platform.jobs' pages for every import. The work itself is
`filings.imports.run_import_job`, run by the `run_import` task (in-process in the embedded default, by a
worker with Redis).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django import forms
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from filings import services
from filings.choices import ImportKind
from filings.import_template import DATA_SHEETS, build_template
from filings.models import ImportJob
from filings.tasks import run_import
from patent_platform import audit
from patent_platform.choices import AuditAction, Role
from patent_platform.jobs.views import (
    HistoryColumn,
    JobDetailView,
    JobErrorsView,
    JobHistoryExportView,
    JobUrls,
    history_columns,
    job_history,
)
from patent_platform.roles import signed_in
from patent_platform.uploads import validate_upload
from patent_platform.views.base import ScopedTemplateView, ScopedViewMixin

ENTERPRISE = frozenset({Role.ENTERPRISE})
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JOBS_SHOWN = 50  # on the home page; the Excel export has them all


def import_history_columns() -> list[HistoryColumn]:
    """The jobs' history, on the page and in its export."""
    return history_columns(
        kinds=[(_("导入内容"), lambda job: job.get_kind_display())],
        counts=[(_("导入条数"), lambda job: job.created_count)],
    )


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("导入内容"), choices=ImportKind.choices, widget=forms.RadioSelect)
    file = forms.FileField(
        label=gettext_lazy("Excel 文件"), help_text=gettext_lazy("请使用本页下载的模板填写，.xlsx 格式。")
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        validate_upload(upload, allowed=("xlsx",))
        return upload


class ImportHomeView(ScopedTemplateView):
    """Template downloads, the upload form and the unit's past imports."""

    roles = ENTERPRISE
    model = ImportJob
    template_name = "filings/imports/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ImportUploadForm(initial={"kind": ImportKind.PATENTS}))
        context.update(
            history=job_history(
                self.scoped_queryset().select_related("created_by"),
                import_history_columns(),
                URLS,
                export="imports:export",
                empty=_("还没有导入记录。下载上方的模板，填写后上传即可批量登记专利和产品。"),
                shown=JOBS_SHOWN,
            ),
            templates=[{"kind": kind, "label": label} for kind, label in ImportKind.choices],
        )
        return context


class ImportUploadView(ImportHomeView):
    """POST only: store the file as a queued job, start the check after commit, go to the job page."""

    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def post(self, request: HttpRequest) -> HttpResponse:
        unit = services.member_unit(request.user)
        form = ImportUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        upload = form.cleaned_data["file"]
        with transaction.atomic():
            job = ImportJob(
                unit=unit,
                kind=form.cleaned_data["kind"],
                original_name=(upload.name or "upload.xlsx")[-200:],
                created_by=signed_in(request),
            )
            job.file.save("upload.xlsx", upload, save=False)
            job.save()
            audit.audit_event(action=AuditAction.CREATE, obj=job, actor=request.user, message="import upload")
            # Enqueued only once the job row is committed, so a worker always finds it.
            transaction.on_commit(lambda: run_import.delay(job.pk))
        return HttpResponseRedirect(reverse("imports:job", args=[job.pk]))


class ImportTemplateView(ScopedViewMixin, View):
    """The Excel template of one kind (built on request: the class list comes from the database)."""

    roles = ENTERPRISE
    model = ImportJob

    def get(self, request: HttpRequest, kind: str) -> HttpResponse:
        if kind not in ImportKind.values:
            raise Http404
        response = HttpResponse(build_template(kind), content_type=XLSX)
        name = f"{_('批量导入模板')}-{DATA_SHEETS[kind]}.xlsx"
        response["Content-Disposition"] = f"attachment; filename=\"import-{kind}.xlsx\"; filename*=UTF-8''{quote(name)}"
        return response


URLS = JobUrls(home="imports:home", detail="imports:job", progress="imports:job_progress", errors="imports:errors")


class ImportJobView(JobDetailView):
    """One import: a progress bar that follows the background check, then its result."""

    roles = ENTERPRISE
    model = ImportJob
    urls = URLS
    title = gettext_lazy("批量导入")
    template_name = "filings/imports/job.html"
    progress_template = "filings/imports/_progress.html"


class ImportJobProgressView(ImportJobView):
    """The job's status panel alone, fetched every second by htmx while the job runs."""

    panel = True


class ImportErrorsView(JobErrorsView):
    """The error report of a failed import as an Excel file: row, column, message."""

    roles = ENTERPRISE
    model = ImportJob
    urls = URLS


class ImportJobsExportView(JobHistoryExportView):
    """The unit's import history as an Excel file (the same scoped queryset as the page)."""

    roles = ENTERPRISE
    model = ImportJob
    urls = URLS
    filename = gettext_lazy("导入记录")

    def columns(self) -> list[HistoryColumn]:
        return import_history_columns()
