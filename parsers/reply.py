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

__all__ = [
    "drop_trailing_header",
    "ends_with_attribution",
    "find_quote_start",
    "forward_note",
    "is_contact_line",
    "is_name_line",
    "is_signature_marker",
    "is_title_line",
    "is_valediction",
    "sign_off_start",
    "strip_quotes",
    "strip_reply",
    "strip_signature",
]

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
# "2013/12/15", "2013-7-20", "15/12/2013" at the start of a line.
_LEADING_DATE_RE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b")
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
    # A line of nothing but U+1427 is the mark some mail trackers add under a Gmail reply, not text.
    return [line.rstrip() if line.strip() != "\u1427" else "" for line in text.split("\n")]


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
    if len(joined) > 300:
        return False
    if not _DIGIT_RE.search(joined):
        # "Jane Iro <jane.iro@x.gov.uk> wrote:" - no date, but the sender's bracketed address and the verb, then a
        # colon, end the line.
        return (
            joined.endswith(":") and bool(_ANGLE_EMAIL_RE.search(joined)) and bool(_WROTE_END_RE.search(joined))
        )
    has_address = bool(_EMAIL_RE.search(joined))
    if multiline and not (has_address or _TIME_RE.search(joined)):
        return False
    if _WROTE_END_RE.search(joined):
        return True
    if _WROTE_MID_RE.search(joined) and has_address:
        return True
    # "30.09.2017, 18.30, "Jane Iro" <jane.iro@x.gov.uk>:" - date, time, bracketed address, colon.
    return joined.endswith(":") and bool(_ANGLE_EMAIL_RE.search(joined)) and bool(_TIME_RE.search(joined))


def _is_dated_sender(lines: Sequence[str], i: int, first: str) -> bool:
    """Whether ``first`` (``lines[i]`` stripped) is a date and a sender with a bracketed address and nothing after it
    ("2013/12/15 Bob Example <bob@example.com>"), with quoted lines (``>`` or ``|``) right under it: a header
    without "wrote", told apart from a sentence by the quoted lines that follow."""
    if len(first) > 300 or not _LEADING_DATE_RE.match(first) or not first.rstrip(":").rstrip().endswith(">"):
        return False
    if _ANGLE_EMAIL_RE.search(first) is None:
        return False
    for j in range(i + 1, min(i + 3, len(lines))):
        following = lines[j].lstrip()
        if following:
            return following.startswith((">", "|"))
    return False


def _attribution_at(lines: Sequence[str], i: int) -> int:
    """Number of lines (1-3) of an attribution header starting at ``lines[i]``, or 0."""
    first = lines[i].strip()
    if not first or _is_quoted(first):
        return 0
    if _looks_like_attribution(first, multiline=False):
        return 1
    if _is_dated_sender(lines, i, first):
        return 1
    # A sentence ends the line, unless an address shows it is a header wrapped after an abbreviation ("… schrieb
    # am Fr., 28.\nApr. 2017 um 11:53 Uhr:").
    if not _DIGIT_RE.search(first) or (first.endswith((".", "!", "?")) and not _EMAIL_RE.search(first)):
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


def drop_trailing_header(text: str) -> str:
    """``text`` without the header lines that end it ("From: Jane Iro <jane@x>", "Sent: …"), when one of them is a
    From line: what is left of a quoted mail's header above a structural quote marker (Outlook for Mac writes its
    "From:" line above the ``OLK_SRC_BODY_SECTION`` that holds the rest)."""
    lines = _normalise(text)
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start, kinds = end, set()
    while start and lines[start - 1].strip() and (kind := _label_kind(lines[start - 1])) is not None:
        kinds.add(kind)
        start -= 1
    if "from" not in kinds or end - start > len(_LABEL_KINDS):
        return text
    return _finish(lines[:start])


def forward_note(text: str) -> str | None:
    """The note above a forwarded mail in ``text``: the text above its first quote header when that header is a hard
    one (an Outlook header block, "---------- Forwarded message ----------"…) and nothing quoted or attributed comes
    before it; None when there is no such note."""
    lines = _normalise(text)
    for i in range(len(lines)):
        if _is_quoted(lines[i]) or _attribution_at(lines, i):
            return None
        hard = _hard_header_at(lines, i)
        if hard is not None:
            return _finish(lines[:hard]) or None
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


