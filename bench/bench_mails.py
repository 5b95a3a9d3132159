"""The realistic mail set of ``bench/run``: a seeded mix of what a council's IRO escalations mailbox receives.

    mails = mail_set(10_000, seed=20261124)     # raw RFC 5322 bytes, oldest first

Per case (one child, one MOSAIC number): the IRO's Level 1 escalation from Outlook (Word HTML, a QA manager and the
bot copied), the team manager's Outlook replies with the whole quoted history and Outlook's Thread-Index, the IRO's
answers (Outlook or iPhone), Gmail HTML replies (``gmail_quote`` blockquotes, no Thread-Index), Exchange
out-of-office replies, postfix bounces, some "Level 2" escalations sent as new mails (matched by the case number) and
some "Resolved" replies. A fifth of the mailbox is unrelated: newsletters, training dates, invitations, notices.
Built on tests/mailfactory.py (its Thread, its header builder, its out-of-office and bounce); Outlook's Word HTML,
signatures and disclaimers make the sizes real (median ~9 KB). Every Message-ID is unique in a set; a set depends
only on ``count`` and ``seed``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import random
import statistics
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formataddr
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.mailfactory import (  # noqa: E402
    BOT,
    DOMAIN,
    IRO,
    NAMES,
    QA,
    SM,
    TM,
    Thread,
    _id,
    exchange_out_of_office,
    plain_reply,
    postfix_bounce,
)

#: The moment the backlog is read: every mail of a set is dated before it (a Monday, in working hours).
READ_AT = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
DEFAULT_SEED = 20261124

WORD_STYLE = """<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" \
xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" \
xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta name="Generator" content="Microsoft Word 15 (filtered medium)">
<style><!--
/* Font Definitions */
@font-face
\t{font-family:"Cambria Math";
\tpanose-1:2 4 5 3 5 4 6 3 2 4;}
@font-face
\t{font-family:Calibri;
\tpanose-1:2 15 5 2 2 2 4 3 2 4;}
@font-face
\t{font-family:Aptos;}
/* Style Definitions */
p.MsoNormal, li.MsoNormal, div.MsoNormal
\t{margin:0cm;
\tfont-size:12.0pt;
\tfont-family:"Aptos",sans-serif;
\tmso-ligatures:standardcontextual;
\tmso-fareast-language:EN-US;}
a:link, span.MsoHyperlink
\t{mso-style-priority:99;
\tcolor:#467886;
\ttext-decoration:underline;}
a:visited, span.MsoHyperlinkFollowed
\t{mso-style-priority:99;
\tcolor:#96607D;
\ttext-decoration:underline;}
p.MsoListParagraph, li.MsoListParagraph, div.MsoListParagraph
\t{mso-style-priority:34;
\tmargin-top:0cm;
\tmargin-right:0cm;
\tmargin-bottom:0cm;
\tmargin-left:36.0pt;
\tfont-size:11.0pt;
\tfont-family:"Calibri",sans-serif;}
span.EmailStyle20
\t{mso-style-type:personal-reply;
\tfont-family:"Aptos",sans-serif;
\tcolor:windowtext;}
.MsoChpDefault
\t{mso-style-type:export-only;
\tfont-size:10.0pt;
\tmso-ligatures:none;}
@page WordSection1
\t{size:612.0pt 792.0pt;
\tmargin:72.0pt 72.0pt 72.0pt 72.0pt;}
div.WordSection1
\t{page:WordSection1;}
/* List Definitions */
@list l0
\t{mso-list-id:1180579139;
\tmso-list-type:hybrid;
\tmso-list-template-ids:-1392547216 134807553 134807555 134807557 134807553 134807555 134807557;}
@list l0:level1
\t{mso-level-number-format:bullet;
\tmso-level-text:\\F0B7;
\tmso-level-tab-stop:none;
\tmso-level-number-position:left;
\ttext-indent:-18.0pt;
\tfont-family:Symbol;}
ol
\t{margin-bottom:0cm;}
ul
\t{margin-bottom:0cm;}
--></style><!--[if gte mso 9]><xml>
<o:shapedefaults v:ext="edit" spidmax="1026" />
</xml><![endif]--><!--[if gte mso 9]><xml>
<o:shapelayout v:ext="edit">
<o:idmap v:ext="edit" data="1" />
</o:shapelayout></xml><![endif]-->
</head>
<body lang="EN-GB" link="#467886" vlink="#96607D" style="word-wrap:break-word">
<div class="WordSection1">
"""

DISCLAIMER = (
    "This email and any files transmitted with it are confidential and intended solely for the use of the individual "
    "or entity to whom they are addressed. If you have received this email in error please notify the sender "
    "immediately and delete it. Any views or opinions presented are solely those of the author and do not "
    "necessarily represent those of the Council. The Council may monitor emails to and from its network to ensure "
    "compliance with its policies. Please consider the environment before printing this email. This message has "
    "been scanned for viruses by the council's mail gateway."
)

SIGNATURES = {
    IRO: ["Jane Reviewer", "Independent Reviewing Officer (QARO)", "Quality Assurance and Reviewing Service",
          "Example Council | County Hall | Tel: 01305 221000"],
    TM: ["Tom Manager", "Team Manager - Children in Care (West)", "Example Council | Tel: 01305 221001"],
    SM: ["Sara Service", "Service Manager - Children in Care", "Example Council | Tel: 01305 221002"],
    QA: ["Quinn QA", "Quality Assurance Manager", "Example Council | Tel: 01305 221003"],
}

FIRST = ["Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Freya", "Leo", "Poppy", "Arthur", "Willow", "Oscar",
         "Ivy", "Harry", "Rosie", "Jack", "Daisy", "Theo", "Lily", "Alfie"]
LAST = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Wright", "Evans",
        "Walker", "Roberts", "Green", "Hall", "Wood", "Clarke", "Hughes", "Edwards", "Turner"]

CONCERNS = [
    "The care plan has not been signed off and the placement review is overdue. The actions agreed at the review "
    "on {day} have not been progressed and the child's views about contact have not been taken forward.",
    "The pathway plan agreed at the review has not been updated and the actions for the education placement are "
    "overdue. The young person is still without a school place and no interim tuition has been arranged.",
    "Life story work agreed at the last two reviews has not started. The social worker has changed three times this "
    "year and the child has asked me directly when this will happen.",
    "The health assessment is now four months overdue and the dental registration recommended at the review has "
    "not been made. I have raised this informally with the social worker without a response.",
    "Permanence planning has drifted: the second review recommendation for a family finding referral has not been "
    "actioned and there is no date for the permanence planning meeting.",
]

REPLIES = [
    "Thank you for raising this. I have met with the allocated social worker today and the plan will be updated "
    "and shared with you by the end of the week. I will make sure the outstanding actions are allocated.",
    "I have looked into this and spoken to the team. The delay was due to the change of social worker; a new worker "
    "has been allocated from Monday and will contact the carers this week.",
    "Apologies for the delay in responding. I am arranging a meeting with the service manager to agree the next "
    "steps and will come back to you with a date.",
    "Noted, thank you. The referral has now been made and I have asked the team to send you the minutes of the "
    "planning meeting once it has taken place.",
]

IRO_NOTES = [
    "Thank you, Tom. Please can you confirm the date once it is fixed, and copy in the QA manager.",
    "Thanks. I have spoken to the carers, who confirm nobody has been in touch yet. I will keep this open.",
    "Note: I chased this by phone today and left a message for the social worker.",
    "Thank you for the update. I would still like to see the revised plan before the due date.",
]


def _when_text(when: datetime) -> str:
    return f"{when.day} {when:%B %Y} {when:%H:%M}"


def _paragraphs(lines: list[str]) -> str:
    out = []
    for line in lines:
        body = escape(line) if line else "<o:p>&nbsp;</o:p>"
        out.append(f'<p class="MsoNormal"><span style="font-size:11.0pt">{body}<o:p></o:p></span></p>\n')
    return "".join(out)


@dataclass
class Said:
    """One mail of a conversation as the next reply quotes it."""

    sender: str
    to: list[str]
    cc: list[str]
    subject: str
    when: datetime
    lines: list[str]


@dataclass
class Conversation:
    thread: Thread
    history: list[Said] = field(default_factory=list)


def _signature(sender: str) -> list[str]:
    return ["", "Kind regards", "", *SIGNATURES.get(sender, [NAMES.get(sender, sender)])]


def _quote_text(history: list[Said]) -> str:
    out = []
    for said in reversed(history):
        out.append(f"\nFrom: {NAMES.get(said.sender, said.sender)} <{said.sender}>\nSent: {_when_text(said.when)}\n"
                   f"To: {'; '.join(said.to)}\n" + (f"Cc: {'; '.join(said.cc)}\n" if said.cc else "")
                   + f"Subject: {said.subject}\n\n" + "\n".join(said.lines) + "\n")
    return "".join(out)


def _quote_html(history: list[Said]) -> str:
    out = []
    for said in reversed(history):
        who = escape(f"{NAMES.get(said.sender, said.sender)} <{said.sender}>")
        cc = f"<br><b>Cc:</b> {escape('; '.join(said.cc))}" if said.cc else ""
        out.append(
            '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">\n'
            f'<p class="MsoNormal"><b><span lang="EN-US" style="font-size:11.0pt;font-family:&quot;Calibri&quot;,'
            f'sans-serif">From:</span></b><span lang="EN-US" style="font-size:11.0pt"> {who}<br><b>Sent:</b> '
            f"{_when_text(said.when)}<br><b>To:</b> {escape('; '.join(said.to))}{cc}<br><b>Subject:</b> "
            f"{escape(said.subject)}<o:p></o:p></span></p>\n</div>\n" + _paragraphs(said.lines))
    return "".join(out)


LOGO = bytes(random.Random(7).getrandbits(8) for _ in range(4600))  # the council's logo in a signature


def _fold(name: str, value: str) -> str:
    """``Name: value`` folded at spaces before 78 characters (a long single token stays whole)."""
    lines, line = [], f"{name}:"
    for token in value.split(" "):
        if len(line) + 1 + len(token) > 78 and line not in (f"{name}:", ""):
            lines.append(line)
            line = ""
        line = f"{line} {token}"
    lines.append(line)
    return "\r\n".join(lines)


def _qp(text: str) -> str:
    return binascii.b2a_qp(text.replace("\r\n", "\n").encode(), istext=True).decode().replace("\n", "\r\n")


def _address(email: str) -> str:
    name = NAMES.get(email)
    return formataddr((name, email)) if name else email


def _head(thread: Thread, *, sender: str, to: list[str], cc: list[str], subject: str, when: datetime, seed: str,
          references: bool = True, thread_index: bool = True, extra: tuple[tuple[str, str], ...] = ()) -> list[str]:
    """The header block of a client's mail (as mailfactory._base sets it), written directly: the email package's
    header objects cost ~1 ms each, and a 10k-mail set has 150k headers."""
    message_id = _id(f"{thread.seed}/{seed}")
    head = [_fold("From", _address(sender)), _fold("To", ", ".join(_address(a) for a in to))]
    if cc:
        head.append(_fold("CC", ", ".join(_address(a) for a in cc)))
    head += [_fold("Subject", subject)]
    if thread_index:
        head += [_fold("Thread-Topic", thread.topic), f"Thread-Index: {thread.thread_index()}"]
    head += [f"Date: {format_datetime(when)}", f"Message-ID: {message_id}"]
    if thread.ids and references:
        head += [_fold("References", " ".join(thread.ids)), f"In-Reply-To: {thread.ids[-1]}"]
    head += ["Accept-Language: en-GB, en-US", "Content-Language: en-GB", *(f"{k}: {v}" for k, v in extra)]
    thread.ids.append(message_id)
    thread.replies += 1
    return head


def _assemble(head: list[str], plain: str, html: str, *, boundary: str, logo: bool) -> bytes:
    """multipart/alternative (text + HTML, quoted-printable), inside multipart/related with the logo when ``logo``."""
    alternative = (
        f"--{boundary}\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n"
        f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{_qp(plain)}\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/html; charset=\"utf-8\"\r\n"
        f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{_qp(html)}\r\n\r\n--{boundary}--\r\n")
    if not logo:
        head = [*head, f'Content-Type: multipart/alternative;\r\n\tboundary="{boundary}"', "MIME-Version: 1.0"]
        return ("\r\n".join(head) + "\r\n\r\n" + alternative).encode()
    related = f"{boundary}_rel"
    image = base64.encodebytes(LOGO).decode().replace("\n", "\r\n")
    head = [*head, "X-MS-Has-Attach:", "Content-Type: multipart/related;\r\n\tboundary=\"" + related
            + '";\r\n\ttype="multipart/alternative"', "MIME-Version: 1.0"]
    body = (f"--{related}\r\nContent-Type: multipart/alternative;\r\n\tboundary=\"{boundary}\"\r\n\r\n{alternative}"
            f"\r\n--{related}\r\nContent-Type: image/png; name=\"image001.png\"\r\n"
            "Content-Description: image001.png\r\nContent-Disposition: inline; filename=\"image001.png\"; "
            "size=4600;\r\nContent-ID: <image001.png@01DB3F2A.5C1E7A40>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            f"{image}\r\n--{related}--\r\n")
    return ("\r\n".join(head) + "\r\n\r\n" + body).encode()


def _boundary(thread: Thread) -> str:
    return f"_000_{thread.seed.replace('/', '').replace('-', '')[-20:]}{thread.replies:02d}eurprd02prodoutlo_"


def _outlook(head: list[str], thread: Thread, lines: list[str], history: list[Said], logo: bool) -> bytes:
    plain = "\n".join(lines) + "\n\n" + DISCLAIMER + "\n" + _quote_text(history)
    signature_logo = ('<p class="MsoNormal"><img width="180" height="60" style="width:1.875in;height:.625in" '
                      'id="Picture_x0020_1" src="cid:image001.png@01DB3F2A.5C1E7A40" alt="Example Council"></p>\n'
                      if logo else "")
    html = (WORD_STYLE + _paragraphs(lines) + signature_logo
            + '<p class="MsoNormal"><span style="font-size:8.0pt;color:gray">' + escape(DISCLAIMER)
            + "<o:p></o:p></span></p>\n" + _quote_html(history) + "</div>\n</body>\n</html>\n")
    return _assemble(head, plain, html, boundary=_boundary(thread), logo=logo)


def outlook_escalation_mail(conv: Conversation, *, level: int, child: str, number: int, due: datetime,
                            when: datetime, to: str, concern: str, logo: bool = True) -> bytes:
    """The IRO's escalation from Outlook desktop, Word HTML, QA and the bot copied."""
    subject = (f"Action - Level {level} escalation - {child} - MOSAIC {number} - "
               f"response by {due:%d/%m/%Y}")
    conv.thread.topic = subject
    cc = [QA, BOT] if level == 1 else [QA, TM, BOT]
    head = _head(conv.thread, sender=IRO, to=[to], cc=cc, subject=subject, when=when, seed=f"escalation{level}",
                 references=level == 1)
    lines = [f"Dear {NAMES[to].split()[0]},", "",
             f"I am raising a Level {level} escalation under the dispute resolution process for {child}.",
             concern.format(day=f"{(when - timedelta(days=20)):%d %B}"), "",
             f"Please respond by {due:%d/%m/%Y}.", *_signature(IRO)]
    quoted = list(conv.history)
    conv.history.append(Said(IRO, [to], cc, subject, when, lines))
    return _outlook(head, conv.thread, lines, quoted, logo)


