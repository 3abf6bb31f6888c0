"""The dashboards' summary cells (issue 7), built: the cells of every region (`rebuild`) or of the dirty
regions (`drain`) recomputed from the base tables with the conditions of the live figures
(provincial/dashboards/conditions.py), and written in one transaction. When and why: freshness.py;
reading them: summary.py (both in provincial/dashboards/)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Count,
    Max,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from filings.industries import industries
from filings.models import FilingUnit, Product
from patent_platform import clock
from patent_platform.locks import advisory_xact_lock
from provincial.dashboards.area import (
    BLANK,
)
from provincial.dashboards.conditions import (
    certified_condition,
    filed_condition,
    first_approval,
    flagged_condition,
)
from provincial.models import SummaryCell, SummaryDirty, SummaryKind, SummaryState

Triple = tuple[str, str, str]
TRIPLE = ("province_code", "city_code", "county_code")
# More dirty regions than this in one drain: recompute whole provinces instead of a long OR of triples.
MAX_TRIPLES = 200

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


def _section(industry: str) -> str:
    entry = industries().get(industry or "")
    return entry[1] if entry else BLANK


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
            filed=Count("pk", filter=Q(filed_condition())),
            approved=Count("pk", filter=approved_q),
            certified=Count("pk", filter=Q(certified_condition())),
            flagged=Count("pk", filter=approved_q & Q(flagged_condition(None))),
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
        grouped[SummaryKind.SCALE, tuple(row[f] for f in TRIPLE), row["unit__scale"] or BLANK] += row["n"]
    months = (
        approved.annotate(first=first_approval())
        .annotate(month=TruncMonth("first", tzinfo=clock.CHINA_TZ))
        .values(*TRIPLE, "month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in months:
        key = clock.month_key(row["month"]) if row["month"] else BLANK
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
