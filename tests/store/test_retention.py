"""Retention: old closed escalations go whole; old unmatched mail goes; everything else stays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from store.errors import AppendOnlyError
from store.models import Escalation, Event, Message, OutboxMail, Stage
from store.retention import PurgeReport, purge
from store.uow import Store, UnitOfWork

from .builders import NOW, make_escalation, make_message

OLD = NOW - timedelta(days=400)
CUTOFF = NOW - timedelta(days=365)
UNMATCHED_CUTOFF = NOW - timedelta(days=30)


def _count(uow: UnitOfWork, model: type) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def _closed(uow: UnitOfWork, case: str, closed_at: object) -> Escalation:
    esc = make_escalation(uow, case=case, status="closed", opened_at=OLD, outcome="resolved",
                          closed_at=closed_at)
    reply = make_message(uow, f"reply-{case}@x", escalation=esc, received_at=OLD, raw=b"raw bytes")
    stage = esc.current_stage
    assert stage is not None
    stage.responded_at, stage.response_message, stage.outcome = OLD, reply, "resolved"
    uow.events.append("opened", escalation=esc, message=reply, at=OLD)
    uow.events.append("resolved", escalation=esc, at=OLD, key=f"{case}.resolved")
    uow.outbox.add(key=f"{case}.ack", message_id=f"{case}.ack@bot", kind="ack", from_email="bot@x",
                   to_emails=["iro@x"], subject="s", body_text="b", escalation=esc, created_at=OLD)
    return esc


def test_purge_removes_old_closed_records_and_old_unmatched_mail(store: Store) -> None:
    with store.unit_of_work() as uow:
        _closed(uow, "old", closed_at=OLD)
        _closed(uow, "recent", closed_at=NOW - timedelta(days=10))
        still_open = make_escalation(uow, case="open", opened_at=OLD)
        make_message(uow, "open-reply@x", escalation=still_open, received_at=OLD)
        stray_old = make_message(uow, "stray-old@x", state="attention", received_at=OLD, raw=b"?")
        uow.events.append("attention", message=stray_old, data={"reason": "unmatched"}, at=OLD)
        make_message(uow, "stray-new@x", state="attention", received_at=NOW - timedelta(days=1))
        uow.outbox.add(key="digest.2025-w40", message_id="digest@bot", kind="digest", from_email="bot@x",
                       to_emails=["qa@x"], subject="s", body_text="b", created_at=OLD)
        uow.outbox.mark_sent(uow.outbox.get("digest.2025-w40"), OLD)  # type: ignore[arg-type]

    with store.unit_of_work() as uow:
        report = purge(uow, closed_before=CUTOFF, unmatched_before=UNMATCHED_CUTOFF)

    assert report == PurgeReport(escalations=1, stages=1, messages=1, events=3, outbox=2,
                                 unmatched_messages=1)
    assert report.total == 9
    with store.unit_of_work() as uow:
        assert [e.reference for e in uow.escalations.list()] == ["ESC-0002", "ESC-0003"]
        assert uow.messages.get_by_identity("reply-old@x") is None
        assert uow.messages.get_by_identity("stray-old@x") is None
        assert uow.messages.get_by_identity("reply-recent@x") is not None
        assert uow.messages.get_by_identity("open-reply@x") is not None
        assert uow.messages.get_by_identity("stray-new@x") is not None
        assert uow.outbox.get("old.ack") is None and uow.outbox.get("digest.2025-w40") is None
        assert uow.outbox.get("recent.ack") is not None
        assert not uow.events.has_key("old.resolved") and uow.events.has_key("recent.resolved")
        counts = {m.__name__: _count(uow, m) for m in (Escalation, Stage, Message, Event, OutboxMail)}
        assert counts == {"Escalation": 2, "Stage": 2, "Message": 3, "Event": 2, "OutboxMail": 1}


def test_purge_again_finds_nothing(store: Store) -> None:
    with store.unit_of_work() as uow:
        _closed(uow, "old", closed_at=OLD)
    with store.unit_of_work() as uow:
        assert purge(uow, CUTOFF, UNMATCHED_CUTOFF).escalations == 1
    with store.unit_of_work() as uow:
        assert purge(uow, CUTOFF, UNMATCHED_CUTOFF) == PurgeReport()


def test_purge_is_undone_by_rollback(store: Store) -> None:
    with store.unit_of_work() as uow:
        _closed(uow, "old", closed_at=OLD)
    with store.unit_of_work() as uow:
        purge(uow, CUTOFF, UNMATCHED_CUTOFF)
        uow.rollback()
    with store.unit_of_work() as uow:
        assert uow.escalations.get("ESC-0001") is not None
        assert len(uow.events.for_escalation(uow.escalations.get("ESC-0001"))) == 2  # type: ignore[arg-type]


def test_events_stay_guarded_after_a_purge(store: Store) -> None:
    with store.unit_of_work() as uow:
        purge(uow, CUTOFF, UNMATCHED_CUTOFF)
        with pytest.raises(AppendOnlyError):
            uow.session.execute(delete(Event.__table__))
