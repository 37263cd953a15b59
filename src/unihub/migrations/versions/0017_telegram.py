"""telegram_polls (long-polling leases and offsets) and telegram_buttons (inline buttons sent)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 20:14:46.172799
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import unihub.core.orm

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telegram_buttons",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("chat_id", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created", unihub.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_telegram_buttons_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_telegram_buttons")),
    )
    with op.batch_alter_table("telegram_buttons", schema=None) as batch_op:
        batch_op.create_index(
            "ix_telegram_buttons_chat", ["integration_id", "chat_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_telegram_buttons_created"), ["created"], unique=False)

    op.create_table(
        "telegram_polls",
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("owner", sa.Uuid(), nullable=True),
        sa.Column("holder", sa.String(length=128), nullable=True),
        sa.Column("lease_until", unihub.core.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.Column("modified", unihub.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_telegram_polls_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("integration_id", name=op.f("pk_telegram_polls")),
    )


def downgrade() -> None:
    op.drop_table("telegram_polls")
    with op.batch_alter_table("telegram_buttons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telegram_buttons_created"))
        batch_op.drop_index("ix_telegram_buttons_chat")

    op.drop_table("telegram_buttons")
