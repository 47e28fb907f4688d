"""Routing through the API: queue, offer, answer, wrap-up; timers; bad input; tenant isolation."""

from __future__ import annotations

import pytest

from kefu.tenancy.model import Role
from tests.factories import login, make_world

pytestmark = pytest.mark.api


def _center(app, container, label: str = "r"):
    """A tenant with skill 'billing', queue 'BILL' (ring 20 s, wrap-up 30 s) and a ready agent."""
    world = make_world(container, label)
    admin = login(app, world.username(Role.ADMIN))
    assert (
        admin.post("/api/v1/routing/skills", json={"code": "billing", "name": "话费"}).status_code
        == 201
    )
    queue = {
        "code": "BILL",
        "name": "话费",
        "media": "voice",
        "skills": [{"skill": "billing", "min_level": 3}],
        "options": {"ring_timeout_s": 20, "wrap_up_s": 30},
    }
    assert admin.post("/api/v1/routing/queues", json=queue).status_code == 201
    agent_id = world.users[Role.AGENT].id
    assert (
        admin.put(
            f"/api/v1/routing/agents/{agent_id}/skills", json={"skills": {"billing": 5}}
        ).status_code
        == 200
    )
    agent = login(app, world.username(Role.AGENT))
    return world, admin, agent, agent_id


def _ready(agent) -> None:
    assert agent.post("/api/v1/routing/me/login").status_code == 204
    assert agent.put("/api/v1/routing/me/state", json={"presence": "ready"}).status_code == 204


def test_a_contact_is_offered_answered_and_wrapped_up(app, container) -> None:
    _world, admin, agent, agent_id = _center(app, container)
    _ready(agent)
    with agent.websocket_connect("/api/v1/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": [f"routing.agent.{agent_id}"]})
        assert ws.receive_json()["data"]["state"] == "ready"
        created = admin.post(
            "/api/v1/routing/contacts",
            json={"queue": "BILL", "media": "voice", "external_id": "call-1"},
        )
        assert created.status_code == 201, created.text
        contact = created.json()
        assert contact["status"] == "offered" and contact["agent_id"] == agent_id
        while (message := ws.receive_json())["op"] != "event" or message["event"][
            "type"
        ] != "contact_offered":
            pass
        assert message["event"]["data"]["contact_id"] == contact["id"]
        assert message["event"]["data"]["queue_id"] == "BILL"  # no tenant prefix leaks out
    assert agent.post(f"/api/v1/routing/me/offers/{contact['id']}/accept").status_code == 204
    assert admin.get(f"/api/v1/routing/contacts/{contact['id']}").json()["status"] == "active"
    assert agent.get("/api/v1/routing/me").json()["state"] == "busy"
    assert agent.post(f"/api/v1/routing/me/contacts/{contact['id']}/complete").status_code == 204
    assert agent.get("/api/v1/routing/me").json()["state"] == "wrap_up"
    assert agent.post("/api/v1/routing/me/wrap-up/finish").status_code == 204
    assert agent.get("/api/v1/routing/me").json()["state"] == "ready"
    final = admin.get(f"/api/v1/routing/contacts/{contact['id']}").json()
    assert final["status"] == "closed" and final["outcome"] == "answered" and final["wait_s"] == 0
    stats = admin.get("/api/v1/routing/stats").json()
    assert stats["queues"]["BILL"]["answered"] == 1 and stats["agents"] == {"ready": 1}
    for window in ("interval", "today"):
        live = stats["queues"]["BILL"][window]
        assert (live["answered"], live["service_level"], live["sl_formula"]) == (1, 1.0, "F3")


def test_waiting_contacts_get_position_and_expected_wait(app, container) -> None:
    _world, admin, agent, _agent_id = _center(app, container)
    nobody = admin.post("/api/v1/routing/contacts", json={"queue": "BILL"}).json()
    assert (nobody["status"], nobody["position"], nobody["expected_wait_s"]) == ("waiting", 1, None)
    _ready(agent)  # takes the first contact; the next ones wait behind a busy agent
    assert agent.post(f"/api/v1/routing/me/offers/{nobody['id']}/accept").status_code == 204
    first = admin.post("/api/v1/routing/contacts", json={"queue": "BILL"}).json()
    second = admin.post("/api/v1/routing/contacts", json={"queue": "BILL"}).json()
    assert (first["position"], second["position"]) == (1, 2)
    assert 0 < first["expected_wait_s"] < second["expected_wait_s"]
    assert admin.post(f"/api/v1/routing/contacts/{first['id']}/abandon").status_code == 204
    assert admin.get(f"/api/v1/routing/contacts/{second['id']}").json()["position"] == 1
    assert admin.get(f"/api/v1/routing/contacts/{first['id']}").json()["outcome"] == "abandoned"


