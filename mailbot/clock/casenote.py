"""The facts of a record for the text the IRO pastes into the child's case record (:mod:`rules.casenote`).

:func:`case_facts` reads an :class:`~store.models.Escalation` — its stages, its messages and its events — into the
pure :class:`rules.casenote.CaseFacts`: the concern is the new text of the IRO's first mail; each response a human
mail from someone other than the IRO that counted as the response (an event ``response`` that is not a request for
more time) or a meeting's outcome (an event ``meeting_outcome``, written by ``mailbot/clock/procedure.py``); each
level a stage with its start and the working day its response is due.
``rules.casenote.case_note(policy.case_record, facts, moment)`` words it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from parsers.reply import strip_signature
from rules.calendar import WorkingCalendar, london_date, working_date
from rules.casenote import CaseFacts, Response, impact_of, long_date, requested_action_of
from rules.policy import Policy
from store.models import Escalation, Event, Message, Stage

#: What a closed record's outcome is called in the case record.
OUTCOME_WORDS = {"resolved": "Resolved", "withdrawn": "Withdrawn", "cafcass": "Referred to Cafcass",
                 "closed": "Closed"}


def level_label(policy: Policy, number: int, role: str = "") -> str:
    """``Level 2 (Group Manager)``: the policy's label and role for level ``number`` (``role``: the stage's, for a
    level the policy no longer has)."""
    level = policy.find_level(number)
    label = level.label if level is not None and level.label else f"{policy.level_word} {number}"
    role = level.role if level is not None else role
    return f"{label} ({role})" if role else label


def _working_day(calendar: WorkingCalendar, day: date | None) -> date | None:
    """The working day a due date means (a due date on a bank holiday means the next working day)."""
    return working_date(calendar, day).day if day is not None else None


def _is_iro(esc: Escalation, email: str | None) -> bool:
    return bool(email) and bool(esc.iro_email) and (email or "").lower() == (esc.iro_email or "").lower()


def concern_message(esc: Escalation) -> Message | None:
    """The IRO's first human mail on the record (else the first human mail in)."""
    human = [m for m in esc.messages if m.direction == "in" and m.kind == "human"]
    return next((m for m in human if _is_iro(esc, m.from_email)), human[0] if human else None)


def _case_numbers(esc: Escalation) -> tuple[str, ...]:
    """Each case number as the subject gives it: ``MOSAIC 123456``."""
    out = []
    for c in esc.case_numbers or []:
        number = str(c.get("number") or "").strip()
        system = str(c.get("system") or "").strip().upper()
        if number:
            out.append(f"{system} {number}".strip())
    return tuple(out)


def _responses(esc: Escalation, events: Sequence[Event], policy: Policy) -> tuple[Response, ...]:
    roles = {s.level: s.role for s in esc.stages}
    found: list[tuple[date, int, Response]] = []
    seen: set[int] = set()
    for event in events:
        data = event.data or {}
        msg = event.message
        level = data.get("level", esc.current_level)
        label = level_label(policy, int(level), roles.get(int(level), "")) if isinstance(level, int) else ""
        if event.kind == "response" and not data.get("extension_requested"):
            if (msg is None or msg.direction != "in" or msg.kind != "human" or _is_iro(esc, msg.from_email)
                    or id(msg) in seen):
                continue
            seen.add(id(msg))
            on = london_date(msg.received_at)
            who = (msg.from_name or "").strip() or (msg.from_email or "")
            found.append((on, len(found), Response(label, who, on, strip_signature(msg.new_text or ""))))
        elif event.kind == "meeting_outcome":  # the minutes' reply (clock/procedure.py): {"level", "text"}
            if msg is not None:
                if id(msg) in seen:
                    continue
                seen.add(id(msg))
            on = london_date(msg.received_at if msg is not None else event.at)
            found_level = policy.find_level(int(level)) if isinstance(level, int) else None
            meeting = found_level.meeting.name if found_level is not None and found_level.meeting else "Meeting"
            chair = str(data.get("chair") or "").strip()
            text = str(data.get("text") or "") or (strip_signature(msg.new_text or "") if msg is not None else "")
            found.append((on, len(found), Response(label, f"{meeting} (chair: {chair})" if chair else meeting,
                                                   on, text)))
    found.sort(key=lambda item: (item[0], item[1]))
    return tuple(item[2] for item in found)


def _timescale(stages: list[Stage], calendar: WorkingCalendar) -> str:
    """``response by Friday 11 December 2026``: the current level's due date (for a record at Cafcass or closed
    at an untimed level, the last level that had one)."""
    due = next((s.due_on for s in reversed(stages) if s.due_on is not None), None)
    day = _working_day(calendar, due)
    return f"response by {long_date(day)}" if day is not None else ""


def case_facts(esc: Escalation, events: Sequence[Event], policy: Policy, calendar: WorkingCalendar) -> CaseFacts:
    """What the case record says about ``esc`` now (``events``: its audit trail, e.g.
    ``uow.events.for_escalation(esc)``)."""
    stages = list(esc.stages)
    first = concern_message(esc)
    concern = strip_signature(first.new_text or "") if first is not None else ""
    current = esc.current_stage
    closed = esc.status == "closed"
    outcome = ""
    if closed:
        words = OUTCOME_WORDS.get(esc.outcome or "closed", (esc.outcome or "Closed").capitalize())
        said = (esc.outcome_text or "").strip()
        outcome = f"{words}: {said}" if said else words
    return CaseFacts(
        reference=esc.reference or "",
        children=tuple(str(c) for c in esc.children or []),
        case_numbers=_case_numbers(esc),
        iro=(esc.iro_name or "").strip() or (esc.iro_email or ""),
        opened_on=london_date(esc.opened_at),
        concern=concern,
        requested_action=requested_action_of(concern),
        timescale=_timescale(stages, calendar),
        impact=impact_of(concern),
        level_label=level_label(policy, current.level if current is not None else esc.current_level,
                                current.role if current is not None else ""),
        levels=tuple((level_label(policy, s.level, s.role), s.started_on, _working_day(calendar, s.due_on))
                     for s in stages),
        responses=_responses(esc, events, policy),
        outcome=outcome,
        concluded_on=london_date(esc.closed_at) if closed and esc.closed_at is not None else None,
        themes=tuple(str(t) for t in esc.themes or []),
    )


__all__ = ["OUTCOME_WORDS", "case_facts", "concern_message", "level_label"]
