"""The routing engine in a server process: commands are stored before they act, events follow.

One worker thread owns the engine. Every command (and every timer tick that changes something)
is written to ``routing_commands`` in the same transaction as the events it caused and the
contact read model; only after that commit are the events published (offers reach agents,
wallboards move). After a restart — even ``kill -9`` — ``start()`` replays the stored commands
at their recorded instants into a fresh engine, which rebuilds exactly the same queues, order and
agent states (the engine is deterministic).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.clock import Clock
from kefu.core.events import Event, EventBus
from kefu.db.eventlog import record_event
from kefu.db.session import Database
from kefu.routing.commands import Command, Tick, command_from_dict
from kefu.routing.engine import RoutingEngine
from kefu.routing.errors import RoutingError
from kefu.routing.events import RoutingEvent
from kefu.routing.live import LiveCounters
from kefu.routing.projection import fold_contact_event, preload_contacts
from kefu.routing.tables import RoutingCommandRecord

__all__ = ["RoutingRuntime", "StepClock", "tenant_of"]

log = logging.getLogger(__name__)
STATS_INTERVAL_S = 1.0
BATCH_MAX = 64  # commands stored per transaction at most


class StepClock:
    """The engine's clock: fixed at the instant of the command being applied."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def tenant_of(namespaced: str) -> int | None:
    """Engine ids of queues, skills and sites are ``<tenant_id>.<code>``."""
    head, _, _ = namespaced.partition(".")
    return int(head) if head.isdigit() else None


@dataclass
class _Job:
    command: Command
    tenant_id: int | None
    future: Future[list[RoutingEvent]]
    before_commit: Callable[[Session, list[RoutingEvent]], None] | None
    actor: Any


