"""``mailbot digest``: show, preview or send the QA managers' digest.

Registered by the CLI with ``cli.add_command(digest_cmd, "digest")``::

    mailbot digest                                   # this week's digest as text (the last complete week)
    mailbot digest --period month --now 2026-12-01   # November 2026, as at 1 December 08:00 London
    mailbot digest --preview digest.html             # write the HTML version to a file, to open in a browser
    mailbot digest --send                            # queue it to directory.qa_managers (once per period)

``--send`` queues the mail in the outbox (key ``digest.<period>.<last day>``, so a second run for the same period
queues nothing new) and then, when the sender is available (``mailbot.sending`` with ``open_sender`` and
``Deliverer``, checked at run time), delivers whatever is due in the outbox at once; otherwise the running service
delivers it on its next round.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from rules.digest import PERIODS

from .cli_support import fail as _fail
from .cli_support import friendly as _friendly
from .cli_support import parse_moment
from .config import Config


def _config(ctx: click.Context) -> Config:
    from .cli import _config as load  # imported late: mailbot.cli imports this module to register the command

    return load(ctx)


def parse_now(text: str | None, config: Config) -> datetime:
    """``--now``: an ISO date (at ``service.digest_time``, London) or datetime (naive = London); default: now."""
    if text is None:
        return datetime.now(UTC)
    try:
        return parse_moment(text, config.service.digest_time)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO date or date-time; write e.g. 2026-12-07 or "
                                 "2026-12-07T08:00", param_hint="--now") from None


@click.command("digest")
@click.option("--period", type=click.Choice(PERIODS), default="week", show_default=True,
              help="The last complete week (Monday to Sunday), calendar month or calendar quarter before NOW.")
@click.option("--now", "now_text", metavar="ISO",
              help="Make the digest as at this moment: a date (at service.digest_time) or a date-time; "
                   "without a zone it is London time. Default: now.")
@click.option("--preview", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.html",
              help="Write the HTML version to FILE.html instead of printing the text.")
@click.option("--send", is_flag=True, help="Queue it to the QA managers (directory.qa_managers) and deliver it.")
@click.pass_context
@_friendly
def digest_cmd(ctx: click.Context, period: str, now_text: str | None, preview: Path | None, send: bool) -> None:
    """The QA managers' digest: open, overdue and due-soon escalations, the period's figures and themes."""
    from .digest import build_digest, queue_digest, render_digest
    from .service import open_store

    cfg = _config(ctx)
    now = parse_now(now_text, cfg)
    store = open_store(cfg)
    try:
        with store.unit_of_work() as uow:
            figures = build_digest(uow, cfg, period, now)
            rendered = render_digest(figures, cfg)
            row = queue_digest(uow, cfg, period, now) if send else None
            queued = (row.key, row.status, list(row.to_emails)) if row is not None else None
        if preview is not None:
            try:
                preview.write_text(rendered.html, encoding="utf-8")
            except OSError as exc:
                _fail(f"cannot write the preview to {preview}: {exc.strerror or exc}")
            click.echo(f"HTML preview of “{rendered.subject}” written to {preview}")
        if not send:
            if preview is None:
                click.echo(f"Subject: {rendered.subject}\n")
                click.echo(rendered.text, nl=False)
            return
        if queued is None:
            _fail("no QA managers are configured, so the digest has nobody to go to — "
                  'list them in directory.qa_managers, e.g. qa_managers = ["qa.manager@council.gov.uk"]')
        assert queued is not None
        key, status, recipients = queued
        if status != "pending":
            click.echo(f"The digest {key} was queued before and is {status}; nothing new queued.")
            return
        click.echo(f"Queued {key} to {', '.join(recipients)}.")
        _deliver(store, cfg, key)
    finally:
        store.dispose()


def _deliver(store: Any, cfg: Config, key: str) -> None:
    """Send what is due in the outbox now, when the sender module is there; else leave it to the service."""
    try:
        from .sending import Deliverer, open_sender
    except ImportError:
        click.echo("The running service will deliver it (mailbot run).")
        return
    from store.uow import utc_now

    sender = open_sender(cfg)
    try:
        report = Deliverer(store, sender, clock=utc_now, allows=cfg.allows_address,
                           max_attempts=cfg.mail_out.max_attempts).deliver_pending()
    finally:
        sender.close()
    if key in report.sent:
        where = f" (written to {cfg.mail_out.maildir})" if cfg.mail_out.transport == "maildir" else ""
        click.echo(f"Sent{where}.")
    elif report.server_error:
        click.echo(f"Not sent yet: the mail server said {report.server_error}. It stays queued; "
                   "the service will try again.")
    else:
        click.echo("Not sent yet; it stays queued and the service will deliver it.")


__all__ = ["digest_cmd", "parse_now"]
