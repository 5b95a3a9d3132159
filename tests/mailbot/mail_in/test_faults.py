"""Faults are retried, never degraded: a locked or failing database leaves the mail unrecorded and the cursor where
it was, the loop backs off and reads it again, alerts when it lasts, and never ends; a backlog is read on at once."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from mailbot.config import Config
from mailbot.mail_in.ingest import Ingestor
from mailbot.mail_in.watch import Watcher
from mailbot.transports.maildir import MaildirSource
from mailbot.transports.source import TransportError
from store.errors import StoreUnavailable, describe, is_transient
from store.uow import Store
from tests.mailfactory import Thread, outlook_escalation

SUBJECT = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"


@pytest.fixture()
def locked(config: Config, store: Store) -> Iterator[sqlite3.Connection]:
    """Another process holding SQLite's write lock (longer than the store's busy timeout)."""
    path = config.store.url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()


def _records(store: Store) -> int:
    with store.unit_of_work() as uow:
        return len(uow.escalations.list())


def test_a_locked_database_leaves_the_mail_unrecorded_and_it_opens_once_the_lock_goes(
        bot: Ingestor, store: Store, locked: sqlite3.Connection, clock: object) -> None:
    raw = outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=clock.now)  # type: ignore[attr-defined]
    with pytest.raises(StoreUnavailable, match="database is locked"):
        bot.ingest(raw, source_key="maildir:test", source_ref="a", cursor="1")
    locked.execute("ROLLBACK")
    assert _records(store) == 0
    with store.unit_of_work() as uow:
        assert uow.messages.attention() == []  # never filed as "attention" for the database's fault
        assert uow.cursors.get("maildir:test") is None  # the cursor stayed where it was
    result = bot.ingest(raw, source_key="maildir:test", source_ref="a", cursor="1")
    assert (result.outcome, result.reference) == ("opened", "ESC-0001")


def test_a_poll_stops_at_the_locked_database_and_the_mail_stays_in_the_mailbox(
        bot: Ingestor, store: Store, locked: sqlite3.Connection, tmp_path: Path, clock: object) -> None:
    source = MaildirSource(tmp_path / "inbox")
    source.drop(outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=clock.now))  # type: ignore[attr-defined]
    with pytest.raises(StoreUnavailable):
        bot.poll(source)
    assert len(list(source.fetch(None))) == 1  # not settled: still waiting in the inbox
    locked.execute("ROLLBACK")
    [result] = bot.poll(source)
    assert result.outcome == "opened"
    assert list(source.fetch(None)) == []


def test_a_bug_while_applying_still_keeps_the_mail_for_attention(bot: Ingestor, store: Store,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  clock: object) -> None:
    monkeypatch.setattr(bot.applier, "open", lambda *a, **k: (_ for _ in ()).throw(KeyError("boom")))
    result = bot.ingest(outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=clock.now))  # type: ignore
    assert (result.outcome, result.reason) == ("attention", "KeyError")


@pytest.mark.parametrize("message", ["database is locked", "database or disk is full", "disk I/O error",
                                     "attempt to write a readonly database"])
def test_the_database_being_unavailable_is_transient(message: str) -> None:
    exc = OperationalError("INSERT INTO messages …", {"raw": b"mail"}, sqlite3.OperationalError(message))
    assert is_transient(exc)
    assert describe(exc) == f"OperationalError: {message}"  # the database's words, never the SQL or the mail
    assert not is_transient(IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")))
    assert not is_transient(KeyError("x"))


# ---- the loop ---------------------------------------------------------------------------------------------------


class FakeSource:
    key = "fake"

    def __init__(self) -> None:
        self.waits: list[float] = []

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        return False


class Script:
    """A poll that does what it is told, turn by turn, and stops the watcher after the last turn."""

    def __init__(self, turns: list[object]) -> None:
        self.turns = turns
        self.watcher: Watcher | None = None
        self.calls = 0

    def __call__(self) -> list[object]:
        self.calls += 1
        turn = self.turns.pop(0)
        if not self.turns and self.watcher is not None:
            self.watcher.stop()
        if isinstance(turn, BaseException):
            raise turn
        return [None] * int(turn)  # type: ignore[call-overload]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def watcher_for(script: Script, source: FakeSource, clock: FakeTime, **kw: object) -> Watcher:
    watcher = Watcher(script, lambda: None, lambda: source, 60, monotonic=clock, **kw)  # type: ignore[arg-type]
    watcher._stop.wait = lambda timeout=None: clock.__setattr__("now", clock.now + (timeout or 0)) or False  # type: ignore[method-assign,assignment,return-value]
    script.watcher = watcher
    return watcher


def test_a_backlog_is_read_on_without_waiting_a_poll_interval() -> None:
    source, clock = FakeSource(), FakeTime()
    script = Script([2, 2, 1, 0])  # batches of two: two full batches, then the rest
    watcher_for(script, source, clock, batch=2).run(install_signals=False)
    assert script.calls == 4
    assert source.waits == [60]  # waited once, after the partial batch; the last turn stopped the loop


def test_database_and_mailbox_trouble_back_off_alert_once_and_never_end(caplog: pytest.LogCaptureFixture) -> None:
    source, clock = FakeSource(), FakeTime()
    down = StoreUnavailable("OperationalError: database is locked")
    turns: list[object] = [down] * 11 + [TransportError("connection refused"), RuntimeError("a bug"), 1, 0]
    script = Script(turns)
    with caplog.at_level(logging.WARNING, logger="mailbot.mail_in.watch"):
        watcher_for(script, source, clock, batch=5, alert_after=300).run(install_signals=False)
    assert script.calls == 15  # every failure was retried; nothing ended the loop
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    alerts = [e for e in errors if e.startswith("mail is not being read for")]
    assert len(alerts) == 1 and "database unavailable" in alerts[0]
    assert any(r.getMessage().startswith("mail is being read again") for r in caplog.records)
    assert clock.now == 1 + 2 + 4 + 8 + 16 + 32 + 60 * 7  # backed off: 1, 2, 4 … capped at 60 seconds
