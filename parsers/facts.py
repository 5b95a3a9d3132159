"""Reading the one-line facts an IRO (or a meeting's chair) writes in a reply, and the case type in a subject line.

Pure: no I/O, no clock reads; stdlib and :mod:`parsers.dates` only. Two readers, both of which never raise:

:func:`read_facts` reads ``Label: value`` lines (also ``Label - value``, ``Label = value``) at the start of a line
of the new text of a reply (the caller passes the text above the quoted history). Labels are read in any case,
with optional markup (``*Proceedings*:``, ``**Case type:**``), an optional bullet and an optional note in
brackets ("Guardian (Cafcass): ..."); a table row as :mod:`parsers.html` writes it ("Proceedings | Yes") is a
fact line too. Any run of whitespace (a no-break space, U+2003 EM SPACE, ...) reads as one space, and zero-width
characters are dropped. Facts::

    proceedings   Proceedings: yes | In proceedings: no | Care proceedings: Y | Subject to court proceedings: yes
                  (yes / y / true / ongoing / in proceedings -> True; no / n / none / not / false -> False)
    case_type     Case type: CP | CPP | Child protection -> "child-protection";
                  Case type: LAC | CLA | CiC | Looked after | Child in care -> "looked-after"
    guardian      Guardian: Gill Green <gill.green@cafcass.gov.uk> | Children's guardian - gill.green@cafcass.gov.uk
                  -> "gill.green@cafcass.gov.uk" (the one valid address of the line, lower-cased)
    meeting_at    Meeting: 10/12/2026 14:00 | Meeting: Thursday 10 December at 2pm | Meeting on 10 Dec 14:30, Room 3
                  | Meeting date: 10/12/2026 with Meeting time: 2.30pm (both lines)
    meeting_place the rest of the meeting line after its time ("Room 3", "Teams"), or a "Venue:" / "Location:" line;
                  "" when no meeting time was read
    outcome       Outcome: ... | Minutes: ... and the lines after it, up to a blank line, a sign-off or another fact

A meeting is a naive ``datetime`` of Europe/London wall time: exactly one day and exactly one time (a range
"2pm-3pm" is its start). The day is a UK day-first date read by :mod:`parsers.dates` (a date without a year is its
next occurrence on or after the received date; "10/12" and "Thursday 10th" are read here the same way), a
weekday alone ("Thursday", "this Thu") is the next such weekday after the received date, or today / tomorrow.
Times: "14:00", "14.30", "2pm", "2.30pm", "2 p.m.", "1400hrs", "noon", "12 noon", "at 2", "2 o'clock"; an hour
without am/pm and without a leading zero is a working hour (1-6 the afternoon, 8-11 the morning, 12 midday; 7 is
unclear). The line must be the day and the time, in any order, with "at", "on", "from", commas and brackets
between them, then the place.

Conservative by design: anything unclear is None rather than a guess. A date with no time ("Meeting: 10/12/2026"),
"Meeting: next week sometime", "next Thursday", "Thursday week", two days or two times, a weekday that contradicts
the date, an impossible date ("31/11/2026") or time ("14:75"), a hedge ("TBC", "provisionally", "or", "cancelled",
"w/c") and a place holding another date or time all give ``meeting_at`` None. A question ("Proceedings?",
"Proceedings: yes?") is not a fact, nor is a sentence that only mentions a fact word ("The care proceedings were
issued on Monday"). "Proceedings: not known" is None. The **first** line of each label decides, even when its
value is unclear; only the first ``MAX_LINES`` non-empty lines of the first ``MAX_TEXT_CHARS`` characters are read
(the outcome's following lines may run past them, up to ``MAX_OUTCOME_CHARS``).

``evidence`` holds the lines that gave a fact, each collapsed and cut to ``MAX_EVIDENCE_CHARS``, for the audit log.

:func:`case_type_in_subject` reads the case type of a subject line: "CP", "CPP", "ICPC", "RCPC", "Child
Protection", "conference" -> "child-protection"; "LAC", "CLA", "CIC"/"CiC", "Looked After", "Child in Care" ->
"looked-after"; None when there is neither or both. Long forms in any case, the abbreviations only in capitals
(so "cp" in an ordinary word or "cla" in "clash" never counts), each word-bounded.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from parsers.dates import WEEKDAYS, DateMention, next_occurrence, resolve_received, scan_dates

__all__ = ["Facts", "case_type_in_subject", "read_facts"]

log = logging.getLogger(__name__)

#: Only this much of the new text is read.
MAX_TEXT_CHARS = 20000
#: Only this many non-empty lines are looked at for fact labels.
MAX_LINES = 40
#: Longest outcome kept.
MAX_OUTCOME_CHARS = 2000
#: Longest meeting place kept.
MAX_PLACE_CHARS = 200
#: Longest evidence line kept for the audit log.
MAX_EVIDENCE_CHARS = 200
#: Only this much of a meeting line's value is read for its day, time and place.
_MAX_MEETING_VALUE = 300
#: Only this much of a guardian line's value is read for its address.
_MAX_GUARDIAN_VALUE = 1000
#: Only this much of a subject line is read for its case type.
MAX_SUBJECT_CHARS = 2000

CHILD_PROTECTION = "child-protection"
LOOKED_AFTER = "looked-after"


@dataclass(frozen=True)
class Facts:
    """The facts read from the new text of a reply (see the module docstring)."""

    proceedings: bool | None = None
    case_type: str | None = None  # "looked-after" | "child-protection"
    guardian: str | None = None  # lower-case addr-spec
    meeting_at: datetime | None = None  # naive, Europe/London wall time
    meeting_place: str = ""
    outcome: str = ""
    evidence: tuple[str, ...] = ()


# -- lines ------------------------------------------------------------------------------------------------
# Every pattern here runs in time linear in its input: lines are collapsed (one ASCII space per run of
# whitespace) before any pattern reads them, no quantified group is itself quantified, and a run two quantifiers
# could share is taken whole by a possessive quantifier.

_I = re.IGNORECASE
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_PUNCT = str.maketrans({"\u2019": "'", "\u2018": "'", "\uff1a": ":"})


def _collapse(line: str) -> str:
    """``line`` with zero-width characters dropped and each run of whitespace (``str.isspace``) one space."""
    return " ".join(line.translate(_INVISIBLE).translate(_PUNCT).split())


def _lines(text: str) -> list[str]:
    return [_collapse(line) for line in text[:MAX_TEXT_CHARS].splitlines()]


def _trim(line: str, limit: int) -> str:
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


# -- labels -----------------------------------------------------------------------------------------------

_OPENER = re.compile(r"(?:[-•·▪◦+|] )?[*_~`]*+")
_LABELS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (key, re.compile(pattern, _I))
    for key, pattern in (
        (
            "proceedings",
            r"(?:(?:in|subject to|any|current|live|ongoing) )?(?:(?:care|court|legal|family court|public law) )?"
            r"proceedings(?: (?:issued|ongoing|current))?",
        ),
        ("case_type", r"case type|type of case|case category"),
        (
            "guardian",
            r"(?:(?:the )?(?:children's|childrens|child's|childs|cafcass) )?guardian(?:'s)?"
            r"(?: (?:details|contact|e-?mail(?: address)?|address))?",
        ),
        ("meeting_date", r"meeting date|date of (?:the )?meeting"),
        ("meeting_time", r"meeting time|time of (?:the )?meeting"),
        ("place", r"(?:meeting )?(?:venue|location|place)"),
        (
            "outcome",
            r"(?:meeting )?(?:outcomes?|minutes)(?: of (?:the )?meeting)?",
        ),
        (
            "meeting",
            r"(?:date (?:and|&) time of (?:the )?meeting|(?:(?:escalation|review|resolution|professionals'?"
            r"|strategy|follow-up|follow up|proposed|next) )?meeting(?: (?:date ?(?:/|and|&) ?time|date-time"
            r"|details|arranged|booked|set|scheduled))?)",
        ),
    )
)
# ":", "=", a dash between spaces, or a table cell's " | " (parsers.html joins a row's cells with it).
_SEPARATOR = re.compile(r"[*_~`]*+(?: ?\([^()]{0,40}\))?[*_~`]*+ ?[*_~`]*+(?:[:=](?: ?\|)?|\||[-–—](?= |$))[*_~`]*+ ?")
# "Meeting on 10 Dec 14:30": a meeting line may go without a separator.
_MEETING_WORD = re.compile(r" (?:on|at|for|is on|is at|booked for|arranged for|scheduled for|set for) ", _I)


@dataclass(frozen=True)
class _Line:
    key: str
    value: str
    line: str
    bare: bool  # "Meeting on ...": no separator


def _fact_line(line: str) -> _Line | None:
    """The label and value of a fact line, or None."""
    if not line or line.startswith(">"):
        return None
    start = _OPENER.match(line)
    pos = start.end() if start else 0
    for key, pattern in _LABELS:
        label = pattern.match(line, pos)
        if label is None or not _at_word_end(line, label.end()):
            continue
        separator = _SEPARATOR.match(line, label.end())
        if separator is not None:
            return _Line(key, line[separator.end() :].strip(), line, False)
        if key == "meeting":
            word = _MEETING_WORD.match(line, label.end())
            if word is not None:
                # "Meeting at 2 on Thursday": the "at" still says that a bare hour is a time.
                value = ("at " if word.group().endswith(" at ") else "") + line[word.end() :].strip()
                return _Line(key, value, line, True)
    return None


def _at_word_end(line: str, end: int) -> bool:
    return end >= len(line) or not (line[end].isalnum() or line[end] in "'-")


# -- reading ----------------------------------------------------------------------------------------------


def read_facts(text: str, received: date) -> Facts:
    """The facts in the new text of a reply (see the module docstring). Never raises."""
    try:
        return _read_facts(text, resolve_received(received))
    except Exception:  # pragma: no cover - defensive: the parser must never stop the service
        log.warning("fact reading failed unexpectedly", exc_info=True)
        return Facts()


def _read_facts(text: object, received: date | None) -> Facts:
    if not isinstance(text, str) or not text.strip():
        return Facts()
    lines = _lines(text)
    first: dict[str, tuple[int, _Line]] = {}
    seen = 0
    for index, line in enumerate(lines):
        if not line:
            continue
        seen += 1
        if seen > MAX_LINES:
            break
        found = _fact_line(line)
        if found is not None and found.key not in first:
            first[found.key] = (index, found)
    evidence: list[tuple[int, str]] = []

    def used(key: str) -> None:
        index, found = first[key]
        evidence.append((index, _trim(found.line, MAX_EVIDENCE_CHARS)))

    proceedings = case_type = guardian = None
    if "proceedings" in first:
        proceedings = _yes_no(first["proceedings"][1].value)
        if proceedings is not None:
            used("proceedings")
    if "case_type" in first:
        case_type = _case_type_value(first["case_type"][1].value)
        if case_type is not None:
            used("case_type")
    if "guardian" in first:
        guardian = _guardian(first["guardian"][1].value)
        if guardian is not None:
            used("guardian")
    meeting_at, place, keys = _meeting(first, received)
    for key in keys:
        used(key)
    outcome = ""
    if "outcome" in first:
        index, found = first["outcome"]
        outcome = _outcome(found.value, lines[index + 1 :])
        if outcome:
            used("outcome")
    if meeting_at is not None or proceedings is not None or case_type or guardian or outcome:
        log.debug("facts read: %s", ", ".join(sorted(first)))
    return Facts(
        proceedings=proceedings,
        case_type=case_type,
        guardian=guardian,
        meeting_at=meeting_at,
        meeting_place=place,
        outcome=outcome,
        evidence=tuple(line for _, line in sorted(evidence)),
    )


# -- proceedings ------------------------------------------------------------------------------------------

_YES_NO = re.compile(
    r"[*_~`]*+(?:(?P<yes>yes|y|true|ongoing|in (?:care |court )?proceedings)|(?P<no>no|n|none|not|false))"
    r"(?![\w/'-])",
    _I,
)
_UNSURE_AFTER = re.compile(
    r"[\s*_~`.,:;–—-]*+(?:yet )?"
    r"(?:known|sure|certain|clear|confirmed|applicable|decided|decision|idea|update|information|info)\b",
    _I,
)


def _yes_no(value: str) -> bool | None:
    """yes / y / true / ongoing / in proceedings -> True; no / n / none / not / false -> False; else None."""
    if "?" in value:
        return None
    found = _YES_NO.match(value)
    if found is None:
        return None
    if _UNSURE_AFTER.match(value, found.end()):
        return None  # "not known", "no idea", "not yet confirmed"
    return found["yes"] is not None


# -- case type --------------------------------------------------------------------------------------------

# Longer forms first: the first that is followed by the end or a remark is the type.
_CP_FORMS = r"(?:a )?(?:child protection(?: plan| case)?|cp plan|icpc|rcpc|cpp|cp)"
_LAC_FORMS = (
    r"(?:a )?(?:looked[- ]after(?: child(?:ren)?)?|child(?:ren)? looked after|child(?:ren)? in care|lac|cla|cic)"
)
# After the type itself: nothing, or a remark after a separator ("LAC (s.20)", "CP – neglect").
_REMARK = r"(?:$|[.!]$|[.!]? ?[(,;:–—-]|[.!] )"
_CASE_TYPE_VALUE = re.compile(
    rf"[*_~`]*+(?:(?P<cp>{_CP_FORMS})|(?P<lac>{_LAC_FORMS}))(?![\w'])[*_~`]*+(?={_REMARK})", _I
)
_ANY_CP = re.compile(rf"(?<![\w]){_CP_FORMS}(?![\w])", _I)
_ANY_LAC = re.compile(rf"(?<![\w]){_LAC_FORMS}(?![\w])", _I)


def _case_type_value(value: str) -> str | None:
    """The case type a "Case type:" value names: one type, then nothing or a remark naming no other."""
    if "?" in value:
        return None
    found = _CASE_TYPE_VALUE.match(value)
    if found is None:
        return None
    rest = value[found.end() :]
    if found["cp"] is not None:
        return None if _ANY_LAC.search(rest) else CHILD_PROTECTION
    return None if _ANY_CP.search(rest) else LOOKED_AFTER


_SUBJECT_CP = re.compile(
    r"(?<![A-Za-z0-9])(?:CPP?|ICPC|RCPC)(?![A-Za-z0-9])"
    r"|(?i:(?<![\w])(?:child protection|(?<!video )(?<!video-)conference(?! (?:call|room|line|centre|center))))(?![\w])"
)
_SUBJECT_LAC = re.compile(
    r"(?<![A-Za-z0-9])(?:LAC|CLA|CIC|CiC)(?![A-Za-z0-9])"
    r"|(?i:(?<![\w])(?:looked[- ]after|child(?:ren)? in care))(?![\w])"
)


def case_type_in_subject(subject: str) -> str | None:
    """The case type a subject line names (see the module docstring), or None. Never raises."""
    try:
        if not isinstance(subject, str):
            return None
        line = _collapse(subject[:MAX_SUBJECT_CHARS])
        cp = _SUBJECT_CP.search(line) is not None
        lac = _SUBJECT_LAC.search(line) is not None
        if cp == lac:
            return None  # neither, or both: unclear
        return CHILD_PROTECTION if cp else LOOKED_AFTER
    except Exception:  # pragma: no cover - defensive: the parser must never stop the service
        log.warning("case type reading failed unexpectedly", exc_info=True)
        return None


# -- guardian ---------------------------------------------------------------------------------------------

_TOKEN_BREAK = re.compile(r"[\s<>()\[\],;\"]+")
_LOCAL_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TLD = re.compile(r"[A-Za-z]{2,63}")


def _guardian(value: str) -> str | None:
    """The one valid address on a guardian line, lower-cased; None when there is none, or more than one."""
    found: set[str] = set()
    for token in _TOKEN_BREAK.split(value[:_MAX_GUARDIAN_VALUE]):
        if "@" not in token:
            continue
        if token.casefold().startswith("mailto:"):
            token = token[len("mailto:") :]
        address = _addr_spec(token.rstrip(".:'"))
        if address is None:
            return None  # an address we cannot read: unclear
        found.add(address)
    return found.pop() if len(found) == 1 else None


def _addr_spec(token: str) -> str | None:
    """``token`` lower-cased when it is a dot-atom addr-spec with a dotted domain name, else None."""
    if len(token) > 254 or token.count("@") != 1:
        return None
    local, domain = token.split("@")
    if not 1 <= len(local) <= 64 or not all(_LOCAL_ATOM.fullmatch(atom) for atom in local.split(".")):
        return None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        return None
    if not _TLD.fullmatch(labels[-1]):
        return None
    return token.casefold()


# -- meeting ----------------------------------------------------------------------------------------------

_WEEKDAY = (
    r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?"
    r"|sat(?:urday)?|sun(?:day)?)"
)
_TIME = re.compile(
    r"(?:(?P<noon>(?:12 ?)?(?:noon|midday|mid-day))"
    r"|(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?![\d:]|\.\d) ?(?:(?P<ap>[ap])\.?m\b\.?|(?:hrs|hours|h)\b)?"
    r"|(?P<h2>\d{1,2}) ?(?P<ap2>[ap])\.?m\b\.?"
    r"|(?P<h3>\d{2})(?P<mi3>\d{2}) ?(?:hrs|hours|h)\b"
    r"|(?P<h4>\d{1,2}) ?o'?clock\b)(?![\w:])",
    _I,
)
_TIME_ANYWHERE = re.compile(
    r"(?<![\w:./])(?:\d{1,2}[:.]\d{2}(?![\d:.])|\d{1,2} ?[ap]\.?m\b|\d{4} ?hrs\b|noon|midday)", _I
)
# Times that parsers.dates would read as a year ("10 Dec 10am" is not 2010): blanked before dates are scanned.
_TIME_MASK = re.compile(
    r"(?<![\w:./])(?:\d{1,2}(?:[:.]\d{2})? ?[ap]\.?m\b\.?|\d{4} ?hrs\b|\d{1,2} ?(?:noon|midday|mid-day|o'?clock)\b)", _I
)
_BARE_HOUR = re.compile(r"(?P<h>\d{1,2})(?![\w:./])")
_RANGE = re.compile(r" ?(?:-|–|—|to|until|till) ?", _I)
_WEEKDAY_ALONE = re.compile(
    rf"(?:(?P<qual>this coming|this|coming|next) )?(?P<wd>{_WEEKDAY})\.?(?![\w'])(?P<week> week\b|'s\b)?", _I
)
_ORDINAL_DAY = re.compile(rf"(?:(?P<wd>{_WEEKDAY})\.?,? )?(?:the )?(?P<d>\d{{1,2}})(?:st|nd|rd|th)(?![\w])", _I)
_DAY_SLASH_MONTH = re.compile(r"(?P<d>\d{1,2})/(?P<m>\d{1,2})(?![\w/]|\.\d)")
_RELATIVE_DAY = re.compile(r"(?P<rel>today|tomorrow)(?![\w])", _I)
_CONNECTOR = re.compile(r"(?P<at>at(?![\w])|@)|(?:on|from|the|starting|start)(?![\w])|[,()–—-]| ", _I)
_HEDGE = re.compile(
    r"\b(?:tbc|tba|tbd|to be (?:confirmed|arranged|agreed|decided|set|booked|fixed)|provisional\w*|possibl\w*"
    r"|maybe|perhaps|if|or|either|sometime|some time|ish|cancel\w*|postpon\w*|not|unless|w/c"
    r"|week (?:commencing|beginning|of)|tentative\w*|pencil\w*|hopefully|unconfirmed)(?![\w/])"
    r"|\b(?:around|approx\w*\.?|about|roughly|circa|c\.)(?= ?(?:\d|noon|midday))",
    _I,
)
# A day the place still holds ("Room 3 (Friday)", "Teams 11/12"): which is the meeting's is unclear.
_DAY_IN_PLACE = re.compile(
    rf"(?<![\w/.]){_WEEKDAY}(?![\w])|(?<![\w/.])\d{{1,2}}/\d{{1,2}}(?![\w/])|\b(?:today|tomorrow)\b", _I
)
_PLACE_INTRO = re.compile(r" ?(?:[,;(|–—-]|@|(?:in|at|via|on|venue|location|place)\b)", _I)
# What follows the time but is a remark, not a place: "..., as discussed", "... to review the plan".
_REMARK_NOT_PLACE = re.compile(r"(?:as|to|for|regarding|re|about|please|thanks|thank|see|with)\b", _I)
_PLACE_LEAD = re.compile(r"(?:[\s,;:|–—-]|@|(?:in|at|via|on|venue|location|place)\b)*+", _I)


@dataclass
class _When:
    days: list[date]
    weekdays: list[int]
    times: list[time]
    unclear: bool = False


def _meeting(first: dict[str, tuple[int, _Line]], received: date | None) -> tuple[datetime | None, str, list[str]]:
    """(when, place, the keys of the lines used) of the meeting lines."""
    if "meeting" in first:
        found = first["meeting"][1]
        read = _meeting_value(found.value, received, found.bare)
        keys = ["meeting"]
    elif "meeting_date" in first and "meeting_time" in first:
        value = first["meeting_date"][1].value + ", " + first["meeting_time"][1].value
        read = _meeting_value(value, received, False)
        keys = ["meeting_date", "meeting_time"]
    else:
        return None, "", []
    if read is None:
        return None, "", []
    when, place = read
    if not place and "place" in first:
        venue = _clean_place(first["place"][1].value)
        if venue is not None and venue:
            place = venue
            keys.append("place")
    return when, place, keys


def _meeting_value(raw: str, received: date | None, bare: bool) -> tuple[datetime, str] | None:
    """The day and time at the start of a meeting line's value and the place after them, or None."""
    value = raw[:_MAX_MEETING_VALUE]
    if "?" in value or _HEDGE.search(value):
        return None
    masked = _TIME_MASK.sub(lambda m: " " * len(m.group()), value)
    mentions, _ = scan_dates(masked, received)
    by_start = {mention.start: mention for mention in mentions}
    when = _When([], [], [])
    pos, end = 0, 0
    after_at = False
    while pos < len(value) and not ((when.days or when.weekdays) and when.times):
        step = _token(value, pos, by_start.get(pos), received, when, after_at)
        if step is None:
            connector = _CONNECTOR.match(value, pos)
            if connector is None:
                break
            after_at = connector["at"] is not None or (after_at and connector.group() == " ")
            pos = connector.end()
            continue
        if when.unclear:
            return None
        pos = end = step
        after_at = False
    if when.unclear or len(set(when.times)) != 1:
        return None
    day = _one_day(when, received)
    if day is None:
        return None
    rest = value[end:]
    if bare and rest.strip() and not _PLACE_INTRO.match(rest):
        return None  # "Meeting on Thursday at 2pm went well": a sentence, not a fact
    place = _clean_place(rest)
    if place is None:
        return None
    return datetime.combine(day, when.times[0]), place


