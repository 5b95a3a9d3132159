"""The store and its unit of work (cosmicpython style): one transaction, the repositories that work in it.

    store = Store("sqlite:///var/mailbot.sqlite3")
    store.upgrade()
    with store.unit_of_work() as uow:
        esc = uow.escalations.get("ESC-0042")
        uow.events.append("note", escalation=esc, actor="iro@council.gov.uk", data={"text": "..."})
    # committed here; an exception inside the block rolls everything back
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from . import migrate
from .database import make_engine, sqlite_path
from .repositories import (
    CursorRepository,
    EscalationRepository,
    EventRepository,
    MessageRepository,
    OutboxRepository,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


class UnitOfWork:
    """One session and transaction. Use it as a context manager: commit on success, roll back on exception."""

    session: Session
    escalations: EscalationRepository
    messages: MessageRepository
    events: EventRepository
    outbox: OutboxRepository
    cursors: CursorRepository

    def __init__(self, session_factory: sessionmaker[Session],
                 clock: Callable[[], datetime] = utc_now, *, durable: bool = True) -> None:
        self._session_factory = session_factory
        self.clock = clock
        self.durable = durable
        self._relaxed: tuple[Connection, Any, int] | None = None

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory() if self.durable else self._relaxed_session()
        self.escalations = EscalationRepository(self.session)
        self.messages = MessageRepository(self.session)
        self.events = EventRepository(self.session, self.clock)
        self.outbox = OutboxRepository(self.session, self.clock)
        self.cursors = CursorRepository(self.session, self.clock)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc_type is None:
                self.commit()
            else:
                self.rollback()
        finally:
            self.session.close()
            if self._relaxed is not None:
                connection, raw, level = self._relaxed
                self._relaxed = None
                try:
                    raw.execute(f"PRAGMA synchronous={int(level)}")  # outside any transaction again
                finally:
                    connection.close()

    def _relaxed_session(self) -> Session:
        """A session whose commit does not wait for the disk (SQLite ``synchronous=NORMAL`` in WAL mode: the
        commit survives the process being killed, not the machine losing power). Only for what may be lost on a
        power cut without harm, because it is found again (the deliverer's "sent" mark: a mark lost leaves the
        mail in doubt, and it is looked for before being sent again). Other databases: an ordinary session."""
        bind = self._session_factory.kw.get("bind")
        if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
            return self._session_factory()
        connection = bind.connect()  # no transaction yet: the pragma may only change outside one
        raw = connection.connection.driver_connection
        assert raw is not None
        level = raw.execute("PRAGMA synchronous").fetchone()[0]
        raw.execute("PRAGMA synchronous=NORMAL")
        self._relaxed = (connection, raw, level)
        return self._session_factory(bind=connection)

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def flush(self) -> None:
        self.session.flush()


class Store:
    """The database: an engine, a session factory and the schema's migrations."""

    def __init__(self, url: str | URL | Engine, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine = url if isinstance(url, Engine) else make_engine(url)
        self.clock = clock
        self.session_factory = sessionmaker(bind=self.engine, expire_on_commit=False)

    def upgrade(self) -> None:
        """Bring the schema to the newest revision (Alembic); a no-op when it is there already."""
        migrate.upgrade(self.engine)

    def current_revision(self) -> str | None:
        return migrate.current(self.engine)

    def unit_of_work(self, *, durable: bool = True) -> UnitOfWork:
        """A transaction. ``durable=False``: on SQLite its commit does not wait for the disk (see
        :meth:`UnitOfWork._relaxed_session`); use it only for what is found again after a power cut."""
        return UnitOfWork(self.session_factory, self.clock, durable=durable)

    def make_durable(self) -> None:
        """Wait until every transaction committed so far is on the disk, those of relaxed units of work
        (``durable=False``) included. On an SQLite file in WAL mode a relaxed commit is in the WAL file, not yet
        synced (or already in the database file, which a checkpoint syncs): syncing the WAL file, and its folder
        for a WAL file just made, is what a ``synchronous=FULL`` commit would have done. Other databases commit
        durably: nothing to do. Raises OSError when the disk refuses."""
        path = sqlite_path(self.engine.url) if self.engine.dialect.name == "sqlite" else None
        if path is None:
            return
        wal = path.with_name(path.name + "-wal")
        try:
            fd = os.open(wal, os.O_RDONLY)
        except FileNotFoundError:  # checkpointed and removed: the database file was synced by the checkpoint
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def dispose(self) -> None:
        """Close the engine's connections (end of the process, or of a test)."""
        self.engine.dispose()


__all__ = ["Store", "UnitOfWork", "utc_now"]
