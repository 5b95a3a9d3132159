"""The store's exceptions: one hierarchy, so the shell can turn any of them into one clear line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class StoreError(Exception):
    """Something went wrong in the persistence layer."""


class AppendOnlyError(StoreError):
    """An audit-trail event was about to be changed or deleted; events are written once and kept."""


class NaiveDateTimeError(StoreError, ValueError):
    """A datetime without a timezone was about to be stored; the store keeps aware UTC times only."""


class StoreUnavailable(StoreError):
    """The database cannot be used just now (locked, disk full, connection lost, read-only). Nothing was written:
    the caller leaves its work undone and tries again later."""


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is the database being unavailable rather than a fault in what was asked of it: SQLite's
    "database is locked", "disk I/O error", "database or disk is full", a read-only file; a lost PostgreSQL
    connection. Such work is retried, never filed as a failure."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


@contextmanager
def unavailable_raised() -> Iterator[None]:
    """Inside the block, the database being unavailable (:func:`is_transient`) raises :class:`StoreUnavailable`;
    every other error passes through as it is."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise StoreUnavailable(describe(exc)) from exc
        raise


def describe(exc: BaseException) -> str:
    """The database's own words for ``exc`` on one line, without the SQL or its parameters (they may hold mail)."""
    original = getattr(exc, "orig", None) or exc
    return " ".join(f"{type(original).__name__}: {original}".split())[:200]
