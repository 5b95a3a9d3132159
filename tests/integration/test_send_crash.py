"""kill -9 while sending, again and again: nothing is lost, and nothing is sent twice where Sent Items can be checked.

The real deliverer runs in a process of its own (tests/integration/killable.py: forked from a zygote that imported
the bot once, so that it can be started again at once), against the real servers: aiosmtpd delivering into dovecot
over LMTP, and the bot's mailbox in dovecot with a Sent folder (``mailbox.imap.sent_folder``) — "IMAP+Sent" — or a
local Maildir. Each run is SIGKILLed at a random moment of its sending (uniform over the time a whole batch takes);
the next run starts with its clock past the dead run's leases, so what the dead run had claimed is in doubt. At the
end one last run sends whatever is left, and every mailbox is counted by Message-ID:

- **lost** — a recipient without the mail: must be 0 everywhere;
- **duplicated** — extra copies a recipient got: must be 0 on all three (the third: SMTP with the bot's mailbox a
  local Maildir its server delivers to, where the mailbox's own copy is looked for). On Maildir the check is exact
  (the file is in the sent folder or not). On IMAP+Sent the SMTP sender makes the bot's own mailbox one more
  envelope recipient of each mail (``mail_out.smtp.copy_to_mailbox``, on by default), so the server delivers the bot
  a copy exactly when it takes the mail, whenever the kill lands; the search before sending again finds it in the
  inbox even when the kill came before the Sent folder's APPEND (see mailbot/transports/smtp.py).

The figures are printed (``pytest -s``/``-rA``) and kept as ``record_property`` values. Set MAILBOT_CRASH_SEED to
replay a run's kill moments, MAILBOT_CRASH_KILLS for more kills than the 26 per transport of the test command.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import os
import random
import statistics
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mailbot.config import parse_config
from mailbot.mail_out.outbox import queue_mail
from store.models import Event
from store.uow import Store, utc_now
from tests.integration.killable import DelivererProcesses
from tests.servers import DEFAULT_PASSWORD, DovecotServer, SmtpServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("MAILBOT_CRASH_KILLS") or 26)  # per transport: 78 in all (more: set the variable)
BATCH = 3  # mails queued at a time, and the deliverer's limit per round
PASSWORD_ENV = "MAILBOT_TEST_CRASH_IMAP_PASSWORD"
STEP = timedelta(minutes=11)  # each run's clock is this much later than the last one's: past its leases


def message_ids(raws: list[bytes]) -> Counter[str]:
    found: Counter[str] = Counter()
    for raw in raws:
        value = email.message_from_bytes(raw, policy=email.policy.compat32).get("Message-ID", "")
        found[str(value).strip().strip("<>")] += 1
    return found


class Scenario:
    """One transport: the config the deliverer runs with, the people it writes to, and how to count copies."""

    def __init__(self, name: str, config: dict[str, Any], base: Path, recipients: list[str],
                 copies: Callable[[], dict[str, Counter[str]]], filed: Callable[[], Counter[str]] | None) -> None:
        self.name = name
        self.config = config
        self.base = base
        self.recipients = recipients
        self.copies = copies  # recipient -> Message-ID -> copies
        self.filed = filed  # Message-ID -> copies in the Sent folder, where the sender files its own


@pytest.fixture()
def imap_sent(smtp: SmtpServer, dovecot: DovecotServer, mailbox_user: str, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Scenario:
    monkeypatch.setenv(PASSWORD_ENV, DEFAULT_PASSWORD)
    tag = uuid.uuid4().hex[:8]
    people = [dovecot.add_user(f"{role}-{tag}@example.test") for role in ("tm", "qa")]
    config = {
        "council": {"name": "Example Council", "domains": ["example.test"]},
        "mailbox": {"transport": "imap", "address": mailbox_user,
                    "imap": {"host": dovecot.host, "port": dovecot.imap_port, "security": "none",
                             "username": mailbox_user, "password_env": PASSWORD_ENV, "sent_folder": "Sent"}},
        "mail_out": {"transport": "smtp",
                     "smtp": {"host": smtp.host, "port": smtp.port, "security": "none", "timeout": 10}},
    }
    return Scenario("imap+sent", config, tmp_path, people,
                    lambda: {p: message_ids(dovecot.messages(p)) for p in people},
                    lambda: message_ids(dovecot.messages(mailbox_user, "Sent")))


@pytest.fixture()
def maildir(tmp_path: Path) -> Scenario:
    config = {
        "council": {"name": "Example Council", "domains": ["example.test"]},
        "mailbox": {"address": "iro-escalations@example.test", "maildir": "mail"},
        "mail_out": {"transport": "maildir", "maildir": "sent"},
    }
    folder = tmp_path / "sent"

    def copies() -> dict[str, Counter[str]]:
        box = mailbox.Maildir(folder, factory=None, create=False)
        found = message_ids([box.get_bytes(key) for key in box.iterkeys()])
        return {"(the sent folder)": found}

    return Scenario("maildir", config, tmp_path, ["tm@example.test", "qa@example.test"], copies, None)


@pytest.fixture()
def smtp_own_copy(tmp_path: Path) -> Iterator[Scenario]:
    """SMTP out, the bot's mailbox a local Maildir its server delivers to: the mailbox's own copy is searched."""
    bot = "iro-escalations@example.test"
    with SmtpServer(maildirs={bot: tmp_path / "mail"}) as server:
        config = {
            "council": {"name": "Example Council", "domains": ["example.test"]},
            "mailbox": {"address": bot, "maildir": "mail"},
            "mail_out": {"transport": "smtp",
                         "smtp": {"host": server.host, "port": server.port, "security": "none", "timeout": 10}},
        }

        def copies() -> dict[str, Counter[str]]:  # one DATA per mail sent, whatever its recipients
            return {"(the SMTP server)": message_ids([m.raw for m in server.received])}

        yield Scenario("smtp+own-copy", config, tmp_path, ["tm@example.test", "qa@example.test"], copies, None)


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    made = Store(f"sqlite:///{tmp_path / 'bot.db'}")
    made.upgrade()
    yield made
    made.dispose()


@pytest.mark.parametrize("transport", ["imap_sent", "smtp_own_copy", "maildir"])
def test_kill_9_while_sending_loses_nothing_and_duplicates_only_what_cannot_be_checked(
        transport: str, request: pytest.FixtureRequest, store: Store, tmp_path: Path,
        record_property: Callable[[str, object], None]) -> None:
    scenario: Scenario = request.getfixturevalue(transport)
    config = parse_config(scenario.config, source="crash-test", base=scenario.base)
    url = str(store.engine.url)
    seed = int(os.environ.get("MAILBOT_CRASH_SEED") or random.randrange(2**32))
    rng = random.Random(seed)
    queued: list[str] = []

    def queue_batch() -> None:
        now = utc_now()
        with store.unit_of_work() as uow:
            for n in range(BATCH):
                key = f"crash-{len(queued):03d}-{uuid.uuid4().hex[:6]}"
                row = queue_mail(uow, config, key=key, kind="chase", to=scenario.recipients[:1],
                                 cc=scenario.recipients[1:], subject=f"Crash test {key}",
                                 text="Please respond by Friday.\n", now=now + timedelta(milliseconds=n))
                queued.append(row.message_id)

    def pending() -> int:
        with store.unit_of_work() as uow:
            return len(uow.outbox.by_status("pending", limit=10_000))

    offset = timedelta(0)
    kills = runs = 0
    timings: list[tuple[float, float]] = []
    with DelivererProcesses(ROOT, log=tmp_path / "deliverer.log") as procs:
        queue_batch()  # a whole batch without a kill: how long sending one takes, for the kill moments
        first = procs.run(url, scenario.config, scenario.base, offset=offset, limit=BATCH)
        whole, timings = first.seconds, first.timings
        while kills < KILLS:
            if not pending():
                queue_batch()
            offset += STEP
            run = procs.run(url, scenario.config, scenario.base, offset=offset, limit=BATCH,
                            kill_after=rng.uniform(0, whole))
            kills += run.killed
            runs += 1
            timings += run.timings
            assert runs <= KILLS * 5, f"the deliverer finished before the kill too often ({kills} kills)"
        for _ in range(3):  # the last runs, unharmed, send what is left (back-offs of up to a day included)
            offset += timedelta(days=1)
            timings += procs.run(url, scenario.config, scenario.base, offset=offset, limit=BATCH).timings
            if not pending():
                break
    with store.unit_of_work() as uow:
        rows = uow.outbox.by_status(limit=10_000)
        statuses = Counter(r.status for r in rows)
        in_doubt = sum(1 for r in rows if r.attempts > 1)  # claimed by a run that died (or failed) before
        confirmed = uow.session.query(Event).filter(Event.kind == "send_confirmed").count()
    assert statuses == {"sent": len(queued)}, statuses

    copies = scenario.copies()
    lost = sorted({mid for counts in copies.values() for mid in queued if counts[mid] == 0})
    duplicated = sorted({mid for counts in copies.values() for mid in queued if counts[mid] > 1})
    extra = sum(max(counts[mid] - 1, 0) for counts in copies.values() for mid in queued)
    sends, windows = [t[0] for t in timings], [t[1] for t in timings]
    figures = {"seed": seed, "mails": len(queued), "runs": runs, "kills": kills, "in_doubt": in_doubt,
               "found_in_sent": confirmed, "lost": len(lost), "duplicated": len(duplicated), "extra_copies": extra,
               "send_ms_p50": round(statistics.median(sends) * 1000, 2),
               "window_ms_p50": round(statistics.median(windows) * 1000, 2)}
    print(f"\nsend crash [{scenario.name}]: " + " ".join(f"{k}={v}" for k, v in figures.items()))
    for key, value in figures.items():
        record_property(f"{scenario.name}_{key}", value)

    assert lost == [], f"lost: {lost}"
    assert duplicated == [], f"duplicated: {duplicated} (seed {seed})"
    if scenario.filed is not None:  # never sent again, so never filed twice (a kill may come before the APPEND)
        filed = scenario.filed()
        assert {mid: filed[mid] for mid in queued if filed[mid] > 1} == {}


def test_imap_sent_folder_files_and_finds_by_message_id(dovecot: DovecotServer, mailbox_user: str) -> None:
    from mailbot.transports.imap import ImapSentFolder

    folder = ImapSentFolder(dovecot.host, dovecot.imap_port, mailbox_user, password=DEFAULT_PASSWORD,
                            security="none", folder="Sent", timeout=10)
    raw = (b"From: IRO escalations <" + mailbox_user.encode() + b">\r\nTo: tm@example.test\r\n"
           b"Message-ID: <ESC-0042.l1.chase1.3f9a@example.test>\r\nSubject: chaser\r\n\r\nPlease respond.\r\n")
    with folder:
        assert folder.contains("ESC-0042.l1.chase1.3f9a@example.test") is False  # no folder: nothing filed
        dovecot.append(mailbox_user, raw)  # the same mail in the INBOX is not a sent copy
        assert folder.contains("ESC-0042.l1.chase1.3f9a@example.test") is False
        folder.append(raw)
        assert folder.contains("ESC-0042.l1.chase1.3f9a@example.test") is True
        assert folder.contains("<ESC-0042.l1.chase1.3f9a@example.test>") is True
        assert folder.contains("ESC-0042.l1.chase1@example.test") is False  # HEADER search matches substrings
        assert folder._client is not None
        folder._client.shutdown()  # the connection breaks: made again once
        assert folder.contains("ESC-0042.l1.chase1.3f9a@example.test") is True
    assert dovecot.messages(mailbox_user, "Sent") == [raw]
    client = dovecot.imap(mailbox_user)
    try:
        client.select_folder("Sent", readonly=True)
        [(_, flags)] = client.get_flags(client.search("ALL")).items()
        assert b"\\Seen" in flags
    finally:
        client.logout()