def outlook_html_reply(conv: Conversation, *, sender: str, to: list[str], cc: list[str], text: str,
                       when: datetime, seed: str, logo: bool = False) -> bytes:
    """An Outlook desktop reply: Word HTML, the whole quoted history, Thread-Index one block longer."""
    subject = f"RE: {conv.thread.topic}"
    head = _head(conv.thread, sender=sender, to=to, cc=cc, subject=subject, when=when, seed=seed)
    lines = [f"Hi {NAMES.get(to[0], 'all').split()[0]},", "", text, *_signature(sender)]
    quoted = list(conv.history)
    conv.history.append(Said(sender, to, cc, subject, when, lines))
    return _outlook(head, conv.thread, lines, quoted, logo)


def gmail_html_reply(conv: Conversation, *, sender: str, to: list[str], cc: list[str], text: str,
                     when: datetime, seed: str) -> bytes:
    """A Gmail (web) reply: ``div dir=ltr`` HTML, the history in nested ``gmail_quote`` blockquotes, no
    Thread-Index."""
    subject = f"Re: {conv.thread.topic}"
    head = _head(conv.thread, sender=sender, to=to, cc=cc, subject=subject, when=when, seed=seed,
                 thread_index=False)
    lines = [f"Hi {NAMES.get(to[0], 'all').split()[0]},", "", text, "", "Thanks", NAMES.get(sender, sender)]
    plain, html_quote = [], ""
    for depth, said in enumerate(reversed(conv.history)):
        prefix = ">" * (depth + 1) + " "
        plain.append(f"\n{'>' * depth}{' ' if depth else ''}On {said.when:%a, %d %b %Y} at {said.when:%H:%M}, "
                     f"{NAMES.get(said.sender, said.sender)} <{said.sender}> wrote:\n"
                     + "\n".join(prefix + line for line in said.lines))
    for said in conv.history:  # innermost first
        body = "".join(f"<div>{escape(line) if line else '<br>'}</div>" for line in said.lines)
        html_quote = (
            '<div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">On '
            f"{said.when:%a, %d %b %Y} at {said.when:%H:%M}, {escape(NAMES.get(said.sender, said.sender))} &lt;"
            f'<a href="mailto:{said.sender}">{said.sender}</a>&gt; wrote:<br></div><blockquote class="gmail_quote" '
            'style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">'
            f"{body}{html_quote}</blockquote></div>")
    conv.history.append(Said(sender, to, cc, subject, when, lines))
    html = ('<div dir="ltr">' + "".join(f"<div>{escape(line) if line else '<br>'}</div>" for line in lines)
            + f"</div><br>{html_quote}\n")
    boundary = "000000000000" + hashlib.sha1((conv.thread.seed + seed).encode()).hexdigest()[:16]
    return _assemble(head, "\n".join(lines) + "\n" + "".join(plain) + "\n", html, boundary=boundary, logo=False)


