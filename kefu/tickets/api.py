"""HTTP API of work orders: groups, SLA policies, templates, orders, actions, files, reports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy import func, or_, select
from sqlalchemy.orm.exc import StaleDataError

from kefu.api.deps import Ctx, require
from kefu.api.schemas import Page
from kefu.core.errors import (
    ConflictError,
    DomainError,
    FieldError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailed,
)
from kefu.customers.tables import Customer, Interaction
from kefu.tenancy.tables import User
from kefu.tickets import dispatch, followup, reports, services
from kefu.tickets.attachments import attachment_path, store_attachment
from kefu.tickets.model import allowed_actions
from kefu.tickets.schemas import (
    ActionIn,
    AttachmentOut,
    BulkIn,
    ClockOut,
    CommentIn,
    CommentOut,
    ExtendIn,
    FollowUpIn,
    GroupIn,
    GroupOut,
    GroupPatch,
    MembersIn,
    MergeIn,
    OrderIn,
    OrderOut,
    OrderPatch,
    PolicyIn,
    PolicyOut,
    PolicyPatch,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
    ViewIn,
    ViewOut,
)
from kefu.tickets.sla import TEMPLATES
from kefu.tickets.tables import (
    GroupMember,
    Notification,
    OrderAttachment,
    OrderComment,
    SavedView,
    SlaPolicyRow,
    Template,
    WorkGroup,
    WorkOrder,
)

__all__ = ["QueueFilter", "list_page", "order_out", "order_query", "router"]

router = APIRouter(prefix="/workorders", tags=["workorders"])
READ, CREATE, HANDLE = "workorders.read", "workorders.create", "workorders.handle"
MANAGE, APPROVE, REPORT = "workorders.manage", "workorders.approve", "workorders.report"


@contextmanager
def _committing(ctx: Ctx) -> Iterator[None]:
    """Run a write and commit it; a concurrent edit of the same order is a 409, never lost.
    Then the orders it changed meet the routing engine (queued, moved, ended; see dispatch)."""
    service = ctx.container.routing_service
    dispatch.routed_session(ctx.session, service)
    try:
        yield
        ctx.commit()
    except StaleDataError as exc:
        ctx.session.rollback()
        raise ConflictError("stale_version") from exc
    dispatch.dispatch_touched(service, ctx.session, ctx.container.clock)
    followup.deliver_after_commit(ctx.session, ctx.container.clock)


def _users(ctx: Ctx, values: dict[str, Any], *names: str) -> None:
    ctx.scope.check_refs(values, {name: User for name in names})


# --- groups ------------------------------------------------------------------------------------


@router.get("/groups", response_model=Page[GroupOut], summary="Back-office groups (专班)")
def list_groups(ctx: Ctx = Depends(require(READ))) -> dict[str, Any]:
    rows, total = ctx.scope.list(
        ctx.scope.select(WorkGroup).order_by(WorkGroup.level, WorkGroup.code), limit=500
    )
    return {"items": rows, "total": total}


@router.post("/groups", status_code=201, response_model=GroupOut, summary="Create a group")
def create_group(body: GroupIn, ctx: Ctx = Depends(require(MANAGE))) -> WorkGroup:
    values = body.model_dump()
    _users(ctx, values, "leader_id")
    with _committing(ctx):
        group = services.create_group(ctx.scope, **values)
    return group


@router.get("/groups/{group_id}", response_model=GroupOut, summary="Get a group")
def get_group(group_id: int, ctx: Ctx = Depends(require(READ))) -> WorkGroup:
    return ctx.scope.get(WorkGroup, group_id, entity="wo_groups")


@router.patch("/groups/{group_id}", response_model=GroupOut, summary="Change a group")
def update_group(group_id: int, body: GroupPatch, ctx: Ctx = Depends(require(MANAGE))) -> WorkGroup:
    changes = body.model_dump(exclude_unset=True)
    ctx.scope.get(WorkGroup, group_id, entity="wo_groups")
    _users(ctx, changes, "leader_id")
    with _committing(ctx):
        group = services.update_group(ctx.scope, group_id, **changes)
    return group


@router.get("/groups/{group_id}/members", summary="Members of a group with their open orders")
def list_members(group_id: int, ctx: Ctx = Depends(require(READ))) -> dict[str, Any]:
    group = ctx.scope.get(WorkGroup, group_id, entity="wo_groups")
    loads = {m.user_id: m for m in services.member_loads(ctx.scope, group.id)}
    rows = ctx.session.execute(
        select(GroupMember, User.display_name, User.job_number)
        .join(User, User.id == GroupMember.user_id)
        .where(GroupMember.tenant_id == ctx.scope.tenant_id, GroupMember.group_id == group.id)
        .order_by(User.job_number)
    ).all()
    items = [
        {
            "user_id": m.user_id,
            "display_name": name,
            "job_number": job,
            "capacity": m.capacity,
            "active": m.active,
            "open_orders": loads[m.user_id].open_orders if m.user_id in loads else 0,
        }
        for m, name, job in rows
    ]
    return {"items": items, "total": len(items)}


@router.put("/groups/{group_id}/members", summary="Replace the members of a group")
def set_members(
    group_id: int, body: MembersIn, ctx: Ctx = Depends(require(MANAGE))
) -> dict[str, Any]:
    ctx.scope.get(WorkGroup, group_id, entity="wo_groups")
    errors = []
    for index, member in enumerate(body.members):
        user = ctx.session.get(User, member.user_id)
        if user is None or user.tenant_id != ctx.scope.tenant_id:
            errors.append(
                FieldError(
                    f"members.{index}.user_id",
                    "error.field.unknown_reference",
                    value=member.user_id,
                )
            )
    if errors:
        raise ValidationFailed(errors=errors)
    before = [m.user_id for m in services.member_loads(ctx.scope, group_id)]
    with _committing(ctx):
        rows = services.set_members(
            ctx.scope, group_id, [(m.user_id, m.capacity) for m in body.members]
        )
        result = [{"user_id": r.user_id, "capacity": r.capacity} for r in rows]
    dispatch.sync_members(
        ctx.container.routing_service, ctx.session, ctx.container.clock, group_id, before
    )
    return {"items": result, "total": len(result)}


# --- SLA policies ------------------------------------------------------------------------------


@router.get("/sla-templates", summary="Shipped SLA templates with their sources")
def sla_templates(ctx: Ctx = Depends(require(READ))) -> dict[str, Any]:
    items = [p.to_dict() for p in TEMPLATES.values()]
    return {"items": items, "total": len(items)}


@router.get("/sla-policies", response_model=Page[PolicyOut], summary="The tenant's SLA policies")
def list_policies(ctx: Ctx = Depends(require(READ))) -> dict[str, Any]:
    rows, total = ctx.scope.list(
        ctx.scope.select(SlaPolicyRow).order_by(SlaPolicyRow.code), limit=500
    )
    return {"items": rows, "total": total}


@router.post(
    "/sla-policies", status_code=201, response_model=PolicyOut, summary="Create an SLA policy"
)
def create_policy(body: PolicyIn, ctx: Ctx = Depends(require(MANAGE))) -> SlaPolicyRow:
    with _committing(ctx):
        row = services.create_policy(ctx.scope, **body.model_dump())
    return row


@router.get("/sla-policies/{policy_id}", response_model=PolicyOut, summary="Get an SLA policy")
def get_policy(policy_id: int, ctx: Ctx = Depends(require(READ))) -> SlaPolicyRow:
    return ctx.scope.get(SlaPolicyRow, policy_id, entity="wo_sla_policies")


@router.patch("/sla-policies/{policy_id}", response_model=PolicyOut, summary="Change an SLA policy")
def update_policy(
    policy_id: int, body: PolicyPatch, ctx: Ctx = Depends(require(MANAGE))
) -> SlaPolicyRow:
    with _committing(ctx):
        row = services.update_policy(ctx.scope, policy_id, **body.model_dump(exclude_unset=True))
    return row


# --- templates ---------------------------------------------------------------------------------


@router.get("/templates", response_model=Page[TemplateOut], summary="Work-order templates")
def list_templates(active: bool | None = None, ctx: Ctx = Depends(require(READ))) -> dict[str, Any]:
    query = ctx.scope.select(Template).order_by(Template.category, Template.code)
    if active is not None:
        query = query.where(Template.active.is_(active))
    rows, total = ctx.scope.list(query, limit=500)
    return {"items": rows, "total": total}


@router.post("/templates", status_code=201, response_model=TemplateOut, summary="Create a template")
def create_template(body: TemplateIn, ctx: Ctx = Depends(require(MANAGE))) -> Template:
    with _committing(ctx):
        row = services.create_template(ctx.scope, **body.model_dump())
    return row


@router.get("/templates/{template_id}", response_model=TemplateOut, summary="Get a template")
def get_template(template_id: int, ctx: Ctx = Depends(require(READ))) -> Template:
    return ctx.scope.get(Template, template_id, entity="wo_templates")


@router.patch("/templates/{template_id}", response_model=TemplateOut, summary="Change a template")
def update_template(
    template_id: int, body: TemplatePatch, ctx: Ctx = Depends(require(MANAGE))
) -> Template:
    with _committing(ctx):
        row = services.update_template(
            ctx.scope, template_id, **body.model_dump(exclude_unset=True)
        )
    return row


# --- orders ------------------------------------------------------------------------------------


def order_out(order: WorkOrder, **extra: Any) -> dict[str, Any]:
    data = OrderOut.model_validate(order).model_dump(mode="json")
    data["policy"] = str((order.sla_policy or {}).get("code", ""))
    data["allowed_actions"] = [a.value for a in allowed_actions(order.status)]
    data["routing_priority"] = order.routing_priority
    data["routing_contact_id"] = order.routing_contact_id
    data.update(extra)
    return data


QueueView = Literal["all", "mine", "group", "created", "groups"]


class QueueFilter:
    """Filters of the order list and the workbench queues (also stored in saved views)."""

    KEYS = (
        "view",
        "group_id",
        "status",
        "category",
        "priority",
        "phase",
        "q",
        "customer_id",
        "open",
    )

    def __init__(self, **values: Any) -> None:
        self.values = {k: v for k, v in values.items() if k in self.KEYS and v not in (None, "")}


def order_query(ctx: Ctx, flt: dict[str, Any]) -> Any:
    scope = ctx.scope
    query = scope.select(WorkOrder)
    view = flt.get("view", "all")
    me = scope.principal.user_id
    if view == "mine":
        query = query.where(WorkOrder.assignee_id == me)
    elif view == "created":
        query = query.where(WorkOrder.creator_id == me)
    elif view == "groups":  # every group I belong to
        mine = select(GroupMember.group_id).where(
            GroupMember.tenant_id == scope.tenant_id, GroupMember.user_id == me
        )
        query = query.where(WorkOrder.group_id.in_(mine))
    if flt.get("group_id"):
        query = query.where(WorkOrder.group_id == int(flt["group_id"]))
    status = flt.get("status")
    if status:
        query = query.where(WorkOrder.status.in_(str(status).split(",")))
    elif str(flt.get("open", "true")).lower() != "false" and view != "created":
        query = query.where(WorkOrder.is_open.is_(True))
    for key in ("category", "priority"):
        if flt.get(key):
            query = query.where(getattr(WorkOrder, key) == flt[key])
    if flt.get("phase"):
        query = query.where(WorkOrder.sla_phase == flt["phase"])
    if flt.get("customer_id"):
        query = query.where(WorkOrder.customer_id == int(flt["customer_id"]))
    text = str(flt.get("q", "")).strip()[:50]
    if text:
        digits = text.upper().removeprefix("GD").lstrip("0")
        conditions = [
            WorkOrder.title.contains(text, autoescape=True),
            WorkOrder.customer_phone == text,
        ]
        if digits.isdigit():
            conditions.append(WorkOrder.id == int(digits))
        query = query.where(or_(*conditions))
    if view == "created":
        return query.order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc())
    return query.order_by(WorkOrder.resolution_due.asc().nulls_last(), WorkOrder.id)


def list_page(ctx: Ctx, query: Any, *, limit: int, offset: int = 0) -> tuple[list[Any], int]:
    """A page of the ordered query and the total, counted without the (costly) ordering."""
    total = ctx.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return list(ctx.session.scalars(query.limit(limit).offset(offset))), int(total or 0)


@router.get("", summary="List orders (queues: mine, group, created; sorted by deadline)")
def list_orders(
    view: QueueView = "all",
    group_id: int | None = None,
    status: str | None = Query(None, max_length=200),
    category: str | None = Query(None, max_length=20),
    priority: str | None = Query(None, max_length=10),
    phase: str | None = Query(None, max_length=12),
    q: str | None = Query(None, max_length=50),
    customer_id: int | None = None,
    open: bool | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    ctx: Ctx = Depends(require(READ)),
) -> dict[str, Any]:
    flt = QueueFilter(
        view=view,
        group_id=group_id,
        status=status,
        category=category,
        priority=priority,
        phase=phase,
        q=q,
        customer_id=customer_id,
        open=open,
    ).values
    rows, total = list_page(ctx, order_query(ctx, flt), limit=limit, offset=offset)
    return {"items": [order_out(r) for r in rows], "total": total}


def _check_customer(ctx: Ctx, values: dict[str, Any]) -> None:
    ctx.scope.check_refs(values, {"customer_id": Customer, "contact_id": Interaction})
    if values.get("contact_id") is not None:
        contact = ctx.session.get(Interaction, values["contact_id"])
        assert contact is not None
        if values.get("customer_id") is None:
            values["customer_id"] = contact.customer_id
        elif contact.customer_id != values["customer_id"]:
            raise ValidationFailed(errors=[FieldError("contact_id", "error.field.other_customer")])
    if values.get("customer_id") is not None:
        customer = ctx.session.get(Customer, values["customer_id"])
        assert customer is not None
        values["customer_name"] = values.get("customer_name") or customer.name
        values["customer_phone"] = values.get("customer_phone") or customer.phone


@router.post(
    "", status_code=201, summary="Open a work order (a repeat complaint reopens the earlier one)"
)
def create_order(
    body: OrderIn, response: Response, ctx: Ctx = Depends(require(CREATE))
) -> dict[str, Any]:
    values = body.model_dump()
    _check_customer(ctx, values)
    with _committing(ctx):
        created = services.create_order(ctx.scope, **values)
    if created.repeat:
        response.status_code = 200
    return order_out(created.order, repeat=created.repeat)


def _clock_out(states: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        ClockOut(
            name=name,
            phase=s.phase,
            due=s.due,
            warn_at=s.warn_at,
            used_s=s.used.total_seconds(),
            budget_s=s.budget.total_seconds(),
            fraction=round(s.fraction, 4),
        ).model_dump(mode="json")
        for name, s in states.items()
    ]


@router.get("/{order_id}", summary="An order with its SLA clocks, notes, replies and files")
def get_order(order_id: int, ctx: Ctx = Depends(require(READ))) -> dict[str, Any]:
    order = ctx.scope.get(WorkOrder, order_id, entity="work_orders")
    comments = ctx.session.scalars(
        ctx.scope.select(OrderComment)
        .where(OrderComment.order_id == order.id)
        .order_by(OrderComment.id)
    ).all()
    files = ctx.session.scalars(
        ctx.scope.select(OrderAttachment)
        .where(OrderAttachment.order_id == order.id)
        .order_by(OrderAttachment.id)
    ).all()
    return order_out(
        order,
        clocks=_clock_out(services.sla_states(ctx.scope, order)),
        comments=[CommentOut.model_validate(c).model_dump(mode="json") for c in comments],
        attachments=[AttachmentOut.model_validate(f).model_dump(mode="json") for f in files],
    )


@router.patch("/{order_id}", summary="Change an open order (version required)")
def update_order(
    order_id: int, body: OrderPatch, ctx: Ctx = Depends(require(HANDLE))
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version")
    with _committing(ctx):
        order = services.update_order(ctx.scope, order_id, version=version, **changes)
    return order_out(order)


@router.post("/{order_id}/actions", summary="A workflow action: assign, start, pause, resolve …")
def order_action(
    order_id: int, body: ActionIn, ctx: Ctx = Depends(require(HANDLE))
) -> dict[str, Any]:
    with _committing(ctx):
        order = services.act(
            ctx.scope,
            order_id,
            body.action,
            version=body.version,
            reason=body.reason,
            assignee_id=body.assignee_id,
            group_id=body.group_id,
        )
    return order_out(order)


@router.post("/bulk", summary="One action on many orders (each succeeds or fails on its own)")
def bulk_action(body: BulkIn, ctx: Ctx = Depends(require(HANDLE))) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    for order_id in dict.fromkeys(body.ids):
        try:
            order = ctx.scope.get(WorkOrder, order_id, entity="work_orders")
            with _committing(ctx):
                services.act(
                    ctx.scope,
                    order_id,
                    body.action,
                    version=order.version,
                    reason=body.reason,
                    assignee_id=body.assignee_id,
                    group_id=body.group_id,
                )
            results.append({"id": order_id, "ok": True})
        except DomainError as exc:
            ctx.session.rollback()
            results.append({"id": order_id, "ok": False, "code": exc.code, "status": exc.status})
    return {"items": results, "ok": sum(1 for r in results if r["ok"])}


@router.post(
    "/{order_id}/comments",
    status_code=201,
    response_model=CommentOut,
    summary="Add a note or a reply",
)
def add_comment(order_id: int, body: CommentIn, ctx: Ctx = Depends(require(READ))) -> OrderComment:
    principal = ctx.scope.principal
    allowed = principal.can(HANDLE) or (body.visibility == "internal" and principal.can(CREATE))
    if not allowed:
        raise PermissionDeniedError(permission=HANDLE)
    with _committing(ctx):
        comment = services.add_comment(
            ctx.scope, order_id, body=body.body, visibility=body.visibility
        )
    return comment


@router.get("/{order_id}/timeline", summary="The order's full history (events, oldest first)")
def timeline(order_id: int, ctx: Ctx = Depends(require(READ))) -> dict[str, Any]:
    order = ctx.scope.get(WorkOrder, order_id, entity="work_orders")
    rows = services.timeline(ctx.scope, order)
    items = [
        {"id": r.id, "type": r.type, "at": r.occurred_at.isoformat(), "data": r.data} for r in rows
    ]
    return {"items": items, "total": len(items)}


@router.post(
    "/{order_id}/followup", summary="Record the follow-up (回访): solved closes, not solved reopens"
)
def follow_up(
    order_id: int, body: FollowUpIn, ctx: Ctx = Depends(require(HANDLE))
) -> dict[str, Any]:
    with _committing(ctx):
        order = services.follow_up(ctx.scope, order_id, **body.model_dump())
    return order_out(order)


@router.post("/{order_id}/extend", summary="Extend the time limit (approval, customer notified)")
def extend(order_id: int, body: ExtendIn, ctx: Ctx = Depends(require(APPROVE))) -> dict[str, Any]:
    with _committing(ctx):
        order = services.extend_deadline(ctx.scope, order_id, **body.model_dump())
    return order_out(order)


@router.post("/{order_id}/merge", summary="Merge a duplicate into another order")
def merge(order_id: int, body: MergeIn, ctx: Ctx = Depends(require(HANDLE))) -> dict[str, Any]:
    with _committing(ctx):
        order = services.merge_orders(ctx.scope, order_id, **body.model_dump())
    return order_out(order)


# --- attachments -------------------------------------------------------------------------------


@router.post(
    "/attachments",
    status_code=201,
    response_model=AttachmentOut,
    summary="Upload a file (raw body, Content-Type of the file; ?filename=)",
)
async def upload(
    request: Request,
    filename: str = Query(min_length=1, max_length=200),
    order_id: int | None = None,
    ctx: Ctx = Depends(require(READ)),
) -> dict[str, Any]:
    if not (ctx.scope.principal.can(CREATE) or ctx.scope.principal.can(HANDLE)):
        raise PermissionDeniedError(permission=CREATE)
    order = (
        ctx.scope.get(WorkOrder, order_id, entity="work_orders") if order_id is not None else None
    )
    if order is not None and order.status in services.CLOSED_STATES:
        raise ConflictError("order_closed", id=order.id, state=order.status)
    row = await store_attachment(
        ctx.scope,
        ctx.container.settings.var_dir,
        filename=filename,
        content_type=request.headers.get("content-type", ""),
        chunks=request.stream(),
    )
    if order is not None:
        row.order_id = order.id
        ctx.scope.emit(
            "workorder.attached",
            services.order_topic(order.id),
            {"order_id": order.id, "attachment_id": row.id},
        )
    out = AttachmentOut.model_validate(row).model_dump(mode="json")
    ctx.commit()
    return out


@router.get("/attachments/{attachment_id}", summary="Download a file")
def download(attachment_id: int, ctx: Ctx = Depends(require(READ))) -> FileResponse:
    row = ctx.scope.get(OrderAttachment, attachment_id, entity="wo_attachments")
    return FileResponse(
        attachment_path(ctx.container.settings.var_dir, row),
        media_type=row.content_type,
        filename=row.filename,
        headers={"X-Content-Type-Options": "nosniff"},
    )


# --- notifications and saved views -------------------------------------------------------------


@router.get("/notifications/mine", summary="My work-order notifications, newest first")
def my_notifications(unread: bool = False, ctx: Ctx = Depends(require(READ))) -> dict[str, Any]:
    query = ctx.scope.select(Notification).where(
        Notification.user_id == ctx.scope.principal.user_id
    )
    if unread:
        query = query.where(Notification.read_at.is_(None))
    rows, total = ctx.scope.list(query.order_by(Notification.id.desc()), limit=100)
    items = [
        {
            "id": n.id,
            "order_id": n.order_id,
            "kind": n.kind,
            "created_at": n.created_at.isoformat(),
            "read": n.read_at is not None,
        }
        for n in rows
    ]
    return {"items": items, "total": total}


@router.post("/notifications/{notification_id}/read", status_code=204, summary="Mark read")
def read_notification(notification_id: int, ctx: Ctx = Depends(require(READ))) -> Response:
    row = ctx.scope.get(Notification, notification_id, entity="wo_notifications")
    if row.user_id != ctx.scope.principal.user_id:
        raise NotFoundError(entity="wo_notifications", id=notification_id)
    row.read_at = row.read_at or ctx.container.clock.now()
    ctx.commit()
    return Response(status_code=204)


@router.get("/views/mine", response_model=Page[ViewOut], summary="My saved queue views")
def list_views(ctx: Ctx = Depends(require(READ))) -> dict[str, Any]:
    query = ctx.scope.select(SavedView).where(SavedView.user_id == ctx.scope.principal.user_id)
    rows, total = ctx.scope.list(query.order_by(SavedView.name))
    return {"items": rows, "total": total}


@router.post("/views", status_code=201, response_model=ViewOut, summary="Save a queue view")
def save_view(body: ViewIn, ctx: Ctx = Depends(require(READ))) -> SavedView:
    filters = QueueFilter(**body.filters).values
    me = ctx.scope.principal.user_id
    existing = ctx.session.scalar(
        ctx.scope.select(SavedView).where(SavedView.user_id == me, SavedView.name == body.name)
    )
    if existing is not None:
        raise ConflictError("duplicate", field="name", value=body.name)
    row = ctx.scope.add(SavedView(user_id=me, name=body.name, filters=filters))
    ctx.commit()
    return row


@router.delete("/views/{view_id}", status_code=204, summary="Delete a saved view")
def delete_view(view_id: int, ctx: Ctx = Depends(require(READ))) -> Response:
    row = ctx.scope.get(SavedView, view_id, entity="wo_saved_views")
    if row.user_id != ctx.scope.principal.user_id:
        raise NotFoundError(entity="wo_saved_views", id=view_id)
    ctx.session.delete(row)
    ctx.commit()
    return Response(status_code=204)


# --- SLA check and reports ---------------------------------------------------------------------


@router.post(
    "/sla/check", summary="Run the SLA check for my tenant now (it also runs every minute)"
)
def run_sla_check(ctx: Ctx = Depends(require(APPROVE))) -> dict[str, Any]:
    with _committing(ctx):
        report = services.check_sla(ctx.session, ctx.container.clock, tenant_id=ctx.scope.tenant_id)
    dispatch.reprioritise(
        ctx.container.routing_service,
        ctx.session,
        ctx.container.clock,
        tenant_id=ctx.scope.tenant_id,
    )
    return {
        "checked": report.checked,
        "warnings": report.warnings,
        "breaches": report.breaches,
        "escalations": report.escalations,
    }


def _period(ctx: Ctx, start: date | None, end: date | None, days: int) -> reports.Period:
    today = services.local_today(ctx.scope)
    end = end or today
    start = start or end - timedelta(days=days - 1)
    if start > end or (end - start).days > 731:
        raise ValidationFailed(errors=[FieldError("start", "error.field.bad_period")])
    return reports.Period(start, end)


@router.get("/reports/summary", summary="On-time and reopen rates, backlog, volume, hot topics")
def report_summary(
    start: date | None = None,
    end: date | None = None,
    days: int = Query(28, ge=1, le=731),
    ctx: Ctx = Depends(require(REPORT)),
) -> dict[str, Any]:
    period = _period(ctx, start, end, days)
    return reports.summary(ctx.session, ctx.scope.tenant_id, period, ctx.container.clock.now())


def _names(ctx: Ctx) -> tuple[dict[int, str], dict[int, str]]:
    groups = dict(
        ctx.session.execute(
            select(WorkGroup.id, WorkGroup.name).where(WorkGroup.tenant_id == ctx.scope.tenant_id)
        ).all()
    )
    agents = dict(
        ctx.session.execute(
            select(User.id, User.display_name).where(User.tenant_id == ctx.scope.tenant_id)
        ).all()
    )
    return groups, agents


@router.get("/reports/export", summary="The summary as CSV or XLSX")
def report_export(
    format: Literal["csv", "xlsx"] = "csv",
    start: date | None = None,
    end: date | None = None,
    days: int = Query(28, ge=1, le=731),
    ctx: Ctx = Depends(require(REPORT)),
) -> Response:
    period = _period(ctx, start, end, days)
    data = reports.summary(ctx.session, ctx.scope.tenant_id, period, ctx.container.clock.now())
    sheets = reports.export_rows(data, *_names(ctx))
    stem = f"workorders_{period.start.isoformat()}_{period.end.isoformat()}"
    if format == "xlsx":
        return Response(
            reports.to_xlsx(sheets),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'},
        )
    return Response(
        reports.to_csv(sheets).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
    )
