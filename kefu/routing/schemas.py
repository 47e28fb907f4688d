"""API schemas of routing: contacts, agent actions, configuration."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from kefu.api.schemas import Input, Output

__all__ = [
    "AgentSkillsIn",
    "ContactIn",
    "ContactOut",
    "QueueIn",
    "QueueOut",
    "QueuePatch",
    "SkillIn",
    "SkillOut",
    "SkillPatch",
    "StateIn",
    "TransferIn",
]

MediaName = Literal["voice", "callback", "video", "chat", "sms", "social", "email", "work_order"]
StrategyName = Literal[
    "longest_idle", "least_occupied", "highest_skill", "round_robin", "top_down", "weighted"
]
Code = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")


class SkillRequirement(Input):
    skill: str = Code
    min_level: int = Field(default=1, ge=1, le=10)


class SkillIn(Input):
    code: str = Code
    name: str = Field(min_length=1, max_length=120)


class SkillPatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=120)


class SkillOut(Output):
    id: int
    code: str
    name: str


class QueueIn(Input):
    code: str = Code
    name: str = Field(min_length=1, max_length=120)
    media: MediaName = "voice"
    skills: list[SkillRequirement] = Field(default_factory=list, max_length=20)
    priority: int = Field(default=0, ge=-1000, le=1000)
    strategy: StrategyName = "longest_idle"
    sl_target: float = Field(default=0.8, gt=0, le=1)
    sl_threshold_s: int = Field(default=20, ge=1, le=86400)
    max_wait_s: int = Field(default=600, ge=0, le=7 * 86400)
    site_id: int | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class QueuePatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    skills: list[SkillRequirement] | None = Field(default=None, max_length=20)
    priority: int | None = Field(default=None, ge=-1000, le=1000)
    strategy: StrategyName | None = None
    sl_target: float | None = Field(default=None, gt=0, le=1)
    sl_threshold_s: int | None = Field(default=None, ge=1, le=86400)
    max_wait_s: int | None = Field(default=None, ge=0, le=7 * 86400)
    options: dict[str, Any] | None = None


class QueueOut(Output):
    id: int
    code: str
    name: str
    media: str
    skills: list[dict[str, Any]]
    priority: int
    strategy: str
    sl_target: float
    sl_threshold_s: int
    max_wait_s: int
    site_id: int | None
    options: dict[str, Any]


class ContactIn(Input):
    queue: str = Code
    media: MediaName = "voice"
    external_id: str | None = Field(default=None, min_length=1, max_length=120)
    customer_id: int | None = None
    priority: float = Field(default=0, ge=-1000, le=1000)
    attributes: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=50)
    skills: dict[str, int] = Field(default_factory=dict, max_length=20)
    sla_deadline: AwareDatetime | None = None


class ContactOut(Output):
    id: str
    external_id: str | None
    queue_code: str
    media: str
    customer_id: int | None
    status: str
    outcome: str
    agent_id: int | None
    created_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    wait_s: float | None
    note: str
    position: int | None = None
    expected_wait_s: float | None = None


class StateIn(Input):
    presence: Literal["ready", "not_ready"]
    reason: str = Field(default="", max_length=40)


class TransferIn(Input):
    queue: str | None = Field(default=None, min_length=1, max_length=40)
    agent_id: int | None = None
    note: str = Field(default="", max_length=2000)


class AgentSkillsIn(Input):
    skills: dict[str, int] = Field(max_length=50)
