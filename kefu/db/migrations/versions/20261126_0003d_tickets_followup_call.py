"""tickets: when the 回访 call is due

Revision ID: 0003d_tickets_followup
Revises: 0003c_tickets_routing
Create Date: 2026-11-26 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kefu.db.base

revision = "0003d_tickets_followup"
down_revision = "0003c_tickets_routing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.add_column(
            sa.Column("followup_due_at", kefu.db.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_column("followup_due_at")
