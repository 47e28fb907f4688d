"""Anonymous Bank 1999 call log (../shared/data/wfm, evaluation only) as a digital-twin replay.

One scenario per day: every call that asked for an agent arrives when it left the VRU, with its
recorded handle time; abandoned calls bring their recorded patience (their wait), answered ones
waited at least their wait, so their patience is that wait plus an exponential residual (mean =
the day's total queue time / abandons, the exponential MLE). Staffing is the agents' actual
presence: every agent is logged in from the start of a block of calls to its end (calls less
than ``gap_s`` apart form one block). High-priority customers (priority 2) get +20 points.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from kefu.routing import QueueConfig
from kefu.simulation import AgentGroup, QueueDemand, RecordedArrival, Scenario, Shift

DATA = (
    Path(__file__).resolve().parents[3].parent / "shared" / "data" / "wfm" / "anonymous_bank_1999"
)
RAW = {"01": "january_1999.txt", "10": "october_1999.txt"}


@dataclass
class Call:
    queue_s: float
    wait_s: float
    answered: bool
    handle_s: float
    start_s: float
    end_s: float
    server: str
    priority: int


def _secs(clock: str) -> float:
    h, m, s = clock.split(":")
    return int(h) * 3600 + int(m) * 60 + int(s)


def load_day(day: str) -> list[Call]:
    """Calls of one day (YYMMDD) that asked for an agent."""
    path = DATA / "raw" / RAW[day[2:4]]
    if not path.exists():
        raise FileNotFoundError(f"Anonymous Bank log missing: {path} (../shared/data/wfm)")
    calls = []
    with path.open(encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            f = line.rstrip("\n").split("\t")
            if len(f) < 17 or f[5].strip() != day:
                continue
            outcome, q_time = f[12].strip(), int(f[11])
            answered = outcome == "AGENT"
            if not (answered or (outcome == "HANG" and q_time > 0)):
                continue
            start = _secs(f[13]) if answered else 0.0
            handle = float(f[15]) if answered else 0.0
            calls.append(
                Call(
                    _secs(f[7]),
                    float(q_time),
                    answered,
                    handle,
                    start,
                    start + handle,
                    f[16].strip(),
                    int(f[3] or 0),
                )
            )
    return calls


def observed_sl(
    calls: list[Call], interval_s: int, threshold_s: float = 20.0
) -> list[tuple[int, float]]:
    """(offered, F3 service level) per interval, by queue entry time."""
    n = 86400 // interval_s
    offered, within = [0] * n, [0] * n
    for c in calls:
        k = min(int(c.queue_s // interval_s), n - 1)
        offered[k] += 1
        within[k] += c.answered and c.wait_s <= threshold_s
    return [(o, w / o if o else math.nan) for o, w in zip(offered, within, strict=True)]


def day_scenario(
    day: str, calls: list[Call], *, interval_s: int = 1800, gap_s: float = 1800, seed: int = 0
) -> Scenario:
    rng = np.random.default_rng(seed)
    abandons = sum(not c.answered for c in calls)
    theta = sum(c.wait_s for c in calls) / max(abandons, 1)
    replay = tuple(
        RecordedArrival(
            at_s=c.queue_s,
            queue_id="bank",
            handle_s=max(c.handle_s, 1.0),
            patience_s=(c.wait_s + float(rng.exponential(theta))) if c.answered else c.wait_s,
            priority=20.0 if c.priority == 2 else 0.0,
        )
        for c in calls
    )
    blocks: dict[str, list[list[float]]] = defaultdict(list)
    for c in sorted((c for c in calls if c.answered), key=lambda c: c.start_s):
        spans = blocks[c.server]
        if spans and c.start_s - spans[-1][1] <= gap_s:
            spans[-1][1] = max(spans[-1][1], c.end_s)
        else:
            spans.append([c.start_s, c.end_s])
    groups = tuple(
        AgentGroup(name=name, count=1, shifts=tuple(Shift(s, max(e, s + 1)) for s, e in spans))
        for name, spans in sorted(blocks.items())
    )
    config = QueueConfig(
        queue_id="bank",
        tenant_id="bank",
        media=("voice",),
        wrap_up_s=0,
        aging_per_min=0.0,
        sla_steps=(),
    )
    return Scenario(
        queues=(QueueDemand(config=config),),
        agents=groups,
        start=datetime(1999, int(day[2:4]), int(day[4:6]), tzinfo=UTC),
        interval_s=interval_s,
        intervals=86400 // interval_s,
        name=f"bank-{day}",
        replay=replay,
    )
