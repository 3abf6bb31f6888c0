"""The dashboard's figures computed live from the base tables, read through the scoping rule: the
reference the summary cells are checked against (tests/provincial/test_summary.py), and the lists behind
every figure (`filter_products`, `filter_units`: the same filters, so a figure and its list agree).

Definitions: the package's (provincial/dashboards/__init__.py)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from django.db.models import (
    Count,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from filings.industries import industries
from filings.models import FilingUnit, Product
from patent_platform import clock
from patent_platform.i18n import localized_name
from provincial.dashboards.area import (
    APPROVED,
    BLANK,
    Area,
    Filters,
    level_field,
    region_q_of,
    require_in_area,
    scale_label,
    section_label,
    unit_q_of,
)
from provincial.dashboards.conditions import (
    approved_before,
    certified_condition,
    filed_condition,
    first_approval,
    flagged_condition,
)
from provincial.dashboards.period import parse_month, trend_months, trend_start
from provincial.dashboards.rows import by_region, ordered_counts, rank, rank_ports, totals_of

if TYPE_CHECKING:
    from patent_platform.scoping import Reader


def filter_products(area: Area, filters: Filters) -> QuerySet[Product]:
    """The area's products that the filters select (a region outside the area: 404)."""
    require_in_area(area, filters)
    qs = area.products()
    if filters.status == APPROVED or filters.month or filters.since or filters.until or filters.product_class:
        qs = qs.filter(published_version__isnull=False)
    else:
        qs = qs.filter(filed_condition())
    if filters.region:
        qs = qs.filter(region_q_of(filters))
    if filters.product_class:
        qs = qs.filter(published_version__product_class_id=filters.product_class)
    qs = qs.filter(unit_q_of(filters, "unit__"))
    if filters.month and (start := parse_month(filters.month)) is not None:
        qs = qs.filter(~approved_before(start), approved_before(clock.next_month(start)))
    if filters.since and (start := parse_month(filters.since)) is not None:
        qs = qs.filter(~approved_before(start))
    if filters.until and (start := parse_month(filters.until)) is not None:
        qs = qs.filter(approved_before(clock.next_month(start)))
    return qs


def filter_units(area: Area, filters: Filters) -> QuerySet[FilingUnit]:
    """The area's filing units that the filters select (a region outside the area: 404)."""
    require_in_area(area, filters)
    qs = area.units()
    if filters.region:
        qs = qs.filter(region_q_of(filters))
    return qs.filter(unit_q_of(filters, ""))


# ---------------------------------------------------------------------------------------------
# The figures


def totals(area: Area) -> dict[str, Any]:
    """Filing units, filed and approved products, sales and exports of the approved products."""
    figures = area.products().aggregate(
        filed=Count("pk", filter=Q(filed_condition())),
        approved=Count("pk", filter=Q(published_version__isnull=False)),
        growth=Count("pk", filter=Q(published_version__isnull=False) & ~Q(approved_before(trend_start()))),
        sales=Sum("published_version__sales"),
        exports=Sum("published_version__exports"),
        certified=Count("pk", filter=Q(certified_condition())),
        flagged=Count("pk", filter=Q(published_version__isnull=False) & Q(flagged_condition(area.user))),
    )
    return totals_of(area.units().count(), figures)


def trend(area: Area) -> list[dict[str, Any]]:
    """Approved products by month of first approval, the last 12 months (zero months included)."""
    months = trend_months()
    rows = (
        area.products()
        .filter(published_version__isnull=False)
        .annotate(first=first_approval())
        .filter(first__gte=months[0])
        .annotate(month=TruncMonth("first", tzinfo=clock.CHINA_TZ))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by("month")
    )
    counts = {clock.month_key(row["month"]): row["n"] for row in rows}
    return [{"month": m.strftime("%Y-%m"), "count": counts.get(m.strftime("%Y-%m"), 0)} for m in months]


def _approved(area: Area) -> QuerySet[Product]:
    return area.products().filter(published_version__isnull=False)


def by_class(area: Area) -> list[dict[str, Any]]:
    rows = (
        _approved(area)
        .values(
            "published_version__product_class_id",
            "published_version__product_class__code",
            "published_version__product_class__name",
            "published_version__product_class__name_en",
        )
        .annotate(n=Count("pk"))
        .order_by("-n", "published_version__product_class__code")
    )
    return [
        {
            "key": str(row["published_version__product_class_id"]),
            "label": f"{row['published_version__product_class__code']} "
            + localized_name(row, "published_version__product_class__name"),
            "count": row["n"],
            "filters": Filters(status=APPROVED, product_class=row["published_version__product_class_id"]).params(),
        }
        for row in rows
    ]


def by_section(area: Area) -> list[dict[str, Any]]:
    """By GB/T 4754 section: grouped by the unit's industry code, mapped to sections over the rows."""
    known = industries()
    counts: Counter[str] = Counter()
    for row in _approved(area).values("unit__industry").annotate(n=Count("pk")).order_by():
        entry = known.get(row["unit__industry"])
        counts[entry[1] if entry else BLANK] += row["n"]
    return ordered_counts(counts, section_label, "section")


def by_scale(area: Area) -> list[dict[str, Any]]:
    counts: Counter[str] = Counter()
    for row in _approved(area).values("unit__scale").annotate(n=Count("pk")).order_by():
        counts[row["unit__scale"] or BLANK] += row["n"]
    return ordered_counts(counts, scale_label, "scale")


def _region_figures(products: QuerySet[Product], units: QuerySet[FilingUnit], fields: list[str]) -> tuple[Any, Any]:
    start = trend_start()
    product_rows = (
        products.values(*fields)
        .annotate(
            filed=Count("pk", filter=Q(filed_condition())),
            approved=Count("pk", filter=Q(published_version__isnull=False)),
            growth=Count("pk", filter=Q(published_version__isnull=False) & ~Q(approved_before(start))),
            sales=Sum("published_version__sales"),
        )
        .order_by()
    )
    unit_rows = units.values(*fields).annotate(units=Count("pk")).order_by()
    return product_rows, unit_rows


def ranking(area: Area) -> list[dict[str, Any]]:
    """One row per region at the breakdown level (all of the area's regions, zeros included), ranked by
    `rank_score`: approved products, then filing units, then new approvals."""
    product_rows, unit_rows = _region_figures(area.products(), area.units(), [level_field(area.level)])
    return rank(area, product_rows, unit_rows)


def live_dashboard(area: Area) -> dict[str, Any]:
    """`dashboard` computed from the base tables (the reference the summary is checked against)."""
    ranked = ranking(area)
    return {
        "as_of": timezone.now(),
        "port": (
            {"code": area.port.code, "name": localized_name(area.port), "kind": area.port.kind}
            if area.port is not None
            else None
        ),
        "level": area.level,
        "totals": totals(area),
        "trend": trend(area),
        "by_region": by_region(ranked),
        "by_class": by_class(area),
        "by_section": by_section(area),
        "by_scale": by_scale(area),
        "ranking": ranked,
    }


def live_national_ranking(user: Reader) -> list[dict[str, Any]]:
    """`national_ranking` computed from the base tables."""
    fields = ["province_code", "city_code", "county_code"]
    product_rows, unit_rows = _region_figures(
        Product.objects.visible_to(user), FilingUnit.objects.visible_to(user), fields
    )
    return rank_ports(user, product_rows, unit_rows)