class RoutingRuntime:
    """Owns the engine; ``submit`` is thread-safe and returns the events a command caused."""

    def __init__(
        self, db: Database, clock: Clock, bus: EventBus, timezone: str = "Asia/Shanghai"
    ) -> None:
        self.timezone = ZoneInfo(timezone)
        self.db = db
        self.clock = clock
        self.bus = bus
        self._step = StepClock(clock.now())
        self.engine = RoutingEngine(self._step)
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()  # held while the engine is read or changed
        self.contact_tenant: dict[str, int] = {}
        self.agent_tenant: dict[str, int] = {}
        self.queue_configs: dict[str, Any] = {}
        self.skills: set[str] = set()
        self.live = LiveCounters()
        # agent id -> when its current state began (folded live and on replay; wallboards)
        self.state_since: dict[str, datetime] = {}
        # Called in the writing transaction for every public event (channels fold their state).
        self.listeners: list[Callable[[Session, dict[str, Any], int | None], None]] = []
        # Called once per command before its events are folded, with all of them: a listener
        # loads the rows it will need in one query instead of one per event.
        self.preloaders: list[Callable[[Session, list[dict[str, Any]]], None]] = []
        self._dirty_tenants: set[int] = set()
        self._last_stats = 0.0
        self.replayed = 0

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Rebuild the engine from the command log, then run the worker thread."""
        with self._lock:
            self.replayed = self._replay()
        # The engine holds many long-lived objects: full collections of them stalled single
        # routing decisions for 0.2-1 s. Freeze what exists and collect the young less often.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
        self._thread = threading.Thread(target=self._run, name="kefu-routing", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _replay(self) -> int:
        count = 0
        with self.db.sessions() as session:
            rows = session.execute(
                select(
                    RoutingCommandRecord.id,
                    RoutingCommandRecord.at,
                    RoutingCommandRecord.tenant_id,
                    RoutingCommandRecord.data,
                )
                .order_by(RoutingCommandRecord.id)
                .execution_options(yield_per=2000)
            )
            for _id, at, tenant_id, data in rows:
                command = command_from_dict(data)
                self._step.at = at
                # A command rejected live is rejected again; the timers it fired fire again here.
                with contextlib.suppress(RoutingError):
                    for event in self.engine.execute(command):
                        self._fold_live(event)
                self._remember(command, tenant_id)
                count += 1
        if count:
            log.info("routing: replayed %d commands", count)
        return count

    # -- commands --------------------------------------------------------------------------------
    def submit(
        self,
        command: Command,
        *,
        tenant_id: int | None,
        actor: Any = None,
        before_commit: Callable[[Session, list[RoutingEvent]], None] | None = None,
        timeout: float = 30.0,
    ) -> list[RoutingEvent]:
        """Store, apply and commit ``command``; raise RoutingError if the engine refuses it."""
        future: Future[list[RoutingEvent]] = Future()
        job = _Job(command, tenant_id, future, before_commit, actor)
        if self._thread is None or threading.current_thread() is self._thread:
            self._process(job)  # not started (tests, tools) or re-entrant: run inline
        else:
            self._jobs.put(job)
        return future.result(timeout=timeout)

    def read(self, fn: Callable[[RoutingEngine], Any]) -> Any:
        """Run a query against the engine (never advances time)."""
        with self._lock:
            return fn(self.engine)

    def pump(self) -> list[RoutingEvent]:
        """Fire the timers due now (the worker does this by itself; tests call it directly)."""
        future: Future[list[RoutingEvent]] = Future()
        self._process(_Job(Tick(), None, future, None, None))
        return future.result()

    def _run(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self._wait_s())
            except queue.Empty:
                job = _Job(Tick(), None, Future(), None, None)
            if job is None:
                return
            batch = [job]
            stop = False
            while len(batch) < BATCH_MAX:  # whatever queued meanwhile shares one transaction
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            try:
                self._process_batch(batch)
            except Exception:  # the worker must survive anything; the job's caller sees it
                log.exception("routing worker failed")
            self._maybe_publish_stats()
            if stop:
                return

    def _wait_s(self) -> float:
        with self._lock:
            deadline = self.engine.next_deadline()
        if deadline is None:
            return STATS_INTERVAL_S
        seconds = (deadline - self.clock.now()).total_seconds()
        # Poll at least every 50 ms so a manual or simulated clock is noticed too.
        return min(max(seconds, 0.0), 0.05) if seconds < STATS_INTERVAL_S else STATS_INTERVAL_S

    def _process(self, job: _Job) -> None:
        self._process_batch([job])

    def _process_batch(self, batch: list[_Job]) -> None:
        """Apply jobs in order and store them in ONE transaction (group commit): the worker's
        cost is database round trips, so commands that queued up meanwhile share them. Callers
        hear back only after the commit. If the write fails, the engine (ahead of the log now)
        is rebuilt from the log and each job is retried alone, so one bad job fails alone."""
        outcomes: list[tuple[_Job, list[RoutingEvent] | None, RoutingError | None]] = []
        try:
            with self.db.sessions() as session:
                session.info["clock"] = self.clock
                for job in batch:
                    if job.actor is not session.info.get("actor"):
                        session.flush()  # audit rows so far carry the previous job's actor
                        if job.actor is None:
                            session.info.pop("actor", None)
                        else:
                            session.info["actor"] = job.actor
                    try:
                        outcomes.append((job, self._apply(session, job), None))
                    except RoutingError as exc:
                        outcomes.append((job, None, exc))
                        if not isinstance(job.command, Tick):
                            # Timers the refused command fired first still happened: record
                            # them now.
                            with contextlib.suppress(RoutingError):
                                self._apply(session, _Job(Tick(), None, Future(), None, None))
                session.commit()
        except Exception as exc:
            log.exception("routing: commands not stored; rebuilding engine from the log")
            with self._lock:
                self._rebuild()
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
            else:
                for job in batch:
                    self._process_batch([job])
            return
        for job, events, error in outcomes:
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(events or [])

    def _apply(self, session: Session, job: _Job) -> list[RoutingEvent]:
        """Run one command on the engine and add its record and events to ``session``.

        The lock is held only while the engine changes: readers (queue positions, views)
        never wait for the database."""
        command = job.command
        is_tick = isinstance(command, Tick)
        with self._lock:
            now = self.clock.now()
            self._step.at = now
            try:
                events = self.engine.execute(command)
            except RoutingError as exc:
                record = RoutingCommandRecord(
                    tenant_id=job.tenant_id, at=now, type=command.type, data=command.as_dict()
                )
                record.status, record.error = "rejected", exc.code
                session.add(record)
                raise
            if is_tick and not events:
                return events  # a tick that changed nothing need not be kept
            self._remember(command, job.tenant_id)
            for event in events:
                self._fold_live(event)
        session.add(
            RoutingCommandRecord(
                tenant_id=job.tenant_id, at=now, type=command.type, data=command.as_dict()
            )
        )
        self._record(session, events)
        if job.before_commit is not None:
            job.before_commit(session, events)
        return events

    def _rebuild(self) -> None:
        self._step = StepClock(self.clock.now())
        self.engine = RoutingEngine(self._step)
        self.contact_tenant.clear()
        self.agent_tenant.clear()
        self.queue_configs.clear()
        self.skills.clear()
        self.live = LiveCounters()
        self.state_since.clear()
        self._replay()

    def _remember(self, command: Command, tenant_id: int | None) -> None:
        kind = command.type
        if kind == "arrive":
            contact = command.contact  # type: ignore[attr-defined]
            self.contact_tenant[contact.contact_id] = int(contact.tenant_id)
        elif kind == "login" and tenant_id is not None:
            self.agent_tenant[command.profile.agent_id] = tenant_id  # type: ignore[attr-defined]
        elif kind == "add_skills":
            self.skills.update(command.names)  # type: ignore[attr-defined]
        elif kind in ("add_queue", "update_queue"):
            config = command.config  # type: ignore[attr-defined]
            self.queue_configs[config.queue_id] = config

    # -- events ----------------------------------------------------------------------------------
    def event_tenant(self, event: RoutingEvent) -> int | None:
        data = event.__dict__
        if "contact_id" in data and data["contact_id"] in self.contact_tenant:
            return self.contact_tenant[data["contact_id"]]
        if "agent_id" in data and data["agent_id"] in self.agent_tenant:
            return self.agent_tenant[data["agent_id"]]
        for key in ("queue_id", "site"):
            if key in data and isinstance(data[key], str):
                return tenant_of(data[key])
        return None

    def _record(self, session: Session, events: list[RoutingEvent]) -> None:
        datas = [public_event_data(event) for event in events]
        # One read for the contacts (and whatever the listeners need) of all these events:
        # afterwards the per-event folds find their rows in the session, without a query (and
        # the flush that would come before each query) per event.
        contacts = preload_contacts(session, datas)
        for preload in self.preloaders:
            preload(session, datas)
        for event, data in zip(events, datas, strict=True):
            tenant_id = self.event_tenant(event)
            record_event(session, Event(event.type, topic_for(data), tenant_id, event.at, data))
            fold_contact_event(session, data, tenant_id, contacts)
            for listener in self.listeners:
                listener(session, data, tenant_id)
            if tenant_id is not None:
                self._dirty_tenants.add(tenant_id)

    def _fold_live(self, event: RoutingEvent) -> None:
        self.live.fold(event.type, event.__dict__, event.at)
        if event.type == "agent_state_changed":
            self.state_since[event.agent_id] = event.at  # type: ignore[attr-defined]

    def _maybe_publish_stats(self) -> None:
        now = self.clock.now()
        stamp = now.timestamp()
        if not self._dirty_tenants or stamp - self._last_stats < STATS_INTERVAL_S:
            return
        self._last_stats = stamp
        tenants, self._dirty_tenants = self._dirty_tenants, set()
        for tenant_id in sorted(tenants):
            stats = self.tenant_stats(tenant_id)
            # Ephemeral (no id): a fresh number every second, not worth storing.
            self.bus.publish([Event("queue_stats", "routing.stats", tenant_id, now, stats)])

    def tenant_stats(self, tenant_id: int) -> dict[str, Any]:
        prefix = f"{tenant_id}."
        with self._lock:
            queues = {
                qid.removeprefix(prefix): self.engine.queue_stats(qid)
                for qid in sorted(self.queue_configs)
                if qid.startswith(prefix)
            }
            agents: dict[str, int] = {}
            for agent_id, owner in self.agent_tenant.items():
                if owner == tenant_id:
                    state = self.engine.agent_view(agent_id)["state"]
                    agents[state] = agents.get(state, 0) + 1
        now = self.clock.now()
        day_start = now.astimezone(self.timezone).replace(hour=0, minute=0, second=0, microsecond=0)
        for code, stats in queues.items():
            qid = prefix + code
            stats["queue_id"] = code
            stats["interval"] = self.live.current(qid, now)
            stats["today"] = self.live.today(qid, day_start, now)
        return {"queues": queues, "agents": dict(sorted(agents.items())), "at": now.isoformat()}


def public_event_data(event: RoutingEvent) -> dict[str, Any]:
    """An engine event as clients see it: codes without the tenant prefix."""
    data = event.as_dict()
    for key in ("queue_id", "from_queue", "to_queue"):
        value = data.get(key)
        if isinstance(value, str) and "." in value:
            data[key] = value.split(".", 1)[1]
    for key in ("site",):
        value = data.get(key)
        if isinstance(value, str) and "." in value:
            data[key] = value.split(".", 1)[1]
    data.pop("tenant_id", None)
    return data


def topic_for(data: dict[str, Any]) -> str:
    """Agents follow ``routing.agent.<user id>``; supervisors ``routing.*``."""
    agent = data.get("agent_id") or data.get("to_agent")
    if agent:
        return f"routing.agent.{agent}"
    queue_code = data.get("queue_id") or data.get("from_queue")
    if queue_code:
        return f"routing.queue.{queue_code}"
    return "routing.system"
