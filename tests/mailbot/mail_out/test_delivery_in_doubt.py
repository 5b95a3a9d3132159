"""A mail whose last attempt may have reached the server: marked the moment the server has it, looked for in Sent
Items before it is sent again (mailbot/mail_out/delivery.py, steps 3 and 5), on a real SQLite store."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from mailbot.config import Config
from mailbot.mail_out.delivery import CLAIM_LEASE, IN_FLIGHT, Deliverer, DeliveryReport, in_doubt
from mailbot.mail_out.outbox import queue_mail
from mailbot.transports.sender import (
    MailSender,
    Refused,
    SendAuthError,
    SendConnectionError,
    SendError,
    SendPermanentError,
    SendTemporaryError,
    SentItemsCheck,
    already_sent,
)
from store.models import Event, OutboxMail
from store.uow import Store
from tests.botsetup import Clock

START = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)


class Crash(BaseException):
    """The deliverer's process dies here (kill -9): nothing after it runs, no handler sees it."""


class Server:
    """What the mail server holds: every mail it accepted, by Message-ID, and the copies filed in Sent Items."""

    def __init__(self, *, files_copies: bool = True) -> None:
        self.accepted: list[str] = []
        self.sent_items: list[str] = []
        self.files_copies = files_copies

    def count(self, message_id: str) -> int:
        return self.accepted.count(f"<{message_id}>")


