"""A council's escalation policy as data: the ladder of levels, working days, who is copied, chasers, themes.

A :class:`Policy` is built from a preset (:mod:`rules.presets`) or from the ``[policy]`` table of the
configuration (:func:`policy_from_mapping`), which may start from a preset (``base = "dorset"``) and override
some fields. :meth:`Policy.validate` checks everything and raises :class:`~rules.errors.PolicyError` with a
message naming the key path, the problem and the fix.

TOML shape (what ``tomllib`` gives for the ``[policy]`` table)::

    key = "mycouncil"
    council = "My Council"
    title = "IRO Dispute Resolution Procedure"
    level_word = "Level"                 # optional, default "Level"
    total_working_days = 20              # optional
    budget_warnings = [15, 20]           # optional
    always_copy_roles = ["QA Manager"]   # optional; likewise themes, case_system, notes
    iro_may_extend_budget = false        # optional; case_types, raisers (see rules.procedure)
    iro_date_overrides = true            # optional
    [[policy.levels]]                    # number, role; working_days unless informal/terminal;
    number = 1                           # optional copy_roles, informal, terminal, label
    role = "Team Manager"
    working_days = 5
    [policy.chasers]                     # optional
    offsets = [-2, 0]
    grace_working_days = 0
    hours = ["09:00", "17:00"]
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import time
from typing import Any

from rules.errors import PolicyError
from rules.procedure import (
    CASE_TYPES,
    RAISERS,
    CafcassRule,
    CaseRecord,
    Meeting,
    Notify,
    Report,
    cafcass_from_mapping,
    case_record_from_mapping,
    meeting_from_mapping,
    notify_from_mapping,
    report_from_mapping,
    to_mapping,
    validate_cafcass,
    validate_case_record,
    validate_meeting,
    validate_notify,
    validate_report,
)

#: Response times a timed level may have, in working days (inclusive).
MIN_LEVEL_DAYS, MAX_LEVEL_DAYS = 1, 60
#: Upper bound for the whole formal process, in working days.
MAX_TOTAL_DAYS = 120
#: Chaser offsets and grace periods stay within this many working days of the due date.
MAX_CHASER_OFFSET, MAX_GRACE_DAYS = 20, 20
#: Reporting cadences a council may ask for (the digest/report jobs understand these words).
REPORTING_CADENCES = ("weekly", "fortnightly", "monthly", "bimonthly", "quarterly", "annual")

_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class Level:
    """One rung of the ladder."""

    number: int  # as the council numbers it in subjects (Dorset Level 1..5; South West Stage 1..5)
    role: str  # "Team Manager", "Service Manager", ... "Cafcass referral" for a terminal level
    working_days: int | None  # response time; None for informal or terminal levels
    copy_roles: tuple[str, ...] = ()  # roles copied at this level (besides the policy's always_copy_roles)
    terminal: bool = False  # e.g. referral to Cafcass: the bot never writes to Cafcass, it tells the IRO/QA
    informal: bool = False  # informal stage: not timed, not counted in the budget
    label: str = ""  # e.g. "Level 1", "Stage 2"; Policy fills it from level_word + number when empty
    meeting: Meeting | None = None  # a step that is a meeting: its working_days are the time to hold it
    chaser_offsets: tuple[int, ...] | None = None  # this level's reminders; None = the policy's chasers.offsets
    section: str = ""  # where the council's procedure describes this level

    def __post_init__(self) -> None:
        for name in ("copy_roles", "chaser_offsets"):
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def timed(self) -> bool:
        """A formal level with a response time (neither informal nor terminal)."""
        return not self.informal and not self.terminal

    @property
    def kind(self) -> str:
        """``"informal"``, ``"meeting"``, ``"terminal"`` or ``"formal"``."""
        if self.informal:
            return "informal"
        if self.terminal:
            return "terminal"
        return "meeting" if self.meeting is not None else "formal"


@dataclass(frozen=True)
class ChaserSchedule:
    """When reminders go out and how long to wait before escalating automatically."""

    offsets: tuple[int, ...] = (-2, 0)  # working days relative to the due date (-2 = two before; 0 = on it)
    grace_working_days: int = 0  # after the due date passes, wait this many working days before escalating
    hours: tuple[time, time] = (time(9), time(17))  # working hours, Europe/London

    def __post_init__(self) -> None:
        for name in ("offsets", "hours"):
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))


@dataclass(frozen=True)
class Policy:
    """A council's IRO escalation policy. Build with a preset or :func:`policy_from_mapping`; check with
    :meth:`validate` (presets and :func:`policy_from_mapping` results are already validated)."""

    key: str  # "dorset"
    council: str  # "Dorset Council"
    title: str  # e.g. "QARO IRO Resolution/Escalation Process (2021)"
    level_word: str  # "Level" | "Stage"
    levels: tuple[Level, ...]  # ordered, numbers strictly increasing
    total_working_days: int = 20
    budget_warnings: tuple[int, ...] = (15, 20)  # working days into the formal process at which to warn
    chasers: ChaserSchedule = field(default_factory=ChaserSchedule)
    always_copy_roles: tuple[str, ...] = ()  # e.g. Hull: "IRO Team Manager"; Dorset: "QA Manager"
    themes: tuple[str, ...] = ()  # the council's own categories for reporting
    case_system: str = ""  # "Mosaic" | "LiquidLogic" | "Eclipse" | ...
    iro_date_overrides: bool = True  # the date the IRO writes in the subject wins over the policy's days
    reports: tuple[Report, ...] = ()  # what is reported, how often, to whom
    notes: str = ""  # provenance and any assumption, shown by `policy show`
    notifications: tuple[Notify, ...] = ()  # who the procedure says must be told, on which event
    cafcass: CafcassRule = field(default_factory=CafcassRule)
    case_record: CaseRecord | None = None  # what the case system keeps; the IRO is sent the text to paste
    iro_may_extend_budget: bool = False  # South West: the IRO may extend the 20 working days
    case_types: tuple[str, ...] = ("looked-after",)  # the cases the process covers
    raisers: tuple[str, ...] = ("IRO",)  # who raises: IROs, and conference chairs where they use it too

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                object.__setattr__(self, f.name, tuple(value))
        if isinstance(self.levels, tuple):
            labelled = tuple(
                replace(lvl, label=f"{self.level_word} {lvl.number}")
                if isinstance(lvl, Level) and not lvl.label else lvl
                for lvl in self.levels
            )
            object.__setattr__(self, "levels", labelled)

    # ------------------------------------------------------------------------------------------ look-ups

    @property
    def reporting(self) -> tuple[str, ...]:
        """The cadences of :attr:`reports`, in order, once each."""
        return tuple(dict.fromkeys(r.cadence for r in self.reports))

    def chaser_offsets(self, level: Level) -> tuple[int, ...]:
        """The reminders of ``level``: its own when set, else the policy's."""
        return level.chaser_offsets if level.chaser_offsets is not None else self.chasers.offsets

    def first_informal_level(self) -> Level | None:
        """The first informal level (where an "Informal" mail or a Quality Alert is recorded), if any."""
        return next((lvl for lvl in self.levels if lvl.informal), None)

    def terminal_level(self) -> Level | None:
        """The terminal level (Cafcass), if the ladder ends in one."""
        last = self.levels[-1]
        return last if last.terminal else None

    def level_for_role(self, words: str) -> Level | None:
        """The level whose role (or label) the IRO named: "Head of Service", "the AD", "Assistant Director",
        "Level 3". Exact words first, then initials ("AD", "HoS", "DCS"), then a unique word-prefix match;
        ``None`` when nothing or more than one level fits."""
        said = " ".join(re.findall(r"[a-z0-9]+", words.casefold().replace("'s", "")))
        said = re.sub(r"^(?:the|our|my|your) ", "", said)
        if not said:
            return None
        formal = [lvl for lvl in self.levels if not lvl.informal]  # an IRO escalates *to* a formal level
        for lvl in formal:
            if said in (_words(lvl.role), _words(lvl.label)):
                return lvl
        by_initials = [lvl for lvl in formal if _initials(lvl.role) == said.replace(" ", "")]
        if len(by_initials) == 1:
            return by_initials[0]
        starts = [lvl for lvl in formal if _words(lvl.role).startswith(said) or said.startswith(_words(lvl.role))]
        return starts[0] if len(starts) == 1 else None

    def notify_rules(self, event: str, *, level: int | None = None, day: int | None = None) -> tuple[Notify, ...]:
        """The notification rules for ``event`` (at ``level`` / on ``day`` for those events)."""
        return tuple(n for n in self.notifications if n.fires_on(event, level=level, day=day))

    def _numbers(self) -> str:
        return ", ".join(str(lvl.number) for lvl in self.levels)

    def find_level(self, number: int) -> Level | None:
        """The level with this number, or ``None`` when the policy has none (:meth:`level` raises instead)."""
        return next((lvl for lvl in self.levels if lvl.number == number), None)

    def level(self, number: int) -> Level:
        """The level with this number; :class:`PolicyError` naming the valid numbers when there is none."""
        found = self.find_level(number)
        if found is not None:
            return found
        raise PolicyError(
            f"policy {self.key!r}: there is no {self.level_word} {number!r} — use one of {self._numbers()}"
        )

    def next_level(self, number: int) -> Level | None:
        """The first non-informal level after level ``number`` (the terminal level included), or ``None``
        after the last. Raises :class:`PolicyError` for a number the policy does not have."""
        self.level(number)
        for lvl in self.levels:
            if lvl.number > number and not lvl.informal:
                return lvl
        return None

    def first_formal_level(self) -> Level:
        """The first timed level (where a formal escalation starts unless the IRO names another)."""
        for lvl in self.levels:
            if lvl.timed:
                return lvl
        raise PolicyError(f"policy {self.key!r}: has no formal timed level — add one with working_days")

    def cumulative(self) -> list[tuple[Level, int | None]]:
        """Every level with the running total of working days up to and including it; ``None`` for informal
        and terminal levels (Dorset: 0 -> None, 1 -> 5, 2 -> 10, 3 -> 15, 4 -> 20, 5 -> None)."""
        running = 0
        out: list[tuple[Level, int | None]] = []
        for lvl in self.levels:
            if lvl.timed and lvl.working_days is not None:
                running += lvl.working_days
                out.append((lvl, running))
            else:
                out.append((lvl, None))
        return out

    # ------------------------------------------------------------------------------------------ checking

    def validate(self, where: str = "policy") -> None:
        """Check the whole policy; raise :class:`PolicyError` for the first problem found.

        Checks: text fields; every level (number 0..99, role, flags, copy roles); level numbers strictly
        increasing; informal levels first; only the last level may be terminal; at least one timed level;
        timed levels have 1..60 working days and informal/terminal levels none; the levels' days fit within
        ``total_working_days`` (1..120); budget warnings increasing within the total; chaser offsets
        increasing within ±20, grace 0..20, hours start < end; themes unique; known reporting cadences.
        """
        _text(self.key, f"{where}.key", 'write e.g. key = "mycouncil" (lower-case letters, digits, hyphens)',
              pattern=_KEY_RE)
        _text(self.council, f"{where}.council", 'write e.g. council = "Dorset Council"')
        _text(self.title, f"{where}.title", 'write e.g. title = "IRO Dispute Resolution Procedure"',
              allow_empty=True)
        _text(self.level_word, f"{where}.level_word", 'write e.g. level_word = "Level" (or "Stage")')
        self._validate_levels(where)
        self._validate_budget(where)
        _validate_chasers(self.chasers, f"{where}.chasers")
        _texts(self.always_copy_roles, f"{where}.always_copy_roles", 'always_copy_roles = ["QA Manager"]')
        _texts(self.themes, f"{where}.themes", 'themes = ["Care plan", "Drift and delay", "Other"]')
        _text(self.case_system, f"{where}.case_system", 'write e.g. case_system = "Mosaic"', allow_empty=True)
        _flag(self.iro_date_overrides, f"{where}.iro_date_overrides")
        if not isinstance(self.reports, tuple):
            raise _error(f"{where}.reports", f"must be a list of reports, got {_show(self.reports)}",
                         "add [[policy.reports]] tables with cadence and audience")
        for i, report in enumerate(self.reports):
            validate_report(report, f"{where}.reports[{i}]", REPORTING_CADENCES)
        numbers = {lvl.number for lvl in self.levels if isinstance(lvl, Level)}
        if not isinstance(self.notifications, tuple):
            raise _error(f"{where}.notify", f"must be a list of rules, got {_show(self.notifications)}",
                         "add [[policy.notify]] tables with event and roles")
        for i, rule in enumerate(self.notifications):
            validate_notify(rule, f"{where}.notify[{i}]", numbers)
        validate_cafcass(self.cafcass, f"{where}.cafcass")
        if self.case_record is not None:
            validate_case_record(self.case_record, f"{where}.case_record")
        _flag(self.iro_may_extend_budget, f"{where}.iro_may_extend_budget")
        _choices(self.case_types, CASE_TYPES, f"{where}.case_types")
        _choices(self.raisers, RAISERS, f"{where}.raisers")
        _text(self.notes, f"{where}.notes", 'write e.g. notes = "Adopted from the 2024 procedure"',
              allow_empty=True)

    def _validate_levels(self, where: str) -> None:
        path = f"{where}.levels"
        example = "add [[policy.levels]] tables with number, role and working_days"
        if not isinstance(self.levels, tuple) or not self.levels:
            raise _error(path, f"must be a non-empty list of levels, got {_show(self.levels)}", example)
        previous: int | None = None
        seen_formal = False
        last = len(self.levels) - 1
        for i, lvl in enumerate(self.levels):
            lp = f"{path}[{i}]"
            if not isinstance(lvl, Level):
                raise _error(lp, f"must be a level, got {_show(lvl)}", example)
            _whole(lvl.number, f"{lp}.number", 0, 99, "a whole number from 0 to 99", "number = 1")
            _text(lvl.role, f"{lp}.role", 'write e.g. role = "Team Manager"')
            _flag(lvl.informal, f"{lp}.informal")
            _flag(lvl.terminal, f"{lp}.terminal")
            _text(lvl.label, f"{lp}.label", 'write e.g. label = "Level 1"', allow_empty=True)
            _texts(lvl.copy_roles, f"{lp}.copy_roles", 'copy_roles = ["Service Manager"]')
            _text(lvl.section, f"{lp}.section", 'write e.g. section = "3.7"', allow_empty=True)
            if lvl.chaser_offsets is not None:
                _validate_offsets(lvl.chaser_offsets, f"{lp}.chaser_offsets")
            if lvl.meeting is not None:
                if not lvl.timed:
                    raise _error(f"{lp}.meeting", "only a formal timed level can be a meeting",
                                 "give the level working_days or remove the meeting")
                validate_meeting(lvl.meeting, f"{lp}.meeting")
            if previous is not None and lvl.number <= previous:
                raise _error(f"{lp}.number", f"level numbers must increase down the list, got {lvl.number} "
                             f"after {previous}", "number the levels in order, e.g. 1, 2, 3")
            previous = lvl.number
            if lvl.informal and lvl.terminal:
                raise _error(lp, "cannot be both informal and terminal", "set one of them to false")
            if lvl.terminal and i != last:
                raise _error(f"{lp}.terminal", "only the last level may be terminal (a Cafcass referral)",
                             "move it to the end or set terminal = false")
            if lvl.informal and seen_formal:
                raise _error(f"{lp}.informal", "informal levels must come before the formal ones",
                             "move it to the start or set informal = false")
            if lvl.timed:
                seen_formal = True
                _whole(lvl.working_days, f"{lp}.working_days", MIN_LEVEL_DAYS, MAX_LEVEL_DAYS,
                       f"a whole number of working days from {MIN_LEVEL_DAYS} to {MAX_LEVEL_DAYS}",
                       "working_days = 5")
            elif lvl.working_days is not None:
                kind = "an informal" if lvl.informal else "a terminal"
                raise _error(f"{lp}.working_days",
                             f"{kind} level is not timed, got {_show(lvl.working_days)}",
                             "remove working_days from this level")
        if not seen_formal:
            raise _error(path, "has no formal timed level", "add a level with a role and working_days")

    def _validate_budget(self, where: str) -> None:
        total = self.total_working_days
        _whole(total, f"{where}.total_working_days", 1, MAX_TOTAL_DAYS,
               f"a whole number of working days from 1 to {MAX_TOTAL_DAYS}", "total_working_days = 20")
        timed = sum(lvl.working_days or 0 for lvl in self.levels if lvl.timed)
        if timed > total:
            raise _error(f"{where}.total_working_days", f"the levels' working days add up to {timed}, "
                         f"more than the total of {total}",
                         f"raise total_working_days to {timed} or shorten a level")
        path = f"{where}.budget_warnings"
        example = "write e.g. budget_warnings = [15, 20]"
        if not isinstance(self.budget_warnings, tuple):
            raise _error(path, f"must be a list of working-day counts, got {_show(self.budget_warnings)}",
                         example)
        previous = 0
        for i, n in enumerate(self.budget_warnings):
            _whole(n, f"{path}[{i}]", 1, total, f"a whole number of working days from 1 to {total}",
                   "budget_warnings = [15, 20]")
            if n <= previous:
                raise _error(path, f"must increase, got {list(self.budget_warnings)}", example)
            previous = n


