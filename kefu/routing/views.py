"""Read-only views of the engine: snapshot, queue position and expected wait, queue statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from heapq import heappop
from typing import Any

from kefu.routing.core import RING, RoutingCore
from kefu.routing.errors import InvalidTransition, UnknownAgent, UnknownContact, UnknownQueue
from kefu.routing.model import ContactStatus, Presence, from_us
from kefu.routing.policies import expected_wait_s
from kefu.routing.state import AgentRT, ContactRT, QueueRT

__all__ = ["QueuePosition", "RoutingViews"]


@dataclass(frozen=True, kw_only=True)
class QueuePosition:
    """``position`` 1 = next to be served; ``expected_wait_s`` is infinite with nobody staffed."""

    contact_id: str
    queue_id: str
    position: int
    expected_wait_s: float


def _order_key(contact: ContactRT, now_s: float) -> tuple[float, int, int]:
    return (-(contact.rank + contact.queue.rate * now_s), contact.enq_us, contact.seq)


class RoutingViews(RoutingCore):
    """Queries never advance time nor fire timers: call tick() first for an up-to-date view."""

    def next_deadline(self) -> datetime | None:
        """When tick() next has something to do (None: nothing scheduled)."""
        due = self.next_deadline_us()
        return None if due is None else from_us(due)

    def next_deadline_us(self) -> int | None:
        """next_deadline() as integer microseconds since model.EPOCH."""
        timers = self._timers
        live = self._live
        while timers:
            head = timers[0]
            if head[2] == RING:  # most timers: an offer's ring timeout (_live, inlined)
                if head[3].status is ContactStatus.OFFERED and head[3].offer_token == head[4]:
                    return head[0]
            elif live(head):
                return head[0]
            heappop(timers)
        return None

    def position(self, contact_id: str) -> QueuePosition:
        contact = self._contacts.get(contact_id)
        if contact is None:
            raise UnknownContact(f"no open contact {contact_id!r}")
        if contact.status is not ContactStatus.WAITING:
            raise InvalidTransition(f"contact {contact_id!r} is not waiting")
        now_s = self._now / 1e6
        mine = _order_key(contact, now_s)
        ahead = sum(1 for c in contact.queue.waiting.values() if _order_key(c, now_s) < mine)
        slots = 0
        for agent_id, mem in contact.rc.eligible.items():
            agent = self._agents[agent_id]
            k = mem.k_eff()
            if agent.presence is Presence.READY and k is not None and k <= contact.stage:
                slots += agent.profile.capacity.get(contact.media, 0)
        wait = expected_wait_s(ahead, contact.queue.aht_s, slots)
        return QueuePosition(contact_id=contact_id, queue_id=contact.queue.config.queue_id,
                             position=ahead + 1, expected_wait_s=wait)

    def queue_stats(self, queue_id: str) -> dict[str, Any]:
        queue = self._queues.get(queue_id)
        if queue is None:
            raise UnknownQueue(f"no queue {queue_id!r}")
        base = queue.classes.get(())
        states: dict[str, int] = {}
        if base is not None:
            for agent_id in base.eligible:
                state = self._agents[agent_id].state.value
                states[state] = states.get(state, 0) + 1
        served = queue.answered + queue.abandoned
        longest = max(((self._now - c.enq_us) / 1e6 for c in queue.waiting.values()), default=0.0)
        return {
            "queue_id": queue_id,
            "waiting": len(queue.waiting),
            "longest_wait_s": longest,
            "arrived": queue.arrived,
            "answered": queue.answered,
            "answered_in_sl": queue.answered_in_sl,
            "abandoned": queue.abandoned,
            "expired": queue.expired,
            "service_level": queue.answered_in_sl / served if served else None,
            "aht_s": queue.aht_s,
            "agents": dict(sorted(states.items())),
        }

    def snapshot(self) -> dict[str, Any]:
        """Plain data (JSON-ready) of the whole routing state, for tests and diagnostics."""
        now_s = self._now / 1e6
        deadline = self.next_deadline()
        return {
            "at": from_us(self._now).isoformat(),
            "next_deadline": deadline.isoformat() if deadline else None,
            "skills": sorted(self._skills),
            "sites_down": sorted(self._sites_down),
            "queues": {qid: self._queue_view(q, now_s) for qid, q in sorted(self._queues.items())},
            "contacts": {c.contact_id: self._contact_view(c)
                         for c in sorted(self._contacts.values(), key=lambda c: c.seq)},
            "agents": {a.agent_id: self._agent_view(a)
                       for a in sorted(self._agents.values(), key=lambda a: a.ordinal)},
            "closed": {cid: outcome.value for cid, outcome in sorted(self._closed.items())},
        }

    def contact_view(self, contact_id: str) -> dict[str, Any]:
        contact = self._contacts.get(contact_id)
        if contact is None:
            if contact_id in self._closed:
                return {"status": "closed", "outcome": self._closed[contact_id].value}
            raise UnknownContact(f"no contact {contact_id!r}")
        return self._contact_view(contact)

    def agent_view(self, agent_id: str) -> dict[str, Any]:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise UnknownAgent(f"no agent {agent_id!r}")
        return self._agent_view(agent)

    def _queue_view(self, queue: QueueRT, now_s: float) -> dict[str, Any]:
        waiting = sorted(queue.waiting.values(), key=lambda c: _order_key(c, now_s))
        return {
            "tenant_id": queue.config.tenant_id,
            "home_down": queue.home_down,
            "waiting": [c.contact_id for c in waiting],
            "aht_s": round(queue.aht_s, 6),
            "round_robin": dict(sorted(queue.rr.items())),
            "counts": [queue.arrived, queue.answered, queue.answered_in_sl, queue.abandoned,
                       queue.expired],
        }

    @staticmethod
    def _contact_view(contact: ContactRT) -> dict[str, Any]:
        return {
            "queue_id": contact.queue.config.queue_id,
            "media": contact.media.value,
            "status": contact.status.value,
            "stage": contact.stage,
            "next_step": contact.next_step,
            "agent_id": contact.agent_id,
            "priority": contact.base,
            "boost": contact.boost,
            "enqueued_at": from_us(contact.enq_us).isoformat(),
            "seq": contact.seq,
            "sticky_agent": contact.sticky_agent,
            "direct": contact.direct,
            "callback": contact.callback,
            "declined_by": sorted(contact.declined),
            "skills": dict(contact.spec.skills),
        }

    @staticmethod
    def _agent_view(agent: AgentRT) -> dict[str, Any]:
        profile = agent.profile
        return {
            "state": agent.state.value,
            "presence": agent.presence.value,
            "reason": agent.reason,
            "site": profile.site,
            "team": profile.team,
            "skills": dict(profile.skills),
            "capacity": {m.value: n for m, n in profile.capacity.items()},
            "slots": {cid: {"media": s.media.value, "phase": s.phase.value, "queue_id": s.queue_id}
                      for cid, s in agent.slots.items()},
            "load": agent.load,
            "limit": agent.limit,
            "exclusive": agent.exclusive,
            "ringing": agent.ringing,
            "last_activity": from_us(agent.last_activity_us).isoformat(),
            "occupied_s": agent.occupied_us / 1e6,
            "free_media": [m.value for m in agent.free_media()],
        }

