"""Who sent a mail, as far as the mail proves it.

The shared mailbox takes mail from anyone, so a sender is who the mail proves, not what its From line claims.
:func:`assess` reads a :class:`~parsers.mail.ParsedMail` against the council's :class:`AuthPolicy` and returns an
:class:`Authenticity`: authenticated or not, the proven lower-case From address when authenticated, and the reasons
in plain words.  It is pure (no I/O, no clock) and never raises.  Reasons name at most addresses, domains and
authserv-ids, each only when it is shaped like one, never other mail text.

Raw values
----------

From, Sender and Authentication-Results are decided on as the mail wrote them: ``mail.raw_headers``, unfolded and
nothing else (:class:`~parsers.mail.ParsedMail`).  The email package behind :func:`~parsers.message.parse_message`
repairs what it reads (of ``jane.iro@example.test <attacker@evil.example>`` it keeps ``jane.iro@example.test``) and
decodes RFC 2047 encoded words everywhere, so an address or a ``dmarc=pass`` could hide inside one.  The decoded
values (``mail.headers``, ``mail.from_``) are read as well, and where the two readings disagree the mail is refused.
A mail without raw values (a ParsedMail built by hand) has no From, Sender or Authentication-Results to decide on.

The rules, in the order they are checked
-----------------------------------------

1. **Exactly one From mailbox.**  The decoded value of every ``From`` header is read with
   :func:`email.utils.getaddresses`; more than one ``From`` header, or more than one mailbox in it, or none at all:
   unauthenticated.  The one mailbox must also be the address :func:`parsers.message.parse_message` read
   (``mail.from_``), and the only addr-spec of the raw From: two readers that disagree on who the mail is from prove
   nothing.  The raw From is read in one pass that repairs nothing: every ``<...>`` and every bare ``local@domain``
   word outside angle brackets, quoted strings and comments is an addr-spec, so ``jane.iro@example.test
   <attacker@evil.example>``, ``<a@x> <b@y>`` and ``a@x b@y`` are two From mailboxes, whatever the email package
   keeps of them.
2. **Sender.**  A ``Sender`` header whose address differs from the From address: unauthenticated.  So is more
   than one ``Sender`` header or mailbox, and a ``Sender`` header with no readable mailbox; decoded or raw (read as
   the raw From is).
3. **Display name.**  A From display name that contains an e-mail address other than the From address
   (``"jane.iro@example.test" <attacker@evil.example>``): unauthenticated.  The names read are the decoded ones and
   all the raw From's text outside its angle address (phrase, quoted strings, comments), as written and with its
   encoded words decoded (``=?utf-8?q?jane.iro=40example.test?= <attacker@evil.example>``): decoding there can
   only add a reason to refuse.  Each is NFKC-normalised and stripped of invisible format characters first, so a
   full-width ``＠`` or a zero-width space does not hide the address.
4. **Failing results.**  Every ``Authentication-Results`` header (RFC 8601) is read, trusted or not: a failing
   result for the From domain in ANY of them makes the mail unauthenticated, because whoever added the header can
   only hurt the mail it is in.  Failing means ``spf=fail``, ``spf=softfail`` (and RFC 5451's ``spf=hardfail``),
   ``dkim=fail`` and ``dmarc=fail``.  ``temperror``, ``permerror``, ``none``, ``neutral``, ``policy`` and Microsoft's
   ``bestguesspass`` are not failing, and not a pass either.  "For the From domain" means:

   - spf: the domain of ``smtp.mailfrom`` (of ``smtp.helo`` when there is no ``smtp.mailfrom``);
   - dkim: ``header.d`` and the domain of ``header.i``;
   - dmarc: ``header.from``; a ``dmarc=fail`` with no ``header.from`` counts too, DMARC being about the From domain
     by definition.

   For a failure the domain counts when it equals the From domain or either is a subdomain of the other
   (``bounce.council.gov.uk`` and ``council.gov.uk``); an spf or dkim failure naming no domain at all is not counted.

   Authentication-Results are never RFC 2047-decoded: an encoded word there is a word like any other, and proves
   nothing (``=?us-ascii?q?mx.council.example?=`` is no authserv-id of the gateway's, and an encoded
   ``dmarc=pass`` is no result).

   4a. **Limits.**  A header longer than :data:`MAX_HEADER_CHARS`, a header with more than :data:`MAX_RESULTS`
   results, or more than :data:`MAX_HEADERS` ``Authentication-Results`` headers: unauthenticated (what was not read
   could hold a failure).  The tokenizer is one linear pass; nothing here uses a regular expression.

   4b. **The gateway read another From.**  A trusted header whose ``dmarc`` result names a ``header.from`` other
   than the From domain: unauthenticated.  The gateway and this module disagree on who the mail is from.

5. **Proof.**  A pass counts only from a trusted header (see below).

   - From outside the council's domains: a trusted ``dmarc=pass`` whose ``header.from`` is exactly the From domain,
     when ``external_requires == "dmarc"``.  With ``external_requires == "none"`` (tests and trials only) an
     external sender is accepted without proof; rules 1-4 still apply, and council addresses still need proof, so
     a trial cannot be fooled by mail claiming to be from the IRO.
   - From inside the council's domains (``internal_domains`` or a subdomain of one): a trusted ``dmarc=pass`` as
     above; or, with ``trust_exchange_internal``, ``X-MS-Exchange-Organization-AuthAs: Internal`` (every such header
     must say ``Internal``, case-insensitive; Exchange removes ``X-MS-Exchange-Organization-*`` headers from mail
     arriving from outside the organisation and sets this one itself); or a trusted ``spf=pass`` or ``dkim=pass``
     aligned with the From domain, because the council's own mail through its own gateway often has no DMARC
     result.  Aligned here means the passing domain (``smtp.mailfrom``'s domain; ``header.d``, else ``header.i``'s
     domain) equals the From domain or is a parent of it (``council.gov.uk`` for ``childrens.council.gov.uk``) AND
     is itself a council domain.  A child domain passing for its parent does not count: a subdomain delegated to a
     mailing vendor must not prove the council's own addresses.  One pass result naming two different domains is
     ambiguous and does not count.

6. **Anything else**: unauthenticated, with the reason (``no Authentication-Results from the council's gateway``,
   ``the council's gateway reported no dmarc=pass for partner.example``...).

Which headers are trusted
-------------------------

A header is trusted when its authserv-id is in ``AuthPolicy.trusted_authserv_ids`` (case-insensitive), with two
guards:

- **Exchange Online Protection writes no authserv-id.**  Its header starts with the first result::

      Authentication-Results: spf=pass (sender IP is 40.107.22.52) smtp.mailfrom=council.gov.uk; dkim=pass
       (signature was verified) header.d=council.gov.uk;dmarc=pass action=none header.from=council.gov.uk;compauth=pass
       reason=100

  (older EOP headers also carry the recipient's domain as a bare element, ``smtp.mailfrom=a.example; b.example;
  dkim=...``; bare elements are skipped).  Such a header is trusted only when the policy lists the special id
  :data:`NO_AUTHSERV_ID`, and then only the topmost header without an authserv-id: EOP prepends its header on
  arrival, so any such header the sender wrote lies below it.  List :data:`NO_AUTHSERV_ID` only when every mail
  reaches the bot through EOP.  ``ARC-Authentication-Results`` (where Microsoft writes ``mx.microsoft.com``) and
  ``Authentication-Results-Original`` are not read.
- **A trusted id that contradicts itself proves nothing.**  A pass for a method (spf, dkim, dmarc) reported under a
  trusted id counts only if every result of that method under that id is a pass (for spf: every result about
  ``smtp.mailfrom``).  A second header under the gateway's id that disagrees with it is what a forged copy looks
  like.  The gateway should still remove headers claiming its id from incoming mail (RFC 8601 section 5); this
  guard only helps when the gateway reports the method itself.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.header import decode_header
from email.utils import getaddresses

from parsers.mail import ParsedMail

__all__ = [
    "MAX_HEADERS",
    "MAX_HEADER_CHARS",
    "MAX_RESULTS",
    "NO_AUTHSERV_ID",
    "AuthPolicy",
    "AuthenticationResults",
    "Authenticity",
    "MethodResult",
    "assess",
    "parse_authentication_results",
]

NO_AUTHSERV_ID = "(no authserv-id)"
"""Put this in ``trusted_authserv_ids`` to trust the topmost Authentication-Results header that has no authserv-id:
the form Exchange Online Protection writes.  No parsed authserv-id ever matches it."""

MAX_HEADER_CHARS = 8192
"""An Authentication-Results header longer than this (characters of its raw value) is not read: the mail is
unauthenticated."""

MAX_RESULTS = 50
"""An Authentication-Results header with more results than this: the mail is unauthenticated."""

MAX_HEADERS = 50
"""More Authentication-Results headers than this: the mail is unauthenticated."""

EXTERNAL_REQUIREMENTS = frozenset({"dmarc", "none"})
INTERNAL_REQUIREMENTS = frozenset({"proof", "none"})

_AUTH_AS = "x-ms-exchange-organization-authas"
_METHODS_WITH_FAILURES = {"spf": frozenset({"fail", "softfail", "hardfail"}), "dkim": frozenset({"fail"}),
                          "dmarc": frozenset({"fail"})}
# Method names (IANA "Email Authentication Methods"): such a key starts a new result even without a ";" before it.
_KNOWN_METHODS = frozenset({
    "arc", "auth", "bimi", "compauth", "dkim", "dkim-adsp", "dkim-atps", "dmarc", "dnswl", "domainkeys", "iprev",
    "rrvs", "sender-id", "smime", "spf", "vbr",
})
_KEYWORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
_DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")
_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.!#$%&'*+/=?^_`{|}~-")
_SPACE = frozenset(" \t\r\n")
_WORD_STOP = frozenset(' \t\r\n()";=')
_VALUE_STOP = frozenset(" \t\r\n();")
# Characters that cannot be part of an address found in a display name: they split it into candidate words.
_NAME_SEPARATORS = str.maketrans({ch: " " for ch in "\"'<>()[]{},;:|\\/\t\r\n"})
# A raw address field: characters that end a word (besides '"', "@", "(" and "<", read on their own).
_RAW_SEPARATORS = frozenset(" \t\r\n),;:>")
_RAW_WORD_STOP = _RAW_SEPARATORS | frozenset('"@(<')
# An RFC 2047 encoded word; no class can take a "?", so a failed try stops at the next one (linear).
_ENCODED_WORD_RE = re.compile(r"=\?[^?\s]*\?[^?\s]*\?[^?\s]*\?=")


# --- the public types ----------------------------------------------------------------------------------------


def _names(values: Iterable[str], what: str, domains: bool) -> frozenset[str]:
    if isinstance(values, str):
        raise TypeError(f"{what} must be a collection of strings, not one string")
    out: set[str] = set()
    for value in values:
        name = str(value).strip().lower()
        if domains:
            name = _domain(name.lstrip("@"))
        if name:
            out.add(name)
    return frozenset(out)


@dataclass(frozen=True)
class AuthPolicy:
    """What the council configures.

    ``trusted_authserv_ids``: the authserv-ids of the Authentication-Results headers its own gateway adds (compared
    case-insensitively; :data:`NO_AUTHSERV_ID` for Exchange Online Protection's header without one).
    ``internal_domains``: the council's domains (their subdomains count as the council's too).
    ``external_requires``: ``"dmarc"`` (a trusted dmarc=pass for the From domain) or ``"none"`` (tests and trials
    only: external senders accepted without proof).  ``trust_exchange_internal``: accept
    ``X-MS-Exchange-Organization-AuthAs: Internal`` as proof for senders in the council's domains.
    ``internal_requires``: ``"proof"`` (rule 5) or ``"none"`` (tests and trials only: a council From line is
    believed as written; rules 1-4 still refuse forged-looking mail).
    """

    trusted_authserv_ids: frozenset[str] = frozenset()
    internal_domains: frozenset[str] = frozenset()
    external_requires: str = "dmarc"
    trust_exchange_internal: bool = False
    internal_requires: str = "proof"

    def __post_init__(self) -> None:
        object.__setattr__(self, "trusted_authserv_ids",
                           _names(self.trusted_authserv_ids, "trusted_authserv_ids", domains=False))
        object.__setattr__(self, "internal_domains", _names(self.internal_domains, "internal_domains", domains=True))
        if self.external_requires not in EXTERNAL_REQUIREMENTS:
            raise ValueError(f"external_requires must be one of {sorted(EXTERNAL_REQUIREMENTS)}, "
                             f"not {self.external_requires!r}")
        if self.internal_requires not in INTERNAL_REQUIREMENTS:
            raise ValueError(f"internal_requires must be one of {sorted(INTERNAL_REQUIREMENTS)}, "
                             f"not {self.internal_requires!r}")


@dataclass(frozen=True)
class Authenticity:
    """The verdict: ``sender`` is the proven lower-case From address, set only when ``authenticated``."""

    authenticated: bool
    sender: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class MethodResult:
    """One ``method=result`` of an Authentication-Results header, with its ``ptype.property=value`` properties (and
    ``reason``/``action``-like extras) in order; method, result and property names are lower-case."""

    method: str
    result: str
    properties: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> tuple[str, ...]:
        """Every value of property ``name`` (lower-case, e.g. ``"header.from"``)."""
        return tuple(value for key, value in self.properties if key == name)


@dataclass(frozen=True)
class AuthenticationResults:
    """One Authentication-Results header read.  ``authserv_id`` is None when the header starts with a result (the
    form Exchange Online Protection writes) and ``""`` when it could not be read.  ``problem`` says why the header
    was not (fully) read: too long, or too many results."""

    authserv_id: str | None
    results: tuple[MethodResult, ...] = ()
    problem: str | None = None


# --- the tokenizer -------------------------------------------------------------------------------------------
# One pass over the text; every index only moves forward.  Atoms: ("w", word), ("q", quoted string), ("=", ""),
# ("v", value after "="); comments are skipped; ";" ends a segment.


def _skip_comment(text: str, i: int) -> int:
    """Index after the comment starting at ``text[i] == "("`` (nested, with quoted-pairs); the end if unclosed."""
    depth = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def _read_quoted(text: str, i: int) -> tuple[str, int]:
    """The content of the quoted string starting at ``text[i] == '"'`` and the index after it."""
    parts: list[str] = []
    n = len(text)
    i += 1
    start = i
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            parts.append(text[start:i])
            parts.append(text[i + 1])
            i += 2
            start = i
            continue
        if ch == '"':
            parts.append(text[start:i])
            return "".join(parts), i + 1
        i += 1
    parts.append(text[start:n])
    return "".join(parts), n


def _read_value(text: str, i: int) -> tuple[str, int]:
    """A value after "=": words and quoted strings up to space, a comment or ";" (``"john smith"@a.example``,
    ``SRS0=x=y@b.example`` and base64 with "=" stay whole)."""
    parts: list[str] = []
    n = len(text)
    while i < n and text[i] not in _VALUE_STOP:
        if text[i] == '"':
            quoted, i = _read_quoted(text, i)
            parts.append(quoted)
            continue
        start = i
        while i < n and text[i] not in _VALUE_STOP and text[i] != '"':
            i += 1
        parts.append(text[start:i])
    return "".join(parts), i


def _segments(text: str) -> list[list[tuple[str, str]]]:
    segments: list[list[tuple[str, str]]] = [[]]
    i = 0
    n = len(text)
    after_eq = False
    while i < n:
        ch = text[i]
        if ch in _SPACE:
            i += 1
        elif ch == "(":
            i = _skip_comment(text, i)
        elif ch == ";":
            segments.append([])
            after_eq = False
            i += 1
        elif ch == ")":  # a stray closing parenthesis
            i += 1
        elif after_eq:
            value, i = _read_value(text, i)
            segments[-1].append(("v", value))
            after_eq = False
        elif ch == "=":
            segments[-1].append(("=", ""))
            after_eq = True
            i += 1
        elif ch == '"':
            quoted, i = _read_quoted(text, i)
            segments[-1].append(("q", quoted))
        else:
            start = i
            while i < n and text[i] not in _WORD_STOP:
                i += 1
            segments[-1].append(("w", text[start:i]))
    return segments


def _pairs(atoms: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``key=value`` pairs of one segment, keys lower-case; bare words are skipped."""
    pairs: list[tuple[str, str]] = []
    k = 0
    m = len(atoms)
    while k < m:
        kind, text = atoms[k]
        if kind == "w" and k + 1 < m and atoms[k + 1][0] == "=":
            if k + 2 < m and atoms[k + 2][0] == "v":
                pairs.append((text.lower(), atoms[k + 2][1]))
                k += 3
            else:
                pairs.append((text.lower(), ""))
                k += 2
        else:
            k += 1
    return pairs


