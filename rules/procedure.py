"""What a council's procedure says around the arithmetic: meetings, who must be told when, Cafcass, reports, the
child's record. Pure data with strict checks; :class:`rules.policy.Policy` holds them.

- :class:`Meeting` — a step that is a meeting (South West's Problem Resolution Meeting): the chair is asked to
  convene it within ``convene_within`` working days, the attendees get an Outlook meeting request once the chair
  names a time, the outcome is read from the minutes' reply.
- :class:`Notify` — one notification rule: on ``event`` (see :data:`EVENTS`), tell ``roles``, when the record's
  facts meet ``when`` (see :data:`CONDITIONS`), saying what the procedure asks of them.
- :class:`CafcassRule` — who may be referred, and whether a referral closes the record or the staged process goes
  on beside it (Birmingham 4.4, Rotherham 2.6).
- :class:`Report` — a report on a cadence to an audience (roles).
- :class:`CaseRecord` — what the council's case system keeps about an escalation, field by field, so the IRO is
  sent the text to paste.

Roles are words the directory (or ``[reports.audiences]``) knows. Two roles are the record's own people, never
looked up: :data:`IRO` (the owning IRO or conference chair) and :data:`GUARDIAN` (the child's Guardian, an address
the IRO gives by a one-line reply "Guardian: name@…"; until then the IRO is asked to tell them).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from rules.errors import PolicyError

#: The record's own people: never looked up in the directory.
IRO = "IRO"
GUARDIAN = "Guardian"

#: When a notification rule fires.
EVENTS = (
    "opened",  # a formal escalation is opened (any level)
    "informal_opened",  # an informal step or Quality Alert is recorded
    "level",  # a level starts (``level`` = that level only; None = every formal level)
    "day",  # the formal process reaches working day ``day``
    "bypass",  # the IRO takes the record past one or more levels
    "cafcass_considered",  # the ladder is exhausted and a referral is due: told *before* any referral
    "cafcass",  # the IRO refers to Cafcass (at the end of the ladder or early)
    "closed",  # resolved or withdrawn
)
#: Facts a rule may depend on (read from the subject or one-line replies, shown by ``mailbot show``).
CONDITIONS = ("", "in_proceedings", "looked_after", "child_protection")
#: Case types a council's process covers; who may raise one.
CASE_TYPES = ("looked-after", "child-protection")
RAISERS = ("IRO", "Conference Chair")
#: What a referral to Cafcass does to the record.
CAFCASS_EFFECTS = ("close", "continue")
#: Report kinds: themes and outcomes for the period, the tracker spreadsheet, the IRO annual report's summary.
REPORT_KINDS = ("themes", "tracker", "annual")
#: Where a case-record field's words come from (``rules.casenote`` fills them).
RECORD_SOURCES = (
    "child", "case_number", "iro", "opened", "concern", "requested_action", "timescale", "impact", "level",
    "levels", "responses", "outcome", "concluded", "themes", "reference",
)


@dataclass(frozen=True)
class Meeting:
    """A step that is a meeting."""

    name: str  # "Problem Resolution Meeting"
    chair: str  # role of the chair
    attendees: tuple[str, ...] = ()  # roles invited besides the chair and the IRO
    minutes_by: str = IRO  # who minutes it (the outcome is read from their reply or the chair's)
    convene_within: int = 5  # working days from the step's start for the chair to name a time
    section: str = ""

    def __post_init__(self) -> None:
        _tuple_fields(self)


@dataclass(frozen=True)
class Notify:
    """On ``event``, tell ``roles`` (when the record's facts meet ``when``)."""

    event: str
    roles: tuple[str, ...]
    level: int | None = None  # event "level": only at this level
    day: int | None = None  # event "day": working day N of the formal process
    when: str = ""  # one of CONDITIONS; "" = always
    says: str = ""  # what the procedure asks of them, quoted in the mail
    section: str = ""  # where the procedure says it

    def __post_init__(self) -> None:
        _tuple_fields(self)

    def fires_on(self, event: str, *, level: int | None = None, day: int | None = None) -> bool:
        """Whether this rule runs on ``event`` (at ``level`` for a level rule, on ``day`` for a day rule)."""
        return (self.event == event and (event != "level" or self.level is None or self.level == level)
                and (event != "day" or self.day == day))

    def applies(self, facts: Mapping[str, Any]) -> bool:
        """Whether the record's facts meet :attr:`when`. An unknown fact does not meet a condition, except
        that a case is looked after until it is said to be a child-protection case."""
        if not self.when:
            return True
        case_type = facts.get("case_type")
        if self.when == "in_proceedings":
            return facts.get("proceedings") is True
        if self.when == "looked_after":
            return case_type != "child-protection"
        if self.when == "child_protection":
            return case_type == "child-protection"
        return False


@dataclass(frozen=True)
class CafcassRule:
    """The Cafcass route."""

    case_types: tuple[str, ...] = ("looked-after",)  # whose cases may be referred (IROs, not conference chairs)
    at_end: str = "close"  # a referral after the last level: "close" the record, or "continue"
    early: str = "close"  # a referral before the ladder is exhausted
    section: str = ""

    def __post_init__(self) -> None:
        _tuple_fields(self)

    def offered(self, facts: Mapping[str, Any]) -> bool:
        """Whether a referral is open to this record (a child-protection case never is, unless listed)."""
        case_type = facts.get("case_type") or "looked-after"
        return case_type in self.case_types


@dataclass(frozen=True)
class Report:
    """A report on a cadence to an audience."""

    cadence: str  # rules.policy.REPORTING_CADENCES
    audience: tuple[str, ...]  # roles: the directory's or [reports.audiences]
    kind: str = "themes"  # REPORT_KINDS
    section: str = ""
    counts_only: bool = False  # figures and themes only, no record-level attachment (e.g. a partnership's report)

    def __post_init__(self) -> None:
        _tuple_fields(self)


@dataclass(frozen=True)
class CaseRecord:
    """What the case system keeps: a note type and/or a form, field by field."""

    system: str  # "LiquidLogic" | "Mosaic" | "Eclipse" | ...
    note_type: str = ""  # "IRO - escalation"
    form: str = ""  # "IRO Escalation Form" | "Resolution and Escalation"
    fields: tuple[tuple[str, str], ...] = ()  # (label as the council writes it, one of RECORD_SOURCES)
    section: str = ""

    def __post_init__(self) -> None:
        _tuple_fields(self)
        object.__setattr__(self, "fields", tuple(tuple(f) if isinstance(f, list) else f for f in self.fields))


def _tuple_fields(obj: Any) -> None:
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, list):
            object.__setattr__(obj, f.name, tuple(value))


