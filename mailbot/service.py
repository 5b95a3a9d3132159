"""The running service: the store, the mail source and the ingest loop, built from a Config."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType

from store.uow import Store

from .config import Config
from .errors import MailbotError
from .ingest import Ingestor, IngestResult
from .transports.base import MailSource, TransportError

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
        password = imap.password()
        if password is None:
            raise MailbotError(
                f"mailbox.imap.password_env: the environment variable {imap.password_env or '(not named)'} "
                "is not set — export it with the mailbox password before starting"
            )
        return ImapSource(imap.host, imap.port, imap.username, password=password, security=imap.security,
                          folder=imap.folder, processed_folder=imap.processed_folder,
                          attention_folder=imap.attention_folder)
    raise MailbotError(f"mailbox.transport: {mb.transport!r} is not available in this version")


class _Interrupted(Exception):
    """Raised by the signal handler to end a wait for mail."""


class Service:
    """Owns the store and the source; ``poll_once`` and ``run_forever`` are what the CLI calls."""

    def __init__(self, config: Config, *, store: Store | None = None, source: MailSource | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.config = config
        self.store = store or open_store(config, clock=clock)
        self._source = source
        self.ingestor = Ingestor(self.store, config, clock)
        self._stop = threading.Event()
        self._waiting = False

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
        log.info("service started transport=%s", self.config.mailbox.transport)
        try:
            while not self._stop.is_set():
                try:
                    self.poll_once()
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
        if self._source is not None:
            self._source.close()