def _token(
    value: str, pos: int, mention: DateMention | None, received: date | None, when: _When, after_at: bool
) -> int | None:
    """Read a day or a time at ``pos`` into ``when``; the end of what was read, or None when there is none."""
    if mention is not None:
        if mention.kind != "date" or mention.date is None or mention.note is not None or mention.problem:
            when.unclear = True  # "in 2 weeks", "December 2026", "31/11/2026", "Fri 10 Dec 2026"
        else:
            when.days.append(mention.date)
        return mention.end
    found = _TIME.match(value, pos)
    if found is not None:
        clock = _clock(found)
        if clock is None:
            when.unclear = True
        else:
            when.times.append(clock)
        end = found.end()
        span = _RANGE.match(value, end)
        if span is not None:
            until = _TIME.match(value, span.end())
            if until is not None and _clock(until) is not None:
                return until.end()  # "2pm-3pm": the start is the meeting's time
        return end
    found = _ORDINAL_DAY.match(value, pos)
    if found is not None:
        day = _next_day_of_month(int(found["d"]), received)
        if day is None or (found["wd"] and WEEKDAYS[found["wd"][:3].casefold()] != day.weekday()):
            when.unclear = True
        else:
            when.days.append(day)
        return found.end()
    found = _DAY_SLASH_MONTH.match(value, pos)
    if found is not None:
        day = _next_occurrence(int(found["d"]), int(found["m"]), received)
        if day is None:
            when.unclear = True
        else:
            when.days.append(day)
        return found.end()
    found = _WEEKDAY_ALONE.match(value, pos)
    if found is not None:
        qualifier = (found["qual"] or "").casefold()
        if qualifier == "next" or found["week"]:
            when.unclear = True  # "next Thursday", "Thursday week": ambiguous
        else:
            when.weekdays.append(WEEKDAYS[found["wd"][:3].casefold()])
        return found.end()
    found = _RELATIVE_DAY.match(value, pos)
    if found is not None:
        if received is None:
            when.unclear = True
        else:
            when.days.append(received + timedelta(days=1 if found["rel"].casefold() == "tomorrow" else 0))
        return found.end()
    if after_at:
        found = _BARE_HOUR.match(value, pos)
        if found is not None:
            clock = _working_hour(int(found["h"]), 0)
            if clock is None:
                when.unclear = True
            else:
                when.times.append(clock)
            return found.end()
    return None


