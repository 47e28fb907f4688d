"""Web chat load check (run by hand): 500 concurrent customer chats, 100 agent sessions.

Starts a throwaway PostgreSQL (or SQLite with --sqlite) and one `kefu serve` process, seeds a
tenant with a chat queue (ring 30 s, no wrap-up), a widget and 100 agents who can chat (3
chats each: 300 at a time, the other customers wait their turn). Then, all in this process
(asyncio + uvloop):

- 100 agents sign in, go ready, open the staff websocket (/api/v1/ws), accept every offer,
  subscribe to the chat's topic and answer each customer message over that socket
  (``chat.send``, as the desk does; ``--rest-replies``: a REST POST each);
- 500 customers start a chat over the public API (ramped over --ramp seconds), open the
  customer websocket (/api/v1/webchat/ws), and once an agent joins send --messages texts over
  the socket, one every --think seconds (each waits for the agent's answer), then end the chat
  and rate it.

Every text carries its send time; delivery latency = first arrival at the other side - send
time (both on this process's clock). Each receiver checks sequence numbers: a number seen
twice is a duplicate, a number lower than one already seen is out of order; a sent message
never received is lost. The last line is JSON:

  {"customers", "agents", "messages", "delivered", "lost", "duplicated", "out_of_order",
   "p50_ms", "p99_ms", "max_ms", "server_cpu_ms_per_message", "chats_completed", "ratings",
   "duration_s", "database"}

server_cpu_ms_per_message is the server process's CPU time over the run (everything it did:
sign-ins, starting, routing and ending chats, messages) divided by the text messages
delivered: a cost per message that does not depend on how busy the machine is.

Pace (--think, default 15 s): a customer's next text comes 0.5-1.5 x think seconds after the
agent's answer, and the agents answer at once. At 15 s each of the 100 agents, holding three
chats, sends about 12 replies a minute, more than a person can type, and a chat's six exchanges
take about 90 s, against an industry average of about 12 minutes per chat (Comm100 Live Chat
Benchmark Report 2019 and 2020: 11 min 53 s, 11 min 55 s). So 15 s is still a pace faster than
a real center's. --think 3 (the default until 2026-11-26) is a stress pace five times faster
again: it finds the capacity of one server process on this machine, not a center's day.

Target: none lost or duplicated, p99 under 200 ms. Usage:
  .venv/bin/python bench/webchat_load.py [--customers 500] [--agents 100] [--messages 6]
                                          [--think 15] [--ramp 60] [--sqlite]
                                          [--rest-replies]
                                          [--py-spy /tmp/profile.svg]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-1"
# Drop idle connections before `kefu serve` does (30 s): reusing one it closes fails.
KEEPALIVE = httpx.Limits(keepalive_expiry=10.0)
WIDGET = "bench-widget"


# --- setup ----------------------------------------------------------------------------------


def seed(url: str, agents: int) -> None:
    """Tenant, chat skill and queue, widget and agents, written straight to the database."""
    from sqlalchemy import create_engine

    from kefu.channels.webchat.tables import ChatWidget
    from kefu.core.clock import SystemClock
    from kefu.db.session import Database
    from kefu.routing.tables import AgentSkill, QueueConfig, Skill
    from kefu.schema import upgrade
    from kefu.tenancy.security import hash_password
    from kefu.tenancy.services import create_tenant
    from kefu.tenancy.tables import User

    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    db = Database(url)
    clock = SystemClock()
    shared = hash_password(PASSWORD)
    with db.session(clock=clock, actor_name="bench") as session:
        tenant = create_tenant(session, clock, "bench", "Bench 客服")
        skill = Skill(tenant_id=tenant.id, code="chat", name="chat")
        session.add(skill)
        session.add(
            QueueConfig(
                tenant_id=tenant.id,
                code="CHAT",
                name="chat",
                media="chat",
                skills=[{"skill": "chat", "min_level": 1}],
                sl_threshold_s=60,
                max_wait_s=0,
                options={"ring_timeout_s": 30, "wrap_up_s": 0},
            )
        )
        session.add(
            ChatWidget(
                tenant_id=tenant.id,
                key=WIDGET,
                name="bench",
                queue_code="CHAT",
                callback_queue="",
                welcome="",
                topics=[],
            )
        )
        session.flush()
        for n in range(agents):
            user = User(
                tenant_id=tenant.id,
                username=f"agent{n}",
                display_name=f"座席{n}",
                password_hash=shared,
                roles=["agent"],
                created_at=clock.now(),
                job_number=str(5000 + n),
            )
            session.add(user)
            session.flush()
            session.add(
                AgentSkill(tenant_id=tenant.id, user_id=user.id, skill_id=skill.id, level=5)
            )
    db.dispose()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(url: str, var: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KEFU_DATABASE_URL": url,
        "KEFU_VAR_DIR": str(var),
        "KEFU_LOG_LEVEL": "warning",
        "KEFU_EVENT_BUS_URL": "",
        "KEFU_WS_HEARTBEAT_S": "60",
    }
    cmd = [sys.executable, "-m", "kefu.cli", "serve", "--no-migrate", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not start")


# --- accounting -----------------------------------------------------------------------------


@dataclass
class Ledger:
    sent: dict[str, float] = field(default_factory=dict)  # message key -> send time
    stored: dict[str, float] = field(default_factory=dict)  # message key -> server's time
    got: dict[str, float] = field(default_factory=dict)  # message key -> first arrival
    duplicated: int = 0
    out_of_order: int = 0
    completed: int = 0
    loop_lag_ms: list[float] = field(default_factory=list)  # this process's own scheduling lag
    ratings: int = 0
    errors: list[str] = field(default_factory=list)

    def send(self, key: str) -> str:
        self.sent[key] = time.time()  # wall clock: compared with the server's stored time
        return f"{key}|{self.sent[key]:.6f}"

    def arrive(self, text: str, stored_at: str = "") -> None:
        key = text.split("|", 1)[0]
        if key in self.got:
            self.duplicated += 1
        else:
            self.got[key] = time.time()
            if stored_at:
                self.stored[key] = datetime.fromisoformat(stored_at).timestamp()


class SeqCheck:
    """Per receiver and conversation: numbers must rise, each seen once."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.seen: dict[int, set[int]] = {}
        self.top: dict[int, int] = {}

    def ok(self, conversation: int, seq: int) -> bool:
        seen = self.seen.setdefault(conversation, set())
        if seq in seen:
            self.ledger.duplicated += 1
            return False
        if seq < self.top.get(conversation, 0):
            self.ledger.out_of_order += 1
        seen.add(seq)
        self.top[conversation] = max(self.top.get(conversation, 0), seq)
        return True


