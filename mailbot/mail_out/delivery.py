"""Delivering the outbox: build each queued mail, hand it to the sender, and record what happened.

``mailbot.mail_out.outbox.queue_mail`` writes an ``OutboxMail`` row in the same transaction as the state change that
causes it. :class:`Deliverer` sends those rows later::

    report = app.deliverer.deliver_pending()   # mailbot.app.App builds it from the config

For each due row (``outbox.pending(now)``), each step in its own short transaction (SQLite takes its write lock
for the whole of a unit of work, so no transaction is ever open while we talk to the mail server):

1. **check** — every recipient must still be inside ``council.domains`` (the config may have changed since the
   row was queued). If not, the row is marked ``refused`` and a ``mail_refused`` event is written: never sent.
2. **claim** — ``attempts += 1`` and ``next_attempt_at = now + 10 min`` (the lease), as a compare-and-set on
   the row, committed *before* the mail is sent, with ``last_error`` saying the attempt is *in flight* (see
   :data:`IN_FLIGHT`). A second deliverer (another replica, an overlapping job) no longer sees the row as due,
   and if it read it a moment earlier its claim matches no row and it skips it.
3. **in doubt?** — a row is *in doubt* when its last attempt may have reached the server: it was claimed and
   never recorded (the deliverer stopped between the claim and the mark and the lease ran out: ``attempts > 0``,
   still ``pending``, ``last_error`` still the in-flight note), or the connection broke off mid-send. Before
   sending such a row again the deliverer asks the sender whether the mail is in the mailbox's Sent Items
   (:func:`mailbot.transports.sender.already_sent`, by Message-ID). Found: the row is marked sent with a
   ``send_confirmed`` event and nothing is sent. Not found, or the sender cannot tell: it is sent again. The
   search failed: the row waits (back-off, still in doubt; a connection or login failure stops the batch).
4. **send** — :func:`build_message` and ``sender.send``. The mail always has the row's deterministic
   Message-ID and, for a given row, the same Date, so a mail sent twice is recognisably the same mail.
5. **mark** — the moment ``send`` returns, and before anything else (no logging, no event): one transaction of
   two UPDATEs by key, ``status = 'sent'`` on the row and ``sent_at`` on the bot's copy in the message log
   (:meth:`store.repositories.OutboxRepository.mark_sent_at_once`). Only then the report, the
   ``recipients_refused_by_server`` event (its own transaction) and the log line. The time from ``send``
   returning to that commit is measured for every mail (:attr:`DeliveryReport.timings`; ``bench/send_duplicates.py``
   prints it). On a temporary failure ``mark_failed(retry_at=now + back-off)`` (1 min, 5 min, 15 min, 1 h,
   2 h, 4 h, then every 8 h); after ``max_attempts`` attempts (or a permanent failure) the row is given up:
   ``mark_failed`` without retry, a ``send_failed`` event (key, attempts, error class — no subject or body)
   and an ERROR log line naming the key.

**Delivery guarantees.**

- A crash after the outbox row is committed but before it is sent: the row is still pending (or its lease
  runs out within 10 minutes) and the next run sends it. Nothing queued is ever lost (at-least-once).
- A crash after the claim but before the mail reached the server: the lease runs out, the row is in doubt, the
  Sent Items search finds nothing and the mail is sent then; the attempt counts against ``max_attempts``.
- A crash after the mail reached the server but before the mark is committed: the row is in doubt after the
  lease, and what happens next depends on where the sender keeps its copy:

  * **Graph, EWS** — Exchange saves the copy in Sent Items as part of accepting the mail (``sendMail``;
    CreateItem ``SendAndSaveCopy``), so the search finds it and the mail is *not* sent again: no duplicate.
    (Graph saves the copy moments after its 202; the search runs only after the 10-minute lease.)
  * **Maildir** — the file is in the sent folder or it is not (written to ``tmp/``, renamed into ``new/``):
    no duplicate.
  * **SMTP with ``mailbox.imap.sent_folder``** — SMTP files no copy, so the SMTP sender APPENDs one to that IMAP
    folder right after the server's 250 and before the mark. A crash after the APPEND: found, no duplicate. A
    crash between the end of the DATA and the end of the APPEND (while the server takes the mail in, its reply,
    one IMAP APPEND): not found, sent again — a duplicate. Only a copy the *server* files as it accepts the mail
    could close that window.
  * **bare SMTP** — nothing to search: sent again after the lease, a duplicate. The window is from the end of
    the DATA (the server may take the mail in even if we die before its reply) to the mark's commit.

  A duplicate carries the same Message-ID, so mail clients and Exchange treat it as the same message in the
  same conversation. A mail someone deleted from Sent Items is, of course, not found.
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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.header import Header
from email.headerregistry import Address, HeaderRegistry, UniqueUnstructuredHeader, UnstructuredHeader
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import Policy
from email.utils import format_datetime

from mailbot.transports.sender import (
    MailSender,
    Refused,
    SendAuthError,
    SendConnectionError,
    SendError,
    SendPermanentError,
    SendTemporaryError,
    already_sent,
)
from rules.calendar import LONDON
from store.models import OutboxMail
from store.uow import Store

log = logging.getLogger(__name__)

FROM_NAME = "IRO escalations"
CLAIM_LEASE = timedelta(minutes=10)
# How last_error starts while an attempt's outcome is unknown: written with the claim, replaced by the outcome.
# Still there after the lease, it means the deliverer stopped mid-attempt: the mail may have reached the server.
IN_FLIGHT = "in flight:"
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
TOKEN_HEADERS = ("message-id", "in-reply-to", "references", "thread-index")


class TokenListHeader(UnstructuredHeader):
    """A header of space-separated ASCII tokens (msg-ids, Outlook's base64 Thread-Index) written as it is: folded
    only between tokens, never RFC 2047-encoded. The ``email`` package encodes an unstructured header it cannot
    fold within the line length, and an Exchange Online Message-ID (~80 characters) is such a header: encoded,
    ``In-Reply-To: =?utf-8?q?=3CLO2P265MB…?=`` names no message and nobody's mail client threads the mail."""

    def fold(self, *, policy: Policy) -> str:
        limit = policy.max_line_length or 78
        lines = [f"{self.name}:"]
        for token in str(self).split():
            if len(lines[-1]) + 1 + len(token) > limit and lines[-1] != f"{self.name}:":
                lines.append("")
            lines[-1] += f" {token}"
        return policy.linesep.join(lines) + policy.linesep


class SubjectHeader(UniqueUnstructuredHeader):
    """The Subject, folded so that it reads back exactly as written. The ``email`` package moves a subject that
    fits on a line of its own to the next line (``Subject:`` CRLF `` [ESC-0042] Who is …``), which a reader unfolds
    to a leading space (Outlook's forward then reads "FW:  [ESC-0042] …"); and it encodes the non-ASCII words of a
    subject one by one with the spaces between them outside, where RFC 2047 readers drop them ("Zoë Brontë" comes
    back "ZoëBrontë"). So the first word stays on the ``Subject:`` line, and a non-ASCII subject is encoded whole."""

    def fold(self, *, policy: Policy) -> str:
        value = str(self)
        if not value.isascii():
            encoded = Header(value, "utf-8", header_name=self.name).encode(
                linesep=policy.linesep, maxlinelen=policy.max_line_length or 78)
            return f"{self.name}: {encoded}{policy.linesep}"
        folded = super().fold(policy=policy)
        head = f"{self.name}:"
        empty_first_line = head + policy.linesep + " "
        if folded.startswith(empty_first_line):  # the first line stays under 998 characters: 78 + the name
            folded = head + " " + folded[len(empty_first_line):]
        return folded


def _header_factory() -> HeaderRegistry:
    registry = HeaderRegistry()
    registry.map_to_type("subject", SubjectHeader)
    for name in TOKEN_HEADERS:
        registry.map_to_type(name, TokenListHeader)
    return registry


# bodies as quoted-printable/base64 (no 8BITMIME needed); msg-ids and the Thread-Index never encoded
_POLICY = SMTP_POLICY.clone(cte_type="7bit", header_factory=_header_factory())


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt (1 → 1 min, 2 → 5 min, ... capped at 8 h)."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def _one_line(value: object) -> str:
    """A header value on one line: CR/LF (header injection, or a pasted multi-line subject) become spaces."""
    return " ".join(str(value).replace("\r", " ").replace("\n", " ").split())


def build_message(row: OutboxMail, *, from_name: str = FROM_NAME,
                  names: Callable[[str], str | None] | None = None) -> EmailMessage:
    """The mail for an outbox row: From "IRO escalations" <the bot's address>, To and Cc with each person's name
    where ``names`` (the directory) knows it ("Tom Manager <tom.manager@…>"), Subject, Date (when it
    was queued, Europe/London), Message-ID ``<row.message_id>``, the row's own headers (Auto-Submitted,
    In-Reply-To, References, X-...), the text — with the HTML as ``multipart/alternative`` when there is
    some — and the attachments (``multipart/mixed``). Non-ASCII subjects, names and file names are encoded
    (RFC 2047/2231); bodies are quoted-printable, so the mail is 7-bit clean with SMTP line endings. The first
    ``text/calendar`` attachment is no attachment but a meeting request: the last part of the alternative
    (see :func:`_add_calendar`).
    """
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = Address(display_name=from_name, addr_spec=row.from_email)
    msg["To"] = [_address(a, names) for a in row.to_emails]
    if row.cc_emails:
        msg["Cc"] = [_address(a, names) for a in row.cc_emails]
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
    attachments = row.attachment_list()
    calendar = next((i for i, (_f, content_type, _d) in enumerate(attachments) if _is_calendar(content_type)), None)
    if calendar is not None:  # before any attachment: the alternative must be the first part of multipart/mixed
        _add_calendar(msg, attachments[calendar][2])
    for index, (filename, content_type, data) in enumerate(attachments):
        if index == calendar:
            continue
        maintype, _, subtype = content_type.partition("/")
        if not maintype or not subtype or "/" in subtype or maintype == "multipart":
            maintype, subtype = "application", "octet-stream"
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def _is_calendar(content_type: str) -> bool:
    return content_type.strip().lower().startswith("text/calendar")


_ICAL_METHOD = re.compile(rb"^METHOD:([A-Za-z-]{1,32})\r?$", re.MULTILINE)


def _add_calendar(msg: EmailMessage, data: bytes) -> None:
    """An outbox attachment of type ``text/calendar`` (``mailbot.mail_out.invite``) as the last part of the
    ``multipart/alternative`` — text/plain, text/html, text/calendar; method=REQUEST — where Outlook and OWA read
    a meeting request (RFC 6047 2.4, [MS-OXCMAIL] 2.1.3.3.8) and show Accept / Decline. The ``method`` parameter
    is the calendar's own METHOD, which Outlook goes by when the two differ. No ``invite.ics`` besides: Outlook
    takes iCalendar anywhere else in a ``multipart/mixed`` mail for an ordinary .ics attachment."""
    text = data.decode("utf-8")  # RFC 5545's charset; anything else is not a calendar we made (ValueError)
    found = _ICAL_METHOD.search(data)
    method = found.group(1).decode("ascii").upper() if found else None
    msg.add_alternative(text, subtype="calendar")
    msg.get_payload()[-1].replace_header(
        "Content-Type", f"text/calendar; method={method}; charset=UTF-8" if method else "text/calendar; charset=UTF-8")


def _address(email: str, names: Callable[[str], str | None] | None) -> Address:
    """``email`` with its owner's name as the display name, when known (one line, never an address itself)."""
    name = _one_line(names(email) or "") if names is not None else ""
    if "@" in name or "<" in name:  # a "name" that is an address would read as a second address
        name = ""
    return Address(display_name=name, addr_spec=email)


def recipients_of(row: OutboxMail) -> list[str]:
    """The envelope recipients: To then Cc, each once."""
    return list(dict.fromkeys(a for a in [*row.to_emails, *row.cc_emails] if a))


def in_doubt(row: OutboxMail) -> bool:
    """True when the row's last attempt may have reached the server: it is still pending after an attempt whose
    outcome was never recorded (``last_error`` is the in-flight note, or empty as a row claimed before that note
    existed has it) or that broke off mid-send. Read it before claiming the row."""
    return row.status == "pending" and row.attempts > 0 and (
        row.last_error is None or row.last_error.startswith(IN_FLIGHT))


@dataclass(frozen=True)
class SendTiming:
    """For one mail sent: seconds in ``sender.send``, and from ``send`` returning to the mark's commit (the
    window in which a crash leaves the mail sent but not recorded)."""

    key: str
    send: float
    window: float


@dataclass
class DeliveryReport:
    """What one :meth:`Deliverer.deliver_pending` run did, by outbox key."""

    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)  # failed this time, will be tried again
    failed: list[str] = field(default_factory=list)  # given up
    refused: list[str] = field(default_factory=list)  # a recipient outside council.domains: never sent
    skipped: list[str] = field(default_factory=list)  # another deliverer had claimed it
    confirmed: list[str] = field(default_factory=list)  # in doubt, found in Sent Items: marked sent, not sent again
    timings: list[SendTiming] = field(default_factory=list)  # one per mail sent
    refused_recipients: dict[str, list[str]] = field(default_factory=dict)  # sent, but these were refused
    server_error: str | None = None  # the batch could not start or was stopped: the sender's error class
    server_detail: str | None = None  # and its message (code and server text; never a password or a body)

    @property
    def attempted(self) -> int:
        return len(self.sent) + len(self.retrying) + len(self.failed) + len(self.confirmed)


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
        names: Callable[[str], str | None] | None = None,
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
        self.names = names  # email -> the person's name (the directory), for the To and Cc display names

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
            with self.store.unit_of_work() as uow:  # `mailbot outbox` says why they wait
                uow.outbox.note_waiting(deliverable, f"waiting for the mail server: {type(exc).__name__}: {exc}")
                uow.commit()
            return report
        try:
            for row_id in deliverable:
                if not self._deliver_one(row_id, report):
                    break
        finally:
            self.sender.close()
        if report.attempted or report.refused:
            log.info("outbox delivered sent=%d confirmed=%d retrying=%d failed=%d refused=%d skipped=%d",
                     len(report.sent), len(report.confirmed), len(report.retrying), len(report.failed),
                     len(report.refused), len(report.skipped))
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
        """Claim, (when in doubt) look in Sent Items, send and record one row. False when the batch should stop
        (the server is in trouble)."""
        now = self.clock()
        with self.store.unit_of_work() as uow:
            row = uow.session.get(OutboxMail, row_id)
            if row is None:
                return True
            doubt = in_doubt(row)  # the previous attempt's state, read before this claim replaces it
            if not uow.outbox.claim(row, now, now + self.lease):
                report.skipped.append(row.key)
                return True
            uow.outbox.mark_in_flight(row, f"{IN_FLIGHT} attempt {row.attempts} started "
                                           f"{now.isoformat(timespec='seconds')}; its outcome is not recorded yet")
            key, attempts, message_id = row.key, row.attempts, row.message_id
        if doubt:
            go_on = self._resolve_doubt(row_id, key, attempts, message_id, report)
            if go_on is not None:
                return go_on
        try:  # after the claim's commit: a row that cannot be made into a mail must not stay claimed forever
            msg = build_message(row, from_name=self.from_name, names=self.names)
        except (ValueError, TypeError, LookupError) as exc:
            error = SendPermanentError(f"cannot build the mail: {type(exc).__name__}")
            self._record_failure(row_id, key, attempts, error, report, temporary=False)
            return True
        recipients = recipients_of(row)
        started = time.perf_counter()
        try:
            refused = self.sender.send(msg, recipients)
        except SendTemporaryError as exc:
            # a connection that broke off mid-send may have broken off after the server took the mail
            self._record_failure(row_id, key, attempts, exc, report, temporary=True,
                                 maybe_sent=isinstance(exc, SendConnectionError))
            if isinstance(exc, SendConnectionError | SendAuthError):
                self._log_server_error(exc, f"batch stopped at key={key}", 0)
                report.server_error, report.server_detail = type(exc).__name__, str(exc)
                return False
            return True
        except SendPermanentError as exc:
            self._record_failure(row_id, key, attempts, exc, report, temporary=False)
            return True
        # the server has the mail: record it before anything else (see the module docstring, step 5)
        accepted = time.perf_counter()
        at = self.clock()
        with self.store.unit_of_work(durable=False) as uow:  # no wait for the disk: a crash window shrunk
            uow.outbox.mark_sent_at_once(row_id, at)
            uow.messages.mark_copy_sent(message_id, at)
        report.timings.append(SendTiming(key, accepted - started, time.perf_counter() - accepted))
        self._after_sent(row_id, key, refused, at, report)
        return True

    def _resolve_doubt(self, row_id: int, key: str, attempts: int, message_id: str,
                       report: DeliveryReport) -> bool | None:
        """A row whose last attempt may have reached the server: look for it in Sent Items. None: send it (not
        there, or the sender cannot tell); True/False: done with this row, go on with the batch / stop it."""
        try:
            found = already_sent(self.sender, message_id)
        except SendTemporaryError as exc:
            self._record_failure(row_id, key, attempts, exc, report, temporary=True, maybe_sent=True,
                                 doing="looking in Sent Items")
            if isinstance(exc, SendConnectionError | SendAuthError):
                self._log_server_error(exc, f"batch stopped at key={key} (looking in Sent Items)", 0)
                report.server_error, report.server_detail = type(exc).__name__, str(exc)
                return False
            return True
        except SendPermanentError as exc:  # e.g. no right to read Sent Items: as good as "cannot tell"
            log.warning("cannot look in Sent Items for a mail that may have been sent key=%s error=%s code=%s",
                        key, type(exc).__name__, exc.code)
            found = None
        if found:
            self._record_confirmed(row_id, key, report)
            return True
        if found is None:
            log.warning("outbox mail may have been sent before and the sender cannot tell; sending it again "
                        "key=%s attempts=%d", key, attempts)
        else:
            log.info("outbox mail in doubt is not in Sent Items; sending it again key=%s attempts=%d", key, attempts)
        return None

    # ---- recording -------------------------------------------------------------------------------------
    def _after_sent(self, row_id: int, key: str, refused: Refused, at: datetime, report: DeliveryReport) -> None:
        """What follows the mark (which is already committed): the refused recipients' event, report, log."""
        refused_addresses = sorted(refused or {})
        if refused_addresses:
            with self.store.unit_of_work() as uow:
                row = uow.session.get(OutboxMail, row_id)
                if row is not None:
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

    def _record_confirmed(self, row_id: int, key: str, report: DeliveryReport) -> None:
        at = self.clock()
        with self.store.unit_of_work() as uow:
            row = uow.session.get(OutboxMail, row_id)
            if row is None:
                return
            uow.outbox.mark_sent(row, at, count_attempt=False)
            uow.messages.mark_copy_sent(row.message_id, at)
            uow.events.append("send_confirmed", escalation=row.escalation, at=at, key=f"send_confirmed:{key}",
                              data={"mail": key, "attempts": row.attempts, "found": "in Sent Items",
                                    "note": "an earlier attempt reached the server; not sent again"})
            attempts = row.attempts
        report.confirmed.append(key)
        log.info("outbox mail found in Sent Items, not sent again key=%s attempts=%d", key, attempts)

    def _record_failure(self, row_id: int, key: str, attempts: int, exc: SendError, report: DeliveryReport,
                        *, temporary: bool, maybe_sent: bool = False, doing: str = "sending") -> None:
        """``maybe_sent``: the mail may have reached the server all the same, so the row stays in doubt (its
        ``last_error`` keeps the in-flight prefix) and Sent Items are searched before it is sent again."""
        now = self.clock()
        give_up = not temporary or attempts >= self.max_attempts
        error = f"{type(exc).__name__}: {exc}"
        if maybe_sent:
            error = f"{IN_FLIGHT} attempt {attempts} may have reached the server ({doing} failed: {error})"
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
    "IN_FLIGHT",
    "Deliverer",
    "DeliveryReport",
    "SendTiming",
    "backoff",
    "build_message",
    "in_doubt",
    "recipients_of",
]
