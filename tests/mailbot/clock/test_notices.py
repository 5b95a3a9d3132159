"""Telling the people who must hear, on a real SQLite store through mail in: the closure notice, the extension agreed,
the bypass notice and the manager away past the due date — recipients and copies exactly, sent once, what they say —
and the policy's copied and always-copied roles on every mail about the level (chasers, budget warnings, referral
notice) for the five presets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from mailbot.clock.actions import Actions
from mailbot.config import Config
from mailbot.mail_in.ingest import Ingestor
from rules.decide import Action, ActionKind, chase_key
from store.uow import Store
from tests.botsetup import HOS, Clock, at, directory_table, example_config, migrated_store
from tests.mailfactory import (
    BOT,
    DOMAIN,
    IRO,
    QA,
    SM,
    TM,
    Thread,
    exchange_out_of_office,
    outlook_escalation,
    outlook_reply,
)

SUBJECT = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
OPENED = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)  # Tuesday; Level 1 due Tuesday 1 December
#: What a mail to a manager or a director must never say: the word "bot", or a configuration key.
NOT_FOR_MANAGERS = re.compile(r"\bbot\b|reports_to|qa_managers|iro_team_managers|copy_roles|always_copy|"
                              r"council\.domains|\[directory|\[policy", re.IGNORECASE)


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    """Dorset (the default preset) with Tom's line up to Hana (:func:`tests.botsetup.directory_people`)."""
    return example_config(tmp_path, directory=directory_table())


@dataclass(frozen=True)
class Row:
    kind: str
    key: str
    to: list[str]
    cc: list[str]
    subject: str
    text: str
    html: str


def rows(store: Store, ref: str, kind: str | None = None) -> list[Row]:
    with store.unit_of_work() as uow:
        return [Row(r.kind, r.key, r.to_emails, r.cc_emails, r.subject, r.body_text, r.body_html or "")
                for r in uow.outbox.for_escalation(uow.escalations.get(ref)) if kind is None or r.kind == kind]


def open_level_one(bot: Ingestor, thread: Thread, subject: str = SUBJECT, *, to: str = TM,
                   cc: tuple[str, ...] = (QA, SM, BOT)) -> str:
    result = bot.ingest(outlook_escalation(thread, subject=subject, when=OPENED, to=to, cc=cc))
    assert result.outcome == "opened"
    return result.reference or ""


def iro_says(bot: Ingestor, clock: Clock, thread: Thread, text: str, when: datetime, *, to: list[str] | None = None,
             seed: str | None = None) -> str:
    clock.now = when
    result = bot.ingest(outlook_reply(thread, sender=IRO, to=to or [TM], cc=[BOT, QA], text=text, when=when,
                                      seed=seed))
    assert result.outcome == "threaded", result
    return result.reference or ""


def fit_for_managers(row: Row) -> None:
    """Child and case in the subject and the body; no "bot" and no configuration key anywhere in it."""
    for part in (row.subject, row.text, row.html):
        assert "Jane Doe" in part and "MOSAIC 123456" in part
        assert not NOT_FOR_MANAGERS.search(part), NOT_FOR_MANAGERS.search(part)


# ---- the closure notice --------------------------------------------------------------------------------------------


