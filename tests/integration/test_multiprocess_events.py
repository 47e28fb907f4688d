"""Two server processes share events through Redis: a write on one reaches a socket on the other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from kefu.bootstrap import build_container
from kefu.config import Settings
from kefu.tenancy.model import Role
from tests.factories import PASSWORD, make_world
from tests.services import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _start(database_url: str, redis_url: str, var_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "KEFU_DATABASE_URL": database_url,
        "KEFU_EVENT_BUS_URL": redis_url,
        "KEFU_VAR_DIR": str(var_dir),
        "KEFU_SECRET_KEY": "shared",
        "KEFU_LOG_LEVEL": "warning",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "kefu.cli", "serve", "--no-migrate", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(
        f"server did not start: {proc.stderr.read().decode() if proc.stderr else ''}"
    )


@pytest.fixture
def two_servers(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    started = [_start(database_url, redis_url, tmp_path) for _ in range(2)]
    yield started[0][1], started[1][1]
    for proc, _base in started:
        proc.terminate()
        proc.wait(timeout=15)


def test_event_crosses_processes(two_servers, database_url: str, tmp_path: Path) -> None:
    container = build_container(Settings(database_url=database_url, var_dir=tmp_path))
    world = make_world(container)
    container.close()
    base_a, base_b = two_servers
    with httpx.Client(base_url=base_a) as a, httpx.Client(base_url=base_b) as b:
        creds = {"username": world.username(Role.ADMIN), "password": PASSWORD}
        csrf_a = a.post("/api/v1/auth/login", json=creds).json()["csrf_token"]
        assert b.post("/api/v1/auth/login", json=creds).status_code == 200
        ws_url = base_b.replace("http://", "ws://") + "/api/v1/ws"
        cookie = f"kefu_session={b.cookies['kefu_session']}"
        with connect(ws_url, additional_headers={"Cookie": cookie}, open_timeout=10) as ws:
            ws.send(json.dumps({"op": "subscribe", "topics": ["tenancy"]}))
            assert json.loads(ws.recv(timeout=10))["op"] == "snapshot"
            created = a.post(
                "/api/v1/sites",
                json={"code": "XP", "name": "跨进程"},
                headers={"X-CSRF-Token": csrf_a},
            )
            assert created.status_code == 201
            while True:
                message = json.loads(ws.recv(timeout=10))
                if message["op"] == "event":
                    break
            assert message["event"]["type"] == "site.created"
            assert message["event"]["data"]["id"] == created.json()["id"]
