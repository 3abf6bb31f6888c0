"""The figures of the monthly publications and of the year-end evaluation (成效评价) of the ports.

Every figure is read through an `Area` from `provincial.dashboards.area_for_unit` (a `Principal` holding the
port's regions, or the national office), with the dashboard's own functions and definitions, so a
publication counts exactly what the port's administrators see on their dashboard:

- the monthly figures are the state at the month's end, whatever day they are built: every one of them
  (totals, trend, comparison, ranking / by region, by class, section, scale and unit kind, the month's list,
  the roster coverage) reads `dashboards.state_at` / `dashboards.AsOf` at that instant — the function the dashboards
  use for `?as_of=YYYY-MM` — so one file's figures agree with each other and a rebuild gives the same ones
  unless data of the month were corrected (then `stamp` lists the changes against the edition before);
- "new approvals of a month" are the products approved at the month's end whose first approval (among the
  versions approved then) lies inside that month (Asia/Shanghai);
- the year-end cards are the state at the year's end (31 December 24:00), through the same `dashboards.state_at`
  (with the figures only the year-end needs: `year_end=True`), so a card rebuilt on 20 January equals the one
  built on 2 January unless data of the year were corrected.

The result is plain JSON (Decimals as strings, dates and instants in ISO 8601): it is stored as the
publication's snapshot (`Publication.figures`) and is all that `documents.py` needs to write the files.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast

from django.db.models import Count, Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filings.choices import UnitKind as FilingUnitKind
from filings.models import FilingUnit, ProductVersion
from patent_platform import clock
from patent_platform.choices import RegionLevel
from patent_platform.models import Region
from patent_platform.ranking import competition_rank
from patent_platform.typenames import StrOrPromise
from provincial import dashboards, rosters
from provincial import reports as progress_reports
from provincial.choices import ReportCategory, RosterCategory
from provincial.models import ManagementUnit, Roster

if TYPE_CHECKING:
    from patent_platform.scoping import Reader

TREND_MONTHS = dashboards.TREND_MONTHS
NATIONAL_CODE = "NATIONAL"

# The composite score of the year-end evaluation: each part is scaled to 0–100, then weighted (sum 1).
# Counts (approved products at year end, new approvals in the year, certified products, reports marked as
# typical cases) are scaled against the highest port (the port with the most gets 100); percentages (roster
# coverage, invention share) are taken as they are (a port without rosters scores 0 for coverage); the
# port's own progress reports (工作报送) of the year count up to REPORTS_FULL_MARKS (one a month) for 100.
SCORE_WEIGHTS: dict[str, Decimal] = {
    "approved": Decimal("0.25"),
    "new": Decimal("0.20"),
    "coverage": Decimal("0.20"),
    "invention": Decimal("0.15"),
    "certified": Decimal("0.10"),
    "reports": Decimal("0.05"),
    "typical": Decimal("0.05"),
}
REPORTS_FULL_MARKS = 12
SCORE_LABELS = {
    "approved": gettext_lazy("年末通过备案产品数"),
    "new": gettext_lazy("年度新增通过备案产品数"),
    "coverage": gettext_lazy("重点企业名单覆盖率（去重合计）"),
    "invention": gettext_lazy("含发明专利产品占比"),
    "certified": gettext_lazy("认定的专利密集型产品数"),
    "reports": gettext_lazy("年度工作报送篇数（12 篇及以上满分）"),
    "typical": gettext_lazy("报送被列为典型案例数"),
}
SCALED_AGAINST_TOP = ("approved", "new", "certified", "typical")
LEVEL_LABELS: dict[str, StrOrPromise] = {
    RegionLevel.PROVINCE: gettext_lazy("省份"),
    RegionLevel.CITY: gettext_lazy("城市"),
    RegionLevel.COUNTY: gettext_lazy("区县"),
}


# ---------------------------------------------------------------------------------------------
# Small helpers


def _money(value: Any) -> str:
    return str(Decimal(value or 0).quantize(Decimal("0.01")))


def change_percent(current: int, other: int) -> str | None:
    """The change from `other` to `current` in percent (one decimal, as a string); None when `other` is 0."""
    if not other:
        return None
    return str((Decimal(100) * (current - other) / other).quantize(Decimal("0.1")))


def share_percent(part: int, whole: int) -> str | None:
    if not whole:
        return None
    return str((Decimal(100) * part / whole).quantize(Decimal("0.1")))


def month_label(moment: dt.datetime | dt.date) -> str:
    return _("%(year)s年%(month)s月") % {"year": moment.year, "month": moment.month}


def scope_name(unit: ManagementUnit | None) -> str:
    return unit.name if unit is not None else _("全国")


def _port(unit: ManagementUnit | None) -> dict[str, Any] | None:
    if unit is None:
        return None
    return {"code": unit.code, "name": unit.name, "kind": unit.kind, "kind_label": str(unit.get_kind_display())}


# ---------------------------------------------------------------------------------------------
# The monthly publication


def _new_rows(at: dashboards.AsOf, start: dt.datetime) -> list[dict[str, Any]]:
    """The products first approved in the month starting at `start` (and still approved at its end), as
    they stood at the month's end: the published version then, the unit's name and region then."""
    products = list(
        at.approved()
        .filter(at_first__gte=start, at_first__lt=clock.next_month(start))
        .order_by("at_first", "filing_number", "pk")
        .values("pk", "filing_number", "unit_id", "at_version", "at_first")
    )
    versions = {
        v["pk"]: v
        for v in ProductVersion.objects.filter(pk__in=[p["at_version"] for p in products]).values(
            "pk", "name", "product_class__code", "product_class__name"
        )
    }
    units = {
        u["pk"]: {**u, **at.moved.get(u["pk"], {})}
        for u in FilingUnit.objects.filter(pk__in={p["unit_id"] for p in products}).values("pk", "name", "region_id")
    }
    regions = {
        r.pk: r.full_name
        for r in Region.objects.filter(pk__in={u["region_id"] for u in units.values()}).select_related("parent__parent")
    }
    rows = []
    for product in products:
        version, unit = versions[cast(int, product["at_version"])], units[product["unit_id"]]  # approved rows
        rows.append(
            {
                "filing_number": product["filing_number"] or "",
                "product": version["name"],
                "unit": unit["name"],
                "product_class": f"{version['product_class__code']} {version['product_class__name']}",
                "region": regions.get(unit["region_id"], ""),
                "approved_on": timezone.localtime(product["at_first"], clock.CHINA_TZ).date().isoformat(),
            }
        )
    return rows


def _region_rows(state: dict[str, Any], new_by_code: Counter[str]) -> list[dict[str, Any]]:
    """The ranking (every region at the breakdown level), with the month's new approvals."""
    return [
        {
            "rank": r["rank"],
            "code": r["code"],
            "name": str(r["name"]),
            "units": r["units"],
            "filed": r["filed"],
            "approved": r["approved"],
            "growth": r["growth"],
            "sales": _money(r["sales"]),
            "new": new_by_code.get(r["code"], 0),
        }
        for r in state["ranking"]
    ]


