"""The facts a parsed email carries. Built by :func:`parsers.message.parse_message`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

RAW_HEADERS = frozenset({"from", "sender", "authentication-results"})
"""The headers :class:`ParsedMail` also keeps raw (``raw_headers``): those :mod:`parsers.authenticity` decides on."""


@dataclass(frozen=True)
class Address:
    """One mailbox: display name and lower-cased address."""

    name: str
    email: str

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]

    def __str__(self) -> str:  # pragma: no cover - convenience
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass(frozen=True)
class Attachment:
    filename: str | None
    content_type: str
    size: int


@dataclass(frozen=True)
class ParsedMail:
    """Everything the bot reads from one RFC 5322 message.

    Message-IDs are stored without angle brackets and surrounding space.  ``headers`` keeps every
    top-level header as ``(lower-case name, decoded value)`` in order, so rules that look at
    headers (machine-mail detection) need nothing else.  ``defects`` lists what could not be
    parsed; a non-empty list never means the mail was dropped.

    ``raw_headers`` keeps the headers named in :data:`RAW_HEADERS` (From, Sender, Authentication-Results; every
    instance, in order) as ``(lower-case name, raw value)``: unfolded, 8-bit bytes read as UTF-8 (else
    Windows-1252), and nothing else done to them: never RFC 2047-decoded, never re-read as addresses.  Who sent a
    mail is decided on these (:mod:`parsers.authenticity`); ``headers`` is for reading what a mail says.
    """

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    thread_index: str | None          # Outlook Thread-Index header, base64 as sent
    thread_topic: str | None          # Outlook Thread-Topic header
    conversation_key: str | None      # hex of the first 22 bytes of Thread-Index (the conversation root)
    subject: str
    from_: Address | None
    sender: Address | None
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: datetime | None             # timezone-aware, UTC
    headers: tuple[tuple[str, str], ...]
    content_type: str                 # top-level MIME type, e.g. "multipart/report"
    text: str                         # the whole body as plain text (HTML converted)
    html: str | None                  # the HTML body when there was one
    new_text: str                     # the new text of a reply: quoted history and signature removed
    attachments: tuple[Attachment, ...] = ()
    delivery_status: str | None = None  # text of a message/delivery-status part (bounces)
    enclosed_message_ids: tuple[str, ...] = ()  # Message-IDs of attached or returned mails (bounces, forwards)
    defects: tuple[str, ...] = ()
    fingerprint: str = ""             # stable hash of key headers; identity when Message-ID is missing
    size: int = 0
    raw_headers: tuple[tuple[str, str], ...] = ()  # RAW_HEADERS as they came (see above)
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def identity(self) -> str:
        """The key that makes ingest idempotent: the Message-ID, else the fingerprint."""
        return self.message_id or f"fingerprint:{self.fingerprint}"

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    def raw_header_all(self, name: str) -> list[str]:
        """Every raw value of header ``name`` (one of :data:`RAW_HEADERS`), in order; see ``raw_headers``."""
        name = name.lower()
        if name not in RAW_HEADERS:
            raise ValueError(f"{name!r} is not kept raw; the raw headers are {sorted(RAW_HEADERS)}")
        return [value for key, value in self.raw_headers if key == name]
