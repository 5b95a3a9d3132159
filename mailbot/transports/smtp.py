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

**Knowing afterwards whether the server took a mail** (for a mail whose attempt was cut short by a crash; see
``mailbot.mail_out.delivery``). SMTP files no copy of what it sends, so the sender makes two kinds of copy:

- **the mailbox's own copy** (``copy_to``: the bot's mailbox address, on by default when the mailbox is read over
  IMAP or from a local Maildir the server delivers to; ``mail_out.smtp.copy_to_mailbox``). The bot's address is one
  more *envelope* recipient of the same SMTP transaction (never in To/Cc, so nobody sees it): the server takes the
  mail for every accepted recipient at once, so the bot's mailbox receives a copy exactly when the people do. A
  crash anywhere — even after the "." and before the server's reply — leaves either a copy on its way to the mailbox
  (the server took the mail) or none (it did not). If the server refuses every real recipient, the transaction is
  reset before DATA, so a copy never arrives for a mail nobody got. The copy comes back into the mailbox like any
  mail; the ingest knows its Message-ID as the bot's own and only settles it (``mailbot.mail_in.ingest``: outcome
  "own").
- **a Sent folder copy** (``mailbox.imap.sent_folder``: ``sent_folder`` here, an
  :class:`~mailbot.transports.imap.ImapSentFolder`): the same bytes APPENDed (``\\Seen``) right after the 250,
  for people who look in Sent. On its own it leaves a window (the server has the mail, the APPEND has not run)
  in which a crash makes a duplicate; with the mailbox's own copy that window is closed.

:meth:`SmtpSender.already_sent` asks ``sent_folder`` (an :class:`~mailbot.transports.imap.ImapSentFolder`
searching the Sent folder and the folders the mailbox's own copy can be in, the inbox and the processed folder,
by ``SEARCH HEADER Message-ID``; or a :class:`~mailbot.transports.maildir.MaildirCopies` reading the local
Maildir's inbox and sub-folders). A failed APPEND is logged
(WARNING) and the mail still counts as sent. Without a folder to search :meth:`already_sent` answers None
("cannot tell"): bare SMTP, where a crash between the "." and the deliverer's mark sends the mail again
(``bench/send_duplicates.py`` measures how often).
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
        copy_to: str | None = None,
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
        self.copy_to = copy_to.strip().lower() if copy_to and copy_to.strip() else None
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
            refused = self._transaction(smtp, sender, list(recipients), raw)
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

    def _transaction(self, smtp: smtplib.SMTP, sender: str, recipients: list[str],
                     raw: bytes) -> dict[str, tuple[int, bytes]]:
        """MAIL FROM, RCPT TO for each recipient (then the mailbox's own copy, ``copy_to``), DATA: what
        :meth:`smtplib.SMTP.sendmail` does, except that the transaction is reset before DATA when every *real*
        recipient was refused — the mailbox's copy alone must never make a mail nobody got look sent. Returns
        the refused real recipients; the own copy's refusal is only logged (a crash would then send again)."""
        if self.copy_to is None or self.copy_to in {r.lower() for r in recipients}:
            return smtp.sendmail(sender, recipients, raw)
        smtp.ehlo_or_helo_if_needed()
        options = [f"size={len(raw)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
        code, resp = smtp.mail(sender, options)
        if code != 250:
            _end_transaction(smtp, code)
            raise smtplib.SMTPSenderRefused(code, resp, sender)
        refused: dict[str, tuple[int, bytes]] = {}
        for rcpt in recipients:
            code, resp = smtp.rcpt(rcpt)
            if code not in (250, 251):
                refused[rcpt] = (code, resp)
            if code == 421:
                smtp.close()
                raise smtplib.SMTPRecipientsRefused(refused)
        if len(refused) == len(recipients):
            smtp.rset()
            raise smtplib.SMTPRecipientsRefused(refused)
        code, resp = smtp.rcpt(self.copy_to)
        if code not in (250, 251):
            log.warning("smtp refused the mailbox's own copy (a crash before the mail is recorded would send it "
                        "again): %s %s", code, _text(resp))
            if code == 421:
                smtp.close()
                raise smtplib.SMTPResponseException(code, resp)
        code, resp = smtp.data(raw)
        if code != 250:
            _end_transaction(smtp, code)
            raise smtplib.SMTPDataError(code, resp)
        return refused

    def _file_copy(self, raw: bytes) -> None:
        if self.sent_folder is None:
            return
        try:
            self.sent_folder.append(raw)
        except Exception as exc:  # the mail is sent whatever happens here
            log.warning("smtp mail sent, but its copy could not be saved to the sent folder (a crash before it is "
                        "recorded would send it again): %s: %s", type(exc).__name__, exc)

    def already_sent(self, message_id: str) -> bool | None:
        """Whether a copy of the mail with ``message_id`` is in the mailbox (its Sent folder, or the mailbox's own
        copy in the inbox or the processed folder); None with no folder to search."""
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


def _end_transaction(smtp: smtplib.SMTP, code: int) -> None:
    """After a refusal: 421 means the server is closing the connection; anything else, reset the transaction."""
    if code == 421:
        smtp.close()
    else:
        smtp.rset()


def _quietly_close(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.quit()
    with contextlib.suppress(OSError):
        smtp.close()


__all__ = ["SECURITIES", "SentFolder", "SmtpSender", "classify", "xoauth2_string"]
