"""The demo simulation: simulated callers reach simulated agents who answer and wrap up, and a
simulated chat customer reaches the person at the desk, answers them, and rates the service."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kefu.desk.simulation import DemoSimulation
from kefu.desk.tables import WrapUp
from kefu.routing.tables import RoutingContact
from tests.api.test_webchat_api import _second_agent, chat_center, ready

pytestmark = pytest.mark.api


def test_the_simulation_serves_calls_and_talks_to_a_real_agent(app, container, clock) -> None:
    world, admin, agent, _agent_id, key = chat_center(app, container, "sim")
    admin.post("/api/v1/routing/skills", json={"code": "voice", "name": "语音"})
    admin.post(
        "/api/v1/routing/queues",
        json={"code": "Q_V", "name": "语音", "media": "voice", "skills": [{"skill": "voice"}]},
    )
    admin.post("/api/v1/desk/dispositions", json={"code": "OK", "name": "已解决"})
    bot = _second_agent(app, container, world)
    bot_id = bot.get("/api/v1/desk/me").json()["user"]["id"]
    admin.put(f"/api/v1/routing/agents/{bot_id}/skills", json={"skills": {"voice": 5}})
    sim = DemoSimulation(
        container,
        tenant_id=world.tenant_id,
        widget_key=key,
        agents=[bot_id],
        voice_queues=("Q_V",),
        chats_per_min=1.0,
        calls_per_min=4.0,
        seed=7,
    )
    sim.setup()
    assert bot.get("/api/v1/desk/me").json()["state"] == "ready"
    ready(agent)
    replied = rated = False
    for _second in range(900):  # fifteen simulated minutes
        clock.advance(1)
        container.routing.pump()
        sim.step()
        for contact in agent.get("/api/v1/desk/me").json()["contacts"]:
            cid = contact["contact_id"]
            if contact["phase"] == "offered":
                agent.post(f"/api/v1/routing/me/offers/{cid}/accept")
            elif contact["phase"] == "active":
                chat = agent.get(f"/api/v1/webchat/contacts/{cid}").json()
                conversation_id = chat["conversation"]["id"]
                senders = [m["sender"] for m in chat["messages"]]
                if "agent" not in senders:
                    agent.post(
                        f"/api/v1/webchat/conversations/{conversation_id}/messages",
                        json={"text": "您好，请问有什么可以帮您？", "client_id": "hi"},
                    )
                elif senders.count("customer") >= 2:
                    replied = True
                    agent.post(f"/api/v1/webchat/conversations/{conversation_id}/end")
            elif contact["phase"] == "wrap_up":
                chat = agent.get(f"/api/v1/webchat/contacts/{cid}").json()
                rated = rated or chat["conversation"]["rating"] is not None
                if rated:
                    agent.post(f"/api/v1/desk/contacts/{cid}/wrap-up", json={"disposition": "OK"})
        if replied and rated and _bot_done(container, bot_id):
            break
    assert replied and rated and _bot_done(container, bot_id)
    sim.stop()


def _bot_done(container, bot_id: int) -> bool:
    """The simulated agent answered at least one call and recorded its wrap-up."""
    with container.db.sessions() as session:
        served = session.scalar(
            select(func.count())
            .select_from(RoutingContact)
            .where(RoutingContact.agent_id == bot_id, RoutingContact.outcome == "answered")
        )
        wrapped = session.scalar(
            select(func.count()).select_from(WrapUp).where(WrapUp.agent_id == bot_id)
        )
    return bool(served) and bool(wrapped)
