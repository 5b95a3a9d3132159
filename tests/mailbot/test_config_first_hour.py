"""The embedded default and the example tell the truth: whose domain, who is obeyed, what a copier inherits, what
every key means, where relative paths lead."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from mailbot.config import DOMAINS_ENV, embedded_default, load_config, parse_config
from mailbot.errors import ConfigError
from parsers.authenticity import assess
from parsers.message import parse_message
from rules.authority import Act, Parties, Standing, may, standing_of

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"


def test_the_embedded_default_names_its_domain_and_the_one_line_for_your_own(tmp_path: Path) -> None:
    cfg = embedded_default(tmp_path)
    assert cfg.embedded and cfg.domains == ("example.gov.uk",)
    assert cfg.embedded_notice() == (
        "embedded default: the council's mail domain is example.gov.uk (set MAILBOT_DOMAINS=yourcouncil.gov.uk to use "
        "your own, or a config file: see config.example.toml) — mail goes only to addresses there, and only senders "
        "there are obeyed")
    own = embedded_default(tmp_path, domains=" Dorsetcouncil.gov.uk, dorset.gov.uk ")
    assert own.domains == ("dorsetcouncil.gov.uk", "dorset.gov.uk")
    assert own.mailbox.address == "iro-escalations@dorsetcouncil.gov.uk"
    assert own.allows_address("tm@dorsetcouncil.gov.uk") and not own.allows_address("tm@example.gov.uk")
    assert "mail domain is dorsetcouncil.gov.uk, dorset.gov.uk (from MAILBOT_DOMAINS" in (own.embedded_notice() or "")
    assert embedded_default(tmp_path, domains="").domains == ("example.gov.uk",)  # an empty setting is no setting
    with pytest.raises(ConfigError, match=rf"^{DOMAINS_ENV}: 'x' is not a mail domain — write e\.g\. "):
        embedded_default(tmp_path, domains="x")
    assert load_config(EXAMPLE).embedded_notice() is None


def _sender(raw_from: str, cfg_domains: tuple[str, ...]) -> tuple[Standing, bool]:
    cfg = embedded_default(domains=",".join(cfg_domains))
    mail = parse_message(f"From: {raw_from}\r\nTo: {cfg.mailbox.address}\r\nSubject: Resolved\r\n"
                         "Message-ID: <x@y>\r\n\r\nResolved\r\n".encode())
    proof = assess(mail, cfg.security.policy(cfg.domains))
    parties = Parties(inside=cfg.allows_address, bot=cfg.mailbox.address, iro="jane@example.gov.uk")
    sender = mail.from_.email.lower() if mail.from_ else None  # as the shell reads it (mail_in.reading)
    return (standing_of(sender, parties, proven=proof.authenticated),
            bool(may(sender, parties, Act.RESOLVE, proven=proof.authenticated)))


def test_the_trial_security_of_the_embedded_default_obeys_nobody_outside_its_domain() -> None:
    # the trial believes From lines (no gateway to vouch), but someone outside the domain is still an outsider
    assert _sender("Jane <jane@example.gov.uk>", ("example.gov.uk",)) == (Standing.OWNING_IRO, True)
    assert _sender("Jane <jane@dorsetcouncil.gov.uk>", ("example.gov.uk",)) == (Standing.OUTSIDER, False)
    assert _sender("Jane <jane@example.gov.uk.evil.test>", ("example.gov.uk",)) == (Standing.OUTSIDER, False)
    # forged-looking mail proves nothing even in the trial
    standing, obeyed = _sender('"jane@example.gov.uk" <x@evil.test>', ("example.gov.uk",))
    assert standing in (Standing.UNPROVEN, Standing.OUTSIDER) and not obeyed


def test_a_config_without_mailbox_sends_from_its_own_domain(tmp_path: Path) -> None:
    cfg = parse_config({"council": {"name": "Hull", "domains": ["hullcc.gov.uk"]}}, source="c", base=tmp_path)
    assert cfg.mailbox.address == "iro-escalations@hullcc.gov.uk"


def test_relative_paths_are_taken_from_the_config_files_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "c.toml").write_text('[council]\nname = "X"\ndomains = ["x.gov.uk"]\n[store]\nurl = "sqlite:///db/bot.db"'
                                   '\n[mailbox]\naddress = "bot@x.gov.uk"\nmaildir = "in"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # not where mailbot is run from
    cfg = load_config(Path("etc/c.toml"))
    assert cfg.store.url == f"sqlite:///{folder / 'db/bot.db'}"
    assert cfg.mailbox.maildir == folder / "in"
    absolute = parse_config({"council": {"name": "X", "domains": ["x.gov.uk"]},
                             "store": {"url": "sqlite:////srv/bot.db"}}, source="c", base=folder)
    assert absolute.store.url == "sqlite:////srv/bot.db"
    memory = parse_config({"council": {"name": "X", "domains": ["x.gov.uk"]},
                           "store": {"url": "sqlite:///:memory:"}}, source="c", base=folder)
    assert memory.store.url == "sqlite:///:memory:"


# --- the example ------------------------------------------------------------------------------------------------


def test_the_example_gives_a_copier_no_closure_days_but_shows_how() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert load_config(EXAMPLE).calendar.closures == ()
    assert not re.search(r"^closures\s*=", text, re.MULTILINE)
    assert re.search(r'^# closures = \["2026-12-29\.\.2026-12-31"', text, re.MULTILINE)


def test_the_example_directory_covers_its_policy() -> None:
    cover = load_config(EXAMPLE).coverage()
    assert cover.ok and cover.warnings() == []


@pytest.mark.parametrize(
    "explained",
    [
        "leave username and password_env out — the bot\n# then sends no AUTH at all",  # SMTP without a login
        "# The IROs' own team managers: copied where the policy copies the role \"IRO Team Manager\"",
        "#   team       — free text;",
        "#   reports_to — their line manager's email",
        "is a path relative to THIS FILE's folder; four slashes are an absolute path",
        "are taken from THIS FILE's folder, not from the folder you run mailbot in",
        "Any other column is an error (e.g. \"manager\": rename it reports_to)",
        "# The QA managers: copied on every escalation mail, sent the weekly digest",
    ],
)
def test_the_example_explains(explained: str) -> None:
    assert explained in EXAMPLE.read_text(encoding="utf-8")


def _keys(table: dict, prefix: str = "") -> set[str]:
    out: set[str] = set()
    for key, value in table.items():
        if isinstance(value, dict):
            out |= _keys(value, f"{prefix}{key}.")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                out |= _keys(item, f"{prefix}{key}[].")
        else:
            out.add(f"{prefix}{key}")
    return out


def test_every_active_key_of_the_example_has_a_comment_near_it() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    data = tomllib.loads("\n".join(lines))
    for key in _keys(data):
        if key.startswith("directory.people[]."):
            continue  # the people's keys are explained once, above the first [[directory.people]]
        name = key.rsplit(".", 1)[-1]
        at = next(i for i, line in enumerate(lines) if re.match(rf'"?{re.escape(name)}"?\s*=', line))
        near = lines[max(0, at - 8):at + 1]
        assert "#" in lines[at] or any(line.startswith("#") for line in near), f"{key} is not explained"
