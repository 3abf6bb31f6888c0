"""Patent status drift pages: the legal-status import (national administrators and platform reviewers) and
the reviewers' list of filing flags with its export and the resolve action.

Other roles get 404, as on every review page. Imports are read through `PatentStatusImport.objects.
visible_to` (everything for these two roles, nothing for others), flags through `FilingFlag.objects.
visible_to`. The import's page, its progress panel, the error report and the history export are
patent_platform.jobs' pages for every import. The work is `filings.drift.run_status_import`, run by the
`run_status_import` task.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from filings import drift, flags
from filings.choices import ENDED_STATUSES, LegalStatus
from filings.models import FilingFlag, PatentStatusImport
from filings.tasks import run_status_import
from filings.views.review import REVIEW_ROLES, province_choices
from patent_platform import audit, tabular
from patent_platform.choices import AuditAction
from patent_platform.exports import xlsx_response
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
from patent_platform.uploads import sniff, validate_upload
from patent_platform.views.base import ScopedListView, ScopedTemplateView, ScopedViewMixin

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORTS_SHOWN = 50  # on the page; the Excel export has them all


def _is_csv(upload: Any) -> bool:
    """A text file in UTF-8 or GB18030 that is none of the binary kinds (a CSV has no magic number)."""
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    if sniff(data[:16]) is not None:
        return False
    try:
        drift.decode_csv(data)
    except tabular.FileError:
        return False
    return True


class StatusUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("法律状态文件"),
        help_text=gettext_lazy("Excel（.xlsx）或 CSV（UTF-8 或 GB18030 编码）；列：申请号、法律状态、生效日期。"),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        try:
            self.file_type = validate_upload(upload, allowed=("xlsx",))
        except ValidationError as exc:
            # validate_upload knows no CSV: it has checked the size, the content decides the rest
            if getattr(exc, "code", None) != "upload_type" or not _is_csv(upload):
                if getattr(exc, "code", None) == "upload_type":
                    raise ValidationError(
                        _("文件类型不被接受：只接受 Excel（.xlsx）或 CSV 文件（按文件内容判断，而非扩展名）。"),
                        code="upload_type",
                    ) from exc
                raise
            self.file_type = "csv"
        return upload


class StatusImportHomeView(ScopedTemplateView):
    """The upload form, the template downloads and the history of imports with their results."""

    roles = REVIEW_ROLES
    model = PatentStatusImport
    template_name = "filings/drift/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", StatusUploadForm())
        context.update(
            history=job_history(
                self.scoped_queryset().select_related("created_by"),
                status_history_columns(),
                URLS,
                export="review:patent_status_export",
                empty=_("还没有导入过专利法律状态。下载模板，填好后上传即可。"),
                shown=IMPORTS_SHOWN,
                testid="imports",
                row_testid="import-row",
            ),
            columns=drift.COLUMNS,
            statuses=drift.status_labels(),
            rules=drift.general_rules(),
        )
        return context


class StatusImportUploadView(StatusImportHomeView):
    """POST only: store the file as a queued import, start it after commit, go to the import page."""

    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = StatusUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        upload = form.cleaned_data["file"]
        with transaction.atomic():
            job = PatentStatusImport(original_name=(upload.name or "status")[-200:], created_by=signed_in(request))
            job.file.save(f"upload.{form.file_type}", upload, save=False)
            job.save()
            audit.audit_event(action=AuditAction.CREATE, obj=job, actor=request.user, message="patent status upload")
            # enqueued only once the row is committed, so a worker always finds it
            transaction.on_commit(lambda: run_status_import.delay(job.pk))
        return HttpResponseRedirect(reverse("review:patent_status_detail", args=[job.pk]))


class StatusTemplateView(ScopedViewMixin, View):
    """The template in XLSX (with an instruction sheet) or CSV (UTF-8 with BOM)."""

    roles = REVIEW_ROLES
    model = PatentStatusImport

    def get(self, request: HttpRequest, ext: str) -> HttpResponse:
        fmt = ext
        if fmt == "xlsx":
            content, content_type = drift.build_template_xlsx(), XLSX
        elif fmt == "csv":
            content, content_type = drift.build_template_csv(), "text/csv; charset=utf-8"
        else:
            raise Http404
        response = HttpResponse(content, content_type=content_type)
        name = f"{_('专利法律状态导入模板')}.{fmt}"
        response["Content-Disposition"] = (
            f"attachment; filename=\"patent-status.{fmt}\"; filename*=UTF-8''{quote(name)}"
        )
        return response


def status_history_columns() -> list[HistoryColumn]:
    """The imports' history, on the page and in its export."""
    return history_columns(
        counts=[
            (_("状态变化的专利"), lambda job: job.changed_count),
            (_("状态未变的专利"), lambda job: job.unchanged_count),
            (_("平台上没有的专利"), lambda job: job.unknown_count),
            (_("被标记的备案"), lambda job: job.flagged_count),
        ]
    )


