"""The analysis queries: the time buckets of a period, and one GROUP BY per table and moment (the summary cells
when they hold everything asked for, else the base tables, now or as of a moment)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from filings.choices import PatentKind
from filings.industries import industries
from filings.models import FilingUnit, PatentLink, Product, ProductVersion
from provincial import dashboards, periods
from provincial.analysis.definition import (
    APPROVED,
    CELL_KEYS,
    DIMENSIONS,
    GROUP,
    MEASURES,
    NO,
    NOT_APPROVED,
    PRODUCT_MEASURES,
    REGION_DIMS,
    YES,
    Definition,
)
from provincial.dashboards import summary
from provincial.models import SummaryCell, SummaryKind


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
    # at.units() carries the codes, the industry and the scale at the moment already
    return at.units().annotate(at_kind=at.value("kind", "pk", "kind"))


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
    qs = qs.filter(Q(at_filed=True)) if status_used else qs.filter(Q(at_version__isnull=False))
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


def build_frame(
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
