"""The text the IRO pastes into the child's case record, in the shape the council's case system keeps.

Every council's procedure asks the IRO to record the escalation on the child's file: Hull a LiquidLogic case note
of type "IRO - escalation" and the IRO Escalation Form (section 4), Dorset the child's MOSAIC record, Birmingham
the Eclipse "Resolution and Escalation" form (section 9: the reasons, the impact on the child, the actions and
timescales, each stage's manager response, the IRO's views on close), Rotherham an IRO case note (2.3), South West
the child's record. :class:`rules.procedure.CaseRecord` says which system, note type, form and fields (label,
source); :func:`case_note` fills each field from the record's :class:`CaseFacts` at a moment — the ``opening``,
each new ``level``, the ``closure`` — and :func:`note_text` gives the plain text to paste.

Pure: the caller (``mailbot/clock/casenote.py``) reads the facts from the store. Nothing here raises on odd input
(empty or huge text, control characters, missing dates, an unknown source or moment): an empty field says what is
still to come ("(to be completed)"), never "None", and every field is capped at :data:`MAX_FIELD_CHARS`.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from rules.procedure import CaseRecord

#: When the IRO is sent the text: the escalation raised, a new level started, the escalation closed.
MOMENTS = ("opening", "level", "closure")
#: The most a field says (case systems cap free text; a mail should not carry a book): cut with "…".
MAX_FIELD_CHARS = 4000
#: The most one manager's response says inside the responses field, so that every level's answer fits.
MAX_RESPONSE_CHARS = 1500
#: The most of any input text read (a longer concern is cut before it is searched).
MAX_INPUT_CHARS = 50_000
#: The most a label (or a level label, a name) says.
MAX_LABEL_CHARS = 200
#: What an empty field says.
TO_BE_COMPLETED = "(to be completed)"
STILL_OPEN = "(still open)"
NO_RESPONSE_YET = "(none yet)"
NONE_RECORDED = "(none recorded)"
#: The fields of a record that gives none (a council's ``[policy.case_record]`` always gives some).
DEFAULT_FIELDS: tuple[tuple[str, str], ...] = (
    ("Concern", "concern"),
    ("Requested action", "requested_action"),
    ("Timescale", "timescale"),
    ("Impact on the child", "impact"),
    ("Level", "level"),
    ("Responses", "responses"),
    ("Outcome", "outcome"),
    ("Date concluded", "concluded"),
)


@dataclass(frozen=True)
class Response:
    """One manager's answer, or a meeting's outcome, at a level."""

    level_label: str  # "Level 1 (Team Manager)"
    who: str  # "Tom Manager"
    on: date
    text: str


@dataclass(frozen=True)
class CaseFacts:
    """What the record knows, read by the shell from the escalation, its stages, messages and events."""

    reference: str
    children: tuple[str, ...]
    case_numbers: tuple[str, ...]  # "MOSAIC 123456"
    iro: str
    opened_on: date
    concern: str  # the IRO's opening mail's new text (signature already stripped by the caller)
    requested_action: str  # the lines of the concern that ask for something; "" = worked out from the concern here
    timescale: str  # "response by Friday 11 December 2026"
    impact: str  # the "Impact:" line of the concern if present, else ""
    level_label: str  # the current level: "Level 2 (Group Manager)"
    levels: tuple[tuple[str, date, date | None], ...]  # (label, started, due) of each level so far, in order
    responses: tuple[Response, ...]
    outcome: str  # "" while open
    concluded_on: date | None
    themes: tuple[str, ...]


@dataclass(frozen=True)
class CaseNote:
    """The text for the case record at one moment, field by field in the council's order."""

    heading: str  # 'LiquidLogic case note — type "IRO - escalation"' | 'Eclipse: "Resolution and Escalation" form'
    moment: str  # one of MOMENTS
    fields: tuple[tuple[str, str], ...]  # (label, text): every field of the record, none empty
    instruction: str = ""  # one line: what happened and where to paste it ("Paste this into Jane's …")
    title: str = ""  # for the mail's subject: "For the child's record: Level 2 escalation"


# ------------------------------------------------------------------------------------------------- text


