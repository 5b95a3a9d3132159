"""The audit trail: append-only through the ORM, and an action key records an automatic action once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, update

from store.errors import AppendOnlyError
from store.models import Event
from store.repositories import EventRepository
from store.uow import Store

from .builders import NOW, make_escalation, make_message


def _one_event(store: Store) -> int:
    with store.unit_of_work() as uow:
        esc = make_escalation(uow)
        event = uow.events.append("opened", escalation=esc, actor="iro@council.gov.uk", data={"level": 1})
        assert event is not None
    return event.id


def test_append_and_read_in_order(store: Store) -> None:
    with store.unit_of_work() as uow:
        esc = make_escalation(uow)
        msg = make_message(uow, "m@x", escalation=esc)
        uow.events.append("opened", escalation=esc, message=msg, actor="iro@council.gov.uk")
        uow.events.append("chased", escalation=esc, data={"n": 1})
        uow.events.append("attention", data={"reason": "unmatched"})  # belongs to no escalation
    with store.unit_of_work() as uow:
        esc = uow.escalations.get("ESC-0001")
        assert esc is not None
        events = uow.events.for_escalation(esc)
        assert [(e.kind, e.actor) for e in events] == [("opened", "iro@council.gov.uk"), ("chased", "bot")]
        assert events[0].message is not None and events[0].message.identity == "m@x"
        assert events[1].data == {"n": 1} and events[1].at == NOW


def test_updating_an_event_raises(store: Store) -> None:
    pk = _one_event(store)
    with pytest.raises(AppendOnlyError), store.unit_of_work() as uow:
        event = uow.session.get(Event, pk)
        assert event is not None
        event.kind = "something else"
        uow.flush()
    with store.unit_of_work() as uow:
        assert uow.session.get(Event, pk).kind == "opened"  # type: ignore[union-attr]


def test_changing_event_data_in_place_raises(store: Store) -> None:
    pk = _one_event(store)
    with pytest.raises(AppendOnlyError), store.unit_of_work() as uow:
        event = uow.session.get(Event, pk)
        assert event is not None and event.data is not None
        event.data["level"] = 2


def test_deleting_an_event_raises(store: Store) -> None:
    pk = _one_event(store)
    with pytest.raises(AppendOnlyError), store.unit_of_work() as uow:
        uow.session.delete(uow.session.get(Event, pk))
    with store.unit_of_work() as uow:
        assert uow.session.get(Event, pk) is not None


@pytest.mark.parametrize("statement", [
    update(Event).values(kind="x"),
    delete(Event),
    update(Event.__table__).values(kind="x"),
    delete(Event.__table__),
])
def test_bulk_statements_on_events_raise(store: Store, statement: object) -> None:
    pk = _one_event(store)
    with pytest.raises(AppendOnlyError), store.unit_of_work() as uow:
        uow.session.execute(statement)  # type: ignore[call-overload]
    with store.unit_of_work() as uow:
        assert uow.session.get(Event, pk).kind == "opened"  # type: ignore[union-attr]


def test_event_key_is_recorded_once(store: Store) -> None:
    with store.unit_of_work() as uow:
        esc = make_escalation(uow)
        first = uow.events.append("chased", escalation=esc, key="ESC-0001.l1.chase1")
        assert first is not None
        assert uow.events.append("chased", escalation=esc, key="ESC-0001.l1.chase1") is None
        assert uow.events.has_key("ESC-0001.l1.chase1")
    with store.unit_of_work() as uow:  # a later run of decide() proposes the same action again
        esc = uow.escalations.get("ESC-0001")
        assert uow.events.append("chased", escalation=esc, key="ESC-0001.l1.chase1") is None
        assert len(uow.events.for_escalation(esc)) == 1  # type: ignore[arg-type]
        assert not uow.events.has_key("ESC-0001.l1.chase2")


def test_key_race_is_absorbed_without_spoiling_the_transaction(store: Store,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Another transaction wrote the key between our check and our insert: the savepoint absorbs it."""
    with store.unit_of_work() as uow:
        esc = make_escalation(uow)
        uow.events.append("chased", escalation=esc, key="race")
    monkeypatch.setattr(EventRepository, "has_key", lambda self, key: False)
    with store.unit_of_work() as uow:
        esc = uow.escalations.get("ESC-0001")
        assert uow.events.append("chased", escalation=esc, key="race") is None
        assert uow.events.append("note", escalation=esc, data={"still": "usable"}) is not None
    with store.unit_of_work() as uow:
        assert [e.kind for e in uow.events.for_escalation(esc)] == ["chased", "note"]  # type: ignore[arg-type]


def test_concurrent_writers_record_a_key_once(store: Store) -> None:
    with store.unit_of_work() as uow:
        make_escalation(uow)
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        with store.unit_of_work() as uow:
            esc = uow.escalations.get("ESC-0001")
            event = uow.events.append("escalated", escalation=esc, key="ESC-0001.l1.escalate")
            results.append(event is not None)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