def _clock(found: re.Match[str]) -> time | None:
    """The time of a ``_TIME`` match, or None when it is impossible or unclear ("14:75", "13pm", "12am", "7.30")."""
    if found["noon"]:
        return time(12, 0)
    if found["h3"]:
        hour, minute = int(found["h3"]), int(found["mi3"])
        return time(hour, minute) if hour <= 23 and minute <= 59 else None
    if found["h4"]:
        return _working_hour(int(found["h4"]), 0)
    written = found["h"] or found["h2"]
    hour, minute = int(written), int(found["mi"] or 0)
    meridiem = (found["ap"] or found["ap2"] or "").casefold()
    if minute > 59:
        return None
    if meridiem:
        if not 1 <= hour <= 12 or (hour == 12 and meridiem == "a"):
            return None  # "13pm", "0am"; "12am" is misread too often to act on
        if meridiem == "p" and hour != 12:
            hour += 12
        return time(hour, minute)
    if len(written) == 2:
        return time(hour, minute) if hour <= 23 else None  # "14:00", "09.30"
    return _working_hour(hour, minute)  # "2.30", "at 2"


def _working_hour(hour: int, minute: int) -> time | None:
    """An hour written without am/pm: 1-6 in the afternoon, 8-11 in the morning, 12 midday, 13-23 as written."""
    if 1 <= hour <= 6:
        return time(hour + 12, minute)
    if 8 <= hour <= 23:
        return time(hour, minute)
    return None  # 0 and 7: unclear


