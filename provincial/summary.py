"""The dashboards' summary tables (issue 7): pre-aggregated cells per county-level region, kept fresh.

Why: at 1,000,000 products a dashboard computed live from the base tables takes tens of seconds. The
cells (`provincial.models.SummaryCell`) hold, per (province, city, county) code triple as products carry
them, the region's totals and its approved products per product class, GB/T 4754 section, unit scale and
month of first approval. A dashboard sums a few thousand cells at most, read through the scoping rule
like the products they count.

How fresh:
- Every write that can move a figure marks its region dirty (`SummaryDirty`), in the same transaction
  as the write: saves and deletions of filing units (old and new region), products, product versions,
  patent-status flags, and saves of rounds (a final list certifies), by receivers in `connect()`; and
  the set-based writes of the platform (the drift import's flags, the Excel import) through
  `patent_platform.signals.figures_changed`.
- A dashboard read first drains the dirty regions inside its area (recomputes their cells from the base
  tables: cheap, a few counties), so figures after the platform's own writes are current.
- Everything is rebuilt in full every hour by the `summary: rebuild` beat entry (and by `manage.py
  refresh_summary --full`), which catches writes outside the platform (SQL, the admin site's bulk
  actions). Nothing else ages: months are stored as keys, so the trend window and growth are computed
  at read time. A dashboard whose last rebuild is older than `SUMMARY_MAX_AGE` (default 3600 s) asks
  for a rebuild in the background (in-process where tasks run in-process); the first read of an empty
  summary builds it.
- The dashboard says "数据截至 <time>": the last full rebuild or drain of the area, whichever is later.

The definitions of every figure are those of `provincial.stats` (the same conditions build the cells),
and the lists behind the figures still read the base tables; tests/provincial/test_summary.py checks
that cells and live figures agree after every kind of write.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from filings.industries import industries
from filings.models import FilingUnit, Product
from patent_platform import clock
from patent_platform.i18n import localized_name
from patent_platform.locks import advisory_xact_lock
from provincial import stats
from provincial.models import SummaryCell, SummaryDirty, SummaryKind, SummaryState

Triple = tuple[str, str, str]
TRIPLE = ("province_code", "city_code", "county_code")
# More dirty regions than this in one drain: recompute whole provinces instead of a long OR of triples.
MAX_TRIPLES = 200
REBUILD_LOCK = "summary:rebuild"
CELL_COLUMNS = (
    "province_code",
    "city_code",
    "county_code",
    "kind",
    "key",
    "units",
    "filed",
    "approved",
    "certified",
    "flagged",
    "sales",
    "exports",
)


def max_age() -> int:
    return int(getattr(settings, "SUMMARY_MAX_AGE", 3600))


# ---------------------------------------------------------------------------------------------
# Marking regions dirty


def mark(regions: Iterable[Triple]) -> None:
    """Record regions whose figures may have changed (inside the caller's transaction)."""
    rows = {(p or "", c or "", k or "") for p, c, k in regions if p}
    if rows:
        SummaryDirty.objects.bulk_create(
            [SummaryDirty(province_code=p, city_code=c, county_code=k) for p, c, k in sorted(rows)]
        )


def mark_products(product_ids: Iterable[int]) -> None:
    ids = sorted(set(product_ids))
    regions: set[Triple] = set()
    for start in range(0, len(ids), 5000):
        regions.update(Product.objects.filter(pk__in=ids[start : start + 5000]).values_list(*TRIPLE).distinct())
    mark(regions)


# ---------------------------------------------------------------------------------------------
# Computing cells from the base tables


def _section(industry: str) -> str:
    entry = industries().get(industry or "")
    return entry[1] if entry else stats.BLANK


def compute(products: QuerySet[Product], units: QuerySet[FilingUnit]) -> list[tuple[Any, ...]]:
    """The cells of the regions these querysets cover, as rows in CELL_COLUMNS order (grouped queries;
    Python maps grouped rows only; no model instances: a full rebuild makes ~10^5 rows)."""
    totals: dict[Triple, dict[str, Any]] = {}

    def total(triple: Triple) -> dict[str, Any]:
        return totals.setdefault(triple, {})

    approved_q = Q(published_version__isnull=False)
    for row in (
        products.values(*TRIPLE)
        .annotate(
            filed=Count("pk", filter=Q(stats.filed_condition())),
            approved=Count("pk", filter=approved_q),
            certified=Count("pk", filter=Q(stats.certified_condition())),
            flagged=Count("pk", filter=approved_q & Q(stats.flagged_condition(None))),
            sales=Sum("published_version__sales"),
            exports=Sum("published_version__exports"),
        )
        .order_by()
    ):
        total(tuple(row[f] for f in TRIPLE)).update(
            {k: row[k] or 0 for k in ("filed", "approved", "certified", "flagged", "sales", "exports")}
        )
    for row in units.values(*TRIPLE).annotate(n=Count("pk")).order_by():
        total(tuple(row[f] for f in TRIPLE))["units"] = row["n"]

    zero = {"units": 0, "filed": 0, "approved": 0, "certified": 0, "flagged": 0, "sales": 0, "exports": 0}
    cells: list[tuple[Any, ...]] = [
        (*t, SummaryKind.REGION.value, "", *({**zero, **v}[name] for name in CELL_COLUMNS[5:]))
        for t, v in totals.items()
    ]
    approved = products.filter(approved_q)
    grouped: dict[tuple[str, Triple, str], int] = Counter()
    for row in approved.values(*TRIPLE, "published_version__product_class_id").annotate(n=Count("pk")).order_by():
        grouped[SummaryKind.CLASS, tuple(row[f] for f in TRIPLE), str(row["published_version__product_class_id"])] += (
            row["n"]
        )
    for row in approved.values(*TRIPLE, "unit__industry").annotate(n=Count("pk")).order_by():
        grouped[SummaryKind.SECTION, tuple(row[f] for f in TRIPLE), _section(row["unit__industry"])] += row["n"]
    for row in approved.values(*TRIPLE, "unit__scale").annotate(n=Count("pk")).order_by():
        grouped[SummaryKind.SCALE, tuple(row[f] for f in TRIPLE), row["unit__scale"] or stats.BLANK] += row["n"]
    months = (
        approved.annotate(first=stats.first_approval())
        .annotate(month=TruncMonth("first", tzinfo=clock.CHINA_TZ))
        .values(*TRIPLE, "month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in months:
        key = clock.month_key(row["month"]) if row["month"] else stats.BLANK
        grouped[SummaryKind.MONTH, tuple(row[f] for f in TRIPLE), key] += row["n"]
    cells += [(*t, str(kind), key, 0, 0, n, 0, 0, 0, 0) for (kind, t, key), n in grouped.items() if n]
    return cells


def _triples_q(triples: set[Triple]) -> Q:
    if len(triples) > MAX_TRIPLES:
        return Q(province_code__in=sorted({t[0] for t in triples}))
    q = Q(pk__in=[])
    for p, c, k in sorted(triples):
        q |= Q(province_code=p, city_code=c, county_code=k)
    return q


def _lock() -> None:
    """Serialise refreshes (two would insert the same cells): a transaction-level advisory lock on
    PostgreSQL; SQLite serialises writers itself."""
    advisory_xact_lock("provincial.summary")


def _write(cells: list[tuple[Any, ...]]) -> None:
    """Insert the cells: COPY on PostgreSQL (a full rebuild writes ~10^5 rows at 1M products), bulk_create
    elsewhere."""
    if connection.vendor != "postgresql":
        SummaryCell.objects.bulk_create(
            [SummaryCell(**dict(zip(CELL_COLUMNS, row, strict=True))) for row in cells], batch_size=2000
        )
        return
    table = SummaryCell._meta.db_table
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(CELL_COLUMNS)}) FROM STDIN") as copy:
        for row in cells:
            copy.write_row(row)


def rebuild() -> dict[str, Any]:
    """Recompute every cell (one transaction: readers see the old cells until it commits)."""
    started = time.perf_counter()
    with transaction.atomic():
        _lock()
        dirty = max_dirty = SummaryDirty.objects.aggregate(m=Max("pk"))["m"]
        cells = compute(Product.objects.all(), FilingUnit.objects.all())
        SummaryCell.objects.all().delete()  # not TRUNCATE: readers keep the old cells until the commit
        _write(cells)
        if max_dirty is not None:
            # marks committed before this point are covered by the cells just computed
            SummaryDirty.objects.filter(pk__lte=dirty).delete()
        seconds = time.perf_counter() - started
        now = timezone.now()
        SummaryState.objects.update_or_create(
            pk=1, defaults={"built_at": now, "refreshed_at": now, "build_seconds": seconds}
        )
    return {"cells": len(cells), "seconds": seconds}


def drain(scope_q: Q | None = None) -> int:
    """Recompute the cells of the dirty regions (inside `scope_q`, a filter on the region code fields,
    or all); returns the number of regions recomputed."""
    marks = SummaryDirty.objects.all()
    if scope_q is not None:
        marks = marks.filter(scope_q)
    if not marks.exists():
        return 0
    with transaction.atomic():
        _lock()
        # read the marks first: every mark read was committed before the base tables are read below
        rows = list(marks.values_list("pk", *TRIPLE))
        if not rows:
            return 0
        triples: set[Triple] = {(p, c, k) for _pk, p, c, k in rows}
        where = _triples_q(triples)
        cells = compute(Product.objects.filter(where), FilingUnit.objects.filter(where))
        SummaryCell.objects.filter(where).delete()
        _write(cells)
        ids = [row[0] for row in rows]
        for start in range(0, len(ids), 5000):
            SummaryDirty.objects.filter(pk__in=ids[start : start + 5000]).delete()
        SummaryState.objects.update_or_create(pk=1, defaults={"refreshed_at": timezone.now()})
    return len(triples)


def ensure_fresh(area: stats.Area) -> dt.datetime:
    """Before a dashboard read: build the summary if it was never built, drain the area's dirty regions,
    and ask for a background rebuild when the last one is older than SUMMARY_MAX_AGE. Returns the time
    the area's figures are as of."""
    state = SummaryState.objects.filter(pk=1).first()
    if state is None or state.built_at is None:
        rebuild()
        return SummaryState.objects.get(pk=1).built_at  # type: ignore[return-value]
    now = timezone.now()
    if now - state.built_at > dt.timedelta(seconds=max_age()) and cache.add(REBUILD_LOCK, 1, 300):
        from provincial.tasks import rebuild_summary

        transaction.on_commit(rebuild_summary.delay)
    if drain(_area_q(area)):
        return now
    return max(filter(None, (state.built_at, state.refreshed_at)))


# ---------------------------------------------------------------------------------------------
# Reading the cells (the dashboard's figures, same shapes as `provincial.stats`)


def _area_q(area: stats.Area) -> Q | None:
    """The area as a filter on region code fields (None: everything)."""
    from patent_platform.scoping import scope_of

    scope = area.narrowed if area.narrowed is not None else scope_of(area.user)
    if scope.everything:
        return None
    return scope.region_q("")


def cells(area: stats.Area, kind: str) -> QuerySet[SummaryCell]:
    qs = SummaryCell.objects.visible_to(area.user).filter(kind=kind)
    return qs.filter(area.narrowed.region_q("")) if area.narrowed is not None else qs


def totals(area: stats.Area, growth: int) -> dict[str, Any]:
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
        "certified_note": stats._(stats.CERTIFIED_NOTE),
        "flagged": figures["flagged"] or 0,
    }


