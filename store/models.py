"""The tables: escalations and their stages, messages, the append-only event trail, the outbox and cursors.

SQLAlchemy 2.x declarative models with portable types (SQLite and PostgreSQL). Every timestamp is an aware UTC
``datetime`` (see :class:`store.columns.UTCDateTime`); due dates and start days are plain ``date`` values (a
due date means the end of that working day in England).
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    delete,
    event,
    insert,
    inspect,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from .columns import UTCDateTime, json_dict, json_list
from .errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.orm import Mapper, ORMExecuteState

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ESCALATION_STATUSES = ("open", "closed")
ESCALATION_OUTCOMES = ("resolved", "withdrawn", "cafcass", "closed")
STAGE_OUTCOMES = ("responded", "escalated", "resolved", "extended", "withdrawn", "cafcass")
DUE_SOURCES = ("subject", "policy", "extension", "iro")
MESSAGE_DIRECTIONS = ("in", "out")
MESSAGE_KINDS = ("human", "auto_reply", "bounce", "unreadable", "bot")
#: ``Escalation.next_due_at`` for a record the clock has nothing to do for (until a mail changes it).
NEVER_DUE = datetime(9999, 12, 31, tzinfo=UTC)
MESSAGE_STATES = ("recorded", "matched", "attention")
OUTBOX_STATUSES = ("pending", "sent", "failed", "refused")

_REFERENCE = re.compile(r"^\s*\[?\s*(?:ESC\s*[-_ ]?\s*)?0*(\d{1,12})\s*\]?\s*$", re.IGNORECASE)


def format_reference(number: int) -> str:
    """The human reference of escalation ``number``: ``ESC-0042``."""
    return f"ESC-{number:04d}"


def parse_reference(text: str) -> int | None:
    """The number in a reference written by a person (``esc-42``, ``ESC-0042``, ``[ESC-0042]``, ``42``)."""
    found = _REFERENCE.match(text or "")
    if found is None:
        return None
    number = int(found.group(1))
    return number or None


def normalise_case_number(value: object) -> str:
    """A case number as it is compared and indexed: without the white space around it, in capitals."""
    return str(value).strip().upper()


def case_number_keys(case_numbers: Iterable[Any] | None) -> set[str]:
    """The normalised numbers of a ``case_numbers`` list: what ``escalation_case_numbers`` holds for it (entries
    without a number, or with a blank one, have none)."""
    keys = {normalise_case_number(c.get("number")) for c in case_numbers or []
            if isinstance(c, dict) and c.get("number")}
    keys.discard("")
    return keys


def subject_key(normalised_subject: str) -> str:
    """The indexed key of a normalised subject (whatever the shell matches replies by): its SHA-256, so that the
    index holds short values of one size whatever the subject (no subject text is in the index either)."""
    return hashlib.sha256(normalised_subject.encode("utf-8", "surrogatepass")).hexdigest()


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Escalation(Base):
    """One escalation (challenge, dispute) about one child or a sibling group, owned by one IRO."""

    __tablename__ = "escalations"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(ESCALATION_STATUSES)})", name="status"),
        Index(None, "status"),
        Index(None, "conversation_key"),
        Index(None, "status", "next_due_at"),
        Index(None, "status", "subject_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)  # from the id, right after insert
    status: Mapped[str] = mapped_column(String(16), default="open")
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_text: Mapped[str | None] = mapped_column(Text)
    policy_key: Mapped[str] = mapped_column(String(64))
    iro_email: Mapped[str | None] = mapped_column(String)
    iro_name: Mapped[str | None] = mapped_column(String)
    children: Mapped[list[str]] = mapped_column(json_list(), default=list)
    case_numbers: Mapped[list[dict[str, Any]]] = mapped_column(json_list(), default=list)
    themes: Mapped[list[str]] = mapped_column(json_list(), default=list)
    current_level: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str | None] = mapped_column(Text)
    conversation_key: Mapped[str | None] = mapped_column(String)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    process_started_on: Mapped[date | None] = mapped_column(Date)  # the formal process's first day (None: informal)
    # what the procedure's rules depend on: proceedings, case_type, guardian, budget_days (revision 0003)
    facts: Mapped[dict[str, Any]] = mapped_column(json_dict(), default=dict)
    # when the clock next has something to do for it (rules.decide.next_moment); None: work it out at the next tick
    # (a new record, or one a mail just changed); NEVER_DUE: nothing within the horizon (revision 0004)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the subject as replies are matched by it (the shell's normalised subject), hashed: :func:`subject_key`;
    # None for records from before revision 0006
    subject_key: Mapped[str | None] = mapped_column(String(64))

    stages: Mapped[list[Stage]] = relationship(
        back_populates="escalation",
        cascade="all, delete-orphan",
        order_by="(Stage.started_at, Stage.id)",
        lazy="selectin",
    )
    messages: Mapped[list[Message]] = relationship(
        back_populates="escalation", order_by="(Message.received_at, Message.id)"
    )

    @property
    def current_stage(self) -> Stage | None:
        """The latest stage (the one the escalation is at now), or None before the first stage is added."""
        if not self.stages:
            return None
        return max(self.stages, key=lambda s: (s.started_at, s.id if s.id is not None else sys.maxsize))

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def case_number_values(self) -> list[str]:
        """Just the numbers of ``case_numbers``."""
        return [str(c.get("number")) for c in self.case_numbers or [] if c.get("number")]

    def __repr__(self) -> str:  # no names of children here: reprs end up in logs
        return f"<Escalation {self.reference or self.id} {self.status} L{self.current_level}>"


class EscalationCaseNumber(Base):
    """One normalised case number of an escalation (:func:`case_number_keys`): the index a mail's case numbers are
    looked up in (revision 0005). Written only by the mapper events at the end of this module, from
    ``Escalation.case_numbers``, whenever the ORM writes an escalation; never set these rows yourself."""

    __tablename__ = "escalation_case_numbers"
    __table_args__ = (Index(None, "number"),)

    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[str] = mapped_column(String, primary_key=True)

    def __repr__(self) -> str:
        return f"<EscalationCaseNumber {self.escalation_id}>"  # not the number: reprs end up in logs


class Stage(Base):
    """One level of an escalation: who must respond, by when, and how it ended."""

    __tablename__ = "stages"
    __table_args__ = (Index(None, "escalation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"))
    level: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String)
    addressee_email: Mapped[str | None] = mapped_column(String)
    addressee_name: Mapped[str | None] = mapped_column(String)
    copied: Mapped[list[str]] = mapped_column(json_list(), default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    due_source: Mapped[str | None] = mapped_column(String(16))
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    response_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    outcome: Mapped[str | None] = mapped_column(String(16))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    escalation: Mapped[Escalation] = relationship(back_populates="stages")
    response_message: Mapped[Message | None] = relationship(foreign_keys=[response_message_id])

    def __repr__(self) -> str:
        return f"<Stage {self.id} L{self.level} due {self.due_on} {self.outcome or 'current'}>"


class Message(Base):
    """A mail we read (``in``) or sent (``out``), recorded once by its identity."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(f"direction IN ({_in(MESSAGE_DIRECTIONS)})", name="direction"),
        CheckConstraint(f"state IN ({_in(MESSAGE_STATES)})", name="state"),
        Index(None, "message_id"),
        Index(None, "escalation_id"),
        Index(None, "conversation_key"),
        Index(None, "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity: Mapped[str] = mapped_column(String, unique=True)  # Message-ID without <> or "fingerprint:<hex>"
    message_id: Mapped[str | None] = mapped_column(String)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"))
    direction: Mapped[str] = mapped_column(String(8), default="in")
    kind: Mapped[str] = mapped_column(String(16), default="human")
    from_email: Mapped[str | None] = mapped_column(String)
    from_name: Mapped[str | None] = mapped_column(String)
    to_emails: Mapped[list[str]] = mapped_column(json_list(), default=list)
    cc_emails: Mapped[list[str]] = mapped_column(json_list(), default=list)
    subject: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    in_reply_to: Mapped[list[str]] = mapped_column(json_list(), default=list)
    references: Mapped[list[str]] = mapped_column(json_list(), default=list)
    thread_index: Mapped[str | None] = mapped_column(String)
    conversation_key: Mapped[str | None] = mapped_column(String)
    new_text: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="recorded")
    attention_reason: Mapped[str | None] = mapped_column(Text)
    source_key: Mapped[str | None] = mapped_column(String)
    source_ref: Mapped[str | None] = mapped_column(String)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)

    escalation: Mapped[Escalation | None] = relationship(back_populates="messages")

    def __repr__(self) -> str:
        return f"<Message {self.id} {self.direction} {self.kind} {self.state}>"


