"""The QA managers' digest: snapshots from the store, figures (:mod:`rules.digest`), rendering, queueing.

    figures = build_digest(uow, config, "week", now)
    rendered = render_digest(figures, config)      # subject, text, HTML, CSV (UTF-8 with BOM, for Excel)
    queue_digest(uow, config, "week", now)         # once per period: key digest.week.2026-11-29

The mail goes only to ``directory.qa_managers``; it names children (the QA managers need to know whom a late
escalation is about), so nothing from it is logged at INFO or above except counts and the key.

Templates: ``digest.subject.j2``, ``digest.txt.j2`` and ``digest.html.j2`` (which extends the shared
``_layout.html.j2``), looked up
first in the folder ``mail_out.templates`` when set, then in the built-in ``mailbot/mail_out/templates``.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from datetime import date, datetime

import jinja2

from mailbot.config import Config
from rules.calendar import LONDON
from rules.digest import (
    AttentionMail,
    DigestFigures,
    EscalationLine,
    Period,
    RecordSnapshot,
    StageSnapshot,
    compute_digest,
    period_ending,
    short_day,
)
from store.models import Escalation, Message, OutboxMail
from store.uow import UnitOfWork

from . import compose
from .outbox import Attachment, queue_mail

log = logging.getLogger(__name__)

BUILT_IN = compose.BUILT_IN

CSV_COLUMNS = (
    "reference", "status", "level", "role", "addressee", "children", "case numbers", "opened", "due",
    "responded", "closed", "outcome", "working days open", "overdue working days", "themes",
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
        iro=esc.iro_name or esc.iro_email,
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


def build_digest(uow: UnitOfWork, config: Config, period: str | Period, now: datetime) -> DigestFigures:
    """The digest's figures from the store as at ``now`` (aware) for the period (``week|month|quarter``) ending
    before it."""
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


OUTCOME_WORDS = {"resolved": "resolved", "withdrawn": "withdrawn", "cafcass": "referred to Cafcass",
                 "closed": "closed"}


def _outcome(value: str | None) -> str:
    return OUTCOME_WORDS.get(value or "closed", value or "closed")


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{round(share * 100)}%"


def environment(config: Config) -> jinja2.Environment:
    """The mails' Jinja2 environment (:func:`mailbot.mail_out.compose.environment`: the council's folder first) with the
    digest's own filters."""
    env = compose.environment(config.mail_out.templates)
    env.filters.update(day=_day, when=_when, median=_median, plural=_plural, percent=_percent, outcome=_outcome)
    return env


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


__all__ = [
    "BUILT_IN",
    "CSV_COLUMNS",
    "EscalationLine",
    "RenderedDigest",
    "attention_snapshot",
    "build_digest",
    "csv_rows",
    "digest_csv",
    "digest_key",
    "digest_subject",
    "environment",
    "queue_digest",
    "render_digest",
    "snapshot",
    "unsent_snapshot",
]
