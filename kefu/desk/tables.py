"""Agent desktop tables: disposition codes, quick replies, wrap-ups and transfer handovers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.base import Base, BigId, TenantOwned, UTCDateTime

__all__ = ["Disposition", "Handover", "QuickReply", "WrapUp"]


class Disposition(TenantOwned, Base):
    """A wrap-up code (小结), grouped by business type (业务类型)."""

    __tablename__ = "desk_dispositions"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    business_type: Mapped[str] = mapped_column(String(60), default="")
    active: Mapped[bool] = mapped_column(default=True)


class QuickReply(TenantOwned, Base):
    """A canned response; ``{customer_name}``, ``{agent_name}``, ``{job_number}`` are filled."""

    __tablename__ = "desk_quick_replies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(60), default="")
    shortcut: Mapped[str] = mapped_column(String(20), default="")  # typed as /shortcut


class WrapUp(TenantOwned, Base):
    """What the agent recorded after a contact (the customer's history gets one interaction)."""

    __tablename__ = "desk_wrapups"
    __table_args__ = (UniqueConstraint("contact_id", "agent_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="SET NULL"), nullable=True
    )
    disposition: Mapped[str] = mapped_column(String(40))
    business_type: Mapped[str] = mapped_column(String(60), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Handover(TenantOwned, Base):
    """A transfer with its note and the customer's mood, shown to the next agent."""

    __tablename__ = "desk_handovers"
    __table_args__ = (Index("ix_desk_handovers_contact", "contact_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[str] = mapped_column(String(64))
    from_agent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    to_queue: Mapped[str] = mapped_column(String(40), default="")
    to_agent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    note: Mapped[str] = mapped_column(Text, default="")
    emotion: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
