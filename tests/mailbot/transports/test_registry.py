"""`check-config --connect` for Microsoft 365 (Graph) and on-premises Exchange (EWS), against the fakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.app import App
from mailbot.config import parse_config
from mailbot.transports.registry import Check
from tests.fakes.exchange import PASSWORD, SERVER, USER, FakeExchange, serve
from tests.fakes.graph import FakeGraph
from tests.mailbot.transports import graph_payloads as p


def graph_config(tmp_path: Path, **graph: str) -> object:
    return parse_config({
        "council": {"name": "Example Council", "domains": ["example.test"]},
        "mailbox": {"transport": "graph", "address": p.USER,
                    "graph": {"tenant_id": p.TENANT, "client_id": p.CLIENT, "client_secret_env": "T_GRAPH_SECRET",
                              "processed_folder": "Processed", **graph}},
        "mail_out": {"transport": "graph"},
        "store": {"url": f"sqlite:///{tmp_path / 'bot.db'}"},
    }, source="test", base=tmp_path)


def lines(checks: list[Check]) -> list[str]:
    return [c.line() for c in checks]


def test_graph_all_well(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_GRAPH_SECRET", "s3cret-value")
    fake = FakeGraph()
    with fake.mock() as router:
        router.get(p.OPENID_URL).respond(200, json=p.openid_configuration())
        router.post(p.TOKEN_URL).respond(200, json=p.token_response())
        checks = App(graph_config(tmp_path)).check_connections()  # type: ignore[arg-type]
    text = "\n".join(lines(checks))
    assert all(c.ok for c in checks), text
    assert f"ok: mailbox (graph): token for app {p.CLIENT}" in text
    assert "ok: mailbox (graph): processed folder 'Processed' will be created on first use" in text
    assert "ok: mail out (graph): sends through the mailbox connection" in text
    assert "s3cret-value" not in text


def test_graph_wrong_secret_is_said_in_plain_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_GRAPH_SECRET", "wrong-secret")
    fake = FakeGraph()
    with fake.mock() as router:
        router.get(p.OPENID_URL).respond(200, json=p.openid_configuration())
        router.post(p.TOKEN_URL).respond(401, json=p.token_error(
            401, "invalid_client", "AADSTS7000215: Invalid client secret provided."))
        checks = App(graph_config(tmp_path)).check_connections()  # type: ignore[arg-type]
    [failed] = [c for c in checks if not c.ok]
    assert failed.what == "mailbox (graph)"
    assert "secret" in failed.detail.lower() and "wrong-secret" not in failed.detail


def ews_config(tmp_path: Path) -> object:
    return parse_config({
        "council": {"name": "Example Council", "domains": ["example.test"]},
        "mailbox": {"transport": "ews", "address": "iro-escalations@example.test",
                    "ews": {"server": SERVER, "username": USER, "password_env": "T_EWS_PASSWORD",
                            "auth_type": "basic", "attention_folder": "Needs attention"}},
        "mail_out": {"transport": "ews"},
        "store": {"url": f"sqlite:///{tmp_path / 'bot.db'}"},
    }, source="test", base=tmp_path)


def test_ews_all_well_and_then_a_wrong_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serve(FakeExchange(), monkeypatch)
    monkeypatch.setenv("T_EWS_PASSWORD", PASSWORD)
    checks = App(ews_config(tmp_path)).check_connections()  # type: ignore[arg-type]
    text = "\n".join(lines(checks))
    assert all(c.ok for c in checks), text
    assert f"ok: mailbox (ews): server: the Exchange server {SERVER} answers (EWS)" in text
    assert "Needs attention" in text
    monkeypatch.setenv("T_EWS_PASSWORD", "not-the-password")
    serve(FakeExchange(), monkeypatch)
    checks = App(ews_config(tmp_path)).check_connections()  # type: ignore[arg-type]
    failed = [c for c in checks if not c.ok]
    assert failed and failed[0].what == "mailbox (ews)"
    assert "not-the-password" not in "\n".join(lines(checks))


def test_ews_password_not_exported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("T_EWS_PASSWORD", raising=False)
    checks = App(ews_config(tmp_path)).check_connections()  # type: ignore[arg-type]
    assert ("missing: mailbox (ews): the environment variable T_EWS_PASSWORD (mailbox.ews.password_env) is not set "
            "— export it before starting") in lines(checks)


def test_every_configurable_transport_can_be_built() -> None:
    """The names the config accepts and the registry's builders are one list: a transport is added in one folder."""
    from mailbot.transports.registry import TRANSPORTS
    from mailbot.transports.settings import OUT_TRANSPORTS
    from mailbot.transports.settings import TRANSPORTS as SOURCES

    assert {n for n, t in TRANSPORTS.items() if t.open_source} == set(SOURCES)
    assert {n for n, t in TRANSPORTS.items() if t.open_sender} == set(OUT_TRANSPORTS)
    assert all(t.check_source for t in TRANSPORTS.values() if t.open_source)
    assert all(t.check_sender for t in TRANSPORTS.values() if t.open_sender)