# --- agents ---------------------------------------------------------------------------------


async def agent(
    n: int,
    base: str,
    ledger: Ledger,
    ready: asyncio.Event,
    stop: asyncio.Event,
    rest_replies: bool = False,
) -> None:
    """Like the desk page: staff socket, accept offers, per-chat in-order gate (a gap is
    fetched over REST), answer every customer text — as ``chat.send`` on the staff socket,
    like the desk (or by REST with ``rest_replies``)."""
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=KEEPALIVE) as http:
        login = await http.post(
            "/api/v1/auth/login", json={"username": f"agent{n}", "password": PASSWORD}
        )
        login.raise_for_status()
        me = login.json()
        http.headers["X-CSRF-Token"] = me["csrf_token"]
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        (await http.post("/api/v1/routing/me/login")).raise_for_status()
        user_id = me["id"]
        live_seen: dict[int, set[int]] = {}
        last: dict[int, int] = {}
        held: dict[int, dict[int, dict[str, Any]]] = {}
        pending: set[asyncio.Task[None]] = set()
        calls: dict[str, asyncio.Future[dict[str, Any]]] = {}
        socket: list[Any] = []  # the open staff socket, once connected
        ws_url = base.replace("http", "ws") + "/api/v1/ws"

        async def counted(coro: Any) -> None:
            try:
                await coro
            except Exception as exc:  # a failed accept or reply is counted, never silent
                ledger.errors.append(f"agent {n}: {type(exc).__name__}")

        def spawn(coro: Any) -> None:
            task = asyncio.create_task(counted(coro))
            pending.add(task)
            task.add_done_callback(pending.discard)

        async def reply(conversation: int, message: dict[str, Any]) -> None:
            ledger.arrive(message["body"], message["at"])
            key = "a" + message["body"].split("|", 1)[0][1:]
            text = ledger.send(key)
            client_id = key.replace(":", "_")
            if rest_replies:
                response = await http.post(
                    f"/api/v1/webchat/conversations/{conversation}/messages",
                    json={"text": text, "client_id": client_id},
                )
                if response.status_code != 201:
                    ledger.errors.append(f"agent send {response.status_code} {response.text[:80]}")
                return
            done = asyncio.get_running_loop().create_future()
            calls[client_id] = done
            command = {"conversation_id": conversation, "text": text, "client_id": client_id}
            await socket[0].send(json.dumps({"op": "chat.send", "ref": client_id, **command}))
            answer = await asyncio.wait_for(done, timeout=60)
            if answer["op"] != "result":
                ledger.errors.append(f"agent send {answer.get('code')}")

        def place(conversation: int, message: dict[str, Any]) -> None:
            box = held.setdefault(conversation, {})
            top = last.setdefault(conversation, 0)
            if message["seq"] <= top:
                return
            box[message["seq"]] = message
            while top + 1 in box:
                top += 1
                ready_message = box.pop(top)
                if ready_message["sender"] == "customer" and ready_message["kind"] == "text":
                    spawn(reply(conversation, ready_message))
            last[conversation] = top

        async def catch_up(conversation: int) -> None:
            got = await http.get(
                f"/api/v1/webchat/conversations/{conversation}/messages",
                params={"after_seq": last.get(conversation, 0)},
            )
            for m in got.json()["items"]:
                place(conversation, m)

        async def take(contact_id: str, ws: Any) -> None:
            response = await http.post(f"/api/v1/routing/me/offers/{contact_id}/accept")
            if response.status_code != 204:
                ledger.errors.append(f"accept {response.status_code}")
                return
            chat = (await http.get(f"/api/v1/webchat/contacts/{contact_id}")).json()
            conversation = chat["conversation"]["id"]
            # Its messages now come on webchat.agent.<me>; fetch what came before, like the page.
            await catch_up(conversation)

        async with websockets.connect(
            ws_url, additional_headers={"Cookie": cookie}, max_size=None, open_timeout=120
        ) as ws:
            socket.append(ws)
            topics = [f"routing.agent.{user_id}", f"webchat.agent.{user_id}"]
            await ws.send(json.dumps({"op": "subscribe", "topics": topics}))
            state = await http.put("/api/v1/routing/me/state", json={"presence": "ready"})
            state.raise_for_status()
            ready.set()
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=1.0)
                except TimeoutError:
                    continue
                msg = json.loads(raw)
                op = msg.get("op")
                if op == "ping":
                    await ws.send(json.dumps({"op": "pong"}))
                elif op in ("result", "error") and msg.get("ref") in calls:
                    calls.pop(msg["ref"]).set_result(msg)
                elif op == "event":
                    event = msg["event"]
                    data = event["data"]
                    if event["type"] == "contact_offered":
                        spawn(take(data["contact_id"], ws))
                    elif event["type"] == "webchat.message":
                        conversation, seq = data["conversation_id"], data["seq"]
                        seen = live_seen.setdefault(conversation, set())
                        if seq in seen:
                            ledger.duplicated += 1  # the same event twice on the live stream
                            continue
                        seen.add(seq)
                        if seq > last.get(conversation, 0) + 1:
                            spawn(catch_up(conversation))  # a gap: fetch it, like the page
                        place(conversation, data)