def is_signature_marker(line: str) -> bool:
    """Whether ``line`` starts a signature wherever it stands: a ``-- `` delimiter, a mobile sign-off ("Sent
    from my iPhone", "Get Outlook for iOS"…) or a confidentiality disclaimer."""
    return bool(_SIG_DELIMITER_RE.match(line) or _is_sign_off(line) or _DISCLAIMER_RE.match(line))


def strip_signature(text: str) -> str:
    """``text`` without its signature: from a ``-- `` delimiter, a mobile sign-off ("Sent from my
    iPhone", "Get Outlook for iOS"…), a "Kind regards" valediction or a confidentiality disclaimer
    to the end.  A valediction counts only when at most _VALEDICTION_TAIL_LIMIT non-blank lines
    follow it (a signature, not a "Regards" line in the middle of a text)."""
    lines = _normalise(text)
    cut = len(lines)
    non_blank_after: list[int] | None = None  # counted once, at the first valediction
    for i, line in enumerate(lines):
        if is_signature_marker(line):
            cut = i
            break
        if _VALEDICTION_RE.match(line):
            if non_blank_after is None:
                non_blank_after = _non_blank_after(lines)
            if non_blank_after[i + 1] <= _VALEDICTION_TAIL_LIMIT:
                cut = i
                break
    block = _sign_off_block_start(lines[:cut])
    return _finish(lines[: cut if block is None else block])


def _sign_off_block_start(lines: Sequence[str]) -> int | None:
    """Where a sign-off over a signature block starts, when one ends ``lines`` under some text: a valediction and a
    name ("Thanks\nIra", "Thanks, Ira Reviewer") followed by a block of name, title and contact lines only
    ("Independent Reviewing Officer", "Tel: …") with at least one title or contact line, of at most
    _VALEDICTION_TAIL_LIMIT lines. A sign-off with nothing like a title or an address under it ("Thanks,\nIra"), or
    a valediction over a title alone ("Sincerely,\nDomain Manager"), stays. One backward pass marks where such a
    block can start; one forward pass finds the sign-off."""
    n = len(lines)
    in_block = [False] * (n + 1)  # lines[i:] are blank, name, title or contact lines, at most the limit of them
    titled = [False] * (n + 1)  # ... and one of them a title or contact line
    in_block[n] = True
    count = 0
    for i in range(n - 1, -1, -1):
        line = lines[i]
        if not line.strip():
            in_block[i], titled[i] = in_block[i + 1], titled[i + 1]
            continue
        count += 1
        title = is_title_line(line) or is_contact_line(line)
        if count > _VALEDICTION_TAIL_LIMIT or not (title or is_name_line(line)):
            break
        in_block[i], titled[i] = True, titled[i + 1] or title
    non_blank = [i for i in range(n) if lines[i].strip()]
    for position, i in enumerate(non_blank[1:], 1):  # under some text
        if in_block[i]:
            return None  # the block has begun, under no valediction
        if not is_valediction(lines[i]):
            continue
        after = position + 1  # the next non-blank line, in non_blank
        if not _names_itself(lines[i]):
            name = non_blank[after] if after < len(non_blank) else None
            if name is None or not is_name_line(lines[name]) or _is_title_or_contact(lines[name]):
                continue
            after += 1
        if after < len(non_blank) and in_block[non_blank[after]] and titled[non_blank[after]]:
            return i
    return None


def _is_title_or_contact(line: str) -> bool:
    return is_title_line(line) or is_contact_line(line)


def _names_itself(line: str) -> bool:
    """Whether the valediction ``line`` has the writer's name after it ("Thanks, Ira")."""
    squeezed = _short(line) or ""
    courtesy = _COURTESY_RE.match(squeezed)
    return courtesy is not None and bool(squeezed[courtesy.end() :].strip(" ,.!;:-–—"))


def strip_reply(text: str) -> str:
    """The new text of a plain-text reply: quoted history and signature removed.

    Lines of the reply are kept as written (trailing spaces removed, inner blank lines kept);
    leading and trailing blank lines are trimmed.
    """
    return strip_signature(strip_quotes(text))


# --- the sign-off under a short text -------------------------------------------------------------------
# What an IRO writes under a command ("Resolved – plan signed off") before the signature: a valediction
# ("Thanks, Ira"), a name alone ("Ira"), a title block ("Independent Reviewing Officer", "Children's Services"),
# contact lines ("Tel: 01305 …", an address, "Sent from my iPhone"). Each line is read on its own, with its
# spaces collapsed, and only when it is at most _SIGN_OFF_LINE_CHARS long: no pattern here reads a long line.

