"""When the jobs run: APScheduler 3.x in the background, and one catch-up after downtime.

The jobs themselves belong to the composition root (:class:`mailbot.app.App`): a tick (chase, escalate, notify,
then send), sending the outbox, the weekly digest, the policy's reports, the nightly retention purge. Here they are
only timed:

- tick every ``service.tick_minutes``; send every minute; the digest on ``service.digest_day`` at
  ``digest_time`` (cron, Europe/London); the purge at 02:30;
- each report of the policy (``policy.reports``) on its cadence, at ``service.digest_time`` London time
  (:class:`ReportTrigger`): weekly on ``digest_day`` like the digest; fortnightly on ``digest_day`` of the week a
  fortnight begins (``rules.digest.FORTNIGHT_EPOCH``); monthly on the first *working* day of each month
  (weekends, bank holidays and closure days skipped: Monday 4 January 2027, New Year's Day being a Friday);
  bimonthly on the first working day of January, March, May, July, September and November; quarterly on the first
  working day of January, April, July and October; annual on the first working day of April (the financial year
  just ended);
- coalescing, one instance of each job at a time, a misfire grace (a missed digest or report still goes within 6
  hours);
- a job that fails is logged (its type only: no mail text) and runs again at its next time; the service goes on.

On start :meth:`Scheduler.catch_up` runs once: the digest of the last scheduled moment (keyed by its period, so
never twice), each report of its last scheduled moment (keyed by report and period, so never twice; not when the
store held nothing before that period ended), and one tick (not a burst: ``rules.decide`` sends only the latest
chaser of a kind).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from mailbot.config import DAYS, ServiceSettings
from rules.calendar import LONDON, WorkingCalendar
from rules.digest import period_containing
from rules.procedure import Report

log = logging.getLogger(__name__)


class Jobs(Protocol):
    """What the scheduler runs (:class:`mailbot.app.App` provides them)."""

    def tick(self) -> object: ...

    def send_pending(self) -> object: ...

    def digest(self, now: datetime | None = None) -> object: ...

    def report(self, name: str, now: datetime | None = None, *, catching_up: bool = False) -> object: ...

    def purge(self) -> object: ...


def guarded(what: str, job: Callable[[], object]) -> None:
    """Run ``job``; a failure is logged and swallowed (it is retried at its next run; the service goes on)."""
    try:
        job()
    except Exception as exc:
        log.exception("%s failed: %s", what, type(exc).__name__)


#: The months whose first working day a month-based cadence runs on.
REPORT_MONTHS = {"monthly": tuple(range(1, 13)), "bimonthly": (1, 3, 5, 7, 9, 11), "quarterly": (1, 4, 7, 10),
                 "annual": (4,)}
#: How far a report's moments are looked for around a moment (a year and a bit: the annual report's).
_REACH = 400


class ReportTrigger(BaseTrigger):
    """The moments a report of one cadence goes (see the module docstring), at ``digest_time`` London wall time.

    Weekly and fortnightly run on ``digest_day``; the others on the first working day of their months, so
    ``calendar`` (the council's: bank holidays of its nation and its closure days) decides the day."""

    def __init__(self, cadence: str, settings: ServiceSettings, calendar: WorkingCalendar) -> None:
        if cadence not in ("weekly", "fortnightly", *REPORT_MONTHS):
            raise ValueError(f"no schedule for the cadence {cadence!r}")
        self.cadence = cadence
        self.settings = settings
        self.calendar = calendar

    def __str__(self) -> str:
        at = f"{self.settings.digest_time:%H:%M} Europe/London"
        if self.cadence == "weekly":
            return f"report[weekly on {self.settings.digest_day} at {at}]"
        if self.cadence == "fortnightly":
            return f"report[fortnightly on {self.settings.digest_day} of the week a fortnight begins, at {at}]"
        months = ",".join(f"{m}" for m in REPORT_MONTHS[self.cadence])
        return f"report[{self.cadence}: first working day of month(s) {months} at {at}]"

    def __repr__(self) -> str:
        return f"<ReportTrigger {self}>"

    def _days(self, first: date, last: date) -> Iterator[date]:
        """The days the report runs on from ``first`` to ``last`` (both included), in order."""
        if self.cadence in ("weekly", "fortnightly"):
            weekday = DAYS.index(self.settings.digest_day)
            day = first + timedelta(days=(weekday - first.weekday()) % 7)
            while day <= last:
                monday = day - timedelta(days=day.weekday())
                if self.cadence == "weekly" or period_containing("fortnight", monday).start == monday:
                    yield day
                day += timedelta(days=7)
            return
        months = REPORT_MONTHS[self.cadence]
        year, month = first.year, first.month
        while date(year, month, 1) <= last:
            if month in months:
                day = self.calendar.next_working_day(date(year, month, 1))
                if first <= day <= last:
                    yield day
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def _moment(self, day: date) -> datetime:
        return datetime.combine(day, self.settings.digest_time, tzinfo=LONDON)

    def next_after(self, moment: datetime, *, inclusive: bool = False) -> datetime:
        """The first moment after ``moment`` (or at it, when ``inclusive``)."""
        start = moment.astimezone(LONDON).date()
        for day in self._days(start, start + timedelta(days=_REACH)):
            at = self._moment(day)
            if at > moment or (inclusive and at == moment):
                return at
        raise AssertionError(f"no {self.cadence} moment within {_REACH} days of {moment}")  # pragma: no cover

    def last_at_or_before(self, moment: datetime) -> datetime:
        """The latest moment at or before ``moment`` (what the catch-up sends)."""
        end = moment.astimezone(LONDON).date()
        past = [self._moment(d) for d in self._days(end - timedelta(days=_REACH), end)]
        return max(at for at in past if at <= moment)

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        if previous_fire_time is not None:
            return self.next_after(previous_fire_time)
        return self.next_after(now, inclusive=True)


class Scheduler:
    def __init__(self, jobs: Jobs, settings: ServiceSettings, clock: Callable[[], datetime], *,
                 reports: Sequence[tuple[str, Report]] = (), calendar: WorkingCalendar | None = None) -> None:
        self.jobs = jobs
        self.settings = settings
        self.clock = clock
        self.reports = tuple(reports)  # (name, report): rules' reports named by mailbot.mail_out.digest.report_names
        self.calendar = calendar or WorkingCalendar()
        self._scheduler: BackgroundScheduler | None = None

    def report_trigger(self, report: Report) -> ReportTrigger:
        """When ``report`` goes (see :class:`ReportTrigger`)."""
        return ReportTrigger(report.cadence, self.settings, self.calendar)

    def last_digest_moment(self, now: datetime) -> datetime:
        """The latest scheduled weekly digest moment at or before ``now`` (London wall time)."""
        local = now.astimezone(LONDON)
        weekday = DAYS.index(self.settings.digest_day)
        moment = datetime.combine(local.date(), self.settings.digest_time, tzinfo=LONDON)
        moment -= timedelta(days=(local.weekday() - weekday) % 7)
        if moment > local:
            moment -= timedelta(days=7)
        return moment

    def catch_up(self) -> None:
        """After downtime: the digest and each report that should have gone at its last scheduled moment go now
        (once: each is keyed by its period), and one tick carries out whatever fell due meanwhile."""
        now = self.clock()
        guarded("digest catch-up", lambda: self.jobs.digest(self.last_digest_moment(now)))
        for name, report in self.reports:
            moment = self.report_trigger(report).last_at_or_before(now)
            guarded(f"report {name} catch-up",
                    lambda name=name, moment=moment: self.jobs.report(name, moment, catching_up=True))
        guarded("tick", self.jobs.tick)

    def start(self) -> BackgroundScheduler:
        """The tick, the sending, the digest, the reports and the purge under APScheduler (coalescing, one at a
        time)."""
        svc = self.settings
        scheduler = BackgroundScheduler(
            timezone=LONDON,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 15 * 60},
        )
        scheduler.add_job(guarded, IntervalTrigger(minutes=svc.tick_minutes), args=("tick", self.jobs.tick),
                          id="tick", name="tick")
        scheduler.add_job(guarded, IntervalTrigger(minutes=1), args=("send", self.jobs.send_pending),
                          id="send", name="send pending mail")
        scheduler.add_job(guarded, CronTrigger(day_of_week=svc.digest_day, hour=svc.digest_time.hour,
                                               minute=svc.digest_time.minute, timezone=LONDON),
                          args=("digest", self.jobs.digest), id="digest", name="weekly digest",
                          misfire_grace_time=6 * 3600)
        for name, report in self.reports:
            scheduler.add_job(guarded, self.report_trigger(report),
                              args=(f"report {name}", lambda name=name: self.jobs.report(name)),
                              id=f"report.{name}", name=f"{report.cadence} report {name}",
                              misfire_grace_time=6 * 3600)
        scheduler.add_job(guarded, CronTrigger(hour=2, minute=30, timezone=LONDON), args=("purge", self.jobs.purge),
                          id="purge", name="retention purge", misfire_grace_time=12 * 3600)
        scheduler.start()
        self._scheduler = scheduler
        return scheduler

    def shutdown(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=True)


__all__ = ["REPORT_MONTHS", "Jobs", "ReportTrigger", "Scheduler", "guarded"]
