"""Dates people read: the working day a date means and why (``rules.calendar.working_date``), exact examples and
properties over every nation and any closures."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.calendar import REGIONS, WorkingCalendar, WorkingDate, day_month, why_not_working, working_date

D = date
ENGLAND = WorkingCalendar("england")


@pytest.mark.parametrize(("given_day", "day", "reason"), [
    # Christmas 2026: Friday 25 (Christmas Day), Saturday 26, Sunday 27, Monday 28 (Boxing Day, substitute)
    (D(2026, 12, 25), D(2026, 12, 29), "the date given, 25 December, is a bank holiday"),
    (D(2026, 12, 26), D(2026, 12, 29), "the date given, 26 December, is a Saturday"),
    (D(2026, 12, 27), D(2026, 12, 29), "the date given, 27 December, is a Sunday"),
    (D(2026, 12, 28), D(2026, 12, 29), "the date given, 28 December, is a bank holiday"),
    (D(2026, 12, 29), D(2026, 12, 29), ""),
    # Good Friday and Easter Monday 2027
    (D(2027, 3, 26), D(2027, 3, 30), "the date given, 26 March, is a bank holiday"),
    # a date in one year that means a day of the next names its year
    (D(2028, 12, 31), D(2029, 1, 2), "the date given, 31 December 2028, is a Sunday"),
])
def test_examples_in_england(given_day: date, day: date, reason: str) -> None:
    meant = working_date(ENGLAND, given_day)
    assert meant == WorkingDate(given_day, day, reason)
    assert meant.moved is (day != given_day)


def test_a_council_closure_day_is_named_as_one() -> None:
    closed = WorkingCalendar("england", [D(2026, 12, 30), D(2026, 12, 31)])
    assert working_date(closed, D(2026, 12, 30)) == WorkingDate(
        D(2026, 12, 30), D(2027, 1, 4), "the date given, 30 December 2026, is a council closure day")
    assert working_date(WorkingCalendar("england", [D(2027, 1, 5)]), D(2027, 1, 5)).reason == (
        "the date given, 5 January, is a council closure day")
    # a closure on a bank holiday or a weekend is named by the plainer reason
    assert why_not_working(WorkingCalendar("england", [D(2026, 12, 25)]), D(2026, 12, 25)) == "a bank holiday"
    assert why_not_working(WorkingCalendar("england", [D(2026, 12, 26)]), D(2026, 12, 26)) == "a Saturday"


def test_st_andrews_day_is_a_bank_holiday_only_in_scotland() -> None:
    assert working_date(WorkingCalendar("scotland"), D(2026, 11, 30)).reason == (
        "the date given, 30 November, is a bank holiday")
    assert not working_date(ENGLAND, D(2026, 11, 30)).moved


def test_past_is_about_the_day_meant() -> None:
    christmas = working_date(ENGLAND, D(2026, 12, 25))
    assert not christmas.past(D(2026, 12, 29))  # due that day: not yet past
    assert christmas.past(D(2026, 12, 30))
    assert not christmas.past(D(2026, 12, 28))


def test_bad_input() -> None:
    with pytest.raises(TypeError):
        working_date(ENGLAND, "2026-12-25")  # type: ignore[arg-type]
    assert day_month(D(2027, 1, 4)) == "4 January" and day_month(D(2027, 1, 4), year=True) == "4 January 2027"


# ---------------------------------------------------------------------------------------------- properties

regions = st.sampled_from(sorted(REGIONS))
days = st.dates(min_value=D(2024, 1, 1), max_value=D(2030, 12, 31))
closure_sets = st.frozensets(st.dates(min_value=D(2023, 12, 1), max_value=D(2031, 3, 31)), max_size=12)
PROPS = settings(max_examples=80, deadline=None)


@PROPS
@given(regions, closure_sets, days)
def test_the_day_meant_is_the_first_working_day_on_or_after_the_date(region: str, closures: frozenset[date],
                                                                     given_day: date) -> None:
    cal = WorkingCalendar(region, closures)
    meant = working_date(cal, given_day)
    assert meant.given == given_day and meant.day >= given_day
    assert cal.is_working_day(meant.day)
    assert meant.day == cal.next_working_day(given_day)
    d = given_day
    while d < meant.day:
        assert not cal.is_working_day(d)
        d += timedelta(days=1)


@PROPS
@given(regions, closure_sets, days)
def test_a_reason_exactly_when_the_day_moved(region: str, closures: frozenset[date], given_day: date) -> None:
    cal = WorkingCalendar(region, closures)
    meant = working_date(cal, given_day)
    assert bool(meant.reason) is meant.moved is (not cal.is_working_day(given_day))
    if meant.moved:
        why = why_not_working(cal, given_day)
        assert why in ("a Saturday", "a Sunday", "a bank holiday", "a council closure day")
        named = day_month(given_day, year=given_day.year != meant.day.year)
        assert meant.reason == f"the date given, {named}, is {why}"
        assert (why == "a council closure day") is (given_day.weekday() < 5 and cal.holiday_name(given_day)
                                                     == "Council closure")
    else:
        assert why_not_working(cal, given_day) is None


@PROPS
@given(regions, closure_sets, days)
def test_the_day_meant_is_already_a_fixed_point(region: str, closures: frozenset[date], given_day: date) -> None:
    cal = WorkingCalendar(region, closures)
    meant = working_date(cal, given_day)
    again = working_date(cal, meant.day)
    assert again == WorkingDate(meant.day, meant.day, "")
    assert not meant.past(meant.day) and meant.past(meant.day + timedelta(days=1))
