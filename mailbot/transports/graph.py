"""Exchange Online through Microsoft Graph v1.0 (app-only): a mail source, a sender, and a connection check.

Exchange Online stops answering EWS (blocked from 1 Oct 2026, off for good 1 Apr 2027), so this is how the bot
reads and sends for a council on Microsoft 365. The app registration needs the *application* permissions
Mail.ReadWrite and Mail.Send with admin consent, limited to the shared mailbox by an application access policy
(or Exchange RBAC for Applications).

- :class:`GraphClient` — HTTP to ``{graph_url}/users/{user}``: bearer token from
  :class:`~mailbot.transports.msauth.TokenProvider`, at most ``max_concurrency`` (4) requests in flight (Exchange
  Online allows 4 concurrent requests per app and mailbox), ``Retry-After`` honoured on 429/503/504 (capped, a
  few times), one token refresh on 401, Graph's errors turned into plain-words transport errors. One client per
  mailbox, shared by its source and its sender and safe to use from several threads.
- :class:`GraphSource` — a folder read with ``messages/delta``. The cursor is a Graph link: the query that starts
  the delta, an ``@odata.nextLink`` (resume within a round) or an ``@odata.deltaLink`` (changes since the round).
  Delta pages are unordered, so each page is handed out oldest first (``receivedDateTime``); every mail of a page
  carries the link that *fetched* that page, and only the page's last mail carries the link after it. A crash
  mid-page therefore replays part of that page: harmless, because ingest is idempotent by Message-ID
  (docs/architecture.md, "Mail in"). An expired or invalid delta token (410 ``SyncStateNotFound``/``syncStateInvalid``/
  ``resyncRequired``) restarts the delta from the beginning: the folder is read again, and ingest recognises
  what it already recorded. A mail recorded just before a stop but not yet settled may lie behind the stored link
  (the last mail of a page carries the link after it): the service's first poll after a start settles it again from
  the store's record of it (:meth:`mailbot.mail_in.ingest.Ingestor.poll`). ``@removed`` entries (moved or deleted
  mail, including what settle moved) are skipped. A message that only *changed* (read, flagged) comes back in the
  delta too: it is handed out again and recognised as a duplicate; settle writes only what differs, so the bot
  never keeps a message changing.
- :class:`GraphSender` — sends our own MIME (``POST /sendMail``, ``Content-Type: text/plain``, the message
  base64-encoded: Graph's "send mail in MIME format"), so Message-ID, In-Reply-To, References, Auto-Submitted and
  X-IRO-Mailbot-Key reach recipients unchanged and Outlook threads the mail. Exchange saves the copy in Sent
  Items as part of sending (moments after the 202), so :meth:`GraphSender.already_sent` can tell whether a mail
  whose attempt was cut short went out: ``GET mailFolders/sentitems/messages?$filter=internetMessageId eq
  '<id>'``.
- :func:`check` — the lines of ``mailbot check-config --connect``.

Nothing here logs a token, a subject, a body or a name: message ids, counts and status codes only.
"""

from __future__ import annotations

import base64
import copy
import email.utils
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import httpx

from .sender import (
    Refused,
    SendAuthError,
    SendConnectionError,
    SendError,
    SendPermanentError,
    SendTemporaryError,
    bare_message_id,
)
from .settings import GraphSettings
from .source import (
    FetchedMail,
    TransportAuthError,
    TransportConnectionError,
    TransportError,
    TransportProtocolError,
    check_outcome,
)

log = logging.getLogger(__name__)

DEFAULT_SCOPES = ("https://graph.microsoft.com/.default",)
MAX_CONCURRENCY = 4
MAX_RETRIES = 3
MAX_RETRY_AFTER = 60.0
PAGE_SIZE = 50
POLL_STEP = 5.0
DELTA_SELECT = "id,internetMessageId,receivedDateTime,parentFolderId,isRead,flag"
RETRY_STATUSES = frozenset({429, 503, 504})
RESYNC_CODES = frozenset({"syncstatenotfound", "syncstateinvalid", "resyncrequired", "errorinvalidsyncstatedata"})
MAILBOX_MISSING_CODES = frozenset({"errorinvaliduser", "mailboxnotenabledforrestapi", "mailboxnotsupportedforrestapi",
                                   "errornonexistentmailbox"})
