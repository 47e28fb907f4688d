"""Work orders through the routing engine (media ``work_order``).

Each back-office group (专班) is a routing queue ``wo-<group id>`` requiring the skill of the
same code, which its active members hold (rows in ``queues``/``skills``/``agent_skills``, made
here on first use). An order waiting in a group (``new``/``reopened``) rides on one routing
contact in that queue, with priority ``policies.routing_priority`` (base level × 10, rising as
the resolution clock runs out). The engine offers it to a member with free ``work_order``
capacity (the member's capacity in ``wo_group_members``, least occupied first); ``on_routing_event``
— in the routing runtime's own transaction — assigns the order to that member, and the offer is
accepted for them right after, so the contact is held for as long as the order is open and
counts against the member's capacity.

``sync_orders`` runs after a tickets transaction commits (the API's ``_committing``, the SLA
worker) for every order it changed, and brings the contact in line with the order:

- waiting in a group, no contact → a new contact (members without a desk are logged in to the
  engine for work orders and made ready);
- moved to another group (transfer, SLA escalation, reopen to the last group) → the contact is
  transferred to that group's queue;
- waiting with a different priority step (the SLA worker checks every minute) → re-offered: the
  waiting contact is withdrawn and a new one with the new priority queued;
- assigned by hand to someone else → the contact ends (the order leaves the engine);
- resolved, closed, cancelled or merged → the contact ends (completed, or withdrawn if waiting).

Lock order: nothing here calls the routing runtime while holding uncommitted writes.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.clock import Clock
from kefu.core.errors import DomainError
from kefu.db.session import end_read_transaction
from kefu.tenancy import Principal, Role, Scoped, permissions_for, user_in_tenant
from kefu.tickets.model import Status
from kefu.tickets.policies import routing_priority
from kefu.tickets.services import ROUTED, TOUCHED, assign_routed, sla_states
from kefu.tickets.sla import RESOLUTION
from kefu.tickets.tables import GroupMember, WorkGroup, WorkOrder

__all__ = [
    "MEDIA",
    "accept_pending",
    "install",
    "on_routing_event",
    "queue_code",
    "reprioritise",
    "routed_session",
    "sync_members",
    "sync_orders",
]

log = logging.getLogger(__name__)
MEDIA = "work_order"
DEFAULT_CAPACITY = 10  # a member without a capacity of their own (routing's default)
ANY_CAPACITY = 100  # capacity 0 = "any": the engine's largest
WAITING = (Status.NEW.value, Status.REOPENED.value)
# The queue's options: an offer stays with the member (accepted at once), no wrap-up, no aging
# (the deadline-driven priority orders the queue), nothing expires.
QUEUE_OPTIONS: dict[str, Any] = {
    "ring_timeout_s": 86400,
    "wrap_up_s": 0,
    "aging_per_min": 0,
    "max_wait_action": "callback",
}

_pending: set[tuple[int, str, str]] = set()  # (tenant, agent, contact) offers to accept
_pending_lock = threading.Lock()


def queue_code(group_id: int) -> str:
    return f"wo-{group_id}"


def _system(tenant_id: int) -> Principal:
    return Principal(0, tenant_id, "kefu-workorders", "work orders", frozenset())


class _At:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def routed_session(session: Session, service: Any) -> None:
    """Let the tickets services in this session leave assignment to the routing engine."""
    session.info[ROUTED] = service


# --- inside the routing runtime's transaction ----------------------------------------------------


def on_routing_event(session: Session, data: dict[str, Any], tenant_id: int | None) -> None:
    """An offer of a work-order contact assigns its order to the member (same commit)."""
    if data.get("type") != "contact_offered" or data.get("media") != MEDIA or tenant_id is None:
        return
    contact_id = str(data.get("contact_id") or "")
    order = session.scalar(select(WorkOrder).where(WorkOrder.routing_contact_id == contact_id))
    if order is None or order.tenant_id != tenant_id:
        return
    at = data["at"] if isinstance(data["at"], datetime) else datetime.fromisoformat(data["at"])
    scope = Scoped(session, _system(tenant_id), _At(at))
    agent = str(data["agent_id"])
    if assign_routed(scope, order, int(agent)) or order.assignee_id == int(agent):
        with _pending_lock:
            _pending.add((tenant_id, agent, contact_id))


def install(container: Any) -> None:
    """Assign orders from routing offers (called once when the server is built)."""
    if on_routing_event not in container.routing.listeners:
        container.routing.listeners.append(on_routing_event)
    from kefu.tickets.followup import install as install_followup

    install_followup()  # SMS replies to the 回访 survey come back to the orders


# --- after a tickets commit --------------------------------------------------------------------


def accept_pending(service: Any, session: Session, clock: Clock) -> int:
    """Accept the work-order offers made since the last call (the contact is then held)."""
    with _pending_lock:
        offers = sorted(_pending)
        _pending.clear()
    done = 0
    for tenant_id, agent, contact_id in offers:
        end_read_transaction(session)
        try:
            service.accept(Scoped(session, _system(tenant_id), clock), int(agent), contact_id)
            done += 1
        except DomainError:  # withdrawn or already accepted meanwhile
            continue
    return done


def _member_capacities(session: Session, tenant_id: int, user_ids: Iterable[int]) -> dict[int, int]:
    caps: dict[int, int] = {}
    rows = session.execute(
        select(GroupMember.user_id, GroupMember.capacity).where(
            GroupMember.tenant_id == tenant_id,
            GroupMember.user_id.in_(list(user_ids)),
            GroupMember.active.is_(True),
        )
    ).all()
    for user_id, capacity in rows:
        value = ANY_CAPACITY if capacity == 0 else (capacity or DEFAULT_CAPACITY)
        caps[user_id] = min(caps.get(user_id, ANY_CAPACITY), min(value, ANY_CAPACITY))
    return caps


def _has_desk(user: Any) -> bool:
    """Desk agents take work orders with their desk login (their presence, routing's default
    work_order capacity); everyone else is logged in for work orders only."""
    roles = frozenset(Role(r) for r in user.roles if r in Role._value2member_map_)
    return "desktop.use" in permissions_for(roles)


def _ensure_group(service: Any, scope: Scoped, group: WorkGroup) -> None:
    """The group's queue and skill rows, its members' skills, members logged in and ready."""
    session, tenant_id = scope.session, scope.tenant_id
    code = queue_code(group.id)
    members = list(
        session.scalars(
            select(GroupMember.user_id).where(
                GroupMember.tenant_id == tenant_id,
                GroupMember.group_id == group.id,
                GroupMember.active.is_(True),
            )
        )
    )
    end_read_transaction(session)
    changed = service.ensure_queue(
        session, tenant_id, code, f"工单 · {group.name}", media=MEDIA, options=QUEUE_OPTIONS
    )
    granted = [uid for uid in members if service.grant_skill(session, tenant_id, uid, code)]
    session.commit()
    if changed or f"{tenant_id}.{code}" not in service.runtime.queue_configs:
        service.sync_tenant(session, tenant_id)
    caps = _member_capacities(session, tenant_id, members)
    for user_id in members:
        view = service.agent_view(user_id)
        user = user_in_tenant(scope, user_id)
        end_read_transaction(session)
        capacity = caps.get(user_id, DEFAULT_CAPACITY)
        if (
            view is not None
            and not _has_desk(user)
            and view.get("presence") == "ready"
            and not view.get("slots")
            and view.get("capacity", {}).get(MEDIA) != capacity
        ):
            # the engine takes a capacity at login: an idle, ready member logs in again
            service.logout(scope, user_id)
            view = None
        if view is None or view.get("presence") == "offline":
            if not _has_desk(user):  # a desk agent gets them after logging in at the desk
                service.login_ready(scope, user, {MEDIA: capacity})
        elif user_id in granted or f"{tenant_id}.{code}" not in view.get("skills", {}):
            service.set_skills(scope, user)


def sync_members(
    service: Any, session: Session, clock: Clock, group_id: int, before: Iterable[int]
) -> None:
    """After a group's members changed: skills granted and revoked, members made ready."""
    group = session.get(WorkGroup, group_id)
    if group is None:
        return
    scope = Scoped(session, _system(group.tenant_id), clock)
    now = set(
        session.scalars(
            select(GroupMember.user_id).where(
                GroupMember.group_id == group_id, GroupMember.active.is_(True)
            )
        )
    )
    removed = set(before) - now
    for user_id in removed:
        service.revoke_skill(session, group.tenant_id, user_id, queue_code(group_id))
    session.commit()
    for user_id in removed:
        service.set_skills(scope, user_in_tenant(scope, user_id))
        end_read_transaction(session)
    _ensure_group(service, scope, group)
    accept_pending(service, session, clock)


