"""Reading the facts an IRO escalation subject line carries.

House style (Dorset): ``Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 05/12/2026``.
Real subjects drift from it: other separators or none, reply prefixes, "Stage Two", "IRO Challenge",
siblings ("Amy, Beth and Cara Khan"), several case numbers, dates in many UK forms, the bot's own
``[ESC-0042]`` tag. :func:`parse_subject` reads what it can and reports what it could not as
plain-English warnings (never containing a child's name). It is pure and never raises.

How it works: the subject is cleaned (control characters out, whitespace collapsed, length capped), reply
prefixes are stripped, and on a normalised working copy the recognised pieces (bot tag, dates, case numbers,
level) are found and blanked out in that order, so that a date is never read as a case number and a case
number never as a date. What is left is split into runs of name-like words; stop words ("escalation",
"response", "care plan", ...) and separators end a run, and "and", "&", "," join siblings.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from parsers.dates import DateFind, find_date, resolve_received

__all__ = [
    "CaseNumber",
    "SubjectFacts",
    "normalise_subject",
    "parse_subject",
    "strip_prefixes",
]

log = logging.getLogger(__name__)

#: Subjects longer than this are cut (RFC 5322 lines are at most 998 characters).
MAX_SUBJECT_CHARS = 1000
_MAX_CHILDREN = 12
_BLANK = "\x00"  # stands in for recognised text; never in a cleaned subject, never part of a word

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\uff0d~"
_DASH_TABLE = str.maketrans(dict.fromkeys(_DASHES, "-"))
_L = r"[^\W\d_]"  # one letter, any script

_REPLY_WORD = r"(?:re|fwd?|aw|wg|sv|vs|antw|rv|tr)"
_MARKER = (
    r"\[(?:external|ext|secure|encrypt(?:ed)?|official(?:[\s-]sensitive)?|sensitive|spam|suspected\s+spam)\]"
)
_PREFIX = re.compile(
    rf"\s*+(?:(?P<reply>{_REPLY_WORD})\s*+(?:\[\d{{1,3}}\]|\(\d{{1,3}}\))?\s*+[:：]|{_MARKER}"
    r"|\[\s*+esc\s*+-?\s*+\d{1,12}\s*+\](?=\s*+(?:re|fwd?|aw|wg|sv|vs|antw|rv|tr)\s*+[:：]))\s*",
    re.IGNORECASE,
)
_BOT_TAG = re.compile(r"\[\s*+esc\s*+-?\s*+(?P<n>\d{1,12})\s*+\]", re.IGNORECASE)

_LEVEL_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
    "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5,
    "i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5,
}  # fmt: skip
_LEVEL = re.compile(
    r"(?<![\w'’])(?P<word>level|lvl|lev|stage|stg|l(?=-?\d))\.?\s?[-:#.]?\s?"
    r"(?P<num>\d{1,2}(?!\d)|one|two|three|four|five|first|second|third|fourth|fifth"
    r"|1st|2nd|3rd|4th|5th|(?-i:III|II|IV|I|V))(?![\w'’])"
    r"|(?<![\w'’])(?P<num2>first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th)\s?-?\s?"
    r"(?P<word2>level|stage)(?![\w'’])",
    re.IGNORECASE,
)
_KEYWORD = re.compile(
    r"(?<!\w)(?:escalat\w*|disputes?|challenge[sd]?|quality\s+alert|representations?)(?!\w)", re.IGNORECASE
)
_ACTION_START = re.compile(r"^\W*action\b", re.IGNORECASE)

# Case numbers: a system label, optional "no."/"ID"/"#"/":", then 4-10 digits; more numbers may follow.
_SYSTEM_LABEL = r"(?P<sys>mosaic|liquid\s?logic|lcs|ll|eclipse)"
_GENERIC_LABEL = r"(?P<gen>id|ref|reference|case|child|no|nos|number|num|record)"
_LABEL_TAIL = r"(?:\s?(?:no|nos|number|num|id|ref|reference|case|record|person)(?!\w)\.?|\s?[#:.\-]){0,4}\s?"
_LABELLED = re.compile(
    rf"(?:(?<!{_L}){_SYSTEM_LABEL}(?!{_L})|(?<!\w)#|(?<!{_L}){_GENERIC_LABEL}(?!{_L}))"
    rf"{_LABEL_TAIL}(?P<n>\d{{4,10}})(?!\d)",
    re.IGNORECASE,
)
_CONTINUATION = re.compile(r"\s?(?:&|and|/|,|\+|or|;)\s?#?\s?(?P<n>\d{4,10})(?!\d)", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"(?<![\w£$€.,])(?P<n>\d{4,10})(?!\w|[.,]\d)")
_SYSTEMS = {"mosaic": "mosaic", "eclipse": "eclipse"}

# Names.
_PAREN_INITIALS = re.compile(r"\(\s?(?P<i>(?:[A-Z]\.?\s?){1,4})\)")
_TOKEN = re.compile(
    rf"(?P<init>(?<!{_L})(?:{_L}\.(?:\s(?={_L}\.))?){{1,4}})"
    rf"|(?P<word>{_L}+(?:['’\-]{_L}+)*)"
    r"|(?P<digit>\d+)"
    r"|(?P<other>\S)"
)
_STOP_PHRASES = re.compile(
    r"(?<!\w)(?:young\s(?:person|people)|care\s(?:plan|leaver)s?|pathway\s(?:plan)?s?|head\sof\s\w+"
    r"|team\smanager|service\smanager|foster\scarers?|social\sworkers?|liquid\slogic|out\sof\soffice"
    r"|date\sof\sbirth|looked\safter|child\sprotection|in\scare|child\sin\sneed|sign(?:ed)?\soff"
    r"|unborn\sbaby)(?!\w)",
    re.IGNORECASE,
)
_STOPWORD_TEXT = """
    a about accepted accommodation action actioned actions ad adopted adoption adoptive advocacy advocate
    advice after age aged agreed ahos alert allocated allocation an and antw any are as asap assessment
    assessments assistant at attached attachment attn authorisation authority auto automatic aw
    bcc be been behaviour between birth breach breakdown business by cafcass cahms camhs care carer carers
    case cc cce challenge challenged challenges chaser chasing child childrens children childs cic cin cla
    close closed completed completion concern concerned concerning concerns conference confidential
    connected consent consultation contact copy corporate council court cp cse custody cyp date day days
    dcs decision decisions declined delay delayed delays delegated deputy director dispute disputes dl dob
    documentation documents dop drift due dd eclipse education eg ehcp email emotional encrypted eod
    escalate escalated escalates escalating escalation escalations expected extend extended extension
    external family fao father fifth final financial first follow followup for formal fourth from fw fwd
    fyi gp group have head health hearing high hol hos id ie iii important in inadequate incomplete
    independent info information informal iro iros irh is issue issues it lac lack lado late lcs leaving
    legal level liquidlogic ll locality lvl manager managers medical meeting minutes missing monday
    month months mosaic mother mr mrs ms mum needed new no non nos not note notice notification number
    of off office officer official on open or order outcome outstanding overdue panel parent parental
    parents part pathway pep permanence permanency placement placements plan planning plans please plo
    pls police policy poor pr practice priority private proceedings process progress protect provision ps qa
    qaro quality re reason ref reference referral regarding reminder report representation request
    requested required resolution resolved resources resp respond response responses restricted review
    reviewed reviewing reviews rights risk rv safeguarding school second secure semh send sensitive
    service services sgo sibling siblings sign signed sm social stability stage statutory step strategy
    subject sunday support supervision sv sw team the third timescale timescales to today tomorrow tr
    transition tuesday uasc unallocated update updated updates urgent urgently vs wd wednesday week
    weeks wg welfare with withdrawn within without work worker workers working yot your tm yp ahos
    thursday friday saturday mon tue tues wed thu thur thurs fri sat sun reply replies deadline return
    returned before until till calendar than later nlt wds again now also this that next last end cob
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_PARTICLE_TEXT = "de da di del della van von der den le la du des dos bin binti ibn al el ap ter ten"
_PARTICLES = frozenset(_PARTICLE_TEXT.split())


