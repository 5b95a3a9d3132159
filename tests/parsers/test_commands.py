"""Tests for parsers.commands: commands at the top of a reply and requests for more time."""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.commands import (
    MAX_EVIDENCE_CHARS,
    MAX_TEXT_CHARS,
    Command,
    ReplyIntent,
    read_command,
    read_response,
)

RECEIVED = date(2026, 12, 1)  # a Tuesday
D18 = date(2026, 12, 18)


def cmd(action: str, **fields: object) -> Command:
    return Command(action, **fields)  # type: ignore[arg-type]


# -- commands that must be read -------------------------------------------------------------------------

POSITIVE: list[tuple[str, Command]] = [
    # resolved
    ("Resolved", cmd("resolved")),
    ("resolved", cmd("resolved")),
    ("RESOLVED.", cmd("resolved")),
    ("*Resolved*", cmd("resolved")),
    ("**Resolved**", cmd("resolved")),
    ("#resolved", cmd("resolved")),
    ("/resolved", cmd("resolved")),
    ("Resolved:", cmd("resolved")),
    ("Resolved!", cmd("resolved")),
    ("Resolved – plan signed off", cmd("resolved", text="plan signed off")),
    ("Resolved — plan signed off", cmd("resolved", text="plan signed off")),
    ("Resolved: plan signed off", cmd("resolved", text="plan signed off")),
    (
        "Resolved - care plan updated and signed off at panel",
        cmd("resolved", text="care plan updated and signed off at panel"),
    ),
    ("Resolved. The plan was signed off today.", cmd("resolved", text="The plan was signed off today.")),
    ("Resolved as the plan has been signed off", cmd("resolved", text="as the plan has been signed off")),
    ("Resolved by agreement at panel", cmd("resolved", text="by agreement at panel")),
    ("Resolved – only the contact plan remains", cmd("resolved", text="only the contact plan remains")),
    ("Resolved – nothing further needed", cmd("resolved", text="nothing further needed")),
    ("This is resolved, thank you", cmd("resolved")),
    ("This is now resolved", cmd("resolved")),
    ("Issue resolved", cmd("resolved")),
    ("Matter resolved", cmd("resolved")),
    ("All resolved", cmd("resolved")),
    ("The issue has been resolved", cmd("resolved")),
    ("The concerns raised have been resolved", cmd("resolved")),
    ("I am satisfied this is now resolved", cmd("resolved")),
    ("I'm satisfied that the matter is resolved", cmd("resolved")),
    ("I’m happy this is resolved", cmd("resolved")),
    ("Close – resolved", cmd("resolved")),
    ("Please close as resolved", cmd("resolved")),
    ("Resolved, please close", cmd("resolved")),
    (
        "Resolved – plan signed off, no further action until review",
        cmd("resolved", text="plan signed off, no further action until review"),
    ),
    (
        "Resolved\nPlan signed off at panel on 3/12.\n\nThanks",
        cmd("resolved", text="Plan signed off at panel on 3/12."),
    ),
    # escalate
    ("Escalate", cmd("escalate")),
    ("/escalate", cmd("escalate")),
    ("ESCALATE!", cmd("escalate")),
    ("Please escalate", cmd("escalate")),
    ("Please escalate.", cmd("escalate")),
    ("Escalate please", cmd("escalate")),
    ("Escalate now", cmd("escalate")),
    ("Escalate this matter", cmd("escalate")),
    ("I wish to escalate", cmd("escalate")),
    ("I am escalating this", cmd("escalate")),
    ("Not resolved – escalate", cmd("escalate")),
    ("Not resolved, please escalate", cmd("escalate")),
    ("Not resolved yet - escalate", cmd("escalate")),
    ("Escalate – no response received", cmd("escalate", text="no response received")),
    ("Escalate to the next level", cmd("escalate")),
    ("Escalate to level 3", cmd("escalate", level=3)),
    ("Escalate to Level 3.", cmd("escalate", level=3)),
    ("Escalate to Level Three", cmd("escalate", level=3)),
    ("escalate to stage 4", cmd("escalate", level=4)),
    ("Escalate straight to level 4", cmd("escalate", level=4)),
    ("Escalate to L2", cmd("escalate", level=2)),
    ("Escalate to level 3 please", cmd("escalate", level=3)),
    ("I wish to escalate this to stage 3", cmd("escalate", level=3)),
    ("Escalation to level 2", cmd("escalate", level=2)),
    ("Move to stage two", cmd("escalate", level=2)),
    ("Escalate to Head of Service", cmd("escalate", text="Head of Service", to_role="Head of Service")),
    ("Escalate to the AD, please", cmd("escalate", text="AD, please", to_role="AD")),
    (
        "Escalate to level 3 – no reply from the Service Manager",
        cmd("escalate", level=3, text="no reply from the Service Manager"),
    ),
    # extend
    ("Extend to 18/12/2026", cmd("extend", until=D18)),
    ("Extend to 18.12.2026", cmd("extend", until=D18)),
    ("Extend to 18/12/26", cmd("extend", until=D18)),
    ("Extend until 18 December", cmd("extend", until=D18)),
    ("Extend until 18th December 2026", cmd("extend", until=D18)),
    ("extend to Fri 18th Dec", cmd("extend", until=D18)),
    ("Extend to Friday 18 December", cmd("extend", until=D18)),
    ("Extend to Friday", cmd("extend", until=date(2026, 12, 4))),
    ("Extend the deadline to 18/12/2026", cmd("extend", until=D18)),
    ("Extend to 18/12/2026 – panel on 17th", cmd("extend", until=D18, text="panel on 17th")),
    ("Extend by 5 working days", cmd("extend", by_working_days=5)),
    ("Extend by five working days", cmd("extend", by_working_days=5)),
    ("extend 3 days", cmd("extend", by_working_days=3)),
    ("Extend by 3 WD", cmd("extend", by_working_days=3)),
    ("Extend by a week", cmd("extend", by_working_days=5)),
    ("Extend by 2 weeks", cmd("extend", by_working_days=10)),
    ("Extend for another week", cmd("extend", by_working_days=5)),
    ("Extend for a further 5 days", cmd("extend", by_working_days=5)),
    ("Extend", cmd("extend")),
    ("Please extend", cmd("extend")),
    ("Extension agreed", cmd("extend")),
    ("Extension granted.", cmd("extend")),
    ("Agree extension", cmd("extend")),
    ("Agreed – extend", cmd("extend")),
    ("Agreed, extend to 18/12/2026", cmd("extend", until=D18)),
    ("I agree to the extension", cmd("extend")),
    ("I agree the extension request", cmd("extend")),
    ("Happy to agree the extension", cmd("extend")),
    ("Extension agreed until 18/12/2026", cmd("extend", until=D18)),
    ("Extension agreed to 18 Dec", cmd("extend", until=D18)),
    ("Extension of 10 working days agreed", cmd("extend", by_working_days=10, text="agreed")),
    ("Extension", cmd("extend")),
    ("Yes – extend to 18/12/2026", cmd("extend", until=D18)),
    ("Extend until 18 December as requested", cmd("extend", until=D18, text="as requested")),
    # cafcass
    ("Cafcass", cmd("cafcass")),
    ("CAFCASS.", cmd("cafcass")),
    ("Refer to Cafcass", cmd("cafcass")),
    ("Please refer to Cafcass", cmd("cafcass")),
    ("I am referring this to Cafcass", cmd("cafcass")),
    ("Cafcass referral", cmd("cafcass")),
    ("Referral to Cafcass", cmd("cafcass")),
    ("Escalate to Cafcass", cmd("cafcass")),
    ("Cafcass – no resolution at level 4", cmd("cafcass", text="no resolution at level 4")),
    # withdraw
    ("Withdraw", cmd("withdraw")),
    ("Withdrawn", cmd("withdraw")),
    ("Withdrawn – resolved informally", cmd("withdraw", text="resolved informally")),
    ("Escalation withdrawn", cmd("withdraw")),
    ("The escalation has been withdrawn", cmd("withdraw")),
    ("I withdraw this escalation", cmd("withdraw")),
    ("Please withdraw the challenge", cmd("withdraw")),
    # note
    ("Note: spoke to TM by phone", cmd("note", text="spoke to TM by phone")),
    ("Note - TM on leave until Monday", cmd("note", text="TM on leave until Monday")),
    ("NOTE – if no reply I will chase", cmd("note", text="if no reply I will chase")),
    ("Note:\nSpoke to the SM.\nShe will reply today.", cmd("note", text="Spoke to the SM.\nShe will reply today.")),
    # greetings before the command
    ("Hi all,\n\nResolved – plan signed off\n\nThanks", cmd("resolved", text="plan signed off")),
    ("Dear Mark,\n\nEscalate to level 2", cmd("escalate", level=2)),
    ("Thanks,\nResolved", cmd("resolved")),
    ("Hi all,\nThanks,\n\nResolved", cmd("resolved")),
    ("Good morning all\n\nPlease escalate", cmd("escalate")),
    ("Thanks, this is resolved", cmd("resolved")),
    ("Hi Mark, resolved – plan signed off", cmd("resolved", text="plan signed off")),
    ("Thank you for your email, this is resolved", cmd("resolved")),
    ("\n\n   \nResolved", cmd("resolved")),
    ("  - Resolved", cmd("resolved")),
    ("> Resolved", cmd("resolved")),
    ("Resolved\u00a0– plan signed off", cmd("resolved", text="plan signed off")),
]


