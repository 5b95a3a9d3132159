"""The ``mailbot`` group: the global options and the commands, gathered from the modules beside this one.

Every command reads the configuration named by ``--config`` (or ``$MAILBOT_CONFIG``); with neither, the embedded
default applies. ``--now`` fixes the clock of the whole run. User errors print one line on stderr and exit with
status 2, never a traceback.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from . import digest, export, reading, records, service, stories
from .support import fail, now_option


class OneLineErrors(click.Group):
    """A mistake on the command line is one line on stderr (``mailbot: error: missing argument 'REFERENCE' — try
    `mailbot show --help```) with click's exit status, as for every other user error — never click's usage block,
    not even for a group given no command (``mailbot policy``: "missing command", and the group's commands)."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            fail(usage_line(exc), status=exc.exit_code)
        except click.ClickException as exc:
            fail(" ".join(exc.format_message().split()), status=exc.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def usage_line(exc: click.UsageError) -> str:
    """Click's usage error as one line: its message (the first line, first letter lower-case, no full stop), then
    where the help is. A group given no command (click shows the whole help for it) says so, naming a few of the
    group's commands."""
    ctx = exc.ctx
    hint = f" — try `{ctx.command_path} --help`" if ctx is not None else ""
    no_command = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click 8.2+; before, the message is the help
    if isinstance(exc, no_command) or exc.message.lstrip().startswith("Usage:"):
        names: list[str] = []
        if ctx is not None and isinstance(ctx.command, click.Group):
            names = sorted(ctx.command.list_commands(ctx))
        listed = f" ({', '.join(names)})" if 0 < len(names) <= 6 else ""
        return f"missing command{listed}{hint}"
    first = next((line.strip() for line in exc.format_message().splitlines() if line.strip()), "usage error")
    first = first.rstrip(".")
    return (first[:1].lower() + first[1:] if first[1:2].islower() else first) + hint


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="MAILBOT_CONFIG",
              help="Configuration file (TOML). Default: $MAILBOT_CONFIG, else the embedded default.")
@now_option
@click.version_option(package_name="iro-mailbot")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """iro-mailbot: runs the IRO escalation process over email."""
    ctx.ensure_object(dict)["config_path"] = config_path


for module in (reading, records, service, digest, export, stories):
    for command in module.COMMANDS:
        cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    for noisy in ("alembic", "apscheduler.scheduler", "httpx", "msal"):  # their INFO lines say nothing to operators
        logging.getLogger(noisy).setLevel(logging.WARNING)
    cli.main(args=argv, prog_name="mailbot")


__all__ = ["cli", "main"]
