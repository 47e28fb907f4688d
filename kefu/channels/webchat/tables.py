"""Web chat tables: widgets (one per website), conversations, messages and attachments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.base import Base, BigId, JsonData, TenantOwned, UTCDateTime

__all__ = ["ChatAttachment", "ChatConversation", "ChatMessage", "ChatWidget"]


class ChatWidget(TenantOwned, Base):
    """A chat entry point (a website, an app page): its public key, queue and greeting."""

    __tablename__ = "webchat_widgets"
    __table_args__ = (UniqueConstraint("key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))  # public: it is written in the script tag
    name: Mapped[str] = mapped_column(String(120))
    queue_code: Mapped[str] = mapped_column(String(40))
    callback_queue: Mapped[str] = mapped_column(String(40), default="")
    welcome: Mapped[str] = mapped_column(Text, default="")
    # Self-service topics offered before a human: [{"code": "bill", "label": "话费查询"}, ...]
    topics: Mapped[list[dict[str, Any]]] = mapped_column(JsonData, default=list)
    ivr_flow: Mapped[str] = mapped_column(String(40), default="")  # text menu first (kefu.ivr)
    active: Mapped[bool] = mapped_column(default=True)


class ChatConversation(TenantOwned, Base):
    """One customer's chat, identified to the customer only by an unguessable token."""

    __tablename__ = "webchat_conversations"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        Index("ix_webchat_conversations_contact", "contact_id"),
        Index("ix_webchat_conversations_tenant_agent_status", "tenant_id", "agent_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    widget_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webchat_widgets.id", ondelete="CASCADE")
    )
    token_hash: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[str] = mapped_column(String(64))  # the routing contact serving it now
    customer_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="SET NULL"), nullable=True
    )
    visitor_name: Mapped[str] = mapped_column(String(60), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    topic: Mapped[str] = mapped_column(String(60), default="")
    page_url: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    agent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rating_comment: Mapped[str] = mapped_column(Text, default="")


class ChatMessage(TenantOwned, Base):
    """The transcript: numbered 1, 2, 3 … per conversation, never renumbered."""

    __tablename__ = "webchat_messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "client_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webchat_conversations.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(Integer)
    sender: Mapped[str] = mapped_column(String(10))  # customer, agent, system
    agent_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    kind: Mapped[str] = mapped_column(String(20))  # text, image, file, or a system event name
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChatAttachment(TenantOwned, Base):
    """An uploaded image or file; the bytes live under var_dir, named by their SHA-256."""

    __tablename__ = "webchat_attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webchat_conversations.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
