"""Working days of the certification calendar: Monday to Friday, less the holidays the national office
enters (`Holiday`), plus the weekend days it marks as worked in exchange (调休上班).

The platform holds no official holiday calendar of its own: the State Council publishes the year's
holidays each winter and the national office enters the days it needs on /certification/holidays/.
"""

from __future__ import annotations

import datetime as dt

from evaluation.models import Holiday

MAX_SPAN_DAYS = 400  # a period of at most 30 working days never spans more than this


def _marks(start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    return dict(Holiday.objects.filter(date__range=(start, end)).values_list("date", "is_workday"))


def is_working_day(day: dt.date, marks: dict[dt.date, bool] | None = None) -> bool:
    marks = _marks(day, day) if marks is None else marks
    if day in marks:
        return marks[day]
    return day.weekday() < 5


def period_end(start: dt.date, working_days: int) -> dt.date:
    """The last day of a period of `working_days` working days from `start` (counted if it is one)."""
    if working_days < 1:
        raise ValueError("a period has at least one working day")
    marks = _marks(start, start + dt.timedelta(days=MAX_SPAN_DAYS))
    day, counted = start, 0
    while True:
        if is_working_day(day, marks):
            counted += 1
            if counted == working_days:
                return day
        day += dt.timedelta(days=1)


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days from `start` to `end`, both included (0 when end < start)."""
    if end < start:
        return 0
    marks = _marks(start, end)
    return sum(1 for i in range((end - start).days + 1) if is_working_day(start + dt.timedelta(days=i), marks))
