"""The digest's figures, checked by hand against a built set of snapshots (Dorset policy, England).

Calendar facts used: Monday 31 August 2026 is the Summer bank holiday; the week of the digest sent on Monday
7 September 2026 is Monday 31 August to Sunday 6 September.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rules.calendar import WorkingCalendar
from rules.digest import (
    ATTENTION_LISTED,
    AttentionMail,
    Period,
    RecordSnapshot,
    StageSnapshot,
    compute_digest,
    period_ending,
)
from rules.presets import PRESETS

LONDON = ZoneInfo("Europe/London")
POLICY = PRESETS["dorset"]
CAL = WorkingCalendar("england")
NOW = datetime(2026, 9, 7, 8, 0, tzinfo=LONDON)  # Monday 08:00 BST, the weekly digest


def at(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=LONDON)


def stage(level: int, started: datetime, due: date | None, *, responded: datetime | None = None,
          ended: datetime | None = None, outcome: str | None = None, who: str = "Tom Manager") -> StageSnapshot:
    role = POLICY.level(level).role
    return StageSnapshot(level=level, role=role, started_at=started, started_on=started.astimezone(LONDON).date(),
                         due_on=due, responded_at=responded, ended_at=ended, outcome=outcome,
                         addressee_email=f"{who.lower().replace(' ', '.')}@council.gov.uk", addressee_name=who)


def record(ref: str, opened: datetime, *stages: StageSnapshot, closed: datetime | None = None,
           outcome: str | None = None, themes: tuple[str, ...] = (), child: str = "Child") -> RecordSnapshot:
    return RecordSnapshot(
        reference=ref, status="closed" if closed else "open", opened_at=opened, current_level=stages[-1].level,
        stages=stages, outcome=outcome, closed_at=closed, children=(f"{child} {ref[-1]}",),
        case_numbers=(f"MOS{ref[-4:]}",), themes=themes,
    )


PLACEMENT, EDUCATION = "Placement concerns", "Education"

RECORDS = (
    # A: level 1 due Friday 28 Aug, nothing since: overdue across the bank holiday
    record("ESC-0001", at(2026, 8, 24), stage(1, at(2026, 8, 24), date(2026, 8, 28))),
    # B: opened in the period, due Tuesday 8 Sep: due soon
    record("ESC-0002", at(2026, 9, 1, 9), stage(1, at(2026, 9, 1, 9), date(2026, 9, 8)),
           themes=(PLACEMENT, EDUCATION)),
    # C: escalated to level 2, which responded in the period; open 24 working days (over 20)
    record("ESC-0003", at(2026, 8, 3),
           stage(1, at(2026, 8, 3), date(2026, 8, 10), responded=at(2026, 8, 7), ended=at(2026, 8, 11),
                 outcome="escalated"),
           stage(2, at(2026, 8, 11), date(2026, 8, 18), responded=at(2026, 9, 2, 14), who="Sara Service")),
    # D: resolved in the period after 12 working days
    record("ESC-0004", at(2026, 8, 17),
           stage(1, at(2026, 8, 17), date(2026, 8, 24), responded=at(2026, 8, 19, 11), ended=at(2026, 9, 3, 15),
                 outcome="resolved"),
           closed=at(2026, 9, 3, 15), outcome="resolved", themes=(PLACEMENT,)),
    # E: referred to Cafcass in the period, long after 20 working days
    record("ESC-0005", at(2026, 7, 1),
           stage(1, at(2026, 7, 1), date(2026, 7, 8), responded=at(2026, 7, 2), ended=at(2026, 8, 20),
                 outcome="escalated"),
           stage(5, at(2026, 8, 20), None, ended=at(2026, 9, 4), outcome="cafcass"),
           closed=at(2026, 9, 4), outcome="cafcass"),
    # F: opened Friday in the period, its manager answers after the digest is made (ignored): due soon
    record("ESC-0006", at(2026, 9, 4, 16), stage(1, at(2026, 9, 4, 16), date(2026, 9, 11),
                                                 responded=at(2026, 9, 7, 10))),
    # G: opened after now: not in the digest at all
    record("ESC-0007", at(2026, 9, 8), stage(1, at(2026, 9, 8), date(2026, 9, 15))),
    # H: opened 00:30 London on the bank holiday (23:30 UTC on Sunday): in the period; due today: due soon
    record("ESC-0008", datetime(2026, 8, 30, 23, 30, tzinfo=UTC),
           stage(1, datetime(2026, 8, 30, 23, 30, tzinfo=UTC), date(2026, 9, 7)), themes=(EDUCATION,)),
    # I: opened 00:30 London on Monday 7 Sep (before now, after the period): informal, no due date
    record("ESC-0009", datetime(2026, 9, 6, 23, 30, tzinfo=UTC), stage(0, datetime(2026, 9, 6, 23, 30, tzinfo=UTC),
                                                                       None)),
    # J: responded in the period after 5 working days, still open
    record("ESC-0010", at(2026, 8, 26), stage(1, at(2026, 8, 26), date(2026, 9, 2), responded=at(2026, 9, 3))),
)

ATTENTION = tuple(
    AttentionMail(received_at=at(2026, 9, 1 + i, 9), from_email=f"p{i}@council.gov.uk", from_name=None,
                  subject=f"About child {i}")
    for i in range(7)  # the 7th arrives on 7 Sep 09:00, after now
)


@pytest.fixture(scope="module")
def figures():
    return compute_digest(RECORDS, ATTENTION, period_ending("week", NOW), NOW, POLICY, CAL)


def refs(lines) -> list[str]:
    return [ln.reference for ln in lines]


# ------------------------------------------------------------------------------------------------- periods


@pytest.mark.parametrize(("now", "start", "end"), [
    (NOW, date(2026, 8, 31), date(2026, 9, 7)),
    (at(2026, 9, 9, 15), date(2026, 8, 31), date(2026, 9, 7)),  # Wednesday: the last complete week
    (datetime(2026, 9, 6, 23, 30, tzinfo=UTC), date(2026, 8, 31), date(2026, 9, 7)),  # Mon 00:30 London
    (datetime(2026, 9, 6, 22, 59, tzinfo=UTC), date(2026, 8, 24), date(2026, 8, 31)),  # Sun 23:59 London
])
def test_week_is_the_last_complete_monday_to_sunday(now: datetime, start: date, end: date) -> None:
    period = period_ending("week", now)
    assert (period.start, period.end, period.last_day) == (start, end, end - timedelta(days=1))


def test_month_and_quarter_are_the_last_complete_ones() -> None:
    month = period_ending("month", at(2027, 1, 15))
    assert (month.start, month.end, month.label) == (date(2026, 12, 1), date(2027, 1, 1), "December 2026")
    assert period_ending("month", at(2026, 3, 1, 0, 5)).start == date(2026, 2, 1)
    quarter = period_ending("quarter", at(2027, 1, 2))
    assert (quarter.start, quarter.end, quarter.label) == (date(2026, 10, 1), date(2027, 1, 1), "Oct–Dec 2026")
    quarter = period_ending("quarter", at(2026, 6, 30))
    assert (quarter.start, quarter.end) == (date(2026, 1, 1), date(2026, 4, 1))
    assert period_ending("week", NOW).label == "week to 6 Sep 2026"


def test_period_contains_by_london_day() -> None:
    period = Period("week", date(2026, 8, 31), date(2026, 9, 7))
    assert period.contains(datetime(2026, 8, 30, 23, 30, tzinfo=UTC))  # Monday 00:30 BST
    assert not period.contains(datetime(2026, 8, 30, 22, 59, tzinfo=UTC))  # Sunday 23:59 BST
    assert not period.contains(datetime(2026, 9, 6, 23, 0, tzinfo=UTC))  # Monday 7 Sep 00:00 BST
    assert not period.contains(None)
    with pytest.raises(ValueError, match="period must be one of"):
        period_ending("decade", NOW)
    with pytest.raises(ValueError, match="naive"):
        period_ending("week", datetime(2026, 9, 7, 8))


# ------------------------------------------------------------------------------------------------- as at now


def test_open_by_level(figures) -> None:
    assert figures.open_count == 7
    by_level = {g.number: refs(g.lines) for g in figures.open_by_level}
    assert by_level == {
        0: ["ESC-0009"],
        1: ["ESC-0001", "ESC-0010", "ESC-0008", "ESC-0002", "ESC-0006"],  # by due date
        2: ["ESC-0003"],
    }
    (level2,) = [g for g in figures.open_by_level if g.number == 2]
    assert (level2.label, level2.role, level2.lines[0].addressee) == ("Level 2", "Service Manager", "Sara Service")


def test_overdue_across_the_bank_holiday(figures) -> None:
    (a,) = figures.overdue
    # due Fri 28 Aug; Mon 31 Aug is a bank holiday; 1, 2, 3, 4 and 7 Sep are working days
    assert (a.reference, a.overdue_working_days, a.addressee, a.role) == ("ESC-0001", 5, "Tom Manager",
                                                                          "Team Manager")
    assert a.working_days_open == 9


@pytest.mark.parametrize(("now", "overdue"), [
    (at(2026, 8, 28, 16), None),  # the due day itself
    (at(2026, 8, 29, 12), None),  # Saturday
    (at(2026, 8, 31, 12), None),  # bank-holiday Monday: no working day has ended since
    (at(2026, 9, 1, 9), 1),  # Tuesday
    (at(2026, 9, 2, 9), 2),
])
def test_days_overdue_count_working_days_only(now: datetime, overdue: int | None) -> None:
    period = period_ending("week", now)
    result = compute_digest(RECORDS[:1], (), period, now, POLICY, CAL)
    (line,) = result.rows
    assert line.overdue_working_days == overdue
    assert refs(result.overdue) == (["ESC-0001"] if overdue else [])


def test_due_soon_includes_today_and_ignores_a_response_after_now(figures) -> None:
    assert refs(figures.due_soon) == ["ESC-0008", "ESC-0002", "ESC-0006"]
    assert [ln.due_on for ln in figures.due_soon] == [date(2026, 9, 7), date(2026, 9, 8), date(2026, 9, 11)]
    f = next(ln for ln in figures.rows if ln.reference == "ESC-0006")
    assert (f.state, f.responded_on) == ("due soon", None)


def test_states_of_the_others(figures) -> None:
    states = {ln.reference: ln.state for ln in figures.rows}
    assert states == {
        "ESC-0001": "overdue", "ESC-0002": "due soon", "ESC-0003": "responded", "ESC-0004": "closed",
        "ESC-0005": "closed", "ESC-0006": "due soon", "ESC-0008": "due soon", "ESC-0009": "informal",
        "ESC-0010": "responded",
    }


def test_open_longer_than_the_total(figures) -> None:
    (c,) = figures.over_total
    # 3 Aug to 7 Sep: 4 + 5 + 5 + 5 + 4 (the bank holiday left out) + 1
    assert (c.reference, c.working_days_open) == ("ESC-0003", 24)


def test_a_record_opened_after_now_is_left_out(figures) -> None:
    assert "ESC-0007" not in refs(figures.rows)


# ------------------------------------------------------------------------------------------------- the period


def test_opened_and_closed_in_the_period(figures) -> None:
    assert sorted(refs(figures.opened)) == ["ESC-0002", "ESC-0006", "ESC-0008"]
    assert refs(figures.closed) == ["ESC-0004", "ESC-0005"]
    assert figures.outcomes == (("cafcass", 1), ("resolved", 1))
    d, e = figures.closed
    assert (d.closed_on, d.outcome, d.working_days_open, d.level_label) == (date(2026, 9, 3), "resolved", 12,
                                                                            "Level 1")
    assert (e.outcome, e.level, e.status) == ("cafcass", 5, "closed")


def test_share_closed_within_twenty_working_days(figures) -> None:
    assert (figures.closed_within_total, len(figures.closed)) == (1, 2)
    assert figures.closed_share_within_total == 0.5
    empty = compute_digest((), (), period_ending("week", NOW), NOW, POLICY, CAL)
    assert empty.closed_share_within_total is None
    assert (empty.open_count, empty.rows, empty.themes, empty.unthemed) == (0, (), (), 0)


def test_median_working_days_to_respond(figures) -> None:
    times = {rt.level: rt for rt in figures.response_times}
    assert set(times) == {1, 2}
    # level 1 all time: E 1 (1->2 Jul), D 2 (17->19 Aug), C 4 (3->7 Aug), J 5 (26 Aug->3 Sep over the holiday)
    assert (times[1].all_time_median, times[1].all_time_count) == (3.0, 4)
    assert (times[1].period_median, times[1].period_count) == (5.0, 1)  # only J answered in the period
    # level 2: C from 11 Aug to 2 Sep = 3 + 5 + 5 + 2 working days
    assert (times[2].period_median, times[2].all_time_median, times[2].label) == (15.0, 15.0, "Level 2")


def test_themes_of_those_opened_in_the_period(figures) -> None:
    assert [(t.theme, t.count) for t in figures.themes] == [(EDUCATION, 2), (PLACEMENT, 1)]
    assert figures.unthemed == 1  # ESC-0006


def test_attention_mails(figures) -> None:
    assert figures.attention_count == 6
    assert len(figures.attention_oldest) == ATTENTION_LISTED
    assert [m.subject for m in figures.attention_oldest] == [f"About child {i}" for i in range(5)]


def test_rows_are_everything_in_the_digest_oldest_first(figures) -> None:
    assert refs(figures.rows) == ["ESC-0005", "ESC-0003", "ESC-0004", "ESC-0001", "ESC-0010", "ESC-0008",
                                  "ESC-0002", "ESC-0006", "ESC-0009"]


def test_a_past_now_sees_the_records_as_they_were() -> None:
    now = at(2026, 9, 3, 12)  # before D closed (15:00) and before E was referred
    result = compute_digest(RECORDS, (), period_ending("week", now), now, POLICY, CAL)
    d = next(ln for ln in result.rows if ln.reference == "ESC-0004")
    assert (d.status, d.state, d.closed_on) == ("open", "responded", None)
    c = next(ln for ln in result.rows if ln.reference == "ESC-0003")
    assert (c.level, c.state) == (2, "responded")
    assert "ESC-0006" not in refs(result.rows)


def test_a_level_the_policy_does_not_know_is_still_reported() -> None:
    odd = record("ESC-0042", at(2026, 9, 1), stage(1, at(2026, 9, 1), date(2026, 9, 8)))
    odd = RecordSnapshot(**{**odd.__dict__, "stages": (StageSnapshot(
        level=7, role="Chief Executive", started_at=at(2026, 9, 1), started_on=date(2026, 9, 1),
        due_on=date(2026, 9, 8)),)})
    result = compute_digest((odd,), (), period_ending("week", NOW), NOW, POLICY, CAL)
    (group,) = result.open_by_level
    assert (group.number, group.label, group.role) == (7, "Level 7", "Chief Executive")
