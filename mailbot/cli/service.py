"""Commands that run the bot's work: ``poll``, ``drop``, ``tick``, ``send``, ``run`` and ``check-config``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from mailbot.config import load_config

from .support import app_of, config_of, fail, friendly, now_option, safe_url, verbose


@click.command("poll")
@click.option("--once", is_flag=True, required=True, help="Read the mailbox once and exit.")
@click.pass_context
@friendly
def poll_cmd(ctx: click.Context, once: bool) -> None:
    """Read new mail from the mailbox once, record it, and say what became of each mail."""
    verbose(config_of(ctx))
    results = app_of(ctx).poll_once()
    own = [r for r in results if r.outcome == "own"]  # the bot's own mail, delivered back to it: filed, not news
    read = [r for r in results if r.outcome != "own"]
    for r in read:
        extra = f" ({r.reason})" if r.reason else ""
        click.echo(f"{r.outcome:<10} {r.kind:<10} {r.reference or '-':<9} {r.identity}{extra}")
    attention = sum(1 for r in read if r.needs_attention)
    filed = f", {len(own)} cop{'y' if len(own) == 1 else 'ies'} of the bot's own mail filed" if own else ""
    click.echo(f"{len(read)} mail(s) read, {attention} need attention{filed}")


@click.command("drop")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.pass_context
@friendly
def drop_cmd(ctx: click.Context, files: tuple[str, ...]) -> None:
    """Put .eml FILES into the local mail folder (transport = "maildir"), e.g. to try the bot out."""
    app = app_of(ctx)
    if app.config.mailbox.transport != "maildir":
        fail('mailbox.transport is not "maildir": drop only feeds the local mail folder')
    source = app.source
    for name in files:
        source.drop(Path(name).read_bytes())  # type: ignore[attr-defined]
    click.echo(f"{len(files)} mail(s) put into {app.config.mailbox.maildir}")


@click.command("tick")
@now_option
@click.option("--dry-run", is_flag=True, help="Say what would happen; change and send nothing.")
@click.pass_context
@friendly
def tick_cmd(ctx: click.Context, dry_run: bool) -> None:
    """Run one tick: chase, escalate and notify whatever is due (then send it, unless --dry-run)."""
    items = app_of(ctx).tick(dry_run=dry_run)
    for item in items:
        click.echo(f"{item.reference:<9} {item.kind:<20} {item.key:<28} {item.detail}")
    verb = "would be done" if dry_run else "done"
    click.echo(f"{len(items)} action(s) {verb}")


@click.command("send")
@click.pass_context
@friendly
def send_cmd(ctx: click.Context) -> None:
    """Send the mail waiting in the outbox (the service does this by itself every minute)."""
    report = app_of(ctx).send_pending()
    click.echo(f"sent {len(report.sent)}, retrying {len(report.retrying)}, given up {len(report.failed)}, "
               f"refused {len(report.refused)}" + (f" (server: {report.server_error})" if report.server_error else ""))


@click.command("run")
@click.pass_context
@friendly
def run_cmd(ctx: click.Context) -> None:
    """Run the service: read the mailbox and record every mail, until stopped (SIGTERM or Ctrl-C)."""
    cfg = config_of(ctx)
    verbose(cfg)
    app = app_of(ctx)
    click.echo(f"iro-mailbot for {cfg.council_name} (config: {cfg.source}): policy {cfg.policy.key}, "
               f"mailbox {cfg.mailbox.address} via {cfg.mailbox.transport}"
               + (f" at {cfg.mailbox.maildir}" if cfg.mailbox.transport == "maildir" else "")
               + f", store {safe_url(cfg.store.url)}. Stop with Ctrl-C.", err=True)
    app.run_forever()


@click.command("check-config")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--connect", is_flag=True, help="Also try the database, the mailbox and the mail server (sends nothing).")
@click.pass_context
@friendly
def check_config(ctx: click.Context, file: str, connect: bool) -> None:
    """Validate a configuration FILE; print what it sets up, or one line naming the key and the fix.

    With --connect, also try each connection and say in plain words what works and what is missing."""
    cfg = load_config(file)
    ctx.find_root().ensure_object(dict)["config"] = cfg  # the run's App is this file's
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
    click.echo(f"  store: {safe_url(cfg.store.url)}; closed records kept {cfg.store.retention_days} days")
    click.echo(f"  security: {cfg.security.explain()}")
    d = cfg.directory
    click.echo(f"  directory: {len(d.people)} people, {len(d.qa_managers)} QA manager(s)")
    problems = list(cfg.warnings)
    if mb.imap and mb.imap.password_env and not os.environ.get(mb.imap.password_env):
        problems.append(f"environment variable {mb.imap.password_env} (mailbox.imap.password_env) is not set")
    for line in problems:
        click.echo(f"  warning: {line}")
    if connect:
        checks = app_of(ctx).check_connections()
        for check in checks:
            click.echo(check.line())
        if not all(c.ok for c in checks):
            sys.exit(1)


COMMANDS = (poll_cmd, drop_cmd, tick_cmd, send_cmd, run_cmd, check_config)
