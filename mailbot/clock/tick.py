"""One tick of the clock: for every open escalation, ask ``rules.decide`` what is due and carry it out.

A record's work is atomic: the state change, its mails (outbox rows) and the events that mark the action keys done
are written together or not at all, so a crash loses or repeats nothing and a second tick at the same moment does
nothing. Records are worked a batch at a time in one transaction (at most :data:`RECORDS_A_TRANSACTION`, for about
:data:`SECONDS_A_TRANSACTION`: mail in and the outbox wait for it on SQLite): first all together, and if anything
fails, again each record in a SAVEPOINT of its own, so one bad record rolls back only itself. A batch commits once:
a crash before the commit writes none of its records — nothing was queued, so nothing is sent, and their moments
were not moved, so the next tick does them again — exactly as if each record's own transaction had not committed.
The batch's records are locked at its start (PostgreSQL ``SELECT … FOR UPDATE``, in id order: replicas ticking
together take turns, and mail in waits for the record it changes), and what their work reads again and again — their
stages, mails, audit trails and outbox keys — is read once for the batch (:mod:`mailbot.mail_out.loaded`).
``dry_run`` computes the same actions and rolls everything back.

A safety sweep rides on every tick: besides the records whose moment has come, it decides the next
:data:`SWEEP_RECORDS` open records by id after where the last tick's sweep stopped (a cursor, wrapping round), so a
moment stored wrongly — a bug, a hand edit, a policy changed under it — is put right within a bounded time (every open
record once in ``open / SWEEP_RECORDS`` ticks), at a cost per tick that does not grow with the open records (a read
by the primary key).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from mailbot.config import Config
from mailbot.mail_out import loaded
from rules.calendar import london_date
from rules.decide import Action, DecideSettings, decide, next_moment
from rules.records import ExtensionRequest, RecordState, StageState
from store.models import NEVER_DUE, Escalation, Message, format_reference, parse_reference
from store.uow import Store, UnitOfWork

from .actions import Actions

log = logging.getLogger(__name__)

DONE_PREFIX_SEPARATOR = ":"
#: The most records one transaction of a tick works on.
RECORDS_A_TRANSACTION = 100
#: A transaction of a tick takes no new record after this long (on SQLite, mail in and the outbox wait for it).
SECONDS_A_TRANSACTION = 0.5
#: How many open records each tick's safety sweep decides besides those due (see the module text).
SWEEP_RECORDS = 50
#: The cursor row of the sweep: the id of the last record it decided.
SWEEP_CURSOR = "sweep:tick"


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
    events = loaded.trail(uow, esc)
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
        """Carry out what is due at ``now``: for the records whose moment has come (``next_due_at``, indexed) and the
        safety sweep's next few (not in a dry run, which moves no cursor), or for every open record with ``every``
        (the tests compare the two)."""
        with self.store.unit_of_work() as uow:
            if every:
                references = [e.reference for e in uow.escalations.list(open_only=True) if e.reference]
            else:
                references = uow.escalations.due_references(now)
                if not dry_run:
                    try:
                        with uow.session.begin_nested():  # its cursor written first by another replica: no sweep
                            swept = _swept(uow, set(references))
                        references += swept
                    except IntegrityError:
                        log.info("tick sweep left to another replica this time")
        items: list[TickItem] = []
        start = 0
        while start < len(references):
            worked, found = self._tick_some(references[start:start + RECORDS_A_TRANSACTION], now, dry_run)
            items.extend(found)
            start += worked
        if items and not dry_run:
            log.info("tick done actions=%d", sum(1 for i in items if i.kind != "error"))
        return items

    def _tick_some(self, references: Sequence[str], now: datetime, dry_run: bool) -> tuple[int, list[TickItem]]:
        """Work ``references``, in order, in one transaction, until they are done or :data:`SECONDS_A_TRANSACTION`
        has passed; how many were worked and what was done.

        First all together, written by one flush at the commit; if anything goes wrong (a record's error, a key
        written meanwhile, the commit refused), everything is rolled back and the same records are worked again,
        each in a SAVEPOINT of its own (:meth:`_tick_record`), so that only a bad record fails."""
        worked = [0]
        try:
            items = self._batch(references, now, dry_run, worked, isolated=False)
            return worked[0], items  # counted by the batch as it went
        except Exception as exc:
            log.info("tick works %d record(s) again one by one error=%s", worked[0] or len(references),
                     type(exc).__name__)
        again = references[:worked[0] or len(references)]
        redone = [0]  # this pass has its own time limit too: the records it did not reach go to the next one
        try:
            items = self._batch(again, now, dry_run, redone, isolated=True)
            return redone[0], items
        except Exception as exc:  # the transaction as a whole (the store unavailable, the commit refused): nothing
            # of it was written, so its records are due again at the next tick
            log.exception("tick failed refs=%s error=%s", ",".join(again), type(exc).__name__)
            return len(again), [TickItem(reference, "error", "", 0, type(exc).__name__) for reference in again]

    def _batch(self, references: Sequence[str], now: datetime, dry_run: bool, worked: list[int], *,
               isolated: bool) -> list[TickItem]:
        items: list[TickItem] = []
        with self.store.unit_of_work() as uow:
            records = _lock(uow, references)  # replicas ticking together take turns
            loaded.load(uow, records.values())
            loaded.set_careful(uow, False)
            ends = time.monotonic() + SECONDS_A_TRANSACTION
            for reference in references:
                worked[0] += 1
                esc = records.get(reference)
                if esc is None or esc.status != "open" or esc.current_stage is None:
                    pass
                elif isolated:
                    items.extend(self._tick_record(uow, esc, reference, now))
                else:
                    items.extend(self._tick_one(uow, esc, reference, now))
                if time.monotonic() > ends:
                    break
            if dry_run:
                uow.rollback()
        return items

    def _tick_record(self, uow: UnitOfWork, esc: Escalation, reference: str, now: datetime) -> list[TickItem]:
        """One record's work in a SAVEPOINT of its own: one bad record must not stop the others."""
        try:
            try:
                with uow.session.begin_nested():
                    return self._tick_one(uow, esc, reference, now)
            except IntegrityError:
                # a key written meanwhile after all (the record's keys were read under its lock): its work again, each
                # key looked up first and written in a SAVEPOINT of its own, as mail in does
                log.info("tick looks the keys up ref=%s", reference)
                loaded.set_careful(uow, True)
                try:
                    with uow.session.begin_nested():
                        return self._tick_one(uow, esc, reference, now)
                finally:
                    loaded.set_careful(uow, False)
        except Exception as exc:  # one bad record must not stop the others
            log.exception("tick failed ref=%s error=%s", reference, type(exc).__name__)
            return [TickItem(reference, "error", "", 0, type(exc).__name__)]

    def _tick_one(self, uow: UnitOfWork, esc: Escalation, reference: str, now: datetime) -> list[TickItem]:
        policy = self.config.policy
        actions = decide(record_state(uow, esc), now, policy, self.calendar, self.settings)
        items = []
        for action in actions:
            detail = self._apply(uow, esc, action, now)
            fast = loaded.fast(uow, esc)
            recorded = {e.key for e in loaded.trail(uow, esc) if e.key} if fast else set()
            for key in action.covers:
                marker = done_key(reference, key)
                if fast and marker in recorded:  # the trail was read under the record's lock: no look-up
                    continue
                uow.events.append("action_done", escalation=esc, key=marker, data={"action": str(action.kind),
                                  "key": key}, at=now, known_new=fast)
                recorded.add(marker)
            items.append(TickItem(reference, str(action.kind), action.key, action.level, detail))
        # when the clock next has something to do for it, with what was just done (and its keys) counted
        # (at or before now: more fell due than one pass takes, e.g. after a move up — the next tick looks again)
        after = (next_moment(record_state(uow, esc), now, policy, self.calendar, self.settings)
                 if esc.status == "open" and esc.current_stage is not None else None)
        esc.next_due_at = after if after is not None else NEVER_DUE
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


