"""The whole job, end to end, on real servers: dovecot (IMAP + LMTP) and an SMTP server delivering into it.

People's mail clients are played by the test: it sends their mails over SMTP and reads their mailboxes back
over IMAP. The bot is the real `mailbot` command with `--now` moving through working days across Christmas
2026 (Friday 25 and Monday 28 December are bank holidays in England).
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import smtplib
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

from tests.botsetup import directory_people, write_gateway_config
from tests.servers import DEFAULT_PASSWORD, DovecotServer, SmtpServer

pytestmark = pytest.mark.integration

DOMAIN = "example.test"
# as Outlook writes: long msg-id headers on one line (the email package's default would RFC 2047-encode them)
OUTLOOK = email.policy.default.clone(max_line_length=998)
PASSWORD_ENV = "MAILBOT_TEST_IMAP_PASSWORD"


@dataclass(frozen=True)
class Cast:
    bot: str
    iro: str
    tm: str
    sm: str
    hos: str
    qa: str

    def everyone(self) -> list[str]:
        return [self.bot, self.iro, self.tm, self.sm, self.hos, self.qa]


@pytest.fixture
def cast(dovecot: DovecotServer) -> Cast:
    """People of our own, so no other test's mail is in their mailboxes."""
    tag = uuid.uuid4().hex[:8]
    people = Cast(*(f"{who}-{tag}@{DOMAIN}" for who in ("escalations", "iro", "tm", "sm", "hos", "qa")))
    for address in people.everyone():
        dovecot.add_user(address, DEFAULT_PASSWORD)
    return people


def write_config(tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer, cast: Cast) -> Path:
    """The council on dovecot and the SMTP server, with the cast's line of managers: Tom reports to Sara, who
    reports to Hana, who reports to no one in the directory."""
    return write_gateway_config(tmp_path, dovecot, smtp, address=cast.bot, password_env=PASSWORD_ENV,
                                people=directory_people(tm=cast.tm, sm=cast.sm, head=cast.hos),
                                qa_managers=[cast.qa], processed_folder="Processed")


Mailbot = Callable[..., str]


def make_mailbot(config: Path) -> Mailbot:
    def run(*args: str, now: str | None = None) -> str:
        argv = [sys.executable, "-m", "mailbot.cli", *(["--now", now] if now else []), *args]
        env = {**os.environ, "MAILBOT_CONFIG": str(config), PASSWORD_ENV: DEFAULT_PASSWORD}
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise AssertionError(f"mailbot {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    return run


class Person:
    """Someone with a mail client: sends over SMTP, reads their inbox over IMAP."""

    def __init__(self, address: str, name: str, smtp: SmtpServer, dovecot: DovecotServer) -> None:
        self.address, self.name, self.smtp, self.dovecot = address, name, smtp, dovecot

    def inbox(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
                for raw in self.dovecot.messages(self.address)]

    def send(self, *, to: list[str], cc: list[str], subject: str, text: str, when: datetime,
             reply_to: email.message.EmailMessage | None = None, html: bool = False) -> str:
        msg = EmailMessage(policy=OUTLOOK)
        msg["From"] = f"{self.name} <{self.address}>"
        msg["To"] = ", ".join(to)
        msg["Cc"] = ", ".join(cc)
        msg["Subject"] = subject
        msg["Date"] = format_datetime(when)
        msg["Message-ID"] = exchange_message_id()
        quoted = ""
        if reply_to is not None:
            msg["In-Reply-To"] = reply_to["Message-ID"]
            msg["References"] = " ".join(filter(None, [str(reply_to.get("References", "")),
                                                       str(reply_to["Message-ID"])]))
            body = reply_to.get_body(("plain",))
            quoted = (f"\n\nFrom: {reply_to['From']}\nSent: {reply_to['Date']}\nTo: {reply_to['To']}\n"
                      f"Subject: {reply_to['Subject']}\n\n{body.get_content() if body else ''}")
        msg.set_content(text + quoted)
        if html:  # Outlook desktop: Word HTML with the border-top block before the quoted mail
            msg.add_alternative(
                f"<html><body><div class=WordSection1><p class=MsoNormal>{text}<o:p></o:p></p>"
                "<div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'>"
                f"<p class=MsoNormal><b>From:</b> {reply_to['From'] if reply_to else ''}</p></div>"
                "<p class=MsoNormal>quoted history</p></div></body></html>", subtype="html")
        with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=10) as client:
            client.send_message(msg)
        return str(msg["Message-ID"]).strip("<>")