URLS = JobUrls(
    home="review:patent_status",
    detail="review:patent_status_detail",
    progress="review:patent_status_progress",
    errors="review:patent_status_errors",
)


class StatusImportDetailView(JobDetailView):
    """One import: a progress bar polled by htmx while it runs, then its counts or its errors."""

    roles = REVIEW_ROLES
    model = PatentStatusImport
    urls = URLS
    title = gettext_lazy("专利法律状态导入")
    template_name = "filings/drift/import.html"
    progress_template = "filings/drift/_progress.html"


class StatusImportProgressView(StatusImportDetailView):
    """The import's status panel alone, fetched every second by htmx while it runs."""

    panel = True


class StatusImportErrorsView(JobErrorsView):
    """The error report of a failed import as an Excel file: row, column, message."""

    roles = REVIEW_ROLES
    model = PatentStatusImport
    urls = URLS
    report_suffix = ".xlsx"
    audit_key = "import"
    audit_message = "patent status error report"


class StatusImportsExportView(JobHistoryExportView):
    """The history of imports as an Excel file (the same scoped queryset as the page)."""

    roles = REVIEW_ROLES
    model = PatentStatusImport
    urls = URLS
    filename = gettext_lazy("专利法律状态导入记录")
    audit_message = "patent status import history export"

    def columns(self) -> list[HistoryColumn]:
        return status_history_columns()


# ---------------------------------------------------------------------------------------------
# Flags


FLAG_STATES = {
    "open": gettext_lazy("待处理"),
    "resolved": gettext_lazy("已处理"),
    "all": gettext_lazy("全部"),
}


