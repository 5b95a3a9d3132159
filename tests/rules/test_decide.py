"""rules.decide: scenarios over real England 2026-27 calendars, every preset run end to end, and properties.

Calendar facts used below (England): Christmas Day Fri 25 Dec 2026, Boxing Day Sat 26 Dec observed Mon 28 Dec,
New Year's Day Fri 1 Jan 2027, Good Friday 26 Mar 2027, Easter Monday 29 Mar 2027, Early May bank holiday
Mon 3 May 2027, Spring bank holiday Mon 31 May 2027. BST ends Sun 25 Oct 2026 and starts Sun 28 Mar 2027.
The council closure day used is Tue 29 Dec 2026. Default chasers: offsets (-2, 0), grace 0, hours 09:00-17:00.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.calendar import WorkingCalendar
from rules.decide import (
    Action,
    ActionKind,
    DecideSettings,
    chase_key,
    decide,
    in_working_window,
    london,
)
from rules.errors import PolicyError
from rules.policy import ChaserSchedule, Level, Policy
from rules.presets import BIRMINGHAM, DORSET, HULL, PRESETS, ROTHERHAM, SOUTH_WEST
from rules.records import ExtensionRequest, RecordState, StageState

LONDON = ZoneInfo("Europe/London")
D = date
ENG = WorkingCalendar("england")
CLOSURE = D(2026, 12, 29)
ENG_CLOSED = WorkingCalendar("england", closures=[CLOSURE])
TM = "tm@council.gov.uk"


def at(d: date, hh: int = 10, mm: int = 0) -> datetime:
    """London wall-clock time on ``d`` as an aware datetime (converted to UTC, as the service passes it)."""
    return datetime(d.year, d.month, d.day, hh, mm, tzinfo=LONDON).astimezone(UTC)


def rec(
    level: int,
    started: date,
    due: date | None,
    *,
    opened: date | None = None,
    responded: datetime | None = None,
    iro: datetime | None = None,
    ext: ExtensionRequest | None = None,
    done: tuple[str, ...] = (),
    status: str = "open",
    addressee: str | None = TM,
) -> RecordState:
    stage = StageState(level=level, started_on=started, due_on=due, due_source="policy" if due else None,
                       responded_at=responded, addressee=addressee)
    return RecordState(reference="ESC-0042", status=status, opened_on=opened or started, stage=stage,
                       last_iro_message_at=iro, extension_request=ext, done=frozenset(done))


def kinds(actions: list[Action]) -> list[tuple[str, str]]:
    return [(str(a.kind), a.key) for a in actions]


# ------------------------------------------------------------------------------------ calendar sanity


def test_calendar_facts_the_scenarios_rely_on() -> None:
    for d in (D(2026, 12, 25), D(2026, 12, 28), D(2027, 1, 1), D(2027, 3, 26), D(2027, 3, 29),
              D(2027, 5, 3), D(2027, 5, 31)):
        assert not ENG.is_working_day(d), d
    assert ENG.is_working_day(D(2026, 12, 24)) and ENG.is_working_day(CLOSURE)
    assert not ENG_CLOSED.is_working_day(CLOSURE)


# ------------------------------------------------------------------- Dorset Level 1 over Christmas 2026

# Dorset L1 (5 WD) started Mon 21 Dec 2026. England: Tue 22 (1), Wed 23 (2), Thu 24 (3), [Fri 25, Mon 28 bank
# holidays] Tue 29 (4), Wed 30 (5) -> due Wed 30 Dec. Chaser -2: Tue 29 (1), Thu 24 (2) -> Thu 24 Dec; chaser 0:
# Wed 30 Dec; escalation Thu 31 Dec, which is day 1 of Level 2 (5 WD): Thu 31 (1), [Fri 1 Jan New Year] Mon 4 (2),
# Tue 5 (3), Wed 6 (4), Thu 7 (5) -> Level 2 due Thu 7 Jan 2027 = 10 working days after Mon 21 Dec.
XMAS_START, XMAS_DUE = D(2026, 12, 21), D(2026, 12, 30)
XMAS_C2, XMAS_C0 = chase_key(1, -2, XMAS_DUE), chase_key(1, 0, XMAS_DUE)

# With the council closed on Tue 29 Dec: Thu 24 (3), Wed 30 (4), Thu 31 (5) -> due Thu 31 Dec. Chaser -2:
# Wed 30 (1), Thu 24 (2) -> Thu 24 Dec; chaser 0 Thu 31 Dec; escalation Mon 4 Jan (Fri 1 Jan is New Year),
# day 1 of Level 2: Mon 4 (1), Tue 5 (2), Wed 6 (3), Thu 7 (4), Fri 8 (5) -> Level 2 due Fri 8 Jan.
CLOSED_DUE = D(2026, 12, 31)


@pytest.mark.parametrize(
    ("cal", "due", "now", "done", "expected"),
    [
        (ENG, XMAS_DUE, at(D(2026, 12, 23)), (), []),
        (ENG, XMAS_DUE, at(D(2026, 12, 24), 9), (), [("chase", XMAS_C2)]),
        (ENG, XMAS_DUE, at(D(2026, 12, 25)), (), []),  # Christmas Day
        (ENG, XMAS_DUE, at(D(2026, 12, 28)), (), []),  # Boxing Day observed
        (ENG, XMAS_DUE, at(D(2026, 12, 29)), (XMAS_C2,), []),
        (ENG, XMAS_DUE, at(D(2026, 12, 30), 9), (XMAS_C2,), [("chase", XMAS_C0)]),
        (ENG, XMAS_DUE, at(D(2026, 12, 31), 9), (XMAS_C2, XMAS_C0), [("escalate", "L1.escalate")]),
        (ENG, XMAS_DUE, at(D(2027, 1, 1), 12), (XMAS_C2, XMAS_C0), []),  # New Year's Day
        (ENG_CLOSED, CLOSED_DUE, at(D(2026, 12, 29)), (chase_key(1, -2, CLOSED_DUE),), []),  # closure day
        (ENG_CLOSED, CLOSED_DUE, at(D(2026, 12, 30)), (chase_key(1, -2, CLOSED_DUE),), []),
        (ENG_CLOSED, CLOSED_DUE, at(D(2026, 12, 31), 9), (chase_key(1, -2, CLOSED_DUE),),
         [("chase", chase_key(1, 0, CLOSED_DUE))]),
        (ENG_CLOSED, CLOSED_DUE, at(D(2027, 1, 1), 9), (), []),
        (ENG_CLOSED, CLOSED_DUE, at(D(2027, 1, 4), 9), (), [("escalate", "L1.escalate")]),
    ],
)
def test_dorset_level1_over_christmas(
    cal: WorkingCalendar, due: date, now: datetime, done: tuple[str, ...], expected: list[tuple[str, str]]
) -> None:
    assert cal.add_working_days(XMAS_START, 5) == due
    assert kinds(decide(rec(1, XMAS_START, due, done=done), now, DORSET, cal)) == expected


def test_escalation_after_christmas_carries_the_next_levels_due_date() -> None:
    [a] = decide(rec(1, XMAS_START, XMAS_DUE), at(D(2026, 12, 31), 9), DORSET, ENG)
    assert (a.kind, a.level, a.to_level, a.due_on) == (ActionKind.ESCALATE, 1, 2, D(2027, 1, 7))
    [b] = decide(rec(1, XMAS_START, CLOSED_DUE), at(D(2027, 1, 4), 9), DORSET, ENG_CLOSED)
    assert (b.level, b.to_level, b.due_on) == (1, 2, D(2027, 1, 8))


def test_chase_action_fields() -> None:
    [a] = decide(rec(1, XMAS_START, XMAS_DUE), at(D(2026, 12, 24), 9), DORSET, ENG)
    assert a == Action(ActionKind.CHASE, XMAS_C2, 1, covers=(XMAS_C2,), due_on=XMAS_DUE, offset=-2, addressee=TM)
    assert a.kind == "chase"  # a StrEnum: plain text for the service and the database
    [b] = decide(rec(1, XMAS_START, XMAS_DUE, addressee=None), at(D(2026, 12, 24), 9), DORSET, ENG)
    assert b.addressee is None  # the service tells the IRO it does not know whom to chase


# ------------------------------------------------------------------------------- Hull's 2-day AD level


# Hull L4 (Assistant Director, 2 WD) started Wed 24 Mar 2027: Thu 25 (1), [Good Friday 26, Easter Monday 29]
# Tue 30 (2) -> due Tue 30 Mar. Chaser -2: Thu 25 (1), Wed 24 (2) = the start day -> skipped. Chaser 0: Tue 30
# Mar, the first working day of BST (09:00 BST = 08:00 UTC). Wed 31 Mar: overdue, next level is Cafcass.
HULL_AD_START, HULL_AD_DUE = D(2027, 3, 24), D(2027, 3, 30)


def test_hull_two_day_level_skips_the_chaser_on_the_send_day() -> None:
    hull = replace(HULL, levels=tuple(replace(lvl, chaser_offsets=None) for lvl in HULL.levels))
    assert ENG.add_working_days(HULL_AD_START, 2) == HULL_AD_DUE
    assert ENG.add_working_days(HULL_AD_DUE, -2) == HULL_AD_START
    r = rec(4, HULL_AD_START, HULL_AD_DUE)
    for day in (D(2027, 3, 24), D(2027, 3, 25)):
        for hh in (9, 12, 16):
            assert decide(r, at(day, hh), hull, ENG) == []
    assert decide(r, datetime(2027, 3, 30, 7, 59, tzinfo=UTC), hull, ENG) == []  # 08:59 BST
    [a] = decide(r, datetime(2027, 3, 30, 8, 0, tzinfo=UTC), hull, ENG)  # 09:00 BST
    assert (a.kind, a.offset, a.covers) == (ActionKind.CHASE, 0, (chase_key(4, 0, HULL_AD_DUE),))
    [b] = decide(replace(r, done=frozenset(a.covers)), at(D(2027, 3, 31), 9), hull, ENG)
    assert (b.kind, b.key, b.level, b.to_level, b.due_on) == (ActionKind.REFERRAL_DUE, "L5.referral", 4, 5, None)


def test_hull_preset_reminds_its_two_day_level_the_day_before() -> None:
    # The seed names no reminders; the preset gives its 2- and 3-day levels (-1, 0): Thu 25 Mar is day -1 of the
    # level due Tue 30 Mar (Good Friday and Easter Monday between), after the start day, so it goes.
    r = rec(4, HULL_AD_START, HULL_AD_DUE)
    assert decide(r, at(D(2027, 3, 24), 12), HULL, ENG) == []
    [a] = decide(r, at(D(2027, 3, 25), 9), HULL, ENG)
    assert (a.kind, a.offset, a.key) == (ActionKind.CHASE, -1, chase_key(4, -1, HULL_AD_DUE))


def test_one_day_level_skips_the_minus_two_chaser() -> None:
    # A custom 1-day level started Mon 1 Feb 2027, due Tue 2 Feb. Chaser -2: Mon 1 (1), Fri 29 Jan (2), before
    # the start.
    policy = Policy(key="oneday", council="Test", title="", level_word="Level",
                    levels=(Level(1, "Team Manager", 1), Level(2, "Head of Service", 5)))
    start, due = D(2027, 2, 1), D(2027, 2, 2)
    assert ENG.add_working_days(start, 1) == due and ENG.add_working_days(due, -2) == D(2027, 1, 29)
    r = rec(1, start, due)
    assert decide(r, at(start, 9), policy, ENG) == []
    assert kinds(decide(r, at(due, 9), policy, ENG)) == [("chase", chase_key(1, 0, due))]
    # A stage started on a Saturday starts on the Monday: a chaser on that Monday is on the start day.
    sat = D(2027, 1, 30)
    assert decide(rec(1, sat, due), at(start, 9), policy, ENG) == []


# -------------------------------------------------------------------------------- working-hours edges


@pytest.mark.parametrize(
    ("now", "sends"),
    [
        (at(D(2026, 12, 24), 8, 59), False),
        (at(D(2026, 12, 24), 9, 0), True),
        (at(D(2026, 12, 24), 16, 59), True),
        (at(D(2026, 12, 24), 17, 0), False),
        (at(D(2026, 12, 24), 23, 30), False),
    ],
)
def test_working_hours_edges_gmt(now: datetime, sends: bool) -> None:
    actions = decide(rec(1, XMAS_START, XMAS_DUE), now, DORSET, ENG)
    assert bool(actions) is sends
    assert in_working_window(now, DORSET, ENG) is sends


@pytest.mark.parametrize(
    ("utc", "sends"),
    [
        # Fri 23 Oct 2026 is BST (UTC+1): the window is 08:00-16:00 UTC.
        (datetime(2026, 10, 23, 7, 59, tzinfo=UTC), False),
        (datetime(2026, 10, 23, 8, 0, tzinfo=UTC), True),
        (datetime(2026, 10, 23, 15, 59, tzinfo=UTC), True),
        (datetime(2026, 10, 23, 16, 0, tzinfo=UTC), False),
        # Mon 26 Oct 2026 is GMT again (clocks went back Sun 25 Oct): 09:00-17:00 UTC.
        (datetime(2026, 10, 26, 8, 0, tzinfo=UTC), False),
        (datetime(2026, 10, 26, 8, 59, tzinfo=UTC), False),
        (datetime(2026, 10, 26, 9, 0, tzinfo=UTC), True),
        (datetime(2026, 10, 26, 16, 59, tzinfo=UTC), True),
        (datetime(2026, 10, 26, 17, 0, tzinfo=UTC), False),
    ],
)
def test_working_hours_across_the_clock_change(utc: datetime, sends: bool) -> None:
    # Any open record with an unanswered, long-overdue Level 1 escalates whenever the window is open.
    r = rec(1, D(2026, 10, 1), D(2026, 10, 8))
    assert bool(decide(r, utc, DORSET, ENG)) is sends


def test_custom_hours_and_other_timezones_for_now() -> None:
    policy = replace(DORSET, chasers=ChaserSchedule(hours=(time(8, 30), time(16, 0))))
    r = rec(1, D(2026, 10, 1), D(2026, 10, 8))
    assert decide(r, at(D(2026, 11, 2), 8, 29), policy, ENG) == []
    assert decide(r, at(D(2026, 11, 2), 8, 30), policy, ENG) != []
    assert decide(r, at(D(2026, 11, 2), 16, 0), policy, ENG) == []
    # 09:30 London in New York terms is the same instant: the zone of `now` does not matter.
    ny = at(D(2026, 11, 2), 9, 30).astimezone(ZoneInfo("America/New_York"))
    assert decide(r, ny, DORSET, ENG) == decide(r, at(D(2026, 11, 2), 9, 30), DORSET, ENG) != []


def test_friday_evening_waits_for_monday_and_easter_for_tuesday() -> None:
    # Dorset L1 started Fri 6 Nov 2026, due Fri 13 Nov. Escalation day Mon 16 Nov: nothing Fri 18:00 or the
    # weekend, first thing Monday.
    r = rec(1, D(2026, 11, 6), D(2026, 11, 13), done=(chase_key(1, -2, D(2026, 11, 13)),))
    assert decide(r, at(D(2026, 11, 13), 18), DORSET, ENG) == []
    assert decide(r, at(D(2026, 11, 14), 10), DORSET, ENG) == []
    assert decide(r, at(D(2026, 11, 16), 8, 59), DORSET, ENG) == []
    # Chaser 0 was due Fri 13 Nov but the bot missed it: it is moot on Monday, the record escalates instead.
    assert kinds(decide(r, at(D(2026, 11, 16), 9), DORSET, ENG)) == [("escalate", "L1.escalate")]
    # Dorset L1 started Thu 18 Mar 2027: Fri 19, Mon 22, Tue 23, Wed 24, Thu 25 -> due Thu 25 Mar. Escalation
    # happens the working day after: Fri 26 is Good Friday, Mon 29 Easter Monday, so Tue 30 Mar 09:00 BST, which
    # is day 1 of Level 2 (5 WD): Tue 30 (1), Wed 31 (2), Thu 1 Apr (3), Fri 2 (4), Mon 5 (5) -> due Mon 5 Apr.
    due = D(2027, 3, 25)
    assert ENG.add_working_days(D(2027, 3, 18), 5) == due
    r = rec(1, D(2027, 3, 18), due, done=(chase_key(1, -2, due), chase_key(1, 0, due)))
    for now in (at(due, 18), at(D(2027, 3, 26), 10), at(D(2027, 3, 29), 10), at(D(2027, 3, 30), 8, 59)):
        assert decide(r, now, DORSET, ENG) == []
    [a] = decide(r, datetime(2027, 3, 30, 8, 0, tzinfo=UTC), DORSET, ENG)
    assert (a.kind, a.to_level, a.due_on) == (ActionKind.ESCALATE, 2, D(2027, 4, 5))


# ----------------------------------------------------------------------------------- the bot was down


# Dorset L1 started Mon 2 Nov 2026, due Mon 9 Nov; chaser -2 Thu 5 Nov, chaser 0 Mon 9 Nov.
DOWN_START, DOWN_DUE = D(2026, 11, 2), D(2026, 11, 9)


def test_bot_down_sends_one_catch_up_chaser_not_a_burst() -> None:
    r = rec(1, DOWN_START, DOWN_DUE)
    c2, c0 = chase_key(1, -2, DOWN_DUE), chase_key(1, 0, DOWN_DUE)
    [a] = decide(r, at(D(2026, 11, 9), 13), DORSET, ENG)
    assert (a.key, a.offset, a.covers) == (c0, 0, (c0, c2))
    assert decide(replace(r, done=frozenset({c0})), at(D(2026, 11, 9), 13), DORSET, ENG) == []
    # Only the -2 one went before the outage: the 0 one now covers nothing else.
    [b] = decide(replace(r, done=frozenset({c2})), at(D(2026, 11, 9), 13), DORSET, ENG)
    assert b.covers == (c0,)


def test_bot_down_for_a_week_past_the_due_date_escalates_once() -> None:
    r = rec(1, DOWN_START, DOWN_DUE)
    # Down from Wed 4 to Wed 11 Nov. On time the record would have escalated Tue 10 (day 1 of Level 2); it
    # escalates late, so day 1 is today, Wed 11 (1), Thu 12 (2), Fri 13 (3), Mon 16 (4), Tue 17 (5) -> due
    # Tue 17 Nov: Level 2 still gets its 5 working days from the day its manager hears of it.
    [a] = decide(r, at(D(2026, 11, 11), 9), DORSET, ENG)
    assert (a.kind, a.key, a.due_on) == (ActionKind.ESCALATE, "L1.escalate", D(2026, 11, 17))


def test_bot_down_past_both_budget_warnings_sends_only_the_highest() -> None:
    # Rotherham Stage 4 opened Mon 1 Feb 2027. Working days after it: Feb 2-5 (4), 8-12 (9), 15-19 (14),
    # Mon 22 (15), 23-26 (19), Mon 1 Mar (20), Tue 2 Mar (21). The manager responded; the IRO answered.
    opened = D(2027, 2, 1)
    assert ENG.add_working_days(opened, 15) == D(2027, 2, 22)
    assert ENG.add_working_days(opened, 20) == D(2027, 3, 1)
    responded = at(D(2027, 2, 17))
    r = rec(4, D(2027, 2, 16), D(2027, 2, 23), opened=opened, responded=responded, iro=responded + timedelta(1))
    assert decide(r, at(D(2027, 2, 19), 16), ROTHERHAM, ENG) == []
    [a] = decide(r, at(D(2027, 3, 2), 9), ROTHERHAM, ENG)
    assert (a.kind, a.key, a.days, a.elapsed, a.covers) == (
        ActionKind.BUDGET_WARNING, "budget.20", 20, 21, ("budget.20", "budget.15"))
    [b] = decide(r, at(D(2027, 2, 22), 9), ROTHERHAM, ENG)
    assert (b.key, b.elapsed) == ("budget.15", 15)
    assert decide(replace(r, done=frozenset({"budget.20"})), at(D(2027, 3, 2), 9), ROTHERHAM, ENG) == []


# --------------------------------------------------------------------------------- the rules one by one


def test_closed_records_and_done_keys_get_nothing() -> None:
    now = at(D(2026, 12, 31), 9)
    assert decide(rec(1, XMAS_START, XMAS_DUE, status="closed"), now, DORSET, ENG) == []
    assert decide(rec(1, XMAS_START, XMAS_DUE, done=("L1.escalate",)), now, DORSET, ENG) == []


def test_a_response_stops_chasers_and_escalation() -> None:
    r = rec(1, DOWN_START, DOWN_DUE, responded=at(D(2026, 11, 4)), iro=at(D(2026, 11, 4), 15))
    for day in (D(2026, 11, 5), D(2026, 11, 9), D(2026, 11, 10), D(2026, 11, 20)):
        assert decide(r, at(day), DORSET, ENG) == []


def test_grace_days_and_a_chaser_after_the_due_date() -> None:
    # Grace 1: due Mon 9 Nov, escalation day Tue 10 Nov; a +1 chaser goes on Tue 10, escalation on Wed 11.
    policy = replace(DORSET, chasers=ChaserSchedule(offsets=(-2, 0, 1), grace_working_days=1))
    r = rec(1, DOWN_START, DOWN_DUE, done=(chase_key(1, -2, DOWN_DUE), chase_key(1, 0, DOWN_DUE)))
    assert kinds(decide(r, at(D(2026, 11, 10)), policy, ENG)) == [("chase", chase_key(1, 1, DOWN_DUE))]
    assert kinds(decide(r, at(D(2026, 11, 11)), policy, ENG)) == [("escalate", "L1.escalate")]
    # An offset beyond the grace period never goes: the record has escalated by then.
    late = replace(DORSET, chasers=ChaserSchedule(offsets=(0, 3), grace_working_days=1))
    r = rec(1, DOWN_START, DOWN_DUE, done=(chase_key(1, 0, DOWN_DUE),))
    for day in (D(2026, 11, 10), D(2026, 11, 11), D(2026, 11, 12)):
        assert all(a.kind != "chase" for a in decide(r, at(day), late, ENG))


def test_due_date_on_a_weekend_counts_from_monday() -> None:
    # The IRO wrote "response by Sat 14/11/2026": due in effect Mon 16 Nov; chaser -2 Thu 12 Nov.
    sat = D(2026, 11, 14)
    r = rec(1, D(2026, 11, 2), sat)
    assert kinds(decide(r, at(D(2026, 11, 12)), DORSET, ENG)) == [("chase", chase_key(1, -2, sat))]
    r = replace(r, done=frozenset({chase_key(1, -2, sat)}))
    assert decide(r, at(D(2026, 11, 13)), DORSET, ENG) == []
    assert kinds(decide(r, at(D(2026, 11, 16)), DORSET, ENG)) == [("chase", chase_key(1, 0, sat))]
    assert kinds(decide(r, at(D(2026, 11, 17)), DORSET, ENG)) == [("escalate", "L1.escalate")]


def test_an_extension_rearms_the_chasers() -> None:
    new_due = D(2026, 11, 16)
    r = rec(1, DOWN_START, new_due, done=(chase_key(1, -2, DOWN_DUE), chase_key(1, 0, DOWN_DUE)))
    assert decide(r, at(D(2026, 11, 10)), DORSET, ENG) == []  # Tue 10: the old due date has gone, no escalation
    assert kinds(decide(r, at(D(2026, 11, 12)), DORSET, ENG)) == [("chase", chase_key(1, -2, new_due))]


def test_no_next_level_means_no_escalation_but_budget_warnings_go_on() -> None:
    # A custom ladder without a Cafcass level. Level 2 opened (formally) Mon 19 Oct 2026; stage due Mon 9 Nov.
    # Working days after Mon 19 Oct: Oct 20-23 (4), 26-30 (9), Nov 2-6 (14), Mon 9 (15), Tue 10 (16) ... Mon 16
    # Nov (20).
    policy = Policy(key="short", council="Test", title="", level_word="Level",
                    levels=(Level(1, "Team Manager", 5), Level(2, "Head of Service", 5)))
    opened, due = D(2026, 10, 19), D(2026, 11, 9)
    assert ENG.working_days_between(opened, due) == 15 and ENG.add_working_days(opened, 20) == D(2026, 11, 16)
    r = rec(2, D(2026, 11, 2), due, opened=opened, done=(chase_key(2, -2, due),))
    # Mon 9 Nov: the chaser-0 day and 15 working days in.
    assert kinds(decide(r, at(due), policy, ENG)) == [("chase", chase_key(2, 0, due)), ("budget_warning", "budget.15")]
    r = replace(r, done=r.done | {chase_key(2, 0, due), "budget.15"})
    # Overdue from Tue 10 Nov, but there is nowhere to escalate to.
    for day in (D(2026, 11, 10), D(2026, 11, 13)):
        assert decide(r, at(day), policy, ENG) == []
    assert kinds(decide(r, at(D(2026, 11, 16)), policy, ENG)) == [("budget_warning", "budget.20")]


def test_terminal_level_announces_the_referral_once() -> None:
    r = rec(5, D(2027, 3, 31), None, opened=D(2027, 3, 1))
    [a, b] = decide(r, at(D(2027, 3, 31)), HULL, ENG)
    assert (a.kind, a.key, a.level, a.to_level) == (ActionKind.REFERRAL_DUE, "L5.referral", 5, None)
    assert (b.kind, b.key) == (ActionKind.BUDGET_WARNING, "budget.20")
    assert decide(replace(r, done=frozenset({"L5.referral", "budget.20"})), at(D(2027, 4, 1)), HULL, ENG) == []


def test_informal_levels_are_not_timed() -> None:
    # Dorset Level 0 with a date in the subject, long overdue and the budget long passed: nothing at all.
    r = rec(0, D(2026, 10, 1), D(2026, 10, 8), opened=D(2026, 10, 1))
    assert decide(r, at(D(2026, 12, 1)), DORSET, ENG) == []
    assert decide(replace(r, stage=replace(r.stage, level=1)), at(D(2026, 12, 1)), SOUTH_WEST, ENG) == []


def test_ask_iro_after_two_quiet_working_days() -> None:
    # Dorset L2; the Service Manager answered Mon 9 Nov 2026 at 10:00. Tue 10 is 1 working day, Wed 11 is 2.
    responded = at(D(2026, 11, 9))
    r = rec(2, D(2026, 11, 5), D(2026, 11, 12), responded=responded, iro=at(D(2026, 11, 5)))
    assert decide(r, at(D(2026, 11, 10), 16), DORSET, ENG) == []
    [a] = decide(r, at(D(2026, 11, 11), 9), DORSET, ENG)
    assert (a.kind, a.key, a.level, a.days) == (ActionKind.ASK_IRO, "L2.ask_iro", 2, 2)
    assert decide(replace(r, done=frozenset({"L2.ask_iro"})), at(D(2026, 11, 20)), DORSET, ENG) == []
    # The IRO said something after the response: nothing to ask.
    assert decide(replace(r, last_iro_message_at=responded + timedelta(hours=2)), at(D(2026, 11, 11)),
                  DORSET, ENG) == []
    # A response on Saturday counts from Monday: Tue (1), Wed (2).
    sat = rec(2, D(2026, 11, 5), D(2026, 11, 12), responded=at(D(2026, 11, 7)))
    assert decide(sat, at(D(2026, 11, 10)), DORSET, ENG) == []
    assert kinds(decide(sat, at(D(2026, 11, 11)), DORSET, ENG)) == [("ask_iro", "L2.ask_iro")]
    # Tunable: ask after 0 working days (the same day) or 5.
    assert kinds(decide(r, at(D(2026, 11, 9), 11), DORSET, ENG, DecideSettings(iro_quiet_working_days=0))) == [
        ("ask_iro", "L2.ask_iro")]
    assert decide(r, at(D(2026, 11, 13)), DORSET, ENG, DecideSettings(iro_quiet_working_days=5)) == []
    assert decide(r, at(D(2026, 11, 16)), DORSET, ENG, DecideSettings(iro_quiet_working_days=5)) != []
    with pytest.raises(ValueError, match="iro_quiet_working_days"):
        DecideSettings(iro_quiet_working_days=-1)


@pytest.mark.parametrize(
    ("until", "days", "today", "proposed"),
    [
        (D(2026, 11, 20), None, D(2026, 11, 5), D(2026, 11, 20)),  # the date the manager named
        (None, 3, D(2026, 11, 5), D(2026, 11, 12)),  # 3 WD after the due date Mon 9 Nov: Tue, Wed, Thu 12
        (None, 3, D(2026, 11, 11), D(2026, 11, 16)),  # asked after the due date: 3 WD after today (Wed 11)
        (None, None, D(2026, 11, 5), None),  # the IRO must name a date
    ],
)
def test_extension_request(until: date | None, days: int | None, today: date, proposed: date | None) -> None:
    req = ExtensionRequest(key="<abc@council.gov.uk>", asked_at=at(D(2026, 11, 4)), requested_until=until,
                           requested_working_days=days)
    responded = at(D(2026, 11, 4))
    r = rec(1, DOWN_START, DOWN_DUE, responded=responded, iro=responded + timedelta(hours=1), ext=req)
    [a] = decide(r, at(today), DORSET, ENG)
    assert (a.kind, a.key, a.level, a.due_on, a.extension_key) == (
        ActionKind.EXTENSION_REQUESTED, "ext.<abc@council.gov.uk>", 1, proposed, "<abc@council.gov.uk>")
    assert decide(replace(r, done=frozenset({a.key})), at(today), DORSET, ENG) == []


def test_bad_input_is_refused() -> None:
    r = rec(1, DOWN_START, DOWN_DUE)
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(r, datetime(2026, 11, 9, 10), DORSET, ENG)
    with pytest.raises(PolicyError, match="no Level 9"):
        decide(rec(9, DOWN_START, DOWN_DUE), at(DOWN_DUE), DORSET, ENG)
    with pytest.raises(TypeError, match="started_on must be a date"):
        StageState(level=1, started_on=at(DOWN_START), due_on=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="responded_at must be timezone-aware"):
        StageState(level=1, started_on=DOWN_START, due_on=None, responded_at=datetime(2026, 11, 9))
    with pytest.raises(ValueError, match="due_source"):
        StageState(level=1, started_on=DOWN_START, due_on=None, due_source="guess")
    with pytest.raises(ValueError, match="status"):
        replace(r, status="pending")
    with pytest.raises(ValueError, match="requested_working_days"):
        ExtensionRequest(key="k", asked_at=at(DOWN_START), requested_working_days=0)
    assert RecordState(reference="ESC-1", status="open", opened_on=DOWN_START, stage=r.stage,
                       done={"a"}).done == frozenset({"a"})  # type: ignore[arg-type]


# ------------------------------------------------------------------- every preset run end to end


def simulate(policy: Policy, cal: WorkingCalendar, level: int, opened: date, until: date,
             ) -> list[tuple[date, str, str, int | None, date | None]]:
    """Tick every 30 minutes from ``opened`` to ``until`` as a careful service would: carry out every action,
    mark its ``covers`` done, move the stage on escalate/referral. Returns (London date, kind, key, to_level,
    due_on) for each action, and checks every action happened at 09:00 London (nobody ever answers)."""
    first = policy.level(level)
    assert first.working_days is not None
    r = rec(level, opened, cal.add_working_days(opened, first.working_days), opened=opened)
    out: list[tuple[date, str, str, int | None, date | None]] = []
    now = at(opened, 0)
    end = at(until, 23, 59)
    while now <= end:
        for a in decide(r, now, policy, cal):
            local = london(now)
            assert local.time() == time(9), (local, a)
            out.append((local.date(), str(a.kind), a.key, a.to_level, a.due_on if a.kind != "chase" else None))
            done = r.done | set(a.covers)
            if a.to_level is not None:
                stage = StageState(level=a.to_level, started_on=local.date(), due_on=a.due_on,
                                   due_source="policy" if a.due_on else None, addressee=TM)
                r = replace(r, stage=stage)
            r = replace(r, done=frozenset(done))
        now += timedelta(minutes=30)
    return out


def _c(level: int, offset: int, due: date) -> str:
    return chase_key(level, offset, due)


def test_simulate_hull_february_2027() -> None:
    # Each escalation day is day 1 of the next level, so the due dates fall on the policy's cumulative days
    # 10/15/18/20 after the opening.
    # Opened Mon 1 Feb 2027 at L1 (10 WD): Feb 2-5 (4), 8-12 (9), Mon 15 (10) -> due Mon 15 Feb; -2 Fri 12 (1),
    # Thu 11 (2). L2 (5) from Tue 16: Tue 16 (1), Wed 17 (2), Thu 18 (3), Fri 19 (4), Mon 22 (5) -> due Mon 22
    # Feb; -2 Fri 19 (1), Thu 18 (2). L3 (3) from Tue 23: Tue 23 (1), Wed 24 (2), Thu 25 (3) -> due Thu 25 Feb;
    # -2 Wed 24 (1), Tue 23 (2) = the start day: skipped. L4 (2) from Fri 26: Fri 26 (1), Mon 1 Mar (2) -> due
    # Mon 1 Mar; -2 Fri 26 (1), Thu 25 (2), before the start: skipped. Cafcass Tue 2 Mar.
    # Budget from Mon 1 Feb: 2-5 (4), 8-12 (9), 15-19 (14), Mon 22 (15); 23-26 (19), Mon 1 Mar (20).
    l1, l2, l3, l4 = D(2027, 2, 15), D(2027, 2, 22), D(2027, 2, 25), D(2027, 3, 1)
    assert simulate(HULL, ENG, 1, D(2027, 2, 1), D(2027, 3, 31)) == [
        (D(2027, 2, 11), "chase", _c(1, -2, l1), None, None),
        (D(2027, 2, 15), "chase", _c(1, 0, l1), None, None),
        (D(2027, 2, 16), "escalate", "L1.escalate", 2, l2),
        (D(2027, 2, 18), "chase", _c(2, -2, l2), None, None),
        (D(2027, 2, 22), "chase", _c(2, 0, l2), None, None),
        (D(2027, 2, 22), "budget_warning", "budget.15", None, None),
        (D(2027, 2, 23), "escalate", "L2.escalate", 3, l3),
        (D(2027, 2, 24), "chase", _c(3, -1, l3), None, None),  # the preset's reminder the day before (3-day level)
        (D(2027, 2, 25), "chase", _c(3, 0, l3), None, None),
        (D(2027, 2, 26), "escalate", "L3.escalate", 4, l4),
        (D(2027, 3, 1), "chase", _c(4, 0, l4), None, None),
        (D(2027, 3, 1), "budget_warning", "budget.20", None, None),
        (D(2027, 3, 2), "referral_due", "L5.referral", 5, None),
    ]


def test_simulate_dorset_christmas_with_a_closure_day() -> None:
    # Opened Mon 14 Dec 2026 at L1 (5): 15-18 (4), Mon 21 (5) -> due Mon 21 Dec; -2 Fri 18 (1), Thu 17 (2).
    # L2 from Tue 22: Tue 22 (1), Wed 23 (2), Thu 24 (3), [25, 28 bank holidays, 29 closure] Wed 30 (4), Thu 31
    # (5) -> due Thu 31 Dec; -2 Wed 30 (1), Thu 24 (2). L3 from Mon 4 Jan [Fri 1 Jan]: Mon 4 (1) ... Fri 8 (5)
    # -> due Fri 8 Jan; -2 Thu 7 (1), Wed 6 (2). L4 from Mon 11: Mon 11 (1) ... Fri 15 (5) -> due Fri 15 Jan;
    # -2 Wed 13. Cafcass Mon 18 Jan. Due dates 5/10/15/20 working days after the opening.
    # Budget from Mon 14 Dec: Dec 15-18 (4), 21-24 (8), 30-31 (10), Jan 4-8 (15) -> Fri 8 Jan; 11-15 (20) ->
    # Fri 15 Jan.
    l1, l2, l3, l4 = D(2026, 12, 21), D(2026, 12, 31), D(2027, 1, 8), D(2027, 1, 15)
    assert simulate(DORSET, ENG_CLOSED, 1, D(2026, 12, 14), D(2027, 2, 28)) == [
        (D(2026, 12, 17), "chase", _c(1, -2, l1), None, None),
        (D(2026, 12, 21), "chase", _c(1, 0, l1), None, None),
        (D(2026, 12, 22), "escalate", "L1.escalate", 2, l2),
        (D(2026, 12, 24), "chase", _c(2, -2, l2), None, None),
        (D(2026, 12, 31), "chase", _c(2, 0, l2), None, None),
        (D(2027, 1, 4), "escalate", "L2.escalate", 3, l3),
        (D(2027, 1, 6), "chase", _c(3, -2, l3), None, None),
        (D(2027, 1, 8), "chase", _c(3, 0, l3), None, None),
        (D(2027, 1, 8), "budget_warning", "budget.15", None, None),
        (D(2027, 1, 11), "escalate", "L3.escalate", 4, l4),
        (D(2027, 1, 13), "chase", _c(4, -2, l4), None, None),
        (D(2027, 1, 15), "chase", _c(4, 0, l4), None, None),
        (D(2027, 1, 15), "budget_warning", "budget.20", None, None),
        (D(2027, 1, 18), "referral_due", "L5.referral", 5, None),
    ]


def test_simulate_birmingham_over_easter_2027() -> None:
    # Opened Mon 8 Mar 2027 at Stage 1 (10): 9-12 (4), 15-19 (9), Mon 22 (10) -> due Mon 22 Mar; -2 Fri 19 (1),
    # Thu 18 (2). Stage 2 (3) from Tue 23: Tue 23 (1), Wed 24 (2), Thu 25 (3) -> due Thu 25 Mar; -2 Wed 24 (1),
    # Tue 23 (2) = the start day: skipped. Stage 3 (3) from Tue 30 [Good Friday 26, Easter Monday 29]: Tue 30
    # (1), Wed 31 (2), Thu 1 Apr (3) -> due Thu 1 Apr; -2 = Tue 30 = the start day: skipped. Stage 4 (4) from
    # Fri 2 Apr: Fri 2 (1), Mon 5 (2), Tue 6 (3), Wed 7 (4) -> due Wed 7 Apr; -2 Tue 6 (1), Mon 5 (2). Cafcass
    # Thu 8 Apr. Due dates 10/13/16/20 working days after the opening, as the procedure says.
    # Budget from Mon 8 Mar: 9-12 (4), 15-19 (9), 22-25 (13), Tue 30 (14), Wed 31 (15); Apr 1, 2, 5, 6, 7 (20).
    s1, s2, s3, s4 = D(2027, 3, 22), D(2027, 3, 25), D(2027, 4, 1), D(2027, 4, 7)
    assert simulate(BIRMINGHAM, ENG, 1, D(2027, 3, 8), D(2027, 5, 1)) == [
        (D(2027, 3, 18), "chase", _c(1, -2, s1), None, None),
        (D(2027, 3, 22), "chase", _c(1, 0, s1), None, None),
        (D(2027, 3, 22), "notify", "notify.day.10", None, None),  # 3.8: not resolved at day 10, AHoS consulted
        (D(2027, 3, 23), "escalate", "L1.escalate", 2, s2),
        (D(2027, 3, 24), "chase", _c(2, -1, s2), None, None),  # the preset's reminder the day before (3-day stage)
        (D(2027, 3, 25), "chase", _c(2, 0, s2), None, None),
        (D(2027, 3, 30), "escalate", "L2.escalate", 3, s3),
        (D(2027, 3, 31), "chase", _c(3, -1, s3), None, None),
        (D(2027, 3, 31), "budget_warning", "budget.15", None, None),
        (D(2027, 4, 1), "chase", _c(3, 0, s3), None, None),
        (D(2027, 4, 2), "escalate", "L3.escalate", 4, s4),
        (D(2027, 4, 5), "chase", _c(4, -2, s4), None, None),
        (D(2027, 4, 7), "chase", _c(4, 0, s4), None, None),
        (D(2027, 4, 7), "budget_warning", "budget.20", None, None),
        (D(2027, 4, 8), "referral_due", "L5.referral", 5, None),
    ]


def test_simulate_rotherham_over_the_may_bank_holidays_2027() -> None:
    # Opened Tue 27 Apr 2027 at Stage 1 (5): Wed 28, Thu 29, Fri 30, [Mon 3 May] Tue 4, Wed 5 -> due Wed 5 May;
    # -2 Tue 4 (1), Fri 30 Apr (2). Stage 2 from Thu 6: Thu 6 (1), Fri 7 (2), Mon 10 (3), Tue 11 (4), Wed 12 (5)
    # -> due Wed 12; -2 Mon 10. Stage 3 from Thu 13: Thu 13 (1), Fri 14, Mon 17, Tue 18, Wed 19 (5) -> due
    # Wed 19; -2 Mon 17. Stage 4 from Thu 20: Thu 20 (1), Fri 21, Mon 24, Tue 25, Wed 26 (5) -> due Wed 26;
    # -2 Mon 24. Cafcass Thu 27 May, before the Spring bank holiday (Mon 31 May) comes into it.
    # Budget from Tue 27 Apr: 28-30 (3), May 4-7 (7), 10-14 (12), 17-19 (15) -> Wed 19 May; 20, 21 (17),
    # 24-26 (20) -> Wed 26 May.
    s1, s2, s3, s4 = D(2027, 5, 5), D(2027, 5, 12), D(2027, 5, 19), D(2027, 5, 26)
    assert simulate(ROTHERHAM, ENG, 1, D(2027, 4, 27), D(2027, 7, 1)) == [
        (D(2027, 4, 30), "chase", _c(1, -2, s1), None, None),
        (D(2027, 5, 5), "chase", _c(1, 0, s1), None, None),
        (D(2027, 5, 6), "escalate", "L1.escalate", 2, s2),
        (D(2027, 5, 10), "chase", _c(2, -2, s2), None, None),
        (D(2027, 5, 12), "chase", _c(2, 0, s2), None, None),
        (D(2027, 5, 13), "escalate", "L2.escalate", 3, s3),
        (D(2027, 5, 17), "chase", _c(3, -2, s3), None, None),
        (D(2027, 5, 19), "chase", _c(3, 0, s3), None, None),
        (D(2027, 5, 19), "budget_warning", "budget.15", None, None),
        (D(2027, 5, 20), "escalate", "L3.escalate", 4, s4),
        (D(2027, 5, 24), "chase", _c(4, -2, s4), None, None),
        (D(2027, 5, 26), "chase", _c(4, 0, s4), None, None),
        (D(2027, 5, 26), "budget_warning", "budget.20", None, None),
        (D(2027, 5, 27), "referral_due", "L5.referral", 5, None),
    ]


def test_simulate_south_west_over_new_year() -> None:
    # Opened Mon 14 Dec 2026 at Stage 2 (10; Stage 1 is informal): 15-18 (4), 21-24 (8), [25, 28] Tue 29 (9),
    # Wed 30 (10) -> due Wed 30 Dec; -2 Tue 29 (1), Thu 24 (2). Stage 3 (5) from Thu 31: Thu 31 (1), [1 Jan]
    # Mon 4 (2), Tue 5 (3), Wed 6 (4), Thu 7 (5) -> due Thu 7 Jan; -2 Wed 6 (1), Tue 5 (2). Stage 4 (5) from
    # Fri 8: Fri 8 (1), Mon 11 (2), Tue 12 (3), Wed 13 (4), Thu 14 (5) -> due Thu 14 Jan; -2 Tue 12. Cafcass
    # Fri 15 Jan. Budget from Mon 14 Dec: Dec 15-18 (4), 21-24 (8), 29-31 (11), Jan 4-7 (15) -> Thu 7 Jan;
    # 8, 11, 12, 13, 14 (20) -> Thu 14 Jan: the same days as the Stage 3 and 4 due dates (cumulative 15, 20).
    s2, s3, s4 = D(2026, 12, 30), D(2027, 1, 7), D(2027, 1, 14)
    assert simulate(SOUTH_WEST, ENG, 2, D(2026, 12, 14), D(2027, 2, 28)) == [
        (D(2026, 12, 24), "chase", _c(2, -2, s2), None, None),
        (D(2026, 12, 30), "chase", _c(2, 0, s2), None, None),
        (D(2026, 12, 31), "escalate", "L2.escalate", 3, s3),
        (D(2027, 1, 5), "chase", _c(3, -2, s3), None, None),
        (D(2027, 1, 7), "chase", _c(3, 0, s3), None, None),
        (D(2027, 1, 7), "budget_warning", "budget.15", None, None),
        (D(2027, 1, 8), "escalate", "L3.escalate", 4, s4),
        (D(2027, 1, 12), "chase", _c(4, -2, s4), None, None),
        (D(2027, 1, 14), "chase", _c(4, 0, s4), None, None),
        (D(2027, 1, 14), "budget_warning", "budget.20", None, None),
        (D(2027, 1, 15), "referral_due", "L5.referral", 5, None),
    ]


# ------------------------------------------------------------------------------------------ properties

CALENDARS = (ENG, ENG_CLOSED, WorkingCalendar("england", closures=[D(2027, 2, 15), D(2027, 4, 6)]))
DAY0 = D(2026, 10, 1)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    policy = draw(st.sampled_from(sorted(PRESETS.values(), key=lambda p: p.key)))
    if draw(st.booleans()):
        offsets = tuple(sorted(draw(st.sets(st.integers(-5, 4), min_size=1, max_size=4))))
        start = draw(st.sampled_from((time(8), time(9), time(9, 30))))
        end = draw(st.sampled_from((time(16), time(17), time(17, 30))))
        policy = replace(policy, chasers=ChaserSchedule(offsets=offsets, grace_working_days=draw(st.integers(0, 3)),
                                                        hours=(start, end)))
    return policy


def instants(lo: int = 0, hi: int = 300) -> st.SearchStrategy[datetime]:
    return st.builds(lambda d, m: datetime(DAY0.year, DAY0.month, DAY0.day, tzinfo=UTC) + timedelta(days=d,
                                                                                                   minutes=m),
                     st.integers(lo, hi), st.integers(0, 24 * 60 - 1))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[RecordState, datetime, Policy, WorkingCalendar]:
    policy = draw(policies())
    cal = draw(st.sampled_from(CALENDARS))
    level = draw(st.sampled_from(policy.levels))
    opened = DAY0 + timedelta(days=draw(st.integers(0, 200)))
    started = opened + timedelta(days=draw(st.integers(0, 30)))
    if level.working_days is not None and draw(st.booleans()):
        due: date | None = cal.add_working_days(started, level.working_days)
    else:
        due = draw(st.none() | st.builds(lambda n: started + timedelta(days=n), st.integers(0, 25)))
    # Mostly London office hours (where the decisions are), sometimes any minute of the day.
    if due is not None and draw(st.booleans()):  # around the due date: chasers, grace and escalation
        day = due + timedelta(days=draw(st.integers(-6, 6)))
    else:
        day = started + timedelta(days=draw(st.integers(0, 40)))
    minute = draw(st.integers(9 * 60, 17 * 60 - 1) | st.integers(7 * 60, 18 * 60) | st.integers(0, 24 * 60 - 1))
    now = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=LONDON).astimezone(UTC)
    quiet = draw(st.integers(0, 3)) > 0  # mostly no response yet: chasers and escalation
    responded = None if quiet else draw(instants(0, 260))
    iro = draw(st.none() | instants(0, 260))
    ext = None if draw(st.integers(0, 3)) else draw(st.builds(
        ExtensionRequest, key=st.sampled_from(("<a@x>", "<b@x>")), asked_at=instants(0, 260),
        requested_until=st.none() | st.dates(D(2026, 10, 1), D(2027, 8, 1)),
        requested_working_days=st.none() | st.integers(1, 10)))
    offsets = policy.chasers.offsets
    pool = [f"L{level.number}.escalate", f"L{level.number}.ask_iro", "L5.referral", "budget.15", "budget.20",
            *(chase_key(level.number, o, due) for o in offsets if due is not None)]
    done = draw(st.frozensets(st.sampled_from(pool), max_size=2))
    stage = StageState(level=level.number, started_on=started, due_on=due, responded_at=responded,
                       addressee=draw(st.none() | st.just(TM)))
    record = RecordState(reference="ESC-0001", status=draw(st.sampled_from(("open",) * 9 + ("closed",))),
                         opened_on=opened, stage=stage, last_iro_message_at=iro, extension_request=ext,
                         done=done)
    return record, now, policy, cal


PROPS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(scenarios())
def test_prop_feeding_back_the_keys_makes_decide_idle(sc: tuple[RecordState, datetime, Policy,
                                                                WorkingCalendar]) -> None:
    record, now, policy, cal = sc
    actions = decide(record, now, policy, cal)
    assert decide(record, now, policy, cal) == actions  # deterministic
    keys = [a.key for a in actions]
    assert len(set(keys)) == len(keys)
    assert not set(keys) & record.done
    for a in actions:
        assert a.covers[0] == a.key and not set(a.covers) & record.done
    assert decide(replace(record, done=record.done | set(keys)), now, policy, cal) == []


@PROPS
@given(scenarios())
def test_prop_actions_only_in_the_working_window(sc: tuple[RecordState, datetime, Policy,
                                                          WorkingCalendar]) -> None:
    record, now, policy, cal = sc
    actions = decide(record, now, policy, cal)
    local = london(now)
    if actions:
        assert cal.is_working_day(local.date())
        assert policy.chasers.hours[0] <= local.time() < policy.chasers.hours[1]
    if not in_working_window(now, policy, cal) or record.status == "closed":
        assert actions == []


@PROPS
@given(scenarios())
def test_prop_escalation_never_early_and_chasers_never_late(sc: tuple[RecordState, datetime, Policy,
                                                                     WorkingCalendar]) -> None:
    record, now, policy, cal = sc
    today = london(now).date()
    stage = record.stage
    for a in decide(record, now, policy, cal):
        if a.kind == ActionKind.ESCALATE or (a.kind == ActionKind.REFERRAL_DUE and a.to_level is not None):
            assert stage.due_on is not None and stage.responded_at is None
            assert today > stage.due_on
            assert today > cal.add_working_days(stage.due_on, policy.chasers.grace_working_days)
            nxt = policy.next_level(stage.level)
            assert nxt is not None and a.to_level == nxt.number
            if a.due_on is not None:
                assert a.due_on > today and cal.is_working_day(a.due_on)
        if a.kind == ActionKind.CHASE:
            assert stage.due_on is not None and stage.responded_at is None and a.offset is not None
            assert policy.level(stage.level).timed
            grace = policy.chasers.grace_working_days
            assert today <= cal.add_working_days(stage.due_on, grace)
            if grace == 0:
                assert today <= cal.next_working_day(stage.due_on)  # never after the due date
            day = cal.add_working_days(stage.due_on, a.offset)
            assert cal.next_working_day(stage.started_on) < day <= today
            assert sum(1 for b in decide(record, now, policy, cal) if b.kind == ActionKind.CHASE) == 1


@PROPS
@given(scenarios())
def test_prop_at_most_one_budget_warning_and_it_is_reached(sc: tuple[RecordState, datetime, Policy,
                                                                    WorkingCalendar]) -> None:
    record, now, policy, cal = sc
    warnings = [a for a in decide(record, now, policy, cal) if a.kind == ActionKind.BUDGET_WARNING]
    assert len(warnings) <= 1
    for a in warnings:
        assert a.days is not None and a.elapsed is not None and a.elapsed >= a.days
        assert a.elapsed == cal.working_days_between(record.opened_on, london(now).date())
        assert all(n <= a.days for n in policy.budget_warnings if n <= a.elapsed)


@settings(max_examples=60, deadline=None)
@given(policy=policies(), cal=st.sampled_from(CALENDARS), opened_days=st.integers(0, 200),
       gaps=st.lists(st.integers(30, 10 * 24 * 60), min_size=5, max_size=120))
def test_prop_ticks_at_random_times_never_burst(policy: Policy, cal: WorkingCalendar, opened_days: int,
                                               gaps: list[int]) -> None:
    """Nobody ever answers; the bot ticks at random times (down for minutes or days). Each tick sends at most
    one chaser and one budget warning; every action is sent once; the ladder only climbs, one level at a time."""
    first = policy.first_formal_level()
    assert first.working_days is not None
    opened = DAY0 + timedelta(days=opened_days)
    r = rec(first.number, opened, cal.add_working_days(opened, first.working_days), opened=opened)
    now = at(opened, 0)
    sent: list[str] = []
    for gap in gaps:
        now += timedelta(minutes=gap)
        actions = decide(r, now, policy, cal)
        for kind in ActionKind:
            assert sum(1 for a in actions if a.kind == kind) <= 1
        for a in actions:
            sent.append(a.key)
            if a.to_level is not None:
                nxt = policy.next_level(r.stage.level)
                assert nxt is not None and a.to_level == nxt.number
                r = replace(r, stage=StageState(level=a.to_level, started_on=london(now).date(), due_on=a.due_on))
            r = replace(r, done=r.done | set(a.covers))
    assert len(sent) == len(set(sent))


def ladder_due_dates(policy: Policy, cal: WorkingCalendar, opened: date) -> dict[int, date | None]:
    """Nobody answers; the bot ticks at 10:00 on every working day from ``opened`` and carries out every action.
    Returns each level's due date as set when the record reached it (the first from the policy at the opening)."""
    first = policy.first_formal_level()
    assert first.working_days is not None
    r = rec(first.number, opened, cal.add_working_days(opened, first.working_days), opened=opened)
    dues: dict[int, date | None] = {first.number: r.stage.due_on}
    day = opened
    while r.stage.level != policy.levels[-1].number or "L5.referral" not in r.done:
        assert day < opened + timedelta(days=120), dues
        if cal.is_working_day(day):
            for a in decide(r, at(day, 10), policy, cal):
                if a.kind == ActionKind.ESCALATE:
                    assert a.to_level is not None
                    dues[a.to_level] = a.due_on
                    r = replace(r, stage=StageState(level=a.to_level, started_on=day, due_on=a.due_on))
                elif a.to_level is not None:  # the referral after the last timed level
                    r = replace(r, stage=StageState(level=a.to_level, started_on=day, due_on=None))
                r = replace(r, done=r.done | set(a.covers))
        day += timedelta(days=1)
    return dues


