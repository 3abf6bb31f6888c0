"""Target rosters (namespace `rosters`, under /rosters/): upload, list, delete, coverage, the not-filed list, and
following it up (reminders and invitations with a confirm step, their history, completeness by month:
provincial/followup.py).

National and port administrators only; every other role answers 404, like data out of scope. Every
figure and list goes through `provincial.rosters` (itself on `visible_to`), and every table exports to
Excel through the same selectors. The not-filed list shows the roster contacts and the registered enterprises'
contacts in full: chasing those enterprises is what the list is for.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from patent_platform.clock import china_today
from patent_platform.exports import xlsx_response
from patent_platform.i18n import localized_name
from patent_platform.jobs.views import (
    HistoryColumn,
    JobDetailView,
    JobErrorsView,
    JobHistoryExportView,
    JobUrls,
    history_columns,
    job_history,
)
from patent_platform.params import ID_MAX, YEAR_MAX, int_or_none
from patent_platform.uploads import CONTENT_TYPES, validate_upload
from patent_platform.views.base import ScopedListView, ScopedTemplateView, ScopedViewMixin
from provincial import followup
from provincial import rosters as svc
from provincial.choices import FollowUpKind, RosterCategory
from provincial.models import FollowUp, Roster, RosterEntry, RosterUpload

MISSING_PER_PAGE = 50


class RosterForm(forms.Form):
    category = forms.ChoiceField(label=gettext_lazy("名单类别"), choices=RosterCategory.choices)
    year = forms.IntegerField(label=gettext_lazy("年度"), min_value=1, max_value=YEAR_MAX)
    title = forms.CharField(label=gettext_lazy("名单名称"), max_length=200)
    file = forms.FileField(
        label=gettext_lazy("Excel 文件"),
        help_text=gettext_lazy(
            "第一个工作表，第一行为列名：统一社会信用代码、企业名称，可选联系人、联系电话、电子邮箱；.xlsx 格式。"
        ),
    )
    # the confirm step of a duplicate: the roster offered for the merge, and the uploader's tick
    merge_into = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1, max_value=ID_MAX)
    merge = forms.BooleanField(label=gettext_lazy("确认合并到已有名单"), required=False)

    def clean_year(self) -> int:
        year = self.cleaned_data["year"]
        svc.validate_year(year)
        return year

    def clean_title(self) -> str:
        title = self.cleaned_data["title"].strip()
        if not title:
            raise ValidationError(_("请填写名单名称。"))
        return title

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        validate_upload(upload, allowed=("xlsx",))
        return upload


class RosterAdminMixin(ScopedViewMixin):
    roles = svc.ROSTER_ADMINS

    def filters(self) -> dict[str, Any]:
        """year, category and roster from the query string; a roster out of scope answers 404."""
        params = self.request.GET
        year = int_or_none(params.get("year"), maximum=YEAR_MAX)
        category = params.get("category") or None
        if category not in RosterCategory.values:
            category = None
        roster = None
        roster_id = int_or_none(params.get("roster"))
        if params.get("roster"):
            roster = get_object_or_404(self.scoped_queryset(Roster), pk=roster_id or 0)
            category = roster.category
        return {"year": year, "category": category, "roster": roster}

    @staticmethod
    def query(**params: Any) -> str:
        clean = {k: (v.pk if isinstance(v, Roster) else v) for k, v in params.items() if v not in (None, "")}
        return urlencode(clean)


# ---------------------------------------------------------------------------------------------------------------
# Rosters: list, export, upload, template, delete


class RosterListView(RosterAdminMixin, ScopedListView):
    model = Roster
    template_name = "provincial/rosters/list.html"
    context_object_name = "rosters"

    def get_queryset(self) -> Any:
        return svc.rosters_with_counts(self.request.user)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        for roster in context["rosters"]:
            roster.coverage = svc.percent(roster.scope_covered, roster.scope_count)
            roster.deletable = svc.can_delete(self.request.user, roster)
        context["port"] = svc.port_of(self.request.user)
        return context


class RosterListExportView(RosterAdminMixin, View):
    model = Roster

    def get(self, request: HttpRequest) -> HttpResponse:
        rosters = svc.rosters_with_counts(request.user)
        return xlsx_response(
            filename=f"{_('重点企业名单')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("重点企业名单"),
            headers=[
                _("名单名称"),
                _("名单类别"),
                _("年度"),
                _("上传端口"),
                _("本辖区企业数"),
                _("已备案企业数"),
                _("覆盖率（%）"),
                _("上传时间"),
            ],
            rows=(
                [
                    r.title,
                    r.get_category_display(),
                    r.year,
                    r.owner.name if r.owner else _("全国（国家局）"),
                    r.scope_count,
                    r.scope_covered,
                    svc.percent(r.scope_covered, r.scope_count),
                    r.uploaded_at,
                ]
                for r in rosters
            ),
            object_type=Roster._meta.label,
            message="roster list export",
            actor=request.user,
        )


class RosterUploadView(RosterAdminMixin, ScopedTemplateView):
    model = Roster
    template_name = "provincial/rosters/upload.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault(
            "form",
            RosterForm(initial={"year": china_today().year, "category": RosterCategory.NATIONAL_ADVANTAGE}),
        )
        context["port"] = svc.port_of(self.request.user)
        context["history"] = job_history(
            self.scoped_queryset(RosterUpload).select_related("created_by"),
            upload_history_columns(),
            UPLOAD_URLS,
            export="rosters:upload_export",
            empty=_("还没有上传过名单。"),
            testid="uploads",
            row_testid="upload-row",
        )
        return context

    def post(self, request: HttpRequest) -> HttpResponse:
        form = RosterForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        data = form.cleaned_data
        try:
            job = svc.roster_upload_create(
                user=request.user,
                category=data["category"],
                year=data["year"],
                title=data["title"],
                file=data["file"],
                merge_into=data["merge_into"] if data["merge"] else None,
            )
        except svc.DuplicateRoster as exc:
            form.add_error(None, exc)
            form.data = form.data.copy()
            form.data["merge_into"] = str(exc.roster.pk)
            return self.render_to_response(self.get_context_data(form=form, duplicate=exc.roster), status=400)
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.render_to_response(self.get_context_data(form=form), status=400)
        return HttpResponseRedirect(reverse("rosters:upload_detail", args=[job.pk]))


# ---------------------------------------------------------------------------------------------------------------
# Upload jobs: the pages of patent_platform.jobs (progress, result or errors, error report, history export)

UPLOAD_URLS = JobUrls(
    home="rosters:upload",
    detail="rosters:upload_detail",
    progress="rosters:upload_progress",
    errors="rosters:upload_errors",
)


def upload_history_columns() -> list[HistoryColumn]:
    """The uploads' history, on the upload page and in its export."""
    return history_columns(
        kinds=[
            (_("名单名称"), lambda job: job.title),
            (_("名单类别"), lambda job: job.get_category_display()),
            (_("年度"), lambda job: job.year),
        ],
        counts=[(_("企业数"), lambda job: job.entry_count)],
        uploader_on_page=True,
    )


