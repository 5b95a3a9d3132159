"""The new text of a plain-text reply: quoted history and signature removed.

Pure functions, no I/O.  The rules are ordered by what UK councils send most: Outlook desktop and
Outlook on the web first (``From: … Sent: … To: … Subject:`` blocks, ``-----Original Message-----``,
the ``____`` separator), then the ``On … wrote:`` attribution lines of other clients in several
languages, ``>`` quoting, mobile sign-offs, ``-- `` signatures and disclaimers.

Two kinds of quote header are told apart:

* a *hard* header (an Outlook header block, an ``-----Original Message-----`` style line,
  ``Begin forwarded message:``): everything from it to the end is history;
* a *soft* header (an attribution line such as ``On 3 May 2026, Jane wrote:``, possibly wrapped
  over two or three lines): when ``>``-quoted lines follow it, only the header and the quoted
  lines are history and any text after them is kept (bottom-posting, inline replies); otherwise
  everything from it to the end is history.

Lines are only treated as headers when they look like one as a whole (a date, an address, the
header labels in order): "wrote" or "From:" in the middle of a sentence never cuts the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["ends_with_attribution", "find_quote_start", "strip_quotes", "strip_reply", "strip_signature"]

# --- header labels of Outlook-style blocks, by kind -------------------------------------------------

_FROM = r"from|de|von|van|da|fra|från|od|от|lähettäjä|feladó|afzender|kimden|remitente|expéditeur|mittente"
_SENT = (
    r"sent|date|envoyé(?: le)?|gesendet|datum|verzonden|inviato|data|sendt|skickat|wysłano|отправлено|"
    r"дата|lähetetty|enviado|enviada|fecha|elküldve|gönderildi|dato"
)
_TO = r"to|à|a|an|aan|til|till|do|кому|para|vastaanottaja|címzett|kime|destinataire|per"
_CC = r"cc|bcc|kopie|copie à|kopia|копия|kopio|másolat"
_SUBJECT = (
    r"subject|objet|betreff|onderwerp|oggetto|emne|ämne|temat|тема|asunto|assunto|sujet|aihe|tárgy|konu"
)
_LABEL_KINDS = (("from", _FROM), ("sent", _SENT), ("to", _TO), ("cc", _CC), ("subject", _SUBJECT))
_LABEL_RES = tuple(
    (kind, re.compile(rf"^\s*+[*_]{{0,2}}+\s*+(?:{words})\s*+[*_]{{0,2}}+\s*+:(?!//)", re.IGNORECASE))
    for kind, words in _LABEL_KINDS
)
# "Message du : 12/12/2016 13:20" and similar dated label lines that open some clients' blocks.
_DATED_LABEL_RE = re.compile(r"^\s*[^\W\d_][\w'’]*(?: [\w'’]+){0,2}\s?:\s*\S*\d")

# --- separator lines ----------------------------------------------------------------------------------

# "-----Original Message-----", "-------- Message d'origine --------", "---------- Forwarded message ----"
# A title line is read by _is_dashed_title: the regex ^\s*-{2,}\s*[^\W\d_][^\n]{1,80}?\s*-{2,}\s*$ tries its
# closing dashes after each of 80 title lengths, each time over the whole rest of the line (80 passes per line).
_DASHED_HEAD_RE = re.compile(r"^\s*+-{2,}+\s*+[^\W\d_]")
_DASHED_TITLE_CHARS = 80
_ORIGINAL_RE = re.compile(
    r"^\s*+[-_=*]*+\s*+(?:original message|ursprüngliche nachricht|message d'origine|oprindelig besked|"
    r"messaggio originale|mensaje original|oorspronkelijk bericht|opprinnelig melding|"
    r"ursprungligt meddelande|forwarded message|message transféré|weitergeleitete nachricht|"
    r"begin forwarded message|début du message réexpédié|mensaje reenviado)\s*+[-_=*:]*+\s*+$",
    re.IGNORECASE,
)

# --- attribution ("On … wrote:") lines ---------------------------------------------------------------

_WROTE = (
    r"wrote|a écrit|schrieb|escribió|escribio|schreef|skrev|napisał(?:\(a\))?|napisała|escreveu|"
    r"ha scritto|scrisse|kirjoitti|írta|написал(?:\(а\))?|написала|пишет|yazdı|napsal|napísal|"
    r"έγραψε|kirjutas|rašė|rakstīja|har skrevet"
)
# "…, Jane Iro wrote:" / "… wrote" / "---- On … wrote ----"
_WROTE_END_RE = re.compile(rf"(?:^|[\s,;)\"'>])(?:{_WROTE})\s*+:?\s*+-*+\s*+$", re.IGNORECASE)
# "Am … schrieb Jane Iro <jane@x>:" (name after the verb, colon at the end)
_WROTE_MID_RE = re.compile(rf"(?:^|[\s,;)\"'])(?:{_WROTE})(?=[\s:]).*:\s*$", re.IGNORECASE)
# Starts only where a run of address characters starts (a search restarting inside a long run is quadratic);
# only searched for, so the first match is the same.
_EMAIL_RE = re.compile(r"(?<![\w.+'’-])[\w.+'’-]+@[\w-]+(?:\.[\w-]+)+")
_ANGLE_EMAIL_RE = re.compile(r"(?:<|&lt;|\()\s*(?:mailto:)?[\w.+'’-]+@[\w-]+(?:\.[\w-]+)+\s*(?:>|&gt;|\))")
_TIME_RE = re.compile(r"\b\d{1,2}[:.h]\d{2}\b")
_DIGIT_RE = re.compile(r"\d")

# --- signatures ----------------------------------------------------------------------------------------

_SIG_DELIMITER_RE = re.compile(r"^(?:--|__|-- ?)\s*$|^\s*[—–]{2,}\s*$")
_SIGN_OFF_RE = re.compile(
    r"^\s*(?:sent from|sent with|sent via|sent using|get outlook for|gesendet von|von meinem .{1,40} gesendet|"
    r"envoyé de|envoyé depuis|envoyé à partir de|obtenir outlook pour|enviado desde|enviado do|"
    r"enviado de|inviato da|verzonden met|verzonden vanaf|verstuurd vanaf|sendt fra|skickat från|"
    r"wysłane z|отправлено с|lähetetty)\b",
    re.IGNORECASE,
)
_VALEDICTION_RE = re.compile(
    r"^\s*(?:(?:kind(?:est)?|best|warm(?:est)?|many|with (?:kind|best|warm)|yours|sincere)\s+)?"
    r"regards[,.!]?\s*$",
    re.IGNORECASE,
)
_DISCLAIMER_RE = re.compile(
    r"^\s*(?:disclaimer\b|confidentiality (?:notice|statement)|"
    r"this (?:e-?mail|message|communication)(?: and any (?:files|attachments)[^.]{0,60})?"
    r" (?:is|are|and its contents are|may be|contains?)\b[^.]{0,40}\b(?:confidential|privileged|intended)|"
    r"the information (?:contained )?in this (?:e-?mail|message)|"
    r"please consider the environment before printing)",
    re.IGNORECASE,
)
_URL_BRACKETS_RE = re.compile(r"<[^<>]*>|\((?:https?|mailto):[^()]*\)")
_SEPARATOR_ONLY_RE = re.compile(r"^[\s\-_=*~—–]*$")
_VALEDICTION_TAIL_LIMIT = 30


def _normalise(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = text.replace("\u200b", "").replace("\u200e", "").replace("\u200f", "").replace("\ufeff", "")
    return [line.rstrip() for line in text.split("\n")]


def _finish(lines: Sequence[str]) -> str:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and _SEPARATOR_ONLY_RE.match(lines[end - 1]):
        end -= 1
    return "\n".join(lines[start:end])


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _label_kind(line: str) -> str | None:
    for kind, regex in _LABEL_RES:
        if regex.match(line):
            return kind
    return None


def _header_block_at(lines: Sequence[str], i: int) -> int | None:
    """Start index of an Outlook-style header block whose first label line is ``lines[i]``.

    A block is a run of ``Label: value`` lines (From/Sent/Date/To/Cc/Subject in several languages),
    allowing wrapped continuation lines after From/To/Cc, with at least three kinds of label, one of
    them From and one of them Sent/Date or Subject.
    """
    first = _label_kind(lines[i])
    if first is None:
        return None
    kinds = {first}
    previous = first
    continuation = 0
    j = i + 1
    while j < len(lines) and j - i < 14:
        line = lines[j]
        kind = _label_kind(line)
        if kind is not None:
            kinds.add(kind)
            previous, continuation = kind, 0
        elif line.strip() and previous in ("from", "to", "cc") and continuation < 2:
            continuation += 1
        else:
            break
        j += 1
    if len(kinds) < 3 or "from" not in kinds or not kinds & {"sent", "subject"}:
        return None
    start = i
    while start > 0 and _DATED_LABEL_RE.match(lines[start - 1]) and _label_kind(lines[start - 1]) is None:
        start -= 1
    return start


def _is_dashed_title(line: str) -> bool:
    """Whether ``line`` (no line break in it) is two or more dashes, a title that starts with a letter and is at
    most 81 characters long, and two or more dashes ("---------- Forwarded message ----------"); one pass."""
    head = _DASHED_HEAD_RE.match(line)
    if head is None:
        return False
    rest = line[head.end() :].rstrip()  # the title after its first letter, and the closing dashes
    dashes = len(rest) - len(rest.rstrip("-"))
    if dashes < 2:
        return False
    title = len(rest[: len(rest) - dashes].rstrip())  # the closing dashes may also take spaces before them
    # The title's rest is 1 to 80 characters and ends where the closing part (spaces, 2+ dashes) starts.
    return max(title, 1) <= min(_DASHED_TITLE_CHARS, len(rest) - 2)


def _is_hard_separator(line: str) -> bool:
    return bool(_ORIGINAL_RE.match(line) or _is_dashed_title(line))


def _looks_like_attribution(joined: str, multiline: bool) -> bool:
    if len(joined) > 300 or not _DIGIT_RE.search(joined):
        return False
    has_address = bool(_EMAIL_RE.search(joined))
    if multiline and not (has_address or _TIME_RE.search(joined)):
        return False
    if _WROTE_END_RE.search(joined):
        return True
    if _WROTE_MID_RE.search(joined) and has_address:
        return True
    # "30.09.2017, 18.30, "Jane Iro" <jane.iro@x.gov.uk>:" - date, time, bracketed address, colon.
    return joined.endswith(":") and bool(_ANGLE_EMAIL_RE.search(joined)) and bool(_TIME_RE.search(joined))


def _attribution_at(lines: Sequence[str], i: int) -> int:
    """Number of lines (1-3) of an attribution header starting at ``lines[i]``, or 0."""
    first = lines[i].strip()
    if not first or _is_quoted(first):
        return 0
    if _looks_like_attribution(first, multiline=False):
        return 1
    if not _DIGIT_RE.search(first) or first.endswith((".", "!", "?")):
        return 0
    joined = first
    for k in (1, 2):
        if i + k >= len(lines) or not lines[i + k].strip():
            return 0
        joined = f"{joined} {lines[i + k].strip()}"
        if _looks_like_attribution(joined, multiline=True):
            return k + 1
    return 0


def ends_with_attribution(text: str) -> bool:
    """Whether the last line(s) of ``text`` are an attribution header such as "On … wrote:"."""
    lines = [line for line in _normalise(text) if line.strip()][-3:]
    return any(_attribution_at(lines, i) == len(lines) - i for i in range(len(lines)))


def _hard_header_at(lines: Sequence[str], i: int) -> int | None:
    if _is_hard_separator(lines[i]):
        return i
    return _header_block_at(lines, i)


def find_quote_start(text: str) -> int | None:
    """Line index (in ``text`` split on newlines) where quoted history starts, or None.

    ``>``-quoted lines alone do not count: this finds quote *headers* only.
    """
    lines = _normalise(text)
    for i in range(len(lines)):
        if _is_quoted(lines[i]):
            continue
        hard = _hard_header_at(lines, i)
        if hard is not None:
            return hard
        if _attribution_at(lines, i):
            return i
    return None


def strip_quotes(text: str) -> str:
    """``text`` without quote headers, the history after them and ``>``-quoted lines.

    The signature is kept (see :func:`strip_signature`).
    """
    lines = _normalise(text)
    out: list[str] = []
    removed = False

    def keep(line: str) -> None:
        nonlocal removed
        if not line.strip():
            if removed and (not out or not out[-1].strip()):
                return
            out.append("")
            return
        removed = False
        out.append(line)

    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if _is_quoted(line) or (0 < i < n - 1 and _is_quoted(lines[i - 1]) and _is_quoted(lines[i + 1])):
            # A wrapped line between two quoted lines belongs to the quote.
            removed = True
            i += 1
            continue
        hard = _hard_header_at(lines, i)
        if hard is not None:
            # A dated label line or separator just above the block was already kept: drop it.
            drop = i - hard
            if drop:
                del out[len(out) - drop :]
            break
        span = _attribution_at(lines, i)
        if span:
            j = i + span
            while j < n and not lines[j].strip():
                j += 1
            if j < n and _is_quoted(lines[j]):
                removed = True
                i = j
                continue
            break
        keep(line)
        i += 1
    return _finish(out)


def _is_sign_off(line: str) -> bool:
    if not _SIGN_OFF_RE.match(line):
        return False
    bare = _URL_BRACKETS_RE.sub(" ", line).strip()
    if len(bare) > 60 or len(bare.split()) > 8:
        return False
    # "Sent from my desk, is much easier …" is a sentence, not a sign-off.
    return not re.search(r"[,;:!?]|\.\s", bare)


def _non_blank_after(lines: Sequence[str]) -> list[int]:
    """For each index ``i``, how many of ``lines[i:]`` are not blank (one more entry, 0, for the end); one
    backward pass, so that asking it for every line costs no more than reading the lines once."""
    counts = [0] * (len(lines) + 1)
    for i in range(len(lines) - 1, -1, -1):
        counts[i] = counts[i + 1] + (1 if lines[i].strip() else 0)
    return counts


def strip_signature(text: str) -> str:
    """``text`` without its signature: from a ``-- `` delimiter, a mobile sign-off ("Sent from my
    iPhone", "Get Outlook for iOS"…), a "Kind regards" valediction or a confidentiality disclaimer
    to the end.  A valediction counts only when at most _VALEDICTION_TAIL_LIMIT non-blank lines
    follow it (a signature, not a "Regards" line in the middle of a text)."""
    lines = _normalise(text)
    cut = len(lines)
    non_blank_after: list[int] | None = None  # counted once, at the first valediction
    for i, line in enumerate(lines):
        if _SIG_DELIMITER_RE.match(line) or _is_sign_off(line) or _DISCLAIMER_RE.match(line):
            cut = i
            break
        if _VALEDICTION_RE.match(line):
            if non_blank_after is None:
                non_blank_after = _non_blank_after(lines)
            if non_blank_after[i + 1] <= _VALEDICTION_TAIL_LIMIT:
                cut = i
                break
    return _finish(lines[:cut])


def strip_reply(text: str) -> str:
    """The new text of a plain-text reply: quoted history and signature removed.

    Lines of the reply are kept as written (trailing spaces removed, inner blank lines kept);
    leading and trailing blank lines are trimmed.
    """
    return strip_signature(strip_quotes(text))
