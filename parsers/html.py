"""HTML mail bodies to plain text, and the new part of an HTML reply.

Pure functions over strings (BeautifulSoup with the stdlib ``html.parser``).  Outlook desktop and
Outlook on the web markup is handled first: ``<p class=MsoNormal>`` paragraphs are single lines,
``<o:p>&nbsp;</o:p>`` paragraphs are blank lines, Word's ``<style>``/``<xml>`` noise is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag
from bs4.element import CData

from parsers.reply import ends_with_attribution, find_quote_start, strip_quotes

__all__ = ["html_new_text", "html_reply_cut", "html_to_text"]

_DROP = frozenset({"style", "script", "head", "title", "meta", "link", "xml", "template", "noscript", "object"})
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
        "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "thead", "tfoot", "tr", "ul",
        "caption",
    }
)
_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "ul", "ol", "table"})
_INVISIBLE_CHARS = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\xad"), None)
_SPACE_RUN = re.compile(r"[ \t\r\n\f\v]+")
_BLANK_RUN = re.compile(r"\n{3,}")
_LABEL_START = re.compile(r"^\W{0,3}[^\W\d_][\w ]{0,24}?\s?:")
_BORDER_TOP_SOLID = re.compile(r"border-top(?:-style)?\s*:\s*[^;]*\bsolid\b", re.IGNORECASE)


class _Writer:
    """Collects text, tracking whether the output is at the start of a line."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.at_line_start = True
        self.blank_pending = 0

    def text(self, value: str) -> None:
        if not value:
            return
        if self.at_line_start:
            value = value.lstrip(" ")
            if not value:
                return
        self.parts.append(value)
        self.at_line_start = value.endswith("\n")

    def newline(self) -> None:
        self.parts.append("\n")
        self.at_line_start = True

    def end_line(self) -> None:
        if not self.at_line_start:
            self.newline()

    def paragraph(self) -> None:
        self.end_line()
        if self.parts and not "".join(self.parts[-2:]).endswith("\n\n"):
            self.newline()

    def value(self) -> str:
        return "".join(self.parts)


def _classes(tag: Tag) -> list[str]:
    value = tag.get("class") or []
    return [value] if isinstance(value, str) else list(value)


def _is_mso_paragraph(tag: Tag) -> bool:
    return any(name.lower().startswith("mso") for name in _classes(tag))


def _render(node: Tag, out: _Writer, pre: bool = False) -> None:
    for child in node.children:
        if isinstance(child, (Comment, Declaration, Doctype, ProcessingInstruction, CData)):
            continue
        if isinstance(child, NavigableString):
            value = str(child)
            if not pre:
                value = _SPACE_RUN.sub(" ", value)
            out.text(value)
            continue
        if not isinstance(child, Tag):
            continue
        name = (child.name or "").lower()
        if name in _DROP or name.startswith(("o:shape", "v:", "w:")):
            continue
        if name == "br":
            out.newline()
            continue
        if name in ("td", "th"):
            if not out.at_line_start:
                out.text(" | ")
            _render(child, out, pre)
            continue
        if name == "img":
            continue
        if name not in _BLOCK:
            _render(child, out, pre or name == "pre")
            continue
        paragraph = name in _PARAGRAPH and not (name == "p" and _is_mso_paragraph(child))
        if paragraph:
            out.paragraph()
        else:
            out.end_line()
        if name == "hr":
            continue
        if name == "li":
            out.text("- ")
        before = len(out.parts)
        _render(child, out, pre or name == "pre")
        if name == "p" and len(out.parts) == before:
            out.newline()  # an empty Word paragraph still takes a line
        if paragraph:
            out.paragraph()
        else:
            out.end_line()


