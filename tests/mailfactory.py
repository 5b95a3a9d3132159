"""Realistic mails for tests, shaped as Outlook, OWA, iPhone, Exchange and postfix send them.

Each builder returns raw RFC 5322 bytes. A :class:`Thread` keeps the Message-IDs, References and Outlook
Thread-Index of one conversation so replies thread the way real clients make them thread.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

DOMAIN = "example.test"
BOT = f"iro-escalations@{DOMAIN}"
IRO = f"jane.iro@{DOMAIN}"
TM = f"tom.manager@{DOMAIN}"
SM = f"sara.service@{DOMAIN}"
QA = f"quinn.qa@{DOMAIN}"

NAMES = {BOT: "IRO Escalations", IRO: "Jane Reviewer", TM: "Tom Manager", SM: "Sara Service", QA: "Quinn QA"}


def _addr(email: str) -> str:
    return f"{NAMES.get(email, '')} <{email}>" if email in NAMES else email


def _id(seed: str) -> str:
    return f"<{hashlib.sha1(seed.encode()).hexdigest()[:24]}@{DOMAIN}>"


@dataclass
class Thread:
    """One Outlook conversation: its root Thread-Index and every Message-ID sent in it so far."""

    topic: str
    seed: str = "thread"
    ids: list[str] = field(default_factory=list)
    replies: int = 0

    @property
    def root_index(self) -> bytes:
        # 1 reserved byte + 5 bytes of FILETIME + 16 bytes GUID = the conversation root (22 bytes)
        return b"\x01" + hashlib.sha256(self.seed.encode()).digest()[:21]

    def thread_index(self) -> str:
        child = b"".join(bytes([0, 0, 0, 0, n + 1]) for n in range(self.replies))
        return base64.b64encode(self.root_index + child).decode()

    @property
    def conversation_key(self) -> str:
        return self.root_index.hex()


def _base(thread: Thread, *, sender: str, to: list[str], cc: list[str], subject: str, when: datetime,
          seed: str, references: bool = True, thread_index: bool = True) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = _addr(sender)
    msg["To"] = ", ".join(_addr(a) for a in to)
    if cc:
        msg["Cc"] = ", ".join(_addr(a) for a in cc)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    message_id = _id(f"{thread.seed}/{seed}")
    msg["Message-ID"] = message_id
    if thread.ids and references:
        msg["In-Reply-To"] = thread.ids[-1]
        msg["References"] = " ".join(thread.ids)
    if thread_index:
        msg["Thread-Topic"] = thread.topic
        msg["Thread-Index"] = thread.thread_index()
    msg["X-MS-Has-Attach"] = ""
    msg["Content-Language"] = "en-GB"
    thread.ids.append(message_id)
    thread.replies += 1
    return msg


def outlook_escalation(thread: Thread, *, subject: str, when: datetime, sender: str = IRO, to: str = TM,
                       cc: tuple[str, ...] = (QA, SM, BOT), concern: str | None = None) -> bytes:
    """The IRO's first mail, from Outlook desktop: multipart/alternative with Word-made HTML."""
    concern = concern or (
        "The care plan has not been signed off and the placement review is overdue. Please confirm by the date "
        "in the subject who will complete the plan and when."
    )
    msg = _base(thread, sender=sender, to=[to], cc=list(cc), subject=subject, when=when, seed="escalation")
    msg.set_content(f"Dear Tom,\n\n{concern}\n\nKind regards\nJane Reviewer\nIndependent Reviewing Officer\n")
    msg.add_alternative(
        "<html xmlns:o=\"urn:schemas-microsoft-com:office:office\"><head><style>p.MsoNormal{margin:0cm;}</style>"
        "</head><body lang=\"EN-GB\"><div class=\"WordSection1\"><p class=\"MsoNormal\">Dear Tom,<o:p></o:p></p>"
        f"<p class=\"MsoNormal\"><o:p>&nbsp;</o:p></p><p class=\"MsoNormal\">{concern}<o:p></o:p></p>"
        "<p class=\"MsoNormal\"><o:p>&nbsp;</o:p></p><p class=\"MsoNormal\">Kind regards<br>Jane Reviewer<br>"
        "Independent Reviewing Officer<o:p></o:p></p></div></body></html>",
        subtype="html",
    )
    return msg.as_bytes()