def _priority(scope: Scoped, order: WorkOrder) -> int:
    states = sla_states(scope, order)
    state = states.get(RESOLUTION)
    return routing_priority(order.priority, state.fraction if state is not None else 0.0)


def _end(service: Any, scope: Scoped, order: WorkOrder, view: dict[str, Any]) -> None:
    contact_id = order.routing_contact_id
    if view.get("status") == "active" and view.get("agent_id"):
        service.complete(scope, int(view["agent_id"]), contact_id)
    elif view.get("status") in ("waiting", "offered"):
        service.abandon(scope, contact_id)


def _arrive(service: Any, scope: Scoped, order: WorkOrder, group: WorkGroup, prio: int) -> None:
    session = scope.session
    contact_id = uuid.uuid4().hex
    # Stored first: the offer may come inside the arrival's own transaction.
    order.routing_contact_id = contact_id
    order.routing_priority = prio
    session.commit()
    service.arrive(
        scope,
        queue=queue_code(group.id),
        media=MEDIA,
        external_id=f"wo-{order.id}-{contact_id[:8]}",
        customer_id=None,
        priority=float(prio),
        attributes={"order_id": order.id, "group_id": group.id, "priority": order.priority},
        skills={},
        contact_id=contact_id,
    )


def _sync_one(service: Any, scope: Scoped, order: WorkOrder, ensured: set[int]) -> None:
    session = scope.session
    contact_id = order.routing_contact_id
    view = service.contact_view(contact_id) if contact_id else None
    if view is not None and view.get("status") == "closed":
        view = None
    waiting = order.is_open and order.status in WAITING and order.group_id is not None
    if not waiting:
        held = (
            view is not None
            and order.is_open
            and order.assignee_id is not None
            and view.get("agent_id") == str(order.assignee_id)
        )
        if view is not None and not held:
            end_read_transaction(session)
            _end(service, scope, order, view)
        if not held and contact_id is not None:
            order.routing_contact_id = None
            session.commit()
        return
    group = session.get(WorkGroup, order.group_id)
    if group is None or not group.active:
        return
    target = f"{scope.tenant_id}.{queue_code(group.id)}"
    prio = _priority(scope, order)
    if (
        view is not None
        and view.get("queue_id") == target
        and view.get("status") == "waiting"
        and order.routing_priority == prio
    ):
        return  # still waiting where it should, at the right priority
    if group.id not in ensured:
        ensured.add(group.id)
        _ensure_group(service, scope, group)
        accept_pending(service, session, scope.clock)
        session.refresh(order)
        if order.status not in WAITING or order.group_id != group.id:
            return  # a member who just became ready took it
    if view is not None and view.get("queue_id") != target and view.get("status") != "offered":
        service.transfer(  # escalation or transfer: to the next group's queue, in the engine
            scope, contact_id, to_queue=queue_code(group.id), to_agent=None, note="workorder"
        )
        return
    if view is not None:
        _end(service, scope, order, view)  # re-offer with the new priority (or take back)
    _arrive(service, scope, order, group, prio)


