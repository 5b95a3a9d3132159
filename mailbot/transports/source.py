"""The one small interface every mail source implements, and the transport errors.

A source hands out raw messages *after a cursor*, oldest first. The service parses and records each mail, then
stores ``FetchedMail.cursor`` for ``MailSource.key`` in the same transaction, so a crash replays at most the
mails not yet recorded. Ingest is idempotent by Message-ID (docs/architecture.md, "Mail in"), so a source that
cannot keep an exact cursor (a Maildir, an IMAP folder whose UIDVALIDITY changed) may hand out mail that was seen
before.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from mailbot.errors import MailbotError

Outcome = Literal["processed", "attention"]
OUTCOMES: tuple[Outcome, ...] = ("processed", "attention")


@dataclass(frozen=True)
class FetchedMail:
    """One message as the transport found it."""

    raw: bytes
    ref: str  # where it is, transport-specific: "INBOX/<uidvalidity>/<uid>" or a maildir key
    cursor: str  # the cursor value to store once this mail has been recorded (monotonic per source)

    def __repr__(self) -> str:  # never put a body in a log line or a traceback
        return f"FetchedMail(ref={self.ref!r}, cursor={self.cursor!r}, size={len(self.raw)})"


@runtime_checkable
class MailSource(Protocol):
    """A mailbox the bot reads.

    ``key`` is a stable name for the cursor row, e.g. ``"imap:iro-escalations@council.gov.uk@host/INBOX"``.
    """

    key: str

    def fetch(self, cursor: str | None, limit: int = 200) -> Iterator[FetchedMail]:
        """Mails after ``cursor`` (None: from the start), oldest first, at most ``limit``."""
        ...

    def settle(self, ref: str, outcome: Outcome) -> None:
        """Tell the source what became of a mail: ``"processed"`` or ``"attention"`` (may move it).

        A source that can settle several mails at once (IMAP: one UID MOVE for a batch) also has
        ``settle_many(refs, outcome)``, which the poll uses when it is there; it is not part of the protocol, so a
        source without it needs nothing more."""
        ...

    def wait(self, timeout: float) -> bool:
        """Block until new mail may be there (True) or ``timeout`` seconds passed (False)."""
        ...

    def close(self) -> None:
        """Release connections. Idempotent."""
        ...


class TransportError(MailbotError):
    """A mailbox could not be read. Messages are plain words and never contain a password or token."""


class TransportConnectionError(TransportError):
    """The server could not be reached, or the connection broke."""


class TransportAuthError(TransportError):
    """The server refused the user name and password (or token)."""


class TransportProtocolError(TransportError):
    """The server answered, but not as expected (missing folder, refused command...)."""


def check_outcome(outcome: str) -> Outcome:
    """``outcome`` as an :data:`Outcome`, or ValueError naming the allowed values."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
    return outcome  # type: ignore[return-value]
