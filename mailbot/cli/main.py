"""The ``mailbot`` group: the global options and the commands, defined in the modules beside this one.

Every command reads the configuration named by ``--config`` (or ``$MAILBOT_CONFIG``); with neither, the embedded
default applies. ``--now`` fixes the clock of the whole run. User errors print one line on stderr and exit with
status 2, never a traceback.

Start-up (issue 14): a command's module is imported when that command runs, and ``mailbot --help`` lists the
commands from :data:`COMMANDS` without importing any of them; logging is set up (:func:`log_to_stderr`) when a command
runs and imports the logging module, so not for ``--help``, ``--version``, a mistake on the command line, nor for a
command that logs nothing (``parse-subject``).
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import TYPE_CHECKING, Any

import click

from .support import fail, now_option

if TYPE_CHECKING:
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec
    from types import ModuleType

#: Every command: its name, the module beside this one that defines it (in its ``COMMANDS``), and the first paragraph
#: of its help, which is all ``mailbot --help`` shows of it. tests/mailbot/cli/test_startup.py checks these against
#: the commands themselves.
COMMANDS: dict[str, tuple[str, str]] = {
    "check-config": ("service", "Validate a configuration FILE; print what it sets up, or one line naming the key and "
                                "the fix."),
    "db": ("records", "The database."),
    "demo": ("stories", "One made-up escalation, start to finish, in seconds: told day by day, every mail the bot sent "
                        "written as .eml, .html and .txt with index.html in DIR (default: a new temporary folder, "
                        "kept). On the embedded default; nothing is sent and nothing outside DIR is touched."),
    "digest": ("digest", "The QA managers' digest: open, overdue and due-soon escalations, the period's figures and "
                         "themes."),
    "drop": ("service", 'Put .eml FILES into the local mail folder (transport = "maildir"), e.g. to try the bot out.'),
    "due": ("reading", "Print the date DAYS working days after START (21/12/2026 or 2026-12-21; the ISO date alone on "
                       "the last line)."),
    "explain": ("reading", "How the bot reads each .eml FILE: facts, kind, new text, commands, the record it would "
                           "match."),
    "export": ("export", "Everything held about one child — records, stages, the whole timeline, every mail — as one "
                         "JSON file (mode 0600), for a subject-access request."),
    "list": ("records", "List escalations."),
    "outbox": ("records", "The bot's own mail: what waits, what was given up or refused, and why (newest first)."),
    "parse-subject": ("reading", "Show what the bot reads from an email SUBJECT line."),
    "policy": ("reading", "Escalation policies (ladders, working days, roles copied)."),
    "poll": ("service", "Read new mail from the mailbox once, record it, and say what became of each mail."),
    "preview-mails": ("stories", "Every mail the bot sends, for made-up escalations driven through the bot (nothing "
                                 "is sent): NN-kind.eml, .html (with its headers) and .txt per mail, and index.html, "
                                 "written to DIR (0700, files 0600)."),
    "purge": ("records", "Delete closed escalations and unmatched mail past their retention — with their copies in "
                         "the local mail folders, and the names in kept digests (the service does it nightly)."),
    "report": ("digest", "One of the policy's reports by hand: NAME is its name (`mailbot report` lists them) or its "
                         "cadence."),
    "run": ("service", "Run the service: read the mailbox and record every mail, until stopped (SIGTERM or Ctrl-C)."),
    "send": ("service", "Send the mail waiting in the outbox (the service does this by itself every minute)."),
    "show": ("records", "Show one escalation and its whole timeline: the mails in, the events and the bot's own mails "
                        "(sent, pending or refused) in time order, every time in Europe/London with its zone "
                        "(GMT/BST); --json keeps ISO times."),
    "strip-reply": ("reading", "Print the new text of a reply read from FILE (plain text; .eml files are parsed "
                               "first)."),
    "tick": ("service", "Run one tick: chase, escalate and notify whatever is due (then send it, unless --dry-run)."),
}


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


class LazyCommands(OneLineErrors):
    """The commands of :data:`COMMANDS`, each imported from its module when it is asked for by name (to run it, or
    its help); the list in ``--help`` is made from :data:`COMMANDS` alone. ``logs`` (set by :func:`main`, not by
    click's test runner): a command that runs logs on stderr (:func:`log_to_stderr`)."""

    logs = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module = import_module(f"{__package__}.{COMMANDS[cmd_name][0]}")
            self.add_command(next(c for c in module.COMMANDS if c.name == cmd_name))
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        """Click's, with its "did you mean" taken from every command's name (click's own takes those imported)."""
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            no_such = getattr(click.exceptions, "NoSuchCommand", None)  # click 8.4+; before, no suggestions
            if no_such is None or not isinstance(exc, no_such):
                raise
            raise no_such(exc.command_name, possibilities=self.list_commands(ctx), ctx=ctx) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Click's list of the commands, of stand-ins that carry each command's name and first paragraph of help."""
        listed = click.Group(commands=[click.Command(name, help=text) for name, (_module, text) in COMMANDS.items()])
        listed.format_commands(ctx, formatter)

    def invoke(self, ctx: click.Context) -> Any:
        if self.logs:
            log_to_stderr()
        return super().invoke(ctx)


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


@click.group(cls=LazyCommands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="MAILBOT_CONFIG",
              help="Configuration file (TOML). Default: $MAILBOT_CONFIG, else the embedded default.")
@now_option
@click.version_option(package_name="iro-mailbot")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """iro-mailbot: runs the IRO escalation process over email."""
    ctx.ensure_object(dict)["config_path"] = config_path


def log_to_stderr() -> None:
    """Log on stderr at WARNING (``verbose`` raises it for the long-running commands), without the libraries' INFO
    lines (they say nothing to operators) — set up as soon as the logging module is imported, so before any record,
    but not before: a command that imports nothing that logs (``parse-subject``, ``due``, ``policy``) does not import
    logging either (4 ms, a sixth of ``python -c pass``)."""
    if "logging" in sys.modules:
        _set_up_logging()
    elif not any(isinstance(finder, _WhenLoggingImported) for finder in sys.meta_path):
        sys.meta_path.insert(0, _WhenLoggingImported())


def _set_up_logging() -> None:
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    for noisy in ("alembic", "apscheduler.scheduler", "httpx", "msal"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _WhenLoggingImported:
    """An import hook (a :data:`sys.meta_path` finder) for the logging module alone: it leaves the hooks, finds the
    module as they do, and has :func:`_set_up_logging` run as soon as the module's own code has run."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        from importlib.util import find_spec

        spec = find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenSetUpLogging(spec.loader)
        return spec


class _ThenSetUpLogging:
    """``loader``, then :func:`_set_up_logging`; the module keeps ``loader`` as its own."""

    def __init__(self, loader: Loader) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        _set_up_logging()


def main(argv: list[str] | None = None) -> None:
    cli.logs = True
    try:
        cli.main(args=argv, prog_name="mailbot")
    finally:
        cli.logs = False


__all__ = ["COMMANDS", "cli", "main"]
