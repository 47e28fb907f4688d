"""sms: outbox and received replies

Revision ID: 0008_sms
Revises: 0001
Create Date: 2026-11-26 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kefu.db.base

revision = "0008_sms"
down_revision = "0001"
branch_labels = ("sms",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sms_messages",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("driver", sa.String(length=20), nullable=False),
        sa.Column("provider_id", sa.String(length=80), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("ref_type", sa.String(length=40), nullable=False),
        sa.Column("ref_id", _ID, nullable=True),
        sa.Column("reply_to_id", _ID, nullable=True),
        sa.Column("result", sa.String(length=40), nullable=False),
        sa.Column("created_at", kefu.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", kefu.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sms_messages_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_messages")),
    )
    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.create_index("ix_sms_messages_outbox", ["direction", "status", "id"], unique=False)
        batch_op.create_index(
            "ix_sms_messages_phone",
            ["tenant_id", "phone", "direction", "created_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_sms_messages_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_table("sms_messages")
