"""The digital twin's event loop: the real routing engine, driven in virtual time.

"One engine, three clocks": a :class:`~kefu.core.clock.SimClock` is the engine's clock. The
engine's own timers (ring timeouts, wrap-up, overflow steps, max wait, SLA escalation) are
scheduled on it from ``engine.next_deadline()`` and fired with ``engine.tick()``; the outside
world is simulated by scheduling the same commands the server receives: customers arrive, abandon
after their patience unless answered (or ask for a callback), agents log in and out, take breaks,
answer offers after a ring delay, talk for a sampled handle time, complete and finish wrap-up.
Nothing here decides routing: every offer comes from the engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from heapq import heappop, heappush
from typing import Any

import numpy as np
from mypy_extensions import mypyc_attr

from kefu.core.clock import SimClock
from kefu.routing import (
    AgentStateChanged,
    Contact,
    ContactAnswered,
    ContactCompleted,
    ContactExpired,
    ContactOffered,
    EventRecord,
    Media,
    RoutingEngine,
    RoutingError,
    from_us,
    to_us,
)
from kefu.simulation.scenario import AgentGroup, Scenario

__all__ = ["Replication", "TwinClock", "run_replication"]

_WAITING, _ANSWERED, _ABANDONED, _EXPIRED, _CALLBACK = 0, 1, 2, 3, 4
_OCCUPIED = frozenset({"reserved", "busy", "wrap_up"})
_STAFFED = frozenset({"ready", "reserved", "busy", "wrap_up"})
_SECOND = timedelta(seconds=1)

IntArray = np.ndarray[tuple[int, int], np.dtype[np.int64]]
FloatMatrix = np.ndarray[tuple[int, int], np.dtype[np.float64]]
FloatVector = np.ndarray[tuple[int], np.dtype[np.float64]]


@dataclass
class Replication:
    """Counts of one run per queue (rows, in scenario order) and interval (columns, by the
    interval in which the contact *arrived*); agent time per interval for the whole center.

    ``abandoned`` are customers who hung up in the queue or while it rang; ``expired`` hit the
    queue's max wait (or a full queue); ``waited`` = contacts that did not reach an agent at
    once (answered after a wait > 0, abandoned or expired); ``callbacks`` asked for a callback in
    place (and stay in the queue)."""

    offered: IntArray
    answered: IntArray
    answered_in_sl: IntArray
    abandoned: IntArray
    expired: IntArray
    callbacks: IntArray
    waited: IntArray
    wait_answered_s: FloatMatrix
    handle_s: FloatMatrix
    staffed_s: FloatVector
    occupied_s: FloatVector
    engine_calls: int
    rejected_calls: int


@mypyc_attr(native_class=False)  # compiled (kefu.core.native): SimClock is a Python class
class TwinClock(SimClock):
    """The twin's event list in integer microseconds since ``kefu.routing.model.EPOCH`` (the
    engine's own time unit): plain tuples ``(due_us, seq, action, a, b)`` in a heap, run as
    ``action(a, b)``. Ties run in scheduling order; ``now_us()`` is the instant of the action
    being run, and the engine reads it directly (no datetime per command). ``now()`` and the
    datetime methods of SimClock still work."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._now_us = to_us(self._now)
        self._heap: list[tuple[int, int, Callable[[Any, Any], object], Any, Any]] = []

    def now(self) -> datetime:
        return from_us(self._now_us)

    def now_us(self) -> int:
        return self._now_us

    def push(
        self, at_us: int, action: Callable[[Any, Any], object], a: Any = None, b: Any = None
    ) -> None:
        """Run ``action(a, b)`` at ``at_us`` (never before now)."""
        if at_us < self._now_us:
            at_us = self._now_us
        heappush(self._heap, (at_us, next(self._seq), action, a, b))

    def schedule_at(self, at: datetime, action: Callable[[], object]) -> Any:
        entry: list[Any] = [action]
        self.push(to_us(at), _run_entry, entry)
        return entry

    @staticmethod
    def cancel(item: Any) -> None:
        item[0] = None

    def pending(self) -> int:
        return sum(1 for e in self._heap if e[2] is not _run_entry or e[3][0] is not None)

    def run_until(self, end: datetime | None = None) -> int:
        end_us = None if end is None else to_us(end)
        heap = self._heap
        ran = 0
        while heap:
            if end_us is not None and heap[0][0] > end_us:
                break
            at, _, action, a, b = heappop(heap)
            self._now_us = at
            action(a, b)
            ran += 1
        if end_us is not None and end_us > self._now_us:
            self._now_us = end_us
        return ran


