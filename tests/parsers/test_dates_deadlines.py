"""Tests for parsers.dates: deadlines written as a weekday name or a day of the month alone (find_date only).

"On or after": the next such day on or after the received date, the received day itself included ("by Monday"
received on a Monday is that Monday). Only after a deadline word ("by", "due", "resp", "deadline", "before", ...).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from parsers.dates import find_date, scan_dates

TUESDAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("text", "received", "expected", "shown"),
    [
        ("response by Monday", TUESDAY, date(2026, 12, 7), "Monday"),
        ("resp by Fri", TUESDAY, date(2026, 12, 4), "Fri"),
        ("resp by Fri.", TUESDAY, date(2026, 12, 4), "Fri."),
        ("reply by Weds", TUESDAY, None, None),  # not a weekday spelling we read
        ("due Thursday", TUESDAY, date(2026, 12, 3), "Thursday"),
        ("deadline - Wed", TUESDAY, date(2026, 12, 2), "Wed"),
        ("before Friday", TUESDAY, date(2026, 12, 4), "Friday"),
        ("by this Friday", TUESDAY, date(2026, 12, 4), "this Friday"),
        ("by this coming Monday", TUESDAY, date(2026, 12, 7), "this coming Monday"),
        ("by close of business Friday", TUESDAY, date(2026, 12, 4), "Friday"),
        ("by COB Fri", TUESDAY, date(2026, 12, 4), "Fri"),
        ("by end of day Thursday", TUESDAY, date(2026, 12, 3), "Thursday"),
        ("by Tuesday", TUESDAY, TUESDAY, "Tuesday"),  # the day it is received
        ("by Monday", date(2026, 12, 28), date(2026, 12, 28), "Monday"),
        ("by Friday", date(2026, 12, 26), date(2027, 1, 1), "Friday"),  # across the year
        ("by Sunday", date(2026, 11, 30), date(2026, 12, 6), "Sunday"),  # across the month
        ("by the 9th", TUESDAY, date(2026, 12, 9), "the 9th"),
        ("by 9th", TUESDAY, date(2026, 12, 9), "9th"),
        ("resp by the 21st", TUESDAY, date(2026, 12, 21), "the 21st"),
        ("by the 1st", TUESDAY, TUESDAY, "the 1st"),
        ("by the 30th", date(2026, 11, 5), date(2026, 11, 30), "the 30th"),
        ("by the 3rd", date(2026, 11, 20), date(2026, 12, 3), "the 3rd"),  # the next month
        ("by the 9th", date(2026, 12, 20), date(2027, 1, 9), "the 9th"),  # the next year
        ("by Wed 9th", TUESDAY, date(2026, 12, 9), "Wed 9th"),
        ("by Wednesday the 9th", TUESDAY, date(2026, 12, 9), "Wednesday the 9th"),
        # a fuller date wins over a weekday or a lone day inside it
        ("by Wed 9th Dec", TUESDAY, date(2026, 12, 9), "Wed 9th Dec"),
        ("due this Friday 11th December", TUESDAY, date(2026, 12, 11), "Friday 11th December"),
        ("by Monday 7/12/2026", TUESDAY, date(2026, 12, 7), "Monday 7/12/2026"),
    ],
)
def test_weekday_and_day_of_month(text: str, received: date, expected: date | None, shown: str | None) -> None:
    found = find_date(text, received)
    assert (found.date, found.text) == (expected, shown)
    if expected is not None:
        assert found.warnings == ()


@pytest.mark.parametrize(
    "text",
    [
        "Monday",  # no deadline word
        "Lunch on Friday?",
        "moved to Monday",  # "to" is not a deadline word for a weekday
        "by Monday's panel",
        "by Monday week",
        "by Friday after",
        "the 9th",
        "review on the 9th",
        "by the 5th working day",
        "by the 2nd stage",
        "by the 3rd time of asking",
        "by 9",
        "by the 32nd",
    ],
)
def test_not_a_deadline(text: str) -> None:
    assert find_date(text, TUESDAY).date is None


def test_next_weekday_is_ambiguous() -> None:
    found = find_date("by next Monday", TUESDAY)
    assert found.date is None
    assert found.warnings == ("'next Monday' is ambiguous (this week's or the week after?); ignored",)


def test_without_the_received_date_there_is_no_date() -> None:
    assert find_date("by Monday", None).date is None
    assert any("received date" in w for w in find_date("by Monday", None).warnings)
    assert find_date("by the 9th", None).date is None
    assert any("received date" in w for w in find_date("by the 9th", None).warnings)


def test_a_month_without_the_day_is_passed_with_a_warning() -> None:
    found = find_date("response by the 31st", date(2026, 11, 5))
    assert found.date == date(2026, 12, 31)
    assert found.warnings == ("the next month with a 31st is December 2026; 31 December 2026 was used",)
    leap = find_date("by the 29th", date(2027, 1, 30))
    assert leap.date == date(2027, 3, 29)


def test_a_weekday_that_does_not_match_the_day_is_reported() -> None:
    found = find_date("by Fri 9th", TUESDAY)
    assert found.date == date(2026, 12, 9)
    assert found.warnings == ("the weekday in 'Fri 9th' does not match the date; the day of the month was used",)


def test_the_last_deadline_wins_as_for_other_dates() -> None:
    assert find_date("review on 03/12/2026 - response by Friday", TUESDAY).date == date(2026, 12, 4)
    assert find_date("by Monday, now extended to the 9th", TUESDAY).date == date(2026, 12, 7)
    assert find_date("by Monday, now extended until the 9th", TUESDAY).date == date(2026, 12, 9)


def test_datetime_received_counts_as_its_date() -> None:
    assert find_date("by Tuesday", datetime(2026, 12, 1, 23, 59)).date == TUESDAY


def test_the_end_of_the_calendar_does_not_raise() -> None:
    assert find_date("by Sunday", date(9999, 12, 31)).date is None
    assert find_date("by the 1st", date(9999, 12, 31)).date is None


def test_scan_dates_reads_them_only_when_asked() -> None:
    # parsers.machine and parsers.commands read weekdays their own way (strictly after): unchanged for them
    assert scan_dates("back by Monday", TUESDAY) == ((), ())
    mentions, _ = scan_dates("back by Monday", TUESDAY, deadlines=True)
    assert [(m.text, m.date, m.introduced) for m in mentions] == [("Monday", date(2026, 12, 7), True)]
