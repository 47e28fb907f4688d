"""Work-order services: every write goes through a ``Scoped`` and records its event first.

Transactions belong to the caller (the API handler commits). Each state change is recorded
with ``scope.emit`` on topic ``workorders.order.<id>`` before the row changes, so the event log
is the order's full history (the timeline). Report counters (``wo_daily_stats``) are bumped in
the same transaction.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Table, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kefu.channels import normalise_phone, queue_sms
from kefu.core.calendar import BusinessCalendar
from kefu.core.clock import Clock
from kefu.core.errors import ConflictError, FieldError, ValidationFailed
from kefu.db.eventlog import EventRecord
from kefu.tenancy import Principal, Scoped, tenant_calendar
from kefu.tickets import backlog as _backlog  # noqa: F401 - keeps the backlog rollup
from kefu.tickets.model import (
    CATEGORIES,
    OPEN,
    PAUSED,
    PRIORITIES,
    Action,
    Category,
    Status,
    transition,
)
from kefu.tickets.policies import (
    REPEAT_WINDOW_DAYS,
    MemberLoad,
    choose_member,
    followup_call_time,
    parse_field_specs,
    validate_values,
)
from kefu.tickets.sla import (
    LEGAL,
    RESOLUTION,
    TEMPLATES,
    ClockState,
    EscalationAction,
    SlaPolicy,
    due_escalations,
    evaluate_policy,
    next_check,
)
from kefu.tickets.tables import (
    DailyStat,
    GroupMember,
    Notification,
    OrderAttachment,
    OrderComment,
    SlaPolicyRow,
    Template,
    WorkGroup,
    WorkOrder,
)

__all__ = [
    "DEFAULT_POLICY",
    "FOLLOWUP_REF",
    "ROUTED",
    "SMS_QUEUED",
    "TOUCHED",
    "SlaReport",
    "act",
    "add_comment",
    "assign_routed",
    "assign_within_group",
    "check_sla",
    "create_group",
    "create_order",
    "create_policy",
    "create_template",
    "extend_deadline",
    "follow_up",
    "member_loads",
    "merge_orders",
    "order_topic",
    "resolve_policy",
    "set_members",
    "sla_states",
    "timeline",
    "update_order",
]

DEFAULT_POLICY = "telecom_cn"
FOLLOWUP_REF = "workorder.followup"  # what the 回访 SMS is about (its replies come back here)
# ``session.info`` keys. ROUTED: the routing engine assigns orders inside groups (set by the API
# and the SLA worker); TOUCHED: ids of orders changed in this transaction, which
# ``kefu.tickets.dispatch.sync_orders`` brings in line with their routing contacts after commit.
ROUTED = "wo_routed"
TOUCHED = "wo_touched"
CLOSED_STATES = frozenset({Status.CLOSED.value, Status.CANCELLED.value})


def order_topic(order_id: int) -> str:
    return f"workorders.order.{order_id}"


def _emit(scope: Scoped, order: WorkOrder, event: str, **data: Any) -> None:
    scope.emit(f"workorder.{event}", order_topic(order.id), {"order_id": order.id, **data})


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


_CALENDARS: dict[tuple[str, int], tuple[float, BusinessCalendar]] = {}
CALENDAR_TTL_S = 60.0  # a tenant's new holiday reaches running SLA math within a minute


def _calendar(scope: Scoped) -> BusinessCalendar:
    """The tenant's business calendar, cached per process for ``CALENDAR_TTL_S`` seconds."""
    now = time.monotonic()
    bind = scope.session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    key = (str(engine.url), scope.tenant_id)  # one database, one tenant
    cached = _CALENDARS.get(key)
    if cached is not None and now - cached[0] < CALENDAR_TTL_S:
        return cached[1]
    calendar = tenant_calendar(scope.session, scope.tenant_id)
    _CALENDARS[key] = (now, calendar)
    return calendar


def tenant_zone(scope: Scoped) -> ZoneInfo:
    """The tenant's time zone (for display)."""
    return _calendar(scope).zone


def local_today(scope: Scoped) -> date:
    """Today in the tenant's time zone."""
    return _calendar(scope).to_local(scope.clock.now()).date()


def _check_version(order: WorkOrder, version: int | None) -> None:
    if version is None or version != order.version:
        raise ConflictError("stale_version", id=order.id, current=order.version, sent=version)


def _editable(order: WorkOrder) -> None:
    if order.status in CLOSED_STATES:
        raise ConflictError("order_closed", id=order.id, state=order.status)


# --- report counters -------------------------------------------------------------------------


def _bump(scope: Scoped, order: WorkOrder, *, agent_id: int | None = None, **counts: int) -> None:
    """Add to the day's counters of the order's dimensions (an upsert, safe under concurrency)."""
    day = _calendar(scope).to_local(scope.clock.now()).date()
    key = {
        "tenant_id": scope.tenant_id,
        "day": day,
        "group_id": order.group_id or 0,
        "agent_id": agent_id or 0,
        "category": order.category,
        "business_type": order.business_type,
        "topic": order.topic,
    }
    bump_stats(scope.session, key, counts)


_UPSERTS: dict[tuple[str, tuple[str, ...], tuple[str, ...]], Any] = {}


