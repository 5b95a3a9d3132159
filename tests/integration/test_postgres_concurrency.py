"""Several replicas on one PostgreSQL store: ingest, tick and delivery race each other and still act once.

Each test gets a fresh database (``postgres_url``). Every worker is a thread with its own :class:`Store` (its
own engine and connection pool), as a separate replica would have; a :class:`threading.Barrier` starts them
together so their transactions overlap. The ingest race also runs on a SQLite file for comparison.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, inspect, select

from mailbot.clock.tick import Ticker, TickItem
from mailbot.config import Config
from mailbot.mail_in.ingest import Ingestor, IngestResult
from mailbot.mail_out.delivery import Deliverer, DeliveryReport
from mailbot.transports.sender import Refused
from store import migrate
from store.models import Escalation, Event, Message, OutboxMail, Stage
from store.uow import Store
from tests.botsetup import Clock, directory_table, example_config
from tests.mailfactory import BOT, IRO, QA, TM, Thread, exchange_out_of_office, outlook_escalation, postfix_bounce

pytestmark = pytest.mark.integration

WORKERS = 4
OPENED = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)  # a Tuesday; Nov-Mar London = UTC
T = TypeVar("T")


def at(day: int, month: int = 11, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)



def make_config(tmp_path: Path, url: str) -> Config:
    return example_config(tmp_path, store={"url": url}, directory=directory_table())


def run_together(count: int, work: Callable[[int, threading.Barrier], T]) -> list[T]:
    """Run ``work(i, barrier)`` in ``count`` threads at once; any exception in a worker fails the test."""
    barrier = threading.Barrier(count, timeout=30)
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(work, i, barrier) for i in range(count)]
        return [f.result(timeout=120) for f in futures]


@pytest.fixture
def stores() -> Iterator[Callable[[str], Store]]:
    """Make Stores (one per replica) and dispose of them all after the test."""
    made: list[Store] = []

    def make(url: str) -> Store:
        store = Store(url, clock=Clock(OPENED))
        made.append(store)
        return store

    yield make
    for store in made:
        store.dispose()


def count(store: Store, model: type[Any], *where: Any) -> int:
    with store.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def ingest_failures(caplog: pytest.LogCaptureFixture) -> str:
    """The tracebacks the ingest logged while keeping a mail for attention (for the assertion message)."""
    found = []
    for record in caplog.records:
        if record.name == "mailbot.mail_in.ingest" and record.exc_info:
            found.append("".join(traceback.format_exception(*record.exc_info)))
    return "\n".join(found[:2]) + (f"\n... and {len(found) - 2} more" if len(found) > 2 else "")


# ---- 1. migrations ---------------------------------------------------------------------------------------


def test_upgrade_brings_an_empty_database_to_head_and_again_is_a_no_op(postgres_url: str,
                                                                       stores: Callable[[str], Store]) -> None:
    store = stores(postgres_url)
    assert store.current_revision() is None
    store.upgrade()
    assert store.current_revision() == migrate.head()
    tables = set(inspect(store.engine).get_table_names())
    assert {"escalations", "stages", "messages", "events", "outbox", "cursors", "alembic_version"} <= tables
    columns = {c["name"]: c for c in inspect(store.engine).get_columns("outbox")}
    assert "attachments" in columns and not columns["attachments"]["nullable"]
    assert getattr(columns["created_at"]["type"], "timezone", False) is True  # timestamptz, not naive

    store.upgrade()  # a second replica starting up
    assert store.current_revision() == migrate.head()
    with store.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Escalation)) == 0


# ---- 2. ingest -------------------------------------------------------------------------------------------

NAMES = ("Jane Doe", "Amir Khan", "Lily Evans", "Noah Smith", "Ava Jones", "Leo Brown", "Mia Wilson", "Oscar Green",
         "Isla Taylor", "Jack White", "Zara Ahmed", "Finn Walker", "Ruby Hall", "Theo Wright", "Ella Moore",
         "Max Clarke")


def realistic_mails() -> tuple[list[bytes], int]:
    """20 mails: 16 escalations (some without a date, which queues an acknowledgement), 2 out-of-office
    replies and 2 bounces. Returns (mails, number of escalation mails)."""
    mails: list[bytes] = []
    threads = []
    for n, name in enumerate(NAMES):
        dated = n % 4 != 0
        subject = f"Action - Level 1 escalation - {name} - MOSAIC {300100 + n}" + (
            " - response by 01/12/2026" if dated else "")
        thread = Thread(subject, seed=f"race-{n}")
        mails.append(outlook_escalation(thread, subject=subject, when=OPENED))
        threads.append(thread)
    mails.append(exchange_out_of_office(threads[1], sender=TM, when=at(24, 11, 10)))
    mails.append(exchange_out_of_office(threads[2], sender=TM, when=at(24, 11, 11)))
    mails.append(postfix_bounce(threads[3], failed=TM, when=at(24, 11, 10)))
    mails.append(postfix_bounce(threads[5], failed=TM, when=at(24, 11, 11)))
    return mails, len(NAMES)


def race_ingest(url: str, tmp_path: Path, stores: Callable[[str], Store]) -> tuple[Store, list[list[IngestResult]]]:
    stores(url).upgrade()
    config = make_config(tmp_path, url)
    mails, _ = realistic_mails()

    def work(i: int, barrier: threading.Barrier) -> list[IngestResult]:
        bot = Ingestor(stores(url), config, Clock(OPENED))
        order = list(range(len(mails)))
        random.Random(i).shuffle(order)
        if i == 0:
            order.sort()  # one replica in the mailbox's own order
        barrier.wait()
        return [bot.ingest(mails[k]) for k in order]

    return stores(url), run_together(WORKERS, work)


def check_ingested_once(store: Store, results: list[list[IngestResult]], caplog: pytest.LogCaptureFixture, *,
                        known_race: bool = False) -> None:
    mails, escalation_mails = realistic_mails()
    with store.unit_of_work() as uow:
        identities = list(uow.session.scalars(select(Message.identity).where(Message.direction == "in")))
        escalations = list(uow.session.scalars(select(Escalation)))
        stages = Counter(uow.session.scalars(select(Stage.escalation_id)))
        opened = Counter(uow.session.scalars(select(Event.escalation_id).where(Event.kind == "opened")))
        acks = list(uow.session.scalars(select(OutboxMail.key).where(OutboxMail.kind == "acknowledgement")))
        aways = list(uow.session.scalars(select(OutboxMail.key).where(OutboxMail.kind == "away")))
        bot_copies = uow.session.scalar(select(func.count()).select_from(Message).where(Message.direction == "out"))
        attention = list(uow.session.scalars(select(Message.attention_reason).where(Message.state == "attention")))
    assert len(identities) == len(mails) and len(set(identities)) == len(mails)
    assert len(escalations) == escalation_mails
    assert len({(tuple(e.children), e.subject) for e in escalations}) == escalation_mails
    assert all(stages[e.id] == 1 and opened[e.id] == 1 for e in escalations), (stages, opened)
    assert len(acks) == len(set(acks)) == escalation_mails // 4  # the undated ones, once each
    # Tom's automatic replies (back after the due date) tell the IRO once per record, whoever read them first (an
    # automatic reply read before its escalation matches no record yet, so there are at most two)
    assert len(aways) == len(set(aways)) <= 2
    assert bot_copies == len(acks) + len(aways)
    assert attention == []

    by_mail: dict[str, Counter[str]] = {}
    for worker in results:
        assert len(worker) == len(mails)
        for result in worker:
            by_mail.setdefault(result.identity, Counter())[result.outcome] += 1
    assert len(by_mail) == len(mails)
    for identity, outcomes in by_mail.items():
        winners = sum(n for outcome, n in outcomes.items() if outcome not in ("duplicate", "attention"))
        assert winners == 1, f"{identity}: {dict(outcomes)}"
    lost = Counter(r.reason for w in results for r in w if r.outcome == "attention")
    if lost:
        message = f"lost races reported as attention, not duplicate: {dict(lost)}\n{ingest_failures(caplog)}"
        if not known_race or set(lost) != {"IntegrityError"}:
            pytest.fail(message)
        pytest.fail(INGEST_RACE + "\n" + message)


INGEST_RACE = (
    "a race (fixed: a lost unique-key race is a duplicate): two replicas ingesting the same mail "
    "both pass the get_by_identity check; the loser's INSERT waits for the winner and fails on uq_messages_identity "
    "(IntegrityError). Ingestor.ingest catches it as an unexpected error: logs a traceback at ERROR and returns "
    "outcome='attention', so poll() settles the mail at the source as 'attention' (flagged / moved to the "
    "attention folder) although the store has it as processed. Fix: on IntegrityError, if the identity is now "
    "recorded, return outcome='duplicate'."
)


def test_replicas_ingest_the_same_mails_once_each_on_postgres(postgres_url: str, tmp_path: Path,
                                                              stores: Callable[[str], Store],
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mailbot.mail_in.ingest")
    store, results = race_ingest(postgres_url, tmp_path, stores)
    check_ingested_once(store, results, caplog, known_race=True)


def test_replicas_ingest_the_same_mails_once_each_on_sqlite(tmp_path: Path, stores: Callable[[str], Store],
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mailbot.mail_in.ingest")
    store, results = race_ingest(f"sqlite:///{tmp_path / 'race.db'}", tmp_path, stores)
    check_ingested_once(store, results, caplog)


# ---- 3. tick ---------------------------------------------------------------------------------------------

RECORDS = 6
TICK_RACE = (
    "a race (fixed: _tick_one locks the record FOR UPDATE): Ticker._tick_one reads the record "
    "without a row lock, so on PostgreSQL (READ COMMITTED) tickers that start together all decide the same "
    "actions; the outbox and action_done keys absorb the repeated mails, but the losers either fail on the bot's "
    "message copy (uq_messages_identity, queue_mail inserts it outside a SAVEPOINT) or, for an escalation, commit "
    "a second level-2 stage and 'escalated' event. Fix: lock the record (SELECT ... FOR UPDATE) in _tick_one."
)
# due Tuesday 1 December: chasers Friday 27 November (-2) and on the day; escalation Wednesday 2 December
TICKS = (at(25), at(27), at(27, hour=15), at(1, 12), at(2, 12), at(2, 12, 15))


def test_replicas_ticking_at_the_same_moment_act_once(postgres_url: str, tmp_path: Path,
                                                      stores: Callable[[str], Store],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mailbot.clock.tick")
    config = make_config(tmp_path, postgres_url)
    first = stores(postgres_url)
    first.upgrade()
    bot = Ingestor(first, config, Clock(OPENED))
    for n in range(RECORDS):
        subject = f"Action - Level 1 escalation - {NAMES[n]} - MOSAIC {300200 + n} - response by 01/12/2026"
        assert bot.ingest(outlook_escalation(Thread(subject, seed=f"tick-{n}"), subject=subject,
                                             when=OPENED)).outcome == "opened"
    clocks = [Clock(OPENED) for _ in range(WORKERS)]
    tickers = []
    for clock in clocks:
        store = stores(postgres_url)
        store.clock = clock
        tickers.append(Ticker(store, config))

    done: list[TickItem] = []
    for moment in TICKS:
        def work(i: int, barrier: threading.Barrier, moment: datetime = moment) -> list[TickItem]:
            clocks[i].now = moment
            barrier.wait()
            return tickers[i].tick(moment)

        for items in run_together(WORKERS, work):
            done += items

    errors = [i for i in done if i.kind == "error"]
    actions = Counter((i.reference, i.key) for i in done if i.kind != "error")
    with first.unit_of_work() as uow:
        outbox = Counter((row.escalation_id, row.kind) for row in uow.session.scalars(select(OutboxMail)))
        outbox_keys = list(uow.session.scalars(select(OutboxMail.key)))
        done_keys = Counter(uow.session.scalars(select(Event.key).where(Event.kind == "action_done")))
        escalated = Counter(uow.session.scalars(select(Event.escalation_id).where(Event.kind == "escalated")))
        stages = Counter((s.escalation_id, s.level) for s in uow.session.scalars(select(Stage)))
        levels = {e.id: e.current_level for e in uow.session.scalars(select(Escalation))}
        copies = uow.session.scalar(select(func.count()).select_from(Message).where(Message.direction == "out"))

    # what must hold: every mail and every action key exactly once, the record at level 2 with one level-1 stage
    assert len(levels) == RECORDS
    for esc_id, level in levels.items():
        assert level == 2
        assert outbox[(esc_id, "chaser")] == 2, outbox
        assert outbox[(esc_id, "escalation")] == 1, outbox
        assert stages[(esc_id, 1)] == 1 and stages[(esc_id, 2)] >= 1, stages
    assert len(outbox_keys) == len(set(outbox_keys)) == 3 * RECORDS
    assert copies == len(outbox_keys)
    assert done_keys and all(n == 1 for n in done_keys.values()), done_keys
    assert len(actions) == 3 * RECORDS  # distinct (record, action key) pairs: 2 chasers and 1 escalation each

    # what must hold too: one escalation per record and no tick errors (see TICK_RACE)
    findings = []
    doubled = {esc_id: n for esc_id, n in escalated.items() if n != 1}
    if doubled or any(stages[(esc_id, 2)] != 1 for esc_id in levels):
        findings.append(f"records escalated more than once (escalated events per record {doubled}, "
                        f"level-2 stages {[stages[(e, 2)] for e in levels]})")
    repeated = [key for key, n in actions.items() if n > 1]
    if repeated:
        findings.append(f"actions reported by more than one ticker: {repeated[:3]}")
    if errors:
        tracebacks = ["".join(traceback.format_exception(*r.exc_info))
                      for r in caplog.records if r.name == "mailbot.clock.tick" and r.exc_info]
        findings.append(f"{len(errors)} tick errors ({sorted({e.detail for e in errors})}), the first:\n"
                        + (tracebacks[0] if tracebacks else "?"))
    if findings:
        pytest.fail(TICK_RACE + "\n" + "\n".join(findings))


# ---- 4. delivery -----------------------------------------------------------------------------------------


class RecordingSender:
    """An in-memory MailSender shared by every deliverer: counts each Message-ID it is handed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: Counter[str] = Counter()

    def open(self) -> None:
        pass

    def send(self, msg: EmailMessage, recipients: Sequence[str]) -> Refused:
        time.sleep(0.002)  # a little like a server: lets the other deliverers catch up
        with self.lock:
            self.sent[str(msg["Message-ID"])] += 1
        return {}

    def close(self) -> None:
        pass


