"""IVR tables: flows per tenant with numbered versions, and uploaded or text prompts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.base import Base, BigId, JsonData, TenantOwned, UTCDateTime

__all__ = ["IvrChatSession", "IvrFlow", "IvrFlowVersion", "IvrPrompt"]


class IvrFlow(TenantOwned, Base):
    """A flow (e.g. the hotline's main menu) named by ``code``; its versions hold the content."""

    __tablename__ = "ivr_flows"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    published_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IvrFlowVersion(TenantOwned, Base):
    """One version of a flow: a draft while edited, then published, then archived."""

    __tablename__ = "ivr_flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    flow_id: Mapped[int] = mapped_column(BigId, ForeignKey("ivr_flows.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft|published|archived
    definition: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)
    errors: Mapped[int] = mapped_column(Integer, default=0)  # findings at the last save
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_by: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class IvrPrompt(TenantOwned, Base):
    """A prompt flows refer to by ``code``: uploaded audio (size/type limited) and/or a text
    for text-to-speech and the web-chat text bot."""

    __tablename__ = "ivr_prompts"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text, default="")
    content_type: Mapped[str] = mapped_column(String(40), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    audio: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    created_by: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IvrChatSession(TenantOwned, Base):
    """The text bot's state for one web-chat conversation (replayable inputs, see textbot)."""

    __tablename__ = "ivr_chat_sessions"
    __table_args__ = (UniqueConstraint("conversation_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webchat_conversations.id", ondelete="CASCADE")
    )
    flow_code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)
    finished: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
