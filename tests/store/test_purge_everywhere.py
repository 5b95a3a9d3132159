"""`mailbot purge` forgets a record everywhere the bot keeps it: the store, the Maildir inbox's .processed and
.attention folders, the local sent folder, and the kept digests that named it (deleted when past retention,
redacted within it). A real SQLite store and real Maildir folders under tmp_path; the purge through the CLI."""

from __future__ import annotations

import email
import email.policy
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot.app import App
from mailbot.cli import cli
from mailbot.config import Config, load_config
from store.models import Message, OutboxMail
from store.retention import REDACTED, Mentions, PurgeReport, outbox_texts
from tests.botsetup import COUNCIL_TOML, TRIAL_SECURITY_TOML, Clock, directory_people, directory_toml
from tests.mailfactory import BOT, IRO, TM, Thread, outlook_escalation, plain_reply

PURGED_CHILD, PURGED_CASE = "Jane Doe", "123456"
KEPT_CHILD, KEPT_CASE = "Sam Smith", "654321"
SUBJECT_A = f"Action - Level 1 escalation - {PURGED_CHILD} - MOSAIC {PURGED_CASE} - response by 01/12/2026"
SUBJECT_B = f"Action - Level 1 escalation - {KEPT_CHILD} - MOSAIC {KEPT_CASE} - response by 01/12/2026"

CONFIG = f"""
{COUNCIL_TOML}
{TRIAL_SECURITY_TOML}
[mailbox]
address = "{BOT}"
maildir = "in"

[mail_out]
maildir = "sent"

[store]
url = "sqlite:///bot.db"
retention_days = 30              # short, so a digest within retention can name a purged record
unmatched_retention_days = 365

{directory_toml(directory_people(head=None))}"""

PURGE_AT = "2027-01-05T08:00:00+00:00"  # ESC-0001 closed 24 Nov 2026: 42 days, past the 30 days' retention


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "mailbot.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def readable(raw: bytes) -> str:
    """Everything a person could read in a mail file: its headers and every part, decoded (base64, QP, RFC 2047)."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    texts = [f"{name}: {value}" for name, value in msg.items()]
    for part in msg.walk():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            texts.append(payload.decode("utf-8-sig", errors="replace"))
    return "\n".join(texts)


def mail_files(tmp_path: Path) -> dict[Path, tuple[str, str]]:
    """Every mail file under the inbox and sent folders: its Message-ID (without <>) and what it says."""
    found = {}
    for top in (tmp_path / "in", tmp_path / "sent"):
        for root, _dirs, names in os.walk(top):
            for name in names:
                path = Path(root) / name
                if path.parent.name in ("new", "cur"):
                    raw = path.read_bytes()
                    message_id = str(email.message_from_bytes(raw)["Message-ID"]).strip().strip("<>")
                    found[path] = (message_id, readable(raw))
    return found


def row_text(row: OutboxMail) -> str:
    return "\n".join(outbox_texts(row.subject, row.body_text, row.body_html, row.attachments))


def names_the_purged(text: str) -> bool:
    return Mentions(words=["ESC-0001", PURGED_CASE], phrases=[PURGED_CHILD]).found_in(text)


def build(tmp_path: Path) -> tuple[Config, dict[str, set[str]]]:
    """Two records through the real inbox and sent folders: ESC-0001 (the child to purge, resolved on the day it was
    opened) and ESC-0002 (open); a chaser for each, a weekly digest and a quarterly digest that name both. Returns
    the config and the Message-IDs of each record's mails (read and sent) and of the digests."""
    config = load_config(write_config(tmp_path))
    clock = Clock(datetime(2026, 11, 24, 9, 15, tzinfo=UTC))
    app = App(config, clock=clock)
    try:
        a, b = Thread(SUBJECT_A, seed="child-a"), Thread(SUBJECT_B, seed="child-b")
        app.source.drop(outlook_escalation(a, subject=SUBJECT_A, when=clock.now))  # type: ignore[attr-defined]
        app.source.drop(outlook_escalation(b, subject=SUBJECT_B, when=clock.now))  # type: ignore[attr-defined]
        assert [r.outcome for r in app.poll_once()] == ["opened", "opened"]
        clock.now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
        app.source.drop(plain_reply(a, sender=IRO, to=[TM], cc=[BOT],  # type: ignore[attr-defined]
                                    text="Resolved - plan agreed", when=clock.now))
        app.poll_once()
        clock.now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
        app.tick()  # the chaser for ESC-0002
        clock.now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
        app.digest()  # week 23–29 Nov: ESC-0001 opened and closed, ESC-0002 open
        clock.now = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
        app.digest(period="quarter")  # Oct–Dec 2026: both again
        ids: dict[str, set[str]] = {"ESC-0001": set(), "ESC-0002": set(), "digests": set()}
        with app.store.unit_of_work() as uow:
            for ref in ("ESC-0001", "ESC-0002"):
                esc = uow.escalations.get(ref)
                assert esc is not None
                ids[ref] |= {m.message_id for m in uow.messages.for_escalation(esc) if m.message_id}
                ids[ref] |= {r.message_id for r in uow.outbox.for_escalation(esc)}
            ids["digests"] = {r.message_id for r in uow.outbox.without_escalation()}
            assert uow.escalations.get("ESC-0001").status == "closed"  # type: ignore[union-attr]
            assert uow.outbox.get("ESC-0002.L1.chase.-2@2026-12-01") is not None
            assert {r.status for r in uow.outbox.without_escalation()} == {"sent"}
    finally:
        app.close()
    assert len(ids["digests"]) == 2
    return config, ids


