"""Routing core: indexes, matching, offers and timers behind the engine's commands.

Invariant after every command ("quiescence"): no waiting contact has an available agent that
may take it. Every change that adds availability (an agent frees a slot, becomes ready, gains
skills) or routability (a contact arrives, returns, overflows) runs one indexed search.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from heapq import heappop, heappush
from typing import Any

from kefu.core.clock import Clock
from kefu.routing.events import (
    AgentStateChanged,
    ContactClosed,
    ContactEscalated,
    ContactExpired,
    ContactOffered,
    ContactOverflowed,
    OfferTimedOut,
    RoutingEvent,
    StickyExpired,
    WrapUpEnded,
)
from kefu.routing.model import (
    EPOCH,
    EXCLUSIVE_MEDIA,
    ContactStatus,
    MaxWaitAction,
    Media,
    Outcome,
    OverflowAction,
    Presence,
    SlotPhase,
    Strategy,
    from_us,
    to_us,
)
from kefu.routing.policies import (
    Requirement,
    eligibility,
    extra_stage,
    plan_stages,
    rank,
    sla_boost,
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
    Slot,
    compact_agents,
    compact_contacts,
)

__all__ = ["EngineConfig", "RoutingCore"]

RING, WRAP, STEP, MAXWAIT, STICKY, SLA, DAY = range(7)
DAY_US = 86_400_000_000
_OUTCOME = {
    MaxWaitAction.CALLBACK: Outcome.CALLBACK,
    MaxWaitAction.VOICEMAIL: Outcome.EXPIRED,
    MaxWaitAction.IVR: Outcome.TRANSFERRED,
}
Timer = tuple[int, int, int, Any, int]  # due_us, seq, kind, target, token
_GLOBAL_KEYS = frozenset({Strategy.LONGEST_IDLE, Strategy.LEAST_OCCUPIED})
_ONE_S = timedelta(seconds=1)


def us(seconds: float) -> int:
    return round(seconds * 1_000_000)


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """``day_offset_s``: "today" (occupancy, daily stats) starts at 00:00 UTC + offset."""

    day_offset_s: int = 0
    aht_alpha: float = 0.1


class RoutingCore:
    def __init__(self, clock: Clock, config: EngineConfig | None = None) -> None:
        self._clock = clock
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
        self._seq = 0
        self._site_epoch = 0  # bumped when a queue's home sites go down or come back
        self._at_us = -1
        self._at_dt = from_us(0)
        self._out: list[RoutingEvent] = []

    # -- time and timers ---------------------------------------------------------------------
    def _begin(self) -> None:
        """Start a command: fire every timer due up to now (as tick() would), then stand at now."""
        now = to_us(self._clock.now())
        if not self._started:
            self._started = True
            self._now = now
            self._day = (now + self._config.day_offset_s * 1_000_000) // DAY_US
            self._schedule(self._day_start(self._day + 1), DAY, None, 0)
        self._run_timers(now)
        if now > self._now:
            self._now = now

    def _take(self) -> list[RoutingEvent]:
        self._run_timers(self._now)
        out, self._out = self._out, []
        return out

    def _day_start(self, day: int) -> int:
        return day * DAY_US - self._config.day_offset_s * 1_000_000

    def _schedule(self, due: int, kind: int, target: Any, token: int) -> None:
        self._seq += 1
        heappush(self._timers, (due, self._seq, kind, target, token))

    @staticmethod
    def _live(timer: Timer) -> bool:
        kind, target, token = timer[2], timer[3], timer[4]
        if kind == RING:
            return bool(target.status is ContactStatus.OFFERED and target.offer_token == token)
        if kind == WRAP:
            agent, slot = target
            return bool(agent.slots.get(slot.contact_id) is slot and slot.token == token)
        if kind in (STEP, MAXWAIT, STICKY):
            return bool(target.status is ContactStatus.WAITING and target.epoch == token)
        if kind == SLA:
            return bool(target.status is not ContactStatus.CLOSED and target.sla_token == token)
        return True

    def _run_timers(self, until: int) -> None:
        timers = self._timers
        while timers and timers[0][0] <= until:
            timer = heappop(timers)
            if not self._live(timer):
                continue
            if timer[0] > self._now:
                self._now = timer[0]
            self._fire(timer)

    def _fire(self, timer: Timer) -> None:
        kind, target = timer[2], timer[3]
        if kind == RING:
            self._ring_timeout(target)
        elif kind == WRAP:
            agent, slot = target
            self._end_wrap(agent, slot, "timeout")
            self._sync_state(agent)
            self._route_agent(agent)
        elif kind == STEP:
            self._overflow(target)
        elif kind == MAXWAIT:
            self._expire(target, "max_wait")
        elif kind == STICKY:
            self._release_sticky(target)
        elif kind == SLA:
            self._escalate(target)
        else:
            self._new_day()

    def _at(self) -> Any:
        if self._at_us != self._now:
            self._at_us = self._now
            self._at_dt = from_us(self._now)
        return self._at_dt

    def _emit(self, event: RoutingEvent) -> None:
        self._out.append(event)

    # -- agents --------------------------------------------------------------------------------
    def _sync_state(self, agent: AgentRT, *, force: bool = False) -> None:
        state = agent.derive_state()
        if state is agent.state and not force:
            return
        previous, agent.state = agent.state, state
        self._emit(AgentStateChanged(
            at=self._at(), agent_id=agent.agent_id, state=state.value, previous=previous.value,
            presence=agent.presence.value, reason=agent.reason,
        ))

    def _route_agent(self, agent: AgentRT) -> None:
        """An agent may have gained availability: offer its best contact, or index it."""
        free = agent.free_media()
        if not free:
            return
        contact = self._best_contact(agent, free)
        if contact is not None:
            self._offer(contact, agent)
        else:
            self._publish_agent(agent, free)

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
        for version, agent, mem in pending:
            if version != agent.version:
                continue
            if mem.epoch != epoch:
                self._target_heaps(mem)
            free = agent.free_media()
            entry: AgentEntry | None = None
            for medium, heap in mem.targets:
                if medium not in free:
                    continue
                if entry is None:
                    if agent.entries_version != version:
                        agent.entries_version = version
                        agent.entries = {}
                    entry = self._agent_entry(agent, queue, agent.entries)
                heappush(heap, entry)
                if len(heap) > heap.limit:
                    compact_agents(heap)
        rc.pending_limit = PENDING_MIN

    def _target_heaps(self, mem: Membership) -> None:
        """Cache the heaps a membership publishes into (they change only with site status)."""
        mem.epoch = self._site_epoch
        k = mem.k_eff()
        if k is None:
            mem.targets = ()
            return
        heaps = mem.rc.agent_heaps
        targets = []
        for medium in mem.media:
            heap = heaps.get((k, medium))
            if heap is None:
                heap = heaps[(k, medium)] = Heap()
            targets.append((medium, heap))
        mem.targets = tuple(targets)

    @staticmethod
    def _agent_entry(
        agent: AgentRT, queue: QueueRT, entries: dict[Any, tuple[Any, ...]]
    ) -> AgentEntry:
        config = queue.config
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
        for mem in agent.members:
            rc = mem.rc
            if not rc.waiting:
                continue
            k = mem.k_eff()
            if k is None:
                continue
            drift = rc.queue.rate * now_s
            heaps = rc.contact_heaps
            for m in free:
                heap = heaps.get((k, m))
                if not heap:
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

    def _release(self, agent: AgentRT, slot: Slot) -> None:
        del agent.slots[slot.contact_id]
        agent.load -= slot.cost
        if slot.media in EXCLUSIVE_MEDIA:
            agent.exclusive -= 1
        if slot.phase is SlotPhase.ACTIVE:
            agent.n_active -= 1
        elif slot.phase is SlotPhase.WRAP_UP:
            agent.n_wrap -= 1
        if agent.ringing == slot.contact_id:
            agent.ringing = None
        agent.version += 1

    def _end_wrap(self, agent: AgentRT, slot: Slot, reason: str) -> None:
        work = self._now - (slot.answered_us if slot.answered_us is not None else slot.since_us)
        agent.occupied_us += work
        queue = self._queues.get(slot.queue_id)
        if queue is not None:
            queue.aht_s += self._config.aht_alpha * (work / 1e6 - queue.aht_s)
        self._release(agent, slot)
        agent.last_activity_us = self._now
        self._emit(WrapUpEnded(at=self._at(), agent_id=agent.agent_id,
                               contact_id=slot.contact_id, reason=reason))

    # -- contacts ------------------------------------------------------------------------------
    def _route_contact(self, contact: ContactRT) -> bool:
        if contact.sticky_agent is not None:
            agent = self._agents.get(contact.sticky_agent)
            if (agent is not None and contact.media in agent.free_media()
                    and self._sticky_ok(agent, contact)):
                self._offer(contact, agent)
                return True
            return False
        rc = contact.rc
        if rc.pending:
            self._drain(rc)
        heaps = rc.agent_heaps
        media = contact.media
        declined = contact.declined
        best: AgentEntry | None = None
        for k in range(contact.stage + 1):
            heap = heaps.get((k, media))
            if not heap:
                continue
            entry = _agent_head(heap, declined)
            if entry is not None and (best is None or entry < best):
                best = entry
        if best is None:
            return False
        self._offer(contact, best[-1])
        return True

    def _place(self, contact: ContactRT) -> None:
        """Route a waiting contact now, or index it until an agent frees up."""
        if not self._route_contact(contact):
            self._publish_contact(contact)

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

    def _rerank(self, contact: ContactRT) -> None:
        queue = contact.queue
        contact.rank = rank(contact.base, contact.boost, queue.rate, contact.enq_us / 1e6)

    def _arm(self, contact: ContactRT) -> None:
        """(Re)schedule the timers of a waiting contact: next overflow step, max wait, sticky."""
        contact.epoch += 1
        config = contact.queue.config
        base = contact.stage_base_us
        if contact.next_step < len(config.overflow):
            due = base + us(config.overflow[contact.next_step].after_s)
            self._schedule(due, STEP, contact, contact.epoch)
        if config.max_wait_s is not None and not contact.callback:
            self._schedule(base + us(config.max_wait_s), MAXWAIT, contact, contact.epoch)
        if contact.sticky_agent is not None:
            self._schedule(contact.sticky_until_us, STICKY, contact, contact.epoch)

    def _arm_sla(self, contact: ContactRT) -> None:
        deadline = contact.spec.sla_deadline
        if deadline is None:
            return
        steps = contact.queue.config.sla_steps
        deadline_s = (deadline - EPOCH) / _ONE_S
        contact.boost, contact.next_sla = sla_boost(steps, deadline_s, self._now / 1e6)
        self._seq += 1
        contact.sla_token = self._seq
        if contact.next_sla < len(steps):
            due = us(deadline_s - steps[contact.next_sla].before_s)
            self._schedule(max(due, self._now), SLA, contact, contact.sla_token)

    def _offer(self, contact: ContactRT, agent: AgentRT) -> None:
        self._unpublish(contact)
        queue = contact.queue
        del queue.waiting[contact.contact_id]
        now = self._now
        aid = agent.agent_id
        contact.status = ContactStatus.OFFERED
        contact.agent_id = aid
        self._seq += 1
        token = contact.offer_token = self._seq
        cost = agent.costs[contact.media]
        agent.slots[contact.contact_id] = Slot(contact.contact_id, contact.media,
                                               queue.config.queue_id, cost, now, token)
        agent.load += cost
        if contact.media in EXCLUSIVE_MEDIA:
            agent.exclusive += 1
        agent.ringing = contact.contact_id
        agent.last_activity_us = now
        agent.version += 1
        if queue.config.strategy is Strategy.ROUND_ROBIN:
            queue.rr[aid] = token
        deadline = now + us(queue.config.ring_timeout_s)
        self._schedule(deadline, RING, contact, token)
        self._emit(ContactOffered(
            at=self._at(), contact_id=contact.contact_id, agent_id=aid,
            queue_id=queue.config.queue_id, media=contact.media.value, stage=contact.stage,
            ring_deadline=from_us(deadline), wait_s=(now - contact.enq_us) / 1e6,
            direct=contact.direct,
        ))
        self._sync_state(agent)

    def _requeue(self, contact: ContactRT) -> None:
        """A contact back from an agent keeps its rank, hence its place in the queue."""
        contact.status = ContactStatus.WAITING
        contact.agent_id = None
        contact.answered_us = None
        contact.queue.waiting[contact.contact_id] = contact
        self._arm(contact)
        self._place(contact)

    def _drop_sticky(self, contact: ContactRT) -> None:
        contact.sticky_agent = None
        contact.direct = False

    def _ring_timeout(self, contact: ContactRT) -> None:
        assert contact.agent_id is not None
        agent = self._agents[contact.agent_id]
        self._release(agent, agent.slots[contact.contact_id])
        self._emit(OfferTimedOut(at=self._at(), contact_id=contact.contact_id,
                                 agent_id=agent.agent_id, queue_id=contact.queue.config.queue_id))
        agent.presence = Presence.NOT_READY
        agent.reason = "missed"
        agent.version += 1
        self._sync_state(agent, force=True)
        if contact.sticky_agent == agent.agent_id:
            self._drop_sticky(contact)
        self._requeue(contact)

    def _overflow(self, contact: ContactRT) -> None:
        queue = contact.queue
        index = contact.next_step
        step = queue.config.overflow[index]
        target = contact.rc.plan.step_stage[index]
        contact.next_step = index + 1
        if target < 0:
            dest = self._queues.get(step.queue_id)
            if (step.action is not OverflowAction.MOVE_QUEUE or dest is None or dest is queue
                    or contact.media not in dest.config.media):
                self._arm(contact)
                return
            self._unpublish(contact)
            self._emit(ContactOverflowed(
                at=self._at(), contact_id=contact.contact_id, queue_id=queue.config.queue_id,
                stage=contact.stage, action=step.action.value, to_queue=dest.config.queue_id,
            ))
            self._move(contact, dest, reset_wait=False)
            return
        self._unpublish(contact)
        contact.stage = target
        self._emit(ContactOverflowed(
            at=self._at(), contact_id=contact.contact_id, queue_id=queue.config.queue_id,
            stage=target, action=step.action.value,
        ))
        self._arm(contact)
        self._place(contact)

    def _move(self, contact: ContactRT, dest: QueueRT, *, reset_wait: bool) -> None:
        """Put a contact (not indexed anywhere) into another queue at stage 0 and route it."""
        contact.queue.waiting.pop(contact.contact_id, None)
        contact.queue = dest
        contact.rc = self._class_for(dest, contact.spec.skills.items())
        contact.stage = 0
        contact.next_step = 0
        contact.stage_base_us = self._now
        if reset_wait:
            contact.enq_us = self._now
        config = dest.config
        contact.base = config.base_priority + config.media_priority.get(contact.media, 0.0)
        contact.base += contact.spec.priority
        if not contact.direct:
            contact.sticky_agent = None
        self._arm_sla(contact)
        self._rerank(contact)
        contact.status = ContactStatus.WAITING
        contact.agent_id = None
        dest.waiting[contact.contact_id] = contact
        self._arm(contact)
        self._place(contact)

    def _expire(self, contact: ContactRT, reason: str) -> None:
        config = contact.queue.config
        action = config.max_wait_action
        self._emit(ContactExpired(
            at=self._at(), contact_id=contact.contact_id, queue_id=config.queue_id,
            reason=reason, action=action.value, target=config.max_wait_target,
        ))
        contact.queue.expired += 1
        self._close(contact, _OUTCOME[action])

    def _close(self, contact: ContactRT, outcome: Outcome) -> None:
        self._unpublish(contact)
        contact.queue.waiting.pop(contact.contact_id, None)
        contact.status = ContactStatus.CLOSED
        contact.epoch += 1
        del self._contacts[contact.contact_id]
        self._closed[contact.contact_id] = outcome
        self._emit(ContactClosed(at=self._at(), contact_id=contact.contact_id,
                                 queue_id=contact.queue.config.queue_id, outcome=outcome.value))

    def _release_sticky(self, contact: ContactRT) -> None:
        agent_id = contact.sticky_agent or ""
        self._unpublish(contact)
        self._drop_sticky(contact)
        self._emit(StickyExpired(at=self._at(), contact_id=contact.contact_id, agent_id=agent_id))
        self._place(contact)

    def _escalate(self, contact: ContactRT) -> None:
        old = contact.boost
        waiting = contact.status is ContactStatus.WAITING
        if waiting:
            self._unpublish(contact)
        self._arm_sla(contact)
        self._rerank(contact)
        if contact.boost != old:
            self._emit(ContactEscalated(
                at=self._at(), contact_id=contact.contact_id,
                queue_id=contact.queue.config.queue_id, boost=contact.boost,
            ))
        if waiting:
            self._place(contact)

    def _new_day(self) -> None:
        self._day += 1
        for queue in self._queues.values():
            queue.arrived = queue.answered = queue.answered_in_sl = 0
            queue.abandoned = queue.expired = 0
        for agent in self._agents.values():
            agent.occupied_us = 0
            free = agent.free_media()
            if free:  # strategy keys use today's occupancy: re-index
                agent.version += 1
                self._publish_agent(agent, free)
        self._schedule(self._day_start(self._day + 1), DAY, None, 0)

    # -- routing classes -------------------------------------------------------------------
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


def _agent_head(heap: Heap, declined: set[str]) -> AgentEntry | None:
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

