"""The council's procedure around the arithmetic: who must be told when, the facts its rules depend on, Cafcass,
meetings. In the caller's transaction, like :mod:`mailbot.clock.actions`, which owns one :class:`Procedure` and
calls it at each step (opening, every level, closure, the referral notice); mail in calls it for one-line facts,
meeting times and minutes, and the IRO's Cafcass referral.

- **Notifications** are the policy's rules (:class:`rules.procedure.Notify`): on an event, the roles it names are
  told in a notice that quotes what the procedure asks of them and where (the IRO and the QA managers copied). A
  role is looked up in the directory near the record's current manager; the IRO and the Guardian are the record's
  own; a role nobody holds is a question to the IRO ("please tell them yourself, or add them"), never a guess. A
  rule that depends on a fact nobody has given yet ("is the child in proceedings?") asks the IRO once; when the
  answer comes, the rules it unlocks run then. Every notice has a key of its own, so it goes once.
- **Facts** (``esc.facts``): ``proceedings``, ``case_type``, ``guardian``, ``budget_days``; from the subject at
  opening ("CP") and from one-line replies of the IRO or a QA manager ("Proceedings: yes").
- **Cafcass**: a referral is open only to the case types the policy lists (a conference chair's child-protection
  case never is); the people the policy names are told *before* any referral (the end-of-ladder notice, or at the
  IRO's early "Cafcass"); the record closes or stays open as the policy says (Birmingham 4.4, Rotherham 2.6).
- **Meetings**: at a meeting step the chair is asked to convene it within the policy's days; when the chair (or the
  IRO) names a time by a one-line reply, the chair, the IRO and the attendees get an Outlook meeting request
  (iCalendar ``METHOD:REQUEST``); the minutes' reply ("Outcome: …") is the step's response.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from mailbot.mail_out import loaded
from mailbot.mail_out.invite import CALENDAR_CONTENT_TYPE, MeetingRequest, meeting_ics
from mailbot.mail_out.outbox import Attachment, bot_domain
from parsers.facts import Facts
from rules.calendar import LONDON, london_date
from rules.directory import roles_match
from rules.procedure import GUARDIAN, IRO, Notify
from store.models import Escalation, Message, Stage
from store.uow import UnitOfWork

log = logging.getLogger(__name__)

#: How long a meeting request holds the time for, when the chair names only its start.
MEETING_LENGTH = timedelta(hours=1)
#: Words for the events, in notices ("the escalation was opened").
EVENT_WORDS = {
    "opened": "a formal escalation was raised",
    "informal_opened": "an informal concern was recorded",
    "level": "the escalation reached {level}",
    "day": "the escalation has run {day} working days without being resolved",
    "bypass": "the IRO took the escalation past one or more levels, to {level}",
    "cafcass_considered": "a referral to Cafcass is being considered",
    "cafcass": "the IRO is referring the matter to Cafcass",
    "closed": "the escalation was closed",
}
#: The question each conditional fact asks the IRO, and the one-line answers.
QUESTIONS = {
    "proceedings": ("Is {children} subject of court proceedings?", ("Proceedings: yes", "Proceedings: no")),
}


def facts_of(esc: Escalation) -> dict[str, Any]:
    return dict(esc.facts or {})


class Procedure:
    def __init__(self, actions: Any) -> None:  # the mailbot.clock.actions.Actions that owns it (which imports this)
        self.actions = actions
        self.config = actions.config
        self.policy = actions.policy
        self.calendar = actions.calendar
        self.directory = actions.directory

    # -- notifications ------------------------------------------------------------------------------------------

    def notify(self, uow: UnitOfWork, esc: Escalation, event: str, now: datetime, *, level: int | None = None,
               day: int | None = None) -> int:
        """Run the policy's rules for ``event``; returns how many notices were queued."""
        facts = facts_of(esc)
        queued = 0
        for index, rule in enumerate(self.policy.notifications):
            if not rule.fires_on(event, level=level, day=day):
                continue
            if not rule.applies(facts):
                if rule.when == "in_proceedings" and facts.get("proceedings") is None and esc.status == "open":
                    self.ask_fact(uow, esc, "proceedings", rule, now)
                continue
            key = f"notify.{event}.{index}" + (f".L{level}" if event in ("level", "bypass") and level else "")
            queued += self._notice(uow, esc, rule, key, now, level=level, day=day)
        return queued

    def _holders(self, esc: Escalation, role: str) -> tuple[list[str], str | None]:
        facts = facts_of(esc)
        if role == IRO:
            return ([esc.iro_email] if esc.iro_email else []), None if esc.iro_email else "the IRO is not known"
        if role == GUARDIAN:
            guardian = facts.get("guardian")
            if guardian:
                return [guardian], None
            return [], ("the bot has no address for the child's Guardian: reply with a line "
                        "\"Guardian: name@…\" and the bot will write to them from now on")
        manager = self.actions.last_manager(esc)
        near = self.directory.person(manager) if manager else None
        if near is not None and roles_match(near.role, role):  # the manager of the level holds the role themselves
            return [near.email.lower()], None
        found, reason = self.directory.holders(role, near)
        return list(found), reason

    def _notice(self, uow: UnitOfWork, esc: Escalation, rule: Notify, key: str, now: datetime, *,
                level: int | None, day: int | None) -> int:
        to: list[str] = []
        missing: list[tuple[str, str]] = []
        for role in rule.roles:
            found, reason = self._holders(esc, role)
            outside = [a for a in found if not self.config.allows_address(a)]
            to.extend(a for a in found if a not in to and a not in outside)
            if outside:  # e.g. a Guardian at Cafcass: mail goes only inside the council's domains
                missing.append((role, f"{', '.join(outside)} is outside the council's mail domains, so this "
                                      "mailbox does not write to it"))
            elif not found:
                missing.append((role, reason or f"nobody in the directory has the role {role}"))
        # the rules run again when a fact arrives (the Guardian's address): tell only whom this rule has not told yet
        prefix = f"{esc.reference}.{key}"
        sent = [to for row_key, to in loaded.sent_keys(uow, esc)
                if row_key == prefix or row_key.startswith(f"{prefix}.+")]
        told = {a for to in sent for a in to}
        if sent:
            to = [a for a in to if a not in told]
            if not to:
                return 0
            key = f"{key}.+{len(sent)}"
        label = self.actions._level_text(level if level is not None else esc.current_level)
        happened = EVENT_WORDS[rule.event].format(level=label, day=day or "")
        context = {"rule": rule, "happened": happened, "roles": list(rule.roles), "missing": missing,
                   "level_label": label, "title": self.policy.title or "the escalation procedure",
                   "section": rule.section}
        queued = 0
        iro = [esc.iro_email] if esc.iro_email else []
        qa = self.actions._qa()
        if to:
            self.actions._queue(uow, esc, key=key, kind="procedure_notice", template="procedure_notice",
                                to=to, cc=[a for a in (*iro, *qa) if a not in to], now=now, **context)
            queued += 1
        if missing:
            self.actions._queue(uow, esc, key=f"{key}.who", kind="procedure_gap", template="procedure_gap",
                                to=iro or qa, cc=qa if iro else [], now=now, **context)
            queued += 1
        uow.events.append("notified", escalation=esc, actor="bot", at=now, data={
            "event": rule.event, "section": rule.section, "roles": list(rule.roles),
            "told": len(to), "not_found": [r for r, _ in missing]})
        return queued

    def ask_fact(self, uow: UnitOfWork, esc: Escalation, fact: str, rule: Notify, now: datetime) -> None:
        """Ask the IRO, once, for a fact a rule depends on."""
        question, answers = QUESTIONS[fact]
        to = [esc.iro_email] if esc.iro_email else self.actions._qa()
        self.actions._queue(uow, esc, key=f"ask.{fact}", kind="ask_fact", template="ask_fact", to=to,
                            cc=self.actions._qa() if esc.iro_email else [], now=now,
                            question=question.format(children=self.actions._base(esc)["children"]),
                            answers=list(answers), rule=rule, title=self.policy.title or "the procedure")

    def set_facts(self, uow: UnitOfWork, esc: Escalation, msg: Message | None, facts: Facts, *, actor: str,
                  now: datetime) -> bool:
        """Record what a one-line reply says; run the rules it unlocks. True when something was recorded."""
        known = facts_of(esc)
        new: dict[str, Any] = {}
        if facts.proceedings is not None and known.get("proceedings") != facts.proceedings:
            new["proceedings"] = facts.proceedings
        if facts.case_type is not None and known.get("case_type") != facts.case_type:
            new["case_type"] = facts.case_type
        if facts.guardian is not None and known.get("guardian") != facts.guardian:
            new["guardian"] = facts.guardian
        if not new:
            return False
        esc.facts = {**known, **new}
        uow.events.append("facts_set", escalation=esc, message=msg, actor=actor, at=now,
                          data={k: v for k, v in new.items() if k != "guardian"} | (
                              {"guardian": True} if "guardian" in new else {}))
        if esc.status == "open" and (new.get("proceedings") or "guardian" in new):
            # rules that waited for the fact (or for the Guardian's address) run now; their keys keep them once
            formal = esc.process_started_on is not None
            self.notify(uow, esc, "opened" if formal else "informal_opened", now)
            if formal:
                self.notify(uow, esc, "level", now, level=esc.current_level)
        return True

    # -- Cafcass ------------------------------------------------------------------------------------------------

    def cafcass_offered(self, esc: Escalation) -> bool:
        return self.policy.cafcass.offered(facts_of(esc))

    def considered(self, uow: UnitOfWork, esc: Escalation, now: datetime) -> None:
        """Those the policy names are told that a referral is being considered (once: keyed)."""
        self.notify(uow, esc, "cafcass_considered", now)

    def referral_closes(self, esc: Escalation, today: date | None = None) -> bool:
        """Whether a referral now closes the record: once the ladder is exhausted by ``at_end``, earlier by ``early``.
        Exhausted: the record is at the Cafcass stage, or at the last level with a manager and that level has
        answered or run out of time (Birmingham 4.1, "following escalation to the Director of Practice matters are
        not resolved"); while the last manager still has time, a referral is early (4.4, Rotherham 2.6)."""
        level = self.policy.find_level(esc.current_level)
        stage = esc.current_stage
        at_end = level is not None and level.terminal
        if level is not None and not at_end and stage is not None:
            nxt = self.policy.next_level(level.number)
            last = nxt is None or nxt.terminal
            overdue = stage.due_on is not None and today is not None and today > stage.due_on
            at_end = last and (stage.responded_at is not None or overdue)
        return (self.policy.cafcass.at_end if at_end else self.policy.cafcass.early) == "close"

    # -- meetings ---------------------------------------------------------------------------------------------

    def convene(self, uow: UnitOfWork, esc: Escalation, stage: Stage, now: datetime) -> None:
        """At a meeting step: ask the chair (the stage's addressee) to convene it within the policy's days."""
        level = self.policy.find_level(stage.level)
        if level is None or level.meeting is None:
            return
        meeting = level.meeting
        by = self.calendar.add_working_days(london_date(now), meeting.convene_within)
        attendees = [(role, self._holders(esc, role)[0]) for role in meeting.attendees]
        to = [stage.addressee_email] if stage.addressee_email else ([esc.iro_email] if esc.iro_email else [])
        if not to:
            return
        self.actions._queue(uow, esc, key=f"L{level.number}.convene", kind="meeting_convene",
                            template="meeting_convene", to=to,
                            cc=[a for a in ([esc.iro_email] if esc.iro_email else []) + self.actions._qa()
                                if a not in to],
                            now=now, meeting=meeting, convene_by=by, level_label=self.actions._level_text(level.number),
                            chair_known=bool(stage.addressee_email),
                            chair_name=self.actions._name(stage.addressee_email, stage.addressee_name),
                            attendees=[(role, [self.actions._called(esc, a) for a in found])
                                       for role, found in attendees])

    def meeting_time(self, uow: UnitOfWork, esc: Escalation, msg: Message, facts: Facts, *, actor: str,
                     now: datetime) -> bool:
        """The chair or the IRO named the meeting's time: send the meeting request to everyone it is for."""
        stage = esc.current_stage
        level = self.policy.find_level(stage.level) if stage is not None else None
        if stage is None or level is None or level.meeting is None or facts.meeting_at is None:
            return False
        meeting = level.meeting
        start = facts.meeting_at.replace(tzinfo=LONDON)
        earlier = [e for e in loaded.trail(uow, esc)
                   if e.kind == "meeting_set" and (e.data or {}).get("level") == level.number]
        people: list[tuple[str, str]] = []
        if stage.addressee_email:
            people.append((stage.addressee_email, "CHAIR"))
        if esc.iro_email:
            people.append((esc.iro_email, "REQ-PARTICIPANT"))
        for role in meeting.attendees:
            people.extend((a, "REQ-PARTICIPANT") for a in self._holders(esc, role)[0])
        seen: dict[str, str] = {}
        for address, role in people:
            if self.config.allows_address(address):
                seen.setdefault(address.lower(), role)
        names = {a: self.actions._called(esc, a) or None for a in seen}
        request = MeetingRequest(
            uid=f"{esc.reference}.L{level.number}.meeting@{bot_domain(self.config)}", sequence=len(earlier),
            summary=f"{meeting.name} — {esc.reference}",
            description=(f"{meeting.name} for escalation {esc.reference} ({self.policy.title or 'IRO escalation'}"
                         f"{', section ' + meeting.section if meeting.section else ''}). Chaired by the "
                         f"{meeting.chair}; minuted by the {meeting.minutes_by}. Details are in the mail."),
            start=start, end=start + MEETING_LENGTH, location=facts.meeting_place,
            organizer=(self.config.mailbox.address, "IRO escalations mailbox"),
            attendees=tuple((a, names[a], role) for a, role in seen.items()), stamp=now)
        ics = meeting_ics(request)
        uow.events.append("meeting_set", escalation=esc, message=msg, actor=actor, at=now, data={
            "level": level.number, "at": start.isoformat(), "place": facts.meeting_place[:200],
            "sequence": request.sequence})
        self.actions._queue(uow, esc, key=f"L{level.number}.meeting.{request.sequence}", kind="meeting_request",
                            template="meeting_request", to=list(seen), cc=[], now=now, meeting=meeting,
                            at=start, place=facts.meeting_place, sequence=request.sequence,
                            level_label=self.actions._level_text(level.number),
                            attachments=[Attachment("invite.ics", CALENDAR_CONTENT_TYPE, ics)])
        return True

    def meeting_outcome(self, uow: UnitOfWork, esc: Escalation, msg: Message, facts: Facts, *, actor: str,
                        now: datetime) -> bool:
        """The minutes' reply ("Outcome: …" / "Minutes: …") from the chair or the IRO is the meeting step's
        response: the clock stops, and the IRO decides (resolved or escalate) as after any response."""
        stage = esc.current_stage
        level = self.policy.find_level(stage.level) if stage is not None else None
        if stage is None or level is None or level.meeting is None or not facts.outcome:
            return False
        if stage.responded_at is None:
            stage.responded_at = now
            stage.response_message = msg
        uow.events.append("meeting_outcome", escalation=esc, message=msg, actor=actor, at=now,
                          data={"level": level.number, "text": facts.outcome[:2000]})
        return True


__all__ = ["Procedure", "facts_of"]
