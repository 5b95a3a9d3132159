"""Microsoft identity platform and Graph v1.0 payloads, shaped as Microsoft documents and sends them.

Used by the Graph and msauth tests with respx: OpenID configuration, token responses and AADSTS errors, the
message resource (as ``$select`` returns it), ``messages/delta`` pages with ``@odata.nextLink`` /
``@odata.deltaLink`` and ``@removed`` entries, mailFolder resources, and Graph's error JSON.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "00000000-1111-2222-3333-444444444444"
USER = "iro-escalations@example.test"
AUTHORITY_HOST = "https://login.microsoftonline.com"
GRAPH = "https://graph.microsoft.com/v1.0"
BASE = f"{GRAPH}/users/{USER}"
OPENID_URL = f"{AUTHORITY_HOST}/{TENANT}/v2.0/.well-known/openid-configuration"
TOKEN_URL = f"{AUTHORITY_HOST}/{TENANT}/oauth2/v2.0/token"

INBOX_ID = "AAMkAGI2TGuLAAA="
ROOT_ID = "AAMkAGI2TGuRAAA="


def openid_configuration(tenant: str = TENANT) -> dict[str, Any]:
    """``GET /{tenant}/v2.0/.well-known/openid-configuration`` (trimmed to the fields clients read)."""
    return {
        "token_endpoint": f"{AUTHORITY_HOST}/{tenant}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{AUTHORITY_HOST}/{tenant}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"https://login.microsoftonline.com/{tenant}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": f"{AUTHORITY_HOST}/{tenant}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{AUTHORITY_HOST}/{tenant}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{AUTHORITY_HOST}/{tenant}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid"],
        "kerberos_endpoint": f"{AUTHORITY_HOST}/{tenant}/kerberos",
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }


def tenant_not_found(tenant: str) -> dict[str, Any]:
    """The 400 body of the OpenID configuration for a tenant that does not exist."""
    return {
        "error": "invalid_tenant",
        "error_description": f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct "
                             "tenant ID and are signing into the correct cloud. Check with your subscription "
                             "administrator, this may happen if there are no active subscriptions for the tenant. "
                             "Trace ID: 0c3e5d2b-1a2b-4c3d-9e8f-000000000000 Correlation ID: "
                             "1d2e3f40-5a6b-7c8d-9e0f-111111111111 Timestamp: 2026-11-24 09:15:00Z",
        "error_codes": [90002],
        "timestamp": "2026-11-24 09:15:00Z",
        "trace_id": "0c3e5d2b-1a2b-4c3d-9e8f-000000000000",
        "correlation_id": "1d2e3f40-5a6b-7c8d-9e0f-111111111111",
        "error_uri": "https://login.microsoftonline.com/error?code=90002",
    }


def token_response(token: str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.graph.sig", expires_in: int = 3599) -> dict:
    """A client-credentials token response (v2.0 endpoint)."""
    return {"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in, "access_token": token}


def token_error(code: int, error: str, text: str) -> dict[str, Any]:
    """A 400/401 token endpoint error as Entra ID sends it."""
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {text} Trace ID: 5e6f7a8b-0000-4000-8000-222222222222 Correlation "
                             "ID: 9a8b7c6d-0000-4000-8000-333333333333 Timestamp: 2026-11-24 09:15:01Z",
        "error_codes": [code],
        "timestamp": "2026-11-24 09:15:01Z",
        "trace_id": "5e6f7a8b-0000-4000-8000-222222222222",
        "correlation_id": "9a8b7c6d-0000-4000-8000-333333333333",
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


BAD_SECRET = (7000215, "invalid_client", f"Invalid client secret provided. Ensure the secret being sent in the "
              f"request is the client secret value, not the client secret ID, for a secret added to app '{CLIENT}'.")
UNKNOWN_APP = (700016, "unauthorized_client", f"Application with identifier '{CLIENT}' was not found in the "
               f"directory '{TENANT}'. This can happen if the application has not been installed by the "
               "administrator of the tenant or consented to by any user in the tenant.")
NO_CONSENT = (65001, "invalid_grant", f"The user or administrator has not consented to use the application with "
              f"ID '{CLIENT}' named 'IRO mailbot'. Send an interactive authorization request for this user and "
              "resource.")


# ---- Graph -----------------------------------------------------------------------------------------------------


def graph_error(code: str, message: str) -> dict[str, Any]:
    """Graph's error JSON (``innerError`` as Graph v1.0 sends it)."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": "2026-11-24T09:15:02",
                "request-id": "b3d1c8a2-0000-4000-8000-444444444444",
                "client-request-id": "b3d1c8a2-0000-4000-8000-444444444444",
            },
        }
    }


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=graph_error(code, message), headers=headers)


def mail_folder(folder_id: str, name: str, parent: str = ROOT_ID, total: int = 0, unread: int = 0) -> dict:
    return {
        "id": folder_id,
        "displayName": name,
        "parentFolderId": parent,
        "childFolderCount": 0,
        "unreadItemCount": unread,
        "totalItemCount": total,
        "sizeInBytes": 0,
        "isHidden": False,
    }


def folder_list(*folders: dict[str, Any]) -> dict[str, Any]:
    return {"@odata.context": f"{GRAPH}/$metadata#users('{USER}')/mailFolders", "value": list(folders)}


def message_id(n: int) -> str:
    """A Graph message id shaped like Exchange's (URL-safe base64 of an entry id)."""
    return f"AAMkAGI2TGuLAAABGAAAAAAAiQ8W967B7TKBjgx9rVEURBwAiIsqMbYjsT5e-T7KzowPTAAAAAAEMAAAiIsqMbYjsT5e-{n:04d}AAA="


def message(n: int, received: str, *, is_read: bool = False, folder: str = INBOX_ID) -> dict[str, Any]:
    """One message as ``messages/delta?$select=id,internetMessageId,receivedDateTime,parentFolderId,isRead``
    returns it."""
    return {
        "@odata.type": "#microsoft.graph.message",
        "@odata.etag": f'W/"CQAAABYAAAAiIsqMbYjsT5e/T7KzowPTAAAYbv{n:04d}"',
        "id": message_id(n),
        "receivedDateTime": received,
        "isRead": is_read,
        "internetMessageId": f"<msg{n}@example.test>",
        "parentFolderId": folder,
    }


def removed(n: int, reason: str = "deleted") -> dict[str, Any]:
    """A delta entry for a message moved out of the folder or deleted."""
    return {"@odata.type": "#microsoft.graph.message", "id": message_id(n), "@removed": {"reason": reason}}


def delta_page(items: list[dict[str, Any]], *, next_link: str | None = None,
               delta_link: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {
        "@odata.context": f"{GRAPH}/$metadata#Collection(message)",
        "value": items,
    }
    if next_link:
        page["@odata.nextLink"] = next_link
    if delta_link:
        page["@odata.deltaLink"] = delta_link
    return page


def delta_url(folder_id: str = INBOX_ID) -> str:
    return f"{BASE}/mailFolders/{folder_id}/messages/delta"


def _link_base(folder_id: str) -> str:
    # Graph writes its own links in OData key syntax; the source must treat them as opaque
    return f"{GRAPH}/users('{USER}')/mailFolders('{folder_id}')/messages/delta"


def next_link(token: str, folder_id: str = INBOX_ID) -> str:
    return f"{_link_base(folder_id)}?$skiptoken={token}"


def delta_link(token: str, folder_id: str = INBOX_ID) -> str:
    return f"{_link_base(folder_id)}?$deltatoken={token}"


def json_bytes(payload: Any) -> bytes:
    return json.dumps(payload).encode()
