"""The words of the bot's mails: Jinja2 templates — subject line, text and HTML — overridable from a folder in config.

Every mail has three templates in ``templates/``: ``<name>.subject.j2`` (one line), ``<name>.txt.j2`` and
``<name>.html.j2``; HTML ones extend ``_layout.html.j2`` (tables and inline CSS, so Outlook renders them). A council
puts its own files of the same names in the folder ``mail_out.templates`` and they win; a missing file there falls
back to the built-in one.

Dates. ``long_date`` and ``short_date`` take a date, a datetime or a :class:`rules.calendar.WorkingDate` (a due
date as people must read it): a due date that is not a working day is shown as the working day it means, and the
long form gives the reason — ``Tuesday 29 December 2026 (the date given, 25 December, is a bank holiday)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2

from mailbot.config import Config
from rules.calendar import WorkingDate

BUILT_IN = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def long_date(value: date | datetime | WorkingDate | None) -> str:
    """``Tuesday 1 December 2026`` — the unambiguous form for people; for a :class:`WorkingDate` that is not the
    date given, the working day it means and why: ``Tuesday 29 December 2026 (the date given, 25 December, is a
    bank holiday)``."""
    if value is None:
        return "—"
    if isinstance(value, WorkingDate):
        day = f"{value.day:%A} {value.day.day} {value.day:%B %Y}"
        return f"{day} ({value.reason})" if value.reason else day
    return f"{value:%A} {value.day} {value:%B %Y}"


def short_date(value: date | datetime | WorkingDate | None) -> str:
    """``01/12/2026`` — the house form for subjects (for a :class:`WorkingDate`, the working day it means)."""
    if value is None:
        return ""
    if isinstance(value, WorkingDate):
        value = value.day
    return f"{value:%d/%m/%Y}"


def working_day(value: date | WorkingDate | None) -> date | None:
    """The working day a :class:`WorkingDate` means (a plain date as it is): ``{{ due | working_day | long_date }}``
    names the day without repeating the reason."""
    return value.day if isinstance(value, WorkingDate) else value


def environment(templates: Path | None = None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if templates is not None:
        loaders.append(jinja2.FileSystemLoader(str(templates)))
    loaders.append(jinja2.FileSystemLoader(str(BUILT_IN)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["long_date"] = long_date
    env.filters["short_date"] = short_date
    env.filters["working_day"] = working_day
    return env


class Composer:
    """Renders a named mail with a context; ``council`` and ``mailbox`` are always in the context."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.env = environment(config.mail_out.templates)

    def render(self, name: str, **context: Any) -> Rendered:
        context.setdefault("council", self.config.council_name)
        context.setdefault("mailbox", self.config.mailbox.address)
        subject = render_subject(self.env, name, context)
        text = self.env.get_template(f"{name}.txt.j2").render(**context)
        html = self.env.get_template(f"{name}.html.j2").render(**context)
        return Rendered(subject=subject, text=text.strip() + "\n", html=html)


def render_subject(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """``<name>.subject.j2`` rendered on one line (runs of white space, line breaks included, become one space)."""
    return " ".join(env.get_template(f"{name}.subject.j2").render(**context).split())


__all__ = ["BUILT_IN", "Composer", "Rendered", "environment", "long_date", "render_subject", "short_date",
           "working_day"]
