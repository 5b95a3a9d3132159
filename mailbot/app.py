"""The one composition root: :class:`App` is built from a :class:`~mailbot.config.Config` and a clock, and hands
every command and the service the same store, mail source, sender, deliverer and clock.

    app = App(config, clock=fixed_clock(moment))   # or clock=system_clock (the default)
    app.poll_once(); app.tick(); app.send_pending(); app.digest(); app.report("monthly"); app.purge()
    app.run_forever()                              # the service: the mail loop and the scheduler

Everything is built on first use, so ``mailbot parse-subject`` opens no database and ``mailbot list`` no
mailbox. The clock is a function returning an aware ``datetime``; ``mailbot --now`` gives every command a fixed
one, so "what would happen on Monday?" is asked of the whole program at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from rules.directory import Directory
from store import migrate
from store.errors import describe, is_transient
from store.models import OutboxMail
from store.retention import PurgeReport, purge
from store.uow import Store

from .clock.scheduler import Scheduler, guarded
from .clock.tick import Ticker, TickItem
from .config import Config
from .errors import MailbotError
from .mail_in.ingest import POLL_BATCH, Ingestor, IngestResult
from .mail_in.watch import Watcher
from .mail_out.delivery import Deliverer, DeliveryReport
from .mail_out.digest import find_report, queue_digest, queue_report, report_names
from .transports import registry
from .transports.registry import Check
from .transports.sender import MailSender
from .transports.source import MailSource

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, in UTC (aware)."""
    return datetime.now(UTC)


def fixed_clock(moment: datetime) -> Clock:
    """A clock that always says ``moment`` (``mailbot --now``)."""
    if moment.tzinfo is None:
        raise ValueError("a fixed clock needs an aware moment")
    return lambda: moment


def open_store(config: Config, *, upgrade: bool = True, clock: Clock = system_clock) -> Store:
    """The configured store, its schema brought up to date (Alembic) unless ``upgrade`` is False. A database that
    cannot be opened or written (a missing folder, a read-only file, no server) is one clear
    :class:`~mailbot.errors.MailbotError` line, never a traceback."""
    try:
        store = Store(config.store.url, clock=clock)
        if upgrade:
            store.upgrade()
    except MailbotError:
        raise
    except Exception as exc:
        if isinstance(exc, OSError) or is_transient(exc):
            raise MailbotError(f"store.url: cannot open the database {safe_url(config.store.url)} ({describe(exc)}) — "
                               "check that it exists, that its folder is writable by this user, and that the "
                               "database server is up") from None
        raise
    return store


def safe_url(url: str) -> str:
    """A database URL with any password hidden."""
    head, sep, rest = url.partition("://")
    if sep and "@" in rest:
        cred, _, host = rest.rpartition("@")
        return f"{head}://{cred.split(':', 1)[0]}:***@{host}"
    return url


def check_store(config: Config) -> list[Check]:
    """Can the database be reached, and is its schema current? Changes nothing."""
    try:
        url = make_url(config.store.url)
        head = migrate.head()
        if url.get_backend_name() == "sqlite" and url.database and not _exists(url.database):
            return [Check("store", True, f"{url.database} will be created (permissions 0600) on the first run")]
        current = migrate.current(config.store.url)
    except Exception as exc:  # say what kind of failure, never a traceback
        return [Check("store", False, f"{type(exc).__name__}: {exc}")]
    if current == head:
        return [Check("store", True, f"database reachable, schema at {head}")]
    return [Check("store", True, f"database reachable; schema {current or 'not created'} → `mailbot db upgrade` "
                                 f"(or `mailbot run`) brings it to {head}")]


def _exists(path: str) -> bool:
    return Path(path).exists()


