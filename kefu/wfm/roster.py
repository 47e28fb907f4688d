"""Rostering: named agents onto the schedule's weekly lines (pure: numpy + scipy).

A *line* is one agent's week from the schedule (its shifts, one per working day, same start).
Each agent takes at most one line, each line at most one agent: an assignment problem solved
exactly (``scipy.optimize.linear_sum_assignment``) on a cost matrix where forbidden pairs are
left out:

- **hard** — the agent has the line's skill; the line's paid hours fit the agent's contract
  (``min_hours ≤ hours ≤ max_hours``); no shift on a day the agent is on approved leave; at least
  ``min_rest_h`` (11 h) between the agent's last shift of the previous week and the line's first
  shift, and between shifts inside the week; no more than ``max_consecutive_days`` working days
  in a row, counting the days worked at the end of the previous week;
- **soft** — preferences (no nights, a start window, preferred days off) cost a penalty when not
  met; night and weekend shifts rotate fairly: a night or weekend shift costs more for an agent who
  already worked many of them (``past_nights``, ``past_weekends`` from earlier rosters).

Lines left without an agent are *open*; the result says why each could not be filled.
Swaps (:func:`check_swap`) are checked against the same hard rules.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = [
    "AgentProfile",
    "Line",
    "LineShift",
    "Roster",
    "assign_roster",
    "check_swap",
    "line_problems",
]

FORBIDDEN = 1e9


@dataclass(frozen=True)
class LineShift:
    """One shift of a line: day of the week (0 = Monday), start and end in minutes after that
    day's midnight (the end may pass 1440), paid minutes, night and breaks."""

    day: int
    start_min: int
    end_min: int
    paid_min: int
    night: bool = False
    breaks: tuple[tuple[int, int, bool], ...] = ()

    @property
    def weekend(self) -> bool:
        return self.day >= 5


@dataclass(frozen=True)
class Line:
    id: str
    shifts: tuple[LineShift, ...]
    skill: str | None = None
    team: str | None = None

    @property
    def paid_hours(self) -> float:
        return sum(s.paid_min for s in self.shifts) / 60.0

    @property
    def nights(self) -> int:
        return sum(1 for s in self.shifts if s.night)

    @property
    def weekends(self) -> int:
        return sum(1 for s in self.shifts if s.weekend)


@dataclass(frozen=True)
class AgentProfile:
    id: str
    skills: frozenset[str] = frozenset()
    team: str | None = None
    min_hours: float = 0.0
    max_hours: float = 40.0
    max_consecutive_days: int = 6
    leave_days: frozenset[int] = frozenset()  # weekdays of this week on approved leave
    last_shift_end_min: int | None = None  # end of the previous week's last shift, minutes
    # relative to this week's Monday 00:00 (e.g. -120 = Sunday 22:00)
    days_worked_before: int = 0  # consecutive days worked up to the end of the previous week
    avoid_nights: bool = False
    start_window: tuple[int, int] | None = None  # preferred start, minutes after midnight
    preferred_days_off: frozenset[int] = frozenset()
    past_nights: int = 0
    past_weekends: int = 0


@dataclass
class Roster:
    assignments: dict[str, str]  # line id -> agent id
    open_lines: dict[str, list[str]]  # line id -> why nobody could take it
    idle_agents: list[str]
    cost: float
    nights: dict[str, int] = field(default_factory=dict)  # agent -> nights this week
    weekends: dict[str, int] = field(default_factory=dict)


def _runs(worked: Sequence[bool], before: int) -> int:
    """Longest run of consecutive working days, the first run extended by ``before``."""
    longest = run = 0
    for d, on in enumerate(worked):
        if on:
            run = run + 1 if run or d else before + 1
            longest = max(longest, run)
        else:
            run = 0
    return longest


def line_problems(agent: AgentProfile, line: Line, min_rest_h: float = 11.0) -> list[str]:
    """The hard rules ``agent`` would break on ``line`` (empty when allowed)."""
    out: list[str] = []
    if line.skill is not None and line.skill not in agent.skills:
        out.append(f"lacks skill {line.skill}")
    hours = line.paid_hours
    if hours > agent.max_hours + 1e-9:
        out.append(f"{hours:g} h exceeds the contract's {agent.max_hours:g} h")
    if hours < agent.min_hours - 1e-9:
        out.append(f"{hours:g} h is below the contract's {agent.min_hours:g} h")
    leave = sorted(s.day for s in line.shifts if s.day in agent.leave_days)
    if leave:
        out.append("on leave that day" if len(leave) == 1 else "on leave those days")
    shifts = sorted(line.shifts, key=lambda s: s.day * 1440 + s.start_min)
    rest = min_rest_h * 60
    if shifts and agent.last_shift_end_min is not None:
        first = shifts[0].day * 1440 + shifts[0].start_min
        if first - agent.last_shift_end_min < rest:
            out.append(f"less than {min_rest_h:g} h rest after last week's final shift")
    for a, b in itertools.pairwise(shifts):
        if (b.day * 1440 + b.start_min) - (a.day * 1440 + a.end_min) < rest:
            out.append(f"less than {min_rest_h:g} h rest between shifts")
            break
    worked = [any(s.day == d for s in line.shifts) for d in range(7)]
    if _runs(worked, agent.days_worked_before) > agent.max_consecutive_days:
        out.append(f"more than {agent.max_consecutive_days} consecutive working days")
    return out


