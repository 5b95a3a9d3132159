"""Many open records, fast, for the tick and ingest benches: two records opened by the bot itself, then copied.

    ids = build_open_records(config, store_url, open_count=100_000, due_count=1_000)

The bot opens two template records the ordinary way (``Ingestor.ingest`` of an IRO's Level 1 escalation mail at
:data:`OPENED`): one whose subject date makes it due for escalation at :data:`TICK_AT`, one due weeks later (nothing
— no chaser, no escalation, no budget warning — falls due for it at :data:`TICK_AT`). Then every row the store holds
for a template (the record, its stage, its mail with the raw bytes, its events, its outbox rows, and the rows of any
other table that points at those, found by reflection) is copied with new ids, so a copy has whatever the bot's code
writes for a record — including columns and tables added after this bench was written. In each copy the record's
reference, case number, Message-ID and conversation key are replaced by new ones (in every text and JSON column), and
any other unique text column gets a suffix. ``due_count`` records are copies of the due template (it included); the
rest of the ``open_count`` are copies of the other (not opened when every record is to be due). Copies are written
with plain ``INSERT``s of the raw column values (SQLite), 2,000 records at a time.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _folder in (ROOT, ROOT / "bench"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from bench_mails import Conversation, outlook_escalation_mail  # noqa: E402

from tests.mailfactory import TM, Thread  # noqa: E402

OPENED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)  # Monday
DUE_BY = datetime(2026, 11, 9, 17, 0, tzinfo=UTC)  # 5 working days on: due
LATER_BY = datetime(2026, 12, 18, 17, 0, tzinfo=UTC)  # weeks away: nothing due at TICK_AT
TICK_AT = datetime(2026, 11, 11, 10, 0, tzinfo=UTC)  # Wednesday 10:00 London, 2 working days after DUE_BY
DUE_CASE, LATER_CASE = 987650, 876540


def template_mail(kind: str) -> bytes:
    """The IRO's escalation opening a template record (``kind``: "due" or "later")."""
    conv = Conversation(Thread("", seed=f"bench-tick-template-{kind}"))
    number = DUE_CASE if kind == "due" else LATER_CASE
    return outlook_escalation_mail(conv, level=1, child="Amelia Smith", number=number,
                                   due=DUE_BY if kind == "due" else LATER_BY, when=OPENED, to=TM,
                                   concern="The care plan has not been signed off and the review is overdue.",
                                   logo=False)


def open_templates(config: Any, store: Any, kinds: tuple[str, ...] = ("due", "later")) -> dict[str, int]:
    """Open the template records (due, later) through the bot's own ingest; their escalation ids by kind."""
    from sqlalchemy import select

    from mailbot.clock.tick import Ticker
    from mailbot.mail_in.ingest import Ingestor
    from store.models import Escalation

    ingestor = Ingestor(store, config, lambda: OPENED)
    ids = {}
    for kind in kinds:
        result = ingestor.ingest(template_mail(kind))
        if result.outcome != "opened":
            raise RuntimeError(f"the {kind} template was not opened: {result}")
        with store.unit_of_work() as uow:
            ids[kind] = uow.session.scalar(select(Escalation.id).where(Escalation.reference == result.reference))
            uow.rollback()
    # the service's tick right after opening works out when each next needs the clock (nothing is due yet), so the
    # copies carry their moment as a running service's records do
    Ticker(store, config).tick(OPENED + timedelta(minutes=1))
    return ids


def _conversation_key(number: int, like: str) -> str:
    return hashlib.sha256(f"bench-copy-{number}".encode()).hexdigest()[: len(like)] if like else like


class _Plan:
    """Which rows of which tables make up one template record, and how to copy them."""

    def __init__(self, conn: Any, tables: Any, template_id: int) -> None:
        from sqlalchemy import select

        self.order: list[tuple[Any, list[dict[str, Any]]]] = []  # (table, template rows), parents first
        ids: dict[str, set[Any]] = {}
        for table in tables:
            if table.name == "escalations":
                wanted = table.c.id == template_id
            else:
                links = [fk for fk in table.foreign_keys if fk.column.table.name in ids]
                if not links:
                    continue
                wanted = None
                for fk in links:
                    clause = fk.parent.in_(sorted(ids[fk.column.table.name]))
                    wanted = clause if wanted is None else wanted | clause
            names = [c.name for c in table.columns]
            rows = [dict(zip(names, r, strict=True))
                    for r in conn.exec_driver_sql(str(select(*table.columns).where(wanted)
                                                      .compile(compile_kwargs={"literal_binds": True})))]
            if not rows:
                continue
            self.order.append((table, rows))
            pk = list(table.primary_key.columns)
            if len(pk) == 1:
                ids[table.name] = {r[pk[0].name] for r in rows}


def _unique_text_columns(table: Any) -> set[str]:
    names: set[str] = set()
    for index in table.indexes:
        if index.unique and len(index.columns) == 1:
            names.add(next(iter(index.columns)).name)
    from sqlalchemy import UniqueConstraint

    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint) and len(constraint.columns) == 1:
            names.add(next(iter(constraint.columns)).name)
    return names