UNRELATED_SUBJECTS = [
    "Children's Services newsletter - {month}",
    "Training: trauma-informed practice - dates for {month}",
    "FW: Updated Regulation 44 visit schedule",
    "Invitation: IRO team meeting",
    "Reminder: timesheets due Friday",
    "Your Microsoft 365 storage is almost full",
    "Fostering recruitment event - volunteers needed",
    "Car park resurfacing at County Hall",
]
UNRELATED_SENDERS = ["comms@example.test", "learning@example.test", "it.service@example.test",
                     "facilities@example.test", "news@fosteringnetwork.example.org", "events@ncas.example.org"]
NEWS = [
    "The fostering service has welcomed twelve new households this quarter, and the recruitment campaign continues "
    "through the winter with information evenings in every locality.",
    "Practitioners are reminded that supervision records must be completed within five working days, using the new "
    "template on the intranet, and signed off by the team manager.",
    "The learning and development team has published the spring programme, including trauma-informed practice, "
    "life story work and writing to the child, with places allocated on a first come basis.",
    "The car park at County Hall will be closed for resurfacing over two weekends; staff are asked to use the park "
    "and ride, which will run an extended timetable on those days.",
    "The annual report of the Independent Reviewing Service is now available; thank you to everyone who contributed "
    "case studies and to the young people who shared their views.",
]