def _soft_cost(agent: AgentProfile, line: Line, mean_nights: float, mean_weekends: float) -> float:
    cost = 0.0
    if agent.avoid_nights:
        cost += 50.0 * line.nights
    if agent.start_window is not None:
        lo, hi = agent.start_window
        cost += 10.0 * sum(1 for s in line.shifts if not lo <= s.start_min <= hi)
    if agent.preferred_days_off:
        cost += 8.0 * sum(1 for s in line.shifts if s.day in agent.preferred_days_off)
    # fair rotation: burden shifts cost more for agents who already had more of them
    cost += 4.0 * line.nights * (1.0 + max(0.0, agent.past_nights - mean_nights))
    cost += 3.0 * line.weekends * (1.0 + max(0.0, agent.past_weekends - mean_weekends))
    cost -= 1.0 * line.paid_hours / max(agent.max_hours, 1.0)  # fill contracts first
    return cost


def assign_roster(
    lines: Sequence[Line], agents: Sequence[AgentProfile], min_rest_h: float = 11.0
) -> Roster:
    """Assign agents to lines, at most one each, minimising the soft costs; fill as many lines
    as the hard rules allow."""
    if not lines or not agents:
        return Roster(
            {},
            {line.id: ["no agents"] for line in lines},
            [a.id for a in agents],
            0.0,
        )
    mean_nights = float(np.mean([a.past_nights for a in agents]))
    mean_weekends = float(np.mean([a.past_weekends for a in agents]))
    n_lines, n_agents = len(lines), len(agents)
    # Filling a line is worth more than any soft cost: every allowed pair gets a large bonus.
    bonus = 10_000.0
    cost = np.full((n_lines, n_agents), FORBIDDEN)
    reasons: dict[str, dict[str, int]] = {line.id: {} for line in lines}
    eligible: dict[str, int] = {line.id: 0 for line in lines}
    for i, line in enumerate(lines):
        for j, agent in enumerate(agents):
            problems = line_problems(agent, line, min_rest_h)
            eligible[line.id] += not problems
            if problems:
                for p in problems:
                    reasons[line.id][p] = reasons[line.id].get(p, 0) + 1
                continue
            cost[i, j] = _soft_cost(agent, line, mean_nights, mean_weekends) - bonus
    rows, cols = linear_sum_assignment(cost)
    assignments: dict[str, str] = {}
    total = 0.0
    for i, j in zip(rows, cols, strict=True):
        if cost[i, j] < FORBIDDEN / 2:
            assignments[lines[int(i)].id] = agents[int(j)].id
            total += float(cost[i, j]) + bonus
    taken = set(assignments.values())
    open_lines: dict[str, list[str]] = {}
    for line in lines:
        if line.id in assignments:
            continue
        why = sorted(reasons[line.id].items(), key=lambda kv: -kv[1])
        if eligible[line.id] > 0:
            text = ["every eligible agent already has a line"]
        else:
            text = [f"{n} agent(s): {p}" for p, n in why]
        open_lines[line.id] = text
    by_line = {line.id: line for line in lines}
    nights = {a.id: 0 for a in agents}
    weekends = {a.id: 0 for a in agents}
    for line_id, agent_id in assignments.items():
        nights[agent_id] += by_line[line_id].nights
        weekends[agent_id] += by_line[line_id].weekends
    return Roster(
        assignments,
        open_lines,
        [a.id for a in agents if a.id not in taken],
        total,
        nights,
        weekends,
    )


def check_swap(
    agent_a: AgentProfile,
    line_a: Line,
    agent_b: AgentProfile,
    line_b: Line,
    day: int,
    min_rest_h: float = 11.0,
) -> list[str]:
    """Problems if agents A and B exchange their shifts on weekday ``day`` (empty: allowed).

    A's line afterwards holds B's shift that day and vice versa; skills are those of the line the
    shift belongs to.
    """

    def swapped(own: Line, other: Line) -> Line:
        keep = tuple(s for s in own.shifts if s.day != day)
        take = tuple(s for s in other.shifts if s.day == day)
        return Line(own.id, keep + take, None, own.team)

    def skills(agent: AgentProfile, own: Line, other: Line) -> list[str]:
        takes = any(s.day == day for s in other.shifts)
        need = {own.skill} | ({other.skill} if takes else set())
        return [f"lacks skill {k}" for k in sorted(x for x in need if x) if k not in agent.skills]

    if not any(s.day == day for s in line_a.shifts + line_b.shifts):
        return ["neither agent works that day"]
    out: list[str] = []
    for agent, own, other in ((agent_a, line_a, line_b), (agent_b, line_b, line_a)):
        problems = skills(agent, own, other) + line_problems(agent, swapped(own, other), min_rest_h)
        out += [f"{agent.id}: {p}" for p in problems]
    return out