def _is_keyword(text: str) -> bool:
    return bool(text) and all(ch in _KEYWORD_CHARS for ch in text)


def parse_authentication_results(value: str) -> AuthenticationResults:
    """Read one Authentication-Results header value (RFC 8601, and EOP's form without authserv-id); never raises.

    ``authserv-id [version] ; method[/version]=result [reason=...] [ptype.property=value ...] ; ...`` with comments
    and quoted strings.  Elements that are not ``key=value`` are skipped; a method name (``spf``, ``dkim``...)
    starts a new result even when the ``;`` before it is missing.
    """
    if len(value) > MAX_HEADER_CHARS:
        return AuthenticationResults("", (), f"an Authentication-Results header longer than {MAX_HEADER_CHARS} "
                                             "characters was not read")
    segments = _segments(value)
    first = segments[0]
    authserv_id: str | None
    if len(first) >= 2 and first[0][0] == "w" and first[1][0] == "=":
        authserv_id, result_segments = None, segments  # EOP: no authserv-id, the header starts with a result
    elif first and first[0][0] in ("w", "q"):
        authserv_id, result_segments = first[0][1], segments[1:]  # a version after it is ignored
    else:
        authserv_id, result_segments = "", segments[1:]

    results: list[MethodResult] = []
    problem = None
    for atoms in result_segments:
        method = result = ""
        properties: list[tuple[str, str]] = []
        for key, val in _pairs(atoms):
            name = key.partition("/")[0].strip()  # "dkim/1" -> "dkim"
            starts = (not method and "." not in key) or name in _KNOWN_METHODS
            if not starts:
                if method:
                    properties.append((key, val))
                continue
            if method:
                results.append(MethodResult(method, result, tuple(properties)))
            method, result, properties = (name, val.strip().lower(), []) if _is_keyword(name) else ("", "", [])
        if method:
            results.append(MethodResult(method, result, tuple(properties)))
        if len(results) > MAX_RESULTS:
            problem = f"an Authentication-Results header with more than {MAX_RESULTS} results was not read"
            del results[MAX_RESULTS:]
            break
    return AuthenticationResults(authserv_id, tuple(results), problem)


