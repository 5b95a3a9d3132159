"""Tests for parsers.reply: the new text of a plain-text reply."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers import reply
from parsers.reply import (
    ends_with_attribution,
    find_quote_start,
    is_contact_line,
    is_name_line,
    is_title_line,
    is_valediction,
    sign_off_start,
    strip_quotes,
    strip_reply,
    strip_signature,
)

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
CRISP = CORPUS / "crisp"

needs_crisp = pytest.mark.skipif(not CRISP.is_dir(), reason=f"corpus folder {CRISP} is absent")

REPLY = "Hi Jane,\n\nThe plan was signed off at panel today.\n\nResolved - plan now signed off"


# --- Outlook desktop and OWA first ------------------------------------------------------------------


@pytest.mark.parametrize(
    "history",
    [
        # Outlook desktop
        "From: Jane Iro <jane.iro@dorsetcouncil.gov.uk>\nSent: 27 November 2026 14:02\n"
        "To: Mark Tulloch <mark.tulloch@dorsetcouncil.gov.uk>\n"
        "Subject: Action - Level 1 escalation - Tom Example - MOSAIC 123456\n\nDear Mark,\n\nPlease respond.",
        # "Date:" instead of "Sent:", and a Cc line
        "From: Jane Iro <jane.iro@dorsetcouncil.gov.uk>\nDate: Friday, 27 November 2026 at 14:02\n"
        "To: Mark Tulloch <mark.tulloch@dorsetcouncil.gov.uk>\nCc: qa.manager@dorsetcouncil.gov.uk\n"
        "Subject: Action - Level 1 escalation\n\nDear Mark,",
        # starred (bold rendered as text) labels
        "*From:* Jane Iro [mailto:jane.iro@dorsetcouncil.gov.uk]\n*Sent:* 27 November 2026 14:02\n"
        "*To:* Mark Tulloch\n*Subject:* Action - Level 1 escalation\n\nDear Mark,",
        # the From line wrapped over two lines
        "From: Independent Reviewing Service (Dorset Council)\n<iro-escalations@dorsetcouncil.gov.uk>\n"
        "Sent: 27 November 2026 14:02\nTo: Mark Tulloch <mark.tulloch@dorsetcouncil.gov.uk>\n"
        "Subject: Chaser\n\nDear Mark,",
        # Original Message separator
        "-----Original Message-----\nFrom: Jane Iro\nSent: 27 November 2026 14:02\nTo: Mark Tulloch\n"
        "Subject: Escalation\n\nDear Mark,",
        # OWA / Outlook for iOS underscore separator
        "________________________________\nFrom: Jane Iro <jane.iro@dorsetcouncil.gov.uk>\n"
        "Sent: Friday, November 27, 2026 2:02:11 PM\nTo: Mark Tulloch <mark.tulloch@dorsetcouncil.gov.uk>\n"
        "Subject: Action - Level 1 escalation\n\nDear Mark,",
        # Gmail-style attribution, split over two lines
        "On Fri, 27 Nov 2026 at 14:02, Jane Iro <\njane.iro@dorsetcouncil.gov.uk> wrote:\n\n> Dear Mark,\n>",
        # forwarded message header
        "---------- Forwarded message ---------\nFrom: Jane Iro <jane.iro@dorsetcouncil.gov.uk>\n"
        "Date: Fri, 27 Nov 2026 at 14:02\nSubject: Escalation\nTo: Mark Tulloch\n\nDear Mark,",
    ],
    ids=["outlook", "date-instead-of-sent", "starred", "wrapped-from", "original-message", "owa", "gmail-split",
         "forwarded"],
)
def test_outlook_and_owa_history_is_removed(history: str) -> None:
    assert strip_reply(f"{REPLY}\n\n{history}\n") == REPLY


@pytest.mark.parametrize(
    "header",
    [
        "On 27 Nov 2026, at 14:02, Jane Iro <jane.iro@dorsetcouncil.gov.uk> wrote:",
        "On Fri, 27 Nov 2026 at 14:02, Jane Iro\n<jane.iro@dorsetcouncil.gov.uk> wrote:",
        "On Fri, 27 Nov 2026 at 14:02, Jane Iro <jane.iro@dorsetcouncil.gov.uk>\nwrote:",
        "Le ven. 27 nov. 2026 à 14:02, Jane Iro <jane.iro@dorsetcouncil.gov.uk> a écrit :",
        "Am 27.11.2026 um 14:02 schrieb Jane Iro <jane.iro@dorsetcouncil.gov.uk>:",
        "El vie, 27 nov 2026 a las 14:02, Jane Iro (<jane.iro@dorsetcouncil.gov.uk>) escribió:",
        "Op vr 27 nov 2026 om 14:02 schreef Jane Iro <jane.iro@dorsetcouncil.gov.uk>:",
        "Den fre. 27. nov. 2026 kl. 14:02 skrev Jane Iro <jane.iro@dorsetcouncil.gov.uk>:",
        "W dniu 27.11.2026 o 14:02, Jane Iro <jane.iro@dorsetcouncil.gov.uk> napisał:",
        "пт, 27 нояб. 2026 г. в 14:02, Jane Iro <jane.iro@dorsetcouncil.gov.uk>:",
        "27 нояб. 2026 г., в 14:02, Jane Iro <jane.iro@dorsetcouncil.gov.uk> написал(а):",
    ],
)
def test_attribution_headers_in_many_languages(header: str) -> None:
    text = f"{REPLY}\n\n{header}\n\n> Dear Mark,\n> Please respond by 05/12/2026.\n"
    assert strip_reply(text) == REPLY
    assert find_quote_start(text) == len(REPLY.splitlines()) + 1


def test_attribution_without_quoting_cuts_everything_after() -> None:
    text = f"{REPLY}\n\nOn 27 Nov 2026, at 14:02, Jane Iro wrote:\n\nDear Mark,\n\nPlease respond.\n"
    assert strip_reply(text) == REPLY


def test_bottom_posted_reply_keeps_text_after_the_quote() -> None:
    text = (
        "On 27 Nov 2026, at 14:02, Jane Iro <jane.iro@dorsetcouncil.gov.uk> wrote:\n"
        "> Can you confirm the plan is signed off?\n"
        "\n"
        "Yes - signed off today.\n"
    )
    assert strip_reply(text) == "Yes - signed off today."


def test_quoted_lines_alone_are_removed() -> None:
    assert strip_reply("Agreed.\n\n> Can we extend to 11/12/2026?\n> Thanks\n") == "Agreed."


@pytest.mark.parametrize(
    "sign_off",
    [
        "Sent from my iPhone",
        "Sent from my iPad",
        "Sent from Outlook for iOS",
        "Get Outlook for Android<https://aka.ms/AAb9ysg>",
        "Get Outlook for iOS",
        "Sent from my BlackBerry 10 smartphone.",
        "Sent from Mail<https://go.microsoft.com/fwlink/?LinkId=550986> for Windows",
        "Sent from my Samsung Galaxy smartphone.",
    ],
)
def test_mobile_sign_offs_are_removed(sign_off: str) -> None:
    assert strip_reply(f"Escalate\n\n{sign_off}\n") == "Escalate"


def test_dash_dash_space_signature_is_removed() -> None:
    assert strip_reply("Escalate please.\n\n-- \nJane Iro\nIRO, Dorset Council\n") == "Escalate please."


def test_kind_regards_signature_and_disclaimer_are_removed() -> None:
    text = (
        "Extend to 12/12/2026 - the panel meets on the 10th.\n\nKind regards\n\nMark Tulloch\n"
        "Team Manager\nDorset Council\n"
    )
    assert strip_reply(text) == "Extend to 12/12/2026 - the panel meets on the 10th."
    disclaimer = (
        "Agreed.\n\nThis e-mail and any attachments are confidential and intended solely for the "
        "addressee.\nIf you have received it in error please tell the sender.\n"
    )
    assert strip_signature(disclaimer) == "Agreed."


def test_reply_lines_are_kept_intact() -> None:
    text = "\n\n  Hi Jane,   \n\n\nPoint one.\n   - indented bullet\n\n"
    assert strip_reply(text) == "  Hi Jane,\n\n\nPoint one.\n   - indented bullet"


@pytest.mark.parametrize(
    "text",
    [
        "The IRO wrote: the plan is overdue.\nShe also wrote that the school is involved.",
        "I checked the From: field and the Sent: date, they were correct.",
        "From: the IRO's point of view this is resolved.\nTo: be confirmed at panel.",
        "On 5 May the social worker visited and the carer was present.",
        "As regards the timeline, we should be done by Friday.",
        "The notification was sent from my iPhone app to all users.",
        "Agenda:\nFrom: 10:00\nTo: 11:00",
        "On reflection I agree with the IRO.\n\nOn Monday I will update the plan.",
    ],
)
def test_sentences_that_merely_mention_headers_are_not_cut(text: str) -> None:
    assert strip_reply(text) == text
    assert find_quote_start(text) is None


def test_ends_with_attribution() -> None:
    assert ends_with_attribution("Thanks\n\nOn 27 Nov 2026, at 14:02, Jane Iro wrote:")
    assert ends_with_attribution("Thanks\nOn Fri, 27 Nov 2026 at 14:02, Jane Iro\n<jane.iro@x.gov.uk> wrote:")
    assert not ends_with_attribution("Thanks, as Jane wrote")
    assert not ends_with_attribution("")


def test_crlf_and_nbsp_are_normalised() -> None:
    assert strip_reply("Agreed.\xa0\r\n\r\n> quoted\r\n") == "Agreed."


@given(st.text(max_size=400))
def test_strip_reply_only_removes_lines(text: str) -> None:
    """The result is made of the input's own lines (right-stripped), in order."""
    result = strip_reply(text)
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    for ch in "\u200b\u200e\u200f\ufeff":
        normalised = normalised.replace(ch, "")
    source = [line.rstrip() for line in normalised.split("\n")]
    position = 0
    for line in result.split("\n") if result else []:
        while position < len(source) and source[position] != line:
            position += 1
        assert position < len(source), line
        position += 1


