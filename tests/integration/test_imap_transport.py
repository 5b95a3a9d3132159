"""ImapSource against a real dovecot: cursors, UIDVALIDITY, settling, IDLE and reconnecting."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.transports.imap import ImapSource, parse_cursor, parse_ref
from mailbot.transports.source import (
    FetchedMail,
    MailSource,
    TransportAuthError,
    TransportConnectionError,
    TransportProtocolError,
)
from tests.servers import DEFAULT_PASSWORD, DovecotServer, free_port

pytestmark = pytest.mark.integration

SourceFactory = Callable[..., ImapSource]


def make_mail(subject: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "iro@example.test"
    msg["To"] = "iro-escalations@example.test"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@example.test>"
    msg.set_content("Please respond by Friday.\n")
    return msg.as_bytes(policy=email.policy.SMTP)


def subjects(mails: list[FetchedMail] | list[bytes]) -> list[str]:
    raws = [m.raw if isinstance(m, FetchedMail) else m for m in mails]
    return [str(email.message_from_bytes(raw)["Subject"]) for raw in raws]


class Naps:
    """An injected sleep that records instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def naps() -> Naps:
    return Naps()


@pytest.fixture
def make_source(dovecot: DovecotServer, naps: Naps) -> Iterator[SourceFactory]:
    made: list[ImapSource] = []

    def factory(user: str, *, server: DovecotServer | None = None, **kwargs: object) -> ImapSource:
        server = server or dovecot
        kwargs.setdefault("password", DEFAULT_PASSWORD)
        kwargs.setdefault("security", "none")
        kwargs.setdefault("timeout", 5)
        source = ImapSource(server.host, server.imap_port, user, sleep=naps, **kwargs)  # type: ignore[arg-type]
        made.append(source)
        return source

    yield factory
    for source in made:
        source.close()


@pytest.fixture
def private() -> Iterator[DovecotServer]:
    """A dovecot of the test's own, for restarts and refused logins (which would slow the shared one)."""
    with DovecotServer({"box@example.test": DEFAULT_PASSWORD}) as server:
        yield server


# ---- fetch ---------------------------------------------------------------------------------------------


def test_fetch_returns_everything_then_only_mail_after_the_cursor(
    dovecot: DovecotServer, mailbox_user: str, make_source: SourceFactory
) -> None:
    for n in range(3):
        dovecot.append(mailbox_user, make_mail(f"first {n}"))
    source = make_source(mailbox_user)
    assert isinstance(source, MailSource)
    assert source.key == f"imap:{mailbox_user}@{dovecot.host}/INBOX"
    first = list(source.fetch(None))
    assert subjects(first) == ["first 0", "first 1", "first 2"]
    cursors = [parse_cursor(m.cursor) for m in first]
    assert all(c is not None for c in cursors)
    validity = {c[0] for c in cursors if c}
    assert len(validity) == 1
    uids = [c[1] for c in cursors if c]
    assert uids == sorted(uids) and len(set(uids)) == 3
    assert [parse_ref(m.ref) for m in first] == [("INBOX", c[0], c[1]) for c in cursors if c]

    for n in range(2):
        dovecot.append(mailbox_user, make_mail(f"second {n}"))
    assert subjects(list(source.fetch(first[-1].cursor))) == ["second 0", "second 1"]
    # fetching does not mark mail as read (BODY.PEEK)
    client = dovecot.imap(mailbox_user)
    try:
        client.select_folder("INBOX", readonly=True)
        assert client.search("SEEN") == []
    finally:
        client.logout()


def test_cursor_at_the_highest_uid_returns_nothing(
    dovecot: DovecotServer, mailbox_user: str, make_source: SourceFactory
) -> None:
    """`UID SEARCH UID n:*` answers with the highest UID even when it is below n: that one must not repeat."""
    dovecot.append(mailbox_user, make_mail("only"))
    source = make_source(mailbox_user)
    [only] = list(source.fetch(None))
    assert list(source.fetch(only.cursor)) == []
    validity, uid = parse_cursor(only.cursor) or (0, 0)
    assert list(source.fetch(f"{validity}:{uid + 100}")) == []


