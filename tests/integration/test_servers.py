"""The test mail servers themselves: dovecot (IMAP + LMTP) and the aiosmtpd sink that delivers into it."""

from __future__ import annotations

import email
import email.policy
import os
import smtplib
import socket
import time
import uuid
from email.message import EmailMessage

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from tests import servers
from tests.servers import DovecotServer, SmtpServer

pytestmark = pytest.mark.integration


def make_mail(subject: str, to: str = "tm@example.test") -> bytes:
    msg = EmailMessage()
    msg["From"] = "iro@example.test"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@example.test>"
    msg.set_content("Please respond by Friday.\n")
    return msg.as_bytes(policy=email.policy.SMTP)  # CRLF, as it travels


def subjects(raws: list[bytes]) -> list[str]:
    return [str(email.message_from_bytes(raw)["Subject"]) for raw in raws]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ---- dovecot ---------------------------------------------------------------------------------------------


def test_greeting_is_imap_ok(dovecot: DovecotServer) -> None:
    with socket.create_connection((dovecot.host, dovecot.imap_port), timeout=5) as sock:
        greeting = sock.makefile("rb").readline()
    assert greeting.startswith(b"* OK")


def test_login_works_and_a_wrong_password_is_refused(dovecot: DovecotServer) -> None:
    client = dovecot.imap("iro-escalations@example.test")
    try:
        assert client.select_folder("INBOX")[b"UIDVALIDITY"] > 0
    finally:
        client.logout()
    # a private server: a refused login slows down later logins from this address (dovecot's auth penalty)
    with DovecotServer({"solo@example.test": "right"}) as private:
        other = IMAPClient(private.host, private.imap_port, ssl=False, timeout=5)
        try:
            with pytest.raises(LoginError):
                other.login("solo@example.test", "not-the-password")
        finally:
            other.shutdown()


def test_append_then_read_back(dovecot: DovecotServer, mailbox_user: str) -> None:
    raw = make_mail("Action - Level 1 escalation - appended")
    uid = dovecot.append(mailbox_user, raw)
    assert uid is not None and uid >= 1
    assert dovecot.messages(mailbox_user) == [raw]
    # another folder is created on demand and kept apart
    dovecot.append(mailbox_user, make_mail("filed"), folder="Archive")
    assert subjects(dovecot.messages(mailbox_user, "Archive")) == ["filed"]
    assert dovecot.messages(mailbox_user, "No such folder") == []


def test_lmtp_delivery_reaches_the_inbox(dovecot: DovecotServer, mailbox_user: str) -> None:
    raw = make_mail("delivered over LMTP", to=mailbox_user)
    dovecot.deliver(mailbox_user, raw, sender="iro@example.test")
    [got] = dovecot.messages(mailbox_user)
    parsed = email.message_from_bytes(got)
    assert parsed["Subject"] == "delivered over LMTP"
    assert parsed["Delivered-To"] == mailbox_user


def test_a_user_added_while_running_can_log_in_at_once(dovecot: DovecotServer) -> None:
    user = dovecot.add_user(f"{unique('late')}@example.test", "another-secret")
    client = dovecot.imap(user)
    try:
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
    finally:
        client.logout()


def test_users_may_not_break_the_passwd_file(dovecot: DovecotServer) -> None:
    with pytest.raises(ValueError):
        dovecot.add_user("a:b@example.test", "x")
    with pytest.raises(ValueError):
        dovecot.add_user("../escape@example.test", "x")


def test_a_private_dovecot_starts_and_stops_its_whole_process_group() -> None:
    started = time.monotonic()
    server = servers.start_dovecot({"solo@example.test": "pw"})
    try:
        assert time.monotonic() - started < 15.0  # a hang guard, not a benchmark (the machine may be busy)
        assert server.messages("solo@example.test") == []
        proc = server._proc
        assert proc is not None
        pgid = proc.pid
    finally:
        server.stop()
    assert proc.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)  # nothing of that dovecot is left


def test_missing_dovecot_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(servers, "find_dovecot", lambda: None)
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="dovecot is not installed"):
        servers.start_dovecot()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        servers.start_dovecot()


# ---- aiosmtpd ------------------------------------------------------------------------------------------


def test_smtp_delivers_once_to_each_of_three_recipients(dovecot: DovecotServer, smtp: SmtpServer) -> None:
    rcpts = [dovecot.add_user(f"{unique(role)}@example.test") for role in ("tm", "sm", "qa")]
    subject = unique("Action - Level 2 escalation")
    raw = make_mail(subject, to=", ".join(rcpts))
    with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
        refused = client.sendmail("iro@example.test", rcpts, raw)
    assert refused == {}
    mine = [m for m in smtp.received if set(m.rcpt_tos) == set(rcpts)]
    assert len(mine) == 1
    assert mine[0].mail_from == "iro@example.test"
    assert mine[0].raw == raw
    assert mine[0].delivery_errors == ()
    for rcpt in rcpts:
        assert subjects(dovecot.messages(rcpt)) == [subject]


def test_smtp_auth_is_required_and_works(dovecot: DovecotServer, mailbox_user: str) -> None:
    with SmtpServer(dovecot, auth=("mailbot", "smtp-secret")) as server:
        with (
            smtplib.SMTP(server.host, server.port, timeout=10) as client,
            pytest.raises(smtplib.SMTPAuthenticationError),
        ):
            client.login("mailbot", "wrong")
        with (
            smtplib.SMTP(server.host, server.port, timeout=10) as client,
            pytest.raises(smtplib.SMTPSenderRefused),
        ):
            client.sendmail("bot@example.test", [mailbox_user], make_mail("no auth"))
        with smtplib.SMTP(server.host, server.port, timeout=10) as client:
            client.login("mailbot", "smtp-secret")
            client.sendmail("bot@example.test", [mailbox_user], make_mail("with auth", to=mailbox_user))
        assert [m.rcpt_tos for m in server.received] == [(mailbox_user,)]
    assert subjects(dovecot.messages(mailbox_user)) == ["with auth"]


def test_smtp_without_dovecot_only_keeps_copies() -> None:
    with SmtpServer() as server:
        with smtplib.SMTP(server.host, server.port, timeout=10) as client:
            client.sendmail("a@example.test", ["b@example.test"], b"Subject: kept\r\n\r\nbody\r\n")
        [kept] = server.received
    assert kept.rcpt_tos == ("b@example.test",)
    assert b"Subject: kept" in kept.raw
