"""Loading and validating the TOML configuration.

Every problem becomes one :class:`ConfigError` line naming the file, the key, what is wrong and how to fix it,
e.g. ``config.toml: mailbox.imap.port: must be a whole number from 1 to 65535, got '993x' — write e.g. port = 993``.
Unknown keys are errors too (a typo must never silently fall back to a default).

With no file at all the *embedded default* applies: the Dorset policy, England's calendar, a local Maildir
folder and a SQLite file under ``./var`` — enough to run the bot with no server.

The ``[mailbox]`` and ``[mail_out]`` tables belong to the transports and are read by
:mod:`mailbot.transports.settings`; :mod:`mailbot.tables` is the strict reader both use.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

from parsers.authenticity import AuthPolicy
from rules.calendar import REGIONS, WorkingCalendar
from rules.coverage import Coverage, coverage
from rules.directory import EMAIL_RE, Directory, Person, normalise_role
from rules.errors import PolicyError
from rules.policy import Policy
from rules.presets import DEFAULT_PRESET, PRESETS, get_preset, policy_from_config

from .directory_csv import load_people_csv
from .errors import ConfigError
from .tables import Table, did_you_mean, kind, show
from .transports.settings import MailboxSettings, MailOutSettings, check_transports, mail_out_settings, mailbox_settings

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$")

#: Where the embedded default is named and what it treats as the council's mail domain (without a setting).
EMBEDDED_SOURCE = "(embedded default)"
EMBEDDED_DOMAIN = "example.gov.uk"
#: The one-line setting that gives the embedded default the council's own domain(s): ``MAILBOT_DOMAINS=x.gov.uk``.
DOMAINS_ENV = "MAILBOT_DOMAINS"


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
class ServiceSettings:
    tick_minutes: int = 5
    digest_day: str = "mon"  # APScheduler day_of_week: mon..sun
    digest_time: time = time(8, 0)  # Europe/London
    iro_quiet_working_days: int = 2  # after a manager's response, ask the IRO "resolved or escalate?" after this


@dataclass(frozen=True)
class ReportSettings:
    """``[reports]``: the addresses of report audiences (the roles the policy's reports are for, e.g. "SMT") that
    no person in the directory holds — a team's shared mailbox, a board's clerk. ``[reports.audiences]`` maps a
    role to its addresses; a role set here is sent to these addresses, not looked up in the directory."""

    audiences: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (role as written, addresses)

    def addresses(self, role: str) -> tuple[str, ...] | None:
        """The addresses set for ``role`` (compared as the directory compares roles), or None when not set."""
        key = normalise_role(role)
        return next((emails for name, emails in self.audiences if normalise_role(name) == key), None)


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
class SecuritySettings:
    """What proves who sent a mail (``parsers.authenticity``). Unproven mail is recorded and never obeyed.

    The defaults prove a council sender only by the evidence Exchange gives through Graph or EWS
    (``X-MS-Exchange-Organization-AuthAs: Internal``) and an outside sender only by a ``dmarc=pass`` from one of
    ``trusted_authserv_ids`` (none by default): a council names its gateway's authserv-id to accept more."""

    trusted_authserv_ids: tuple[str, ...] = ()
    trust_exchange_internal: bool = True
    external_requires: str = "dmarc"  # or "none": tests and trials only
    internal_requires: str = "proof"  # or "none": tests and trials only (the From line is believed)

    def policy(self, domains: tuple[str, ...]) -> AuthPolicy:
        return AuthPolicy(trusted_authserv_ids=frozenset(self.trusted_authserv_ids),
                          internal_domains=frozenset(domains), external_requires=self.external_requires,
                          trust_exchange_internal=self.trust_exchange_internal,
                          internal_requires=self.internal_requires)

    def explain(self) -> str:
        """One line for ``check-config``: what counts as proof of a sender."""
        if self.internal_requires == "none":
            council = "the From line is believed (trials and tests only)"
        else:
            ways = [f"a pass from {', '.join(self.trusted_authserv_ids)}"] if self.trusted_authserv_ids else []
            if self.trust_exchange_internal:
                ways.append("Exchange's own AuthAs: Internal (Graph, EWS)")
            council = " or ".join(ways) or "nothing (no sender can be proven: set [security])"
        if self.external_requires == "none":
            outside = "believed (trials and tests only)"
        elif self.trusted_authserv_ids:
            outside = f"a dmarc=pass from {', '.join(self.trusted_authserv_ids)}"
        else:
            outside = "nothing proves them (name trusted_authserv_ids)"
        return f"council senders proven by {council}; outside senders: {outside}"


@dataclass(frozen=True)
class Config:
    council_name: str
    domains: tuple[str, ...]
    policy: Policy
    calendar: CalendarSettings = CalendarSettings()
    mailbox: MailboxSettings = MailboxSettings()  # noqa: RUF009 - frozen, so a shared default is safe
    store: StoreSettings = StoreSettings()
    directory: DirectorySettings = DirectorySettings()
    mail_out: MailOutSettings = MailOutSettings()  # noqa: RUF009 - frozen, so a shared default is safe
    service: ServiceSettings = ServiceSettings()
    security: SecuritySettings = SecuritySettings()
    reports: ReportSettings = ReportSettings()
    log_level: str = "INFO"
    source: str = EMBEDDED_SOURCE
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def allows_address(self, email: str) -> bool:
        """True when mail may go to ``email``: its domain is one of the configured ones (or a subdomain)."""
        domain = email.rpartition("@")[2].lower()
        return any(domain == d or domain.endswith("." + d) for d in self.domains)

    @property
    def embedded(self) -> bool:
        """True for the embedded default (no configuration file)."""
        return self.source == EMBEDDED_SOURCE

    def embedded_notice(self) -> str | None:
        """For the embedded default, the one line said at start: which domain it treats as the council's, and the
        one-line setting for your own; ``None`` for a configuration file."""
        if not self.embedded:
            return None
        domains = ", ".join(self.domains)
        own = (f"set {DOMAINS_ENV}=yourcouncil.gov.uk to use your own" if domains == EMBEDDED_DOMAIN
               else f"from {DOMAINS_ENV}")
        return (f"embedded default: the council's mail domain is {domains} ({own}, or a config file: see "
                f"config.example.toml) — mail goes only to addresses there, and only senders there are obeyed")

    def coverage(self) -> Coverage:
        """Does the directory cover the policy: every team's line through every level (``check-config``)."""
        return coverage(self.directory.directory(), self.policy)


# --------------------------------------------------------------------------------------------- reading


# --------------------------------------------------------------------------------------------- sections


def _security(root: Table) -> SecuritySettings:
    t = root.table("security")
    if t is None:
        return SecuritySettings()
    ids = t.texts("trusted_authserv_ids", (), example="mx.council.gov.uk")
    settings = SecuritySettings(
        trusted_authserv_ids=tuple(i.lower() for i in ids),
        trust_exchange_internal=t.boolean("trust_exchange_internal", True),
        external_requires=t.text("external_requires", "dmarc", example="dmarc", choices=("dmarc", "none")),
        internal_requires=t.text("internal_requires", "proof", example="proof", choices=("proof", "none")),
    )
    t.finish()
    return settings


def _council(root: Table) -> tuple[str, tuple[str, ...]]:
    t = root.table("council", required=True)
    assert t is not None
    name = t.text("name", example="Dorset Council")
    domains = t.texts("domains", example="dorsetcouncil.gov.uk")
    if not domains:
        raise t.error("domains", "must name at least one mail domain: mail only ever goes to these",
                      'write e.g. domains = ["dorsetcouncil.gov.uk"]')
    for d in domains:
        if not DOMAIN_RE.match(d):
            raise t.error("domains", f"{show(d)} is not a mail domain", 'write e.g. domains = ["council.gov.uk"]')
    t.finish()
    return name, tuple(d.lower() for d in domains)


def _policy(root: Table) -> Policy:
    raw = root.data.get("policy")
    root.known.append("policy")
    if raw is None:
        return get_preset(DEFAULT_PRESET)
    if not isinstance(raw, Mapping):
        raise root.error("policy", f"must be a table, got {kind(raw)}", "write it as [policy]")
    data = dict(raw)
    if "preset" in data:
        if "base" in data:
            raise root.error("policy.preset", "cannot be given together with policy.base",
                             "keep one of them (they mean the same)")
        data["base"] = data.pop("preset")
        if not isinstance(data["base"], str) or data["base"] not in PRESETS:
            hint = did_you_mean(str(data["base"]), PRESETS) or DEFAULT_PRESET
            raise root.error("policy.preset", f"{show(data['base'])} is not a preset "
                             f"(presets: {', '.join(sorted(PRESETS))})", f'write e.g. preset = "{hint}"')
    try:
        return policy_from_config(data, where="policy")
    except PolicyError as exc:
        raise ConfigError(f"{root.source}: {exc}") from None


def _closures(t: Table) -> tuple[date, ...]:
    raw = t._get("closures", [])
    example = 'closures = ["2026-12-29..2026-12-31", 2027-04-01]'
    if not isinstance(raw, list):
        raise t.error("closures", f"must be a list of dates, got {show(raw)}", f"write e.g. {example}")
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
        raise t.error("closures", f"{show(item)} is not a date (YYYY-MM-DD) or a range (YYYY-MM-DD..YYYY-MM-DD)",
                      f"write e.g. {example}")
    return tuple(sorted(days))


def _calendar(root: Table) -> CalendarSettings:
    t = root.table("calendar")
    if t is None:
        return CalendarSettings()
    region = t.text("region", "england", example="england", choices=tuple(REGIONS))
    closures = _closures(t)
    t.finish()
    return CalendarSettings(region=region, closures=closures)


def _store(root: Table, base: Path) -> StoreSettings:
    t = root.table("store")
    if t is None:
        return StoreSettings(url=f"sqlite:///{base / 'var/iro-mailbot.db'}")
    url = t.text("url", "sqlite:///var/iro-mailbot.db", example="sqlite:///var/iro-mailbot.db")
    if "://" not in url:
        raise t.error("url", f"{show(url)} is not a database URL",
                      'write e.g. url = "sqlite:///var/iro-mailbot.db" or "postgresql+psycopg://…"')
    relative = url.removeprefix("sqlite:///")
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and relative not in ("", ":memory:"):
        url = f"sqlite:///{base / relative}"  # a relative path is taken from the config file's folder
    settings = StoreSettings(
        url=url,
        retention_days=t.integer("retention_days", 730, 30, 36500, unit="of days"),
        unmatched_retention_days=t.integer("unmatched_retention_days", 90, 7, 3650, unit="of days"),
    )
    t.finish()
    return settings


def _person(item: Any, where: str, source: str) -> Person:
    t = Table(item, where, source)
    email = t.text("email", example="tm.smith@council.gov.uk")
    if not EMAIL_RE.match(email):
        raise t.error("email", f"{show(email)} is not an email address", 'write e.g. email = "a.b@council.gov.uk"')
    reports_to = t.text("reports_to", None, example="sm.jones@council.gov.uk")
    if reports_to and not EMAIL_RE.match(reports_to):
        raise t.error("reports_to", f"{show(reports_to)} is not an email address",
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


def _directory(root: Table, base: Path) -> DirectorySettings:
    t = root.table("directory")
    if t is None:
        return DirectorySettings()
    csv_name = t.text("csv", None, example="people.csv")
    qa = t.emails("qa_managers")
    iro_tms = t.emails("iro_team_managers")
    raw_people = t._get("people", [])
    if not isinstance(raw_people, list):
        raise t.error("people", f"must be a list of tables, got {kind(raw_people)}",
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


def _reports(root: Table) -> ReportSettings:
    t = root.table("reports")
    if t is None:
        return ReportSettings()
    example = '"SMT" = ["smt@council.gov.uk"]'
    raw = t._get("audiences", {})
    if not isinstance(raw, Mapping):
        raise t.error("audiences", f"must be a table of roles and their addresses, got {kind(raw)}",
                      f"write it as [reports.audiences] with one line a role, e.g. {example}")
    audiences: list[tuple[str, tuple[str, ...]]] = []
    seen: dict[str, str] = {}
    for role, value in raw.items():
        path = f"reports.audiences.{role}" if re.fullmatch(r"[A-Za-z0-9_-]+", role) else f'reports.audiences."{role}"'
        line = f'"{role}" = ["name@council.gov.uk"]'
        where = f"{root.source}: {path}"
        key = normalise_role(role)
        if not key:
            raise ConfigError(f"{where}: the role is empty — write the role as the policy names it, e.g. {example}")
        if key in seen:
            raise ConfigError(f"{where}: is the same role as {seen[key]!r} — keep one line for it")
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: must be a list of email addresses, got {show(value)} — write e.g. {line}")
        emails = tuple(v.strip().lower() for v in value)
        for email in emails:
            if not EMAIL_RE.match(email):
                raise ConfigError(f"{where}: {show(email)} is not an email address — write e.g. {line}")
        seen[key] = role
        audiences.append((role, emails))
    t.finish()
    return ReportSettings(audiences=tuple(audiences))


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _service(root: Table) -> ServiceSettings:
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
    root = Table(data, "", source)
    council_name, domains = _council(root)
    policy = _policy(root)
    calendar = _calendar(root)
    mailbox = mailbox_settings(root, base)
    if "mailbox" not in data:  # no [mailbox]: the shared mailbox is iro-escalations@ the council's domain
        mailbox = replace(mailbox, address=f"iro-escalations@{domains[0]}")
    store = _store(root, base)
    directory = _directory(root, base)
    mail_out = mail_out_settings(root, base)
    check_transports(mailbox, mail_out, source)
    service = _service(root)
    security = _security(root)
    reports = _reports(root)
    log_t = root.table("logging")
    level = "INFO"
    if log_t is not None:
        level = log_t.text("level", "INFO", example="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
        log_t.finish()
    root.finish()
    warnings = []
    if (security.internal_requires != "none" and not security.trusted_authserv_ids
            and mailbox.transport not in ("graph", "ews")):
        warnings.append("security: no trusted_authserv_ids, and only Graph or EWS show Exchange's own evidence — no "
                        "sender can be proven, so no command is obeyed; name your gateway's authserv-id")
    for email in (*directory.qa_managers, *directory.iro_team_managers, *(p.email for p in directory.people)):
        if not any(email.endswith("@" + d) or email.endswith("." + d) for d in domains):
            warnings.append(f"{email} is outside council.domains: the bot will not mail them")
    return Config(council_name=council_name, domains=domains, policy=policy, calendar=calendar, mailbox=mailbox,
                  store=store, directory=directory, mail_out=mail_out, service=service, security=security,
                  reports=reports, log_level=level, source=source, warnings=tuple(warnings))


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


def embedded_default(base: Path | None = None, domains: str | Sequence[str] | None = None) -> Config:
    """The configuration used when no file is given: no server needed (Maildir + SQLite under ./var).

    Its council's mail domain is ``example.gov.uk`` unless ``domains`` names the council's own (the value of
    ``$MAILBOT_DOMAINS``: ``"council.gov.uk"`` or ``"a.gov.uk,b.gov.uk"``); the shared mailbox is then
    ``iro-escalations@`` the first of them. Mail goes only to those domains and only their senders are obeyed:
    senders outside them are outsiders (``rules.authority``), whatever ``[security]`` believes of their From line."""
    names = [d.strip().lower() for d in (domains.split(",") if isinstance(domains, str) else domains or ())]
    names = [d for d in names if d]
    for d in names:
        if not DOMAIN_RE.match(d):
            raise ConfigError(f"{DOMAINS_ENV}: {show(d)} is not a mail domain — write e.g. "
                              f"{DOMAINS_ENV}=yourcouncil.gov.uk (several: a.gov.uk,b.gov.uk)")
    data: dict[str, Any] = {
        "council": {"name": "Example Council (embedded default)", "domains": names or [EMBEDDED_DOMAIN]},
        # a trial on a local folder has no mail gateway to vouch for senders: the From line is believed (said so
        # by check-config); forged-looking mail is still refused, and a sender outside the domains is still an
        # outsider who may do nothing
        "security": {"internal_requires": "none", "external_requires": "none"}}
    return parse_config(data, source=EMBEDDED_SOURCE, base=base or Path.cwd())
