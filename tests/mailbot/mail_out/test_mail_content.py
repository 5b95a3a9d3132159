"""What every mail says, read as its reader reads it: one escalation driven through the real flow (the ingest and
the clock, a tick every morning) from an IRO's Level 1 mail dated Christmas Day 2026 to the Cafcass referral, with
every mail type on the way, and each mail checked in its text part and its HTML part alike: who it is to, why it was
sent, what is asked and by when, the child and the case in the subject and the body, the history complete and in
order — and nothing a manager or director should not read (the word "bot", a configuration key, an internal note).

The story (Dorset's ladder, England's calendar; Tom Manager → Sara Service → Hana Head, who reports to nobody; the
Corporate Director is in nobody's line):

* Mon 14 Dec 2026: Jane Reviewer (IRO) raises Level 1 with Tom, "response by 25/12/2026" — Christmas Day; the
  next working day is Tuesday 29 December (26, 27 weekend, 28 Boxing Day's substitute): acknowledgement.
* 15 Dec: a colleague's reply that does not count; 16 Dec: the colleague's "Resolved", not obeyed.
* 23 Dec: the reminder; Tom's out-of-office (back 4 January). 29 Dec: "due today". 30 Dec: Level 2 to Sara.
* 4 Jan: reminder; Sara asks until 13/01/2027; 5 Jan: the IRO is told and agrees. 7 and 14 Jan: budget warnings.
* 11, 13 Jan: reminders; Sara responds on the 13th; 15 Jan: "resolved or escalate?", and the IRO escalates: Level 3
  to Hana, and "who should be copied?" (the Corporate Director the policy copies at Level 3 is unknown).
* 20, 22 Jan: reminders; 25 Jan: Level 4, nobody known: "Who is the Corporate Director…?"; 27 Jan: nobody to
  chase; 28 Jan: the IRO forwards it to Dee; 29 Jan: Dee reminded; 1 Feb: the referral notice; 2 Feb: referred.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from mailbot.clock.actions import Actions
from mailbot.clock.tick import Ticker
from mailbot.config import Config
from mailbot.mail_in.ingest import Ingestor
from mailbot.mail_out.delivery import build_message
from store.models import OutboxMail
from store.uow import Store
from tests.botsetup import HOS, Clock, directory_people, directory_table, example_config, migrated_store
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

COLIN = f"colin.colleague@{DOMAIN}"  # a colleague of Tom's: his replies are not the response
DEE = f"dee.director@{DOMAIN}"  # the Corporate Director the directory does not know
MANAGERS = frozenset({TM, SM, HOS, DEE})
MAILBOX = "IRO escalations mailbox"  # who the history says sent the reminders
SUBJECT = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 25/12/2026"
REF, CHILD, CASE = "ESC-0001", "Jane Doe", "MOSAIC 123456"
CHRISTMAS = "Tuesday 29 December 2026 (the date given, 25 December, is a bank holiday)"
#: What a mail to a manager or director never says: the software, configuration keys, internal notes.
FORBIDDEN = re.compile(r"\bbot\b|mailbot|reports_to|qa_managers|iro_team_managers|copy_roles|always_copy|"
                       r"\[directory\]|could not tell|\(not known\)|no date|None working days", re.IGNORECASE)


def at(y: int, m: int, d: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=UTC)  # winter: London is UTC


@dataclass(frozen=True)
class Sent:
    """One mail as its reader sees it: the text part and the HTML part's visible words, white space collapsed."""

    kind: str
    key: str
    at: datetime
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    text: str
    html: str

    @property
    def parts(self) -> tuple[str, str]:
        return self.text, self.html

    @property
    def to_a_manager(self) -> bool:
        return any(a in MANAGERS for a in (*self.to, *self.cc))


def words(text: str) -> str:
    return " ".join(text.split())


def seen(row: OutboxMail) -> Sent:
    soup = BeautifulSoup(row.body_html or "", "html.parser")
    for head in soup.find_all("head"):
        head.decompose()
    return Sent(row.kind, row.key, row.created_at, tuple(row.to_emails), tuple(row.cc_emails), row.subject,
                words(row.body_text), words(soup.get_text(" ")))