def purge(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "mailbot.toml"), "--now", PURGE_AT, "purge", *args],
                                env={"MAILBOT_CONFIG": "", "MAILBOT_NOW": ""})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_the_scene_names_the_child_everywhere_before_the_purge(tmp_path: Path) -> None:
    """The check below would see a leak: before the purge the child is named in mail files and outbox rows."""
    config, ids = build(tmp_path)
    files = mail_files(tmp_path)
    assert sum(names_the_purged(text) for _id, text in files.values()) >= 4  # her two mails, the two digests
    named_ids = {mid for mid, text in files.values() if names_the_purged(text)}
    assert ids["digests"] <= named_ids
    store = App(config).store
    try:
        with store.unit_of_work() as uow:
            digests = uow.outbox.without_escalation()
            assert all(names_the_purged(row_text(r)) for r in digests)
            csv = digests[-1].attachment_list()[0][2].decode("utf-8-sig")
            assert PURGED_CHILD in csv and KEPT_CHILD in csv
    finally:
        store.dispose()


def test_purge_removes_the_record_its_mail_files_and_its_name_in_kept_digests(tmp_path: Path) -> None:
    config, ids = build(tmp_path)
    before = mail_files(tmp_path)

    code, out, err = purge(tmp_path, "--dry-run")
    assert (code, err) == (0, "")
    assert "1 closed escalation(s) older than 30 days" in out and "would be deleted" in out
    assert "1 kept digest(s) that named them would be redacted" in out
    # her escalation and her reply in .processed; in the sent folder the closure notice her "Resolved" caused, the
    # text for her Mosaic record at opening and at closure, and the two digests (she had no chaser)
    assert "7 mail file(s) would be deleted from the local mail folders (2 from the inbox's " \
           ".processed/.attention, 5 from the sent folder)" in out
    assert mail_files(tmp_path) == before  # a dry run deletes nothing
    store = App(config).store
    try:
        with store.unit_of_work() as uow:
            assert uow.escalations.get("ESC-0001") is not None
            assert all(names_the_purged(row_text(r)) for r in uow.outbox.without_escalation())
    finally:
        store.dispose()

    code, out, err = purge(tmp_path)
    assert (code, err) == (0, "")
    assert "1 closed escalation(s) older than 30 days and 0 unmatched mail(s) older than 365 days deleted" in out
    assert "1 kept digest(s) that named them redacted" in out
    assert "7 mail file(s) deleted from the local mail folders (2 from the inbox's .processed/.attention, " \
           "5 from the sent folder)" in out
    assert "note:" not in out  # both folders are local: nothing is out of reach

    # the files: hers and the digests' are gone, the other child's stay
    after = mail_files(tmp_path)
    gone = {mid for mid, _text in before.values()} - {mid for mid, _text in after.values()}
    assert gone == (ids["ESC-0001"] | ids["digests"]) & {mid for mid, _text in before.values()}
    assert not any(names_the_purged(text) for _mid, text in after.values())
    kept = {mid for mid, _text in after.values()}
    assert kept and kept <= ids["ESC-0002"]
    assert any(KEPT_CHILD in text for path, (_mid, text) in after.items() if ".processed" in path.parts)
    assert any(KEPT_CHILD in text for path, (_mid, text) in after.items() if "sent" in path.parts)

    store = App(config).store
    try:
        with store.unit_of_work() as uow:
            assert uow.escalations.get("ESC-0001") is None
            assert uow.escalations.get("ESC-0002") is not None
            rows = uow.session.query(OutboxMail).all()
            assert rows and not any(names_the_purged(row_text(r)) for r in rows)
            assert not any(PURGED_CHILD.encode() in data for r in rows for _n, _t, data in r.attachment_list())
            # the weekly digest was past the retention: deleted; the quarter's within it: redacted, key and dates kept
            assert uow.outbox.get("digest.week.2026-11-29") is None
            quarter = uow.outbox.get("digest.quarter.2026-12-31")
            assert quarter is not None and quarter.status == "sent" and quarter.sent_at is not None
            assert quarter.body_text.strip() == REDACTED.format(day="2027-01-05")
            assert quarter.body_html is None and quarter.attachments == []
            assert quarter.subject.startswith("IRO escalations digest — Oct–Dec 2026")
            logged = uow.session.query(Message).all()
            assert not any(names_the_purged("\n".join([m.subject or "", m.new_text or "",
                                                       (m.raw or b"").decode("utf-8", "replace")]))
                           for m in logged)
    finally:
        store.dispose()

    # the next night finds nothing more
    code, out, _ = purge(tmp_path)
    assert "0 closed escalation(s)" in out and "0 kept digest(s)" in out and "0 mail file(s) deleted" in out


