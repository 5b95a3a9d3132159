"""The QA managers' digest as figures: pure arithmetic over plain snapshots of the escalation records.

:func:`compute_digest` takes frozen :class:`RecordSnapshot` s (built by :mod:`mailbot.mail_out.digest` from the store),
the attention mails, a :class:`Period`, ``now``, the policy and the working-day calendar, and returns
:class:`DigestFigures`. Nothing here reads the clock, the database or the network.

Periods (Europe/London, ``end`` exclusive)
-----------------------------------------
* ``week``: the last complete Monday-to-Sunday week before ``now``'s date: from Monday 00:00 to the next
  Monday 00:00. The digest sent on Monday 30 November 2026 at 08:00 covers Monday 23 to Sunday 29 November;
  run on a Wednesday it still covers the last complete week.
* ``month``: the last complete calendar month (run on any day of December: November).
* ``quarter``: the last complete calendar quarter (Jan-Mar, Apr-Jun, Jul-Sep, Oct-Dec).

Two kinds of figures
--------------------
*As at now* (the state when the digest is made, whatever the period): open escalations by level, overdue, due in
the next 5 working days, open longer than the policy's total, attention mails. A record counts as open at ``now``
when it was opened at or before ``now`` and not closed by then; its current stage is the last one started at or
before ``now``; a response after ``now`` is ignored. So ``--now`` in the past gives the picture of that moment
(as far as the records allow: a later extension of a due date is not undone).

*In the period*: escalations opened and closed (with outcomes), themes of those opened, the share of those closed
that closed within ``policy.total_working_days``, and the median working days to respond per level over stages
whose response arrived in the period (the all-time median up to ``now`` is given beside it).

Working days (all through :class:`~rules.calendar.WorkingCalendar`)
-----------------------------------------------------------------
* working days open = ``working_days_between(opened_on, today)`` (closed: up to the London day it closed), where
  ``opened_on`` is the day the formal process started (the record's first day when not known);
* overdue: the current stage is timed (neither informal nor terminal), has a due date and no response, and at
  least one working day has ended since: days overdue = ``working_days_between(due_on, today) >= 1``. A due
  date is the end of that working day, so due on Friday is not overdue on Saturday nor on a bank-holiday
  Monday, and is 1 working day overdue on the Tuesday;
* due soon: such a stage not overdue with ``next_working_day(due_on) <= add_working_days(today, 5)`` (due today
  counts as due soon);
* time to respond = ``working_days_between(started_on, London day of responded_at)``.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rules.calendar import WorkingCalendar, london_date
from rules.policy import Level, Policy

#: The periods a digest may cover.
PERIODS = ("week", "month", "quarter")
#: How far ahead "due soon" looks, in working days.
DUE_SOON_WORKING_DAYS = 5
#: How many attention mails the digest lists (the count covers all of them).
ATTENTION_LISTED = 5
#: How the digest names escalations opened without a theme.
UNTHEMED = "unthemed"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_day(d: date) -> str:
    """``29 Nov 2026``."""
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


# ------------------------------------------------------------------------------------------------- period


@dataclass(frozen=True)
class Period:
    """Whole London days ``start <= day < end``."""

    kind: str  # "week" | "month" | "quarter"
    start: date
    end: date  # exclusive

    def __post_init__(self) -> None:
        if self.kind not in PERIODS:
            raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {self.kind!r}")
        if not self.start < self.end:
            raise ValueError(f"a period must start before it ends, got {self.start} .. {self.end}")

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def label(self) -> str:
        """``week to 29 Nov 2026`` · ``November 2026`` · ``Oct–Dec 2026``."""
        if self.kind == "week":
            return f"week to {short_day(self.last_day)}"
        if self.kind == "month":
            return f"{self.start:%B %Y}"
        return f"{_MONTHS[self.start.month - 1]}–{_MONTHS[self.last_day.month - 1]} {self.start.year}"

    @property
    def span(self) -> str:
        """``23 Nov 2026 – 29 Nov 2026`` (both days included)."""
        return f"{short_day(self.start)} – {short_day(self.last_day)}"

    def contains(self, moment: datetime | None) -> bool:
        """True when the London day of ``moment`` is in the period."""
        return moment is not None and self.start <= london_date(moment) < self.end


def period_ending(kind: str, now: datetime) -> Period:
    """The last complete week, month or quarter before ``now`` (see the module docstring)."""
    today = london_date(now)
    if kind == "week":
        end = today - timedelta(days=today.weekday())
        return Period(kind, end - timedelta(days=7), end)
    if kind == "month":
        end = today.replace(day=1)
        start = (end - timedelta(days=1)).replace(day=1)
        return Period(kind, start, end)
    if kind == "quarter":
        end = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        start_month = end.month - 3
        start = date(end.year, start_month, 1) if start_month >= 1 else date(end.year - 1, start_month + 12, 1)
        return Period(kind, start, end)
    raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {kind!r}")


# ------------------------------------------------------------------------------------------------- input


@dataclass(frozen=True)
class StageSnapshot:
    """One stage (level) of a record, as stored."""

    level: int
    role: str
    started_at: datetime  # aware
    started_on: date  # London day
    due_on: date | None = None
    responded_at: datetime | None = None  # aware
    ended_at: datetime | None = None  # aware
    outcome: str | None = None
    addressee_email: str | None = None
    addressee_name: str | None = None

    @property
    def addressee(self) -> str:
        """The manager's name, else the address, else ``"not known"``."""
        return self.addressee_name or self.addressee_email or "not known"