def _strip_signature_by_rescanning(text: str) -> str:
    """strip_signature as it was written before it was made linear: for each valediction, the lines after it
    counted again (quadratic).  The reference the linear one must agree with."""
    lines = reply._normalise(text)
    cut = len(lines)
    for i, line in enumerate(lines):
        if reply._SIG_DELIMITER_RE.match(line) or reply._is_sign_off(line) or reply._DISCLAIMER_RE.match(line):
            cut = i
            break
        if reply._VALEDICTION_RE.match(line):
            tail = [rest for rest in lines[i + 1 :] if rest.strip()]
            if len(tail) <= reply._VALEDICTION_TAIL_LIMIT:
                cut = i
                break
    block = reply._sign_off_block_start(lines[:cut])  # the sign-off over a signature block: its own linear pass
    return reply._finish(lines[: cut if block is None else block])


_SIGNATURE_LINES = st.sampled_from([
    "Kind regards", "Regards,", "  best regards!", "Many Regards.", "regards, Jane", "", " ", "\t", "Jane Iro",
    "Resolved - plan now signed off", "-- ", "Sent from my iPhone", "Disclaimer: this e-mail is confidential",
    "\u00a0", "\u200b", "x",
])


@given(lines=st.lists(_SIGNATURE_LINES, max_size=80), eol=st.sampled_from(["\n", "\r\n", "\r"]))
def test_strip_signature_agrees_with_rescanning_after_each_valediction(lines: list[str], eol: str) -> None:
    text = eol.join(lines)
    assert strip_signature(text) == _strip_signature_by_rescanning(text)


