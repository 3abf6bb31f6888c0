"""The coverage selectors: the figures that the pages, the Excel exports and the API share (so the three always
agree), the entries without an approved filing and their filing state, and the contacts on the rosters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from filings.choices import EDITABLE_STATUSES, PENDING_STATUSES, FilingStatus
from filings.models import FilingUnit, Product, ProductVersion
from patent_platform import clock
from patent_platform.clock import china_today
from patent_platform.i18n import localized_name
from patent_platform.models import Region
from provincial.choices import RosterCategory, UnitKind
from provincial.models import ManagementUnit, Roster, RosterEntry
from provincial.rosters.services import unit_scope

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from patent_platform.scoping import Reader


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass
class CoverageRow:
    key: str
    label: str
    entries: int
    covered: int

    @property
    def missing(self) -> int:
        return self.entries - self.covered

    @property
    def percent(self) -> float | None:
        return percent(self.covered, self.entries)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "entries": self.entries,
            "covered": self.covered,
            "missing": self.missing,
            "percent": self.percent,
        }


def approved_filing_exists(uscc_ref: str = "uscc") -> Exists:
    """Whether the enterprise with the outer row's USCC has at least one approved (published) product."""
    return Exists(Product.objects.filter(unit__uscc=OuterRef(uscc_ref), published_version__isnull=False))


def visible_rosters(user: Reader, *, year: int | None = None, category: str | None = None) -> QuerySet[Roster]:
    qs = Roster.objects.visible_to(user)
    if year is not None:
        qs = qs.filter(year=year)
    if category:
        qs = qs.filter(category=category)
    return qs


def roster_entries(
    user: Reader, *, year: int | None = None, category: str | None = None, roster: Roster | None = None
) -> QuerySet[RosterEntry]:
    """The entries the user sees: of the visible rosters, those inside the user's regions."""
    qs = RosterEntry.objects.visible_to(user).filter(roster__in=visible_rosters(user, year=year, category=category))
    if roster is not None:
        qs = qs.filter(roster=roster)
    return qs


class RosterCounts(TypedDict):
    """The annotations of `rosters_with_counts`."""

    scope_count: int
    scope_covered: int


def rosters_with_counts(
    user: Reader, *, year: int | None = None, category: str | None = None
) -> QuerySet[WithAnnotations[Roster, RosterCounts]]:
    """The visible rosters, each with `scope_count` (its entries in the user's scope) and `scope_covered`."""
    in_scope = RosterEntry.objects.visible_to(user).filter(roster=OuterRef("pk")).order_by().values("roster")
    return (
        visible_rosters(user, year=year, category=category)
        .select_related("owner", "uploaded_by")
        .annotate(
            scope_count=Coalesce(Subquery(in_scope.annotate(n=Count("id")).values("n")), Value(0)),
            scope_covered=Coalesce(
                Subquery(in_scope.filter(approved_filing_exists()).annotate(n=Count("id")).values("n")), Value(0)
            ),
        )
    )


def distinct_counts(filter_q: Q | None = None) -> tuple[Count, Count]:
    base = filter_q if filter_q is not None else Q()
    return (
        Count("uscc", distinct=True, filter=base if filter_q is not None else None),
        Count("uscc", distinct=True, filter=base & Q(covered=True)),
    )


def coverage_by_category(user: Reader, *, year: int | None = None) -> tuple[list[CoverageRow], CoverageRow]:
    """Per category: distinct enterprises on the rosters in scope and how many have an approved filing;
    and the total (an enterprise on several categories' rosters counts once)."""
    entries = roster_entries(user, year=year).annotate(covered=approved_filing_exists()).order_by()
    n, c = distinct_counts()
    found = {row["roster__category"]: row for row in entries.values("roster__category").annotate(n=n, c=c).order_by()}
    rows = [
        CoverageRow(key=value, label=str(label), entries=found[value]["n"], covered=found[value]["c"])
        for value, label in RosterCategory.choices
        if value in found
    ]
    total = entries.aggregate(n=n, c=c)
    return rows, CoverageRow(key="", label=_("合计（去重）"), entries=total["n"], covered=total["c"])


def port_sort_key(unit: ManagementUnit) -> tuple[str, int, str]:
    parent = unit.parent.code if unit.parent_id and unit.parent else unit.code
    return parent, 0 if unit.kind != UnitKind.CITY else 1, unit.code


