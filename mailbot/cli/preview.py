"""``mailbot preview-mails DIR``: every mail the bot sends, for made-up escalations, so a council can read them all
before go-live::

    mailbot preview-mails preview/                       # the embedded default (or $MAILBOT_CONFIG)
    mailbot --config council.toml --now 2027-01-11 preview-mails preview/

Nothing is written by hand. In a throw-away store (SQLite in a temporary folder) with the configuration's council,
policy, calendar, templates and directory, made-up escalations are driven through the real flow with a clock the
command moves on, working day by working day (a tick every morning at 09:05 London): the IRO's escalation mails
are read by the real :class:`~mailbot.mail_in.ingest.Ingestor`, the real :class:`~mailbot.clock.tick.Ticker`
chases and escalates, and people answer as they would:

* **ESC one** (the IRO's date in the subject): a refused command from outside the council, a colleague's reply that
  does not count, the chasers, the manager's request for more time and the IRO's ``Extend to``, the escalation to
  the next level, that manager's out-of-office back after the due date, the next escalation, a manager's answer and
  "resolved or escalate?", the IRO's ``Escalate``, the directory not knowing who is next (the IRO forwards the mail
  to the right person), the budget warnings, the referral notice, and at last ``Resolved``;
* **ESC two** (no date in the subject): the acknowledgement, the IRO's ``Escalate to level 3`` over the next level
  (a bypass), that manager's answer, and ``Withdraw``;
* and the QA managers' weekly digest after it.

Then every row the outbox holds — whatever mail types the bot has, never a fixed list — is built exactly as it would
be sent (:func:`mailbot.mail_out.delivery.build_message`) and written as ``NN-kind.eml`` (the whole mail),
``NN-kind.html`` (its HTML part, with a block showing From, To, Cc, Subject and Date above it) and ``NN-kind.txt``
(the same headers and the text part), with ``index.html`` listing them. Nothing is sent and the configured store
and mailbox are never opened.

People. When the configuration's directory lists nobody, a made-up one is used, at the council's first domain: an
IRO, a QA manager, an IRO team manager, one manager for each of the policy's timed levels, each reporting to the
next — except that the line stops below the last level, so the bot has to ask who that is — and one person for
each role the policy copies. Otherwise the configuration's directory is used as it is: its first IRO opens the
escalations, to the manager at the first level whose reporting line goes highest. The made-up mails carry no
gateway's evidence, so the preview believes their From lines (``[security]`` as in a trial).

The files hold made-up escalations, but are written as the bot writes what names children: the folder 0700, every
file 0600 (an existing folder is made 0700; files an earlier preview wrote there are replaced).

``mailbot demo`` (:mod:`mailbot.cli.demo`) tells one shorter story on the same parts: :func:`throwaway` (the
scenario in a store in a temporary folder), :class:`Scenario` (the clock, the ticks, the digest, people's mails —
each kept in ``mails_in`` with what the bot made of it — and the outbox), :func:`write_gallery` and
:func:`private_folder`.

The command itself is :mod:`mailbot.cli.stories`'s, which imports this module (and with it the App and the store)
only when it runs.
"""

from __future__ import annotations

import html
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select

from mailbot.app import App
from mailbot.config import DAYS, Config, DirectorySettings, SecuritySettings
from mailbot.mail_in.ingest import IngestResult
from mailbot.mail_out.delivery import build_message
from mailbot.mail_out.digest import queue_digest
from rules.calendar import LONDON
from rules.directory import Directory, Person, roles_match
from rules.policy import Level, Policy
from store.models import Escalation, OutboxMail

from .export import write_private
from .support import fail

log = logging.getLogger(__name__)
S = TypeVar("S", bound="Scenario")

PRIVATE_DIR = 0o700
TICK_AT = time(9, 5)  # the morning tick, London
OUTSIDE_DOMAIN = "fostering-agency.example"  # RFC 2606: never a real domain
_WRITTEN = re.compile(r"^\d{2,3}-[a-z0-9_-]+\.(?:eml|html|txt)$")