@dataclass(frozen=True)
class RecordSnapshot:
    """One escalation record with everything the digest needs; stages in the order they started."""

    reference: str
    status: str  # "open" | "closed"
    opened_at: datetime  # aware
    current_level: int
    stages: tuple[StageSnapshot, ...] = ()
    outcome: str | None = None
    closed_at: datetime | None = None  # aware
    process_started_on: date | None = None
    children: tuple[str, ...] = ()
    case_numbers: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    iro: str | None = None

    @property
    def opened_on(self) -> date:
        """The day the formal process started (else the record's first day)."""
        return self.process_started_on or london_date(self.opened_at)

    def open_at(self, now: datetime) -> bool:
        return self.opened_at <= now and (self.closed_at is None or self.closed_at > now)

    def stage_at(self, now: datetime) -> StageSnapshot | None:
        """The stage the record was at at ``now``: the last one started by then."""
        started = [s for s in self.stages if s.started_at <= now]
        return started[-1] if started else None


@dataclass(frozen=True)
class AttentionMail:
    """A mail nobody has dealt with yet (unreadable, unmatched, failed)."""

    received_at: datetime
    from_email: str | None
    from_name: str | None
    subject: str | None
    reason: str | None = None

    @property
    def sender(self) -> str:
        if self.from_name and self.from_email:
            return f"{self.from_name} <{self.from_email}>"
        return self.from_email or self.from_name or "unknown sender"


# ------------------------------------------------------------------------------------------------- output


@dataclass(frozen=True)
class EscalationLine:
    """One escalation as the digest shows it (and one row of the CSV)."""

    reference: str
    status: str
    outcome: str | None
    level: int
    level_label: str  # "Level 1"
    role: str
    addressee: str  # who it waits on (name, else address)
    addressee_email: str | None
    children: tuple[str, ...]
    case_numbers: tuple[str, ...]
    themes: tuple[str, ...]
    opened_on: date
    due_on: date | None
    responded_on: date | None
    closed_on: date | None
    working_days_open: int
    overdue_working_days: int | None  # None: not overdue
    state: str  # "overdue" | "due soon" | "awaiting response" | "responded" | "informal" | "referral" | "closed"
    iro: str | None = None

    @property
    def child(self) -> str:
        return ", ".join(self.children) or "not named"


@dataclass(frozen=True)
class LevelGroup:
    number: int
    label: str
    role: str
    lines: tuple[EscalationLine, ...]

    @property
    def count(self) -> int:
        return len(self.lines)


@dataclass(frozen=True)
class ResponseTime:
    """Median working days to respond at one level: in the period and over all time up to now."""

    level: int
    label: str
    role: str
    period_median: float | None
    period_count: int
    all_time_median: float | None
    all_time_count: int


@dataclass(frozen=True)
class ThemeCount:
    theme: str
    count: int


