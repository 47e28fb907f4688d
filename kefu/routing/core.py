"""Routing core: timers, offers, requeues, overflow and expiry behind the engine's commands.

Invariant after every command ("quiescence"): no waiting contact has an available agent that
may take it. Every change that adds availability (an agent frees a slot, becomes ready, gains
skills) or routability (a contact arrives, returns, overflows) runs one indexed search.
"""

from __future__ import annotations

from datetime import timedelta
from heapq import heapify, heappop, heappush
from typing import Any

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
    event_from_record,
)
from kefu.routing.index import EngineConfig, RoutingIndex, Timer, agent_head, us
from kefu.routing.model import (
    EPOCH,
    EXCLUSIVE_MEDIA,
    AgentState,
    ContactStatus,
    MaxWaitAction,
    Media,
    Outcome,
    OverflowAction,
    Presence,
    SlotPhase,
    Strategy,
    from_us,
)
from kefu.routing.policies import rank, sla_boost
from kefu.routing.state import AgentEntry, AgentRT, ContactRT, QueueRT, Slot

__all__ = ["RING", "WRAP", "EngineConfig", "RoutingCore", "us", "value_of"]

RING, WRAP, STEP, MAXWAIT, STICKY, SLA, DAY = range(7)
DAY_US = 86_400_000_000
TIMER_COMPACT_MIN = 65_536
_OUTCOME = {
    MaxWaitAction.CALLBACK: Outcome.CALLBACK,
    MaxWaitAction.VOICEMAIL: Outcome.EXPIRED,
    MaxWaitAction.IVR: Outcome.TRANSFERRED,
}
_ONE_S = timedelta(seconds=1)
# enum -> its string value (a dict lookup is several times faster than the .value property)
value_of: dict[Any, str] = {
    m: m.value for e in (AgentState, Presence, Media, Outcome) for m in e
}
_VALUE = value_of


