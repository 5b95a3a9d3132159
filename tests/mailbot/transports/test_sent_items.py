"""Looking in Sent Items before sending again a mail whose attempt may have reached the server, per transport:
Graph against the fake Exchange Online of tests/fakes/graph.py (respx), EWS against the fake Exchange Server of
tests/fakes/exchange.py, Maildir on disk, SMTP's order of work with a fake SMTP server and a fake sent folder (the
real IMAP folder is exercised in tests/integration/test_send_crash.py)."""

from __future__ import annotations

import email
import email.policy
import smtplib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import respx

from mailbot.config import Config
from mailbot.mail_out.delivery import CLAIM_LEASE, Deliverer, in_doubt
from mailbot.mail_out.outbox import queue_mail
from mailbot.transports.ews import EwsSender
from mailbot.transports.graph import GraphClient, GraphSender
from mailbot.transports.imap import ImapSentFolder
from mailbot.transports.maildir import MaildirCopies, MaildirSender, MaildirSource
from mailbot.transports.registry import open_sender
from mailbot.transports.sender import (
    Refused,
    SendAuthError,
    SendConnectionError,
    SendPermanentError,
    SendTemporaryError,
    SentItemsCheck,
)
from mailbot.transports.settings import GraphSettings
from mailbot.transports.smtp import SmtpSender
from mailbot.transports.source import TransportAuthError, TransportConnectionError, TransportProtocolError
from store.models import Event
from store.uow import Store
from tests.botsetup import Clock, example_config
from tests.fakes.exchange import FakeExchange, account, close_connections, serve
from tests.fakes.graph import FakeGraph
from tests.mailbot.transports import graph_payloads as p

START = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
TM, QA = "tm@example.test", "qa@example.test"


class Crash(BaseException):
    """The deliverer's process dies here."""


def outgoing(message_id: str = "ESC-0042.l1.chase1.3f9a@example.test") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "IRO escalations <iro-escalations@example.test>"
    msg["To"], msg["Cc"] = TM, QA
    msg["Subject"] = "Action - Level 1 escalation - MOSAIC 123456"
    msg["Message-ID"] = f"<{message_id}>"
    msg.set_content("Please respond.\n")
    return msg


def dies_after_sending(sender: Any) -> list[bool]:
    """Make ``sender.send`` die right after the server took the mail, while the returned flag is set."""
    armed = [True]
    send = sender.send

    def send_then_die(msg: EmailMessage, recipients: Sequence[str]) -> Refused:
        refused = send(msg, recipients)
        if armed[0]:
            armed[0] = False
            raise Crash
        return refused

    sender.send = send_then_die
    return armed


def queue(store: Store, config: Config, key: str) -> str:
    with store.unit_of_work() as uow:
        return queue_mail(uow, config, key=key, kind="chase", to=[TM], cc=[QA], subject="Level 1 chaser",
                          text="Please respond.\n", now=START).message_id


def crash_then_resume(store: Store, config: Config, clock: Clock, sender: Any) -> Any:
    """Queue "a", send it with a deliverer that dies right after the server took it, then run a new deliverer
    once the lease is over. Returns that run's report."""
    queue(store, config, "a")
    dies_after_sending(sender)
    with pytest.raises(Crash):
        Deliverer(store, sender, clock=clock, allows=config.allows_address).deliver_pending()
    with store.unit_of_work() as uow:
        stuck = uow.outbox.get("a")
        assert stuck is not None and in_doubt(stuck)
    clock.now = START + CLAIM_LEASE
    return Deliverer(store, sender, clock=clock, allows=config.allows_address).deliver_pending()


def confirmed_events(store: Store) -> list[Event]:
    with store.unit_of_work() as uow:
        return [e for e in uow.session.query(Event) if e.kind == "send_confirmed"]


# ---- Microsoft Graph --------------------------------------------------------------------------------------------


class Tokens:
    def token(self, scopes: Sequence[str] = ("https://graph.microsoft.com/.default",), *,
              refresh: bool = False) -> str:
        return "token-1"


