"""The port and national dashboards and the lists behind every figure, with their Excel exports.

Every figure comes from `provincial.stats` (through the scoping rule); every figure links to a list that
applies the same filters to the same scoped queryset, so the list has exactly as many rows as the figure
says. Port administrators and national administrators only (others: 404). `?port=<code>` narrows any of
these pages to one management unit inside the user's scope (a province may look at its city ports; the
national office at any port); a port outside the scope answers 404.

Contacts of filing units are shown masked (138****5678, a***@example.cn) to port and national
administrators alike: these are statistics lists; who sees contacts in full where is set out in
patent_platform/masking.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
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
from patent_platform.masking import mask_email, mask_name, mask_phone  # noqa: F401  (re-exported)
from patent_platform.models import Region
from patent_platform.ranking import rank_label
from patent_platform.replica import ReplicaReadsMixin
from patent_platform.views.base import ScopedListView, ScopedTemplateView, ScopedViewMixin
from provincial import stats

DASHBOARD_ROLES = frozenset({Role.PORT_ADMIN, Role.NATIONAL_ADMIN})
TILE_SHADES = ("bg-opacity-10", "bg-opacity-25", "bg-opacity-50", "bg-opacity-75", "bg-opacity-100")


# ---------------------------------------------------------------------------------------------
# Shared parts


class AreaMixin(ScopedViewMixin):
    roles = DASHBOARD_ROLES

    def get_area(self) -> stats.Area:
        if not hasattr(self, "_area"):
            self._area = stats.area_for(self.request.user, self.request.GET.get("port", "").strip())
        return self._area

    def link(self, name: str, params: dict[str, str]) -> str:
        """A URL of this app with the area's `port` parameter kept (a dashboard makes ~100: the reversed
        paths are kept per view)."""
        port = self.get_area().port_code
        query = {**params, **({"port": port} if port else {})}
        paths = self.__dict__.setdefault("_paths", {})
        url = paths.get(name) or paths.setdefault(name, reverse(name))
        return f"{url}?{urlencode(query)}" if query else url

    def object_link(self, name: str, pk: int) -> str:
        """The read-only page of one object (`provincial.views.worklists`), the area's `port` kept."""
        port = self.get_area().port_code
        url = reverse(name, args=[pk])
        return f"{url}?{urlencode({'port': port})}" if port else url


def region_names(codes: Iterable[str]) -> dict[str, str]:
    wanted = {c for c in codes if c and c != stats.BLANK}
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


