"""Sending mail: the small interface every sender implements, and its errors.

A sender is used for a batch: ``open()`` (connect, log in), ``send()`` once per mail, ``close()``. It is also a
context manager doing the same. ``send`` takes a finished :class:`email.message.EmailMessage` and the envelope
recipients and returns the recipients the server refused while accepting the mail for the others (empty when
everyone was accepted): the mail then counts as sent.

Errors say what the caller should do, not which library raised them:

- :class:`SendTemporaryError` — try this mail again later (SMTP 4xx, a timeout, a dropped connection).
- :class:`SendConnectionError` (temporary) — the server cannot be reached or hung up. Stop the batch: every
  other mail would fail the same way.
- :class:`SendAuthError` (temporary) — the server refused the login or the TLS negotiation. Retried, because a
  person can fix it (a new password, an unlocked account) without losing the mail, but it is an operator's
  problem: the deliverer logs it at ERROR every time and stops the batch.
- :class:`SendPermanentError` — this mail will never go (5xx for every recipient, message refused): give it up.

Error messages hold the SMTP code and the server's words, never a password, token, subject or body.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from typing import Protocol, runtime_checkable

from mailbot.errors import MailbotError

Refused = Mapping[str, tuple[int, str]]  # recipient -> (SMTP code, server text)


class SendError(MailbotError):
    """A mail could not be handed over. ``code`` is the SMTP reply code when there was one."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class SendTemporaryError(SendError):
    """Try again later: the same mail may well go through then."""


class SendConnectionError(SendTemporaryError):
    """The server could not be reached, timed out or hung up (the whole batch should wait)."""


class SendAuthError(SendTemporaryError):
    """The server refused the login (or TLS): retried, but someone has to fix the account or the config."""


class SendPermanentError(SendError):
    """The server refused this mail for good (5xx for every recipient, or the message itself)."""


@runtime_checkable
class MailSender(Protocol):
    """Where the bot's mail goes: an SMTP server, or a local Maildir."""

    def open(self) -> None:
        """Prepare for a batch (connect and log in). Idempotent."""
        ...

    def send(self, msg: EmailMessage, recipients: Sequence[str]) -> Refused:
        """Hand over one mail for ``recipients``; returns the recipients refused while others were accepted."""
        ...

    def close(self) -> None:
        """End the batch. Idempotent, never raises."""
        ...


__all__ = [
    "MailSender",
    "Refused",
    "SendAuthError",
    "SendConnectionError",
    "SendError",
    "SendPermanentError",
    "SendTemporaryError",
]
