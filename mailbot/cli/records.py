"""Commands about what the bot keeps: ``list``, ``show``, ``outbox``, ``purge`` and ``db upgrade``; each imports the
store (by the App) and :mod:`.views` when it runs."""

from __future__ import annotations

from datetime import datetime

import click

from .support import app_of, config_of, fail, friendly, safe_url


@click.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only escalations that are still open.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@friendly
def list_cmd(ctx: click.Context, open_only: bool, as_json: bool) -> None:
    """List escalations."""
    import json

    from .views import escalation_summary

    with app_of(ctx).store.unit_of_work() as uow:
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


@click.command("show")
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@friendly
def show_cmd(ctx: click.Context, reference: str, as_json: bool) -> None:
    """Show one escalation and its whole timeline: the mails in, the events and the bot's own mails (sent, pending or
    refused) in time order, every time in Europe/London with its zone (GMT/BST); --json keeps ISO times."""
    import json

    from .views import escalation_detail, render_detail

    with app_of(ctx).store.unit_of_work() as uow:
        esc = uow.escalations.get(reference)
        if esc is None:
            fail(f"no escalation {reference!r} — `mailbot list` shows the references")
        detail = escalation_detail(uow, esc)
    if as_json:
        click.echo(json.dumps(detail, ensure_ascii=False, indent=2))
    else:
        click.echo(render_detail(detail))


@click.command("outbox")
@click.option("--status", "statuses", multiple=True, type=click.Choice(["pending", "sent", "failed", "refused"]),
              help="Only mails in this state (repeatable). Default: everything not yet sent well.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@friendly
def outbox_cmd(ctx: click.Context, statuses: tuple[str, ...], as_json: bool) -> None:
    """The bot's own mail: what waits, what was given up or refused, and why (newest first)."""
    import json

    wanted = statuses or ("pending", "failed", "refused")
    with app_of(ctx).store.unit_of_work() as uow:
        rows = [{"key": r.key, "status": r.status, "kind": r.kind, "to": list(r.to_emails), "attempts": r.attempts,
                 "created_at": r.created_at.isoformat(), "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                 "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
                 "last_error": r.last_error} for r in uow.outbox.by_status(*wanted)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    now = app_of(ctx).clock()
    for r in rows:
        why = _why(r, now)
        click.echo(f"{r['status']:<8} {r['kind']:<14} tries {r['attempts']:<2} {r['key']}{' — ' + why if why else ''}")
    click.echo(f"{len(rows)} mail(s) {'/'.join(wanted)}")


def _why(row: dict[str, object], now: datetime) -> str:
    """Why a mail of the bot's is where it is, in words: what went wrong, and when it is tried again."""
    from .views import when

    error = str(row["last_error"] or "")
    if row["status"] != "pending":
        return error
    retry = row["next_attempt_at"]
    if isinstance(retry, str) and datetime.fromisoformat(retry) > now:
        return f"next try {when(retry)}" + (f" after: {error}" if error else "")
    return error or "due now: the next send (every minute in the service, or `mailbot send`) takes it"


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
@click.pass_context
@friendly
def purge_cmd(ctx: click.Context, dry_run: bool) -> None:
    """Delete closed escalations and unmatched mail past their retention — with their copies in the local mail
    folders, and the names in kept digests (the service does it nightly)."""
    cfg = config_of(ctx)
    report = app_of(ctx).purge(dry_run=dry_run)
    verb = "would be deleted" if dry_run else "deleted"
    click.echo(f"{report.escalations} closed escalation(s) older than {cfg.store.retention_days} days and "
               f"{report.unmatched_messages} unmatched mail(s) older than {cfg.store.unmatched_retention_days} days "
               f"{verb} ({report.total} rows in all)")
    click.echo(f"{report.redacted} kept digest(s) that named them {'would be ' if dry_run else ''}redacted")
    click.echo(f"{report.files} mail file(s) {verb} from the local mail folders ({report.inbox_files} from the "
               f"inbox's .processed/.attention, {report.sent_files} from the sent folder)")
    for note in report.elsewhere:
        click.echo(f"note: {note}")


@click.group("db")
def db_group() -> None:
    """The database."""


@db_group.command("upgrade")
@click.pass_context
@friendly
def db_upgrade(ctx: click.Context) -> None:
    """Create or migrate the database schema to the latest version (Alembic)."""
    app = app_of(ctx)
    app.store  # noqa: B018 - opening the store upgrades it
    click.echo(f"database at {safe_url(app.config.store.url)} is up to date")


COMMANDS = (list_cmd, show_cmd, outbox_cmd, purge_cmd, db_group)
