"""TokenProvider: msal's client-credentials flow, mocked at the HTTP boundary (OpenID configuration + token
endpoint) with respx through the httpx adapter msal is given."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from mailbot.transports.msauth import GRAPH_SCOPE, OUTLOOK_SCOPE, TokenProvider
from mailbot.transports.settings import GraphSettings
from mailbot.transports.source import TransportAuthError, TransportConnectionError
from tests.mailbot.transports import graph_payloads as p

SECRET = "Xy8Q~not-a-real-secret-but-long-enough~abc"
ENV = "MAILBOT_TEST_GRAPH_SECRET"


@pytest.fixture()
def settings(monkeypatch: pytest.MonkeyPatch) -> GraphSettings:
    monkeypatch.setenv(ENV, SECRET)
    return GraphSettings(tenant_id=p.TENANT, client_id=p.CLIENT, user=p.USER, client_secret_env=ENV)


@pytest.fixture()
def entra() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        mock.get(p.OPENID_URL).respond(200, json=p.openid_configuration())
        yield mock


def _form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def test_client_secret_token_is_fetched_once_and_cached(settings: GraphSettings, entra: respx.MockRouter) -> None:
    route = entra.post(p.TOKEN_URL).respond(200, json=p.token_response("graph-token-1"))
    provider = TokenProvider(settings, http=httpx.Client())
    assert provider.token() == "graph-token-1"
    assert provider.token() == "graph-token-1"
    assert route.call_count == 1
    form = _form(route.calls[0].request)
    assert form["grant_type"] == "client_credentials"
    assert form["client_id"] == p.CLIENT
    assert form["client_secret"] == SECRET
    assert form["scope"] == GRAPH_SCOPE
    assert entra.routes[0].call_count == 1  # OpenID configuration read once


def test_refresh_drops_the_cached_token(settings: GraphSettings, entra: respx.MockRouter) -> None:
    route = entra.post(p.TOKEN_URL)
    route.side_effect = [httpx.Response(200, json=p.token_response("old")),
                         httpx.Response(200, json=p.token_response("new"))]
    provider = TokenProvider(settings, http=httpx.Client())
    assert provider.token() == "old"
    assert provider.token(refresh=True) == "new"
    assert route.call_count == 2


def test_imap_smtp_token_asks_for_exchange_online(settings: GraphSettings, entra: respx.MockRouter) -> None:
    route = entra.post(p.TOKEN_URL).respond(200, json=p.token_response("outlook-token"))
    provider = TokenProvider(settings, http=httpx.Client())
    assert provider.imap_smtp_token() == "outlook-token"
    assert _form(route.calls[0].request)["scope"] == OUTLOOK_SCOPE == "https://outlook.office365.com/.default"


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (401, p.BAD_SECRET, "the client secret is wrong"),
        (400, p.UNKNOWN_APP, f"no app with client_id {p.CLIENT} is registered in tenant {p.TENANT}"),
        (400, p.NO_CONSENT, "has no admin consent"),
    ],
)
def test_refusals_are_plain_words_without_the_secret(settings: GraphSettings, entra: respx.MockRouter, status: int,
                                                     error: tuple[int, str, str], expected: str) -> None:
    code, kind, text = error
    entra.post(p.TOKEN_URL).respond(status, json=p.token_error(code, kind, text))
    provider = TokenProvider(settings, http=httpx.Client())
    with pytest.raises(TransportAuthError) as info:
        provider.token()
    message = str(info.value)
    assert expected in message
    assert f"AADSTS{code}" in message
    assert SECRET not in message


def test_unknown_tenant(settings: GraphSettings) -> None:
    with respx.mock(assert_all_mocked=True) as mock:
        mock.get(p.OPENID_URL).respond(400, json=p.tenant_not_found(p.TENANT))
        with pytest.raises(TransportAuthError, match=f"tenant {p.TENANT} was not found.*AADSTS90002"):
            TokenProvider(settings, http=httpx.Client()).token()


def test_missing_secret_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    settings = GraphSettings(tenant_id=p.TENANT, client_id=p.CLIENT, user=p.USER, client_secret_env=ENV)
    with respx.mock(assert_all_mocked=True) as mock:  # nothing goes out
        with pytest.raises(TransportAuthError, match=f"environment variable {ENV}.*not set"):
            TokenProvider(settings, http=httpx.Client()).token()
        assert not mock.calls


def test_entra_unreachable_is_a_connection_error(settings: GraphSettings) -> None:
    with respx.mock(assert_all_mocked=True) as mock:
        mock.get(p.OPENID_URL).mock(side_effect=httpx.ConnectError("name resolution failed"))
        with pytest.raises(TransportConnectionError, match="cannot reach Entra ID"):
            TokenProvider(settings, http=httpx.Client()).token()


def _certificate(tmp_path: Path, *, with_cert: bool = True) -> tuple[Path, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "iro-mailbot")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=365)).sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    if with_cert:
        pem += cert.public_bytes(serialization.Encoding.PEM)
    path = tmp_path / "mailbot.pem"
    path.write_bytes(pem)
    return path, cert.fingerprint(hashes.SHA1()).hex().upper()  # Entra ID shows the SHA-1 thumbprint


def _jwt_header(assertion: str) -> dict[str, str]:
    head = assertion.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def test_certificate_with_thumbprint_signs_a_client_assertion(tmp_path: Path, entra: respx.MockRouter) -> None:
    path, thumbprint = _certificate(tmp_path, with_cert=False)
    settings = GraphSettings(tenant_id=p.TENANT, client_id=p.CLIENT, user=p.USER, certificate_path=path,
                             certificate_thumbprint=":".join(thumbprint[i:i + 2] for i in range(0, 40, 2)))
    route = entra.post(p.TOKEN_URL).respond(200, json=p.token_response("cert-token"))
    assert TokenProvider(settings, http=httpx.Client()).token() == "cert-token"
    form = _form(route.calls[0].request)
    assert "client_secret" not in form
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    header = _jwt_header(form["client_assertion"])
    assert header["alg"] == "RS256"
    assert base64.urlsafe_b64decode(header["x5t"] + "=" * (-len(header["x5t"]) % 4)).hex().upper() == thumbprint


def test_certificate_without_thumbprint_uses_the_certificate_in_the_file(tmp_path: Path,
                                                                         entra: respx.MockRouter) -> None:
    path, _ = _certificate(tmp_path)
    settings = GraphSettings(tenant_id=p.TENANT, client_id=p.CLIENT, user=p.USER, certificate_path=path)
    route = entra.post(p.TOKEN_URL).respond(200, json=p.token_response("cert-token"))
    assert TokenProvider(settings, http=httpx.Client()).token() == "cert-token"
    header = _jwt_header(_form(route.calls[0].request)["client_assertion"])
    assert "x5t#S256" in header or "x5t" in header


def test_certificate_file_without_a_key(tmp_path: Path) -> None:
    path = tmp_path / "cert-only.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    settings = GraphSettings(tenant_id=p.TENANT, client_id=p.CLIENT, user=p.USER, certificate_path=path)
    with pytest.raises(TransportAuthError, match="holds no private key"):
        TokenProvider(settings, http=httpx.Client()).token()