# ----------------------------------------------------------------------------------------------- checks


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _error(path: str, problem: str, fix: str) -> PolicyError:
    return PolicyError(f"{path}: {problem} — {fix}")


def _one_of(value: Any, choices: tuple[str, ...], path: str) -> None:
    if value not in choices:
        close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        shown = ", ".join(repr(c) for c in choices if c) or "''"
        raise _error(path, f"{_show(value)} is not allowed{hint}", f"use one of {shown}")


def _text(value: Any, path: str, example: str, *, allow_empty: bool = False) -> None:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise _error(path, f"must be {'text' if allow_empty else 'non-empty text'}, got {_show(value)}",
                     f"write e.g. {example}")


def _roles(value: Any, path: str, example: str, *, allow_empty: bool = False) -> None:
    if not isinstance(value, tuple) or (not value and not allow_empty):
        raise _error(path, f"must be a list of roles, got {_show(value)}", f"write e.g. {example}")
    for i, role in enumerate(value):
        _text(role, f"{path}[{i}]", example)


def _count(value: Any, path: str, low: int, high: int, example: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _error(path, f"must be a whole number from {low} to {high}, got {_show(value)}", f"write e.g. {example}")


def validate_meeting(m: Any, path: str) -> None:
    if not isinstance(m, Meeting):
        raise _error(path, f"must be a meeting, got {_show(m)}", "write it as [policy.levels.meeting]")
    _text(m.name, f"{path}.name", 'name = "Problem Resolution Meeting"')
    _text(m.chair, f"{path}.chair", 'chair = "Safeguarding Service Manager"')
    _roles(m.attendees, f"{path}.attendees", 'attendees = ["Team Manager"]', allow_empty=True)
    _text(m.minutes_by, f"{path}.minutes_by", 'minutes_by = "IRO"')
    _count(m.convene_within, f"{path}.convene_within", 1, 60, "convene_within = 5")
    _text(m.section, f"{path}.section", 'section = "5, Stage 2"', allow_empty=True)


def validate_notify(n: Any, path: str, level_numbers: set[int]) -> None:
    if not isinstance(n, Notify):
        raise _error(path, f"must be a notification rule, got {_show(n)}", "write it as [[policy.notify]]")
    _one_of(n.event, EVENTS, f"{path}.event")
    _roles(n.roles, f"{path}.roles", 'roles = ["Head of Service"]')
    _one_of(n.when, CONDITIONS, f"{path}.when")
    _text(n.says, f"{path}.says", 'says = "to consult on the next step"', allow_empty=True)
    _text(n.section, f"{path}.section", 'section = "3.8"', allow_empty=True)
    if n.event == "level":
        if n.level is not None and n.level not in level_numbers:
            raise _error(f"{path}.level", f"{_show(n.level)} is not a level of this policy",
                         f"use one of {', '.join(str(x) for x in sorted(level_numbers))}, or leave it out for all")
    elif n.level is not None:
        raise _error(f"{path}.level", f"only a 'level' rule names a level (this one is {n.event!r})", "remove level")
    if n.event == "day":
        _count(n.day, f"{path}.day", 1, 120, "day = 10")
    elif n.day is not None:
        raise _error(f"{path}.day", f"only a 'day' rule names a day (this one is {n.event!r})", "remove day")


def validate_cafcass(c: Any, path: str) -> None:
    if not isinstance(c, CafcassRule):
        raise _error(path, f"must be a Cafcass rule, got {_show(c)}", "write it as [policy.cafcass]")
    if not isinstance(c.case_types, tuple):
        raise _error(f"{path}.case_types", f"must be a list, got {_show(c.case_types)}",
                     'write e.g. case_types = ["looked-after"]')
    for i, t in enumerate(c.case_types):
        _one_of(t, CASE_TYPES, f"{path}.case_types[{i}]")
    _one_of(c.at_end, CAFCASS_EFFECTS, f"{path}.at_end")
    _one_of(c.early, CAFCASS_EFFECTS, f"{path}.early")
    _text(c.section, f"{path}.section", 'section = "4.4"', allow_empty=True)


def validate_report(r: Any, path: str, cadences: tuple[str, ...]) -> None:
    if not isinstance(r, Report):
        raise _error(path, f"must be a report, got {_show(r)}", "write it as [[policy.reports]]")
    _one_of(r.cadence, cadences, f"{path}.cadence")
    _roles(r.audience, f"{path}.audience", 'audience = ["QA Manager"]')
    _one_of(r.kind, REPORT_KINDS, f"{path}.kind")
    _text(r.section, f"{path}.section", 'section = "8"', allow_empty=True)
    if not isinstance(r.counts_only, bool):
        raise _error(f"{path}.counts_only", f"must be true or false, got {_show(r.counts_only)}",
                     "write e.g. counts_only = true")
    if r.counts_only and r.kind == "tracker":
        raise _error(f"{path}.counts_only", "a tracker is a list of records", "use kind = \"themes\" for counts only")


def validate_case_record(c: Any, path: str) -> None:
    if not isinstance(c, CaseRecord):
        raise _error(path, f"must be a case record, got {_show(c)}", "write it as [policy.case_record]")
    _text(c.system, f"{path}.system", 'system = "Mosaic"')
    _text(c.note_type, f"{path}.note_type", 'note_type = "IRO - escalation"', allow_empty=True)
    _text(c.form, f"{path}.form", 'form = "IRO Escalation Form"', allow_empty=True)
    if not isinstance(c.fields, tuple) or not c.fields:
        raise _error(f"{path}.fields", f"must be a non-empty list of [label, source] pairs, got {_show(c.fields)}",
                     'write e.g. fields = [["Summary of concerns", "concern"], ["Outcome", "outcome"]]')
    for i, pair in enumerate(c.fields):
        fp = f"{path}.fields[{i}]"
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise _error(fp, f"must be a [label, source] pair, got {_show(pair)}", 'write e.g. ["Outcome", "outcome"]')
        _text(pair[0], f"{fp}[0]", '"Outcome"')
        _one_of(pair[1], RECORD_SOURCES, f"{fp}[1]")
    _text(c.section, f"{path}.section", 'section = "4"', allow_empty=True)


# ------------------------------------------------------------------------------------------ from TOML


def _table(data: Any, path: str, fix: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _error(path, f"must be a table, got {_show(data)}", fix)
    allowed = _ALLOWED[fix]
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"remove it (allowed: {', '.join(allowed)})"
            raise _error(f"{path}.{key}", "is not a known key", hint)
    return data


_MEETING_FIX, _NOTIFY_FIX = "write it as [policy.levels.meeting]", "write each as a [[policy.notify]] table"
_CAFCASS_FIX, _REPORT_FIX = "write it as [policy.cafcass]", "write each as a [[policy.reports]] table"
_RECORD_FIX = "write it as [policy.case_record]"
_ALLOWED = {
    _MEETING_FIX: tuple(f.name for f in fields(Meeting)),
    _NOTIFY_FIX: tuple(f.name for f in fields(Notify)),
    _CAFCASS_FIX: tuple(f.name for f in fields(CafcassRule)),
    _REPORT_FIX: tuple(f.name for f in fields(Report)),
    _RECORD_FIX: tuple(f.name for f in fields(CaseRecord)),
}


def _required(data: Mapping[str, Any], path: str, key: str, example: str) -> Any:
    if key not in data:
        raise _error(f"{path}.{key}", "is missing", f"write e.g. {example}")
    return data[key]


def _build(cls: Any, data: Any, path: str, fix: str, required: Mapping[str, str]) -> Any:
    """``cls`` from a TOML table: unknown keys and missing ``required`` keys (key -> example) named with the fix."""
    t = _table(data, path, fix)
    for key, example in required.items():
        _required(t, path, key, example)
    return cls(**dict(t))


def meeting_from_mapping(data: Any, path: str) -> Meeting:
    return _build(Meeting, data, path, _MEETING_FIX,
                  {"name": 'name = "Problem Resolution Meeting"', "chair": 'chair = "Safeguarding Service Manager"'})


def notify_from_mapping(data: Any, path: str) -> Notify:
    return _build(Notify, data, path, _NOTIFY_FIX, {"event": 'event = "opened"', "roles": 'roles = ["QA Manager"]'})


def cafcass_from_mapping(data: Any, path: str) -> CafcassRule:
    return _build(CafcassRule, data, path, _CAFCASS_FIX, {})


def report_from_mapping(data: Any, path: str) -> Report:
    return _build(Report, data, path, _REPORT_FIX,
                  {"cadence": 'cadence = "monthly"', "audience": 'audience = ["QA Manager"]'})


def case_record_from_mapping(data: Any, path: str) -> CaseRecord:
    return _build(CaseRecord, data, path, _RECORD_FIX,
                  {"system": 'system = "Mosaic"', "fields": 'fields = [["Summary of concerns", "concern"]]'})


def to_mapping(item: Any) -> dict[str, Any]:
    """Any of the dataclasses above as a TOML-shaped dict, leaving out empty/None values."""
    out: dict[str, Any] = {}
    for f in fields(item):
        value = getattr(item, f.name)
        if value is None or value == "" or value == () or (f.name == "counts_only" and value is False):
            continue
        if f.name == "fields":
            value = [list(p) for p in value]
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out
