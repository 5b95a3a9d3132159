"""The QA managers' digest and the policy's reports: snapshots from the store, figures (:mod:`rules.digest`),
rendering, queueing.

    figures = build_digest(uow, config, "week", now)
    rendered = render_digest(figures, config)      # subject, text, HTML, CSV (UTF-8 with BOM, for Excel)
    queue_digest(uow, config, "week", now)         # once per period: key digest.week.2026-11-29

    report = find_report(config.policy, "monthly")            # a policy's report, by name or cadence
    queue_report(uow, config, report, now)         # once per (report, period): key report.monthly-themes.2026-11-30

The digest goes only to ``directory.qa_managers``. A report (``policy.reports``: a cadence, an audience of roles, a
kind) goes to its audience: each role is looked up in ``[reports.audiences]`` first, then in the directory (the
people with that role; "QA Manager" and "IRO Team Manager" also mean the ``[directory]`` lists). A role nobody
answers to sends the report to the QA managers instead, its first line saying so and how to set the address
(:func:`report_check_lines` lists such roles for ``check-config``). Every report carries its figures in the mail
(themes and outcomes, counts only) and the tracker as an XLSX (:mod:`mailbot.mail_out.tracker`) with the same rows
as CSV beside it; the attachments name children, so nothing from them is logged at INFO or above except counts and
the key. Mail goes only to the council's domains (:func:`~mailbot.mail_out.outbox.queue_mail`).

Templates: ``digest.*`` and ``report.*`` (``.subject.j2``, ``.txt.j2``, ``.html.j2``, the HTML extending the shared
``_layout.html.j2``), looked up first in the folder ``mail_out.templates`` when set, then in the built-in
``mailbot/mail_out/templates``.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import jinja2

from mailbot.config import Config
from rules.calendar import LONDON, london_date
from rules.digest import (
    OUTCOME_WORDS,
    AttentionMail,
    DigestFigures,
    EscalationLine,
    Period,
    RecordSnapshot,
    StageSnapshot,
    cadence_period,
    compute_digest,
    outcome_words,
    period_containing,
    period_ending,
    short_day,
)
from rules.directory import IRO_ROLES, IRO_TEAM_MANAGER, QA_MANAGER, normalise_role, roles_match
from rules.policy import Policy
from rules.procedure import Report
from store.models import Escalation, Message, OutboxMail
from store.uow import UnitOfWork

from . import compose
from .outbox import Attachment, queue_mail
from .tracker import XLSX_TYPE, tracker_xlsx

log = logging.getLogger(__name__)

BUILT_IN = compose.BUILT_IN

CSV_COLUMNS = (
    "reference", "status", "level", "role", "addressee", "children", "case numbers", "opened", "due",
    "responded", "closed", "outcome", "working days open", "overdue working days", "themes", "IRO",
    "outcome text",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    text: str
    html: str
    csv_bytes: bytes
    csv_filename: str


# ------------------------------------------------------------------------------------------------- snapshots


def snapshot(esc: Escalation) -> RecordSnapshot:
    """A plain, frozen copy of one record and its stages."""
    stages = tuple(
        StageSnapshot(
            level=s.level, role=s.role, started_at=s.started_at, started_on=s.started_on, due_on=s.due_on,
            responded_at=s.responded_at, ended_at=s.ended_at, outcome=s.outcome,
            addressee_email=s.addressee_email, addressee_name=s.addressee_name,
        )
        for s in sorted(esc.stages, key=lambda s: (s.started_at, s.id or 0))
    )
    return RecordSnapshot(
        reference=esc.reference or f"#{esc.id}", status=esc.status, opened_at=esc.opened_at,
        current_level=esc.current_level, stages=stages, outcome=esc.outcome, closed_at=esc.closed_at,
        process_started_on=esc.process_started_on, children=tuple(esc.children or ()),
        case_numbers=tuple(esc.case_number_values), themes=tuple(esc.themes or ()),
        iro=esc.iro_name or esc.iro_email, outcome_text=esc.outcome_text,
    )


def attention_snapshot(msg: Message) -> AttentionMail:
    return AttentionMail(received_at=msg.received_at, from_email=msg.from_email, from_name=msg.from_name,
                         subject=msg.subject, reason=msg.attention_reason)


def unsent_snapshot(row: OutboxMail) -> AttentionMail:
    """A mail of the bot's own that never went (given up after retries, or no recipient allowed)."""
    why = "given up after repeated failures" if row.status == "failed" else "refused"
    detail = f": {row.last_error}" if row.last_error else ""
    return AttentionMail(received_at=row.created_at, from_email=row.from_email, from_name="iro-mailbot (not sent)",
                         subject=row.subject, reason=f"the bot could not send this mail, {why}{detail}")


