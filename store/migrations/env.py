"""Alembic environment for the store.

Run from code (``store.migrate``), the connection comes in ``config.attributes["connection"]``. Run from the
``alembic`` command line (``alembic -c store/alembic.ini ...``), the URL is ``-x url=...`` or the
``MAILBOT_DATABASE_URL`` environment variable or ``sqlalchemy.url`` in the ini file.
"""

from __future__ import annotations

import os
from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from store.columns import UTCDateTime
from store.database import make_engine
from store.models import Base

config = context.config
target_metadata = Base.metadata


def _render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Write the store's own column types as plain SQLAlchemy types, so revisions never import the models."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
        render_item=_render_item,
    )


def _url() -> str:
    url = (context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("MAILBOT_DATABASE_URL")
           or config.get_main_option("sqlalchemy.url"))
    if not url:
        raise RuntimeError("no database: pass -x url=... or set MAILBOT_DATABASE_URL")
    return url


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
