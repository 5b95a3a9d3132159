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
from datetime import date, datetime
from typing import Any

from mailbot.config import Config
from mailbot.mail_out.compose import Composer, short_date
from mailbot.mail_out.outbox import queue_mail
from rules.calendar import WorkingCalendar, london_date
from rules.decide import Action
from rules.directory import Directory
from rules.policy import Level
from store.models import Escalation, Message, Stage
from store.uow import UnitOfWork

log = logging.getLogger(__name__)



def children_text(esc: Escalation) -> str:
    names = list(esc.children or [])
    if not names:
        return "the child"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


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

    # -- context shared by every mail ---------------------------------------------------------------------

    def _name(self, email: str | None) -> str:
        if not email:
            return "(not known)"
        person = self.directory.person(email)
        return person.name if person and person.name else email

    def history(self, esc: Escalation) -> list[dict[str, Any]]:
        """The record so far, for the body of an escalation: each stage and each human mail, oldest first."""
        items: list[dict[str, Any]] = []
        for stage in esc.stages:
            level = self.policy.find_level(stage.level)
            items.append({
                "when": stage.started_on, "who": self._name(stage.addressee_email),
                "what": f"{level.label if level else f'Level {stage.level}'} ({stage.role}) — response due "
                        f"{short_date(stage.due_on) or 'no date'}"
                        + (f", {stage.outcome}" if stage.outcome else ""),
            })
        first = next((m for m in esc.messages if m.direction == "in" and m.kind == "human"), None)
        for msg in esc.messages:
            if msg is first:  # the concern itself: the mails quote it in full
                items.append({"when": london_date(msg.received_at), "who": msg.from_name or msg.from_email or "?",
                              "what": "raised the concern"})
            elif msg.direction == "in" and msg.kind == "human" and msg.new_text:
                text = " ".join(msg.new_text.split())
                items.append({"when": london_date(msg.received_at), "who": msg.from_name or msg.from_email or "?",
                              "what": text[:400] + ("…" if len(text) > 400 else "")})
        items.sort(key=lambda i: i["when"])
        return items

    def concern(self, esc: Escalation) -> str:
        first = next((m for m in esc.messages if m.direction == "in" and m.kind == "human"), None)
        return (first.new_text or "").strip() if first is not None else ""

    def _base(self, esc: Escalation) -> dict[str, Any]:
        return {"ref": esc.reference, "children": children_text(esc), "case": case_text(esc),
                "iro_name": esc.iro_name or esc.iro_email or "the IRO", "subject": esc.subject or "",
                "policy": self.policy}

    def _qa(self) -> list[str]:
        return list(self.directory.qa_managers)

    def _queue(self, uow: UnitOfWork, esc: Escalation, *, key: str, kind: str, template: str,
               to: list[str], cc: list[str], now: datetime, **context: Any) -> None:
        rendered = self.composer.render(template, **self._base(esc), **context)
        queue_mail(uow, self.config, key=f"{esc.reference}.{key}", kind=kind, to=to, cc=cc, subject=rendered.subject,
                   text=rendered.text, html=rendered.html, escalation=esc, now=now)

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
            return stage
        found = self.directory.next_addressee(current, target.role)
        person = found.person
        copies = self.directory.copies_for(target, self.policy, person)
        cc = [*self._qa(), *copies.emails]
        if esc.iro_email:
            cc.append(esc.iro_email)
        if current:
            cc.append(current)
        stage = self.start_stage(uow, esc, target, now, addressee=(person.email, person.name) if person else None,
                            copied=[c for c in cc if not person or c != person.email], due=due, source=source)
        uow.events.append("escalated", escalation=esc, message=message, actor=actor, data={
            "from_level": from_level, "to_level": target.number, "by": by, "bypass": bypass,
            "due_on": due.isoformat() if due else None, "addressee": person.email if person else None})
        context = {"level": target, "previous": previous, "previous_name": self._name(current), "due": due,
                   "history": self.history(esc), "concern": self.concern(esc)}
        if person is not None:
            self._queue(uow, esc, key=key, kind="escalation", template="escalation", to=[person.email],
                        cc=stage.copied, now=now, manager_name=person.name or person.email,
                        unresolved=copies.unresolved, **context)
        else:
            uow.events.append("directory_gap", escalation=esc, data={
                "level": target.number, "role": target.role, "reason": found.reason,
                "candidates": [p.email for p in found.candidates]})
            to = [esc.iro_email] if esc.iro_email else self._qa()
            self._queue(uow, esc, key=f"{key}.who", kind="directory_gap", template="directory_gap", to=to,
                        cc=self._qa(), now=now, reason=found.reason, candidates=found.candidates, **context)
        return stage

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
        to = [esc.iro_email] if esc.iro_email else self._qa()
        self._queue(uow, esc, key=key, kind="referral", template="referral", to=to, cc=self._qa(), now=now,
                    history=self.history(esc))

    def chase(self, uow: UnitOfWork, esc: Escalation, action: Action, now: datetime) -> None:
        stage = esc.current_stage
        assert stage is not None
        level = self.policy.find_level(stage.level)
        label = level.label if level else f"Level {stage.level}"
        due = stage.due_on
        today = london_date(now)
        if stage.addressee_email:
            cc = [c for c in [esc.iro_email, *self._qa()] if c]
            self._queue(uow, esc, key=action.key, kind="chaser", template="chaser", to=[stage.addressee_email],
                        cc=cc, now=now, stage=stage, level_label=label, due=due, today=due == today,
                        overdue=due is not None and today > due,
                        manager_name=self._name(stage.addressee_email), concern=self.concern(esc))
        else:
            to = [esc.iro_email] if esc.iro_email else self._qa()
            self._queue(uow, esc, key=action.key, kind="chaser_nobody", template="chase_nobody", to=to,
                        cc=self._qa(), now=now, level_label=label, due=due, role=stage.role)

    def ask_iro(self, uow: UnitOfWork, esc: Escalation, action: Action, now: datetime) -> None:
        stage = esc.current_stage
        assert stage is not None
        if not esc.iro_email:
            return
        self._queue(uow, esc, key=action.key, kind="ask_iro", template="ask_iro", to=[esc.iro_email], cc=[],
                    now=now, stage=stage, manager_name=self._name(stage.addressee_email),
                    responded_on=london_date(stage.responded_at) if stage.responded_at else None,
                    response=(stage.response_message.new_text or "").strip() if stage.response_message else "",
                    next_level=self.policy.next_level(stage.level))

    def budget_warning(self, uow: UnitOfWork, esc: Escalation, action: Action, now: datetime) -> None:
        to = [esc.iro_email] if esc.iro_email else self._qa()
        self._queue(uow, esc, key=action.key, kind="budget", template="budget", to=to, cc=self._qa(), now=now,
                    days=action.days, elapsed=action.elapsed, total=self.policy.total_working_days,
                    history=self.history(esc))

    def extension_requested(self, uow: UnitOfWork, esc: Escalation, action: Action, now: datetime) -> None:
        if not esc.iro_email:
            return
        stage = esc.current_stage
        command = f"Extend to {short_date(action.due_on)}" if action.due_on else "Extension agreed"
        self._queue(uow, esc, key=action.key, kind="extension", template="extension", to=[esc.iro_email], cc=[],
                    now=now, stage=stage, manager_name=self._name(stage.addressee_email if stage else None),
                    until=action.due_on, command=command)

    def refusal_notice(self, uow: UnitOfWork, esc: Escalation, msg: Message, *, what: str, reason: str,
                       example: str, now: datetime) -> None:
        """Tell the IRO (QA managers copied), once per mail, that a mail asked for something the bot did not do."""
        to = [esc.iro_email] if esc.iro_email else self._qa()
        self._queue(uow, esc, key=f"refused.{msg.identity}", kind="refused", template="refused", to=to, cc=self._qa(),
                    now=now, what=what, reason=reason, example=example, sender=msg.from_email,
                    mail_subject=msg.subject, received=london_date(msg.received_at))

    def reply_not_counted(self, uow: UnitOfWork, esc: Escalation, msg: Message, *, reason: str,
                          now: datetime) -> None:
        """Tell the IRO, once per mail, that a reply that looks like an answer does not stop the level's clock."""
        if not esc.iro_email:
            return
        stage = esc.current_stage
        level = self.policy.find_level(stage.level) if stage is not None else None
        self._queue(uow, esc, key=f"not_counted.{msg.identity}", kind="not_counted", template="not_counted",
                    to=[esc.iro_email], cc=[], now=now, reason=reason, sender=msg.from_name or msg.from_email,
                    level_label=level.label if level else "current level",
                    due=stage.due_on if stage is not None else None)

    def acknowledge(self, uow: UnitOfWork, esc: Escalation, now: datetime, inferred: list[str]) -> None:
        """Tell the IRO what the bot had to work out itself (only then: a normal escalation gets no reply)."""
        if not esc.iro_email or not inferred:
            return
        self._queue(uow, esc, key="ack", kind="acknowledgement", template="acknowledgement", to=[esc.iro_email],
                    cc=[], now=now, stage=esc.current_stage, inferred=inferred,
                    level=self.policy.find_level(esc.current_level))


__all__ = ["Actions", "case_text", "children_text"]
