"""Tests for parsers.message: raw RFC 5322 bytes to ParsedMail.

The hand-written fixtures under ``tests/fixtures/mail`` come first (what councils send: Outlook desktop, OWA,
iPhone, Gmail from a provider, legacy gateways, TNEF, bounces), then the talon corpus of real replies, then
robustness properties, then Outlook/OWA replies built here as strings, in English, German and French.
"""

from __future__ import annotations

import base64
import gzip
import quopri
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.mail import RAW_HEADERS, Address, ParsedMail
from parsers.message import MAX_TEXT_CHARS, conversation_key, parse_message
from parsers.reply import strip_quotes, strip_signature

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mail"
CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
TALON = CORPUS / "talon"
STANDARD_REPLIES = TALON / "standard_replies"

needs_talon = pytest.mark.skipif(not TALON.is_dir(), reason=f"corpus folder {TALON} is absent")

# The conversation root shared by the Dorset thread (outlook, OWA and TNEF fixtures): first 22 bytes of Thread-Index.
DORSET_ROOT = "01dc5f3a2b7c9e4f2a1b6c3d4e5f8a7b6c5d4e3f2a1b"


def _raw(name: str) -> bytes:
    data = (FIXTURES / name).read_bytes()
    return gzip.decompress(data) if name.endswith(".gz") else data


@cache
def _parsed(name: str) -> ParsedMail:
    return parse_message(_raw(name))


