"""The facts of a real record for the text the IRO pastes into the child's case record, on a SQLite store through
mail in: the concern from the IRO's first mail (greeting and signature gone, the actions and the impact read from
it), each level with its start and due date, the managers' responses (not a colleague's reply, not a request for
more time, not the IRO's own words), a meeting's outcome, the outcome and the day it closed — and the mail the IRO
is sent, rendered through the composer, in its text and HTML parts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from mailbot.clock.actions import case_text, children_text
from mailbot.clock.casenote import case_facts
from mailbot.config import Config
from mailbot.mail_in.ingest import Ingestor
from mailbot.mail_out.compose import Composer
from rules.casenote import CaseFacts, Response, case_note
from rules.procedure import CaseRecord
from store.uow import Store
from tests.botsetup import Clock, at, directory_table, example_config
from tests.mailfactory import BOT, DOMAIN, IRO, QA, SM, TM, Thread, outlook_escalation, outlook_reply

SUBJECT = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
OPENED = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)  # Tuesday; Level 1 due Tuesday 1 December
COLIN = f"colin.colleague@{DOMAIN}"
CONCERN = ("Jane's care plan has not been signed off and her placement review is overdue. Please confirm who will "
           "complete the plan and when.\n\nImpact: Jane does not know where she will live after Christmas.")
MOSAIC = CaseRecord(system="Mosaic", fields=(
    ("Child", "child"), ("MOSAIC number", "case_number"), ("Concern", "concern"),
    ("Action and timescale", "requested_action"), ("Impact on the child if not resolved", "impact"),
    ("Level", "level"), ("Responses", "responses"), ("Outcome", "outcome"), ("Date concluded", "concluded"),
))


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    """Dorset (the default preset) with Tom's line up to Hana (:func:`tests.botsetup.directory_people`)."""
    return example_config(tmp_path, directory=directory_table())


def say(bot: Ingestor, clock: Clock, thread: Thread, sender: str, text: str, when: datetime, *,
        to: list[str] | None = None) -> None:
    clock.now = when
    result = bot.ingest(outlook_reply(thread, sender=sender, to=to or [IRO], cc=[BOT, QA], text=text, when=when))
    assert result.outcome == "threaded", result


def facts_of(store: Store, config: Config, ref: str) -> CaseFacts:
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc is not None
        return case_facts(esc, uow.events.for_escalation(esc), config.policy, config.calendar.calendar())


def render(config: Config, store: Store, ref: str, facts: CaseFacts, moment: str) -> tuple[str, str, str]:
    """The mail as the caller queues it: the record's ``ref``, ``children``, ``case`` and ``iro_name`` (what
    ``Actions._base`` gives every mail) and the ``note``."""
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc is not None
        context = {"ref": ref, "children": children_text(esc), "case": case_text(esc), "iro_name": "Jane Reviewer"}
    rendered = Composer(config).render("case_record", note=case_note(MOSAIC, facts, moment), **context)
    html_words = " ".join(BeautifulSoup(rendered.html, "html.parser").get_text(" ").split())
    return rendered.subject, rendered.text, html_words