@pytest.mark.parametrize(("text", "expected"), POSITIVE, ids=[t[:40] for t, _ in POSITIVE])
def test_commands_are_read(text: str, expected: Command) -> None:
    assert read_command(text, RECEIVED) == expected


# -- replies that are not commands ----------------------------------------------------------------------

NEGATIVE = [
    "",
    "   \n\n  ",
    "Not resolved",
    "Not resolved.",
    "Unresolved",
    "This is not resolved yet, I will escalate if no response by Friday",
    "This isn't resolved",
    "I don't want to escalate yet",
    "Please don't escalate",
    "Please do not escalate",
    "Do not escalate",
    "Is this resolved?",
    "Resolved?",
    "Escalate?",
    "Should I escalate?",
    "Escalate if no response by Friday",
    "Escalate – if no reply by Friday",
    "Escalate, unless you can respond today",
    "Escalate to level 3 if the plan is not signed off",
    "I will escalate if needed",
    "I will escalate to level 2 on Friday if no response",
    "We may escalate",
    "Resolved in part",
    "Partially resolved",
    "Resolved, not quite",
    "Resolved – not yet",
    "Resolved – but only if the plan is signed off",
    "Escalate – only if no reply by Friday",
    "Extend to 18/12/2026 if the panel agrees",
    "Nearly resolved",
    "Hopefully resolved soon",
    "Cafcass have been informed",
    "Cafcass guardian is aware",
    "Withdrawn from school last week",
    "Withdrawal of the placement notice was discussed",
    "Extension?",
    "Extension requested",
    "Extend to 31/11/2026",  # impossible date: an unclear command is not obeyed
    "Extend to 12/13/2026",  # never read as a US date
    "Extend to next Friday",  # ambiguous
    "Extend to the end of the month",
    "Extend to Fri 19th Dec 2026",  # 19 December 2026 is a Saturday: the weekday contradicts the date
    "Extend by 0 days",
    "Extend by 5 calendar days",
    "Extend by a bit",
    "Extend to level 3",
    "Escalate to level 12",
    "Escalate to level 0",
    "Escalate to",
    "Agreed, I will check on Friday.",
    "Agreed",
    "Note",
    "Note:",
    "Note that the plan is due at panel",
    "Thank you for the update. Having reviewed the plan I am satisfied it is resolved.",
    "I have read the plan.\nResolved",
    "Hi Jane,\n\nI will get the plan signed off by Friday.\n\nTom",
    "Please find attached the response.",
    "The panel discussed whether to escalate. Resolved to wait.",
    "Thanks for escalating this so quickly",
    "Escalated matters are reviewed monthly",
    "Hi Mark, I will escalate if no response",
    "Hi all,\nThanks,\nMorning,\nResolved",  # three greeting lines: too far from the top
]