def _one_day(when: _When, received: date | None) -> date | None:
    """The one day of a meeting: a date, else a weekday alone (the next after ``received``); None when unclear."""
    days = set(when.days)
    weekdays = set(when.weekdays)
    if len(days) > 1 or len(weekdays) > 1:
        return None
    if days:
        day = days.pop()
        if weekdays and weekdays.pop() != day.weekday():
            return None  # "10 December (Friday)" in a year when it is a Thursday
        return day
    if not weekdays or received is None:
        return None
    ahead = (weekdays.pop() - received.weekday() - 1) % 7 + 1
    try:
        return received + timedelta(days=ahead)
    except OverflowError:
        return None


def _clean_place(rest: str) -> str | None:
    """The place after a meeting's time, without its leading "at" / "in" / commas; None when it holds another day
    or time (unclear which is the meeting's)."""
    lead = _PLACE_LEAD.match(rest)
    place = rest[lead.end() if lead else 0 :].strip().rstrip(".;, ")
    if _REMARK_NOT_PLACE.match(place):
        place = ""
    if place.startswith("(") and place.endswith(")") and place.count("(") == 1:
        place = place[1:-1].strip()
    elif place.endswith(")") and "(" not in place:
        place = place[:-1].strip()
    if _TIME_ANYWHERE.search(place):
        return None
    mentions, _ = scan_dates(place[:_MAX_MEETING_VALUE])
    if any(mention.kind in ("date", "relative", "partial") for mention in mentions):
        return None
    if _DAY_IN_PLACE.search(place):
        return None
    return place[:MAX_PLACE_CHARS].strip()


