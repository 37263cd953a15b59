"""hub counts: per-tenant number of hubs, so list totals read one row

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 23:08:08.983146
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_counts",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("hubs", sa.Integer(), nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_hub_counts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_hub_counts")),
    )
    # Existing hubs are counted once here; from now on create/delete keep the rows exact.
    op.execute(
        "INSERT INTO hub_counts (tenant_id, hubs, changes) "
        "SELECT tenant_id, COUNT(*), 0 FROM hubs GROUP BY tenant_id"
    )


def downgrade() -> None:
    op.drop_table("hub_counts")
