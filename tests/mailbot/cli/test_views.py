"""What the CLI shows: a record's summary and detail (JSON-ready dicts), the text of ``mailbot show``, and
``explain`` — how one mail would be read and matched, writing nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

import mailbot.cli.views as views
from mailbot.cli.views import escalation_detail, escalation_summary, explain_mail, render_detail
from mailbot.clock.tick import Ticker
from mailbot.config import Config
from mailbot.mail_in.ingest import Ingestor
from store.models import Escalation, Event, Message, OutboxMail, Stage
from store.uow import Store, UnitOfWork
from tests.botsetup import Clock
from tests.mailfactory import BOT, IRO, QA, SM, TM, Thread, outlook_escalation, outlook_reply, plain_reply

SUBJECT = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
OPENED = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)  # Tuesday
ANSWERED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
ASKED = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # two working days of IRO silence: the IRO is asked


def opened(bot: Ingestor, thread: Thread) -> str:
    result = bot.ingest(outlook_escalation(thread, subject=SUBJECT, when=OPENED))
    assert result.outcome == "opened"
    return result.reference or ""


def answered_and_asked(bot: Ingestor, store: Store, config: Config, clock: Clock) -> str:
    """Opened, answered by the Team Manager on Wednesday, the IRO asked by the clock on Friday."""
    thread = Thread(SUBJECT)
    ref = opened(bot, thread)
    clock.now = ANSWERED
    bot.ingest(outlook_reply(thread, sender=TM, to=[IRO], cc=[BOT, QA], text="Plan to panel on Thursday.",
                             when=ANSWERED))
    clock.now = ASKED
    assert [i.kind for i in Ticker(store, config).tick(ASKED)] == ["ask_iro"]
    return ref


def counts(uow: UnitOfWork) -> dict[str, int]:
    return {model.__name__: uow.session.query(model).count() for model in (Escalation, Stage, Message, Event,
                                                                             OutboxMail)}


# ---- summary and detail ------------------------------------------------------------------------------------


def test_escalation_summary(bot: Ingestor, store: Store, clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = opened(bot, thread)
    expected = {
        "reference": ref, "status": "open", "outcome": None, "level": 1, "role": "Team Manager", "addressee": TM,
        "due_on": "2026-12-01", "responded": False, "iro": IRO, "children": ["Jane Doe"],
        "case_numbers": ["123456"], "opened_at": "2026-11-24T09:15:00+00:00", "closed_at": None,
    }
    with store.unit_of_work() as uow:
        assert escalation_summary(uow.escalations.get(ref)) == expected
    clock.now = ANSWERED
    bot.ingest(plain_reply(thread, sender=IRO, to=[TM], cc=[BOT], text="Resolved - plan signed off", when=ANSWERED))
    with store.unit_of_work() as uow:
        summary = escalation_summary(uow.escalations.get(ref))
    assert summary == {**expected, "status": "closed", "outcome": "resolved",
                       "closed_at": "2026-11-25T10:00:00+00:00"}
    assert json.loads(json.dumps(summary)) == summary  # JSON-ready as it is


def test_escalation_detail_has_the_stages_and_one_timeline(bot: Ingestor, store: Store, config: Config,
                                                           clock: Clock) -> None:
    ref = answered_and_asked(bot, store, config, clock)
    with store.unit_of_work() as uow:
        detail = escalation_detail(uow, uow.escalations.get(ref))
    assert json.loads(json.dumps(detail)) == detail
    assert detail["reference"] == ref and detail["responded"] is True
    assert (detail["subject"], detail["outcome_text"]) == (SUBJECT, None)
    assert detail["stages"] == [{
        "level": 1, "role": "Team Manager", "addressee": TM, "copied": [QA, SM], "started_on": "2026-11-24",
        "due_on": "2026-12-01", "due_source": "subject", "responded_at": "2026-11-25T10:00:00+00:00",
        "outcome": None,
    }]
    timeline = detail["timeline"]
    assert [(e["at"], e["event"], e["actor"]) for e in timeline] == [
        ("2026-11-24T09:15:00+00:00", "opened", IRO),
        ("2026-11-25T10:00:00+00:00", "response", TM),
        ("2026-11-27T10:00:00+00:00", "action_done", "bot"),
    ]
    first, response, done = timeline
    assert first["data"]["due_source"] == "subject"
    assert first["mail"]["kind"] == "human" and first["mail"]["from"] == IRO
    assert first["mail"]["direction"] == "in" and first["mail"]["subject"] == SUBJECT
    assert "care plan has not been signed off" in first["mail"]["new_text"]
    assert response["mail"]["new_text"] == "Plan to panel on Thursday."
    assert done == {"at": "2026-11-27T10:00:00+00:00", "event": "action_done", "actor": "bot",
                    "data": {"action": "ask_iro", "key": "L1.ask_iro"}}
    [asked] = detail["mails_out"]  # the bot's own mail, with ISO times as the events have them
    assert {k: asked[k] for k in ("at", "kind", "status", "to", "cc", "sent_at", "key")} == {
        "at": "2026-11-27T10:00:00+00:00", "kind": "ask_iro", "status": "pending", "to": [IRO], "cc": [],
        "sent_at": None, "key": f"{ref}.L1.ask_iro"}
    assert asked["subject"].startswith(f"[{ref}] ")


def test_render_detail_hides_the_clocks_bookkeeping_that_json_keeps(bot: Ingestor, store: Store, config: Config,
                                                                     clock: Clock) -> None:
    ref = answered_and_asked(bot, store, config, clock)
    with store.unit_of_work() as uow:
        detail = escalation_detail(uow, uow.escalations.get(ref))
    text = render_detail(detail)
    assert "action_done" in json.dumps(detail)
    assert "action_done" not in text and "L1.ask_iro" not in text
    lines = text.splitlines()
    assert lines[0] == f"{ref}  open"
    assert lines[1] == f"  subject:  {SUBJECT}"
    assert lines[2] == "  children: Jane Doe    case: 123456"
    assert lines[3] == f"  IRO:      {IRO}"
    assert lines[4] == "  opened:   Tue 24 Nov 2026 09:15 GMT"
    assert (f"    level 1 Team Manager → {TM}; due Tue 1 Dec 2026 (subject), responded Wed 25 Nov 2026 10:00 GMT; "
            "current" in lines)
    assert any(line.startswith("    Tue 24 Nov 2026 09:15 GMT  opened") and f"[human] {SUBJECT}" in line
               for line in lines)
    assert any(line.startswith("    Wed 25 Nov 2026 10:00 GMT  response") for line in lines)
    assert "      | Plan to panel on Thursday." in lines


def test_render_detail_still_shows_the_mail_the_clock_sent(bot: Ingestor, store: Store, config: Config,
                                                           clock: Clock) -> None:
    ref = answered_and_asked(bot, store, config, clock)
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        [asked] = uow.outbox.for_escalation(esc)
        text = render_detail(escalation_detail(uow, esc))
    lines = text.splitlines()
    timeline = lines[lines.index("  timeline:") + 1 :]
    mail = timeline.index(f"    Fri 27 Nov 2026 10:00 GMT  bot mail       bot  [ask_iro] {asked.subject}")
    assert timeline[mail + 1] == f"      to {IRO} — pending"
    assert mail == len(timeline) - 2  # after the manager's response, in time order
    assert any(line.startswith("    Wed 25 Nov 2026 10:00 GMT  response") for line in timeline[:mail])


def test_render_detail_of_a_closed_record_without_a_manager() -> None:
    detail: dict[str, Any] = {
        "reference": "ESC-0009", "status": "closed", "outcome": "withdrawn", "subject": "s", "children": [],
        "case_numbers": [], "iro": None, "outcome_text": "duplicate of ESC-0008",
        "stages": [{"level": 2, "role": "Service Manager", "addressee": None, "due_on": None, "due_source": None,
                    "responded_at": None, "outcome": "withdrawn"}],
        "timeline": [{"at": "2026-11-24T09:15:00+00:00", "event": "withdrawn", "actor": IRO,
                      "data": {"text": "duplicate", "none": None}}],
    }
    assert render_detail(detail).splitlines() == [
        "ESC-0009  closed (withdrawn)",
        "  subject:  s",
        "  children: -    case: -",
        "  IRO:      -",
        "  outcome:  duplicate of ESC-0008",
        "  stages:",
        "    level 2 Service Manager → addressee unknown; no due date; withdrawn",
        "  timeline:",
        f"    Tue 24 Nov 2026 09:15 GMT  withdrawn      {IRO}",
        "      text=duplicate",
    ]


# ---- explain ---------------------------------------------------------------------------------------------------


def test_explain_a_new_escalation_writes_nothing(store: Store, config: Config) -> None:
    raw = outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=OPENED)
    with store.unit_of_work() as uow:
        before = counts(uow)
        info = explain_mail(uow, config, raw, OPENED, None)
        assert counts(uow) == before
        assert not uow.session.new and not uow.session.dirty
        uow.commit()
    with store.unit_of_work() as uow:
        assert counts(uow) == before == {"Escalation": 0, "Stage": 0, "Message": 0, "Event": 0, "OutboxMail": 0}
    assert (info["kind"], info["is_escalation"], info["level"]) == ("human", True, 1)
    assert (info["children"], info["case_numbers"], info["response_date"]) == (["Jane Doe"], ["123456"],
                                                                               "2026-12-01")
    assert (info["would_match"], info["match"], info["from"], info["subject"]) == (None, "new", IRO, SUBJECT)
    assert info["command"] is None and info["extension_requested"] is False
    assert info["message_id"] and "care plan has not been signed off" in info["new_text"]


def test_explain_a_reply_names_the_record_and_the_command(bot: Ingestor, store: Store, config: Config) -> None:
    thread = Thread(SUBJECT)
    ref = opened(bot, thread)
    raw = plain_reply(thread, sender=IRO, to=[TM], cc=[BOT], text="Extend to 11/12/2026", when=ANSWERED)
    with store.unit_of_work() as uow:
        before = counts(uow)
        info = explain_mail(uow, config, raw, ANSWERED, None)
        assert counts(uow) == before
        assert str(uow.escalations.get(ref).current_stage.due_on) == "2026-12-01"  # not extended
    assert (info["would_match"], info["match"]) == (ref, "references")
    assert info["command"]["action"] == "extend" and info["command"]["until"] == date(2026, 12, 11)


def test_explain_received_is_noon_that_day(store: Store, config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[datetime] = []
    real_read = views.read

    def spy(raw: bytes, moment: datetime, cfg: Config) -> Any:
        seen.append(moment)
        return real_read(raw, moment, cfg)

    monkeypatch.setattr(views, "read", spy)
    raw = plain_reply(Thread(SUBJECT), sender=IRO, to=[TM], cc=[BOT], text="Extend to Friday", when=OPENED)
    with store.unit_of_work() as uow:
        given = explain_mail(uow, config, raw, OPENED, date(2026, 12, 3))  # a Thursday
        now = explain_mail(uow, config, raw, OPENED, None)  # Tuesday 24 November, 09:15
    assert seen == [datetime(2026, 12, 3, 12, 0, tzinfo=UTC), OPENED]
    assert given["command"]["until"] == date(2026, 12, 4)  # the Friday after the day it was received
    assert now["command"]["until"] == date(2026, 11, 27)


def test_explain_reads_a_command_on_the_london_day_as_ingest_does(bot: Ingestor, store: Store, config: Config,
                                                                   clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = opened(bot, thread)
    late = datetime(2026, 7, 2, 23, 30, tzinfo=UTC)  # Thursday in UTC, already Friday 3 July 00:30 in London
    clock.now = late
    raw = plain_reply(thread, sender=IRO, to=[TM], cc=[BOT], text="Extend to Friday", when=late)
    with store.unit_of_work() as uow:
        explained = explain_mail(uow, config, raw, late, None)["command"]["until"]
    bot.ingest(raw)
    with store.unit_of_work() as uow:
        obeyed = uow.escalations.get(ref).current_stage.due_on
    assert obeyed == date(2026, 7, 10)  # what the bot does: the Friday after Friday 3 July
    assert explained == obeyed
