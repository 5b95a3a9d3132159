"""Delivering the outbox: the message built from a row, and the Deliverer on a real SQLite store."""

from __future__ import annotations

import email
import email.policy
import logging
import mailbox
import stat
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailbot.config import Config, parse_config
from mailbot.errors import MailbotError
from mailbot.mail_out.delivery import BACKOFF, CLAIM_LEASE, Deliverer, backoff, build_message
from mailbot.mail_out.outbox import Attachment, queue_mail
from mailbot.transports.maildir import MaildirSender
from mailbot.transports.registry import open_sender
from mailbot.transports.sender import (
    Refused,
    SendAuthError,
    SendConnectionError,
    SendError,
    SendPermanentError,
    SendTemporaryError,
)
from mailbot.transports.smtp import SmtpSender, classify, xoauth2_string
from store.models import Escalation, Event, Message, OutboxMail
from store.uow import Store
from tests.botsetup import Clock

BOT = "iro-escalations@example.test"
START = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)  # Tuesday
SUBJECT = "Action - Level 1 escalation - Zoë Brontë-Ångström - MOSAIC 123456"



class FakeSender:
    """Records what it was given; ``fail`` (an error, or a callable returning one) makes ``send`` raise."""

    def __init__(self, fail: SendError | Callable[[], SendError | None] | None = None,
                 open_fail: SendError | None = None, refused: Refused | None = None) -> None:
        self.fail = fail
        self.open_fail = open_fail
        self.refused = refused or {}
        self.sent: list[tuple[EmailMessage, list[str]]] = []
        self.opened = 0
        self.closed = 0
        self.before_send: Callable[[], None] | None = None

    def open(self) -> None:
        self.opened += 1
        if self.open_fail is not None:
            raise self.open_fail

    def send(self, msg: EmailMessage, recipients: Sequence[str]) -> Refused:
        if self.before_send is not None:
            self.before_send()
        error = self.fail() if callable(self.fail) else self.fail
        if error is not None:
            raise error
        self.sent.append((msg, list(recipients)))
        return self.refused

    def close(self) -> None:
        self.closed += 1


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    return parse_config(
        {
            "council": {"name": "Example Council", "domains": ["example.test"]},
            "mailbox": {"address": BOT, "maildir": "mail"},
            "store": {"url": "sqlite:///bot.db"},
            "mail_out": {"maildir": "var/out/sent"},
        },
        source="test",
        base=tmp_path,
    )


def queue(store: Store, config: Config, key: str, *, to: Sequence[str] = ("tm@example.test",),
          cc: Sequence[str] = ("qa@example.test",), html: str | None = "<p>Please <b>respond</b>.</p>",
          attachments: Sequence[Attachment] = (), now: datetime = START) -> None:
    with store.unit_of_work() as uow:
        queue_mail(uow, config, key=key, kind="chase", to=to, cc=cc, subject=SUBJECT,
                   text="Dear Team Manager,\nplease respond about Zoë by Friday.\n", html=html,
                   attachments=attachments, now=now)


def row(store: Store, key: str) -> OutboxMail:
    with store.unit_of_work() as uow:
        found = uow.outbox.get(key)
        assert found is not None
        return found


def events(store: Store, kind: str) -> list[Event]:
    with store.unit_of_work() as uow:
        return [e for e in uow.session.query(Event).order_by(Event.id) if e.kind == kind]


def deliverer(store: Store, sender: object, clock: Clock, config: Config, **kw: object) -> Deliverer:
    return Deliverer(store, sender, clock=clock, allows=config.allows_address, **kw)  # type: ignore[arg-type]


# ---- build_message ---------------------------------------------------------------------------------------