#: Made-up names for the managers of the ladder and the roles the policy copies, in order.
MANAGER_NAMES = ("Tom Ashby", "Sara Okafor", "Priya Raman", "Dana Whitlock", "Lee Marsh", "Kim Hollis",
                 "Ravi Bhatt", "Ellen Carr", "Noor Haddad", "Owen Pryce")
CHILD_A = "Alex Sample"
CHILDREN_B = "Riley and Jordan Example"


def _address(name: str, domain: str) -> str:
    return ".".join(name.lower().split()) + "@" + domain


# --------------------------------------------------------------------------------------------- the people


@dataclass(frozen=True)
class Cast:
    """Who plays a part: the IRO, the first level's manager, the QA managers, a colleague and an outsider."""

    iro: Person
    first: Person
    qa: tuple[str, ...]
    colleague: Person
    outsider: Person
    domain: str

    def named_for(self, directory: Directory, role: str) -> Person:
        """Whom the IRO names when the directory cannot tell who holds ``role``."""
        found = directory.by_role(role)
        if found:
            return found[0]
        return Person(_address(f"{role} Stand-in", self.domain), f"{role} (stand-in)", role)


def made_up_directory(policy: Policy, domain: str) -> tuple[DirectorySettings, Person, Person]:
    """A directory for ``policy`` at ``domain``: the IRO, the QA manager, the IRO team manager, a manager for each
    timed level reporting to the next one's (the line stops below the last, when there are three or more: the bot
    must ask who that is) and one person for each other role the policy copies. Returns it, the IRO and the first
    level's manager."""
    names = iter(MANAGER_NAMES)
    ladder: list[Person] = []
    for level in policy.levels:
        if level.timed and not any(roles_match(p.role, level.role) for p in ladder):
            ladder.append(Person(_address(name := next(names), domain), name, level.role))
    linked = []
    for i, person in enumerate(ladder):
        last_link = i + 1 < len(ladder) and not (len(ladder) >= 3 and i + 2 == len(ladder))
        linked.append(replace(person, reports_to=ladder[i + 1].email) if last_link else person)
    qa = Person(_address("Quinn Adeyemi", domain), "Quinn Adeyemi", "QA Manager")
    iro_tm = Person(_address("Rowan Hart", domain), "Rowan Hart", "IRO Team Manager")
    iro = Person(_address("Jo Whitfield", domain), "Jo Whitfield", "IRO", reports_to=iro_tm.email)
    people = [iro, *linked, qa, iro_tm]
    copied = [*policy.always_copy_roles, *(r for level in policy.levels for r in level.copy_roles)]
    for role in copied:
        if not any(roles_match(p.role, role) for p in people):
            name = next(names, None) or f"{role} Holder"
            people.append(Person(_address(name, domain), name, role))
    settings = DirectorySettings(people=tuple(people), qa_managers=(qa.email,), iro_team_managers=(iro_tm.email,))
    return settings, iro, linked[0]


def cast_for(config: Config) -> tuple[DirectorySettings, Cast]:
    """The directory the preview uses and who plays each part (see the module notes)."""
    domain = config.domains[0]
    policy = config.policy
    first_role = policy.first_formal_level().role
    if config.directory.people:
        settings = config.directory
        directory = settings.directory()
        iros = directory.iros()
        iro = directory.person(iros[0]) if iros else None
        iro = iro or Person(_address("Jo Whitfield", domain), "Jo Whitfield", "IRO")
        managers = directory.by_role(first_role)
        first = (max(managers, key=lambda p: len(directory.chain_above(p)[0])) if managers
                 else Person(_address("Tom Ashby", domain), "Tom Ashby", first_role))
    else:
        settings, iro, first = made_up_directory(policy, domain)
    outside = OUTSIDE_DOMAIN if not config.allows_address("x@" + OUTSIDE_DOMAIN) else "outside.invalid"
    cast = Cast(iro=iro, first=first, qa=settings.directory().qa_managers,
                colleague=Person(_address("Chris Doyle", domain), "Chris Doyle", "Social Worker"),
                outsider=Person(_address("Pat Morgan", outside), "Pat Morgan", "Foster carer's agency"),
                domain=domain)
    return settings, cast