def graph_sender() -> GraphSender:
    settings = GraphSettings(tenant_id=p.TENANT, client_id=p.CLIENT, user=p.USER, client_secret_env="UNUSED")
    return GraphSender(GraphClient(settings, Tokens(), http=httpx.Client(), sleep=lambda s: None))


@pytest.fixture()
def graph_mock() -> Iterator[tuple[FakeGraph, GraphSender, respx.MockRouter]]:
    fake = FakeGraph()
    with fake.mock() as router:
        yield fake, graph_sender(), router


@pytest.fixture()
def graph(graph_mock: tuple[FakeGraph, GraphSender, respx.MockRouter]) -> tuple[FakeGraph, GraphSender]:
    return graph_mock[0], graph_mock[1]


def test_graph_finds_a_sent_mail_in_sent_items(graph: tuple[FakeGraph, GraphSender]) -> None:
    fake, sender = graph
    assert isinstance(sender, SentItemsCheck)
    assert sender.already_sent("ESC-0042.l1.chase1.3f9a@example.test") is False
    sender.send(outgoing(), [TM, QA])
    assert sender.already_sent("ESC-0042.l1.chase1.3f9a@example.test") is True
    assert sender.already_sent("<ESC-0042.l1.chase1.3f9a@example.test>") is True
    assert sender.already_sent("ESC-0042.l1.chase2.77aa@example.test") is False
    fake.deliver(outgoing("ESC-0043.l1.chase1.1111@example.test").as_bytes())  # in the Inbox, not Sent Items
    assert sender.already_sent("ESC-0043.l1.chase1.1111@example.test") is False
    method, path = fake.calls[-1]
    assert method == "GET" and path == "/mailFolders/sentitems/messages"


def test_graph_asks_with_an_odata_filter_on_internet_message_id(
        graph_mock: tuple[FakeGraph, GraphSender, respx.MockRouter]) -> None:
    _fake, sender, router = graph_mock
    sender.already_sent("it's@example.test")
    request = router.calls.last.request
    assert unquote(request.url.path) == f"/v1.0/users/{p.USER}/mailFolders/sentitems/messages"
    params = request.url.params
    assert params["$filter"] == "internetMessageId eq '<it''s@example.test>'"  # OData doubles a quote
    assert params["$select"] == "id,internetMessageId"


@pytest.mark.parametrize(("status", "code", "error", "words"), [
    (403, "ErrorAccessDenied", SendAuthError, "lacks Mail.ReadWrite"),  # the app may not read the mailbox
    (503, "ServiceUnavailable", SendConnectionError, "stayed busy"),  # after Retry-After, a few times
    (400, "ErrorInvalidUrlQueryFilter", SendPermanentError, "HTTP 400"),  # the deliverer: "cannot tell"
])
def test_graph_search_errors_are_send_errors(status: int, code: str, error: type[Exception], words: str) -> None:
    sender = graph_sender()
    with respx.mock(assert_all_mocked=True) as router:
        router.route(host="graph.microsoft.com").mock(return_value=p.error_response(status, code, "no"))
        with pytest.raises(error, match=words):
            sender.already_sent("a@example.test")


def test_graph_in_doubt_mail_found_in_sent_items_is_not_sent_again(
        graph: tuple[FakeGraph, GraphSender], store: Store, config: Config, clock: Clock) -> None:
    fake, sender = graph
    report = crash_then_resume(store, config, clock, sender)
    assert report.confirmed == ["a"] and report.sent == []
    assert len(fake.sent) == 1 and len(fake.in_folder(fake.sentitems)) == 1
    [event] = confirmed_events(store)
    assert event.data is not None and event.data["mail"] == "a"


def test_graph_in_doubt_mail_missing_from_sent_items_is_sent_again(
        graph: tuple[FakeGraph, GraphSender], store: Store, config: Config, clock: Clock) -> None:
    fake, sender = graph
    fake.save_to_sent_items = False  # Exchange never filed it: the 202 was for a mail that did not go
    report = crash_then_resume(store, config, clock, sender)
    assert report.sent == ["a"] and report.confirmed == []
    assert len(fake.sent) == 2


