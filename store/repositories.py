"""Repositories: the few queries the service needs, over one session (owned by the unit of work).

They never commit; the unit of work does. Inserts that must happen once (events with an action key, outbox
mails) run in a SAVEPOINT so a concurrent insert of the same key is absorbed (IntegrityError) without spoiling
the outer transaction.
"""

from __future__ import annotations

import base64
import builtins
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, literal, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import (
    Cursor,
    Escalation,
    EscalationCaseNumber,
    Event,
    Message,
    OutboxMail,
    format_reference,
    normalise_case_number,
    parse_reference,
    subject_key,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# The deliverer's mark, built once: plain table UPDATEs with bound values, no ORM unit of work around them (a third of
# the time the same UPDATEs take through the ORM; what is left is the commit itself).
_OUTBOX, _MESSAGES = OutboxMail.__table__, Message.__table__
_MARK_SENT = (update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row_id"))
              .values(status="sent", sent_at=bindparam("sent"), last_error=None, next_attempt_at=None))
_MARK_COPY_SENT = (update(_MESSAGES).where(_MESSAGES.c.identity == bindparam("copy_identity"),
                                           _MESSAGES.c.sent_at.is_(None))
                   .values(sent_at=bindparam("sent")))


def normalise_message_id(value: str) -> str:
    """A Message-ID as we store it: without angle brackets and surrounding space."""
    return value.strip().removeprefix("<").removesuffix(">").strip()


def encode_attachments(attachments: Iterable[tuple[str, str, bytes]]) -> builtins.list[dict[str, str]]:
    """``(filename, content_type, data)`` tuples as the JSON the outbox stores (data base64-encoded)."""
    encoded = []
    for filename, content_type, data in attachments:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"attachment {filename!r}: data must be bytes, got {type(data).__name__}")
        encoded.append({"filename": str(filename), "content_type": str(content_type or "application/octet-stream"),
                        "data": base64.b64encode(bytes(data)).decode("ascii")})
    return encoded


class EscalationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, escalation: Escalation) -> Escalation:
        """Insert ``escalation`` and give it its reference (``ESC-0042``, from its id)."""
        self.session.add(escalation)
        self.session.flush()
        escalation.reference = format_reference(escalation.id)
        self.session.flush()
        return escalation

    def get(self, reference: str, *, for_update: bool = False) -> Escalation | None:
        """By reference, as a person may write it: ``ESC-0042``, ``esc-42``, ``[ESC-0042]``.

        ``for_update``: lock the row until the transaction ends (PostgreSQL ``SELECT … FOR UPDATE``), so that two
        replicas deciding about the same record take turns; SQLite's write transactions are serialised anyway."""
        number = parse_reference(reference)
        if number is None:
            return None
        query = select(Escalation).where(Escalation.reference == format_reference(number))
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return self.session.scalars(
            query
        ).one_or_none()

    def get_by_id(self, escalation_id: int) -> Escalation | None:
        return self.session.get(Escalation, escalation_id)

    def list(self, open_only: bool = False) -> builtins.list[Escalation]:
        """All escalations (or the open ones), oldest first."""
        query = select(Escalation).order_by(Escalation.opened_at, Escalation.id)
        if open_only:
            query = query.where(Escalation.status == "open")
        return builtins.list(self.session.scalars(query))

    def due_references(self, now: datetime) -> builtins.list[str]:
        """The references of the open records whose moment has come (``next_due_at`` at or before ``now``, or not yet
        worked out), by the (status, next_due_at) index — never the open records' objects: a tick costs what is due."""
        query = (select(Escalation.reference)
                 .where(Escalation.status == "open", Escalation.reference.is_not(None),
                        or_(Escalation.next_due_at.is_(None), Escalation.next_due_at <= now))
                 .order_by(Escalation.id))
        return [str(r) for r in self.session.scalars(query)]

    def open_after(self, after_id: int, limit: int) -> builtins.list[tuple[int, str]]:
        """``(id, reference)`` of at most ``limit`` open escalations with an id above ``after_id``, by id (the primary
        key: a read that costs ``limit``, not the open records)."""
        query = (select(Escalation.id, Escalation.reference)
                 .where(Escalation.id > after_id, Escalation.status == "open", Escalation.reference.is_not(None))
                 .order_by(Escalation.id).limit(limit))
        return [(int(i), str(r)) for i, r in self.session.execute(query)]

    def find_open_by_case_numbers(self, numbers: Iterable[str]) -> builtins.list[Escalation]:
        """Open escalations that share a case number with ``numbers``, the most recently opened first.

        Looked up in ``escalation_case_numbers`` (the normalised numbers of every record, kept in step with
        ``Escalation.case_numbers`` by :mod:`store.models`) by its number index: the cost is the records that match,
        not the open records. A semi-join (``id IN (SELECT escalation_id ... WHERE number IN ...)``) rather than a
        plain join, so a record with two of the numbers comes once, and SQLite starts from the number index instead
        of walking the open records by the status index.
        """
        wanted = {normalise_case_number(n) for n in numbers if str(n).strip()}
        if not wanted:
            return []
        numbered = EscalationCaseNumber
        query = (select(Escalation)
                 .where(Escalation.id.in_(select(numbered.escalation_id).where(numbered.number.in_(sorted(wanted)))),
                        Escalation.status == "open")
                 .order_by(Escalation.opened_at.desc(), Escalation.id.desc()))
        return builtins.list(self.session.scalars(query))

    def find_open_by_subject(self, wanted: str, normalise: Callable[[str], str]) -> Escalation | None:
        """The first opened of the open escalations whose subject ``normalise`` turns into ``wanted`` (a reply's
        normalised subject), by the (status, subject_key) index. Records from before the key (NULL) are compared by
        their subjects, as every record once was; a key's match is checked the same way (a hash, however unlikely to
        collide)."""
        key = subject_key(wanted)
        columns = (Escalation.opened_at, Escalation.id, Escalation.subject_key, Escalation.subject)
        rows = self.session.execute(union_all(  # each part by the index (an OR of the two would walk every open one)
            select(*columns).where(Escalation.status == "open", Escalation.subject_key == key),
            select(*columns).where(Escalation.status == "open", Escalation.subject_key.is_(None)),
        )).all()
        for _opened, row_id, row_key, subject in sorted(rows, key=lambda r: (r[0], r[1])):
            if (row_key is None or row_key == key) and normalise(subject or "") == wanted:
                return self.session.get(Escalation, row_id)
        return None

    def find_by_conversation_key(self, key: str) -> Escalation | None:
        """The escalation of an Outlook conversation: its own key first, then any of its messages' keys.

        An open escalation wins over a closed one; among equals, the most recently opened.
        """
        if not key:
            return None
        order = (Escalation.status != "open", Escalation.opened_at.desc(), Escalation.id.desc())
        own = self.session.scalars(
            select(Escalation).where(Escalation.conversation_key == key).order_by(*order).limit(1)
        ).first()
        if own is not None:
            return own
        return self.session.scalars(
            select(Escalation)
            .join(Message, Message.escalation_id == Escalation.id)
            .where(Message.conversation_key == key)
            .order_by(*order)
            .limit(1)
        ).first()

    def find_for_subject_access(self, *, case: str | None = None,
                                child: str | None = None) -> builtins.list[Escalation]:
        """Every record, open or closed, with the case number ``case`` or a child named ``child`` (whole name;
        case and runs of white space do not matter), oldest first. Names and case numbers live in JSON lists,
        queried differently by SQLite and PostgreSQL, so the records are filtered here (a rare, manual query)."""
        number = normalise_case_number(case) if case is not None and str(case).strip() else None
        name = " ".join(child.split()).casefold() if child is not None and child.strip() else None
        if number is None and name is None:
            return []

        def named(esc: Escalation) -> bool:
            numbers = {normalise_case_number(n) for n in esc.case_number_values}
            names = {" ".join(str(c).split()).casefold() for c in esc.children or []}
            return (number is not None and number in numbers) or (name is not None and name in names)

        return [esc for esc in self.list() if named(esc)]


class MessageRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, message: Message) -> Message:
        """Insert ``message`` (flushed, so a duplicate identity fails here, not at commit)."""
        self.session.add(message)
        self.session.flush()
        return message

    def get(self, pk: int) -> Message | None:
        return self.session.get(Message, pk)

    def get_by_identity(self, identity: str) -> Message | None:
        return self.session.scalars(select(Message).where(Message.identity == identity)).one_or_none()

    def find_escalation_for_message_ids(self, ids: Sequence[str]) -> Escalation | None:
        """The escalation of the first of ``ids`` that is one of our mails (read, sent or in the outbox).

        ``ids`` are In-Reply-To and References values, with or without ``<>``; pass In-Reply-To first.
        """
        wanted = [normalise_message_id(i) for i in ids if i and normalise_message_id(i)]
        if not wanted:
            return None
        forms = set(wanted) | {f"<{i}>" for i in wanted}
        owner: dict[str, int] = {}
        rows = self.session.execute(union_all(  # one statement for both tables, each by its message_id index
            select(literal(0), Message.message_id, Message.escalation_id).where(
                Message.message_id.in_(forms), Message.escalation_id.is_not(None)
            ),
            select(literal(1), OutboxMail.message_id, OutboxMail.escalation_id).where(
                OutboxMail.message_id.in_(forms), OutboxMail.escalation_id.is_not(None)
            ),
        )).all()
        for _table, message_id, escalation_id in sorted(rows, key=lambda r: r[0]):  # the message log's rows first
            owner.setdefault(normalise_message_id(message_id), escalation_id)
        for i in wanted:
            if i in owner:
                return self.session.get(Escalation, owner[i])
        return None

    def for_escalation(self, escalation: Escalation) -> builtins.list[Message]:
        return builtins.list(self.session.scalars(
            select(Message).where(Message.escalation_id == escalation.id)
            .order_by(Message.received_at, Message.id)
        ))

    def mark_copy_sent(self, identity: str, at: datetime) -> None:
        """The bot's own copy of an outgoing mail was sent at ``at``: one UPDATE by the unique identity, no SELECT
        (it runs in the deliverer's smallest transaction). A copy already marked keeps its time."""
        self.session.connection().execute(_MARK_COPY_SENT, {"copy_identity": identity, "sent": at})

    def attention(self) -> builtins.list[Message]:
        """Mails a person must look at (unreadable, unmatched, failed), oldest first."""
        return builtins.list(self.session.scalars(
            select(Message).where(Message.state == "attention").order_by(Message.received_at, Message.id)
        ))

    def without_escalation(self, direction: str = "in") -> builtins.list[Message]:
        """Mails of no record (unmatched, unreadable; ``direction="out"``: the bot's copies of its digests),
        oldest first."""
        return builtins.list(self.session.scalars(
            select(Message).where(Message.escalation_id.is_(None), Message.direction == direction)
            .order_by(Message.received_at, Message.id)
        ))


class EventRepository:
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def append(
        self,
        kind: str,
        escalation: Escalation | None = None,
        message: Message | None = None,
        actor: str = "bot",
        data: dict[str, Any] | None = None,
        key: str | None = None,
        *,
        at: datetime | None = None,
        known_new: bool = False,
    ) -> Event | None:
        """Add an event. With ``key``, only once: returns None (and writes nothing) if the key is recorded.

        ``known_new``: the caller knows the key is not recorded (it holds the record's lock and has read its trail):
        no look-up and no SAVEPOINT, the event written at the next flush — where a key recorded after all fails
        (IntegrityError), for the caller to do its work again without ``known_new``."""
        if key is not None and not known_new and self.has_key(key):
            return None
        event = Event(kind=kind, escalation=escalation, message=message, actor=actor, data=data, key=key,
                      at=at or self.clock())
        if key is None or known_new:
            self.session.add(event)
            return event
        try:
            with self.session.begin_nested():
                self.session.add(event)
        except IntegrityError:  # another transaction recorded the same key first
            log.info("event key already recorded key=%s", key)
            return None
        return event

    def has_key(self, key: str) -> bool:
        return self.session.scalar(select(Event.id).where(Event.key == key)) is not None

    def for_escalation(self, escalation: Escalation) -> builtins.list[Event]:
        """The escalation's audit trail in order."""
        return builtins.list(self.session.scalars(
            select(Event).where(Event.escalation_id == escalation.id).order_by(Event.at, Event.id)
        ))

    def touching(self, escalation: Escalation) -> builtins.list[Event]:
        """The escalation's audit trail and the events about its mails that were written before the mail was
        linked to it (e.g. ``attention``), in order."""
        its_mails = select(Message.id).where(Message.escalation_id == escalation.id)
        return builtins.list(self.session.scalars(
            select(Event).where(or_(Event.escalation_id == escalation.id, Event.message_pk.in_(its_mails)))
            .order_by(Event.at, Event.id)
        ))


