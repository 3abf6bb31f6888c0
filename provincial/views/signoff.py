"""Months signed off (issue 20): the port's month page (review the figures, sign off or note a problem) and
the national office's page (every port's state, remind, reopen with a reason, release the national
publication). Every rule is in `provincial.publications.signoff`; the views read the request, call it and
show its answer (a field error with the input kept: 400; another action came first: 409).

- `/port/months/<YYYY-MM>/`: the own port's month (a province may look at a city port's with `?port=`,
  read-only; national administrators too); POST `…/sign/` and `…/problem/` (own port only: 404 elsewhere).
- `/national/months/?period=YYYY-MM`: every open port, the counts, remind (confirmed), release (confirmed,
  saying how many ports have not signed), the Excel list; `/national/months/<YYYY-MM>/<code>/reopen/`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patent_platform import clock
from patent_platform.choices import Role
from patent_platform.concurrency import Conflict
from patent_platform.exports import xlsx_response
from patent_platform.i18n import localized_name
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedTemplateView
from provincial.choices import SignoffState
from provincial.models import ManagementUnit, MonthSignoff, Publication
from provincial.publications import signoff
from provincial.views.publications import MonthField

PORT_ROLES = frozenset({Role.PORT_ADMIN, Role.NATIONAL_ADMIN})
PORTS = frozenset({Role.PORT_ADMIN})
NATIONAL = frozenset({Role.NATIONAL_ADMIN})


def month_from_path(value: str) -> dt.date:
    """The month of a URL: a month that has ended, from 2022 on; anything else is no page (404)."""
    period = clock.parse_month(value)
    if period is None:
        raise Http404
    try:
        return signoff.check_month(period)
    except ValidationError as exc:
        raise Http404 from exc


def errors_of(exc: Exception) -> tuple[dict[str, list[str]], list[str]]:
    """A service's refusal as (field errors, page errors)."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        fields = exc.message_dict
        return {k: v for k, v in fields.items() if k != "__all__"}, fields.get("__all__", [])
    if isinstance(exc, ValidationError):
        return {}, exc.messages
    return {}, [str(exc) or _("没有权限执行该操作。")]


def status_of(exc: Exception) -> int:
    return 409 if isinstance(exc, Conflict) else 403 if isinstance(exc, PermissionDenied) else 400


# ---------------------------------------------------------------------------------------------
# The port


class PortMonthView(ScopedTemplateView):
    """One port's month: the publication's edition and key figures, what changed since the edition before,
    the state, and (own port only) the sign-off and problem forms."""

    roles = PORT_ROLES
    model = MonthSignoff
    template_name = "provincial/publications/month.html"

    def unit(self, code: str) -> ManagementUnit:
        user = self.request.user
        if code:
            unit = ManagementUnit.objects.visible_to(user).filter(code=code).first()
            if unit is None:
                raise Http404
            return unit
        membership = getattr(user, "port_membership", None)
        if membership is None:
            raise Http404
        return membership.unit

    def get(self, request: HttpRequest, month: str) -> HttpResponse:
        period = month_from_path(month)
        if signed_in(request).role == Role.NATIONAL_ADMIN and not request.GET.get("port"):
            return HttpResponseRedirect(reverse("national:months") + "?" + urlencode({"period": f"{period:%Y-%m}"}))
        unit = self.unit(request.GET.get("port", "").strip())
        return self.render_to_response(self.month_context(unit, period))

    def month_context(
        self, unit: ManagementUnit, period: dt.date, *, action: str = "", note: str = "", exc: Exception | None = None
    ) -> dict[str, Any]:
        user = signed_in(self.request)
        rows = self.scoped_queryset().filter(unit=unit, period=period).select_related("decided_by", "reopened_by")
        row = rows.first()
        publications = Publication.objects.visible_to(user).filter(scope_key=unit.code, kind="monthly", period=period)
        publication = publications.first()
        membership = getattr(user, "port_membership", None)
        own = user.role == Role.PORT_ADMIN and membership is not None and membership.unit_id == unit.pk
        state = row.state if row else SignoffState.OPEN
        ready = publication is not None and publication.status == "ready"
        figures = publication.figures if publication is not None and ready else {}
        field_errors, page_errors = errors_of(exc) if exc is not None else ({}, [])
        context = self.get_context_data()
        context.update(
            unit=unit,
            unit_name=localized_name(unit),
            period=period,
            month=f"{period:%Y-%m}",
            row=row,
            state=state,
            publication=publication,
            ready=ready,
            totals=figures.get("totals") or {},
            new_count=(figures.get("new") or {}).get("count"),
            changes=figures.get("changes") or [],
            previous_edition=figures.get("previous_edition"),
            own=own,
            can_answer=own and ready and state != SignoffState.SIGNED,
            action=action,
            note=note,
            field_errors=field_errors,
            page_errors=page_errors,
        )
        return context


