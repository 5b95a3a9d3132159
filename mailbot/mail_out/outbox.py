"""Queueing the bot's own mail: one call writes the outbox row, the bot's copy in the message log and the event.

Everything a mail needs is decided here, in the same transaction as the state change that causes it (the
transactional outbox): the deterministic Message-ID, threading headers so Outlook puts it in the original
conversation, ``Auto-Submitted: auto-generated`` so nobody's out-of-office answers it, and the recipients —
only addresses in the council's domains; any other is refused and recorded. A sender (``mailbot.mail_out.delivery``)
delivers the rows later and marks them.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from mailbot.config import Config
from parsers.message import conversation_key
from rules.conversation import Mail, Thread, thread_for
from store.models import Escalation, Message, OutboxMail
from store.uow import UnitOfWork

from . import loaded

log = logging.getLogger(__name__)

_KEY_SAFE = re.compile(r"[^a-z0-9.\-]+")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


def bot_domain(config: Config) -> str:
    return config.mailbox.address.rpartition("@")[2] or "iro-mailbot.invalid"


def message_id_for(key: str, domain: str) -> str:
    """A Message-ID made from the action key: the same key always gives the same id (without brackets).

    ``ESC-0042.L2.chase.-2@2026-12-07`` → ``esc-0042.l2.chase.-2.2026-12-07.1a2b3c4d@council.gov.uk``; the hash
    keeps two keys that read alike after cleaning apart.
    """
    readable = _KEY_SAFE.sub(".", key.lower()).strip(".")[:80] or "mail"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
    return f"{readable}.{digest}@{domain}"


def tagged(subject: str, reference: str | None) -> str:
    """The subject with the ``[ESC-0042]`` tag in front (once)."""
    if not reference or f"[{reference}]" in subject:
        return subject
    return f"[{reference}] {subject}"


def _clean(addresses: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for address in addresses:
        address = (address or "").strip().lower()
        if address:
            seen.setdefault(address, None)
    return list(seen)


def thread_of(esc: Escalation | None, recipients: Sequence[str], *, now: datetime,
              domain: str) -> Thread | None:
    """The conversation a new mail to ``recipients`` about ``esc`` joins (``rules.conversation``): In-Reply-To
    the latest mail of the record they took part in (never machine mail or mail kept for attention),
    References from the IRO's mail on, Outlook's Thread-Index and Thread-Topic. None without a record."""
    if esc is None:
        return None
    mails = [Mail(message_id=m.message_id, at=m.received_at, kind=m.kind, state=m.state,
                  people=frozenset(a.lower() for a in (m.from_email, *m.to_emails, *m.cc_emails) if a),
                  thread_index=m.thread_index, subject=m.subject)
             for m in esc.messages]
    return thread_for(mails, recipients, now=now, seed=f"{esc.reference}@{domain}", opened=esc.opened_at)


def queue_mail(
    uow: UnitOfWork,
    config: Config,
    *,
    key: str,
    kind: str,
    to: Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    cc: Sequence[str] = (),
    escalation: Escalation | None = None,
    attachments: Sequence[Attachment] = (),
    now: datetime,
) -> OutboxMail | None:
    """Queue one mail, once per ``key`` (a second call with the same key returns the queued row unchanged).

    Recipients outside ``council.domains`` are dropped and an event records the refusal; when nobody is left in
    To the mail is queued as refused (never sent) so the decision stays visible. Returns the outbox row.
    """
    known = loaded.queued(uow, escalation) if loaded.fast(uow, escalation) else None
    if known is None or key in known:  # a record loaded by a caller that holds its lock: its keys are known
        existing = uow.outbox.get(key)
        if existing is not None:
            return existing
    to_ok = [a for a in _clean(to) if config.allows_address(a)]
    cc_ok = [a for a in _clean(cc) if config.allows_address(a) and a not in to_ok]
    refused = [a for a in _clean([*to, *cc]) if not config.allows_address(a)]
    if config.mailbox.address in cc_ok:  # the bot does not copy itself
        cc_ok.remove(config.mailbox.address)
    domain = bot_domain(config)
    message_id = message_id_for(key, domain)
    thread = thread_of(escalation, [*to_ok, *cc_ok], now=now, domain=domain)
    headers = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All",
               "X-Mailer": "iro-mailbot", "X-IRO-Mailbot-Key": key}
    if thread is not None:
        headers["In-Reply-To"] = f"<{thread.in_reply_to}>"
        headers["References"] = " ".join(f"<{r}>" for r in thread.references)
        headers["Thread-Index"] = thread.thread_index
        if thread.thread_topic:
            headers["Thread-Topic"] = thread.thread_topic
    if escalation is not None:
        headers["X-IRO-Mailbot-Reference"] = escalation.reference
    subject = tagged(subject, escalation.reference if escalation is not None else None)
    # a known new key is written with the record's other rows at its one flush, without a SAVEPOINT of its own
    row = uow.outbox.add(
        key=key, message_id=message_id, kind=kind, from_email=config.mailbox.address, to_emails=to_ok,
        cc_emails=cc_ok, subject=subject, body_text=text, body_html=html, headers=headers, escalation=escalation,
        created_at=now, attachments=[(a.filename, a.content_type, a.data) for a in attachments],
        known_new=known is not None,
    )
    if refused:
        uow.events.append("recipient_refused", escalation=escalation, data={
            "mail": key, "refused": refused, "reason": "outside council.domains"})
        log.warning("recipients outside council.domains refused mail=%s count=%d", key, len(refused))
    if not to_ok:
        uow.outbox.mark_refused(row, "no recipient inside council.domains")
        uow.events.append("mail_refused", escalation=escalation, data={"mail": key, "kind": kind})
        return row
    if known is None and uow.messages.get_by_identity(message_id) is not None:  # queued meanwhile by another worker
        return row
    # the bot's copy in the message log, so replies to it thread by In-Reply-To/References
    copy = Message(
        identity=message_id, message_id=message_id, escalation=escalation, direction="out", kind="bot",
        from_email=config.mailbox.address, from_name="IRO escalations", to_emails=to_ok, cc_emails=cc_ok,
        subject=subject, sent_at=None, received_at=now,
        in_reply_to=[thread.in_reply_to] if thread is not None and thread.in_reply_to else [],
        references=list(thread.references) if thread is not None else [],
        thread_index=thread.thread_index if thread is not None else None,
        conversation_key=conversation_key(thread.thread_index) if thread is not None else None,
        new_text=text[:4000], state="matched" if escalation is not None else "recorded",
        source_key="outbox", source_ref=key,
    )
    if known is None:
        uow.messages.add(copy)  # flushed: a duplicate identity fails here
    else:
        uow.session.add(copy)  # written at the record's flush (a duplicate fails there; the caller does it again)
    return row


__all__ = ["Attachment", "bot_domain", "message_id_for", "queue_mail", "tagged", "thread_of"]
