"""The running service: the store, the mail source and the ingest loop, built from a Config."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from rules.calendar import LONDON
from store.models import OutboxMail
from store.retention import PurgeReport, purge
from store.uow import Store

from .config import DAYS, Config
from .digest import queue_digest
from .errors import MailbotError
from .ingest import Ingestor, IngestResult
from .sending import Deliverer, DeliveryReport, open_sender
from .tick import Ticker, TickItem
from .transports.base import MailSource, TransportError
from .transports.outbound import MailSender

log = logging.getLogger(__name__)



def utc_now() -> datetime:
    return datetime.now(UTC)


def open_store(config: Config, *, upgrade: bool = True, clock: Callable[[], datetime] = utc_now) -> Store:
    """The configured store, its schema brought up to date (Alembic) unless ``upgrade`` is False."""
    store = Store(config.store.url, clock=clock)
    if upgrade:
        store.upgrade()
    return store


def open_source(config: Config) -> MailSource:
    """The configured mail source."""
    mb = config.mailbox
    if mb.transport == "maildir":
        from .transports.maildir import MaildirSource

        return MaildirSource(mb.maildir)
    if mb.transport == "imap" and mb.imap is not None:
        from .transports.imap import ImapSource

        imap = mb.imap
        if imap.auth == "xoauth2":
            if mb.graph is None:
                raise MailbotError('mailbox.imap.auth: "xoauth2" needs a [mailbox.graph] app registration')
            from .transports.msauth import TokenProvider

            tokens = TokenProvider(mb.graph)
            return ImapSource(imap.host, imap.port, imap.username, oauth2_token_provider=tokens.imap_smtp_token,
                              security=imap.security, folder=imap.folder, processed_folder=imap.processed_folder,
                              attention_folder=imap.attention_folder)
        password = imap.password()
        if password is None:
            raise MailbotError(
                f"mailbox.imap.password_env: the environment variable {imap.password_env or '(not named)'} "
                "is not set — export it with the mailbox password before starting"
            )
        return ImapSource(imap.host, imap.port, imap.username, password=password, security=imap.security,
                          folder=imap.folder, processed_folder=imap.processed_folder,
                          attention_folder=imap.attention_folder)
    if mb.transport == "graph" and mb.graph is not None:
        from .transports.graph import GraphSource, client_from_settings

        g = mb.graph
        return GraphSource(client_from_settings(g), folder=g.folder, processed_folder=g.processed_folder,
                           attention_folder=g.attention_folder)
    if mb.transport == "ews" and mb.ews is not None:
        from .transports.ews import EwsSource, open_account

        ews = mb.ews
        if ews.auth_type == "oauth":  # Hybrid Modern Authentication: a token for the [mailbox.graph] app
            if mb.graph is None:
                raise MailbotError('mailbox.ews.auth_type: "oauth" needs a [mailbox.graph] app registration')
            from .transports.msauth import TokenProvider

            account = open_account(ews, token_provider=TokenProvider(mb.graph))
        else:
            password = ews.password()
            if password is None:
                raise MailbotError(
                    f"mailbox.ews.password_env: the environment variable {ews.password_env or '(not named)'} "
                    "is not set — export it with the service account's password before starting"
                )
            account = open_account(ews, password)
        return EwsSource(account, ews.folder, ews.processed_folder, ews.attention_folder)
    raise MailbotError(f"mailbox.transport: {mb.transport!r} is not available in this version")


class _Interrupted(Exception):
    """Raised by the signal handler to end a wait for mail."""


class Service:
    """Owns the store and the source; ``poll_once`` and ``run_forever`` are what the CLI calls."""

    def __init__(self, config: Config, *, store: Store | None = None, source: MailSource | None = None,
                 sender: MailSender | None = None, clock: Callable[[], datetime] = utc_now) -> None:
        self.config = config
        self.store = store or open_store(config, clock=clock)
        self._source = source
        self.clock = clock
        self.ingestor = Ingestor(self.store, config, clock)
        self.ticker = Ticker(self.store, config)
        self._deliverer: Deliverer | None = None
        self._sender = sender
        self._stop = threading.Event()
        self._waiting = False
        self._scheduler: BackgroundScheduler | None = None

    @property
    def deliverer(self) -> Deliverer:
        if self._deliverer is None:
            self._deliverer = Deliverer(self.store, self._sender or open_sender(self.config), clock=self.clock,
                                        allows=self.config.allows_address,
                                        max_attempts=self.config.mail_out.max_attempts)
        return self._deliverer

    # -- the jobs ---------------------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None, *, dry_run: bool = False) -> list[TickItem]:
        """Carry out whatever is due at ``now`` (default: the clock), then send what that queued."""
        items = self.ticker.tick(now or self.clock(), dry_run=dry_run)
        if not dry_run:
            self.send_pending()
        return items

    def send_pending(self) -> DeliveryReport:
        return self.deliverer.deliver_pending()

    def digest(self, now: datetime | None = None, period: str = "week") -> OutboxMail | None:
        """Queue (once per period) and send the digest for the period before ``now``."""
        now = now or self.clock()
        with self.store.unit_of_work() as uow:
            row = queue_digest(uow, self.config, period, now)
            uow.commit()
        self.send_pending()
        return row

    def purge(self, now: datetime | None = None, *, dry_run: bool = False) -> PurgeReport:
        """Forget closed escalations older than ``store.retention_days`` and unmatched mail older than
        ``store.unmatched_retention_days`` (children's data is kept no longer than it is needed)."""
        now = now or self.clock()
        with self.store.unit_of_work() as uow:
            report = purge(uow, now - timedelta(days=self.config.store.retention_days),
                           now - timedelta(days=self.config.store.unmatched_retention_days))
            if dry_run:
                uow.rollback()
            else:
                uow.commit()
        return report

    def last_digest_moment(self, now: datetime) -> datetime:
        """The latest scheduled weekly digest moment at or before ``now`` (London wall time)."""
        local = now.astimezone(LONDON)
        weekday = DAYS.index(self.config.service.digest_day)
        moment = datetime.combine(local.date(), self.config.service.digest_time, tzinfo=LONDON)
        moment -= timedelta(days=(local.weekday() - weekday) % 7)
        if moment > local:
            moment -= timedelta(days=7)
        return moment

    def catch_up(self) -> None:
        """After downtime: the digest that should have gone at the last scheduled moment goes now (once: it is
        keyed by its period), and one tick carries out whatever fell due meanwhile (not a burst: decide sends
        only the latest chaser of a kind)."""
        self._guarded("digest catch-up", lambda: self.digest(self.last_digest_moment(self.clock())))
        self._guarded("tick", self.tick)

    def _guarded(self, what: str, job: Callable[[], object]) -> None:
        try:
            job()
        except Exception as exc:  # a job that fails is retried at its next run; the service goes on
            log.exception("%s failed: %s", what, type(exc).__name__)

    def start_scheduler(self) -> BackgroundScheduler:
        """The tick, the digest and retries of failed sends, under APScheduler (coalescing, one at a time)."""
        svc = self.config.service
        scheduler = BackgroundScheduler(
            timezone=LONDON,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 15 * 60},
        )
        scheduler.add_job(self._guarded, IntervalTrigger(minutes=svc.tick_minutes), args=("tick", self.tick),
                          id="tick", name="tick")
        scheduler.add_job(self._guarded, IntervalTrigger(minutes=1), args=("send", self.send_pending),
                          id="send", name="send pending mail")
        scheduler.add_job(self._guarded, CronTrigger(day_of_week=svc.digest_day, hour=svc.digest_time.hour,
                                                     minute=svc.digest_time.minute, timezone=LONDON),
                          args=("digest", self.digest), id="digest", name="weekly digest",
                          misfire_grace_time=6 * 3600)
        scheduler.add_job(self._guarded, CronTrigger(hour=2, minute=30, timezone=LONDON), args=("purge", self.purge),
                          id="purge", name="retention purge", misfire_grace_time=12 * 3600)
        scheduler.start()
        self._scheduler = scheduler
        return scheduler

    @property
    def source(self) -> MailSource:
        if self._source is None:
            self._source = open_source(self.config)
        return self._source

    def poll_once(self) -> list[IngestResult]:
        results = self.ingestor.poll(self.source)
        if results:
            counts: dict[str, int] = {}
            for r in results:
                counts[r.outcome] = counts.get(r.outcome, 0) + 1
            log.info("poll done %s", " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        return results

    def stop(self, *_: object) -> None:
        self._stop.set()

    def run_forever(self, *, install_signals: bool = True) -> None:
        """Poll, then wait for new mail (IDLE or polling), until SIGTERM/SIGINT or :meth:`stop`.

        A signal that arrives while the loop waits for mail ends the wait at once; one that arrives while a
        mail is being recorded lets that mail finish first (its transaction is never cut in half).
        """
        if install_signals:
            def handler(signum: int, frame: FrameType | None) -> None:
                log.info("signal %s: stopping", signum)
                self.stop()
                if self._waiting:
                    raise _Interrupted

            signal.signal(signal.SIGTERM, handler)
            signal.signal(signal.SIGINT, handler)
        backoff = 1.0
        log.info("service started transport=%s tick_minutes=%d", self.config.mailbox.transport,
                 self.config.service.tick_minutes)
        self.catch_up()
        self.start_scheduler()
        try:
            while not self._stop.is_set():
                try:
                    if self.poll_once():
                        self._guarded("send", self.send_pending)  # acknowledgements, escalations by command
                    backoff = 1.0
                    self._wait_for_mail(self.config.mailbox.poll_seconds)
                except TransportError as exc:
                    log.warning("mailbox unavailable, retrying in %.0fs: %s", backoff, exc)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 60.0)
        except _Interrupted:
            pass
        finally:
            self.close()
        log.info("service stopped")

    def _wait_for_mail(self, seconds: float) -> None:
        self._waiting = True
        try:
            if not self._stop.is_set():
                self.source.wait(seconds)
        finally:
            self._waiting = False

    def close(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        if self._source is not None:
            self._source.close()
