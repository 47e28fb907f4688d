"""API schemas of work orders: strict inputs (unknown fields refused) and outputs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from kefu.api.schemas import Input, Output
from kefu.tickets.model import Action

__all__ = [
    "ActionIn",
    "AttachmentOut",
    "BulkIn",
    "CommentIn",
    "CommentOut",
    "ExtendIn",
    "FollowUpIn",
    "GroupIn",
    "GroupOut",
    "GroupPatch",
    "MemberIn",
    "MembersIn",
    "MergeIn",
    "OrderIn",
    "OrderOut",
    "OrderPatch",
    "PolicyIn",
    "PolicyOut",
    "PolicyPatch",
    "TemplateIn",
    "TemplateOut",
    "TemplatePatch",
    "ViewIn",
    "ViewOut",
]

Code = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
CategoryName = Literal["consultation", "complaint", "suggestion", "fault", "service_request"]
PriorityName = Literal["low", "normal", "high", "urgent"]


class GroupIn(Input):
    code: str = Code
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=500)
    level: int = Field(default=1, ge=1, le=9)
    leader_id: int | None = None
    next_group_id: int | None = None
    active: bool = True


class GroupPatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=500)
    level: int | None = Field(default=None, ge=1, le=9)
    leader_id: int | None = None
    next_group_id: int | None = None
    active: bool | None = None


class GroupOut(Output):
    id: int
    code: str
    name: str
    description: str
    level: int
    leader_id: int | None
    next_group_id: int | None
    active: bool


class MemberIn(Input):
    user_id: int
    capacity: int = Field(default=0, ge=0, le=10_000)


class MembersIn(Input):
    members: list[MemberIn] = Field(max_length=500)


class PolicyIn(Input):
    code: str = Code
    name: str = Field(min_length=1, max_length=200)
    base: Literal["telecom_cn", "bank_cn", "power_cn_95598"] | None = None
    definition: dict[str, Any] | None = None
    category: CategoryName | Literal[""] = ""
    priority: PriorityName | Literal[""] = ""


class PolicyPatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    definition: dict[str, Any] | None = None
    category: CategoryName | Literal[""] | None = None
    priority: PriorityName | Literal[""] | None = None
    active: bool | None = None


class PolicyOut(Output):
    id: int
    code: str
    name: str
    definition: dict[str, Any]
    category: str
    priority: str
    active: bool


class TemplateIn(Input):
    code: str = Code
    name: str = Field(min_length=1, max_length=120)
    category: CategoryName
    business_type: str = Field(default="", max_length=60)
    description: str = Field(default="", max_length=500)
    fields: list[dict[str, Any]] = Field(default_factory=list, max_length=60)
    default_group_id: int | None = None
    sla_policy_id: int | None = None
    default_priority: PriorityName = "normal"
    followup_required: bool = True
    active: bool = True


class TemplatePatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    business_type: str | None = Field(default=None, max_length=60)
    description: str | None = Field(default=None, max_length=500)
    fields: list[dict[str, Any]] | None = Field(default=None, max_length=60)
    default_group_id: int | None = None
    sla_policy_id: int | None = None
    default_priority: PriorityName | None = None
    followup_required: bool | None = None
    active: bool | None = None


class TemplateOut(Output):
    id: int
    code: str
    name: str
    category: str
    business_type: str
    description: str
    fields: list[dict[str, Any]]
    default_group_id: int | None
    sla_policy_id: int | None
    default_priority: str
    followup_required: bool
    active: bool


class OrderIn(Input):
    template_id: int
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    fields: dict[str, Any] = Field(default_factory=dict)
    priority: PriorityName | None = None
    group_id: int | None = None
    customer_id: int | None = None
    contact_id: int | None = None
    customer_name: str = Field(default="", max_length=120)
    customer_phone: str = Field(default="", max_length=40)
    callback_after: AwareDatetime | None = None
    callback_before: AwareDatetime | None = None
    due: AwareDatetime | None = None
    attachment_ids: list[int] = Field(default_factory=list, max_length=20)


class OrderPatch(Input):
    version: int
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    fields: dict[str, Any] | None = None
    priority: PriorityName | None = None
    callback_after: AwareDatetime | None = None
    callback_before: AwareDatetime | None = None


class ActionIn(Input):
    action: Action
    version: int
    reason: str = Field(default="", max_length=2000)
    assignee_id: int | None = None
    group_id: int | None = None


class BulkIn(Input):
    ids: list[int] = Field(min_length=1, max_length=200)
    action: Action
    reason: str = Field(default="", max_length=2000)
    assignee_id: int | None = None
    group_id: int | None = None


class CommentIn(Input):
    body: str = Field(min_length=1, max_length=10_000)
    visibility: Literal["internal", "customer"] = "internal"


class CommentOut(Output):
    id: int
    order_id: int
    author_id: int | None
    visibility: str
    body: str
    created_at: datetime


class FollowUpIn(Input):
    version: int
    solved: bool
    channel: Literal["call", "sms", "chat", "wechat", "email"] = "call"
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    note: str = Field(default="", max_length=2000)


class ExtendIn(Input):
    version: int
    reason: str = Field(min_length=1, max_length=2000)
    customer_notified: bool


class MergeIn(Input):
    version: int
    into_id: int
    reason: str = Field(default="", max_length=2000)


class ViewIn(Input):
    name: str = Field(min_length=1, max_length=80)
    filters: dict[str, str | int | bool | None] = Field(default_factory=dict, max_length=20)


class ViewOut(Output):
    id: int
    name: str
    filters: dict[str, Any]


class AttachmentOut(Output):
    id: int
    order_id: int | None
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class ClockOut(Output):
    name: str
    phase: str
    due: datetime | None
    warn_at: datetime | None
    used_s: float
    budget_s: float
    fraction: float


class OrderOut(Output):
    id: int
    number: str
    template_id: int | None
    category: str
    business_type: str
    topic: str
    title: str
    description: str
    priority: str
    status: str
    is_open: bool
    group_id: int | None
    last_group_id: int | None
    assignee_id: int | None
    creator_id: int | None
    customer_id: int | None
    contact_id: int | None
    customer_name: str
    customer_phone: str
    callback_after: datetime | None
    callback_before: datetime | None
    fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    first_response_due: datetime | None
    resolution_due: datetime | None
    legal_due: datetime | None
    sla_phase: str
    escalation_level: int
    regulator_risk: bool
    extensions: int
    repeat_count: int
    reopen_count: int
    merged_into_id: int | None
    followup_status: str
    satisfaction: int | None
    version: int
    policy: str = ""
    allowed_actions: list[str] = Field(default_factory=list)
    repeat: bool = False
