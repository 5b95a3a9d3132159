"""Which conversation a bot mail joins: In-Reply-To, References, Thread-Index and Thread-Topic. Pure.

Every mail the bot sends about an escalation is a reply in that escalation's conversation, so Outlook, OWA and
Gmail show it with the IRO's concern and what followed, never as a stray new mail:

- **In-Reply-To** names the latest mail of the record that one of this mail's recipients took part in (sent,
  received or was copied on) — for a chaser to the Team Manager, the bot's previous chaser to them or the IRO's
  mail that copied them; someone new to the matter (the next level's manager) gets a reply to the IRO's mail.
  Only people's mails and the bot's own count: never an out-of-office, a bounce, a mail kept for attention (an
  outsider's, an unreadable one) — a reminder filed under an automatic reply is lost to the reader.
- **References**: the IRO's mail (the root), then up to nine of the latest mails before and including the parent,
  oldest first, each once (RFC 5322 §3.6.4: keep the root, trim the middle).
- **Thread-Index** (Outlook's conversation index, [MS-OXOMSG] 2.2.1.3): the parent's index with one 5-byte child
  block added for the time of sending; when no mail of the record carries one (the IRO wrote from Gmail), a
  header block made for the record (its opening time, and a GUID derived from the record's reference and the
  council's domain), so that all the bot's mails about one case are still one conversation in Outlook.
- **Thread-Topic**: the conversation's topic, the root's subject without "RE:"/"FW:" prefixes and the bot's
  ``[ESC-…]`` tag.

Message-IDs come from mail anyone can send: only well-formed ones (printable ASCII, no brackets or spaces, at
most :data:`MAX_ID_LENGTH` characters) are ever written into a header.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_ID_LENGTH = 250
MAX_REFERENCES = 10
PEOPLES_KINDS = frozenset({"human", "bot"})
_ID_RE = re.compile(r"[!-;=?-~]{1,250}")  # printable ASCII without < > and space; linear (one class, bounded)
_PREFIX_RE = re.compile(r"(?:(?:re|fw|fwd|aw|wg|sv|vs|tr)\s?:\s*|\[ESC-[0-9]{1,9}\]\s*)", re.IGNORECASE)
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_HEADER_BYTES = 22
_CHILD_BYTES = 5
_NAMESPACE = uuid.UUID("6f1b3a52-1c1e-4f52-9a31-3b5f2e0c7d41")  # iro-mailbot's own, for the records' GUIDs


@dataclass(frozen=True)
class Mail:
    """What the conversation rules need to know of one mail of a record."""

    message_id: str | None
    at: datetime
    kind: str = "human"  # human | bot | auto_reply | bounce | unreadable
    state: str = "matched"  # recorded | matched | attention
    people: frozenset[str] = frozenset()  # sender, To and Cc, lower case
    thread_index: str | None = None
    subject: str | None = None


@dataclass(frozen=True)
class Thread:
    in_reply_to: str | None  # without <>
    references: tuple[str, ...]
    thread_index: str
    thread_topic: str | None


def valid_id(message_id: str | None) -> bool:
    """A Message-ID (without ``<>``) safe to write into a header."""
    return bool(message_id) and _ID_RE.fullmatch(message_id or "") is not None


def topic(subject: str | None) -> str | None:
    """The conversation topic of ``subject``: without leading reply/forward prefixes and ``[ESC-…]`` tags."""
    if not subject:
        return None
    text = " ".join(subject.split())
    while True:
        m = _PREFIX_RE.match(text)
        if not m or not m.group(0):
            break
        text = text[m.end():]
    return text or None


def thread_for(mails: Sequence[Mail], recipients: Sequence[str], *, now: datetime, seed: str,
               opened: datetime | None = None) -> Thread | None:
    """The conversation headers for a new mail to ``recipients`` about the record whose mails are ``mails``
    (any order). ``seed`` names the record (its reference and the bot's domain) for a Thread-Index made anew;
    ``opened`` is the record's opening time (else the root's). None when the record has no mail to reply to."""
    usable = sorted((m for m in mails if _usable(m)), key=lambda m: m.at)
    if not usable:
        return None
    root = next((m for m in usable if m.kind == "human"), usable[0])
    usable = usable[usable.index(root):]  # the conversation starts with the IRO's mail
    wanted = {r.strip().lower() for r in recipients if r}
    seen = [m for m in usable if m.people & wanted]
    parent = seen[-1] if seen else root
    before = [m for m in usable if m.at <= parent.at and m is not root]
    chain = [root, *before[-(MAX_REFERENCES - 1):]]
    references = tuple(dict.fromkeys(m.message_id for m in chain if m.message_id))
    base = next((m.thread_index for m in (parent, root) if header_time(m.thread_index) is not None), None)
    if base is None:
        base = new_index(opened or root.at, seed)
    assert parent.message_id is not None
    return Thread(parent.message_id, references, child_index(base, now, parent.message_id),
                  topic(root.subject))


def _usable(mail: Mail) -> bool:
    return mail.kind in PEOPLES_KINDS and mail.state != "attention" and valid_id(mail.message_id)


# ---- Outlook's conversation index -------------------------------------------------------------------------------


def filetime(moment: datetime) -> int:
    """100-nanosecond intervals since 1601-01-01 UTC (Windows FILETIME)."""
    delta = moment.astimezone(UTC) - _FILETIME_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def new_index(moment: datetime, seed: str) -> str:
    """A header block as Exchange Online writes it (reserved 0x01, FILETIME >> 24 in 5 bytes, a GUID), base64;
    the GUID derived from ``seed``, so a record always gets the same conversation."""
    guid = uuid.uuid5(_NAMESPACE, seed)
    block = b"\x01" + (filetime(moment) >> 24).to_bytes(5, "big") + guid.bytes
    return base64.b64encode(block).decode("ascii")


def _decode(index: str | None) -> bytes | None:
    if not index or len(index) > 4096:
        return None
    compact = "".join(index.split())
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) < _HEADER_BYTES or (len(raw) - _HEADER_BYTES) % _CHILD_BYTES:
        return None
    return raw


def header_time(index: str | None) -> int | None:
    """The FILETIME a conversation index's header block holds, or None when ``index`` is not one. Two variants
    are in use: Exchange 2013+/Online/OWA/Graph write 0x01 then FILETIME >> 24 (so the second byte is 0x01 for
    any date of this century); desktop Outlook wrote FILETIME >> 16 in the first six bytes."""
    raw = _decode(index)
    if raw is None or raw[0] != 0x01:
        return None
    if raw[1] == 0x01:
        return int.from_bytes(raw[1:6], "big") << 24
    return int.from_bytes(raw[0:6], "big") << 16


def child_index(index: str, now: datetime, salt: str) -> str:
    """``index`` with one child block for a reply sent at ``now`` ([MS-OXOMSG] 2.2.1.3: a delta-code bit, 31 bits
    of the time since the header's time, and a byte that tells replies of the same moment apart — here derived
    from ``salt``, so the same mail always gets the same index)."""
    raw = _decode(index)
    start = header_time(index)
    if raw is None or start is None:
        raise ValueError("not a conversation index")
    delta = max(filetime(now) - start, 0)
    # the delta code: 0 for less than about 1.8 years (bits 49..18 of the delta), else 1 (bits 54..23)
    code = (delta >> 18) & 0x7FFF_FFFF if delta < 1 << 49 else 0x8000_0000 | ((delta >> 23) & 0x7FFF_FFFF)
    tail = hashlib.sha256(salt.encode("utf-8", "replace")).digest()[0]
    return base64.b64encode(raw + code.to_bytes(4, "big") + bytes([tail])).decode("ascii")


__all__ = ["MAX_ID_LENGTH", "Mail", "Thread", "child_index", "filetime", "header_time", "new_index", "thread_for",
           "topic", "valid_id"]