def _upsert(dialect: str, keys: tuple[str, ...], counters: tuple[str, ...]) -> Any:
    """One statement per shape, built once (bound parameters): constructing and compiling an
    upsert was a good part of an order's creation."""
    stmt = _UPSERTS.get((dialect, keys, counters))
    if stmt is None:
        table = cast(Table, DailyStat.__table__)
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        base = insert(table).values({c: bindparam(c) for c in (*keys, *counters)})
        stmt = base.on_conflict_do_update(
            index_elements=list(keys),
            set_={k: table.c[k] + base.excluded[k] for k in counters},
        )
        _UPSERTS[(dialect, keys, counters)] = stmt
    return stmt


def bump_stats(session: Session, key: Mapping[str, Any], counts: Mapping[str, int]) -> None:
    dialect = session.get_bind().dialect.name
    stmt = _upsert(dialect, tuple(key), tuple(sorted(counts)))
    session.execute(stmt, {**key, **{k: int(v) for k, v in counts.items()}})


# --- groups, policies, templates ------------------------------------------------------------


def _code_taken(scope: Scoped, model: Any, code: str) -> bool:
    query = select(model.id).where(model.tenant_id == scope.tenant_id, model.code == code)
    return scope.session.scalar(query) is not None


def create_group(scope: Scoped, **values: Any) -> WorkGroup:
    scope.check_refs(values, {"next_group_id": WorkGroup})
    if _code_taken(scope, WorkGroup, values["code"]):
        raise ConflictError("duplicate", field="code", value=values["code"])
    group = scope.add(WorkGroup(**values))
    scope.emit("workgroup.created", "workorders", {"id": group.id, "code": group.code})
    return group


def update_group(scope: Scoped, group_id: int, **changes: Any) -> WorkGroup:
    group = scope.get(WorkGroup, group_id, entity="wo_groups")
    scope.check_refs(changes, {"next_group_id": WorkGroup})
    if changes.get("next_group_id") == group.id:
        raise ValidationFailed(errors=[FieldError("next_group_id", "error.field.invalid")])
    for key, value in changes.items():
        setattr(group, key, value)
    scope.emit("workgroup.updated", "workorders", {"id": group.id, "fields": sorted(changes)})
    return group


def set_members(
    scope: Scoped, group_id: int, members: Sequence[tuple[int, int]]
) -> list[GroupMember]:
    """Replace a group's members with ``(user_id, capacity)`` pairs (users checked by caller)."""
    group = scope.get(WorkGroup, group_id, entity="wo_groups")
    existing = {
        m.user_id: m
        for m in scope.session.scalars(
            scope.select(GroupMember).where(GroupMember.group_id == group.id)
        )
    }
    wanted = dict(members)
    for user_id, member in existing.items():
        if user_id not in wanted:
            scope.session.delete(member)
    out = []
    for user_id, capacity in wanted.items():
        member = existing.get(user_id)
        if member is None:
            member = scope.add(GroupMember(group_id=group.id, user_id=user_id, capacity=capacity))
        else:
            member.capacity = capacity
            member.active = True
        out.append(member)
    scope.session.flush()
    scope.emit("workgroup.members", "workorders", {"id": group.id, "members": sorted(wanted)})
    return out


def _policy_from(values: Mapping[str, Any]) -> SlaPolicy:
    try:
        return SlaPolicy.from_dict(values)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationFailed(
            errors=[FieldError("definition", "error.field.value_error", error=str(exc))]
        ) from exc


def create_policy(
    scope: Scoped,
    *,
    code: str,
    name: str,
    base: str | None = None,
    definition: Mapping[str, Any] | None = None,
    category: str = "",
    priority: str = "",
) -> SlaPolicyRow:
    """A tenant policy from a shipped template (``base``) and/or an explicit definition."""
    if base is not None and base not in TEMPLATES:
        raise ValidationFailed(errors=[FieldError("base", "error.field.invalid")])
    raw: dict[str, Any] = TEMPLATES[base].to_dict() if base else {}
    raw.update(definition or {})
    raw["code"] = code
    policy = _policy_from(raw)
    if _code_taken(scope, SlaPolicyRow, code):
        raise ConflictError("duplicate", field="code", value=code)
    row = scope.add(
        SlaPolicyRow(
            code=code, name=name, definition=policy.to_dict(), category=category, priority=priority
        )
    )
    scope.emit("slapolicy.created", "workorders", {"id": row.id, "code": code})
    return row


def update_policy(scope: Scoped, policy_id: int, **changes: Any) -> SlaPolicyRow:
    row = scope.get(SlaPolicyRow, policy_id, entity="wo_sla_policies")
    if "definition" in changes:
        raw = {**row.definition, **(changes.pop("definition") or {}), "code": row.code}
        row.definition = _policy_from(raw).to_dict()
    for key, value in changes.items():
        setattr(row, key, value)
    scope.emit("slapolicy.updated", "workorders", {"id": row.id})
    return row