def _norm(text: str) -> str:
    """Whitespace-normalised text: trailing spaces dropped, runs of blank lines collapsed, ends stripped."""
    lines = [line.rstrip() for line in text.replace("\xa0", " ").strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


# --- the fixtures, one by one ---------------------------------------------------------------------------------

FIXTURE_NAMES = (
    "outlook_desktop_reply.eml",
    "owa_reply.eml",
    "gmail_reply.eml",
    "iphone_reply.eml",
    "bad_charset.eml",
    "broken_mime.eml",
    "winmail_dat.eml",
    "huge_body.eml.gz",
    "bounce_dsn.eml",
)


def test_every_fixture_has_an_expectation() -> None:
    on_disk = {path.name for path in FIXTURES.iterdir() if path.is_file()}
    assert on_disk == set(FIXTURE_NAMES), "add an expectation to this module for each new fixture"


def test_outlook_desktop_reply() -> None:
    mail = _parsed("outlook_desktop_reply.eml")
    assert mail.message_id == "AM0PR02MB55213C7A1B2E4F@AM0PR02MB5521.eurprd02.prod.outlook.com"
    assert mail.in_reply_to == ("escalation-0042-l1@iro-escalations.dorsetcouncil.gov.uk",)
    assert mail.references == (
        "AM0PR02MB5521A0B1C2D3E4@AM0PR02MB5521.eurprd02.prod.outlook.com",
        "escalation-0042-l1@iro-escalations.dorsetcouncil.gov.uk",
    )
    assert mail.identity == mail.message_id
    assert mail.subject == "RE: Action - Level 1 escalation - Tom Example - MOSAIC 123456 - response by 05/12/2026"
    assert mail.thread_topic == "Action - Level 1 escalation - Tom Example - MOSAIC 123456 - response by 05/12/2026"
    assert mail.thread_index == "AdxfOit8nk8qG2w9Tl+Ke2xdTj8qGwAAobLD"
    assert mail.conversation_key == DORSET_ROOT
    assert mail.conversation_key == base64.b64decode(mail.thread_index)[:22].hex()
    assert mail.from_ == Address("Mark Tulloch", "mark.tulloch@dorsetcouncil.gov.uk")
    assert mail.to == (Address("Jane Iro", "jane.iro@dorsetcouncil.gov.uk"),)
    assert mail.cc == (
        Address("QA Manager", "qa.manager@dorsetcouncil.gov.uk"),
        Address("IRO Escalations", "iro-escalations@dorsetcouncil.gov.uk"),
    )
    assert mail.date == datetime(2026, 11, 27, 16, 45, 12, tzinfo=UTC)
    assert mail.content_type == "multipart/alternative"
    assert mail.html is not None and "divRplyFwdMsg" not in mail.html
    assert mail.new_text == (
        "Hi Jane,\n\n"
        "Thank you for raising this. I have met with the allocated social worker today and the pathway plan will be "
        "updated and shared with you by Friday 4 December.\n\n"
        "Please can we extend to 11/12/2026 so that the plan can go to panel first?"
    )
    assert mail.defects == ()
    assert mail.header("X-MS-Exchange-Organization-SCL") == "-1"


def test_owa_reply() -> None:
    mail = _parsed("owa_reply.eml")
    assert mail.message_id == "PAXPR02MB7248F1E2D3C4B5A6@PAXPR02MB7248.eurprd02.prod.outlook.com"  # folded header
    assert mail.in_reply_to == ("escalation-0042-l1-chase-1@iro-escalations.dorsetcouncil.gov.uk",)
    assert mail.references == (
        "escalation-0042-l1@iro-escalations.dorsetcouncil.gov.uk",
        "escalation-0042-l1-chase-1@iro-escalations.dorsetcouncil.gov.uk",
    )
    # RFC 2047 name (base64, UTF-8) decoded; the address lower-cased.
    assert mail.from_ == Address("Séamus O'Brien", "seamus.obrien@dorsetcouncil.gov.uk")
    assert mail.from_.domain == "dorsetcouncil.gov.uk"
    assert mail.to == (Address("IRO Escalations", "iro-escalations@dorsetcouncil.gov.uk"),)
    # Two encoded words (quoted-printable) joined without the space between them.
    assert mail.subject == "RE: [ESC-0042] Level 1 response overdue – Tom Example - MOSAIC 123456"
    assert mail.thread_index == "AdxfOit8nk8qG2w9Tl+Ke2xdTj8qGwAAobLDAAFtpfA="
    assert mail.conversation_key == DORSET_ROOT  # a later reply in the same conversation
    assert mail.date == datetime(2026, 12, 7, 9, 12, 39, tzinfo=UTC)
    assert mail.new_text == (
        "Escalate - no response has been received from the Team Manager and the 5 working days have passed.\n\n"
        "Séamus"
    )
    assert mail.defects == ()


def test_gmail_reply() -> None:
    mail = _parsed("gmail_reply.eml")
    assert mail.message_id == "CAH7x2Lr0Qe5mZ4vXn9p3kJ8bW1sD6tYcF2aG0hE4iU@mail.gmail.com"
    assert mail.in_reply_to == ("AM0PR02MB5521A0B1C2D3E4@AM0PR02MB5521.eurprd02.prod.outlook.com",)
    assert mail.references == mail.in_reply_to
    assert mail.thread_index is None and mail.conversation_key is None
    assert mail.from_ == Address("Priya Shah", "priya.shah@brightfutures-fostering.org.uk")
    assert mail.cc == (Address("", "iro-escalations@dorsetcouncil.gov.uk"),)
    assert mail.date == datetime(2026, 11, 28, 10, 3, 51, tzinfo=UTC)
    assert mail.new_text == (
        "Hi Jane,\n\n"
        "The placement has confirmed the school transport is now in place from Monday, so I think this can be "
        "closed.\n\n"
        "Resolved - transport arranged\n\n"
        "Priya"
    )
    assert "Can you confirm" in mail.text  # the whole body is kept in text


def test_iphone_reply() -> None:
    mail = _parsed("iphone_reply.eml")
    assert mail.message_id == "6F1D2C3B-4A5E-4F60-8B7A-9C0D1E2F3A4B@dorsetcouncil.gov.uk"  # "Message-Id" spelling
    assert mail.content_type == "text/plain"
    assert mail.html is None
    assert mail.from_ == Address("Mark Tulloch", "mark.tulloch@dorsetcouncil.gov.uk")
    assert mail.date == datetime(2026, 11, 28, 8, 41, 7, tzinfo=UTC)
    # quoted-printable soft line break joined, "Sent from my iPhone" and the > quote removed
    assert mail.new_text == (
        "Happy to agree the extension to 11/12/2026 – I will chase the social worker on Monday.\n\nMark"
    )
    assert "\ufeff" not in mail.new_text


def test_bad_charset_is_read_with_defects() -> None:
    mail = _parsed("bad_charset.eml")
    assert mail.message_id == "20261201112000.4411@legacy-gw.hull.gov.uk"
    assert mail.from_ == Address("Bethan Hughes", "bethan.hughes@hull.gov.uk")
    assert mail.to == (Address("", "iro-escalations@hull.gov.uk"),)
    # encoded word in an unknown charset: its 8-bit byte read as Windows-1252 (0x96 is an en dash)
    assert mail.subject == "Re: Stage 1 challenge – Ava Sample"
    # a UTF-8 part with a stray Latin-1 byte, and an inline part in an unknown charset: both still read
    assert mail.new_text == (
        "I have spoken to the Group Manager and the plan will be reviewed on 8 December – the\n"
        "social worker's café meeting notes are attached.\n\n"
        "Bethan\n\n"
        "Café meeting 30/11: carer and social worker attended."
    )
    assert "\ufffd" not in mail.text
    defects = " | ".join(mail.defects)
    assert "x-hull-legacy" in defects
    assert "header subject" in defects
    assert "'utf-8'" in defects


def test_broken_mime_is_still_returned() -> None:
    mail = _parsed("broken_mime.eml")
    assert mail.message_id is None
    assert re.fullmatch(r"[0-9a-f]{64}", mail.fingerprint)
    assert mail.identity == f"fingerprint:{mail.fingerprint}"
    assert mail.from_ == Address("Rotherham CP Chair", "cp.chair@rotherham.gov.uk")
    assert mail.subject == "Quality Alert - Leo Placeholder - LCS 778899"
    assert mail.date == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert mail.thread_index == "not*base64*at*all"
    assert mail.conversation_key is None
    assert mail.new_text == "Quality alert raised: the child protection plan has no contingency plan."
    assert [(a.filename, a.content_type) for a in mail.attachments] == [("plan.pdf", "application/pdf")]
    defects = " | ".join(mail.defects)
    for expected in ("MissingHeaderBodySeparatorDefect", "CloseBoundaryNotFoundDefect", "InvalidBase64",
                     "Thread-Index"):
        assert expected in defects
    assert len(mail.defects) == len(set(mail.defects))


def test_winmail_dat_is_kept_and_text_read() -> None:
    mail = _parsed("winmail_dat.eml")
    assert mail.message_id == "DB9PR01MB0001TNEF@DB9PR01MB0001.eurprd01.prod.outlook.com"
    assert mail.conversation_key == DORSET_ROOT  # a Thread-Index of exactly 22 bytes (a conversation root)
    assert len(mail.attachments) == 1
    tnef = mail.attachments[0]
    assert (tnef.filename, tnef.content_type, tnef.size) == ("winmail.dat", "application/ms-tnef", 1035)
    # the text body (labelled iso-8859-1, quoted-printable) is still the body
    assert mail.new_text == (
        "Please see the attached chronology. The Head of Service has agreed the revised plan.\n\n"
        "Karen Ashworth\nBusiness Support Officer"
    )
    assert mail.defects == ()


def test_huge_body_is_truncated_with_a_defect() -> None:
    raw = _raw("huge_body.eml.gz")
    assert len(raw) > MAX_TEXT_CHARS
    mail = _parsed("huge_body.eml.gz")
    assert mail.message_id == "chronology-export-112233@southwest-council.gov.uk"
    assert mail.size == len(raw)
    assert len(mail.text) == MAX_TEXT_CHARS
    assert any("truncated" in defect for defect in mail.defects)
    assert mail.new_text.startswith("Chronology entry 000000: contact recorded with the allocated social worker")
    assert len(mail.new_text) <= MAX_TEXT_CHARS


def test_bounce_dsn() -> None:
    mail = _parsed("bounce_dsn.eml")
    assert mail.content_type == "multipart/report"
    assert mail.message_id == "bounce-9f1e2d3c@AM0PR02MB5521.eurprd02.prod.outlook.com"
    assert mail.header("auto-submitted") == "auto-replied"
    assert mail.from_ is not None and mail.from_.email == (
        "microsoftexchange329e71ec88ae4615bbc36ab6ce41109e@dorsetcouncil.gov.uk"
    )
    assert mail.delivery_status is not None
    assert "Final-Recipient: rfc822;mark.tulloch@dorsetcouncil.gov.uk" in mail.delivery_status
    assert "Status: 5.1.10" in mail.delivery_status
    assert mail.enclosed_message_ids == ("escalation-0042-l1-chase-1@iro-escalations.dorsetcouncil.gov.uk",)
    assert mail.new_text == (
        "Your message to mark.tulloch@dorsetcouncil.gov.uk couldn't be delivered.\n"
        "The mailbox is no longer in use."
    )
    assert [a.content_type for a in mail.attachments] == ["message/rfc822"]


def test_returned_headers_only_bounce_gives_the_enclosed_id() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.hull.gov.uk\nTo: iro-escalations@hull.gov.uk\nSubject: Returned mail\n"
        b"Message-ID: <dsn-1@mx.hull.gov.uk>\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nDelivery failed.\n"
        b"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.hull.gov.uk\n\n"
        b"Final-Recipient: rfc822; gone@hull.gov.uk\nAction: failed\nStatus: 5.1.1\n"
        b"--b\nContent-Type: text/rfc822-headers\n\nFrom: iro-escalations@hull.gov.uk\n"
        b"Message-ID: <esc-7-l1@iro.hull.gov.uk>\nSubject: Stage 1\n--b--\n"
    )
    mail = parse_message(raw)
    assert mail.enclosed_message_ids == ("esc-7-l1@iro.hull.gov.uk",)
    assert mail.delivery_status is not None and "Status: 5.1.1" in mail.delivery_status
    assert mail.new_text == "Delivery failed."


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Mon, 30 Mar 2026 09:15:00 +0100", datetime(2026, 3, 30, 8, 15, tzinfo=UTC)),  # BST
        ("Tue, 1 Dec 2026 23:30:00 -0500", datetime(2026, 12, 2, 4, 30, tzinfo=UTC)),
        ("1 Dec 2026 11:20:00 -0000", datetime(2026, 12, 1, 11, 20, tzinfo=UTC)),
        ("Tue, 1 Dec 2026 11:20:00 GMT", datetime(2026, 12, 1, 11, 20, tzinfo=UTC)),
    ],
)
def test_date_is_utc(date: str, expected: datetime) -> None:
    mail = parse_message(f"From: a@b.gov.uk\nDate: {date}\nSubject: x\n\nbody\n".encode())
    assert mail.date == expected
    assert mail.date is not None and mail.date.tzinfo == UTC


