"""A fake Exchange Server mailbox speaking EWS SOAP, served to exchangelib through its HTTP adapter hook.

exchangelib's own code runs unchanged: only its requests transport adapter (``BaseProtocol.HTTP_ADAPTER_CLS``, the
documented hook) is replaced by one that answers POSTs to https://<server>/EWS/Exchange.asmx with the SOAP bodies
of ``tests/mailbot/transports/ews_payloads.py``, keeping a small mailbox model (folders, items, a change log per
folder).

    fake = FakeExchange()
    serve(fake, monkeypatch)          # every exchangelib session now talks to ``fake``
    source = EwsSource(account())

Logins: HTTP Basic as ``USER``/``password`` (the default), or, with ``bearer="<token>"``, only
``Authorization: Bearer <token>`` (Hybrid Modern Authentication; change ``bearer`` to make the server refuse a
token, as it does once the token has expired).

CreateItem with ``MessageDisposition="SendAndSaveCopy"`` saves the sent MIME as an item in the folder named by
``SavedItemFolderId`` (Sent Items), as Exchange does, unless ``save_copies`` is False. FindItem answers one kind of
restriction: ``IsEqualTo`` on ``message:InternetMessageId`` (what ``folder.filter(message_id=...)`` sends), with
the Message-ID of each item's MIME; anything else is ``ErrorInvalidRestriction``.
"""

from __future__ import annotations

import base64
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import exchangelib.util
import pytest
import requests
from exchangelib.protocol import BaseProtocol, close_connections

from mailbot.transports.ews import open_account
from mailbot.transports.settings import EwsSettings
from tests.mailbot.transports import ews_payloads as P
from tests.mailfactory import BOT

SERVER = "mail.example.test"
ENDPOINT = f"https://{SERVER}/EWS/Exchange.asmx"
USER = "EXAMPLE\\svc-iro-mailbot"
PASSWORD = "S3cret-Pa55word!"
STATE_PREFIX = "H4sIAAAAAAAEAO29B2AcSZYlJi9tynt/SvVK1+B0EL0gCIBg8ebQ"  # real sync states are gzip+base64 blobs
NS = {"s": P.SOAPNS, "m": P.MNS, "t": P.TNS}


def internet_message_id(mime: bytes) -> str:
    """The Message-ID header of ``mime`` (with its ``<>``), as Exchange stores it in InternetMessageId."""
    match = re.search(rb"^Message-I[Dd]:[ \t]*(?:\r?\n[ \t]+)?(<[^>\r\n]+>)", mime, re.MULTILINE | re.IGNORECASE)
    return match.group(1).decode() if match else ""


def b64id(kind: str, n: int) -> str:
    return "AAMkAGI2" + base64.b64encode(f"{kind}-{n:04d}".encode()).decode()


@dataclass
class Item:
    id: str
    changekey: str
    mime: bytes
    folder: str
    is_read: bool = False


