"""The service around the jobs: catch-up after downtime (once, not a burst), the scheduler's jobs, templates."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailbot.app import App
from mailbot.config import Config, parse_config
from tests.botsetup import TRIAL_SECURITY, Clock, directory_table, example_config
from tests.mailfactory import BOT, IRO, TM, Thread, outlook_escalation

SUBJECT = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"



def make_config(tmp_path: Path, **mail_out: object) -> Config:
    return example_config(tmp_path, mailbox={"address": BOT, "maildir": "in"},
                          mail_out={"maildir": "sent", **mail_out}, directory=directory_table(head=None))


def sent(tmp_path: Path) -> list[str]:
    return sorted(str(m["X-IRO-Mailbot-Key"]) for m in mailbox.Maildir(tmp_path / "sent", create=False))


def test_last_digest_moment(tmp_path: Path, clock: Clock) -> None:
    service = App(make_config(tmp_path), clock=clock)
    london = service.scheduler.last_digest_moment
    assert london(datetime(2026, 11, 30, 8, 0, tzinfo=UTC)).isoformat() == "2026-11-30T08:00:00+00:00"
    assert london(datetime(2026, 11, 30, 7, 59, tzinfo=UTC)).isoformat() == "2026-11-23T08:00:00+00:00"
    assert london(datetime(2026, 12, 3, 12, 0, tzinfo=UTC)).isoformat() == "2026-11-30T08:00:00+00:00"
    # summer time: Monday 08:00 London is 07:00 UTC
    assert london(datetime(2027, 6, 7, 7, 30, tzinfo=UTC)).isoformat() == "2027-06-07T08:00:00+01:00"


def test_catch_up_after_downtime_sends_one_digest_and_one_chaser(tmp_path: Path, clock: Clock) -> None:
    service = App(make_config(tmp_path), clock=clock)
    service.ingestor.ingest(outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=clock.now))
    # the bot was down from Tuesday until the next Wednesday: the Monday digest and both chasers were missed
    clock.now = datetime(2026, 12, 2, 8, 30, tzinfo=UTC)  # before working hours: the digest only
    service.scheduler.catch_up()
    assert sent(tmp_path) == ["digest.week.2026-11-29"]
    clock.now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    service.scheduler.catch_up()
    service.scheduler.catch_up()
    # one catch-up: the escalation (the due date passed), not a burst of the missed chasers; the digest once (and,
    # as the directory has no Head of Locality for Level 2's copy, the IRO and QA are asked who that is)
    assert sent(tmp_path) == ["ESC-0001.L1.escalate", "ESC-0001.L1.escalate.copies", "digest.week.2026-11-29"]


def test_scheduler_has_its_jobs_coalescing(tmp_path: Path, clock: Clock) -> None:
    service = App(make_config(tmp_path), clock=clock)
    scheduler = service.scheduler.start()
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        # Dorset's policy reports quarterly (themes) and yearly (the annual report's summary)
        assert set(jobs) == {"tick", "send", "digest", "purge", "report.quarterly-themes", "report.annual"}
        assert all(job.coalesce and job.max_instances == 1 for job in jobs.values())
        assert str(jobs["digest"].trigger).startswith("cron[day_of_week='mon', hour='8', minute='0'")
        assert jobs["tick"].trigger.interval.total_seconds() == 5 * 60
    finally:
        service.close()
    assert not scheduler.running


def test_templates_can_be_overridden_from_a_folder(tmp_path: Path, clock: Clock) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "chaser.txt.j2").write_text("Dear {{ manager_name }}, {{ ref }} is due {{ due | long_date }}. "
                                          "Regards, {{ council }}\n", encoding="utf-8")
    service = App(make_config(tmp_path, templates="templates"), clock=clock)
    service.ingestor.ingest(outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=clock.now))
    clock.now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    service.tick()
    [mail] = list(mailbox.Maildir(tmp_path / "sent", create=False))
    text = mail.get_payload()[0].get_payload(decode=True).decode()
    assert text == "Dear Tom Manager, ESC-0001 is due Tuesday 1 December 2026. Regards, Example Council\n"
    assert IRO in str(mail["Cc"])


def test_retention_purge_forgets_closed_records_after_the_retention(tmp_path: Path, clock: Clock) -> None:
    service = App(make_config(tmp_path), clock=clock)
    thread = Thread(SUBJECT)
    service.ingestor.ingest(outlook_escalation(thread, subject=SUBJECT, when=clock.now))
    from tests.mailfactory import plain_reply

    service.ingestor.ingest(plain_reply(thread, sender=IRO, to=[TM], cc=[BOT], text="Resolved - plan agreed",
                                        when=clock.now))
    with service.store.unit_of_work() as uow:
        assert uow.escalations.get("ESC-0001").status == "closed"
    later = datetime(2028, 11, 23, tzinfo=UTC)  # 730 days less a day: kept
    clock.now = later
    assert service.purge(dry_run=False).escalations == 0
    clock.now = datetime(2028, 11, 25, tzinfo=UTC)
    report = service.purge(dry_run=True)
    assert report.escalations == 1 and report.messages >= 2
    with service.store.unit_of_work() as uow:
        assert uow.escalations.get("ESC-0001") is not None  # a dry run deletes nothing
    service.purge()
    with service.store.unit_of_work() as uow:
        assert uow.escalations.get("ESC-0001") is None


def test_exchange_online_imap_and_smtp_take_xoauth2_tokens_from_the_app_registration(tmp_path: Path) -> None:
    from mailbot.transports.imap import ImapSource
    from mailbot.transports.msauth import TokenProvider
    from mailbot.transports.registry import open_sender, open_source
    from mailbot.transports.smtp import SmtpSender

    config = parse_config({
        "council": {"name": "Example Council", "domains": ["example.test"]},
        "security": TRIAL_SECURITY,
        "mailbox": {"transport": "imap", "address": BOT,
                    "imap": {"host": "outlook.office365.com", "username": BOT, "auth": "xoauth2"},
                    "graph": {"tenant_id": "t", "client_id": "c", "client_secret_env": "UNSET_FOR_THIS_TEST"}},
        "mail_out": {"transport": "smtp", "smtp": {"host": "smtp.office365.com", "auth": "xoauth2"}},
    }, source="test", base=tmp_path)
    source = open_source(config)
    assert isinstance(source, ImapSource) and source._password is None
    provider = source._token_provider
    assert getattr(provider, "__self__", None).__class__ is TokenProvider
    assert getattr(provider, "__func__", None) is TokenProvider.imap_smtp_token
    sender = open_sender(config)
    assert isinstance(sender, SmtpSender)
    assert (sender.host, sender.port, sender.security) == ("smtp.office365.com", 587, "starttls")


# ---- the purge in the local mail folders (see also tests/store/test_purge_everywhere.py) ----------------------


def _loose_mail(subject: str, when: datetime, message_id: str | None) -> bytes:
    """A mail from the IRO that opens nothing and matches nothing: kept for attention, raw."""
    from email.message import EmailMessage
    from email.utils import format_datetime

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Date"] = IRO, BOT, subject, format_datetime(when)
    if message_id is not None:
        msg["Message-ID"] = message_id
    msg.set_content("Could someone look at the plan for Alex Brown, please?\n")
    return msg.as_bytes()


def _mail_texts(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and p.parent.name in ("new", "cur")}


def test_purge_removes_unmatched_mail_from_the_attention_folder_with_or_without_a_message_id(
        tmp_path: Path, clock: Clock) -> None:
    service = App(make_config(tmp_path), clock=clock)
    source = service.source
    source.drop(outlook_escalation(Thread(SUBJECT), subject=SUBJECT, when=clock.now))  # type: ignore[attr-defined]
    source.drop(_loose_mail("Query about Alex Brown", clock.now, None))  # type: ignore[attr-defined]
    source.drop(_loose_mail("Question about Alex Brown", clock.now, "<loose-1@example.test>"))  # type: ignore[attr-defined]
    assert sorted(r.outcome for r in service.poll_once()) == ["opened", "unmatched", "unmatched"]
    inbox = tmp_path / "in"
    assert len([k for k in _mail_texts(inbox) if k.startswith(".attention")]) == 2
    with service.store.unit_of_work() as uow:
        assert any(m.identity.startswith("fingerprint:") for m in uow.messages.attention())
    before = _mail_texts(inbox)

    clock.advance(days=91)  # past store.unmatched_retention_days (90); the open record stays
    dry = service.purge(dry_run=True)
    assert (dry.unmatched_messages, dry.inbox_files, dry.sent_files, dry.escalations) == (2, 2, 0, 0)
    assert _mail_texts(inbox) == before

    report = service.purge()
    assert report == dry
    after = _mail_texts(inbox)
    assert [k for k in after if k.startswith(".attention")] == []
    assert len(after) == 1 and b"Jane Doe" in next(iter(after.values()))  # the open record's mail stays
    assert not any(b"Alex Brown" in raw for raw in after.values())
    with service.store.unit_of_work() as uow:
        assert uow.messages.attention() == []
        assert uow.escalations.get("ESC-0001") is not None
    service.close()


def test_purge_says_the_council_mail_system_keeps_its_own_copies(tmp_path: Path, clock: Clock) -> None:
    config = parse_config({
        "council": {"name": "Example Council", "domains": ["example.test"]},
        "security": TRIAL_SECURITY,
        "mailbox": {"transport": "imap", "address": BOT,
                    "imap": {"host": "imap.example.test", "username": BOT, "password_env": "UNSET_FOR_THIS_TEST"}},
        "mail_out": {"transport": "smtp", "smtp": {"host": "smtp.example.test"}},
        "store": {"url": "sqlite:///bot.db"},
    }, source="test", base=tmp_path)
    service = App(config, clock=clock)
    report = service.purge()
    assert report.files == 0 and report.total == 0
    assert report.elsewhere == (
        "the mailbox is read over imap: the council's mail system keeps its copies of the purged mails under its "
        "own retention",
        "mail is sent over smtp: copies in Sent Items and in the recipients' mailboxes are kept under the council's "
        "mail system's own retention",
    )
    assert service._source is None and service._sender is None  # no server was asked for anything
    service.close()


def test_one_poll_drains_the_backlog_a_batch_at_a_time_or_takes_a_limit(
        tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """`mailbot poll --once` reads all that waits (issue 14), a batch at a time, each batch settled before the next
    is read; ``limit`` stops it sooner; the watcher still takes one batch a poll."""
    import mailbot.app

    monkeypatch.setattr(mailbot.app, "POLL_BATCH", 3)
    service = App(make_config(tmp_path), clock=clock)
    polls: list[int] = []
    real_poll = service.ingestor.poll
    monkeypatch.setattr(service.ingestor, "poll", lambda source, limit: polls.append(limit) or real_poll(source, limit))
    for n in range(8):
        service.source.drop(_loose_mail(f"Question {n} about Alex Brown", clock.now,  # type: ignore[attr-defined]
                                        f"<loose-{n}@example.test>"))
    assert len(service.poll_once(limit=4)) == 4
    assert polls == [3, 1]
    polls.clear()
    assert [r.identity for r in service.poll_once()] == [f"loose-{n}@example.test" for n in range(4, 8)]
    assert polls == [3, 3]  # the second batch was not full: nothing more waits
    assert _mail_texts(tmp_path / "in").keys() == {k for k in _mail_texts(tmp_path / "in") if k.startswith(".")}
    polls.clear()
    assert service.watcher.poll() == [] and polls == [3]
