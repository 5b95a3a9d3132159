"""outbox attachments

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

``outbox.attachments``: a JSON list of ``{"filename", "content_type", "data" (base64)}``. Rows queued before
this revision get ``[]`` (the server default), so the column can be NOT NULL at once. SQLite alters tables
through Alembic's batch mode (it copies the table when it must, e.g. to drop the column again).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attachments", sa.JSON(none_as_null=True), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("attachments")
