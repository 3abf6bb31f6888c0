"""The area a dashboard counts (the viewer's scope, optionally one port inside it), the labels of its keys,
and the drill-down filters shared by the figures and the lists behind them (so both always agree)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import (
    Q,
    QuerySet,
)
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from filings.choices import UnitScale
from filings.industries import industries, industry_name
from filings.models import FilingUnit, Product, ProductVersion
from patent_platform.choices import RegionLevel, Role
from patent_platform.models import Region, User
from patent_platform.scoping import EVERYTHING, Scope, principal_for, scope_of
from provincial.models import ManagementUnit, PortMembership

if TYPE_CHECKING:
    from patent_platform.scoping import Reader

BLANK = "-"  # filter value: "not filled in" (no industry, no scale, no code at that level)
FILED = "filed"
APPROVED = "approved"
STATUSES = (FILED, APPROVED)
LEVELS = (RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY)
CERTIFIED_NOTE = gettext_noop("已公布认定结果的专利密集型产品")
MUNICIPALITIES = frozenset({"110000", "120000", "310000", "500000"})  # 直辖市


@dataclass(frozen=True)
class Area:
    """The user's scope, optionally narrowed to the regions of one port inside it (`?port=<code>`)."""

    user: Reader
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


def area_for(user: Reader, port_code: str = "") -> Area:
    """The user's area; with `port_code`, one port inside the user's scope (any other code: 404)."""
    if port_code:
        unit = ManagementUnit.objects.visible_to(user).filter(code=port_code).prefetch_related("regions").first()
        if unit is None:
            raise Http404
        narrowed = unit_scope(unit)
        return Area(user=user, port=unit, narrowed=narrowed, level=_breakdown_level(narrowed), regions_scope=narrowed)
    scope = scope_of(user)
    port = None
    if isinstance(user, User) and user.role == Role.PORT_ADMIN:  # a port membership is a person's
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


def region_q_of(filters: Filters, prefix: str = "") -> Q:
    if filters.region == BLANK:
        level = filters.level if filters.level in LEVELS else RegionLevel.COUNTY
        return Q(**{prefix + level_field(level): ""})
    return Q(**{prefix + level_field(region_level_of(filters.region)): filters.region})


def unit_q_of(filters: Filters, prefix: str) -> Q:
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
