"""Actions against a real SQLite store: the one escalation path (directory, named manager, gap, Cafcass), chasers,
the IRO's questions and the acknowledgement — each called directly, in the caller's unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from mailbot.clock.actions import Actions
from mailbot.clock.tick import Ticker
from mailbot.config import Config
from mailbot.mail_in.ingest import Ingestor
from rules.decide import Action, ActionKind, chase_key
from rules.policy import Level
from store.models import Escalation
from store.uow import Store
from tests.botsetup import HOS, Clock, at, directory_people, directory_table, example_config, migrated_store
from tests.mailfactory import BOT, IRO, QA, SM, TM, Thread, outlook_escalation, outlook_reply

SUBJECT = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
OPENED = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)  # Tuesday
DUE = date(2026, 12, 1)  # the Level 1 response date in SUBJECT


def make_config(tmp_path: Path, **directory: Any) -> Config:
    """The example council with Tom's line up to Hana (:func:`tests.botsetup.directory_people`); ``directory``
    replaces parts of the ``[directory]`` table."""
    return example_config(tmp_path, directory=directory_table(**directory))


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@contextmanager
def running(config: Config, clock: Clock) -> Iterator[tuple[Store, Ingestor]]:
    """A store and an ingestor for a config other than the module's (the test then asks for neither fixture)."""
    store = migrated_store(config, clock)
    try:
        yield store, Ingestor(store, config, clock)
    finally:
        store.dispose()


def actions_for(config: Config) -> Actions:
    return Actions(config, config.calendar.calendar())


def level(config: Config, number: int) -> Level:
    return next(lvl for lvl in config.policy.levels if lvl.number == number)


def outbox(store: Store) -> list[tuple[str, str, list[str], list[str], str]]:
    with store.unit_of_work() as uow:
        rows = uow.outbox.pending(datetime(2100, 1, 1, tzinfo=UTC))
        return [(r.kind, r.key, r.to_emails, r.cc_emails, r.subject) for r in rows]


def events(store: Store, ref: str, kind: str) -> list[dict[str, Any]]:
    with store.unit_of_work() as uow:
        return [e.data or {} for e in uow.events.for_escalation(uow.escalations.get(ref)) if e.kind == kind]


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


def chase_action(offset: int, due: date = DUE, addressee: str | None = TM) -> Action:
    return Action(ActionKind.CHASE, chase_key(1, offset, due), 1, due_on=due, offset=offset, addressee=addressee)


def current(store: Store, ref: str) -> Escalation:
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc is not None
        return esc


# ---- escalate: the directory's next manager ----------------------------------------------------------------


def test_escalate_through_the_directory_mails_the_next_manager_once(bot: Ingestor, store: Store,
                                                                    config: Config) -> None:
    ref = open_escalation(bot, Thread(SUBJECT))
    now = at(2, 12)  # Wednesday 2 December
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        stage = actions_for(config).escalate(uow, esc, level(config, 2), now, by="clock", actor="clock")
        assert stage is not None and stage.addressee_email == SM
        uow.commit()
    [row] = outbox(store)
    kind, key, to, cc, subject = row
    assert (kind, key, to) == ("escalation", f"{ref}.L1.to.L2", [SM])
    # 5 working days of the Service Manager's level from Wednesday 2nd: Thursday 3rd is day 1, Wednesday 9th day 5
    assert subject == f"[{ref}] Action - Level 2 escalation - Jane Doe - MOSAIC 123456 - response by 09/12/2026"
    assert subject.removeprefix(f"[{ref}] ") == (
        "Action - Level 2 escalation - Jane Doe - MOSAIC 123456 - response by 09/12/2026")
    # QA, the IRO and the previous manager copied (and the Head of Locality, the policy's copy role at Level 2)
    assert set(cc) == {QA, IRO, TM, HOS}
    assert SM not in cc
    [escalated] = events(store, ref, "escalated")
    assert escalated == {"from_level": 1, "to_level": 2, "by": "clock", "bypass": False, "due_on": "2026-12-09",
                         "addressee": SM}
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc.current_level == 2
        first, second = esc.stages
        assert (first.outcome, first.ended_at) == ("escalated", now)
        assert (second.level, second.role, second.addressee_email, second.addressee_name) == (
            2, "Service Manager", SM, "Sara Service")
        assert (second.due_on, second.due_source) == (date(2026, 12, 9), "policy")
        assert set(second.copied) == {QA, IRO, TM, HOS}
        [mail] = uow.outbox.for_escalation(esc)
        assert mail.body_text.startswith("Dear Sara Service,")
        assert "care plan has not been signed off" in mail.body_text


