"""Digital-twin benchmark (run by hand): one day of a 1,000-agent, 200,000-call multi-skill center.

Ours: kefu.simulation drives the real routing engine (RoutingEngine on a SimClock) through a
day of 24 half-hour intervals: 20 voice queues on 10 skills (two queues per skill, one of them
with +10 priority and an overflow step that relaxes the skill level after 30 s), 1,000 agents
with 2-3 skills each on two overlapping shifts with a break, Poisson arrivals with a
two-peak day profile, exponential handle times (AHT 180 s), exponential patience (mean 240 s)
and 10% of the would-be abandoners asking for a callback.

SimPy: the equivalent single-queue model of the same system (M(t)/M/N+M: same arrival
profile, same handle and patience distributions, the same agents pooled in one resource), the
model the research notes timed at 3.2 s per 200k calls; simpy is a dev dependency.

Final line is JSON: ours_s, simpy_s, speedup (= simpy_s / ours_s, wall clock), the same in
process CPU time (ours_cpu_s, simpy_cpu_s, cpu_speedup: steadier on a shared machine) and the
two runs' KPIs; "engine" says whether the compiled engine and event loop
(scripts/build-native) or the Python sources ran (KEFU_NATIVE=off forces the sources).
Usage: .venv/bin/python bench/simulation.py [--calls 200000] [--agents 1000] [--seed 1]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import pstats
import random
import resource
import time
from typing import Any

import numpy as np
import simpy

from kefu.core.native_guard import STATE as ENGINE_BUILD
from kefu.routing import Media, OverflowAction, OverflowStep, QueueConfig
from kefu.simulation import (
    AgentGroup,
    Distribution,
    QueueDemand,
    Scenario,
    Shift,
    simulate,
)

INTERVAL_S = 1800
INTERVALS = 24  # 08:00-20:00
AHT_S = 180.0
PATIENCE_S = 240.0
SKILLS = tuple(f"s{i}" for i in range(10))


def day_profile() -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    k = np.arange(INTERVALS)
    shape = 1.0 + 0.5 * np.exp(-((k - 5) ** 2) / 8) + 0.4 * np.exp(-((k - 15) ** 2) / 10)
    return shape / shape.sum()


def scenario(calls: int, agents: int, seed: int) -> Scenario:
    rng = random.Random(seed)
    profile = day_profile()
    queues = []
    for i in range(20):
        skill = SKILLS[i % 10]
        vip = i >= 10
        config = QueueConfig(
            queue_id=f"q{i:02d}",
            tenant_id="t",
            skills={skill: 5 if vip else 3},
            media=(Media.VOICE, Media.CALLBACK),
            base_priority=10.0 if vip else 0.0,
            wrap_up_s=0,
            ring_timeout_s=20,
            overflow=(OverflowStep(after_s=30, action=OverflowAction.RELAX_LEVEL, relax_by=2),)
            if vip
            else (),
        )
        share = (0.3 if vip else 0.7) / 10
        queues.append(
            QueueDemand(
                config=config,
                volumes=tuple(float(v) for v in profile * calls * share),
                handle=Distribution.exponential(AHT_S),
                patience=Distribution.exponential(PATIENCE_S),
                callback_share=0.1,
            )
        )
    day = INTERVALS * INTERVAL_S
    groups = []
    for j in range(agents // 10):
        skills = {s: rng.randint(3, 9) for s in rng.sample(SKILLS, rng.choice((2, 3)))}
        early = j % 2 == 0
        shift = (
            Shift(0, day * 0.7, ((day * 0.35, 900.0),))
            if early
            else Shift(day * 0.3, day, ((day * 0.65, 900.0),))
        )
        full = Shift(0, day, ((day * (0.4 + 0.2 * (j % 3) / 2), 1800.0),))
        groups.append(
            AgentGroup(
                name=f"g{j:03d}",
                count=10,
                skills=skills,
                shifts=(shift,) if j % 3 == 0 else (full,),
            )
        )
    return Scenario(
        queues=tuple(queues),
        agents=tuple(groups),
        interval_s=INTERVAL_S,
        intervals=INTERVALS,
        name="bench",
        drain_s=1800,
    )


def staffed_curve(sc: Scenario) -> list[int]:
    """Agents logged in per interval (breaks subtracted pro rata), for the pooled SimPy model."""
    out = []
    for k in range(INTERVALS):
        lo, hi = k * INTERVAL_S, (k + 1) * INTERVAL_S
        total = 0.0
        for g in sc.agents:
            for s in g.shifts:
                on = max(0.0, min(hi, s.end_s) - max(lo, s.start_s))
                for b0, blen in s.breaks:
                    on -= max(0.0, min(hi, b0 + blen) - max(lo, b0))
                total += g.count * on / INTERVAL_S
        out.append(round(total))
    return out


def run_simpy(sc: Scenario, seed: int) -> dict[str, Any]:
    """M(t)/M/N(t)+M in SimPy: one pooled resource whose capacity follows the staffing."""
    rng = random.Random(seed)
    env = simpy.Environment()
    staffing = staffed_curve(sc)
    pool = simpy.Resource(env, capacity=max(staffing))
    volumes = np.sum([np.asarray(q.volumes) for q in sc.queues], axis=0)
    stats = {"offered": 0, "answered": 0, "in_sl": 0, "abandoned": 0}
    blockers: list[Any] = []

    def staffing_process() -> Any:
        for k in range(INTERVALS):
            want = max(staffing) - staffing[k]  # hold the unstaffed servers
            while len(blockers) < want:
                blockers.append(env.process(blocker()))
            while len(blockers) > want:
                blockers.pop().interrupt()
            yield env.timeout(INTERVAL_S)

    def blocker() -> Any:
        with pool.request() as req:
            yield req
            try:
                yield env.timeout(math.inf)
            except simpy.Interrupt:
                return

    def customer() -> Any:
        arrived = env.now
        stats["offered"] += 1
        with pool.request() as req:
            result = yield req | env.timeout(rng.expovariate(1 / PATIENCE_S))
            if req not in result:
                stats["abandoned"] += 1
                return
            wait = env.now - arrived
            stats["answered"] += 1
            stats["in_sl"] += wait <= 20.0
            yield env.timeout(rng.expovariate(1 / AHT_S))

    def arrivals() -> Any:
        for k in range(INTERVALS):
            rate = volumes[k] / INTERVAL_S
            end = (k + 1) * INTERVAL_S
            while True:
                gap = rng.expovariate(rate)
                if env.now + gap >= end:
                    yield env.timeout(end - env.now)
                    break
                yield env.timeout(gap)
                env.process(customer())

    env.process(staffing_process())
    env.process(arrivals())
    t0, c0 = time.perf_counter(), time.process_time()
    env.run(until=INTERVALS * INTERVAL_S + 1800)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    done = stats["answered"] + stats["abandoned"]
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "offered": stats["offered"],
        "sl_f3": stats["in_sl"] / done,
        "p_abandon": stats["abandoned"] / stats["offered"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="print where our time goes")
    args = parser.parse_args()
    sc = scenario(args.calls, args.agents, args.seed)

    profiler = cProfile.Profile() if args.profile else None
    t0, c0 = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    result = simulate(sc, replications=1, seed=args.seed)
    if profiler:
        profiler.disable()
    ours_s = time.perf_counter() - t0
    ours_cpu_s = time.process_time() - c0
    rep = result.replications[0]
    ours = {
        "offered": int(rep.offered.sum()),
        "sl_f3": round(result.estimate("sl_f3").mean, 4),
        "p_abandon": round(result.estimate("p_abandon").mean, 4),
        "occupancy": round(result.estimate("occupancy").mean, 4),
        "engine_calls": rep.engine_calls,
        "rejected_calls": rep.rejected_calls,
    }
    print(
        json.dumps({"ours": ours, "ours_s": round(ours_s, 2), "ours_cpu_s": round(ours_cpu_s, 2)})
    )
    if profiler:
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("tottime").print_stats(15)
        print(buf.getvalue())
    sp = run_simpy(sc, args.seed)
    print(json.dumps({"simpy": {k: round(v, 4) for k, v in sp.items()}}))
    print(
        json.dumps(
            {
                "calls": ours["offered"],
                "agents": args.agents,
                "queues": len(sc.queues),
                "ours_s": round(ours_s, 2),
                "simpy_s": round(sp["wall_s"], 2),
                "speedup": round(sp["wall_s"] / ours_s, 3),
                "ours_cpu_s": round(ours_cpu_s, 2),
                "simpy_cpu_s": round(sp["cpu_s"], 2),
                "cpu_speedup": round(sp["cpu_s"] / ours_cpu_s, 3),
                "ours_sl_f3": ours["sl_f3"],
                "simpy_sl_f3": round(sp["sl_f3"], 4),
                "ours_p_abandon": ours["p_abandon"],
                "simpy_p_abandon": round(sp["p_abandon"], 4),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "engine": ENGINE_BUILD,
            }
        )
    )


if __name__ == "__main__":
    main()