# ---- the story --------------------------------------------------------------------------------------------


#: What the history must show once it has happened: (when, who, what), in order. ``own``: a reminder, which its own
#: mail does not list.
HISTORY: tuple[tuple[datetime, str, str, bool], ...] = (
    (at(2026, 12, 14, 9, 15), "Jane Reviewer", "raised the concern at Level 1 (Team Manager) with Tom Manager; "
                                               f"response asked for by {CHRISTMAS}", False),
    (at(2026, 12, 15, 11), "Colin Colleague", "wrote: I have spoken to the family", False),
    (at(2026, 12, 23), MAILBOX, f"reminder to Tom Manager: the Level 1 response is due by {CHRISTMAS}", True),
    (at(2026, 12, 23, 10, 1), "Tom Manager", "automatic reply: out of the office, back on Monday 4 January 2027",
     False),
    (at(2026, 12, 29), MAILBOX, f"reminder to Tom Manager: the Level 1 response is due today, {CHRISTMAS}", True),
    (at(2026, 12, 30), "Sara Service", "Level 2 (Service Manager) started: Level 1 was not answered by its date; "
                                       "response due by Wednesday 6 January 2027", False),
    (at(2027, 1, 4), MAILBOX, "reminder to Sara Service: the Level 2 response is due by Wednesday 6 January 2027",
     True),
    (at(2027, 1, 4, 11), "Sara Service", "asked for more time, until Wednesday 13 January 2027", False),
    (at(2027, 1, 5, 14), "Jane Reviewer", "agreed more time: the response is now due by Wednesday 13 January 2027",
     False),
    (at(2027, 1, 11), MAILBOX, "reminder to Sara Service: the Level 2 response is due by Wednesday 13 January 2027",
     True),
    (at(2027, 1, 13), MAILBOX, "reminder to Sara Service: the Level 2 response is due today, Wednesday 13 January "
                               "2027", True),
    (at(2027, 1, 13, 11), "Sara Service", "responded at Level 2: The plan will be signed off at panel", False),
    (at(2027, 1, 15, 14), "Jane Reviewer", "escalated it to Level 3 (Head of Locality): Not resolved - escalate",
     False),
    (at(2027, 1, 15, 14), "Hana Head", "Level 3 (Head of Locality) started: the IRO was not satisfied with the "
                                       "Level 2 response; response due by Friday 22 January 2027", False),
    (at(2027, 1, 20), MAILBOX, "reminder to Hana Head: the Level 3 response is due by Friday 22 January 2027", True),
    (at(2027, 1, 22), MAILBOX, "reminder to Hana Head: the Level 3 response is due today, Friday 22 January 2027",
     True),
    (at(2027, 1, 25), "—", "Level 4 (Corporate Director for Care and Protection) started; the Corporate Director "
                           "for Care and Protection was to be confirmed: Level 3 was not answered by its date", False),
    (at(2027, 1, 28, 11), "Jane Reviewer", f"sent the escalation on to {DEE}", False),
    (at(2027, 1, 29), MAILBOX, f"reminder to {DEE}: the Level 4 response is due today, Friday 29 January 2027", True),
    (at(2027, 2, 1), "—", "Level 5: the end of Example Council's escalation process", False),
)


def christmas_config(tmp_path: Path) -> Config:
    colin = {"email": COLIN, "name": "Colin Colleague", "role": "Social Worker", "reports_to": TM}
    return example_config(tmp_path, directory=directory_table(people=directory_people(colin)))


