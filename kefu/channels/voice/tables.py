"""Voice tables: call recordings (files on disk, rows here) and each tenant's retention."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.base import Base, BigId, TenantOwned, UTCDateTime

__all__ = ["DEFAULT_RETENTION_DAYS", "VoiceRecording", "VoiceSettings"]

DEFAULT_RETENTION_DAYS = 180


class VoiceRecording(TenantOwned, Base):
    """One call's mixed recording (caller + agent) under ``var/voice/recordings``."""

    __tablename__ = "voice_recordings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[str] = mapped_column(String(40), index=True)
    path: Mapped[str] = mapped_column(String(500))
    caller: Mapped[str] = mapped_column(String(40), default="")
    agent_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    paused_s: Mapped[float] = mapped_column(Float, default=0.0)  # sensitive entry not recorded


class VoiceSettings(TenantOwned, Base):
    __tablename__ = "voice_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    retention_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_RETENTION_DAYS)