def _period(period: str | Period, now: datetime) -> Period:
    return period if isinstance(period, Period) else period_ending(period, now)


def build_digest(uow: UnitOfWork, config: Config, period: str | Period, now: datetime,
                 records: list[RecordSnapshot] | None = None) -> DigestFigures:
    """The digest's figures from the store as at ``now`` (aware) for the period (one of ``rules.digest.PERIODS``)
    ending before it (or the :class:`Period` given). ``records``: snapshots already taken in this unit of work."""
    if records is None:
        records = [snapshot(e) for e in uow.escalations.list()]
    attention = [attention_snapshot(m) for m in uow.messages.attention()]
    attention += [unsent_snapshot(r) for r in uow.outbox.by_status("failed", "refused")
                  if not r.key.startswith("digest.")]
    return compute_digest(records, attention, _period(period, now), now, config.policy,
                          config.calendar.calendar())


# ------------------------------------------------------------------------------------------------- rendering


def _day(value: date | None) -> str:
    return short_day(value) if value is not None else "—"


def _when(value: datetime | None) -> str:
    """``30 Nov 2026 09:15`` in London."""
    if value is None:
        return "—"
    local = value.astimezone(LONDON)
    return f"{short_day(local.date())} {local:%H:%M}"


def _median(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _outcome(value: str | None) -> str:
    return outcome_words(value)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{int(share * 100 + 0.5)}%"  # half up, as a spreadsheet's 0% shows it


def environment(config: Config) -> jinja2.Environment:
    """The mails' Jinja2 environment (:func:`mailbot.mail_out.compose.environment`: the council's folder first) with the
    digest's own filters."""
    env = compose.environment(config.mail_out.templates)
    env.filters.update(day=_day, when=_when, median=_median, plural=_plural, percent=_percent, outcome=_outcome,
                       share=_share)
    return env


def _share(count: int, total: int) -> str:
    """``3 of 5`` as ``60%``; ``—`` of nothing."""
    return _percent(count / total if total else None)


def digest_subject(figures: DigestFigures, config: Config) -> str:
    """The digest's subject line, from ``digest.subject.j2``."""
    return compose.render_subject(environment(config), "digest", {"figures": figures, "period": figures.period})


def csv_rows(figures: DigestFigures) -> list[list[str]]:
    """The CSV's rows (header first), as text."""
    rows = [list(CSV_COLUMNS)]
    for ln in figures.rows:
        rows.append([
            ln.reference, ln.status, ln.level_label, ln.role, ln.addressee, "; ".join(ln.children),
            "; ".join(ln.case_numbers), _iso(ln.opened_on), _iso(ln.due_on), _iso(ln.responded_on),
            _iso(ln.closed_on), ln.outcome or "", str(ln.working_days_open),
            "" if ln.overdue_working_days is None else str(ln.overdue_working_days), "; ".join(ln.themes),
            ln.iro or "", ln.outcome_text or "",
        ])
    return rows


def _iso(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def _cell(value: str) -> str:
    """Text that a spreadsheet will not run as a formula (a child's name or subject comes from a mail)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def digest_csv(figures: DigestFigures) -> bytes:
    """One row per escalation in the digest, UTF-8 with a byte-order mark so Excel reads the names right."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, dialect="excel")
    for row in csv_rows(figures):
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def render_digest(figures: DigestFigures, config: Config) -> RenderedDigest:
    """Subject, plain text, Outlook-safe HTML and the CSV attachment of the digest."""
    env = environment(config)
    subject = digest_subject(figures, config)
    context = {
        "council": config.council_name,
        "mailbox": config.mailbox.address,
        "policy": config.policy,
        "figures": figures,
        "period": figures.period,
        "subject": subject,
        "title": subject,
        "state_colours": {"overdue": "#b42318", "due soon": "#b54708"},
    }
    text = env.get_template("digest.txt.j2").render(**context)
    html = env.get_template("digest.html.j2").render(**context)
    filename = f"iro-escalations-{figures.period.kind}-{figures.period.last_day.isoformat()}.csv"
    return RenderedDigest(subject=subject, text=text.strip() + "\n", html=html, csv_bytes=digest_csv(figures),
                          csv_filename=filename)


# ------------------------------------------------------------------------------------------------- queueing


def digest_key(period: Period) -> str:
    """The outbox key: one digest per period, ``digest.week.2026-11-29`` (the period's last day)."""
    return f"digest.{period.kind}.{period.last_day.isoformat()}"


def queue_digest(uow: UnitOfWork, config: Config, period: str | Period, now: datetime) -> OutboxMail | None:
    """Queue the digest to every QA manager, once per period; the queued row (the existing one when this period's
    digest is queued already), or None when ``directory.qa_managers`` is empty."""
    resolved = _period(period, now)
    key = digest_key(resolved)
    recipients = list(config.directory.qa_managers)
    if not recipients:
        log.warning("digest not queued: no QA managers configured (set directory.qa_managers) key=%s", key)
        return None
    existing = uow.outbox.get(key)
    if existing is not None:
        log.info("digest already queued key=%s status=%s", key, existing.status)
        return existing
    figures = build_digest(uow, config, resolved, now)
    rendered = render_digest(figures, config)
    row = queue_mail(
        uow, config, key=key, kind="digest", to=recipients, subject=rendered.subject, text=rendered.text,
        html=rendered.html, attachments=[Attachment(rendered.csv_filename, "text/csv", rendered.csv_bytes)],
        now=now,
    )
    log.info("digest queued key=%s open=%d overdue=%d due_soon=%d attention=%d recipients=%d", key,
             figures.open_count, len(figures.overdue), len(figures.due_soon), figures.attention_count,
             len(recipients))
    return row


# ------------------------------------------------------------------------------------------------- reports

#: What each kind of report is called in its subject and heading.
REPORT_TITLES = {"themes": "themes and outcomes", "tracker": "tracker", "annual": "annual report summary"}
_SLUG = re.compile(r"[^a-z0-9]+")


class ReportNotFound(ValueError):
    """A report name or cadence the policy does not have (the message lists the ones it has)."""


@dataclass(frozen=True)
class Audience:
    """Who a role of a report's audience is: addresses from ``[reports.audiences]`` or the directory, or nobody."""

    role: str
    addresses: tuple[str, ...]
    source: str  # "reports.audiences" | "directory" | "" (nobody)

    @property
    def found(self) -> bool:
        return bool(self.addresses)


@dataclass(frozen=True)
class RenderedReport:
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...]


def _unique(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip().lower() for v in values if v and v.strip()))


