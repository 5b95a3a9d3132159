"""HTML mail bodies to plain text, and the new part of an HTML reply.

Pure functions over strings (BeautifulSoup over lxml, the fastest tree builder it supports: the tree is built
once per body).  Outlook desktop and
Outlook on the web markup is handled first: ``<p class=MsoNormal>`` paragraphs are single lines,
``<o:p>&nbsp;</o:p>`` paragraphs are blank lines, Word's ``<style>``/``<xml>`` noise is dropped.

Anybody can send the HTML, so its cost is capped: only its first MAX_HTML_TAGS tags are read, tags nested
deeper than MAX_HTML_DEPTH are ignored (their text is kept), no walk recurses and none is quadratic.
:func:`read_html` says what was cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bs4 import (
    BeautifulSoup,
    Comment,
    Declaration,
    Doctype,
    NavigableString,
    ProcessingInstruction,
    Tag,
)
from bs4.element import CData

from parsers.reply import drop_trailing_header, ends_with_attribution, find_quote_start, forward_note, strip_quotes

__all__ = ["MAX_ATTRIBUTED_BLOCKQUOTES", "MAX_HTML_DEPTH", "MAX_HTML_TAGS", "MAX_REPLY_LINES", "HtmlReading",
           "html_new_text", "html_reply_cut", "html_to_text", "read_html"]

MAX_HTML_TAGS = 15_000
"""Tags (counted as "<") read from an HTML body; BeautifulSoup spends about 25 microseconds on each, and a long
real thread has a few thousand."""
MAX_HTML_DEPTH = 1000
"""Elements nested deeper than this are ignored (their text is kept, as part of the element above); a long Gmail
thread nests a few levels a reply (200 levels in 30 replies)."""
MAX_REPLY_LINES = 50_000
"""Lines of text handed to the reply rules of parsers.reply, which work line by line (a few microseconds a line);
a 2 MB chronology export has 22,000."""
MAX_ATTRIBUTED_BLOCKQUOTES = 100
"""Plain ``<blockquote>`` elements (before the first quote marker) looked at for an attribution line above them."""

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
# "border-top" or "border-top-style", a colon, then "solid" as a word, all in one declaration of a style value.
# Tried only where a declaration starts, and the atomic group stops at the first "border-top…:" of it (a later
# one could only match if the first does), so each declaration is read once: linear in the value.
_BORDER_TOP_SOLID = re.compile(r"(?:^|;)(?>[^;]*?border-top(?:-style)?\s*:)[^;]*\bsolid\b", re.IGNORECASE)
_SKIPPED = (Comment, Declaration, Doctype, ProcessingInstruction, CData)
_TEXT_TYPES = (NavigableString, CData)  # the strings BeautifulSoup's get_text() reads by default
_SENTINEL = re.compile("\ue000(\\d+)\ue001")
_ATTRIBUTION_WINDOW = 4096  # an attribution is at most 3 lines of 300 characters (parsers.reply)


@dataclass(frozen=True)
class HtmlReading:
    """What :func:`read_html` reads from one HTML body."""

    text: str | None  # html_to_text, when asked for
    reply_cut: str | None  # html_reply_cut
    defects: tuple[str, ...] = ()  # what was cut, in plain words


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


@dataclass
class _Frame:
    """One element being rendered: its remaining children, and what to write after them."""

    children: Iterator[Any]
    pre: bool
    name: str = ""  # a block element's name, "" for the others
    paragraph: bool = False
    before: int = 0  # len(out.parts) when the element started


def _render(root: Tag, out: _Writer, marks: dict[int, str] | None = None, stop: Tag | None = None) -> None:
    """Write the text of ``root``'s children to ``out``, depth first without recursion.

    ``marks`` maps ids of elements to a string written just before them (as a text node there would be).
    Rendering ends at ``stop`` (neither it nor anything after it in document order is written; the elements
    around it are still closed), which is how the text above a quote marker is read.
    """
    stack = [_Frame(iter(root.children), False)]
    while stack:
        frame = stack[-1]
        child = next(frame.children, None)
        if child is None:
            stack.pop()
            if frame.name:
                if frame.name == "p" and len(out.parts) == frame.before:
                    out.newline()  # an empty Word paragraph still takes a line
                if frame.paragraph:
                    out.paragraph()
                else:
                    out.end_line()
            continue
        if isinstance(child, _SKIPPED):
            continue
        if isinstance(child, NavigableString):
            value = str(child)
            if not frame.pre:
                value = _SPACE_RUN.sub(" ", value)
            out.text(value)
            continue
        if not isinstance(child, Tag):
            continue
        if child is stop:
            for open_frame in stack:
                open_frame.children = iter(())
            continue
        if marks and id(child) in marks:
            out.text(marks[id(child)])
        name = (child.name or "").lower()
        if name in _DROP or name.startswith(("o:shape", "v:", "w:")):
            continue
        if name == "br":
            out.newline()
            continue
        if name in ("td", "th"):
            if not out.at_line_start:
                out.text(" | ")
            stack.append(_Frame(iter(child.children), frame.pre))
            continue
        if name == "img":
            continue
        if name not in _BLOCK:
            stack.append(_Frame(iter(child.children), frame.pre or name == "pre"))
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
        stack.append(_Frame(iter(child.children), frame.pre or name == "pre", name, paragraph, len(out.parts)))


class _Soup(BeautifulSoup):
    """BeautifulSoup (over lxml) that ignores elements nested deeper than MAX_HTML_DEPTH, and closes void
    elements (``<br>``, ``<img>``…) itself: its tree builder keeps their names in a list it searches on every end
    tag, which costs the product of the two counts."""

    def __init__(self, markup: str) -> None:
        self.too_deep = 0
        self._ignored: dict[str, int] = {}  # end tags to ignore: of elements too deep, of void elements closed
        super().__init__(markup, "lxml")

    def handle_starttag(self, name: str, *args: Any, **kwargs: Any) -> Tag | None:
        void = self.builder.can_be_empty_element(name)
        if len(self.tagStack) > MAX_HTML_DEPTH:
            self.too_deep += 1
            if not void:
                self._ignored[name] = self._ignored.get(name, 0) + 1
            return None
        tag = super().handle_starttag(name, *args, **kwargs)
        if tag is not None and void:
            super().handle_endtag(name)
            self._ignored[name] = self._ignored.get(name, 0) + 1  # an explicit </br> after it means nothing
            return None  # the builder has nothing left to do for it
        return tag

    def handle_endtag(self, name: str, nsprefix: str | None = None) -> None:
        if self._ignored.get(name):
            self._ignored[name] -= 1
            return
        super().handle_endtag(name, nsprefix)


def _without_xml_declaration(html: str) -> str:
    """A mail body is HTML even when it starts with ``<?xml …?>`` (Word and some mailers write one); the tree
    builder would take it for XML and warn, so the declaration goes."""
    start = len(html) - len(html.lstrip())
    if not html.startswith("<?xml", start):
        return html
    end = html.find("?>", start)
    return html[end + 2:] if end >= 0 else html


def _cap_tags(html: str) -> tuple[str, int]:
    """``html`` up to its MAX_HTML_TAGS-th tag, and how many tags it had when it was cut (else 0)."""
    count = html.count("<")
    if count <= MAX_HTML_TAGS:
        return html, 0
    end = -1
    for _ in range(MAX_HTML_TAGS + 1):
        end = html.find("<", end + 1)
    return html[:end], count


def _soup(html: str, defects: list[str] | None = None) -> _Soup:
    html, tags = _cap_tags(_without_xml_declaration(html))
    soup = _Soup(html)
    if defects is not None:
        if tags:
            defects.append(f"HTML body of {tags:,} tags: only the first {MAX_HTML_TAGS:,} read, the rest cut")
        if soup.too_deep:
            defects.append(f"HTML nested deeper than {MAX_HTML_DEPTH} levels: {soup.too_deep:,} inner tags ignored "
                           "(their text kept)")
    return soup


def _soup_to_text(soup: Tag, marks: dict[int, str] | None = None, stop: Tag | None = None) -> str:
    out = _Writer()
    _render(soup, out, marks, stop)
    text = out.value().translate(_INVISIBLE_CHARS).replace("\xa0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    text = _BLANK_RUN.sub("\n\n", "\n".join(lines))
    return text.strip("\n")


def _first_lines(text: str, defects: list[str] | None = None) -> str:
    """``text`` up to its MAX_REPLY_LINES-th line break (CR, LF or CRLF, as parsers.reply reads them)."""
    if text.count("\n") + text.count("\r") <= MAX_REPLY_LINES:
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.count("\n") <= MAX_REPLY_LINES:
        return text
    end = -1
    for _ in range(MAX_REPLY_LINES):
        end = text.find("\n", end + 1)
    if defects is not None:
        defects.append(f"text of {text.count(chr(10)) + 1:,} lines: its new part looked for in the first "
                       f"{MAX_REPLY_LINES:,} only")
    return text[:end]


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


class _Index:
    """What the marker search asks of every element, found in one pass over the tree (no recursion, nothing
    quadratic): the elements in document order; the stripped non-blank strings get_text() would read, in order,
    and which of them each element holds; whether visible text follows each element: a string (not a comment) or
    the text of an element (not one of _DROP) among the later siblings of the element or of an ancestor."""

    def __init__(self, soup: BeautifulSoup) -> None:
        self.tags: list[Tag] = []
        self.strings: list[str] = []
        self.spans: dict[int, tuple[int, int]] = {}  # id(element) -> its strings: strings[start:end]
        self.text_after: dict[int, bool] = {}
        starts = {id(soup): 0}
        stack: list[tuple[Tag, Iterator[Any]]] = [(soup, iter(soup.contents))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                self.spans[id(node)] = (starts.pop(id(node)), len(self.strings))
            elif isinstance(child, Tag):
                self.tags.append(child)
                starts[id(child)] = len(self.strings)
                stack.append((child, iter(child.contents)))
            elif type(child) in _TEXT_TYPES:
                stripped = child.strip()
                if stripped:
                    self.strings.append(stripped)
        # Visible text after an element: in a later sibling of it or of one of its ancestors.  Parents come
        # before their children in document order, so each element's flag is known before its children's.
        for parent in [soup, *self.tags]:
            following = self.text_after.get(id(parent), False)
            for child in reversed(parent.contents):
                if isinstance(child, Tag):
                    self.text_after[id(child)] = following
                if not following:
                    following = self._visible(child)

    def _visible(self, node: Any) -> bool:
        """Whether ``node``, as a later sibling, is visible text."""
        if isinstance(node, Tag):
            start, end = self.spans[id(node)]
            return (node.name or "").lower() not in _DROP and end > start
        return isinstance(node, NavigableString) and not isinstance(node, Comment) and bool(node.strip())

    def label_text(self, tag: Tag, limit: int = 60) -> str:
        """``tag.get_text(" ", strip=True)[:limit]``."""
        start, end = self.spans[id(tag)]
        parts: list[str] = []
        size = 0
        for index in range(start, end):
            parts.append(self.strings[index])
            size += len(self.strings[index]) + 1
            if size > limit:
                break
        return " ".join(parts)[:limit]


def _is_marker(tag: Tag, index: _Index) -> bool:
    """Whether quoted history starts at ``tag``."""
    name = (tag.name or "").lower()
    ident = str(tag.get("id") or "")
    classes = _classes(tag)
    if (
        ident in _MARKER_IDS
        or ident.startswith(_MARKER_ID_PREFIXES)
        or any(cls in _MARKER_CLASSES for cls in classes)
        or name == "hr"
    ):
        return True
    if name == "blockquote":
        # type=cite, or nothing visible after it
        return str(tag.get("type") or "").lower() == "cite" or not index.text_after[id(tag)]
    # Outlook 2010+ "From:" block: <div style="border:none;border-top:solid #E1E1E1 1.0pt">.
    return (
        name == "div"
        and bool(_BORDER_TOP_SOLID.search(str(tag.get("style") or "")))
        and bool(_LABEL_START.match(index.label_text(tag)))
    )


def _iter_markers(soup: BeautifulSoup, index: _Index | None = None) -> Iterator[Tag]:
    """Elements where quoted history starts, in document order."""
    index = index or _Index(soup)
    return (tag for tag in index.tags if _is_marker(tag, index))


def _first_attributed_blockquote(soup: BeautifulSoup, candidates: list[Tag]) -> Tag | None:
    """The first plain ``<blockquote>`` of ``candidates`` right after an attribution line ("On … wrote:")."""
    if not candidates:
        return None
    # The text with a mark written where each candidate starts (as a text node there would be).
    text = _soup_to_text(soup, marks={id(tag): f"\ue000{number}\ue001" for number, tag in enumerate(candidates)})
    for match in _SENTINEL.finditer(text):
        # ends_with_attribution reads the last three lines, 300 characters at most: a window of text before the
        # mark, without its first (perhaps partial) line, reads the same.
        start = max(0, match.start() - _ATTRIBUTION_WINDOW)
        before = text[start : match.start()]
        if start:
            before = before[before.find("\n") + 1 :]
        if ends_with_attribution(_SENTINEL.sub("", before)):
            return candidates[int(match.group(1))]
    return None


def _stop_for(tag: Tag) -> Tag:
    """Where rendering must stop to leave out ``tag`` and all after it: ``tag``, or the outermost ancestor of it
    that the renderer skips whole (``<head>``, ``<style>``…), since then what follows that ancestor goes too."""
    stop = tag
    for parent in tag.parents:
        name = (parent.name or "").lower()
        if name in _DROP or name.startswith(("o:shape", "v:", "w:")) or name in ("br", "img", "hr"):
            stop = parent
    return stop


def _reply_cut(soup: BeautifulSoup, defects: list[str] | None = None) -> str | None:
    index = _Index(soup)
    first = next(_iter_markers(soup, index), None)
    # A plain blockquote after an attribution line counts too, when it comes before the first marker.
    candidates = []
    for tag in index.tags:
        if tag is first:
            break
        if (tag.name or "").lower() == "blockquote":
            if len(candidates) == MAX_ATTRIBUTED_BLOCKQUOTES:
                if defects is not None:
                    defects.append(f"HTML body of more than {MAX_ATTRIBUTED_BLOCKQUOTES} plain blockquotes: only the "
                                   f"first {MAX_ATTRIBUTED_BLOCKQUOTES} looked at for an attribution line")
                break
            candidates.append(tag)
    first = _first_attributed_blockquote(soup, candidates) or first
    if first is None:
        return None
    first = _quote_run_start(index, candidates, first)
    cut = drop_trailing_header(strip_quotes(_first_lines(_soup_to_text(soup, stop=_stop_for(first)), defects)))
    if cut.strip():
        return cut
    # Nothing above the quote: a forward whose note is inside the quoting element, above the forwarded mail's header.
    note = forward_note(_first_lines(_tag_text(first, index)))
    return note if note is not None else cut


def _quote_run_start(index: _Index, candidates: list[Tag], first: Tag) -> Tag:
    """Where the quote that starts at ``first`` really starts: at the earliest of the plain ``<blockquote>`` elements
    just before it with no visible text between them (a nested quote left above a reply's quoted mail)."""
    start = index.spans[id(first)][0]
    for tag in reversed(candidates):
        begin, end = index.spans[id(tag)]
        if end != start or begin == end:
            continue  # text between it and the quote, or inside the quote already, or empty
        first, start = tag, begin
    return first


def _tag_text(tag: Tag, index: _Index) -> str:
    """The text of ``tag`` alone, as html_to_text writes it (empty when it holds no visible string)."""
    start, end = index.spans[id(tag)]
    return _soup_to_text(tag) if end > start else ""


def html_reply_cut(html: str) -> str | None:
    """Text of ``html`` above its first structural quote marker, or None when it has none.

    Structural markers are elements: OWA's ``divRplyFwdMsg`` and the ``<hr>`` before it, Outlook's
    border-top "From:" block and ``OLK_SRC_BODY_SECTION``, ``gmail_quote``, ``blockquote
    type=cite``, ``yahoo_quoted``, ``moz-cite-prefix``, any ``<hr>``, and a ``<blockquote>`` that
    ends the mail.  An attribution line left just above the cut ("On … wrote:") is removed, and so are header lines
    with a From line that end the text (Outlook for Mac writes "From:" above its ``OLK_SRC_BODY_SECTION``); plain
    blockquotes right above the marker, with no text between, are quoted too. When nothing is above the marker, a
    forward's note inside it, above the forwarded mail's header block, is the text.
    """
    if not html:
        return None
    return _reply_cut(_soup(html))


def read_html(html: str, text: bool = True) -> HtmlReading:
    """:func:`html_to_text` (when ``text``) and :func:`html_reply_cut` of ``html`` from one parse, with what the
    caps cut (tags after the MAX_HTML_TAGS-th, nesting deeper than MAX_HTML_DEPTH, lines of text after the
    MAX_REPLY_LINES-th) in ``defects``."""
    if not html:
        return HtmlReading("" if text else None, None)
    defects: list[str] = []
    soup = _soup(html, defects)
    return HtmlReading(_soup_to_text(soup) if text else None, _reply_cut(soup, defects), tuple(defects))


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
    lines = _first_lines(text)
    if find_quote_start(lines) is not None or any(line.lstrip().startswith(">") for line in lines.splitlines()):
        return strip_quotes(lines)
    return None
