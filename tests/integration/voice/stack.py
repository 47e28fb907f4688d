"""The whole voice stack on loopback, for the voice tests and bench/voice_load.py: kefu (HTTP
+ routing + call control), Kamailio from Debian with the generated configuration, the pjsua2
media server process, and scripted user agents (pjsua2, one process each: the PyPI wheel allows
4 calls per process)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import shutil
import struct
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import create_engine, select

from kefu.bootstrap import build_container, create_app
from kefu.channels.voice.callcontrol import CallControl, VoiceNumber
from kefu.channels.voice.cli import die_with_parent
from kefu.channels.voice.driver import PjMediaDriver
from kefu.channels.voice.kamailio import install, kamailio_config
from kefu.config import Settings
from kefu.core.clock import SystemClock
from kefu.core.errors import DomainError
from kefu.db.eventlog import EventRecord
from kefu.routing.tables import QueueConfig
from kefu.schema import upgrade
from kefu.tenancy import Principal, Scoped
from kefu.tenancy.model import Role
from kefu.tenancy.tables import User
from tests.factories import make_world
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[3]
UA = Path(__file__).with_name("ua.py")
CALLER_HZ = 500.0
AGENT_HZ = 1300.0
KEY = "voice-test-key"


def need(binary: str) -> None:
    if shutil.which(binary) is None:
        raise AssertionError(f"{binary} missing: apt-get install it (scripts/test does this)")


def write_tone(path: Path, hz: float, seconds: float = 4.0) -> Path:
    rate = 8000
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(
            b"".join(
                struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / rate)))
                for i in range(int(rate * seconds))
            )
        )
    return path


def read_samples(path: Path) -> list[int]:
    """The PCM samples of a WAV, also when its writer never finalised the header."""
    data = path.read_bytes()
    at = data.find(b"data")
    body = data[at + 8 :] if at >= 0 else data[44:]
    body = body[: len(body) // 2 * 2]
    return list(struct.unpack(f"<{len(body) // 2}h", body))


class UserAgent:
    """A ua.py process: JSON commands in, JSON events out."""

    def __init__(self, name: str, args: list[str], tmp: Path) -> None:
        self.name = name
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.proc = subprocess.Popen(
            [sys.executable, str(UA), *args],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(tmp / f"{name}.err", "wb"),  # noqa: SIM115
            preexec_fn=die_with_parent,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.wait("ready", 30)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.events.put(json.loads(line))

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        self.proc.stdin.flush()

    def wait(self, ev: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        for seen in self.seen:
            if seen["ev"] == ev and all(seen.get(k) == v for k, v in match.items()):
                self.seen.remove(seen)
                return seen
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if event["ev"] == ev and all(event.get(k) == v for k, v in match.items()):
                return event
            self.seen.append(event)
        raise AssertionError(f"{self.name}: no {ev} {match} within {timeout}s; saw {self.seen}")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send(op="quit")
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


@dataclass
class Stack:
    container: Any
    control: CallControl
    tenant_id: int
    agent: Any
    kamailio_port: int
    media_sip_port: int
    media_proc: subprocess.Popen[bytes]
    tmp: Path
    agent_ua: UserAgent
    caller_tone: Path
    agent_tone: Path
    agents: list[Any] = field(default_factory=list)
    agent_uas: list[UserAgent] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    callers: int = 0

    def scope(self, user: Any = None) -> Any:
        session = self.container.db.sessions()
        if user is None:
            principal = Principal(0, self.tenant_id, "test", "test", frozenset())
        else:
            principal = Principal(user.id, self.tenant_id, user.username, "", frozenset())
        return Scoped(session, principal, self.container.clock)

    def set_agent(self, presence: str) -> None:
        scope = self.scope(self.agent)
        try:
            self.container.routing_service.set_state(scope, self.agent.id, presence, "")
        except DomainError as exc:
            assert exc.code == "invalid_transition"  # already in that state
        finally:
            scope.session.close()

    def caller(self, record: str, *, reachable: bool = False) -> UserAgent:
        """A caller's phone; ``reachable``: registered and answering (to be called back)."""
        self.callers += 1
        port = free_port()
        extra = ["--register", "--answer"] if reachable else []
        return UserAgent(
            f"caller{self.callers}",
            [
                "--user", f"139000000{self.callers:02d}",
                "--sip-port", str(port),
                "--rtp-port", str(31000 + 100 * self.callers),
                "--proxy", f"127.0.0.1:{self.kamailio_port}",
                "--play", str(self.caller_tone),
                "--record", str(self.tmp / record),
                *extra,
            ],
            self.tmp,
        )  # fmt: skip

    def events(self, contact_id: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        self.control.wait_idle()
        with self.container.db.sessions() as session:
            rows = session.scalars(
                select(EventRecord)
                .where(EventRecord.tenant_id == self.tenant_id)
                .order_by(EventRecord.id)
            ).all()
            found = [(r.type, dict(r.data or {})) for r in rows]
        if contact_id is None:
            return found
        return [(t, d) for t, d in found if d.get("contact_id") == contact_id]

    def wait_event(self, kind: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t, d in reversed(self.events()):
                if t == kind and all(d.get(k) == v for k, v in match.items()):
                    return d
            time.sleep(0.1)
        raise AssertionError(f"no event {kind} {match}; have {[t for t, _ in self.events()]}")


def start_media_server(tmp: Path, sip_port: int, control_port: int, kport: int) -> Any:
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "kefu.channels.voice.pjmedia",
            "--sip-port", str(sip_port),
            "--control-port", str(control_port),
            "--rtp-port", "30000",
            "--proxy", f"127.0.0.1:{kport}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=open(tmp / "media.err", "ab"),  # noqa: SIM115
        preexec_fn=die_with_parent,
    )  # fmt: skip
    assert proc.stdout is not None
    for _ in range(50):  # pjlib prints its banner first
        line = proc.stdout.readline()
        if not line or b"media server" in line:
            break
    assert b"media server" in line, line
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # never let it block
    return proc


@contextlib.contextmanager
def voice_stack(tmp: Path, agents: int = 1) -> Iterator[Stack]:
    """Everything up, ``agents`` agents logged in, ready and registered; torn down on exit."""
    for binary in ("kamailio", "espeak-ng", "sox"):
        need(binary)
    url = f"sqlite:///{tmp / 'kefu.db'}"
    upgrade(create_engine(url))
    settings = Settings(database_url=url, var_dir=tmp, secret_key="voice-test")
    container = build_container(settings, clock=SystemClock())
    world = make_world(container, "voice")
    with container.db.session(clock=container.clock, actor_name="test") as session:
        session.add(
            QueueConfig(
                tenant_id=world.tenant_id,
                code="HOTLINE",
                name="热线",
                media="voice",
                options={"wrap_up_s": 0, "ring_timeout_s": 8, "media": ["voice", "callback"]},
            )
        )
    first = world.users[Role.AGENT]
    users = []
    with container.db.session(clock=container.clock, actor_name="test") as session:
        first = session.get(User, first.id)
        users.append(first)
        for i in range(1, agents):
            extra = User(
                tenant_id=first.tenant_id,
                username=f"agent{i}.{world.code}",
                display_name=f"座席{i}",
                password_hash=first.password_hash,
                roles=list(first.roles),
                created_at=container.clock.now(),
                team_id=first.team_id,
                job_number=str(2000 + i),
            )
            session.add(extra)
            users.append(extra)
        session.flush()
        for user in users:
            session.refresh(user)
            session.expunge(user)
    agent = users[0]
    app = create_app(container)
    http_port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=http_port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started

    kport = free_port()
    cfg = tmp / "kamailio.cfg"
    cfg.write_text(
        kamailio_config(sip_port=kport, core_url=f"http://127.0.0.1:{http_port}", key=KEY)
    )
    kamailio = subprocess.Popen(
        ["kamailio", "-f", str(cfg), "-DD", "-E", "-m", "32", "-M", "4", "-Y", str(tmp)],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / "kamailio.err", "wb"),  # noqa: SIM115
        preexec_fn=die_with_parent,
    )
    media_sip, media_ctl = free_port(), free_port()
    media = start_media_server(tmp, media_sip, media_ctl, kport)
    control = CallControl(
        container,
        PjMediaDriver("127.0.0.1", media_ctl),
        {"4000": VoiceNumber("4000", world.tenant_id, "HOTLINE")},
        proxy=f"127.0.0.1:{kport}",
        media_address=f"127.0.0.1:{media_sip}",
        var_dir=tmp,
    )
    control.start()
    install(container, control, KEY)

    # the agents: kefu users logged in to routing, whose phones register their 工号
    agent_uas = []
    for index, user in enumerate(users):
        scope = Scoped(
            container.db.sessions(),
            Principal(user.id, world.tenant_id, user.username, "", frozenset()),
            container.clock,
        )
        container.routing_service.login(scope, user)
        container.routing_service.set_state(scope, user.id, "ready", "")
        scope.session.close()
        ua = UserAgent(
            f"agent{index}" if index else "agent",
            [
                "--user", user.job_number,
                "--sip-port", str(free_port()),
                "--rtp-port", str(33000 + 100 * index),
                "--proxy", f"127.0.0.1:{kport}",
                "--register", "--answer",
                "--play", str(write_tone(tmp / "agent_tone.wav", AGENT_HZ)),
                "--record", str(tmp / ("agent_rx.wav" if not index else f"agent{index}_rx.wav")),
            ],
            tmp,
        )  # fmt: skip
        agent_uas.append(ua)
        ua.wait("reg", 20, code=200)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(
        u.job_number not in control.registered for u in users
    ):
        time.sleep(0.05)
    assert all(u.job_number in control.registered for u in users), "REGISTER not reported"
    agent_ua = agent_uas[0]
    built = Stack(
        container=container,
        control=control,
        tenant_id=world.tenant_id,
        agent=agent,
        kamailio_port=kport,
        media_sip_port=media_sip,
        media_proc=media,
        tmp=tmp,
        agent_ua=agent_ua,
        caller_tone=write_tone(tmp / "caller_tone.wav", CALLER_HZ),
        agent_tone=tmp / "agent_tone.wav",
        agents=users,
        agent_uas=agent_uas,
    )
    try:
        yield built
    finally:
        for ua in agent_uas:
            ua.close()
        control.stop()
        if media.poll() is None:
            media.terminate()
            try:
                media.wait(timeout=5)
            except subprocess.TimeoutExpired:
                media.kill()
        kamailio.terminate()
        try:
            kamailio.wait(timeout=5)
        except subprocess.TimeoutExpired:
            kamailio.kill()
        server.should_exit = True
        thread.join(timeout=10)
