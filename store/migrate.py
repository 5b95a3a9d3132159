"""Alembic, driven from code: no alembic.ini is needed at run time.

``upgrade(url_or_engine)`` brings a database to the newest revision (running it again is a no-op),
``current(url)`` is the database's revision (None before the first upgrade) and ``head()`` the newest one.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from .database import make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config pointing at ``store/migrations`` (and at ``engine`` when given)."""
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
    """Upgrade the database to ``revision`` (default: the newest) in one transaction."""
    engine, owned = _engine(url_or_engine)
    try:
        with engine.begin() as connection:
            config = alembic_config(engine)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        if owned:
            engine.dispose()


def current(url_or_engine: str | URL | Engine) -> str | None:
    """The revision the database is at, or None if it has never been upgraded."""
    engine, owned = _engine(url_or_engine)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if owned:
            engine.dispose()


def head() -> str:
    """The newest revision in ``store/migrations``."""
    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if found is None:  # pragma: no cover - the package always ships its first revision
        raise RuntimeError("store/migrations has no revisions")
    return found


__all__ = ["alembic_config", "current", "head", "upgrade"]
