"""Reading UK-style response dates out of short text (subject lines, reply commands).

Pure: no clock reads. Dates are read day-first only (``09/12/2026`` is 9 December); a date that is
impossible that way (``12/13/2026``, ``31/11/2026``) is reported and ignored, never guessed.
Accepted forms::

    09/12/2026  9/12/26  09.12.2026  09-12-2026  2026-12-09  9 December 2026  9 Dec 2026
    Wed 9 Dec 2026  Wednesday 9th December 2026  21st December  2nd Dec  December 9th 2026
    05/12 (only after "by", "due", ...)  in 5 working days  within 10 working days  within 5 WD
    in 3 days  within 2 weeks

and, in :func:`find_date` only (a deadline, after "by", "due", "response", "resp", "deadline", "before",
"until", ...)::

    response by Monday  resp by Fri  due this Thursday  by COB Friday  by the 9th  by 9th  by Wed 9th

A date without a year means its next occurrence on or after the received date. So does a weekday name or
a day of the month alone: "by Monday" received on a Monday is that same day ("on or after": the IRO wrote
the day it is due, and a deadline a week away would have said "Monday week" or given the date), and "by
the 9th" received on the 20th is the 9th of the next month (of the next month that has a 31st for "the
31st", with a warning). "next Monday" and "Monday week" are ambiguous and give no date. Relative periods
are counted from the received date: working days through the caller's ``add_working_days`` (Monday to
Friday with a warning when none is given), calendar days then moved to a working day.

:func:`find_date` picks the response date: the last date introduced by "response by", "by", "due",
"deadline", ... if there is one, else the last date in the text. :func:`scan_dates` lists every
date-like mention with its position, so callers can keep dates apart from case numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from itertools import accumulate

__all__ = [
    "AddWorkingDays",
    "DateFind",
    "DateMention",
    "find_date",
    "next_occurrence",
    "resolve_received",
    "scan_dates",
    "weekday_add_working_days",
]

AddWorkingDays = Callable[[date, int], date]

#: Longest text examined; longer input is cut (subject lines and commands are short).
MAX_TEXT_CHARS = 5000

MONTHS: dict[str, int] = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
WEEKDAYS: dict[str, int] = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
NUMBER_WORDS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
}  # fmt: skip

_L = r"[^\W\d_]"  # one letter, any script
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_WEEKDAY = (
    r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?"
    r"|sat(?:urday)?|sun(?:day)?)"
)
_WD_PREFIX = rf"(?:(?P<wd>{_WEEKDAY})\.?(?!{_L}),?\s*(?:the\s+)?)?"
_ORD = r"(?:st|nd|rd|th)?"
_NUMWORDS = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))

# Each pattern is linear: no nested unbounded quantifiers, and a run of spaces that two quantifiers could share
# ("\s*-?\s*") is taken whole by a possessive "\s*+", so a long run of (Unicode) spaces cannot be split in
# n^2 ways. Positions are reported in the caller's text, so it is not collapsed here.
_NUMERIC = re.compile(
    rf"(?<![\w]){_WD_PREFIX}(?<!\d)(?P<d>\d{{1,2}})(?P<sep>[/.\-])(?P<m>\d{{1,2}})(?P=sep)"
    r"(?P<y>\d{4}|\d{2})(?!\d|[/.\-]\d)",
    re.IGNORECASE,
)
_ISO = re.compile(r"(?<![\d/.])(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?!\d|[/.\-]\d)")
_NUMERIC_NO_YEAR = re.compile(r"(?<![\d/.\-])(?P<d>\d{1,2})/(?P<m>\d{1,2})(?![\d/]|\.\d)")
_DAY_MONTH = re.compile(
    rf"(?<![\w]){_WD_PREFIX}(?<!\d)(?P<d>\d{{1,2}}){_ORD}(?:\s+of)?\s*+[-/.]?\s*+"
    rf"(?P<mon>{_MONTH})\.?(?!{_L})(?:,?\s*+[-/.]?\s*+(?P<y>\d{{4}}|\d{{2}})(?!\d|[/.:]\d))?",
    re.IGNORECASE,
)
_MONTH_DAY = re.compile(
    rf"(?<!{_L}){_WD_PREFIX}(?P<mon>{_MONTH})\.?\s*+-?\s*+(?P<d>\d{{1,2}}){_ORD}(?![\w])"
    r"(?:,?\s*(?P<y>\d{4})(?!\d))?",
    re.IGNORECASE,
)
_MONTH_YEAR = re.compile(rf"(?<!{_L})(?P<mon>{_MONTH})\.?,?\s*(?P<y>\d{{4}})(?!\d)", re.IGNORECASE)
_RELATIVE = re.compile(
    rf"(?:(?<!{_L})(?:in|within|inside|over)\s+(?:the\s+next\s+)?)?(?<![\w.,/])(?P<n>\d{{1,2}}|{_NUMWORDS})"
    r"\s*(?:(?P<work>(?:working|work|business|wkg)\s*days?|wds?|w/d|w\.d\.?|workdays?|wkdays?)"
    r"|(?P<cal>(?:calendar\s+)?days?)|(?P<weeks>weeks?|wks?))(?![\w])",
    re.IGNORECASE,
)
_INTRODUCER = re.compile(
    r"(?:\b(?:by|due|deadline|response|respond|resp|responses|reply|expected|return|returned|before"
    r"|until|till|nlt|later\s+than|to|dl)\b)"
    r"[\s:\-.,]*(?:(?:on|date|is|of|the|required|needed|requested|no|dated)\b[\s:\-.,]*){0,3}$",
    re.IGNORECASE,
)


@cache
def _deadline_introducer() -> re.Pattern[str]:
    """A deadline written as a weekday name or a day of the month alone is read only after a deadline word ("to" is
    not one here: "moved to Monday's panel", "talk to the 2nd"), with room for "close of business" and the like.
    Compiled when first needed (a weekday or a lone day in the text), not on import: 0.4 ms of a start."""
    return re.compile(
        r"(?:\b(?:by|due|deadline|response|respond|resp|responses|reply|expected|return|returned|before|until|till"
        r"|nlt|later\s+than|dl)\b)"
        r"[\s:\-.,]*(?:(?:on|date|is|of|the|required|needed|requested|no|dated|cob|eod|eob"
        r"|close\s+of\s+(?:business|play)|end\s+of(?:\s+(?:the|play))?(?:\s+day)?)\b[\s:\-.,]*){0,4}$",
        re.IGNORECASE,
    )


_WEEKDAY_ALONE = re.compile(
    rf"(?<![\w/.\-])(?:(?P<qual>this\s++coming|this|coming|next)\s++)?(?P<wd>{_WEEKDAY})\.?"
    rf"(?!{_L}|\d|['’]s?(?!{_L})|\s++week(?!{_L})|\s++after(?!{_L}))",
    re.IGNORECASE,
)
_DAY_ALONE = re.compile(
    rf"(?<![\w/.\-]){_WD_PREFIX}(?:the\s++)?(?<![\w/.\-])(?P<d>\d{{1,2}})(?:st|nd|rd|th)(?!{_L}|\d)"
    r"(?!\s*+(?:working|work|business|calendar|day|days|week|weeks|month|months|time|times|floor|level|stage"
    r"|escalation|attempt|request|reminder|chaser|review|meeting)(?![\w]))",
    re.IGNORECASE,
)
_BIRTH = re.compile(r"(?:\bdob|\bd\.o\.b|\bborn|\bbirth|\bb\.)[\s:.\-]*(?:on\b[\s:.\-]*)?$", re.IGNORECASE)
_LOOKBACK = 40


@dataclass(frozen=True)
class DateMention:
    """One date-like piece of text.

    ``kind`` is ``"date"`` (an absolute date), ``"relative"`` ("in 5 working days"), ``"birth"``
    (after "DOB"/"born": never a response date) or ``"partial"`` ("December 2026": no day).
    ``date`` is None when the text could not be turned into a date; ``problem`` then says why.
    """

    start: int
    end: int
    text: str
    kind: str
    date: date | None
    introduced: bool
    problem: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class DateFind:
    """The response date read from a text, the text it came from, and plain-English warnings."""

    date: date | None
    text: str | None
    warnings: tuple[str, ...] = ()
    mentions: tuple[DateMention, ...] = ()
    start: int | None = None
    end: int | None = None


def resolve_received(received: object) -> date | None:
    """Accept a ``date`` or ``datetime`` (taken as its date); anything else is None."""
    if isinstance(received, datetime):
        return received.date()
    if isinstance(received, date):
        return received
    return None


def weekday_add_working_days(start: date, days: int) -> date:
    """Monday-to-Friday working days, no bank holidays: the fallback calendar.

    ``days == 0`` gives ``start`` if it is a weekday, else the following Monday.
    """
    current = start
    if current.weekday() >= 5:
        current += timedelta(days=7 - current.weekday())  # the following Monday
        if days <= 0:
            return current
        days -= 1  # that Monday is the first working day counted
    remaining = max(days, 0)
    # Whole weeks first, so large counts stay cheap (five working days from a weekday is +7 days).
    weeks, remaining = divmod(remaining, 5)
    current += timedelta(weeks=weeks)
    while remaining:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def _two_digit_year(text: str) -> int:
    value = int(text)
    return 2000 + value if len(text) <= 2 else value


def _month_number(name: str) -> int:
    return MONTHS[name[:3].casefold()]


def next_occurrence(day: int, month: int, received: date) -> date | None:
    """The first date with this day and month on or after ``received`` (29 Feb may be years away)."""
    for year in range(received.year, received.year + 9):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= received:
            return candidate
    return None


class _Calendar:
    """Wraps the caller's working-day function, falling back to Monday-Friday with a warning."""

    def __init__(self, add_working_days: AddWorkingDays | None) -> None:
        self._func = add_working_days
        self.warnings: list[str] = []

    def add(self, start: date, days: int) -> date:
        if self._func is not None:
            try:
                result = self._func(start, days)
            except Exception:  # a broken calendar must not stop the parse
                import logging  # here, not on import: reading a date does not import logging

                logging.getLogger(__name__).debug("add_working_days failed", exc_info=True)
            else:
                if isinstance(result, date):
                    return resolve_received(result) or result
            self._note(
                "the working-day calendar failed; weekends were skipped but bank holidays were not considered"
            )
        else:
            self._note("working days counted Monday to Friday; bank holidays were not considered")
        return weekday_add_working_days(start, days)

    def _note(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)


