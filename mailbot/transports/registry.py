"""The one place that turns the configuration into a mail source and a mail sender, and tries them.

Each transport is one :class:`Transport` in :data:`TRANSPORTS`: how to build its source (``mailbox.transport``),
its sender (``mail_out.transport``) and the plain-words checks ``mailbot check-config --connect`` prints. A new
transport is a module in this folder and one entry here. Modules are imported only when their transport is
used, so a council on Maildir never loads exchangelib or msal.

Secrets are read from the environment variables the config names, now, and a missing one is one
:class:`~mailbot.errors.MailbotError` line naming the key and the fix — the same words for every transport.

The checks change nothing and send nothing: the mailbox is logged in to and its folder opened, the outgoing server
is connected to and logged in to. Each gives lines that start with ``ok:`` or ``missing:``; a council's IT reads
them top to bottom and fixes the first ``missing``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mailbot.errors import ConfigError, MailbotError

from .sender import MailSender
from .settings import GraphSettings
from .source import MailSource

if TYPE_CHECKING:  # the config holds the transports' settings; the transports only read it
    from mailbot.config import Config


@dataclass(frozen=True)
class Check:
    what: str  # "store", "mailbox (imap)", "mail out (smtp)", ...
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok' if self.ok else 'missing'}: {self.what}: {self.detail}"


@dataclass(frozen=True)
class Transport:
    """How one transport is built and checked (``None``: it does not read, or does not send)."""

    name: str
    open_source: Callable[[Config], MailSource] | None = None
    open_sender: Callable[[Config], MailSender] | None = None
    check_source: Callable[[Config, str], list[Check]] | None = None
    check_sender: Callable[[Config, str], list[Check]] | None = None


# ---- what every transport shares ---------------------------------------------------------------------------


def secret(env_name: str | None, key: str, what: str) -> str:
    """The secret in the environment variable ``env_name`` (named by config key ``key``), or one clear error."""
    value = os.environ.get(env_name) if env_name else None
    if not value:
        raise MailbotError(f"{key}: the environment variable {env_name or '(not named)'} is not set — export it "
                           f"with {what} before starting")
    return value


def app_tokens(config: Config, key: str, needs: str) -> Any:
    """The msal token provider of the ``[mailbox.graph]`` app registration, which ``key`` = ``needs`` relies on."""
    graph = config.mailbox.graph
    if graph is None:
        raise ConfigError(f'{key}: "{needs}" needs a [mailbox.graph] app registration — add one with tenant_id, '
                          "client_id and client_secret_env (see docs/microsoft-365.md)")
    from .msauth import TokenProvider

    return TokenProvider(graph)


def _graph_settings(config: Config) -> GraphSettings:
    if config.mailbox.graph is None:
        raise ConfigError("mailbox.graph: is required for the graph transport — add a [mailbox.graph] table with "
                          "tenant_id, client_id and client_secret_env (see docs/microsoft-365.md)")
    return config.mailbox.graph


def _env_check(what: str, name: str | None, key: str) -> list[Check]:
    if not name:
        return []
    if os.environ.get(name):
        return [Check(what, True, f"the environment variable {name} ({key}) is set")]
    return [Check(what, False, f"the environment variable {name} ({key}) is not set — export it before starting")]


def _then(what: str, lines: list[Check], probe: Callable[[], list[Check]]) -> list[Check]:
    """The environment checks ``lines``, then — only when they all pass — the connection ``probe``."""
    if any(not c.ok for c in lines):
        return lines
    return lines + _guard(what, probe)


def _guard(what: str, probe: Callable[[], list[Check]]) -> list[Check]:
    try:
        return probe()
    except MailbotError as exc:  # transport errors are written for people already
        return [Check(what, False, str(exc))]
    except Exception as exc:  # anything else: say what kind of failure, never a traceback
        return [Check(what, False, f"{type(exc).__name__}: {exc}")]


def _line(what: str, line: str) -> Check:
    """A transport's own check line ("ok   folder: …", "FAILED login: …", "missing: …", "note: …") as a Check."""
    status, _, rest = line.strip().partition(" ")
    status = status.rstrip(":").lower()
    if status in ("ok", "failed", "missing", "note", "info"):
        return Check(what, status not in ("failed", "missing"), rest.strip())
    return Check(what, True, line.strip())


# ---- maildir: the embedded default --------------------------------------------------------------------------


def _maildir_source(config: Config) -> MailSource:
    from .maildir import MaildirSource

    return MaildirSource(config.mailbox.maildir)


def _maildir_sender(config: Config) -> MailSender:
    from .maildir import MaildirSender

    return MaildirSender(config.mail_out.maildir)


def _maildir_check_source(config: Config, what: str) -> list[Check]:
    path = config.mailbox.maildir
    parent = path if path.exists() else path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    writable = os.access(parent, os.W_OK)
    state = "can be used" if writable else "cannot be created here (permissions)"
    return [Check(what, writable, f"{path} {state}")]


def _maildir_check_sender(config: Config, what: str) -> list[Check]:
    return [Check(what, True, f"mail is written to {config.mail_out.maildir} and does not leave this machine")]


