"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Every table of store/models.py: escalations, stages, messages, events, outbox, cursors.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cursors",
        sa.Column("source_key", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source_key", name=op.f("pk_cursors")),
    )
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_text", sa.Text(), nullable=True),
        sa.Column("policy_key", sa.String(length=64), nullable=False),
        sa.Column("iro_email", sa.String(), nullable=True),
        sa.Column("iro_name", sa.String(), nullable=True),
        sa.Column("children", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("case_numbers", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("themes", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("current_level", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("conversation_key", sa.String(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("process_started_on", sa.Date(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_escalations_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint("reference", name=op.f("uq_escalations_reference")),
    )
    op.create_index(
        op.f("ix_escalations_conversation_key"), "escalations", ["conversation_key"], unique=False
    )
    op.create_index(op.f("ix_escalations_status"), "escalations", ["status"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=True),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_email", sa.String(), nullable=True),
        sa.Column("from_name", sa.String(), nullable=True),
        sa.Column("to_emails", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("cc_emails", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("in_reply_to", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("references", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("thread_index", sa.String(), nullable=True),
        sa.Column("conversation_key", sa.String(), nullable=True),
        sa.Column("new_text", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attention_reason", sa.Text(), nullable=True),
        sa.Column("source_key", sa.String(), nullable=True),
        sa.Column("source_ref", sa.String(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_messages_direction")),
        sa.CheckConstraint("state IN ('recorded', 'matched', 'attention')", name=op.f("ck_messages_state")),
        sa.ForeignKeyConstraint(
            ["escalation_id"], ["escalations.id"], name=op.f("fk_messages_escalation_id_escalations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("identity", name=op.f("uq_messages_identity")),
    )
    op.create_index(op.f("ix_messages_conversation_key"), "messages", ["conversation_key"], unique=False)
    op.create_index(op.f("ix_messages_escalation_id"), "messages", ["escalation_id"], unique=False)
    op.create_index(op.f("ix_messages_message_id"), "messages", ["message_id"], unique=False)
    op.create_index(op.f("ix_messages_state"), "messages", ["state"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("from_email", sa.String(), nullable=False),
        sa.Column("to_emails", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("cc_emails", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("headers", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'refused')", name=op.f("ck_outbox_status")
        ),
        sa.ForeignKeyConstraint(
            ["escalation_id"], ["escalations.id"], name=op.f("fk_outbox_escalation_id_escalations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
    )
    op.create_index(op.f("ix_outbox_escalation_id"), "outbox", ["escalation_id"], unique=False)
    op.create_index(op.f("ix_outbox_message_id"), "outbox", ["message_id"], unique=False)
    op.create_index(
        op.f("ix_outbox_status_next_attempt_at"), "outbox", ["status", "next_attempt_at"], unique=False
    )

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("message_pk", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("data", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("key", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["escalation_id"], ["escalations.id"], name=op.f("fk_events_escalation_id_escalations")
        ),
        sa.ForeignKeyConstraint(
            ["message_pk"], ["messages.id"], name=op.f("fk_events_message_pk_messages"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("key", name=op.f("uq_events_key")),
    )
    op.create_index(op.f("ix_events_escalation_id"), "events", ["escalation_id"], unique=False)
    op.create_index(op.f("ix_events_message_pk"), "events", ["message_pk"], unique=False)

    op.create_table(
        "stages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("addressee_email", sa.String(), nullable=True),
        sa.Column("addressee_name", sa.String(), nullable=True),
        sa.Column("copied", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("due_source", sa.String(length=16), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_message_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["escalation_id"], ["escalations.id"], name=op.f("fk_stages_escalation_id_escalations")
        ),
        sa.ForeignKeyConstraint(
            ["response_message_id"],
            ["messages.id"],
            name=op.f("fk_stages_response_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stages")),
    )
    op.create_index(op.f("ix_stages_escalation_id"), "stages", ["escalation_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_stages_escalation_id"), table_name="stages")

    op.drop_table("stages")
    op.drop_index(op.f("ix_events_message_pk"), table_name="events")
    op.drop_index(op.f("ix_events_escalation_id"), table_name="events")

    op.drop_table("events")
    op.drop_index(op.f("ix_outbox_status_next_attempt_at"), table_name="outbox")
    op.drop_index(op.f("ix_outbox_message_id"), table_name="outbox")
    op.drop_index(op.f("ix_outbox_escalation_id"), table_name="outbox")

    op.drop_table("outbox")
    op.drop_index(op.f("ix_messages_state"), table_name="messages")
    op.drop_index(op.f("ix_messages_message_id"), table_name="messages")
    op.drop_index(op.f("ix_messages_escalation_id"), table_name="messages")
    op.drop_index(op.f("ix_messages_conversation_key"), table_name="messages")

    op.drop_table("messages")
    op.drop_index(op.f("ix_escalations_status"), table_name="escalations")
    op.drop_index(op.f("ix_escalations_conversation_key"), table_name="escalations")

    op.drop_table("escalations")
    op.drop_table("cursors")