@dataclass(frozen=True)
class DigestFigures:
    period: Period
    now: datetime
    today: date
    total_working_days: int
    open_by_level: tuple[LevelGroup, ...]
    overdue: tuple[EscalationLine, ...]  # most overdue first
    due_soon: tuple[EscalationLine, ...]  # soonest first
    over_total: tuple[EscalationLine, ...]  # open longer than the policy's total working days
    opened: tuple[EscalationLine, ...]
    closed: tuple[EscalationLine, ...]
    outcomes: tuple[tuple[str, int], ...]  # closed in the period, by outcome
    closed_within_total: int
    response_times: tuple[ResponseTime, ...]
    themes: tuple[ThemeCount, ...]  # among those opened in the period, most frequent first
    unthemed: int
    attention_count: int
    attention_oldest: tuple[AttentionMail, ...]
    rows: tuple[EscalationLine, ...]  # every escalation in the digest: open now, opened or closed in the period

    @property
    def open_count(self) -> int:
        return sum(g.count for g in self.open_by_level)

    @property
    def closed_share_within_total(self) -> float | None:
        """Share (0..1) of those closed in the period that closed within the total; None when none closed."""
        return self.closed_within_total / len(self.closed) if self.closed else None


# ------------------------------------------------------------------------------------------------- compute


def _level(policy: Policy, number: int) -> Level | None:
    return next((lvl for lvl in policy.levels if lvl.number == number), None)


def _label(policy: Policy, number: int) -> str:
    level = _level(policy, number)
    return level.label if level is not None else f"{policy.level_word} {number}"


def _line(record: RecordSnapshot, now: datetime, today: date, policy: Policy,
          calendar: WorkingCalendar) -> EscalationLine:
    stage = record.stage_at(now) or (record.stages[-1] if record.stages else None)
    is_open = record.open_at(now)
    closed_on = london_date(record.closed_at) if record.closed_at is not None and not is_open else None
    responded = stage.responded_at if stage is not None and stage.responded_at is not None else None
    if responded is not None and responded > now:
        responded = None
    number = stage.level if stage is not None else record.current_level
    level = _level(policy, number)
    due_on = stage.due_on if stage is not None else None
    overdue: int | None = None
    if not is_open:
        state = "closed"
    elif level is not None and level.terminal:
        state = "referral"
    elif level is not None and level.informal:
        state = "informal"
    elif responded is not None:
        state = "responded"
    elif due_on is None:
        state = "awaiting response"
    else:
        late = calendar.working_days_between(due_on, today)
        if late > 0:
            state = "overdue"
            overdue = late
        elif calendar.next_working_day(due_on) <= calendar.add_working_days(today, DUE_SOON_WORKING_DAYS):
            state = "due soon"
        else:
            state = "awaiting response"
    until = closed_on if closed_on is not None else today
    return EscalationLine(
        reference=record.reference,
        status="open" if is_open else "closed",
        outcome=None if is_open else record.outcome,
        level=number,
        level_label=_label(policy, number),
        role=stage.role if stage is not None else (level.role if level is not None else ""),
        addressee=stage.addressee if stage is not None else "not known",
        addressee_email=stage.addressee_email if stage is not None else None,
        children=record.children,
        case_numbers=record.case_numbers,
        themes=record.themes,
        opened_on=record.opened_on,
        due_on=due_on,
        responded_on=london_date(responded) if responded is not None else None,
        closed_on=closed_on,
        working_days_open=calendar.working_days_between(record.opened_on, until),
        overdue_working_days=overdue,
        state=state,
        iro=record.iro,
    )


def _median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def _response_times(records: Iterable[RecordSnapshot], period: Period, now: datetime, policy: Policy,
                    calendar: WorkingCalendar) -> tuple[ResponseTime, ...]:
    in_period: dict[int, list[int]] = {}
    all_time: dict[int, list[int]] = {}
    for record in records:
        for stage in record.stages:
            if stage.responded_at is None or stage.responded_at > now:
                continue
            days = calendar.working_days_between(stage.started_on, london_date(stage.responded_at))
            all_time.setdefault(stage.level, []).append(days)
            if period.contains(stage.responded_at):
                in_period.setdefault(stage.level, []).append(days)
    out = []
    for number in sorted(all_time):
        level = _level(policy, number)
        out.append(ResponseTime(
            level=number, label=_label(policy, number), role=level.role if level else "",
            period_median=_median(in_period.get(number, [])), period_count=len(in_period.get(number, [])),
            all_time_median=_median(all_time[number]), all_time_count=len(all_time[number]),
        ))
    return tuple(out)