def test_escalate_keeps_the_due_date_the_caller_worked_out(bot: Ingestor, store: Store, config: Config) -> None:
    ref = open_escalation(bot, Thread(SUBJECT))
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        actions_for(config).escalate(uow, esc, level(config, 2), at(2, 12), by="clock", actor="clock",
                                     key="L1.escalate", due_on=date(2026, 12, 8))
        uow.commit()
    [(kind, key, _, _, subject)] = outbox(store)
    assert (kind, key) == ("escalation", f"{ref}.L1.escalate")
    assert subject.endswith("- response by 08/12/2026")
    with store.unit_of_work() as uow:
        stage = uow.escalations.get(ref).current_stage
        assert (stage.due_on, stage.due_source) == (date(2026, 12, 8), "policy")


def test_escalate_to_a_named_manager_records_the_stage_and_queues_nothing(bot: Ingestor, store: Store,
                                                                         config: Config) -> None:
    ref = open_escalation(bot, Thread(SUBJECT))
    now = at(2, 12)
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        actions_for(config).escalate(uow, esc, level(config, 2), now, by="mail", actor=IRO,
                                     named=(SM, "Sara Service"), copied=[QA, HOS], due_on=date(2026, 12, 8),
                                     due_source="subject")
        uow.commit()
    assert outbox(store) == []
    [escalated] = events(store, ref, "escalated")
    assert escalated == {"from_level": 1, "to_level": 2, "by": "mail", "bypass": False, "due_on": "2026-12-08",
                         "addressee": SM}
    assert events(store, ref, "directory_gap") == []
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc.current_level == 2
        assert [(s.level, s.outcome) for s in esc.stages] == [(1, "escalated"), (2, None)]
        stage = esc.current_stage
        assert (stage.addressee_email, stage.addressee_name, stage.copied) == (SM, "Sara Service", [QA, HOS])
        assert (stage.due_on, stage.due_source) == (date(2026, 12, 8), "subject")


# ---- escalate: a gap in the directory ----------------------------------------------------------------------


def test_a_role_the_directory_cannot_resolve_asks_the_iro_who(tmp_path: Path, clock: Clock) -> None:
    config = make_config(tmp_path, people=[
        {"email": TM, "name": "Tom Manager", "role": "Team Manager"},  # no reports_to: the line stops here
        {"email": SM, "name": "Sara Service", "role": "Service Manager"},
    ])
    with running(config, clock) as (store, bot):
        ref = open_escalation(bot, Thread(SUBJECT))
        with store.unit_of_work() as uow:
            esc = uow.escalations.get(ref)
            actions_for(config).escalate(uow, esc, level(config, 2), at(2, 12), by="clock", actor="clock")
            uow.commit()
        [(kind, key, to, cc, subject)] = outbox(store)
        assert (kind, key, to, cc) == ("directory_gap", f"{ref}.L1.to.L2.who", [IRO], [QA])
        assert subject == f"[{ref}] Who is the Service Manager? Level 2 escalation - Jane Doe - MOSAIC 123456"
        [gap] = events(store, ref, "directory_gap")
        assert (gap["level"], gap["role"], gap["candidates"]) == (2, "Service Manager", [SM])
        assert "has no line manager" in gap["reason"]
        [escalated] = events(store, ref, "escalated")
        assert escalated["addressee"] is None and escalated["to_level"] == 2
        with store.unit_of_work() as uow:
            esc = uow.escalations.get(ref)
            assert esc.current_level == 2 and esc.current_stage.addressee_email is None
            [mail] = uow.outbox.for_escalation(esc)
            assert "has not guessed" in mail.body_text and "Sara Service <sara.service@example.test>" in mail.body_text


