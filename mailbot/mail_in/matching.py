"""Which escalation a mail belongs to. Read-only: the store is asked, nothing is written.

The order (docs/architecture.md, "Mail in"): In-Reply-To/References against every Message-ID the bot has seen (a
bounce: the Message-IDs of the mail it returns) → the bot's ``[ESC-0042]`` tag → Outlook's conversation (Thread-Index)
→ the case number (a new "Level N" mail for an open case moves that record up) → the subject of a reply → a new
escalation when the subject is one → none.

A reply or forward (RE:/FW:) whose subject is an escalation and that matches no record is a new escalation too: the
IRO who forgot to copy the bot forwards or re-sends her mail. Whether its sender may open one is the ingest's ruling:
only an IRO the directory lists opens a record from a reply or forward (a manager answering an escalation the bot
never saw writes the same subject), so from anyone else it is refused and kept for attention.
"""

from __future__ import annotations

from dataclasses import dataclass

from parsers.subject import normalise_subject
from store.models import Escalation
from store.uow import UnitOfWork

from .reading import Reading


@dataclass(frozen=True)
class Match:
    """Which escalation a mail belongs to, and how that was decided (for ``explain`` and the audit trail)."""

    escalation: Escalation | None
    how: str  # "references" | "tag" | "conversation" | "subject" | "case" | "new" | "escalates" | "none"


def match(uow: UnitOfWork, reading: Reading) -> Match:
    """Find the escalation a mail belongs to, in the order of the module docstring."""
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
        if candidates:
            for esc in candidates:
                if normalise_subject(esc.subject) == wanted:
                    return Match(esc, "subject")
        else:  # by the subject index, not a read of every open record
            found = uow.escalations.find_open_by_subject(wanted, normalise_subject)
            if found is not None:
                return Match(found, "subject")
        if candidates:
            return Match(candidates[0], "case")
    if facts.is_escalation:
        return Match(None, "new")
    return Match(None, "none")


__all__ = ["Match", "match"]