def _copies(conn: Any, plan: _Plan, subs_of: Any, first: int, count: int, next_ids: dict[str, int],
            ) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    """The rows of ``count`` copies, table by table (parents first), ``first`` numbering the first copy."""
    pk_of = {t.name: next(iter(t.primary_key.columns)).name for t, _ in plan.order if len(t.primary_key.columns) == 1}
    unique = {t.name: _unique_text_columns(t) - {pk_of.get(t.name)} for t, _ in plan.order}
    mapping: dict[str, list[dict[Any, int]]] = {}  # table -> per copy: old id -> new id
    for table, rows in plan.order:
        pk = pk_of.get(table.name)
        if pk is not None:
            base = next_ids[table.name]
            mapping[table.name] = [{row[pk]: base + n * len(rows) + j for j, row in enumerate(rows)}
                                   for n in range(count)]
            next_ids[table.name] = base + count * len(rows)
    for table, rows in plan.order:
        pk = pk_of.get(table.name)
        links = [(fk.parent.name, fk.column.table.name) for fk in table.foreign_keys
                 if fk.column.table.name in mapping]
        out = []
        for n in range(count):
            subs = subs_of(first + n, mapping["escalations"][n])
            for row in rows:
                new = {}
                for name, value in row.items():
                    if isinstance(value, str):
                        for old, replacement in subs:
                            if old in value:
                                value = value.replace(old, replacement)
                        if name in unique[table.name] and value == row[name]:
                            value = f"{value}.copy{first + n}"
                    new[name] = value
                if pk is not None:
                    new[pk] = mapping[table.name][n][row[pk]]
                for column, parent in links:
                    if new[column] is not None:
                        new[column] = mapping[parent][n].get(new[column], new[column])
                out.append(new)
        yield table, out


def copy_record(engine: Any, template_id: int, count: int, *, first_number: int) -> None:
    """Write ``count`` copies of record ``template_id`` (copy ``n`` gets case number ``first_number + n``)."""
    from sqlalchemy import MetaData, func, select

    from store.models import format_reference

    if count <= 0:
        return
    metadata = MetaData()
    metadata.reflect(bind=engine)
    with engine.begin() as conn:
        plan = _Plan(conn, metadata.sorted_tables, template_id)
        esc_rows = dict(plan.order)[metadata.tables["escalations"]]
        template = esc_rows[0]
        messages = dict(plan.order).get(metadata.tables.get("messages"), [])
        template_ref = template["reference"]
        case_text = next((str(n) for n in (DUE_CASE, LATER_CASE) if str(n) in str(template["case_numbers"])), None)
        ids = [m["identity"] for m in messages if m.get("identity")]
        key = template.get("conversation_key") or ""

        def subs_of(number: int, esc_ids: dict[Any, int]) -> list[tuple[str, str]]:
            new_id = esc_ids[template_id]
            out = [(template_ref, format_reference(new_id))]
            out += [(identity, f"copy{number}.{identity}") for identity in ids]
            if case_text:
                out.append((case_text, str(first_number + number)))
            if key:
                out.append((key, _conversation_key(number, key)))
            return out

        next_ids = {}
        for table, _rows in plan.order:
            pk = list(table.primary_key.columns)
            if len(pk) == 1:
                next_ids[table.name] = int(conn.scalar(select(func.coalesce(func.max(pk[0]), 0))) or 0) + 1
        chunk = 2000
        for start in range(0, count, chunk):
            size = min(chunk, count - start)
            for table, rows in _copies(conn, plan, subs_of, start, size, next_ids):
                names = list(rows[0])
                sql = (f'INSERT INTO "{table.name}" ({", ".join(chr(34) + n + chr(34) for n in names)}) '
                       f"VALUES ({', '.join('?' for _ in names)})")
                conn.exec_driver_sql(sql, [tuple(r[n] for n in names) for r in rows])


def build_open_records(config: Any, store: Any, *, open_count: int, due_count: int) -> None:
    """``open_count`` open records in ``store`` (SQLite), ``due_count`` of them due at :data:`TICK_AT`."""
    if not 1 <= due_count <= open_count:
        raise ValueError("need 1 <= due_count <= open_count")
    if due_count == open_count:
        ids = open_templates(config, store, ("due",))
        copy_record(store.engine, ids["due"], due_count - 1, first_number=2_000_000)
        return
    ids = open_templates(config, store)
    copy_record(store.engine, ids["later"], open_count - due_count - 1, first_number=1_000_000)
    copy_record(store.engine, ids["due"], due_count - 1, first_number=2_000_000)


def build_open_background(config: Any, store: Any, count: int) -> None:
    """``count`` open records none of which is due (for an ingest on a full store)."""
    ids = open_templates(config, store, ("later",))
    copy_record(store.engine, ids["later"], count - 1, first_number=3_000_000)
