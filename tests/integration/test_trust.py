"""Who may act on a record, on real servers: hostile mail in the shared mailbox changes nothing people rely on.

A council on IMAP whose gateway is the test SMTP server (tests/servers.py stamps every mail it delivers with
``Authentication-Results: gateway.example.test; … dmarc=pass|fail``) and whose ``[security]`` trusts that stamp and
nothing else (no trial settings). The IRO's legitimate escalation goes through the gateway to the manager and the
shared mailbox and opens a record; then each test puts one hostile mail into the shared mailbox the way an
attacker would, polls once, and checks what people would see: the record (status, level, addressee, due date), the
audit trail, the poll's verdict, the notice to the IRO — and that the bot never queued a mail outside the council.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import smtplib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.cli.views import escalation_detail, escalation_summary
from mailbot.config import load_config
from mailbot.mail_in.ingest import IngestResult
from mailbot.mail_in.reading import read
from mailbot.transports.imap import ImapSource
from store.models import Event, Message
from tests.botsetup import Clock, directory_people, write_gateway_config
from tests.servers import DEFAULT_PASSWORD, GATEWAY_ID, DovecotServer, SmtpServer

pytestmark = pytest.mark.integration

DOMAIN = "example.test"
ATTACKER = "attacker@evil.example"
PARTNER = "someone@partner.example"
CHILD, CASE = "Amy Khan", "445566"
SUBJECT = f"Action - Level 1 escalation - {CHILD} - MOSAIC {CASE} - response by 14/12/2026"
DUE = "2026-12-14"
OPENED = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)  # Monday; London is UTC in December
PASSWORD_ENV = "MAILBOT_TEST_TRUST_PASSWORD"


# ---- the council -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cast:
    """This test's people (fresh addresses, so no other test's mail is in their mailboxes)."""

    bot: str
    iro: str
    tm: str
    sm: str
    qa: str
    helpdesk: str


def write_config(tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer, cast: Cast) -> Path:
    people = [{"email": cast.iro, "name": "Jane Reviewer", "role": "IRO"},
              *directory_people(tm=cast.tm, sm=cast.sm, head=None)]
    return write_gateway_config(tmp_path, dovecot, smtp, address=cast.bot, password_env=PASSWORD_ENV, people=people,
                                qa_managers=[cast.qa], processed_folder="Processed",
                                attention_folder="Needs attention")


def exchange_id(seed: str) -> str:
    """A Message-ID shaped like Exchange Online's (79 characters)."""
    server = "LO2P265MB7856"
    return f"<{server}{hashlib.sha256(seed.encode()).hexdigest()[:25].upper()}@{server}.GBRP265.PROD.OUTLOOK.COM>"


def raw_mail(*, from_: str, to: Sequence[str], subject: str, text: str, when: datetime, seed: str,
             cc: Sequence[str] = (), in_reply_to: str | None = None, headers: Sequence[tuple[str, str]] = ()) -> bytes:
    """A plain-text mail; ``From`` and ``headers`` are written exactly as given (hostile ones included)."""
    msg = EmailMessage()
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = exchange_id(seed)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg["Content-Language"] = "en-GB"
    msg.set_content(text)
    verbatim = "".join(f"{name}: {value}\r\n" for name, value in [("From", from_), *headers])
    return verbatim.encode() + msg.as_bytes(policy=email.policy.SMTP)


