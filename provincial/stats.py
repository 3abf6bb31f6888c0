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
- certified products: products holding a certificate now ("certified as of D", evaluation/lifecycle.py
  `held_q`: within its validity, not revoked, its filing not ended; suspended ones count, marked as such);
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

from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from evaluation import lifecycle
from evaluation.models import Candidate
from filings.choices import FilingStatus, UnitScale
from filings.industries import industries, industry_name
from filings.models import FilingFlag, FilingUnit, Product, ProductVersion
from patent_platform import clock
from patent_platform.choices import RegionLevel, Role
from patent_platform.i18n import localized_name
from patent_platform.models import Region
from patent_platform.ranking import competition_rank
from patent_platform.scoping import EVERYTHING, Scope, principal_for, scope_of
from provincial.models import ManagementUnit, PortMembership

TREND_MONTHS = 12
BLANK = "-"  # filter value: "not filled in" (no industry, no scale, no code at that level)
FILED = "filed"
APPROVED = "approved"
STATUSES = (FILED, APPROVED)
LEVELS = (RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY)
CERTIFIED_NOTE = gettext_noop("已公布认定结果的专利密集型产品")
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

    def versions(self) -> QuerySet[ProductVersion]:
        qs = ProductVersion.objects.visible_to(self.user)
        return qs.filter(self.narrowed.region_q("product__")) if self.narrowed is not None else qs

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
    """The product holds a certificate now: "certified as of D" (evaluation/lifecycle.py `held_q`) for this
    moment — issued, within its validity, not revoked, its filing not ended (a suspended one still counts)."""
    return lifecycle.held_by_product(timezone.now())


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


def trend_months(now: dt.datetime | None = None) -> list[dt.datetime]:
    """The first instants of the last TREND_MONTHS months (Asia/Shanghai), oldest first, this month last."""
    this_month = clock.current_month_start(now)
    return [clock.shift_month(this_month, -back) for back in range(TREND_MONTHS - 1, -1, -1)]


def trend_start(now: dt.datetime | None = None) -> dt.datetime:
    return trend_months(now)[0]


def parse_month(value: str) -> dt.datetime | None:
    """ "2025-03" → the first instant of that month in Asia/Shanghai; None if malformed."""
    day = clock.parse_month(value)
    return clock.month_start(day.year, day.month) if day is not None else None


def section_codes(section: str) -> list[str]:
    """The GB/T 4754 codes (the section itself and its divisions) that belong to a section letter."""
    return [code for code, (_name, sec) in industries().items() if sec == section]


def section_label(section: str) -> str:
    if not section or section == BLANK:
        return _("未填写")
    name = industry_name(section)
    return f"{section} {name}" if name else section


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
    until: str = ""  # YYYY-MM: first approval in this month or earlier (a period's new approvals: since..until)

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
            "until": self.until,
            **extra,
        }
        return {k: str(v) for k, v in values.items() if v}


def _region_q(filters: Filters, prefix: str = "") -> Q:
    if filters.region == BLANK:
        level = filters.level if filters.level in LEVELS else RegionLevel.COUNTY
        return Q(**{prefix + level_field(level): ""})
    return Q(**{prefix + level_field(region_level_of(filters.region)): filters.region})


def _unit_q(filters: Filters, prefix: str) -> Q:
    """Section and scale: fields of the filing unit (at `prefix`; "at_" for the annotations of `AsOf`)."""
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
    if filters.status == APPROVED or filters.month or filters.since or filters.until or filters.product_class:
        qs = qs.filter(published_version__isnull=False)
    else:
        qs = qs.filter(filed_condition())
    if filters.region:
        qs = qs.filter(_region_q(filters))
    if filters.product_class:
        qs = qs.filter(published_version__product_class_id=filters.product_class)
    qs = qs.filter(_unit_q(filters, "unit__"))
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
    return totals_of(area.units().count(), figures)


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


def ordered_counts(counts: Counter[str], label: Any, filter_name: str) -> list[dict[str, Any]]:
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
    return ordered_counts(counts, section_label, "section")


