"""The tick works its due records a batch at a time, in one transaction: first all together (the fast path, keys
written without look-ups), else again each record in a SAVEPOINT of its own. Whatever the batch size, the time
limit, a bad record or a key written meanwhile, every due record is worked once and its work is written once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from mailbot.clock import tick
from mailbot.clock.tick import Ticker, TickItem, done_key
from mailbot.config import Config
from mailbot.mail_in.ingest import Ingestor
from mailbot.mail_out import loaded
from store.models import NEVER_DUE, Event, OutboxMail
from store.uow import Store, UnitOfWork
from tests.botsetup import OPENED, Clock, at, directory_table, example_config, migrated_store
from tests.mailfactory import BOT, SM, Thread, outlook_escalation

DUE = ("01/12/2026", "02/12/2026", "04/12/2026")  # on 2 December: escalate, chase on the day, chase two days before
NOW = at(2, 12)

Written = list[tuple[str, str, str, str]]
Calls = list[tuple[tuple[str, ...], bool]]


class Runaway(BaseException):
    """Not an Exception: the tick does not catch it."""


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    return example_config(tmp_path, directory=directory_table())


def open_records(bot: Ingestor, count: int) -> list[str]:
    references = []
    for i in range(count):
        subject = (f"Action - Level 1 escalation - Child {chr(65 + i)} - MOSAIC {100000 + i} - "
                   f"response by {DUE[i % len(DUE)]}")
        result = bot.ingest(outlook_escalation(Thread(subject, seed=f"batch{i}"), subject=subject, when=OPENED))
        assert result.outcome == "opened"
        references.append(result.reference or "")
    return references


def written(store: Store, reference: str | None = None) -> Written:
    """Every outbox row ("mail", kind, key, To and subject) and event ("event", kind, key, actor) of the store (of
    ``reference``), by record."""
    with store.unit_of_work() as uow:
        found = [(m.escalation.reference if m.escalation else "", "mail", f"{m.kind} {m.key}",
                  f"{m.to_emails} {m.subject}") for m in uow.session.scalars(select(OutboxMail))]
        found += [(e.escalation.reference if e.escalation else "", "event", f"{e.kind} {e.key}", e.actor)
                  for e in uow.session.scalars(select(Event))]
    return sorted(f for f in found if reference is None or f[0] == reference)


def levels(store: Store, references: Sequence[str]) -> list[int]:
    with store.unit_of_work() as uow:
        return [uow.escalations.get(r).current_level for r in references]  # type: ignore[union-attr]


def spy_batches(monkeypatch: pytest.MonkeyPatch, *, again_seconds: float | None = None) -> Calls:
    """Record each transaction of the tick (its records, and whether one by one); ``again_seconds``: the time limit
    of the one-by-one pass. More than 50 transactions is a runaway: stopped."""
    calls: Calls = []
    original = Ticker._batch

    def counted(self: Ticker, references: Sequence[str], now: datetime, dry_run: bool, worked: list[int], *,
                isolated: bool) -> list[TickItem]:
        calls.append((tuple(references), isolated))
        if len(calls) > 50:
            raise Runaway(calls)
        limit = tick.SECONDS_A_TRANSACTION
        if isolated and again_seconds is not None:
            tick.SECONDS_A_TRANSACTION = again_seconds
        try:
            return original(self, references, now, dry_run, worked, isolated=isolated)
        finally:
            tick.SECONDS_A_TRANSACTION = limit

    monkeypatch.setattr(Ticker, "_batch", counted)
    return calls


def fail_on(monkeypatch: pytest.MonkeyPatch, reference: str, error: type[BaseException] = RuntimeError) -> None:
    """``reference``'s action raises ``error`` after it has written its mails and moved its stage."""
    original = Ticker._apply

    def failing(self: Ticker, uow: UnitOfWork, esc: Any, action: Any, now: datetime) -> str:
        detail = original(self, uow, esc, action, now)
        if esc.reference == reference:
            raise error(reference)
        return detail

    monkeypatch.setattr(Ticker, "_apply", failing)