@dataclass
class FakeExchange:
    """A tiny Exchange mailbox speaking EWS SOAP.

    ``max_changes`` caps how many changes one SyncFolderItems answer holds (the server may return fewer than
    MaxChangesReturned), so small pages can be exercised. ``sent`` keeps each CreateItem request;
    :meth:`sent_mime` gives the MIME of each sent mail, in order. ``http_headers`` and ``soap_headers`` keep the
    HTTP headers and the SOAP ``Header`` element (None when absent) of every request, refused ones included.
    """

    password: str = PASSWORD
    bearer: str | None = None  # set: only "Authorization: Bearer <bearer>" is accepted (OAuth), not Basic
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    log: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # folder -> [(change kind, item id)]
    calls: list[tuple[str, ET.Element]] = field(default_factory=list)
    inject: dict[str, list[tuple[int, bytes]]] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    mailbox_error: tuple[str, str] | None = None
    sent: list[ET.Element] = field(default_factory=list)
    max_changes: int | None = None
    save_copies: bool = True  # SendAndSaveCopy files the sent mail in SavedItemFolderId
    http_headers: list[dict[str, str]] = field(default_factory=list)
    soap_headers: list[ET.Element | None] = field(default_factory=list)
    _n: int = 0

    def __post_init__(self) -> None:
        self.root = self._folder("root", "Root", None, folder_class=None)
        self.top = self._folder("msgfolderroot", "Top of Information Store", self.root)
        self.inbox = self._folder("inbox", "Inbox", self.top)
        self.sentitems = self._folder("sentitems", "Sent Items", self.top)

    def _next(self, kind: str) -> str:
        self._n += 1
        return b64id(kind, self._n)

    def _folder(self, distinguished: str | None, name: str, parent: str | None, *,
                folder_class: str | None = "IPF.Note") -> str:
        fid = self._next("folder")
        self.folders[fid] = {"name": name, "parent": parent, "distinguished": distinguished, "class": folder_class}
        self.log[fid] = []
        return fid

    def deliver(self, mime: bytes, folder: str | None = None) -> Item:
        item = Item(self._next("item"), "CQAAABYAAAD" + str(self._n), mime, folder or self.inbox)
        self.items[item.id] = item
        self.log[item.folder].append(("create", item.id))
        return item

    def ops(self) -> list[str]:
        return [op for op, _ in self.calls]

    def sent_mime(self) -> list[bytes]:
        """The MIME content of every mail sent with CreateItem, oldest first."""
        return [base64.b64decode(create.find("m:Items/t:Message/t:MimeContent", NS).text or "")  # type: ignore[union-attr]
                for create in self.sent]

    # ---- sync states ----------------------------------------------------------------------------------------
    @staticmethod
    def state(folder: str, n: int) -> str:
        return STATE_PREFIX + base64.b64encode(f"{folder}:{n}".encode()).decode()

    def _position(self, state: str | None, folder: str) -> int | None:
        if not state:
            return 0
        if state in self.revoked or not state.startswith(STATE_PREFIX):
            return None
        where, _, n = base64.b64decode(state[len(STATE_PREFIX):]).decode().partition(":")
        return int(n) if where == folder else None

    # ---- HTTP -----------------------------------------------------------------------------------------------
    def handle(self, request: requests.PreparedRequest) -> tuple[int, bytes, dict[str, str]]:
        assert request.url == ENDPOINT and request.method == "POST"
        body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
        envelope = ET.fromstring(body)
        self.http_headers.append(dict(request.headers))
        self.soap_headers.append(envelope.find("s:Header", NS))
        if self.bearer is not None:
            expected = f"Bearer {self.bearer}"
            challenge = ('Bearer client_id="00000002-0000-0ff1-ce00-000000000000", token_types="app_asserted_user_v1 '
                         'service_asserted_app_v1", error="invalid_token"')
        else:
            expected = "Basic " + base64.b64encode(f"{USER}:{self.password}".encode()).decode()
            challenge = f'Basic realm="{SERVER}"'
        if request.headers.get("Authorization") != expected:
            return 401, P.UNAUTHORIZED_HTML, {"WWW-Authenticate": challenge, "Content-Type": "text/html"}
        payload = envelope.find("s:Body", NS)[0]
        op = payload.tag.split("}")[1]
        self.calls.append((op, payload))
        if self.inject.get(op):
            status, content = self.inject[op].pop(0)
            return status, content, {"Content-Type": "text/xml; charset=utf-8"}
        return 200, getattr(self, f"_{op}")(payload), {"Content-Type": "text/xml; charset=utf-8"}

    def _fid(self, elem: ET.Element) -> str:
        if elem.tag == f"{{{P.TNS}}}DistinguishedFolderId":
            return next(k for k, v in self.folders.items() if v["distinguished"] == elem.get("Id"))
        return elem.get("Id") or ""

    def _folder_xml(self, fid: str) -> str:
        f = self.folders[fid]
        return P.folder(fid, "AQAAABYAAAB", f["name"], f["parent"], folder_class=f["class"],
                        total=sum(1 for i in self.items.values() if i.folder == fid))

    def _GetFolder(self, payload: ET.Element) -> bytes:
        if self.mailbox_error:
            return P.get_folder_error(*self.mailbox_error)
        ids = [self._fid(e) for e in payload.find("m:FolderIds", NS)]
        return P.get_folder(*(self._folder_xml(f) for f in ids))

    def _FindFolder(self, payload: ET.Element) -> bytes:
        parent = self._fid(payload.find("m:ParentFolderIds", NS)[0])
        return P.find_folder([self._folder_xml(f) for f, v in self.folders.items() if v["parent"] == parent])

    def _CreateFolder(self, payload: ET.Element) -> bytes:
        parent = self._fid(payload.find("m:ParentFolderId", NS)[0])
        name = payload.find("m:Folders/t:Folder/t:DisplayName", NS).text or ""
        return P.create_folder(self._folder(None, name, parent), "AQAAABYAAAC")

    def _SyncFolderItems(self, payload: ET.Element) -> bytes:
        folder = self._fid(payload.find("m:SyncFolderId", NS)[0])
        state_elem = payload.find("m:SyncState", NS)
        start = self._position(state_elem.text if state_elem is not None else None, folder)
        if start is None:
            return P.invalid_sync_state()
        size = int(payload.find("m:MaxChangesReturned", NS).text or "100")
        if self.max_changes is not None:
            size = min(size, self.max_changes)
        changes = self.log[folder][start : start + size]
        end = start + len(changes)
        xml = []
        for kind, item_id in changes:
            ck = self.items[item_id].changekey if item_id in self.items else "CQAAAA=="
            xml.append({"create": P.sync_create, "delete": P.sync_delete, "update": P.sync_update}[kind](item_id, ck)
                       if kind != "read" else P.sync_read_flag(item_id, ck, True))
        return P.sync_folder_items(self.state(folder, end), end == len(self.log[folder]), xml)

    def _GetItem(self, payload: ET.Element) -> bytes:
        out = []
        for elem in payload.find("m:ItemIds", NS):
            item = self.items.get(elem.get("Id") or "")
            out.append(P.get_item_message(item.id, item.changekey, item.mime) if item else P.item_not_found("GetItem"))
        return P.envelope("GetItem", "".join(out))

    def _UpdateItem(self, payload: ET.Element) -> bytes:
        item = self.items[payload.find("m:ItemChanges/t:ItemChange/t:ItemId", NS).get("Id") or ""]
        assert payload.find(".//t:SetItemField/t:Message/t:IsRead", NS).text in ("true", "1")
        item.is_read = True
        item.changekey += "r"
        self.log[item.folder].append(("read", item.id))
        return P.update_item(item.id, item.changekey)

    def _MoveItem(self, payload: ET.Element) -> bytes:
        target = self._fid(payload.find("m:ToFolderId", NS)[0])
        moved = []
        for elem in payload.find("m:ItemIds", NS):
            old = self.items.pop(elem.get("Id") or "")
            self.log[old.folder].append(("delete", old.id))
            new = Item(self._next("item"), "CQAAABYAAAM", old.mime, target, old.is_read)
            self.items[new.id] = new
            self.log[target].append(("create", new.id))
            moved.append((new.id, new.changekey))
        return P.move_item(moved)

    def _CreateItem(self, payload: ET.Element) -> bytes:
        self.sent.append(payload)
        saved_in = payload.find("m:SavedItemFolderId", NS)
        mime = payload.find("m:Items/t:Message/t:MimeContent", NS)
        if (self.save_copies and payload.get("MessageDisposition") == "SendAndSaveCopy" and saved_in is not None
                and mime is not None):
            self.deliver(base64.b64decode(mime.text or ""), self._fid(saved_in[0])).is_read = True
        return P.create_item_sent()

    def _FindItem(self, payload: ET.Element) -> bytes:
        folders = [self._fid(e) for e in payload.find("m:ParentFolderIds", NS)]
        equal = payload.find("m:Restriction/t:IsEqualTo", NS)
        field = equal.find("t:FieldURI", NS) if equal is not None else None
        constant = equal.find("t:FieldURIOrConstant/t:Constant", NS) if equal is not None else None
        if field is None or field.get("FieldURI") != "message:InternetMessageId" or constant is None:
            return P.find_item_error("ErrorInvalidRestriction", "The restriction or sort order is too complex.")
        wanted = constant.get("Value") or ""
        found = [(i.id, i.changekey) for i in self.items.values()
                 if i.folder in folders and internet_message_id(i.mime) == wanted]
        view = payload.find("m:IndexedPageItemView", NS)
        size = int(view.get("MaxEntriesReturned") or len(found)) if view is not None else len(found)
        return P.find_item(found[:size], total=len(found))