@pytest.mark.parametrize("text", NEGATIVE)
def test_non_commands_are_not_read(text: str) -> None:
    assert read_command(text, RECEIVED) is None


def test_command_word_deep_in_a_paragraph_is_ignored() -> None:
    text = (
        "Thank you for chasing. The team manager and I met yesterday and went through the plan in detail; "
        "I think the matter is resolved but will confirm next week.\n\nResolved"
    )
    assert read_command(text, RECEIVED) is None


def test_received_as_datetime_is_accepted() -> None:
    from datetime import datetime

    assert read_command("Extend until 18 December", datetime(2026, 12, 1, 9, 30)) == cmd("extend", until=D18)


def test_yearless_date_is_the_next_occurrence_on_or_after_received() -> None:
    assert read_command("Extend to 5 January", RECEIVED) == cmd("extend", until=date(2027, 1, 5))
    assert read_command("Extend to 1 December", RECEIVED) == cmd("extend", until=RECEIVED)


def test_weekday_alone_is_the_next_such_weekday_after_received() -> None:
    # Received on a Tuesday: "Tuesday" means a week later, never the same day.
    assert read_command("Extend to Tuesday", RECEIVED) == cmd("extend", until=date(2026, 12, 8))
    assert read_command("Extend until Wed", RECEIVED) == cmd("extend", until=date(2026, 12, 2))


def test_unknown_received_date_gives_no_yearless_date() -> None:
    assert read_command("Extend to 18 December", None) is None  # type: ignore[arg-type]
    assert read_command("Extend to 18/12/2026", None) == cmd("extend", until=D18)  # type: ignore[arg-type]
    assert read_command("Resolved", None) == cmd("resolved")  # type: ignore[arg-type]


def test_dates_at_the_edge_of_the_calendar_do_not_break() -> None:
    assert read_command("EXTEND FRI", date.max) is None
    assert read_command("Resolved", date.max) == cmd("resolved")
    assert read_response("Could I have until Friday?", date.max).requested_until is None


