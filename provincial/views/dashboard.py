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

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.cache import cache
from django.db.models import Count, Model, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
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
from patent_platform.masking import mask_email, mask_name, mask_phone
from patent_platform.models import Region
from patent_platform.replica import ReplicaReadsMixin
from patent_platform.roles import has_role, signed_in
from patent_platform.views.base import ScopedListView, ScopedTemplateView
from provincial import comparison, dashboards
from provincial.overview import (
    DASHBOARD_SHEET_HEADERS,
    dashboard_sheet,
    open_port_codes,
    period_cards,
    port_rankings_for,
    shown_rows,
)
from provincial.views.area import AreaMixin, industry_label, region_label, region_names

TILE_SHADES = ("bg-opacity-10", "bg-opacity-25", "bg-opacity-50", "bg-opacity-75", "bg-opacity-100")


# ---------------------------------------------------------------------------------------------
# Dashboards


def _chart(rows: list[dict[str, Any]], url: Any) -> dict[str, Any]:
    return {"labels": [r["label"] for r in rows], "values": [r["count"] for r in rows], "urls": [url(r) for r in rows]}


BREAKDOWNS = ("by_region", "by_class", "by_section", "by_scale")


class DashboardMixin(AreaMixin):
    template_name: str | None = "provincial/dashboard/home.html"
    model: type[Model] | None = Product

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
            data[key] = shown_rows(
                comparison.compare_rows(data[key], before[key], key="key", value="count", add_missing=True)
            )
            for row in data[key]:
                row["url"] = self.link(products_url, row["filters"])
        data["trend"] = shown_rows(comparison.compare_trend(data["trend"], before["trend"]))
        for row in data["trend"]:
            row["url"] = self.link(
                products_url, dashboards.Filters(status=dashboards.APPROVED, month=row["month"]).params()
            )
        data["ranking"] = shown_rows(
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
            getattr(self.request.user, "role", ""),  # an authenticated user (AreaMixin's roles)
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
            **super().get_context_data(**kwargs),  # type: ignore[misc]
            "body": mark_safe(self.rendered_body()),  # noqa: S308  (our own template's output)
            "area": self.get_area(),
            "is_national": self.is_national,
        }


class PortHomeView(ReplicaReadsMixin, DashboardMixin, ScopedTemplateView):
    """A port's dashboard (`?port=` for a port inside the user's scope; national administrators use it to
    look at one port, and are sent to the national overview without it)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if has_role(request.user, Role.NATIONAL_ADMIN) and not request.GET.get("port"):
            target = reverse("national:home")
            params = self.period_params()
            return HttpResponseRedirect(f"{target}?{urlencode(params)}" if params else target)
        return super().get(request, *args, **kwargs)


def port_rankings(view: DashboardMixin, figures: comparison.PeriodFigures) -> list[dict[str, Any]]:
    """The 47 ports for the period beside the year before (the national office's area)."""
    return port_rankings_for(view.request.user, view.get_area(), figures)


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
            rows=dashboard_sheet(signed_in(request), area, figures),
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
        section_field = cast(forms.ChoiceField, self.fields["section"])
        section_field.choices = [
            ("", _("全部门类")),
            *sections,
            (dashboards.BLANK, _("未填写")),
        ]
        scale_field = cast(forms.ChoiceField, self.fields["scale"])
        scale_field.choices = [
            ("", _("全部规模")),
            *UnitScale.choices,
            (dashboards.BLANK, _("未填写")),
        ]

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
    model: type[Model] | None = Product

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
    model: type[Model] | None = FilingUnit

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


def list_context(
    view: ProductListMixin | UnitListMixin, filters: dashboards.Filters, export_name: str
) -> dict[str, Any]:
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
            if area.port_code or not has_role(view.request.user, Role.NATIONAL_ADMIN)
            else view.link("national:home", {})
        ),
        "port_code": area.port_code,
        "period_key": view.period_params().get("period", ""),
        **view.period_context(),
    }