def test_limit_and_resume(dovecot: DovecotServer, mailbox_user: str, make_source: SourceFactory) -> None:
    for n in range(5):
        dovecot.append(mailbox_user, make_mail(f"m{n}"))
    source = make_source(mailbox_user)
    part = list(source.fetch(None, limit=2))
    rest = list(source.fetch(part[-1].cursor, limit=10))
    assert subjects(part) + subjects(rest) == [f"m{n}" for n in range(5)]


def test_more_than_one_fetch_batch(
    dovecot: DovecotServer, mailbox_user: str, make_source: SourceFactory
) -> None:
    client = dovecot.imap(mailbox_user)
    try:
        client.multiappend("INBOX", [make_mail(f"bulk {n}") for n in range(120)])
    finally:
        client.logout()
    fetched = list(make_source(mailbox_user).fetch(None, limit=500))
    assert subjects(fetched) == [f"bulk {n}" for n in range(120)]


def test_another_uidvalidity_fetches_everything_again(
    dovecot: DovecotServer, mailbox_user: str, make_source: SourceFactory
) -> None:
    dovecot.append(mailbox_user, make_mail("a"))
    dovecot.append(mailbox_user, make_mail("b"))
    source = make_source(mailbox_user)
    fetched = list(source.fetch(None))
    validity, uid = parse_cursor(fetched[-1].cursor) or (0, 0)
    assert subjects(list(source.fetch(f"{validity + 1}:{uid}"))) == ["a", "b"]
    assert subjects(list(source.fetch("not a cursor"))) == ["a", "b"]


def test_a_recreated_folder_is_read_from_the_start(
    dovecot: DovecotServer, mailbox_user: str, make_source: SourceFactory
) -> None:
    dovecot.append(mailbox_user, make_mail("old 1"), folder="Escalations")
    dovecot.append(mailbox_user, make_mail("old 2"), folder="Escalations")
    source = make_source(mailbox_user, folder="Escalations")
    [_, last] = list(source.fetch(None))
    client = dovecot.imap(mailbox_user)
    try:
        client.delete_folder("Escalations")
    finally:
        client.logout()
    dovecot.append(mailbox_user, make_mail("new 1"), folder="Escalations")
    again = list(source.fetch(last.cursor))
    assert subjects(again) == ["new 1"]
    assert parse_cursor(again[0].cursor) != parse_cursor(last.cursor)
    assert (parse_cursor(again[0].cursor) or (0, 0))[0] != (parse_cursor(last.cursor) or (0, 0))[0]


def test_a_missing_folder_is_a_protocol_error(mailbox_user: str, make_source: SourceFactory) -> None:
    source = make_source(mailbox_user, folder="Nowhere")
    with pytest.raises(TransportProtocolError, match="cannot open folder 'Nowhere'"):
        list(source.fetch(None))


# ---- settle --------------------------------------------------------------------------------------------


def flags_in(dovecot: DovecotServer, user: str, folder: str) -> list[set[bytes]]:
    client = dovecot.imap(user)
    try:
        client.select_folder(folder, readonly=True)
        data = client.get_flags(sorted(client.search("ALL")))
        return [set(flags) - {b"\\Recent"} for _uid, flags in sorted(data.items())]
    finally:
        client.logout()


@pytest.mark.parametrize("move", [True, False], ids=["MOVE", "COPY+EXPUNGE"])
def test_settle_moves_into_processed_and_attention_folders(
    dovecot: DovecotServer, mailbox_user: str, make_source: SourceFactory, move: bool
) -> None:
    for subject in ("done", "odd", "left"):
        dovecot.append(mailbox_user, make_mail(subject))
    source = make_source(mailbox_user, processed_folder="Processed", attention_folder="Needs attention")
    done, odd, _left = list(source.fetch(None))
    if not move:  # a server without RFC 6851 MOVE
        client = source._client
        assert client is not None
        real = client.has_capability
        client.has_capability = lambda cap: cap != "MOVE" and real(cap)  # type: ignore[method-assign]
    source.settle(done.ref, "processed")
    source.settle(odd.ref, "attention")
    assert subjects(dovecot.messages(mailbox_user)) == ["left"]
    assert dovecot.messages(mailbox_user, "Processed") == [done.raw]
    assert dovecot.messages(mailbox_user, "Needs attention") == [odd.raw]
    assert flags_in(dovecot, mailbox_user, "Processed") == [{b"\\Seen"}]
    assert flags_in(dovecot, mailbox_user, "Needs attention") == [{b"\\Flagged"}]  # left unread for a person