# ------------------------------------------------------------------------------------------ field checks


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _error(path: str, problem: str, fix: str) -> PolicyError:
    return PolicyError(f"{path}: {problem} — {fix}")


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _whole(value: Any, path: str, low: int, high: int, what: str, example: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _error(path, f"must be {what}, got {_show(value)}", f"write e.g. {example}")


def _text(
    value: Any, path: str, fix: str, *, allow_empty: bool = False, pattern: re.Pattern[str] | None = None
) -> None:
    if not isinstance(value, str):
        raise _error(path, f"must be text, got {_show(value)}", fix)
    if not allow_empty and not value.strip():
        raise _error(path, "must not be empty", fix)
    if pattern is not None and not pattern.match(value):
        raise _error(path, f"{_show(value)} is not a valid value", fix)


def _texts(value: Any, path: str, example: str) -> None:
    if not isinstance(value, tuple):
        raise _error(path, f"must be a list of text, got {_show(value)}", f"write e.g. {example}")
    seen: set[str] = set()
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise _error(f"{path}[{i}]", f"must be non-empty text, got {_show(item)}",
                         f"write e.g. {example}")
        if item.strip().lower() in seen:
            raise _error(f"{path}[{i}]", f"{item!r} is listed twice", "remove the duplicate")
        seen.add(item.strip().lower())


def _flag(value: Any, path: str) -> None:
    if not isinstance(value, bool):
        name = path.rsplit(".", 1)[-1]
        raise _error(path, f"must be true or false, got {_show(value)}", f"write e.g. {name} = true")


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.casefold().replace("'s", "")))


