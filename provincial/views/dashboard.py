"""The port and national dashboards and the lists behind every figure, with their Excel exports.

Every figure comes from `provincial.dashboards` (through the scoping rule); every figure links to a list that
applies the same filters to the same scoped queryset, so the list has exactly as many rows as the figure
says. Port administrators and national administrators only (others: 404). `?port=<code>` narrows any of
these pages to one management unit inside the user's scope (a province may look at its city ports; the
national office at any port); a port outside the scope answers 404.

Contacts of filing units are shown masked (138****5678, a***@example.cn) to port and national
administrators alike: these are statistics lists; who sees contacts in full where is set out in
patent_platform/masking.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django import forms
from django.core.cache import cache
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from filings.choices import UnitScale
from filings.industries import industries, industry_name
from filings.models import FilingUnit, Product, ProductClass, ProductVersion
from patent_platform import clock
from patent_platform.choices import Role
from patent_platform.exports import xlsx_response
from patent_platform.i18n import english
from patent_platform.masking import mask_email, mask_name, mask_phone
from patent_platform.models import Region
from patent_platform.ranking import rank_label
from patent_platform.replica import ReplicaReadsMixin
from patent_platform.roles import require_role
from patent_platform.views.base import ScopedListView, ScopedTemplateView, ScopedViewMixin
from provincial import comparison, dashboards, periods
from provincial.models import ManagementUnit

DASHBOARD_ROLES = frozenset({Role.PORT_ADMIN, Role.NATIONAL_ADMIN})
TILE_SHADES = ("bg-opacity-10", "bg-opacity-25", "bg-opacity-50", "bg-opacity-75", "bg-opacity-100")


# ---------------------------------------------------------------------------------------------
# Shared parts


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
        data = super().clean()
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


# ---------------------------------------------------------------------------------------------
# Dashboards


def _chart(rows: list[dict[str, Any]], url: Any) -> dict[str, Any]:
    return {"labels": [r["label"] for r in rows], "values": [r["count"] for r in rows], "urls": [url(r) for r in rows]}


BREAKDOWNS = ("by_region", "by_class", "by_section", "by_scale")


def _signed(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:+,.2f}" if value else "0.00"
    return f"{value:+,}" if value else "0"


def shown_change(change: dict[str, Any]) -> dict[str, Any]:
    """`change` with how a page shows it: "+2（+20.0%）", "+5（—）" with nothing to compare the percentage with,
    "—" with nothing to compare at all (formatted here: a template include per row costs the page ~30 ms)."""
    difference, percent = change["difference"], change["percent"]
    if difference is None:
        return {**change, "text": "—", "css": "text-body-secondary"}
    ratio = f"{percent:+.1f}%" if percent else ("0.0%" if percent is not None else "—")
    css = "text-success-emphasis" if difference > 0 else "text-danger-emphasis" if difference < 0 else ""
    return {**change, "text": f"{_signed(difference)}（{ratio}）", "css": css or "text-body-secondary"}


def _shown(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        row["change"] = shown_change(row["change"])
    return rows


def period_cards(figures: comparison.PeriodFigures) -> list[dict[str, Any]]:
    """The figure cards: each with the year before's value and the change (links added by the view)."""
    period = figures.period
    if period.is_current:
        new_label = _("本月新增通过（截至目前）")
    else:
        new_label = _("本期新增通过（%(period)s）") % {"period": period.label}
    labels = [
        ("units", _("备案单位"), False),
        ("filed", _("已提交备案产品"), False),
        ("approved", _("通过备案产品"), False),
        ("new", new_label, False),
        ("growth", _("近12个月新增通过"), False),
        ("sales", _("通过备案产品上年度销售额（万元）"), True),
        ("exports", _("通过备案产品年度出口额（万元）"), True),
        ("certified", _("认定产品"), False),
        ("flagged", _("关联专利失效待处理的备案产品"), False),
    ]
    now, then, changes = figures.totals, figures.before_totals, figures.changes()
    return [
        {
            "key": key,
            "label": label,
            "money": money,
            "value": now[key],
            "before": then[key],
            "change": shown_change(changes[key]),
        }
        for key, label, money in labels
    ]


