"""Target rosters (namespace `rosters`, under /rosters/): upload, list, delete; coverage, the not-filed list and
following it up are provincial/views/coverage.py.

National and port administrators only; every other role answers 404, like data out of scope. Every
figure and list goes through `provincial.rosters` (itself on `visible_to`), and every table exports to
Excel through the same selectors. The not-filed list shows the roster contacts and the registered enterprises'
contacts in full: chasing those enterprises is what the list is for.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from patent_platform.clock import china_today
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
from patent_platform.params import ID_MAX, YEAR_MAX, int_or_none
from patent_platform.roles import signed_in
from patent_platform.uploads import CONTENT_TYPES, validate_upload
from patent_platform.views.base import ScopedListView, ScopedTemplateView, ScopedViewMixin
from provincial import rosters as svc
from provincial.choices import RosterCategory
from provincial.models import Roster, RosterUpload

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
        return svc.rosters_with_counts(signed_in(self.request))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        for roster in context["rosters"]:
            roster.coverage = svc.percent(roster.scope_covered, roster.scope_count)
            roster.deletable = svc.can_delete(signed_in(self.request), roster)
        context["port"] = svc.port_of(signed_in(self.request))
        return context


class RosterListExportView(RosterAdminMixin, View):
    model = Roster

    def get(self, request: HttpRequest) -> HttpResponse:
        rosters = svc.rosters_with_counts(signed_in(request))
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
        context["port"] = svc.port_of(signed_in(self.request))
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
                user=signed_in(request),
                category=data["category"],
                year=data["year"],
                title=data["title"],
                file=data["file"],
                merge_into=data["merge_into"] if data["merge"] else None,
            )
        except svc.DuplicateRoster as exc:
            form.add_error(None, exc)
            data = cast(QueryDict, form.data).copy()  # a bound form's data: the request's POST
            data["merge_into"] = str(exc.roster.pk)
            form.data = data
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
        if not svc.can_delete(signed_in(self.request), roster):
            raise PermissionDenied(_("只能删除本端口上传的名单；全国名单由国家局维护。"))
        return roster

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        roster = self.get_roster(pk)
        return render(request, "provincial/rosters/delete.html", {"roster": roster})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        roster = self.get_roster(pk)
        title = roster.title
        svc.roster_delete(roster=roster, user=signed_in(request))
        messages.success(request, _("名单“%(title)s”已删除。") % {"title": title})
        return HttpResponseRedirect(reverse("rosters:list"))