def trend(area: stats.Area) -> list[dict[str, Any]]:
    months = [clock.month_key(m) for m in stats.trend_months()]
    counts = {
        row["key"]: row["n"]
        for row in cells(area, SummaryKind.MONTH)
        .filter(key__gte=months[0])
        .exclude(key=stats.BLANK)
        .values("key")
        .annotate(n=Sum("approved"))
        .order_by()
    }
    return [{"month": m, "count": counts.get(m, 0)} for m in months]


def months(area: stats.Area, first: str, end: str) -> dict[str, int]:
    """Approved products by month of first approval (YYYY-MM keys) in [first, end)."""
    return {
        row["key"]: row["n"] or 0
        for row in cells(area, SummaryKind.MONTH)
        .filter(key__gte=first, key__lt=end)
        .exclude(key=stats.BLANK)
        .values("key")
        .annotate(n=Sum("approved"))
        .order_by()
    }


def breakdowns(area: stats.Area) -> dict[str, Counter[str]]:
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


def by_class(counts: Counter[str]) -> list[dict[str, Any]]:
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
            "filters": stats.Filters(status=stats.APPROVED, product_class=int(key)).params(),
        }
        for key, n in rows
    ]


def by_section(counts: Counter[str]) -> list[dict[str, Any]]:
    return stats.ordered_counts(counts, stats.section_label, "section")