def resolve_policy(
    scope: Scoped, template: Template | None, category: str, priority: str
) -> SlaPolicy:
    """The template's policy, else the most specific tenant policy, else ``telecom_cn``."""
    if template is not None and template.sla_policy_id is not None:
        row = scope.session.get(SlaPolicyRow, template.sla_policy_id)
        if row is not None and row.active:
            return SlaPolicy.from_dict(row.definition)
    rows = scope.session.scalars(
        scope.select(SlaPolicyRow).where(
            SlaPolicyRow.active.is_(True),
            SlaPolicyRow.category.in_(("", category)),
            SlaPolicyRow.priority.in_(("", priority)),
        )
    ).all()
    if rows:
        best = max(rows, key=lambda r: (r.category == category, r.priority == priority, -r.id))
        return SlaPolicy.from_dict(best.definition)
    return TEMPLATES[DEFAULT_POLICY]


def _template_values(values: dict[str, Any]) -> dict[str, Any]:
    if "fields" in values:
        values["fields"] = [s.to_dict() for s in parse_field_specs(values["fields"])]
    if "category" in values and values["category"] not in CATEGORIES:
        raise ValidationFailed(errors=[FieldError("category", "error.field.invalid")])
    return values


def create_template(scope: Scoped, **values: Any) -> Template:
    values = _template_values(dict(values))
    scope.check_refs(values, {"default_group_id": WorkGroup, "sla_policy_id": SlaPolicyRow})
    if _code_taken(scope, Template, values["code"]):
        raise ConflictError("duplicate", field="code", value=values["code"])
    template = scope.add(Template(**values))
    scope.emit("wotemplate.created", "workorders", {"id": template.id, "code": template.code})
    return template


def update_template(scope: Scoped, template_id: int, **changes: Any) -> Template:
    template = scope.get(Template, template_id, entity="wo_templates")
    changes = _template_values(dict(changes))
    scope.check_refs(changes, {"default_group_id": WorkGroup, "sla_policy_id": SlaPolicyRow})
    for key, value in changes.items():
        setattr(template, key, value)
    scope.emit("wotemplate.updated", "workorders", {"id": template.id, "fields": sorted(changes)})
    return template


# --- SLA bookkeeping -------------------------------------------------------------------------


def _pauses(order: WorkOrder) -> list[tuple[datetime, datetime | None]]:
    return [
        (datetime.fromisoformat(str(a)), datetime.fromisoformat(str(b)) if b else None)
        for a, b in order.pauses or []
    ]


def sla_states(
    scope: Scoped, order: WorkOrder, now: datetime | None = None
) -> dict[str, ClockState]:
    """The order's SLA clocks at ``now`` (default: the scope's clock)."""
    policy = SlaPolicy.from_dict(order.sla_policy)
    return evaluate_policy(
        policy,
        _calendar(scope),
        order.cycle_started_at,
        now or scope.clock.now(),
        pauses=_pauses(order),
        first_response_at=order.first_response_at,
        resolved_at=order.resolved_at,
        extensions=order.extensions,
        resolution_due=order.due_override,
    )


def _refresh_sla(scope: Scoped, order: WorkOrder) -> dict[str, ClockState]:
    now = scope.clock.now()
    states = sla_states(scope, order, now)
    due = {name: state.due for name, state in states.items()}
    order.first_response_due = due.get("first_response")
    order.resolution_due = due.get(RESOLUTION) if order.is_open or order.resolved_at else None
    order.legal_due = due.get(LEGAL)
    resolution = states[RESOLUTION]
    order.sla_phase = resolution.phase
    order.sla_next_at = next_check(states, now) if order.is_open else None
    return states


def _marks(order: WorkOrder) -> dict[str, list[Any]]:
    marks = dict(order.sla_marks or {})
    return {k: list(marks.get(k, [])) for k in ("warned", "breached", "steps")}


# --- orders ----------------------------------------------------------------------------------


def _routed(scope: Scoped) -> bool:
    return bool(scope.session.info.get(ROUTED))


def _touch(scope: Scoped, order: WorkOrder) -> None:
    if _routed(scope):
        scope.session.info.setdefault(TOUCHED, set()).add(order.id)


def _set_status(order: WorkOrder, status: Status, now: datetime) -> None:
    order.status = status.value
    order.is_open = status in OPEN
    order.updated_at = now


def _apply(
    scope: Scoped,
    order: WorkOrder,
    action: Action,
    *,
    actor_id: int | None,
    reason: str = "",
    **data: Any,
) -> None:
    """Make one workflow move: validate, record the event first, then change the row."""
    _touch(scope, order)
    now = scope.clock.now()
    move = transition(order.status, action, actor_id=actor_id, reason=reason, at=now)
    _emit(scope, order, action.value, transition=move.as_dict(), **data)
    was_paused = Status(order.status) in PAUSED
    _set_status(order, move.target, now)
    if move.target in PAUSED and not was_paused:
        order.pauses = [*(order.pauses or []), [now.isoformat(), None]]
    elif was_paused and move.target not in PAUSED:
        pauses = [list(p) for p in order.pauses or []]
        if pauses and pauses[-1][1] is None:
            pauses[-1][1] = now.isoformat()
        order.pauses = pauses