def unrelated_mail(n: int, when: datetime, rng: random.Random, seed: int) -> bytes:
    """A mail nothing to do with an escalation: a newsletter-like HTML mail (tables, inline styles, links)."""
    sender = rng.choice(UNRELATED_SENDERS)
    head = [f"From: {sender}", f"To: {BOT}",
            _fold("Subject", rng.choice(UNRELATED_SUBJECTS).format(month=f"{when:%B %Y}")),
            f"Date: {format_datetime(when)}", f"Message-ID: {_id(f'bench-{seed}/unrelated/{n}')}"]
    if rng.random() < 0.5:
        head.append(f"List-Unsubscribe: <mailto:unsubscribe@{sender.split('@')[1]}>")
    paras = [" ".join(rng.choice(NEWS) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(4, 9))]
    plain = "\n\n".join(f"{i + 1}. {p}" for i, p in enumerate(paras)) + "\n\n" + DISCLAIMER + "\n"
    cells = "".join(
        '<tr><td style="padding:12px 24px;font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:20px;'
        f'color:#333333"><h2 style="font-size:18px;line-height:24px;color:#00558C;margin:0 0 8px 0">Item {i + 1}</h2>'
        f'<p style="margin:0 0 8px 0">{escape(p)}</p><p style="margin:0"><a href="https://www.example.test/news/'
        f'{seed}/{n}/{i}?utm_source=newsletter&amp;utm_medium=email" style="color:#00558C;text-decoration:underline">'
        "Read more</a></p></td></tr>" for i, p in enumerate(paras))
    html = ('<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            "<style>body{margin:0;padding:0} table{border-collapse:collapse} td{vertical-align:top}</style></head>"
            '<body><table width="100%" cellpadding="0" cellspacing="0" role="presentation"><tr><td align="center">'
            f'<table width="600" cellpadding="0" cellspacing="0" role="presentation">{cells}<tr><td style="font-size:'
            f'11px;color:#777777;padding:24px">{escape(DISCLAIMER)}</td></tr></table></td></tr></table></body></html>')
    return _assemble(head, plain, html, boundary=f"----=_Part_{n}_{seed}", logo=False)