# ---- IMAP and SMTP ---------------------------------------------------------------------------------------------


def _imap_source(config: Config) -> MailSource:
    from .imap import ImapSource

    imap = config.mailbox.imap
    if imap is None:
        raise ConfigError('mailbox.imap: is required when transport = "imap" — add a [mailbox.imap] table with '
                          "host, username and password_env")
    folders = {"security": imap.security, "folder": imap.folder, "processed_folder": imap.processed_folder,
               "attention_folder": imap.attention_folder}
    if imap.auth == "xoauth2":
        tokens = app_tokens(config, "mailbox.imap.auth", "xoauth2")
        return ImapSource(imap.host, imap.port, imap.username, oauth2_token_provider=tokens.imap_smtp_token,
                          **folders)
    password = secret(imap.password_env, "mailbox.imap.password_env", "the mailbox password")
    return ImapSource(imap.host, imap.port, imap.username, password=password, **folders)


def _imap_check(config: Config, what: str) -> list[Check]:
    imap = config.mailbox.imap
    if imap is None:
        return [Check(what, False, "not configured")]
    def probe() -> list[Check]:
        source = _imap_source(config)
        try:
            list(source.fetch(None, limit=0))  # logs in and opens the folder; reads nothing
        finally:
            source.close()
        return [Check(what, True, f"logged in to {imap.host}:{imap.port} as {imap.username}; folder "
                                  f"{imap.folder!r} opened")]

    env = [] if imap.auth == "xoauth2" else _env_check(what, imap.password_env, "mailbox.imap.password_env")
    return _then(what, env, probe)


def _imap_sent_folder(config: Config) -> Any:
    """Where the SMTP sender files and looks for its copies, with the mailbox's own credentials: the IMAP sent
    folder (``mailbox.imap.sent_folder``, filed and searched) and, with ``mail_out.smtp.copy_to_mailbox``, the
    inbox and processed folder the mailbox's own copy arrives in (searched) — over IMAP, or in the local Maildir
    the bot reads. None when there is nothing to file or search (the mailbox read through Graph or EWS)."""
    imap, smtp = config.mailbox.imap, config.mail_out.smtp
    copies = smtp is not None and smtp.copy_to_mailbox
    if config.mailbox.transport == "maildir" and copies:
        from .maildir import MaildirCopies

        return MaildirCopies(config.mailbox.maildir)
    if config.mailbox.transport != "imap" or imap is None or not (imap.sent_folder or copies):
        return None
    from .imap import ImapSentFolder

    look_in = [imap.sent_folder] if imap.sent_folder else []
    if copies:
        look_in += [imap.folder, *([imap.processed_folder] if imap.processed_folder else [])]
    where = {"security": imap.security, "folder": imap.sent_folder, "look_in": tuple(dict.fromkeys(look_in))}
    if imap.auth == "xoauth2":
        tokens = app_tokens(config, "mailbox.imap.auth", "xoauth2")
        return ImapSentFolder(imap.host, imap.port, imap.username, oauth2_token_provider=tokens.imap_smtp_token,
                              **where)
    password = secret(imap.password_env, "mailbox.imap.password_env", "the mailbox password")
    return ImapSentFolder(imap.host, imap.port, imap.username, password=password, **where)


def _smtp_sender(config: Config) -> MailSender:
    from .smtp import SmtpSender

    smtp = config.mail_out.smtp
    if smtp is None:
        raise ConfigError('mail_out.smtp: is required when transport = "smtp" — add a [mail_out.smtp] table '
                          "with host (and username, password_env if the server needs a login)")
    sent_folder = _imap_sent_folder(config)
    # the mailbox's own copy is only worth its delivery where it can be searched for (IMAP, or a local Maildir)
    copy_to = config.mailbox.address if sent_folder is not None and smtp.copy_to_mailbox else None
    if smtp.auth == "xoauth2":
        tokens = app_tokens(config, "mail_out.smtp.auth", "xoauth2")
        return SmtpSender(smtp.host, smtp.port, smtp.security, username=smtp.username or config.mailbox.address,
                          oauth2_token_provider=tokens.imap_smtp_token, timeout=smtp.timeout,
                          sent_folder=sent_folder, copy_to=copy_to)
    password = secret(smtp.password_env, "mail_out.smtp.password_env", "the SMTP password") if smtp.username \
        else None
    return SmtpSender(smtp.host, smtp.port, smtp.security, username=smtp.username, password=password,
                      timeout=smtp.timeout, sent_folder=sent_folder, copy_to=copy_to)


def _smtp_check(config: Config, what: str) -> list[Check]:
    smtp = config.mail_out.smtp
    if smtp is None:
        return [Check(what, False, "not configured")]
    def probe() -> list[Check]:
        sender = _smtp_sender(config)
        sender.open()  # connects, STARTTLS, logs in: nothing is sent
        sender.close()
        login = f" and logged in as {smtp.username}" if smtp.username else " (no login configured)"
        return [Check(what, True, f"connected to {smtp.host}:{smtp.port} ({smtp.security}){login}")]

    env = [] if smtp.auth == "xoauth2" else _env_check(what, smtp.password_env, "mail_out.smtp.password_env")
    return _then(what, env, probe)


