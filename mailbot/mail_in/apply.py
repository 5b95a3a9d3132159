"""What a recorded mail changes, as far as its sender may: open a record, move it up, answer, obey a command.

Who may do what is not decided here: every path asks :mod:`rules.authority` (the sender's standing to the record,
then a ruling for the act) and obeys. Moving a record up goes through :meth:`mailbot.clock.actions.Actions.escalate`,
the same path as the clock's and the IRO's "Escalate". Everything runs in the caller's transaction.
"""

from __future__ import annotations

from datetime import date

from mailbot.clock.actions import Actions
from mailbot.config import Config
from parsers.commands import Command, read_command, read_response
from parsers.facts import case_type_in_subject, read_facts
from parsers.machine import AUTO_REPLY
from parsers.subject import SubjectFacts, normalise_subject
from parsers.themes import read_themes
from rules.authority import COMMANDS, Act, Parties, Ruling, Standing, ruling, standing_of
from rules.calendar import WorkingCalendar, london_date
from rules.policy import Level
from store.models import Escalation, Message, subject_key
from store.uow import UnitOfWork

from .reading import Reading


class Applier:
    """Applies mails to records; one per service (it holds only the config and its derived helpers)."""

    def __init__(self, config: Config, calendar: WorkingCalendar, actions: Actions) -> None:
        self.config = config
        self.calendar = calendar
        self.actions = actions
        self.directory = config.directory.directory()

    # -- who the sender is --------------------------------------------------------------------------------

    def parties(self, esc: Escalation | None) -> Parties:
        """The people of ``esc`` (None: a mail that belongs to no record yet) for :mod:`rules.authority`: the
        current level's addressee and their line above answer for it (the directory's ``reports_to``)."""
        directory = self.directory
        base = {"inside": self.config.allows_address, "bot": self.config.mailbox.address,
                "qa_managers": frozenset(directory.qa_managers),
                "iro_team_managers": frozenset(directory.iro_team_managers), "iros": frozenset(directory.iros())}
        if esc is None:
            return Parties(**base)
        stage = esc.current_stage
        current = stage.addressee_email if stage is not None else None
        responders = frozenset(directory.line_above(current))
        earlier = frozenset(s.addressee_email for s in esc.stages
                            if s is not stage and s.addressee_email and s.addressee_email not in responders)
        return Parties(**base, iro=esc.iro_email, responders=responders, earlier_managers=earlier)

    def standing(self, reading: Reading, esc: Escalation | None) -> Standing:
        return standing_of(reading.sender, self.parties(esc), proven=reading.proven)

    def may(self, reading: Reading, esc: Escalation | None, act: Act) -> Ruling:
        parties = self.parties(esc)
        return ruling(standing_of(reading.sender, parties, proven=reading.proven), act,
                      iros_listed=bool(parties.iros))

    def refuse(self, uow: UnitOfWork, esc: Escalation, msg: Message, reading: Reading, act: Act,
               verdict: Ruling, *, parties: Parties | None = None) -> None:
        """A command or a level change the sender may not give: recorded as refused (the mail needs a person's
        attention) and reported to the IRO and QA managers, once per mail. ``parties``: the record's people as the
        caller already worked them out for the ruling (worked out here when not given)."""
        msg.state, msg.attention_reason = "attention", f"not obeyed: {verdict.reason}"
        kind = "command_refused" if act in COMMANDS else f"{act}_refused"
        parties = parties if parties is not None else self.parties(esc)
        standing = standing_of(reading.sender, parties, proven=reading.proven)
        data = {"act": str(act), "standing": str(standing), "reason": verdict.reason}
        if act in COMMANDS:
            data["command"] = str(act)
        uow.events.append(kind, escalation=esc, message=msg, actor=reading.sender or "unknown", data=data)
        what, example = _WHAT.get(act, (f"do {act}", "Note: …"))
        self.actions.refusal_notice(uow, esc, msg, what=what, reason=verdict.reason, example=example,
                                    now=reading.received)

    # -- opening and moving up ----------------------------------------------------------------------------

    def level(self, number: int | None, kind: str | None = None) -> Level:
        """The policy's level ``number``; an informal step or Quality Alert ("Informal escalation", "Level 0") the
        policy's informal level; without a number (or one the policy lacks), the first formal level."""
        policy = self.config.policy
        found = policy.find_level(number) if number is not None else None
        if found is None and kind in ("informal", "quality_alert"):
            found = policy.first_informal_level()
        return found if found is not None else policy.first_formal_level()

    def due(self, level: Level, start: date, facts: SubjectFacts) -> tuple[date | None, str | None]:
        """The IRO's date from the subject where the policy lets it win, else the level's working days. A date
        already past never makes a record overdue from its first minute: the level's days count from ``start`` and
        the IRO is asked to confirm (the acknowledgement)."""
        if facts.response_date and self.config.policy.iro_date_overrides and facts.response_date >= start:
            return facts.response_date, "subject"
        if level.working_days is None:
            return None, None
        return self.calendar.add_working_days(start, level.working_days), "policy"

    def _named(self, reading: Reading) -> tuple[tuple[str, str | None] | None, list[str]]:
        """The manager the IRO's mail is addressed to (the first To that is not the bot) and who it copies."""
        bot = self.config.mailbox.address
        to = next((a for a in reading.mail.to if a.email != bot), None)
        copied = [a.email for a in reading.mail.cc if a.email != bot]
        return ((to.email, to.name or None) if to else None), copied

    def open(self, uow: UnitOfWork, reading: Reading) -> Escalation:
        """A new record and its first stage, from an escalation mail (recorded by the caller)."""
        mail, facts = reading.mail, reading.facts
        policy = self.config.policy
        level = self.level(facts.level, facts.kind)
        day = london_date(reading.received)
        case_type = case_type_in_subject(mail.subject or "")
        raiser = self.directory.person(reading.sender) if reading.sender else None
        if case_type is None and raiser is not None and "chair" in raiser.role.casefold():
            case_type = "child-protection"  # a conference chair's challenge is about a child-protection plan
        esc = Escalation(
            status="open", policy_key=policy.key, iro_email=reading.sender,
            iro_name=mail.from_.name if mail.from_ else None, children=list(facts.children),
            case_numbers=[{"number": c.number, "system": c.system} for c in facts.case_numbers],
            themes=list(read_themes(mail.new_text, policy.themes).themes), current_level=level.number,
            subject=mail.subject, subject_key=subject_key(normalise_subject(mail.subject or "")),
            conversation_key=mail.conversation_key, opened_at=reading.received,
            updated_at=reading.received, process_started_on=None if level.informal else day,
            facts={"case_type": case_type} if case_type else {},
        )
        uow.escalations.add(esc)
        named, copied = self._named(reading)
        due, source = self.due(level, day, facts)
        self.actions.start_stage(uow, esc, level, reading.received, addressee=named, copied=copied, due=due,
                                 source=source)
        return esc

    def announce_opened(self, uow: UnitOfWork, esc: Escalation, msg: Message, reading: Reading) -> None:
        """The "opened" event, and an acknowledgement to the IRO when the bot had to work something out."""
        stage = esc.current_stage
        data: dict[str, object] = {
            "level": esc.current_level,
            "due_on": stage.due_on.isoformat() if stage and stage.due_on else None,
            "due_source": stage.due_source if stage else None,
            "addressee": stage.addressee_email if stage else None,
        }
        inferred = []
        informal = esc.process_started_on is None
        if reading.facts.level is None and not informal:
            inferred.append("level")
        if reading.facts.response_date is None:
            inferred.append("due date")
        if stage is not None and stage.addressee_email is None:
            inferred.append("addressee")
        if inferred:
            data["inferred"] = inferred
        if reading.facts.warnings:
            data["warnings"] = list(reading.facts.warnings)
        past = reading.facts.response_date
        if past is not None and past >= london_date(reading.received):
            past = None
        if past is not None:
            data["subject_date_past"] = past.isoformat()
        if informal:
            data["informal"] = True
        uow.events.append("opened", escalation=esc, message=msg, actor=reading.sender or "unknown", data=data)
        self.actions.acknowledge(uow, esc, reading.received, inferred, past=past)
        procedure = self.actions.procedure
        procedure.notify(uow, esc, "informal_opened" if informal else "opened", reading.received)
        if stage is not None:
            self.actions.case_record_notice(uow, esc, reading.received, moment="opening",
                                            key=f"record.opened.L{stage.level}")
        if not informal and stage is not None:
            procedure.notify(uow, esc, "level", reading.received, level=stage.level)
            procedure.convene(uow, esc, stage, reading.received)

    def move(self, uow: UnitOfWork, esc: Escalation, msg: Message, reading: Reading) -> None:
        """A new "Level N" mail for an open case: the record moves up through :meth:`Actions.escalate`. The IRO's
        mail to the next manager is the escalation, so the bot sends nothing when it names one."""
        target = self.level(reading.facts.level, reading.facts.kind)
        named, copied = self._named(reading)
        due, source = self.due(target, london_date(reading.received), reading.facts)
        from_level, stage = esc.current_level, esc.current_stage
        passed = stage.addressee_email if stage is not None else None
        key = f"L{esc.current_level}.to.L{target.number}.{msg.identity}"
        nxt = self.config.policy.next_level(esc.current_level)
        self.actions.escalate(uow, esc, target, reading.received, by="mail", actor=reading.sender or "unknown",
                              message=msg, key=key, due_on=due, due_source=source, named=named, copied=copied,
                              bypass=nxt is not None and target.number > nxt.number)
        self.actions.bypass_notice(uow, esc, reading.received, from_level=from_level, passed=passed,
                                   by=reading.sender, key=key)

    # -- machine mail ---------------------------------------------------------------------------------------

    def machine_event(self, uow: UnitOfWork, esc: Escalation, msg: Message, reading: Reading) -> None:
        """An out-of-office or a bounce: on the record's timeline; no state and no clock changes. The current
        manager away until after the due date is told to the IRO and QA managers (:meth:`_away`)."""
        verdict = reading.verdict
        data: dict[str, object] = {"reason": verdict.reason}
        if verdict.back_on:
            data["back_on"] = verdict.back_on.isoformat()
        if verdict.failed_recipients:
            data["failed_recipients"] = list(verdict.failed_recipients)
        if verdict.status:
            data["status"] = verdict.status
        uow.events.append(verdict.kind, escalation=esc, message=msg, actor=reading.sender or "unknown", data=data)
        if verdict.kind == AUTO_REPLY and verdict.back_on is not None:
            self._away(uow, esc, msg, reading, verdict.back_on)
        if verdict.failed and verdict.failed_recipients:
            self.actions.bounced(uow, esc, msg, verdict.failed_recipients, why=verdict.status or verdict.reason,
                                 now=reading.received)

    def _away(self, uow: UnitOfWork, esc: Escalation, msg: Message, reading: Reading, back_on: date) -> None:
        """An out-of-office from the manager who must answer the current level, back only after its due date: the
        IRO and QA managers are told (:meth:`Actions.away_notice`). Not for a mail that proves nothing, a record
        closed or answered, or anyone else's absence."""
        stage = esc.current_stage
        sender = (reading.sender or "").lower()
        if (not reading.proven or esc.status != "open" or stage is None or stage.responded_at is not None
                or stage.due_on is None or not sender or sender != (stage.addressee_email or "").lower()
                or back_on <= stage.due_on):
            return
        self.actions.away_notice(uow, esc, msg, reading.received, back_on=back_on)

    # -- replies ---------------------------------------------------------------------------------------------

    def reply(self, uow: UnitOfWork, esc: Escalation, msg: Message, reading: Reading) -> str:
        """A human reply in a record's thread: a command, the manager being named, a response, or words.
        Returns ``"refused"`` when it asked for something its sender may not do, else ``"threaded"``."""
        sender = reading.sender
        actor = sender or "unknown"
        parties = self.parties(esc)
        standing = standing_of(reading.sender, parties, proven=reading.proven)
        text = reading.mail.new_text
        if _meeting_reply(reading):  # Outlook's Accept/Decline to a meeting request: on the record, never a response
            uow.events.append("meeting_reply", escalation=esc, message=msg, actor=actor,
                              data={"level": esc.current_level, "answer": reading.mail.subject.split(":", 1)[0][:40]})
            esc.updated_at = reading.received
            return "threaded"
        day = london_date(reading.received)
        if ruling(standing, Act.TAG_THEMES):
            self._tag_themes(uow, esc, msg, reading)
        facts = read_facts(text, day)
        procedure = self.actions.procedure
        if ruling(standing, Act.SET_FACTS):
            procedure.set_facts(uow, esc, msg, facts, actor=actor, now=reading.received)
        if esc.status == "open" and (facts.meeting_at is not None or facts.outcome) and ruling(standing, Act.MEETING):
            done = procedure.meeting_time(uow, esc, msg, facts, actor=actor, now=reading.received)
            done = procedure.meeting_outcome(uow, esc, msg, facts, actor=actor, now=reading.received) or done
            if done:
                esc.updated_at = reading.received
                return "threaded"
        command = read_command(text, day)
        if command is not None:
            act = Act(command.action)
            verdict = ruling(standing, act)
            if verdict:
                self._obey(uow, esc, msg, command, reading)
                return "threaded"
            if verdict.refused:
                self.refuse(uow, esc, msg, reading, act, verdict, parties=parties)
                return "refused"
        if ruling(standing, Act.NAME_MANAGER) and self._set_addressee(uow, esc, msg, reading):
            return "threaded"
        respond = ruling(standing, Act.RESPOND)
        if not respond:
            if standing is Standing.EARLIER_MANAGER:  # heard, but not the current level's response
                uow.events.append("message", escalation=esc, message=msg, actor=actor,
                                  data={"level": esc.current_level, "from_earlier_level": True})
                esc.updated_at = reading.received
            elif standing in (Standing.OWNING_IRO, Standing.QA_MANAGER):  # the IRO's side of the record
                uow.events.append("message", escalation=esc, message=msg, actor=actor)
            else:  # someone else's reply: on the record; the IRO hears of it when it looks like an answer
                uow.events.append("message", escalation=esc, message=msg, actor=actor, data={
                    "level": esc.current_level, "not_the_response": respond.reason, "standing": str(standing)})
                if esc.status == "open" and _looks_like_an_answer(text):
                    self.actions.reply_not_counted(uow, esc, msg, reason=respond.reason, now=reading.received)
            return "threaded"
        intent = read_response(text, day)
        stage = esc.current_stage
        # A request for more time is not yet the response: the clock runs until the IRO agrees a new date.
        if (stage is not None and stage.responded_at is None and esc.status == "open"
                and not intent.extension_requested):
            stage.responded_at = reading.received
            stage.response_message = msg
        data: dict[str, object] = {"level": esc.current_level}
        if intent.extension_requested:
            data["extension_requested"] = True
            if intent.requested_until:
                data["requested_until"] = intent.requested_until.isoformat()
            if intent.requested_working_days:
                data["requested_working_days"] = intent.requested_working_days
        uow.events.append("response", escalation=esc, message=msg, actor=actor, data=data)
        esc.updated_at = reading.received
        return "threaded"

    def _tag_themes(self, uow: UnitOfWork, esc: Escalation, msg: Message, reading: Reading) -> None:
        """``Theme: …`` lines add to the record's themes (the digest counts them)."""
        found = read_themes(reading.mail.new_text, self.config.policy.themes)
        added = [t for t in found.themes if t not in (esc.themes or [])]
        if not added:
            return
        esc.themes = [*(esc.themes or []), *added]
        uow.events.append("themes", escalation=esc, message=msg, actor=reading.sender or "unknown",
                          data={"added": added, "not_in_policy": [t for t in found.unknown if t in added]})

    def _set_addressee(self, uow: UnitOfWork, esc: Escalation, msg: Message, reading: Reading) -> bool:
        """When the bot did not know the manager of the current level and the IRO (or a QA manager) forwards the
        escalation to someone in the council, that someone is the manager: record them, chase them from now on."""
        stage = esc.current_stage
        if stage is None or stage.addressee_email or esc.status != "open":
            return False
        directory = self.config.directory
        skip = {self.config.mailbox.address, esc.iro_email, *directory.qa_managers, *directory.iro_team_managers}
        to = [a for a in reading.mail.to if a.email not in skip and self.config.allows_address(a.email)]
        if len(to) != 1:
            return False
        stage.addressee_email, stage.addressee_name = to[0].email, to[0].name or None
        uow.events.append("addressee_set", escalation=esc, message=msg, actor=reading.sender or "unknown",
                          data={"level": stage.level, "addressee": to[0].email})
        return True

    def _obey(self, uow: UnitOfWork, esc: Escalation, msg: Message, command: Command, reading: Reading) -> None:
        actor = reading.sender or "unknown"
        stage = esc.current_stage
        now = reading.received
        if esc.status != "open" and command.action != "note":
            uow.events.append("command_ignored", escalation=esc, message=msg, actor=actor,
                              data={"command": command.action, "reason": "the escalation is closed"})
            return
        if command.action == "cafcass":
            self._refer(uow, esc, msg, command, reading)
            esc.updated_at = now
            return
        if command.action in ("resolved", "withdraw"):
            outcome = {"resolved": "resolved", "withdraw": "withdrawn"}[command.action]
            self._close(uow, esc, msg, outcome, command.text, reading)
        elif command.action == "escalate":
            policy = self.config.policy
            if command.level is not None:
                target = policy.find_level(command.level)
            elif command.to_role:
                target = policy.level_for_role(command.to_role)
                if target is None:
                    self._unknown_role(uow, esc, msg, command, reading)
                    return
            else:
                target = policy.next_level(esc.current_level)
            if target is None or target.number <= esc.current_level:
                reason = "already at the last level" if target is None else f"already at level {esc.current_level}"
                if command.level is not None and target is None:
                    reason = f"the policy has no level {command.level}"
                uow.events.append("command_ignored", escalation=esc, message=msg, actor=actor,
                                  data={"command": "escalate", "reason": reason})
                return
            from_level, passed = esc.current_level, stage.addressee_email if stage is not None else None
            key = f"L{esc.current_level}.to.L{target.number}.{msg.identity}"
            nxt = policy.next_level(esc.current_level)
            bypass = nxt is not None and target.number > nxt.number
            self.actions.escalate(uow, esc, target, now, by="command", actor=actor, message=msg, key=key,
                                  bypass=bypass)
            self.actions.bypass_notice(uow, esc, now, from_level=from_level, passed=passed, by=reading.sender,
                                       key=key)
        elif command.action == "extend":
            if stage is None:
                return
            old = stage.due_on
            if command.until is not None:
                new_due = command.until
            elif command.by_working_days is not None:
                new_due = self.calendar.add_working_days(old or london_date(now), command.by_working_days)
            else:
                new_due = self._requested_date(uow, esc)
            if new_due is None:
                uow.events.append("command_ignored", escalation=esc, message=msg, actor=actor,
                                  data={"command": "extend", "reason": "no date given and none was requested"})
                return
            stage.due_on = new_due
            stage.due_source = "extension"
            self._extend_budget(esc, new_due)
            uow.events.append("extended", escalation=esc, message=msg, actor=actor,
                              data={"from": old.isoformat() if old else None, "to": new_due.isoformat()})
            self.actions.extension_agreed(uow, esc, now, old_due=old, by=reading.sender,
                                          key=f"L{stage.level}.extended.{msg.identity}")
        else:
            uow.events.append("note", escalation=esc, message=msg, actor=actor, data={"text": command.text})
        esc.updated_at = now

    def _extend_budget(self, esc: Escalation, new_due: date) -> None:
        """Where the policy lets the IRO extend the whole process (South West 5.2.6, Stage 2), an agreed date past
        its end extends it to that date: the budget warnings move with it."""
        policy = self.config.policy
        if not policy.iro_may_extend_budget or esc.process_started_on is None:
            return
        needed = self.calendar.working_days_between(esc.process_started_on, new_due)
        facts = dict(esc.facts or {})
        if needed > max(policy.total_working_days, int(facts.get("budget_days") or 0)):
            facts["budget_days"] = needed
            esc.facts = facts

    def _close(self, uow: UnitOfWork, esc: Escalation, msg: Message, outcome: str, text: str,
               reading: Reading) -> None:
        now = reading.received
        stage = esc.current_stage
        esc.status = "closed"
        esc.outcome = outcome
        esc.outcome_text = text or None
        esc.closed_at = now
        if stage is not None and stage.outcome is None:
            stage.outcome = outcome
            stage.ended_at = now
        uow.events.append(outcome, escalation=esc, message=msg, actor=reading.sender or "unknown", data={"text": text})
        self.actions.closure_notice(uow, esc, now, by=reading.sender)

    def _refer(self, uow: UnitOfWork, esc: Escalation, msg: Message, command: Command, reading: Reading) -> None:
        """The IRO refers to Cafcass: only where the procedure offers the route for this case; those the policy
        names are told before the referral; the record closes, or the staged process goes on, as the policy says."""
        procedure = self.actions.procedure
        actor = reading.sender or "unknown"
        if not procedure.cafcass_offered(esc):
            reason = ("the procedure offers a Cafcass referral only for "
                      + " and ".join(t.replace("-", " ") + " children" for t in self.config.policy.cafcass.case_types)
                      + "; this record is a child-protection case (reply \"Case type: looked after\" if that is wrong)")
            uow.events.append("command_ignored", escalation=esc, message=msg, actor=actor,
                              data={"command": "cafcass", "reason": reason})
            self.actions.refusal_notice(uow, esc, msg, what="refer the case to Cafcass", reason=reason,
                                        example="Case type: looked after", now=reading.received)
            return
        closes = procedure.referral_closes(esc, london_date(reading.received))
        procedure.considered(uow, esc, reading.received)  # told *before* any referral (no-op when already told)
        procedure.notify(uow, esc, "cafcass", reading.received)
        if closes:
            self._close(uow, esc, msg, "cafcass", command.text, reading)
            return
        uow.events.append("cafcass_referred", escalation=esc, message=msg, actor=actor,
                          data={"text": command.text, "continues": True})
        self.actions.referral_continues(uow, esc, reading.received, key=f"cafcass.{msg.identity}")

    def _unknown_role(self, uow: UnitOfWork, esc: Escalation, msg: Message, command: Command,
                      reading: Reading) -> None:
        policy = self.config.policy
        ladder = "; ".join(f"{lvl.label} ({lvl.role})" for lvl in policy.levels if not lvl.informal)
        reason = f"no level of the procedure is \"{command.to_role}\" (its levels: {ladder})"
        uow.events.append("command_ignored", escalation=esc, message=msg, actor=reading.sender or "unknown",
                          data={"command": "escalate", "reason": reason})
        self.actions.refusal_notice(uow, esc, msg, what=f"escalate to {command.to_role}", reason=reason,
                                    example=f"Escalate to {policy.level_word.lower()} N", now=reading.received)

    @staticmethod
    def _requested_date(uow: UnitOfWork, esc: Escalation) -> date | None:
        """The latest date a manager asked for, from the audit trail."""
        for event in reversed(uow.events.for_escalation(esc)):
            if event.kind == "response" and event.data and event.data.get("requested_until"):
                return date.fromisoformat(str(event.data["requested_until"]))
        return None