@dataclass
class Council:
    """The running bot (one App, in this process) and its world."""

    app: App
    clock: Clock
    cast: Cast
    smtp: SmtpServer
    dovecot: DovecotServer
    ref: str
    escalation_id: str  # the Message-ID of the IRO's escalation, with brackets

    # -- putting mail in, as people and attackers do ----------------------------------------------------------

    def through_gateway(self, raw: bytes, *, envelope_from: str, rcpts: Sequence[str] = ()) -> None:
        """Send through the council's gateway (it stamps Authentication-Results by the envelope sender)."""
        with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=10) as client:
            client.sendmail(envelope_from, list(rcpts) or [self.cast.bot], raw)

    def straight_in(self, raw: bytes) -> None:
        """Appended into the shared mailbox over IMAP: no gateway, no stamp."""
        self.dovecot.append(self.cast.bot, raw)

    def reply(self, *, from_: str, text: str, seed: str, headers: Sequence[tuple[str, str]] = (),
              subject: str = f"RE: {SUBJECT}", to: Sequence[str] = ()) -> bytes:
        return raw_mail(from_=from_, to=to or [self.cast.bot], subject=subject, text=text, seed=seed,
                        when=self.clock.now, in_reply_to=self.escalation_id, headers=headers)

    def poll(self, *, after: timedelta = timedelta(minutes=5)) -> list[IngestResult]:
        self.clock.advance(seconds=after.total_seconds())
        return self.app.poll_once()

    def poll_one(self) -> IngestResult:
        [result] = self.poll()
        return result

    # -- what people would see --------------------------------------------------------------------------------

    def detail(self) -> dict[str, Any]:
        """What ``mailbot show REF --json`` prints."""
        with self.app.store.unit_of_work() as uow:
            esc = uow.escalations.get(self.ref)
            assert esc is not None
            return escalation_detail(uow, esc)

    def records(self) -> list[dict[str, Any]]:
        """What ``mailbot list --json`` prints."""
        with self.app.store.unit_of_work() as uow:
            return [escalation_summary(e) for e in uow.escalations.list()]

    def outbox(self) -> list[dict[str, Any]]:
        """Every mail the bot ever queued, oldest first."""
        with self.app.store.unit_of_work() as uow:
            rows = reversed(uow.outbox.by_status(limit=10_000))
            return [{"kind": r.kind, "to": list(r.to_emails or []), "cc": list(r.cc_emails or []),
                     "status": r.status, "subject": r.subject} for r in rows]

    def events(self, kind: str) -> list[dict[str, Any]]:
        """Every event of ``kind``, with or without a record."""
        with self.app.store.unit_of_work() as uow:
            found = uow.session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id))
            return [{"actor": e.actor, "data": dict(e.data or {}), "escalation": e.escalation_id,
                     "message": e.message.identity if e.message else None} for e in found]

    def why_unproven(self, result: IngestResult) -> tuple[str, ...]:
        """The authenticity verdict's reasons for a mail the bot kept (its raw bytes, as they arrived)."""
        with self.app.store.unit_of_work() as uow:
            msg = uow.session.scalars(select(Message).where(Message.identity == result.identity)).one()
            assert msg.raw is not None
            reading = read(msg.raw, self.clock.now, self.app.config)
        assert not reading.proven
        return reading.proof

    def gateway_stamp(self, result: IngestResult) -> str:
        """The Authentication-Results the council's gateway wrote on a mail the bot kept ("" when none)."""
        with self.app.store.unit_of_work() as uow:
            msg = uow.session.scalars(select(Message).where(Message.identity == result.identity)).one()
            assert msg.raw is not None
            parsed = email.message_from_bytes(msg.raw, policy=email.policy.compat32)
        return next((str(v) for v in parsed.get_all("Authentication-Results") or [] if str(v).startswith(GATEWAY_ID)),
                    "")

    def inbox(self, address: str) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
                for raw in self.dovecot.messages(address)]

    def sent_by_bot(self) -> list[tuple[str, ...]]:
        """The recipients of every mail the bot handed to the mail server (its own copy left out)."""
        return [tuple(r for r in m.rcpt_tos if r != self.cast.bot) for m in self.smtp.received
                if m.mail_from == self.cast.bot]