def _new_by_region(at: dashboards.AsOf, start: dt.datetime) -> Counter[str]:
    code = f"at_{dashboards.level_field(at.area.level)}"
    counts: Counter[str] = Counter()
    for row in (
        at.approved()
        .filter(at_first__gte=start, at_first__lt=clock.next_month(start))
        .values(code)
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts[row[code] or dashboards.BLANK] += row["n"]
    return counts


def _counts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"key": r["key"], "label": str(r["label"]), "count": r["count"]} for r in rows]


def _by_unit_kind(state: dict[str, Any]) -> list[dict[str, Any]]:
    labels = dict(FilingUnitKind.choices)
    return [{"key": key, "label": str(labels.get(key, key)), "count": n} for key, n in state["by_unit_kind"]]


def roster_year_for(user: Reader, year: int) -> int | None:
    """The roster year a publication of `year` reads: the newest visible roster year up to `year` (the
    rosters in force), else the newest at all; None when the reader sees no roster."""
    years = set(Roster.objects.visible_to(user).values_list("year", flat=True))
    earlier = [y for y in years if y <= year]
    return max(earlier) if earlier else (max(years) if years else None)


def coverage_at(user: Reader, year: int, moment: dt.datetime) -> tuple[list[rosters.CoverageRow], rosters.CoverageRow]:
    """`rosters.coverage_by_category`, an enterprise covered when it had a product approved at `moment` (the
    monthly files at the month's end, the year-end at the year's end)."""
    covered = Exists(dashboards.versions_approved_at(moment).filter(product__unit__uscc=OuterRef("uscc")))
    entries = rosters.roster_entries(user, year=year).annotate(covered=covered).order_by()
    n, c = rosters.distinct_counts()
    found = {row["roster__category"]: row for row in entries.values("roster__category").annotate(n=n, c=c).order_by()}
    rows = [
        rosters.CoverageRow(key=value, label=str(label), entries=found[value]["n"], covered=found[value]["c"])
        for value, label in RosterCategory.choices
        if value in found
    ]
    total = entries.aggregate(n=n, c=c)
    return rows, rosters.CoverageRow(key="", label=_("合计（去重）"), entries=total["n"], covered=total["c"])


