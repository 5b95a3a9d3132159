"""escalation next due

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

``escalations.next_due_at``: when the clock next has something to do for the record (``rules.decide.next_moment``),
indexed with the status, so a tick reads only the records whose moment has come instead of deciding every open one.
Rows from before this revision get NULL: "work it out at the next tick", so the first tick after the upgrade looks
at every open record once, as every tick did before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_escalations_status_next_due_at"


def upgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(INDEX, ["status", "next_due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_index(INDEX)
        batch_op.drop_column("next_due_at")
