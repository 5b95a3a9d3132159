"""App-only access tokens from Microsoft Entra ID (client credentials), for Microsoft Graph and for Exchange
Online's IMAP/SMTP XOAUTH2.

:class:`TokenProvider` wraps :class:`msal.ConfidentialClientApplication` for one app registration
(``[mailbox.graph]``): a client secret read from the environment, or a certificate (a PEM file holding the
private key, and the certificate or its SHA-1 thumbprint as Entra ID shows it). msal keeps the tokens in memory
and only asks Entra ID again when a token is about to expire; :meth:`TokenProvider.token` with ``refresh=True``
drops the cached tokens first (after Graph answered 401).

msal talks HTTP through :class:`MsalHttpxClient`, a small ``requests``-like adapter over :mod:`httpx`, so the
whole bot uses one HTTP stack (proxies from the environment, one set of timeouts) and tests mock it with respx.
msal first reads the tenant's OpenID configuration
(``{authority_host}/{tenant_id}/v2.0/.well-known/openid-configuration``), then posts to its token endpoint.
Instance discovery is off (``authority_host`` is configured, so msal need not ask login.microsoftonline.com for
host aliases: dropping cached tokens would otherwise make that call).

Errors are :class:`~mailbot.transports.source.TransportAuthError` (Entra ID refused: wrong secret, unknown app,
unknown tenant, no consent...) or :class:`~mailbot.transports.source.TransportConnectionError` (Entra ID could
not be reached), in plain words, never with the secret, the key or a token in them.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import msal
from msal.exceptions import MsalServiceError

from .settings import GraphSettings
from .source import TransportAuthError, TransportConnectionError

log = logging.getLogger(__name__)

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
OUTLOOK_SCOPE = "https://outlook.office365.com/.default"  # IMAP/SMTP XOAUTH2, app-only, Exchange Online
DEFAULT_TIMEOUT = 30.0

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)
_AADSTS = re.compile(r"AADSTS(\d+)")


# ---- msal's HTTP, over httpx ----------------------------------------------------------------------------------


class _Response:
    """The part of a ``requests.Response`` msal reads."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.text = response.text
        self.headers = dict(response.headers)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise MsalServiceError(f"HTTP Error: {self.status_code}", error=None, error_description=None)


class MsalHttpxClient:
    """msal's ``http_client`` (``get``/``post``/``close`` like ``requests.Session``) backed by an httpx client."""

    def __init__(self, client: httpx.Client | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._own = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)

    def get(self, url: str, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
            **kwargs: Any) -> _Response:
        return _Response(self._client.get(url, params=params, headers=headers, timeout=self._timeout(kwargs)))

    def post(self, url: str, params: Mapping[str, Any] | None = None, data: Any = None,
             headers: Mapping[str, str] | None = None, **kwargs: Any) -> _Response:
        timeout = self._timeout(kwargs)
        if isinstance(data, Mapping):  # msal: a dict is form-encoded, a str goes as it is
            # as requests encodes it: bytes as text (msal's signed client assertion is bytes), None left out
            form = {k: v.decode() if isinstance(v, bytes) else v for k, v in data.items() if v is not None}
            response = self._client.post(url, params=params, data=form, headers=headers, timeout=timeout)
        else:
            content = data.encode() if isinstance(data, str) else data
            response = self._client.post(url, params=params, content=content, headers=headers, timeout=timeout)
        return _Response(response)

    def _timeout(self, kwargs: Mapping[str, Any]) -> Any:
        value = kwargs.get("timeout")
        return value if value is not None else self._client.timeout

    def close(self) -> None:
        if self._own:
            self._client.close()


# ---- credentials ---------------------------------------------------------------------------------------------