def test_unparseable_date_is_a_defect() -> None:
    mail = parse_message(b"From: a@b.gov.uk\nDate: next Tuesday-ish\nSubject: x\n\nbody\n")
    assert mail.date is None
    assert any("Date" in defect for defect in mail.defects)


def test_addresses_quoted_names_and_rfc2047() -> None:
    raw = (
        b"From: =?utf-8?Q?Smith=2C_John?= <J.Smith@Hull.gov.uk>\n"
        b"To: \"O'Brien, Siobhan\" <S.OBrien@Hull.gov.uk>, =?iso-8859-1?Q?Ren=E9e_Dubois?= <RDubois@hull.GOV.uk>\n"
        b"To: second-to@hull.gov.uk\n"
        b"Cc: undisclosed-recipients:;\n"
        b"Subject: x\n\nbody\n"
    )
    mail = parse_message(raw)
    assert mail.from_ == Address("Smith, John", "j.smith@hull.gov.uk")
    assert mail.to == (
        Address("O'Brien, Siobhan", "s.obrien@hull.gov.uk"),
        Address("Renée Dubois", "rdubois@hull.gov.uk"),
        Address("", "second-to@hull.gov.uk"),
    )
    assert mail.cc == ()


def test_from_sender_and_authentication_results_are_kept_raw() -> None:
    raw = (
        b"From: =?utf-8?q?jane.iro=40example.test?=\r\n <attacker@evil.example>\r\n"
        b"Sender: jane.iro@example.test <attacker@evil.example>\r\n"
        b"Authentication-Results: mx.council.example;\r\n\tdmarc=pass header.from=example.test\r\n"
        b"Authentication-Results: =?us-ascii?q?mx.council.example?=; dmarc=pass\r\n"
        b"Authentication-Results: mx.council.example; spf=pass (caf\xc3\xa9) smtp.mailfrom=example.test\r\n"
        b"Subject: =?utf-8?q?Level_1?=\r\n\r\nbody\r\n"
    )
    mail = parse_message(raw)
    assert mail.raw_headers == (
        ("from", "=?utf-8?q?jane.iro=40example.test?= <attacker@evil.example>"),  # unfolded, not decoded
        ("sender", "jane.iro@example.test <attacker@evil.example>"),  # not re-read as one address
        ("authentication-results", "mx.council.example;\tdmarc=pass header.from=example.test"),
        ("authentication-results", "=?us-ascii?q?mx.council.example?=; dmarc=pass"),
        ("authentication-results", "mx.council.example; spf=pass (café) smtp.mailfrom=example.test"),  # UTF-8
    )
    assert mail.raw_header_all("Authentication-Results")[1] == "=?us-ascii?q?mx.council.example?=; dmarc=pass"
    # ``headers`` and the addresses are still what the mail says, decoded
    assert mail.header_all("authentication-results")[1] == "mx.council.example; dmarc=pass"
    assert mail.from_ == Address("jane.iro@example.test", "attacker@evil.example")
    assert mail.sender == Address("", "jane.iro@example.test")
    assert mail.subject == "Level 1"
    with pytest.raises(ValueError, match="not kept raw"):
        mail.raw_header_all("subject")
    # line endings do not change them
    assert parse_message(raw.replace(b"\r\n", b"\n")).raw_headers == mail.raw_headers


