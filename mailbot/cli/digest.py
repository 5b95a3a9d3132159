"""``mailbot digest`` and ``mailbot report``: show, preview, write or send the QA managers' digest and the policy's
reports, as at the run's clock (``--now``)::

    mailbot digest                                   # this week's digest as text (the last complete week)
    mailbot --now 2026-12-01 digest --period month   # November 2026, as at 1 December 09:00 London
    mailbot digest --preview digest.html             # write the HTML version to a file (0600), to open in a browser
    mailbot digest --send                            # queue it to directory.qa_managers (once per period), send it

    mailbot report                                   # the policy's reports and who gets each
    mailbot report monthly                           # the monthly report (by name or cadence): recipients and text
    mailbot report monthly --period 2026-10-15       # the one for the period containing 15 October 2026
    mailbot report annual --to-file out/             # subject/text, HTML, XLSX and CSV written to out/ (0600)
    mailbot report monthly --send                    # queue it to its audience (once per period) and send it

``--send`` queues the mail in the outbox (key ``digest.<period>.<last day>`` or ``report.<name>.<last day>``, so a
second run for the same period queues nothing new) and delivers whatever is due in the outbox at once; if the mail
server is not there, the running service delivers it on its next round.

Both import the digest (:mod:`mailbot.mail_out.digest`, its templates and the store) when they run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .export import write_private
from .support import LazyChoice, app_of, fail, friendly, iso_date, now_option

if TYPE_CHECKING:
    from mailbot.app import App
    from mailbot.config import Config


def _periods() -> Iterable[str]:
    from rules.digest import PERIODS

    return PERIODS


@click.command("digest")
@click.option("--period", type=LazyChoice(_periods), default="week", show_default=True,
              help="The last complete week (Monday to Sunday), fortnight, calendar month, two months, calendar "
                   "quarter or financial year (April to March) before now.")
@now_option
@click.option("--preview", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.html",
              help="Write the HTML version to FILE.html instead of printing the text.")
@click.option("--send", is_flag=True, help="Queue it to the QA managers (directory.qa_managers) and deliver it.")
@click.pass_context
@friendly
def digest_cmd(ctx: click.Context, period: str, preview: Path | None, send: bool) -> None:
    """The QA managers' digest: open, overdue and due-soon escalations, the period's figures and themes."""
    from mailbot.mail_out.digest import build_digest, queue_digest, render_digest

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
    _send_report_now(app, key, recipients, cfg)


def _send_report_now(app: App, key: str, recipients: list[str], cfg: Config) -> None:
    click.echo(f"Queued {key} to {', '.join(recipients)}.")
    sent = app.send_pending()
    if key in sent.sent:
        where = f" (written to {cfg.mail_out.maildir})" if cfg.mail_out.transport == "maildir" else ""
        click.echo(f"Sent{where}.")
    elif sent.server_error:
        click.echo(f"Not sent yet: the mail server said {sent.server_error}. It stays queued; "
                   "the service will try again.")
    else:
        click.echo("Not sent yet; it stays queued and the service will deliver it.")


@click.command("report")
@click.argument("name", required=False)
@click.option("--period", "day", callback=iso_date, metavar="DAY",
              help="The report for the period of its cadence that contains DAY (05/12/2026 or 2026-12-05); "
                   "default: the last complete one before now.")
@now_option
@click.option("--to-file", "folder", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Write the mail (subject and text, HTML) and its attachments (XLSX, CSV) to DIR (files 0600) "
                   "instead of printing the text.")
@click.option("--send", is_flag=True, help="Queue it to its audience (once per period) and deliver it.")
@click.pass_context
@friendly
def report_cmd(ctx: click.Context, name: str | None, day: date | None, folder: Path | None, send: bool) -> None:
    """One of the policy's reports by hand: NAME is its name (`mailbot report` lists them) or its cadence."""
    from mailbot.mail_out.digest import (
        ReportNotFound,
        build_report,
        find_report,
        queue_report,
        render_report,
        report_check_lines,
        report_key,
        report_period,
        report_recipients,
    )

    app = app_of(ctx)
    cfg, now = app.config, app.clock()
    if name is None:
        lines = report_check_lines(cfg)
        if not lines:
            click.echo(f"Policy {cfg.policy.key} names no reports (add [[policy.reports]] to the configuration).")
        for line in lines:
            click.echo(line)
        return
    try:
        found, report = find_report(cfg.policy, name)
    except ReportNotFound as exc:
        fail(str(exc))
    period = report_period(report, now, day)
    recipients, missing = report_recipients(report, cfg)
    with app.store.unit_of_work() as uow:
        figures = build_report(uow, cfg, report, now, day=day)
        rendered = render_report(figures, cfg, report, name=found, missing=missing)
        row = queue_report(uow, cfg, report, now, name=found, day=day) if send else None
        queued = (row.key, row.status, list(row.to_emails)) if row is not None else None
    if folder is not None:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            stem = f"iro-escalations-{found}-{period.last_day.isoformat()}"
            head = f"Subject: {rendered.subject}\nTo: {', '.join(recipients) or '(nobody)'}\n\n"
            write_private(folder / f"{stem}.txt", (head + rendered.text).encode("utf-8"))
            write_private(folder / f"{stem}.html", rendered.html.encode("utf-8"))
            for attachment in rendered.attachments:
                write_private(folder / attachment.filename, attachment.data)
        except OSError as exc:
            fail(f"cannot write the report to {folder}: {exc.strerror or exc}")
        names = [f"{stem}.txt", f"{stem}.html", *(a.filename for a in rendered.attachments)]
        click.echo(f"“{rendered.subject}” written to {folder}{os.sep} (mode 0600): {', '.join(names)}")
    if not send:
        if folder is None:
            click.echo(f"Subject: {rendered.subject}")
            click.echo(f"To: {', '.join(recipients) or '(nobody: no address for its audience, no QA managers)'}")
            click.echo(f"Attached: {', '.join(a.filename for a in rendered.attachments)}\n")
            click.echo(rendered.text, nl=False)
        return
    if queued is None:
        fail(f"report {found} has nobody to go to: no address for {', '.join(report.audience)} and no QA managers "
             '— add the role to [reports.audiences], e.g. "SMT" = ["smt@council.gov.uk"], or list '
             "directory.qa_managers")
    key, status, to = queued
    if status != "pending":
        click.echo(f"The report {key} was queued before and is {status}; nothing new queued.")
        return
    assert key == report_key(found, period)
    _send_report_now(app, key, to, cfg)


COMMANDS = (digest_cmd, report_cmd)
