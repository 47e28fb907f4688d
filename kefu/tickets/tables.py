"""Work-order tables: groups (专班), templates, SLA policies, orders, notes, files, counters."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.base import Base, BigId, JsonData, TenantOwned, UTCDateTime

__all__ = [
    "BacklogSlot",
    "DailyStat",
    "GroupMember",
    "Notification",
    "OrderAttachment",
    "OrderComment",
    "SavedView",
    "SlaPolicyRow",
    "Template",
    "WorkGroup",
    "WorkOrder",
]


class WorkGroup(TenantOwned, Base):
    """A back-office group (专班) that handles orders; ``next_group_id`` is its escalation."""

    __tablename__ = "wo_groups"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(500), default="")
    level: Mapped[int] = mapped_column(Integer, default=1)  # 1 front back-office, 2, 3 疑难 …
    leader_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    next_group_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("wo_groups.id", ondelete="SET NULL"), nullable=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class GroupMember(TenantOwned, Base):
    __tablename__ = "wo_group_members"
    __table_args__ = (
        UniqueConstraint("tenant_id", "group_id", "user_id"),
        Index("ix_wo_group_members_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(BigId, ForeignKey("wo_groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    capacity: Mapped[int] = mapped_column(Integer, default=0)  # open orders at most; 0 = any
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SlaPolicyRow(TenantOwned, Base):
    """A tenant's SLA policy (targets, escalation), optionally for one category and priority."""

    __tablename__ = "wo_sla_policies"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)
    category: Mapped[str] = mapped_column(String(20), default="")  # "" = any
    priority: Mapped[str] = mapped_column(String(10), default="")  # "" = any
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Template(TenantOwned, Base):
    """A work-order template per problem type (e.g. 话费争议) with typed fields."""

    __tablename__ = "wo_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(20))
    business_type: Mapped[str] = mapped_column(String(60), default="")
    description: Mapped[str] = mapped_column(String(500), default="")
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JsonData, default=list)
    default_group_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("wo_groups.id", ondelete="SET NULL"), nullable=True
    )
    sla_policy_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("wo_sla_policies.id", ondelete="SET NULL"), nullable=True
    )
    default_priority: Mapped[str] = mapped_column(String(10), default="normal")
    followup_required: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class WorkOrder(TenantOwned, Base):
    """One work order (工单). ``version`` guards against lost concurrent edits."""

    __tablename__ = "work_orders"
    __table_args__ = (
        # my group's queue, sorted by deadline (the back-office workbench)
        Index("ix_work_orders_group_queue", "group_id", "is_open", "resolution_due", "id"),
        # my own queue
        Index("ix_work_orders_assignee_queue", "assignee_id", "is_open", "resolution_due", "id"),
        # orders I opened (首问负责)
        Index("ix_work_orders_creator", "creator_id", "created_at"),
        # the periodic SLA check picks only orders with something due
        Index("ix_work_orders_sla_next", "is_open", "sla_next_at"),
        # repeat complaints: same customer, same topic, recent
        Index("ix_work_orders_customer_topic", "customer_id", "topic", "created_at"),
        # the routing engine's events name the contact an order rides on
        Index("ix_work_orders_routing_contact", "routing_contact_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    template_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("wo_templates.id", ondelete="SET NULL"), nullable=True
    )
    category: Mapped[str] = mapped_column(String(20))
    business_type: Mapped[str] = mapped_column(String(60), default="")
    topic: Mapped[str] = mapped_column(String(60), default="")  # hot-spot key: template code
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    status: Mapped[str] = mapped_column(String(24), default="new")
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    group_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("wo_groups.id", ondelete="SET NULL"), nullable=True
    )
    last_group_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    assignee_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    creator_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )  # first-contact owner (首问负责人)
    customer_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="SET NULL"), nullable=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("customer_interactions.id", ondelete="SET NULL"), nullable=True
    )
    customer_name: Mapped[str] = mapped_column(String(120), default="")
    customer_phone: Mapped[str] = mapped_column(String(40), default="")
    callback_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    callback_before: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)
    sla_policy: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)  # snapshot
    due_override: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cycle_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    pauses: Mapped[list[list[str | None]]] = mapped_column(JsonData, default=list)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    first_response_due: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolution_due: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    legal_due: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sla_phase: Mapped[str] = mapped_column(String(12), default="ok")
    sla_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sla_marks: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    regulator_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    repeat_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    merged_into_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("work_orders.id", ondelete="SET NULL"), nullable=True
    )
    followup_status: Mapped[str] = mapped_column(String(12), default="")
    followup_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # the 回访 call task: when to call (inside the customer's preferred window); None for SMS
    followup_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    satisfaction: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # the routing contact (media work_order) that offers or holds the order, and its priority
    routing_contact_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    routing_priority: Mapped[int | None] = mapped_column(Integer, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declaration

    @property
    def number(self) -> str:
        return f"GD{self.id:08d}"


class OrderComment(TenantOwned, Base):
    """An internal note (内部备注) or a customer-visible reply (客户回复)."""

    __tablename__ = "wo_comments"
    __table_args__ = (Index("ix_wo_comments_order", "order_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("work_orders.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    visibility: Mapped[str] = mapped_column(String(10), default="internal")  # or "customer"
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OrderAttachment(TenantOwned, Base):
    """A file stored under ``var/attachments``; the row keeps its name, type, size and hash."""

    __tablename__ = "wo_attachments"
    __table_args__ = (Index("ix_wo_attachments_order", "order_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("work_orders.id", ondelete="CASCADE"), nullable=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Notification(TenantOwned, Base):
    """A message to one user about an order (resolved, escalated, due soon …)."""

    __tablename__ = "wo_notifications"
    __table_args__ = (Index("ix_wo_notifications_user", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("work_orders.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SavedView(TenantOwned, Base):
    """A user's named queue filter (e.g. "本组即将超时的投诉")."""

    __tablename__ = "wo_saved_views"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    filters: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)


class DailyStat(TenantOwned, Base):
    """Report counters per local day and dimension, kept up to date in each writing transaction.

    ``group_id``/``agent_id`` are 0 when unknown (so the unique key has no NULLs).
    """

    __tablename__ = "wo_daily_stats"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "day", "group_id", "agent_id", "category", "business_type", "topic"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    group_id: Mapped[int] = mapped_column(BigId, default=0)
    agent_id: Mapped[int] = mapped_column(BigId, default=0)
    category: Mapped[str] = mapped_column(String(20), default="")
    business_type: Mapped[str] = mapped_column(String(60), default="")
    topic: Mapped[str] = mapped_column(String(60), default="")
    created: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    overdue: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)


class BacklogSlot(Base):
    """Open orders per group and creation slot: the backlog-by-age report reads these few
    thousand rows instead of every open order. ``span`` ``h`` rows count per UTC hour, ``d``
    rows per UTC day (both are kept; the report reads hours for the last month, days before).
    Maintained by ``kefu.tickets.backlog`` at every flush that opens, closes or moves an order;
    rows falling to zero are deleted."""

    __tablename__ = "wo_backlog_slots"

    tenant_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    span: Mapped[str] = mapped_column(String(1), primary_key=True)
    slot: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    group_id: Mapped[int] = mapped_column(BigId, primary_key=True)  # 0 = no group
    open_count: Mapped[int] = mapped_column(Integer, default=0)