def _group(scope: Scoped, group_id: int | None) -> WorkGroup:
    if group_id is None:
        raise ValidationFailed(errors=[FieldError("group_id", "error.field.missing")])
    group = scope.session.get(WorkGroup, group_id)
    if group is None or group.tenant_id != scope.tenant_id or not group.active:
        raise ValidationFailed(
            errors=[FieldError("group_id", "error.field.unknown_reference", value=group_id)]
        )
    return group


def _member_of(scope: Scoped, group_id: int, user_id: int) -> bool:
    return (
        scope.session.scalar(
            select(GroupMember.id).where(
                GroupMember.tenant_id == scope.tenant_id,
                GroupMember.group_id == group_id,
                GroupMember.user_id == user_id,
                GroupMember.active.is_(True),
            )
        )
        is not None
    )


def _notify(scope: Scoped, user_id: int | None, order: WorkOrder, kind: str) -> None:
    if user_id is None:
        return
    scope.session.add(
        Notification(
            tenant_id=scope.tenant_id,
            user_id=user_id,
            order_id=order.id,
            kind=kind,
            created_at=scope.clock.now(),
        )
    )
    scope.emit(
        "workorder.notified", f"workorders.user.{user_id}", {"order_id": order.id, "kind": kind}
    )


def member_loads(scope: Scoped, group_id: int) -> list[MemberLoad]:
    """Active members of a group with their open orders and capacity (one query)."""
    open_orders = (
        select(func.count())
        .where(WorkOrder.assignee_id == GroupMember.user_id, WorkOrder.is_open.is_(True))
        .correlate(GroupMember)
        .scalar_subquery()
    )
    rows = scope.session.execute(
        select(GroupMember.user_id, GroupMember.capacity, open_orders).where(
            GroupMember.tenant_id == scope.tenant_id,
            GroupMember.group_id == group_id,
            GroupMember.active.is_(True),
        )
    ).all()
    return [MemberLoad(user_id, int(count or 0), capacity) for user_id, capacity, count in rows]


def _pick_member(scope: Scoped, group_id: int, *, exclude: int | None = None) -> int | None:
    return choose_member(member_loads(scope, group_id), exclude=exclude)


def timeline(scope: Scoped, order: WorkOrder, limit: int = 1000) -> list[EventRecord]:
    """The order's recorded events, oldest first (its full history)."""
    return list(
        scope.session.scalars(
            select(EventRecord)
            .where(
                EventRecord.tenant_id == scope.tenant_id,
                EventRecord.topic == order_topic(order.id),
            )
            .order_by(EventRecord.id)
            .limit(limit)
        )
    )


def assign_within_group(
    scope: Scoped, order: WorkOrder, *, exclude: int | None = None
) -> int | None:
    """Give an order waiting in its group to a member.

    With the routing engine (``session.info[ROUTED]``: the server's API and SLA worker) the order
    only waits here: after the commit it is offered as a routing contact to the group's queue and
    assigned when the engine offers it to a member (``kefu.tickets.dispatch``). Without an engine
    (demo seed, bulk imports, services used alone) the member with the fewest open orders gets
    it. Returns the chosen user id, or None (stays queued, or left to the engine).
    """
    if order.group_id is None or order.status not in (Status.NEW.value, Status.REOPENED.value):
        return None
    if _routed(scope):
        _touch(scope, order)
        return None
    chosen = _pick_member(scope, order.group_id, exclude=exclude)
    if chosen is None:
        return None
    _apply(
        scope,
        order,
        Action.ASSIGN,
        actor_id=None,
        reason="auto",
        assignee_id=chosen,
        group_id=order.group_id,
    )
    order.assignee_id = chosen
    _notify(scope, chosen, order, "assigned")
    return chosen


def assign_routed(scope: Scoped, order: WorkOrder, user_id: int) -> bool:
    """The routing engine offered the order's contact to ``user_id``: assign it (system actor)."""
    if order.status not in (Status.NEW.value, Status.REOPENED.value) or order.group_id is None:
        return False
    _apply(
        scope,
        order,
        Action.ASSIGN,
        actor_id=None,
        reason="routing",
        assignee_id=user_id,
        group_id=order.group_id,
    )
    order.assignee_id = user_id
    _notify(scope, user_id, order, "assigned")
    return True


@dataclass
class Created:
    order: WorkOrder
    repeat: bool = False  # a repeat complaint: an existing order was reopened or reminded


def _attachments(scope: Scoped, ids: Iterable[int], field_name: str) -> list[OrderAttachment]:
    out = []
    for attachment_id in ids:
        row = scope.session.get(OrderAttachment, attachment_id)
        if row is None or row.tenant_id != scope.tenant_id or row.order_id is not None:
            raise ValidationFailed(
                errors=[
                    FieldError(field_name, "error.field.unknown_reference", value=attachment_id)
                ]
            )
        out.append(row)
    return out


def _recent_same_topic(scope: Scoped, customer_id: int, topic: str) -> WorkOrder | None:
    since = scope.clock.now() - timedelta(days=REPEAT_WINDOW_DAYS)
    found: WorkOrder | None = scope.session.scalar(
        scope.select(WorkOrder)
        .where(
            WorkOrder.customer_id == customer_id,
            WorkOrder.topic == topic,
            WorkOrder.created_at >= since,
            WorkOrder.status != Status.CANCELLED.value,
        )
        .order_by(WorkOrder.created_at.desc())
        .limit(1)
    )
    return found