@dataclass(frozen=True)
class CaseNumber:
    """A case-record number: digits only; the system named beside it, if any."""

    number: str
    system: str | None  # "mosaic" | "liquidlogic" | "eclipse" | None (bare digits, "#", "ID")


@dataclass(frozen=True)
class SubjectFacts:
    """What a subject line says.

    Level, case numbers, date and bot reference are read from any subject; ``children`` only from one that
    ``is_escalation`` (elsewhere name-like words are not evidence of a child). ``warnings`` are plain English
    and never contain a name.
    """

    subject: str
    core: str
    is_reply: bool
    is_escalation: bool
    level: int | None
    level_word: str | None
    children: tuple[str, ...]
    case_numbers: tuple[CaseNumber, ...]
    response_date: date | None
    response_date_text: str | None
    warnings: tuple[str, ...]
    bot_reference: str | None


@dataclass(frozen=True)
class _Token:
    kind: str  # "name", "join", "soft", "break"
    text: str
    start: int
    end: int


def _clean(subject: object) -> tuple[str, bool]:
    """Remove control/format characters, collapse whitespace, cap the length. Returns (text, truncated)."""
    if not isinstance(subject, str):
        return "", False
    raw = subject[: MAX_SUBJECT_CHARS * 8]
    kept: list[str] = []
    for char in raw:
        category = unicodedata.category(char)
        if char.isspace() or category == "Cc":
            kept.append(" ")
        elif category in ("Cs", "Co", "Cn") or (category == "Cf" and char != "\u200d"):
            continue
        else:
            kept.append(char)
    text = " ".join("".join(kept).split())
    if len(text) <= MAX_SUBJECT_CHARS:
        return text, len(raw) < len(subject)
    cut = text[:MAX_SUBJECT_CHARS]
    space = cut.rfind(" ", MAX_SUBJECT_CHARS - 60)
    if space > 0:
        cut = cut[:space]
    if cut and unicodedata.category(cut[-1]) == "Mn":  # do not end on a lone combining mark
        cut = cut.rstrip("".join(c for c in cut[-4:] if unicodedata.category(c) == "Mn"))
    return cut.rstrip(), True