_SIGN_OFF_LINE_CHARS = 120
_SPACES_RE = re.compile(r"\s+")
_MARKUP_RE = re.compile(r"[*_~`]+")
_COURTESY_RE = re.compile(
    r"(?:(?:with\s+)?(?:many\s+|kind(?:est)?\s+|warm(?:est)?\s+|best\s+|sincere\s+|big\s+)?(?:thanks|regards|wishes)"
    r"|thank\s+you|thankyou|all\s+the\s+best|speak\s+soon|talk\s+soon|take\s+care|best|cheers|ta|thx|tx|kr|rgds"
    r"|yours(?:\s+(?:sincerely|faithfully|truly))?|sincerely)"
    r"(?:\s+(?:again|all|both|everyone|very\s+much|so\s+much|in\s+advance))?(?![\w'’])",
    re.IGNORECASE,
)
# One word of a name: a letter and an optional dot ("J."), or letters with inner apostrophes and hyphens.
_NAME_WORD_RE = re.compile(r"[^\W\d_]\.?|[^\W\d_][\w'’-]*[^\W\d_]")
_NAME_PARTICLES = frozenset({"van", "von", "de", "der", "den", "da", "di", "du", "le", "la", "bin", "al", "el"})
#: Words that, alone on a line, are what someone said rather than who they are.
_NOT_NAMES = frozenset({
    "agreed", "done", "noted", "confirmed", "yes", "no", "ok", "okay", "fine", "complete", "completed", "closed",
    "resolved", "escalated", "withdrawn", "signed", "plan", "review", "panel", "none", "nfa", "tbc", "tba",
    "thanks", "regards", "apologies", "sorry", "please", "urgent", "update", "note", "see", "attached", "below",
    "above", "pending", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
    "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "today", "tomorrow", "yesterday", "hi", "hello", "dear", "all", "everyone",
})  # fmt: skip
_PRONOUNS_RE = re.compile(
    r"\(?\s*(?:pronouns?\s*:?\s*)?(?:she|he|they|ze|xe)\s*/\s*(?:her|him|them|hers|his|theirs|they|she|he)"
    r"(?:\s*/\s*[^\W\d_]+)?\s*\)?",
    re.IGNORECASE,
)
_ROLE_WORD_RE = re.compile(
    r"\b(?:officer|manager|director|head|iro|reviewing|worker|leader|lead|co-?ordinator|practitioner|advis[eo]r"
    r"|consultant|supervisor|administrator|assistant|chair|service|services|council|department|directorate|team"
    r"|unit|safeguarding|assurance|borough|county|hall|hub|trust|nhs|authority|children's|childrens|families"
    r"|partnership|division|centre|center|social\s+care)\b",
    re.IGNORECASE,
)
_TITLE_WORD_RE = re.compile(r"[^\W\d_][\w'’]*")
_TITLE_SMALL_WORDS = frozenset({"and", "of", "for", "the", "in", "on", "at", "to", "with", "a", "an", "de", "la"})
_CONTACT_RE = re.compile(
    r"(?:(?:tel|telephone|phone|mobile|mob|cell|fax|direct(?:\s+(?:line|dial))?|dl|ddi|ext)\s*\.?\s*(?:no\.?\s*)?"
    r"(?:[:|]|(?=\+?\(?\d))"  # "Tel: …", "Mobile no. 07700 …", "Tel | …"
    r"|(?:email|e-mail|web|website|address|office|t|m|e|p|f|w)\s*\.?\s*[:|]"  # "E: …", "M: …", "Web | …"
    r"|(?=(?:\D*\d){9})\+?\(?\d[\d ().-]{8,}$"  # a telephone number alone (nine digits or more)
    r"|[\w.+'’-]+@[\w-]+(?:\.[\w-]+)+$"  # an address alone
    r"|(?:https?://|www\.)\S+$"  # a web address alone
    r"|\[(?:cid:|image|description:|logo)|<image\d*\.\w+>"  # a signature's picture, as text
    r"|\(?\s*(?:pronouns?\s*:?\s*)?(?:she|he|they)\s*/\s*(?:her|him|them)\b"
    r"|(?:my\s+)?working\s+(?:days|hours|pattern)\b|i\s+work\s+(?:part[-\s]time|mon|tue|wed|thu|fri))",
    re.IGNORECASE,
)
# A line that ends like this goes on on the next line ("… agreed with\nJane Smith").
_WRAP_WORDS = frozenset({"with", "to", "by", "and", "from", "for", "of", "the", "a", "an", "at", "on", "in", "or",
                         "cc", "per", "via", "between", "as", "than", "&"})


