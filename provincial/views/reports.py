"""Progress reports from localities (工作报送): the port's pages and the national office's.

- `/port/reports/`: a port administrator's reports (a province sees its city ports' too, marked as
  such), filtered by category and year, with an Excel list; `/port/reports/new/` the form (category,
  title, body, up to 5 attachments checked by content); `/port/reports/<pk>/` one report with the
  national office's comments and the typical-case mark. National administrators are sent to their pages.
- `/port/reports/attachments/<pk>/`: an attachment, for everyone who sees its report; audited.
- `/national/reports/`: every report, filtered by port, category, year, typical and unread, with the
  unread count and an Excel list; `/national/reports/<pk>/` opens (and marks read) one report, with the
  comment form and the typical-case mark (confirmed on its own page); `/national/reports/typical/` the
  typical cases.

Every list, detail, export and download reads through `ProgressReport.objects.visible_to` (out of
scope: 404); other roles get 404 as on the other port pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from filings.forms import apply_service_errors
from patent_platform import audit
from patent_platform.choices import AuditAction, Role
from patent_platform.clock import china_today
from patent_platform.exports import xlsx_response
from patent_platform.forms import style_widgets
from patent_platform.i18n import localized_name
from patent_platform.roles import signed_in
from patent_platform.typenames import StrOrPromise
from patent_platform.uploads import CONTENT_TYPES
from patent_platform.views.base import ScopedListView, ScopedTemplateView, ScopedViewMixin
from provincial import reports as service
from provincial.choices import ReportCategory
from provincial.models import ManagementUnit, ProgressReport, ProgressReportAttachment

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from patent_platform.scoping import Reader

PORT = frozenset({Role.PORT_ADMIN})
NATIONAL = frozenset({Role.NATIONAL_ADMIN})
BOTH = PORT | NATIONAL
FIRST_YEAR = 2022
ReportsT = TypeVar("ReportsT", bound=QuerySet[ProgressReport])  # the reports, annotated or not


# ---------------------------------------------------------------------------------------------
# Forms


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class ReportForm(forms.Form):
    category = forms.ChoiceField(
        label=gettext_lazy("类别"),
        choices=[("", gettext_lazy("请选择")), *ReportCategory.choices],
        error_messages={"required": gettext_lazy("请选择报送类别。")},
    )
    title = forms.CharField(
        label=gettext_lazy("标题"), max_length=200, error_messages={"required": gettext_lazy("请填写标题。")}
    )
    body = forms.CharField(
        label=gettext_lazy("正文"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 10}),
        error_messages={"required": gettext_lazy("请填写正文。")},
    )
    attachments = MultipleFileField(
        label=gettext_lazy("附件"),
        required=False,
        error_messages={"empty": gettext_lazy("文件为空。")},
        help_text=gettext_lazy(
            "最多 5 个 PDF、JPG 或 PNG 文件，每个不超过 10 MB；按文件内容判断类型，含脚本的 PDF 不予接受"
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_widgets(self)

    def clean_attachments(self) -> list[Any]:
        files = self.cleaned_data.get("attachments") or []
        if len(files) > service.MAX_ATTACHMENTS:
            raise ValidationError(_("最多上传 %(n)s 个附件。") % {"n": service.MAX_ATTACHMENTS})
        errors: list[str] = []
        for file in files:
            try:
                service.check_attachment(file)
            except ValidationError as exc:
                errors.extend(f"{file.name}：{m}" for m in exc.messages)
        if errors:
            raise ValidationError(errors)
        return files


def year_choices() -> list[tuple[str, StrOrPromise]]:
    return [("", gettext_lazy("全部年度"))] + [(str(y), str(y)) for y in range(china_today().year, FIRST_YEAR - 1, -1)]


class FilterForm(forms.Form):
    category = forms.ChoiceField(
        label=gettext_lazy("类别"), required=False, choices=[("", gettext_lazy("全部类别")), *ReportCategory.choices]
    )
    year = forms.ChoiceField(label=gettext_lazy("年度"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["year"]).choices = year_choices()
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select form-select-sm"
            field.widget.attrs["data-autosubmit-select"] = ""

    def apply(self, qs: ReportsT) -> ReportsT:
        if not self.is_valid():
            return qs
        data = self.cleaned_data
        if data.get("category"):
            qs = qs.filter(category=data["category"])
        if data.get("year"):
            qs = qs.filter(submitted_at__year=int(data["year"]))
        if data.get("port"):
            qs = qs.filter(unit__code=data["port"])
        if data.get("typical"):
            qs = qs.filter(is_typical=True)
        if data.get("unread"):
            qs = qs.filter(read_at__isnull=True)
        return qs


class NationalFilterForm(FilterForm):
    port = forms.ChoiceField(label=gettext_lazy("报送端口"), required=False)
    typical = forms.BooleanField(label=gettext_lazy("只看典型案例"), required=False)
    unread = forms.BooleanField(label=gettext_lazy("只看未阅"), required=False)

    def __init__(self, *args: Any, user: Reader, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        with_reports = ProgressReport.objects.visible_to(user).values("unit_id")
        units = ManagementUnit.objects.visible_to(user).filter(pk__in=with_reports).order_by("code")
        cast(forms.ChoiceField, self.fields["port"]).choices = [
            ("", gettext_lazy("全部端口")),
            *((u.code, localized_name(u)) for u in units),
        ]
        for name in ("typical", "unread"):
            self.fields[name].widget.attrs = {"class": "form-check-input"}


class CommentForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("意见"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}),
        error_messages={"required": gettext_lazy("请填写意见。")},
    )


# ---------------------------------------------------------------------------------------------
# Shared


class ReportCounts(TypedDict):
    """The annotations of `ReportScopeMixin.reports`."""

    attachment_count: int
    comment_count: int


class ReportScopeMixin(ScopedViewMixin):
    model: Any = ProgressReport  # (Any: see ScopedViewMixin.model)
    roles = BOTH
    filter_class: type[FilterForm] = FilterForm
    _filter_form: FilterForm

    def filter_form(self) -> FilterForm:
        if not hasattr(self, "_filter_form"):
            data = self.request.GET or None
            if self.filter_class is NationalFilterForm:
                self._filter_form = NationalFilterForm(data, user=self.request.user)
            else:
                self._filter_form = self.filter_class(data)
        return self._filter_form

    def reports(self) -> QuerySet[WithAnnotations[ProgressReport, ReportCounts]]:
        qs = self.scoped_queryset().select_related("unit", "submitted_by")
        qs = qs.annotate(
            attachment_count=Count("attachments", distinct=True), comment_count=Count("comments", distinct=True)
        )
        return self.filter_form().apply(qs).order_by("-submitted_at", "-id")


EXPORT_HEADERS = (
    gettext_lazy("报送端口"),
    gettext_lazy("端口代码"),
    gettext_lazy("类别"),
    gettext_lazy("标题"),
    gettext_lazy("正文"),
    gettext_lazy("报送时间"),
    gettext_lazy("报送人"),
    gettext_lazy("附件数"),
    gettext_lazy("国家局阅知时间"),
    gettext_lazy("意见数"),
    gettext_lazy("典型案例"),
)


def export(
    request: HttpRequest, qs: QuerySet[WithAnnotations[ProgressReport, ReportCounts]], title: str
) -> HttpResponse:
    def rows() -> Iterator[list[Any]]:
        for r in qs.iterator(chunk_size=500):
            yield [
                localized_name(r.unit),
                r.unit.code,
                str(r.get_category_display()),
                r.title,
                r.body,
                r.submitted_at,
                r.submitted_by.get_full_name() if r.submitted_by else "",
                r.attachment_count,
                r.read_at,
                r.comment_count,
                _("是") if r.is_typical else _("否"),
            ]

    return xlsx_response(
        filename=f"{title}-{china_today().isoformat()}.xlsx",
        title=title,
        headers=EXPORT_HEADERS,
        rows=rows(),
        object_type=ProgressReport._meta.label,
        changes={"filters": {k: v for k, v in request.GET.items() if v}},
        message="progress reports export",
        actor=request.user,
    )


def detail_context(view: ScopedViewMixin, report: ProgressReport) -> dict[str, Any]:
    return {
        "report": report,
        "attachments": list(report.attachments.all()),
        "comments": list(report.comments.select_related("author")),
    }


# ---------------------------------------------------------------------------------------------
# The port's pages


class PortReportListView(ReportScopeMixin, ScopedListView):
    template_name = "provincial/reports/port_list.html"
    context_object_name = "reports"
    paginate_by = 50

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if signed_in(request).role == Role.NATIONAL_ADMIN:
            return HttpResponseRedirect(reverse("national:reports"))
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[ProgressReport]:
        return self.reports()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        unit = service.unit_of(signed_in(self.request))
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            own_unit=unit,
            filter_form=self.filter_form(),
            query=query.urlencode(),
            export_url=reverse("port:reports_export") + (f"?{query.urlencode()}" if query else ""),
            filtered=any(v for k, v in self.request.GET.items() if k != "page"),
            has_city_ports=ManagementUnit.objects.visible_to(self.request.user).count() > 1,
        )
        return context


class PortReportExportView(ReportScopeMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return export(request, self.reports(), _("工作报送"))


class ReportNewView(ScopedTemplateView):
    model = ProgressReport
    roles = PORT
    template_name = "provincial/reports/new.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ReportForm())
        context.update(unit=service.unit_of(signed_in(self.request)), max_attachments=service.MAX_ATTACHMENTS)
        return context

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ReportForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                report = service.report_submit(
                    user=signed_in(request),
                    category=data["category"],
                    title=data["title"],
                    body=data["body"],
                    files=data["attachments"],
                )
            except PermissionDenied as exc:
                raise Http404 from exc
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("已报送，国家局将收到邮件通知。"))
                return HttpResponseRedirect(reverse("port:report", args=[report.pk]))
        style_widgets(form)
        context = self.get_context_data(form=form, file_lost=bool(request.FILES))
        return self.render_to_response(context, status=400)


class PortReportDetailView(ScopedTemplateView):
    model = ProgressReport
    roles = BOTH
    template_name = "provincial/reports/port_detail.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        report = get_object_or_404(self.scoped_queryset().select_related("unit", "submitted_by"), pk=kwargs["pk"])
        if signed_in(request).role == Role.NATIONAL_ADMIN:
            return HttpResponseRedirect(reverse("national:report", args=[report.pk]))
        context = self.get_context_data(**detail_context(self, report))
        context["own_unit"] = service.unit_of(signed_in(request))
        return self.render_to_response(context)


class ReportAttachmentView(ScopedViewMixin, View):
    """One attachment of a report the user sees; every download is audited."""

    model = ProgressReportAttachment
    roles = BOTH

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        attachment = get_object_or_404(self.scoped_queryset().select_related("report"), pk=pk)
        try:
            handle = attachment.file.open("rb")
        except (FileNotFoundError, ValueError) as exc:
            raise Http404 from exc
        audit.audit_event(
            action=AuditAction.DOWNLOAD,
            obj=attachment.report,
            actor=request.user,
            changes={"attachment": attachment.pk, "name": attachment.original_name},
            message="progress report attachment",
        )
        response = FileResponse(handle, content_type=CONTENT_TYPES.get(attachment.kind, "application/octet-stream"))
        response["Content-Disposition"] = content_disposition_header(
            True, attachment.original_name or f"attachment-{attachment.pk}.{attachment.kind}"
        )
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response


# ---------------------------------------------------------------------------------------------
# The national office's pages


class NationalReportListView(ReportScopeMixin, ScopedListView):
    roles = NATIONAL
    filter_class = NationalFilterForm
    template_name = "provincial/reports/national_list.html"
    context_object_name = "reports"
    paginate_by = 50
    typical_only = False

    def get_queryset(self) -> QuerySet[ProgressReport]:
        qs = self.reports()
        return qs.filter(is_typical=True) if self.typical_only else qs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        base = reverse("national:reports_export")
        if self.typical_only:
            query["typical"] = "on"
        context.update(
            filter_form=self.filter_form(),
            query=query.urlencode(),
            export_url=base + (f"?{query.urlencode()}" if query else ""),
            unread=service.unread_count(signed_in(self.request)),
            typical_only=self.typical_only,
            filtered=any(v for k, v in self.request.GET.items() if k != "page"),
        )
        return context


class TypicalCasesView(NationalReportListView):
    typical_only = True


class NationalReportExportView(ReportScopeMixin, View):
    roles = NATIONAL
    filter_class = NationalFilterForm

    def get(self, request: HttpRequest) -> HttpResponse:
        return export(request, self.reports(), _("工作报送"))


class NationalReportDetailView(ScopedTemplateView):
    model = ProgressReport
    roles = NATIONAL
    template_name = "provincial/reports/national_detail.html"

    def get_report(self) -> ProgressReport:
        qs = self.scoped_queryset().select_related("unit", "submitted_by", "read_by", "typical_marked_by")
        return get_object_or_404(qs, pk=self.kwargs["pk"])

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        report = self.get_report()
        service.report_mark_read(report=report, user=signed_in(request))
        return self.render_to_response(self.get_context_data(**detail_context(self, report)))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("comment_form", CommentForm())
        return context


class ReportCommentView(NationalReportDetailView):
    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        report = self.get_report()
        form = CommentForm(request.POST)
        if form.is_valid():
            try:
                service.report_comment_add(report_id=report.pk, user=signed_in(request), body=form.cleaned_data["body"])
            except ValidationError as exc:
                form.add_error("body", exc.message_dict.get("body", exc.messages))
            else:
                messages.success(request, _("意见已发送，端口联系人将收到邮件通知。"))
                return HttpResponseRedirect(reverse("national:report", args=[report.pk]))
        form.fields["body"].widget.attrs["class"] = "form-control is-invalid"
        context = self.get_context_data(comment_form=form, **detail_context(self, report))
        return self.render_to_response(context, status=400)


class ReportTypicalView(ScopedTemplateView):
    """GET: the confirmation page; POST `typical=1` marks the report a typical case, `typical=0` removes it."""

    model = ProgressReport
    roles = NATIONAL
    template_name = "provincial/reports/typical_confirm.html"

    def get_report(self) -> ProgressReport:
        return get_object_or_404(self.scoped_queryset().select_related("unit"), pk=self.kwargs["pk"])

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        report = self.get_report()
        return self.render_to_response(self.get_context_data(report=report, mark=not report.is_typical))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        report = self.get_report()
        value = request.POST.get("typical", "")
        if value not in ("0", "1"):
            context = self.get_context_data(report=report, mark=not report.is_typical, invalid=True)
            return self.render_to_response(context, status=400)
        report = service.report_set_typical(report_id=report.pk, user=signed_in(request), typical=value == "1")
        if report.is_typical:
            messages.success(request, _("已标记为典型案例。"))
        else:
            messages.success(request, _("已取消典型案例标记。"))
        return HttpResponseRedirect(reverse("national:report", args=[report.pk]))
