"""Alembic: the first revision builds exactly the models' schema, and upgrading is idempotent."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, inspect

from store import migrate
from store.database import make_engine
from store.models import Base


def test_revisions_are_numbered_in_order_and_head_is_the_latest() -> None:
    versions = sorted(p.name[:4] for p in (Path(migrate.__file__).parent / "migrations" / "versions").glob("0*.py"))
    assert versions == [f"{n:04d}" for n in range(1, len(versions) + 1)]
    assert migrate.head() == versions[-1]
    assert migrate.head() == migrate.HEAD, "a new migration: set store.migrate.HEAD to its revision"


def test_a_current_schema_is_seen_in_one_read_and_an_older_one_is_upgraded(tmp_path: Path) -> None:
    """Opening the store costs one read when its schema is current; a database a revision behind (or new) is still
    upgraded by Alembic."""
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    engine = make_engine(url)
    try:
        assert not migrate.is_current(engine)  # no version table yet
        migrate.upgrade(engine, "0003")
        assert not migrate.is_current(engine)
        migrate.upgrade(engine)
        assert migrate.is_current(engine) and migrate.current(engine) == migrate.HEAD
        statements: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        migrate.upgrade(engine)
        assert [s for s in statements if not s.startswith("BEGIN")] == ["SELECT version_num FROM alembic_version"]
    finally:
        engine.dispose()


def test_fresh_file_upgrades_to_a_schema_that_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    assert migrate.current(url) is None
    migrate.upgrade(url)
    assert migrate.current(url) == migrate.head()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            tables = set(inspect(connection).get_table_names())
        assert {"escalations", "stages", "messages", "events", "outbox", "cursors"} <= tables
    finally:
        engine.dispose()


def test_upgrade_twice_is_a_no_op(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.sqlite3'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO cursors (source_key, value, updated_at)"
                " VALUES ('imap', '7:42', '2026-11-24 09:00:00')"
            )
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head()
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT source_key, value FROM cursors").all()
            versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        assert rows == [("imap", "7:42")]
        assert versions == [(migrate.head(),)]
    finally:
        engine.dispose()


def test_store_upgrade_uses_its_engine(tmp_path: Path) -> None:
    from store.uow import Store

    store = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    try:
        assert store.current_revision() is None
        store.upgrade()
        store.upgrade()
        assert store.current_revision() == migrate.head()
    finally:
        store.dispose()
