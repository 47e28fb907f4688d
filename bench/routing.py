"""Routing engine benchmark (run by hand): 10,000 agents, 200 queues, 50 skills, 3 sites.

A discrete-event simulation drives the engine with a ManualClock: Poisson arrivals of mixed
media, agents that answer after a few seconds (some miss or decline), handle, wrap up, and
customers who abandon. Every engine call is timed with perf_counter.

Printed numbers (final line is JSON). A "decision" is one engine call that makes a routing
decision: a contact becomes routable (arrive, and ticks that return contacts or overflow them)
or an agent becomes free (finish_wrap_up, set ready, decline); it ends in an offer or in
"nobody eligible is free, index it". Accept and complete calls are not decisions, but their time
counts in the throughput below.
  decisions        number of decision calls; offers: contact_offered events
  decisions_per_s  decisions / CPU seconds spent inside the engine in ALL calls (thread_time:
                   one core's work, robust on a shared machine); decisions_per_wall_s: same
                   with perf_counter; offers_per_s: offers / engine CPU seconds
  p50_ms, p99_ms   perf_counter latency of each decision call (includes time the process was
                   descheduled: on a busy shared machine this is mostly the neighbours' load);
                   cpu_p50_ms, cpu_p99_ms: the same calls in thread CPU time
  naive_p99_ms     p99 of a naive decision (scan all agents, check eligibility, pick by the
                   queue's strategy) for every 50th arrival, against the same state
  naive_ratio      p99_ms / naive_p99_ms, lower is better (0.01 = 100 times faster);
                   naive_cpu_ratio: the same in CPU time
  peak_rss_mb      resource.getrusage max RSS of this process (engine + simulation)

Usage: .venv/bin/python bench/routing.py [--arrivals N] [--agents N] [--seed S]
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import random
import resource
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from kefu.core.clock import ManualClock
from kefu.routing import (
    AgentProfile,
    Contact,
    Media,
    OverflowAction,
    OverflowStep,
    QueueConfig,
    RoutingEngine,
    RoutingError,
    Strategy,
)
from kefu.routing.model import EXCLUSIVE_MEDIA, Presence, to_us
from kefu.routing.policies import meets, strategy_key

SITES = ("bj", "sh", "gz")
SKILLS = tuple(f"s{i:02d}" for i in range(50))
LANGS = SKILLS[47:]
FAMILIES: tuple[tuple[Media, ...], ...] = (
    (Media.VOICE, Media.CALLBACK),
    (Media.CHAT, Media.SMS, Media.SOCIAL),
    (Media.EMAIL, Media.WORK_ORDER),
    (Media.VOICE, Media.EMAIL),
)
PROFILES: tuple[tuple[float, dict[Media, int]], ...] = (
    (0.45, {Media.VOICE: 1, Media.CALLBACK: 1, Media.EMAIL: 5}),
    (0.35, {Media.CHAT: 3, Media.SMS: 3, Media.SOCIAL: 3, Media.EMAIL: 5}),
    (0.20, {Media.EMAIL: 5, Media.WORK_ORDER: 10}),
)
HANDLE_S = {Media.VOICE: 180, Media.CALLBACK: 150, Media.CHAT: 300, Media.SMS: 200,
            Media.SOCIAL: 250, Media.EMAIL: 240, Media.WORK_ORDER: 600}
START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def build(
    n_agents: int, rng: random.Random
) -> tuple[RoutingEngine, ManualClock, list[QueueConfig]]:
    clock = ManualClock(START)
    engine = RoutingEngine(clock)
    engine.add_skills(SKILLS)
    strategies = list(Strategy)
    queues = []
    for i in range(200):
        queues.append(QueueConfig(
            queue_id=f"q{i:03d}", tenant_id=f"t{i % 10}", skills={SKILLS[i % 47]: 3 + i % 4},
            media=FAMILIES[i % 4], strategy=strategies[i % len(strategies)],
            sites=(SITES[i % 3],), media_priority={Media.VOICE: 10.0}, wrap_up_s=60,
            tiers={f"a{j:05d}": 1 + j % 3 for j in range(i, n_agents, 97)},
            overflow=(OverflowStep(after_s=30, action=OverflowAction.RELAX_LEVEL, relax_by=2),
                      OverflowStep(after_s=60, action=OverflowAction.OPEN_SITES)),
            max_wait_s=900, ring_timeout_s=15,
        ))
        engine.add_queue(queues[-1])
    weights = [w for w, _ in PROFILES]
    for j in range(n_agents):
        skills = {s: rng.randint(1, 10) for s in rng.sample(SKILLS[:47], rng.randint(3, 6))}
        skills[rng.choice(LANGS)] = rng.randint(3, 10)
        capacity = rng.choices([c for _, c in PROFILES], weights)[0]
        engine.login(AgentProfile(agent_id=f"a{j:05d}", site=rng.choice(SITES), skills=skills,
                                  capacity=capacity))
        engine.set_state(f"a{j:05d}", "ready")
    return engine, clock, queues


def naive_decision(engine: RoutingEngine, contact_id: str) -> object:
    """Scan every agent: free for the medium, skilled and sited for the stage, best key."""
    c = engine._contacts.get(contact_id)
    if c is None:
        return None
    stage = c.rc.plan.stages[c.stage]
    config = c.queue.config
    best: tuple[Any, ...] | None = None
    for agent in engine._agents.values():
        if agent.presence is not Presence.READY or c.media not in agent.free_media():
            continue
        if not any(meets(agent.profile.skills, alt) for alt in stage.alternatives):
            continue
        if stage.sites is not None and agent.profile.site not in stage.sites:
            continue
        key = (strategy_key(config, agent_id=agent.agent_id, skills=agent.profile.skills,
                            last_activity_s=agent.last_activity_us / 1e6,
                            occupied_s=agent.occupied_us / 1e6,
                            rr_seq=c.queue.rr.get(agent.agent_id, 0)), agent.ordinal)
        if best is None or key < best:
            best = key
    return best


def run(n_arrivals: int, n_agents: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    t0 = time.perf_counter()
    engine, clock, queues = build(n_agents, rng)
    setup_s = time.perf_counter() - t0
    now0 = to_us(clock.now())
    sim: list[tuple[int, int, str, tuple[str, ...]]] = []
    seq = 0

    def at(delay_s: float, kind: str, *args: str) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(sim, (to_us(clock.now()) + int(delay_s * 1e6), seq, kind, args))

    decision_lat: list[float] = []
    decision_cpu: list[float] = []
    engine_s = 0.0
    engine_cpu_s = 0.0
    slow: dict[str, int] = {}  # decision calls over 1 ms of CPU, by command
    offers = 0
    errors = 0
    naive_lat: list[float] = []
    naive_cpu: list[float] = []
    media_of: dict[str, Media] = {}

    def call(fn: Callable[..., Any], *args: Any, decision: bool = True) -> None:
        nonlocal engine_s, engine_cpu_s, offers, errors
        c = time.thread_time()
        t = time.perf_counter()
        try:
            events = fn(*args)
        except RoutingError:
            errors += 1  # e.g. the customer abandoned the contact the agent tries to accept
            events = []
        dt = time.perf_counter() - t
        dc = time.thread_time() - c
        engine_s += dt
        engine_cpu_s += dc
        if decision and (events or fn.__name__ != "tick"):
            decision_lat.append(dt)
            decision_cpu.append(dc)
            if dc > 0.001:
                slow[fn.__name__] = slow.get(fn.__name__, 0) + 1
        for event in events:
            kind = event.type
            if kind == "contact_offered":
                offers += 1
                roll = rng.random()
                if roll < 0.02:
                    at(3, "decline", event.agent_id, event.contact_id)
                elif roll > 0.03:  # 1% never answer: ring timeout, agent "missed"
                    at(rng.uniform(1, 5), "accept", event.agent_id, event.contact_id)
            elif kind == "contact_answered":
                mean = HANDLE_S[media_of.get(event.contact_id, Media.CALLBACK)]
                at(rng.expovariate(1 / mean), "complete", event.agent_id, event.contact_id)
            elif kind == "contact_closed":
                media_of.pop(event.contact_id, None)
            elif kind == "contact_completed":
                at(rng.uniform(5, 40), "wrap", event.agent_id)
            elif kind == "agent_state_changed" and event.reason == "missed":
                at(30, "ready", event.agent_id)

    # arrival rate ~ 95% of the staffed capacity, so queues form and drain
    capacity_per_s = sum(
        (1 / (HANDLE_S[Media.VOICE] + 25)) if Media.VOICE in a.profile.capacity
        else 3 / (HANDLE_S[Media.CHAT] + 25) if Media.CHAT in a.profile.capacity
        else 5 / (HANDLE_S[Media.EMAIL] + 25)
        for a in engine._agents.values()
    )
    rate = 0.95 * capacity_per_s
    arrivals = 0
    # The engine makes no reference cycles per decision, so Python's cyclic GC only costs: left
    # alone, a full collection walks every heap entry and stalls one call for 0.2-1 s. Freeze
    # the long-lived state and collect rarely (a server runtime should do the same).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    at(rng.expovariate(rate), "arrive")
    t_run = time.perf_counter()
    while arrivals < n_arrivals:
        deadline = engine.next_deadline()
        due = to_us(deadline) if deadline else None
        if due is not None and (not sim or due <= sim[0][0]):
            clock.set(deadline)  # type: ignore[arg-type]
            call(engine.tick)
            continue
        when, _, kind, args = heapq.heappop(sim)
        clock.set(START + timedelta(microseconds=when - now0))
        if kind == "arrive":
            arrivals += 1
            q = queues[rng.randrange(200)]
            media = rng.choice(q.media)
            cid = f"c{arrivals}"
            media_of[cid] = media
            extra = {rng.choice(LANGS): 3} if rng.random() < 0.2 else {}
            contact = Contact(contact_id=cid, tenant_id=q.tenant_id, queue_id=q.queue_id,
                              media=media, priority=20.0 if rng.random() < 0.05 else 0.0,
                              skills=extra)
            call(engine.arrive, contact)
            if arrivals % 50 == 0 and len(naive_lat) < 2000:
                c = time.thread_time()
                t = time.perf_counter()
                naive_decision(engine, cid)
                naive_lat.append(time.perf_counter() - t)
                naive_cpu.append(time.thread_time() - c)
            if media in EXCLUSIVE_MEDIA:
                at(rng.expovariate(1 / 240), "abandon", cid)
            at(rng.expovariate(rate), "arrive")
        elif kind == "accept":
            call(engine.accept, *args, decision=False)
        elif kind == "decline":
            call(engine.decline, *args)
        elif kind == "complete":
            call(engine.complete, *args, decision=False)
        elif kind == "wrap":
            call(engine.finish_wrap_up, *args)
        elif kind == "ready":
            call(engine.set_state, args[0], "ready")
        elif kind == "abandon":
            contact_view = engine._contacts.get(args[0])
            if contact_view is not None and contact_view.status.value == "waiting":
                call(engine.abandon, args[0])
    wall_s = time.perf_counter() - t_run

    def pct(values: list[float], p: float) -> float:
        return statistics.quantiles(values, n=1000)[int(p * 10) - 1] * 1000 if values else 0.0

    p99 = pct(decision_lat, 99)
    naive_p99 = pct(naive_lat, 99)
    cpu_p99 = pct(decision_cpu, 99)
    naive_cpu_p99 = pct(naive_cpu, 99)
    waiting = sum(len(q.waiting) for q in engine._queues.values())
    return {
        "agents": n_agents, "queues": 200, "skills": 50, "sites": 3, "arrivals": arrivals,
        "virtual_s": round((to_us(clock.now()) - now0) / 1e6),
        "decisions": len(decision_lat), "offers": offers, "rejected_calls": errors,
        "waiting_at_end": waiting, "setup_s": round(setup_s, 1), "wall_s": round(wall_s, 1),
        "engine_s": round(engine_s, 2), "engine_cpu_s": round(engine_cpu_s, 2),
        "decisions_per_s": round(len(decision_lat) / engine_cpu_s),
        "decisions_per_wall_s": round(len(decision_lat) / engine_s),
        "offers_per_s": round(offers / engine_cpu_s),
        "p50_ms": round(pct(decision_lat, 50), 4), "p99_ms": round(p99, 4),
        "cpu_p50_ms": round(pct(decision_cpu, 50), 4),
        "cpu_p99_ms": round(cpu_p99, 4),
        "max_ms": round(max(decision_lat) * 1000, 2), "over_1ms_cpu": slow,
        "naive_p99_ms": round(naive_p99, 3), "naive_ratio": round(p99 / naive_p99, 4),
        "naive_cpu_p99_ms": round(naive_cpu_p99, 3),
        "naive_cpu_ratio": round(cpu_p99 / naive_cpu_p99, 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrivals", type=int, default=150_000)
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(run(args.arrivals, args.agents, args.seed)))


if __name__ == "__main__":
    main()