class _PortAnswerView(PortMonthView):
    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)
    roles = PORTS
    action = ""

    def post(self, request: HttpRequest, month: str) -> HttpResponse:
        period = month_from_path(month)
        unit = self.unit(request.POST.get("port", "").strip())
        note = request.POST.get("note", "")
        try:
            self.answer(unit, period, request.POST.get("edition"), note)
        except (ValidationError, PermissionDenied) as exc:
            context = self.month_context(unit, period, action=self.action, note=note, exc=exc)
            return self.render_to_response(context, status=status_of(exc))
        return HttpResponseRedirect(reverse("port:month", args=[f"{period:%Y-%m}"]))

    def answer(self, unit: ManagementUnit, period: dt.date, edition: Any, note: str) -> None:
        raise NotImplementedError


class PortSignView(_PortAnswerView):
    action = "sign"

    def answer(self, unit: ManagementUnit, period: dt.date, edition: Any, note: str) -> None:
        row = signoff.signoff_sign(user=signed_in(self.request), unit=unit, period=period, edition=edition, note=note)
        messages.success(
            self.request,
            _("已确认 %(month)s 的数据（第 %(n)s 版）。") % {"month": f"{period:%Y-%m}", "n": row.edition},
        )


class PortProblemView(_PortAnswerView):
    action = "problem"

    def answer(self, unit: ManagementUnit, period: dt.date, edition: Any, note: str) -> None:
        signoff.signoff_note_problem(user=signed_in(self.request), unit=unit, period=period, edition=edition, note=note)
        messages.success(self.request, _("已向国家局反馈该月数据的问题。"))


# ---------------------------------------------------------------------------------------------
# The national office


class NationalMonthsView(ScopedTemplateView):
    roles = NATIONAL
    model = MonthSignoff
    template_name = "provincial/publications/national_months.html"

    def period(self, raw: str) -> tuple[dt.date, list[str]]:
        if not raw.strip():
            return clock.previous_month(), []
        try:
            return MonthField().clean(raw), []
        except ValidationError as exc:
            return clock.previous_month(), exc.messages

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        raw = request.GET.get("period", "")
        period, errors = self.period(raw)
        context = self.page_context(period, raw=raw, period_errors=errors)
        return self.render_to_response(context, status=400 if errors else 200)

    def page_context(
        self, period: dt.date, *, raw: str = "", period_errors: list[str] | None = None, errors: list[str] | None = None
    ) -> dict[str, Any]:
        data = signoff.overview(period)
        national = data["national"]
        context = self.get_context_data()
        context.update(
            month=f"{period:%Y-%m}",
            raw=raw,
            period_errors=period_errors or [],
            errors=errors or [],
            today=clock.china_today(),
            national_ready=national is not None and national.status == "ready",
            export_url=reverse("national:months_export") + "?" + urlencode({"period": f"{period:%Y-%m}"}),
            **data,
        )
        return context


class _NationalMonthActionView(NationalMonthsView):
    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def post(self, request: HttpRequest) -> HttpResponse:
        raw = request.POST.get("period", "")
        try:
            period = MonthField(required=True).clean(raw)
        except ValidationError as exc:
            context = self.page_context(clock.previous_month(), raw=raw, period_errors=exc.messages)
            return self.render_to_response(context, status=400)
        try:
            self.act(period)
        except (ValidationError, PermissionDenied) as exc:
            field_errors, page_errors = errors_of(exc)
            shown = page_errors + [m for ms in field_errors.values() for m in ms]
            return self.render_to_response(self.page_context(period, errors=shown), status=status_of(exc))
        return HttpResponseRedirect(reverse("national:months") + "?" + urlencode({"period": f"{period:%Y-%m}"}))

    def act(self, period: dt.date) -> None:
        raise NotImplementedError


