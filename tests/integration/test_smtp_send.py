"""Sending the outbox over real SMTP (aiosmtpd) into real mailboxes (dovecot), read back over IMAP."""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from mailbot.config import Config, parse_config
from mailbot.mail_out.delivery import CLAIM_LEASE, Deliverer
from mailbot.mail_out.outbox import Attachment, queue_mail
from mailbot.transports.registry import open_sender
from mailbot.transports.sender import Refused, SendAuthError
from mailbot.transports.smtp import SmtpSender
from store.models import Escalation, Message
from store.uow import Store, utc_now
from tests import servers
from tests.servers import DovecotServer, SmtpServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BOT = "iro-escalations@example.test"
TM = "tm@example.test"
QA = "qa@example.test"


def config_data(smtp: SmtpServer, **smtp_extra: Any) -> dict[str, Any]:
    return {
        "council": {"name": "Example Council", "domains": ["example.test"]},
        "mailbox": {"address": BOT, "maildir": "mail"},
        "mail_out": {"transport": "smtp",
                     "smtp": {"host": smtp.host, "port": smtp.port, "security": "none", "timeout": 10,
                              **smtp_extra}},
    }


def make_config(smtp: SmtpServer, tmp_path: Path, **smtp_extra: Any) -> Config:
    return parse_config(config_data(smtp, **smtp_extra), source="test", base=tmp_path)


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'bot.db'}")
    s.upgrade()
    yield s
    s.dispose()


def copies(dovecot: DovecotServer, user: str, message_id: str) -> list[EmailMessage]:
    """The messages in ``user``'s INBOX with this Message-ID (the shared users get mail from other tests)."""
    found = []
    for raw in dovecot.messages(user):
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        if msg["Message-ID"] == f"<{message_id}>":
            found.append(msg)
    return found


def queue(store: Store, config: Config, key: str, *, to: Sequence[str] = (TM,), cc: Sequence[str] = (QA,),
          escalation_root: str | None = None, now: datetime | None = None) -> str:
    """Queue one mail; returns its Message-ID."""
    now = now or utc_now()
    with store.unit_of_work() as uow:
        esc = None
        if escalation_root is not None:
            esc = Escalation(policy_key="dorset", current_level=1, opened_at=now, updated_at=now, children=[],
                             case_numbers=[], themes=[])
            uow.escalations.add(esc)
            uow.messages.add(Message(identity=escalation_root, message_id=escalation_root, escalation=esc,
                                     received_at=now - timedelta(hours=1), direction="in"))
        row = queue_mail(uow, config, key=key, kind="chase", to=to, cc=cc,
                         subject="Action - Level 1 escalation - Zoë Brontë - MOSAIC 123456",
                         text="Dear Team Manager,\nplease respond by Friday.\n",
                         html="<p>Dear Team Manager,</p><p>please <b>respond</b> by Friday.</p>",
                         escalation=esc, attachments=[Attachment("plan.txt", "text/plain", b"the plan\n")],
                         now=now)
        assert row is not None
        return row.message_id


def test_mail_to_tm_cc_qa_arrives_once_each_with_headers(store: Store, smtp: SmtpServer, dovecot: DovecotServer,
                                                          tmp_path: Path) -> None:
    config = make_config(smtp, tmp_path)
    key = f"ESC-{uuid.uuid4().hex[:8]}.l1.chase1"
    root = f"{uuid.uuid4().hex}@outlook.example.test"
    message_id = queue(store, config, key, escalation_root=root)
    sender = open_sender(config)
    assert isinstance(sender, SmtpSender)
    deliverer = Deliverer(store, sender, clock=utc_now, allows=config.allows_address)
    report = deliverer.deliver_pending()
    assert report.sent == [key] and report.server_error is None
    assert deliverer.deliver_pending().attempted == 0  # twice: still once

    [envelope] = [m for m in smtp.received if f"<{message_id}>".encode() in m.raw]
    # the people, and the bot's own mailbox (mail_out.smtp.copy_to_mailbox: a hidden envelope recipient)
    assert envelope.mail_from == BOT and envelope.rcpt_tos == (TM, QA, BOT) and envelope.delivery_errors == ()
    for user in (TM, QA):
        [msg] = copies(dovecot, user, message_id)
        assert msg["From"] == f"IRO escalations <{BOT}>"
        assert msg["To"] == TM and msg["Cc"] == QA
        assert msg["Subject"].endswith("Action - Level 1 escalation - Zoë Brontë - MOSAIC 123456")
        assert msg["In-Reply-To"] == f"<{root}>" and msg["References"] == f"<{root}>"
        assert msg["Auto-Submitted"] == "auto-generated"
        assert msg["X-IRO-Mailbot-Key"] == key
        html = msg.get_body(("html",))
        assert html is not None and "<b>respond</b>" in html.get_content()
        plain = msg.get_body(("plain",))
        assert plain is not None and "please respond by Friday." in plain.get_content()
        assert [(a.get_filename(), a.get_content()) for a in msg.iter_attachments()] == [("plan.txt", "the plan\n")]
    with store.unit_of_work() as uow:
        row = uow.outbox.get(key)
        assert row is not None and row.status == "sent" and row.attempts == 1


