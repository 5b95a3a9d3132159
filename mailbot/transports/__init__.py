"""Mail sources: where the bot reads mail from (IMAP, a local Maildir), behind one small interface."""

from .base import (
    FetchedMail,
    MailSource,
    Outcome,
    TransportAuthError,
    TransportConnectionError,
    TransportError,
    TransportProtocolError,
)
from .imap import ImapSource
from .maildir import MaildirSource

__all__ = [
    "FetchedMail",
    "ImapSource",
    "MailSource",
    "MaildirSource",
    "Outcome",
    "TransportAuthError",
    "TransportConnectionError",
    "TransportError",
    "TransportProtocolError",
]