def drive(config: Config) -> list[Sent]:
    """The story through the real ingest and clock; every mail queued, oldest first."""
    clock = Clock(at(2026, 12, 14, 9, 15))
    store: Store = migrated_store(config, clock)
    try:
        bot, ticker = Ingestor(store, config, clock), Ticker(store, config)
        thread = Thread(SUBJECT)

        def mail(make: Callable[[datetime], bytes]) -> Callable[[datetime], None]:
            def arrive(when: datetime) -> None:
                clock.now = when
                bot.ingest(make(when))
            return arrive

        def reply(sender: str, to: list[str], cc: list[str], text: str) -> Callable[[datetime], None]:
            return mail(lambda w: outlook_reply(thread, sender=sender, to=to, cc=cc, text=text, when=w))

        def tick(when: datetime) -> None:
            clock.now = when
            ticker.tick(when)

        story: dict[datetime, Callable[[datetime], None]] = {
            at(2026, 12, 14, 9, 15): mail(lambda w: outlook_escalation(thread, subject=SUBJECT, when=w)),
            at(2026, 12, 15, 11): reply(COLIN, [IRO], [BOT], "I have spoken to the family and the plan is now "
                                                             "with panel."),
            at(2026, 12, 16, 11): reply(COLIN, [IRO], [BOT], "Resolved - the family agreed the plan"),
            at(2026, 12, 23, 10, 1): mail(lambda w: exchange_out_of_office(thread, sender=TM, when=w,
                                                                           back="Monday 4 January 2027")),
            at(2027, 1, 4, 11): reply(SM, [IRO], [BOT, QA], "Jane, could I have until 13/01/2027 please? The "
                                                            "panel meets on the 12th."),
            at(2027, 1, 5, 14): reply(IRO, [SM], [BOT, QA], "Extend to 13/01/2027"),
            at(2027, 1, 13, 11): reply(SM, [IRO], [BOT, QA], "The plan will be signed off at panel; the minutes "
                                                             "are attached."),
            at(2027, 1, 15, 14): reply(IRO, [SM], [BOT, QA], "Not resolved - escalate"),
            at(2027, 1, 28, 11): reply(IRO, [DEE], [BOT, QA], "Dee, please see the escalation below."),
            at(2027, 2, 2, 11): reply(IRO, [BOT], [QA], "Cafcass referral"),
        }
        day = at(2026, 12, 15)
        while day <= at(2027, 2, 3):
            story.setdefault(day, tick)
            day += timedelta(days=1)
        for when in sorted(story):
            story[when](when)
        with store.unit_of_work() as uow:
            return [seen(r) for r in sorted(uow.outbox.by_status(limit=1000), key=lambda r: (r.created_at, r.id))]
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def mails(tmp_path_factory: pytest.TempPathFactory) -> list[Sent]:
    return drive(christmas_config(tmp_path_factory.mktemp("christmas")))


def only(mails: list[Sent], kind: str, when: datetime | None = None) -> Sent:
    found = [m for m in mails if m.kind == kind and (when is None or m.at == when)]
    assert len(found) == 1, [(m.kind, m.at) for m in mails]
    return found[0]


# ---- what every mail must say -------------------------------------------------------------------------------


def assert_history(mail: Sent) -> None:
    """Everything that had happened when ``mail`` was queued is in its history, in order (the concern raised
    first), each with its date and time, who and what, in both parts."""
    due = [(when, who, what) for when, who, what, own in HISTORY if when < mail.at or (when == mail.at and not own)]
    assert due, mail.key
    for part in mail.parts:
        start = part.index("The history so far")
        for when, who, what in due:
            for piece in (f"{when:%d/%m/%Y %H:%M}", who, what):
                found = part.find(piece, start)
                assert found >= 0, (mail.kind, mail.key, piece, part[start:])
                start = found + len(piece)


def assert_says(mail: Sent, *phrases: str) -> None:
    for part in mail.parts:
        for phrase in phrases:
            assert phrase in part, (mail.kind, mail.key, phrase, part)


def assert_fit_for(mail: Sent) -> None:
    assert mail.subject.startswith(f"[{REF}] ") and CHILD in mail.subject and CASE in mail.subject, mail.subject
    assert_says(mail, REF, CHILD, CASE, "The history so far")
    assert_history(mail)
    if mail.to_a_manager:
        for part in (mail.subject, *mail.parts):
            assert not FORBIDDEN.search(part), (mail.kind, mail.key, FORBIDDEN.search(part))


# ---- each mail type ---------------------------------------------------------------------------------------


def test_every_mail_type_was_sent(mails: list[Sent]) -> None:
    assert {m.kind for m in mails} >= {"acknowledgement", "not_counted", "refused", "chaser", "escalation",
                                       "extension", "budget", "ask_iro", "directory_gap", "chaser_nobody",
                                       "referral"}