def test_a_directory_gap_asks_the_iro_and_qa_instead_of_guessing(tmp_path: Path, clock: Clock) -> None:
    config = example_config(tmp_path, mailbox={"address": BOT}, directory=directory_table(people=[
        {"email": TM, "name": "Tom Manager", "role": "Team Manager"},  # no reports_to: a gap
        {"email": SM, "name": "Sara Service", "role": "Service Manager"},
    ]))
    store = migrated_store(config, clock)
    bot, ticker = Ingestor(store, config, clock), Ticker(store, config)
    thread = Thread(SUBJECT)
    ref = open_escalation(bot, thread)
    tick_days(ticker, clock, [at(27, 11), at(1, 12), at(2, 12)])
    rows = outbox(store)
    assert [r[0] for r in rows] == ["chaser", "chaser", "directory_gap"]
    gap = rows[2]
    assert gap[2] == [IRO] and gap[3] == [QA]
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc.current_level == 2 and esc.current_stage.addressee_email is None
        assert [r.kind for r in uow.outbox.for_escalation(esc)].count("escalation") == 0
    # the IRO forwards the escalation to the right manager, copying the mailbox: the bot records them
    clock.now = at(2, 12, 11)
    forward = outlook_reply(thread, sender=IRO, to=[SM], cc=[BOT, QA], text="Sara, please see below.",
                            when=clock.now)
    result = bot.ingest(forward)
    assert result.reference == ref
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc.current_stage.addressee_email == SM
        assert any(e.kind == "addressee_set" for e in uow.events.for_escalation(esc))
    # from now on the service manager is chased (due Tuesday 8 December: chasers Friday 4th and Tuesday 8th)
    done = tick_days(ticker, clock, [at(4, 12), at(8, 12)])
    assert [k for _, k, _ in done] == ["chase", "chase"]
    assert outbox(store)[-1][2] == [SM]


# ---- escalate: the end of the ladder -----------------------------------------------------------------------


def test_a_terminal_target_is_a_referral_notice_and_nobody_outside_is_mailed(tmp_path: Path, clock: Clock) -> None:
    cafcass = "duty@cafcass.example.org"  # even a Cafcass contact in the directory is never written to
    config = make_config(tmp_path, people=directory_people({"email": cafcass, "name": "Cafcass Duty",
                                                  "role": "Cafcass referral"}))
    with running(config, clock) as (store, bot):
        ref = open_escalation(bot, Thread(SUBJECT))
        now = at(2, 12)
        with store.unit_of_work() as uow:
            esc = uow.escalations.get(ref)
            terminal = level(config, 5)
            assert terminal.terminal
            stage = actions_for(config).escalate(uow, esc, terminal, now, by="clock", actor="clock")
            assert stage is not None and stage.addressee_email is None and stage.due_on is None
            uow.commit()
        mails = outbox(store)  # besides the referral notice: those Dorset names told of a referral being considered
        assert {m[0] for m in mails} <= {"referral", "procedure_notice", "procedure_gap"}
        [(kind, key, to, cc, subject)] = [m for m in mails if m[0] == "referral"]
        assert (kind, key, to, cc) == ("referral", f"{ref}.L5.referral", [IRO], [QA])
        assert subject == f"[{ref}] Consider a Cafcass referral: Jane Doe - MOSAIC 123456"
        with store.unit_of_work() as uow:
            esc = uow.escalations.get(ref)
            everyone = [a for r in uow.outbox.by_status() for a in (*r.to_emails, *r.cc_emails)]
            assert everyone and all(config.allows_address(a) for a in everyone)
            assert cafcass not in everyone
            assert [e.kind for e in uow.events.for_escalation(esc) if "refused" in e.kind] == []
            assert esc.current_level == 5
            assert [(s.level, s.outcome) for s in esc.stages] == [(1, "escalated"), (5, None)]
            [mail] = [m for m in uow.outbox.for_escalation(esc) if m.kind == "referral"]
            assert "does not contact Cafcass" in mail.body_text
        [escalated] = events(store, ref, "escalated")
        assert escalated == {"from_level": 1, "to_level": 5, "by": "clock", "terminal": True}


# ---- escalate: the IRO's command, through mail in ----------------------------------------------------------


