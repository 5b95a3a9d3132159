"""Exchange Web Services (EWS) for on-premises Exchange Server (2016/2019/SE): mail source and sender (exchangelib).

EWS is switched off in Exchange Online since 1 October 2026; for Microsoft 365 use the Graph transport. On an
on-premises server EWS remains the supported way in, with NTLM or Basic authentication, or, where the server has
Hybrid Modern Authentication, with an Entra ID access token (``auth_type = "oauth"``).

**OAuth** — app-only: the ``[mailbox.graph]`` app registration asks Entra ID (client credentials, through
:class:`mailbot.transports.msauth.TokenProvider`) for a token for the on-premises EWS resource, scope
``https://<server>/.default``, and sends it as ``Authorization: Bearer``. An app acts for a mailbox only by
impersonation (the ``ExchangeImpersonation`` SOAP header), so ``access_type`` must be ``"impersonation"``.
exchangelib asks :class:`EntraIdCredentials` for a token whenever it makes a session; the token carries an
``expires_at`` (read from the token, 5 minutes early), so exchangelib renews the session before the server refuses
it. A 401 for a token is answered once with a fresh token from Entra ID; a fresh token refused too is a refused
login (Hybrid Modern Authentication not set up, no permission, wrong ``oauth_scope``).

**Cursor** — the folder's SyncFolderItems *sync state* (an opaque string from the server). The server hands out
changes in pages; a sync state is only valid for a whole page. So, of the mails found in one page, every mail but
the last carries the sync state the page started from, and the last carries the page's new state. After a crash
between two mails of a page the next fetch starts from the older state and hands out the page's mails again: the
service ingests idempotently by Message-ID (docs/architecture.md, "Mail in"), so the replay records nothing
twice. A sync state the server no longer accepts (``ErrorInvalidSyncStateData``) starts the sync over from
nothing: every mail in the folder is handed out again, de-duplicated the same way (logged as a WARNING). An empty
cursor means "from the start".

Pages with no new mail (only mails moved away, read flags changed...) advance an in-memory state, used by the
next ``fetch`` when it is given the cursor this source last handed out; after a restart they are simply replayed.

A stop after a mail was recorded but before it was settled leaves it in the folder with the cursor past it (the last
mail of a page carries the page's new state): the service's first poll after a start settles it again from the
store's record of it (:meth:`mailbot.mail_in.ingest.Ingestor.poll`), so it does not stay in the inbox.

**Settling** moves a mail to ``processed_folder``/``attention_folder`` (created under the watched folder when
missing; a name with "/" is a path); without folders a processed mail is marked as read and a mail needing
attention is left unread for a person to see.

**Waiting** is polling: :meth:`EwsSource.wait` sleeps and then says mail may be there. EWS streaming or pull
notifications are not used (out of scope).

**Sending** hands the finished MIME message to CreateItem with ``MessageDisposition="SendAndSaveCopy"``, so the
bot's own Message-ID, In-Reply-To, References and Auto-Submitted headers travel with it. Exchange takes To and Cc
from the MIME headers; envelope recipients not named there are added as Bcc. The copy in Sent Items is saved by the
server as part of the same operation, so :meth:`EwsSender.already_sent` (FindItem on Sent Items restricted to
``message:InternetMessageId``) tells whether a mail whose attempt was cut short went out.

Errors become the transport errors of :mod:`mailbot.transports.source` / :mod:`mailbot.transports.sender`, in plain
words that name the missing right. No password, subject, body or name is ever logged or put in a message.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import getaddresses
from typing import Any

import requests
from exchangelib import (
    BASIC,
    DELEGATE,
    IMPERSONATION,
    NTLM,
    OAUTH2,
    Account,
    Configuration,
    Credentials,
    FaultTolerance,
    Identity,
    Message,
    OAuth2Credentials,
    Version,
)
from exchangelib import errors as ews_errors
from exchangelib.folders import BaseFolder, Folder, FolderCollection
from exchangelib.items import ALWAYS_OVERWRITE, ID_ONLY
from exchangelib.properties import ItemId, Mailbox
from exchangelib.protocol import NoVerifyHTTPAdapter
from exchangelib.services import CreateFolder, SyncFolderItems
from exchangelib.services.sync_folder_hierarchy import SyncFolder
from exchangelib.util import MNS
from exchangelib.version import EXCHANGE_2016
from oauthlib.oauth2 import TokenExpiredError

from .sender import (
    Refused,
    SendAuthError,
    SendConnectionError,
    SendError,
    SendPermanentError,
    SendTemporaryError,
    bare_message_id,
)
from .source import (
    FetchedMail,
    TransportAuthError,
    TransportConnectionError,
    TransportError,
    TransportProtocolError,
    check_outcome,
)

log = logging.getLogger(__name__)

AUTH_TYPES = {"ntlm": NTLM, "basic": BASIC, "oauth": OAUTH2}
ACCESS_TYPES = {"delegate": DELEGATE, "impersonation": IMPERSONATION}
MAX_WAIT = 300.0  # seconds of ErrorServerBusy back-off we accept before giving up on a request
PAGE_MAX = 512  # SyncFolderItems MaxChangesReturned: the server allows 1..512
FETCH_BATCH = 20  # items per GetItem request (MIME can be large)
POLL_STEP = 5.0
RENEW_BEFORE = 300  # seconds before a token expires at which a new one is used (msal's own margin)
OPAQUE_LIFETIME = 3000  # a token whose expiry cannot be read is renewed after 50 minutes (Entra ID's live 60-90)
REF_SEP = "|"

_CONNECTION = (
    ews_errors.ErrorTimeoutExpired,
    ews_errors.RateLimitError,
    ews_errors.ErrorServerBusy,
    ews_errors.ErrorInternalServerTransientError,
    ews_errors.ErrorTooManyObjectsOpened,
    ews_errors.ErrorExceededConnectionCount,
    ews_errors.RedirectError,
    ews_errors.CASError,
    requests.exceptions.RequestException,
    OSError,
)
_MISSING_FOLDER = (ews_errors.ErrorFolderNotFound, ews_errors.ErrorItemNotFound)
_PERMANENT_SEND = (
    ews_errors.ErrorInvalidRecipients,
    ews_errors.ErrorMessageSizeExceeded,
    ews_errors.ErrorMimeContentConversionFailed,
    ews_errors.ErrorMimeContentInvalid,
    ews_errors.ErrorInvalidSmtpAddress,
    ews_errors.ErrorSchemaValidation,
    ews_errors.ErrorInvalidRequest,
    ews_errors.ErrorSubmissionQuotaExceeded,
)


class _SyncFolderItems(SyncFolderItems):
    """SyncFolderItems that raises the server's error (e.g. ErrorInvalidSyncStateData) for an error response:
    exchangelib reads SyncState before looking at the response class, and an error response has none."""

    def _get_element_container(self, message: Any, name: Any = None) -> Any:
        if message.find(f"{{{MNS}}}SyncState") is None:
            return super(SyncFolder, self)._get_element_container(message=message, name=name)
        return super()._get_element_container(message=message, name=name)


class _Patient(FaultTolerance):
    """Waits out ``ErrorServerBusy`` (honouring the server's ``BackOffMilliseconds``) up to ``max_wait`` seconds,
    but takes HTTP 401 as a refused login at once. (exchangelib's FaultTolerance treats a 401 as throttling and
    would retry a wrong password for ``max_wait`` seconds.) With ``bearer`` (OAuth), the first 401 is answered with
    a fresh token instead: exchangelib retries the request on a new session (TokenExpiredError)."""

    def __init__(self, max_wait: float, bearer: EntraIdCredentials | None = None) -> None:
        super().__init__(max_wait=max_wait)
        self.bearer = bearer

    def raise_response_errors(self, response: requests.Response) -> None:
        if response.status_code == 401 and b"locked out" not in (response.content or b""):
            request = getattr(response, "request", None)
            if self.bearer is not None and self.bearer.refused(request.headers.get("Authorization") if request
                                                               else None):
                log.info("ews server refused the access token (expired?); asking Entra ID for a fresh one")
                raise TokenExpiredError(description="HTTP 401: the server refused the access token")
            raise ews_errors.UnauthorizedError(f"HTTP 401 from {response.url}")
        if self.bearer is not None:
            self.bearer.accepted()
        return super().raise_response_errors(response)


class EntraIdCredentials(OAuth2Credentials):
    """exchangelib's OAuth 2.0 client-credentials login with the token from our :class:`TokenProvider` (msal),
    for the on-premises EWS resource ``scope``; exchangelib's own token request (requests-oauthlib) is never used.

    exchangelib calls :meth:`session_params` for every new session and :meth:`refresh` when a session's token
    passed its ``expires_at``; :class:`_Patient` calls :meth:`refused` on a 401. A token that expired or was refused
    is never handed out again: msal is asked for a fresh one. Equal only to itself (each account has its own
    exchangelib protocol and session pool)."""

    def __init__(self, tokens: Any, scope: str, mailbox: str) -> None:
        super().__init__(client_id=tokens.settings.client_id, client_secret=None,
                         tenant_id=tokens.settings.tenant_id, identity=Identity(primary_smtp_address=mailbox))
        self.tokens = tokens
        self.resource_scope = scope
        self._spent: str | None = None  # the last token that expired or was refused
        self._retried = False  # a fresh token was fetched after a 401 and has not been accepted yet

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"EntraIdCredentials({self.client_id!r}, {self.resource_scope!r})"

    @property
    def scope(self) -> list[str]:
        return [self.resource_scope]

    def token(self) -> str:
        """An access token for the EWS resource: msal's cached one, or a fresh one when that one is spent.
        TransportAuthError / TransportConnectionError when Entra ID refuses or cannot be reached."""
        with self.lock:
            token = self.tokens.token(self.scope)
            if token == self._spent:
                token = self.tokens.token(self.scope, refresh=True)
            return str(token)

    def session_params(self) -> dict[str, Any]:
        token = self.token()
        self.access_token = {"access_token": token, "token_type": "Bearer", "expires_at": _renew_at(token)}
        return {"token": self.access_token}  # no refresh URL: requests-oauthlib never asks for tokens itself

    def refresh(self, session: Any) -> None:
        """exchangelib: the session's token reached ``expires_at``; the next session must not use it."""
        with self.lock:
            self._spent = (getattr(session, "token", None) or {}).get("access_token")
        log.debug("ews access token due for renewal")

    def refused(self, authorization: str | None) -> bool:
        """The server answered 401 to ``authorization``. True: try once more with a fresh token; False: the fresh
        token was refused too (a refused login)."""
        with self.lock:
            if self._retried:
                self._retried = False
                return False
            self._retried = True
            self._spent = (authorization or "").removeprefix("Bearer").strip() or None
            return True

    def accepted(self) -> None:
        self._retried = False


def _jwt_expiry(token: str) -> int | None:
    """The ``exp`` claim of a JWT access token (read, not verified: only to know when to renew it), or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return int(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def _renew_at(token: str, now: float | None = None) -> int:
    """When exchangelib should stop using ``token``: 5 minutes before it expires, but never sooner than a minute
    from now (a clock ahead of Entra ID's must not make every new session "expired" at once)."""
    now = time.time() if now is None else now
    exp = _jwt_expiry(token)
    if exp is None:
        return int(now + OPAQUE_LIFETIME)
    return int(max(exp - RENEW_BEFORE, now + 60))


def oauth_scope(settings: Any) -> str:
    """The scope of the on-premises EWS resource: ``oauth_scope`` from config, else ``https://<server>/.default``."""
    return getattr(settings, "oauth_scope", None) or f"https://{settings.server}/.default"


# ---- account ----------------------------------------------------------------------------------------------------


def open_account(settings: Any, password: str | None = None, *, token_provider: Any = None,
                 max_wait: float = MAX_WAIT) -> Account:
    """An exchangelib Account for ``settings`` (an :class:`mailbot.transports.settings.EwsSettings`).

    No request is made here: the server, the auth type (NTLM, Basic or OAuth) and the version (Exchange 2016 schema,
    which 2019 and SE accept) are given, so neither autodiscover nor version guessing runs. ``autodiscover = true``
    in the settings looks the server up instead (one autodiscover exchange when the account is made).
    NTLM and Basic need ``password``; OAuth needs ``token_provider`` (a :class:`~mailbot.transports.msauth.
    TokenProvider` for the ``[mailbox.graph]`` app registration) and impersonation.
    """
    auth = AUTH_TYPES.get(str(settings.auth_type).lower())
    if auth is None:
        raise TransportProtocolError(
            f"EWS auth_type {settings.auth_type!r} is not supported: use \"ntlm\" or \"basic\" for an on-premises "
            "Exchange Server, or \"oauth\" where it has Hybrid Modern Authentication (for Exchange Online use the "
            "Graph transport)"
        )
    access = ACCESS_TYPES.get(str(settings.access_type).lower())
    if access is None:
        raise TransportProtocolError(
            f"EWS access_type {settings.access_type!r} is not supported: use \"delegate\" or \"impersonation\""
        )
    credentials: Credentials | EntraIdCredentials
    if auth == OAUTH2:
        if access != IMPERSONATION:
            raise TransportProtocolError(
                "EWS auth_type \"oauth\" signs in as the app, which acts for the mailbox only by impersonation: set "
                "access_type = \"impersonation\" (access_type \"delegate\" needs auth_type \"ntlm\" or \"basic\")"
            )
        if token_provider is None:
            raise TransportAuthError("EWS auth_type \"oauth\" takes its token from the [mailbox.graph] app "
                                     "registration: add that table (see docs/microsoft-365.md)")
        credentials = EntraIdCredentials(token_provider, oauth_scope(settings), settings.primary_smtp_address)
        bearer: EntraIdCredentials | None = credentials
    else:
        if not password:
            where = f"the environment variable {settings.password_env}" if settings.password_env else "password_env"
            raise TransportAuthError(f"no password for the EWS user {settings.username}: set {where}")
        credentials, bearer = Credentials(username=settings.username, password=password), None
    config = Configuration(
        server=settings.server,
        credentials=credentials,
        auth_type=auth,
        version=Version(build=EXCHANGE_2016),
        retry_policy=_Patient(max_wait=max_wait, bearer=bearer),
    )
    try:
        account = Account(
            primary_smtp_address=settings.primary_smtp_address,
            credentials=credentials,
            config=config,
            autodiscover=bool(getattr(settings, "autodiscover", False)),
            access_type=access,
        )
    except Exception as exc:  # autodiscover talks to the network; the rest only validates
        raise _source_error(exc, _Where(settings.server, settings.primary_smtp_address, auth)) from None
    if not getattr(settings, "verify_tls", True):
        log.warning("ews TLS certificate checks are OFF for server=%s (verify_tls = false)", settings.server)
        _skip_tls_verification(account)
    log.info("ews account server=%s mailbox=%s auth=%s access=%s%s", settings.server,
             settings.primary_smtp_address, auth, access,
             f" app={credentials.client_id} scope={credentials.resource_scope}" if bearer else "")
    return account


def _skip_tls_verification(account: Account) -> None:
    """Mount exchangelib's NoVerifyHTTPAdapter on this account's sessions only (not process-wide)."""
    protocol = account.protocol
    make = type(protocol).raw_session

    def raw_session(prefix: str, *args: Any, **kwargs: Any) -> requests.Session:
        session = make(prefix, *args, **kwargs)
        session.mount(prefix, NoVerifyHTTPAdapter(pool_block=True, pool_connections=1, pool_maxsize=1,
                                                  max_retries=0))
        return session

    protocol.raw_session = raw_session  # type: ignore[method-assign]
    protocol.close()  # sessions made before this point verified TLS


class _Where:
    """What an error message names: the server, the mailbox, the auth type."""

    def __init__(self, server: str, mailbox: str, auth: str | None) -> None:
        self.server = server
        self.mailbox = mailbox
        self.auth = auth or "?"

    @classmethod
    def of(cls, account: Account) -> _Where:
        config = account.protocol.config
        return cls(config.server or "?", account.primary_smtp_address, config.auth_type)

    @property
    def oauth(self) -> bool:
        return self.auth == OAUTH2

    def refused(self) -> str:
        """What a 401 means, in plain words."""
        if self.oauth:
            return (f"the Exchange server {self.server} refused the app's access token ({self.auth}), also a fresh "
                    "one: check that Hybrid Modern Authentication is enabled for EWS on the server, that the app has "
                    "the full_access_as_app permission with admin consent, and that oauth_scope is the server's "
                    "external URL followed by /.default")
        return f"the Exchange server {self.server} refused the user name and password ({self.auth})"

    def accepted(self) -> str:
        if self.oauth:
            return f"the server accepts the app's access token ({self.auth})"
        return f"the user name and password are accepted ({self.auth})"


def _text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _source_error(exc: BaseException, where: _Where, doing: str = "") -> TransportError:
    """``exc`` (from exchangelib or requests) as a TransportError in plain words."""
    server, mailbox = f"the Exchange server {where.server}", where.mailbox
    during = f" while {doing}" if doing else ""
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, ews_errors.UnauthorizedError):
        if where.oauth:
            return TransportAuthError(where.refused())
        return TransportAuthError(
            f"{where.refused()}: check the user name (DOMAIN\\user or user@domain), the password and that the "
            "account is not locked"
        )
    if isinstance(exc, ews_errors.ErrorImpersonateUserDenied) and where.oauth:
        return TransportAuthError(
            f"{server} does not let the app impersonate {mailbox}: give the app the full_access_as_app application "
            "permission (Office 365 Exchange Online) with admin consent, and check Hybrid Modern Authentication"
        )
    if isinstance(exc, ews_errors.ErrorImpersonateUserDenied):
        return TransportAuthError(
            f"{server} does not let the service account impersonate {mailbox}: give it the ApplicationImpersonation "
            "role (New-ManagementRoleAssignment -Role ApplicationImpersonation), or use access_type = \"delegate\" "
            "with FullAccess on the shared mailbox"
        )
    if isinstance(exc, (ews_errors.ErrorAccessDenied, ews_errors.ErrorNoPublicFolderReplicaAvailable)):
        return TransportAuthError(
            f"{server} refused access to the mailbox {mailbox}{during}: give the service account FullAccess on the "
            "shared mailbox (Add-MailboxPermission -AccessRights FullAccess), or the ApplicationImpersonation role "
            "with access_type = \"impersonation\""
        )
    if isinstance(exc, ews_errors.ErrorNonExistentMailbox):
        return TransportProtocolError(f"{server} has no mailbox {mailbox}: check primary_smtp_address")
    if isinstance(exc, _MISSING_FOLDER):
        return TransportProtocolError(f"{server} could not find the folder{during} in {mailbox}: {_text(exc)}")
    if isinstance(exc, ews_errors.RateLimitError):
        return TransportConnectionError(f"{server} stayed too busy (ErrorServerBusy){during}; will try again later")
    if isinstance(exc, requests.exceptions.SSLError) or (
        isinstance(exc, ews_errors.TransportError) and "certificate" in str(exc).lower()
    ):
        return TransportConnectionError(f"the TLS certificate of {server} was not accepted{during}")
    if isinstance(exc, _CONNECTION):
        return TransportConnectionError(f"cannot reach {server}{during}: {_text(exc)}")
    if isinstance(exc, ews_errors.ResponseMessageError):
        return TransportProtocolError(f"{server} answered {type(exc).__name__}{during}: {_text(exc)}")
    if isinstance(exc, ews_errors.EWSError):  # exchangelib's TransportError (TLS, connection) and the like
        return TransportConnectionError(f"cannot use {server}{during}: {_text(exc)}")
    raise exc


def _send_error(exc: BaseException, where: _Where) -> SendError:
    server = f"the Exchange server {where.server}"
    if isinstance(exc, TransportAuthError):  # Entra ID refused the app a token (OAuth)
        return SendAuthError(str(exc))
    if isinstance(exc, TransportConnectionError):  # Entra ID could not be reached (OAuth)
        return SendConnectionError(str(exc))
    if isinstance(exc, ews_errors.UnauthorizedError):
        return SendAuthError(where.refused())
    if isinstance(exc, ews_errors.ErrorSendAsDenied):
        return SendAuthError(
            f"{server} refused to send as {where.mailbox}: give the service account Send As on the shared mailbox "
            "(Add-ADPermission -ExtendedRights \"Send As\")"
        )
    if isinstance(exc, (ews_errors.ErrorAccessDenied, ews_errors.ErrorImpersonateUserDenied)):
        return SendAuthError(f"{server} refused access to the mailbox {where.mailbox} ({type(exc).__name__})")
    if isinstance(exc, _PERMANENT_SEND):
        return SendPermanentError(f"{server} refused the mail: {type(exc).__name__}: {_text(exc)}")
    if isinstance(exc, (ews_errors.ErrorServerBusy, ews_errors.RateLimitError, ews_errors.ErrorQuotaExceeded)):
        return SendTemporaryError(f"{server} is busy ({type(exc).__name__}); will try again")
    if isinstance(exc, _CONNECTION) or (
        isinstance(exc, ews_errors.EWSError) and not isinstance(exc, ews_errors.ResponseMessageError)
    ):
        return SendConnectionError(f"cannot reach {server}: {_text(exc)}")
    if isinstance(exc, ews_errors.ResponseMessageError):
        return SendTemporaryError(f"{server} answered {type(exc).__name__}: {_text(exc)}")
    raise exc


# ---- folders ----------------------------------------------------------------------------------------------------


def _split(path: str) -> list[str]:
    return [p for p in path.replace("\\", "/").split("/") if p.strip()]


def _child(parent: BaseFolder, name: str) -> BaseFolder | None:
    """The direct sub-folder of ``parent`` called ``name`` (case-insensitive), by FindFolder."""
    account = parent.account
    for found in FolderCollection(account=account, folders=[parent]).find_folders(depth="Shallow"):
        if isinstance(found, Exception):
            raise found
        if (found.name or "").casefold() == name.casefold():
            return found
    return None


def resolve_folder(account: Account, path: str, *, create: bool = False, base: BaseFolder | None = None) -> BaseFolder:
    """The folder at ``path``: "Inbox" (the distinguished inbox, in any language), "Inbox/Escalations", or a path
    from the top of the mailbox ("Escalations/Done"). Relative to ``base`` when given. With ``create``, missing
    folders are made (CreateFolder); else :class:`exchangelib.errors.ErrorFolderNotFound`."""
    parts = _split(path)
    if not parts:
        raise ValueError("empty folder path")
    if base is not None:
        folder = base
    elif parts[0].casefold() == "inbox":
        folder, parts = account.inbox, parts[1:]
    else:
        folder = account.msg_folder_root
    for name in parts:
        found = _child(folder, name)
        if found is None:
            if not create:
                raise ews_errors.ErrorFolderNotFound(f"no folder {name!r}")
            found = _create_folder(folder, name)
        folder = found
    return folder


def _create_folder(parent: BaseFolder, name: str) -> BaseFolder:
    new = Folder(parent=parent, name=name, folder_class="IPF.Note")
    result = next(iter(CreateFolder(account=parent.account).call(parent_folder=parent, folders=[new])))
    if isinstance(result, ews_errors.ErrorFolderExists):  # made meanwhile by someone else
        again = _child(parent, name)
        if again is None:
            raise result
        return again
    if isinstance(result, Exception):
        raise result
    log.info("ews created folder=%s", name)
    return result


# ---- the source -------------------------------------------------------------------------------------------------


def parse_ref(ref: str) -> tuple[str, str | None]:
    """``"ITEMID|CHANGEKEY"`` as (item id, change key or None)."""
    item_id, _, changekey = ref.partition(REF_SEP)
    if not item_id:
        raise ValueError(f"not an EWS mail reference (ITEMID|CHANGEKEY): {ref!r}")
    return item_id, changekey or None


class EwsSource:
    """Mail from one folder of an Exchange mailbox, read with SyncFolderItems; see the module text."""

    def __init__(
        self,
        account: Account,
        folder: str = "Inbox",
        processed_folder: str | None = None,
        attention_folder: str | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        poll_step: float = POLL_STEP,
    ) -> None:
        self.account = account
        self.folder = folder
        self.processed_folder = processed_folder
        self.attention_folder = attention_folder
        self.key = f"ews:{account.primary_smtp_address}/{folder}"
        self._sleep = sleep
        self._poll_step = poll_step
        self._where = _Where.of(account)
        self._folder: BaseFolder | None = None
        self._targets: dict[str, BaseFolder] = {}
        # (cursor last handed out, a newer sync state whose pages held no new mail)
        self._ahead: tuple[str, str] | None = None

    def __repr__(self) -> str:
        return f"EwsSource({self.key!r})"

    def _source_folder(self) -> BaseFolder:
        if self._folder is None:
            try:
                self._folder = resolve_folder(self.account, self.folder)
            except Exception as exc:
                raise _source_error(exc, self._where, f"opening the folder {self.folder!r}") from None
        return self._folder

    # ---- fetch ------------------------------------------------------------------------------------------------
    def fetch(self, cursor: str | None, limit: int = 200) -> Iterator[FetchedMail]:
        """New mails after the sync state ``cursor`` (None or "": from the start), oldest first, at most ``limit``
        (a page is never split: the limit is what the server is asked for)."""
        folder = self._source_folder()
        given = cursor or ""
        state = given
        if self._ahead is not None and self._ahead[0] == given:
            state = self._ahead[1]
        handed = given
        count = 0
        reset = False
        while count < max(limit, 1):
            page_size = max(1, min(PAGE_MAX, limit - count))
            try:
                new_state, last, created = self._sync_page(folder, state, page_size)
            except ews_errors.ErrorInvalidSyncStateData:
                if not state or reset:
                    raise TransportProtocolError(
                        f"the Exchange server {self._where.server} refused a fresh sync of {self.folder!r}"
                    ) from None
                log.warning("ews sync state of folder=%s no longer valid; syncing from the start (mail already "
                            "recorded is recognised by Message-ID)", self.folder)
                state, reset, self._ahead = "", True, None
                continue
            except TransportError:
                raise
            except Exception as exc:
                raise _source_error(exc, self._where, f"syncing the folder {self.folder!r}") from None
            log.log(logging.INFO if created else logging.DEBUG, "ews sync folder=%s created=%d more=%s",
                    self.folder, len(created), not last)
            held: FetchedMail | None = None
            for raw, ref in self._mime(created):
                if held is not None:
                    yield held
                    count += 1
                held = FetchedMail(raw=raw, ref=ref, cursor=state)
            if held is not None:
                yield FetchedMail(raw=held.raw, ref=held.ref, cursor=new_state)
                count += 1
                handed = new_state
                self._ahead = None
            elif new_state != state:
                self._ahead = (handed, new_state)  # nothing new in this page: remember how far we got
            if last or new_state == state:
                break
            state = new_state

    def _sync_page(self, folder: BaseFolder, state: str, size: int) -> tuple[str, bool, list[tuple[str, str]]]:
        svc = _SyncFolderItems(account=self.account)
        changes = list(svc.call(folder=folder, shape=ID_ONLY, additional_fields=set(), sync_state=state or None,
                                ignore=None, max_changes_returned=size, sync_scope=None))
        created: list[tuple[str, str]] = []
        for change in changes:
            if isinstance(change, Exception):
                raise change
            kind, item = change
            if kind == SyncFolderItems.CREATE and item.id:
                created.append((item.id, item.changekey))
        return svc.sync_state or state, bool(svc.includes_last_item_in_range), created

    def _mime(self, ids: list[tuple[str, str]]) -> Iterator[tuple[bytes, str]]:
        for start in range(0, len(ids), FETCH_BATCH):
            batch = ids[start : start + FETCH_BATCH]
            try:
                items = list(self.account.fetch(ids=batch, folder=self._folder, only_fields=["mime_content"]))
            except Exception as exc:
                raise _source_error(exc, self._where, "downloading mail") from None
            for (item_id, _), item in zip(batch, items, strict=False):
                if isinstance(item, ews_errors.ErrorItemNotFound):
                    log.debug("ews item vanished before it could be fetched")
                    continue
                if isinstance(item, Exception):
                    raise _source_error(item, self._where, "downloading mail")
                if not item.mime_content:
                    log.warning("ews item without MIME content skipped")
                    continue
                raw = item.mime_content if isinstance(item.mime_content, bytes) else item.mime_content.encode()
                yield raw, f"{item.id or item_id}{REF_SEP}{item.changekey or ''}"

    # ---- settle -----------------------------------------------------------------------------------------------
    def settle(self, ref: str, outcome: str) -> None:
        """``"processed"``: marked read and moved to ``processed_folder`` (or only marked read). ``"attention"``:
        moved unread to ``attention_folder`` (or left unread where it is). A mail already gone (settled already, or
        moved by someone) is logged and left alone."""
        kind = check_outcome(outcome)
        item_id, _changekey = parse_ref(ref)
        target_name = self.processed_folder if kind == "processed" else self.attention_folder
        try:
            if kind == "processed":
                self._mark_read(item_id)
            if target_name:
                target = self._target(target_name)
                result = self.account.bulk_move(ids=[ItemId(id=item_id)], to_folder=target)
                for res in result:
                    if isinstance(res, Exception):
                        raise res
        except ews_errors.ErrorItemNotFound:
            # settled already (the ingest settles again, at a start, the mail recorded last) or moved by someone
            log.info("ews settle: the mail is no longer in folder=%s", self.folder)
            return
        except TransportError:
            raise
        except Exception as exc:
            raise _source_error(exc, self._where, "filing mail") from None
        log.info("ews settled outcome=%s moved_to=%s", kind, target_name or "-")

    def _mark_read(self, item_id: str) -> None:
        item = Message(account=self.account, id=item_id, is_read=True)
        for res in self.account.bulk_update(items=[(item, ["is_read"])], conflict_resolution=ALWAYS_OVERWRITE):
            if isinstance(res, Exception):
                raise res

    def _target(self, name: str) -> BaseFolder:
        folder = self._targets.get(name)
        if folder is None:
            parts = _split(name)
            base = None if parts and parts[0].casefold() == "inbox" else self._source_folder()
            folder = resolve_folder(self.account, name, create=True, base=base)
            self._targets[name] = folder
        return folder

    # ---- wait / close -----------------------------------------------------------------------------------------
    def wait(self, timeout: float) -> bool:
        """Polling: sleep ``timeout`` seconds (in steps) and say mail may be there (True). EWS notifications
        (streaming/pull subscriptions) are not used."""
        remaining = max(timeout, 0.0)
        while remaining > 0:
            step = min(self._poll_step, remaining)
            self._sleep(step)
            remaining -= step
        return True

    def close(self) -> None:
        try:
            self.account.protocol.close()
        except Exception:  # closing must never fail
            log.debug("ews close failed", exc_info=True)


# ---- the sender -------------------------------------------------------------------------------------------------


def _header_addresses(msg: EmailMessage) -> set[str]:
    values = [str(v) for name in ("To", "Cc", "Bcc") for v in msg.get_all(name, [])]
    return {addr.casefold() for _, addr in getaddresses(values) if addr}


class EwsSender:
    """Sends through the mailbox of ``account`` (CreateItem, SendAndSaveCopy into Sent Items); see the module text.
    Exchange reports refused recipients later by a bounce mail, so :meth:`send` always returns ``{}``."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self._where = _Where.of(account)
        self._sent: BaseFolder | None = None

    def __repr__(self) -> str:
        return f"EwsSender({self.account.primary_smtp_address!r})"

    def open(self) -> None:
        if self._sent is not None:
            return
        try:
            self._sent = self.account.sent
        except Exception as exc:
            raise _send_error(exc, self._where) from None

    def send(self, msg: EmailMessage, recipients: Sequence[str]) -> Refused:
        self.open()
        named = _header_addresses(msg)
        extra = [a for a in dict.fromkeys(recipients) if a.casefold() not in named]
        mime = msg.as_bytes(policy=SMTP)
        item = Message(
            account=self.account,
            folder=self._sent,
            mime_content=mime,
            bcc_recipients=[Mailbox(email_address=a) for a in extra] or None,
        )
        try:
            item.send_and_save()
        except Exception as exc:
            raise _send_error(exc, self._where) from None
        # DEBUG: this runs between the server's acceptance and the deliverer's mark, which should follow at once
        log.debug("ews mail sent recipients=%d bcc=%d size=%d", len(recipients), len(extra), len(mime))
        return {}

    def already_sent(self, message_id: str) -> bool:
        """Whether Sent Items hold a message with this Internet Message-ID (FindItem, at most one id back)."""
        wanted = f"<{bare_message_id(message_id)}>"
        self.open()
        assert self._sent is not None
        try:
            found = self._sent.filter(message_id=wanted).exists()
        except Exception as exc:
            raise _send_error(exc, self._where) from None
        log.info("ews looked in Sent Items found=%s", found)
        return bool(found)

    def close(self) -> None:
        self._sent = None


# ---- check-config --connect -------------------------------------------------------------------------------------


def check(account: Account, folder: str = "Inbox", targets: Iterable[str | None] = ()) -> list[str]:
    """Plain-words lines for ``mailbot check-config --connect``; "FAILED" starts a line that needs fixing."""
    where = _Where.of(account)
    lines: list[str] = []
    credentials = account.protocol.credentials
    if isinstance(credentials, EntraIdCredentials):
        try:
            credentials.token()
        except TransportError as exc:
            return [f"FAILED token: {exc}"]
        lines.append(f"ok   token: Entra ID gives {credentials.tokens.describe()} a token for "
                     f"{credentials.resource_scope}")
    try:
        account.msg_folder_root  # noqa: B018 - one GetFolder: reachable, login, mailbox rights
    except Exception as exc:
        err = _source_error(exc, where, "opening the mailbox")
        if isinstance(err, TransportConnectionError):
            return [*lines, f"FAILED server: {err}"]
        lines.append(f"ok   server: the Exchange server {where.server} answers (EWS)")
        if isinstance(err, TransportAuthError) and isinstance(exc, ews_errors.UnauthorizedError):
            return [*lines, f"FAILED login: {err}"]
        lines.append(f"ok   login: {where.accepted()}")
        return [*lines, f"FAILED mailbox: {err}"]
    lines.append(f"ok   server: the Exchange server {where.server} answers (EWS)")
    lines.append(f"ok   login: {where.accepted()}")
    lines.append(f"ok   mailbox: {where.mailbox} can be opened ({account.access_type} access)")
    try:
        base = resolve_folder(account, folder)
        lines.append(f"ok   folder: {folder!r} exists")
    except Exception as exc:
        lines.append(f"FAILED folder: {_source_error(exc, where, f'opening the folder {folder!r}')}")
        base = None
    for name in targets:
        if not name or base is None:
            continue
        parts = _split(name)
        try:
            resolve_folder(account, name, base=None if parts[0].casefold() == "inbox" else base)
            lines.append(f"ok   folder: {name!r} exists")
        except ews_errors.ErrorFolderNotFound:
            lines.append(f"ok   folder: {name!r} is missing and will be created on first use")
        except Exception as exc:
            lines.append(f"FAILED folder: {_source_error(exc, where, f'looking for the folder {name!r}')}")
    if where.oauth:
        lines.append(f"?    send as: the app sends as {where.mailbox} by impersonation (full_access_as_app); "
                     "sending itself is not tried")
        return lines
    lines.append(
        f"?    send as: sending as {where.mailbox} cannot be checked without sending a mail; ask IT to confirm the "
        "service account has Send As (Add-ADPermission -ExtendedRights \"Send As\") on the shared mailbox, or send "
        "one test mail and look for ErrorSendAsDenied in the log"
    )
    return lines


__all__ = ["EntraIdCredentials", "EwsSender", "EwsSource", "check", "oauth_scope", "open_account", "parse_ref",
           "resolve_folder"]