_HEADER_TEXT = st.text(st.sampled_from("abcXYZ019 \t=?_;.@<>()\"'\\,:é"), max_size=200)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.tuples(st.sampled_from(["From", "Sender", "Authentication-Results"]), _HEADER_TEXT),
                       min_size=1, max_size=4),
       folds=st.lists(st.integers(0, 199), max_size=6))
def test_raw_header_values_are_the_values_as_written_unfolded(values: list[tuple[str, str]], folds: list[int]) -> None:
    lines = []
    for name, value in values:
        # fold before some of the blanks that follow another character
        folded = "".join("\r\n" + ch if k in folds and ch in " \t" and k and value[k - 1] not in " \t" else ch
                         for k, ch in enumerate(value))
        lines.append(f"{name}: {folded}\r\n".encode())
    mail = parse_message(b"".join(lines) + b"Subject: x\r\n\r\nbody\r\n")
    assert mail.raw_headers == tuple((name.lower(), value.strip(" \t")) for name, value in values)


def test_conversation_key() -> None:
    root = bytes(range(22))
    assert conversation_key(base64.b64encode(root + b"\x01\x02\x03\x04\x05").decode()) == root.hex()
    assert conversation_key(base64.b64encode(root).decode()) == root.hex()
    assert conversation_key(base64.b64encode(root[:21]).decode()) is None
    assert conversation_key("") is None
    assert conversation_key(None) is None


# --- the talon corpus -----------------------------------------------------------------------------------------

# Where each reply's expected text comes from: "Hello" (the corpus README's default) or "<name>_reply_text".
TALON_STANDARD = {
    "android.eml": "Hello",
    "aol.eml": "Hello",
    "apple_mail.eml": "Hello",
    "apple_mail_2.eml": "Hello",
    "comcast.eml": "Hello",
    "gmail.eml": "Hello",
    "hotmail.eml": "Hello",
    "iphone.eml": "iphone_reply_text",
    "outlook.eml": "Hello",
    "sparrow.eml": "sparrow_reply_text",
    "thunderbird.eml": "Hello",
    "yahoo.eml": "Hello",
}


def _talon_expected(name: str) -> str:
    source = TALON_STANDARD[name]
    if source == "Hello":
        assert not (STANDARD_REPLIES / f"{Path(name).stem}_reply_text").exists()
        return "Hello"
    return (STANDARD_REPLIES / source).read_text(encoding="utf-8")


