"""Routing policies: overflow stages, eligibility, agent order per strategy, priority and waits."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from kefu.routing.model import (
    EXCLUSIVE_MEDIA,
    Media,
    OverflowAction,
    QueueConfig,
    SlaStep,
    Strategy,
)

__all__ = [
    "Requirement",
    "Stage",
    "StagePlan",
    "capacity_units",
    "effective_priority",
    "eligibility",
    "expected_wait_s",
    "extra_stage",
    "meets",
    "plan_stages",
    "queue_skill_level",
    "rank",
    "sla_boost",
    "strategy_key",
    "update_aht",
]

Requirement = tuple[tuple[str, int], ...]
"""Skills an agent must all have, each at least at its level: ((skill, level), ...), sorted."""


@dataclass(frozen=True, slots=True)
class Stage:
    """Who may take a contact at one overflow stage: any alternative, at one of ``sites``."""

    alternatives: tuple[Requirement, ...]
    sites: frozenset[str] | None  # None: every site


@dataclass(frozen=True, slots=True)
class StagePlan:
    """Stages of a (queue, contact skills) pair. ``step_stage[i]``: stage after overflow step i,
    or -1 when step i moves the contact to another queue (later steps never fire)."""

    stages: tuple[Stage, ...]
    step_stage: tuple[int, ...]
    relax: tuple[int, ...] = ()  # levels relaxed in total by each stage


def _merge(base: Mapping[str, int], extra: Mapping[str, int]) -> dict[str, int]:
    merged = dict(base)
    for skill, level in extra.items():
        merged[skill] = max(level, merged.get(skill, 0))
    return merged


def _req(skills: Mapping[str, int]) -> Requirement:
    return tuple(sorted(skills.items()))


def plan_stages(queue: QueueConfig, extra: Requirement) -> StagePlan:
    """Stage 0 = queue skills + the contact's own skills at the home sites; each overflow step
    relaxes levels (never below 1), adds an alternative skill set, or opens more sites."""
    extra_map = dict(extra)
    alternatives: list[dict[str, int]] = [_merge(queue.skills, extra_map)]
    relaxed = 0
    sites: frozenset[str] | None = frozenset(queue.sites) if queue.sites else None
    stages = [Stage(tuple(_req(a) for a in alternatives), sites)]
    relax = [0]
    step_stage: list[int] = []
    moved = False
    for step in queue.overflow:
        if moved:
            step_stage.append(-1)
            continue
        if step.action is OverflowAction.MOVE_QUEUE:
            moved = True
            step_stage.append(-1)
            continue
        if step.action is OverflowAction.RELAX_LEVEL:
            relaxed += step.relax_by
            by = step.relax_by
            alternatives = [{s: max(1, lv - by) for s, lv in a.items()} for a in alternatives]
        elif step.action is OverflowAction.ADD_SKILLS:
            extra_relaxed = {s: max(1, lv - relaxed) for s, lv in extra_map.items()}
            alternatives.append(_merge(step.skills, extra_relaxed))
        elif step.action is OverflowAction.OPEN_SITES:
            sites = None if not step.sites or sites is None else sites | frozenset(step.sites)
        unique: list[Requirement] = []
        for alt in alternatives:
            req = _req(alt)
            if req not in unique:
                unique.append(req)
        stages.append(Stage(tuple(unique), sites))
        relax.append(relaxed)
        step_stage.append(len(stages) - 1)
    return StagePlan(tuple(stages), tuple(step_stage), tuple(relax))


def extra_stage(plan: StagePlan, extra: Requirement, skills: Mapping[str, int]) -> int | None:
    """First stage at which ``skills`` meet a contact's own skills (relaxed like the queue's).

    Every alternative of a (queue + extra) plan is the queue's alternative plus the extra skills
    relaxed by the same amount, so an agent's first stage there is the larger of its first stage
    for the queue alone and this one."""
    for index, relaxed in enumerate(plan.relax):
        for skill, level in extra:
            if skills.get(skill, 0) < max(1, level - relaxed):
                break
        else:
            return index
    return None


def meets(skills: Mapping[str, int], requirement: Requirement) -> bool:
    return all(skills.get(skill, 0) >= level for skill, level in requirement)


def eligibility(
    plan: StagePlan, skills: Mapping[str, int], site: str
) -> tuple[int, int | None] | None:
    """(first stage the agent's skills qualify, first stage its site is open) or None.

    The site stage is None when the agent's site never opens; it is ignored while every home
    site of the queue is down (the engine then re-routes anywhere)."""
    k_skill: int | None = None
    for index, stage in enumerate(plan.stages):
        for alt in stage.alternatives:
            for skill, level in alt:
                if skills.get(skill, 0) < level:
                    break
            else:
                k_skill = index
                break
        if k_skill is not None:
            break
    if k_skill is None:
        return None
    k_site: int | None = None
    for index, stage in enumerate(plan.stages):
        if stage.sites is None or site in stage.sites:
            k_site = index
            break
    return k_skill, k_site


def queue_skill_level(queue_skills: Mapping[str, int], agent_skills: Mapping[str, int]) -> int:
    """An agent's level for a queue: its lowest level over the queue's skills (0 if none)."""
    if not queue_skills:
        return 0
    return min(agent_skills.get(s, 0) for s in queue_skills)


def strategy_key(
    queue: QueueConfig,
    *,
    agent_id: str,
    skills: Mapping[str, int],
    last_activity_s: float,
    occupied_s: float,
    rr_seq: int,
) -> tuple[float, ...]:
    """Time-invariant sort key of an available agent for a queue: smallest is offered first.

    Keys never contain "now": comparing ``now - last_activity`` between agents is the same as
    comparing ``-last_activity``, so an agent's key only changes when the agent itself changes
    (which re-indexes it). Ties are broken by the engine with the agent's registration order.
    """
    strategy = queue.strategy
    if strategy is Strategy.LONGEST_IDLE:
        return (last_activity_s,)
    if strategy is Strategy.LEAST_OCCUPIED:
        return (occupied_s, last_activity_s)
    if strategy is Strategy.HIGHEST_SKILL:
        return (-float(queue_skill_level(queue.skills, skills)), last_activity_s)
    if strategy is Strategy.ROUND_ROBIN:
        return (float(rr_seq),)
    tier = float(queue.tiers.get(agent_id, 1_000_000))
    if strategy is Strategy.TOP_DOWN:
        return (tier,)
    w = queue.weights
    level = float(queue_skill_level(queue.skills, skills))
    # score(now) = w.idle*(now - last) - w.occupancy*occupied + 60*(w.skill*level - w.tier*tier)
    score = -w.idle * last_activity_s - w.occupancy * occupied_s
    score += 60.0 * (w.skill * level - w.tier * tier)
    return (-score, last_activity_s)


def rank(base: float, boost: float, rate_per_s: float, enqueued_s: float) -> float:
    """Time-invariant priority: effective priority at t = rank + rate * t.

    With linear aging at one rate per queue, the order of two waiting contacts never changes
    with time, so heaps keyed by -rank stay valid without re-sorting."""
    return base + boost - rate_per_s * enqueued_s


def effective_priority(rank_value: float, rate_per_s: float, now_s: float) -> float:
    return rank_value + rate_per_s * now_s


def sla_boost(steps: tuple[SlaStep, ...], deadline_s: float, now_s: float) -> tuple[float, int]:
    """(boost in force at now, index of the next step still to come). ``steps`` go from the
    earliest (largest before_s) to the latest; boosts do not add up, the latest wins."""
    boost = 0.0
    index = 0
    while index < len(steps) and deadline_s - steps[index].before_s <= now_s:
        boost = steps[index].boost
        index += 1
    return boost, index


def capacity_units(capacity: Mapping[Media, int]) -> tuple[int, dict[Media, int]]:
    """(load limit, cost per medium) in integer units: digital media share one load."""
    digital = [c for m, c in capacity.items() if m not in EXCLUSIVE_MEDIA]
    limit = math.lcm(*digital) if digital else 1
    costs = {m: (limit if m in EXCLUSIVE_MEDIA else limit // c) for m, c in capacity.items()}
    return limit, costs


def update_aht(current_s: float, sample_s: float, alpha: float) -> float:
    """Exponentially weighted average handle time (talk + wrap-up)."""
    return current_s + alpha * (sample_s - current_s)


def expected_wait_s(ahead: int, aht_s: float, staffed_slots: int) -> float:
    """Expected wait of a contact with ``ahead`` contacts before it.

    Every ``aht_s / staffed_slots`` seconds on average one of the staffed slots that may serve it
    frees up, and each frees one contact; the contact is served when the (ahead+1)-th frees:
    EWT = (ahead + 1) * AHT / slots. Slots are logged-in, ready agents eligible for the contact
    at its stage, times their capacity for its medium. No staffed slot: infinity.
    """
    if staffed_slots <= 0:
        return math.inf
    return (ahead + 1) * aht_s / staffed_slots
