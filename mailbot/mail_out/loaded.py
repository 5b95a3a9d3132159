"""What one transaction has read of the records it works on, read once for all of them: their audit trails and the
keys of their queued mails.

The tick works on many records in one transaction (``mailbot/clock/tick.py``), each record's audit trail read again
and again on the way (what is done, the history in every mail, the text for the child's record) and every mail's
key looked up before it is queued. :func:`load` reads the trails and the outbox keys of all those records in two
queries; afterwards :func:`trail` and :func:`queued` answer from what was read, kept up to date with every event
and outbox row the session adds (a session listener), so they say what ``uow.events.for_escalation`` and
``uow.outbox.for_escalation`` would. A record not loaded is read from the store as before; any rollback in the
session (a record's SAVEPOINT included) forgets everything loaded, so what is answered is never out of date.

Careful (the default) or not (:func:`set_careful`): a caller that holds the records' locks and has loaded them may
let ``queue_mail`` skip its look-ups and SAVEPOINTs (see :func:`mailbot.mail_out.outbox.queue_mail`); anything that
was not as expected then fails at the flush, and the caller does the record again with the careful path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from store.models import Escalation, Event, OutboxMail
from store.uow import UnitOfWork

_INFO = "mailbot.loaded"


@dataclass
class _Loaded:
    trails: dict[int, list[Event]] = field(default_factory=dict)  # escalation id -> its events, in order
    unsorted: set[int] = field(default_factory=set)  # trails with events added since they were last sorted
    outbox: dict[int, dict[str, list[str]]] = field(default_factory=dict)  # escalation id -> key -> To
    careful: bool = True


def _state(session: Session) -> _Loaded | None:
    return session.info.get(_INFO)


def load(uow: UnitOfWork, escalations: Iterable[Escalation]) -> None:
    """Read the audit trails and the outbox keys of ``escalations`` (persistent ones) in one query each."""
    ids = sorted({e.id for e in escalations if e.id is not None})
    state = uow.session.info.setdefault(_INFO, _Loaded())
    if not ids:
        return
    trails: dict[int, list[Event]] = {i: [] for i in ids}
    outbox: dict[int, dict[str, list[str]]] = {i: {} for i in ids}
    for start in range(0, len(ids), 500):  # bound the IN lists
        part = ids[start:start + 500]
        for found in uow.session.scalars(select(Event).where(Event.escalation_id.in_(part))
                                         .order_by(Event.at, Event.id)):
            trails[found.escalation_id].append(found)  # type: ignore[index]
        rows = uow.session.execute(select(OutboxMail.escalation_id, OutboxMail.key, OutboxMail.to_emails)
                                   .where(OutboxMail.escalation_id.in_(part)))
        for escalation_id, key, to in rows:
            outbox[escalation_id][key] = list(to or [])
    state.trails.update(trails)
    state.outbox.update(outbox)
    state.unsorted.difference_update(ids)


def trail(uow: UnitOfWork, esc: Escalation) -> list[Event]:
    """``uow.events.for_escalation(esc)``: the escalation's audit trail in order (a new list)."""
    state = _state(uow.session)
    events = state.trails.get(esc.id) if state is not None and esc.id is not None else None
    if events is None:
        return uow.events.for_escalation(esc)
    if esc.id in state.unsorted:  # as the store orders them: by time, then id (events not yet written last)
        events.sort(key=lambda e: (e.at, e.id is None, e.id or 0))
        state.unsorted.discard(esc.id)
    return list(events)


def queued(uow: UnitOfWork, esc: Escalation | None) -> dict[str, list[str]] | None:
    """The keys of ``esc``'s outbox rows with their To (do not change it), when it was loaded; else None."""
    state = _state(uow.session)
    if state is None or esc is None or esc.id is None:
        return None
    return state.outbox.get(esc.id)


def sent_keys(uow: UnitOfWork, esc: Escalation) -> list[tuple[str, list[str]]]:
    """``(key, to)`` of each of ``esc``'s outbox rows (from what was loaded, else from the store)."""
    known = queued(uow, esc)
    if known is None:
        return [(r.key, list(r.to_emails)) for r in uow.outbox.for_escalation(esc)]
    return list(known.items())


def fast(uow: UnitOfWork, esc: Escalation | None) -> bool:
    """Whether keys of ``esc`` may be written without a look-up: not careful (:func:`set_careful`), and ``esc``
    loaded."""
    state = _state(uow.session)
    return (state is not None and not state.careful and esc is not None and esc.id is not None
            and esc.id in state.outbox)


def set_careful(uow: UnitOfWork, value: bool) -> None:
    uow.session.info.setdefault(_INFO, _Loaded()).careful = value


# ---- kept up to date --------------------------------------------------------------------------------------------


def _escalation_id(instance: Any) -> int | None:
    esc = instance.escalation
    return esc.id if esc is not None else instance.escalation_id


def _added(session: Session, instance: object) -> None:
    """An object was added to a session: an event or an outbox row of a loaded record joins what was loaded."""
    state = _state(session)
    if state is None:
        return
    if isinstance(instance, Event):
        eid = _escalation_id(instance)
        events = state.trails.get(eid) if eid is not None else None
        if events is not None:
            events.append(instance)
            state.unsorted.add(eid)  # type: ignore[arg-type]
    elif isinstance(instance, OutboxMail):
        eid = _escalation_id(instance)
        keys = state.outbox.get(eid) if eid is not None else None
        if keys is not None:
            keys.setdefault(instance.key, list(instance.to_emails or []))


def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    """Any rollback (a SAVEPOINT's too) may take back what was added: forget everything loaded."""
    state = _state(session)
    if state is not None:
        state.trails.clear()
        state.outbox.clear()
        state.unsorted.clear()


def install() -> None:
    """The session listeners (idempotent; done when this module is imported)."""
    if not event.contains(Session, "transient_to_pending", _added):
        event.listen(Session, "transient_to_pending", _added)
    if not event.contains(Session, "after_soft_rollback", _rolled_back):
        event.listen(Session, "after_soft_rollback", _rolled_back)


install()

__all__ = ["fast", "load", "queued", "sent_keys", "set_careful", "trail"]