def _working_time(rng: random.Random, start: datetime, hours: float) -> datetime:
    """``hours`` of working time (Mon-Fri, 08:00-18:00) after ``start``, at a random minute."""
    when = start + timedelta(hours=hours, minutes=rng.randint(0, 59))
    while when.weekday() >= 5 or not 8 <= when.hour < 18:
        when += timedelta(hours=1)
    return when


def _case(n: int, seed: int, start: datetime, rng: random.Random) -> list[tuple[datetime, bytes]]:
    """The mails of one case, in its own time order."""
    child = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    number = 500000 + n
    conv = Conversation(Thread("", seed=f"bench-{seed}/case-{n}"))
    out: list[tuple[datetime, bytes]] = []
    when = start
    due = when + timedelta(days=rng.choice([7, 8, 9, 10, 14]))
    out.append((when, outlook_escalation_mail(conv, level=1, child=child, number=number, due=due, when=when, to=TM,
                                              concern=rng.choice(CONCERNS), logo=rng.random() < 0.5)))
    if rng.random() < 0.3:
        when = _working_time(rng, when, 0.05)
        out.append((when, exchange_out_of_office(conv.thread, sender=TM, when=when, seed="oof")))
    replies = 0
    for turn in range(rng.choice([1, 1, 1, 2, 2, 3])):
        if rng.random() < 0.85:
            when = _working_time(rng, when, rng.uniform(2, 40))
            out.append((when, outlook_html_reply(conv, sender=TM, to=[IRO], cc=[QA, BOT], text=rng.choice(REPLIES),
                                                 when=when, seed=f"tm{turn}", logo=rng.random() < 0.3)))
            replies += 1
        roll = rng.random()
        if roll < 0.5:
            when = _working_time(rng, when, rng.uniform(1, 20))
            out.append((when, outlook_html_reply(conv, sender=IRO, to=[TM], cc=[QA, BOT],
                                                 text=rng.choice(IRO_NOTES), when=when, seed=f"iro{turn}")))
        elif roll < 0.7:
            when = _working_time(rng, when, rng.uniform(1, 20))
            out.append((when, plain_reply(conv.thread, sender=IRO, to=[TM], cc=[QA, BOT],
                                          text=rng.choice(IRO_NOTES), when=when, seed=f"iphone{turn}")))
    if rng.random() < 0.25:
        when = _working_time(rng, when, rng.uniform(1, 30))
        out.append((when, gmail_html_reply(conv, sender=SM, to=[IRO], cc=[TM, BOT], text=rng.choice(REPLIES),
                                           when=when, seed="gmail")))
    if rng.random() < 0.1:
        when = _working_time(rng, when, 0.1)
        out.append((when, postfix_bounce(conv.thread, failed=f"former.worker{n}@{DOMAIN}", when=when)))
    if rng.random() < 0.2 and replies < 2:
        when = _working_time(rng, due, rng.uniform(8, 30))
        level2 = Conversation(Thread("", seed=f"bench-{seed}/case-{n}/level2"))
        level2.history = list(conv.history)
        out.append((when, outlook_escalation_mail(level2, level=2, child=child, number=number,
                                                  due=when + timedelta(days=7), when=when, to=SM,
                                                  concern=rng.choice(CONCERNS))))
    elif rng.random() < 0.2:
        when = _working_time(rng, when, rng.uniform(2, 40))
        out.append((when, plain_reply(conv.thread, sender=IRO, to=[TM], cc=[QA, BOT],
                                      text="Resolved - the plan has been updated and shared.", when=when,
                                      seed="resolved")))
    return out


