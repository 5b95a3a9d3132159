"""EWS SOAP response bodies shaped as Microsoft documents them (Exchange Server 2019 CU, schema V2017_07_11).

References (learn.microsoft.com, "EWS reference for Exchange"): SyncFolderItems operation, GetItem operation
(MimeContent), CreateItem operation (email message), MoveItem operation, UpdateItem operation, FindItem operation,
GetFolder operation, FindFolder operation, CreateFolder operation, and "EWS throttling in Exchange" (ErrorServerBusy
with BackOffMilliseconds in the SOAP fault detail).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from xml.sax.saxutils import escape, quoteattr

MNS = "http://schemas.microsoft.com/exchange/services/2006/messages"
TNS = "http://schemas.microsoft.com/exchange/services/2006/types"
ENS = "http://schemas.microsoft.com/exchange/services/2006/errors"
SOAPNS = "http://schemas.xmlsoap.org/soap/envelope/"

_HEADER = (
    "<s:Header>"
    '<h:ServerVersionInfo MajorVersion="15" MinorVersion="2" MajorBuildNumber="1544" MinorBuildNumber="4" '
    'Version="V2017_07_11" xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types" '
    'xmlns="http://schemas.microsoft.com/exchange/services/2006/types" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"/>'
    "</s:Header>"
)


def envelope(operation: str, messages: str) -> bytes:
    """A whole SOAP response: ``<m:{operation}Response><m:ResponseMessages>{messages}...``."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAPNS}">{_HEADER}'
        '<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        f'<m:{operation}Response xmlns:m="{MNS}" xmlns:t="{TNS}">'
        f"<m:ResponseMessages>{messages}</m:ResponseMessages>"
        f"</m:{operation}Response></s:Body></s:Envelope>"
    ).encode()


def success(operation: str, body: str) -> str:
    return (
        f'<m:{operation}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
        f"{body}</m:{operation}ResponseMessage>"
    )


def error(operation: str, code: str, text: str) -> str:
    """An error response message, as the server puts it inside a ResponseMessages list."""
    return (
        f'<m:{operation}ResponseMessage ResponseClass="Error"><m:MessageText>{escape(text)}</m:MessageText>'
        f"<m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>"
        f"</m:{operation}ResponseMessage>"
    )


def item_id(item: str, changekey: str) -> str:
    return f"<t:ItemId Id={quoteattr(item)} ChangeKey={quoteattr(changekey)}/>"


# ---- SyncFolderItems ---------------------------------------------------------------------------------------------


def sync_create(item: str, changekey: str) -> str:
    return f"<t:Create><t:Message>{item_id(item, changekey)}</t:Message></t:Create>"


def sync_update(item: str, changekey: str) -> str:
    return f"<t:Update><t:Message>{item_id(item, changekey)}</t:Message></t:Update>"


def sync_delete(item: str, changekey: str) -> str:
    return f"<t:Delete>{item_id(item, changekey)}</t:Delete>"


def sync_read_flag(item: str, changekey: str, is_read: bool) -> str:
    return f"<t:ReadFlagChange>{item_id(item, changekey)}<t:IsRead>{str(is_read).lower()}</t:IsRead></t:ReadFlagChange>"


def sync_folder_items(sync_state: str, includes_last: bool, changes: Iterable[str]) -> bytes:
    body = (
        f"<m:SyncState>{escape(sync_state)}</m:SyncState>"
        f"<m:IncludesLastItemInRange>{str(includes_last).lower()}</m:IncludesLastItemInRange>"
        f"<m:Changes>{''.join(changes)}</m:Changes>"
    )
    return envelope("SyncFolderItems", success("SyncFolderItems", body))


def invalid_sync_state() -> bytes:
    return envelope(
        "SyncFolderItems",
        error("SyncFolderItems", "ErrorInvalidSyncStateData",
              "Synchronization state data is corrupt or otherwise invalid."),
    )


# ---- GetItem ---------------------------------------------------------------------------------------------------


def get_item_message(item: str, changekey: str, mime: bytes) -> str:
    encoded = base64.b64encode(mime).decode()
    return success(
        "GetItem",
        f'<m:Items><t:Message><t:MimeContent CharacterSet="UTF-8">{encoded}</t:MimeContent>'
        f"{item_id(item, changekey)}</t:Message></m:Items>",
    )


def item_not_found(operation: str) -> str:
    return error(operation, "ErrorItemNotFound", "The specified object was not found in the store.")


# ---- FindItem ----------------------------------------------------------------------------------------------------