# ---- Microsoft Graph (Exchange Online) ----------------------------------------------------------------------------


def _graph_source(config: Config) -> MailSource:
    from .graph import GraphSource, client_from_settings

    g = _graph_settings(config)
    return GraphSource(client_from_settings(g), folder=g.folder, processed_folder=g.processed_folder,
                       attention_folder=g.attention_folder)


def _graph_sender(config: Config) -> MailSender:
    from .graph import GraphSender, client_from_settings

    return GraphSender(client_from_settings(_graph_settings(config)))


def _graph_check(config: Config, what: str) -> list[Check]:
    from . import graph

    return _guard(what, lambda: [_line(what, line)
                                 for line in graph.check(graph.client_from_settings(_graph_settings(config)))])


# ---- EWS (Exchange Server on premises) -------------------------------------------------------------------------


def _ews_account(config: Config) -> Any:
    from .ews import open_account

    ews = config.mailbox.ews
    if ews is None:
        raise ConfigError('mailbox.ews: is required when transport = "ews" — add a [mailbox.ews] table with '
                          "server, username and password_env")
    if ews.auth_type == "oauth":  # Hybrid Modern Authentication: a token for the [mailbox.graph] app
        return open_account(ews, token_provider=app_tokens(config, "mailbox.ews.auth_type", "oauth"))
    return open_account(ews, secret(ews.password_env, "mailbox.ews.password_env", "the service account's password"))


def _ews_source(config: Config) -> MailSource:
    from .ews import EwsSource

    ews = config.mailbox.ews
    account = _ews_account(config)
    assert ews is not None
    return EwsSource(account, ews.folder, ews.processed_folder, ews.attention_folder)


def _ews_sender(config: Config) -> MailSender:
    from .ews import EwsSender

    return EwsSender(_ews_account(config))


def _ews_check(config: Config, what: str) -> list[Check]:
    ews_settings = config.mailbox.ews
    if ews_settings is None:
        return [Check(what, False, "not configured")]
    graph = config.mailbox.graph
    if ews_settings.auth_type == "oauth":  # the token comes from the [mailbox.graph] app registration
        env = _env_check(what, graph.client_secret_env if graph else None, "mailbox.graph.client_secret_env")
    else:
        env = _env_check(what, ews_settings.password_env, "mailbox.ews.password_env")

    def probe() -> list[Check]:
        from . import ews

        found = ews.check(_ews_account(config), ews_settings.folder,
                          [ews_settings.processed_folder, ews_settings.attention_folder])
        return [_line(what, line) for line in found]

    return _then(what, env, probe)


def _through_mailbox(config: Config, what: str) -> list[Check]:
    return [Check(what, True, "sends through the mailbox connection checked above (sending itself is not tried)")]


# ---- the registry ------------------------------------------------------------------------------------------------

TRANSPORTS: dict[str, Transport] = {
    t.name: t
    for t in (
        Transport("maildir", _maildir_source, _maildir_sender, _maildir_check_source, _maildir_check_sender),
        Transport("imap", _imap_source, None, _imap_check, None),
        Transport("smtp", None, _smtp_sender, None, _smtp_check),
        Transport("graph", _graph_source, _graph_sender, _graph_check, _through_mailbox),
        Transport("ews", _ews_source, _ews_sender, _ews_check, _through_mailbox),
    )
}


def _transport(name: str, key: str, role: str) -> Transport:
    found = TRANSPORTS.get(name)
    if found is None or getattr(found, role) is None:
        usable = sorted(n for n, t in TRANSPORTS.items() if getattr(t, role) is not None)
        raise ConfigError(f"{key}: {name!r} is not available in this version — use one of {', '.join(usable)}")
    return found


def open_source(config: Config) -> MailSource:
    """The mail source ``mailbox.transport`` names, built from its settings."""
    opener = _transport(config.mailbox.transport, "mailbox.transport", "open_source").open_source
    assert opener is not None
    return opener(config)


def open_sender(config: Config) -> MailSender:
    """The mail sender ``mail_out.transport`` names, built from its settings."""
    opener = _transport(config.mail_out.transport, "mail_out.transport", "open_sender").open_sender
    assert opener is not None
    return opener(config)


def check_mailbox(config: Config) -> list[Check]:
    what = f"mailbox ({config.mailbox.transport})"
    found = TRANSPORTS.get(config.mailbox.transport)
    if found is None or found.check_source is None:
        return [Check(what, False, "not configured")]
    return found.check_source(config, what)


def check_mail_out(config: Config) -> list[Check]:
    what = f"mail out ({config.mail_out.transport})"
    found = TRANSPORTS.get(config.mail_out.transport)
    if found is None or found.check_sender is None:
        return [Check(what, False, "not configured")]
    return found.check_sender(config, what)


__all__ = ["TRANSPORTS", "Check", "Transport", "check_mail_out", "check_mailbox", "open_sender", "open_source",
           "secret"]
