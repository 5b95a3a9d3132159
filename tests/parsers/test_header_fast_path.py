"""Header decoding takes short cuts; each must give what the email package's full parse gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.message import _decode_header_value, _decode_parsed, parse_addresses

ASCII = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=200)


@settings(max_examples=400)
@given(name=st.sampled_from(["thread-topic", "received", "x-mailer", "thread-index", "in-reply-to", "references",
                             "auto-submitted", "x-ms-exchange-organization-scl"]),
       raw=ASCII.filter(lambda v: "=?" not in v))
def test_plain_ascii_unstructured_headers_read_as_the_full_parse_reads_them(name: str, raw: str) -> None:
    defects: list[str] = []
    fast = _decode_header_value(name, raw, defects)
    full, full_defects = _decode_parsed.__wrapped__(name, raw)
    assert (fast, tuple(defects)) == (full, full_defects)


@settings(max_examples=200)
@given(name=st.sampled_from(["from", "to", "subject", "date", "message-id", "x-anything"]),
       raw=st.text(max_size=120) | st.sampled_from(["=?utf-8?q?Ren=C3=A9e?= <renee@hull.gov.uk>",
                                                    "=?x-unknown?q?abc?=", "a@b, c@d"]))
def test_remembered_values_give_the_same_text_and_defects_every_time(name: str, raw: str) -> None:
    first: list[str] = []
    second: list[str] = []
    assert _decode_header_value(name, raw, first) == _decode_header_value(name, raw, second)
    assert first == second  # the defects are reported for every mail, not only the first to carry the value


def test_long_values_are_not_remembered() -> None:
    value = ", ".join(f"person{n}@hull.gov.uk" for n in range(80))
    before = _decode_parsed.cache_info().currsize
    assert len(parse_addresses(value)) == 80
    _decode_header_value("to", value, [])
    assert _decode_parsed.cache_info().currsize == before
