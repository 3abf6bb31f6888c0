"""The figures of the port and national dashboards, read through the scoping rule.

Every function takes an `Area` (the user, whose scope bounds everything, and optionally one port inside
that scope) and returns plain dicts and lists; each runs one or a few GROUP BY queries in the database.
Python only maps grouped rows (industry division → section, county rows → the 47 management units),
never individual products.

Definitions (the drill-down lists in `provincial.views.dashboard` use the same filters, so a figure and
the list behind it always agree):
- filing units: `FilingUnit` rows in scope;
- filed products: products with at least one version submitted for review at least once
  (`submitted_at` set: submitted, returned, resubmitted, approved, revoked or withdrawn after submission;
  a draft withdrawn before submission was never filed);
- approved products: `published_version` set (the newest approved version);
- previous-year sales and exports: summed over the published versions of the approved products;
- certified products: products with a certificate from a round whose final list is published;
- flagged products: approved products with an open patent-status flag (a linked patent lapsed, expired or
  was invalidated) on one of their approved versions;
- month of approval: the month (Asia/Shanghai) of a product's first currently approved version;
- growth: approved products whose first approval lies in the trend window (the last 12 months).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, DateTimeField, Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from evaluation.choices import CandidateStatus, Stage
from evaluation.models import Candidate
from filings.choices import FilingStatus, UnitScale
from filings.industries import industries
from filings.models import FilingFlag, FilingUnit, Product, ProductVersion
from patent_platform.choices import RegionLevel, Role
from patent_platform.models import Region
from patent_platform.ranking import competition_rank
from patent_platform.scoping import EVERYTHING, Scope, principal_for, scope_of
from provincial.models import ManagementUnit, PortMembership

CHINA = ZoneInfo("Asia/Shanghai")
TREND_MONTHS = 12
BLANK = "-"  # filter value: "not filled in" (no industry, no scale, no code at that level)
FILED = "filed"
APPROVED = "approved"
STATUSES = (FILED, APPROVED)
LEVELS = (RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY)
CERTIFIED_NOTE = "已公布认定结果的专利密集型产品"
MUNICIPALITIES = frozenset({"110000", "120000", "310000", "500000"})  # 直辖市


# ---------------------------------------------------------------------------------------------
# What a dashboard counts


@dataclass(frozen=True)
class Area:
    """The user's scope, optionally narrowed to the regions of one port inside it (`?port=<code>`)."""

    user: Any
    port: ManagementUnit | None = None
    narrowed: Scope | None = None
    level: str = RegionLevel.PROVINCE  # the level of the breakdown by region
    regions_scope: Scope = field(default_factory=Scope)

    def products(self) -> QuerySet[Product]:
        qs = Product.objects.visible_to(self.user)
        return qs.filter(self.narrowed.region_q("")) if self.narrowed is not None else qs

    def units(self) -> QuerySet[FilingUnit]:
        qs = FilingUnit.objects.visible_to(self.user)
        return qs.filter(self.narrowed.region_q("")) if self.narrowed is not None else qs

    @property
    def port_code(self) -> str:
        """The `?port=` value that reproduces this area (empty for the user's own scope)."""
        return self.port.code if self.port is not None and self.narrowed is not None else ""


def _breakdown_level(scope: Scope) -> str:
    if scope.everything or len(scope.province_codes) > 1:
        return RegionLevel.PROVINCE
    if scope.province_codes:
        # a municipality's city rows are placeholders (市辖区, 县): count its districts instead
        return RegionLevel.COUNTY if scope.province_codes <= MUNICIPALITIES else RegionLevel.CITY
    if len(scope.city_codes) > 1:
        return RegionLevel.CITY
    return RegionLevel.COUNTY


def unit_scope(unit: ManagementUnit) -> Scope:
    """The regions of a management unit as a scope (province, city or county rows)."""
    codes: dict[str, set[str]] = defaultdict(set)
    for region in unit.regions.all():
        codes[region.level].add(region.code)
    return Scope(
        province_codes=frozenset(codes[RegionLevel.PROVINCE]),
        city_codes=frozenset(codes[RegionLevel.CITY]),
        county_codes=frozenset(codes[RegionLevel.COUNTY]),
    )


def area_for(user: Any, port_code: str = "") -> Area:
    """The user's area; with `port_code`, one port inside the user's scope (any other code: 404)."""
    if port_code:
        unit = ManagementUnit.objects.visible_to(user).filter(code=port_code).prefetch_related("regions").first()
        if unit is None:
            raise Http404
        narrowed = unit_scope(unit)
        return Area(user=user, port=unit, narrowed=narrowed, level=_breakdown_level(narrowed), regions_scope=narrowed)
    scope = scope_of(user)
    port = None
    if getattr(user, "role", None) == Role.PORT_ADMIN:
        membership = PortMembership.objects.filter(user=user).select_related("unit").first()
        port = membership.unit if membership else None
    return Area(user=user, port=port, level=_breakdown_level(scope), regions_scope=scope)


