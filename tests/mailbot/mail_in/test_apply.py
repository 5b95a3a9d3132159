"""The one escalation path seen from mail in: a new "Level N" mail and the IRO's "Escalate" both move a record
through Actions.escalate; who may give a command is asked of rules.authority — on a real SQLite store."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from mailbot.config import Config
from mailbot.mail_in.ingest import Ingestor
from store.uow import Store
from tests.botsetup import HOS, Clock, directory_table, example_config
from tests.mailfactory import BOT, IRO, QA, SM, TM, Thread, outlook_escalation, outlook_reply, plain_reply

SUBJECT = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
LEVEL2 = "Action - Level 2 escalation - Jane Doe - MOSAIC 123456 - response by 08/12/2026"
OPENED = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)  # Tuesday
MOVED = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # the next Monday


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    """The example council with Tom's line up to Hana (:func:`tests.botsetup.directory_people`)."""
    return example_config(tmp_path, directory=directory_table())


@pytest.fixture()
def escalate_calls(bot: Ingestor, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every call of Actions.escalate the mail makes (each still runs)."""
    calls: list[dict[str, Any]] = []
    actions = bot.applier.actions
    real = actions.escalate

    def spy(uow: Any, esc: Any, target: Any, now: datetime, **kw: Any) -> Any:
        calls.append({"to_level": target.number, "now": now, **kw})
        return real(uow, esc, target, now, **kw)

    monkeypatch.setattr(actions, "escalate", spy)
    return calls


def open_level_one(bot: Ingestor, thread: Thread) -> str:
    result = bot.ingest(outlook_escalation(thread, subject=SUBJECT, when=OPENED))
    assert result.outcome == "opened"
    return result.reference or ""


def outbox(store: Store, ref: str) -> list[tuple[str, list[str], list[str], str]]:
    with store.unit_of_work() as uow:
        return [(r.kind, r.to_emails, r.cc_emails, r.subject)
                for r in uow.outbox.for_escalation(uow.escalations.get(ref))]


def events(store: Store, ref: str, kind: str) -> list[tuple[str, dict[str, Any], str | None]]:
    with store.unit_of_work() as uow:
        return [(e.actor, e.data or {}, e.message.message_id if e.message else None)
                for e in uow.events.for_escalation(uow.escalations.get(ref)) if e.kind == kind]


def test_a_level_two_mail_to_the_service_manager_moves_the_record_and_sends_nothing(
        bot: Ingestor, store: Store, clock: Clock, escalate_calls: list[dict[str, Any]]) -> None:
    ref = open_level_one(bot, Thread(SUBJECT))
    clock.now = MOVED
    level2 = Thread(LEVEL2, seed="level2")
    result = bot.ingest(outlook_escalation(level2, subject=LEVEL2, when=MOVED, to=SM, cc=(QA, BOT)))
    assert (result.outcome, result.reference, result.how) == ("escalated", ref, "escalates")
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc.current_level == 2 and len(uow.escalations.list()) == 1
        assert [(s.level, s.outcome) for s in esc.stages] == [(1, "escalated"), (2, None)]
        stage = esc.current_stage
        assert (stage.role, stage.addressee_email, stage.addressee_name, stage.copied) == (
            "Service Manager", SM, "Sara Service", [QA])
        assert (stage.due_on, stage.due_source) == (date(2026, 12, 8), "subject")
    [(actor, data, mail)] = events(store, ref, "escalated")
    assert (actor, data["by"], data["from_level"], data["to_level"], data["addressee"]) == (IRO, "mail", 1, 2, SM)
    assert mail == level2.ids[0].strip("<>")
    assert outbox(store, ref) == []  # the IRO's own mail is the escalation
    [call] = escalate_calls
    assert (call["to_level"], call["by"], call["named"], call["now"]) == (2, "mail", (SM, "Sara Service"), MOVED)


def test_a_level_two_mail_to_the_mailbox_only_escalates_to_the_directorys_manager(
        bot: Ingestor, store: Store, clock: Clock, escalate_calls: list[dict[str, Any]]) -> None:
    ref = open_level_one(bot, Thread(SUBJECT))
    clock.now = MOVED
    level2 = Thread(LEVEL2, seed="level2")
    result = bot.ingest(outlook_escalation(level2, subject=LEVEL2, when=MOVED, to=BOT, cc=()))
    assert (result.outcome, result.reference) == ("escalated", ref)
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc.current_level == 2
        stage = esc.current_stage
        assert (stage.addressee_email, stage.due_on, stage.due_source) == (SM, date(2026, 12, 8), "subject")
    [(kind, to, cc, subject)] = outbox(store, ref)
    assert (kind, to) == ("escalation", [SM])
    assert set(cc) == {QA, IRO, TM, HOS}
    assert subject == f"[{ref}] Action - Level 2 escalation - Jane Doe - MOSAIC 123456 - response by 08/12/2026"
    [(actor, data, _)] = events(store, ref, "escalated")
    assert (actor, data["by"], data["addressee"]) == (IRO, "mail", SM)
    [call] = escalate_calls
    assert (call["by"], call["named"]) == ("mail", None)


def test_the_iros_escalate_command_takes_the_same_path(bot: Ingestor, store: Store, clock: Clock,
                                                       escalate_calls: list[dict[str, Any]]) -> None:
    thread = Thread(SUBJECT)
    ref = open_level_one(bot, thread)
    clock.now = MOVED
    result = bot.ingest(outlook_reply(thread, sender=IRO, to=[TM], cc=[BOT, QA], text="Escalate", when=MOVED))
    assert (result.outcome, result.reference) == ("threaded", ref)
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc.current_level == 2
        assert [(s.level, s.outcome) for s in esc.stages] == [(1, "escalated"), (2, None)]
        # no date in a command: the level's 5 working days from Monday 30th (Tuesday is day 1): Monday 7 December
        stage = esc.current_stage
        assert (stage.addressee_email, stage.due_on, stage.due_source) == (SM, date(2026, 12, 7), "policy")
    [(kind, to, cc, subject)] = outbox(store, ref)
    assert (kind, to) == ("escalation", [SM])
    assert set(cc) == {QA, IRO, TM, HOS}
    assert subject == f"[{ref}] Action - Level 2 escalation - Jane Doe - MOSAIC 123456 - response by 07/12/2026"
    [(actor, data, mail)] = events(store, ref, "escalated")
    assert (actor, data["by"], data["bypass"], data["addressee"]) == (IRO, "command", False, SM)
    assert mail == thread.ids[-1].strip("<>")
    [call] = escalate_calls
    assert (call["to_level"], call["by"], call["actor"]) == (2, "command", IRO)


def test_a_command_from_outside_the_councils_domains_is_refused(bot: Ingestor, store: Store, clock: Clock,
                                                                escalate_calls: list[dict[str, Any]]) -> None:
    thread = Thread(SUBJECT)
    ref = open_level_one(bot, thread)
    clock.now = MOVED
    outsider = "someone@gmail.com"
    result = bot.ingest(plain_reply(thread, sender=outsider, to=[IRO], cc=[BOT], text="Escalate", when=MOVED))
    assert (result.outcome, result.reference) == ("refused", ref)
    [(actor, data, _)] = events(store, ref, "command_refused")
    assert (actor, data) == (outsider, {"command": "escalate", "act": "escalate", "standing": "outsider",
                                        "reason": "sender outside the council's domains"})
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert (esc.status, esc.current_level, esc.current_stage.outcome) == ("open", 1, None)
        assert uow.events.for_escalation(esc)[-1].kind == "command_refused"
    assert events(store, ref, "escalated") == []
    # the IRO hears of it once, QA managers copied; nothing goes to the outsider
    assert outbox(store, ref) == [("refused", [IRO], [QA],
                                   "[ESC-0001] Not obeyed: a mail about Jane Doe - MOSAIC 123456")]
    assert escalate_calls == []
