"""Times go in aware, any zone, and come back aware UTC (SQLite keeps no offset); naive times are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import StatementError

from store.errors import NaiveDateTimeError
from store.models import Cursor
from store.uow import Store

from .builders import make_escalation


def test_london_time_round_trips_as_the_same_instant_in_utc(store: Store) -> None:
    summer = datetime(2026, 7, 1, 14, 5, 6, 789, tzinfo=ZoneInfo("Europe/London"))  # BST, UTC+1
    with store.unit_of_work() as uow:
        esc = make_escalation(uow, opened_at=summer)
        pk = esc.id
    with store.unit_of_work() as uow:
        loaded = uow.escalations.get_by_id(pk)
        assert loaded is not None
        assert loaded.opened_at == summer
        assert loaded.opened_at.tzinfo is UTC
        assert loaded.opened_at.hour == 13
        assert loaded.stages[0].started_at.utcoffset() == timedelta(0)


def test_naive_datetime_is_refused(store: Store) -> None:
    with pytest.raises(StatementError) as info, store.unit_of_work() as uow:
        make_escalation(uow, opened_at=datetime(2026, 1, 1, 9, 0))
    assert isinstance(info.value.orig, NaiveDateTimeError)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)),
    offset_minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_any_aware_time_round_trips(store: Store, moment: datetime, offset_minutes: int) -> None:
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    with store.unit_of_work() as uow:
        uow.cursors.set("k", "v")
        uow.session.flush()
        row = uow.session.get(Cursor, "k")
        assert row is not None
        row.updated_at = aware
        uow.session.flush()
        uow.session.expire(row)
        assert row.updated_at == aware
        assert row.updated_at.tzinfo is UTC
        uow.rollback()