def by_scale(area: Area) -> list[dict[str, Any]]:
    counts: Counter[str] = Counter()
    for row in _approved(area).values("unit__scale").annotate(n=Count("pk")).order_by():
        counts[row["unit__scale"] or BLANK] += row["n"]
    return ordered_counts(counts, scale_label, "scale")


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


RANK_CRITERIA = ("approved", "units", "growth")


def rank_score(row: dict[str, Any]) -> tuple[int, ...]:
    """What ranks a region or a port (one rule for both rankings, issue 17, mechanism 3): approved products,
    then filing units, then approvals new in the last 12 months. The region ranking of a port and the national
    port ranking thus order (and tie) two regions alike: 广州 and 深圳 stand in 广东's ranking as they stand among
    the 47 ports."""
    return tuple(row[name] for name in RANK_CRITERIA)


def ranking(area: Area) -> list[dict[str, Any]]:
    """One row per region at the breakdown level (all of the area's regions, zeros included), ranked by
    `rank_score`: approved products, then filing units, then new approvals."""
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
        row(region.code, localized_name(region))
    for r in product_rows:
        target = row(r[code_field])
        target.update(filed=r["filed"], approved=r["approved"], growth=r["growth"], sales=r["sales"] or Decimal(0))
    for r in unit_rows:
        row(r[code_field])["units"] = r["units"]
    ranked = sorted(rows.values(), key=lambda r: (*(-v for v in rank_score(r)), r["code"] == BLANK, r["code"]))
    competition_rank(ranked, key=rank_score)
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


# ---------------------------------------------------------------------------------------------
# The state as of a moment (issue 17, mechanism 2)
#
# One function, `state_at(area, moment)`, gives the dashboard's figures as they stood at `moment`, from
# the history the platform keeps (nothing is frozen): a publication of a period reports the state at the
# period's end, whenever it is built, and a dashboard shows any past month-end the same way (`?as_of=`).
#
# - approved at T: a version whose approval came before T and that had not left "approved" by T. The
#   approval time is `decided_at` while the version is approved (the workflow writes it with the approve
#   transition), else `approved_at` (the time of its `approve` transition: a revoked version's `decided_at`
#   is its revocation); it left at `approval_ended_at` (its `revoke`/`withdraw` transition; a version is
#   approved at most once). Plain columns of the version, indexed (`version_decided`,
#   `version_approval_span`): no lookup in the transitions;
# - the product's published version at T: the newest (data year) of its versions approved at T; its first
#   approval at T: the earliest approval among them;
# - filed at T: a version submitted before T (`submitted_at`, or any transition to a pending state: a
#   resubmission moves `submitted_at` on, the transitions keep the first);
# - certified at T: a certificate held at T (evaluation/lifecycle.py `held_q`: issued before T, within its
#   validity, not revoked and its filing not ended by T);
# - a filing unit's region, industry, scale, kind and name at T: its values now, with every field changed
#   since T taken back from the audit log (`FilingUnit` saves are audited field by field, before → after:
#   the value at T is the "before" of the first change at or after T); units registered before T;
# - the area: the same scope as the dashboard's (`area.narrowed`, else the viewer's), applied to the codes
#   the units had at T, so a unit that moved out of a port after T still counts for it at T.
#
# Writes outside the platform's saves (raw SQL, queryset.update on units) leave no history: as the summary
# cells, such corrections show from the time they are made.

UNIT_HISTORY_FIELDS = ("region_id", "province_code", "city_code", "county_code", "industry", "scale", "kind", "name")
LEFT_APPROVED = (FilingStatus.REVOKED, FilingStatus.WITHDRAWN)


def approved_on() -> Case:
    """When a version was approved (an expression on ProductVersion rows; None if it never was)."""
    return Case(
        When(status=FilingStatus.APPROVED, then=F("decided_at")),
        When(status__in=LEFT_APPROVED, then=F("approved_at")),
        default=None,
        output_field=DateTimeField(),
    )