def _next_occurrence(day: int, month: int, received: date | None) -> date | None:
    """The first date with this day and month on or after ``received``; None when there is none."""
    if received is None or not 1 <= month <= 12:
        return None
    return next_occurrence(day, month, received)


def _next_day_of_month(day: int, received: date | None) -> date | None:
    """The first date with this day of the month on or after ``received``, in its month or the next; None when
    neither has it ("the 31st" read in a month before one without a 31st is unclear)."""
    if received is None:
        return None
    year, month = received.year, received.month
    for _ in range(2):
        try:
            candidate = date(year, month, day)
        except ValueError:
            return None
        if candidate >= received:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


# -- outcome ----------------------------------------------------------------------------------------------

_SIGN_OFF = re.compile(
    r"(?:(?:kind|best|warm|warmest|many)? ?regards|thanks|thank you|many thanks|thanks again|thanks all"
    r"|best wishes|best|cheers|ta|yours sincerely|yours faithfully|sent from \w.*|get outlook for \w.*"
    r"|--|-- .*|_{3,}|-{3,}.*|from: .*|on .* wrote:)[.,!]?",
    _I,
)


def _outcome(value: str, following: list[str]) -> str:
    """The outcome line's text and the lines after it, up to a blank line, a sign-off, a quoted line or another
    fact line; at most MAX_OUTCOME_CHARS."""
    kept = [value] if value else []
    budget = MAX_OUTCOME_CHARS
    for line in following:
        if budget <= 0:
            break
        if not line:
            if kept:
                break
            continue  # "Minutes:" and a blank line before them
        if line.startswith(">") or _SIGN_OFF.fullmatch(line[:200]) or _fact_line(line[:400]) is not None:
            break
        kept.append(line[:budget])
        budget -= len(line) + 1
    return "\n".join(kept)[:MAX_OUTCOME_CHARS].strip()