def _credential(settings: GraphSettings) -> str | dict[str, str]:
    """The client secret, or msal's certificate credential; TransportAuthError naming what is missing."""
    if settings.certificate_path is not None:
        path = Path(settings.certificate_path)
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a PEM text file"
            raise TransportAuthError(f"cannot read the certificate file {path}: {reason}") from None
        keys = [m.group(0) for m in _PEM_BLOCK.finditer(text) if m.group(1).endswith("PRIVATE KEY")]
        certs = [m.group(0) for m in _PEM_BLOCK.finditer(text) if m.group(1) == "CERTIFICATE"]
        if not keys:
            raise TransportAuthError(f"the certificate file {path} holds no private key (PEM "
                                     "'-----BEGIN PRIVATE KEY-----'): put the key and the certificate in it")
        if keys[0].startswith("-----BEGIN ENCRYPTED"):
            raise TransportAuthError(f"the private key in {path} is protected by a passphrase: "
                                     "store it without one (readable only by the bot's user)")
        if settings.certificate_thumbprint:
            thumbprint = re.sub(r"[^0-9A-Fa-f]", "", settings.certificate_thumbprint)
            if len(thumbprint) != 40:
                raise TransportAuthError("certificate_thumbprint must be the certificate's SHA-1 thumbprint "
                                         "(40 hexadecimal digits, as Entra ID shows it)")
            return {"private_key": keys[0], "thumbprint": thumbprint.upper()}
        if certs:  # msal works out the thumbprints from the certificate itself
            return {"private_key": keys[0], "public_certificate": certs[0]}
        raise TransportAuthError(f"the certificate file {path} holds no certificate: add it to the file, or set "
                                 "certificate_thumbprint")
    secret = settings.client_secret()
    if secret:
        return secret
    if settings.client_secret_env:
        raise TransportAuthError(f"the environment variable {settings.client_secret_env} (mailbox.graph."
                                 "client_secret_env) is not set — export the app's client secret before starting")
    raise TransportAuthError("mailbox.graph needs client_secret_env or certificate_path to sign in to Entra ID")


# ---- Entra ID's answers in plain words -----------------------------------------------------------------------

def _explain(result: Mapping[str, Any], settings: GraphSettings, scopes: Sequence[str]) -> str:
    """A plain-words sentence for msal's error result (which holds no secret; we still quote only its first
    sentence)."""
    app, tenant = settings.client_id, settings.tenant_id
    description = str(result.get("error_description") or "")
    codes = [int(c) for c in result.get("error_codes") or [] if str(c).isdigit()]
    found = _AADSTS.search(description)
    code = codes[0] if codes else int(found.group(1)) if found else None
    tag = f" (AADSTS{code})" if code is not None else ""
    resource = ", ".join(s.removesuffix("/.default") for s in scopes)
    known = {
        7000215: "the client secret is wrong: client_secret_env must hold the secret's Value, not its Secret ID",
        7000222: "the client secret has expired: create a new one for the app registration and update "
                 "the environment variable",
        700016: f"no app with client_id {app} is registered in tenant {tenant}: check client_id and tenant_id",
        90002: f"tenant {tenant} was not found: check tenant_id (the Directory (tenant) ID in Entra ID)",
        900023: f"tenant_id {tenant!r} is not a tenant ID or domain: copy the Directory (tenant) ID from Entra ID",
        700027: "the certificate was not accepted: upload it to the app registration (Certificates & secrets) "
                "and check certificate_thumbprint",
        700023: "the certificate was not accepted: upload it to the app registration (Certificates & secrets) "
                "and check certificate_thumbprint",
        7000112: f"app {app} is disabled in tenant {tenant}",
        65001: f"app {app} has no admin consent in tenant {tenant}: an administrator must grant consent for "
               "its application permissions (Mail.ReadWrite, Mail.Send)",
        500011: f"{resource} is not available to tenant {tenant} (no Exchange Online, or no consent to it "
                "for this app)",
        1002012: f"the scope {resource} was refused: app-only tokens need a '/.default' scope",
        70011: f"the scope {resource} was refused: app-only tokens need a '/.default' scope",
        53003: "a Conditional Access policy blocked the app's sign-in: exclude the app or allow it "
               "from this server's address",
        50034: f"tenant {tenant} does not know this app or account",
    }
    if code in known:
        return f"Entra ID refused a token for app {app} in tenant {tenant}: {known[code]}{tag}"
    error = str(result.get("error") or "unknown_error")
    first = description.split("\r\n", 1)[0].split("\n", 1)[0]
    first = _AADSTS.sub("", first).lstrip(": ").split(". ", 1)[0][:200]
    return f"Entra ID refused a token for app {app} in tenant {tenant}: {error}" + (f" — {first}" if first else "") \
        + tag


# ---- the provider --------------------------------------------------------------------------------------------