def coverage_by_port(user: Reader, *, year: int | None = None, category: str | None = None) -> list[CoverageRow]:
    """Per management unit visible to the user (all 47 for the national office; a province and the city
    ports inside it for a province port): distinct enterprises in the unit's regions and how many are
    covered. One query: two filtered counts per unit."""
    units = sorted(
        ManagementUnit.objects.visible_to(user).select_related("parent").prefetch_related("regions"),
        key=port_sort_key,
    )
    entries = roster_entries(user, year=year, category=category).annotate(covered=approved_filing_exists()).order_by()
    aggregates: dict[str, Count] = {}
    for unit in units:
        scope = unit_scope(unit)
        if scope.has_regions:
            aggregates[f"n{unit.pk}"], aggregates[f"c{unit.pk}"] = distinct_counts(scope.region_q(""))
    figures = entries.aggregate(**aggregates) if aggregates else {}
    return [
        CoverageRow(
            key=unit.code,
            label=localized_name(unit),
            entries=figures.get(f"n{unit.pk}", 0) or 0,
            covered=figures.get(f"c{unit.pk}", 0) or 0,
        )
        for unit in units
    ]


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    months = []
    month = clock.month_of(first)
    while month <= last:
        months.append(month)
        month = clock.month_after(month)
    return months


def coverage_trend(user: Reader, *, year: int | None = None, category: str | None = None) -> list[dict[str, Any]]:
    """The cumulative share of today's roster enterprises covered, by month of their first approval.

    The first approval of an enterprise is the earliest `decided_at` of its approved versions (a Min per
    unit, in the database). Months run from the first covered month to the current one."""
    entries = roster_entries(user, year=year, category=category).order_by()
    total = entries.values("uscc").distinct().count()
    first_approval = (
        ProductVersion.objects.filter(product__unit__uscc=OuterRef("uscc"), status=FilingStatus.APPROVED)
        .order_by()
        .values("product__unit__uscc")
        .annotate(first=Min("decided_at"))
        .values("first")[:1]
    )
    firsts = (
        entries.filter(approved_filing_exists())
        .annotate(first=Subquery(first_approval))
        .values_list("uscc", "first")
        .distinct()
    )
    today = china_today()
    by_month: dict[dt.date, int] = {}
    for _uscc, first in firsts:
        month = clock.month_of(timezone.localtime(first, clock.CHINA_TZ).date() if first else today)
        by_month[month] = by_month.get(month, 0) + 1
    if not by_month:
        return []
    trend, running = [], 0
    for month in _months(min(by_month), today):
        running += by_month.get(month, 0)
        trend.append(
            {"month": month.strftime("%Y-%m"), "covered": running, "entries": total, "percent": percent(running, total)}
        )
    return trend


def coverage(user: Reader, *, year: int | None = None, category: str | None = None) -> dict[str, Any]:
    """Everything the coverage page and the API show, from the selectors above."""
    rows, total = coverage_by_category(user, year=year)
    ports = coverage_by_port(user, year=year, category=category)
    return {
        "year": year,
        "category": category or None,
        "total": total,
        "categories": rows,
        "ports": ports if len(ports) > 1 else [],
        "trend": coverage_trend(user, year=year, category=category),
    }


def roster_years(user: Reader) -> list[int]:
    return sorted(set(Roster.objects.visible_to(user).values_list("year", flat=True)), reverse=True)


# The filing state of a roster enterprise without an approved filing: a fact of the enterprise, the same for
# every port that sees the entry (one area rule, docs/ONE_TRUTH.md §3); only the contacts depend on the viewer.
STATE_UNREGISTERED = "unregistered"

STATE_PENDING = "pending"

STATE_DRAFT = "draft"

STATE_REGISTERED = "registered"


def state_labels() -> dict[str, str]:
    return {
        STATE_UNREGISTERED: _("未注册"),
        STATE_PENDING: _("已提交，待审核"),
        STATE_DRAFT: _("有草稿或退回待修改"),
        STATE_REGISTERED: _("已注册，尚未填报"),
    }


