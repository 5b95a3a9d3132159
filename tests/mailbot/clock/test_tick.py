"""The tick: decisions carried out against a real SQLite store — chasers, escalation, notices, once each."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailbot.clock.tick import Ticker, record_state
from mailbot.config import Config
from mailbot.mail_in.ingest import Ingestor
from store.uow import Store
from tests.botsetup import Clock, at, directory_table, example_config
from tests.mailfactory import BOT, IRO, QA, SM, TM, Thread, exchange_out_of_office, outlook_escalation, outlook_reply

SUBJECT = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
OPENED = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)  # Tuesday


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    """The example council with Tom's line up to Hana (:func:`tests.botsetup.directory_people`)."""
    return example_config(tmp_path, directory=directory_table())


@pytest.fixture()
def ticker(store: Store, config: Config) -> Ticker:
    return Ticker(store, config)


def outbox(store: Store) -> list[tuple[str, str, list[str], list[str], str]]:
    with store.unit_of_work() as uow:
        rows = uow.outbox.pending(datetime(2100, 1, 1, tzinfo=UTC))
        return [(r.kind, r.key, r.to_emails, r.cc_emails, r.subject) for r in rows]


def kinds(store: Store) -> list[str]:
    return [row[0] for row in outbox(store)]


def open_escalation(bot: Ingestor, thread: Thread, subject: str = SUBJECT) -> str:
    result = bot.ingest(outlook_escalation(thread, subject=subject, when=OPENED))
    assert result.outcome == "opened"
    return result.reference or ""


def tick_days(ticker: Ticker, clock: Clock, moments: list[datetime]) -> list[tuple[datetime, str, str]]:
    seen = []
    for moment in moments:
        clock.now = moment
        seen += [(moment, i.kind, i.key) for i in ticker.tick(moment)]
    return seen


def test_two_chasers_then_escalation_to_the_service_manager(bot: Ingestor, ticker: Ticker, store: Store,
                                                            clock: Clock) -> None:
    ref = open_escalation(bot, Thread(SUBJECT))
    assert kinds(store) == []  # everything was in the subject: no acknowledgement
    # due Tuesday 1 December: chasers Friday 27 November (-2) and on the day; escalation Wednesday 2 December
    moments = [at(d, m, h) for d, m in ((25, 11), (26, 11), (27, 11), (30, 11), (1, 12), (2, 12), (3, 12))
               for h in (8, 10, 15, 18)]
    done = tick_days(ticker, clock, moments)
    assert [(w.date().isoformat(), w.hour, k) for w, k, _ in done] == [
        ("2026-11-27", 10, "chase"),
        ("2026-12-01", 10, "chase"),
        ("2026-12-02", 10, "escalate"),
    ]
    rows = outbox(store)
    assert [r[0] for r in rows] == ["chaser", "chaser", "escalation"]
    chaser = rows[0]
    assert chaser[2] == [TM] and set(chaser[3]) == {IRO, QA, SM}  # Dorset's Level 1 copies the Service Manager
    assert chaser[4].startswith(f"[{ref}] Reminder: Level 1 escalation")
    escalation = rows[2]
    assert escalation[2] == [SM]
    assert set(escalation[3]) >= {QA, IRO, TM}
    assert escalation[4] == (f"[{ref}] Action - Level 2 escalation - Jane Doe - MOSAIC 123456 - "
                             "response by 08/12/2026")  # Wednesday 2nd is day 1 of 5: Tuesday 8th
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc.current_level == 2
        stage = esc.current_stage
        assert (stage.addressee_email, str(stage.due_on), stage.due_source) == (SM, "2026-12-08", "policy")
        [mail] = [r for r in uow.outbox.for_escalation(esc) if r.kind == "escalation"]
        assert "The history so far" in mail.body_text and "care plan has not been signed off" in mail.body_text
        assert mail.headers["Auto-Submitted"] == "auto-generated"
        assert mail.headers["In-Reply-To"].strip("<>") == esc.messages[0].message_id or mail.headers["In-Reply-To"]


def test_ticking_again_at_the_same_moment_does_nothing(bot: Ingestor, ticker: Ticker, store: Store,
                                                       clock: Clock) -> None:
    open_escalation(bot, Thread(SUBJECT))
    clock.now = at(27, 11)
    assert [i.kind for i in ticker.tick(clock.now)] == ["chase"]
    assert ticker.tick(clock.now) == []
    assert ticker.tick(at(27, 11, 16)) == []
    assert kinds(store) == ["chaser"]