def _deadline_introduced(text: str, start: int) -> bool:
    return _deadline_introducer().search(text[max(0, start - _LOOKBACK) : start]) is not None


def _introduced(text: str, start: int) -> bool:
    return _INTRODUCER.search(text[max(0, start - _LOOKBACK) : start]) is not None


def _is_birth(text: str, start: int) -> bool:
    return _BIRTH.search(text[max(0, start - 20) : start]) is not None


def _build_absolute(
    text: str, match: re.Match[str], parts: tuple[int, int, int | None], received: date | None
) -> DateMention:
    day, month, year = parts
    start, end = match.span()
    shown = match.group(0)

    def mention(value: date | None, problem: str | None = None) -> DateMention:
        kind = "birth" if _is_birth(text, start) else "date"
        note = _weekday_note(match, value) if value is not None else None
        return DateMention(start, end, shown, kind, value, _introduced(text, start), problem, note)

    impossible = f"impossible date '{shown}' ignored"
    if year is None:
        if received is None:
            return mention(None, f"date '{shown}' has no year and the received date is unknown; ignored")
        found = next_occurrence(day, month, received) if 1 <= month <= 12 else None
        return mention(found, None if found else impossible)
    try:
        value = date(year, month, day)
    except ValueError:
        hint = " (dates are read as day/month/year)" if month > 12 and 1 <= day <= 12 else ""
        return mention(None, impossible + hint)
    if not 2000 <= year <= 2099 and not _is_birth(text, start):
        return mention(None, f"date '{shown}' has an implausible year; ignored")
    return mention(value)


