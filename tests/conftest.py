"""Fixtures shared by every test folder: the bot's usual parts (a settable clock, the example council's config, a
migrated SQLite store, the ingestor), and the real servers (see tests/servers.py and tests/postgres.py), each
started once per session, only when a test asks for it. A module that needs another config overrides ``config``.

``dovecot`` and ``smtp`` live for the whole session; ``mailbox_user`` gives each test a fresh user, so tests
never see each other's mail. Without dovecot the tests are skipped, except under CI=true where they fail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailbot.config import Config
from mailbot.mail_in.ingest import Ingestor
from store.uow import Store
from tests.botsetup import OPENED, Clock, example_config, migrated_store
from tests.postgres import PostgresServer, start_postgres
from tests.servers import DEFAULT_PASSWORD, DovecotServer, SmtpServer, start_dovecot

PEOPLE = (
    "iro-escalations@example.test",  # the shared mailbox the bot watches
    "iro@example.test",
    "tm@example.test",  # team manager
    "sm@example.test",  # service manager
    "hos@example.test",  # head of service
    "director@example.test",
    "qa@example.test",  # QA manager
)


# ---- the bot's parts ---------------------------------------------------------------------------------------


@pytest.fixture()
def clock() -> Clock:
    """Tuesday 24 November 2026, 09:15 London; tests move it with ``clock.now = …`` or ``clock.advance(…)``."""
    return Clock(OPENED)


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    return example_config(tmp_path)


@pytest.fixture()
def store(config: Config, clock: Clock) -> Iterator[Store]:
    made = migrated_store(config, clock)
    yield made
    made.dispose()


@pytest.fixture()
def bot(store: Store, config: Config, clock: Clock) -> Ingestor:
    return Ingestor(store, config, clock)


# ---- real servers --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    server = start_dovecot({person: DEFAULT_PASSWORD for person in PEOPLE})
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def smtp(dovecot: DovecotServer) -> Iterator[SmtpServer]:
    """An SMTP sink (no AUTH) that keeps every message and delivers it into dovecot."""
    with SmtpServer(dovecot) as server:
        yield server


@pytest.fixture
def mailbox_user(dovecot: DovecotServer) -> str:
    """A new user with an empty mailbox, password ``secret``."""
    return dovecot.add_user(f"box-{uuid.uuid4().hex[:12]}@example.test", DEFAULT_PASSWORD)


# ---- PostgreSQL (tests/postgres.py): one cluster per session, one fresh database per test ---------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL cluster; skipped without PostgreSQL, failed under CI=true."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """The SQLAlchemy URL of a new, empty database in the session's cluster (dropped after the test)."""
    url = postgres.create_database()
    try:
        yield url
    finally:
        postgres.drop_database(url.rsplit("/", 1)[1])
