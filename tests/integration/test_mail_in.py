"""Mail in, end to end: a real dovecot mailbox, the real `mailbot` command, a real SQLite store.

These are the issue's acceptance tests: five mails of one conversation become one record with five timeline
entries; a second poll changes nothing; a new Level 2 mail moves the record; a running watcher sees new mail
through IDLE within two seconds; a dropped connection, a UIDVALIDITY change and an unreadable mail lose
nothing and duplicate nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from store.uow import Store
from tests.botsetup import (
    COUNCIL_TOML,
    TRIAL_SECURITY_TOML,
    directory_people,
    directory_toml,
    imap_mailbox_toml,
    sqlite_store_toml,
)
from tests.mailfactory import (
    BOT,
    IRO,
    QA,
    SM,
    TM,
    Thread,
    exchange_out_of_office,
    outlook_escalation,
    outlook_reply,
    plain_reply,
    postfix_bounce,
)
from tests.servers import DEFAULT_PASSWORD, DovecotServer

pytestmark = pytest.mark.integration

SUBJECT = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
LEVEL2 = "Action - Level 2 escalation - Jane Doe - MOSAIC 123456 - response by 08/12/2026"
START = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
#: When the conversation's mails are read (``--now``): the same afternoon, so "response by 01/12/2026" is still ahead
#: whatever the date the tests run on.
READ_AT = (START + timedelta(hours=6)).isoformat()
PASSWORD_ENV = "MAILBOT_TEST_IMAP_PASSWORD"

Mailbot = Callable[..., subprocess.CompletedProcess[str]]


def write_config(tmp_path: Path, dovecot: DovecotServer, user: str, *, poll_seconds: int = 60) -> Path:
    path = tmp_path / "mailbot.toml"
    imap = imap_mailbox_toml(dovecot, address=BOT, username=user, password_env=PASSWORD_ENV, poll_seconds=poll_seconds,
                             processed_folder="Processed", attention_folder="Needs attention")
    path.write_text(f"""
{COUNCIL_TOML}
{imap}
{sqlite_store_toml(tmp_path)}
{directory_toml(directory_people(head=None))}
{TRIAL_SECURITY_TOML}""")
    return path


def _env(config: Path) -> dict[str, str]:
    return {**os.environ, "MAILBOT_CONFIG": str(config), PASSWORD_ENV: DEFAULT_PASSWORD, "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def config(tmp_path: Path, dovecot: DovecotServer, mailbox_user: str) -> Path:
    return write_config(tmp_path, dovecot, mailbox_user)


@pytest.fixture
def mailbot(config: Path) -> Mailbot:
    """Run the installed command line exactly as an operator would."""

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "mailbot.cli", *args], env=_env(config), capture_output=True,
                              text=True, timeout=120)
        if check and done.returncode != 0:
            raise AssertionError(f"mailbot {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    return run


def records(mailbot: Mailbot) -> list[dict[str, Any]]:
    return json.loads(mailbot("list", "--json").stdout)  # type: ignore[no-any-return]


def show(mailbot: Mailbot, ref: str) -> dict[str, Any]:
    return json.loads(mailbot("show", ref, "--json").stdout)  # type: ignore[no-any-return]


def message_id(raw: bytes) -> str:
    import email

    return str(email.message_from_bytes(raw)["Message-ID"]).strip("<>")


def conversation() -> list[bytes]:
    """The escalation, an Outlook HTML reply, a reply without References, an out-of-office and a bounce."""
    thread = Thread(SUBJECT, seed="mail-in")
    t = START
    return [
        outlook_escalation(thread, subject=SUBJECT, when=t),
        outlook_reply(thread, sender=TM, to=[IRO], cc=[QA, BOT], when=t + timedelta(hours=2),
                      text="Hi Jane,\n\nThe plan goes to panel on Thursday and I will confirm after.\n\nTom"),
        plain_reply(thread, sender=SM, to=[IRO], cc=[BOT], when=t + timedelta(hours=3), references=False,
                    text="Jane, I have asked Tom to send you the panel date in writing."),
        exchange_out_of_office(thread, sender=QA, when=t + timedelta(hours=3, minutes=1)),
        postfix_bounce(thread, failed="left.the.council@example.test", when=t + timedelta(hours=3, minutes=2)),
    ]


def test_one_poll_makes_one_record_with_the_whole_conversation(
    dovecot: DovecotServer, mailbox_user: str, mailbot: Mailbot
) -> None:
    mails = conversation()
    for raw in mails:
        dovecot.append(mailbox_user, raw)

    out = mailbot("--now", READ_AT, "poll", "--once").stdout
    assert "5 mail(s) read, 0 need attention" in out

    [record] = records(mailbot)
    assert (record["status"], record["level"], record["case_numbers"]) == ("open", 1, ["123456"])
    detail = show(mailbot, record["reference"])
    timeline = detail["timeline"]
    assert [(e["event"], e["mail"]["kind"]) for e in timeline] == [
        ("opened", "human"),
        ("response", "human"),
        ("response", "human"),
        ("auto_reply", "auto_reply"),
        ("bounce", "bounce"),
    ]
    assert [e["mail"]["message_id"] for e in timeline] == [message_id(raw) for raw in mails]
    assert timeline[1]["mail"]["new_text"].startswith("Hi Jane,\n\nThe plan goes to panel on Thursday")
    assert "Dear Tom" not in timeline[1]["mail"]["new_text"]  # quoted history is not the reply
    assert timeline[4]["data"]["failed_recipients"] == ["left.the.council@example.test"]
    # the out-of-office is not a response and leaves the due date alone
    assert detail["stages"][0]["due_on"] == "2026-12-01"
    # processed mail is moved out of the inbox
    assert dovecot.messages(mailbox_user) == []
    assert len(dovecot.messages(mailbox_user, "Processed")) == 5

    # running it again changes nothing
    again = mailbot("--now", READ_AT, "poll", "--once").stdout
    assert "0 mail(s) read" in again
    assert show(mailbot, record["reference"]) == detail
    # nor does the same mail put back into the inbox (say, by a person dragging it back)
    for raw in mails:
        dovecot.append(mailbox_user, raw)
    out = mailbot("--now", READ_AT, "poll", "--once").stdout
    assert out.count("duplicate") == 5
    assert show(mailbot, record["reference"]) == detail

    # a second, new Level 2 mail for the same case escalates the same record instead of opening another
    dovecot.append(mailbox_user, outlook_escalation(Thread(LEVEL2, seed="level-2"), subject=LEVEL2, to=SM,
                                                    when=START + timedelta(days=8)))
    mailbot("--now", (START + timedelta(days=8, hours=1)).isoformat(), "poll", "--once")
    [record2] = records(mailbot)
    assert record2["reference"] == record["reference"]
    assert (record2["level"], record2["addressee"], record2["due_on"]) == (2, SM, "2026-12-08")
    detail2 = show(mailbot, record["reference"])
    assert [s["level"] for s in detail2["stages"]] == [1, 2]
    assert detail2["timeline"][-1]["event"] == "escalated"


def test_unreadable_mail_is_kept_flagged_and_reported(
    dovecot: DovecotServer, mailbox_user: str, mailbot: Mailbot, tmp_path: Path
) -> None:
    dovecot.append(mailbox_user, b"\x00\x01\x02 this is not a mail at all \xff\xfe")
    dovecot.append(mailbox_user, b"Subject: lunch on Friday?\r\nFrom: someone@example.test\r\n\r\nAnyone?\r\n")
    out = mailbot("poll", "--once").stdout
    assert "2 mail(s) read, 2 need attention" in out
    assert records(mailbot) == []
    assert len(dovecot.messages(mailbox_user, "Needs attention")) == 2
    store = Store(f"sqlite:///{tmp_path / 'bot.db'}")
    with store.unit_of_work() as uow:
        kept = uow.messages.attention()
        assert sorted(m.kind for m in kept) == ["human", "unreadable"]
        unreadable = next(m for m in kept if m.kind == "unreadable")
        assert unreadable.raw is not None and b"this is not a mail" in unreadable.raw
        assert unreadable.attention_reason
    # a second poll neither loses nor repeats them
    assert "0 mail(s) read" in mailbot("poll", "--once").stdout


@pytest.fixture
def watcher(tmp_path: Path, dovecot: DovecotServer, mailbox_user: str) -> Iterator[subprocess.Popen[str]]:
    config = write_config(tmp_path, dovecot, mailbox_user, poll_seconds=600)  # only IDLE can wake it in time
    proc = subprocess.Popen([sys.executable, "-m", "mailbot.cli", "run"], env=_env(config),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _wait_for(check: Callable[[], bool], seconds: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"not done within {seconds} s")


def _count(store: Store) -> int:
    from sqlalchemy.exc import OperationalError

    try:
        with store.unit_of_work() as uow:
            return len(uow.escalations.list())
    except OperationalError:  # the service has not created its tables yet
        return -1


def test_a_running_watcher_records_new_mail_within_two_seconds(
    dovecot: DovecotServer, mailbox_user: str, watcher: subprocess.Popen[str], tmp_path: Path
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'bot.db'}")
    first = Thread(SUBJECT, seed="idle-1")
    dovecot.append(mailbox_user, outlook_escalation(first, subject=SUBJECT, when=START))
    _wait_for(lambda: _count(store) == 1, 30)  # started and watching
    time.sleep(0.5)  # let it settle into IDLE
    other = "Action - Level 1 escalation - Sam Smith - LCS 998877 - response by 02/12/2026"
    dovecot.append(mailbox_user, outlook_escalation(Thread(other, seed="idle-2"), subject=other, when=START))
    took = _wait_for(lambda: _count(store) == 2, 2.0)
    assert took < 2.0
    watcher.send_signal(signal.SIGTERM)
    assert watcher.wait(timeout=10) == 0
    _, err = watcher.communicate()
    assert "Jane Doe" not in err and "Sam Smith" not in err  # children's names never reach the log
    assert "service stopped" in err


# ---- nothing lost, nothing duplicated: at the level of records, with the service in this process -------------


def _service(tmp_path: Path, dovecot: DovecotServer, user: str, folder: str = "INBOX") -> Any:
    from mailbot.app import App
    from mailbot.config import load_config
    from mailbot.transports.imap import ImapSource

    config = load_config(write_config(tmp_path, dovecot, user))
    source = ImapSource(dovecot.host, dovecot.imap_port, user, password=DEFAULT_PASSWORD, security="none",
                        folder=folder, timeout=5)
    return App(config, source=source)


def _escalation(seed: str, child: str, case: str) -> bytes:
    subject = f"Action - Level 1 escalation - {child} - MOSAIC {case} - response by 01/12/2026"
    return outlook_escalation(Thread(subject, seed=seed), subject=subject, when=START)


def test_a_dropped_connection_loses_and_duplicates_nothing(
    dovecot: DovecotServer, mailbox_user: str, tmp_path: Path
) -> None:
    import socket

    service = _service(tmp_path, dovecot, mailbox_user)
    try:
        dovecot.append(mailbox_user, _escalation("drop-1", "Amy Khan", "100001"))
        assert [r.outcome for r in service.poll_once()] == ["opened"]
        service.source._client.socket().shutdown(socket.SHUT_RDWR)  # the network goes away under us
        dovecot.append(mailbox_user, _escalation("drop-2", "Beth Khan", "100002"))
        assert service.source.wait(5) is True  # reconnected, and says: catch up
        assert [r.outcome for r in service.poll_once()] == ["opened"]
        service.source._client.socket().shutdown(socket.SHUT_RDWR)
        assert service.poll_once() == []  # reconnects inside fetch; nothing new, nothing repeated
        with service.store.unit_of_work() as uow:
            assert len(uow.escalations.list()) == 2
    finally:
        service.close()


def test_a_uidvalidity_change_loses_and_duplicates_nothing(
    dovecot: DovecotServer, mailbox_user: str, tmp_path: Path
) -> None:
    first, second, third = (_escalation(f"uv-{n}", f"Child {n}", f"20000{n}") for n in (1, 2, 3))
    dovecot.append(mailbox_user, first, folder="Escalations")
    dovecot.append(mailbox_user, second, folder="Escalations")
    service = _service(tmp_path, dovecot, mailbox_user, folder="Escalations")
    try:
        assert [r.outcome for r in service.poll_once()] == ["opened", "opened"]
        with service.store.unit_of_work() as uow:
            before = uow.cursors.get(service.source.key)
        # the server rebuilds the folder (a restore, a migration): new UIDVALIDITY, the same mails again
        client = dovecot.imap(mailbox_user)
        try:
            client.delete_folder("Escalations")
        finally:
            client.logout()
        for raw in (first, second, third):
            dovecot.append(mailbox_user, raw, folder="Escalations")
        results = service.poll_once()
        assert [r.outcome for r in results] == ["duplicate", "duplicate", "opened"]
        with service.store.unit_of_work() as uow:
            assert len(uow.escalations.list()) == 3
            after = uow.cursors.get(service.source.key)
        assert before and after and before.split(":")[0] != after.split(":")[0]
    finally:
        service.close()
