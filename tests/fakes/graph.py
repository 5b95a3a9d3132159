"""A fake Exchange Online mailbox answering Microsoft Graph v1.0 on respx: stateful, unlike per-test routes.

    fake = FakeGraph()
    with fake.mock():                                  # respx routes every request for graph.microsoft.com here
        fake.deliver(raw)                              # a mail arrives in the Inbox
        source = GraphSource(GraphClient(settings, tokens, http=httpx.Client()))

What it answers (the URLs and parameters :mod:`mailbot.transports.graph` uses; shapes as in
``tests/mailbot/transports/graph_payloads.py`` and Microsoft's docs):

- ``GET /users/{user}/mailFolders/{well-known name or id}`` — a mailFolder.
- ``GET /users/{user}/mailFolders?$filter=displayName eq '...'`` (and ``.../childFolders``) — a folder list;
  ``POST`` the same path with ``{"displayName": ...}`` — 201 and the new folder (409 if it exists).
- ``GET /users/{user}/mailFolders/{id}/messages/delta`` — a delta round, paged (``Prefer: odata.maxpagesize``,
  capped by ``page_size``). Each folder keeps a change log (created / updated / removed). The first round lists
  the folder; ``@odata.nextLink`` (``$skiptoken``) and ``@odata.deltaLink`` (``$deltatoken``) are written in
  Graph's OData key syntax (``users('...')/mailFolders('...')``) and their tokens encode a position in the
  change log (and, for a nextLink, the round's end and an offset), so a stored link resumes exactly. Pages are
  unordered, as Graph's are (each page is served newest first). Changed mail comes back as the message, mail
  moved or deleted as an ``@removed`` entry.
- ``GET /users/{user}/messages/{id}/$value`` — the MIME (404 ``ErrorItemNotFound`` once moved).
- ``PATCH /users/{user}/messages/{id}`` — ``isRead`` / ``flag``; an "updated" change.
- ``POST /users/{user}/messages/{id}/move`` — a new id in the target folder ("removed" here, "created" there).
- ``GET /users/{user}/mailFolders/{folder}/messages?$filter=internetMessageId eq '<...>'`` (with ``$select``,
  ``$top``) — the messages of that folder with that Internet Message-ID, as a collection; any other ``$filter``
  is answered 400 ``ErrorInvalidUrlQueryFilter``.
- ``POST /users/{user}/sendMail`` with base64 MIME (``Content-Type: text/plain``) — 202; the MIME is kept in
  ``sent`` and a copy saved to Sent Items with the MIME's Message-ID as its ``internetMessageId`` (as Exchange
  does), unless ``save_to_sent_items`` is False (a mailbox where the copy never appears).

:meth:`FakeGraph.force_resync` makes a delta call answer 410 ``SyncStateNotFound`` (an expired delta token).
Requests without a bearer token get 401.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import httpx
import respx

from tests.mailbot.transports import graph_payloads as p

HOST = "graph.microsoft.com"
RECEIVED_FROM = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@dataclass
class GraphMessage:
    id: str
    mime: bytes
    folder: str
    received: datetime
    internet_message_id: str
    is_read: bool = False
    flagged: bool = False

    def resource(self) -> dict[str, Any]:
        """The message as ``messages/delta?$select=id,internetMessageId,receivedDateTime,parentFolderId,isRead,
        flag`` returns it."""
        return {
            "@odata.type": "#microsoft.graph.message",
            "@odata.etag": f'W/"CQAAABYAAAAiIsqMbYjsT5e/T7KzowPTAAAY{self.id[-8:]}"',
            "id": self.id,
            "receivedDateTime": self.received.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "isRead": self.is_read,
            "internetMessageId": self.internet_message_id,
            "parentFolderId": self.folder,
            "flag": {"flagStatus": "flagged" if self.flagged else "notFlagged"},
        }


@dataclass
class Folder:
    id: str
    name: str
    parent: str | None
    well_known: str | None = None
    log: list[tuple[str, str]] = field(default_factory=list)  # (created | updated | removed, message id)


def _token(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _untoken(token: str) -> dict[str, Any] | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _internet_message_id(mime: bytes) -> str:
    match = re.search(rb"^Message-I[Dd]:[ \t]*(<[^>\r\n]+>)", mime, re.MULTILINE | re.IGNORECASE)
    return match.group(1).decode() if match else ""


class FakeGraph:
    """One mailbox (``user``) behind Microsoft Graph; see the module docstring."""

    def __init__(self, user: str = p.USER, *, page_size: int = 50, graph: str = p.GRAPH) -> None:
        self.user = user
        self.graph = graph.rstrip("/")
        self.base = f"{self.graph}/users/{user}"
        self.page_size = page_size
        self.folders: dict[str, Folder] = {}
        self.messages: dict[str, GraphMessage] = {}
        self.sent: list[bytes] = []  # the MIME of each mail sent, oldest first
        self.calls: list[tuple[str, str]] = []  # (method, path below the mailbox, or the whole path)
        self.save_to_sent_items = True
        self._resync_after: int | None = None  # delta calls still answered before a 410
        self.resyncs = 0  # 410s served
        self._n = 0
        root = self._add_folder("Top of Information Store", None, well_known="msgfolderroot").id
        self.inbox = self._add_folder("Inbox", root, well_known="inbox", folder_id=p.INBOX_ID).id
        self.sentitems = self._add_folder("Sent Items", root, well_known="sentitems").id
        self._add_folder("Deleted Items", root, well_known="deleteditems")
        self._add_folder("Drafts", root, well_known="drafts")
        self.root = root  # the mailbox root: "mailFolders" lists its children

    # ---- the mailbox ------------------------------------------------------------------------------------
    def _next_id(self, kind: str) -> str:
        self._n += 1
        return f"AAMkAGI2TGuLAAABGAAAAAAAiQ8W967B7TKBjgx9rVEURBwAiIsqMbYjsT5e-{kind}{self._n:06d}AAA="

    def _add_folder(self, name: str, parent: str | None, *, well_known: str | None = None,
                    folder_id: str | None = None) -> Folder:
        folder = Folder(folder_id or self._next_id("F"), name, parent, well_known)
        self.folders[folder.id] = folder
        return folder

    def deliver(self, mime: bytes, folder: str | None = None) -> GraphMessage:
        """A mail arrives (in the Inbox unless ``folder`` is given); received one minute after the last."""
        received = RECEIVED_FROM + timedelta(minutes=self._n)
        msg = GraphMessage(self._next_id("M"), mime, folder or self.inbox, received, _internet_message_id(mime))
        self.messages[msg.id] = msg
        self.folders[msg.folder].log.append(("created", msg.id))
        return msg

    def in_folder(self, folder: str) -> list[GraphMessage]:
        return [m for m in self.messages.values() if m.folder == folder]

    def folder_named(self, name: str) -> Folder | None:
        return next((f for f in self.folders.values() if f.name.casefold() == name.casefold()), None)

    def force_resync(self, after: int = 0) -> None:
        """Answer the delta call after the next ``after`` ones with 410 SyncStateNotFound (once)."""
        self._resync_after = after

    # ---- respx ------------------------------------------------------------------------------------------
    @contextmanager
    def mock(self) -> Iterator[respx.MockRouter]:
        """Route every request for graph.microsoft.com to this mailbox (anything else is refused by respx)."""
        with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
            router.route(host=HOST).mock(side_effect=self.handle)
            yield router

    def handle(self, request: httpx.Request) -> httpx.Response:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return p.error_response(401, "InvalidAuthenticationToken", "Access token is empty.")
        path = unquote(request.url.path)
        prefix = "/" + self.graph.split("/", 3)[3]  # "/v1.0"
        key_syntax = f"{prefix}/users('{self.user}')"
        plain = f"{prefix}/users/{self.user}"
        if path.startswith(key_syntax):
            rest = re.sub(r"\('([^']*)'\)", r"/\1", path[len(key_syntax):])  # mailFolders('x') -> mailFolders/x
        elif path.startswith(plain):
            rest = path[len(plain):]
        else:
            return p.error_response(404, "ErrorInvalidUser", f"The requested user '{path}' is invalid.")
        method = request.method
        self.calls.append((method, rest))
        params = request.url.params
        parts = [x for x in rest.split("/") if x]
        if parts[:1] == ["sendMail"] and method == "POST":
            return self._send_mail(request)
        if parts[:1] == ["messages"] and len(parts) >= 2:
            return self._message(method, parts[1], parts[2:], request)
        if parts[:1] == ["mailFolders"]:
            if len(parts) == 1:
                return self._folders(method, self.root, params.get("$filter"), request)
            folder = self._folder(parts[1])
            if folder is None:
                return p.error_response(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            if len(parts) == 2 and method == "GET":
                return httpx.Response(200, json=self._folder_resource(folder))
            if parts[2:] == ["childFolders"]:
                return self._folders(method, folder.id, params.get("$filter"), request)
            if parts[2:] == ["messages", "delta"] and method == "GET":
                return self._delta(folder, request)
            if parts[2:] == ["messages"] and method == "GET":
                return self._list_messages(folder, request)
        return p.error_response(400, "BadRequest", f"Unsupported request {method} {rest}")

    # ---- folders ----------------------------------------------------------------------------------------
    def _folder(self, ref: str) -> Folder | None:
        ref_lower = ref.lower()
        return next((f for f in self.folders.values() if f.id == ref or f.well_known == ref_lower), None)

    def _folder_resource(self, folder: Folder) -> dict[str, Any]:
        messages = self.in_folder(folder.id)
        return p.mail_folder(folder.id, folder.name, folder.parent or "", total=len(messages),
                             unread=sum(1 for m in messages if not m.is_read))

    def _folders(self, method: str, parent: str, filter_: str | None, request: httpx.Request) -> httpx.Response:
        children = [f for f in self.folders.values() if f.parent == parent]
        if method == "GET":
            if filter_:
                match = re.fullmatch(r"displayName eq '((?:[^']|'')*)'", filter_)
                if match is None:
                    return p.error_response(400, "ErrorInvalidUrlQueryFilter", "The query filter is not supported.")
                name = match.group(1).replace("''", "'")
                children = [f for f in children if f.name.casefold() == name.casefold()]
            return httpx.Response(200, json=p.folder_list(*(self._folder_resource(f) for f in children)))
        if method == "POST":
            name = str(json.loads(request.content).get("displayName") or "")
            if not name:
                return p.error_response(400, "ErrorInvalidRequest", "displayName is required.")
            if any(f.name.casefold() == name.casefold() for f in children):
                return p.error_response(409, "ErrorFolderExists", "A folder with the specified name already exists.")
            return httpx.Response(201, json=self._folder_resource(self._add_folder(name, parent)))
        return p.error_response(405, "ErrorInvalidRequest", "The OData request is not supported.")

    # ---- delta ------------------------------------------------------------------------------------------
    def _link(self, folder: Folder, kind: str, token: str) -> str:
        return f"{self.graph}/users('{self.user}')/mailFolders('{folder.id}')/messages/delta?{kind}={token}"

    def _round(self, folder: Folder, start: int | None, end: int) -> list[str]:
        """The message ids of a delta round over ``log[start:end]`` (the first round when ``start`` is None),
        each once, in the order of their first change. Fixed for the round, so offsets stay valid while mail
        moves: what left the folder meanwhile is dropped (first round) or ``@removed`` when its page is served."""
        return list(dict.fromkeys(mid for _, mid in folder.log[start or 0 : end]))

    def _delta(self, folder: Folder, request: httpx.Request) -> httpx.Response:
        if self._resync_after is not None:
            if self._resync_after <= 0:
                self._resync_after = None
                self.resyncs += 1
                return p.error_response(410, "SyncStateNotFound", "The sync state generation is not found.")
            self._resync_after -= 1
        params = request.url.params
        if "$deltatoken" in params:
            state = _untoken(params["$deltatoken"])
            if state is None or state.get("f") != folder.id:
                return p.error_response(410, "SyncStateNotFound", "The sync state generation is not found.")
            start, end, offset = int(state["at"]), len(folder.log), 0
        elif "$skiptoken" in params:
            state = _untoken(params["$skiptoken"])
            if state is None or state.get("f") != folder.id:
                return p.error_response(410, "SyncStateNotFound", "The sync state generation is not found.")
            start, end, offset = state.get("from"), int(state["to"]), int(state["o"])
        else:
            start, end, offset = None, len(folder.log), 0
        size = self.page_size
        match = re.search(r"odata\.maxpagesize=(\d+)", request.headers.get("Prefer", ""))
        if match:
            size = min(size, int(match.group(1)))
        ids = self._round(folder, start, end)
        page_ids = ids[offset : offset + size]
        entries: list[dict[str, Any]] = []
        for mid in reversed(page_ids):  # delta pages are unordered
            msg = self.messages.get(mid)
            if msg is not None and msg.folder == folder.id:
                entries.append(msg.resource())
            elif start is not None:
                entries.append({"@odata.type": "#microsoft.graph.message", "id": mid,
                                "@removed": {"reason": "deleted"}})
        if offset + size < len(ids):
            link = self._link(folder, "$skiptoken", _token({"f": folder.id, "from": start, "to": end,
                                                             "o": offset + size}))
            return httpx.Response(200, json=p.delta_page(entries, next_link=link))
        link = self._link(folder, "$deltatoken", _token({"f": folder.id, "at": end}))
        return httpx.Response(200, json=p.delta_page(entries, delta_link=link))

    # ---- messages ---------------------------------------------------------------------------------------
    def _list_messages(self, folder: Folder, request: httpx.Request) -> httpx.Response:
        """``GET mailFolders/{id}/messages``: only ``$filter=internetMessageId eq '...'`` is understood."""
        params = request.url.params
        found = self.in_folder(folder.id)
        filter_ = params.get("$filter")
        if filter_ is not None:
            match = re.fullmatch(r"internetMessageId eq '((?:[^']|'')*)'", filter_)
            if match is None:
                return p.error_response(400, "ErrorInvalidUrlQueryFilter", "The query filter is not supported.")
            wanted = match.group(1).replace("''", "'")
            found = [m for m in found if m.internet_message_id == wanted]
        top = int(params.get("$top", "10"))
        select = [f for f in params.get("$select", "").split(",") if f]
        values = []
        for msg in found[:top]:
            resource = msg.resource()
            if select:
                resource = {k: v for k, v in resource.items() if k in select or k.startswith("@odata")}
            values.append(resource)
        context = f"{self.graph}/$metadata#users('{self.user}')/mailFolders('{folder.id}')/messages"
        return httpx.Response(200, json={"@odata.context": context, "value": values})

    def _message(self, method: str, mid: str, rest: list[str], request: httpx.Request) -> httpx.Response:
        msg = self.messages.get(mid)
        if msg is None:
            return p.error_response(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        if rest == ["$value"] and method == "GET":
            return httpx.Response(200, content=msg.mime, headers={"Content-Type": "message/rfc822"})
        if not rest and method == "PATCH":
            change = json.loads(request.content)
            if "isRead" in change:
                msg.is_read = bool(change["isRead"])
            if isinstance(change.get("flag"), dict):
                msg.flagged = change["flag"].get("flagStatus") == "flagged"
            self.folders[msg.folder].log.append(("updated", msg.id))
            return httpx.Response(200, json=msg.resource())
        if rest == ["move"] and method == "POST":
            target = self._folder(str(json.loads(request.content).get("destinationId") or ""))
            if target is None:
                return p.error_response(400, "ErrorInvalidIdMalformed", "Id is malformed.")
            del self.messages[msg.id]
            self.folders[msg.folder].log.append(("removed", msg.id))
            moved = GraphMessage(self._next_id("M"), msg.mime, target.id, msg.received, msg.internet_message_id,
                                 msg.is_read, msg.flagged)
            self.messages[moved.id] = moved
            target.log.append(("created", moved.id))
            return httpx.Response(201, json=moved.resource())
        return p.error_response(400, "BadRequest", f"Unsupported request {method} on a message")

    def _send_mail(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Content-Type", "").split(";")[0].strip() != "text/plain":
            return p.error_response(400, "ErrorMimeContentInvalid", "MIME content must be sent as text/plain base64.")
        try:
            mime = base64.b64decode(request.content, validate=True)
        except binascii.Error:
            return p.error_response(400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME "
                                    "content.")
        self.sent.append(mime)
        if not self.save_to_sent_items:
            return httpx.Response(202)
        saved = GraphMessage(self._next_id("M"), mime, self.sentitems, RECEIVED_FROM, _internet_message_id(mime),
                             is_read=True)
        self.messages[saved.id] = saved
        self.folders[self.sentitems].log.append(("created", saved.id))
        return httpx.Response(202)


__all__ = ["FakeGraph", "Folder", "GraphMessage"]