def qa_manager_addresses(config: Config) -> tuple[str, ...]:
    """The QA managers: ``directory.qa_managers`` and everyone in the directory with the role QA Manager."""
    d = config.directory.directory()
    return _unique([*d.qa_managers, *(p.email for p in d.by_role(QA_MANAGER))])


def resolve_audience(role: str, config: Config) -> Audience:
    """The addresses of one role of a report's audience: ``[reports.audiences]`` when it names the role (it wins),
    else the directory — the people with that role; "QA Manager" and "IRO Team Manager" also mean the
    ``[directory]`` lists, and "IRO" every IRO and conference chair. Roles are compared as the directory compares
    them (case, ``&``/``and``, the common abbreviations)."""
    configured = config.reports.addresses(role)
    if configured is not None:
        return Audience(role, _unique(configured), "reports.audiences")
    d = config.directory.directory()
    found: tuple[str, ...]
    if roles_match(role, QA_MANAGER):
        found = qa_manager_addresses(config)
    elif roles_match(role, IRO_TEAM_MANAGER):
        found = _unique([*d.iro_team_managers, *(p.email for p in d.by_role(IRO_TEAM_MANAGER))])
    elif roles_match(role, IRO_ROLES[0]):
        found = _unique(d.iros())
    else:
        found = _unique([p.email for p in d.by_role(role)])
    return Audience(role, found, "directory" if found else "")


