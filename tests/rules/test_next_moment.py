"""``next_moment``: when a record next needs the clock. The tick looks only at records whose moment has come, so the
moment must never be later than what :func:`rules.decide.decide` would do — checked against deciding at every step."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.calendar import LONDON, WorkingCalendar
from rules.decide import decide, next_moment
from rules.policy import Policy
from rules.presets import DORSET, HULL
from rules.records import RecordState, StageState
from tests.rules.test_decide import ENG, rec, scenarios

Scenario = tuple[RecordState, datetime, Policy, WorkingCalendar]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.lists(st.integers(0, 60 * 24 * 40), min_size=1, max_size=12))
def test_prop_nothing_is_due_before_the_moment_and_something_is_at_it(sc: Scenario, minutes: list[int]) -> None:
    record, now, policy, cal = sc
    moment = next_moment(record, now, policy, cal)
    if moment is not None:
        assert moment >= now.astimezone(UTC)
        assert decide(record, moment, policy, cal), "the moment has something to do"
    for m in minutes:  # any instant before the moment (or within 40 days when there is none) decides nothing
        t = now + timedelta(minutes=m)
        if moment is None or t < moment:
            assert decide(record, t, policy, cal) == [], (t, moment)


def test_prop_every_working_window_opening_up_to_the_moment_is_idle() -> None:
    # A whole ladder on Dorset's days: the moment is the chaser day's 09:00, then the due day's, then escalation.
    record = rec(1, date(2026, 12, 1), date(2026, 12, 8))
    now = datetime(2026, 12, 1, 10, 0, tzinfo=LONDON)
    moment = next_moment(record, now, DORSET, ENG)
    assert moment == datetime(2026, 12, 4, 9, 0, tzinfo=LONDON).astimezone(UTC)  # -2: Friday 4 December
    day = now
    while day < moment:
        assert decide(record, day, DORSET, ENG) == []
        day += timedelta(minutes=30)


def test_the_moment_is_now_when_something_is_due_now_and_the_next_opening_after_hours() -> None:
    record = rec(4, date(2027, 3, 24), date(2027, 3, 30))  # Hull's 2-day level: -1 on Thursday 25 March
    thursday_early = datetime(2027, 3, 25, 7, 30, tzinfo=LONDON)
    assert next_moment(record, thursday_early, HULL, ENG) == datetime(2027, 3, 25, 9, 0, tzinfo=LONDON).astimezone(UTC)
    thursday_noon = datetime(2027, 3, 25, 12, 0, tzinfo=LONDON)
    assert next_moment(record, thursday_noon, HULL, ENG) == thursday_noon.astimezone(UTC)


def test_a_closed_record_and_an_idle_informal_step_have_no_moment() -> None:
    closed = rec(1, date(2026, 12, 1), date(2026, 12, 8), status="closed")
    assert next_moment(closed, datetime(2026, 12, 2, 10, tzinfo=UTC), DORSET, ENG) is None
    informal = RecordState(reference="ESC-1", status="open", opened_on=date(2026, 12, 1),
                           stage=StageState(level=0, started_on=date(2026, 12, 1), due_on=None))
    assert next_moment(informal, datetime(2026, 12, 2, 10, tzinfo=UTC), DORSET, ENG) is None
