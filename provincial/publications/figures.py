"""The figures of the monthly publications and of the year-end evaluation (成效评价) of the ports.

Every figure is read through an `Area` from `provincial.stats.area_for_unit` (a `Principal` holding the
port's regions, or the national office), with the dashboard's own functions and definitions, so a
publication counts exactly what the port's administrators see on their dashboard:

- the summary (totals), the breakdowns (ranking / by region, by class, by section, by scale) and the
  month counts come from the dashboards' summary cells (`provincial.summary`, made current for the area
  first: the same definitions and the same figures as the dashboard); the list of the month's new
  approvals and the breakdown by unit kind are read from the base tables, the roster coverage from
  `rosters.coverage_by_category`. All of it is the state of the data when the publication is built
  (`data_as_of`; the monthly run builds last month's publication on the 1st, so that is the state at the
  month's end);
- "new approvals of a month" are the approved products whose first currently approved version was decided
  inside that month (Asia/Shanghai): the dashboard's month drill-down (`stats.Filters(month=…)`) and trend.

The result is plain JSON (Decimals as strings, dates and instants in ISO 8601): it is stored as the
publication's snapshot (`Publication.figures`) and is all that `documents.py` needs to write the files.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from evaluation.choices import CandidateStatus, Stage
from evaluation.models import Candidate
from filings.choices import PatentKind
from filings.choices import UnitKind as FilingUnitKind
from filings.models import PatentLink
from patent_platform.choices import RegionLevel
from patent_platform.ranking import competition_rank
from provincial import reports as progress_reports
from provincial import rosters, stats, summary
from provincial.choices import ReportCategory, RosterCategory
from provincial.models import ManagementUnit, Roster, SummaryKind

TREND_MONTHS = stats.TREND_MONTHS
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
LEVEL_LABELS = {
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


def _shift_month(start: dt.datetime, months: int) -> dt.datetime:
    index = start.year * 12 + start.month - 1 + months
    return stats.month_start(index // 12, index % 12 + 1)


def month_key(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m")


def month_label(moment: dt.datetime | dt.date) -> str:
    return _("%(year)s年%(month)s月") % {"year": moment.year, "month": moment.month}


def scope_name(unit: ManagementUnit | None) -> str:
    return unit.name if unit is not None else _("全国")


def _port(unit: ManagementUnit | None) -> dict[str, Any] | None:
    if unit is None:
        return None
    return {"code": unit.code, "name": unit.name, "kind": unit.kind, "kind_label": str(unit.get_kind_display())}


def new_approvals(area: stats.Area, start: dt.datetime) -> Any:
    """The approved products whose first approval lies in the month starting at `start` (the dashboard's
    month drill-down)."""
    return stats.filter_products(area, stats.Filters(status=stats.APPROVED, month=month_key(start)))


def approvals_by_month(area: stats.Area, first: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """Approved products by month of first approval in [first, end) — the dashboard's trend, for any window."""
    rows = (
        area.products()
        .filter(published_version__isnull=False)
        .annotate(first=stats.first_approval())
        .filter(first__gte=first, first__lt=end)
        .annotate(month=TruncMonth("first", tzinfo=stats.CHINA))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by("month")
    )
    return {month_key(row["month"].astimezone(stats.CHINA)): row["n"] for row in rows}


# ---------------------------------------------------------------------------------------------
# The monthly publication


def _new_rows(area: stats.Area, start: dt.datetime) -> list[dict[str, Any]]:
    products = (
        new_approvals(area, start)
        .annotate(first=stats.first_approval())
        .select_related("published_version__product_class", "unit__region__parent__parent", "unit__region__parent")
        .order_by("first", "filing_number", "pk")
    )
    rows = []
    for product in products.iterator(chunk_size=500):
        version = product.published_version
        rows.append(
            {
                "filing_number": product.filing_number or "",
                "product": version.name,
                "unit": product.unit.name,
                "product_class": f"{version.product_class.code} {version.product_class.name}",
                "region": product.unit.region.full_name,
                "approved_on": timezone.localtime(product.first, stats.CHINA).date().isoformat(),
            }
        )
    return rows


