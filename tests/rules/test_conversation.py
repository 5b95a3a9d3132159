"""rules.conversation: which mail a bot mail replies to, References, and Outlook's Thread-Index — pure."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from rules.conversation import (
    Mail,
    child_index,
    filetime,
    header_time,
    new_index,
    thread_for,
    topic,
    valid_id,
)

T0 = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
IRO, TM, SM, QA = "iro@example.test", "tm@example.test", "sm@example.test", "qa@example.test"
EXCHANGE_ID = "LO2P265MB7856DEE2A1B3C4D5E6F7A8B9C0D1E2F3A4B5@LO2P265MB7856.GBRP265.PROD.OUTLOOK.COM"
# Exchange Online's Thread-Index of a new conversation (modern variant: 0x01, FILETIME >> 24, GUID)
EXCHANGE_INDEX = "AQHbXq1wq3QzFZ5pRkKX0bJ1vYwC0w=="


def mail(n: int, *people: str, kind: str = "human", state: str = "matched", index: str | None = None,
         subject: str | None = None, mid: str | None = None) -> Mail:
    return Mail(message_id=mid or f"m{n}@example.test", at=T0 + timedelta(hours=n), kind=kind, state=state,
                people=frozenset(people), thread_index=index, subject=subject)


def test_first_mail_to_a_newcomer_answers_the_iros_mail() -> None:
    mails = [mail(0, IRO, TM, QA, subject="Action - Level 1 escalation - Jane Doe", mid=EXCHANGE_ID),
             mail(1, "bot@example.test", TM, kind="bot")]
    thread = thread_for(mails, [SM], now=T0 + timedelta(days=3), seed="ESC-0001@example.test")
    assert thread is not None
    assert thread.in_reply_to == EXCHANGE_ID and thread.references == (EXCHANGE_ID,)
    assert thread.thread_topic == "Action - Level 1 escalation - Jane Doe"


def test_chaser_answers_the_bots_previous_mail_to_that_person() -> None:
    mails = [mail(0, IRO, TM), mail(1, "bot@example.test", TM, kind="bot"), mail(2, IRO, QA)]
    thread = thread_for(mails, [TM], now=T0 + timedelta(days=1), seed="s")
    assert thread is not None and thread.in_reply_to == "m1@example.test"
    assert thread.references == ("m0@example.test", "m1@example.test")


def test_machine_mail_and_mail_kept_for_attention_are_never_replied_to() -> None:
    mails = [mail(0, IRO, TM), mail(1, TM, IRO, kind="auto_reply"), mail(2, TM, kind="bounce"),
             mail(3, "x@evil.example", TM, state="attention"), mail(4, TM, kind="unreadable")]
    thread = thread_for(mails, [TM], now=T0 + timedelta(days=1), seed="s")
    assert thread is not None and thread.in_reply_to == "m0@example.test" and thread.references == ("m0@example.test",)


def test_no_mail_to_reply_to() -> None:
    assert thread_for([], [TM], now=T0, seed="s") is None
    assert thread_for([mail(0, TM, kind="auto_reply")], [TM], now=T0, seed="s") is None


def test_malformed_ids_never_reach_a_header() -> None:
    for bad in ("a b@x", "<a@x>", "a@x\r\nBcc: evil@x", "é@x", "x" * 251, ""):
        assert not valid_id(bad)
    assert valid_id(EXCHANGE_ID) and len(EXCHANGE_ID) > 78
    mails = [mail(0, IRO, TM, mid="bad id@x"), mail(1, IRO, TM)]
    thread = thread_for(mails, [TM], now=T0 + timedelta(days=1), seed="s")
    assert thread is not None and thread.references == ("m1@example.test",)


def test_topic_drops_prefixes_and_the_bots_tag() -> None:
    assert topic("RE: FW:  [ESC-0042] Action - Level 2 escalation") == "Action - Level 2 escalation"
    assert topic("Fwd: AW: Re:Level 1") == "Level 1"
    assert topic("") is None and topic("RE:") is None


def test_thread_index_extends_the_parents_conversation() -> None:
    mails = [mail(0, IRO, TM, index=EXCHANGE_INDEX)]
    thread = thread_for(mails, [TM], now=T0 + timedelta(days=2), seed="s")
    assert thread is not None
    raw = base64.b64decode(thread.thread_index)
    assert raw[:22] == base64.b64decode(EXCHANGE_INDEX) and len(raw) == 27


def test_without_any_thread_index_the_record_gets_one_conversation_of_its_own() -> None:
    mails = [mail(0, IRO, TM)]
    first = thread_for(mails, [TM], now=T0 + timedelta(days=1), seed="ESC-0001@example.test", opened=T0)
    second = thread_for([*mails, mail(30, "bot@example.test", SM, kind="bot")], [SM],
                        now=T0 + timedelta(days=3), seed="ESC-0001@example.test", opened=T0)
    other = thread_for(mails, [TM], now=T0 + timedelta(days=1), seed="ESC-0002@example.test", opened=T0)
    assert first is not None and second is not None and other is not None
    root = base64.b64decode(first.thread_index)[:22]
    assert base64.b64decode(second.thread_index)[:22] == root != base64.b64decode(other.thread_index)[:22]


def test_header_time_reads_both_variants() -> None:
    moment = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
    modern = new_index(moment, "seed")
    assert abs(header_time(modern) - filetime(moment)) < 1 << 24  # type: ignore[operator]
    classic = base64.b64encode((filetime(moment) >> 16).to_bytes(6, "big") + bytes(16)).decode()
    assert abs(header_time(classic) - filetime(moment)) < 1 << 16  # type: ignore[operator]
    assert header_time("not base64!") is None and header_time(base64.b64encode(b"\x01" * 10).decode()) is None


@given(st.integers(min_value=0, max_value=4 * 365 * 24 * 3600), st.text(max_size=20))
def test_child_block_time_grows_with_the_reply_time(seconds: int, salt: str) -> None:
    """The delta in a child block is the time since the conversation began, in Outlook's units: replies sent
    later never sort before earlier ones, and the block is always five bytes."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    base = new_index(start, "seed")
    early = base64.b64decode(child_index(base, start + timedelta(seconds=seconds), salt))
    later = base64.b64decode(child_index(base, start + timedelta(seconds=seconds + 60), salt))
    assert len(early) == len(later) == 27
    assert early[22:26] <= later[22:26] or early[22] & 0x80 < later[22] & 0x80


@given(st.lists(st.tuples(st.integers(0, 40), st.sampled_from(["human", "bot", "auto_reply", "bounce"]),
                          st.sampled_from(["matched", "attention"]),
                          st.sets(st.sampled_from([IRO, TM, SM, QA]), max_size=3)), max_size=15),
       st.sets(st.sampled_from([IRO, TM, SM, QA]), min_size=1, max_size=2))
def test_any_record_gives_well_formed_headers(rows: list[tuple[int, str, str, set[str]]],
                                              recipients: set[str]) -> None:
    mails = [mail(n, *people, kind=kind, state=state) for n, (_, kind, state, people) in enumerate(rows)]
    thread = thread_for(mails, sorted(recipients), now=T0 + timedelta(days=60), seed="s")
    usable = [m for m in mails if m.kind in ("human", "bot") and m.state != "attention"]
    if not usable:
        assert thread is None
        return
    assert thread is not None
    assert thread.in_reply_to in {m.message_id for m in usable}
    assert thread.references[-1] == thread.in_reply_to or thread.references == (thread.in_reply_to,)
    assert len(thread.references) <= 10 and len(set(thread.references)) == len(thread.references)
    assert all(valid_id(r) for r in thread.references)
    assert header_time(thread.thread_index) is not None