# ---- EWS --------------------------------------------------------------------------------------------------------


@pytest.fixture()
def exchange(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeExchange]:
    yield serve(FakeExchange(), monkeypatch)
    close_connections()


def test_ews_finds_a_sent_mail_in_sent_items(exchange: FakeExchange) -> None:
    sender = EwsSender(account())
    assert isinstance(sender, SentItemsCheck)
    assert sender.already_sent("ESC-0042.l1.chase1.3f9a@example.test") is False
    sender.send(outgoing(), [TM, QA])
    assert [i.folder for i in exchange.items.values()] == [exchange.sentitems]  # SendAndSaveCopy filed it
    assert sender.already_sent("<ESC-0042.l1.chase1.3f9a@example.test>") is True
    assert sender.already_sent("ESC-0042.l1.chase2.77aa@example.test") is False
    exchange.deliver(outgoing("ESC-0043.l1.chase1.1111@example.test").as_bytes())  # the Inbox is not searched
    assert sender.already_sent("ESC-0043.l1.chase1.1111@example.test") is False
    find = exchange.calls[-1][1]
    assert exchange.calls[-1][0] == "FindItem"
    ns = {"m": "http://schemas.microsoft.com/exchange/services/2006/messages",
          "t": "http://schemas.microsoft.com/exchange/services/2006/types"}
    assert find.find("m:Restriction/t:IsEqualTo/t:FieldURI", ns).get("FieldURI") == "message:InternetMessageId"
    assert exchange._fid(find.find("m:ParentFolderIds", ns)[0]) == exchange.sentitems


def test_ews_in_doubt_mail_found_in_sent_items_is_not_sent_again(exchange: FakeExchange, store: Store,
                                                                 config: Config, clock: Clock) -> None:
    report = crash_then_resume(store, config, clock, EwsSender(account()))
    assert report.confirmed == ["a"] and report.sent == []
    assert len(exchange.sent) == 1


def test_ews_in_doubt_mail_missing_from_sent_items_is_sent_again(exchange: FakeExchange, store: Store,
                                                                 config: Config, clock: Clock) -> None:
    exchange.save_copies = False
    report = crash_then_resume(store, config, clock, EwsSender(account()))
    assert report.sent == ["a"] and len(exchange.sent) == 2


def test_ews_search_refused_login_is_an_auth_error(exchange: FakeExchange) -> None:
    sender = EwsSender(account())
    sender.open()
    exchange.password = "changed"
    with pytest.raises(SendAuthError):
        sender.already_sent("a@example.test")


# ---- Maildir ----------------------------------------------------------------------------------------------------


def test_maildir_finds_its_own_files(tmp_path: Path) -> None:
    sender = MaildirSender(tmp_path / "sent")
    assert sender.already_sent("ESC-0042.l1.chase1.3f9a@example.test") is False  # no folder yet: nothing sent
    sender.send(outgoing(), [TM])
    assert sender.already_sent("ESC-0042.l1.chase1.3f9a@example.test") is True
    assert sender.already_sent("<ESC-0042.l1.chase1.3f9a@example.test>") is True
    assert sender.already_sent("ESC-0042.l1.chase1@example.test") is False  # a prefix is not a match
    [name] = list((tmp_path / "sent" / "new").iterdir())
    name.rename(tmp_path / "sent" / "cur" / (name.name + ":2,S"))  # read by a person meanwhile
    assert sender.already_sent("ESC-0042.l1.chase1.3f9a@example.test") is True


def test_maildir_in_doubt_mail_is_not_written_twice(store: Store, config: Config, clock: Clock) -> None:
    sender = open_sender(config)
    assert isinstance(sender, MaildirSender)
    report = crash_then_resume(store, config, clock, sender)
    assert report.confirmed == ["a"]
    assert len(list((config.mail_out.maildir / "new").iterdir())) == 1


