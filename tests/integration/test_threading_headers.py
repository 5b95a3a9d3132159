"""Threading headers survive real SMTP into dovecot with Exchange Online-length Message-IDs.

The IRO writes from Exchange Online (Message-ID ~80 characters, Outlook's Thread-Index); the bot opens the record
and queues a mail to the Team Manager; the real deliverer sends it through aiosmtpd, which delivers it into the
manager's dovecot mailbox over LMTP. The mail read back from IMAP has In-Reply-To naming the IRO's mail byte for
byte (never an RFC 2047 encoded word), References made only of valid msg-ids, and Outlook's conversation.
"""

from __future__ import annotations

import base64
import email
import email.policy
import re
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from mailbot.mail_in.ingest import Ingestor
from mailbot.mail_out.delivery import Deliverer
from mailbot.mail_out.outbox import queue_mail
from mailbot.transports.smtp import SmtpSender
from store.uow import Store
from tests.botsetup import Clock, example_config
from tests.servers import DovecotServer, SmtpServer

pytestmark = pytest.mark.integration

OPENED = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
ROOT_INDEX = "AQHbXq1wq3QzFZ5pRkKX0bJ1vYwC0w=="  # Exchange Online's, for a new conversation
MSG_ID = re.compile(rb"<[!-;=?-~]+@[!-;=?-~]+>")


def exchange_id(seed: str) -> str:
    """A Message-ID shaped as Exchange Online writes them: 79 characters with the brackets."""
    body = uuid.uuid5(uuid.NAMESPACE_DNS, seed).hex.upper()[:25]
    return f"<LO2P265MB7856{body}@LO2P265MB7856.GBRP265.PROD.OUTLOOK.COM>"


def header_lines(raw: bytes, name: bytes) -> bytes:
    """The header's raw value, folding kept (CRLF + space), as it lies in the mailbox."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    match = re.search(rb"(?im)^" + name + rb":([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head)
    assert match is not None, name
    return match.group(1)


def test_in_reply_to_and_references_arrive_byte_exact(dovecot: DovecotServer, smtp: SmtpServer, tmp_path: Path,
                                                      store: Store) -> None:
    tag = uuid.uuid4().hex[:8]
    iro, tm, qa = (dovecot.add_user(f"{role}-{tag}@example.test") for role in ("iro", "tm", "qa"))
    config = example_config(tmp_path, directory={"qa_managers": [qa]})
    clock = Clock(OPENED)
    root_id = exchange_id(f"root-{tag}")
    assert len(root_id) == 79
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Cc"] = f"Ira Reviewer <{iro}>", tm, f"{qa}, {config.mailbox.address}"
    msg["Subject"] = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
    msg["Date"] = format_datetime(OPENED)
    msg["Message-ID"] = root_id
    msg["Thread-Topic"] = "Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 01/12/2026"
    msg["Thread-Index"] = ROOT_INDEX
    msg.set_content("Dear Tom,\n\nThe care plan has not been signed off.\n\nIra\n")
    result = Ingestor(store, config, clock).ingest(msg.as_bytes())
    assert result.outcome == "opened"

    with store.unit_of_work() as uow:
        esc = uow.escalations.get(result.reference or "")
        # a reply from the manager, also with a long Exchange id, then the bot's chaser to the manager
        reply_id = exchange_id(f"reply-{tag}")
        row = queue_mail(uow, config, key=f"{esc.reference}.l1.chase.test", kind="chase", to=[tm], cc=[qa],
                         subject="Reminder: response due", text="Please respond.", escalation=esc,
                         now=OPENED + timedelta(days=2))
        assert row is not None and reply_id != root_id
        sent_id = row.message_id
    sender = SmtpSender(smtp.host, smtp.port, "none")
    report = Deliverer(store, sender, clock=lambda: OPENED + timedelta(days=2), allows=config.allows_address)\
        .deliver_pending()
    assert report.sent == [f"{result.reference}.l1.chase.test"]

    [raw] = [m for m in dovecot.messages(tm) if sent_id.encode() in m]
    in_reply_to = header_lines(raw, b"In-Reply-To")
    references = header_lines(raw, b"References")
    assert in_reply_to == b" " + root_id.encode()  # byte for byte, one line, not encoded
    assert b"=?" not in in_reply_to + references
    tokens = references.split()
    assert tokens and all(MSG_ID.fullmatch(t) for t in tokens) and tokens[0] == root_id.encode()
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(parsed["In-Reply-To"]) == root_id
    index = base64.b64decode(str(parsed["Thread-Index"]))
    assert index[:22] == base64.b64decode(ROOT_INDEX) and len(index) == 27  # the IRO's Outlook conversation
    assert str(parsed["Thread-Topic"]).startswith("Action - Level 1 escalation - Jane Doe")


def test_references_fold_between_ids_only(dovecot: DovecotServer, smtp: SmtpServer, tmp_path: Path,
                                          store: Store) -> None:
    """Ten Exchange ids in References: folded at whitespace between them, every id intact."""
    from mailbot.mail_out.delivery import build_message
    from store.models import OutboxMail

    tag = uuid.uuid4().hex[:8]
    tm = dovecot.add_user(f"tm-{tag}@example.test")
    ids = [exchange_id(f"{tag}-{n}") for n in range(10)]
    row = OutboxMail(key="k", message_id=f"k.{tag}@example.test", kind="note", from_email="bot@example.test",
                     to_emails=[tm], cc_emails=[], subject="s", body_text="t", created_at=OPENED,
                     headers={"In-Reply-To": ids[-1], "References": " ".join(ids)})
    sender = SmtpSender(smtp.host, smtp.port, "none")
    sender.send(build_message(row), [tm])
    [raw] = dovecot.messages(tm)
    folded = header_lines(raw, b"References")
    assert folded.count(b"\r\n ") == 9  # one id per line
    assert folded.split() == [i.encode() for i in ids]