def report_recipients(report: Report, config: Config) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Whom ``report`` goes to, and the roles of its audience nobody answers to (for those it goes to the QA
    managers too)."""
    to: list[str] = []
    missing: list[str] = []
    for role in report.audience:
        audience = resolve_audience(role, config)
        if audience.found:
            to.extend(audience.addresses)
        else:
            missing.append(role)
    if missing:
        to.extend(qa_manager_addresses(config))
    return _unique(to), tuple(missing)


def _base_name(report: Report) -> str:
    return "annual" if report.kind == report.cadence == "annual" else f"{report.cadence}-{report.kind}"


def _slug(text: str) -> str:
    return _SLUG.sub("-", normalise_role(text)).strip("-")[:30] or "audience"


def report_names(policy: Policy) -> tuple[tuple[str, Report], ...]:
    """Each report of the policy with its name: ``<cadence>-<kind>`` (``monthly-themes``, ``weekly-tracker``) or
    ``annual``; when two share one, the first role of the audience is added (``monthly-themes-smt``). The name is
    the report's part of its outbox key, so it must not change while the policy does not."""
    bases = [_base_name(r) for r in policy.reports]
    out: list[tuple[str, Report]] = []
    taken: set[str] = set()
    for report, base in zip(policy.reports, bases, strict=True):
        name = base if bases.count(base) == 1 else f"{base}-{_slug(report.audience[0])}"
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name}-{n}", n + 1
        taken.add(unique)
        out.append((unique, report))
    return tuple(out)


def report_name(policy: Policy, report: Report) -> str:
    """The name of one of the policy's reports (:func:`report_names`)."""
    for name, r in report_names(policy):
        if r is report:
            return name
    for name, r in report_names(policy):
        if r == report:
            return name
    return _base_name(report)


def find_report(policy: Policy, word: str) -> tuple[str, Report]:
    """The policy's report called ``word`` (:func:`report_names`), or the only one with that cadence or kind
    (``monthly``, ``tracker``); :class:`ReportNotFound` naming the ones there are."""
    named = report_names(policy)
    wanted = word.strip().lower()
    for name, report in named:
        if name == wanted:
            return name, report
    for attr in ("cadence", "kind"):
        matches = [(n, r) for n, r in named if getattr(r, attr) == wanted]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise ReportNotFound(f"{word!r} fits {len(matches)} reports of policy {policy.key!r} "
                                 f"({', '.join(n for n, _ in matches)}) — name one of them")
    listing = ", ".join(n for n, _ in named) or "none: the policy names no reports (add [[policy.reports]])"
    raise ReportNotFound(f"policy {policy.key!r} has no report {word!r} — use one of: {listing}")


def report_period(report: Report, now: datetime, day: date | None = None) -> Period:
    """The period a report covers: the last complete one of its cadence before ``now``, or the one containing
    ``day``."""
    kind = cadence_period(report.cadence)
    return period_containing(kind, day) if day is not None else period_ending(kind, now)


def report_key(name: str, period: Period) -> str:
    """The outbox key: one report per (report, period), ``report.monthly-themes.2026-11-30`` (the last day)."""
    return f"report.{name}.{period.last_day.isoformat()}"


def report_files(figures: DigestFigures, config: Config, name: str, title: str) -> tuple[Attachment, ...]:
    """The tracker (XLSX) and the same rows as CSV (which :mod:`store.retention` can read to redact the mail)."""
    stem = f"iro-escalations-{name}-{figures.period.last_day.isoformat()}"
    xlsx = tracker_xlsx(figures, config.policy, config.calendar.calendar(), title=title)
    return (Attachment(f"{stem}.xlsx", XLSX_TYPE, xlsx), Attachment(f"{stem}.csv", "text/csv", digest_csv(figures)))


def render_report(figures: DigestFigures, config: Config, report: Report, *, name: str | None = None,
                  missing: Sequence[str] = ()) -> RenderedReport:
    """Subject, text, HTML and attachments of one report; ``missing``: the roles of its audience nobody answers to
    (each said in a first line: the report went to the QA managers instead)."""
    name = name or report_name(config.policy, report)
    env = environment(config)
    context: dict[str, object] = {
        "council": config.council_name,
        "mailbox": config.mailbox.address,
        "policy": config.policy,
        "figures": figures,
        "outcomes": figures.outcome_summary,
        "period": figures.period,
        "report": report,
        "name": name,
        "kind_title": REPORT_TITLES.get(report.kind, report.kind),
        "missing": tuple(missing),
    }
    subject = compose.render_subject(env, "report", context)
    files = () if report.counts_only else report_files(figures, config, name, subject)
    context.update(subject=subject, title=subject, files=[a.filename for a in files])
    text = env.get_template("report.txt.j2").render(**context)
    html = env.get_template("report.html.j2").render(**context)
    return RenderedReport(subject=subject, text=text.strip() + "\n", html=html, attachments=files)


def build_report(uow: UnitOfWork, config: Config, report: Report, now: datetime, *, day: date | None = None,
                 records: list[RecordSnapshot] | None = None) -> DigestFigures:
    """A report's figures as at ``now`` for its period (:func:`report_period`)."""
    return build_digest(uow, config, report_period(report, now, day), now, records)