def test_settle_without_folders_only_flags(
    dovecot: DovecotServer, mailbox_user: str, make_source: SourceFactory
) -> None:
    dovecot.append(mailbox_user, make_mail("done"))
    dovecot.append(mailbox_user, make_mail("odd"))
    source = make_source(mailbox_user)
    done, odd = list(source.fetch(None))
    source.settle(done.ref, "processed")
    source.settle(odd.ref, "attention")
    assert subjects(dovecot.messages(mailbox_user)) == ["done", "odd"]
    assert flags_in(dovecot, mailbox_user, "INBOX") == [{b"\\Seen"}, {b"\\Seen", b"\\Flagged"}]
    with pytest.raises(ValueError, match="outcome must be one of"):
        source.settle(done.ref, "deleted")


def test_settle_of_a_stale_uidvalidity_is_left_alone(
    dovecot: DovecotServer, mailbox_user: str, make_source: SourceFactory
) -> None:
    dovecot.append(mailbox_user, make_mail("x"))
    source = make_source(mailbox_user, processed_folder="Processed")
    [mail] = list(source.fetch(None))
    folder, validity, uid = parse_ref(mail.ref)
    source.settle(f"{folder}/{validity + 1}/{uid}", "processed")
    assert subjects(dovecot.messages(mailbox_user)) == ["x"]


# ---- wait / IDLE ---------------------------------------------------------------------------------------


def test_wait_returns_true_when_another_connection_appends(
    dovecot: DovecotServer, mailbox_user: str, make_source: SourceFactory
) -> None:
    source = make_source(mailbox_user)
    assert list(source.fetch(None)) == []
    timer = threading.Timer(0.2, dovecot.append, args=(mailbox_user, make_mail("pushed")))
    started = time.monotonic()
    timer.start()
    try:
        assert source.wait(5) is True
    finally:
        timer.join()
    assert time.monotonic() - started < 2
    assert subjects(list(source.fetch(None))) == ["pushed"]


def test_wait_times_out_without_mail_and_sees_mail_that_came_before_it(
    dovecot: DovecotServer, mailbox_user: str, make_source: SourceFactory
) -> None:
    source = make_source(mailbox_user)
    assert list(source.fetch(None)) == []
    started = time.monotonic()
    assert source.wait(0.3) is False
    assert 0.25 <= time.monotonic() - started < 2
    dovecot.append(mailbox_user, make_mail("meanwhile"))
    started = time.monotonic()
    assert source.wait(5) is True  # arrived between fetch and wait: no need to sit in IDLE
    assert time.monotonic() - started < 1
    assert subjects(list(source.fetch(None))) == ["meanwhile"]
    assert source.wait(0.1) is False


def test_wait_is_true_while_a_limited_fetch_left_mail_behind(
    dovecot: DovecotServer, mailbox_user: str, make_source: SourceFactory
) -> None:
    for n in range(3):
        dovecot.append(mailbox_user, make_mail(f"m{n}"))
    source = make_source(mailbox_user)
    [first] = list(source.fetch(None, limit=1))
    assert source.wait(5) is True
    assert subjects(list(source.fetch(first.cursor))) == ["m1", "m2"]
    assert source.wait(0.1) is False


def test_idle_is_reissued_every_idle_refresh(
    dovecot: DovecotServer, mailbox_user: str, make_source: SourceFactory
) -> None:
    source = make_source(mailbox_user, idle_refresh=0.1)
    list(source.fetch(None))
    client = source._client
    assert client is not None
    calls: list[float] = []
    real_idle = client.idle

    def counting_idle() -> object:
        calls.append(time.monotonic())
        return real_idle()

    client.idle = counting_idle  # type: ignore[method-assign]
    assert source.wait(0.45) is False
    assert len(calls) >= 3