def test_a_record_from_opening_to_closure(bot: Ingestor, store: Store, clock: Clock, config: Config) -> None:
    thread = Thread(SUBJECT)
    opened = bot.ingest(outlook_escalation(thread, subject=SUBJECT, when=OPENED, to=TM, cc=(QA, SM, BOT),
                                           concern=CONCERN))
    assert opened.outcome == "opened"
    ref = opened.reference or ""

    facts = facts_of(store, config, ref)
    assert (facts.reference, facts.children, facts.case_numbers) == (ref, ("Jane Doe",), ("MOSAIC 123456",))
    assert (facts.iro, facts.opened_on) == ("Jane Reviewer", date(2026, 11, 24))
    assert facts.concern.startswith("Dear Tom,") and "Kind regards" not in facts.concern
    assert facts.requested_action == "Please confirm who will complete the plan and when."
    assert facts.impact == "Jane does not know where she will live after Christmas."
    assert facts.timescale == "response by Tuesday 1 December 2026"
    assert facts.level_label == "Level 1 (Team Manager)"
    assert facts.levels == (("Level 1 (Team Manager)", date(2026, 11, 24), date(2026, 12, 1)),)
    assert (facts.responses, facts.outcome, facts.concluded_on) == ((), "", None)

    subject, text, html = render(config, store, ref, facts, "opening")
    assert subject == "For the child's record: Level 1 escalation raised - Jane Doe - MOSAIC 123456"
    for part in (text, html):
        assert "Dear Jane Reviewer," in part
        assert ("The escalation was raised at Level 1 (Team Manager). Paste this into Jane's Mosaic record."
                in part)
        assert "Mosaic: the child's record" in part and f"{ref}: Jane Doe (MOSAIC 123456)" in part
        assert "Dear Tom" not in part and "Kind regards" not in part
        assert "None" not in part
    assert ("\nConcern:\nJane's care plan has not been signed off and her placement review is overdue. Please "
            "confirm who will complete the plan and when.\n\nAction and timescale:") in text  # the impact has its field
    assert "the escalation carries on as it is." in text
    assert "\nAction and timescale:\nPlease confirm who will complete the plan and when.\n" \
           "Response by Tuesday 1 December 2026.\n" in text
    assert "\nResponses:\n(to be completed)\n" in text
    assert "A field marked “(to be completed)” is yours to fill in" in text
    assert "Impact on the child if not resolved Jane does not know where she will live after Christmas." in html

    # Tom asks for more time, then answers; a colleague and the IRO write too: only Tom's answer is a response
    say(bot, clock, thread, TM, "Could I have until Friday 4th December please? The panel meets on the 3rd.",
        at(25, 11, 10))
    say(bot, clock, thread, COLIN, "I think Tom is on it.", at(25, 11, 11))
    say(bot, clock, thread, TM, "The plan goes to panel on 3 December.\n\nKind regards\nTom Manager",
        at(27, 11, 10))
    say(bot, clock, thread, IRO, "Escalate", at(2, 12, 9), to=[TM])  # Level 2: Sara Service, from the directory
    say(bot, clock, thread, SM, "Panel brought forward: the plan was signed off today.", at(3, 12, 11), to=[IRO])

    facts = facts_of(store, config, ref)
    assert facts.level_label == "Level 2 (Service Manager)"
    assert facts.levels == (("Level 1 (Team Manager)", date(2026, 11, 24), date(2026, 12, 1)),
                            ("Level 2 (Service Manager)", date(2026, 12, 2), date(2026, 12, 9)))
    assert facts.timescale == "response by Wednesday 9 December 2026"
    assert facts.responses == (
        Response("Level 1 (Team Manager)", "Tom Manager", date(2026, 11, 27), "The plan goes to panel on 3 December."),
        Response("Level 2 (Service Manager)", "Sara Service", date(2026, 12, 3),
                 "Panel brought forward: the plan was signed off today."),
    )
    subject, text, html = render(config, store, ref, facts, "level")
    assert subject == "For the child's record: Level 2 escalation - Jane Doe - MOSAIC 123456"
    assert "The escalation has moved to Level 2 (Service Manager)." in text
    assert ("\nLevel:\nLevel 2 (Service Manager), since Wednesday 2 December 2026\nEarlier: Level 1 (Team Manager)\n"
            in text)
    assert ("\nResponses:\nLevel 1 (Team Manager) — Tom Manager, Friday 27 November 2026:\n"
            "The plan goes to panel on 3 December.\n\nLevel 2 (Service Manager) — Sara Service, Thursday 3 December "
            "2026:\nPanel brought forward: the plan was signed off today.\n") in text
    assert "\nOutcome:\n(still open)\n" in text and "Colin" not in text and "more time" not in text
    assert "Level 1 (Team Manager) — Tom Manager, Friday 27 November 2026: The plan goes to panel" in html

    say(bot, clock, thread, IRO, "Resolved – plan signed off at panel", at(3, 12, 14, 30), to=[SM])
    facts = facts_of(store, config, ref)
    assert facts.outcome == "Resolved: plan signed off at panel"
    assert facts.concluded_on == date(2026, 12, 3)
    assert len(facts.responses) == 2  # the IRO's "Resolved" is not a response
    subject, text, html = render(config, store, ref, facts, "closure")
    assert subject == "For the child's record: closed at Level 2 - Jane Doe - MOSAIC 123456"
    assert "The escalation is closed. Paste this into Jane's Mosaic record." in text
    assert "\nOutcome:\nResolved: plan signed off at panel\n" in text
    assert "\nDate concluded:\nThursday 3 December 2026\n" in text
    assert "(to be completed)" not in text and "yours to fill in" not in text and "carries on" not in text
    assert "Outcome Resolved: plan signed off at panel Date concluded Thursday 3 December 2026" in html


def test_a_meetings_outcome_is_a_response_of_its_level(bot: Ingestor, store: Store, clock: Clock,
                                                      config: Config) -> None:
    thread = Thread(SUBJECT)
    ref = bot.ingest(outlook_escalation(thread, subject=SUBJECT, when=OPENED)).reference or ""
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        uow.events.append("meeting_outcome", escalation=esc, data={
            "level": 1, "chair": "Sam Chair", "text": "Agreed: the plan to panel on 3 December."}, at=at(26, 11, 15))
    facts = facts_of(store, config, ref)
    assert facts.responses == (Response("Level 1 (Team Manager)", "Meeting (chair: Sam Chair)", date(2026, 11, 26),
                                        "Agreed: the plan to panel on 3 December."),)


def test_a_record_whose_iro_wrote_nothing_readable_still_gives_facts(bot: Ingestor, store: Store, clock: Clock,
                                                                    config: Config) -> None:
    thread = Thread(SUBJECT)
    ref = bot.ingest(outlook_escalation(thread, subject=SUBJECT, when=OPENED, concern="Kind regards")).reference
    facts = facts_of(store, config, ref or "")
    note = case_note(MOSAIC, facts, "opening")
    assert dict(note.fields)["Impact on the child if not resolved"] == "(to be completed)"
    assert all(value and "None" not in value for _, value in note.fields)
