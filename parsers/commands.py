"""Reading commands and intents in the new text of a reply.

Pure: no I/O, no clock reads. Two readers, both of which never raise:

:func:`read_command` reads an IRO's (or QA manager's) instruction. A command must stand at the **top** of
the new text: the first non-empty line, after at most two greeting lines ("Hi all,", "Dear Mark,",
"Thanks,"); a greeting may also open the command line itself ("Thanks, this is resolved"). Any case,
optional markup (``*Resolved*``, ``/escalate``, ``#resolved``), optional punctuation; any run of whitespace
(U+2003 EM SPACE, U+3000 IDEOGRAPHIC SPACE, a no-break space, ...) reads as one space. Actions::

    resolved   Resolved | Resolved – plan signed off | This is resolved | Issue resolved
               | I am satisfied this is now resolved | Close – resolved
    escalate   Escalate | Please escalate | Not resolved – escalate | Escalate to level 3 / Level Three
               | escalate to stage 4 | Escalate to Head of Service (level None, text "Head of Service")
    extend     Extend to 18/12/2026 | Extend until 18 December | extend to Fri 18th Dec | Extend by 5 working days
               | extend 3 days | Extension agreed | Agree extension | Agreed – extend | I agree to the extension
    cafcass    Cafcass | Refer to Cafcass | Cafcass referral | Escalate to Cafcass
    withdraw   Withdraw | Withdrawn | Escalation withdrawn | I withdraw this escalation
    note       Note: spoke to TM by phone | Note - ...

Conservative by design: an unclear command is not obeyed (the mail is then an ordinary message), so the
reader returns None for negations ("Not resolved", "Please don't escalate", "Unresolved"), questions
("Is this resolved?", "Resolved?"), conditional or hypothetical clauses ("Escalate if no response by
Friday", "I will escalate if ..."), a command word deep in a paragraph, and an extension whose date cannot
be read exactly: impossible dates ("Extend to 31/11/2026"), a weekday that contradicts the date
("Fri 19 Dec 2026"), "next Friday" (ambiguous), or "extend to the end of the month". Dates are read by
:mod:`parsers.dates` (UK day-first only; a date without a year is its next occurrence on or after the
received date); a weekday alone ("extend to Friday") is the next such weekday after the received date.
"Days" are working days in this domain; a week is five working days, a fortnight ten. A level is 1-9
(digits or words, "Level"/"Stage"/"L"); whether the council's ladder has it is for the service to decide.

:func:`read_response` reads a manager's reply (managers are never obeyed) for a request for more time
anywhere in its first 3000 characters: "extension", "extend", "more/additional/further/extra time",
"another 5 working days", "a 2 week extension", "Could I have until Friday 18th December?", "I will
respond by 18/12/2026". A date is taken from the sentence that asked; "until"/"by" with a date only count
after a request ("could I have", "please", "need") or a verb of replying ("respond", "get back"), so "I am
on leave until Monday" and "I will get the plan signed off by Friday" are not requests. "No extension
needed", "I don't need more time" and thanks for an extension already agreed do not count.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, timedelta

from parsers.dates import NUMBER_WORDS, DateMention, resolve_received, scan_dates
from parsers.reply import find_quote_start, is_name_line, is_valediction, sign_off_start

__all__ = ["Command", "ReplyIntent", "read_command", "read_response"]

log = logging.getLogger(__name__)

#: Longest outcome or note text kept on a command.
MAX_TEXT_CHARS = 2000
#: How much of a manager's reply is read for a request for more time.
MAX_RESPONSE_CHARS = 3000
#: Longest evidence phrase kept for the audit log.
MAX_EVIDENCE_CHARS = 200
#: Only this much of the new text is looked at for a command (it must be at the top).
_MAX_COMMAND_SCAN = 20000
#: Only this much of the text after the command line is read for its outcome or note text.
_MAX_BODY_SCAN = 2 * MAX_TEXT_CHARS
#: How far from the end of the command line closing words ("…, thanks Ira") are looked for.
_CLOSING_CHARS = 80
#: Longest extension (in working days) read as plausible; more is treated as unclear.
_MAX_WORKING_DAYS = 365

ACTIONS = ("resolved", "escalate", "extend", "cafcass", "withdraw", "note")


@dataclass(frozen=True)
class Command:
    """An instruction read from the top of a reply."""

    action: str  # "resolved" | "escalate" | "extend" | "cafcass" | "withdraw" | "note"
    level: int | None = None  # escalate "to level N" (a bypass); None = next level
    until: date | None = None  # extend to a date
    by_working_days: int | None = None  # extend by N working days (the service does the calendar sum)
    text: str = ""  # outcome / note text: the rest of the line and following lines, stripped
    to_role: str = ""  # escalate "to Head of Service" / "to the AD": the words naming whom (the ladder decides)


@dataclass(frozen=True)
class ReplyIntent:
    """What a (manager's) reply asks for, besides any command it holds."""

    command: Command | None
    extension_requested: bool
    requested_until: date | None = None
    requested_working_days: int | None = None
    evidence: str = ""  # the sentence that triggered the extension reading (short, for the audit log)


# -- shared vocabulary ------------------------------------------------------------------------------------
# Mail is untrusted, so every pattern must run in time linear in its input. Lines are collapsed (one space per
# run of whitespace) before any pattern reads them, and where two quantifiers could still share a run of spaces
# ("\s*-?\s*", "\s+(?:is)?\s*") the first takes it whole ("\s*+", "\s++"): possessive, so the engine never
# tries the n^2 (or n^3) ways of splitting a run between them. Nothing that could follow needs a space back.

_I = re.IGNORECASE
_NUMBER_ALT = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_WEEKDAY_NAMES: dict[str, int] = {
    "monday": 0, "mon": 0, "tuesday": 1, "tues": 1, "tue": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thurs": 3, "thur": 3, "thu": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
_WEEKDAY_ALT = "|".join(sorted(_WEEKDAY_NAMES, key=len, reverse=True))
# A weekday standing alone: not followed by a day number or a month (those are dates, read by parsers.dates).
_WEEKDAY_ONLY = re.compile(
    rf"(?P<qual>this\s+|next\s+|on\s+|coming\s+|this\s+coming\s+)?(?P<wd>{_WEEKDAY_ALT})\b\.?"
    r"(?!\s*+,?\s*+(?:the\s++)?\d)",
    _I,
)
_COUNT = (
    r"(?:(?P<pre>another|a\s+further|further|an?\s+additional|additional|an?\s+extra|extra)\s++)?"
    rf"(?P<n>\d{{1,4}}|{_NUMBER_ALT}|an?|one)?\s*+-?\s*+"
    r"(?:(?P<more>more|further|additional|extra)\s++)?"
    r"(?P<unit>(?P<cal>calendar\s+days?)|(?:working|work|business|wkg)\s*+-?\s*+days?|wds?|w/d|workdays?"
    r"|days?|weeks?|wks?|fortnights?)(?![\w])"
)
_COUNT_RE = re.compile(_COUNT, _I)

_GREETING = re.compile(
    r"(?:hi|hiya|hello|hey|dear|good\s+(?:morning|afternoon|evening)|morning|afternoon|thanks|thank\s+you"
    r"|many\s+thanks|cheers|all)(?![\w'])(?P<names>(?:\s+[^\W\d_][\w.'-]*){0,4}?)\s*(?P<punct>[,.!;:–—-]+|$)",
    _I,
)
_KEYWORD = re.compile(r"resolv|escalat|exten|cafcass|withdr|refer|note|close", _I)
_COURTESY = re.compile(
    r"(?:(?:many\s+)?thanks?(?:\s+you)?(?:\s+(?:all|everyone|again|very\s+much|so\s+much))?|kind\s+regards|regards"
    r"|best\s+wishes|best|cheers|ta)[\s.,!]*",
    _I,
)
_LEADING_FILLER = re.compile(
    r"^(?:(?:please|thanks|thank\s+you|many\s+thanks|asap|now(?=\s*(?:$|[,.;:!–—-]|please)))\b[\s:;,.!–—-]*)+", _I
)
_SEPARATORS = " \t:;,.!–—-"
_SPACE_RUN = re.compile(r"\s+")
_MARKUP = re.compile(r"[*_~`]+")
_LINE_OPENER = re.compile(r"^[\s#/>•·+\[(\"'-]+")
# A clause of the command line that is conditional, hypothetical, negated or a question is not a command.
_HEDGE_WORDS = (
    r"(?:if|unless|when|whenever|once|should|would|could|might|whether|otherwise|pending|hopefully|maybe|perhaps"
    r"|not|never|yet|until|till|only\s+if|but|in\s+case|subject\s+to|may\s+(?:be|have|need|not|wish|want)|in\s+part"
    r"|partly|partially|no\s+longer)\b|n't\b"
)
_HEDGE = re.compile(rf"\?|\b{_HEDGE_WORDS}", _I)
_HEDGE_START = re.compile(rf"\?|{_HEDGE_WORDS}", _I)
# Words that may follow a bare command word ("Resolved as the plan ...", "Escalate please") without a separator.
_CONNECTIVE = re.compile(
    r"(?:as|because|since|following|given|after|at|with|via|through|and|please|now|today|thanks|thank|"
    r"by\s+(?:agreement|consent|the\s+(?:team|manager|service|panel))|in\s+(?:full|principle))\b",
    _I,
)
_CLOSING_BREAK = re.compile(r"[.!;,–—]|\s-\s")
_CLAUSE_END = re.compile(r"\.(?!\d)|[;!\n–—]|\s-\s|:(?:\s|$)")
_HARD_START = re.compile(r"\s*+(?:\.(?!\d)|[;:!–—]|-)")


# -- command heads ----------------------------------------------------------------------------------------

_PLEASE = r"(?:(?:please|kindly|can\s+we\s+now)\s+)?"
_I_NOW = (
    r"(?:(?:i\s+(?:am\s+|have\s+|now\s+)?(?:now\s+)?(?:wish|want|would\s+like|need|decided|have\s+decided)\s+to"
    r"|i'd\s+like\s+to|i\s+will\s+now|i'll\s+now|i\s+am\s+now|i'm\s+now|i\s+am|i'm|i\s+now|we\s+(?:will\s+)?now"
    r"|we\s+are(?:\s+now)?|we\s+wish\s+to|we\s+would\s+like\s+to)\s+)?"
)
_OBJECT = r"(?:escalation|challenge|dispute|concerns?|alert|quality\s+alert|representation|matter|issue|case)"

_HEADS: tuple[tuple[str, re.Pattern[str], bool], ...] = tuple(
    (action, re.compile(pattern, _I), strict)
    for action, pattern, strict in (
        # note: "Note:" / "Note -" / "NB:" with text after it.
        ("note", r"(?:file\s+|case\s+|for\s+(?:the\s+)?)?(?:notes?|nb|n\.b\.)(?=\s*[:–—-])", False),
        # withdraw
        ("withdraw", rf"(?:the\s+|this\s+|my\s+)?{_OBJECT}\s+(?:is\s+|has\s+been\s+)?(?:now\s+)?withdrawn", False),
        ("withdraw", rf"withdrawal\s+of\s+(?:the\s+|this\s+|my\s+)?{_OBJECT}", False),
        (
            "withdraw",
            rf"{_PLEASE}{_I_NOW}(?:(?:i|we)\s+)?(?:withdraw|withdrawing)\s+(?:the\s+|this\s+|my\s+)?{_OBJECT}",
            False,
        ),
        ("withdraw", rf"{_PLEASE}{_I_NOW}(?:withdrawing|withdrawn|withdraw)", True),
        # cafcass
        ("cafcass", r"(?:not\s+(?:yet\s+)?resolved\W+)?(?:please\s+)?escalat\w*\s+(?:this\s+)?to\s+cafcass", False),
        (
            "cafcass",
            rf"{_PLEASE}{_I_NOW}(?:refer|referring|referred|make\s+a\s+referral|making\s+a\s+referral)"
            rf"(?:\s+(?:this|it|the\s+(?:child(?:ren)?|young\s+person|{_OBJECT})))?\s+to\s+cafcass",
            False,
        ),
        ("cafcass", r"(?:referral\s+to\s+cafcass|cafcass\s+referral)(?:\s+(?:made|required|to\s+be\s+made))?", True),
        ("cafcass", r"cafcass", True),
        # extend (the tail after the head is read by _extend_tail)
        (
            "extend",
            r"(?:(?:(?:i|we)\s+(?:am\s+|are\s+)?|i'm\s+|we're\s+)?(?:happy|content|pleased)\s+to\s+|(?:i|we)\s+)?"
            r"(?:agree|agreed|approve|approved|grant|granted|accept|accepted|authorise|authorize|authorised|authorized)"
            r"\s+(?:to\s+)?(?:the\s+|this\s+|an\s+|your\s+|a\s+)?(?:requested\s+)?(?:request\s+for\s+(?:an?\s+)?)?"
            r"extension(?:\s+request)?",
            False,
        ),
        (
            "extend",
            r"(?:the\s+|an\s+)?extension(?:\s+request)?\s+(?:is\s+|has\s+been\s+)?"
            r"(?:agreed|granted|approved|accepted|confirmed|authori[sz]ed|ok|okay|fine)",
            False,
        ),
        ("extend", r"(?:agreed|ok|okay|yes)\s*[,.:;!–—-]+\s*(?:please\s+)?extend(?:ed)?(?:\s+it)?", False),
        (
            "extend",
            r"(?:(?:i|we)\s+(?:am\s+|are\s+)?(?:happy|content|pleased)\s+to\s+)?(?:please\s+)?extend(?:ing)?"
            r"(?:\s+(?:the\s+|this\s+)?(?:deadline|due\s+date|date|timescales?|timeframe|response\s+(?:date|time)"
            rf"|time|{_OBJECT}))?",
            False,
        ),
        ("extend", r"(?:an\s+)?extension(?=\s*$|\s*[:;,.!–—-]|\s+(?:to|until|till|til|of|by|for)\b)", False),
        # escalate (the level / role after it is read by _escalate_tail)
        (
            "escalate",
            rf"(?:not\s+(?:yet\s+)?resolved(?:\s+yet)?\s*+[,.:;!–—-]*+\s*+(?:(?:so|therefore|and)\s+)?)?{_PLEASE}{_I_NOW}"
            rf"(?:escalate|escalating)(?:\s+(?:this\s+{_OBJECT}|the\s+{_OBJECT}|this|it))?",
            True,
        ),
        (
            "escalate",
            r"(?:escalation|move|proceed|go|moving|proceeding)"
            r"(?=\s+(?:straight\s+|directly\s+|up\s+)?to\s+(?:the\s+)?(?:level|stage|next))",
            True,
        ),
        # resolved
        (
            "resolved",
            rf"(?:(?:this|it|{_OBJECT}|the\s+{_OBJECT}|this\s+{_OBJECT}|the\s+{_OBJECT}\s+\w+|these\s+\w+|all)\s++)"
            r"(?:is|are|has\s+been|have\s+been|now)?\s*+(?:now\s+)?(?:fully\s+)?resolved",
            True,
        ),
        (
            "resolved",
            r"(?:i\s+am|i'm|we\s+are|we're)\s+(?:now\s+)?(?:satisfied|happy|content|pleased|assured)\s+(?:that\s+)?"
            rf"(?:this|it|the\s+{_OBJECT}|this\s+{_OBJECT}|the\s+{_OBJECT}\s+\w+|these\s+\w+)\s+"
            r"(?:is|are|has\s+been|have\s+been)\s+(?:now\s+)?(?:fully\s+)?resolved",
            True,
        ),
        (
            "resolved",
            r"(?:please\s+)?close[ds]?(?:\s+(?:this|it))?(?:\s*+[:;,.!–—-]+\s*+|\s++as\s++)resolved",
            True,
        ),
        (
            "resolved",
            r"(?:now\s+|fully\s+)?resolved(?:\s*[:;,.!–—-]+\s*(?:please\s+)?close[ds]?(?:\s+(?:this|it))?)?",
            True,
        ),
    )
)


# -- reading a command ------------------------------------------------------------------------------------


def read_command(text: str, received: date) -> Command | None:
    """The command at the top of ``text``, or None (see the module docstring). Never raises."""
    try:
        return _read_command(text, resolve_received(received))
    except Exception:  # pragma: no cover - defensive: the parser must never stop the service
        log.warning("command reading failed unexpectedly", exc_info=True)
        return None


def _collapse_spaces(text: str) -> str:
    """``text`` with every run of whitespace as one ASCII space.

    Whitespace is what ``str.isspace()`` says it is: tabs and line breaks, but also U+00A0, U+1680,
    U+2000-U+200A, U+2028, U+2029, U+202F, U+205F and U+3000. A line is collapsed before any pattern of
    this module reads it, so no pattern meets a run of spaces that it could split in many ways (mail is
    untrusted input: every pattern must run in time linear in its input).
    """
    return _SPACE_RUN.sub(" ", text)


def _normalise_line(line: str) -> str:
    line = _collapse_spaces(line)
    line = line.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    line = _MARKUP.sub("", line)
    line = _LINE_OPENER.sub("", line)
    return _collapse_spaces(line)  # markup removed from between two spaces leaves a run again


def _head_lines(text: str) -> tuple[str, list[str]] | None:
    """The command candidate (greetings removed) and the lines after it."""
    lines = text[:_MAX_COMMAND_SCAN].splitlines()
    skipped = 0
    for index, raw in enumerate(lines):
        line = _normalise_line(raw)
        if not line:
            continue
        greeting = _GREETING.match(line)
        if greeting and not _KEYWORD.search(greeting.group(0)):
            rest = line[greeting.end() :].strip()
            if not rest:
                skipped += 1
                if skipped > 2:
                    return None
                continue
            if greeting.group("punct"):
                return rest, lines[index + 1 :]
        return line, lines[index + 1 :]
    return None


def _read_command(text: object, received: date | None) -> Command | None:
    if not isinstance(text, str) or not text.strip():
        return None
    found = _head_lines(text)
    if found is None:
        return None
    line, following = found
    for action, pattern, strict in _HEADS:
        match = pattern.match(line)
        if match is None or not _at_word_end(line, match.end()):
            continue
        rest = line[match.end() :]
        command = _finish_command(action, rest, following, received, strict)
        if command is not None:
            log.debug("command read action=%s", command.action)
        return command
    return None


def _at_word_end(line: str, end: int) -> bool:
    return end >= len(line) or not (line[end].isalnum() or line[end] == "'")


def _finish_command(
    action: str, rest: str, following: list[str], received: date | None, strict: bool
) -> Command | None:
    if action == "note":
        body = _body(rest, following)
        return Command("note", text=body) if body else None
    level: int | None = None
    until: date | None = None
    days: int | None = None
    to_role = ""
    if action == "extend":
        tail = _extend_tail(rest, received)
        if tail is None:
            return None
        until, days, rest = tail
    elif action == "escalate":
        tail_level = _escalate_tail(rest)
        if tail_level is None:
            return None
        level, rest, targeted = tail_level
        if targeted and level is None and rest.strip():
            to_role = _role_words(rest)
        strict = strict and not targeted
    if strict and not _separated(rest):
        return None
    if _hedged(rest):
        return None
    return Command(action, level=level, until=until, by_working_days=days, text=_body(rest, following),
                   to_role=to_role)


_ROLE_END = re.compile(r"[.,;:!?()\[\]]| [-–—] |\b(?:please|now|asap|today|as|because|since|thanks)\b", re.I)


def _role_words(rest: str) -> str:
    """The words naming a role after "escalate to": up to a separator or a polite tail ("please", "now")."""
    head = _ROLE_END.split(rest[:200], maxsplit=1)[0]
    return " ".join(head.split())[:80]


def _separated(rest: str) -> bool:
    """A bare command word is followed by nothing, punctuation or a connective ("as", "following", ...)."""
    stripped = rest.lstrip()
    if not stripped or stripped[0] in _SEPARATORS or stripped[0] in "?(":
        return True
    return _CONNECTIVE.match(stripped) is not None


def _hedged(rest: str) -> bool:
    """Is the command's own clause conditional, negated or a question ("Escalate if ...", "Resolved?")?

    After a hard separator ("Resolved – ...") only the start of the remark counts, so a remark such as
    "plan signed off, no further action until review" does not undo the command.
    """
    hard = _HARD_START.match(rest) is not None
    stripped = rest.strip().lstrip(_SEPARATORS).strip()
    if _HEDGE_START.match(stripped):
        return True
    if hard:
        return False
    end = _CLAUSE_END.search(stripped)
    clause = stripped[: end.start()] if end else stripped
    return _HEDGE.search(clause) is not None


def _body(rest: str, following: list[str]) -> str:
    """The command's own words: the rest of the command line and the lines after it, up to the quoted history and
    the writer's sign-off (``parsers.reply.sign_off_start``: "Thanks", "Kind regards", a name alone after a blank
    line, a title block, contact lines, "Sent from my iPhone", a ``-- `` delimiter); at most MAX_TEXT_CHARS."""
    first = _without_closing(rest.strip().lstrip(_SEPARATORS).strip())
    first = _LEADING_FILLER.sub("", first).strip()
    after = _window(following)
    quote = find_quote_start("\n".join(after))
    if quote is not None:
        after = after[:quote]
    after = after[: sign_off_start(after, first)]
    kept = "\n".join([first, *after]).strip().splitlines()
    while kept and (not kept[-1].strip() or _COURTESY.fullmatch(kept[-1].strip())):
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    return "\n".join(kept).strip()[:MAX_TEXT_CHARS].strip()


def _window(following: list[str]) -> list[str]:
    """The lines after the command line, as far as _MAX_BODY_SCAN characters reach (the last one cut there)."""
    kept: list[str] = []
    budget = _MAX_BODY_SCAN
    for line in following:
        if budget <= 0:
            break
        kept.append(line[:budget].rstrip())
        budget -= len(line) + 1
    return kept


def _without_closing(line: str) -> str:
    """The command line's remark without the closing words at its end: "plan signed off, thanks" and "plan signed
    off. Thanks, Ira" are "plan signed off"; after a full stop a name alone goes too ("… signed off. Ira")."""
    if is_valediction(line):
        return ""
    for found in _CLOSING_BREAK.finditer(line, max(0, len(line) - _CLOSING_CHARS)):
        tail = line[found.end() :]
        stop = found.group() in ".!"
        if is_valediction(tail) or (stop and is_name_line(tail)):
            return (line[: found.end()] if stop else line[: found.start()]).rstrip(" ,;–—-")
    return line


# -- tails ------------------------------------------------------------------------------------------------

_LEVEL = re.compile(
    rf"(?:level|stage|lvl|l)\s*+-?\s*+(?P<n>\d{{1,2}}|{_NUMBER_ALT})(?![\w])",
    _I,
)
_TO = re.compile(r"\s*+(?:(?:now|straight|directly|immediately|up)\s++)*to\s+(?:the\s+)?", _I)
_NEXT_LEVEL = re.compile(r"next\s+(?:level|stage|step|manager)(?![\w])", _I)


def _escalate_tail(rest: str) -> tuple[int | None, str, bool] | None:
    """(level, remaining text, whether a target was named) after "escalate"; None when the level is unclear.

    "to level 3" / "to Level Three" / "to stage 4" give the level; "to the next level" gives None; a role
    ("to Head of Service") depends on the council's ladder, so it is kept as the text with level None.
    """
    to = _TO.match(rest)
    if to is None:
        return None, rest, False
    after = rest[to.end() :]
    level = _LEVEL.match(after)
    if level is not None:
        raw = level["n"].casefold()
        number = int(raw) if raw.isdigit() else NUMBER_WORDS[raw]
        if not 1 <= number <= 9:
            return None  # "level 0", "level 12": unclear
        return number, after[level.end() :], True
    following = _NEXT_LEVEL.match(after)
    if following is not None:
        return None, after[following.end() :], True
    if re.match(r"(?:level|stage)\b", after, _I) or not after.strip():
        return None  # "to level x", "escalate to": unclear
    return None, after, True


def _count_days(match: re.Match[str]) -> int | None:
    """Working days in a period match of ``_COUNT``: days are working days, a week 5, a fortnight 10."""
    if match["cal"]:
        return None  # calendar days are not working days: unclear
    raw = (match["n"] or "").casefold()
    if not raw:
        number: int | None = 1 if match["pre"] else None  # "another week"
    elif raw in ("a", "an", "one"):
        number = 1
    else:
        number = int(raw) if raw.isdigit() else NUMBER_WORDS.get(raw)
    if number is None:
        return None
    unit = match["unit"].casefold()
    if unit.startswith("fortnight"):
        number *= 10
    elif unit.startswith(("week", "wk")) and not unit.startswith("wkg"):
        number *= 5
    return number if 1 <= number <= _MAX_WORKING_DAYS else None


_EXTEND_PREP = re.compile(
    r"[\s:;,–—-]*(?:(?P<prep>up\s+to|to|until|till|til|by|for|of|through|thru)\b\s*(?:the\s+)?)?", _I
)


def _extend_tail(rest: str, received: date | None) -> tuple[date | None, int | None, str] | None:
    """(until, working days, remaining text) after "extend"; None when the date or period is unclear."""
    prep_match = _EXTEND_PREP.match(rest)
    prep = (prep_match["prep"] or "").casefold() if prep_match else ""
    after = rest[prep_match.end() :] if prep_match else rest
    count = _COUNT_RE.match(after)
    if count is not None and count.start() == 0:
        days = _count_days(count)
        if days is None or prep in ("until", "till", "til"):
            return None
        return None, days, after[count.end() :]
    mentions, _ = scan_dates(after[:300], received)
    first: DateMention | None = mentions[0] if mentions else None
    if first is not None and first.start == 0:
        if first.kind != "date" or first.date is None or first.note is not None:
            return None
        return first.date, None, after[first.end :]
    weekday = _WEEKDAY_ONLY.match(after)
    if weekday is not None:
        day = _weekday_after(weekday, received)
        if day is None:
            return None
        return day, None, after[weekday.end() :]
    if prep in ("to", "until", "till", "til", "up to", "through", "thru"):
        return None  # "extend to the end of the month": unclear
    if prep in ("by", "for", "of") and after.strip():
        return None  # "extend by a bit"
    if re.match(r"\s*\d", after):
        return None  # a number that is neither a date nor a period
    return None, None, rest


def _weekday_after(match: re.Match[str], received: date | None) -> date | None:
    """The next such weekday strictly after ``received``; "next Friday" is ambiguous and gives None."""
    if received is None or (match["qual"] or "").strip().casefold() == "next":
        return None
    target = _WEEKDAY_NAMES[match["wd"].casefold()]
    ahead = (target - received.weekday() - 1) % 7 + 1
    try:
        return received + timedelta(days=ahead)
    except OverflowError:
        return None


# -- reading a manager's response -------------------------------------------------------------------------

_TIME = r"(?:extension|extra\s+time|more\s+time|additional\s+time|further\s+time|longer)"
_NO_REQUEST = re.compile(
    rf"\bno\s+(?:need\s+(?:for|of)\s+(?:an?\s+|any\s+)?|further\s+|more\s+|additional\s+)?{_TIME}"
    r"|(?:\b(?:do|does|did|will|shall|would|should|could)\s+not|n't|\bnot|\bnever)\s+(?:\w+\s+){0,2}?"
    rf"(?:need|require|want|request|ask|expect|anticipate|seek)\w*\s+(?:\w+\s+){{0,2}}?(?:an?\s+|any\s+)?{_TIME}"
    rf"|\bwithout\s+(?:an?\s+|any\s+)?{_TIME}"
    r"|\bextension\s+(?:is\s+|will\s+)?(?:not|no\s+longer)\s+(?:be\s+)?(?:needed|required|necessary)"
    r"|\bthank\w*\s+(?:you\s+)?for\s+(?:agreeing|granting|approving|allowing|the)\b[^.?!\n]{0,30}extension",
    _I,
)
_EXTENSION_WORD = re.compile(
    r"(?<!phone\s)(?<!tel\s)(?<!telephone\s)\bextension\b(?!\s*+(?:no\.?|number|num)?\s*+:?\s*+\d{3,})"
    r"|\bextend(?:ed|ing)?\b(?!\s+(?:family|families|kin|network|networks|household))",
    _I,
)
_MORE_TIME = re.compile(r"\b(?:more|additional|further|extra)\s+time\b|\blonger\s+to\s+(?:respond|reply)\b", _I)
# Periods asked for: (pattern, whether "another"/"more" must be part of the period itself).
_REQUESTED_COUNTS: tuple[tuple[re.Pattern[str], bool], ...] = tuple(
    (re.compile(pattern, _I), needs_more)
    for pattern, needs_more in (
        (rf"\b{_COUNT}", True),  # another 5 working days, a further week, 5 more days
        (rf"\b{_COUNT}\s*+-?\s*+extension", False),  # a 2 week extension, a 10-day extension
        (rf"\bextension\s+(?:of|by|for)\s++{_COUNT}", False),
        (rf"\bextend\w*\s+(?:(?:it|this|the\s+\w+(?:\s+\w+)?)\s+)?(?:by|for)\s++{_COUNT}", False),
        (
            rf"\b(?:need|needs|require|requires|request|requesting|have|give|allow|grant|get)\s++(?:me\s++|us\s++)?"
            rf"{_COUNT}",
            False,
        ),
    )
)
_ASKING = re.compile(
    r"\b(?:could|can|may|might|would|please|need|needs|have|give|allow|grant|request|requesting|ask|asking"
    r"|possible|able)\b[^.?!\n]{0,60}?\b(?:until|till|til|up\s+to)\b",
    _I,
)
_AWAY = re.compile(
    r"\b(?:leave|off|away|absent|holiday|holidays|sick|unavailable|out\s+of\s+(?:the\s+)?office|not\s+in)\b", _I
)
_REPLYING_BY = re.compile(
    r"\b(?:respond|responding|response|reply|replying|get\s+back|come\s+back|revert|update\s+you|an\s+update"
    r"|let\s+you\s+know|feed\s*back)\b[^.?!\n]{0,80}?\bby\b",
    _I,
)
_DATE_INTRO = re.compile(
    r"\b(?:until|till|til|to|by|before|on|for|of|deadline|date)\b\W*(?:(?:the|a|an|date|of|no|later|than)\W+){0,3}$",
    _I,
)
_WEEKDAY_INTRO = re.compile(
    rf"\b(?:until|till|til|to|by|before|on|for)\s+(?=(?:this\s+|next\s+|coming\s+|this\s+coming\s+)?(?:{_WEEKDAY_ALT})\b)",
    _I,
)
# A blank line (spaces of any kind, or quote marks, only) ends a paragraph.
_PARAGRAPH_BREAK = re.compile(r"\n(?:[^\S\n]|>)*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(“‘])|\n")


def read_response(text: str, received: date) -> ReplyIntent:
    """What a reply asks for: the command at its top and any request for more time. Never raises."""
    try:
        command = read_command(text, received)
        return _read_response(text, resolve_received(received), command)
    except Exception:  # pragma: no cover - defensive: the parser must never stop the service
        log.warning("response reading failed unexpectedly", exc_info=True)
        return ReplyIntent(command=None, extension_requested=False)


def _sentences(text: str) -> list[str]:
    """Sentences of the first MAX_RESPONSE_CHARS characters; hard-wrapped lines of a paragraph are joined."""
    window = text[:MAX_RESPONSE_CHARS].replace("\r\n", "\n").replace("\u00a0", " ").replace("’", "'")
    paragraphs = _PARAGRAPH_BREAK.split(window)
    found: list[str] = []
    for paragraph in paragraphs:
        lines = [_normalise_line(line).rstrip() for line in paragraph.splitlines()]
        joined = " ".join(line for line in lines if line)
        found.extend(part.strip() for part in _SENTENCE_END.split(joined) if part.strip())
    return found


def _read_response(text: object, received: date | None, command: Command | None) -> ReplyIntent:
    if not isinstance(text, str) or not text.strip():
        return ReplyIntent(command=command, extension_requested=False)
    evidence = ""
    until: date | None = None
    days: int | None = None
    for sentence in _sentences(text):
        if _NO_REQUEST.search(sentence):
            continue
        when = _sentence_date(sentence, received)
        count = _requested_days(sentence)
        asked = (
            _EXTENSION_WORD.search(sentence) is not None
            or _MORE_TIME.search(sentence) is not None
            or count is not None
            or (when is not None and _ASKING.search(sentence) is not None and _AWAY.search(sentence) is None)
            or (when is not None and _REPLYING_BY.search(sentence) is not None)
        )
        if not asked:
            continue
        if not evidence:
            evidence = _trim(sentence)
        until = until or when
        days = days or count
        if until is not None and days is not None:
            break
    if not evidence:
        return ReplyIntent(command=command, extension_requested=False)
    log.debug("extension request read until=%s days=%s", until, days)
    return ReplyIntent(command, True, requested_until=until, requested_working_days=days, evidence=evidence)


def _requested_days(sentence: str) -> int | None:
    for pattern, needs_more in _REQUESTED_COUNTS:
        for match in pattern.finditer(sentence):
            if needs_more and not (match["pre"] or match["more"]):
                continue
            days = _count_days(match)
            if days is not None:
                return days
    return None


def _sentence_date(sentence: str, received: date | None) -> date | None:
    """The date a sentence asks for: an introduced absolute date, else one weekday after "until"/"by"."""
    mentions, _ = scan_dates(sentence, received)
    dates = [m for m in mentions if m.kind == "date" and m.date is not None]
    for mention in dates:
        if _DATE_INTRO.search(sentence[max(0, mention.start - 30) : mention.start]):
            return mention.date
    if dates:
        return dates[0].date
    intro = _WEEKDAY_INTRO.search(sentence)
    if intro is not None:
        weekday = _WEEKDAY_ONLY.match(sentence, intro.end())
        if weekday is not None:
            return _weekday_after(weekday, received)
    return None


def _trim(sentence: str) -> str:
    collapsed = " ".join(sentence.split())
    if len(collapsed) <= MAX_EVIDENCE_CHARS:
        return collapsed
    return collapsed[: MAX_EVIDENCE_CHARS - 1].rstrip() + "…"
