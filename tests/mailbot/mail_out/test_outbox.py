"""queue_mail: the bot's own mail queued once per key, with its Message-ID, headers, threading, recipients inside
the council's domains only, and the bot's copy in the message log — on a real SQLite store."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from mailbot.config import Config
from mailbot.mail_in.ingest import Ingestor
from mailbot.mail_out.outbox import bot_domain, message_id_for, queue_mail, tagged, thread_of
from store.models import Message
from store.uow import Store
from tests.botsetup import Clock
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
)

SUBJECT = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
OPENED = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)  # Tuesday
LATER = OPENED + timedelta(hours=2)


def open_escalation(bot: Ingestor, thread: Thread, subject: str = SUBJECT) -> str:
    result = bot.ingest(outlook_escalation(thread, subject=subject, when=OPENED))
    assert result.outcome == "opened"
    return result.reference or ""


def event_kinds(store: Store, ref: str) -> list[str]:
    with store.unit_of_work() as uow:
        return [e.kind for e in uow.events.for_escalation(uow.escalations.get(ref))]


# ---- once per key ------------------------------------------------------------------------------------------


def test_a_key_is_queued_once_and_the_second_call_returns_the_same_row(bot: Ingestor, store: Store,
                                                                       config: Config) -> None:
    ref = open_escalation(bot, Thread(SUBJECT))
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        first = queue_mail(uow, config, key=f"{ref}.note", kind="note", to=[TM], cc=[QA], subject="First",
                           text="one", escalation=esc, now=OPENED)
        again = queue_mail(uow, config, key=f"{ref}.note", kind="other", to=[SM], subject="Second", text="two",
                           escalation=esc, now=LATER)
        assert first is not None and again is first
        uow.commit()
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        [row] = uow.outbox.for_escalation(esc)
        assert (row.kind, row.to_emails, row.cc_emails, row.subject, row.body_text) == (
            "note", [TM], [QA], f"[{ref}] First", "one")
        assert [m.source_ref for m in uow.messages.for_escalation(esc) if m.direction == "out"] == [f"{ref}.note"]
    with store.unit_of_work() as uow:  # and in a later transaction too
        later = queue_mail(uow, config, key=f"{ref}.note", kind="note", to=[SM], subject="Third", text="three",
                           now=LATER)
        assert later is not None and (later.id, later.subject, later.to_emails) == (row.id, f"[{ref}] First", [TM])


# ---- Message-ID --------------------------------------------------------------------------------------------


def test_message_id_is_made_from_the_key() -> None:
    made = message_id_for("ESC-0042.L2.chase.-2@2026-12-07", "council.gov.uk")
    assert made == message_id_for("ESC-0042.L2.chase.-2@2026-12-07", "council.gov.uk")
    readable, _, domain = made.rpartition("@")
    assert domain == "council.gov.uk"
    assert readable.startswith("esc-0042.l2.chase.-2.2026-12-07.")
    assert len(readable.rsplit(".", 1)[1]) == 8  # the hash that keeps look-alike keys apart
    assert "<" not in made and ">" not in made
    # two keys that read alike once cleaned still get different ids
    assert message_id_for("ESC-1 note", "x.test") != message_id_for("ESC-1.note", "x.test")
    assert message_id_for("", "x.test").startswith("mail.")


def test_the_queued_row_has_the_message_id_of_its_key(store: Store, config: Config) -> None:
    with store.unit_of_work() as uow:
        row = queue_mail(uow, config, key="ESC-0007.L1.chase.0@2026-12-01", kind="chaser", to=[TM], subject="s",
                         text="t", now=OPENED)
        assert row is not None
        assert bot_domain(config) == "example.test"
        assert row.message_id == message_id_for("ESC-0007.L1.chase.0@2026-12-01", "example.test")
        assert row.headers["X-IRO-Mailbot-Key"] == "ESC-0007.L1.chase.0@2026-12-01"
        assert row.from_email == BOT


# ---- subject and headers -----------------------------------------------------------------------------------


def test_the_subject_is_tagged_with_the_reference_once() -> None:
    assert tagged("Reminder: Level 1", "ESC-0042") == "[ESC-0042] Reminder: Level 1"
    assert tagged("RE: [ESC-0042] Reminder", "ESC-0042") == "RE: [ESC-0042] Reminder"
    assert tagged("Digest", None) == "Digest"


def test_queued_mail_is_tagged_auto_submitted_and_marked(bot: Ingestor, store: Store, config: Config) -> None:
    ref = open_escalation(bot, Thread(SUBJECT))
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        row = queue_mail(uow, config, key=f"{ref}.note", kind="note", to=[TM], subject="Reminder", text="t",
                         escalation=esc, now=OPENED)
        tagged_already = queue_mail(uow, config, key=f"{ref}.again", kind="note", to=[TM],
                                    subject=f"[{ref}] Reminder", text="t", escalation=esc, now=OPENED)
        free = queue_mail(uow, config, key="digest.week.2026-11-29", kind="digest", to=[QA], subject="Digest",
                          text="t", now=OPENED)
        assert row is not None and tagged_already is not None and free is not None
        assert row.subject == tagged_already.subject == f"[{ref}] Reminder"
        assert free.subject == "Digest"
        assert row.headers["Auto-Submitted"] == "auto-generated"
        assert row.headers["X-Auto-Response-Suppress"] == "All"
        assert row.headers["X-IRO-Mailbot-Reference"] == ref
        assert free.headers["Auto-Submitted"] == "auto-generated"
        assert "X-IRO-Mailbot-Reference" not in free.headers
        assert "In-Reply-To" not in free.headers and "References" not in free.headers


# ---- threading ------------------------------------------------------------------------------------------------


def test_in_reply_to_and_references_put_the_mail_in_the_records_conversation(bot: Ingestor, store: Store,
                                                                              config: Config, clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = open_escalation(bot, thread)
    root = thread.ids[0].strip("<>")
    domain = bot_domain(config)
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        found = thread_of(esc, [TM], now=OPENED, domain=domain)
        assert found is not None and (found.in_reply_to, found.references) == (root, (root,))
        assert thread_of(None, [TM], now=OPENED, domain=domain) is None
        first = queue_mail(uow, config, key=f"{ref}.one", kind="note", to=[TM], subject="s", text="t",
                           escalation=esc, now=OPENED + timedelta(minutes=1))
        assert first is not None
        assert first.headers["In-Reply-To"] == f"<{root}>"
        assert first.headers["References"] == f"<{root}>"
        uow.commit()
    clock.now = LATER  # received then
    bot.ingest(outlook_reply(thread, sender=TM, to=[IRO], cc=[BOT], text="On it.", when=LATER))
    reply = thread.ids[-1].strip("<>")
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        found = thread_of(esc, [TM], now=LATER, domain=domain)
        assert found is not None and (found.in_reply_to, found.references) == (reply, (root, first.message_id, reply))
        second = queue_mail(uow, config, key=f"{ref}.two", kind="note", to=[TM], subject="s", text="t",
                            escalation=esc, now=LATER + timedelta(minutes=1))
        assert second is not None
        assert second.headers["In-Reply-To"] == f"<{reply}>"
        assert second.headers["References"] == f"<{root}> <{first.message_id}> <{reply}>"


def test_a_long_conversation_keeps_the_root_and_the_latest_nine(bot: Ingestor, store: Store, config: Config) -> None:
    thread = Thread(SUBJECT)
    ref = open_escalation(bot, thread)
    root = thread.ids[0].strip("<>")
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        ids = [root]
        for n in range(12):
            row = queue_mail(uow, config, key=f"{ref}.n{n}", kind="note", to=[TM], subject="s", text="t",
                             escalation=esc, now=OPENED + timedelta(minutes=n + 1))
            assert row is not None
            ids.append(row.message_id)
        found = thread_of(esc, [TM], now=OPENED + timedelta(hours=1), domain=bot_domain(config))
        assert found is not None and found.in_reply_to == ids[-1]
        assert found.references == (root, *ids[-9:])


def test_a_reminder_is_never_threaded_under_an_out_of_office(bot: Ingestor, store: Store, config: Config,
                                                             clock: Clock) -> None:
    """The Service Manager's automatic reply is the latest mail they "took part in"; the reminder still answers
    the IRO's mail (SM was copied on it), so it is read with the concern, not filed under the automatic reply."""
    thread = Thread(SUBJECT)
    ref = open_escalation(bot, thread)
    root = thread.ids[0].strip("<>")
    clock.now = LATER
    assert bot.ingest(exchange_out_of_office(thread, sender=SM, when=LATER)).kind == "auto_reply"
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        [auto] = [m for m in esc.messages if m.kind == "auto_reply"]
        row = queue_mail(uow, config, key=f"{ref}.remind", kind="chase", to=[SM], subject="s", text="t",
                         escalation=esc, now=LATER + timedelta(minutes=5))
        assert row is not None
        assert row.headers["In-Reply-To"] == f"<{root}>" and auto.message_id not in row.headers["References"]


