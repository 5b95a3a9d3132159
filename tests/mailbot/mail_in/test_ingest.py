"""Ingest: record, match, apply — on a real SQLite store, with realistic mails."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.config import Config
from mailbot.mail_in.ingest import Ingestor
from mailbot.transports.maildir import MaildirSource
from mailbot.transports.source import FetchedMail, MailSource, TransportConnectionError, TransportProtocolError
from store.models import Message
from store.uow import Store
from tests.botsetup import Clock, directory_table, example_config
from tests.mailfactory import (
    BOT,
    IRO,
    QA,
    SM,
    TM,
    Thread,
    exchange_out_of_office,
    outlook_escalation,
    outlook_reply,
    plain_reply,
    postfix_bounce,
)

SUBJECT = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
SUBJECT_2 = "Action - Level 1 escalation - John Roe - MOSAIC 654321 - response by 01/12/2026"
START = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)  # Tuesday


def _timeline(store: Store, ref: str) -> list[tuple[str, str | None]]:
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        return [(e.kind, e.message.kind if e.message else None) for e in uow.events.for_escalation(esc)]


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    """The example council, with Tom's line: Tom (Team Manager) reports to Sara (Service Manager)."""
    return example_config(tmp_path, directory=directory_table(head=None))


def _open(bot: Ingestor, thread: Thread, subject: str = SUBJECT) -> str:
    result = bot.ingest(outlook_escalation(thread, subject=subject, when=START))
    assert result.outcome == "opened", result
    assert result.reference
    return result.reference


def test_escalation_opens_a_record_with_facts_from_the_subject(bot: Ingestor, store: Store) -> None:
    ref = _open(bot, Thread(SUBJECT))
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc.status == "open"
        assert esc.iro_email == IRO
        assert esc.children == ["Jane Doe"]
        assert [c["number"] for c in esc.case_numbers] == ["123456"]
        assert esc.current_level == 1
        stage = esc.current_stage
        assert (stage.addressee_email, stage.role) == (TM, "Team Manager")
        assert stage.due_on == date(2026, 12, 1) and stage.due_source == "subject"
        assert set(stage.copied) == {QA, SM}


def test_due_date_from_policy_when_subject_has_none(bot: Ingestor, store: Store) -> None:
    ref = _open(bot, Thread("s"), "Action - Level 1 escalation - Jane Doe - MOSAIC 123456")
    with store.unit_of_work() as uow:
        stage = uow.escalations.get(ref).current_stage
        # Dorset: 5 working days from Tuesday 24 November 2026
        assert (stage.due_on, stage.due_source) == (date(2026, 12, 1), "policy")
        opened = uow.events.for_escalation(uow.escalations.get(ref))[0]
        assert "due date" in opened.data["inferred"]