def area_for_unit(unit: ManagementUnit | None) -> Area:
    """What a port's administrators see (or the national office, for None), for a background task: read
    through the scoping rule by a `Principal` holding the port's regions."""
    if unit is None:
        return Area(user=principal_for(EVERYTHING, label="national"), regions_scope=EVERYTHING)
    scope = unit_scope(unit)
    return Area(
        user=principal_for(scope, label=unit.code), port=unit, level=_breakdown_level(scope), regions_scope=scope
    )


# ---------------------------------------------------------------------------------------------
# Building blocks


def filed_condition() -> Exists:
    return Exists(ProductVersion.objects.filter(product=OuterRef("pk"), submitted_at__isnull=False))


def certified_condition() -> Exists:
    """The product holds a certificate of a round whose final list is published."""
    return Exists(
        Candidate.objects.filter(product=OuterRef("pk"), status=CandidateStatus.CERTIFIED, round__stage=Stage.FINAL)
    )


def flagged_condition(user: Any) -> Exists:
    """An approved version of the product carries an open patent-status flag (read through the scoping rule;
    `user` None: unscoped, for building the summary cells, which are scoped when read)."""
    flags = FilingFlag.objects.all() if user is None else FilingFlag.objects.visible_to(user)
    return Exists(flags.open().filter(version__product=OuterRef("pk"), version__status=FilingStatus.APPROVED))


def approved_before(moment: dt.datetime) -> Exists:
    """A currently approved version decided before `moment` (so the first approval is earlier)."""
    return Exists(
        ProductVersion.objects.filter(product=OuterRef("pk"), status=FilingStatus.APPROVED, decided_at__lt=moment)
    )


def first_approval() -> Subquery:
    return Subquery(
        ProductVersion.objects.filter(product=OuterRef("pk"), status=FilingStatus.APPROVED)
        .order_by("decided_at")
        .values("decided_at")[:1],
        output_field=DateTimeField(),
    )


def month_start(year: int, month: int) -> dt.datetime:
    return dt.datetime(year, month, 1, tzinfo=CHINA)