def test_text_is_capped_and_courtesy_lines_dropped() -> None:
    long = "Resolved – " + "x" * 5000
    command = read_command(long, RECEIVED)
    assert command is not None and command.action == "resolved"
    assert len(command.text) == 2000
    assert read_command("Resolved – plan signed off\n\nKind regards", RECEIVED) == cmd(
        "resolved", text="plan signed off"
    )


def test_non_string_input_gives_none() -> None:
    assert read_command(None, RECEIVED) is None  # type: ignore[arg-type]
    assert read_command(b"Resolved", RECEIVED) is None  # type: ignore[arg-type]
    assert read_response(None, RECEIVED) == ReplyIntent(None, False)  # type: ignore[arg-type]


def test_command_at_the_bottom_of_a_huge_reply_is_not_read() -> None:
    text = ("word " * 200 + "\n") * 2000 + "Resolved"
    assert read_command(text, RECEIVED) is None
    assert read_response(text, RECEIVED) == ReplyIntent(None, False)
    assert read_response(text, RECEIVED) == read_response(("word " * 200 + "\n") * 2 + "Resolved", RECEIVED)


def test_a_megabyte_of_one_letter_reads_as_nothing() -> None:
    assert read_command("x" * 1_000_000, RECEIVED) is None
    assert read_response("x" * 1_000_000, RECEIVED) == ReplyIntent(None, False)


def test_endless_extend_reads_like_its_first_thousand_words() -> None:
    intent = read_response("Extend " * 200_000, RECEIVED)
    assert intent == read_response("Extend " * 1_000, RECEIVED)
    assert intent.extension_requested is True
    assert intent.command is not None and intent.command.action == "extend"
    assert len(intent.command.text) <= MAX_TEXT_CHARS
    assert len(intent.evidence) <= MAX_EVIDENCE_CHARS
    assert read_command("Extend " * 200_000, RECEIVED) == intent.command


def test_command_after_100000_blank_lines_is_not_read() -> None:
    text = "\n" * 100_000 + "Resolved"
    assert read_command(text, RECEIVED) is None  # not at the top of anything readable
    assert read_command(text, RECEIVED) == read_command(text[:20_000], RECEIVED)  # only the start is looked at
    assert read_command("\n" * 100 + "Resolved", RECEIVED) == cmd("resolved")
    assert read_response(text, RECEIVED) == ReplyIntent(None, False)


# -- requests for more time in managers' replies --------------------------------------------------------

REQUESTS: list[tuple[str, date | None, int | None, str]] = [
    ("I will respond by 18/12/2026", D18, None, "I will respond by 18/12/2026"),
    ("Could I have until Friday 18th December?", D18, None, "Could I have until Friday 18th December?"),
    ("Could I have until Friday?", date(2026, 12, 4), None, "Could I have until Friday?"),
    (
        "We need another 5 working days to complete the assessment.",
        None,
        5,
        "We need another 5 working days to complete the assessment.",
    ),
    ("I would like to request a 2 week extension.", None, 10, "I would like to request a 2 week extension."),
    (
        "Hi Jane,\n\nCan we extend the deadline to 11 Dec? The panel meets on the 10th.\n\nThanks",
        date(2026, 12, 11),
        None,
        "Can we extend the deadline to 11 Dec?",
    ),
    (
        "Could I have an extension until 11/12/2026 please? The panel sits on the 10th.",
        date(2026, 12, 11),
        None,
        "Could I have an extension until 11/12/2026 please?",
    ),
    (
        "I'm sorry I could not respond sooner; could I have an extension?",
        None,
        None,
        "I'm sorry I could not respond sooner; could I have an extension?",
    ),
    (
        "Could I please have a little more time\nto respond, ideally until\n18/12/2026?",
        D18,
        None,
        "Could I please have a little more time to respond, ideally until 18/12/2026?",
    ),
    ("I will get back to you by Wednesday.", date(2026, 12, 2), None, "I will get back to you by Wednesday."),
    ("Could we have a further week?", None, 5, "Could we have a further week?"),
    ("I need 3 more days.", None, 3, "I need 3 more days."),
    ("Please may I have additional time.", None, None, "Please may I have additional time."),
    (
        "I am requesting an extension of ten working days.",
        None,
        10,
        "I am requesting an extension of ten working days.",
    ),
    ("Extension to 31/11/2026 please", None, None, "Extension to 31/11/2026 please"),  # impossible date: no date
    (
        "The plan goes to panel next week. Could I have a 10-day extension to 18/12/2026?",
        D18,
        10,
        "Could I have a 10-day extension to 18/12/2026?",
    ),
    (
        "Hello,\nThanks for your mail. I am on leave this week.\nI'd be grateful for more time; "
        "I will reply by 18 December.",
        D18,
        None,
        "I'd be grateful for more time; I will reply by 18 December.",
    ),
]