def test_ring_timeout_requeues_and_marks_the_agent_missed(app, container, clock) -> None:
    _world, admin, agent, _agent_id = _center(app, container)
    _ready(agent)
    contact = admin.post("/api/v1/routing/contacts", json={"queue": "BILL"}).json()
    assert contact["status"] == "offered"
    clock.advance(21)
    container.routing.pump()
    me = agent.get("/api/v1/routing/me").json()
    assert me["presence"] == "not_ready" and me["reason"] == "missed"
    again = admin.get(f"/api/v1/routing/contacts/{contact['id']}").json()
    assert again["status"] == "waiting" and again["position"] == 1
    late = agent.post(f"/api/v1/routing/me/offers/{contact['id']}/accept")
    assert late.status_code == 409 and late.json()["code"] == "invalid_transition"


def test_bad_input_changes_nothing(app, container) -> None:
    world, admin, agent, _agent_id = _center(app, container)
    assert (
        admin.post("/api/v1/routing/contacts", json={"queue": "NOPE"}).json()["code"] == "not_found"
    )
    assert (
        admin.post(
            "/api/v1/routing/contacts", json={"queue": "BILL", "external_id": "x"}
        ).status_code
        == 201
    )
    duplicate = admin.post("/api/v1/routing/contacts", json={"queue": "BILL", "external_id": "x"})
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_contact"
    assert (
        admin.post("/api/v1/routing/contacts", json={"queue": "BILL", "media": "fax"}).status_code
        == 422
    )
    agent_id = world.users[Role.AGENT].id
    bad = admin.put(f"/api/v1/routing/agents/{agent_id}/skills", json={"skills": {"astrology": 3}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "skills.astrology"
    _ready(agent)
    offered = admin.get("/api/v1/routing/stats").json()["queues"]["BILL"]
    assert offered["waiting"] == 0  # the one contact went to the agent
    me = agent.get("/api/v1/routing/me").json()
    (contact_id,) = me["slots"]
    assert agent.post(f"/api/v1/routing/me/offers/{contact_id}/accept").status_code == 204
    busy_logout = agent.post("/api/v1/routing/me/logout")
    assert busy_logout.status_code == 409 and busy_logout.json()["code"] == "invalid_transition"
    assert agent.post(f"/api/v1/routing/me/offers/{contact_id}/accept").status_code == 409


def test_agents_never_get_another_tenants_contacts(app, container) -> None:
    _wa, _admin_a, agent_a, _ = _center(app, container, "ta")
    _wb, admin_b, _agent_b, _ = _center(app, container, "tb")
    _ready(agent_a)
    contact = admin_b.post("/api/v1/routing/contacts", json={"queue": "BILL"}).json()
    assert contact["status"] == "waiting"  # same queue and skill codes, other tenant: no offer
    assert agent_a.get("/api/v1/routing/me").json()["slots"] == {}
    assert _admin_a.get(f"/api/v1/routing/contacts/{contact['id']}").status_code == 404


def test_supervisor_forces_state_with_audit_and_moves_a_contact(app, container) -> None:
    world, admin, agent, agent_id = _center(app, container)
    _ready(agent)
    leader = login(app, world.username(Role.TEAM_LEADER))
    assert (
        leader.put(
            f"/api/v1/routing/agents/{agent_id}/state",
            json={"presence": "not_ready", "reason": "培训"},
        ).status_code
        == 204
    )
    assert agent.get("/api/v1/routing/me").json()["reason"] == "培训"
    audit = admin.get("/api/v1/audit", params={"entity": "agents"}).json()["items"]
    assert audit[0]["action"] == "force_state" and audit[0]["after"] == {"presence": "not_ready"}
    admin.post("/api/v1/routing/queues", json={"code": "VIP", "name": "VIP", "skills": []})
    contact = admin.post("/api/v1/routing/contacts", json={"queue": "BILL"}).json()
    assert (
        leader.post(
            f"/api/v1/routing/contacts/{contact['id']}/transfer",
            json={"queue": "VIP", "note": "大客户"},
        ).status_code
        == 204
    )
    moved = admin.get(f"/api/v1/routing/contacts/{contact['id']}").json()
    assert moved["queue_code"] == "VIP" and moved["note"] == "大客户"
    assert (
        agent.put(
            f"/api/v1/routing/agents/{agent_id}/state", json={"presence": "ready"}
        ).status_code
        == 403
    )
