"""The mailbot command: output shapes, and one clear line (no traceback) for every user error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"MAILBOT_CONFIG": "", **(env or {})})
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_parse_subject_json() -> None:
    code, out, _ = run("parse-subject", "--received", "2026-11-24", "--json",
                       "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 05/12/2026")
    assert code == 0
    data = json.loads(out)
    assert data["is_escalation"] is True
    assert data["level"] == 1
    assert data["children"] == ["Jane Doe"]
    assert data["case_numbers"] == ["123456"]
    assert data["response_date"] == "2026-12-05"
    assert data["warnings"] == []


def test_parse_subject_siblings_and_relative_working_days() -> None:
    # 24 Nov 2026 is a Tuesday; 10 working days later is Tuesday 8 December.
    code, out, _ = run("parse-subject", "--received", "2026-11-24", "--json",
                       "RE: FW: Level 2 escalation - Sam and Alex Jones - LCS 4455 - within 10 working days")
    data = json.loads(out)
    assert (code, data["level"], data["children"]) == (0, 2, ["Sam Jones", "Alex Jones"])
    assert data["case_numbers"] == ["4455"]
    assert data["response_date"] == "2026-12-08"


def test_parse_subject_impossible_date_warns() -> None:
    code, out, _ = run("parse-subject", "--received", "2026-11-24", "--json",
                       "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 31/11/2026")
    data = json.loads(out)
    assert code == 0 and data["response_date"] is None
    assert any("31/11/2026" in w for w in data["warnings"])


def test_parse_subject_text_output() -> None:
    code, out, _ = run("parse-subject", "--received", "2026-11-24", "Level 1 escalation - Jane Doe - Mosaic 123456")
    assert code == 0
    assert "escalation: yes" in out and "level: 1" in out and "123456" in out


@pytest.mark.parametrize(
    ("args", "last_line"),
    [
        (("due", "2026-11-23", "5"), "2026-11-30"),
        (("due", "2026-12-21", "5"), "2026-12-30"),   # skips Christmas Day and Boxing Day (observed, Mon 28th)
        (("due", "2026-12-21", "5", "--region", "scotland"), "2026-12-30"),
        (("due", "2027-03-25", "1"), "2027-03-30"),   # Thursday + 1: Good Friday and Easter Monday skipped
        (("due", "2027-03-25", "1", "--region", "scotland"), "2027-03-29"),  # no Easter Monday in Scotland
    ],
)
def test_due(args: tuple[str, ...], last_line: str) -> None:
    code, out, _ = run(*args)
    assert code == 0
    assert out.strip().splitlines()[-1] == last_line


def test_due_names_the_holidays_it_skipped() -> None:
    _, out, _ = run("due", "2026-12-21", "5")
    assert "2026-12-25 Fri Christmas Day" in out


def test_policy_show_text_and_json() -> None:
    code, out, _ = run("policy", "show", "birmingham")
    assert code == 0
    assert "Director of Practice" in out
    code, out, _ = run("policy", "show", "birmingham", "--json")
    data = json.loads(out)
    assert [row["cumulative"] for row in data["cumulative"] if row["cumulative"] is not None] == [10, 13, 16, 20]


def test_policy_show_default_is_the_configured_one() -> None:
    _, out, _ = run("--config", str(ROOT / "config.example.toml"), "policy", "show")
    assert "[dorset]" in out


def test_policy_list_names_every_preset() -> None:
    _, out, _ = run("policy", "list")
    for key in ("dorset", "hull", "birmingham", "rotherham", "south-west"):
        assert key in out


def test_check_config_ok() -> None:
    code, out, _ = run("check-config", str(ROOT / "config.example.toml"))
    assert code == 0
    assert out.startswith(f"{ROOT / 'config.example.toml'}: OK")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("policy", "show", "leeds"), "no policy preset called 'leeds'"),
        (("check-config", "/nonexistent/config.toml"), "no such file"),
        (("due", "2026-02-30", "5"), "'2026-02-30' is not a date"),
        (("due", "2026-11-23", "five"), "'five' is not a valid integer"),
        (("parse-subject", "--received", "yesterday", "x"), "'yesterday' is not a date"),
        (("--config", "/nonexistent.toml", "policy", "show"), "no such file"),
    ],
)
def test_user_errors_are_one_line(args: tuple[str, ...], message: str) -> None:
    code, out, err = run(*args)
    assert code == 2
    assert message in err
    assert "Traceback" not in out + err


def test_bad_config_key_is_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[council]\nname = "X"\ndomains = ["x.gov.uk"]\n[calendar]\nregion = "mars"\n', encoding="utf-8")
    code, _, err = run("check-config", str(cfg))
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "calendar.region: 'mars' is not one of" in err


def test_console_script_runs() -> None:
    script = Path(sys.executable).with_name("mailbot")
    proc = subprocess.run([str(script), "due", "2026-11-23", "5"], capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "2026-11-30"


def test_hostile_subjects_never_crash() -> None:
    for subject in ("", "\x00\x01\x02", "x" * 10_000, "05/12/2026", "Level 99 escalation"):
        code, out, err = run("parse-subject", "--received", "2026-11-24", "--json", subject)
        assert code == 0, err
        assert set(json.loads(out)) >= {"is_escalation", "level", "children", "case_numbers", "response_date",
                                       "warnings"}