def queue_report(uow: UnitOfWork, config: Config, report: Report, now: datetime, *, name: str | None = None,
                 day: date | None = None, catching_up: bool = False) -> OutboxMail | None:
    """Queue one report of the policy, once per (report, period); the row (the existing one when queued before).

    None when nobody can be sent it (no address for its audience and no QA managers), or when ``catching_up`` (the
    scheduler after downtime) and the store holds no escalation opened before the period ended: a new installation
    does not send a report of a time before it was running."""
    name = name or report_name(config.policy, report)
    period = report_period(report, now, day)
    key = report_key(name, period)
    existing = uow.outbox.get(key)
    if existing is not None:
        log.info("report already queued key=%s status=%s", key, existing.status)
        return existing
    records = [snapshot(e) for e in uow.escalations.list()]
    if catching_up and not any(london_date(r.opened_at) < period.end for r in records):
        log.info("report not caught up: no escalation was held before its period ended key=%s", key)
        return None
    to, missing = report_recipients(report, config)
    for role in missing:
        log.warning("report %s: no address for %r — it goes to the QA managers; add it to [reports.audiences]",
                    key, role)
    if not to:
        log.warning("report not queued: nobody to send it to (no address for its audience, no QA managers) key=%s",
                    key)
        return None
    figures = build_digest(uow, config, period, now, records)
    rendered = render_report(figures, config, report, name=name, missing=missing)
    row = queue_mail(uow, config, key=key, kind="report", to=list(to), subject=rendered.subject, text=rendered.text,
                     html=rendered.html, attachments=list(rendered.attachments), now=now)
    log.info("report queued key=%s kind=%s rows=%d opened=%d closed=%d recipients=%d", key, report.kind,
             len(figures.rows), figures.outcome_summary.opened, figures.outcome_summary.closed, len(to))
    return row


def _describe(report: Report) -> str:
    """``monthly themes and outcomes``, ``weekly tracker``, ``annual report summary``."""
    title = REPORT_TITLES.get(report.kind, report.kind)
    return title if report.kind == report.cadence == "annual" else f"{report.cadence} {title}"


def report_check_lines(config: Config) -> list[str]:
    """For ``check-config``: each report of the policy and who gets it; ``warning:`` lines for a role nobody
    answers to, an ``[reports.audiences]`` role no report is for, and an address outside ``council.domains``."""
    named = report_names(config.policy)
    lines: list[str] = []
    warnings: list[str] = []
    if named:
        lines.append(f"reports of the policy ({len(named)}):")
    for name, report in named:
        parts = []
        for role in report.audience:
            audience = resolve_audience(role, config)
            if audience.found:
                parts.append(f"{role}: {', '.join(audience.addresses)}")
            else:
                parts.append(f"{role}: nobody — the QA managers get it")
                warnings.append(f"report {name} is for {role}; no address is configured — add "
                                f'"{role}" = ["…"] to [reports.audiences] in the configuration (or give someone '
                                "in the directory that role); until then it goes to the QA managers")
            warnings.extend(f"report {name}: {a} ({role}) is outside council.domains: the bot will not mail them"
                            for a in audience.addresses if not config.allows_address(a))
        section = f", section {report.section}" if report.section else ""
        lines.append(f"  {name} ({_describe(report)}{section}) → " + "; ".join(parts))
    for role, _ in config.reports.audiences:
        if not any(roles_match(role, r) for _, rep in named for r in rep.audience):
            warnings.append(f'reports.audiences."{role}": no report of policy {config.policy.key!r} is for this role '
                            "— check the spelling against `mailbot policy show`, or remove it")
    return lines + [f"warning: {w}" for w in dict.fromkeys(warnings)]


__all__ = [
    "BUILT_IN",
    "CSV_COLUMNS",
    "OUTCOME_WORDS",
    "REPORT_TITLES",
    "Audience",
    "EscalationLine",
    "RenderedDigest",
    "RenderedReport",
    "ReportNotFound",
    "attention_snapshot",
    "build_digest",
    "build_report",
    "csv_rows",
    "digest_csv",
    "digest_key",
    "digest_subject",
    "environment",
    "find_report",
    "qa_manager_addresses",
    "queue_digest",
    "queue_report",
    "render_digest",
    "render_report",
    "report_check_lines",
    "report_files",
    "report_key",
    "report_name",
    "report_names",
    "report_period",
    "report_recipients",
    "resolve_audience",
    "snapshot",
    "unsent_snapshot",
]