class RoutingCore(RoutingIndex):
    def _begin(self) -> None:
        """Start a command: fire every timer due up to now (as tick() would), then stand at now."""
        now = self._clock_us()
        if not self._started:
            self._started = True
            self._now = now
            self._day = (now + self._config.day_offset_s * 1_000_000) // DAY_US
            self._schedule(self._day_start(self._day + 1), DAY, None, 0)
        timers = self._timers
        if timers and timers[0][0] <= now:
            self._run_timers(now)
        if now > self._now:
            self._now = now

    def _take(self) -> list[RoutingEvent]:
        timers = self._timers
        if timers and timers[0][0] <= self._now:
            self._run_timers(self._now)
        out, self._out = self._out, []
        if self._records:
            return out  # type: ignore[return-value]  # records: see RoutingIndex.__init__
        events: list[RoutingEvent] = []
        for record in out:
            if record[1] != self._at_us:  # most events of a command share one instant
                self._at_us = record[1]
                self._at_dt = from_us(record[1])
            events.append(event_from_record(record, self._at_dt))
        return events

    def _day_start(self, day: int) -> int:
        return day * DAY_US - self._config.day_offset_s * 1_000_000

    def _schedule(self, due: int, kind: int, target: Any, token: int) -> None:
        self._seq += 1
        timers = self._timers
        heappush(timers, (due, self._seq, kind, target, token))
        if len(timers) > self._timer_limit:
            # Dead timers (answered contacts' max wait, ...) would keep closed contacts alive.
            timers[:] = [t for t in timers if self._live(t)]
            heapify(timers)
            self._timer_limit = max(TIMER_COMPACT_MIN, 2 * len(timers))

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

    def _sync_state(self, agent: AgentRT, *, force: bool = False) -> None:
        # agent.derive_state(), inlined: this runs several times per contact
        presence = agent.presence
        if presence is Presence.OFFLINE:
            state = AgentState.OFFLINE
        elif agent.ringing is not None:
            state = AgentState.RESERVED
        elif agent.n_active:
            state = AgentState.BUSY
        elif agent.n_wrap:
            state = AgentState.WRAP_UP
        else:
            state = AgentState.READY if presence is Presence.READY else AgentState.NOT_READY
        if state is agent.state and not force:
            return
        previous, agent.state = agent.state, state
        self._out.append((AgentStateChanged, self._now, agent.profile.agent_id, _VALUE[state],
                          _VALUE[previous], _VALUE[agent.presence], agent.reason))

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
        self._out.append((WrapUpEnded, self._now, agent.profile.agent_id, slot.contact_id, reason))

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
        if contact.stage == 0:  # most contacts: one heap to look at
            heap = heaps.get((0, media))
            if heap:
                best = agent_head(heap, declined)
        else:
            for k in range(contact.stage + 1):
                heap = heaps.get((k, media))
                if not heap:
                    continue
                entry = agent_head(heap, declined)
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

    def _rerank(self, contact: ContactRT) -> None:
        queue = contact.queue
        contact.rank = rank(contact.base, contact.boost, queue.rate, contact.enq_us / 1e6)

    def _arm(self, contact: ContactRT) -> None:
        """(Re)schedule the timers of a waiting contact: next overflow step, max wait, sticky."""
        contact.epoch += 1
        queue = contact.queue
        base = contact.stage_base_us
        if contact.next_step < len(queue.step_us):
            due = base + queue.step_us[contact.next_step]
            self._schedule(due, STEP, contact, contact.epoch)
        if queue.max_wait_us is not None and not contact.callback:
            self._schedule(base + queue.max_wait_us, MAXWAIT, contact, contact.epoch)
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
        config = queue.config
        cid = contact.spec.contact_id
        del queue.waiting[cid]
        now = self._now
        aid = agent.profile.agent_id
        media = contact.media
        contact.status = ContactStatus.OFFERED
        contact.agent_id = aid
        self._seq += 1
        token = contact.offer_token = self._seq
        cost = agent.costs[media]
        agent.slots[cid] = Slot(cid, media, config.queue_id, cost, now, token)
        agent.load += cost
        if media in EXCLUSIVE_MEDIA:
            agent.exclusive += 1
        agent.ringing = cid
        agent.last_activity_us = now
        agent.version += 1
        if config.strategy is Strategy.ROUND_ROBIN:
            queue.rr[aid] = token
        deadline = now + queue.ring_us
        self._schedule(deadline, RING, contact, token)
        self._out.append((ContactOffered, now, cid, aid, config.queue_id,
                          _VALUE[media], contact.stage, deadline,
                          (now - contact.enq_us) / 1e6, contact.direct))
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
        self._emit(OfferTimedOut, contact_id=contact.contact_id,
                   agent_id=agent.agent_id, queue_id=contact.queue.config.queue_id)
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
            self._emit(ContactOverflowed,
                contact_id=contact.contact_id, queue_id=queue.config.queue_id,
                stage=contact.stage, action=step.action.value, to_queue=dest.config.queue_id,
            )
            self._move(contact, dest, reset_wait=False)
            return
        self._unpublish(contact)
        contact.stage = target
        self._emit(ContactOverflowed,
            contact_id=contact.contact_id, queue_id=queue.config.queue_id,
            stage=target, action=step.action.value,
        )
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
        self._emit(ContactExpired,
            contact_id=contact.contact_id, queue_id=config.queue_id,
            reason=reason, action=action.value, target=config.max_wait_target,
        )
        contact.queue.expired += 1
        self._close(contact, _OUTCOME[action])

    def _close(self, contact: ContactRT, outcome: Outcome) -> None:
        self._unpublish(contact)
        cid = contact.spec.contact_id
        contact.queue.waiting.pop(cid, None)
        contact.status = ContactStatus.CLOSED
        contact.epoch += 1
        del self._contacts[cid]
        self._closed[cid] = outcome
        self._out.append((ContactClosed, self._now, cid, contact.queue.config.queue_id,
                          _VALUE[outcome]))

    def _release_sticky(self, contact: ContactRT) -> None:
        agent_id = contact.sticky_agent or ""
        self._unpublish(contact)
        self._drop_sticky(contact)
        self._emit(StickyExpired, contact_id=contact.contact_id, agent_id=agent_id)
        self._place(contact)

    def _escalate(self, contact: ContactRT) -> None:
        old = contact.boost
        waiting = contact.status is ContactStatus.WAITING
        if waiting:
            self._unpublish(contact)
        self._arm_sla(contact)
        self._rerank(contact)
        if contact.boost != old:
            self._emit(ContactEscalated,
                contact_id=contact.contact_id,
                queue_id=contact.queue.config.queue_id, boost=contact.boost,
            )
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
