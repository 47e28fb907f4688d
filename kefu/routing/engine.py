"""The routing engine (ACD): a deterministic state machine driven by commands and a Clock.

Every command reads ``clock.now()`` once, fires the timers due by then (exactly as ``tick()``
would), validates, applies, and returns the events it caused. A rejected command raises a
RoutingError before changing anything (timers it fired stay fired; their events come with the
next call). Same commands at the same times give the same state and events: replay a persisted
command log with a ManualClock set to each timestamp to rebuild the state after a crash.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from kefu.routing.admin import RoutingAdmin
from kefu.routing.core import WRAP, us
from kefu.routing.core import value_of as _VALUE
from kefu.routing.errors import (
    DuplicateContact,
    InvalidArgument,
    InvalidTransition,
    TenantMismatch,
    UnknownContact,
    UnsupportedMedia,
)
from kefu.routing.events import (
    CallbackRequested,
    ContactAbandoned,
    ContactAnswered,
    ContactCompleted,
    ContactQueued,
    ContactTransferred,
    OfferDeclined,
    OfferRescinded,
    RoutingEvent,
)
from kefu.routing.model import (
    Contact,
    ContactStatus,
    Media,
    Outcome,
    SlotPhase,
    to_us,
)
from kefu.routing.state import AgentRT, ContactRT, QueueRT, Slot

if TYPE_CHECKING:
    from kefu.routing.commands import Command

__all__ = ["RoutingEngine"]

_VOICE_LIKE = (Media.VOICE, Media.VIDEO)


class RoutingEngine(RoutingAdmin):
    """Queues and routes contacts of every medium to agents. See docs/routing.md."""

    def execute(self, command: Command) -> list[RoutingEvent]:
        """Apply a persisted command (see kefu.routing.commands)."""
        return command.apply(self)

    def tick(self) -> list[RoutingEvent]:
        """Fire every timer due at clock.now(): ring timeouts, wrap-up max, overflow steps,
        max wait, sticky expiry, SLA escalation, day rollover."""
        self._begin()
        return self._take()

    # -- contacts ------------------------------------------------------------------------------
    def arrive(self, contact: Contact) -> list[RoutingEvent]:
        """Enqueue a new contact and route it at once if an agent may take it."""
        self._begin()
        cid = contact.contact_id
        if cid in self._contacts or cid in self._closed:
            raise DuplicateContact(f"contact {cid!r} already exists")
        queue = self._queues.get(contact.queue_id) or self._queue(contact.queue_id)
        if queue.config.tenant_id != contact.tenant_id:
            raise TenantMismatch(f"queue {contact.queue_id!r} belongs to another tenant")
        if contact.media not in queue.config.media:
            raise UnsupportedMedia(f"queue {contact.queue_id!r} does not take {contact.media}")
        if contact.skills:
            self._known_skills(contact.skills)
        self._do_arrive(contact, queue)
        return self._take()

    def _do_arrive(self, spec: Contact, queue: QueueRT) -> None:
        config = queue.config
        now = self._now
        cid = spec.contact_id
        self._seq += 1
        skills = spec.skills
        rc = queue.classes.get(()) if not skills else None  # the queue's own class: most contacts
        if rc is None:
            rc = self._class_for(queue, skills.items())
        contact = ContactRT(spec, self._seq, queue, rc, now)
        contact.base = config.base_priority + config.media_priority.get(spec.media, 0.0)
        contact.base += spec.priority
        if spec.sla_deadline is not None:
            self._arm_sla(contact)
        # rank() inlined (same arithmetic): base + boost - rate * enqueued_s
        contact.rank = contact.base + contact.boost - queue.rate * (now / 1e6)
        if spec.preferred_agent is not None and spec.preferred_agent in rc.eligible:
            until = (to_us(spec.preferred_until) if spec.preferred_until is not None
                     else now + us(config.sticky_s))
            if until > now:
                contact.sticky_agent = spec.preferred_agent
                contact.sticky_until_us = until
        self._contacts[cid] = contact
        queue.arrived += 1
        self._out.append((ContactQueued, now, cid, config.queue_id, spec.tenant_id,
                          _VALUE[spec.media], contact.base + contact.boost, spec.customer_id,
                          contact.sticky_agent))
        full = config.max_length is not None and len(queue.waiting) >= config.max_length
        queue.waiting[cid] = contact
        self._arm(contact)
        if self._route_contact(contact):
            return
        if full:
            self._expire(contact, "queue_full")
        else:
            self._publish_contact(contact)

    def abandon(self, contact_id: str, reason: str = "abandoned") -> list[RoutingEvent]:
        """The customer left (or the contact was cancelled) while waiting or ringing."""
        self._begin()
        contact = self._open(contact_id)
        if contact.status is ContactStatus.ACTIVE:
            raise InvalidTransition(f"contact {contact_id!r} is answered: complete it instead")
        agent: AgentRT | None = None
        if contact.status is ContactStatus.OFFERED:
            agent = self._holder(contact)
            self._release(agent, agent.slots[contact_id])
            self._emit(OfferRescinded, contact_id=contact_id,
                       agent_id=agent.agent_id, reason=reason)
            self._sync_state(agent)
        queue = contact.queue
        self._emit(ContactAbandoned, contact_id=contact_id,
                   queue_id=queue.config.queue_id, reason=reason,
                   wait_s=(self._now - contact.enq_us) / 1e6)
        queue.abandoned += 1
        self._close(contact, Outcome.ABANDONED)
        if agent is not None:
            self._route_agent(agent)
        return self._take()

    def request_callback(self, contact_id: str, at: datetime | None = None) -> list[RoutingEvent]:
        """A waiting caller hangs up: keep the place in queue (``at`` None), or close the contact
        with outcome "callback" and a callback time for the channel layer to schedule."""
        self._begin()
        contact = self._open(contact_id)
        if contact.status is not ContactStatus.WAITING or contact.media not in _VOICE_LIKE:
            raise InvalidTransition("only a waiting voice or video contact can ask for a callback")
        if at is not None and (at.tzinfo is None or at.utcoffset() is None):
            raise InvalidArgument("callback time needs a time zone")
        queue_id = contact.queue.config.queue_id
        if at is None and Media.CALLBACK not in contact.queue.config.media:
            raise UnsupportedMedia(f"queue {queue_id!r} does not take callbacks")
        self._emit(CallbackRequested, contact_id=contact_id, queue_id=queue_id,
                   in_place=at is None, callback_at=at)
        if at is not None:
            self._close(contact, Outcome.CALLBACK)
            return self._take()
        self._unpublish(contact)
        contact.media = Media.CALLBACK
        contact.callback = True
        self._arm(contact)
        self._place(contact)
        return self._take()

    def accept(self, agent_id: str, contact_id: str) -> list[RoutingEvent]:
        """The agent answers the offer ringing on it."""
        self._begin()
        agent = self._agents.get(agent_id)
        contact = self._contacts.get(contact_id)
        if (agent is None or contact is None or contact.status is not ContactStatus.OFFERED
                or contact.agent_id != agent_id):
            agent, contact = self._offer_of(agent_id, contact_id)  # raises the right error
        now = self._now
        slot = agent.slots[contact_id]
        slot.phase = SlotPhase.ACTIVE
        slot.answered_us = slot.since_us = now
        agent.ringing = None
        agent.n_active += 1
        agent.version += 1
        contact.status = ContactStatus.ACTIVE
        contact.answered_us = now
        contact.epoch += 1
        contact.sticky_agent = None  # _drop_sticky
        contact.direct = False
        queue = contact.queue
        wait = now - contact.enq_us
        within = wait <= queue.sl_threshold_us
        queue.answered += 1
        queue.answered_in_sl += within
        self._out.append((ContactAnswered, now, contact_id, agent_id, queue.config.queue_id,
                          _VALUE[contact.media], wait / 1e6, within))
        self._sync_state(agent)
        self._route_agent(agent)
        return self._take()

    def decline(self, agent_id: str, contact_id: str) -> list[RoutingEvent]:
        """The agent rejects the offer: the contact returns to its place and is not offered to
        this agent again; the agent stays ready."""
        self._begin()
        agent, contact = self._offer_of(agent_id, contact_id)
        self._release(agent, agent.slots[contact_id])
        contact.declined.add(agent_id)
        self._emit(OfferDeclined, contact_id=contact_id, agent_id=agent_id,
                   queue_id=contact.queue.config.queue_id)
        self._sync_state(agent)
        if contact.sticky_agent == agent_id:
            self._drop_sticky(contact)
        self._requeue(contact)
        self._route_agent(agent)
        return self._take()

    def complete(self, agent_id: str, contact_id: str) -> list[RoutingEvent]:
        """The agent ends the contact (outcome "answered"); its slot goes to wrap-up."""
        self._begin()
        agent = self._agents.get(agent_id)
        contact = self._contacts.get(contact_id)
        if (agent is None or contact is None or contact.status is not ContactStatus.ACTIVE
                or contact.agent_id != agent_id):
            agent, contact = self._active_of(agent_id, contact_id)  # raises the right error
        slot = agent.slots[contact_id]
        handle = self._now - (slot.answered_us or slot.since_us)
        queue = contact.queue
        self._out.append((ContactCompleted, self._now, contact_id, agent_id,
                          queue.config.queue_id, handle / 1e6))
        self._close(contact, Outcome.ANSWERED)
        self._start_wrap(agent, slot, queue.config.wrap_up_s)
        self._sync_state(agent)
        self._route_agent(agent)
        return self._take()

    def finish_wrap_up(self, agent_id: str, contact_id: str | None = None) -> list[RoutingEvent]:
        """End after-contact work (one contact's, or all of the agent's)."""
        self._begin()
        agent = self._agent(agent_id)
        slots = [s for s in agent.slots.values() if s.phase is SlotPhase.WRAP_UP
                 and (contact_id is None or s.contact_id == contact_id)]
        if not slots:
            raise InvalidTransition(f"agent {agent_id!r} has no such wrap-up")
        for slot in slots:
            self._end_wrap(agent, slot, "finished")
        self._sync_state(agent)
        self._route_agent(agent)
        return self._take()

    def transfer(
        self, contact_id: str, *, to_queue: str | None = None, to_agent: str | None = None,
        to_ivr: str | None = None, note: str = "",
    ) -> list[RoutingEvent]:
        """Move a waiting or answered contact to a queue, an agent (direct: skills do not apply,
        for the queue's transfer_wait_s, then back to the queue) or an IVR node (terminal)."""
        self._begin()
        if sum(t is not None for t in (to_queue, to_agent, to_ivr)) != 1:
            raise InvalidArgument("give exactly one of to_queue, to_agent, to_ivr")
        contact = self._open(contact_id)
        if contact.status is ContactStatus.OFFERED:
            raise InvalidTransition(f"contact {contact_id!r} is ringing: wait, or abandon it")
        dest: QueueRT | None = None
        if to_queue is not None:
            dest = self._queue(to_queue)
            if dest.config.tenant_id != contact.spec.tenant_id:
                raise TenantMismatch(f"queue {to_queue!r} belongs to another tenant")
            if contact.media not in dest.config.media:
                raise UnsupportedMedia(f"queue {to_queue!r} does not take {contact.media}")
        if to_agent is not None:
            target = self._agent(to_agent)
            if to_agent == contact.agent_id:
                raise InvalidArgument("the agent already has this contact")
            if contact.media not in target.costs:
                raise InvalidArgument(f"agent {to_agent!r} cannot take {contact.media}")
        holder = self._holder(contact) if contact.status is ContactStatus.ACTIVE else None
        self._emit(ContactTransferred,
            contact_id=contact_id, from_queue=contact.queue.config.queue_id,
            to_queue=to_queue, to_agent=to_agent, to_ivr=to_ivr,
            by_agent=holder.agent_id if holder else None, note=note,
        )
        slot: Slot | None = holder.slots[contact_id] if holder else None
        if holder is not None and slot is not None:
            self._start_wrap(holder, slot, contact.queue.config.wrap_up_s)
            self._sync_state(holder)
        else:
            self._unpublish(contact)
        self._retarget(contact, dest, to_agent, to_ivr, reset_wait=holder is not None)
        if holder is not None:
            self._route_agent(holder)
        return self._take()

    def _retarget(self, contact: ContactRT, dest: QueueRT | None, to_agent: str | None,
                  to_ivr: str | None, *, reset_wait: bool) -> None:
        contact.status = ContactStatus.WAITING
        contact.agent_id = None
        contact.answered_us = None
        if to_ivr is not None:
            self._close(contact, Outcome.TRANSFERRED)
            return
        if dest is not None:
            self._drop_sticky(contact)
            self._move(contact, dest, reset_wait=reset_wait)
            return
        queue = contact.queue
        contact.sticky_agent = to_agent
        contact.direct = True
        contact.sticky_until_us = self._now + us(queue.config.transfer_wait_s)
        if reset_wait:
            contact.enq_us = contact.stage_base_us = self._now
            contact.stage = contact.next_step = 0
            self._rerank(contact)
        queue.waiting[contact.contact_id] = contact
        self._arm(contact)
        self._place(contact)

    def _start_wrap(self, agent: AgentRT, slot: Slot, wrap_up_s: float) -> None:
        slot.phase = SlotPhase.WRAP_UP
        slot.since_us = self._now
        agent.n_active -= 1
        agent.n_wrap += 1
        if wrap_up_s <= 0:
            self._end_wrap(agent, slot, "none")
            return
        self._seq += 1
        slot.token = self._seq
        self._schedule(self._now + us(wrap_up_s), WRAP, (agent, slot), slot.token)

    # -- lookups that raise --------------------------------------------------------------------
    def _open(self, contact_id: str) -> ContactRT:
        contact = self._contacts.get(contact_id)
        if contact is None:
            if contact_id in self._closed:
                raise InvalidTransition(f"contact {contact_id!r} is closed")
            raise UnknownContact(f"no contact {contact_id!r}")
        return contact

    def _holder(self, contact: ContactRT) -> AgentRT:
        assert contact.agent_id is not None
        return self._agents[contact.agent_id]

    def _offer_of(self, agent_id: str, contact_id: str) -> tuple[AgentRT, ContactRT]:
        agent = self._agent(agent_id)
        contact = self._open(contact_id)
        if contact.status is not ContactStatus.OFFERED or contact.agent_id != agent_id:
            raise InvalidTransition(f"contact {contact_id!r} is not ringing on {agent_id!r}")
        return agent, contact

    def _active_of(self, agent_id: str, contact_id: str) -> tuple[AgentRT, ContactRT]:
        agent = self._agent(agent_id)
        contact = self._open(contact_id)
        if contact.status is not ContactStatus.ACTIVE or contact.agent_id != agent_id:
            raise InvalidTransition(f"contact {contact_id!r} is not answered by {agent_id!r}")
        return agent, contact