def test_replies_oof_and_bounce_thread_into_one_record(bot: Ingestor, store: Store, clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = _open(bot, thread)
    clock.advance(hours=1)
    r1 = bot.ingest(outlook_reply(thread, sender=TM, to=[IRO], cc=[QA, BOT],
                                  text="Hi Jane,\n\nI will get the plan signed off by Friday.\n\nTom", when=clock.now))
    clock.advance(hours=1)
    r2 = bot.ingest(plain_reply(thread, sender=SM, to=[IRO], cc=[BOT], text="Agreed, I will check on Friday.",
                                when=clock.now, references=False))
    r3 = bot.ingest(exchange_out_of_office(thread, sender=QA, when=clock.now))
    r4 = bot.ingest(postfix_bounce(thread, failed="old.manager@example.test", when=clock.now))
    assert [(r.outcome, r.kind, r.how) for r in (r1, r2, r3, r4)] == [
        ("threaded", "human", "references"),
        ("threaded", "human", "conversation"),
        ("threaded", "auto_reply", "references"),
        ("threaded", "bounce", "references"),  # the bounced mail's Message-ID, from the report
    ]
    assert {r.reference for r in (r1, r2, r3, r4)} == {ref}
    assert _timeline(store, ref) == [("opened", "human"), ("response", "human"), ("response", "human"),
                                     ("auto_reply", "auto_reply"), ("bounce", "bounce")]
    with store.unit_of_work() as uow:
        stage = uow.escalations.get(ref).current_stage
        assert stage.responded_at == START + timedelta(hours=1)
        assert stage.due_on == date(2026, 12, 1)


def test_reingesting_changes_nothing(bot: Ingestor, store: Store) -> None:
    thread = Thread(SUBJECT)
    raw = outlook_escalation(thread, subject=SUBJECT, when=START)
    assert bot.ingest(raw).outcome == "opened"
    assert bot.ingest(raw).outcome == "duplicate"
    with store.unit_of_work() as uow:
        assert len(uow.escalations.list()) == 1


def test_out_of_office_does_not_count_as_a_response(bot: Ingestor, store: Store) -> None:
    thread = Thread(SUBJECT)
    ref = _open(bot, thread)
    result = bot.ingest(exchange_out_of_office(thread, sender=TM, when=START))
    assert result.kind == "auto_reply"
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc.current_stage.responded_at is None
        event = uow.events.for_escalation(esc)[-1]
        assert event.data["back_on"] == "2026-12-07"


def test_new_level_two_mail_for_the_same_case_moves_the_record(bot: Ingestor, store: Store, clock: Clock) -> None:
    ref = _open(bot, Thread(SUBJECT))
    clock.advance(days=7)
    level2 = "Action - Level 2 escalation - Jane Doe - MOSAIC 123456 - response by 08/12/2026"
    result = bot.ingest(outlook_escalation(Thread(level2, seed="l2"), subject=level2, when=clock.now, to=SM))
    assert (result.outcome, result.reference) == ("escalated", ref)
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc.current_level == 2
        assert [(s.level, s.outcome) for s in esc.stages] == [(1, "escalated"), (2, None)]
        assert esc.current_stage.addressee_email == SM
        assert esc.current_stage.due_on == date(2026, 12, 8)
        assert len(uow.escalations.list()) == 1


def test_iro_resolves(bot: Ingestor, store: Store) -> None:
    thread = Thread(SUBJECT)
    ref = _open(bot, thread)
    bot.ingest(outlook_reply(thread, sender=IRO, to=[TM], cc=[BOT], text="Resolved – plan signed off",
                             when=START, quoted_from=TM))
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert (esc.status, esc.outcome, esc.outcome_text) == ("closed", "resolved", "plan signed off")


ISSUE_REPLY = ("Resolved – plan signed off\n\nIra\n\nIra Reviewer\nIndependent Reviewing Officer\n"
               "Quality Assurance and Reviewing Service")


@pytest.mark.parametrize(("build", "text", "kept"), [
    (outlook_reply, ISSUE_REPLY, "plan signed off"),
    (plain_reply, ISSUE_REPLY, "plan signed off"),  # iPhone: "Sent from my iPhone" and the quote under it
    (outlook_reply, "Resolved – plan signed off.\nReview booked for 6 January.\n\nThanks\nIra",
     "plan signed off.\nReview booked for 6 January."),
], ids=["outlook", "iphone", "two lines"])
def test_the_outcome_kept_is_the_iros_words_without_the_signature(bot: Ingestor, store: Store, build: object,
                                                                  text: str, kept: str) -> None:
    thread = Thread(SUBJECT)
    ref = _open(bot, thread)
    raw = build(thread, sender=IRO, to=[TM], cc=[BOT], text=text, when=START)  # type: ignore[operator]
    assert bot.ingest(raw).reference == ref
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert (esc.status, esc.outcome, esc.outcome_text) == ("closed", "resolved", kept)
        [resolved] = [e for e in uow.events.for_escalation(esc) if e.kind == "resolved"]
        assert resolved.data == {"text": kept}
        assert resolved.message.new_text == text  # the mail itself is kept as it was written


def test_a_note_is_kept_without_the_signature(bot: Ingestor, store: Store) -> None:
    thread = Thread(SUBJECT)
    ref = _open(bot, thread)
    bot.ingest(outlook_reply(thread, sender=IRO, to=[BOT], cc=[], when=START,
                             text="Note: spoke to Tom by phone, the plan goes to panel on Thursday.\n\nThanks\n\n"
                                  "Ira Reviewer\nIndependent Reviewing Officer\nTel: 01305 224000"))
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        [note] = [e for e in uow.events.for_escalation(esc) if e.kind == "note"]
        assert note.data == {"text": "spoke to Tom by phone, the plan goes to panel on Thursday."}


def test_iro_bypasses_to_level_three(bot: Ingestor, store: Store) -> None:
    thread = Thread(SUBJECT)
    ref = _open(bot, thread)
    bot.ingest(plain_reply(thread, sender=IRO, to=[TM], cc=[BOT], text="Escalate to level 3", when=START))
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc.current_level == 3
        assert esc.current_stage.role == "Head of Locality"
        [escalated] = [e for e in uow.events.for_escalation(esc) if e.kind == "escalated"]
        assert escalated.data["bypass"] is True


def test_extension_requested_by_manager_and_agreed_by_iro(bot: Ingestor, store: Store) -> None:
    thread = Thread(SUBJECT)
    ref = _open(bot, thread)
    bot.ingest(plain_reply(thread, sender=TM, to=[IRO], cc=[BOT],
                           text="Could I have an extension until 11/12/2026 please? The panel sits on the 10th.",
                           when=START))
    bot.ingest(plain_reply(thread, sender=IRO, to=[TM], cc=[BOT], text="I agree to the extension", when=START))
    with store.unit_of_work() as uow:
        stage = uow.escalations.get(ref).current_stage
        assert (stage.due_on, stage.due_source) == (date(2026, 12, 11), "extension")


def test_commands_from_a_manager_are_not_obeyed(bot: Ingestor, store: Store) -> None:
    thread = Thread(SUBJECT)
    ref = _open(bot, thread)
    bot.ingest(plain_reply(thread, sender=TM, to=[IRO], cc=[BOT], text="Resolved", when=START))
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc.status == "open"
        assert uow.events.for_escalation(esc)[-1].kind == "response"


def test_qa_manager_may_command(bot: Ingestor, store: Store) -> None:
    thread = Thread(SUBJECT)
    ref = _open(bot, thread)
    bot.ingest(plain_reply(thread, sender=QA, to=[TM], cc=[BOT], text="Withdraw", when=START))
    with store.unit_of_work() as uow:
        assert uow.escalations.get(ref).outcome == "withdrawn"


def test_outside_domain_command_is_refused(bot: Ingestor, store: Store) -> None:
    thread = Thread(SUBJECT)
    ref = _open(bot, thread)
    bot.ingest(plain_reply(thread, sender="someone@gmail.com", to=[IRO], cc=[BOT], text="Resolved", when=START))
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc.status == "open"
        assert uow.events.for_escalation(esc)[-1].kind == "command_refused"


def test_unmatched_mail_is_kept_for_attention(bot: Ingestor, store: Store) -> None:
    raw = plain_reply(Thread("Lunch on Friday?"), sender=TM, to=[IRO], cc=[BOT], text="Shall we?", when=START)
    result = bot.ingest(raw)
    assert result.outcome == "unmatched" and result.needs_attention
    with store.unit_of_work() as uow:
        (msg,) = uow.messages.attention()
        assert msg.raw == raw


def test_unreadable_mail_is_kept_and_flagged(bot: Ingestor, store: Store) -> None:
    raw = b"\x00\xff\xfe garbage that is not a mail \x00"
    result = bot.ingest(raw)
    assert result.outcome == "attention"
    assert bot.ingest(raw).outcome == "duplicate"
    with store.unit_of_work() as uow:
        (msg,) = uow.messages.attention()
        assert msg.raw == raw
        assert msg.state == "attention"


def test_a_failure_while_applying_keeps_the_mail_and_goes_on(
    bot: Ingestor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(bot.applier, "open", broken)
    raw = outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=START)
    result = bot.ingest(raw, source_key="maildir:x", cursor="c1")
    assert (result.outcome, result.reason) == ("attention", "RuntimeError")
    with store.unit_of_work() as uow:
        (msg,) = uow.messages.attention()
        assert msg.raw == raw and "RuntimeError" in msg.attention_reason
        assert uow.cursors.get("maildir:x") == "c1"
        assert uow.escalations.list() == []


def test_poll_reads_a_maildir_and_settles(bot: Ingestor, store: Store, tmp_path: Path) -> None:
    source = MaildirSource(tmp_path / "inbox")
    thread = Thread(SUBJECT)
    source.drop(outlook_escalation(thread, subject=SUBJECT, when=START))
    source.drop(b"not a mail")
    results = bot.poll(source)
    assert sorted(r.outcome for r in results) == ["attention", "opened"]
    assert list(source.fetch(None)) == []
    assert bot.poll(source) == []


# ---- a stop between recording a mail and settling it --------------------------------------------------------


class ListSource:
    """A mailbox in memory whose cursor, like a Graph delta link or an EWS sync state, cannot be wound back: mails
    after the cursor (how many were handed out) are handed out; each ``settle`` is kept, or raises ``fail``'s next."""

    key = "list:test"

    def __init__(self, *mails: bytes) -> None:
        self.mails = list(mails)
        self.settled: list[tuple[str, str]] = []
        self.fail: list[Exception] = []

    def fetch(self, cursor: str | None, limit: int = 200) -> Iterator[FetchedMail]:
        start = int(cursor or 0)
        for n, raw in enumerate(self.mails[start : start + limit], start + 1):
            yield FetchedMail(raw=raw, ref=f"m{n}", cursor=str(n))

    def settle(self, ref: str, outcome: str) -> None:
        if self.fail:
            raise self.fail.pop(0)
        self.settled.append((ref, outcome))

    def wait(self, timeout: float) -> bool:
        return False

    def close(self) -> None:
        pass


def _record_then_stop(bot: Ingestor, source: ListSource, count: int) -> list[str]:
    """Record the first ``count`` mails as a poll would, and stop before settling the last of them."""
    outcomes = []
    for fetched in list(source.fetch(None, count)):
        outcomes.append(bot.ingest(fetched.raw, source_key=source.key, source_ref=fetched.ref,
                                   cursor=fetched.cursor).outcome)
        if fetched.ref != f"m{count}":
            source.settle(fetched.ref, "processed")
    return outcomes


def _messages(store: Store) -> int:
    with store.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Message)) or 0)


