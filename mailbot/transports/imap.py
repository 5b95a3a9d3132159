"""An IMAP folder as the mail source (imapclient), with IDLE for prompt delivery.

Cursor: ``"UIDVALIDITY:LASTUID"``. A fetch returns the mails whose UID is above LASTUID while the folder keeps
the same UIDVALIDITY. When the UIDVALIDITY differs (the folder was recreated or the server rebuilt its index)
or there is no cursor yet, every mail in the folder is fetched again: the service is idempotent by Message-ID
(docs/architecture.md, "Mail in"), so this re-reads but never duplicates.

One ``ImapSource`` holds one connection and is meant for one thread. It never logs a body, only UIDs and
counts.

:class:`ImapSentFolder` is the mailbox's Sent folder (``mailbox.imap.sent_folder``) for the SMTP sender, which files
no copy by itself: it APPENDs the copy of each mail the SMTP server accepted and answers "is this Message-ID in
there?" (``SEARCH HEADER Message-ID``) for a mail whose attempt was cut short (see ``mailbot.transports.smtp``).
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Self

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import IMAPClientError, LoginError

from .settings import SECURITY
from .source import (
    FetchedMail,
    TransportAuthError,
    TransportConnectionError,
    TransportProtocolError,
    check_outcome,
)

log = logging.getLogger(__name__)

FETCH_BATCH = 50
MAX_BACKOFF = 60.0
SEEN = b"\\Seen"
FLAGGED = b"\\Flagged"
DELETED = b"\\Deleted"

# A broken connection shows as an OSError (refused, reset, timeout, TLS) or imaplib's "abort".
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (OSError, imaplib.IMAP4.abort, EOFError)


class _Lost(Exception):
    """Internal: the connection broke during IDLE."""


def parse_cursor(cursor: str | None) -> tuple[int, int] | None:
    """``"UIDVALIDITY:LASTUID"`` as two ints; None for no cursor or one this transport did not write."""
    if not cursor:
        return None
    validity, sep, last = cursor.partition(":")
    if not sep or not validity.isdigit() or not last.isdigit():
        log.warning("imap ignoring a cursor not of the form UIDVALIDITY:UID: %r", cursor)
        return None
    return int(validity), int(last)


def parse_ref(ref: str) -> tuple[str, int, int]:
    """``"FOLDER/UIDVALIDITY/UID"`` as (folder, validity, uid); the folder name may itself contain '/'."""
    try:
        folder, validity, uid = ref.rsplit("/", 2)
        return folder, int(validity), int(uid)
    except ValueError:
        raise ValueError(f"not an IMAP mail reference (FOLDER/UIDVALIDITY/UID): {ref!r}") from None


def _has_news(responses: Iterable[Any]) -> bool:
    """True if an untagged response says mail arrived (EXISTS, or RECENT above zero)."""
    for resp in responses:
        if isinstance(resp, tuple) and len(resp) >= 2:
            if resp[1] == b"EXISTS":
                return True
            if resp[1] == b"RECENT" and isinstance(resp[0], int) and resp[0] > 0:
                return True
    return False


def _says_bye(responses: Iterable[Any]) -> bool:
    return any(isinstance(resp, tuple) and resp and resp[0] == b"BYE" for resp in responses)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"its TLS certificate was not accepted ({exc.verify_message})"
    if isinstance(exc, socket.timeout):
        return "no answer in time"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc)
    if isinstance(exc.args[0] if exc.args else None, bytes):
        text = exc.args[0].decode("utf-8", "replace")
    quoted = re.fullmatch(r"b(['\"])(.*)\1", text)  # imapclient wraps server text as str(bytes)
    if quoted:
        text = quoted.group(2)
    return text or type(exc).__name__


class _ImapLogin:
    """What every connection of this module shares: where the server is, and how to connect and log in."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str | None,
        oauth2_token_provider: Callable[[], str] | None,
        security: str,
        timeout: float,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        if security not in SECURITY:
            raise ValueError(f"security must be one of {', '.join(SECURITY)}, got {security!r}")
        if password is None and oauth2_token_provider is None:
            raise ValueError("give a password or an oauth2_token_provider")
        self.host = host
        self.port = port
        self.username = username
        self.security = security
        self.timeout = timeout
        self._password = password
        self._token_provider = oauth2_token_provider
        self._ssl_context = ssl_context

    def _where(self) -> str:
        return f"the IMAP server {self.host}:{self.port}"

    def _connect(self) -> IMAPClient:
        try:
            client = IMAPClient(
                self.host,
                self.port,
                ssl=self.security == "tls",
                ssl_context=self._ssl_context,
                timeout=SocketTimeout(connect=self.timeout, read=self.timeout),
            )
        except _CONNECTION_ERRORS as exc:
            raise TransportConnectionError(f"cannot connect to {self._where()}: {_reason(exc)}") from None
        try:
            if self.security == "starttls":
                self._starttls(client)
            with contextlib.suppress(OSError):  # not a TCP socket: harmless
                client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._login(client)
        except BaseException:
            with contextlib.suppress(Exception):
                client.shutdown()
            raise
        log.info("imap connected host=%s port=%s user=%s", self.host, self.port, self.username)
        return client

    def _starttls(self, client: IMAPClient) -> None:
        try:
            client.starttls(self._ssl_context)
        except _CONNECTION_ERRORS as exc:
            raise TransportConnectionError(
                f"cannot start TLS with {self._where()}: {_reason(exc)}"
            ) from None
        except IMAPClientError as exc:
            raise TransportProtocolError(
                f"{self._where()} does not offer STARTTLS ({_reason(exc)}): "
                'use security = "tls" or check the port'
            ) from None

    def _login(self, client: IMAPClient) -> None:
        try:
            if self._token_provider is not None:
                client.oauth2_login(self.username, self._token_provider())
            else:
                assert self._password is not None
                client.login(self.username, self._password)
        except LoginError as exc:
            method = "OAuth token" if self._token_provider is not None else "password"
            raise TransportAuthError(
                f"{self._where()} refused the login for {self.username} ({_reason(exc)}): "
                f"check the user name and {method}"
            ) from None
        except _CONNECTION_ERRORS as exc:
            raise TransportConnectionError(f"lost {self._where()} while logging in: {_reason(exc)}") from None
        except IMAPClientError as exc:  # e.g. STARTTLS or AUTHENTICATE not offered
            raise TransportProtocolError(f"{self._where()} refused to log in: {_reason(exc)}") from None