def _coverage(user: Reader, year: int | None, moment: dt.datetime) -> dict[str, Any]:
    if year is None:
        return {"year": None, "categories": [], "total": None}
    rows, total_row = coverage_at(user, year, moment)
    return {"year": year, "categories": [r.as_dict() for r in rows], "total": total_row.as_dict()}


def monthly_figures(unit: ManagementUnit | None, period: dt.date) -> dict[str, Any]:
    """The figures of the monthly publication of `unit` (None: the national office) for the month that
    contains `period` (Asia/Shanghai): the state at the month's end (`dashboards.state_at`, the function the
    dashboards' `?as_of=` uses), on whatever day it is built.

    Totals, breakdowns, the ranking, the trend (the 12 months ending with the month), the comparison with
    the previous month and the same month a year before, the list of the month's new approvals and the
    roster coverage all read the products as they stood at that moment, so they agree with each other and a
    later rebuild gives the same figures unless data of the month were corrected (`changes_since`).
    """
    area = dashboards.area_for_unit(unit)
    start = clock.month_start(period.year, period.month)
    end = clock.next_month(start)
    at = dashboards.as_of(area, end)
    state = dashboards.state_at(area, end, at=at)
    previous = clock.shift_month(start, -1)
    last_year = clock.shift_month(start, -12)
    by_month = {row["month"]: row["count"] for row in state["trend"]}
    last_year_count = dashboards.approvals_by_month_at(at, last_year, clock.next_month(last_year)).get(
        clock.month_key(last_year), 0
    )
    new_rows = _new_rows(at, start)
    current = len(new_rows)
    previous_count = by_month.get(clock.month_key(previous), 0)
    totals = state["totals"]
    roster_year = roster_year_for(area.user, period.year)
    return {
        "kind": "monthly",
        "period": start.date().isoformat(),
        "month": clock.month_key(start),
        "period_label": month_label(start),
        "port": _port(unit),
        "scope_key": unit.code if unit is not None else NATIONAL_CODE,
        "scope_name": scope_name(unit),
        "level": area.level,
        "level_label": str(LEVEL_LABELS.get(area.level, _("地区"))),
        # the moment the figures describe (the month's end), not when they were read
        "data_as_of": end.isoformat(),
        "totals": {
            "units": totals["units"],
            "filed": totals["filed"],
            "approved": totals["approved"],
            "growth": totals["growth"],
            "sales": _money(totals["sales"]),
            "exports": _money(totals["exports"]),
            "certified": totals["certified"],
        },
        "new": {"count": current, "rows": new_rows},
        "comparison": {
            "current": {"month": clock.month_key(start), "label": month_label(start), "count": current},
            "previous": {
                "month": clock.month_key(previous),
                "label": month_label(previous),
                "count": previous_count,
                "change": current - previous_count,
                "change_percent": change_percent(current, previous_count),
            },
            "last_year": {
                "month": clock.month_key(last_year),
                "label": month_label(last_year),
                "count": last_year_count,
                "change": current - last_year_count,
                "change_percent": change_percent(current, last_year_count),
            },
        },
        "trend": state["trend"],
        "by_region": _region_rows(state, _new_by_region(at, start)),
        "by_class": _counts(state["by_class"]),
        "by_section": _counts(state["by_section"]),
        "by_scale": _counts(state["by_scale"]),
        "by_unit_kind": _by_unit_kind(state),
        "coverage": _coverage(area.user, roster_year, end),
    }


