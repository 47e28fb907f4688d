"""Customer profiles and their contact history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.base import Base, BigId, JsonData, TenantOwned, UTCDateTime

__all__ = ["Customer", "Interaction"]


class Customer(TenantOwned, Base):
    __tablename__ = "customers"
    __table_args__ = (Index("ix_customers_tenant_phone", "tenant_id", "phone"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    vip_level: Mapped[int] = mapped_column(
        Integer, default=0
    )  # 0 normal, 1 silver, 2 gold, 3 diamond
    tags: Mapped[list[str]] = mapped_column(JsonData, default=list)
    birth_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    city: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Interaction(TenantOwned, Base):
    """One past contact of a customer on any channel (the customer-360 timeline)."""

    __tablename__ = "customer_interactions"
    __table_args__ = (Index("ix_interactions_customer_started", "customer_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))  # voice, chat, email, sms, ...
    direction: Mapped[str] = mapped_column(String(10), default="inbound")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    queue_code: Mapped[str] = mapped_column(String(40), default="")
    agent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    business_type: Mapped[str] = mapped_column(String(60), default="")
    disposition: Mapped[str] = mapped_column(String(60), default="")
    is_complaint: Mapped[bool] = mapped_column(default=False)
    summary: Mapped[str] = mapped_column(Text, default="")
