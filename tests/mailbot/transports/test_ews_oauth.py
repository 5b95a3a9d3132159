"""EWS with Hybrid Modern Authentication (``[mailbox.ews] auth_type = "oauth"``): an app-only Entra ID token for the
on-premises EWS resource, sent as ``Authorization: Bearer``, with impersonation.

Entra ID is mocked with respx at the HTTP boundary (as in test_msauth.py); the Exchange server is the fake of
``tests/fakes/exchange.py`` constructed with ``bearer=...``.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

import mailbot.transports.ews as ews_module
from mailbot.config import Config, parse_config
from mailbot.errors import ConfigError
from mailbot.transports.ews import EwsSender, EwsSource, check, open_account
from mailbot.transports.msauth import TokenProvider
from mailbot.transports.registry import check_mailbox, open_sender, open_source
from mailbot.transports.sender import SendAuthError
from mailbot.transports.settings import GraphSettings
from mailbot.transports.source import TransportAuthError, TransportProtocolError
from tests.fakes.exchange import NS, SERVER, FakeExchange, close_connections, record_sleeps, serve, settings
from tests.mailbot.transports import graph_payloads as p
from tests.mailfactory import BOT, IRO, TM, Thread, plain_reply

SCOPE = f"https://{SERVER}/.default"
SECRET = "Xy8Q~not-a-real-secret-but-long-enough~abc"
ENV = "MAILBOT_TEST_EWS_APP_SECRET"
WHEN = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
TOKEN_1, TOKEN_2 = "ews-token-1", "ews-token-2"


# ---- fixtures ---------------------------------------------------------------------------------------------------


@pytest.fixture()
def graph(monkeypatch: pytest.MonkeyPatch) -> GraphSettings:
    monkeypatch.setenv(ENV, SECRET)
    return GraphSettings(tenant_id=p.TENANT, client_id=p.CLIENT, user=BOT, client_secret_env=ENV)


@pytest.fixture()
def entra() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        mock.get(p.OPENID_URL).respond(200, json=p.openid_configuration())
        yield mock


def tokens(entra: respx.MockRouter, *issued: str) -> respx.Route:
    """The token endpoint, issuing ``issued`` in turn (the last one for ever after)."""
    route = entra.post(p.TOKEN_URL)
    answers = [httpx.Response(200, json=p.token_response(t)) for t in issued]
    route.side_effect = lambda request: answers.pop(0) if len(answers) > 1 else answers[0]
    return route


@pytest.fixture()
def exchange(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeExchange]:
    yield serve(FakeExchange(bearer=TOKEN_1), monkeypatch)
    close_connections()


@pytest.fixture()
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    return record_sleeps(monkeypatch)


def oauth_settings(**kw: Any) -> Any:
    base: dict[str, Any] = {"username": "", "password_env": None, "auth_type": "oauth",
                            "access_type": "impersonation"}
    return settings(**(base | kw))


def oauth_account(graph: GraphSettings, **kw: Any) -> Any:
    return open_account(oauth_settings(**kw), token_provider=TokenProvider(graph, http=httpx.Client()))


def mail(n: int) -> bytes:
    return plain_reply(Thread(f"topic {n}", seed=f"t{n}"), sender=TM, to=[IRO], cc=[BOT], text=f"Reply {n}",
                       when=WHEN)


def outgoing() -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"IRO escalations <{BOT}>"
    msg["To"] = TM
    msg["Subject"] = "[ESC-0001] Reminder: response due"
    msg["Message-ID"] = "<esc-0001.l1.chaser.1@iro-mailbot.example.test>"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content("Dear Tom,\n\nA reminder.\n")
    return msg


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def bearers(exchange: FakeExchange) -> list[str]:
    return [h.get("Authorization", "") for h in exchange.http_headers]


def jwt(exp: float) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'typ': 'JWT', 'alg': 'RS256'})}.{part({'aud': f'https://{SERVER}', 'exp': int(exp)})}.c2ln"


# ---- token, bearer, impersonation -------------------------------------------------------------------------------


def test_token_for_the_on_premises_ews_resource_is_sent_as_bearer(graph: GraphSettings, entra: respx.MockRouter,
                                                                   exchange: FakeExchange) -> None:
    route = tokens(entra, TOKEN_1)
    item = exchange.deliver(mail(1))
    account = oauth_account(graph)
    assert route.call_count == 0 and exchange.calls == []  # nothing is asked for before the account is used
    assert account.protocol.config.auth_type == "OAuth 2.0"

    got = list(EwsSource(account).fetch(None))

    assert [m.raw for m in got] == [item.mime]
    assert route.call_count == 1  # one token for every request (msal's cache)
    sent = form(route.calls[0].request)
    assert sent["scope"] == SCOPE == "https://mail.example.test/.default"
    assert (sent["grant_type"], sent["client_id"], sent["client_secret"]) == ("client_credentials", p.CLIENT, SECRET)
    assert bearers(exchange) and set(bearers(exchange)) == {f"Bearer {TOKEN_1}"}


def test_every_request_impersonates_the_shared_mailbox(graph: GraphSettings, entra: respx.MockRouter,
                                                       exchange: FakeExchange) -> None:
    tokens(entra, TOKEN_1)
    exchange.deliver(mail(1))
    list(EwsSource(oauth_account(graph)).fetch(None))

    assert exchange.soap_headers
    for header in exchange.soap_headers:
        assert header is not None
        sid = header.find("t:ExchangeImpersonation/t:ConnectingSID/t:PrimarySmtpAddress", NS)
        assert sid is not None and sid.text == BOT
    assert {h.get("X-AnchorMailbox") for h in exchange.http_headers} == {BOT}


def test_oauth_scope_from_config_is_asked_for(graph: GraphSettings, entra: respx.MockRouter,
                                              exchange: FakeExchange) -> None:
    route = tokens(entra, TOKEN_1)
    list(EwsSource(oauth_account(graph, oauth_scope="https://webmail.example.test/.default")).fetch(None))
    assert form(route.calls[0].request)["scope"] == "https://webmail.example.test/.default"


# ---- expiry and refusal -----------------------------------------------------------------------------------------


def test_a_401_for_an_expired_token_gets_one_fresh_token(graph: GraphSettings, entra: respx.MockRouter,
                                                         exchange: FakeExchange, sleeps: list[float],
                                                         caplog: pytest.LogCaptureFixture) -> None:
    route = tokens(entra, TOKEN_1, TOKEN_2)
    exchange.deliver(mail(1))
    source = EwsSource(oauth_account(graph))
    first = list(source.fetch(None))
    exchange.bearer = TOKEN_2  # the server no longer takes the first token (it has expired)
    seen = len(exchange.http_headers)
    second = exchange.deliver(mail(2))

    with caplog.at_level(logging.INFO, logger="mailbot.transports.ews"):
        got = list(source.fetch(first[-1].cursor))

    assert [m.raw for m in got] == [second.mime]
    assert route.call_count == 2
    assert bearers(exchange)[seen:seen + 2] == [f"Bearer {TOKEN_1}", f"Bearer {TOKEN_2}"]  # 401, then the retry
    assert set(bearers(exchange)[seen + 1:]) == {f"Bearer {TOKEN_2}"}
    assert sleeps == []
    assert any("fresh one" in r.getMessage() for r in caplog.records)
    assert not any(TOKEN_1 in r.getMessage() or TOKEN_2 in r.getMessage() for r in caplog.records)


def test_a_fresh_token_refused_too_is_a_refused_login_naming_hma(graph: GraphSettings, entra: respx.MockRouter,
                                                                 exchange: FakeExchange,
                                                                 sleeps: list[float]) -> None:
    route = tokens(entra, TOKEN_1, TOKEN_2)
    exchange.bearer = "what-the-server-would-take"

    with pytest.raises(TransportAuthError) as err:
        list(EwsSource(oauth_account(graph)).fetch(None))

    text = str(err.value)
    assert "refused the app's access token" in text and "Hybrid Modern Authentication" in text
    assert "full_access_as_app" in text and TOKEN_1 not in text and TOKEN_2 not in text
    assert route.call_count == 2  # the first token and one fresh one: no more
    assert bearers(exchange) == [f"Bearer {TOKEN_1}", f"Bearer {TOKEN_2}"]
    assert sleeps == []  # not mistaken for throttling


def test_a_token_about_to_expire_is_renewed_before_the_server_refuses_it(
    graph: GraphSettings, entra: respx.MockRouter, exchange: FakeExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = int(time.time()) + 3600
    first = jwt(exp)
    route = tokens(entra, first, TOKEN_2)
    exchange.bearer = first
    exchange.deliver(mail(1))
    source = EwsSource(oauth_account(graph))
    (got,) = list(source.fetch(None))
    assert source.account.protocol.credentials.access_token["expires_at"] == exp - 300  # 5 minutes early

    later = SimpleNamespace(time=lambda: time.time() + 3400, sleep=time.sleep, monotonic=time.monotonic)
    monkeypatch.setattr("oauthlib.oauth2.rfc6749.clients.base.time", later)  # requests-oauthlib's expiry check
    monkeypatch.setattr(ews_module, "time", later)
    exchange.bearer = TOKEN_2
    seen = len(exchange.http_headers)

    assert list(source.fetch(got.cursor)) == []

    assert route.call_count == 2  # msal still had the old token cached: a fresh one was asked for
    assert set(bearers(exchange)[seen:]) == {f"Bearer {TOKEN_2}"}  # the old token was not sent again: no 401


def test_entra_id_refusing_the_app_is_an_auth_error_in_plain_words(graph: GraphSettings, entra: respx.MockRouter,
                                                                   exchange: FakeExchange) -> None:
    entra.post(p.TOKEN_URL).respond(401, json=p.token_error(*p.BAD_SECRET))
    with pytest.raises(TransportAuthError, match="client secret is wrong") as err:
        list(EwsSource(oauth_account(graph)).fetch(None))
    assert SECRET not in str(err.value)
    assert exchange.calls == []
    with pytest.raises(SendAuthError, match="client secret is wrong"):
        EwsSender(oauth_account(graph)).send(outgoing(), [TM])


# ---- open_account -----------------------------------------------------------------------------------------------


def test_open_account_needs_the_token_provider_and_impersonation(graph: GraphSettings) -> None:
    with pytest.raises(TransportAuthError, match=r"\[mailbox.graph\]"):
        open_account(oauth_settings())
    with pytest.raises(TransportProtocolError, match='access_type = "impersonation"'):
        open_account(oauth_settings(access_type="delegate"), token_provider=TokenProvider(graph))


# ---- the whole bot: config, open_source / open_sender, check-config --connect ----------------------------------


def oauth_config(tmp_path: Path, **ews: Any) -> Config:
    return parse_config({
        "council": {"name": "Example Council", "domains": ["example.test"]},
        "mailbox": {"transport": "ews", "address": BOT,
                    "graph": {"tenant_id": p.TENANT, "client_id": p.CLIENT, "client_secret_env": ENV},
                    "ews": {"server": SERVER, "auth_type": "oauth", **ews}},
        "mail_out": {"transport": "ews"},
        "store": {"url": "sqlite:///bot.db"},
    }, source="test", base=tmp_path)


def test_sync_settle_and_send_through_the_configured_bot(tmp_path: Path, graph: GraphSettings,
                                                         entra: respx.MockRouter, exchange: FakeExchange) -> None:
    route = tokens(entra, TOKEN_1)
    item = exchange.deliver(mail(1))
    config = oauth_config(tmp_path, processed_folder="Processed")

    source = open_source(config)  # no password anywhere
    (got,) = list(source.fetch(None))
    source.settle(got.ref, "processed")
    sender = open_sender(config)
    assert sender.send(outgoing(), [TM]) == {}

    assert got.raw == item.mime
    assert "MoveItem" in exchange.ops()
    assert len(exchange.sent) == 1 and b"esc-0001.l1.chaser.1" in exchange.sent_mime()[0]
    assert {form(c.request)["scope"] for c in route.calls} == {SCOPE}
    assert set(bearers(exchange)) == {f"Bearer {TOKEN_1}"}


def test_check_config_connect_says_token_login_and_mailbox(tmp_path: Path, graph: GraphSettings,
                                                           entra: respx.MockRouter, exchange: FakeExchange) -> None:
    tokens(entra, TOKEN_1)
    text = "\n".join(c.line() for c in check_mailbox(oauth_config(tmp_path)))
    assert f"ok: mailbox (ews): token: Entra ID gives app {p.CLIENT} in tenant {p.TENANT} a token for {SCOPE}" in text
    assert "ok: mailbox (ews): login: the server accepts the app's access token (OAuth 2.0)" in text
    assert f"ok: mailbox (ews): mailbox: {BOT} can be opened (impersonation access)" in text
    assert "missing" not in text and "password" not in text


def test_check_stops_at_a_refused_token(graph: GraphSettings, entra: respx.MockRouter,
                                        exchange: FakeExchange) -> None:
    entra.post(p.TOKEN_URL).respond(400, json=p.token_error(*p.NO_CONSENT))
    lines = check(oauth_account(graph))
    assert len(lines) == 1 and lines[0].startswith("FAILED token:") and "admin consent" in lines[0]
    assert exchange.calls == []


def test_check_config_connect_names_the_unset_app_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    (line,) = [c.line() for c in check_mailbox(oauth_config(tmp_path))]
    assert line.startswith(f"missing: mailbox (ews): the environment variable {ENV} (mailbox.graph.client_secret_env)")


# ---- config -----------------------------------------------------------------------------------------------------


def _config(ews: dict[str, Any], *, graph: bool = True) -> dict[str, Any]:
    mailbox: dict[str, Any] = {"transport": "ews", "address": BOT, "ews": {"server": SERVER, **ews}}
    if graph:
        mailbox["graph"] = {"tenant_id": p.TENANT, "client_id": p.CLIENT, "client_secret_env": ENV}
    return {"council": {"name": "Example Council", "domains": ["example.test"]}, "mailbox": mailbox}


def test_oauth_settings_defaults() -> None:
    ews = parse_config(_config({"auth_type": "oauth"}), source="test").mailbox.ews
    assert ews is not None
    assert (ews.auth_type, ews.access_type, ews.oauth_scope, ews.username, ews.password_env) == (
        "oauth", "impersonation", SCOPE, "", None)
    custom = parse_config(_config({"auth_type": "oauth", "access_type": "impersonation",
                                   "oauth_scope": "https://webmail.example.test/.default"}), source="test")
    assert custom.mailbox.ews is not None and custom.mailbox.ews.oauth_scope == "https://webmail.example.test/.default"
    ntlm = parse_config(_config({"username": "EXAMPLE\\svc", "password_env": "P"}, graph=False), source="test")
    assert ntlm.mailbox.ews is not None and ntlm.mailbox.ews.oauth_scope is None


@pytest.mark.parametrize(
    ("ews", "graph", "expected"),
    [
        ({"auth_type": "oauth"}, False,
         'test: mailbox.graph: is required for ews.auth_type = "oauth" — add a [mailbox.graph] table with tenant_id, '
         "client_id and client_secret_env"),
        ({"auth_type": "oauth", "access_type": "delegate"}, True,
         'test: mailbox.ews.access_type: "delegate" cannot be used with auth_type = "oauth": an app-only token acts '
         'for the mailbox only by impersonation — write access_type = "impersonation"'),
        ({"auth_type": "oauth", "password_env": "MAILBOT_EWS_PASSWORD"}, True,
         'test: mailbox.ews.password_env: is not used with auth_type = "oauth" (the app signs in with the '
         "[mailbox.graph] registration) — remove it"),
        ({"auth_type": "oauth", "username": "EXAMPLE\\svc"}, True,
         'test: mailbox.ews.username: is not used with auth_type = "oauth"'),
        ({"auth_type": "ntlm", "username": "EXAMPLE\\svc", "oauth_scope": SCOPE}, True,
         'test: mailbox.ews.oauth_scope: is only used with auth_type = "oauth" — remove it, or set '
         'auth_type = "oauth"'),
        ({"auth_type": "oauth", "oauth_scope": SERVER}, True,
         f"test: mailbox.ews.oauth_scope: '{SERVER}' is not an app-only scope — write e.g. "
         f'oauth_scope = "{SCOPE}"'),
        ({"auth_type": "OAuth"}, True, "test: mailbox.ews.auth_type: 'OAuth' is not one of ntlm, basic, oauth — "
         'write e.g. auth_type = "oauth"'),
    ],
)
def test_oauth_config_errors_are_one_line(ews: dict[str, Any], graph: bool, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(_config(ews, graph=graph), source="test")
    assert str(err.value).startswith(expected)
    assert "\n" not in str(err.value)
