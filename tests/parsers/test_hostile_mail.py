"""Hostile mails: one mail anyone can send to the shared mailbox must not take the bot down.

Each mail is generated here (no large fixtures) and parsed by :func:`parsers.message.parse_message` in a child
process that first limits itself: ``RLIMIT_CPU`` to what it has used so far plus CPU_LIMIT seconds, ``RLIMIT_AS`` to
its address space (the parsers imported and the mail read) plus AS_LIMIT bytes.  A mail that costs too much kills
the child (SIGXCPU) or makes the parse fail with MemoryError, and the test sees it; there are no wall-clock
assertions.  The budget is 2 s of CPU and 200 MB for any mail of 25 MB at most; the limits add headroom for a
shared 2-core CI box.  bench/hostile_mail.py prints what each of these mails costs, as ratios.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from parsers.message import parse_message

ROOT = Path(__file__).resolve().parents[2]

HEADERS = (
    b"From: Jane Iro <jane.iro@example.gov.uk>\r\n"
    b"To: iro-escalations@example.gov.uk\r\n"
    b"Date: Tue, 1 Dec 2026 09:14:00 +0000\r\n"
    b"Message-ID: <hostile-1@example.gov.uk>\r\n"
    b"MIME-Version: 1.0\r\n"
)
FROM = "jane.iro@example.gov.uk"
MESSAGE_ID = "hostile-1@example.gov.uk"


def _words(count: int, text: str = "Escalation") -> bytes:
    """``count`` RFC 2047 encoded words, one space apart, folded every ten words."""
    word = f"=?utf-8?q?{text}?=".encode()
    lines = [b" ".join([word] * min(10, count - i)) for i in range(0, count, 10)]
    return b"\r\n ".join(lines)


def _mail(headers: bytes, body: bytes = b"Resolved\r\n", content_type: bytes = b"text/plain; charset=utf-8") -> bytes:
    return headers + b"Content-Type: " + content_type + b"\r\n\r\n" + body


def subject_8000_words() -> bytes:
    return _mail(HEADERS + b"Subject: " + _words(8000) + b"\r\n")


def subject_1mb() -> bytes:
    return _mail(HEADERS + b"Subject: " + _words(1_000_000 // 21) + b"\r\n")


def from_1mb() -> bytes:
    headers = HEADERS.replace(b"From: Jane Iro", b"From: " + _words(1_000_000 // 21))
    return _mail(headers + b"Subject: RE: Level 1 escalation\r\n")


def to_1mb_words() -> bytes:
    recipient = b"=?utf-8?q?Team_Manager?= =?utf-8?b?w4k=?= <tm@example.gov.uk>"
    to = b",\r\n ".join([recipient] * (1_000_000 // 60))
    headers = HEADERS.replace(b"To: iro-escalations@example.gov.uk", b"To: " + to)
    return _mail(headers + b"Subject: RE: Level 1 escalation\r\n")


def mime_nested_10000() -> bytes:
    return _nested_parts(10_000, b"Content-Type: text/plain\r\n\r\nResolved\r\n")


def html_nested_divs_100000() -> bytes:
    html = b"<html><body>" + b"<div>" * 100_000 + b"Resolved" + b"</div>" * 100_000 + b"</body></html>"
    return _mail(HEADERS + b"Subject: nested divs\r\n", html, b"text/html; charset=utf-8")


def html_border_top_112kb() -> bytes:
    html = b'<div style="' + b"border-top:" * 10_200 + b'">From: x</div>'
    return _mail(HEADERS + b"Subject: border-top\r\n", html, b"text/html; charset=utf-8")


def attachment_25mb() -> bytes:
    payload = _base64(18_700_000)
    body = (
        b"--sep\r\nContent-Type: text/plain\r\n\r\nResolved, see the attachment\r\n"
        b"--sep\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=plan.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + payload + b"--sep--\r\n"
    )
    return _mail(HEADERS + b"Subject: plan\r\n", body, b'multipart/mixed; boundary="sep"')


def headers_100000() -> bytes:
    junk = b"".join(b"X-Junk-%d: value %d\r\n" % (i, i) for i in range(100_000))
    return _mail(junk + HEADERS + b"Subject: many headers\r\n")


def line_10mb_body() -> bytes:
    return HEADERS + b"Subject: long line\r\nContent-Type: text/plain\r\n\r\n" + b"Resolved " * (10_000_000 // 9)


def line_10mb_header() -> bytes:
    return HEADERS + b"Subject: long line\r\nX-Long: " + b"a" * 10_000_000


def _nested_parts(depth: int, leaf: bytes, headers: bytes = HEADERS + b"Subject: nested\r\n") -> bytes:
    """``leaf`` inside ``depth`` multiparts, each the only part of the one above."""
    out = [headers]
    for level in range(depth):
        out.append(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (level, level))
    out.append(leaf)
    out.extend(b"--b%d--\r\n" % level for level in reversed(range(depth)))
    return b"".join(out)


def _multipart(parts: bytes) -> bytes:
    return _mail(HEADERS + b"Subject: parts\r\n", parts + b"--sep--\r\n", b'multipart/mixed; boundary="sep"')


def mime_wide_100000() -> bytes:
    return _multipart(b"--sep\r\nContent-Type: text/plain\r\n\r\nx\r\n" * 100_000)


def lone_cr_lines_25mb() -> bytes:
    return _mail(HEADERS + b"Subject: lines\r\n", b"\r" * 25_000_000)


def regards_lines_2mb() -> bytes:
    return _mail(HEADERS + b"Subject: regards\r\n", b"Regards\r\nx\r\n" * 160_000)


def html_void_then_end_tags() -> bytes:
    return _mail(HEADERS + b"Subject: br\r\n", b"<br>" * 10_000 + b"</p>" * 10_000, b"text/html; charset=utf-8")


def attached_message_long_headers() -> bytes:
    fields = b"".join(b"X-Field-%d: %s\r\n" % (i, b"v" * 90) for i in range(100_000))
    return _multipart(b"--sep\r\nContent-Type: message/rfc822\r\n\r\n" + fields + b"\r\nbody\r\n")


def filename_1mb_words() -> bytes:
    disposition = b'Content-Disposition: attachment; filename="' + _words(40_000) + b'"\r\n'
    return _multipart(b"--sep\r\nContent-Type: application/pdf\r\n" + disposition + b"\r\nx\r\n")


def nested_multiparts_25mb() -> bytes:
    leaf = b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" + _base64(18_700_000)
    return _nested_parts(30, leaf)


def every_cap_at_once() -> bytes:
    """Near several caps at once: a full header block, 8 nested multiparts, a long HTML body, a plain body of
    short lines and "regards", 900 small attachments and a large one."""
    filler = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"v" * 230) for i in range(900))
    to = b", ".join(b"=?utf-8?q?N=C3=A9_%d?= <u%d@example.gov.uk>" % (i, i) for i in range(250))
    headers = HEADERS + b"To: " + to + b"\r\nCc: " + to + b"\r\nSubject: " + _words(199) + b"\r\n" + filler
    html = b"<div class=x><blockquote>On 1 Dec 2026 a wrote:</blockquote><b>x</b></div>" * 3300
    alternative = (
        b"--alt\r\nContent-Type: text/plain\r\n\r\n" + b"Regards\nab\n" * 20_000 + b"ab\n" * 150_000
        + b"--alt\r\nContent-Type: text/html\r\n\r\n" + html + b"\r\n--alt--\r\n"
    )
    attachments = b"".join(
        b'--p\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="f%d.txt"\r\n\r\nx\r\n' % i
        for i in range(900)
    )
    large = b"--p\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" + _base64(9_000_000)
    inner = b"--p\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n" + alternative + attachments + large
    leaf = b'Content-Type: multipart/mixed; boundary="p"\r\n\r\n' + inner + b"--p--\r\n"
    return _nested_parts(6, leaf, headers)


def _base64(size: int) -> bytes:
    return base64.encodebytes(bytes(range(256)) * (size // 256)).replace(b"\n", b"\r\n")


HOSTILE: dict[str, Callable[[], bytes]] = {
    func.__name__: func
    for func in (
        subject_8000_words, subject_1mb, from_1mb, to_1mb_words, mime_nested_10000, html_nested_divs_100000,
        html_border_top_112kb, attachment_25mb, headers_100000, line_10mb_body, line_10mb_header,
        mime_wide_100000, lone_cr_lines_25mb, regards_lines_2mb, html_void_then_end_tags,
        attached_message_long_headers, filename_1mb_words, nested_multiparts_25mb, every_cap_at_once,
    )
}
"""Every hostile mail, by name (bench/hostile_mail.py reads them from here too)."""

# What a defect must say of each mail: what was cut ("" when nothing needs cutting).
CUT = {
    "subject_8000_words": "header subject: 8,000 RFC 2047 encoded words, only the first 200 read",
    "subject_1mb": "header subject: 47,619 RFC 2047 encoded words, only the first 200 read",
    "from_1mb": "header from: 47,619 RFC 2047 encoded words, only the first 200 read",
    "to_1mb_words": "header to: 1,083,287 bytes, cut to",
    "mime_nested_10000": "MIME parts nested deeper than",
    "html_nested_divs_100000": "HTML nested deeper than 1000 levels",
    "html_border_top_112kb": "",
    "attachment_25mb": "",
    "headers_100000": "header block of 2,678,019 bytes and 100,007 fields: 99,007 fields cut",
    "line_10mb_body": "text body truncated",
    "line_10mb_header": "header x-long: 10,000,001 bytes, cut to 9,221",
    "mime_wide_100000": "more than 1,000 MIME parts: the rest not read",
    "lone_cr_lines_25mb": "message of 25,000,008 lines: only the first 400,000 read",
    "regards_lines_2mb": 'lines ending in "regards"',
    "html_void_then_end_tags": "",
    "attached_message_long_headers": "",
    "filename_1mb_words": "header content-disposition: 40,000 RFC 2047 encoded words",
    "nested_multiparts_25mb": "MIME parts nested deeper than",
    "every_cap_at_once": "HTML body of more than 100 plain blockquotes",
}

CPU_LIMIT = 5  # seconds over what the child used before parsing: the 2 s budget, with headroom for a shared box
AS_LIMIT = (200 + 100) << 20  # bytes of address space over the child's before parsing: the 200 MB budget, headroom

# The child reads the mail from stdin, imports the parsers, limits itself, parses, and prints what it read.
CHILD = f"""
import json, math, resource, sys
sys.path.insert(0, {str(ROOT)!r})
raw = sys.stdin.buffer.read()
from parsers.message import parse_message

