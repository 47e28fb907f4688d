"""tickets: work orders ride on routing contacts (media work_order)

Revision ID: 0003c_tickets_routing
Revises: 0003_tickets
Create Date: 2026-11-26 13:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003c_tickets_routing"
down_revision = "0003_tickets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.add_column(sa.Column("routing_contact_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("routing_priority", sa.Integer(), nullable=True))
        batch.create_index("ix_work_orders_routing_contact", ["routing_contact_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_index("ix_work_orders_routing_contact")
        batch.drop_column("routing_priority")
        batch.drop_column("routing_contact_id")