@pytest.mark.parametrize(("tail", "cut"), [(30, True), (31, False)])
def test_a_valediction_is_a_signature_only_with_at_most_30_lines_after_it(tail: int, cut: bool) -> None:
    # blank lines between do not count
    text = "Resolved.\n\nKind regards\n" + "\n\n".join(f"line {k}" for k in range(tail))
    assert strip_signature(text) == ("Resolved." if cut else text)
    # of 1000 valedictions in a row, only the last has so few lines after it
    many = "\n".join(["Resolved.", *["Kind regards"] * 1000, *(f"line {k}" for k in range(tail))])
    assert strip_signature(many) == ("\n".join(["Resolved.", *["Kind regards"] * 999]) if cut else many)


@given(st.lists(st.sampled_from([
    "Agreed.", "", "> quoted", "On 1 Dec 2026, at 10:00, A <a@b.uk> wrote:", "From: A", "Sent: 1 Dec",
    "To: B", "Subject: S", "-- ", "Kind regards", "Sent from my iPhone", "-----Original Message-----",
    "________________________________", "text with wrote: inside",
]), max_size=30))
def test_strip_reply_never_fails_on_header_soup(lines: list[str]) -> None:
    text = "\n".join(lines)
    result = strip_reply(text)
    assert result == result.strip("\n")
    assert strip_quotes(text) is not None