#: What each refused act asked for, in words for the IRO's notice, and the line that does it.
_WHAT: dict[Act, tuple[str, str]] = {
    Act.RESOLVE: ("close the escalation as resolved", "Resolved - what was agreed"),
    Act.WITHDRAW: ("withdraw the escalation", "Withdraw"),
    Act.REFER: ("close the escalation as referred to Cafcass", "Cafcass referral"),
    Act.ESCALATE: ("escalate to another level", "Escalate"),
    Act.EXTEND: ("give the manager more time", "Extend to DD/MM/YYYY"),
    Act.NOTE: ("add a note to the record", "Note: …"),
    Act.MOVE: ("move the escalation to another level", "Escalate to level N"),
}


_MEETING_ANSWERS = ("accepted:", "declined:", "tentative:", "tentatively accepted:", "new time proposed:")


def _meeting_reply(reading: Reading) -> bool:
    """An answer to a meeting request (iCalendar METHOD:REPLY, or Outlook's "Accepted: …" subject)."""
    mail = reading.mail
    if any(a.content_type.startswith("text/calendar") for a in mail.attachments):
        return True
    return mail.subject.strip().casefold().startswith(_MEETING_ANSWERS)


def _looks_like_an_answer(text: str) -> bool:
    """A reply with some words of its own (not a bare "thanks" or an empty forward)."""
    words = (text or "").split()
    return len(words) >= 4


__all__ = ["Applier"]