def preview_config(config: Config, folder: Path) -> tuple[Config, Cast]:
    """``config`` with the preview's store (SQLite in ``folder``), directory and trial ``[security]``."""
    settings, cast = cast_for(config)
    return replace(
        config, store=replace(config.store, url=f"sqlite:///{folder / 'preview.db'}"), directory=settings,
        security=SecuritySettings(internal_requires="none", external_requires="none"),
    ), cast


# --------------------------------------------------------------------------------------------- the story


class _Clock:
    """The preview's clock: the scenario moves it on."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def _dmy(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _long(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


@dataclass(frozen=True)
class Sent:
    """A mail someone sent in the story: what a reply to it needs."""

    message_id: str
    subject: str
    references: str = ""


@dataclass(frozen=True)
class MailIn:
    """A mail someone sent in the story, as the bot read it: who, to whom, when, and what became of it."""

    when: datetime
    sender: Person
    to: tuple[str, ...]
    subject: str
    text: str
    auto_reply: bool
    result: IngestResult


class Scenario:
    """Made-up escalations driven through the real flow (see the module notes)."""

    def __init__(self, config: Config, cast: Cast, start: date) -> None:
        self.config = config
        self.cast = cast
        self.policy = config.policy
        self.calendar = config.calendar.calendar()
        self.directory = config.directory.directory()
        self.clock = _Clock(_at(start, 8, 30))
        self.app = App(config, clock=self.clock)  # nothing is ever sent: the outbox is only read
        self.count = 0
        self.mails_in: list[MailIn] = []  # every mail the story sent the bot, in order
        self.want_digest = self.digested = False
        self.bot = config.mailbox.address
        system = self.policy.case_system.strip()
        self.case_a = f"{system} 900001".strip()
        self.case_b = f"{system} 900002".strip()

    # -- the clock ------------------------------------------------------------------------------------------

    @property
    def today(self) -> date:
        return self.clock.now.astimezone(LONDON).date()

    def advance_to(self, moment: datetime) -> None:
        """Move the clock on to ``moment``, ticking at 09:05 every day on the way (and at ``moment`` if it is one),
        and queueing the weekly digest at its moment when the story wants one — each job in time order."""
        day = self.today
        while _at(day, 0) <= moment:
            jobs = [(_at(day, TICK_AT.hour, TICK_AT.minute), True), (self._digest_moment(day), False)]
            for at, is_tick in sorted((at, is_tick) for at, is_tick in jobs if at is not None):
                if self.clock.now < at <= moment:
                    self.clock.now = at
                    if is_tick:
                        self.app.ticker.tick(at)
                    else:
                        self.digest()
            day += timedelta(days=1)
        self.clock.now = max(moment, self.clock.now)

    def soon(self, hour: int, minute: int = 0) -> datetime:
        """Today at ``hour:minute``, or half an hour from now when that has passed."""
        return max(_at(self.today, hour, minute), self.clock.now + timedelta(minutes=30))

    def working_day(self, after: int = 0) -> date:
        """The working day ``after`` working days from today (0: today if it is one, else the next)."""
        return self.calendar.add_working_days(self.calendar.next_working_day(self.today), after)

    def tick_until(self, done: Callable[[], bool], days: int = 45) -> bool:
        """Tick every morning until ``done()`` (at most ``days`` days)."""
        for _ in range(days):
            if done():
                return True
            self.advance_to(_at(self.today + timedelta(days=1), TICK_AT.hour, TICK_AT.minute))
        return done()

    # -- mail in ----------------------------------------------------------------------------------------------

    def send(self, sender: Person, *, to: Iterable[str], cc: Iterable[str] = (), subject: str, text: str,
             when: datetime, reply_to: Sent | None = None, auto_reply: bool = False) -> Sent:
        """A mail from ``sender``, read by the bot at ``when`` (the clock ticks its way there first)."""
        self.advance_to(when)
        self.count += 1
        msg = EmailMessage()
        msg["From"] = f"{sender.name} <{sender.email}>" if sender.name else sender.email
        msg["To"] = ", ".join(dict.fromkeys(to))
        cc = [a for a in dict.fromkeys(cc) if a]
        if cc:
            msg["Cc"] = ", ".join(cc)
        msg["Subject"] = subject
        msg["Date"] = format_datetime(when)
        message_id = f"preview.{self.count}.{when:%Y%m%d%H%M}@{self.cast.domain}"
        msg["Message-ID"] = f"<{message_id}>"
        references = ""
        if reply_to is not None:
            msg["In-Reply-To"] = f"<{reply_to.message_id}>"
            references = " ".join(filter(None, [reply_to.references, f"<{reply_to.message_id}>"]))
            msg["References"] = references
        if auto_reply:
            msg["Auto-Submitted"] = "auto-replied"
            msg["X-Auto-Response-Suppress"] = "All"
        msg.set_content(text)
        result = self.app.ingestor.ingest(msg.as_bytes())
        log.debug("preview mail %s outcome=%s ref=%s", self.count, result.outcome, result.reference or "-")
        self.mails_in.append(MailIn(when, sender, tuple(dict.fromkeys(to)), subject, text, auto_reply, result))
        return Sent(message_id, subject, references)

    def reply(self, sender: Person, to_mail: Sent, text: str, when: datetime, *, to: Iterable[str],
              cc: Iterable[str] = (), prefix: str = "RE: ") -> Sent:
        subject = to_mail.subject if to_mail.subject.upper().startswith(prefix.upper()) else prefix + to_mail.subject
        return self.send(sender, to=to, cc=cc, subject=subject, text=text, when=when, reply_to=to_mail)

    # -- what the store holds ---------------------------------------------------------------------------------

    def record(self, reference: str) -> tuple[str, int, str | None, date | None, Level | None]:
        """``(status, level, addressee, due date, the level)`` of a record now."""
        with self.app.store.unit_of_work() as uow:
            esc = uow.escalations.get(reference)
            assert esc is not None, reference
            stage = esc.current_stage
            return (esc.status, esc.current_level, stage.addressee_email if stage else None,
                    stage.due_on if stage else None, self.policy.find_level(esc.current_level))

    def bot_mails(self, reference: str, kind: str | None = None, to: str | None = None) -> list[Sent]:
        """The bot's mails about a record (of ``kind``, to ``to``), oldest first."""
        with self.app.store.unit_of_work() as uow:
            esc = uow.escalations.get(reference)
            rows = uow.outbox.for_escalation(esc) if esc is not None else []
            return [Sent(r.message_id, r.subject, str((r.headers or {}).get("References") or ""))
                    for r in sorted(rows, key=lambda r: (r.created_at, r.id))
                    if (kind is None or r.kind == kind) and (to is None or to in r.to_emails)]

    def latest_to(self, reference: str, person: str, fallback: Sent) -> Sent:
        mails = self.bot_mails(reference, to=person)
        return mails[-1] if mails else fallback

    def person(self, email: str | None) -> Person:
        found = self.directory.person(email)
        return found or Person(email or self.cast.first.email, "", "")

    # -- the story ------------------------------------------------------------------------------------------------

    def opening(self, level: Level, children: str, case: str, due: date | None) -> str:
        return (f"Action - {level.label} escalation - {children} - {case}"
                + (f" - response by {_dmy(due)}" if due else ""))

    def run(self) -> None:
        cast, policy = self.cast, self.policy
        iro, first = cast.iro, cast.first
        first_level = policy.first_formal_level()
        start = self.working_day()
        due_a = self.calendar.add_working_days(start, first_level.working_days or 5)

        # ESC one: the IRO's Level 1 mail, with the date in the subject
        opening_a = self.send(iro, to=[first.email], cc=[*cast.qa, self.bot], when=_at(start, 9, 30),
                              subject=self.opening(first_level, CHILD_A, self.case_a, due_a), text=(
            f"{first.name.split()[0] if first.name else 'Hello'},\n\n"
            f"{CHILD_A}'s care plan has not been updated since the placement move, and the review's decision to "
            "arrange an initial health assessment has not been carried out. Please tell me by the date in the "
            "subject who will update the plan and when the assessment will take place.\n\n"
            f"{iro.name}\nIndependent Reviewing Officer"))
        ref_a = self._reference(opening_a)
        # ESC two: no date in the subject (the bot acknowledges, saying what it worked out)
        opening_b = self.send(iro, to=[first.email], cc=[*cast.qa, self.bot], when=_at(start, 9, 45),
                              subject=self.opening(first_level, CHILDREN_B, self.case_b, None), text=(
            "The brothers' contact with their mother has not taken place for six weeks, against the review's "
            "decision. Please arrange it and let me know.\n\n"
            f"{iro.name}\nIndependent Reviewing Officer"))
        ref_b = self._reference(opening_b)
        if ref_a is None:  # the bot did not open it (see the log): there is no story to tell
            return

        # someone outside the council replies "Resolved" — refused, the IRO told
        self.reply(cast.outsider, opening_a, "Resolved - the carers are happy with the plan now.",
                   _at(start, 10, 0), to=[iro.email], cc=[self.bot])

        # ESC two: the IRO goes over the next level ("Escalate to level N") — a bypass; that manager answers
        day2 = self.working_day(1)
        timed = [lvl for lvl in policy.levels if lvl.timed]
        bypass_to = timed[2] if len(timed) >= 3 else None
        if ref_b is not None and bypass_to is not None:
            ack = self.latest_to(ref_b, iro.email, opening_b)
            self.reply(iro, ack, f"Escalate to {bypass_to.label.lower()}", _at(day2, 10, 0), to=[self.bot])
        # ESC one: a colleague answers in the manager's place — on the record, the IRO told it does not count
        self.reply(cast.colleague, opening_a, "I visited Alex yesterday; the carers say the plan review meeting is "
                   "booked for next week and the health assessment is being arranged.", _at(day2, 11, 0),
                   to=[iro.email], cc=[self.bot, first.email])
        if ref_b is not None and bypass_to is not None:
            _status, _level, addressee, _due, _lvl = self.record(ref_b)
            if addressee:
                answer_to = self.latest_to(ref_b, addressee, opening_b)
                self.reply(self.person(addressee), answer_to, "Contact is arranged for Thursday at the family "
                           "centre and will be weekly from then on; I have asked the team manager to confirm it "
                           "to you in writing.", _at(self.working_day(1), 14, 0), to=[iro.email],
                           cc=[self.bot, *cast.qa])
        if ref_b is not None:
            self.reply(iro, self.latest_to(ref_b, iro.email, opening_b), "Withdraw - contact has restarted.",
                       _at(self.working_day(1), 10, 0), to=[self.bot])

        # ESC one: the chaser; the manager asks for more time; the bot tells the IRO; the IRO agrees
        if self.tick_until(lambda: bool(self.bot_mails(ref_a, "chaser"))):
            chaser = self.bot_mails(ref_a, "chaser")[0]
            _status, _level, _who, due, _lvl = self.record(ref_a)
            until = self.calendar.add_working_days(due or self.today, 3)
            self.reply(first, chaser, f"Could I have until {_dmy(until)}? The health assessment needs the GP's "
                       "records and I need more time to update the plan with them.", self.soon(11),
                       to=[self.bot], cc=[iro.email, *cast.qa])
            if self.tick_until(lambda: bool(self.bot_mails(ref_a, "extension"))):
                self.reply(iro, self.bot_mails(ref_a, "extension")[-1], f"Extend to {_dmy(until)}",
                           self.soon(10, 30), to=[self.bot])

        # ... nobody answers: the next level; its manager is away until after their due date
        self.tick_until(lambda: self.record(ref_a)[1] != first_level.number)
        self.want_digest = True  # the next weekly digest has something to say
        status, level, addressee, due, lvl = self.record(ref_a)
        if status == "open" and addressee and due and lvl is not None and lvl.timed:
            back = self.calendar.add_working_days(due, 2)
            escalation = self.latest_to(ref_a, addressee, opening_a)
            person = self.person(addressee)
            self.send(person, to=[self.bot], subject=f"Automatic reply: {escalation.subject}", reply_to=escalation,
                      when=self.clock.now + timedelta(minutes=1), auto_reply=True, text=(
                f"Thank you for your email. I am on leave and will be back on {_long(back)}. For anything urgent "
                "please contact the duty manager."))
            self.tick_until(lambda: self.record(ref_a)[1] != level)

        # ... the next manager answers; the IRO is asked "resolved or escalate?" and escalates
        status, level, addressee, _due, lvl = self.record(ref_a)
        if status == "open" and addressee and lvl is not None and lvl.timed:
            answer_to = self.latest_to(ref_a, addressee, opening_a)
            self.reply(self.person(addressee), answer_to, "I have met the team. The plan will be updated by Friday "
                       "and the health assessment is booked for the 20th; I will confirm both to you.",
                       _at(self.working_day(1), 14, 0), to=[iro.email], cc=[self.bot, *cast.qa])
            if self.tick_until(lambda: bool(self.bot_mails(ref_a, "ask_iro"))):
                self.reply(iro, self.bot_mails(ref_a, "ask_iro")[-1], "Escalate", self.soon(10),
                           to=[self.bot])

        # ... the directory cannot tell who is next: the IRO forwards the bot's question to the right person
        status, level, addressee, _due, lvl = self.record(ref_a)
        if status == "open" and addressee is None and lvl is not None and lvl.timed:
            gap = self.bot_mails(ref_a, "directory_gap")
            named = cast.named_for(self.directory, lvl.role)
            if gap:
                self.reply(iro, gap[-1], f"{named.name.split()[0]}, this is yours at {lvl.label.lower()} — please "
                           "see below and reply to all.", self.soon(11), to=[named.email],
                           cc=[self.bot, *cast.qa], prefix="FW: ")

        # ... nobody answers to the end of the ladder: the budget warnings and the referral notice
        self.tick_until(lambda: self._ladder_done(ref_a), days=40)
        # ... and the IRO resolves it
        if self.record(ref_a)[0] == "open":
            last = self.latest_to(ref_a, iro.email, opening_a)
            self.reply(iro, last, "Resolved - the plan was signed off at the review and the health assessment has "
                       "taken place.", _at(self.working_day(1), 10, 0), to=[self.bot], cc=list(cast.qa))
        self.advance_to(_at(self.today + timedelta(days=2), 12, 0))  # anything due after the closure

    def _ladder_done(self, reference: str) -> bool:
        status, _level, _who, _due, lvl = self.record(reference)
        if status != "open" or lvl is None or lvl.terminal:
            return True
        return self.policy.next_level(lvl.number) is None and bool(self.bot_mails(reference, "budget"))

    def _reference(self, opening: Sent) -> str | None:
        with self.app.store.unit_of_work() as uow:
            for esc in uow.escalations.list():
                if esc.subject == opening.subject:
                    return esc.reference
        return None

    def _digest_moment(self, day: date) -> datetime | None:
        """When the service would queue the weekly digest on ``day``, once the story asked for one."""
        service = self.config.service
        if not self.want_digest or self.digested or DAYS.index(service.digest_day) != day.weekday():
            return None
        return datetime.combine(day, service.digest_time, tzinfo=LONDON)

    def digest(self) -> None:
        """The QA managers' weekly digest, queued now (the service's job, at its scheduled moment)."""
        with self.app.store.unit_of_work() as uow:
            queue_digest(uow, self.config, "week", self.clock.now)
            uow.commit()
        self.digested = True

    def last_digest(self) -> None:
        """The digest at its next scheduled moment, unless the story already reached one."""
        self.want_digest = True
        day = self.today
        while not self.digested:
            moment = self._digest_moment(day)
            if moment is not None and moment > self.clock.now:
                self.advance_to(moment)  # the clock moved on to it, ticking on the way
                return
            day += timedelta(days=1)

    def outbox(self) -> list[tuple[OutboxMail, str | None, EmailMessage]]:
        """Every row the outbox holds, oldest first, with its record's reference and the mail as it is sent."""
        with self.app.store.unit_of_work() as uow:
            rows = list(uow.session.scalars(select(OutboxMail).order_by(OutboxMail.created_at, OutboxMail.id)))
            refs = {e.id: e.reference for e in uow.session.scalars(select(Escalation))}
            out = []
            for row in rows:
                uow.session.expunge(row)
                mail = build_message(row, names=self.app.name_of)  # with the display names, as sent
                out.append((row, refs.get(row.escalation_id) if row.escalation_id else None, mail))
            return out

    def close(self) -> None:
        self.app.close()


