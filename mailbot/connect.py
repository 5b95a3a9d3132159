"""`mailbot check-config --connect`: try every configured connection and say, in plain words, what works.

Nothing is changed and nothing is sent: the store is opened (not migrated), the mailbox is logged in to and its
folder opened, the outgoing server is connected to and logged in to. Each check gives lines that start with
``ok:`` or ``missing:``; a council's IT reads them top to bottom and fixes the first ``missing``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from .config import Config
from .errors import MailbotError


@dataclass(frozen=True)
class Check:
    what: str  # "store", "mailbox (imap)", "mail out (smtp)", ...
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok' if self.ok else 'missing'}: {self.what}: {self.detail}"


def _line(what: str, line: str) -> Check:
    """A transport's own check line ("ok   folder: …", "FAILED login: …", "missing: …", "note: …") as a Check."""
    status, _, rest = line.strip().partition(" ")
    status = status.rstrip(":").lower()
    if status in ("ok", "failed", "missing", "note", "info"):
        return Check(what, status not in ("failed", "missing"), rest.strip())
    return Check(what, True, line.strip())


def _guard(what: str, probe: Callable[[], list[Check]]) -> list[Check]:
    try:
        return probe()
    except MailbotError as exc:  # transport errors are written for people already
        return [Check(what, False, str(exc))]
    except Exception as exc:  # anything else: say what kind of failure, never a traceback
        return [Check(what, False, f"{type(exc).__name__}: {exc}")]


def _env(what: str, name: str | None, key: str) -> list[Check]:
    if not name:
        return []
    if os.environ.get(name):
        return [Check(what, True, f"the environment variable {name} ({key}) is set")]
    return [Check(what, False, f"the environment variable {name} ({key}) is not set — export it before starting")]


def check_store(config: Config) -> list[Check]:
    def probe() -> list[Check]:
        from sqlalchemy.engine import make_url

        from store import migrate

        url = make_url(config.store.url)
        head = migrate.head()
        if url.get_backend_name() == "sqlite" and url.database and not os.path.exists(url.database):
            return [Check("store", True, f"{url.database} will be created (permissions 0600) on the first run")]
        current = migrate.current(config.store.url)
        if current == head:
            return [Check("store", True, f"database reachable, schema at {head}")]
        return [Check("store", True, f"database reachable; schema {current or 'not created'} → `mailbot db upgrade` "
                                     f"(or `mailbot run`) brings it to {head}")]

    return _guard("store", probe)


def check_mailbox(config: Config) -> list[Check]:
    mb = config.mailbox
    what = f"mailbox ({mb.transport})"
    if mb.transport == "maildir":
        path = mb.maildir
        parent = path if path.exists() else path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        writable = os.access(parent, os.W_OK)
        state = "can be used" if writable else "cannot be created here (permissions)"
        return [Check(what, writable, f"{path} {state}")]
    if mb.transport == "imap" and mb.imap is not None:
        imap = mb.imap
        lines = [] if imap.auth == "xoauth2" else _env(what, imap.password_env, "mailbox.imap.password_env")
        if any(not c.ok for c in lines):
            return lines

        def probe() -> list[Check]:
            from .service import open_source

            source = open_source(config)
            try:
                list(source.fetch(None, limit=0))  # logs in and opens the folder; reads nothing
            finally:
                source.close()
            return [Check(what, True, f"logged in to {imap.host}:{imap.port} as {imap.username}; folder "
                                      f"{imap.folder!r} opened")]

        return lines + _guard(what, probe)
    if mb.transport == "graph" and mb.graph is not None:
        from .transports import graph

        graph_settings = mb.graph
        return _guard(what, lambda: [_line(what, line)
                                     for line in graph.check(graph.client_from_settings(graph_settings))])
    if mb.transport == "ews" and mb.ews is not None:
        ews_settings = mb.ews
        oauth = ews_settings.auth_type == "oauth"
        if oauth:  # the token comes from the [mailbox.graph] app registration
            lines = _env(what, mb.graph.client_secret_env if mb.graph else None, "mailbox.graph.client_secret_env")
        else:
            lines = _env(what, ews_settings.password_env, "mailbox.ews.password_env")
        if any(not c.ok for c in lines):
            return lines
        from .transports import ews

        def probe_ews() -> list[Check]:
            if oauth:
                if mb.graph is None:
                    raise MailbotError('mailbox.ews.auth_type: "oauth" needs a [mailbox.graph] app registration')
                from .transports.msauth import TokenProvider

                account = ews.open_account(ews_settings, token_provider=TokenProvider(mb.graph))
            else:
                account = ews.open_account(ews_settings, ews_settings.password())
            lines = ews.check(account, ews_settings.folder,
                              [ews_settings.processed_folder, ews_settings.attention_folder])
            return [_line(what, line) for line in lines]

        return lines + _guard(what, probe_ews)
    return [Check(what, False, "not configured")]


def check_mail_out(config: Config) -> list[Check]:
    out = config.mail_out
    what = f"mail out ({out.transport})"
    if out.transport == "maildir":
        return [Check(what, True, f"mail is written to {out.maildir} and does not leave this machine")]
    if out.transport == "smtp" and out.smtp is not None:
        smtp = out.smtp
        lines = [] if smtp.auth == "xoauth2" else _env(what, smtp.password_env, "mail_out.smtp.password_env")
        if any(not c.ok for c in lines):
            return lines

        def probe() -> list[Check]:
            from .sending import open_sender

            sender = open_sender(config)
            sender.open()  # connects, STARTTLS, logs in: nothing is sent
            sender.close()
            login = f" and logged in as {smtp.username}" if smtp.username else " (no login configured)"
            return [Check(what, True, f"connected to {smtp.host}:{smtp.port} ({smtp.security}){login}")]

        return lines + _guard(what, probe)
    if out.transport in ("graph", "ews"):
        return [Check(what, True, "sends through the mailbox connection checked above (sending itself is not tried)")]
    return [Check(what, False, "not configured")]


def check_all(config: Config) -> list[Check]:
    return [*check_store(config), *check_mailbox(config), *check_mail_out(config)]


__all__ = ["Check", "check_all", "check_mail_out", "check_mailbox", "check_store"]
