"""Pages of the plausibility checks and the credit lists (docs/FLAGS.md).

- the thresholds (national administrators): the current version, a form that saves a new one, the history;
- the flag-rate report and its Excel export (reviewers, national administrators, port administrators; read
  through the scoping rule: a port sees its region only, the national office everything);
- the credit-list import (national administrators): upload, templates, the jobs' pages, the history; and the
  list entries with their history (national administrators and reviewers).

Views are thin: `filings.checks` and `filings.credit_lists` hold the rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from filings import checks, credit_lists
from filings.choices import CreditListKind
from filings.models import CheckSettings, CreditListEntry, CreditListImport, PlausibilityCheck
from filings.tasks import run_credit_list_import
from filings.views.drift import StatusUploadForm
from patent_platform import audit
from patent_platform.choices import AuditAction, Role
from patent_platform.concurrency import Conflict
from patent_platform.exports import xlsx_response
from patent_platform.jobs.views import (
    HistoryColumn,
    JobDetailView,
    JobErrorsView,
    JobHistoryExportView,
    JobUrls,
    history_columns,
)
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedListView, ScopedTemplateView, ScopedViewMixin

NATIONAL = frozenset({Role.NATIONAL_ADMIN})
LIST_READERS = frozenset({Role.NATIONAL_ADMIN, Role.REVIEWER})
REPORT_ROLES = frozenset({Role.NATIONAL_ADMIN, Role.REVIEWER, Role.PORT_ADMIN})
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORTS_SHOWN = 50


# ---------------------------------------------------------------------------------------------------------------
# Thresholds


def _bounded(db_field: Any, **kwargs: Any) -> Any:
    """The form field of a model field, with the model's MinValue/MaxValue validators as its bounds (checked
    by the form and shown in the input, before the model's own validation)."""
    for validator in db_field.validators:
        if isinstance(validator, MinValueValidator):
            kwargs.setdefault("min_value", validator.limit_value)
        elif isinstance(validator, MaxValueValidator):
            kwargs.setdefault("max_value", validator.limit_value)
    return db_field.formfield(**kwargs)


class CheckSettingsForm(forms.ModelForm):
    class Meta:
        model = CheckSettings
        fields: ClassVar[list[Any]] = [*checks.SETTINGS_FIELDS, "note"]
        formfield_callback = _bounded


