"""IVR metrics per flow and node, from recorded ``ivr.session_ended`` events (pure).

Each session's data is what :meth:`kefu.ivr.runner.IvrSession.summary` returns: ``path``
(``[node, seconds since start]`` in order), ``outcome`` (self_service, queued, callback,
voicemail, hangup, abandoned), ``reason``, ``zero_out_node`` and ``duration_s``.

Per node, over the sessions that *reached* it (passed it at least once):

- reach rate = sessions that reached the node / all sessions (callers sent straight to a human,
  e.g. the elderly, count in the denominator and reach no node);
- completion = of those, the share that ended in self-service (``outcome == self_service``);
- zero-out rate = the share that pressed 0 at this node;
- IVR abandonment = the share whose caller hung up while at this node (it was the last one);
- average hops = how many steps into the session the node was first reached (start = 1);
- average time to reach = seconds from the session's start to the first arrival;
- average time in node = seconds from arriving to leaving (or to the end), per visit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["FlowMetrics", "NodeMetrics", "flow_metrics"]


@dataclass(frozen=True)
class NodeMetrics:
    node: str
    reached: int
    reach_rate: float
    completed: int
    completion_rate: float
    zero_outs: int
    zero_out_rate: float
    abandoned: int
    abandon_rate: float
    avg_hops: float
    avg_time_to_reach_s: float
    avg_time_in_node_s: float
    visits: int


@dataclass(frozen=True)
class FlowMetrics:
    sessions: int
    outcomes: dict[str, int]
    self_service_rate: float
    zero_out_rate: float
    abandon_rate: float
    avg_duration_s: float
    avg_hops: float
    nodes: list[NodeMetrics]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 2) if values else 0.0


def _path(raw: Any) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    if not isinstance(raw, list):
        return out
    for step in raw:
        if isinstance(step, list | tuple) and len(step) >= 2:
            try:
                out.append((str(step[0]), float(step[1])))
            except (TypeError, ValueError):
                continue
    return out


def flow_metrics(sessions: Iterable[Mapping[str, Any]]) -> FlowMetrics:
    """Aggregate session summaries (see the module docstring for each formula)."""
    total = 0
    outcomes: dict[str, int] = defaultdict(int)
    durations: list[float] = []
    hops: list[float] = []
    zero_total = 0
    reached: dict[str, int] = defaultdict(int)
    completed: dict[str, int] = defaultdict(int)
    zero: dict[str, int] = defaultdict(int)
    abandoned: dict[str, int] = defaultdict(int)
    first_hop: dict[str, list[float]] = defaultdict(list)
    first_at: dict[str, list[float]] = defaultdict(list)
    dwell: dict[str, list[float]] = defaultdict(list)
    for data in sessions:
        total += 1
        outcome = str(data.get("outcome") or "unknown")
        outcomes[outcome] += 1
        path = _path(data.get("path"))
        try:
            duration = float(data.get("duration_s") or 0.0)
        except (TypeError, ValueError):
            duration = 0.0
        durations.append(duration)
        hops.append(float(len(path)))
        zero_node = data.get("zero_out_node")
        if zero_node:
            zero_total += 1
            zero[str(zero_node)] += 1
        seen: set[str] = set()
        for i, (node, at) in enumerate(path):
            leave = path[i + 1][1] if i + 1 < len(path) else max(duration, at)
            dwell[node].append(max(0.0, leave - at))
            if node in seen:
                continue
            seen.add(node)
            reached[node] += 1
            first_hop[node].append(float(i + 1))
            first_at[node].append(at)
            if outcome == "self_service":
                completed[node] += 1
        if outcome == "abandoned" and path:
            abandoned[path[-1][0]] += 1
    nodes = [
        NodeMetrics(
            node=node,
            reached=n,
            reach_rate=_rate(n, total),
            completed=completed[node],
            completion_rate=_rate(completed[node], n),
            zero_outs=zero[node],
            zero_out_rate=_rate(zero[node], n),
            abandoned=abandoned[node],
            abandon_rate=_rate(abandoned[node], n),
            avg_hops=_mean(first_hop[node]),
            avg_time_to_reach_s=_mean(first_at[node]),
            avg_time_in_node_s=_mean(dwell[node]),
            visits=len(dwell[node]),
        )
        for node, n in sorted(reached.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return FlowMetrics(
        sessions=total,
        outcomes=dict(sorted(outcomes.items())),
        self_service_rate=_rate(outcomes.get("self_service", 0), total),
        zero_out_rate=_rate(zero_total, total),
        abandon_rate=_rate(outcomes.get("abandoned", 0), total),
        avg_duration_s=_mean(durations),
        avg_hops=_mean(hops),
        nodes=nodes,
    )
