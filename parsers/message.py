"""Raw RFC 5322 bytes to :class:`~parsers.mail.ParsedMail`.

:func:`parse_message` never raises: whatever it cannot read is recorded in ``defects`` and the mail
is still returned.  The stdlib ``email`` package does the MIME work with ``policy.default``; when that
fails on a pathological message the same reading is retried with ``policy.compat32``, and if even
that fails a minimal ParsedMail carrying the error is returned.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy as email_policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.policy import Policy
from email.utils import getaddresses, parsedate_to_datetime

from parsers.html import html_reply_cut, html_to_text
from parsers.mail import Address, Attachment, ParsedMail
from parsers.reply import strip_reply, strip_signature

__all__ = ["MAX_TEXT_CHARS", "parse_addresses", "parse_message"]

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2_000_000
"""Bodies (text and HTML) longer than this many characters are truncated, with a defect noted."""

_FINGERPRINT_TEXT_CHARS = 2000
_THREAD_INDEX_ROOT_BYTES = 22
_ID_RE = re.compile(r"<([^<>]*)>")
_ID_JUNK_RE = re.compile(r"[\s<>\x00-\x1f\x7f]+")  # space, stray brackets and control characters in an id
_SPACE_RE = re.compile(r"\s+")
_ESCAPED_RUN_RE = re.compile("[\udc80-\udcff]+")
_TNEF_NAMES = frozenset({"winmail.dat", "win.dat"})
_TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})


# --- headers ------------------------------------------------------------------------------------------


def _has_escapes(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _decode_mixed(data: bytes) -> tuple[str, bool]:
    """``data`` as UTF-8, with each byte that is not part of valid UTF-8 read as Windows-1252.

    Legacy gateways and old clients mix the two (a UTF-8 dash next to a Latin-1 "é"); reading the
    stray bytes as Windows-1252 keeps the words readable where a plain replacement would not.  The
    flag says whether any byte needed the fallback.
    """
    text = data.decode("utf-8", "surrogateescape")
    if not _has_escapes(text):
        return text, False
    return _ESCAPED_RUN_RE.sub(_unescape_cp1252, text), True


def _unescape_cp1252(match: re.Match[str]) -> str:
    raw = bytes(ord(ch) - 0xDC00 for ch in match.group())
    return raw.decode("cp1252", "replace")


def _clean(value: str) -> str:
    """Undo surrogate escapes of 8-bit header bytes (UTF-8, else Windows-1252) and unfold."""
    if _has_escapes(value):
        value = _decode_mixed(value.encode("utf-8", "surrogateescape"))[0]
    return _SPACE_RE.sub(" ", value).strip()


def _decode_header_value(name: str, raw: object, defects: list[str]) -> str:
    """Decoded (RFC 2047) text of one header, never raising."""
    if not isinstance(raw, str):
        try:
            return _clean(str(make_header(decode_header(str(raw)))))
        except Exception:
            return _clean(str(raw))
    try:
        fetched = str(email_policy.default.header_fetch_parse(name, raw))
        fallback = _has_escapes(fetched) and _decode_mixed(fetched.encode("utf-8", "surrogateescape"))[1]
        if "\ufffd" in fetched and "\ufffd" not in raw and "=?" in raw:
            # an encoded word in an unknown charset (or bytes invalid in its charset): read it ourselves
            fetched, fallback = _decode_words(raw, fetched)
        if fallback:
            defects.append(f"header {name}: bytes in an unknown charset read as Windows-1252")
        value = _clean(fetched)
    except Exception as exc:  # malformed header: fall back to the plain RFC 2047 decoder
        defects.append(f"header {name}: {type(exc).__name__}")
        try:
            value = _clean(str(make_header(decode_header(raw))))
        except Exception:
            value = _clean(raw)
    if "\ufffd" in value:
        defects.append(f"header {name}: undecodable characters replaced")
    return value


def _decode_words(raw: str, fetched: str) -> tuple[str, bool]:
    """RFC 2047 words of ``raw`` decoded by their charset, else as UTF-8 with stray bytes as
    Windows-1252; ``fetched`` when that fails.  The flag says whether the fallback was needed."""
    try:
        chunks = decode_header(raw)
    except Exception:
        return fetched, False
    out: list[str] = []
    fallback = False
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        if charset is None:  # the unencoded text between words
            out.append(chunk.decode("raw-unicode-escape", "replace"))
            continue
        codec = _charset_codec(charset)
        if codec is not None:
            try:
                out.append(chunk.decode(codec))
                continue
            except (UnicodeDecodeError, LookupError):
                pass
        text, used = _decode_mixed(chunk)
        fallback = fallback or used
        out.append(text)
    return "".join(out), fallback


def parse_addresses(value: str | None) -> tuple[Address, ...]:
    """Mailboxes in an address header value, e-mail addresses lower-cased; never raises."""
    if not value:
        return ()
    found: list[Address] = []
    try:
        header = email_policy.default.header_factory("to", value)
        for item in header.addresses:
            if item.addr_spec and item.addr_spec != "<>":
                found.append(Address(name=_clean(item.display_name or ""), email=item.addr_spec.lower()))
        if found or not header.defects:
            return tuple(found)
    except Exception:
        found = []
    try:
        pairs = getaddresses([value])
    except Exception:
        return ()
    return tuple(
        Address(name=_clean(name), email=addr.strip().lower()) for name, addr in pairs if addr and "@" in addr
    )


def _ids(value: str | None) -> tuple[str, ...]:
    """Message-IDs in a header value, without angle brackets, in order."""
    if not value:
        return ()
    found = _ID_RE.findall(value) or value.split()  # without brackets: whitespace-separated tokens
    cleaned = (_ID_JUNK_RE.sub("", item) for item in found)
    return tuple(item for item in cleaned if item)


def _message_id(value: str | None) -> str | None:
    ids = _ids(value)
    return ids[0] if ids else None


def conversation_key(thread_index: str | None) -> str | None:
    """Hex of the first 22 bytes of an Outlook Thread-Index (the conversation root), or None."""
    if not thread_index:
        return None
    compact = re.sub(r"[^A-Za-z0-9+/=]", "", thread_index).rstrip("=")
    if not compact:
        return None
    compact = compact[: len(compact) - (len(compact) % 4 == 1)]  # a lone trailing char cannot decode
    try:
        decoded = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=False)
    except (binascii.Error, ValueError):
        return None
    if len(decoded) < _THREAD_INDEX_ROOT_BYTES:
        return None
    return decoded[:_THREAD_INDEX_ROOT_BYTES].hex()


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:  # "-0000": UTC with no information about the local zone
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


# --- bodies -------------------------------------------------------------------------------------------


@dataclass
class _Bodies:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    nested_plain: list[str] = field(default_factory=list)  # inside an attached message/rfc822
    nested_html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    delivery_status: list[str] = field(default_factory=list)
    enclosed_ids: list[str] = field(default_factory=list)  # Message-IDs of attached/returned mails


def _charset_codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = charset.strip().strip('"').lower()
    if name in ("iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii", "iso8859-1"):
        return "cp1252"  # what Outlook and Windows clients actually send under these labels
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _decode_text(payload: bytes, charset: str | None, defects: list[str]) -> str:
    """Text of a body part.  Unknown or missing charsets are read as UTF-8 with stray bytes as
    Windows-1252 (see :func:`_decode_mixed`); so is a part labelled UTF-8 that is not."""
    codec = _charset_codec(charset)
    if codec is None:
        text = _decode_mixed(payload)[0]
        if charset:
            defects.append(f"unknown charset {charset!r}: decoded as UTF-8, stray bytes as Windows-1252")
        return text
    try:
        return payload.decode(codec)
    except UnicodeDecodeError:
        if codec == "utf-8":
            defects.append(f"undecodable bytes for charset {charset!r}: stray bytes read as Windows-1252")
            return _decode_mixed(payload)[0]
        defects.append(f"undecodable bytes for charset {charset!r}: decoded with replacement")
        return payload.decode(codec, "replace")
    except LookupError:
        defects.append(f"unknown charset {charset!r}: decoded as UTF-8, stray bytes as Windows-1252")
        return _decode_mixed(payload)[0]


def _payload_bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    return _clean(str(name)) if name else None


def _is_attachment(part: Message, filename: str | None) -> bool:
    try:
        disposition = (part.get_content_disposition() or "").lower()
    except Exception:
        disposition = ""
    return disposition == "attachment" or filename is not None


def _attachment(part: Message, ctype: str, filename: str | None) -> Attachment:
    try:
        size = len(part.as_bytes()) if part.is_multipart() else len(_payload_bytes(part))
    except Exception:
        size = 0
    return Attachment(filename=filename, content_type=ctype, size=size)


def _delivery_status_text(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = []
        for block in payload:
            if isinstance(block, Message):
                blocks.append("\n".join(f"{k}: {_clean(str(v))}" for k, v in block.raw_items()))
        return "\n\n".join(blocks)
    return _decode_text(_payload_bytes(part), part.get_content_charset(), [])


def _note_enclosed_id(inner: Message, bodies: _Bodies) -> None:
    try:
        found = _message_id(str(inner.get("Message-ID") or "") or None)
    except Exception:  # a broken header in a returned mail is not worth failing over
        found = None
    if found and found not in bodies.enclosed_ids:
        bodies.enclosed_ids.append(found)


def _walk(part: Message, bodies: _Bodies, defects: list[str], nested: bool, depth: int) -> None:
    if depth > 50:
        defects.append("MIME nesting deeper than 50 levels: rest ignored")
        return
    try:
        _walk_part(part, bodies, defects, nested, depth)
    finally:  # after decoding, so that payload defects (bad base64…) are included
        defects.extend(_describe_defect(defect) for defect in getattr(part, "defects", ()) or ())


def _walk_part(part: Message, bodies: _Bodies, defects: list[str], nested: bool, depth: int) -> None:
    ctype = part.get_content_type()
    filename = _filename(part)
    if ctype == "message/delivery-status":
        bodies.delivery_status.append(_delivery_status_text(part))
        return
    if ctype in ("text/rfc822-headers", "message/rfc822-headers", "message/global-headers"):
        bodies.attachments.append(_attachment(part, ctype, filename))
        _note_enclosed_id(HeaderParser().parsestr(_decode_text(_payload_bytes(part), "utf-8", [])), bodies)
        return
    if ctype in ("message/rfc822", "message/global") or (ctype.startswith("message/") and part.is_multipart()):
        bodies.attachments.append(_attachment(part, ctype, filename))
        for inner in part.get_payload() if part.is_multipart() else ():
            if isinstance(inner, Message):
                _note_enclosed_id(inner, bodies)
                _walk(inner, bodies, defects, True, depth + 1)
        return
    if part.is_multipart():
        for inner in part.get_payload():
            if isinstance(inner, Message):
                _walk(inner, bodies, defects, nested, depth + 1)
        return
    is_tnef = ctype in _TNEF_TYPES or (filename or "").lower() in _TNEF_NAMES
    if is_tnef or ctype not in ("text/plain", "text/html") or _is_attachment(part, filename):
        bodies.attachments.append(_attachment(part, ctype, filename))
        return
    text = _decode_text(_payload_bytes(part), part.get_content_charset(), defects)
    if ctype == "text/plain":
        (bodies.nested_plain if nested else bodies.plain).append(text)
    else:
        (bodies.nested_html if nested else bodies.html).append(text)


def _join_parts(parts: list[str]) -> str:
    """Several inline text parts as one body, one blank line between them."""
    if len(parts) == 1:
        return parts[0]
    trimmed = [part.replace("\r\n", "\n").strip("\n") for part in parts]
    return "\n\n".join(part for part in trimmed if part.strip())


def _describe_defect(defect: object) -> str:
    name = type(defect).__name__
    detail = str(defect)
    return f"{name}: {detail}" if detail and detail != name else name


def _truncate(value: str, what: str, defects: list[str]) -> str:
    if len(value) > MAX_TEXT_CHARS:
        defects.append(f"{what} body truncated from {len(value)} to {MAX_TEXT_CHARS} characters")
        return value[:MAX_TEXT_CHARS]
    return value


def _new_text(plain: str | None, html: str | None, text: str) -> str:
    """The reply's own words.

    A structural quote marker in the HTML (OWA's divRplyFwdMsg, Outlook's border-top block,
    gmail_quote, blockquote…) is the most reliable cut; without one the plain-text rules run on the
    text/plain part (or on the HTML converted to text when there is no plain part).
    """
    if html:
        cut = html_reply_cut(html)
        if cut is not None:
            return strip_signature(cut)
    return strip_reply(plain if plain is not None else text)


def _fingerprint(from_: Address | None, to: tuple[Address, ...], date: datetime | None, date_raw: str | None,
                 subject: str, text: str) -> str:
    parts = [
        from_.email if from_ else "",
        ",".join(address.email for address in to),
        date.isoformat() if date else (date_raw or ""),
        subject,
        text[:_FINGERPRINT_TEXT_CHARS],
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _first(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _parse(raw: bytes, policy: Policy, defects: list[str]) -> ParsedMail:
    msg = BytesParser(policy=policy).parsebytes(raw)
    headers: list[tuple[str, str]] = []
    for name, value in msg.raw_items():
        key = _clean(str(name)).lower()
        headers.append((key, _decode_header_value(key, value, defects)))
    if not headers:
        defects.append("no headers found: not an RFC 5322 message")

    bodies = _Bodies()
    _walk(msg, bodies, defects, False, 0)
    # Top-level defects were collected by _walk; keep their order but drop duplicates later.

    if bodies.plain or bodies.html:
        plain_parts, html_parts = bodies.plain, bodies.html
    else:  # only an attached message has a body (forward as attachment, some bounces)
        plain_parts, html_parts = bodies.nested_plain, bodies.nested_html
    # Several inline text/plain parts (text, attachment, text) are one body; of HTML keep the first.
    plain = _truncate(_join_parts(plain_parts), "text", defects) if plain_parts else None
    html = _truncate(html_parts[0], "HTML", defects) if html_parts else None
    if plain is not None:
        text = plain
    elif html is not None:
        text = _truncate(html_to_text(html), "text", defects)
    else:
        text = ""
    text = text.replace("\r\n", "\n")

    from_ = parse_addresses(_first(headers, "from"))
    sender = parse_addresses(_first(headers, "sender"))
    to = parse_addresses(", ".join(v for k, v in headers if k == "to") or None)
    cc = parse_addresses(", ".join(v for k, v in headers if k == "cc") or None)
    reply_to = parse_addresses(_first(headers, "reply-to"))
    date_raw = _first(headers, "date")
    date = _parse_date(date_raw)
    if date_raw and date is None:
        defects.append(f"unparseable Date header: {date_raw[:80]!r}")
    subject = _first(headers, "subject") or ""
    thread_index = _first(headers, "thread-index")
    thread_index = thread_index.strip() if thread_index else None
    key = conversation_key(thread_index)
    if thread_index and key is None:
        defects.append("Thread-Index is not valid base64 of at least 22 bytes")

    new_text = _new_text(plain, html, text)
    return ParsedMail(
        message_id=_message_id(_first(headers, "message-id")),
        in_reply_to=_ids(_first(headers, "in-reply-to")),
        references=_ids(" ".join(v for k, v in headers if k == "references") or None),
        thread_index=thread_index or None,
        thread_topic=_first(headers, "thread-topic"),
        conversation_key=key,
        subject=subject,
        from_=from_[0] if from_ else None,
        sender=sender[0] if sender else None,
        reply_to=reply_to,
        to=to,
        cc=cc,
        date=date,
        headers=tuple(headers),
        content_type=msg.get_content_type(),
        text=text,
        html=html,
        new_text=new_text,
        attachments=tuple(bodies.attachments),
        delivery_status="\n\n".join(bodies.delivery_status) if bodies.delivery_status else None,
        enclosed_message_ids=tuple(bodies.enclosed_ids),
        defects=tuple(dict.fromkeys(defects)),
        fingerprint=_fingerprint(from_[0] if from_ else None, to, date, date_raw, subject, text),
        size=len(raw),
    )


def _minimal(raw: bytes, defects: list[str]) -> ParsedMail:
    text = raw[:MAX_TEXT_CHARS].decode("utf-8", "replace")
    return ParsedMail(
        message_id=None, in_reply_to=(), references=(), thread_index=None, thread_topic=None,
        conversation_key=None, subject="", from_=None, sender=None, reply_to=(), to=(), cc=(), date=None,
        headers=(), content_type="text/plain", text=text, html=None, new_text=text.strip(),
        defects=tuple(dict.fromkeys(defects)), fingerprint=_fingerprint(None, (), None, None, "", text),
        size=len(raw),
    )


def parse_message(raw: bytes) -> ParsedMail:
    """Parse one RFC 5322 message.  Never raises; problems are listed in ``defects``."""
    try:
        data = bytes(raw) if not isinstance(raw, str) else raw.encode("utf-8", "surrogateescape")
    except Exception as exc:
        data = b""
        first_defects = [f"input is not bytes: {type(exc).__name__}"]
    else:
        first_defects = []
    if not data.strip():
        first_defects.append("empty message")
    errors: list[str] = []
    for policy in (email_policy.default, email_policy.compat32):
        defects = list(first_defects) + errors
        try:
            return _parse(data, policy, defects)
        except Exception as exc:  # never let one bad mail stop the mailbox
            log.debug("parse failed policy=%s error=%s", getattr(policy, "__class__", policy), type(exc).__name__)
            errors.append(f"parse failed with {_policy_name(policy)}: {type(exc).__name__}: {exc}"[:300])
    return _minimal(data, first_defects + errors)


def _policy_name(policy: Policy) -> str:
    return "policy.compat32" if policy is email_policy.compat32 else "policy.default"