class DashboardMixin(AreaMixin):
    template_name = "provincial/dashboard/home.html"
    model = Product

    def as_of(self) -> dt.datetime | None:
        """`?as_of=YYYY-MM`: the figures at the end of that month (`stats.state_at`, the function the monthly
        publication uses); an unusable value (malformed, a month not ended) shows the figures of now."""
        try:
            return stats.as_of_month(self.request.GET.get("as_of", ""))
        except ValueError:
            return None

    def dashboard_context(self) -> dict[str, Any]:
        area = self.get_area()
        moment = self.as_of()
        data = stats.state_at(area, moment) if moment is not None else stats.dashboard(area)
        products_url = "port:products"
        for key in ("by_region", "by_class", "by_section", "by_scale"):
            for row in data[key]:
                row["url"] = self.link(products_url, row["filters"])
        for row in data["trend"]:
            row["url"] = self.link(products_url, stats.Filters(status=stats.APPROVED, month=row["month"]).params())
        top = max((r["approved"] for r in data["ranking"]), default=0)
        for row in data["ranking"]:
            row["urls"] = {
                "approved": self.link(products_url, row["filters"]["approved"]),
                "filed": self.link(products_url, row["filters"]["filed"]),
                "units": self.link("port:units", row["filters"]["units"]),
            }
            row["shade"] = TILE_SHADES[0 if not top or not row["approved"] else min(4, 1 + 3 * row["approved"] // top)]
            row["dark"] = row["shade"] in TILE_SHADES[3:]
        totals = data["totals"]
        approved = {"status": stats.APPROVED}
        since = stats.Filters(status=stats.APPROVED, since=data["trend"][0]["month"]).params()
        cards = [
            {"key": "units", "label": _("备案单位"), "value": totals["units"], "url": self.link("port:units", {})},
            {
                "key": "filed",
                "label": _("已提交备案产品"),
                "value": totals["filed"],
                "url": self.link(products_url, {"status": stats.FILED}),
            },
            {
                "key": "approved",
                "label": _("通过备案产品"),
                "value": totals["approved"],
                "url": self.link(products_url, approved),
            },
            {
                "key": "growth",
                "label": _("近12个月新增通过"),
                "value": totals["growth"],
                "url": self.link(products_url, since),
            },
        ]
        chart_data = {
            "trend": {
                "labels": [r["month"] for r in data["trend"]],
                "values": [r["count"] for r in data["trend"]],
                "urls": [r["url"] for r in data["trend"]],
            },
            "region": _chart(data["by_region"], lambda r: r["url"]),
            "class": _chart(data["by_class"], lambda r: r["url"]),
            "section": _chart(data["by_section"], lambda r: r["url"]),
            "scale": _chart(data["by_scale"], lambda r: r["url"]),
            "labels": {"count": _("通过备案产品"), "month": _("月份")},
        }
        level_labels = {"province": _("省份"), "city": _("城市"), "county": _("区县")}
        return {
            "data": data,
            "area": area,
            "cards": cards,
            "chart_data": chart_data,
            "level_label": level_labels.get(area.level, _("地区")),
            "is_empty": not totals["units"] and not totals["filed"],
            "port_query": urlencode({"port": area.port_code}) if area.port_code else "",
            "products_url": self.link(products_url, {"status": stats.APPROVED}),
            "export_url": self.link("port:dashboard_export", {}),
            "as_of_month": (moment - dt.timedelta(microseconds=1)).astimezone(clock.CHINA_TZ) if moment else None,
        }


class PortHomeView(ReplicaReadsMixin, DashboardMixin, ScopedTemplateView):
    """A port's dashboard (`?port=` for a port inside the user's scope; national administrators use it to
    look at one port, and are sent to the national overview without it)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.role == Role.NATIONAL_ADMIN and not request.GET.get("port"):
            return HttpResponseRedirect(reverse("national:home"))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), **self.dashboard_context()}


class NationalHomeView(ReplicaReadsMixin, DashboardMixin, ScopedTemplateView):
    """The national overview: the same figures for the whole country, and a ranking of all 47 ports."""

    roles = frozenset({Role.NATIONAL_ADMIN})

    def get_area(self) -> stats.Area:
        if not hasattr(self, "_area"):
            self._area = stats.area_for(self.request.user)
        return self._area

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = {**super().get_context_data(**kwargs), **self.dashboard_context()}
        moment = self.as_of()
        if moment is not None:
            ports = stats.national_ranking_at(self.request.user, moment)
        else:
            ports = stats.national_ranking(self.request.user)
        for row in ports:
            row["url"] = f"{reverse('port:home')}?{urlencode({'port': row['code']})}"
            row["approved_url"] = self.link("port:products", {"status": stats.APPROVED, "port": row["code"]})
            row["units_url"] = self.link("port:units", {"port": row["code"]})
        context.update(ports=ports, is_national=True)
        return context


def _ranking_row(title: str, r: dict[str, Any]) -> list[Any]:
    return [title, f"{rank_label(r)}. {r['name']}", r["approved"], r["filed"], r["units"], r["growth"], r["sales"]]


class DashboardExportView(ReplicaReadsMixin, AreaMixin, View):
    """Every table of the dashboard in one sheet (the chart numbers; the 47 ports for the national view)."""

    model = Product

    def get(self, request: HttpRequest) -> HttpResponse:
        area = self.get_area()
        data = stats.dashboard(area)
        totals = data["totals"]
        rows: list[list[Any]] = [
            [_("总体"), _("备案单位"), totals["units"]],
            [_("总体"), _("已提交备案产品"), totals["filed"]],
            [_("总体"), _("通过备案产品"), totals["approved"]],
            [_("总体"), _("近12个月新增通过"), totals["growth"]],
            [_("总体"), _("上年度销售额（万元）"), totals["sales"]],
            [_("总体"), _("年度出口额（万元）"), totals["exports"]],
            [_("总体"), _("认定产品"), totals["certified"]],
            [_("总体"), _("关联专利失效待处理的备案产品"), totals["flagged"]],
        ]
        rows += [[_("按月通过备案"), r["month"], r["count"]] for r in data["trend"]]
        for key, title in (
            ("by_region", _("按地区")),
            ("by_class", _("按产品分类")),
            ("by_section", _("按行业门类")),
            ("by_scale", _("按企业规模")),
        ):
            rows += [[title, r["label"], r["count"]] for r in data[key]]
        rows += [_ranking_row(_("地区排名"), r) for r in data["ranking"]]
        if request.user.role == Role.NATIONAL_ADMIN and not area.port_code:
            rows += [_ranking_row(_("端口排名"), r) for r in stats.national_ranking(request.user)]
        name = area.port.name if area.port is not None else _("全国")
        return xlsx_response(
            filename=f"{_('统计概览')}-{name}-{timezone.localdate().isoformat()}.xlsx",
            title=_("统计概览"),
            headers=[
                _("统计表"),
                _("项目"),
                _("通过备案产品"),
                _("已提交备案产品"),
                _("备案单位"),
                _("近12个月新增"),
                _("销售额（万元）"),
            ],
            rows=rows,
            object_type="provincial.Dashboard",
            changes={"port": area.port_code or (area.port.code if area.port else "")},
            message="dashboard export",
            actor=request.user,
        )


# ---------------------------------------------------------------------------------------------
# The lists behind the figures


MONTH_RE = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


class ListFilterForm(forms.Form):
    region = forms.RegexField(label=gettext_lazy("地区"), regex=r"^([0-9]{6}|-)$", required=False)
    level = forms.ChoiceField(
        required=False, choices=[("", ""), *((lvl, lvl) for lvl in stats.LEVELS)], widget=forms.HiddenInput
    )
    section = forms.ChoiceField(label=gettext_lazy("行业门类"), required=False)
    scale = forms.ChoiceField(label=gettext_lazy("企业规模"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sections = [
            (code, f"{code} {industry_name(code)}") for code, (_name, sec) in industries().items() if sec == code
        ]
        self.fields["section"].choices = [("", _("全部门类")), *sections, (stats.BLANK, _("未填写"))]
        self.fields["scale"].choices = [("", _("全部规模")), *UnitScale.choices, (stats.BLANK, _("未填写"))]

    def filters(self) -> stats.Filters:
        """The valid filters (an invalid one is ignored and shown as an error on the form)."""
        if not self.is_bound:
            return self.make()
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        return self.make(**data)

    def make(self, **data: Any) -> stats.Filters:
        return stats.Filters(
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
        choices=[(stats.FILED, gettext_lazy("已提交备案")), (stats.APPROVED, gettext_lazy("通过备案"))],
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

    def make(self, **data: Any) -> stats.Filters:
        base = super().make(**data)
        product_class = data.get("product_class")
        return stats.Filters(
            status=data.get("status") or stats.FILED,
            region=base.region,
            level=base.level,
            section=base.section,
            scale=base.scale,
            product_class=product_class.pk if product_class else None,
            month=data.get("month") or "",
            since=data.get("since") or "",
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
        return stats.filter_products(self.get_area(), self.filters).order_by("-id")


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
            filename=f"{_('备案产品')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("备案产品"),
            headers=PRODUCT_HEADERS,
            rows=rows(),
            object_type=Product._meta.label,
            changes={"filters": self.filters.params(), "port": self.get_area().port_code},
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
        return (
            stats.filter_units(self.get_area(), self.filters)
            .annotate(approved_count=Count("products", filter=Q(products__published_version__isnull=False)))
            .order_by("name", "id")
        )


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
            filename=f"{_('备案单位')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("备案单位"),
            headers=UNIT_HEADERS,
            rows=rows(),
            object_type=FilingUnit._meta.label,
            changes={
                "filters": self.filters.params(status=""),
                "port": self.get_area().port_code,
                "personal_data": False,  # contacts masked
            },
            message="port units export (contacts masked)",
            actor=request.user,
        )


def list_context(view: AreaMixin, filters: stats.Filters, export_name: str) -> dict[str, Any]:
    """Filter summary, region choices, the page links' query and the export link of a list page."""
    area = view.get_area()
    query = view.request.GET.copy()
    query.pop("page", None)
    regions = [(r.code, str(r)) for r in stats.area_regions(area)]
    if filters.region and filters.region != stats.BLANK and filters.region not in dict(regions):
        regions.append((filters.region, region_names([filters.region]).get(filters.region, filters.region)))
    applied = []
    if filters.region:
        applied.append(_("地区：%(r)s") % {"r": dict(regions).get(filters.region, _("未细分到该级"))})
    if filters.section:
        applied.append(_("行业：%(s)s") % {"s": stats.section_label(filters.section)})
    if filters.scale:
        applied.append(_("规模：%(s)s") % {"s": stats.scale_label(filters.scale)})
    if filters.product_class:
        applied.append(_("分类：%(c)s") % {"c": ProductClass.objects.filter(pk=filters.product_class).first() or ""})
    if filters.month:
        applied.append(_("首次通过月份：%(m)s") % {"m": filters.month})
    if filters.since:
        applied.append(_("首次通过时间：%(m)s 起") % {"m": filters.since})
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
            else reverse("national:home")
        ),
        "port_code": area.port_code,
    }