def strip_prefixes(subject: str) -> tuple[str, bool]:
    """Remove any number of reply/forward prefixes (``RE: FW: re:``, ``AW:``, ``SV:``, ``RE[2]:``...).

    Mail-system markers such as ``[EXTERNAL]`` mixed in with them go too. Returns (core, had_reply_prefix).
    """
    if not isinstance(subject, str):
        return "", False
    position = 0
    had_prefix = False
    while True:
        match = _PREFIX.match(subject, position)
        if match is None or match.end() == position:
            break
        had_prefix = had_prefix or match["reply"] is not None
        position = match.end()
    return subject[position:].strip(), had_prefix


def normalise_subject(subject: str) -> str:
    """A key for matching subjects across a thread.

    Prefixes and ``[ESC-n]`` tags are removed, the text is NFKC-normalised and casefolded, and dashes and
    whitespace are collapsed so ``Action-Level 1`` and ``Action – Level 1`` compare equal.
    """
    text, _ = _clean(subject)
    core, _ = strip_prefixes(text)
    core = _BOT_TAG.sub(" ", unicodedata.normalize("NFKC", core))
    core = core.translate(_DASH_TABLE).casefold()
    core = re.sub(r"\s*-[\s-]*", " - ", core)
    return " ".join(core.split()).strip(" -:")


def _blank(chars: list[str], start: int, end: int) -> None:
    chars[start:end] = _BLANK * (end - start)