class CheckSettingsView(ScopedTemplateView):
    """The thresholds in force, the form for a new version, and every earlier version."""

    roles = NATIONAL
    model = CheckSettings
    template_name = "filings/checks/settings.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        current = checks.current_settings()
        initial = {name: getattr(current, name) for name in checks.SETTINGS_FIELDS}
        context.setdefault("form", CheckSettingsForm(initial=initial))
        context.update(
            current=current,
            history=self.scoped_queryset().select_related("created_by")[:50],
            fields=checks.SETTINGS_FIELDS,
        )
        return context

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CheckSettingsForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        before = checks.current_settings().version
        try:
            saved = checks.check_settings_save(user=signed_in(request), data=form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
            status = 409 if isinstance(exc, Conflict) else 400
            return self.render_to_response(self.get_context_data(form=form), status=status)
        if saved.version == before:
            messages.info(request, _("阈值没有变化，未生成新版本。"))
        else:
            messages.success(request, _("已保存为第 %(v)s 版，此后提交的备案按新阈值检查。") % {"v": saved.version})
        return HttpResponseRedirect(reverse("checks:settings"))


# ---------------------------------------------------------------------------------------------------------------
# The flag-rate report


class ReportFilterForm(forms.Form):
    data_year = forms.IntegerField(label=gettext_lazy("数据年度"), required=False, min_value=2000, max_value=2100)

    def year(self) -> int | None:
        return self.cleaned_data.get("data_year") if self.is_valid() else None


class FlagReportView(ScopedTemplateView):
    roles = REPORT_ROLES
    model = PlausibilityCheck
    template_name = "filings/checks/report.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        form = ReportFilterForm(self.request.GET or None)
        year = form.year()
        context.update(form=form, report=checks.flag_rates(signed_in(self.request), data_year=year), data_year=year)
        return context


class FlagReportExportView(ScopedViewMixin, View):
    """The report as one Excel sheet: a row per reviewer, class and province, then per rule."""

    roles = REPORT_ROLES
    model = PlausibilityCheck

    def get(self, request: HttpRequest) -> HttpResponse:
        form = ReportFilterForm(request.GET or None)
        year = form.year()
        report = checks.flag_rates(signed_in(request), data_year=year)

        def rows() -> Iterator[list[Any]]:
            for row in report["by_reviewer"]:
                name = row["version__decided_by__full_name"] or row["version__decided_by__email"]
                yield [_("审核员"), name, row["total"], row["flagged"], row["rate"]]
            for row in report["by_class"]:
                label = f"{row['version__product_class__code']} {row['version__product_class__name']}"
                yield [_("产品分类"), label, row["total"], row["flagged"], row["rate"]]
            for row in report["by_province"]:
                yield [_("省份"), row["name"], row["total"], row["flagged"], row["rate"]]
            for _code, label, n in report["per_rule"]:
                yield [_("规则"), str(label), "", n, ""]
            yield [_("合计"), "", report["total"], report["flagged"], report["rate"]]

        return xlsx_response(
            filename=f"{_('数据合理性提示率')}-{year or _('全部年度')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("提示率"),
            headers=[_("维度"), _("名称"), _("检查的备案"), _("有提示的备案"), _("提示率（%）")],
            rows=rows(),
            object_type=PlausibilityCheck._meta.label,
            changes={"data_year": year},
            message="plausibility flag report export",
            actor=request.user,
        )


# ---------------------------------------------------------------------------------------------------------------
# Credit-list import


class CreditListUploadForm(StatusUploadForm):
    kind = forms.ChoiceField(label=gettext_lazy("名单"), choices=CreditListKind.choices)
    file = forms.FileField(
        label=gettext_lazy("名单文件"),
        help_text=gettext_lazy("Excel（.xlsx）或 CSV（UTF-8 或 GB18030 编码）；该名单的全部当前内容。"),
    )
    field_order = ("kind", "file")


class CreditListHomeView(ScopedTemplateView):
    roles = NATIONAL
    model = CreditListImport
    template_name = "filings/checks/credit_home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        imports = self.scoped_queryset().select_related("created_by")
        listed = CreditListEntry.objects.visible_to(self.request.user).filter(removed_at__isnull=True)
        context.setdefault("form", CreditListUploadForm())
        context.update(
            imports=imports[:IMPORTS_SHOWN],
            import_count=imports.count(),
            imports_shown=IMPORTS_SHOWN,
            columns=credit_lists.COLUMNS,
            rules=credit_lists.general_rules(),
            counts=[(kind, label, listed.filter(kind=kind).count()) for kind, label in CreditListKind.choices],
        )
        return context


class CreditListUploadView(CreditListHomeView):
    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CreditListUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        upload = form.cleaned_data["file"]
        with transaction.atomic():
            job = CreditListImport(
                kind=form.cleaned_data["kind"],
                original_name=(upload.name or "credit-list")[-200:],
                created_by=signed_in(request),
            )
            job.file.save(f"upload.{form.file_type}", upload, save=False)
            job.save()
            audit.audit_event(action=AuditAction.CREATE, obj=job, actor=request.user, message="credit list upload")
            transaction.on_commit(lambda: run_credit_list_import.delay(job.pk))
        return HttpResponseRedirect(reverse("checks:credit_detail", args=[job.pk]))


class CreditListTemplateView(ScopedViewMixin, View):
    roles = NATIONAL
    model = CreditListImport

    def get(self, request: HttpRequest, ext: str) -> HttpResponse:
        if ext == "xlsx":
            content, content_type = credit_lists.build_template_xlsx(), XLSX
        elif ext == "csv":
            content, content_type = credit_lists.build_template_csv(), "text/csv; charset=utf-8"
        else:
            raise Http404
        response = HttpResponse(content, content_type=content_type)
        name = f"{_('信用名单导入模板')}.{ext}"
        response["Content-Disposition"] = f"attachment; filename=\"credit-list.{ext}\"; filename*=UTF-8''{quote(name)}"
        return response


URLS = JobUrls(
    home="checks:credit_home",
    detail="checks:credit_detail",
    progress="checks:credit_progress",
    errors="checks:credit_errors",
)


class CreditListImportDetailView(JobDetailView):
    roles = NATIONAL
    model = CreditListImport
    urls = URLS
    title = gettext_lazy("信用名单导入")
    template_name = "filings/checks/credit_import.html"
    progress_template = "filings/checks/_credit_progress.html"


class CreditListImportProgressView(CreditListImportDetailView):
    panel = True


class CreditListImportErrorsView(JobErrorsView):
    roles = NATIONAL
    model = CreditListImport
    urls = URLS
    report_suffix = ".xlsx"
    audit_key = "import"
    audit_message = "credit list error report"


class CreditListImportsExportView(JobHistoryExportView):
    roles = NATIONAL
    model = CreditListImport
    urls = URLS
    filename = gettext_lazy("信用名单导入记录")
    audit_message = "credit list import history export"

    def columns(self) -> list[HistoryColumn]:
        return history_columns(
            kinds=[(_("名单"), lambda job: job.get_kind_display())],
            counts=[
                (_("新列入"), lambda job: job.listed_count),
                (_("仍在名单"), lambda job: job.kept_count),
                (_("移出名单"), lambda job: job.removed_count),
                (_("平台上的单位"), lambda job: job.on_platform_count),
            ],
        )


# ---------------------------------------------------------------------------------------------------------------
# The entries and their history


class EntryFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("名单"), required=False, choices=[("", gettext_lazy("全部名单")), *CreditListKind.choices]
    )
    state = forms.ChoiceField(
        label=gettext_lazy("状态"),
        required=False,
        choices=[
            ("open", gettext_lazy("在名单中")),
            ("removed", gettext_lazy("已移出")),
            ("all", gettext_lazy("全部")),
        ],
    )
    q = forms.CharField(label=gettext_lazy("搜索"), required=False, max_length=100)

    def apply(self, qs: QuerySet[CreditListEntry]) -> QuerySet[CreditListEntry]:
        data = self.cleaned_data if self.is_valid() else {}
        if kind := data.get("kind"):
            qs = qs.filter(kind=kind)
        state = data.get("state") or "open"
        if state == "open":
            qs = qs.filter(removed_at__isnull=True)
        elif state == "removed":
            qs = qs.filter(removed_at__isnull=False)
        if text := (data.get("q") or "").strip():
            qs = qs.filter(Q(uscc=text.upper()) | Q(name__icontains=text))
        return qs


