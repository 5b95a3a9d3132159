"""``mailbot demo [DIR]``: one made-up escalation from the IRO's first mail to the QA managers' digest, in a few
seconds, told day by day, with every mail the bot sent written where you can open it::

    mailbot demo                  # into a new temporary folder (kept; its path is printed at the end)
    mailbot demo demo-mails/      # into DIR
    mailbot demo --now 2026-12-01 # the story starts on that day (else today, or the next working day)

It is :mod:`mailbot.cli.preview`'s machinery with a shorter story: the same made-up people and throw-away store,
the real :class:`~mailbot.mail_in.ingest.Ingestor` reading the mails people send and the real
:class:`~mailbot.clock.tick.Ticker` ticking every morning at 09:05 London, the same files per mail. The story
(:class:`DemoStory`): the IRO's Level 1 mail with a date in the subject; the reminder to the manager; his
out-of-office, back after the date; the response due today; the escalation to the next level when the date has
passed; that manager's answer; the IRO's ``Resolved – …``; the closure notice and the text for the child's record;
the QA managers' weekly digest.

Always on the embedded default (its council, Dorset's policy, England's calendar), whatever ``--config`` or
``$MAILBOT_CONFIG`` says: the demo needs no file, and it opens neither the configured store nor the mailbox.
Everything it writes is in DIR (the store in a temporary folder inside it, deleted at the end): the folder 0700,
every file 0600, as the bot writes what names children (the children here are made up).

The command itself is :mod:`mailbot.cli.stories`'s, which imports this module (and with it the App and the store)
only when it runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from mailbot.config import Config
from rules.calendar import LONDON
from rules.directory import Person
from store.models import OutboxMail

from .preview import (
    CHILD_A,
    Cast,
    MailIn,
    Scenario,
    Sent,
    _at,
    _long,
)

CHILD = CHILD_A.split()[0]
IRO_DAYS = 5  # the IRO asks for a response within a working week
STAMP = 23  # the width of "Tue 10 Dec 2026 09:30  "
_DUE = re.compile(r"response by (\d{2})/(\d{2})/(\d{4})")


@dataclass(frozen=True)
class State:
    """A record at one moment, as the story tells it."""

    reference: str
    status: str
    outcome: str | None
    level: int
    label: str
    due: date | None
    responded: bool


class DemoStory(Scenario):
    """One escalation, start to finish (see the module notes), and what became of each mail people sent."""

    def __init__(self, config: Config, cast: Cast, start: date) -> None:
        super().__init__(config, cast, start)
        self.reference: str | None = None
        self.states: list[tuple[State | None, State | None]] = []  # per mail in: the record before and after

    def state(self, reference: str | None) -> State | None:
        if reference is None:
            return None
        with self.app.store.unit_of_work() as uow:
            esc = uow.escalations.get(reference)
            if esc is None:
                return None
            stage = esc.current_stage
            level = self.policy.find_level(esc.current_level)
            return State(reference, esc.status, esc.outcome, esc.current_level,
                         level.label if level is not None else f"level {esc.current_level}",
                         stage.due_on if stage else None, bool(stage and stage.responded_at))

    def send(self, sender: Person, *, to: Iterable[str], cc: Iterable[str] = (), subject: str, text: str,
             when: datetime, reply_to: Sent | None = None, auto_reply: bool = False) -> Sent:
        before = self.state(self.reference)
        sent = super().send(sender, to=to, cc=cc, subject=subject, text=text, when=when, reply_to=reply_to,
                            auto_reply=auto_reply)
        self.states.append((before, self.state(self.mails_in[-1].result.reference)))
        return sent

    def run(self) -> None:
        cast, iro, first = self.cast, self.cast.iro, self.cast.first
        level = self.policy.first_formal_level()
        start = self.working_day()
        due = self.calendar.add_working_days(start, IRO_DAYS)

        # the IRO's Level 1 mail, the date in the subject
        opening = self.send(iro, to=[first.email], cc=[*cast.qa, self.bot], when=_at(start, 9, 30),
                            subject=self.opening(level, CHILD_A, self.case_a, due), text=(
            f"{first.name.split()[0] if first.name else 'Hello'},\n\n"
            f"{CHILD_A}'s care plan has not been updated since the placement move, and the review's decision to "
            "arrange an initial health assessment has not been carried out.\n\n"
            f"Please tell me by {_long(due)} who will update the plan and when the assessment will take place."
            f"\n\nImpact: {CHILD}'s health needs are not known, and the carers do not know what the plan asks of "
            f"them.\n\n{iro.name}\nIndependent Reviewing Officer"))
        ref = self.reference = self._reference(opening)
        if ref is None:  # the bot did not open it: there is no story to tell
            return

        # the reminder; the manager's out-of-office answers it: away until after the date
        if self.tick_until(lambda: bool(self.bot_mails(ref, "chaser"))):
            chaser = self.bot_mails(ref, "chaser")[0]
            now = self.state(ref)
            back = self.calendar.add_working_days((now.due if now else None) or self.today, 2)
            self.send(first, to=[self.bot], subject=f"Automatic reply: {chaser.subject}", reply_to=chaser,
                      when=self.clock.now + timedelta(minutes=1), auto_reply=True, text=(
                f"I am on leave and will be back on {_long(back)}. For anything urgent please contact the duty "
                "manager."))

        # nobody answers: the date passes, the bot escalates; the next manager answers the IRO
        self.tick_until(lambda: self._moved_on(ref, level.number))
        now = self.state(ref)
        stage_to = self.record(ref)[2]
        if now is not None and now.status == "open" and stage_to:
            booked = self.working_day(6)
            self.reply(self.person(stage_to), self.latest_to(ref, stage_to, opening),
                       f"The plan will be updated this week and the health assessment is booked for {booked:%A} "
                       f"{booked.day} {booked:%B}. I have met the team and will confirm both to you.",
                       _at(self.working_day(1), 14, 0),
                       to=[iro.email], cc=[self.bot, *cast.qa])

        # the IRO is satisfied
        now = self.state(ref)
        if now is not None and now.status == "open":
            self.reply(iro, self.latest_to(ref, iro.email, opening), "Resolved – the plan is being updated and "
                       "the health assessment is booked.", _at(self.working_day(1), 10, 0), to=[self.bot],
                       cc=list(cast.qa))
        self.last_digest()

    def _moved_on(self, reference: str, level: int) -> bool:
        now = self.state(reference)
        return now is None or now.status != "open" or now.level != level


# --------------------------------------------------------------------------------------------- the telling


def stamp(moment: datetime) -> str:
    """``Tue 1 Dec 2026 09:30``, London."""
    at = moment.astimezone(LONDON)
    return f"{at:%a} {at.day} {at:%b %Y} {at:%H:%M}"


def _due_in(subject: str) -> date | None:
    found = _DUE.search(subject)
    if found is None:
        return None
    day, month, year = (int(g) for g in found.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _quote(text: str, limit: int = 120) -> str:
    """The first sentence of ``text`` (cut at ``limit`` characters)."""
    first = " ".join(text.split())
    found = re.match(r".+?[.!?](?=\s|$)", first)
    first = found.group(0) if found else first
    return first if len(first) <= limit else first[:limit - 1].rstrip() + "…"


class Teller:
    """Words for what happened, from the story's people and records."""

    def __init__(self, story: DemoStory) -> None:
        self.story = story

    def name(self, email: str) -> str:
        person = self.story.directory.person(email)
        return person.name if person is not None and person.name else email

    def who(self, email: str) -> str:
        person = self.story.directory.person(email)
        if person is None or not person.name:
            return email
        return f"{person.name} ({person.role})" if person.role else person.name

    def names(self, emails: list[str] | tuple[str, ...], *, roles: bool = False) -> str:
        shown = [(self.who if roles else self.name)(e) for e in emails if e.lower() != self.story.bot.lower()]
        if len(shown) <= 2:
            return " and ".join(shown) or "nobody"
        return ", ".join(shown[:-1]) + " and " + shown[-1]

    def mail_in(self, mail: MailIn, before: State | None, after: State | None) -> tuple[str, str]:
        """What someone did (one line) and what the bot made of it."""
        sender = self.who(mail.sender.email)
        if mail.auto_reply:
            did = f"{mail.sender.name}'s out-of-office replies: \"{_quote(mail.text)}\""
        elif mail.subject.upper().startswith(("RE:", "FW:")):
            to = self.names(mail.to)
            did = f"{sender} replies{' to ' + to if to != 'nobody' else ''}: \"{_quote(mail.text)}\""
        else:
            did = f"{sender} writes: \"{mail.subject}\" to {self.names(mail.to, roles=True)}"
        result = mail.result
        if after is None:
            return did, f"{result.outcome}{': ' + result.reason if result.reason else ''}"
        due = f", response due {_long(after.due)}" if after.due else ""
        if result.outcome == "opened" or before is None:
            made = f"recorded as {after.reference}, {after.label}{due}"
        elif after.status != before.status:
            made = f"{after.reference} closed ({after.outcome or after.status}) at {after.label}"
        elif after.level != before.level:
            made = f"{after.reference} moved to {after.label}{due}"
        elif after.responded and not before.responded:
            made = f"counted as the {after.label} response"
        elif mail.auto_reply:
            made = f"kept on {after.reference}'s timeline; the clock runs on"
        else:
            made = f"kept on {after.reference}'s timeline ({result.outcome})"
        return did, made

    def mail_out(self, row: OutboxMail) -> str:
        """What the bot sent, in a few words."""
        to, cc = self.names(row.to_emails), self.names(row.cc_emails)
        copied = f" ({cc} copied)" if row.cc_emails else ""
        due = _due_in(row.subject)
        when = row.created_at.astimezone(LONDON).date()
        if row.kind == "chaser":
            if due is None:
                return f"reminder to {to}"
            days = self.story.calendar.working_days_between(when, due)
            return f"reminder to {to} (due today)" if days == 0 else \
                f"reminder to {to} (due in {_plural(days, 'working day')})"
        if row.kind == "escalation":
            level = re.search(rf"{re.escape(self.story.policy.level_word)} \d+", row.subject)
            what = f" to {level.group(0)}" if level else ""
            by = f"; response due {_long(due)}" if due else ""
            return f"escalated{what}: mail to {self.names(row.to_emails, roles=True)}{by}{copied}"
        if row.kind == "case_record":
            return f"the text for the child's case record, to {to}"
        if row.kind == "away":
            return f"tells {to} the manager is away until after the due date{copied}"
        if row.kind == "ask_iro":
            return f"asks {to}: resolved, or escalate?"
        if row.kind == "closure":
            return f"closure notice to {to}{copied}"
        if row.kind == "digest":
            return f"weekly digest to the QA manager{'s' if len(row.to_emails) > 1 else ''} ({to})"
        return f"{row.kind.replace('_', ' ')} to {to}{copied}: \"{row.subject}\""


def tell(story: DemoStory, written: list[tuple[str, OutboxMail, str | None]]) -> list[str]:
    """The story, a line per event, oldest first: each mail people sent and what the bot made of it, each mail the
    bot sent with its file."""
    teller = Teller(story)
    events: list[tuple[datetime, int, int, list[str]]] = []
    for n, (mail, (before, after)) in enumerate(zip(story.mails_in, story.states, strict=True)):
        did, made = teller.mail_in(mail, before, after)
        events.append((mail.when, 0, n, [did, f"→ {made}"]))
    for n, (stem, row, _ref) in enumerate(written):
        events.append((row.created_at, 1, n, [f"→ {teller.mail_out(row)}   [{stem}.html]"]))
    lines: list[str] = []
    last = ""
    for moment, _order, _n, said in sorted(events, key=lambda e: (e[0], e[1], e[2])):
        shown = stamp(moment)
        for text in said:
            lines.append(f"{shown if shown != last else '':<{STAMP}}{text}")
            last = shown
    return lines
