"""Routing configuration tables: skills, queues and agents' skill levels."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.base import Base, BigId, JsonData, TenantOwned

__all__ = ["AgentSkill", "QueueConfig", "Skill"]


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