def _weekday_note(match: re.Match[str], value: date) -> str | None:
    written = match.groupdict().get("wd")
    if not written:
        return None
    if WEEKDAYS[written[:3].casefold()] != value.weekday():
        return f"the weekday in '{match.group(0)}' does not match the date; the day and month were used"
    return None


def _absolute_mentions(text: str, received: date | None) -> list[DateMention]:
    read: list[tuple[re.Match[str], tuple[int, int, int | None]]] = []
    for match in _NUMERIC.finditer(text):
        read.append((match, (int(match["d"]), int(match["m"]), _two_digit_year(match["y"]))))
    for match in _ISO.finditer(text):
        read.append((match, (int(match["d"]), int(match["m"]), int(match["y"]))))
    for match in _DAY_MONTH.finditer(text):
        year = _two_digit_year(match["y"]) if match["y"] else None
        read.append((match, (int(match["d"]), _month_number(match["mon"]), year)))
    for match in _MONTH_DAY.finditer(text):
        year = int(match["y"]) if match["y"] else None
        read.append((match, (int(match["d"]), _month_number(match["mon"]), year)))
    for match in _NUMERIC_NO_YEAR.finditer(text):
        # "5/12" is only a date when something like "by" or "due" introduces it ("Level 1/2" is not).
        if _introduced(text, match.start()):
            read.append((match, (int(match["d"]), int(match["m"]), None)))
    found = [_build_absolute(text, match, parts, received) for match, parts in read]
    for match in _MONTH_YEAR.finditer(text):
        start, end = match.span()
        found.append(
            DateMention(
                start,
                end,
                match.group(0),
                "partial",
                None,
                _introduced(text, start),
                f"date '{match.group(0)}' has no day; ignored",
            )
        )
    return found