def _run_entry(entry: list[Any], _: Any) -> None:
    action = entry[0]
    if action is not None:
        action()


class _Run:
    def __init__(self, scenario: Scenario, rng: np.random.Generator) -> None:
        self.s = scenario
        self.rng = rng
        self.clock = TwinClock(scenario.start)
        self.heap = self.clock._heap
        self.seq = self.clock._seq
        # The server's engine, returning its events as records (tuples, times in microseconds).
        self.engine = RoutingEngine(self.clock, records=True)
        self.start = scenario.start
        self.start_us = to_us(scenario.start)
        q, k = len(scenario.queues), scenario.intervals
        self.n_int = k
        self.interval_s = float(scenario.interval_s)
        # counters per (queue, interval) as flat lists (index qi * n_int + k): numpy at the end
        size = q * k
        self.offered = [0] * size
        self.answered = [0] * size
        self.in_sl = [0] * size
        self.abandoned = [0] * size
        self.expired = [0] * size
        self.callbacks = [0] * size
        self.waited = [0] * size
        self.wait_sum = [0.0] * size
        self.handle_sum = [0.0] * size
        self.staffed = [0.0] * k
        self.occupied = [0.0] * k
        self.calls = 0
        self.rejected = 0
        self.depth = 0
        self.tick_pending = False
        self.tick_at = 0
        self.tick_token = 0
        self.qindex = {d.config.queue_id: i for i, d in enumerate(scenario.queues)}
        self.thresholds = [d.config.service_level.threshold_s + 1e-9 for d in scenario.queues]
        self.handlers: dict[Any, Callable[[EventRecord], None]] = {
            ContactOffered: self._on_offered,
            ContactAnswered: self._on_answered,
            ContactExpired: self._on_expired,
            AgentStateChanged: self._on_agent_state,
        }
        if any(d.wrap is not None for d in scenario.queues):
            self.handlers[ContactCompleted] = self._on_completed
        # agents: index by id; state since (s), current derived state, leaving flag
        self.agent_ix: dict[str, int] = {}
        self.profiles: list[Any] = []
        self.agent_state: list[str] = []
        self.agent_since: list[float] = []
        self.leaving: list[bool] = []
        self.online: list[bool] = []
        self.ring_fixed = (scenario.ring_delay.kind == "fixed", scenario.ring_delay.mean)
        self.ring_zero = self.ring_fixed[0] and self.ring_fixed[1] <= 0
        self.e_arrive = self.engine.arrive
        self.e_accept = self.engine.accept
        self.e_complete = self.engine.complete
        self.arrival: tuple[int, int, int] | None = None  # (due_us, seq, index) of the next

    # -- time ---------------------------------------------------------------------------------
    def t(self) -> float:
        return (self.clock._now_us - self.start_us) / 1e6

    def at(
        self, t_s: float, action: Callable[[Any, Any], object], a: Any = None, b: Any = None
    ) -> None:
        """Run ``action(a, b)`` at ``t_s`` seconds from the start (never before now)."""
        due = self.start_us + round(t_s * 1e6)
        if due < self.clock._now_us:
            due = self.clock._now_us
        heappush(self.heap, (due, next(self.seq), action, a, b))

    def interval(self, t_s: float) -> int:
        return min(max(int(t_s // self.interval_s), 0), self.n_int - 1)

    # -- engine -------------------------------------------------------------------------------
    def call(self, fn: Callable[..., list[Any]], *args: Any) -> bool:
        """One engine command; the simulated world reacts to its events at once (which may
        call the engine again), then the next engine timer is armed."""
        self.calls += 1
        try:
            events = fn(*args)
        except RoutingError:
            self.rejected += 1
            return False
        handlers = self.handlers
        self.depth += 1
        for event in events:
            handler = handlers.get(event[0])
            if handler is not None:
                handler(event)
        self.depth -= 1
        if not self.depth:  # nested calls: the outermost arms once, at the same instant
            self.arm()
        return True

    def arm(self) -> None:
        deadline = self.engine.next_deadline_us()
        if deadline is None:
            return
        if self.tick_pending and deadline >= self.tick_at:
            return
        self.tick_pending = True
        self.tick_at = deadline
        self.tick_token += 1  # an earlier tick still in the heap is now void
        self.clock.push(deadline, self._tick, self.tick_token)

    def _tick(self, token: int, _: Any) -> None:
        if token != self.tick_token:
            return
        self.tick_pending = False
        self.call(self.engine.tick)

    # -- customers ----------------------------------------------------------------------------
    def setup_contacts(self) -> None:
        s, rng = self.s, self.rng
        if s.replay is not None:
            times = np.array([r.at_s for r in s.replay], dtype=np.float64)
            queues = np.array([self.qindex[r.queue_id] for r in s.replay], dtype=np.int64)
            handle = np.array([r.handle_s for r in s.replay], dtype=np.float64)
            patience = np.empty(len(times))
            prio = np.array([r.priority for r in s.replay], dtype=np.float64)
            for qi, demand in enumerate(s.queues):
                mask = queues == qi
                drawn = demand.patience.sample(rng, int(mask.sum()))
                recorded = np.array(
                    [
                        np.nan if r.patience_s is None else r.patience_s
                        for r, m in zip(s.replay, mask, strict=True)
                        if m
                    ]
                )
                patience[mask] = (
                    np.where(np.isnan(recorded), drawn, recorded) if len(recorded) else drawn
                )
        else:
            parts_t, parts_q = [], []
            for qi, demand in enumerate(s.queues):
                counts = rng.poisson(np.asarray(demand.volumes, dtype=np.float64))
                starts = np.repeat(np.arange(s.intervals) * self.interval_s, counts)
                parts_t.append(starts + rng.uniform(0.0, self.interval_s, len(starts)))
                parts_q.append(np.full(len(starts), qi, dtype=np.int64))
            times = np.concatenate(parts_t)
            queues = np.concatenate(parts_q)
            handle = np.empty(len(times))
            patience = np.empty(len(times))
            prio = np.zeros(len(times))
            for qi, demand in enumerate(s.queues):
                mask = queues == qi
                n = int(mask.sum())
                handle[mask] = demand.handle.sample(rng, n)
                patience[mask] = demand.patience.sample(rng, n)
                if demand.vip_share:
                    prio[mask] = np.where(rng.random(n) < demand.vip_share, 20.0, 0.0)
        order = np.argsort(times, kind="stable")
        self.c_time: list[float] = times[order].tolist()
        self.c_queue: list[int] = queues[order].tolist()
        self.c_handle: list[float] = handle[order].tolist()
        self.c_patience: list[float] = patience[order].tolist()
        self.c_prio: list[float] = prio[order].tolist()
        self.c_status = [_WAITING] * len(times)
        self.c_cell = [
            qi * self.n_int + self.interval(t)
            for qi, t in zip(self.c_queue, self.c_time, strict=True)
        ]
        self.c_id = [str(i) for i in range(len(times))]
        cb = [(d.callback_share if Media.CALLBACK in d.config.media else 0.0) for d in s.queues]
        self.callback_draw: list[float] = rng.random(len(times)).tolist() if any(cb) else []
        self.callback_share = cb
        self.wraps = [d.wrap for d in s.queues]
        self.tenants = [d.config.tenant_id for d in s.queues]
        self.qids = [d.config.queue_id for d in s.queues]
        self.media = [d.medium for d in s.queues]
        if self.c_time:
            self._next_arrival(0)

    def _next_arrival(self, i: int) -> None:
        """Arrivals are sorted: the next one waits here, not in the heap (run() merges the two;
        its sequence number is taken now, as a heap entry's would be)."""
        due = self.start_us + round(self.c_time[i] * 1e6)
        if due < self.clock._now_us:
            due = self.clock._now_us
        self.arrival = (due, next(self.seq), i)

    def _arrive(self, i: int) -> None:
        qi = self.c_queue[i]
        self.offered[self.c_cell[i]] += 1
        if i + 1 < len(self.c_time):
            self._next_arrival(i + 1)
        # Trusted construction: the values are valid by construction (the API validates).
        contact = Contact.trusted(
            self.c_id[i], self.tenants[qi], self.qids[qi], self.media[qi], self.c_prio[i]
        )
        self.call(self.e_arrive, contact)
        patience = self.c_patience[i]
        if patience < math.inf and self.c_status[i] == _WAITING:  # not answered at once
            # no cancel: _patience_out does nothing once the contact has left the queue
            self.at(self.c_time[i] + patience, self._patience_out, i)

    def _patience_out(self, i: int, _: Any) -> None:
        if self.c_status[i] != _WAITING:
            return
        qi = self.c_queue[i]
        if (
            self.callback_draw
            and self.callback_draw[i] < self.callback_share[qi]
            and self.call(self.engine.request_callback, self.c_id[i])
        ):
            self.callbacks[self.c_cell[i]] += 1
            self.c_status[i] = _CALLBACK  # keeps its place; no more patience
            return
        if self.call(self.engine.abandon, self.c_id[i]):
            self.c_status[i] = _ABANDONED
            cell = self.c_cell[i]
            self.abandoned[cell] += 1
            self.waited[cell] += 1

    def _on_expired(self, event: EventRecord) -> None:
        # ContactExpired record: (cls, at_us, contact_id, queue_id, reason, action, target)
        i = int(event[2])
        if self.c_status[i] in (_WAITING, _CALLBACK):
            self.c_status[i] = _EXPIRED
            cell = self.c_cell[i]
            self.expired[cell] += 1
            self.waited[cell] += 1

    # -- agents behaviour ---------------------------------------------------------------------
    def _on_offered(self, event: EventRecord) -> None:
        # ContactOffered record: (cls, at_us, contact_id, agent_id, queue_id, ...)
        if self.ring_zero:
            self.call(self.e_accept, event[3], event[2])  # answers at once: same instant
            return
        fixed, value = self.ring_fixed
        delay = value if fixed else float(self.s.ring_delay.sample(self.rng, 1)[0])
        if delay <= 0:
            self.call(self.engine.accept, event[3], event[2])  # answers at once: same instant
        else:
            self.at(self.t() + delay, self._accept, event[3], event[2])

    def _accept(self, agent_id: str, contact_id: str) -> None:
        self.call(self.engine.accept, agent_id, contact_id)

    def _on_answered(self, event: EventRecord) -> None:
        # ContactAnswered record: (cls, at_us, contact_id, agent_id, queue_id, media, ...)
        i = int(event[2])
        now = (self.clock._now_us - self.start_us) / 1e6
        self.c_status[i] = _ANSWERED
        qi, cell = self.c_queue[i], self.c_cell[i]
        wait = now - self.c_time[i]
        if wait < 1e-5:  # clock instants are whole microseconds: this is "at once"
            wait = 0.0
        else:
            self.waited[cell] += 1
        self.answered[cell] += 1
        self.wait_sum[cell] += wait
        if wait <= self.thresholds[qi]:
            self.in_sl[cell] += 1
        handle = self.c_handle[i]
        self.handle_sum[cell] += handle
        self.at(now + handle, self._complete, event[3], event[2])

    def _complete(self, agent_id: str, contact_id: str) -> None:
        self.call(self.e_complete, agent_id, contact_id)

    def _on_completed(self, event: EventRecord) -> None:
        # ContactCompleted record: (cls, at_us, contact_id, agent_id, queue_id, handle_s)
        wrap = self.wraps[self.qindex[event[4]]]
        if wrap is not None:
            delay = float(wrap.sample(self.rng, 1)[0])
            self.at(self.t() + delay, self._finish_wrap, event[3], event[2])

    def _finish_wrap(self, agent_id: str, contact_id: str) -> None:
        self.call(self.engine.finish_wrap_up, agent_id, contact_id)

    def _on_agent_state(self, event: EventRecord) -> None:
        # AgentStateChanged record: (cls, at_us, agent_id, state, previous, presence, reason)
        ix = self.agent_ix[event[2]]
        state = event[3]
        now = (self.clock._now_us - self.start_us) / 1e6
        since = self.agent_since[ix]
        if now > since:  # else nothing to add: same instant as the last change
            old = self.agent_state[ix]
            k = int(since // self.interval_s)
            if old in _STAFFED and 0 <= k < self.n_int and now <= (k + 1) * self.interval_s:
                self.agent_since[ix] = now  # _accrue within one interval, inlined
                self.staffed[k] += now - since
                if old in _OCCUPIED:
                    self.occupied[k] += now - since
            else:
                self._accrue(ix, now)
        self.agent_state[ix] = state
        if event[6] == "missed" and not self.leaving[ix]:
            self.at(now + self.s.missed_ready_s, self._ready, ix)
        if state == "not_ready" and self.leaving[ix]:
            self.leaving[ix] = False
            self.online[ix] = False
            self.call(self.engine.logout, event[2])

    def _accrue(self, ix: int, now: float) -> None:
        state = self.agent_state[ix]
        since = self.agent_since[ix]
        self.agent_since[ix] = now
        if state not in _STAFFED or now <= since:
            return
        occupied = state in _OCCUPIED
        step = self.interval_s
        k = int(since // step)
        while since < now and k < self.n_int:
            end = min(now, (k + 1) * step)
            if k >= 0:
                self.staffed[k] += end - since
                if occupied:
                    self.occupied[k] += end - since
            since = end
            k += 1

    # -- agent schedules ----------------------------------------------------------------------
    def setup_agents(self) -> None:
        self.engine.add_skills(
            sorted(
                {n for g in self.s.agents for n in g.skills}
                | {n for d in self.s.queues for n in d.config.skills}
            )
        )
        for demand in self.s.queues:
            self.engine.add_queue(demand.config)
        for group in self.s.agents:
            members = []
            for j in range(group.count):
                profile = group.profile(j)
                self.agent_ix[profile.agent_id] = len(self.profiles)
                members.append(len(self.profiles))
                self.profiles.append(profile)
                self.agent_state.append("offline")
                self.agent_since.append(0.0)
                self.leaving.append(False)
                self.online.append(False)
            if group.staffing:
                self._follow_curve(group, members)
            for shift in group.shifts:
                for ix in members:
                    self.at(shift.start_s, self._login, ix)
                    for b_start, b_len in shift.breaks:
                        self.at(b_start, self._break, ix)
                        self.at(b_start + b_len, self._ready, ix, "break")
                    self.at(shift.end_s, self._leave, ix)

    def _follow_curve(self, group: AgentGroup, members: list[int]) -> None:
        def adjust(k: int, _: Any) -> None:
            target = group.staffing[k]
            on = [ix for ix in members if self.online[ix] and not self.leaving[ix]]
            if len(on) > target:
                for ix in on[target:]:
                    self._leave(ix)
                return
            need = target - len(on)
            for ix in members:  # first take back agents on their way out, then log in others
                if need and self.leaving[ix]:
                    self.leaving[ix] = False
                    self._ready(ix, None)
                    need -= 1
            for ix in members:
                if need and not self.online[ix]:
                    self._login(ix)
                    need -= 1

        for k in range(self.s.intervals):
            self.at(k * self.interval_s, adjust, k)

    def _login(self, ix: int, _: Any = None) -> None:
        if self.online[ix]:
            self.leaving[ix] = False
            return
        self.online[ix] = True
        profile = self.profiles[ix]
        if self.call(self.engine.login, profile):
            self.call(self.engine.set_state, profile.agent_id, "ready")

    def _ready(self, ix: int, from_reason: str | None = None) -> None:
        if not self.online[ix] or self.leaving[ix]:
            return
        self.call(self.engine.set_state, self.profiles[ix].agent_id, "ready")

    def _break(self, ix: int, _: Any = None) -> None:
        if self.online[ix] and not self.leaving[ix]:
            self.call(self.engine.set_state, self.profiles[ix].agent_id, "not_ready", "break")

    def _leave(self, ix: int, _: Any = None) -> None:
        if not self.online[ix] or self.leaving[ix]:
            return
        agent_id = self.profiles[ix].agent_id
        if self.agent_state[ix] in ("ready", "not_ready"):
            self.online[ix] = False
            if self.agent_state[ix] == "ready":
                self.call(self.engine.set_state, agent_id, "not_ready", "shift_end")
            self.call(self.engine.logout, agent_id)
            return
        self.leaving[ix] = True  # busy: no new offers, log out when the work is done
        self.call(self.engine.set_state, agent_id, "not_ready", "shift_end")

    # -- run ----------------------------------------------------------------------------------
    def _loop(self, end_us: int) -> None:
        """TwinClock.run_until with the arrival stream merged in, in (due, seq) order."""
        heap = self.heap
        clock = self.clock
        arrive = self._arrive
        while True:
            head = heap[0] if heap else None
            arrival = self.arrival
            if head is not None and (arrival is None or head < arrival):
                if head[0] > end_us:
                    break
                at, _, action, a, b = heappop(heap)
                clock._now_us = at
                action(a, b)
            elif arrival is not None:
                if arrival[0] > end_us:
                    break
                clock._now_us = arrival[0]
                self.arrival = None
                arrive(arrival[2])
            else:
                break
        if end_us > clock._now_us:
            clock._now_us = end_us

    def run(self) -> Replication:
        self.setup_agents()
        self.setup_contacts()
        end = self.start + timedelta(seconds=self.s.horizon_s + self.s.drain_s)
        self._loop(to_us(end))
        horizon = min(self.t(), self.s.horizon_s)
        for ix in range(len(self.profiles)):
            self._accrue(ix, horizon)
        shape = (len(self.s.queues), self.n_int)

        def counts(cells: list[int]) -> IntArray:
            return np.array(cells, dtype=np.int64).reshape(shape)

        def sums(cells: list[float]) -> FloatMatrix:
            return np.array(cells, dtype=np.float64).reshape(shape)

        return Replication(
            offered=counts(self.offered),
            answered=counts(self.answered),
            answered_in_sl=counts(self.in_sl),
            abandoned=counts(self.abandoned),
            expired=counts(self.expired),
            callbacks=counts(self.callbacks),
            waited=counts(self.waited),
            wait_answered_s=sums(self.wait_sum),
            handle_s=sums(self.handle_sum),
            staffed_s=np.array(self.staffed, dtype=np.float64),
            occupied_s=np.array(self.occupied, dtype=np.float64),
            engine_calls=self.calls,
            rejected_calls=self.rejected,
        )


def run_replication(scenario: Scenario, seed: int | np.random.SeedSequence) -> Replication:
    """Simulate the scenario once with its own random stream (same seed, same result)."""
    return _Run(scenario, np.random.default_rng(seed)).run()