def test_build_message_headers_encoding_and_parts(store: Store, config: Config) -> None:
    with store.unit_of_work() as uow:
        esc = Escalation(policy_key="dorset", current_level=1, opened_at=START, updated_at=START,
                         children=[], case_numbers=[], themes=[])
        uow.escalations.add(esc)
        uow.messages.add(Message(identity="root@outlook.example.test", message_id="root@outlook.example.test",
                                 escalation=esc, received_at=START - timedelta(days=1), direction="in"))
        queue_mail(uow, config, key="ESC-0001.l1.chase1", kind="chase", to=["TM@example.test"],
                   cc=["qa@example.test", BOT], subject=SUBJECT + "\r\nBcc: evil@elsewhere.test",
                   text="Dear Zoë's Team Manager,\nplease respond.\n", html="<p>Dear Zoë</p>",
                   escalation=esc, attachments=[Attachment("Plan – Zoë.pdf", "application/pdf", b"%PDF\x00\xff"),
                                                Attachment("tracker.csv", "text/csv", b"a,b\n1,2\n")],
                   now=START)
    mail = row(store, "ESC-0001.l1.chase1")
    msg = build_message(mail)
    raw = msg.as_bytes()
    assert raw.isascii()  # 7-bit clean: encoded words, quoted-printable, base64
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # SMTP line endings only
    back = email.message_from_bytes(raw, policy=email.policy.default)
    assert back["From"] == f"IRO escalations <{BOT}>"
    assert back["To"] == "tm@example.test" and back["Cc"] == "qa@example.test"  # bot not copied, lower-cased
    assert back["Subject"] == f"[ESC-0001] {SUBJECT} Bcc: evil@elsewhere.test"  # no header injection
    assert back["Bcc"] is None
    assert back["Message-ID"] == f"<{mail.message_id}>"
    assert back["In-Reply-To"] == "<root@outlook.example.test>"
    assert back["References"] == "<root@outlook.example.test>"
    assert back["Auto-Submitted"] == "auto-generated"
    assert back["X-Auto-Response-Suppress"] == "All"
    assert back["X-IRO-Mailbot-Key"] == "ESC-0001.l1.chase1"
    assert email.utils.parsedate_to_datetime(back["Date"]) == START
    assert back.get_content_type() == "multipart/mixed"
    body = back.get_body(("plain",))
    html = back.get_body(("html",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == "Dear Zoë's Team Manager,\nplease respond.\n"
    assert html is not None and "Dear Zoë" in html.get_content()
    assert [p.get_content_type() for p in back.walk()][:4] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html"]
    attachments = [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True))
                   for p in back.iter_attachments()]
    assert attachments == [("Plan – Zoë.pdf", "application/pdf", b"%PDF\x00\xff"),
                           ("tracker.csv", "text/csv", b"a,b\n1,2\n")]


def test_to_and_cc_carry_the_directory_names(store: Store, config: Config) -> None:
    """People see "Tom Manager <tm@…>", as from any colleague; a name that looks like an address is dropped (it
    would read as a second address), and someone the directory does not know is the bare address."""
    queue(store, config, "named", html=None)
    names = {"tm@example.test": "Tom Manager", "qa@example.test": "evil@elsewhere.test"}
    back = email.message_from_bytes(build_message(row(store, "named"), names=names.get).as_bytes(),
                                    policy=email.policy.default)
    assert str(back["To"]) == "Tom Manager <tm@example.test>"
    assert [a.display_name for a in back["To"].addresses] == ["Tom Manager"]
    assert str(back["Cc"]) == "qa@example.test"


def test_build_message_text_only_and_row_headers_cannot_override(store: Store, config: Config) -> None:
    queue(store, config, "plain", html=None)
    with store.unit_of_work() as uow:
        mail = uow.outbox.get("plain")
        assert mail is not None
        mail.headers["From"] = "someone@elsewhere.test"
        mail.headers["Bad Name"] = "x"
        mail.headers["X-Multi"] = "one\r\ntwo"
    msg = build_message(row(store, "plain"))
    assert msg.get_content_type() == "text/plain"
    assert msg.get_all("From") == [f"IRO escalations <{BOT}>"]
    assert msg["X-Multi"] == "one two"
    assert "Bad Name" not in msg


