"""Carrying out decisions: the state change and its mails, in the caller's transaction.

The pure ``rules.decide`` says *what* is due; this module does it against the store: moves a record up a level
(with the next manager from the directory, or asks the IRO and QA managers when the directory cannot tell),
and queues the chaser, escalation, referral, budget and extension mails through
:func:`mailbot.mail_out.outbox.queue_mail`, worded by the templates of :mod:`mailbot.mail_out.compose` (subject lines
included). Mail in uses the same :meth:`Actions.escalate` when the IRO writes "Escalate" or a new "Level 2" mail
arrives: one path for one state change.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from mailbot.config import Config
from mailbot.mail_out import loaded
from mailbot.mail_out.compose import Composer, long_date, short_date
from mailbot.mail_out.outbox import queue_mail
from rules.calendar import LONDON, WorkingCalendar, WorkingDate, london_date, working_date
from rules.casenote import case_note
from rules.copies import MailKind, copied_on
from rules.decide import Action
from rules.directory import Directory, Resolution, roles_match
from rules.policy import Level
from store.models import Escalation, Event, Message, Stage
from store.uow import UnitOfWork

from .casenote import case_facts
from .procedure import Procedure

log = logging.getLogger(__name__)

#: Who the history names for the mailbox's own mails (the From of every mail it sends says the same).
MAILBOX_NAME = "IRO escalations mailbox"
#: A chaser's outbox key: ``ESC-0042.L1.chase.-2@2026-12-07`` (the level, the offset, the due date chased).
_CHASE_KEY = re.compile(r"\.L(?P<level>\d+)\.chase\.(?P<offset>-?\d+)@(?P<due>\d{4}-\d{2}-\d{2})$")
#: How much of a reply the history quotes.
EXCERPT_CHARS = 400


def children_text(esc: Escalation) -> str:
    names = list(esc.children or [])
    if not names:
        return "the child"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def undeliverable(esc: Escalation) -> list[str]:
    """Addresses that bounced the bot's mail for ``esc``: it does not write to them again for this record."""
    return [str(a).lower() for a in (esc.facts or {}).get("undeliverable", [])]


def case_text(esc: Escalation) -> str:
    parts = []
    for c in esc.case_numbers or []:
        system = (c.get("system") or "").strip()
        parts.append(f"{system.upper()} {c.get('number')}".strip() if system else str(c.get("number")))
    return ", ".join(parts) or "no case number"


