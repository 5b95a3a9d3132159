"""What the CLI shows people: summaries, timelines and explanations, as plain dicts (JSON-ready)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from mailbot.config import Config
from mailbot.mail_in.matching import match
from mailbot.mail_in.reading import read
from parsers.commands import read_command, read_response
from rules.calendar import LONDON, london_date
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
    detail["facts"] = dict(esc.facts or {})
    detail["formal_start"] = esc.process_started_on.isoformat() if esc.process_started_on else None
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
    detail["mails_out"] = bot_mails(uow, esc)
    return detail


def bot_mails(uow: UnitOfWork, esc: Escalation) -> list[dict[str, Any]]:
    """The bot's own mails about the record, oldest first: every outbox row (sent, pending, failed, or refused and
    never sent), and any copy in the message log without one. ``at`` is when it was queued, in the same transaction
    as the event that made it."""
    mails: list[dict[str, Any]] = []
    keys: set[str] = set()
    for row in uow.outbox.for_escalation(esc):
        keys.add(row.key)
        mails.append({
            "at": _iso(row.created_at), "kind": row.kind, "status": row.status, "to": list(row.to_emails or []),
            "cc": list(row.cc_emails or []), "subject": row.subject, "sent_at": _iso(row.sent_at),
            "attempts": row.attempts, "error": row.last_error, "key": row.key, "message_id": row.message_id,
        })
    for msg in esc.messages:
        if msg.direction == "out" and msg.source_ref not in keys:
            mails.append({
                "at": _iso(msg.received_at), "kind": msg.kind, "status": "sent" if msg.sent_at else "pending",
                "to": list(msg.to_emails or []), "cc": list(msg.cc_emails or []), "subject": msg.subject,
                "sent_at": _iso(msg.sent_at), "attempts": None, "error": None, "key": msg.source_ref,
                "message_id": msg.message_id,
            })
    return sorted(mails, key=lambda m: datetime.fromisoformat(m["at"]))


def when(value: str | None) -> str:
    """An ISO moment as a person in England reads it: "Wed 2 Dec 2026 10:01 GMT", "Thu 2 Jul 2026 10:01 BST"."""
    if not value:
        return "-"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:  # the store keeps UTC
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M} {local.tzname()}"


def day(value: str | None) -> str:
    """An ISO date as a person reads it: "Tue 1 Dec 2026"."""
    if not value:
        return "-"
    parsed = date.fromisoformat(value)
    return f"{parsed:%a} {parsed.day} {parsed:%b %Y}"


def render_detail(detail: dict[str, Any]) -> str:
    """What ``mailbot show`` prints: the record, its stages and one timeline — the mails in, the events and the
    bot's own mails in time order — every moment in Europe/London with its zone (GMT or BST)."""
    lines = [
        f"{detail['reference']}  {detail['status']}" + (f" ({detail['outcome']})" if detail["outcome"] else ""),
        f"  subject:  {detail['subject']}",
        f"  children: {', '.join(detail['children']) or '-'}    case: {', '.join(detail['case_numbers']) or '-'}",
        f"  IRO:      {detail['iro'] or '-'}",
    ]
    if detail.get("opened_at"):
        closed = f"    closed: {when(detail['closed_at'])}" if detail.get("closed_at") else ""
        lines.append(f"  opened:   {when(detail['opened_at'])}{closed}")
    if detail.get("outcome_text"):
        lines.append(f"  outcome:  {detail['outcome_text']}")
    facts = detail.get("facts") or {}
    shown = {"proceedings": lambda v: "in proceedings" if v else "not in proceedings",
             "case_type": lambda v: f"case type {v}", "guardian": lambda v: f"Guardian {v}",
             "budget_days": lambda v: f"the whole process extended to {v} working days"}
    said = [shown[k](v) for k, v in facts.items() if k in shown]
    if said or ("formal_start" in detail and not detail["formal_start"]):
        lines.append("  formal:   " + (f"started {detail['formal_start']}" if detail.get("formal_start")
                                       else "not started (informal step)") + (f"; {', '.join(said)}" if said else ""))
    lines.append("  stages:")
    for s in detail["stages"]:
        due = f"due {day(s['due_on'])} ({s['due_source']})" if s["due_on"] else "no due date"
        answered = f", responded {when(s['responded_at'])}" if s["responded_at"] else ""
        lines.append(f"    level {s['level']} {s['role']} → {s['addressee'] or 'addressee unknown'}; "
                     f"{due}{answered}; {s['outcome'] or 'current'}")
    lines.append("  timeline:")
    entries: list[tuple[datetime, int, list[str]]] = []
    for e in detail["timeline"]:
        if e["event"] == "action_done":  # bookkeeping of the clock (in --json); the mail it sent is shown
            continue
        entries.append((_moment(e["at"]), 0, _event_lines(e)))
    for m in detail.get("mails_out") or []:
        entries.append((_moment(m["at"]), 1, _bot_mail_lines(m)))
    entries.sort(key=lambda entry: entry[:2])  # at the same moment, what happened before the mail it made
    for _, _, block in entries:
        lines.extend(block)
    return "\n".join(lines)


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _event_lines(e: dict[str, Any]) -> list[str]:
    mail = e.get("mail")
    head = f"    {when(e['at'])}  {e['event']:<14} {e['actor']}"
    if mail:
        head += f"  [{mail['kind']}] {mail['subject']}"
    block = [head]
    if e.get("data"):
        block.append("      " + ", ".join(f"{k}={v}" for k, v in e["data"].items() if v is not None))
    if mail and mail["kind"] == "human" and mail["new_text"]:
        text = mail["new_text"].strip()
        snippet = text[:300] + ("…" if len(text) > 300 else "")
        block.extend("      | " + line for line in snippet.splitlines())
    return block


def _bot_mail_lines(m: dict[str, Any]) -> list[str]:
    status = m["status"]
    if status == "sent":
        state = f"sent {when(m['sent_at'])}" if m.get("sent_at") else "sent"
    elif status == "pending":
        state = "pending" + (f" ({m['attempts']} tries so far: {m['error']})" if m.get("error") else "")
    else:  # refused (never sent) or failed (given up)
        state = status + (f": {m['error']}" if m.get("error") else "")
    copied = f"; cc {', '.join(m['cc'])}" if m["cc"] else ""
    return [f"    {when(m['at'])}  {'bot mail':<14} bot  [{m['kind']}] {m['subject']}",
            f"      to {', '.join(m['to']) or '-'}{copied} — {state}"]


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
