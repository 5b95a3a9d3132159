"""Plain, frozen snapshots of one escalation record: the input of :func:`rules.decide.decide`.

The service builds a :class:`RecordState` from its database rows on every tick; nothing here knows about the
database. Dates (``started_on``, ``due_on``, ``opened_on``, ``requested_until``) are Europe/London calendar
dates; instants (``responded_at``, ``last_iro_message_at``, ``asked_at``) are timezone-aware datetimes (UTC as
stored, any zone is accepted). The constructors check these shapes and raise ``TypeError``/``ValueError`` with a
message naming the field, so a wrong adapter fails loudly instead of silently missing a holiday (a ``datetime``
is a ``date`` subclass that compares unequal to every date).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

#: What :attr:`RecordState.status` may be.
STATUSES = ("open", "closed")
#: Where a stage's due date came from.
DUE_SOURCES = ("subject", "policy", "extension")


def _check_date(value: Any, name: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{name} must be a date (Europe/London), got {type(value).__name__} {value!r}")


def _check_instant(value: Any, name: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a timezone-aware datetime, got {type(value).__name__} {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC as stored), got the naive {value!r}")


@dataclass(frozen=True)
class ExtensionRequest:
    """The latest extension request from a manager that the IRO has not answered yet."""

    key: str  # stable id of the request, e.g. the Message-ID of the manager's mail
    asked_at: datetime  # when the manager asked (tz-aware)
    requested_until: date | None = None  # "could I have until 12/12/2026?"
    requested_working_days: int | None = None  # "could I have another 5 working days?"

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise ValueError(f"ExtensionRequest.key must be non-empty text, got {self.key!r}")
        _check_instant(self.asked_at, "ExtensionRequest.asked_at")
        _check_date(self.requested_until, "ExtensionRequest.requested_until", optional=True)
        days = self.requested_working_days
        if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
            raise ValueError(f"ExtensionRequest.requested_working_days must be a whole number >= 1, got {days!r}")


@dataclass(frozen=True)
class StageState:
    """The current stage (level) of an escalation."""

    level: int  # Level.number in the policy
    started_on: date  # London date the stage started
    due_on: date | None  # None for untimed (informal/terminal) levels
    due_source: str | None = None  # "subject" | "policy" | "extension" | None
    responded_at: datetime | None = None  # first human response from someone other than the IRO
    addressee: str | None = None  # email of the manager addressed at this level; None when not known

    def __post_init__(self) -> None:
        if isinstance(self.level, bool) or not isinstance(self.level, int):
            raise TypeError(f"StageState.level must be a level number, got {self.level!r}")
        _check_date(self.started_on, "StageState.started_on")
        _check_date(self.due_on, "StageState.due_on", optional=True)
        if self.due_source is not None and self.due_source not in DUE_SOURCES:
            raise ValueError(f"StageState.due_source must be one of {', '.join(DUE_SOURCES)} or None, "
                             f"got {self.due_source!r}")
        _check_instant(self.responded_at, "StageState.responded_at", optional=True)


@dataclass(frozen=True)
class RecordState:
    """One escalation as :func:`rules.decide.decide` sees it."""

    reference: str  # "ESC-0042"
    status: str  # "open" | "closed"
    opened_on: date  # London date the formal process started (first formal level)
    stage: StageState  # the current stage
    last_iro_message_at: datetime | None = None  # last mail from the owning IRO (commands included)
    extension_request: ExtensionRequest | None = None  # latest unanswered request from a manager
    done: frozenset[str] = field(default_factory=frozenset)  # keys of actions already carried out
    budget_days: int | None = None  # the whole process's working days when the IRO extended it (South West)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"RecordState.status must be one of {', '.join(STATUSES)}, got {self.status!r}")
        _check_date(self.opened_on, "RecordState.opened_on")
        if not isinstance(self.stage, StageState):
            raise TypeError(f"RecordState.stage must be a StageState, got {type(self.stage).__name__}")
        _check_instant(self.last_iro_message_at, "RecordState.last_iro_message_at", optional=True)
        if self.extension_request is not None and not isinstance(self.extension_request, ExtensionRequest):
            raise TypeError("RecordState.extension_request must be an ExtensionRequest or None, got "
                            f"{type(self.extension_request).__name__}")
        if not isinstance(self.done, frozenset):
            object.__setattr__(self, "done", frozenset(self.done))
