"""The ports' analysis page (数据分析, issue 20): a pivot table of the filing figures, any dimensions as
rows and columns, any measures, filters, totals, a period and the year before.

Dimensions and measures are declared once below; a request is a `Definition` (validated here, the same
for the page, the export and a saved analysis), and `run()` answers it with one GROUP BY per table and
moment, read through the scoping rule (`provincial.dashboards.Area`).

Definitions (docs/PORTS.md, "Analysis (pivot)"), the dashboards' own (`provincial.dashboards`):
- the figures of a period are its as-of figures at the period's end (`dashboards.as_of`: approved at that moment,
  the version then published, the unit's region, industry, scale and kind then, certificates held then);
  with no period they are the current state, read from the summary cells (`provincial.dashboards`) when every
  chosen dimension, filter and measure is held by the cells, else from the base tables;
- products: approved products (with the filing-status dimension or filter: filed products, split into
  approved and not approved); sales, exports, output: summed over the version published at the moment;
  patents: the patent links of that version (a patent in two products counts twice); certified: products
  holding a certificate at the moment; units: filing units registered at the moment (the dashboards'
  definition), hence only by the units' own dimensions (region, industry section, scale, unit kind);
- a time dimension (month, quarter, year) splits the period: each bucket holds the figures as of its end,
  and its total is the last bucket's (stock figures are not added up over time);
- the patent-type dimension counts a product under each type of patent its version links, so its total
  (every product once, with or without patents) is not the sum of its columns; every other dimension
  partitions, and its total is the sum.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filings.choices import PatentKind, UnitKind, UnitScale
from filings.industries import industries
from filings.models import FilingUnit, PatentLink, Product, ProductClass, ProductVersion
from patent_platform.i18n import localized_name
from patent_platform.models import Region
from provincial import dashboards, periods
from provincial.dashboards import freshness, summary
from provincial.models import SummaryCell, SummaryKind

MAX_DIMENSIONS = 3
MAX_CELLS = 10000  # numbers in the table (rows × columns × measures × values)
MAX_MOMENTS = 24  # as-of queries of one request (time buckets × the year before)
TOTAL = object()  # a dimension summed over (the totals row and column)

GROUP, PATENT, TIME = "group", "patent", "time"
REGION_DIMS = ("province", "city", "county")
CELL_KEYS = {"class": SummaryKind.CLASS, "section": SummaryKind.SECTION, "scale": SummaryKind.SCALE}
UNIT_DIMS = frozenset({*REGION_DIMS, "section", "scale", "kind"})
APPROVED, NOT_APPROVED = "approved", "pending"
YES, NO = "yes", "no"


class DefinitionError(ValueError):
    """A definition the engine refuses; `errors` maps a field to its messages (for the form)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


@dataclass(frozen=True)
class Dimension:
    key: str
    label: Any
    kind: str = GROUP
    field: str = ""  # the at_* annotation grouped on (products; units too for UNIT_DIMS)
    filterable: bool = True


DIMENSIONS: dict[str, Dimension] = {
    d.key: d
    for d in (
        Dimension("province", gettext_lazy("省份"), field="at_province_code"),
        Dimension("city", gettext_lazy("城市"), field="at_city_code"),
        Dimension("county", gettext_lazy("区县"), field="at_county_code"),
        Dimension("class", gettext_lazy("产品分类"), field="at_class"),
        Dimension("section", gettext_lazy("行业门类"), field="at_industry"),
        Dimension("scale", gettext_lazy("企业规模"), field="at_scale"),
        Dimension("kind", gettext_lazy("单位类型"), field="at_kind"),
        Dimension("patent", gettext_lazy("专利类型"), kind=PATENT),
        Dimension("month", gettext_lazy("月份"), kind=TIME, filterable=False),
        Dimension("quarter", gettext_lazy("季度"), kind=TIME, filterable=False),
        Dimension("year", gettext_lazy("年度"), kind=TIME, filterable=False),
        Dimension("status", gettext_lazy("备案状态"), field="at_status"),
        Dimension("certified", gettext_lazy("是否认定"), field="at_certified_key"),
    )
}


@dataclass(frozen=True)
class Measure:
    key: str
    label: Any
    money: bool = False
    cells: str = ""  # the summary cells' column that holds it ("" : not in the cells)


MEASURES: dict[str, Measure] = {
    m.key: m
    for m in (
        Measure("products", gettext_lazy("通过备案产品"), cells="approved"),
        Measure("units", gettext_lazy("备案单位"), cells="units"),
        Measure("sales", gettext_lazy("上年度销售额（万元）"), money=True, cells="sales"),
        Measure("exports", gettext_lazy("年度出口额（万元）"), money=True, cells="exports"),
        Measure("output", gettext_lazy("产值（万元）"), money=True),
        Measure("patents", gettext_lazy("关联专利"), cells=""),
        Measure("certified", gettext_lazy("认定产品"), cells="certified"),
    )
}
PRODUCT_MEASURES = ("products", "sales", "exports", "output", "patents", "certified")


# ---------------------------------------------------------------------------------------------
# The request