def approved_at_q(moment: dt.datetime, prefix: str = "") -> Q:
    """The versions (at `prefix`) that were approved at `moment`, as a plain range predicate: approved now
    and decided before it, or approved before it and left at or after it (or never, in data written
    without the transition)."""
    return Q(**{f"{prefix}status": FilingStatus.APPROVED, f"{prefix}decided_at__lt": moment}) | (
        Q(**{f"{prefix}status__in": LEFT_APPROVED, f"{prefix}approved_at__lt": moment})
        & (Q(**{f"{prefix}approval_ended_at__isnull": True}) | Q(**{f"{prefix}approval_ended_at__gte": moment}))
    )


def versions_approved_at(moment: dt.datetime) -> QuerySet[ProductVersion]:
    """The versions that were approved at `moment`."""
    return ProductVersion.objects.filter(approved_at_q(moment)).annotate(approved_on=approved_on())


def filed_at(moment: dt.datetime) -> Exists:
    """The product had a version submitted for review before `moment`."""
    from filings.choices import PENDING_STATUSES
    from filings.models import Transition

    submitted = Transition.objects.filter(version=OuterRef("pk"), to_status__in=PENDING_STATUSES, at__lt=moment)
    return Exists(
        ProductVersion.objects.filter(product=OuterRef("pk")).filter(Q(submitted_at__lt=moment) | Exists(submitted))
    )


def certified_at(moment: dt.datetime) -> Exists:
    """A certificate held at `moment` (evaluation/lifecycle.py `held_q`: issued before it, within its validity,
    not revoked and its filing not ended by then)."""
    return lifecycle.held_by_product(moment)


def flagged_at(moment: dt.datetime, user: Any) -> Exists:
    """A version approved at `moment` carried a patent-status flag that was open then (raised before it,
    not resolved before it)."""
    flags = FilingFlag.objects.all() if user is None else FilingFlag.objects.visible_to(user)
    return Exists(
        flags.filter(version__product=OuterRef("pk"), raised_at__lt=moment)
        .filter(approved_at_q(moment, "version__"))
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=moment))
    )


def invention_at() -> Exists:
    """The product's published version at the moment (`at_version`) links an invention patent (a patent's
    kind follows from its number: it has no history)."""
    from filings.choices import PatentKind
    from filings.models import PatentLink

    return Exists(PatentLink.objects.filter(version=OuterRef("at_version"), right__patent__kind=PatentKind.INVENTION))


def certified_for_data_year_at(moment: dt.datetime, data_year: int) -> Exists:
    """`certified_at(moment)`, restricted to the rounds of `data_year` (the year-end evaluation of year Y
    counts the rounds held in Y, which evaluate the data of Y - 1)."""
    return Exists(
        Candidate.objects.filter(lifecycle.held_q(moment), product=OuterRef("pk"), round__data_year=data_year)
    )


def unit_values_at(moment: dt.datetime) -> dict[int, dict[str, Any]]:
    """The filing units changed at or after `moment`: their UNIT_HISTORY_FIELDS as they were at `moment`
    (all of them: the unchanged ones as they are now)."""
    from patent_platform.choices import AuditAction
    from patent_platform.models import AuditEvent

    before: dict[int, dict[str, Any]] = {}
    events = (
        AuditEvent.objects.filter(object_type=FilingUnit._meta.label, action=AuditAction.UPDATE, at__gte=moment)
        .order_by("at", "id")
        .values_list("object_id", "changes")
    )
    for object_id, changes in events.iterator(chunk_size=2000):
        if not isinstance(changes, dict) or not str(object_id).isdigit():
            continue
        fields = before.setdefault(int(object_id), {})
        for name in UNIT_HISTORY_FIELDS:
            if name in changes and name not in fields:
                fields[name] = changes[name][0]
    before = {pk: fields for pk, fields in before.items() if fields}
    result: dict[int, dict[str, Any]] = {}
    ids = sorted(before)
    for start in range(0, len(ids), 5000):
        for row in FilingUnit.objects.filter(pk__in=ids[start : start + 5000]).values("pk", *UNIT_HISTORY_FIELDS):
            pk = row.pop("pk")
            now = {k: (v if v is not None else "") for k, v in row.items()}
            then = {k: (v if v is not None else "") for k, v in before[pk].items()}
            if any(now[k] != then[k] for k in then):
                result[pk] = {**now, **then}
    return result