def next_month(moment: dt.datetime) -> dt.datetime:
    return month_start(moment.year + moment.month // 12, moment.month % 12 + 1)


def trend_months(now: dt.datetime | None = None) -> list[dt.datetime]:
    """The first instants of the last TREND_MONTHS months (Asia/Shanghai), oldest first, this month last."""
    local = (now or timezone.now()).astimezone(CHINA)
    index = local.year * 12 + local.month - 1
    return [month_start(i // 12, i % 12 + 1) for i in range(index - TREND_MONTHS + 1, index + 1)]


def trend_start(now: dt.datetime | None = None) -> dt.datetime:
    return trend_months(now)[0]


def parse_month(value: str) -> dt.datetime | None:
    """ "2025-03" → the first instant of that month in Asia/Shanghai; None if malformed."""
    try:
        year, month = (int(part) for part in value.split("-"))
        return month_start(year, month)
    except ValueError:
        return None


def section_codes(section: str) -> list[str]:
    """The GB/T 4754 codes (the section itself and its divisions) that belong to a section letter."""
    return [code for code, (_name, sec) in industries().items() if sec == section]


def section_label(section: str) -> str:
    if not section or section == BLANK:
        return _("未填写")
    entry = industries().get(section)
    return f"{section} {entry[0]}" if entry else section


def scale_label(scale: str) -> str:
    if not scale or scale == BLANK:
        return _("未填写")
    return str(UnitScale(scale).label) if scale in UnitScale.values else scale


def level_field(level: str) -> str:
    return f"{level}_code"


def region_level_of(code: str) -> str:
    if code.endswith("0000"):
        return RegionLevel.PROVINCE
    if code.endswith("00"):
        return RegionLevel.CITY
    return RegionLevel.COUNTY


# ---------------------------------------------------------------------------------------------
# The drill-down filters (shared with the lists, so figures and lists agree)


@dataclass(frozen=True)
class Filters:
    """Filters of the product and unit lists. `region` is a code matched at its own level, or BLANK with
    `level` (no code at that level); `product_class` and `month` refer to the published version."""

    status: str = FILED
    region: str = ""
    level: str = ""
    product_class: int | None = None
    section: str = ""
    scale: str = ""
    month: str = ""
    since: str = ""  # YYYY-MM: first approval in this month or later

    def params(self, **extra: Any) -> dict[str, str]:
        """The query parameters that reproduce these filters (for links)."""
        values = {
            "status": self.status,
            "region": self.region,
            "level": self.level if self.region == BLANK else "",
            "product_class": str(self.product_class or ""),
            "section": self.section,
            "scale": self.scale,
            "month": self.month,
            "since": self.since,
            **extra,
        }
        return {k: str(v) for k, v in values.items() if v}


def _region_q(filters: Filters) -> Q:
    if filters.region == BLANK:
        level = filters.level if filters.level in LEVELS else RegionLevel.COUNTY
        return Q(**{level_field(level): ""})
    return Q(**{level_field(region_level_of(filters.region)): filters.region})


def _unit_q(filters: Filters, prefix: str) -> Q:
    """Section and scale: fields of the filing unit (at `prefix`)."""
    q = Q()
    if filters.section == BLANK:
        q &= ~Q(**{f"{prefix}industry__in": list(industries())})
    elif filters.section:
        q &= Q(**{f"{prefix}industry__in": section_codes(filters.section)})
    if filters.scale:
        q &= Q(**{f"{prefix}scale": "" if filters.scale == BLANK else filters.scale})
    return q


def require_in_area(area: Area, filters: Filters) -> None:
    """A region filter names a region inside the area, or the request answers 404 — as a port outside the
    viewer's scope does (`area_for`): the same out-of-scope request gets the same answer on every page, and a
    port never lists, counts or offers another port's region."""
    if filters.region and filters.region != BLANK and not area.regions_scope.covers_region(filters.region):
        raise Http404


def filter_products(area: Area, filters: Filters) -> QuerySet[Product]:
    """The area's products that the filters select (a region outside the area: 404)."""
    require_in_area(area, filters)
    qs = area.products()
    if filters.status == APPROVED or filters.month or filters.since or filters.product_class:
        qs = qs.filter(published_version__isnull=False)
    else:
        qs = qs.filter(filed_condition())
    if filters.region:
        qs = qs.filter(_region_q(filters))
    if filters.product_class:
        qs = qs.filter(published_version__product_class_id=filters.product_class)
    qs = qs.filter(_unit_q(filters, "unit__"))
    if filters.month and (start := parse_month(filters.month)) is not None:
        qs = qs.filter(~approved_before(start), approved_before(next_month(start)))
    if filters.since and (start := parse_month(filters.since)) is not None:
        qs = qs.filter(~approved_before(start))
    return qs


def filter_units(area: Area, filters: Filters) -> QuerySet[FilingUnit]:
    """The area's filing units that the filters select (a region outside the area: 404)."""
    require_in_area(area, filters)
    qs = area.units()
    if filters.region:
        qs = qs.filter(_region_q(filters))
    return qs.filter(_unit_q(filters, ""))


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
    return {
        "units": area.units().count(),
        "filed": figures["filed"],
        "approved": figures["approved"],
        "growth": figures["growth"],
        "sales": figures["sales"] or Decimal(0),
        "exports": figures["exports"] or Decimal(0),
        "certified": figures["certified"],
        "certified_note": _(CERTIFIED_NOTE),
        "flagged": figures["flagged"],
    }


def trend(area: Area) -> list[dict[str, Any]]:
    """Approved products by month of first approval, the last 12 months (zero months included)."""
    months = trend_months()
    rows = (
        area.products()
        .filter(published_version__isnull=False)
        .annotate(first=first_approval())
        .filter(first__gte=months[0])
        .annotate(month=TruncMonth("first", tzinfo=CHINA))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by("month")
    )
    counts = {row["month"].astimezone(CHINA).strftime("%Y-%m"): row["n"] for row in rows}
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
        )
        .annotate(n=Count("pk"))
        .order_by("-n", "published_version__product_class__code")
    )
    return [
        {
            "key": str(row["published_version__product_class_id"]),
            "label": f"{row['published_version__product_class__code']} {row['published_version__product_class__name']}",
            "count": row["n"],
            "filters": Filters(status=APPROVED, product_class=row["published_version__product_class_id"]).params(),
        }
        for row in rows
    ]


def _ordered(counts: Counter[str], label: Any, filter_name: str) -> list[dict[str, Any]]:
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0] == BLANK, item[0]))
    return [
        {
            "key": key,
            "label": label(key),
            "count": n,
            "filters": Filters(status=APPROVED, **{filter_name: key}).params(),
        }
        for key, n in rows
        if n
    ]


