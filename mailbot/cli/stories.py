"""``mailbot preview-mails DIR`` and ``mailbot demo [DIR]``: made-up escalations driven through the real bot, every
mail it sent written out. The stories are :mod:`.preview`'s and :mod:`.demo`'s, imported — with the App, the store
and the templates — when one of these commands runs, not when ``mailbot`` starts."""

from __future__ import annotations

import time as timer
from pathlib import Path

import click

from .support import clock_of, config_of, fail, friendly, london, now_option, today


@click.command("preview-mails")
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path))
@click.pass_context
@friendly
def preview_mails_cmd(ctx: click.Context, folder: Path) -> None:
    """Every mail the bot sends, for made-up escalations driven through the bot (nothing is sent): NN-kind.eml,
    .html (with its headers) and .txt per mail, and index.html, written to DIR (0700, files 0600)."""
    from .preview import build_preview, write_gallery

    config = config_of(ctx)
    calendar = config.calendar.calendar()
    start = calendar.next_working_day(today(ctx))
    mails, end = build_preview(config, start)
    if not mails:
        fail("the made-up escalations queued no mail — check the policy and the directory (mailbot check-config)")
    written = write_gallery(folder, mails, config, start, end)
    for stem, row, ref in written:
        to = ", ".join(row.to_emails) or "nobody"
        click.echo(f"{stem:<24} {ref or '-':<9} to {to}: {row.subject}")
    click.echo(f"{len(written)} mail(s) written to {folder} as .eml, .html and .txt, with index.html "
               f"(made-up escalations from {start.isoformat()} to {end.isoformat()}; nothing sent; files 0600)")


@click.command("demo")
@click.argument("folder", metavar="[DIR]", required=False, type=click.Path(path_type=Path))
@now_option
@click.pass_context
@friendly
def demo_cmd(ctx: click.Context, folder: Path | None) -> None:
    """One made-up escalation, start to finish, in seconds: told day by day, every mail the bot sent written as
    .eml, .html and .txt with index.html in DIR (default: a new temporary folder, kept). On the embedded default;
    nothing is sent and nothing outside DIR is touched."""
    import tempfile

    from mailbot.config import embedded_default

    from .demo import DemoStory, tell
    from .preview import private_folder, throwaway, write_gallery

    began = timer.monotonic()
    root = ctx.find_root().ensure_object(dict)
    if root.get("config_path"):
        click.echo(f"mailbot: the demo runs on the embedded default; {root['config_path']} is not read", err=True)
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="mailbot-demo-"))  # 0700
    private_folder(folder)
    config = embedded_default(base=folder.resolve())
    now = clock_of(ctx)()  # --now, else the system clock
    start = config.calendar.calendar().next_working_day(now.astimezone(london()).date())
    with throwaway(config, start, DemoStory, inside=folder) as story:
        story.run()
        mails = story.outbox()
        if not mails or story.reference is None:
            fail("the made-up escalation queued no mail — this is a bug: please report it")
        written = write_gallery(folder, mails, config, start, story.today, title="The demo's mails",
                                what="A made-up escalation")
        region = config.calendar.calendar().region.replace("-", " ").title()
        click.echo(f"A made-up escalation through the bot on the embedded default ({config.policy.council}'s "
                   f"policy, {region}'s working days); nothing is sent.\n")
        for line in tell(story, written):
            click.echo(line)
    took = timer.monotonic() - began
    click.echo(f"\n{len(written)} mails the bot sent, written to {folder} as .eml, .html and .txt (folder 0700, "
               f"files 0600) in {took:.1f} s.\nOpen {folder.resolve() / 'index.html'} to read them.")


COMMANDS = (preview_mails_cmd, demo_cmd)
