"""Tests for parsers.dates: UK response dates in short text."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.dates import DateFind, find_date, scan_dates, weekday_add_working_days

RECEIVED = date(2026, 12, 1)  # a Tuesday
D9 = date(2026, 12, 9)


def monday_to_friday_minus_christmas(start: date, days: int) -> date:
    """A stand-in council calendar with 25 and 28 December 2026 as bank holidays."""
    holidays = {date(2026, 12, 25), date(2026, 12, 28)}

    def working(day: date) -> bool:
        return day.weekday() < 5 and day not in holidays

    current = start
    while not working(current):
        current += timedelta(days=1)
    if days > 0 and current != start:
        days -= 1
    for _ in range(days):
        current += timedelta(days=1)
        while not working(current):
            current += timedelta(days=1)
    return current


@pytest.mark.parametrize(
    ("text", "expected", "shown"),
    [
        ("09/12/2026", D9, "09/12/2026"),
        ("9/12/26", D9, "9/12/26"),
        ("09.12.2026", D9, "09.12.2026"),
        ("09-12-2026", D9, "09-12-2026"),
        ("2026-12-09", D9, "2026-12-09"),
        ("2026/12/09", D9, "2026/12/09"),
        ("9 December 2026", D9, "9 December 2026"),
        ("9 Dec 2026", D9, "9 Dec 2026"),
        ("9 Dec. 2026", D9, "9 Dec. 2026"),
        ("9-Dec-2026", D9, "9-Dec-2026"),
        ("9 Dec 26", D9, "9 Dec 26"),
        ("Wed 9 Dec 2026", D9, "Wed 9 Dec 2026"),
        ("Wednesday 9th December 2026", D9, "Wednesday 9th December 2026"),
        ("Wednesday, 9 December 2026", D9, "Wednesday, 9 December 2026"),
        ("9th of December 2026", D9, "9th of December 2026"),
        ("21st December", date(2026, 12, 21), "21st December"),
        ("2nd Dec", date(2026, 12, 2), "2nd Dec"),
        ("December 9th 2026", D9, "December 9th 2026"),
        ("Dec 9, 2026", D9, "Dec 9, 2026"),
        ("9 SEPT 2027", date(2027, 9, 9), "9 SEPT 2027"),
        ("1 march 2027", date(2027, 3, 1), "1 march 2027"),
        ("response by 05/12", date(2026, 12, 5), "05/12"),
        ("due: 5/12", date(2026, 12, 5), "5/12"),
    ],
)
def test_forms(text: str, expected: date, shown: str) -> None:
    found = find_date(text, RECEIVED)
    assert found.date == expected
    assert found.text == shown
    assert text[found.start : found.end] == shown


@pytest.mark.parametrize(
    "introducer",
    [
        "response by",
        "resp by",
        "respond by",
        "response due",
        "expected response",
        "reply by",
        "by",
        "due",
        "deadline",
        "Deadline:",
        "RESPONSE BY",
        "response date:",
        "response required by",
        "no later than",
    ],
)
def test_introduced_date_beats_a_later_one(introducer: str) -> None:
    found = find_date(f"{introducer} 09/12/2026 - review on 15/12/2026", RECEIVED)
    assert found.date == D9


def test_without_introducer_the_last_date_wins() -> None:
    assert find_date("meeting 03/12/2026 then 09/12/2026", RECEIVED).date == D9


def test_last_introduced_date_wins() -> None:
    assert find_date("by 03/12/2026, now extended to 09/12/2026", RECEIVED).date == D9


@pytest.mark.parametrize("text", ["12/13/2026", "31/11/2026", "30/02/2027", "00/12/2026", "32/01/2027"])
def test_impossible_dates_are_not_guessed(text: str) -> None:
    found = find_date(f"response by {text}", RECEIVED)
    assert found.date is None
    assert found.text is None
    assert any(f"impossible date '{text}' ignored" in w for w in found.warnings)


def test_us_date_gets_a_hint() -> None:
    found = find_date("12/13/2026", RECEIVED)
    assert found.warnings == ("impossible date '12/13/2026' ignored (dates are read as day/month/year)",)


def test_impossible_introduced_date_is_not_replaced_by_another() -> None:
    found = find_date("response by 31/11/2026 - review 01/12/2026", RECEIVED)
    assert found.date is None


def test_impossible_date_elsewhere_is_warned_but_valid_one_used() -> None:
    found = find_date("review 31/11/2026 - response by 09/12/2026", RECEIVED)
    assert found.date == D9
    assert "impossible date '31/11/2026' ignored" in found.warnings


def test_ambiguous_looking_dates_are_read_day_first() -> None:
    assert find_date("03/04/2027", RECEIVED).date == date(2027, 4, 3)


def test_two_digit_years_are_this_century() -> None:
    assert find_date("1/2/27", RECEIVED).date == date(2027, 2, 1)
    assert find_date("1/2/99", date(2099, 1, 1)).date == date(2099, 2, 1)


def test_yearless_dates_take_the_next_occurrence() -> None:
    assert find_date("by 2nd Jan", date(2026, 12, 20)).date == date(2027, 1, 2)
    assert find_date("by 20th December", date(2026, 12, 20)).date == date(2026, 12, 20)
    assert find_date("by 29 Feb", date(2026, 12, 20)).date == date(2028, 2, 29)
    assert find_date("by 5/12", date(2026, 12, 6)).date == date(2027, 12, 5)


def test_yearless_date_without_received_is_ignored_with_warning() -> None:
    found = find_date("by 21st December", None)
    assert found.date is None
    assert found.warnings == ("date '21st December' has no year and the received date is unknown; ignored",)


def test_yearless_impossible_date() -> None:
    found = find_date("by 31 Nov", RECEIVED)
    assert found.date is None
    assert "impossible date '31 Nov' ignored" in found.warnings


def test_yearless_numeric_needs_an_introducer() -> None:
    assert find_date("Level 1/2 escalation", RECEIVED).date is None
    assert find_date("Level 1/2 escalation", RECEIVED).warnings == ()


def test_date_before_received_is_kept_with_warning() -> None:
    found = find_date("by 20/11/2026", RECEIVED)
    assert found.date == date(2026, 11, 20)
    assert found.warnings == ("response date is before the mail was received",)


def test_date_far_in_the_future_is_warned() -> None:
    found = find_date("by 09/12/2028", RECEIVED)
    assert found.date == date(2028, 12, 9)
    assert found.warnings == ("response date is more than a year after the mail was received",)


def test_implausible_year_is_ignored() -> None:
    found = find_date("by 09/12/1926", RECEIVED)
    assert found.date is None
    assert found.warnings == ("date '09/12/1926' has an implausible year; ignored",)


def test_weekday_mismatch_keeps_the_date_and_warns() -> None:
    found = find_date("by Tue 9 Dec 2026", RECEIVED)
    assert found.date == D9
    assert any("does not match" in w for w in found.warnings)


def test_birth_dates_are_never_response_dates() -> None:
    assert find_date("Jane Doe DOB 01/02/2015", RECEIVED).date is None
    assert find_date("Jane Doe (d.o.b. 01/02/2015) - 09/12/2026", RECEIVED).date == D9
    assert find_date("born 1 Feb 2015", RECEIVED).date is None


def test_month_and_year_alone_is_not_a_date() -> None:
    found = find_date("review December 2026", RECEIVED)
    assert found.date is None
    assert found.warnings == ("date 'December 2026' has no day; ignored",)
    # and it does not hide a real date
    assert find_date("review December 2026 - by 09/12/2026", RECEIVED).warnings == ()


# --- relative periods


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in 5 working days", date(2026, 12, 8)),
        ("within 10 working days", date(2026, 12, 15)),
        ("within 5 WD", date(2026, 12, 8)),
        ("within 5wd", date(2026, 12, 8)),
        ("5 business days", date(2026, 12, 8)),
        ("within five working days", date(2026, 12, 8)),
        ("in 3 days", date(2026, 12, 4)),
        ("in 4 days", date(2026, 12, 7)),  # Saturday moved to Monday
        ("within 2 weeks", date(2026, 12, 15)),
        ("in 1 working day", date(2026, 12, 2)),
    ],
)
def test_relative_periods(text: str, expected: date) -> None:
    found = find_date(text, RECEIVED, monday_to_friday_minus_christmas)
    assert found.date == expected
    assert found.text == text
    assert found.warnings == ()


def test_working_days_skip_the_callers_bank_holidays() -> None:
    found = find_date("within 5 working days", date(2026, 12, 21), monday_to_friday_minus_christmas)
    assert found.date == date(2026, 12, 30)


def test_calendar_days_move_to_the_next_working_day() -> None:
    # 21 Dec + 4 days = Christmas Day: the next working day is Tuesday 29th in the stand-in calendar.
    found = find_date("in 4 days", date(2026, 12, 21), monday_to_friday_minus_christmas)
    assert found.date == date(2026, 12, 29)


def test_fallback_calendar_warns_about_bank_holidays() -> None:
    found = find_date("within 5 working days", date(2026, 12, 21))
    assert found.date == date(2026, 12, 28)
    assert found.warnings == ("working days counted Monday to Friday; bank holidays were not considered",)


def test_broken_calendar_falls_back() -> None:
    def broken(start: date, days: int) -> date:
        raise ValueError("no calendar")

    found = find_date("within 5 working days", RECEIVED, broken)
    assert found.date == date(2026, 12, 8)
    assert any("bank holidays were not considered" in w for w in found.warnings)


def test_relative_without_received_is_ignored_with_warning() -> None:
    found = find_date("within 5 working days", None)
    assert found.date is None
    assert found.warnings == ("'within 5 working days' needs the received date, which is unknown; ignored",)


def test_relative_at_the_end_of_time_does_not_raise() -> None:
    found = find_date("in 5 days", date(9999, 12, 30))
    assert found.date is None
    assert found.warnings


def test_datetime_received_counts_as_its_date() -> None:
    assert find_date("by 2nd Dec", datetime(2026, 12, 1, 23, 59)).date == date(2026, 12, 2)


# --- scan_dates


def test_scan_lists_every_mention_with_spans() -> None:
    text = "DOB 01/02/2015 - review 31/11/2026 - by 09/12/2026 - in 5 working days"
    mentions, _ = scan_dates(text, RECEIVED)
    assert [(m.kind, m.text, m.date) for m in mentions] == [
        ("birth", "01/02/2015", date(2015, 2, 1)),
        ("date", "31/11/2026", None),
        ("date", "09/12/2026", D9),
        ("relative", "in 5 working days", date(2026, 12, 8)),
    ]
    assert all(text[m.start : m.end] == m.text for m in mentions)


@pytest.mark.parametrize(
    "text", ["Mosaic 123456", "1234567890", "#120526", "ID 05122026", "LCS 111111 / 222222"]
)
def test_case_numbers_are_not_dates(text: str) -> None:
    mentions, _ = scan_dates(text, RECEIVED)
    assert mentions == ()


@pytest.mark.parametrize("bad", [None, "", " ", "\x00", "by", "by 99/99/9999", "🙂" * 100, 42])
def test_bad_input(bad: object) -> None:
    found = find_date(bad, RECEIVED)  # type: ignore[arg-type]
    assert found.date is None


def _chars_after(text: str, found: DateFind) -> int | None:
    return None if found.end is None else len(text) - found.end


@pytest.mark.parametrize(
    ("unit", "times"),
    [("1/", 2500), ("9 Dec ", 800), ("in ", 1600), ("Dec 9 ", 800), ("1", 5000), ("12/12/", 800), ("by ", 1600)],
)
def test_long_repetition_reads_like_five_repeats(unit: str, times: int) -> None:
    long, short = unit * times, unit * 5
    found, expected = find_date(long, RECEIVED), find_date(short, RECEIVED)
    assert (found.date, found.text, found.warnings) == (expected.date, expected.text, expected.warnings)
    assert _chars_after(long, found) == _chars_after(short, expected)  # the same (last) mention is chosen


# --- properties


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_dd_mm_yyyy_round_trips(when: date) -> None:
    assert find_date(f"{when:%d/%m/%Y}", when).date == when
    assert find_date(f"response by {when.day}/{when.month}/{when.year}", when).date == when
    assert find_date(f"{when.day} {when:%B %Y}", when).date == when
    assert find_date(f"{when:%Y-%m-%d}", when).date == when


@given(st.text(max_size=300), st.none() | st.dates())
def test_find_date_never_raises(text: str, received: date | None) -> None:
    found = find_date(text, received, monday_to_friday_minus_christmas)
    assert (found.date is None) == (found.text is None)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)), st.integers(0, 60))
def test_fallback_working_days(start: date, days: int) -> None:
    result = weekday_add_working_days(start, days)
    assert result.weekday() < 5
    assert result >= start
    counted = sum(
        1 for offset in range(1, (result - start).days + 1) if (start + timedelta(days=offset)).weekday() < 5
    )
    if days == 0:
        assert (result - start).days <= 2  # the same day, or the Monday after a weekend
    else:
        # from a weekend the following Monday is the first working day counted
        assert counted == days