def missing_entries(
    user: Reader, *, year: int | None = None, category: str | None = None, roster: Roster | None = None
) -> QuerySet[RosterEntry, Mapping[str, Any]]:
    """One row per enterprise (distinct USCC) in scope on the chosen rosters without an approved filing,
    ordered by region then USCC: values with uscc, name, province_code, city_code, county_code."""
    return (
        roster_entries(user, year=year, category=category, roster=roster)
        .filter(~approved_filing_exists())
        .order_by()
        .values("uscc")
        .annotate(
            name=Max("name"),
            province=Max("province_code"),
            city=Max("city_code"),
            county=Max("county_code"),
        )
        .order_by("province", "city", "county", "uscc")
    )


def describe_missing(user: Reader, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Add to each row of `missing_entries` its region names and, if the enterprise is registered, its
    filing state and (when its unit lies in the user's scope) the unit's contact: three queries per page.

    The state is read from the enterprise's unit wherever it is registered, so every port that sees the entry
    says the same (a roster enterprise of 深圳 whose unit moved to 广州: "registered" for 深圳 as for the
    national office); a unit outside the user's scope is marked `outside` and shows no contact."""
    usccs = [row["uscc"] for row in rows]
    units = {
        unit.uscc: unit
        for unit in FilingUnit.objects.filter(uscc__in=usccs).annotate(
            has_pending=Exists(
                ProductVersion.objects.filter(product__unit=OuterRef("pk"), status__in=list(PENDING_STATUSES))
            ),
            has_draft=Exists(
                ProductVersion.objects.filter(product__unit=OuterRef("pk"), status__in=list(EDITABLE_STATUSES))
            ),
        )
    }
    visible = set(units_in_scope(user, usccs))
    roster_contacts = roster_contacts_of(user, usccs)
    codes = {c for row in rows for c in (row["province"], row["city"], row["county"]) if c}
    names = dict(Region.objects.filter(code__in=codes).names())
    labels = state_labels()
    described = []
    for row in rows:
        unit = units.get(row["uscc"])
        if unit is not None:
            state = STATE_PENDING if unit.has_pending else STATE_DRAFT if unit.has_draft else STATE_REGISTERED
        else:
            state = STATE_UNREGISTERED
        outside = unit is not None and row["uscc"] not in visible
        label = labels[state]
        if outside:
            label = _("%(state)s（所在地不在本辖区，联系方式不显示）") % {"state": label}
        shown = unit if unit is not None and not outside else None
        region = "".join(
            names.get(c, "") for c in (row["province"], row["city"], row["county"]) if c and names.get(c) != "市辖区"
        )
        described.append(
            {
                **row,
                "region": region,
                "state": state,
                "outside": outside,
                "state_label": label,
                "unit_name": shown.name if shown else "",
                "unit_id": shown.pk if shown else None,
                "contact_name": shown.contact_name if shown else "",
                "contact_phone": shown.contact_phone if shown else "",
                "contact_email": shown.contact_email if shown else "",
                **roster_contacts.get(row["uscc"], EMPTY_CONTACT),
            }
        )
    return described


def units_in_scope(user: Reader, usccs: Sequence[str]) -> dict[str, int]:
    """USCC → id of the registered unit, for the enterprises whose unit lies in the user's scope (the scoping
    rule: the read-only unit page `port:unit` opens these and no other). One query."""
    return dict(FilingUnit.objects.visible_to(user).filter(uscc__in=list(usccs)).values_list("uscc", "pk"))


EMPTY_CONTACT = {"roster_contact_name": "", "roster_contact_phone": "", "roster_contact_email": ""}


def roster_contacts_of(user: Reader, usccs: Sequence[str]) -> dict[str, dict[str, str]]:
    """The roster contact of each enterprise, from the rosters the user sees: per field, the value of the latest
    roster (by year, then upload) that fills it in. One query."""
    contacts: dict[str, dict[str, str]] = {}
    entries = (
        roster_entries(user)
        .filter(uscc__in=list(usccs))
        .order_by("-roster__year", "-roster_id", "-id")
        .only("uscc", "contact_name", "contact_phone", "contact_email")
    )
    for entry in entries:
        found = contacts.setdefault(entry.uscc, dict(EMPTY_CONTACT))
        for field in ("contact_name", "contact_phone", "contact_email"):
            if not found[f"roster_{field}"] and getattr(entry, field):
                found[f"roster_{field}"] = getattr(entry, field)
    return contacts