# --- domains and addresses -----------------------------------------------------------------------------------


def _domain(value: str) -> str:
    """A domain (or the domain of an address) lower-case, without angle brackets or trailing dot, as IDNA A-labels."""
    text = value.strip().strip("<>").strip()
    domain = text.rpartition("@")[2].strip().lower().rstrip(".")
    if domain and not domain.isascii() and len(domain) <= 253:
        with contextlib.suppress(UnicodeError, ValueError):
            domain = domain.encode("idna").decode("ascii")
    return domain


def _related(one: str, other: str) -> bool:
    """Equal, or either a subdomain of the other."""
    return one == other or one.endswith("." + other) or other.endswith("." + one)


def _within(domain: str, parents: frozenset[str]) -> bool:
    """``domain`` is one of ``parents`` or a subdomain of one."""
    return any(domain == parent or domain.endswith("." + parent) for parent in parents)


def _shown_domain(domain: str) -> str:
    if 0 < len(domain) <= 253 and all(ch in _DOMAIN_CHARS for ch in domain):
        return domain
    return "(an unreadable domain)"


def _shown_address(address: str) -> str:
    local, at, domain = address.rpartition("@")
    if at and 0 < len(local) <= 64 and all(ch in _LOCAL_CHARS for ch in local) and _shown_domain(domain) == domain:
        return address
    return "(an unreadable address)"