def create_order(
    scope: Scoped,
    *,
    template_id: int,
    title: str,
    description: str = "",
    fields: Mapping[str, Any] | None = None,
    priority: str | None = None,
    group_id: int | None = None,
    customer_id: int | None = None,
    contact_id: int | None = None,
    customer_name: str = "",
    customer_phone: str = "",
    callback_after: datetime | None = None,
    callback_before: datetime | None = None,
    due: datetime | None = None,
    attachment_ids: Sequence[int] = (),
    auto_assign: bool = True,
) -> Created:
    """Open an order from a template (customer and contact ids are checked by the caller).

    A complaint from the same customer on the same topic within 30 days is a repeat: the earlier
    order is reopened to its last group (or, when still open, reminded) and its repeat count goes
    up; no second order is created.
    """
    now = scope.clock.now()
    template = scope.get(Template, template_id, entity="wo_templates")
    if not template.active:
        raise ValidationFailed(errors=[FieldError("template_id", "error.field.inactive")])
    values = validate_values(parse_field_specs(template.fields), fields or {})
    priority = priority or template.default_priority
    if priority not in PRIORITIES:
        raise ValidationFailed(errors=[FieldError("priority", "error.field.invalid")])
    if callback_after and callback_before and callback_before <= callback_after:
        raise ValidationFailed(errors=[FieldError("callback_before", "error.field.bad_window")])
    if due is not None and due <= now:
        raise ValidationFailed(errors=[FieldError("due", "error.field.in_the_past")])
    attachment_fields = [
        s.key for s in parse_field_specs(template.fields) if s.type.value == "attachment"
    ]
    file_ids = [*attachment_ids, *(i for k in attachment_fields for i in values.get(k, []))]
    files = _attachments(scope, dict.fromkeys(file_ids), "attachment_ids")

    if template.category == Category.COMPLAINT.value and customer_id is not None:
        earlier = _recent_same_topic(scope, customer_id, template.code)
        if earlier is not None:
            _repeat(scope, earlier, f"{title}：{description}" if description else title)
            for row in files:
                row.order_id = earlier.id
            return Created(earlier, repeat=True)

    group = _group(scope, group_id or template.default_group_id)
    policy = resolve_policy(scope, template, template.category, priority)
    order = WorkOrder(
        tenant_id=scope.tenant_id,
        template_id=template.id,
        category=template.category,
        business_type=template.business_type,
        topic=template.code,
        title=title,
        description=description,
        priority=priority,
        status=Status.NEW.value,
        is_open=True,
        group_id=group.id,
        last_group_id=group.id,
        creator_id=scope.principal.user_id or None,
        customer_id=customer_id,
        contact_id=contact_id,
        customer_name=customer_name,
        customer_phone=customer_phone,
        callback_after=callback_after,
        callback_before=callback_before,
        fields=values,
        sla_policy=policy.to_dict(),
        due_override=due,
        created_at=now,
        updated_at=now,
        cycle_started_at=now,
        pauses=[],
        sla_marks={},
        escalation_level=0,
        regulator_risk=False,
        extensions=0,
        repeat_count=0,
        reopen_count=0,
        followup_status="",
    )
    # The first assignment is decided before the row is written, so a new order costs one INSERT;
    # its events are recorded in the same transaction right after (they need the order's id).
    routed = _routed(scope)
    assignee = _pick_member(scope, group.id) if auto_assign and not routed else None
    assign = (
        transition(Status.NEW, Action.ASSIGN, actor_id=None, reason="auto", at=now)
        if assignee is not None
        else None
    )
    if assign is not None:
        _set_status(order, assign.target, now)
        order.assignee_id = assignee
    _refresh_sla(scope, order)
    scope.add(order)  # flushed: the id names the events, the notification and the files
    with scope.session.no_autoflush:  # the rest goes out in the commit's one flush
        _created(scope, order, template, group, policy, files, assign, assignee, now)
    if routed and auto_assign:
        _touch(scope, order)
    return Created(order)


def _created(
    scope: Scoped,
    order: WorkOrder,
    template: Template,
    group: WorkGroup,
    policy: SlaPolicy,
    files: list[OrderAttachment],
    assign: Any,
    assignee: int | None,
    now: datetime,
) -> None:
    for row in files:
        row.order_id = order.id
    _emit(
        scope,
        order,
        "created",
        transition={
            "from": None,
            "to": "new",
            "action": "create",
            "actor_id": order.creator_id,
            "reason": "",
            "at": now.isoformat(),
        },
        group_id=group.id,
        template=template.code,
        policy=policy.code,
    )
    if assign is not None:
        _emit(scope, order, "assign", transition=assign.as_dict(), assignee_id=assignee)
        _notify(scope, assignee, order, "assigned")
    _bump(scope, order, created=1)