# --- the crisp corpus -------------------------------------------------------------------------------

COMMON_FIRST = (
    "Fusce bibendum, quam hendrerit sagittis tempor, dui turpis tempus erat, pharetra sodales ante sem sit amet metus."
)
COMMON_LAST = "et mollis ligula rutrum quis. Fusce sed odio id arcu varius aliquet nec nec nibh."
COMMON = (COMMON_FIRST, COMMON_LAST)

# file -> (first line, last line) of the visible reply (the part above the quote header / signature).
CRISP_EXPECTED: dict[str, tuple[str, str]] = {
    "correct_sig.txt": ("this is an email with a correct -- signature.",) * 2,
    "email_1.txt": ("Hi folks", "-Abhishek Kona"),
    "email_2.txt": ("Hi,", 'the keys in a bucket, you’ll need to delete them all individually."'),
    "email_3.txt": ("Oh thanks.", "-Abhishek Kona"),
    "email_4.txt": ("Awesome! I haven't had another problem with it.",) * 2,
    "email_5.txt": ("One: Here's what I've got.", "for a while."),
    "email_6.txt": ("I get proper rendering as well.", "Sent a magnificent torch of pixels"),
    "email_7.txt": COMMON,
    "email_8.txt": COMMON,
    "email_9.txt": COMMON,
    "email_10.txt": COMMON,
    "email_11.txt": COMMON,
    "email_12.txt": COMMON,
    "email_13.txt": COMMON,
    "email_14.txt": COMMON,
    "email_15.txt": COMMON,
    "email_16.txt": COMMON,
    "email_17.txt": COMMON,
    "email_18.txt": COMMON,
    # "Sent from a magnificent torch of pixels" is a mobile sign-off, removed like "Sent from my iPhone".
    "email_19.txt": ("On Thursday, I get proper rendering.",) * 2,
    "email_20.txt": ("On Thursday.",) * 2,
    "email_21.txt": ("On Thursday:", "proident, sunt in culpa qui officia deserunt mollit anim id est laborum."),
    "email_22.txt": COMMON,
    "email_23.txt": COMMON,
    "email_24.txt": COMMON,
    "email_25.txt": COMMON,
    "email_26.txt": COMMON,
    "email_2_1.txt": ("Outlook with a reply",) * 2,
    "email_blackberry.txt": ("Here is another email",) * 2,
    "email_bullets.txt": ("test 2 this should list second", "   - and another"),
    "email_custom_quote_header.txt": ("Thank you!",) * 2,
    "email_customer_quote_header_2.txt": ("Thank you very much.",) * 2,
    "email_customer_quote_header_3.txt": ("bonjour,", "merci d'avance"),
    "email_danish_dash_separator.txt": COMMON,
    "email_emoji.txt": ("🎉", "@pandaland"),
    "email_en_multiline_2.txt": COMMON,
    "email_finnish.txt": COMMON,
    "email_fr_multiline.txt": COMMON,
    "email_french_2.txt": COMMON,
    "email_french_dash_separator.txt": COMMON,
    "email_german.txt": COMMON,
    "email_german_2.txt": COMMON,
    "email_german_3.txt": COMMON,
    "email_german_outlook.txt": COMMON,
    "email_gmail_split_line_from.txt": COMMON,
    "email_ios_outlook.txt": COMMON,
    "email_ios_outlook_fr.txt": COMMON,
    "email_iphone.txt": ("Here is another email",) * 2,
    "email_italian.txt": COMMON,
    "email_msn.txt": COMMON,
    "email_multi_word_sent_from_my_mobile_device.txt": ("Here is another email",) * 2,
    "email_norwegian_gmail.txt": COMMON,
    "email_not_a_signature.txt": ("Dear XXXXX:", "Super Domain Name Manager"),
    "email_not_a_signature_2.txt": ("Hello,", "Thanks!"),
    "email_one_is_not_on.txt": ("Thank, this is really helpful.", "Locally (on development), when I run..."),
    "email_original_message.txt": COMMON,
    "email_original_message_2.txt": COMMON,
    "email_outlook_split_line_from.txt": COMMON,
    "email_portuguese.txt": COMMON,
    "email_reply_header.txt": ("This is the latest reply.", "Stranger"),
    "email_russian.txt": COMMON,
    "email_sent_from.txt": (
        "Hi it can happen to any texts you type, as long as you type in between words or paragraphs.",
    ) * 2,
    "email_sent_from_my_not_signature.txt": (
        "Here is another email", "Sent from my desk, is much easier then my mobile phone."
    ),
    "email_thread.txt": ("This is new email reply in thread from bellow.",) * 2,
    "email_tricky_1_on_false_positive.txt": (
        "On the surface, this looks like a quote header but it's not.",
        "On a separate note, I wanted to mention that performance is great.",
    ),
    "email_tricky_2_url_with_wrote.txt": (
        "Hi there,",
        "It's really interesting how they handled the case where URLs contain patterns like \"wrote:\" in them.",
    ),
    "email_tricky_3_code_block.txt": (
        "Here's the code that's causing issues:",
        "Notice how the code contains signature-like patterns that shouldn't be detected as actual signatures.",
    ),
    "email_tricky_4_from_in_body.txt": (
        "I need to parse emails that come from: john@example.com and from: jane@example.com",
        "This is the actual message content.",
    ),
    "email_tricky_5_mixed_languages.txt": COMMON,
    "email_tricky_6_regards_in_sentence.txt": (
        "I wanted to discuss the issue with regards to the payment processing system.",
        "This is the actual content that should be visible.",
    ),
    "email_tricky_7_multiple_dashes.txt": (
        "Here is my analysis:", "Also these equal signs are just separators in my content."
    ),
    "email_tricky_8_sent_from_in_content.txt": (
        "The notification was sent from my iPhone app to all users.", "All messages are sent from the main server."
    ),
    "email_tricky_9_nested_quotes.txt": ("I agree with the points below.",) * 2,
    "email_tricky_10_special_chars_in_name.txt": COMMON,
    "email_tricky_11_double_signature.txt": ("Thanks for your help!",) * 2,
    "email_tricky_12_no_space_after_header.txt": COMMON,
    "email_tricky_13_timestamp_variations.txt": (
        "Here are different timestamp formats that might cause issues:",
        "All of these are just examples in my content, not quote headers.",
    ),
    "email_tricky_14_long_quote_header.txt": COMMON,
    "email_tricky_15_original_message_variations.txt": COMMON,
    "email_tricky_16_unicode_signatures.txt": ("Thanks for the update!", "Sarah"),
    "email_tricky_17_forward_header.txt": ("See the forwarded message below.",) * 2,
    "email_tricky_18_inline_reply.txt": ("I think option A is great.", "Option C is not suitable for our use case."),
    "email_tricky_19_quote_without_header.txt": ("I wanted to respond to your points:", "And my final thoughts."),
    "email_tricky_20_html_entities.txt": (
        "The data should be &gt; 100 and &lt; 200.", "We need to ensure that &amp; symbols are handled correctly."
    ),
    "email_unquoted_reply.txt": ("This is my reply.",) * 2,
    # The [DATE] / [FROM] placeholders are literal text here; see test_crisp_date_header_placeholder.
    "email_with_date_headers.txt": ("Thank you very much.", "This is my previous mail"),
    "email_with_from_headers.txt": ("[FROM]", "My email is <foo@example.com>"),
    "email_with_regards.txt": ("Hi,", "Can you help?"),
    "email_zoho.txt": ("What is the best way to clear a Riak bucket of all key, values after", "running a test?"),
    "sig_no_empty_line.txt": ("this is an email with a signature with no empty line above.",) * 2,
}