def test_dry_run_changes_nothing(bot: Ingestor, ticker: Ticker, store: Store, clock: Clock) -> None:
    ref = open_escalation(bot, Thread(SUBJECT))
    items = ticker.tick(at(2, 12), dry_run=True)
    assert [i.kind for i in items] == ["escalate"]
    assert kinds(store) == []
    with store.unit_of_work() as uow:
        assert uow.escalations.get(ref).current_level == 1


def test_a_response_stops_the_clock_and_the_iro_is_asked(bot: Ingestor, ticker: Ticker, store: Store,
                                                         clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = open_escalation(bot, thread)
    clock.now = at(25, 11)
    bot.ingest(outlook_reply(thread, sender=TM, to=[IRO], cc=[QA, BOT], text="Plan to panel on Thursday.",
                             when=clock.now))
    # two working days of IRO silence after Wednesday 25th: Friday 27th
    done = tick_days(ticker, clock, [at(d, m) for d, m in ((26, 11), (27, 11), (30, 11), (1, 12), (2, 12))])
    assert [(w.day, k) for w, k, _ in done] == [(27, "ask_iro")]
    [row] = outbox(store)
    assert row[0] == "ask_iro" and row[2] == [IRO]
    with store.unit_of_work() as uow:
        mail = uow.outbox.for_escalation(uow.escalations.get(ref))[0]
        assert "Plan to panel on Thursday." in mail.body_text and "Resolved" in mail.body_text


def test_an_out_of_office_does_not_stop_the_clock(bot: Ingestor, ticker: Ticker, store: Store,
                                                  clock: Clock) -> None:
    thread = Thread(SUBJECT)
    open_escalation(bot, thread)
    bot.ingest(exchange_out_of_office(thread, sender=TM, when=at(24, 11, 10)))
    done = tick_days(ticker, clock, [at(27, 11), at(1, 12), at(2, 12)])
    assert [k for _, k, _ in done] == ["chase", "chase", "escalate"]


def test_extension_request_tells_the_iro_with_the_command(bot: Ingestor, ticker: Ticker, store: Store,
                                                          clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = open_escalation(bot, thread)
    clock.now = at(25, 11)
    bot.ingest(outlook_reply(thread, sender=TM, to=[IRO], cc=[BOT],
                             text="Could I have until Friday 4th December please? The panel meets on the 3rd.",
                             when=clock.now))
    items = ticker.tick(at(25, 11, 11))
    assert [i.kind for i in items] == ["extension_requested"]
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        state = record_state(uow, esc)
        assert state.extension_request is not None
        [mail] = uow.outbox.for_escalation(esc)
        assert "Extend to 04/12/2026" in mail.body_text and mail.to_emails == [IRO]
    # the IRO agrees with the one line: the request is answered and the due date moves
    clock.now = at(25, 11, 14)
    bot.ingest(outlook_reply(thread, sender=IRO, to=[TM], cc=[BOT], text="Extend to 04/12/2026", when=clock.now))
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert str(esc.current_stage.due_on) == "2026-12-04"
        assert record_state(uow, esc).extension_request is None


def test_the_earlier_managers_reply_does_not_stop_the_next_levels_clock(bot: Ingestor, ticker: Ticker,
                                                                       store: Store, clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = open_escalation(bot, thread)
    tick_days(ticker, clock, [at(2, 12)])  # escalated to Sara, due Tuesday 8 December
    clock.now = at(2, 12, 14)
    bot.ingest(outlook_reply(thread, sender=TM, to=[IRO], cc=[BOT, SM], text="Sorry, I was off. Sara has it now.",
                             when=clock.now))
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc.current_stage.responded_at is None
        assert uow.events.for_escalation(esc)[-1].data == {"level": 2, "from_earlier_level": True}
    assert [k for _, k, _ in tick_days(ticker, clock, [at(4, 12), at(8, 12)])] == ["chase", "chase"]
    clock.now = at(8, 12, 15)
    bot.ingest(outlook_reply(thread, sender=SM, to=[IRO], cc=[BOT], text="Plan agreed at panel.", when=clock.now))
    with store.unit_of_work() as uow:
        assert uow.escalations.get(ref).current_stage.responded_at == clock.now
