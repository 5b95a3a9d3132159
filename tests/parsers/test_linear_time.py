"""Every parser entry point does work linear in its input: mail is untrusted input, and no input may hold the service.

No clock is read here (timings are not tests). The work is bounded instead by the kernel: each family of adversarial
inputs runs in a child process whose CPU time is limited (``RLIMIT_CPU``). The inputs are the shapes that make a
backtracking regex super-linear: long runs of Unicode spaces (U+2003 EM SPACE, U+3000 IDEOGRAPHIC SPACE, U+2009 THIN
SPACE, ...) between the words a pattern looks for, runs of digits, dashes, dots and address characters, and the same
phrase repeated. Each is read at a size ``N`` and at ``8 * N`` with the parsers' length caps raised, so the patterns,
not the caps, are what is bounded. Linear work at ``8 * N`` takes a small fraction of ``CPU_SECONDS`` (about a tenth of
it for a whole family, interpreter start included); quadratic work there is 64 times that at ``N`` and far beyond the
limit (a cubic pattern, like the ``_COUNT`` of ``parsers.commands`` before it was fixed, would take days), so the
kernel stops the child and the test fails saying so. Every case also checks what the entry point returned, at both
sizes.

A last child runs Hypothesis on generated text mixing Unicode space runs with the words the patterns look for.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import re
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from parsers.authenticity import AuthPolicy, assess
from parsers.commands import read_command, read_response
from parsers.dates import find_date
from parsers.machine import classify
from parsers.mail import RAW_HEADERS, Address, ParsedMail
from parsers.reply import strip_reply, strip_signature
from parsers.subject import normalise_subject, parse_subject
from parsers.themes import read_themes

ROOT = Path(__file__).resolve().parents[2]
RECEIVED = date(2026, 12, 1)  # a Tuesday
N = 4000
SIZES = (N, 8 * N)
#: CPU seconds a child may use for all its cases at both sizes; linear work needs well under one.
CPU_SECONDS = 10
#: Only against a child that hangs without using CPU (it never should): not a judgement of speed.
HANG_GUARD_SECONDS = 600

EM, IDEO, THIN, NBSP = "\u2003", "\u3000", "\u2009", "\u00a0"
#: Every str.isspace() character that does not break a line, and the ASCII ones.
UNICODE_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
MIXED = " \t" + UNICODE_SPACES

#: Length caps (module, name) raised in the children so that a long input reaches the patterns whole.
CAPS = (
    ("parsers.commands", "_MAX_COMMAND_SCAN"),
    ("parsers.commands", "MAX_RESPONSE_CHARS"),
    ("parsers.commands", "_MAX_BODY_SCAN"),
    ("parsers.dates", "MAX_TEXT_CHARS"),
    ("parsers.subject", "MAX_SUBJECT_CHARS"),
    ("parsers.machine", "_BODY_CHARS"),
    ("parsers.machine", "BACK_ON_TEXT_CHARS"),
    ("parsers.machine", "_LIBRARY_CHARS"),
    ("parsers.themes", "_MAX_TEXT"),
    ("parsers.authenticity", "MAX_HEADER_CHARS"),
)
KNOWN_THEMES = ("Drift or delay in care planning", "Education", "Placement concerns")


def run_of(chars: str, n: int) -> str:
    """``n`` characters cycling through ``chars``."""
    return (chars * (n // len(chars) + 1))[:n]


# -- what each entry point returned, as JSON ----------------------------------------------------------------


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _command(text: str) -> Any:
    found = read_command(text, RECEIVED)
    return None if found is None else [found.action, found.level, _day(found.until), found.by_working_days]


def _outcome(text: str) -> Any:
    """The command and its outcome or note text (its start and length: the text is capped, its reading is not)."""
    found = read_command(text, RECEIVED)
    return None if found is None else [found.action, found.text[:40], len(found.text)]


def _sign_offs_generated(n: int) -> str:
    """Hypothesis in the child: replies of sign-off and signature words joined by Unicode space runs of up to ``n``
    characters and line breaks; each is read, and no signature line is ever part of the text kept."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    words = st.sampled_from([
        "Thanks", "Many thanks", "Kind regards", "Ira", "Ira Reviewer", "J.", "Independent Reviewing Officer",
        "Quality Assurance and Reviewing Service", "Tel:", "01305 224000", "ira@example.test", "(she/her)", "-- ",
        "Sent from my iPhone", "[cid:image001.png]", "plan", "signed", "off", ".",
    ])  # fmt: skip
    spaces = st.builds(lambda space, k: space * k, st.sampled_from(list(MIXED)), st.integers(1, max(1, n // 4)))
    breaks = st.one_of(spaces, st.sampled_from(["\n", "\n\n", "\n" + EM * 3 + "\n"]))
    tails = st.lists(st.tuples(words, breaks), max_size=12).map(lambda pairs: "".join(sum(pairs, ())))
    signature_lines = {"Sent from my iPhone", "--", "Kind regards", "Many thanks", "Thanks", "(she/her)",
                       "Independent Reviewing Officer", "Quality Assurance and Reviewing Service", "ira@example.test",
                       "01305 224000", "[cid:image001.png]"}

    @settings(max_examples=25, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(tail=tails)
    def property_(tail: str) -> None:
        found = read_command("Resolved – plan signed off\n" + tail, RECEIVED)
        assert found is not None and found.text.startswith("plan signed off")
        assert not signature_lines & {" ".join(line.split()) for line in found.text.splitlines()}

    property_()
    return "passed"


def _response(text: str) -> Any:
    intent = read_response(text, RECEIVED)
    return [intent.extension_requested, _day(intent.requested_until), intent.requested_working_days]


def _date(text: str) -> Any:
    found = find_date(text, RECEIVED)
    return [_day(found.date), len(found.mentions)]


def _date_only(text: str) -> Any:
    return _day(find_date(text, RECEIVED).date)


def _subject(text: str) -> Any:
    facts = parse_subject(text, RECEIVED)
    numbers = [number.number for number in facts.case_numbers]
    return [facts.is_reply, facts.is_escalation, facts.level, numbers, _day(facts.response_date), facts.bot_reference]


def _mail(
    *,
    subject: str = "Level 1 escalation",
    text: str = "Hello",
    headers: tuple[tuple[str, str], ...] = (),
    content_type: str = "text/plain",
    delivery_status: str | None = None,
) -> ParsedMail:
    return ParsedMail(
        message_id="m1@example.test", in_reply_to=(), references=(), thread_index=None, thread_topic=None,
        conversation_key=None, subject=subject, from_=Address("Tom Manager", "tom.manager@example.test"),
        sender=None, reply_to=(), to=(), cc=(), date=datetime(2026, 12, 1, 10, tzinfo=UTC),
        headers=headers, content_type=content_type, text=text, html=None, new_text=text,
        delivery_status=delivery_status,
    )  # fmt: skip


def _verdict(mail: ParsedMail) -> Any:
    verdict = classify(mail, RECEIVED)
    return [verdict.kind, verdict.reason, list(verdict.failed_recipients), verdict.status, _day(verdict.back_on)]


def _report(text: str, subject: str = "Undeliverable: Level 1 escalation", delivery_status: str | None = None) -> Any:
    """A delivery report (Return-Path <>, a failure subject) whose text is ``text``: read by our rules and by
    flufl.bounce, whose lines are cut to parsers.machine._LIBRARY_LINE_CHARS (some of its patterns are quadratic in a
    line; the cut, not raised here, is what keeps a body linear)."""
    return _mail(subject=subject, text=text, headers=(("return-path", "<>"),), delivery_status=delivery_status,
                 content_type="multipart/report" if delivery_status else "text/plain")


def _delivery(mail: ParsedMail) -> Any:
    verdict = classify(mail, RECEIVED)
    return [verdict.kind, verdict.delivery, list(verdict.failed_recipients), list(verdict.delayed_recipients)]


def _reply(text: str) -> Any:
    kept = strip_reply(text)
    return [kept.count("\n") + 1, kept[:40]]


def _kept_whole(text: str) -> bool:
    return strip_reply(text) == text.rstrip("\n")


def _lines_cut(strip: Callable[[str], str]) -> Callable[[str], int]:
    """How many lines ``strip`` takes off a text (the same at both sizes when it cuts only the text's end)."""
    return lambda text: len(text.splitlines()) - len(strip(text).splitlines())


def _valedictions(n: int) -> int:
    """Lines of "Kind regards": 100,000 at the larger size."""
    return 100_000 * n // SIZES[-1]


AUTH_POLICY = AuthPolicy(trusted_authserv_ids=frozenset({"mx.council.example"}),
                         internal_domains=frozenset({"example.test"}))
IRO = "Jane Iro <jane.iro@example.test>"
IRO_PASS = "mx.council.example; dmarc=pass header.from=example.test"


def _from_mail(from_: str, sender: str | None = None, results: str = IRO_PASS) -> ParsedMail:
    """A mail from jane.iro@example.test (as the email package would read it) whose raw headers are these."""
    headers = (("from", from_), *((("sender", sender),) if sender is not None else ()),
               ("authentication-results", results))
    return dataclasses.replace(_mail(headers=headers), from_=Address("Jane Iro", "jane.iro@example.test"),
                               raw_headers=tuple(pair for pair in headers if pair[0] in RAW_HEADERS))


def _authenticity(mail: ParsedMail) -> Any:
    verdict = assess(mail, AUTH_POLICY)
    return [verdict.authenticated, re.sub(r"\d+", "#", verdict.reasons[0])]


PROVEN = [True, "dmarc=pass for example.test from the council's gateway (mx.council.example)"]


def _themes(text: str) -> Any:
    reading = read_themes(text, KNOWN_THEMES)
    return [list(reading.themes), list(reading.unknown)]


# -- the adversarial families -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    family: str  # one child process per family
    name: str
    build: Callable[[int], Any]  # size -> input
    read: Callable[[Any], Any]  # input -> JSON-able result
    expected: Any  # the result at both sizes

    @property
    def id(self) -> str:
        return f"{self.family}: {self.name}"


DSN_HEAD = "Reporting-MTA: dns; mx.example.test\n\nFinal-Recipient: rfc822; tom@example.test\nAction: failed\n"
DSN_CT = "multipart/report"
REPORT_HEADERS = (("content-type", "multipart/report; report-type=delivery-status"),)

CASES: tuple[Case, ...] = (
    # read_command: the command at the top of a reply (the 85-second reply was one of these)
    Case("read_command", "extend by <EM run> x", lambda n: "Extend by " + EM * n + "x", _command, None),
    Case("read_command", "extend to <IDEOGRAPHIC run> Friday", lambda n: "Extend to" + IDEO * n + "Friday", _command,
         ["extend", None, "2026-12-04", None]),
    Case("read_command", "extend by 5 <thin> working <EM> days",
         lambda n: "Extend by" + run_of(MIXED, n) + "5" + THIN * n + "working" + EM * n + "days", _command,
         ["extend", None, None, 5]),
    Case("read_command", "extend by 5 <EM> - <EM> days", lambda n: "Extend by 5" + EM * n + "-" + EM * n + "days",
         _command, ["extend", None, None, 5]),
    Case("read_command", "extend to 18 <EM> December <EM> 2026",
         lambda n: "Extend to 18" + EM * n + "December" + NBSP * n + "2026", _command,
         ["extend", None, "2026-12-18", None]),
    Case("read_command", "extend until Fri <EM run> x", lambda n: "Extend until Fri" + EM * n + "x", _command,
         ["extend", None, "2026-12-04", None]),
    Case("read_command", "this is <mixed run> resolved", lambda n: "This is" + run_of(MIXED, n) + "resolved", _command,
         ["resolved", None, None, None]),
    Case("read_command", "this <thin run> x", lambda n: "this " + THIN * n + "x", _command, None),
    Case("read_command", "not resolved <EM run> x", lambda n: "Not resolved" + EM * n + "x", _command, None),
    Case("read_command", "close <EM> as <EM> resolved", lambda n: "Close" + EM * n + "as" + EM * n + "resolved",
         _command, ["resolved", None, None, None]),
    Case("read_command", "close <EM run> x", lambda n: "Close" + EM * n + "x", _command, None),
    Case("read_command", "escalate to level <EM> 3", lambda n: "Escalate to level" + EM * n + "3", _command,
         ["escalate", 3, None, None]),
    Case("read_command", "escalate <EM> to <EM> level <EM> x",
         lambda n: "Escalate" + EM * n + "to" + EM * n + "level" + EM * n + "x", _command, None),
    Case("read_command", "greeting <EM run>, then resolved", lambda n: "Hi" + EM * n + "all,\nResolved", _command,
         ["resolved", None, None, None]),
    Case("read_command", "lines of spaces, then resolved", lambda n: (EM * 40 + "\n") * (n // 40) + "Resolved",
         _command, ["resolved", None, None, None]),
    # the outcome or note text: the command's own words, up to the writer's sign-off (parsers.reply.sign_off_start)
    Case("command_text", "a name <EM run> surname under the line",
         lambda n: "Resolved – plan signed off\n\nIra" + EM * n + "Reviewer", _outcome,
         ["resolved", "plan signed off", 15]),
    Case("command_text", "Thanks <EM run> Ira under the line",
         lambda n: "Resolved – plan signed off\nThanks" + EM * n + "Ira", _outcome,
         ["resolved", "plan signed off", 15]),
    Case("command_text", "closing words after <EM run> on the command line",
         lambda n: "Resolved – plan" + EM * n + "signed off," + IDEO * n + "thanks" + EM * n + "Ira", _outcome,
         ["resolved", "plan signed off", 15]),
    Case("command_text", ". x . x . x ... thanks on the command line",
         lambda n: "Resolved – " + ". x" * (n // 3) + ", thanks", _outcome, ["resolved", "x" + ". x" * 13, 2000]),
    Case("command_text", "a name on every line", lambda n: "Resolved – plan signed off\n" + "Ira\n" * (n // 4),
         _outcome, ["resolved", "plan signed off", 15]),
    Case("command_text", "lines of spaces, then a name",
         lambda n: "Resolved – plan signed off\n" + (EM * 40 + "\n") * (n // 40) + "Ira", _outcome,
         ["resolved", "plan signed off", 15]),
    Case("command_text", "names between text and blank lines",
         lambda n: "Resolved – x\n" + ("done.\nJane Smith\n" + "\n" * 40) * (n // 60) + "end.", _outcome,
         ["resolved", "x\ndone.\nJane Smith" + "\n" * 22, 2000]),
    Case("command_text", "lines that go on to a name",
         lambda n: "Resolved – x\n" + "agreed with\nJane Smith\n" * (n // 24), _outcome,
         ["resolved", "x\nagreed with\nJane Smith\nagreed with\nJan", 2000]),
    Case("command_text", "a title block of one long line",
         lambda n: "Resolved – x\n\n" + "Independent Reviewing Officer " * (n // 30), _outcome,
         ["resolved", "x\n\nIndependent Reviewing Officer Indepen", 2000]),
    Case("command_text", "Tel: <digits run>", lambda n: "Resolved – x\nTel:" + "0" * n, _outcome,
         ["resolved", "x\nTel:" + "0" * 34, 2000]),
    Case("command_text", "a note of wrapped lines", lambda n: "Note:\n" + "a line, and\n" * (n // 12), _outcome,
         ["note", "a line, and\na line, and\na line, and\na li", 1999]),
    Case("command_text", "hypothesis: sign-off words and space runs", lambda n: n, _sign_offs_generated, "passed"),
    # read_response: a request for more time anywhere in a manager's reply
    Case("read_response", "extend by <EM run> x", lambda n: "Extend by " + EM * n + "x", _response,
         [True, None, None]),
    Case("read_response", "I need another <EM run> x", lambda n: "I need another " + EM * n + "x", _response,
         [False, None, None]),
    Case("read_response", "extension <EM run> !", lambda n: "extension" + EM * n + "!", _response, [True, None, None]),
    Case("read_response", "more time <IDEOGRAPHIC run>", lambda n: "more time " + IDEO * n, _response,
         [True, None, None]),
    Case("read_response", "another <mixed> 5 <mixed> working days",
         lambda n: "Could I have another" + run_of(MIXED, n) + "5" + run_of(MIXED, n) + "working days?", _response,
         [True, None, 5]),
    Case("read_response", "a 2 <EM> week <EM> extension",
         lambda n: "We would like a 2" + EM * n + "week" + EM * n + "extension please.", _response, [True, None, 10]),
    Case("read_response", "extend it by <thin> a further <thin> week",
         lambda n: "Please could we extend it by" + THIN * n + "a further" + THIN * n + "week", _response,
         [True, None, 5]),
    Case("read_response", "until <EM> Friday <EM> 18th December",
         lambda n: "Could I have until" + EM * n + "Friday" + EM * n + "18th December?", _response,
         [True, "2026-12-18", None]),
    Case("read_response", "respond by <EM> 18/12/2026", lambda n: "I will respond by" + EM * n + "18/12/2026.",
         _response, [True, "2026-12-18", None]),
    Case("read_response", "do not <EM> need <EM> an extension",
         lambda n: "I do not" + EM * n + "need" + EM * n + "an extension.", _response, [False, None, None]),
    Case("read_response", "extension <EM> no: 12345 (a phone extension)",
         lambda n: "Call me on extension" + EM * n + "no: 12345", _response, [False, None, None]),
    Case("read_response", "not not not ... extension", lambda n: "not " * (n // 4) + "extension", _response,
         [True, None, None]),
    Case("read_response", "could I have 5 5 5 ... days", lambda n: "Could I have " + "5 " * (n // 2) + "days",
         _response, [False, None, None]),
    Case("read_response", "many short sentences", lambda n: "Please. " * (n // 8), _response, [False, None, None]),
    # find_date (and scan_dates under it): positions are the caller's, so the text is not collapsed there
    Case("find_date", "1 <EM run> x", lambda n: "1" + EM * n + "x", _date, [None, 0]),
    Case("find_date", "by 1 <EM> December <EM> 2026", lambda n: "by 1" + EM * n + "December" + EM * n + "2026",
         _date, ["2026-12-01", 1]),
    Case("find_date", "5th of <EM run> x", lambda n: "5th of" + EM * n + "x", _date, [None, 0]),
    Case("find_date", "May <EM run> x", lambda n: "May" + EM * n + "x", _date, [None, 0]),
    Case("find_date", "December <mixed> 18 <mixed> 2026",
         lambda n: "December" + run_of(MIXED, n) + "18" + run_of(MIXED, n) + "2026", _date, ["2026-12-18", 1]),
    Case("find_date", "1 1 1 ...", lambda n: "1 " * (n // 2), _date, [None, 0]),
    Case("find_date", "1/1/1/...", lambda n: "1/" * (n // 2), _date, [None, 0]),
    Case("find_date", "Mon Mon Mon ...", lambda n: "Mon " * (n // 4), _date, [None, 0]),
    Case("find_date", "in in in ... 5 working days", lambda n: "in " * (n // 3) + "5 working days", _date,
         ["2026-12-08", 1]),
    # parse_subject
    Case("parse_subject", "RE <EM run>: house style",
         lambda n: "RE" + EM * n + ": Action - Level 1 escalation - Tom Example - MOSAIC 123456 - response by "
         "05/12/2026", _subject, [True, True, 1, ["123456"], "2026-12-05", None]),
    Case("parse_subject", "[ESC <EM> -12] Level <EM> 2", lambda n: "[ESC" + EM * n + "-12] Level" + EM * n + "2",
         _subject, [False, False, 2, [], None, "ESC-12"]),
    Case("parse_subject", "level 1 escalation a a a ... MOSAIC 123456",
         lambda n: "Level 1 escalation " + "a " * (n // 2) + "MOSAIC 123456", _subject,
         [False, True, 1, ["123456"], None, None]),
    # talk about a level, no child and no case: not an escalation since issue 13 (it was read as one before)
    Case("parse_subject", "level 1 escalation 1 1 1 ...", lambda n: "Level 1 escalation " + "1 " * (n // 2),
         _subject, [False, False, 1, [], None, None]),
    # the house shape (issue 13): a child's name in a slot of its own, the councils' wordings, years, Level 0
    Case("subject_grammar", "a name and joins, many times", lambda n: "Level 1 escalation - " + "Jane , " * (n // 7)
         + "Doe", _subject, [False, True, 1, [], None, None]),
    Case("subject_grammar", "particles, then a name", lambda n: "Level 1 escalation " + "de " * (n // 3) + "Jane",
         _subject, [False, True, 1, [], None, None]),
    Case("subject_grammar", "a long run of capitalised words", lambda n: "Action - Level 1 escalation - "
         + "Xyz " * (n // 4), _subject, [False, False, 1, [], None, None]),
    Case("subject_grammar", "a name, then talk, many times", lambda n: "Level 1 escalation " + "Amy team " * (n // 9),
         _subject, [False, False, 1, [], None, None]),
    Case("subject_grammar", "lower-case words in a subject that capitalises",
         lambda n: "Level 1 escalation - " + "jane " * (n // 5), _subject, [False, False, 1, [], None, None]),
    Case("subject_grammar", "Quality Alert Quality Alert ...", lambda n: "Quality Alert " * (n // 14), _subject,
         [False, False, None, [], None, None]),
    Case("subject_grammar", "Informal Problem Resolution Meeting ...",
         lambda n: "Informal Problem Resolution Meeting " * (n // 36), _subject, [False, False, None, [], None, None]),
    Case("subject_grammar", "Level 0 Level 0 ...", lambda n: "Level 0 " * (n // 8), _subject,
         [False, False, None, [], None, None]),
    Case("subject_grammar", "years after a level", lambda n: "Level 2 escalations " + "2026 " * (n // 5), _subject,
         [False, False, 2, ["2026"], None, None]),
    Case("subject_grammar", "quality <EM run> alert - Jane Doe",
         lambda n: "Quality" + EM * n + "Alert - Jane Doe - by" + EM * n + "the 9th", _subject,
         [False, True, None, [], "2026-12-09", None]),
    Case("subject_grammar", "house style, resp by <EM> Monday",
         lambda n: "Action - Level 1 escalation - Jane Doe - resp by" + IDEO * n + "Monday", _subject,
         [False, True, 1, [], "2026-12-07", None]),
    # find_date: a weekday or a day of the month alone after a deadline word
    Case("find_date_deadlines", "by this <EM run> Friday", lambda n: "by this" + EM * n + "Friday", _date,
         ["2026-12-04", 1]),
    Case("find_date_deadlines", "by Mon <EM> the <EM> 9th", lambda n: "by Mon" + EM * n + "the" + EM * n + "9th",
         _date, ["2026-12-09", 1]),
    Case("find_date_deadlines", "by the 9th <EM run> working", lambda n: "by the 9th" + EM * n + "working", _date,
         [None, 0]),
    Case("find_date_deadlines", "by Monday <EM run> week", lambda n: "by Monday" + EM * n + "week", _date,
         [None, 0]),
    Case("find_date_deadlines", "by <EM run> Monday", lambda n: "by" + THIN * n + "Monday", _date, [None, 0]),
    Case("find_date_deadlines", "by the the the ... 9th", lambda n: "by " + "the " * (n // 4) + "9th", _date,
         [None, 0]),
    Case("find_date_deadlines", "by this this this ... Friday", lambda n: "by " + "this " * (n // 5) + "Friday",
         _date, [None, 0]),
    Case("find_date_deadlines", "by close of business close of ... Friday",
         lambda n: "by " + "close of business " * (n // 18) + "Friday", _date, [None, 0]),
    Case("find_date_deadlines", "by Monday by Monday ...", lambda n: "by Monday " * (n // 10), _date_only,
         "2026-12-07"),
    Case("find_date_deadlines", "by the 9th by the 9th ...", lambda n: "by the 9th " * (n // 11), _date_only,
         "2026-12-09"),
    Case("find_date_deadlines", "by 1 Dec by Monday by 1 Dec ...", lambda n: "by 1 Dec by Monday " * (n // 19),
         _date_only, "2026-12-07"),
    Case("parse_subject", "normalise_subject: RE <EM run>: x", lambda n: "RE" + EM * n + ": x - " + "-" * n + " y",
         normalise_subject, "x - y"),
    # classify (machine-mail detection) on a built ParsedMail
    Case("classify", "subject RE <EM run> x", lambda n: _mail(subject="RE" + EM * n + "x"), _verdict,
         ["human", "no machine signs", [], None, None]),
    Case("classify", "subject out of office auto <EM run> x",
         lambda n: _mail(subject="out of office auto" + EM * n + "x"), _verdict,
         ["human", "no machine signs", [], None, None]),
    Case("classify", "subject [tag] <EM run> automatic reply",
         lambda n: _mail(subject="[EXTERNAL]" + EM * n + "Automatic reply: away"), _verdict,
         ["auto_reply", "subject: Automatic reply", [], None, None]),
    Case("classify", "X-Failed-Recipients of address characters",
         lambda n: _mail(headers=(("x-failed-recipients", "a." * (n // 2) + "!"),)), _verdict,
         ["bounce", "x-failed-recipients", [], None, None]),
    Case("classify", "X-Failed-Recipients: a run, then an address",
         lambda n: _mail(headers=(("x-failed-recipients", "a" * n + " tom@example.test"),)), _verdict,
         ["bounce", "x-failed-recipients", ["tom@example.test"], None, None]),
    Case("classify", "delivery-status with many folded lines",
         lambda n: _mail(content_type=DSN_CT, headers=REPORT_HEADERS,
                         delivery_status=DSN_HEAD + "Status: 5.1.1\nX-Note: a\n" + " b\n" * (10 * n)), _verdict,
         ["bounce", "multipart/report delivery-status", ["tom@example.test"], "5.1.1", None]),
    Case("classify", "NDR text: your message to x <EM run> y",
         lambda n: _mail(text="Your message to x" + EM * n + "y couldn't be delivered."), _verdict,
         ["human", "no machine signs", [], None, None]),
    Case("classify", "blank lines, then <address>:",
         lambda n: _mail(subject="Undeliverable: x", headers=(("return-path", "<>"),),
                         text="\n" * n + "<tom@example.test>: mailbox unavailable"), _verdict,
         ["bounce", "null return-path and failure subject", ["tom@example.test"], None, None]),
    Case("classify", "out of office <EM run> back on a date",
         lambda n: _mail(headers=(("auto-submitted", "auto-replied"),),
                         text="Out of office." + EM * n + "I am back on 7 December 2026."), _verdict,
         ["auto_reply", "auto-submitted: auto-replied", [], None, "2026-12-07"]),
    # classify on delivery reports: our rules, then flufl.bounce on the same text
    Case("classify_reports", "Unknown user: <EM run> x", lambda n: _report("Unknown user:" + EM * n + "x"), _delivery,
         ["bounce", "failed", [], []]),
    Case("classify_reports", "Unknown user: <EM run> an address",
         lambda n: _report("Unknown user:" + EM * n + "gone@example.test"), _delivery,
         ["bounce", "failed", ["gone@example.test"], []]),
    Case("classify_reports", "Delivery failed 20 attempts: <EM run> x",
         lambda n: _report("Delivery failed 20 attempts:" + EM * n + "x"), _delivery, ["bounce", "failed", [], []]),
    Case("classify_reports", "an address <EM run> on Friday",
         lambda n: _report("did not reach the following recipient(s):\ngone@example.test" + EM * n + "on Fri, 4 Dec"),
         _delivery, ["bounce", "failed", ["gone@example.test"], []]),
    Case("classify_reports", "a line of < after a report's opening (flufl.bounce)",
         lambda n: _report("The email below could not be delivered to the following user:\n" + "<" * n), _delivery,
         ["bounce", "failed", [], []]),
    Case("classify_reports", "a line of < after another report's opening (flufl.bounce)",
         lambda n: _report("Unable to deliver message to the following address(es).\n" + "<" * n), _delivery,
         ["bounce", "failed", [], []]),
    Case("classify_reports", "a line of address characters after Smail's opening (flufl.bounce)",
         lambda n: _report("Failed addresses follow:\n" + "a" * n), _delivery, ["bounce", "failed", [], []]),
    Case("classify_reports", "lines of < and a@ (flufl.bounce)",
         lambda n: _report("Failed addresses follow:\n" + ("<a@" * 133 + "\n") * (n // 400)), _delivery,
         ["bounce", "failed", [], []]),
    Case("classify_reports", "a run of dashes, then the returned mail",
         lambda n: _report("-" * n + " Original message follows\ngone@example.test"), _delivery,
         ["bounce", "failed", [], []]),
    Case("classify_reports", "----- failed recipients <EM run> -----",
         lambda n: _report("-----" + EM * n + "Failed Recipients" + EM * n + "-----\n<gone@example.test>: 550"),
         _delivery, ["bounce", "failed", ["gone@example.test"], []]),
    Case("classify_reports", "the same address again and again",
         lambda n: _report("Your mail could not be delivered.\n" + "gone@example.test " * (n // 18)), _delivery,
         ["bounce", "failed", ["gone@example.test"], []]),
    Case("classify_reports", "quoted address characters, no at sign",
         lambda n: _report('"' + "a." * (n // 2) + '":'), _delivery, ["bounce", "failed", [], []]),
    Case("classify_reports", "Message-ID: lines of address characters",
         lambda n: _report("Message-ID: <" + "a" * n + "@example.test>\ngone@example.test"), _delivery,
         ["bounce", "failed", ["gone@example.test"], []]),
    Case("classify_reports", "subject a@a@a@... - user unknown",
         lambda n: _report("x", subject="Warning: " + "a@" * (n // 2) + " - User unknown!"), _delivery,
         ["auto_reply", None, [], []]),
    Case("classify_reports", "subject aaa...@example.test - user unknown",
         lambda n: _report("x", subject="Warning: " + "a" * n + "@example.test - User unknown!"), _delivery,
         ["bounce", "failed", [], []]),
    Case("classify_reports", "delay warning with a run of spaces",
         lambda n: _report("Delivery attempts will continue" + EM * n + "to be made.\nslow@example.test",
                           subject="Mail Delivery Warning"), _delivery,
         ["bounce", "delayed", [], ["slow@example.test"]]),
    Case("classify_reports", "delivery-status: Original-Recipient of address characters",
         lambda n: _report("x", delivery_status="Reporting-MTA: dns; mx\n\nOriginal-Recipient: rfc822; " + "a." * n
                           + "\nFinal-Recipient: rfc822; gone@example.test\nAction: failed\nStatus: 5.1.1"), _delivery,
         ["bounce", "failed", ["gone@example.test"], []]),
    # strip_reply
    Case("strip_reply", "wrote <EM run> x", lambda n: "Resolved.\n\nOn 1 Dec 2026, Tom wrote" + EM * n + "x",
         _reply, [3, "Resolved.\n\nOn 1 Dec 2026, Tom wrote" + EM * 5]),
    Case("strip_reply", "attribution with trailing <EM run>, then a quote",
         lambda n: "Resolved.\n\nOn 1 Dec 2026, Tom wrote:" + EM * n + "\n> old", _reply, [1, "Resolved."]),
    Case("strip_reply", "<EM run> x", lambda n: "Resolved.\n\n" + EM * n + "x", _reply, [3, "Resolved.\n\n" + EM * 29]),
    Case("strip_reply", "From <EM run> x", lambda n: "Resolved.\n\nFrom" + EM * n + "x", _reply,
         [3, "Resolved.\n\nFrom" + EM * 25]),
    Case("strip_reply", "<EM run> -----Original Message----- <EM run>",
         lambda n: "Resolved.\n\n" + EM * n + "-----Original Message-----" + EM * n + "\nold", _reply,
         [1, "Resolved."]),
    Case("strip_reply", "lines of address characters (all kept)",
         lambda n: "Resolved.\n\n" + ("1 " + "a." * 140 + "\n") * (n // 40), _kept_whole, True),
    Case("strip_reply", "-- x------...9", lambda n: "Resolved.\n\n-- x" + "-" * n + "9", _reply,
         [3, "Resolved.\n\n-- x" + "-" * 25]),
    Case("strip_reply", "a title line with long dashes", lambda n: "Resolved.\n\n-- Forwarded " + "-" * n + "\nold",
         _reply, [1, "Resolved."]),
    Case("strip_reply", "a trailing run of dashes", lambda n: "Resolved.\n\n" + "-" * n, _reply, [1, "Resolved."]),
    # strip_signature: for each valediction, the non-blank lines after it (once counted again for each one)
    Case("strip_signature", "100,000 lines of Kind regards", lambda n: "Kind regards\n" * _valedictions(n),
         _lines_cut(strip_signature), 31),
    Case("strip_signature", "100,000 lines of Kind regards, through strip_reply",
         lambda n: "Resolved.\n\n" + "Kind regards\n" * _valedictions(n), _lines_cut(strip_reply), 31),
    Case("strip_signature", "100,000 lines of Regards, between blank lines",
         lambda n: "Regards,\n\n" * _valedictions(n), _lines_cut(strip_signature), 63),
    Case("strip_signature", "100,000 lines of Kind regards, then 31 lines (nothing cut)",
         lambda n: "Kind regards\n" * _valedictions(n) + "Resolved.\n" * 31, _lines_cut(strip_signature), 0),
    # assess: the raw From, Sender and Authentication-Results read in one pass each
    Case("assess", "From: a quoted string of quoted-pairs",
         lambda n: _from_mail('"' + '\\"' * n + '" <jane.iro@example.test>'), _authenticity, PROVEN),
    Case("assess", "From: broken encoded words", lambda n: _from_mail("=?a?q?" * n + " <jane.iro@example.test>"),
         _authenticity, PROVEN),
    Case("assess", "From: encoded addresses in the display name",
         lambda n: _from_mail("=?utf-8?q?a=40b.example?= " * (n // 20) + "<jane.iro@example.test>"), _authenticity,
         [False, "the From display name contains another address, a@b.example"]),
    Case("assess", "From: a word of at signs before the angle address",
         lambda n: _from_mail("a" + "@" * n + " <jane.iro@example.test>"), _authenticity, [False, "# From mailboxes"]),
    Case("assess", "Sender: angle brackets", lambda n: _from_mail(IRO, "jane.iro@example.test " + "<" * n),
         _authenticity, [False, "# Sender mailboxes"]),
    Case("assess", "Authentication-Results: encoded words",
         lambda n: _from_mail(IRO, results="mx.council.example; " + "=?a?q?dmarc=3Dpass?= " * (n // 20)),
         _authenticity, [False, "the council's gateway reported no dmarc=pass for example.test, and no spf=pass or "
                                "dkim=pass aligned with it"]),
    Case("assess", "Authentication-Results: =?=?=?...", lambda n: _from_mail(IRO, results=IRO_PASS + " " + "=?" * n),
         _authenticity, PROVEN),
    # read_themes
    Case("read_themes", "Theme: drift <EM> ; <IDEOGRAPHIC> Education",
         lambda n: "Theme: drift" + EM * n + ";" + IDEO * n + "Education", _themes,
         [["Drift or delay in care planning", "Education"], []]),
    Case("read_themes", "Theme: a <EM run> b", lambda n: "Theme: a" + EM * n + "b", _themes, [["a b"], ["a b"]]),
    Case("read_themes", "Themes: <spaces> and <EM> Education",
         lambda n: "Themes:" + " \u2003" * (n // 2) + "and" + EM * n + "Education", _themes, [["Education"], []]),
    Case("read_themes", "many Theme lines", lambda n: "Theme: x\n" * (n // 8), _themes, [["x"], ["x"]]),
)
FAMILIES = tuple(dict.fromkeys(case.family for case in CASES))
HYPOTHESIS = "hypothesis"


# -- the children -------------------------------------------------------------------------------------------


def _limit_cpu() -> None:
    """Let the kernel stop this process (SIGXCPU, then SIGKILL) once it has used CPU_SECONDS; no core file."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 1))


def _raise_caps() -> None:
    for module, name in CAPS:
        loaded = importlib.import_module(module)
        assert isinstance(getattr(loaded, name), int), (module, name)
        setattr(loaded, name, 10**9)


def child_main(family: str) -> None:
    """Run in a child process: read every case of ``family`` at both sizes and print the results as JSON."""
    _limit_cpu()
    if family == HYPOTHESIS:
        _hypothesis_property()
        print(json.dumps({"examples": "passed"}))
        return
    _raise_caps()
    results = {case.name: [case.read(case.build(size)) for size in SIZES] for case in CASES if case.family == family}
    print(json.dumps(results))


_NOT_A_LINE_BREAK_SPACE = re.compile(r"[^\S\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")


def _hypothesis_property() -> None:
    """Generated text mixing long Unicode space runs with the words the patterns look for: every entry point
    returns, and the commands read the same as from the text with each run of spaces written as one space."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    _raise_caps()
    words = st.sampled_from([
        "extend", "extension", "by", "to", "until", "more", "time", "another", "a", "further", "working", "days",
        "week", "level", "stage", "escalate", "resolved", "not", "need", "please", "could", "I", "have", "Friday",
        "18", "5", "3", "December", "2026", "18/12/2026", "RE:", "From:", "wrote:", "Theme:", "and", ",", ";", ".",
        "-", "?", "\n", ">", "@", "tom@example.test", "MOSAIC", "123456", "Hi", "this", "is", "close", "as",
    ])  # fmt: skip
    spaces = st.builds(lambda space, k: space * k, st.sampled_from(list(MIXED)), st.integers(1, 1000))
    texts = st.lists(st.tuples(words, st.one_of(spaces, words)), max_size=16).map(lambda pairs: "".join(sum(pairs, ())))

    @settings(max_examples=60, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(text=texts)
    def property_(text: str) -> None:
        collapsed = _NOT_A_LINE_BREAK_SPACE.sub(" ", text)
        assert _command(text) == _command(collapsed)
        assert _response(text) == _response(collapsed)
        found = find_date(text, RECEIVED)
        assert found.date is None or isinstance(found.date, date)
        facts = parse_subject(text, RECEIVED)
        assert facts.level is None or 1 <= facts.level <= 5
        assert len(strip_reply(text)) <= len(text)
        reading = read_themes(text, KNOWN_THEMES)
        assert set(reading.unknown) <= set(reading.themes)
        verdict = classify(_mail(subject=text, text=text, headers=(("x-failed-recipients", text),)), RECEIVED)
        assert verdict.kind == "bounce"

    property_()


# -- the tests ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    code: int
    out: str
    err: str
    hung: bool = False


@pytest.fixture(scope="module")
def children() -> dict[str, Finished]:
    """Every family's child, started together (their CPU limits are per process), once it has finished."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    started = {
        family: subprocess.Popen(
            [sys.executable, "-c", f"from tests.parsers.test_linear_time import child_main; child_main({family!r})"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for family in (*FAMILIES, HYPOTHESIS)
    }  # fmt: skip
    finished: dict[str, Finished] = {}
    for family, process in started.items():
        try:
            out, err = process.communicate(timeout=HANG_GUARD_SECONDS)
            finished[family] = Finished(process.returncode, out, err)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            finished[family] = Finished(process.returncode, out, err, hung=True)
    return finished


def _results(children: dict[str, Finished], family: str) -> dict[str, Any]:
    child = children[family]
    assert not child.hung, f"{family}: blocked for {HANG_GUARD_SECONDS} s without using its CPU\n{child.err[-2000:]}"
    if child.code in (-signal.SIGXCPU, -signal.SIGKILL):
        name = signal.Signals(-child.code).name
        pytest.fail(f"{family}: stopped by the kernel ({name}) at its limit of {CPU_SECONDS} s of CPU: super-linear")
    assert child.code == 0, f"{family}: child exited with {child.code}\n{child.err[-4000:]}"
    results: dict[str, Any] = json.loads(child.out)
    return results


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_adversarial_input_is_read_in_linear_time(children: dict[str, Finished], case: Case) -> None:
    results = _results(children, case.family)
    assert results[case.name] == [case.expected] * len(SIZES)


def test_generated_text_with_unicode_space_runs(children: dict[str, Finished]) -> None:
    assert _results(children, HYPOTHESIS) == {"examples": "passed"}


def test_each_case_is_named_once() -> None:
    assert len({case.id for case in CASES}) == len(CASES)
