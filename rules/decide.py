"""What the bot should do now for one escalation record: ``decide(record, now, policy, calendar)``.

The service calls :func:`decide` on every tick for every open record, carries out the returned
:class:`Action` s (each one sends mail) and records every key in :attr:`Action.covers` as done, so the next tick
does not repeat them. Pure: same input, same output; ``now`` is a parameter, nothing reads the clock.

Words. *today* is ``now`` in Europe/London. A date ``d`` "counts from" ``calendar.next_working_day(d)`` (a
due date written as a Saturday is due on the Monday, a stage started on a Sunday starts on the Monday), as in
:mod:`rules.calendar`. The *effective due date* is ``next_working_day(stage.due_on)``; the *escalation day* is
``add_working_days(due_on, policy.chasers.grace_working_days)``.

Rules
-----
1. A closed record gets nothing. An action whose key is in ``record.done`` is never returned again, so running
   :func:`decide` twice is harmless: feeding back the keys it returned makes it return ``[]`` for the same now.
2. Every action sends mail, so actions happen only in the working window: ``today`` is a working day of the
   calendar (weekends, bank holidays incl. substitute days, closure days excluded) and the London time of day
   is in ``[hours[0], hours[1])`` of ``policy.chasers.hours`` (09:00 is inside, 17:00 is outside). Outside it
   :func:`decide` returns ``[]``; whatever fell due meanwhile happens at the next opening (Monday 09:00 after
   a Friday evening, Tuesday 09:00 after a bank-holiday Monday).
3. Chasers (kind ``chase``) go only at timed levels (neither informal nor terminal) with a due date and no
   response. The chaser for offset ``o`` falls on ``add_working_days(due_on, o)`` and is due when
   ``today >= that day`` and ``today <= escalation day`` (with the default grace of 0: never after the due
   date). A chaser whose day is on or before the stage's start day is skipped (Hull's 2-day Assistant Director
   level: the -2 chaser would fall on the send day). An offset beyond the grace period can never go (the
   record is escalated first). When several chasers are due at once (the bot was down), only the latest is
   sent: one action keyed by the latest offset, whose ``covers`` also lists the earlier, not yet done keys; if
   the latest one is already done, the earlier ones are moot and nothing is sent.
   Keys carry the due date, ``L1.chase.-2@2026-12-07``, so an extension (a new due date) re-arms the chasers.
4. Escalation: at a timed level with a due date and no response, when ``today >`` the escalation day, the
   record goes to ``policy.next_level(level)`` (kind ``escalate``, key ``L1.escalate``, ``level`` = the level
   left, ``to_level``, ``due_on`` = the next level's due date for a timed next level, else ``None``). The next
   level's working days run on from the missed deadline. Its day 1 is the working day after the escalation
   day, i.e. the day an on-time bot escalates, or today if that is later (the bot was down); it is due on its
   ``next.working_days``-th working day counting day 1 as the first: ``add_working_days(day_1,
   next.working_days - 1)``, so a 1-day level is due on day 1. An on-time ladder thus keeps the policy's
   cumulative figures (due Dorset 5/10/15/20, Birmingham 10/13/16/20 working days after the opening, plus any
   grace days), and a late escalation still gives the next manager all their days from the day they hear of
   it. If the next level is terminal (Cafcass) the action is ``referral_due`` instead (the bot
   never writes to Cafcass; it tells the IRO and QA), keyed ``L5.referral`` like rule 8 so the referral is
   announced once whether or not the service moves the record to the terminal level. No next level: nothing.
5. The manager responded and the IRO has sent nothing since (``last_iro_message_at`` is ``None`` or not after
   ``responded_at``) for ``settings.iro_quiet_working_days`` working days (counted with
   ``working_days_between`` from the London date of the response) ⇒ ``ask_iro`` (resolved, or escalate?),
   key ``L2.ask_iro``, once per level; not at a terminal level.
6. Budget: ``elapsed = working_days_between(opened_on, today)`` (days after the opening day, up to and
   including today). Each threshold of ``policy.budget_warnings`` reached gives ``budget_warning`` with
   ``days`` = the threshold, key ``budget.15``, once; when several are reached at once only the highest is
   sent (``covers`` lists the lower ones). Not while the record is at an informal level (the formal process
   has not started); still at a terminal level and after the last level.
7. An unanswered extension request ⇒ ``extension_requested``, key ``ext.<request key>``, once per request;
   ``due_on`` is the date the manager asked for, or ``requested_working_days`` added to the later of the
   effective due date and today, or ``None`` when the manager named neither (the IRO must name a date).
8. At a terminal level: ``referral_due`` once, key ``L5.referral``. Informal levels are not timed: no chasers,
   no escalation.
9. The policy's "day N" notification rules (Birmingham 3.8: day 10): ``notify`` once per day N, key
   ``notify.day.10``, when the formal process has run N working days (not at an informal level).

Chasers use the level's own offsets when the policy sets them (``Level.chaser_offsets``: a reminder the day before
a 2-day level), else ``policy.chasers.offsets``. The budget counts from the formal start; when the IRO extended it
(``record.budget_days``, where the policy lets them) every threshold moves by the days added; no budget warning
follows the Cafcass notice (a ``….referral`` key done).

A stage level the policy does not have raises :class:`~rules.errors.PolicyError`; a naive ``now`` raises
``ValueError``. Actions come in a fixed order: escalate/referral or chase, ask_iro, extension, budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from rules.calendar import LONDON, WorkingCalendar
from rules.policy import Level, Policy
from rules.records import RecordState, StageState


class ActionKind(StrEnum):
    """What an :class:`Action` asks the service to do (a ``str``: compares equal to its value)."""

    CHASE = "chase"  # remind the manager at the current level
    ESCALATE = "escalate"  # move to the next level and write to its manager, QA copied
    ASK_IRO = "ask_iro"  # the manager answered, the IRO is quiet: resolved, or escalate?
    REFERRAL_DUE = "referral_due"  # the ladder is exhausted: tell the IRO and QA a Cafcass referral is due
    BUDGET_WARNING = "budget_warning"  # the formal process has run this many working days
    EXTENSION_REQUESTED = "extension_requested"  # mail the IRO the one-line command that agrees it
    NOTIFY = "notify"  # the formal process reached a day the policy names people to tell on (Birmingham day 10)


@dataclass(frozen=True)
class DecideSettings:
    """The tunable parts of :func:`decide`."""

    iro_quiet_working_days: int = 2  # rule 5: working days of IRO silence after a response before asking

    def __post_init__(self) -> None:
        n = self.iro_quiet_working_days
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"iro_quiet_working_days must be a whole number >= 0, got {n!r}")


@dataclass(frozen=True)
class Action:
    """One thing to do now. Fields other than ``kind``, ``key`` and ``level`` are set only where they apply."""

    kind: ActionKind
    key: str  # unique within the record and stable across ticks
    level: int  # the level concerned (for escalate and the referral after an overdue level: the level left)
    covers: tuple[str, ...] = ()  # every key this action settles, ``key`` first: mark them all done
    to_level: int | None = None  # escalate / referral_due after an overdue level: the level entered
    due_on: date | None = None  # chase: the due date chased; escalate: the new due date; extension: proposed
    offset: int | None = None  # chase: the working-day offset from the due date
    days: int | None = None  # budget_warning: the threshold reached; ask_iro: working days of IRO silence
    elapsed: int | None = None  # budget_warning: working days since the formal process opened
    addressee: str | None = None  # chase: whom to chase (None: the bot does not know; tell the IRO instead)
    extension_key: str | None = None  # extension_requested: the request's own key

    def __post_init__(self) -> None:
        if not self.covers:
            object.__setattr__(self, "covers", (self.key,))


# ------------------------------------------------------------------------------------------------- time


def london(now: datetime) -> datetime:
    """``now`` in Europe/London; ``ValueError`` for a naive datetime."""
    if not isinstance(now, datetime):
        raise TypeError(f"now must be a timezone-aware datetime, got {type(now).__name__} {now!r}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got the naive {now!r}")
    return now.astimezone(LONDON)


def in_working_window(now: datetime, policy: Policy, calendar: WorkingCalendar) -> bool:
    """True when mail may go out at ``now``: a working day and London time in ``[start, end)`` of the hours."""
    local = london(now)
    start, end = policy.chasers.hours
    return calendar.is_working_day(local.date()) and start <= local.time().replace(tzinfo=None) < end


# ------------------------------------------------------------------------------------------------- keys


def chase_key(level: int, offset: int, due_on: date) -> str:
    return f"L{level}.chase.{offset}@{due_on.isoformat()}"


def escalate_key(level: int) -> str:
    return f"L{level}.escalate"


def referral_key(terminal_level: int) -> str:
    return f"L{terminal_level}.referral"


def ask_iro_key(level: int) -> str:
    return f"L{level}.ask_iro"


def budget_key(days: int) -> str:
    return f"budget.{days}"


def extension_key(request_key: str) -> str:
    return f"ext.{request_key}"


def notify_day_key(day: int) -> str:
    return f"notify.day.{day}"


# ------------------------------------------------------------------------------------------------- decide


def decide(
    record: RecordState,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
    settings: DecideSettings | None = None,
) -> list[Action]:
    """The actions due for ``record`` at ``now`` (see the module docstring for the rules)."""
    settings = settings or DecideSettings()
    local = london(now)
    if record.status != "open":
        return []
    level = policy.level(record.stage.level)  # PolicyError for a level the policy does not have
    if not in_working_window(now, policy, calendar):
        return []
    today = local.date()
    candidates: list[Action] = []
    if level.terminal:
        candidates.append(Action(ActionKind.REFERRAL_DUE, referral_key(level.number), level.number))
    elif level.timed and record.stage.due_on is not None and record.stage.responded_at is None:
        candidates.extend(_timing(record, record.stage.due_on, level, today, policy, calendar))
    if not level.terminal:
        candidates.extend(_ask_iro(record, level, today, calendar, settings))
    candidates.extend(_extension(record, level, today, calendar))
    exhausted = any(k.endswith(".referral") for k in record.done)  # the Cafcass notice went: the budget is moot
    if not level.informal and not exhausted:
        candidates.extend(_budget(record, today, policy, calendar))
    if not level.informal:
        candidates.extend(_notify_days(record, today, policy, calendar))
    return [a for a in candidates if a.key not in record.done]


def _timing(
    record: RecordState, due_on: date, level: Level, today: date, policy: Policy, calendar: WorkingCalendar
) -> list[Action]:
    """Rule 3 (chasers) and rule 4 (escalation) for an unanswered timed stage due on ``due_on``."""
    stage: StageState = record.stage
    escalation_day = calendar.add_working_days(due_on, policy.chasers.grace_working_days)
    if today > escalation_day:
        nxt = policy.next_level(level.number)
        if nxt is None:
            return []
        if nxt.terminal:
            return [Action(ActionKind.REFERRAL_DUE, referral_key(nxt.number), level.number, to_level=nxt.number)]
        new_due = None
        if nxt.working_days is not None:
            # The next level's days run on from the missed deadline, so an on-time ladder keeps the policy's
            # cumulative figures (Dorset 5/10/15/20, Birmingham 10/13/16/20): day 1 is the working day after the
            # escalation day, or today when the bot escalates late (after downtime), so no manager gets less time.
            start = max(today, calendar.add_working_days(escalation_day, 1))
            new_due = calendar.add_working_days(start, nxt.working_days - 1) if nxt.working_days > 1 else start
        return [Action(ActionKind.ESCALATE, escalate_key(level.number), level.number, to_level=nxt.number,
                       due_on=new_due)]
    start = calendar.next_working_day(stage.started_on)
    due: list[tuple[int, str]] = []
    for offset in policy.chaser_offsets(level):
        day = calendar.add_working_days(due_on, offset)
        if start < day <= today:
            due.append((offset, chase_key(level.number, offset, due_on)))
    if not due:
        return []
    offset, key = due[-1]  # offsets increase, so the last one due is the latest
    if key in record.done:
        return []  # the latest chaser went already: the earlier ones are moot
    earlier = tuple(k for _, k in due[:-1] if k not in record.done)
    return [Action(ActionKind.CHASE, key, level.number, covers=(key, *earlier), due_on=due_on,
                   offset=offset, addressee=stage.addressee)]


def _ask_iro(
    record: RecordState, level: Level, today: date, calendar: WorkingCalendar, settings: DecideSettings
) -> list[Action]:
    """Rule 5: the manager responded, the IRO has been quiet for N working days."""
    responded = record.stage.responded_at
    if responded is None:
        return []
    last_iro = record.last_iro_message_at
    if last_iro is not None and last_iro > responded:
        return []
    quiet = calendar.working_days_between(london(responded).date(), today)
    if quiet < settings.iro_quiet_working_days:
        return []
    return [Action(ActionKind.ASK_IRO, ask_iro_key(level.number), level.number, days=quiet)]


def _extension(record: RecordState, level: Level, today: date, calendar: WorkingCalendar) -> list[Action]:
    """Rule 7: an unanswered extension request from a manager."""
    request = record.extension_request
    if request is None:
        return []
    proposed: date | None = request.requested_until
    if proposed is None and request.requested_working_days is not None:
        base = today
        if record.stage.due_on is not None:
            base = max(today, calendar.next_working_day(record.stage.due_on))
        proposed = calendar.add_working_days(base, request.requested_working_days)
    return [Action(ActionKind.EXTENSION_REQUESTED, extension_key(request.key), level.number, due_on=proposed,
                   extension_key=request.key)]


def _budget(record: RecordState, today: date, policy: Policy, calendar: WorkingCalendar) -> list[Action]:
    """Rule 6: working days since the formal process opened reaching each budget warning."""
    elapsed = calendar.working_days_between(record.opened_on, today)
    shift = max(0, (record.budget_days or policy.total_working_days) - policy.total_working_days)
    reached = [n + shift for n in policy.budget_warnings if elapsed >= n + shift]
    if not reached:
        return []
    highest = reached[-1]  # budget_warnings increase (Policy.validate)
    key = budget_key(highest)
    if key in record.done:
        return []
    earlier = tuple(budget_key(n) for n in reached[:-1] if budget_key(n) not in record.done)
    return [Action(ActionKind.BUDGET_WARNING, key, record.stage.level, covers=(key, *earlier), days=highest,
                   elapsed=elapsed)]


def _notify_days(record: RecordState, today: date, policy: Policy, calendar: WorkingCalendar) -> list[Action]:
    """Rule 9: the policy's "day N" notification rules, once each, when the formal process has run N working days."""
    elapsed = calendar.working_days_between(record.opened_on, today)
    days = sorted({n.day for n in policy.notifications if n.event == "day" and n.day is not None})
    return [Action(ActionKind.NOTIFY, notify_day_key(day), record.stage.level, days=day, elapsed=elapsed)
            for day in days if elapsed >= day]