class RosterUploadDetailView(RosterAdminMixin, JobDetailView):
    """One upload: a progress bar polled by htmx while it is checked, then the roster or the errors."""

    model = RosterUpload
    urls = UPLOAD_URLS
    title = gettext_lazy("上传名单")
    template_name = "provincial/rosters/upload_job.html"
    progress_template = "provincial/rosters/_upload_progress.html"


class RosterUploadProgressView(RosterUploadDetailView):
    panel = True


class RosterUploadErrorsView(RosterAdminMixin, JobErrorsView):
    model = RosterUpload
    urls = UPLOAD_URLS
    report_suffix = ".xlsx"
    audit_key = "upload"
    audit_message = "roster upload error report"


class RosterUploadsExportView(RosterAdminMixin, JobHistoryExportView):
    model = RosterUpload
    urls = UPLOAD_URLS
    filename = gettext_lazy("名单上传记录")
    audit_message = "roster upload history export"

    def columns(self) -> list[HistoryColumn]:
        return upload_history_columns()


class RosterTemplateView(RosterAdminMixin, View):
    model = Roster

    def get(self, request: HttpRequest) -> HttpResponse:
        response = HttpResponse(svc.build_template(), content_type=CONTENT_TYPES["xlsx"])
        response["Content-Disposition"] = content_disposition_header(True, f"{_('重点企业名单模板')}.xlsx")
        return response