class Event(Base):
    """One line of the audit trail. Written once, never changed (see :mod:`store.guards`)."""

    __tablename__ = "events"
    __table_args__ = (Index(None, "escalation_id"), Index(None, "message_pk"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"))
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String, default="bot")
    data: Mapped[dict[str, Any] | None] = mapped_column(json_dict())
    key: Mapped[str | None] = mapped_column(String, unique=True)  # action key: an automatic action, once

    escalation: Mapped[Escalation | None] = relationship()
    message: Mapped[Message | None] = relationship()

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.kind} by {self.actor}>"


class OutboxMail(Base):
    """A mail to send, written in the same transaction as the change that causes it (transactional outbox)."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(OUTBOX_STATUSES)})", name="status"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "message_id"),
        Index(None, "escalation_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"))
    key: Mapped[str] = mapped_column(String, unique=True)  # deterministic, e.g. "ESC-0042.l2.chase1"
    message_id: Mapped[str] = mapped_column(String)  # the Message-ID it is sent with (deterministic)
    kind: Mapped[str] = mapped_column(String(64))
    from_email: Mapped[str] = mapped_column(String)
    to_emails: Mapped[list[str]] = mapped_column(json_list(), default=list)
    cc_emails: Mapped[list[str]] = mapped_column(json_list(), default=list)
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(json_dict(), default=dict)
    # [{"filename": ..., "content_type": "text/csv", "data": "<base64>"}, ...] (revision 0002)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(json_list(), default=list)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    escalation: Mapped[Escalation | None] = relationship()

    def attachment_list(self) -> list[tuple[str, str, bytes]]:
        """The attachments as ``(filename, content_type, data)``, decoded from the stored base64."""
        return [
            (str(a["filename"]), str(a.get("content_type") or "application/octet-stream"),
             base64.b64decode(a.get("data") or ""))
            for a in self.attachments or []
        ]

    def __repr__(self) -> str:
        return f"<OutboxMail {self.key} {self.status} attempts={self.attempts}>"


class Cursor(Base):
    """Where a mail source got to (IMAP UIDVALIDITY+UID, EWS sync state, Graph delta link, ...)."""

    __tablename__ = "cursors"

    source_key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


# ---------------------------------------------------------------- escalation_case_numbers follows case_numbers
#
# Mapper events, so every row the ORM writes is covered whichever way the object got into the flush (added,
# merged, cascaded, changed by assignment or in place — ``case_numbers`` is a MutableList, so append/remove/...
# flag it): the child rows are written on the flush's own connection, in its transaction, right after the
# escalation's INSERT or UPDATE. An UPDATE rewrites them only when ``case_numbers`` has changes (what the UPDATE
# then writes is the object's value, which they are made from). A dict inside the list changed in place is not seen
# by SQLAlchemy and not written either: the rows still match what the row holds. Bulk INSERT/UPDATE statements run
# through a session bypass the mapper, so the ones that would set ``case_numbers`` are refused.

_CASE_NUMBERS = EscalationCaseNumber.__table__


def _write_case_numbers(connection: Connection, escalation: Escalation, *, replace: bool) -> None:
    if replace:
        connection.execute(delete(_CASE_NUMBERS).where(_CASE_NUMBERS.c.escalation_id == escalation.id))
    keys = case_number_keys(escalation.case_numbers)
    if keys:
        connection.execute(insert(_CASE_NUMBERS),
                           [{"escalation_id": escalation.id, "number": key} for key in sorted(keys)])


def _case_numbers_inserted(mapper: Mapper[Any], connection: Connection, target: Escalation) -> None:
    _write_case_numbers(connection, target, replace=False)


def _case_numbers_updated(mapper: Mapper[Any], connection: Connection, target: Escalation) -> None:
    if inspect(target).attrs.case_numbers.history.has_changes():
        _write_case_numbers(connection, target, replace=True)


def _case_numbers_deleted(mapper: Mapper[Any], connection: Connection, target: Escalation) -> None:
    # before the escalation's DELETE: also where the database does not enforce the foreign key's cascade
    connection.execute(delete(_CASE_NUMBERS).where(_CASE_NUMBERS.c.escalation_id == target.id))


_SETS_CASE_NUMBERS = re.compile(r"\bcase_numbers\s*=")


def _refuse_bulk_case_numbers(state: ORMExecuteState) -> None:
    """Refuse a bulk INSERT into escalations, and a bulk UPDATE of them that sets ``case_numbers`` (by its values or
    by the parameters it is run with): the mapper events above do not see them."""
    if not (state.is_insert or state.is_update):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) != Escalation.__tablename__:
        return
    if state.is_update:
        params = state.parameters
        keys = sorted({str(key) for row in (params if isinstance(params, list) else [params] if params else [])
                       for key in row})
        assignments = str(state.statement.compile(column_keys=keys)).split(" WHERE ", 1)[0]
        if not _SETS_CASE_NUMBERS.search(assignments):
            return
    raise StoreError("escalations are inserted and their case numbers changed through the ORM (flush), "
                     "which keeps escalation_case_numbers in step; not by bulk statements")


def install_case_number_sync() -> None:
    """Keep ``escalation_case_numbers`` in step with ``Escalation.case_numbers`` (idempotent; done on import)."""
    for name, listener in (("after_insert", _case_numbers_inserted), ("after_update", _case_numbers_updated),
                           ("before_delete", _case_numbers_deleted)):
        if not event.contains(Escalation, name, listener):
            event.listen(Escalation, name, listener)
    if not event.contains(Session, "do_orm_execute", _refuse_bulk_case_numbers):
        event.listen(Session, "do_orm_execute", _refuse_bulk_case_numbers)


install_case_number_sync()


__all__ = [
    "Base",
    "Cursor",
    "Escalation",
    "EscalationCaseNumber",
    "Event",
    "Message",
    "OutboxMail",
    "Stage",
    "case_number_keys",
    "format_reference",
    "normalise_case_number",
    "parse_reference",
    "subject_key",
]