def sync_orders(service: Any, session: Session, clock: Clock, order_ids: Iterable[int]) -> None:
    """Bring each order's routing contact in line with the order (after its commit)."""
    ensured: set[int] = set()
    for order_id in sorted(set(order_ids)):
        end_read_transaction(session)
        order = session.get(WorkOrder, order_id)
        if order is None:
            continue
        session.refresh(order)
        scope = Scoped(session, _system(order.tenant_id), clock)
        try:
            _sync_one(service, scope, order, ensured)
        except DomainError as exc:  # the SLA worker retries every minute
            session.rollback()
            log.warning("work order %s: routing refused: %s", order_id, exc)
        accept_pending(service, session, clock)
    end_read_transaction(session)
    for order_id in set(order_ids):
        order = session.get(WorkOrder, order_id)
        if order is not None:
            session.refresh(order)


def dispatch_touched(service: Any, session: Session, clock: Clock) -> None:
    """After a commit: sync every order the transaction changed."""
    touched = session.info.pop(TOUCHED, None)
    if touched and service is not None:
        sync_orders(service, session, clock, touched)


def reprioritise(
    service: Any, session: Session, clock: Clock, *, tenant_id: int | None = None, limit: int = 1000
) -> int:
    """The SLA worker's step: orders waiting in a group, re-offered when their priority step
    changed (or queued, if they have no contact yet). Returns how many were looked at."""
    query = select(WorkOrder.id).where(WorkOrder.is_open.is_(True), WorkOrder.status.in_(WAITING))
    if tenant_id is not None:
        query = query.where(WorkOrder.tenant_id == tenant_id)
    ids = list(session.scalars(query.order_by(WorkOrder.resolution_due).limit(limit)))
    sync_orders(service, session, clock, ids)
    accept_pending(service, session, clock)
    return len(ids)
