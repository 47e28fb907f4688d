"""kill -9 the server mid-traffic on PostgreSQL: after a restart nothing is lost or duplicated,
and the queues, their order and the agents' states are exactly as before."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from kefu.bootstrap import build_container
from kefu.config import Settings
from kefu.routing.tables import RoutingContact
from kefu.schema import upgrade
from kefu.tenancy.model import Role
from tests.conftest import _fresh_postgres_database
from tests.factories import PASSWORD, make_world
from tests.services import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class Server:
    def __init__(self, url: str, var: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "KEFU_DATABASE_URL": url,
            "KEFU_VAR_DIR": str(var),
            "KEFU_SECRET_KEY": "k",
            "KEFU_LOG_LEVEL": "warning",
            "KEFU_EVENT_BUS_URL": "",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kefu.cli", "serve", "--no-migrate", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.proc.kill()
        raise AssertionError("server did not start")

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def client(self, username: str) -> httpx.Client:
        client = httpx.Client(base_url=self.base, timeout=30)
        response = client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return client


@pytest.fixture
def pg_url(postgres_server: str) -> str:
    url = _fresh_postgres_database(postgres_server)
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def _state(admin: httpx.Client, leader: httpx.Client, contact_ids: list[str]) -> dict:
    contacts = {}
    for cid in contact_ids:
        body = admin.get(f"/api/v1/routing/contacts/{cid}").json()
        contacts[cid] = (body["status"], body.get("position"), body["agent_id"], body["queue_code"])
    agents = {
        a["user_id"]: (a["state"], a["presence"], sorted(a["slots"]))
        for a in leader.get("/api/v1/routing/agents").json()["items"]
    }
    return {"contacts": contacts, "agents": agents}


def test_restart_after_kill_9_rebuilds_the_exact_state(pg_url: str, tmp_path: Path) -> None:
    container = build_container(Settings(database_url=pg_url, var_dir=tmp_path))
    world = make_world(container)
    container.close()

    server = Server(pg_url, tmp_path)
    admin, leader = (
        server.client(world.username(Role.ADMIN)),
        server.client(world.username(Role.TEAM_LEADER)),
    )
    admin.post("/api/v1/routing/skills", json={"code": "billing", "name": "话费"})
    for code, prio in (("BILL", 0), ("VIP", 10)):
        assert (
            admin.post(
                "/api/v1/routing/queues",
                json={
                    "code": code,
                    "name": code,
                    "priority": prio,
                    "skills": [{"skill": "billing", "min_level": 1}],
                    "options": {"ring_timeout_s": 3600, "wrap_up_s": 3600},
                },
            ).status_code
            == 201
        )
    agent_id = world.users[Role.AGENT].id
    admin.put(f"/api/v1/routing/agents/{agent_id}/skills", json={"skills": {"billing": 5}})
    agent = server.client(world.username(Role.AGENT))
    agent.post("/api/v1/routing/me/login")
    agent.put("/api/v1/routing/me/state", json={"presence": "ready"})

    # Phase 1: a known state (one contact answered, others waiting in priority order), then kill -9.
    ids = [
        admin.post("/api/v1/routing/contacts", json={"queue": q, "external_id": f"p1-{i}"}).json()[
            "id"
        ]
        for i, q in enumerate(["BILL", "BILL", "VIP", "BILL", "VIP"])
    ]
    assert agent.post(f"/api/v1/routing/me/offers/{ids[0]}/accept").status_code == 204
    before = _state(admin, leader, ids)
    server.kill9()

    server = Server(pg_url, tmp_path)
    admin, leader = (
        server.client(world.username(Role.ADMIN)),
        server.client(world.username(Role.TEAM_LEADER)),
    )
    assert _state(admin, leader, ids) == before

    # Phase 2: kill -9 while contacts keep arriving; every acknowledged one survives, none twice.
    acked: list[str] = []
    stop = threading.Event()

    def traffic() -> None:
        with httpx.Client(
            base_url=server.base,
            timeout=5,
            cookies=admin.cookies,
            headers={"X-CSRF-Token": admin.headers["X-CSRF-Token"]},
        ) as client:
            for i in range(10_000):
                if stop.is_set():
                    return
                try:
                    response = client.post(
                        "/api/v1/routing/contacts", json={"queue": "BILL", "external_id": f"p2-{i}"}
                    )
                except httpx.HTTPError:
                    return
                if response.status_code == 201:
                    acked.append(response.json()["id"])

    sender = threading.Thread(target=traffic)
    sender.start()
    while len(acked) < 40:
        time.sleep(0.05)
    server.kill9()
    stop.set()
    sender.join(timeout=10)

    server = Server(pg_url, tmp_path)
    admin = server.client(world.username(Role.ADMIN))
    for cid in acked:
        body = admin.get(f"/api/v1/routing/contacts/{cid}").json()
        assert body["status"] == "waiting" and body["position"] >= 1, body
    positions = sorted(
        admin.get(f"/api/v1/routing/contacts/{cid}").json()["position"] for cid in acked
    )
    assert positions == sorted(set(positions))  # one place each, no duplicates in the queue
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(func.count(), func.count(func.distinct(RoutingContact.external_id))).where(
                RoutingContact.tenant_id == world.tenant_id
            )
        ).one()
    engine.dispose()
    assert rows[0] == rows[1] >= len(acked) + len(ids)
    server.kill9()
