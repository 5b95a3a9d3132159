"""Delivering the outbox: build each queued mail, hand it to the sender, and record what happened.

``mailbot.mail_out.outbox.queue_mail`` writes an ``OutboxMail`` row in the same transaction as the state change that
causes it. :class:`Deliverer` sends those rows later::

    report = app.deliverer.deliver_pending()   # mailbot.app.App builds it from the config

For each due row (``outbox.pending(now)``), each step in its own short transaction (SQLite takes its write lock
for the whole of a unit of work, so no transaction is ever open while we talk to the SMTP server):

1. **check** — every recipient must still be inside ``council.domains`` (the config may have changed since the
   row was queued). If not, the row is marked ``refused`` and a ``mail_refused`` event is written: never sent.
2. **claim** — ``attempts += 1`` and ``next_attempt_at = now + 10 min`` (the lease), as a compare-and-set on
   the row, committed *before* the mail is sent. A second deliverer (another replica, an overlapping job) no
   longer sees the row as due, and if it read it a moment earlier its claim matches no row and it skips it.
3. **send** — :func:`build_message` and ``sender.send``. The mail always has the row's deterministic
   Message-ID and, for a given row, the same Date, so a mail sent twice is recognisably the same mail.
4. **record** — right after the send: ``mark_sent`` (and the bot's copy in the message log gets ``sent_at``),
   or on a temporary failure ``mark_failed(retry_at=now + back-off)`` (1 min, 5 min, 15 min, 1 h, 2 h, 4 h,
   then every 8 h), or after ``max_attempts`` attempts (or a permanent failure) the row is given up:
   ``mark_failed`` without retry, a ``send_failed`` event (key, attempts, error class — no subject or body)
   and an ERROR log line naming the key.

**Delivery guarantees.**

- A crash after the outbox row is committed but before it is sent: the row is still pending (or its lease
  runs out within 10 minutes) and the next run sends it. Nothing queued is ever lost (at-least-once).
- A crash after the claim but before the server said "250 OK": the lease runs out and the row is sent then;
  the attempt counts against ``max_attempts``.
- A crash (or a lost database) between the server's "250 OK" and the ``mark_sent`` commit: after the lease the
  row is sent a second time. That window is one SMTP reply plus one small commit; the duplicate carries the same
  Message-ID, so mail clients and Exchange treat it as the same message in the same conversation. This is the
  remaining window: closing it would need the SMTP server and the database to share a transaction.
- A send that takes longer than the lease (an SMTP timeout is 30 s per command) could let another deliverer
  pick the row up: keep ``timeout`` far below :data:`CLAIM_LEASE`.

Server-wide trouble stops the batch instead of burning every row's attempts: when the sender cannot be opened
(connection refused, login refused) no row is claimed at all and the report says why; when the connection
breaks or the login is refused mid-batch, only the row being sent is marked for a retry. A refused login is
logged at ERROR every time (someone has to fix the account), but mail is never given up because of it before
its attempts run out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime

from mailbot.transports.sender import (
    MailSender,
    Refused,
    SendAuthError,
    SendConnectionError,
    SendError,
    SendPermanentError,
    SendTemporaryError,
)
from rules.calendar import LONDON
from store.models import OutboxMail
from store.uow import Store

log = logging.getLogger(__name__)

FROM_NAME = "IRO escalations"
CLAIM_LEASE = timedelta(minutes=10)
BACKOFF: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),  # the cap: every later attempt waits this long
)
# set by build_message itself; a row's headers may not override them
RESERVED_HEADERS = frozenset({
    "from", "sender", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version", "content-type",
    "content-transfer-encoding", "content-disposition",
})
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable ASCII except ':'
_POLICY = SMTP_POLICY.clone(cte_type="7bit")  # bodies as quoted-printable/base64: no 8BITMIME needed


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt (1 → 1 min, 2 → 5 min, ... capped at 8 h)."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def _one_line(value: object) -> str:
    """A header value on one line: CR/LF (header injection, or a pasted multi-line subject) become spaces."""
    return " ".join(str(value).replace("\r", " ").replace("\n", " ").split())


def build_message(row: OutboxMail, *, from_name: str = FROM_NAME) -> EmailMessage:
    """The mail for an outbox row: From "IRO escalations" <the bot's address>, To, Cc, Subject, Date (when it
    was queued, Europe/London), Message-ID ``<row.message_id>``, the row's own headers (Auto-Submitted,
    In-Reply-To, References, X-...), the text — with the HTML as ``multipart/alternative`` when there is
    some — and the attachments (``multipart/mixed``). Non-ASCII subjects, names and file names are encoded
    (RFC 2047/2231); bodies are quoted-printable, so the mail is 7-bit clean with SMTP line endings.
    """
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = Address(display_name=from_name, addr_spec=row.from_email)
    msg["To"] = [Address(addr_spec=a) for a in row.to_emails]
    if row.cc_emails:
        msg["Cc"] = [Address(addr_spec=a) for a in row.cc_emails]
    msg["Subject"] = _one_line(row.subject)
    msg["Date"] = format_datetime(row.created_at.astimezone(LONDON))
    msg["Message-ID"] = f"<{row.message_id}>"
    for name, value in (row.headers or {}).items():
        if name.lower() in RESERVED_HEADERS or not _HEADER_NAME.match(name) or value is None:
            log.debug("outbox header skipped key=%s header=%s", row.key, name)
            continue
        msg[name] = _one_line(value)
    msg.set_content(row.body_text or "", subtype="plain")
    if row.body_html:
        msg.add_alternative(row.body_html, subtype="html")
    for filename, content_type, data in row.attachment_list():
        maintype, _, subtype = content_type.partition("/")
        if not maintype or not subtype or "/" in subtype or maintype == "multipart":
            maintype, subtype = "application", "octet-stream"
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def recipients_of(row: OutboxMail) -> list[str]:
    """The envelope recipients: To then Cc, each once."""
    return list(dict.fromkeys(a for a in [*row.to_emails, *row.cc_emails] if a))


@dataclass
class DeliveryReport:
    """What one :meth:`Deliverer.deliver_pending` run did, by outbox key."""

    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)  # failed this time, will be tried again
    failed: list[str] = field(default_factory=list)  # given up
    refused: list[str] = field(default_factory=list)  # a recipient outside council.domains: never sent
    skipped: list[str] = field(default_factory=list)  # another deliverer had claimed it
    refused_recipients: dict[str, list[str]] = field(default_factory=dict)  # sent, but these were refused
    server_error: str | None = None  # the batch could not start or was stopped: the sender's error class
    server_detail: str | None = None  # and its message (code and server text; never a password or a body)

    @property
    def attempted(self) -> int:
        return len(self.sent) + len(self.retrying) + len(self.failed)


class Deliverer:
    """Sends due outbox rows through ``sender``; see the module docstring for the transactions."""

    def __init__(
        self,
        store: Store,
        sender: MailSender,
        *,
        clock: Callable[[], datetime],
        allows: Callable[[str], bool],
        max_attempts: int = 8,
        from_name: str = FROM_NAME,
        lease: timedelta = CLAIM_LEASE,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.store = store
        self.sender = sender
        self.clock = clock
        self.allows = allows
        self.max_attempts = max_attempts
        self.from_name = from_name
        self.lease = lease

    # ---- the run ---------------------------------------------------------------------------------------
    def deliver_pending(self, limit: int = 50) -> DeliveryReport:
        """Send up to ``limit`` due mails, oldest first."""
        report = DeliveryReport()
        with self.store.unit_of_work() as uow:
            due = [row.id for row in uow.outbox.pending(self.clock(), limit)]
        if not due:
            return report
        deliverable = [row_id for row_id in due if self._check_recipients(row_id, report)]
        if not deliverable:
            return report
        try:
            self.sender.open()
        except SendError as exc:
            report.server_error, report.server_detail = type(exc).__name__, str(exc)
            self._log_server_error(exc, "cannot open the sender", len(deliverable))
            return report
        try:
            for row_id in deliverable:
                if not self._deliver_one(row_id, report):
                    break
        finally:
            self.sender.close()
        if report.attempted or report.refused:
            log.info("outbox delivered sent=%d retrying=%d failed=%d refused=%d skipped=%d",
                     len(report.sent), len(report.retrying), len(report.failed), len(report.refused),
                     len(report.skipped))
        return report

    def _check_recipients(self, row_id: int, report: DeliveryReport) -> bool:
        """True when the row may be sent; a row with a recipient outside the domains is refused here."""
        with self.store.unit_of_work() as uow:
            row = uow.session.get(OutboxMail, row_id)
            if row is None or row.status != "pending":
                return False
            recipients = recipients_of(row)
            foreign = [a for a in recipients if not self.allows(a)]
            if recipients and not foreign:
                return True
            reason = "recipient outside council.domains" if foreign else "no recipients"
            uow.outbox.mark_refused(row, reason)
            uow.events.append("mail_refused", escalation=row.escalation, at=self.clock(), data={
                "mail": row.key, "kind": row.kind, "refused": foreign, "reason": reason + " (at sending)"})
            key = row.key
        report.refused.append(key)
        log.warning("outbox mail refused at sending key=%s reason=%s", key, reason)
        return False

    def _deliver_one(self, row_id: int, report: DeliveryReport) -> bool:
        """Claim, send and record one row. False when the batch should stop (the server is in trouble)."""
        now = self.clock()
        with self.store.unit_of_work() as uow:
            row = uow.session.get(OutboxMail, row_id)
            if row is None or not uow.outbox.claim(row, now, now + self.lease):
                if row is not None:
                    report.skipped.append(row.key)
                return True
            key, attempts = row.key, row.attempts
        try:  # after the claim's commit: a row that cannot be made into a mail must not stay claimed forever
            msg = build_message(row, from_name=self.from_name)
        except (ValueError, TypeError, LookupError) as exc:
            error = SendPermanentError(f"cannot build the mail: {type(exc).__name__}")
            self._record_failure(row_id, key, attempts, error, report, temporary=False)
            return True
        recipients = recipients_of(row)
        try:
            refused = self.sender.send(msg, recipients)
        except SendTemporaryError as exc:
            self._record_failure(row_id, key, attempts, exc, report, temporary=True)
            if isinstance(exc, SendConnectionError | SendAuthError):
                self._log_server_error(exc, f"batch stopped at key={key}", 0)
                report.server_error, report.server_detail = type(exc).__name__, str(exc)
                return False
            return True
        except SendPermanentError as exc:
            self._record_failure(row_id, key, attempts, exc, report, temporary=False)
            return True
        self._record_sent(row_id, key, refused, report)
        return True

    # ---- recording -------------------------------------------------------------------------------------
    def _record_sent(self, row_id: int, key: str, refused: Refused, report: DeliveryReport) -> None:
        at = self.clock()
        refused_addresses = sorted(refused or {})
        with self.store.unit_of_work() as uow:
            row = uow.session.get(OutboxMail, row_id)
            if row is None:  # deleted by retention meanwhile: nothing to record
                return
            uow.outbox.mark_sent(row, at, count_attempt=False)
            copy = uow.messages.get_by_identity(row.message_id)
            if copy is not None and copy.sent_at is None:
                copy.sent_at = at
            if refused_addresses:
                uow.events.append("recipients_refused_by_server", escalation=row.escalation, at=at, data={
                    "mail": key, "refused": refused_addresses,
                    "codes": sorted({int(code) for code, _ in refused.values()})})
        report.sent.append(key)
        if refused_addresses:
            report.refused_recipients[key] = refused_addresses
            log.warning("outbox mail sent but some recipients refused key=%s refused=%d", key,
                        len(refused_addresses))
        else:
            log.debug("outbox mail sent key=%s", key)

    def _record_failure(self, row_id: int, key: str, attempts: int, exc: SendError, report: DeliveryReport,
                        *, temporary: bool) -> None:
        now = self.clock()
        give_up = not temporary or attempts >= self.max_attempts
        error = f"{type(exc).__name__}: {exc}"
        with self.store.unit_of_work() as uow:
            row = uow.session.get(OutboxMail, row_id)
            if row is None:
                return
            if give_up:
                uow.outbox.mark_failed(row, error, count_attempt=False)
                uow.events.append("send_failed", escalation=row.escalation, at=now, key=f"send_failed:{key}",
                                  data={"mail": key, "attempts": row.attempts, "error": type(exc).__name__,
                                        "code": exc.code})
            else:
                uow.outbox.mark_failed(row, error, retry_at=now + backoff(attempts), count_attempt=False)
        if give_up:
            report.failed.append(key)
            log.error("outbox mail given up key=%s attempts=%d error=%s code=%s", key, attempts,
                      type(exc).__name__, exc.code)
        else:
            report.retrying.append(key)
            log.warning("outbox mail will be retried key=%s attempts=%d in=%s error=%s code=%s", key, attempts,
                        backoff(attempts), type(exc).__name__, exc.code)

    def _log_server_error(self, exc: SendError, what: str, waiting: int) -> None:
        level = logging.ERROR if isinstance(exc, SendAuthError) else logging.WARNING
        log.log(level, "mail server trouble, %s: error=%s code=%s detail=%s waiting=%d", what, type(exc).__name__,
                exc.code, exc, waiting)


__all__ = [
    "BACKOFF",
    "CLAIM_LEASE",
    "FROM_NAME",
    "Deliverer",
    "DeliveryReport",
    "backoff",
    "build_message",
    "recipients_of",
]
