"""Tests for parsers.subject: the escalation subject-line grammar."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.subject import CaseNumber, normalise_subject, parse_subject, strip_prefixes

RECEIVED = date(2026, 12, 1)  # a Tuesday
BANK_HOLIDAYS = frozenset({date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)})


def council_days(start: date, days: int) -> date:
    """A stand-in council calendar: Monday to Friday, minus BANK_HOLIDAYS."""

    def working(day: date) -> bool:
        return day.weekday() < 5 and day not in BANK_HOLIDAYS

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


def mosaic(*numbers: str) -> tuple[CaseNumber, ...]:
    return tuple(CaseNumber(n, "mosaic") for n in numbers)


def ll(*numbers: str) -> tuple[CaseNumber, ...]:
    return tuple(CaseNumber(n, "liquidlogic") for n in numbers)


def eclipse(*numbers: str) -> tuple[CaseNumber, ...]:
    return tuple(CaseNumber(n, "eclipse") for n in numbers)


def plain(*numbers: str) -> tuple[CaseNumber, ...]:
    return tuple(CaseNumber(n, None) for n in numbers)


JANE = ("Jane Doe",)
M = mosaic("123456")
D5 = date(2026, 12, 5)
D9 = date(2026, 12, 9)

# (subject, level, children, case numbers, response date)
HOUSE_AND_VARIANTS: list[tuple[str, int | None, tuple[str, ...], tuple[CaseNumber, ...], date | None]] = [
    # --- the house style and the forms named in the Dorset policy
    ("Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 05/12/2026", 1, JANE, M, D5),
    ("Action - Level 2 escalation - Jane Doe - MOSAIC 123456 - response by 05/12/2026", 2, JANE, M, D5),
    ("Action - Level 1 (or 2) escalation - Jane Doe - MOSAIC 123456 - 05/12/2026", 1, JANE, M, D5),
    # --- level forms
    ("Action - Level one escalation - Jane Doe - Mosaic 123456 - response by 09/12/2026", 1, JANE, M, D9),
    ("Action - level-2 escalation - Jane Doe - Mosaic 123456 - response by 09/12/2026", 2, JANE, M, D9),
    ("Stage 3 escalation - Jane Doe - Mosaic 123456 - response by 09/12/2026", 3, JANE, M, D9),
    ("Stage Two escalation - Jane Doe - Mosaic 123456 - response by 09/12/2026", 2, JANE, M, D9),
    ("L2 escalation - Jane Doe - Mosaic 123456 - 09/12/2026", 2, JANE, M, D9),
    ("Lvl 2 escalation - Jane Doe - Mosaic 123456 - 09/12/2026", 2, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456", 1, JANE, M, None),
    ("Escalation level 2 - Jane Doe - Mosaic 123456", 2, JANE, M, None),
    ("Stage 1 dispute resolution - Jane Doe - Mosaic 123456", 1, JANE, M, None),
    ("Level1 escalation - Jane Doe - Mosaic 123456", 1, JANE, M, None),
    ("Action – Level 1 escalation – Jane Doe – Mosaic 123456 – 09/12/2026", 1, JANE, M, D9),
    ("Action — Level 3 escalation — Jane Doe — Mosaic 123456 — 09/12/2026", 3, JANE, M, D9),
    ("Action ‒ Level 2 escalation ‒ Jane Doe ‒ Mosaic 123456 ‒ 09/12/2026", 2, JANE, M, D9),
    ("Action ~ Level 4 escalation ~ Jane Doe ~ Mosaic 123456 ~ 09/12/2026", 4, JANE, M, D9),
    ("Action - Level–2 escalation - Jane Doe - Mosaic 123456", 2, JANE, M, None),
    ("Action - Level—3 escalation - Jane Doe - Mosaic 123456", 3, JANE, M, None),
    ("Second stage escalation - Jane Doe - Mosaic 123456", 2, JANE, M, None),
    ("LEVEL FOUR ESCALATION - Jane Doe - Mosaic 123456", 4, JANE, M, None),
    ("Stage IV escalation - Jane Doe - Mosaic 123456", 4, JANE, M, None),
    ("Level 5 - referral to Cafcass - Jane Doe - Mosaic 123456", 5, JANE, M, None),
    ("Level Three escalation - Jane Doe - Mosaic 123456", 3, JANE, M, None),
    ("Stage Five - Jane Doe - Mosaic 123456", 5, JANE, M, None),
    # --- escalation wordings from the seed councils
    ("Level 2 Escalation - Jane Doe - Mosaic 123456", 2, JANE, M, None),
    ("Stage 1 - Dispute Resolution - Jane Doe - Mosaic 123456", 1, JANE, M, None),
    ("IRO escalation - level 3 - Jane Doe - Mosaic 123456", 3, JANE, M, None),
    ("Escalation Stage 2 - Jane Doe - Mosaic 123456", 2, JANE, M, None),
    ("IRO Challenge - Stage 1 - Jane Doe - Eclipse 1234567", 1, JANE, eclipse("1234567"), None),
    ("Formal escalation regarding Jane Doe - Level 1 - Mosaic 123456", 1, JANE, M, None),
    ("Level 1 - Jane Doe - Mosaic 123456", 1, JANE, M, None),
    # --- children
    ("Level 2 Escalation - Sam and Alex Jones - Mosaic 123456", 2, ("Sam Jones", "Alex Jones"), M, None),
    (
        "Level 1 escalation - Amy, Beth and Cara Khan - Mosaic 123456",
        1,
        ("Amy Khan", "Beth Khan", "Cara Khan"),
        M,
        None,
    ),
    (
        "Level 1 escalation - Sam Smith and Alex Jones - Mosaic 123456",
        1,
        ("Sam Smith", "Alex Jones"),
        M,
        None,
    ),
    ("Level 1 escalation - Amy & Beth Khan - Mosaic 123456", 1, ("Amy Khan", "Beth Khan"), M, None),
    ("Level 1 escalation - Jane Doe (JD) - Mosaic 123456", 1, JANE, M, None),
    ("Level 1 escalation - (JD) - Mosaic 123456", 1, ("JD",), M, None),
    ("Level 1 escalation - J.D. - Mosaic 123456", 1, ("J.D.",), M, None),
    ("Level 1 escalation - Liam O'Neill - Mosaic 123456", 1, ("Liam O'Neill",), M, None),
    ("Level 1 escalation - Liam O’Neill - Mosaic 123456", 1, ("Liam O’Neill",), M, None),
    ("Level 1 escalation - Jane Smith-Jones - Mosaic 123456", 1, ("Jane Smith-Jones",), M, None),
    ("Level 1 escalation - Mary-Kate de la Cruz - Mosaic 123456", 1, ("Mary-Kate de la Cruz",), M, None),
    (
        "Level 1 escalation - Sam Smith, Amy and Beth Khan - Mosaic 123456",
        1,
        ("Sam Smith", "Amy Khan", "Beth Khan"),
        M,
        None,
    ),
    ("Level 1 escalation - Jane Doe & John Smith - Mosaic 123456", 1, ("Jane Doe", "John Smith"), M, None),
    ("Level 1 escalation - Zoë Łukasz-Nowak - Mosaic 123456", 1, ("Zoë Łukasz-Nowak",), M, None),
    ("Level 1 escalation - Jane - Mosaic 123456", 1, ("Jane",), M, None),
    # --- case numbers
    ("Level 1 escalation - Jane Doe - Mosaic: 123456", 1, JANE, M, None),
    ("Level 1 escalation - Jane Doe - Mosaic no. 123456", 1, JANE, M, None),
    ("Level 1 escalation - Jane Doe - Mosaic ID 123456", 1, JANE, M, None),
    ("Level 1 escalation - Jane Doe - MOSAIC#123456", 1, JANE, M, None),
    ("Level 1 escalation - Jane Doe - LCS 123456", 1, JANE, ll("123456"), None),
    ("Level 1 escalation - Jane Doe - LL 123456", 1, JANE, ll("123456"), None),
    ("Level 1 escalation - Jane Doe - LiquidLogic 123456", 1, JANE, ll("123456"), None),
    ("Level 1 escalation - Jane Doe - Liquid Logic ID 123456", 1, JANE, ll("123456"), None),
    ("Level 1 escalation - Jane Doe - Eclipse 123456", 1, JANE, eclipse("123456"), None),
    ("Level 1 escalation - Jane Doe - Eclipse ID 1234567", 1, JANE, eclipse("1234567"), None),
    ("Level 1 escalation - Jane Doe - #123456", 1, JANE, plain("123456"), None),
    ("Level 1 escalation - Jane Doe - ID 123456", 1, JANE, plain("123456"), None),
    ("Level 1 escalation - Jane Doe - 123456", 1, JANE, plain("123456"), None),
    ("Level 1 escalation - Jane Doe - 1234", 1, JANE, plain("1234"), None),
    ("Level 1 escalation - Jane Doe - 1234567890", 1, JANE, plain("1234567890"), None),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 & 123457", 1, JANE, mosaic("123456", "123457"), None),
    ("Level 1 escalation - Jane Doe - Mosaic 111111 / 222222", 1, JANE, mosaic("111111", "222222"), None),
    (
        "Level 1 escalation - Jane Doe - Mosaic 123456, 234567 and 345678",
        1,
        JANE,
        mosaic("123456", "234567", "345678"),
        None,
    ),
    (
        "Level 1 escalation - Jane Doe - Mosaic 123456 and LCS 654321",
        1,
        JANE,
        (*mosaic("123456"), *ll("654321")),
        None,
    ),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - #123456", 1, JANE, M, None),
    ("Level 1 escalation - Jane Doe - Mosaic123456", 1, JANE, M, None),
    # --- response dates
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - 09/12/2026", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - 9/12/26", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - 09.12.2026", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - 09-12-2026", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - 2026-12-09", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - 9 December 2026", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - 9 Dec 2026", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - Wed 9 Dec 2026", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - Wednesday 9th December 2026", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - 21st December", 1, JANE, M, date(2026, 12, 21)),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - 2nd Dec", 1, JANE, M, date(2026, 12, 2)),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - December 9th 2026", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - response by 09/12/2026", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - resp by 09/12/2026", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - respond by 09/12/2026", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - response due 09/12/2026", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - expected response 09/12/2026", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - reply by 09/12/2026", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - by 09/12/2026", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - due 09/12/2026", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - deadline 09/12/2026", 1, JANE, M, D9),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - in 5 working days", 1, JANE, M, date(2026, 12, 8)),
    (
        "Level 1 escalation - Jane Doe - Mosaic 123456 - within 10 working days",
        1,
        JANE,
        M,
        date(2026, 12, 15),
    ),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - within 5 WD", 1, JANE, M, date(2026, 12, 8)),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - in 3 days", 1, JANE, M, date(2026, 12, 4)),
    # in 4 days from Tue 1 Dec is Sat 5 Dec: moved to Monday 7 Dec
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - in 4 days", 1, JANE, M, date(2026, 12, 7)),
    # --- realistic variants
    (
        "RE: FW: re: Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 05/12/2026",
        1,
        JANE,
        M,
        D5,
    ),
    ("RE: Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 05/12/2026", 1, JANE, M, D5),
    ("Action: Level 2 Escalation: Jane Doe: Mosaic 123456: 05/12/2026", 2, JANE, M, D5),
    ("Action-Level 1 escalation-Jane Doe-MOSAIC 123456-response by 5/12/26", 1, JANE, M, D5),
    (
        "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 05/12/2026 [ESC-0042]",
        1,
        JANE,
        M,
        D5,
    ),
    ("URGENT - Action - Level 1 escalation - Jane Doe - Mosaic 123456 - 05/12/2026", 1, JANE, M, D5),
    ("URGENT: Level 2 escalation: Jane Doe: Mosaic 123456", 2, JANE, M, None),
    ("Action  -  Level  1  escalation  -  Jane  Doe  -  Mosaic  123456  -  05/12/2026", 1, JANE, M, D5),
    ("action - level 1 escalation - jane doe - mosaic 123456 - response by 5/12/26", 1, ("jane doe",), M, D5),
    (
        "ACTION - LEVEL 1 ESCALATION - JANE DOE - MOSAIC 123456 - RESPONSE BY 05/12/2026",
        1,
        ("JANE DOE",),
        M,
        D5,
    ),
    ("Action Level 1 escalation Jane Doe Mosaic 123456 response by 05/12/2026", 1, JANE, M, D5),
    ("Action -Level 1 escalation- Jane Doe -Mosaic 123456- 05/12/2026", 1, JANE, M, D5),
    ("Action - Level 1 escalation re Jane Doe - Mosaic 123456 - by 5/12", 1, JANE, M, D5),
    ("Action - Level 1 escalation - Jane Doe - Mosaic 123456 - response date: 05/12/2026", 1, JANE, M, D5),
    (
        "Action - Level 1 escalation - Jane Doe - Mosaic 123456 - Response required by 05/12/2026",
        1,
        JANE,
        M,
        D5,
    ),
    ("Action - Level 1 escalation - Jane Doe - Mosaic 123456 - Resp by 5 Dec", 1, JANE, M, D5),
    ("Action - Level 1 escalation - Jane Doe - Mosaic 123456 - by Wed 9th Dec", 1, JANE, M, D9),
    ("Action - Level 1 escalation - Jane Doe - Mosaic 123456 - by 9-Dec-2026", 1, JANE, M, D9),
    ("Action - Level 1 escalation - Jane Doe - Mosaic 123456 - by 9th of December", 1, JANE, M, D9),
    ("Action - Level 1 escalation - Jane Doe - Mosaic 123456 - by Dec 9, 2026", 1, JANE, M, D9),
    (
        "Action - Level 1 escalation - Jane Doe - Mosaic 123456 - within five working days",
        1,
        JANE,
        M,
        date(2026, 12, 8),
    ),
    (
        "Action - Level 1 escalation - Jane Doe - Mosaic 123456 - within 2 weeks",
        1,
        JANE,
        M,
        date(2026, 12, 15),
    ),
    ("Action - Level 1 escalation - Jane Doe - Mosaic 123456 - in 5WD", 1, JANE, M, date(2026, 12, 8)),
    ("Action - Level 1 escalation - Jane Doe DOB 01/02/2015 - Mosaic 123456", 1, JANE, M, None),
    ("Action - Level 1 escalation - Jane Doe (DOB 01/02/2015) - Mosaic 123456 - 05/12/2026", 1, JANE, M, D5),
    (
        "Action - Level 1 escalation - Jane Doe - Mosaic 123456 - LAC review 03/12/2026"
        " - response by 05/12/2026",
        1,
        JANE,
        M,
        D5,
    ),
    (
        "Action - Level 1 escalation - Jane Doe - Mosaic 123456 - care plan not signed off - by 05/12/2026",
        1,
        JANE,
        M,
        D5,
    ),
    (
        "Action - Level 1 escalation - Jane Doe - Mosaic 123456 - Placement Breakdown - 05/12/2026",
        1,
        JANE,
        M,
        D5,
    ),
    ("Jane Doe - Level 1 escalation - Mosaic 123456 - 05/12/2026", 1, JANE, M, D5),
    ("Jane Doe Mosaic 123456 - Level 2 escalation", 2, JANE, M, None),
    (
        "Level 2 escalation for Sam Smith concerning placement stability - Mosaic 123456",
        2,
        ("Sam Smith",),
        M,
        None,
    ),
    (
        "Action - Level 1 escalation - Amy Khan 123456, Beth Khan 123457 - response by 05/12/2026",
        1,
        ("Amy Khan", "Beth Khan"),
        plain("123456", "123457"),
        D5,
    ),
    ("Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 05/12/2026 🙂", 1, JANE, M, D5),
    ("[EXTERNAL] RE: Action - Level 1 escalation - Jane Doe - Mosaic 123456", 1, JANE, M, None),
    ("AW: WG: Level 3 escalation - Jane Doe - LL 123456", 3, JANE, ll("123456"), None),
    ("SV: VS: Antw: RV: TR: Level 3 escalation - Jane Doe - Mosaic 123456", 3, JANE, M, None),
    ("Fwd: Action - Level 1 escalation - Jane Doe - Mosaic 123456 - 05/12/2026", 1, JANE, M, D5),
    ("RE[2]: Action - Level 1 escalation - Jane Doe - Mosaic 123456 - 05/12/2026", 1, JANE, M, D5),
    ("Action - Level 2 escalation - Jane Doe - Mosaic 123456 - 05/12/2026 [esc-7]", 2, JANE, M, D5),
    ("OFFICIAL-SENSITIVE: Action - Level 1 escalation - Jane Doe - Mosaic 123456", 1, JANE, M, None),
    ("Action - Level 1 escalation | Jane Doe | Mosaic 123456 | 05/12/2026", 1, JANE, M, D5),
    ("Action - Level 1 escalation / Jane Doe / Mosaic 123456 / 05/12/2026", 1, JANE, M, D5),
    ("Action - Level 1 escalation, Jane Doe, Mosaic 123456, 05/12/2026", 1, JANE, M, D5),
    ("Action - Level 1 escalation - Jane Doe - Mosaic 123456 - 5.12.26", 1, JANE, M, D5),
    ("Action - Level 1 escalation - Jane Doe - Mosaic 123456-05/12/2026", 1, JANE, M, D5),
    ("Action - Level 1 escalation - Jane Doe's care plan - Mosaic 123456", 1, JANE, M, None),
    ("Action - Level 1 escalation - Baby Doe - Mosaic 123456", 1, ("Baby Doe",), M, None),
    ("Level 2 escalation (TM) - Jane Doe - Mosaic 123456", 2, JANE, M, None),
    ("Level 1 escalation - Head of Service - Jane Doe - Mosaic 123456", 1, JANE, M, None),
    ("Level 1 - Quality Alert - Jane Doe - Mosaic 123456", 1, JANE, M, None),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - chaser", 1, JANE, M, None),
    ("level 1 escalation - mosaic 123456 - jane doe - reply by 05/12/2026", 1, ("jane doe",), M, D5),
    ("Level 1 escalation - Mosaic 123456 - Jane Doe - response by 05/12/2026", 1, JANE, M, D5),
    ("level 1 escalation - jane doe - mosaic 123456 - deadline 05/12/2026 please", 1, ("jane doe",), M, D5),
    ("Level 1 escalation - Jane Doe - Mosaic 123456 - 29/02/2028", 1, JANE, M, date(2028, 2, 29)),
]


@pytest.mark.parametrize(("subject", "level", "children", "cases", "response"), HOUSE_AND_VARIANTS)
def test_subject_table(
    subject: str,
    level: int | None,
    children: tuple[str, ...],
    cases: tuple[CaseNumber, ...],
    response: date | None,
) -> None:
    facts = parse_subject(subject, RECEIVED, council_days)
    assert facts.is_escalation is True
    assert facts.level == level
    assert facts.children == children
    assert facts.case_numbers == cases
    assert facts.response_date == response


def test_table_is_large_enough() -> None:
    # The brief asks for every named form plus at least 40 further realistic variants.
    assert len(HOUSE_AND_VARIANTS) >= 120


@pytest.mark.parametrize(
    ("subject", "word"),
    [
        ("Level 2 escalation - Jane Doe - Mosaic 123456", "level"),
        ("Stage 2 escalation - Jane Doe - Mosaic 123456", "stage"),
        ("Lvl 2 - Jane Doe - Mosaic 123456", "level"),
        ("L2 - Jane Doe - Mosaic 123456", "level"),
        ("Second stage escalation - Jane Doe - Mosaic 123456", "stage"),
        ("Escalation - Jane Doe - Mosaic 123456", None),
    ],
)
def test_level_word(subject: str, word: str | None) -> None:
    assert parse_subject(subject, RECEIVED).level_word == word


@pytest.mark.parametrize(
    "subject",
    [
        "Level 1 training session for new IROs",
        "Escalation policy review",
        "Jane Doe - Mosaic 123456 - LAC review notes",
        "Team meeting 09/12/2026",
        "Level 1 - Jane Doe",
        "Stage 2 of the assessment",
        "Lunch on Friday?",
        "",
    ],
)
def test_not_escalations(subject: str) -> None:
    assert parse_subject(subject, RECEIVED).is_escalation is False


def test_escalation_without_level_is_flagged() -> None:
    facts = parse_subject("Escalation - Jane Doe - Mosaic 123456 - response by 05/12/2026", RECEIVED)
    assert facts.is_escalation is True
    assert facts.level is None
    assert facts.children == JANE
    assert facts.response_date == D5
    assert "no escalation level found in the subject" in facts.warnings


def test_level_and_action_without_case_number_warns() -> None:
    facts = parse_subject("Action - Level 1 escalation - Jane Doe - response by 05/12/2026", RECEIVED)
    assert facts.is_escalation is True
    assert facts.case_numbers == ()
    assert "no case number found in the subject" in facts.warnings


def test_level_out_of_range_is_ignored_with_warning() -> None:
    facts = parse_subject("Level 7 escalation - Jane Doe - Mosaic 123456", RECEIVED)
    assert facts.level is None
    assert any("outside 1 to 5" in w for w in facts.warnings)


def test_several_levels_first_wins_with_warning() -> None:
    facts = parse_subject(
        "Level 2 escalation - Jane Doe - Mosaic 123456 - Level 1 response overdue", RECEIVED
    )
    assert facts.level == 2
    assert "several levels in the subject (1, 2); the first was used" in facts.warnings


# --- reply prefixes, bot tag, normalisation


@pytest.mark.parametrize(
    ("subject", "core", "had"),
    [
        ("RE: FW: re: Level 1", "Level 1", True),
        ("Re: Level 1", "Level 1", True),
        ("FWD: Fwd: Level 1", "Level 1", True),
        ("AW: WG: Level 1", "Level 1", True),
        ("SV: VS: Antw: RV: TR: Level 1", "Level 1", True),
        ("RE:RE:Level 1", "Level 1", True),
        ("RE : Level 1", "Level 1", True),
        ("RE[3]: Level 1", "Level 1", True),
        ("[EXTERNAL] RE: Level 1", "Level 1", True),
        ("[EXTERNAL] Level 1", "Level 1", False),
        ("Level 1", "Level 1", False),
        ("Resolved: Level 1", "Resolved: Level 1", False),
        ("Regarding Level 1", "Regarding Level 1", False),
        ("", "", False),
    ],
)
def test_strip_prefixes(subject: str, core: str, had: bool) -> None:
    assert strip_prefixes(subject) == (core, had)


def test_reply_prefixes_do_not_change_facts() -> None:
    base = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 05/12/2026"
    original = parse_subject(base, RECEIVED)
    reply = parse_subject("RE: FW: re: " + base, RECEIVED)
    assert original.is_reply is False
    assert reply.is_reply is True
    assert reply.core == base
    assert (reply.is_escalation, reply.level, reply.children, reply.case_numbers, reply.response_date) == (
        original.is_escalation,
        original.level,
        original.children,
        original.case_numbers,
        original.response_date,
    )


@pytest.mark.parametrize(
    ("subject", "reference"),
    [
        ("RE: Level 1 escalation - Jane Doe - Mosaic 123456 [ESC-0042]", "ESC-0042"),
        ("[ESC-0042] RE: Level 1 escalation", "ESC-0042"),
        ("RE: [esc-17] Level 1 escalation", "ESC-17"),
        ("Level 1 [ ESC-123456789 ]", "ESC-123456789"),
        ("Level 1 [ESC–0042]", "ESC-0042"),
        ("Level 1 escalation", None),
        ("ESC-0042 without brackets", None),
    ],
)
def test_bot_reference(subject: str, reference: str | None) -> None:
    assert parse_subject(subject, RECEIVED).bot_reference == reference


def test_bot_tag_digits_are_not_case_numbers() -> None:
    facts = parse_subject("RE: Level 1 escalation - Jane Doe - Mosaic 123456 [ESC-004242]", RECEIVED)
    assert facts.case_numbers == M
    assert facts.bot_reference == "ESC-004242"


@pytest.mark.parametrize(
    "variant",
    [
        "RE: Action - Level 1 escalation - Jane Doe - Mosaic 123456",
        "FW: RE: action – level 1 escalation – jane doe – mosaic 123456",
        "Action-Level 1 escalation-Jane Doe-Mosaic 123456 [ESC-0042]",
        "Re:  ACTION — LEVEL 1 ESCALATION — JANE DOE — MOSAIC 123456",
        "[ESC-7] Action -  Level 1 escalation -  Jane Doe - Mosaic 123456 ",
    ],
)
def test_normalise_subject_matches_variants(variant: str) -> None:
    assert normalise_subject(variant) == normalise_subject(
        "Action - Level 1 escalation - Jane Doe - Mosaic 123456"
    )


def test_normalise_subject_differs_for_other_children() -> None:
    assert normalise_subject("Level 1 - Jane Doe - Mosaic 123456") != normalise_subject(
        "Level 1 - John Doe - Mosaic 123456"
    )


# --- dates in subjects


def test_impossible_dates_are_never_guessed() -> None:
    us = parse_subject("Level 1 escalation - Jane Doe - Mosaic 123456 - response by 12/13/2026", RECEIVED)
    assert us.response_date is None
    assert us.response_date_text is None
    assert any("'12/13/2026'" in w for w in us.warnings)
    november = parse_subject(
        "Level 1 escalation - Jane Doe - Mosaic 123456 - response by 31/11/2026", RECEIVED
    )
    assert november.response_date is None
    assert "impossible date '31/11/2026' ignored" in november.warnings
    # the impossible date's digits are not taken for case numbers either
    assert us.case_numbers == M
    assert november.case_numbers == M


def test_date_before_received_is_kept_with_warning() -> None:
    facts = parse_subject("Level 1 escalation - Jane Doe - Mosaic 123456 - by 20/11/2026", RECEIVED)
    assert facts.response_date == date(2026, 11, 20)
    assert "response date is before the mail was received" in facts.warnings


def test_date_without_year_needs_received() -> None:
    facts = parse_subject("Level 1 escalation - Jane Doe - Mosaic 123456 - by 21st December", None)
    assert facts.response_date is None
    assert any("no year" in w for w in facts.warnings)


def test_date_without_year_rolls_to_next_occurrence() -> None:
    facts = parse_subject("Level 1 escalation - Jane Doe - Mosaic 123456 - by 2nd Jan", date(2026, 12, 20))
    assert facts.response_date == date(2027, 1, 2)


def test_working_days_use_the_given_calendar() -> None:
    received = date(2026, 12, 21)  # Monday; 25 and 28 December are holidays in the stand-in calendar
    facts = parse_subject(
        "Level 1 escalation - Jane Doe - Mosaic 123456 - within 5 working days", received, council_days
    )
    assert facts.response_date == date(2026, 12, 30)
    assert facts.response_date_text == "within 5 working days"
    assert not any("bank holidays" in w for w in facts.warnings)


def test_working_days_without_calendar_fall_back_with_warning() -> None:
    received = date(2026, 12, 21)
    facts = parse_subject("Level 1 escalation - Jane Doe - Mosaic 123456 - within 5 working days", received)
    assert facts.response_date == date(2026, 12, 28)
    assert any("bank holidays were not considered" in w for w in facts.warnings)


def test_response_date_text_is_as_written() -> None:
    facts = parse_subject("Level 1 escalation – Jane Doe – Mosaic 123456 – by 05–12–2026", RECEIVED)
    assert facts.response_date == D5
    assert facts.response_date_text == "05–12–2026"


def test_mosaic_numbers_are_not_dates_and_dates_not_case_numbers() -> None:
    facts = parse_subject("Level 1 escalation - Jane Doe - Mosaic 1212 2026 - 12/12/2026", RECEIVED)
    assert facts.case_numbers == mosaic("1212") + plain("2026")
    assert facts.response_date == date(2026, 12, 12)
    only_numbers = parse_subject("Level 1 escalation - Mosaic 120626 - 2026-06-12", RECEIVED)
    assert only_numbers.case_numbers == mosaic("120626")
    assert only_numbers.response_date == date(2026, 6, 12)


# --- warnings never name children


NAMED_SUBJECTS = [
    "Level 9 escalation - Zebedee Quux - Mosaic 123456 - 31/11/2026",
    "Escalation - Zebedee Quux - Mosaic 123456 - 12/13/2026",
    "Level 1 escalation - Zebedee Quux - by 3rd Dec",
    "Level 1 and Level 2 escalation - Zebedee Quux - Mosaic 123456 - in 5 working days - " + "x" * 1200,
]


@pytest.mark.parametrize("subject", NAMED_SUBJECTS)
def test_warnings_do_not_name_children(subject: str) -> None:
    for received in (RECEIVED, None):
        facts = parse_subject(subject, received)
        assert facts.warnings, "each of these subjects should produce a warning"
        for warning in facts.warnings:
            assert "Zebedee" not in warning
            assert "Quux" not in warning


# --- bad input


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "",
        "   ",
        "\x00\x01\x02",
        "RE:",
        "RE: FW:",
        "-",
        "–––",
        "[ESC-]",
        "🙂🙂🙂",
        "\ud800broken",
        12345,
    ],
)
def test_bad_input_does_not_raise(bad: object) -> None:
    facts = parse_subject(bad, RECEIVED)  # type: ignore[arg-type]
    assert facts.is_escalation is False
    assert facts.level is None
    assert facts.children == ()


def test_control_characters_are_removed_and_whitespace_collapsed() -> None:
    facts = parse_subject(
        "Action -\tLevel 1\r\n escalation\x07 - Jane\u200b Doe - Mosaic 123456\x00", RECEIVED
    )
    assert facts.subject == "Action - Level 1 escalation - Jane Doe - Mosaic 123456"
    assert facts.level == 1
    assert facts.children == JANE
    assert facts.case_numbers == M


def test_only_a_date() -> None:
    facts = parse_subject("05/12/2026", RECEIVED)
    assert facts.is_escalation is False
    assert facts.response_date == D5
    assert facts.case_numbers == ()
    assert facts.children == ()


def test_only_a_number() -> None:
    facts = parse_subject("123456", RECEIVED)
    assert facts.is_escalation is False
    assert facts.case_numbers == plain("123456")
    assert facts.response_date is None


def test_long_subject_is_truncated_with_warning() -> None:
    head = "Action - Level 1 escalation - Jane Doe - Mosaic 123456 - "
    facts = parse_subject(head + "blah " * 2000, RECEIVED)
    assert len(facts.subject) <= 1000
    assert facts.subject.endswith("blah")
    assert facts.level == 1
    assert facts.case_numbers == M
    assert any("truncated" in w or "was cut" in w for w in facts.warnings)
    short = parse_subject(head + "blah " * 5, RECEIVED)  # reads the same, but for the text and the warning
    assert replace(facts, subject=short.subject, core=short.core, warnings=short.warnings) == short


@pytest.mark.parametrize(
    "pathological",
    [
        "#" * 10_000,
        "1/" * 5_000,
        "Level " * 2_000,
        "Mosaic" + " :" * 5_000 + "x",
        "J." * 5_000,
        "Amy and " * 1_250,
        "9 Dec " * 1_700,
        "a-" * 5_000,
        "1" * 10_000,
        "[ESC-" * 2_000,
        "(J" * 5_000,
        "e\u0301" * 5_000,
        "Level 1 escalation - Jane Doe - Mosaic 123456 - 05/12/2026 " * 170,
    ],
)
def test_pathological_subject_reads_as_its_cut_start(pathological: str) -> None:
    facts = parse_subject(pathological, RECEIVED, council_days)
    assert pathological.startswith(facts.subject)
    assert len(facts.subject) <= 1000
    assert facts.warnings[0] == "subject was longer than 1000 characters and was cut"
    again = parse_subject(facts.subject, RECEIVED, council_days)  # the kept start alone, not cut again
    assert facts == replace(again, warnings=(facts.warnings[0], *again.warnings))


def test_datetime_received_is_accepted() -> None:
    from datetime import datetime

    facts = parse_subject(
        "Level 1 escalation - Jane Doe - Mosaic 123456 - by 2nd Dec", datetime(2026, 12, 1, 9)
    )
    assert facts.response_date == date(2026, 12, 2)


def test_broken_calendar_falls_back() -> None:
    def broken(start: date, days: int) -> date:
        raise RuntimeError("calendar down")

    facts = parse_subject(
        "Level 1 escalation - Jane Doe - Mosaic 123456 - in 5 working days", RECEIVED, broken
    )
    assert facts.response_date == date(2026, 12, 8)
    assert any("bank holidays were not considered" in w for w in facts.warnings)


# --- properties


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=400), received=st.none() | st.dates())
def test_never_raises_on_arbitrary_text(text: str, received: date | None) -> None:
    facts = parse_subject(text, received, council_days)
    assert isinstance(facts.warnings, tuple)
    assert all(c.number.isdigit() for c in facts.case_numbers)
    assert facts.level is None or 1 <= facts.level <= 5


SUBJECT_ALPHABET = st.sampled_from(
    list("Level Stage Mosaic escalation Jane Doe & and , - – / : # 0123456789 [ESC-] RE: by due ()'.")
)


@settings(max_examples=300)
@given(st.lists(SUBJECT_ALPHABET, max_size=120).map("".join))
def test_never_raises_on_subject_like_noise(text: str) -> None:
    facts = parse_subject(text, RECEIVED)
    assert all(c.number.isdigit() and 4 <= len(c.number) <= 10 for c in facts.case_numbers)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_ddmmyyyy_round_trips(when: date) -> None:
    subject = f"Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by {when:%d/%m/%Y}"
    facts = parse_subject(subject, when)
    assert facts.response_date == when
    assert facts.response_date_text == f"{when:%d/%m/%Y}"
    assert facts.case_numbers == M


FIRST_NAMES = ["Jane", "Sam", "Alex", "Amy", "Beth", "Liam", "Zoë", "Mary-Kate", "Oliver", "Aisha"]
SURNAMES = ["Doe", "Jones", "Khan", "O'Neill", "Smith-Jones", "Nowak", "Okafor", "MacDonald"]


@st.composite
def house_style(draw: st.DrawFn) -> tuple[str, int, tuple[str, ...], str, date]:
    level = draw(st.integers(1, 5))
    surname = draw(st.sampled_from(SURNAMES))
    firsts = draw(st.lists(st.sampled_from(FIRST_NAMES), min_size=1, max_size=3, unique=True))
    if len(firsts) == 1:
        written = f"{firsts[0]} {surname}"
    elif len(firsts) == 2:
        written = f"{firsts[0]} and {firsts[1]} {surname}"
    else:
        written = f"{firsts[0]}, {firsts[1]} and {firsts[2]} {surname}"
    number = str(draw(st.integers(100_000, 999_999)))
    when = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)))
    dash = draw(st.sampled_from([" - ", " – ", " — ", "-", ": "]))
    label = draw(st.sampled_from(["MOSAIC", "Mosaic", "mosaic"]))
    date_text = draw(
        st.sampled_from(
            [
                f"{when:%d/%m/%Y}",
                f"{when.day}/{when.month}/{when:%y}",
                f"{when.day} {when:%B %Y}",
                f"{when:%Y-%m-%d}",
            ]
        )
    )
    intro = draw(st.sampled_from(["response by ", "resp by ", "", "due ", "expected response "]))
    prefix = draw(st.sampled_from(["", "RE: ", "RE: FW: "]))
    subject = (
        f"{prefix}Action{dash}Level {level} escalation{dash}{written}{dash}"
        f"{label} {number}{dash}{intro}{date_text}"
    )
    children = tuple(f"{first} {surname}" for first in firsts)
    return subject, level, children, number, when


@settings(max_examples=300)
@given(house_style())
def test_generated_house_style_parses_back(case: tuple[str, int, tuple[str, ...], str, date]) -> None:
    subject, level, children, number, when = case
    facts = parse_subject(subject, when - timedelta(days=3))
    assert facts.is_escalation is True
    assert facts.level == level
    assert facts.level_word == "level"
    assert facts.children == children
    assert facts.case_numbers == (CaseNumber(number, "mosaic"),)
    assert facts.response_date == when


# --- real subjects from the shared corpus (read in place, never copied)

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"


def _corpus_subjects() -> list[str]:
    subjects: list[str] = []
    for path in sorted(CORPUS.rglob("*")):
        if path.is_file() and path.suffix in (".eml", ".txt", ".html"):
            text = path.read_text(encoding="utf-8", errors="replace")
            subjects.extend(m.group(1) for m in re.finditer(r"(?im)^subject:[ \t]*(.*)$", text))
    return subjects


# a reply or forward prefix at the start, as mail clients write them (RE:, Fwd:, AW:, SV:, RE[2]:)
_REPLY_OR_FORWARD = re.compile(r"(?i)\s*(?:re|fwd?|aw|wg|sv|vs|antw|rv|tr)\s*(?:\[\d+\])?\s*[:：]")


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared mail corpus (../shared/corpus) is not present")
def test_corpus_subjects_are_not_escalations() -> None:
    subjects = _corpus_subjects()
    assert subjects, "the corpus should hold some Subject: lines"
    for subject in subjects:
        facts = parse_subject(subject, RECEIVED)
        assert facts.is_escalation is False, subject
        assert facts.children == ()
        assert facts.is_reply == bool(_REPLY_OR_FORWARD.match(subject)), subject
