"""The freshness of the dashboards' summary cells (issue 7): pre-aggregated cells per county-level region,
kept fresh.

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

The definitions of every figure are those of the live queries (provincial/dashboards/live.py: the same
conditions build the cells, provincial/dashboards/cells.py), and the lists behind the figures still read
the base tables; tests/provincial/test_summary.py checks
that cells and live figures agree after every kind of write.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import (
    Q,
)
from django.utils import timezone

from filings.models import FilingFlag, FilingUnit, Product, ProductVersion
from patent_platform.scoping import scope_of
from provincial.dashboards.area import (
    Area,
)
from provincial.dashboards.cells import TRIPLE, Triple, drain, rebuild
from provincial.models import SummaryDirty, SummaryState

REBUILD_LOCK = "summary:rebuild"


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


def ensure_fresh(area: Area) -> dt.datetime:
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


def _area_q(area: Area) -> Q | None:
    """The area as a filter on region code fields (None: everything)."""

    scope = area.narrowed if area.narrowed is not None else scope_of(area.user)
    if scope.everything:
        return None
    return scope.region_q("")


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