def test_tcp_nodelay_is_set(mailbox_user: str, make_source: SourceFactory) -> None:
    source = make_source(mailbox_user)
    list(source.fetch(None))
    assert source._client is not None
    assert source._client.socket().getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


# ---- broken connections ------------------------------------------------------------------------------


def kill_socket(source: ImapSource) -> None:
    assert source._client is not None
    source._client.socket().shutdown(socket.SHUT_RDWR)


def test_a_killed_socket_is_recovered_by_the_next_fetch(
    dovecot: DovecotServer, mailbox_user: str, make_source: SourceFactory
) -> None:
    dovecot.append(mailbox_user, make_mail("before"))
    source = make_source(mailbox_user)
    [before] = list(source.fetch(None))
    kill_socket(source)
    dovecot.append(mailbox_user, make_mail("after"))
    assert subjects(list(source.fetch(before.cursor))) == ["after"]


def test_a_killed_socket_during_idle_is_recovered_by_wait(
    dovecot: DovecotServer, mailbox_user: str, make_source: SourceFactory, naps: Naps
) -> None:
    dovecot.append(mailbox_user, make_mail("before"))
    source = make_source(mailbox_user)
    [before] = list(source.fetch(None))
    threading.Timer(0.2, kill_socket, args=(source,)).start()
    started = time.monotonic()
    assert source.wait(5) is True  # so the caller catches up
    assert time.monotonic() - started < 2
    assert naps.calls == []  # the server was there: reconnected at once
    dovecot.append(mailbox_user, make_mail("after"))
    assert subjects(list(source.fetch(before.cursor))) == ["after"]


def test_a_restarted_server_loses_no_mail_and_duplicates_none(
    private: DovecotServer, make_source: SourceFactory
) -> None:
    user = "box@example.test"
    private.append(user, make_mail("one"))
    source = make_source(user, server=private)
    seen = list(source.fetch(None))
    threading.Timer(0.2, private.restart).start()
    assert source.wait(5) is True
    private.append(user, make_mail("two"))
    seen += list(source.fetch(seen[-1].cursor))
    private.restart()  # and once more while nobody waits
    private.append(user, make_mail("three"))
    seen += list(source.fetch(seen[-1].cursor))
    assert subjects(seen) == ["one", "two", "three"]


def test_reconnect_backs_off_while_the_server_is_down(
    private: DovecotServer, make_source: SourceFactory, naps: Naps
) -> None:
    user = "box@example.test"
    source = make_source(user, server=private, max_backoff=4)
    list(source.fetch(None))
    private._kill()  # down, ports kept
    for _ in range(5):
        assert source.wait(0) is True
    assert naps.calls == [1, 2, 4, 4, 4]
    with pytest.raises(TransportConnectionError, match="cannot connect to the IMAP server") as caught:
        list(source.fetch(None))
    assert DEFAULT_PASSWORD not in str(caught.value)
    private.restart()
    private.append(user, make_mail("back"))
    assert source.wait(0) is True
    assert naps.calls == [1, 2, 4, 4, 4]  # connected at the first try
    assert subjects(list(source.fetch(None))) == ["back"]


def test_a_good_connection_resets_the_back_off(private: DovecotServer, make_source: SourceFactory,
                                                naps: Naps) -> None:
    user = "box@example.test"
    source = make_source(user, server=private, max_backoff=60)
    list(source.fetch(None))
    private._kill()
    for _ in range(3):
        assert source.wait(0) is True
    assert naps.calls == [1, 2, 4]
    private.restart()
    list(source.fetch(None))  # reconnected by a fetch, not by wait
    private._kill()
    assert source.wait(0) is True
    assert naps.calls == [1, 2, 4, 1]  # a brief outage after a long one costs a second, not a minute
    private.restart()


def test_a_very_long_outage_keeps_backing_off_at_the_cap(private: DovecotServer, make_source: SourceFactory,
                                                         naps: Naps) -> None:
    """After a thousand failed tries (17 hours at a minute each) the next delay is still the cap: 2.0 ** 1024 would
    overflow a float and stop the watcher."""
    user = "box@example.test"
    source = make_source(user, server=private, max_backoff=60)
    list(source.fetch(None))
    private._kill()
    source._failures = 5000
    assert source.wait(0) is True
    assert naps.calls == [60]
    private.restart()