@pytest.mark.parametrize(("text", "until", "days", "evidence"), REQUESTS, ids=[r[0][:40] for r in REQUESTS])
def test_extension_requests_are_noticed(text: str, until: date | None, days: int | None, evidence: str) -> None:
    intent = read_response(text, RECEIVED)
    assert intent == ReplyIntent(None, True, requested_until=until, requested_working_days=days, evidence=evidence)


NOT_REQUESTS = [
    "",
    "No extension needed, the plan is attached.",
    "No extension is required.",
    "I don't need more time.",
    "I do not need an extension.",
    "I will not need any further time.",
    "I do not anticipate needing an extension.",
    "We can respond without an extension.",
    "Please find attached the response.",
    "Hi Jane,\n\nI will get the plan signed off by Friday.\n\nTom",
    "I am on leave until Monday 7 December.",
    "I am out of the office until Friday.",
    "Thank you for agreeing the extension.",
    "The child's extended family have been contacted.",
    "Please call me on extension 4567.",
    "The review is on 18/12/2026.",
    "I have been off for 3 days.",
    "Agreed, I will check on Friday.",
    "Resolved – plan signed off",
]


@pytest.mark.parametrize("text", NOT_REQUESTS)
def test_ordinary_replies_are_not_extension_requests(text: str) -> None:
    intent = read_response(text, RECEIVED)
    assert intent.extension_requested is False
    assert (intent.requested_until, intent.requested_working_days, intent.evidence) == (None, None, "")


def test_request_beyond_the_first_3000_chars_is_ignored() -> None:
    text = "Update on the plan. " * 200 + "Could I have an extension until 18/12/2026?"
    assert len(text) > 3000
    assert read_response(text, RECEIVED).extension_requested is False


def test_evidence_is_trimmed() -> None:
    text = "Could I have an extension because " + "the assessment is not complete and " * 20 + "so on?"
    intent = read_response(text, RECEIVED)
    assert intent.extension_requested
    assert len(intent.evidence) <= 200 and intent.evidence.endswith("…")


def test_response_carries_the_command() -> None:
    intent = read_response("Agreed – extend\n\nCould I have until Friday?", RECEIVED)
    assert intent.command == cmd("extend", text="Could I have until Friday?")
    assert intent.extension_requested and intent.requested_until == date(2026, 12, 4)


# -- properties -----------------------------------------------------------------------------------------

WORDS = [
    "resolved", "Resolved", "escalate", "Escalate", "not", "extend", "Extend", "to", "by", "until", "level",
    "stage", "3", "Three", "cafcass", "Cafcass", "withdraw", "withdrawn", "note:", "Note -", "–", "-", "?", ".",
    ",", "\n", "\n\n", "18/12/2026", "31/11/2026", "Friday", "next", "5", "working", "days", "week", "if",
    "please", "Hi all,", "Thanks,", "extension", "more time", "don't", "*", "/", "#", "99/99/9999", "0",
    "another", "further", "a", "agreed", "Agree", "I", "am", "satisfied", "this", "is", "now", "Head of Service",
    "EXTEND FRI", "Fri", "Could I have until", "I will respond by", "another week",
]  # fmt: skip
word_soup = st.lists(st.sampled_from(WORDS), max_size=30).map(" ".join)
any_text = st.one_of(st.text(max_size=400), word_soup)
any_day = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