def _soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _soup_to_text(soup: BeautifulSoup) -> str:
    out = _Writer()
    _render(soup, out)
    text = out.value().translate(_INVISIBLE_CHARS).replace("\xa0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    text = _BLANK_RUN.sub("\n\n", "\n".join(lines))
    return text.strip("\n")


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML mail body.

    Drops ``<style>``, ``<script>``, ``<head>`` and Office XML; ``<br>``, paragraphs and divs become
    line breaks (Outlook's ``MsoNormal`` paragraphs single ones), table rows become lines with cells
    joined by `` | ``, links keep their text, ``&nbsp;`` becomes a space, runs of blank lines collapse
    to one.
    """
    if not html:
        return ""
    return _soup_to_text(_soup(html))


# --- finding the quoted part of an HTML reply ------------------------------------------------------------


_MARKER_IDS = frozenset({"divRplyFwdMsg", "OLK_SRC_BODY_SECTION", "appendonsend", "isForwardContent"})
_MARKER_ID_PREFIXES = ("yahoo_quoted", "mail-editor-reference-message-container")
_MARKER_CLASSES = frozenset(
    {"gmail_quote", "gmail_quote_container", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote", "zmail_extra",
     "OutlookMessageHeader"}
)


def _iter_markers(soup: BeautifulSoup) -> Iterator[Tag]:
    """Elements where quoted history starts, in any order."""
    for tag in soup.find_all(True):
        name = (tag.name or "").lower()
        ident = str(tag.get("id") or "")
        classes = _classes(tag)
        if (
            ident in _MARKER_IDS
            or ident.startswith(_MARKER_ID_PREFIXES)
            or any(cls in _MARKER_CLASSES for cls in classes)
            or name == "hr"
        ):
            yield tag
        elif name == "blockquote":
            if str(tag.get("type") or "").lower() == "cite" or not _text_after(tag).strip():
                yield tag
        elif (
            name == "div"
            and _BORDER_TOP_SOLID.search(str(tag.get("style") or ""))
            and _LABEL_START.match(tag.get_text(" ", strip=True)[:60])
        ):
            # Outlook 2010+ "From:" block: <div style="border:none;border-top:solid #E1E1E1 1.0pt">.
            yield tag


def _text_after(tag: Tag) -> str:
    """Visible text that follows ``tag`` (not inside it) in document order."""
    parts: list[str] = []
    node: Tag | None = tag
    while node is not None and node.name != "[document]":
        for sibling in node.next_siblings:
            if isinstance(sibling, Tag):
                if (sibling.name or "").lower() not in _DROP:
                    parts.append(sibling.get_text())
            elif isinstance(sibling, NavigableString) and not isinstance(sibling, Comment):
                parts.append(str(sibling))
        node = node.parent
    return "".join(parts).replace("\xa0", " ")


def _attributed_blockquotes(soup: BeautifulSoup, markers: list[Tag]) -> list[Tag]:
    """Plain ``<blockquote>`` elements right after an attribution line ("On … wrote:")."""
    known = {id(tag) for tag in markers}
    candidates = [tag for tag in soup.find_all("blockquote") if id(tag) not in known]
    if not candidates:
        return []
    sentinels = []
    for index, tag in enumerate(candidates):
        sentinel = NavigableString(f"\ue000{index}\ue001")
        tag.insert_before(sentinel)
        sentinels.append(sentinel)
    text = _soup_to_text(soup)
    for sentinel in sentinels:
        sentinel.extract()
    found = []
    for index, tag in enumerate(candidates):
        position = text.find(f"\ue000{index}\ue001")
        if position >= 0 and ends_with_attribution(re.sub("\ue000\\d+\ue001", "", text[:position])):
            found.append(tag)
    return found


def _document_position(soup: BeautifulSoup) -> dict[int, int]:
    return {id(tag): index for index, tag in enumerate(soup.find_all(True))}


def _cut_from(tag: Tag) -> None:
    """Remove ``tag`` and everything after it in document order."""
    node: Tag | None = tag
    while node is not None and node.name != "[document]":
        for sibling in list(node.next_siblings):
            sibling.extract()
        node = node.parent
    tag.extract()


def html_reply_cut(html: str) -> str | None:
    """Text of ``html`` above its first structural quote marker, or None when it has none.

    Structural markers are elements: OWA's ``divRplyFwdMsg`` and the ``<hr>`` before it, Outlook's
    border-top "From:" block and ``OLK_SRC_BODY_SECTION``, ``gmail_quote``, ``blockquote
    type=cite``, ``yahoo_quoted``, ``moz-cite-prefix``, any ``<hr>``, and a ``<blockquote>`` that
    ends the mail.  An attribution line left just above the cut ("On … wrote:") is removed.
    """
    if not html:
        return None
    soup = _soup(html)
    markers = list(_iter_markers(soup))
    markers.extend(_attributed_blockquotes(soup, markers))
    if not markers:
        return None
    order = _document_position(soup)
    first = min(markers, key=lambda tag: order.get(id(tag), 0))
    _cut_from(first)
    return strip_quotes(_soup_to_text(soup))


def html_new_text(html: str) -> str | None:
    """The reply part of an HTML reply, as text; None when no quote marker is found.

    Structural markers (see :func:`html_reply_cut`) come first; failing those, the converted text is
    searched for plain-text quote headers (Outlook's ``From:/Sent:/To:/Subject:`` block in
    ``MsoNormal`` paragraphs, ``-----Original Message-----``, ``On … wrote:``) and ``>`` quoting.
    """
    cut = html_reply_cut(html)
    if cut is not None:
        return cut
    if not html:
        return None
    text = html_to_text(html)
    if find_quote_start(text) is not None or any(line.lstrip().startswith(">") for line in text.splitlines()):
        return strip_quotes(text)
    return None
