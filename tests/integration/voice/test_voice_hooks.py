"""IVR actions voice performs beside prompts and digits: a ``lookup`` calls the flow's HTTP
hook (a real local HTTP server here) on a worker thread and feeds the answer back to the
caller's session, without holding up other calls; an ``sms`` node queues a text to the caller
in the SMS outbox (log driver). The media server is replaced by a driver that records commands:
what is under test is call control, the IVR session, the hook and the outbox."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kefu.channels.sms.tables import SmsMessage
from kefu.channels.voice.callcontrol import CallControl, VoiceNumber
from kefu.channels.voice.driver import DriverEvent
from kefu.channels.voice.prompts import prompt_wav
from kefu.db.eventlog import EventRecord
from tests.factories import make_world

pytestmark = [pytest.mark.voice, pytest.mark.integration]

FLOW: dict[str, Any] = {
    "start": "main",
    "settings": {"human_queue": "HOTLINE", "timeout_s": 5},
    "nodes": {
        "main": {
            "type": "menu",
            "prompt": "余额查询请按1，短信账单请按2，慢查询请按3，人工服务请按0。",
            "options": {"1": "balance", "2": "bill_sms", "3": "slow"},
        },
        "balance": {
            "type": "lookup",
            "hook": "balance",
            "params": {"phone": "${caller.phone}"},
            "assign": {"balance": "account.balance"},
            "prompt": "正在为您查询，请稍候。",
            "next": "say",
            "on_error": "sorry",
        },
        "slow": {
            "type": "lookup",
            "hook": "slow",
            "params": {},
            "assign": {"balance": "account.balance"},
            "next": "say",
            "on_error": "sorry",
        },
        "say": {"type": "play", "prompt": "您的余额为${balance}元。", "next": "bye"},
        "sorry": {"type": "hangup", "prompt": "抱歉，暂时无法查询。", "reason": "lookup_failed"},
        "bill_sms": {
            "type": "sms",
            "template": "您的话费余额为${balance}元，本月费用${due}元。",
            "params": {"balance": "36.50", "due": "58"},
            "prompt": "账单已通过短信发送。",
            "next": "bye",
        },
        "bye": {"type": "hangup", "prompt": "感谢您的来电，再见。", "reason": "completed"},
    },
}


class Hooks(BaseHTTPRequestHandler):
    seen: list[tuple[str, dict[str, Any]]] = []  # noqa: RUF012 - one server per test module
    slow_s = 0.0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Hooks.seen.append((self.path, body))
        if self.path == "/hooks/slow":
            time.sleep(Hooks.slow_s)
        if self.path == "/hooks/balance" and body["params"]["phone"] == "13900000001":
            self.send_response(500)
            self.end_headers()
            return
        answer = json.dumps({"account": {"balance": 88.5}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # it gave up waiting
            self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


class Recorder:
    """A media driver that records the commands call control gives it."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, tuple[Any, ...]]] = []
        self.on_event: Callable[[DriverEvent], None] | None = None

    def connect(self, on_event: Callable[[DriverEvent], None]) -> None:
        self.on_event = on_event

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Callable[..., None]:
        def command(*args: Any, **kw: Any) -> None:
            self.commands.append((name, args))

        return command

    def dial(self, leg: str, caller: str, digits: str = "") -> None:
        assert self.on_event is not None
        self.on_event(
            DriverEvent("incoming", leg, {"remote": f"<sip:{caller}@x>", "local": "sip:4100@y"})
        )
        self.on_event(DriverEvent("media", leg))
        for digit in digits:
            self.on_event(DriverEvent("dtmf", leg, {"digit": digit, "method": "rfc4733"}))

    def hangup_event(self, leg: str) -> None:
        assert self.on_event is not None
        self.on_event(DriverEvent("hangup", leg, {"code": 200}))


@pytest.fixture(scope="module")
def hooks() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    server.shutdown()


@pytest.fixture(scope="module")
def prompts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prompts")  # spoken once for the module


