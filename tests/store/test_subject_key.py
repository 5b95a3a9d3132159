"""Replies matched by subject (issue 14, "matching by index"): ``EscalationRepository.find_open_by_subject`` looks the
normalised subject up by the (status, subject_key) index — never a read of every open record — and still finds the
records from before revision 0006, whose key is NULL, by their subjects."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from store.models import Escalation, subject_key
from store.uow import Store

from .builders import NOW, make_escalation


def normalise(subject: str) -> str:  # the shell's parsers.subject.normalise_subject, in small (the store knows none)
    return " ".join(subject.casefold().removeprefix("re:").split())


def opened(store: Store, subject: str, *, status: str = "open", keyed: bool = True, days: int = 0) -> str:
    with store.unit_of_work() as uow:
        esc = make_escalation(uow, case=f"{abs(hash((subject, days))) % 10**6}", status=status,
                              opened_at=NOW + timedelta(days=days))
        esc.subject = subject
        esc.subject_key = subject_key(normalise(subject)) if keyed else None
        uow.commit()
        return str(esc.reference)


def found(store: Store, reply_subject: str) -> str | None:
    with store.unit_of_work() as uow:
        esc = uow.escalations.find_open_by_subject(normalise(reply_subject), normalise)
        return esc.reference if esc is not None else None


def test_the_first_opened_open_record_with_the_subject_is_found(store: Store) -> None:
    opened(store, "Action - Level 1 escalation - Jane Doe", status="closed", days=-3)
    first = opened(store, "Action - Level 1 escalation - Jane Doe", days=-2)
    opened(store, "Action - Level 1 escalation - Jane Doe", days=-1)
    opened(store, "Action - Level 1 escalation - John Roe", days=-4)
    assert found(store, "RE: action - level 1 escalation -   jane doe") == first
    assert found(store, "RE: Action - Level 1 escalation - Someone Else") is None


def test_records_from_before_the_key_are_found_by_their_subjects(store: Store) -> None:
    old = opened(store, "Action - Level 2 escalation - Sam Poe", keyed=False, days=-5)
    opened(store, "Action - Level 2 escalation - Sam Poe", days=-1)
    assert found(store, "RE: Action - Level 2 escalation - Sam Poe") == old  # the first opened, keyed or not
    assert found(store, "RE: something else") is None


def test_a_key_is_checked_against_the_subject(store: Store) -> None:
    """A key that matches while the subject does not (a collision, or a key written by another normalising) is not a
    match."""
    ref = opened(store, "Action - Level 1 escalation - Ann Moe")
    with store.unit_of_work() as uow:
        esc = uow.escalations.get(ref)
        assert esc is not None
        esc.subject_key = subject_key(normalise("RE: quite another subject"))
        uow.commit()
    assert found(store, "RE: quite another subject") is None


def test_the_look_up_reads_the_index_not_every_open_record(store: Store) -> None:
    with store.unit_of_work() as uow:
        for n in range(300):
            esc = make_escalation(uow, case=f"{700000 + n}")
            esc.subject_key = subject_key(normalise(esc.subject or ""))
        uow.commit()
    target = opened(store, "Action - Level 1 escalation - Kit Loe")
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    loaded: list[object] = []

    def on_load(target: object, context: object) -> None:
        loaded.append(target)

    event.listen(Escalation, "load", on_load)
    try:
        assert found(store, "RE: Action - Level 1 escalation - Kit Loe") == target
    finally:
        event.remove(Escalation, "load", on_load)
    [look_up] = [s for s in statements if "escalations.subject_key = " in s]  # and "... IS NULL", in one
    assert len(loaded) == 1  # the record found, no other
    with store.engine.connect() as connection:
        params = ("open", subject_key("x"), "open")
        plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + look_up, params))
    assert plan.count("USING INDEX ix_escalations_status_subject_key") == 2 and " SCAN " not in f" {plan} ", plan
