"""When the policy's reports go: each cadence's next fire times (London wall time, first working days, bank holidays,
closures, summer time), the scheduler's jobs, and the catch-up after downtime — keyed by report and period, so a
report never goes twice."""

from __future__ import annotations

import mailbox
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailbot.app import App
from mailbot.clock.scheduler import ReportTrigger
from mailbot.config import Config, ServiceSettings
from rules.calendar import WorkingCalendar
from tests.botsetup import Clock, directory_table, example_config
from tests.mailfactory import BOT, Thread, outlook_escalation

LONDON = ZoneInfo("Europe/London")
ENGLAND = WorkingCalendar("england")
MONDAY_8 = ServiceSettings()  # digest_day "mon", digest_time 08:00


def london(y: int, m: int, d: int, h: int = 8, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=LONDON)


def fires(cadence: str, after: datetime, n: int = 3, *, settings: ServiceSettings = MONDAY_8,
          calendar: WorkingCalendar = ENGLAND) -> list[datetime]:
    """The next ``n`` fire times as APScheduler asks for them: first from ``now``, then from the previous one."""
    trigger = ReportTrigger(cadence, settings, calendar)
    out: list[datetime] = []
    previous = None
    for _ in range(n):
        previous = trigger.get_next_fire_time(previous, after)
        out.append(previous)
    return out


# ------------------------------------------------------------------------------------------------- triggers


def test_weekly_goes_with_the_digest() -> None:
    assert fires("weekly", london(2026, 12, 1)) == [london(2026, 12, 7), london(2026, 12, 14), london(2026, 12, 21)]
    # at the moment itself it fires (APScheduler asks with now = the moment)
    assert fires("weekly", london(2026, 12, 7), 1) == [london(2026, 12, 7)]
    # into summer time: 08:00 London stays 08:00 London (07:00 UTC)
    spring = fires("weekly", london(2026, 3, 25), 2)
    assert spring == [london(2026, 3, 30), london(2026, 4, 6)]
    assert spring[0].astimezone(UTC).hour == 7
    other = ServiceSettings(digest_day="wed", digest_time=time(7, 30))
    assert fires("weekly", london(2026, 12, 1), 1, settings=other) == [london(2026, 12, 2, 7, 30)]


def test_fortnightly_goes_on_the_monday_a_fortnight_begins() -> None:
    # fortnights begin 30 Nov, 14 Dec, 28 Dec 2026, 11 Jan 2027 (counted from Monday 1 January 2024)
    assert fires("fortnightly", london(2026, 12, 1)) == [london(2026, 12, 14), london(2026, 12, 28),
                                                         london(2027, 1, 11)]
    assert fires("fortnightly", london(2026, 11, 30, 7), 1) == [london(2026, 11, 30)]


@pytest.mark.parametrize(("cadence", "after", "expected"), [
    # New Year's Day 2027 is a Friday: the first working day of January is Monday 4 January
    ("monthly", london(2026, 12, 2), [london(2027, 1, 4), london(2027, 2, 1), london(2027, 3, 1)]),
    ("monthly", london(2026, 11, 2), [london(2026, 11, 2), london(2026, 12, 1), london(2027, 1, 4)]),  # 1 Nov: Sunday
    # August 2026 begins on a Saturday
    ("monthly", london(2026, 7, 2), [london(2026, 8, 3), london(2026, 9, 1), london(2026, 10, 1)]),
    ("bimonthly", london(2026, 12, 2), [london(2027, 1, 4), london(2027, 3, 1), london(2027, 5, 4)]),
    ("quarterly", london(2026, 12, 2), [london(2027, 1, 4), london(2027, 4, 1), london(2027, 7, 1)]),
    ("quarterly", london(2026, 6, 1), [london(2026, 7, 1), london(2026, 10, 1), london(2027, 1, 4)]),
    ("annual", london(2026, 12, 2), [london(2027, 4, 1), london(2028, 4, 3), london(2029, 4, 3)]),
])
def test_month_cadences_go_on_the_first_working_day(cadence: str, after: datetime, expected: list[datetime]) -> None:
    # 2027: 1 May is a Saturday, Monday 3 May the Early May bank holiday -> Tuesday 4 May.
    # 2028: 1 April is a Saturday -> Monday 3 April. 2029: Easter Monday is 2 April -> Tuesday 3 April.
    assert fires(cadence, after) == expected


def test_a_council_closure_day_moves_the_report() -> None:
    closed = WorkingCalendar("england", [date(2027, 2, 1)])
    assert fires("monthly", london(2027, 1, 5), 1, calendar=closed) == [london(2027, 2, 2)]