class CursorRepository:
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def get(self, source_key: str) -> str | None:
        row = self.session.get(Cursor, source_key)
        return row.value if row is not None else None

    def set(self, source_key: str, value: str | None) -> None:
        """One UPDATE by the key (every mail read moves its source's cursor); an INSERT only the first time."""
        now = self.clock()
        done = self.session.execute(update(Cursor).where(Cursor.source_key == source_key)
                                    .values(value=value, updated_at=now))
        if getattr(done, "rowcount", 0) == 0:
            self.session.add(Cursor(source_key=source_key, value=value, updated_at=now))


class OutboxRepository:
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def add(
        self,
        *,
        key: str,
        message_id: str,
        kind: str,
        from_email: str,
        to_emails: Iterable[str],
        subject: str,
        body_text: str,
        cc_emails: Iterable[str] = (),
        body_html: str | None = None,
        headers: dict[str, str] | None = None,
        escalation: Escalation | None = None,
        next_attempt_at: datetime | None = None,
        created_at: datetime | None = None,
        attachments: Iterable[tuple[str, str, bytes]] = (),
        known_new: bool = False,
    ) -> OutboxMail:
        """Queue a mail. Idempotent by ``key``: if that key is queued already, the existing row is returned.

        ``attachments`` are ``(filename, content_type, data)``; the bytes are stored base64-encoded in JSON.
        ``known_new``: the caller knows the key is new (it holds the record's lock and has read its keys): no
        look-up and no SAVEPOINT, the row written at the next flush — where a key taken after all fails
        (IntegrityError), for the caller to do its work again without ``known_new``.
        """
        existing = None if known_new else self.get(key)
        if existing is not None:
            return existing
        mail = OutboxMail(
            key=key, message_id=normalise_message_id(message_id), kind=kind, from_email=from_email,
            to_emails=builtins.list(to_emails), cc_emails=builtins.list(cc_emails), subject=subject,
            body_text=body_text, body_html=body_html, headers=dict(headers or {}), escalation=escalation,
            status="pending", attempts=0, next_attempt_at=next_attempt_at,
            created_at=created_at or self.clock(), attachments=encode_attachments(attachments),
        )
        if known_new:
            self.session.add(mail)
            return mail
        try:
            with self.session.begin_nested():
                self.session.add(mail)
        except IntegrityError:  # queued concurrently by another transaction
            found = self.get(key)
            if found is None:
                raise
            return found
        return mail

    def get(self, key: str) -> OutboxMail | None:
        return self.session.scalars(select(OutboxMail).where(OutboxMail.key == key)).one_or_none()

    def pending(self, now: datetime, limit: int | None = None) -> builtins.list[OutboxMail]:
        """Mails due to be sent at ``now``, oldest first."""
        query = (
            select(OutboxMail)
            .where(OutboxMail.status == "pending")
            .where(or_(OutboxMail.next_attempt_at.is_(None), OutboxMail.next_attempt_at <= now))
            .order_by(OutboxMail.created_at, OutboxMail.id)
        )
        if limit is not None:
            query = query.limit(limit)
        return builtins.list(self.session.scalars(query))

    def for_escalation(self, escalation: Escalation) -> builtins.list[OutboxMail]:
        return builtins.list(self.session.scalars(
            select(OutboxMail).where(OutboxMail.escalation_id == escalation.id)
            .order_by(OutboxMail.created_at, OutboxMail.id)
        ))

    def without_escalation(self) -> builtins.list[OutboxMail]:
        """The bot's mails of no record (the QA managers' digests), oldest first."""
        return builtins.list(self.session.scalars(
            select(OutboxMail).where(OutboxMail.escalation_id.is_(None))
            .order_by(OutboxMail.created_at, OutboxMail.id)
        ))

    def by_status(self, *statuses: str, limit: int = 200) -> builtins.list[OutboxMail]:
        """Mails in any of ``statuses`` (all when none given), newest first."""
        query = select(OutboxMail).order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc()).limit(limit)
        if statuses:
            query = query.where(OutboxMail.status.in_(statuses))
        return builtins.list(self.session.scalars(query))

    def claim(self, mail: OutboxMail, now: datetime, until: datetime) -> bool:
        """Take ``mail`` for one delivery attempt: count the attempt and hide it from :meth:`pending` until
        ``until``. A compare-and-set on (status, attempts, next_attempt_at), so of two senders racing for the
        same row exactly one gets True (the other's UPDATE matches no row). Count the attempt here and call
        :meth:`mark_sent`/:meth:`mark_failed` with ``count_attempt=False`` afterwards.
        """
        seen = mail.attempts
        result = self.session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == mail.id, OutboxMail.status == "pending", OutboxMail.attempts == seen)
            .where(or_(OutboxMail.next_attempt_at.is_(None), OutboxMail.next_attempt_at <= now))
            .values(attempts=seen + 1, next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return False
        self.session.refresh(mail)
        return True

    def mark_sent(self, mail: OutboxMail, at: datetime | None = None, *, count_attempt: bool = True) -> None:
        mail.status = "sent"
        mail.sent_at = at or self.clock()
        if count_attempt:
            mail.attempts += 1
        mail.last_error = None
        mail.next_attempt_at = None

    def mark_sent_at_once(self, mail_id: int, at: datetime) -> bool:
        """:meth:`mark_sent` for a claimed row as one UPDATE by primary key, with no SELECT before it: what the
        deliverer commits the moment the server has accepted the mail (the smaller this transaction, the smaller
        the window in which a crash makes a duplicate). The attempt was counted by :meth:`claim`. False when the
        row is gone (purged meanwhile)."""
        result = self.session.connection().execute(_MARK_SENT, {"row_id": mail_id, "sent": at})
        return result.rowcount == 1

    def mark_in_flight(self, mail: OutboxMail, note: str) -> None:
        """Say in ``last_error`` that an attempt is under way and its outcome not yet recorded (written with the
        claim). If the deliverer stops before recording the outcome, the note stays: the mail may have reached
        the server (see ``mailbot.mail_out.delivery``)."""
        mail.last_error = note

    def mark_failed(self, mail: OutboxMail, error: str, *, retry_at: datetime | None = None,
                    count_attempt: bool = True) -> None:
        """Record a failed attempt; with ``retry_at`` the mail stays pending until then, else it is given up.
        """
        if count_attempt:
            mail.attempts += 1
        mail.last_error = error
        if retry_at is None:
            mail.status = "failed"
            mail.next_attempt_at = None
        else:
            mail.next_attempt_at = retry_at

    def note_waiting(self, ids: Sequence[int], reason: str) -> None:
        """Say why pending rows wait (the mail server cannot be reached, say), without counting an attempt."""
        if ids:
            self.session.execute(update(OutboxMail).where(OutboxMail.id.in_(list(ids)),
                                                          OutboxMail.status == "pending")
                                 .values(last_error=reason[:500]))

    def mark_refused(self, mail: OutboxMail, reason: str) -> None:
        """Never to be sent (e.g. a recipient outside the configured domains)."""
        mail.status = "refused"
        mail.last_error = reason
        mail.next_attempt_at = None


__all__ = [
    "CursorRepository",
    "EscalationRepository",
    "EventRepository",
    "MessageRepository",
    "OutboxRepository",
    "encode_attachments",
    "normalise_message_id",
]
