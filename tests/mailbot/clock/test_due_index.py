"""A tick reads only the records whose moment has come (``escalations.next_due_at``, indexed). It must do exactly what
deciding every open record does: two bots with the same mail, one ticking by the index and one deciding every record
at every step, carry out the same actions at the same moments over a month and a half."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from mailbot.clock.tick import Ticker
from mailbot.mail_in.ingest import Ingestor
from store.models import NEVER_DUE, Escalation
from tests.botsetup import Clock, at, directory_table, example_config, migrated_store
from tests.mailfactory import BOT, IRO, QA, SM, TM, Thread, outlook_escalation, outlook_reply

SUBJECTS = (
    "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026",
    "Action - Level 2 escalation - Sam Roe - MOSAIC 654321",
    "Action - Informal escalation - Amy Poe - MOSAIC 111222",
)


def _world(tmp_path: Path, name: str) -> tuple[Ingestor, Ticker, Clock, list[Thread]]:
    folder = tmp_path / name
    folder.mkdir()
    config = example_config(folder, directory=directory_table())
    clock = Clock(at(24, 11, 9, 15))
    store = migrated_store(config, clock)
    bot = Ingestor(store, config, clock)
    threads = []
    for i, subject in enumerate(SUBJECTS):
        thread = Thread(subject, seed=f"t{i}")
        to = SM if "Level 2" in subject else TM
        assert bot.ingest(outlook_escalation(thread, subject=subject, when=clock.now, to=to, cc=(QA, BOT))).outcome \
            == "opened"
        threads.append(thread)
    return bot, Ticker(store, config), clock, threads


def test_ticking_by_the_index_does_what_deciding_every_record_does(tmp_path: Path) -> None:
    by_index, every = _world(tmp_path, "index"), _world(tmp_path, "every")
    # every day from Tuesday 24 November to New Year's Eve, just before, at and after the working window's edges
    moments = [at(day.day, day.month, hh, mm) if day.year == 2026 else None
               for day in (datetime(2026, 11, 24) + timedelta(days=n) for n in range(38))
               for hh, mm in ((8, 59), (9, 0), (12, 0), (16, 59), (17, 0))]
    done_index: list[tuple[datetime, str, str]] = []
    done_every: list[tuple[datetime, str, str]] = []
    looked_at = 0
    for moment in [m for m in moments if m is not None]:
        if moment == at(3, 12, 12, 0):  # the Level 2 manager answers one
            for bot, _, clock, threads in (by_index, every):
                clock.now = moment
                bot.ingest(outlook_reply(threads[1], sender=SM, to=[IRO], cc=[BOT, QA], when=moment,
                                         text="I have met the team: the plan will be signed off by Friday."))
        for (_bot, ticker, clock, _), done, all_records in ((by_index, done_index, False), (every, done_every, True)):
            clock.now = moment
            if not all_records:
                with ticker.store.unit_of_work() as uow:
                    looked_at += len(uow.escalations.due_references(moment))
            done += [(moment, i.reference, i.key) for i in ticker.tick(moment, every=all_records)]
    assert done_index == done_every
    assert {key.split(".")[1] for _, _, key in done_index} >= {"chase", "escalate"}
    steps = len([m for m in moments if m is not None])
    print(f"due index: {len(done_index)} actions; {looked_at} record looks by the index against "
          f"{steps * len(SUBJECTS)} when deciding every record at every step")
    assert looked_at < steps * len(SUBJECTS) / 4


def test_a_mail_makes_the_next_tick_look_again_and_a_closed_record_is_never_due(tmp_path: Path) -> None:
    bot, ticker, clock, threads = _world(tmp_path, "one")
    clock.now = at(24, 11, 10, 0)
    ticker.tick(clock.now)
    with ticker.store.unit_of_work() as uow:
        moments = {e.reference: e.next_due_at for e in uow.session.scalars(select(Escalation))}
        assert moments["ESC-0003"] == NEVER_DUE  # the informal step: nothing until the IRO moves it
        assert moments["ESC-0001"] == at(27, 11, 9, 0)  # Friday 27 November 09:00: the -2 reminder
        assert uow.escalations.due_references(at(26, 11, 17, 0)) == []
    clock.now = at(25, 11, 10, 0)
    bot.ingest(outlook_reply(threads[0], sender=TM, to=[IRO], cc=[BOT, QA], when=clock.now,
                             text="The plan will be signed off on Friday; I have booked the review."))
    with ticker.store.unit_of_work() as uow:
        assert uow.escalations.due_references(clock.now) == ["ESC-0001"]  # changed by a mail: worked out again
    ticker.tick(clock.now)
    with ticker.store.unit_of_work() as uow:  # answered: the IRO is asked "resolved or escalate?" two days on
        assert uow.escalations.get("ESC-0001").next_due_at == at(27, 11, 9, 0)
    bot.ingest(outlook_reply(threads[0], sender=IRO, to=[TM], cc=[BOT, QA], when=at(25, 11, 11, 0),
                             text="Resolved - the plan was signed off this morning."))
    ticker.tick(at(25, 11, 11, 5))
    with ticker.store.unit_of_work() as uow:
        assert "ESC-0001" not in uow.escalations.due_references(datetime(2030, 1, 1, tzinfo=UTC))
