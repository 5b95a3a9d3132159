"""`mailbot export`: everything held about one child in one JSON file (mode 0600), for a subject-access request;
and `digest --preview`, which names children too, written 0600. A real SQLite store and real Maildir folders under
tmp_path, the mail read and sent the way the service does it; the commands through CliRunner."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import logging
import stat
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot.app import App
from mailbot.cli import cli
from mailbot.config import load_config
from tests.botsetup import COUNCIL_TOML, TRIAL_SECURITY_TOML, Clock, directory_people, directory_toml
from tests.mailfactory import BOT, IRO, TM, Thread, outlook_escalation, plain_reply

CHILD, CASE = "Jane Doe", "123456"
OTHER_CHILD, OTHER_CASE = "Sam Smith", "654321"
SUBJECT = f"Action - Level 1 escalation - {CHILD} - MOSAIC {CASE} - response by 01/12/2026"
OTHER_SUBJECT = f"Action - Level 1 escalation - {OTHER_CHILD} - MOSAIC {OTHER_CASE} - response by 01/12/2026"
NOW = "2026-12-07T10:00"

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

{directory_toml(directory_people(head=None))}"""


def stray_mail(when: datetime) -> bytes:
    """A mail about the child that matches no record: kept for attention."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = IRO, BOT, f"Question about {CHILD}"
    msg["Date"], msg["Message-ID"] = format_datetime(when), "<stray-1@example.test>"
    msg.set_content("Is there an escalation open for her already?\n")
    return msg.as_bytes()


@pytest.fixture
def scene(tmp_path: Path) -> dict[str, bytes]:
    """Two children's records (both chased; her manager answered), a stray mail about her, a weekly digest naming
    both. Returns the raw mails dropped into the inbox about her, by name."""
    (tmp_path / "mailbot.toml").write_text(CONFIG, encoding="utf-8")
    clock = Clock(datetime(2026, 11, 24, 9, 15, tzinfo=UTC))
    app = App(load_config(tmp_path / "mailbot.toml"), clock=clock)
    mine, other = Thread(SUBJECT, seed="mine"), Thread(OTHER_SUBJECT, seed="other")
    raws = {"escalation": outlook_escalation(mine, subject=SUBJECT, when=clock.now),
            "stray": stray_mail(clock.now)}
    try:
        app.source.drop(raws["escalation"])  # type: ignore[attr-defined]
        app.source.drop(outlook_escalation(other, subject=OTHER_SUBJECT, when=clock.now))  # type: ignore[attr-defined]
        app.source.drop(raws["stray"])  # type: ignore[attr-defined]
        assert sorted(r.outcome for r in app.poll_once()) == ["opened", "opened", "unmatched"]
        clock.now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
        app.tick()  # chasers for both
        clock.now = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
        raws["reply"] = plain_reply(mine, sender=TM, to=[IRO], cc=[BOT], text="Looking into it today.",
                                    when=clock.now)
        app.source.drop(raws["reply"])  # type: ignore[attr-defined]
        app.poll_once()
        clock.now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
        app.digest()
    finally:
        app.close()
    return raws


def run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "mailbot.toml"), "--now", NOW, *args],
                                env={"MAILBOT_CONFIG": "", "MAILBOT_NOW": ""})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_export_by_case_number_holds_everything_about_the_child(tmp_path: Path, scene: dict[str, bytes],
                                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    out = tmp_path / "sar.json"
    code, printed, err = run(tmp_path, "export", "--case", CASE, "--out", str(out))
    assert (code, err) == (0, "")
    assert mode(out) == 0o600
    data = json.loads(out.read_text(encoding="utf-8"))
    [record] = data["records"]
    counts = data["counts"]
    assert printed.splitlines()[0] == (
        f"1 record(s) (ESC-0001), {counts['events']} event(s), {counts['mails']} mail(s) and 1 unmatched mail(s) "
        f"written to {out} (mode 0600)")
    assert "1 digest(s) also name them" in printed
    assert CHILD not in printed and all(CHILD not in r.getMessage() for r in caplog.records)  # names: the file only

    assert data["format"] == "iro-mailbot subject-access export" and data["query"] == {"case": CASE}
    assert data["created_at"].startswith("2026-12-07T10:00")
    assert (record["reference"], record["children"], record["status"]) == ("ESC-0001", [CHILD], "open")
    assert [c["number"] for c in record["case_numbers"]] == [CASE]
    assert [s["level"] for s in record["stages"]] == [1]
    assert record["stages"][0]["addressee_email"] == TM

    # the whole timeline, as the store holds it
    app = App(load_config(tmp_path / "mailbot.toml"))
    try:
        with app.store.unit_of_work() as uow:
            esc = uow.escalations.get("ESC-0001")
            assert esc is not None
            events = uow.events.touching(esc)
            outbox = uow.outbox.for_escalation(esc)
    finally:
        app.close()
    assert [(e["kind"], e["at"]) for e in record["events"]] == [(e.kind, e.at.isoformat()) for e in events]
    assert counts["events"] == len(events) >= 3

    # every mail: what came in, raw as it arrived where it was kept; the bot's own, as sent
    incoming = [m for m in record["mails"] if m["origin"] == "mailbox"]
    outgoing = [m for m in record["mails"] if m["origin"] == "outbox"]
    assert len(incoming) == 2 and len(outgoing) == len(outbox) >= 1
    assert counts["mails"] == len(record["mails"])
    escalation = next(m for m in incoming if m["subject"] == SUBJECT)
    assert base64.b64decode(escalation["raw_base64"]) == scene["escalation"]
    reply = next(m for m in incoming if m is not escalation)
    assert "Looking into it today." in reply["text"]
    if reply["raw_kept"]:
        assert base64.b64decode(reply["raw_base64"]) == scene["reply"]
    else:
        assert reply["raw_base64"] is None
    for sent, row in zip(outgoing, outbox, strict=True):
        assert (sent["key"], sent["message_id"], sent["status"]) == (row.key, row.message_id, "sent")
        mail = email.message_from_bytes(base64.b64decode(sent["raw_base64"]), policy=email.policy.default)
        assert mail["Message-ID"] == f"<{row.message_id}>" and "[ESC-0001]" in mail["Subject"]
    assert [m["subject"] for m in data["unmatched_mails"]] == [f"Question about {CHILD}"]
    assert base64.b64decode(data["unmatched_mails"][0]["raw_base64"]) == scene["stray"]
    assert [d["key"] for d in data["digests"]] == ["digest.week.2026-11-29"]

    text = out.read_text(encoding="utf-8")
    assert OTHER_CHILD not in text and OTHER_CASE not in text and "ESC-0002" not in text  # nobody else's data


def test_export_by_name_ignores_case_and_writes_to_the_working_directory(tmp_path: Path, scene: dict[str, bytes],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, printed, _ = run(tmp_path, "export", "--child", "  jane   DOE ")
    out = tmp_path / f"export-{CASE}-2026-12-07.json"
    assert code == 0 and f"written to {out}" in printed
    assert mode(out) == 0o600
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [r["reference"] for r in data["records"]] == ["ESC-0001"]
    assert data["query"] == {"child": "  jane   DOE "}


def test_export_over_an_existing_file_makes_it_private(tmp_path: Path, scene: dict[str, bytes]) -> None:
    out = tmp_path / "sar.json"
    out.write_text("old and longer than the new content will be? no, but it must go" * 1000, encoding="utf-8")
    out.chmod(0o644)
    code, _, _ = run(tmp_path, "export", "--case", OTHER_CASE, "--out", str(out))
    assert code == 0 and mode(out) == 0o600
    data = json.loads(out.read_text(encoding="utf-8"))  # truncated first: one JSON document, nothing left over
    assert [r["children"] for r in data["records"]] == [[OTHER_CHILD]]


@pytest.mark.parametrize(("args", "message"), [
    (("--case", "999999"), "mailbot: error: nothing held matches case number 999999\n"),
    (("--child", "Jane"), "mailbot: error: nothing held matches that child's name (the whole name, as in "
                          "`mailbot list`)\n"),
    ((), "mailbot: error: say whose data to export: --case NUMBER or --child \"NAME\" (one of them)\n"),
    (("--case", CASE, "--child", CHILD), "mailbot: error: say whose data to export: --case NUMBER or "
                                         "--child \"NAME\" (one of them)\n"),
])
def test_export_of_nothing_is_one_line_and_status_2(tmp_path: Path, scene: dict[str, bytes],
                                                    args: tuple[str, ...], message: str) -> None:
    out = tmp_path / "sar.json"
    code, printed, err = run(tmp_path, "export", *args, "--out", str(out))
    assert (code, printed, err) == (2, "", message)
    assert not out.exists()


@pytest.mark.parametrize("existing", [None, 0o644])
def test_digest_preview_is_written_0600(tmp_path: Path, scene: dict[str, bytes], existing: int | None) -> None:
    preview = tmp_path / "digest.html"
    if existing is not None:
        preview.write_text("old", encoding="utf-8")
        preview.chmod(existing)
    code, printed, _ = run(tmp_path, "digest", "--preview", str(preview))
    assert code == 0 and f"written to {preview} (mode 0600)" in printed
    assert mode(preview) == 0o600
    assert CHILD in preview.read_text(encoding="utf-8")  # which is why it is private