class Actions:
    def __init__(self, config: Config, calendar: WorkingCalendar, composer: Composer | None = None) -> None:
        self.config = config
        self.policy = config.policy
        self.calendar = calendar
        self.directory: Directory = config.directory.directory()
        self.composer = composer or Composer(config)
        self.procedure = Procedure(self)

    # -- context shared by every mail ---------------------------------------------------------------------

    def _name(self, email: str | None, name: str | None = None) -> str:
        """How a mail names someone: the directory's name, else the name their own mail gave, else the address;
        ``""`` for nobody."""
        if not email:
            return (name or "").strip()
        person = self.directory.person(email)
        if person is not None and person.name.strip():
            return person.name.strip()
        return (name or "").strip() or email

    def _person(self, email: str | None, name: str | None = None) -> str:
        """An address as a mail shows it, with the display name: ``Taylor East <taylor.east@council.gov.uk>``."""
        if not email:
            return (name or "").strip()
        shown = self._name(email, name)
        return email if shown == email else f"{shown} <{email}>"

    def _due(self, day: date | str | None) -> WorkingDate | None:
        """A date as people read it: the working day it means, with the reason when that is not the date itself
        (:func:`rules.calendar.working_date`); ``None`` for no date. Takes a date or its ISO form (events)."""
        if not day:
            return None
        return working_date(self.calendar, date.fromisoformat(day) if isinstance(day, str) else day)

    def _label(self, number: int, *, role: bool = True) -> str:
        """``Level 2 (Service Manager)``, or ``Level 2`` without the role."""
        level = self.policy.find_level(number)
        label = level.label if level else f"{self.policy.level_word} {number}"
        return f"{label} ({level.role})" if role and level is not None and level.role else label

    @staticmethod
    def _concern_message(esc: Escalation) -> Message | None:
        return next((m for m in esc.messages if m.direction == "in" and m.kind == "human"), None)

    def history(self, esc: Escalation, uow: UnitOfWork | None = None) -> list[dict[str, Any]]:
        """The record so far, oldest first, for the body of every mail: the concern raised (with the first level,
        its manager and due date), then in order each reply (who, what: a response, a request for more time, the
        IRO's decision), each out-of-office reply and undelivered mail, each reminder sent, and each level started
        after the first (why, with whom, due when). Items: ``when`` (the London date), ``time`` (``"09:30"``),
        ``who``, ``what``. With ``uow``, the audit trail adds what the mails alone do not say (back-on dates, the
        extensions asked and agreed, why a level started, the due dates as first set)."""
        events: list[Event] = loaded.trail(uow, esc) if uow is not None else []
        about: dict[int, list[Event]] = {}
        for event in events:
            if event.message is not None:
                about.setdefault(id(event.message), []).append(event)
        rows: list[tuple[datetime, int, int, dict[str, Any]]] = []

        def add(at: datetime, rank: int, who: str, what: str) -> None:
            local = at.astimezone(LONDON)
            rows.append((at, rank, len(rows), {"when": local.date(), "time": f"{local:%H:%M}", "who": who,
                                               "what": what}))

        stages = list(esc.stages)
        first = self._concern_message(esc)
        opened = next((e for e in events if e.kind == "opened"), None)
        moves = [e for e in events if e.kind == "escalated"]
        named_later = {(e.data or {}).get("level") for e in events if e.kind == "addressee_set"}
        if first is not None:
            add(first.received_at, 0, self._name(first.from_email, first.from_name) or esc.iro_name or "the IRO",
                self._raised_text(stages[0] if stages else None, (opened.data or {}) if opened else {}))
        for i, stage in enumerate(stages):
            if i == 0 and first is not None:
                continue  # told with the concern
            move = next((e for e in moves if (e.data or {}).get("to_level") == stage.level), None)
            if move is not None:
                moves.remove(move)
            known = stage.level not in named_later  # a manager the IRO named later was not known at the start
            add(stage.started_at, 1, (self._name(stage.addressee_email, stage.addressee_name) if known else "") or "—",
                self._stage_text(esc, stage, stages[i - 1] if i else None, (move.data or {}) if move else {},
                                 known=known))
        for msg in esc.messages:
            its = about.get(id(msg), [])
            who = self._name(msg.from_email, msg.from_name) or "someone"
            if msg is first or msg.state == "attention":
                continue
            if msg.direction == "in" and msg.kind == "human":
                add(msg.received_at, 0, who, self._reply_text(esc, msg, its))
            elif msg.direction == "in" and msg.kind == "auto_reply":
                back = next((str(e.data["back_on"]) for e in its if e.data and e.data.get("back_on")), None)
                add(msg.received_at, 0, who, "automatic reply: out of the office"
                    + (f", back on {long_date(date.fromisoformat(back))}" if back else ""))
            elif msg.direction == "in" and msg.kind == "bounce":
                failed = [str(a) for e in its for a in (e.data or {}).get("failed_recipients", [])]
                add(msg.received_at, 0, "Mail system", "a mail could not be delivered"
                    + (f" to {', '.join(self._person(a) for a in failed)}" if failed else ""))
            elif msg.direction == "out":
                chased = _CHASE_KEY.search(msg.source_ref or "")
                to = [a for a in msg.to_emails if a != (esc.iro_email or "").lower()]
                if chased and to:  # a reminder to the manager (not the IRO's "nobody to chase")
                    add(msg.received_at, 2, MAILBOX_NAME, self._chaser_text(chased, to))
        rows.sort(key=lambda r: (r[0], r[1], r[2]))
        return [r[3] for r in rows]

    def _raised_text(self, stage: Stage | None, opened: dict[str, Any]) -> str:
        if stage is None:
            return "raised the concern"
        text = f"raised the concern at {self._label(stage.level)}"
        manager = self._name(stage.addressee_email, stage.addressee_name)
        if manager:
            text += f" with {manager}"
        due = self._due(opened.get("due_on") or (stage.due_on if not opened else None))
        if due is not None:
            asked = (opened.get("due_source") or stage.due_source) == "subject"
            text += f"; response {'asked for' if asked else 'due'} by {long_date(due)}"
        return text

    def _stage_text(self, esc: Escalation, stage: Stage, previous: Stage | None, move: dict[str, Any], *,
                    known: bool = True) -> str:
        level = self.policy.find_level(stage.level)
        if level is not None and level.terminal:
            return (f"{level.label}: the end of {self.config.council_name}'s escalation process — "
                    f"{level.role} to be considered")
        text = f"{self._label(stage.level)} started"
        text += "" if stage.addressee_email and known else f"; the {stage.role} was to be confirmed"
        before = self._label(previous.level, role=False) if previous is not None else "the previous level"
        by = move.get("by")
        if move.get("bypass"):
            text += f": the IRO took it straight to this level from {before}"
        elif by in ("overdue", "clock"):
            text += f": {before} was not answered by its date"
        elif by == "command" and previous is not None and previous.responded_at is not None:
            text += f": the IRO was not satisfied with the {before} response"
        elif by in ("command", "mail"):
            text += ": the IRO escalated it"
        due = self._due(move.get("due_on") or stage.due_on)
        return text + (f"; response due by {long_date(due)}" if due is not None else "")

    def _chaser_text(self, chased: re.Match[str], to: list[str]) -> str:
        label = self._label(int(chased["level"]), role=False)
        due = self._due(chased["due"])
        offset = int(chased["offset"])
        whom = ", ".join(self._name(a) for a in to)
        if offset < 0:
            return f"reminder to {whom}: the {label} response is due by {long_date(due)}"
        if offset == 0:
            return f"reminder to {whom}: the {label} response is due today, {long_date(due)}"
        return f"reminder to {whom}: the {label} response was due by {long_date(due)}"

    def _reply_text(self, esc: Escalation, msg: Message, its: list[Event]) -> str:
        """What a human reply did, in a few words, with what it said."""
        kinds = {e.kind: (e.data or {}) for e in its}
        said = " ".join((msg.new_text or "").split())
        said = said[:EXCERPT_CHARS] + ("…" if len(said) > EXCERPT_CHARS else "")
        if "extended" in kinds:
            return f"agreed more time: the response is now due by {long_date(self._due(kinds['extended'].get('to')))}"
        if "resolved" in kinds:
            outcome = (kinds["resolved"].get("text") or "").strip()
            return "closed the escalation as resolved" + (f": {outcome}" if outcome else "")
        if "withdrawn" in kinds:
            return "withdrew the escalation"
        if "cafcass" in kinds:
            return "closed the escalation: referred to Cafcass"
        if "escalated" in kinds:
            to_level = kinds["escalated"].get("to_level")
            where = self._label(int(to_level)) if to_level is not None else "the next level"
            return f"escalated it to {where}" + (f": {said}" if said else "")
        if "note" in kinds:
            return f"note: {kinds['note'].get('text') or said}"
        request = kinds.get("response", {})
        if request.get("extension_requested"):
            until, days = request.get("requested_until"), request.get("requested_working_days")
            ask = "asked for more time" + (f", until {long_date(self._due(until))}" if until
                                           else f", {days} more working days" if days else "")
            return ask + (f": {said}" if said else "")
        answered = next((s for s in esc.stages if s.response_message is msg), None)
        if answered is not None:
            return f"responded at {self._label(answered.level, role=False)}" + (f": {said}" if said else "")
        if "response" in kinds:
            return "replied" + (f": {said}" if said else "")
        if "addressee_set" in kinds:
            named = kinds["addressee_set"].get("addressee")
            return f"sent the escalation on to {self._name(named)}" + (f": {said}" if said else "")
        return "wrote" + (f": {said}" if said else "")

    def concern(self, esc: Escalation) -> str:
        first = self._concern_message(esc)
        return (first.new_text or "").strip() if first is not None else ""

    def _base(self, esc: Escalation) -> dict[str, Any]:
        children = list(esc.children or [])
        return {"ref": esc.reference, "children": children_text(esc), "case": case_text(esc),
                "child_word": "children" if len(children) > 1 else "child",
                "iro_name": self._name(esc.iro_email, esc.iro_name) or "the IRO",
                "iro": self._person(esc.iro_email, esc.iro_name) or "the IRO", "subject": esc.subject or "",
                "policy": self.policy, "title": self.policy.title or "escalation procedure"}

    def _qa(self) -> list[str]:
        return list(self.directory.qa_managers)

    @staticmethod
    def _names_seen(esc: Escalation) -> dict[str, str]:
        """The names the record's people gave themselves (their mails' From, the IRO, the managers named)."""
        names = {(m.from_email or "").lower(): m.from_name for m in esc.messages
                 if m.direction == "in" and m.from_email and m.from_name}
        names.update({s.addressee_email.lower(): s.addressee_name for s in esc.stages
                      if s.addressee_email and s.addressee_name})
        if esc.iro_email and esc.iro_name:
            names[esc.iro_email.lower()] = esc.iro_name
        return names

    def _shown(self, esc: Escalation, addresses: Sequence[str], but: Sequence[str] = ()) -> list[str]:
        """The recipients as the mail will go (inside the council's domains, once, not the mailbox itself), each
        with their display name (the directory's, else the one the record knows)."""
        skip = {a.lower() for a in but} | {self.config.mailbox.address.lower()}
        seen: dict[str, None] = {}
        for address in addresses:
            key = (address or "").strip().lower()
            if key and key not in skip and self.config.allows_address(key):
                seen.setdefault(key, None)
        names = self._names_seen(esc)
        return [self._person(a, names.get(a)) for a in seen]

    def _queue(self, uow: UnitOfWork, esc: Escalation, *, key: str, kind: str, template: str,
               to: list[str], cc: list[str], now: datetime, **context: Any) -> None:
        """Render ``template`` with the record's context (and, unless the caller gave them, the record's history
        and the concern as raised) and queue it. ``to_people``/``copied_people``: the recipients with names. A
        due date in the context (``due``, ``until``, any ``…_due``) given as a date becomes a
        :class:`~rules.calendar.WorkingDate`, so the mail shows the working day it means and why."""
        merged = {**self._base(esc), **context}
        for name, value in merged.items():  # a due date is shown as the working day it means, with the reason
            if (name == "due" or name.endswith("_due") or name == "until") and type(value) is date:
                merged[name] = self._due(value)
        if "history" not in merged:
            merged["history"] = self.history(esc, uow)
        if "concern" not in merged:
            merged["concern"] = self.concern(esc)
        dead = set(undeliverable(esc))  # an address that bounced the bot's mail is not written to again for the record
        if dead:
            to = [a for a in to if a.lower() not in dead]
            cc = [a for a in cc if a.lower() not in dead]
            if not to:
                to, cc = cc[:1], cc[1:]
            if not to:
                return
        merged.setdefault("to_people", self._shown(esc, to))
        merged.setdefault("copied_people", self._shown(esc, cc, but=to))
        attachments = merged.pop("attachments", None) or []
        rendered = self.composer.render(template, **merged)
        queue_mail(uow, self.config, key=f"{esc.reference}.{key}", kind=kind, to=to, cc=cc, subject=rendered.subject,
                   text=rendered.text, html=rendered.html, escalation=esc, now=now, attachments=attachments)

    def _escalation_context(self, esc: Escalation, target: Level, previous: Stage | None, *, due: date | None,
                            by: str, bypass: bool) -> dict[str, Any]:
        """What the escalation mail (or, when nobody is known, the question to the IRO) says: why the escalation
        moved, to what, and by when the next response is due."""
        iro = self._name(esc.iro_email, esc.iro_name) or "the IRO"
        previous_name = self._name(previous.addressee_email, previous.addressee_name) if previous else ""
        previous_due = self._due(previous.due_on) if previous is not None else None
        was = self._label(previous.level) if previous is not None else ""
        if previous is None:
            why = f"{iro}, the IRO, raised it at {target.label}"
        elif bypass:
            why = f"{iro}, the IRO, has taken it straight to {target.label} from {was}"
        elif by in ("overdue", "clock"):
            whose = f" from {previous_name}" if previous_name else ""
            why = (f"the {was} response{whose} was due by {long_date(previous_due)} and none was recorded"
                   if previous_due is not None else f"{was} did not resolve it")
        elif previous.responded_at is not None:
            whose = f" from {previous_name}" if previous_name else ""
            why = f"{iro}, the IRO, was not satisfied with the {was} response{whose}"
        else:
            why = f"{iro}, the IRO, has escalated it from {was}"
        return {"level": target, "previous": previous, "previous_name": previous_name,
                "previous_level": self.policy.find_level(previous.level) if previous is not None else None,
                "previous_due": previous_due, "due": self._due(due), "why": why,
                "next_level": self.policy.next_level(target.number)}

    def _where(self, esc: Escalation) -> dict[str, Any]:
        """Where the record stands, for a notice to the IRO: the current level, its manager and due date."""
        stage = esc.current_stage
        if stage is None:
            return {"level_label": self._label(esc.current_level, role=False), "manager_name": "", "due": None}
        return {"level_label": self._label(stage.level, role=False), "due": stage.due_on,
                "manager_name": self._name(stage.addressee_email, stage.addressee_name)}

    # -- moving up ------------------------------------------------------------------------------------------

    def escalate(self, uow: UnitOfWork, esc: Escalation, target: Level, now: datetime, *, by: str, actor: str,
                 message: Message | None = None, key: str | None = None, bypass: bool = False,
                 due_on: date | None = None, due_source: str | None = None,
                 named: tuple[str, str | None] | None = None, copied: list[str] | None = None) -> Stage | None:
        """Close the current stage and start ``target`` — the one path for every move up: the clock's (an overdue
        level), the IRO's "Escalate" and a new "Level N" mail.

        ``named`` is the manager the IRO's own mail was addressed to (a new "Level N" mail: ``(email, name)``, with
        ``copied`` from its Cc): that mail *is* the escalation, so the bot records the stage and sends nothing.
        Otherwise the next manager comes from the directory and gets the escalation mail (QA managers, the IRO,
        the previous manager and the policy's roles copied); when the directory cannot tell who that is, the IRO
        and QA managers are asked instead. Due ``due_on`` when the caller worked it out (an overdue level, the
        IRO's date), else the level's working days from today. A terminal target (Cafcass) is a referral
        notice, never a mail to Cafcass."""
        previous = esc.current_stage
        from_level = esc.current_level
        today = london_date(now)
        if previous is not None and previous.outcome is None:
            previous.outcome = "escalated"
            previous.ended_at = now
        key = key or f"L{from_level}.to.L{target.number}"
        if target.terminal:
            stage = Stage(escalation=esc, level=target.number, role=target.role, copied=[], started_at=now,
                          started_on=today, due_on=None, due_source=None)
            uow.session.add(stage)
            esc.current_level = target.number
            esc.updated_at = now
            uow.events.append("escalated", escalation=esc, message=message, actor=actor,
                              data={"from_level": from_level, "to_level": target.number, "by": by, "terminal": True})
            self.referral_notice(uow, esc, now, key=f"L{target.number}.referral")
            return stage
        formal_start = esc.process_started_on is None  # leaving an informal step: the formal process starts now
        if formal_start:
            esc.process_started_on = today
        current = previous.addressee_email if previous is not None else None
        due = due_on  # as the caller worked it out; else the level's days from today
        if due is None and target.working_days:
            due = self.calendar.add_working_days(today, target.working_days)
        source = (due_source or "policy") if due else None
        if named is not None:
            stage = self.start_stage(uow, esc, target, now, addressee=named, copied=list(copied or []), due=due,
                                source=source)
            uow.events.append("escalated", escalation=esc, message=message, actor=actor, data={
                "from_level": from_level, "to_level": target.number, "by": by, "bypass": bypass,
                "due_on": due.isoformat() if due else None, "addressee": named[0]})
            self.level_started(uow, esc, stage, now, opened=formal_start, bypass=bypass)
            return stage
        found = self.directory.next_addressee(current, target.role)
        holder = self.directory.person(current) if current and formal_start else None
        if holder is not None and roles_match(holder.role, target.role):
            # leaving an informal step that was already with the Team Manager: the formal level stays with them
            found = Resolution(holder, f"{holder.describe()} already has the escalation and is the {target.role}.",
                               (holder,))
        person = found.person
        copies = self.directory.copies_for(target, self.policy, person)
        cc = self.copied(MailKind.ESCALATION, esc, target, to=[person.email] if person else [],
                         manager=person.email if person else None, earlier=[current] if current else [])
        stage = self.start_stage(uow, esc, target, now, addressee=(person.email, person.name) if person else None,
                            copied=[c for c in cc if not person or c != person.email], due=due, source=source)
        uow.events.append("escalated", escalation=esc, message=message, actor=actor, data={
            "from_level": from_level, "to_level": target.number, "by": by, "bypass": bypass,
            "due_on": due.isoformat() if due else None, "addressee": person.email if person else None})
        context = self._escalation_context(esc, target, previous, due=due, by=by, bypass=bypass)
        if person is not None:
            self._queue(uow, esc, key=key, kind="escalation", template="escalation", to=[person.email],
                        cc=stage.copied, now=now, manager_name=self._name(person.email, person.name), **context)
            if copies.unresolved and esc.iro_email:  # a gap is a question for the IRO and QA, never the manager's
                self._queue(uow, esc, key=f"{key}.copies", kind="directory_gap", template="directory_gap",
                            to=[esc.iro_email], cc=self._qa(), now=now, reason="", candidates=(),
                            copy_gap=list(copies.unresolved), manager=self._person(person.email, person.name),
                            **context)
        else:
            uow.events.append("directory_gap", escalation=esc, data={
                "level": target.number, "role": target.role, "reason": found.reason,
                "candidates": [p.email for p in found.candidates]})
            to = [esc.iro_email] if esc.iro_email else self._qa()
            self._queue(uow, esc, key=f"{key}.who", kind="directory_gap", template="directory_gap", to=to,
                        cc=self._qa(), now=now, reason=found.reason,
                        candidates=[self._person(p.email, p.name) for p in found.candidates], copy_gap=[],
                        manager="", **context)
        self.level_started(uow, esc, stage, now, opened=formal_start, bypass=bypass)
        return stage

    def level_started(self, uow: UnitOfWork, esc: Escalation, stage: Stage, now: datetime, *, opened: bool = False,
                      bypass: bool = False) -> None:
        """What the procedure asks when a formal level starts: the rules for opening (the first formal level),
        for this level and for a bypass; the chair asked to convene a meeting step."""
        if opened:
            self.procedure.notify(uow, esc, "opened", now)
        self.procedure.notify(uow, esc, "level", now, level=stage.level)
        self.case_record_notice(uow, esc, now, moment="level", key=f"record.L{stage.level}")
        if bypass:
            self.procedure.notify(uow, esc, "bypass", now, level=stage.level)
        self.procedure.convene(uow, esc, stage, now)

    @staticmethod
    def start_stage(uow: UnitOfWork, esc: Escalation, level: Level, now: datetime, *,
               addressee: tuple[str, str | None] | None, copied: list[str], due: date | None,
               source: str | None) -> Stage:
        """A new current stage of ``esc`` at ``level`` (opening a record, or moving it up)."""
        stage = Stage(escalation=esc, level=level.number, role=level.role,
                      addressee_email=addressee[0] if addressee else None,
                      addressee_name=(addressee[1] or None) if addressee else None,
                      copied=list(dict.fromkeys(copied)), started_at=now, started_on=london_date(now), due_on=due,
                      due_source=source)
        uow.session.add(stage)
        esc.current_level = level.number
        esc.updated_at = now
        return stage

    # -- notices ----------------------------------------------------------------------------------------------

    def referral_notice(self, uow: UnitOfWork, esc: Escalation, now: datetime, *, key: str) -> None:
        """The ladder is exhausted: the IRO is asked to consider a referral (those the policy names told first) —
        or, for a case with no Cafcass route in the procedure (a child-protection case), told so."""
        offered = self.procedure.cafcass_offered(esc)
        if offered:
            self.procedure.considered(uow, esc, now)
        to = [esc.iro_email] if esc.iro_email else self._qa()
        cc = self.copied(MailKind.REFERRAL, esc, esc.current_level, to=to, manager=self.last_manager(esc))
        last = next((s for s in reversed(list(esc.stages))
                     if (lvl := self.policy.find_level(s.level)) is None or not lvl.terminal), None)
        self._queue(uow, esc, key=key, kind="referral", template="referral", to=to, cc=cc, now=now,
                    cafcass_offered=offered, closes=self.procedure.referral_closes(esc, london_date(now)),
                    level_label=self._label(last.level) if last is not None else "the last level",
                    manager_name=self._name(last.addressee_email, last.addressee_name) if last is not None else "")

    def chase(self, uow: UnitOfWork, esc: Escalation, action: Action, now: datetime) -> None:
        stage = esc.current_stage
        assert stage is not None
        level = self.policy.find_level(stage.level)
        label = level.label if level else f"Level {stage.level}"
        due = self._due(stage.due_on)  # the working day meant, and why when it is not the date given
        today = london_date(now)
        timing = {"today": due is not None and due.day == today, "overdue": due is not None and today > due.day,
                  "next_level": self.policy.next_level(stage.level) if level else None}
        if stage.addressee_email:
            cc = self.copied(MailKind.CHASER, esc, stage.level, to=[stage.addressee_email],
                             manager=stage.addressee_email)
            self._queue(uow, esc, key=action.key, kind="chaser", template="chaser", to=[stage.addressee_email],
                        cc=cc, now=now, stage=stage, level_label=label, due=due, **timing,
                        manager_name=self._name(stage.addressee_email, stage.addressee_name))
        else:
            to = [esc.iro_email] if esc.iro_email else self._qa()
            cc = self.copied(MailKind.CHASE_NOBODY, esc, stage.level, to=to)
            self._queue(uow, esc, key=action.key, kind="chaser_nobody", template="chase_nobody", to=to,
                        cc=cc, now=now, level_label=label, due=due, role=stage.role, **timing)

    def ask_iro(self, uow: UnitOfWork, esc: Escalation, action: Action, now: datetime) -> None:
        stage = esc.current_stage
        assert stage is not None
        if not esc.iro_email:
            return
        self._queue(uow, esc, key=action.key, kind="ask_iro", template="ask_iro", to=[esc.iro_email], cc=[],
                    now=now, stage=stage, manager_name=self._name(stage.addressee_email, stage.addressee_name),
                    responded_on=london_date(stage.responded_at) if stage.responded_at else None,
                    response=(stage.response_message.new_text or "").strip() if stage.response_message else "",
                    next_level=self.policy.next_level(stage.level), level_label=self._label(stage.level, role=False),
                    due=stage.due_on)

    def budget_warning(self, uow: UnitOfWork, esc: Escalation, action: Action, now: datetime) -> None:
        to = [esc.iro_email] if esc.iro_email else self._qa()
        stage = esc.current_stage
        cc = self.copied(MailKind.BUDGET, esc, esc.current_level, to=to,
                         manager=stage.addressee_email if stage is not None else None)
        self._queue(uow, esc, key=action.key, kind="budget", template="budget", to=to, cc=cc, now=now,
                    days=action.days, elapsed=action.elapsed, total=self.policy.total_working_days,
                    ends_on=self.calendar.add_working_days(esc.process_started_on or london_date(esc.opened_at),
                                                           self.policy.total_working_days),
                    level_label=self._label(esc.current_level), due=stage.due_on if stage is not None else None,
                    manager_name=self._name(stage.addressee_email, stage.addressee_name) if stage else "")

    def extension_requested(self, uow: UnitOfWork, esc: Escalation, action: Action, now: datetime) -> None:
        if not esc.iro_email:
            return
        stage = esc.current_stage
        until = self._due(action.due_on)  # a date asked for that is not a working day means the next one
        command = f"Extend to {short_date(until) if until else 'DD/MM/YYYY'}"
        self._queue(uow, esc, key=action.key, kind="extension", template="extension", to=[esc.iro_email], cc=[],
                    now=now, stage=stage,
                    manager_name=self._name(stage.addressee_email, stage.addressee_name) if stage else "the manager",
                    until=until, command=command, due=stage.due_on if stage else None,
                    level_label=self._label(stage.level, role=False) if stage else "the current level",
                    next_level=self.policy.next_level(stage.level) if stage else None)

    def refusal_notice(self, uow: UnitOfWork, esc: Escalation, msg: Message, *, what: str, reason: str,
                       example: str, now: datetime) -> None:
        """Tell the IRO (QA managers copied), once per mail, that a mail asked for something the bot did not do."""
        to = [esc.iro_email] if esc.iro_email else self._qa()
        self._queue(uow, esc, key=f"refused.{msg.identity}", kind="refused", template="refused", to=to, cc=self._qa(),
                    now=now, what=what, reason=reason, example=example,
                    sender=self._person(msg.from_email, msg.from_name), mail_subject=msg.subject,
                    received=london_date(msg.received_at), **self._where(esc))

    def reply_not_counted(self, uow: UnitOfWork, esc: Escalation, msg: Message, *, reason: str,
                          now: datetime) -> None:
        """Tell the IRO, once per mail, that a reply that looks like an answer does not stop the level's clock."""
        if not esc.iro_email:
            return
        stage = esc.current_stage
        level = self.policy.find_level(stage.level) if stage is not None else None
        self._queue(uow, esc, key=f"not_counted.{msg.identity}", kind="not_counted", template="not_counted",
                    to=[esc.iro_email], cc=[], now=now, reason=reason,
                    sender=self._person(msg.from_email, msg.from_name),
                    level_label=level.label if level else "current level",
                    due=stage.due_on if stage is not None else None, received=london_date(msg.received_at),
                    manager_name=self._name(stage.addressee_email, stage.addressee_name) if stage else "",
                    next_level=self.policy.next_level(stage.level) if level else None)

    def bounced(self, uow: UnitOfWork, esc: Escalation, msg: Message, failed: Sequence[str], *, why: str,
                now: datetime) -> None:
        """A mail the bot sent for ``esc`` could not be delivered to ``failed``: the record stops writing to those
        addresses; the IRO (QA managers copied) is told once per address, naming it and why; when it was the current
        level's manager, the bot no longer knows whom to chase and asks who instead (the one-line forward, as for a
        directory gap); the bounce is kept for attention, so the digest lists it."""
        sent_to = {a.lower() for row in uow.outbox.for_escalation(esc) for a in (*row.to_emails, *row.cc_emails)}
        known = set(undeliverable(esc))
        new = [a.lower() for a in failed if a.lower() in sent_to and a.lower() not in known]
        if not new:
            return  # not about a mail the bot sent for this record, or already acted on
        facts = dict(esc.facts or {})
        facts["undeliverable"] = sorted(known | set(new))
        esc.facts = facts
        stage = esc.current_stage
        was_manager = [a for a in new if stage is not None and (stage.addressee_email or "").lower() == a]
        if was_manager and stage is not None and esc.status == "open":
            stage.addressee_email, stage.addressee_name = None, None
        msg.state = "attention"
        msg.attention_reason = (f"{esc.reference}: the bot's mail to {', '.join(new)} could not be delivered"
                                f" ({why}); the IRO was asked who instead")[:500]
        uow.events.append("undeliverable", escalation=esc, message=msg, actor="bot", at=now,
                          data={"addresses": new, "why": why[:200], "was_manager": bool(was_manager)})
        level = self.policy.find_level(esc.current_level)
        for address in new:
            self._queue(uow, esc, key=f"bounced.{address}", kind="bounced", template="bounced",
                        to=[esc.iro_email] if esc.iro_email else self._qa(), cc=self._qa() if esc.iro_email else [],
                        now=now, address=address, who=self._called(esc, address), why=why,
                        was_manager=address in was_manager and esc.status == "open",
                        level_label=level.label if level else self._level_text(esc.current_level),
                        level_role=level.role if level else "manager")

    def referral_continues(self, uow: UnitOfWork, esc: Escalation, now: datetime, *, key: str) -> None:
        """The IRO referred to Cafcass before the ladder was exhausted and the policy keeps the process going:
        tell the IRO (QA copied) that the record stays open at its level."""
        stage = esc.current_stage
        to = [esc.iro_email] if esc.iro_email else self._qa()
        self._queue(uow, esc, key=key, kind="referral", template="referral_continues", to=to, cc=self._qa(),
                    now=now, section=self.policy.cafcass.section, level_label=self._level_text(esc.current_level),
                    manager_name=self._name(stage.addressee_email, stage.addressee_name) if stage else "",
                    due=stage.due_on if stage is not None and stage.responded_at is None else None)

    def case_record_notice(self, uow: UnitOfWork, esc: Escalation, now: datetime, *, moment: str, key: str) -> None:
        """The text the IRO pastes into the child's case record (the policy's ``case_record``: LiquidLogic note and
        IRO Escalation Form, Mosaic, Eclipse "Resolution and Escalation"), at opening, each level and closure."""
        record = self.policy.case_record
        if record is None or not esc.iro_email:
            return
        facts = case_facts(esc, loaded.trail(uow, esc), self.policy, self.calendar)
        self._queue(uow, esc, key=key, kind="case_record", template="case_record", to=[esc.iro_email], cc=[],
                    now=now, note=case_note(record, facts, moment))

    def acknowledge(self, uow: UnitOfWork, esc: Escalation, now: datetime, inferred: list[str], *,
                    past: date | None = None) -> None:
        """Tell the IRO what the bot had to work out itself, and when it moved or questions the IRO's own date (not
        a working day, or already past) — only then: a normal escalation gets no reply."""
        stage = esc.current_stage
        given = stage.due_on if stage is not None and stage.due_source == "subject" else None
        due = self._due(stage.due_on if stage is not None else None)
        date_moved = given is not None and due is not None and due.moved
        date_past = past is not None
        if past is not None:
            given = past
        if not esc.iro_email or not (inferred or date_moved or date_past):
            return
        self._queue(uow, esc, key="ack", kind="acknowledgement", template="acknowledgement", to=[esc.iro_email],
                    cc=[], now=now, stage=stage, inferred=inferred,
                    level=self.policy.find_level(esc.current_level), due=due, date_moved=date_moved,
                    date_past=date_past, given=given,
                    manager_name=self._name(stage.addressee_email, stage.addressee_name) if stage else "",
                    next_level=self.policy.next_level(esc.current_level))


    # -- who is copied, and telling the people who must hear --------------------------------------------------

    def copied(self, kind: MailKind, esc: Escalation, level: Level | int, *, to: list[str],
               manager: str | None = None, earlier: list[str] | tuple[str, ...] = ()) -> list[str]:
        """Who a mail of ``kind`` about ``level`` of ``esc`` copies, besides ``to`` (:func:`rules.copies.copied_on`:
        the QA managers, the policy's copied and always-copied roles, the IRO, as the kind of mail asks)."""
        if isinstance(level, int):
            found = self.policy.find_level(level)
            level = found if found is not None else Level(level, "", None)
        return list(copied_on(kind, level, self.policy, self.directory, to=to, manager=manager,
                              iro=esc.iro_email, earlier=earlier).emails)

    @staticmethod
    def last_manager(esc: Escalation) -> str | None:
        """The latest manager the record had (the referral's roles are looked for above them)."""
        return next((s.addressee_email for s in reversed(list(esc.stages)) if s.addressee_email), None)

    def _called(self, esc: Escalation, email: str | None, name: str | None = None) -> str:
        """How a notice names someone: the IRO's own name, the directory's, the name their mail gave, the address."""
        if not email:
            return (name or "").strip()
        if esc.iro_email and email.lower() == esc.iro_email.lower() and esc.iro_name:
            return esc.iro_name
        person = self.directory.person(email)
        if person is not None and person.name.strip():
            return person.name.strip()
        return (name or "").strip() or email

    def _level_text(self, number: int) -> str:
        level = self.policy.find_level(number)
        return f"{level.label} ({level.role})" if level is not None else f"{self.policy.level_word} {number}"

    def _level_label(self, number: int) -> str:
        level = self.policy.find_level(number)
        return level.label if level is not None else f"{self.policy.level_word} {number}"

    def closure_notice(self, uow: UnitOfWork, esc: Escalation, now: datetime, *, by: str | None,
                       key: str = "closed") -> None:
        """``esc`` has closed (resolved, withdrawn, referred to Cafcass): tell the managers who took part (every
        stage's addressee) the outcome, who closed it and when — once — with the QA managers, the IRO and the
        policy's roles copied. Without a manager it goes to the QA managers."""
        stage = esc.current_stage
        managers = list(dict.fromkeys(s.addressee_email.lower() for s in esc.stages if s.addressee_email))
        to = managers or self._qa() or ([esc.iro_email] if esc.iro_email else [])
        if not to:
            return
        level = stage.level if stage is not None else esc.current_level
        cc = self.copied(MailKind.CLOSURE, esc, level, to=to, manager=self.last_manager(esc))
        found = self.policy.find_level(level)
        closed = (esc.closed_at or now).astimezone(LONDON)
        names = [self._called(esc, a) for a in to]
        greeting = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        took_part = [f"{self._called(esc, s.addressee_email, s.addressee_name)} ({self._level_label(s.level)})"
                     for s in esc.stages if s.addressee_email]
        labels = {"resolved": "resolved", "withdrawn": "withdrawn", "cafcass": "referred to Cafcass"}
        self._queue(uow, esc, key=key, kind="closure", template="closure", to=to, cc=cc, now=now,
                    outcome=esc.outcome or "", outcome_label=labels.get(esc.outcome or "", esc.outcome or "closed"),
                    outcome_text=(esc.outcome_text or "").strip(), closed_by=self._called(esc, by) or "the IRO",
                    closed_on=closed.date(), closed_time=f"{closed:%H:%M}", greeting=greeting,
                    managers=list(dict.fromkeys(took_part)), history=self.history(esc, uow),
                    level_label=found.label if found else self._level_text(level),
                    level_role=found.role if found else (stage.role if stage is not None else ""))
        self.procedure.notify(uow, esc, "closed", now)  # resolved, withdrawn or referred: its end (Hull 6)
        self.case_record_notice(uow, esc, now, moment="closure", key="record.closed")

    def extension_agreed(self, uow: UnitOfWork, esc: Escalation, now: datetime, *, old_due: date | None,
                         by: str | None, key: str) -> None:
        """The IRO agreed more time at the current level (``Extend to …``, ``Extension agreed``): tell the level's
        manager the new date, once per agreement, with the QA managers, the IRO and the policy's roles copied."""
        stage = esc.current_stage
        if stage is None or not stage.addressee_email or stage.due_on is None:
            return
        to = [stage.addressee_email]
        cc = self.copied(MailKind.EXTENSION_AGREED, esc, stage.level, to=to, manager=stage.addressee_email)
        found = self.policy.find_level(stage.level)
        self._queue(uow, esc, key=key, kind="extension_agreed", template="extension_agreed", to=to, cc=cc, now=now,
                    manager_name=self._called(esc, stage.addressee_email, stage.addressee_name),
                    level_label=found.label if found else self._level_text(stage.level), level_role=stage.role,
                    new_due=stage.due_on, old_due=old_due, agreed_by=self._called(esc, by) or "The IRO",
                    agreed_on=london_date(now))

    def bypass_notice(self, uow: UnitOfWork, esc: Escalation, now: datetime, *, from_level: int,
                      passed: str | None, by: str | None, key: str) -> None:
        """The record has just moved from ``from_level`` (where ``passed`` was its manager) straight past one or
        more timed levels: tell each skipped level's manager (the one above ``passed`` in the directory) that it
        went past them and to whom — once each; not someone the move already addressed or copied, and nobody
        when the directory cannot tell who it would have been."""
        stage = esc.current_stage
        target = self.policy.find_level(stage.level) if stage is not None else None
        if stage is None or target is None:
            return
        skipped = [lvl for lvl in self.policy.levels if from_level < lvl.number < target.number and lvl.timed]
        told = {a.lower() for a in (stage.addressee_email, passed, *(stage.copied or [])) if a}
        if target.terminal:
            now_with = "a referral to Cafcass is being considered"
        elif stage.addressee_email:
            now_with = (f"{self._called(esc, stage.addressee_email, stage.addressee_name)}, {target.role} "
                        f"({target.label})")
        else:
            now_with = f"{target.label} ({target.role})"
        for level in skipped:
            person = self.directory.next_addressee(passed, level.role).person
            if person is None or person.email.lower() in told:
                continue
            told.add(person.email.lower())
            to = [person.email]
            cc = self.copied(MailKind.BYPASS, esc, level, to=to, manager=person.email)
            self._queue(uow, esc, key=f"{key}.bypass.L{level.number}", kind="bypass", template="bypass", to=to,
                        cc=cc, now=now, manager_name=self._called(esc, person.email), skipped=level, target=target,
                        now_with=now_with, from_label=self._level_text(from_level),
                        by=self._called(esc, by) or "The IRO", due=stage.due_on, escalated_on=london_date(now))

    def away_notice(self, uow: UnitOfWork, esc: Escalation, msg: Message, now: datetime, *, back_on: date) -> None:
        """The current level's manager is away until ``back_on``, after the level's due date: tell the IRO (QA
        managers and the policy's roles copied) with the one-line replies that extend or escalate — once per level
        and back-on date, however many automatic replies say so."""
        stage = esc.current_stage
        if stage is None or stage.due_on is None:
            return
        to = [esc.iro_email] if esc.iro_email else self._qa()
        cc = self.copied(MailKind.AWAY, esc, stage.level, to=to, manager=stage.addressee_email)
        found = self.policy.find_level(stage.level)
        suggested = self.calendar.add_working_days(back_on, 2)  # a suggestion: two working days after they are back
        self._queue(uow, esc, key=f"L{stage.level}.away.{back_on.isoformat()}", kind="away", template="away", to=to,
                    cc=cc, now=now, manager_name=self._called(esc, stage.addressee_email, stage.addressee_name),
                    level_label=found.label if found else self._level_text(stage.level), due=stage.due_on,
                    back_on=back_on, received=london_date(msg.received_at or now),
                    extend_command=f"Extend to {short_date(suggested)}",
                    next_level=self.policy.next_level(stage.level) if found is not None else None)

__all__ = ["Actions", "case_text", "children_text"]