# --------------------------------------------------------------------------------------------- the files


def _headers(msg: EmailMessage) -> list[tuple[str, str]]:
    return [(name, str(msg[name])) for name in ("From", "To", "Cc", "Subject", "Date") if msg[name] is not None]


def _part(msg: EmailMessage, subtype: str) -> str | None:
    body = msg.get_body((subtype,))
    return str(body.get_content()) if body is not None else None  # type: ignore[attr-defined]


HEADER_BLOCK = (
    '<div id="preview-headers" style="background-color:#ffffff;border-bottom:1px solid #d5dbe3;padding:10px 12px;'
    "font-family:'Segoe UI',Arial,Helvetica,sans-serif;font-size:13px;line-height:18px;color:#1f2933;\">"
    '<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="width:100%;max-width:680px;'
    'margin:0 auto;border-collapse:collapse;table-layout:fixed;">{rows}</table></div>'
)
HEADER_ROW = ('<tr><th scope="row" style="width:64px;padding:1px 8px 1px 0;text-align:left;vertical-align:top;'
              'font-weight:normal;color:#5f6b7a;">{name}</th><td style="padding:1px 0;vertical-align:top;'
              'overflow-wrap:anywhere;word-break:break-word;">{value}</td></tr>')


def html_page(msg: EmailMessage) -> str:
    """The mail's HTML part with the header block at the top of its body (or its text, when it has no HTML)."""
    rows = "".join(HEADER_ROW.format(name=html.escape(n), value=html.escape(v)) for n, v in _headers(msg))
    block = HEADER_BLOCK.format(rows=rows)
    body = _part(msg, "html")
    if body is None:
        text, title = html.escape(_part(msg, "plain") or ""), html.escape(str(msg["Subject"]))
        return (f'<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>{title}</title></head>'
                f'<body style="margin:0;">{block}<pre style="margin:16px;white-space:pre-wrap;'
                f'overflow-wrap:anywhere;font-family:Consolas,monospace;font-size:13px;">{text}</pre></body></html>')
    found = re.search(r"<body\b[^>]*>", body, re.IGNORECASE)
    if found is None:
        return block + body
    return body[:found.end()] + block + body[found.end():]