def test_an_outsiders_mail_kept_for_attention_is_never_a_parent(bot: Ingestor, store: Store, config: Config,
                                                               clock: Clock) -> None:
    thread = Thread(SUBJECT)
    ref = open_escalation(bot, thread)
    root = thread.ids[0].strip("<>")
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        uow.messages.add(Message(identity="outsider-1@evil.example", message_id="outsider-1@evil.example",
                                 escalation=esc, direction="in", kind="human", from_email="x@evil.example",
                                 to_emails=[TM], received_at=LATER, state="attention"))
        uow.commit()
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        row = queue_mail(uow, config, key=f"{ref}.x", kind="note", to=[TM], subject="s", text="t",
                         escalation=esc, now=LATER + timedelta(minutes=1))
        assert row is not None and row.headers["In-Reply-To"] == f"<{root}>"
        assert "evil.example" not in row.headers["References"]


def test_outlook_groups_the_bots_mail_with_the_iros_conversation(bot: Ingestor, store: Store,
                                                                 config: Config) -> None:
    thread = Thread(SUBJECT)
    ref = open_escalation(bot, thread)
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        row = queue_mail(uow, config, key=f"{ref}.y", kind="note", to=[TM], subject="Reminder", text="t",
                         escalation=esc, now=OPENED + timedelta(hours=3))
        assert row is not None
        index = base64.b64decode(row.headers["Thread-Index"])
        assert index[:22] == thread.root_index and len(index) == 22 + 5  # the IRO's conversation, one reply on
        assert row.headers["Thread-Topic"] == SUBJECT
        [copy] = [m for m in esc.messages if m.direction == "out"]
        assert copy.thread_index == row.headers["Thread-Index"] and copy.conversation_key == thread.conversation_key