def test_the_mail_recorded_before_a_stop_is_settled_at_the_next_start_as_it_was_read(
    store: Store, config: Config, clock: Clock
) -> None:
    unreadable = b"\x00\xff\xfe garbage that is not a mail \x00"
    escalation = outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=START)
    source = ListSource(unreadable, escalation)
    assert isinstance(source, MailSource)
    assert _record_then_stop(Ingestor(store, config, clock), source, 1) == ["attention"]
    assert source.settled == []

    restarted = Ingestor(store, config, clock)
    results = restarted.poll(source)

    assert [r.outcome for r in results] == ["opened"]  # the mail not recorded before: read as usual
    # then the mail kept for attention goes where its first reading would have sent it
    assert source.settled == [("m2", "processed"), ("m1", "attention")]
    assert restarted.poll(source) == [] and len(source.settled) == 2  # once per start
    assert _messages(store) == 2


def test_a_mail_handed_out_again_is_not_settled_twice(store: Store, config: Config, clock: Clock) -> None:
    source = ListSource(outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=START))
    result = Ingestor(store, config, clock).ingest(source.mails[0], source_key=source.key, source_ref="m1")
    assert result.outcome == "opened"  # recorded without its cursor: the source hands it out again

    results = Ingestor(store, config, clock).poll(source)

    assert [r.outcome for r in results] == ["duplicate"]
    assert source.settled == [("m1", "processed")]
    assert _messages(store) == 1


