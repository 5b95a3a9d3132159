"""What every `mailbot` command shares: one line and exit status 2 for a user's mistake, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date, datetime, time
from functools import wraps
from typing import Any, NoReturn, TypeVar

import click

from rules.calendar import LONDON
from rules.errors import RulesError

from .errors import MailbotError

F = TypeVar("F", bound=Callable[..., Any])


def parse_moment(value: str, day_time: time) -> datetime:
    """``--now``: an ISO date (at ``day_time``, London) or date-time (without a zone: London). ValueError if neither."""
    value = value.strip()
    if "T" not in value and " " not in value and len(value) <= 10:
        return datetime.combine(date.fromisoformat(value), day_time, tzinfo=LONDON)
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=LONDON) if moment.tzinfo is None else moment


def fail(message: str) -> NoReturn:
    click.echo(f"mailbot: error: {message}", err=True)
    sys.exit(2)


def friendly(func: F) -> F:
    """Turn the project's own exceptions into one line and exit status 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (MailbotError, RulesError) as exc:
            fail(str(exc))

    return wrapper  # type: ignore[return-value]
