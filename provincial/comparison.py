"""The figures of a reporting period beside the same period a year before (issue 20; docs/PORTS.md
"Periods and comparison").

For a period P (provincial/periods.py):
- stock figures (filing units, filed / approved / certified / flagged products, sales, exports, the
  breakdowns and the ranking) are the as-of figures at P's end: `dashboards.state_at(area, P.end)`, the
  function the monthly publication reads, so the dashboard of a month and that month's publication agree;
- the flow figure (new approvals in P) counts the products approved at P's end whose first approval lies
  in [P.start, P.end) (the publication's "本月新增" for a month; the sum of the trend's bars of P's months);
- the trend is the 12 months ending with P's last month; growth the first approvals in those months;
- the year before is the same months one year earlier, read the same way.

The current state (`period=current`) is the summary cells (provincial/dashboards/, the fast path, fresh
after every write of the platform); its flow runs from the start of this month to now (the trend's last
bar) and its year before is the as-of state at the same instant a year earlier (to the hour).

The as-of figures of a closed period depend only on the history the platform keeps (approval, revocation
and withdrawal times, submission times, certificate times, the audit trail of unit moves), so no write of
the platform changes them: they are kept in the cache for `PERIOD_FIGURES_MAX_AGE` seconds (default: the
summary's `SUMMARY_MAX_AGE`, one hour), which bounds how late a correction made outside the platform (SQL,
bulk updates) shows, as for the summary cells. The key is the area's scope (the regions it covers, the
port, the breakdown level), the instant and the language, never the user: two viewers with the same scope
read the same figures, and no viewer reads another scope's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from patent_platform import clock
from patent_platform.scoping import scope_of
from provincial import dashboards, periods
from provincial.periods import Period

if TYPE_CHECKING:
    from patent_platform.scoping import Reader

CACHE_VERSION = "1"
TOTAL_KEYS = ("units", "filed", "approved", "new", "growth", "sales", "exports", "certified", "flagged")


def max_age() -> int:
    return int(getattr(settings, "PERIOD_FIGURES_MAX_AGE", getattr(settings, "SUMMARY_MAX_AGE", 3600)))


def _scope_key(area: dashboards.Area) -> str:
    scope = area.narrowed if area.narrowed is not None else scope_of(area.user)
    parts = [
        "all" if scope.everything else "",
        ",".join(sorted(scope.province_codes)),
        ",".join(sorted(scope.city_codes)),
        ",".join(sorted(scope.county_codes)),
        ",".join(str(pk) for pk in sorted(scope.unit_ids)),
        area.port.code if area.port is not None else "",
        area.level,
    ]
    return "|".join(parts)


def cache_key(area: dashboards.Area, what: str, moment: dt.datetime, *extra: Any) -> str:
    """The cache key of `what` for the area's scope at `moment`, in the current language (and `extra`)."""
    raw = "#".join([_scope_key(area), what, moment.isoformat(), get_language() or "", *(str(e) for e in extra)])
    return f"period-figures:{CACHE_VERSION}:{hashlib.sha256(raw.encode()).hexdigest()}"


def cached(area: dashboards.Area, what: str, moment: dt.datetime, compute: Callable[[], Any], *extra: Any) -> Any:
    """`compute()`, kept in the cache under the area's scope, `what`, the instant and the language."""
    key = cache_key(area, what, moment, *extra)
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, max_age())
    return value


def state_at_end(area: dashboards.Area, moment: dt.datetime, start: dt.datetime) -> dict[str, Any]:
    """`dashboards.state_at(area, moment)` with `new`: the products approved at `moment` first approved in
    [start, moment) (cached, see the module's notes)."""

    def compute() -> dict[str, Any]:
        at = dashboards.as_of(area, moment)
        state = dashboards.state_at(area, moment, at=at)
        state["new"] = sum(dashboards.approvals_by_month_at(at, start, moment).values())
        return state

    return cached(area, "state", moment, compute, start.isoformat())


def national_ranking_at(user: Reader, area: dashboards.Area, moment: dt.datetime) -> list[dict[str, Any]]:
    """`dashboards.national_ranking_at`, cached like the state (national administrators only read it)."""
    return cached(area, "ports", moment, lambda: dashboards.national_ranking_at(user, moment))


@dataclass
class PeriodFigures:
    """A period's figures and the year before's, with the change of every figure and row."""

    period: Period
    before_period: Period
    moment: dt.datetime
    before_moment: dt.datetime
    state: dict[str, Any]
    before: dict[str, Any]

    @property
    def totals(self) -> dict[str, Any]:
        return {**self.state["totals"], "new": self.state["new"]}

    @property
    def before_totals(self) -> dict[str, Any]:
        return {**self.before["totals"], "new": self.before["new"]}

    @property
    def before_label(self) -> str:
        """How the page names what it compares with."""
        if self.period.is_current:
            moment = self.before_moment.astimezone(clock.CHINA_TZ)
            return _("上年同一时刻（%(time)s）") % {"time": f"{moment:%Y-%m-%d %H:%M}"}
        return self.before_period.label

    def changes(self) -> dict[str, dict[str, Any]]:
        now, then = self.totals, self.before_totals
        return {key: periods.change(now[key], then[key]) for key in TOTAL_KEYS}


def before_moment(period: Period, moment: dt.datetime) -> dt.datetime:
    if period.is_current:
        hour = moment.astimezone(clock.CHINA_TZ).replace(minute=0, second=0, microsecond=0)
        return periods.year_earlier(hour)
    return period.year_before().end


def figures(area: dashboards.Area, period: Period, *, now: dt.datetime | None = None) -> PeriodFigures:
    """The figures of `period` for `area` and of the same period a year before."""
    now = now or timezone.now()
    before_period = period.year_before()
    if period.is_current:
        state = dashboards.dashboard(area)
        state["new"] = state["trend"][-1]["count"] if state["trend"] else 0
        moment = state["as_of"]
    else:
        moment = period.end
        state = state_at_end(area, moment, period.start)
    then = before_moment(period, now if period.is_current else moment)
    before = state_at_end(area, then, before_period.start)
    return PeriodFigures(period, before_period, moment, then, state, before)


# ---------------------------------------------------------------------------------------------
# Rows beside the year before's


def compare_rows(
    rows: list[dict[str, Any]], before_rows: list[dict[str, Any]], *, key: str, value: str, add_missing: bool = False
) -> list[dict[str, Any]]:
    """Each row gets `before` (the same key's value a year before, 0 when it had none) and `change`. With
    `add_missing`, the rows only the year before has are added with the value 0 (a breakdown lists its
    non-zero rows only; a breakdown row is key, label, count and filters)."""
    earlier = {r[key]: r for r in before_rows}
    out = [
        {
            **row,
            "before": (then := earlier.get(row[key], {}).get(value) or 0),
            "change": periods.change(row[value], then),
        }
        for row in rows
    ]
    if add_missing:
        seen = {row[key] for row in rows}
        out += [
            {**row, value: 0, "before": row[value], "change": periods.change(0, row[value])}
            for row in before_rows
            if row[key] not in seen and row.get(value)
        ]
    return out


def compare_trend(trend: list[dict[str, Any]], before_trend: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trend's months beside the same months a year before (both lists are the 12 months in order)."""
    return [
        {
            **row,
            "before": then["count"],
            "before_month": then["month"],
            "change": periods.change(row["count"], then["count"]),
        }
        for row, then in zip(trend, before_trend, strict=False)
    ]