class FlagFilterForm(forms.Form):
    state = forms.ChoiceField(label=gettext_lazy("处理状态"), choices=list(FLAG_STATES.items()), required=False)
    province = forms.ChoiceField(label=gettext_lazy("省份"), required=False)
    legal_status = forms.ChoiceField(label=gettext_lazy("专利法律状态"), required=False)
    q = forms.CharField(
        label=gettext_lazy("搜索"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("申请号、产品名称、单位名称或产品备案号"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["province"]).choices = [("", _("全部省份")), *province_choices()]
        cast(forms.ChoiceField, self.fields["legal_status"]).choices = [
            ("", _("全部")),
            *[(s, LegalStatus(s).label) for s in LegalStatus.values if s in ENDED_STATUSES],
        ]

    def values(self) -> dict[str, Any]:
        if not self.is_bound:
            return {}
        self.is_valid()
        return self.cleaned_data


def filter_flags(qs: QuerySet[FilingFlag], form: FlagFilterForm) -> tuple[QuerySet[FilingFlag], str]:
    values = form.values()
    state = values.get("state") or "open"
    if state == "open":
        qs = qs.filter(resolved_at__isnull=True)
    elif state == "resolved":
        qs = qs.filter(resolved_at__isnull=False)
    if province := values.get("province"):
        qs = qs.filter(version__product__province_code=province)
    if legal_status := values.get("legal_status"):
        qs = qs.filter(legal_status=legal_status)
    if text := (values.get("q") or "").strip():
        q = (
            Q(version__name__icontains=text)
            | Q(version__product__unit__name__icontains=text)
            | Q(version__product__filing_number__icontains=text.upper())
            | Q(patent__number__icontains=text.upper().replace("ZL", "").replace("CN", "").strip())
        )
        qs = qs.filter(q)
    return qs, state


def _flag_rows(qs: QuerySet[FilingFlag]) -> QuerySet[FilingFlag]:
    return qs.select_related("version__product__unit", "patent", "change", "resolved_by").order_by("-raised_at", "-id")


class FlagListView(ScopedListView):
    """Filings that rely on a patent that lapsed, expired or was invalidated: open ones first."""

    roles = REVIEW_ROLES
    model = FilingFlag
    template_name = "filings/drift/flags.html"
    context_object_name = "flags"
    paginate_by = 50

    def get_queryset(self) -> QuerySet[FilingFlag]:
        self.filter_form = FlagFilterForm(self.request.GET or None)
        qs, self.state = filter_flags(self.scoped_queryset(), self.filter_form)
        return _flag_rows(qs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        provinces = dict(province_choices())
        for flag in context["flags"]:
            flag.province_name = provinces.get(flag.version.product.province_code, flag.version.product.province_code)
        context.update(
            filter_form=self.filter_form,
            state=self.state,
            state_label=FLAG_STATES[self.state],
            states=[(key, label) for key, label in FLAG_STATES.items()],
            open_count=self.scoped_queryset().open().count(),
            query=query.urlencode(),
        )
        return context


class FlagExportView(ScopedViewMixin, View):
    """The filtered flags as an Excel file (same scoped queryset and filters as the page)."""

    roles = REVIEW_ROLES
    model = FilingFlag

    def get(self, request: HttpRequest) -> HttpResponse:
        qs, _state = filter_flags(self.scoped_queryset(), FlagFilterForm(request.GET or None))
        provinces = dict(province_choices())

        def rows() -> Iterator[list[Any]]:
            for flag in _flag_rows(qs).iterator(chunk_size=2000):
                version, product = flag.version, flag.version.product
                yield [
                    flag.patent.number,
                    flag.patent.title,
                    flag.get_legal_status_display(),
                    flag.change.effective_date if flag.change and flag.change.effective_date else "",
                    version.name,
                    version.data_year,
                    product.filing_number or "",
                    product.unit.name,
                    product.unit.uscc,
                    provinces.get(product.province_code, product.province_code),
                    flag.raised_at,
                    flag.notified_at or "",
                    flag.resolved_at or "",
                    flag.resolution,
                ]

        return xlsx_response(
            filename=f"{_('备案专利状态提示')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("专利状态提示"),
            headers=[
                _("申请号"),
                _("专利名称"),
                _("专利法律状态"),
                _("生效日期"),
                _("产品名称"),
                _("数据年度"),
                _("产品备案号"),
                _("备案单位"),
                _("统一社会信用代码"),
                _("省份"),
                _("标记时间"),
                _("通知时间"),
                _("处理时间"),
                _("处理说明"),
            ],
            rows=rows(),
            object_type=FilingFlag._meta.label,
            changes={"filters": {k: v for k, v in request.GET.items() if v}},
            message="filing flags export",
            actor=request.user,
        )


class FlagResolveView(ScopedTemplateView):
    """Resolve one open flag: a page that shows it and asks for the note (required), then confirms."""

    roles = REVIEW_ROLES
    model = FilingFlag
    template_name = "filings/drift/resolve.html"

    def get_flag(self) -> FilingFlag:
        return get_object_or_404(_flag_rows(self.scoped_queryset()), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("flag", self.get_flag())
        context.setdefault("note", "")
        context.setdefault("errors", [])
        return context

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        flag = self.get_flag()
        note = request.POST.get("note", "")
        try:
            flags.flag_resolve(flag_id=flag.pk, user=signed_in(request), note=note)
        except flags.ResolveError as exc:
            return self.render_to_response(
                self.get_context_data(flag=self.get_flag(), note=note, errors=[str(exc)]), status=400
            )
        messages.success(request, _("已处理该提示。"))
        return HttpResponseRedirect(reverse("review:flags"))
