"""What every `mailbot` command shares: the one App per run (config and clock from the global options), the
option parsers, and one line with exit status 2 for a user's mistake, never a traceback.

Light on purpose: defining the commands imports this module, click and the standard library only; the App, the
configuration, the rules, the time zone and logging are imported by the functions here that use them, when a command
calls them."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time
from functools import cache, wraps
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from mailbot.app import App
    from mailbot.config import Config

F = TypeVar("F", bound=Callable[..., Any])


@cache
def london() -> ZoneInfo:
    """Europe/London: the very object :data:`rules.calendar.LONDON` is (ZoneInfo keeps one per key), without importing
    the calendar and the holidays package with it; read when first used (``mailbot --help`` reads no time zone)."""
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/London")



NOW_HELP = ("Pretend it is this moment (rehearsals and tests): a date, 07/12/2026 or 2026-12-07 (09:00 London), or "
            "an ISO date-time (without a zone: London). Mail read is received then, ticks and digests run then.")


_UK_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})")


def parse_day(value: str) -> date:
    """A date as people here write it: ISO (``2026-12-21``) or UK day first (``21/12/2026``, ``21/12/26``,
    ``21.12.2026``, ``21-12-2026``). ValueError if neither, or not a day of the calendar."""
    value = value.strip()
    uk = _UK_DATE.fullmatch(value)
    if uk is None:
        return date.fromisoformat(value)
    day, month, year = (int(g) for g in uk.groups())
    return date(year + 2000 if year < 100 else year, month, day)


def parse_moment(value: str, day_time: time = time(9)) -> datetime:
    """A date (ISO or UK, at ``day_time``, London) or an ISO date-time (without a zone: London). ValueError if
    neither."""
    value = value.strip()
    if "T" not in value and " " not in value and len(value) <= 10:
        return datetime.combine(parse_day(value), day_time, tzinfo=london())
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=london()) if moment.tzinfo is None else moment


def fail(message: str, status: int = 2) -> NoReturn:
    click.echo(f"mailbot: error: {message}", err=True)
    sys.exit(status)


def friendly(func: F) -> F:
    """Turn the project's own exceptions into one line and exit status 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            if isinstance(exc, user_errors()):
                fail(str(exc))
            raise

    return wrapper  # type: ignore[return-value]


def user_errors() -> tuple[type[Exception], ...]:
    """The project's own exceptions, each a person's mistake to tell in one line (imported when one is caught)."""
    from mailbot.errors import MailbotError
    from rules.errors import RulesError

    return MailbotError, RulesError


def iso_date(ctx: click.Context | None, param: click.Parameter | None, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return parse_day(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write it as 05/12/2026 or 2026-12-05") from None


def _set_now(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """``--now``, wherever it is given (before the command or after it), sets the one clock of the run."""
    if value is None:
        return
    try:
        moment = parse_moment(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date or date-time; write e.g. 2026-12-07 or "
                                 "2026-12-07T10:30") from None
    root = ctx.find_root().ensure_object(dict)
    if "app" in root:
        raise click.UsageError("--now must come before anything the command has already read")
    root["now"] = moment


def now_option(func: F) -> F:
    """The ``--now ISO`` option: the same on the ``mailbot`` group and on ``tick`` and ``digest``."""
    return click.option("--now", metavar="ISO", envvar="MAILBOT_NOW", expose_value=False, is_eager=True,
                        callback=_set_now, help=NOW_HELP)(func)


def config_of(ctx: click.Context) -> Config:
    """The configuration of this run: ``--config``/``$MAILBOT_CONFIG``, else the embedded default (with the
    council's domains from ``$MAILBOT_DOMAINS`` when set)."""
    from mailbot.config import DOMAINS_ENV, embedded_default, load_config

    obj = ctx.find_root().ensure_object(dict)
    if "config" not in obj:
        path = obj.get("config_path")
        obj["config"] = load_config(path) if path else embedded_default(domains=os.environ.get(DOMAINS_ENV))
    return obj["config"]  # type: ignore[no-any-return]


def announce_default(cfg: Config) -> None:
    """On the embedded default, say in one line on stderr which domain it treats as the council's and how to use your
    own: ``run``, ``poll``, ``tick`` and ``drop`` act on mail by it."""
    notice = cfg.embedded_notice()
    if notice is not None:
        click.echo(notice, err=True)


def app_of(ctx: click.Context) -> App:
    """The one :class:`~mailbot.app.App` of this run, with the clock ``--now`` fixed (or the system clock)."""
    from mailbot.app import App, fixed_clock, system_clock

    obj = ctx.find_root().ensure_object(dict)
    if "app" not in obj:
        now: datetime | None = obj.get("now")
        obj["app"] = App(config_of(ctx), clock=fixed_clock(now) if now is not None else system_clock)
        ctx.find_root().call_on_close(obj["app"].close)
    return obj["app"]  # type: ignore[no-any-return]


def clock_of(ctx: click.Context) -> Callable[[], datetime]:
    """The run's clock without building the App for it: the App's once there is one, else the moment ``--now``
    fixed, else the system clock (the clocks :func:`app_of` gives the App)."""
    obj = ctx.find_root().ensure_object(dict)
    if "app" in obj:
        return obj["app"].clock  # type: ignore[no-any-return]
    now: datetime | None = obj.get("now")
    if now is not None:
        return lambda: now
    return lambda: datetime.now(UTC)


def today(ctx: click.Context) -> date:
    """Today in London, by the run's clock."""
    return clock_of(ctx)().astimezone(london()).date()


def safe_url(url: str) -> str:
    """A database URL with any password hidden (:func:`mailbot.app.safe_url`, imported when needed)."""
    from mailbot.app import safe_url as hide

    return hide(url)


class LazyChoice(click.Choice):
    """A :class:`click.Choice` whose choices, ``choices()``, are read when first needed (a value given, the command's
    own help), not when the command is defined: ``mailbot --help`` then imports nothing of the rules."""

    def __init__(self, choices: Callable[[], Iterable[str]], case_sensitive: bool = True) -> None:
        self._load = choices
        self._choices: tuple[str, ...] | None = None
        self.case_sensitive = case_sensitive

    @property
    def choices(self) -> tuple[str, ...]:
        if self._choices is None:
            self._choices = tuple(self._load())
        return self._choices


def verbose(cfg: Config) -> None:
    """Long-running commands log at the configured level; one-shot commands only warn."""
    import logging

    logging.getLogger().setLevel(cfg.log_level)


__all__ = ["LazyChoice", "announce_default", "app_of", "clock_of", "config_of", "fail", "friendly", "iso_date",
           "london", "now_option", "parse_day", "parse_moment", "safe_url", "today", "user_errors", "verbose"]