#: How far ahead :func:`next_moment` looks, in working days (beyond the longest budget a policy may have).
HORIZON_WORKING_DAYS = 130


def next_moment(
    record: RecordState,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
    settings: DecideSettings | None = None,
) -> datetime | None:
    """The earliest instant at or after ``now`` at which :func:`decide` returns something for ``record`` (UTC), or
    ``None`` when nothing falls due within :data:`HORIZON_WORKING_DAYS` working days (a closed record, an informal
    step waiting for the IRO, a referral already announced). Exact, not a guess: every rule is decided by the London
    date and the working window, so the candidates are ``now`` itself and the opening of each working window after
    it, and each is put to :func:`decide`. The service stores the answer with the record and the tick looks only at
    records whose moment has come (a change to the record clears it, so it is worked out again)."""
    settings = settings or DecideSettings()
    if record.status != "open":
        return None
    if decide(record, now, policy, calendar, settings):
        return now.astimezone(UTC)
    start = policy.chasers.hours[0]
    today = london(now).date()
    days = {d for d in _trigger_days(record, policy, calendar, settings) if d >= today}
    days.add(today)  # what is due but waits for the window: today's opening, or the next one
    days.add(calendar.next_working_day(today + timedelta(days=1)))
    limit = calendar.add_working_days(today, HORIZON_WORKING_DAYS)
    for day in sorted(calendar.next_working_day(d) for d in days):
        if day > limit:
            break
        moment = datetime.combine(day, start, tzinfo=LONDON)
        if moment >= now and decide(record, moment, policy, calendar, settings):
            return moment.astimezone(UTC)
    return None