@dataclass(frozen=True)
class AsOf:
    """An area at a moment, with the units that changed since (read once)."""

    area: Area
    moment: dt.datetime
    moved: dict[int, dict[str, Any]]

    @property
    def month(self) -> dt.datetime:
        """The first instant of the month the moment closes (the month of the instant just before it)."""
        return clock.current_month_start(self.moment - dt.timedelta(microseconds=1))

    def scope(self) -> Scope:
        return self.area.narrowed if self.area.narrowed is not None else scope_of(self.area.user)

    def in_area(self, key: str) -> Q:
        """The rows (whose unit id is at `key`; own codes) inside the area at the moment."""
        scope = self.scope()
        if scope.everything:
            return Q()
        if not scope.has_regions:
            return Q(pk__in=[])
        moved = [
            pk for pk, v in self.moved.items() if any(k in v for k in ("province_code", "city_code", "county_code"))
        ]
        inside = [pk for pk in moved if _covers(scope, self.moved[pk])]
        return (scope.region_q("") & ~Q(**{f"{key}__in": sorted(moved)})) | Q(**{f"{key}__in": sorted(inside)})

    def value(self, name: str, key: str, current: str) -> Any:
        """A unit field at the moment: `current` (a field path) unless the unit changed since."""
        by_value: dict[Any, list[int]] = defaultdict(list)
        for pk, values in self.moved.items():
            by_value[values[name]].append(pk)
        if not by_value:
            return F(current)
        whens = [When(**{f"{key}__in": sorted(ids)}, then=Value(v)) for v, ids in sorted(by_value.items(), key=str)]
        return Case(*whens, default=F(current), output_field=CharField())

    def products(self) -> QuerySet[Product]:
        """The area's products at the moment, annotated with their state then (see the section's notes)."""
        moment = self.moment
        approved = versions_approved_at(moment).filter(product=OuterRef("pk"))
        newest = approved.order_by("-data_year")
        return Product.objects.filter(self.in_area("unit_id")).annotate(
            at_province_code=self.value("province_code", "unit_id", "province_code"),
            at_city_code=self.value("city_code", "unit_id", "city_code"),
            at_county_code=self.value("county_code", "unit_id", "county_code"),
            at_industry=self.value("industry", "unit_id", "unit__industry"),
            at_scale=self.value("scale", "unit_id", "unit__scale"),
            at_kind=self.value("kind", "unit_id", "unit__kind"),
            at_filed=filed_at(moment),
            at_version=Subquery(newest.values("pk")[:1]),
            at_first=Subquery(approved.order_by("approved_on").values("approved_on")[:1]),
            at_sales=Subquery(newest.values("sales")[:1]),
            at_exports=Subquery(newest.values("exports")[:1]),
            at_class=Subquery(newest.values("product_class_id")[:1]),
            at_certified=certified_at(moment),
            at_flagged=flagged_at(moment, self.area.user),
        )

    def approved(self) -> QuerySet[Product]:
        return self.products().filter(at_version__isnull=False)

    def units(self) -> QuerySet[FilingUnit]:
        return (
            FilingUnit.objects.filter(created_at__lt=self.moment)
            .filter(self.in_area("pk"))
            .annotate(
                at_province_code=self.value("province_code", "pk", "province_code"),
                at_city_code=self.value("city_code", "pk", "city_code"),
                at_county_code=self.value("county_code", "pk", "county_code"),
                at_industry=self.value("industry", "pk", "industry"),
                at_scale=self.value("scale", "pk", "scale"),
            )
        )