def exchange_message_id() -> str:
    """A Message-ID as Exchange Online writes them: 79 characters with the brackets."""
    local = "LO2P265MB7856" + uuid.uuid4().hex.upper()[:25]
    return f"<{local}@LO2P265MB7856.GBRP265.PROD.OUTLOOK.COM>"


MSG_ID = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>")


def assert_threaded(people: list[Person], bot: str) -> int:
    """Every mail the bot sent, in every mailbox: In-Reply-To names a mail of the conversation (one somebody sent
    or received here), References holds only valid msg-ids, never an encoded word. Returns how many were checked."""
    mails = [m for person in people for m in person.inbox()]
    known = {str(m["Message-ID"]).strip() for m in mails}
    checked = 0
    for m in mails:
        if bot not in str(m["From"]):
            continue
        in_reply_to, references = str(m["In-Reply-To"] or ""), str(m["References"] or "")
        assert "=?" not in in_reply_to + references, m["Subject"]
        assert MSG_ID.fullmatch(in_reply_to) and in_reply_to in known, (m["Subject"], in_reply_to)
        tokens = references.split()
        assert tokens and all(MSG_ID.fullmatch(t) for t in tokens) and in_reply_to in tokens, m["Subject"]
        checked += 1
    return checked


def message_ids(person: Person) -> Counter[str]:
    return Counter(str(m["Message-ID"]).strip().strip("<>") for m in person.inbox())


def from_bot(person: Person, bot: str) -> list[email.message.EmailMessage]:
    return [m for m in person.inbox() if bot in str(m["From"])]


