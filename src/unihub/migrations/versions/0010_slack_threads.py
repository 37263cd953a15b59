"""slack threads: one Slack thread per (conversation, Slack integration)

Revision ID: 0010
Revises: 0006
Create Date: 2026-11-27 23:31:03.005793
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import unihub.core.orm

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_threads",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("thread_ts", sa.String(length=64), nullable=False),
        sa.Column("created", unihub.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_slack_threads_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_slack_threads_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", "integration_id", name=op.f("pk_slack_threads")),
        sa.UniqueConstraint(
            "integration_id",
            "channel_id",
            "thread_ts",
            name=op.f("uq_slack_threads_integration_id_channel_id_thread_ts"),
        ),
    )


def downgrade() -> None:
    op.drop_table("slack_threads")
