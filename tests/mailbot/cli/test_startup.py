"""Start-up (issue 14, item 3): `mailbot --help` and the commands that only read — ``parse-subject``, ``due``,
``policy show``, ``policy list`` — import neither the store nor the templates nor a transport, and still print what
they printed. Each runs in a fresh interpreter, which then lists the modules it imported. `mailbot --help` imports
none of the commands' modules (it lists them from ``mailbot.cli.main.COMMANDS``, checked here against the commands),
and a command imports its own module only; logging is set up when the logging module is first imported, so the
commands that log nothing do not import it. The times are bench/run's (``--only startup``); nothing here is timed."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mailbot.cli import cli
from mailbot.cli.main import COMMANDS

#: What the light commands must not import: the database, the templates, the transports' libraries, the scheduler,
#: the report writers — and the shell's own layers that bring them.
HEAVY = ("sqlalchemy", "jinja2", "exchangelib", "msal", "httpx", "apscheduler", "alembic", "openpyxl", "icalendar",
         "store", "mailbot.app", "mailbot.mail_in", "mailbot.clock", "mailbot.mail_out")

#: Runs ``mailbot ARGS`` as the console script does, then writes the names of the modules imported to OUT.
SCRIPT = """
import sys
out, args = sys.argv[1], sys.argv[2:]
from mailbot.cli.main import main
try:
    main(args)
finally:
    with open(out, "w", encoding="utf-8") as fp:
        fp.write("\\n".join(sorted(sys.modules)))
"""

SUBJECT = "Action - Level 1 escalation - Amelia Smith - MOSAIC 500001 - response by 08/12/2026"


def mailbot(tmp_path: Path, *args: str) -> tuple[int, str, str, set[str]]:
    """``mailbot ARGS`` in a new interpreter on the embedded default: exit status, stdout, stderr and the modules."""
    out = tmp_path / "modules.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILBOT_") and k not in ("PYTHONPATH", "COLUMNS")}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(out), *args], capture_output=True, text=True,
                          cwd=tmp_path, env=env, check=False, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr, set(out.read_text(encoding="utf-8").split())


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(("args", "lines"), [
    (("--help",), ["Usage: mailbot [OPTIONS] COMMAND [ARGS]...",
                   "  parse-subject  Show what the bot reads from an email SUBJECT line.",
                   "  policy         Escalation policies (ladders, working days, roles copied).",
                   "  demo           One made-up escalation, start to finish, in seconds:...",
                   "  preview-mails  Every mail the bot sends, for made-up escalations driven..."]),
    (("parse-subject", SUBJECT), ["    escalation: yes", "         level: 1", "      children: Amelia Smith",
                                  "  case numbers: 500001", "   response by: 2026-12-08", "      warnings: -"]),
    (("due", "05/12/2026", "1"), ["2026-12-08"]),
    (("due", "21/12/2026", "5", "--region", "scotland"),
     ["not a working day: 2026-12-25 Fri Christmas Day", "2026-12-30"]),
    (("policy", "show", "dorset"), ["Dorset Council — QARO IRO Resolution/Escalation Process (2021) [dorset]",
                                    "Total: 20 working days; case records on Mosaic; the IRO's date in the subject "
                                    "overrides the policy"]),
    (("policy", "show"), ["Dorset Council — QARO IRO Resolution/Escalation Process (2021) [dorset]"]),
    (("policy", "list"), ["dorset       Dorset Council — QARO IRO Resolution/Escalation Process (2021)",
                          "hull         Hull City Council — IRO Escalation Process"]),
], ids=lambda v: " ".join(v) if isinstance(v, tuple) else None)
def test_light_commands_import_nothing_heavy(tmp_path: Path, args: tuple[str, ...], lines: list[str]) -> None:
    code, out, err, modules = mailbot(tmp_path, *args)
    assert code == 0, err
    for line in lines:
        assert line in out.splitlines(), (line, out)
    assert heavy(modules) == []
    assert "mailbot.cli.main" in modules  # the list is of the run that printed


#: The modules beside ``mailbot.cli.main`` that define commands (in their ``COMMANDS``).
COMMAND_MODULES = ("digest", "export", "reading", "records", "service", "stories")


@pytest.mark.parametrize(("args", "own"), [
    (("--help",), set()),
    (("-h",), set()),
    (("--version",), set()),
    ((), set()),
    (("no-such-command",), set()),
    (("parse-subject", SUBJECT), {"reading"}),
    (("due", "05/12/2026", "1"), {"reading"}),
    (("policy", "list"), {"reading"}),
], ids=lambda v: " ".join(v) if isinstance(v, tuple) else None)
def test_a_command_imports_its_own_module_only(tmp_path: Path, args: tuple[str, ...], own: set[str]) -> None:
    """`mailbot --help` (and `--version`, and a mistake on the command line) imports no command's module; a command
    imports the module that defines it, and no other."""
    _code, _out, _err, modules = mailbot(tmp_path, *args)
    assert {m for m in COMMAND_MODULES if f"mailbot.cli.{m}" in modules} == own


@pytest.mark.parametrize("args", [("--help",), ("parse-subject", SUBJECT), ("due", "05/12/2026", "1"),
                                  ("policy", "show", "dorset")], ids=" ".join)
def test_commands_that_log_nothing_import_no_logging(tmp_path: Path, args: tuple[str, ...]) -> None:
    """Logging is set up when the logging module is first imported; these import nothing that logs (the parsers
    import logging only to report a failure), so not logging either. `--help` reads no time zone."""
    code, _out, err, modules = mailbot(tmp_path, *args)
    assert code == 0, err
    assert not any(m == "logging" or m.startswith("logging.") for m in modules)
    if args == ("--help",):
        assert "zoneinfo" not in modules


#: Sets logging up as ``mailbot`` does (``log_to_stderr``), the logging module imported before (``before``) or after,
#: then logs a warning, an INFO line and an INFO line of a noisy library; stderr is what the tests read.
LOGGING_SCRIPT = """
import sys
if sys.argv[1] == "before":
    import logging
