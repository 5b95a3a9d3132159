"""The working-day calendar: exact bank-holiday examples in each nation, closures, and counting properties."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.calendar import CLOSURE_NAME, REGIONS, WorkingCalendar

D = date
ENG, WLS, SCT, NIR = (WorkingCalendar(r) for r in ("england", "wales", "scotland", "northern-ireland"))
ALL = {"england": ENG, "wales": WLS, "scotland": SCT, "northern-ireland": NIR}


def _weekday_holidays(cal: WorkingCalendar, year: int) -> set[date]:
    """Weekdays of ``year`` that are not working days (bank holidays, substitute days, closures)."""
    d, out = date(year, 1, 1), set()
    while d.year == year:
        if d.weekday() < 5 and not cal.is_working_day(d):
            out.add(d)
        d += timedelta(days=1)
    return out


# ----------------------------------------------------------------------------------------- the spec examples


def test_spec_examples_england() -> None:
    # Mon 23 Nov: Tue 24 (1), Wed 25 (2), Thu 26 (3), Fri 27 (4), Mon 30 (5).
    assert ENG.add_working_days(D(2026, 11, 23), 5) == D(2026, 11, 30)
    # Sat 28 Nov counts from Mon 30 Nov: Tue 1 (1), Wed 2, Thu 3, Fri 4, Mon 7 Dec (5).
    assert ENG.add_working_days(D(2026, 11, 28), 5) == D(2026, 12, 7)
    assert ENG.add_working_days(D(2026, 11, 28), 0) == D(2026, 11, 30)
    assert ENG.working_days_between(D(2026, 11, 23), D(2026, 11, 30)) == 5
    assert ENG.working_days_between(D(2026, 11, 28), D(2026, 12, 7)) == 5
    # Two working days before Mon 7 Dec: Fri 4 (1), Thu 3 (2).
    assert ENG.add_working_days(D(2026, 12, 7), -2) == D(2026, 12, 3)
    # A Sunday counts from Monday 30 Nov: two before that is Thu 26 Nov.
    assert ENG.add_working_days(D(2026, 11, 29), -2) == D(2026, 11, 26)


def test_st_andrews_day_only_in_scotland() -> None:
    # 30 Nov 2026 is a Monday, St Andrew's Day in Scotland only: Mon 23 + 5 lands on Tue 1 Dec there.
    assert SCT.add_working_days(D(2026, 11, 23), 5) == D(2026, 12, 1)
    for cal in (ENG, WLS, NIR):
        assert cal.add_working_days(D(2026, 11, 23), 5) == D(2026, 11, 30)
    assert SCT.holiday_name(D(2026, 11, 30)) == "Saint Andrew's Day"
    assert ENG.holiday_name(D(2026, 11, 30)) is None
    # 30 Nov 2025 is a Sunday: the substitute day is Monday 1 Dec 2025 (Scotland only).
    assert not SCT.is_working_day(D(2025, 12, 1))
    assert ENG.is_working_day(D(2025, 12, 1))


# ------------------------------------------------------------------------------------- Christmas and New Year


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_christmas_2026_boxing_day_substitute(region: str) -> None:
    cal = ALL[region]
    # 2026: Fri 25 Dec Christmas Day; Sat 26 Boxing Day -> substitute Mon 28 Dec. Thu 24 + 1 = Tue 29.
    assert cal.holiday_name(D(2026, 12, 25)) == "Christmas Day"
    assert cal.holiday_name(D(2026, 12, 26)) == "Boxing Day"  # named even on a Saturday
    assert "Boxing Day" in (cal.holiday_name(D(2026, 12, 28)) or "")
    assert not cal.is_working_day(D(2026, 12, 28))
    assert cal.add_working_days(D(2026, 12, 24), 1) == D(2026, 12, 29)
    # Wed 23 Dec + 2: Thu 24 (1), [Fri 25, Sat, Sun, Mon 28 skipped], Tue 29 (2).
    assert cal.add_working_days(D(2026, 12, 23), 2) == D(2026, 12, 29)
    assert cal.working_days_between(D(2026, 12, 23), D(2026, 12, 29)) == 2


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_christmas_2027_two_substitute_days(region: str) -> None:
    cal = ALL[region]
    # 2027: Sat 25 and Sun 26 Dec -> substitutes Mon 27 and Tue 28. Fri 24 + 1 = Wed 29.
    assert not cal.is_working_day(D(2027, 12, 27))
    assert not cal.is_working_day(D(2027, 12, 28))
    assert cal.add_working_days(D(2027, 12, 24), 1) == D(2027, 12, 29)
    # Counting back from Wed 29 Dec by one lands on Fri 24 Dec.
    assert cal.add_working_days(D(2027, 12, 29), -1) == D(2027, 12, 24)


def test_new_year_scotland_has_2_january() -> None:
    # 1 Jan 2026 is a Thursday, 2 Jan a Friday (a bank holiday in Scotland only).
    # Wed 31 Dec 2025 + 1: England Fri 2 Jan; Scotland skips Thu 1, Fri 2, weekend -> Mon 5 Jan.
    for cal in (ENG, WLS, NIR):
        assert cal.add_working_days(D(2025, 12, 31), 1) == D(2026, 1, 2)
    assert SCT.add_working_days(D(2025, 12, 31), 1) == D(2026, 1, 5)
    assert SCT.holiday_name(D(2026, 1, 2)) is not None
    # 2027: Fri 1 Jan; Sat 2 Jan -> Scottish substitute Mon 4 Jan.
    assert ENG.add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 4)
    assert SCT.add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 5)


def test_council_christmas_closure_shifts_dates() -> None:
    closure = [D(2026, 12, 29), D(2026, 12, 30), D(2026, 12, 31)]
    eng = WorkingCalendar("england", closure)
    # Thu 24 Dec + 1: Fri 25 and Mon 28 are bank holidays, Tue 29 - Thu 31 closed, Fri 1 Jan New Year's Day
    # -> Mon 4 Jan 2027 (instead of Tue 29 Dec without the closure).
    assert eng.add_working_days(D(2026, 12, 24), 1) == D(2027, 1, 4)
    assert eng.holiday_name(D(2026, 12, 30)) == CLOSURE_NAME
    assert eng.holiday_name(D(2026, 12, 25)) == "Christmas Day"
    # Mon 21 Dec + 5 working days: Tue 22, Wed 23, Thu 24, Mon 4 Jan, Tue 5 Jan.
    assert eng.add_working_days(D(2026, 12, 21), 5) == D(2027, 1, 5)
    # Without the closure: Tue 22, Wed 23, Thu 24, Tue 29, Wed 30.
    assert ENG.add_working_days(D(2026, 12, 21), 5) == D(2026, 12, 30)
    # Scotland also has Mon 4 Jan 2027 (substitute for Sat 2 Jan): one more day.
    sct = WorkingCalendar("scotland", closure)
    assert sct.add_working_days(D(2026, 12, 21), 5) == D(2027, 1, 6)
    assert eng.closures == frozenset(closure)


# -------------------------------------------------------------------------------------- spring and summer


def test_easter_2026_good_friday_everywhere_easter_monday_not_in_scotland() -> None:
    # Easter Sunday 2026 is 5 April: Good Friday 3 April, Easter Monday 6 April.
    # Thu 2 Apr + 1: skips Fri 3 everywhere; Mon 6 too except in Scotland.
    for cal in (ENG, WLS, NIR):
        assert cal.add_working_days(D(2026, 4, 2), 1) == D(2026, 4, 7)
        assert cal.holiday_name(D(2026, 4, 6)) == "Easter Monday"
    assert SCT.add_working_days(D(2026, 4, 2), 1) == D(2026, 4, 6)
    assert SCT.holiday_name(D(2026, 4, 3)) == "Good Friday"
    assert SCT.is_working_day(D(2026, 4, 6))


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_may_bank_holidays_everywhere(region: str) -> None:
    cal = ALL[region]
    # Early May: first Monday of May 2026 is 4 May (1 May is a Friday). Fri 1 + 1 = Tue 5.
    assert cal.add_working_days(D(2026, 5, 1), 1) == D(2026, 5, 5)
    # Spring: last Monday of May 2026 is 25 May (31 May is a Sunday). Fri 22 + 1 = Tue 26.
    assert cal.add_working_days(D(2026, 5, 22), 1) == D(2026, 5, 26)


def test_august_bank_holiday_first_monday_in_scotland_last_elsewhere() -> None:
    # 1 Aug 2026 is a Saturday: Scotland's holiday is Mon 3 Aug; elsewhere the last Monday, 31 Aug.
    assert SCT.add_working_days(D(2026, 7, 31), 1) == D(2026, 8, 4)
    assert SCT.add_working_days(D(2026, 8, 28), 1) == D(2026, 8, 31)
    for cal in (ENG, WLS, NIR):
        assert cal.add_working_days(D(2026, 7, 31), 1) == D(2026, 8, 3)
        assert cal.add_working_days(D(2026, 8, 28), 1) == D(2026, 9, 1)


def test_northern_ireland_st_patrick_and_twelfth() -> None:
    # St Patrick's Day 2026 is Tuesday 17 March: Mon 16 + 1 is Wed 18 in NI, Tue 17 elsewhere.
    assert NIR.add_working_days(D(2026, 3, 16), 1) == D(2026, 3, 18)
    assert ENG.add_working_days(D(2026, 3, 16), 1) == D(2026, 3, 17)
    # 12 July 2026 is a Sunday -> substitute Mon 13 July in NI: Fri 10 + 1 = Tue 14 (Mon 13 elsewhere).
    assert NIR.add_working_days(D(2026, 7, 10), 1) == D(2026, 7, 14)
    assert SCT.add_working_days(D(2026, 7, 10), 1) == D(2026, 7, 13)
    # 12 July 2027 is a Monday.
    assert not NIR.is_working_day(D(2027, 7, 12))
    assert WLS.is_working_day(D(2027, 7, 12))


def test_whole_year_2026_matches_published_bank_holidays() -> None:
    # Weekday bank holidays 2026 as published on gov.uk / nidirect / mygov.scot, substitute days included.
    eng_wls = {D(2026, 1, 1), D(2026, 4, 3), D(2026, 4, 6), D(2026, 5, 4), D(2026, 5, 25), D(2026, 8, 31),
               D(2026, 12, 25), D(2026, 12, 28)}
    assert _weekday_holidays(ENG, 2026) == eng_wls
    assert _weekday_holidays(WLS, 2026) == eng_wls
    assert _weekday_holidays(NIR, 2026) == eng_wls | {D(2026, 3, 17), D(2026, 7, 13)}
    scotland = {D(2026, 1, 1), D(2026, 1, 2), D(2026, 4, 3), D(2026, 5, 4), D(2026, 5, 25), D(2026, 8, 3),
                D(2026, 11, 30), D(2026, 12, 25), D(2026, 12, 28)}
    # Scotland 2026 also has a one-off holiday (Mon 15 June, the World Cup) that the holidays package carries.
    assert _weekday_holidays(SCT, 2026) - {D(2026, 6, 15)} == scotland


# ------------------------------------------------------------------------------------------- single days


def test_weekends_and_ordinary_days() -> None:
    assert not ENG.is_working_day(D(2026, 11, 28))  # Saturday
    assert not ENG.is_working_day(D(2026, 11, 29))  # Sunday
    assert ENG.is_working_day(D(2026, 11, 27))
    assert ENG.holiday_name(D(2026, 11, 28)) is None
    assert ENG.holiday_name(D(2026, 11, 27)) is None
    assert ENG.next_working_day(D(2026, 11, 27)) == D(2026, 11, 27)
    assert ENG.next_working_day(D(2026, 11, 28)) == D(2026, 11, 30)
    assert list(ENG.working_days(D(2026, 11, 27), D(2026, 12, 2))) == [D(2026, 11, 30), D(2026, 12, 1),
                                                                       D(2026, 12, 2)]
    assert ENG.working_days_between(D(2026, 12, 2), D(2026, 11, 27)) == 0
    assert ENG.working_days_between(D(2026, 11, 28), D(2026, 11, 30)) == 0  # start' is Mon 30 itself


def test_regions_and_bad_input() -> None:
    assert WorkingCalendar("Northern Ireland").region == "northern-ireland"
    assert WorkingCalendar(" SCOTLAND ").region == "scotland"
    with pytest.raises(ValueError, match="england, wales, scotland, northern-ireland"):
        WorkingCalendar("ulster")
    with pytest.raises(TypeError, match="datetime"):
        ENG.is_working_day(datetime(2026, 12, 25, 9, 0))
    with pytest.raises(TypeError, match="whole number"):
        ENG.add_working_days(D(2026, 1, 5), 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        WorkingCalendar("england", ["2026-12-29"])  # type: ignore[list-item]
    # A closure written as a datetime still closes that day.
    assert WorkingCalendar("england", [datetime(2026, 12, 29, 0, 0)]).closures == {D(2026, 12, 29)}


def test_immutable_and_value_equality() -> None:
    cal = WorkingCalendar("wales", [D(2026, 12, 29)])
    with pytest.raises(AttributeError):
        cal.region = "england"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        cal._closures = frozenset()  # type: ignore[misc]
    assert cal == WorkingCalendar("wales", (D(2026, 12, 29),))
    assert cal != WorkingCalendar("england", (D(2026, 12, 29),))
    assert len({cal, WorkingCalendar("wales", [D(2026, 12, 29)])}) == 1


# ---------------------------------------------------------------------------------------------- properties

regions = st.sampled_from(sorted(REGIONS))
days = st.dates(min_value=D(2024, 1, 1), max_value=D(2030, 12, 31))
closure_sets = st.frozensets(st.dates(min_value=D(2023, 12, 1), max_value=D(2031, 3, 31)), max_size=12)
PROPS = settings(max_examples=60, deadline=None)


@PROPS
@given(regions, closure_sets, days, st.integers(-40, 40))
def test_result_is_always_a_working_day(region: str, closures: frozenset[date], start: date, n: int) -> None:
    cal = WorkingCalendar(region, closures)
    result = cal.add_working_days(start, n)
    assert cal.is_working_day(result)
    assert result.weekday() < 5 and result not in closures
    assert cal.holiday_name(result) is None


@PROPS
@given(regions, closure_sets, days, st.integers(0, 40))
def test_add_and_count_are_inverse(region: str, closures: frozenset[date], start: date, n: int) -> None:
    cal = WorkingCalendar(region, closures)
    end = cal.add_working_days(start, n)
    assert cal.working_days_between(start, end) == n
    listed = list(cal.working_days(start, end))
    assert len(listed) == n and (not listed or listed[-1] == end)
    assert all(cal.is_working_day(d) for d in listed)
    # Every day in (start', end] that is not listed is not a working day.
    day = cal.next_working_day(start) + timedelta(days=1)
    while day <= end:
        assert (day in listed) == cal.is_working_day(day)
        day += timedelta(days=1)


@PROPS
@given(regions, closure_sets, days, st.integers(-40, 39))
def test_strictly_increasing_in_n(region: str, closures: frozenset[date], start: date, n: int) -> None:
    cal = WorkingCalendar(region, closures)
    assert cal.add_working_days(start, n) < cal.add_working_days(start, n + 1)
    # and nothing working lies strictly between consecutive results
    a, b = cal.add_working_days(start, n), cal.add_working_days(start, n + 1)
    assert cal.working_days_between(a, b) == 1


@PROPS
@given(regions, closure_sets, days, st.integers(-30, 30), st.integers(-30, 30))
def test_composition(region: str, closures: frozenset[date], start: date, a: int, b: int) -> None:
    cal = WorkingCalendar(region, closures)
    assert cal.add_working_days(cal.add_working_days(start, a), b) == cal.add_working_days(start, a + b)


@PROPS
@given(regions, closure_sets, days, st.integers(1, 40))
def test_negative_n_inverse(region: str, closures: frozenset[date], start: date, n: int) -> None:
    cal = WorkingCalendar(region, closures)
    anchor = cal.next_working_day(start)
    before = cal.add_working_days(start, -n)
    assert before < anchor
    assert cal.working_days_between(before, anchor) == n
    assert cal.add_working_days(before, n) == anchor


@PROPS
@given(regions, closure_sets, days)
def test_next_working_day_is_first_working_day_on_or_after(region: str, closures: frozenset[date],
                                                          start: date) -> None:
    cal = WorkingCalendar(region, closures)
    nxt = cal.next_working_day(start)
    assert nxt >= start and cal.is_working_day(nxt)
    day = start
    while day < nxt:
        assert not cal.is_working_day(day)
        day += timedelta(days=1)
