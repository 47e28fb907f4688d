"""Schedule adherence and conformance (pure: stdlib only).

Definitions (shared/standards.md 1.8):

- **Adherence** = time in adherence / scheduled time. An agent is *in adherence* while in a
  productive state (ready, reserved, busy, wrap-up) during a productive activity (``work``), or in
  the matching not-ready reason (``break``, ``lunch``, ``meeting``, ``training`` …) during that
  non-productive activity. Scheduled time is the whole shift, breaks included.
- **Conformance** = time actually worked / time scheduled to work: productive time logged in
  anywhere in the window (also outside the shift) over the scheduled ``work`` time.

Input: scheduled activities and actual states as lists of intervals per agent; the routing
runtime's ``agent_state_changed`` events become intervals with :func:`spans_from_changes`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = [
    "PRODUCTIVE_STATES",
    "Activity",
    "AdherenceRow",
    "Exception_",
    "StateSpan",
    "adherence",
    "exceptions",
    "is_adherent",
    "spans_from_changes",
]

PRODUCTIVE_STATES = frozenset({"ready", "reserved", "busy", "wrap_up"})
WORK = "work"


@dataclass(frozen=True)
class Activity:
    """A scheduled activity: ``work`` (on the phones / channels), or ``break``, ``lunch``,
    ``meeting``, ``training`` ..."""

    agent_id: str
    activity: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class StateSpan:
    """An actual agent state over an interval: ``ready``, ``reserved``, ``busy``, ``wrap_up``,
    ``not_ready`` (with its ``reason`` code, e.g. ``break``) or ``offline``."""

    agent_id: str
    state: str
    start: datetime
    end: datetime
    reason: str = ""


@dataclass
class AdherenceRow:
    key: str  # agent id or team
    scheduled_s: float = 0.0
    in_adherence_s: float = 0.0
    scheduled_work_s: float = 0.0
    worked_s: float = 0.0
    out_of_adherence_s: dict[str, float] = field(default_factory=dict)  # "scheduled→actual"

    @property
    def adherence(self) -> float | None:
        return self.in_adherence_s / self.scheduled_s if self.scheduled_s > 0 else None

    @property
    def conformance(self) -> float | None:
        return self.worked_s / self.scheduled_work_s if self.scheduled_work_s > 0 else None

    def add(self, other: AdherenceRow) -> None:
        self.scheduled_s += other.scheduled_s
        self.in_adherence_s += other.in_adherence_s
        self.scheduled_work_s += other.scheduled_work_s
        self.worked_s += other.worked_s
        for k, v in other.out_of_adherence_s.items():
            self.out_of_adherence_s[k] = self.out_of_adherence_s.get(k, 0.0) + v


@dataclass(frozen=True)
class Exception_:
    """An out-of-adherence stretch: what was scheduled and what the agent did instead."""

    agent_id: str
    scheduled: str
    actual: str
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def _actual_label(span: StateSpan | None) -> str:
    if span is None:
        return "offline"
    if span.state == "not_ready":
        return span.reason or "not_ready"
    return span.state


def is_adherent(activity: str, state: str, reason: str = "") -> bool:
    """True when an agent in ``state`` (with not-ready ``reason``) follows ``activity``."""
    if activity == WORK:
        return state in PRODUCTIVE_STATES
    return state == "not_ready" and reason == activity


def _matches(activity: str, span: StateSpan | None) -> bool:
    if span is None:
        return False
    if activity == WORK:
        return span.state in PRODUCTIVE_STATES
    return span.state == "not_ready" and span.reason == activity


def spans_from_changes(
    changes: Iterable[tuple[str, datetime, str, str]], until: datetime
) -> list[StateSpan]:
    """``(agent_id, at, state, reason)`` state changes → spans; each state lasts until the
    agent's next change or ``until``."""
    by_agent: dict[str, list[tuple[datetime, str, str]]] = {}
    for agent_id, at, state, reason in changes:
        by_agent.setdefault(agent_id, []).append((at, state, reason))
    out: list[StateSpan] = []
    for agent_id, rows in by_agent.items():
        rows.sort(key=lambda r: r[0])
        for (at, state, reason), nxt in zip(rows, [*rows[1:], None], strict=True):
            end = nxt[0] if nxt is not None else until
            if end > at:
                out.append(StateSpan(agent_id, state, at, min(end, until), reason))
    return out


