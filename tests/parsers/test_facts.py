"""Tests for parsers.facts: the one-line facts of a reply ("Proceedings: yes", "Meeting: ...") and the case type of
a subject line.

The linear-time cases follow tests/parsers/test_linear_time.py: no clock is read; a child process whose CPU time
the kernel limits reads each adversarial input at two sizes, eight times apart, with the module's length caps
raised, so the patterns and not the caps are what is bounded.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import facts as facts_module
from parsers.facts import (
    CHILD_PROTECTION,
    LOOKED_AFTER,
    MAX_EVIDENCE_CHARS,
    MAX_LINES,
    MAX_OUTCOME_CHARS,
    MAX_PLACE_CHARS,
    MAX_TEXT_CHARS,
    Facts,
    case_type_in_subject,
    read_facts,
)
from tests.parsers.test_linear_time import (
    CPU_SECONDS,
    EM,
    HANG_GUARD_SECONDS,
    IDEO,
    MIXED,
    NBSP,
    THIN,
    _limit_cpu,
    run_of,
)

ROOT = Path(__file__).resolve().parents[2]
RECEIVED = date(2026, 12, 1)  # a Tuesday
THU = date(2026, 12, 3)  # the next Thursday after RECEIVED
D10 = date(2026, 12, 10)  # a Thursday


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute)


# -- proceedings ------------------------------------------------------------------------------------------

PROCEEDINGS: list[tuple[str, bool | None]] = [
    ("Proceedings: yes", True),
    ("Proceedings: Yes", True),
    ("PROCEEDINGS: YES", True),
    ("proceedings: y", True),
    ("Proceedings: true", True),
    ("Proceedings: ongoing", True),
    ("Proceedings: in proceedings", True),
    ("Proceedings: Yes – ICO granted 01/12/2026", True),
    ("Proceedings: yes, care proceedings issued", True),
    ("Proceedings: Yes.", True),
    ("Proceedings - yes", True),
    ("Proceedings = yes", True),
    ("Proceedings — Yes", True),
    ("Proceedings : yes", True),
    ("Proceedings:yes", True),
    ("In proceedings: no", False),
    ("In proceedings: No", False),
    ("Care proceedings: yes", True),
    ("Care proceedings: Y", True),
    ("Court proceedings: no", False),
    ("Subject to court proceedings: yes", True),
    ("Subject to proceedings: no", False),
    ("Proceedings issued: yes", True),
    ("Proceedings: no", False),
    ("Proceedings: n", False),
    ("Proceedings: none", False),
    ("Proceedings: None.", False),
    ("Proceedings: not", False),
    ("Proceedings: Not in proceedings", False),
    ("Proceedings: not yet", False),
    ("Proceedings: false", False),
    ("Proceedings: No – PLO only", False),
    # markup, as Outlook's bold turns into text
    ("*Proceedings*: yes", True),
    ("**Proceedings:** Yes", True),
    ("**Proceedings**: **No**", False),
    ("__Proceedings__: yes", True),
    ("- Proceedings: yes", True),
    ("• Proceedings: no", False),
    # a table row, as parsers.html writes it
    ("Proceedings | Yes", True),
    ("Proceedings: | No |", False),
    ("| Proceedings | Yes |", True),
    # whitespace of every kind
    ("Proceedings:\u00a0yes", True),
    ("Proceedings\u00a0:\u00a0\u00a0Yes", True),
    (f"Care{EM}proceedings:{IDEO}yes", True),
    ("Pro\u200bceedings: yes", True),
    ("\ufeffProceedings: yes", True),
    ("Proceedings: yes\r\n", True),
    # unclear
    ("Proceedings: not known", None),
    ("Proceedings: Not sure", None),
    ("Proceedings: no idea", None),
    ("Proceedings: no decision yet", None),
    ("Proceedings: not yet confirmed", None),
    ("Proceedings: N/A", None),
    ("Proceedings: yes/no", None),
    ("Proceedings: yes?", None),
    ("Proceedings: ?", None),
    ("Proceedings: possibly", None),
    ("Proceedings: PLO", None),
    ("Proceedings: tbc", None),
    ("Proceedings: Nope", None),
    ("Proceedings: yesterday", None),
    ("Proceedings: now issued", None),
    ("Proceedings:", None),
    # not a fact line
    ("Proceedings?", None),
    ("Proceedings? yes", None),
    ("In proceedings?", None),
    ("Are there proceedings: yes", None),
    ("The care proceedings were issued on Monday.", None),
    ("We discussed whether proceedings: yes or no, would be issued.", None),
    ("Proceedings were issued yesterday: the hearing is next week.", None),
    ("Proceedingsx: yes", None),
    ("> Proceedings: yes", None),
    ("Legal proceedings-wise: yes", None),
]


@pytest.mark.parametrize(("text", "expected"), PROCEEDINGS)
def test_proceedings(text: str, expected: bool | None) -> None:
    found = read_facts(text, RECEIVED)
    assert found.proceedings is expected
    assert bool(found.evidence) is (expected is not None)


def test_proceedings_in_a_paragraph_is_not_a_fact() -> None:
    text = (
        "Hi Tom,\n\nThanks for the update. As you know the care proceedings were issued last week and the\n"
        "proceedings: hearing is listed for January, so I will wait.\n\nIra"
    )
    assert read_facts(text, RECEIVED).proceedings is None


# -- case type --------------------------------------------------------------------------------------------

CASE_TYPES: list[tuple[str, str | None]] = [
    ("Case type: CP", CHILD_PROTECTION),
    ("Case type: cp", CHILD_PROTECTION),
    ("Case type: CPP", CHILD_PROTECTION),
    ("Case type: Child protection", CHILD_PROTECTION),
    ("Case type: child protection plan", CHILD_PROTECTION),
    ("Case type: CP plan", CHILD_PROTECTION),
    ("Case type: CP – neglect", CHILD_PROTECTION),
    ("Case type: CP (category: emotional harm)", CHILD_PROTECTION),
    ("Case type: ICPC", CHILD_PROTECTION),
    ("Case type: LAC", LOOKED_AFTER),
    ("Case type: CLA", LOOKED_AFTER),
    ("Case type: CiC", LOOKED_AFTER),
    ("Case type: Looked after", LOOKED_AFTER),
    ("Case type: looked-after child", LOOKED_AFTER),
    ("Case type: Child in care", LOOKED_AFTER),
    ("Case type: Children looked after", LOOKED_AFTER),
    ("Case type: LAC (s.20)", LOOKED_AFTER),
    ("Case type: LAC.", LOOKED_AFTER),
    ("Case type - CLA", LOOKED_AFTER),
    ("Type of case: CP", CHILD_PROTECTION),
    ("*Case type*: **LAC**", LOOKED_AFTER),
    ("**Case type:** CP", CHILD_PROTECTION),
    ("Case\u00a0type:\u00a0CLA", LOOKED_AFTER),
    ("Case type | CP", CHILD_PROTECTION),
    # unclear
    ("Case type: CP and LAC", None),
    ("Case type: CP/LAC", None),
    ("Case type: LAC (was CP)", None),
    ("Case type: CP?", None),
    ("Case type: complex", None),
    ("Case type: CPx", None),
    ("Case type: CIN", None),
    ("Case type: LAC or CP", None),
    ("Case type?", None),
    ("The case type is CP.", None),
]


@pytest.mark.parametrize(("text", "expected"), CASE_TYPES)
def test_case_type(text: str, expected: str | None) -> None:
    assert read_facts(text, RECEIVED).case_type == expected


SUBJECTS: list[tuple[str, str | None]] = [
    ("Level 1 escalation – CP – J.S. (MOSAIC 123456)", CHILD_PROTECTION),
    ("RE: Level 2 escalation CPP J Smith", CHILD_PROTECTION),
    ("ICPC concern – Level 1", CHILD_PROTECTION),
    ("RCPC: plan not progressed", CHILD_PROTECTION),
    ("Child Protection escalation level 1", CHILD_PROTECTION),
    ("child protection escalation", CHILD_PROTECTION),
    ("Escalation following conference", CHILD_PROTECTION),
    ("Level 1 escalation – LAC – J.S.", LOOKED_AFTER),
    ("CLA review escalation", LOOKED_AFTER),
    ("CiC escalation level 2", LOOKED_AFTER),
    ("CIC escalation level 2", LOOKED_AFTER),
    ("Looked After Child – Level 1", LOOKED_AFTER),
    ("looked-after review", LOOKED_AFTER),
    ("Child in Care review: escalation", LOOKED_AFTER),
    ("Children in care – escalation", LOOKED_AFTER),
    ("Escalation [CP]", CHILD_PROTECTION),
    ("Escalation (LAC)", LOOKED_AFTER),
    ("Level\u00a01 escalation\u00a0–\u00a0CP", CHILD_PROTECTION),
    # neither, both, or only look-alikes
    ("Level 1 escalation J Smith", None),
    ("CP and LAC", None),
    ("CP/LAC escalation", None),
    ("LAC review conference", None),
    ("cp escalation", None),
    ("lac escalation", None),
    ("Cla escalation", None),
    ("Cp plan", None),
    ("accepted: scope of the clash", None),
    ("CPR training", None),
    ("CPA", None),
    ("LACE", None),
    ("CP12", None),
    ("Teams conference call on Friday", None),
    ("video conference", None),
    ("Video-conference link", None),
    ("conferences", None),
    ("", None),
]


@pytest.mark.parametrize(("subject", "expected"), SUBJECTS)
def test_case_type_in_subject(subject: str, expected: str | None) -> None:
    assert case_type_in_subject(subject) == expected


def test_case_type_in_subject_is_not_fooled_by_ordinary_words() -> None:
    for word in ("accepted", "except", "cpu", "clause", "scp", "plac", "clan", "acic", "lacing", "conferencing"):
        assert case_type_in_subject(f"Level 1 escalation – {word}") is None, word


def test_case_type_in_subject_takes_only_text() -> None:
    assert case_type_in_subject(None) is None  # type: ignore[arg-type]
    assert case_type_in_subject(b"CP") is None  # type: ignore[arg-type]


# -- guardian ---------------------------------------------------------------------------------------------

GILL = "gill.green@cafcass.gov.uk"
GUARDIANS: list[tuple[str, str | None]] = [
    ("Guardian: Gill Green <gill.green@cafcass.gov.uk>", GILL),
    ("Guardian: Gill Green <Gill.Green@Cafcass.gov.uk>", GILL),
    ("Guardian: gill.green@cafcass.gov.uk", GILL),
    ("Guardian - gill.green@cafcass.gov.uk.", GILL),
    ("Guardian: Gill Green (gill.green@cafcass.gov.uk)", GILL),
    ("Guardian: Gill Green [mailto:gill.green@cafcass.gov.uk]", GILL),
    ("Guardian: mailto:gill.green@cafcass.gov.uk", GILL),
    ("Guardian: Gill Green, gill.green@cafcass.gov.uk, 07700 900123", GILL),
    ("Children's guardian: Gill Green <gill.green@cafcass.gov.uk>", GILL),
    ("Children\u2019s Guardian: gill.green@cafcass.gov.uk", GILL),
    ("Child's guardian: gill.green@cafcass.gov.uk", GILL),
    ("Cafcass guardian: gill.green@cafcass.gov.uk", GILL),
    ("Guardian email: gill.green@cafcass.gov.uk", GILL),
    ("Guardian's email address: gill.green@cafcass.gov.uk", GILL),
    ("Guardian (Cafcass): gill.green@cafcass.gov.uk", GILL),
    ("**Guardian:** Gill Green <gill.green@cafcass.gov.uk>", GILL),
    ("Guardian:\u00a0Gill\u00a0Green\u00a0<gill.green@cafcass.gov.uk>", GILL),
    ("Guardian | Gill Green | gill.green@cafcass.gov.uk", GILL),
    ("Guardian: Gill Green <gill.green@cafcass.gov.uk>; gill.green@cafcass.gov.uk", GILL),
    ("Guardian: g_green+case@cafcass.gov.uk", "g_green+case@cafcass.gov.uk"),
    # no valid address, or more than one
    ("Guardian: Gill Green", None),
    ("Guardian: none appointed", None),
    ("Guardian: tbc", None),
    ("Guardian: Gill Green <gill.green@cafcass>", None),
    ("Guardian: Gill Green <gill..green@cafcass.gov.uk>", None),
    ("Guardian: Gill Green <.gill@cafcass.gov.uk>", None),
    ("Guardian: Gill Green <gill@-cafcass.gov.uk>", None),
    ("Guardian: Gill Green <gill@cafcass.gov.123>", None),
    ("Guardian: gill@green@cafcass.gov.uk", None),
    ("Guardian: @cafcass.gov.uk", None),
    ("Guardian: Gill @ Cafcass, gill.green@cafcass.gov.uk", None),
    ("Guardian: gill.green@cafcass.gov.uk or ann.other@cafcass.gov.uk", None),
    ("Guardian: gill.gr\u00e9en@cafcass.gov.uk", None),
    ("Guardian: " + "a" * 65 + "@cafcass.gov.uk", None),
    ("The guardian is gill.green@cafcass.gov.uk", None),
    ("Guardian? gill.green@cafcass.gov.uk", None),
]


@pytest.mark.parametrize(("text", "expected"), GUARDIANS)
def test_guardian(text: str, expected: str | None) -> None:
    assert read_facts(text, RECEIVED).guardian == expected


# -- meeting ----------------------------------------------------------------------------------------------

MEETINGS: list[tuple[str, datetime | None, str]] = [
    ("Meeting: 10/12/2026 14:00", at(D10, 14), ""),
    ("Meeting: 10/12/2026 at 14:00", at(D10, 14), ""),
    ("Meeting: 10.12.2026 14.30", at(D10, 14, 30), ""),
    ("Meeting: 2026-12-10 09:30", at(D10, 9, 30), ""),
    ("Meeting: 10/12/26 14:00", at(D10, 14), ""),
    ("Meeting: 14:00 10/12/2026", at(D10, 14), ""),
    ("Meeting: 14:00 on 10/12/2026", at(D10, 14), ""),
    ("Meeting: Thursday 10 December at 2pm", at(D10, 14), ""),
    ("Meeting: Thursday 10th December 2026 at 2pm", at(D10, 14), ""),
    ("Meeting: Thurs 10 Dec, 2.30pm", at(D10, 14, 30), ""),
    ("Meeting: 10 Dec 2 p.m.", at(D10, 14), ""),
    ("Meeting: 10 December 2026 at 11am", at(D10, 11), ""),
    ("Meeting: 10 Dec 10am, Teams", at(D10, 10), "Teams"),
    ("Meeting: 10 Dec 12pm", at(D10, 12), ""),
    ("Meeting: 10 Dec at noon", at(D10, 12), ""),
    ("Meeting: 10 Dec, 12 noon", at(D10, 12), ""),
    ("Meeting: 10 Dec midday", at(D10, 12), ""),
    ("Meeting: 10 Dec 1400hrs", at(D10, 14), ""),
    ("Meeting: 10 Dec 14:00hrs", at(D10, 14), ""),
    ("Meeting: 10 Dec at 2", at(D10, 14), ""),
    ("Meeting: 10 Dec at 10", at(D10, 10), ""),
    ("Meeting: 10 Dec 2 o'clock", at(D10, 14), ""),
    ("Meeting: 10 Dec at 2.30", at(D10, 14, 30), ""),
    ("Meeting: 10 Dec 09:00", at(D10, 9), ""),
    ("Meeting: 10 Dec 2pm-3pm", at(D10, 14), ""),
    ("Meeting: 10 Dec 14:00 – 15:30, Room 3", at(D10, 14), "Room 3"),
    ("Meeting: 10 Dec from 2pm to 3pm", at(D10, 14), ""),
    ("Meeting on 10 Dec 14:30, Room 3", at(D10, 14, 30), "Room 3"),
    ("Meeting on 10 Dec at 14:30 in Room 3, Guildhall", at(D10, 14, 30), "Room 3, Guildhall"),
    ("Meeting at 2pm on Thursday 10 December", at(D10, 14), ""),
    ("Meeting at 2 on Thursday", at(THU, 14), ""),
    ("Meeting: 10/12 2.30pm Room 3, Guildhall", at(D10, 14, 30), "Room 3, Guildhall"),
    ("Meeting: Thursday 10 December at 2pm, Room 3, Guildhall", at(D10, 14), "Room 3, Guildhall"),
    ("Meeting: Thursday 10 December 2026 at noon (Teams)", at(D10, 12), "Teams"),
    ("Meeting: 10 Dec 2pm at County Hall.", at(D10, 14), "County Hall"),
    ("Meeting: 10 Dec 2pm via Teams", at(D10, 14), "Teams"),
    ("Meeting: 10 Dec 2pm @ Guildhall", at(D10, 14), "Guildhall"),
    ("Meeting: 10 Dec 2pm | Room 3", at(D10, 14), "Room 3"),
    ("Meeting: 2pm-3pm on Thursday 10th, 3rd floor", at(D10, 14), "3rd floor"),
    ("Meeting is on Thursday at 2pm, as discussed", at(THU, 14), ""),
    ("Meeting: 10 Dec 2pm to review the plan", at(D10, 14), ""),
    ("Meeting: 10 Dec 2pm, about the plan", at(D10, 14), ""),
    ("Meeting: 10 Dec 2pm, Room 3 about the plan", at(D10, 14), "Room 3 about the plan"),
    ("Meeting: Thursday at 2pm", at(THU, 14), ""),
    ("Meeting: Thu 2pm", at(THU, 14), ""),
    ("Meeting: this Thursday at 2pm", at(THU, 14), ""),
    ("Meeting: Thursday the 10th at 2pm", at(D10, 14), ""),
    ("Meeting: the 10th at 14:00", at(D10, 14), ""),
    ("Meeting: Thu 10/12 @ 2pm", at(D10, 14), ""),
    ("Meeting: Tuesday 2pm", at(date(2026, 12, 8), 14), ""),  # the next Tuesday after a Tuesday
    ("Meeting: today at 3pm", at(RECEIVED, 15), ""),
    ("Meeting: tomorrow 10am", at(date(2026, 12, 2), 10), ""),
    ("Meeting: 3 Jan 10am", at(date(2027, 1, 3), 10), ""),  # no year: the next 3 January
    ("Meeting: 1 Dec 10am", at(RECEIVED, 10), ""),  # on or after the received date
    ("Meeting: 10 Dec 2025 2pm", at(date(2025, 12, 10), 14), ""),  # a year written is a year read
    ("Escalation meeting: 10/12/2026 14:00", at(D10, 14), ""),
    ("Review meeting - 10/12/2026 14:00", at(D10, 14), ""),
    ("Meeting date/time: 10/12/2026 14:00", at(D10, 14), ""),
    ("Meeting date and time: 10/12/2026 14:00", at(D10, 14), ""),
    ("Date and time of meeting: 10/12/2026 14:00", at(D10, 14), ""),
    ("Meeting arranged: Thursday 10 December at 2pm", at(D10, 14), ""),
    ("**Meeting:** Thursday 10 December at 2pm", at(D10, 14), ""),
    ("*Meeting*: 10/12/2026 14:00, *Room 3*", at(D10, 14), "*Room 3*"),
    ("Meeting\u00a0:\u00a0Thu 10 Dec\u00a0at\u00a014.30 in Room 3.", at(D10, 14, 30), "Room 3"),
    (f"Meeting:{EM}10{THIN}Dec{IDEO}at{NBSP}2pm", at(D10, 14), ""),
    ("Meeting | 10/12/2026 14:00 | Room 3", at(D10, 14), "Room 3"),
    # no time, or no day
    ("Meeting: 10/12/2026", None, ""),
    ("Meeting: Thursday 10 December", None, ""),
    ("Meeting: Thursday", None, ""),
    ("Meeting: 2pm", None, ""),
    ("Meeting: at 2pm in Room 3", None, ""),
    # unclear
    ("Meeting: next week sometime", None, ""),
    ("Meeting: next Thursday at 2pm", None, ""),
    ("Meeting: Thursday week at 2pm", None, ""),
    ("Meeting: Thursday's panel, 2pm", None, ""),
    ("Meeting: w/c 14 Dec, 2pm", None, ""),
    ("Meeting: 10 Dec 2pm TBC", None, ""),
    ("Meeting: provisionally 10 Dec 2pm", None, ""),
    ("Meeting: 10 Dec 2pm or 3pm", None, ""),
    ("Meeting: 10 or 11 Dec at 2pm", None, ""),
    ("Meeting: 10 Dec 2pm, 11 Dec 3pm", None, ""),
    ("Meeting: 10 Dec 2pm cancelled", None, ""),
    ("Meeting: around 2pm on 10 Dec", None, ""),
    ("Meeting: 10 Dec about 2pm", None, ""),
    ("Meeting: 10 Dec approx. 2pm", None, ""),
    ("Meeting: 10 Dec 2pm, Room 3 (moved from 9 Dec)", None, ""),
    ("Meeting: 10 Dec 2pm, Room 3 (Friday)", None, ""),
    ("Meeting: 10 Dec 2pm?", None, ""),
    ("Meeting: Friday 10 December 2026 at 2pm", None, ""),  # 10 December 2026 is a Thursday
    ("Meeting: 10 December (Friday) at 2pm", None, ""),
    ("Meeting: 31/11/2026 14:00", None, ""),  # impossible
    ("Meeting: 10/13/2026 14:00", None, ""),  # day-first only
    ("Meeting: 30/02 14:00", None, ""),
    ("Meeting: 10 Dec 25:00", None, ""),
    ("Meeting: 10 Dec 14:75", None, ""),
    ("Meeting: 10 Dec 13pm", None, ""),
    ("Meeting: 10 Dec 12am", None, ""),
    ("Meeting: 10 Dec at 7", None, ""),
    ("Meeting: in 2 weeks at 2pm", None, ""),
    ("Meeting: December 2026 at 2pm", None, ""),
    ("Meeting: 10 Dec 1400", None, ""),
    ("Meeting: Room 3, Thursday 2pm", None, ""),
    ("Meeting: not yet arranged", None, ""),
    ("Meeting:", None, ""),
    # not a fact line
    ("Meeting?", None, ""),
    ("Meeting on Thursday at 2pm went well and the plan was agreed.", None, ""),
    ("We had a meeting on 10 Dec at 2pm.", None, ""),
    ("The meeting: 10 Dec 2pm", None, ""),
    ("Meetings: 10 Dec 2pm", None, ""),
]


@pytest.mark.parametrize(("text", "expected", "place"), MEETINGS)
def test_meeting(text: str, expected: datetime | None, place: str) -> None:
    found = read_facts(text, RECEIVED)
    assert found.meeting_at == expected
    assert found.meeting_place == place
    if expected is not None:
        assert found.meeting_at is not None and found.meeting_at.tzinfo is None


def test_meeting_from_date_and_time_lines_and_a_venue() -> None:
    text = "Meeting date: 10/12/2026\nMeeting time: 2.30pm\nVenue: Room 3, County Hall\n"
    found = read_facts(text, RECEIVED)
    assert found.meeting_at == at(D10, 14, 30)
    assert found.meeting_place == "Room 3, County Hall"
    assert found.evidence == ("Meeting date: 10/12/2026", "Meeting time: 2.30pm", "Venue: Room 3, County Hall")


def test_meeting_date_without_a_time_line_is_not_read() -> None:
    assert read_facts("Meeting date: 10/12/2026\nVenue: Room 3", RECEIVED) == Facts()


def test_a_venue_line_does_not_replace_the_meeting_line_place() -> None:
    found = read_facts("Meeting: 10 Dec 2pm, Teams\nLocation: Room 3", RECEIVED)
    assert (found.meeting_at, found.meeting_place) == (at(D10, 14), "Teams")
    found = read_facts("Location: Room 3\nMeeting: 10 Dec 2pm", RECEIVED)
    assert (found.meeting_at, found.meeting_place) == (at(D10, 14), "Room 3")
    assert found.evidence == ("Location: Room 3", "Meeting: 10 Dec 2pm")


def test_a_place_without_a_meeting_time_is_not_kept() -> None:
    assert read_facts("Meeting: Thursday, Room 3\nVenue: Room 3", RECEIVED).meeting_place == ""


def test_a_long_place_is_cut() -> None:
    found = read_facts("Meeting: 10 Dec 2pm, " + "Room 3 " * 100, RECEIVED)
    assert found.meeting_at == at(D10, 14)
    assert 0 < len(found.meeting_place) <= MAX_PLACE_CHARS


def test_a_date_without_a_year_needs_the_received_date() -> None:
    assert read_facts("Meeting: 10 Dec 2pm", None).meeting_at is None  # type: ignore[arg-type]
    assert read_facts("Meeting: Thursday 2pm", None).meeting_at is None  # type: ignore[arg-type]
    assert read_facts("Meeting: 10/12/2026 14:00", None).meeting_at == at(D10, 14)  # type: ignore[arg-type]


def test_received_may_be_a_datetime() -> None:
    assert read_facts("Meeting: Thursday 2pm", datetime(2026, 12, 1, 9, 30)).meeting_at == at(THU, 14)


# -- outcome ----------------------------------------------------------------------------------------------

OUTCOMES: list[tuple[str, str]] = [
    ("Outcome: plan agreed", "plan agreed"),
    (
        "Outcome: plan agreed\nSW to update the plan by Friday\n\nKind regards\nIra",
        "plan agreed\nSW to update the plan by Friday",
    ),
    ("Outcome - placement to continue; review in March", "placement to continue; review in March"),
    ("Minutes: attached", "attached"),
    ("Minutes:\n\n1. Plan agreed.\n2. SW to visit weekly.\n\nThanks", "1. Plan agreed.\n2. SW to visit weekly."),
    ("Minutes:\n1. Plan agreed.\nThanks,\nIra", "1. Plan agreed."),
    ("Outcome: agreed\nKind regards,\nIra Reviewer", "agreed"),
    ("Outcome: agreed\nSent from my iPhone", "agreed"),
    ("Outcome: agreed\n-- \nIra", "agreed"),
    ("Outcome: agreed\n> quoted", "agreed"),
    ("Outcome: agreed\nProceedings: no\nplan signed off", "agreed"),
    ("Meeting outcome: contact to increase", "contact to increase"),
    ("Outcome of the meeting: contact to increase", "contact to increase"),
    ("Minutes of meeting: contact to increase", "contact to increase"),
    ("**Outcome:** agreed – plan to be updated?", "agreed – plan to be updated?"),
    ("Outcome:\u00a0plan\u00a0agreed", "plan agreed"),
    ("Outcome | plan agreed", "plan agreed"),
    ("Outcome:", ""),
    ("Outcome:\n\nKind regards", ""),
    ("Outcome?", ""),
    ("The outcome: nothing yet.", ""),
]


@pytest.mark.parametrize(("text", "expected"), OUTCOMES)
def test_outcome(text: str, expected: str) -> None:
    assert read_facts(text, RECEIVED).outcome == expected


def test_a_long_outcome_is_cut() -> None:
    text = "Outcome: " + "\n".join(f"point {i}: the plan was discussed at length" for i in range(200))
    found = read_facts(text, RECEIVED)
    assert found.outcome.startswith("point 0: the plan")
    assert len(found.outcome) <= MAX_OUTCOME_CHARS


def test_outcome_and_the_facts_around_it() -> None:
    text = (
        "Hi all,\n\n"
        "Proceedings: no\n"
        "Case type: LAC\n"
        "Outcome: plan agreed at the meeting\n"
        "SW to update the plan by 18/12\n"
        "Guardian: n/a\n"
        "\n"
        "Kind regards\n"
        "Ira Reviewer\n"
        "Independent Reviewing Officer\n"
    )
    found = read_facts(text, RECEIVED)
    assert found == Facts(
        proceedings=False,
        case_type=LOOKED_AFTER,
        outcome="plan agreed at the meeting\nSW to update the plan by 18/12",
        evidence=("Proceedings: no", "Case type: LAC", "Outcome: plan agreed at the meeting"),
    )


# -- whole replies ----------------------------------------------------------------------------------------


def test_an_outlook_reply() -> None:
    text = (
        "Hi Tom,\r\n"
        "\r\n"
        "Thank you for meeting with me. For the record:\r\n"
        "\r\n"
        "**Proceedings:**\u00a0Yes\r\n"
        "**Case type:**\u00a0CLA\r\n"
        "**Guardian:**\u00a0Gill Green <Gill.Green@cafcass.gov.uk>\r\n"
        "**Meeting:**\u00a0Thursday 10 December at 2pm, Room 3, Guildhall\r\n"
        "\r\n"
        "Kind regards\r\n"
        "\r\n"
        "Ira Reviewer\r\n"
        "Independent Reviewing Officer | Tel: 01305 224000\r\n"
    )
    assert read_facts(text, RECEIVED) == Facts(
        proceedings=True,
        case_type=LOOKED_AFTER,
        guardian=GILL,
        meeting_at=at(D10, 14),
        meeting_place="Room 3, Guildhall",
        evidence=(
            "**Proceedings:** Yes",
            "**Case type:** CLA",
            "**Guardian:** Gill Green <Gill.Green@cafcass.gov.uk>",
            "**Meeting:** Thursday 10 December at 2pm, Room 3, Guildhall",
        ),
    )


def test_a_reply_of_sentences_has_no_facts() -> None:
    text = (
        "Dear Tom,\n\n"
        "I have reviewed the case. Proceedings are ongoing and the guardian (gill.green@cafcass.gov.uk) agrees.\n"
        "The meeting on Thursday 10 December at 2pm will go ahead. The outcome: we will see.\n"
        "Case type is CP.\n\nKind regards\nIra"
    )
    assert read_facts(text, RECEIVED) == Facts()


def test_the_first_line_of_each_label_wins() -> None:
    found = read_facts("Proceedings: no\nProceedings: yes\nIn proceedings: yes", RECEIVED)
    assert found.proceedings is False
    assert found.evidence == ("Proceedings: no",)
    # even when the first is unclear: two lines that disagree are for a person to read
    assert read_facts("Proceedings: not known\nProceedings: yes", RECEIVED).proceedings is None
    assert read_facts("Meeting: next week\nMeeting: 10 Dec 2pm", RECEIVED).meeting_at is None
    assert read_facts("Case type: CP\nCase type: LAC", RECEIVED).case_type == CHILD_PROTECTION
    found = read_facts("Guardian: a@cafcass.gov.uk\nChildren's guardian: b@cafcass.gov.uk", RECEIVED)
    assert found.guardian == "a@cafcass.gov.uk"


def test_only_the_first_lines_are_read() -> None:
    filler = "".join(f"line {i}\n" for i in range(MAX_LINES - 1))
    assert read_facts(filler + "Proceedings: yes", RECEIVED).proceedings is True
    assert read_facts(filler + "more\nProceedings: yes", RECEIVED).proceedings is None
    # blank lines are not counted
    assert read_facts("\n\n" * 200 + "Proceedings: yes", RECEIVED).proceedings is True


def test_only_the_first_characters_are_read() -> None:
    padding = "x" * (MAX_TEXT_CHARS - 5) + "\n"
    assert read_facts(padding + "Proceedings: yes", RECEIVED).proceedings is None
    assert read_facts("x" * 100 + "\nProceedings: yes", RECEIVED).proceedings is True


def test_evidence_is_short() -> None:
    line = "Outcome: " + "word " * 200
    found = read_facts(line, RECEIVED)
    assert found.outcome
    assert len(found.evidence) == 1
    assert len(found.evidence[0]) <= MAX_EVIDENCE_CHARS
    assert found.evidence[0].endswith("…")


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "Hello", None, 42, b"Proceedings: yes"])
def test_nothing_to_read(text: Any) -> None:
    assert read_facts(text, RECEIVED) == Facts()


def test_read_facts_never_raises_on_a_broken_received() -> None:
    assert read_facts("Proceedings: yes\nMeeting: Thursday 2pm", "not a date").proceedings is True  # type: ignore[arg-type]
    assert read_facts("Meeting: 10 Dec 2pm", date.max).meeting_at is None
    assert read_facts("Meeting: Thursday 2pm", date.max).meeting_at is None
    assert read_facts("Meeting: 10/12 2pm", date.max).meeting_at is None


# -- properties -------------------------------------------------------------------------------------------

_WORDS = [
    "Proceedings", "In proceedings", "Case type", "Guardian", "Meeting", "Meeting on", "Meeting date", "Meeting time",
    "Venue", "Outcome", "Minutes", ":", " - ", " = ", " | ", "*", "**", "yes", "no", "not", "known", "CP", "LAC",
    "CiC", "gill.green@cafcass.gov.uk", "<", ">", "@", "10/12/2026", "10 Dec", "Thursday", "next", "at", "2pm",
    "14:00", "2.30", "noon", "Room 3", ",", "?", "\n", "\n\n", "\r\n", "Kind regards", "\u00a0", EM, IDEO, "\u200b",
    "1", "31/11/2026", "12am", "o'clock", "(", ")",
]  # fmt: skip
_FACTISH = st.lists(st.sampled_from(_WORDS), max_size=40).map(" ".join)
_TEXT = st.one_of(st.text(max_size=400), _FACTISH, st.lists(st.sampled_from(_WORDS), max_size=40).map("".join))
_NOT_A_LINE_BREAK_SPACE = re.compile(r"[^\S\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")


def _well_formed(found: Facts) -> None:
    assert found.proceedings in (True, False, None)
    assert found.case_type in (CHILD_PROTECTION, LOOKED_AFTER, None)
    assert found.guardian is None or (found.guardian == found.guardian.lower() and found.guardian.count("@") == 1)
    assert found.meeting_at is None or found.meeting_at.tzinfo is None
    assert len(found.meeting_place) <= MAX_PLACE_CHARS
    assert found.meeting_at is not None or not found.meeting_place
    assert len(found.outcome) <= MAX_OUTCOME_CHARS
    assert all(0 < len(line) <= MAX_EVIDENCE_CHARS for line in found.evidence)
    assert len(found.evidence) <= MAX_LINES


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXT, received=st.dates())
def test_read_facts_never_raises(text: str, received: date) -> None:
    _well_formed(read_facts(text, received))


@settings(max_examples=200, deadline=None)
@given(text=_FACTISH)
def test_whitespace_runs_read_as_one_space(text: str) -> None:
    collapsed = _NOT_A_LINE_BREAK_SPACE.sub(" ", text)
    assert read_facts(text, RECEIVED) == read_facts(collapsed, RECEIVED)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_case_type_in_subject_never_raises(text: str) -> None:
    assert case_type_in_subject(text) in (CHILD_PROTECTION, LOOKED_AFTER, None)


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.characters(whitelist_categories=("Ll", "Zs", "Nd", "Po")), max_size=200))
def test_lower_case_abbreviations_never_count(text: str) -> None:
    """Lower-case text that holds no long form ("child protection", "looked after", ...) has no case type."""
    long_forms = ("child protection", "conference", "looked after", "looked-after", "in care")
    if not any(form in " ".join(text.split()) for form in long_forms):
        assert case_type_in_subject(text) is None


@settings(max_examples=100, deadline=None)
@given(
    day=st.dates(min_value=date(2026, 12, 1), max_value=date(2099, 12, 31)),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    place=st.sampled_from(["", "Room 3", "Teams", "County Hall, Dorchester"]),
)
def test_a_written_date_and_time_is_read_back(day: date, hour: int, minute: int, place: str) -> None:
    line = f"Meeting: {day:%d/%m/%Y} {hour:02d}:{minute:02d}" + (f", {place}" if place else "")
    found = read_facts(line, RECEIVED)
    assert found.meeting_at == datetime(day.year, day.month, day.day, hour, minute)
    assert found.meeting_place == place


# -- linear time ------------------------------------------------------------------------------------------
# As in tests/parsers/test_linear_time.py: child processes, each with its CPU limited by the kernel (CPU_SECONDS),
# read each input at SIZES with the caps below raised. Linear work at the larger size takes a fraction of a second
# per child; quadratic work there is 64 times the smaller size's and far beyond the limit. The cases are spread
# over CHILDREN processes (every sixth case to each) so that each child's linear work stays well under its limit.

SIZES = (25_000, 200_000)
CHILDREN = 6
CAPS = (
    ("parsers.facts", "MAX_TEXT_CHARS"),
    ("parsers.facts", "MAX_LINES"),
    ("parsers.facts", "MAX_OUTCOME_CHARS"),
    ("parsers.facts", "_MAX_MEETING_VALUE"),
    ("parsers.facts", "_MAX_GUARDIAN_VALUE"),
    ("parsers.facts", "MAX_SUBJECT_CHARS"),
    ("parsers.dates", "MAX_TEXT_CHARS"),
)


def _facts(text: str) -> Any:
    found = read_facts(text, RECEIVED)
    when = found.meeting_at.isoformat() if found.meeting_at else None
    return [found.proceedings, found.case_type, found.guardian, when, found.meeting_place[:20], found.outcome[:20]]


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[int], str]
    read: Callable[[str], Any]
    expected: Any


NONE = [None, None, None, None, "", ""]

LINEAR_CASES: tuple[Case, ...] = (
    Case("'Meeting: 1' repeated on one line", lambda n: run_of("Meeting: 1", n), _facts, NONE),
    Case("'Meeting: 1' lines", lambda n: run_of("Meeting: 1\n", n), _facts, NONE),
    Case("': : :'", lambda n: run_of(": ", n), _facts, NONE),
    Case("'Meeting: : : :'", lambda n: "Meeting" + run_of(": ", n), _facts, NONE),
    Case("markup then a label", lambda n: "*" * n + "Proceedings: yes", _facts, [True, None, None, None, "", ""]),
    Case("a label then markup", lambda n: "Proceedings" + "*" * n + ": yes", _facts, [True, None, None, None, "", ""]),
    Case(
        "a label then spaces",
        lambda n: "Proceedings" + run_of(MIXED, n) + ": yes",
        _facts,
        [True, None, None, None, "", ""],
    ),
    Case("'Proceedings (' repeated", lambda n: "Proceedings " + run_of("(", n) + ": yes", _facts, NONE),
    Case("yes then spaces", lambda n: "Proceedings: yes" + EM * n + "known", _facts, NONE),
    Case(
        "'Meeting: Thursday at at at ... 2pm'",
        lambda n: "Meeting: Thursday" + " at" * (n // 3) + " 2pm",
        _facts,
        [None, None, None, "2026-12-03T14:00:00", "", ""],
    ),
    Case("'Meeting: 10 Dec' repeated", lambda n: "Meeting: " + run_of("10 Dec ", n), _facts, NONE),
    Case("'Meeting:' then digits", lambda n: "Meeting: " + "1" * n, _facts, NONE),
    Case("'Meeting:' then '12:'", lambda n: "Meeting: " + run_of("12:", n), _facts, NONE),
    Case("'Meeting:' then '1.'", lambda n: "Meeting: " + run_of("1.", n), _facts, NONE),
    Case(
        "'Meeting:' then commas",
        lambda n: "Meeting: " + run_of(", ", n) + "10 Dec 2pm",
        _facts,
        [None, None, None, "2026-12-10T14:00:00", "", ""],
    ),
    Case(
        "a meeting with spaces between its words",
        lambda n: "Meeting:" + EM * n + "10" + IDEO * n + "Dec" + THIN * n + "at" + NBSP * n + "2pm",
        _facts,
        [None, None, None, "2026-12-10T14:00:00", "", ""],
    ),
    Case(
        "a long place",
        lambda n: "Meeting: 10 Dec 2pm, " + run_of("Room 3 ", n),
        _facts,
        [None, None, None, "2026-12-10T14:00:00", "Room 3 Room 3 Room 3", ""],
    ),
    Case(
        "a place of hedges' look-alikes",
        lambda n: "Meeting: 10 Dec 2pm, " + run_of("Floor Ishmael ", n),
        _facts,
        [None, None, None, "2026-12-10T14:00:00", "Floor Ishmael Floor ", ""],
    ),
    Case(
        "a place of leading words",
        lambda n: "Meeting: 10 Dec 2pm" + " at in via on" * (n // 13),
        _facts,
        [None, None, None, "2026-12-10T14:00:00", "", ""],
    ),
    Case("guardian: dots", lambda n: "Guardian: " + run_of("a.", n) + "@cafcass.gov.uk", _facts, NONE),
    Case("guardian: at signs", lambda n: "Guardian: " + "@" * n, _facts, NONE),
    Case("guardian: a long domain", lambda n: "Guardian: g@" + run_of("a-", n) + "b.uk", _facts, NONE),
    Case(
        "case type: remarks",
        lambda n: "Case type: CP" + run_of(" (", n),
        _facts,
        [None, CHILD_PROTECTION, None, None, "", ""],
    ),
    Case("case type: child child child", lambda n: "Case type: " + run_of("child ", n), _facts, NONE),
    Case(
        "outcome lines",
        lambda n: "Outcome: x\n" + run_of("y\n", n),
        _facts,
        [None, None, None, None, "", ("x\n" + "y\n" * 10)[:20]],
    ),
    Case(
        "outcome: 'On ... ' lines",
        lambda n: "Outcome: x\n" + "On " + run_of("on ", n),
        _facts,
        [None, None, None, None, "", ("x\nOn " + "on " * 10)[:20]],
    ),
    Case("subject: C runs", lambda n: "C" * n, case_type_in_subject, None),
    Case("subject: 'video ' then conference", lambda n: run_of("video ", n) + "conference", case_type_in_subject, None),
    Case("subject: looked <spaces> after", lambda n: "looked" + EM * n + "after", case_type_in_subject, LOOKED_AFTER),
    Case("subject: child in care repeated", lambda n: run_of("child in ", n), case_type_in_subject, None),
)


def _raise_caps() -> None:
    for module, name in CAPS:
        loaded = importlib.import_module(module)
        assert isinstance(getattr(loaded, name), int), (module, name)
        setattr(loaded, name, 10**9)


def child_main(child: int) -> None:
    """Run in a child process: read every CHILDREN-th case from ``child`` at both sizes; print the results as JSON."""
    _limit_cpu()
    _raise_caps()
    cases = LINEAR_CASES[child::CHILDREN]
    print(json.dumps({case.name: [case.read(case.build(size)) for size in SIZES] for case in cases}))


@pytest.fixture(scope="module")
def linear_results() -> dict[str, Any]:
    """Every case's results, from the children started together (their CPU limits are per process)."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    started = [
        subprocess.Popen(
            [sys.executable, "-c", f"from tests.parsers.test_facts import child_main; child_main({child})"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for child in range(CHILDREN)
    ]  # fmt: skip
    finished: list[tuple[int, str, str, bool]] = []
    for process in started:
        try:
            out, err = process.communicate(timeout=HANG_GUARD_SECONDS)
            finished.append((process.returncode, out, err, False))
        except subprocess.TimeoutExpired:  # pragma: no cover - only a child that blocks without using CPU
            process.kill()
            out, err = process.communicate()
            finished.append((process.returncode, out, err, True))
    results: dict[str, Any] = {}
    for child, (code, out, err, hung) in enumerate(finished):
        assert not hung, f"child {child}: blocked for {HANG_GUARD_SECONDS} s without using its CPU"
        if code in (-signal.SIGXCPU, -signal.SIGKILL):
            name = signal.Signals(-code).name
            pytest.fail(f"child {child}: stopped by the kernel ({name}) at its limit of {CPU_SECONDS} s of CPU")
        assert code == 0, f"child {child} exited with {code}\n{err[-4000:]}"
        results.update(json.loads(out))
    return results


@pytest.mark.parametrize("case", LINEAR_CASES, ids=[case.name for case in LINEAR_CASES])
def test_adversarial_input_is_read_in_linear_time(linear_results: dict[str, Any], case: Case) -> None:
    assert linear_results[case.name] == [case.expected] * len(SIZES)


def test_each_linear_case_is_named_once() -> None:
    assert len({case.name for case in LINEAR_CASES}) == len(LINEAR_CASES)


def test_the_caps_raised_are_the_module_s() -> None:
    for module, name in CAPS:
        assert isinstance(getattr(importlib.import_module(module), name), int), (module, name)
    assert facts_module.MAX_TEXT_CHARS == MAX_TEXT_CHARS


@pytest.mark.parametrize(
    "text",
    [run_of("Meeting: 1", 200_000), run_of(": : :", 200_000), run_of("Meeting: 1\n", 200_000),
     run_of("Proceedings: " + EM, 200_000), "Outcome: x\n" + run_of("y\n", 200_000)],
    ids=["meeting-1", "colons", "meeting-lines", "proceedings-em", "outcome-lines"],
)  # fmt: skip
def test_long_input_at_the_usual_caps(text: str) -> None:
    """200,000 characters of repeats, with the caps as they are: read (the first 20,000 characters only)."""
    _well_formed(read_facts(text, RECEIVED))