class Sender:
    """A sender in front of :class:`Server`. ``crash_before``/``crash_after``: die before the server takes the
    mail / right after it took it (and filed its copy). ``check``: what ``already_sent`` does (None: answer from
    the server's Sent Items)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.crash_before = False
        self.crash_after = False
        self.fail: SendError | None = None
        self.during_send: Callable[[], None] | None = None

    def open(self) -> None:
        pass

    def send(self, msg: EmailMessage, recipients: Sequence[str]) -> Refused:
        if self.during_send is not None:
            self.during_send()
        if self.crash_before:
            raise Crash
        if self.fail is not None:
            raise self.fail
        self.server.accepted.append(str(msg["Message-ID"]))
        if self.server.files_copies:
            self.server.sent_items.append(str(msg["Message-ID"]))
        if self.crash_after:
            raise Crash
        return {}

    def close(self) -> None:
        pass


class CheckingSender(Sender):
    """A sender that can look in Sent Items (Graph, EWS, Maildir, SMTP with a sent folder)."""

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.checks: list[str] = []
        self.check_fails: list[SendError] = []

    def already_sent(self, message_id: str) -> bool | None:
        self.checks.append(message_id)
        if self.check_fails:
            raise self.check_fails.pop(0)
        return f"<{message_id}>" in self.server.sent_items


def queue(store: Store, config: Config, key: str, *, now: datetime = START) -> str:
    with store.unit_of_work() as uow:
        row = queue_mail(uow, config, key=key, kind="chase", to=["tm@example.test"], cc=["qa@example.test"],
                         subject="Action - Level 1 escalation - MOSAIC 123456", text="Please respond.\n", now=now)
        return row.message_id


def row(store: Store, key: str) -> OutboxMail:
    with store.unit_of_work() as uow:
        found = uow.outbox.get(key)
        assert found is not None
        return found


def events(store: Store, kind: str) -> list[Event]:
    with store.unit_of_work() as uow:
        return [e for e in uow.session.query(Event).order_by(Event.id) if e.kind == kind]


def copy_sent_at(store: Store, message_id: str) -> datetime | None:
    with store.unit_of_work() as uow:
        copy = uow.messages.get_by_identity(message_id)
        assert copy is not None
        return copy.sent_at


def deliver(store: Store, sender: object, clock: Clock, config: Config) -> DeliveryReport:
    return Deliverer(store, sender, clock=clock, allows=config.allows_address).deliver_pending()  # type: ignore[arg-type]


def crash(store: Store, sender: Sender, clock: Clock, config: Config) -> None:
    with pytest.raises(Crash):
        deliver(store, sender, clock, config)
    sender.crash_before = sender.crash_after = False


# ---- the capability -------------------------------------------------------------------------------------------


def test_already_sent_is_an_optional_capability() -> None:
    server = Server()
    plain, checking = Sender(server), CheckingSender(server)
    assert isinstance(plain, MailSender) and isinstance(checking, MailSender)
    assert not isinstance(plain, SentItemsCheck) and isinstance(checking, SentItemsCheck)
    assert already_sent(plain, "a@b") is None
    server.sent_items.append("<a@b>")
    assert already_sent(checking, "a@b") is True and already_sent(checking, "c@d") is False


# ---- the mark -------------------------------------------------------------------------------------------------


def test_the_claim_says_in_flight_and_the_mark_clears_it(store: Store, config: Config, clock: Clock) -> None:
    queue(store, config, "a")
    sender = CheckingSender(Server())
    seen: list[str | None] = []
    sender.during_send = lambda: seen.append(row(store, "a").last_error)
    report = deliver(store, sender, clock, config)
    assert report.sent == ["a"] and report.confirmed == []
    assert seen and seen[0] is not None and seen[0].startswith(f"{IN_FLIGHT} attempt 1 started 2026-11-24T09:15")
    done = row(store, "a")
    assert (done.status, done.attempts, done.last_error, done.sent_at) == ("sent", 1, None, START)
    assert sender.checks == []  # a fresh row is never looked for
    [timing] = report.timings
    assert timing.key == "a" and timing.send >= 0 and timing.window >= 0


def test_the_mark_is_committed_before_anything_else_runs(store: Store, config: Config, clock: Clock,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    message_id = queue(store, config, "a")

    def die(*args: object, **kwargs: object) -> None:
        raise Crash

    monkeypatch.setattr(Deliverer, "_after_sent", die)  # the events, the report and the log come after the mark
    with pytest.raises(Crash):
        deliver(store, CheckingSender(Server()), clock, config)
    done = row(store, "a")
    assert done.status == "sent" and done.sent_at == START and done.last_error is None
    assert copy_sent_at(store, message_id) == START


# ---- in doubt ---------------------------------------------------------------------------------------------------


def test_a_crash_after_the_server_took_the_mail_is_confirmed_not_resent(store: Store, config: Config,
                                                                        clock: Clock) -> None:
    message_id = queue(store, config, "a")
    server = Server()
    sender = CheckingSender(server)
    sender.crash_after = True
    crash(store, sender, clock, config)
    stuck = row(store, "a")
    assert stuck.status == "pending" and stuck.attempts == 1 and in_doubt(stuck)
    assert deliver(store, sender, clock, config).attempted == 0  # leased
    clock.now = START + CLAIM_LEASE
    report = deliver(store, sender, clock, config)
    assert report.confirmed == ["a"] and report.sent == [] and report.attempted == 1
    assert sender.checks == [message_id]
    assert server.count(message_id) == 1
    done = row(store, "a")
    assert (done.status, done.attempts, done.sent_at, done.last_error) == ("sent", 2, START + CLAIM_LEASE, None)
    assert copy_sent_at(store, message_id) == START + CLAIM_LEASE
    [event] = events(store, "send_confirmed")
    assert event.key == "send_confirmed:a"
    assert event.data == {"mail": "a", "attempts": 2, "found": "in Sent Items",
                          "note": "an earlier attempt reached the server; not sent again"}
    clock.advance(days=1)
    assert deliver(store, sender, clock, config).attempted == 0


def test_a_crash_before_the_server_took_the_mail_is_sent_after_looking(store: Store, config: Config,
                                                                       clock: Clock) -> None:
    message_id = queue(store, config, "a")
    server = Server()
    sender = CheckingSender(server)
    sender.crash_before = True
    crash(store, sender, clock, config)
    clock.now = START + CLAIM_LEASE
    report = deliver(store, sender, clock, config)
    assert report.sent == ["a"] and report.confirmed == []
    assert sender.checks == [message_id] and server.count(message_id) == 1
    assert row(store, "a").attempts == 2 and events(store, "send_confirmed") == []


def test_a_sender_that_cannot_tell_sends_again(store: Store, config: Config, clock: Clock,
                                               caplog: pytest.LogCaptureFixture) -> None:
    message_id = queue(store, config, "a")
    server = Server()
    sender = Sender(server)  # bare SMTP: no Sent Items to look in
    sender.crash_after = True
    crash(store, sender, clock, config)
    clock.now = START + CLAIM_LEASE
    caplog.set_level(logging.INFO)
    assert deliver(store, sender, clock, config).sent == ["a"]
    assert server.count(message_id) == 2  # the duplicate the bare transport cannot avoid
    assert any("cannot tell" in r.getMessage() and "key=a" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)


def test_a_server_that_filed_no_copy_means_sending_again(store: Store, config: Config, clock: Clock) -> None:
    message_id = queue(store, config, "a")
    server = Server(files_copies=False)  # e.g. SMTP killed between the 250 and the APPEND
    sender = CheckingSender(server)
    sender.crash_after = True
    crash(store, sender, clock, config)
    clock.now = START + CLAIM_LEASE
    assert deliver(store, sender, clock, config).sent == ["a"]
    assert server.count(message_id) == 2


def test_a_row_claimed_before_the_in_flight_note_existed_is_in_doubt(store: Store, config: Config,
                                                                     clock: Clock) -> None:
    message_id = queue(store, config, "a")
    with store.unit_of_work() as uow:  # as an older deliverer left it: claimed, no note, lease over
        mail = uow.outbox.get("a")
        assert mail is not None and uow.outbox.claim(mail, START - CLAIM_LEASE, START)
    server = Server()
    server.sent_items.append(f"<{message_id}>")
    sender = CheckingSender(server)
    assert deliver(store, sender, clock, config).confirmed == ["a"]
    assert server.count(message_id) == 0


def test_failed_search_keeps_the_doubt_and_stops_the_batch(store: Store, config: Config, clock: Clock) -> None:
    message_id = queue(store, config, "a")
    queue(store, config, "b", now=START + timedelta(seconds=1))
    server = Server()
    sender = CheckingSender(server)
    sender.crash_after = True
    crash(store, sender, clock, config)  # "a" reached the server; "b" was never claimed
    clock.now = START + CLAIM_LEASE
    sender.check_fails = [SendConnectionError("sent folder: cannot connect to the IMAP server")]
    report = deliver(store, sender, clock, config)
    assert report.retrying == ["a"] and report.server_error == "SendConnectionError" and report.sent == []
    waiting = row(store, "a")
    assert waiting.status == "pending" and waiting.attempts == 2 and in_doubt(waiting)
    assert waiting.last_error is not None and "looking in Sent Items failed" in waiting.last_error
    assert waiting.next_attempt_at == START + CLAIM_LEASE + timedelta(minutes=5)  # the second attempt's back-off
    assert row(store, "b").attempts == 0  # the batch stopped

    clock.now = waiting.next_attempt_at
    report = deliver(store, sender, clock, config)
    assert report.confirmed == ["a"] and report.sent == ["b"]
    assert server.count(message_id) == 1 and row(store, "a").attempts == 3


def test_a_temporary_search_failure_retries_without_stopping(store: Store, config: Config, clock: Clock) -> None:
    queue(store, config, "a")
    sender = CheckingSender(Server())
    sender.crash_before = True
    crash(store, sender, clock, config)
    clock.now = START + CLAIM_LEASE
    sender.check_fails = [SendTemporaryError("sent folder: the server refused the search")]
    report = deliver(store, sender, clock, config)
    assert report.retrying == ["a"] and report.server_error is None and in_doubt(row(store, "a"))


def test_a_permanent_search_failure_counts_as_cannot_tell(store: Store, config: Config, clock: Clock) -> None:
    message_id = queue(store, config, "a")
    server = Server()
    sender = CheckingSender(server)
    sender.crash_after = True
    crash(store, sender, clock, config)
    clock.now = START + CLAIM_LEASE
    sender.check_fails = [SendPermanentError("the app may not read Sent Items", code=403)]
    assert deliver(store, sender, clock, config).sent == ["a"]
    assert server.count(message_id) == 2


def test_search_failures_until_the_attempts_run_out_give_up(store: Store, config: Config, clock: Clock) -> None:
    queue(store, config, "a")
    sender = CheckingSender(Server())
    sender.crash_before = True
    crash(store, sender, clock, config)
    clock.now = START + CLAIM_LEASE
    d = Deliverer(store, sender, clock=clock, allows=config.allows_address, max_attempts=3)
    for _ in range(2):
        sender.check_fails = [SendAuthError("sent folder: login refused")]
        report = d.deliver_pending()
        clock.advance(hours=1)
    assert report.failed == ["a"]
    gave_up = row(store, "a")
    assert gave_up.status == "failed" and gave_up.attempts == 3 and not in_doubt(gave_up)
    [event] = events(store, "send_failed")
    assert event.data is not None and event.data["error"] == "SendAuthError"


def test_a_connection_lost_mid_send_is_in_doubt(store: Store, config: Config, clock: Clock) -> None:
    message_id = queue(store, config, "a")
    server = Server()
    sender = CheckingSender(server)
    server.sent_items.append(f"<{message_id}>")  # the server had taken it when the connection broke
    sender.fail = SendConnectionError("smtp.example.test:587 while sending: SMTPServerDisconnected")
    report = deliver(store, sender, clock, config)
    assert report.retrying == ["a"] and in_doubt(row(store, "a"))
    sender.fail = None
    clock.advance(minutes=1)
    assert deliver(store, sender, clock, config).confirmed == ["a"]


def test_a_refusal_is_not_in_doubt(store: Store, config: Config, clock: Clock) -> None:
    queue(store, config, "a")
    sender = CheckingSender(Server())
    sender.fail = SendTemporaryError("451 4.3.0 try later", code=451)
    deliver(store, sender, clock, config)
    refused = row(store, "a")
    assert refused.last_error == "SendTemporaryError: 451 4.3.0 try later" and not in_doubt(refused)
    sender.fail = None
    clock.advance(minutes=1)
    assert deliver(store, sender, clock, config).sent == ["a"]
    assert sender.checks == []
