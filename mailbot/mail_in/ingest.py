"""Mail in: read → record idempotently → match → apply → persist, one transaction per mail.

Nothing here may lose a mail or stop the loop. The mail is parsed before its transaction begins. A mail the parsers
cannot make sense of is still recorded (with its raw bytes) in the state ``attention``; an unexpected error while
applying a mail rolls that mail's transaction back and records it again, alone, as ``attention`` with the error's
type, so the poll goes on with the next one. The database itself being unavailable (locked, disk full, connection
lost) is not the mail's fault: nothing is recorded, the cursor stays where it was, and
:class:`~store.errors.StoreUnavailable` tells the loop to back off and read the same mail again later.

A mail is settled at its source (moved to a processed or attention folder, or marked) only after its transaction
is on the disk. A poll records a batch of mails, one transaction each, whose commits do not wait for the disk; then
one wait (``Store.make_durable``) makes them all durable, and only then are they settled, the batch at once where
the source can (one IMAP UID MOVE). A power cut before that wait loses those transactions, cursor included, but not
the mails: they are still in the inbox, before the cursor, and are read again. A stop between the wait and the
settling leaves in the inbox, behind the cursor, mails the store knows: at most the last batch recorded from the
source. Once a batch is settled, the newest of its mails is noted (a cursor row ``settled:<source>``); the first poll
of each source looks up the mails recorded from it after that note (a store from before the note: the last one),
reads on as usual, and then settles (by ``Message.source_ref``) those the source did not hand out again (a replayed
page, IMAP's leftovers) as a duplicate of each would be settled; a mail settled already is left alone by every
source. This is the same for every transport, including those whose cursor cannot be wound back past them (a Graph
delta link, an EWS sync state).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, func, select
from sqlalchemy.exc import IntegrityError

from mailbot.clock.actions import Actions
from mailbot.config import Config
from mailbot.transports.source import FetchedMail, MailSource, TransportConnectionError, check_outcome
from rules.authority import Act, Ruling, Standing
from store.errors import StoreUnavailable, describe, is_transient, unavailable_raised
from store.models import Escalation, Message
from store.uow import Store, UnitOfWork

from .apply import Applier
from .matching import match
from .reading import Reading, read

log = logging.getLogger(__name__)

#: How many mails one poll reads at most; a full batch means more may wait, and the loop reads on at once.
POLL_BATCH = 200
_SETTLED = "settled:"  # + a source's key: the cursor row noting its newest mail known to be settled


@dataclass(frozen=True)
class IngestResult:
    identity: str
    kind: str  # human | auto_reply | bounce | unreadable
    outcome: str  # duplicate | own | opened | threaded | escalated | refused | unmatched | attention
    reference: str | None = None
    how: str = ""
    reason: str = ""

    @property
    def needs_attention(self) -> bool:
        return self.outcome in ("attention", "unmatched", "refused")

    @property
    def settle_as(self) -> str:
        """Where the mail goes at the source: ``attention`` or ``processed`` (a duplicate goes where the first
        reading of it went — it may be a mail recorded just before a crash, never moved)."""
        kept_for_attention = self.outcome == "duplicate" and self.reason == "kept for attention"
        return "attention" if self.needs_attention or kept_for_attention else "processed"


def _duplicate(identity: str, kind: str, state: str) -> IngestResult:
    """The result for a mail the store already holds, in ``state``."""
    return IngestResult(identity, kind, "duplicate", reason="kept for attention" if state == "attention" else "")


class Ingestor:
    """Records mails into the store and applies what they mean."""

    def __init__(self, store: Store, config: Config, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.calendar = config.calendar.calendar()
        self.applier = Applier(config, self.calendar, Actions(config, self.calendar))
        # PostgreSQL: a matched record is read again under its row lock. SQLite: every write transaction begins
        # IMMEDIATE (store/database.py), so what matching read is current and stays so: no second read
        self._lock_rows = store.engine.dialect.name != "sqlite"
        # per source key, from its first poll: the mail recorded last before it, until it is settled again
        self._looked_up: set[str] = set()
        self._left: dict[str, list[Row[tuple[str, str, str, str | None]]]] = {}

    # -- one mail -------------------------------------------------------------------------------------

    def ingest(self, raw: bytes, *, source_key: str = "", source_ref: str = "",
               cursor: str | None = None, durable: bool = True) -> IngestResult:
        """Record one raw mail (and, with ``cursor``, advance ``source_key``'s cursor in the same transaction).

        ``durable=False``: the transaction's commit does not wait for the disk (see ``Store.unit_of_work``); the
        caller calls ``Store.make_durable`` before anything depends on it surviving a power cut (:meth:`poll`
        settles a batch of mails at the source only then)."""
        reading = read(raw, self.clock(), self.config)
        identity = reading.mail.identity
        try:
            with self.store.unit_of_work(durable=durable) as uow:
                result = self._ingest(uow, reading, raw, source_key, source_ref)
                if cursor is not None and source_key:
                    uow.cursors.set(source_key, cursor)
                uow.commit()
        except IntegrityError:
            # another replica recorded the same mail between our look-up and our insert: it is a duplicate
            with self.store.unit_of_work() as uow:
                known = uow.messages.get_by_identity(identity) is not None
                if known and cursor is not None and source_key:
                    uow.cursors.set(source_key, cursor)
                    uow.commit()
            if known:
                log.info("mail recorded meanwhile by another worker identity=%s", identity)
                return IngestResult(identity, reading.kind, "duplicate")
            return self._keep_for_attention(reading, raw, source_key, source_ref, cursor, "IntegrityError")
        except Exception as exc:  # a bug must not lose the mail nor stop the loop
            if is_transient(exc):
                log.warning("store unavailable; the mail stays unrecorded and is read again identity=%s error=%s",
                            identity, describe(exc))
                raise StoreUnavailable(describe(exc)) from exc
            log.exception("ingest failed; keeping the mail for attention identity=%s error=%s",
                          identity, type(exc).__name__)
            return self._keep_for_attention(reading, raw, source_key, source_ref, cursor, type(exc).__name__)
        log.info("mail recorded kind=%s outcome=%s ref=%s how=%s", result.kind, result.outcome,
                 result.reference or "-", result.how or "-")
        return result

    def _keep_for_attention(self, reading: Reading, raw: bytes, source_key: str, source_ref: str,
                            cursor: str | None, error: str) -> IngestResult:
        identity = reading.mail.identity
        with unavailable_raised(), self.store.unit_of_work() as uow:
            if uow.messages.get_by_identity(identity) is None:
                self._record(uow, reading, raw, None, source_key, source_ref, state="attention",
                             reason=f"could not be processed ({error}); kept for a person to read")
            if cursor is not None and source_key:
                uow.cursors.set(source_key, cursor)
            uow.commit()
        return IngestResult(identity, reading.kind, "attention", reason=error)

    def _ingest(self, uow: UnitOfWork, reading: Reading, raw: bytes, source_key: str,
                source_ref: str) -> IngestResult:
        identity = reading.mail.identity
        applier = self.applier
        known = uow.messages.get_by_identity(identity)
        if known is not None:
            if known.direction == "out":  # the copy of the bot's own mail the mail server delivered to it
                return IngestResult(identity, reading.kind, "own", known.escalation.reference if known.escalation
                                    else None, reason="the bot's own copy")
            return _duplicate(identity, reading.kind, known.state)
        if reading.unreadable:
            self._record(uow, reading, raw, None, source_key, source_ref, state="attention",
                         reason="the mail could not be read: " + ("; ".join(reading.mail.defects) or "no headers"))
            return IngestResult(identity, "unreadable", "attention", reason="unreadable")
        if applier.standing(reading, None) is Standing.BOT:
            # the bot's own mail come back (a copy, a forward by a rule): never acted on, so never a loop
            found = match(uow, reading)
            self._record(uow, reading, raw, found.escalation, source_key, source_ref, state="recorded")
            return IngestResult(identity, reading.kind, "own", found.escalation.reference if found.escalation else None)
        found = match(uow, reading)
        esc = found.escalation
        if esc is not None and esc.reference and self._lock_rows:  # replicas applying mail to it take turns
            esc = uow.escalations.get(esc.reference, for_update=True)
        if reading.kind != "human":
            msg = self._record(uow, reading, raw, esc, source_key, source_ref,
                               state="matched" if esc else "recorded")
            if esc is not None:
                applier.machine_event(uow, esc, msg, reading)
            return IngestResult(identity, reading.kind, "threaded" if esc else "unmatched",
                                esc.reference if esc else None, found.how)
        if found.how == "new":
            opening = applier.may(reading, None, Act.OPEN)
            if opening and reading.facts.is_reply and applier.standing(reading, None) is not Standing.IRO:
                # a RE:/FW: of an escalation the bot never saw is as often a manager's answer as the IRO's re-send
                opening = Ruling(False, "a reply or forward opens a record only from an IRO the directory lists",
                                 refused=True)
            if not opening:
                msg = self._record(uow, reading, raw, None, source_key, source_ref, state="attention",
                                   reason=f"not opened: {opening.reason}")
                uow.events.append("open_refused", message=msg, actor=reading.sender or "unknown",
                                  data={"reason": opening.reason, "standing": str(applier.standing(reading, None))})
                return IngestResult(identity, "human", "refused", reason=f"not opened: {opening.reason}")
            esc = applier.open(uow, reading)
            msg = self._record(uow, reading, raw, esc, source_key, source_ref, state="matched")
            applier.announce_opened(uow, esc, msg, reading)
            return IngestResult(identity, "human", "opened", esc.reference, found.how)
        if esc is None:
            self._record(uow, reading, raw, None, source_key, source_ref, state="attention",
                         reason="no escalation matches this mail and its subject does not open one")
            return IngestResult(identity, "human", "unmatched", reason="no match")
        msg = self._record(uow, reading, raw, esc, source_key, source_ref, state="matched")
        if found.how == "escalates":
            moving = applier.may(reading, esc, Act.MOVE)
            if moving:
                applier.move(uow, esc, msg, reading)
                return IngestResult(identity, "human", "escalated", esc.reference, found.how)
            applier.refuse(uow, esc, msg, reading, Act.MOVE, moving)
            return IngestResult(identity, "human", "refused", esc.reference, found.how, f"not obeyed: {moving.reason}")
        outcome = applier.reply(uow, esc, msg, reading)
        return IngestResult(identity, "human", outcome, esc.reference, found.how, msg.attention_reason or "")

    # -- recording ------------------------------------------------------------------------------------

    def _record(self, uow: UnitOfWork, reading: Reading, raw: bytes, esc: Escalation | None, source_key: str,
                source_ref: str, *, state: str, reason: str | None = None) -> Message:
        mail = reading.mail
        if esc is not None:
            esc.next_due_at = None  # a mail may change what is due: the next tick works it out again
        keep_raw = state == "attention" or (esc is not None and reading.facts.is_escalation)
        msg = Message(
            identity=mail.identity,
            message_id=mail.message_id,
            escalation=esc,
            direction="in",
            kind=reading.kind,
            from_email=mail.from_.email if mail.from_ else None,
            from_name=mail.from_.name if mail.from_ else None,
            to_emails=[a.email for a in mail.to],
            cc_emails=[a.email for a in mail.cc],
            subject=mail.subject,
            sent_at=mail.date,
            received_at=reading.received,
            in_reply_to=list(mail.in_reply_to),
            references=list(mail.references),
            thread_index=mail.thread_index,
            conversation_key=mail.conversation_key,
            new_text=mail.new_text,
            state=state,
            attention_reason=reason,
            source_key=source_key,
            source_ref=source_ref,
            raw=raw if keep_raw else None,
        )
        uow.messages.add(msg)
        if state == "attention":
            uow.events.append("attention", escalation=esc, message=msg, data={"reason": reason})
        return msg

    # -- a whole mailbox ------------------------------------------------------------------------------

    def poll(self, source: MailSource, limit: int = POLL_BATCH) -> list[IngestResult]:
        """Read up to ``limit`` new mails from ``source``; each is recorded, then settled at the source. Raises
        :class:`~store.errors.StoreUnavailable` (what was recorded so far stays recorded and settled).

        The first poll of a source also settles again the mails recorded last from it before (see the module text).
        """
        with unavailable_raised(), self.store.unit_of_work() as uow:
            cursor = uow.cursors.get(source.key)
            if source.key not in self._looked_up:
                mark = uow.cursors.get(_SETTLED + source.key)
                query = (select(Message.identity, Message.kind, Message.state, Message.source_ref)
                         .where(Message.source_key == source.key, Message.direction == "in"))
                if mark is not None and mark.isdigit():  # those after the last batch known to be settled
                    query = query.where(Message.id > int(mark)).limit(max(limit, POLL_BATCH))
                else:  # a store from before batches: mails were settled one by one
                    query = query.limit(1)
                last = uow.session.execute(query.order_by(Message.id.desc())).all()
                left = [row for row in reversed(last) if row.source_ref]
                if left:
                    self._left[source.key] = left
                self._looked_up.add(source.key)
        results: list[IngestResult] = []
        handed: list[tuple[str, str]] = []  # (ref, where it goes), in the order fetched
        fetched: FetchedMail
        try:
            for fetched in source.fetch(cursor, limit):
                result = self.ingest(fetched.raw, source_key=source.key, source_ref=fetched.ref,
                                     cursor=fetched.cursor, durable=False)
                results.append(result)
                handed.append((fetched.ref, result.settle_as))
        finally:  # what was recorded stays recorded, and is settled, whatever stopped the batch
            if self._settle(source, handed):
                self._mark_settled(source, [r.identity for r in results])
        self._settle_left(source, {r.identity for r in results})
        return results

    def _settle(self, source: MailSource, handed: list[tuple[str, str]]) -> bool:
        """Settle the mails of one batch at the source, once their transactions are on the disk: a batch of
        mails costs one wait for the disk, not one each, and no mail leaves the inbox before its record is safe
        from a power cut (one that came first leaves the mail in the inbox, read again as a duplicate).
        True when every mail was settled."""
        if not handed:
            return False
        try:
            self.store.make_durable()
        except OSError as exc:
            log.warning("could not make the batch's records durable (%s); its %d mails stay in the inbox and are "
                        "read again", exc.strerror or type(exc).__name__, len(handed))
            return False
        settled = True
        for outcome, refs in _by_outcome(handed):
            try:
                _file(source, refs, outcome)
            except Exception as exc:  # settling is a courtesy; the mails are already safe in the store
                settled = False
                more = f" and {len(refs) - 3} more" if len(refs) > 3 else ""
                log.warning("could not settle %s%s at the source: %s", ", ".join(refs[:3]), more, type(exc).__name__)
        return settled

    def _mark_settled(self, source: MailSource, identities: list[str]) -> None:
        """Note the newest mail recorded from ``source`` that is settled: the first poll after a stop settles again
        only the mails after it. Its loss (a power cut) only means settling some mails again."""
        try:
            with self.store.unit_of_work(durable=False) as uow:
                newest = uow.session.scalar(select(func.max(Message.id)).where(
                    Message.source_key == source.key, Message.identity.in_(identities)))
                mark = uow.cursors.get(_SETTLED + source.key)
                if newest is not None and (mark is None or not mark.isdigit() or newest > int(mark)):
                    uow.cursors.set(_SETTLED + source.key, str(newest))
        except Exception as exc:  # a note for the next start; the mails are safe and settled
            log.warning("could not note the settled mails of %s: %s", source.key, type(exc).__name__)

    def _settle_left(self, source: MailSource, handed: set[str]) -> None:
        """Settle the mails recorded last from ``source`` before its first poll, as a duplicate of each would be: a
        stop between their transactions and their settling may have left them in the inbox, behind the cursor.
        Those this poll handed out again are settled already. A mail settled already is left alone by every source.
        An unreachable mailbox is tried again at the next poll; any other failure is logged and not retried."""
        left = self._left.get(source.key)
        if left is None:
            return
        again = [(row.source_ref, check_outcome(_duplicate(row.identity, row.kind, row.state).settle_as))
                 for row in left if row.identity not in handed]
        if again:
            try:
                self.store.make_durable()  # they may be the relaxed commits of a batch a stop cut short
            except OSError as exc:
                log.warning("could not make the records durable (%s); settling again at the next poll",
                            exc.strerror or type(exc).__name__)
                return
            try:
                for outcome, refs in _by_outcome(again):
                    _file(source, refs, outcome)
            except TransportConnectionError as exc:
                log.warning("could not settle again the mails recorded last from %s before this start (%s); trying "
                            "at the next poll", source.key, type(exc).__name__)
                return
            except Exception as exc:  # settling is a courtesy; the mails are already safe in the store
                log.warning("could not settle again the mails recorded last from %s before this start: %s",
                            source.key, type(exc).__name__)
            else:
                log.info("settled again the %d mails recorded last from %s before this start (a stop may have come "
                         "between their recording and their settling)", len(again), source.key)
        self._mark_settled(source, [row.identity for row in left])
        del self._left[source.key]


def _by_outcome(pairs: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """(ref, outcome) pairs grouped by outcome, each group in the order given."""
    groups = {outcome: [ref for ref, where in pairs if where == outcome] for outcome in ("processed", "attention")}
    return [(outcome, refs) for outcome, refs in groups.items() if refs]


def _file(source: MailSource, refs: list[str], outcome: str) -> None:
    """Settle ``refs`` at ``source``: at once where it can (``settle_many``), else one by one."""
    many = getattr(source, "settle_many", None)
    if many is not None:
        many(refs, outcome)
        return
    for ref in refs:
        source.settle(ref, check_outcome(outcome))


__all__ = ["IngestResult", "Ingestor"]
