"""Engines: private SQLite files (and side files), the pragmas, in-memory databases for tests."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from store.database import make_engine, sqlite_path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_and_its_wal_side_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "mailbot.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    try:
        assert path.exists() and _mode(path) == 0o600  # created before SQLite opened it
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        wal, shm = path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")
        assert wal.exists() and shm.exists()
        assert (_mode(path), _mode(wal), _mode(shm)) == (0o600, 0o600, 0o600)
        assert _mode(path.parent) == 0o700
    finally:
        engine.dispose()


def test_existing_wide_file_is_tightened_with_a_warning(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "old.sqlite3"
    path.touch()
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="store.database"):
        engine = make_engine(f"sqlite:///{path}")
    engine.dispose()
    assert _mode(path) == 0o600
    assert any("0600" in r.getMessage() for r in caplog.records)


def test_wide_side_file_is_tightened_on_connect(tmp_path: Path) -> None:
    path = tmp_path / "side.sqlite3"
    wal = path.with_name(path.name + "-wal")
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        wal.chmod(0o644)
        engine.dispose()
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        assert _mode(wal) == 0o600
    finally:
        engine.dispose()


def test_pragmas_are_set_on_every_connection(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    finally:
        engine.dispose()


def test_memory_database_is_shared_across_connections() -> None:
    engine = make_engine("sqlite://")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (5)"))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT x FROM t")).scalar() == 5
    finally:
        engine.dispose()


def test_savepoints_work_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 's.sqlite3'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
            nested = connection.begin_nested()
            connection.execute(text("INSERT INTO t VALUES (2)"))
            nested.rollback()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT x FROM t")).scalars().all() == [1]
    finally:
        engine.dispose()


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite://", None),
    ("sqlite:///:memory:", None),
    ("sqlite:///relative/db.sqlite3", Path("relative/db.sqlite3")),
    ("sqlite:////abs/db.sqlite3", Path("/abs/db.sqlite3")),
    ("postgresql+psycopg://u@localhost/db", None),
])
def test_sqlite_path(url: str, expected: Path | None) -> None:
    assert sqlite_path(url) == expected


def test_other_urls_are_passed_through(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[tuple[str, dict[str, object]]] = []
    monkeypatch.setattr("store.database.create_engine",
                        lambda url, **kwargs: seen.append((url.render_as_string(), kwargs)) or "engine")
    monkeypatch.chdir(tmp_path)
    assert make_engine("postgresql+psycopg://bot@db.internal/mailbot", pool_size=3) == "engine"
    assert seen == [("postgresql+psycopg://bot@db.internal/mailbot", {"pool_size": 3})]
    assert list(tmp_path.iterdir()) == []  # no file was made for it
