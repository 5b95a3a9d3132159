"""``mailbot show``: the bot's own mails in the timeline with everything else, in time order, and every time as a
person in England reads it (Europe/London, with GMT or BST); ``--json`` keeps ISO times with their offset."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailbot.cli.views import escalation_detail, render_detail, when
from mailbot.clock.tick import Ticker
from mailbot.config import Config
from mailbot.mail_in.ingest import Ingestor
from mailbot.mail_out.outbox import queue_mail
from store.uow import Store
from tests.botsetup import Clock
from tests.mailbot.cli.test_cli import EMBEDDED, run
from tests.mailfactory import BOT, IRO, TM, Thread, outlook_escalation, outlook_reply

SUBJECT = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
SUMMER = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 08/07/2026"


@pytest.mark.parametrize(("iso", "shown"), [
    ("2026-12-02T10:01:00+00:00", "Wed 2 Dec 2026 10:01 GMT"),
    ("2026-07-01T09:01:00+00:00", "Wed 1 Jul 2026 10:01 BST"),  # summer: London is an hour ahead of UTC
    ("2026-07-01T10:01:00+01:00", "Wed 1 Jul 2026 10:01 BST"),  # any offset, the same moment
    ("2026-03-29T00:59:00+00:00", "Sun 29 Mar 2026 00:59 GMT"),  # the clocks go forward at 01:00 UTC
    ("2026-03-29T01:00:00+00:00", "Sun 29 Mar 2026 02:00 BST"),
    ("2026-10-25T00:59:00+00:00", "Sun 25 Oct 2026 01:59 BST"),  # and back at 01:00 UTC
    ("2026-10-25T01:00:00+00:00", "Sun 25 Oct 2026 01:00 GMT"),
    ("2026-07-01T09:01:00", "Wed 1 Jul 2026 10:01 BST"),  # a time without offset is the store's UTC
    (None, "-"),
])
def test_times_are_shown_in_london_with_the_zone(iso: str | None, shown: str) -> None:
    assert when(iso) == shown


def test_a_summer_time_shows_as_bst(bot: Ingestor, store: Store, clock: Clock) -> None:
    opened = datetime(2026, 7, 1, 9, 1, tzinfo=UTC)  # 10:01 in London
    clock.now = opened
    result = bot.ingest(outlook_escalation(Thread(SUMMER), subject=SUMMER, when=opened))
    with store.unit_of_work() as uow:
        detail = escalation_detail(uow, uow.escalations.get(result.reference))
    text = render_detail(detail)
    assert "  opened:   Wed 1 Jul 2026 10:01 BST" in text.splitlines()
    assert any(line.startswith("    Wed 1 Jul 2026 10:01 BST  opened") for line in text.splitlines())
    assert "09:01" not in text
    assert detail["opened_at"] == "2026-07-01T09:01:00+00:00"  # --json keeps ISO with its offset
    assert detail["timeline"][0]["at"] == "2026-07-01T09:01:00+00:00"


def test_the_bots_chaser_is_in_the_timeline_in_time_order(bot: Ingestor, store: Store, config: Config,
                                                           clock: Clock) -> None:
    thread = Thread(SUBJECT)
    opened = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
    clock.now = opened
    ref = bot.ingest(outlook_escalation(thread, subject=SUBJECT, when=opened)).reference
    chased = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # two working days before the due date: the reminder
    clock.now = chased
    assert [a.kind for a in Ticker(store, config).tick(chased)] == ["chase"]
    with store.unit_of_work() as uow:
        [chaser] = uow.outbox.for_escalation(uow.escalations.get(ref))
        uow.outbox.mark_sent(chaser, datetime(2026, 11, 27, 10, 1, tzinfo=UTC))
        subject, copied = chaser.subject, list(chaser.cc_emails)
    resolved = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    clock.now = resolved
    bot.ingest(outlook_reply(thread, sender=IRO, to=[TM], cc=[BOT], when=resolved, quoted_from=TM,
                             text="Resolved – plan signed off\n\nIra\n\nIra Reviewer\nIndependent Reviewing Officer"))
    with store.unit_of_work() as uow:
        detail = escalation_detail(uow, uow.escalations.get(ref))
    lines = render_detail(detail).splitlines()
    assert "  outcome:  plan signed off" in lines
    timeline = lines[lines.index("  timeline:") + 1 :]
    heads = [line[4:] for line in timeline if line.startswith("    ") and not line.startswith("      ")]
    assert [head.split("  ")[:2] for head in heads][:3] == [
        ["Tue 24 Nov 2026 09:15 GMT", "opened"],
        ["Fri 27 Nov 2026 10:00 GMT", "bot mail"],
        ["Mon 30 Nov 2026 14:00 GMT", "resolved"],
    ]
    # what the closure made (a notice to the people who took part) comes after it, at the same moment
    assert all(head.startswith("Mon 30 Nov 2026 14:00 GMT  bot mail") for head in heads[3:])
    mail = timeline.index(f"    Fri 27 Nov 2026 10:00 GMT  bot mail       bot  [chaser] {subject}")
    cc = f"; cc {', '.join(copied)}" if copied else ""
    assert timeline[mail + 1] == f"      to {TM}{cc} — sent Fri 27 Nov 2026 10:01 GMT"
    sent = detail["mails_out"][0]
    assert (sent["kind"], sent["status"], sent["at"], sent["sent_at"]) == (
        "chaser", "sent", "2026-11-27T10:00:00+00:00", "2026-11-27T10:01:00+00:00")


def test_a_refused_mail_is_in_the_timeline(bot: Ingestor, store: Store, config: Config, clock: Clock) -> None:
    opened = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
    clock.now = opened
    ref = bot.ingest(outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=opened)).reference
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        queue_mail(uow, config, key=f"{ref}.test.outside", kind="notice", to=["someone@partner.example"],
                   subject="A notice", text="text", escalation=esc, now=datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    with store.unit_of_work() as uow:
        detail = escalation_detail(uow, uow.escalations.get(ref))
    lines = render_detail(detail).splitlines()
    mail = lines.index(f"    Wed 25 Nov 2026 08:00 GMT  bot mail       bot  [notice] [{ref}] A notice")
    assert lines[mail + 1] == "      to - — refused: no recipient inside council.domains"
    assert [m["status"] for m in detail["mails_out"]] == ["refused"]


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # the embedded default keeps ./var/mailbox and ./var/iro-mailbot.db
    return tmp_path


def test_mailbot_show_prints_bst_and_the_bots_mails(local: Path) -> None:
    subject = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456"  # no date: the IRO is acknowledged
    raw = outlook_escalation(Thread(subject), subject=subject, when=datetime(2026, 7, 1, 9, 1, tzinfo=UTC),
                             **EMBEDDED)
    (local / "a.eml").write_bytes(raw)
    assert run("drop", "a.eml")[0] == 0
    code, out, err = run("--now", "2026-07-01T09:01:00+00:00", "poll", "--once")
    assert code == 0, err
    code, out, err = run("show", "ESC-0001")
    assert code == 0, err
    lines = out.splitlines()
    assert "  opened:   Wed 1 Jul 2026 10:01 BST" in lines
    assert any(line.startswith("    Wed 1 Jul 2026 10:01 BST  opened") for line in lines)
    ack = next(i for i, line in enumerate(lines) if "bot mail" in line and "[acknowledgement]" in line)
    assert lines[ack].startswith("    Wed 1 Jul 2026 10:01 BST  bot mail")
    assert lines[ack + 1] == f"      to {EMBEDDED['sender']} — pending"
    assert "09:01" not in out
    detail = json.loads(run("show", "ESC-0001", "--json")[1])
    assert detail["opened_at"] == "2026-07-01T09:01:00+00:00"
    assert [(m["kind"], m["status"], m["at"]) for m in detail["mails_out"]] == [  # and Dorset's Mosaic record text
        ("acknowledgement", "pending", "2026-07-01T09:01:00+00:00"),
        ("case_record", "pending", "2026-07-01T09:01:00+00:00")]