def filter_products_at(area: Area, filters: Filters, moment: dt.datetime) -> QuerySet[Product]:
    """`filter_products` as the products stood at `moment` (the rows a period's figures count, `state_at`'s
    definitions: filed then, approved then, the unit's region, industry and scale then, the first approval
    among the versions approved then). Plain product rows (the annotations stay in the subquery)."""
    require_in_area(area, filters)
    at = as_of(area, moment)
    qs = at.products()
    if filters.status == APPROVED or filters.month or filters.since or filters.until or filters.product_class:
        qs = qs.filter(at_version__isnull=False)
    else:
        qs = qs.filter(at_filed=True)
    if filters.region:
        qs = qs.filter(_region_q(filters, "at_"))
    if filters.product_class:
        qs = qs.filter(at_class=filters.product_class)
    qs = qs.filter(_unit_q(filters, "at_"))
    if filters.month and (start := parse_month(filters.month)) is not None:
        qs = qs.filter(at_first__gte=start, at_first__lt=clock.next_month(start))
    if filters.since and (start := parse_month(filters.since)) is not None:
        qs = qs.filter(at_first__gte=start)
    if filters.until and (start := parse_month(filters.until)) is not None:
        qs = qs.filter(at_first__lt=clock.next_month(start))
    return Product.objects.filter(pk__in=qs.values("pk"))


def filter_units_at(area: Area, filters: Filters, moment: dt.datetime) -> QuerySet[FilingUnit]:
    """`filter_units` as the units stood at `moment` (registered before it, its region, industry and scale
    then)."""
    require_in_area(area, filters)
    qs = as_of(area, moment).units()
    if filters.region:
        qs = qs.filter(_region_q(filters, "at_"))
    qs = qs.filter(_unit_q(filters, "at_"))
    return FilingUnit.objects.filter(pk__in=qs.values("pk"))


def _covers(scope: Scope, codes: dict[str, Any]) -> bool:
    return (
        codes.get("province_code") in scope.province_codes
        or (bool(codes.get("city_code")) and codes.get("city_code") in scope.city_codes)
        or (bool(codes.get("county_code")) and codes.get("county_code") in scope.county_codes)
    )


def as_of(area: Area, moment: dt.datetime, moved: dict[int, dict[str, Any]] | None = None) -> AsOf:
    """`area` at `moment`; `moved`: `unit_values_at(moment)` when the caller has read it already (the
    year-end reads it once for the 48 cards)."""
    return AsOf(area=area, moment=moment, moved=unit_values_at(moment) if moved is None else moved)


def month_end(month: str) -> dt.datetime | None:
    """ "2026-11" → the first instant of December (Asia/Shanghai): the end of that month; None if malformed."""
    start = parse_month(month)
    return clock.next_month(start) if start is not None else None


AS_OF_FIRST_YEAR = 2000


def as_of_month(value: str) -> dt.datetime | None:
    """The `as_of` parameter of the dashboards: "" → None (now); "YYYY-MM" of a month that has ended (from
    2000) → that month's end; anything else: ValueError."""
    value = (value or "").strip()
    if not value:
        return None
    parts = value.split("-")
    if len(parts) != 2 or len(parts[0]) != 4 or not all(p.isdigit() for p in parts) or not 1 <= int(parts[1]) <= 12:
        raise ValueError(value)
    start = clock.month_start(int(parts[0]), int(parts[1]))
    end = clock.next_month(start)
    if start.year < AS_OF_FIRST_YEAR or end > timezone.now():
        raise ValueError(value)
    return end


