"""What every `mailbot` command shares: one line and exit status 2 for a user's mistake, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

import click

from rules.errors import RulesError

from .errors import MailbotError

F = TypeVar("F", bound=Callable[..., Any])


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
