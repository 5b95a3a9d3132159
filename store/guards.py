"""The audit trail is append-only: events may be added through the ORM, never changed or deleted.

Three guards, installed when this module is imported (the ``store`` package imports it, so they are always on):
- ``before_flush`` refuses a session whose pending changes modify or delete a persisted :class:`Event`;
- mapper ``before_update``/``before_delete`` on :class:`Event` catch anything that reaches the flush anyway;
- ``do_orm_execute`` refuses bulk ``update(Event)``/``delete(Event)`` statements run through a session.

The one exception is the retention purge, which removes whole closed records with Core ``DELETE`` statements
on the table inside :func:`allow_purge` (it marks the session, so the bulk guard lets its deletes through).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from .errors import AppendOnlyError
from .models import Event

PURGE_FLAG = "store.purging"


@contextmanager
def allow_purge(session: Session) -> Iterator[None]:
    """Let ``session`` run bulk deletes on the events table (retention only)."""
    session.info[PURGE_FLAG] = True
    try:
        yield
    finally:
        session.info.pop(PURGE_FLAG, None)


def _before_flush(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, Event):
            raise AppendOnlyError(f"event {obj.id} cannot be deleted: the audit trail is append-only")
    for obj in session.dirty:
        if isinstance(obj, Event) and session.is_modified(obj, include_collections=False):
            raise AppendOnlyError(f"event {obj.id} cannot be changed: the audit trail is append-only")


def _refuse_update(mapper: Any, connection: Any, target: Event) -> None:
    raise AppendOnlyError(f"event {target.id} cannot be changed: the audit trail is append-only")


def _refuse_delete(mapper: Any, connection: Any, target: Event) -> None:
    raise AppendOnlyError(f"event {target.id} cannot be deleted: the audit trail is append-only")


def _targets_events(state: ORMExecuteState) -> bool:
    table = getattr(state.statement, "table", None)
    return table is not None and getattr(table, "name", None) == Event.__tablename__


def _do_orm_execute(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and _targets_events(state):
        if state.is_delete and state.session.info.get(PURGE_FLAG):
            return
        raise AppendOnlyError("events cannot be updated or deleted in bulk: the audit trail is append-only")


def install() -> None:
    """Install the guards (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
    if not event.contains(Session, "do_orm_execute", _do_orm_execute):
        event.listen(Session, "do_orm_execute", _do_orm_execute)
    if not event.contains(Event, "before_update", _refuse_update):
        event.listen(Event, "before_update", _refuse_update)
    if not event.contains(Event, "before_delete", _refuse_delete):
        event.listen(Event, "before_delete", _refuse_delete)


install()

__all__ = ["allow_purge", "install"]