def test_iro_command_escalate_sends_the_escalation_mail(bot: Ingestor, store: Store, clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = open_escalation(bot, thread)
    clock.now = at(25, 11)
    bot.ingest(outlook_reply(thread, sender=TM, to=[IRO], cc=[BOT], text="We cannot fund it.", when=clock.now))
    clock.now = at(26, 11)
    bot.ingest(outlook_reply(thread, sender=IRO, to=[TM], cc=[BOT, QA], text="Not resolved - escalate",
                             when=clock.now))
    [row] = outbox(store)
    assert row[0] == "escalation" and row[2] == [SM]
    assert "Level 2 escalation" in row[4]
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc.current_level == 2 and str(esc.current_stage.due_on) == "2026-12-03"


# ---- chase ---------------------------------------------------------------------------------------------------


def test_chase_before_the_due_date_is_a_reminder(bot: Ingestor, store: Store, config: Config) -> None:
    ref = open_escalation(bot, Thread(SUBJECT))
    action = chase_action(-2)
    with store.unit_of_work() as uow:
        actions_for(config).chase(uow, uow.escalations.get(ref), action, at(27, 11))  # Friday, due Tuesday
        uow.commit()
    [(kind, key, to, cc, subject)] = outbox(store)
    assert (kind, key, to) == ("chaser", f"{ref}.L1.chase.-2@2026-12-01", [TM])
    assert set(cc) == {IRO, QA, SM}  # and the Service Manager, whom Dorset's Level 1 copies
    assert subject == f"[{ref}] Reminder: Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
    with store.unit_of_work() as uow:
        [mail] = uow.outbox.for_escalation(uow.escalations.get(ref))
        assert "is due by Tuesday 1 December 2026" in mail.body_text


def test_chase_on_the_due_date_says_it_is_due_today(bot: Ingestor, store: Store, config: Config) -> None:
    ref = open_escalation(bot, Thread(SUBJECT))
    with store.unit_of_work() as uow:
        actions_for(config).chase(uow, uow.escalations.get(ref), chase_action(0), at(1, 12))
        uow.commit()
    [(kind, key, to, _, subject)] = outbox(store)
    assert (kind, key, to) == ("chaser", f"{ref}.L1.chase.0@2026-12-01", [TM])
    assert subject == (f"[{ref}] Response due today: Level 1 escalation - Jane Doe - MOSAIC 123456 - "
                       "response by 01/12/2026")


def test_chase_after_the_due_date_does_not_say_due_today(bot: Ingestor, store: Store, config: Config) -> None:
    ref = open_escalation(bot, Thread(SUBJECT))
    with store.unit_of_work() as uow:
        actions_for(config).chase(uow, uow.escalations.get(ref), chase_action(1), at(2, 12))  # due yesterday
        uow.commit()
    [(_, _, _, _, subject)] = outbox(store)
    assert "Response due today" not in subject


def test_chase_with_nobody_to_chase_tells_the_iro(bot: Ingestor, store: Store, config: Config) -> None:
    raw = outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=OPENED, to=BOT, cc=(QA,))
    ref = bot.ingest(raw).reference or ""
    assert current(store, ref).current_stage.addressee_email is None
    with store.unit_of_work() as uow:
        actions_for(config).chase(uow, uow.escalations.get(ref), chase_action(-2, addressee=None), at(27, 11))
        uow.commit()
    rows = [r for r in outbox(store) if r[0] != "acknowledgement"]
    assert rows == [("chaser_nobody", f"{ref}.L1.chase.-2@2026-12-01", [IRO], [QA],
                     f"[{ref}] No manager to chase: Level 1 escalation - Jane Doe - MOSAIC 123456")]


# ---- the IRO's questions -------------------------------------------------------------------------------------