def approvals_by_month_at(at: AsOf, first: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """Products approved at the moment, by month of first approval in [first, end) (YYYY-MM keys)."""
    rows = (
        at.approved()
        .filter(at_first__gte=first, at_first__lt=end)
        .annotate(month=TruncMonth("at_first", tzinfo=clock.CHINA_TZ))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {clock.month_key(row["month"]): row["n"] for row in rows}


def _region_figures_at(at: AsOf, fields: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows shaped like `_region_figures` (keys without the at_ prefix), at the moment."""
    start = trend_months(at.month)[0]
    at_fields = [f"at_{f}" for f in fields]
    approved_q = Q(at_version__isnull=False)
    product_rows = [
        {**{f: row[f"at_{f}"] for f in fields}, **{k: row[k] for k in ("filed", "approved", "growth", "sales")}}
        for row in at.products()
        .values(*at_fields)
        .annotate(
            filed=Count("pk", filter=Q(at_filed=True)),
            approved=Count("pk", filter=approved_q),
            growth=Count("pk", filter=approved_q & Q(at_first__gte=start)),
            sales=Sum("at_sales", filter=approved_q),
        )
        .order_by()
    ]
    unit_rows = [
        {**{f: row[f"at_{f}"] for f in fields}, "units": row["units"]}
        for row in at.units().values(*at_fields).annotate(units=Count("pk")).order_by()
    ]
    return product_rows, unit_rows


def state_at(area: Area, moment: dt.datetime, *, at: AsOf | None = None, year_end: bool = False) -> dict[str, Any]:
    """Everything `dashboard` shows, as it stood at `moment` (the trend: the 12 months ending with the
    month the moment closes; growth: first approvals in those months). Same shapes as `live_dashboard`,
    plus `by_unit_kind` and the moment itself (`as_of`).

    `year_end`: also the figures the year-end evaluation of the year the moment closes (Y) needs, under
    `year_end`: `invention` (approved products whose version then links an invention patent) and `certified`
    (approved products with a certificate of a round of data year Y - 1 published before the moment)."""
    from provincial import summary

    at = at or as_of(area, moment)
    months = trend_months(at.month)
    counts = approvals_by_month_at(at, months[0], moment)
    trend_rows = [{"month": m.strftime("%Y-%m"), "count": counts.get(m.strftime("%Y-%m"), 0)} for m in months]
    approved_q = Q(at_version__isnull=False)
    products = at.products()
    extra: dict[str, Count] = {}
    if year_end:
        products = products.annotate(
            at_invention=invention_at(), at_certified_year=certified_for_data_year_at(moment, at.month.year - 1)
        )
        extra = {
            "invention": Count("pk", filter=approved_q & Q(at_invention=True)),
            "certified_year": Count("pk", filter=approved_q & Q(at_certified_year=True)),
        }
    figures = products.aggregate(
        filed=Count("pk", filter=Q(at_filed=True)),
        approved=Count("pk", filter=approved_q),
        growth=Count("pk", filter=approved_q & Q(at_first__gte=months[0])),
        sales=Sum("at_sales", filter=approved_q),
        exports=Sum("at_exports", filter=approved_q),
        certified=Count("pk", filter=Q(at_certified=True)),
        flagged=Count("pk", filter=approved_q & Q(at_flagged=True)),
        **extra,
    )
    product_rows, unit_rows = _region_figures_at(at, [level_field(area.level)])
    ranked = rank(area, product_rows, unit_rows)
    grouped: dict[str, Counter[str]] = {"class": Counter(), "section": Counter(), "scale": Counter(), "kind": Counter()}
    known = industries()
    for row in (
        at.approved().values("at_class", "at_industry", "at_scale", "at_kind").annotate(n=Count("pk")).order_by()
    ):
        grouped["class"][str(row["at_class"])] += row["n"]
        entry = known.get(row["at_industry"] or "")
        grouped["section"][entry[1] if entry else BLANK] += row["n"]
        grouped["scale"][row["at_scale"] or BLANK] += row["n"]
        grouped["kind"][row["at_kind"]] += row["n"]
    state = {
        "as_of": moment,
        "port": (
            {"code": area.port.code, "name": area.port.name, "kind": area.port.kind} if area.port is not None else None
        ),
        "level": area.level,
        "totals": totals_of(sum(r["units"] for r in unit_rows), figures),
        "trend": trend_rows,
        "by_region": by_region(ranked),
        "by_class": summary.by_class(grouped["class"]),
        "by_section": ordered_counts(grouped["section"], section_label, "section"),
        "by_scale": ordered_counts(grouped["scale"], scale_label, "scale"),
        "by_unit_kind": sorted(grouped["kind"].items(), key=lambda item: (-item[1], item[0])),
        "ranking": ranked,
    }
    if year_end:
        state["year_end"] = {
            "year": at.month.year,
            "invention": figures["invention"],
            "certified": figures["certified_year"],
        }
    return state


def national_ranking_at(user: Any, moment: dt.datetime) -> list[dict[str, Any]]:
    """`national_ranking` as it stood at `moment`."""
    at = as_of(Area(user=user), moment)
    product_rows, unit_rows = _region_figures_at(at, ["province_code", "city_code", "county_code"])
    return rank_ports(user, product_rows, unit_rows)