def long_date(value: date | None) -> str:
    """``Friday 11 December 2026`` (no leading zero); ``""`` for no date."""
    if not isinstance(value, date):
        return ""
    return f"{value:%A} {value.day} {value:%B %Y}"


def _s(value: Any) -> str:
    """Any value as text: ``""`` for None."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


#: The characters :func:`clean` drops: the control characters (Unicode category Cc: U+0000-U+001F and U+007F-U+009F)
#: but the line feed, and lone surrogates (category Cs).
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]+")
#: Three line ends or more in a row (more than one blank line), once trailing spaces are gone.
_BLANK_LINES = re.compile("\n{3,}")


def clean(value: Any, limit: int = MAX_INPUT_CHARS) -> str:
    """Text fit to paste: at most ``limit`` characters read, line ends as ``\\n``, no control characters or lone
    surrogates, tabs as spaces, no trailing spaces, at most one blank line in a row, trimmed."""
    text = _s(value)[:limit].replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _CONTROL.sub("", text)  # one pass in C, linear: no per-character Python
    text = "\n".join([line.rstrip() for line in text.split("\n")])
    return _BLANK_LINES.sub("\n\n", text).strip()


def cap(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with "…"."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def _one_line(value: Any, limit: int = MAX_LABEL_CHARS) -> str:
    return cap(" ".join(clean(value, limit * 4).split()), limit)


def _sentence(text: str) -> str:
    """The first letter capitalised: "response by …" → "Response by …"."""
    return text[:1].upper() + text[1:] if text else text


def _short_label(label: str) -> str:
    """``Level 2 (Group Manager)`` → ``Level 2``."""
    if label.endswith(")") and " (" in label:
        return label[: label.rfind(" (")].strip() or label
    return label


def _and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# ------------------------------------------------------------------------------------ reading the concern

#: "Dear Tom,", "Hi all", "Good morning Tom and Sara," — a line of its own (not "Dear Tom, I am writing …").
_GREETING = re.compile(r"(?:dear|hi|hello|good (?:morning|afternoon))\b[ \w'’.&-]{0,50},?|[A-Z][\w'’-]{0,30}"
                       r"(?: (?:and|&) [A-Z][\w'’-]{0,30})?,", re.IGNORECASE)
_IMPACT = re.compile(r"(?:the )?impact\b[^:\n]{0,60}:[ ]*", re.IGNORECASE)
_DATE_WORDS = (
    r"\d{1,2}[/.-]\d{1,2}|(?:mon|tues|wednes|thurs|fri|satur|sun)day\b|\d{1,2}(?:st|nd|rd|th)? ?"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)|(?:the )?(?:end|close) of\b|tomorrow\b|next week\b"
    r"|the date\b|return\b"
)
_ASKS = re.compile(
    r"\bplease\b|\bkindly\b|\bi (?:would )?(?:request|ask|expect|require)\b|\bi am (?:requesting|asking)\b"
    r"|\brequest(?:ed)? (?:that|action)\b|\b(?:is|are) required to\b|\baction(?:s)?(?: required)? ?:"
    rf"|\bby (?:{_DATE_WORDS})",
    re.IGNORECASE,
)
_ACTIONS_HEADER = re.compile(r"(?:requested |required )?actions?\b[^:\n]{0,40}:$|what i am asking[^:\n]{0,40}:$",
                             re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_LIST_ITEM = re.compile(r"(?:[-*•–]|\d{1,2}[.)]|\(?[a-z][.)])\s")


def _lines(concern: str) -> list[str]:
    return clean(concern).split("\n")


def without_greeting(concern: str) -> str:
    """The concern without its opening "Dear Tom," line."""
    lines = _lines(concern)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and _GREETING.fullmatch(lines[first].strip()):
        lines = lines[first + 1:]
    return "\n".join(lines).strip()


def without_sign_off(text: str, iro: str) -> str:
    """The text without the IRO's own name and what follows it at the end ("Jo Whitfield / Independent Reviewing
    Officer"): the record says who raised it elsewhere."""
    name = " ".join(iro.split()).casefold()
    if not name:
        return text
    lines = _lines(text)
    for i in range(len(lines) - 1, max(-1, len(lines) - 6), -1):
        if " ".join(lines[i].split()).casefold() == name:
            return "\n".join(lines[:i]).strip()
    return text


