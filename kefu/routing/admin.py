"""Engine commands for configuration, agents and sites (contacts are in engine.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from kefu.routing.errors import (
    DuplicateQueue,
    InvalidArgument,
    InvalidTransition,
    TenantMismatch,
    UnknownAgent,
    UnknownQueue,
    UnknownSkill,
    UnsupportedMedia,
)
from kefu.routing.events import (
    AgentSkillsChanged,
    ContactRequeued,
    OfferRescinded,
    QueueConfigured,
    RoutingEvent,
    SiteStateChanged,
    SkillsAdded,
)
from kefu.routing.model import (
    AgentProfile,
    ContactStatus,
    OverflowAction,
    Presence,
    QueueConfig,
    SlotPhase,
)
from kefu.routing.policies import plan_stages
from kefu.routing.state import AgentRT, ContactRT, QueueRT
from kefu.routing.views import RoutingViews

__all__ = ["RoutingAdmin"]


class RoutingAdmin(RoutingViews):
    # -- configuration -----------------------------------------------------------------------
    def add_skills(self, names: Iterable[str]) -> list[RoutingEvent]:
        """Declare skills (names already known are ignored)."""
        self._begin()
        names = tuple(names)
        if any(not isinstance(n, str) or not n for n in names):
            raise InvalidArgument("skill names are non-empty strings")
        new = tuple(dict.fromkeys(n for n in names if n not in self._skills))
        for name in new:
            self._skills[name] = None
        if new:
            self._emit(SkillsAdded, names=new)
        return self._take()

    def add_queue(self, config: QueueConfig) -> list[RoutingEvent]:
        self._begin()
        if config.queue_id in self._queues:
            raise DuplicateQueue(f"queue {config.queue_id!r} exists: use update_queue")
        self._check_queue(config, None)
        queue = self._queues[config.queue_id] = QueueRT(config)
        self._refresh_home(queue)
        self._class_for(queue, ())
        self._emit(QueueConfigured, queue_id=config.queue_id, created=True)
        return self._take()

    def update_queue(self, config: QueueConfig) -> list[RoutingEvent]:
        """Replace a queue's configuration; its contacts keep their place and waiting time."""
        self._begin()
        queue = self._queue(config.queue_id)
        self._check_queue(config, queue)
        self._reconfigure(queue, config)
        self._emit(QueueConfigured, queue_id=config.queue_id, created=False)
        return self._take()

    def _check_queue(self, config: QueueConfig, queue: QueueRT | None) -> None:
        self._known_skills(config.skills)
        for step in config.overflow:
            self._known_skills(step.skills)
            if step.action is OverflowAction.MOVE_QUEUE:
                if step.queue_id == config.queue_id:
                    raise InvalidArgument("a queue cannot overflow into itself")
                target = self._queue(step.queue_id)
                if target.config.tenant_id != config.tenant_id:
                    raise TenantMismatch(f"queue {step.queue_id!r} belongs to another tenant")
        if queue is None:
            return
        for contact in self._contacts.values():
            if contact.queue is not queue:
                continue
            if contact.spec.tenant_id != config.tenant_id:
                raise TenantMismatch("the queue has contacts of its current tenant")
            if contact.media not in config.media:
                raise UnsupportedMedia(f"the queue has {contact.media} contacts")

    def _reconfigure(self, queue: QueueRT, config: QueueConfig) -> None:
        queue.set_config(config)
        self._refresh_home(queue)
        contacts = sorted((c for c in self._contacts.values() if c.queue is queue),
                          key=lambda c: c.seq)
        for contact in contacts:
            self._unpublish(contact)
        touched: dict[str, AgentRT] = {}
        for rc in queue.classes.values():
            for agent_id, mem in rc.eligible.items():
                agent = touched[agent_id] = self._agents[agent_id]
                agent.members.remove(mem)
            rc.eligible.clear()
            rc.agent_heaps.clear()
            rc.pending.clear()
            rc.contact_heaps.clear()
            rc.target_cache.clear()
            rc.waiting = 0
            rc.plan = plan_stages(config, rc.extra)
            self._index_class(rc)
            for agent in self._candidates(rc):
                if self._add_membership(agent, rc) is not None:
                    touched[agent.agent_id] = agent
        for agent in touched.values():
            agent.members.sort(key=lambda m: m.rc.index)
        now = self._now
        for contact in contacts:
            contact.base = config.base_priority + config.media_priority.get(contact.media, 0.0)
            contact.base += contact.spec.priority
            self._arm_sla(contact)
            self._rerank(contact)
            steps, plan = config.overflow, contact.rc.plan
            stage = index = 0
            while (index < len(steps) and plan.step_stage[index] >= 0
                   and contact.stage_base_us + round(steps[index].after_s * 1e6) <= now):
                stage = plan.step_stage[index]
                index += 1
            contact.stage, contact.next_step = stage, index
        self._reindex_agents()
        for contact in contacts:
            if contact.status is ContactStatus.WAITING:
                self._arm(contact)
                self._place(contact)

    def _reindex_agents(self) -> None:
        for agent in self._agents.values():
            free = agent.free_media()
            if free:
                agent.version += 1
                self._publish_agent(agent, free)

    def _refresh_home(self, queue: QueueRT) -> bool:
        sites = queue.config.sites
        down = bool(sites) and all(s in self._sites_down for s in sites)
        changed = down != queue.home_down
        queue.home_down = down
        if changed:
            self._site_epoch += 1
        return changed

    # -- agents ------------------------------------------------------------------------------
    def login(self, profile: AgentProfile) -> list[RoutingEvent]:
        """Register or update an agent and log it in, not ready (reason "login")."""
        self._begin()
        self._known_skills(profile.skills)
        agent = self._agents.get(profile.agent_id)
        if agent is not None and agent.presence is not Presence.OFFLINE:
            raise InvalidTransition(f"agent {profile.agent_id!r} is already logged in")
        if agent is None:
            agent = self._agents[profile.agent_id] = AgentRT(profile, len(self._agents))
        else:
            self._unhold(agent)
            agent.set_profile(profile)
        self._hold(agent)
        self._compute_memberships(agent)
        agent.presence = Presence.NOT_READY
        agent.reason = "login"
        agent.last_activity_us = self._now
        agent.version += 1
        self._sync_state(agent, force=True)
        return self._take()

    def logout(self, agent_id: str) -> list[RoutingEvent]:
        """Only an idle agent (no offer, contact or wrap-up) can log out."""
        self._begin()
        agent = self._agent(agent_id)
        if agent.presence is Presence.OFFLINE:
            raise InvalidTransition(f"agent {agent_id!r} is not logged in")
        if agent.slots:
            raise InvalidTransition(f"agent {agent_id!r} still holds contacts")
        agent.presence = Presence.OFFLINE
        agent.reason = ""
        agent.version += 1
        self._sync_state(agent, force=True)
        return self._take()

    def set_state(
        self, agent_id: str, presence: Presence | str, reason: str = ""
    ) -> list[RoutingEvent]:
        """ready <-> not_ready(reason). Not ready while busy = no new offers after this work."""
        self._begin()
        agent = self._agent(agent_id)
        try:
            wanted = Presence(presence)
        except ValueError as exc:
            raise InvalidArgument(f"unknown presence {presence!r}") from exc
        if wanted is Presence.OFFLINE:
            raise InvalidArgument("use logout to go offline")
        if agent.presence is Presence.OFFLINE:
            raise InvalidTransition(f"agent {agent_id!r} is not logged in")
        reason = "" if wanted is Presence.READY else reason
        if wanted is agent.presence and reason == agent.reason:
            raise InvalidTransition(f"agent {agent_id!r} is already {wanted.value}")
        if wanted is Presence.READY and agent.profile.site in self._sites_down:
            raise InvalidTransition(f"site {agent.profile.site!r} is down")
        if wanted is Presence.READY and agent.presence is not Presence.READY:
            agent.last_activity_us = self._now
        agent.presence = wanted
        agent.reason = reason
        agent.version += 1
        self._sync_state(agent, force=True)
        self._route_agent(agent)
        return self._take()

    def set_skills(self, agent_id: str, skills: Mapping[str, int]) -> list[RoutingEvent]:
        self._begin()
        agent = self._agent(agent_id)
        profile = replace(agent.profile, skills=skills)
        self._known_skills(profile.skills)
        self._unhold(agent)
        agent.set_profile(profile)
        self._hold(agent)
        self._compute_memberships(agent)
        agent.version += 1
        self._emit(AgentSkillsChanged, agent_id=agent_id)
        self._route_agent(agent)
        return self._take()

    def _hold(self, agent: AgentRT) -> None:
        for skill in agent.profile.skills:
            self._holders.setdefault(skill, {})[agent.agent_id] = agent

    def _unhold(self, agent: AgentRT) -> None:
        for skill in agent.profile.skills:
            self._holders.get(skill, {}).pop(agent.agent_id, None)

    # -- sites -------------------------------------------------------------------------------
    def site_down(self, site: str) -> list[RoutingEvent]:
        """A site fails: its agents go not ready ("site_down"), their offers and contacts go
        back to their queues with their place kept, and queues homed only there open to all."""
        self._begin()
        if not site:
            raise InvalidArgument("site is required")
        if site in self._sites_down:
            raise InvalidTransition(f"site {site!r} is already down")
        self._sites_down.add(site)
        self._emit(SiteStateChanged, site=site, up=False)
        changed = [q for q in self._queues.values() if self._refresh_home(q)]
        back: list[ContactRT] = []
        for agent in self._agents.values():
            if agent.profile.site == site and agent.presence is not Presence.OFFLINE:
                back.extend(self._evacuate(agent))
        if changed:
            self._reindex_agents()
        for contact in back:
            self._requeue(contact)
        for queue in changed:
            for contact in sorted(queue.waiting.values(), key=lambda c: c.seq):
                if contact.status is ContactStatus.WAITING:
                    self._unpublish(contact)
                    self._place(contact)
        return self._take()

    def _evacuate(self, agent: AgentRT) -> list[ContactRT]:
        back: list[ContactRT] = []
        for slot in list(agent.slots.values()):
            if slot.phase is SlotPhase.WRAP_UP:
                self._end_wrap(agent, slot, "site_down")
                continue
            contact = self._contacts[slot.contact_id]
            self._release(agent, slot)
            if slot.phase is SlotPhase.OFFERED:
                self._emit(OfferRescinded, contact_id=slot.contact_id,
                           agent_id=agent.agent_id, reason="site_down")
            else:
                self._emit(ContactRequeued, contact_id=slot.contact_id,
                           queue_id=slot.queue_id, agent_id=agent.agent_id,
                           reason="site_down")
            if contact.sticky_agent == agent.agent_id:
                self._drop_sticky(contact)
            back.append(contact)
        agent.presence = Presence.NOT_READY
        agent.reason = "site_down"
        agent.version += 1
        self._sync_state(agent, force=True)
        return back

    def site_up(self, site: str) -> list[RoutingEvent]:
        """A site is back; its agents set themselves ready again."""
        self._begin()
        if site not in self._sites_down:
            raise InvalidTransition(f"site {site!r} is not down")
        self._sites_down.discard(site)
        self._emit(SiteStateChanged, site=site, up=True)
        if [q for q in self._queues.values() if self._refresh_home(q)]:
            self._reindex_agents()
        return self._take()

    # -- lookups that raise ------------------------------------------------------------------
    def _queue(self, queue_id: str) -> QueueRT:
        queue = self._queues.get(queue_id)
        if queue is None:
            raise UnknownQueue(f"no queue {queue_id!r}")
        return queue

    def _agent(self, agent_id: str) -> AgentRT:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise UnknownAgent(f"no agent {agent_id!r}")
        return agent

    def _known_skills(self, skills: Iterable[str]) -> None:
        for skill in skills:
            if skill not in self._skills:
                raise UnknownSkill(f"no skill {skill!r}")