def test_the_acknowledgement_says_the_date_was_moved_and_why(mails: list[Sent]) -> None:
    ack = only(mails, "acknowledgement")
    assert (ack.to, ack.cc) == ((IRO,), ())
    assert_fit_for(ack)
    assert_says(ack, "has been received and opened as ESC-0001, at Level 1 (Team Manager) with Tom Manager",
                "The response date in your subject is not a working day.", f"The response is due by {CHRISTMAS}",
                "What is asked: if any of this is wrong, reply to this mail with one line at the top",
                "Tom Manager will be reminded before Tuesday 29 December 2026",
                "Sent to: Jane Reviewer <jane.iro@example.test>")


def test_a_reply_that_does_not_count(mails: list[Sent]) -> None:
    note = only(mails, "not_counted")
    assert (note.to, note.cc) == ((IRO,), ())
    assert_fit_for(note)
    assert_says(note, "Colin Colleague <colin.colleague@example.test> replied in the thread of ESC-0001",
                "it does not count as the Level 1 response",
                "What is asked: if the reply does answer the concern", "Resolved - ", "Escalate",
                f"The Level 1 response from Tom Manager is still due by {CHRISTMAS}")


def test_a_command_not_obeyed(mails: list[Sent]) -> None:
    refused = only(mails, "refused")
    assert refused.to == (IRO,) and QA in refused.cc
    assert_fit_for(refused)
    assert_says(refused, "asked to close the escalation as resolved, and it was not done",
                "Colin Colleague <colin.colleague@example.test>",
                "reply to this mail yourself with the one line that does it",
                f"it is at Level 1 with Tom Manager, response due by {CHRISTMAS}")


def test_the_reminders(mails: list[Sent]) -> None:
    chasers = [m for m in mails if m.kind == "chaser"]
    assert [(m.at.date(), m.to) for m in chasers] == [
        (date(2026, 12, 23), (TM,)), (date(2026, 12, 29), (TM,)), (date(2027, 1, 4), (SM,)),
        (date(2027, 1, 11), (SM,)), (date(2027, 1, 13), (SM,)), (date(2027, 1, 20), (HOS,)),
        (date(2027, 1, 22), (HOS,)), (date(2027, 1, 29), (DEE,))]
    for chaser in chasers:
        assert QA in chaser.cc and IRO in chaser.cc
        assert_fit_for(chaser)
        assert_says(chaser, "What is asked: please send your response to the concern below",
                    "replying to all on this mail", "The concern Jane Reviewer raised",
                    "The care plan has not been signed off", "Jane Reviewer <jane.iro@example.test>")
    first, today = chasers[0], chasers[1]
    assert first.subject.endswith("Reminder: Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 29/12/2026")
    assert_says(first, f"A reminder: the Level 1 response to ESC-0001, the escalation about Jane Doe "
                       f"(MOSAIC 123456), is due by {CHRISTMAS}.", "by Tuesday 29 December 2026, replying",
                "the escalation goes to Level 2 (Service Manager) of Example Council's process",
                "Sent to: Tom Manager <tom.manager@example.test>", "Sara Service <sara.service@example.test>")
    assert today.subject.endswith("Response due today: Level 1 escalation - Jane Doe - MOSAIC 123456 - "
                                  "response by 29/12/2026")
    assert_says(today, f"is due today, {CHRISTMAS}, and none is recorded yet", "none is recorded by the end of today")