# ---------------------------------------------------------------------------------------------
# Editions: the label of a build and what changed since the one before

# Keys of a publication's figures that describe the build, not the data: a rebuild may differ in these only.
BUILD_KEYS = ("edition", "edition_label", "built_at", "previous_edition", "changes")


def edition_label(number: int) -> str:
    """第 N 版: the same number as the file name's rN, the page's and the notice's."""
    return _("第 %(n)s 版") % {"n": number}


def _flat(figures: dict[str, Any]) -> dict[tuple[str, str], tuple[str, Any]]:
    """The publication's figures as {(section, key): (label, value)}, for comparing two builds."""
    out: dict[tuple[str, str], tuple[str, Any]] = {}
    if figures.get("kind") != "monthly":
        for card in [*figures.get("cards", []), *([figures["national"]] if figures.get("national") else [])]:
            for key in ("approved", "new", "invention", "certified", "reports", "typical", "score", "rank"):
                out["card", f"{card['code']}.{key}"] = (f"{card['name']} {SCORE_LABELS.get(key, key)}", card.get(key))
        return out
    totals_labels = {
        "units": _("备案单位"),
        "filed": _("已提交备案产品"),
        "approved": _("通过备案产品"),
        "growth": _("近12个月新增通过"),
        "sales": _("上年度销售额（万元）"),
        "exports": _("年度出口额（万元）"),
        "certified": _("认定的专利密集型产品"),
    }
    for key, label in totals_labels.items():
        out["totals", key] = (str(label), figures["totals"][key])
    out["new", "count"] = (_("本月新增通过备案产品"), figures["new"]["count"])
    for row in figures["new"]["rows"]:
        out["new", row["filing_number"]] = (_("本月新增：%(n)s") % {"n": row["filing_number"]}, row["product"])
    for which in ("previous", "last_year"):
        c = figures["comparison"][which]
        out["comparison", which] = (_("%(month)s新增") % {"month": c["label"]}, c["count"])
    for row in figures["trend"]:
        out["trend", row["month"]] = (_("%(month)s新增（近12个月）") % {"month": row["month"]}, row["count"])
    for row in figures["by_region"]:
        for key in ("units", "filed", "approved", "new", "sales"):
            out["region", f"{row['code']}.{key}"] = (f"{row['name']} {totals_labels.get(key, _('本月新增'))}", row[key])
    for section in ("by_class", "by_section", "by_scale", "by_unit_kind"):
        for row in figures.get(section, []):
            out[section, row["key"]] = (row["label"], row["count"])
    coverage = figures.get("coverage") or {}
    for row in [*coverage.get("categories", []), *([coverage["total"]] if coverage.get("total") else [])]:
        out["coverage", row["key"]] = (_("名单覆盖：%(label)s") % {"label": row["label"]}, row["covered"])
    return out


def changes_since(previous: dict[str, Any] | None, current: dict[str, Any]) -> list[dict[str, Any]]:
    """What a rebuild changed against the build before it: one row per figure whose value differs
    (label, before, after; a figure that appeared or disappeared has None on the other side)."""
    if (
        not previous
        or previous.get("kind") != current.get("kind")
        or ("totals" not in previous and "cards" not in previous)
    ):
        return []
    try:
        before, after = _flat(previous), _flat(current)
    except (KeyError, TypeError):  # a snapshot of an older shape: nothing to compare it with
        return []
    rows = []
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key, (None, None)), after.get(key, (None, None))
        if old[1] != new[1]:
            rows.append(
                {"item": str(new[0] or old[0]), "before": old[1], "after": new[1], "delta": change_by(old[1], new[1])}
            )
    return rows


