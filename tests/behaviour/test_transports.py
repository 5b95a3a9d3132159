"""One behaviour suite, run once per transport: the same mails in, the same decisions, the same mails out.

Each *world* is a mailbox the bot watches and a way out for its mail, on one transport:

- ``maildir`` — MaildirSource and MaildirSender in temporary folders;
- ``imap`` — a real dovecot (the bot's own user) and the aiosmtpd sink (``integration``: starts servers);
- ``graph`` — the fake Exchange Online mailbox of ``tests/fakes/graph.py`` on respx, through GraphClient;
- ``ews`` — the fake Exchange Server of ``tests/fakes/exchange.py``, through exchangelib.

The service is the real :class:`~mailbot.app.App` on a SQLite store with a fake clock; only the world
differs. What is asserted is what people would see: the record's timeline, its outcome, and the mails sent.
"""

from __future__ import annotations

import mailbox
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, getaddresses
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from exchangelib.protocol import close_connections

from mailbot.app import App
from mailbot.cli.views import escalation_detail
from mailbot.config import Config
from mailbot.mail_in.ingest import IngestResult
from mailbot.transports.ews import EwsSender, EwsSource
from mailbot.transports.graph import GraphClient, GraphSender, GraphSource
from mailbot.transports.imap import ImapSource
from mailbot.transports.maildir import MaildirSender, MaildirSource
from mailbot.transports.sender import MailSender
from mailbot.transports.settings import GraphSettings
from mailbot.transports.smtp import SmtpSender
from mailbot.transports.source import MailSource
from store.models import Message
from store.uow import Store
from tests.botsetup import Clock, directory_table, example_config
from tests.fakes.exchange import FakeExchange, account, record_sleeps, serve
from tests.fakes.graph import FakeGraph
from tests.mailbot.transports import graph_payloads as gp
from tests.mailfactory import (
    BOT,
    IRO,
    QA,
    SM,
    TM,
    Thread,
    exchange_out_of_office,
    outlook_escalation,
    outlook_reply,
    plain_reply,
    postfix_bounce,
)
from tests.servers import DEFAULT_PASSWORD, DovecotServer, SmtpServer

SUBJECT = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
OPENED = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)  # a Tuesday; Nov–Mar London is UTC