def test_the_escalations_say_why_in_both_parts(mails: list[Sent]) -> None:
    level2, level3 = (m for m in mails if m.kind == "escalation")
    assert level2.to == (SM,) and {QA, IRO, TM, HOS} <= set(level2.cc)
    assert level2.subject == (f"[{REF}] Action - Level 2 escalation - Jane Doe - MOSAIC 123456 - response by "
                              "06/01/2027")
    assert_fit_for(level2)
    assert_says(level2, "now comes to you at Level 2 (Service Manager) of Example Council's escalation process, "
                        "because the Level 1 (Team Manager) response from Tom Manager was due by "
                        f"{CHRISTMAS} and none was recorded",
                "What is asked: please respond to the concern below by Wednesday 6 January 2027",
                "the escalation goes to Level 3 (Head of Locality)", "The concern the IRO raised",
                "Copied to: quinn.qa@example.test, Hana Head <hos@example.test>, Jane Reviewer "
                "<jane.iro@example.test>, Tom Manager <tom.manager@example.test>")
    assert level3.to == (HOS,) and {QA, IRO, SM} <= set(level3.cc)
    assert_fit_for(level3)
    assert_says(level3, "because Jane Reviewer, the IRO, was not satisfied with the Level 2 (Service Manager) "
                        "response from Sara Service", "please respond to the concern below by Friday 22 January 2027")


def test_the_request_for_more_time(mails: list[Sent]) -> None:
    ask = only(mails, "extension")
    assert (ask.to, ask.cc) == ((IRO,), ())
    assert_fit_for(ask)
    assert_says(ask, "Sara Service has asked for more time to respond to ESC-0001",
                "until Wednesday 13 January 2027", "The response is due by Wednesday 6 January 2027",
                "What is asked: if you agree, reply to this mail with one line at the top", "Extend to 13/01/2027",
                "Please decide before the end of Wednesday 6 January 2027")


def test_the_budget_warnings(mails: list[Sent]) -> None:
    fifteen, twenty = (m for m in mails if m.kind == "budget")
    for warning in (fifteen, twenty):
        assert warning.to == (IRO,) and QA in warning.cc
        assert_fit_for(warning)
        assert_says(warning, "What is asked: please consider whether the matter can be resolved now",
                    "It is at Level 2 (Service Manager) with Sara Service, response due by Wednesday 13 January 2027")
    assert_says(fifteen, "has now run 15 working days of the 20", "should be finished by Thursday 14 January 2027")
    assert_says(twenty, "the time is up", "should have been finished by Thursday 14 January 2027")
    assert "the time is up" not in fifteen.text


def test_resolved_or_escalate(mails: list[Sent]) -> None:
    ask = only(mails, "ask_iro")
    assert (ask.to, ask.cc) == ((IRO,), ())
    assert_fit_for(ask)
    assert_says(ask, "Sara Service responded to ESC-0001", "on Wednesday 13 January 2027",
                "The plan will be signed off at panel", "What is asked: are you satisfied?",
                "Level 3", "Head of Locality", "as soon as you can",
                "Until you reply, the escalation stays open at Level 2 and nobody is reminded.")


def test_the_questions_for_the_iro_and_qa_about_the_directory(mails: list[Sent]) -> None:
    copies, who = (m for m in mails if m.kind == "directory_gap")
    for question in (copies, who):
        assert question.to == (IRO,) and QA in question.cc
        assert_fit_for(question)
    assert copies.subject == f"[{REF}] Who should be copied? Level 3 escalation - Jane Doe - MOSAIC 123456"
    assert_says(copies, "has gone to Hana Head <hos@example.test> at Level 3 (Head of Locality), response due by "
                        "Friday 22 January 2027",
                "also copies the Corporate Director for Care and Protection at this level",
                "Who is the Corporate Director for Care and Protection for this escalation?",
                "forward the Level 3 escalation mail you were copied on to them: a one-line note is enough")
    assert who.subject == (f"[{REF}] Who is the Corporate Director for Care and Protection? Level 4 escalation - "
                           "Jane Doe - MOSAIC 123456")
    assert_says(who, "is due to go to Level 4 (Corporate Director for Care and Protection), because the Level 3 "
                     "(Head of Locality) response from Hana Head was due by Friday 22 January 2027",
                "has not guessed", "Please forward this mail to them", "a one-line note is enough",
                "asked to respond by Friday 29 January 2027",
                # what the director reads when the IRO forwards it
                "For the Corporate Director for Care and Protection:", "Please respond by Friday 29 January 2027")
    # the question may be forwarded to the director: it says nothing a director should not read
    for part in (who.subject, *who.parts):
        assert not FORBIDDEN.search(part), FORBIDDEN.search(part)
    # the manager's escalation at Level 3 says nothing of the gap
    level3 = [m for m in mails if m.kind == "escalation"][1]
    assert "Corporate Director" not in level3.text.split("The history so far")[0].replace(
        "the escalation goes to Level 4 (Corporate Director for Care and Protection)", "")