MAILS = 30


def test_replicas_delivering_the_same_outbox_send_each_mail_once(postgres_url: str,
                                                                 stores: Callable[[str], Store]) -> None:
    first = stores(postgres_url)
    first.upgrade()
    with first.unit_of_work() as uow:
        for n in range(MAILS):
            uow.outbox.add(key=f"race.{n}", message_id=f"<race-{n}@example.test>", kind="chaser", from_email=BOT,
                           to_emails=[TM], cc_emails=[IRO, QA], subject=f"Reminder {n}", body_text="Please reply.",
                           created_at=OPENED)
    sender = RecordingSender()
    now = at(25)

    def work(i: int, barrier: threading.Barrier) -> DeliveryReport:
        deliverer = Deliverer(stores(postgres_url), sender, clock=lambda: now,
                              allows=lambda a: a.endswith("@example.test"))
        barrier.wait()
        return deliverer.deliver_pending(limit=100)

    reports = run_together(WORKERS, work)

    assert sorted(sender.sent) == sorted(f"<race-{n}@example.test>" for n in range(MAILS))
    assert all(n == 1 for n in sender.sent.values()), {k: n for k, n in sender.sent.items() if n > 1}
    sent = [key for report in reports for key in report.sent]
    assert sorted(sent) == sorted(f"race.{n}" for n in range(MAILS))
    assert all(r.server_error is None and not r.failed and not r.retrying for r in reports)
    with first.unit_of_work() as uow:
        rows = list(uow.session.scalars(select(OutboxMail)))
    assert {(r.status, r.attempts) for r in rows} == {("sent", 1)}
    assert all(r.sent_at == now for r in rows)
    assert count(first, OutboxMail, OutboxMail.status == "pending") == 0