@needs_crisp
def test_crisp_table_covers_every_file() -> None:
    files = {path.name for path in CRISP.glob("*.txt")}
    assert files == set(CRISP_EXPECTED)


@needs_crisp
@pytest.mark.parametrize("name", sorted(CRISP_EXPECTED))
def test_crisp_visible_reply(name: str) -> None:
    first, last = CRISP_EXPECTED[name]
    result = strip_reply((CRISP / name).read_text(encoding="utf-8"))
    lines = result.split("\n")
    assert lines[0] == first
    assert lines[-1] == last
    assert not any(line.lstrip().startswith(">") for line in lines)
    if (first, last) == COMMON:
        assert len(lines) == 5  # exactly the five lines of the reply, nothing of the quote


@needs_crisp
@pytest.mark.parametrize(
    "header",
    [
        "On Tue, 1 Dec 2026 at 09:14, Jane Iro <jane.iro@dorsetcouncil.gov.uk> wrote:",
        "-----Original Message-----",
        "From: Jane Iro\nSent: 01 December 2026 09:14\nTo: Mark Tulloch\nSubject: Escalation",
        "01.12.2026, 09:14, \"Jane Iro\" <jane.iro@dorsetcouncil.gov.uk>:",
    ],
)
def test_crisp_date_header_placeholder(header: str) -> None:
    text = (CRISP / "email_with_date_headers.txt").read_text(encoding="utf-8").replace("[DATE]", header)
    assert strip_reply(text) == "Thank you very much."


