"""Websocket: authenticated topic subscriptions, snapshot, live events, resume, heartbeats."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from kefu.tenancy.model import Role
from tests.factories import login, make_world

pytestmark = pytest.mark.api


def _next(ws, op: str) -> dict:
    while True:
        message = ws.receive_json()
        if message["op"] == op:
            return message
        assert message["op"] == "ping", message


def test_snapshot_then_live_events_of_own_tenant_only(app, container) -> None:
    mine, other = make_world(container, "mine"), make_world(container, "other")
    admin = login(app, mine.username(Role.ADMIN))
    other_admin = login(app, other.username(Role.ADMIN))
    with admin.websocket_connect("/api/v1/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": ["tenancy"]})
        snapshot = _next(ws, "snapshot")
        assert snapshot["topic"] == "tenancy" and snapshot["data"] == {
            "sites": 1,
            "teams": 1,
            "users": 9,
        }
        other_admin.post("/api/v1/sites", json={"code": "OT", "name": "别人的职场"})
        created = admin.post("/api/v1/sites", json={"code": "LV", "name": "实时职场"}).json()
        event = _next(ws, "event")["event"]
        assert event["type"] == "site.created" and event["data"] == {"id": created["id"]}
        assert event["tenant_id"] == mine.tenant_id and event["id"] > snapshot["last_event_id"]


def test_resume_replays_missed_events_once_in_order(app, container) -> None:
    world = make_world(container)
    admin = login(app, world.username(Role.ADMIN))
    with admin.websocket_connect("/api/v1/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": ["tenancy"]})
        last = _next(ws, "snapshot")["last_event_id"]
    ids = [
        admin.post("/api/v1/sites", json={"code": f"M{i}", "name": f"断线期间{i}"}).json()["id"]
        for i in range(3)
    ]
    with admin.websocket_connect("/api/v1/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": ["tenancy"], "since": last})
        replayed = [_next(ws, "event")["event"] for _ in range(3)]
        assert [e["data"]["id"] for e in replayed] == ids
        assert _next(ws, "resumed")["replayed"] == 3
        admin.post("/api/v1/sites", json={"code": "AFTER", "name": "恢复之后"})
        live = _next(ws, "event")["event"]
        assert live["id"] > replayed[-1]["id"] and live["type"] == "site.created"


def test_unauthenticated_socket_is_closed(app) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as info,
        TestClient(app).websocket_connect("/api/v1/ws") as ws,
    ):
        ws.receive_json()
    assert info.value.code == 1008


def test_topic_needs_permission_and_bad_messages_get_errors(app, container) -> None:
    world = make_world(container)
    viewer = login(app, world.username(Role.CLIENT_VIEWER))
    with viewer.websocket_connect("/api/v1/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": ["tenancy", "nope"]})
        error = _next(ws, "error")
        assert error["code"] == "topic_denied" and sorted(error["topics"]) == ["nope", "tenancy"]
        ws.send_text("not json")
        assert _next(ws, "error")["code"] == "malformed_message"
        ws.send_json({"op": "ping"})
        assert _next(ws, "pong") == {"op": "pong"}


def test_heartbeat_pings_and_drops_silent_clients(app, container) -> None:
    container.settings.ws_heartbeat_s = 0.1
    world = make_world(container)
    admin = login(app, world.username(Role.ADMIN))
    with admin.websocket_connect("/api/v1/ws") as ws:
        assert ws.receive_json() == {"op": "ping"}
        with pytest.raises(WebSocketDisconnect) as info:
            while True:
                ws.receive_json()  # never answering pongs
        assert info.value.code == 1008 and info.value.reason == "heartbeat_timeout"


def test_api_token_socket(app, container) -> None:
    world = make_world(container)
    admin = login(app, world.username(Role.ADMIN))
    secret = admin.post("/api/v1/auth/tokens", json={"name": "wallboard"}).json()["token"]
    with TestClient(app).websocket_connect(f"/api/v1/ws?token={secret}") as ws:
        ws.send_json({"op": "subscribe", "topics": ["tenancy"]})
        assert _next(ws, "snapshot")["data"]["users"] == 9
