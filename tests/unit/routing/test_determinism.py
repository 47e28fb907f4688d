"""Same commands at the same times give the same state and events, in any process.

String hashing is randomised per process (PYTHONHASHSEED), so any dependence on set order would
show up as two processes disagreeing; so would any use of wall-clock time or randomness.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

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
from tests.unit.routing.support import START

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
SKILLS = ("s0", "s1", "s2", "s3", "fr", "de")


def scripted_run(seed: int, steps: int = 400) -> str:
    """A seeded random workload; returns the JSON of every event and the final snapshot."""
    rng = random.Random(seed)
    clock = ManualClock(START)
    engine = RoutingEngine(clock)
    out: list[object] = []
    engine.add_skills(SKILLS)
    for i, strategy in enumerate(Strategy):
        engine.add_queue(QueueConfig(
            queue_id=f"q{i}", tenant_id="t", skills={SKILLS[i % 4]: 3}, strategy=strategy,
            sites=(("north", "south")[i % 2],), tiers={"a1": 1, "a7": 2},
            overflow=(OverflowStep(after_s=20, action=OverflowAction.RELAX_LEVEL),
                      OverflowStep(after_s=40, action=OverflowAction.OPEN_SITES)),
            max_wait_s=300,
        ))
    for j in range(24):
        skills = {s: rng.randint(1, 9) for s in rng.sample(SKILLS, 3)}
        capacity = rng.choice(({Media.VOICE: 1}, {Media.CHAT: 3, Media.EMAIL: 5}))
        engine.login(AgentProfile(agent_id=f"a{j}", site=rng.choice(("north", "south")),
                                  skills=skills, capacity=capacity))
        engine.set_state(f"a{j}", "ready")
    for n in range(steps):
        clock.advance(rng.choice((0, 1, 2, 5, 13)))
        snap = engine.snapshot()
        offered = sorted(c for c, v in snap["contacts"].items() if v["status"] == "offered")
        active = sorted(c for c, v in snap["contacts"].items() if v["status"] == "active")
        roll = rng.random()
        try:
            if roll < 0.4:
                extra = {rng.choice(("fr", "de")): 2} if rng.random() < 0.3 else {}
                out += engine.arrive(Contact(
                    contact_id=f"c{n}", tenant_id="t", queue_id=f"q{rng.randrange(6)}",
                    media=rng.choice((Media.VOICE, Media.CHAT, Media.EMAIL)), skills=extra,
                    priority=rng.choice((0, 0, 10)), preferred_agent=rng.choice((None, "a3"))))
            elif roll < 0.6 and offered:
                cid = rng.choice(offered)
                agent = snap["contacts"][cid]["agent_id"]
                out += (engine.decline if rng.random() < 0.2 else engine.accept)(agent, cid)
            elif roll < 0.75 and active:
                cid = rng.choice(active)
                out += engine.complete(snap["contacts"][cid]["agent_id"], cid)
            elif roll < 0.85:
                out += engine.finish_wrap_up(f"a{rng.randrange(24)}")
            elif roll < 0.9:
                out += engine.set_state(f"a{rng.randrange(24)}", rng.choice(("ready", "not_ready")))
            elif roll < 0.95 and snap["contacts"]:
                out += engine.abandon(rng.choice(sorted(snap["contacts"])))
            else:
                site = rng.choice(("north", "south"))
                out += engine.site_up(site) if rng.random() < 0.5 else engine.site_down(site)
        except RoutingError as exc:
            out.append(exc.code)
    out += engine.tick()
    data = [e if isinstance(e, str) else e.as_dict() for e in out]  # type: ignore[attr-defined]
    return json.dumps({"events": data, "snapshot": engine.snapshot()}, sort_keys=True)


def _in_subprocess(hash_seed: str) -> str:
    code = "from tests.unit.routing.test_determinism import scripted_run; print(scripted_run(5))"
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=True, timeout=120)
    return done.stdout.strip()


def test_two_processes_with_different_hash_seeds_agree() -> None:
    here = scripted_run(5)
    assert json.loads(here)["snapshot"]["closed"], "the workload should close some contacts"
    assert _in_subprocess("1") == here
    assert _in_subprocess("12345") == here