def test_maildir_crash_before_writing_sends_once(store: Store, config: Config, clock: Clock) -> None:
    sender = open_sender(config)
    queue(store, config, "a")
    send = sender.send

    def die(msg: EmailMessage, recipients: Sequence[str]) -> Refused:
        raise Crash

    sender.send = die  # type: ignore[method-assign]
    with pytest.raises(Crash):
        Deliverer(store, sender, clock=clock, allows=config.allows_address).deliver_pending()
    sender.send = send  # type: ignore[method-assign]
    clock.now = START + CLAIM_LEASE
    assert Deliverer(store, sender, clock=clock, allows=config.allows_address).deliver_pending().sent == ["a"]
    assert len(list((config.mail_out.maildir / "new").iterdir())) == 1


# ---- SMTP with an IMAP sent folder: the order of work -----------------------------------------------------------


class Journal(list[str]):
    pass


class FakeSentFolder:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.copies: list[bytes] = []
        self.fail_append: Exception | None = None
        self.fail_search: Exception | None = None

    def open(self) -> None:
        self.journal.append("imap open")

    def append(self, raw: bytes) -> None:
        self.journal.append("imap append")
        if self.fail_append is not None:
            raise self.fail_append
        self.copies.append(raw)

    def contains(self, message_id: str) -> bool:
        if self.fail_search is not None:
            raise self.fail_search
        return any(f"<{message_id}>".encode() in raw for raw in self.copies)

    def close(self) -> None:
        self.journal.append("imap close")


@pytest.fixture()
def journal(monkeypatch: pytest.MonkeyPatch) -> Journal:
    """smtplib.SMTP replaced by a server that accepts everything and writes what happens into the journal."""
    events = Journal()

    class FakeSMTP:
        def __init__(self, host: str, port: int, **kw: Any) -> None:
            events.append("smtp connect")

        def sendmail(self, sender: str, recipients: list[str], raw: bytes) -> dict[str, tuple[int, bytes]]:
            events.append("smtp 250")
            return {}

        def quit(self) -> None:
            events.append("smtp quit")

        def close(self) -> None:
            pass

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    return events


def test_smtp_files_its_copy_right_after_the_250(journal: Journal) -> None:
    folder = FakeSentFolder(journal)
    sender = SmtpSender("smtp.example.test", 25, "none", sent_folder=folder)
    assert sender.already_sent("ESC-0042.l1.chase1.3f9a@example.test") is False
    with sender:
        assert sender.send(outgoing(), [TM, QA]) == {}
    assert journal == ["smtp connect", "imap open", "smtp 250", "imap append", "smtp quit", "imap close"]
    [copy] = folder.copies
    assert copy == outgoing().as_bytes(policy=SMTP_POLICY)  # the very bytes the SMTP server took
    assert sender.already_sent("ESC-0042.l1.chase1.3f9a@example.test") is True


