"""inbound_receipts: provider events already accepted (redeliveries are dropped)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 20:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import unihub.core.orm

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_receipts",
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("event_key", sa.String(length=256), nullable=False),
        sa.Column("created", unihub.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("integration_id", "event_key", name=op.f("pk_inbound_receipts")),
    )
    op.create_index(
        op.f("ix_inbound_receipts_created"), "inbound_receipts", ["created"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_inbound_receipts_created"), table_name="inbound_receipts")
    op.drop_table("inbound_receipts")