def address_space():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))

used = resource.getrusage(resource.RUSAGE_SELF)
cpu = math.ceil(used.ru_utime + used.ru_stime) + {CPU_LIMIT}
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
limit = address_space() + {AS_LIMIT}
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
mail = parse_message(raw)
print(json.dumps({{
    "from": mail.from_.email if mail.from_ else None, "subject": mail.subject[:200], "message_id": mail.message_id,
    "text": mail.text[:200], "new_text": mail.new_text[:200], "size": mail.size, "defects": list(mail.defects),
    "attachments": [[a.content_type, a.size] for a in mail.attachments],
}}))
"""


def _parse_in_child(raw: bytes) -> dict[str, Any]:
    """What parse_message reads from ``raw``, in a child process within the limits; fails if the child does not
    finish (killed by RLIMIT_CPU) or the parse ran out of memory."""
    done = subprocess.run([sys.executable, "-c", CHILD], input=raw, capture_output=True, cwd=ROOT, timeout=600)
    killed = f"child exited {done.returncode} (-24: over {CPU_LIMIT} s of CPU): {done.stderr[-2000:]!r}"
    assert done.returncode == 0, killed
    read: dict[str, Any] = json.loads(done.stdout)
    assert not [d for d in read["defects"] if "MemoryError" in d or "parse failed" in d], read["defects"]
    return read


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_mail_is_read_within_the_budget(name: str) -> None:
    raw = HOSTILE[name]()
    assert len(raw) <= 26_000_000
    read = _parse_in_child(raw)
    assert read["from"] == FROM
    assert read["message_id"] == MESSAGE_ID
    assert read["size"] == len(raw)
    if CUT[name]:
        assert any(CUT[name] in defect for defect in read["defects"]), read["defects"]


def test_what_survives_the_caps() -> None:
    """A few of the mails above, read for their facts (in this process: these are cheap enough)."""
    subject = parse_message(subject_8000_words())
    assert subject.subject == "Escalation" * 200
    cut_from = parse_message(from_1mb())
    assert cut_from.from_ is not None and cut_from.from_.name.split() == ["Escalation"] * 200
    border = parse_message(html_border_top_112kb())
    assert border.text == "From: x"
    to = parse_message(to_1mb_words())
    assert to.to and {address.email for address in to.to} == {"tm@example.gov.uk"}
    nested = parse_message(mime_nested_10000())
    assert nested.attachments and nested.attachments[0].content_type == "application/octet-stream"


def test_attachment_of_25mb_is_read_whole() -> None:
    read = _parse_in_child(attachment_25mb())
    assert read["text"] == "Resolved, see the attachment"
    assert read["attachments"] == [["application/pdf", 18_700_000 // 256 * 256]]
    assert read["defects"] == []


def test_headers_the_bot_reads_are_kept_first() -> None:
    mail = parse_message(headers_100000())
    assert mail.subject == "many headers"
    assert mail.date is not None
    assert len(mail.headers) == 1000
    assert [key for key, _ in mail.headers[:3]] == ["x-junk-0", "x-junk-1", "x-junk-2"]  # in their order
    assert mail.header("from") == "Jane Iro <jane.iro@example.gov.uk>"


def test_long_real_references_are_kept_whole_and_a_huge_one_keeps_its_ends() -> None:
    ids = [f"<AM0PR02MB5521{i:08X}@AM0PR02MB5521.eurprd02.prod.outlook.com>" for i in range(600)]  # 40 KB
    mail = parse_message(_mail(HEADERS + b"Subject: RE: x\r\nReferences: " + "\r\n ".join(ids).encode() + b"\r\n"))
    assert mail.references == tuple(item[1:-1] for item in ids)
    assert not mail.defects
    ids = [f"<id{i}@example.gov.uk>" for i in range(20_000)]
    mail = parse_message(_mail(HEADERS + b"Subject: RE: x\r\nReferences: " + " ".join(ids).encode() + b"\r\n"))
    assert mail.references[0] == "id0@example.gov.uk"
    assert mail.references[-1] == "id19999@example.gov.uk"
    assert 2000 < len(mail.references) < 20_000
    kept = len(mail.references) - 1
    assert f"the first Message-ID and the last {kept:,} kept, those in between cut" in " ".join(mail.defects)


def test_a_cut_header_stays_longer_than_its_limit() -> None:
    """So a reader that refuses a header over some length (parsers.authenticity) cannot take what is left of a cut
    header for the whole of it."""
    value = "mx.example.gov.uk; dmarc=pass (" + "x" * 20_000 + ")"
    mail = parse_message(_mail(HEADERS + b"Subject: s\r\nAuthentication-Results: " + value.encode() + b"\r\n"))
    kept = mail.header("authentication-results")
    assert kept is not None and 8192 < len(kept) < 10_000
    assert kept.startswith("mx.example.gov.uk; dmarc=pass (xxx") and kept.endswith("xxx)")