@pytest.fixture
def council(tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Council]:
    monkeypatch.setenv(PASSWORD_ENV, DEFAULT_PASSWORD)  # the SMTP sender looks in the mailbox for its own copies
    tag = uuid.uuid4().hex[:8]
    cast = Cast(*(f"{who}-{tag}@{DOMAIN}" for who in ("escalations", "jane.iro", "tom.manager", "sara.service",
                                                        "quinn.qa", "helpdesk")))
    dovecot.add_user(cast.bot, DEFAULT_PASSWORD)
    config = load_config(write_config(tmp_path, dovecot, smtp, cast))
    assert config.security.trusted_authserv_ids == (GATEWAY_ID,)
    assert (config.security.internal_requires, config.security.external_requires) == ("proof", "dmarc")
    clock = Clock(OPENED)
    source = ImapSource(dovecot.host, dovecot.imap_port, cast.bot, password=DEFAULT_PASSWORD, security="none",
                        processed_folder="Processed", attention_folder="Needs attention", timeout=5)
    app = App(config, clock=clock, source=source)
    try:
        # the IRO's escalation, from their mail client through the gateway to the manager and the shared mailbox
        escalation_id = exchange_id(f"{tag}/escalation")
        raw = raw_mail(from_=f"Jane Reviewer <{cast.iro}>", to=[f"Tom Manager <{cast.tm}>"],
                       cc=[cast.qa, cast.bot], subject=SUBJECT, when=OPENED, seed=f"{tag}/escalation",
                       text="Tom,\n\nAmy's care plan has not been signed off and the placement review is overdue. "
                            "Please respond by the date in the subject.\n\nJane Reviewer\nIRO")
        world = Council(app, clock, cast, smtp, dovecot, "", escalation_id)
        world.through_gateway(raw, envelope_from=cast.iro, rcpts=[cast.tm, cast.qa, cast.bot])
        [opened] = world.poll()
        assert opened.outcome == "opened", opened
        world.ref = opened.reference or ""
        detail = world.detail()
        assert (detail["status"], detail["level"], detail["addressee"], detail["due_on"]) == ("open", 1, cast.tm, DUE)
        yield world
    finally:
        app.close()


# ---- what every refusal must look like ----------------------------------------------------------------------


def assert_untouched(council: Council) -> dict[str, Any]:
    """The record is as the IRO opened it: open, Level 1, Tom, due 14/12, unanswered, one stage."""
    detail = council.detail()
    assert (detail["status"], detail["outcome"], detail["level"], detail["addressee"], detail["due_on"]) == (
        "open", None, 1, council.cast.tm, DUE)
    assert [(s["level"], s["addressee"], s["due_on"], s["responded_at"], s["outcome"]) for s in detail["stages"]] == [
        (1, council.cast.tm, DUE, None, None)]
    assert not [e for e in detail["timeline"] if e["event"] in (
        "escalated", "resolved", "withdrawn", "cafcass", "extended", "response", "addressee_set", "note")]
    return detail


def assert_stays_inside(council: Council) -> None:
    """Nothing was queued, nor handed to the mail server, for an address outside the council's domains."""
    council.app.send_pending()
    inside = council.app.config.allows_address
    for row in council.outbox():
        assert all(inside(a) for a in row["to"] + row["cc"]), row
    assert council.events("recipient_refused") == [] and council.events("mail_refused") == []
    for rcpts in council.sent_by_bot():
        assert all(inside(a) for a in rcpts), rcpts


def assert_refused(council: Council, result: IngestResult, *, event: str, act: str) -> None:
    """Refused, kept for a person, recorded on the record, and the IRO (QA copied) told by mail."""
    assert (result.outcome, result.reference, result.needs_attention) == ("refused", council.ref, True)
    assert result.reason.startswith("not obeyed:")
    detail = assert_untouched(council)
    last = detail["timeline"][-1]
    assert (last["event"], last["data"]["act"], last["mail"]["message_id"]) == (event, act, result.identity)
    assert last["data"]["standing"] in ("unproven", "outsider")
    notices = [r for r in council.outbox() if r["kind"] == "refused"]
    assert [(r["to"], r["cc"]) for r in notices] == [([council.cast.iro], [council.cast.qa])]
    assert_stays_inside(council)
    assert any(f"[{council.ref}]" in str(m["Subject"]) and council.cast.bot in str(m["From"])
               for m in council.inbox(council.cast.iro))  # the IRO has the notice in their inbox


