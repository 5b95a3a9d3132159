"""Retention: forget closed escalations and unmatched mail once they are old enough.

Closed escalations closed before one cutoff go with everything that hangs off them (stages, messages with
their raw bytes, events, outbox rows); mails that never matched an escalation and were received before the
other cutoff go too, with the events that point at them, and so do finished outbox mails of no escalation
(digests) queued before that cutoff. Deletes are Core ``DELETE`` statements on the tables (the ORM's
append-only guard on events is lifted for exactly this, see :func:`store.guards.allow_purge`). The report
holds counts only, never names.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Delete, delete, select

from .guards import allow_purge
from .models import Escalation, Event, Message, OutboxMail, Stage
from .uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeReport:
    escalations: int = 0
    stages: int = 0
    messages: int = 0
    events: int = 0
    outbox: int = 0
    unmatched_messages: int = 0

    @property
    def total(self) -> int:
        return (self.escalations + self.stages + self.messages + self.events + self.outbox
                + self.unmatched_messages)


def purge(uow: UnitOfWork, closed_before: datetime, unmatched_before: datetime) -> PurgeReport:
    """Delete what is past retention, in the unit of work's transaction (the caller's commit makes it final).
    """
    session = uow.session
    session.flush()

    def run(statement: Delete) -> int:
        return int(getattr(session.execute(statement), "rowcount", 0) or 0)

    closed = select(Escalation.id).where(Escalation.status == "closed", Escalation.closed_at < closed_before)
    their_messages = select(Message.id).where(Message.escalation_id.in_(closed))
    unmatched = select(Message.id).where(Message.escalation_id.is_(None),
                                         Message.received_at < unmatched_before)

    with allow_purge(session):
        events = run(delete(Event.__table__).where(
            (Event.__table__.c.escalation_id.in_(closed)) | (Event.__table__.c.message_pk.in_(their_messages))
        ))
        events += run(delete(Event.__table__).where(
            Event.__table__.c.escalation_id.is_(None), Event.__table__.c.message_pk.in_(unmatched)
        ))
        stages = run(delete(Stage.__table__).where(Stage.__table__.c.escalation_id.in_(closed)))
        box = OutboxMail.__table__.c
        outbox = run(delete(OutboxMail.__table__).where(box.escalation_id.in_(closed)))
        # digests and other mails of no escalation, once they are done with
        outbox += run(delete(OutboxMail.__table__).where(
            box.escalation_id.is_(None), box.status != "pending", box.created_at < unmatched_before
        ))
        messages = run(delete(Message.__table__).where(Message.__table__.c.escalation_id.in_(closed)))
        unmatched_messages = run(delete(Message.__table__).where(
            Message.__table__.c.escalation_id.is_(None), Message.__table__.c.received_at < unmatched_before
        ))
        escalations = run(delete(Escalation.__table__).where(
            Escalation.__table__.c.status == "closed", Escalation.__table__.c.closed_at < closed_before
        ))
    session.expire_all()  # objects loaded before the purge may describe rows that are gone
    report = PurgeReport(escalations=escalations, stages=stages, messages=messages, events=events,
                         outbox=outbox, unmatched_messages=unmatched_messages)
    log.info("retention purge escalations=%d stages=%d messages=%d events=%d outbox=%d unmatched_messages=%d",
             report.escalations, report.stages, report.messages, report.events, report.outbox,
             report.unmatched_messages)
    return report


__all__ = ["PurgeReport", "purge"]