def test_smtp_mail_counts_as_sent_when_its_copy_cannot_be_filed(journal: Journal,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    folder = FakeSentFolder(journal)
    folder.fail_append = TransportConnectionError("lost the IMAP server")
    sender = SmtpSender("smtp.example.test", 25, "none", sent_folder=folder)
    assert sender.send(outgoing(), [TM]) == {}
    assert "could not be saved to the sent folder" in caplog.text and "Please respond" not in caplog.text


def test_smtp_without_a_sent_folder_cannot_tell(journal: Journal) -> None:
    sender = SmtpSender("smtp.example.test", 25, "none")
    assert sender.already_sent("ESC-0042.l1.chase1.3f9a@example.test") is None
    with sender:
        sender.send(outgoing(), [TM])
    assert journal == ["smtp connect", "smtp 250", "smtp quit"]


@pytest.mark.parametrize(("error", "kind"), [
    (TransportAuthError("refused the login"), SendAuthError),
    (TransportConnectionError("cannot connect"), SendConnectionError),
    (TransportProtocolError("refused to search"), SendTemporaryError),
])
def test_smtp_sent_folder_errors_are_send_errors(journal: Journal, error: Exception, kind: type[Exception]) -> None:
    folder = FakeSentFolder(journal)
    folder.fail_search = error
    with pytest.raises(kind, match="sent folder"):
        SmtpSender("smtp.example.test", 25, "none", sent_folder=folder).already_sent("a@example.test")


def test_smtp_in_doubt_mail_with_its_copy_filed_is_not_sent_again(journal: Journal, store: Store, config: Config,
                                                                  clock: Clock) -> None:
    folder = FakeSentFolder(journal)
    sender = SmtpSender("smtp.example.test", 25, "none", sent_folder=folder)
    report = crash_then_resume(store, config, clock, sender)
    assert report.confirmed == ["a"] and journal.count("smtp 250") == 1


# ---- configuration ----------------------------------------------------------------------------------------------


def imap_config(tmp_path: Path, **imap: Any) -> Config:
    return example_config(
        tmp_path,
        mailbox={"transport": "imap", "address": "iro-escalations@example.test",
                 "imap": {"host": "imap.example.test", "username": "iro-escalations@example.test",
                          "password_env": "MAILBOT_TEST_IMAP_PASSWORD", **imap}},
        mail_out={"transport": "smtp", "smtp": {"host": "smtp.example.test", "security": "none"}},
    )


def test_sent_folder_setting_builds_the_imap_folder_for_smtp(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILBOT_TEST_IMAP_PASSWORD", "secret")
    config = imap_config(tmp_path, sent_folder="Sent Items", processed_folder="Processed")
    assert config.mailbox.imap is not None and config.mailbox.imap.sent_folder == "Sent Items"
    sender = open_sender(config)
    assert isinstance(sender, SmtpSender) and isinstance(sender.sent_folder, ImapSentFolder)
    folder = sender.sent_folder
    assert (folder.host, folder.port, folder.username, folder.folder, folder.security) == \
        ("imap.example.test", 993, "iro-escalations@example.test", "Sent Items", "tls")
    # the own copy arrives in the inbox and is settled into the processed folder: both are searched, Sent first
    assert folder.look_in == ("Sent Items", "INBOX", "Processed")
    assert sender.copy_to == "iro-escalations@example.test"
    assert "secret" not in repr(folder) and "secret" not in repr(sender)


def test_without_sent_folder_smtp_still_finds_the_mailbox_own_copy(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILBOT_TEST_IMAP_PASSWORD", "secret")
    config = imap_config(tmp_path)
    assert config.mailbox.imap is not None and config.mailbox.imap.sent_folder is None
    sender = open_sender(config)
    assert isinstance(sender, SmtpSender) and isinstance(sender.sent_folder, ImapSentFolder)
    assert sender.sent_folder.folder is None and sender.sent_folder.look_in == ("INBOX",)  # nothing filed
    assert sender.copy_to == "iro-escalations@example.test"


def test_copy_to_mailbox_off_and_no_sent_folder_cannot_tell(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILBOT_TEST_IMAP_PASSWORD", "secret")
    config = example_config(
        tmp_path,
        mailbox={"transport": "imap", "address": "iro-escalations@example.test",
                 "imap": {"host": "imap.example.test", "username": "iro-escalations@example.test",
                          "password_env": "MAILBOT_TEST_IMAP_PASSWORD"}},
        mail_out={"transport": "smtp",
                  "smtp": {"host": "smtp.example.test", "security": "none", "copy_to_mailbox": False}},
    )
    sender = open_sender(config)
    assert isinstance(sender, SmtpSender) and sender.sent_folder is None and sender.copy_to is None
    assert sender.already_sent("a@example.test") is None


def test_a_maildir_mailbox_gets_its_own_copy_and_is_searched(tmp_path: Path) -> None:
    """SMTP out, the mailbox a local Maildir the server delivers to: the copy arrives there and is looked for in
    the inbox and the sub-folders it is settled into; nothing is filed by the sender."""
    config = example_config(tmp_path, mail_out={"transport": "smtp",
                                                "smtp": {"host": "smtp.example.test", "security": "none"}})
    sender = open_sender(config)
    assert isinstance(sender, SmtpSender) and isinstance(sender.sent_folder, MaildirCopies)
    assert sender.copy_to == config.mailbox.address
    copy = outgoing().as_bytes(policy=SMTP_POLICY)
    assert sender.already_sent("ESC-0042.l1.chase1.3f9a@example.test") is False
    source = MaildirSource(config.mailbox.maildir)
    ref = source.drop(copy)
    assert sender.already_sent("<ESC-0042.l1.chase1.3f9a@example.test>") is True  # in the inbox
    source.settle(ref, "processed")
    assert sender.already_sent("ESC-0042.l1.chase1.3f9a@example.test") is True  # settled into .processed
    assert sender.already_sent("ESC-0042.l1.chase1@example.test") is False
    sender.sent_folder.append(copy)  # files nothing
    assert not any((config.mailbox.maildir / "new").iterdir())


def test_copy_to_mailbox_off_with_a_maildir_mailbox_is_bare_smtp(tmp_path: Path) -> None:
    config = example_config(tmp_path, mail_out={"transport": "smtp", "smtp": {
        "host": "smtp.example.test", "security": "none", "copy_to_mailbox": False}})
    sender = open_sender(config)
    assert isinstance(sender, SmtpSender) and sender.copy_to is None and sender.sent_folder is None
    assert sender.already_sent("a@example.test") is None


# ---- the mailbox's own copy, through a real SMTP server ---------------------------------------------------------


@pytest.fixture()
def sink() -> Iterator[Any]:
    from tests.servers import SmtpServer

    with SmtpServer() as server:
        yield server


class RefusingSink:
    """aiosmtpd that refuses RCPT TO for the addresses given (550), to see what the sender does then."""

    def __init__(self, refuse: set[str]) -> None:
        self.refuse = refuse
        self.envelopes: list[tuple[str, ...]] = []
        self.resets = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_RSET(self, server: Any, session: Any, envelope: Any) -> str:
        self.resets += 1
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(tuple(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@pytest.fixture()
def refusing() -> Iterator[tuple[RefusingSink, int]]:
    from aiosmtpd.controller import Controller

    from tests.servers import free_port

    handler = RefusingSink(set())
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_own_copy_is_one_more_envelope_recipient_never_a_header(sink: Any) -> None:
    sender = SmtpSender(sink.host, sink.port, "none", copy_to="IRO-Escalations@example.test")
    assert sender.send(outgoing(), [TM, QA]) == {}
    [mail] = sink.received
    assert mail.rcpt_tos == (TM, QA, "iro-escalations@example.test")
    seen = email.message_from_bytes(mail.raw, policy=email.policy.default)
    assert (seen["To"], seen["Cc"], seen["Bcc"]) == (TM, QA, None)  # nobody sees the copy in the headers


def test_own_copy_never_arrives_for_a_mail_nobody_got(refusing: tuple[RefusingSink, int]) -> None:
    handler, port = refusing
    handler.refuse = {TM, QA}
    sender = SmtpSender("127.0.0.1", port, "none", copy_to="iro-escalations@example.test")
    with pytest.raises(SendPermanentError, match="every recipient refused"):
        sender.send(outgoing(), [TM, QA])
    assert handler.envelopes == [] and handler.resets >= 1  # reset before DATA: no copy, no mail


def test_refused_own_copy_still_sends_and_reports_only_real_refusals(
        refusing: tuple[RefusingSink, int], caplog: pytest.LogCaptureFixture) -> None:
    handler, port = refusing
    handler.refuse = {QA, "iro-escalations@example.test"}
    sender = SmtpSender("127.0.0.1", port, "none", copy_to="iro-escalations@example.test")
    refused = sender.send(outgoing(), [TM, QA])
    assert list(refused) == [QA] and handler.envelopes == [(TM,)]
    assert "refused the mailbox's own copy" in caplog.text
