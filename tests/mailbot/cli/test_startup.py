"""Start-up (issue 14, item 3): `mailbot --help` and the commands that only read — ``parse-subject``, ``due``,
``policy show``, ``policy list`` — import neither the store nor the templates nor a transport, and still print what
they printed. Each runs in a fresh interpreter, which then lists the modules it imported. The times are bench/run's
(``--only startup``); nothing here is timed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot.cli import cli

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
    """support.LONDON (no holidays imported) is the very zone the rules use."""
    from mailbot.cli.support import LONDON
    from rules.calendar import LONDON as RULES_LONDON

    assert LONDON is RULES_LONDON