def text_page(msg: EmailMessage) -> str:
    head = "".join(f"{name}: {value}\n" for name, value in _headers(msg))
    return f"{head}\n{_part(msg, 'plain') or ''}"


INDEX = """<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — {council}</title></head>
<body style="margin:0;padding:16px;background-color:#eef1f5;font-family:'Segoe UI',Arial,Helvetica,sans-serif;
font-size:14px;line-height:20px;color:#1f2933;">
<div style="max-width:980px;margin:0 auto;background-color:#ffffff;border:1px solid #d5dbe3;padding:16px;">
<h1 style="font-size:20px;line-height:26px;margin:0 0 8px 0;">{title} — {council}</h1>
<p style="margin:0 0 12px 0;">{what} ({refs}) driven through the bot with the policy {policy}, from
{start} to {end}. Nothing was sent. Each mail: the page as a mail client shows it (HTML), the text part, and the whole
mail (.eml, opens in Outlook).</p>
<table style="width:100%;border-collapse:collapse;table-layout:fixed;">
<tr style="background-color:#e8edf3;text-align:left;"><th style="width:36px;padding:4px;">#</th>
<th style="width:22%;padding:4px;">mail</th><th style="padding:4px;">subject and recipients</th>
<th style="width:120px;padding:4px;">open</th></tr>
{rows}
</table></div></body></html>
"""
INDEX_ROW = ('<tr style="border-top:1px solid #d5dbe3;vertical-align:top;"><td style="padding:4px;">{n}</td>'
             '<td style="padding:4px;overflow-wrap:anywhere;">{kind}<br><span style="color:#5f6b7a;">{ref} · {date}'
             '</span></td><td style="padding:4px;overflow-wrap:anywhere;">{subject}<br><span style="color:#5f6b7a;">'
             'To {to}{cc}</span></td><td style="padding:4px;"><a href="{stem}.html">HTML</a> · '
             '<a href="{stem}.txt">text</a> · <a href="{stem}.eml">.eml</a></td></tr>')


