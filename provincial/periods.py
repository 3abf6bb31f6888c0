"""Reporting periods of the ports (issue 20): a month, a quarter, a year or a range of whole months, read
from one query parameter, counted in China time (patent_platform/clock.py), and the same period a year
before for the comparison.

The parameter `period` takes:
- `2025-11` a month; `2025Q4` (or `2025-Q4`) a quarter; `2025` a year;
- `2025-01..2025-06` a range of whole months (first and last month included, at most 10 years);
- `current` the current state (the dashboards' live figures, "数据截至" now), not a closed period: its
  flows run from the start of this month to now, and its year before is the same instant a year earlier.

Old links with `as_of=YYYY-MM` (the dashboards' month-end parameter before issue 20) name that month
(`from_query`).

Only periods that have ended can be chosen (the figures of a period are its as-of figures at its end,
the same as its publication's); the default is the latest complete month. A period is half-open on the
database: `start <= t < end`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from patent_platform import clock

FIRST_YEAR = 2000
MAX_MONTHS = 120

MONTH, QUARTER, YEAR, RANGE, CURRENT = "month", "quarter", "year", "range", "current"
CURRENT_KEYS = frozenset({"current", "now"})
EXAMPLES = "2025-11、2025Q4、2025、2025-01..2025-06、current"

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4})-(\d{1,2})\.\.(\d{4})-(\d{1,2})$")


class PeriodError(ValueError):
    """A `period` parameter that names no period that can be chosen; the message is for the user."""


@dataclass(frozen=True)
class Period:
    kind: str
    first: dt.date  # the first day of the first month
    last: dt.date  # the first day of the last month (included)

    # -----------------------------------------------------------------------------------------
    # Instants (database ranges)

    @property
    def start(self) -> dt.datetime:
        """The first instant of the period in China."""
        return clock.month_start(self.first.year, self.first.month)

    @property
    def end(self) -> dt.datetime:
        """The first instant after the period in China (exclusive end; the moment of its as-of figures)."""
        return clock.next_month(clock.month_start(self.last.year, self.last.month))

    def months(self) -> list[dt.date]:
        """The first day of every month of the period, in order."""
        out, day = [], self.first
        while day <= self.last:
            out.append(day)
            day = clock.month_after(day)
        return out

    # -----------------------------------------------------------------------------------------
    # Names

    @property
    def is_current(self) -> bool:
        return self.kind == CURRENT

    def moment(self, now: dt.datetime | None = None) -> dt.datetime:
        """The instant its stock figures describe: its end, or now for the current state."""
        return (now or timezone.now()) if self.is_current else self.end

    @property
    def key(self) -> str:
        """The `period` parameter that names it again."""
        if self.kind == CURRENT:
            return "current"
        if self.kind == MONTH:
            return f"{self.first:%Y-%m}"
        if self.kind == QUARTER:
            return f"{self.first.year}Q{(self.first.month - 1) // 3 + 1}"
        if self.kind == YEAR:
            return str(self.first.year)
        return f"{self.first:%Y-%m}..{self.last:%Y-%m}"

    @property
    def label(self) -> str:
        """How a page names it: 2025年11月, 2025年第4季度, 2025年, 2025年1月—2025年6月, 当前."""
        if self.kind == CURRENT:
            return _("当前（实时）")
        if self.kind == MONTH:
            return _("%(year)s年%(month)s月") % {"year": self.first.year, "month": self.first.month}
        if self.kind == QUARTER:
            return _("%(year)s年第%(quarter)s季度") % {
                "year": self.first.year,
                "quarter": (self.first.month - 1) // 3 + 1,
            }
        if self.kind == YEAR:
            return _("%(year)s年") % {"year": self.first.year}
        return _("%(first)s—%(last)s") % {
            "first": _("%(year)s年%(month)s月") % {"year": self.first.year, "month": self.first.month},
            "last": _("%(year)s年%(month)s月") % {"year": self.last.year, "month": self.last.month},
        }

    def __str__(self) -> str:
        return self.key

    # -----------------------------------------------------------------------------------------
    # Comparison

    def year_before(self) -> Period:
        """The same months one year earlier (29 February is never a question: periods are whole months)."""
        return Period(
            self.kind, self.first.replace(year=self.first.year - 1), self.last.replace(year=self.last.year - 1)
        )

    def has_ended(self, now: dt.datetime | None = None) -> bool:
        return not self.is_current and self.end <= (now or timezone.now())


def current(now: dt.datetime | None = None) -> Period:
    """The current state; its months: this month (China time)."""
    day = clock.month_of((now or timezone.now()).astimezone(clock.CHINA_TZ).date())
    return Period(CURRENT, day, day)


def year_earlier(moment: dt.datetime) -> dt.datetime:
    """The same instant one year earlier in China time (29 February → 28 February)."""
    local = moment.astimezone(clock.CHINA_TZ)
    try:
        return local.replace(year=local.year - 1)
    except ValueError:
        return local.replace(year=local.year - 1, day=28)


def month(year: int, number: int) -> Period:
    day = dt.date(year, number, 1)
    return Period(MONTH, day, day)


def quarter(year: int, number: int) -> Period:
    first = dt.date(year, 3 * number - 2, 1)
    return Period(QUARTER, first, dt.date(year, 3 * number, 1))


def year(number: int) -> Period:
    return Period(YEAR, dt.date(number, 1, 1), dt.date(number, 12, 1))


def months_range(first: dt.date, last: dt.date) -> Period:
    first, last = clock.month_of(first), clock.month_of(last)
    if first == last:
        return Period(MONTH, first, first)
    return Period(RANGE, first, last)


def latest_complete_month(today: dt.date | None = None) -> Period:
    """The default period: the month before this one in China."""
    day = clock.previous_month(today)
    return Period(MONTH, day, day)


def latest_complete_quarter(today: dt.date | None = None) -> Period:
    """The newest quarter that has ended in China."""
    last = clock.previous_month(today)
    number = (last.month - 1) // 3 + 1
    if last.month % 3:
        number -= 1
    return quarter(last.year, number) if number else quarter(last.year - 1, 4)


def latest_complete_year(today: dt.date | None = None) -> Period:
    """The newest calendar year that has ended in China."""
    return year((today or clock.china_today()).year - 1)


def _date(y: str, m: str) -> dt.date:
    number = int(m)
    if not 1 <= number <= 12:
        raise PeriodError(_("月份应在 1 到 12 之间：%(value)s") % {"value": m})
    return dt.date(int(y), number, 1)


def parse(value: str | None, *, now: dt.datetime | None = None) -> Period:
    """The period a `period` parameter names; empty → the latest complete month. PeriodError (with a
    message for the user) for a malformed value, a period before 2000, one that has not ended yet, or a
    range that runs backwards or spans more than ten years."""
    text = (value or "").strip()
    if not text:
        return latest_complete_month(clock.china_today() if now is None else now.astimezone(clock.CHINA_TZ).date())
    if text.lower() in CURRENT_KEYS:
        return current(now)
    if m := _MONTH.match(text):
        period = Period(MONTH, first := _date(m[1], m[2]), first)
    elif m := _QUARTER.match(text):
        period = quarter(int(m[1]), int(m[2]))
    elif m := _YEAR.match(text):
        period = year(int(m[1]))
    elif m := _RANGE.match(text):
        first, last = _date(m[1], m[2]), _date(m[3], m[4])
        if last < first:
            raise PeriodError(_("期间的结束月份早于开始月份：%(value)s") % {"value": text})
        period = months_range(first, last)
        if len(period.months()) > MAX_MONTHS:
            raise PeriodError(_("期间最长为十年：%(value)s") % {"value": text})
    else:
        raise PeriodError(
            _("无法识别的期间：%(value)s（例如 2025-11、2025Q4、2025、2025-01..2025-06 或 current）") % {"value": text}
        )
    if period.first.year < FIRST_YEAR:
        raise PeriodError(_("期间不能早于 %(year)s 年：%(value)s") % {"year": FIRST_YEAR, "value": text})
    if not period.has_ended(now):
        raise PeriodError(_("期间尚未结束，只能选择已结束的月份、季度或年度：%(value)s") % {"value": text})
    return period


def from_query(query: Any, *, now: dt.datetime | None = None) -> Period:
    """The period a request names: `period`, else an old link's `as_of=YYYY-MM` (that month), else the
    default. PeriodError as `parse`."""
    text = (query.get("period") or "").strip()
    if not text and (old := (query.get("as_of") or "").strip()):
        if not _MONTH.match(old):
            raise PeriodError(_("月份格式应为 YYYY-MM：%(value)s") % {"value": old})
        text = old
    return parse(text, now=now)


def change(current: int | float | None, before: int | float | None) -> dict[str, object]:
    """The change from the year before: the difference and the ratio in percent (None when there was
    nothing to compare with)."""
    if current is None or before is None:
        return {"difference": None, "percent": None}
    difference = current - before
    percent = round(100 * difference / before, 1) if before else None
    return {"difference": difference, "percent": percent}
