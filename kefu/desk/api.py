"""HTTP API of the agent desktop and the supervisor wallboard.

The agent's routing actions (log in, ready/not ready, accept, decline, complete) are routing's
own ``/routing/me/...`` routes; this adds what a desktop needs around them: my contacts with
their timers, the customer-360 screen-pop, transfer with a note and mood, wrap-up, quick
replies — and the wallboard's numbers for supervisors.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import func, select

from kefu.api.crud import CrudSpec, crud_router
from kefu.api.deps import Ctx, require
from kefu.channels import chat_context
from kefu.core.errors import DomainError, NotFoundError
from kefu.customers import mask_phone
from kefu.customers.tables import Customer, Interaction
from kefu.db.eventlog import EventRecord
from kefu.db.session import end_read_transaction
from kefu.desk import services
from kefu.desk.model import EMOTIONS, REASON_CODES, alerts, visit_summary, wrap_up_deadline
from kefu.desk.schemas import (
    DispositionIn,
    DispositionOut,
    DispositionPatch,
    QuickReplyIn,
    QuickReplyOut,
    QuickReplyPatch,
    TransferIn,
    WrapUpIn,
)
from kefu.desk.tables import Disposition, Handover, QuickReply
from kefu.routing.tables import QueueConfig, RoutingContact
from kefu.tenancy.tables import Site, Team, User

__all__ = ["router"]

router = APIRouter(prefix="/desk", tags=["desk"])
TIMELINE_LIMIT = 30

router.include_router(
    crud_router(
        CrudSpec(
            "dispositions",
            "disposition",
            Disposition,
            DispositionIn,
            DispositionPatch,
            DispositionOut,
            "org.read",
            "routing.manage",
            topic="desk.config",
            order_by="code",
            tags=("desk",),
        )
    )
)
router.include_router(
    crud_router(
        CrudSpec(
            "quick-replies",
            "quick_reply",
            QuickReply,
            QuickReplyIn,
            QuickReplyPatch,
            QuickReplyOut,
            "org.read",
            "agents.supervise",
            topic="desk.config",
            tags=("desk",),
        )
    )
)


def _routing(ctx: Ctx) -> Any:
    return ctx.container.routing_service


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _local(ctx: Ctx, moment: datetime) -> datetime:
    return moment.astimezone(ctx.container.routing.timezone)


def _contact(ctx: Ctx, contact_id: str) -> RoutingContact:
    row = ctx.session.get(RoutingContact, contact_id[:64])
    if row is None or row.tenant_id != ctx.scope.tenant_id:
        raise NotFoundError(entity="contact", id=contact_id[:64])
    return row


def _may_view(ctx: Ctx, row: RoutingContact) -> None:
    """Supervisors; the agent it rings on, serves or wraps up; or the one it was handed to."""
    principal = ctx.scope.principal
    if principal.can("agents.supervise") or row.agent_id == principal.user_id:
        return
    end_read_transaction(ctx.session)
    if services.my_slot(_routing(ctx), principal.user_id, row.id) is not None:
        return
    raise DomainError("desk_not_your_contact", status=403)


# --- the agent's own desk -----------------------------------------------------------------------


def _ring_deadlines(ctx: Ctx, user_id: int, contact_ids: list[str]) -> dict[str, str]:
    if not contact_ids:
        return {}
    rows = ctx.session.scalars(
        select(EventRecord)
        .where(
            EventRecord.tenant_id == ctx.scope.tenant_id,
            EventRecord.topic == f"routing.agent.{user_id}",
            EventRecord.type == "contact_offered",
        )
        .order_by(EventRecord.id.desc())
        .limit(20)
    )
    found: dict[str, str] = {}
    for row in rows:
        cid = row.data.get("contact_id")
        if cid in contact_ids and cid not in found:
            found[cid] = str(row.data.get("ring_deadline"))
    return found


@router.get("/me", summary="My desk: state, contacts with their timers, reason codes")
def my_desk(ctx: Ctx = Depends(require("desktop.use"))) -> dict[str, Any]:
    scope = ctx.scope
    me = scope.principal.user_id
    routing = _routing(ctx)
    end_read_transaction(ctx.session)
    view = routing.agent_view(me) or {"state": "offline", "presence": "offline", "slots": {}}
    user = scope.get(User, me, entity="users")
    since = ctx.container.routing.state_since.get(str(me))
    slots = view.get("slots", {})
    rows = {
        r.id: r
        for r in ctx.session.scalars(
            scope.select(RoutingContact).where(RoutingContact.id.in_(list(slots)))
        )
    }
    rings = _ring_deadlines(ctx, me, [c for c, s in slots.items() if s.get("phase") == "offered"])
    handovers = {
        h.contact_id: h.created_at
        for h in ctx.session.scalars(
            scope.select(Handover).where(
                Handover.contact_id.in_(list(slots)), Handover.from_agent_id == me
            )
        )
    }
    configs = ctx.container.routing.queue_configs
    contacts = []
    for contact_id, slot in slots.items():
        row = rows.get(contact_id)
        entry: dict[str, Any] = {
            "contact_id": contact_id,
            "media": slot.get("media"),
            "phase": slot.get("phase"),
            "queue": (slot.get("queue_id") or "").split(".", 1)[-1],
            "ring_deadline": rings.get(contact_id),
            "customer_id": row.customer_id if row else None,
            "created_at": _iso(row.created_at) if row else None,
            "answered_at": _iso(row.answered_at) if row else None,
        }
        if slot.get("phase") == "wrap_up":
            started = (row.ended_at if row else None) or handovers.get(contact_id)
            config = configs.get(slot.get("queue_id") or "")
            deadline = wrap_up_deadline(started, config.wrap_up_s if config else 0.0)
            entry["wrap_up_deadline"] = _iso(deadline)
        contacts.append(entry)
    contacts.sort(key=lambda c: c["created_at"] or "")
    return {
        "user": {"id": me, "name": user.display_name, "job_number": user.job_number},
        "state": view.get("state", "offline"),
        "presence": view.get("presence", "offline"),
        "reason": view.get("reason", ""),
        "since": _iso(since),
        "capacity": view.get("capacity", {}),
        "contacts": contacts,
        "reasons": list(REASON_CODES),
        "emotions": list(EMOTIONS),
        "now": ctx.container.clock.now().isoformat(),
    }


@router.get("/contacts/{contact_id}/screen-pop", summary="Customer 360 for a contact")
def screen_pop(contact_id: str, ctx: Ctx = Depends(require())) -> dict[str, Any]:
    scope = ctx.scope
    row = _contact(ctx, contact_id)
    _may_view(ctx, row)
    now = ctx.container.clock.now()
    waited = row.wait_s if row.wait_s is not None else (now - row.created_at).total_seconds()
    out: dict[str, Any] = {
        "contact": {
            "id": row.id,
            "media": row.media,
            "queue": row.queue_code,
            "status": row.status,
            "created_at": _iso(row.created_at),
            "wait_s": round(waited),
            "note": row.note,
            "attributes": row.attributes,
        },
        "customer": None,
        "visits": None,
        "timeline": [],
        "work_orders": [],
        "campaigns": [],
        "links": {},
    }
    handovers = ctx.session.scalars(
        scope.select(Handover).where(Handover.contact_id == row.id).order_by(Handover.id)
    ).all()
    people = _names(ctx, {h.from_agent_id for h in handovers if h.from_agent_id})
    out["handovers"] = [
        {
            "from": people.get(h.from_agent_id or 0, {}),
            "to_queue": h.to_queue,
            "note": h.note,
            "emotion": h.emotion,
            "at": _iso(h.created_at),
        }
        for h in handovers
    ]
    out["chat"] = chat_context(ctx.session, scope.tenant_id, row.id)
    out["ivr"] = _ivr_trail(row.attributes or {})
    if row.customer_id is None:
        return out
    customer = ctx.session.get(Customer, row.customer_id)
    if customer is None or customer.tenant_id != scope.tenant_id:
        return out
    out["customer"] = {
        "id": customer.id,
        "name": customer.name,
        "phone": mask_phone(customer.phone),
        "vip_level": customer.vip_level,
        "tags": customer.tags,
        "city": customer.city,
        "since": _iso(customer.created_at),
    }
    history = ctx.session.execute(
        select(Interaction.started_at, Interaction.is_complaint).where(
            Interaction.customer_id == customer.id,
            Interaction.started_at >= now - timedelta(days=366),
        )
    ).all()
    day_start = _local(ctx, now).replace(hour=0, minute=0, second=0, microsecond=0)
    summary = visit_summary([(at, bool(c)) for at, c in history], now, day_start)
    out["visits"] = {
        "ordinal_today": summary.ordinal,
        "last_today": _local(ctx, summary.last).strftime("%H:%M") if summary.last else None,
        "past_year": summary.past_year,
        "complaints": summary.complaints,
    }
    timeline = ctx.session.scalars(
        select(Interaction)
        .where(Interaction.customer_id == customer.id)
        .order_by(Interaction.started_at.desc())
        .limit(TIMELINE_LIMIT)
    ).all()
    agents = _names(ctx, {i.agent_id for i in timeline if i.agent_id})
    out["timeline"] = [
        {
            "id": i.id,
            "at": _iso(i.started_at),
            "channel": i.channel,
            "business_type": i.business_type,
            "disposition": i.disposition,
            "summary": i.summary,
            "complaint": i.is_complaint,
            "agent": agents.get(i.agent_id or 0, {}).get("name", ""),
        }
        for i in timeline
    ]
    out["work_orders"] = _open_orders(ctx, customer.id)
    if ctx.scope.principal.can("workorders.create"):
        out["links"]["new_work_order"] = f"/workorders/new?customer_id={customer.id}"
    return out


def _ivr_trail(attributes: dict[str, Any]) -> dict[str, Any] | None:
    """A phone contact's way through the IVR (voice puts it in the contact's attributes): what
    the caller chose ("话费查询 > 人工服务", else the node ids) and the seconds it took."""
    trail = str(attributes.get("ivr_labels") or attributes.get("ivr_path") or "")
    if not trail:
        return None
    seconds = attributes.get("ivr_seconds")
    return {
        "path": trail,
        "nodes": str(attributes.get("ivr_path") or ""),
        "seconds": seconds if isinstance(seconds, int | float) else None,
    }


def _open_orders(ctx: Ctx, customer_id: int) -> list[dict[str, Any]]:
    from kefu.tickets.tables import WorkOrder

    rows = ctx.session.scalars(
        ctx.scope.select(WorkOrder)
        .where(WorkOrder.customer_id == customer_id, WorkOrder.is_open.is_(True))
        .order_by(WorkOrder.id.desc())
        .limit(10)
    )
    return [{"id": w.id, "number": w.number, "title": w.title, "status": w.status} for w in rows]


def _names(ctx: Ctx, ids: set[int]) -> dict[int, dict[str, str]]:
    if not ids:
        return {}
    return {
        u.id: {"name": u.display_name, "job_number": u.job_number}
        for u in ctx.session.scalars(ctx.scope.select(User).where(User.id.in_(ids)))
    }


@router.post("/contacts/{contact_id}/transfer", status_code=201, summary="Transfer my contact")
def transfer(
    contact_id: str, body: TransferIn, ctx: Ctx = Depends(require("desktop.use"))
) -> dict[str, Any]:
    _contact(ctx, contact_id)
    handover = services.transfer(
        ctx.scope,
        _routing(ctx),
        contact_id,
        to_queue=body.queue,
        to_agent=body.agent_id,
        note=body.note,
        emotion=body.emotion,
    )
    ctx.commit()
    return {"id": handover.id, "contact_id": contact_id}


@router.post("/contacts/{contact_id}/wrap-up", status_code=201, summary="Record the wrap-up")
def wrap_up(
    contact_id: str, body: WrapUpIn, ctx: Ctx = Depends(require("desktop.use"))
) -> dict[str, Any]:
    _contact(ctx, contact_id)
    record, interaction_id = services.wrap_up(
        ctx.scope,
        _routing(ctx),
        contact_id,
        disposition=body.disposition,
        business_type=body.business_type,
        notes=body.notes,
        complaint=body.complaint,
    )
    ctx.commit()
    out: dict[str, Any] = {"id": record.id, "interaction_id": interaction_id}
    if interaction_id is not None and ctx.scope.principal.can("workorders.create"):
        out["work_order_url"] = (
            f"/workorders/new?customer_id={record.customer_id}&contact_id={interaction_id}"
        )
    return out


@router.get("/contacts/{contact_id}/quick-replies", summary="Quick replies filled for a contact")
def contact_replies(contact_id: str, ctx: Ctx = Depends(require("desktop.use"))) -> dict[str, Any]:
    row = _contact(ctx, contact_id)
    _may_view(ctx, row)
    me = ctx.scope.get(User, ctx.scope.principal.user_id, entity="users")
    name = ""
    if row.customer_id is not None:
        customer = ctx.session.get(Customer, row.customer_id)
        name = customer.name if customer is not None else ""
    if not name:
        name = (chat_context(ctx.session, ctx.scope.tenant_id, row.id) or {}).get(
            "visitor_name", ""
        )
    today = _local(ctx, ctx.container.clock.now())
    values = {
        "customer_name": name,
        "agent_name": me.display_name,
        "job_number": me.job_number,
        "date": today.strftime("%Y-%m-%d"),
        "time": today.strftime("%H:%M"),
    }
    return {"items": services.quick_replies(ctx.scope, values)}


@router.get("/transfer-targets", summary="Queues and logged-in colleagues to transfer to")
def transfer_targets(ctx: Ctx = Depends(require("desktop.use"))) -> dict[str, Any]:
    scope = ctx.scope
    runtime = ctx.container.routing
    queues = [
        {"code": q.code, "name": q.name, "media": q.media}
        for q in ctx.session.scalars(scope.select(QueueConfig).order_by(QueueConfig.code))
    ]
    ids = [
        int(a)
        for a, t in list(runtime.agent_tenant.items())
        if t == scope.tenant_id and int(a) != scope.principal.user_id
    ]
    people = _names(ctx, set(ids))
    end_read_transaction(ctx.session)
    agents = []
    for user_id in sorted(ids):
        view = _routing(ctx).agent_view(user_id) or {}
        if view.get("state", "offline") == "offline" or user_id not in people:
            continue
        agents.append({"id": user_id, **people[user_id], "state": view.get("state")})
    return {"queues": queues, "agents": agents}


# --- the wallboard ------------------------------------------------------------------------------


def _trend(ctx: Ctx, codes: list[str], now: datetime) -> dict[str, Any]:
    runtime = ctx.container.routing
    local = _local(ctx, now)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    prefix = f"{ctx.scope.tenant_id}."

    def read(_engine: Any) -> dict[str, list[dict[str, Any]]]:
        return {code: runtime.live.trend(prefix + code, day_start, local) for code in codes}

    end_read_transaction(ctx.session)
    per_queue: dict[str, list[dict[str, Any]]] = runtime.read(read)
    first = next(
        (
            datetime.fromisoformat(p["interval_start"])
            for code in codes
            for p in per_queue[code][:1]
        ),
        None,
    )
    start = min([day_start + timedelta(hours=8)] + ([first] if first else []))
    labels: list[str] = []
    slot = start
    while slot <= local:
        labels.append(slot.strftime("%H:%M"))
        slot += timedelta(minutes=15)
    offered = {label: 0 for label in labels}
    in_sl = {label: 0 for label in labels}
    handled = {label: 0 for label in labels}
    for code in codes:
        for point in per_queue[code]:
            label = _local(ctx, datetime.fromisoformat(point["interval_start"])).strftime("%H:%M")
            if label not in offered:
                continue
            offered[label] += point["answered"] + point["abandoned"]
            in_sl[label] += point["answered_in_sl"]
            handled[label] += point["answered"] + point["abandoned"]
    return {
        "labels": labels,
        "offered": [offered[label] for label in labels],
        "service_level": [
            round(in_sl[label] / handled[label], 4) if handled[label] else None for label in labels
        ],
        "sl_formula": "F3",
    }


@router.get("/wallboard", summary="Queues, sites, agents, alerts and today's trend")
def wallboard(ctx: Ctx = Depends(require("agents.supervise"))) -> dict[str, Any]:
    scope = ctx.scope
    container = ctx.container
    runtime = container.routing
    routing = _routing(ctx)
    if not any(q.startswith(f"{scope.tenant_id}.") for q in runtime.queue_configs):
        routing.sync_tenant(ctx.session, scope.tenant_id, scope.principal)
    end_read_transaction(ctx.session)
    stats = runtime.tenant_stats(scope.tenant_id)
    configs = {q.code: q for q in ctx.session.scalars(scope.select(QueueConfig))}
    now = container.clock.now()
    queues = []
    for code, live in stats["queues"].items():
        config = configs.get(code)
        today = live.get("today", {})
        queues.append(
            {
                "code": code,
                "name": config.name if config else code,
                "media": config.media if config else "",
                "waiting": live.get("waiting", 0),
                "longest_wait_s": round(live.get("longest_wait_s") or 0.0),
                "answered": today.get("answered", 0),
                "abandoned": today.get("abandoned", 0),
                "asa_s": today.get("asa_s"),
                "interval": live.get("interval"),
                "today": today,
                "agents": live.get("agents", {}),
                "sl_target": config.sl_target if config else None,
                "sl_threshold_s": config.sl_threshold_s if config else None,
            }
        )
    targets = {q["code"]: q["sl_target"] for q in queues if q["sl_target"] is not None}
    wait_limits = {
        code: float((c.options or {}).get("alert_wait_s", c.sl_threshold_s * 3))
        for code, c in configs.items()
    }
    found = alerts(stats["queues"], targets, wait_limits)
    ids = sorted(int(a) for a, t in list(runtime.agent_tenant.items()) if t == scope.tenant_id)
    users = {u.id: u for u in ctx.session.scalars(scope.select(User).where(User.id.in_(ids)))}
    teams = {t.id: t.name for t in ctx.session.scalars(scope.select(Team))}
    sites = {s.code: s.name for s in ctx.session.scalars(scope.select(Site))}
    end_read_transaction(ctx.session)
    agents = []
    by_site: dict[str, dict[str, int]] = {}
    for user_id in ids:
        view = routing.agent_view(user_id) or {}
        user = users.get(user_id)
        if user is None:
            continue
        site = str(view.get("site", "")).split(".", 1)[-1]
        state = view.get("state", "offline")
        if state != "offline":
            counts = by_site.setdefault(site, {})
            counts[state] = counts.get(state, 0) + 1
        since = runtime.state_since.get(str(user_id))
        agents.append(
            {
                "user_id": user_id,
                "name": user.display_name,
                "job_number": user.job_number,
                "team": teams.get(user.team_id or 0, ""),
                "site": site,
                "state": state,
                "presence": view.get("presence"),
                "reason": view.get("reason", ""),
                "since": _iso(since),
                "contacts": len(view.get("slots", {})),
                "load": view.get("load", 0),
            }
        )
    return {
        "at": now.isoformat(),
        "sl_formula": "F3",
        "queues": queues,
        "sites": [
            {"code": code, "name": sites.get(code, code), "agents": counts}
            for code, counts in sorted(by_site.items())
        ],
        "agents": agents,
        "agents_by_state": stats["agents"],
        "alerts": [a.as_dict() for a in found],
        "trend": _trend(ctx, sorted(stats["queues"]), now),
    }


@router.get("/wallboard/waiting", summary="Contacts waiting now (to move them to another queue)")
def waiting(ctx: Ctx = Depends(require("agents.supervise"))) -> dict[str, Any]:
    scope = ctx.scope
    now = ctx.container.clock.now()
    rows = ctx.session.scalars(
        scope.select(RoutingContact)
        .where(RoutingContact.status == "waiting")
        .order_by(RoutingContact.created_at)
        .limit(200)
    ).all()
    names = {
        c.id: c.name
        for c in ctx.session.scalars(
            scope.select(Customer).where(
                Customer.id.in_({r.customer_id for r in rows if r.customer_id})
            )
        )
    }
    total = ctx.session.scalar(
        select(func.count())
        .select_from(RoutingContact)
        .where(RoutingContact.tenant_id == scope.tenant_id, RoutingContact.status == "waiting")
    )
    return {
        "items": [
            {
                "contact_id": r.id,
                "queue": r.queue_code,
                "media": r.media,
                "customer": names.get(r.customer_id or 0, ""),
                "wait_s": round((now - r.created_at).total_seconds()),
            }
            for r in rows
        ],
        "total": int(total or 0),
    }