class TokenProvider:
    """Access tokens for one app registration, app-only. Thread-safe; msal caches and renews the tokens."""

    def __init__(self, settings: GraphSettings, *, http: httpx.Client | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.settings = settings
        self.authority = f"{settings.authority_host.rstrip('/')}/{settings.tenant_id}"
        self._http = MsalHttpxClient(http, timeout=timeout)
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TokenProvider(app={self.settings.client_id!r}, tenant={self.settings.tenant_id!r})"

    def describe(self) -> str:
        return f"app {self.settings.client_id} in tenant {self.settings.tenant_id}"

    def _application(self) -> msal.ConfidentialClientApplication:
        """msal's application, made on first use (it reads the tenant's OpenID configuration then)."""
        if self._app is not None:
            return self._app
        credential = _credential(self.settings)
        try:
            self._app = msal.ConfidentialClientApplication(
                self.settings.client_id,
                client_credential=credential,
                authority=self.authority,
                http_client=self._http,
                instance_discovery=False,  # the host is configured; no metadata call to login.microsoftonline.com
            )
        except httpx.TransportError as exc:
            raise TransportConnectionError(f"cannot reach Entra ID at {self.settings.authority_host}: "
                                           f"{_net_reason(exc)}") from None
        except MsalServiceError:
            raise TransportConnectionError(f"Entra ID at {self.settings.authority_host} did not answer properly; "
                                           "try again later") from None
        except ValueError as exc:
            detail = f"{exc} {exc.__context__ or ''}"
            if "AADSTS90002" in detail or "OIDC Discovery failed" in detail or "authority configuration" in detail:
                raise TransportAuthError(
                    f"tenant {self.settings.tenant_id} was not found at {self.settings.authority_host}: check "
                    "tenant_id (the Directory (tenant) ID in Entra ID) (AADSTS90002)") from None
            if "thumbprint" in detail or "private" in detail.lower() or "key" in detail.lower():
                raise TransportAuthError(f"the certificate in {self.settings.certificate_path} cannot be used: "
                                         "it must be an unencrypted PEM private key with its certificate") from None
            raise TransportAuthError(f"cannot sign in to Entra ID as {self.describe()}: "
                                     f"{type(exc).__name__}") from None
        return self._app

    def token(self, scopes: Sequence[str] = (GRAPH_SCOPE,), *, refresh: bool = False) -> str:
        """An access token for ``scopes`` (from msal's cache while it is valid). ``refresh``: drop this app's
        cached tokens first, because the resource refused the one it had."""
        with self._lock:
            app = self._application()
            if refresh:
                app.remove_tokens_for_client()
            try:
                result = app.acquire_token_for_client(scopes=list(scopes))
            except httpx.TransportError as exc:
                raise TransportConnectionError(f"cannot reach Entra ID at {self.settings.authority_host}: "
                                               f"{_net_reason(exc)}") from None
            except MsalServiceError:  # a 5xx from the token endpoint
                raise TransportConnectionError(f"Entra ID at {self.settings.authority_host} is not answering "
                                               "properly (server error); try again later") from None
            except ValueError as exc:  # e.g. a key msal cannot sign with
                raise TransportAuthError(f"cannot sign the token request for {self.describe()} "
                                         f"({type(exc).__name__}): check the certificate file") from None
        token = result.get("access_token") if isinstance(result, dict) else None
        if not token:
            message = _explain(result if isinstance(result, dict) else {}, self.settings, scopes)
            log.warning("token refused app=%s tenant=%s error=%s", self.settings.client_id, self.settings.tenant_id,
                        result.get("error") if isinstance(result, dict) else "?")
            raise TransportAuthError(message)
        log.debug("token acquired app=%s scopes=%s source=%s", self.settings.client_id, ",".join(scopes),
                  result.get("token_source", "?"))
        return str(token)

    def imap_smtp_token(self, *, refresh: bool = False) -> str:
        """A token for Exchange Online IMAP/SMTP XOAUTH2 (app-only: the app needs the IMAP.AccessAsApp /
        SMTP.SendAsApp permissions and an Exchange service principal with mailbox permission)."""
        return self.token((OUTLOOK_SCOPE,), refresh=refresh)

    def close(self) -> None:
        self._http.close()


def _net_reason(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    return str(exc) or type(exc).__name__


__all__ = ["GRAPH_SCOPE", "OUTLOOK_SCOPE", "MsalHttpxClient", "TokenProvider"]
