"""Microsoft Graph transport, tested at the HTTP boundary (respx) with payloads shaped as Graph v1.0 sends them."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import httpx
import pytest
import respx
from sqlalchemy import delete, func, select

from mailbot.config import Config
from mailbot.mail_in.ingest import Ingestor
from mailbot.transports.graph import GraphClient, GraphSender, GraphSource, check
from mailbot.transports.sender import MailSender, SendAuthError, SendConnectionError, SendPermanentError
from mailbot.transports.settings import GraphSettings
from mailbot.transports.source import (
    MailSource,
    TransportAuthError,
    TransportConnectionError,
    TransportProtocolError,
)
from store.models import Cursor, Message
from store.uow import Store
from tests.botsetup import Clock
from tests.mailbot.transports import graph_payloads as p
from tests.mailfactory import QA, TM, Thread, outlook_escalation

START = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
MIME = {"Content-Type": "message/rfc822"}


class FakeTokens:
    """A token provider: a new token after each refresh."""

    def __init__(self) -> None:
        self.issued = 1
        self.refreshes = 0
        self.fail: Exception | None = None

    def token(self, scopes: tuple[str, ...] = ("https://graph.microsoft.com/.default",), *,
              refresh: bool = False) -> str:
        if self.fail is not None:
            raise self.fail
        if refresh:
            self.refreshes += 1
            self.issued += 1
        return f"token-{self.issued}"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture()
def settings() -> GraphSettings:
    return GraphSettings(tenant_id=p.TENANT, client_id=p.CLIENT, user=p.USER, client_secret_env="UNUSED")


@pytest.fixture()
def tokens() -> FakeTokens:
    return FakeTokens()


@pytest.fixture()
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture()
def client(settings: GraphSettings, tokens: FakeTokens, sleeps: Sleeps) -> GraphClient:
    return GraphClient(settings, tokens, http=httpx.Client(), sleep=sleeps)


@pytest.fixture()
def graph() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        mock.get(f"{p.BASE}/mailFolders/inbox").respond(200, json=p.mail_folder(p.INBOX_ID, "Inbox", total=3))
        yield mock


def simple_mail(n: int) -> bytes:
    return (f"From: Jane Reviewer <jane.iro@example.test>\r\nTo: {p.USER}\r\nSubject: note {n}\r\n"
            f"Message-ID: <msg{n}@example.test>\r\nDate: Tue, 24 Nov 2026 09:{n:02d}:00 +0000\r\n\r\nbody {n}\r\n"
            ).encode()


def serve_mime(graph: respx.MockRouter, mails: dict[int, bytes]) -> dict[int, respx.Route]:
    return {n: graph.get(f"{p.BASE}/messages/{p.message_id(n)}/$value").respond(200, content=raw, headers=MIME)
            for n, raw in mails.items()}


START_LINK = f"{p.delta_url()}?$select=id,internetMessageId,receivedDateTime,parentFolderId,isRead,flag"


def two_pages(graph: respx.MockRouter) -> tuple[respx.Route, respx.Route]:
    """First sync: page 1 (unordered, one removed entry) → nextLink → page 2 → deltaLink."""
    first = graph.get(START_LINK).respond(200, json=p.delta_page(
        [p.message(2, "2026-11-24T09:02:00Z"), p.message(1, "2026-11-24T09:01:00Z"), p.removed(9)],
        next_link=p.next_link("page2")))
    second = graph.get(p.next_link("page2")).respond(200, json=p.delta_page(
        [p.message(3, "2026-11-24T09:03:00Z")], delta_link=p.delta_link("round1")))
    return first, second


# ---- delta ---------------------------------------------------------------------------------------------------


def test_first_sync_follows_next_link_to_delta_link(client: GraphClient, graph: respx.MockRouter) -> None:
    first, second = two_pages(graph)
    mime = serve_mime(graph, {n: simple_mail(n) for n in (1, 2, 3)})
    source = GraphSource(client)
    assert isinstance(source, MailSource)
    assert source.key == f"graph:{p.USER}/Inbox"

    got = list(source.fetch(None))

    assert [m.ref for m in got] == [p.message_id(1), p.message_id(2), p.message_id(3)]  # oldest first
    assert [m.raw for m in got] == [simple_mail(1), simple_mail(2), simple_mail(3)]
    # a page's mails carry the link that fetched it; its last mail carries the link after it
    assert [m.cursor for m in got] == [START_LINK, p.next_link("page2"), p.delta_link("round1")]
    assert all(route.call_count == 1 for route in mime.values())  # the removed entry (9) was never fetched
    request = first.calls[0].request
    assert request.headers["Authorization"] == "Bearer token-1"
    assert request.headers["Prefer"] == "odata.maxpagesize=50"
    assert second.calls[0].request.headers["Prefer"] == "odata.maxpagesize=50"


def test_restart_from_stored_cursor_fetches_only_newer_mail(client: GraphClient, graph: respx.MockRouter) -> None:
    route = graph.get(p.delta_link("round1")).respond(200, json=p.delta_page(
        [p.message(4, "2026-11-24T10:00:00Z"), p.removed(1)], delta_link=p.delta_link("round2")))
    serve_mime(graph, {4: simple_mail(4)})

    got = list(GraphSource(client).fetch(p.delta_link("round1")))  # a new process, cursor from the store

    assert [(m.ref, m.cursor) for m in got] == [(p.message_id(4), p.delta_link("round2"))]
    assert route.call_count == 1


def test_a_quiet_round_moves_on_to_the_new_delta_link(client: GraphClient, graph: respx.MockRouter) -> None:
    old = graph.get(p.delta_link("round1")).respond(200, json=p.delta_page([p.removed(1)],
                                                                           delta_link=p.delta_link("round2")))
    new = graph.get(p.delta_link("round2")).respond(200, json=p.delta_page([], delta_link=p.delta_link("round3")))
    source = GraphSource(client)
    assert list(source.fetch(p.delta_link("round1"))) == []
    assert list(source.fetch(p.delta_link("round1"))) == []  # the stored cursor did not move: nothing was handed out
    assert (old.call_count, new.call_count) == (1, 1)  # but the old changes are not read again


def test_limit_stops_mid_page_and_wait_returns_at_once(client: GraphClient, graph: respx.MockRouter,
                                                       sleeps: Sleeps) -> None:
    two_pages(graph)
    serve_mime(graph, {n: simple_mail(n) for n in (1, 2, 3)})
    source = GraphSource(client)
    got = list(source.fetch(None, limit=1))
    assert [(m.ref, m.cursor) for m in got] == [(p.message_id(1), START_LINK)]
    assert source.wait(60) is True
    assert sleeps == []


def test_wait_polls_in_small_steps(client: GraphClient, sleeps: Sleeps) -> None:
    source = GraphSource(client)
    assert source.wait(12) is True
    assert sleeps == [5.0, 5.0, 2.0]


def test_a_cursor_that_is_not_a_graph_link_starts_over(client: GraphClient, graph: respx.MockRouter,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    start = graph.get(START_LINK).respond(200, json=p.delta_page([], delta_link=p.delta_link("r")))
    with caplog.at_level(logging.WARNING):
        assert list(GraphSource(client).fetch("https://evil.example/steal?$deltatoken=x")) == []
    assert start.call_count == 1
    assert "not a Graph delta link" in caplog.text
    with pytest.raises(TransportProtocolError, match=r"outside https://graph\.microsoft\.com"):
        client.request("GET", "https://evil.example/v1.0/users/x")


# ---- the store: crash, 410 resync ----------------------------------------------------------------------------


def escalation(n: int) -> bytes:
    subject = f"Action - Level 1 escalation - Child {n} - MOSAIC 10000{n} - response by 01/12/2026"
    return outlook_escalation(Thread(subject, seed=f"graph-{n}"), subject=subject, when=START + timedelta(minutes=n),
                              to=TM)


def _records(store: Store) -> list[str]:
    with store.unit_of_work() as uow:
        return sorted(uow.session.scalars(select(Message.message_id).where(Message.direction == "in")))


def _count(store: Store) -> int:
    with store.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Message)) or 0)


def _accept_settling(graph: respx.MockRouter) -> respx.Route:
    return graph.patch(url__regex=rf"^{p.BASE}/messages/[^/]+$").respond(200, json={"isRead": True})


def test_crash_after_fetch_before_recording_loses_nothing_duplicates_nothing(
        client: GraphClient, graph: respx.MockRouter, bot: Ingestor, store: Store) -> None:
    two_pages(graph)
    serve_mime(graph, {n: escalation(n) for n in (1, 2, 3)})
    _accept_settling(graph)
    source = GraphSource(client)
    key = source.key

    fetched = source.fetch(None)
    first = next(fetched)
    bot.ingest(first.raw, source_key=key, source_ref=first.ref, cursor=first.cursor)
    second = next(fetched)  # fetched, then the process dies before recording it or storing its cursor
    assert second.ref == p.message_id(2)
    fetched.close()
    with store.unit_of_work() as uow:
        assert uow.cursors.get(key) == START_LINK

    restarted = GraphSource(client)  # a new process: fetch resumes from the stored cursor
    results = bot.poll(restarted)

    assert [r.outcome for r in results] == ["duplicate", "opened", "opened"]  # mail 1 again, recognised
    assert len(_records(store)) == 3 == len(set(_records(store)))
    with store.unit_of_work() as uow:
        assert uow.cursors.get(key) == p.delta_link("round1")


def test_410_resyncs_from_the_start_without_duplicates(client: GraphClient, graph: respx.MockRouter, bot: Ingestor,
                                                       store: Store, caplog: pytest.LogCaptureFixture) -> None:
    two_pages(graph)
    serve_mime(graph, {n: escalation(n) for n in (1, 2, 3, 4)})
    settled = _accept_settling(graph)
    source = GraphSource(client)
    assert [r.outcome for r in bot.poll(source)] == ["opened", "opened", "opened"]
    assert settled.call_count == 3
    before = _count(store)

    # the delta token expired; the folder is read again from the start (mail 4 came meanwhile)
    graph.get(p.delta_link("round1")).respond(410, json=p.graph_error(
        "SyncStateNotFound", "The sync state generation is not found."))
    graph.get(START_LINK).mock(side_effect=[httpx.Response(200, json=p.delta_page(
        [p.message(n, f"2026-11-24T09:0{n}:00Z", is_read=n < 4) for n in (3, 1, 4, 2)],
        delta_link=p.delta_link("round2")))])
    restarted = GraphSource(client)
    with caplog.at_level(logging.WARNING, logger="mailbot.transports.graph"):
        results = bot.poll(restarted)

    assert [r.outcome for r in results] == ["duplicate", "duplicate", "duplicate", "opened"]
    assert any(r.levelno == logging.WARNING and "cannot be resumed" in r.getMessage() for r in caplog.records)
    assert _count(store) == before + 1  # only mail 4 is new
    assert len(_records(store)) == 4 == len(set(_records(store)))
    with store.unit_of_work() as uow:
        assert uow.cursors.get(source.key) == p.delta_link("round2")
    assert settled.call_count == 4  # only mail 4 was unread: the others are not written again


PROCESSED_ID = "AAMkProcessed="


def _processed_folder(graph: respx.MockRouter) -> respx.Route:
    """A "Processed" folder at the mailbox root, and its move route (Graph answers a move with the moved message)."""
    graph.get(f"{p.BASE}/mailFolders").respond(200, json=p.folder_list(p.mail_folder(PROCESSED_ID, "Processed")))
    return graph.post(url__regex=rf"^{p.BASE}/messages/[^/]+/move$").respond(
        201, json=p.message(100, "2026-11-24T09:01:00Z", is_read=True, folder=PROCESSED_ID))


def _moved(move: respx.Route) -> list[str]:
    assert all(json.loads(c.request.content) == {"destinationId": PROCESSED_ID} for c in move.calls)
    return [c.request.url.path.removesuffix("/move").rsplit("/", 1)[1] for c in move.calls]


def test_a_stop_between_recording_and_moving_is_settled_at_the_next_start(
        client: GraphClient, graph: respx.MockRouter, store: Store, config: Config, clock: Clock) -> None:
    # round 1 holds mail 1 alone: it carries the deltaLink after it, so a restart never reads it again
    graph.get(START_LINK).respond(200, json=p.delta_page([p.message(1, "2026-11-24T09:01:00Z")],
                                                         delta_link=p.delta_link("round1")))
    graph.get(p.delta_link("round1")).respond(200, json=p.delta_page([p.message(2, "2026-11-24T09:02:00Z")],
                                                                     delta_link=p.delta_link("round2")))
    serve_mime(graph, {1: escalation(1), 2: escalation(2)})
    read = _accept_settling(graph)
    move = _processed_folder(graph)
    source = GraphSource(client, processed_folder="Processed")
    [first] = list(source.fetch(None))
    assert first.cursor == p.delta_link("round1")
    recorded = Ingestor(store, config, clock).ingest(first.raw, source_key=source.key, source_ref=first.ref,
                                                     cursor=first.cursor)
    assert recorded.outcome == "opened"  # recorded and its cursor stored; the process dies before moving it
    assert move.call_count == 0

    results = Ingestor(store, config, clock).poll(GraphSource(client, processed_folder="Processed"))  # a new start

    assert [r.outcome for r in results] == ["opened"]  # mail 2 was not recorded before: ingested as usual
    assert _moved(move) == [p.message_id(2), p.message_id(1)]  # mail 1 settled after reading on, never left behind
    assert [json.loads(c.request.content) for c in read.calls] == [{"isRead": True}] * 2
    assert len(_records(store)) == 2 == len(set(_records(store)))  # each recorded once
    with store.unit_of_work() as uow:
        assert uow.cursors.get(source.key) == p.delta_link("round2")


def test_a_stop_before_recording_the_last_mail_of_a_page_reads_it_again(
        client: GraphClient, graph: respx.MockRouter, store: Store, config: Config, clock: Clock) -> None:
    graph.get(START_LINK).respond(200, json=p.delta_page(
        [p.message(1, "2026-11-24T09:01:00Z"), p.message(2, "2026-11-24T09:02:00Z")], delta_link=p.delta_link("r1")))
    serve_mime(graph, {1: escalation(1), 2: escalation(2)})
    _accept_settling(graph)
    move = _processed_folder(graph)
    before = Ingestor(store, config, clock)
    source = GraphSource(client, processed_folder="Processed")
    fetched = source.fetch(None)
    first = next(fetched)
    assert before.ingest(first.raw, source_key=source.key, source_ref=first.ref, cursor=first.cursor).outcome == \
        "opened"
    source.settle(first.ref, "processed")
    assert next(fetched).ref == p.message_id(2)  # fetched; the process dies before recording it
    fetched.close()

    results = Ingestor(store, config, clock).poll(GraphSource(client, processed_folder="Processed"))

    # the page is read again (from the link that fetched it): mail 1 is known, mail 2 is recorded now
    assert [r.outcome for r in results] == ["duplicate", "opened"]
    assert _moved(move) == [p.message_id(1), p.message_id(1), p.message_id(2)]  # mail 1 moved before the stop
    assert len(_records(store)) == 2 == len(set(_records(store)))


def test_at_a_clean_start_the_last_mail_settled_already_is_left_alone(
        client: GraphClient, graph: respx.MockRouter, bot: Ingestor, store: Store, config: Config,
        clock: Clock) -> None:
    graph.get(START_LINK).respond(200, json=p.delta_page([p.message(1, "2026-11-24T09:01:00Z")],
                                                         delta_link=p.delta_link("r1")))
    quiet = graph.get(p.delta_link("r1")).respond(200, json=p.delta_page([p.removed(1)],
                                                                          delta_link=p.delta_link("r2")))
    serve_mime(graph, {1: escalation(1)})
    patch = graph.patch(f"{p.BASE}/messages/{p.message_id(1)}").mock(side_effect=[
        httpx.Response(200, json={"isRead": True}),
        p.error_response(404, "ErrorItemNotFound", "The specified object was not found in the store.")])
    move = _processed_folder(graph)
    assert [r.outcome for r in bot.poll(GraphSource(client, processed_folder="Processed"))] == ["opened"]
    assert _moved(move) == [p.message_id(1)]

    # a restart after a batch settled whole settles nothing again (the store notes how far settling went) ...
    assert Ingestor(store, config, clock).poll(GraphSource(client, processed_folder="Processed")) == []
    assert [c.response.status_code for c in patch.calls] == [200]
    # ... and a store from before that note settles the last mail again
    with store.unit_of_work() as uow:
        uow.session.execute(delete(Cursor).where(Cursor.source_key.startswith("settled:")))
    assert Ingestor(store, config, clock).poll(GraphSource(client, processed_folder="Processed")) == []

    assert quiet.call_count == 2  # nothing new: each start reads from the link the last mail left
    # settled again: its old id is gone (a moved mail gets a new id), so nothing more is tried
    assert [c.response.status_code for c in patch.calls] == [200, 404]
    assert _moved(move) == [p.message_id(1)]  # no second move
    assert len(_records(store)) == 1


# ---- throttling, tokens, errors ------------------------------------------------------------------------------


def test_429_waits_as_long_as_retry_after_says(client: GraphClient, graph: respx.MockRouter, sleeps: Sleeps) -> None:
    route = graph.get(START_LINK).mock(side_effect=[
        p.error_response(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                         headers={"Retry-After": "3"}),
        httpx.Response(200, json=p.delta_page([], delta_link=p.delta_link("r"))),
    ])
    assert list(GraphSource(client).fetch(None)) == []
    assert route.call_count == 2
    assert sleeps == [3.0]


def test_throttling_gives_up_after_a_few_tries_with_capped_waits(settings: GraphSettings, tokens: FakeTokens,
                                                                 graph: respx.MockRouter, sleeps: Sleeps) -> None:
    client = GraphClient(settings, tokens, http=httpx.Client(), sleep=sleeps, max_retries=3, max_retry_after=60)
    graph.get(f"{p.BASE}/mailFolders/drafts").mock(return_value=p.error_response(
        503, "ServiceUnavailable", "The service is temporarily unavailable.", headers={"Retry-After": "900"}))
    with pytest.raises(TransportConnectionError, match=r"stayed busy.*after 4 tries"):
        client.folder_id("Drafts")
    assert sleeps == [60.0, 60.0, 60.0]


def test_401_gets_a_new_token_once(client: GraphClient, graph: respx.MockRouter, tokens: FakeTokens) -> None:
    route = graph.get(START_LINK).mock(side_effect=[
        p.error_response(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."),
        httpx.Response(200, json=p.delta_page([], delta_link=p.delta_link("r"))),
    ])
    assert list(GraphSource(client).fetch(None)) == []
    assert [c.request.headers["Authorization"] for c in route.calls] == ["Bearer token-1", "Bearer token-2"]
    assert tokens.refreshes == 1


def test_401_after_a_refresh_is_an_auth_error(client: GraphClient, graph: respx.MockRouter,
                                              tokens: FakeTokens) -> None:
    graph.get(START_LINK).mock(return_value=p.error_response(
        401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience."))
    with pytest.raises(TransportAuthError, match=r"refused the app's token for iro-escalations@example\.test"):
        list(GraphSource(client).fetch(None))
    assert tokens.refreshes == 1


def test_403_names_the_missing_permission(client: GraphClient, graph: respx.MockRouter) -> None:
    graph.get(START_LINK).respond(403, json=p.graph_error(
        "ErrorAccessDenied", "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly "
                             "AccessPolicy settings."))
    with pytest.raises(TransportAuthError) as info:
        list(GraphSource(client).fetch(None))
    assert str(info.value).startswith(
        "the app lacks Mail.ReadWrite for iro-escalations@example.test (check the application access policy / "
        "RBAC for Applications scope)")
    assert "ErrorAccessDenied" in str(info.value)


def test_unknown_mailbox_and_unknown_folder_in_plain_words(settings: GraphSettings, tokens: FakeTokens) -> None:
    with respx.mock(assert_all_mocked=True) as graph:
        graph.get(f"{p.BASE}/mailFolders/inbox").respond(404, json=p.graph_error(
            "ErrorInvalidUser", f"The requested user '{p.USER}' is invalid."))
        with pytest.raises(TransportProtocolError, match=f"mailbox {p.USER} was not found"):
            list(GraphSource(GraphClient(settings, tokens, http=httpx.Client())).fetch(None))
    with respx.mock(assert_all_mocked=True) as graph:
        lookup = graph.get(f"{p.BASE}/mailFolders").respond(200, json=p.folder_list())
        source = GraphSource(GraphClient(settings, tokens, http=httpx.Client()), folder="Escalations")
        with pytest.raises(TransportProtocolError, match="folder 'Escalations' does not exist in mailbox"):
            list(source.fetch(None))
        assert lookup.calls[0].request.url.params["$filter"] == "displayName eq 'Escalations'"


def test_network_failure_is_a_connection_error(client: GraphClient, sleeps: Sleeps) -> None:
    with respx.mock(assert_all_mocked=True) as graph:
        graph.get(f"{p.BASE}/mailFolders/inbox").mock(side_effect=httpx.ConnectError("connection refused"))
        with pytest.raises(TransportConnectionError, match="cannot reach Microsoft Graph"):
            list(GraphSource(client).fetch(None))
    assert sleeps == [1.0]  # a GET is tried once more


def test_never_more_than_four_requests_in_flight(settings: GraphSettings, tokens: FakeTokens) -> None:
    client = GraphClient(settings, tokens, http=httpx.Client())
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def slow(request: httpx.Request) -> httpx.Response:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return httpx.Response(200, content=simple_mail(1), headers=MIME)

    with respx.mock(assert_all_mocked=True) as graph:
        route = graph.get(url__regex=rf"^{p.BASE}/messages/.+/\$value$").mock(side_effect=slow)
        threads = [threading.Thread(target=client.request, args=("GET", f"/messages/{p.message_id(n)}/$value"))
                   for n in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert route.call_count == 16
    assert state["peak"] == 4


# ---- settle ----------------------------------------------------------------------------------------------------


def test_settle_moves_into_a_folder_it_creates(client: GraphClient, graph: respx.MockRouter) -> None:
    graph.get(START_LINK).respond(200, json=p.delta_page(
        [p.message(1, "2026-11-24T09:01:00Z"), p.message(2, "2026-11-24T09:02:00Z")],
        delta_link=p.delta_link("r")))
    serve_mime(graph, {1: simple_mail(1), 2: simple_mail(2)})
    lookup = graph.get(f"{p.BASE}/mailFolders").respond(200, json=p.folder_list())
    create = graph.post(f"{p.BASE}/mailFolders").respond(201, json=p.mail_folder("AAMkProcessed=", "Processed"))
    read = _accept_settling(graph)
    move = graph.post(url__regex=rf"^{p.BASE}/messages/[^/]+/move$").respond(
        201, json=p.message(100, "2026-11-24T09:01:00Z", is_read=True, folder="AAMkProcessed="))
    source = GraphSource(client, processed_folder="Processed")
    for mail in source.fetch(None):
        source.settle(mail.ref, "processed")

    assert lookup.call_count == 1 and create.call_count == 1  # found once, created once, then remembered
    assert lookup.calls[0].request.url.params["$filter"] == "displayName eq 'Processed'"
    assert json.loads(create.calls[0].request.content) == {"displayName": "Processed"}
    assert [json.loads(c.request.content) for c in read.calls] == [{"isRead": True}] * 2
    assert [json.loads(c.request.content) for c in move.calls] == [{"destinationId": "AAMkProcessed="}] * 2
    assert move.calls[0].request.url.path.endswith(f"/messages/{p.message_id(1)}/move")


def test_settle_without_folders_writes_only_what_differs(client: GraphClient, graph: respx.MockRouter) -> None:
    graph.get(START_LINK).respond(200, json=p.delta_page(
        [p.message(1, "2026-11-24T09:01:00Z", is_read=True), p.message(2, "2026-11-24T09:02:00Z")],
        delta_link=p.delta_link("r")))
    serve_mime(graph, {1: simple_mail(1), 2: simple_mail(2)})
    patch = _accept_settling(graph)
    source = GraphSource(client)
    refs = [m.ref for m in source.fetch(None)]
    source.settle(refs[0], "processed")  # already read (a person opened it): nothing to write
    assert patch.call_count == 0
    source.settle(refs[1], "attention")
    assert json.loads(patch.calls[0].request.content) == {"flag": {"flagStatus": "flagged"}, "isRead": True}


def test_settle_of_a_mail_moved_away_meanwhile_is_quiet(client: GraphClient, graph: respx.MockRouter) -> None:
    graph.patch(f"{p.BASE}/messages/{p.message_id(1)}").respond(404, json=p.graph_error(
        "ErrorItemNotFound", "The specified object was not found in the store."))
    GraphSource(client).settle(p.message_id(1), "processed")


# ---- send ------------------------------------------------------------------------------------------------------


def outgoing() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"IRO escalations <{p.USER}>"
    msg["To"] = TM
    msg["Cc"] = QA
    msg["Subject"] = "Reminder: escalation ESC-0001 [ESC-0001]"
    msg["Date"] = "Tue, 24 Nov 2026 09:30:00 +0000"
    msg["Message-ID"] = "<esc-0001.l1.chaser.1@iro-mailbot.example.test>"
    msg["In-Reply-To"] = "<abc@example.test>"
    msg["References"] = "<abc@example.test>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-IRO-Mailbot-Key"] = "esc-0001/l1/chaser/1"
    msg.set_content("A reminder.")
    msg.add_alternative("<p>A reminder.</p>", subtype="html")
    return msg


def test_send_posts_our_mime_base64_and_accepts_202(client: GraphClient, graph: respx.MockRouter) -> None:
    route = graph.post(f"{p.BASE}/sendMail").respond(202)
    sender = GraphSender(client)
    assert isinstance(sender, MailSender)
    with sender:
        refused = sender.send(outgoing(), [TM, QA])
    assert refused == {}
    request = route.calls[0].request
    assert request.headers["Content-Type"] == "text/plain"
    assert request.headers["Authorization"] == "Bearer token-1"
    sent = message_from_bytes(base64.b64decode(request.content, validate=True), policy=policy.default)
    assert sent["Message-ID"] == "<esc-0001.l1.chaser.1@iro-mailbot.example.test>"
    assert sent["In-Reply-To"] == sent["References"] == "<abc@example.test>"
    assert sent["Auto-Submitted"] == "auto-generated"
    assert sent["X-IRO-Mailbot-Key"] == "esc-0001/l1/chaser/1"
    assert sent["Bcc"] is None
    assert b"\r\n" in base64.b64decode(request.content)


def test_send_adds_envelope_only_recipients_as_bcc(client: GraphClient, graph: respx.MockRouter) -> None:
    route = graph.post(f"{p.BASE}/sendMail").respond(202)
    GraphSender(client).send(outgoing(), [TM, QA, "iro.manager@example.test"])
    sent = message_from_bytes(base64.b64decode(route.calls[0].request.content), policy=policy.default)
    assert sent["Bcc"] == "iro.manager@example.test"


@pytest.mark.parametrize(
    ("response", "error", "text"),
    [
        (p.error_response(400, "ErrorInvalidRecipients", "At least one recipient is not valid."),
         SendPermanentError, "ErrorInvalidRecipients"),
        (p.error_response(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."),
         SendAuthError, "the app lacks Mail.Send for iro-escalations@example.test"),
        (p.error_response(429, "ApplicationThrottled", "Too many requests.", headers={"Retry-After": "1"}),
         SendConnectionError, "stayed busy"),
        (p.error_response(504, "GatewayTimeout", "Gateway timeout."), SendConnectionError, "stayed busy"),
    ],
)
def test_send_errors_say_what_to_do(client: GraphClient, graph: respx.MockRouter, sleeps: Sleeps,
                                    response: httpx.Response, error: type[Exception], text: str) -> None:
    route = graph.post(f"{p.BASE}/sendMail").mock(return_value=response)
    with pytest.raises(error, match=text):
        GraphSender(client).send(outgoing(), [TM, QA])
    if response.status_code == 504:  # a POST that timed out may have been sent: never repeated
        assert route.call_count == 1 and sleeps == []
    if response.status_code == 429:  # refused before it was taken: retried
        assert route.call_count == 4 and sleeps == [1.0, 1.0, 1.0]


# ---- check -----------------------------------------------------------------------------------------------------


def test_check_reports_in_plain_words(settings: GraphSettings, tokens: FakeTokens, graph: respx.MockRouter) -> None:
    client = GraphClient(settings, tokens, http=httpx.Client())
    graph.get(f"{p.BASE}/mailFolders").respond(200, json=p.folder_list())
    lines = check(client, processed_folder="Processed")
    assert lines[0] == f"ok: token for app {p.CLIENT} in tenant {p.TENANT}"
    assert lines[1] == f"ok: mailbox {p.USER} reachable (its folders can be read)"
    assert lines[2] == "ok: folder 'Inbox' found"
    assert lines[3] == "ok: processed folder 'Processed' will be created on first use"
    assert "Mail.Send" in lines[4]


def test_check_stops_at_a_refused_token(client: GraphClient, tokens: FakeTokens) -> None:
    tokens.fail = TransportAuthError("Entra ID refused a token: the client secret is wrong (AADSTS7000215)")
    with respx.mock(assert_all_mocked=True) as graph:
        assert check(client) == [f"missing: token for app {p.CLIENT} in tenant {p.TENANT}: Entra ID refused a token: "
                                 "the client secret is wrong (AADSTS7000215)"]
        assert not graph.calls
