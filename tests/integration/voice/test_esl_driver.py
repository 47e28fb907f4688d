"""The FreeSWITCH driver against a protocol-level test double: a stub event socket server
speaking the real ESL text protocol (auth/request, command/reply, api/response, plain events
with Content-Length and URL-encoded headers). The stub plays FreeSWITCH's part of a call —
parked inbound channel, answer, DTMF, the agent's originated leg answering, hang-ups — and the
real call control, routing engine and database do the rest."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select

from kefu.channels.voice.callcontrol import CallControl, VoiceNumber
from kefu.channels.voice.esl import EslDriver
from kefu.db.eventlog import EventRecord
from kefu.routing.tables import QueueConfig
from kefu.tenancy import Principal, Scoped
from kefu.tenancy.model import Role
from tests.factories import make_world
from tests.services import free_port

pytestmark = [pytest.mark.voice, pytest.mark.integration]


class FakeFreeSwitch:
    """Just enough of mod_event_socket: one client, commands recorded, events on demand."""

    def __init__(self, password: str = "ClueCon") -> None:
        self.password = password
        self.port = free_port()
        self.server = socket.create_server(("127.0.0.1", self.port))
        self.commands: list[str] = []
        self.conn: socket.socket | None = None
        self.answer_originated = True
        self._send_lock = threading.Lock()
        self._changed = threading.Condition()
        threading.Thread(target=self._serve, daemon=True).start()

    def _send(self, text: str) -> None:
        assert self.conn is not None
        with self._send_lock:
            self.conn.sendall(text.encode())

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        self.conn = conn
        self._send("Content-Type: auth/request\n\n")
        buf = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b"\n\n" in buf:
                raw, buf = buf.split(b"\n\n", 1)
                self._command(raw.decode().strip())

    def _command(self, line: str) -> None:
        with self._changed:
            self.commands.append(line)
            self._changed.notify_all()
        if line.startswith("auth "):
            ok = line.split(" ", 1)[1] == self.password
            self._send(
                "Content-Type: command/reply\nReply-Text: "
                + ("+OK accepted" if ok else "-ERR invalid")
                + "\n\n"
            )
            if not ok:
                self._send("Content-Type: text/disconnect-notice\nContent-Length: 0\n\n")
            return
        if line.startswith("event "):
            self._send("Content-Type: command/reply\nReply-Text: +OK event listener enabled\n\n")
            return
        if line.startswith("bgapi "):
            self._send("Content-Type: command/reply\nReply-Text: +OK Job-UUID: j1\n\n")
            cmd = line.removeprefix("bgapi ")
            if cmd.startswith("originate ") and self.answer_originated:
                channel = cmd.split("origination_uuid=", 1)[1].split("}", 1)[0]
                threading.Timer(0.1, self.event, ("CHANNEL_ANSWER", channel)).start()
            return
        body = "+OK\n"
        self._send(f"Content-Type: api/response\nContent-Length: {len(body)}\n\n{body}")
        parts = line.split()
        if parts[:2] == ["api", "uuid_answer"]:
            threading.Timer(0.05, self.event, ("CHANNEL_ANSWER", parts[2])).start()
        elif parts[:2] == ["api", "uuid_kill"]:
            threading.Timer(
                0.05,
                self.event,
                ("CHANNEL_HANGUP_COMPLETE", parts[2], {"Hangup-Cause": parts[3]}),
            ).start()

    def event(self, name: str, channel: str, headers: dict[str, str] | None = None) -> None:
        fields = {"Event-Name": name, "Unique-ID": channel, **(headers or {})}
        body = "".join(f"{k}: {quote(v)}\n" for k, v in fields.items()) + "\n"
        self._send(f"Content-Length: {len(body)}\nContent-Type: text/event-plain\n\n{body}")

    def wait_for(self, prefix: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for cmd in self.commands:
                    if cmd.startswith(prefix):
                        return cmd
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {prefix!r}; got {self.commands}")
                self._changed.wait(left)

    def drop(self) -> None:
        assert self.conn is not None
        self.conn.shutdown(socket.SHUT_RDWR)
        self.conn.close()
        self.server.close()


def _events(container: Any, tenant_id: int, contact_id: str) -> list[str]:
    with container.db.sessions() as session:
        rows = session.scalars(
            select(EventRecord).where(EventRecord.tenant_id == tenant_id).order_by(EventRecord.id)
        ).all()
        return [r.type for r in rows if (r.data or {}).get("contact_id") == contact_id]


def _wait_events(container: Any, tenant_id: int, contact_id: str, kind: str) -> list[str]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        kinds = _events(container, tenant_id, contact_id)
        if kind in kinds:
            return kinds
        time.sleep(0.05)
    raise AssertionError(f"no {kind}: {_events(container, tenant_id, contact_id)}")


@pytest.fixture
def center(container: Any, tmp_path: Path) -> Any:
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        raise AssertionError("espeak-ng and sox missing (scripts/test installs them)")
    world = make_world(container, "esl")
    with container.db.session(clock=container.clock, actor_name="test") as session:
        session.add(
            QueueConfig(
                tenant_id=world.tenant_id,
                code="HOTLINE",
                name="热线",
                media="voice",
                options={"wrap_up_s": 0},
            )
        )
    container.routing.start()
    agent = world.users[Role.AGENT]
    scope = Scoped(
        container.db.sessions(),
        Principal(agent.id, world.tenant_id, agent.username, "", frozenset()),
        container.clock,
    )
    container.routing_service.login(scope, agent)
    container.routing_service.set_state(scope, agent.id, "ready", "")
    scope.session.close()
    return world, agent


def _control(container: Any, world: Any, fs: FakeFreeSwitch, tmp: Path) -> CallControl:
    control = CallControl(
        container,
        EslDriver("127.0.0.1", fs.port, "s3cret"),
        {"4000": VoiceNumber("4000", world.tenant_id, "HOTLINE")},
        proxy="kamailio.example:5060",
        var_dir=tmp,
    )
    control.start()
    return control


def test_a_call_through_freeswitch_reaches_the_agent(
    container: Any, center: Any, tmp_path: Path
) -> None:
    world, agent = center
    fs = FakeFreeSwitch("s3cret")
    control = _control(container, world, fs, tmp_path)
    try:
        assert fs.wait_for("event plain").split()[2:] == [
            "CHANNEL_PARK",
            "CHANNEL_ANSWER",
            "CHANNEL_BRIDGE",
            "CHANNEL_HANGUP_COMPLETE",
            "DTMF",
            "PLAYBACK_STOP",
            "BACKGROUND_JOB",
        ]
        fs.event(
            "CHANNEL_PARK",
            "c-1",
            {
                "Call-Direction": "inbound",
                "Caller-Destination-Number": "4000",
                "Caller-Caller-ID-Number": "13912345678",
                "variable_sip_call_id": "abc@host",
            },
        )
        fs.wait_for("api uuid_answer c-1")
        prompt = fs.wait_for("api uuid_broadcast c-1 ")
        assert prompt.endswith(".wav aleg") and "/voice/prompts/" in prompt
        fs.event("DTMF", "c-1", {"DTMF-Digit": "1", "DTMF-Source": "RTP"})
        originate = fs.wait_for("bgapi originate ")
        assert f"sofia/external/{agent.job_number}@kamailio.example:5060 &park()" in originate
        agent_uuid = originate.split("origination_uuid=", 1)[1].split("}", 1)[0]
        fs.wait_for(f"api uuid_bridge c-1 {agent_uuid}")
        record = fs.wait_for("api uuid_record c-1 start ")
        assert record.endswith(".wav")
        contact_id = Path(record.split()[-1]).stem
        kinds = _wait_events(container, world.tenant_id, contact_id, "voice.connected")
        assert "contact_answered" in kinds and "voice.digits" in kinds
        fs.event("CHANNEL_HANGUP_COMPLETE", "c-1", {"Hangup-Cause": "NORMAL_CLEARING"})
        fs.wait_for(f"api uuid_kill {agent_uuid} NORMAL_CLEARING")  # the agent's leg ends too
        kinds = _wait_events(container, world.tenant_id, contact_id, "voice.call_ended")
        assert "contact_completed" in kinds
    finally:
        control.stop()


def test_a_transfer_puts_the_caller_back_in_a_queue(
    container: Any, center: Any, tmp_path: Path
) -> None:
    world, agent = center
    fs = FakeFreeSwitch("s3cret")
    control = _control(container, world, fs, tmp_path)
    try:
        fs.wait_for("event plain")
        fs.event(
            "CHANNEL_PARK",
            "c-3",
            {"Call-Direction": "inbound", "Caller-Destination-Number": "4000"},
        )
        fs.wait_for("api uuid_broadcast c-3 ")
        fs.event("DTMF", "c-3", {"DTMF-Digit": "1", "DTMF-Source": "RTP"})
        originate = fs.wait_for("bgapi originate ")
        agent_uuid = originate.split("origination_uuid=", 1)[1].split("}", 1)[0]
        fs.wait_for(f"api uuid_bridge c-3 {agent_uuid}")
        (contact_id,) = list(control.by_contact)
        assert control.desk_action(contact_id, agent.id, "hold")
        fs.wait_for("api uuid_hold c-3")
        scope = Scoped(
            container.db.sessions(),
            Principal(agent.id, world.tenant_id, agent.username, "", frozenset()),
            container.clock,
        )
        container.routing_service.set_state(scope, agent.id, "not_ready", "")
        container.routing_service.transfer(
            scope, contact_id, to_queue="HOTLINE", to_agent=None, note="billing"
        )
        scope.session.close()
        fs.wait_for(f"api uuid_kill {agent_uuid}")  # the agent's leg ends
        kinds = _wait_events(container, world.tenant_id, contact_id, "voice.transferred")
        assert "contact_transferred" in kinds
        _wait_events(container, world.tenant_id, contact_id, "voice.announced")  # waits again
        fs.event("CHANNEL_HANGUP_COMPLETE", "c-3", {"Hangup-Cause": "NORMAL_CLEARING"})
        _wait_events(container, world.tenant_id, contact_id, "contact_abandoned")
    finally:
        control.stop()


def test_losing_the_event_socket_releases_queued_callers(
    container: Any, center: Any, tmp_path: Path
) -> None:
    world, agent = center
    scope = Scoped(
        container.db.sessions(),
        Principal(agent.id, world.tenant_id, agent.username, "", frozenset()),
        container.clock,
    )
    container.routing_service.set_state(scope, agent.id, "not_ready", "")
    scope.session.close()
    fs = FakeFreeSwitch("s3cret")
    control = _control(container, world, fs, tmp_path)
    try:
        fs.wait_for("event plain")
        fs.event(
            "CHANNEL_PARK",
            "c-2",
            {"Call-Direction": "inbound", "Caller-Destination-Number": "4000"},
        )
        fs.wait_for("api uuid_answer c-2")
        fs.wait_for("api uuid_broadcast c-2 ")
        fs.event("DTMF", "c-2", {"DTMF-Digit": "1", "DTMF-Source": "INFO"})
        deadline = time.monotonic() + 10
        while not control.by_contact and time.monotonic() < deadline:
            time.sleep(0.02)
        (contact_id,) = list(control.by_contact)
        _wait_events(container, world.tenant_id, contact_id, "voice.announced")
        fs.drop()  # FreeSWITCH is gone
        kinds = _wait_events(container, world.tenant_id, contact_id, "contact_abandoned")
        assert "voice.call_ended" in _wait_events(
            container, world.tenant_id, contact_id, "voice.call_ended"
        )
        assert kinds.index("contact_queued") < kinds.index("contact_abandoned")
        assert control.route("4000")["action"] == "reject"  # no media server: refused at the edge
    finally:
        control.stop()


def test_a_wrong_password_is_refused() -> None:
    fs = FakeFreeSwitch("right")
    driver = EslDriver("127.0.0.1", fs.port, "wrong")
    with pytest.raises(ConnectionError):
        driver.connect(lambda _ev: None)
    driver.close()
