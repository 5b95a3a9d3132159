"""escalation subject key

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

``escalations.subject_key``: the hash of the subject as replies are matched by it (``store.models.subject_key`` of
the shell's normalised subject), indexed with the status, so a reply that names no case number and cites no mail is
matched by one indexed look-up instead of a read of every open record. The normalising is the parsers' (which the
store may not import), so rows from before this revision keep NULL and the look-up compares their subjects as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_escalations_status_subject_key"


def upgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_key", sa.String(length=64), nullable=True))
        batch_op.create_index(INDEX, ["status", "subject_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_index(INDEX)
        batch_op.drop_column("subject_key")