def _level_value(text: str) -> int | None:
    key = text.casefold()
    if key.isdigit():
        return int(key)
    return _LEVEL_WORDS.get(key)


def _find_levels(chars: list[str], warnings: list[str]) -> tuple[int | None, str | None, int, int]:
    """(level, level_word, start, end) of the first usable level phrase; later ones are blanked too."""
    first: tuple[int, str, int, int] | None = None
    others: set[int] = set()
    for match in _LEVEL.finditer("".join(chars)):
        word = (match["word"] or match["word2"]).casefold()
        value = _level_value(match["num"] or match["num2"])
        _blank(chars, *match.span())
        if value is None or not 1 <= value <= 5:
            warnings.append(f"level '{match.group(0)}' is outside 1 to 5; ignored")
            continue
        if first is None:
            first = (value, "stage" if word.startswith("st") else "level", *match.span())
        elif value != first[0]:
            others.add(value)
    if first is None:
        return None, None, -1, -1
    if others:
        listed = ", ".join(str(v) for v in sorted(others | {first[0]}))
        warnings.append(f"several levels in the subject ({listed}); the first was used")
    return first


def _find_case_numbers(chars: list[str]) -> tuple[list[CaseNumber], list[tuple[int, int]]]:
    """Case numbers in text order, and the spans they occupied (blanked in ``chars``)."""
    found: list[tuple[int, CaseNumber]] = []
    spans: list[tuple[int, int]] = []
    text = "".join(chars)
    for match in _LABELLED.finditer(text):
        label = (match["sys"] or "").casefold().replace(" ", "")
        system = _SYSTEMS.get(label, "liquidlogic" if label else None)
        found.append((match.start("n"), CaseNumber(match["n"], system)))
        end = match.end()
        while (more := _CONTINUATION.match(text, end)) is not None:
            found.append((more.start("n"), CaseNumber(more["n"], system)))
            end = more.end()
        spans.append((match.start(), end))
    for start, end in spans:
        _blank(chars, start, end)
    for match in _BARE_NUMBER.finditer("".join(chars)):
        found.append((match.start(), CaseNumber(match["n"], None)))
        spans.append(match.span())
        _blank(chars, *match.span())
    found.sort(key=lambda pair: pair[0])
    return _dedupe([number for _, number in found]), sorted(spans)


def _dedupe(numbers: list[CaseNumber]) -> list[CaseNumber]:
    """First occurrence wins its place; a named system beats an unnamed one for the same digits."""
    result: list[CaseNumber] = []
    for number in numbers:
        for i, seen in enumerate(result):
            if seen.number == number.number:
                if seen.system is None and number.system is not None:
                    result[i] = number
                break
        else:
            result.append(number)
    return result


def _word_kind(word: str, has_caps: bool) -> str:
    key = word.casefold().replace("’", "'")
    if key == "and":
        return "join"
    base = key[:-2] if key.endswith("'s") else key
    if key in _STOPWORDS or base in _STOPWORDS or key.replace(".", "").replace(" ", "") in _STOPWORDS:
        return "break"
    if key in _PARTICLES:
        return "particle"
    if has_caps and word[:1].islower():
        return "break"
    return "name"


def _raw_tokens(text: str) -> Iterator[tuple[str, str, int, int]]:
    """(kind, text, start, end) with kind "init", "word", "digit" or "other"; stop-word hyphen parts split."""
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        value = match.group(0)
        start = match.start()
        if kind == "word" and "-" in value:
            yield from _split_hyphenated(value, start)
            continue
        yield kind, value, start, match.end()