def _trigger_days(record: RecordState, policy: Policy, calendar: WorkingCalendar,
                  settings: DecideSettings) -> list[date]:
    """Every day on which one of the rules can first fire for ``record`` (a superset: :func:`next_moment` puts each
    to :func:`decide`): the chaser days, the day after the escalation day, the day the IRO's silence reaches its
    limit, each budget and "day N" threshold."""
    stage = record.stage
    level = policy.find_level(stage.level)
    days: list[date] = []
    if level is not None and level.timed and stage.due_on is not None:
        for offset in policy.chaser_offsets(level):
            days.append(calendar.add_working_days(stage.due_on, offset))
        escalation_day = calendar.add_working_days(stage.due_on, policy.chasers.grace_working_days)
        days.append(calendar.add_working_days(escalation_day, 1))
    if stage.responded_at is not None:
        days.append(calendar.add_working_days(london(stage.responded_at).date(), settings.iro_quiet_working_days))
    shift = max(0, (record.budget_days or policy.total_working_days) - policy.total_working_days)
    thresholds = [n + shift for n in policy.budget_warnings]
    thresholds += [n.day for n in policy.notifications if n.event == "day" and n.day is not None]
    days.extend(calendar.add_working_days(record.opened_on, n) for n in thresholds)
    return days
