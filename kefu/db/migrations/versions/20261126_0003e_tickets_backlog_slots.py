"""tickets: open-order rollup for the backlog report (replaces the covering backlog index)

Revision ID: 0003e_tickets_backlog
Revises: 0003d_tickets_followup
Create Date: 2026-11-26 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kefu.db.base

revision = "0003e_tickets_backlog"
down_revision = "0003d_tickets_followup"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "wo_backlog_slots",
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("span", sa.String(length=1), nullable=False),
        sa.Column("slot", kefu.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("group_id", _ID, nullable=False),
        sa.Column("open_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_wo_backlog_slots_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "span", "slot", "group_id", name=op.f("pk_wo_backlog_slots")
        ),
    )
    with op.batch_alter_table("wo_backlog_slots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wo_backlog_slots_tenant_id"), ["tenant_id"], unique=False
        )
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_work_orders_backlog")
    # existing open orders (an upgraded installation)
    if op.get_bind().dialect.name == "postgresql":
        for span, unit in (("h", "hour"), ("d", "day")):
            op.execute(
                "INSERT INTO wo_backlog_slots (tenant_id, span, slot, group_id, open_count) "
                f"SELECT tenant_id, '{span}', date_trunc('{unit}', created_at AT TIME ZONE 'UTC') "
                "AT TIME ZONE 'UTC', COALESCE(group_id, 0), count(*) FROM work_orders "
                "WHERE is_open GROUP BY 1, 2, 3, 4"
            )
    else:
        for span, fmt in (("h", "%Y-%m-%d %H:00:00.000000"), ("d", "%Y-%m-%d 00:00:00.000000")):
            op.execute(
                "INSERT INTO wo_backlog_slots (tenant_id, span, slot, group_id, open_count) "
                f"SELECT tenant_id, '{span}', strftime('{fmt}', created_at), "
                "COALESCE(group_id, 0), count(*) FROM work_orders WHERE is_open "
                "GROUP BY 1, 2, 3, 4"
            )


def downgrade() -> None:
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_work_orders_backlog",
            ["tenant_id", "is_open", "created_at", "group_id"],
            unique=False,
        )
    op.drop_table("wo_backlog_slots")