def _squeeze(line: str) -> str:
    """``line`` with markup removed and each run of whitespace one space, stripped."""
    return _SPACES_RE.sub(" ", _MARKUP_RE.sub("", line)).strip()


def _short(line: str) -> str | None:
    """``line`` squeezed (any run of spaces reads as one), or None when it is too long to be part of a sign-off
    (no pattern reads it then)."""
    squeezed = _squeeze(line)
    return squeezed if 0 < len(squeezed) <= _SIGN_OFF_LINE_CHARS else None


def is_name_line(line: str) -> bool:
    """A name alone ("Ira", "Ira Reviewer", "J. O'Brien-Smith", "Ira (she/her)"): one to four capitalised words."""
    squeezed = _short(line)
    if squeezed is None:
        return False
    words = _PRONOUNS_RE.sub(" ", squeezed).strip(" ,").split()
    if not 1 <= len(words) <= 4:
        return False
    named = 0
    for word in words:
        if named and word.casefold() in _NAME_PARTICLES:
            continue
        if not word[0].isupper() or not _NAME_WORD_RE.fullmatch(word) or word.casefold().rstrip(".") in _NOT_NAMES:
            return False
        named += 1
    return named > 0


def is_valediction(line: str) -> bool:
    """A closing line, with or without the name after it: "Thanks", "Many thanks,", "Kind regards", "Thanks, Ira",
    "Best wishes Ira Reviewer". "Thanks for your help" is a sentence, not a valediction."""
    squeezed = _short(line)
    if squeezed is None:
        return False
    courtesy = _COURTESY_RE.match(squeezed)
    if courtesy is None:
        return False
    rest = squeezed[courtesy.end() :].strip(" ,.!;:-–—")
    return not rest or is_name_line(rest)


def is_title_line(line: str) -> bool:
    """A line of a title block: a job title, a team or a council, in title case ("Independent Reviewing Officer",
    "Quality Assurance and Reviewing Service", "Ira Reviewer | IRO", "Children's Services, Dorset Council")."""
    squeezed = _short(line)
    if squeezed is None or not squeezed[0].isupper() or squeezed[-1] in ".?!:;":
        return False
    if _ROLE_WORD_RE.search(squeezed) is None:
        return False
    return all(word[0].isupper() or word.casefold() in _TITLE_SMALL_WORDS for word in _TITLE_WORD_RE.findall(squeezed))


def is_contact_line(line: str) -> bool:
    """A line of contact details: "Tel: …", "M: …", an address or a telephone number alone, a web address, the
    signature's picture ("[cid:image001.png@…]"), pronouns, working days."""
    squeezed = _short(line)
    return squeezed is not None and _CONTACT_RE.match(squeezed) is not None


def _signs_off(line: str) -> bool:
    """Whether ``line`` starts a sign-off wherever it stands (a name alone depends on where it stands)."""
    return is_signature_marker(line) or is_valediction(line) or is_contact_line(line) or is_title_line(line)


def _goes_on(line: str) -> bool:
    """Whether the squeezed ``line`` ends mid-sentence, so that the next line continues it."""
    if line.endswith((",", "&", "-", "–", "—", "/", "(")):
        return True
    return line.rsplit(" ", 1)[-1].casefold() in _WRAP_WORDS


def sign_off_start(lines: Sequence[str], previous: str = "") -> int:
    """Where the writer's sign-off and signature start in ``lines`` (``len(lines)`` when nothing signs off).

    ``lines`` follow the line ``previous`` of the same text (say, the command line of a reply). The sign-off starts
    at a signature delimiter, a mobile sign-off or a disclaimer; at a valediction ("Thanks", "Kind regards",
    "Thanks, Ira"); at a title or contact line; and at a name alone when a blank line (or nothing) comes before it,
    or when it ends the text or a sign-off follows it, unless the line before it goes on ("… agreed with").
    One pass: each line is read once, and the lines after a name are looked at once more.
    """
    squeezed = [_squeeze(line) for line in lines]
    before = _squeeze(previous)
    blank_before = not before
    for i, line in enumerate(squeezed):
        if not line:
            blank_before = True
            continue
        if _signs_off(lines[i]):
            return i
        if is_name_line(line):
            if blank_before:
                return i
            if not _goes_on(before):
                after = next((j for j in range(i + 1, len(lines)) if squeezed[j]), None)
                if after is None or is_name_line(lines[after]) or _signs_off(lines[after]):
                    return i
        before, blank_before = line, False
    return len(lines)
