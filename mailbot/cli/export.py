"""``mailbot export``: everything the bot holds about one child, as one file, for a subject-access request::

    mailbot export --case 123456                     # → ./export-123456-2026-11-24.json
    mailbot export --child "Jane Doe" --out sar.json

Which records: every record, open or closed, with that case number, or with a child of exactly that name (case and
runs of white space do not matter; "Jane" does not find "Jane Doe"). Several records may match — the same child
escalated twice, or two children of one name — and all go into the file; the command prints their references so
the person answering the request can check them.

The file is **one JSON document** (chosen over a zip of JSON and ``.eml`` files: one file to hand over, to keep
and to delete, readable by any tool, and the mails are still there byte for byte), UTF-8, written with mode 0600
(see :func:`write_private`)::

    {"format": "iro-mailbot subject-access export", "version": 1, "created_at": …, "council": …,
     "query": {"case": "123456"} | {"child": "Jane Doe"},
     "counts": {"records": …, "stages": …, "events": …, "mails": …, "unmatched_mails": …, "digests": …},
     "records": [{"reference", "status", "outcome", "outcome_text", "policy", "iro_email", "iro_name",
                  "children", "case_numbers", "themes", "subject", "current_level", "opened_at", "closed_at",
                  "updated_at", "process_started_on", "facts",
                  "stages": [{"level", "role", "addressee_email", "addressee_name", "copied", "started_at",
                              "started_on", "due_on", "due_source", "responded_at", "response_message_id",
                              "outcome", "ended_at"}],
                  "events": [{"at", "kind", "actor", "key", "data", "message_id"}],      # the whole timeline
                  "mails": [...]}],                                                     # oldest first
     "unmatched_mails": [...],
     "digests": [{"key", "status", "created_at", "sent_at", "to"}]}

A mail read by the bot (``"origin": "mailbox"``) carries what was recorded of it (addresses, subject, dates, the
new text) and ``"raw_base64"``, the mail as it arrived, when the bot kept it (escalation mails and mail needing
attention) — else ``null`` and ``"raw_kept": false``. A mail of the bot's own (``"origin": "outbox"``) carries the
outbox row (text, HTML, attachments base64-encoded, status, attempts) and ``"raw_base64"``, the MIME mail built from
it as the sender sends it. ``unmatched_mails`` are mails of no record whose subject or text names one of the
records (reference, case number, a child's name) or what was asked for. ``digests`` lists, without their content
(they name other children), the QA managers' digests that name one of the records.

Nothing is logged at INFO but references and counts; nothing matching is one line and exit status 2.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .support import app_of, fail, friendly, today

if TYPE_CHECKING:
    from store.models import Escalation, Message, OutboxMail

log = logging.getLogger(__name__)

FORMAT = "iro-mailbot subject-access export"
VERSION = 1
PRIVATE = 0o600


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable and writable by its owner only (0600): a new file is created so, and
    an existing one with any other mode is changed to 0600 before a byte is written (children's data)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    with os.fdopen(fd, "wb") as fp:
        if stat.S_IMODE(os.fstat(fd).st_mode) != PRIVATE:
            os.fchmod(fd, PRIVATE)
        fp.write(data)


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _b64(data: bytes | None) -> str | None:
    import base64

    return base64.b64encode(data).decode("ascii") if data is not None else None


def _mail_in(msg: Message) -> dict[str, Any]:
    return {
        "origin": "mailbox", "identity": msg.identity, "message_id": msg.message_id, "direction": msg.direction,
        "kind": msg.kind, "state": msg.state, "attention_reason": msg.attention_reason,
        "from_email": msg.from_email, "from_name": msg.from_name, "to": list(msg.to_emails or []),
        "cc": list(msg.cc_emails or []), "subject": msg.subject, "sent_at": _iso(msg.sent_at),
        "received_at": _iso(msg.received_at), "in_reply_to": list(msg.in_reply_to or []),
        "references": list(msg.references or []), "text": msg.new_text, "raw_kept": msg.raw is not None,
        "raw_base64": _b64(msg.raw),
    }


def _mail_out(row: OutboxMail) -> dict[str, Any]:
    from mailbot.mail_out.delivery import build_message

    try:
        raw: bytes | None = build_message(row).as_bytes()
    except Exception as exc:  # the row is exported all the same; say why the MIME is missing
        log.warning("export: could not build the mail key=%s error=%s", row.key, type(exc).__name__)
        raw = None
    return {
        "origin": "outbox", "key": row.key, "message_id": row.message_id, "kind": row.kind, "status": row.status,
        "from_email": row.from_email, "to": list(row.to_emails or []), "cc": list(row.cc_emails or []),
        "subject": row.subject, "created_at": _iso(row.created_at), "sent_at": _iso(row.sent_at),
        "attempts": row.attempts, "last_error": row.last_error, "headers": dict(row.headers or {}),
        "text": row.body_text, "html": row.body_html,
        "attachments": [{"filename": a.get("filename"), "content_type": a.get("content_type"),
                         "data_base64": a.get("data")} for a in row.attachments or []],
        "raw_base64": _b64(raw),
    }


def _record(esc: Escalation, events: list[Any], mails_in: list[Message], mails_out: list[OutboxMail],
            ids: dict[int, str | None]) -> dict[str, Any]:
    mails = [(m.received_at, _mail_in(m)) for m in mails_in if m.direction == "in"]  # the bot's copies: outbox
    mails += [(r.created_at, _mail_out(r)) for r in mails_out]
    mails.sort(key=lambda pair: pair[0])
    return {
        "reference": esc.reference, "status": esc.status, "outcome": esc.outcome, "outcome_text": esc.outcome_text,
        "policy": esc.policy_key, "iro_email": esc.iro_email, "iro_name": esc.iro_name,
        "children": list(esc.children or []), "case_numbers": [dict(c) for c in esc.case_numbers or []],
        "themes": list(esc.themes or []), "subject": esc.subject, "current_level": esc.current_level,
        "opened_at": _iso(esc.opened_at), "closed_at": _iso(esc.closed_at), "updated_at": _iso(esc.updated_at),
        "process_started_on": _iso(esc.process_started_on), "facts": dict(esc.facts or {}),
        "stages": [{
            "level": s.level, "role": s.role, "addressee_email": s.addressee_email,
            "addressee_name": s.addressee_name, "copied": list(s.copied or []), "started_at": _iso(s.started_at),
            "started_on": _iso(s.started_on), "due_on": _iso(s.due_on), "due_source": s.due_source,
            "responded_at": _iso(s.responded_at),
            "response_message_id": ids.get(s.response_message_id) if s.response_message_id else None,
            "outcome": s.outcome, "ended_at": _iso(s.ended_at),
        } for s in esc.stages],
        "events": [{"at": _iso(e.at), "kind": e.kind, "actor": e.actor, "key": e.key, "data": e.data,
                    "message_id": ids.get(e.message_pk) if e.message_pk else None} for e in events],
        "mails": [mail for _when, mail in mails],
    }


def _file_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "export"


@click.command("export")
@click.option("--case", "case", metavar="NUMBER", help="The child's case number (e.g. the MOSAIC number).")
@click.option("--child", "child", metavar="NAME", help="The child's whole name, as the records hold it.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Where to write the JSON. Default: export-<case>-<date>.json in the working directory.")
@click.pass_context
@friendly
def export_cmd(ctx: click.Context, case: str | None, child: str | None, out: Path | None) -> None:
    """Everything held about one child — records, stages, the whole timeline, every mail — as one JSON file
    (mode 0600), for a subject-access request."""
    import json

    from store.retention import Mentions, outbox_texts

    if (case is None) == (child is None) or not (case or child or "").strip():
        fail("say whose data to export: --case NUMBER or --child \"NAME\" (one of them)")
    app = app_of(ctx)
    now = app.clock()
    with app.store.unit_of_work() as uow:
        records = uow.escalations.find_for_subject_access(case=case, child=child)
        # mails of no record are searched for what identifies the records found (and the case number asked for),
        # each as whole words: a name typed in part ("Jane") must not pull in other people's mail
        mentions = Mentions(words=[*([case] if case else []),
                                   *(w for e in records for w in [e.reference or "", *e.case_number_values,
                                                                  *(e.children or [])])])
        exported = []
        counts = {"records": len(records), "stages": 0, "events": 0, "mails": 0}
        for esc in records:
            mails_in = uow.messages.for_escalation(esc)
            ids = {m.id: m.message_id or m.identity for m in mails_in}
            events = uow.events.touching(esc)
            for e in events:
                if e.message_pk and e.message_pk not in ids and e.message is not None:
                    ids[e.message_pk] = e.message.message_id or e.message.identity
            record = _record(esc, events, mails_in, uow.outbox.for_escalation(esc), ids)
            counts["stages"] += len(record["stages"])
            counts["events"] += len(record["events"])
            counts["mails"] += len(record["mails"])
            exported.append(record)
        unmatched = [_mail_in(m) for m in uow.messages.without_escalation()
                     if mentions.found_in(m.subject, m.new_text)]
        digests = [{"key": r.key, "status": r.status, "created_at": _iso(r.created_at), "sent_at": _iso(r.sent_at),
                    "to": list(r.to_emails or [])} for r in uow.outbox.without_escalation()
                   if mentions.found_in(*outbox_texts(r.subject, r.body_text, r.body_html, r.attachments))]
        references = [e.reference or f"#{e.id}" for e in records]
        first_case = next((n for e in records for n in e.case_number_values), None)
    if not records and not unmatched:
        fail(f"nothing held matches case number {case}" if case else
             "nothing held matches that child's name (the whole name, as in `mailbot list`)")
    counts.update(unmatched_mails=len(unmatched), digests=len(digests))
    document = {
        "format": FORMAT, "version": VERSION, "created_at": now.isoformat(), "council": app.config.council_name,
        "query": {"case": case} if case else {"child": child}, "counts": counts, "records": exported,
        "unmatched_mails": unmatched, "digests": digests,
    }
    if out is None:
        label = case or first_case or (references[0] if references else "unmatched")
        out = Path.cwd() / f"export-{_file_part(label)}-{today(ctx).isoformat()}.json"
    try:
        write_private(out, (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    except OSError as exc:
        fail(f"cannot write the export to {out}: {exc.strerror or exc}")
    log.info("subject-access export records=%s events=%d mails=%d unmatched_mails=%d", ",".join(references) or "-",
             counts["events"], counts["mails"], len(unmatched))
    click.echo(f"{counts['records']} record(s) ({', '.join(references) or 'none'}), {counts['events']} event(s), "
               f"{counts['mails']} mail(s) and {len(unmatched)} unmatched mail(s) written to {out} (mode 0600)")
    if digests:
        click.echo(f"{len(digests)} digest(s) also name them; listed by key only, as they name other children")


COMMANDS = (export_cmd,)
