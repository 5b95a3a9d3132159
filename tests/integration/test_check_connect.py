"""`mailbot check-config --connect` against real servers: what works is "ok", what is missing says why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.botsetup import COUNCIL_TOML, imap_mailbox_toml, smtp_mail_out_toml, sqlite_store_toml
from tests.servers import DEFAULT_PASSWORD, DovecotServer, SmtpServer

pytestmark = pytest.mark.integration


def config_file(tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer, user: str) -> Path:
    path = tmp_path / "c.toml"
    imap = imap_mailbox_toml(dovecot, address=user, password_env="T_IMAP_PASSWORD", folder="INBOX")
    path.write_text(f"""
{COUNCIL_TOML}
{imap}
{smtp_mail_out_toml(smtp)}
{sqlite_store_toml(tmp_path)}""", encoding="utf-8")
    return path


def check(path: Path, **env: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "mailbot.cli", "check-config", "--connect", str(path)],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


def test_everything_reachable_is_ok(tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer,
                                    mailbox_user: str) -> None:
    code, out = check(config_file(tmp_path, dovecot, smtp, mailbox_user), T_IMAP_PASSWORD=DEFAULT_PASSWORD)
    assert code == 0, out
    assert f"ok: mailbox (imap): logged in to {dovecot.host}:{dovecot.imap_port} as {mailbox_user}" in out
    assert f"ok: mail out (smtp): connected to {smtp.host}:{smtp.port} (none) (no login configured)" in out
    assert "will be created (permissions 0600)" in out
    assert not (tmp_path / "bot.db").exists()  # checking changes nothing
    assert "Traceback" not in out


def test_what_is_missing_is_said_in_plain_words(tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer,
                                                mailbox_user: str) -> None:
    path = config_file(tmp_path, dovecot, smtp, mailbox_user)
    code, out = check(path, T_IMAP_PASSWORD="")
    assert code == 1
    assert "missing: mailbox (imap): the environment variable T_IMAP_PASSWORD (mailbox.imap.password_env) is not set" \
        in out
    code, out = check(path, T_IMAP_PASSWORD="wrong")
    assert code == 1 and "missing: mailbox (imap):" in out and "wrong" not in out.split("missing: mailbox")[1][:200]
    assert "Traceback" not in out