# -- the sign-off under a short text (what a command's outcome or note text leaves out) ---------------------


@pytest.mark.parametrize("line", ["Ira", "Ira Reviewer", "J.", "J", "Mary-Jane O'Brien", "Ira Reviewer (she/her)",
                                  "Anna van der Berg", "IRA", "**Ira**", "Ira\u2003Reviewer"])
def test_names_alone(line: str) -> None:
    assert is_name_line(line)


@pytest.mark.parametrize("line", ["Agreed", "Done.", "Review booked for 6 January.", "ira", "Plan Signed",
                                  "Tom will chair it", "Friday", "6 January", "x" * 200, "Hi Tom", "Ira."])
def test_not_names(line: str) -> None:
    assert not is_name_line(line)


@pytest.mark.parametrize("line", ["Thanks", "Thanks,", "Many thanks", "Thank you", "Thank you all", "Kind regards,",
                                  "Regards", "Best wishes", "Best", "Cheers Ira", "Thanks, Ira", "Thanks Ira Reviewer",
                                  "Kindest regards, J.", "Yours sincerely", "KR", "Ta.", "With thanks"])
def test_valedictions(line: str) -> None:
    assert is_valediction(line)


@pytest.mark.parametrize("line", ["Thanks for your help", "Best practice says otherwise", "Take the plan to panel",
                                  "Thanks to the TM the plan is done", "Regardless of the date", "thanks " * 40])
def test_not_valedictions(line: str) -> None:
    assert not is_valediction(line)


@pytest.mark.parametrize("line", ["Independent Reviewing Officer", "Quality Assurance and Reviewing Service", "IRO",
                                  "Ira Reviewer | Independent Reviewing Officer", "Children's Services, Dorset Council",
                                  "Team Manager - Children in Care East", "Head of Service", "SENIOR IRO"])
def test_title_lines(line: str) -> None:
    assert is_title_line(line)


@pytest.mark.parametrize("line", ["Head of Service agreed the funding.", "Team Manager to update the plan",
                                  "Reviewing Officer:", "Officer " * 40])
def test_not_title_lines(line: str) -> None:
    assert not is_title_line(line)


@pytest.mark.parametrize("line", ["Tel: 01305 224000", "T: 01305 224000 | M: 07700 900123", "Mobile no. 07700 900123",
                                  "E: ira.reviewer@dorset.gov.uk", "ira.reviewer@dorset.gov.uk", "01305 224000",
                                  "+44 (0)1305 224000", "www.dorsetcouncil.gov.uk", "https://x.example/a",
                                  "[cid:image001.png@01DB4A2C.5F3E1B20]", "<image001.png>", "(she/her)",
                                  "My working days are Monday to Thursday"])
def test_contact_lines(line: str) -> None:
    assert is_contact_line(line)


@pytest.mark.parametrize("line", ["Review on 18/12/2026", "2026-12-18", "Call the TM on 01305 224000 tomorrow.",
                                  "Team meeting: Friday", "Extension agreed"])
def test_not_contact_lines(line: str) -> None:
    assert not is_contact_line(line)


