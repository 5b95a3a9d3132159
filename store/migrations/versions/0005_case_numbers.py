"""escalation case numbers

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

``escalation_case_numbers``: one row per normalised case number of an escalation (primary key (escalation_id,
number), indexed by number), so the records of a mail's case numbers are found by the index instead of by reading the
case numbers of every open record. The store keeps the rows in step with ``escalations.case_numbers`` whenever the ORM
writes an escalation (``store.models``); this revision fills them in for the rows from before it, with the same
normalisation (a copy here: a revision does not import the models, which may change after it). The purge deletes them
with their escalation (and the foreign key cascades).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "escalation_case_numbers"
INDEX = "ix_escalation_case_numbers_number"
BATCH = 1000


def _numbers(case_numbers: Any) -> set[str]:
    """The normalised numbers of a ``case_numbers`` value as revision 0005 knew them (``store.models.case_number_keys``
    then): each entry's ``number``, without surrounding white space, in capitals; blank ones are none."""
    if isinstance(case_numbers, str):  # a driver that hands JSON back as text
        case_numbers = json.loads(case_numbers)
    found = {str(c.get("number")).strip().upper() for c in case_numbers or []
             if isinstance(c, dict) and c.get("number")}
    found.discard("")
    return found


def _rows(connection: sa.Connection) -> Iterator[dict[str, Any]]:
    escalations = sa.table("escalations", sa.column("id", sa.Integer()),
                           sa.column("case_numbers", sa.JSON(none_as_null=True)))
    for escalation_id, case_numbers in connection.execute(
            sa.select(escalations.c.id, escalations.c.case_numbers).order_by(escalations.c.id)).all():
        for number in sorted(_numbers(case_numbers)):
            yield {"escalation_id": escalation_id, "number": number}


def upgrade() -> None:
    table = op.create_table(
        TABLE,
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalations.id"],
                                name=op.f("fk_escalation_case_numbers_escalation_id_escalations"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("escalation_id", "number", name=op.f("pk_escalation_case_numbers")),
    )
    op.create_index(INDEX, TABLE, ["number"], unique=False)
    connection = op.get_bind()
    batch: list[dict[str, Any]] = []
    for row in _rows(connection):
        batch.append(row)
        if len(batch) >= BATCH:
            connection.execute(sa.insert(table), batch)
            batch = []
    if batch:
        connection.execute(sa.insert(table), batch)


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    op.drop_table(TABLE)