def test_more_records_than_a_batch_are_each_done_once(bot: Ingestor, store: Store, config: Config, clock: Clock,
                                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    references = open_records(bot, 7)
    # the same records in a store of their own, ticked with the usual batch size
    (tmp_path / "twin").mkdir()
    twin_config, twin_clock = example_config(tmp_path / "twin", directory=directory_table()), Clock(OPENED)
    twin = migrated_store(twin_config, twin_clock)
    try:
        assert open_records(Ingestor(twin, twin_config, twin_clock), 7) == references
        twin_clock.now = NOW
        expected = Ticker(twin, twin_config).tick(NOW)
        expected_written = written(twin)
    finally:
        twin.dispose()
    assert [i.reference for i in expected] == references
    assert {i.kind for i in expected} == {"escalate", "chase"}

    monkeypatch.setattr(tick, "RECORDS_A_TRANSACTION", 3)
    calls = spy_batches(monkeypatch)
    clock.now = NOW
    ticker = Ticker(store, config)
    assert ticker.tick(NOW) == expected
    assert calls == [(tuple(references[:3]), False), (tuple(references[3:6]), False), (tuple(references[6:]), False)]
    assert written(store) == expected_written
    assert levels(store, references) == [2, 1, 1, 2, 1, 1, 2]
    assert ticker.tick(NOW) == []
    assert written(store) == expected_written


def test_with_no_time_for_a_second_record_each_transaction_does_one(bot: Ingestor, store: Store, config: Config,
                                                                    clock: Clock,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    references = open_records(bot, 5)
    monkeypatch.setattr(tick, "SECONDS_A_TRANSACTION", 0)
    calls = spy_batches(monkeypatch)
    clock.now = NOW
    ticker = Ticker(store, config)
    items = ticker.tick(NOW)
    assert [i.reference for i in items] == references  # one action each, in order: none skipped, none twice
    assert "error" not in {i.kind for i in items}
    assert calls == [(tuple(references[n:]), False) for n in range(len(references))]
    done = {key.removeprefix("action_done ") for _, _, key, _ in written(store) if key.startswith("action_done ")}
    assert {done_key(i.reference, i.key) for i in items} <= done  # (a chase on the day covers the one before)
    assert {key.split(":")[0] for key in done} == set(references)
    assert ticker.tick(NOW) == []


@pytest.mark.parametrize("again_seconds", [None, 0], ids=["in_time", "again_out_of_time"])
def test_a_bad_record_fails_alone_and_is_tried_at_the_next_tick(bot: Ingestor, store: Store, config: Config,
                                                                clock: Clock, monkeypatch: pytest.MonkeyPatch,
                                                                again_seconds: float | None) -> None:
    references = open_records(bot, 5)
    bad = references[3]  # it escalates: a mail, a new stage and events, all taken back
    before = written(store, bad)
    fail_on(monkeypatch, bad)
    # again_out_of_time: the one-by-one pass does fewer records than the pass that failed; the rest must follow
    calls = spy_batches(monkeypatch, again_seconds=again_seconds)
    clock.now = NOW
    ticker = Ticker(store, config)
    items = ticker.tick(NOW)
    assert [i.reference for i in items] == references
    assert [i for i in items if i.kind == "error"] == [TickItem(bad, "error", "", 0, "RuntimeError")]
    assert any(isolated for _, isolated in calls)
    assert written(store, bad) == before
    assert levels(store, references) == [2, 1, 1, 1, 1]
    done = {key for _, what, key, _ in written(store) if what == "event"}
    assert {f"action_done {done_key(i.reference, i.key)}" for i in items if i.reference != bad} <= done
    with store.unit_of_work() as uow:
        assert uow.escalations.due_references(NOW) == [bad]

    monkeypatch.undo()
    assert [(i.reference, i.kind) for i in ticker.tick(NOW)] == [(bad, "escalate")]
    assert levels(store, [bad]) == [2]


def test_a_crash_before_the_commit_writes_none_of_its_batch(bot: Ingestor, store: Store, config: Config,
                                                            clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    references = open_records(bot, 7)
    before = written(store)
    monkeypatch.setattr(tick, "RECORDS_A_TRANSACTION", 3)
    fail_on(monkeypatch, references[4], Runaway)  # the second of the second batch: the process stops
    clock.now = NOW
    ticker = Ticker(store, config)
    with pytest.raises(Runaway):
        ticker.tick(NOW)
    assert levels(store, references) == [2, 1, 1, 1, 1, 1, 1]  # the first batch was committed ...
    assert all(any(w[2].startswith("action_done ") for w in written(store, r)) for r in references[:3])
    assert [w for w in written(store) if w[0] in references[3:]] == [w for w in before if w[0] in references[3:]]
    with store.unit_of_work() as uow:  # ... and the second is due again, as if it had not been started
        assert uow.escalations.due_references(NOW) == references[3:]
    monkeypatch.undo()
    assert [i.reference for i in ticker.tick(NOW)] == references[3:]


@pytest.mark.parametrize("meanwhile", ["mail", "event"])
def test_a_key_written_meanwhile_is_found_and_written_once(bot: Ingestor, store: Store, config: Config,
                                                           clock: Clock, monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture, meanwhile: str) -> None:
    references = open_records(bot, 4)
    taken = references[0]  # escalates now: its mail "<ref>.L1.escalate", its mark "<ref>:L1.escalate"
    with store.unit_of_work() as uow:  # another worker, just after the tick read the record's keys
        esc = uow.escalations.get(taken)
        if meanwhile == "mail":
            uow.outbox.add(key=f"{taken}.L1.escalate", message_id="meanwhile@example.test", kind="escalation",
                           from_email=BOT, to_emails=[SM], subject="queued meanwhile", body_text="-", escalation=esc,
                           created_at=NOW)
        else:
            uow.events.append("action_done", escalation=esc, key=done_key(taken, "L1.escalate"), actor="meanwhile",
                              at=NOW)
    original = loaded.load

    def blind(uow: UnitOfWork, escalations: Any) -> None:  # what the tick read does not have it
        original(uow, escalations)
        for esc in escalations:
            if esc.reference == taken:
                loaded.queued(uow, esc).pop(f"{taken}.L1.escalate", None)  # type: ignore[union-attr]
                trail = loaded._state(uow.session).trails[esc.id]  # type: ignore[union-attr]
                trail[:] = [e for e in trail if e.actor != "meanwhile"]

    monkeypatch.setattr(loaded, "load", blind)
    calls = spy_batches(monkeypatch)
    clock.now = NOW
    caplog.set_level("INFO", logger="mailbot.clock.tick")
    items = Ticker(store, config).tick(NOW)
    assert "error" not in {i.kind for i in items}
    assert [c[1] for c in calls] == [False, True]  # the batch failed at its flush, and was done one by one
    assert f"tick looks the keys up ref={taken}" in caplog.messages
    assert [i.reference for i in items if i.reference != taken] == references[1:]
    assert levels(store, references[1:]) == [1, 1, 2]
    mails = [w for w in written(store, taken) if w[1] == "mail"]
    marks = [w for w in written(store, taken) if w[2] == f"action_done {done_key(taken, 'L1.escalate')}"]
    if meanwhile == "mail":  # the mail queued meanwhile is the record's one mail; the tick did the rest
        assert mails == [(taken, "mail", f"escalation {taken}.L1.escalate", f"['{SM}'] queued meanwhile")]
        assert [(i.kind, i.key) for i in items if i.reference == taken] == [("escalate", "L1.escalate")]
        assert len(marks) == 1 and marks[0][3] == "bot"
        assert levels(store, [taken]) == [2]
    else:  # the action was done meanwhile: the tick does not do it again
        assert mails == []
        assert [i for i in items if i.reference == taken] == []
        assert len(marks) == 1 and marks[0][3] == "meanwhile"


def _same(one: Sequence[Event], other: Sequence[Event]) -> bool:
    return [id(e) for e in one] == [id(e) for e in other]


def test_the_loaded_trail_is_the_stores_until_a_rollback_sends_it_there(bot: Ingestor, store: Store) -> None:
    references = open_records(bot, 2)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        with store.unit_of_work() as uow:
            escalations = [uow.escalations.get(r) for r in references]
            loaded.load(uow, escalations)  # type: ignore[arg-type]
            esc = escalations[0]
            assert esc is not None
            uow.events.append("note", escalation=esc, data={"n": 1}, at=NOW)
            uow.events.append("note", escalation=esc, key="note-2", data={"n": 2}, at=NOW, known_new=True)  # same time
            uow.events.append("note", escalation=escalations[1], data={"n": 0}, at=NOW)  # another record's
            uow.events.append("note", escalation=esc, data={"n": 3}, at=OPENED - timedelta(days=1))  # first
            statements.clear()
            trail = loaded.trail(uow, esc)
            assert statements == []  # from what was read, not a query
            assert [e.data for e in trail if e.kind == "note"] == [{"n": 3}, {"n": 1}, {"n": 2}]
            assert _same(trail, uow.events.for_escalation(esc))  # (its query flushes: the events get their ids)
            assert _same(loaded.trail(uow, esc), uow.events.for_escalation(esc))

            with pytest.raises(RuntimeError), uow.session.begin_nested():
                uow.events.append("note", escalation=esc, data={"n": 4}, at=NOW)
                assert [e.data for e in loaded.trail(uow, esc)][-1] == {"n": 4}
                raise RuntimeError
            assert loaded.queued(uow, esc) is None  # the rollback forgot what was loaded ...
            statements.clear()
            trail = loaded.trail(uow, esc)
            assert any("FROM events" in s for s in statements)  # ... so the trail is read from the store
            assert _same(trail, uow.events.for_escalation(esc))
            assert {"n": 4} not in [e.data for e in trail]
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)


def test_a_dry_run_of_batches_writes_nothing(bot: Ingestor, store: Store, config: Config, clock: Clock,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    references = open_records(bot, 7)
    before = written(store)
    monkeypatch.setattr(tick, "RECORDS_A_TRANSACTION", 3)
    calls = spy_batches(monkeypatch)
    clock.now = NOW
    ticker = Ticker(store, config)
    planned = ticker.tick(NOW, dry_run=True)
    assert [i.reference for i in planned] == references and "error" not in {i.kind for i in planned}
    assert len(calls) == 3
    assert written(store) == before
    assert levels(store, references) == [1] * 7
    with store.unit_of_work() as uow:
        assert uow.escalations.due_references(NOW) == references
    assert ticker.tick(NOW) == planned


# ---- the safety sweep -------------------------------------------------------------------------------------------


def _misplace(store: Store, reference: str) -> None:
    """Store a wrong moment for the record, as a bug or a hand edit might: "never"."""
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(reference)
        assert esc is not None
        esc.next_due_at = NEVER_DUE
        uow.commit()


def test_the_sweep_puts_a_wrong_moment_right_within_open_by_sweep_ticks(
        bot: Ingestor, store: Store, config: Config, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """A record whose stored moment is wrong is still escalated: the sweep decides a few open records a tick, by id,
    round and round, so every one within ``open / SWEEP_RECORDS`` ticks; each tick names at most that many more."""
    references = open_records(bot, 5)
    clock.now = NOW
    monkeypatch.setattr(tick, "SWEEP_RECORDS", 2)
    for reference in references:
        _misplace(store, reference)  # all due on 2 December (escalate or chase), none by its stored moment
    calls = spy_batches(monkeypatch)
    ticker = Ticker(store, config)
    acted: list[str] = []
    for _ in range(3):  # ceil(5 / 2)
        acted += [i.reference for i in ticker.tick(NOW)]
    assert [c[0] for c in calls] == [tuple(references[0:2]), tuple(references[2:4]), (references[4], references[0])]
    assert sorted(set(acted)) == sorted(references)
    assert levels(store, references) == [2, 1, 1, 2, 1]
    with store.unit_of_work() as uow:  # each moment put right
        assert all(uow.escalations.get(r).next_due_at != NEVER_DUE for r in references)  # type: ignore[union-attr]
    assert ticker.tick(NOW) == []  # and nothing done twice


def test_the_sweep_does_not_name_a_due_record_twice_and_a_dry_run_moves_no_cursor(
        bot: Ingestor, store: Store, config: Config, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    references = open_records(bot, 3)
    clock.now = NOW
    monkeypatch.setattr(tick, "SWEEP_RECORDS", 2)
    calls = spy_batches(monkeypatch)
    ticker = Ticker(store, config)
    ticker.tick(NOW, dry_run=True)
    with store.unit_of_work() as uow:
        assert uow.cursors.get(tick.SWEEP_CURSOR) is None
    ticker.tick(NOW)
    assert [c[0] for c in calls] == [tuple(references), tuple(references)]  # the due ones, once each
    with store.unit_of_work() as uow:
        first_two = uow.escalations.open_after(0, 2)
        assert uow.cursors.get(tick.SWEEP_CURSOR) == str(first_two[-1][0])