# ---- recipients ---------------------------------------------------------------------------------------------


def test_mail_outside_the_domains_is_refused_and_recorded(bot: Ingestor, store: Store, config: Config) -> None:
    ref = open_escalation(bot, Thread(SUBJECT))
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        row = queue_mail(uow, config, key=f"{ref}.test", kind="note", to=[IRO, "someone@elsewhere.example"],
                         cc=["x@example.test.evil.example", QA], subject="s", text="t", escalation=esc, now=OPENED)
        nobody = queue_mail(uow, config, key=f"{ref}.test2", kind="note", to=["someone@elsewhere.example"],
                            subject="s", text="t", escalation=esc, now=OPENED)
        uow.commit()
    assert (row.to_emails, row.cc_emails, row.status) == ([IRO], [QA], "pending")
    assert nobody.status == "refused"
    with store.unit_of_work() as uow:
        events = [e for e in uow.events.for_escalation(uow.escalations.get(ref)) if "refused" in e.kind]
        assert [e.kind for e in events] == ["recipient_refused", "recipient_refused", "mail_refused"]
        assert events[0].data["refused"] == ["someone@elsewhere.example", "x@example.test.evil.example"]


def test_the_refusal_names_the_mail_and_why(bot: Ingestor, store: Store, config: Config) -> None:
    ref = open_escalation(bot, Thread(SUBJECT))
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        partly = queue_mail(uow, config, key=f"{ref}.partly", kind="note", to=[TM],
                            cc=["Outside@Elsewhere.Example"], subject="s", text="t", escalation=esc, now=OPENED)
        nobody = queue_mail(uow, config, key=f"{ref}.nobody", kind="chaser", to=["x@elsewhere.example"],
                            cc=[QA], subject="s", text="t", escalation=esc, now=OPENED)
        assert partly is not None and nobody is not None
        assert (partly.status, partly.to_emails, partly.cc_emails) == ("pending", [TM], [])
        assert (nobody.status, nobody.to_emails, nobody.cc_emails) == ("refused", [], [QA])
        assert nobody.last_error == "no recipient inside council.domains"
        refusals = [e.data for e in uow.events.for_escalation(esc) if "refused" in e.kind]
        assert refusals == [
            {"mail": f"{ref}.partly", "refused": ["outside@elsewhere.example"], "reason": "outside council.domains"},
            {"mail": f"{ref}.nobody", "refused": ["x@elsewhere.example"], "reason": "outside council.domains"},
            {"mail": f"{ref}.nobody", "kind": "chaser"},
        ]
        # a refused mail is never sent, so it has no copy in the message log; the partly refused one has
        outgoing = [m.source_ref for m in uow.messages.for_escalation(esc) if m.direction == "out"]
        assert outgoing == [f"{ref}.partly"]
        assert [r.key for r in uow.outbox.pending(datetime(2100, 1, 1, tzinfo=UTC))] == [f"{ref}.partly"]


