"""The QA managers' digest as figures: pure arithmetic over plain snapshots of the escalation records.

:func:`compute_digest` takes frozen :class:`RecordSnapshot` s (built by :mod:`mailbot.mail_out.digest` from the store),
the attention mails, a :class:`Period`, ``now``, the policy and the working-day calendar, and returns
:class:`DigestFigures`. Nothing here reads the clock, the database or the network.

Periods (Europe/London, ``end`` exclusive)
-----------------------------------------
:func:`period_ending` gives the last *complete* period of a kind before ``now``'s date; :func:`period_containing`
the one a day falls in. Each policy cadence has its period (:data:`CADENCE_PERIODS`).

* ``week``: Monday to Sunday, from Monday 00:00 to the next Monday 00:00. The digest sent on Monday 30 November
  2026 at 08:00 covers Monday 23 to Sunday 29 November; run on a Wednesday it still covers the last complete week.
* ``fortnight``: two such weeks, counted in pairs from Monday 1 January 2024 (:data:`FORTNIGHT_EPOCH`), so every
  fortnight is the same whoever asks: 30 November – 13 December 2026, then 14 – 27 December 2026, …
* ``month``: the calendar month (run on any day of December: November).
* ``bimonth``: two calendar months, Jan–Feb, Mar–Apr, May–Jun, Jul–Aug, Sep–Oct, Nov–Dec.
* ``quarter``: the calendar quarter (Jan–Mar, Apr–Jun, Jul–Sep, Oct–Dec), which are also the financial year's.
* ``year``: the **financial year**, 1 April to 31 March, as IRO annual reports do (the IRO Handbook asks for an
  annual report on the service; councils write it for their financial year). Run on any day from 1 April 2027 to
  31 March 2028 the last complete one is 1 April 2026 – 31 March 2027, labelled ``2026–27``.

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

*Outcomes* (:class:`Outcomes`, the reports' table): of the escalations closed in the period, how many were resolved
at each level (the level the record was at when it closed), withdrawn, referred to Cafcass, or closed otherwise,
and the median working days from the start of the formal process to the close; beside them, how many were opened in
the period and how many of those are still open at ``now``. :func:`compute_breakdown` gives the same counts for each
month of a quarter or each quarter of a year (the annual report's table).

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

#: The periods a digest or report may cover (see the module docstring).
PERIODS = ("week", "fortnight", "month", "bimonth", "quarter", "year")
#: The period of each reporting cadence of a policy (``rules.policy.REPORTING_CADENCES``).
CADENCE_PERIODS = {"weekly": "week", "fortnightly": "fortnight", "monthly": "month", "bimonthly": "bimonth",
                   "quarterly": "quarter", "annual": "year"}
#: Fortnights are counted in pairs of weeks from this Monday, so every run agrees where one starts.
FORTNIGHT_EPOCH = date(2024, 1, 1)
#: The month the financial year (and the IRO annual report) starts.
FINANCIAL_YEAR_MONTH = 4
#: How far ahead "due soon" looks, in working days.
DUE_SOON_WORKING_DAYS = 5
#: How many attention mails the digest lists (the count covers all of them).
ATTENTION_LISTED = 5
#: How the digest names escalations opened without a theme.
UNTHEMED = "unthemed"

#: How an outcome is said in mails and spreadsheets.
OUTCOME_WORDS = {"resolved": "resolved", "withdrawn": "withdrawn", "cafcass": "referred to Cafcass",
                 "closed": "closed"}

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_day(d: date) -> str:
    """``29 Nov 2026``."""
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def outcome_words(value: str | None) -> str:
    """``"cafcass"`` -> ``referred to Cafcass``; no outcome -> ``closed``."""
    return OUTCOME_WORDS.get(value or "closed", value or "closed")


# ------------------------------------------------------------------------------------------------- period


@dataclass(frozen=True)
class Period:
    """Whole London days ``start <= day < end``."""

    kind: str  # one of PERIODS
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
        """``week to 29 Nov 2026`` · ``fortnight to 13 Dec 2026`` · ``November 2026`` · ``Nov–Dec 2026`` ·
        ``Oct–Dec 2026`` · ``2026–27`` (a financial year)."""
        if self.kind in ("week", "fortnight"):
            return f"{self.kind} to {short_day(self.last_day)}"
        if self.kind == "month":
            return f"{self.start:%B %Y}"
        if self.kind == "year":
            return f"{self.start.year}–{self.last_day.year % 100:02d}"
        first, last = _MONTHS[self.start.month - 1], _MONTHS[self.last_day.month - 1]
        if self.start.year != self.last_day.year:
            return f"{first} {self.start.year}–{last} {self.last_day.year}"
        return f"{first}–{last} {self.start.year}"

    @property
    def long_label(self) -> str:
        """:attr:`label`, with a financial year said in words: ``the financial year 2026–27``."""
        return f"the financial year {self.label}" if self.kind == "year" else self.label

    @property
    def cadence_word(self) -> str:
        """``Weekly``, ``Fortnightly``, ``Monthly``, ``Two-monthly``, ``Quarterly``, ``Annual``."""
        return _CADENCE_WORDS[self.kind]

    @property
    def span(self) -> str:
        """``23 Nov 2026 – 29 Nov 2026`` (both days included)."""
        return f"{short_day(self.start)} – {short_day(self.last_day)}"

    def contains(self, moment: datetime | None) -> bool:
        """True when the London day of ``moment`` is in the period."""
        return moment is not None and self.start <= london_date(moment) < self.end

    def parts(self) -> tuple[Period, ...]:
        """The months of a quarter, the quarters of a year (the reports' breakdown); ``()`` for the others."""
        kind = {"quarter": "month", "year": "quarter"}.get(self.kind)
        if kind is None:
            return ()
        out: list[Period] = []
        start = self.start
        while start < self.end:
            part = period_containing(kind, start)
            out.append(part)
            start = part.end
        return tuple(out)


_CADENCE_WORDS = {"week": "Weekly", "fortnight": "Fortnightly", "month": "Monthly", "bimonth": "Two-monthly",
                  "quarter": "Quarterly", "year": "Annual"}
_MONTHS_IN = {"month": 1, "bimonth": 2, "quarter": 3, "year": 12}


def _add_months(d: date, months: int) -> date:
    """The first of the month ``months`` after ``d``'s month (``d`` is a first of a month)."""
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _start_of(kind: str, day: date) -> date:
    """The first day of the period of ``kind`` that contains ``day``."""
    if kind == "week":
        return day - timedelta(days=day.weekday())
    if kind == "fortnight":
        monday = day - timedelta(days=day.weekday())
        return monday - timedelta(days=7 * (((monday - FORTNIGHT_EPOCH).days // 7) % 2))
    if kind == "month":
        return day.replace(day=1)
    if kind == "bimonth":
        return date(day.year, day.month - (day.month - 1) % 2, 1)
    if kind == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if kind == "year":
        year = day.year if day.month >= FINANCIAL_YEAR_MONTH else day.year - 1
        return date(year, FINANCIAL_YEAR_MONTH, 1)
    raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {kind!r}")


def period_containing(kind: str, day: date) -> Period:
    """The period of ``kind`` that ``day`` falls in (see the module docstring)."""
    start = _start_of(kind, day)
    if kind in ("week", "fortnight"):
        return Period(kind, start, start + timedelta(days=7 if kind == "week" else 14))
    return Period(kind, start, _add_months(start, _MONTHS_IN[kind]))


def period_ending(kind: str, now: datetime) -> Period:
    """The last complete period of ``kind`` before ``now``'s London day (see the module docstring)."""
    today = london_date(now)
    return period_containing(kind, _start_of(kind, today) - timedelta(days=1))


def cadence_period(cadence: str) -> str:
    """The period of a policy's reporting cadence: ``"monthly"`` -> ``"month"``, ``"annual"`` -> ``"year"``."""
    try:
        return CADENCE_PERIODS[cadence]
    except KeyError:
        raise ValueError(f"cadence must be one of {', '.join(CADENCE_PERIODS)}, got {cadence!r}") from None


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
    outcome_text: str | None = None  # the IRO's words when closing ("Resolved – plan signed off")

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
    outcome_text: str | None = None
    stages: tuple[StageSnapshot, ...] = ()  # the stages started by now, in order (the tracker's column groups)

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
class Outcomes:
    """What became of escalations in a period (see the module docstring)."""

    opened: int  # opened in the period
    still_open: int  # of those, open at now
    closed: int  # closed in the period
    resolved_by_level: tuple[tuple[str, int], ...]  # (level label, how many resolved there), in ladder order
    withdrawn: int
    cafcass: int  # referred to Cafcass
    other: int  # closed with no recorded outcome
    median_working_days_to_close: float | None  # None when none closed

    @property
    def resolved(self) -> int:
        return sum(n for _, n in self.resolved_by_level)


@dataclass(frozen=True)
class PeriodCount:
    """One row of a report's breakdown: a month of a quarter, or a quarter of a year."""

    period: Period
    outcomes: Outcomes
    themes: tuple[ThemeCount, ...]  # of those opened in it, most frequent first
    unthemed: int = 0  # of those opened in it, how many had no theme


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
    outcome_summary: Outcomes  # the period's outcomes (resolved at which level, withdrawn, Cafcass, still open)
    breakdown: tuple[PeriodCount, ...] = ()  # each month of a quarter, each quarter of a year; up to now

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
        outcome_text=None if is_open else record.outcome_text,
        stages=tuple(s for s in record.stages if s.started_at <= now),
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


def _themes(records: Iterable[RecordSnapshot], policy: Policy) -> tuple[tuple[ThemeCount, ...], int]:
    """Theme counts among ``records`` (most frequent first, then the policy's order) and how many had none."""
    counts: Counter[str] = Counter()
    unthemed = 0
    for r in records:
        if r.themes:
            counts.update(dict.fromkeys(r.themes, 1))
        else:
            unthemed += 1
    order = {t: i for i, t in enumerate(policy.themes)}
    return tuple(ThemeCount(t, n) for t, n in sorted(
        counts.items(), key=lambda item: (-item[1], order.get(item[0], len(order)), item[0]))), unthemed


def _outcomes(known: tuple[RecordSnapshot, ...], lines: dict[str, EscalationLine], period: Period, now: datetime,
              policy: Policy) -> Outcomes:
    opened = [r for r in known if period.contains(r.opened_at)]
    closed = [lines[r.reference] for r in known if r.closed_at is not None and r.closed_at <= now
              and period.contains(r.closed_at)]
    by_level: Counter[int] = Counter(ln.level for ln in closed if ln.outcome == "resolved")
    ladder = {lvl.number: i for i, lvl in enumerate(policy.levels)}
    resolved = tuple((_label(policy, n), by_level[n])
                     for n in sorted(by_level, key=lambda n: (ladder.get(n, len(ladder)), n)))
    known_outcomes = ("resolved", "withdrawn", "cafcass")
    return Outcomes(
        opened=len(opened),
        still_open=sum(1 for r in opened if r.open_at(now)),
        closed=len(closed),
        resolved_by_level=resolved,
        withdrawn=sum(1 for ln in closed if ln.outcome == "withdrawn"),
        cafcass=sum(1 for ln in closed if ln.outcome == "cafcass"),
        other=sum(1 for ln in closed if ln.outcome not in known_outcomes),
        median_working_days_to_close=_median([ln.working_days_open for ln in closed]),
    )


def compute_breakdown(records: Iterable[RecordSnapshot], period: Period, now: datetime, policy: Policy,
                      calendar: WorkingCalendar) -> tuple[PeriodCount, ...]:
    """The outcomes and themes of each part of ``period`` (:meth:`Period.parts`) that has begun by ``now``."""
    today = london_date(now)
    known = tuple(r for r in records if r.opened_at <= now)
    lines = {r.reference: _line(r, now, today, policy, calendar) for r in known}
    out = []
    for part in period.parts():
        if part.start > today:
            break
        themes, unthemed = _themes((r for r in known if part.contains(r.opened_at)), policy)
        out.append(PeriodCount(part, _outcomes(known, lines, part, now, policy), themes, unthemed))
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

    themes, unthemed = _themes(opened_records, policy)

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
        outcome_summary=_outcomes(known, lines, period, now, policy),
        breakdown=compute_breakdown(known, period, now, policy, calendar),
    )


__all__ = [
    "ATTENTION_LISTED",
    "CADENCE_PERIODS",
    "DUE_SOON_WORKING_DAYS",
    "FINANCIAL_YEAR_MONTH",
    "FORTNIGHT_EPOCH",
    "OUTCOME_WORDS",
    "PERIODS",
    "UNTHEMED",
    "AttentionMail",
    "DigestFigures",
    "EscalationLine",
    "LevelGroup",
    "Outcomes",
    "Period",
    "PeriodCount",
    "RecordSnapshot",
    "ResponseTime",
    "StageSnapshot",
    "ThemeCount",
    "cadence_period",
    "compute_breakdown",
    "compute_digest",
    "london_date",
    "outcome_words",
    "period_containing",
    "period_ending",
    "short_day",
]