def test_resolved_tells_every_manager_who_took_part_and_qa_once(bot: Ingestor, store: Store, clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = open_level_one(bot, thread)
    iro_says(bot, clock, thread, "Escalate", at(2, 12, 9))  # Level 2: Sara Service (from the directory)
    iro_says(bot, clock, thread, "Resolved – plan signed off at panel", at(3, 12, 14, 30), to=[SM])
    [closure] = rows(store, ref, "closure")
    # every stage's addressee in To; QA, the Head of Locality (Dorset's Level 2 copy role) and the IRO copied
    assert (closure.key, closure.to, closure.cc) == (f"{ref}.closed", [TM, SM], [QA, HOS, IRO])
    assert closure.subject == f"[{ref}] Closed (resolved): Level 2 escalation - Jane Doe - MOSAIC 123456"
    assert closure.text.startswith("Dear Tom Manager and Sara Service,\n")
    for part in (closure.text, closure.html):
        assert "resolved – plan signed off at panel" in part  # the outcome, in the IRO's words
        assert "Jane Reviewer" in part  # who closed it
        assert "Thursday 3 December 2026 at 14:30" in part  # when (London time)
        assert "Level 2" in part and "Service Manager" in part
    fit_for_managers(closure)
    # sent once: the same mail again is a duplicate, and a later command on the closed record changes nothing
    clock.now = at(3, 12, 15)
    bot.ingest(outlook_reply(thread, sender=IRO, to=[SM], cc=[BOT, QA], text="Resolved – plan signed off",
                             when=clock.now))
    assert len(rows(store, ref, "closure")) == 1


def test_withdrawn_at_level_one_tells_the_team_manager_with_dorsets_service_manager_copied(
        bot: Ingestor, store: Store, clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = open_level_one(bot, thread)
    iro_says(bot, clock, thread, "Withdraw", at(25, 11, 11))
    [closure] = rows(store, ref, "closure")
    assert (closure.to, closure.cc) == ([TM], [QA, SM, IRO])  # seed 001: "copy in … responsible Service Manager"
    assert closure.subject == f"[{ref}] Closed (withdrawn): Level 1 escalation - Jane Doe - MOSAIC 123456"
    assert "Wednesday 25 November 2026 at 11:00" in closure.text and "Jane Reviewer" in closure.text
    fit_for_managers(closure)
    with store.unit_of_work() as uow:
        assert uow.escalations.get(ref).status == "closed"


def test_a_cafcass_referral_closes_with_the_outcome_said(bot: Ingestor, store: Store, clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = open_level_one(bot, thread)
    iro_says(bot, clock, thread, "Cafcass referral", at(26, 11, 10))
    [closure] = rows(store, ref, "closure")
    assert (closure.to, closure.cc) == ([TM], [QA, SM, IRO])
    assert closure.subject == f"[{ref}] Closed (referred to Cafcass): Level 1 escalation - Jane Doe - MOSAIC 123456"
    assert "referring the matter to Cafcass" in closure.text
    fit_for_managers(closure)


def test_a_closure_with_no_manager_known_goes_to_qa(bot: Ingestor, store: Store, clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = open_level_one(bot, thread, to=BOT, cc=(QA,))  # nobody named: the record has no manager
    iro_says(bot, clock, thread, "Resolved – sorted by phone", at(25, 11, 10), to=[BOT])
    [closure] = rows(store, ref, "closure")
    # Dorset's Level 1 copies the Service Manager: with no Team Manager to look above, the only one in the directory
    assert (closure.to, closure.cc) == ([QA], [SM, IRO])


# ---- the extension agreed ------------------------------------------------------------------------------------------


def test_extend_to_tells_the_manager_the_new_date_once(bot: Ingestor, store: Store, clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = open_level_one(bot, thread)
    iro_says(bot, clock, thread, "Extend to 08/12/2026", at(26, 11, 10))
    [notice] = rows(store, ref, "extension_agreed")
    assert (notice.to, notice.cc) == ([TM], [QA, SM, IRO])
    assert notice.key == f"{ref}.L1.extended.{thread.ids[-1].strip('<>')}"
    assert notice.subject == (f"[{ref}] More time agreed: Level 1 escalation - Jane Doe - MOSAIC 123456 - "
                              "response by 08/12/2026")
    assert notice.text.startswith("Dear Tom Manager,\n")
    for part in (notice.text, notice.html):
        assert "Tuesday 8 December 2026" in part  # the new date
        assert "Tuesday 1 December 2026" in part  # the date it replaces
        assert "Jane Reviewer has agreed more time" in part
    fit_for_managers(notice)
    # the same mail read twice: once; another agreement: a second notice with its own date
    bot.ingest(outlook_reply(Thread(SUBJECT, ids=thread.ids[:-1], replies=thread.replies - 1), sender=IRO,
                             to=[TM], cc=[BOT, QA], text="Extend to 08/12/2026", when=at(26, 11, 10),
                             seed=None))
    assert len(rows(store, ref, "extension_agreed")) == 1
    iro_says(bot, clock, thread, "Extend to 10/12/2026", at(7, 12, 10))
    first, second = rows(store, ref, "extension_agreed")
    assert second.key != first.key and second.subject.endswith("response by 10/12/2026")
    assert "Tuesday 8 December 2026" in second.text  # was due by the first extension's date


def test_agreeing_the_managers_request_tells_them_the_date_they_asked_for(bot: Ingestor, store: Store,
                                                                         clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = open_level_one(bot, thread)
    clock.now = at(25, 11)
    bot.ingest(outlook_reply(thread, sender=TM, to=[IRO], cc=[BOT],
                             text="Could I have until Friday 4th December please? The panel meets on the 3rd.",
                             when=clock.now))
    iro_says(bot, clock, thread, "Extension agreed", at(25, 11, 15))
    [notice] = rows(store, ref, "extension_agreed")
    assert (notice.to, notice.cc) == ([TM], [QA, SM, IRO])
    assert notice.subject.endswith("response by 04/12/2026") and "Friday 4 December 2026" in notice.text
    with store.unit_of_work() as uow:
        assert uow.escalations.get(ref).current_stage.due_on == date(2026, 12, 4)


# ---- the bypass notice ---------------------------------------------------------------------------------------------


def test_escalate_to_level_three_tells_the_skipped_service_manager_once(bot: Ingestor, store: Store,
                                                                       clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = open_level_one(bot, thread)
    iro_says(bot, clock, thread, "Escalate to level 3", at(26, 11, 10))
    [escalation] = rows(store, ref, "escalation")
    assert escalation.to == [HOS]  # Hana Head, Head of Locality, above Tom and Sara
    [notice] = rows(store, ref, "bypass")
    # Sara (Level 2, passed over) in To; QA, Hana (Dorset's Level 2 copy role, now the addressee) and the IRO copied
    assert (notice.to, notice.cc) == ([SM], [QA, HOS, IRO])
    assert notice.key == f"{ref}.L1.to.L3.{thread.ids[-1].strip('<>')}.bypass.L2"
    assert notice.subject == f"[{ref}] Escalated past Level 2 to Level 3: Jane Doe - MOSAIC 123456"
    assert notice.text.startswith("Dear Sara Service,\n")
    for part in (notice.text, notice.html):
        assert "straight to Level 3 (Head of Locality), past Level 2 (Service Manager)" in part
        assert "Hana Head, Head of Locality" in part  # to whom
        assert "Jane Reviewer" in part
    fit_for_managers(notice)
    clock.now = at(26, 11, 11)  # the same mail again: a duplicate, nothing more
    assert bot.ingest(outlook_reply(Thread(SUBJECT, ids=thread.ids[:-1], replies=thread.replies - 1), sender=IRO,
                                    to=[TM], cc=[BOT, QA], text="Escalate to level 3", when=at(26, 11, 10),
                                    seed=None)).outcome == "duplicate"
    assert len(rows(store, ref, "bypass")) == 1


def test_a_one_level_escalate_skips_nobody(bot: Ingestor, store: Store, clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = open_level_one(bot, thread)
    iro_says(bot, clock, thread, "Escalate", at(26, 11, 10))
    assert [r.kind for r in rows(store, ref)] == ["escalation"]


def test_the_iros_own_level_three_mail_tells_the_skipped_manager_unless_copied(bot: Ingestor, store: Store,
                                                                              clock: Clock) -> None:
    level3 = "Action - Level 3 escalation - Jane Doe - MOSAIC 123456 - response by 04/12/2026"
    ref = open_level_one(bot, Thread(SUBJECT))
    clock.now = at(27, 11, 10)
    result = bot.ingest(outlook_escalation(Thread(level3, seed="l3"), subject=level3, when=clock.now, to=HOS,
                                           cc=(QA, BOT)))
    assert (result.outcome, result.reference) == ("escalated", ref)
    # the IRO's mail is the escalation itself; Dorset's Head of QA and Partnerships is asked for on a bypass (3.1)
    assert [r.kind for r in rows(store, ref) if r.kind != "procedure_gap"] == ["bypass"]
    [notice] = rows(store, ref, "bypass")
    assert (notice.to, notice.cc) == ([SM], [QA, HOS, IRO])
    assert "Friday 4 December 2026" in notice.text  # Hana's response date, from the IRO's subject
    # a record whose Level 3 mail copied Sara: she has been told by the IRO, so nothing more
    other = "Action - Level 1 escalation - Sam Roe - MOSAIC 654321 - response by 01/12/2026"
    ref2 = open_level_one(bot, Thread(other, seed="other"), other)
    level3b = other.replace("Level 1", "Level 3")
    bot.ingest(outlook_escalation(Thread(level3b, seed="l3b"), subject=level3b, when=clock.now, to=HOS,
                                  cc=(QA, SM, BOT)))
    assert rows(store, ref2, "bypass") == []


# ---- a manager away past the due date ------------------------------------------------------------------------------


def test_an_out_of_office_back_after_the_due_date_tells_the_iro_and_qa_once(bot: Ingestor, store: Store,
                                                                           clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = open_level_one(bot, thread)
    clock.now = at(24, 11, 10)
    bot.ingest(exchange_out_of_office(thread, sender=TM, when=clock.now, back="Monday 7 December 2026"))
    [notice] = rows(store, ref, "away")
    # to the IRO; the QA manager and the Service Manager (Dorset's Level 1 copy role, Tom's line manager) copied
    assert (notice.key, notice.to, notice.cc) == (f"{ref}.L1.away.2026-12-07", [IRO], [QA, SM])
    assert notice.subject == (f"[{ref}] Away until after the due date: Level 1 escalation - Jane Doe - "
                              "MOSAIC 123456 - response by 01/12/2026")
    for part in (notice.text, notice.html):
        assert "Tom Manager" in part
        assert "back on Monday 7 December 2026" in part
        assert "Tuesday 1 December 2026" in part
        assert "Extend to 09/12/2026" in part  # two working days after they are back
        assert "Escalate" in part and "Level 2" in part and "Service Manager" in part
    assert "\n  Extend to 09/12/2026" in notice.text and "\n  Escalate " in notice.text  # one line each
    # a second automatic reply saying the same: nothing more
    bot.ingest(exchange_out_of_office(thread, sender=TM, when=at(25, 11, 10), seed="oof2"))
    assert len(rows(store, ref, "away")) == 1


@pytest.mark.parametrize(("sender", "back"), [
    (TM, "Monday 30 November 2026"),  # back before the due date
    (TM, "Tuesday 1 December 2026"),  # back on the due date
    (QA, "Monday 7 December 2026"),  # not the manager who must answer
])
def test_an_out_of_office_that_does_not_matter_tells_nobody(bot: Ingestor, store: Store, clock: Clock, sender: str,
                                                            back: str) -> None:
    thread = Thread(SUBJECT)
    ref = open_level_one(bot, thread)
    clock.now = at(24, 11, 10)
    assert bot.ingest(exchange_out_of_office(thread, sender=sender, when=clock.now, back=back)).kind == "auto_reply"
    assert rows(store, ref) == []


def test_an_out_of_office_after_the_manager_answered_tells_nobody(bot: Ingestor, store: Store,
                                                                 clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = open_level_one(bot, thread)
    clock.now = at(24, 11, 11)
    bot.ingest(outlook_reply(thread, sender=TM, to=[IRO], cc=[BOT], text="The plan goes to panel on Thursday.",
                             when=clock.now))
    bot.ingest(exchange_out_of_office(thread, sender=TM, when=at(24, 11, 12)))
    assert rows(store, ref, "away") == []


# ---- the policy's copied roles on every mail about the level, for the five presets ---------------------------------


def person(local: str, name: str, role: str, reports_to: str | None = None) -> dict[str, str]:
    found = {"email": f"{local}@{DOMAIN}", "name": name, "role": role}
    if reports_to:
        found["reports_to"] = f"{reports_to}@{DOMAIN}"
    return found


def a(local: str) -> str:
    return f"{local}@{DOMAIN}"


@dataclass(frozen=True)
class Council:
    preset: str
    level: int  # where the record opens (a level with copied roles)
    manager: str  # the level's manager, the IRO's To
    people: tuple[dict[str, str], ...]
    chaser_cc: tuple[str, ...]  # besides QA and the IRO
    referral_cc: tuple[str, ...]  # besides QA
    iro_team_managers: tuple[str, ...] = ()


COUNCILS = [
    Council("dorset", 1, "tm", (person("tm", "Taylor East", "Team Manager", "sm"),
                                person("sm", "Sam East", "Service Manager")), (a("sm"),), ()),
    Council("hull", 1, "tm", (person("tm", "Toni Manager", "Team Manager", "gm"),
                              person("gm", "Gene Group", "Group Manager")),
            (a("irotm"),), (a("irotm"),), iro_team_managers=(a("irotm"),)),
    Council("birmingham", 1, "tm", (person("tm", "Tam Manager", "Team Manager", "hos"),
                                    person("hos", "Hal Service", "Head of Service"),
                                    person("ahos", "Ash IRO", "IRO Service AHoS")), (a("ahos"),), ()),
    Council("rotherham", 1, "tm", (person("tm", "Rae Manager", "Team Manager", "dd"),
                                   person("dd", "Dot Deputy", "Deputy Director", "dcs"),
                                   person("dcs", "Dan Director", "Director of Children's Services"),
                                   person("ddcs", "Del Deputy", "Deputy Director of Children's Services", "dcs"),
                                   person("ops", "Oli Ops", "Operations Manager (Safeguarding)")),
            (a("ops"),), (a("ops"),)),  # the DCS and Deputy DCS: the policy's notice before any referral (below)
    Council("south-west", 4, "hos", (person("hos", "Sue Head", "Head of Service", "ad"),
                                     person("ad", "Abe Assistant", "Assistant Director")), (a("ad"),), ()),
]


@contextmanager
def council(tmp_path: Path, clock: Clock, c: Council) -> Iterator[tuple[Config, Store, Ingestor]]:
    config = example_config(tmp_path, policy={"preset": c.preset}, directory={
        "qa_managers": [QA], "people": list(c.people), "iro_team_managers": list(c.iro_team_managers)})
    store = migrated_store(config, clock)
    try:
        yield config, store, Ingestor(store, config, clock)
    finally:
        store.dispose()


def chase(number: int) -> Action:
    due = date(2026, 12, 1)
    return Action(ActionKind.CHASE, chase_key(number, -2, due), number, due_on=due, offset=-2)


@pytest.mark.parametrize("c", COUNCILS, ids=[c.preset for c in COUNCILS])
def test_every_mail_about_the_level_copies_the_policys_roles(tmp_path: Path, clock: Clock, c: Council) -> None:
    with council(tmp_path, clock, c) as (config, store, bot):
        word = config.policy.level_word
        subject = f"Action - {word} {c.level} escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
        ref = open_level_one(bot, Thread(subject), subject, to=a(c.manager), cc=(QA, BOT))
        actions = Actions(config, config.calendar.calendar())
        with store.unit_of_work() as uow:
            esc = uow.escalations.get(ref)
            assert esc.current_level == c.level and esc.current_stage.addressee_email == a(c.manager)
            actions.chase(uow, esc, chase(c.level), at(27, 11))
            actions.budget_warning(uow, esc, Action(ActionKind.BUDGET_WARNING, "budget.15", c.level, days=15,
                                                    elapsed=15), at(15, 12))
            actions.escalate(uow, esc, config.policy.levels[-1], at(16, 12), by="clock", actor="clock")
            uow.commit()
        [chaser] = rows(store, ref, "chaser")
        assert (chaser.to, chaser.cc) == ([a(c.manager)], [QA, *c.chaser_cc, IRO])
        [budget] = rows(store, ref, "budget")
        assert (budget.to, budget.cc) == ([IRO], [QA, *c.chaser_cc])
        [referral] = rows(store, ref, "referral")
        assert (referral.to, referral.cc) == ([IRO], [QA, *c.referral_cc])
        told = {tuple(r.to) for r in rows(store, ref, "procedure_notice")}
        if c.preset == "rotherham":  # 2.6: "The DCS and Deputy DCS would always be informed ... prior to any referral"
            assert (a("dcs"), a("ddcs")) in told
        if c.preset == "south-west":  # Stage 5: "The IRO is to inform the Assistant Director"
            assert (a("ad"),) in told


@pytest.mark.parametrize("c", COUNCILS, ids=[c.preset for c in COUNCILS])
def test_every_notice_about_the_level_copies_the_policys_roles(tmp_path: Path, clock: Clock, c: Council) -> None:
    with council(tmp_path, clock, c) as (config, store, bot):
        word = config.policy.level_word
        subject = f"Action - {word} {c.level} escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
        thread = Thread(subject)
        ref = open_level_one(bot, thread, subject, to=a(c.manager), cc=(QA, BOT))
        clock.now = at(24, 11, 10)
        bot.ingest(exchange_out_of_office(thread, sender=a(c.manager), when=clock.now))
        iro_says(bot, clock, thread, "Extend to 08/12/2026", at(25, 11, 10), to=[a(c.manager)])
        iro_says(bot, clock, thread, "Resolved – agreed at the meeting", at(26, 11, 10), to=[a(c.manager)])
        expected: dict[str, tuple[list[str], list[str]]] = {
            "away": ([IRO], [QA, *c.chaser_cc]),
            "extension_agreed": ([a(c.manager)], [QA, *c.chaser_cc, IRO]),
            "closure": ([a(c.manager)], [QA, *c.chaser_cc, IRO]),
        }
        got: dict[str, Any] = {r.kind: (r.to, r.cc) for r in rows(store, ref) if r.kind in expected}
        assert got == expected
