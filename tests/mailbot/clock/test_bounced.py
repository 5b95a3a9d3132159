"""A bounce of the bot's own mail is acted on (issue 13): the IRO and QA are told once, naming the address and why;
the record stops writing to it; a manager who bounced is asked for again by the one-line forward; the digest lists
the bounce under the mail that needs attention."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from mailbot.clock.tick import Ticker
from mailbot.mail_in.ingest import Ingestor
from mailbot.mail_out.digest import build_digest
from tests.botsetup import Clock, at, directory_table, example_config, migrated_store
from tests.mailfactory import BOT, IRO, QA, TM, Thread, outlook_escalation, outlook_reply, postfix_bounce

SUBJECT = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
OTHER_TM = "tina.manager@example.test"


def test_a_bounced_chaser_tells_the_iro_once_stops_the_address_and_asks_who_instead(tmp_path: Path) -> None:
    config = example_config(tmp_path, directory=directory_table())
    clock = Clock(at(24, 11, 9, 15))
    store = migrated_store(config, clock)
    try:
        bot, ticker, thread = Ingestor(store, config, clock), Ticker(store, config), Thread(SUBJECT)
        opened = bot.ingest(outlook_escalation(thread, subject=SUBJECT, when=clock.now, to=TM, cc=(QA, BOT)))
        ref = opened.reference
        clock.now = at(27, 11, 10)
        assert [i.kind for i in ticker.tick(clock.now)] == ["chase"]  # two working days before 1 December
        with store.unit_of_work() as uow:
            [chaser] = [r for r in uow.outbox.for_escalation(uow.escalations.get(ref)) if r.kind == "chaser"]
            thread.ids.append(f"<{chaser.message_id}>")
        clock.now = at(27, 11, 10, 5)
        bounce = bot.ingest(postfix_bounce(thread, failed=TM, when=clock.now))
        assert bounce.reference == ref
        again = bot.ingest(postfix_bounce(thread, failed=TM, when=clock.now, seed="bounce-2"))  # a second report
        assert again.reference == ref
        with store.unit_of_work() as uow:
            esc = uow.escalations.get(ref)
            notices = [r for r in uow.outbox.for_escalation(esc) if r.kind == "bounced"]
            assert [(r.to_emails, r.cc_emails) for r in notices] == [([IRO], [QA])]  # once, naming the address
            assert TM in notices[0].body_text and "5.1.1" in notices[0].body_text
            assert "forward your escalation" in notices[0].body_text
            assert esc.current_stage.addressee_email is None and esc.facts["undeliverable"] == [TM]
            figures = build_digest(uow, config, "week", at(30, 11, 8))
            assert any(ref in (a.reason or "") and TM in (a.reason or "") for a in figures.attention_oldest)
        clock.now = at(1, 12, 10)  # the due date: nobody to remind, so the IRO is asked; never the dead address
        ticker.tick(clock.now)
        with store.unit_of_work() as uow:
            rows = uow.outbox.for_escalation(uow.escalations.get(ref))
            later = [r for r in rows if r.created_at >= at(1, 12, 10)]
            assert later and all(TM not in (*r.to_emails, *r.cc_emails) for r in later)
            assert [r.kind for r in later] == ["chaser_nobody"]
        clock.now = at(1, 12, 11)  # the IRO forwards it to the right Team Manager: chased from then on
        named = bot.ingest(outlook_reply(thread, sender=IRO, to=[OTHER_TM], cc=[BOT, QA], when=clock.now,
                                         text="Tina, this is yours now - please reply to all."))
        assert named.outcome == "threaded"
        with store.unit_of_work() as uow:
            assert uow.escalations.get(ref).current_stage.addressee_email == OTHER_TM
    finally:
        store.dispose()


def test_a_bounce_of_a_mail_the_bot_did_not_send_changes_nothing(tmp_path: Path) -> None:
    config = example_config(tmp_path, directory=directory_table())
    clock = Clock(datetime(2026, 11, 24, 9, 15, tzinfo=UTC))
    store = migrated_store(config, clock)
    try:
        bot, thread = Ingestor(store, config, clock), Thread(SUBJECT)
        ref = bot.ingest(outlook_escalation(thread, subject=SUBJECT, when=clock.now, to=TM, cc=(QA, BOT))).reference
        bot.ingest(postfix_bounce(thread, failed="someone@example.test", when=clock.now))  # the IRO's own mail
        with store.unit_of_work() as uow:
            esc = uow.escalations.get(ref)
            assert "undeliverable" not in (esc.facts or {})
            assert [r for r in uow.outbox.for_escalation(esc) if r.kind == "bounced"] == []
    finally:
        store.dispose()
