"""ivr: web-chat text bot (widget setting and per-conversation state)

Revision ID: 0007b_ivr
Revises: 0007_ivr
Depends on: 0006_webchat (the chat tables it refers to)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import kefu.db.base

revision = "0007b_ivr"
down_revision = "0007_ivr"
branch_labels = None
depends_on = "0006_webchat"

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("webchat_widgets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ivr_flow", sa.String(length=40), nullable=False, server_default="")
        )
    op.create_table(
        "ivr_chat_sessions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("conversation_id", _ID, nullable=False),
        sa.Column("flow_code", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column("created_at", kefu.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kefu.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["webchat_conversations.id"],
            name=op.f("fk_ivr_chat_sessions_conversation_id_webchat_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_ivr_chat_sessions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ivr_chat_sessions")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_ivr_chat_sessions_conversation_id")),
    )
    with op.batch_alter_table("ivr_chat_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ivr_chat_sessions_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ivr_chat_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ivr_chat_sessions_tenant_id"))
    op.drop_table("ivr_chat_sessions")
    with op.batch_alter_table("webchat_widgets", schema=None) as batch_op:
        batch_op.drop_column("ivr_flow")
