"""Commands that run the bot's work: ``poll``, ``drop``, ``tick``, ``send``, ``run`` and ``check-config``; each
imports the App (or the configuration) when it runs."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .support import announce_default, app_of, config_of, fail, friendly, now_option, safe_url, verbose

if TYPE_CHECKING:
    from mailbot.app import App
    from mailbot.clock.tick import TickItem
    from mailbot.config import Config
    from rules.coverage import Coverage

log = logging.getLogger(__name__)


@click.command("poll")
@click.option("--once", is_flag=True, required=True, help="Read the mailbox once and exit.")
@click.option("--limit", type=click.IntRange(min=1), default=None, metavar="N",
              help="Read at most N mails (default: all that wait, a batch at a time).")
@click.pass_context
@friendly
def poll_cmd(ctx: click.Context, once: bool, limit: int | None) -> None:
    """Read new mail from the mailbox once, record it, and say what became of each mail."""
    verbose(config_of(ctx))
    announce_default(config_of(ctx))
    own = read = attention = 0
    for batch in app_of(ctx).poll_batches(limit):  # printed as each batch is recorded: a backlog is not held
        for r in batch:
            if r.outcome == "own":  # the bot's own mail, delivered back to it: filed, not news
                own += 1
                continue
            read += 1
            attention += r.needs_attention
            extra = f" ({r.reason})" if r.reason else ""
            click.echo(f"{r.outcome:<10} {r.kind:<10} {r.reference or '-':<9} {r.identity}{extra}")
    filed = f", {own} cop{'y' if own == 1 else 'ies'} of the bot's own mail filed" if own else ""
    click.echo(f"{read} mail(s) read, {attention} need attention{filed}")


@click.command("drop")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.pass_context
@friendly
def drop_cmd(ctx: click.Context, files: tuple[str, ...]) -> None:
    """Put .eml FILES into the local mail folder (transport = "maildir"), e.g. to try the bot out."""
    app = app_of(ctx)
    announce_default(app.config)
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
    app = app_of(ctx)
    announce_default(app.config)
    items = app.tick(dry_run=dry_run)
    fates = {} if dry_run else mail_fates(app, items)
    refused = 0
    for item in items:
        click.echo(f"{item.reference:<9} {item.kind:<20} {item.key:<28} {item.detail}")
        fate = fates.get((item.reference, item.key))
        if fate is None:
            continue
        for line in fate.lines:
            click.echo(f"{'':<9} {line}")
        refused += fate.all_refused
    if dry_run:
        click.echo(f"{len(items)} action(s) would be done")
    elif refused:
        click.echo(f"{len(items) - refused} action(s) done, {refused} refused: "
                   f"{'its mail was' if refused == 1 else 'their mails were'} not sent (see above, and "
                   "`mailbot outbox --status refused`)")
    else:
        click.echo(f"{len(items)} action(s) done")


class MailFate:
    """What became of the mails one tick action queued: a line for each mail refused (wholly or some recipients),
    and whether every one of them was refused (nothing of the action reached anyone)."""

    def __init__(self) -> None:
        self.lines: list[str] = []  # for the person at the terminal: may name staff addresses
        self.reasons: list[str] = []  # for the log: the outbox's reasons only
        self.mails = 0
        self.refused = 0

    @property
    def all_refused(self) -> bool:
        return self.mails > 0 and self.refused == self.mails


def mail_fates(app: App, items: Sequence[TickItem]) -> dict[tuple[str, str], MailFate]:
    """For each action of a tick (by reference and key), its mails in the outbox and why any was refused: the
    outbox row's status and reason, and the addresses the ``recipient_refused``/``mail_refused`` events name."""
    fates: dict[tuple[str, str], MailFate] = {}
    if not items:
        return fates
    with app.store.unit_of_work() as uow:
        for item in items:
            esc = uow.escalations.get(item.reference)
            if esc is None or not item.key:
                continue
            prefix = f"{esc.reference}.{item.key}"  # the outbox key of an action's mail, and of its companions
            rows = [r for r in uow.outbox.for_escalation(esc) if r.key == prefix or r.key.startswith(prefix + ".")]
            if not rows:
                continue
            outside: dict[str, list[str]] = {}
            for event in uow.events.for_escalation(esc):
                data = event.data or {}
                if event.kind in ("recipient_refused", "mail_refused") and data.get("mail") in {r.key for r in rows}:
                    outside.setdefault(str(data["mail"]), []).extend(str(a) for a in data.get("refused") or ())
            fate = fates.setdefault((item.reference, item.key), MailFate())
            for row in rows:
                fate.mails += 1
                who = sorted(set(outside.get(row.key, ())))
                addresses = f" ({', '.join(who)} outside {', '.join(app.config.domains)})" if who else ""
                if row.status == "refused":
                    fate.refused += 1
                    fate.reasons.append(f"{row.kind}: {row.last_error or 'refused'}")
                    fate.lines.append(f"refused: {row.kind} not sent — {row.last_error or 'refused'}{addresses}")
                elif who:
                    fate.lines.append(f"{row.kind}: not sent to {', '.join(who)} (outside "
                                      f"{', '.join(app.config.domains)})")
        uow.rollback()
    return fates