@needs_talon
def test_every_talon_reply_has_an_expectation() -> None:
    on_disk = {path.name for path in STANDARD_REPLIES.glob("*.eml")}
    assert on_disk == set(TALON_STANDARD), "add each new talon .eml (and its expected text) to TALON_STANDARD"
    texts = {path.name for path in STANDARD_REPLIES.glob("*_reply_text")}
    assert texts == {source for source in TALON_STANDARD.values() if source != "Hello"}


@needs_talon
@pytest.mark.parametrize("name", sorted(TALON_STANDARD))
def test_talon_standard_replies(name: str) -> None:
    """talon's expected texts remove the quotation only (its signature extraction is a separate step): two
    of them keep a signature ("Sent from my iPhone", "-- / Sent with Sparrow").  ``new_text`` removes the
    signature too, so it must equal the expectation with its signature stripped, and be a prefix of it;
    the quotation-only reading of the body must equal the expectation itself."""
    expected = _talon_expected(name)
    mail = parse_message((STANDARD_REPLIES / name).read_bytes())
    assert _norm(mail.new_text) == _norm(strip_signature(expected))
    assert _norm(expected).startswith(_norm(mail.new_text))
    assert _norm(strip_quotes(mail.text)) == _norm(expected)
    assert mail.identity


@needs_talon
def test_talon_reply_quotations_share_block() -> None:
    """The HTML reply sits in the same table cell as the quote: "--- On Wed, 4/4/12, … wrote:" ends the reply's
    own <div>, and the quoted booking inquiry (From/Subject/To/Date and a big table) follows in a <blockquote>.
    The plain-text part of the same mail signs "Joe XXX"; the HTML part, preferred, signs "Jhon Doe"."""
    mail = parse_message((TALON / "reply-quotations-share-block.eml").read_bytes())
    words = (
        "Hi Katharine. Sounds great. Are there and dietry restrictions or things your husband does/doesn't like to "
        "eat? Would you like to do a few hors d oeuvres and then a 3 or 4 course dinner? Let me know what you think "
        "will work best and I will start working on a menu and proposal. Thanks so much and look forward to hearing "
        "from you soon."
    )
    squash = re.compile(r"[ \xa0]+")
    assert squash.sub(" ", mail.new_text) == f"{words}\n\nJhon Doe"
    for quoted in ("wrote", "From:", "Booking Inquiry", "Event Details"):
        assert quoted not in mail.new_text
    # the plain-text part alone gives the same reply
    assert squash.sub(" ", _norm(strip_quotes(mail.text))) == f"{words}\n\nJoe XXX"


# --- robustness -----------------------------------------------------------------------------------------------

# The huge body is left out of the mutation seeds: 2.7 MB per example would make the property slow, not stronger.
SEEDS = tuple(_raw(name) for name in FIXTURE_NAMES if not name.endswith(".gz"))
_MESSAGE_ID_RE = re.compile(rb"(?im)^message-id:[^\n]*\n(?:[ \t][^\n]*\n)*")


@st.composite
def mutated_fixtures(draw: st.DrawFn, seeds: tuple[bytes, ...] = SEEDS) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 24))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(max_size=40))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


def _check_invariants(mail: ParsedMail) -> None:
    assert isinstance(mail, ParsedMail)
    assert mail.identity
    assert re.fullmatch(r"[0-9a-f]{64}", mail.fingerprint)
    if mail.message_id is None:
        assert mail.identity == f"fingerprint:{mail.fingerprint}"
    else:
        assert mail.identity == mail.message_id
        assert "<" not in mail.message_id and ">" not in mail.message_id
    assert all(address.email == address.email.lower() for address in (*mail.to, *mail.cc, *mail.reply_to))
    assert mail.date is None or mail.date.tzinfo == UTC
    assert isinstance(mail.new_text, str)
    # every From, Sender and Authentication-Results header is kept raw too, in the same order
    assert [key for key, _ in mail.headers if key in RAW_HEADERS] == [key for key, _ in mail.raw_headers]


_ROBUST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_ROBUST
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    mail = parse_message(raw)
    _check_invariants(mail)
    assert parse_message(raw).identity == mail.identity


@_ROBUST
@given(mutated_fixtures())
def test_mutated_fixtures_never_raise(raw: bytes) -> None:
    mail = parse_message(raw)
    _check_invariants(mail)
    again = parse_message(raw)
    assert again.identity == mail.identity
    assert again == mail


@_ROBUST
@given(mutated_fixtures(tuple(_MESSAGE_ID_RE.sub(b"", seed) for seed in SEEDS)))
def test_without_message_id_identity_is_a_stable_fingerprint(raw: bytes) -> None:
    mail = parse_message(raw)
    _check_invariants(mail)
    if mail.message_id is None:
        assert mail.identity == f"fingerprint:{mail.fingerprint}"
        assert parse_message(bytes(raw)).identity == mail.identity