def _entries(view: ScopedViewMixin, request: HttpRequest) -> tuple[EntryFilterForm, QuerySet[CreditListEntry]]:
    form = EntryFilterForm(request.GET or None)
    qs = form.apply(view.scoped_queryset(CreditListEntry)).select_related("listed_by", "removed_by")
    return form, qs


class CreditListEntriesView(ScopedListView):
    roles = LIST_READERS
    model = CreditListEntry
    template_name = "filings/checks/credit_entries.html"
    context_object_name = "entries"

    def get_queryset(self) -> QuerySet[CreditListEntry]:
        self.filter_form, qs = _entries(self, self.request)
        return qs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(filter_form=self.filter_form, query=query.urlencode())
        return context


class CreditListEntriesExportView(ScopedViewMixin, View):
    roles = LIST_READERS
    model = CreditListEntry

    def get(self, request: HttpRequest) -> HttpResponse:
        _form, qs = _entries(self, request)

        def rows() -> Iterator[list[Any]]:
            for e in qs.iterator(chunk_size=2000):
                yield [
                    e.get_kind_display(),
                    e.uscc,
                    e.name,
                    e.decided_on,
                    e.reason,
                    e.authority,
                    e.listed_at,
                    e.listed_by.original_name,
                    e.removed_at,
                    e.removed_by.original_name if e.removed_by else "",
                ]

        return xlsx_response(
            filename=f"{_('信用名单记录')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("信用名单记录"),
            headers=[
                _("名单"),
                _("统一社会信用代码"),
                _("单位名称"),
                _("列入日期"),
                _("列入原因"),
                _("作出决定机关"),
                _("平台记录列入时间"),
                _("列入的导入文件"),
                _("平台记录移出时间"),
                _("移出的导入文件"),
            ],
            rows=rows(),
            object_type=CreditListEntry._meta.label,
            changes={"filters": {k: v for k, v in request.GET.items() if v}},
            message="credit list entries export",
            actor=request.user,
        )
