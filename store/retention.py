"""Retention: forget closed escalations and unmatched mail once they are old enough, leaving no name of theirs behind.

Rows. Closed escalations closed before one cutoff go with everything that hangs off them (stages, messages with
their raw bytes, events, outbox rows); mails that never matched an escalation and were received before the
other cutoff go too, with the events that point at them. Deletes are Core ``DELETE`` statements on the tables (the
ORM's append-only guard on events is lifted for exactly this, see :func:`store.guards.allow_purge`).

The bot's mails of no escalation — the QA managers' digests, whose text and CSV name the children of every record
they list — are not anybody's record, so the purge treats them by one rule that guarantees no purged child's name
survives in them:

1. a finished one (not ``pending``) queued before *either* cutoff is deleted (it is older than the retention),
   with the bot's copy of it in the message log;
2. every other one (pending or not) that *names* something purged is **redacted**: its text becomes
   ``redacted: the records it listed were purged on <date>``, its HTML and attachments go, and so does its subject
   if that names something too; key, status, recipients and dates stay (so a period's digest is still queued only
   once). The bot's own copy of it in the message log (the same Message-ID) is redacted the same way.

"Names something purged" means: the subject, the text, the HTML (entities decoded) or an attachment (as UTF-8) of
the mail holds a purged record's reference (``ESC-0042``) or case number (as a whole word), one of its children's
names, or the subject of a purged mail that needed attention (the digest lists those by subject) — compared
without regard to case or runs of white space. The digest's CSV is written by code and carries each record's
reference, and the names themselves are looked for too, so a council's own templates cannot hide one. A name that
only *another* kept record holds (the same child escalated again) may redact a digest that did not need it: the
rule errs on the side of forgetting.

Mail folders. The store keeps neither the mail server's copies nor the local Maildir files, so the report also
carries (not compared, never printed or logged) the identities of the deleted messages and the Message-IDs of the
outbox rows deleted or redacted; :meth:`mailbot.app.App.purge` removes the local copies with them (the Maildir
inbox's ``.processed``/``.attention`` and the sent-mail Maildir) before it commits. Copies on a mail server (read
over IMAP, Graph or EWS; sent over SMTP, Graph or EWS) are the council's, under its mail system's own retention.
The report's counts are what is printed and logged; they hold no names.
"""

from __future__ import annotations

import base64
import binascii
import html
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Delete, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from .guards import allow_purge
from .models import Escalation, EscalationCaseNumber, Event, Message, OutboxMail, Stage
from .uow import UnitOfWork

log = logging.getLogger(__name__)