# ---- 1. a failing Authentication-Results for the IRO's domain ----------------------------------------------


@pytest.mark.parametrize(("result", "command", "act", "via"), [
    ("dmarc=fail header.from=example.test", "Resolved", "resolved", "gateway"),
    ("spf=fail smtp.mailfrom=example.test", "Resolved", "resolved", "gateway"),
    ("dmarc=fail header.from=example.test", "Withdraw", "withdraw", "gateway"),
    ("dmarc=fail header.from=example.test", "Escalate to level 4", "escalate", "gateway"),
    ("dmarc=fail header.from=example.test", "Extend to 31/12/2027", "extend", "gateway"),
    ("dmarc=fail header.from=example.test", "Resolved", "resolved", "mailbox"),
], ids=["dmarc-resolved", "spf-resolved", "dmarc-withdraw", "dmarc-escalate", "dmarc-extend",
        "dmarc-resolved-appended"])
def test_a_command_with_a_failing_authentication_result_is_refused(council: Council, result: str, command: str,
                                                                   act: str, via: str) -> None:
    raw = council.reply(from_=f"Jane Reviewer <{council.cast.iro}>", text=command, seed=f"fail-{result}-{command}",
                        headers=[("Authentication-Results", f"mx1.relay.example; {result}")])
    if via == "gateway":
        # with the council's domain as envelope sender the gateway's own stamp says dmarc=pass: the failing
        # result another host wrote into the mail is the only tell
        council.through_gateway(raw, envelope_from=council.cast.iro)
    else:
        council.straight_in(raw)
    outcome = council.poll_one()
    assert_refused(council, outcome, event="command_refused", act=act)
    expected = f"dmarc=pass header.from={DOMAIN}" if via == "gateway" else ""
    assert (expected in council.gateway_stamp(outcome)) if expected else council.gateway_stamp(outcome) == ""
    method = result.split("=")[0]
    assert f"{method}=fail for {DOMAIN} reported by mx1.relay.example" in council.why_unproven(outcome)


# ---- 2. a Sender that is not the From --------------------------------------------------------------------


def test_a_command_with_a_foreign_sender_header_is_refused(council: Council) -> None:
    raw = council.reply(from_=f"Jane Reviewer <{council.cast.iro}>", text="Resolved", seed="sender",
                        headers=[("Sender", ATTACKER)])
    council.through_gateway(raw, envelope_from=council.cast.iro)  # the gateway's dmarc=pass is for the From
    outcome = council.poll_one()
    assert_refused(council, outcome, event="command_refused", act="resolved")
    assert f"dmarc=pass header.from={DOMAIN}" in council.gateway_stamp(outcome)
    assert council.why_unproven(outcome) == (f"Sender {ATTACKER} differs from From {council.cast.iro}",)


# ---- 3. the IRO's address as the display name ---------------------------------------------------------------


def test_a_command_whose_display_name_is_the_iros_address_is_refused(council: Council) -> None:
    raw = council.reply(from_=f"{council.cast.iro} <{ATTACKER}>", text="Resolved", seed="display-name")
    council.through_gateway(raw, envelope_from=ATTACKER)
    outcome = council.poll_one()
    assert_refused(council, outcome, event="command_refused", act="resolved")
    # this gateway reads the From as the IRO's address (it passes the unquoted form through
    # email.utils.parseaddr) and fails DMARC for example.test; the bot reads the raw From as written and finds
    # two addr-specs in it, whichever one another parser would pick, and refuses it for that alone
    assert f"dmarc=fail header.from={DOMAIN}" in council.gateway_stamp(outcome)
    assert council.why_unproven(outcome) == ("2 From mailboxes",)


# ---- 4. two From mailboxes ----------------------------------------------------------------------------------