# ---- back-off --------------------------------------------------------------------------------------------


def test_backoff_schedule_is_capped() -> None:
    minutes = [backoff(n).total_seconds() / 60 for n in range(1, 11)]
    assert minutes == [1, 5, 15, 60, 120, 240, 480, 480, 480, 480]
    assert backoff(0) == BACKOFF[0]


# ---- the Deliverer ---------------------------------------------------------------------------------------


def test_deliver_to_maildir_once(store: Store, config: Config, clock: Clock, tmp_path: Path) -> None:
    queue(store, config, "a", attachments=[Attachment("note.txt", "text/plain", b"hello")])
    queue(store, config, "b", now=START + timedelta(seconds=1))
    sender = open_sender(config)
    assert isinstance(sender, MaildirSender)
    d = deliverer(store, sender, clock, config)
    report = d.deliver_pending()
    assert report.sent == ["a", "b"] and report.failed == report.retrying == report.refused == []
    again = d.deliver_pending()  # idempotent: nothing is due any more
    assert again.sent == [] and again.attempted == 0
    folder = config.mail_out.maildir
    assert folder == tmp_path / "var" / "out" / "sent"
    for path in (tmp_path / "var", tmp_path / "var" / "out", folder):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    box = mailbox.Maildir(folder, factory=None, create=False)
    parsed = [email.message_from_bytes(box.get_bytes(k), policy=email.policy.default) for k in box.iterkeys()]
    assert sorted(m["X-IRO-Mailbot-Key"] for m in parsed) == ["a", "b"]
    first = next(m for m in parsed if m["X-IRO-Mailbot-Key"] == "a")
    assert first["Subject"] == SUBJECT and first["Message-ID"] == f"<{row(store, 'a').message_id}>"
    assert [p.get_filename() for p in first.iter_attachments()] == ["note.txt"]
    sent = row(store, "a")
    assert sent.status == "sent" and sent.attempts == 1 and sent.sent_at == START
    with store.unit_of_work() as uow:
        copy = uow.messages.get_by_identity(sent.message_id)
        assert copy is not None and copy.sent_at == START


