"""Loading and validating the TOML configuration.

Every problem becomes one :class:`ConfigError` line naming the file, the key, what is wrong and how to fix it,
e.g. ``config.toml: mailbox.imap.port: must be a whole number from 1 to 65535, got '993x' — write e.g. port = 993``.
Unknown keys are errors too (a typo must never silently fall back to a default).

With no file at all the *embedded default* applies: the Dorset policy, England's calendar, a local Maildir
folder and a SQLite file under ``./var`` — enough to run the bot with no server.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

from rules.calendar import REGIONS, WorkingCalendar
from rules.directory import EMAIL_RE, Directory, Person
from rules.errors import PolicyError
from rules.policy import Policy
from rules.presets import DEFAULT_PRESET, PRESETS, get_preset, policy_from_config

from .directory_csv import load_people_csv
from .errors import ConfigError

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$")
TRANSPORTS = ("maildir", "imap", "graph", "ews")
SECURITY = ("tls", "starttls", "none")  # implicit TLS, STARTTLS, or plain text (loopback and tests only)
AUTH = ("password", "xoauth2")
EWS_AUTH = ("ntlm", "basic", "oauth")
_MISSING = object()


# --------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class DirectorySettings:
    people: tuple[Person, ...] = ()
    qa_managers: tuple[str, ...] = ()
    iro_team_managers: tuple[str, ...] = ()
    csv_path: Path | None = None

    def person(self, email: str) -> Person | None:
        return self.directory().person(email)

    def directory(self) -> Directory:
        """The people as a :class:`rules.directory.Directory` (who is next, who is copied)."""
        return Directory(self.people, self.qa_managers, self.iro_team_managers)


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


@dataclass(frozen=True)
class ServiceSettings:
    tick_minutes: int = 5
    digest_day: str = "mon"  # APScheduler day_of_week: mon..sun
    digest_time: time = time(8, 0)  # Europe/London
    iro_quiet_working_days: int = 2  # after a manager's response, ask the IRO "resolved or escalate?" after this


@dataclass(frozen=True)
class StoreSettings:
    url: str = "sqlite:///var/iro-mailbot.db"
    retention_days: int = 730
    unmatched_retention_days: int = 90


@dataclass(frozen=True)
class CalendarSettings:
    region: str = "england"
    closures: tuple[date, ...] = ()

    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(self.region, self.closures)


@dataclass(frozen=True)
class Config:
    council_name: str
    domains: tuple[str, ...]
    policy: Policy
    calendar: CalendarSettings = CalendarSettings()
    mailbox: MailboxSettings = MailboxSettings()
    store: StoreSettings = StoreSettings()
    directory: DirectorySettings = DirectorySettings()
    mail_out: MailOutSettings = MailOutSettings()
    service: ServiceSettings = ServiceSettings()
    log_level: str = "INFO"
    source: str = "(embedded default)"
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def allows_address(self, email: str) -> bool:
        """True when mail may go to ``email``: its domain is one of the configured ones (or a subdomain)."""
        domain = email.rpartition("@")[2].lower()
        return any(domain == d or domain.endswith("." + d) for d in self.domains)


# --------------------------------------------------------------------------------------------- reading


class _Table:
    """Strict reader of one TOML table: typed getters, and unknown keys reported at the end."""

    def __init__(self, data: Any, where: str, source: str) -> None:
        self.where = where
        self.source = source
        if not isinstance(data, Mapping):
            raise self.error(None, f"must be a table, got {_kind(data)}", f"write it as [{where}]")
        self.data = dict(data)
        self.known: list[str] = []

    def path(self, key: str | None) -> str:
        if key is None:
            return self.where
        return f"{self.where}.{key}" if self.where else key

    def error(self, key: str | None, problem: str, fix: str) -> ConfigError:
        return ConfigError(f"{self.source}: {self.path(key)}: {problem} — {fix}")

    def _get(self, key: str, default: Any) -> Any:
        self.known.append(key)
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise self.error(key, "is required", f"add {key} = … under [{self.where}]")
            return default
        return value

    def text(self, key: str, default: Any = _MISSING, *, example: str, choices: tuple[str, ...] = ()) -> Any:
        value = self._get(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be a non-empty text, got {_show(value)}", f'write e.g. {key} = "{example}"')
        value = value.strip()
        if choices and value not in choices:
            hint = _did_you_mean(value, choices)
            raise self.error(key, f"{_show(value)} is not one of {', '.join(choices)}",
                             f'write e.g. {key} = "{hint or choices[0]}"')
        return value

    def integer(self, key: str, default: Any, lo: int, hi: int, *, unit: str = "") -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            what = f" {unit}" if unit else ""
            raise self.error(key, f"must be a whole number{what} from {lo} to {hi}, got {_show(value)}",
                             f"write e.g. {key} = {default if isinstance(default, int) else lo}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {_show(value)}", f"write {key} = true or {key} = false")
        return value

    def texts(self, key: str, default: tuple[str, ...] = (), *, example: str) -> tuple[str, ...]:
        value = self._get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.error(key, f"must be a list of texts, got {_show(value)}", f'write e.g. {key} = ["{example}"]')
        return tuple(v.strip() for v in value)

    def emails(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        values = self.texts(key, default, example="name@council.gov.uk")
        for v in values:
            if not EMAIL_RE.match(v):
                raise self.error(key, f"{_show(v)} is not an email address",
                                 f'write e.g. {key} = ["name@council.gov.uk"]')
        return tuple(v.lower() for v in values)

    def table(self, key: str, *, required: bool = False) -> _Table | None:
        value = self._get(key, _MISSING if required else None)
        return None if value is None else _Table(value, self.path(key), self.source)

    def finish(self) -> None:
        for key in self.data:
            if key not in self.known:
                hint = _did_you_mean(key, self.known)
                fix = f"did you mean '{hint}'?" if hint else "remove it"
                allowed = ", ".join(sorted(set(self.known))) or "nothing"
                raise self.error(key, f"unknown key (allowed here: {allowed})", fix)


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a text", bool: "true/false", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _did_you_mean(word: str, options: Any) -> str | None:
    found = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return found[0] if found else None


# --------------------------------------------------------------------------------------------- sections


def _council(root: _Table) -> tuple[str, tuple[str, ...]]:
    t = root.table("council", required=True)
    assert t is not None
    name = t.text("name", example="Dorset Council")
    domains = t.texts("domains", example="dorsetcouncil.gov.uk")
    if not domains:
        raise t.error("domains", "must name at least one mail domain: mail only ever goes to these",
                      'write e.g. domains = ["dorsetcouncil.gov.uk"]')
    for d in domains:
        if not DOMAIN_RE.match(d):
            raise t.error("domains", f"{_show(d)} is not a mail domain", 'write e.g. domains = ["council.gov.uk"]')
    t.finish()
    return name, tuple(d.lower() for d in domains)


def _policy(root: _Table) -> Policy:
    raw = root.data.get("policy")
    root.known.append("policy")
    if raw is None:
        return get_preset(DEFAULT_PRESET)
    if not isinstance(raw, Mapping):
        raise root.error("policy", f"must be a table, got {_kind(raw)}", "write it as [policy]")
    data = dict(raw)
    if "preset" in data:
        if "base" in data:
            raise root.error("policy.preset", "cannot be given together with policy.base",
                             "keep one of them (they mean the same)")
        data["base"] = data.pop("preset")
        if not isinstance(data["base"], str) or data["base"] not in PRESETS:
            hint = _did_you_mean(str(data["base"]), PRESETS) or DEFAULT_PRESET
            raise root.error("policy.preset", f"{_show(data['base'])} is not a preset "
                             f"(presets: {', '.join(sorted(PRESETS))})", f'write e.g. preset = "{hint}"')
    try:
        return policy_from_config(data, where="policy")
    except PolicyError as exc:
        raise ConfigError(f"{root.source}: {exc}") from None


def _closures(t: _Table) -> tuple[date, ...]:
    raw = t._get("closures", [])
    example = 'closures = ["2026-12-29..2026-12-31", 2027-04-01]'
    if not isinstance(raw, list):
        raise t.error("closures", f"must be a list of dates, got {_show(raw)}", f"write e.g. {example}")
    days: set[date] = set()
    for item in raw:
        if isinstance(item, date):
            days.add(item)
            continue
        if isinstance(item, str):
            start_s, sep, end_s = item.partition("..")
            try:
                start = date.fromisoformat(start_s.strip())
                end = date.fromisoformat(end_s.strip()) if sep else start
            except ValueError:
                start = end = None  # type: ignore[assignment]
            if start and end and start <= end and (end - start).days <= 366:
                days.update(start + timedelta(n) for n in range((end - start).days + 1))
                continue
        raise t.error("closures", f"{_show(item)} is not a date (YYYY-MM-DD) or a range (YYYY-MM-DD..YYYY-MM-DD)",
                      f"write e.g. {example}")
    return tuple(sorted(days))


def _calendar(root: _Table) -> CalendarSettings:
    t = root.table("calendar")
    if t is None:
        return CalendarSettings()
    region = t.text("region", "england", example="england", choices=tuple(REGIONS))
    closures = _closures(t)
    t.finish()
    return CalendarSettings(region=region, closures=closures)


def _mailbox(root: _Table, base: Path) -> MailboxSettings:
    t = root.table("mailbox")
    if t is None:
        return MailboxSettings(maildir=base / "var/mailbox")
    transport = t.text("transport", "maildir", example="imap", choices=TRANSPORTS)
    address = t.text("address", example="iro-escalations@council.gov.uk")
    if not EMAIL_RE.match(address):
        raise t.error("address", f"{_show(address)} is not an email address",
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


def _graph(t: _Table, address: str, base: Path) -> GraphSettings | None:
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


def _ews(t: _Table, address: str) -> EwsSettings | None:
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
        raise e.error("oauth_scope", f"{_show(scope)} is not an app-only scope",
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


def _store(root: _Table, base: Path) -> StoreSettings:
    t = root.table("store")
    if t is None:
        return StoreSettings(url=f"sqlite:///{base / 'var/iro-mailbot.db'}")
    url = t.text("url", "sqlite:///var/iro-mailbot.db", example="sqlite:///var/iro-mailbot.db")
    if "://" not in url:
        raise t.error("url", f"{_show(url)} is not a database URL",
                      'write e.g. url = "sqlite:///var/iro-mailbot.db" or "postgresql+psycopg://…"')
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = f"sqlite:///{base / url.removeprefix('sqlite:///')}"
    settings = StoreSettings(
        url=url,
        retention_days=t.integer("retention_days", 730, 30, 36500, unit="of days"),
        unmatched_retention_days=t.integer("unmatched_retention_days", 90, 7, 3650, unit="of days"),
    )
    t.finish()
    return settings


def _person(item: Any, where: str, source: str) -> Person:
    t = _Table(item, where, source)
    email = t.text("email", example="tm.smith@council.gov.uk")
    if not EMAIL_RE.match(email):
        raise t.error("email", f"{_show(email)} is not an email address", 'write e.g. email = "a.b@council.gov.uk"')
    reports_to = t.text("reports_to", None, example="sm.jones@council.gov.uk")
    if reports_to and not EMAIL_RE.match(reports_to):
        raise t.error("reports_to", f"{_show(reports_to)} is not an email address",
                      "write the line manager's email address")
    person = Person(
        email=email.lower(),
        name=t.text("name", example="Alex Smith"),
        role=t.text("role", example="Team Manager"),
        reports_to=reports_to.lower() if reports_to else None,
        team=t.text("team", "", example="Children in Care East"),
    )
    t.finish()
    return person


def _directory(root: _Table, base: Path) -> DirectorySettings:
    t = root.table("directory")
    if t is None:
        return DirectorySettings()
    csv_name = t.text("csv", None, example="people.csv")
    qa = t.emails("qa_managers")
    iro_tms = t.emails("iro_team_managers")
    raw_people = t._get("people", [])
    if not isinstance(raw_people, list):
        raise t.error("people", f"must be a list of tables, got {_kind(raw_people)}",
                      "write each person as [[directory.people]] with email, name and role")
    people = [_person(item, f"directory.people[{i}]", root.source) for i, item in enumerate(raw_people)]
    csv_path = None
    if csv_name:
        csv_path = base / csv_name
        people.extend(load_people_csv(csv_path, label=f"{root.source}: directory.csv ({csv_path})"))
    seen: set[str] = set()
    for p in people:
        if p.email in seen:
            raise t.error("people", f"{p.email} is listed twice", "keep one entry per person")
        seen.add(p.email)
    problems = Directory(tuple(people), qa, iro_tms).problems()
    if problems:
        raise ConfigError(f"{root.source}: {problems[0]}")
    t.finish()
    return DirectorySettings(people=tuple(people), qa_managers=qa, iro_team_managers=iro_tms, csv_path=csv_path)


OUT_TRANSPORTS = ("maildir", "smtp", "graph", "ews")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _mail_out(root: _Table, base: Path) -> MailOutSettings:
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


def _service(root: _Table) -> ServiceSettings:
    t = root.table("service")
    if t is None:
        return ServiceSettings()
    tick = t.integer("tick_minutes", 5, 1, 120, unit="minutes")
    day = t.text("digest_day", "mon", example="mon", choices=DAYS)
    at = t.text("digest_time", "08:00", example="08:00")
    try:
        hour, minute = (int(x) for x in str(at).split(":"))
        digest_time = time(hour, minute)
    except ValueError:
        raise t.error("digest_time", f"{at!r} is not a time of day", 'write it as HH:MM, e.g. "08:00"') from None
    quiet = t.integer("iro_quiet_working_days", 2, 1, 20, unit="working days")
    t.finish()
    return ServiceSettings(tick_minutes=tick, digest_day=day, digest_time=digest_time, iro_quiet_working_days=quiet)


# --------------------------------------------------------------------------------------------- entry points


def parse_config(data: Mapping[str, Any], *, source: str = "config", base: Path | None = None) -> Config:
    """Build a :class:`Config` from TOML-shaped data. Relative paths are taken from ``base``."""
    base = base or Path.cwd()
    root = _Table(data, "", source)
    council_name, domains = _council(root)
    policy = _policy(root)
    calendar = _calendar(root)
    mailbox = _mailbox(root, base)
    store = _store(root, base)
    directory = _directory(root, base)
    mail_out = _mail_out(root, base)
    if mail_out.transport in ("graph", "ews") and getattr(mailbox, mail_out.transport) is None:
        raise ConfigError(f"{source}: mail_out.transport: \"{mail_out.transport}\" sends through the mailbox's "
                          f"connection — add a [mailbox.{mail_out.transport}] table (see config.example.toml)")
    if mail_out.smtp is not None and mail_out.smtp.auth == "xoauth2" and mailbox.graph is None:
        raise ConfigError(f"{source}: mail_out.smtp.auth: \"xoauth2\" takes its token from the app registration "
                          "— add a [mailbox.graph] table with tenant_id, client_id and client_secret_env")
    service = _service(root)
    log_t = root.table("logging")
    level = "INFO"
    if log_t is not None:
        level = log_t.text("level", "INFO", example="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
        log_t.finish()
    root.finish()
    warnings = []
    for email in (*directory.qa_managers, *directory.iro_team_managers, *(p.email for p in directory.people)):
        if not any(email.endswith("@" + d) or email.endswith("." + d) for d in domains):
            warnings.append(f"{email} is outside council.domains: the bot will not mail them")
    return Config(council_name=council_name, domains=domains, policy=policy, calendar=calendar, mailbox=mailbox,
                  store=store, directory=directory, mail_out=mail_out, service=service, log_level=level,
                  source=source, warnings=tuple(warnings))


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; every problem is one ConfigError line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file — copy config.example.toml there and edit it") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc}) — check the path and that it is UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}) — fix the line it names") from None
    return parse_config(data, source=str(path), base=path.parent.resolve())


def embedded_default(base: Path | None = None) -> Config:
    """The configuration used when no file is given: no server needed (Maildir + SQLite under ./var)."""
    return parse_config(
        {"council": {"name": "Example Council (embedded default)", "domains": ["example.gov.uk"]}},
        source="(embedded default)",
        base=base or Path.cwd(),
    )