def _next_weekday(weekday: int, received: date) -> date | None:
    """The first date on ``weekday`` on or after ``received`` (the same day counts)."""
    try:
        return received + timedelta(days=(weekday - received.weekday()) % 7)
    except OverflowError:
        return None


def _next_day_of_month(day: int, received: date) -> date | None:
    """The first date with day-of-month ``day`` on or after ``received`` (a month without that day is passed)."""
    year, month = received.year, received.month
    for _ in range(13):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= received:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        if year > 9999:
            return None
    return None


def _deadline_mentions(text: str, received: date | None) -> list[DateMention]:
    """Weekday names and days of the month alone after a deadline word ("by Monday", "resp by the 9th")."""
    found: list[DateMention] = []
    for match in _WEEKDAY_ALONE.finditer(text):
        start, end = match.span()
        if not _deadline_introduced(text, start):
            continue
        shown = match.group(0)
        qualifier = " ".join((match["qual"] or "").casefold().split())
        if qualifier == "next":
            found.append(DateMention(start, end, shown, "date", None, True,
                                     f"'{shown}' is ambiguous (this week's or the week after?); ignored"))
            continue
        if received is None:
            found.append(DateMention(start, end, shown, "date", None, True,
                                     f"'{shown}' needs the received date, which is unknown; ignored"))
            continue
        value = _next_weekday(WEEKDAYS[match["wd"][:3].casefold()], received)
        problem = None if value is not None else f"'{shown}' falls outside the calendar; ignored"
        found.append(DateMention(start, end, shown, "date", value, True, problem))
    for match in _DAY_ALONE.finditer(text):
        start, end = match.span()
        if not _deadline_introduced(text, start):
            continue
        shown = match.group(0)
        day = int(match["d"])
        if not 1 <= day <= 31:
            found.append(DateMention(start, end, shown, "date", None, True, f"impossible date '{shown}' ignored"))
            continue
        if received is None:
            found.append(DateMention(start, end, shown, "date", None, True,
                                     f"date '{shown}' has no month and the received date is unknown; ignored"))
            continue
        value = _next_day_of_month(day, received)
        if value is None:
            found.append(DateMention(start, end, shown, "date", None, True,
                                     f"'{shown}' falls outside the calendar; ignored"))
            continue
        note = None
        if match["wd"] and WEEKDAYS[match["wd"][:3].casefold()] != value.weekday():
            note = f"the weekday in '{shown}' does not match the date; the day of the month was used"
        expected_month = received.month + (1 if day < received.day else 0)  # 13: January of the next year
        if note is None and (value.year - received.year) * 12 + value.month != expected_month:
            note = f"the next month with a {_ordinal(day)} is {value:%B %Y}; {value.day} {value:%B %Y} was used"
        found.append(DateMention(start, end, shown, "date", value, True, None, note))
    return found