def find_item(items: list[tuple[str, str]], *, total: int | None = None) -> bytes:
    """FindItem with an IdOnly shape: the ids of the items found (``total``: TotalItemsInView, if more matched
    than the page holds)."""
    count = len(items) if total is None else total
    body = (
        f'<m:RootFolder IndexedPagingOffset="{len(items)}" TotalItemsInView="{count}" '
        f'IncludesLastItemInRange="{str(len(items) >= count).lower()}"><t:Items>'
        + "".join(f"<t:Message>{item_id(i, c)}</t:Message>" for i, c in items)
        + "</t:Items></m:RootFolder>"
    )
    return envelope("FindItem", success("FindItem", body))


def find_item_error(code: str, text: str) -> bytes:
    return envelope("FindItem", error("FindItem", code, text))


# ---- CreateItem / MoveItem / UpdateItem -------------------------------------------------------------------------


def create_item_sent() -> bytes:
    """SendAndSaveCopy: the server returns no item id."""
    return envelope("CreateItem", success("CreateItem", "<m:Items/>"))


def create_item_error(code: str, text: str) -> bytes:
    return envelope("CreateItem", error("CreateItem", code, text))


def move_item(moved: Iterable[tuple[str, str]]) -> bytes:
    return envelope(
        "MoveItem",
        "".join(success("MoveItem", f"<m:Items><t:Message>{item_id(i, c)}</t:Message></m:Items>") for i, c in moved),
    )


def update_item(item: str, changekey: str) -> bytes:
    return envelope(
        "UpdateItem",
        success("UpdateItem", f"<m:Items><t:Message>{item_id(item, changekey)}</t:Message></m:Items>"
                "<m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>"),
    )


# ---- folders ---------------------------------------------------------------------------------------------------


def folder(folder_id: str, changekey: str, name: str, parent_id: str | None = None, *, total: int = 0,
           unread: int = 0, children: int = 0, folder_class: str | None = "IPF.Note") -> str:
    parent = f'<t:ParentFolderId Id={quoteattr(parent_id)} ChangeKey="AQAAAA=="/>' if parent_id else ""
    klass = f"<t:FolderClass>{folder_class}</t:FolderClass>" if folder_class else ""
    return (
        f"<t:Folder><t:FolderId Id={quoteattr(folder_id)} ChangeKey={quoteattr(changekey)}/>{parent}{klass}"
        f"<t:DisplayName>{escape(name)}</t:DisplayName><t:TotalCount>{total}</t:TotalCount>"
        f"<t:ChildFolderCount>{children}</t:ChildFolderCount><t:UnreadCount>{unread}</t:UnreadCount></t:Folder>"
    )


def get_folder(*folders: str) -> bytes:
    return envelope("GetFolder", "".join(success("GetFolder", f"<m:Folders>{f}</m:Folders>") for f in folders))


def get_folder_error(code: str, text: str) -> bytes:
    return envelope("GetFolder", error("GetFolder", code, text))


def find_folder(folders: list[str]) -> bytes:
    body = (
        f'<m:RootFolder IndexedPagingOffset="{len(folders)}" TotalItemsInView="{len(folders)}" '
        f'IncludesLastItemInRange="true"><t:Folders>{"".join(folders)}</t:Folders></m:RootFolder>'
    )
    return envelope("FindFolder", success("FindFolder", body))


def create_folder(folder_id: str, changekey: str) -> bytes:
    body = f"<m:Folders><t:Folder><t:FolderId Id={quoteattr(folder_id)} ChangeKey={quoteattr(changekey)}/>" \
           "</t:Folder></m:Folders>"
    return envelope("CreateFolder", success("CreateFolder", body))


# ---- SOAP faults -----------------------------------------------------------------------------------------------


def server_busy(back_off_ms: int) -> bytes:
    """The throttling fault (HTTP 500), as in "EWS throttling in Exchange"."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAPNS}"><s:Body><s:Fault>'
        f'<faultcode xmlns:a="{TNS}">a:ErrorServerBusy</faultcode>'
        '<faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.'
        "</faultstring><detail>"
        f'<e:ResponseCode xmlns:e="{ENS}">ErrorServerBusy</e:ResponseCode>'
        f'<e:Message xmlns:e="{ENS}">The server cannot service this request right now. Try again later.</e:Message>'
        f'<t:MessageXml xmlns:t="{TNS}"><t:Value Name="BackOffMilliseconds">{back_off_ms}</t:Value></t:MessageXml>'
        "</detail></s:Fault></s:Body></s:Envelope>"
    ).encode()


UNAUTHORIZED_HTML = (
    b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
    b'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd"><html><head><title>401 - Unauthorized: Access is denied '
    b"due to invalid credentials.</title></head><body><h2>401 - Unauthorized: Access is denied due to invalid "
    b"credentials.</h2></body></html>"
)