from mailbot.cli.main import log_to_stderr
log_to_stderr()
log_to_stderr()  # twice: once all the same
import logging.handlers  # the package first, through the hook when it was not imported before
logging.getLogger("parsers.subject").warning("subject parsing failed unexpectedly")
logging.getLogger("mailbot.app").info("an INFO line")
logging.getLogger("httpx").info("a library's INFO line")
assert logging.__loader__ is logging.__spec__.loader and type(logging.__loader__).__name__ == "SourceFileLoader"
print(sum(type(f).__name__ == "_WhenLoggingImported" for f in sys.meta_path), len(logging.getLogger().handlers))
"""


@pytest.mark.parametrize("when", ["before", "after"])
def test_logging_is_set_up_whenever_it_is_imported(tmp_path: Path, when: str) -> None:
    """The same log lines whether the logging module was imported before the command ran or by the command; the hook
    that waits for it leaves ``sys.meta_path`` once used, and the module keeps its own loader."""
    proc = subprocess.run([sys.executable, "-c", LOGGING_SCRIPT, when], capture_output=True, text=True, cwd=tmp_path,
                          check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0", "1"]
    [line] = proc.stderr.splitlines()
    assert line.endswith(" level=WARNING logger=parsers.subject subject parsing failed unexpectedly")


def test_the_listed_commands_are_the_commands() -> None:
    """``COMMANDS`` names every command of the modules beside ``main`` (a command missing from it would be missing
    from `mailbot`), with the module that defines it and the first paragraph of its help: what ``--help`` shows of
    it, at every width, is what the command itself would show."""
    defined: dict[str, tuple[str, click.Command]] = {}
    for info in pkgutil.iter_modules(importlib.import_module("mailbot.cli").__path__):
        if info.name in ("__main__", "main"):
            continue
        module = importlib.import_module(f"mailbot.cli.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            assert command.name not in defined, command.name
            defined[command.name] = (info.name, command)
    assert sorted(defined) == sorted(COMMANDS)
    assert {defined[name][0] for name in defined} == set(COMMAND_MODULES)
    for name, (module_name, help_text) in COMMANDS.items():
        module, command = defined[name]
        assert module == module_name, name
        assert not command.hidden and not command.deprecated and command.short_help is None, name
        listed = click.Command(name, help=help_text)
        for limit in range(1, 200):
            assert listed.get_short_help_str(limit) == command.get_short_help_str(limit), (name, limit)


def test_help_lists_every_command_as_click_would() -> None:
    """`mailbot --help` is click's help of the group with every command in it, at several widths."""
    full = click.Group(cli.name, params=cli.params, help=cli.help, context_settings=cli.context_settings,
                       commands=[cli.get_command(click.Context(cli), name) for name in COMMANDS])
    for columns in ("60", "80", "100", "140"):
        ours = CliRunner().invoke(cli, ["--help"], env={"COLUMNS": columns}, prog_name="mailbot")
        theirs = CliRunner().invoke(full, ["--help"], env={"COLUMNS": columns}, prog_name="mailbot")
        assert ours.exit_code == theirs.exit_code == 0
        assert ours.stdout == theirs.stdout, columns