@pytest.fixture
def voice(container: Any, hooks: str, prompts: Path) -> Iterator[tuple[CallControl, Recorder]]:
    world = make_world(container, "hook")
    driver = Recorder()
    number = VoiceNumber("4100", world.tenant_id, "HOTLINE", flow=FLOW, hooks_url=hooks)
    control = CallControl(container, driver, {"4100": number}, proxy="127.0.0.1:1", var_dir=prompts)
    control.start()
    yield control, driver
    control.stop()


def events(control: CallControl, leg: str = "") -> list[tuple[str, dict[str, Any]]]:
    control.wait_idle()
    tenant = next(iter(control.numbers.values())).tenant_id
    with control.container.db.sessions() as session:
        rows = session.scalars(
            select(EventRecord).where(EventRecord.tenant_id == tenant).order_by(EventRecord.id)
        ).all()
        return [(r.type, dict(r.data or {})) for r in rows]


def wait_for(
    control: CallControl, kind: str, timeout: float = 10.0, **match: Any
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for t, d in events(control):
            if t == kind and all(d.get(k) == v for k, v in match.items()):
                return d
        time.sleep(0.05)
    raise AssertionError(f"no {kind} {match}: {[t for t, _ in events(control)]}")


def played(control: CallControl, driver: Recorder, text: str) -> bool:
    control.wait_idle()
    wav = str(prompt_wav(control.var_dir, text))
    return any(name == "play" and wav in args[1] for name, args in driver.commands)


def test_a_lookup_answers_from_the_hook_and_the_caller_hears_it(voice) -> None:
    control, driver = voice
    driver.dial("a", "13900000000", "1")
    done = wait_for(control, "voice.lookup_done")
    assert done["ok"] is True and done["hook"] == "balance"
    assert ("/hooks/balance", {"hook": "balance", "params": {"phone": "13900000000"}}) in (
        Hooks.seen
    )
    assert played(control, driver, "您的余额为88.5元。")
    driver.hangup_event("a")
    ended = wait_for(control, "ivr.session_ended")
    assert [step[0] for step in ended["path"]] == ["main", "balance", "say", "bye"]


def test_a_failing_hook_takes_the_error_path(voice) -> None:
    control, driver = voice
    driver.dial("b", "13900000001", "1")  # the hook answers 500 for this number
    done = wait_for(control, "voice.lookup_done")
    assert done == {**done, "ok": False, "error": "status_500"}
    assert played(control, driver, "抱歉，暂时无法查询。")
    assert not played(control, driver, "您的余额为元。")


def test_a_slow_hook_holds_up_no_other_call_and_times_out(voice) -> None:
    control, driver = voice
    control.hook_timeout_s = 1.0
    Hooks.slow_s = 2.0
    driver.dial("slow", "13900000002", "3")
    wait_for(control, "voice.lookup_started", hook="slow")
    started = time.monotonic()
    driver.dial("fast", "13900000003", "1")  # while the slow hook is still pending
    fast = wait_for(control, "voice.lookup_done", hook="balance")
    assert fast["ok"] is True
    slow = wait_for(control, "voice.lookup_done", hook="slow")
    assert slow["ok"] is False and slow["error"] == "timeout"
    assert time.monotonic() - started < 2.0  # the caller went on at the timeout
    # the slow hook was asked first, yet the other caller's answer came first
    kinds = [(t, d.get("hook")) for t, d in events(control) if t == "voice.lookup_done"]
    assert kinds == [("voice.lookup_done", "balance"), ("voice.lookup_done", "slow")]


def test_an_sms_node_queues_the_text_to_the_caller_and_it_is_sent(voice) -> None:
    control, driver = voice
    driver.dial("c", "13900000004", "2")
    queued = wait_for(control, "voice.sms_queued")
    deadline = time.monotonic() + 5
    with control.container.db.sessions() as session:
        while True:
            row = session.get(SmsMessage, queued["sms_id"])
            assert row is not None
            if row.status == "sent" or time.monotonic() > deadline:
                break
            session.expire_all()
            time.sleep(0.05)
        assert row.status == "sent" and row.driver == "log"
        assert row.phone == "13900000004" and row.body == "您的话费余额为36.50元，本月费用58元。"


def test_no_sms_to_a_landline(voice) -> None:
    control, driver = voice
    driver.dial("d", "01088886666", "2")
    assert wait_for(control, "voice.sms_not_sent")["reason"] == "not_mobile"
