"""Alembic, driven from code: no alembic.ini is needed at run time.

``upgrade(url_or_engine)`` brings a database to the newest revision (running it again is a no-op),
``current(url)`` is the database's revision (None before the first upgrade) and ``head()`` the newest one.

Every command that opens the store upgrades it first, so the common case — the schema already current — is one
read of Alembic's version table against :data:`HEAD`, without Alembic (importing it and reading the revision scripts
cost more than most commands; tests/store check :data:`HEAD` against the scripts).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from .database import make_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The newest revision in ``store/migrations/versions`` (a new migration changes it; a test says so when not).
HEAD = "0006"


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config pointing at ``store/migrations`` (and at ``engine`` when given)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def _engine(url_or_engine: str | URL | Engine) -> tuple[Engine, bool]:
    if isinstance(url_or_engine, Engine):
        return url_or_engine, False
    return make_engine(url_or_engine), True


def upgrade(url_or_engine: str | URL | Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (default: the newest) in one transaction; nothing (one read) when it is
    at the newest already."""
    engine, owned = _engine(url_or_engine)
    try:
        if revision == "head" and is_current(engine):
            return
        from alembic import command

        with engine.begin() as connection:
            config = alembic_config(engine)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        if owned:
            engine.dispose()


def is_current(engine: Engine) -> bool:
    """Whether the database is at :data:`HEAD`: one read of Alembic's version table (False when there is none)."""
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:  # no version table yet (a new database), or it cannot be read: Alembic will tell
        return False
    return rows == [HEAD]


def current(url_or_engine: str | URL | Engine) -> str | None:
    """The revision the database is at, or None if it has never been upgraded."""
    from alembic.runtime.migration import MigrationContext

    engine, owned = _engine(url_or_engine)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if owned:
            engine.dispose()


def head() -> str:
    """The newest revision in ``store/migrations`` (read from the scripts; :data:`HEAD` says the same)."""
    from alembic.script import ScriptDirectory

    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if found is None:  # pragma: no cover - the package always ships its first revision
        raise RuntimeError("store/migrations has no revisions")
    return found


__all__ = ["HEAD", "alembic_config", "current", "head", "is_current", "upgrade"]