def test_an_unreachable_mailbox_is_tried_again_at_the_next_poll_other_failures_are_not(
    store: Store, config: Config, clock: Clock
) -> None:
    source = ListSource(outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=START))
    _record_then_stop(Ingestor(store, config, clock), source, 1)
    source.fail = [TransportConnectionError("lost the server")]
    restarted = Ingestor(store, config, clock)

    assert restarted.poll(source) == []
    assert source.settled == []
    assert restarted.poll(source) == []
    assert source.settled == [("m1", "processed")]  # the second poll tried again

    assert Ingestor(store, config, clock).poll(source) == []
    assert source.settled == [("m1", "processed")]  # settled and noted so: a later start leaves it alone

    source.mails.append(outlook_escalation(Thread(SUBJECT_2, seed="second"), subject=SUBJECT_2, when=START))
    assert Ingestor(store, config, clock).ingest(source.mails[1], source_key=source.key, source_ref="m2",
                                                 cursor="2").outcome == "opened"  # and a stop before settling
    again = Ingestor(store, config, clock)
    source.fail = [TransportProtocolError("refused")]
    assert again.poll(source) == []
    assert again.poll(source) == [] and source.settled == [("m1", "processed")]  # logged, not tried again
    assert source.fail == []


def test_themes_from_the_escalation_and_from_the_iro_later(bot: Ingestor, store: Store) -> None:
    thread = Thread(SUBJECT)
    raw = outlook_escalation(thread, subject=SUBJECT, when=START,
                             concern="The plan has drifted again.\n\nTheme: Drift or delay in care planning")
    ref = bot.ingest(raw).reference
    bot.ingest(plain_reply(thread, sender=IRO, to=[TM], cc=[BOT], text="Themes: Education; Housing", when=START))
    bot.ingest(plain_reply(thread, sender=TM, to=[IRO], cc=[BOT], text="Theme: Health", when=START))  # not obeyed
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc.themes == ["Drift or delay in care planning", "Education", "Housing"]
        [event] = [e for e in uow.events.for_escalation(esc) if e.kind == "themes"]
        assert event.data == {"added": ["Education", "Housing"], "not_in_policy": ["Housing"]}


