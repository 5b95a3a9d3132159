"""Tests for parsers.html: HTML bodies to text and the new part of HTML replies."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.html import html_new_text, html_reply_cut, html_to_text

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
TALON = CORPUS / "talon"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mail"

needs_talon = pytest.mark.skipif(not TALON.is_dir(), reason=f"corpus folder {TALON} is absent")


def _lines(text: str | None) -> list[str]:
    """Non-blank lines, stripped: the whitespace normalisation the corpus README asks for."""
    assert text is not None
    return [line.strip() for line in text.splitlines() if line.strip()]


def _fixture_html(name: str) -> str:
    message = BytesParser(policy=policy.default).parsebytes((FIXTURES / name).read_bytes())
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


# --- html_to_text -------------------------------------------------------------------------------------


def test_outlook_markup_becomes_plain_lines() -> None:
    html = (
        "<html><head><style>p.MsoNormal {margin:0cm;}</style><title>x</title></head><body>"
        "<div class=WordSection1>"
        "<p class=MsoNormal>Hi Jane,<o:p></o:p></p>"
        "<p class=MsoNormal><o:p>&nbsp;</o:p></p>"
        "<p class=MsoNormal>The plan is&nbsp;signed off.<o:p></o:p></p>"
        "<p class=MsoNormal>Mark<o:p></o:p></p>"
        "</div><script>alert(1)</script></body></html>"
    )
    assert html_to_text(html) == "Hi Jane,\n\nThe plan is signed off.\nMark"


def test_breaks_paragraphs_links_and_tables() -> None:
    html = (
        "<p>First   paragraph\nwrapped in source.</p><p>Second<br>line two</p>"
        "<div>See <a href='https://example.gov.uk/plan'>the plan</a>.</div>"
        "<table><tr><td>Level</td><td>Due</td></tr><tr><td>1</td><td>05/12/2026</td></tr></table>"
        "<ul><li>one</li><li>two</li></ul>"
    )
    assert html_to_text(html) == (
        "First paragraph wrapped in source.\n\nSecond\nline two\n\nSee the plan.\n\n"
        "Level | Due\n1 | 05/12/2026\n\n- one\n- two"
    )


def test_runs_of_blank_lines_collapse_and_entities_decode() -> None:
    html = "<div>a</div><br><br><br><br><div>b &amp; c &lt;d&gt;</div><p></p><p></p>"
    assert html_to_text(html) == "a\n\nb & c <d>"


def test_pre_keeps_its_layout() -> None:
    assert html_to_text("<pre>col1   col2\n  x      y</pre>") == "col1   col2\n  x      y"


def test_empty_and_text_only_html() -> None:
    assert html_to_text("") == ""
    assert html_to_text("just text") == "just text"


@given(st.text(max_size=300))
def test_html_to_text_never_fails(html: str) -> None:
    text = html_to_text(html)
    assert "\n\n\n" not in text
    html_new_text(html)


@given(st.lists(st.sampled_from([
    "<div>", "</div>", "<p class=MsoNormal>", "</p>", "<br>", "<hr>", "<blockquote>", "</blockquote>",
    "<blockquote type=cite>", "<div id=divRplyFwdMsg>", "<div class=gmail_quote>", "text", "On 1 Dec 2026 A wrote:",
    "From: A", "Sent: B", "To: C", "Subject: D", "<table><tr><td>", "</td></tr></table>", "&nbsp;", "<o:p>",
]), max_size=40))
def test_html_new_text_never_fails_on_tag_soup(parts: list[str]) -> None:
    html = "".join(parts)
    result = html_new_text(html)
    assert result is None or isinstance(result, str)


# --- html_new_text: council mail -------------------------------------------------------------------------


def test_outlook_desktop_border_top_block() -> None:
    html = _fixture_html("outlook_desktop_reply.eml")
    new = html_new_text(html)
    assert new is not None
    assert new.startswith("Hi Jane,\n\nThank you for raising this.")
    assert "Please can we extend to 11/12/2026 so that the plan can go to panel first?" in new
    assert "I am raising a Level 1 escalation" not in new
    assert "From:" not in new
    # html_new_text keeps the signature; ParsedMail.new_text removes it.
    assert new.splitlines()[-1] == "Tel: 01305 221000"


def test_owa_divrplyfwdmsg_and_hr() -> None:
    new = html_new_text(_fixture_html("owa_reply.eml"))
    assert _lines(new) == [
        "Escalate - no response has been received from the Team Manager and the 5 working days have passed.",
        "Séamus",
    ]


def test_owa_div_without_hr() -> None:
    html = (
        "<div>Resolved - plan now signed off</div>"
        "<div id=\"divRplyFwdMsg\" dir=\"ltr\"><b>From:</b> Jane Iro<br><b>Sent:</b> 1 December 2026</div>"
        "<div>Dear Mark,</div>"
    )
    assert html_new_text(html) == "Resolved - plan now signed off"


def test_gmail_quote() -> None:
    assert _lines(html_new_text(_fixture_html("gmail_reply.eml")))[-2:] == ["Resolved - transport arranged", "Priya"]


def test_plain_blockquote_after_attribution() -> None:
    html = (
        "<p>Extend to 12/12/2026</p><p>On 1 Dec 2026, at 09:00, Jane Iro &lt;jane.iro@x.gov.uk&gt; wrote:</p>"
        "<blockquote>Can you confirm?</blockquote><p>Unrelated footer text</p>"
    )
    assert html_new_text(html) == "Extend to 12/12/2026"


def test_blockquote_used_for_indentation_is_not_a_quote() -> None:
    html = "<p>See the policy:</p><blockquote>Level 1 is five days.</blockquote><p>So we are late.</p>"
    assert html_reply_cut(html) is None
    assert html_new_text(html) is None


def test_no_marker_gives_none() -> None:
    assert html_new_text("<p>Resolved - plan signed off</p><p>Kind regards<br>Mark</p>") is None
    assert html_new_text("") is None


def test_textual_outlook_header_without_markup_marker() -> None:
    html = (
        "<p class=MsoNormal>Escalate<o:p></o:p></p><p class=MsoNormal><b>From:</b> Jane Iro<br>"
        "<b>Sent:</b> 01 December 2026 09:14<br><b>To:</b> Mark Tulloch<br><b>Subject:</b> Escalation</p>"
        "<p class=MsoNormal>Dear Mark</p>"
    )
    assert html_reply_cut(html) is None
    assert html_new_text(html) == "Escalate"


# --- html_new_text: the talon corpus ------------------------------------------------------------------------


@needs_talon
@pytest.mark.parametrize("name", sorted(p.name for p in (TALON / "html_replies").glob("*.html")) or ["none"])
def test_talon_html_replies(name: str) -> None:
    html = (TALON / "html_replies" / name).read_text(encoding="utf-8")
    assert _lines(html_new_text(html)) == ["Hi. I am fine.", "Thanks,", "Alex"]


@needs_talon
def test_talon_html_replies_keep_the_blank_line() -> None:
    # Where the source has the empty paragraph between the lines, the text keeps it.
    for name in ("gmail.html", "ms_outlook_2003.html", "ms_outlook_2007.html", "thunderbird.html"):
        html = (TALON / "html_replies" / name).read_text(encoding="utf-8")
        assert html_new_text(html) == "Hi. I am fine.\n\nThanks,\nAlex", name


@needs_talon
def test_talon_olk_src_body_section() -> None:
    html = (TALON / "OLK_SRC_BODY_SECTION.html").read_text(encoding="utf-8")
    assert html_new_text(html) == "Reply"


@needs_talon
def test_talon_reply_separated_by_hr() -> None:
    html = (TALON / "reply-separated-by-hr.html").read_text(encoding="utf-8")
    assert _lines(html_new_text(html)) == ["Hi", "there", "Bob"]


# --- issue 13, item 4: Outlook for Mac's From line, forwards with a note, nested blockquotes ----------------------


def test_outlook_for_mac_from_line_above_its_body_section_is_cut() -> None:
    html = (
        "<div><p>Resolved - plan signed off at panel.</p><p>Ira</p>"
        "<pre><b>From: </b> Mark Tulloch &lt;<a href='mailto:mark@dorsetcouncil.gov.uk'>mark@dorsetcouncil.gov.uk</a>"
        "&gt;</pre></div><span id='OLK_SRC_BODY_SECTION'><div style='border-top:#b5c4df 1pt solid'>"
        "<b>Date: </b>Tuesday, 1 December 2026 09:14<br><b>To: </b>Ira<br><b>Subject: </b>Level 1</div>"
        "<div>Old text of the escalation</div></span>"
    )
    assert html_reply_cut(html) == "Resolved - plan signed off at panel.\n\nIra"


def test_forward_with_its_note_inside_the_quote_keeps_the_note() -> None:
    html = (
        "<blockquote class='gmail_quote'><div>Hi all,</div><div><br></div>"
        "<div>Below is the chronology for the panel.</div><br>"
        "From: jane.iro@dorsetcouncil.gov.uk<br>Subject: Fwd: Chronology<br>Date: 28 Nov 2026, at 3:51 pm<br>"
        "To: Mark Tulloch &lt;mark@dorsetcouncil.gov.uk&gt;<br><br>"
        "<blockquote class='gmail_quote'><div>The chronology itself</div></blockquote></blockquote>"
    )
    assert html_reply_cut(html) == "Hi all,\n\nBelow is the chronology for the panel."


def test_forward_note_in_a_quote_container_above_the_quoted_header() -> None:
    html = (
        "<div class='gmail_quote'><div>Update: two more children affected.</div><div>-Jane</div>"
        "<blockquote class='gmail_quote'><div>From: Mark Tulloch &lt;mark@dorsetcouncil.gov.uk&gt;<br>"
        "Date: Mon, 30 Nov 2026 at 16:00<br>Subject: Level 1<br>To: Jane Iro &lt;jane@dorsetcouncil.gov.uk&gt;"
        "<br><br>Old text</div></blockquote></div>"
    )
    assert html_reply_cut(html) == "Update: two more children affected.\n-Jane"


def test_quote_without_a_note_gives_no_text() -> None:
    # A quote that starts with its attribution (or holds no header under some text) is no forward's note.
    html = (
        "<blockquote type='cite'>On 30 Nov 2026, at 16:00, Mark Tulloch &lt;mark@dorsetcouncil.gov.uk&gt; wrote:"
        "<br><br><div>Old text</div></blockquote>"
    )
    assert html_reply_cut(html) == ""
    assert html_reply_cut("<div>x</div>".replace("x", "") + "<blockquote type='cite'><div>Old text</div>"
                          "<blockquote type='cite'>Older</blockquote></blockquote>") == ""


def test_nested_blockquote_just_above_the_quoted_mail_is_quoted_too() -> None:
    html = (
        "Escalate<br><br><blockquote><blockquote>Quote level 2</blockquote></blockquote>"
        "<blockquote class='gmail_quote'>On 1 Dec 2026, Mark wrote:<br>Old text</blockquote>"
    )
    assert html_new_text(html) == "Escalate"


def test_blockquote_with_the_reply_after_it_is_kept() -> None:
    html = (
        "See below.<br><blockquote>Can the plan be signed off?</blockquote>Yes, at panel.<br>"
        "<blockquote class='gmail_quote'>On 1 Dec 2026, Mark wrote:<br>Old text</blockquote>"
    )
    assert "Yes, at panel." in html_new_text(html)