def test_level_one_to_resolved_across_christmas(tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer,
                                                cast: Cast) -> None:
    config = write_config(tmp_path, dovecot, smtp, cast)
    mailbot = make_mailbot(config)
    iro = Person(cast.iro, "Jane Reviewer", smtp, dovecot)
    tm = Person(cast.tm, "Tom Manager", smtp, dovecot)
    sm = Person(cast.sm, "Sara Service", smtp, dovecot)
    qa = Person(cast.qa, "Quinn QA", smtp, dovecot)

    # Monday 21 December 2026: the IRO raises a Level 1 escalation; response by Wednesday 30 December
    subject = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 30/12/2026"
    iro.send(to=[cast.tm], cc=[cast.qa, cast.bot], subject=subject, when=datetime(2026, 12, 21, 9, 30, tzinfo=UTC),
             text="Tom,\n\nThe care plan for Jane has not been reviewed since the placement moved. "
                  "Please tell me by the date in the subject when it will be.\n\nJane Reviewer\nIRO")
    assert "1 mail(s) read, 0 need attention" in mailbot("poll", "--once", now="2026-12-21T09:35")
    [record] = json.loads(mailbot("list", "--json"))
    ref = record["reference"]

    # The clock: chasers two working days before (Thursday 24th: 25th and 28th are bank holidays) and on the day;
    # nothing on the bank holidays; escalation the working day after the due date (Thursday 31st)
    seen: dict[str, list[str]] = {}
    for moment in ("2026-12-22T10:00", "2026-12-23T10:00", "2026-12-24T08:30", "2026-12-24T09:05",
                   "2026-12-25T10:00", "2026-12-28T10:00", "2026-12-29T10:00", "2026-12-30T10:00",
                   "2026-12-30T16:00", "2026-12-31T10:00", "2026-12-31T10:05"):
        out = mailbot("tick", "--now", moment)
        seen[moment] = [line.split()[1] for line in out.splitlines()[:-1]]
    assert {k: v for k, v in seen.items() if v} == {
        "2026-12-24T09:05": ["chase"],
        "2026-12-30T10:00": ["chase"],
        "2026-12-31T10:00": ["escalate"],
    }

    # Tom got two chasers; Sara got the Level 2 escalation with the QA manager, the IRO and Tom copied
    chasers = from_bot(tm, cast.bot)
    assert sum(1 for m in chasers if "Reminder" in str(m["Subject"]) or "due today" in str(m["Subject"])) == 2
    # Sara, the Service Manager Dorset's Level 1 copies (seed 001), was copied on both chasers
    assert sum(1 for m in from_bot(sm, cast.bot) if "Reminder" in str(m["Subject"])
               or "due today" in str(m["Subject"])) == 2
    [escalation] = [m for m in from_bot(sm, cast.bot) if "Action - Level 2 escalation" in str(m["Subject"])]
    assert str(escalation["Subject"]) == (f"[{ref}] Action - Level 2 escalation - Jane Doe - MOSAIC 123456 - "
                                          "response by 07/01/2027")  # 31 Dec is day 1 of 5; New Year's Day skipped
    cc = str(escalation["Cc"])
    assert cast.qa in cc and cast.iro in cc and cast.tm in cc
    assert escalation["Auto-Submitted"] == "auto-generated"
    body = escalation.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "The history so far" in body and "has not been reviewed since the placement moved" in body
    assert escalation.get_body(("html",)) is not None
    assert from_bot(qa, cast.bot)[-1]["Message-ID"] == escalation["Message-ID"]

    # Sara answers from Outlook (reply all); the IRO is satisfied
    sm.send(to=[cast.iro], cc=[cast.qa, cast.tm, cast.bot], subject=f"RE: {escalation['Subject']}",
            when=datetime(2027, 1, 4, 11, 0, tzinfo=UTC), reply_to=escalation, html=True,
            text="Jane, the review is booked for 6 January and I will chair it.")
    polled = mailbot("poll", "--once", now="2027-01-04T11:05")
    # the bot's own copies of its chasers and escalation came back (mail_out.smtp.copy_to_mailbox): only filed
    assert "1 mail(s) read, 0 need attention, " in polled and "of the bot's own mail filed" in polled
    answer = next(m for m in iro.inbox() if cast.sm in str(m["From"]))
    iro.send(to=[cast.sm], cc=[cast.qa, cast.bot], subject=f"RE: {answer['Subject']}", reply_to=answer,
             when=datetime(2027, 1, 4, 14, 0, tzinfo=UTC), text="Resolved – plan signed off")
    assert "1 mail(s) read" in mailbot("poll", "--once", now="2027-01-04T14:05")

    detail = json.loads(mailbot("show", ref, "--json"))
    assert (detail["status"], detail["outcome"], detail["outcome_text"]) == ("closed", "resolved", "plan signed off")
    assert [s["level"] for s in detail["stages"]] == [1, 2]
    assert mailbot("tick", "--now", "2027-01-06T10:00").strip().endswith("0 action(s) done")  # closed: quiet

    # the closure notice: Tom and Sara (who took part), QA, Hana (Dorset's Level 2 copy role) and the IRO copied
    mailbot("send", now="2027-01-04T14:06")
    for person in (tm, sm, qa, iro):
        [closure] = [m for m in from_bot(person, cast.bot) if "Closed (resolved)" in str(m["Subject"])]
    assert str(closure["Subject"]) == f"[{ref}] Closed (resolved): Level 2 escalation - Jane Doe - MOSAIC 123456"
    assert cast.tm in str(closure["To"]) and cast.sm in str(closure["To"])
    assert all(a in str(closure["Cc"]) for a in (cast.qa, cast.hos, cast.iro))
    assert "plan signed off" in closure.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    # the digest for that week shows it closed, resolved
    digest = mailbot("digest", "--period", "week", "--now", "2027-01-11T08:00")
    assert ref in digest and "resolved" in digest.lower()

    # every mail arrived once in every mailbox
    for person in (iro, tm, sm, qa):
        counts = message_ids(person)
        assert counts and max(counts.values()) == 1, (person.address, counts)
    # and every mail the bot sent replies into the conversation, with the people's 79-character Exchange ids intact
    assert assert_threaded([iro, tm, sm, qa], cast.bot) >= 5


