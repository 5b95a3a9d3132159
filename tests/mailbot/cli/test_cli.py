"""The mailbot command: output shapes, and one clear line (no traceback) for every user error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot.cli import cli

ROOT = Path(__file__).resolve().parents[3]


#: The embedded default's council writes from example.gov.uk: mail from anywhere else cannot open a record.
EMBEDDED = {"sender": "jane.iro@example.gov.uk", "to": "tom.manager@example.gov.uk",
            "cc": ("iro-escalations@example.gov.uk",)}


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


# --- mail in, on the embedded default (a local mail folder and SQLite, in a temporary directory) ------------

FIXTURES = ROOT / "tests" / "fixtures" / "mail"


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # the embedded default keeps ./var/mailbox and ./var/iro-mailbot.db
    return tmp_path


def test_explain_json_gives_file_and_kind_for_each_mail(local: Path) -> None:
    files = sorted(str(p) for p in FIXTURES.glob("*.eml"))
    code, out, err = run("explain", "--json", "--received", "2026-12-07", *files)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["file"] for r in rows] == files
    kinds = {Path(r["file"]).name: r["kind"] for r in rows}
    assert kinds["bounce_dsn.eml"] == "bounce"
    assert kinds["outlook_desktop_reply.eml"] == kinds["owa_reply.eml"] == "human"
    assert all(r["kind"] in ("human", "auto_reply", "bounce") for r in rows)


def test_strip_reply_reads_plain_text_and_eml(local: Path) -> None:
    plain = local / "reply.txt"
    plain.write_text("Agreed, extend to 18/12/2026.\n\nOn Tue, 24 Nov 2026 at 09:12, Jane <j@x.gov.uk> wrote:\n"
                     "> Please respond.\n", encoding="utf-8")
    code, out, _ = run("strip-reply", str(plain))
    assert (code, out.strip()) == (0, "Agreed, extend to 18/12/2026.")
    code, out, _ = run("strip-reply", str(FIXTURES / "owa_reply.eml"))
    assert code == 0
    assert out.startswith("Escalate - no response has been received") and "From:" not in out


def test_drop_poll_list_show_on_the_embedded_default(local: Path) -> None:
    from datetime import UTC, datetime

    from tests.mailfactory import Thread, outlook_escalation, outlook_reply

    subject = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
    thread = Thread(subject)
    when = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    (local / "a.eml").write_bytes(outlook_escalation(thread, subject=subject, when=when, **EMBEDDED))
    (local / "b.eml").write_bytes(outlook_reply(thread, sender=EMBEDDED["to"], to=[EMBEDDED["sender"]], cc=[],
                                                text="On it.", when=when))
    code, out, err = run("drop", "a.eml", "b.eml")
    assert code == 0, err
    code, out, err = run("--now", "2026-11-24T10:00", "poll", "--once")  # received then, whatever today is
    assert code == 0, err
    assert "2 mail(s) read" in out
    [row] = json.loads(run("list", "--json")[1])
    assert (row["reference"], row["level"], row["case_numbers"]) == ("ESC-0001", 1, ["123456"])
    code, out, _ = run("show", "ESC-0001")
    assert code == 0 and "On it." in out and "response" in out
    code, _, err = run("show", "ESC-9999")
    assert code == 2 and "no escalation 'ESC-9999'" in err
    assert (local / "var" / "iro-mailbot.db").stat().st_mode & 0o777 == 0o600
    # the clock, rehearsed: Tom answered on Tuesday, the IRO said nothing for two working days: she is asked
    code, out, _ = run("tick", "--dry-run", "--now", "2026-11-25T10:00")
    assert (code, out.strip()) == (0, "0 action(s) would be done")
    code, out, _ = run("tick", "--now", "2026-11-26T10:00")
    assert code == 0 and "L1.ask_iro" in out and "1 action(s) done" in out
    timeline = json.loads(run("show", "ESC-0001", "--json")[1])["timeline"]
    done = next(e for e in timeline if e["event"] == "action_done")
    assert done["at"] == "2026-11-26T10:00:00+00:00"  # the whole run is stamped with --now


def test_outbox_lists_what_waits_and_what_was_refused(local: Path) -> None:
    from datetime import UTC, datetime

    from tests.mailfactory import Thread, outlook_escalation

    subject = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456"  # no date, no manager: acknowledged
    # the manager is outside the embedded default's domain: the bot's reminder to them is refused, never sent
    raw = outlook_escalation(Thread(subject), subject=subject, when=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
                             **{**EMBEDDED, "to": "tom.manager@partner.example"})
    (local / "a.eml").write_bytes(raw)
    run("drop", "a.eml")
    run("--now", "2026-11-24T10:00", "poll", "--once")
    code, out, _ = run("outbox")
    assert code == 0
    assert out.splitlines() == [
        "pending  case_record    tries 0  ESC-0001.record.opened.L1 — due now: the next send (every minute in the "
        "service, or `mailbot send`) takes it",
        "pending  acknowledgement tries 0  ESC-0001.ack — due now: the next send (every minute in the service, or "
        "`mailbot send`) takes it",
        "2 mail(s) pending/failed/refused"]
    run("--now", "2026-11-27T10:00", "tick", "--dry-run")  # changes nothing
    assert run("outbox")[1] == out
    run("--now", "2026-11-27T10:00", "tick")  # two working days before the due date: the reminder
    code, out, _ = run("outbox")
    assert "refused  chaser         tries 0  ESC-0001.L1.chase.-2@2026-12-01 — no recipient inside council.domains" \
        in out.splitlines()
    assert out.strip().endswith("mail(s) pending/failed/refused")
    assert [r["key"] for r in json.loads(run("outbox", "--status", "sent", "--json")[1])] == [
        "ESC-0001.record.opened.L1", "ESC-0001.ack"]


# --- --now: the one clock of a run, before the command or after it ------------------------------------------


def _escalation_polled(local: Path) -> None:
    """One Level 1 escalation (due Tuesday 1 December 2026) read on Tuesday 24 November."""
    from datetime import UTC, datetime

    from tests.mailfactory import Thread, outlook_escalation

    subject = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
    raw = outlook_escalation(Thread(subject), subject=subject, when=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
                             **EMBEDDED)
    (local / "a.eml").write_bytes(raw)
    assert run("drop", "a.eml")[0] == 0
    code, out, err = run("--now", "2026-11-24T10:00", "poll", "--once")
    assert code == 0 and "1 mail(s) read" in out, err


def test_now_sets_the_digests_week(local: Path) -> None:
    code, out, err = run("--now", "2027-01-11T08:00", "digest")
    assert code == 0, err
    subject = out.splitlines()[0]
    assert subject.startswith("Subject: IRO escalations digest")
    assert "week to 10 Jan 2027" in subject  # Monday 11 January: the week Monday 4 to Sunday 10 January
    assert (local / "var" / "iro-mailbot.db").exists()  # the embedded default wrote under the working directory
    assert run("digest", "--now", "2027-01-11T08:00") == (code, out, err)  # the same given after the command


def test_now_is_the_received_date_of_parse_subject(local: Path) -> None:
    code, out, err = run("--now", "2026-03-01", "parse-subject", "--json",
                         "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 05/04")
    assert code == 0, err
    data = json.loads(out)
    assert data["response_date"] == "2026-04-05"  # a date without a year: its next occurrence from 1 March 2026
    assert (data["level"], data["children"], data["warnings"]) == (1, ["Jane Doe"], [])


def test_now_after_tick_works_like_before_it(local: Path) -> None:
    _escalation_polled(local)
    before = run("--now", "2026-11-27T10:00", "tick", "--dry-run")
    after = run("tick", "--dry-run", "--now", "2026-11-27T10:00")
    assert before == after
    code, out, _ = after
    assert code == 0 and "L1.chase.-2@2026-12-01" in out and out.strip().endswith("1 action(s) would be done")
    assert run("tick", "--dry-run", "--now", "2026-11-26T10:00")[1].strip() == "0 action(s) would be done"
    code, out, _ = run("tick", "--now", "2026-11-27T10:00")
    assert code == 0 and "1 action(s) done" in out
    timeline = json.loads(run("show", "ESC-0001", "--json")[1])["timeline"]
    [done] = [e for e in timeline if e["event"] == "action_done"]
    assert done["at"] == "2026-11-27T10:00:00+00:00"
    assert done["data"]["key"] == "L1.chase.-2@2026-12-01"


@pytest.mark.parametrize("args", [("--now", "next monday", "list"), ("tick", "--now", "2026-13-01"),
                                  ("--now", "2026-11-31", "parse-subject", "x")])
def test_a_bad_now_is_one_error_line_and_status_2(local: Path, args: tuple[str, ...]) -> None:
    code, out, err = run(*args)
    assert code == 2
    errors = [line for line in err.splitlines() if "--now" in line]
    assert len(errors) == 1
    assert f"{args[args.index('--now') + 1]!r} is not an ISO date or date-time" in errors[0]
    assert "Traceback" not in out + err
    assert not (local / "var").exists()  # nothing was opened


def test_a_bad_now_prints_nothing_but_that_line(local: Path) -> None:
    code, _, err = run("--now", "next monday", "list")
    assert code == 2
    assert err.strip().count("\n") == 0