def test_temporary_failures_back_off_then_give_up(store: Store, config: Config, clock: Clock,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    queue(store, config, "doomed")
    sender = FakeSender(fail=SendTemporaryError("451 4.3.0 try later", code=451))
    d = deliverer(store, sender, clock, config, max_attempts=4)
    caplog.set_level(logging.DEBUG)
    tried_at = []
    for _ in range(40):  # walk the clock a minute at a time; only due rows are attempted
        report = d.deliver_pending()
        if report.attempted:
            tried_at.append(clock.now - START)
        if report.failed:
            break
        clock.advance(minutes=1)
    assert tried_at == [timedelta(0), timedelta(minutes=1), timedelta(minutes=6), timedelta(minutes=21)]
    assert report.failed == ["doomed"]
    gave_up = row(store, "doomed")
    assert gave_up.status == "failed" and gave_up.attempts == 4 and gave_up.next_attempt_at is None
    assert gave_up.last_error is not None and "451" in gave_up.last_error
    [event] = events(store, "send_failed")
    assert event.data == {"mail": "doomed", "attempts": 4, "error": "SendTemporaryError", "code": 451}
    assert sender.sent == []
    clock.advance(days=3)
    assert d.deliver_pending().attempted == 0  # given up means given up
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "key=doomed" in errors[0].getMessage()
    for record in caplog.records:  # no names or subjects in the logs
        assert "Zoë" not in record.getMessage() and "Level 1 escalation" not in record.getMessage()


def test_retry_after_a_temporary_failure_sends_once(store: Store, config: Config, clock: Clock) -> None:
    queue(store, config, "a")
    failures = [SendTemporaryError("452 mailbox full", code=452)]
    sender = FakeSender(fail=lambda: failures.pop() if failures else None)
    d = deliverer(store, sender, clock, config)
    assert d.deliver_pending().retrying == ["a"]
    assert row(store, "a").next_attempt_at == START + timedelta(minutes=1)
    clock.advance(minutes=1)
    assert d.deliver_pending().sent == ["a"]
    clock.advance(hours=1)
    assert d.deliver_pending().attempted == 0
    assert len(sender.sent) == 1 and row(store, "a").attempts == 2


def test_permanent_failure_gives_up_at_once(store: Store, config: Config, clock: Clock) -> None:
    queue(store, config, "a")
    queue(store, config, "b", now=START + timedelta(seconds=1))
    errors: list[SendError] = [SendPermanentError("550 5.1.1 no such user", code=550)]
    sender = FakeSender(fail=lambda: errors.pop() if errors else None)
    report = deliverer(store, sender, clock, config).deliver_pending()
    assert report.failed == ["a"] and report.sent == ["b"]
    assert row(store, "a").status == "failed" and row(store, "a").attempts == 1
    assert [e.data["mail"] for e in events(store, "send_failed")] == ["a"]  # type: ignore[index]


def test_foreign_recipient_is_refused_at_sending(store: Store, config: Config, clock: Clock) -> None:
    queue(store, config, "ok")
    queue(store, config, "moved", to=("tm@social.example.test",), now=START + timedelta(seconds=1))
    sender = FakeSender()
    # the council's domains changed since the mail was queued: only example.test itself now
    d = Deliverer(store, sender, clock=clock, allows=lambda a: a.endswith("@example.test"))
    report = d.deliver_pending()
    assert report.sent == ["ok"] and report.refused == ["moved"]
    refused = row(store, "moved")
    assert refused.status == "refused" and refused.attempts == 0
    [event] = events(store, "mail_refused")
    assert event.data is not None and event.data["mail"] == "moved"
    assert event.data["refused"] == ["tm@social.example.test"]
    assert [m["X-IRO-Mailbot-Key"] for m, _ in sender.sent] == ["ok"]
    assert sender.sent[0][1] == ["tm@example.test", "qa@example.test"]


def test_sender_that_cannot_open_claims_nothing(store: Store, config: Config, clock: Clock) -> None:
    queue(store, config, "a")
    d = deliverer(store, FakeSender(open_fail=SendAuthError("535 5.7.8 bad credentials", code=535)), clock,
                  config)
    report = d.deliver_pending()
    assert report.server_error == "SendAuthError" and report.attempted == 0
    assert report.server_detail == "535 5.7.8 bad credentials"
    waiting = row(store, "a")
    assert waiting.status == "pending" and waiting.attempts == 0 and waiting.next_attempt_at is None
    # `mailbot outbox` can say why it waits
    assert waiting.last_error == "waiting for the mail server: SendAuthError: 535 5.7.8 bad credentials"


def test_connection_lost_mid_batch_stops_the_batch(store: Store, config: Config, clock: Clock) -> None:
    for n, key in enumerate(["a", "b", "c"]):
        queue(store, config, key, now=START + timedelta(seconds=n))
    calls: list[int] = []

    def second_breaks() -> SendError | None:
        calls.append(1)
        return SendConnectionError("connection reset") if len(calls) == 2 else None

    sender = FakeSender(fail=second_breaks)
    report = deliverer(store, sender, clock, config).deliver_pending()
    assert report.sent == ["a"] and report.retrying == ["b"] and report.server_error == "SendConnectionError"
    assert row(store, "c").attempts == 0 and row(store, "c").status == "pending"
    assert sender.closed == 1
    clock.advance(minutes=1)
    assert deliverer(store, sender, clock, config).deliver_pending().sent == ["b", "c"]


def test_partly_refused_recipients_count_as_sent(store: Store, config: Config, clock: Clock) -> None:
    queue(store, config, "a")
    sender = FakeSender(refused={"qa@example.test": (550, "5.1.1 unknown user")})
    report = deliverer(store, sender, clock, config).deliver_pending()
    assert report.sent == ["a"] and report.refused_recipients == {"a": ["qa@example.test"]}
    assert row(store, "a").status == "sent"
    [event] = events(store, "recipients_refused_by_server")
    assert event.data == {"mail": "a", "refused": ["qa@example.test"], "codes": [550]}


def test_a_second_deliverer_does_not_send_a_claimed_mail(store: Store, config: Config, clock: Clock) -> None:
    queue(store, config, "a")
    other_sender = FakeSender()
    other = deliverer(store, other_sender, clock, config)
    sender = FakeSender()
    nested: list[object] = []
    sender.before_send = lambda: nested.append(other.deliver_pending())  # runs while "a" is being sent
    deliverer(store, sender, clock, config).deliver_pending()
    assert len(sender.sent) == 1 and other_sender.sent == []
    assert nested and nested[0].attempted == 0  # type: ignore[attr-defined]


def test_a_crash_after_the_claim_is_retried_after_the_lease(store: Store, config: Config, clock: Clock) -> None:
    queue(store, config, "a")

    class Crash(BaseException):
        pass

    def crash() -> None:
        raise Crash

    sender = FakeSender()
    sender.before_send = crash
    with pytest.raises(Crash):
        deliverer(store, sender, clock, config).deliver_pending()
    assert row(store, "a").attempts == 1 and row(store, "a").status == "pending"
    sender.before_send = None
    d = deliverer(store, sender, clock, config)
    clock.advance(minutes=9)
    assert d.deliver_pending().attempted == 0  # still leased
    clock.now = START + CLAIM_LEASE
    assert d.deliver_pending().sent == ["a"]
    assert len(sender.sent) == 1 and row(store, "a").attempts == 2


# ---- choosing a sender, SMTP error mapping ------------------------------------------------------------------


def test_open_sender_smtp_needs_the_password_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = {
        "council": {"name": "Example Council", "domains": ["example.test"]},
        "mail_out": {"transport": "smtp", "smtp": {"host": "127.0.0.1", "port": 2525, "security": "none",
                                                   "username": "bot", "password_env": "MAILBOT_TEST_SMTP_PW"}},
    }
    config = parse_config(data, source="test", base=tmp_path)
    monkeypatch.delenv("MAILBOT_TEST_SMTP_PW", raising=False)
    with pytest.raises(MailbotError, match=r"^mail_out\.smtp\.password_env: the environment variable "
                                           r"MAILBOT_TEST_SMTP_PW is not set — export it"):
        open_sender(config)
    monkeypatch.setenv("MAILBOT_TEST_SMTP_PW", "s3cret")
    sender = open_sender(config)
    assert isinstance(sender, SmtpSender)
    assert (sender.host, sender.port, sender.security, sender.username) == ("127.0.0.1", 2525, "none", "bot")
    assert "s3cret" not in repr(sender)


@pytest.mark.parametrize(("code", "kind"), [
    (421, SendConnectionError), (450, SendTemporaryError), (452, SendTemporaryError), (530, SendAuthError),
    (535, SendAuthError), (550, SendPermanentError), (554, SendPermanentError),
])
def test_smtp_codes_map_to_errors(code: int, kind: type[SendError]) -> None:
    error = classify(code, "text", "RCPT TO")
    assert type(error) is kind and error.code == code and str(error) == f"RCPT TO: {code} text"


def test_auth_errors_are_temporary_and_xoauth2_string() -> None:
    assert issubclass(SendAuthError, SendTemporaryError) and issubclass(SendConnectionError, SendTemporaryError)
    assert not issubclass(SendPermanentError, SendTemporaryError)
    assert xoauth2_string("bot@example.test", "tok") == "user=bot@example.test\x01auth=Bearer tok\x01\x01"
    with pytest.raises(ValueError, match="username"):
        SmtpSender("h", 25, "none", oauth2_token_provider=lambda: "t")
    with pytest.raises(ValueError, match="security"):
        SmtpSender("h", 25, "ssl")