def by_section(area: Area) -> list[dict[str, Any]]:
    """By GB/T 4754 section: grouped by the unit's industry code, mapped to sections over the rows."""
    known = industries()
    counts: Counter[str] = Counter()
    for row in _approved(area).values("unit__industry").annotate(n=Count("pk")).order_by():
        entry = known.get(row["unit__industry"])
        counts[entry[1] if entry else BLANK] += row["n"]
    return _ordered(counts, section_label, "section")


def by_scale(area: Area) -> list[dict[str, Any]]:
    counts: Counter[str] = Counter()
    for row in _approved(area).values("unit__scale").annotate(n=Count("pk")).order_by():
        counts[row["unit__scale"] or BLANK] += row["n"]
    return _ordered(counts, scale_label, "scale")


def area_regions(area: Area) -> list[Region]:
    """The regions at the area's breakdown level (the tiles): all provinces, a province's cities, a city's
    counties, or the port's own county rows."""
    scope, level = area.regions_scope, area.level
    qs = Region.objects.filter(level=level)
    if scope.everything:
        return list(qs)
    if level == RegionLevel.PROVINCE:
        return list(qs.filter(code__in=scope.province_codes))
    if level == RegionLevel.CITY:
        return list(qs.filter(Q(province_code__in=scope.province_codes) | Q(code__in=scope.city_codes)))
    return list(
        qs.filter(
            Q(province_code__in=scope.province_codes)
            | Q(city_code__in=scope.city_codes)
            | Q(code__in=scope.county_codes)
        )
    )


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
    approved products, then filing units."""
    product_rows, unit_rows = _region_figures(area.products(), area.units(), [level_field(area.level)])
    return rank(area, product_rows, unit_rows)


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
        row(region.code, region.name)
    for r in product_rows:
        target = row(r[code_field])
        target.update(filed=r["filed"], approved=r["approved"], growth=r["growth"], sales=r["sales"] or Decimal(0))
    for r in unit_rows:
        row(r[code_field])["units"] = r["units"]
    ranked = sorted(
        rows.values(), key=lambda r: (-r["approved"], -r["units"], -r["filed"], r["code"] == BLANK, r["code"])
    )
    competition_rank(ranked, key=lambda r: (r["approved"], r["units"], r["filed"]))
    for r in ranked:
        region = Filters(region=r["code"], level=area.level)
        r["filters"] = {
            "approved": Filters(status=APPROVED, region=region.region, level=region.level).params(),
            "filed": Filters(status=FILED, region=region.region, level=region.level).params(),
            "units": region.params(status=""),
        }
    return ranked


def by_region(ranked: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The breakdown of approved products by region, from the ranking's rows (no further query)."""
    return [
        {"key": r["code"], "label": r["name"], "count": r["approved"], "filters": r["filters"]["approved"]}
        for r in ranked
        if r["approved"]
    ]


def dashboard(area: Area) -> dict[str, Any]:
    """Everything the dashboard page and `GET /api/v1/provincial/dashboard/` show, read from the summary
    cells (provincial/summary.py: same figures, kept fresh, with the time they are as of)."""
    from provincial import summary

    return summary.dashboard(area)


def live_dashboard(area: Area) -> dict[str, Any]:
    """`dashboard` computed from the base tables (the reference the summary is checked against)."""
    ranked = ranking(area)
    return {
        "as_of": timezone.now(),
        "port": (
            {"code": area.port.code, "name": area.port.name, "kind": area.port.kind} if area.port is not None else None
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


def national_ranking(user: Any) -> list[dict[str, Any]]:
    """All 47 management units (open or not) ranked by approved products, then filing units and growth.

    One grouped query per model over (province, city, county); each unit then sums the rows of its
    regions (province units by province, city units by city, XPCC by its county-level cities).
    """
    from provincial import summary

    return summary.national_ranking(user)


def live_national_ranking(user: Any) -> list[dict[str, Any]]:
    """`national_ranking` computed from the base tables."""
    fields = ["province_code", "city_code", "county_code"]
    product_rows, unit_rows = _region_figures(
        Product.objects.visible_to(user), FilingUnit.objects.visible_to(user), fields
    )
    return rank_ports(user, product_rows, unit_rows)


def rank_ports(user: Any, product_rows: Any, unit_rows: Any) -> list[dict[str, Any]]:
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
                "name": unit.name,
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
    result.sort(key=lambda r: (-r["approved"], -r["units"], -r["growth"], r["code"]))
    competition_rank(result, key=lambda r: (r["approved"], r["units"], r["growth"]))
    return result