def _ordinal(day: int) -> str:
    """``9`` -> ``9th``, ``21`` -> ``21st``."""
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _relative_mentions(text: str, received: date | None, calendar: _Calendar) -> list[DateMention]:
    found: list[DateMention] = []
    for match in _RELATIVE.finditer(text):
        start, end = match.span()
        shown = match.group(0)
        raw = match["n"].casefold()
        count = int(raw) if raw.isdigit() else NUMBER_WORDS[raw]
        if received is None:
            found.append(
                DateMention(
                    start,
                    end,
                    shown,
                    "relative",
                    None,
                    True,
                    f"'{shown}' needs the received date, which is unknown; ignored",
                )
            )
            continue
        try:
            if match["work"]:
                value = calendar.add(received, count)
            else:
                days = count * 7 if match["weeks"] else count
                value = calendar.add(received + timedelta(days=days), 0)
        except OverflowError:
            found.append(
                DateMention(
                    start,
                    end,
                    shown,
                    "relative",
                    None,
                    True,
                    f"'{shown}' falls outside the calendar; ignored",
                )
            )
            continue
        found.append(DateMention(start, end, shown, "relative", value, True))
    return found


def _without_overlaps(mentions: list[DateMention]) -> list[DateMention]:
    """Keep the earliest-starting, then longest, of overlapping mentions."""
    kept: list[DateMention] = []
    for mention in sorted(mentions, key=lambda m: (m.start, -(m.end - m.start))):
        if kept and mention.start < kept[-1].end:
            continue
        kept.append(mention)
    return kept


def scan_dates(
    text: str | None,
    received: date | None = None,
    add_working_days: AddWorkingDays | None = None,
    *,
    deadlines: bool = False,
) -> tuple[tuple[DateMention, ...], tuple[str, ...]]:
    """Every date-like mention in ``text`` in order, and calendar warnings (fallback used).

    ``deadlines``: also weekday names and days of the month alone after a deadline word ("by Monday", "by the
    9th"), as :func:`find_date` reads them; off by default (other callers read weekdays their own way).
    """
    if not isinstance(text, str) or not text:
        return (), ()
    text = text[:MAX_TEXT_CHARS]
    received = resolve_received(received)
    calendar = _Calendar(add_working_days)
    mentions = _absolute_mentions(text, received)
    # Relative phrases must not steal the day of "5 December"; absolute mentions win overlaps
    # because they are listed first and "in 5 days" never starts inside one.
    mentions.extend(_relative_mentions(text, received, calendar))
    if deadlines:
        # A weekday or a lone day never takes a piece of a fuller date ("this Friday 9th December"): the characters
        # the other mentions cover are counted once, so each overlap is one subtraction.
        covered = bytearray(len(text))
        for mention in mentions:
            covered[mention.start : mention.end] = b"\x01" * (mention.end - mention.start)
        counts = [0, *accumulate(covered)]
        mentions.extend(m for m in _deadline_mentions(text, received) if counts[m.end] == counts[m.start])
    return tuple(_without_overlaps(mentions)), tuple(calendar.warnings)


def find_date(
    text: str | None, received: date | None = None, add_working_days: AddWorkingDays | None = None
) -> DateFind:
    """Read the response date from ``text`` (see the module docstring). Never raises."""
    try:
        return _find_date(text, resolve_received(received), add_working_days)
    except Exception:  # pragma: no cover - defensive: the parser must never stop the service
        import logging

        logging.getLogger(__name__).warning("date parsing failed unexpectedly", exc_info=True)
        return DateFind(None, None, ("the date could not be read",))


def _find_date(text: str | None, received: date | None, add_working_days: AddWorkingDays | None) -> DateFind:
    mentions, calendar_warnings = scan_dates(text, received, add_working_days, deadlines=True)
    warnings: list[str] = []
    candidates = [m for m in mentions if m.kind in ("date", "relative")]
    introduced = [m for m in candidates if m.introduced]
    chosen = introduced[-1] if introduced else (candidates[-1] if candidates else None)
    for mention in mentions:
        if mention.kind == "birth" or mention.problem is None:
            continue
        if mention.kind == "partial" and chosen is not None:
            continue
        warnings.append(mention.problem)
    if chosen is None or chosen.date is None:
        return DateFind(None, None, tuple(_unique(warnings)), mentions)
    if chosen.kind == "relative":
        warnings.extend(calendar_warnings)
    if chosen.note:
        warnings.append(chosen.note)
    if received is not None:
        if chosen.date < received:
            warnings.append("response date is before the mail was received")
        elif (chosen.date - received).days > 366:
            warnings.append("response date is more than a year after the mail was received")
    return DateFind(chosen.date, chosen.text, tuple(_unique(warnings)), mentions, chosen.start, chosen.end)


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if not (x in seen or seen.add(x))]