def test_the_last_moment_is_what_the_catch_up_sends() -> None:
    monthly = ReportTrigger("monthly", MONDAY_8, ENGLAND)
    assert monthly.last_at_or_before(london(2027, 1, 3)) == london(2026, 12, 1)
    assert monthly.last_at_or_before(london(2027, 1, 4, 8)) == london(2027, 1, 4)
    assert monthly.last_at_or_before(london(2027, 1, 4, 7, 59)) == london(2026, 12, 1)
    annual = ReportTrigger("annual", MONDAY_8, ENGLAND)
    assert annual.last_at_or_before(london(2027, 3, 31)) == london(2026, 4, 1)
    fortnightly = ReportTrigger("fortnightly", MONDAY_8, ENGLAND)
    assert fortnightly.last_at_or_before(london(2026, 12, 20)) == london(2026, 12, 14)
    with pytest.raises(ValueError, match="no schedule"):
        ReportTrigger("daily", MONDAY_8, ENGLAND)


def test_triggers_say_when_they_fire() -> None:
    assert str(ReportTrigger("quarterly", MONDAY_8, ENGLAND)) == (
        "report[quarterly: first working day of month(s) 1,4,7,10 at 08:00 Europe/London]")
    assert str(ReportTrigger("weekly", MONDAY_8, ENGLAND)) == "report[weekly on mon at 08:00 Europe/London]"


# ------------------------------------------------------------------------------------------------- the service

REPORTS = [{"cadence": "monthly", "audience": ["QA Manager"], "kind": "themes"},
           {"cadence": "weekly", "audience": ["QA Manager"], "kind": "tracker"},
           {"cadence": "quarterly", "audience": ["QA Manager"], "kind": "themes"},
           {"cadence": "annual", "audience": ["QA Manager"], "kind": "annual"}]
SUBJECT = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"


def make_config(tmp_path: Path) -> Config:
    return example_config(tmp_path, mailbox={"address": BOT, "maildir": "in"}, mail_out={"maildir": "sent"},
                          directory=directory_table(head=None), policy={"preset": "dorset", "reports": REPORTS})


def sent(tmp_path: Path) -> list[str]:
    folder = tmp_path / "sent"
    if not folder.exists():
        return []
    return sorted(str(m["X-IRO-Mailbot-Key"]) for m in mailbox.Maildir(folder, create=False))


def test_the_scheduler_runs_each_report_on_its_cadence(tmp_path: Path, clock: Clock) -> None:
    service = App(make_config(tmp_path), clock=clock)
    scheduler = service.scheduler.start()
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert {"digest", "report.monthly-themes", "report.weekly-tracker", "report.quarterly-themes",
                "report.annual"} <= set(jobs)
        monthly = jobs["report.monthly-themes"]
        assert isinstance(monthly.trigger, ReportTrigger) and monthly.trigger.cadence == "monthly"
        assert monthly.coalesce and monthly.max_instances == 1 and monthly.misfire_grace_time == 6 * 3600
        assert monthly.name == "monthly report monthly-themes"
        assert monthly.next_run_time.tzinfo is not None
        assert monthly.next_run_time.astimezone(LONDON).time() == time(8, 0)
    finally:
        service.close()


def test_catch_up_sends_each_missed_report_once(tmp_path: Path, clock: Clock) -> None:
    service = App(make_config(tmp_path), clock=clock)  # the clock starts on Tuesday 24 November 2026, 09:15
    service.ingestor.ingest(outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=clock.now))
    # down from before Tuesday 1 December 08:00 until Thursday 3 December: the digest and the reports were missed
    clock.now = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
    service.scheduler.catch_up()
    # the November report and the week's tracker; not the quarter's (Jul–Sep) nor the year's (2025–26): the bot
    # held nothing then
    reports = [k for k in sent(tmp_path) if k.startswith("report.")]
    assert reports == ["report.monthly-themes.2026-11-30", "report.weekly-tracker.2026-11-29"]
    service.scheduler.catch_up()
    clock.now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    service.scheduler.catch_up()
    # the scheduled job itself (a misfire within its grace, or a second replica) finds the same key: nothing new
    service.report("monthly-themes", datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    service.report("monthly", clock.now)
    keys = sent(tmp_path)
    assert keys.count("report.monthly-themes.2026-11-30") == 1
    assert keys.count("report.weekly-tracker.2026-11-29") == 1
    assert "digest.week.2026-11-29" in keys
    # a week later the next tracker goes, and the monthly report is still the one of November
    clock.now = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    service.report("weekly-tracker")
    service.report("monthly-themes")
    reports = [k for k in sent(tmp_path) if k.startswith("report.")]
    assert reports == ["report.monthly-themes.2026-11-30", "report.weekly-tracker.2026-11-29",
                       "report.weekly-tracker.2026-12-06"]
    with service.store.unit_of_work() as uow:
        row = uow.outbox.get("report.monthly-themes.2026-11-30")
        assert row is not None and row.status == "sent"