def outlook_reply(thread: Thread, *, sender: str, to: list[str], cc: list[str], text: str, when: datetime,
                  quoted_from: str = IRO, references: bool = True, seed: str | None = None) -> bytes:
    """A reply from Outlook desktop: HTML with the 'From: / Sent: / To: / Subject:' block and quoted history."""
    subject = f"RE: {thread.topic}"
    msg = _base(thread, sender=sender, to=to, cc=cc, subject=subject, when=when,
                seed=seed or f"reply{thread.replies}", references=references)
    quote_head = (f"From: {NAMES.get(quoted_from, quoted_from)} <{quoted_from}>\nSent: 24 November 2026 09:12\n"
                  f"To: {', '.join(to)}\nSubject: {thread.topic}")
    msg.set_content(f"{text}\n\n{quote_head}\n\nDear Tom,\n\nThe care plan has not been signed off.\n")
    paragraphs = "".join(f"<p class=\"MsoNormal\">{line or '&nbsp;'}<o:p></o:p></p>" for line in text.split("\n"))
    msg.add_alternative(
        "<html><head><style>p.MsoNormal{margin:0cm;}</style></head><body lang=\"EN-GB\">"
        f"<div class=\"WordSection1\">{paragraphs}<p class=\"MsoNormal\"><o:p>&nbsp;</o:p></p>"
        "<div><div style=\"border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm\">"
        f"<p class=\"MsoNormal\"><b>From:</b> {NAMES.get(quoted_from, quoted_from)} &lt;{quoted_from}&gt;<br>"
        f"<b>Sent:</b> 24 November 2026 09:12<br><b>To:</b> {', '.join(to)}<br>"
        f"<b>Subject:</b> {thread.topic}<o:p></o:p></p></div></div>"
        "<p class=\"MsoNormal\">Dear Tom,<o:p></o:p></p><p class=\"MsoNormal\">The care plan has not been signed "
        "off.<o:p></o:p></p></div></body></html>",
        subtype="html",
    )
    return msg.as_bytes()


def plain_reply(thread: Thread, *, sender: str, to: list[str], cc: list[str], text: str, when: datetime,
                references: bool = True, thread_index: bool = True, seed: str | None = None) -> bytes:
    """A plain-text reply (iPhone / Gmail style), quoting with 'On … wrote:' and '>'."""
    msg = _base(thread, sender=sender, to=to, cc=cc, subject=f"Re: {thread.topic}", when=when,
                seed=seed or f"plain{thread.replies}", references=references, thread_index=thread_index)
    msg.set_content(f"{text}\n\nSent from my iPhone\n\nOn 24 Nov 2026, at 09:12, Jane Reviewer <{IRO}> wrote:\n"
                    "> Dear Tom,\n> The care plan has not been signed off.\n")
    return msg.as_bytes()


def exchange_out_of_office(thread: Thread, *, sender: str, when: datetime, back: str = "Monday 7 December 2026",
                           seed: str = "oof") -> bytes:
    """An Exchange Online automatic reply to the last mail of the thread."""
    msg = EmailMessage()
    msg["From"] = _addr(sender)
    msg["To"] = _addr(IRO)
    msg["Subject"] = f"Automatic reply: {thread.topic}"
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = _id(f"{thread.seed}/{seed}")
    msg["In-Reply-To"] = thread.ids[-1]
    msg["References"] = thread.ids[-1]
    msg["Thread-Topic"] = thread.topic
    msg["Thread-Index"] = thread.thread_index()
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-MS-Exchange-Inbox-Rules-Loop"] = sender
    msg.set_content(f"Thank you for your email. I am out of the office and will be back on {back}. "
                    "For urgent matters please contact the duty team.\n")
    return msg.as_bytes()


def postfix_bounce(thread: Thread, *, failed: str, when: datetime, seed: str = "bounce") -> bytes:
    """A postfix delivery-status notification for the last mail of the thread, as postfix writes it."""
    boundary = "8A1B2C3D4E.1764000000/mx.example.test"
    return f"""Return-Path: <>
Date: {format_datetime(when)}
From: MAILER-DAEMON@mx.example.test (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {BOT}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{boundary}"
Message-Id: {_id(f"{thread.seed}/{seed}")}

This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<{failed}>: host mail.example.test[192.0.2.10] said: 550 5.1.1
    <{failed}>: Recipient address rejected: User unknown (in reply to RCPT TO
    command)

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.test
X-Postfix-Queue-ID: 8A1B2C3D4E
Arrival-Date: {format_datetime(when)}

Final-Recipient: rfc822; {failed}
Original-Recipient: rfc822;{failed}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mail.example.test
Diagnostic-Code: smtp; 550 5.1.1 <{failed}>: Recipient address rejected: User
    unknown

--{boundary}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Message-ID: {thread.ids[-1]}
Subject: {thread.topic}

--{boundary}--
""".replace("\n", "\r\n").encode()