REDACTED = "redacted: the records it listed were purged on {day}"


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed, in counts. ``total`` is the rows deleted; ``redacted`` the kept mails blanked."""

    escalations: int = 0
    stages: int = 0
    messages: int = 0  # the records' mails, and the bot's copies of the digests deleted
    events: int = 0
    outbox: int = 0
    unmatched_messages: int = 0
    redacted: int = 0  # kept outbox rows of no escalation (digests) that named something purged
    inbox_files: int = 0  # copies removed from the local Maildir inbox's .processed/.attention (by the app)
    sent_files: int = 0  # copies removed from the local sent-mail Maildir (by the app)
    #: where copies are out of the bot's reach: the council's mail system's own retention applies (by the app)
    elsewhere: tuple[str, ...] = field(default=(), compare=False)
    #: identities (Message-ID without <>, or ``fingerprint:<hex>``) of the messages deleted
    identities: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    #: Message-IDs (without <>) of the bot's mails deleted or redacted: their sent copies go too
    sent_message_ids: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    @property
    def total(self) -> int:
        return (self.escalations + self.stages + self.messages + self.events + self.outbox
                + self.unmatched_messages)

    @property
    def files(self) -> int:
        return self.inbox_files + self.sent_files


class Mentions:
    """What identifies purged records in a text: ``words`` (references, case numbers) found only as whole words,
    ``phrases`` (children's names, subjects) anywhere; case and runs of white space do not matter."""

    def __init__(self, *, words: Iterable[str] = (), phrases: Iterable[str] = ()) -> None:
        found = sorted({_squash(w) for w in words if _squash(w)}, key=len, reverse=True)
        self._words = (re.compile(r"(?<![0-9a-z])(?:" + "|".join(map(re.escape, found)) + r")(?![0-9a-z])")
                       if found else None)
        self._phrases = tuple(sorted({_squash(p) for p in phrases if _squash(p)}))

    def __bool__(self) -> bool:
        return self._words is not None or bool(self._phrases)

    def found_in(self, *texts: str | None) -> bool:
        for text in texts:
            if not text:
                continue
            squashed = _squash(text)
            if self._words is not None and self._words.search(squashed):
                return True
            if any(p in squashed for p in self._phrases):
                return True
        return False

    @classmethod
    def of_records(cls, records: Iterable[Escalation], *, phrases: Iterable[str] = ()) -> Mentions:
        """The references and case numbers (whole words) and children's names (anywhere) of ``records``, and any
        further ``phrases``."""
        words: list[str] = []
        names: list[str] = list(phrases)
        for esc in records:
            words.extend([esc.reference] if esc.reference else [])
            words.extend(esc.case_number_values)
            names.extend(esc.children or [])
        return cls(words=words, phrases=names)


def _squash(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def outbox_texts(subject: str | None, body_text: str | None, body_html: str | None,
                 attachments: list[dict[str, Any]] | None) -> list[str]:
    """Everything a person could read in an outbox row: subject, text, HTML (entities decoded), each
    attachment's file name and content (as UTF-8)."""
    texts = [subject or "", body_text or "", html.unescape(body_html or "")]
    for item in attachments or []:
        texts.append(str(item.get("filename") or ""))
        try:
            data = base64.b64decode(item.get("data") or "")
        except (binascii.Error, ValueError):
            data = str(item.get("data") or "").encode()
        texts.append(data.decode("utf-8-sig", errors="replace"))
    return texts


def purge(uow: UnitOfWork, closed_before: datetime, unmatched_before: datetime, *,
          now: datetime | None = None) -> PurgeReport:
    """Delete what is past retention and redact the kept mails that name it, in the unit of work's transaction
    (the caller's commit makes it final). ``now`` (default: the unit of work's clock) dates the redaction note.
    """
    session = uow.session
    session.flush()
    day = (now or uow.clock()).date()

    def run(statement: Delete) -> int:
        return int(getattr(session.execute(statement), "rowcount", 0) or 0)

    closed = select(Escalation.id).where(Escalation.status == "closed", Escalation.closed_at < closed_before)
    their_messages = select(Message.id).where(Message.escalation_id.in_(closed))
    unmatched = select(Message.id).where(Message.escalation_id.is_(None),
                                         Message.received_at < unmatched_before)
    box = OutboxMail.__table__.c
    done_before = max(closed_before, unmatched_before)  # older than either retention
    gone_box = or_(box.escalation_id.in_(closed),
                   and_(box.escalation_id.is_(None), box.status != "pending", box.created_at < done_before))

    # what is about to go, read before it goes: what names it, and the Message-IDs of its copies in mail folders
    records = list(session.scalars(select(Escalation).where(Escalation.id.in_(closed))))
    gone_messages = session.execute(select(Message.identity, Message.state, Message.subject).where(
        or_(Message.escalation_id.in_(closed), Message.id.in_(unmatched),
            and_(Message.escalation_id.is_(None), Message.direction == "out",
                 Message.identity.in_(select(box.message_id).where(gone_box)))))).all()
    mentions = Mentions.of_records(records, phrases=[s for _i, state, s in gone_messages
                                                     if state == "attention" and s])
    identities = {identity for identity, _s, _t in gone_messages}
    sent_ids = set(session.scalars(select(box.message_id).where(gone_box)))

    with allow_purge(session):
        events = run(delete(Event.__table__).where(
            (Event.__table__.c.escalation_id.in_(closed)) | (Event.__table__.c.message_pk.in_(their_messages))
        ))
        events += run(delete(Event.__table__).where(
            Event.__table__.c.escalation_id.is_(None), Event.__table__.c.message_pk.in_(unmatched)
        ))
        stages = run(delete(Stage.__table__).where(Stage.__table__.c.escalation_id.in_(closed)))
        # the bot's copies in the message log of the digests that go (the records' own copies go with them)
        log_table = Message.__table__.c
        messages = run(delete(Message.__table__).where(
            log_table.escalation_id.is_(None), log_table.direction == "out",
            log_table.identity.in_(select(box.message_id).where(gone_box))))
        # the escalations' own mails; digests and other mails of no escalation once done with and past retention
        outbox = run(delete(OutboxMail.__table__).where(gone_box))
        messages += run(delete(Message.__table__).where(Message.__table__.c.escalation_id.in_(closed)))
        unmatched_messages = run(delete(Message.__table__).where(
            Message.__table__.c.escalation_id.is_(None), Message.__table__.c.received_at < unmatched_before
        ))
        # their case-number index rows: the foreign key cascades them too, where the database enforces it
        session.execute(delete(EscalationCaseNumber.__table__).where(
            EscalationCaseNumber.__table__.c.escalation_id.in_(closed)))
        escalations = run(delete(Escalation.__table__).where(
            Escalation.__table__.c.status == "closed", Escalation.__table__.c.closed_at < closed_before
        ))
    redacted = _redact(session, mentions, day, sent_ids) if mentions else 0
    session.expire_all()  # objects loaded before the purge may describe rows that are gone
    report = PurgeReport(escalations=escalations, stages=stages, messages=messages, events=events,
                         outbox=outbox, unmatched_messages=unmatched_messages, redacted=redacted,
                         identities=frozenset(identities), sent_message_ids=frozenset(sent_ids))
    log.info("retention purge escalations=%d stages=%d messages=%d events=%d outbox=%d unmatched_messages=%d "
             "redacted=%d", report.escalations, report.stages, report.messages, report.events, report.outbox,
             report.unmatched_messages, report.redacted)
    return report


def _redact(session: Session, mentions: Mentions, day: date, sent_ids: set[str]) -> int:
    """Blank the kept mails of no escalation that name something purged (rule 2 of the module docstring); their
    Message-IDs join ``sent_ids``. Returns how many outbox rows were redacted."""
    box, log_table = OutboxMail.__table__, Message.__table__
    note = REDACTED.format(day=day.isoformat())
    rows = session.execute(select(box.c.id, box.c.message_id, box.c.subject, box.c.body_text, box.c.body_html,
                                  box.c.attachments).where(box.c.escalation_id.is_(None))).all()
    count = 0
    for row_id, message_id, subject, body_text, body_html, attachments in rows:
        if not mentions.found_in(*outbox_texts(subject, body_text, body_html, attachments)):
            continue
        new_subject = note if mentions.found_in(subject) else subject
        session.execute(update(box).where(box.c.id == row_id).values(
            subject=new_subject, body_text=note + "\n", body_html=None, attachments=[]))
        session.execute(update(log_table).where(log_table.c.identity == message_id,
                                                log_table.c.escalation_id.is_(None)).values(
            subject=new_subject, new_text=note, raw=None))
        sent_ids.add(message_id)
        count += 1
    return count


__all__ = ["REDACTED", "Mentions", "PurgeReport", "outbox_texts", "purge"]