def private_folder(folder: Path) -> None:
    """Make ``folder`` (0700, an existing one changed to it) and clear the mails an earlier run wrote there."""
    if folder.exists() and not folder.is_dir():
        fail(f"{folder} is not a folder — name a folder to write the mails into")
    try:
        folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        os.chmod(folder, PRIVATE_DIR)
        for old in folder.iterdir():  # a previous preview's mails (there may be fewer now)
            if _WRITTEN.match(old.name) and old.is_file():
                old.unlink()
    except OSError as exc:
        fail(f"cannot write into {folder}: {exc.strerror or exc}")


def write_gallery(folder: Path, mails: list[tuple[OutboxMail, str | None, EmailMessage]], config: Config,
                  start: date, end: date, *, title: str = "Every mail the bot sends",
                  what: str = "Made-up escalations") -> list[tuple[str, OutboxMail, str | None]]:
    """Write the files (``index.html`` headed ``title``, saying ``what`` was driven through the bot); returns
    ``(stem, row, reference)`` per mail, in order."""
    private_folder(folder)
    width = max(2, len(str(len(mails))))
    written = []
    rows = []
    for n, (row, ref, msg) in enumerate(mails, 1):
        kind = re.sub(r"[^a-z0-9_-]+", "-", (row.kind or "mail").lower()).strip("-") or "mail"
        stem = f"{n:0{width}d}-{kind}"
        write_private(folder / f"{stem}.eml", msg.as_bytes())
        write_private(folder / f"{stem}.html", html_page(msg).encode("utf-8"))
        write_private(folder / f"{stem}.txt", text_page(msg).encode("utf-8"))
        written.append((stem, row, ref))
        cc = f"; Cc {', '.join(row.cc_emails)}" if row.cc_emails else ""
        rows.append(INDEX_ROW.format(n=n, kind=html.escape(row.kind), ref=html.escape(ref or "no record"),
                                     date=html.escape(str(msg["Date"])), subject=html.escape(row.subject),
                                     to=html.escape(", ".join(row.to_emails)), cc=html.escape(cc), stem=stem))
    refs = sorted({ref for _row, ref, _msg in mails if ref})
    index = INDEX.format(title=html.escape(title), what=html.escape(what),
                         council=html.escape(config.council_name), refs=html.escape(", ".join(refs) or "none"),
                         policy=html.escape(config.policy.key), start=_long(start), end=_long(end),
                         rows="\n".join(rows))
    write_private(folder / "index.html", index.encode("utf-8"))
    return written


# --------------------------------------------------------------------------------------------- the store


@contextmanager
def throwaway(config: Config, start: date, kind: Callable[[Config, Cast, date], S],
              inside: Path | None = None) -> Iterator[S]:
    """A scenario of ``kind`` from ``start`` on ``config``'s council with the preview's people, in a store (SQLite)
    in a temporary folder 0700 — in ``inside`` when given, else the system's — deleted with everything in it
    when the block ends."""
    with tempfile.TemporaryDirectory(prefix="mailbot-store-", dir=inside) as folder:
        os.chmod(folder, PRIVATE_DIR)
        cfg, cast = preview_config(config, Path(folder))
        scenario = kind(cfg, cast, start)
        try:
            yield scenario
        finally:
            scenario.close()


def build_preview(config: Config, start: date) -> tuple[list[tuple[OutboxMail, str | None, EmailMessage]], date]:
    """Run the scenario from ``start`` (the first working day on or after it) in a temporary store; every outbox
    row with its reference and built mail, and the last day the story reached."""
    with throwaway(config, start, Scenario) as scenario:
        scenario.run()
        scenario.last_digest()
        return scenario.outbox(), scenario.today