def _reporting_tick(app: App) -> None:
    """For the service: the App's tick, with what the plain one leaves unsaid logged — an action whose every mail
    was refused is refused, with the reason, not done."""
    plain = app.tick

    def tick(*, dry_run: bool = False) -> list[TickItem]:
        items = plain(dry_run=dry_run)
        if not dry_run:
            for (reference, key), fate in mail_fates(app, items).items():
                if fate.all_refused:
                    log.warning("tick action refused ref=%s action=%s reason=%s", reference, key,
                                "; ".join(fate.reasons))
        return items

    app.tick = tick  # type: ignore[method-assign] # the scheduler's jobs call app.tick


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
    announce_default(cfg)
    click.echo(f"iro-mailbot for {cfg.council_name} (config: {cfg.source}): policy {cfg.policy.key}, "
               f"mailbox {cfg.mailbox.address} via {cfg.mailbox.transport}"
               + (f" at {cfg.mailbox.maildir}" if cfg.mailbox.transport == "maildir" else "")
               + f", mail out {mail_out_where(cfg)}, store {safe_url(cfg.store.url)}. Stop with Ctrl-C.", err=True)
    for line in cfg.coverage().errors():
        log.warning("directory: %s", line)
    _reporting_tick(app)
    app.run_forever()


@click.command("check-config")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--connect", is_flag=True, help="Also try the database, the mailbox and the mail server (sends nothing).")
@click.pass_context
@friendly
def check_config(ctx: click.Context, file: str, connect: bool) -> None:
    """Validate a configuration FILE; print what it sets up, or one line naming the key and the fix.

    With --connect, also try each connection and say in plain words what works and what is missing."""
    from mailbot.config import load_config
    from mailbot.mail_out.digest import report_check_lines

    cfg = load_config(file)
    ctx.find_root().ensure_object(dict)["config"] = cfg  # the run's App is this file's
    cover = cfg.coverage()
    errors = cover.errors()
    if errors:
        click.echo(f"{file}: NOT OK — {len(errors)} level(s) of the policy reach nobody in the directory (below)")
    else:
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
    click.echo(f"  mail out: {mail_out_where(cfg)}")
    click.echo(f"  store: {safe_url(cfg.store.url)}; closed records kept {cfg.store.retention_days} days")
    click.echo(f"  security: {cfg.security.explain()}")
    d = cfg.directory
    click.echo(f"  directory: {len(d.people)} people, {len(d.qa_managers)} QA manager(s)")
    for line in [*first_escalations(cover), *report_check_lines(cfg)]:
        click.echo(f"  {line}")
    problems = list(cfg.warnings) + cover.warnings()
    if mb.imap and mb.imap.password_env and not os.environ.get(mb.imap.password_env):
        problems.append(f"environment variable {mb.imap.password_env} (mailbox.imap.password_env) is not set")
    for line in problems:
        click.echo(f"  warning: {line}")
    for line in errors:
        click.echo(f"  error: {line}")
    failed = bool(errors)
    if connect:
        checks = app_of(ctx).check_connections()
        for check in checks:
            click.echo(check.line())
        failed = failed or not all(c.ok for c in checks)
    if failed:
        sys.exit(1)


def mail_out_where(cfg: Config) -> str:
    """Where the bot's mail goes out: the transport and its host or folder, and from which address."""
    out, mb = cfg.mail_out, cfg.mailbox
    if out.transport == "maildir":
        return f"written to {out.maildir} (transport maildir: nothing leaves this machine)"
    if out.transport == "smtp" and out.smtp is not None:
        smtp = out.smtp
        login = ("XOAUTH2 token of the app registration" if smtp.auth == "xoauth2"
                 else f"login {smtp.username}" if smtp.username else "no login")
        return f"smtp to {smtp.host}:{smtp.port} ({smtp.security}, {login}), from {mb.address}"
    if out.transport == "graph" and mb.graph is not None:
        return f"Microsoft Graph sendMail as {mb.graph.user}"
    if out.transport == "ews" and mb.ews is not None:
        return f"Exchange Web Services at {mb.ews.server}, as {mb.ews.primary_smtp_address}"
    return f"{out.transport}, from {mb.address}"


def first_escalations(cover: Coverage) -> list[str]:
    """Who would get each team's first escalation: a heading, then ``Team Tom Manager: Level 2 → Sara Service
    (Service Manager)`` a team."""
    first = cover.first_level
    if first is None or not cover.teams:
        return []
    lines = [f"first escalation of each team ({first.label} {first.role} → the next level):"]
    for team in cover.teams:
        step = team.first_escalation
        if step is None:
            lines.append(f"  {team.name}: {first.label} is the last level")
        elif step.person is not None:
            lines.append(f"  {team.name}: {step.level.label} → {step.person.name or step.person.email} "
                         f"({step.person.role})")
        elif step.level.terminal:
            lines.append(f"  {team.name}: {step.level.label} → {step.level.role}: {step.why}")
        else:
            lines.append(f"  {team.name}: {step.level.label} → nobody ({step.level.role}): the bot would ask the IRO")
    return lines


COMMANDS = (poll_cmd, drop_cmd, tick_cmd, send_cmd, run_cmd, check_config)