def _impact_span(lines: list[str]) -> tuple[int, int, str] | None:
    """Where the "Impact:" block is (first line, line after it) and what it says."""
    for i, line in enumerate(lines):
        found = _IMPACT.match(line.strip())
        if found is None:
            continue
        rest = line.strip()[found.end():].strip()
        end = i + 1
        if not rest:  # "Impact on Jane:" on its own: the lines under it, to the next blank line
            block: list[str] = []
            while end < len(lines) and lines[end].strip():
                block.append(lines[end].strip())
                end += 1
            rest = "\n".join(block)
        return i, end, rest
    return None


def impact_of(concern: str) -> str:
    """What the concern's "Impact:" (or "Impact on the child:") line says; ``""`` when it has none."""
    span = _impact_span(_lines(concern))
    return span[2] if span is not None else ""


def requested_action_of(concern: str) -> str:
    """The parts of the concern that ask for something, one a line, in order: the sentences with "please", "I
    request", "I would ask", "action:", "by Friday", "by 11/12" … (a paragraph's lines read as one text, so a
    sentence broken over two lines is whole), the list items that ask, and every line under an "Actions:"
    heading. Not the greeting, nor the "Impact:" block."""
    lines = _lines(without_greeting(concern))
    span = _impact_span(lines)
    found: list[str] = []
    paragraph: list[str] = []
    under_header = False

    def flush() -> None:
        if paragraph:
            found.extend(s for s in _SENTENCE_END.split(" ".join(paragraph)) if _ASKS.search(s))
            paragraph.clear()

    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line or (span is not None and span[0] <= i < span[1]):
            flush()
            under_header = False
        elif under_header:
            found.append(line)
        elif _ACTIONS_HEADER.fullmatch(line):
            flush()
            under_header = True
        elif _LIST_ITEM.match(line):
            flush()
            if _ASKS.search(line):
                found.append(line)
        else:
            paragraph.append(line)
    flush()
    return "\n".join(dict.fromkeys(s.strip() for s in found if s.strip()))


def concern_text(concern: str, *, without_impact: bool = False, without_actions: bool = False) -> str:
    """The concern as the record keeps it: without the greeting, and — when the record has fields of their own
    for them — without the "Impact:" block and the list under an "Actions:" heading."""
    lines = _lines(without_greeting(concern))
    span = _impact_span(lines) if without_impact else None
    kept: list[str] = []
    under_header = False
    for i, raw in enumerate(lines):
        line = raw.strip()
        if span is not None and span[0] <= i < span[1]:
            continue
        if not line:
            under_header = False
        elif under_header:
            continue
        elif without_actions and _ACTIONS_HEADER.fullmatch(line):
            under_header = True
            continue
        kept.append(raw)
    return clean("\n".join(kept))


# ------------------------------------------------------------------------------------------- the fields


def _children(facts: CaseFacts) -> list[str]:
    return [n for n in (_one_line(c) for c in (facts.children or ())) if n]


def _levels_text(facts: CaseFacts) -> str:
    lines = []
    for item in facts.levels or ():
        try:
            label, started, due = item
        except (TypeError, ValueError):
            continue
        line = _one_line(label) or "A level"
        if long_date(started):
            line += f": from {long_date(started)}"
        if long_date(due):
            line += f", response by {long_date(due)}"
        lines.append(line)
    return "\n".join(lines)


def _level_text(facts: CaseFacts) -> str:
    label = _one_line(facts.level_label)
    levels = [item for item in (facts.levels or ()) if isinstance(item, tuple) and len(item) == 3]
    if not label:
        return ""
    current = next((item for item in reversed(levels) if _one_line(item[0]) == label), None)
    text = label + (f", since {long_date(current[1])}" if current is not None and long_date(current[1]) else "")
    earlier = list(dict.fromkeys(_one_line(item[0]) for item in levels if _one_line(item[0]) not in ("", label)))
    return text + (f"\nEarlier: {'; '.join(earlier)}" if earlier else "")


def _response_text(r: Any) -> str:
    label = _one_line(getattr(r, "level_label", ""))
    who = _one_line(getattr(r, "who", ""))
    on = long_date(getattr(r, "on", None))
    head = " — ".join(p for p in (label, ", ".join(p for p in (who, on) if p)) if p)
    said = cap(clean(getattr(r, "text", "")), MAX_RESPONSE_CHARS)
    if head and said:
        return f"{head}:\n{said}"
    return head or said