def test_a_mail_system_out_of_reach_is_named_in_the_report(tmp_path: Path) -> None:
    write_config(tmp_path)
    text = (tmp_path / "mailbot.toml").read_text(encoding="utf-8")
    text = text.replace('[mail_out]\nmaildir = "sent"',
                        '[mail_out]\ntransport = "smtp"\n\n[mail_out.smtp]\nhost = "smtp.example.test"')
    (tmp_path / "mailbot.toml").write_text(text, encoding="utf-8")
    code, out, _ = purge(tmp_path)
    assert code == 0
    assert "note: mail is sent over smtp: copies in Sent Items and in the recipients' mailboxes are kept under " \
           "the council's mail system's own retention" in out


@pytest.mark.parametrize("text", [
    "ESC-0001 closed", "esc-0001", "case 123456;", "jane   DOE, 3", "Jane Doe"])
def test_what_names_a_purged_record(text: str) -> None:
    assert names_the_purged(text)


@pytest.mark.parametrize("text", ["ESC-00012", "ESC-0002", "1234567", "Jane Dolittle", ""])
def test_what_does_not(text: str) -> None:
    assert not names_the_purged(text)


def test_the_report_compares_counts_only() -> None:
    assert PurgeReport(escalations=1, identities=frozenset({"a@b"})) == PurgeReport(escalations=1)
    assert "a@b" not in repr(PurgeReport(identities=frozenset({"a@b"}), sent_message_ids=frozenset({"a@b"})))
