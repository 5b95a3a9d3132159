"""When the jobs run: APScheduler 3.x in the background, and one catch-up after downtime.

The jobs themselves belong to the composition root (:class:`mailbot.app.App`): a tick (chase, escalate, notify,
then send), sending the outbox, the weekly digest, the nightly retention purge. Here they are only timed:

- tick every ``service.tick_minutes``; send every minute; the digest on ``service.digest_day`` at
  ``digest_time`` (cron, Europe/London); the purge at 02:30;
- coalescing, one instance of each job at a time, a misfire grace (a missed digest still goes within 6 hours);
- a job that fails is logged (its type only: no mail text) and runs again at its next time; the service goes on.

On start :meth:`Scheduler.catch_up` runs once: the digest of the last scheduled moment (keyed by its period, so
never twice) and one tick (not a burst: ``rules.decide`` sends only the latest chaser of a kind).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from mailbot.config import DAYS, ServiceSettings
from rules.calendar import LONDON

log = logging.getLogger(__name__)


class Jobs(Protocol):
    """What the scheduler runs (:class:`mailbot.app.App` provides them)."""

    def tick(self) -> object: ...

    def send_pending(self) -> object: ...

    def digest(self, now: datetime | None = None) -> object: ...

    def purge(self) -> object: ...


def guarded(what: str, job: Callable[[], object]) -> None:
    """Run ``job``; a failure is logged and swallowed (it is retried at its next run; the service goes on)."""
    try:
        job()
    except Exception as exc:
        log.exception("%s failed: %s", what, type(exc).__name__)


class Scheduler:
    def __init__(self, jobs: Jobs, settings: ServiceSettings, clock: Callable[[], datetime]) -> None:
        self.jobs = jobs
        self.settings = settings
        self.clock = clock
        self._scheduler: BackgroundScheduler | None = None

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
        """After downtime: the digest that should have gone at the last scheduled moment goes now (once: it is
        keyed by its period), and one tick carries out whatever fell due meanwhile."""
        guarded("digest catch-up", lambda: self.jobs.digest(self.last_digest_moment(self.clock())))
        guarded("tick", self.jobs.tick)

    def start(self) -> BackgroundScheduler:
        """The tick, the sending, the digest and the purge under APScheduler (coalescing, one at a time)."""
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
        scheduler.add_job(guarded, CronTrigger(hour=2, minute=30, timezone=LONDON), args=("purge", self.jobs.purge),
                          id="purge", name="retention purge", misfire_grace_time=12 * 3600)
        scheduler.start()
        self._scheduler = scheduler
        return scheduler

    def shutdown(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=True)


__all__ = ["Jobs", "Scheduler", "guarded"]
