"""One tick of the clock: for every open escalation, ask ``rules.decide`` what is due and carry it out.

Each record is handled in its own transaction: the state change, its mails (outbox rows) and the events that
mark the action keys done are written together, so a crash loses or repeats nothing and a second tick at the
same moment does nothing. ``dry_run`` computes the same actions and rolls everything back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from mailbot.config import Config
from rules.calendar import london_date
from rules.decide import Action, DecideSettings, decide, next_moment
from rules.records import ExtensionRequest, RecordState, StageState
from store.models import NEVER_DUE, Escalation
from store.uow import Store, UnitOfWork

from .actions import Actions

log = logging.getLogger(__name__)

DONE_PREFIX_SEPARATOR = ":"


@dataclass(frozen=True)
class TickItem:
    """One action carried out (or, in a dry run, that would be): no children's names, only the reference."""

    reference: str
    kind: str
    key: str
    level: int
    detail: str = ""


def done_key(reference: str, key: str) -> str:
    """Event keys are unique across the store, action keys only within a record: prefix the reference."""
    return f"{reference}{DONE_PREFIX_SEPARATOR}{key}"


def record_state(uow: UnitOfWork, esc: Escalation) -> RecordState:
    """The plain snapshot ``rules.decide`` reads, built from the record, its messages and its events."""
    stage = esc.current_stage
    assert stage is not None, f"{esc.reference} has no stage"
    events = uow.events.for_escalation(esc)
    prefix = f"{esc.reference}{DONE_PREFIX_SEPARATOR}"
    done = frozenset(e.key[len(prefix):] for e in events if e.key and e.key.startswith(prefix))
    iro_times = [m.received_at for m in esc.messages
                 if m.direction == "in" and m.kind == "human" and esc.iro_email and m.from_email == esc.iro_email]
    request: ExtensionRequest | None = None
    for event in events:  # the latest extension request that no extension has answered since
        data = event.data or {}
        if event.kind == "response" and data.get("extension_requested"):
            until = data.get("requested_until")
            request = ExtensionRequest(
                key=str(event.message.message_id or event.id) if event.message else str(event.id),
                asked_at=event.at,
                requested_until=date.fromisoformat(str(until)) if until else None,
                requested_working_days=int(data["requested_working_days"]) if data.get("requested_working_days")
                else None,
            )
        elif event.kind in ("extended", "escalated") and request is not None and event.at >= request.asked_at:
            request = None
    return RecordState(
        reference=esc.reference or str(esc.id),
        status=esc.status,
        opened_on=esc.process_started_on or london_date(esc.opened_at),
        stage=StageState(level=stage.level, started_on=stage.started_on, due_on=stage.due_on,
                         due_source=stage.due_source, responded_at=stage.responded_at,
                         addressee=stage.addressee_email),
        last_iro_message_at=max(iro_times) if iro_times else None,
        extension_request=request,
        done=done,
        budget_days=(esc.facts or {}).get("budget_days"),
    )


class Ticker:
    def __init__(self, store: Store, config: Config, actions: Actions | None = None) -> None:
        self.store = store
        self.config = config
        self.calendar = config.calendar.calendar()
        self.actions = actions or Actions(config, self.calendar)
        self.settings = DecideSettings(iro_quiet_working_days=config.service.iro_quiet_working_days)

    def tick(self, now: datetime, *, dry_run: bool = False, every: bool = False) -> list[TickItem]:
        """Carry out what is due at ``now``: for the records whose moment has come (``next_due_at``, indexed), or for
        every open record with ``every`` (a full sweep; the tests compare the two — nothing schedules it yet)."""
        with self.store.unit_of_work() as uow:
            if every:
                references = [e.reference for e in uow.escalations.list(open_only=True) if e.reference]
            else:
                references = uow.escalations.due_references(now)
        items: list[TickItem] = []
        for reference in references:
            try:
                items.extend(self._tick_one(reference, now, dry_run))
            except Exception as exc:  # one bad record must not stop the others
                log.exception("tick failed ref=%s error=%s", reference, type(exc).__name__)
                items.append(TickItem(reference, "error", "", 0, type(exc).__name__))
        if items and not dry_run:
            log.info("tick done actions=%d", sum(1 for i in items if i.kind != "error"))
        return items

    def _tick_one(self, reference: str, now: datetime, dry_run: bool) -> list[TickItem]:
        with self.store.unit_of_work() as uow:
            esc = uow.escalations.get(reference, for_update=True)  # replicas ticking together take turns
            if esc is None or esc.status != "open" or esc.current_stage is None:
                return []
            policy = self.config.policy
            actions = decide(record_state(uow, esc), now, policy, self.calendar, self.settings)
            items = []
            for action in actions:
                detail = self._apply(uow, esc, action, now)
                for key in action.covers:
                    uow.events.append("action_done", escalation=esc, key=done_key(reference, key),
                                      data={"action": str(action.kind), "key": key}, at=now)
                items.append(TickItem(reference, str(action.kind), action.key, action.level, detail))
            # when the clock next has something to do for it, with what was just done (and its keys) counted
            # (at or before now: more fell due than one pass takes, e.g. after a move up — the next tick looks again)
            after = (next_moment(record_state(uow, esc), now, policy, self.calendar, self.settings)
                     if esc.status == "open" and esc.current_stage is not None else None)
            esc.next_due_at = after if after is not None else NEVER_DUE
            if dry_run:
                uow.rollback()
            else:
                uow.commit()
            return items

    def _apply(self, uow: UnitOfWork, esc: Escalation, action: Action, now: datetime) -> str:
        kind = str(action.kind)
        policy = self.config.policy
        if kind == "chase":
            self.actions.chase(uow, esc, action, now)
            return f"chaser for the due date {action.due_on}"
        if kind == "escalate":
            target = policy.level(action.to_level) if action.to_level is not None else None
            if target is None:
                return "no next level"
            stage = self.actions.escalate(uow, esc, target, now, by="overdue", actor="bot", key=action.key,
                                          due_on=action.due_on)
            return f"to level {target.number}" + (f", due {stage.due_on}" if stage and stage.due_on else "")
        if kind == "referral_due":
            if action.to_level is not None and esc.current_level != action.to_level:
                self.actions.escalate(uow, esc, policy.level(action.to_level), now, by="overdue", actor="bot",
                                      key=action.key)
                return f"to level {action.to_level} (referral to be considered)"
            self.actions.referral_notice(uow, esc, now, key=action.key)
            return "referral to be considered"
        if kind == "ask_iro":
            self.actions.ask_iro(uow, esc, action, now)
            return "asked the IRO: resolved or escalate?"
        if kind == "budget_warning":
            self.actions.budget_warning(uow, esc, action, now)
            return f"{action.days} working days reached"
        if kind == "notify":
            sent = self.actions.procedure.notify(uow, esc, "day", now, day=action.days)
            return f"day {action.days}: {sent} notice(s)"
        if kind == "extension_requested":
            self.actions.extension_requested(uow, esc, action, now)
            return f"told the IRO of the request (until {action.due_on or 'a date to be agreed'})"
        return "unknown action"


__all__ = ["TickItem", "Ticker", "done_key", "record_state"]
