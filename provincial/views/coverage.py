"""Roster coverage (namespace `rosters`): the coverage figures, the enterprises on the rosters without an approved
filing, following them up (reminders and invitations with a confirm step, their history: provincial/followup.py)
and completeness by month, each with its Excel export through the same selectors (`provincial.rosters`).

The not-filed list shows the roster contacts and the registered enterprises' contacts in full: chasing those
enterprises is what the list is for. Who may see these pages: `RosterAdminMixin` (provincial/views/rosters.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from patent_platform.exports import xlsx_response
from patent_platform.i18n import localized_name
from patent_platform.params import YEAR_MAX, int_or_none
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedTemplateView
from provincial import followup
from provincial import rosters as svc
from provincial.choices import FollowUpKind, RosterCategory
from provincial.models import FollowUp, RosterEntry
from provincial.views.rosters import MISSING_PER_PAGE, RosterAdminMixin

if TYPE_CHECKING:
    from patent_platform.models import User


class CoverageView(RosterAdminMixin, ScopedTemplateView):
    model = RosterEntry
    template_name = "provincial/rosters/coverage.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        f = self.filters()
        figures = svc.coverage(signed_in(self.request), year=f["year"], category=f["category"])
        context.update(
            figures,
            years=svc.roster_years(signed_in(self.request)),
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
        figures = svc.coverage(signed_in(request), year=f["year"], category=f["category"])

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


def describe_with_follow_ups(user: User, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
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
        rows = svc.missing_entries(signed_in(self.request), **f)
        page = Paginator(rows, MISSING_PER_PAGE).get_page(self.request.GET.get("page"))
        query = self.query(**f)
        context.update(
            f,
            page_obj=page,
            rows=describe_with_follow_ups(signed_in(self.request), list(page.object_list)),
            max_selection=followup.MAX_SELECTION,
            total=page.paginator.count,
            years=svc.roster_years(signed_in(self.request)),
            category_choices=RosterCategory.choices,
            rosters=svc.visible_rosters(signed_in(self.request), year=f["year"], category=f["category"]),
            query=query,
            page_prefix=f"?{query}&page=" if query else "?page=",
        )
        return context


class MissingExportView(RosterAdminMixin, View):
    model = RosterEntry

    def get(self, request: HttpRequest) -> HttpResponse:
        f = self.filters()
        entries = svc.missing_entries(signed_in(request), **f)

        def rows() -> Any:
            chunk = 1000
            for start in range(0, entries.count(), chunk):
                for row in describe_with_follow_ups(signed_in(request), list(entries[start : start + chunk])):
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
                targets = followup.follow_up_plan(user=signed_in(request), usccs=usccs, kind=kind)
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
            targets = followup.follow_up_send(user=signed_in(request), usccs=usccs, kind=kind)
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
    # annotations of followup.follow_up_rows: the unit's registration and its first approval, if any
    unit_created = getattr(row, "unit_created")  # noqa: B009
    first_approved = getattr(row, "first_approved")  # noqa: B009
    registered = unit_created if unit_created and unit_created >= row.sent_at else None
    approved = first_approved if first_approved and first_approved >= row.sent_at else None
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
        page = Paginator(followup.follow_up_rows(signed_in(self.request)), MISSING_PER_PAGE).get_page(
            self.request.GET.get("page")
        )
        rows = []
        # the enterprise's unit page, for a unit registered in the user's area (none for one outside it)
        unit_ids = svc.units_in_scope(signed_in(self.request), [row.uscc for row in page.object_list])
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
        rows = followup.follow_up_rows(signed_in(request))
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
            followup.completeness(signed_in(self.request), year=f["year"], by=by),
            years=svc.roster_years(signed_in(self.request)),
            query=self.query(year=f["year"], by=by),
            year_query=self.query(year=f["year"]),
        )
        return context


class CompletenessExportView(RosterAdminMixin, View):
    model = RosterEntry

    def get(self, request: HttpRequest) -> HttpResponse:
        f = self.filters()
        by = _completeness_by(request)
        figures = followup.completeness(signed_in(request), year=f["year"], by=by)

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
