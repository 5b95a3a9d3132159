"""Mail in: parse → record idempotently → match → apply → persist, one transaction per mail.

Nothing here may lose a mail or stop the loop. A mail the parsers cannot make sense of is still recorded (with its
raw bytes) in the state ``attention``; an unexpected error while applying a mail rolls that mail's transaction back
and records it again, alone, as ``attention`` with the error's type, so the poll goes on with the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError

from parsers.commands import Command, read_command, read_response
from parsers.machine import MachineVerdict, classify
from parsers.mail import ParsedMail
from parsers.message import parse_message
from parsers.subject import SubjectFacts, normalise_subject, parse_subject
from parsers.themes import read_themes
from rules.calendar import london_date
from rules.policy import Level
from store.models import Escalation, Event, Message, Stage
from store.uow import Store, UnitOfWork

from .actions import Actions
from .config import Config
from .transports.base import FetchedMail, MailSource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Match:
    """Which escalation a mail belongs to, and how that was decided (for ``explain`` and the audit trail)."""

    escalation: Escalation | None
    how: str  # "references" | "tag" | "conversation" | "subject" | "case" | "new" | "escalates" | "none"


@dataclass(frozen=True)
class IngestResult:
    identity: str
    kind: str  # human | auto_reply | bounce | unreadable
    outcome: str  # "duplicate" | "opened" | "threaded" | "escalated" | "unmatched" | "attention"
    reference: str | None = None
    how: str = ""
    reason: str = ""

    @property
    def needs_attention(self) -> bool:
        return self.outcome in ("attention", "unmatched")


@dataclass(frozen=True)
class Reading:
    """Everything the parsers say about one mail (pure facts, no database)."""

    mail: ParsedMail
    verdict: MachineVerdict
    facts: SubjectFacts
    received: datetime

    @property
    def kind(self) -> str:
        if self.unreadable:
            return "unreadable"
        return self.verdict.kind

    @property
    def unreadable(self) -> bool:
        return not self.mail.headers or (self.mail.from_ is None and not self.mail.subject and not self.mail.text)

    @property
    def sender(self) -> str | None:
        return self.mail.from_.email if self.mail.from_ else None


def read(raw: bytes, received: datetime, config: Config) -> Reading:
    """Parse a raw mail into the facts the service needs. Never raises."""
    mail = parse_message(raw)
    day = london_date(mail.date or received) if mail.date else london_date(received)
    verdict = classify(mail, day)
    facts = parse_subject(mail.subject, day, config.calendar.calendar().add_working_days)
    return Reading(mail=mail, verdict=verdict, facts=facts, received=received)


# ------------------------------------------------------------------------------------------------ matching


def match(uow: UnitOfWork, reading: Reading) -> Match:
    """Find the escalation a mail belongs to, in the order DESIGN.md §4 sets. Read-only."""
    mail, facts = reading.mail, reading.facts
    thread_ids = [i for i in (*mail.in_reply_to, *mail.references) if i]
    if reading.verdict.kind == "bounce":  # a bounce names the mail it returns only inside the report
        thread_ids += [i for i in mail.enclosed_message_ids if i]
    if thread_ids:
        found = uow.messages.find_escalation_for_message_ids(thread_ids)
        if found is not None:
            return Match(found, "references")
    if facts.bot_reference:
        found = uow.escalations.get(facts.bot_reference)
        if found is not None:
            return Match(found, "tag")
    if mail.conversation_key:
        found = uow.escalations.find_by_conversation_key(mail.conversation_key)
        if found is not None:
            return Match(found, "conversation")
    numbers = [c.number for c in facts.case_numbers]
    candidates = uow.escalations.find_open_by_case_numbers(numbers) if numbers else []
    if facts.is_escalation and not facts.is_reply and candidates:
        current = candidates[0]
        if facts.level is not None and facts.level > current.current_level:
            return Match(current, "escalates")
        return Match(current, "case")
    if facts.is_reply:
        wanted = normalise_subject(mail.subject)
        for esc in candidates or uow.escalations.list(open_only=True):
            if normalise_subject(esc.subject) == wanted:
                return Match(esc, "subject")
        if candidates:
            return Match(candidates[0], "case")
    if facts.is_escalation and not facts.is_reply:
        return Match(None, "new")
    return Match(None, "none")


# ------------------------------------------------------------------------------------------------ service


class Ingestor:
    """Records mails into the store and applies what they mean."""

    def __init__(self, store: Store, config: Config, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.calendar = config.calendar.calendar()
        self.actions = Actions(config, self.calendar)

    # -- one mail -------------------------------------------------------------------------------------

    def ingest(self, raw: bytes, *, source_key: str = "", source_ref: str = "",
               cursor: str | None = None) -> IngestResult:
        """Record one raw mail (and, with ``cursor``, advance ``source_key``'s cursor in the same transaction)."""
        received = self.clock()
        reading = read(raw, received, self.config)
        identity = reading.mail.identity
        try:
            with self.store.unit_of_work() as uow:
                result = self._ingest(uow, reading, raw, source_key, source_ref)
                if cursor is not None and source_key:
                    uow.cursors.set(source_key, cursor)
                uow.commit()
        except IntegrityError:
            # another replica recorded the same mail between our look-up and our insert: it is a duplicate
            with self.store.unit_of_work() as uow:
                known = uow.messages.get_by_identity(identity) is not None
                if known and cursor is not None and source_key:
                    uow.cursors.set(source_key, cursor)
                    uow.commit()
            if known:
                log.info("mail recorded meanwhile by another worker identity=%s", identity)
                return IngestResult(identity, reading.kind, "duplicate")
            return self._keep_for_attention(reading, raw, source_key, source_ref, cursor, "IntegrityError")
        except Exception as exc:  # a bug or a database fault must not lose the mail nor stop the loop
            log.exception("ingest failed; keeping the mail for attention identity=%s error=%s",
                          identity, type(exc).__name__)
            return self._keep_for_attention(reading, raw, source_key, source_ref, cursor, type(exc).__name__)
        log.info("mail recorded kind=%s outcome=%s ref=%s how=%s", result.kind, result.outcome,
                 result.reference or "-", result.how or "-")
        return result

    def _keep_for_attention(self, reading: Reading, raw: bytes, source_key: str, source_ref: str,
                            cursor: str | None, error: str) -> IngestResult:
        identity = reading.mail.identity
        with self.store.unit_of_work() as uow:
            if uow.messages.get_by_identity(identity) is None:
                self._record(uow, reading, raw, None, source_key, source_ref, state="attention",
                             reason=f"could not be processed ({error}); kept for a person to read")
            if cursor is not None and source_key:
                uow.cursors.set(source_key, cursor)
            uow.commit()
        return IngestResult(identity, reading.kind, "attention", reason=error)

    def _ingest(self, uow: UnitOfWork, reading: Reading, raw: bytes, source_key: str,
                source_ref: str) -> IngestResult:
        identity = reading.mail.identity
        if uow.messages.get_by_identity(identity) is not None:
            return IngestResult(identity, reading.kind, "duplicate")
        if reading.unreadable:
            self._record(uow, reading, raw, None, source_key, source_ref, state="attention",
                         reason="the mail could not be read: " + ("; ".join(reading.mail.defects) or "no headers"))
            return IngestResult(identity, "unreadable", "attention", reason="unreadable")
        if reading.sender and reading.sender == self.config.mailbox.address:
            # the bot's own mail come back (a copy, a forward by a rule): never acted on, so never a loop
            found = match(uow, reading)
            self._record(uow, reading, raw, found.escalation, source_key, source_ref, state="recorded")
            return IngestResult(identity, reading.kind, "own", found.escalation.reference if found.escalation else None)
        found = match(uow, reading)
        esc = found.escalation
        if esc is not None and esc.reference:  # replicas applying mail to the same record take turns
            esc = uow.escalations.get(esc.reference, for_update=True)
        if reading.kind != "human":
            msg = self._record(uow, reading, raw, esc, source_key, source_ref,
                               state="matched" if esc else "recorded")
            if esc is not None:
                self._machine_event(uow, esc, msg, reading)
            return IngestResult(identity, reading.kind, "threaded" if esc else "unmatched",
                                esc.reference if esc else None, found.how)
        if found.how == "new":
            esc = self._open(uow, reading)
            msg = self._record(uow, reading, raw, esc, source_key, source_ref, state="matched")
            data = self._opened_data(esc, reading)
            uow.events.append("opened", escalation=esc, message=msg, actor=reading.sender or "unknown", data=data)
            inferred = data.get("inferred")
            self.actions.acknowledge(uow, esc, reading.received, list(inferred) if isinstance(inferred, list) else [])
            return IngestResult(identity, "human", "opened", esc.reference, found.how)
        if esc is None:
            self._record(uow, reading, raw, None, source_key, source_ref, state="attention",
                         reason="no escalation matches this mail and its subject does not open one")
            return IngestResult(identity, "human", "unmatched", reason="no match")
        msg = self._record(uow, reading, raw, esc, source_key, source_ref, state="matched")
        if found.how == "escalates":
            self._escalate_by_mail(uow, esc, msg, reading)
            return IngestResult(identity, "human", "escalated", esc.reference, found.how)
        self._apply_reply(uow, esc, msg, reading)
        return IngestResult(identity, "human", "threaded", esc.reference, found.how)

    # -- recording ------------------------------------------------------------------------------------

    def _record(self, uow: UnitOfWork, reading: Reading, raw: bytes, esc: Escalation | None, source_key: str,
                source_ref: str, *, state: str, reason: str | None = None) -> Message:
        mail = reading.mail
        keep_raw = state == "attention" or (esc is not None and reading.facts.is_escalation)
        msg = Message(
            identity=mail.identity,
            message_id=mail.message_id,
            escalation=esc,
            direction="in",
            kind=reading.kind,
            from_email=mail.from_.email if mail.from_ else None,
            from_name=mail.from_.name if mail.from_ else None,
            to_emails=[a.email for a in mail.to],
            cc_emails=[a.email for a in mail.cc],
            subject=mail.subject,
            sent_at=mail.date,
            received_at=reading.received,
            in_reply_to=list(mail.in_reply_to),
            references=list(mail.references),
            thread_index=mail.thread_index,
            conversation_key=mail.conversation_key,
            new_text=mail.new_text,
            state=state,
            attention_reason=reason,
            source_key=source_key,
            source_ref=source_ref,
            raw=raw if keep_raw else None,
        )
        uow.messages.add(msg)
        if state == "attention":
            uow.events.append("attention", escalation=esc, message=msg, data={"reason": reason})
        return msg

    def _machine_event(self, uow: UnitOfWork, esc: Escalation, msg: Message, reading: Reading) -> None:
        verdict = reading.verdict
        data: dict[str, object] = {"reason": verdict.reason}
        if verdict.back_on:
            data["back_on"] = verdict.back_on.isoformat()
        if verdict.failed_recipients:
            data["failed_recipients"] = list(verdict.failed_recipients)
        if verdict.status:
            data["status"] = verdict.status
        uow.events.append(verdict.kind, escalation=esc, message=msg, actor=reading.sender or "unknown", data=data)

    # -- opening and escalating -----------------------------------------------------------------------

    def _due(self, level: Level, start: date, facts: SubjectFacts) -> tuple[date | None, str | None]:
        policy = self.config.policy
        if facts.response_date and policy.iro_date_overrides:
            return facts.response_date, "subject"
        if level.working_days is None:
            return None, None
        return self.calendar.add_working_days(start, level.working_days), "policy"

    def _open(self, uow: UnitOfWork, reading: Reading) -> Escalation:
        mail, facts = reading.mail, reading.facts
        policy = self.config.policy
        level = self._level(facts.level)
        day = london_date(reading.received)
        esc = Escalation(
            status="open",
            policy_key=policy.key,
            iro_email=reading.sender,
            iro_name=mail.from_.name if mail.from_ else None,
            children=list(facts.children),
            case_numbers=[{"number": c.number, "system": c.system} for c in facts.case_numbers],
            themes=list(read_themes(mail.new_text, policy.themes).themes),
            current_level=level.number,
            subject=mail.subject,
            conversation_key=mail.conversation_key,
            opened_at=reading.received,
            updated_at=reading.received,
            process_started_on=day,
        )
        uow.escalations.add(esc)
        self._start_stage(uow, esc, level, reading, day)
        return esc

    def _level(self, number: int | None) -> Level:
        policy = self.config.policy
        if number is not None:
            for level in policy.levels:
                if level.number == number:
                    return level
        return policy.first_formal_level()

    def _start_stage(self, uow: UnitOfWork, esc: Escalation, level: Level, reading: Reading, day: date) -> Stage:
        mail = reading.mail
        addressee = next((a for a in mail.to if a.email != self.config.mailbox.address), None)
        due, source = self._due(level, day, reading.facts)
        stage = Stage(
            escalation=esc,
            level=level.number,
            role=level.role,
            addressee_email=addressee.email if addressee else None,
            addressee_name=addressee.name if addressee else None,
            copied=[a.email for a in mail.cc if a.email != self.config.mailbox.address],
            started_at=reading.received,
            started_on=day,
            due_on=due,
            due_source=source,
        )
        uow.session.add(stage)
        esc.current_level = level.number
        esc.updated_at = reading.received
        return stage

    def _opened_data(self, esc: Escalation, reading: Reading) -> dict[str, object]:
        stage = esc.current_stage
        data: dict[str, object] = {
            "level": esc.current_level,
            "due_on": stage.due_on.isoformat() if stage and stage.due_on else None,
            "due_source": stage.due_source if stage else None,
            "addressee": stage.addressee_email if stage else None,
        }
        inferred = []
        if reading.facts.level is None:
            inferred.append("level")
        if reading.facts.response_date is None:
            inferred.append("due date")
        if stage is not None and stage.addressee_email is None:
            inferred.append("addressee")
        if inferred:
            data["inferred"] = inferred
        if reading.facts.warnings:
            data["warnings"] = list(reading.facts.warnings)
        return data

    def _escalate_by_mail(self, uow: UnitOfWork, esc: Escalation, msg: Message, reading: Reading) -> None:
        previous = esc.current_stage
        from_level = esc.current_level
        if previous is not None and previous.outcome is None:
            previous.outcome = "escalated"
            previous.ended_at = reading.received
        stage = self._start_stage(uow, esc, self._level(reading.facts.level), reading, london_date(reading.received))
        uow.events.append("escalated", escalation=esc, message=msg, actor=reading.sender or "unknown",
                          data={"from_level": from_level, "to_level": stage.level, "by": "mail",
                                "due_on": stage.due_on.isoformat() if stage.due_on else None})

    # -- replies --------------------------------------------------------------------------------------

    def may_command(self, esc: Escalation, sender: str | None) -> bool:
        """Commands are obeyed only from the owning IRO or a QA manager, and only from configured domains."""
        if not sender or not self.config.allows_address(sender):
            return False
        directory = self.config.directory
        return sender == esc.iro_email or sender in directory.qa_managers or sender in directory.iro_team_managers

    def _apply_reply(self, uow: UnitOfWork, esc: Escalation, msg: Message, reading: Reading) -> None:
        sender = reading.sender
        text = reading.mail.new_text
        day = london_date(reading.received)
        if self.may_command(esc, sender):
            self._tag_themes(uow, esc, msg, reading)
        command = read_command(text, day)
        if command is not None and self.may_command(esc, sender):
            self._obey(uow, esc, msg, command, reading)
            return
        if command is not None and sender != esc.iro_email and not self.config.allows_address(sender or ""):
            uow.events.append("command_refused", escalation=esc, message=msg, actor=sender or "unknown",
                              data={"command": command.action, "reason": "sender outside the council's domains"})
            return
        if self.may_command(esc, sender) and self._set_addressee(uow, esc, msg, reading):
            return
        directory = self.config.directory
        if sender == esc.iro_email or sender in directory.qa_managers or sender in directory.iro_team_managers:
            # the IRO's or a QA manager's words without a command: part of the record, not the manager's response
            uow.events.append("message", escalation=esc, message=msg, actor=sender or "unknown")
            return
        intent = read_response(text, day)
        stage = esc.current_stage
        earlier = {s.addressee_email for s in esc.stages if s is not stage and s.addressee_email}
        if stage is not None and stage.addressee_email and sender in earlier - {stage.addressee_email}:
            # the manager of a level already passed: part of the record, but not the current manager's response
            uow.events.append("message", escalation=esc, message=msg, actor=sender or "unknown",
                              data={"level": esc.current_level, "from_earlier_level": True})
            esc.updated_at = reading.received
            return
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
        uow.events.append("response", escalation=esc, message=msg, actor=sender or "unknown", data=data)
        esc.updated_at = reading.received

    def _tag_themes(self, uow: UnitOfWork, esc: Escalation, msg: Message, reading: Reading) -> None:
        """``Theme: …`` lines from the IRO or a QA manager add to the record's themes (the digest counts them)."""
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

    def _policy_level(self, number: int) -> Level | None:
        return next((lvl for lvl in self.config.policy.levels if lvl.number == number), None)

    def _obey(self, uow: UnitOfWork, esc: Escalation, msg: Message, command: Command, reading: Reading) -> None:
        actor = reading.sender or "unknown"
        stage = esc.current_stage
        now = reading.received
        if esc.status != "open" and command.action != "note":
            uow.events.append("command_ignored", escalation=esc, message=msg, actor=actor,
                              data={"command": command.action, "reason": "the escalation is closed"})
            return
        if command.action in ("resolved", "withdraw", "cafcass"):
            outcome = {"resolved": "resolved", "withdraw": "withdrawn", "cafcass": "cafcass"}[command.action]
            esc.status = "closed"
            esc.outcome = outcome
            esc.outcome_text = command.text or None
            esc.closed_at = now
            if stage is not None and stage.outcome is None:
                stage.outcome = outcome
                stage.ended_at = now
            uow.events.append(outcome, escalation=esc, message=msg, actor=actor, data={"text": command.text})
        elif command.action == "escalate":
            target = (self._policy_level(command.level) if command.level is not None
                      else self.config.policy.next_level(esc.current_level))
            if target is None or target.number <= esc.current_level:
                reason = "already at the last level" if target is None else f"already at level {esc.current_level}"
                if command.level is not None and target is None:
                    reason = f"the policy has no level {command.level}"
                uow.events.append("command_ignored", escalation=esc, message=msg, actor=actor,
                                  data={"command": "escalate", "reason": reason})
                return
            self.actions.escalate(uow, esc, target, now, by="command", actor=actor, message=msg,
                                  key=f"L{esc.current_level}.to.L{target.number}.{msg.identity}",
                                  bypass=command.level is not None)
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
            uow.events.append("extended", escalation=esc, message=msg, actor=actor,
                              data={"from": old.isoformat() if old else None, "to": new_due.isoformat()})
        else:
            uow.events.append("note", escalation=esc, message=msg, actor=actor, data={"text": command.text})
        esc.updated_at = now

    @staticmethod
    def _requested_date(uow: UnitOfWork, esc: Escalation) -> date | None:
        """The latest date a manager asked for, from the audit trail."""
        for event in reversed(uow.events.for_escalation(esc)):
            if event.kind == "response" and event.data and event.data.get("requested_until"):
                return date.fromisoformat(str(event.data["requested_until"]))
        return None

    # -- a whole mailbox ------------------------------------------------------------------------------

    def poll(self, source: MailSource, limit: int = 200) -> list[IngestResult]:
        """Read every new mail from ``source``; each is recorded, then settled at the source."""
        with self.store.unit_of_work() as uow:
            cursor = uow.cursors.get(source.key)
        results = []
        fetched: FetchedMail
        for fetched in source.fetch(cursor, limit):
            result = self.ingest(fetched.raw, source_key=source.key, source_ref=fetched.ref, cursor=fetched.cursor)
            results.append(result)
            try:
                source.settle(fetched.ref, "attention" if result.needs_attention else "processed")
            except Exception as exc:  # settling is a courtesy; the mail is already safe in the store
                log.warning("could not settle %s at the source: %s", fetched.ref, type(exc).__name__)
        return results


__all__ = ["Event", "IngestResult", "Ingestor", "Match", "Reading", "match", "read"]