class DashboardMixin(AreaMixin):
    template_name = "provincial/dashboard/home.html"
    model = Product

    def period_figures(self) -> comparison.PeriodFigures:
        if not hasattr(self, "_figures"):
            self._figures = comparison.figures(self.get_area(), self.get_period())
        return self._figures

    def dashboard_context(self) -> dict[str, Any]:
        area = self.get_area()
        figures = self.period_figures()
        period = figures.period
        data, before = figures.state, figures.before
        products_url = "port:products"
        for key in BREAKDOWNS:
            data[key] = _shown(
                comparison.compare_rows(data[key], before[key], key="key", value="count", add_missing=True)
            )
            for row in data[key]:
                row["url"] = self.link(products_url, row["filters"])
        data["trend"] = _shown(comparison.compare_trend(data["trend"], before["trend"]))
        for row in data["trend"]:
            row["url"] = self.link(
                products_url, dashboards.Filters(status=dashboards.APPROVED, month=row["month"]).params()
            )
        data["ranking"] = _shown(
            comparison.compare_rows(data["ranking"], before["ranking"], key="code", value="approved")
        )
        top = max((r["approved"] for r in data["ranking"]), default=0)
        for row in data["ranking"]:
            row["urls"] = {
                "approved": self.link(products_url, row["filters"]["approved"]),
                "filed": self.link(products_url, row["filters"]["filed"]),
                "units": self.link("port:units", row["filters"]["units"]),
            }
            row["shade"] = TILE_SHADES[0 if not top or not row["approved"] else min(4, 1 + 3 * row["approved"] // top)]
            row["dark"] = row["shade"] in TILE_SHADES[3:]
        approved = {"status": dashboards.APPROVED}
        months = [r["month"] for r in data["trend"]]
        first, last = (period.first, period.last) if not period.is_current else (period.first, period.first)
        urls = {
            "units": self.link("port:units", {}),
            "filed": self.link(products_url, {"status": dashboards.FILED}),
            "approved": self.link(products_url, approved),
            "new": self.link(
                products_url,
                dashboards.Filters(status=dashboards.APPROVED, since=f"{first:%Y-%m}", until=f"{last:%Y-%m}").params(),
            ),
            "growth": self.link(
                products_url, dashboards.Filters(status=dashboards.APPROVED, since=months[0], until=months[-1]).params()
            ),
            "sales": self.link(products_url, approved),
            "exports": self.link(products_url, approved),
        }
        cards = [{**card, "url": urls.get(card["key"], "")} for card in period_cards(figures)]
        chart_data = {
            "trend": {
                "labels": months,
                "values": [r["count"] for r in data["trend"]],
                "before": [r["before"] for r in data["trend"]],
                "urls": [r["url"] for r in data["trend"]],
            },
            "region": _chart(data["by_region"], lambda r: r["url"]),
            "class": _chart(data["by_class"], lambda r: r["url"]),
            "section": _chart(data["by_section"], lambda r: r["url"]),
            "scale": _chart(data["by_scale"], lambda r: r["url"]),
            "labels": {"count": _("通过备案产品"), "month": _("月份"), "before": _("上年同月")},
        }
        level_labels = {"province": _("省份"), "city": _("城市"), "county": _("区县")}
        totals = data["totals"]
        return {
            "data": data,
            "before": before,
            "figures": figures,
            "area": area,
            "cards": cards,
            "chart_data": chart_data,
            "level_label": level_labels.get(area.level, _("地区")),
            "is_empty": not totals["units"] and not totals["filed"] and not before["totals"]["filed"],
            "port_query": urlencode({"port": area.port_code}) if area.port_code else "",
            "products_url": self.link(products_url, approved),
            "export_url": self.link("port:dashboard_export", {}),
            **self.period_context(),
        }

    # -- the page's body, rendered once per scope and period (see `body_cache_key`)

    body_template = "provincial/dashboard/_home_body.html"
    is_national = False

    def body_context(self) -> dict[str, Any]:
        return self.dashboard_context()

    def body_cache_key(self) -> str | None:
        """The key of this page's rendered body, or None when it is not kept.

        Kept for a closed period only: its figures are the as-of figures (`comparison`), which no write of
        the platform changes and which are themselves kept `comparison.max_age()` seconds; the body adds
        only links, labels and the period chooser, all fixed by the request's path and query, the area's
        scope, the viewer's role, the language and the day (the chooser's quick choices). The current period
        reads the summary cells, fresh after every write: never kept. The national page adds which ports
        are open (a write of the national office), part of its key."""
        period = self.get_period()
        if period.is_current:
            return None
        query = sorted((name, value) for name in self.request.GET for value in self.request.GET.getlist(name))
        extra: list[Any] = [
            self.request.path,
            urlencode(query),
            self.request.user.role,
            clock.china_today().isoformat(),
            period.key,
        ]
        if self.is_national:
            extra.append(",".join(sorted(open_port_codes())))
        return comparison.cache_key(self.get_area(), "dashboard-body", period.end, *extra)

    def rendered_body(self) -> str:
        """The body of the page: from the cache when kept there (`body_cache_key`), else rendered."""
        key = self.body_cache_key()
        if key is not None:
            kept = cache.get(key)
            if kept is not None:
                return kept
        html = render_to_string(self.body_template, self.body_context(), request=self.request)
        if key is not None:
            cache.set(key, html, comparison.max_age())
        return html

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            **super().get_context_data(**kwargs),
            "body": mark_safe(self.rendered_body()),  # noqa: S308  (our own template's output)
            "area": self.get_area(),
            "is_national": self.is_national,
        }


class PortHomeView(ReplicaReadsMixin, DashboardMixin, ScopedTemplateView):
    """A port's dashboard (`?port=` for a port inside the user's scope; national administrators use it to
    look at one port, and are sent to the national overview without it)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.role == Role.NATIONAL_ADMIN and not request.GET.get("port"):
            target = reverse("national:home")
            params = self.period_params()
            return HttpResponseRedirect(f"{target}?{urlencode(params)}" if params else target)
        return super().get(request, *args, **kwargs)


def port_rankings(view: DashboardMixin, figures: comparison.PeriodFigures) -> list[dict[str, Any]]:
    """The 47 ports for the period beside the year before (the national office's area)."""
    return port_rankings_for(view.request.user, view.get_area(), figures)


def open_port_codes() -> set[str]:
    """The ports open now (a write of the national office; the rankings of a closed period show it too)."""
    return set(ManagementUnit.objects.filter(is_open=True).values_list("code", flat=True))


def port_rankings_for(user: Any, area: dashboards.Area, figures: comparison.PeriodFigures) -> list[dict[str, Any]]:
    if figures.period.is_current:
        ports = dashboards.national_ranking(user)
    else:
        ports = comparison.national_ranking_at(user, area, figures.moment)
        opened = open_port_codes()  # the figures are as of the period's end; the state is today's
        ports = [{**row, "is_open": row["code"] in opened} for row in ports]
    before = comparison.national_ranking_at(user, area, figures.before_moment)
    return _shown(comparison.compare_rows(ports, before, key="code", value="approved"))


class NationalHomeView(ReplicaReadsMixin, DashboardMixin, ScopedTemplateView):
    """The national overview: the same figures for the whole country, and a ranking of all 47 ports."""

    roles = frozenset({Role.NATIONAL_ADMIN})

    def get_area(self) -> dashboards.Area:
        if not hasattr(self, "_area"):
            self._area = dashboards.area_for(self.request.user)
        return self._area

    is_national = True

    def body_context(self) -> dict[str, Any]:
        context = self.dashboard_context()
        ports = port_rankings(self, self.period_figures())
        home = reverse("port:home")
        for row in ports:
            row["url"] = f"{home}?{urlencode({'port': row['code'], **self.period_params()})}"
            row["approved_url"] = self.link("port:products", {"status": dashboards.APPROVED, "port": row["code"]})
            row["units_url"] = self.link("port:units", {"port": row["code"]})
        context.update(ports=ports, is_national=True)
        return context


def _percent(change: dict[str, Any]) -> Any:
    return change["percent"] if change["percent"] is not None else "—"


def _compared(title: Any, label: Any, value: Any, before: Any, change: dict[str, Any]) -> list[Any]:
    return [title, label, value, before, change["difference"], _percent(change)]


def _ranking_row(title: str, r: dict[str, Any]) -> list[Any]:
    return [
        *_compared(title, f"{rank_label(r)}. {r['name']}", r["approved"], r["before"], r["change"]),
        r["filed"],
        r["units"],
        r["growth"],
        r["sales"],
    ]


DASHBOARD_SHEET_HEADERS = (
    gettext_lazy("统计表"),
    gettext_lazy("项目"),
    gettext_lazy("本期数值"),
    gettext_lazy("上年同期"),
    gettext_lazy("增减"),
    gettext_lazy("增减（%）"),
    gettext_lazy("已提交备案产品"),
    gettext_lazy("备案单位"),
    gettext_lazy("近12个月新增"),
    gettext_lazy("销售额（万元）"),
)


def dashboard_sheet(user: Any, area: dashboards.Area, figures: comparison.PeriodFigures) -> list[list[Any]]:
    """The rows of the dashboard's export for `user` in `area` (the export view's and the subscriptions'):
    every table of the dashboard for the period beside the year before (the 47 ports for the national view)."""
    data, before = figures.state, figures.before
    rows: list[list[Any]] = [
        [_("统计期间"), _("本期"), figures.period.label, figures.moment],
        [_("统计期间"), _("上年同期"), figures.before_label, figures.before_moment],
    ]
    rows += [
        _compared(_("总体"), card["label"], card["value"], card["before"], card["change"])
        for card in period_cards(figures)
    ]
    rows += [
        _compared(_("按月通过备案"), r["month"], r["count"], r["before"], r["change"])
        for r in comparison.compare_trend(data["trend"], before["trend"])
    ]
    for key, title in (
        ("by_region", _("按地区")),
        ("by_class", _("按产品分类")),
        ("by_section", _("按行业门类")),
        ("by_scale", _("按企业规模")),
    ):
        compared = comparison.compare_rows(data[key], before[key], key="key", value="count", add_missing=True)
        rows += [_compared(title, r["label"], r["count"], r["before"], r["change"]) for r in compared]
    ranking = comparison.compare_rows(data["ranking"], before["ranking"], key="code", value="approved")
    rows += [_ranking_row(_("地区排名"), r) for r in ranking]
    if user.role == Role.NATIONAL_ADMIN and not area.port_code:
        rows += [_ranking_row(_("端口排名"), r) for r in port_rankings_for(user, area, figures)]
    return rows


class DashboardExportView(ReplicaReadsMixin, DashboardMixin, View):
    """Every table of the dashboard in one sheet, for the period and beside the year before (the chart
    numbers; the 47 ports for the national view)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        area = self.get_area()
        figures = self.period_figures()
        name = area.port.name if area.port is not None else _("全国")
        return xlsx_response(
            filename=f"{_('统计概览')}-{name}-{figures.period.key}-{timezone.localdate().isoformat()}.xlsx",
            title=_("统计概览"),
            headers=DASHBOARD_SHEET_HEADERS,
            rows=dashboard_sheet(request.user, area, figures),
            object_type="provincial.Dashboard",
            changes={
                "port": area.port_code or (area.port.code if area.port else ""),
                "period": figures.period.key,
            },
            message="dashboard export",
            actor=request.user,
        )


# ---------------------------------------------------------------------------------------------
# The lists behind the figures


MONTH_RE = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


class ListFilterForm(forms.Form):
    region = forms.RegexField(label=gettext_lazy("地区"), regex=r"^([0-9]{6}|-)$", required=False)
    level = forms.ChoiceField(
        required=False, choices=[("", ""), *((lvl, lvl) for lvl in dashboards.LEVELS)], widget=forms.HiddenInput
    )
    section = forms.ChoiceField(label=gettext_lazy("行业门类"), required=False)
    scale = forms.ChoiceField(label=gettext_lazy("企业规模"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sections = [
            (code, f"{code} {industry_name(code)}") for code, (_name, sec) in industries().items() if sec == code
        ]
        self.fields["section"].choices = [("", _("全部门类")), *sections, (dashboards.BLANK, _("未填写"))]
        self.fields["scale"].choices = [("", _("全部规模")), *UnitScale.choices, (dashboards.BLANK, _("未填写"))]

    def filters(self) -> dashboards.Filters:
        """The valid filters (an invalid one is ignored and shown as an error on the form)."""
        if not self.is_bound:
            return self.make()
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        return self.make(**data)

    def make(self, **data: Any) -> dashboards.Filters:
        return dashboards.Filters(
            status="",
            region=data.get("region") or "",
            level=data.get("level") or "",
            section=data.get("section") or "",
            scale=data.get("scale") or "",
        )


class ProductFilterForm(ListFilterForm):
    status = forms.ChoiceField(
        label=gettext_lazy("状态"),
        required=False,
        choices=[(dashboards.FILED, gettext_lazy("已提交备案")), (dashboards.APPROVED, gettext_lazy("通过备案"))],
    )
    product_class = forms.ModelChoiceField(
        label=gettext_lazy("产品分类"),
        queryset=ProductClass.objects.all(),
        required=False,
        empty_label=gettext_lazy("全部分类"),
        help_text=gettext_lazy("按通过备案的版本"),
    )
    month = forms.RegexField(
        label=gettext_lazy("通过月份"),
        regex=MONTH_RE,
        required=False,
        help_text=gettext_lazy("首次通过备案的月份，如 2025-03"),
    )
    since = forms.RegexField(regex=MONTH_RE, required=False, widget=forms.HiddenInput)
    until = forms.RegexField(regex=MONTH_RE, required=False, widget=forms.HiddenInput)

    def make(self, **data: Any) -> dashboards.Filters:
        base = super().make(**data)
        product_class = data.get("product_class")
        return dashboards.Filters(
            status=data.get("status") or dashboards.FILED,
            region=base.region,
            level=base.level,
            section=base.section,
            scale=base.scale,
            product_class=product_class.pk if product_class else None,
            month=data.get("month") or "",
            since=data.get("since") or "",
            until=data.get("until") or "",
        )


def _row_version(product: Product) -> ProductVersion | None:
    """The version a list shows: the published one, else the newest submitted one, else the newest."""
    if product.published_version is not None:
        return product.published_version
    versions = product.listed_versions  # type: ignore[attr-defined]
    submitted = [v for v in versions if v.submitted_at is not None]
    return (submitted or versions or [None])[0]


def products_for_list(qs: QuerySet[Product]) -> QuerySet[Product]:
    return qs.select_related("unit", "published_version__product_class").prefetch_related(
        Prefetch(
            "versions",
            queryset=ProductVersion.objects.select_related("product_class").order_by("-data_year", "-id"),
            to_attr="listed_versions",
        )
    )


PRODUCT_HEADERS = (
    gettext_lazy("产品备案号"),
    gettext_lazy("产品名称"),
    gettext_lazy("型号规格"),
    gettext_lazy("产品分类"),
    gettext_lazy("备案单位"),
    gettext_lazy("地区"),
    gettext_lazy("数据年度"),
    gettext_lazy("上年度销售额（万元）"),
    gettext_lazy("年度出口额（万元）"),
    gettext_lazy("状态"),
)


def product_row(product: Product, names: dict[str, str]) -> list[Any]:
    version = _row_version(product)
    return [
        product.filing_number or "",
        version.name if version else "",
        version.model if version else "",
        str(version.product_class) if version else "",
        product.unit.name,
        region_label(product, names),
        version.data_year if version else "",
        version.sales if version else Decimal(0),
        version.exports if version else Decimal(0),
        str(version.get_status_display()) if version else "",
    ]


class ProductListMixin(AreaMixin):
    model = Product

    def filtered_products(self) -> QuerySet[Product]:
        self.filter_form = ProductFilterForm(self.request.GET or None)
        self.filters = self.filter_form.filters()
        period = self.get_period()
        if period.is_current:
            return dashboards.filter_products(self.get_area(), self.filters).order_by("-id")
        return dashboards.filter_products_at(self.get_area(), self.filters, period.end).order_by("-id")


class ProductListView(ReplicaReadsMixin, ProductListMixin, ScopedListView):
    template_name = "provincial/dashboard/products.html"
    context_object_name = "products"
    paginate_by = 50

    def get_queryset(self) -> QuerySet[Product]:
        return products_for_list(self.filtered_products())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        products = list(context["products"])
        names = region_names(c for p in products for c in (p.province_code, p.city_code, p.county_code))
        context["rows"] = [
            {
                "product": p,
                "cells": product_row(p, names),
                "url": self.object_link("port:product", p.pk),
                "unit_url": self.object_link("port:unit", p.unit_id),
            }
            for p in products
        ]
        context.update(list_context(self, self.filters, "port:products_export"))
        return context


class ProductExportView(ReplicaReadsMixin, ProductListMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        products = products_for_list(self.filtered_products())
        names = dict(Region.objects.names())

        def rows() -> Iterator[list[Any]]:
            for product in products.iterator(chunk_size=2000):
                yield product_row(product, names)

        return xlsx_response(
            filename=f"{_('备案产品')}-{self.get_period().key}-{timezone.localdate().isoformat()}.xlsx",
            title=_("备案产品"),
            headers=PRODUCT_HEADERS,
            rows=rows(),
            object_type=Product._meta.label,
            changes={
                "filters": self.filters.params(),
                "port": self.get_area().port_code,
                "period": self.get_period().key,
            },
            message="port products export",
            actor=request.user,
        )


UNIT_HEADERS = (
    gettext_lazy("单位名称"),
    gettext_lazy("统一社会信用代码"),
    gettext_lazy("地区"),
    gettext_lazy("所属行业"),
    gettext_lazy("企业规模"),
    gettext_lazy("通过备案产品"),
    gettext_lazy("联系人"),
    gettext_lazy("联系电话"),
    gettext_lazy("联系邮箱"),
)


def unit_row(unit: FilingUnit, names: dict[str, str]) -> list[Any]:
    return [
        unit.name,
        unit.uscc,
        region_label(unit, names),
        industry_label(unit.industry),
        str(unit.get_scale_display()) if unit.scale else "",
        unit.approved_count,  # type: ignore[attr-defined]
        mask_name(unit.contact_name),
        mask_phone(unit.contact_phone),
        mask_email(unit.contact_email),
    ]


class UnitListMixin(AreaMixin):
    model = FilingUnit

    def filtered_units(self) -> QuerySet[FilingUnit]:
        self.filter_form = ListFilterForm(self.request.GET or None)
        self.filters = self.filter_form.filters()
        period = self.get_period()
        if period.is_current:
            units = dashboards.filter_units(self.get_area(), self.filters)
        else:
            units = dashboards.filter_units_at(self.get_area(), self.filters, period.end)
        return units.annotate(
            approved_count=Count("products", filter=Q(products__published_version__isnull=False))
        ).order_by("name", "id")


class UnitListView(ReplicaReadsMixin, UnitListMixin, ScopedListView):
    template_name = "provincial/dashboard/units.html"
    context_object_name = "units"
    paginate_by = 50

    def get_queryset(self) -> QuerySet[FilingUnit]:
        return self.filtered_units()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        units = list(context["units"])
        names = region_names(c for u in units for c in (u.province_code, u.city_code, u.county_code))
        context["rows"] = [
            {"unit": u, "cells": unit_row(u, names), "url": self.object_link("port:unit", u.pk)} for u in units
        ]
        context.update(list_context(self, self.filters, "port:units_export"))
        return context


class UnitExportView(ReplicaReadsMixin, UnitListMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        units = self.filtered_units()
        names = dict(Region.objects.names())

        def rows() -> Iterator[list[Any]]:
            for unit in units.iterator(chunk_size=2000):
                yield unit_row(unit, names)

        return xlsx_response(
            filename=f"{_('备案单位')}-{self.get_period().key}-{timezone.localdate().isoformat()}.xlsx",
            title=_("备案单位"),
            headers=UNIT_HEADERS,
            rows=rows(),
            object_type=FilingUnit._meta.label,
            changes={
                "filters": self.filters.params(status=""),
                "port": self.get_area().port_code,
                "period": self.get_period().key,
                "personal_data": False,  # contacts masked
            },
            message="port units export (contacts masked)",
            actor=request.user,
        )


def list_context(view: AreaMixin, filters: dashboards.Filters, export_name: str) -> dict[str, Any]:
    """Filter summary, region choices, the page links' query and the export link of a list page."""
    area = view.get_area()
    query = view.request.GET.copy()
    query.pop("page", None)
    regions = [(r.code, str(r)) for r in dashboards.area_regions(area)]
    if filters.region and filters.region != dashboards.BLANK and filters.region not in dict(regions):
        regions.append((filters.region, region_names([filters.region]).get(filters.region, filters.region)))
    applied = []
    if filters.region:
        applied.append(_("地区：%(r)s") % {"r": dict(regions).get(filters.region, _("未细分到该级"))})
    if filters.section:
        applied.append(_("行业：%(s)s") % {"s": dashboards.section_label(filters.section)})
    if filters.scale:
        applied.append(_("规模：%(s)s") % {"s": dashboards.scale_label(filters.scale)})
    if filters.product_class:
        applied.append(_("分类：%(c)s") % {"c": ProductClass.objects.filter(pk=filters.product_class).first() or ""})
    if filters.month:
        applied.append(_("首次通过月份：%(m)s") % {"m": filters.month})
    if filters.since:
        applied.append(_("首次通过时间：%(m)s 起") % {"m": filters.since})
    if filters.until:
        applied.append(_("首次通过时间：至 %(m)s") % {"m": filters.until})
    return {
        "area": area,
        "filter_form": view.filter_form,
        "filters": filters,
        "applied": applied,
        "region_choices": regions,
        "query": query.urlencode(),
        "export_url": f"{reverse(export_name)}{'?' + query.urlencode() if query else ''}",
        "dashboard_url": (
            view.link("port:home", {})
            if area.port_code or view.request.user.role != Role.NATIONAL_ADMIN
            else view.link("national:home", {})
        ),
        "port_code": area.port_code,
        "period_key": view.period_params().get("period", ""),
        **view.period_context(),
    }
