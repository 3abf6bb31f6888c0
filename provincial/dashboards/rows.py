"""The rows a dashboard shows, shaped once for the three sources of its figures (the live queries, the
summary cells and the state as of a moment): the cards, the ordered breakdowns, the region ranking and the
national ranking of the 47 management units."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from patent_platform.i18n import localized_name
from patent_platform.ranking import competition_rank
from provincial.dashboards.area import (
    APPROVED,
    BLANK,
    CERTIFIED_NOTE,
    FILED,
    Area,
    Filters,
    area_regions,
    level_field,
)
from provincial.models import ManagementUnit

if TYPE_CHECKING:
    from patent_platform.scoping import Reader


def totals_of(units: int, figures: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's cards from the aggregated figures (live or as of a moment: one shape for both)."""
    return {
        "units": units,
        "filed": figures["filed"],
        "approved": figures["approved"],
        "growth": figures["growth"],
        "sales": figures["sales"] or Decimal(0),
        "exports": figures["exports"] or Decimal(0),
        "certified": figures["certified"],
        "certified_note": _(CERTIFIED_NOTE),
        "flagged": figures["flagged"],
    }


def ordered_counts(counts: Counter[str], label: Any, filter_name: str) -> list[dict[str, Any]]:
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0] == BLANK, item[0]))

    def by_name(key: str) -> dict[str, Any]:
        return {filter_name: key}

    return [
        {
            "key": key,
            "label": label(key),
            "count": n,
            "filters": Filters(status=APPROVED, **by_name(key)).params(),
        }
        for key, n in rows
        if n
    ]


def class_rows(counts: Counter[str]) -> list[dict[str, Any]]:
    from filings.models import ProductClass

    classes = {
        str(row["pk"]): (row["code"], localized_name(row))
        for row in ProductClass.objects.filter(pk__in=[int(k) for k in counts]).values("pk", "code", "name", "name_en")
    }
    rows = sorted(counts.items(), key=lambda item: (-item[1], classes.get(item[0], ("", ""))[0]))
    return [
        {
            "key": key,
            "label": f"{classes[key][0]} {classes[key][1]}" if key in classes else key,
            "count": n,
            "filters": Filters(status=APPROVED, product_class=int(key)).params(),
        }
        for key, n in rows
    ]


RANK_CRITERIA = ("approved", "units", "growth")


def rank_score(row: dict[str, Any]) -> tuple[int, ...]:
    """What ranks a region or a port (one rule for both rankings, issue 17, mechanism 3): approved products,
    then filing units, then approvals new in the last 12 months. The region ranking of a port and the national
    port ranking thus order (and tie) two regions alike: 广州 and 深圳 stand in 广东's ranking as they stand among
    the 47 ports."""
    return tuple(row[name] for name in RANK_CRITERIA)


def rank(area: Area, product_rows: Any, unit_rows: Any) -> list[dict[str, Any]]:
    """The ranking's rows from grouped figures (live, or from the summary cells)."""
    code_field = level_field(area.level)
    rows: dict[str, dict[str, Any]] = {}

    def row(code: str, name: str = "") -> dict[str, Any]:
        key = code or BLANK
        if key not in rows:
            rows[key] = {
                "code": key,
                "name": name or (_("未细分到该级") if key == BLANK else key),
                "units": 0,
                "filed": 0,
                "approved": 0,
                "growth": 0,
                "sales": Decimal(0),
            }
        return rows[key]

    for region in area_regions(area):
        row(region.code, localized_name(region))
    for r in product_rows:
        target = row(r[code_field])
        target.update(filed=r["filed"], approved=r["approved"], growth=r["growth"], sales=r["sales"] or Decimal(0))
    for r in unit_rows:
        row(r[code_field])["units"] = r["units"]
    ranked = sorted(rows.values(), key=lambda r: (*(-v for v in rank_score(r)), r["code"] == BLANK, r["code"]))
    competition_rank(ranked, key=rank_score)
    for r in ranked:
        place = Filters(region=r["code"], level=area.level)
        r["filters"] = {
            "approved": Filters(status=APPROVED, region=place.region, level=place.level).params(),
            "filed": Filters(status=FILED, region=place.region, level=place.level).params(),
            "units": place.params(status=""),
        }
    return ranked


def by_region(ranked: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The breakdown of approved products by region, from the ranking's rows (no further query)."""
    return [
        {"key": r["code"], "label": r["name"], "count": r["approved"], "filters": r["filters"]["approved"]}
        for r in ranked
        if r["approved"]
    ]


def rank_ports(user: Reader, product_rows: Any, unit_rows: Any) -> list[dict[str, Any]]:
    """The 47 units' rows from figures grouped by (province, city, county)."""
    fields = ["province_code", "city_code", "county_code"]
    by_code: dict[str, Counter[str]] = defaultdict(Counter)
    sales: dict[str, Decimal] = defaultdict(Decimal)
    for r in product_rows:
        for code in {r[f] for f in fields} - {""}:
            by_code[code].update({"filed": r["filed"], "approved": r["approved"], "growth": r["growth"]})
            sales[code] += r["sales"] or Decimal(0)
    for r in unit_rows:
        for code in {r[f] for f in fields} - {""}:
            by_code[code]["units"] += r["units"]
    result = []
    for unit in ManagementUnit.objects.visible_to(user).prefetch_related("regions"):
        figures: Counter[str] = Counter()
        unit_sales = Decimal(0)
        for region in unit.regions.all():
            figures.update(by_code.get(region.code, Counter()))
            unit_sales += sales.get(region.code, Decimal(0))
        result.append(
            {
                "code": unit.code,
                "name": localized_name(unit),
                "kind": unit.kind,
                "kind_label": str(unit.get_kind_display()),
                "is_open": unit.is_open,
                "units": figures["units"],
                "filed": figures["filed"],
                "approved": figures["approved"],
                "growth": figures["growth"],
                "sales": unit_sales,
            }
        )
    result.sort(key=lambda r: (*(-v for v in rank_score(r)), r["code"]))
    competition_rank(result, key=rank_score)
    return result
