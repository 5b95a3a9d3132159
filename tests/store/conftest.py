"""Fixtures for the store tests: a migrated SQLite file per test and a store with a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from store.uow import Store

from .builders import NOW


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a freshly migrated database (migrating once, copying per test, keeps the suite fast)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    store = Store(f"sqlite:///{path}")
    store.upgrade()
    store.dispose()
    return path.read_bytes()


@pytest.fixture
def db_url(tmp_path: Path, migrated_template: bytes) -> str:
    path = tmp_path / "db" / "mailbot.sqlite3"
    path.parent.mkdir()
    path.write_bytes(migrated_template)
    path.chmod(0o600)
    return f"sqlite:///{path}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url, clock=lambda: NOW)
    yield s
    s.dispose()
