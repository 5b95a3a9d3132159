"""The transports' settings: the ``[mailbox]`` table (how the bot reads: ``maildir``, ``imap``, ``graph``, ``ews``)
and the ``[mail_out]`` table (how it sends: ``maildir``, ``smtp``, ``graph``, ``ews``), read strictly.

A new transport adds its settings here, its module beside this one and its entry in ``registry.py``: one folder.
Secrets are never read here: a setting names the environment variable that holds one (``password_env``), and
:func:`mailbot.transports.registry.secret` reads it when the connection is made.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mailbot.errors import ConfigError
from mailbot.tables import Table, show
from rules.directory import EMAIL_RE

TRANSPORTS = ("maildir", "imap", "graph", "ews")
SECURITY = ("tls", "starttls", "none")  # implicit TLS, STARTTLS, or plain text (loopback and tests only)
AUTH = ("password", "xoauth2")
EWS_AUTH = ("ntlm", "basic", "oauth")
OUT_TRANSPORTS = ("maildir", "smtp", "graph", "ews")


@dataclass(frozen=True)
class ImapSettings:
    host: str
    username: str
    port: int = 993
    security: str = "tls"
    password_env: str | None = None
    folder: str = "INBOX"
    processed_folder: str | None = None
    attention_folder: str | None = None
    idle: bool = True
    auth: str = "password"  # or "xoauth2": a token from the [mailbox.graph] app registration (Exchange Online)
    # with mail_out.transport = "smtp": the folder the SMTP sender files its copies in (SMTP itself files nothing),
    # searched with the inbox and processed folder before sending again a mail that may have gone out already
    sent_folder: str | None = None

    def password(self) -> str | None:
        """The password from the environment variable named in config (read when needed, never stored)."""
        return os.environ.get(self.password_env) if self.password_env else None


@dataclass(frozen=True)
class GraphSettings:
    """Microsoft Graph (Exchange Online): an app registration with application permissions, app-only auth."""

    tenant_id: str
    client_id: str
    user: str  # the shared mailbox's address (UPN), e.g. iro-escalations@council.gov.uk
    client_secret_env: str | None = None  # the environment variable holding the client secret, or ...
    certificate_path: Path | None = None  # ... a PEM file with the private key and certificate
    certificate_thumbprint: str | None = None  # the certificate's SHA-1 thumbprint as Entra ID shows it
    folder: str = "Inbox"  # a well-known folder name or a display name under the mailbox root
    processed_folder: str | None = None
    attention_folder: str | None = None
    authority_host: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com/v1.0"

    def client_secret(self) -> str | None:
        return os.environ.get(self.client_secret_env) if self.client_secret_env else None


@dataclass(frozen=True)
class EwsSettings:
    """Exchange Web Services for on-premises Exchange Server (exchangelib)."""

    server: str  # e.g. mail.council.gov.uk (autodiscover is off unless autodiscover = true)
    username: str  # e.g. COUNCIL\\svc-iro-mailbot or svc-iro-mailbot@council.gov.uk ("" with auth_type oauth)
    primary_smtp_address: str  # the shared mailbox
    password_env: str | None = None
    auth_type: str = "ntlm"  # ntlm | basic (over TLS) | oauth (Hybrid Modern Authentication: [mailbox.graph]'s app)
    access_type: str = "delegate"  # delegate | impersonation (oauth: impersonation only)
    autodiscover: bool = False
    folder: str = "Inbox"
    processed_folder: str | None = None
    attention_folder: str | None = None
    verify_tls: bool = True
    oauth_scope: str | None = None  # oauth: the EWS resource's scope; None means https://{server}/.default

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


@dataclass(frozen=True)
class MailboxSettings:
    transport: str = "maildir"
    address: str = "iro-escalations@example.gov.uk"
    maildir: Path = Path("var/mailbox")
    imap: ImapSettings | None = None
    graph: GraphSettings | None = None
    ews: EwsSettings | None = None
    poll_seconds: int = 60


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    security: str = "starttls"  # "tls" (implicit, 465), "starttls" (587) or "none" (loopback/tests only)
    username: str | None = None  # no username: no AUTH (a relay that trusts the host)
    password_env: str | None = None
    timeout: int = 30
    auth: str = "password"  # or "xoauth2": a token from the [mailbox.graph] app registration (Exchange Online)
    # the bot's own address as one more envelope recipient of each mail, so that after a crash the copy in its
    # mailbox says whether the server took the mail (used when the mailbox is read over IMAP or from a local
    # Maildir; see transports.smtp)
    copy_to_mailbox: bool = True

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


@dataclass(frozen=True)
class MailOutSettings:
    """How the bot sends. ``maildir``: written to a local folder only (the embedded default; nothing leaves)."""

    transport: str = "maildir"
    maildir: Path = Path("var/sent")
    smtp: SmtpSettings | None = None
    max_attempts: int = 8  # then the mail is given up, flagged in `mailbot list`/the digest and logged at ERROR
    templates: Path | None = None  # a folder whose files override the built-in templates of the same name



def mailbox_settings(root: Table, base: Path) -> MailboxSettings:
    """The ``[mailbox]`` table: which transport reads, the shared mailbox's address, and each transport's table."""
    t = root.table("mailbox")
    if t is None:
        return MailboxSettings(maildir=base / "var/mailbox")
    transport = t.text("transport", "maildir", example="imap", choices=TRANSPORTS)
    address = t.text("address", example="iro-escalations@council.gov.uk")
    if not EMAIL_RE.match(address):
        raise t.error("address", f"{show(address)} is not an email address",
                      'write e.g. address = "iro-escalations@council.gov.uk"')
    maildir = base / t.text("maildir", "var/mailbox", example="var/mailbox")
    poll = t.integer("poll_seconds", 60, 5, 3600, unit="of seconds")
    imap_t = t.table("imap")
    imap = None
    if imap_t is not None:
        security = imap_t.text("security", "tls", example="tls", choices=SECURITY)
        imap = ImapSettings(
            host=imap_t.text("host", example="outlook.office365.com"),
            username=imap_t.text("username", example=address),
            port=imap_t.integer("port", 993 if security == "tls" else 143, 1, 65535),
            security=security,
            password_env=imap_t.text("password_env", None, example="MAILBOT_IMAP_PASSWORD"),
            folder=imap_t.text("folder", "INBOX", example="INBOX"),
            processed_folder=imap_t.text("processed_folder", None, example="Processed"),
            attention_folder=imap_t.text("attention_folder", None, example="Needs attention"),
            idle=imap_t.boolean("idle", True),
            auth=imap_t.text("auth", "password", example="xoauth2", choices=AUTH),
            sent_folder=imap_t.text("sent_folder", None, example="Sent"),
        )
        imap_t.finish()
    elif transport == "imap":
        raise t.error("imap", "is required when transport = \"imap\"",
                      "add a [mailbox.imap] table with host, username and password_env")
    graph = _graph(t, address, base)
    if graph is None and (transport == "graph" or (imap is not None and imap.auth == "xoauth2")):
        raise t.error("graph", "is required for " + ('transport = "graph"' if transport == "graph" else
                                                       'imap.auth = "xoauth2"'),
                      "add a [mailbox.graph] table with tenant_id, client_id and client_secret_env (see "
                      "docs/microsoft-365.md)")
    ews = _ews(t, address)
    if ews is None and transport == "ews":
        raise t.error("ews", 'is required when transport = "ews"',
                      "add a [mailbox.ews] table with server, username and password_env")
    if ews is not None and ews.auth_type == "oauth" and graph is None:
        raise t.error("graph", 'is required for ews.auth_type = "oauth"',
                      "add a [mailbox.graph] table with tenant_id, client_id and client_secret_env (or "
                      "certificate_path): the app registration whose token the Exchange server accepts (see "
                      "docs/microsoft-365.md)")
    t.finish()
    return MailboxSettings(transport=transport, address=address.lower(), maildir=maildir, imap=imap, graph=graph,
                           ews=ews, poll_seconds=poll)


def _graph(t: Table, address: str, base: Path) -> GraphSettings | None:
    g = t.table("graph")
    if g is None:
        return None
    cert = g.text("certificate_path", None, example="certs/iro-mailbot.pem")
    settings = GraphSettings(
        tenant_id=g.text("tenant_id", example="00000000-0000-0000-0000-000000000000"),
        client_id=g.text("client_id", example="00000000-0000-0000-0000-000000000000"),
        user=g.text("user", address, example=address).lower(),
        client_secret_env=g.text("client_secret_env", None, example="MAILBOT_GRAPH_SECRET"),
        certificate_path=base / cert if cert else None,
        certificate_thumbprint=g.text("certificate_thumbprint", None, example="A1B2C3..."),
        folder=g.text("folder", "Inbox", example="Inbox"),
        processed_folder=g.text("processed_folder", None, example="Processed"),
        attention_folder=g.text("attention_folder", None, example="Needs attention"),
        authority_host=g.text("authority_host", "https://login.microsoftonline.com",
                              example="https://login.microsoftonline.com"),
        graph_url=g.text("graph_url", "https://graph.microsoft.com/v1.0", example="https://graph.microsoft.com/v1.0"),
    )
    if not settings.client_secret_env and not settings.certificate_path:
        raise g.error("client_secret_env", "nor certificate_path is set",
                      'name the environment variable holding the client secret, e.g. "MAILBOT_GRAPH_SECRET", or '
                      "give certificate_path and certificate_thumbprint")
    if settings.certificate_path and not settings.certificate_thumbprint:
        raise g.error("certificate_thumbprint", "is required with certificate_path",
                      "copy the thumbprint Entra ID shows for the uploaded certificate")
    g.finish()
    return settings


def _ews(t: Table, address: str) -> EwsSettings | None:
    e = t.table("ews")
    if e is None:
        return None
    server = e.text("server", example="mail.council.gov.uk")
    auth_type = e.text("auth_type", "ntlm", example="ntlm", choices=EWS_AUTH)
    oauth = auth_type == "oauth"
    if oauth:
        for key in ("username", "password_env"):
            if key in e.data:
                raise e.error(key, 'is not used with auth_type = "oauth" (the app signs in with the [mailbox.graph] '
                              "registration)", "remove it")
    access_type = e.text("access_type", "impersonation" if oauth else "delegate", example="impersonation",
                         choices=("delegate", "impersonation"))
    if oauth and access_type == "delegate":
        raise e.error("access_type", '"delegate" cannot be used with auth_type = "oauth": an app-only token acts for '
                      "the mailbox only by impersonation",
                      'write access_type = "impersonation" (the app needs full_access_as_app, see '
                      "docs/microsoft-365.md)")
    scope = e.text("oauth_scope", None, example=f"https://{server}/.default")
    if scope is not None and not oauth:
        raise e.error("oauth_scope", 'is only used with auth_type = "oauth"', 'remove it, or set auth_type = "oauth"')
    if scope is not None and not (scope.startswith("https://") and scope.endswith("/.default")):
        raise e.error("oauth_scope", f"{show(scope)} is not an app-only scope",
                      f'write e.g. oauth_scope = "https://{server}/.default" (the EWS external URL\'s host, then '
                      "/.default)")
    settings = EwsSettings(
        server=server,
        username="" if oauth else e.text("username", example="svc-iro-mailbot@council.gov.uk"),
        primary_smtp_address=e.text("primary_smtp_address", address, example=address).lower(),
        password_env=None if oauth else e.text("password_env", None, example="MAILBOT_EWS_PASSWORD"),
        auth_type=auth_type,
        access_type=access_type,
        autodiscover=e.boolean("autodiscover", False),
        folder=e.text("folder", "Inbox", example="Inbox"),
        processed_folder=e.text("processed_folder", None, example="Processed"),
        attention_folder=e.text("attention_folder", None, example="Needs attention"),
        verify_tls=e.boolean("verify_tls", True),
        oauth_scope=(scope or f"https://{server}/.default") if oauth else None,
    )
    e.finish()
    return settings


def mail_out_settings(root: Table, base: Path) -> MailOutSettings:
    """The ``[mail_out]`` table: which transport sends, the local folder or SMTP server, retries, templates."""
    t = root.table("mail_out")
    if t is None:
        return MailOutSettings(maildir=base / "var" / "sent")
    transport = t.text("transport", "maildir", example="smtp", choices=OUT_TRANSPORTS)
    maildir = base / t.text("maildir", "var/sent", example="var/sent")
    templates_name = t.text("templates", None, example="templates")
    templates = base / templates_name if templates_name else None
    if templates is not None and not templates.is_dir():
        raise t.error("templates", f"{templates} is not a folder", "create it or remove the key")
    max_attempts = t.integer("max_attempts", 8, 1, 100)
    smtp_t = t.table("smtp")
    smtp = None
    if smtp_t is not None:
        security = smtp_t.text("security", "starttls", example="starttls", choices=SECURITY)
        smtp = SmtpSettings(
            host=smtp_t.text("host", example="smtp.office365.com"),
            port=smtp_t.integer("port", {"tls": 465, "starttls": 587}.get(security, 25), 1, 65535),
            security=security,
            username=smtp_t.text("username", None, example="iro-escalations@council.gov.uk"),
            password_env=smtp_t.text("password_env", None, example="MAILBOT_SMTP_PASSWORD"),
            timeout=smtp_t.integer("timeout", 30, 1, 600, unit="seconds"),
            auth=smtp_t.text("auth", "password", example="xoauth2", choices=AUTH),
            copy_to_mailbox=smtp_t.boolean("copy_to_mailbox", True),
        )
        if smtp.username and not smtp.password_env:
            raise smtp_t.error("password_env", "is required when username is set",
                               'name the environment variable that holds the password, e.g. "MAILBOT_SMTP_PASSWORD"')
        smtp_t.finish()
    elif transport == "smtp":
        raise t.error("smtp", 'is required when transport = "smtp"',
                      "add a [mail_out.smtp] table with host (and username, password_env if it needs a login)")
    t.finish()
    return MailOutSettings(transport=transport, maildir=maildir, smtp=smtp, max_attempts=max_attempts,
                           templates=templates)



def check_transports(mailbox: MailboxSettings, mail_out: MailOutSettings, source: str) -> None:
    """What the mailbox and mail-out settings need of each other (Graph and EWS send through the mailbox's
    connection; XOAUTH2 takes its tokens from the mailbox's app registration)."""
    if mail_out.transport in ("graph", "ews") and getattr(mailbox, mail_out.transport) is None:
        raise ConfigError(f"{source}: mail_out.transport: \"{mail_out.transport}\" sends through the mailbox's "
                          f"connection — add a [mailbox.{mail_out.transport}] table (see config.example.toml)")
    if mail_out.smtp is not None and mail_out.smtp.auth == "xoauth2" and mailbox.graph is None:
        raise ConfigError(f"{source}: mail_out.smtp.auth: \"xoauth2\" takes its token from the app registration "
                          "— add a [mailbox.graph] table with tenant_id, client_id and client_secret_env")


__all__ = [
    "AUTH", "EWS_AUTH", "OUT_TRANSPORTS", "SECURITY", "TRANSPORTS", "EwsSettings", "GraphSettings", "ImapSettings",
    "MailOutSettings", "MailboxSettings", "SmtpSettings", "check_transports", "mail_out_settings", "mailbox_settings",
]
