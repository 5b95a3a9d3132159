"""Fixtures that start real servers (see tests/servers.py, tests/postgres.py and DESIGN.md §6), shared by every
test folder: each server starts once per session, only when a test asks for it.

``dovecot`` and ``smtp`` live for the whole session; ``mailbox_user`` gives each test a fresh user, so tests
never see each other's mail. Without dovecot the tests are skipped, except under CI=true where they fail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

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
