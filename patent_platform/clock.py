"""The platform's calendar: dates, months and years as they are read in China (Asia/Shanghai).

A filing's data year, a filing number's year, a publication's month, a dashboard's trend and a round's
deadline are all counted in China time, whatever the server's or the reader's time zone: one definition
of "today", of a month's first instant and of a year's end, here, for every app (the lowest layer).

"Now" is `django.utils.timezone.now()`, so a test that pins it pins every date below too. China has kept
one offset (UTC+8) since 1991, so month and year boundaries are the same in `ZoneInfo` and a fixed offset;
`ZoneInfo` gives PostgreSQL's `AT TIME ZONE 'Asia/Shanghai'` and Django's `TruncMonth` the zone's name.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

CHINA_TZ = ZoneInfo("Asia/Shanghai")


def china_now() -> dt.datetime:
    """This instant, on the clock in China."""
    return timezone.now().astimezone(CHINA_TZ)


def china_today() -> dt.date:
    """Today's date in China (after 16:00 UTC it is already tomorrow)."""
    return china_now().date()


def last_year() -> int:
    """The latest year that has ended in China: the default data year, the latest year-end evaluation."""
    return china_today().year - 1


# ---------------------------------------------------------------------------------------------
# Months as dates (publication periods, roster trends): the month's first day


def month_of(day: dt.date) -> dt.date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def previous_month(day: dt.date | None = None) -> dt.date:
    """The first day of the month before `day` (default: today in China): the latest complete month."""
    return (month_of(day or china_today()) - dt.timedelta(days=1)).replace(day=1)


def month_after(day: dt.date) -> dt.date:
    """The first day of the month after `day`'s month."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


# ---------------------------------------------------------------------------------------------
# Months and years as instants (database ranges: `start <= t < end`)


def month_start(year: int, month: int) -> dt.datetime:
    """The first instant of that month in China."""
    return dt.datetime(year, month, 1, tzinfo=CHINA_TZ)


def shift_month(moment: dt.datetime, months: int) -> dt.datetime:
    """The first instant of the month `months` after (negative: before) the month of `moment` in China."""
    local = moment.astimezone(CHINA_TZ)
    index = local.year * 12 + local.month - 1 + months
    return month_start(index // 12, index % 12 + 1)


def next_month(moment: dt.datetime) -> dt.datetime:
    """The first instant of the month after `moment`'s month in China: the end of that month."""
    return shift_month(moment, 1)


def current_month_start(now: dt.datetime | None = None) -> dt.datetime:
    """The first instant of this month (of `now`'s month) in China."""
    return shift_month(now or timezone.now(), 0)


def year_start(year: int) -> dt.datetime:
    """1 January of `year`, 00:00 in China; `year_start(year + 1)` is the end of `year` (31 December 24:00)."""
    return month_start(year, 1)


def month_key(moment: dt.datetime) -> str:
    """ "YYYY-MM" of the month `moment` falls in, in China."""
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m")


def parse_month(value: str) -> dt.date | None:
    """ "2025-03" → 2025-03-01; None if malformed."""
    try:
        year, month = (int(part) for part in value.strip().split("-"))
        return dt.date(year, month, 1)
    except ValueError:
        return None