def _region_rows(area: stats.Area, start: dt.datetime) -> list[dict[str, Any]]:
    """The dashboard's ranking (every region at the breakdown level), with the month's new approvals."""
    code_field = stats.level_field(area.level)
    new_by_code: Counter[str] = Counter()
    for row in (
        summary.cells(area, SummaryKind.MONTH)
        .filter(key=month_key(start))
        .values(code_field)
        .annotate(n=Sum("approved"))
        .order_by()
    ):
        new_by_code[row[code_field] or stats.BLANK] += row["n"] or 0
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
        for r in summary.ranking(area)
    ]


def _counts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"key": r["key"], "label": str(r["label"]), "count": r["count"]} for r in rows]


def _by_unit_kind(area: stats.Area) -> list[dict[str, Any]]:
    labels = dict(FilingUnitKind.choices)
    rows = (
        area.products()
        .filter(published_version__isnull=False)
        .values("unit__kind")
        .annotate(n=Count("pk"))
        .order_by("-n", "unit__kind")
    )
    return [
        {"key": r["unit__kind"], "label": str(labels.get(r["unit__kind"], r["unit__kind"])), "count": r["n"]}
        for r in rows
    ]


def roster_year_for(user: Any, year: int) -> int | None:
    """The roster year a publication of `year` reads: the newest visible roster year up to `year` (the
    rosters in force), else the newest at all; None when the reader sees no roster."""
    years = set(Roster.objects.visible_to(user).values_list("year", flat=True))
    earlier = [y for y in years if y <= year]
    return max(earlier) if earlier else (max(years) if years else None)


def _coverage(user: Any, year: int | None) -> dict[str, Any]:
    if year is None:
        return {"year": None, "categories": [], "total": None}
    rows, total = rosters.coverage_by_category(user, year=year)
    return {"year": year, "categories": [r.as_dict() for r in rows], "total": total.as_dict()}


def monthly_figures(unit: ManagementUnit | None, period: dt.date) -> dict[str, Any]:
    """The figures of the monthly publication of `unit` (None: the national office) for the month that
    contains `period` (Asia/Shanghai).

    Summary, breakdowns and coverage: the dashboard's figures at build time (`data_as_of`). The month's new
    approvals, the comparison with the previous month and with the same month of the year before, and the
    12-month trend ending with the month: by month of first approval, as the dashboard's trend counts.
    """
    area = stats.area_for_unit(unit)
    # the aggregates come from the dashboards' summary cells (provincial/summary.py), made current for
    # this area first: the same definitions as the dashboard, without scanning the base tables per port
    as_of = max(summary.ensure_fresh(area), timezone.now())
    start = stats.month_start(period.year, period.month)
    end = stats.next_month(start)
    previous = _shift_month(start, -1)
    last_year = _shift_month(start, -12)
    trend_first = _shift_month(start, -(TREND_MONTHS - 1))
    months = summary.months(area, month_key(last_year), month_key(end))
    by_month = {k: n for k, n in months.items() if k >= month_key(trend_first)}
    last_year_count = months.get(month_key(last_year), 0)
    new_rows = _new_rows(area, start)
    current = len(new_rows)
    previous_count = by_month.get(month_key(previous), 0)
    totals = summary.totals(area, sum(m["count"] for m in summary.trend(area)))
    breakdowns = summary.breakdowns(area)
    roster_year = roster_year_for(area.user, period.year)
    return {
        "kind": "monthly",
        "period": start.date().isoformat(),
        "month": month_key(start),
        "period_label": month_label(start),
        "port": _port(unit),
        "scope_key": unit.code if unit is not None else NATIONAL_CODE,
        "scope_name": scope_name(unit),
        "level": area.level,
        "level_label": str(LEVEL_LABELS.get(area.level, _("地区"))),
        "data_as_of": as_of.isoformat(),
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
            "current": {"month": month_key(start), "label": month_label(start), "count": current},
            "previous": {
                "month": month_key(previous),
                "label": month_label(previous),
                "count": previous_count,
                "change": current - previous_count,
                "change_percent": change_percent(current, previous_count),
            },
            "last_year": {
                "month": month_key(last_year),
                "label": month_label(last_year),
                "count": last_year_count,
                "change": current - last_year_count,
                "change_percent": change_percent(current, last_year_count),
            },
        },
        "trend": [
            {"month": month_key(m), "count": by_month.get(month_key(m), 0)}
            for m in (_shift_month(trend_first, i) for i in range(TREND_MONTHS))
        ],
        "by_region": _region_rows(area, start),
        "by_class": _counts(summary.by_class(breakdowns[SummaryKind.CLASS])),
        "by_section": _counts(summary.by_section(breakdowns[SummaryKind.SECTION])),
        "by_scale": _counts(summary.by_scale(breakdowns[SummaryKind.SCALE])),
        "by_unit_kind": _by_unit_kind(area),
        "coverage": _coverage(area.user, roster_year),
    }