class RosterDeleteView(RosterAdminMixin, View):
    """GET: a confirmation page; POST: delete. A roster out of scope answers 404; a roster the user sees
    but may not delete (a port and a national roster, or another port's roster) answers 403."""

    model = Roster

    def get_roster(self, pk: int) -> Roster:
        roster = get_object_or_404(self.scoped_queryset().select_related("owner"), pk=pk)
        if not svc.can_delete(self.request.user, roster):
            raise PermissionDenied(_("只能删除本端口上传的名单；全国名单由国家局维护。"))
        return roster

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        roster = self.get_roster(pk)
        return render(request, "provincial/rosters/delete.html", {"roster": roster})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        roster = self.get_roster(pk)
        title = roster.title
        svc.delete_roster(roster=roster, user=request.user)
        messages.success(request, _("名单“%(title)s”已删除。") % {"title": title})
        return HttpResponseRedirect(reverse("rosters:list"))


# ---------------------------------------------------------------------------------------------------------------
# Coverage


class CoverageView(RosterAdminMixin, ScopedTemplateView):
    model = RosterEntry
    template_name = "provincial/rosters/coverage.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        f = self.filters()
        figures = svc.coverage(self.request.user, year=f["year"], category=f["category"])
        context.update(
            figures,
            years=svc.roster_years(self.request.user),
            category_choices=RosterCategory.choices,
            category_label=RosterCategory(f["category"]).label if f["category"] else "",
            query=self.query(year=f["year"], category=f["category"]),
            year_query=self.query(year=f["year"]),
        )
        return context


class CoverageExportView(RosterAdminMixin, View):
    """The coverage page's tables in one sheet: by category, the total, by port, by month."""

    model = RosterEntry

    def get(self, request: HttpRequest) -> HttpResponse:
        f = self.filters()
        figures = svc.coverage(request.user, year=f["year"], category=f["category"])

        def rows() -> Any:
            for row in [*figures["categories"], figures["total"]]:
                yield [_("名单类别"), row.label, row.entries, row.covered, row.missing, row.percent]
            for row in figures["ports"]:
                yield [_("管理端口"), row.label, row.entries, row.covered, row.missing, row.percent]
            for point in figures["trend"]:
                entries, covered = point["entries"], point["covered"]
                yield [_("月份"), point["month"], entries, covered, entries - covered, point["percent"]]

        return xlsx_response(
            filename=f"{_('重点企业备案覆盖情况')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("备案覆盖情况"),
            headers=[_("维度"), _("名称"), _("名单企业数"), _("已备案"), _("未备案"), _("覆盖率（%）")],
            rows=rows(),
            object_type=RosterEntry._meta.label,
            changes={"year": f["year"], "category": f["category"]},
            message="roster coverage export",
            actor=request.user,
        )


# ---------------------------------------------------------------------------------------------------------------
# Enterprises on the rosters without an approved filing


def _missing_headers() -> list[str]:
    return [
        _("统一社会信用代码"),
        _("企业名称"),
        _("所属地区"),
        _("备案状态"),
        _("平台注册单位名称"),
        _("联系人"),
        _("联系电话"),
        _("电子邮箱"),
        _("名单联系人"),
        _("名单联系电话"),
        _("名单电子邮箱"),
        _("最近提醒时间"),
        _("最近提醒方式"),
        _("提醒后注册时间"),
    ]


def _missing_row(row: dict[str, Any]) -> list[Any]:
    followed = row.get("follow_up") or {}
    return [
        row["uscc"],
        row["name"],
        row["region"],
        row["state_label"],
        row["unit_name"],
        row["contact_name"],
        row["contact_phone"],
        row["contact_email"],
        row["roster_contact_name"],
        row["roster_contact_phone"],
        row["roster_contact_email"],
        followed.get("last_at"),
        followed.get("last_kind"),
        followed.get("registered_at"),
    ]


