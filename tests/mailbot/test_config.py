"""Config loading: the example is valid, and every mistake gives one line naming the key and the fix."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from mailbot.config import embedded_default, load_config, parse_config
from mailbot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = {"council": {"name": "Hull City Council", "domains": ["hullcc.gov.uk"]},
           "security": {"trusted_authserv_ids": ["mx.hullcc.gov.uk"]}}


def _with(**sections: object) -> dict:
    return {**MINIMAL, **sections}


def _error(data: dict) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="config.toml", base=Path("/srv/mailbot"))
    message = str(info.value)
    assert "\n" not in message, "a config error is one line"
    assert message.startswith("config.toml: ")
    return message


def test_example_config_is_valid_and_complete() -> None:
    cfg = load_config(ROOT / "config.example.toml")
    assert cfg.policy.key == "dorset"
    assert cfg.domains == ("dorsetcouncil.gov.uk",)
    assert cfg.calendar.closures == ()  # a copier inherits no closure days: the example's is commented out
    assert cfg.mailbox.transport == "maildir"
    assert cfg.mailbox.maildir == ROOT / "var/mailbox"
    assert cfg.store.url == f"sqlite:///{ROOT / 'var/iro-mailbot.db'}"
    assert cfg.directory.person("TM.East@dorsetcouncil.gov.uk").reports_to == "sm.east@dorsetcouncil.gov.uk"
    assert cfg.warnings == ()


def test_embedded_default_needs_no_file(tmp_path: Path) -> None:
    cfg = embedded_default(tmp_path)
    assert cfg.policy.key == "dorset"
    assert cfg.mailbox.transport == "maildir"
    assert cfg.mailbox.maildir == tmp_path / "var/mailbox"
    assert cfg.store.url.startswith("sqlite:///") and cfg.store.url.endswith("var/iro-mailbot.db")


def test_preset_and_calendar() -> None:
    cfg = parse_config(_with(policy={"preset": "hull"}, calendar={"region": "wales"}))
    assert cfg.policy.key == "hull"
    assert cfg.calendar.calendar().region == "wales"


def test_preset_override_keeps_the_rest() -> None:
    cfg = parse_config(_with(policy={"preset": "birmingham", "total_working_days": 25}))
    assert cfg.policy.key == "birmingham"
    assert cfg.policy.total_working_days == 25


def test_allows_address_only_in_configured_domains() -> None:
    cfg = parse_config(MINIMAL)
    assert cfg.allows_address("tm@hullcc.gov.uk")
    assert cfg.allows_address("tm@childrens.hullcc.gov.uk")
    assert not cfg.allows_address("someone@gmail.com")
    assert not cfg.allows_address("tm@evilhullcc.gov.uk")


def test_secret_comes_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    imap = {"host": "imap.hullcc.gov.uk", "username": "bot@hullcc.gov.uk", "password_env": "T_IMAP_PW"}
    cfg = parse_config(_with(mailbox={"transport": "imap", "address": "bot@hullcc.gov.uk", "imap": imap}))
    monkeypatch.setenv("T_IMAP_PW", "s3cret")
    assert cfg.mailbox.imap is not None and cfg.mailbox.imap.password() == "s3cret"
    assert cfg.mailbox.imap.port == 993


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, "council: is required — add council = …"),
        ({"council": {"name": "X"}}, "council.domains: must name at least one mail domain"),
        ({"council": {"name": "X", "domains": []}}, "council.domains: must name at least one mail domain"),
        ({"council": {"name": "X", "domains": ["not a domain"]}}, "council.domains: 'not a domain' is not a mail"),
        (_with(calendar={"regoin": "wales"}), "calendar.regoin: unknown key (allowed here: closures, region) — "
                                             "did you mean 'region'?"),
        (_with(calendar={"region": "englnd"}), "calendar.region: 'englnd' is not one of england, wales, scotland, "
                                              "northern-ireland — write e.g. region = \"england\""),
        (_with(calendar={"closures": ["2026-13-01"]}), "calendar.closures: '2026-13-01' is not a date"),
        (_with(calendar={"closures": "2026-12-29"}), "calendar.closures: must be a list of dates"),
        (_with(policy={"preset": "dorest"}), "policy.preset: 'dorest' is not a preset (presets: birmingham, dorset, "
                                            "hull, rotherham, south-west) — write e.g. preset = \"dorset\""),
        (_with(mailbox={"transport": "pop3", "address": "a@hullcc.gov.uk"}), "mailbox.transport: 'pop3' is not one"),
        (_with(mailbox={"transport": "imap", "address": "a@hullcc.gov.uk"}),
         "mailbox.imap: is required when transport = \"imap\""),
        (_with(mailbox={"address": "a@hullcc.gov.uk", "poll_seconds": "60"}),
         "mailbox.poll_seconds: must be a whole number of seconds from 5 to 3600, got '60' — write e.g. "
         "poll_seconds = 60"),
        (_with(mailbox={"address": "a@hullcc.gov.uk", "imap": {"host": "h", "username": "u", "port": 99999}}),
         "mailbox.imap.port: must be a whole number from 1 to 65535, got 99999"),
        (_with(mailbox={"address": "nobody"}), "mailbox.address: 'nobody' is not an email address"),
        (_with(store={"url": "var/db.sqlite"}), "store.url: 'var/db.sqlite' is not a database URL"),
        (_with(store={"retention_days": 1}), "store.retention_days: must be a whole number of days from 30"),
        (_with(directory={"qa_managers": ["qa"]}), "directory.qa_managers: 'qa' is not an email address"),
        (_with(directory={"people": [{"email": "a@hullcc.gov.uk", "name": "A"}]}),
         "directory.people[0].role: is required"),
        (_with(directory={"people": [{"email": "a@hullcc.gov.uk", "name": "A", "role": "TM", "reportsto": "x"}]}),
         "directory.people[0].reportsto: unknown key"),
        (_with(logging={"level": "LOUD"}), "logging.level: 'LOUD' is not one of"),
        (_with(extra={"a": 1}), "extra: unknown key"),
    ],
)
def test_errors_name_the_key_and_the_fix(data: dict, expected: str) -> None:
    assert expected in _error(data)


def test_policy_errors_carry_the_file_name() -> None:
    message = _error(_with(policy={"preset": "dorset", "total_working_days": "twenty"}))
    assert "policy.total_working_days" in message


def test_directory_csv(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text(
        "email,name,role,reports_to,team\n"
        "tm@hullcc.gov.uk,Terry M,Team Manager,gm@hullcc.gov.uk,CiC\n"
        "gm@hullcc.gov.uk,Gina M,Group Manager,,\n",
        encoding="utf-8",
    )
    cfg = parse_config(_with(directory={"csv": "people.csv"}), base=tmp_path)
    assert [p.role for p in cfg.directory.people] == ["Team Manager", "Group Manager"]
    assert cfg.directory.person("tm@hullcc.gov.uk").reports_to == "gm@hullcc.gov.uk"


def test_directory_csv_errors_name_the_line(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("email,name,role\ntm@hullcc.gov.uk,,Team Manager\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"row 2, column name: is empty — write"):
        parse_config(_with(directory={"csv": "people.csv"}), base=tmp_path)
    with pytest.raises(ConfigError, match=r"cannot be read"):
        parse_config(_with(directory={"csv": "absent.csv"}), base=tmp_path)


def test_people_outside_domains_warn() -> None:
    cfg = parse_config(_with(directory={"qa_managers": ["qa@gmail.com"]}))
    assert cfg.warnings == ("qa@gmail.com is outside council.domains: the bot will not mail them",)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such file — copy config\.example\.toml"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[council\nname = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_example_is_plain_toml() -> None:
    tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))


GRAPH = {"tenant_id": "t", "client_id": "c", "client_secret_env": "MAILBOT_GRAPH_SECRET"}
BOX = {"address": "iro@hullcc.gov.uk"}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_with(mailbox={**BOX, "transport": "graph"}), "mailbox.graph: is required for transport = \"graph\""),
        (_with(mailbox={**BOX, "transport": "graph", "graph": {"tenant_id": "t", "client_id": "c"}}),
         "mailbox.graph.client_secret_env: nor certificate_path is set"),
        (_with(mailbox={**BOX, "transport": "graph", "graph": {**GRAPH, "certificate_path": "a.pem"}}),
         "mailbox.graph.certificate_thumbprint: is required with certificate_path"),
        (_with(mailbox={**BOX, "transport": "ews"}), "mailbox.ews: is required when transport = \"ews\""),
        (_with(mailbox={**BOX, "transport": "ews", "ews": {"server": "x", "username": "u", "auth_type": "kerberos"}}),
         "mailbox.ews.auth_type: 'kerberos' is not one of"),
        (_with(mailbox={**BOX, "imap": {"host": "h", "username": "u", "auth": "xoauth2"}}),
         "mailbox.graph: is required for imap.auth = \"xoauth2\""),
        (_with(mailbox=BOX, mail_out={"transport": "graph"}), "mail_out.transport: \"graph\" sends through"),
        (_with(mail_out={"transport": "smtp"}), "mail_out.smtp: is required when transport = \"smtp\""),
        (_with(mail_out={"transport": "smtp", "smtp": {"host": "h", "username": "u"}}),
         "mail_out.smtp.password_env: is required when username is set"),
        (_with(mail_out={"transport": "smtp", "smtp": {"host": "h", "auth": "xoauth2"}}),
         "mail_out.smtp.auth: \"xoauth2\" takes its token from the app registration"),
        (_with(service={"digest_day": "monday"}), "service.digest_day: 'monday' is not one of"),
        (_with(service={"digest_time": "8am"}), "service.digest_time: '8am' is not a time of day"),
        (_with(service={"tick_minutes": 0}), "service.tick_minutes: must be a whole number"),
    ],
)
def test_mail_out_service_and_microsoft_errors(data: dict, expected: str) -> None:
    assert expected in _error(data)


def test_graph_and_ews_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILBOT_GRAPH_SECRET", "s3cret")
    cfg = parse_config(_with(mailbox={**BOX, "transport": "graph", "graph": GRAPH}, mail_out={"transport": "graph"}),
                       source="config.toml", base=Path("/srv"))
    assert cfg.mailbox.graph is not None
    assert (cfg.mailbox.graph.user, cfg.mailbox.graph.client_secret()) == ("iro@hullcc.gov.uk", "s3cret")
    ews = parse_config(_with(mailbox={**BOX, "transport": "ews", "ews": {"server": "mail.hullcc.gov.uk",
                                                                           "username": "HULL\\svc"}}),
                       source="config.toml", base=Path("/srv")).mailbox.ews
    assert ews is not None
    assert (ews.primary_smtp_address, ews.auth_type, ews.access_type, ews.autodiscover) == (
        "iro@hullcc.gov.uk", "ntlm", "delegate", False)
