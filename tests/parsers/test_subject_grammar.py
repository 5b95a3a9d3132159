"""Tests for parsers.subject: an escalation from talk about escalations, each council's wording, deadlines.

Issue 13: "Weekly IRO team update - escalations open at Level 2" opened a record for a child called "Weekly". An
escalation subject has the house shape (a marker and a child or a case number where the house style puts them); a
newsletter, training, a team update, figures, an agenda, minutes or an out-of-office does not, so it parses as "not
an escalation" and the ingest files it unmatched.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.subject import CaseNumber, parse_subject

RECEIVED = date(2026, 12, 1)  # a Tuesday
JANE = ("Jane Doe",)

# --- talk about escalations never opens a record

NOT_ESCALATIONS = [
    # the issue's own
    "Weekly IRO team update - escalations open at Level 2",
    "RE: Level 1 escalation training slides",
    "Level 2 escalations – monthly figures",
    # team updates, newsletters, figures
    "Level 2 Escalations – Monthly Figures",
    "LEVEL 2 ESCALATIONS - MONTHLY FIGURES",
    "level 2 escalations - monthly figures",
    "IRO Newsletter - December 2026 - Level 1 and Level 2 escalations",
    "Q3 escalation figures 2026/27 - Level 1 to Level 4",
    "Level 2 escalation numbers up 20% this quarter",
    "Level 1 escalations in November",
    "Level 1 escalation response rates",
    "Escalations - Level 1 - Team Manager responses",
    "Stage 2 escalations overdue - performance dashboard",
    "Level 1 and 2 escalations - themes for SLT",
    "Reflections From The Frontline - Level 2 Escalations",
    "Challenge and Escalation monthly report - November 2026",
    "Quality Alert tracker - weekly update",
    "Quality Alerts - Weekly Tracker",
    "Quality Alert themes - quarterly report to the partnership",
    "IRO escalation figures for Ofsted",
    "Level 2 escalation audit results",
    "Level 2 escalations - Summer 2026",
    # training
    "Training: Level 1 escalation - how to write a good one",
    "Level 1 Escalation Training Slides",
    "RE: Level 1 escalation training - Tuesday 3pm",
    "Level 1 escalation training - Jane Smith (trainer)",
    "Problem Resolution Procedure - refresher training for IROs",
    "Informal escalation guidance for new starters",
    "Formal Challenge process - launch webinar",
    "Level 1 training session for new IROs",
    # policy, procedure, templates
    "Escalation policy review",
    "Escalation Policy Review - draft v3 for comment",
    "FW: Dispute Resolution and Escalation Procedure - Version 8",
    "IRO Handbook chapter 6 - dispute resolution",
    "Level 2 Escalation Process Flowchart",
    "Level 2 escalation template (updated)",
    "Updated Resolution and Escalation form on Eclipse",
    "All Level 1 escalations - new template from Monday",
    "Reminder: Level 3 escalations need Head of Service sign off",
    "Level 3 escalations: Head of Service cover over Christmas",
    # agendas, minutes, meetings, calendar
    "Agenda - IRO team meeting 09/12/2026 - item 4: Level 2 escalations",
    "Minutes of IRO service meeting - escalations at Level 3",
    "Escalations at Level 4 - report to DCS",
    "Dispute Resolution Meeting - room booking",
    "Accepted: Level 2 escalations - monthly catch up",
    "Canceled: IRO escalation workshop",
    "Invitation: Stage 1 escalation workshop @ Tue 8 Dec 2026 10am - 11am (GMT)",
    "Escalation data for Level 1 - please check by Friday",
    "RE: FW: Level 1 escalations - what counts as drift?",
    # out of office
    "Out of Office: Level 2 escalations – monthly figures",
    "Automatic reply: IRO team update",
    "Automatic reply: Level 1 escalation training slides",
    "Out of office - back Monday 7th - Level 2 cover",
    "Informal catch-up re Level 2 escalations",
    # not escalations before this issue either
    "Stage 2 of the assessment",
    "Level 1 - Jane Doe",
    "Escalation - Jane Doe",
    "Team meeting 09/12/2026",
]


def test_the_table_is_large_enough() -> None:
    assert len(NOT_ESCALATIONS) >= 30


@pytest.mark.parametrize("subject", NOT_ESCALATIONS)
def test_talk_about_escalations_is_not_an_escalation(subject: str) -> None:
    facts = parse_subject(subject, RECEIVED)
    assert facts.is_escalation is False
    assert facts.children == ()
    assert (facts.kind, facts.wording) == (None, None)


def test_a_level_is_still_read_from_talk() -> None:
    # the facts of a subject are read whatever it is; only the verdict and the children change
    facts = parse_subject("Weekly IRO team update - escalations open at Level 2", RECEIVED)
    assert (facts.level, facts.level_word) == (2, "level")


def test_a_year_is_not_a_case_number_that_makes_talk_an_escalation() -> None:
    facts = parse_subject("Level 2 escalations - Summer 2026", RECEIVED)
    assert facts.case_numbers == (CaseNumber("2026", None),)  # still listed, as before
    assert facts.is_escalation is False


# The grammar of talk: "<words> Level N <words>", words that are never a child nor a case, in any case style,
# separators or none, a reply or forward prefix, a date or a deadline.
TALK_WORDS = [
    "weekly", "monthly", "quarterly", "annual", "team", "update", "updates", "IRO", "IROs", "service", "newsletter",
    "bulletin", "training", "slides", "session", "course", "workshop", "webinar", "briefing", "refresher",
    "induction", "figures", "stats", "data", "numbers", "report", "dashboard", "tracker", "performance", "trends",
    "themes", "learning", "lessons", "audit", "agenda", "minutes", "meeting", "meetings", "policy", "procedure",
    "guidance", "process", "template", "form", "flowchart", "review", "draft", "version", "consultation",
    "feedback", "survey", "summary", "overview", "reminder", "invitation", "notes", "actions", "all", "staff",
    "managers", "open", "closed", "overdue", "new", "latest", "escalations", "escalation", "the", "for", "at",
    "on", "in", "of", "to", "and", "with", "from", "about", "re", "our", "this", "next", "last", "week", "month",
    "quarter", "year", "Q3", "Ofsted", "SLT", "DCS", "Head of Service", "team manager", "care plans", "drift",
    "delay", "timescales", "compliance", "what", "counts", "as", "how", "we", "are", "doing", "out of office",
    "automatic", "reply", "cover", "holiday", "Christmas", "please", "read", "FYI", "important", "urgent", "action",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", " - ", " – ", ": ", ", ", " | ", " / "]
LEVEL_FORMS = [
    "Level {n}", "level {n}", "Stage {n}", "Level {n} escalation", "Level {n} escalations", "Stage {n} escalations",
    "escalations at Level {n}", "L{n}", "Level {w}", "Stage {w}", "{o} stage", "Level {n} and Level {m}",
]  # fmt: skip
NUMBER_WORDS = ["one", "two", "three", "four", "five"]
ORDINALS = ["first", "second", "third", "fourth", "fifth"]
TAILS = ["", " 2026", " 2026/27", " - 09/12/2026", " - by Friday", " - by the 9th", " (Dec 2026)", " - 20%"]


@st.composite
def talk(draw: st.DrawFn) -> str:
    def words(most: int) -> str:
        chosen = draw(st.lists(st.sampled_from(TALK_WORDS), max_size=most))
        out = ""
        for word in chosen:
            out += (draw(st.sampled_from(SEPARATORS)) if out else "") + word
        return out

    n = draw(st.integers(0, 5))
    level = draw(st.sampled_from(LEVEL_FORMS)).format(
        n=n, m=min(n + 1, 5), w=NUMBER_WORDS[max(n, 1) - 1], o=ORDINALS[max(n, 1) - 1]
    )
    before, after = words(5), words(6)
    text = before + (draw(st.sampled_from(SEPARATORS)) if before else "") + level
    text += (draw(st.sampled_from(SEPARATORS)) if after else "") + after + draw(st.sampled_from(TAILS))
    style = draw(st.sampled_from(["as is", "title", "upper", "lower"]))
    text = {"as is": text, "title": text.title(), "upper": text.upper(), "lower": text.lower()}[style]
    return draw(st.sampled_from(["", "RE: ", "FW: ", "RE: FW: ", "Automatic reply: ", "Accepted: "])) + text


@settings(max_examples=1500, deadline=None)
@given(talk())
def test_no_sentence_of_talk_around_a_level_is_an_escalation(subject: str) -> None:
    facts = parse_subject(subject, RECEIVED)
    assert facts.is_escalation is False, subject
    assert facts.children == ()


# Words no list knows: a capitalised one next to words of talk (the "Weekly" of "Weekly IRO team update"), a lower
# case one in a subject that capitalises. Neither stands where a child's name does, so the vocabulary is not what
# keeps these out.
GLUE = ["IRO", "team", "update", "figures", "training", "service", "at", "of", "the", "to", "on", "with", "open"]
STRANGERS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=9)


@st.composite
def talk_with_strangers(draw: st.DrawFn) -> str:
    capitalised = draw(STRANGERS).capitalize()
    lower = draw(STRANGERS)
    glue = draw(st.lists(st.sampled_from(GLUE), min_size=1, max_size=3))
    level = draw(st.sampled_from(["Level", "Stage"])) + f" {draw(st.integers(1, 5))}"
    marker = draw(st.sampled_from([f"{level} escalations", f"escalations open at {level}", f"{level} escalation",
                                   f"Action - {level} escalation", f"Formal Challenge {level}"]))
    tail = draw(st.lists(st.sampled_from(GLUE), max_size=3))
    sep = draw(st.sampled_from([" - ", ": ", " | ", " "]))
    shape = draw(st.integers(0, 2))
    if shape == 0:  # "Weekly IRO team update - escalations open at Level 2"
        return f"{capitalised} {' '.join(glue)}{sep}{marker}"
    if shape == 1:  # "Level 1 escalation training slides" with a word nobody listed
        return f"{marker} {' '.join(tail)} {lower}".replace("  ", " ")
    return f"{marker}{sep}{' '.join(glue)} {capitalised}{sep}{lower} {' '.join(tail)}".strip()


@settings(max_examples=1000, deadline=None)
@given(talk_with_strangers())
def test_unknown_words_beside_talk_are_not_children(subject: str) -> None:
    facts = parse_subject(subject, RECEIVED)
    assert facts.is_escalation is False, subject


@settings(max_examples=300, deadline=None)
@given(talk(), st.sampled_from(["Jane Doe", "Sam and Alex Jones", "Aisha Okafor"]))
def test_talk_with_a_case_number_or_a_child_in_its_slot_is_an_escalation(subject: str, child: str) -> None:
    # the same property's other side: the house shape wins over the words around it
    facts = parse_subject(f"Action - Level 1 escalation - {child} - MOSAIC 123456 - {subject}", RECEIVED)
    assert facts.is_escalation is True
    assert facts.case_numbers[0] == CaseNumber("123456", "mosaic")


# --- an escalation without a case number: the child stands in the house style's place


@pytest.mark.parametrize(
    ("subject", "children"),
    [
        ("Action - Level 2 escalation - Jane Doe - response by Monday", JANE),
        ("Action - Level 1 escalation - Sam and Alex Jones - resp by Fri", ("Sam Jones", "Alex Jones")),
        ("Level 1 escalation re Jane Doe", JANE),
        ("Level 2 escalation for Jane Doe", JANE),
        ("Level 2 Escalation For Jane Doe", JANE),
        ("Level 1 escalation: Jane Doe", JANE),
        ("Level 1 escalation Jane Doe", JANE),
        ("Jane Doe - Level 1 escalation - response by 12/12", JANE),
        ("Jane Doe Level 1 escalation", JANE),
        ("Level 1 escalation - Jane Doe's care plan", JANE),
        ("Level 1 escalation - Amy, Beth and Cara Khan - by the 10th", ("Amy Khan", "Beth Khan", "Cara Khan")),
        ("ACTION - LEVEL 1 ESCALATION - JANE DOE - RESPONSE BY MONDAY", ("JANE DOE",)),
        ("action - level 1 escalation - jane doe - response by monday", ("jane doe",)),
        ("Formal Challenge - Jane Doe", JANE),
        ("Quality Alert - Jane Doe", JANE),
        ("Problem Resolution - Jane Doe", JANE),
        ("IRO escalation - Jane Doe", JANE),
        ("Level 1 escalation - JD", ("JD",)),
    ],
)
def test_a_child_in_the_house_place_is_enough(subject: str, children: tuple[str, ...]) -> None:
    facts = parse_subject(subject, RECEIVED)
    assert facts.is_escalation is True
    assert facts.children == children
    assert facts.case_numbers == ()
    assert "no case number found in the subject" in facts.warnings


@pytest.mark.parametrize(
    "subject",
    [
        "Level 1 escalation - Jane Doe placement",  # a name followed by other words: no slot of its own
        "Level 1 escalation for jane doe",  # lower case in a subject that capitalises: not written as a name
        "Level 1 - Jane Doe",  # a number alone needs a case number
        "Escalation - Jane Doe",  # the word alone needs a case number
        "Level 1 escalation training - Jane Smith (trainer)",  # a name beside talk: the trainer
    ],
)
def test_without_a_case_number_a_name_must_stand_in_its_place(subject: str) -> None:
    assert parse_subject(subject, RECEIVED).is_escalation is False


# --- each council's wording (rules/presets.py and ../shared/seeds)

ECLIPSE = (CaseNumber("1234567", "eclipse"),)
LCS = (CaseNumber("123456", "liquidlogic"),)
MOSAIC = (CaseNumber("123456", "mosaic"),)
BARE = (CaseNumber("123456", None),)

# (subject, kind, wording, level, level_word, cases)
WORDINGS: list[tuple[str, str, str, int | None, str | None, tuple[CaseNumber, ...]]] = [
    # Dorset (QARO): "Action - Level 1 (or 2) escalation", an informal step first
    ("Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 05/12/2026", "formal", "action", 1,
     "level", MOSAIC),
    ("Action - Level 2 escalation - Jane Doe - MOSAIC 123456", "formal", "action", 2, "level", MOSAIC),
    ("Informal escalation - Jane Doe - MOSAIC 123456", "informal", "informal", None, None, MOSAIC),
    ("Informal - Jane Doe - MOSAIC 123456", "informal", "informal", None, None, MOSAIC),
    ("Level 0 - Jane Doe - Mosaic 123456", "informal", "level", None, None, MOSAIC),
    # Hull: Level 1 to 4, LiquidLogic, "IRO escalation", "representation"
    ("IRO Escalation - Level 1 (Team Manager) - Jane Doe - LCS 123456", "formal", "level", 1, "level", LCS),
    ("Representation - Level 2 - Jane Doe - LCS 123456", "formal", "level", 2, "level", LCS),
    ("IRO escalation - Jane Doe - LCS 123456", "formal", "escalation", None, None, LCS),
    # Birmingham: Stage One to Four, "Dispute Resolution and Escalation", "Resolution and Escalation" form, Eclipse
    ("Stage 1 - Jane Doe - Eclipse 1234567 - response by 15/12/2026", "formal", "stage", 1, "stage", ECLIPSE),
    ("Stage One escalation - Jane Doe - Eclipse 1234567", "formal", "stage", 1, "stage", ECLIPSE),
    ("Resolution and Escalation - Stage 2 - Jane Doe - Eclipse 1234567", "formal", "resolution_and_escalation", 2,
     "stage", ECLIPSE),
    ("Dispute Resolution and Escalation - Stage Three - Jane Doe - Eclipse 1234567", "formal",
     "resolution_and_escalation", 3, "stage", ECLIPSE),
    ("Dispute Resolution Meeting - Jane Doe - Eclipse 1234567", "meeting", "dispute_resolution", None, None,
     ECLIPSE),
    ("Informal Resolution - Jane Doe - Eclipse 1234567", "informal", "informal", None, None, ECLIPSE),
    # Rotherham: Quality Alerts (the informal stage), then a formal Challenge
    ("Quality Alert - Jane Doe - LCS 123456", "quality_alert", "quality_alert", None, None, LCS),
    ("Level 1 - Quality Alert - Jane Doe - Mosaic 123456", "quality_alert", "quality_alert", 1, "level", MOSAIC),
    ("Formal Challenge - Jane Doe - LCS 123456", "formal", "formal_challenge", None, None, LCS),
    ("Formal Challenge - Stage 1 - Jane Doe - LCS 123456", "formal", "formal_challenge", 1, "stage", LCS),
    ("Challenge and Escalation - Stage 2 - Jane Doe - 123456", "formal", "formal_challenge", 2, "stage", BARE),
    ("IRO Challenge - Stage 1 - Jane Doe - Eclipse 1234567", "formal", "formal_challenge", 1, "stage", ECLIPSE),
    ("Challenge - Jane Doe - LCS 123456", "formal", "challenge", None, None, LCS),
    # South West: Problem Resolution, Stage 1 informal, Stage 2 a formal meeting
    ("Problem Resolution - Stage 2 - Jane Doe - 123456", "formal", "problem_resolution", 2, "stage", BARE),
    ("Problem Resolution Meeting - Stage 2 - Jane Doe - 123456", "meeting", "problem_resolution", 2, "stage",
     BARE),
    ("Stage 1 (Informal Resolution) - Jane Doe - 123456", "informal", "informal", 1, "stage", BARE),
    ("Stage 2 (Formal Resolution) - Jane Doe - 123456", "formal", "stage", 2, "stage", BARE),
    ("Stage 3 - Problem Resolution - Jane Doe - 123456", "formal", "problem_resolution", 3, "stage", BARE),
    # the generic word
    ("Escalation - Jane Doe - Mosaic 123456", "formal", "escalation", None, None, MOSAIC),
    ("Level 2 escalation - Jane Doe - Mosaic 123456", "formal", "level", 2, "level", MOSAIC),
    ("Stage 1 dispute resolution - Jane Doe - Mosaic 123456", "formal", "dispute_resolution", 1, "stage", MOSAIC),
]  # fmt: skip


@pytest.mark.parametrize(("subject", "kind", "wording", "level", "level_word", "cases"), WORDINGS)
def test_each_councils_wording(
    subject: str, kind: str, wording: str, level: int | None, level_word: str | None, cases: tuple[CaseNumber, ...]
) -> None:
    facts = parse_subject(subject, RECEIVED)
    assert facts.is_escalation is True
    assert (facts.kind, facts.wording) == (kind, wording)
    assert (facts.level, facts.level_word) == (level, level_word)
    assert facts.children == JANE
    assert facts.case_numbers == cases


def test_level_zero_is_informal_and_says_so() -> None:
    facts = parse_subject("Level 0 - Jane Doe - Mosaic 123456", RECEIVED)
    assert "the subject names an informal step, not a formal level" in facts.warnings
    assert not any("outside 1 to 5" in w for w in facts.warnings)


def test_a_formal_level_reads_as_before() -> None:
    # the fields the rest of the system reads are unchanged for the house style; kind and wording are new
    facts = parse_subject("Action - Level 2 escalation - Jane Doe - MOSAIC 123456 - response by 05/12/2026", RECEIVED)
    assert (facts.is_escalation, facts.level, facts.level_word, facts.children) == (True, 2, "level", JANE)
    assert facts.response_date == date(2026, 12, 5)
    assert facts.warnings == ()


# --- reply and forward prefixes do not stop the parse


ISSUE_SUBJECT = "RE: Action – level one escalation for Sam & Alex Jones (LCS 123456) – resp by 9th Dec"


@pytest.mark.parametrize("prefix", ["", "RE: ", "FW: ", "Fwd: ", "RE: FW: ", "[EXTERNAL] RE: ", "AW: ", "RE[2]: "])
def test_the_issues_subject_parses_under_any_prefix(prefix: str) -> None:
    facts = parse_subject(prefix + ISSUE_SUBJECT.removeprefix("RE: "), RECEIVED)
    assert facts.is_escalation is True
    assert facts.is_reply is (prefix not in ("",))
    assert facts.level == 1
    assert facts.children == ("Sam Jones", "Alex Jones")
    assert facts.case_numbers == LCS
    assert facts.response_date == date(2026, 12, 9)
    assert (facts.kind, facts.wording) == ("formal", "action")


# --- deadlines written as a weekday or a day of the month (next occurrence on or after the received date)

HOUSE = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - "
TUESDAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("deadline", "received", "due"),
    [
        ("response by Monday", TUESDAY, date(2026, 12, 7)),
        ("resp by Fri", TUESDAY, date(2026, 12, 4)),
        ("respond by Thurs", TUESDAY, date(2026, 12, 3)),
        ("due Wednesday", TUESDAY, date(2026, 12, 2)),
        ("by this Friday", TUESDAY, date(2026, 12, 4)),
        ("by COB Friday", TUESDAY, date(2026, 12, 4)),
        ("deadline: Mon", TUESDAY, date(2026, 12, 7)),
        # "on or after": a deadline named by the day it is received means that day
        ("response by Tuesday", TUESDAY, TUESDAY),
        ("by Monday", date(2026, 12, 7), date(2026, 12, 7)),
        # across a month and a year
        ("by Friday", date(2026, 11, 30), date(2026, 12, 4)),
        ("response by Monday", date(2026, 12, 30), date(2027, 1, 4)),
        # a day of the month alone
        ("by the 9th", TUESDAY, date(2026, 12, 9)),
        ("resp by 9th", TUESDAY, date(2026, 12, 9)),
        ("by Wed 9th", TUESDAY, date(2026, 12, 9)),
        ("by the 1st", TUESDAY, TUESDAY),
        ("by the 3rd", date(2026, 11, 20), date(2026, 12, 3)),
        ("by the 9th", date(2026, 12, 20), date(2027, 1, 9)),
        ("response by the 31st", date(2026, 11, 5), date(2026, 12, 31)),
        ("by the 29th", date(2027, 1, 30), date(2027, 3, 29)),
        # every form read before still is
        ("by 9th Dec", TUESDAY, date(2026, 12, 9)),
        ("response by 05/12/2026", TUESDAY, date(2026, 12, 5)),
        ("by Wed 9th Dec", TUESDAY, date(2026, 12, 9)),
        ("due this Friday 11th December", TUESDAY, date(2026, 12, 11)),
    ],
)
def test_weekday_and_day_of_month_deadlines(deadline: str, received: date, due: date) -> None:
    facts = parse_subject(HOUSE + deadline, received)
    assert facts.is_escalation is True
    assert facts.response_date == due
    assert facts.children == JANE
    assert facts.case_numbers == MOSAIC


@pytest.mark.parametrize(
    "deadline",
    ["by next Monday", "by Monday week", "Monday", "review the 9th", "by the 5th working day", "by 9"],
)
def test_unclear_weekdays_and_days_give_no_date(deadline: str) -> None:
    facts = parse_subject(HOUSE + deadline, TUESDAY)
    assert facts.response_date is None
    assert facts.children == JANE


def test_next_monday_is_ambiguous_and_says_so() -> None:
    facts = parse_subject(HOUSE + "by next Monday", TUESDAY)
    assert any("ambiguous" in w for w in facts.warnings)


def test_a_weekday_deadline_needs_the_received_date() -> None:
    facts = parse_subject(HOUSE + "by Monday", None)
    assert facts.response_date is None
    assert any("received date" in w for w in facts.warnings)


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)), st.integers(0, 6))
def test_a_weekday_is_the_next_such_day_on_or_after_receipt(received: date, weekday: int) -> None:
    name = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][weekday]
    due = parse_subject(HOUSE + f"response by {name}", received).response_date
    assert due is not None
    assert due.weekday() == weekday
    assert received <= due < received + timedelta(days=7)


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 11, 30)), st.integers(1, 31))
def test_a_day_of_the_month_is_the_next_such_day_on_or_after_receipt(received: date, day: int) -> None:
    suffix = "th" if 10 <= day <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    due = parse_subject(HOUSE + f"by the {day}{suffix}", received).response_date
    assert due is not None
    assert due.day == day
    assert due >= received
    assert all(
        (received + timedelta(days=k)).day != day for k in range((due - received).days)
    ), "an earlier date with that day was skipped"
