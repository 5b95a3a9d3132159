"""The mail loop: poll, then wait for new mail (IMAP IDLE, Graph/EWS polling, a watched folder), until stopped.

A signal (SIGTERM/SIGINT) that arrives while the loop waits for mail ends the wait at once; one that arrives while
a mail is being recorded lets that mail finish first (its transaction is never cut in half).

Nothing ends the loop but a signal:

- a full batch (``batch`` mails read) means more may wait: the loop reads on at once instead of waiting;
- the mailbox being unreachable (:class:`~mailbot.transports.source.TransportError`) or the database being
  unavailable (:class:`~store.errors.StoreUnavailable`: locked, disk full, connection lost) backs off, 1 s doubling
  to 60 s, and tries again; the mail not yet recorded stays in the mailbox and is read then. When the trouble lasts
  longer than ``alert_after`` seconds it is logged once at ERROR (someone has to look), and again when it clears;
- any other error is logged with its traceback and treated the same way, so one bad turn never stops the service.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sized
from types import FrameType

from mailbot.transports.source import MailSource, TransportError
from store.errors import StoreUnavailable

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0
ALERT_AFTER = 300.0


class _Interrupted(Exception):
    """Raised by the signal handler to end a wait for mail."""


class Watcher:
    """Runs ``poll`` (one turn of mail in; what it returns is sized by the mails read), then ``after_mail`` when
    there was some (send the acknowledgements and escalations it queued), then waits on ``source``."""

    def __init__(self, poll: Callable[[], Sized], after_mail: Callable[[], None], source: Callable[[], MailSource],
                 poll_seconds: float, *, batch: int = 200, alert_after: float = ALERT_AFTER,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.poll = poll
        self.after_mail = after_mail
        self.source = source
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.alert_after = alert_after
        self._monotonic = monotonic
        self._stop = threading.Event()
        self._waiting = False
        self._failing_since: float | None = None
        self._alerted = False

    def stop(self, *_: object) -> None:
        self._stop.set()

    def run(self, *, install_signals: bool = True) -> None:
        if install_signals:
            def handler(signum: int, frame: FrameType | None) -> None:
                log.info("signal %s: stopping", signum)
                self.stop()
                if self._waiting:
                    raise _Interrupted

            signal.signal(signal.SIGTERM, handler)
            signal.signal(signal.SIGINT, handler)
        backoff = 1.0
        try:
            while not self._stop.is_set():
                try:
                    read = len(self.poll())
                    if read:
                        self.after_mail()
                    self._recovered()
                    backoff = 1.0
                    if read < self.batch:  # a full batch: more may wait, read on at once
                        self._wait_for_mail()
                except _Interrupted:
                    raise
                except (TransportError, StoreUnavailable) as exc:
                    what = "mailbox" if isinstance(exc, TransportError) else "database"
                    self._trouble(f"{what} unavailable, retrying in {backoff:.0f}s: {exc}", backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                except Exception as exc:  # a bug: logged whole, and the loop goes on
                    log.exception("mail loop error, retrying in %.0fs: %s", backoff, type(exc).__name__)
                    self._trouble(f"mail loop error {type(exc).__name__}", backoff, logged=True)
                    backoff = min(backoff * 2, MAX_BACKOFF)
        except _Interrupted:
            pass

    def _trouble(self, message: str, backoff: float, *, logged: bool = False) -> None:
        now = self._monotonic()
        if self._failing_since is None:
            self._failing_since = now
        lasting = now - self._failing_since
        if lasting >= self.alert_after and not self._alerted:
            log.error("mail is not being read for %.0f minutes: %s", lasting / 60, message)
            self._alerted = True
        elif not logged:
            log.warning("%s", message)
        self._stop.wait(backoff)

    def _recovered(self) -> None:
        if self._alerted:
            log.warning("mail is being read again after %.0f minutes",
                        (self._monotonic() - (self._failing_since or 0)) / 60)
        self._failing_since, self._alerted = None, False

    def _wait_for_mail(self) -> None:
        self._waiting = True
        try:
            if not self._stop.is_set():
                self.source().wait(self.poll_seconds)
        finally:
            self._waiting = False


__all__ = ["ALERT_AFTER", "MAX_BACKOFF", "Watcher"]
