"""Persistence: SQLAlchemy 2.x models, unit of work and Alembic migrations.

- ``store.models`` — the tables (Escalation, Stage, Message, Event, OutboxMail, Cursor); aware-UTC times.
- ``store.uow`` — ``Store(url)`` (engine + sessions; ``upgrade()``; ``unit_of_work()``) and ``UnitOfWork``
  with the repositories of ``store.repositories``: escalations, messages, events, outbox, cursors.
- ``store.database`` — ``make_engine(url)``: private (0600) SQLite files in WAL mode, other URLs as given.
- ``store.migrate`` — Alembic from code: ``upgrade(url_or_engine)``, ``current(url)``, ``head()``.
- ``store.guards`` — the events table is append-only through the ORM (installed here, on import of the package, so
  they are in force wherever the models are used).
- ``store.retention`` — ``purge(uow, closed_before, unmatched_before) -> PurgeReport``.
"""

from . import guards as _guards  # noqa: F401  (installs the append-only guards)
