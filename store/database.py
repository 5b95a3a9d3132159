"""Engines: SQLite files created private (0600) with WAL and foreign keys on; other URLs passed through.

The database holds children's names and mail, so a SQLite file (and its ``-wal``/``-shm`` side files) is
readable by its owner only. The file is created with ``os.open(path, O_CREAT, 0o600)`` *before* SQLite touches
it; SQLite creates the side files with the database file's permissions, and every new connection tightens any
side file that is wider anyway (e.g. one left by an older version).

pysqlite's own transaction handling is switched off (``isolation_level=None``) and SQLAlchemy emits
``BEGIN IMMEDIATE`` itself. That makes SAVEPOINTs (used for idempotent inserts) and transactional DDL work,
and it makes writers queue on ``busy_timeout`` instead of failing with "database is locked" when two
transactions that started as readers both try to write. The price: every unit of work, even one that only
reads, holds SQLite's write lock while it is open, so keep them short.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700
BUSY_TIMEOUT_MS = 5000
SIDE_FILE_SUFFIXES = ("-wal", "-shm", "-journal")


def sqlite_path(url: str | URL) -> Path | None:
    """The database file of a SQLite URL, or None for an in-memory database (or a ``file:`` URI)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or parsed.query.get("uri"):
        return None
    return Path(database).expanduser()


def prepare_sqlite_file(path: Path) -> None:
    """Create the database file (and its directory) readable by the owner only, or tighten an existing one."""
    if not path.parent.exists():
        path.parent.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, FILE_MODE)
    os.close(fd)
    _tighten(path)


def _tighten(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        log.warning("database file was readable by others; setting mode 0600 path=%s mode=%o", path, mode)
        path.chmod(FILE_MODE)


def _tighten_side_files(path: Path) -> None:
    for suffix in SIDE_FILE_SUFFIXES:
        _tighten(path.with_name(path.name + suffix))


def _sqlite_hooks(engine: Engine, path: Path | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy says BEGIN, not pysqlite (see module docstring)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()
        if path is not None:
            _tighten_side_files(path)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for ``url``. SQLite files are made private first; ``sqlite://`` is one shared in-memory DB.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, **kwargs)
    path = sqlite_path(parsed)
    if path is not None:
        prepare_sqlite_file(path)
    elif (parsed.database or "") in ("", ":memory:"):
        kwargs.setdefault("poolclass", StaticPool)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
    engine = create_engine(parsed, **kwargs)
    _sqlite_hooks(engine, path)
    return engine


__all__ = ["make_engine", "prepare_sqlite_file", "sqlite_path"]