def _repeat(scope: Scoped, order: WorkOrder, text: str) -> None:
    order.repeat_count += 1
    scope.session.add(
        OrderComment(
            tenant_id=scope.tenant_id,
            order_id=order.id,
            author_id=scope.principal.user_id or None,
            visibility="internal",
            body=f"[重复投诉 #{order.repeat_count}] {text}",
            created_at=scope.clock.now(),
        )
    )
    if order.status in (Status.RESOLVED.value, Status.CLOSED.value):
        _reopen(scope, order, actor_id=scope.principal.user_id or None, reason="repeat_complaint")
    else:
        _emit(scope, order, "repeated", repeat_count=order.repeat_count)
        _notify(scope, order.assignee_id, order, "repeat_complaint")
        order.updated_at = scope.clock.now()


def _reopen(scope: Scoped, order: WorkOrder, *, actor_id: int | None, reason: str) -> None:
    """Back to the last group, a new SLA cycle, counted as a reopen."""
    last = order.last_group_id or order.group_id
    _apply(scope, order, Action.REOPEN, actor_id=actor_id, reason=reason, group_id=last)
    now = scope.clock.now()
    order.reopen_count += 1
    order.group_id = last
    order.assignee_id = None
    order.resolved_at = None
    order.closed_at = None
    order.first_response_at = None
    order.cycle_started_at = now
    order.due_override = None
    order.pauses = []
    order.sla_marks = {}
    order.escalation_level = 0
    _bump(scope, order, reopened=1)
    assign_within_group(scope, order)
    _refresh_sla(scope, order)


def update_order(scope: Scoped, order_id: int, *, version: int, **changes: Any) -> WorkOrder:
    """Change title, description, priority, template values or callback window of an open order."""
    order = scope.get(WorkOrder, order_id, entity="work_orders")
    _check_version(order, version)
    _editable(order)
    if "fields" in changes:
        template = scope.session.get(Template, order.template_id) if order.template_id else None
        specs = parse_field_specs(template.fields) if template else ()
        changes["fields"] = validate_values(specs, {**order.fields, **(changes["fields"] or {})})
    if "priority" in changes and changes["priority"] not in PRIORITIES:
        raise ValidationFailed(errors=[FieldError("priority", "error.field.invalid")])
    _emit(scope, order, "updated", fields=sorted(changes))
    for key, value in changes.items():
        setattr(order, key, value)
    order.updated_at = scope.clock.now()
    return order


def act(
    scope: Scoped,
    order_id: int,
    action: Action | str,
    *,
    version: int,
    reason: str = "",
    assignee_id: int | None = None,
    group_id: int | None = None,
) -> WorkOrder:
    """One workflow action on an order, as a person (assign, start, pause, resolve …)."""
    order = scope.get(WorkOrder, order_id, entity="work_orders")
    _check_version(order, version)
    wanted = Action(action)
    actor = scope.principal.user_id
    if wanted is Action.ASSIGN:
        target_group = group_id or order.group_id
        group = _group(scope, target_group)
        if assignee_id is None or not _member_of(scope, group.id, assignee_id):
            raise ValidationFailed(errors=[FieldError("assignee_id", "error.field.not_a_member")])
        _apply(
            scope,
            order,
            wanted,
            actor_id=actor,
            reason=reason,
            assignee_id=assignee_id,
            group_id=group.id,
        )
        if group.id != order.group_id:
            order.last_group_id = order.group_id = group.id
        order.assignee_id = assignee_id
        if assignee_id != actor:
            _notify(scope, assignee_id, order, "assigned")
    elif wanted is Action.TRANSFER:
        group = _group(scope, group_id)
        if group.id == order.group_id:
            raise ValidationFailed(errors=[FieldError("group_id", "error.field.same_group")])
        _apply(scope, order, wanted, actor_id=actor, reason=reason, group_id=group.id)
        order.group_id = order.last_group_id = group.id
        order.assignee_id = None
        _notify(scope, group.leader_id, order, "transferred")
        assign_within_group(scope, order)
    elif wanted is Action.START:
        _apply(scope, order, wanted, actor_id=actor, reason=reason)
        if order.assignee_id is None:
            order.assignee_id = actor
    elif wanted is Action.RESOLVE:
        if not reason.strip():
            raise ValidationFailed(errors=[FieldError("reason", "error.field.missing")])
        _resolve(scope, order, actor, reason)
    elif wanted is Action.CLOSE:
        if order.followup_status == "pending":
            raise ConflictError("followup_required", id=order.id)
        _apply(scope, order, wanted, actor_id=actor, reason=reason)
        order.closed_at = scope.clock.now()
    elif wanted is Action.REOPEN:
        _reopen(scope, order, actor_id=actor, reason=reason)
        return order
    elif wanted is Action.CANCEL:
        _apply(scope, order, wanted, actor_id=actor, reason=reason)
        _bump(scope, order, agent_id=order.assignee_id, cancelled=1)
    else:  # pause and resume
        _apply(scope, order, wanted, actor_id=actor, reason=reason)
    _refresh_sla(scope, order)
    return order