def _initials(role: str) -> str:
    """"Assistant Director" -> "ad"; "Head of Service" -> "hos" (short words keep their first letter too)."""
    return "".join(w[0] for w in re.findall(r"[a-z0-9]+", role.casefold()))


def _choices(value: Any, choices: tuple[str, ...], path: str) -> None:
    if not isinstance(value, tuple) or not value:
        raise _error(path, f"must be a non-empty list, got {_show(value)}", f"use some of {', '.join(choices)}")
    for i, item in enumerate(value):
        if item not in choices:
            raise _error(f"{path}[{i}]", f"{_show(item)} is not allowed{_did_you_mean(item, choices)}",
                         f"use some of {', '.join(choices)}")


def _validate_offsets(offsets: Any, path: str) -> None:
    example = "offsets = [-2, 0]"
    if not isinstance(offsets, tuple):
        raise _error(path, f"must be a list of working-day offsets, got {_show(offsets)}", f"write e.g. {example}")
    for i, n in enumerate(offsets):
        _whole(n, f"{path}[{i}]", -MAX_CHASER_OFFSET, MAX_CHASER_OFFSET,
               f"a whole number of working days from {-MAX_CHASER_OFFSET} to {MAX_CHASER_OFFSET}", example)
    if list(offsets) != sorted(set(offsets)):
        raise _error(path, f"must increase without repeats, got {list(offsets)}", f"write e.g. {example}")


