"""Recordings: who may list and play them (every playback logged), retention per tenant and
the purge; Kamailio's endpoints answer only loopback callers holding the shared key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kefu.channels.voice.ivrlink import ivr_trail
from kefu.channels.voice.kamailio import install
from kefu.channels.voice.services import purge_expired
from kefu.channels.voice.tables import VoiceRecording
from kefu.db.eventlog import EventRecord
from kefu.ivr import IvrSession, ToQueue, parse_flow
from kefu.routing.tables import QueueConfig
from kefu.tenancy import Principal, Scoped
from kefu.tenancy.model import Role
from tests.factories import login, make_world

pytestmark = pytest.mark.api


def _recording(container: Any, tenant_id: int, tmp: Path, name: str, age_days: float) -> int:
    path = tmp / f"{name}.wav"
    path.write_bytes(b"RIFF....WAVEfmt ")
    ended = container.clock.now() - timedelta(days=age_days)
    with container.db.session(clock=container.clock, actor_name="test") as session:
        row = VoiceRecording(
            tenant_id=tenant_id,
            contact_id=name,
            path=str(path),
            caller="13900000000",
            started_at=ended - timedelta(minutes=3),
            ended_at=ended,
            duration_s=180.0,
            size_bytes=16,
        )
        session.add(row)
        session.flush()
        return row.id


def test_qa_plays_a_recording_and_the_access_is_logged(app, container, tmp_path) -> None:
    world = make_world(container, "rec")
    rid = _recording(container, world.tenant_id, tmp_path, "c-rec-1", 1)
    qa = login(app, world.username(Role.QA))
    listed = qa.get("/api/v1/voice/recordings", params={"contact_id": "c-rec-1"}).json()["items"]
    assert [r["id"] for r in listed] == [rid]
    audio = qa.get(f"/api/v1/voice/recordings/{rid}/audio")
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    with container.db.sessions() as session:
        logged = session.scalars(
            select(EventRecord).where(
                EventRecord.tenant_id == world.tenant_id,
                EventRecord.type == "voice.recording_accessed",
            )
        ).all()
    assert [(e.data["recording_id"], e.data["username"]) for e in logged] == [
        (rid, world.username(Role.QA))
    ]


def test_agents_may_not_list_or_play_recordings(app, container, tmp_path) -> None:
    world = make_world(container, "rec")
    rid = _recording(container, world.tenant_id, tmp_path, "c-rec-2", 1)
    agent = login(app, world.username(Role.AGENT))
    assert agent.get("/api/v1/voice/recordings").status_code == 403
    assert agent.get(f"/api/v1/voice/recordings/{rid}/audio").status_code == 403
    assert agent.put("/api/v1/voice/settings", json={"retention_days": 1}).status_code == 403


def test_recordings_older_than_the_tenants_retention_are_purged(app, container, tmp_path) -> None:
    world = make_world(container, "rec")
    other = make_world(container, "rec")
    old = _recording(container, world.tenant_id, tmp_path, "c-old", 40)
    fresh = _recording(container, world.tenant_id, tmp_path, "c-fresh", 10)
    kept = _recording(container, other.tenant_id, tmp_path, "c-other", 40)  # default 180 days
    admin = login(app, world.username(Role.ADMIN))
    assert admin.get("/api/v1/voice/settings").json() == {"retention_days": 180}
    assert admin.put("/api/v1/voice/settings", json={"retention_days": 30}).status_code == 200
    assert admin.put("/api/v1/voice/settings", json={"retention_days": 0}).status_code == 422
    with container.db.session(clock=container.clock, actor_name="test") as session:
        assert purge_expired(session, container.clock.now()) == 1
    with container.db.sessions() as session:
        left = set(session.scalars(select(VoiceRecording.id)).all())
    assert old not in left and {fresh, kept} <= left
    assert not (tmp_path / "c-old.wav").exists() and (tmp_path / "c-fresh.wav").exists()


def test_sensitive_entry_needs_a_call_of_ones_own(app, container) -> None:
    world = make_world(container, "rec")
    agent = login(app, world.username(Role.AGENT))
    response = agent.post("/api/v1/voice/calls/nope/sensitive", json={"active": True})
    assert response.status_code == 404
    response = agent.post("/api/v1/voice/calls/nope/control", json={"action": "hold"})
    assert response.status_code == 404
    bad = agent.post("/api/v1/voice/calls/nope/control", json={"action": "dtmf", "digits": "1a"})
    assert bad.status_code == 422


class _Control:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, str]]] = []

    def route(self, ruser: str) -> dict[str, Any]:
        return {"action": "forward", "uri": f"sip:{ruser}@127.0.0.1:5080"}

    def kamailio_event(self, kind: str, params: dict[str, str]) -> None:
        self.events.append((kind, params))


def test_kamailio_endpoints_need_the_key_and_a_trusted_address(app, container) -> None:
    client = TestClient(app)
    assert client.get("/voice/kamailio/route", params={"ruser": "4000"}).status_code == 404
    control = _Control()
    install(container, control, "k3y")  # TestClient's address is "testclient": not loopback
    assert client.get("/voice/kamailio/route", params={"key": "k3y"}).status_code == 403
    install(container, control, "k3y", frozenset({"testclient"}))
    assert client.get("/voice/kamailio/route", params={"key": "bad"}).status_code == 403
    answer = client.get("/voice/kamailio/route", params={"key": "k3y", "ruser": "4000"})
    assert answer.text == "forward sip:4000@127.0.0.1:5080"
    client.get("/voice/kamailio/event", params={"key": "k3y", "type": "register", "user": "1001"})
    assert control.events == [("register", {"type": "register", "user": "1001"})]


SCREEN_POP_FLOW = {
    "start": "main",
    "settings": {"human_queue": "HOTLINE"},
    "nodes": {
        "main": {
            "type": "menu",
            "prompt": "欢迎致电。话费查询请按1，人工服务请按0。",
            "options": {"1": "bill"},
        },
        "bill": {"type": "menu", "prompt": "查询余额请按1，人工请按0。", "options": {"1": "bye"}},
        "bye": {"type": "hangup", "reason": "completed"},
    },
}


def test_the_screen_pop_of_a_call_shows_the_callers_way_through_the_ivr(app, container) -> None:
    """What call control puts in a phone contact's attributes when the IVR hands the caller
    over (path and seconds) is what the agent's 360 shows as the self-service record."""
    world = make_world(container, "pop")
    with container.db.session(clock=container.clock, actor_name="test") as session:
        session.add(
            QueueConfig(
                tenant_id=world.tenant_id, code="HOTLINE", name="热线", media="voice", options={}
            )
        )
    ivr = IvrSession(
        parse_flow(SCREEN_POP_FLOW),
        caller={"phone": "13900000000"},
        local_now=datetime(2026, 11, 26, 10, 0, tzinfo=UTC),
        is_workday=True,
        is_holiday=False,
    )
    ivr.start()
    ivr.digits("1")
    assert ivr.digits("0") == [ToQueue("HOTLINE", 0, "zero_out")]
    path, labels = ivr_trail(ivr)
    assert (path, labels) == ("main>bill", "话费查询 > 人工")
    routing = container.routing_service
    with container.db.session(clock=container.clock, actor_name="voice") as session:
        scope = Scoped(
            session, Principal(0, world.tenant_id, "voice", "voice", frozenset()), container.clock
        )
        routing.sync_tenant(session, world.tenant_id)
        contact = routing.arrive(
            scope,
            queue="HOTLINE",
            media="voice",
            external_id=None,
            customer_id=None,
            priority=0,
            attributes={
                "channel": "voice",
                "ivr_path": path,
                "ivr_labels": labels,
                "ivr_seconds": 42,
            },
            skills={},
        )
        contact_id = contact.id
    manager = login(app, world.username(Role.DUTY_MANAGER))
    pop = manager.get(f"/api/v1/desk/contacts/{contact_id}/screen-pop").json()
    assert pop["contact"]["media"] == "voice" and pop["chat"] is None
    assert pop["ivr"] == {"path": "话费查询 > 人工", "nodes": "main>bill", "seconds": 42}