def adapter_for(fake: FakeExchange) -> type[requests.adapters.HTTPAdapter]:
    """A requests adapter class whose every request is answered by ``fake``."""

    class Adapter(requests.adapters.HTTPAdapter):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            status, body, headers = fake.handle(request)
            resp = requests.Response()
            resp.status_code, resp._content, resp._content_consumed = status, body, True
            resp.headers.update(headers)
            resp.url, resp.request, resp.raw, resp.encoding = request.url or "", request, io.BytesIO(body), "utf-8"
            return resp

    return Adapter


def serve(fake: FakeExchange, monkeypatch: pytest.MonkeyPatch) -> FakeExchange:
    """Make every exchangelib session talk to ``fake`` until ``monkeypatch`` is undone.

    exchangelib caches protocols (and their sessions) per endpoint and credentials: the cache is emptied now,
    and should be emptied again when the test ends (:func:`close_connections`)."""
    close_connections()
    monkeypatch.setattr(BaseProtocol, "HTTP_ADAPTER_CLS", adapter_for(fake))
    return fake


def record_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """exchangelib sleeps out ErrorServerBusy back-off with time.sleep in exchangelib.util: record, don't wait."""
    slept: list[float] = []
    fake_time = SimpleNamespace(sleep=slept.append, monotonic=exchangelib.util.time.monotonic)
    monkeypatch.setattr(exchangelib.util, "time", fake_time)
    return slept


def settings(**kw: Any) -> EwsSettings:
    """``[mailbox.ews]`` for the fake server: Basic auth as the service account, the shared mailbox ``BOT``."""
    base: dict[str, Any] = {"server": SERVER, "username": USER, "primary_smtp_address": BOT,
                            "password_env": "IRO_EWS_PASSWORD", "auth_type": "basic"}
    return EwsSettings(**(base | kw))


def account(password: str = PASSWORD, **kw: Any) -> Any:
    """An exchangelib Account for the fake server (no request is made until it is used)."""
    return open_account(settings(**kw), password)


__all__ = [
    "ENDPOINT",
    "NS",
    "PASSWORD",
    "SERVER",
    "STATE_PREFIX",
    "USER",
    "FakeExchange",
    "Item",
    "account",
    "adapter_for",
    "b64id",
    "close_connections",
    "internet_message_id",
    "record_sleeps",
    "serve",
    "settings",
]