def _validate_chasers(ch: Any, path: str) -> None:
    if not isinstance(ch, ChaserSchedule):
        raise _error(path, f"must be a chaser schedule, got {_show(ch)}", "write it as [policy.chasers]")
    _validate_offsets(ch.offsets, f"{path}.offsets")
    _whole(ch.grace_working_days, f"{path}.grace_working_days", 0, MAX_GRACE_DAYS,
           f"a whole number of working days from 0 to {MAX_GRACE_DAYS}", "grace_working_days = 0")
    hours = ch.hours
    if (not isinstance(hours, tuple) or len(hours) != 2
            or not all(isinstance(t, time) and t.tzinfo is None for t in hours) or not hours[0] < hours[1]):
        raise _error(f"{path}.hours", f"must be [start, end] times of day with start before end, got "
                     f"{_show(hours)}", 'write e.g. hours = ["09:00", "17:00"]')


# ------------------------------------------------------------------------------------- mapping <-> policy

_POLICY_KEYS = (*(f.name for f in fields(Policy) if f.name != "notifications"), "notify", "reporting", "base")
_LEVEL_KEYS = tuple(f.name for f in fields(Level))
_CHASER_KEYS = tuple(f.name for f in fields(ChaserSchedule))
_REQUIRED = {"key": 'key = "mycouncil"', "council": 'council = "My Council"',
             "levels": "[[policy.levels]] tables with number, role and working_days"}


