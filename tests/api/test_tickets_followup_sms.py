"""The 回访 runs by itself: an SMS survey after resolution, the customer's reply closes or
reopens the order; without a mobile number, a call task inside the preferred window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from kefu.tenancy.model import Role
from tests.api.test_tickets_api import Center, _act, _order, make_center
from tests.factories import login

pytestmark = pytest.mark.api


def _resolved(client: Any, center: Center, phone: str, **extra: Any) -> dict[str, Any]:
    made = _order(client, center, contact_id=None, customer_phone=phone, **extra)
    assert made.status_code == 201, made.text
    order = made.json()
    back = login(client.app, center.world.username(Role.BACKOFFICE))
    assert order["assignee_id"] == center.world.users[Role.BACKOFFICE].id
    order = _act(back, order, "start").json()
    done = _act(back, order, "resolve", reason="已退费 30 元")
    assert done.status_code == 200, done.text
    return dict(done.json())


def _messages(client: Any, phone: str) -> list[dict[str, Any]]:
    got = client.get("/api/v1/sms/messages", params={"phone": phone})
    assert got.status_code == 200, got.text
    return list(got.json()["items"])


def test_sms_survey_reply_closes_or_reopens(app, container, clock) -> None:
    center = make_center(app, container, "wos")
    agent = login(app, center.world.username(Role.AGENT))
    gateway = login(app, center.world.username(Role.DUTY_MANAGER))  # holds routing.contacts
    order = _resolved(agent, center, "138-0013-8001", title="话费多扣")
    assert order["followup_status"] == "pending"
    (survey,) = _messages(gateway, "13800138001")
    assert survey["direction"] == "out" and survey["status"] == "sent"
    assert survey["driver"] == "log" and survey["ref_id"] == order["id"]
    assert order["number"] in survey["body"] and "1 解决，2 未解决" in survey["body"]

    # an answer nobody can read changes nothing; "2 未解决" reopens to the last group
    odd = gateway.post("/api/v1/sms/inbound", json={"from": "+8613800138001", "text": "你好"})
    assert odd.status_code == 200 and odd.json()["result"] == "unreadable"
    assert agent.get(f"/api/v1/workorders/{order['id']}").json()["status"] == "resolved"
    reply = gateway.post("/api/v1/sms/inbound", json={"from": "+8613800138001", "text": "2 未解决"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["result"] == "not_solved" and reply.json()["reply_to_id"] == survey["id"]
    order = agent.get(f"/api/v1/workorders/{order['id']}").json()
    assert order["status"] == "assigned" and order["group_id"] == center.billing
    assert order["repeat_count"] == 1 and order["reopen_count"] == 1
    assert order["followup_status"] == "not_solved"
    events = agent.get(f"/api/v1/workorders/{order['id']}/timeline").json()["items"]
    followed = [e for e in events if e["type"] == "workorder.followed_up"]
    assert followed and followed[-1]["data"]["channel"] == "sms"

    # the second resolution sends a new survey; "1" closes the order
    back = login(app, center.world.username(Role.BACKOFFICE))
    order = _act(back, order, "start").json()
    order = _act(back, order, "resolve", reason="再次核实已退费").json()
    assert len(_messages(gateway, "13800138001")) == 4  # two surveys, two replies
    reply = gateway.post("/api/v1/sms/inbound", json={"from": "13800138001", "text": "１"})
    assert reply.json()["result"] == "solved"
    order = agent.get(f"/api/v1/workorders/{order['id']}").json()
    assert order["status"] == "closed" and order["followup_status"] == "solved"
    late = gateway.post("/api/v1/sms/inbound", json={"from": "13800138001", "text": "2"})
    assert late.json()["result"] == "not_pending"  # closed: a late answer changes nothing


def test_landline_gets_a_call_task_in_the_preferred_window(app, container, clock) -> None:
    center = make_center(app, container, "woc")
    agent = login(app, center.world.username(Role.AGENT))
    after = clock.now() + timedelta(hours=3)
    order = _resolved(
        agent,
        center,
        "010-62345678",
        callback_after=after.isoformat(),
        callback_before=(after + timedelta(hours=2)).isoformat(),
    )
    gateway = login(app, center.world.username(Role.DUTY_MANAGER))
    assert _messages(gateway, "01062345678") == []
    events = agent.get(f"/api/v1/workorders/{order['id']}/timeline").json()["items"]
    (task,) = [e for e in events if e["type"] == "workorder.followup_scheduled"]
    assert task["data"]["channel"] == "call"
    assert task["data"]["at"][:16] == after.isoformat()[:16]
    news = agent.get("/api/v1/workorders/notifications/mine").json()["items"]
    assert ("followup_call", order["id"]) in {(n["kind"], n["order_id"]) for n in news}
