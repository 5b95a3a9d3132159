"""The ``mailbot`` command.

Every command reads the configuration named by ``--config`` (or ``$MAILBOT_CONFIG``); with neither, the
embedded default applies. User errors print one line on stderr and exit with status 2, never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import click

from parsers.subject import parse_subject
from rules.calendar import REGIONS, WorkingCalendar
from rules.policy import Policy, policy_to_mapping
from rules.presets import PRESETS

from .cli_support import fail, friendly, parse_moment
from .config import Config, embedded_default, load_config
from .policy_view import policy_table

_fail = fail


def _iso_date(ctx: click.Context | None, param: click.Parameter | None, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-12-05") from None


def _iso_moment(ctx: click.Context | None, param: click.Parameter | None, value: str | None) -> datetime | None:
    """An ISO date or date-time; without a zone it is London time (a date alone: 09:00 London)."""
    if value is None:
        return None
    try:
        return parse_moment(value, time(9))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date or time; write e.g. 2026-12-07T10:30") from None


def _config(ctx: click.Context) -> Config:
    obj = ctx.ensure_object(dict)
    if "config" not in obj:
        path = obj.get("config_path")
        obj["config"] = load_config(path) if path else embedded_default()
    return obj["config"]  # type: ignore[no-any-return]


def _calendar(ctx: click.Context, region: str | None) -> WorkingCalendar:
    if region:
        return WorkingCalendar(region)
    return _config(ctx).calendar.calendar()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="MAILBOT_CONFIG",
              help="Configuration file (TOML). Default: $MAILBOT_CONFIG, else the embedded default.")
@click.option("--now", "now", callback=_iso_moment, metavar="ISO", envvar="MAILBOT_NOW",
              help="Pretend it is this moment (rehearsals and tests): mail read is received then, ticks run then.")
@click.version_option(package_name="iro-mailbot")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, now: datetime | None) -> None:
    """iro-mailbot: runs the IRO escalation process over email."""
    obj = ctx.ensure_object(dict)
    obj["config_path"] = config_path
    obj["now"] = now


# ------------------------------------------------------------------------------------------ parse-subject


@cli.command("parse-subject")
@click.argument("subject")
@click.option("--received", callback=_iso_date, metavar="YYYY-MM-DD",
              help="Date the mail was received (default: today). Dates without a year count from it.")
@click.option("--region", type=click.Choice(sorted(REGIONS)), help="Bank holidays to use (default: from config).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@friendly
def parse_subject_cmd(ctx: click.Context, subject: str, received: date | None, region: str | None,
                      as_json: bool) -> None:
    """Show what the bot reads from an email SUBJECT line."""
    calendar = _calendar(ctx, region)
    facts = parse_subject(subject, received or date.today(), calendar.add_working_days)
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


# ------------------------------------------------------------------------------------------ due


@cli.command("due")
@click.argument("start", callback=_iso_date)
@click.argument("days", type=click.IntRange(min=-366, max=366))
@click.option("--region", type=click.Choice(sorted(REGIONS)), help="Bank holidays to use (default: from config).")
@click.pass_context
@friendly
def due_cmd(ctx: click.Context, start: date, days: int, region: str | None) -> None:
    """Print the date DAYS working days after START (ISO date alone on the last line)."""
    calendar = _calendar(ctx, region)
    result = calendar.add_working_days(start, days)
    low, high = sorted((start, result))
    skipped = [(d, calendar.holiday_name(d)) for d in _days(low, high) if calendar.holiday_name(d)]
    for day, name in skipped:
        click.echo(f"not a working day: {day.isoformat()} {day:%a} {name}")
    click.echo(result.isoformat())


def _days(start: date, end: date) -> list[date]:
    return [date.fromordinal(n) for n in range(start.toordinal(), end.toordinal() + 1)]


# ------------------------------------------------------------------------------------------ policy


@cli.group("policy")
def policy_group() -> None:
    """Escalation policies (ladders, working days, roles copied)."""


@policy_group.command("show")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@friendly
def policy_show(ctx: click.Context, name: str | None, as_json: bool) -> None:
    """Show a policy: NAME is a preset (dorset, hull, birmingham, rotherham, south-west); default: the configured."""
    policy: Policy
    if name is None:
        policy = _config(ctx).policy
    elif name in PRESETS:
        policy = PRESETS[name]
    else:
        _fail(f"no policy preset called {name!r} — choose one of: {', '.join(sorted(PRESETS))}")
    if as_json:
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
    for key in sorted(PRESETS):
        p = PRESETS[key]
        click.echo(f"{key:<12} {p.council} — {p.title}")


# ------------------------------------------------------------------------------------------ check-config


@cli.command("check-config")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--connect", is_flag=True, help="Also try the database, the mailbox and the mail server (sends nothing).")
@friendly
def check_config(file: str, connect: bool) -> None:
    """Validate a configuration FILE; print what it sets up, or one line naming the key and the fix.

    With --connect, also try each connection and say in plain words what works and what is missing."""
    cfg = load_config(file)
    click.echo(f"{file}: OK")
    click.echo(f"  council: {cfg.council_name} (mail only to: {', '.join(cfg.domains)})")
    click.echo(f"  policy: {cfg.policy.key} ({cfg.policy.council}), {len(cfg.policy.levels)} levels, "
               f"{cfg.policy.total_working_days} working days in all")
    cal = cfg.calendar
    click.echo(f"  calendar: {cal.region}, {len(cal.closures)} local closure day(s)")
    mb = cfg.mailbox
    where = {"maildir": str(mb.maildir), "imap": mb.imap.host if mb.imap else "?",
             "graph": f"Microsoft Graph, {mb.graph.user}" if mb.graph else "?",
             "ews": mb.ews.server if mb.ews else "?"}.get(mb.transport, "?")
    click.echo(f"  mailbox: {mb.address} via {mb.transport} ({where})")
    click.echo(f"  store: {_safe_url(cfg.store.url)}; closed records kept {cfg.store.retention_days} days")
    d = cfg.directory
    click.echo(f"  directory: {len(d.people)} people, {len(d.qa_managers)} QA manager(s)")
    problems = list(cfg.warnings)
    if mb.imap and mb.imap.password_env and not os.environ.get(mb.imap.password_env):
        problems.append(f"environment variable {mb.imap.password_env} (mailbox.imap.password_env) is not set")
    for line in problems:
        click.echo(f"  warning: {line}")
    if connect:
        from .connect import check_all

        checks = check_all(cfg)
        for check in checks:
            click.echo(check.line())
        if not all(c.ok for c in checks):
            sys.exit(1)


def _safe_url(url: str) -> str:
    """A database URL with any password hidden."""
    head, sep, rest = url.partition("://")
    if sep and "@" in rest:
        cred, _, host = rest.rpartition("@")
        user = cred.split(":", 1)[0]
        return f"{head}://{user}:***@{host}"
    return url


# ------------------------------------------------------------------------------------------ mail in


def _service(ctx: click.Context) -> Any:
    from .service import Service, utc_now

    fixed: datetime | None = ctx.ensure_object(dict).get("now")
    return Service(_config(ctx), clock=(lambda: fixed) if fixed is not None else utc_now)


@cli.group("db")
def db_group() -> None:
    """The database."""


@db_group.command("upgrade")
@click.pass_context
@friendly
def db_upgrade(ctx: click.Context) -> None:
    """Create or migrate the database schema to the latest version (Alembic)."""
    from .service import open_store

    cfg = _config(ctx)
    open_store(cfg)
    click.echo(f"database at {_safe_url(cfg.store.url)} is up to date")


@cli.command("poll")
@click.option("--once", is_flag=True, required=True, help="Read the mailbox once and exit.")
@click.pass_context
@friendly
def poll_cmd(ctx: click.Context, once: bool) -> None:
    """Read new mail from the mailbox once, record it, and say what became of each mail."""
    _verbose(_config(ctx))
    service = _service(ctx)
    try:
        results = service.poll_once()
    finally:
        service.close()
    for r in results:
        extra = f" ({r.reason})" if r.reason else ""
        click.echo(f"{r.outcome:<10} {r.kind:<10} {r.reference or '-':<9} {r.identity}{extra}")
    attention = sum(1 for r in results if r.needs_attention)
    click.echo(f"{len(results)} mail(s) read, {attention} need attention")


@cli.command("drop")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.pass_context
@friendly
def drop_cmd(ctx: click.Context, files: tuple[str, ...]) -> None:
    """Put .eml FILES into the local mail folder (transport = "maildir"), e.g. to try the bot out."""
    from .transports.maildir import MaildirSource

    cfg = _config(ctx)
    if cfg.mailbox.transport != "maildir":
        _fail('mailbox.transport is not "maildir": drop only feeds the local mail folder')
    source = MaildirSource(cfg.mailbox.maildir)
    for name in files:
        source.drop(Path(name).read_bytes())
    click.echo(f"{len(files)} mail(s) put into {cfg.mailbox.maildir}")


@cli.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only escalations that are still open.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@friendly
def list_cmd(ctx: click.Context, open_only: bool, as_json: bool) -> None:
    """List escalations."""
    from .views import escalation_summary

    service = _service(ctx)
    with service.store.unit_of_work() as uow:
        rows = [escalation_summary(e) for e in uow.escalations.list(open_only=open_only)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no escalations")
        return
    for r in rows:
        click.echo(f"{r['reference']:<9} {r['status']:<7} L{r['level']!s:<3} due {r['due_on'] or '-':<10} "
                   f"{', '.join(r['case_numbers']) or '-':<14} {', '.join(r['children']) or '-'}")


@cli.command("show")
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@friendly
def show_cmd(ctx: click.Context, reference: str, as_json: bool) -> None:
    """Show one escalation and its whole timeline (mails and events in order)."""
    from .views import escalation_detail, render_detail

    service = _service(ctx)
    with service.store.unit_of_work() as uow:
        esc = uow.escalations.get(reference)
        if esc is None:
            _fail(f"no escalation {reference!r} — `mailbot list` shows the references")
        detail = escalation_detail(uow, esc)
    if as_json:
        click.echo(json.dumps(detail, ensure_ascii=False, indent=2))
    else:
        click.echo(render_detail(detail))


@cli.command("explain")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.option("--received", callback=_iso_date, metavar="YYYY-MM-DD", help="When it arrived (default: today).")
@click.pass_context
@friendly
def explain_cmd(ctx: click.Context, files: tuple[str, ...], as_json: bool, received: date | None) -> None:
    """How the bot reads each .eml FILE: facts, kind, new text, commands, the record it would match."""
    from .views import explain_mail

    cfg = _config(ctx)
    service = _service(ctx)
    for name in files:
        with service.store.unit_of_work() as uow:
            info = explain_mail(uow, cfg, Path(name).read_bytes(), received)
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


@cli.command("strip-reply")
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


# ------------------------------------------------------------------------------------------ the clock


@cli.command("tick")
@click.option("--now", callback=_iso_moment, metavar="ISO", help="Pretend it is this moment (default: now).")
@click.option("--dry-run", is_flag=True, help="Say what would happen; change and send nothing.")
@click.pass_context
@friendly
def tick_cmd(ctx: click.Context, now: datetime | None, dry_run: bool) -> None:
    """Run one tick: chase, escalate and notify whatever is due (then send it, unless --dry-run)."""
    if now is not None:  # the whole run happens then: events, mails and sending are stamped with it
        ctx.ensure_object(dict)["now"] = now
    service = _service(ctx)
    try:
        items = service.tick(ctx.obj.get("now"), dry_run=dry_run)
    finally:
        service.close()
    for item in items:
        click.echo(f"{item.reference:<9} {item.kind:<20} {item.key:<28} {item.detail}")
    verb = "would be done" if dry_run else "done"
    click.echo(f"{len(items)} action(s) {verb}")


@cli.command("send")
@click.pass_context
@friendly
def send_cmd(ctx: click.Context) -> None:
    """Send the mail waiting in the outbox (the service does this by itself every minute)."""
    service = _service(ctx)
    try:
        report = service.send_pending()
    finally:
        service.close()
    click.echo(f"sent {len(report.sent)}, retrying {len(report.retrying)}, given up {len(report.failed)}, "
               f"refused {len(report.refused)}" + (f" (server: {report.server_error})" if report.server_error else ""))


@cli.command("outbox")
@click.option("--status", "statuses", multiple=True, type=click.Choice(["pending", "sent", "failed", "refused"]),
              help="Only mails in this state (repeatable). Default: everything not yet sent well.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@friendly
def outbox_cmd(ctx: click.Context, statuses: tuple[str, ...], as_json: bool) -> None:
    """The bot's own mail: what waits, what was given up or refused, and why (newest first)."""
    service = _service(ctx)
    wanted = statuses or ("pending", "failed", "refused")
    with service.store.unit_of_work() as uow:
        rows = [{"key": r.key, "status": r.status, "kind": r.kind, "to": list(r.to_emails), "attempts": r.attempts,
                 "created_at": r.created_at.isoformat(), "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                 "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
                 "last_error": r.last_error} for r in uow.outbox.by_status(*wanted)]
    service.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        why = f" — {r['last_error']}" if r["last_error"] else ""
        click.echo(f"{r['status']:<8} {r['kind']:<14} tries {r['attempts']:<2} {r['key']}{why}")
    click.echo(f"{len(rows)} mail(s) {'/'.join(wanted)}")


@cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
@click.pass_context
@friendly
def purge_cmd(ctx: click.Context, dry_run: bool) -> None:
    """Delete closed escalations and unmatched mail past their retention (the service does it nightly)."""
    cfg = _config(ctx)
    service = _service(ctx)
    try:
        report = service.purge(ctx.obj.get("now"), dry_run=dry_run)
    finally:
        service.close()
    verb = "would be deleted" if dry_run else "deleted"
    click.echo(f"{report.escalations} closed escalation(s) older than {cfg.store.retention_days} days and "
               f"{report.unmatched_messages} unmatched mail(s) older than {cfg.store.unmatched_retention_days} days "
               f"{verb} ({report.total} rows in all)")


# ------------------------------------------------------------------------------------------ run


@cli.command("run")
@click.pass_context
@friendly
def run_cmd(ctx: click.Context) -> None:
    """Run the service: read the mailbox and record every mail, until stopped (SIGTERM or Ctrl-C)."""
    cfg = _config(ctx)
    _verbose(cfg)
    service = _service(ctx)
    click.echo(f"iro-mailbot for {cfg.council_name} (config: {cfg.source}): policy {cfg.policy.key}, "
               f"mailbox {cfg.mailbox.address} via {cfg.mailbox.transport}"
               + (f" at {cfg.mailbox.maildir}" if cfg.mailbox.transport == "maildir" else "")
               + f", store {_safe_url(cfg.store.url)}. Stop with Ctrl-C.", err=True)
    service.run_forever()


def _verbose(cfg: Config) -> None:
    """Long-running commands log at the configured level; one-shot commands only warn."""
    logging.getLogger().setLevel(cfg.log_level)


def _register_digest() -> None:
    from .cli_digest import digest_cmd

    cli.add_command(digest_cmd, "digest")


_register_digest()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    for noisy in ("alembic", "apscheduler.scheduler", "httpx", "msal"):  # their INFO lines say nothing to operators
        logging.getLogger(noisy).setLevel(logging.WARNING)
    cli.main(args=argv, prog_name="mailbot")


if __name__ == "__main__":  # pragma: no cover
    main()
