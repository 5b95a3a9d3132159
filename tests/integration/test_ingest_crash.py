"""kill -9 while mail is read: nothing lost, nothing recorded twice, on a local Maildir and on real dovecot IMAP.

The bot is a forked child (the whole App: SQLite store, source, ingest) killed with SIGKILL at a random moment while
it reads a batch of realistic mails; it is started again and again until a run finishes untouched. Then every mail
must be recorded exactly once (by Message-ID) and settled out of the inbox. The figures are printed (``-rA`` or
``-s`` shows them) and attached to the test report.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailbot.app import App
from mailbot.config import Config
from mailbot.transports.imap import ImapSource
from mailbot.transports.maildir import MaildirSource
from mailbot.transports.source import MailSource
from store.uow import Store
from tests.botsetup import OPENED, example_config
from tests.mailfactory import IRO, QA, TM, Thread, outlook_escalation, outlook_reply, plain_reply
from tests.servers import DEFAULT_PASSWORD, DovecotServer

pytestmark = pytest.mark.integration

KILLS = 55  # per mailbox kind: at least 100 in all
MAILS = 30


def _mails() -> list[bytes]:
    """Escalations for several cases and replies in their threads, oldest first."""
    out: list[bytes] = []
    when = OPENED
    for n in range(MAILS // 3):
        subject = (f"Action - Level 1 escalation - Child {chr(65 + n)} Smith - MOSAIC {700000 + n} - "
                   "response by 08/12/2026")
        thread = Thread(subject, seed=f"case-{n}")  # its own conversation and Message-IDs
        out.append(outlook_escalation(thread, subject=subject, when=when))
        out.append(outlook_reply(thread, sender=TM, to=[IRO], cc=[QA], text=f"Looking at case {n} today.",
                                 when=when + timedelta(minutes=5)))
        out.append(plain_reply(thread, sender=IRO, to=[TM], cc=[QA], text=f"Note: chased by phone {n}.",
                               when=when + timedelta(minutes=9)))
        when += timedelta(minutes=15)
    return out


def _message_id(raw: bytes) -> str:
    import email

    return str(email.message_from_bytes(raw)["Message-ID"]).strip().strip("<>")


def _run_child(config: Config, source: Callable[[], MailSource]) -> int:
    """Fork the bot; it polls until the inbox is empty, then exits 0. Returns the child's pid."""
    pid = os.fork()
    if pid == 0:  # the child: its own store connections and mailbox session
        code = 1
        try:
            app = App(config, source=source(), clock=lambda: datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
            while app.poll_once():
                pass
            code = 0
        finally:
            os._exit(code)
    return pid


def _crash_loop(config: Config, source: Callable[[], MailSource], rng: random.Random) -> dict[str, int]:
    kills = finished = 0
    while kills < KILLS or not finished:
        pid = _run_child(config, source)
        if kills < KILLS:
            time.sleep(rng.uniform(0.0, 0.35))
            with contextlib.suppress(ProcessLookupError):  # it may have finished already
                os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            kills += 1
        elif os.WIFEXITED(status):
            assert os.WEXITSTATUS(status) == 0, "the bot failed without being killed"
            finished += 1
    return {"kills": kills, "finished": finished}


def _recorded(store: Store) -> list[str]:
    with store.unit_of_work() as uow:
        from sqlalchemy import select

        from store.models import Message

        return list(uow.session.scalars(select(Message.message_id).where(Message.direction == "in")))


def _report(record_property: Callable[[str, object], None], kind: str, figures: dict[str, int]) -> None:
    line = f"kill -9 during ingest ({kind}): " + " ".join(f"{k}={v}" for k, v in figures.items())
    print(line)
    record_property(f"ingest_crash_{kind}", line)


def test_kill_9_while_reading_a_maildir(tmp_path: Path, record_property: Callable[[str, object], None]) -> None:
    config = example_config(tmp_path)
    inbox = MaildirSource(config.mailbox.maildir)
    mails = _mails()
    for raw in mails:
        inbox.drop(raw)
    figures = _crash_loop(config, lambda: MaildirSource(config.mailbox.maildir), random.Random(20261124))
    store = Store(config.store.url)
    recorded = _recorded(store)
    wanted = {_message_id(raw) for raw in mails}
    figures.update(mails=len(mails), recorded=len(recorded), lost=len(wanted - set(recorded)),
                   duplicated=len(recorded) - len(set(recorded)), left_in_inbox=len(list(inbox.fetch(None))))
    _report(record_property, "maildir", figures)
    assert figures["kills"] >= KILLS
    assert (figures["lost"], figures["duplicated"], figures["left_in_inbox"]) == (0, 0, 0)


def test_kill_9_while_reading_imap(tmp_path: Path, dovecot: DovecotServer, mailbox_user: str,
                                   record_property: Callable[[str, object], None]) -> None:
    config = example_config(tmp_path)
    mails = _mails()
    for raw in mails:
        dovecot.append(mailbox_user, raw)

    def source() -> MailSource:
        return ImapSource(dovecot.host, dovecot.imap_port, mailbox_user, password=DEFAULT_PASSWORD, security="none",
                          processed_folder="Processed", attention_folder="Needs attention", timeout=5)

    figures = _crash_loop(config, source, random.Random(20261125))
    store = Store(config.store.url)
    recorded = _recorded(store)
    wanted = {_message_id(raw) for raw in mails}
    left = len(dovecot.messages(mailbox_user))
    figures.update(mails=len(mails), recorded=len(recorded), lost=len(wanted - set(recorded)),
                   duplicated=len(recorded) - len(set(recorded)), left_in_inbox=left)
    _report(record_property, "imap", figures)
    assert figures["kills"] >= KILLS
    assert (figures["lost"], figures["duplicated"]) == (0, 0)
    assert left == 0, f"{left} recorded mail(s) stranded in INBOX after a crash between the commit and the move"