def _split_hyphenated(value: str, start: int) -> Iterator[tuple[str, str, int, int]]:
    """Split a hyphenated word only beside stop words: ``escalation-Mary-Kate`` -> escalation, Mary-Kate."""
    pieces: list[tuple[str, int]] = []  # (piece, start)
    offset = start
    group_start = -1
    for part in value.split("-"):
        if _word_kind(part, False) == "break":
            if group_start >= 0:
                pieces.append((value[group_start - start : offset - 1 - start], group_start))
                group_start = -1
            pieces.append((part, offset))
        elif group_start < 0:
            group_start = offset
        offset += len(part) + 1
    if group_start >= 0:
        pieces.append((value[group_start - start :], group_start))
    for index, (piece, piece_start) in enumerate(pieces):
        if index:
            yield "other", "-", piece_start - 1, piece_start
        yield "word", piece, piece_start, piece_start + len(piece)


def _tokens(text: str) -> list[_Token]:
    raw = list(_raw_tokens(text))
    has_caps = any(
        kind in ("word", "init") and value[:1].isupper() and _word_kind(value, False) == "name"
        for kind, value, _, _ in raw
    )
    tokens: list[_Token] = []
    for kind, value, start, end in raw:
        if kind == "init":
            sort = "break" if _word_kind(value, False) == "break" else "name"
        elif kind == "word":
            sort = _word_kind(value, has_caps)
        elif kind == "other" and value in ",&+/":
            sort = "join"
        elif kind == "other" and value == ".":
            sort = "soft"
        else:
            sort = "break"
        tokens.append(_Token(sort, value, start, end))
    return tokens


@dataclass(frozen=True)
class _Run:
    start: int
    end: int
    names: tuple[str, ...]


def _run_names(text: str, run: list[_Token]) -> tuple[str, ...]:
    parts: list[list[_Token]] = [[]]
    for token in run:
        if token.kind == "join":
            parts.append([])
        elif token.kind in ("name", "particle"):
            parts[-1].append(token)
    cleaned: list[list[_Token]] = []
    for part in parts:
        while part and part[0].kind == "particle":
            part = part[1:]
        while part and part[-1].kind == "particle":
            part = part[:-1]
        if part:
            cleaned.append(part)
    if not cleaned:
        return ()
    surname = ""
    last = cleaned[-1]
    if len(cleaned) > 1 and len(last) > 1:
        surname = _strip_possessive(text[last[1].start : last[-1].end])
    names: list[str] = []
    for part in cleaned:
        name = _strip_possessive(text[part[0].start : part[-1].end])
        if surname and len(part) == 1 and part is not last:
            name = f"{name} {surname}"
        names.append(name)
    return tuple(names)


def _strip_possessive(name: str) -> str:
    if len(name) > 3 and name[-2:] in ("'s", "’s"):
        return name[:-2]
    return name


def _runs(text: str) -> list[_Run]:
    runs: list[_Run] = []
    current: list[_Token] = []

    def flush() -> None:
        if any(t.kind == "name" for t in current):
            names = _run_names(text, current)
            if names:
                runs.append(_Run(current[0].start, current[-1].end, names))
        current.clear()

    for token in _tokens(text):
        if token.kind == "break":
            flush()
        elif token.kind == "soft" or (token.kind == "join" and not current):
            continue
        else:
            current.append(token)
    flush()
    return runs


def _pick_runs(
    runs: list[_Run],
    anchor: tuple[int, int] | None,
    case_end: int | None,
    date_start: int | None,
    length: int,
) -> list[_Run]:
    """Prefer names between the level and the case number(s), then before the date, then before the level."""
    if anchor is None:
        return runs
    a_start, a_end = anchor
    zones: list[list[_Run]] = []
    if case_end is not None and case_end > a_end:
        zones.append([r for r in runs if r.start >= a_end and r.end <= case_end])
    stop = date_start if date_start is not None and date_start > a_end else length
    zones.append([r for r in runs if r.start >= a_end and r.end <= stop])
    zones.append([r for r in runs if r.end <= a_start])
    zones.append(runs)
    return next((zone for zone in zones if zone), [])


