"""escalation facts

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

``escalations.facts``: a JSON object of what the procedure's rules depend on and the IRO told the bot — e.g.
``{"proceedings": true, "case_type": "child-protection", "guardian": "…@cafcass.gov.uk", "budget_days": 25}``.
Rows from before this revision get ``{}`` (nothing known yet). The children's data rule applies: the purge deletes
the row, facts and all.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("facts", sa.JSON(none_as_null=True), nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_column("facts")