# --- customers ------------------------------------------------------------------------------


async def customer(
    n: int, base: str, ledger: Ledger, messages: int, think: float, rng: random.Random
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=KEEPALIVE) as http:
        start = await http.post(
            f"/api/v1/webchat/public/{WIDGET}/conversations", json={"name": f"客户{n}"}
        )
        if start.status_code != 201:
            ledger.errors.append(f"start {start.status_code}")
            return
        token = start.json()["token"]
        http.headers["X-Chat-Token"] = token
        check = SeqCheck(ledger)
        ws_url = base.replace("http", "ws") + "/api/v1/webchat/ws"
        answers: asyncio.Queue[str] = asyncio.Queue()
        joined = asyncio.Event()
        ended = asyncio.Event()
        async with websockets.connect(ws_url, max_size=None, open_timeout=120) as ws:
            await ws.send(json.dumps({"op": "hello", "token": token, "after_seq": 0}))

            async def listen() -> None:
                async for raw in ws:
                    msg = json.loads(raw)
                    if msg.get("op") != "message":
                        continue
                    m = msg["message"]
                    if not check.ok(m["conversation_id"], m["seq"]):
                        continue
                    if m["kind"] == "agent_joined":
                        joined.set()
                    elif m["kind"] == "ended":
                        ended.set()
                    elif m["sender"] == "agent" and m["kind"] == "text":
                        ledger.arrive(m["body"], m["at"])
                        await answers.put(m["body"])

            reader = asyncio.create_task(listen())
            try:
                await asyncio.wait_for(joined.wait(), timeout=600)
                for k in range(messages):
                    await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
                    key = f"c{n}:{k}"
                    text = ledger.send(key)
                    await ws.send(
                        json.dumps({"op": "send", "client_id": f"c{n}_{k}", "text": text})
                    )
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(answers.get(), timeout=30)
                ended_ok = await http.post("/api/v1/webchat/conversation/end")
                if ended_ok.status_code == 204:
                    await asyncio.wait_for(ended.wait(), timeout=30)
                    rated = await http.post(
                        "/api/v1/webchat/conversation/rating", json={"score": 5}
                    )
                    ledger.completed += 1
                    ledger.ratings += rated.status_code == 204
            except TimeoutError:
                ledger.errors.append(f"customer {n} timed out")
            finally:
                reader.cancel()


