"""Reporting periods (provincial/periods.py): every kind parses, names itself again, compares with the same
months a year before, and refuses what cannot be chosen with a message."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provincial import periods

NOW = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "kind", "first", "last"),
    [
        ("2025-11", "month", dt.date(2025, 11, 1), dt.date(2025, 11, 1)),
        ("2025Q4", "quarter", dt.date(2025, 10, 1), dt.date(2025, 12, 1)),
        ("2025-q1", "quarter", dt.date(2025, 1, 1), dt.date(2025, 3, 1)),
        ("2025", "year", dt.date(2025, 1, 1), dt.date(2025, 12, 1)),
        ("2025-01..2025-06", "range", dt.date(2025, 1, 1), dt.date(2025, 6, 1)),
        ("2025-03..2025-03", "month", dt.date(2025, 3, 1), dt.date(2025, 3, 1)),
        ("", "month", dt.date(2026, 11, 1), dt.date(2026, 11, 1)),
    ],
)
def test_each_kind_parses_and_names_itself_again(text: str, kind: str, first: dt.date, last: dt.date) -> None:
    period = periods.parse(text, now=NOW)
    assert (period.kind, period.first, period.last) == (kind, first, last)
    assert periods.parse(period.key, now=NOW) == period


@pytest.mark.parametrize(
    "text", ["2025-13", "abc", "2025Q5", "1999", "2026-12", "2026", "2025-06..2025-01", "2000-01..2025-01"]
)
def test_what_cannot_be_chosen_is_refused_with_a_message(text: str) -> None:
    with pytest.raises(periods.PeriodError) as error:
        periods.parse(text, now=NOW)
    assert str(error.value)


def test_the_default_after_midnight_in_china_is_the_month_that_just_ended() -> None:
    # 1 December 16:30 UTC is 2 December in China; 30 November 16:30 UTC is already 1 December there
    assert periods.parse("", now=dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC)).key == "2026-11"
    assert periods.parse("", now=dt.datetime(2026, 11, 30, 15, 30, tzinfo=dt.UTC)).key == "2026-10"


@given(st.integers(2001, 2030), st.integers(1, 12), st.integers(0, 40))
def test_a_period_and_its_year_before_have_the_same_months_one_year_apart(y: int, m: int, length: int) -> None:
    first = dt.date(y, m, 1)
    last = first
    for _ in range(length):
        last = (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    period = periods.months_range(first, last)
    before = period.year_before()
    assert [d.replace(year=d.year + 1) for d in before.months()] == period.months()
    assert before.end <= period.start or length >= 12
    assert period.start < period.end and len(period.months()) == length + 1


def test_the_change_is_a_difference_and_a_percentage() -> None:
    assert periods.change(12, 10) == {"difference": 2, "percent": 20.0}
    assert periods.change(5, 0) == {"difference": 5, "percent": None}
    assert periods.change(5, None) == {"difference": None, "percent": None}


def test_current_names_the_live_state_and_old_as_of_links_name_their_month() -> None:
    current = periods.parse("current", now=NOW)
    assert current.is_current and current.key == "current" and current.first == dt.date(2026, 12, 1)
    assert current.moment(NOW) == NOW and not current.has_ended(NOW)
    assert periods.parse("now", now=NOW) == current
    assert periods.from_query({"as_of": "2025-11"}, now=NOW) == periods.month(2025, 11)
    assert periods.from_query({"period": "2025Q4", "as_of": "2025-11"}, now=NOW) == periods.quarter(2025, 4)
    assert periods.from_query({}, now=NOW) == periods.month(2026, 11)
    for bad in ("2025", "2025-13", "x"):
        with pytest.raises(periods.PeriodError):
            periods.from_query({"as_of": bad}, now=NOW)


def test_the_quick_choices_are_the_latest_closed_quarter_and_year() -> None:
    assert periods.latest_complete_quarter(dt.date(2026, 12, 7)).key == "2026Q3"
    assert periods.latest_complete_quarter(dt.date(2026, 1, 5)).key == "2025Q4"
    assert periods.latest_complete_quarter(dt.date(2026, 4, 1)).key == "2026Q1"
    assert periods.latest_complete_year(dt.date(2026, 12, 7)).key == "2025"
    assert periods.year_earlier(dt.datetime(2024, 2, 29, 12, tzinfo=dt.UTC)).date() == dt.date(2023, 2, 28)
