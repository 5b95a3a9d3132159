"""Column types shared by the models: UTC-aware timestamps and mutable JSON lists/dicts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.mutable import MutableDict, MutableList
from sqlalchemy.types import TypeDecorator

from .errors import NaiveDateTimeError


class UTCDateTime(TypeDecorator[datetime]):
    """A ``DateTime(timezone=True)`` that stores UTC and always gives back aware UTC datetimes.

    SQLite keeps no offset, so values are converted to UTC before they are written and the UTC zone is put
    back when they are read. PostgreSQL (``timestamptz``) round-trips them as they are. Naive datetimes are
    refused: they are a bug (whose local time would it be?).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDateTimeError(f"naive datetime {value.isoformat()} cannot be stored: give it a zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_list() -> Any:
    """A JSON column holding a list; in-place changes (``append``) are tracked."""
    return MutableList.as_mutable(JSON(none_as_null=True))


def json_dict() -> Any:
    """A JSON column holding an object; in-place changes are tracked."""
    return MutableDict.as_mutable(JSON(none_as_null=True))
