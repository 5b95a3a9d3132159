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

**Was it sent already?** A sender may also offer :meth:`SentItemsCheck.already_sent` (an optional capability, not
part of :class:`MailSender`): given a Message-ID (without ``<>``) it says whether the mailbox's Sent Items hold a
mail with it — ``True``/``False``, or ``None`` when this sender cannot tell. The deliverer asks only about a mail
whose last attempt may have reached the server (its deliverer stopped between the claim and the mark, or the
connection broke mid-send), and marks it sent instead of sending it again when the answer is ``True``. A search
that failed raises the same errors as ``send`` (temporary, connection, auth): the mail then waits, still in doubt.
Use :func:`already_sent` to ask any sender.

====================  =====================================================================================
sender                how it knows
====================  =====================================================================================
Graph                 ``mailFolders/sentitems/messages?$filter=internetMessageId eq '<id>'`` (sendMail saves
                      the copy itself, as part of sending)
EWS                   FindItem on Sent Items, ``message:InternetMessageId`` (CreateItem SendAndSaveCopy saves
                      the copy itself)
SMTP                  ``SEARCH HEADER Message-ID`` in ``mailbox.imap.sent_folder`` over IMAP, where the SMTP
                      sender APPENDs its copy right after the server's 250 (only when that folder is set)
Maildir               the Message-ID in the sent folder's own files (a mail is there or it is not)
====================  =====================================================================================
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


@runtime_checkable
class SentItemsCheck(Protocol):
    """The optional capability of a sender that can look in the mailbox's Sent Items (see the module text)."""

    def already_sent(self, message_id: str) -> bool | None:
        """Whether a mail with ``message_id`` (no ``<>``) is in Sent Items; None when this sender cannot tell."""
        ...


def already_sent(sender: object, message_id: str) -> bool | None:
    """Ask ``sender`` whether ``message_id`` was sent already: None when it has no way to tell."""
    if not isinstance(sender, SentItemsCheck):
        return None
    return sender.already_sent(message_id)


def bare_message_id(message_id: str) -> str:
    """A Message-ID without the angle brackets and surrounding space (``"<a@b>"`` and ``"a@b"`` → ``"a@b"``)."""
    return message_id.strip().removeprefix("<").removesuffix(">").strip()


__all__ = [
    "MailSender",
    "Refused",
    "SendAuthError",
    "SendConnectionError",
    "SendError",
    "SendPermanentError",
    "SendTemporaryError",
    "SentItemsCheck",
    "already_sent",
    "bare_message_id",
]