def describe_with_follow_ups(user: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    described = svc.describe_missing(user, rows)
    status = followup.status_of(user, [row["uscc"] for row in described])
    for row in described:
        row["follow_up"] = status.get(row["uscc"])
    return described


class MissingView(RosterAdminMixin, ScopedTemplateView):
    model = RosterEntry
    template_name = "provincial/rosters/missing.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        f = self.filters()
        rows = svc.missing_entries(self.request.user, **f)
        page = Paginator(rows, MISSING_PER_PAGE).get_page(self.request.GET.get("page"))
        query = self.query(**f)
        context.update(
            f,
            page_obj=page,
            rows=describe_with_follow_ups(self.request.user, list(page.object_list)),
            max_selection=followup.MAX_SELECTION,
            total=page.paginator.count,
            years=svc.roster_years(self.request.user),
            category_choices=RosterCategory.choices,
            rosters=svc.visible_rosters(self.request.user, year=f["year"], category=f["category"]),
            query=query,
            page_prefix=f"?{query}&page=" if query else "?page=",
        )
        return context


class MissingExportView(RosterAdminMixin, View):
    model = RosterEntry

    def get(self, request: HttpRequest) -> HttpResponse:
        f = self.filters()
        entries = svc.missing_entries(request.user, **f)

        def rows() -> Any:
            chunk = 1000
            for start in range(0, entries.count(), chunk):
                for row in describe_with_follow_ups(request.user, list(entries[start : start + chunk])):
                    yield _missing_row(row)

        return xlsx_response(
            filename=f"{_('名单内未备案企业')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("未备案企业"),
            headers=_missing_headers(),
            rows=rows(),
            object_type=RosterEntry._meta.label,
            changes={
                "year": f["year"],
                "category": f["category"],
                "roster": f["roster"].pk if f["roster"] else None,
                # unmasked contacts: the list is for following the enterprises up (patent_platform/masking.py)
                "personal_data": True,
            },
            message="roster not-filed export (contacts for follow-up)",
            actor=request.user,
        )


# ---------------------------------------------------------------------------------------------------------------
# Following up: remind or invite a selection (with a confirm step), the history, completeness over time


class FollowUpView(RosterAdminMixin, View):
    """POST from the not-filed list: the selected USCCs and the kind. Without `confirm`: the confirm page (what
    will be sent to whom, masked, and what is skipped and why); with it: send, then back to the list."""

    model = RosterEntry

    def back_fields(self) -> dict[str, Any]:
        """The list's filters and page, from the form, checked: where to go back to."""
        post = self.request.POST
        category = post.get("category")
        return {
            k: v
            for k, v in {
                "year": int_or_none(post.get("year"), maximum=YEAR_MAX),
                "category": category if category in RosterCategory.values else None,
                "roster": int_or_none(post.get("roster")),
                "page": int_or_none(post.get("page")),
            }.items()
            if v is not None
        }

    def post(self, request: HttpRequest) -> HttpResponse:
        usccs = request.POST.getlist("uscc")
        kind = request.POST.get("kind", "")
        back_fields = self.back_fields()
        back = reverse("rosters:missing") + (f"?{q}" if (q := self.query(**back_fields)) else "")
        try:
            if request.POST.get("confirm") != "1":
                targets = followup.plan(request.user, usccs=usccs, kind=kind)
                return render(
                    request,
                    "provincial/rosters/follow_up_confirm.html",
                    {
                        "targets": targets,
                        "kind": kind,
                        "kind_label": FollowUpKind(kind).label,
                        "sendable": [t for t in targets if t.sendable],
                        "skipped": [t for t in targets if not t.sendable],
                        "back": back,
                        "back_fields": back_fields,
                    },
                )
            targets = followup.send(request.user, usccs=usccs, kind=kind)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return HttpResponseRedirect(back)
        sent = [t for t in targets if getattr(t, "follow_up", None)]
        skipped = len(targets) - len(sent)
        messages.success(
            request,
            _("已发送%(kind)s：%(sent)s 家企业；跳过 %(skipped)s 家。")
            % {
                "kind": FollowUpKind(kind).label,
                "sent": len(sent),
                "skipped": skipped,
            },
        )
        return HttpResponseRedirect(back)


def _follow_up_headers() -> list[str]:
    return [
        _("发送时间"),
        _("类型"),
        _("统一社会信用代码"),
        _("企业名称"),
        _("发送端口"),
        _("发送人"),
        _("收件地址（已脱敏）"),
        _("此后注册时间"),
        _("此后首次备案通过时间"),
    ]


def _follow_up_row(row: FollowUp) -> list[Any]:
    registered = row.unit_created if row.unit_created and row.unit_created >= row.sent_at else None
    approved = row.first_approved if row.first_approved and row.first_approved >= row.sent_at else None
    return [
        row.sent_at,
        row.get_kind_display(),
        row.uscc,
        row.name,
        localized_name(row.port) if row.port else _("国家知识产权局"),
        row.sent_by.email if row.sent_by else "",
        row.recipients_masked,
        registered,
        approved,
    ]


class FollowUpListView(RosterAdminMixin, ScopedTemplateView):
    """Who was reminded or invited when, by whom, and who registered or filed since."""

    model = FollowUp
    template_name = "provincial/rosters/follow_ups.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        page = Paginator(followup.follow_up_rows(self.request.user), MISSING_PER_PAGE).get_page(
            self.request.GET.get("page")
        )
        rows = []
        # the enterprise's unit page, for a unit registered in the user's area (none for one outside it)
        unit_ids = svc.units_in_scope(self.request.user, [row.uscc for row in page.object_list])
        for row in page.object_list:
            values = _follow_up_row(row)
            rows.append(
                {
                    "obj": row,
                    "registered_at": values[7],
                    "approved_at": values[8],
                    "unit_id": unit_ids.get(row.uscc),
                }
            )
        context.update(page_obj=page, rows=rows, total=page.paginator.count, page_prefix="?page=")
        return context


