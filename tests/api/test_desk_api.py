"""The agent desk and the wallboard through the API: screen-pop, transfer with a note and mood,
wrap-up into the customer's history, quick replies, and the supervisor's live numbers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kefu.customers.tables import Customer, Interaction
from kefu.tenancy.model import Role
from tests.api.test_webchat_api import _second_agent, chat_center, customer, offered_contact, ready
from tests.factories import login

pytestmark = pytest.mark.api


def _customer_with_history(container, world, clock) -> int:
    """A gold customer who already called twice today (last at 10:32 local) and complained."""
    with container.db.session(clock=clock, actor_name="test") as session:
        person = Customer(
            tenant_id=world.tenant_id,
            name="王建国",
            phone="13912345678",
            vip_level=2,
            tags=["宽带用户"],
            created_at=clock.now() - timedelta(days=900),
        )
        session.add(person)
        session.flush()
        now = clock.now()
        for hours, complaint in ((3, False), (1, True), (24 * 40, False), (24 * 400, False)):
            session.add(
                Interaction(
                    tenant_id=world.tenant_id,
                    customer_id=person.id,
                    channel="voice",
                    started_at=now - timedelta(hours=hours),
                    business_type="话费查询",
                    disposition="已解决",
                    is_complaint=complaint,
                    summary=f"{hours}h ago",
                )
            )
        return int(person.id)


def _dispositions(admin) -> None:
    for code, name in (("solved", "已解决"), ("wo", "转工单")):
        response = admin.post(
            "/api/v1/desk/dispositions",
            json={"code": code, "name": name, "business_type": "话费查询"},
        )
        assert response.status_code == 201, response.text


def _answered_chat(app, container, clock):
    world, admin, agent, agent_id, key = chat_center(app, container, "desk")
    _dispositions(admin)
    _customer_with_history(container, world, clock)
    cust, _ = customer(app, key, name="王先生", phone="13912345678", topic="bill", message="查话费")
    clock.advance(12)
    ready(agent)
    contact_id = offered_contact(agent)
    return world, admin, agent, agent_id, cust, contact_id


def test_the_screen_pop_shows_who_the_customer_is_before_answering(app, container, clock) -> None:
    _world, _admin, agent, _agent_id, _cust, contact_id = _answered_chat(app, container, clock)
    desk = agent.get("/api/v1/desk/me").json()
    (offer,) = desk["contacts"]
    assert offer["phase"] == "offered" and offer["media"] == "chat" and offer["ring_deadline"]
    assert desk["state"] == "reserved" and "break" in desk["reasons"]
    pop = agent.get(f"/api/v1/desk/contacts/{contact_id}/screen-pop").json()
    assert pop["customer"]["name"] == "王建国"
    assert pop["customer"]["phone"] == "139****5678" and pop["customer"]["vip_level"] == 2
    visits = pop["visits"]
    assert visits["ordinal_today"] >= 2  # the 3h-ago call was today (the clock is at 18:00 CST)
    assert visits["past_year"] == 4 and visits["complaints"] == 1
    assert pop["contact"]["wait_s"] >= 12
    assert pop["chat"]["self_service"][0]["label"] == "话费查询"
    assert [t["summary"] for t in pop["timeline"]][:2] == ["1h ago", "3h ago"]


def test_transfer_carries_the_note_and_mood_to_the_next_agent(app, container, clock) -> None:
    world, _admin, agent, _agent_id, cust, contact_id = _answered_chat(app, container, clock)
    assert agent.post(f"/api/v1/routing/me/offers/{contact_id}/accept").status_code == 204
    second = _second_agent(app, container, world)
    ready(second)
    second_id = second.get("/api/v1/desk/me").json()["user"]["id"]
    targets = agent.get("/api/v1/desk/transfer-targets").json()
    assert "CHAT" in [q["code"] for q in targets["queues"]]
    assert [a["id"] for a in targets["agents"]] == [second_id]
    bad = agent.post(
        f"/api/v1/desk/contacts/{contact_id}/transfer",
        json={"queue": "CHAT", "agent_id": second_id, "note": "x"},
    )
    assert bad.status_code == 422  # exactly one target
    moved = agent.post(
        f"/api/v1/desk/contacts/{contact_id}/transfer",
        json={
            "agent_id": second_id,
            "note": "客户已核实身份，要求办理停机保号",
            "emotion": "anxious",
        },
    )
    assert moved.status_code == 201, moved.text
    assert agent.get("/api/v1/desk/me").json()["contacts"][0]["phase"] == "wrap_up"
    assert offered_contact(second) == contact_id
    pop = second.get(f"/api/v1/desk/contacts/{contact_id}/screen-pop").json()
    (handover,) = pop["handovers"]
    assert (
        handover["note"] == "客户已核实身份，要求办理停机保号" and handover["emotion"] == "anxious"
    )
    assert handover["from"]["job_number"] == world.users[Role.AGENT].job_number
    assert second.post(f"/api/v1/routing/me/offers/{contact_id}/accept").status_code == 204
    kinds = [m["kind"] for m in cust.get("/api/v1/webchat/conversation/messages").json()["items"]]
    assert kinds[-3:] == ["agent_joined", "transferring", "agent_joined"]
    assert "停机保号" not in str(cust.get("/api/v1/webchat/conversation/messages").json())
    # The first agent no longer owns it.
    again = agent.post(
        f"/api/v1/desk/contacts/{contact_id}/transfer", json={"queue": "CHAT", "note": ""}
    )
    assert again.status_code == 409 and again.json()["code"] == "desk_not_your_contact"


def test_wrap_up_records_history_and_frees_the_agent(app, container, clock) -> None:
    world, admin, agent, _agent_id, _cust, contact_id = _answered_chat(app, container, clock)
    early = agent.post(
        f"/api/v1/desk/contacts/{contact_id}/wrap-up", json={"disposition": "solved"}
    )
    assert early.status_code == 409 and early.json()["code"] == "desk_contact_not_ended"
    agent.post(f"/api/v1/routing/me/offers/{contact_id}/accept")
    conversation_id = agent.get(f"/api/v1/webchat/contacts/{contact_id}").json()["conversation"][
        "id"
    ]
    assert agent.post(f"/api/v1/webchat/conversations/{conversation_id}/end").status_code == 204
    me = agent.get("/api/v1/desk/me").json()
    assert me["state"] == "wrap_up" and me["contacts"][0]["wrap_up_deadline"]
    unknown = agent.post(
        f"/api/v1/desk/contacts/{contact_id}/wrap-up", json={"disposition": "nope"}
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "disposition"
    other = _second_agent(app, container, world)
    stolen = other.post(
        f"/api/v1/desk/contacts/{contact_id}/wrap-up", json={"disposition": "solved"}
    )
    assert stolen.status_code == 409 and stolen.json()["code"] == "desk_not_your_contact"
    done = agent.post(
        f"/api/v1/desk/contacts/{contact_id}/wrap-up",
        json={"disposition": "wo", "notes": "需派单核查", "complaint": True},
    )
    assert done.status_code == 201, done.text
    assert agent.get("/api/v1/desk/me").json()["state"] == "ready"
    twice = agent.post(
        f"/api/v1/desk/contacts/{contact_id}/wrap-up", json={"disposition": "solved"}
    )
    assert twice.status_code == 409 and twice.json()["code"] == "desk_already_wrapped_up"
    pop = admin.get(f"/api/v1/desk/contacts/{contact_id}/screen-pop").json()
    latest = pop["timeline"][0]
    assert (latest["channel"], latest["disposition"], latest["summary"]) == (
        "chat",
        "转工单",
        "需派单核查",
    )
    assert latest["complaint"] is True and pop["visits"]["complaints"] == 2


def test_quick_replies_are_filled_for_the_contact(app, container, clock) -> None:
    world, admin, agent, _agent_id, _cust, contact_id = _answered_chat(app, container, clock)
    reply = {"title": "问候", "body": "{customer_name}您好，{job_number}号为您服务。{unknown}"}
    assert agent.post("/api/v1/desk/quick-replies", json=reply).status_code == 403
    leader = login(app, world.username(Role.TEAM_LEADER))
    assert leader.post("/api/v1/desk/quick-replies", json=reply).status_code == 201
    items = agent.get(f"/api/v1/desk/contacts/{contact_id}/quick-replies").json()["items"]
    job = world.users[Role.AGENT].job_number
    assert items[0]["text"] == f"王建国您好，{job}号为您服务。{{unknown}}"
    assert admin.get("/api/v1/desk/dispositions").json()["total"] == 2


def test_the_wallboard_counts_move_with_the_work(app, container, clock) -> None:
    world, admin, agent, agent_id, key = chat_center(app, container, "wb")
    leader = login(app, world.username(Role.TEAM_LEADER))
    board = leader.get("/api/v1/desk/wallboard").json()
    chat = next(q for q in board["queues"] if q["code"] == "CHAT")
    assert (chat["waiting"], chat["answered"], chat["sl_target"]) == (0, 0, 0.8)
    assert board["sl_formula"] == "F3" and board["trend"]["sl_formula"] == "F3"
    assert board["alerts"] == []
    first, _ = customer(app, key, name="第一位")
    clock.advance(70)  # answered after 70 s: outside the 60 s threshold of the queue
    ready(agent)
    contact_id = offered_contact(agent)
    (me,) = [a for a in leader.get("/api/v1/desk/wallboard").json()["agents"]]
    assert (me["user_id"], me["state"]) == (agent_id, "reserved") and me["since"]
    assert agent.post(f"/api/v1/routing/me/offers/{contact_id}/accept").status_code == 204
    assert (
        agent.put(
            "/api/v1/routing/me/state", json={"presence": "not_ready", "reason": "meeting"}
        ).status_code
        == 204
    )
    second, _ = customer(app, key, name="排队中")
    clock.advance(200)
    container.routing.pump()  # the runtime's worker ticks every second; here the test does
    board = leader.get("/api/v1/desk/wallboard").json()
    chat = next(q for q in board["queues"] if q["code"] == "CHAT")
    assert (chat["answered"], chat["abandoned"], chat["waiting"]) == (1, 0, 1)
    assert chat["today"]["service_level"] == 0.0 and chat["asa_s"] == 70.0
    assert chat["longest_wait_s"] >= 200
    kinds = {(a["queue"], a["kind"]) for a in board["alerts"]}
    assert {("CHAT", "sl_today"), ("CHAT", "long_wait")} <= kinds
    if chat["interval"]["service_level"] is not None:  # unless the 15 minutes just turned over
        assert ("CHAT", "sl_interval") in kinds
    assert sum(board["trend"]["offered"]) == 1 and 0.0 in board["trend"]["service_level"]
    (me,) = board["agents"]
    assert (me["state"], me["reason"], me["contacts"]) == ("busy", "meeting", 1)
    listed = leader.get("/api/v1/desk/wallboard/waiting").json()
    assert listed["total"] == 1 and listed["items"][0]["wait_s"] >= 200
    # The supervisor moves the waiting chat to another chat queue.
    admin.post(
        "/api/v1/routing/queues",
        json={"code": "CHAT2", "name": "二线", "media": "chat", "skills": []},
    )
    moved = leader.post(
        f"/api/v1/routing/contacts/{listed['items'][0]['contact_id']}/transfer",
        json={"queue": "CHAT2", "note": ""},
    )
    assert moved.status_code == 204
    assert second.post("/api/v1/webchat/conversation/end").status_code == 204
    board = leader.get("/api/v1/desk/wallboard").json()
    chat2 = next(q for q in board["queues"] if q["code"] == "CHAT2")
    assert (chat2["waiting"], chat2["abandoned"]) == (0, 1)
    assert agent.get("/api/v1/desk/wallboard").status_code == 403
    _ = first
