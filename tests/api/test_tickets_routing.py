"""Work orders assigned by the routing engine: member capacity, deadline-driven priority."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from kefu.tenancy.model import Role
from tests.api.test_tickets_api import Center, _act, _order, make_center
from tests.factories import login

pytestmark = pytest.mark.api


def _group(center: Center, code: str, members: list[dict[str, int]]) -> int:
    admin = center.admin
    made = admin.post("/api/v1/workorders/groups", json={"code": code, "name": f"{code} 专班"})
    assert made.status_code == 201, made.text
    group = made.json()["id"]
    put = admin.put(f"/api/v1/workorders/groups/{group}/members", json={"members": members})
    assert put.status_code == 200, put.text
    return int(group)


def _get(client: Any, order: dict[str, Any]) -> dict[str, Any]:
    got = client.get(f"/api/v1/workorders/{order['id']}")
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def test_orders_reach_members_with_free_capacity_only(app, container, clock) -> None:
    center = make_center(app, container, "wor")
    world = center.world
    small, large = world.users[Role.BACKOFFICE].id, world.users[Role.QA].id
    group = _group(
        center, "cap", [{"user_id": small, "capacity": 1}, {"user_id": large, "capacity": 2}]
    )
    agent = login(app, world.username(Role.AGENT))
    orders = []
    for n in range(4):
        made = _order(agent, center, contact_id=None, group_id=group, title=f"订单 {n}")
        assert made.status_code == 201, made.text
        orders.append(made.json())
    holders = [o["assignee_id"] for o in orders[:3]]
    # three places in all (1 + 2): each member up to its capacity, the fourth order waits
    assert sorted(holders) == sorted([small, large, large])
    assert orders[3]["status"] == "new" and orders[3]["assignee_id"] is None
    # the engine holds each assigned order as an answered work_order contact of its member
    routing = container.routing_service
    for order in orders[:3]:
        view = routing.contact_view(_get(agent, order)["routing_contact_id"])
        assert view["status"] == "active" and view["media"] == "work_order"
        assert view["agent_id"] == str(order["assignee_id"])
    assert routing.agent_view(small)["capacity"]["work_order"] == 1

    # the large member cancels one of theirs: the waiting order goes to them, not to the
    # small member who is still at capacity
    handler = login(app, world.username(Role.DUTY_MANAGER))
    freed = next(o for o in orders[:3] if o["assignee_id"] == large)
    cancelled = _act(handler, _get(handler, freed), "cancel", reason="重复提交")
    assert cancelled.status_code == 200, cancelled.text
    assert routing.contact_view(_get(handler, freed)["routing_contact_id"] or "x") is None
    waiting = _get(handler, orders[3])
    assert waiting["status"] == "assigned" and waiting["assignee_id"] == large

    # resolving ends the contact: the small member's capacity comes back
    mine = next(o for o in orders[:3] if o["assignee_id"] == small)
    mine = _act(handler, _get(handler, mine), "start").json()
    resolved = _act(handler, mine, "resolve", reason="已退费")
    assert resolved.status_code == 200, resolved.text
    assert routing.agent_view(small)["slots"] == {}
    nxt = _order(agent, center, contact_id=None, group_id=group, title="订单 5").json()
    assert nxt["assignee_id"] == small


def test_priority_rises_as_the_deadline_approaches(app, container, clock) -> None:
    center = make_center(app, container, "wop")
    world = center.world
    member = world.users[Role.BACKOFFICE].id
    group = _group(center, "solo", [{"user_id": member, "capacity": 1}])
    agent = login(app, world.username(Role.AGENT))
    duty = login(app, world.username(Role.DUTY_MANAGER))
    held = _order(agent, center, contact_id=None, group_id=group, title="先到的单").json()
    assert held["assignee_id"] == member
    # the member is at capacity: both wait; the high one (5 working days) ranks first
    early = _order(
        agent, center, contact_id=None, group_id=group, title="高优先级", priority="high"
    ).json()
    soon = _order(
        agent,
        center,
        contact_id=None,
        group_id=group,
        title="承诺四小时内",
        priority="normal",
        due=(clock.now() + timedelta(hours=4)).isoformat(),
    ).json()
    assert early["status"] == soon["status"] == "new"
    assert early["routing_priority"] == 30 and soon["routing_priority"] == 20

    clock.advance(hours=2)  # half of the promise used: +5
    assert duty.post("/api/v1/workorders/sla/check").status_code == 200
    assert _get(duty, soon)["routing_priority"] == 25
    clock.advance(hours=2, minutes=5)  # breached: +10 and +5
    assert duty.post("/api/v1/workorders/sla/check").status_code == 200
    soon = _get(duty, soon)
    early = _get(duty, early)
    assert soon["routing_priority"] == 35 and early["routing_priority"] < 35
    view = container.routing_service.contact_view(soon["routing_contact_id"])
    assert view["status"] == "waiting" and view["priority"] == 35

    # the member frees a place: the order about to be late goes first, though it came later
    cancelled = _act(duty, _get(duty, held), "cancel", reason="客户撤销")
    assert cancelled.status_code == 200, cancelled.text
    assert _get(duty, soon)["assignee_id"] == member
    assert _get(duty, early)["status"] == "new"


def test_desk_agents_get_orders_only_through_their_desk(app, container, clock) -> None:
    center = make_center(app, container, "wod")
    world = center.world
    desk = world.users[Role.AGENT].id  # an agent with a desk, not logged in there
    group = _group(center, "desk", [{"user_id": desk, "capacity": 2}])
    opener = login(app, world.username(Role.DUTY_MANAGER))
    made = _order(opener, center, contact_id=None, group_id=group, title="等座席上线")
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "new"  # waits in the queue: not logged in for them
    assert container.routing_service.agent_view(desk) is None
    back = world.users[Role.BACKOFFICE].id  # a back-office member joins: routed at once
    put = center.admin.put(
        f"/api/v1/workorders/groups/{group}/members",
        json={"members": [{"user_id": desk, "capacity": 2}, {"user_id": back, "capacity": 2}]},
    )
    assert put.status_code == 200, put.text
    assert _get(opener, made.json())["assignee_id"] == back