def _resolve(scope: Scoped, order: WorkOrder, actor: int | None, reason: str) -> None:
    states = sla_states(scope, order)
    _apply(scope, order, Action.RESOLVE, actor_id=actor, reason=reason)
    now = scope.clock.now()
    order.resolved_at = now
    if order.first_response_at is None:
        order.first_response_at = now
    template = scope.session.get(Template, order.template_id) if order.template_id else None
    needs_followup = order.category == Category.COMPLAINT.value or (
        template is not None and template.followup_required
    )
    order.followup_status = "pending" if needs_followup else ""
    on_time = not states[RESOLUTION].breached
    marks = _marks(order)
    counts = {"resolved": 1, "on_time": 1 if on_time else 0}
    if not on_time and RESOLUTION not in marks["breached"]:
        counts["overdue"] = 1  # the periodic check had not counted this breach yet
    _bump(scope, order, agent_id=order.assignee_id or actor, **counts)
    _notify(scope, order.creator_id, order, "resolved")  # 首问负责: the opener hears back
    if needs_followup:
        _start_followup(scope, order)


SURVEY_TEXT = (
    "【回访】您的工单{number}（{title}）已处理完毕。问题是否已解决？请回复数字：1 解决，2 未解决。"
)
SMS_QUEUED = "wo_sms_queued"  # session.info: deliver the outbox after this commit


def _start_followup(scope: Scoped, order: WorkOrder) -> None:
    """The 回访 starts by itself: an SMS survey to a mobile number, else a call task for the
    opener inside the customer's preferred callback window."""
    now = scope.clock.now()
    title = order.title if len(order.title) <= 20 else order.title[:19] + "…"
    message = None
    if order.customer_phone and normalise_phone(order.customer_phone):
        message = queue_sms(
            scope,
            order.customer_phone,
            SURVEY_TEXT.format(number=order.number, title=title),
            ref_type=FOLLOWUP_REF,
            ref_id=order.id,
        )
    if message is not None:
        scope.session.info[SMS_QUEUED] = True
        order.followup_due_at = None
        _emit(scope, order, "followup_sent", channel="sms", message_id=message.id)
        return
    due = followup_call_time(now, order.callback_after, order.callback_before)
    order.followup_due_at = due
    _emit(scope, order, "followup_scheduled", channel="call", at=due.isoformat())
    _notify(scope, order.creator_id, order, "followup_call")


def add_comment(
    scope: Scoped, order_id: int, *, body: str, visibility: str = "internal"
) -> OrderComment:
    """An internal note or a customer-visible reply; the first reply stops first-response."""
    order = scope.get(WorkOrder, order_id, entity="work_orders")
    _editable(order)
    if visibility not in ("internal", "customer"):
        raise ValidationFailed(errors=[FieldError("visibility", "error.field.invalid")])
    now = scope.clock.now()
    comment = scope.add(
        OrderComment(
            order_id=order.id,
            author_id=scope.principal.user_id or None,
            visibility=visibility,
            body=body,
            created_at=now,
        )
    )
    _emit(scope, order, "commented", comment_id=comment.id, visibility=visibility)
    if visibility == "customer" and order.first_response_at is None:
        order.first_response_at = now
        _refresh_sla(scope, order)
    return comment


def follow_up(
    scope: Scoped,
    order_id: int,
    *,
    version: int,
    solved: bool,
    channel: str = "call",
    satisfaction: int | None = None,
    note: str = "",
) -> WorkOrder:
    """Record the 回访 answer: solved closes the order; "not solved" reopens it (last group)."""
    order = scope.get(WorkOrder, order_id, entity="work_orders")
    _check_version(order, version)
    if order.status not in (Status.RESOLVED.value, Status.CLOSED.value):
        raise ConflictError("followup_not_due", id=order.id, state=order.status)
    now = scope.clock.now()
    _emit(
        scope,
        order,
        "followed_up",
        solved=solved,
        channel=channel,
        satisfaction=satisfaction,
        note=note,
    )
    order.followup_at = now
    order.satisfaction = satisfaction
    if solved:
        order.followup_status = "solved"
        if order.status == Status.RESOLVED.value:
            _apply(
                scope,
                order,
                Action.CLOSE,
                actor_id=scope.principal.user_id,
                reason=note or "followup_solved",
            )
            order.closed_at = now
            _refresh_sla(scope, order)
        return order
    order.followup_status = "not_solved"
    order.repeat_count += 1
    _reopen(scope, order, actor_id=scope.principal.user_id, reason=note or "followup_not_solved")
    return order


def extend_deadline(
    scope: Scoped, order_id: int, *, version: int, reason: str, customer_notified: bool
) -> WorkOrder:
    """Use the policy's next extension (bank: 15 -> 30 -> 60 days); the caller checks approval."""
    order = scope.get(WorkOrder, order_id, entity="work_orders")
    _check_version(order, version)
    _editable(order)
    policy = SlaPolicy.from_dict(order.sla_policy)
    errors = []
    if not reason.strip():
        errors.append(FieldError("reason", "error.field.missing"))
    if not customer_notified:
        errors.append(FieldError("customer_notified", "error.field.customer_notice"))
    if errors:
        raise ValidationFailed(errors=errors)
    if order.extensions >= len(policy.extensions):
        raise ConflictError("no_extension_left", id=order.id, used=order.extensions)
    _emit(
        scope,
        order,
        "extended",
        extension=order.extensions + 1,
        reason=reason,
        approver=scope.principal.user_id,
    )
    order.extensions += 1
    order.updated_at = scope.clock.now()
    marks = _marks(order)
    marks["warned"] = [c for c in marks["warned"] if c not in (RESOLUTION, LEGAL)]
    order.sla_marks = marks
    _refresh_sla(scope, order)
    return order