def test_the_bot_never_copies_itself(store: Store, config: Config) -> None:
    with store.unit_of_work() as uow:
        row = queue_mail(uow, config, key="k1", kind="note", to=[TM, "TOM.MANAGER@example.test "],
                         cc=[BOT, "IRO-Escalations@Example.TEST", QA, TM], subject="s", text="t", now=OPENED)
        assert row is not None
        assert row.to_emails == [TM]  # cleaned: lower case, once
        assert row.cc_emails == [QA]  # neither the bot nor someone already in To
        assert row.from_email == BOT


# ---- the bot's copy in the message log ----------------------------------------------------------------------


def test_the_bots_copy_is_added_to_the_message_log(bot: Ingestor, store: Store, config: Config) -> None:
    ref = open_escalation(bot, Thread(SUBJECT))
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        row = queue_mail(uow, config, key=f"{ref}.note", kind="note", to=[TM], cc=[QA, BOT], subject="Reminder",
                         text="Dear Tom", escalation=esc, now=LATER)
        free = queue_mail(uow, config, key="digest.week.2026-11-29", kind="digest", to=[QA], subject="Digest",
                          text="figures", now=LATER)
        assert row is not None and free is not None
        uow.commit()
    with store.unit_of_work() as uow:
        copy = uow.messages.get_by_identity(row.message_id)
        assert copy is not None
        assert (copy.direction, copy.kind, copy.state, copy.escalation.reference) == ("out", "bot", "matched", ref)
        assert (copy.message_id, copy.from_email, copy.to_emails, copy.cc_emails) == (row.message_id, BOT, [TM],
                                                                                      [QA])
        assert (copy.subject, copy.new_text, copy.received_at, copy.sent_at) == (f"[{ref}] Reminder", "Dear Tom",
                                                                                 LATER, None)
        assert (copy.source_key, copy.source_ref) == ("outbox", f"{ref}.note")
        assert copy.in_reply_to == [row.headers["In-Reply-To"].strip("<>")]
        unattached = uow.messages.get_by_identity(free.message_id)
        assert unattached is not None and (unattached.escalation, unattached.state) == (None, "recorded")
        # a reply to the bot's mail threads into the record by it
        assert uow.messages.find_escalation_for_message_ids([row.message_id]).reference == ref
    assert "recipient_refused" not in event_kinds(store, ref)
