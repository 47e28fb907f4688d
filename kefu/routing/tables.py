"""Routing configuration tables: skills, queues and agents' skill levels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.base import Base, BigId, JsonData, TenantOwned, UTCDateTime

__all__ = ["AgentSkill", "QueueConfig", "RoutingCommandRecord", "RoutingContact", "Skill"]


class Skill(TenantOwned, Base):
    __tablename__ = "skills"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))


class QueueConfig(TenantOwned, Base):
    """A queue's routing configuration (the engine's Queue is built from this row)."""

    __tablename__ = "queues"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    media: Mapped[str] = mapped_column(String(20), default="voice")
    # [{"skill": "billing", "min_level": 3}, ...]
    skills: Mapped[list[dict[str, Any]]] = mapped_column(JsonData, default=list)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    strategy: Mapped[str] = mapped_column(String(30), default="longest_idle")
    sl_target: Mapped[float] = mapped_column(Float, default=0.8)
    sl_threshold_s: Mapped[int] = mapped_column(Integer, default=20)
    max_wait_s: Mapped[int] = mapped_column(Integer, default=600)
    site_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("sites.id", ondelete="SET NULL"), nullable=True
    )
    options: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)


class AgentSkill(TenantOwned, Base):
    __tablename__ = "agent_skills"
    __table_args__ = (UniqueConstraint("user_id", "skill_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    skill_id: Mapped[int] = mapped_column(BigId, ForeignKey("skills.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer, default=5)


class RoutingCommandRecord(Base):
    """The routing engine's command log: stored before it is applied, replayed after a restart.

    ``status`` is ``applied`` or ``rejected`` (with ``error``); replay re-runs both at their
    recorded instants (a rejected command still fired the timers due at that instant).
    """

    __tablename__ = "routing_commands"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int | None] = mapped_column(BigId, nullable=True, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JsonData)
    status: Mapped[str] = mapped_column(String(10), default="applied")
    error: Mapped[str] = mapped_column(String(60), default="")


class RoutingContact(TenantOwned, Base):
    """Read model of a routed contact, folded from the engine's events (for API and reports)."""

    __tablename__ = "routing_contacts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        Index("ix_routing_contacts_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    queue_code: Mapped[str] = mapped_column(String(40))
    media: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="SET NULL"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    outcome: Mapped[str] = mapped_column(String(20), default="")
    agent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    wait_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)