def at(day: int, month: int = 11, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def parse(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=default_policy)  # type: ignore[return-value]


# ---- the worlds ------------------------------------------------------------------------------------------------


class World(Protocol):
    name: str

    def deliver(self, raw: bytes) -> None:
        """Put a mail into the folder the bot watches."""
        ...

    def source(self) -> MailSource:
        """A new source on that folder (a new one is what a restarted process would make)."""
        ...

    def sender(self) -> MailSender: ...

    def sent(self) -> list[EmailMessage]:
        """What the bot sent, oldest first."""
        ...


class Opened:
    """Keeps every source a world made, so the fixture closes them (IMAP connections, HTTP clients)."""

    def __init__(self) -> None:
        self.opened: list[MailSource] = []

    def keep(self, source: MailSource) -> MailSource:
        self.opened.append(source)
        return source

    def close(self) -> None:
        for source in self.opened:
            source.close()


class MaildirWorld(Opened):
    name = "maildir"

    def __init__(self, tmp_path: Path) -> None:
        super().__init__()
        self.inbox = tmp_path / "mailbox"
        self.outbox = tmp_path / "sent"
        self._delivery = mailbox.Maildir(self.inbox, factory=None, create=True)

    def deliver(self, raw: bytes) -> None:
        self._delivery.add(raw)  # as a delivery agent would: a file in new/

    def source(self) -> MailSource:
        return self.keep(MaildirSource(self.inbox))

    def sender(self) -> MailSender:
        return MaildirSender(self.outbox)

    def sent(self) -> list[EmailMessage]:
        if not (self.outbox / "new").exists():
            return []
        box = mailbox.Maildir(self.outbox, factory=None, create=False)

        def written(key: str) -> tuple[int, ...]:  # "<seconds>.M<microseconds>P<pid>Q<counter>.<host>"
            match = re.match(r"^(\d+)\.M(\d+)P\d+Q(\d+)\.", key)
            assert match, key
            return tuple(int(g) for g in match.groups())

        return [parse(box.get_bytes(key)) for key in sorted(box.keys(), key=written)]


class ImapWorld(Opened):
    """The bot's own dovecot user; its mail goes out through the SMTP sink (which delivers into dovecot)."""

    name = "imap"

    def __init__(self, server: DovecotServer, sink: SmtpServer) -> None:
        super().__init__()
        self.dovecot, self.smtp = server, sink
        self.user = server.add_user(f"bot-{uuid.uuid4().hex[:12]}@example.test", DEFAULT_PASSWORD)
        self._since = len(sink.received)

    def deliver(self, raw: bytes) -> None:
        self.dovecot.append(self.user, raw)

    def source(self) -> MailSource:
        return self.keep(ImapSource(self.dovecot.host, self.dovecot.imap_port, self.user, DEFAULT_PASSWORD,
                                    security="none", processed_folder="Processed", attention_folder="Attention",
                                    timeout=10))

    def sender(self) -> MailSender:
        return SmtpSender(self.smtp.host, self.smtp.port, "none", timeout=10)

    def sent(self) -> list[EmailMessage]:
        return [parse(m.raw) for m in self.smtp.received[self._since:] if m.mail_from == BOT]


class FakeTokens:
    def token(self, scopes: tuple[str, ...] = (), *, refresh: bool = False) -> str:
        return "token-1"


class GraphWorld(Opened):
    name = "graph"

    def __init__(self, fake: FakeGraph) -> None:
        super().__init__()
        self.fake = fake
        self.settings = GraphSettings(tenant_id=gp.TENANT, client_id=gp.CLIENT, user=gp.USER,
                                      client_secret_env="UNUSED")
        self.processed_folder: str | None = "Processed"

    def _client(self) -> GraphClient:
        return GraphClient(self.settings, FakeTokens(), http=httpx.Client(), sleep=lambda _s: None)

    def deliver(self, raw: bytes) -> None:
        self.fake.deliver(raw)

    def source(self) -> MailSource:
        return self.keep(GraphSource(self._client(), processed_folder=self.processed_folder, page_size=2))

    def sender(self) -> MailSender:
        return GraphSender(self._client())

    def sent(self) -> list[EmailMessage]:
        return [parse(raw) for raw in self.fake.sent]

    def force_resync(self, after: int = 0) -> None:
        self.fake.force_resync(after)


class EwsWorld(Opened):
    name = "ews"

    def __init__(self, fake: FakeExchange) -> None:
        super().__init__()
        self.fake = fake

    def deliver(self, raw: bytes) -> None:
        self.fake.deliver(raw)

    def source(self) -> MailSource:
        return self.keep(EwsSource(account(), processed_folder="Processed", sleep=lambda _s: None))

    def sender(self) -> MailSender:
        return EwsSender(account())

    def sent(self) -> list[EmailMessage]:
        return [parse(raw) for raw in self.fake.sent_mime()]


@pytest.fixture(params=["maildir", pytest.param("imap", marks=pytest.mark.integration), "graph", "ews"])
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    made: MaildirWorld | ImapWorld | GraphWorld | EwsWorld
    if request.param == "maildir":
        made = MaildirWorld(tmp_path)
    elif request.param == "imap":  # the servers start only for this world
        made = ImapWorld(request.getfixturevalue("dovecot"), request.getfixturevalue("smtp"))
    elif request.param == "graph":
        fake = FakeGraph(page_size=2)  # small pages: every round has a nextLink
        with fake.mock():
            made = GraphWorld(fake)
            try:
                yield made
            finally:
                made.close()
        return
    else:
        made = EwsWorld(serve(FakeExchange(max_changes=2), monkeypatch))  # two changes a page: several pages
        record_sleeps(monkeypatch)
    try:
        yield made
    finally:
        made.close()
        if isinstance(made, EwsWorld):
            close_connections()


# ---- the service -----------------------------------------------------------------------------------------------


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    return example_config(tmp_path, mailbox={"address": BOT, "maildir": "unused-in"},
                          mail_out={"maildir": "unused-out"}, directory=directory_table())


def service(world: World, config: Config, store: Store, clock: Clock) -> App:
    """The bot as a (re)started process: a new source and sender on the same store."""
    return App(config, store=store, source=world.source(), sender=world.sender(), clock=clock)


def inbound(store: Store) -> list[str]:
    with store.unit_of_work() as uow:
        return sorted(uow.session.scalars(Message.__table__.select().with_only_columns(Message.identity)
                                          .where(Message.direction == "in")))


def details(store: Store) -> list[dict[str, Any]]:
    with store.unit_of_work() as uow:
        return [escalation_detail(uow, esc) for esc in uow.escalations.list()]


def mails_in(detail: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["mail"]["message_id"], e["mail"]["kind"]) for e in detail["timeline"]
            if "mail" in e and e["mail"]["direction"] == "in"]


def message_id(raw: bytes) -> str:
    return str(parse(raw)["Message-ID"]).strip().strip("<>")


def outcomes(results: list[IngestResult]) -> list[str]:
    return [r.outcome for r in results]