def _segments(
    agent_schedule: Sequence[Activity],
    agent_states: Sequence[StateSpan],
    start: datetime,
    end: datetime,
) -> Iterable[tuple[datetime, datetime, Activity | None, StateSpan | None]]:
    cuts = {start, end}
    for a in agent_schedule:
        cuts.update(t for t in (a.start, a.end) if start < t < end)
    for s in agent_states:
        cuts.update(t for t in (s.start, s.end) if start < t < end)
    points = sorted(cuts)
    for lo, hi in itertools.pairwise(points):
        act = next((a for a in agent_schedule if a.start <= lo and hi <= a.end), None)
        state = next((s for s in agent_states if s.start <= lo and hi <= s.end), None)
        yield lo, hi, act, state


def adherence(
    schedule: Sequence[Activity],
    states: Sequence[StateSpan],
    start: datetime,
    end: datetime,
    teams: Mapping[str, str] | None = None,
) -> tuple[dict[str, AdherenceRow], dict[str, AdherenceRow]]:
    """Adherence and conformance per agent and per team over ``[start, end)``.

    Returns ``(agents, teams)``; ``teams`` maps agent id → team name (agents without one are
    left out of the team rows). Overlapping activities of one agent: the earliest listed wins.
    """
    agents: dict[str, AdherenceRow] = {}
    ids = sorted({a.agent_id for a in schedule} | {s.agent_id for s in states})
    for agent_id in ids:
        mine = [a for a in schedule if a.agent_id == agent_id]
        actual = [s for s in states if s.agent_id == agent_id]
        row = AdherenceRow(agent_id)
        for lo, hi, act, state in _segments(mine, actual, start, end):
            seconds = (hi - lo).total_seconds()
            if state is not None and state.state in PRODUCTIVE_STATES:
                row.worked_s += seconds
            if act is None:
                continue
            row.scheduled_s += seconds
            if act.activity == WORK:
                row.scheduled_work_s += seconds
            if _matches(act.activity, state):
                row.in_adherence_s += seconds
            else:
                key = f"{act.activity}→{_actual_label(state)}"
                row.out_of_adherence_s[key] = row.out_of_adherence_s.get(key, 0.0) + seconds
        agents[agent_id] = row
    team_rows: dict[str, AdherenceRow] = {}
    for agent_id, row in agents.items():
        team = (teams or {}).get(agent_id)
        if team is None:
            continue
        team_rows.setdefault(team, AdherenceRow(team)).add(row)
    return agents, team_rows


def exceptions(
    schedule: Sequence[Activity],
    states: Sequence[StateSpan],
    start: datetime,
    end: datetime,
    grace: timedelta = timedelta(minutes=2),
) -> list[Exception_]:
    """Out-of-adherence stretches of at least ``grace`` (merged across state changes that keep
    the same scheduled/actual pair), newest last — the supervisor's live exception list."""
    out: list[Exception_] = []
    ids = sorted({a.agent_id for a in schedule})
    for agent_id in ids:
        mine = [a for a in schedule if a.agent_id == agent_id]
        actual = [s for s in states if s.agent_id == agent_id]
        current: Exception_ | None = None
        for lo, hi, act, state in _segments(mine, actual, start, end):
            bad = act is not None and not _matches(act.activity, state)
            label = _actual_label(state)
            if bad and act is not None:
                if (
                    current is not None
                    and current.end == lo
                    and current.scheduled == act.activity
                    and current.actual == label
                ):
                    current = Exception_(agent_id, act.activity, label, current.start, hi)
                else:
                    if current is not None and current.end - current.start >= grace:
                        out.append(current)
                    current = Exception_(agent_id, act.activity, label, lo, hi)
            elif current is not None:
                if current.end - current.start >= grace:
                    out.append(current)
                current = None
        if current is not None and current.end - current.start >= grace:
            out.append(current)
    out.sort(key=lambda e: (e.start, e.agent_id))
    return out
