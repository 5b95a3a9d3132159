"""Sending mail: the small interface every sender implements, its errors, and the local Maildir sender.

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

import logging
import mailbox
import os
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from mailbot.errors import MailbotError

log = logging.getLogger(__name__)

Refused = Mapping[str, tuple[int, str]]  # recipient -> (SMTP code, server text)

DIRECTORY_MODE = 0o700


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


class MaildirSender:
    """The embedded default: each mail becomes a file in a local Maildir (``new/``). Nothing leaves the
    machine; a person (or a test) reads the folder. The folder and its missing parents are made 0700.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._box: mailbox.Maildir | None = None

    def open(self) -> None:
        if self._box is not None:
            return
        try:
            _make_private_dirs(self.path)
            for sub in ("tmp", "new", "cur"):  # mailbox.Maildir makes these only when it makes the folder too
                (self.path / sub).mkdir(mode=DIRECTORY_MODE, exist_ok=True)
            self._box = mailbox.Maildir(self.path, factory=None, create=False)
        except OSError as exc:
            raise SendTemporaryError(f"cannot open the sent-mail Maildir {self.path}: {exc.strerror or exc}") from exc

    def send(self, msg: EmailMessage, recipients: Sequence[str]) -> Refused:
        self.open()
        box = self._box
        assert box is not None
        raw = msg.as_bytes(policy=msg.policy.clone(linesep="\n"))
        try:
            key = box.add(raw)
        except OSError as exc:
            raise SendTemporaryError(f"cannot write to the sent-mail Maildir {self.path}: {exc.strerror or exc}") \
                from exc
        log.debug("mail written to maildir path=%s file=%s recipients=%d", self.path, key, len(recipients))
        return {}

    def close(self) -> None:
        self._box = None

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MaildirSender({str(self.path)!r})"


def _make_private_dirs(path: Path) -> None:
    """Create ``path`` and each missing parent with mode 0700 (existing folders are left as they are)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        folder.mkdir(mode=DIRECTORY_MODE, exist_ok=True)
        folder.chmod(DIRECTORY_MODE)  # mkdir's mode is cut by the umask


__all__ = [
    "MailSender",
    "MaildirSender",
    "Refused",
    "SendAuthError",
    "SendConnectionError",
    "SendError",
    "SendPermanentError",
    "SendTemporaryError",
]
