"""WFM API inputs and outputs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field, field_validator

from kefu.api.schemas import Input, Output

__all__ = [
    "AgentSettingsIn",
    "DecisionIn",
    "EvaluateIn",
    "ForecastIn",
    "ForecastOut",
    "FromEventsIn",
    "PreferencesIn",
    "RequestIn",
    "RequestOut",
    "ScheduleIn",
    "ScheduleOut",
]


class ForecastIn(Input):
    horizon_days: int = Field(ge=1, le=92)
    interval_min: Literal[15, 30, 60] = 30
    start: AwareDatetime | None = None
    queues: list[str] | None = Field(default=None, max_length=50)
    name: str = Field(default="", max_length=120)


class FromEventsIn(Input):
    days: int = Field(default=56, ge=1, le=366)
    interval_min: Literal[15, 30, 60] = 30


class ForecastOut(Output):
    id: int
    name: str
    start: datetime
    interval_min: int
    horizon_days: int
    timezone: str
    source: str
    created_at: datetime


class ScheduleIn(Input):
    forecast_id: int
    queue: str = Field(min_length=1, max_length=40)
    week_start: date
    skill: str | None = Field(default=None, max_length=40)
    target: float = Field(default=0.8, gt=0, lt=1)
    threshold_s: float = Field(default=20.0, ge=0, le=3600)
    shrinkage: float = Field(default=0.1, ge=0, lt=0.9)
    default_aht_s: float = Field(default=300.0, gt=0, le=7200)
    patience_s: float | None = Field(default=None, gt=0, le=7200)
    max_abandon: float | None = Field(default=None, gt=0, lt=1)
    work_days: int = Field(default=5, ge=1, le=7)
    max_agents: int | None = Field(default=None, ge=1, le=100_000)
    name: str = Field(default="", max_length=120)


class ScheduleOut(Output):
    id: int
    name: str
    forecast_id: int | None
    queue: str
    skill: str | None
    week_start: date
    interval_min: int
    timezone: str
    params: dict[str, Any]
    result: dict[str, Any]
    created_at: datetime


class RequestIn(Input):
    kind: Literal["leave", "swap"]
    shift_id: int
    other_shift_id: int | None = None
    reason: str = Field(default="", max_length=500)


class RequestOut(Output):
    id: int
    kind: str
    status: str
    requester_id: int
    shift_id: int
    other_shift_id: int | None
    reason: str
    decided_by: int | None
    decided_at: datetime | None
    note: str
    created_at: datetime


class PreferencesIn(Input):
    avoid_nights: bool | None = None
    start_earliest_min: int | None = Field(default=None, ge=0, lt=1440)
    start_latest_min: int | None = Field(default=None, ge=0, lt=1440)
    preferred_days_off: list[int] | None = Field(default=None, max_length=7)

    @field_validator("preferred_days_off")
    @classmethod
    def _weekdays(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and any(not 0 <= d <= 6 for d in value):
            raise ValueError("weekdays are 0 (Monday) .. 6 (Sunday)")
        return value


class AgentSettingsIn(PreferencesIn):
    min_hours: float | None = Field(default=None, ge=0, le=84)
    max_hours: float | None = Field(default=None, gt=0, le=84)
    max_consecutive_days: int | None = Field(default=None, ge=1, le=13)


class EvaluateIn(Input):
    day: int = Field(default=0, ge=0, le=6)
    replications: int = Field(default=5, ge=1, le=20)


class DecisionIn(Input):
    approve: bool
    note: str = Field(default="", max_length=500)