class FollowUpExportView(RosterAdminMixin, View):
    model = FollowUp

    def get(self, request: HttpRequest) -> HttpResponse:
        rows = followup.follow_up_rows(request.user)
        return xlsx_response(
            filename=f"{_('督促备案记录')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("督促备案记录"),
            headers=_follow_up_headers(),
            rows=(_follow_up_row(row) for row in rows.iterator(chunk_size=1000)),
            object_type=FollowUp._meta.label,
            message="follow-up history export",
            actor=request.user,
        )


def _completeness_by(request: HttpRequest) -> str:
    return "port" if request.GET.get("by") == "port" else "category"


class CompletenessView(RosterAdminMixin, ScopedTemplateView):
    """The share of the rosters filed, month by month (last 12 months), per category or per port."""

    model = RosterEntry
    template_name = "provincial/rosters/completeness.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        f = self.filters()
        by = _completeness_by(self.request)
        context.update(
            followup.completeness(self.request.user, year=f["year"], by=by),
            years=svc.roster_years(self.request.user),
            query=self.query(year=f["year"], by=by),
            year_query=self.query(year=f["year"]),
        )
        return context


class CompletenessExportView(RosterAdminMixin, View):
    model = RosterEntry

    def get(self, request: HttpRequest) -> HttpResponse:
        f = self.filters()
        by = _completeness_by(request)
        figures = followup.completeness(request.user, year=f["year"], by=by)

        def rows() -> Any:
            for row in figures["rows"]:
                for cell in row["cells"]:
                    yield [row["label"], cell["month"], row["entries"], cell["filed"], cell["percent"]]

        return xlsx_response(
            filename=f"{_('名单备案完成情况')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("备案完成情况"),
            headers=[
                _("管理端口") if by == "port" else _("名单类别"),
                _("月份"),
                _("名单企业数"),
                _("月末已备案"),
                _("完成率（%）"),
            ],
            rows=rows(),
            object_type=RosterEntry._meta.label,
            changes={"year": f["year"], "by": by},
            message="roster completeness export",
            actor=request.user,
        )