def mail_set(count: int, seed: int = DEFAULT_SEED) -> list[bytes]:
    """``count`` realistic mails, oldest first, all dated before :data:`READ_AT` (a fifth unrelated)."""
    rng = random.Random(seed)
    span = timedelta(days=max(10, count // 60))  # ~60 mails a day: a busy council's escalations mailbox
    first = READ_AT - span - timedelta(days=20)
    dated: list[tuple[datetime, bytes]] = []
    cases = 0
    while len(dated) < count * 0.8:
        start = _working_time(rng, first, rng.uniform(0, span.total_seconds() / 3600))
        dated.extend(_case(cases, seed, start, rng))
        cases += 1
    for n in range(count - int(count * 0.8)):
        when = _working_time(rng, first, rng.uniform(0, span.total_seconds() / 3600 + 400))
        dated.append((when, unrelated_mail(n, when, rng, seed)))
    dated = [item for item in dated if item[0] < READ_AT]
    dated.sort(key=lambda item: item[0])
    return [raw for _when, raw in dated[:count]]


def describe(mails: list[bytes]) -> str:
    sizes = sorted(len(m) for m in mails)
    return (f"{len(mails)} mails, median {statistics.median(sizes) / 1024:.1f} KB, "
            f"p90 {sizes[int(len(sizes) * 0.9)] / 1024:.1f} KB, total {sum(sizes) / 2**20:.1f} MB")


if __name__ == "__main__":
    print(describe(mail_set(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)))