class ImapSource(_ImapLogin):
    """Mail from one folder of an IMAP mailbox.

    ``security``: ``"tls"`` (implicit TLS, port 993), ``"starttls"`` (port 143 upgraded) or ``"none"``
    (plain text, loopback and tests only). Give ``password`` or ``oauth2_token_provider`` (called at every
    login, returns an access token for XOAUTH2). With ``processed_folder``/``attention_folder`` settled mail
    is moved there (folders are created when missing); without them it is only flagged.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str | None = None,
        oauth2_token_provider: Callable[[], str] | None = None,
        security: str = "tls",
        folder: str = "INBOX",
        processed_folder: str | None = None,
        attention_folder: str | None = None,
        timeout: float = 30,
        idle_refresh: float = 600,
        *,
        ssl_context: ssl.SSLContext | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_backoff: float = MAX_BACKOFF,
    ) -> None:
        super().__init__(host, port, username, password, oauth2_token_provider, security, timeout, ssl_context)
        self.folder = folder
        self.processed_folder = processed_folder
        self.attention_folder = attention_folder
        self.idle_refresh = idle_refresh
        self.key = f"imap:{username}@{host}/{folder}"
        self._sleep = sleep
        self._max_backoff = max_backoff
        self._client: IMAPClient | None = None
        self._validity: int | None = None  # of the selected folder; None when not connected
        # (UIDVALIDITY, UID) of the last mail fetch() handed out, or of the cursor it was given
        self._watermark: tuple[int, int] | None = None
        self._known_folders: set[str] = set()
        self._failures = 0
        self._leftovers_checked = False

    def __repr__(self) -> str:
        return f"ImapSource({self.key!r}, security={self.security!r})"

    # ---- connection ---------------------------------------------------------------------------------------
    def _select(self, client: IMAPClient) -> int:
        try:
            info = client.select_folder(self.folder)
        except _CONNECTION_ERRORS:
            raise
        except IMAPClientError as exc:
            raise TransportProtocolError(
                f"cannot open folder {self.folder!r} on {self._where()}: {_reason(exc)}"
            ) from None
        self._validity = int(info[b"UIDVALIDITY"])
        return self._validity

    def _ready(self) -> tuple[IMAPClient, int]:
        """A logged-in client with the folder selected (reselected, so UIDVALIDITY is fresh). A good connection
        resets the reconnect back-off, however it was made."""
        if self._client is None:
            self._client = self._connect()
        validity = self._select(self._client)
        self._failures = 0
        return self._client, validity

    def _ready_retry(self) -> tuple[IMAPClient, int]:
        """As :meth:`_ready`, reconnecting once if the open connection turns out to be broken."""
        try:
            return self._ready()
        except _CONNECTION_ERRORS as exc:
            log.info("imap connection lost (%s); reconnecting", _reason(exc))
            self._drop()
        try:
            return self._ready()
        except _CONNECTION_ERRORS as exc:
            self._drop()
            raise TransportConnectionError(f"lost {self._where()}: {_reason(exc)}") from None

    def _current(self) -> tuple[IMAPClient, int]:
        """The open connection with its selected folder, or a new one."""
        if self._client is not None and self._validity is not None:
            return self._client, self._validity
        return self._ready_retry()

    def _drop(self) -> None:
        client, self._client = self._client, None
        self._validity = None
        if client is not None:
            with contextlib.suppress(Exception):
                client.shutdown()

    def close(self) -> None:
        client, self._client = self._client, None
        self._validity = None
        if client is None:
            return
        try:
            client.logout()
        except Exception:
            with contextlib.suppress(Exception):
                client.shutdown()

    # ---- fetch ----------------------------------------------------------------------------------------
    def fetch(self, cursor: str | None, limit: int = 200) -> Iterator[FetchedMail]:
        """Mails after ``cursor``, oldest first, at most ``limit``, each with its cursor ``"V:UID"``.

        With no cursor, or a cursor of another UIDVALIDITY, every mail in the folder is returned (the service
        de-duplicates by Message-ID). Bodies are fetched with BODY.PEEK[], so nothing is marked as read.
        """
        client, validity = self._ready_retry()
        given = parse_cursor(cursor)
        try:
            uids = self._uids_after(client, validity, given)
            leftovers = self._leftovers(client, validity, given)
        except _CONNECTION_ERRORS as exc:
            self._drop()
            raise TransportConnectionError(f"lost {self._where()} while searching: {_reason(exc)}") from None
        uids = (leftovers + uids)[: max(limit, 0)]
        self._watermark = (validity, given[1] if given and given[0] == validity else 0)
        log.log(logging.INFO if uids else logging.DEBUG, "imap fetch folder=%s uidvalidity=%d count=%d",
                self.folder, validity, len(uids))
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start : start + FETCH_BATCH]
            try:
                data = client.fetch(batch, ["BODY.PEEK[]"])
            except _CONNECTION_ERRORS as exc:
                self._drop()
                raise TransportConnectionError(
                    f"lost {self._where()} while downloading mail: {_reason(exc)}"
                ) from None
            except IMAPClientError as exc:
                raise TransportProtocolError(
                    f"{self._where()} refused to send mail: {_reason(exc)}"
                ) from None
            for uid in batch:
                item = data.get(uid)
                if item is None or b"BODY[]" not in item:  # expunged meanwhile
                    log.debug("imap uid=%d vanished before it could be fetched", uid)
                    continue
                log.debug("imap fetched uid=%d size=%d", uid, len(item[b"BODY[]"]))
                left_over = given is not None and given[0] == validity and uid <= given[1]
                if not left_over:
                    self._watermark = (validity, uid)
                yield FetchedMail(
                    raw=bytes(item[b"BODY[]"]),
                    ref=f"{self.folder}/{validity}/{uid}",
                    # a mail left over from before the cursor leaves the cursor where it is
                    cursor=f"{validity}:{given[1] if left_over and given else uid}",
                )

    def _leftovers(self, client: IMAPClient, validity: int, cursor: tuple[int, int] | None) -> list[int]:
        """On the first fetch of this source: mails at or before the cursor that were never settled — recorded,
        then the service died before it moved or flagged them. They are handed out again (the service knows them
        and settles them). Without a processed folder, settled mail is marked read, so the unread ones are left
        over; with one, settled mail is moved out, so everything left is (flagged mail too, when attention has no
        folder of its own)."""
        first, self._leftovers_checked = not self._leftovers_checked, True
        if not first or cursor is None or cursor[0] != validity or cursor[1] < 1:
            return []
        if self.processed_folder is None:
            criteria: list[str] = ["UNSEEN"]
        else:
            criteria = ["ALL"] if self.attention_folder is not None else ["NOT", "FLAGGED"]
        try:
            found = client.search(["UID", f"1:{cursor[1]}", *criteria])
        except IMAPClientError as exc:
            raise TransportProtocolError(f"{self._where()} refused to search: {_reason(exc)}") from None
        left = sorted(uid for uid in found if uid <= cursor[1])
        if left:
            log.warning("imap folder=%s %d mail(s) recorded before a stop were never settled; settling them now",
                        self.folder, len(left))
        return left

    def _uids_after(self, client: IMAPClient, validity: int, cursor: tuple[int, int] | None) -> list[int]:
        try:
            if cursor is None or cursor[0] != validity:
                if cursor is not None:
                    log.warning(
                        "imap folder=%s uidvalidity changed from %d to %d; fetching all its mail again",
                        self.folder, cursor[0], validity,
                    )
                return sorted(client.search("ALL"))
            last = cursor[1]
            # "UID n:*" always includes the highest UID, even when it is below n: keep only UIDs above last.
            return sorted(uid for uid in client.search(["UID", f"{last + 1}:*"]) if uid > last)
        except _CONNECTION_ERRORS:
            raise
        except IMAPClientError as exc:
            raise TransportProtocolError(f"{self._where()} refused to search: {_reason(exc)}") from None

    # ---- settle ---------------------------------------------------------------------------------------
    def settle(self, ref: str, outcome: str) -> None:
        """Mark a fetched mail as handled.

        ``"processed"``: moved to ``processed_folder`` (marked read) if set, else marked read (\\Seen).
        ``"attention"``: moved to ``attention_folder`` (left unread, flagged) if set, else marked \\Seen and
        \\Flagged. A mail whose folder has a new UIDVALIDITY since it was fetched is left alone (its UID means
        nothing any more).
        """
        self.settle_many([ref], outcome)

    def settle_many(self, refs: Sequence[str], outcome: str) -> None:
        """:meth:`settle` for several mails at once: one STORE and one MOVE for them all (a UID set), whatever
        their number. A UID no longer in the folder (settled already) is skipped by the server."""
        kind = check_outcome(outcome)
        parsed = [parse_ref(ref) for ref in refs]
        for ref, (folder, _validity, _uid) in zip(refs, parsed, strict=True):
            if folder != self.folder:
                raise ValueError(f"mail {ref!r} is not from folder {self.folder!r}")
        if not parsed:
            return
        target = self.processed_folder if kind == "processed" else self.attention_folder
        flags = [SEEN] if kind == "processed" else [FLAGGED]
        if target is None:
            flags = [SEEN] if kind == "processed" else [SEEN, FLAGGED]
        for attempt in (1, 2):
            client, current = self._current()
            uids = [uid for _folder, validity, uid in parsed if validity == current]
            for _folder, validity, uid in parsed:
                if validity != current:
                    log.warning("imap settle uid=%d skipped: uidvalidity now %d, was %d", uid, current, validity)
            if not uids:
                return
            try:
                self._settle(client, uids, flags, target)
                break
            except _CONNECTION_ERRORS as exc:
                self._drop()
                if attempt == 2:
                    raise TransportConnectionError(
                        f"lost {self._where()} while filing mail: {_reason(exc)}"
                    ) from None
            except IMAPClientError as exc:
                raise TransportProtocolError(
                    f"{self._where()} refused to file mail: {_reason(exc)}"
                ) from None
        log.info("imap settled uids=%s outcome=%s moved_to=%s", _uid_list(uids), kind, target or "-")

    def _settle(self, client: IMAPClient, uids: list[int], flags: Sequence[bytes], target: str | None) -> None:
        client.add_flags(uids, list(flags), silent=True)
        if target is None:
            return
        self._ensure_folder(client, target)
        if client.has_capability("MOVE"):
            client.move(uids, target)
            return
        client.copy(uids, target)
        client.add_flags(uids, [DELETED], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids)
        else:
            client.expunge()

    def _ensure_folder(self, client: IMAPClient, name: str) -> None:
        if name in self._known_folders:
            return
        if not client.folder_exists(name):
            try:
                client.create_folder(name)
                log.info("imap created folder=%s", name)
            except IMAPClientError:
                if not client.folder_exists(name):  # not a race with another client: a real refusal
                    raise
        self._known_folders.add(name)

    # ---- wait -----------------------------------------------------------------------------------------
    def wait(self, timeout: float) -> bool:
        """Block until the server says new mail arrived (True) or ``timeout`` seconds passed (False).

        True at once if there is mail above what the last :meth:`fetch` handed out (it came in meanwhile, or
        the fetch stopped at its limit), or if there was no connection (nobody was watching). Otherwise IDLE
        (re-issued every ``idle_refresh`` seconds), or polling every 5 s if the server lacks IDLE. If the
        connection drops, reconnects with back-off (1, 2, 4 ... 60 s) and returns True, so the caller fetches
        what it may have missed. A refused login is raised, not retried.
        """
        deadline = time.monotonic() + max(timeout, 0.0)
        try:
            if self._client is None or self._validity is None:
                self._ready()
                self._failures = 0
                return True
            client = self._client
            if self._mail_after_watermark(client):
                return True
            if client.has_capability("IDLE"):
                return self._idle_until(client, deadline)
            return self._poll_until(client, deadline)
        except (*_CONNECTION_ERRORS, _Lost, TransportConnectionError) as exc:
            log.warning("imap connection to %s:%s lost (%s); reconnecting", self.host, self.port,
                        _reason(exc))
            self._drop()
            self._reconnect(deadline)
            return True
        except IMAPClientError as exc:
            raise TransportProtocolError(
                f"{self._where()} refused to wait for mail: {_reason(exc)}"
            ) from None

    def _mail_after_watermark(self, client: IMAPClient) -> bool:
        if self._watermark is None or self._watermark[0] != self._validity:
            return True
        last = self._watermark[1]
        return any(uid > last for uid in client.search(["UID", f"{last + 1}:*"]))

    def _reconnect(self, deadline: float) -> None:
        """Reconnect with exponential back-off until connected, or until a sleep ends past ``deadline``."""
        while True:
            try:
                self._ready()
            except (*_CONNECTION_ERRORS, TransportConnectionError) as exc:
                self._drop()
                delay = min(2.0 ** min(self._failures, 32), self._max_backoff)  # 2**1024 overflows a float
                self._failures += 1
                log.warning("imap reconnect failed (%s); next try in %.0f s", _reason(exc), delay)
                self._sleep(delay)
                if time.monotonic() >= deadline:
                    return
            else:
                self._failures = 0
                log.info("imap reconnected host=%s", self.host)
                return

    def _idle_until(self, client: IMAPClient, deadline: float) -> bool:
        while True:
            now = time.monotonic()
            if now >= deadline:
                return False
            refresh_at = now + self.idle_refresh
            client.idle()
            news = False
            try:
                # a response may have come in the same packet as "+ idling": then idle_done() collects it
                buffered = self._buffered(client)
                while not news and not buffered:
                    now = time.monotonic()
                    chunk = min(deadline, refresh_at) - now
                    if chunk <= 0:
                        break
                    responses = client.idle_check(timeout=chunk)
                    if _says_bye(responses):
                        raise _Lost("server said BYE")
                    news = _has_news(responses)
                    if not responses and time.monotonic() - now < chunk - 0.05:
                        break  # woken with nothing to read: maybe EOF; idle_done below will tell
            finally:
                _text, rest = client.idle_done()  # raises if the connection is gone
            if news or _has_news(rest):
                log.debug("imap idle: new mail in folder=%s", self.folder)
                return True

    def _buffered(self, client: IMAPClient) -> bool:
        """True if imaplib already holds unread bytes from the server (polling the socket would miss them)."""
        reader = getattr(getattr(client, "_imap", None), "file", None)
        peek = getattr(reader, "peek", None)
        if peek is None:
            return False
        sock = client.socket()
        sock.setblocking(False)
        try:
            return bool(peek(1))
        except OSError:
            return False
        finally:
            sock.settimeout(self.timeout)

    def _poll_until(self, client: IMAPClient, deadline: float) -> bool:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._sleep(min(5.0, remaining))
            if self._mail_after_watermark(client):
                return True



class ImapSentFolder(_ImapLogin):
    """The mailbox's Sent folder, for a sender that files no copy of its own (SMTP).

    ``append(raw)`` stores a sent mail (``\\Seen``), creating the folder on first use; ``contains(message_id)``
    says whether a mail with that Message-ID is there (``SEARCH HEADER Message-ID``, then the header itself is
    compared, as some servers match HEADER searches loosely). One connection, made on first use (or by
    :meth:`open`) and kept until :meth:`close`; a broken connection is made again once. Errors are
    :mod:`mailbot.transports.source` errors; nothing here logs more than counts.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str | None = None,
        oauth2_token_provider: Callable[[], str] | None = None,
        security: str = "tls",
        folder: str | None = "Sent",
        timeout: float = 30,
        *,
        ssl_context: ssl.SSLContext | None = None,
        look_in: Sequence[str] | None = None,
    ) -> None:
        super().__init__(host, port, username, password, oauth2_token_provider, security, timeout, ssl_context)
        self.folder = folder
        self.look_in = tuple(look_in) if look_in is not None else ((folder,) if folder else ())
        self._client: IMAPClient | None = None
        self._exists = False

    def __repr__(self) -> str:
        return f"ImapSentFolder({self.username!r}@{self.host!r}, {self.folder!r})"

    def open(self) -> None:
        """Connect and log in now (nothing is created or stored)."""
        if self._client is None:
            self._client = self._connect()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:
            with contextlib.suppress(Exception):
                client.shutdown()

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _twice(self, what: str, work: Callable[[IMAPClient], Any]) -> Any:
        """``work`` on the open connection (or a new one), once more on a fresh one if the connection broke."""
        for attempt in (1, 2):
            self.open()
            client = self._client
            assert client is not None
            try:
                return work(client)
            except _CONNECTION_ERRORS as exc:
                self._client = None
                with contextlib.suppress(Exception):
                    client.shutdown()
                if attempt == 2:
                    raise TransportConnectionError(f"lost {self._where()} while {what}: {_reason(exc)}") from None
            except IMAPClientError as exc:
                raise TransportProtocolError(f"{self._where()} refused {what} ({self.folder!r}): "
                                             f"{_reason(exc)}") from None
        raise AssertionError("unreachable")

    def append(self, raw: bytes) -> None:
        """Store ``raw`` (CRLF line ends, as sent) in the folder, marked as read (nothing without a folder)."""
        folder = self.folder
        if folder is None:
            return

        def work(client: IMAPClient) -> None:
            if not self._exists:
                if not client.folder_exists(folder):
                    try:
                        client.create_folder(folder)
                        log.info("imap created folder=%s", folder)
                    except IMAPClientError:
                        if not client.folder_exists(folder):
                            raise
                self._exists = True
            client.append(folder, raw, flags=[SEEN])

        self._twice("saving a copy of a sent mail", work)
        log.debug("imap saved a sent copy folder=%s size=%d", folder, len(raw))

    def contains(self, message_id: str) -> bool:
        """Whether a mail with ``message_id`` (with or without ``<>``) is in one of the folders to look in (the
        Sent folder, then where the mailbox's own copy arrives: the inbox, the processed folder). A folder that
        does not exist holds nothing."""
        bare = message_id.strip().removeprefix("<").removesuffix(">").strip()
        wanted = f"<{bare}>"

        def in_folder(client: IMAPClient, folder: str) -> bool:
            if not client.folder_exists(folder):
                return False
            client.select_folder(folder, readonly=True)
            uids = client.search(["HEADER", "Message-ID", wanted])
            if not uids:
                return False
            data = client.fetch(uids[:20], ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
            for item in data.values():
                header = next((v for k, v in item.items() if k.startswith(b"BODY[HEADER")), b"")
                value = bytes(header).decode("ascii", "replace").partition(":")[2]
                if " ".join(value.split()).removeprefix("<").removesuffix(">").strip() == bare:
                    return True
            return False

        def work(client: IMAPClient) -> str | None:
            return next((folder for folder in self.look_in if in_folder(client, folder)), None)

        found = self._twice("searching for a sent mail", work)
        log.info("imap looked for a sent mail folders=%d found=%s", len(self.look_in), found is not None)
        return found is not None


def _uid_list(uids: Sequence[int]) -> str:
    """UIDs for a log line: all of a few, else the first ones and how many more."""
    shown = ",".join(str(uid) for uid in uids[:5])
    return shown if len(uids) <= 5 else f"{shown} and {len(uids) - 5} more"