def test_mail_recorded_but_never_settled_is_handed_out_again_on_the_next_start(
    dovecot: DovecotServer, mailbox_user: str, make_source: SourceFactory
) -> None:
    for n in range(3):
        dovecot.append(mailbox_user, make_mail(f"m {n}"))
    before = make_source(mailbox_user, processed_folder="Processed")
    first = list(before.fetch(None))
    before.settle(first[0].ref, "processed")  # the service recorded all three, settled one, and was killed
    restarted = make_source(mailbox_user, processed_folder="Processed")
    again = list(restarted.fetch(first[-1].cursor))
    assert subjects(again) == ["m 1", "m 2"]
    assert {m.cursor for m in again} == {first[-1].cursor}  # the cursor never goes back
    assert list(restarted.fetch(first[-1].cursor)) == []  # looked for once, at the start
    dovecot.append(mailbox_user, make_mail("new"))
    assert subjects(list(restarted.fetch(first[-1].cursor))) == ["new"]


# ---- errors in plain words -------------------------------------------------------------------------------


def test_wrong_password_is_an_auth_error_without_the_password(
    private: DovecotServer, make_source: SourceFactory
) -> None:
    source = make_source("box@example.test", server=private, password="hunter2-wrong")
    with pytest.raises(TransportAuthError, match=r"refused the login for box@example\.test") as caught:
        list(source.fetch(None))
    assert "hunter2" not in str(caught.value)


def test_xoauth2_token_is_asked_for_and_a_refusal_is_an_auth_error(
    private: DovecotServer, make_source: SourceFactory
) -> None:
    tokens: list[str] = []

    def provider() -> str:
        tokens.append("tok-very-secret")
        return tokens[-1]

    source = make_source("box@example.test", server=private, password=None, oauth2_token_provider=provider)
    with pytest.raises(TransportAuthError, match="check the user name and OAuth token") as caught:
        list(source.fetch(None))
    assert tokens == ["tok-very-secret"]
    assert "tok-very-secret" not in str(caught.value)


def test_nobody_listening_is_a_connection_error(make_source: SourceFactory) -> None:
    source = ImapSource("127.0.0.1", free_port(), "x@example.test", password="pw", security="none", timeout=2)
    with pytest.raises(TransportConnectionError, match=r"cannot connect to the IMAP server 127\.0\.0\.1:\d+"):
        list(source.fetch(None))


def test_starttls_not_offered_is_a_protocol_error(dovecot: DovecotServer, mailbox_user: str) -> None:
    source = ImapSource(dovecot.host, dovecot.imap_port, mailbox_user, password="pw", security="starttls")
    with pytest.raises(TransportProtocolError, match="does not offer STARTTLS"):
        list(source.fetch(None))


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="security must be one of"):
        ImapSource("h", 1, "u", password="p", security="ssl")
    with pytest.raises(ValueError, match="password or an oauth2_token_provider"):
        ImapSource("h", 1, "u")


# ---- cursors and references (pure) -----------------------------------------------------------------------


@given(validity=st.integers(1, 2**32 - 1), uid=st.integers(0, 2**32 - 1))
def test_cursor_round_trip(validity: int, uid: int) -> None:
    assert parse_cursor(f"{validity}:{uid}") == (validity, uid)


@given(st.text(min_size=1, max_size=30), st.integers(1, 2**32 - 1), st.integers(1, 2**32 - 1))
def test_ref_round_trip_even_with_slashes_in_the_folder(folder: str, validity: int, uid: int) -> None:
    assert parse_ref(f"{folder}/{validity}/{uid}") == (folder, validity, uid)


@pytest.mark.parametrize("cursor", [None, "", "abc", "12", "12:", ":5", "1:2:3", "-1:5"])
def test_foreign_cursors_mean_start_over(cursor: str | None) -> None:
    assert parse_cursor(cursor) is None


def test_a_bad_ref_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not an IMAP mail reference"):
        parse_ref("maildir-key")
