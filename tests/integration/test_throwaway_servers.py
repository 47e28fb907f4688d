"""The throwaway PostgreSQL and Redis the suite and the benchmarks start are stopped when the
process that started them is killed (SIGTERM), not left running on the machine."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import time
from tests.services import start_postgres, start_redis
pg, rd = start_postgres(), start_redis()
print(pg.url.rsplit(":", 1)[1].split("/")[0], rd.url.rsplit(":", 1)[1].split("/")[0], flush=True)
time.sleep(600)
"""


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_killed_owner_stops_its_servers() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        ports = [int(p) for p in proc.stdout.readline().split()]
        assert len(ports) == 2 and all(_listening(p) for p in ports)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
        deadline = time.monotonic() + 10
        while any(_listening(p) for p in ports) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_listening(p) for p in ports)
    finally:
        if proc.poll() is None:
            proc.kill()
