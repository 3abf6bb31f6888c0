"""patent_platform/clock.py: the platform's dates are China's (Asia/Shanghai, UTC+8), whatever the server's zone."""

import datetime as dt
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from patent_platform import clock

UTC = dt.UTC


def at(moment: dt.datetime) -> mock._patch:  # type: ignore[type-arg]
    return mock.patch("django.utils.timezone.now", return_value=moment)


def test_today_turns_at_china_midnight_not_utc_midnight() -> None:
    with at(dt.datetime(2026, 3, 31, 15, 59, 59, tzinfo=UTC)):
        assert clock.china_today() == dt.date(2026, 3, 31)
        assert clock.previous_month() == dt.date(2026, 2, 1)
    with at(dt.datetime(2026, 3, 31, 16, 0, tzinfo=UTC)):  # 00:00 on 1 April in China
        assert clock.china_today() == dt.date(2026, 4, 1)
        assert clock.previous_month() == dt.date(2026, 3, 1)
        assert clock.current_month_start() == dt.datetime(2026, 4, 1, tzinfo=clock.CHINA_TZ)
        assert clock.month_key(dt.datetime(2026, 3, 31, 16, 0, tzinfo=UTC)) == "2026-04"


def test_the_year_ends_at_china_midnight() -> None:
    with at(dt.datetime(2026, 12, 31, 15, 59, tzinfo=UTC)):
        assert clock.last_year() == 2025
    with at(dt.datetime(2026, 12, 31, 16, 0, tzinfo=UTC)):  # 1 January 2027 in China
        assert clock.last_year() == 2026
        assert clock.previous_month() == dt.date(2026, 12, 1)
    end = clock.year_start(2027)
    assert end == dt.datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert clock.next_month(clock.month_start(2026, 12)) == end


def test_january_and_december() -> None:
    assert clock.previous_month(dt.date(2026, 1, 15)) == dt.date(2025, 12, 1)
    assert clock.month_after(dt.date(2025, 12, 31)) == dt.date(2026, 1, 1)
    assert clock.shift_month(clock.month_start(2026, 1), -1) == clock.month_start(2025, 12)
    assert clock.shift_month(clock.month_start(2026, 3), -12) == clock.month_start(2025, 3)


def test_parse_month() -> None:
    assert clock.parse_month(" 2025-03 ") == dt.date(2025, 3, 1)
    for bad in ("2025-13", "2025", "2025-03-01", "x-y", ""):
        assert clock.parse_month(bad) is None


# hypothesis takes naive bounds and zones the values itself (timezones=)
FIRST, LAST = dt.datetime(2000, 1, 1), dt.datetime(2099, 12, 1)  # noqa: DTZ001


@given(st.datetimes(min_value=FIRST, max_value=LAST, timezones=st.just(UTC)))
def test_a_moment_lies_in_its_china_month(moment: dt.datetime) -> None:
    start = clock.current_month_start(moment)
    end = clock.next_month(start)
    local = moment.astimezone(clock.CHINA_TZ)
    assert start <= moment < end
    assert clock.month_key(moment) == f"{local:%Y-%m}" == clock.month_key(start)
    assert start.date() == clock.month_of(local.date())
    assert end.date() == clock.month_after(local.date())
    assert clock.previous_month(local.date()) == clock.shift_month(start, -1).date()
    assert end - start in {dt.timedelta(days=n) for n in (28, 29, 30, 31)}


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_previous_month_is_the_month_before(day: dt.date) -> None:
    first = clock.previous_month(day)
    assert first.day == 1
    assert clock.month_after(first) == clock.month_of(day)
