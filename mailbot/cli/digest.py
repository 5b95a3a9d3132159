"""``mailbot digest``: show, preview or send the QA managers' digest, as at the run's clock (``--now``)::

    mailbot digest                                   # this week's digest as text (the last complete week)
    mailbot --now 2026-12-01 digest --period month   # November 2026, as at 1 December 09:00 London
    mailbot digest --preview digest.html             # write the HTML version to a file (0600), to open in a browser
    mailbot digest --send                            # queue it to directory.qa_managers (once per period), send it

``--send`` queues the mail in the outbox (key ``digest.<period>.<last day>``, so a second run for the same period
queues nothing new) and delivers whatever is due in the outbox at once; if the mail server is not there, the
running service delivers it on its next round.
"""

from __future__ import annotations

from pathlib import Path

import click

from mailbot.mail_out.digest import build_digest, queue_digest, render_digest
from rules.digest import PERIODS

from .export import write_private
from .support import app_of, fail, friendly, now_option


@click.command("digest")
@click.option("--period", type=click.Choice(PERIODS), default="week", show_default=True,
              help="The last complete week (Monday to Sunday), calendar month or calendar quarter before now.")
@now_option
@click.option("--preview", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.html",
              help="Write the HTML version to FILE.html instead of printing the text.")
@click.option("--send", is_flag=True, help="Queue it to the QA managers (directory.qa_managers) and deliver it.")
@click.pass_context
@friendly
def digest_cmd(ctx: click.Context, period: str, preview: Path | None, send: bool) -> None:
    """The QA managers' digest: open, overdue and due-soon escalations, the period's figures and themes."""
    app = app_of(ctx)
    cfg, now = app.config, app.clock()
    with app.store.unit_of_work() as uow:
        figures = build_digest(uow, cfg, period, now)
        rendered = render_digest(figures, cfg)
        row = queue_digest(uow, cfg, period, now) if send else None
        queued = (row.key, row.status, list(row.to_emails)) if row is not None else None
    if preview is not None:
        try:
            write_private(preview, rendered.html.encode("utf-8"))  # it names children: 0600
        except OSError as exc:
            fail(f"cannot write the preview to {preview}: {exc.strerror or exc}")
        click.echo(f"HTML preview of “{rendered.subject}” written to {preview} (mode 0600)")
    if not send:
        if preview is None:
            click.echo(f"Subject: {rendered.subject}\n")
            click.echo(rendered.text, nl=False)
        return
    if queued is None:
        fail("no QA managers are configured, so the digest has nobody to go to — "
             'list them in directory.qa_managers, e.g. qa_managers = ["qa.manager@council.gov.uk"]')
    key, status, recipients = queued
    if status != "pending":
        click.echo(f"The digest {key} was queued before and is {status}; nothing new queued.")
        return
    click.echo(f"Queued {key} to {', '.join(recipients)}.")
    report = app.send_pending()
    if key in report.sent:
        where = f" (written to {cfg.mail_out.maildir})" if cfg.mail_out.transport == "maildir" else ""
        click.echo(f"Sent{where}.")
    elif report.server_error:
        click.echo(f"Not sent yet: the mail server said {report.server_error}. It stays queued; "
                   "the service will try again.")
    else:
        click.echo("Not sent yet; it stays queued and the service will deliver it.")


COMMANDS = (digest_cmd,)
