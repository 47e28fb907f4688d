"""Mutable runtime state of the engine: agents, contacts, queues and their routing indexes."""

from __future__ import annotations

from heapq import heapify
from typing import Any

from mypy_extensions import mypyc_attr

from kefu.routing.model import (
    EXCLUSIVE_MEDIA,
    AgentProfile,
    AgentState,
    Contact,
    ContactStatus,
    Media,
    Presence,
    QueueConfig,
    SlotPhase,
)
from kefu.routing.policies import Requirement, StagePlan, capacity_units

__all__ = [
    "AgentEntry",
    "AgentRT",
    "ContactEntry",
    "ContactRT",
    "Heap",
    "Membership",
    "QueueRT",
    "RoutingClass",
    "Slot",
]

# Heap entries are plain tuples (fast to compare). A stale entry (version mismatch) is skipped
# and dropped when it reaches the top, or by compaction when a heap doubles.
AgentEntry = tuple[Any, ...]  # (*strategy key, ordinal, version, agent)
ContactEntry = tuple[float, int, int, int, "ContactRT"]  # -rank, enqueued_us, seq, version, contact

COMPACT_MIN = 64
PENDING_MIN = 64  # a class pushes its pending agents at the latest every 64 publications


@mypyc_attr(native_class=False)  # compiled (kefu.core.native): a list subclass stays a Python class
class Heap(list[Any]):
    """A heapq list that remembers the size at which to drop its stale entries."""

    __slots__ = ("limit",)

    def __init__(self) -> None:
        super().__init__()
        self.limit = COMPACT_MIN


def compact_agents(heap: Heap) -> None:
    heap[:] = [e for e in heap if e[-2] == e[-1].version]
    heapify(heap)
    heap.limit = max(COMPACT_MIN, 2 * len(heap))


def compact_contacts(heap: Heap) -> None:
    heap[:] = [e for e in heap if e[3] == e[4].version]
    heapify(heap)
    heap.limit = max(COMPACT_MIN, 2 * len(heap))


class Slot:
    """One contact an agent holds: offered (ringing), active, or in wrap-up."""

    __slots__ = (
        "answered_us", "contact_id", "cost", "media", "phase", "queue_id", "since_us", "token",
    )

    def __init__(
        self, contact_id: str, media: Media, queue_id: str, cost: int, now: int, token: int
    ) -> None:
        self.contact_id = contact_id
        self.media = media
        self.queue_id = queue_id
        self.cost = cost
        self.phase = SlotPhase.OFFERED
        self.since_us = now
        self.answered_us: int | None = None
        self.token = token


class Membership:
    """An agent is eligible for a routing class from stage k_skill (skills) / k_site (site)."""

    __slots__ = ("contact_targets", "epoch", "k", "k_site", "k_skill", "media", "rc", "targets")

    def __init__(self, rc: RoutingClass, k_skill: int, k_site: int | None) -> None:
        self.rc = rc
        self.media: tuple[Media, ...] = rc.queue.config.media  # narrowed to the agent's media
        # Cached per site epoch (they change only with site status): k_eff(), and for each
        # medium the agent heap it publishes into and the contact heap it takes from.
        self.targets: tuple[tuple[Media, Heap], ...] = ()  # (medium, agent heap (k_eff, m))
        self.contact_targets: tuple[tuple[Media, Heap], ...] = ()  # (medium, contact heap)
        self.k: int | None = None
        self.epoch = -1
        self.k_skill = k_skill
        self.k_site = k_site

    def k_eff(self) -> int | None:
        """First stage at which this agent may take the class's contacts, now."""
        if self.rc.queue.home_down:
            return self.k_skill
        if self.k_site is None:
            return None
        return self.k_skill if self.k_skill >= self.k_site else self.k_site


class AgentRT:
    __slots__ = (
        "all_media", "costs", "entries", "entries_version", "exclusive", "free", "free_version",
        "last_activity_us", "limit", "load", "members", "n_active", "n_wrap", "occupied_us",
        "ordinal", "presence", "profile",
        "published", "reason", "ringing", "slots", "state", "sticky", "version",
    )

    def __init__(self, profile: AgentProfile, ordinal: int) -> None:
        self.profile = profile
        self.ordinal = ordinal
        self.presence = Presence.OFFLINE
        self.reason = ""
        self.state = AgentState.OFFLINE
        self.slots: dict[str, Slot] = {}
        self.load = 0
        self.exclusive = 0
        self.n_active = 0
        self.n_wrap = 0
        self.ringing: str | None = None
        self.last_activity_us = 0
        self.occupied_us = 0
        self.version = 0
        self.published = -1
        self.free: tuple[Media, ...] = ()
        self.free_version = -1
        self.entries: dict[Any, tuple[Any, ...]] = {}  # heap entries by strategy or queue
        self.entries_version = -1
        self.members: list[Membership] = []
        self.sticky: list[ContactEntry] = []
        self.limit, self.costs = capacity_units(profile.capacity)
        self.all_media = tuple(self.costs)

    @property
    def agent_id(self) -> str:
        return self.profile.agent_id

    def set_profile(self, profile: AgentProfile) -> None:
        self.profile = profile
        self.limit, self.costs = capacity_units(profile.capacity)
        self.all_media = tuple(self.costs)

    def free_media(self) -> tuple[Media, ...]:
        """Media this agent may be offered now (ready, nothing ringing, capacity left).

        Cached per version: every change of presence, slots or load bumps ``version``."""
        if self.free_version == self.version:
            return self.free
        self.free_version = self.version
        if self.presence is not Presence.READY or self.ringing is not None or self.exclusive:
            self.free = ()
        elif not self.slots:
            self.free = self.all_media
        else:
            load, limit = self.load, self.limit
            self.free = tuple(m for m, cost in self.costs.items()
                              if m not in EXCLUSIVE_MEDIA and load + cost <= limit)
        return self.free

    def can_hold(self, media: Media) -> bool:
        return media in self.free_media()

    def derive_state(self) -> AgentState:
        # RoutingCore._sync_state has this inlined: change both together.
        if self.presence is Presence.OFFLINE:
            return AgentState.OFFLINE
        if self.ringing is not None:
            return AgentState.RESERVED
        if self.n_active:
            return AgentState.BUSY
        if self.n_wrap:
            return AgentState.WRAP_UP
        return AgentState.READY if self.presence is Presence.READY else AgentState.NOT_READY


