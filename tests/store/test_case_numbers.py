"""The case-number index (revision 0005): ``escalation_case_numbers`` holds the normalised numbers of every record's
``case_numbers`` whichever way the ORM writes it, the purge takes it along, revision 0005 fills it for the records
from before it, and ``find_open_by_case_numbers`` answers from it — as the old filter over every record did — by the
number index, not by reading the open records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, delete, event, func, insert, select, update

from store import migrate
from store.database import make_engine
from store.errors import StoreError
from store.models import Escalation, EscalationCaseNumber, Stage, case_number_keys
from store.retention import purge
from store.uow import Store, UnitOfWork

from .builders import NOW, make_escalation


def _index(uow: UnitOfWork) -> dict[int, set[str]]:
    """What ``escalation_case_numbers`` holds, by escalation id."""
    found: dict[int, set[str]] = {}
    for escalation_id, number in uow.session.execute(
            select(EscalationCaseNumber.escalation_id, EscalationCaseNumber.number)):
        found.setdefault(escalation_id, set()).add(number)
    return found


def _stored(uow: UnitOfWork) -> dict[int, set[str]]:
    """The normalised numbers of what each row's ``case_numbers`` column holds (read as columns, not objects: what
    the database has, whatever an object in the session says)."""
    found: dict[int, set[str]] = {}
    for escalation_id, cases in uow.session.execute(select(Escalation.id, Escalation.case_numbers)):
        numbers = {str(c["number"]).strip().upper() for c in cases or []
                   if c.get("number") and str(c["number"]).strip()}
        if numbers:
            found[escalation_id] = numbers
    return found


def _cases(*numbers: str) -> list[dict[str, Any]]:
    return [{"number": n, "system": "MOSAIC"} for n in numbers]


# ------------------------------------------------------------------------------------ the rows follow the records


def test_an_inserted_record_gets_its_normalised_numbers_once(store: Store) -> None:
    with store.unit_of_work() as uow:
        one = make_escalation(uow, case=" ab77 ")
        one.case_numbers = [*_cases(" ab77 ", "AB77", "\t123\n", "  "), {"system": "LCS"}, {"number": None}]
        two = make_escalation(uow, case="123")
        none = make_escalation(uow)
        none.case_numbers = []
        ids = one.id, two.id, none.id
    with store.unit_of_work() as uow:
        assert _index(uow) == {ids[0]: {"AB77", "123"}, ids[1]: {"123"}}
        assert _index(uow) == _stored(uow)


def test_the_rows_follow_assignment_and_in_place_changes(store: Store) -> None:
    with store.unit_of_work() as uow:
        pk = make_escalation(uow, case="111").id
    with store.unit_of_work() as uow:  # a number added in place (the MutableList flags the column)
        esc = uow.escalations.get_by_id(pk)
        assert esc is not None
        esc.case_numbers.append({"number": " 222 ", "system": "LCS"})
    with store.unit_of_work() as uow:
        assert _index(uow) == {pk: {"111", "222"}}
        esc = uow.escalations.get_by_id(pk)
        assert esc is not None
        esc.case_numbers.pop(0)  # one removed in place
        uow.flush()
        assert _index(uow) == {pk: {"222"}}
        esc.case_numbers = _cases("333", "444")  # a new list
        uow.flush()
        assert _index(uow) == {pk: {"333", "444"}}
        esc.case_numbers[0] = {"number": "555"}  # an item replaced in place
        uow.flush()
        assert _index(uow) == {pk: {"555", "444"}}
        esc.case_numbers = []
        uow.flush()
        assert _index(uow) == {}
        esc.case_numbers = _cases("666")
    with store.unit_of_work() as uow:
        assert _index(uow) == {pk: {"666"}} == _stored(uow)


def test_a_dict_changed_inside_the_list_is_neither_written_nor_indexed(store: Store) -> None:
    """SQLAlchemy does not see a change inside an item of the list: the column keeps its value, and so does the
    index — they agree with each other, which is what matching needs."""
    with store.unit_of_work() as uow:
        pk = make_escalation(uow, case="111").id
    with store.unit_of_work() as uow:
        esc = uow.escalations.get_by_id(pk)
        assert esc is not None
        esc.case_numbers[0]["number"] = "999"
        esc.status = "closed"
    with store.unit_of_work() as uow:
        assert _index(uow) == _stored(uow) == {pk: {"111"}}


def test_other_changes_leave_the_rows_alone(store: Store) -> None:
    with store.unit_of_work() as uow:
        pk = make_escalation(uow, case="111").id
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with store.unit_of_work() as uow:
        esc = uow.escalations.get_by_id(pk)
        assert esc is not None
        esc.status, esc.themes = "closed", ["care planning"]
        esc.stages.append(Stage(level=2, role="Head of Service", started_at=NOW, started_on=NOW.date()))
    assert not [s for s in statements if "escalation_case_numbers" in s]
    with store.unit_of_work() as uow:
        assert _index(uow) == {pk: {"111"}}


def test_deleting_a_record_through_the_orm_deletes_its_rows(store: Store) -> None:
    with store.unit_of_work() as uow:
        gone = make_escalation(uow, case="111")
        kept = make_escalation(uow, case="111")
        uow.flush()
        uow.session.delete(gone)
    with store.unit_of_work() as uow:
        assert _index(uow) == {kept.id: {"111"}}


def test_the_foreign_key_cascades_a_plain_delete(store: Store) -> None:
    with store.unit_of_work() as uow:
        pk = make_escalation(uow, case="111").id
        uow.session.execute(delete(Stage.__table__))
    with store.engine.begin() as connection:
        connection.execute(delete(Escalation.__table__))
        assert connection.execute(select(EscalationCaseNumber.__table__)).all() == []
    assert pk


@pytest.mark.parametrize("enforced", [True, False], ids=["foreign-keys-on", "foreign-keys-off"])
def test_the_purge_takes_the_rows_of_the_records_it_deletes(db_url: str, enforced: bool) -> None:
    """By the foreign key's cascade, and by its own DELETE where the database does not enforce foreign keys (an
    engine made without :func:`store.database.make_engine`)."""
    engine = make_engine(db_url) if enforced else create_engine(db_url)
    store = Store(engine, clock=lambda: NOW)
    try:
        with store.unit_of_work() as uow:
            old = make_escalation(uow, case="111", status="closed", opened_at=NOW - timedelta(days=400),
                                  closed_at=NOW - timedelta(days=400), outcome="resolved")
            recent = make_escalation(uow, case="111", status="closed", closed_at=NOW - timedelta(days=3),
                                     outcome="resolved")
            still_open = make_escalation(uow, case="222")
        with store.unit_of_work() as uow:
            report = purge(uow, closed_before=NOW - timedelta(days=365), unmatched_before=NOW - timedelta(days=30))
            assert report.escalations == 1
        with store.unit_of_work() as uow:
            assert _index(uow) == {recent.id: {"111"}, still_open.id: {"222"}}
            assert old.id not in _index(uow)
    finally:
        store.dispose()


@pytest.mark.parametrize("statement", [
    update(Escalation).values(case_numbers=[]),
    update(Escalation.__table__).values(case_numbers=[]),
    update(Escalation).values(status="closed", case_numbers=func.json("[]")),
    insert(Escalation).values(status="open", policy_key="p", current_level=1, opened_at=NOW, updated_at=NOW),
], ids=["orm-update", "core-update", "sql-value", "insert"])
def test_bulk_statements_that_would_bypass_the_index_are_refused(store: Store, statement: Any) -> None:
    with store.unit_of_work() as uow:
        pk = make_escalation(uow, case="111").id
    with pytest.raises(StoreError), store.unit_of_work() as uow:
        uow.session.execute(statement)
    with pytest.raises(StoreError), store.unit_of_work() as uow:
        uow.session.execute(update(Escalation), [{"id": pk, "case_numbers": []}])  # bulk by primary key
    with store.unit_of_work() as uow:  # other bulk updates are none of the index's business
        uow.session.execute(update(Escalation).values(subject="changed")
                            .where(Escalation.case_numbers.is_not(None)))
        uow.session.execute(update(Escalation), [{"id": pk, "themes": ["care planning"]}])
    with store.unit_of_work() as uow:
        assert _index(uow) == _stored(uow) == {pk: {"111"}}


# ---------------------------------------------------------------------------- the look-up against a brute force

NUMBERS = st.sampled_from(["123456", " 123456", "ab77", "AB77", " aB77\t", "9", "09", "x-1", "X-1 ", "", "  "])
CASES = st.lists(st.one_of(st.fixed_dictionaries({"number": NUMBERS, "system": st.just("MOSAIC")}),
                           st.just({"system": "LCS"})), max_size=3)
RECORDS = st.lists(st.tuples(CASES, st.booleans(), st.integers(0, 3)), min_size=1, max_size=10)
CHANGES = st.lists(st.tuples(st.integers(0, 9), st.one_of(st.none(), CASES), st.booleans()), max_size=6)
QUERIES = st.lists(st.lists(NUMBERS, max_size=3), min_size=1, max_size=4)


def _brute_force(uow: UnitOfWork, query: list[str]) -> list[str]:
    """The old way: every record, its numbers filtered in Python."""
    wanted = {n.strip().upper() for n in query if n.strip()}
    found = [esc for esc in uow.escalations.list() if esc.status == "open"
             and wanted & {str(c["number"]).strip().upper() for c in esc.case_numbers or [] if c.get("number")}]
    found.sort(key=lambda e: (e.opened_at, e.id), reverse=True)
    return [str(e.reference) for e in found]


@pytest.fixture
def fresh_store(tmp_path_factory: pytest.TempPathFactory, migrated_template: bytes) -> Iterator[Any]:
    made: list[Store] = []

    def make() -> Store:
        path = tmp_path_factory.mktemp("prop") / "bot.sqlite3"
        path.write_bytes(migrated_template)
        path.chmod(0o600)
        made.append(Store(f"sqlite:///{path}", clock=lambda: NOW))
        return made[-1]

    yield make
    for store in made:
        store.dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=RECORDS, changes=CHANGES, queries=QUERIES)
def test_the_look_up_finds_what_a_filter_over_every_record_finds(
        fresh_store: Any, records: list[tuple[list[dict[str, Any]], bool, int]],
        changes: list[tuple[int, list[dict[str, Any]] | None, bool]], queries: list[list[str]]) -> None:
    store = fresh_store()
    with store.unit_of_work() as uow:
        for cases, is_open, days in records:
            esc = make_escalation(uow, status="open" if is_open else "closed", opened_at=NOW - timedelta(days=days))
            esc.case_numbers = cases
    with store.unit_of_work() as uow:  # numbers and statuses changed later, some records more than once
        everything = uow.escalations.list()
        for index, cases, close in changes:
            esc = everything[index % len(everything)]
            if cases is not None:
                esc.case_numbers = cases
            if close:
                esc.status = "closed" if esc.status == "open" else "open"
    with store.unit_of_work() as uow:
        assert _index(uow) == _stored(uow)
        for query in queries:
            found = [str(e.reference) for e in uow.escalations.find_open_by_case_numbers(query)]
            assert found == _brute_force(uow, query)


# ------------------------------------------------------------------------------------ what the look-up costs


def test_the_look_up_reads_the_number_index_not_the_open_records(store: Store) -> None:
    with store.unit_of_work() as uow:
        for n in range(2000):
            uow.session.add(Escalation(status="open", policy_key="dorset", case_numbers=_cases(str(100000 + n)),
                                       current_level=1, opened_at=NOW - timedelta(minutes=n), updated_at=NOW))
        uow.flush()
        uow.session.add(Escalation(status="closed", policy_key="dorset", case_numbers=_cases("101000"),
                                   current_level=1, opened_at=NOW, updated_at=NOW))
        uow.session.add(Escalation(status="open", policy_key="dorset", case_numbers=_cases(" 101000 ", "77"),
                                   current_level=1, opened_at=NOW - timedelta(days=30), updated_at=NOW))
    statements: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if not statement.startswith("BEGIN"):
            statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", seen)
    with store.unit_of_work() as uow:
        found = uow.escalations.find_open_by_case_numbers(["101000", "77", "nothing"])
        assert [e.opened_at for e in found] == [NOW - timedelta(minutes=1000), NOW - timedelta(days=30)]
        assert all(e.status == "open" for e in found)
        loaded = [o for o in uow.session.identity_map.values() if isinstance(o, Escalation)]
        assert sorted(e.id for e in loaded) == sorted(e.id for e in found)
    event.remove(store.engine, "before_cursor_execute", seen)

    reads = [(s, p) for s, p in statements if "FROM escalations" in s]
    assert len(reads) == 1, [s for s, _p in statements]
    statement, parameters = reads[0]
    assert "escalation_case_numbers" in statement and "escalation_case_numbers.number IN" in statement
    assert [s for s, _p in statements if s is not statement and "FROM stages" not in s] == []
    with store.engine.connect() as connection:
        plan = [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    assert not [step for step in plan if step.startswith("SCAN") or step.endswith("(status=?)")], plan  # no walk
    assert any("ix_escalation_case_numbers_number" in step for step in plan), plan


# ------------------------------------------------------------------------------------------------ revision 0005


def test_revision_0005_fills_the_index_for_the_records_before_it_and_goes_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    old = [  # (id, status, case_numbers as the JSON an older bot wrote)
        (1, "open", [{"number": "123456", "system": "MOSAIC"}]),
        (2, "open", [{"number": " ab77 ", "system": "MOSAIC"}, {"number": "AB77", "system": "LCS"},
                     {"number": "  "}, {"system": "LCS"}, {"number": "9", "system": "LCS"}]),
        (3, "closed", [{"number": "123456", "system": "MOSAIC"}]),
        (4, "open", []),
    ]
    try:
        migrate.upgrade(engine, "0004")
        with engine.begin() as connection:
            for pk, status, cases in old:
                connection.exec_driver_sql(
                    "INSERT INTO escalations (id, reference, status, policy_key, children, case_numbers, themes,"
                    " current_level, opened_at, updated_at, facts) VALUES (?, ?, ?, 'dorset', '[]', ?, '[]', 1, ?,"
                    " '2026-11-24 09:00:00.000000', '{}')",
                    (pk, f"ESC-{pk:04d}", status, json.dumps(cases), f"2026-11-2{pk} 09:00:00.000000"))
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.HEAD
        with engine.connect() as connection:
            rows = set(connection.exec_driver_sql("SELECT escalation_id, number FROM escalation_case_numbers").all())
        assert rows == {(1, "123456"), (2, "AB77"), (2, "9"), (3, "123456")}
        assert {(pk, n) for pk, _s, cases in old for n in case_number_keys(cases)} == rows  # the models agree

        store = Store(engine, clock=lambda: NOW)
        with store.unit_of_work() as uow:
            assert [e.reference for e in uow.escalations.find_open_by_case_numbers(["123456", "ab77"])] == [
                "ESC-0002", "ESC-0001"]

        from alembic import command

        with engine.begin() as connection:
            config = migrate.alembic_config(engine)
            config.attributes["connection"] = connection
            command.downgrade(config, "0004")
        with engine.connect() as connection:
            tables = {r[0] for r in connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "escalation_case_numbers" not in tables and "escalations" in tables
        migrate.upgrade(engine)  # and up again: the same rows
        with engine.connect() as connection:
            again = set(connection.exec_driver_sql("SELECT escalation_id, number FROM escalation_case_numbers").all())
        assert again == rows
    finally:
        engine.dispose()


@pytest.mark.integration
def test_on_postgresql_the_revision_fills_the_index_and_the_orm_keeps_it(postgres_url: str) -> None:
    """The same on PostgreSQL (JSON, RETURNING, its own cascade): back-fill, schema equal to the models, the rows
    following inserts, changes and the purge, and the look-up."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import JSON, Integer, String, column, table

    from store.models import Base

    engine = make_engine(postgres_url)
    try:
        migrate.upgrade(engine, "0004")
        old = table("escalations", column("id", Integer), column("reference", String), column("status", String),
                    column("policy_key", String), column("children", JSON), column("case_numbers", JSON),
                    column("themes", JSON), column("current_level", Integer), column("opened_at"),
                    column("updated_at"), column("facts", JSON))
        with engine.begin() as connection:
            connection.execute(insert(old), [
                {"id": pk, "reference": f"ESC-{pk:04d}", "status": "open", "policy_key": "dorset", "children": [],
                 "case_numbers": cases, "themes": [], "current_level": 1, "opened_at": NOW - timedelta(days=pk),
                 "updated_at": NOW, "facts": {}}
                for pk, cases in ((1, _cases(" ab77 ", "AB77")), (2, _cases("123456", "  ")), (3, []))])
            connection.exec_driver_sql("SELECT setval('escalations_id_seq', 3)")
        migrate.upgrade(engine)
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                    Base.metadata) == []
        store = Store(engine, clock=lambda: NOW)
        with store.unit_of_work() as uow:
            assert _index(uow) == {1: {"AB77"}, 2: {"123456"}}
            added = make_escalation(uow, case=" 123456 ", status="closed", closed_at=NOW - timedelta(days=400),
                                    outcome="resolved")
            esc = uow.escalations.get_by_id(1)
            assert esc is not None
            esc.case_numbers.append({"number": "123456"})
        with store.unit_of_work() as uow:
            assert _index(uow) == _stored(uow) == {1: {"AB77", "123456"}, 2: {"123456"}, added.id: {"123456"}}
            assert [e.reference for e in uow.escalations.find_open_by_case_numbers(["123456"])] == [
                "ESC-0001", "ESC-0002"]
            purge(uow, closed_before=NOW - timedelta(days=365), unmatched_before=NOW - timedelta(days=30))
        with store.unit_of_work() as uow:
            assert _index(uow) == {1: {"AB77", "123456"}, 2: {"123456"}}
    finally:
        engine.dispose()
