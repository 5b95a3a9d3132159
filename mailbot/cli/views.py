"""What the CLI shows people: summaries, timelines and explanations, as plain dicts (JSON-ready)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from mailbot.config import Config
from mailbot.mail_in.matching import match
from mailbot.mail_in.reading import read
from parsers.commands import read_command, read_response
from rules.calendar import london_date
from store.models import Escalation
from store.uow import UnitOfWork


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def escalation_summary(esc: Escalation) -> dict[str, Any]:
    stage = esc.current_stage
    return {
        "reference": esc.reference,
        "status": esc.status,
        "outcome": esc.outcome,
        "level": esc.current_level,
        "role": stage.role if stage else None,
        "addressee": stage.addressee_email if stage else None,
        "due_on": _iso(stage.due_on) if stage else None,
        "responded": bool(stage and stage.responded_at),
        "iro": esc.iro_email,
        "children": list(esc.children or []),
        "case_numbers": [c["number"] for c in esc.case_numbers or []],
        "opened_at": _iso(esc.opened_at),
        "closed_at": _iso(esc.closed_at),
    }


def escalation_detail(uow: UnitOfWork, esc: Escalation) -> dict[str, Any]:
    """The record, its stages and one timeline of mails and events, oldest first."""
    detail = escalation_summary(esc)
    detail["subject"] = esc.subject
    detail["outcome_text"] = esc.outcome_text
    detail["stages"] = [
        {
            "level": s.level,
            "role": s.role,
            "addressee": s.addressee_email,
            "copied": list(s.copied or []),
            "started_on": _iso(s.started_on),
            "due_on": _iso(s.due_on),
            "due_source": s.due_source,
            "responded_at": _iso(s.responded_at),
            "outcome": s.outcome,
        }
        for s in esc.stages
    ]
    timeline = []
    for event in uow.events.for_escalation(esc):
        entry: dict[str, Any] = {"at": _iso(event.at), "event": event.kind, "actor": event.actor}
        if event.data:
            entry["data"] = event.data
        msg = event.message
        if msg is not None:
            entry["mail"] = {
                "message_id": msg.message_id,
                "kind": msg.kind,
                "direction": msg.direction,
                "from": msg.from_email,
                "subject": msg.subject,
                "sent_at": _iso(msg.sent_at),
                "new_text": msg.new_text,
            }
        timeline.append(entry)
    detail["timeline"] = timeline
    detail["mails_out"] = [  # the bot's own mails about the record, queued in the same transactions as the events
        {"queued_at": _iso(m.received_at), "sent_at": _iso(m.sent_at), "to": list(m.to_emails or []),
         "cc": list(m.cc_emails or []), "subject": m.subject, "key": m.source_ref}
        for m in sorted(esc.messages, key=lambda m: (m.received_at, m.id or 0)) if m.direction == "out"
    ]
    return detail


def render_detail(detail: dict[str, Any]) -> str:
    lines = [
        f"{detail['reference']}  {detail['status']}" + (f" ({detail['outcome']})" if detail["outcome"] else ""),
        f"  subject:  {detail['subject']}",
        f"  children: {', '.join(detail['children']) or '-'}    case: {', '.join(detail['case_numbers']) or '-'}",
        f"  IRO:      {detail['iro'] or '-'}",
    ]
    if detail.get("outcome_text"):
        lines.append(f"  outcome:  {detail['outcome_text']}")
    lines.append("  stages:")
    for s in detail["stages"]:
        due = f"due {s['due_on']} ({s['due_source']})" if s["due_on"] else "no due date"
        answered = f", responded {s['responded_at'][:16]}" if s["responded_at"] else ""
        lines.append(f"    level {s['level']} {s['role']} → {s['addressee'] or 'addressee unknown'}; "
                     f"{due}{answered}; {s['outcome'] or 'current'}")
    lines.append("  timeline:")
    for e in detail["timeline"]:
        if e["event"] == "action_done":  # bookkeeping of the clock (in --json); its mails are listed below
            continue
        mail = e.get("mail")
        head = f"    {e['at'][:16]}  {e['event']:<14} {e['actor']}"
        if mail:
            head += f"  [{mail['kind']}] {mail['subject']}"
        lines.append(head)
        if e.get("data"):
            lines.append("      " + ", ".join(f"{k}={v}" for k, v in e["data"].items() if v is not None))
        if mail and mail["kind"] == "human" and mail["new_text"]:
            text = mail["new_text"].strip()
            snippet = text[:300] + ("…" if len(text) > 300 else "")
            lines.extend("      | " + line for line in snippet.splitlines())
    mails = detail.get("mails_out") or []
    if mails:
        lines.append("  the bot's mails:")
    for m in mails:
        state = f"sent {m['sent_at'][:16]}" if m["sent_at"] else "not sent yet"
        lines.append(f"    {m['queued_at'][:16]}  {state:<22} to {', '.join(m['to']) or '-'}  {m['subject']}")
    return "\n".join(lines)


def explain_mail(uow: UnitOfWork, config: Config, raw: bytes, now: datetime, received: date | None) -> dict[str, Any]:
    """Everything the bot would read from one mail arriving ``now`` (or at noon on ``received``), and the record it
    would match (nothing is written)."""
    moment = now
    if received is not None:
        moment = datetime(received.year, received.month, received.day, 12, tzinfo=moment.tzinfo)
    reading = read(raw, moment, config)
    mail, facts = reading.mail, reading.facts
    found = match(uow, reading)
    day = london_date(moment)
    command = read_command(mail.new_text, day)
    intent = read_response(mail.new_text, day)
    return {
        "kind": reading.kind,
        "reason": reading.verdict.reason,
        "back_on": _iso(reading.verdict.back_on),
        "failed_recipients": list(reading.verdict.failed_recipients),
        "message_id": mail.message_id,
        "from": mail.from_.email if mail.from_ else None,
        "subject": mail.subject,
        "is_escalation": facts.is_escalation,
        "level": facts.level,
        "children": list(facts.children),
        "case_numbers": [c.number for c in facts.case_numbers],
        "response_date": _iso(facts.response_date),
        "warnings": list(facts.warnings),
        "command": asdict(command) if command else None,
        "extension_requested": intent.extension_requested,
        "would_match": found.escalation.reference if found.escalation else None,
        "match": found.how,
        "defects": list(mail.defects),
        "new_text": mail.new_text,
    }