def test_nobody_to_chase(mails: list[Sent]) -> None:
    nobody = only(mails, "chaser_nobody")
    assert nobody.to == (IRO,) and QA in nobody.cc
    assert nobody.subject == f"[{REF}] No manager to chase: Level 4 escalation - Jane Doe - MOSAIC 123456"
    assert_fit_for(nobody)
    assert_says(nobody, "is due by Friday 29 January 2027",
                "no Corporate Director for Care and Protection is recorded for it, so nobody has been reminded",
                "Please forward your escalation mail to them", "Please do it before Friday 29 January 2027",
                "the escalation goes to Level 5 (Cafcass referral)")


def test_the_referral_notice(mails: list[Sent]) -> None:
    referral = only(mails, "referral")
    assert referral.to == (IRO,) and QA in referral.cc
    assert referral.subject == f"[{REF}] Consider a Cafcass referral: Jane Doe - MOSAIC 123456"
    assert_fit_for(referral)
    assert_says(referral, "has reached the end of Example Council's escalation process without being resolved: "
                          "Level 4 (Corporate Director for Care and Protection)", "was its last level",
                "What is asked: please decide, as soon as you can", "Cafcass referral", "Resolved",
                "does not contact Cafcass")
    for part in referral.parts:
        assert "(not known)" not in part and "no date" not in part


# ---- across every mail ----------------------------------------------------------------------------------------


def test_christmas_every_mail_shows_the_working_day_it_means(mails: list[Sent]) -> None:
    """The IRO's date is Friday 25 December 2026: every mail until Level 1 closes names Tuesday 29 December 2026
    with the reason, and no mail ever calls a due date Friday 25 December."""
    before = [m for m in mails if m.at <= at(2026, 12, 30)]
    assert {m.kind for m in before} >= {"acknowledgement", "not_counted", "refused", "chaser", "escalation"}
    for mail in before:
        assert_says(mail, CHRISTMAS)
        assert "25/12/2026" not in mail.subject, mail.subject
    for mail in mails:
        for part in (mail.subject, *mail.parts):
            assert "Friday 25 December" not in part, (mail.kind, part)
            assert "due today, Friday 25" not in part


def test_no_mail_to_a_manager_says_bot_or_a_configuration_key(mails: list[Sent]) -> None:
    to_managers = [m for m in mails if m.to_a_manager]
    assert {m.kind for m in to_managers} >= {"chaser", "escalation"}
    for mail in to_managers:
        for part in (mail.subject, *mail.parts):
            assert not FORBIDDEN.search(part), (mail.kind, FORBIDDEN.search(part))


def test_addresses_are_shown_with_names(mails: list[Sent]) -> None:
    names = {TM: "Tom Manager", SM: "Sara Service", HOS: "Hana Head", IRO: "Jane Reviewer"}
    mine = {"acknowledgement", "not_counted", "refused", "chaser", "escalation", "extension", "budget", "ask_iro",
            "directory_gap", "chaser_nobody", "referral"}
    for mail in (m for m in mails if m.kind in mine):
        for address in (a for a in (*mail.to, *mail.cc) if a in names):
            assert_says(mail, f"{names[address]} <{address}>")