def change_by(before: Any, after: Any) -> str:
    """By how much a figure changed, signed ("+3", "-1.50"); "" when either side is not a number (a product's
    name in the month's list, a figure that appeared or disappeared)."""
    if isinstance(before, bool) or isinstance(after, bool):
        return ""
    try:
        old, new = Decimal(str(before)), Decimal(str(after))
    except (InvalidOperation, TypeError, ValueError):
        return ""
    if before is None or after is None or not (old.is_finite() and new.is_finite()):
        return ""
    delta = new - old
    text = str(delta)
    return text if delta < 0 else f"+{text}"


def stamp(figures: dict[str, Any], *, revision: int, previous: dict[str, Any] | None) -> dict[str, Any]:
    """The build's own data on the figures: its edition (revision 0 is 第 1 版, as the file's r1), when it
    was built and, for a later edition, the figures that changed since the one before."""
    number = revision + 1
    figures.update(
        edition=number,
        edition_label=edition_label(number),
        built_at=timezone.now().isoformat(),
        previous_edition=number - 1 if revision and previous else None,
        changes=changes_since(previous, figures) if revision else [],
    )
    return figures


# ---------------------------------------------------------------------------------------------
# The year-end evaluation


def _card(unit: ManagementUnit | None, year: int, moved: dict[dt.datetime, dict[int, Any]]) -> dict[str, Any]:
    """One port's card: the state at the year's end and at the year before's end (`dashboards.state_at`, with
    the units' history read once for all cards: `moved`)."""
    area = dashboards.area_for_unit(unit)
    start, end = clock.year_start(year), clock.year_start(year + 1)
    state = dashboards.state_at(area, end, at=dashboards.as_of(area, end, moved[end]), year_end=True)
    before = dashboards.state_at(area, start, at=dashboards.as_of(area, start, moved[start]))
    figures = {
        "approved": state["totals"]["approved"],
        "approved_before": before["totals"]["approved"],
        # the 12 months of the trend ending with December: first approvals in the year
        "new": state["totals"]["growth"],
        "new_previous": before["totals"]["growth"],
        "invention": state["year_end"]["invention"],
        "certified": state["year_end"]["certified"],
    }
    rows, total = coverage_at(area.user, year, end)
    by_category = {r.key: r for r in rows}
    coverage = []
    for value, label in RosterCategory.choices:
        row = by_category.get(value)
        coverage.append(
            {
                "key": value,
                "label": str(label),
                "entries": row.entries if row else 0,
                "covered": row.covered if row else 0,
                "percent": share_percent(row.covered, row.entries) if row else None,
            }
        )
    return {
        "code": unit.code if unit is not None else NATIONAL_CODE,
        "name": scope_name(unit),
        "kind": unit.kind if unit is not None else "national",
        "kind_label": str(unit.get_kind_display()) if unit is not None else _("国家知识产权局"),
        "is_open": unit.is_open if unit is not None else True,
        "approved": figures["approved"],
        "approved_previous": figures["approved_before"],
        "new": figures["new"],
        "new_previous": figures["new_previous"],
        "new_growth_percent": change_percent(figures["new"], figures["new_previous"]),
        "approved_growth_percent": change_percent(figures["approved"], figures["approved_before"]),
        "coverage": coverage,
        "coverage_total": {
            "entries": total.entries,
            "covered": total.covered,
            "percent": share_percent(total.covered, total.entries),
        },
        "invention": figures["invention"],
        "invention_percent": share_percent(figures["invention"], figures["approved"]),
        "certified": figures["certified"],
        **_report_figures(area.user, year, unit),
    }


def _report_figures(reader: Reader, year: int, unit: ManagementUnit | None) -> dict[str, Any]:
    """The port's own progress reports submitted in `year` (a province's card does not count its city
    ports', which have cards of their own; the national card counts every port's), by category, and how
    many of them the national office marked as typical cases."""
    counts = progress_reports.year_counts(reader, year, unit)
    return {"reports": counts["total"], "reports_by_category": counts["by_category"], "typical": counts["typical"]}


def _scaled(value: int, top: int) -> Decimal:
    return Decimal(100) * value / top if top else Decimal(0)


