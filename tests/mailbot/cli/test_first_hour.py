"""The first hour with the bot: check-config proves the directory covers the policy and says where mail goes; the
embedded default says whose domain it serves; tick tells refused mail from mail sent; UK dates; one-line usage
errors."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot.app import App, fixed_clock
from mailbot.cli import cli
from mailbot.cli.service import _reporting_tick
from mailbot.config import embedded_default
from tests.mailfactory import Thread, outlook_escalation, outlook_reply

ROOT = Path(__file__).resolve().parents[3]
D = "dorsetcouncil.gov.uk"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"MAILBOT_CONFIG": "", "MAILBOT_DOMAINS": "", **(env or {})},
                                prog_name="mailbot")
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


# --- check-config: the directory against the policy -----------------------------------------------------------

COUNCIL = f'[council]\nname = "Dorset Council"\ndomains = ["{D}"]\n'
PEOPLE = f"""email,name,role,reports_to,team
tom@{D},Tom Manager,Team Manager,sara@{D},CiC East
sara@{D},Sara Service,Service Manager,hal@{D},
hal@{D},Hal Locality,Head of Locality,cd@{D},
cd@{D},Cleo Director,Corporate Director,ed@{D},
ed@{D},Eden Exec,Executive Director People - Children,,
"""


def config(tmp_path: Path, people: str = PEOPLE, extra: str = "") -> str:
    (tmp_path / "people.csv").write_text(people, encoding="utf-8")
    path = tmp_path / "config.toml"
    path.write_text(f'{COUNCIL}[directory]\ncsv = "people.csv"\nqa_managers = ["qa@{D}"]\n{extra}', encoding="utf-8")
    return str(path)


def test_a_role_the_directory_spells_otherwise_fails_check_config(tmp_path: Path) -> None:
    path = config(tmp_path)
    code, out, err = run("check-config", path)
    assert code == 1, err
    lines = out.splitlines()
    assert lines[0] == f"{path}: NOT OK — 1 level(s) of the policy reach nobody in the directory (below)"
    assert ("  error: Level 4 'Corporate Director for Care and Protection': nobody in the directory has this role; "
            "did you mean 'Corporate Director'? — give that person role = \"Corporate Director for Care and "
            "Protection\" in the directory (the policy's name for it)") in lines
    assert "    Team Tom Manager (CiC East): Level 2 → Sara Service (Service Manager)" in lines
    fixed = config(tmp_path, PEOPLE.replace(",Corporate Director,", ",Corporate Director for Care and Protection,"))
    code, out, err = run("check-config", fixed)
    assert code == 0, out + err
    assert out.startswith(f"{fixed}: OK\n") and "error:" not in out


def test_a_team_whose_line_breaks_is_warned_and_named_with_its_first_escalation(tmp_path: Path) -> None:
    people = PEOPLE.replace(",Corporate Director,", ",Corporate Director for Care and Protection,")
    people += f"tia@{D},Tia West,TM,,CiC West\n"
    code, out, _ = run("check-config", config(tmp_path, people))
    assert code == 0
    assert "    Team Tia West (CiC West): Level 2 → nobody (Service Manager): the bot would ask the IRO" in out
    assert ("  warning: Team Tia West (CiC West): Level 2 'Service Manager' (and Level 3, Level 4): Tia West has no "
            "reports_to (the directory lists Sara Service as Service Manager)") in out


def test_an_unknown_csv_column_is_one_line_naming_it_and_the_fix(tmp_path: Path) -> None:
    path = config(tmp_path, PEOPLE.replace("reports_to,team", "manager,team"))
    code, out, err = run("check-config", path)
    assert (code, out) == (2, "")
    assert err == (f"mailbot: error: {path}: directory.csv ({tmp_path / 'people.csv'}) row 1, column 'manager': is "
                   "not a column the directory reads — if it holds the line manager's email address, rename it "
                   "reports_to; otherwise delete the column (the columns are email,name,role,reports_to,team)\n")


def test_no_directory_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(COUNCIL, encoding="utf-8")
    code, out, _ = run("check-config", str(path))
    assert code == 0 and out.startswith(f"{path}: OK")
    assert "  warning: the directory lists none of the ladder's managers" in out
    assert f"  mailbox: iro-escalations@{D} via maildir" in out  # the council's own domain, not example.gov.uk


def test_the_example_is_ok_without_warnings() -> None:
    path = str(ROOT / "config.example.toml")
    code, out, _ = run("check-config", path)
    assert code == 0 and out.startswith(f"{path}: OK\n")
    assert "warning" not in out and "error" not in out
    assert "    Team Taylor East (Children in Care East): Level 2 → Sam East (Service Manager)" in out.splitlines()
    assert "  calendar: england, 0 local closure day(s)" in out.splitlines()


@pytest.mark.parametrize(
    ("mail_out", "line"),
    [
        ("", "  mail out: written to {base}/var/sent (transport maildir: nothing leaves this machine)"),
        ('[mail_out]\ntransport = "smtp"\n[mail_out.smtp]\nhost = "relay.{d}"\nport = 25\nsecurity = "none"\n',
         "  mail out: smtp to relay.{d}:25 (none, no login), from iro-escalations@{d}"),
        ('[mail_out]\ntransport = "smtp"\n[mail_out.smtp]\nhost = "smtp.office365.com"\nusername = "bot@{d}"\n'
         'password_env = "P"\n', "  mail out: smtp to smtp.office365.com:587 (starttls, login bot@{d}), "
                                 "from iro-escalations@{d}"),
        ('[mailbox]\ntransport = "graph"\naddress = "iro@{d}"\n[mailbox.graph]\ntenant_id = "t"\nclient_id = "c"\n'
         'client_secret_env = "S"\n[mail_out]\ntransport = "graph"\n',
         "  mail out: Microsoft Graph sendMail as iro@{d}"),
    ],
)
def test_check_config_says_where_mail_goes_out(tmp_path: Path, mail_out: str, line: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(COUNCIL + mail_out.format(d=D), encoding="utf-8")
    code, out, err = run("check-config", str(path))
    assert code == 0, err
    assert line.format(base=tmp_path, d=D) in out.splitlines()


# --- the embedded default: whose domain, and refused mail said as refused ------------------------------------


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # the embedded default keeps ./var/mailbox and ./var/iro-mailbot.db
    return tmp_path


SUBJECT = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
WHEN = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _escalation(local: Path, *, iro: str, manager: str, env: dict[str, str] | None = None) -> None:
    mailbox = "iro-escalations@" + iro.partition("@")[2]
    raw = outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=WHEN, sender=iro, to=manager, cc=(mailbox,))
    (local / "a.eml").write_bytes(raw)
    assert run("drop", "a.eml", env=env)[0] == 0
    code, out, err = run("--now", "2026-11-24T10:00", "poll", "--once", env=env)
    assert code == 0 and "opened" in out, out + err


NOTICE = ("embedded default: the council's mail domain is example.gov.uk (set MAILBOT_DOMAINS=yourcouncil.gov.uk to "
          "use your own, or a config file: see config.example.toml) — mail goes only to addresses there, and only "
          "senders there are obeyed")


def test_tick_says_a_chaser_refused_is_refused_and_why(local: Path) -> None:
    _escalation(local, iro="jane.iro@example.gov.uk", manager=f"tom.manager@{D}")
    code, out, err = run("--now", "2026-11-27T10:00", "tick")
    assert code == 0
    assert err.splitlines()[0] == NOTICE
    assert out.splitlines() == [
        "ESC-0001  chase                L1.chase.-2@2026-12-01       chaser for the due date 2026-12-01",
        f"          refused: chaser not sent — no recipient inside council.domains (tom.manager@{D} outside "
        "example.gov.uk)",
        "0 action(s) done, 1 refused: its mail was not sent (see above, and `mailbot outbox --status refused`)"]
    assert "action(s) done" not in run("--now", "2026-11-27T10:00", "tick")[1].replace("0 action(s) done", "")


def test_mailbot_domains_is_the_one_line_to_use_your_own(local: Path) -> None:
    env = {"MAILBOT_DOMAINS": D}
    _escalation(local, iro=f"jane.iro@{D}", manager=f"tom.manager@{D}", env=env)
    code, out, err = run("--now", "2026-11-27T10:00", "tick", env=env)
    assert code == 0, err
    assert err.splitlines()[0].startswith(f"embedded default: the council's mail domain is {D} (from MAILBOT_DOMAINS")
    assert out.splitlines()[-1] == "1 action(s) done" and "refused" not in out
    sent = [m["key"] for m in json.loads(run("outbox", "--status", "sent", "--json", env=env)[1])]
    assert "ESC-0001.L1.chase.-2@2026-12-01" in sent
    code, _, err = run("tick", env={"MAILBOT_DOMAINS": "not a domain"})
    assert code == 2
    assert err == ("mailbot: error: MAILBOT_DOMAINS: 'not a domain' is not a mail domain — write e.g. "
                   "MAILBOT_DOMAINS=yourcouncil.gov.uk (several: a.gov.uk,b.gov.uk)\n")


def test_the_embedded_default_obeys_no_one_outside_its_domain(local: Path) -> None:
    # an escalation from outside the domain opens nothing
    raw = outlook_escalation(Thread(SUBJECT, seed="outside"), subject=SUBJECT, when=WHEN,
                             sender=f"jane.iro@{D}", to="tom.manager@example.gov.uk",
                             cc=("iro-escalations@example.gov.uk",))
    (local / "o.eml").write_bytes(raw)
    run("drop", "o.eml")
    code, out, _ = run("--now", "2026-11-24T10:00", "poll", "--once")
    assert code == 0 and "(not opened: sender outside the council's domains)" in out
    assert json.loads(run("list", "--json")[1]) == []
    # a command from outside on a record opened inside is recorded, not obeyed
    thread = Thread(SUBJECT, seed="inside")
    (local / "a.eml").write_bytes(outlook_escalation(thread, subject=SUBJECT, when=WHEN,
                                                     sender="jane.iro@example.gov.uk", to="tom.manager@example.gov.uk",
                                                     cc=("iro-escalations@example.gov.uk",)))
    (local / "b.eml").write_bytes(outlook_reply(thread, sender=f"someone@{D}", to=["tom.manager@example.gov.uk"],
                                                cc=["iro-escalations@example.gov.uk"], text="Resolved - signed off",
                                                when=datetime(2026, 11, 24, 11, 0, tzinfo=UTC)))
    run("drop", "a.eml", "b.eml")
    code, out, err = run("--now", "2026-11-24T12:00", "poll", "--once")
    assert code == 0, err
    assert "refused    human      ESC-0001" in out and "(not obeyed: sender outside the council's domains)" in out
    [row] = json.loads(run("list", "--json")[1])
    assert row["status"] == "open"


def test_the_service_logs_a_refused_action_as_refused(local: Path, caplog: pytest.LogCaptureFixture) -> None:
    _escalation(local, iro="jane.iro@example.gov.uk", manager=f"tom.manager@{D}")
    app = App(embedded_default(local), clock=fixed_clock(datetime(2026, 11, 27, 10, 0, tzinfo=UTC)))
    try:
        _reporting_tick(app)  # what `mailbot run` does to the App before it starts the scheduler
        with caplog.at_level(logging.WARNING, logger="mailbot.cli.service"):
            items = app.tick()
    finally:
        app.close()
    assert [i.key for i in items] == ["L1.chase.-2@2026-12-01"]
    [record] = [r for r in caplog.records if r.name == "mailbot.cli.service"]
    assert record.getMessage() == ("tick action refused ref=ESC-0001 action=L1.chase.-2@2026-12-01 reason=chaser: no "
                                   "recipient inside council.domains")
    assert D not in record.getMessage()  # the log names no addresses


# --- dates as people here write them; one-line usage errors ---------------------------------------------------


@pytest.mark.parametrize("start", ["21/12/2026", "21/12/26", "21.12.2026", "21-12-2026", "2026-12-21"])
def test_due_takes_uk_dates(start: str) -> None:
    code, out, err = run("due", start, "5")
    assert code == 0, err
    assert out.splitlines()[-1] == "2026-12-30"


def test_a_date_that_is_no_date_says_how_to_write_one() -> None:
    code, out, err = run("due", "31/02/2026", "5")
    assert (code, out) == (2, "")
    assert err == ("mailbot: error: invalid value for 'START': '31/02/2026' is not a date; write it as 05/12/2026 or "
                   "2026-12-05 — try `mailbot due --help`\n")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("show",), "mailbot: error: missing argument 'REFERENCE' — try `mailbot show --help`"),
        (("policy",), "mailbot: error: missing command (list, show) — try `mailbot policy --help`"),
        (("db",), "mailbot: error: missing command (upgrade) — try `mailbot db --help`"),
        ((), "mailbot: error: missing command — try `mailbot --help`"),
        (("policy", "show", "--bogus"), "mailbot: error: no such option '--bogus' — try `mailbot policy show --help`"),
        (("bogus",), "mailbot: error: no such command 'bogus' — try `mailbot --help`"),
        (("list", "extra"), "mailbot: error: got unexpected extra argument (extra) — try `mailbot list --help`"),
        (("digest", "--period", "decade"), "mailbot: error: invalid value for '--period': 'decade' is not one of "
                                           "'week', 'fortnight', 'month', 'bimonth', 'quarter', 'year' — try "
                                           "`mailbot digest --help`"),
    ],
)
def test_every_usage_error_is_one_line(args: tuple[str, ...], line: str) -> None:
    code, out, err = run(*args)
    assert (code, out, err) == (2, "", line + "\n")