def _shown_id(authserv_id: str | None) -> str:
    if authserv_id is None:
        return "a header without authserv-id"
    shown = authserv_id.lower()
    return shown if _shown_domain(shown) == shown else "(an unreadable authserv-id)"


def _addresses_in_name(name: str) -> list[str]:
    """E-mail addresses written in a display name, lower-case."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")  # zero-width and direction marks
    found: list[str] = []
    for word in text.translate(_NAME_SEPARATORS).split():
        local, at, domain = word.rpartition("@")
        local, domain = local.strip(".").lower(), domain.strip(".").lower()
        if at and local and domain:
            found.append(f"{local}@{domain}")
    return found


@dataclass(frozen=True)
class _RawAddresses:
    """A raw From or Sender value as RFC 5322 writes it, before any decoding: its addr-specs in order (the content of
    each ``<...>`` and each bare ``local@domain`` word outside them, lower-case, blanks removed) and its text outside
    angle brackets (phrases, quoted strings, comments: where display names are)."""

    addresses: tuple[str, ...]
    display: str


def _read_raw_addresses(value: str) -> _RawAddresses:
    """The addr-specs and display text of a raw address field; one pass, every index only moves forward.

    Unlike the email package this never repairs: a bare address in a display name (``jane.iro@example.test
    <attacker@evil.example>``) or two angle addresses in one mailbox are two addr-specs.  A word is a bare addr-spec
    when an ``@`` outside its quoted strings has something before and after it (``"j iro"@example.test`` is one).
    Comments and groups (``name: ... ;``) hold no addr-spec of their own.
    """
    addresses: list[str] = []
    display: list[str] = []
    n = len(value)
    i = shown = 0  # shown: where the display text not yet copied starts
    word = inner_at = -1  # where the current word starts; its first "@" after its first character

    def close(stop: int) -> None:
        nonlocal word, inner_at
        if 0 <= word < inner_at < stop - 1:
            addresses.append("".join(value[word:stop].split()).lower())
        word = inner_at = -1

    while i < n:
        ch = value[i]
        if ch == '"':
            word = i if word < 0 else word
            i = _read_quoted(value, i)[1]
        elif ch == "@":
            if word < 0:
                word = i
            elif inner_at < 0:
                inner_at = i
            i += 1
        elif ch == "(":
            close(i)
            i = _skip_comment(value, i)
        elif ch == "<":
            close(i)
            display.append(value[shown:i])
            k = i + 1
            while k < n and value[k] != ">":
                k = _read_quoted(value, k)[1] if value[k] == '"' else k + 1
            address = "".join(value[i + 1 : k].split()).lower()
            if address:
                addresses.append(address)
            display.append(" ")
            i = shown = min(k + 1, n)
        elif ch in _RAW_SEPARATORS:
            close(i)
            i += 1
        else:
            word = i if word < 0 else word
            i += 1
            while i < n and value[i] not in _RAW_WORD_STOP:
                i += 1
    close(n)
    display.append(value[shown:])
    return _RawAddresses(tuple(addresses), "".join(display))


def _decode_word(match: re.Match[str]) -> str:
    try:
        return "".join(chunk.decode(charset or "ascii", "replace") if isinstance(chunk, bytes) else chunk
                       for chunk, charset in decode_header(match.group()))
    except Exception:  # an unknown charset, bad base64...: the word as it is
        return match.group()


def _decoded_words(text: str) -> str:
    """``text`` with each RFC 2047 encoded word decoded: only to look for addresses hidden in a display name, where
    decoding can add a reason to refuse a mail, never take one away."""
    return _ENCODED_WORD_RE.sub(_decode_word, text) if "=?" in text else text


# --- the verdict ---------------------------------------------------------------------------------------------


def _no(*reasons: str) -> Authenticity:
    return Authenticity(False, None, tuple(dict.fromkeys(reasons)))


def _result_domains(result: MethodResult, *, for_failure: bool) -> tuple[str, ...]:
    if result.method == "spf":
        values = result.get("smtp.mailfrom") or (result.get("smtp.helo") if for_failure else ())
    elif result.method == "dkim":
        values = (result.get("header.d") + result.get("header.i")) if for_failure else \
            (result.get("header.d") or result.get("header.i"))
    elif result.method == "dmarc":
        values = result.get("header.from")
    else:
        values = ()
    return tuple(domain for domain in (_domain(value) for value in values) if domain)


def _fails_for(result: MethodResult, from_domain: str) -> bool:
    if result.result not in _METHODS_WITH_FAILURES.get(result.method, ()):
        return False
    domains = _result_domains(result, for_failure=True)
    if result.method == "dmarc" and not domains:
        return True
    return any(_related(domain, from_domain) for domain in domains)


def _read_from(mail: ParsedMail) -> tuple[str | None, list[str], tuple[str, ...]]:
    """The one From address (lower-case) and its display names, or the reasons there is none."""
    values = mail.header_all("from")
    if not values:
        return None, [], ("no From header",)
    if len(values) > 1:
        return None, [], (f"{len(values)} From headers",)
    try:
        mailboxes = [(name, addr.strip()) for name, addr in getaddresses(values) if addr.strip()]
    except Exception:  # getaddresses on hostile text: nothing readable
        mailboxes = []
    if not mailboxes:
        return None, [], ("no readable From mailbox",)
    if len(mailboxes) > 1:
        return None, [], (f"{len(mailboxes)} From mailboxes",)
    name, address = mailboxes[0][0], mailboxes[0][1].lower()
    local, at, domain = address.rpartition("@")
    if not (at and local and domain):
        return None, [], ("the From address has no domain",)
    differ = ("the From header reads differently to different mail parsers",)
    if mail.from_ is None or mail.from_.email != address:
        return None, [], differ
    raw = mail.raw_header_all("from")
    if len(raw) != 1:
        return None, [], differ
    read = _read_raw_addresses(raw[0])
    if len(read.addresses) > 1:
        return None, [], (f"{len(read.addresses)} From mailboxes",)
    if read.addresses != (address,):
        return None, [], differ
    return address, [name, mail.from_.name, read.display, _decoded_words(read.display)], ()


def _sender_problems(mail: ParsedMail, address: str) -> list[str]:
    values = mail.header_all("sender")
    raw = mail.raw_header_all("sender")
    if len(raw) != len(values):
        return ["the Sender header reads differently to different mail parsers"]
    if not values:
        return []
    if len(values) > 1:
        return [f"{len(values)} Sender headers"]
    try:
        mailboxes = [addr.strip().lower() for _, addr in getaddresses(values) if addr.strip()]
    except Exception:
        mailboxes = []
    if not mailboxes:
        return ["a Sender header with no readable mailbox"]
    if len(mailboxes) > 1:
        return [f"{len(mailboxes)} Sender mailboxes"]
    if mailboxes[0] != address:
        return [f"Sender {_shown_address(mailboxes[0])} differs from From {_shown_address(address)}"]
    found = _read_raw_addresses(raw[0]).addresses
    if not found:
        return ["a Sender header with no readable mailbox"]
    if len(found) > 1:
        return [f"{len(found)} Sender mailboxes"]
    if found[0] != address:
        return [f"Sender {_shown_address(found[0])} differs from From {_shown_address(address)}"]
    return []


@dataclass
class _Read:
    """The Authentication-Results headers of one mail, each with whether it is trusted, in header order; and the
    (trusted authserv-id, method) pairs that reported a result other than pass somewhere in the mail."""

    headers: list[tuple[AuthenticationResults, bool]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    not_passed: set[tuple[str | None, str]] = field(default_factory=set)

    def contradicted(self, authserv_id: str | None, method: str) -> bool:
        return (_id_key(authserv_id), method) in self.not_passed


def _id_key(authserv_id: str | None) -> str | None:
    return None if authserv_id is None else authserv_id.lower()


def _read_authentication_results(mail: ParsedMail, policy: AuthPolicy) -> _Read:
    read = _Read()
    values = mail.raw_header_all("authentication-results")  # never RFC 2047-decoded: an encoded word proves nothing
    if len(values) > MAX_HEADERS:
        read.problems.append(f"more than {MAX_HEADERS} Authentication-Results headers")
        return read
    seen_without_id = False
    for value in values:
        header = parse_authentication_results(value)
        if header.problem:
            read.problems.append(header.problem)
        if header.authserv_id is None:
            trusted = not seen_without_id and NO_AUTHSERV_ID in policy.trusted_authserv_ids
            seen_without_id = True
        else:
            authserv_id = header.authserv_id.lower()
            trusted = authserv_id != NO_AUTHSERV_ID and authserv_id in policy.trusted_authserv_ids
        read.headers.append((header, trusted))
        if trusted:
            for result in header.results:
                if result.result != "pass" and (result.method != "spf" or result.get("smtp.mailfrom")):
                    read.not_passed.add((_id_key(header.authserv_id), result.method))
    return read


def _gateway_label(authserv_id: str | None) -> str:
    if authserv_id is None:
        return "the council's gateway (Authentication-Results without authserv-id)"
    return f"the council's gateway ({_shown_id(authserv_id)})"


def _aligned_internal(domain: str, from_domain: str, policy: AuthPolicy) -> bool:
    """An spf/dkim pass domain that proves a council From domain: the same domain or a parent, and the council's."""
    return (domain == from_domain or from_domain.endswith("." + domain)) and _within(domain, policy.internal_domains)