@pytest.mark.parametrize("name", [name for name in FIXTURE_NAMES if not name.endswith(".gz")])
def test_without_message_id_fixtures_fall_back_to_the_fingerprint(name: str) -> None:
    raw = _MESSAGE_ID_RE.sub(b"", _raw(name), count=1)
    mail = parse_message(raw)
    assert mail.message_id is None
    assert mail.identity == f"fingerprint:{mail.fingerprint}" == parse_message(raw).identity
    # the fingerprint does not depend on line endings
    assert parse_message(raw.replace(b"\n", b"\r\n")).identity == mail.identity


def test_different_mails_without_message_id_have_different_identities() -> None:
    first = parse_message(b"From: a@b.gov.uk\nSubject: x\nDate: Tue, 1 Dec 2026 11:20:00 +0000\n\nResolved\n")
    second = parse_message(b"From: a@b.gov.uk\nSubject: x\nDate: Tue, 1 Dec 2026 11:20:00 +0000\n\nEscalate\n")
    assert first.identity != second.identity


@pytest.mark.parametrize("raw", [b"", b"   \n", b"\x00\xff\xfe", b"no headers at all", b"\n\nbody only"])
def test_degenerate_input_is_still_a_mail(raw: bytes) -> None:
    mail = parse_message(raw)
    _check_invariants(mail)
    assert mail.defects


@pytest.mark.parametrize("name", [name for name in FIXTURE_NAMES if not name.endswith(".gz")])
def test_crlf_and_lf_give_the_same_mail(name: str) -> None:
    lf = _raw(name).replace(b"\r\n", b"\n")
    crlf = lf.replace(b"\n", b"\r\n")
    a, b = parse_message(lf), parse_message(crlf)
    assert a.new_text == b.new_text
    assert a.text == b.text
    assert a.identity == b.identity
    assert (a.subject, a.from_, a.to, a.cc, a.date) == (b.subject, b.from_, b.to, b.cc, b.date)


@needs_talon
@pytest.mark.parametrize("name", sorted(TALON_STANDARD))
def test_crlf_and_lf_give_the_same_new_text_for_talon(name: str) -> None:
    lf = (STANDARD_REPLIES / name).read_bytes().replace(b"\r\n", b"\n")
    assert parse_message(lf).new_text == parse_message(lf.replace(b"\n", b"\r\n")).new_text


_LINE = st.text(st.sampled_from("abcdefghij XYZ,.-:>0123456789éÀ"), max_size=30)


@settings(max_examples=100, deadline=None)
@given(st.lists(_LINE, min_size=1, max_size=8), st.lists(_LINE, max_size=6), st.booleans())
def test_crlf_and_lf_give_the_same_new_text_property(reply: list[str], quoted: list[str], qp: bool) -> None:
    body = "\n".join(reply) + "\n\nFrom: Jane Iro <jane@x.gov.uk>\nSent: 27 November 2026 14:02\nTo: Mark\n"
    body += "Subject: L1\n\n" + "\n".join(quoted) + "\n"
    encoding = "quoted-printable" if qp else "8bit"
    payload = quopri.encodestring(body.encode()).decode("ascii") if qp else body
    raw = (
        "From: a@b.gov.uk\nSubject: RE: L1\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        f"Content-Transfer-Encoding: {encoding}\n\n{payload}"
    ).encode()
    lf = parse_message(raw)
    crlf = parse_message(raw.replace(b"\n", b"\r\n"))
    assert lf.new_text == crlf.new_text
    assert lf.identity == crlf.identity


# --- Outlook and OWA first, built here as strings -------------------------------------------------------------

REPLY_WORDS = "Escalate - the plan has still not been updated."