def exchange_oof(person: Person, *, to: str, about: email.message.EmailMessage, when: datetime) -> None:
    """An Exchange Online automatic reply to ``about``, sent over SMTP as Exchange sends it."""
    msg = EmailMessage()
    msg["From"] = f"{person.name} <{person.address}>"
    msg["To"] = to
    msg["Subject"] = f"Automatic reply: {about['Subject']}"
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = make_msgid(domain=DOMAIN)
    msg["In-Reply-To"] = about["Message-ID"]
    msg["References"] = about["Message-ID"]
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-MS-Exchange-Inbox-Rules-Loop"] = person.address
    msg.set_content("I am out of the office until Friday 15 January 2027 with limited access to email.")
    with smtplib.SMTP(person.smtp.host, person.smtp.port, timeout=10) as client:
        client.send_message(msg)


def ticks(mailbot: Mailbot, *moments: str) -> dict[str, list[str]]:
    done = {}
    for moment in moments:
        lines = mailbot("tick", "--now", moment).splitlines()[:-1]
        if lines:
            done[moment] = [line.split()[1] for line in lines]
    return done


def test_out_of_office_extension_bypass_and_a_directory_gap(tmp_path: Path, dovecot: DovecotServer,
                                                            smtp: SmtpServer, cast: Cast) -> None:
    # the Head of Locality reports to nobody in the directory: who the Corporate Director is, the bot cannot tell
    config = write_config(tmp_path, dovecot, smtp, cast)
    mailbot = make_mailbot(config)
    iro = Person(cast.iro, "Jane Reviewer", smtp, dovecot)
    tm = Person(cast.tm, "Tom Manager", smtp, dovecot)
    hos = Person(cast.hos, "Hana Head", smtp, dovecot)
    qa = Person(cast.qa, "Quinn QA", smtp, dovecot)

    # Monday 11 January 2027: Level 1, response by Monday 18 January
    subject = "Action - Level 1 escalation - Amy Khan - LCS 445566 - response by 18/01/2027"
    iro.send(to=[cast.tm], cc=[cast.qa, cast.bot], subject=subject, when=datetime(2027, 1, 11, 9, 0, tzinfo=UTC),
             text="Tom,\n\nAmy's pathway plan is overdue. Please respond by the date in the subject.\n\nJane")
    mailbot("poll", "--once", now="2027-01-11T09:05")
    [record] = json.loads(mailbot("list", "--json"))
    ref = record["reference"]

    # Thursday 14th: the chaser; Tom's out-of-office answers it, and changes nothing
    assert ticks(mailbot, "2027-01-13T10:00", "2027-01-14T10:00") == {"2027-01-14T10:00": ["chase"]}
    [chaser] = from_bot(tm, cast.bot)
    exchange_oof(tm, to=cast.bot, about=chaser, when=datetime(2027, 1, 14, 10, 1, tzinfo=UTC))
    mailbot("poll", "--once", now="2027-01-14T10:02")
    detail = json.loads(mailbot("show", ref, "--json"))
    assert detail["timeline"][-1]["event"] == "auto_reply"
    assert (detail["stages"][0]["responded_at"], detail["due_on"]) == (None, "2027-01-18")
    # the bot did not answer the out-of-office: no loop
    assert [m["Message-ID"] for m in from_bot(tm, cast.bot)] == [chaser["Message-ID"]]

    # Friday 15th: Tom asks for more time; the IRO is told, with the one line that agrees it, and agrees
    tm.send(to=[cast.bot], cc=[cast.iro, cast.qa], subject=f"RE: {chaser['Subject']}", reply_to=chaser,
            when=datetime(2027, 1, 15, 9, 30, tzinfo=UTC),
            text="Jane, could I have until 22/01/2027 please? The plan goes to panel on the 21st.")
    mailbot("poll", "--once", now="2027-01-15T09:35")
    assert ticks(mailbot, "2027-01-15T10:00") == {"2027-01-15T10:00": ["extension_requested"]}
    ask = next(m for m in from_bot(iro, cast.bot) if "Extension asked" in str(m["Subject"]))
    assert "Extend to 22/01/2027" in ask.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    iro.send(to=[cast.bot], cc=[cast.tm], subject=f"RE: {ask['Subject']}", reply_to=ask,
             when=datetime(2027, 1, 15, 11, 0, tzinfo=UTC), text="Extend to 22/01/2027")
    mailbot("poll", "--once", now="2027-01-15T11:05")
    assert json.loads(mailbot("show", ref, "--json"))["due_on"] == "2027-01-22"
    # the old due date passes quietly; the chaser comes two working days before the new one
    assert ticks(mailbot, "2027-01-18T10:00", "2027-01-19T10:00", "2027-01-20T10:00") == {
        "2027-01-20T10:00": ["chase"]}

    # Thursday 21st: the IRO goes straight to Level 3 (bypassing the Service Manager)
    iro.send(to=[cast.tm], cc=[cast.bot, cast.qa], subject=f"RE: {subject}", reply_to=chaser,
             when=datetime(2027, 1, 21, 9, 0, tzinfo=UTC), text="Escalate to level 3 - this cannot wait for panel.")
    mailbot("poll", "--once", now="2027-01-21T09:05")
    mailbot("send")
    [level3] = [m for m in from_bot(hos, cast.bot) if "Level 3 escalation" in str(m["Subject"])]
    assert cast.qa in str(level3["Cc"]) and cast.iro in str(level3["Cc"])
    assert "response by 28/01/2027" in str(level3["Subject"])
    detail = json.loads(mailbot("show", ref, "--json"))
    assert [s["level"] for s in detail["stages"]] == [1, 3]

    # Friday 29th: Level 3 unanswered; Level 4 is the Corporate Director, whom the directory does not know:
    # the bot asks the IRO and the QA manager instead of guessing, and mails no one else
    before = {p.address: len(p.inbox()) for p in (tm, hos)}
    assert ticks(mailbot, "2027-01-26T10:00", "2027-01-28T10:00", "2027-01-29T10:00") == {
        "2027-01-26T10:00": ["chase"], "2027-01-28T10:00": ["chase"], "2027-01-29T10:00": ["escalate"]}
    [gap] = [m for m in from_bot(iro, cast.bot) if str(m["Subject"]).startswith(f"[{ref}] Who is the")]
    assert cast.qa in str(gap["Cc"])
    assert "has not guessed" in gap.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert any(m["Message-ID"] == gap["Message-ID"] for m in from_bot(qa, cast.bot))
    # Hana had her two chasers, Tom nothing more, and nobody got the gap mail but the IRO and the QA manager
    assert {p.address: len(p.inbox()) for p in (tm, hos)} == {cast.tm: before[cast.tm], cast.hos: before[cast.hos] + 2}
    detail = json.loads(mailbot("show", ref, "--json"))
    assert (detail["level"], detail["addressee"]) == (4, None)
    assert any(e["event"] == "directory_gap" for e in detail["timeline"])

    for person in (iro, tm, hos, qa):
        counts = message_ids(person)
        assert max(counts.values()) == 1, (person.address, counts)
