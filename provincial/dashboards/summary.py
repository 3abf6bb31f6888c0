"""The dashboard's figures now, read from the summary cells (the fast path; same shapes as the live
queries of provincial/dashboards/live.py, which they equal): made fresh first for the area
(provincial/dashboards/freshness.py), read through the scoping rule, with the time they are as of."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import (
    QuerySet,
    Sum,
)
from django.utils.translation import gettext as _

from patent_platform import clock
from patent_platform.i18n import localized_name
from provincial.dashboards.area import (
    BLANK,
    CERTIFIED_NOTE,
    Area,
    level_field,
    scale_label,
    section_label,
)
from provincial.dashboards.cells import TRIPLE
from provincial.dashboards.freshness import ensure_fresh
from provincial.dashboards.period import trend_months, trend_start
from provincial.dashboards.rows import by_region, class_rows, ordered_counts, rank, rank_ports
from provincial.models import SummaryCell, SummaryKind

if TYPE_CHECKING:
    from patent_platform.scoping import Reader


def cells(area: Area, kind: str) -> QuerySet[SummaryCell]:
    qs = SummaryCell.objects.visible_to(area.user).filter(kind=kind)
    return qs.filter(area.narrowed.region_q("")) if area.narrowed is not None else qs


def totals(area: Area, growth: int) -> dict[str, Any]:
    """The region cells summed; `growth` is the trend's sum (first approvals in the last 12 months)."""
    figures = cells(area, SummaryKind.REGION).aggregate(
        units=Sum("units"),
        filed=Sum("filed"),
        approved=Sum("approved"),
        certified=Sum("certified"),
        flagged=Sum("flagged"),
        sales=Sum("sales"),
        exports=Sum("exports"),
    )
    return {
        "units": figures["units"] or 0,
        "filed": figures["filed"] or 0,
        "approved": figures["approved"] or 0,
        "growth": growth,
        "sales": Decimal(figures["sales"] or 0),
        "exports": Decimal(figures["exports"] or 0),
        "certified": figures["certified"] or 0,
        "certified_note": _(CERTIFIED_NOTE),
        "flagged": figures["flagged"] or 0,
    }


def trend(area: Area) -> list[dict[str, Any]]:
    months = [clock.month_key(m) for m in trend_months()]
    counts = {
        row["key"]: row["n"]
        for row in cells(area, SummaryKind.MONTH)
        .filter(key__gte=months[0])
        .exclude(key=BLANK)
        .values("key")
        .annotate(n=Sum("approved"))
        .order_by()
    }
    return [{"month": m, "count": counts.get(m, 0)} for m in months]


def months(area: Area, first: str, end: str) -> dict[str, int]:
    """Approved products by month of first approval (YYYY-MM keys) in [first, end)."""
    return {
        row["key"]: row["n"] or 0
        for row in cells(area, SummaryKind.MONTH)
        .filter(key__gte=first, key__lt=end)
        .exclude(key=BLANK)
        .values("key")
        .annotate(n=Sum("approved"))
        .order_by()
    }


def breakdowns(area: Area) -> dict[str, Counter[str]]:
    """Approved products per key of the class, section and scale cells (one query)."""
    counts: dict[str, Counter[str]] = {
        kind: Counter() for kind in (SummaryKind.CLASS, SummaryKind.SECTION, SummaryKind.SCALE)
    }
    qs = SummaryCell.objects.visible_to(area.user).filter(kind__in=list(counts))
    if area.narrowed is not None:
        qs = qs.filter(area.narrowed.region_q(""))
    for row in qs.values("kind", "key").annotate(n=Sum("approved")).order_by():
        if row["n"]:
            counts[row["kind"]][row["key"]] = row["n"]
    return counts


def region_figures(
    region_cells: QuerySet[SummaryCell], month_cells: QuerySet[SummaryCell], fields: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows shaped like `_region_figures`: (product rows with filed, approved, growth and sales;
    unit rows with units), grouped by `fields`."""
    growth: dict[tuple[str, ...], int] = defaultdict(int)
    for row in (
        month_cells.filter(key__gte=clock.month_key(trend_start()))
        .exclude(key=BLANK)
        .values(*fields)
        .annotate(n=Sum("approved"))
        .order_by()
    ):
        growth[tuple(row[f] for f in fields)] += row["n"] or 0
    product_rows, unit_rows = [], []
    for row in (
        region_cells.values(*fields)
        .annotate(filed=Sum("filed"), approved=Sum("approved"), sales=Sum("sales"), units=Sum("units"))
        .order_by()
    ):
        key = tuple(row[f] for f in fields)
        product_rows.append(
            {
                **{f: row[f] for f in fields},
                **{k: row[k] for k in ("filed", "approved", "sales")},
                "growth": growth.get(key, 0),
            }
        )
        unit_rows.append({**{f: row[f] for f in fields}, "units": row["units"] or 0})
    return product_rows, unit_rows


def ranking(area: Area) -> list[dict[str, Any]]:
    fields = [level_field(area.level)]
    product_rows, unit_rows = region_figures(cells(area, SummaryKind.REGION), cells(area, SummaryKind.MONTH), fields)
    return rank(area, product_rows, unit_rows)


def national_ranking(user: Reader) -> list[dict[str, Any]]:
    visible = SummaryCell.objects.visible_to(user)
    ensure_fresh(Area(user=user))
    product_rows, unit_rows = region_figures(
        visible.filter(kind=SummaryKind.REGION), visible.filter(kind=SummaryKind.MONTH), list(TRIPLE)
    )
    return rank_ports(user, product_rows, unit_rows)


def dashboard(area: Area) -> dict[str, Any]:
    """`dashboard` from the cells."""
    as_of = ensure_fresh(area)
    ranked = ranking(area)
    months = trend(area)
    counts = breakdowns(area)
    return {
        "as_of": as_of,
        "port": (
            {"code": area.port.code, "name": localized_name(area.port), "kind": area.port.kind}
            if area.port is not None
            else None
        ),
        "level": area.level,
        "totals": totals(area, sum(m["count"] for m in months)),
        "trend": months,
        "by_region": by_region(ranked),
        "by_class": class_rows(counts[SummaryKind.CLASS]),
        "by_section": ordered_counts(counts[SummaryKind.SECTION], section_label, "section"),
        "by_scale": ordered_counts(counts[SummaryKind.SCALE], scale_label, "scale"),
        "ranking": ranked,
    }