def test_a_mistyped_command_is_matched_against_every_command(tmp_path: Path) -> None:
    """Click's "did you mean" is made from every command's name, not only the ones imported."""
    code, out, err, _modules = mailbot(tmp_path, "polic", "show")
    assert code == 2 and out == ""
    assert err.strip() == ("mailbot: error: no such command 'polic'. (Did you mean one of: 'policy', 'poll'?) — try "
                           "`mailbot --help`")


def test_help_and_parse_subject_read_no_rules(tmp_path: Path) -> None:
    """`mailbot --help` defines every command without the rules, the parsers or the configuration; a subject that
    counts no working days is read without the calendar (holidays) and the configuration."""
    for args in (("--help",), ("parse-subject", SUBJECT)):
        _code, _out, _err, modules = mailbot(tmp_path, *args)
        assert {"holidays", "rules.calendar", "rules.presets", "mailbot.config"}.isdisjoint(modules), args
    _code, _out, _err, modules = mailbot(tmp_path, "--help")
    assert not any(m == "parsers" or m.startswith("parsers.") for m in modules)


def test_parse_subject_counting_working_days_reads_the_calendar(tmp_path: Path) -> None:
    """Working days are counted on the configured calendar (Christmas and Boxing Day skipped), read when asked."""
    code, out, err, modules = mailbot(tmp_path, "parse-subject", "--received", "2026-12-21",
                                      "Level 1 escalation - Jane Doe - Mosaic 123456 - respond within 5 working days")
    assert code == 0, err
    assert "   response by: 2026-12-30" in out.splitlines()
    assert {"rules.calendar", "mailbot.config"} <= modules
    assert heavy(modules) == []


def test_parse_subject_calendar_from_a_missing_config_is_one_line(tmp_path: Path) -> None:
    """A configuration read only when the subject counts working days fails as every command does: one line,
    exit status 2 (not a warning from the parser's guard)."""
    code, out, err, _modules = mailbot(tmp_path, "--config", str(tmp_path / "missing.toml"), "parse-subject",
                                       "Level 1 escalation - Jane Doe - Mosaic 123456 - respond within 5 working days")
    assert code == 2
    assert out == ""
    assert err.startswith("mailbot: error: ") and "no such file" in err
    assert err.strip().count("\n") == 0


def test_lazy_choices_read_when_used() -> None:
    """The ``--region`` and ``--period`` choices, read when first used, are the rules' own, in their order."""
    from rules.calendar import REGIONS
    from rules.digest import PERIODS

    runner = CliRunner()
    result = runner.invoke(cli, ["digest", "--help"])
    assert f"--period [{'|'.join(PERIODS)}]" in result.stdout
    result = runner.invoke(cli, ["parse-subject", "--help"])
    assert f"--region [{'|'.join(sorted(REGIONS))}]" in result.stdout
    result = runner.invoke(cli, ["due", "21/12/2026", "5", "--region", "mars"], env={"MAILBOT_CONFIG": ""})
    assert result.exit_code == 2
    assert "'mars' is not one of 'england', 'northern-ireland', 'scotland', 'wales'" in result.stderr


def test_london_is_the_calendars() -> None:
    """support.london() (no holidays imported) is the very zone the rules use."""
    from mailbot.cli.support import london
    from rules.calendar import LONDON as RULES_LONDON

    assert london() is RULES_LONDON
