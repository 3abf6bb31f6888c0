"""The analysis page's pivot (issue 20): a 3-dimension pivot of 广东's current state (city × county × product
class, approved products) through the engine (`provincial.analysis.run`: validation, scope, the summary cells,
labels, totals, the table) against the same figures summed from the summary cells by hand (one GROUP BY on
`provincial_summarycell`), in the same run; and the page itself (GET /port/analysis/…, in-process).

Both read the cells, so the goal is the engine's overhead: ≤ 5× the hand query's time. The as-of pivots of a
past period read the base tables (one GROUP BY per moment); the lead's 1M run measures them as a note.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.test import Client

from bench.runner import Result, median_time

PORT = "440000"
QUERY = "rows=city&rows=county&cols=class&measures=products"


def bench_pivot(args: Any, log: Callable[[str], Any]) -> list[Result]:
    from bench.cases import getter, port_admin
    from provincial import analysis, dashboards
    from provincial.dashboards import freshness
    from provincial.models import SummaryCell, SummaryKind

    user = port_admin()
    area = dashboards.area_for(user)
    definition = analysis.Definition(rows=("city", "county"), cols=("class",), measures=("products",))
    freshness.ensure_fresh(area)

    def engine() -> analysis.Result:
        return analysis.run(area, definition)

    def by_hand() -> dict[tuple[str, str, str], Decimal]:
        rows = (
            SummaryCell.objects.filter(kind=SummaryKind.CLASS, province_code=PORT)
            .values("city_code", "county_code", "key")
            .annotate(n=Sum("approved"))
            .order_by()
        )
        return {(r["city_code"], r["county_code"], r["key"]): r["n"] for r in rows}

    result = engine()
    hand = by_hand()
    grand = result.body[-1][-1] if result.body else 0
    if grand != sum(hand.values()):
        raise RuntimeError(f"the pivot's total {grand} differs from the cells' {sum(hand.values())}")
    log(f"… pivot: {len(result.body)} rows × {len(result.header)} columns, total {grand:,}")
    engine_s, engine_mb = median_time(engine, args.repeat)
    hand_s, hand_mb = median_time(by_hand, args.repeat)
    client = Client()
    client.force_login(user)
    page_s, _page_mb = median_time(getter(client, f"/port/analysis/?{QUERY}"), args.repeat)
    ratio = engine_s / hand_s if hand_s else 0.0
    return [
        Result(
            name="analysis pivot, 3 dimensions (广东: city × county × class)",
            platform=f"analysis.run: {engine_s * 1000:.1f} ms (median of {args.repeat}); the page GET "
            f"/port/analysis/?{QUERY}: {page_s * 1000:.0f} ms (in-process)",
            baseline=f"the same figures summed from the summary cells by hand: {hand_s * 1000:.1f} ms",
            ratio=ratio,
            ratio_text=f"{ratio:.2f}× its time",
            goal=5.0,
            goal_text="≤ 5× the hand query",
            platform_mb=engine_mb,
            baseline_mb=hand_mb,
            lower_is_better=True,
            note=f"{len(result.body)} rows × {len(result.header)} columns; both read provincial_summarycell "
            "(provincial/analysis/queries.py `covered_by_cells`); the engine adds validation, scope, labels, totals",
        )
    ]