@pytest.mark.parametrize(
    ("lines", "previous", "start"),
    [
        (["", "Ira", "", "Ira Reviewer", "Independent Reviewing Officer"], "plan signed off", 1),
        (["Thanks", "Ira"], "plan signed off", 0),
        (["Review booked for 6 January.", "", "Ira"], "plan signed off.", 2),
        (["Review booked for 6 January."], "plan signed off.", 1),
        (["Ira"], "plan signed off", 0),
        (["Ira"], "", 0),  # nothing before a name: it signs
        (["Jane Smith"], "agreed at the meeting with", 1),  # the line before goes on
        (["Jane Smith", "Review booked."], "agreed with Tom.", 2),  # a name in the text, text after it
        (["Jane Smith", "Team Manager"], "plan signed off", 0),  # a name over a title
        (["", "", "Sent from my iPhone"], "plan signed off", 2),
        (["-- ", "Ira"], "plan signed off", 0),
        ([], "plan signed off", 0),
    ],
)
def test_sign_off_start(lines: list[str], previous: str, start: int) -> None:
    assert sign_off_start(lines, previous) == start


def test_strip_signature_keeps_names_and_titles() -> None:
    """strip_signature (the new text of every mail) is unchanged: a name or title block alone is not cut there."""
    text = "Resolved – plan signed off\n\nIra\n\nIra Reviewer\nIndependent Reviewing Officer"
    assert strip_signature(text) == text


# -- issue 13, item 4: headers without a date or a "wrote", tracker marks, sign-offs over a title block -----------


@pytest.mark.parametrize(
    "header",
    [
        "Mark Tulloch <mark.tulloch@dorsetcouncil.gov.uk> wrote:",
        "Mark Tulloch via Escalations <mark.tulloch@dorsetcouncil.gov.uk> schrieb:",
        "Mark Tulloch <mark.tulloch@dorsetcouncil.gov.uk> schrieb am Di., 1.\nDez. 2026 um 09:14 Uhr:",
    ],
)
def test_attribution_without_a_date_or_wrapped_after_an_abbreviation(header: str) -> None:
    assert strip_reply(f"Resolved - plan signed off.\n\n{header}\n\nThe old text\n") == "Resolved - plan signed off."


def test_dated_sender_over_quoted_lines_is_a_header() -> None:
    for quoted in ("> Old text\n> more\n", "\n| Old text\n| more\n"):
        text = f"Resolved.\n\n2026/12/01 Mark Tulloch <mark.tulloch@dorsetcouncil.gov.uk>\n{quoted}"
        assert strip_reply(text) == "Resolved."
    assert strip_reply("2026/12/01 Mark Tulloch <mark@x.gov.uk>\n> Old text\n") == ""
    # without quoted lines under it, a date and a name stay the writer's words
    kept = "Resolved.\n\n2026/12/01 Mark Tulloch <mark@x.gov.uk>\n\nThe panel met."
    assert strip_reply(kept) == kept


def test_tracker_mark_under_a_reply_is_not_text() -> None:
    assert strip_reply("Resolved.\n\n\u1427\n") == "Resolved."


@pytest.mark.parametrize(
    "sign_off",
    [
        "Thanks\nIra\nIndependent Reviewing Officer\nDorset Council\nTel: 01305 221000",
        "Many thanks,\n\nIra Reviewer\nIndependent Reviewing Officer",
        "Thanks, Ira\nQuality Assurance and Reviewing Service\nira.reviewer@dorsetcouncil.gov.uk",
    ],
)
def test_name_only_sign_off_over_a_signature_block_is_removed(sign_off: str) -> None:
    assert strip_signature(f"Resolved - plan now signed off\n\n{sign_off}") == "Resolved - plan now signed off"


@pytest.mark.parametrize(
    "text",
    [
        "Resolved - plan now signed off\n\nThanks,\nIra",  # no block under the name
        "Please see the plan.\n\nSincerely,\nSuper Domain Name Manager",  # a title alone, no name
        "Please see the plan.\n\nKaren Ashworth\nBusiness Support Officer",  # a name, no valediction
        "Thanks\nIra\nIndependent Reviewing Officer",  # nothing above the sign-off
    ],
)
def test_sign_off_without_a_signature_block_under_text_stays(text: str) -> None:
    assert strip_signature(text) == text