def merge_orders(
    scope: Scoped, order_id: int, *, into_id: int, version: int, reason: str
) -> WorkOrder:
    """Cancel a duplicate, pointing at the order that goes on; both histories say so."""
    order = scope.get(WorkOrder, order_id, entity="work_orders")
    _check_version(order, version)
    if into_id == order.id:
        raise ValidationFailed(errors=[FieldError("into_id", "error.field.invalid")])
    target = scope.session.get(WorkOrder, into_id)
    if target is None or target.tenant_id != scope.tenant_id:
        raise ValidationFailed(
            errors=[FieldError("into_id", "error.field.unknown_reference", value=into_id)]
        )
    if target.status == Status.CANCELLED.value:
        raise ConflictError("order_closed", id=target.id, state=target.status)
    _apply(
        scope,
        order,
        Action.CANCEL,
        actor_id=scope.principal.user_id,
        reason=reason or "merged",
        into_id=target.id,
    )
    order.merged_into_id = target.id
    _bump(scope, order, agent_id=order.assignee_id, cancelled=1)
    _emit(scope, target, "merged", source_id=order.id, reason=reason)
    target.updated_at = scope.clock.now()
    _refresh_sla(scope, order)
    return order


# --- the periodic SLA check ------------------------------------------------------------------


@dataclass
class SlaReport:
    checked: int = 0
    warnings: int = 0
    breaches: int = 0
    escalations: int = 0
    orders: list[int] = field(default_factory=list)


def _system(tenant_id: int) -> Principal:
    return Principal(0, tenant_id, "kefu-sla", "SLA", frozenset())


def check_sla(
    session: Session, clock: Clock, *, tenant_id: int | None = None, limit: int = 500
) -> SlaReport:
    """Emit warning/breach events and apply escalation for every order with something due.

    Picks only open orders whose ``sla_next_at`` has come (an index), so it is cheap to run every
    minute. Runs in the caller's transaction; the caller commits.
    """
    now = clock.now()
    report = SlaReport()
    query = (
        select(WorkOrder)
        .where(WorkOrder.is_open.is_(True), WorkOrder.sla_next_at <= now)
        .order_by(WorkOrder.sla_next_at)
        .limit(limit)
    )
    if tenant_id is not None:
        query = query.where(WorkOrder.tenant_id == tenant_id)
    scopes: dict[int, Scoped] = {}
    for order in session.scalars(query).all():
        scope = scopes.get(order.tenant_id)
        if scope is None:
            scope = scopes[order.tenant_id] = Scoped(session, _system(order.tenant_id), clock)
        _check_one(scope, order, report)
        report.checked += 1
        report.orders.append(order.id)
    return report


def _check_one(scope: Scoped, order: WorkOrder, report: SlaReport) -> None:
    states = sla_states(scope, order)
    marks = _marks(order)
    for name, state in states.items():
        if state.stopped:
            continue
        if state.warned and name not in marks["warned"]:
            marks["warned"].append(name)
            _emit(scope, order, "sla_warning", clock=name, due=_iso(state.due))
            _notify(scope, order.assignee_id, order, f"sla_warning.{name}")
            report.warnings += 1
        if state.breached and name not in marks["breached"]:
            marks["breached"].append(name)
            _emit(scope, order, "sla_breached", clock=name, due=_iso(state.due))
            report.breaches += 1
            if name == RESOLUTION:
                _bump(scope, order, agent_id=order.assignee_id, overdue=1)
    policy = SlaPolicy.from_dict(order.sla_policy)
    for index, step in due_escalations(policy, states, marks["steps"]):
        marks["steps"].append(index)
        _escalate(scope, order, index, step.action, step.clock)
        report.escalations += 1
    order.sla_marks = marks
    _refresh_sla(scope, order)


def _escalate(
    scope: Scoped, order: WorkOrder, index: int, action: EscalationAction, clock: str
) -> None:
    group = scope.session.get(WorkGroup, order.group_id) if order.group_id else None
    order.escalation_level += 1
    _emit(
        scope,
        order,
        "escalated",
        level=order.escalation_level,
        step=index,
        action=action.value,
        clock=clock,
    )
    if action is EscalationAction.NOTIFY_LEADER:
        _notify(scope, group.leader_id if group else None, order, "escalation")
    elif action is EscalationAction.REGULATOR_RISK:
        order.regulator_risk = True
        _notify(scope, group.leader_id if group else None, order, "regulator_risk")
        _notify(scope, order.creator_id, order, "regulator_risk")
    elif (
        group is not None and group.next_group_id and order.status not in {s.value for s in PAUSED}
    ):
        target = scope.session.get(WorkGroup, group.next_group_id)
        if target is not None and target.active:
            previous = order.assignee_id
            _apply(
                scope,
                order,
                Action.TRANSFER,
                actor_id=None,
                reason="sla_escalation",
                group_id=target.id,
            )
            order.group_id = order.last_group_id = target.id
            order.assignee_id = None
            _notify(scope, target.leader_id, order, "escalation")
            assign_within_group(scope, order, exclude=previous)