# --- run ------------------------------------------------------------------------------------


async def watch_lag(ledger: Ledger, stop: asyncio.Event) -> None:
    """How late this process wakes up: latency it adds itself (it shares the 2 cores)."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.1)
        ledger.loop_lag_ms.append((time.perf_counter() - started - 0.1) * 1000)


async def run(args: argparse.Namespace, base: str) -> Ledger:
    ledger = Ledger()
    stop = asyncio.Event()
    lag = asyncio.create_task(watch_lag(ledger, stop))
    rng = random.Random(args.seed)
    readies = [asyncio.Event() for _ in range(args.agents)]

    async def shift_start(n: int) -> None:
        await asyncio.sleep(5.0 * n / max(1, args.agents))  # a shift signs in over 5 s
        for attempt in range(3):  # like a person, sign in again after a failure
            try:
                await agent(n, base, ledger, readies[n], stop, args.rest_replies)
                return
            except Exception as exc:  # counted, never hidden: errors are in the final line
                ledger.errors.append(f"agent {n} attempt {attempt}: {type(exc).__name__}")
                if stop.is_set():
                    return
        readies[n].set()  # the run goes on without this agent

    agents = [asyncio.create_task(shift_start(n)) for n in range(args.agents)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=300)

    async def later(n: int) -> None:
        await asyncio.sleep(args.ramp * n / max(1, args.customers))
        await customer(n, base, ledger, args.messages, args.think, random.Random(rng.random()))

    await asyncio.gather(*(later(n) for n in range(args.customers)))
    await asyncio.sleep(2)  # late deliveries still count (and would show as duplicates)
    stop.set()
    await asyncio.gather(*agents, lag, return_exceptions=True)
    return ledger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--messages", type=int, default=6)
    parser.add_argument("--think", type=float, default=15.0)
    parser.add_argument("--ramp", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument(
        "--rest-replies",
        action="store_true",
        help="agents reply by REST POST instead of chat.send on the staff socket",
    )
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database to use")
    parser.add_argument(
        "--py-spy", default="", help="profile the server into this file (.svg, else raw stacks)"
    )
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    var = Path(tempfile.mkdtemp(prefix="kefu-webchat-bench-"))
    server_pg = None
    if args.database_url:
        url = args.database_url
    elif args.sqlite:
        url = f"sqlite:///{var / 'kefu.db'}"
    else:
        from tests.services import start_postgres

        server_pg = start_postgres()
        url = server_pg.url
    seed(url, args.agents)
    from tests.services import free_port

    port = free_port()
    proc = start_server(url, var, port)
    print(f"server pid {proc.pid}", file=sys.stderr)
    spy = None
    if args.py_spy:
        py_spy = str(Path(sys.executable).parent / "py-spy")
        spy = subprocess.Popen(
            [py_spy, "record", "--nonblocking", "--gil", "-o", args.py_spy, "--pid", str(proc.pid)]
            + ([] if args.py_spy.endswith(".svg") else ["--format", "raw"]),
            stdout=subprocess.DEVNULL,
        )
    started = time.perf_counter()
    cpu_before = cpu_seconds(proc.pid)
    cpu_used = 0.0
    try:
        ledger = asyncio.run(run(args, f"http://127.0.0.1:{port}"))
        cpu_used = cpu_seconds(proc.pid) - cpu_before
    finally:
        if spy is not None:
            spy.send_signal(2)  # py-spy writes its file on SIGINT
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(timeout=60)
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
        if server_pg is not None:
            server_pg.stop()
    duration = time.perf_counter() - started
    latencies = sorted(
        (ledger.got[k] - ledger.sent[k]) * 1000 for k in ledger.sent if k in ledger.got
    )
    lost = sum(1 for k in ledger.sent if k not in ledger.got)

    def split(part: str) -> float | None:
        """p99 of send -> stored (in) or stored -> received (out), from the server's clock."""
        values = sorted(
            (
                ledger.stored[k] - ledger.sent[k]
                if part == "in"
                else ledger.got[k] - ledger.stored[k]
            )
            * 1000
            for k in ledger.stored
        )
        return round(values[min(len(values) - 1, int(0.99 * len(values)))], 1) if values else None

    def p99_of(prefix: str) -> float | None:
        values = sorted(
            (ledger.got[k] - ledger.sent[k]) * 1000
            for k in ledger.sent
            if k in ledger.got and k.startswith(prefix)
        )
        return round(values[min(len(values) - 1, int(0.99 * len(values)))], 1) if values else None

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1)

    if ledger.errors:
        print(f"{len(ledger.errors)} errors, first: {ledger.errors[:5]}", file=sys.stderr)
    print(
        json.dumps(
            {
                "customers": args.customers,
                "agents": args.agents,
                "messages": len(ledger.sent),
                "delivered": len(latencies),
                "lost": lost,
                "duplicated": ledger.duplicated,
                "out_of_order": ledger.out_of_order,
                "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
                "p99_ms": pct(0.99) if latencies else None,
                "max_ms": round(latencies[-1], 1) if latencies else None,
                # Load-independent: the server's CPU (whole run: sign-ins, chats, routing)
                # per text message delivered.
                "server_cpu_ms_per_message": round(1000 * cpu_used / len(latencies), 2)
                if latencies
                else None,
                "server_cpu_s": round(cpu_used, 1),
                "p99_customer_to_agent_ms": p99_of("c"),
                "p99_agent_to_customer_ms": p99_of("a"),
                "p99_send_to_stored_ms": split("in"),
                "p99_stored_to_received_ms": split("out"),
                "client_loop_lag_p99_ms": round(
                    sorted(ledger.loop_lag_ms)[int(0.99 * len(ledger.loop_lag_ms))], 1
                )
                if ledger.loop_lag_ms
                else None,
                "load_avg_1m": round(os.getloadavg()[0], 1),
                "chats_completed": ledger.completed,
                "ratings": ledger.ratings,
                "errors": len(ledger.errors),
                "duration_s": round(duration, 1),
                "database": "sqlite" if args.sqlite else "postgresql",
            }
        )
    )


if __name__ == "__main__":
    main()