def test_ask_iro_goes_to_the_iro_alone_with_the_response(bot: Ingestor, store: Store, config: Config,
                                                        clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = open_escalation(bot, thread)
    clock.now = at(25, 11)
    bot.ingest(outlook_reply(thread, sender=TM, to=[IRO], cc=[BOT], text="Plan to panel on Thursday.",
                             when=clock.now))
    with store.unit_of_work() as uow:
        actions_for(config).ask_iro(uow, uow.escalations.get(ref), Action(ActionKind.ASK_IRO, "L1.ask_iro", 1),
                                    at(27, 11))
        uow.commit()
    [(kind, key, to, cc, subject)] = outbox(store)
    assert (kind, key, to, cc) == ("ask_iro", f"{ref}.L1.ask_iro", [IRO], [])
    assert subject == f"[{ref}] Resolved or escalate? Jane Doe - MOSAIC 123456"
    with store.unit_of_work() as uow:
        [mail] = uow.outbox.for_escalation(uow.escalations.get(ref))
        assert "Plan to panel on Thursday." in mail.body_text
        assert "Escalate" in mail.body_text and "Level 2, Service Manager" in mail.body_text


def test_budget_warning_counts_the_working_days(bot: Ingestor, store: Store, config: Config) -> None:
    ref = open_escalation(bot, Thread(SUBJECT))
    action = Action(ActionKind.BUDGET_WARNING, "budget.15", 1, days=15, elapsed=15)
    with store.unit_of_work() as uow:
        actions_for(config).budget_warning(uow, uow.escalations.get(ref), action, at(15, 12))
        uow.commit()
    [(kind, key, to, cc, subject)] = outbox(store)
    assert (kind, key, to, cc) == ("budget", f"{ref}.budget.15", [IRO], [QA, SM])  # Level 1 copies the SM
    assert subject == f"[{ref}] 15 working days: Jane Doe - MOSAIC 123456"
    with store.unit_of_work() as uow:
        [mail] = uow.outbox.for_escalation(uow.escalations.get(ref))
        assert "has now run 15 working days of the 20" in mail.body_text
        assert "the time is up" not in mail.body_text


@pytest.mark.parametrize(("until", "command"), [(date(2026, 12, 4), "Extend to 04/12/2026"),
                                                 (None, "Extend to DD/MM/YYYY")])
def test_extension_requested_gives_the_iro_the_one_line(bot: Ingestor, store: Store, config: Config,
                                                        until: date | None, command: str) -> None:
    ref = open_escalation(bot, Thread(SUBJECT))
    action = Action(ActionKind.EXTENSION_REQUESTED, "L1.extension.1", 1, due_on=until)
    with store.unit_of_work() as uow:
        actions_for(config).extension_requested(uow, uow.escalations.get(ref), action, at(25, 11))
        uow.commit()
    [(kind, key, to, cc, subject)] = outbox(store)
    assert (kind, key, to, cc) == ("extension", f"{ref}.L1.extension.1", [IRO], [])
    assert subject == f"[{ref}] Extension asked: Jane Doe - MOSAIC 123456"
    with store.unit_of_work() as uow:
        [mail] = uow.outbox.for_escalation(uow.escalations.get(ref))
        assert f"\n  {command}\n" in mail.body_text
        assert ("(with the date you agree to)" in mail.body_text) is (until is None)


# ---- acknowledge ---------------------------------------------------------------------------------------------


def test_acknowledge_queues_nothing_when_nothing_was_inferred(bot: Ingestor, store: Store, config: Config) -> None:
    ref = open_escalation(bot, Thread(SUBJECT))
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        actions_for(config).acknowledge(uow, esc, OPENED, [])
        uow.commit()
    assert outbox(store) == []
    with store.unit_of_work() as uow:  # the same record, with something inferred, is acknowledged
        actions_for(config).acknowledge(uow, uow.escalations.get(ref), OPENED, ["level"])
        uow.commit()
    assert outbox(store) == [("acknowledgement", f"{ref}.ack", [IRO], [],
                              f"[{ref}] Received: Jane Doe - MOSAIC 123456")]


def test_missing_date_and_manager_are_acknowledged_to_the_iro(bot: Ingestor, store: Store) -> None:
    thread = Thread("Action - Level 1 escalation - Jane Doe - MOSAIC 123456")
    raw = outlook_escalation(thread, subject="Action - Level 1 escalation - Jane Doe - MOSAIC 123456",
                             when=OPENED, to=BOT, cc=(QA,))
    ref = bot.ingest(raw).reference
    [row] = outbox(store)
    assert row[0] == "acknowledgement" and row[2] == [IRO]
    with store.unit_of_work() as uow:
        [mail] = uow.outbox.for_escalation(uow.escalations.get(ref))
        assert "Tuesday 1 December 2026" in mail.body_text  # 5 working days from the policy
        assert "No manager in To, so nobody can be reminded yet" in mail.body_text