def _assess(mail: ParsedMail, policy: AuthPolicy) -> Authenticity:
    address, names, problems = _read_from(mail)
    if address is None:
        return _no(*problems)
    from_domain = _domain(address)
    shown_from = _shown_domain(from_domain)

    reasons = _sender_problems(mail, address)
    for name in names:
        for other in _addresses_in_name(name):
            if other != address:
                reasons.append(f"the From display name contains another address, {_shown_address(other)}")

    read = _read_authentication_results(mail, policy)
    reasons += read.problems
    for header, trusted in read.headers:
        for result in header.results:
            if _fails_for(result, from_domain):
                reasons.append(f"{result.method}={result.result} for {shown_from} reported by "
                               f"{_gateway_label(header.authserv_id) if trusted else _shown_id(header.authserv_id)}")
            if trusted and result.method == "dmarc":
                for domain in _result_domains(result, for_failure=True):
                    if domain != from_domain:
                        reasons.append(f"{_gateway_label(header.authserv_id)} checked DMARC for "
                                       f"{_shown_domain(domain)}, not for the From domain {shown_from}")
    if reasons:
        return _no(*reasons)

    internal = _within(from_domain, policy.internal_domains)
    proofs: list[str] = []  # dmarc passes first
    dmarc_proofs = 0
    doubts: list[str] = []
    untrusted_passes: list[str] = []
    any_trusted = False
    for header, trusted in read.headers:
        any_trusted = any_trusted or trusted
        for result in header.results:
            if result.result != "pass" or result.method not in _METHODS_WITH_FAILURES:
                continue
            domains = set(_result_domains(result, for_failure=False))
            if len(domains) != 1:
                continue
            domain = domains.pop()
            if result.method == "dmarc":
                proves = domain == from_domain
            else:
                proves = internal and _aligned_internal(domain, from_domain, policy)
            if not proves:
                continue
            if not trusted:
                untrusted_passes.append(f"{result.method}=pass reported by {_shown_id(header.authserv_id)} "
                                        "does not count: not the council's gateway")
            elif read.contradicted(header.authserv_id, result.method):
                doubts.append(f"{_gateway_label(header.authserv_id)} reported both a pass and another result for "
                              f"{result.method}: the pass does not count")
            elif result.method == "dmarc":
                proofs.insert(dmarc_proofs, f"dmarc=pass for {shown_from} from {_gateway_label(header.authserv_id)}")
                dmarc_proofs += 1
            else:
                proofs.append(f"{result.method}=pass for {_shown_domain(domain)}, aligned with the council's From "
                              f"domain {shown_from}, from {_gateway_label(header.authserv_id)}")

    if internal and policy.trust_exchange_internal:
        auth_as = [value.strip().lower() for value in mail.header_all(_AUTH_AS)]
        if auth_as and all(value == "internal" for value in auth_as):
            proofs.append("X-MS-Exchange-Organization-AuthAs: Internal, from a council domain")
    if not internal and policy.external_requires == "none" and not proofs:
        proofs.append("an external sender accepted without proof (external_requires = none: tests and trials only)")
    if internal and policy.internal_requires == "none" and not proofs:
        proofs.append("a council sender accepted without proof (internal_requires = none: tests and trials only)")
    if proofs:
        return Authenticity(True, address, tuple(dict.fromkeys(proofs)))

    if not any_trusted:
        reasons.append("no Authentication-Results from the council's gateway")
    elif internal:
        reasons.append(f"the council's gateway reported no dmarc=pass for {shown_from}, and no spf=pass or dkim=pass "
                       "aligned with it")
    else:
        reasons.append(f"the council's gateway reported no dmarc=pass for {shown_from}")
    if internal and policy.trust_exchange_internal:
        reasons.append("no X-MS-Exchange-Organization-AuthAs: Internal")
    return _no(*reasons, *doubts, *untrusted_passes)


def assess(mail: ParsedMail, policy: AuthPolicy) -> Authenticity:
    """Whether ``mail`` proves its From address under ``policy``; the rules are in the module docstring.

    Never raises: a mail that cannot be assessed is unauthenticated.
    """
    try:
        return _assess(mail, policy)
    except Exception as exc:  # a bug must not stop the mailbox, nor let a mail through
        return _no(f"the mail could not be assessed ({type(exc).__name__})")