def by_scale(counts: Counter[str]) -> list[dict[str, Any]]:
    return stats.ordered_counts(counts, stats.scale_label, "scale")


def region_figures(
    region_cells: QuerySet[SummaryCell], month_cells: QuerySet[SummaryCell], fields: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows shaped like `stats._region_figures`: (product rows with filed, approved, growth and sales;
    unit rows with units), grouped by `fields`."""
    growth: dict[tuple[str, ...], int] = defaultdict(int)
    for row in (
        month_cells.filter(key__gte=clock.month_key(stats.trend_start()))
        .exclude(key=stats.BLANK)
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


def ranking(area: stats.Area) -> list[dict[str, Any]]:
    fields = [stats.level_field(area.level)]
    product_rows, unit_rows = region_figures(cells(area, SummaryKind.REGION), cells(area, SummaryKind.MONTH), fields)
    return stats.rank(area, product_rows, unit_rows)


def national_ranking(user: Any) -> list[dict[str, Any]]:
    visible = SummaryCell.objects.visible_to(user)
    ensure_fresh(stats.Area(user=user))
    product_rows, unit_rows = region_figures(
        visible.filter(kind=SummaryKind.REGION), visible.filter(kind=SummaryKind.MONTH), list(TRIPLE)
    )
    return stats.rank_ports(user, product_rows, unit_rows)


def dashboard(area: stats.Area) -> dict[str, Any]:
    """`stats.dashboard` from the cells."""
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
        "by_region": stats.by_region(ranked),
        "by_class": by_class(counts[SummaryKind.CLASS]),
        "by_section": by_section(counts[SummaryKind.SECTION]),
        "by_scale": by_scale(counts[SummaryKind.SCALE]),
        "ranking": ranked,
    }


# ---------------------------------------------------------------------------------------------
# The receivers that mark regions dirty (connected in ProvincialConfig.ready)


def _triple(obj: Any) -> Triple:
    return (obj.province_code, obj.city_code, obj.county_code)


def _unit_before(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if instance.pk and not raw:
        # our marker on the instance, clear of model fields
        instance._summary_before = FilingUnit.objects.filter(pk=instance.pk).values_list(*TRIPLE).first()  # noqa: SLF001


def _unit_saved(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        mark([_triple(instance), *filter(None, [getattr(instance, "_summary_before", None)])])


def _coded_changed(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """Products and candidates carry their region codes."""
    if not raw and instance.province_code:
        mark([_triple(instance)])


def _version_changed(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if raw or not instance.product_id:
        return
    product = instance._state.fields_cache.get("product")
    if product is not None:
        mark([_triple(product)])
    else:
        mark_products([instance.product_id])


def _flag_changed(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        from filings.models import ProductVersion

        mark_products(ProductVersion.objects.filter(pk=instance.version_id).values_list("product_id", flat=True))


def _round_saved(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """A round moving to (or from) its final stage certifies (or uncertifies) its candidates."""
    if not raw:
        mark(instance.candidates.values_list(*TRIPLE).distinct())


def _figures_changed(sender: Any, products: Iterable[int] = (), **kwargs: Any) -> None:
    mark_products(products)


def connect() -> None:
    from django.db.models.signals import post_delete, post_save, pre_save

    from evaluation.models import Round
    from filings.models import FilingFlag, ProductVersion
    from patent_platform.signals import figures_changed

    uid = "provincial.summary"
    pre_save.connect(_unit_before, sender=FilingUnit, dispatch_uid=f"{uid}.unit_before")
    post_save.connect(_unit_saved, sender=FilingUnit, dispatch_uid=f"{uid}.unit_saved")
    post_delete.connect(_coded_changed, sender=FilingUnit, dispatch_uid=f"{uid}.unit_deleted")
    post_save.connect(_coded_changed, sender=Product, dispatch_uid=f"{uid}.product_saved")
    post_delete.connect(_coded_changed, sender=Product, dispatch_uid=f"{uid}.product_deleted")
    # Candidates need no receiver: a product counts as certified only once its round is final, and a round
    # becomes final (after its candidates are saved) through Round.save, which marks their regions. The
    # engine's set-based writes and the per-candidate saves of the earlier stages move no figure.
    post_save.connect(_version_changed, sender=ProductVersion, dispatch_uid=f"{uid}.version_saved")
    post_delete.connect(_version_changed, sender=ProductVersion, dispatch_uid=f"{uid}.version_deleted")
    post_save.connect(_flag_changed, sender=FilingFlag, dispatch_uid=f"{uid}.flag_saved")
    post_delete.connect(_flag_changed, sender=FilingFlag, dispatch_uid=f"{uid}.flag_deleted")
    post_save.connect(_round_saved, sender=Round, dispatch_uid=f"{uid}.round_saved")
    figures_changed.connect(_figures_changed, dispatch_uid=f"{uid}.figures_changed")
