"""The reports' periods (each cadence's, the financial year) and their outcomes, by hand against built snapshots."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rules.calendar import WorkingCalendar
from rules.digest import (
    CADENCE_PERIODS,
    FORTNIGHT_EPOCH,
    PERIODS,
    Period,
    RecordSnapshot,
    StageSnapshot,
    cadence_period,
    compute_breakdown,
    compute_digest,
    period_containing,
    period_ending,
)
from rules.policy import REPORTING_CADENCES
from rules.presets import PRESETS

LONDON = ZoneInfo("Europe/London")
POLICY = PRESETS["dorset"]
CAL = WorkingCalendar("england")


def at(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=LONDON)


# ------------------------------------------------------------------------------------------------- periods


def test_every_policy_cadence_has_a_period() -> None:
    assert set(CADENCE_PERIODS) == set(REPORTING_CADENCES)
    assert set(CADENCE_PERIODS.values()) <= set(PERIODS)
    assert cadence_period("annual") == "year"
    with pytest.raises(ValueError, match="cadence must be one of"):
        cadence_period("daily")


@pytest.mark.parametrize(("kind", "now", "start", "end", "label"), [
    ("week", at(2026, 12, 7, 8), date(2026, 11, 30), date(2026, 12, 7), "week to 6 Dec 2026"),
    ("fortnight", at(2026, 12, 14, 8), date(2026, 11, 30), date(2026, 12, 14), "fortnight to 13 Dec 2026"),
    # a week into the next fortnight: still the last complete one
    ("fortnight", at(2026, 12, 21, 8), date(2026, 11, 30), date(2026, 12, 14), "fortnight to 13 Dec 2026"),
    ("month", at(2026, 12, 1, 8), date(2026, 11, 1), date(2026, 12, 1), "November 2026"),
    ("month", at(2027, 1, 4, 8), date(2026, 12, 1), date(2027, 1, 1), "December 2026"),
    ("bimonth", at(2027, 1, 4, 8), date(2026, 11, 1), date(2027, 1, 1), "Nov–Dec 2026"),
    ("bimonth", at(2026, 12, 15), date(2026, 9, 1), date(2026, 11, 1), "Sep–Oct 2026"),
    ("quarter", at(2026, 10, 1, 8), date(2026, 7, 1), date(2026, 10, 1), "Jul–Sep 2026"),
    ("quarter", at(2027, 1, 4, 8), date(2026, 10, 1), date(2027, 1, 1), "Oct–Dec 2026"),
])
def test_the_last_complete_period_of_each_kind(kind: str, now: datetime, start: date, end: date, label: str) -> None:
    period = period_ending(kind, now)
    assert (period.kind, period.start, period.end, period.label) == (kind, start, end, label)


@pytest.mark.parametrize(("now", "start", "end"), [
    (at(2027, 4, 1, 8), date(2026, 4, 1), date(2027, 4, 1)),  # the first day of the next financial year
    (at(2027, 3, 31, 23), date(2025, 4, 1), date(2026, 4, 1)),  # the last evening of a financial year: not yet
    (datetime(2027, 3, 31, 23, 30, tzinfo=UTC), date(2026, 4, 1), date(2027, 4, 1)),  # 00:30 BST on 1 April
    (at(2027, 1, 15), date(2025, 4, 1), date(2026, 4, 1)),  # January belongs to the year that began in April
    (at(2026, 12, 15), date(2025, 4, 1), date(2026, 4, 1)),
])
def test_the_annual_report_covers_the_financial_year(now: datetime, start: date, end: date) -> None:
    year = period_ending("year", now)
    assert (year.start, year.end) == (start, end)
    assert year.start.month == 4 and year.start.day == 1 and year.last_day == date(end.year, 3, 31)
    assert year.label == f"{start.year}–{end.year % 100:02d}"
    assert year.long_label == f"the financial year {year.label}"
    assert year.cadence_word == "Annual"


def test_fortnights_are_the_same_whoever_asks() -> None:
    assert FORTNIGHT_EPOCH.weekday() == 0
    starts = {period_containing("fortnight", FORTNIGHT_EPOCH + timedelta(days=n)).start for n in range(0, 1200)}
    assert all(s.weekday() == 0 and (s - FORTNIGHT_EPOCH).days % 14 == 0 for s in starts)
    for day in (date(2026, 12, 28), date(2027, 1, 3), date(2027, 1, 10)):  # across a new year: no break
        period = period_containing("fortnight", day)
        assert period.start <= day < period.end and (period.end - period.start).days == 14
    assert period_containing("fortnight", date(2026, 12, 31)).start == date(2026, 12, 28)


def test_period_containing_a_day() -> None:
    assert period_containing("month", date(2026, 2, 28)) == Period("month", date(2026, 2, 1), date(2026, 3, 1))
    assert period_containing("quarter", date(2026, 12, 31)).start == date(2026, 10, 1)
    assert period_containing("bimonth", date(2026, 6, 30)) == Period("bimonth", date(2026, 5, 1), date(2026, 7, 1))
    assert period_containing("year", date(2026, 3, 31)) == Period("year", date(2025, 4, 1), date(2026, 4, 1))
    assert period_containing("year", date(2026, 4, 1)) == Period("year", date(2026, 4, 1), date(2027, 4, 1))
    with pytest.raises(ValueError, match="period must be one of"):
        period_containing("decade", date(2026, 1, 1))


def test_parts_of_a_quarter_and_of_a_year() -> None:
    quarter = period_ending("quarter", at(2027, 1, 4))
    assert [p.label for p in quarter.parts()] == ["October 2026", "November 2026", "December 2026"]
    year = period_ending("year", at(2027, 4, 1))
    assert [p.label for p in year.parts()] == ["Apr–Jun 2026", "Jul–Sep 2026", "Oct–Dec 2026", "Jan–Mar 2027"]
    assert [(p.start, p.end) for p in year.parts()][-1] == (date(2027, 1, 1), date(2027, 4, 1))
    assert period_ending("month", at(2027, 1, 4)).parts() == ()


# ------------------------------------------------------------------------------------------------- outcomes


def stage(level: int, started: datetime, due: date | None = None, *, responded: datetime | None = None,
          ended: datetime | None = None) -> StageSnapshot:
    return StageSnapshot(level=level, role=POLICY.level(level).role, started_at=started,
                         started_on=started.date(), due_on=due, responded_at=responded, ended_at=ended)


def record(ref: str, opened: datetime, *stages: StageSnapshot, closed: datetime | None = None,
           outcome: str | None = None, themes: tuple[str, ...] = ()) -> RecordSnapshot:
    return RecordSnapshot(reference=ref, status="closed" if closed else "open", opened_at=opened,
                          current_level=stages[-1].level, stages=stages, outcome=outcome, closed_at=closed,
                          children=(f"Child {ref[-1]}",), themes=themes)


RECORDS = (
    # resolved at Level 1 in November after 4 working days (2 -> 6 Nov)
    record("ESC-0001", at(2026, 11, 2), stage(1, at(2026, 11, 2), date(2026, 11, 9), responded=at(2026, 11, 4)),
           closed=at(2026, 11, 6), outcome="resolved", themes=("Care plan",)),
    # resolved at Level 2 in November after 10 working days (2 -> 16 Nov)
    record("ESC-0002", at(2026, 11, 2), stage(1, at(2026, 11, 2), date(2026, 11, 9)),
           stage(2, at(2026, 11, 10), date(2026, 11, 17)), closed=at(2026, 11, 16), outcome="resolved",
           themes=("Care plan", "Placement")),
    # withdrawn in November, opened in October
    record("ESC-0003", at(2026, 10, 20), stage(1, at(2026, 10, 20), date(2026, 10, 27)),
           closed=at(2026, 11, 3), outcome="withdrawn"),
    # referred to Cafcass in December
    record("ESC-0004", at(2026, 11, 5), stage(1, at(2026, 11, 5), date(2026, 11, 12)),
           stage(5, at(2026, 12, 2)), closed=at(2026, 12, 2), outcome="cafcass", themes=("Placement",)),
    # opened in November, still open
    record("ESC-0005", at(2026, 11, 25), stage(1, at(2026, 11, 25), date(2026, 12, 2)), themes=("Education",)),
    # opened in January 2027
    record("ESC-0006", at(2027, 1, 12), stage(1, at(2027, 1, 12), date(2027, 1, 19))),
)


def test_outcomes_of_a_month() -> None:
    now = at(2026, 12, 10, 8)
    figures = compute_digest(RECORDS, (), period_ending("month", now), now, POLICY, CAL)
    o = figures.outcome_summary
    assert (o.opened, o.still_open, o.closed) == (4, 1, 3)  # ESC-0004 was still open on 30 Nov, not now
    assert o.resolved_by_level == (("Level 1", 1), ("Level 2", 1))
    assert (o.resolved, o.withdrawn, o.cafcass, o.other) == (2, 1, 0, 0)
    # working days from opening to closing: 4 (1), 10 (2), 10 (3: 20 Oct -> 3 Nov) -> median 10
    assert o.median_working_days_to_close == 10.0
    assert [(t.theme, t.count) for t in figures.themes] == [("Care plan", 2), ("Placement", 2), ("Education", 1)]


def test_outcomes_of_december_and_an_empty_period() -> None:
    now = at(2027, 1, 4, 8)
    o = compute_digest(RECORDS, (), period_ending("month", now), now, POLICY, CAL).outcome_summary
    assert (o.opened, o.closed, o.cafcass, o.resolved_by_level) == (0, 1, 1, ())
    empty = compute_digest(RECORDS, (), period_ending("week", at(2026, 10, 5)), at(2026, 10, 5), POLICY, CAL)
    assert empty.outcome_summary.median_working_days_to_close is None
    assert (empty.outcome_summary.opened, empty.outcome_summary.closed) == (0, 0)


def test_an_outcome_the_bot_does_not_know_is_counted_apart() -> None:
    odd = record("ESC-0009", at(2026, 11, 2), stage(1, at(2026, 11, 2)), closed=at(2026, 11, 4), outcome="merged")
    now = at(2026, 12, 1, 8)
    o = compute_digest((odd,), (), period_ending("month", now), now, POLICY, CAL).outcome_summary
    assert (o.closed, o.other, o.resolved) == (1, 1, 0)


def test_the_quarter_is_broken_down_by_month_and_the_year_by_quarter() -> None:
    now = at(2027, 1, 4, 8)
    quarter = compute_digest(RECORDS, (), period_ending("quarter", now), now, POLICY, CAL)
    rows = [(p.period.label, p.outcomes.opened, p.outcomes.closed, p.outcomes.resolved) for p in quarter.breakdown]
    assert rows == [("October 2026", 1, 0, 0), ("November 2026", 4, 3, 2), ("December 2026", 0, 1, 0)]
    november = quarter.breakdown[1]
    assert [(t.theme, t.count) for t in november.themes][:2] == [("Care plan", 2), ("Placement", 2)]
    assert quarter.outcome_summary.closed == 4
    # the year so far: only the quarters that have begun by now
    mid_year = compute_breakdown(RECORDS, period_containing("year", date(2026, 11, 1)), at(2027, 1, 20), POLICY, CAL)
    assert [(p.period.label, p.outcomes.opened) for p in mid_year] == [
        ("Apr–Jun 2026", 0), ("Jul–Sep 2026", 0), ("Oct–Dec 2026", 5), ("Jan–Mar 2027", 1)]
    early = compute_breakdown(RECORDS, period_containing("year", date(2026, 11, 1)), at(2026, 8, 1), POLICY, CAL)
    assert [p.period.label for p in early] == ["Apr–Jun 2026", "Jul–Sep 2026"]


def test_lines_carry_the_outcome_text_and_the_stages() -> None:
    closing = RecordSnapshot(**{**RECORDS[0].__dict__, "outcome_text": "Resolved – plan signed off", "iro": "Ida"})
    now = at(2026, 12, 1, 8)
    (line,) = compute_digest((closing,), (), period_ending("month", now), now, POLICY, CAL).rows
    assert (line.outcome_text, line.iro, [s.level for s in line.stages]) == ("Resolved – plan signed off", "Ida", [1])
    early = compute_digest((closing,), (), period_ending("week", at(2026, 11, 3)), at(2026, 11, 3), POLICY, CAL)
    assert early.rows[0].outcome_text is None  # not closed yet at that moment