def compute_digest(
    records: Iterable[RecordSnapshot],
    attention: Iterable[AttentionMail],
    period: Period,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> DigestFigures:
    """The digest's figures (see the module docstring for every definition)."""
    today = london_date(now)
    known = tuple(r for r in records if r.opened_at <= now)
    lines = {r.reference: _line(r, now, today, policy, calendar) for r in known}
    open_lines = [lines[r.reference] for r in known if r.open_at(now)]

    groups: dict[int, list[EscalationLine]] = {}
    for line in open_lines:
        groups.setdefault(line.level, []).append(line)
    open_by_level = tuple(
        LevelGroup(number, _label(policy, number), groups[number][0].role,
                   tuple(sorted(groups[number], key=lambda ln: (ln.due_on or date.max, ln.reference))))
        for number in sorted(groups)
    )
    overdue = tuple(sorted((ln for ln in open_lines if ln.state == "overdue"),
                           key=lambda ln: (-(ln.overdue_working_days or 0), ln.reference)))
    due_soon = tuple(sorted((ln for ln in open_lines if ln.state == "due soon"),
                            key=lambda ln: (ln.due_on or date.max, ln.reference)))
    over_total = tuple(sorted((ln for ln in open_lines if ln.working_days_open > policy.total_working_days
                               and ln.state != "informal"),
                              key=lambda ln: (-ln.working_days_open, ln.reference)))

    opened_records = [r for r in known if period.contains(r.opened_at)]
    closed_records = [r for r in known if r.closed_at is not None and r.closed_at <= now
                      and period.contains(r.closed_at)]
    opened = tuple(lines[r.reference] for r in opened_records)
    closed = tuple(sorted((lines[r.reference] for r in closed_records),
                          key=lambda ln: (ln.closed_on or date.min, ln.reference)))
    outcomes = Counter(ln.outcome or "closed" for ln in closed)
    within = sum(1 for ln in closed if ln.working_days_open <= policy.total_working_days)

    theme_counts: Counter[str] = Counter()
    unthemed = 0
    for r in opened_records:
        if r.themes:
            theme_counts.update(dict.fromkeys(r.themes, 1))
        else:
            unthemed += 1
    order = {t: i for i, t in enumerate(policy.themes)}
    themes = tuple(ThemeCount(t, n) for t, n in sorted(
        theme_counts.items(), key=lambda item: (-item[1], order.get(item[0], len(order)), item[0])))

    waiting = sorted((m for m in attention if m.received_at <= now), key=lambda m: m.received_at)

    in_digest = {ln.reference for ln in (*open_lines, *opened, *closed)}
    rows = tuple(lines[r.reference] for r in sorted(known, key=lambda r: (r.opened_at, r.reference))
                 if r.reference in in_digest)
    return DigestFigures(
        period=period, now=now, today=today, total_working_days=policy.total_working_days,
        open_by_level=open_by_level, overdue=overdue, due_soon=due_soon, over_total=over_total,
        opened=opened, closed=closed, outcomes=tuple(sorted(outcomes.items(), key=lambda kv: (-kv[1], kv[0]))),
        closed_within_total=within, response_times=_response_times(known, period, now, policy, calendar),
        themes=themes, unthemed=unthemed, attention_count=len(waiting),
        attention_oldest=tuple(waiting[:ATTENTION_LISTED]), rows=rows,
    )


__all__ = [
    "ATTENTION_LISTED",
    "DUE_SOON_WORKING_DAYS",
    "PERIODS",
    "UNTHEMED",
    "AttentionMail",
    "DigestFigures",
    "EscalationLine",
    "LevelGroup",
    "Period",
    "RecordSnapshot",
    "ResponseTime",
    "StageSnapshot",
    "ThemeCount",
    "compute_digest",
    "london_date",
    "period_ending",
    "short_day",
]
