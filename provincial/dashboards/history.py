"""The state as of a moment (issue 17, mechanism 2).

One function, `state_at(area, moment)`, gives the dashboard's figures as they stood at `moment`, from
the history the platform keeps (nothing is frozen): a publication of a period reports the state at the
period's end, whenever it is built, and a dashboard shows any past month-end the same way (`?as_of=`).

- approved at T: a version whose approval came before T and that had not left "approved" by T. The
  approval time is `decided_at` while the version is approved (the workflow writes it with the approve
  transition), else `approved_at` (the time of its `approve` transition: a revoked version's `decided_at`
  is its revocation); it left at `approval_ended_at` (its `revoke`/`withdraw` transition; a version is
  approved at most once). Plain columns of the version, indexed (`version_decided`,
  `version_approval_span`): no lookup in the transitions;
- the product's published version at T: the newest (data year) of its versions approved at T; its first
  approval at T: the earliest approval among them;
- filed at T: a version submitted before T (`submitted_at`, or any transition to a pending state: a
  resubmission moves `submitted_at` on, the transitions keep the first);
- certified at T: a certificate held at T (evaluation/lifecycle.py `held_q`: issued before T, within its
  validity, not revoked and its filing not ended by T);
- a filing unit's region, industry, scale, kind and name at T: its values now, with every field changed
  since T taken back from the audit log (`FilingUnit` saves are audited field by field, before → after:
  the value at T is the "before" of the first change at or after T); units registered before T;
- the area: the same scope as the dashboard's (`area.narrowed`, else the viewer's), applied to the codes
  the units had at T, so a unit that moved out of a port after T still counts for it at T.

Writes outside the platform's saves (raw SQL, queryset.update on units) leave no history: as the summary
cells, such corrections show from the time they are made.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import (
    Case,
    CharField,
    Count,
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

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from patent_platform.scoping import Reader

from filings.industries import industries
from filings.models import FilingUnit, Product
from patent_platform import clock
from patent_platform.scoping import Scope, scope_of
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
    certified_at,
    certified_for_data_year_at,
    filed_at,
    flagged_at,
    invention_at,
    versions_approved_at,
)
from provincial.dashboards.period import parse_month, trend_months
from provincial.dashboards.rows import by_region, class_rows, ordered_counts, rank, rank_ports, totals_of

UNIT_HISTORY_FIELDS = ("region_id", "province_code", "city_code", "county_code", "industry", "scale", "kind", "name")


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


class ProductAt(TypedDict):
    """The annotations of `AsOf.products` (the product's state at the moment)."""

    at_province_code: str
    at_city_code: str
    at_county_code: str
    at_industry: str
    at_scale: str
    at_kind: str
    at_filed: bool
    at_version: int | None
    at_first: dt.datetime | None
    at_sales: Decimal | None
    at_exports: Decimal | None
    at_class: int | None
    at_certified: bool
    at_flagged: bool


class UnitAt(TypedDict):
    """The annotations of `AsOf.units` (the unit's codes, industry and scale at the moment)."""

    at_province_code: str
    at_city_code: str
    at_county_code: str
    at_industry: str
    at_scale: str


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

    def products(self) -> QuerySet[WithAnnotations[Product, ProductAt]]:
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

    def approved(self) -> QuerySet[WithAnnotations[Product, ProductAt]]:
        return self.products().filter(at_version__isnull=False)

    def units(self) -> QuerySet[WithAnnotations[FilingUnit, UnitAt]]:
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
        qs = qs.filter(region_q_of(filters, "at_"))
    if filters.product_class:
        qs = qs.filter(at_class=filters.product_class)
    qs = qs.filter(unit_q_of(filters, "at_"))
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
        qs = qs.filter(region_q_of(filters, "at_"))
    qs = qs.filter(unit_q_of(filters, "at_"))
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
        "by_class": class_rows(grouped["class"]),
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


def national_ranking_at(user: Reader, moment: dt.datetime) -> list[dict[str, Any]]:
    """`national_ranking` as it stood at `moment`."""
    at = as_of(Area(user=user), moment)
    product_rows, unit_rows = _region_figures_at(at, ["province_code", "city_code", "county_code"])
    return rank_ports(user, product_rows, unit_rows)
