"""Commands that show how the bot reads things, changing nothing: ``parse-subject``, ``due``, ``policy``,
``explain`` and ``strip-reply``.

Each command imports what it reads with when it runs: ``parse-subject`` the subject grammar (and the calendar and
the configuration only for a subject that counts working days), ``due`` the calendar, ``policy`` the presets —
none of them the store, the templates or a transport; ``explain`` the App."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .support import LazyChoice, app_of, config_of, fail, friendly, iso_date, today, user_errors

if TYPE_CHECKING:
    from rules.calendar import WorkingCalendar
    from rules.policy import Policy


def _regions() -> Iterable[str]:
    from rules.calendar import REGIONS

    return sorted(REGIONS)


def _calendar(ctx: click.Context, region: str | None) -> WorkingCalendar:
    from rules.calendar import WorkingCalendar

    if region:
        return WorkingCalendar(region)
    return config_of(ctx).calendar.calendar()


class _CalendarWhenAsked:
    """``add_working_days`` of :func:`_calendar`, built on the first call: a subject that counts no working days
    reads neither the calendar nor the configuration. A configuration that cannot be read is the command's one-line
    error, as when it is read first (the parser turns anything else a calendar raises into a warning)."""

    def __init__(self, ctx: click.Context, region: str | None) -> None:
        self.ctx, self.region = ctx, region
        self.calendar: WorkingCalendar | None = None

    def __call__(self, start: date, days: int) -> date:
        if self.calendar is None:
            try:
                self.calendar = _calendar(self.ctx, self.region)
            except Exception as exc:
                if not isinstance(exc, user_errors()):
                    raise
                fail(str(exc))  # SystemExit: through the parser's guard, as before
        return self.calendar.add_working_days(start, days)


@click.command("parse-subject")
@click.argument("subject")
@click.option("--received", callback=iso_date, metavar="DATE",
              help="Date the mail was received, 05/12/2026 or 2026-12-05 (default: today, by the clock). Dates "
                   "without a year count from it.")
@click.option("--region", type=LazyChoice(_regions), help="Bank holidays to use (default: from config).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@friendly
def parse_subject_cmd(ctx: click.Context, subject: str, received: date | None, region: str | None,
                      as_json: bool) -> None:
    """Show what the bot reads from an email SUBJECT line."""
    from parsers.subject import parse_subject

    facts = parse_subject(subject, received or today(ctx), _CalendarWhenAsked(ctx, region))
    out = {
        "is_escalation": facts.is_escalation,
        "level": facts.level,
        "children": list(facts.children),
        "case_numbers": [c.number for c in facts.case_numbers],
        "case_systems": [c.system for c in facts.case_numbers],
        "response_date": facts.response_date.isoformat() if facts.response_date else None,
        "bot_reference": facts.bot_reference,
        "warnings": list(facts.warnings),
    }
    if as_json:
        import json

        click.echo(json.dumps(out, ensure_ascii=False))
        return
    labels = {"is_escalation": "escalation", "case_numbers": "case numbers", "case_systems": "case systems",
              "response_date": "response by", "bot_reference": "bot reference"}
    for key, value in out.items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value if v) or "-"
        elif value is None:
            value = "-"
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        click.echo(f"{labels.get(key, key):>14}: {value}")


@click.command("due")
@click.argument("start", callback=iso_date)
@click.argument("days", type=click.IntRange(min=-366, max=366))
@click.option("--region", type=LazyChoice(_regions), help="Bank holidays to use (default: from config).")
@click.pass_context
@friendly
def due_cmd(ctx: click.Context, start: date, days: int, region: str | None) -> None:
    """Print the date DAYS working days after START (21/12/2026 or 2026-12-21; the ISO date alone on the last
    line)."""
    calendar = _calendar(ctx, region)
    result = calendar.add_working_days(start, days)
    low, high = sorted((start, result))
    for n in range(low.toordinal(), high.toordinal() + 1):
        day = date.fromordinal(n)
        name = calendar.holiday_name(day)
        if name:
            click.echo(f"not a working day: {day.isoformat()} {day:%a} {name}")
    click.echo(result.isoformat())


@click.group("policy")
def policy_group() -> None:
    """Escalation policies (ladders, working days, roles copied)."""


@policy_group.command("show")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@friendly
def policy_show(ctx: click.Context, name: str | None, as_json: bool) -> None:
    """Show a policy: NAME is a preset (dorset, hull, birmingham, rotherham, south-west); default: the configured."""
    from rules.presets import PRESETS

    from .policy_view import policy_table

    policy: Policy
    if name is None:
        policy = config_of(ctx).policy
    elif name in PRESETS:
        policy = PRESETS[name]
    else:
        fail(f"no policy preset called {name!r} — choose one of: {', '.join(sorted(PRESETS))}")
    if as_json:
        import json

        from rules.policy import policy_to_mapping

        data = policy_to_mapping(policy)
        data["cumulative"] = [
            {"level": level.number, "role": level.role, "working_days": level.working_days, "cumulative": total}
            for level, total in policy.cumulative()
        ]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(policy_table(policy))


@policy_group.command("list")
def policy_list() -> None:
    """List the presets."""
    from rules.presets import PRESETS

    for key in sorted(PRESETS):
        p = PRESETS[key]
        click.echo(f"{key:<12} {p.council} — {p.title}")


@click.command("explain")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.option("--received", callback=iso_date, metavar="DATE",
              help="When it arrived, 05/12/2026 or 2026-12-05 (default: now, by the clock).")
@click.pass_context
@friendly
def explain_cmd(ctx: click.Context, files: tuple[str, ...], as_json: bool, received: date | None) -> None:
    """How the bot reads each .eml FILE: facts, kind, new text, commands, the record it would match."""
    import json

    from .views import explain_mail

    app = app_of(ctx)
    for name in files:
        with app.store.unit_of_work() as uow:
            info = explain_mail(uow, app.config, Path(name).read_bytes(), app.clock(), received)
            uow.rollback()
        info = {"file": name, **info}
        if as_json:
            click.echo(json.dumps(info, ensure_ascii=False, default=str))
        else:
            click.echo(f"== {name}")
            for key, value in info.items():
                if key == "file":
                    continue
                if isinstance(value, str) and "\n" in value:
                    value = "\n    " + value.replace("\n", "\n    ")
                click.echo(f"  {key}: {value}")


@click.command("strip-reply")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@friendly
def strip_reply_cmd(file: str) -> None:
    """Print the new text of a reply read from FILE (plain text; .eml files are parsed first)."""
    from parsers.message import parse_message
    from parsers.reply import strip_reply

    data = Path(file).read_bytes()
    if file.lower().endswith(".eml"):
        click.echo(parse_message(data).new_text)
    else:
        click.echo(strip_reply(data.decode("utf-8", errors="replace")))


COMMANDS = (parse_subject_cmd, due_cmd, policy_group, explain_cmd, strip_reply_cmd)