def _swept(uow: UnitOfWork, due: set[str]) -> list[str]:
    """The safety sweep's records for this tick: the next :data:`SWEEP_RECORDS` open ones by id after the cursor,
    wrapping round to the first; those due anyway are not named twice. The cursor moves in the same transaction."""
    mark = uow.cursors.get(SWEEP_CURSOR)
    after = int(mark) if mark is not None and mark.isdigit() else 0
    rows = uow.escalations.open_after(after, SWEEP_RECORDS)
    if len(rows) < SWEEP_RECORDS and after > 0:  # round again from the first
        rows += [r for r in uow.escalations.open_after(0, SWEEP_RECORDS - len(rows)) if r[0] <= after]
    uow.cursors.set(SWEEP_CURSOR, str(rows[-1][0]) if rows else "0")
    return [reference for _id, reference in rows if reference not in due]


def _lock(uow: UnitOfWork, references: Sequence[str]) -> dict[str, Escalation]:
    """The records of ``references`` by reference, locked until the transaction ends (PostgreSQL ``SELECT … FOR
    UPDATE``, in id order, so that replicas take them in the same order; SQLite's write transactions are serialised
    anyway), read afresh with their stages and mails (not the mails' raw bytes) in one query each."""
    wanted = {}
    for reference in references:
        number = parse_reference(reference)
        if number is not None:
            wanted[format_reference(number)] = reference
    if not wanted:
        return {}
    query = (select(Escalation).where(Escalation.reference.in_(sorted(wanted))).order_by(Escalation.id)
             .options(selectinload(Escalation.messages).defer(Message.raw))
             .with_for_update().execution_options(populate_existing=True))
    return {wanted[e.reference]: e for e in uow.session.scalars(query) if e.reference in wanted}


__all__ = ["RECORDS_A_TRANSACTION", "SECONDS_A_TRANSACTION", "SWEEP_RECORDS", "TickItem", "Ticker", "done_key",
           "record_state"]
