"""Repositories and the unit of work: references, idempotent identities, matching queries, outbox, cursors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError

from store.models import Message, Stage, format_reference, parse_reference
from store.uow import Store

from .builders import NOW, make_escalation, make_message

# ------------------------------------------------------------------------------------------------ references


def test_references_are_allocated_from_the_id(store: Store) -> None:
    with store.unit_of_work() as uow:
        first = make_escalation(uow)
        second = make_escalation(uow, case="999")
        assert (first.reference, second.reference) == ("ESC-0001", "ESC-0002")
    with store.unit_of_work() as uow:
        assert [e.reference for e in uow.escalations.list()] == ["ESC-0001", "ESC-0002"]


@pytest.mark.parametrize("written", ["ESC-0002", "esc-2", "Esc-02", "[ESC-0002]", " esc 2 ", "2"])
def test_get_accepts_references_as_people_write_them(store: Store, written: str) -> None:
    with store.unit_of_work() as uow:
        make_escalation(uow)
        make_escalation(uow, case="999")
    with store.unit_of_work() as uow:
        found = uow.escalations.get(written)
        assert found is not None and found.reference == "ESC-0002"


@pytest.mark.parametrize("written", ["ESC-0003", "ESC-", "ESCALATION", "", "ESC-0000"])
def test_get_unknown_or_malformed_reference_is_none(store: Store, written: str) -> None:
    with store.unit_of_work() as uow:
        make_escalation(uow)
        make_escalation(uow, case="999")
    with store.unit_of_work() as uow:
        assert uow.escalations.get(written) is None


@given(st.integers(min_value=1, max_value=10**9))
def test_reference_round_trip(number: int) -> None:
    ref = format_reference(number)
    assert ref.startswith("ESC-") and len(ref) >= 8
    assert parse_reference(ref) == number
    assert parse_reference(ref.lower()) == number


def test_current_stage_is_the_latest(store: Store) -> None:
    with store.unit_of_work() as uow:
        esc = make_escalation(uow)
        first = esc.current_stage
        assert first is not None and first.level == 1
        first.outcome = "escalated"
        later = Stage(escalation=esc, level=2, role="Service Manager", copied=[], started_at=NOW,
                      started_on=NOW.date())
        uow.session.add(later)
        assert esc.current_stage is later  # before it has an id
        pk = esc.id
    with store.unit_of_work() as uow:
        loaded = uow.escalations.get_by_id(pk)
        assert loaded is not None and loaded.current_stage is not None
        assert [s.level for s in loaded.stages] == [1, 2]
        assert loaded.current_stage.level == 2 and loaded.current_stage.outcome is None


# ------------------------------------------------------------------------------------------------ messages


def test_message_identity_is_unique(store: Store) -> None:
    with store.unit_of_work() as uow:
        make_message(uow, "abc@mail.council.gov.uk", state="recorded")
    with pytest.raises(IntegrityError), store.unit_of_work() as uow:
        make_message(uow, "abc@mail.council.gov.uk", state="recorded")
    with store.unit_of_work() as uow:
        found = uow.messages.get_by_identity("abc@mail.council.gov.uk")
        assert found is not None and found.state == "recorded"
        assert uow.messages.get_by_identity("fingerprint:00") is None
        assert uow.session.query(Message).count() == 1


def test_unit_of_work_rolls_back_on_exception(store: Store) -> None:
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        make_escalation(uow)
        raise RuntimeError("boom")
    with store.unit_of_work() as uow:
        assert uow.escalations.list() == []


def test_find_escalation_by_message_ids_in_out_and_outbox(store: Store) -> None:
    with store.unit_of_work() as uow:
        a = make_escalation(uow, case="1")
        b = make_escalation(uow, case="2")
        make_message(uow, "in-a@x", escalation=a)
        make_message(uow, "out-b@x", escalation=b, direction="out", kind="bot")
        make_message(uow, "stray@x", state="attention")
        uow.outbox.add(key="ESC-0001.l1.chase1", message_id="<chase-a@bot>", kind="chase",
                       from_email="bot@council.gov.uk", to_emails=["tm@council.gov.uk"], subject="s",
                       body_text="b", escalation=a)
    with store.unit_of_work() as uow:
        find = uow.messages.find_escalation_for_message_ids
        assert find(["<in-a@x>"]).reference == "ESC-0001"  # type: ignore[union-attr]
        assert find(["out-b@x"]).reference == "ESC-0002"  # type: ignore[union-attr]
        assert find(["chase-a@bot"]).reference == "ESC-0001"  # type: ignore[union-attr]
        assert find(["<unknown@x>", "<out-b@x>", "<in-a@x>"]).reference == "ESC-0002"  # type: ignore[union-attr]
        assert find(["stray@x"]) is None  # known, but belongs to no escalation
        assert find(["nothing@x"]) is None
        assert find([]) is None


def test_attention_lists_only_mails_needing_a_person(store: Store) -> None:
    with store.unit_of_work() as uow:
        esc = make_escalation(uow)
        make_message(uow, "late@x", state="attention", received_at=NOW + timedelta(hours=1))
        make_message(uow, "early@x", state="attention", received_at=NOW - timedelta(hours=1))
        make_message(uow, "fine@x", escalation=esc)
    with store.unit_of_work() as uow:
        assert [m.identity for m in uow.messages.attention()] == ["early@x", "late@x"]


# ------------------------------------------------------------------------------------------------ escalations


def test_find_by_conversation_key_own_key_then_messages(store: Store) -> None:
    with store.unit_of_work() as uow:
        own = make_escalation(uow, case="1", conversation_key="AAAA")
        other = make_escalation(uow, case="2")
        make_message(uow, "reply@x", escalation=other, conversation_key="BBBB")
        closed = make_escalation(uow, case="3", status="closed", conversation_key="AAAA",
                                 opened_at=NOW + timedelta(days=1))
        assert closed.id != own.id
    with store.unit_of_work() as uow:
        assert uow.escalations.find_by_conversation_key("AAAA").reference == "ESC-0001"  # type: ignore[union-attr]
        assert uow.escalations.find_by_conversation_key("BBBB").reference == "ESC-0002"  # type: ignore[union-attr]
        assert uow.escalations.find_by_conversation_key("CCCC") is None
        assert uow.escalations.find_by_conversation_key("") is None


def test_find_open_by_case_numbers(store: Store) -> None:
    with store.unit_of_work() as uow:
        make_escalation(uow, case="123456", opened_at=NOW - timedelta(days=3))
        make_escalation(uow, case="123456", opened_at=NOW)
        make_escalation(uow, case="123456", status="closed")
        make_escalation(uow, case="ab77")
    with store.unit_of_work() as uow:
        found = uow.escalations.find_open_by_case_numbers(["123456"])
        assert [e.reference for e in found] == ["ESC-0002", "ESC-0001"]  # most recently opened first
        spaced = uow.escalations.find_open_by_case_numbers([" AB77 ", "0"])
        assert [e.reference for e in spaced] == ["ESC-0004"]
        assert uow.escalations.find_open_by_case_numbers(["555"]) == []
        assert uow.escalations.find_open_by_case_numbers([]) == []
        open_ones = uow.escalations.list(open_only=True)
        assert [e.reference for e in open_ones] == ["ESC-0001", "ESC-0002", "ESC-0004"]


def test_json_lists_track_in_place_changes(store: Store) -> None:
    with store.unit_of_work() as uow:
        esc = make_escalation(uow)
        pk = esc.id
    with store.unit_of_work() as uow:
        esc = uow.escalations.get_by_id(pk)
        assert esc is not None
        esc.themes.append("care planning")
    with store.unit_of_work() as uow:
        esc = uow.escalations.get_by_id(pk)
        assert esc is not None and esc.themes == ["care planning"]
        assert esc.case_number_values == ["123456"]


# -------------------------------------------------------------------------------------------- cursors, outbox


def test_cursors_get_and_set(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert uow.cursors.get("imap:inbox") is None
        uow.cursors.set("imap:inbox", "17:100")
    with store.unit_of_work() as uow:
        assert uow.cursors.get("imap:inbox") == "17:100"
        uow.cursors.set("imap:inbox", "17:101")
    with store.unit_of_work() as uow:
        assert uow.cursors.get("imap:inbox") == "17:101"


def _queue(uow, key: str, **extra):  # type: ignore[no-untyped-def]
    return uow.outbox.add(key=key, message_id=f"<{key}@bot.council.gov.uk>", kind="chase",
                          from_email="bot@council.gov.uk", to_emails=["tm@council.gov.uk"],
                          subject="Reminder", body_text="Please reply.", **extra)


def test_outbox_add_is_idempotent_by_key(store: Store) -> None:
    with store.unit_of_work() as uow:
        esc = make_escalation(uow)
        first = _queue(uow, "ESC-0001.l1.chase1", escalation=esc)
        again = _queue(uow, "ESC-0001.l1.chase1", escalation=esc)
        assert again is first
        assert first.message_id == "ESC-0001.l1.chase1@bot.council.gov.uk"
    with store.unit_of_work() as uow:
        again = _queue(uow, "ESC-0001.l1.chase1")
        assert again.id == first.id and again.escalation_id == first.escalation_id
        assert len(uow.outbox.pending(NOW)) == 1


def test_outbox_pending_sent_failed_and_retry(store: Store) -> None:
    with store.unit_of_work() as uow:
        a = _queue(uow, "a")
        b = _queue(uow, "b", created_at=NOW + timedelta(seconds=1))
        _queue(uow, "later", next_attempt_at=NOW + timedelta(hours=1))
        assert [m.key for m in uow.outbox.pending(NOW)] == ["a", "b"]
        uow.outbox.mark_sent(a)
        uow.outbox.mark_failed(b, "421 try later", retry_at=NOW + timedelta(minutes=5))
    with store.unit_of_work() as uow:
        assert [m.key for m in uow.outbox.pending(NOW)] == []
        due = uow.outbox.pending(NOW + timedelta(hours=2))
        assert [m.key for m in due] == ["later", "b"]  # oldest first
        assert due[1].attempts == 1 and due[1].last_error == "421 try later"
        uow.outbox.mark_failed(due[1], "550 no such user")
        uow.outbox.mark_refused(due[0], "recipient outside the council's domains")
    with store.unit_of_work() as uow:
        sent = uow.outbox.get("a")
        assert sent is not None and sent.status == "sent" and sent.sent_at == NOW and sent.attempts == 1
        assert [uow.outbox.get(k).status for k in ("b", "later")] == ["failed", "refused"]  # type: ignore[union-attr]
        assert uow.outbox.pending(NOW + timedelta(days=1)) == []