@dataclass(frozen=True)
class Definition:
    rows: tuple[str, ...] = ()
    cols: tuple[str, ...] = ()
    measures: tuple[str, ...] = ("products",)
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    period: str = ""  # "" : the current state
    compare: bool = False
    chart: str = "bar"

    @property
    def dims(self) -> tuple[str, ...]:
        return self.rows + self.cols

    @functools.cached_property
    def group_dims(self) -> list[str]:
        return [d for d in self.dims if DIMENSIONS[d].kind == GROUP]

    @functools.cached_property
    def time_dim(self) -> str | None:
        return next((d for d in self.dims if DIMENSIONS[d].kind == TIME), None)

    @property
    def filter_map(self) -> dict[str, tuple[str, ...]]:
        return dict(self.filters)

    def to_data(self) -> dict[str, Any]:
        """The JSON a saved analysis stores (and `from_data` reads back)."""
        return {
            "rows": list(self.rows),
            "cols": list(self.cols),
            "measures": list(self.measures),
            "filters": {k: list(v) for k, v in self.filters},
            "period": self.period,
            "compare": self.compare,
            "chart": self.chart,
        }

    def params(self) -> list[tuple[str, str]]:
        """The page's query parameters that reproduce it."""
        out = [("rows", d) for d in self.rows] + [("cols", d) for d in self.cols]
        out += [("measures", m) for m in self.measures]
        out += [(f"f_{k}", v) for k, values in self.filters for v in values]
        if self.period:
            out.append(("period", self.period))
        if self.compare:
            out.append(("compare", "1"))
        if self.chart != "bar":
            out.append(("chart", self.chart))
        return out

    @classmethod
    def from_query(cls, query: Any) -> Definition:
        """From the page's GET parameters (a QueryDict)."""
        return cls.from_data(
            {
                "rows": query.getlist("rows"),
                "cols": query.getlist("cols"),
                "measures": query.getlist("measures") or ["products"],
                "filters": {k[2:]: query.getlist(k) for k in query if k.startswith("f_")},
                "period": query.get("period", ""),
                "compare": query.get("compare", "") in ("1", "on", "true"),
                "chart": query.get("chart", "bar"),
            }
        )

    @classmethod
    def from_data(cls, data: Any) -> Definition:
        """Validate a definition (from the page or a saved analysis); DefinitionError with messages per field."""
        errors: dict[str, list[str]] = defaultdict(list)
        if not isinstance(data, dict):
            raise DefinitionError({"__all__": [_("分析定义格式不正确。")]})

        def strings(name: str) -> list[str]:
            value = data.get(name) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                errors[name].append(_("格式不正确。"))
                return []
            return [v.strip() for v in value if v.strip()]

        rows, cols = strings("rows"), strings("cols")
        measures = strings("measures") if data.get("measures") is not None else ["products"]
        dims = rows + cols
        _check_dimensions(rows, cols, errors)
        _check_measures(measures, errors)
        filters = _clean_filters(data.get("filters") or {}, errors)
        period = _clean_period(data.get("period") or "", errors)
        compare = bool(data.get("compare"))
        if compare and not period:
            errors["compare"].append(_("与上年同期比较需要先选择期间。"))
        if any(DIMENSIONS[d].kind == TIME for d in dims if d in DIMENSIONS) and not period:
            errors["period"].append(_("按月份、季度或年度分析需要先选择期间。"))
        if "units" in measures:
            product_dims = sorted({*dims, *filters} - UNIT_DIMS - {"month", "quarter", "year"})
            if product_dims:
                errors["measures"].append(
                    _("备案单位只能按单位自身的维度（地区、行业门类、企业规模、单位类型）分析，不能按%(dims)s。")
                    % {"dims": "、".join(str(DIMENSIONS[d].label) for d in product_dims if d in DIMENSIONS)}
                )
        chart = data.get("chart") or "bar"
        if chart not in ("bar", "line"):
            errors["chart"].append(_("图表类型无效。"))
        if errors:
            raise DefinitionError(dict(errors))
        return cls(
            rows=tuple(rows),
            cols=tuple(cols),
            measures=tuple(dict.fromkeys(measures)),
            filters=tuple(sorted(filters.items())),
            period=period,
            compare=compare,
            chart=chart,
        )


def _check_dimensions(rows: list[str], cols: list[str], errors: dict[str, list[str]]) -> None:
    """The rows and columns of a definition: known dimensions, none twice, at most one time dimension."""
    for name, keys in (("rows", rows), ("cols", cols)):
        for key in keys:
            if key not in DIMENSIONS:
                errors[name].append(_("没有这个维度：%(key)s") % {"key": key})
    dims = rows + cols
    if len(set(dims)) != len(dims):
        errors["cols"].append(_("同一维度不能既作行又作列，也不能重复选择。"))
    if len(dims) > MAX_DIMENSIONS:
        errors["rows"].append(_("行和列合计最多选择 %(n)s 个维度。") % {"n": MAX_DIMENSIONS})
    if sum(DIMENSIONS[d].kind == TIME for d in dims if d in DIMENSIONS) > 1:
        errors["cols"].append(_("月份、季度、年度只能选择其中一个。"))


