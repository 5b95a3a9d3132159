"""The EWS transport against a fake Exchange Server at the HTTP boundary.

The fake server (``tests/fakes/exchange.py``) answers exchangelib's requests through its HTTP adapter hook with
the SOAP bodies of ``tests/mailbot/transports/ews_payloads.py``; exchangelib's own code runs unchanged.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from exchangelib.protocol import BaseProtocol, close_connections
from sqlalchemy import delete, func, select

from mailbot.config import Config
from mailbot.mail_in.ingest import Ingestor
from mailbot.transports.ews import EwsSender, EwsSource, check, open_account
from mailbot.transports.sender import MailSender, SendAuthError, SendPermanentError, SendTemporaryError
from mailbot.transports.source import MailSource, TransportAuthError, TransportConnectionError, TransportProtocolError
from store.models import Cursor
from store.models import Message as StoredMessage
from store.uow import Store
from tests.botsetup import Clock
from tests.fakes.exchange import ENDPOINT, NS, PASSWORD, FakeExchange, account, record_sleeps, serve, settings
from tests.mailbot.transports import ews_payloads as P
from tests.mailfactory import BOT, IRO, QA, TM, Thread, outlook_escalation, plain_reply

WHEN = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
SUBJECT = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"


@pytest.fixture()
def exchange(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeExchange]:
    yield serve(FakeExchange(), monkeypatch)
    close_connections()


@pytest.fixture()
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    return record_sleeps(monkeypatch)


def mail(n: int) -> bytes:
    return plain_reply(Thread(f"topic {n}", seed=f"t{n}"), sender=TM, to=[IRO], cc=[BOT], text=f"Reply {n}",
                       when=WHEN)


# ---- fetch ------------------------------------------------------------------------------------------------------


def test_first_sync_hands_out_created_mails_with_sync_states(exchange: FakeExchange) -> None:
    first, second = exchange.deliver(mail(1)), exchange.deliver(mail(2))
    source = EwsSource(account())
    assert isinstance(source, MailSource)
    assert source.key == f"ews:{BOT}/Inbox"

    got = list(source.fetch(None))

    assert [m.raw for m in got] == [first.mime, second.mime]
    assert [m.ref for m in got] == [f"{first.id}|{first.changekey}", f"{second.id}|{second.changekey}"]
    # the page's start state for all but the last mail; the last carries the new state
    assert [m.cursor for m in got] == ["", exchange.state(exchange.inbox, 2)]
    assert exchange.ops() == ["GetFolder", "GetFolder", "SyncFolderItems", "GetItem"]
    sync = exchange.calls[2][1]
    assert sync.find("m:SyncState", NS) is None
    assert exchange._fid(sync.find("m:SyncFolderId", NS)[0]) == exchange.inbox
    get_item = exchange.calls[3][1]
    assert get_item.find("m:ItemShape/t:AdditionalProperties/t:FieldURI", NS).get("FieldURI") == "item:MimeContent"
    assert [e.get("Id") for e in get_item.find("m:ItemIds", NS)] == [first.id, second.id]


def test_restart_from_a_stored_cursor_fetches_only_newer_mail(exchange: FakeExchange) -> None:
    exchange.deliver(mail(1))
    exchange.deliver(mail(2))
    stored = list(EwsSource(account()).fetch(None))[-1].cursor
    close_connections()
    third = exchange.deliver(mail(3))

    got = list(EwsSource(account()).fetch(stored))  # a new process: nothing in memory

    assert [m.raw for m in got] == [third.mime]
    assert got[0].cursor == exchange.state(exchange.inbox, 3)
    sync = [p for op, p in exchange.calls if op == "SyncFolderItems"][-1]
    assert sync.find("m:SyncState", NS).text == stored


def test_pages_respect_the_limit_and_cursors_advance_per_page(exchange: FakeExchange) -> None:
    items = [exchange.deliver(mail(n)) for n in range(5)]
    source = EwsSource(account())

    got = list(source.fetch(None, limit=2))
    assert [m.raw for m in got] == [items[0].mime, items[1].mime]
    assert got[-1].cursor == exchange.state(exchange.inbox, 2)
    rest = list(source.fetch(got[-1].cursor, limit=10))
    assert [m.raw for m in rest] == [i.mime for i in items[2:]]
    assert [m.cursor for m in rest] == [got[-1].cursor] * 2 + [exchange.state(exchange.inbox, 5)]


def test_deletes_and_read_flags_are_not_mail_and_only_advance_the_state(exchange: FakeExchange) -> None:
    first = exchange.deliver(mail(1))
    source = EwsSource(account(), processed_folder="Processed")
    (got,) = list(source.fetch(None))
    source.settle(got.ref, "processed")  # ReadFlagChange + Delete in the inbox's change log
    assert list(source.fetch(got.cursor)) == []
    new = exchange.deliver(mail(2))

    (again,) = list(source.fetch(got.cursor))

    assert again.raw == new.mime != first.mime
    syncs = [p.find("m:SyncState", NS) for op, p in exchange.calls if op == "SyncFolderItems"]
    # the empty page's state was remembered: the last sync started after the read flag and the move
    assert syncs[-1].text == exchange.state(exchange.inbox, 3)


def _records(bot: Ingestor) -> int:
    with bot.store.unit_of_work() as uow:
        return uow.session.execute(select(func.count()).select_from(StoredMessage)).scalar_one()


def _cursor(bot: Ingestor, key: str) -> str | None:
    with bot.store.unit_of_work() as uow:
        return uow.cursors.get(key)


def test_invalid_sync_state_resyncs_from_the_start_without_duplicate_records(
    exchange: FakeExchange, bot: Ingestor, caplog: pytest.LogCaptureFixture
) -> None:
    exchange.deliver(outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=WHEN))
    exchange.deliver(mail(1))
    source = EwsSource(account())
    assert [r.outcome for r in bot.poll(source)] == ["opened", "unmatched"]
    stored = _cursor(bot, source.key)
    assert stored == exchange.state(exchange.inbox, 2)
    exchange.revoked.add(stored)
    exchange.deliver(mail(2))
    end = len(exchange.log[exchange.inbox])  # two creates, the read flags of settled mail, one more create

    with caplog.at_level(logging.WARNING, logger="mailbot.transports.ews"):
        results = bot.poll(EwsSource(account()))

    assert [r.outcome for r in results] == ["duplicate", "duplicate", "unmatched"]
    assert _records(bot) == 3
    assert _cursor(bot, source.key) == exchange.state(exchange.inbox, end)
    assert any("no longer valid" in r.getMessage() for r in caplog.records)


def test_crash_after_fetch_before_recording_refetches_the_same_mail(exchange: FakeExchange, bot: Ingestor) -> None:
    exchange.deliver(outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=WHEN))
    source = EwsSource(account())
    before = list(source.fetch(_cursor(bot, source.key)))  # ... and the process dies here
    close_connections()

    restarted = EwsSource(account())
    after = list(restarted.fetch(_cursor(bot, restarted.key)))

    assert [m.raw for m in after] == [m.raw for m in before] and len(after) == 1
    outcomes = [bot.ingest(m.raw, source_key=source.key, source_ref=m.ref, cursor=m.cursor).outcome
                for m in (*before, *after)]
    assert outcomes == ["opened", "duplicate"]
    assert _records(bot) == 1


SUBJECT_2 = "Action - Level 1 escalation - John Roe - MOSAIC 654321 - response by 01/12/2026"


def _processed(exchange: FakeExchange) -> list[bytes]:
    """The MIME of every mail in the folder "Processed" (none if there is no such folder)."""
    folder = next((k for k, v in exchange.folders.items() if v["name"] == "Processed"), None)
    return [i.mime for i in exchange.items.values() if i.folder == folder]


def _moved_ids(exchange: FakeExchange) -> list[str]:
    return [e.get("Id") or "" for op, p in exchange.calls if op == "MoveItem" for e in p.find("m:ItemIds", NS)]


def test_a_stop_between_recording_and_moving_is_settled_at_the_next_start(
    exchange: FakeExchange, store: Store, config: Config, clock: Clock
) -> None:
    first = exchange.deliver(outlook_escalation(Thread(SUBJECT, seed="ews-1"), subject=SUBJECT, when=WHEN))
    source = EwsSource(account(), processed_folder="Processed")
    [got] = list(source.fetch(None))
    assert got.cursor == exchange.state(exchange.inbox, 1)  # the page's last mail carries the state after it
    recorded = Ingestor(store, config, clock).ingest(got.raw, source_key=source.key, source_ref=got.ref,
                                                     cursor=got.cursor)
    assert recorded.outcome == "opened"  # recorded and its cursor stored; the process dies before moving it
    close_connections()
    second = exchange.deliver(outlook_escalation(Thread(SUBJECT_2, seed="ews-2"), subject=SUBJECT_2, when=WHEN))
    exchange.calls.clear()

    after = Ingestor(store, config, clock)  # a new start
    results = after.poll(EwsSource(account(), processed_folder="Processed"))

    assert [r.outcome for r in results] == ["opened"]  # the mail not recorded before: ingested as usual
    assert _moved_ids(exchange) == [second.id, first.id]  # the one recorded before the stop is moved too
    assert sorted(_processed(exchange)) == sorted([first.mime, second.mime])
    assert [i for i in exchange.items.values() if i.folder == exchange.inbox] == []  # nothing left in the inbox
    assert _records(after) == 2  # each recorded once
    assert _cursor(after, source.key) == exchange.state(exchange.inbox, 2)  # after mail 2's page


def test_at_a_clean_start_the_last_mail_settled_already_is_left_alone(
    exchange: FakeExchange, bot: Ingestor, store: Store, config: Config, clock: Clock,
    caplog: pytest.LogCaptureFixture
) -> None:
    exchange.deliver(outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=WHEN))
    assert [r.outcome for r in bot.poll(EwsSource(account(), processed_folder="Processed"))] == ["opened"]
    assert len(_processed(exchange)) == 1
    close_connections()
    exchange.calls.clear()
    with store.unit_of_work() as uow:  # a store from before batches were noted: it settles the last again
        uow.session.execute(delete(Cursor).where(Cursor.source_key.startswith("settled:")))
    # the mail recorded last was moved (a new id): Exchange answers its old id with ErrorItemNotFound
    exchange.inject["UpdateItem"] = [(200, P.envelope("UpdateItem", P.item_not_found("UpdateItem")))]

    with caplog.at_level(logging.INFO, logger="mailbot.transports.ews"):
        assert Ingestor(store, config, clock).poll(EwsSource(account(), processed_folder="Processed")) == []

    assert exchange.ops().count("UpdateItem") == 1 and "MoveItem" not in exchange.ops()
    assert len(_processed(exchange)) == 1 and _records(bot) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # settled already is not a warning


def test_server_busy_is_waited_out_as_the_server_asks(exchange: FakeExchange, sleeps: list[float]) -> None:
    item = exchange.deliver(mail(1))
    exchange.inject["SyncFolderItems"] = [(500, P.server_busy(1500))]
    source = EwsSource(account())

    got = list(source.fetch(None))

    assert [m.raw for m in got] == [item.mime]
    assert exchange.ops().count("SyncFolderItems") == 2
    # the fake sleep does not move the clock, so exchangelib may sleep out the rest before the next request too
    assert sleeps and 1.0 < sleeps[0] <= 1.5 and sum(sleeps) < 3.1


def test_server_busy_for_longer_than_max_wait_is_a_connection_error(exchange: FakeExchange,
                                                                      sleeps: list[float]) -> None:
    exchange.inject["SyncFolderItems"] = [(500, P.server_busy(3_600_000))]
    source = EwsSource(open_account(settings(), PASSWORD, max_wait=60))
    with pytest.raises(TransportConnectionError, match="busy"):
        list(source.fetch(None))
    assert sleeps == []


def test_refused_password_is_an_auth_error_in_plain_words_without_the_password(exchange: FakeExchange,
                                                                                sleeps: list[float]) -> None:
    source = EwsSource(account(password="wrong-" + PASSWORD))

    with pytest.raises(TransportAuthError) as err:
        list(source.fetch(None))

    text = str(err.value)
    assert "refused the user name and password (basic)" in text
    assert PASSWORD not in text and "wrong-" not in text
    assert sleeps == []  # not mistaken for throttling


def test_impersonation_denied_names_the_missing_role(exchange: FakeExchange) -> None:
    exchange.mailbox_error = ("ErrorImpersonateUserDenied", "The account does not have permission to impersonate "
                              "the requested user.")
    with pytest.raises(TransportAuthError, match="ApplicationImpersonation"):
        list(EwsSource(account(access_type="impersonation")).fetch(None))


def test_missing_mailbox_is_a_protocol_error(exchange: FakeExchange) -> None:
    exchange.mailbox_error = ("ErrorNonExistentMailbox", "No mailbox with such guid.")
    with pytest.raises(TransportProtocolError, match="has no mailbox"):
        list(EwsSource(account()).fetch(None))


def test_unknown_folder_is_a_protocol_error(exchange: FakeExchange) -> None:
    with pytest.raises(TransportProtocolError, match="could not find the folder"):
        list(EwsSource(account(), folder="Inbox/Escalations").fetch(None))


def test_folder_below_the_inbox_is_found_by_name(exchange: FakeExchange) -> None:
    sub = exchange._folder(None, "Escalations", exchange.inbox)
    item = exchange.deliver(mail(1), folder=sub)
    exchange.deliver(mail(2))  # in the inbox itself: not ours

    got = list(EwsSource(account(), folder="Inbox/escalations").fetch(None))

    assert [m.raw for m in got] == [item.mime]


# ---- settle -----------------------------------------------------------------------------------------------------


def test_settle_marks_read_and_moves_to_a_folder_it_creates(exchange: FakeExchange) -> None:
    a, b = exchange.deliver(mail(1)), exchange.deliver(mail(2))
    source = EwsSource(account(), processed_folder="Processed", attention_folder="Needs attention")
    got = list(source.fetch(None))
    exchange.calls.clear()

    source.settle(got[0].ref, "processed")
    source.settle(got[1].ref, "attention")

    assert exchange.ops() == ["UpdateItem", "FindFolder", "CreateFolder", "MoveItem",
                              "FindFolder", "CreateFolder", "MoveItem"]
    by_name = {v["name"]: k for k, v in exchange.folders.items()}
    assert exchange.folders[by_name["Processed"]]["parent"] == exchange.inbox
    moved = {i.mime: i for i in exchange.items.values()}
    assert moved[a.mime].folder == by_name["Processed"] and moved[a.mime].is_read
    assert moved[b.mime].folder == by_name["Needs attention"] and not moved[b.mime].is_read
    create = next(p for op, p in exchange.calls if op == "CreateFolder")
    assert create.find("m:Folders/t:Folder/t:DisplayName", NS).text == "Processed"

    exchange.calls.clear()
    c = exchange.deliver(mail(3))
    (third,) = list(source.fetch(got[-1].cursor))
    source.settle(third.ref, "processed")
    assert "CreateFolder" not in exchange.ops() and "FindFolder" not in exchange.ops()  # known now
    assert c.id not in exchange.items


def test_settle_without_folders_marks_processed_mail_read_and_leaves_attention_unread(
    exchange: FakeExchange,
) -> None:
    a, b = exchange.deliver(mail(1)), exchange.deliver(mail(2))
    source = EwsSource(account())
    got = list(source.fetch(None))
    exchange.calls.clear()

    source.settle(got[0].ref, "processed")
    source.settle(got[1].ref, "attention")

    assert exchange.ops() == ["UpdateItem"]
    assert exchange.items[a.id].is_read and not exchange.items[b.id].is_read
    with pytest.raises(ValueError):
        source.settle(got[0].ref, "done")


def test_settle_of_a_mail_someone_moved_is_only_logged(exchange: FakeExchange) -> None:
    a = exchange.deliver(mail(1))
    source = EwsSource(account())
    (got,) = list(source.fetch(None))
    exchange.inject["UpdateItem"] = [(200, P.envelope("UpdateItem", P.item_not_found("UpdateItem")))]

    source.settle(got.ref, "processed")

    assert not exchange.items[a.id].is_read


def test_wait_polls_by_sleeping_and_says_mail_may_be_there() -> None:
    slept: list[float] = []
    source = EwsSource.__new__(EwsSource)
    source._sleep, source._poll_step = slept.append, 5.0

    assert source.wait(12) is True
    assert slept == [5.0, 5.0, 2.0]


# ---- send -------------------------------------------------------------------------------------------------------


def outgoing() -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"IRO escalations <{BOT}>"
    msg["To"] = TM
    msg["Cc"] = QA
    msg["Subject"] = "[ESC-0001] Reminder: response due"
    msg["Message-ID"] = "<esc-0001.l1.chaser.1@iro-mailbot.example.test>"
    msg["In-Reply-To"] = "<original@example.test>"
    msg["References"] = "<original@example.test>"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content("Dear Tom,\n\nA reminder.\n")
    msg.add_alternative("<p>Dear Tom,</p><p>A reminder.</p>", subtype="html")
    return msg


def test_send_and_save_sends_our_mime_with_send_and_save_copy(exchange: FakeExchange) -> None:
    sender = EwsSender(account())
    assert isinstance(sender, MailSender)

    refused = sender.send(outgoing(), [TM, QA, "hidden@example.test"])

    assert refused == {}
    assert exchange.ops() == ["GetFolder", "GetFolder", "CreateItem"]  # root, then Sent Items
    (create,) = exchange.sent
    assert create.get("MessageDisposition") == "SendAndSaveCopy"
    assert exchange._fid(create.find("m:SavedItemFolderId", NS)[0]) == exchange.sentitems
    mime = base64.b64decode(create.find("m:Items/t:Message/t:MimeContent", NS).text or "")
    assert b"Message-ID: <esc-0001.l1.chaser.1@iro-mailbot.example.test>" in mime
    assert b"In-Reply-To: <original@example.test>" in mime and b"Auto-Submitted: auto-generated" in mime
    bcc = create.findall("m:Items/t:Message/t:BccRecipients/t:Mailbox/t:EmailAddress", NS)
    assert [e.text for e in bcc] == ["hidden@example.test"]  # To and Cc come from the MIME headers
    assert create.find("m:Items/t:Message/t:ToRecipients", NS) is None


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("ErrorSendAsDenied", SendAuthError),
        ("ErrorInvalidRecipients", SendPermanentError),
        ("ErrorMessageSizeExceeded", SendPermanentError),
        ("ErrorQuotaExceeded", SendTemporaryError),
    ],
)
def test_send_errors_say_what_to_do(exchange: FakeExchange, code: str, error: type[Exception]) -> None:
    exchange.inject["CreateItem"] = [(200, P.create_item_error(code, "refused"))]
    with pytest.raises(error) as err:
        EwsSender(account()).send(outgoing(), [TM])
    if code == "ErrorSendAsDenied":
        assert "Send As" in str(err.value)


def test_send_with_a_refused_password_is_an_auth_error(exchange: FakeExchange) -> None:
    with pytest.raises(SendAuthError) as err:
        EwsSender(account(password="nope")).send(outgoing(), [TM])
    assert "nope" not in str(err.value)


def test_send_when_busy_too_long_is_temporary(exchange: FakeExchange, sleeps: list[float]) -> None:
    exchange.inject["CreateItem"] = [(500, P.server_busy(3_600_000))]
    with pytest.raises(SendTemporaryError):
        EwsSender(open_account(settings(), PASSWORD, max_wait=60)).send(outgoing(), [TM])


# ---- account and check ------------------------------------------------------------------------------------------


def test_open_account_makes_no_request_and_needs_a_password(exchange: FakeExchange) -> None:
    acc = account(auth_type="ntlm", access_type="impersonation")
    assert exchange.calls == []
    assert acc.protocol.config.auth_type == "NTLM" and acc.access_type == "impersonation"
    assert acc.protocol.service_endpoint == ENDPOINT
    with pytest.raises(TransportAuthError, match="IRO_EWS_PASSWORD"):
        open_account(settings(), None)
    with pytest.raises(TransportProtocolError, match="ntlm"):
        open_account(settings(auth_type="oauth"), PASSWORD)


def test_verify_tls_false_mounts_the_no_verify_adapter_for_this_account_only(exchange: FakeExchange) -> None:
    from exchangelib.protocol import NoVerifyHTTPAdapter

    acc = account(verify_tls=False)
    session = acc.protocol.create_session()
    assert isinstance(session.get_adapter(ENDPOINT), NoVerifyHTTPAdapter)
    assert BaseProtocol.HTTP_ADAPTER_CLS is not NoVerifyHTTPAdapter


def test_check_reports_each_step_in_plain_words(exchange: FakeExchange) -> None:
    lines = check(account(), "Inbox", ["Processed", None])
    assert [line.split(":")[0] for line in lines] == [
        "ok   server", "ok   login", "ok   mailbox", "ok   folder", "ok   folder", "?    send as"]
    assert "will be created" in lines[4]
    assert "Send As" in lines[5]


def test_check_stops_at_the_refused_login(exchange: FakeExchange) -> None:
    lines = check(account(password="nope"))
    assert lines[0].startswith("ok   server")
    assert lines[1].startswith("FAILED login") and "nope" not in lines[1]
    assert len(lines) == 2


def test_check_names_a_missing_right(exchange: FakeExchange) -> None:
    exchange.mailbox_error = ("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    lines = check(account())
    assert lines[-1].startswith("FAILED mailbox") and "FullAccess" in lines[-1]
