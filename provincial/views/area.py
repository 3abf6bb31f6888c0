"""The area and the period of the dashboards, the lists behind their figures and the pages built on them
(worklists, analysis): `AreaMixin` (`?port=`, `?period=`), the period chooser, region and industry labels."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filings.industries import industry_name
from patent_platform import clock
from patent_platform.choices import Role
from patent_platform.i18n import english
from patent_platform.models import Region
from patent_platform.roles import require_role
from patent_platform.views.base import ScopedViewMixin
from provincial import dashboards, periods

DASHBOARD_ROLES = frozenset({Role.PORT_ADMIN, Role.NATIONAL_ADMIN})


class PeriodForm(forms.Form):
    """The period chooser of the dashboards and the lists behind them (`?period=`; provincial/periods.py);
    `as_of` is read from old links only (a month, `periods.from_query`)."""

    period = forms.CharField(
        label=gettext_lazy("统计期间"),
        required=False,
        max_length=40,
        help_text=gettext_lazy(
            "例如 2025-11（月）、2025Q4（季度）、2025（年）、2025-01..2025-06（月份区间）或 current（当前）"
        ),
    )
    as_of = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns
        try:
            data["chosen"] = periods.from_query({"period": data.get("period", ""), "as_of": data.get("as_of", "")})
        except periods.PeriodError as error:
            self.add_error("period", forms.ValidationError(str(error), code="period"))
        return data

    @property
    def text(self) -> str:
        """What the text box shows: the chosen period's key, else what was typed."""
        if self.is_valid():
            return self.cleaned_data["chosen"].key
        return str(self.data.get("period") or self.data.get("as_of") or "")


class AreaMixin(ScopedViewMixin):
    """The area (`?port=`) and the period (`?period=`, or an old link's `?as_of=YYYY-MM`) of a dashboard page,
    a list behind it or an export; both are kept in every link the page makes. A period that cannot be chosen
    answers 400 with the chooser and its message (after the role and port checks: those answer 404 first)."""

    roles = DASHBOARD_ROLES
    bad_period_template = "provincial/dashboard/bad_period.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if request.user.is_authenticated:
            require_role(request.user, *self.roles, error=Http404)
            form = self.get_period_form()
            if not form.is_valid():
                self.get_area()  # a port outside the scope: 404 before anything else
                return TemplateResponse(
                    request,
                    self.bad_period_template,
                    {"area": self.get_area(), **self.period_context()},
                    status=400,
                )
        return super().dispatch(request, *args, **kwargs)

    def get_area(self) -> dashboards.Area:
        if not hasattr(self, "_area"):
            self._area = dashboards.area_for(self.request.user, self.request.GET.get("port", "").strip())
        return self._area

    def get_period_form(self) -> PeriodForm:
        if not hasattr(self, "_period_form"):
            query = self.request.GET
            self._period_form = PeriodForm({"period": query.get("period", ""), "as_of": query.get("as_of", "")})
        return self._period_form

    def get_period(self) -> periods.Period:
        form = self.get_period_form()
        return form.cleaned_data["chosen"] if form.is_valid() else periods.parse("")

    def period_params(self) -> dict[str, str]:
        """`period` for links: always named, so a page opened before midnight at a month's end and clicked
        after it still shows the same period."""
        return {"period": self.get_period().key}

    def link(self, name: str, params: dict[str, str]) -> str:
        """A URL of this app with the area's `port` and the period kept (a dashboard makes ~100: the reversed
        paths are kept per view)."""
        port = self.get_area().port_code
        query = {**params, **({"port": port} if port else {}), **self.period_params()}
        paths = self.__dict__.setdefault("_paths", {})
        url = paths.get(name) or paths.setdefault(name, reverse(name))
        return f"{url}?{urlencode(query)}" if query else url

    def period_context(self) -> dict[str, Any]:
        """The chooser: the form, the other parameters it keeps, quick choices (links keeping everything else)."""
        query = self.request.GET.copy()
        for name in ("period", "as_of", "page"):
            query.pop(name, None)
        keep = [(name, value) for name in query for value in query.getlist(name)]
        today = clock.china_today()
        quick = [
            (_("上月"), periods.latest_complete_month(today)),
            (_("上一季度"), periods.latest_complete_quarter(today)),
            (_("上一年度"), periods.latest_complete_year(today)),
            (_("当前（实时）"), periods.current()),
        ]
        base = self.request.path
        choices = []
        for label, period in quick:
            query["period"] = period.key
            choices.append({"label": label, "key": period.key, "url": f"{base}?{query.urlencode()}"})
        form = self.get_period_form()
        return {
            "period_form": form,
            "period_keep": keep,
            "period_choices": choices,
            "period": self.get_period() if form.is_valid() else None,
        }

    def object_link(self, name: str, pk: int) -> str:
        """The read-only page of one object (`provincial.views.worklists`), the area's `port` kept."""
        port = self.get_area().port_code
        url = reverse(name, args=[pk])
        return f"{url}?{urlencode({'port': port})}" if port else url


def region_names(codes: Iterable[str]) -> dict[str, str]:
    wanted = {c for c in codes if c and c != dashboards.BLANK}
    return dict(Region.objects.filter(code__in=wanted).names()) if wanted else {}


def region_label(obj: Any, names: dict[str, str]) -> str:
    parts = [names.get(c, c) for c in (obj.province_code, obj.city_code, obj.county_code) if c]
    return ", ".join(reversed(parts)) if english() else " ".join(parts)


def industry_label(code: str) -> str:
    return f"{code} {industry_name(code)}" if code else ""
