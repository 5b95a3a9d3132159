"""Record builders for the store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from store.models import Escalation, Message, Stage
from store.uow import UnitOfWork

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def make_escalation(uow: UnitOfWork, *, case: str = "123456", status: str = "open", opened_at: datetime = NOW,
                    conversation_key: str | None = None, **extra: Any) -> Escalation:
    esc = Escalation(
        status=status, policy_key="dorset", iro_email="iro@council.gov.uk", iro_name="An IRO",
        children=["Jane Doe"], case_numbers=[{"number": case, "system": "MOSAIC"}], themes=[],
        current_level=1, subject=f"Action - Level 1 escalation - Jane Doe - MOSAIC {case}",
        conversation_key=conversation_key, opened_at=opened_at, updated_at=opened_at,
        process_started_on=opened_at.date(), **extra,
    )
    uow.escalations.add(esc)
    stage = Stage(escalation=esc, level=1, role="Team Manager", addressee_email="tm@council.gov.uk",
                  copied=[], started_at=opened_at, started_on=opened_at.date(),
                  due_on=opened_at.date() + timedelta(days=7),
                  due_source="policy")
    uow.session.add(stage)
    return esc


def make_message(uow: UnitOfWork, identity: str, *, escalation: Escalation | None = None,
                 received_at: datetime = NOW, state: str = "matched", **extra: Any) -> Message:
    fields: dict[str, Any] = {"direction": "in", "kind": "human", "from_email": "tm@council.gov.uk",
                              "subject": "RE: escalation", **extra}
    msg = Message(identity=identity, message_id=None if identity.startswith("fingerprint:") else identity,
                  escalation=escalation, received_at=received_at, state=state, **fields)
    return uow.messages.add(msg)