def _responses_text(facts: CaseFacts, moment: str) -> str:
    responses = [r for r in (facts.responses or ()) if isinstance(r, Response)]
    levels = [item for item in (facts.levels or ()) if isinstance(item, tuple) and len(item) == 3]
    labels = list(dict.fromkeys(_one_line(item[0]) for item in levels))
    due_of = {_one_line(item[0]): item[2] for item in levels}
    blocks: list[str] = []
    for i, label in enumerate(labels):
        its = [r for r in responses if _one_line(r.level_label) == label]
        blocks.extend(_response_text(r) for r in its)
        due = due_of.get(label)
        if its or not long_date(due) or (i == len(labels) - 1 and moment != "closure"):
            continue  # answered, untimed (informal, Cafcass), or the level still waiting
        blocks.append(f"{label}: no response was recorded (due by {long_date(due)}).")
    blocks.extend(_response_text(r) for r in responses if _one_line(r.level_label) not in labels)
    return "\n\n".join(b for b in blocks if b)


def _requested_text(facts: CaseFacts, *, with_timescale: bool) -> str:
    asked = clean(facts.requested_action) or requested_action_of(_s(facts.concern))
    timescale = _one_line(facts.timescale)
    if with_timescale and timescale:
        return f"{asked}\n{_sentence(timescale)}." if asked else f"{_sentence(timescale)}."
    return asked


_SOURCES: dict[str, Callable[[CaseFacts, str], str]] = {
    "child": lambda f, m: _and(_children(f)),
    "case_number": lambda f, m: ", ".join(n for n in (_one_line(c) for c in (f.case_numbers or ())) if n),
    "iro": lambda f, m: _one_line(f.iro),
    "opened": lambda f, m: long_date(f.opened_on),
    "timescale": lambda f, m: _sentence(_one_line(f.timescale)),
    "impact": lambda f, m: clean(f.impact) or impact_of(_s(f.concern)),
    "level": lambda f, m: _level_text(f),
    "levels": lambda f, m: _levels_text(f),
    "responses": _responses_text,
    "outcome": lambda f, m: clean(f.outcome),
    "concluded": lambda f, m: long_date(f.concluded_on),
    "themes": lambda f, m: ", ".join(t for t in (_one_line(t) for t in (f.themes or ())) if t),
    "reference": lambda f, m: _one_line(f.reference),
}


def _empty(source: str, moment: str) -> str:
    """What an empty field says at ``moment``."""
    if moment == "opening":
        return TO_BE_COMPLETED
    if source == "responses":
        return NONE_RECORDED if moment == "closure" else NO_RESPONSE_YET
    if moment == "level" and source in ("outcome", "concluded"):
        return STILL_OPEN
    return TO_BE_COMPLETED


def _value(source: str, facts: CaseFacts, moment: str, present: frozenset[str]) -> str:
    """Field ``source`` (``present``: every source of the record, so that nothing is said twice)."""
    if source == "requested_action":
        text = _requested_text(facts, with_timescale="timescale" not in present)
    elif source == "concern":
        text = without_sign_off(concern_text(_s(facts.concern), without_impact="impact" in present,
                                             without_actions="requested_action" in present), _s(facts.iro))
    else:
        read = _SOURCES.get(source)
        text = read(facts, moment) if read is not None else ""
    text = clean(text, MAX_FIELD_CHARS * 4)
    return cap(text) if text else _empty(source, moment)


# ------------------------------------------------------------------------------------------ the note


def _form_words(form: str) -> str:
    """``"Resolution and Escalation" form``; a name that says "form" itself stays as it is."""
    return form if form.casefold().endswith("form") else f"“{form}” form"


def heading(record: CaseRecord | None, children: int = 1) -> str:
    """Where the note goes, in the system's words: ``LiquidLogic case note — type "IRO - escalation"``,
    ``Eclipse: "Resolution and Escalation" form``, ``Mosaic: the child's record``."""
    system = _one_line(getattr(record, "system", "")) or "Case record"
    note_type = _one_line(getattr(record, "note_type", ""))
    form = _one_line(getattr(record, "form", ""))
    if note_type:
        return f"{system} case note — type “{note_type}”" + (f" and the {_form_words(form)}" if form else "")
    if form:
        return f"{system}: {_form_words(form)}"
    return f"{system}: {'each child' if children > 1 else 'the child'}'s record"


