"""WFM tables: interval history, forecasts, schedules with their shifts (the roster), requests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.base import Base, BigId, JsonData, TenantOwned, UTCDateTime

__all__ = [
    "WfmAgentSettings",
    "WfmForecast",
    "WfmHistory",
    "WfmRequest",
    "WfmSchedule",
    "WfmShift",
]


class WfmHistory(TenantOwned, Base):
    """Contacts offered (and mean handle time) per queue and interval, imported or recorded."""

    __tablename__ = "wfm_history"
    __table_args__ = (UniqueConstraint("tenant_id", "queue", "interval_start"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(String(40))
    interval_start: Mapped[datetime] = mapped_column(UTCDateTime())
    interval_min: Mapped[int] = mapped_column(Integer)
    offered: Mapped[float] = mapped_column(Float)
    aht_s: Mapped[float | None] = mapped_column(Float, nullable=True)


class WfmForecast(TenantOwned, Base):
    """One forecast run: every queue's interval forecast from ``start`` for ``horizon_days``."""

    __tablename__ = "wfm_forecasts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120))
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    interval_min: Mapped[int] = mapped_column(Integer)
    horizon_days: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(20))  # "history" or "csv"
    # {"queues": {code: {"forecast": [...], "aht_s": [... or null]}}, "accuracy": {...}}
    data: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)
    created_by: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WfmSchedule(TenantOwned, Base):
    """A weekly schedule for one queue: the requirement, the solver's answer and its shifts."""

    __tablename__ = "wfm_schedules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120))
    forecast_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("wfm_forecasts.id", ondelete="SET NULL"), nullable=True
    )
    queue: Mapped[str] = mapped_column(String(40))
    skill: Mapped[str | None] = mapped_column(String(40), nullable=True)
    week_start: Mapped[date] = mapped_column(Date)  # a Monday, local
    interval_min: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)
    # status, agents, paid_hours, lp_bound, gap, seconds, required, scheduled, forecast, roster
    result: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)
    created_by: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WfmShift(TenantOwned, Base):
    """One shift of a schedule line on one day; ``user_id`` is set by rostering (None: open)."""

    __tablename__ = "wfm_shifts"
    __table_args__ = (Index("ix_wfm_shifts_user_start", "user_id", "start_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    schedule_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("wfm_schedules.id", ondelete="CASCADE"), index=True
    )
    line: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_min: Mapped[int] = mapped_column(Integer)
    night: Mapped[bool] = mapped_column(Boolean, default=False)
    template: Mapped[str] = mapped_column(String(40))
    # [{"start": iso, "minutes": 15, "paid": true, "kind": "break"}]
    breaks: Mapped[list[dict[str, Any]]] = mapped_column(JsonData, default=list)
    user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )


class WfmRequest(TenantOwned, Base):
    """An agent's leave or swap request and the decision on it."""

    __tablename__ = "wfm_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(10))  # "leave" or "swap"
    status: Mapped[str] = mapped_column(String(10), default="pending")  # approved, rejected
    requester_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    shift_id: Mapped[int] = mapped_column(BigId, ForeignKey("wfm_shifts.id", ondelete="CASCADE"))
    other_shift_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("wfm_shifts.id", ondelete="CASCADE"), nullable=True
    )
    reason: Mapped[str] = mapped_column(String(500), default="")
    decided_by: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WfmAgentSettings(TenantOwned, Base):
    """An agent's contract limits (set by planners) and preferences (set by the agent)."""

    __tablename__ = "wfm_agent_settings"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    min_hours: Mapped[float] = mapped_column(Float, default=0.0)
    max_hours: Mapped[float] = mapped_column(Float, default=40.0)
    max_consecutive_days: Mapped[int] = mapped_column(Integer, default=6)
    avoid_nights: Mapped[bool] = mapped_column(Boolean, default=False)
    start_earliest_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    start_latest_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    preferred_days_off: Mapped[list[int]] = mapped_column(JsonData, default=list)