def _check_measures(measures: list[str], errors: dict[str, list[str]]) -> None:
    """The measures of a definition: at least one, each known."""
    if not measures:
        errors["measures"].append(_("请至少选择一个指标。"))
    for key in measures:
        if key not in MEASURES:
            errors["measures"].append(_("没有这个指标：%(key)s") % {"key": key})


def _clean_filters(raw_filters: Any, errors: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    """The chosen values of each filterable dimension (sorted, blanks dropped); errors per field."""
    filters: dict[str, tuple[str, ...]] = {}
    if not isinstance(raw_filters, dict):
        errors["filters"].append(_("格式不正确。"))
        return filters
    for key, values in sorted(raw_filters.items()):
        dim = DIMENSIONS.get(key)
        if dim is None or not dim.filterable:
            errors["filters"].append(_("不能按此条件筛选：%(key)s") % {"key": key})
            continue
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            errors["filters"].append(_("格式不正确。"))
            continue
        chosen = tuple(sorted({v.strip() for v in values if v.strip()}))
        if chosen:
            filters[key] = chosen
            bad = [v for v in chosen if not _valid_value(key, v)]
            if bad:
                errors[f"f_{key}"].append(
                    _("%(dim)s 的取值无效：%(values)s") % {"dim": dim.label, "values": "、".join(bad)}
                )
    return filters


def _clean_period(period: Any, errors: dict[str, list[str]]) -> str:
    """A definition's period key ("" for none or the current one); errors per field."""
    if not isinstance(period, str):
        errors["period"].append(_("格式不正确。"))
        period = ""
    period = period.strip()
    if period:
        try:
            parsed = periods.parse(period)
            period = "" if parsed.is_current else parsed.key  # `current` (the dashboards' word): no period
        except periods.PeriodError as error:
            errors["period"].append(str(error))
    return period


def _valid_value(dim: str, value: str) -> bool:
    if value == dashboards.BLANK:
        return dim in (*REGION_DIMS, "section", "scale")
    if dim in REGION_DIMS:
        return value.isdigit() and len(value) == 6
    if dim == "class":
        return value.isdigit()
    if dim == "section":
        return value in {sec for _n, sec in industries().values()}
    if dim == "scale":
        return value in UnitScale.values
    if dim == "kind":
        return value in UnitKind.values
    if dim == "patent":
        return value in PatentKind.values
    if dim == "status":
        return value in (APPROVED, NOT_APPROVED)
    if dim == "certified":
        return value in (YES, NO)
    return False


# ---------------------------------------------------------------------------------------------
# Values and their labels


def choices(area: dashboards.Area) -> dict[str, list[tuple[str, str]]]:
    """The filter choices of every filterable dimension inside the area (for the form)."""
    scope = area.regions_scope
    regions = Region.objects.all()
    if not scope.everything:
        regions = regions.filter(
            Q(province_code__in=scope.province_codes)
            | Q(city_code__in=scope.city_codes)
            | Q(code__in=scope.county_codes)
            | Q(code__in=scope.city_codes | scope.province_codes)
        )
    by_level: dict[str, list[tuple[str, str]]] = {"province": [], "city": [], "county": []}
    for region in regions.order_by("code"):
        if region.level in by_level:
            by_level[region.level].append((region.code, localized_name(region)))
    sections = sorted({sec for _n, sec in industries().values()})
    return {
        **by_level,
        "class": [(str(c.pk), f"{c.code} {localized_name(c)}") for c in ProductClass.objects.order_by("code")],
        "section": [(s, dashboards.section_label(s)) for s in sections] + [(dashboards.BLANK, _("未填写"))],
        "scale": [(s, str(label)) for s, label in UnitScale.choices] + [(dashboards.BLANK, _("未填写"))],
        "kind": [(k, str(label)) for k, label in UnitKind.choices],
        "patent": [(k, str(label)) for k, label in PatentKind.choices],
        "status": [(APPROVED, _("已通过备案")), (NOT_APPROVED, _("已提交未通过"))],
        "certified": [(YES, _("已认定")), (NO, _("未认定"))],
    }


def _labeller(dim: str, values: Iterable[Any]) -> Callable[[Any], str]:
    values = [v for v in values if v is not TOTAL]
    if dim in REGION_DIMS:
        names = dict(Region.objects.filter(code__in=[v for v in values if v and v != dashboards.BLANK]).names())
        return lambda v: names.get(v, v) if v and v != dashboards.BLANK else _("未细分到该级")
    if dim == "class":
        classes = {
            str(c.pk): f"{c.code} {localized_name(c)}"
            for c in ProductClass.objects.filter(pk__in=[int(v) for v in values if str(v).isdigit()])
        }
        return lambda v: classes.get(str(v), str(v)) if v != dashboards.BLANK else _("未填写")
    if dim == "section":
        return dashboards.section_label
    if dim == "scale":
        return dashboards.scale_label
    if dim == "kind":
        return lambda v: str(UnitKind(v).label) if v in UnitKind.values else (v or _("未填写"))
    if dim == "patent":
        return lambda v: str(PatentKind(v).label)
    if dim == "status":
        return lambda v: _("已通过备案") if v == APPROVED else _("已提交未通过")
    if dim == "certified":
        return lambda v: _("已认定") if v == YES else _("未认定")
    return str  # time buckets carry their labels


def _sort_key(dim: str) -> Callable[[Any], Any]:
    if dim == "scale":
        order = {v: i for i, v in enumerate(UnitScale.values)}
        return lambda v: order.get(v, 99)
    if dim == "patent":
        order = {v: i for i, v in enumerate(PatentKind.values)}
        return lambda v: order.get(v, 99)
    if dim == "class":
        return lambda v: int(v) if str(v).isdigit() else 0
    return lambda v: (v == dashboards.BLANK or v == "", str(v))


# ---------------------------------------------------------------------------------------------
# Time buckets


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    end: dt.datetime  # the moment of its figures


def buckets(period: periods.Period, dim: str | None) -> list[Bucket]:
    """The period split by month, quarter or year (each bucket: the months of the period in it), or the whole
    period as one bucket."""
    if dim is None:
        return [Bucket(period.key, period.label, period.end)]
    groups: dict[str, list[dt.date]] = {}
    for month in period.months():
        if dim == "month":
            key = f"{month:%Y-%m}"
        elif dim == "quarter":
            key = f"{month.year}Q{(month.month - 1) // 3 + 1}"
        else:
            key = str(month.year)
        groups.setdefault(key, []).append(month)
    out = []
    for key, months in groups.items():
        part = periods.months_range(months[0], months[-1])
        first = months[0]
        whole = (
            periods.month(first.year, first.month)
            if dim == "month"
            else periods.quarter(first.year, (first.month - 1) // 3 + 1)
            if dim == "quarter"
            else periods.year(first.year)
        )
        out.append(Bucket(key, whole.label if whole.months() == months else part.label, part.end))
    return out


# ---------------------------------------------------------------------------------------------
# The queries


@dataclass
class Frame:
    """What one moment (or the current state) answers: per split (patent type or None), per group key (a tuple
    of the group dimensions' values), the measures."""

    data: dict[Any, dict[tuple[Any, ...], dict[str, Any]]] = field(default_factory=dict)
    margins: dict[Any, dict[tuple[Any, ...], dict[str, Any]]] = field(default_factory=dict)


def _patent_count(kind: str | None) -> Coalesce:
    links = PatentLink.objects.filter(version=OuterRef("at_version"))
    if kind:
        links = links.filter(right__patent__kind=kind)
    return Coalesce(
        Subquery(links.order_by().values("version").annotate(n=Count("pk")).values("n")[:1]),
        Value(0),
        output_field=IntegerField(),
    )


def _current_products(area: dashboards.Area, needed: set[str]) -> QuerySet[Product]:
    """The area's products now, with the same at_* names as `dashboards.AsOf.products` (only those needed)."""
    exprs: dict[str, Any] = {
        "at_province_code": F("province_code"),
        "at_city_code": F("city_code"),
        "at_county_code": F("county_code"),
        "at_industry": F("unit__industry"),
        "at_scale": F("unit__scale"),
        "at_kind": F("unit__kind"),
        "at_filed": dashboards.filed_condition(),
        "at_version": F("published_version_id"),
        "at_class": F("published_version__product_class_id"),
        "at_sales": F("published_version__sales"),
        "at_exports": F("published_version__exports"),
        "at_certified": dashboards.certified_condition(),
    }
    return area.products().annotate(**{k: v for k, v in exprs.items() if k in needed or k == "at_version"})


def _as_of_products(at: dashboards.AsOf) -> QuerySet[Product]:
    return at.products()


def _unit_queryset(area: dashboards.Area, at: dashboards.AsOf | None) -> QuerySet[FilingUnit]:
    if at is None:
        return area.units().annotate(
            at_province_code=F("province_code"),
            at_city_code=F("city_code"),
            at_county_code=F("county_code"),
            at_industry=F("industry"),
            at_scale=F("scale"),
            at_kind=F("kind"),
        )
    return at.units().annotate(
        at_industry=at.value("industry", "pk", "industry"),
        at_scale=at.value("scale", "pk", "scale"),
        at_kind=at.value("kind", "pk", "kind"),
    )


def _section_codes(values: Iterable[str]) -> Q:
    known = industries()
    q = Q(pk__in=[])
    for value in values:
        if value == dashboards.BLANK:
            q |= ~Q(at_industry__in=list(known))
        else:
            q |= Q(at_industry__in=dashboards.section_codes(value))
    return q


def _filter_q(dim: str, values: tuple[str, ...]) -> Q:
    d = DIMENSIONS[dim]
    if dim in REGION_DIMS or dim in ("scale", "kind"):
        return Q(**{f"{d.field}__in": ["" if v == dashboards.BLANK else v for v in values]})
    if dim == "class":
        return Q(at_class__in=[int(v) for v in values])
    if dim == "section":
        return _section_codes(values)
    if dim == "status":
        q = Q(pk__in=[])
        if APPROVED in values:
            q |= Q(at_version__isnull=False)
        if NOT_APPROVED in values:
            q |= Q(at_version__isnull=True)
        return q
    if dim == "certified":
        return Q(at_certified=True) if values == (YES,) else Q(at_certified=False) if values == (NO,) else Q()
    if dim == "patent":
        q = Q(pk__in=[])
        for kind in values:
            q |= Q(Exists(PatentLink.objects.filter(version=OuterRef("at_version"), right__patent__kind=kind)))
        return q
    raise KeyError(dim)


def _normalise(dim: str, value: Any) -> Any:
    if dim == "section":
        entry = industries().get(value or "")
        return entry[1] if entry else dashboards.BLANK
    if dim in REGION_DIMS or dim == "scale":
        return value or dashboards.BLANK
    if dim == "class":
        return str(value) if value is not None else dashboards.BLANK
    return value


def _query_products(
    qs: QuerySet[Product], group: list[str], definition: Definition, patent: str | None
) -> dict[tuple[Any, ...], dict[str, Any]]:
    filters = definition.filter_map
    status_used = "status" in definition.dims or "status" in filters
    qs = qs.filter(at_filed=True) if status_used else qs.filter(at_version__isnull=False)
    for dim, values in filters.items():
        qs = qs.filter(_filter_q(dim, values))
    if patent is not None:
        qs = qs.filter(Exists(PatentLink.objects.filter(version=OuterRef("at_version"), right__patent__kind=patent)))
    if "status" in group:
        qs = qs.annotate(
            at_status=Case(When(at_version__isnull=False, then=Value(APPROVED)), default=Value(NOT_APPROVED))
        )
    if "certified" in group:
        qs = qs.annotate(at_certified_key=Case(When(at_certified=True, then=Value(YES)), default=Value(NO)))
    wanted = [m for m in definition.measures if m in PRODUCT_MEASURES]
    aggregates: dict[str, Any] = {}
    if "products" in wanted:
        aggregates["products"] = Count("pk")
    for name, column in (("sales", "at_sales"), ("exports", "at_exports")):
        if name in wanted:
            aggregates[name] = Sum(column)
    if "output" in wanted:
        qs = qs.annotate(
            at_output=Subquery(ProductVersion.objects.filter(pk=OuterRef("at_version")).values("output_value")[:1])
        )
        aggregates["output"] = Sum("at_output")
    if "patents" in wanted:
        qs = qs.annotate(at_patents=_patent_count(patent))
        aggregates["patents"] = Sum("at_patents")
    if "certified" in wanted:
        aggregates["certified"] = Count("pk", filter=Q(at_certified=True))
    if not aggregates:
        return {}
    fields = [DIMENSIONS[d].field for d in group]
    out: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(dict)
    for row in qs.values(*fields).annotate(**aggregates).order_by():
        key = tuple(_normalise(d, row[DIMENSIONS[d].field]) for d in group)
        target = out[key]
        for name in aggregates:
            target[name] = target.get(name, 0) + (row[name] or 0)
    return out


def _query_units(
    qs: QuerySet[FilingUnit], group: list[str], definition: Definition
) -> dict[tuple[Any, ...], dict[str, Any]]:
    for dim, values in definition.filter_map.items():
        qs = qs.filter(_filter_q(dim, values))
    fields = [DIMENSIONS[d].field for d in group]
    out: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(dict)
    for row in qs.values(*fields).annotate(units=Count("pk")).order_by():
        key = tuple(_normalise(d, row[DIMENSIONS[d].field]) for d in group)
        out[key]["units"] = out[key].get("units", 0) + row["units"]
    return out


def _merge(target: dict[tuple[Any, ...], dict[str, Any]], more: dict[tuple[Any, ...], dict[str, Any]]) -> None:
    for key, values in more.items():
        slot = target.setdefault(key, {})
        for name, value in values.items():
            slot[name] = slot.get(name, 0) + value


def covered_by_cells(definition: Definition) -> bool:
    """The current state of a definition that the summary cells hold: region dimensions and at most one of
    class, section and scale (as dimensions or filters); with one of those, approved products only."""
    if definition.period:
        return False
    used = {*definition.dims, *definition.filter_map}
    keyed = used & set(CELL_KEYS)
    if not used <= {*REGION_DIMS, *CELL_KEYS} or len(keyed) > 1:
        return False
    if keyed:
        return set(definition.measures) <= {"products"}
    return all(MEASURES[m].cells for m in definition.measures)


def _query_cells(
    area: dashboards.Area, group: list[str], definition: Definition
) -> dict[tuple[Any, ...], dict[str, Any]]:
    used = {*definition.dims, *definition.filter_map}
    keyed = sorted(used & set(CELL_KEYS))
    kind = CELL_KEYS[keyed[0]] if keyed else SummaryKind.REGION
    qs: QuerySet[SummaryCell] = summary.cells(area, kind)
    for dim, values in definition.filter_map.items():
        if dim in REGION_DIMS:
            qs = qs.filter(**{f"{dim}_code__in": ["" if v == dashboards.BLANK else v for v in values]})
        else:
            qs = qs.filter(key__in=list(values))
    fields = [f"{d}_code" if d in REGION_DIMS else "key" for d in group]
    aggregates = {m: Sum(MEASURES[m].cells) for m in definition.measures}
    out: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(dict)
    for row in qs.values(*fields).annotate(**aggregates).order_by():
        key = tuple(row[f] or dashboards.BLANK for f in fields)
        for name in aggregates:
            out[key][name] = out[key].get(name, 0) + (row[name] or 0)
    return out


def _frame(
    area: dashboards.Area, definition: Definition, moment: dt.datetime | None, moved: dict[int, dict[str, Any]] | None
) -> Frame:
    group = [d for d in definition.dims if DIMENSIONS[d].kind == GROUP]
    patents = "patent" in definition.dims
    splits: list[str | None] = [None, *PatentKind.values] if patents else [None]
    frame = Frame()
    if moment is None and covered_by_cells(definition):
        frame.data[None] = _query_cells(area, group, definition)
        return frame
    at = dashboards.as_of(area, moment, moved) if moment is not None else None
    needed = {DIMENSIONS[d].field for d in [*group, *definition.filter_map]}
    needed |= {"at_filed", "at_certified", "at_sales", "at_exports", "at_class", "at_industry"}
    for split in splits:
        products = _as_of_products(at) if at is not None else _current_products(area, needed)
        data = _query_products(products, group, definition, split)
        if "units" in definition.measures and split is None:
            _merge(data, _query_units(_unit_queryset(area, at), group, definition))
        frame.data[split] = data
    return frame


# ---------------------------------------------------------------------------------------------
# The result


@dataclass
class Result:
    definition: Definition
    period: periods.Period | None
    before: periods.Period | None
    as_of: dt.datetime | None  # the current state's time (the summary's 数据截至), else None
    from_cells: bool
    header: list[str]
    body: list[list[Any]]  # rows: the row labels, then the numbers
    label_columns: int
    money_columns: set[int]
    percent_columns: set[int]
    chart: dict[str, Any]
    cells: int
    time_note: bool

    @property
    def is_empty(self) -> bool:
        return not self.body


class TooLarge(DefinitionError):
    pass


def run(area: dashboards.Area, definition: Definition) -> Result:
    """The pivot of `definition` in `area` (Http404 for a region filter outside the area; TooLarge when it
    would exceed the caps)."""
    for dim in REGION_DIMS:
        for code in definition.filter_map.get(dim, ()):
            if code != dashboards.BLANK and not area.regions_scope.covers_region(code):
                raise Http404
    period = periods.parse(definition.period) if definition.period else None
    before = period.year_before() if period is not None and definition.compare else None
    time_dim = next((d for d in definition.dims if DIMENSIONS[d].kind == TIME), None)
    current_buckets = buckets(period, time_dim) if period is not None else []
    before_buckets = buckets(before, time_dim) if before is not None else []
    if len(current_buckets) + len(before_buckets) > MAX_MOMENTS:
        raise TooLarge(
            {
                "period": [
                    _("按所选时间维度，期间内的时点过多（%(n)s 个，最多 %(max)s 个）：请缩短期间或改用更粗的时间维度。")
                    % {"n": len(current_buckets) + len(before_buckets), "max": MAX_MOMENTS}
                ]
            }
        )
    as_of = None
    from_cells = period is None and covered_by_cells(definition)
    if period is None:
        as_of = freshness.ensure_fresh(area) if from_cells else None
        frames = {None: _frame(area, definition, None, None)}
        before_frames: dict[Any, Frame] = {}
    else:
        moments = {b.end for b in current_buckets + before_buckets}
        moved_by_moment = {m: dashboards.unit_values_at(m) for m in moments}
        frames = {b.key: _frame(area, definition, b.end, moved_by_moment[b.end]) for b in current_buckets}
        # the year before: bucket i of the current period against bucket i of the year before
        before_frames = (
            {
                cb.key: _frame(area, definition, bb.end, moved_by_moment[bb.end])
                for cb, bb in zip(current_buckets, before_buckets, strict=True)
            }
            if before is not None
            else {}
        )
    return _table(definition, period, before, as_of, from_cells, frames, before_frames, current_buckets, time_dim)


def _keys(definition: Definition, frames: dict[Any, Frame], buckets_: list[Bucket]) -> dict[str, list[Any]]:
    """The row keys and the column keys, in order: every time bucket and patent type, crossed with the
    combinations of the group dimensions' values that hold figures (never the full cross product: a city and a
    county that is not in it make no row)."""
    group = [d for d in definition.dims if DIMENSIONS[d].kind == GROUP]
    seen: set[tuple[Any, ...]] = set()
    for frame in frames.values():
        for data in frame.data.values():
            for key, measures in data.items():
                if any(measures.values()):
                    seen.add(key)
    split_values: dict[str, list[Any]] = {}
    for d in definition.dims:
        if DIMENSIONS[d].kind == TIME:
            split_values[d] = [b.key for b in buckets_]
        elif DIMENSIONS[d].kind == PATENT:
            split_values[d] = sorted(definition.filter_map.get("patent") or PatentKind.values, key=_sort_key("patent"))
    out: dict[str, list[Any]] = {}
    for side, dims in (("rows", definition.rows), ("cols", definition.cols)):
        if not dims:
            out[side] = [()]
            continue
        own = [group.index(d) for d in dims if d in group]
        combos = {tuple(key[i] for i in own) for key in seen}
        splits = list(itertools.product(*[split_values[d] for d in dims if d in split_values]))
        keys = []
        for split in splits:
            for combo in combos:
                parts, s_iter, c_iter = [], iter(split), iter(combo)
                for d in dims:
                    parts.append(next(s_iter) if d in split_values else next(c_iter))
                keys.append(tuple(parts))

        def order(key: tuple[Any, ...], dims: tuple[str, ...] = dims) -> tuple[Any, ...]:
            return tuple(
                split_values[d].index(v) if d in split_values else _sort_key(d)(v)
                for d, v in zip(dims, key, strict=True)
            )

        out[side] = sorted(keys, key=order)
    return out


def _figure(
    definition: Definition,
    frames: dict[Any, Frame],
    last_bucket: Any,
    assignment: dict[str, Any],
    measure: str,
) -> Any:
    """One number: the measure with each dimension at a value or TOTAL."""
    time_dim = definition.time_dim
    bucket = last_bucket if time_dim is None or assignment[time_dim] is TOTAL else assignment[time_dim]
    frame = frames[bucket]
    patent = assignment.get("patent", TOTAL) if "patent" in definition.dims else TOTAL
    data = frame.data[None if patent is TOTAL else patent]
    group = definition.group_dims
    wanted = tuple(i for i, d in enumerate(group) if assignment[d] is not TOTAL)
    sums = frame.margins.get((patent is TOTAL, patent, wanted))
    if sums is None:  # the data summed over the other dimensions, once per pattern of TOTALs
        sums = {}
        for key, measures in data.items():
            slot = sums.setdefault(tuple(key[i] for i in wanted), {})
            for name, value in measures.items():
                slot[name] = slot.get(name, 0) + (value or 0)
        frame.margins[(patent is TOTAL, patent, wanted)] = sums
    total: Any = sums.get(tuple(assignment[group[i]] for i in wanted), {}).get(measure, 0)
    if MEASURES[measure].money:
        return Decimal(total).quantize(Decimal("0.01"))
    return int(total)


def measure_label(definition: Definition, measure: str) -> str:
    """A measure's header; products are filed products when the filing status is a dimension or filter."""
    if measure == "products" and ("status" in definition.dims or "status" in definition.filter_map):
        return _("已提交备案产品")
    return str(MEASURES[measure].label)


def _table(
    definition: Definition,
    period: periods.Period | None,
    before: periods.Period | None,
    as_of: dt.datetime | None,
    from_cells: bool,
    frames: dict[Any, Frame],
    before_frames: dict[Any, Frame],
    buckets_: list[Bucket],
    time_dim: str | None,
) -> Result:
    keys = _keys(definition, {**{("b", k): v for k, v in before_frames.items()}, **frames}, buckets_)
    labels = _dimension_labels(definition, keys, buckets_)
    last = buckets_[-1].key if buckets_ else None
    compare = bool(before_frames)
    parts = [""] if not compare else ["", "before", "difference", "percent"]
    row_keys, col_keys = keys["rows"], keys["cols"]
    if definition.rows:
        row_keys.append(tuple(TOTAL for _d in definition.rows))
    if definition.cols:
        col_keys.append(tuple(TOTAL for _d in definition.cols))
    n_numbers = len(row_keys) * len(col_keys) * len(definition.measures) * len(parts)
    _check_size(n_numbers)

    def label_of(dims: tuple[str, ...], key: tuple[Any, ...]) -> list[str]:
        return [_("合计") if v is TOTAL else labels[d](v) for d, v in zip(dims, key, strict=True)]

    header = [str(DIMENSIONS[d].label) for d in definition.rows] or ([_("项目")] if definition.cols else [""])
    label_columns = len(header)
    columns, money_columns, percent_columns = _number_columns(definition, header, col_keys, parts, label_of)

    def number(assign: dict[str, Any], m: str, part: str) -> Any:
        current = _figure(definition, frames, last, assign, m)
        if not part:
            return current
        before_value = _figure(definition, before_frames, last, assign, m)
        if part == "before":
            return before_value
        change = periods.change(current, before_value)
        return change["difference"] if part == "difference" else change["percent"]

    body: list[list[Any]] = []
    for rkey in row_keys:
        row: list[Any] = label_of(definition.rows, rkey) if definition.rows else [_("合计")]
        if definition.rows and rkey[0] is TOTAL:
            row = [_("合计"), *([""] * (len(definition.rows) - 1))]
        numbers = []
        for ckey, m, part in columns:
            assign = {**dict(zip(definition.rows, rkey, strict=True)), **dict(zip(definition.cols, ckey, strict=True))}
            numbers.append(number(assign, m, part))
        is_total = definition.rows and rkey[0] is TOTAL
        if not is_total and not any(numbers):
            continue  # a combination with nothing in it (the dimensions' values are crossed)
        body.append(row + numbers)
    if len(body) == 1 and definition.rows and not any(body[0][label_columns:]):
        body = []  # only a totals row of zeros: nothing to show
    chart = _chart(definition, header, body, label_columns, columns, time_dim)
    return Result(
        definition=definition,
        period=period,
        before=before,
        as_of=as_of,
        from_cells=from_cells,
        header=header,
        body=body,
        label_columns=label_columns,
        money_columns=money_columns,
        percent_columns=percent_columns,
        chart=chart,
        cells=n_numbers,
        time_note=time_dim is not None,
    )


def _dimension_labels(
    definition: Definition, keys: dict[str, list[tuple[Any, ...]]], buckets_: list[Bucket]
) -> dict[str, Callable[[Any], str]]:
    """The labeller of each dimension of the table (a time dimension's buckets by their labels)."""
    labels: dict[str, Callable[[Any], str]] = {}
    for d in definition.dims:
        if DIMENSIONS[d].kind == TIME:
            names = {b.key: b.label for b in buckets_}
            labels[d] = lambda v, names=names: names.get(v, v)
        else:
            index = (definition.rows if d in definition.rows else definition.cols).index(d)
            side = keys["rows"] if d in definition.rows else keys["cols"]
            labels[d] = _labeller(d, {key[index] for key in side})
    return labels


def _check_size(n_numbers: int) -> None:
    """Refuse a table of more than MAX_CELLS numbers."""
    if n_numbers > MAX_CELLS:
        raise TooLarge(
            {
                "__all__": [
                    _("结果过大：约 %(n)s 个数值，最多 %(max)s 个。请减少维度、增加筛选条件或缩短期间。")
                    % {"n": f"{n_numbers:,}", "max": f"{MAX_CELLS:,}"}
                ]
            }
        )


def _number_columns(
    definition: Definition,
    header: list[str],
    col_keys: list[tuple[Any, ...]],
    parts: list[str],
    label_of: Callable[[tuple[str, ...], tuple[Any, ...]], list[str]],
) -> tuple[list[tuple[tuple[Any, ...], str, str]], set[int], set[int]]:
    """Append the number columns' headers to `header`; returns the columns (column key, measure, part) and the
    indexes of the money and percent columns."""
    part_labels = {
        "": _("本期") if len(parts) > 1 else "",
        "before": _("上年同期"),
        "difference": _("增减"),
        "percent": _("增幅（%）"),
    }
    money_columns: set[int] = set()
    percent_columns: set[int] = set()
    columns: list[tuple[tuple[Any, ...], str, str]] = []
    for ckey in col_keys:
        for m in definition.measures:
            for part in parts:
                text = " · ".join([*label_of(definition.cols, ckey), measure_label(definition, m), part_labels[part]])
                header.append(text.strip(" ·"))
                index = len(header) - 1
                if part == "percent":
                    percent_columns.add(index)
                elif MEASURES[m].money:
                    money_columns.add(index)
                columns.append((ckey, m, part))
    return columns, money_columns, percent_columns


def _chart(
    definition: Definition,
    header: list[str],
    body: list[list[Any]],
    label_columns: int,
    columns: list[tuple[tuple[Any, ...], str, str]],
    time_dim: str | None,
) -> dict[str, Any]:
    """The chart's data: one category per row (totals excluded), one series per column of the first measure's
    current values (the totals column excluded)."""
    first = definition.measures[0]
    rows = [r for r in body if not (definition.rows and r[0] == _("合计") and r is body[-1])]
    series = []
    for index, (ckey, m, part) in enumerate(columns):
        if m != first or part or (definition.cols and ckey and ckey[0] is TOTAL):
            continue
        series.append(
            {
                "name": header[label_columns + index],
                "values": [float(r[label_columns + index] or 0) for r in rows],
            }
        )
    return {
        "type": "line" if definition.chart == "line" or time_dim in definition.rows else "bar",
        "categories": [" ".join(str(x) for x in r[:label_columns] if x) for r in rows],
        "series": series,
        "measure": measure_label(definition, first),
    }


# ---------------------------------------------------------------------------------------------
# Saved analyses


def port_of(user: Any) -> Any:
    """The management unit a port administrator belongs to (None for the national office)."""
    from provincial.models import PortMembership

    membership = PortMembership.objects.filter(user=user).select_related("unit").first()
    return membership.unit if membership is not None else None


def saved_visible_to(user: Any) -> QuerySet[Any]:
    """The user's own saved analyses and those shared within the user's port (national administrators: those
    shared by national administrators): the scoping rule of the model (`SavedAnalysisQuerySet.visible_to`).
    Anything else answers 404 where it is asked for."""
    from provincial.models import SavedAnalysis

    return SavedAnalysis.objects.visible_to(user).select_related("owner")


def save_analysis(user: Any, name: str, definition: Definition, shared: bool) -> Any:
    """A new saved analysis of `definition` (already validated) for `user`, in the user's port."""
    from provincial.models import SavedAnalysis

    name = (name or "").strip()
    if not name:
        raise DefinitionError({"name": [_("请填写名称。")]})
    if len(name) > 100:
        raise DefinitionError({"name": [_("名称最长 100 个字符。")]})
    return SavedAnalysis.objects.create(
        owner=user, unit=port_of(user), name=name, definition=definition.to_data(), shared=shared
    )