# ---------------------------------------------------------------------------------------------
# The year-end evaluation


def invention_condition() -> Exists:
    """The product's published version links at least one invention patent."""
    return Exists(
        PatentLink.objects.filter(version=OuterRef("published_version"), right__patent__kind=PatentKind.INVENTION)
    )


def certified_in_year_condition(year: int) -> Exists:
    """The dashboard's certified definition (a certificate of a round whose final list is published),
    restricted to the rounds of data year `year - 1`: the rounds held in `year` evaluate the previous
    year's data, so these are the products certified for the year under evaluation."""
    return Exists(
        Candidate.objects.filter(
            product=OuterRef("pk"),
            status=CandidateStatus.CERTIFIED,
            round__stage=Stage.FINAL,
            round__data_year=year - 1,
        )
    )


def _card(unit: ManagementUnit | None, year: int) -> dict[str, Any]:
    area = stats.area_for_unit(unit)
    start, end = stats.month_start(year, 1), stats.month_start(year + 1, 1)
    previous_start = stats.month_start(year - 1, 1)
    approved = area.products().filter(published_version__isnull=False)
    figures = approved.aggregate(
        approved=Count("pk", filter=Q(stats.approved_before(end))),
        approved_before=Count("pk", filter=Q(stats.approved_before(start))),
        new=Count("pk", filter=~Q(stats.approved_before(start)) & Q(stats.approved_before(end))),
        new_previous=Count("pk", filter=~Q(stats.approved_before(previous_start)) & Q(stats.approved_before(start))),
        invention=Count("pk", filter=Q(stats.approved_before(end)) & Q(invention_condition())),
        certified=Count("pk", filter=Q(certified_in_year_condition(year))),
    )
    rows, total = rosters.coverage_by_category(area.user, year=year)
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


def _report_figures(reader: Any, year: int, unit: ManagementUnit | None) -> dict[str, Any]:
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

    Approved products at year end: currently approved products whose first approval came before the next
    1 January (Asia/Shanghai); new approvals: first approval inside the year; growth: against the year before.
    Roster coverage: the rosters of `year`. Invention share: approved products at year end whose published
    version links at least one invention patent. Certified: see `certified_in_year_condition` (rounds of data
    year `year - 1`). Reports: the port's own progress reports submitted in the year (Asia/Shanghai) by
    category, and how many of them are marked typical when the evaluation is built.
    """
    as_of = timezone.now()
    national_reader = stats.area_for_unit(None).user
    units = list(ManagementUnit.objects.visible_to(national_reader).order_by("code").prefetch_related("regions"))
    cards = [_card(unit, year) for unit in units]
    tops = {key: max((c[key] for c in cards), default=0) for key in SCALED_AGAINST_TOP}
    for card in cards:
        parts = score_parts(card, tops)
        card["score_parts"] = {key: str(value.quantize(Decimal("0.1"))) for key, value in parts.items()}
        card["score"] = str(sum((SCORE_WEIGHTS[k] * v for k, v in parts.items()), Decimal(0)).quantize(Decimal("0.01")))
    cards.sort(key=lambda c: (-Decimal(c["score"]), -c["approved"], c["code"]))
    competition_rank(cards, key=lambda c: (Decimal(c["score"]), c["approved"]))
    national = _card(None, year)
    national.update(score=None, score_parts=None, rank=None, tied=False)
    return {
        "kind": "yearend",
        "year": year,
        "period": dt.date(year, 1, 1).isoformat(),
        "data_as_of": as_of.isoformat(),
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