def _where(record: CaseRecord | None, children: list[str]) -> str:
    """``Paste this into Jane's LiquidLogic record as a case note of type “IRO - escalation” and the IRO
    Escalation Form``."""
    system = _one_line(getattr(record, "system", ""))
    note_type = _one_line(getattr(record, "note_type", ""))
    form = _one_line(getattr(record, "form", ""))
    first = [name.split()[0] for name in children if name.split()]
    kept = f"{system} record" if system else "case record"
    if len(first) == 1:
        whose = f"{first[0]}'s {kept}"
    elif first:
        whose = f"each child's {kept} ({_and(first)})"
    else:
        whose = f"the child's {kept}"
    form_words = f"the {form}" if form.casefold().endswith("form") else f"the “{form}” form"
    if note_type:
        how = f" as a case note of type “{note_type}”" + (f" and {form_words}" if form else "")
    elif form:
        how = f" on {form_words}"
    else:
        how = ""
    return f"Paste this into {whose}{how}."


def case_note(record: CaseRecord | None, facts: CaseFacts, moment: str) -> CaseNote:
    """The text for ``record`` (the council's :class:`~rules.procedure.CaseRecord`) at ``moment`` ("opening",
    "level" or "closure"; anything else is read as "level"): every field of the record, in its order, filled
    from ``facts``. A record without a field for the timescale gets it in the requested action (Hull's
    "Requested action and timescale"); one with a field for the impact (or the actions) keeps the concern's
    "Impact:" block (or its "Actions:" list) there and not in the concern too. Never raises."""
    moment = moment if moment in MOMENTS else "level"
    pairs: list[tuple[str, str]] = []
    for pair in getattr(record, "fields", None) or DEFAULT_FIELDS:
        try:
            label, source = pair
        except (TypeError, ValueError):
            continue
        pairs.append((_one_line(label) or _one_line(source) or "Field", _s(source)))
    if not pairs:
        pairs = list(DEFAULT_FIELDS)
    present = frozenset(source for _, source in pairs)
    fields = tuple((label, _value(source, facts, moment, present)) for label, source in pairs)
    children = _children(facts)
    level = _one_line(facts.level_label)
    short = _short_label(level)
    if moment == "opening":
        happened, title = f"The escalation was raised{f' at {level}' if level else ''}.", (
            f"{short} escalation raised" if short else "escalation raised")
    elif moment == "level":
        happened, title = (f"The escalation has moved to {level}." if level else "The escalation has moved up.",
                           f"{short} escalation" if short else "escalation")
    else:
        happened, title = "The escalation is closed.", f"closed at {short}" if short else "escalation closed"
    whose = "For the children's records" if len(children) > 1 else "For the child's record"
    return CaseNote(heading=heading(record, len(children)), moment=moment, fields=fields,
                    instruction=f"{happened} {_where(record, children)}", title=f"{whose}: {title}")


def note_text(note: CaseNote, width: int = 100) -> str:
    """The note as plain text, ready to paste: one "Label: value" block a field, blocks apart by a blank line; a
    value too long for one line (or of several lines) goes under its label, wrapped at ``width`` (at least 20;
    0 or less: not wrapped)."""
    width = max(width, 20) if width > 0 else 0
    blocks: list[str] = []
    for label, value in note.fields:
        one = f"{label}: {value}"
        if "\n" not in value and (not width or len(one) <= width):
            blocks.append(one)
            continue
        lines = [f"{label}:"]
        for line in value.split("\n"):
            if not width or not line.strip():
                lines.append(line)
                continue
            lines.extend(textwrap.wrap(line, width, break_long_words=True, break_on_hyphens=False) or [""])
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


__all__ = ["DEFAULT_FIELDS", "MAX_FIELD_CHARS", "MOMENTS", "CaseFacts", "CaseNote", "Response", "case_note",
           "clean", "concern_text", "heading", "impact_of", "long_date", "note_text", "requested_action_of",
           "without_greeting"]
