"""line: reply tokens of received LINE events, and who follows each LINE bot

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 20:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import unihub.core.orm

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "line_reply_tokens",
        sa.Column("reply_token", sa.String(length=256), nullable=False),
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("received", unihub.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_line_reply_tokens_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("reply_token", name=op.f("pk_line_reply_tokens")),
    )
    op.create_index(
        op.f("ix_line_reply_tokens_integration_id"),
        "line_reply_tokens",
        ["integration_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_line_reply_tokens_received"), "line_reply_tokens", ["received"], unique=False
    )
    op.create_index(
        op.f("ix_line_reply_tokens_delivery_id"), "line_reply_tokens", ["delivery_id"], unique=False
    )
    op.create_table(
        "line_followers",
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("following", sa.Boolean(), nullable=False),
        sa.Column("changed", unihub.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_line_followers_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("integration_id", "user_id", name=op.f("pk_line_followers")),
    )


def downgrade() -> None:
    op.drop_table("line_followers")
    op.drop_index(op.f("ix_line_reply_tokens_delivery_id"), table_name="line_reply_tokens")
    op.drop_index(op.f("ix_line_reply_tokens_received"), table_name="line_reply_tokens")
    op.drop_index(op.f("ix_line_reply_tokens_integration_id"), table_name="line_reply_tokens")
    op.drop_table("line_reply_tokens")