def addresses(value: object) -> list[str]:
    return [addr.lower() for _, addr in getaddresses([str(value or "")]) if addr]


# ---- 1. a whole conversation, read twice -----------------------------------------------------------------------


def test_a_conversation_is_recorded_once_in_order(world: World, config: Config, store: Store, clock: Clock) -> None:
    thread = Thread(SUBJECT, seed=f"conversation-{world.name}")
    mails = [
        outlook_escalation(thread, subject=SUBJECT, when=OPENED),
        outlook_reply(thread, sender=TM, to=[IRO], cc=[QA, BOT], text="The plan goes to panel on Thursday.",
                      when=at(24, 11, 11)),
        plain_reply(thread, sender=IRO, to=[TM], cc=[BOT], text="Thank you Tom, I will wait for the panel.",
                    when=at(24, 11, 12), references=False),  # no References: threaded by its Thread-Index
        exchange_out_of_office(thread, sender=TM, when=at(24, 11, 13)),
        postfix_bounce(thread, failed=SM, when=at(24, 11, 14)),
    ]
    for raw in mails:
        world.deliver(raw)
    clock.now = at(24, 11, 15)
    bot = service(world, config, store, clock)

    results = bot.poll_once()

    assert [r.kind for r in results] == ["human", "human", "human", "auto_reply", "bounce"]
    assert outcomes(results)[0] == "opened" and "duplicate" not in outcomes(results)
    [record] = details(store)
    expected = [(message_id(raw), kind) for raw, kind in
                zip(mails, ["human", "human", "human", "auto_reply", "bounce"], strict=True)]
    assert mails_in(record) == expected

    again = bot.poll_once()

    assert set(outcomes(again)) <= {"duplicate"}
    assert details(store) == [record]
    assert len(inbound(store)) == 5


# ---- 2. a crash after fetching, before recording -----------------------------------------------------------------


def test_a_crash_after_fetching_loses_and_duplicates_nothing(world: World, config: Config, store: Store,
                                                             clock: Clock) -> None:
    thread = Thread(SUBJECT, seed=f"crash-{world.name}")
    escalation = outlook_escalation(thread, subject=SUBJECT, when=OPENED)
    world.deliver(escalation)
    assert outcomes(service(world, config, store, clock).poll_once()) == ["opened"]

    clock.now = at(25, 11, 9)
    reply = outlook_reply(thread, sender=TM, to=[IRO], cc=[QA, BOT], text="The plan goes to panel on Thursday.",
                          when=clock.now)
    world.deliver(reply)
    crashed = world.source()
    with store.unit_of_work() as uow:
        cursor = uow.cursors.get(crashed.key)
    fetched = list(crashed.fetch(cursor))  # ... and the process dies before the transaction
    assert message_id(reply) in [message_id(m.raw) for m in fetched]
    crashed.close()

    restarted = service(world, config, store, clock)
    results = restarted.poll_once()

    assert [r.identity for r in results if r.outcome != "duplicate"] == [message_id(reply)]
    assert outcomes(service(world, config, store, clock).poll_once()) in ([], ["duplicate"], ["duplicate"] * 2)
    assert inbound(store) == sorted([message_id(escalation), message_id(reply)])
    [record] = details(store)
    assert [mid for mid, _ in mails_in(record)] == [message_id(escalation), message_id(reply)]


# ---- 3. the lifecycle: chasers, escalation, reply, resolved -------------------------------------------------------

# what every transport must send, in order: (X-IRO-Mailbot-Key, To)
EXPECTED_SENT = [
    ("ESC-0001.L1.chase.-2@2026-12-01", [TM]),  # two working days before the due date
    ("ESC-0001.L1.chase.0@2026-12-01", [TM]),  # on the day
    ("ESC-0001.L1.escalate", [SM]),  # the day after: Level 2, to the service manager
    ("ESC-0001.closed", [TM, SM]),  # resolved: the closure notice to the managers who took part
]


