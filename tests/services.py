"""Throwaway PostgreSQL and Redis servers on free loopback ports, for the test suite.

Used by tests/conftest.py when KEFU_TEST_POSTGRES_URL / KEFU_TEST_REDIS_URL are not given, and
by scripts/test (``python -m tests.services``) to start one pair for the whole run.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Server", "free_port", "start_postgres", "start_redis"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    stop_cmd: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    workdir: str = ""

    def stop(self) -> None:
        if self.stop_cmd:
            subprocess.run(self.stop_cmd, capture_output=True, check=False, timeout=60)
            self.stop_cmd = []
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
            if self.process.poll() is None:
                self.process.kill()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = ""


def _pg_bin() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql")


def _as_postgres(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI runs as root, developers usually do not.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _exit_on_sigterm() -> None:
    """Let ``kill`` (SIGTERM) end this process like Ctrl-C does, so ``finally`` blocks and the
    atexit hooks below stop the throwaway servers instead of leaving them running (a
    benchmark killed mid-run). Only where nobody has set a handler already."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))


def start_postgres() -> Server:
    _exit_on_sigterm()
    bindir = _pg_bin()
    workdir = tempfile.mkdtemp(prefix="kefu-pg-")
    data = Path(workdir) / "data"
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "kefu",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    opts = (
        f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                opts,
                "-l",
                str(Path(workdir) / "log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    server = Server(
        url=f"postgresql+psycopg://kefu@127.0.0.1:{port}/postgres",
        stop_cmd=_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
        workdir=workdir,
    )
    atexit.register(server.stop)
    return server


def start_redis() -> Server:
    _exit_on_sigterm()
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server not found: apt-get install redis-server")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="kefu-redis-")
    proc = subprocess.Popen(
        [
            exe,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.5),
        ):
            break
        time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("redis-server did not start")
    server = Server(url=f"redis://127.0.0.1:{port}/0", process=proc, workdir=workdir)
    atexit.register(server.stop)
    return server


if __name__ == "__main__":
    # Start both, print their URLs as shell exports, and keep running until signalled.
    pg, rd = start_postgres(), start_redis()
    print(f"export KEFU_TEST_POSTGRES_URL='{pg.url}'")
    print(f"export KEFU_TEST_REDIS_URL='{rd.url}'", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    finally:
        pg.stop()
        rd.stop()