def test_a_command_from_two_mailboxes_is_refused(council: Council) -> None:
    raw = council.reply(from_=f"Jane Reviewer <{council.cast.iro}>, Attacker <{ATTACKER}>", text="Resolved",
                        seed="two-mailboxes")
    council.through_gateway(raw, envelope_from=council.cast.iro)  # the gateway reads the first and passes it
    outcome = council.poll_one()
    assert_refused(council, outcome, event="command_refused", act="resolved")
    assert f"dmarc=pass header.from={DOMAIN}" in council.gateway_stamp(outcome)
    assert council.why_unproven(outcome) == ("2 From mailboxes",)


# ---- 5. an outsider's Level 4 mail for the open case --------------------------------------------------------


def test_an_outsiders_level_4_mail_moves_nothing_and_the_clock_refers_nothing_to_cafcass(council: Council) -> None:
    # were it obeyed, Level 4 would be overdue tomorrow and the tick would move the record to Cafcass
    subject = f"Action - Level 4 escalation - {CHILD} - MOSAIC {CASE} - response by 07/12/2026"
    raw = raw_mail(from_=f"Director <{ATTACKER}>", to=[council.cast.bot], subject=subject, when=council.clock.now,
                   seed="level-4", text="Escalating to Level 4 as nothing has happened.")
    council.through_gateway(raw, envelope_from=ATTACKER)  # the gateway proves it is from evil.example
    outcome = council.poll_one()
    assert_refused(council, outcome, event="move_refused", act="move")
    assert council.detail()["timeline"][-1]["data"]["standing"] == "outsider"

    council.clock.now = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)  # Tuesday, a working day
    items = council.app.tick()
    assert [i.kind for i in items if i.kind in ("escalate", "referral", "cafcass")] == []
    assert_untouched(council)
    assert [r for r in council.outbox() if r["kind"] in ("referral", "escalation")] == []
    assert_stays_inside(council)


# ---- 6. an outsider's Level 2 mail addressed to themselves --------------------------------------------------


def test_an_outsiders_level_2_mail_to_an_outside_address_moves_nothing(council: Council) -> None:
    subject = f"Action - Level 2 escalation - {CHILD} - MOSAIC {CASE} - response by 31/12/2027"
    raw = raw_mail(from_=f"Someone <{PARTNER}>", to=[f"Attacker <{ATTACKER}>"], cc=[council.cast.bot],
                   subject=subject, when=council.clock.now, seed="level-2", text="Please pick this up at Level 2.")
    council.through_gateway(raw, envelope_from=PARTNER)
    outcome = council.poll_one()
    assert_refused(council, outcome, event="move_refused", act="move")
    detail = council.detail()
    assert ATTACKER not in [s["addressee"] for s in detail["stages"]]
    assert all(ATTACKER not in row["to"] + row["cc"] for row in council.outbox())
    assert all(ATTACKER not in rcpts for rcpts in council.sent_by_bot())


# ---- 7. an outsider's "answer" in the thread ----------------------------------------------------------------


def test_an_outsiders_reply_is_recorded_but_does_not_stop_the_clock(council: Council) -> None:
    raw = council.reply(from_=f"Someone <{PARTNER}>", text="Noted, thanks, we will look into it this week",
                        seed="outsider-reply")
    council.through_gateway(raw, envelope_from=PARTNER)  # proven: it really is from partner.example
    outcome = council.poll_one()
    assert (outcome.outcome, outcome.reference, outcome.needs_attention) == ("threaded", council.ref, False)
    detail = assert_untouched(council)
    last = detail["timeline"][-1]
    assert (last["event"], last["actor"], last["data"]["standing"]) == ("message", PARTNER, "outsider")
    assert last["data"]["not_the_response"]
    assert [(r["kind"], r["to"]) for r in council.outbox()] == [("not_counted", [council.cast.iro])]
    assert_stays_inside(council)


# ---- 8. an internal helpdesk's auto-acknowledgement without Auto-Submitted ---------------------------------