def _children(
    chars: list[str], anchor: tuple[int, int] | None, case_end: int | None, date_start: int | None
) -> tuple[str, ...]:
    initials: list[str] = []
    for match in _PAREN_INITIALS.finditer("".join(chars)):
        value = match["i"].strip()
        if _word_kind(value, False) != "break":
            initials.append(value)
        _blank(chars, *match.span())
    text = "".join(chars)
    names: list[str] = []
    seen: set[str] = set()
    for run in _pick_runs(_runs(text), anchor, case_end, date_start, len(text)):
        for name in run.names:
            key = name.casefold()
            if key not in seen:
                seen.add(key)
                names.append(name)
    if not names:
        names = list(dict.fromkeys(initials))
    return tuple(names[:_MAX_CHILDREN])


def parse_subject(
    subject: str | None,
    received: date | None = None,
    add_working_days: Callable[[date, int], date] | None = None,
) -> SubjectFacts:
    """Read level, children, case numbers, response date and the bot tag from a subject. Never raises.

    ``received`` (the mail's date) resolves dates without a year and "in 5 working days";
    ``add_working_days(start, n)`` is the council's working-day calendar (``n == 0``: the next working
    day on or after ``start``); without it Monday to Friday is used and a warning says so.
    """
    try:
        return _parse(subject, resolve_received(received), add_working_days)
    except Exception:  # pragma: no cover - defensive: a subject must never stop the service
        log.warning("subject parsing failed unexpectedly", exc_info=True)
        text, _ = _clean(subject)
        return SubjectFacts(
            text, text, False, False, None, None, (), (), None, None, ("the subject could not be read",), None
        )


def _parse(
    subject: str | None, received: date | None, add_working_days: Callable[[date, int], date] | None
) -> SubjectFacts:
    warnings: list[str] = []
    text, truncated = _clean(subject)
    if truncated:
        warnings.append(f"subject was longer than {MAX_SUBJECT_CHARS} characters and was cut")
    core, is_reply = strip_prefixes(text)
    work = unicodedata.normalize("NFKC", core).translate(_DASH_TABLE)
    work = " ".join(work.split())
    chars = list(work)

    tag = _BOT_TAG.search(text.translate(_DASH_TABLE))
    bot_reference = f"ESC-{tag['n']}" if tag else None
    for match in _BOT_TAG.finditer(work):
        _blank(chars, *match.span())

    found: DateFind = find_date("".join(chars), received, add_working_days)
    warnings.extend(found.warnings)
    for mention in found.mentions:
        _blank(chars, mention.start, mention.end)
    date_text = found.text
    if found.start is not None and found.end is not None and len(work) == len(core):
        date_text = core[found.start : found.end]

    case_numbers, case_spans = _find_case_numbers(chars)
    level, level_word, level_start, level_end = _find_levels(chars, warnings)
    for match in _STOP_PHRASES.finditer("".join(chars)):
        _blank(chars, *match.span())

    keyword = _KEYWORD.search(work)
    has_level = level is not None
    is_escalation = (has_level and bool(keyword or case_numbers or _ACTION_START.match(work))) or bool(
        keyword and case_numbers
    )
    if is_escalation and not has_level:
        warnings.append("no escalation level found in the subject")
    if is_escalation and not case_numbers:
        warnings.append("no case number found in the subject")

    anchor = (level_start, level_end) if has_level else (keyword.span() if keyword else None)
    case_end = max(end for _, end in case_spans) if case_spans else None
    # Names are only read from escalation subjects: elsewhere they would be guesses about strangers.
    children = _children(chars, anchor, case_end, found.start) if is_escalation else ()

    return SubjectFacts(
        subject=text,
        core=core,
        is_reply=is_reply,
        is_escalation=is_escalation,
        level=level,
        level_word=level_word,
        children=children,
        case_numbers=tuple(case_numbers),
        response_date=found.date,
        response_date_text=date_text,
        warnings=tuple(dict.fromkeys(warnings)),
        bot_reference=bot_reference,
    )