def score_parts(card: dict[str, Any], tops: dict[str, int]) -> dict[str, Decimal]:
    """Each part of the composite score on a 0–100 scale (before weighting)."""
    return {
        "approved": _scaled(card["approved"], tops["approved"]),
        "new": _scaled(card["new"], tops["new"]),
        "coverage": Decimal(card["coverage_total"]["percent"] or 0),
        "invention": Decimal(card["invention_percent"] or 0),
        "certified": _scaled(card["certified"], tops["certified"]),
        "reports": Decimal(100) * min(card["reports"], REPORTS_FULL_MARKS) / REPORTS_FULL_MARKS,
        "typical": _scaled(card["typical"], tops["typical"]),
    }


def yearend_cards(year: int) -> dict[str, Any]:
    """A score card for every one of the 47 management units (open or not) and one for the nation, each read
    through `area_for_unit`, with the composite score (`SCORE_WEIGHTS`) and the national ranking by it
    (standard competition ranking, patent_platform/ranking.py: equal score and approved products share a rank,
    `tied`; the port code only orders them). The national card has no score or rank.

    Every filing figure is the state at the year's end (1 January of the next year, 00:00 Asia/Shanghai),
    whatever day the cards are built: `dashboards.state_at` (the function of the monthly files and the dashboards'
    `?as_of=`), from the history the platform keeps, so a rebuild gives the same cards unless data of the year
    were corrected. Approved products at year end: approved at that moment, in the area their unit was in then;
    new approvals: those whose first approval (among the versions approved then) lies in the year; the year
    before: the same at the year before's end. Roster coverage: the rosters of `year`, an enterprise covered
    when it had a product approved at the year's end. Invention share: approved products at year end whose
    version then links at least one invention patent. Certified: approved at year end with a certificate of a
    round of data year `year - 1` whose final list was published before the year's end. Reports: the port's own
    progress reports submitted in the year (Asia/Shanghai) by category, and how many of them are marked typical
    when the evaluation is built.
    """
    start, end = clock.year_start(year), clock.year_start(year + 1)
    moved = {end: dashboards.unit_values_at(end), start: dashboards.unit_values_at(start)}  # once for the 48 cards
    national_reader = dashboards.area_for_unit(None).user
    units = list(ManagementUnit.objects.visible_to(national_reader).order_by("code").prefetch_related("regions"))
    cards = [_card(unit, year, moved) for unit in units]
    tops = {key: max((c[key] for c in cards), default=0) for key in SCALED_AGAINST_TOP}
    for card in cards:
        parts = score_parts(card, tops)
        card["score_parts"] = {key: str(value.quantize(Decimal("0.1"))) for key, value in parts.items()}
        card["score"] = str(sum((SCORE_WEIGHTS[k] * v for k, v in parts.items()), Decimal(0)).quantize(Decimal("0.01")))
    cards.sort(key=lambda c: (-Decimal(c["score"]), -c["approved"], c["code"]))
    competition_rank(cards, key=lambda c: (Decimal(c["score"]), c["approved"]))
    national = _card(None, year, moved)
    national.update(score=None, score_parts=None, rank=None, tied=False)
    return {
        "kind": "yearend",
        "year": year,
        "period": dt.date(year, 1, 1).isoformat(),
        # the moment the figures describe (the year's end), not when they were read
        "data_as_of": end.isoformat(),
        "weights": {key: str(value) for key, value in SCORE_WEIGHTS.items()},
        "weight_labels": {key: str(label) for key, label in SCORE_LABELS.items()},
        "tops": tops,
        "categories": [{"key": value, "label": str(label)} for value, label in RosterCategory.choices],
        "report_categories": [{"key": value, "label": str(label)} for value, label in ReportCategory.choices],
        "reports_full_marks": REPORTS_FULL_MARKS,
        "cards": cards,
        "national": national,
    }


def card_for(cards: dict[str, Any], unit: ManagementUnit | None) -> dict[str, Any]:
    """The card of `unit` (the national card for None)."""
    if unit is None:
        return cards["national"]
    return next(c for c in cards["cards"] if c["code"] == unit.code)