def reply_to(original: EmailMessage, *, sender: str, to: list[str], cc: list[str], text: str,
             when: datetime, seed: str) -> bytes:
    """A reply-all from Outlook to ``original``: In-Reply-To its Message-ID, References extended."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Cc"] = ", ".join(cc)
    subject = str(original["Subject"])
    msg["Subject"] = subject if subject.lower().startswith("re:") else f"RE: {subject}"
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<{seed}@example.test>"
    msg["In-Reply-To"] = str(original["Message-ID"])
    msg["References"] = " ".join(filter(None, [str(original.get("References") or ""), str(original["Message-ID"])]))
    body = original.get_body(("plain",))
    quoted = "\n".join("> " + line for line in (body.get_content() if body else "").splitlines())
    msg.set_content(f"{text}\n\nOn {original['Date']}, {original['From']} wrote:\n{quoted}\n")
    return msg.as_bytes()


def test_lifecycle_chasers_escalation_and_resolution(world: World, config: Config, store: Store,
                                                     clock: Clock) -> None:
    world.deliver(outlook_escalation(Thread(SUBJECT, seed=f"life-{world.name}"), subject=SUBJECT, when=OPENED))
    bot = service(world, config, store, clock)
    assert outcomes(bot.poll_once()) == ["opened"]
    [record] = details(store)
    ref = record["reference"]

    # due Tuesday 1 December: chasers Friday 27 November and on the day, escalation Wednesday 2 December
    done = []
    for day, month in ((25, 11), (26, 11), (27, 11), (30, 11), (1, 12), (2, 12)):
        for hour in (8, 10, 15):
            clock.now = at(day, month, hour)
            done += [(clock.now, item.kind) for item in bot.tick()]
    assert done == [(at(27, 11), "chase"), (at(1, 12), "chase"), (at(2, 12), "escalate")]

    sent = world.sent()
    chasers, escalation = sent[:2], sent[2]
    assert [addresses(m["To"]) for m in chasers] == [[TM], [TM]]
    assert addresses(escalation["To"]) == [SM.lower()] and QA in addresses(escalation["Cc"])
    assert str(escalation["Subject"]) == (f"[{ref}] Action - Level 2 escalation - Jane Doe - MOSAIC 123456 - "
                                          "response by 08/12/2026")
    assert "The history so far" in escalation.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    # the service manager answers the escalation; the IRO is satisfied
    clock.now = at(3, 12, 11)
    answer = reply_to(escalation, sender=SM, to=[IRO], cc=[QA, TM, BOT], when=clock.now,
                      text="Jane, the review is booked for 6 December and I will chair it.", seed=f"sm-{world.name}")
    world.deliver(answer)
    clock.now = at(3, 12, 14)
    world.deliver(reply_to(parse(answer), sender=IRO, to=[SM], cc=[QA, BOT], when=clock.now,
                           text="Resolved – plan signed off", seed=f"iro-{world.name}"))
    assert outcomes(bot.poll_once()) == ["threaded", "threaded"]
    bot.send_pending()

    [record] = details(store)
    assert (record["status"], record["outcome"], record["outcome_text"]) == ("closed", "resolved", "plan signed off")
    sent = world.sent()
    ids = [str(m["Message-ID"]) for m in sent]
    assert len(ids) == len(set(ids))
    assert [(str(m["X-IRO-Mailbot-Key"]), addresses(m["To"])) for m in sent] == EXPECTED_SENT


# ---- 4. Graph: the delta token expires mid-round -------------------------------------------------------------------


def test_graph_410_mid_round_resyncs_without_duplicates(world: World, config: Config, store: Store,
                                                        clock: Clock) -> None:
    if not isinstance(world, GraphWorld):
        pytest.skip("a 410 on the delta query is Graph's own")
    world.processed_folder = None  # mail stays in the Inbox (marked read): a resync reads all of it again
    thread = Thread(SUBJECT, seed="graph-410")
    first = [outlook_escalation(thread, subject=SUBJECT, when=OPENED),
             outlook_reply(thread, sender=TM, to=[IRO], cc=[QA, BOT], text="Panel on Thursday.", when=at(24, 11, 11))]
    for raw in first:
        world.deliver(raw)
    assert outcomes(service(world, config, store, clock).poll_once()) == ["opened", "threaded"]

    later = [plain_reply(thread, sender=IRO, to=[TM], cc=[BOT], text=f"Noted ({n}).", when=at(24, 11, 12 + n))
             for n in range(3)]
    for raw in later:
        world.deliver(raw)
    world.force_resync(after=1)  # the round's first page is served, its nextLink answers 410
    clock.now = at(24, 11, 16)
    results = service(world, config, store, clock).poll_once()  # a restarted process, from the stored deltaLink
    assert world.fake.resyncs == 1

    new = [r.identity for r in results if r.outcome != "duplicate"]
    assert sorted(new) == sorted(message_id(raw) for raw in later)
    assert len(inbound(store)) == 5
    [record] = details(store)
    assert [mid for mid, _ in mails_in(record)] == [message_id(raw) for raw in first + later][:2] + new

    world.force_resync()  # the stored deltaLink expired too: the whole folder again, nothing new
    again = service(world, config, store, clock).poll_once()
    assert world.fake.resyncs == 2
    assert outcomes(again) == ["duplicate"] * 5
    assert len(inbound(store)) == 5