class _Warnings(logging.Handler):
    """Collects warnings from parsers.commands: the readers log one when they swallow an unexpected error."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@settings(max_examples=300, deadline=None)
@given(text=any_text, received=st.one_of(any_day, st.sampled_from([date.min, date.max])))
def test_arbitrary_text_never_raises_and_gives_the_right_types(text: str, received: date) -> None:
    handler = _Warnings()
    logger = logging.getLogger("parsers.commands")
    logger.addHandler(handler)
    try:
        command = read_command(text, received)
        intent = read_response(text, received)
    finally:
        logger.removeHandler(handler)
    assert handler.records == []  # no error was swallowed on the way
    assert command is None or isinstance(command, Command)
    if command is not None:
        assert command.action in ("resolved", "escalate", "extend", "cafcass", "withdraw", "note")
        assert command.level is None or 1 <= command.level <= 9
        assert command.by_working_days is None or command.by_working_days >= 1
        assert len(command.text) <= 2000
        if command.action != "extend":
            assert command.until is None and command.by_working_days is None
    assert isinstance(intent, ReplyIntent)
    assert intent.command == command
    assert len(intent.evidence) <= 200
    assert intent.extension_requested or (intent.requested_until, intent.requested_working_days) == (None, None)


@given(d=any_day, received=any_day)
def test_extend_to_a_written_date_gives_that_date(d: date, received: date) -> None:
    assert read_command(f"Extend to {d:%d/%m/%Y}", received) == cmd("extend", until=d)
    assert read_command(f"extend until {d.day} {d:%B %Y}", received) == cmd("extend", until=d)


@given(n=st.integers(min_value=1, max_value=60), received=any_day)
def test_extend_by_n_working_days(n: int, received: date) -> None:
    assert read_command(f"Extend by {n} working days", received) == cmd("extend", by_working_days=n)
    assert read_command(f"extend {n} days", received) == cmd("extend", by_working_days=n)


@given(level=st.integers(min_value=1, max_value=5), word=st.booleans(), stage=st.booleans(), flips=st.randoms())
def test_escalate_to_level_any_case(level: int, word: bool, stage: bool, flips: object) -> None:
    number = ["one", "two", "three", "four", "five"][level - 1] if word else str(level)
    line = f"Escalate to {'stage' if stage else 'level'} {number}"
    mixed = "".join(c.upper() if flips.random() < 0.5 else c.lower() for c in line)  # type: ignore[attr-defined]
    assert read_command(mixed, RECEIVED) == cmd("escalate", level=level)


COMMAND_LINES = [
    ("Resolved – plan signed off", cmd("resolved", text="plan signed off")),
    ("Escalate to level 3", cmd("escalate", level=3)),
    ("Extend to 18/12/2026", cmd("extend", until=D18)),
    ("Refer to Cafcass", cmd("cafcass")),
    ("Escalation withdrawn", cmd("withdraw")),
    ("Note: spoke to TM", cmd("note", text="spoke to TM")),
]
GREETINGS = ["Hi all,", "Dear Mark,", "Thanks,", "Hello Jane", "Good morning,", "Many thanks,", "Hi Mark Smith,"]


@given(
    pair=st.sampled_from(COMMAND_LINES),
    greetings=st.lists(st.sampled_from(GREETINGS), max_size=2),
    blanks=st.lists(st.sampled_from(["", " ", "\t"]), max_size=3),
)
def test_greeting_lines_do_not_change_the_command(
    pair: tuple[str, Command], greetings: list[str], blanks: list[str]
) -> None:
    line, expected = pair
    text = "\n".join([*blanks, *[g + "\n" for g in greetings], line])
    assert read_command(text, RECEIVED) == expected


NEUTRAL = ["the", "plan", "was", "reviewed", "with", "team", "manager", "today", "and", "panel", "meets", "on"]


@given(pair=st.sampled_from(COMMAND_LINES), words=st.lists(st.sampled_from(NEUTRAL), min_size=1, max_size=15))
def test_a_command_below_ordinary_text_is_not_obeyed(pair: tuple[str, Command], words: list[str]) -> None:
    text = " ".join(words).capitalize() + ".\n\n" + pair[0]
    assert read_command(text, RECEIVED) is None


WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@given(received=any_day, weekday=st.integers(min_value=0, max_value=6))
def test_until_a_weekday_is_the_next_such_day(received: date, weekday: int) -> None:
    intent = read_response(f"Could I have until {WEEKDAYS[weekday]}?", received)
    assert intent.extension_requested
    assert intent.requested_until is not None
    assert intent.requested_until.weekday() == weekday
    assert received < intent.requested_until <= received + timedelta(days=7)


@given(n=st.integers(min_value=1, max_value=60))
def test_another_n_working_days_is_read(n: int) -> None:
    intent = read_response(f"Sorry, we need another {n} working days for the assessment.", RECEIVED)
    assert (intent.extension_requested, intent.requested_working_days) == (True, n)


# -- Unicode spaces: read as spaces (they are collapsed before any pattern runs) ---------------------------------

UNICODE_SPACES = ["\u00a0", "\u1680", "\u2000", "\u2003", "\u2009", "\u200a", "\u202f", "\u205f", "\u3000"]


@pytest.mark.parametrize("space", UNICODE_SPACES, ids=[f"U+{ord(s):04X}" for s in UNICODE_SPACES])
def test_unicode_spaces_in_a_command_are_spaces(space: str) -> None:
    assert read_command(f"Extend{space}by{space * 3}5{space}working{space}days", RECEIVED) == cmd(
        "extend", by_working_days=5
    )
    assert read_command(f"This{space}is{space}\t{space}resolved", RECEIVED) == cmd("resolved")
    assert read_command(f"Escalate to{space}level{space * 2}3", RECEIVED) == cmd("escalate", level=3)
    assert read_command(f"Hi{space}all,\nExtend to 18{space}December{space}2026", RECEIVED) == cmd("extend", until=D18)
    assert read_command(f"Not{space * 4}resolved", RECEIVED) is None


@pytest.mark.parametrize("space", UNICODE_SPACES, ids=[f"U+{ord(s):04X}" for s in UNICODE_SPACES])
def test_unicode_spaces_in_a_response_are_spaces(space: str) -> None:
    intent = read_response(f"Could I have another{space * 2}5{space}working{space}days?", RECEIVED)
    assert intent == ReplyIntent(
        None, True, requested_working_days=5, evidence="Could I have another 5 working days?"
    )
    assert not read_response(f"I{space}do{space}not{space * 3}need an{space}extension.", RECEIVED).extension_requested


def test_a_line_of_unicode_spaces_ends_a_paragraph() -> None:
    intent = read_response("The plan is with the panel\n\u2003\u3000\nCould I have until 18/12/2026?", RECEIVED)
    assert intent == ReplyIntent(None, True, requested_until=D18, evidence="Could I have until 18/12/2026?")


_RUN_OF_SPACES = re.compile(r"[^\S\n]+")


@settings(max_examples=150, deadline=None)
@given(
    pair=st.sampled_from(COMMAND_LINES),
    spaces=st.lists(st.text(alphabet=" \t" + "".join(UNICODE_SPACES), min_size=1, max_size=6), min_size=1),
)
def test_any_spaces_between_words_read_as_one(pair: tuple[str, Command], spaces: list[str]) -> None:
    line, expected = pair
    words = line.split(" ")
    spaced = "".join(word + spaces[i % len(spaces)] for i, word in enumerate(words)).rstrip()
    found = read_command(spaced, RECEIVED)
    assert found is not None and found.action == expected.action
    assert (found.level, found.until, found.by_working_days) == (
        expected.level,
        expected.until,
        expected.by_working_days,
    )
    assert found == read_command(_RUN_OF_SPACES.sub(" ", spaced), RECEIVED)


# -- the outcome or note text: the command's own words, without sign-off or signature -----------------------

SIGNATURE = "Ira Reviewer\nIndependent Reviewing Officer\nQuality Assurance and Reviewing Service"

OUTCOME_TEXTS: list[tuple[str, str, str]] = [
    # (shape, the new text of the IRO's reply, the outcome text kept)
    ("the issue's reply: name, blank, name and title block",
     f"Resolved – plan signed off\n\nIra\n\n{SIGNATURE}", "plan signed off"),
    ("Outlook: every line its own paragraph",
     "Resolved – plan signed off\n\nIra\n\nIra Reviewer\n\nIndependent Reviewing Officer\n\n"
     "Quality Assurance and Reviewing Service\n\nTel: 01305 224000", "plan signed off"),
    ("Outlook: kind regards, name | title, contact lines",
     "Resolved – plan signed off\n\nKind regards\n\nIra Reviewer | Independent Reviewing Officer\n"
     "Children's Services | Dorset Council\nT: 01305 224000 | M: 07700 900123\nE: ira.reviewer@dorset.gov.uk\n"
     "www.dorsetcouncil.gov.uk\n[cid:image001.png@01DB4A2C.5F3E1B20]", "plan signed off"),
    ("Outlook: a signature picture and pronouns",
     "Resolved – plan signed off\n\nIra Reviewer (she/her)\nSenior IRO\n<image001.png>", "plan signed off"),
    ("Gmail: the -- delimiter", f"Resolved – plan signed off\n\n-- \n{SIGNATURE}\n01305 224000", "plan signed off"),
    ("iPhone", "Resolved – plan signed off\n\nSent from my iPhone", "plan signed off"),
    ("Outlook for iOS", "Resolved – plan signed off\n\nGet Outlook for iOS<https://aka.ms/o0ukef>",
     "plan signed off"),
    ("sign-off then name", "Resolved – plan signed off\nThanks\nIra", "plan signed off"),
    ("sign-off and name on one line", "Resolved – plan signed off\n\nThanks, Ira", "plan signed off"),
    ("many thanks, blank, name", "Resolved – plan signed off\n\nMany thanks\n\nIra", "plan signed off"),
    ("best wishes with the full name", "Resolved – plan signed off\nBest wishes Ira Reviewer", "plan signed off"),
    ("a name alone under the line", "Resolved – plan signed off\nIra", "plan signed off"),
    ("a name with title under the line", f"Resolved – plan signed off\n{SIGNATURE}", "plan signed off"),
    ("an initial", "Resolved – plan signed off\n\nJ.", "plan signed off"),
    ("a title line alone", "Resolved – plan signed off\nIndependent Reviewing Officer", "plan signed off"),
    ("no signature", "Resolved – plan signed off", "plan signed off"),
    ("closing words on the command line", "Resolved – plan signed off, thanks Ira", "plan signed off"),
    ("a closing sentence on the command line", "Resolved – plan signed off. Thanks, Ira", "plan signed off."),
    ("a name after a full stop on the command line", "Resolved – plan signed off. Ira", "plan signed off."),
    ("only closing words on the command line", "Resolved, thanks Ira\n\nIra Reviewer", ""),
    ("a genuine two-line outcome", "Resolved – plan signed off.\nReview booked for 6 January.",
     "plan signed off.\nReview booked for 6 January."),
    ("a two-line outcome signed off", "Resolved – plan signed off.\nReview booked for 6 January.\n\nThanks\nIra",
     "plan signed off.\nReview booked for 6 January."),
    ("two paragraphs, then the signature",
     "Resolved – plan signed off.\n\nThe placement is stable and contact is agreed.\n\nKind regards,\n\n"
     f"Ira\n\n{SIGNATURE}", "plan signed off.\n\nThe placement is stable and contact is agreed."),
    ("a role named in a sentence is not a title",
     "Resolved – plan signed off.\nHead of Service agreed the funding.\n\nIra",
     "plan signed off.\nHead of Service agreed the funding."),
    ("a line that goes on to a name", "Resolved – agreed at the meeting with\nJane Smith",
     "agreed at the meeting with\nJane Smith"),
    ("a command word alone, then the signature", f"Resolved\n\nIra\n\n{SIGNATURE}", ""),
    ("the quoted history is not the outcome",
     "Resolved – plan signed off\n\nFrom: Tom Manager <tom.manager@example.test>\nSent: 24 November 2026 09:12\n"
     "To: Jane Iro\nSubject: RE: Level 1 escalation\n\nPlan to panel on Thursday.", "plan signed off"),
    ("escalate with a reason, signed", "Escalate – no response from the Team Manager\n\nThanks\nIra",
     "no response from the Team Manager"),
    ("withdraw with a reason, signed", "Withdrawn – duplicate of ESC-0008\nIra Reviewer\nIRO", "duplicate of ESC-0008"),
    ("a note over two paragraphs",
     "Note: spoke to the TM by phone.\n\nShe will send the plan by Friday.\n\nThanks\nIra\n\nIra Reviewer\n"
     "Independent Reviewing Officer", "spoke to the TM by phone.\n\nShe will send the plan by Friday."),
    ("a note under its head, signed", "Note:\nSpoke to the SM.\nShe will reply today.\n\nIra",
     "Spoke to the SM.\nShe will reply today."),
    ("a note with a telephone number in a sentence",
     "Note: TM asked to be called on 01305 224000 tomorrow.\n\nIra",
     "TM asked to be called on 01305 224000 tomorrow."),
]


@pytest.mark.parametrize(("text", "kept"), [(t, k) for _, t, k in OUTCOME_TEXTS], ids=[s for s, _, _ in OUTCOME_TEXTS])
def test_the_text_kept_is_the_commands_own_words(text: str, kept: str) -> None:
    command = read_command(text, RECEIVED)
    assert command is not None
    assert command.text == kept


def test_a_note_that_is_only_a_signature_is_no_note() -> None:
    assert read_command("Note:\n\nIra\n\nIra Reviewer\nIndependent Reviewing Officer", RECEIVED) is None


def test_a_long_outcome_is_capped_before_its_signature() -> None:
    text = "Resolved – " + "the plan was signed off at panel. " * 100 + f"\n\nIra\n\n{SIGNATURE}"
    command = read_command(text, RECEIVED)
    assert command is not None and len(command.text) <= MAX_TEXT_CHARS
    assert command.text.startswith("the plan was signed off at panel.") and "Ira" not in command.text


SIGN_OFFS = ["Thanks", "Thanks,", "Many thanks", "Kind regards", "Regards,", "Best wishes", "Cheers", "Thank you",
             "Thanks, Ira", "Thanks Ira", "Kind regards, Ira Reviewer", "Ira", "Ira Reviewer", "J.", "-- ",
             "Sent from my iPhone", "Get Outlook for Android", "Independent Reviewing Officer", "Tel: 01305 224000",
             "ira.reviewer@dorset.gov.uk", "Quality Assurance and Reviewing Service", "Ira Reviewer (she/her)"]
SIGNATURE_LINES = ["", "Ira", "Ira Reviewer", "Independent Reviewing Officer", "Children's Services",
                   "Dorset Council", "M: 07700 900123", "www.dorsetcouncil.gov.uk", "[cid:image001.png@01DB]"]
OUTCOMES = ["plan signed off", "plan signed off.\nReview booked for 6 January.", "care plan updated at panel",
            "plan signed off.\n\nContact with her brother is agreed.", ""]


@given(
    outcome=st.sampled_from(OUTCOMES),
    blank=st.booleans(),
    sign_off=st.sampled_from(SIGN_OFFS),
    signature=st.lists(st.sampled_from(SIGNATURE_LINES), max_size=8),
)
def test_whatever_the_sign_off_the_outcome_is_kept_whole(
    outcome: str, blank: bool, sign_off: str, signature: list[str]
) -> None:
    head = f"Resolved – {outcome}" if outcome else "Resolved"
    text = "\n".join([head, *([""] if blank else []), sign_off, *signature])
    command = read_command(text, RECEIVED)
    assert command == cmd("resolved", text=outcome)
