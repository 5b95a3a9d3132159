"""Sending over SMTP with :mod:`smtplib`: implicit TLS, STARTTLS or plain (loopback/tests), and AUTH.

    sender = SmtpSender("smtp.office365.com", 587, "starttls", username="iro@council.gov.uk", password=pw)
    with sender:                      # one connection for the batch
        refused = sender.send(msg, ["tm@council.gov.uk", "qa@council.gov.uk"])

Login: with ``oauth2_token_provider`` (a callable returning a fresh access token) the XOAUTH2 mechanism is used
(``user=U\\x01auth=Bearer T\\x01\\x01``, base64 — what Microsoft 365 and Google expect); else with a password
AUTH PLAIN/LOGIN, whichever the server offers; with neither, no AUTH (a relay that trusts the host).

Every failure becomes one of the errors of :mod:`mailbot.transports.sender`:

=====================================================  =======================================================
what happened                                          error
=====================================================  =======================================================
connection refused, DNS failure, timeout, hang-up,     :class:`SendConnectionError` (temporary, stop batch)
421 (server closing), bad greeting
AUTH refused (535, 534, 530 "authentication            :class:`SendAuthError` (temporary but alerting: retried
required"), no suitable mechanism, no STARTTLS         later, logged at ERROR, stops the batch)
4xx on MAIL FROM / RCPT TO / DATA                      :class:`SendTemporaryError`
5xx on MAIL FROM / DATA, or 5xx for every recipient    :class:`SendPermanentError`
some recipients refused, others accepted               sent; ``send`` returns the refused ones
=====================================================  =======================================================

A refused STARTTLS never falls back to plain text. Messages carry the code and the server's words, never the
password or token.

**Sent folder** (``mailbox.imap.sent_folder``: ``sent_folder`` here, an
:class:`~mailbot.transports.imap.ImapSentFolder`). SMTP files no copy of what it sends, so with a sent folder the
sender does it, in this order::

    MAIL FROM, RCPT TO, DATA ... "."   →  250 (the server has the mail)
    IMAP APPEND of the same bytes to the sent folder (\\Seen)
    return                             →  the deliverer commits "sent" at once

and :meth:`SmtpSender.already_sent` searches that folder (``SEARCH HEADER Message-ID``). The IMAP connection is
opened with the SMTP one (:meth:`SmtpSender.open`), so after the 250 only the APPEND itself runs. What a crash
leaves: before the "." — nothing sent, nothing filed: sent again, correctly; after the APPEND — found, not sent
again; between the "." and the end of the APPEND — sent but not filed: sent again, a duplicate (that window is the
server taking the mail in, its reply and one APPEND). A failed APPEND is logged (WARNING) and the mail still
counts as sent: the copy is only evidence for a later check. Without a sent folder :meth:`already_sent` answers
None ("cannot tell").
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import parseaddr
from types import TracebackType
from typing import Protocol, Self

from .sender import (
    Refused,
    SendAuthError,
    SendConnectionError,
    SendError,
    SendPermanentError,
    SendTemporaryError,
)
from .settings import SECURITY
from .source import TransportAuthError, TransportConnectionError, TransportError

log = logging.getLogger(__name__)

SECURITIES = SECURITY
AUTH_CODES = frozenset({530, 534, 535, 538})
_TEXT_LIMIT = 200


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(value.split())[:_TEXT_LIMIT]


def classify(code: int, text: str, what: str) -> SendError:
    """The error for an SMTP reply ``code`` to the command ``what``."""
    message = f"{what}: {code} {text}".rstrip()
    if code == 421:
        return SendConnectionError(message, code=code)
    if code in AUTH_CODES:
        return SendAuthError(message, code=code)
    if 400 <= code < 500:
        return SendTemporaryError(message, code=code)
    if 500 <= code < 600:
        return SendPermanentError(message, code=code)
    return SendTemporaryError(message, code=code)  # nonsense code: better try again than lose the mail


class SentFolder(Protocol):
    """Where the SMTP sender files its copies (:class:`mailbot.transports.imap.ImapSentFolder`)."""

    def open(self) -> None: ...

    def append(self, raw: bytes) -> None: ...

    def contains(self, message_id: str) -> bool: ...

    def close(self) -> None: ...


def xoauth2_string(username: str, token: str) -> str:
    """The XOAUTH2 initial response before base64 (smtplib encodes it)."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01"