class BatchSource(ListSource):
    """A source that settles many mails at once, as IMAP does with one UID MOVE."""

    def __init__(self, *mails: bytes) -> None:
        super().__init__(*mails)
        self.calls: list[tuple[str, ...]] = []

    def settle_many(self, refs: list[str], outcome: str) -> None:
        self.calls.append((outcome, *refs))


def test_a_batch_is_on_the_disk_before_any_of_its_mails_leaves_the_inbox(
    store: Store, config: Config, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    escalation = outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=START)
    source = BatchSource(b"\x00\xff not a mail", escalation, b"\x00\xfe nor this")
    durable = store.make_durable

    def noted() -> None:
        source.calls.append(("durable", str(_messages(store))))
        durable()

    monkeypatch.setattr(store, "make_durable", noted)
    results = Ingestor(store, config, clock).poll(source)

    assert [r.outcome for r in results] == ["attention", "opened", "attention"]
    # every mail recorded, one wait for the disk, then one settling for each outcome, in the order read
    assert source.calls == [("durable", "3"), ("processed", "m2"), ("attention", "m1", "m3")]
    assert source.settled == []  # never one by one


def test_mails_left_in_the_inbox_by_a_stop_after_a_batch_are_settled_at_the_next_start(
    store: Store, config: Config, clock: Clock
) -> None:
    mails = [outlook_escalation(Thread(SUBJECT, seed=f"t{n}"), subject=SUBJECT, when=START) for n in range(4)]
    source = BatchSource(*mails)
    bot = Ingestor(store, config, clock)
    bot.poll(source)
    assert source.calls == [("processed", "m1", "m2", "m3", "m4")]
    source.mails.append(outlook_escalation(Thread(SUBJECT, seed="t5"), subject=SUBJECT, when=START))
    for fetched in list(source.fetch("4", 10)):  # recorded, then a stop before the batch was settled
        bot.ingest(fetched.raw, source_key=source.key, source_ref=fetched.ref, cursor=fetched.cursor, durable=False)

    source.calls.clear()
    Ingestor(store, config, clock).poll(source)
    assert source.calls == [("processed", "m5")]  # only what the stop left: the rest was noted as settled
    source.calls.clear()
    Ingestor(store, config, clock).poll(source)
    assert source.calls == []
