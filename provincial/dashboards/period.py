"""The periods of the dashboards: the trend window (the last 12 months, Asia/Shanghai) and the months a
dashboard can be shown as of (`?as_of=YYYY-MM`, a month that has ended)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from patent_platform import clock

TREND_MONTHS = 12


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