class SmtpSender:
    """One SMTP server. ``open()``/``close()`` (or ``with sender:``) keep one connection for a batch;
    ``send()`` without ``open()`` connects for that one mail."""

    def __init__(
        self,
        host: str,
        port: int,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        oauth2_token_provider: Callable[[], str] | None = None,
        timeout: float = 30,
        ssl_context: ssl.SSLContext | None = None,
        *,
        local_hostname: str | None = None,
        sent_folder: SentFolder | None = None,
    ) -> None:
        if security not in SECURITIES:
            raise ValueError(f"security must be one of {', '.join(SECURITIES)}, got {security!r}")
        if oauth2_token_provider is not None and not username:
            raise ValueError("XOAUTH2 needs the username (the mailbox address) as well as the token provider")
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self._password = password
        self._token_provider = oauth2_token_provider
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.local_hostname = local_hostname
        self.sent_folder = sent_folder
        self._smtp: smtplib.SMTP | None = None

    # ---- connection ------------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self._smtp is not None

    def _where(self) -> str:
        return f"{self.host}:{self.port}"

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()

    def open(self) -> None:
        if self._smtp is not None:
            return
        try:
            smtp = self._connect()
        except SendError:
            raise
        except smtplib.SMTPConnectError as exc:  # a greeting other than 220
            raise SendConnectionError(f"{self._where()} greeting: {exc.smtp_code} {_text(exc.smtp_error)}",
                                      code=exc.smtp_code) from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise SendConnectionError(f"cannot connect to {self._where()}: {type(exc).__name__}: {exc}") from None
        try:
            self._start_tls(smtp)
            self._login(smtp)
        except BaseException:
            _quietly_close(smtp)
            raise
        self._smtp = smtp
        log.debug("smtp connected host=%s port=%s security=%s", self.host, self.port, self.security)
        if self.sent_folder is not None:
            try:  # now, so that after a 250 only the APPEND itself runs
                self.sent_folder.open()
            except TransportError as exc:
                log.warning("smtp sent folder cannot be opened; mail is sent without a copy to look for later: %s",
                            exc)

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context(),
                                    local_hostname=self.local_hostname)
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname)

    def _start_tls(self, smtp: smtplib.SMTP) -> None:
        if self.security != "starttls":
            return
        try:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise SendAuthError(f"{self._where()} does not offer STARTTLS (mail_out.smtp.security = starttls)")
            smtp.starttls(context=self._context())
            smtp.ehlo()
        except SendError:
            raise
        except smtplib.SMTPResponseException as exc:
            error = classify(exc.smtp_code, _text(exc.smtp_error), "STARTTLS")
            raise (error if isinstance(error, SendConnectionError) else SendAuthError(str(error), code=error.code)) \
                from None
        except ssl.SSLError as exc:
            raise SendAuthError(f"TLS with {self._where()} failed: {exc.reason or exc}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendConnectionError(f"{self._where()} during STARTTLS: {type(exc).__name__}: {exc}") from None

    def _login(self, smtp: smtplib.SMTP) -> None:
        if not self.username or (self._password is None and self._token_provider is None):
            return
        try:
            if self._token_provider is not None:
                token = self._token_provider()
                smtp.ehlo_or_helo_if_needed()
                username = self.username

                def xoauth2(challenge: bytes | None = None) -> str:
                    # a second call carries the server's error details (base64 JSON): answer empty to end it
                    return xoauth2_string(username, token) if challenge is None else ""

                smtp.auth("XOAUTH2", xoauth2, initial_response_ok=True)
            else:
                assert self._password is not None
                smtp.login(self.username, self._password)
        except smtplib.SMTPAuthenticationError as exc:
            raise SendAuthError(f"{self._where()} refused the login: {exc.smtp_code} {_text(exc.smtp_error)}",
                                code=exc.smtp_code) from None
        except smtplib.SMTPNotSupportedError:
            raise SendAuthError(f"{self._where()} offers no AUTH (check mail_out.smtp.security/port)") from None
        except smtplib.SMTPResponseException as exc:
            error = classify(exc.smtp_code, _text(exc.smtp_error), "AUTH")
            raise (error if isinstance(error, SendConnectionError) else SendAuthError(str(error), code=error.code)) \
                from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise SendConnectionError(f"{self._where()} during AUTH: {type(exc).__name__}: {exc}") from None
        except smtplib.SMTPException as exc:  # "No suitable authentication method found."
            raise SendAuthError(f"{self._where()}: {exc}") from None

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            _quietly_close(smtp)
        if self.sent_folder is not None:
            with contextlib.suppress(Exception):
                self.sent_folder.close()

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ---- sending ---------------------------------------------------------------------------------------
    def send(self, msg: EmailMessage, recipients: Sequence[str]) -> Refused:
        if not recipients:
            raise SendPermanentError("no recipients")
        one_off = self._smtp is None
        self.open()
        smtp = self._smtp
        assert smtp is not None
        sender = parseaddr(str(msg.get("Sender") or msg.get("From") or ""))[1]
        raw = msg.as_bytes(policy=SMTP_POLICY)
        try:
            refused = smtp.sendmail(sender, list(recipients), raw)
            self._file_copy(raw)  # the server said 250: file the copy before anything else (see the module text)
        except smtplib.SMTPRecipientsRefused as exc:  # nobody accepted
            codes = {rcpt: (code, _text(text)) for rcpt, (code, text) in exc.recipients.items()}
            raise self._all_refused(codes) from None
        except smtplib.SMTPSenderRefused as exc:
            raise classify(exc.smtp_code, _text(exc.smtp_error), "MAIL FROM") from None
        except smtplib.SMTPDataError as exc:
            raise classify(exc.smtp_code, _text(exc.smtp_error), "DATA") from None
        except smtplib.SMTPNotSupportedError as exc:  # e.g. SMTPUTF8 needed but not offered
            raise SendPermanentError(f"{self._where()}: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            error = classify(exc.smtp_code, _text(exc.smtp_error), "SMTP")
            if isinstance(error, SendConnectionError):
                self.close()
            raise error from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.close()
            raise SendConnectionError(f"{self._where()} while sending: {type(exc).__name__}: {exc}") from None
        except smtplib.SMTPException as exc:
            self.close()
            raise SendTemporaryError(f"{self._where()}: {type(exc).__name__}: {exc}") from None
        finally:
            if one_off:
                self.close()
        return {rcpt: (code, _text(text)) for rcpt, (code, text) in refused.items()}

    def _file_copy(self, raw: bytes) -> None:
        if self.sent_folder is None:
            return
        try:
            self.sent_folder.append(raw)
        except Exception as exc:  # the mail is sent whatever happens here
            log.warning("smtp mail sent, but its copy could not be saved to the sent folder (a crash before it is "
                        "recorded would send it again): %s: %s", type(exc).__name__, exc)

    def already_sent(self, message_id: str) -> bool | None:
        """Whether the sent folder holds a mail with ``message_id``; None without a sent folder."""
        if self.sent_folder is None:
            return None
        try:
            return self.sent_folder.contains(message_id)
        except TransportAuthError as exc:
            raise SendAuthError(f"sent folder: {exc}") from None
        except TransportConnectionError as exc:
            raise SendConnectionError(f"sent folder: {exc}") from None
        except TransportError as exc:
            raise SendTemporaryError(f"sent folder: {exc}") from None

    @staticmethod
    def _all_refused(codes: dict[str, tuple[int, str]]) -> SendError:
        summary = "; ".join(f"{code} {text}".strip() for code, text in dict.fromkeys(codes.values()))
        message = f"every recipient refused ({len(codes)}): {summary}"
        if any(code in AUTH_CODES for code, _ in codes.values()):
            return SendAuthError(message, code=next(iter(codes.values()))[0])
        temporary = [code for code, _ in codes.values() if not 500 <= code < 600]
        if temporary:  # someone may still be reachable later
            return SendTemporaryError(message, code=temporary[0])
        return SendPermanentError(message, code=next(iter(codes.values()))[0])

    def __repr__(self) -> str:  # no password, no token
        return f"SmtpSender({self.host!r}, {self.port}, {self.security!r}, username={self.username!r})"


def _quietly_close(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.quit()
    with contextlib.suppress(OSError):
        smtp.close()


__all__ = ["SECURITIES", "SentFolder", "SmtpSender", "classify", "xoauth2_string"]