def test_an_internal_helpdesk_acknowledgement_does_not_stop_the_clock(council: Council) -> None:
    raw = council.reply(from_=f"IT Service Desk <{council.cast.helpdesk}>", seed="helpdesk",
                        text="Your request has been logged as ticket 12345, we will respond within 3 working days")
    council.through_gateway(raw, envelope_from=council.cast.helpdesk)  # proven: a council address, dmarc=pass
    outcome = council.poll_one()
    assert (outcome.outcome, outcome.reference) == ("threaded", council.ref)
    detail = assert_untouched(council)
    last = detail["timeline"][-1]
    assert last["actor"] == council.cast.helpdesk
    assert last["event"] in ("message", "auto_reply")
    assert all(council.cast.helpdesk not in row["to"] + row["cc"] for row in council.outbox())  # no mail loop
    assert_stays_inside(council)


# ---- 9. an outsider's escalation-shaped mail -----------------------------------------------------------------


def test_an_outsiders_escalation_opens_nothing_and_mails_nobody(council: Council) -> None:
    subject = "Action - Level 1 escalation - Sam Smith - MOSAIC 999999 - response by 14/12/2026"
    raw = raw_mail(from_=f"Sam's Advocate <{ATTACKER}>", to=[council.cast.bot], subject=subject,
                   when=council.clock.now, seed="outsider-escalation", text="Please escalate Sam's case.")
    council.through_gateway(raw, envelope_from=ATTACKER)
    outcome = council.poll_one()
    assert (outcome.outcome, outcome.reference, outcome.needs_attention) == ("refused", None, True)
    assert [r["reference"] for r in council.records()] == [council.ref]
    [refused] = council.events("open_refused")
    assert (refused["actor"], refused["escalation"], refused["data"]["standing"]) == (ATTACKER, None, "outsider")
    with council.app.store.unit_of_work() as uow:
        assert [m.identity for m in uow.messages.attention()] == [outcome.identity]
    assert council.outbox() == []
    council.app.send_pending()
    assert council.sent_by_bot() == []
    assert len(council.dovecot.messages(council.cast.bot, "Needs attention")) == 1


# ---- 10. the legitimate paths on the same setup ---------------------------------------------------------------


def test_the_iros_own_resolved_through_the_gateway_closes_the_record(council: Council) -> None:
    raw = council.reply(from_=f"Jane Reviewer <{council.cast.iro}>", text="Resolved – plan signed off",
                        seed="resolved", to=[council.cast.tm, council.cast.bot])
    council.through_gateway(raw, envelope_from=council.cast.iro, rcpts=[council.cast.tm, council.cast.bot])
    outcome = council.poll_one()
    assert (outcome.outcome, outcome.reference, outcome.needs_attention) == ("threaded", council.ref, False)
    detail = council.detail()
    assert (detail["status"], detail["outcome"], detail["outcome_text"]) == ("closed", "resolved", "plan signed off")
    assert detail["timeline"][-1]["event"] == "resolved"
    # the one mail it causes: the closure notice to the manager who took part, QA, Dorset's Level 1 SM and the IRO
    cast = council.cast
    assert [(m["kind"], m["to"], m["cc"]) for m in council.outbox()] == [
        ("closure", [cast.tm], [cast.qa, cast.sm, cast.iro])]
    assert_stays_inside(council)


def test_the_team_managers_reply_through_the_gateway_is_the_response(council: Council) -> None:
    raw = council.reply(from_=f"Tom Manager <{council.cast.tm}>", seed="tm-reply",
                        to=[council.cast.iro, council.cast.bot],
                        text="Jane, the plan goes to panel on Thursday and I will sign it off then.")
    council.through_gateway(raw, envelope_from=council.cast.tm, rcpts=[council.cast.iro, council.cast.bot])
    outcome = council.poll_one()
    assert (outcome.outcome, outcome.reference, outcome.needs_attention) == ("threaded", council.ref, False)
    detail = council.detail()
    assert (detail["status"], detail["level"], detail["due_on"], detail["responded"]) == ("open", 1, DUE, True)
    assert detail["stages"][0]["responded_at"] is not None
    last = detail["timeline"][-1]
    assert (last["event"], last["actor"]) == ("response", council.cast.tm)
    assert council.outbox() == []
    assert_stays_inside(council)