def _check_keys(data: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            fix = f"did you mean {close[0]!r}?" if close else f"remove it (allowed: {', '.join(allowed)})"
            raise _error(f"{path}.{key}", "is not a known key", fix)


def _table(value: Any, path: str, fix: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _error(path, f"must be a table, got {_show(value)}", fix)
    return value


def _level_from_mapping(data: Any, path: str) -> Level:
    table = _table(data, path, "write each level as a [[policy.levels]] table")
    _check_keys(table, _LEVEL_KEYS, path)
    for key in ("number", "role"):
        if key not in table:
            example = "number = 1" if key == "number" else 'role = "Team Manager"'
            raise _error(f"{path}.{key}", "is missing", f"write e.g. {example}")
    return Level(
        number=table["number"],
        role=table["role"],
        working_days=table.get("working_days"),
        copy_roles=table.get("copy_roles", ()),
        terminal=table.get("terminal", False),
        informal=table.get("informal", False),
        label=table.get("label", ""),
        meeting=meeting_from_mapping(table["meeting"], f"{path}.meeting") if "meeting" in table else None,
        chaser_offsets=table.get("chaser_offsets"),
        section=table.get("section", ""),
    )


def _time_of_day(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            return value  # left for validate() to report with the key path
    return value


def _chasers_from_mapping(data: Any, path: str) -> ChaserSchedule:
    table = _table(data, path, "write it as [policy.chasers]")
    _check_keys(table, _CHASER_KEYS, path)
    default = ChaserSchedule()
    hours = table.get("hours", default.hours)
    if isinstance(hours, list | tuple):
        hours = tuple(_time_of_day(t) for t in hours)
    return ChaserSchedule(offsets=table.get("offsets", default.offsets),
                          grace_working_days=table.get("grace_working_days", default.grace_working_days),
                          hours=hours)


def _merge_base(data: Mapping[str, Any], where: str, bases: Mapping[str, Policy]) -> dict[str, Any]:
    name = data["base"]
    if not isinstance(name, str) or name not in bases:
        hint = _did_you_mean(str(name), bases)
        raise _error(f"{where}.base", f"{_show(name)} is not a preset{hint}",
                     f'use one of {", ".join(sorted(bases))}, e.g. base = "dorset"')
    base = bases[name]
    merged = policy_to_mapping(base)
    overrides = {k: v for k, v in data.items() if k != "base"}
    if "levels" in overrides and "notify" not in overrides and isinstance(overrides["levels"], list | tuple):
        # the preset's rules for levels the new ladder lacks cannot apply: they are left out (said in the notes)
        numbers = {lvl.get("number") for lvl in overrides["levels"] if isinstance(lvl, Mapping)}
        merged["notify"] = [n for n in merged["notify"] if n.get("level") is None or n.get("level") in numbers]
    for key, value in overrides.items():
        if key == "chasers" and isinstance(value, Mapping):
            merged["chasers"] = {**merged["chasers"], **value}
        else:
            merged[key] = value
    if overrides and "notes" not in overrides:
        changed = ", ".join(sorted(overrides))
        merged["notes"] = f"Preset {name!r} with {changed} overridden by the configuration. {base.notes}"
        merged["notes"] = merged["notes"].strip()
    return merged


def policy_from_mapping(data: Mapping[str, Any], *, where: str = "policy",
                        bases: Mapping[str, Policy] | None = None) -> Policy:
    """Build and validate a :class:`Policy` from a TOML-shaped mapping (what ``tomllib`` gives).

    Strict: an unknown key is an error naming it (with a did-you-mean), and a wrong type or value is an
    error naming the key path and the fix. ``base = "NAME"`` starts from that preset and overrides only the
    keys given (``chasers`` is merged key by key; ``levels`` replaces the whole ladder); ``bases`` are the presets
    a base may name (:func:`rules.presets.policy_from_config` passes the five councils'). Without a base,
    ``key``, ``council`` and ``levels`` are required; ``level_word`` defaults to ``"Level"``, ``title`` to
    ``""`` and the rest to the :class:`Policy` defaults. ``where`` is the key path used in messages.
    """
    _table(data, where, f"write it as [{where}]")
    _check_keys(data, _POLICY_KEYS, where)
    merged: dict[str, Any] = _merge_base(data, where, bases or {}) if "base" in data else dict(data)
    for key, example in _REQUIRED.items():
        if key not in merged:
            raise _error(f"{where}.{key}", "is missing",
                         f'write e.g. {example}, or start from a preset with base = "dorset"')
    levels = merged["levels"]
    if not isinstance(levels, list | tuple) or not levels:
        raise _error(f"{where}.levels", f"must be a non-empty list of levels, got {_show(levels)}",
                     "add [[policy.levels]] tables with number, role and working_days")
    kwargs: dict[str, Any] = {k: v for k, v in merged.items() if k not in (
        "levels", "chasers", "notify", "reports", "reporting", "cafcass", "case_record")}
    kwargs.setdefault("level_word", "Level")
    kwargs.setdefault("title", "")
    kwargs["levels"] = tuple(_level_from_mapping(lvl, f"{where}.levels[{i}]") for i, lvl in enumerate(levels))
    if "chasers" in merged:
        kwargs["chasers"] = _chasers_from_mapping(merged["chasers"], f"{where}.chasers")
    kwargs["notifications"] = tuple(notify_from_mapping(n, f"{where}.notify[{i}]")
                                    for i, n in enumerate(_list(merged.get("notify", []), f"{where}.notify")))
    kwargs["reports"] = tuple(report_from_mapping(r, f"{where}.reports[{i}]")
                              for i, r in enumerate(_list(merged.get("reports", []), f"{where}.reports")))
    if "reporting" in merged:  # the short form: cadences of a themes report to the QA managers
        kwargs["reports"] += _reporting_shorthand(merged["reporting"], f"{where}.reporting")
    if "cafcass" in merged:
        kwargs["cafcass"] = cafcass_from_mapping(merged["cafcass"], f"{where}.cafcass")
    if merged.get("case_record") is False:  # the council records it its own way: no case-record mails
        kwargs["case_record"] = None
    elif merged.get("case_record") is not None:
        kwargs["case_record"] = case_record_from_mapping(merged["case_record"], f"{where}.case_record")
    policy = Policy(**kwargs)
    policy.validate(where)
    return policy


def _reporting_shorthand(value: Any, path: str) -> tuple[Report, ...]:
    cadences = tuple(value) if isinstance(value, list | tuple) else value
    _texts(cadences, path, 'reporting = ["monthly"]')
    for i, cadence in enumerate(cadences):
        if cadence not in REPORTING_CADENCES:
            hint = _did_you_mean(cadence, REPORTING_CADENCES)
            raise _error(f"{path}[{i}]", f"{_show(cadence)} is not a reporting cadence{hint}",
                         f"use one of {', '.join(REPORTING_CADENCES)}")
    return tuple(Report(c, ("QA Manager",), "themes") for c in cadences)


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise _error(path, f"must be a list of tables, got {_show(value)}", f"write each as a [[{path}]] table")
    return list(value)


def _clock(t: time) -> str:
    return t.strftime("%H:%M") if t.second == 0 and t.microsecond == 0 else t.isoformat()


def policy_to_mapping(policy: Policy) -> dict[str, Any]:
    """The inverse of :func:`policy_from_mapping`: a TOML-shaped dict (lists, strings, ints, bools; times as
    ``"HH:MM"``). Levels leave out keys at their defaults (and a label equal to the derived one)."""
    levels: list[dict[str, Any]] = []
    for lvl in policy.levels:
        item: dict[str, Any] = {"number": lvl.number, "role": lvl.role}
        if lvl.working_days is not None:
            item["working_days"] = lvl.working_days
        if lvl.copy_roles:
            item["copy_roles"] = list(lvl.copy_roles)
        if lvl.informal:
            item["informal"] = True
        if lvl.terminal:
            item["terminal"] = True
        if lvl.label and lvl.label != f"{policy.level_word} {lvl.number}":
            item["label"] = lvl.label
        if lvl.meeting is not None:
            item["meeting"] = to_mapping(lvl.meeting)
        if lvl.chaser_offsets is not None:
            item["chaser_offsets"] = list(lvl.chaser_offsets)
        if lvl.section:
            item["section"] = lvl.section
        levels.append(item)
    out: dict[str, Any] = {
        "key": policy.key,
        "council": policy.council,
        "title": policy.title,
        "level_word": policy.level_word,
        "levels": levels,
        "total_working_days": policy.total_working_days,
        "budget_warnings": list(policy.budget_warnings),
        "chasers": {
            "offsets": list(policy.chasers.offsets),
            "grace_working_days": policy.chasers.grace_working_days,
            "hours": [_clock(t) for t in policy.chasers.hours],
        },
        "always_copy_roles": list(policy.always_copy_roles),
        "themes": list(policy.themes),
        "case_system": policy.case_system,
        "iro_date_overrides": policy.iro_date_overrides,
        "reports": [to_mapping(r) for r in policy.reports],
        "notes": policy.notes,
        "notify": [to_mapping(n) for n in policy.notifications],
        "cafcass": to_mapping(policy.cafcass),
        "iro_may_extend_budget": policy.iro_may_extend_budget,
        "case_types": list(policy.case_types),
        "raisers": list(policy.raisers),
    }
    if policy.case_record is not None:
        out["case_record"] = to_mapping(policy.case_record)
    return out
