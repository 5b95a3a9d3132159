"""The mail loop: poll, then wait for new mail (IMAP IDLE, Graph/EWS polling, a watched folder), until stopped.

A signal (SIGTERM/SIGINT) that arrives while the loop waits for mail ends the wait at once; one that arrives while
a mail is being recorded lets that mail finish first (its transaction is never cut in half). A transport error is
retried with back-off (1 s doubling to 60 s); the IMAP source also reconnects itself and catches up after every
reconnect.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sized
from types import FrameType

from mailbot.transports.source import MailSource, TransportError

log = logging.getLogger(__name__)


class _Interrupted(Exception):
    """Raised by the signal handler to end a wait for mail."""


class Watcher:
    """Runs ``poll`` (one turn of mail in; what it returns is truthy when mail was read), then ``after_mail`` when
    there was some (send the acknowledgements and escalations it queued), then waits on ``source``."""

    def __init__(self, poll: Callable[[], Sized], after_mail: Callable[[], None], source: Callable[[], MailSource],
                 poll_seconds: float) -> None:
        self.poll = poll
        self.after_mail = after_mail
        self.source = source
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._waiting = False

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
                    if len(self.poll()):
                        self.after_mail()
                    backoff = 1.0
                    self._wait_for_mail()
                except TransportError as exc:
                    log.warning("mailbox unavailable, retrying in %.0fs: %s", backoff, exc)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 60.0)
        except _Interrupted:
            pass

    def _wait_for_mail(self) -> None:
        self._waiting = True
        try:
            if not self._stop.is_set():
                self.source().wait(self.poll_seconds)
        finally:
            self._waiting = False


__all__ = ["Watcher"]
