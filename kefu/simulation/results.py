"""Replications, per-interval KPIs with confidence intervals, and what-if comparisons.

Service level is reported with its formula named (standards §1.2):

- ``sl_f3`` = answered within T / (answered + abandoned + expired) — F3, the Chinese
  N秒接通率: every abandon (and queue timeout) is a failure, the default;
- ``sl_offered`` = answered within T / offered (contacts still open at the end count as failures).

``asa_s`` is the mean wait of answered contacts; ``p_wait`` the share of contacts that did not
reach an agent at once; ``p_abandon`` = abandoned / offered; ``occupancy`` = agent time busy
(reserved, talking or in wrap-up) / staffed time (ready or busy), for the whole center.
Confidence intervals are Student-t intervals over the replications' values (95% by default).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from scipy import stats

from kefu.simulation.scenario import Scenario
from kefu.simulation.simulator import Replication, run_replication

__all__ = ["METRICS", "Estimate", "SimulationResult", "compare", "simulate"]

METRICS = (
    "offered",
    "answered",
    "abandoned",
    "expired",
    "sl_f3",
    "sl_offered",
    "asa_s",
    "p_wait",
    "p_abandon",
    "occupancy",
)


@dataclass(frozen=True)
class Estimate:
    """Mean over replications with a t confidence interval (half-width ``ci``; nan with one
    replication or no data)."""

    mean: float
    ci: float
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.ci

    @property
    def high(self) -> float:
        return self.mean + self.ci

    def covers(self, value: float) -> bool:
        return self.low <= value <= self.high


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    data = np.asarray([v for v in values if not math.isnan(v)], dtype=np.float64)
    if len(data) == 0:
        return Estimate(math.nan, math.nan, 0)
    mean = float(data.mean())
    if len(data) < 2:
        return Estimate(mean, math.nan, 1)
    sem = float(data.std(ddof=1)) / math.sqrt(len(data))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(data) - 1)) * sem
    return Estimate(mean, half, len(data))


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def _metrics(rep: Replication, queues: Any, intervals: Any) -> dict[str, float]:
    """KPIs of one replication over a selection of queues (row index/slice) and intervals."""
    offered = float(rep.offered[queues, intervals].sum())
    answered = float(rep.answered[queues, intervals].sum())
    abandoned = float(rep.abandoned[queues, intervals].sum())
    expired = float(rep.expired[queues, intervals].sum())
    in_sl = float(rep.answered_in_sl[queues, intervals].sum())
    return {
        "offered": offered,
        "answered": answered,
        "abandoned": abandoned,
        "expired": expired,
        "sl_f3": _ratio(in_sl, answered + abandoned + expired),
        "sl_offered": _ratio(in_sl, offered),
        "asa_s": _ratio(float(rep.wait_answered_s[queues, intervals].sum()), answered),
        "p_wait": _ratio(float(rep.waited[queues, intervals].sum()), offered),
        "p_abandon": _ratio(abandoned, offered),
        "occupancy": _ratio(
            float(rep.occupied_s[intervals].sum()), float(rep.staffed_s[intervals].sum())
        ),
    }


@dataclass
class SimulationResult:
    scenario: Scenario
    replications: list[Replication]
    confidence: float = 0.95

    def queue_index(self, queue_id: str | None) -> Any:
        if queue_id is None:
            return slice(None)
        for i, q in enumerate(self.scenario.queues):
            if q.config.queue_id == queue_id:
                return i
        raise KeyError(queue_id)

    def estimate(
        self, metric: str, *, queue_id: str | None = None, intervals: slice | int | None = None
    ) -> Estimate:
        """One KPI (see METRICS) over a queue (None: all) and intervals (None: all)."""
        q = self.queue_index(queue_id)
        k: Any = slice(None) if intervals is None else intervals
        return t_interval([_metrics(r, q, k)[metric] for r in self.replications], self.confidence)

    def rows(self) -> list[dict[str, Any]]:
        """One row per interval and queue (queue "*" = all queues): mean and CI half-width of
        every metric."""
        out: list[dict[str, Any]] = []
        ids: list[str | None] = [q.config.queue_id for q in self.scenario.queues]
        if len(ids) > 1:
            ids.append(None)
        for k in range(self.scenario.intervals):
            start = self.scenario.start + timedelta(seconds=k * self.scenario.interval_s)
            for qid in ids:
                q = self.queue_index(qid)
                values = [_metrics(r, q, k) for r in self.replications]
                row: dict[str, Any] = {"interval_start": start.isoformat(), "queue": qid or "*"}
                for metric in METRICS:
                    est = t_interval([v[metric] for v in values], self.confidence)
                    row[metric] = est.mean
                    row[f"{metric}_ci"] = est.ci
                out.append(row)
        return out

    def summary(self) -> dict[str, Any]:
        """Whole-horizon KPIs per queue and for the center."""
        out: dict[str, Any] = {
            "scenario": self.scenario.name,
            "replications": len(self.replications),
        }
        ids: list[str | None] = [q.config.queue_id for q in self.scenario.queues]
        for qid in [*ids, None]:
            out[qid or "*"] = {
                m: (e.mean, e.ci) for m in METRICS for e in [self.estimate(m, queue_id=qid)]
            }
        return out

    def to_csv(self) -> str:
        rows = self.rows()
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["interval_start"])
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
            )
        return buf.getvalue()


def simulate(
    scenario: Scenario,
    *,
    replications: int = 10,
    seed: int = 1,
    confidence: float = 0.95,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Run independent replications (seeded: the same seed gives the same numbers)."""
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ValueError("replications: must be an integer >= 1")
    seeds = np.random.SeedSequence(seed).spawn(replications)
    reps = []
    for i, child in enumerate(seeds):
        reps.append(run_replication(scenario, child))
        if progress is not None:
            progress(i + 1)
    return SimulationResult(scenario, reps, confidence)


def compare(
    base: SimulationResult,
    other: SimulationResult,
    metric: str = "sl_f3",
    queue_id: str | None = None,
) -> list[dict[str, Any]]:
    """What-if: per interval, ``metric`` in both runs and the difference with a t interval over
    paired replications (run both with the same seed: common random numbers)."""
    out = []
    q_base, q_other = base.queue_index(queue_id), other.queue_index(queue_id)
    for k in range(base.scenario.intervals):
        a = [_metrics(r, q_base, k)[metric] for r in base.replications]
        b = [_metrics(r, q_other, k)[metric] for r in other.replications]
        diff = t_interval([y - x for x, y in zip(a, b, strict=False)], base.confidence)
        out.append(
            {
                "interval": k,
                "base": t_interval(a).mean,
                "what_if": t_interval(b).mean,
                "diff": diff.mean,
                "diff_ci": diff.ci,
            }
        )
    return out
