"""Outbox attachments (revision 0002) and the claim that keeps two deliverers off the same row."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from store import migrate
from store.database import make_engine
from store.models import Base, OutboxMail
from store.uow import Store

from .builders import NOW

PDF = b"%PDF-1.4\n\x00\x01\x02\xff binary \r\n bytes"


def _queue(store: Store, key: str, **extra: object) -> None:
    with store.unit_of_work() as uow:
        uow.outbox.add(key=key, message_id=f"<{key}@bot.example.test>", kind="chase",
                       from_email="bot@example.test", to_emails=["tm@example.test"], subject="s",
                       body_text="b", **extra)  # type: ignore[arg-type]


def test_attachments_round_trip_as_bytes(store: Store) -> None:
    _queue(store, "with", attachments=[("plan.pdf", "application/pdf", PDF),
                                       ("tracker – week 48.csv", "text/csv", b"a,b\r\n")])
    _queue(store, "without")
    with store.unit_of_work() as uow:
        row = uow.outbox.get("with")
        assert row is not None
        assert row.attachment_list() == [("plan.pdf", "application/pdf", PDF),
                                         ("tracker – week 48.csv", "text/csv", b"a,b\r\n")]
        assert row.attachments[0]["filename"] == "plan.pdf"
        assert isinstance(row.attachments[0]["data"], str)  # base64 text inside the JSON
        empty = uow.outbox.get("without")
        assert empty is not None and empty.attachments == [] and empty.attachment_list() == []


def test_attachment_data_must_be_bytes(store: Store) -> None:
    with pytest.raises(TypeError, match="must be bytes"):
        _queue(store, "bad", attachments=[("x.txt", "text/plain", "not bytes")])
    with store.unit_of_work() as uow:
        assert uow.outbox.get("bad") is None


def test_claim_is_a_compare_and_set(store: Store) -> None:
    _queue(store, "a")
    lease = NOW + timedelta(minutes=10)
    with store.unit_of_work() as reader:  # a second deliverer read the row before the first one claimed it
        theirs = reader.outbox.pending(NOW)[0]
    with store.unit_of_work() as first:
        mine = first.outbox.pending(NOW)[0]
        assert first.outbox.claim(mine, NOW, lease)
        assert mine.attempts == 1 and mine.next_attempt_at == lease
    with store.unit_of_work() as second:
        stale = second.session.merge(theirs, load=False)  # its stale copy: attempts 0, due now
        assert stale.attempts == 0
        assert not second.outbox.claim(stale, NOW, lease)  # the compare-and-set matches no row
    with store.unit_of_work() as uow:
        assert uow.outbox.pending(NOW) == []
        assert [m.key for m in uow.outbox.pending(lease)] == ["a"]  # the lease runs out
        row = uow.outbox.get("a")
        assert row is not None
        uow.outbox.mark_sent(row, NOW, count_attempt=False)
    with store.unit_of_work() as uow:
        row = uow.outbox.get("a")
        assert row is not None and row.status == "sent" and row.attempts == 1
        assert not uow.outbox.claim(row, lease, lease)  # a sent row is never claimed again


def test_mark_failed_without_counting(store: Store) -> None:
    _queue(store, "a")
    with store.unit_of_work() as uow:
        row = uow.outbox.pending(NOW)[0]
        assert uow.outbox.claim(row, NOW, NOW + timedelta(minutes=10))
        uow.outbox.mark_failed(row, "SendTemporaryError: 451", retry_at=NOW + timedelta(minutes=1),
                               count_attempt=False)
    with store.unit_of_work() as uow:
        row = uow.outbox.get("a")
        assert row is not None and row.attempts == 1 and row.status == "pending"
        assert row.next_attempt_at == NOW + timedelta(minutes=1)


def test_migration_0002_adds_the_column_to_existing_rows_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'upgrade.sqlite3'}"
    migrate.upgrade(url, "0001")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO outbox (key, message_id, kind, from_email, to_emails, cc_emails, subject, body_text,"
                " headers, status, attempts, created_at) VALUES ('old', 'old@x', 'chase', 'bot@example.test',"
                " '[\"tm@example.test\"]', '[]', 's', 'b', '{}', 'pending', 0, '2026-11-24 09:00:00')"
            )
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head()  # 0002 and every revision after it
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        store = Store(engine)
        with store.unit_of_work() as uow:
            old = uow.outbox.get("old")
            assert isinstance(old, OutboxMail)
            assert old.attachments == [] and old.attachment_list() == []
            old.attachments = [{"filename": "a.txt", "content_type": "text/plain", "data": "aGk="}]
        with store.unit_of_work() as uow:
            again = uow.outbox.get("old")
            assert again is not None and again.attachment_list() == [("a.txt", "text/plain", b"hi")]

        with engine.begin() as connection:  # and down again (SQLite: batch mode copies the table)
            config = migrate.alembic_config(engine)
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
        assert migrate.current(engine) == "0001"
        with engine.connect() as connection:
            columns = {c["name"] for c in inspect(connection).get_columns("outbox")}
            rows = connection.exec_driver_sql("SELECT key, status FROM outbox").all()
        assert "attachments" not in columns and "key" in columns
        assert rows == [("old", "pending")]
    finally:
        engine.dispose()