def _mail(plain: str | None = None, html: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = "Mark Tulloch <Mark.Tulloch@dorsetcouncil.gov.uk>"
    message["To"] = "IRO Escalations <iro-escalations@dorsetcouncil.gov.uk>"
    message["Subject"] = "RE: Action - Level 1 escalation - Tom Example - MOSAIC 123456"
    message["Date"] = "Mon, 7 Dec 2026 09:12:39 +0000"
    message["Message-ID"] = "<reply-1@dorsetcouncil.gov.uk>"
    if plain is not None:
        message.set_content(plain)
    if html is not None:
        if plain is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    return message.as_bytes()


def _outlook_html(labels: tuple[str, str, str, str], reply: str = REPLY_WORDS) -> str:
    """An Outlook desktop (Word) HTML reply: MsoNormal paragraphs, then the border-top From/Sent/To/Subject block."""
    frm, sent, to, subject = labels
    return (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>'
        "<style><!-- p.MsoNormal {margin:0cm;} --></style></head><body lang=EN-GB>"
        '<div class="WordSection1">'
        f'<p class="MsoNormal">Hi Jane,<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
        f'<p class="MsoNormal">{reply}<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
        '<p class="MsoNormal">Kind regards<o:p></o:p></p><p class="MsoNormal">Mark Tulloch<o:p></o:p></p>'
        '<p class="MsoNormal">Team Manager<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
        '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
        f'<p class="MsoNormal"><b><span lang=EN-US>{frm}</span></b><span lang=EN-US> Jane Iro '
        "&lt;jane.iro@dorsetcouncil.gov.uk&gt;<br>"
        f"<b>{sent}</b> 27 November 2026 14:02<br><b>{to}</b> Mark Tulloch &lt;mark.tulloch@dorsetcouncil.gov.uk&gt;"
        f"<br><b>{subject}</b> Action - Level 1 escalation<o:p></o:p></span></p></div>"
        '<p class="MsoNormal"><o:p>&nbsp;</o:p></p><p class="MsoNormal">Dear Mark,<o:p></o:p></p>'
        '<p class="MsoNormal">Please respond by 05/12/2026.<o:p></o:p></p></div></body></html>'
    )


def _plain_reply(block: str, reply: str = REPLY_WORDS) -> str:
    signature = "Kind regards\nMark Tulloch\nTeam Manager"
    return f"Hi Jane,\n\n{reply}\n\n{signature}\n\n{block}\n\nDear Mark,\n\nPlease respond.\n"


ENGLISH = ("From:", "Sent:", "To:", "Subject:")
GERMAN = ("Von:", "Gesendet:", "An:", "Betreff:")
FRENCH = ("De&nbsp;:", "Envoyé&nbsp;:", "À&nbsp;:", "Objet&nbsp;:")
EXPECTED = f"Hi Jane,\n\n{REPLY_WORDS}"


@pytest.mark.parametrize("labels", [ENGLISH, GERMAN, FRENCH], ids=["english", "german", "french"])
def test_outlook_desktop_html_reply(labels: tuple[str, str, str, str]) -> None:
    html = _outlook_html(labels)
    assert parse_message(_mail(html=html)).new_text == EXPECTED
    # with a text/plain alternative that has no usable quote header, the HTML structure still decides
    assert parse_message(_mail(plain=f"Hi Jane,\n\n{REPLY_WORDS}\n", html=html)).new_text == EXPECTED


def test_owa_reply_with_divrplyfwdmsg_and_hr() -> None:
    html = (
        '<html><head><style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} </style></head>'
        '<body dir="ltr"><div class="elementToProof" style="font-family: Aptos; font-size: 12pt;">'
        f"{REPLY_WORDS}</div>"
        '<div class="elementToProof"><br></div><div class="elementToProof">Mark</div>'
        '<div id="appendonsend"></div>'
        '<hr style="display:inline-block;width:98%" tabindex="-1">'
        '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000">'
        "<b>From:</b> IRO Escalations &lt;iro-escalations@dorsetcouncil.gov.uk&gt;<br><b>Sent:</b> 04 December "
        "2026 17:05<br><b>To:</b> Mark Tulloch &lt;mark.tulloch@dorsetcouncil.gov.uk&gt;<br><b>Subject:</b> "
        "[ESC-0042] Level 1 response overdue</font><div>&nbsp;</div></div>"
        "<div><p>Dear Mark,</p><p>Reply <b>Escalate</b> to move it to Level 2.</p></div></body></html>"
    )
    mail = parse_message(_mail(html=html))
    assert mail.new_text == f"{REPLY_WORDS}\n\nMark"
    # OWA's own text/plain alternative: the underscore line and From/Sent/To/Subject block
    plain = (
        f"{REPLY_WORDS}\n\nMark\n________________________________\nFrom: IRO Escalations "
        "<iro-escalations@dorsetcouncil.gov.uk>\nSent: 04 December 2026 17:05\nTo: Mark Tulloch "
        "<mark.tulloch@dorsetcouncil.gov.uk>\nSubject: [ESC-0042] Level 1 response overdue\n\nDear Mark,\n"
    )
    assert parse_message(_mail(plain=plain)).new_text == f"{REPLY_WORDS}\n\nMark"
    assert parse_message(_mail(plain=plain, html=html)).new_text == f"{REPLY_WORDS}\n\nMark"


def test_original_message_separator_in_plain_text() -> None:
    plain = (
        f"{REPLY_WORDS}\n\nMark\n\n-----Original Message-----\nFrom: Jane Iro\nSent: 27 November 2026 14:02\n"
        "To: Mark Tulloch\nSubject: Action - Level 1 escalation\n\nDear Mark,\n\nPlease respond by 05/12/2026.\n"
    )
    assert parse_message(_mail(plain=plain)).new_text == f"{REPLY_WORDS}\n\nMark"
    # the separator alone, with nothing recognisable after it, still ends the reply
    bare = f"{REPLY_WORDS}\n\n-----Original Message-----\nDear Mark, please respond.\n"
    assert parse_message(_mail(plain=bare)).new_text == REPLY_WORDS


@pytest.mark.parametrize(
    "block",
    [
        "Von: Jane Iro <jane.iro@dorsetcouncil.gov.uk>\nGesendet: Freitag, 27. November 2026 14:02\n"
        "An: Mark Tulloch <mark.tulloch@dorsetcouncil.gov.uk>\nBetreff: Action - Level 1 escalation",
        "-----Ursprüngliche Nachricht-----\nVon: Jane Iro\nGesendet: Freitag, 27. November 2026 14:02\n"
        "An: Mark Tulloch\nBetreff: Action - Level 1 escalation",
        "De : Jane Iro <jane.iro@dorsetcouncil.gov.uk>\nEnvoyé : vendredi 27 novembre 2026 14:02\n"
        "À : Mark Tulloch <mark.tulloch@dorsetcouncil.gov.uk>\nObjet : Action - Level 1 escalation",
        "-------- Message d'origine --------\nDe : Jane Iro\nEnvoyé : vendredi 27 novembre 2026 14:02\n"
        "À : Mark Tulloch\nObjet : Action - Level 1 escalation",
    ],
    ids=["german", "german-original", "french", "french-original"],
)
def test_german_and_french_plain_text_headers(block: str) -> None:
    assert parse_message(_mail(plain=_plain_reply(block))).new_text == EXPECTED


@pytest.mark.parametrize(
    ("sign_off", "history"),
    [
        ("Sent from my iPhone", "> On 27 Nov 2026, at 14:02, Jane Iro <jane.iro@dorsetcouncil.gov.uk> wrote:\n>\n"
                                "> Dear Mark,\n"),
        ("Get Outlook for Android<https://aka.ms/AAb9ysg>", "________________________________\nFrom: Jane Iro "
         "<jane.iro@dorsetcouncil.gov.uk>\nSent: Friday, November 27, 2026 2:02:11 PM\nTo: Mark Tulloch\n"
         "Subject: Action - Level 1 escalation\n\nDear Mark,\n"),
        ("Sent from Outlook for iOS<https://aka.ms/o0ukef>", "________________________________\nFrom: Jane Iro "
         "<jane.iro@dorsetcouncil.gov.uk>\nSent: Friday, November 27, 2026 2:02:11 PM\nTo: Mark Tulloch\n"
         "Subject: Action - Level 1 escalation\n\nDear Mark,\n"),
        ("Sent from my iPhone", ""),
    ],
    ids=["iphone", "outlook-android", "outlook-ios", "iphone-no-history"],
)
def test_mobile_signatures_in_plain_text(sign_off: str, history: str) -> None:
    plain = f"Agreed - extend to 11/12/2026.\n\n{sign_off}\n\n{history}"
    assert parse_message(_mail(plain=plain)).new_text == "Agreed - extend to 11/12/2026."


@pytest.mark.parametrize(
    "sign_off",
    [
        "Sent from my iPhone",
        'Get <a href="https://aka.ms/AAb9ysg">Outlook for Android</a>',
        'Sent from <a href="https://aka.ms/o0ukef">Outlook for iOS</a>',
    ],
)
def test_mobile_signatures_in_owa_html(sign_off: str) -> None:
    html = (
        '<html><body><div dir="auto">Agreed - extend to 11/12/2026.</div><div dir="auto"><br></div>'
        f'<div dir="ltr">{sign_off}</div>'
        '<hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr">'
        "<b>From:</b> Jane Iro<br><b>Sent:</b> Friday, November 27, 2026 2:02:11 PM<br><b>To:</b> Mark Tulloch<br>"
        "<b>Subject:</b> Action - Level 1 escalation</div><div>Dear Mark,</div></body></html>"
    )
    assert parse_message(_mail(html=html)).new_text == "Agreed - extend to 11/12/2026."


def test_from_in_a_sentence_does_not_cut_the_reply() -> None:
    plain = (
        "Resolved - from: the panel on 3 December the plan was agreed.\n"
        "Sent: a copy to the social worker.\n\nMark\n"
    )
    assert parse_message(_mail(plain=plain)).new_text == (
        "Resolved - from: the panel on 3 December the plan was agreed.\nSent: a copy to the social worker.\n\nMark"
    )


def test_new_outlook_reference_message_container() -> None:
    html = (
        '<html><body><div class="elementToProof">Resolved - plan now signed off.</div><div><br></div>'
        '<div id="mail-editor-reference-message-container"><div class="ms-outlook-mobile-reference-message">'
        '<div style="border-width:1pt medium medium;border-style:solid none none;padding:3pt 0in 0in">'
        "<b>From: </b>Jane Iro &lt;jane.iro@dorsetcouncil.gov.uk&gt;<br><b>Date: </b>Friday, 27 November 2026 at "
        "14:02<br><b>To: </b>Mark Tulloch<br><b>Subject: </b>Action - Level 1 escalation</div>"
        "<div>Dear Mark,</div></div></div></body></html>"
    )
    assert parse_message(_mail(html=html)).new_text == "Resolved - plan now signed off."


def test_outlook_header_paragraph_without_border_div() -> None:
    """Older Outlook and some gateways keep the From/Sent/To/Subject block as a plain MsoNormal paragraph."""
    html = (
        '<p class="MsoNormal">Resolved - plan now signed off.</p><p class="MsoNormal">&nbsp;</p>'
        '<p class="MsoNormal"><b>From:</b> Jane Iro [mailto:jane.iro@dorsetcouncil.gov.uk] <br><b>Sent:</b> '
        "27 November 2026 14:02<br><b>To:</b> Mark Tulloch<br><b>Subject:</b> Action - Level 1 escalation</p>"
        '<p class="MsoNormal">Dear Mark,</p>'
    )
    assert parse_message(_mail(html=html)).new_text == "Resolved - plan now signed off."
