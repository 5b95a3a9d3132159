"""Matching: an escalation that arrives as RE:/FW: and talk about escalations, on a real SQLite store.

An IRO's RE:/FW: of an escalation the bot never saw (she forgot to copy the mailbox, or re-sent it) opens the
record; from anyone else it is refused and kept for attention (and so from everyone when the directory lists no
IROs: a manager's answer has the same subject); one for a case already open threads onto that record; a team update
or training mail that talks about "Level 2" opens nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.config import Config
from mailbot.mail_in.ingest import Ingestor
from mailbot.mail_in.matching import match
from mailbot.mail_in.reading import read
from store.models import Event, Message
from store.uow import Store
from tests.botsetup import Clock, directory_people, directory_table, example_config, migrated_store
from tests.mailfactory import BOT, IRO, QA, SM, TM, Thread, outlook_escalation

START = datetime(2026, 12, 1, 9, 15, tzinfo=UTC)  # Tuesday
SUBJECT = "Action – level one escalation for Sam & Alex Jones (LCS 123456) – resp by 9th Dec"


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    """The example council whose directory lists Jane as an IRO: only she opens records."""
    iro = {"email": IRO, "name": "Jane Reviewer", "role": "IRO"}
    return example_config(tmp_path, directory=directory_table(people=directory_people(iro)))


def _unseen_thread(seed: str) -> Thread:
    """A conversation whose first mail (the IRO's to the manager) never reached the bot."""
    thread = Thread(SUBJECT, seed=seed)
    thread.ids.append(f"<{seed}-original@example.test>")
    thread.replies = 1
    return thread


def _reply_from(sender: str, subject: str, *, seed: str, to: str = TM, cc: tuple[str, ...] = (QA, BOT)) -> bytes:
    return outlook_escalation(_unseen_thread(seed), subject=subject, when=START, sender=sender, to=to, cc=cc)


def test_an_iros_reply_to_her_own_escalation_opens_it(bot: Ingestor, store: Store) -> None:
    result = bot.ingest(_reply_from(IRO, f"RE: {SUBJECT}", seed="re"))
    assert (result.outcome, result.how) == ("opened", "new"), result
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(result.reference)
        assert esc.iro_email == IRO
        assert esc.children == ["Sam Jones", "Alex Jones"]
        assert esc.case_numbers == [{"number": "123456", "system": "liquidlogic"}]
        assert esc.current_level == 1
        assert esc.current_stage.due_on == date(2026, 12, 9)
        assert esc.current_stage.addressee_email == TM


def test_an_iros_forward_to_the_mailbox_opens_it(bot: Ingestor, store: Store) -> None:
    subject = "FW: Action - Level 1 escalation - Jane Doe - MOSAIC 654321 - response by Monday"
    result = bot.ingest(_reply_from(IRO, subject, seed="fw", to=BOT, cc=()))
    assert result.outcome == "opened", result
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(result.reference)
        assert esc.children == ["Jane Doe"]
        assert esc.current_stage.due_on == date(2026, 12, 7)  # "by Monday", read on Tuesday 1 December


def test_a_managers_reply_to_an_unseen_escalation_is_refused_and_kept_for_attention(
    bot: Ingestor, store: Store
) -> None:
    result = bot.ingest(_reply_from(TM, f"RE: {SUBJECT}", seed="tm", to=IRO, cc=(SM, BOT)))
    assert (result.outcome, result.reference) == ("refused", None), result
    assert result.needs_attention
    with store.unit_of_work() as uow:
        assert uow.escalations.list() == []
        kinds = [e.kind for e in uow.session.scalars(select(Event))]
        assert "open_refused" in kinds
        assert [m.state for m in uow.session.scalars(select(Message))] == ["attention"]


def test_an_iros_reply_for_a_case_already_open_threads_onto_that_record(bot: Ingestor, store: Store) -> None:
    first = bot.ingest(outlook_escalation(Thread(SUBJECT, seed="first"), subject=SUBJECT, when=START))
    assert first.outcome == "opened"
    again = bot.ingest(_reply_from(IRO, f"RE: {SUBJECT}", seed="again"))
    assert (again.outcome, again.reference, again.how) == ("threaded", first.reference, "subject")
    with store.unit_of_work() as uow:
        assert len(uow.escalations.list()) == 1


@pytest.mark.parametrize(
    "subject",
    [
        "RE: Level 1 escalation training slides",
        "FW: Weekly IRO team update - escalations open at Level 2",
        "RE: Level 2 escalations – monthly figures",
    ],
)
def test_talk_about_escalations_from_the_iro_opens_nothing(bot: Ingestor, store: Store, config: Config,
                                                           subject: str) -> None:
    raw = _reply_from(IRO, subject, seed=subject)
    with store.unit_of_work() as uow:
        assert match(uow, read(raw, START, config)).how == "none"
    result = bot.ingest(raw)
    assert (result.outcome, result.reference) == ("unmatched", None), result
    with store.unit_of_work() as uow:
        assert uow.escalations.list() == []


@pytest.mark.parametrize("sender", [TM, IRO])
def test_without_a_list_of_iros_a_reply_opens_nothing(tmp_path: Path, sender: str) -> None:
    # any of the council's staff may open a record by a new escalation mail when the directory lists no IROs, but
    # a RE: is as often the manager's answer to an escalation the bot never saw: refused and kept for attention
    config = example_config(tmp_path, directory=directory_table())
    store = migrated_store(config, Clock(START))
    try:
        bot = Ingestor(store, config, Clock(START))
        result = bot.ingest(_reply_from(sender, f"RE: {SUBJECT}", seed=f"unlisted-{sender}", to=SM))
        assert (result.outcome, result.reference) == ("refused", None), result
        assert "only from an IRO the directory lists" in result.reason
        fresh = bot.ingest(outlook_escalation(Thread(SUBJECT, seed=f"fresh-{sender}"), subject=SUBJECT, when=START,
                                              sender=sender))
        assert fresh.outcome == "opened"  # the escalation itself still opens, as before
    finally:
        store.dispose()