class App:
    """Owns the store, the source, the sender and the clock; the jobs the CLI and the scheduler run."""

    def __init__(self, config: Config, *, clock: Clock = system_clock, store: Store | None = None,
                 source: MailSource | None = None, sender: MailSender | None = None) -> None:
        self.config = config
        self.clock = clock
        self._store = store
        self._source = source
        self._sender = sender
        self._deliverer: Deliverer | None = None
        self._directory: Directory | None = None
        self._ingestor: Ingestor | None = None
        self._ticker: Ticker | None = None
        self._scheduler: Scheduler | None = None
        self._watcher: Watcher | None = None

    # -- the parts, each built on first use ----------------------------------------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.config, clock=self.clock)
        return self._store

    @property
    def source(self) -> MailSource:
        if self._source is None:
            self._source = registry.open_source(self.config)
        return self._source

    @property
    def sender(self) -> MailSender:
        if self._sender is None:
            self._sender = registry.open_sender(self.config)
        return self._sender

    def name_of(self, email: str) -> str | None:
        """The name the directory gives ``email`` (for the To and Cc display names), or None."""
        if self._directory is None:
            self._directory = self.config.directory.directory()
        person = self._directory.person(email)
        return person.name if person is not None else None

    @property
    def deliverer(self) -> Deliverer:
        if self._deliverer is None:
            self._deliverer = Deliverer(self.store, self.sender, clock=self.clock, allows=self.config.allows_address,
                                        max_attempts=self.config.mail_out.max_attempts, names=self.name_of)
        return self._deliverer

    @property
    def ingestor(self) -> Ingestor:
        if self._ingestor is None:
            self._ingestor = Ingestor(self.store, self.config, self.clock)
        return self._ingestor

    @property
    def ticker(self) -> Ticker:
        if self._ticker is None:
            self._ticker = Ticker(self.store, self.config)
        return self._ticker

    @property
    def scheduler(self) -> Scheduler:
        if self._scheduler is None:
            self._scheduler = Scheduler(self, self.config.service, self.clock,
                                        reports=report_names(self.config.policy),
                                        calendar=self.config.calendar.calendar())
        return self._scheduler

    @property
    def watcher(self) -> Watcher:
        if self._watcher is None:
            # one batch a poll: the watcher sends what the batch queued before it reads on
            self._watcher = Watcher(lambda: self.poll_once(POLL_BATCH), lambda: guarded("send", self.send_pending),
                                    lambda: self.source, self.config.mailbox.poll_seconds, batch=POLL_BATCH)
        return self._watcher

    # -- the jobs ---------------------------------------------------------------------------------------------

    def poll_batches(self, limit: int | None = None) -> Iterator[list[IngestResult]]:
        """Read the new mail and record it, one batch after another as they are read: the whole backlog (or at most
        ``limit`` mails), each batch settled before the next is read, so memory does not grow with the backlog. A
        full batch of nothing but duplicates (mail put back into the inbox) ends it too: the next poll goes on."""
        read = 0
        while limit is None or read < limit:
            want = POLL_BATCH if limit is None else min(POLL_BATCH, limit - read)
            batch = self.ingestor.poll(self.source, want)
            read += len(batch)
            if batch:
                counts: dict[str, int] = {}
                for r in batch:
                    counts[r.outcome] = counts.get(r.outcome, 0) + 1
                log.info("poll done %s", " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
            yield batch
            if len(batch) < want or all(r.outcome == "duplicate" for r in batch):
                return

    def poll_once(self, limit: int | None = None) -> list[IngestResult]:
        """:meth:`poll_batches`, every result in one list."""
        return [r for batch in self.poll_batches(limit) for r in batch]

    def tick(self, *, dry_run: bool = False) -> list[TickItem]:
        """Carry out whatever is due now, then send what that queued (a dry run changes and sends nothing)."""
        items = self.ticker.tick(self.clock(), dry_run=dry_run)
        if not dry_run:
            self.send_pending()
        return items

    def send_pending(self) -> DeliveryReport:
        return self.deliverer.deliver_pending()

    def digest(self, now: datetime | None = None, period: str = "week") -> OutboxMail | None:
        """Queue (once per period) and send the digest for the period before ``now`` (default: the clock)."""
        with self.store.unit_of_work() as uow:
            row = queue_digest(uow, self.config, period, now or self.clock())
            uow.commit()
        self.send_pending()
        return row

    def report(self, name: str, now: datetime | None = None, *, catching_up: bool = False,
               day: date | None = None) -> OutboxMail | None:
        """Queue (once per report and period) and send one report of the policy — by its name or cadence
        (``mailbot.mail_out.digest.find_report``) — for the period of its cadence before ``now`` (default: the
        clock), or the one containing ``day``. ``catching_up``: the scheduler after downtime (a report of a time
        before the store held anything is not sent)."""
        found, report = find_report(self.config.policy, name)
        with self.store.unit_of_work() as uow:
            row = queue_report(uow, self.config, report, now or self.clock(), name=found, day=day,
                               catching_up=catching_up)
            uow.commit()
        self.send_pending()
        return row

    def purge(self, *, dry_run: bool = False) -> PurgeReport:
        """Forget closed escalations older than ``store.retention_days`` and unmatched mail older than
        ``store.unmatched_retention_days`` (children's data is kept no longer than it is needed), everywhere the
        bot keeps them: the store (where kept digests that name them are redacted, see :mod:`store.retention`)
        and the local mail folders — their copies in the Maildir inbox's ``.processed``/``.attention`` and in the
        sent-mail Maildir are deleted before the store's deletions are committed (a purge that fails half-way is
        simply run again). Copies on a mail server (IMAP, Graph, EWS, SMTP) are the council's mail system's, under
        its own retention; the report's ``elsewhere`` says so. ``dry_run`` counts everything and deletes nothing.
        """
        now = self.clock()
        with self.store.unit_of_work() as uow:
            report = purge(uow, now - timedelta(days=self.config.store.retention_days),
                           now - timedelta(days=self.config.store.unmatched_retention_days), now=now)
            report = self._purge_mail_folders(report, dry_run=dry_run)
            if dry_run:
                uow.rollback()
            else:
                uow.commit()
        return report

    def _purge_mail_folders(self, report: PurgeReport, *, dry_run: bool) -> PurgeReport:
        """Remove (or count) the local copies of the mails ``report`` deleted or redacted; say where the bot cannot.
        """
        from dataclasses import replace

        from parsers.message import parse_message

        from .transports.maildir import MaildirSender, MaildirSource

        def identify(raw: bytes) -> str:
            return parse_message(raw).identity

        inbox_files = sent_files = 0
        elsewhere: list[str] = []
        read_with, send_with = self.config.mailbox.transport, self.config.mail_out.transport
        if read_with != "maildir":
            elsewhere.append(f"the mailbox is read over {read_with}: the council's mail system keeps its copies of "
                             "the purged mails under its own retention")
        elif report.identities or report.sent_message_ids:
            source = self.source
            if isinstance(source, MaildirSource):
                inbox_files = source.remove_settled(report.identities | report.sent_message_ids, identify=identify,
                                                    dry_run=dry_run)
        if send_with != "maildir":
            elsewhere.append(f"mail is sent over {send_with}: copies in Sent Items and in the recipients' mailboxes "
                             "are kept under the council's mail system's own retention")
        elif report.sent_message_ids:
            sender = self.sender
            if isinstance(sender, MaildirSender):
                sent_files = sender.remove_sent(report.sent_message_ids, dry_run=dry_run)
        log.info("retention purge mail folders inbox_files=%d sent_files=%d dry_run=%s", inbox_files, sent_files,
                 dry_run)
        return replace(report, inbox_files=inbox_files, sent_files=sent_files, elsewhere=tuple(elsewhere))

    def check_connections(self) -> list[Check]:
        """``check-config --connect``: the store, the mailbox and the mail server, in plain words."""
        return [*check_store(self.config), *registry.check_mailbox(self.config),
                *registry.check_mail_out(self.config)]

    # -- the service ------------------------------------------------------------------------------------------

    def run_forever(self, *, install_signals: bool = True) -> None:
        """Catch up, start the scheduler, then read mail as it comes until SIGTERM/SIGINT or :meth:`stop`."""
        self.store  # noqa: B018 - a store that cannot be opened is one clear line before anything starts
        log.info("service started transport=%s tick_minutes=%d", self.config.mailbox.transport,
                 self.config.service.tick_minutes)
        self.scheduler.catch_up()
        self.scheduler.start()
        try:
            self.watcher.run(install_signals=install_signals)
        finally:
            self.close()
        log.info("service stopped")

    def stop(self) -> None:
        self.watcher.stop()

    def close(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown()
        if self._source is not None:
            self._source.close()
        if self._store is not None:
            self._store.dispose()  # closes pooled connections; the store opens new ones if used again


__all__ = ["App", "Clock", "check_store", "fixed_clock", "open_store", "safe_url", "system_clock"]