@pytest.mark.parametrize("policy", sorted(PRESETS.values(), key=lambda p: p.key), ids=lambda p: p.key)
@pytest.mark.parametrize("cal", CALENDARS, ids=["england", "closure-29-dec", "closures-feb-apr"])
@pytest.mark.parametrize("opened", [D(2026, 12, 14), D(2027, 2, 1), D(2027, 3, 15), D(2027, 4, 27)])
def test_on_time_ladder_keeps_the_policys_cumulative_working_days(
    policy: Policy, cal: WorkingCalendar, opened: date
) -> None:
    """Rule 4: with the bot ticking every working day, each level is due the policy's cumulative number of
    working days after the opening (Dorset 5/10/15/20, Hull 10/15/18/20, Birmingham 10/13/16/20, ...)."""
    dues = ladder_due_dates(policy, cal, opened)
    expected = {lvl.number: cal.add_working_days(opened, cum) for lvl, cum in policy.cumulative() if cum is not None}
    assert dues == expected


def test_on_time_ladder_birmingham_by_hand() -> None:
    # Birmingham opened Mon 8 Mar 2027: Stage 1 due 10 WD later, Mon 22 Mar; Stage 2 13 WD, Thu 25 Mar; Stage 3
    # 16 WD (Tue 30, Wed 31 after Easter), Thu 1 Apr; Stage 4 20 WD (Fri 2, Mon 5, Tue 6), Wed 7 Apr.
    assert ladder_due_dates(BIRMINGHAM, ENG, D(2027, 3, 8)) == {
        1: D(2027, 3, 22), 2: D(2027, 3, 25), 3: D(2027, 4, 1), 4: D(2027, 4, 7)}