def test_smtp_auth(store: Store, dovecot: DovecotServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SmtpServer(dovecot, auth=("mailbot", "smtp-secret")) as server:
        monkeypatch.setenv("MAILBOT_TEST_SMTP_PASSWORD", "smtp-secret")
        config = make_config(server, tmp_path, username="mailbot", password_env="MAILBOT_TEST_SMTP_PASSWORD")
        key = f"auth-{uuid.uuid4().hex[:8]}"
        message_id = queue(store, config, key, cc=())

        wrong = SmtpSender(server.host, server.port, "none", username="mailbot", password="wrong", timeout=10)
        report = Deliverer(store, wrong, clock=utc_now, allows=config.allows_address).deliver_pending()
        assert report.server_error == "SendAuthError" and report.attempted == 0
        anonymous = SmtpSender(server.host, server.port, "none", timeout=10)  # no AUTH: MAIL FROM gets 530
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = BOT, TM, "x"
        msg.set_content("x")
        with pytest.raises(SendAuthError) as refused:
            anonymous.send(msg, [TM])
        assert refused.value.code == 530
        with store.unit_of_work() as uow:
            row = uow.outbox.get(key)
            assert row is not None and row.status == "pending" and row.attempts == 0

        report = Deliverer(store, open_sender(config), clock=utc_now, allows=config.allows_address).deliver_pending()
        assert report.sent == [key]
        assert [m.rcpt_tos for m in server.received] == [(TM, BOT)]  # and the mailbox's own copy
    assert len(copies(dovecot, TM, message_id)) == 1


def test_server_down_then_back_delivers_once(store: Store, dovecot: DovecotServer, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    server = SmtpServer(dovecot).start()
    port = server.port
    server.stop()  # connection refused from now on
    config = make_config(server, tmp_path)
    key = f"down-{uuid.uuid4().hex[:8]}"
    message_id = queue(store, config, key)
    deliverer = Deliverer(store, open_sender(config), clock=utc_now, allows=config.allows_address)
    report = deliverer.deliver_pending()
    assert report.server_error == "SendConnectionError" and report.sent == []
    with store.unit_of_work() as uow:
        row = uow.outbox.get(key)
        assert row is not None and row.status == "pending" and row.attempts == 0

    monkeypatch.setattr(servers, "free_port", lambda host="127.0.0.1": port)  # back on the same port
    with SmtpServer(dovecot) as again:
        assert again.port == port
        assert deliverer.deliver_pending().sent == [key]
        assert deliverer.deliver_pending().attempted == 0
        assert len(again.received) == 1
    assert len(copies(dovecot, TM, message_id)) == 1 and len(copies(dovecot, QA, message_id)) == 1


def test_connection_lost_mid_batch_is_retried_with_backoff(store: Store, dovecot: DovecotServer,
                                                           tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    server = SmtpServer(dovecot).start()
    port = server.port
    config = make_config(server, tmp_path)
    start = utc_now()
    keys = [f"lost-{n}-{uuid.uuid4().hex[:8]}" for n in range(2)]
    ids = [queue(store, config, key, cc=(), now=start + timedelta(seconds=n)) for n, key in enumerate(keys)]

    class StopsServerFirst(SmtpSender):
        """Connected and logged in, then the server goes away before the first mail."""

        def send(self, msg: EmailMessage, recipients: Sequence[str]) -> Refused:
            if server.port and not getattr(self, "_stopped", False):
                self._stopped = True
                server.stop()
            return super().send(msg, recipients)

    now = [start + timedelta(minutes=1)]
    sender = StopsServerFirst(server.host, port, "none", timeout=10)
    deliverer = Deliverer(store, sender, clock=lambda: now[0], allows=config.allows_address)
    report = deliverer.deliver_pending()
    assert report.retrying == [keys[0]] and report.server_error == "SendConnectionError"
    with store.unit_of_work() as uow:
        first, second = (uow.outbox.get(k) for k in keys)
        assert first is not None and first.attempts == 1 and first.next_attempt_at == now[0] + timedelta(minutes=1)
        assert second is not None and second.attempts == 0

    monkeypatch.setattr(servers, "free_port", lambda host="127.0.0.1": port)
    with SmtpServer(dovecot) as again:
        assert deliverer.deliver_pending().sent == [keys[1]]  # the first waits for its back-off
        now[0] += timedelta(minutes=1)
        assert deliverer.deliver_pending().sent == [keys[0]]
        assert deliverer.deliver_pending().attempted == 0
        assert len(again.received) == 2
    for message_id in ids:
        assert len(copies(dovecot, TM, message_id)) == 1


CRASHING_QUEUER = textwrap.dedent("""
    import json, sys, time
    from datetime import timedelta
    from mailbot.config import parse_config
    from mailbot.mail_out.outbox import queue_mail
    from store.uow import Store, utc_now

    url, data, keys = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
    config = parse_config(data, source="crash-test")
    store = Store(url)
    store.upgrade()
    now = utc_now()
    with store.unit_of_work() as uow:
        for n, key in enumerate(keys):
            queue_mail(uow, config, key=key, kind="chase", to=["tm@example.test"], cc=["qa@example.test"],
                       subject="Crash test " + key, text="queued, then the process dies", html="<p>queued</p>",
                       now=now + timedelta(seconds=n))
    # the last one was claimed by a deliverer that died before the SMTP transaction
    with store.unit_of_work() as uow:
        row = uow.outbox.get(keys[-1])
        assert uow.outbox.claim(row, utc_now(), utc_now() + timedelta(minutes=10))
    print("queued", flush=True)
    time.sleep(120)
""")


def test_crash_before_sending_then_each_mail_delivered_exactly_once(smtp: SmtpServer, dovecot: DovecotServer,
                                                                     tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    keys = [f"crash-{n}-{uuid.uuid4().hex[:8]}" for n in range(3)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHING_QUEUER, url, json.dumps(config_data(smtp)), json.dumps(keys)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=env, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "queued", proc.stderr.read() if proc.stderr else ""
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert proc.returncode == -signal.SIGKILL

    config = make_config(smtp, tmp_path)
    store = Store(url)
    try:
        offset = [timedelta(0)]
        deliverer = Deliverer(store, open_sender(config), clock=lambda: datetime.now(UTC) + offset[0],
                              allows=config.allows_address)
        assert deliverer.deliver_pending().sent == keys[:2]
        offset[0] = CLAIM_LEASE + timedelta(seconds=1)  # the dead deliverer's lease runs out
        assert deliverer.deliver_pending().sent == keys[2:]
        assert deliverer.deliver_pending().attempted == 0
        offset[0] = timedelta(days=1)
        assert deliverer.deliver_pending().attempted == 0
        with store.unit_of_work() as uow:
            rows = [uow.outbox.get(k) for k in keys]
            assert [(r.status, r.attempts) for r in rows if r is not None] == [("sent", 1), ("sent", 1), ("sent", 2)]
            message_ids = [r.message_id for r in rows if r is not None]
    finally:
        store.dispose()
    for message_id in message_ids:
        assert len([m for m in smtp.received if f"<{message_id}>".encode() in m.raw]) == 1
        for user in (TM, QA):
            assert len(copies(dovecot, user, message_id)) == 1


class _XOAuth2Handler:
    """An aiosmtpd handler that accepts XOAUTH2 with one token and keeps what it receives."""

    def __init__(self, user: str, token: str) -> None:
        self.expected = f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
        self.received: list[bytes] = []
        self.attempts: list[bytes] = []

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> Any:
        import base64

        from aiosmtpd.smtp import AuthResult

        blob = base64.b64decode(args[1]) if len(args) > 1 else b""
        self.attempts.append(blob)
        if blob == self.expected:
            return AuthResult(success=True, auth_data=blob)
        await server.challenge_auth(b'{"status":"401","schemes":"bearer"}')  # the client answers empty
        return AuthResult(success=False, handled=False)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope.original_content or envelope.content)
        return "250 OK"


def test_xoauth2_login(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    handler = _XOAuth2Handler(BOT, "good-token")
    controller = Controller(handler, hostname="127.0.0.1", port=servers.free_port(), auth_require_tls=False,
                            authenticator=lambda *a: None, ready_timeout=10)
    controller.start()
    try:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = BOT, TM, "oauth"
        msg.set_content("x")
        tokens = iter(["bad-token", "good-token"])
        sender = SmtpSender("127.0.0.1", controller.port, "none", username=BOT,
                            oauth2_token_provider=lambda: next(tokens), timeout=10)
        with pytest.raises(SendAuthError) as refused:
            sender.send(msg, [TM])
        assert refused.value.code == 535 and "bad-token" not in str(refused.value)
        assert sender.send(msg, [TM]) == {}
    finally:
        controller.stop()
    assert handler.attempts == [f"user={BOT}\x01auth=Bearer bad-token\x01\x01".encode(), handler.expected]
    assert len(handler.received) == 1 and b"Subject: oauth" in handler.received[0]
