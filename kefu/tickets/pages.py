"""Work-order pages: the back-office workbench, order detail, new order (from the desktop), reports.

Pages read through the same queries as the API and write through the JSON API (``app.js``
helpers plus the small script in ``tickets_script.html``), so rules and errors are the API's.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from kefu.api.deps import Ctx
from kefu.core.errors import NotFoundError
from kefu.customers.tables import Customer, Interaction
from kefu.tenancy.tables import User
from kefu.tickets import reports, services
from kefu.tickets.api import QueueFilter, list_page, order_query
from kefu.tickets.model import CATEGORIES, PRIORITIES, Status, allowed_actions
from kefu.tickets.tables import (
    GroupMember,
    Notification,
    OrderAttachment,
    OrderComment,
    SavedView,
    Template,
    WorkGroup,
    WorkOrder,
)
from kefu.web.pages import page_ctx, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
PHASES = ("ok", "warning", "breached", "paused")


def _names(ctx: Ctx) -> tuple[dict[int, WorkGroup], dict[int, str]]:
    groups = {
        g.id: g
        for g in ctx.session.scalars(
            ctx.scope.select(WorkGroup).order_by(WorkGroup.level, WorkGroup.code)
        )
    }
    people = dict(
        ctx.session.execute(
            select(User.id, User.display_name).where(User.tenant_id == ctx.scope.tenant_id)
        ).all()
    )
    return groups, people


def _my_groups(ctx: Ctx) -> list[int]:
    return list(
        ctx.session.scalars(
            select(GroupMember.group_id).where(
                GroupMember.tenant_id == ctx.scope.tenant_id,
                GroupMember.user_id == ctx.scope.principal.user_id,
            )
        )
    )


@router.get("/workorders", response_class=HTMLResponse)
def workbench(
    request: Request,
    view: str = Query("", max_length=10),
    group_id: str = Query("", max_length=20),
    status: str = Query("", max_length=200),
    category: str = Query("", max_length=20),
    priority: str = Query("", max_length=10),
    phase: str = Query("", max_length=12),
    q: str = Query("", max_length=50),
    saved: int | None = None,
    ctx: Ctx = Depends(page_ctx("workorders.read")),
) -> Response:
    principal = ctx.scope.principal
    handles = principal.can("workorders.handle")
    mine_groups = _my_groups(ctx)
    views = list(
        ctx.session.scalars(
            ctx.scope.select(SavedView)
            .where(SavedView.user_id == principal.user_id)
            .order_by(SavedView.name)
        )
    )
    raw: dict[str, Any] = {
        "view": view,
        "group_id": int(group_id) if group_id.isdigit() else None,
        "status": status,
        "category": category,
        "priority": priority,
        "phase": phase,
        "q": q,
    }
    chosen = next((v for v in views if v.id == saved), None)
    if chosen is not None:
        raw = {**chosen.filters}
    if not raw.get("view"):
        raw["view"] = (
            "groups"
            if handles and mine_groups
            else ("created" if principal.can("workorders.create") else "all")
        )
    flt = QueueFilter(**raw).values
    rows, total = list_page(ctx, order_query(ctx, flt), limit=100)
    groups, people = _names(ctx)
    unread = (
        ctx.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.tenant_id == ctx.scope.tenant_id,
                Notification.user_id == principal.user_id,
                Notification.read_at.is_(None),
            )
        )
        or 0
    )
    notes = list(
        ctx.session.scalars(
            ctx.scope.select(Notification)
            .where(Notification.user_id == principal.user_id)
            .order_by(Notification.id.desc())
            .limit(8)
        )
    )
    return render(
        request,
        "tickets_workbench.html",
        ctx,
        tz=services.tenant_zone(ctx.scope),
        orders=rows,
        total=total,
        flt=flt,
        groups=groups,
        people=people,
        views=views,
        saved=saved,
        handles=handles,
        approves=principal.can("workorders.approve"),
        categories=CATEGORIES,
        priorities=PRIORITIES,
        phases=PHASES,
        statuses=[s.value for s in Status],
        unread=unread,
        notes=notes,
        now=ctx.container.clock.now(),
        filters_json=json.dumps(flt, ensure_ascii=False),
    )


@router.get("/workorders/new", response_class=HTMLResponse)
def new_order(
    request: Request,
    template_id: int | None = None,
    customer_id: int | None = None,
    contact_id: int | None = None,
    ctx: Ctx = Depends(page_ctx("workorders.create")),
) -> Response:
    templates = list(
        ctx.session.scalars(
            ctx.scope.select(Template)
            .where(Template.active.is_(True))
            .order_by(Template.category, Template.code)
        )
    )
    contact = None
    if contact_id is not None:
        contact = ctx.session.get(Interaction, contact_id)
        if contact is None or contact.tenant_id != ctx.scope.tenant_id:
            raise NotFoundError(entity="customer_interactions", id=contact_id)
        customer_id = customer_id or contact.customer_id
    customer = None
    if customer_id is not None:
        customer = ctx.session.get(Customer, customer_id)
        if customer is None or customer.tenant_id != ctx.scope.tenant_id:
            raise NotFoundError(entity="customers", id=customer_id)
    template = next((t for t in templates if t.id == template_id), None)
    if template is None and contact is not None and contact.business_type:
        template = next(
            (t for t in templates if t.business_type and t.business_type in contact.business_type),
            None,
        )
    groups, _people = _names(ctx)
    prefill_phone = customer.phone if customer else ""
    return render(
        request,
        "tickets_new.html",
        ctx,
        tz=services.tenant_zone(ctx.scope),
        templates=templates,
        template=template,
        customer=customer,
        contact=contact,
        groups=groups,
        prefill_phone=prefill_phone,
        priorities=PRIORITIES,
    )


@router.get("/workorders/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    days: int = Query(28, ge=1, le=731),
    ctx: Ctx = Depends(page_ctx("workorders.report")),
) -> Response:
    today = services.local_today(ctx.scope)
    period = reports.Period.last_days(today, days)
    data = reports.summary(ctx.session, ctx.scope.tenant_id, period, ctx.container.clock.now())
    groups, people = _names(ctx)
    weekly_chart = [{"name": w["week"][5:], "value": w["total"]} for w in data["weekly"]]
    return render(
        request,
        "tickets_reports.html",
        ctx,
        tz=services.tenant_zone(ctx.scope),
        data=data,
        days=days,
        groups=groups,
        people=people,
        buckets=[label for label, _d in reports.AGE_BUCKETS],
        weekly_chart=json.dumps(weekly_chart, ensure_ascii=False),
    )


@router.get("/workorders/{order_id}", response_class=HTMLResponse)
def order_page(
    request: Request, order_id: int, ctx: Ctx = Depends(page_ctx("workorders.read"))
) -> Response:
    order = ctx.scope.get(WorkOrder, order_id, entity="work_orders")
    groups, people = _names(ctx)
    template = ctx.session.get(Template, order.template_id) if order.template_id else None
    comments = list(
        ctx.session.scalars(
            ctx.scope.select(OrderComment)
            .where(OrderComment.order_id == order.id)
            .order_by(OrderComment.id)
        )
    )
    files = list(
        ctx.session.scalars(
            ctx.scope.select(OrderAttachment)
            .where(OrderAttachment.order_id == order.id)
            .order_by(OrderAttachment.id)
        )
    )
    events = services.timeline(ctx.scope, order, limit=500)
    members = (
        list(
            ctx.session.execute(
                select(GroupMember.user_id, User.display_name)
                .join(User, User.id == GroupMember.user_id)
                .where(
                    GroupMember.tenant_id == ctx.scope.tenant_id,
                    GroupMember.group_id == order.group_id,
                )
            ).all()
        )
        if order.group_id
        else []
    )
    customer = ctx.session.get(Customer, order.customer_id) if order.customer_id else None
    principal = ctx.scope.principal
    return render(
        request,
        "tickets_order.html",
        ctx,
        tz=services.tenant_zone(ctx.scope),
        order=order,
        template=template,
        labels={f["key"]: f.get("label", f["key"]) for f in (template.fields if template else [])},
        groups=groups,
        people=people,
        comments=comments,
        files=files,
        events=events,
        members=members,
        customer=customer,
        clocks=services.sla_states(ctx.scope, order),
        actions=[a.value for a in allowed_actions(order.status)],
        handles=principal.can("workorders.handle"),
        approves=principal.can("workorders.approve"),
        can_note=principal.can("workorders.handle") or principal.can("workorders.create"),
        now=ctx.container.clock.now(),
    )