class RoutingClass:
    """Contacts of one queue that share the same extra skills, and the agents who may take them.

    ``agent_heaps[(k, m)]``: available agents whose first eligible stage is k, for medium m,
    by the queue's strategy key. ``contact_heaps[(k, m)]``: waiting contacts at stage >= k of
    medium m, by priority. A contact at stage s looks at agent heaps k <= s; an agent with first
    stage k looks at one contact heap per medium.
    """

    __slots__ = (
        "agent_heaps", "contact_heaps", "eligible", "extra", "index", "keys", "pending",
        "pending_limit", "plan", "queue", "target_cache", "waiting",
    )

    def __init__(self, index: int, queue: QueueRT, extra: Requirement, plan: StagePlan) -> None:
        self.index = index
        self.queue = queue
        self.extra = extra
        self.plan = plan
        self.eligible: dict[str, Membership] = {}
        self.agent_heaps: dict[tuple[int, Media], Heap] = {}
        self.contact_heaps: dict[tuple[int, Media], Heap] = {}
        # (k, media) -> the (agent targets, contact targets) tuples memberships share
        self.target_cache: dict[tuple[int, tuple[Media, ...]], tuple[Any, Any]] = {}
        self.waiting = 0  # contacts published in contact_heaps (not sticky)
        self.keys: tuple[str, ...] | None = None  # skills it is indexed under; None: any agent
        # agents published but not yet pushed into agent_heaps: (version, agent, membership)
        self.pending: list[tuple[int, AgentRT, Membership]] = []
        self.pending_limit = PENDING_MIN


class QueueRT:
    __slots__ = (
        "abandoned", "aht_s", "answered", "answered_in_sl", "arrived", "classes", "config",
        "expired", "home_down", "max_wait_us", "rate", "ring_us", "rr", "sl_threshold_us",
        "step_us", "waiting",
    )

    def __init__(self, config: QueueConfig) -> None:
        self.set_config(config)
        self.classes: dict[Requirement, RoutingClass] = {}
        self.waiting: dict[str, ContactRT] = {}
        self.home_down = False
        self.rr: dict[str, int] = {}
        self.aht_s = config.default_aht_s
        self.arrived = self.answered = self.answered_in_sl = self.abandoned = self.expired = 0

    def set_config(self, config: QueueConfig) -> None:
        self.config = config
        self.rate = config.aging_per_min / 60.0
        self.sl_threshold_us = int(config.service_level.threshold_s * 1e6)
        # the configuration's durations in microseconds (as round(seconds * 1e6), see core.us)
        self.ring_us = round(config.ring_timeout_s * 1_000_000)
        self.step_us = tuple(round(step.after_s * 1_000_000) for step in config.overflow)
        self.max_wait_us = (None if config.max_wait_s is None
                            else round(config.max_wait_s * 1_000_000))


class ContactRT:
    __slots__ = (
        "agent_id", "answered_us", "base", "boost", "callback", "declined", "direct", "enq_us",
        "epoch", "media", "next_sla", "next_step", "offer_token", "published", "queue", "rank",
        "rc", "seq", "sla_token", "spec", "stage", "stage_base_us", "status", "sticky_agent",
        "sticky_until_us", "version",
    )

    def __init__(self, spec: Contact, seq: int, queue: QueueRT, rc: RoutingClass, now: int) -> None:
        self.spec = spec
        self.seq = seq
        self.queue = queue
        self.rc = rc
        self.media = spec.media
        self.status = ContactStatus.WAITING
        self.enq_us = now
        self.stage_base_us = now
        self.base = 0.0
        self.boost = 0.0
        self.rank = 0.0
        self.stage = 0
        self.next_step = 0
        self.next_sla = 0
        self.sla_token = 0
        self.version = 0
        self.epoch = 0
        self.offer_token = 0
        self.published = False
        self.agent_id: str | None = None
        self.answered_us: int | None = None
        self.declined: set[str] = set()
        self.sticky_agent: str | None = None
        self.sticky_until_us = 0
        self.direct = False
        self.callback = False

    @property
    def contact_id(self) -> str:
        return self.spec.contact_id
