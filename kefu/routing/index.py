"""Routing indexes: classes, memberships and the heaps that make a decision a few peeks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from heapq import heappop, heappush
from typing import Any

from kefu.core.clock import Clock
from kefu.routing.events import EventRecord, RoutingEvent, record_of
from kefu.routing.model import Media, Outcome, Strategy, to_us
from kefu.routing.policies import (
    Requirement,
    eligibility,
    extra_stage,
    plan_stages,
    strategy_key,
)
from kefu.routing.state import (
    PENDING_MIN,
    AgentEntry,
    AgentRT,
    ContactEntry,
    ContactRT,
    Heap,
    Membership,
    QueueRT,
    RoutingClass,
    compact_agents,
    compact_contacts,
)

__all__ = ["EngineConfig", "RoutingIndex", "agent_head", "us"]

_GLOBAL_KEYS = frozenset({Strategy.LONGEST_IDLE, Strategy.LEAST_OCCUPIED})
Timer = tuple[int, int, int, Any, int]  # due_us, seq, kind, target, token


def us(seconds: float) -> int:
    return round(seconds * 1_000_000)


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """``day_offset_s``: "today" (occupancy, daily stats) starts at 00:00 UTC + offset."""

    day_offset_s: int = 0
    aht_alpha: float = 0.1


class RoutingIndex:
    """The engine's state and indexes; no decision logic beyond finding the best match."""

    def __init__(
        self, clock: Clock, config: EngineConfig | None = None, *, records: bool = False
    ) -> None:
        """``records=True``: commands return event records (``events.EventRecord`` tuples,
        times in microseconds) instead of RoutingEvent objects — for trusted in-process
        consumers such as the digital twin; ``events.event_from_record`` converts one."""
        self._clock = clock
        # A clock may offer now_us() (integer microseconds since model.EPOCH): no datetimes.
        now_us = getattr(clock, "now_us", None)
        self._clock_us: Callable[[], int] = (
            now_us if callable(now_us) else lambda: to_us(clock.now())
        )
        self._records = records
        self._config = config or EngineConfig()
        self._now = 0
        self._started = False
        self._day = 0
        self._skills: dict[str, None] = {}
        self._queues: dict[str, QueueRT] = {}
        self._classes: list[RoutingClass] = []
        self._classes_by_skill: dict[str, dict[int, RoutingClass]] = {}
        self._classes_open: dict[int, RoutingClass] = {}
        self._agents: dict[str, AgentRT] = {}
        self._holders: dict[str, dict[str, AgentRT]] = {}
        self._contacts: dict[str, ContactRT] = {}
        self._closed: dict[str, Outcome] = {}
        self._sites_down: set[str] = set()
        self._timers: list[Timer] = []
        self._timer_limit = 65_536
        self._seq = 0
        self._site_epoch = 0  # bumped when a queue's home sites go down or come back
        self._at_us = -1
        self._at_dt: Any = None
        # Events of the running command as records (cls, at_us, *values); see events.py.
        self._out: list[EventRecord] = []

    def _emit(self, cls: type[RoutingEvent], **values: Any) -> None:
        """Record an event at the current instant (hot paths append their record directly)."""
        self._out.append(record_of(cls, self._now, **values))

    def _publish_agent(self, agent: AgentRT, free: tuple[Media, ...]) -> None:
        """Make an available agent findable by every class it may serve.

        Publishing only appends (version, agent, membership) to each class's pending list; a
        class pushes its pending agents into its heaps when a contact of it next looks for an
        agent. Most availability is used up before most classes look, so most pushes (and
        strategy keys) are never computed. Stale pending entries are dropped on the way."""
        if agent.published == agent.version:
            return
        version = agent.published = agent.version
        for mem in agent.members:
            pending = mem.rc.pending
            pending.append((version, agent, mem))
            if len(pending) > mem.rc.pending_limit:
                self._drain(mem.rc)

    def _publish_membership(self, agent: AgentRT, mem: Membership) -> None:
        mem.rc.pending.append((agent.version, agent, mem))

    def _drain(self, rc: RoutingClass) -> None:
        pending = rc.pending
        rc.pending = []
        epoch = self._site_epoch
        queue = rc.queue
        config = queue.config
        cache = config.strategy if config.strategy in _GLOBAL_KEYS else config.queue_id
        for version, agent, mem in pending:
            if version != agent.version:
                continue
            if mem.epoch != epoch:
                self._target_heaps(mem)
            free = agent.free if agent.free_version == version else agent.free_media()
            entry: AgentEntry | None = None
            for medium, heap in mem.targets:
                if medium not in free:
                    continue
                if entry is None:
                    if agent.entries_version != version:
                        agent.entries_version = version
                        agent.entries = {}
                    entry = agent.entries.get(cache)
                    if entry is None:
                        entry = self._agent_entry(agent, queue, agent.entries)
                heappush(heap, entry)
                if len(heap) > heap.limit:
                    compact_agents(heap)
        rc.pending_limit = PENDING_MIN

    def _target_heaps(self, mem: Membership) -> None:
        """Cache the heaps a membership publishes into (they change only with site status)."""
        mem.epoch = self._site_epoch
        k = mem.k = mem.k_eff()
        if k is None:
            mem.targets = mem.contact_targets = ()
            return
        rc = mem.rc
        cached = rc.target_cache.get((k, mem.media))  # shared: memberships are many
        if cached is None:
            heaps = rc.agent_heaps
            contact_heaps = rc.contact_heaps
            targets = []
            contact_targets = []
            for medium in mem.media:
                heap = heaps.get((k, medium))
                if heap is None:
                    heap = heaps[(k, medium)] = Heap()
                targets.append((medium, heap))
                heap = contact_heaps.get((k, medium))
                if heap is None:
                    heap = contact_heaps[(k, medium)] = Heap()
                contact_targets.append((medium, heap))
            cached = rc.target_cache[(k, mem.media)] = (tuple(targets), tuple(contact_targets))
        mem.targets, mem.contact_targets = cached

    @staticmethod
    def _agent_entry(
        agent: AgentRT, queue: QueueRT, entries: dict[Any, tuple[Any, ...]]
    ) -> AgentEntry:
        config = queue.config
        if config.strategy is Strategy.LONGEST_IDLE:  # most queues: strategy_key inlined
            idle: AgentEntry = (agent.last_activity_us / 1e6, agent.ordinal, agent.version, agent)
            entries[Strategy.LONGEST_IDLE] = idle
            return idle
        # Agent-wide strategies share one key; the others depend on the queue.
        cache = config.strategy if config.strategy in _GLOBAL_KEYS else config.queue_id
        entry = entries.get(cache)
        if entry is None:
            key = strategy_key(
                config, agent_id=agent.agent_id, skills=agent.profile.skills,
                last_activity_s=agent.last_activity_us / 1e6,
                occupied_s=agent.occupied_us / 1e6, rr_seq=queue.rr.get(agent.agent_id, 0),
            )
            entry = entries[cache] = (*key, agent.ordinal, agent.version, agent)
        return entry

    def _best_contact(self, agent: AgentRT, free: tuple[Media, ...]) -> ContactRT | None:
        now_s = self._now / 1e6
        aid = agent.agent_id
        best_key: tuple[float, int, int] | None = None
        best: ContactRT | None = None
        if agent.sticky:
            best_key, best = self._best_sticky(agent, free, now_s)
        epoch = self._site_epoch
        for mem in agent.members:
            rc = mem.rc
            if not rc.waiting:
                continue
            if mem.epoch != epoch:
                self._target_heaps(mem)
            drift = rc.queue.rate * now_s
            for m, heap in mem.contact_targets:
                if not heap or m not in free:
                    continue
                entry = _contact_head(heap, aid)
                if entry is None:
                    continue
                key = (entry[0] - drift, entry[1], entry[2])
                if best_key is None or key < best_key:
                    best_key, best = key, entry[4]
        return best

    def _best_sticky(
        self, agent: AgentRT, free: tuple[Media, ...], now_s: float
    ) -> tuple[tuple[float, int, int] | None, ContactRT | None]:
        live = [e for e in agent.sticky if e[3] == e[4].version]
        agent.sticky = live
        best_key: tuple[float, int, int] | None = None
        best: ContactRT | None = None
        for entry in live:
            contact = entry[4]
            if contact.media not in free or not self._sticky_ok(agent, contact):
                continue
            key = (entry[0] - contact.queue.rate * now_s, entry[1], entry[2])
            if best_key is None or key < best_key:
                best_key, best = key, contact
        return best_key, best

    @staticmethod
    def _sticky_ok(agent: AgentRT, contact: ContactRT) -> bool:
        if contact.direct:
            return True
        mem = contact.rc.eligible.get(agent.agent_id)
        if mem is None:
            return False
        k = mem.k_eff()
        return k is not None and k <= contact.stage

    def _publish_contact(self, contact: ContactRT) -> None:
        contact.published = True
        entry: ContactEntry = (-contact.rank, contact.enq_us, contact.seq, contact.version, contact)
        if contact.sticky_agent is not None:
            sticky = self._agents[contact.sticky_agent].sticky
            sticky.append(entry)
            if len(sticky) > 64:
                sticky[:] = [e for e in sticky if e[3] == e[4].version]
            return
        rc = contact.rc
        rc.waiting += 1
        heaps = rc.contact_heaps
        media = contact.media
        for k in range(contact.stage + 1):
            heap = heaps.get((k, media))
            if heap is None:
                heap = heaps[(k, media)] = Heap()
            heappush(heap, entry)
            if len(heap) > heap.limit:
                compact_contacts(heap)

    def _unpublish(self, contact: ContactRT) -> None:
        contact.version += 1
        if contact.published:
            contact.published = False
            if contact.sticky_agent is None:
                contact.rc.waiting -= 1

    def _class_for(self, queue: QueueRT, skills: Any) -> RoutingClass:
        extra: Requirement = tuple(sorted(skills))
        rc = queue.classes.get(extra)
        if rc is not None:
            return rc
        base = queue.classes.get(())
        rc = RoutingClass(len(self._classes), queue, extra, plan_stages(queue.config, extra))
        self._classes.append(rc)
        queue.classes[extra] = rc
        self._index_class(rc)
        if base is not None and extra:
            # (queue + extra skills) only narrows the queue's base class: derive from it.
            plan = rc.plan
            eligible = rc.eligible
            for agent_id, base_mem in base.eligible.items():
                agent = self._agents[agent_id]
                k_extra = extra_stage(plan, extra, agent.profile.skills)
                if k_extra is None:
                    continue
                mem = Membership(rc, max(k_extra, base_mem.k_skill), base_mem.k_site)
                mem.media = base_mem.media
                eligible[agent_id] = mem
                agent.members.append(mem)
                if agent.published == agent.version:
                    self._publish_membership(agent, mem)
        else:
            for agent in self._candidates(rc):
                added = self._add_membership(agent, rc)
                if added is not None and agent.published == agent.version:
                    self._publish_membership(agent, added)
        return rc

    def _index_class(self, rc: RoutingClass) -> None:
        """Index a class under one skill of each alternative (an agent must hold it)."""
        keys: list[str] = []
        is_open = False
        for stage in rc.plan.stages:
            for alt in stage.alternatives:
                if not alt:
                    is_open = True
                elif alt[0][0] not in keys:
                    keys.append(alt[0][0])
        rc.keys = None if is_open else tuple(keys)
        if is_open:
            self._classes_open[rc.index] = rc
            return
        for skill in keys:
            self._classes_by_skill.setdefault(skill, {})[rc.index] = rc

    def _candidates(self, rc: RoutingClass) -> list[AgentRT]:
        if rc.keys is None:
            return list(self._agents.values())
        found: dict[str, AgentRT] = {}
        for skill in rc.keys:
            found.update(self._holders.get(skill, {}))
        return sorted(found.values(), key=_ordinal)

    def _add_membership(self, agent: AgentRT, rc: RoutingClass) -> Membership | None:
        costs = agent.costs
        for medium in rc.queue.config.media:
            if medium in costs:
                break
        else:  # the agent can never take this queue's media
            return None
        found = eligibility(rc.plan, agent.profile.skills, agent.profile.site)
        if found is None:
            return None
        mem = Membership(rc, found[0], found[1])
        mem.media = tuple(m for m in rc.queue.config.media if m in costs)
        rc.eligible[agent.agent_id] = mem
        agent.members.append(mem)
        return mem

    def _compute_memberships(self, agent: AgentRT) -> None:
        for mem in agent.members:
            mem.rc.eligible.pop(agent.agent_id, None)
        agent.members = []
        indexes = set(self._classes_open)
        for skill in agent.profile.skills:
            indexes.update(self._classes_by_skill.get(skill, ()))
        for index in sorted(indexes):
            self._add_membership(agent, self._classes[index])

def _ordinal(agent: AgentRT) -> int:
    return agent.ordinal


def agent_head(heap: Heap, declined: set[str]) -> AgentEntry | None:
    while heap:
        entry: AgentEntry = heap[0]
        if entry[-2] != entry[-1].version:
            heappop(heap)
            continue
        if declined and entry[-1].agent_id in declined:
            for other in sorted(heap):  # rare: an agent declined this contact
                if other[-2] == other[-1].version and other[-1].agent_id not in declined:
                    return other  # type: ignore[no-any-return]
            return None
        return entry
    return None


def _contact_head(heap: Heap, agent_id: str) -> ContactEntry | None:
    while heap:
        entry: ContactEntry = heap[0]
        if entry[3] != entry[4].version:
            heappop(heap)
            continue
        if agent_id in entry[4].declined:
            for other in sorted(heap):  # rare: this agent declined the head
                if other[3] == other[4].version and agent_id not in other[4].declined:
                    return other  # type: ignore[no-any-return]
            return None
        return entry
    return None