class RemindView(_NationalMonthActionView):
    """GET: the confirmation page listing the ports to remind; POST: remind them."""

    http_method_names = ["get", "post"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        raw = request.GET.get("period", "")
        period, errors = self.period(raw)
        if errors:
            return self.render_to_response(self.page_context(period, raw=raw, period_errors=errors), status=400)
        self.template_name = "provincial/publications/remind_confirm.html"
        return self.render_to_response(self.page_context(period))

    def act(self, period: dt.date) -> None:
        rows = signoff.signoff_remind(user=signed_in(self.request), period=period)
        messages.success(
            self.request,
            _("已提醒 %(n)s 个尚未确认的端口：%(names)s。")
            % {"n": len(rows), "names": "、".join(localized_name(r.unit) for r in rows)},
        )


class ReleaseView(_NationalMonthActionView):
    def act(self, period: dt.date) -> None:
        publication = signoff.publication_release(
            user=signed_in(self.request), period=period, edition=self.request.POST.get("edition")
        )
        messages.success(
            self.request,
            _("已发布全国 %(month)s 的数据（%(label)s），各端口可查看和下载。")
            % {"month": f"{period:%Y-%m}", "label": publication.edition_label},
        )


class ReopenView(ScopedTemplateView):
    """Reopen one port's signed month: the reason (required), and whether to rebuild the publication now."""

    roles = NATIONAL
    model = MonthSignoff
    template_name = "provincial/publications/reopen.html"

    def target(self, month: str, code: str) -> tuple[ManagementUnit, dt.date, MonthSignoff | None]:
        period = month_from_path(month)
        unit = ManagementUnit.objects.visible_to(self.request.user).filter(code=code).first()
        if unit is None:
            raise Http404
        return unit, period, self.scoped_queryset().filter(unit=unit, period=period).first()

    def context(self, unit: ManagementUnit, period: dt.date, row: MonthSignoff | None, **extra: Any) -> dict[str, Any]:
        context = self.get_context_data()
        context.update(
            unit=unit,
            unit_name=localized_name(unit),
            month=f"{period:%Y-%m}",
            row=row,
            signed=row is not None and row.state == SignoffState.SIGNED,
            reason="",
            rebuild=True,
            field_errors={},
            page_errors=[],
        )
        context.update(extra)
        return context

    def get(self, request: HttpRequest, month: str, code: str) -> HttpResponse:
        unit, period, row = self.target(month, code)
        return self.render_to_response(self.context(unit, period, row))

    def post(self, request: HttpRequest, month: str, code: str) -> HttpResponse:
        unit, period, row = self.target(month, code)
        reason = request.POST.get("reason", "")
        rebuild = request.POST.get("rebuild") == "1"
        try:
            signoff.signoff_reopen(user=signed_in(request), unit=unit, period=period, reason=reason, rebuild=rebuild)
        except (ValidationError, PermissionDenied) as exc:
            field_errors, page_errors = errors_of(exc)
            row = self.scoped_queryset().filter(unit=unit, period=period).first()
            context = self.context(
                unit, period, row, reason=reason, rebuild=rebuild, field_errors=field_errors, page_errors=page_errors
            )
            return self.render_to_response(context, status=status_of(exc))
        text = _("已重新打开%(unit)s %(month)s的数据，并通知该端口。") % {"unit": unit.name, "month": f"{period:%Y-%m}"}
        if rebuild:
            text += _("该端口的数据发布正在重新生成，新版将列出与上一版相比的变化。")
        messages.success(request, text)
        return HttpResponseRedirect(reverse("national:months") + "?" + urlencode({"period": f"{period:%Y-%m}"}))


EXPORT_HEADERS = (
    gettext_lazy("管理端口"),
    gettext_lazy("端口代码"),
    gettext_lazy("月份"),
    gettext_lazy("数据发布"),
    gettext_lazy("版次"),
    gettext_lazy("确认状态"),
    gettext_lazy("确认的版次"),
    gettext_lazy("确认人"),
    gettext_lazy("确认时间"),
    gettext_lazy("说明"),
    gettext_lazy("最近提醒日期"),
    gettext_lazy("重新打开次数"),
    gettext_lazy("重新打开的理由"),
)


class NationalMonthsExportView(NationalMonthsView):
    """The national page's table as Excel (the same rows)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        period, errors = self.period(request.GET.get("period", ""))
        if errors:
            return HttpResponse(errors[0], status=400, content_type="text/plain; charset=utf-8")
        data = signoff.overview(period)
        labels = dict(SignoffState.choices)

        def rows() -> Iterator[list[Any]]:
            for r in data["rows"]:
                s, p = r.signoff, r.publication
                yield [
                    localized_name(r.unit),
                    r.unit.code,
                    f"{period:%Y-%m}",
                    str(p.get_status_display()) if p else _("未生成"),
                    p.edition if p else "",
                    str(labels[r.state]),
                    (s.edition or "") if s else "",
                    (s.decided_by.email if s.decided_by else "") if s else "",
                    s.decided_at if s else None,
                    s.note if s else "",
                    s.reminded_on if s else None,
                    s.reopen_count if s else 0,
                    s.reopen_reason if s else "",
                ]

        return xlsx_response(
            filename=f"{_('月度数据确认')}-{period:%Y-%m}.xlsx",
            title=_("月度数据确认"),
            headers=EXPORT_HEADERS,
            rows=rows(),
            object_type=MonthSignoff._meta.label,
            changes={"period": f"{period:%Y-%m}"},
            message="month sign-off export",
            actor=request.user,
        )