def test_the_forwarded_question_does_not_read_fw_with_two_spaces(tmp_path: Path, clock: Clock) -> None:
    """The "Who is …?" mail is meant to be forwarded: its Subject header starts on its own line (the ``email``
    package would fold it to the next line, which a reader unfolds to a leading space: "FW:  [ESC-0001] …")."""
    config = christmas_config(tmp_path)
    store = migrated_store(config, clock)
    try:
        bot = Ingestor(store, config, clock)
        bot.ingest(outlook_escalation(Thread(SUBJECT), subject=SUBJECT.replace("25/12/2026", "01/12/2026"),
                                      when=clock.now))
        with store.unit_of_work() as uow:
            esc = uow.escalations.get(REF)
            Actions(config, config.calendar.calendar()).escalate(
                uow, esc, config.policy.level(4), clock.now, by="overdue", actor="clock")
            uow.commit()
        with store.unit_of_work() as uow:
            [row] = [r for r in uow.outbox.for_escalation(uow.escalations.get(REF)) if r.kind == "directory_gap"]
            raw = build_message(row).as_bytes()
    finally:
        store.dispose()
    head = raw.split(b"\r\n\r\n")[0].decode()
    assert re.search(r"^Subject: \[ESC-0001\] Who is the ", head, re.MULTILINE), head
    subject = str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])
    assert subject == row.subject and f"FW: {subject}".startswith("FW: [ESC-0001] Who is the")


def built(subject: str) -> bytes:
    from types import SimpleNamespace

    row = SimpleNamespace(from_email=BOT, to_emails=[IRO], cc_emails=[QA], subject=subject, created_at=at(2027, 1, 4),
                          message_id="m@example.test", headers={}, body_text="x", body_html=None, key="k",
                          attachment_list=lambda: [])
    return build_message(row).as_bytes()  # type: ignore[arg-type]


@pytest.mark.parametrize("extra", range(0, 40, 3))
def test_a_subject_of_any_length_starts_on_the_subject_line(extra: int) -> None:
    # 70 to 77 characters is where the email package would move it whole to the next line
    subject = "[ESC-0001] Who is the Service Manager? Level 2 escalation - Jo Li - LCS " + "4" * (extra + 1)
    raw = built(subject)
    assert f"\r\nSubject: {subject.split()[0]} ".encode() in raw
    parsed = str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])
    assert parsed == subject and f"FW: {parsed}".startswith("FW: [ESC-0001]")


def test_a_non_ascii_subject_reads_back_with_its_spaces() -> None:
    subject = ("[ESC-0001] Action - Level 2 escalation - Zoë Brontë and Siân O’Neill - LCS 445566 - response by "
               "06/01/2027")
    assert str(email.message_from_bytes(built(subject), policy=email.policy.default)["Subject"]) == subject


# ---- the acknowledgement's other cases -----------------------------------------------------------------------


def opened_by(config: Config, subject: str, when: datetime, **kw: object) -> Iterator[Sent]:
    clock = Clock(when)
    store = migrated_store(config, clock)
    try:
        Ingestor(store, config, clock).ingest(outlook_escalation(Thread(subject), subject=subject, when=when, **kw))
        with store.unit_of_work() as uow:
            yield from (seen(r) for r in uow.outbox.by_status(limit=100))
    finally:
        store.dispose()


def test_a_date_already_past_is_questioned(tmp_path: Path) -> None:
    subject = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
    [ack] = opened_by(example_config(tmp_path, directory=directory_table()), subject, at(2026, 12, 3, 9))
    assert ack.kind == "acknowledgement" and ack.to == (IRO,)
    assert_says(ack, "The response date in your subject, Tuesday 1 December 2026, had already passed when your mail "
                     "arrived. So that the manager is not overdue from the start, the response is due by Thursday "
                     "10 December 2026, 5 working days from today", "Extend to DD/MM/YYYY",
                "to take it to Level 2 (Service Manager) now: Escalate")


def test_a_working_date_in_the_future_with_a_manager_gets_no_acknowledgement(tmp_path: Path) -> None:
    subject = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 08/12/2026"
    assert list(opened_by(example_config(tmp_path, directory=directory_table()), subject, at(2026, 12, 1, 9))) == []


def test_an_untimed_informal_stage_is_acknowledged_without_a_made_up_date(tmp_path: Path) -> None:
    config = example_config(tmp_path, directory=directory_table(), policy={"base": "south-west", "case_record": False})
    [ack] = opened_by(config, "Stage 1 escalation - Jane Doe - MOSAIC 123456", at(2026, 12, 1, 9))
    assert ack.kind == "acknowledgement"
    assert_says(ack, "No response date in the subject", "is not timed under Example Council's procedure")
    for part in ack.parts:
        assert "None working days" not in part and "due —" not in part and "—, from" not in part