# https://learn.microsoft.com/graph/api/resources/mailfolder (well-known folder names)
WELL_KNOWN_FOLDERS = frozenset({
    "archive", "clutter", "conflicts", "conversationhistory", "deleteditems", "drafts", "inbox", "junkemail",
    "localfailures", "msgfolderroot", "outbox", "recoverableitemsdeletions", "scheduled", "searchfolders",
    "sentitems", "serverfailures", "syncissues",
})
REMEMBERED = 10_000  # settled message ids kept in memory (to skip them when the delta shows them again)


class Tokens(Protocol):
    """What the client needs from a token provider (:class:`~mailbot.transports.msauth.TokenProvider`)."""

    def token(self, scopes: Sequence[str] = DEFAULT_SCOPES, *, refresh: bool = False) -> str: ...


class GraphRequestError(TransportProtocolError):
    """Graph answered with an error that retrying will not cure (4xx, or 5xx other than 503/504)."""

    def __init__(self, message: str, *, status: int, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class GraphUnavailableError(TransportConnectionError):
    """Graph could not be reached, or stayed busy (429/503/504) through every retry."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _graph_error(response: httpx.Response) -> tuple[str, str]:
    """(code, message) from Graph's ``{"error": {"code": ..., "message": ...}}``; tolerant of other bodies."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return "", ""
    if isinstance(error, Mapping):
        return str(error.get("code") or ""), " ".join(str(error.get("message") or "").split())[:200]
    if isinstance(error, str):
        return error, ""
    return "", ""


def retry_after(response: httpx.Response, default: float) -> float:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date), else ``default``."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return default
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _net_reason(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    return str(exc) or type(exc).__name__


def _quote_id(item_id: str) -> str:
    return quote(item_id, safe="-_=")


def _odata_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class GraphClient:
    """HTTP to one mailbox through Microsoft Graph. See the module docstring."""

    def __init__(
        self,
        settings: GraphSettings,
        token_provider: Tokens,
        *,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_concurrency: int = MAX_CONCURRENCY,
        max_retries: int = MAX_RETRIES,
        max_retry_after: float = MAX_RETRY_AFTER,
        timeout: float = 30.0,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.settings = settings
        self.user = settings.user
        self.tokens = token_provider
        self.graph_url = settings.graph_url.rstrip("/")
        parts = urlsplit(self.graph_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.base = f"{self.graph_url}/users/{quote(self.user, safe='@')}"
        self._timeout = timeout
        self._own_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._max_retries = max_retries
        self._max_retry_after = max_retry_after
        self._folders: dict[str, str] = {}
        self._folders_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GraphClient({self.user!r}, {self.graph_url!r})"

    # ---- requests ----------------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        """``path`` under the mailbox, or an absolute Graph link (a nextLink/deltaLink) after checking it
        points at Graph: a token is never sent anywhere else."""
        if path.startswith(("https://", "http://")):
            if path != self.origin and not path.startswith(self.origin + "/"):
                raise TransportProtocolError(f"refusing a link outside {self.origin}: it did not come from Graph")
            return path
        return self.base + path

    def _client(self) -> httpx.Client:
        if self._http.is_closed and self._own_http:
            self._http = httpx.Client(timeout=self._timeout)
        return self._http

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        what: str = "the mailbox",
        permission: str = "Mail.ReadWrite",
    ) -> httpx.Response:
        """One Graph request with throttling, token refresh and error mapping; the response when it is 2xx/3xx.

        429/503/504 are retried after ``Retry-After`` (capped), up to ``max_retries`` times; a 504 only for
        requests that are safe to repeat (a POST that timed out may have taken effect: sending a mail twice
        is worse than trying again later).
        """
        url = self.url(path)
        method = method.upper()
        repeatable = method in ("GET", "HEAD", "PATCH", "PUT", "DELETE")
        refreshed = refresh_now = False
        retries = 0
        network_retries = 0
        while True:
            token = self.tokens.token(refresh=True) if refresh_now else self.tokens.token()
            refresh_now = False
            send_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
            try:
                with self._slots:
                    response = self._client().request(method, url, params=params, json=json_body, content=content,
                                                      headers=send_headers)
            except httpx.TransportError as exc:
                if repeatable and network_retries < 1:
                    network_retries += 1
                    log.info("graph network error on %s (%s); trying once more", method, type(exc).__name__)
                    self._sleep(1.0)
                    continue
                raise GraphUnavailableError(f"cannot reach Microsoft Graph at {self.origin}: {_net_reason(exc)}") \
                    from None
            status = response.status_code
            if status < 400:
                return response
            if status == 401 and not refreshed:
                log.info("graph answered 401 for mailbox=%s; getting a new token", self.user)
                refreshed = refresh_now = True
                continue
            if status in RETRY_STATUSES and (status != 504 or repeatable) and retries < self._max_retries:
                delay = min(retry_after(response, default=float(2**retries)), self._max_retry_after)
                retries += 1
                log.warning("graph busy status=%d mailbox=%s retry=%d/%d in %.0fs", status, self.user, retries,
                            self._max_retries, delay)
                self._sleep(delay)
                continue
            raise self._error(response, what, permission, tries=retries + 1)

    def _error(self, response: httpx.Response, what: str, permission: str, *, tries: int) -> TransportError:
        status = response.status_code
        code, message = _graph_error(response)
        said = f" (Graph said {code}: {message})" if code or message else ""
        user = self.user
        if status == 401:
            return TransportAuthError(
                f"Microsoft Graph refused the app's token for {user}{said}: check that the app has application "
                f"(not delegated) permission {permission} with admin consent, in the right tenant")
        if status == 403:
            return TransportAuthError(
                f"the app lacks {permission} for {user} (check the application access policy / RBAC for "
                f"Applications scope){said}")
        if status in RETRY_STATUSES:
            return GraphUnavailableError(
                f"Microsoft Graph stayed busy for {user} (HTTP {status}{' ' + code if code else ''}) after {tries} "
                "tries; the bot will try again later", status=status, code=code)
        if status == 404 and code.lower() in MAILBOX_MISSING_CODES:
            return GraphRequestError(
                f"mailbox {user} was not found, or it is not an Exchange Online mailbox{said}: check "
                "mailbox.graph.user", status=status, code=code)
        if status == 404:
            return GraphRequestError(f"{what} was not found in mailbox {user}{said}", status=status, code=code)
        return GraphRequestError(f"Microsoft Graph refused {what} for {user}: HTTP {status}{said}",
                                 status=status, code=code)

    def get_json(self, path: str, *, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
                 what: str = "the mailbox") -> dict[str, Any]:
        response = self.request("GET", path, params=params, headers=headers, what=what)
        try:
            body = response.json()
        except ValueError:
            raise TransportProtocolError(f"Microsoft Graph sent something other than JSON for {what}") from None
        if not isinstance(body, dict):
            raise TransportProtocolError(f"Microsoft Graph sent an unexpected answer for {what}")
        return body

    # ---- folders ------------------------------------------------------------------------------------------
    def folder_id(self, name: str, *, create: bool = False) -> str:
        """The id of folder ``name``: a well-known name (``Inbox``, ``archive``...) or display names from the
        mailbox root, separated by ``/`` (``Inbox/Escalations``). With ``create``, missing folders are made."""
        with self._folders_lock:
            if name in self._folders:
                return self._folders[name]
        parts = [p for p in name.split("/") if p.strip()]
        if not parts:
            raise ValueError("a folder name must not be empty")
        parent: str | None = None
        if parts[0].lower() in WELL_KNOWN_FOLDERS:
            found = self.get_json(f"/mailFolders/{parts[0].lower()}", params={"$select": "id,displayName"},
                                  what=f"folder {parts[0]!r}")
            parent = str(found["id"])
            parts = parts[1:]
        for part in parts:
            child = self._child_folder(parent, part)
            if child is None:
                if not create:
                    raise GraphRequestError(f"folder {name!r} does not exist in mailbox {self.user}",
                                            status=404, code="ErrorFolderNotFound")
                child = self._create_folder(parent, part)
            parent = child
        assert parent is not None
        with self._folders_lock:
            self._folders[name] = parent
        return parent

    def _children_path(self, parent: str | None) -> str:
        return "/mailFolders" if parent is None else f"/mailFolders/{_quote_id(parent)}/childFolders"

    def _child_folder(self, parent: str | None, name: str) -> str | None:
        body = self.get_json(self._children_path(parent),
                             params={"$filter": f"displayName eq {_odata_string(name)}", "$select": "id,displayName"},
                             what=f"folder {name!r}")
        for folder in body.get("value") or []:
            if str(folder.get("displayName", "")).casefold() == name.casefold() and folder.get("id"):
                return str(folder["id"])
        return None

    def _create_folder(self, parent: str | None, name: str) -> str:
        try:
            response = self.request("POST", self._children_path(parent), json_body={"displayName": name},
                                    what=f"creating folder {name!r}")
        except GraphRequestError as exc:
            if exc.status == 409:  # made meanwhile (another replica): use it
                found = self._child_folder(parent, name)
                if found is not None:
                    return found
            raise
        folder_id = str(response.json()["id"])
        log.info("graph created folder mailbox=%s id=%s", self.user, folder_id)
        return folder_id

    def close(self) -> None:
        """Close the HTTP connections (a client made here opens new ones if used again). Idempotent."""
        if self._own_http:
            self._http.close()


def client_from_settings(settings: GraphSettings, *, http: httpx.Client | None = None) -> GraphClient:
    """A client with its token provider, both from ``[mailbox.graph]``."""
    from .msauth import TokenProvider

    return GraphClient(settings, TokenProvider(settings, http=http), http=http)


# ---- the source ------------------------------------------------------------------------------------------------


def _received(item: Mapping[str, Any]) -> datetime:
    value = str(item.get("receivedDateTime") or "")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _is_resync(exc: GraphRequestError) -> bool:
    return exc.status == 410 or exc.code.lower() in RESYNC_CODES


class GraphSource:
    """Mail from one folder of an Exchange Online mailbox, read with Graph's ``messages/delta``.

    With ``processed_folder``/``attention_folder`` settled mail is moved there (folders under the mailbox root,
    created when missing); without them it is marked read (and flagged for attention). See the module
    docstring for the cursor.
    """

    def __init__(self, client: GraphClient, folder: str = "Inbox", processed_folder: str | None = None,
                 attention_folder: str | None = None, *, page_size: int = PAGE_SIZE, poll_step: float = POLL_STEP,
                 sleep: Callable[[float], None] | None = None) -> None:
        self.client = client
        self.folder = folder
        self.processed_folder = processed_folder
        self.attention_folder = attention_folder
        self.key = f"graph:{client.user}/{folder}"
        self.page_size = page_size
        self.poll_step = poll_step
        self._sleep = sleep or client._sleep
        self._settled: OrderedDict[str, None] = OrderedDict()
        self._state: OrderedDict[str, tuple[bool, bool]] = OrderedDict()  # id -> (isRead, flagged) from the delta
        self._tail: tuple[str | None, str] | None = None
        self._more = False
        self._closed = threading.Event()

    def __repr__(self) -> str:
        return f"GraphSource({self.key!r})"

    # ---- fetch ------------------------------------------------------------------------------------------
    def start_link(self) -> str:
        """The query that starts a delta round over the folder (also the cursor of the first page's mails)."""
        folder_id = self.client.folder_id(self.folder)
        return f"{self.client.base}/mailFolders/{_quote_id(folder_id)}/messages/delta?$select={DELTA_SELECT}"

    def _resume(self, cursor: str | None) -> str | None:
        if self._tail is not None and self._tail[0] == cursor:
            return self._tail[1]
        if cursor is None:
            return None
        if cursor.startswith(self.client.origin + "/") and "/delta" in cursor:
            return cursor
        log.warning("graph ignoring a cursor that is not a Graph delta link source=%s; reading the folder from the "
                    "start", self.key)
        return None

    def _page(self, link: str) -> dict[str, Any]:
        return self.client.get_json(link, headers={"Prefer": f"odata.maxpagesize={self.page_size}"},
                                    what=f"folder {self.folder!r}")

    def fetch(self, cursor: str | None, limit: int = 200) -> Iterator[FetchedMail]:
        """Mails after ``cursor``, oldest first within each delta page, at most ``limit``."""
        self._more = False
        if limit <= 0:
            self.client.folder_id(self.folder)  # proves the token, the mailbox and the folder
            return
        link = self._resume(cursor)
        resumed = link is not None
        if link is None:
            link = self.start_link()
        last = cursor
        count = 0
        resynced = False
        while True:
            try:
                page = self._page(link)
            except GraphRequestError as exc:
                stale = _is_resync(exc) or (resumed and exc.status == 404)
                if not stale or resynced:
                    raise
                log.warning("graph delta for folder=%s cannot be resumed (HTTP %d %s); reading the whole folder "
                            "again (mail already recorded is recognised by its Message-ID)", self.folder,
                            exc.status, exc.code or "-")
                resynced, resumed = True, False
                link = self.start_link()
                continue
            following = page.get("@odata.nextLink") or page.get("@odata.deltaLink")
            if not isinstance(following, str):
                raise TransportProtocolError("Microsoft Graph sent a delta page with neither a next link nor a "
                                             "delta link")
            entries = [e for e in page.get("value") or [] if isinstance(e, dict)]
            mails = sorted((e for e in entries if "@removed" not in e and e.get("id")), key=_received)
            log.debug("graph delta page folder=%s entries=%d mails=%d removed=%d", self.folder, len(entries),
                      len(mails), len(entries) - len(mails))
            for index, item in enumerate(mails):
                item_id = str(item["id"])
                flag = item.get("flag") if isinstance(item.get("flag"), dict) else {}
                self._remember(self._state, item_id, (bool(item.get("isRead")), flag.get("flagStatus") == "flagged"))
                if item_id in self._settled:
                    continue  # recorded and settled by this process: a change to it, not a new mail
                raw = self._mime(item_id)
                if raw is None:
                    continue
                is_last = index == len(mails) - 1
                mail_cursor = following if is_last else link
                count += 1
                yield FetchedMail(raw=raw, ref=item_id, cursor=mail_cursor)
                last = mail_cursor
                if count >= limit:
                    self._more = not is_last or "@odata.nextLink" in page
                    return
            if "@odata.nextLink" in page:
                link = following
                continue
            if last != following:
                self._tail = (last, following)  # nothing more to hand out: resume here next time
            log.log(logging.INFO if count else logging.DEBUG, "graph fetch folder=%s count=%d resynced=%s",
                    self.folder, count, resynced)
            return

    def _mime(self, item_id: str) -> bytes | None:
        try:
            response = self.client.request("GET", f"/messages/{_quote_id(item_id)}/$value", what="a mail")
        except GraphRequestError as exc:
            if exc.status == 404:
                log.info("graph mail id=%s vanished before it could be read", item_id)
                return None
            raise
        log.debug("graph fetched id=%s size=%d", item_id, len(response.content))
        return response.content

    @staticmethod
    def _remember(store: OrderedDict[str, Any], key: str, value: Any) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > REMEMBERED:
            store.popitem(last=False)

    # ---- settle -----------------------------------------------------------------------------------------
    def settle(self, ref: str, outcome: str) -> None:
        """``"processed"``: marked read, then moved to ``processed_folder`` if set. ``"attention"``: flagged
        (and marked read when it stays in the folder), then moved to ``attention_folder`` if set. Only what
        differs is written. A mail someone moved or deleted meanwhile is left alone."""
        kind = check_outcome(outcome)
        target = self.processed_folder if kind == "processed" else self.attention_folder
        is_read, flagged = self._state.get(ref, (False, False))
        change: dict[str, Any] = {}
        if kind == "processed" and not is_read:
            change["isRead"] = True
        if kind == "attention":
            if not flagged:
                change["flag"] = {"flagStatus": "flagged"}
            if target is None and not is_read:
                change["isRead"] = True
        path = f"/messages/{_quote_id(ref)}"
        try:
            if change:
                self.client.request("PATCH", path, json_body=change, what="a mail")
            if target is not None:
                folder_id = self.client.folder_id(target, create=True)
                self.client.request("POST", f"{path}/move", json_body={"destinationId": folder_id}, what="a mail")
        except GraphRequestError as exc:
            if exc.status != 404:
                raise
            log.info("graph settle id=%s skipped: the mail is no longer there", ref)
        self._remember(self._settled, ref, None)
        log.info("graph settled id=%s outcome=%s moved=%s", ref, kind, "yes" if target else "no")

    # ---- wait / close -----------------------------------------------------------------------------------
    def wait(self, timeout: float) -> bool:
        """Graph offers app-only readers no push without webhooks, so this polls: True at once if the last
        fetch stopped at its limit, else after sleeping ``timeout`` seconds (in steps, so a stop is prompt)."""
        if self._more:
            return True
        waited = 0.0
        while waited < timeout and not self._closed.is_set():
            step = min(self.poll_step, timeout - waited)
            self._sleep(step)
            waited += step
        return True

    def close(self) -> None:
        self._closed.set()
        self.client.close()


# ---- the sender ------------------------------------------------------------------------------------------------


def _addresses(msg: EmailMessage, *names: str) -> set[str]:
    values = [str(v) for name in names for v in msg.get_all(name, [])]
    return {addr.lower() for _name, addr in email.utils.getaddresses(values) if addr}


def mime_for_graph(msg: EmailMessage, recipients: Sequence[str]) -> bytes:
    """The MIME Graph is given: the message as built, CRLF line ends; envelope recipients missing from
    To/Cc/Bcc are added as Bcc (Graph takes the recipients from the headers)."""
    listed = _addresses(msg, "To", "Cc", "Bcc")
    extra = [r for r in dict.fromkeys(recipients) if r and r.lower() not in listed]
    out = msg
    if extra:
        out = copy.deepcopy(msg)
        existing = [str(v) for v in out.get_all("Bcc", [])]
        del out["Bcc"]
        out["Bcc"] = ", ".join([*existing, *extra])
    return out.as_bytes(policy=out.policy.clone(linesep="\r\n"))


class GraphSender:
    """Sends mail as the mailbox through ``POST /users/{user}/sendMail`` with the MIME message (base64)."""

    def __init__(self, client: GraphClient) -> None:
        self.client = client

    def __repr__(self) -> str:
        return f"GraphSender({self.client.user!r})"

    def open(self) -> None:
        """Get a token now, so a wrong secret shows before the first mail."""
        try:
            self.client.tokens.token()
        except TransportAuthError as exc:
            raise SendAuthError(str(exc)) from None
        except TransportError as exc:
            raise SendConnectionError(str(exc)) from None

    def send(self, msg: EmailMessage, recipients: Sequence[str]) -> Refused:
        body = base64.b64encode(mime_for_graph(msg, recipients))
        try:
            response = self.client.request("POST", "/sendMail", content=body,
                                           headers={"Content-Type": "text/plain"}, what="sending a mail",
                                           permission="Mail.Send")
        except TransportError as exc:
            raise _send_error(exc) from None
        # DEBUG: this runs between Exchange's acceptance and the deliverer's mark, which should follow at once
        log.debug("graph mail sent mailbox=%s status=%d recipients=%d", self.client.user, response.status_code,
                 len(recipients))
        return {}

    def already_sent(self, message_id: str) -> bool:
        """Whether Sent Items hold a message with this Internet Message-ID (``<...>``, as Exchange keeps it)."""
        wanted = f"<{bare_message_id(message_id)}>"
        params = {"$filter": f"internetMessageId eq {_odata_string(wanted)}", "$select": "id,internetMessageId",
                  "$top": "10"}
        try:
            body = self.client.get_json("/mailFolders/sentitems/messages", params=params, what="Sent Items")
        except TransportError as exc:
            raise _send_error(exc) from None
        found = [m for m in body.get("value") or [] if isinstance(m, Mapping)
                 and bare_message_id(str(m.get("internetMessageId") or "")) == bare_message_id(wanted)]
        log.info("graph looked in Sent Items mailbox=%s found=%d", self.client.user, len(found))
        return bool(found)

    def close(self) -> None:
        pass

    def __enter__(self) -> GraphSender:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _send_error(exc: TransportError) -> SendError:
    """A transport error met while sending (or looking in Sent Items) as the sender's error."""
    if isinstance(exc, TransportAuthError):
        return SendAuthError(str(exc))
    if isinstance(exc, GraphUnavailableError):
        return SendConnectionError(str(exc), code=exc.status)
    if isinstance(exc, GraphRequestError):
        if exc.status == 404:  # the mailbox itself: someone must fix the configuration
            return SendAuthError(str(exc), code=404)
        if exc.status >= 500:
            return SendTemporaryError(str(exc), code=exc.status)
        return SendPermanentError(str(exc), code=exc.status)
    return SendTemporaryError(str(exc))


# ---- check-config --connect ------------------------------------------------------------------------------------


def check(client: GraphClient, *, folder: str | None = None, processed_folder: str | None = None,
          attention_folder: str | None = None) -> list[str]:
    """Plain-words lines (``ok: ...`` / ``missing: ...``) for ``mailbot check-config --connect``. Reads only:
    nothing is created, moved or sent. Folder names default to the client's settings."""
    settings = client.settings
    folder = folder or settings.folder
    processed_folder = processed_folder if processed_folder is not None else settings.processed_folder
    attention_folder = attention_folder if attention_folder is not None else settings.attention_folder
    app = f"app {settings.client_id} in tenant {settings.tenant_id}"
    lines: list[str] = []
    try:
        client.tokens.token()
    except TransportError as exc:
        return [f"missing: token for {app}: {exc}"]
    lines.append(f"ok: token for {app}")
    try:
        client.get_json("/mailFolders/inbox", params={"$select": "id,displayName"}, what="the Inbox")
    except TransportError as exc:
        return [*lines, f"missing: mailbox {client.user}: {exc}"]
    lines.append(f"ok: mailbox {client.user} reachable (its folders can be read)")
    try:
        client.folder_id(folder)
        lines.append(f"ok: folder {folder!r} found")
    except TransportError as exc:
        lines.append(f"missing: folder {folder!r}: {exc}")
    for label, name in (("processed", processed_folder), ("attention", attention_folder)):
        if not name:
            continue
        try:
            client.folder_id(name)
            lines.append(f"ok: {label} folder {name!r} found")
        except GraphRequestError as exc:
            if exc.status != 404:
                lines.append(f"missing: {label} folder {name!r}: {exc}")
            else:
                lines.append(f"ok: {label} folder {name!r} will be created on first use")
        except TransportError as exc:
            lines.append(f"missing: {label} folder {name!r}: {exc}")
    lines.append(f"ok: sending is not tried; it needs the application permission Mail.Send for {client.user} "
                 "(in the same application access policy)")
    return lines


__all__ = [
    "GraphClient",
    "GraphRequestError",
    "GraphSender",
    "GraphSource",
    "GraphUnavailableError",
    "Tokens",
    "check",
    "client_from_settings",
    "mime_for_graph",
    "retry_after",
]
