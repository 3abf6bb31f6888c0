"""The figures of the port and national dashboards (issue 23: one package, one public entry per figure).

The entries (re-exported here; import them from `provincial.dashboards`):
- `dashboard(area)`: everything the dashboard page and `GET /api/v1/provincial/dashboard/` show, now, read
  from the summary cells (kept fresh, with the time they are as of); `national_ranking(user)`: the 47
  management units ranked, from the same cells;
- `live_dashboard(area)`, `live_national_ranking(user)`: the same computed from the base tables (the
  reference the cells are checked against), and `filter_products` / `filter_units`, the lists behind them;
- `state_at(area, moment)`, `national_ranking_at(user, moment)`: the same as they stood at a moment (a
  publication's period end, a dashboard `?as_of=` a past month), and `filter_products_at` / `filter_units_at`.

The modules: `area` (the area counted, the drill-down filters, labels), `period` (the trend window, the
months a dashboard can be shown as of), `conditions` (what counts as filed, approved, certified, flagged,
now and at a moment), `rows` (the cards, breakdowns and rankings, shaped once for every source), `live`
(the live queries), `history` (the state at a moment), `cells` (building the summary cells), `freshness`
(marking regions dirty, draining them, rebuilding when stale) and `summary` (the figures read from the
cells). Each depends only on the ones listed before it.

Every figure takes an `Area` (the user, whose scope bounds everything, and optionally one port inside
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

from provincial.dashboards.area import (
    APPROVED,
    BLANK,
    CERTIFIED_NOTE,
    FILED,
    LEVELS,
    MUNICIPALITIES,
    STATUSES,
    Area,
    Filters,
    area_for,
    area_for_unit,
    area_regions,
    level_field,
    region_level_of,
    require_in_area,
    scale_label,
    section_codes,
    section_label,
    unit_scope,
)
from provincial.dashboards.conditions import (
    LEFT_APPROVED,
    approved_at_q,
    approved_before,
    approved_on,
    certified_at,
    certified_condition,
    certified_for_data_year_at,
    filed_at,
    filed_condition,
    first_approval,
    flagged_at,
    flagged_condition,
    invention_at,
    versions_approved_at,
)
from provincial.dashboards.history import (
    UNIT_HISTORY_FIELDS,
    AsOf,
    approvals_by_month_at,
    as_of,
    filter_products_at,
    filter_units_at,
    national_ranking_at,
    state_at,
    unit_values_at,
)
from provincial.dashboards.live import (
    by_class,
    by_scale,
    by_section,
    filter_products,
    filter_units,
    live_dashboard,
    live_national_ranking,
    ranking,
    totals,
    trend,
)
from provincial.dashboards.period import (
    AS_OF_FIRST_YEAR,
    TREND_MONTHS,
    as_of_month,
    month_end,
    parse_month,
    trend_months,
    trend_start,
)
from provincial.dashboards.rows import (
    RANK_CRITERIA,
    by_region,
    class_rows,
    ordered_counts,
    rank,
    rank_ports,
    rank_score,
    totals_of,
)
from provincial.dashboards.summary import dashboard, national_ranking

__all__ = [
    "APPROVED",
    "AS_OF_FIRST_YEAR",
    "BLANK",
    "CERTIFIED_NOTE",
    "FILED",
    "LEFT_APPROVED",
    "LEVELS",
    "MUNICIPALITIES",
    "RANK_CRITERIA",
    "STATUSES",
    "TREND_MONTHS",
    "UNIT_HISTORY_FIELDS",
    "Area",
    "AsOf",
    "Filters",
    "approvals_by_month_at",
    "approved_at_q",
    "approved_before",
    "approved_on",
    "area_for",
    "area_for_unit",
    "area_regions",
    "as_of",
    "as_of_month",
    "by_class",
    "by_region",
    "by_scale",
    "by_section",
    "certified_at",
    "certified_condition",
    "certified_for_data_year_at",
    "class_rows",
    "dashboard",
    "filed_at",
    "filed_condition",
    "filter_products",
    "filter_products_at",
    "filter_units",
    "filter_units_at",
    "first_approval",
    "flagged_at",
    "flagged_condition",
    "invention_at",
    "level_field",
    "live_dashboard",
    "live_national_ranking",
    "month_end",
    "national_ranking",
    "national_ranking_at",
    "ordered_counts",
    "parse_month",
    "rank",
    "rank_ports",
    "rank_score",
    "ranking",
    "region_level_of",
    "require_in_area",
    "scale_label",
    "section_codes",
    "section_label",
    "state_at",
    "totals",
    "totals_of",
    "trend",
    "trend_months",
    "trend_start",
    "unit_scope",
    "unit_values_at",
    "versions_approved_at",
]
