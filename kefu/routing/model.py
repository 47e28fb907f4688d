"""Routing model: media, states, and the queue, agent and contact configuration the engine takes."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TypeVar

from kefu.core.clock import ensure_utc
from kefu.routing.errors import InvalidArgument

__all__ = [
    "ALL_MEDIA",
    "EPOCH",
    "EXCLUSIVE_MEDIA",
    "MAX_LEVEL",
    "AgentProfile",
    "AgentState",
    "Contact",
    "ContactStatus",
    "MaxWaitAction",
    "Media",
    "Outcome",
    "OverflowAction",
    "OverflowStep",
    "Presence",
    "QueueConfig",
    "ServiceLevel",
    "SlaStep",
    "SlotPhase",
    "Strategy",
    "Weights",
    "from_us",
    "to_us",
]

MAX_LEVEL = 10
# Internal time is integer microseconds since this instant: exact, cheap to compare, replayable.
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    """Microseconds since EPOCH for an aware datetime."""
    if moment.tzinfo is not UTC:
        moment = ensure_utc(moment)
    return (moment - EPOCH) // _US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


class Media(enum.StrEnum):
    VOICE = "voice"
    CALLBACK = "callback"
    VIDEO = "video"
    CHAT = "chat"
    SMS = "sms"
    SOCIAL = "social"
    EMAIL = "email"
    WORK_ORDER = "work_order"


ALL_MEDIA: tuple[Media, ...] = tuple(Media)
# Synchronous media: offered only to an agent holding nothing else, and block everything while held.
EXCLUSIVE_MEDIA: frozenset[Media] = frozenset({Media.VOICE, Media.CALLBACK, Media.VIDEO})


class Presence(enum.StrEnum):
    """What the agent chose: the only input to "may this agent get a new offer"."""

    OFFLINE = "offline"
    NOT_READY = "not_ready"
    READY = "ready"


class AgentState(enum.StrEnum):
    """What a supervisor sees, derived from presence and slots (see docs/routing.md)."""

    OFFLINE = "offline"
    NOT_READY = "not_ready"
    READY = "ready"
    RESERVED = "reserved"
    BUSY = "busy"
    WRAP_UP = "wrap_up"


class SlotPhase(enum.StrEnum):
    OFFERED = "offered"
    ACTIVE = "active"
    WRAP_UP = "wrap_up"


class ContactStatus(enum.StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    ACTIVE = "active"
    CLOSED = "closed"


class Outcome(enum.StrEnum):
    """The one terminal state of a contact."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    CALLBACK = "callback"
    TRANSFERRED = "transferred"
    EXPIRED = "expired"


class Strategy(enum.StrEnum):
    LONGEST_IDLE = "longest_idle"
    LEAST_OCCUPIED = "least_occupied"
    HIGHEST_SKILL = "highest_skill"
    ROUND_ROBIN = "round_robin"
    TOP_DOWN = "top_down"
    WEIGHTED = "weighted"


class OverflowAction(enum.StrEnum):
    RELAX_LEVEL = "relax_level"
    ADD_SKILLS = "add_skills"
    OPEN_SITES = "open_sites"
    MOVE_QUEUE = "move_queue"


class MaxWaitAction(enum.StrEnum):
    CALLBACK = "callback"
    VOICEMAIL = "voicemail"
    IVR = "ivr"


_K = TypeVar("_K")
_V = TypeVar("_V")


def _frozen_map(items: Mapping[_K, _V]) -> Mapping[_K, _V]:
    """Canonical, read-only copy sorted by key: persisted JSON(B) may reorder keys."""
    return MappingProxyType(dict(sorted(items.items(), key=lambda kv: str(kv[0]))))


def _check_skills(skills: Mapping[str, int], what: str) -> Mapping[str, int]:
    for name, level in skills.items():
        if not isinstance(name, str) or not name:
            raise InvalidArgument(f"{what}: skill names are non-empty strings")
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= MAX_LEVEL:
            raise InvalidArgument(f"{what}: level of {name!r} must be 1..{MAX_LEVEL}")
    return _frozen_map(skills)


def _finite(value: float, what: str, *, minimum: float | None = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidArgument(f"{what} must be a finite number")
    if minimum is not None and value < minimum:
        raise InvalidArgument(f"{what} must be >= {minimum}")
    return float(value)


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


_new = object.__new__
_setattr = object.__setattr__
_NO_MAP: Mapping[str, object] = MappingProxyType({})


@dataclass(frozen=True, kw_only=True)
class ServiceLevel:
    """Answer ``target`` of contacts within ``threshold_s`` seconds (e.g. 80% in 20 s)."""

    target: float = 0.8
    threshold_s: float = 20.0

    def __post_init__(self) -> None:
        if not 0.0 < _finite(self.target, "service level target") <= 1.0:
            raise InvalidArgument("service level target must be in (0, 1]")
        _finite(self.threshold_s, "service level threshold")


@dataclass(frozen=True, kw_only=True)
class OverflowStep:
    """After ``after_s`` seconds in the queue, widen who may take the contact (or move it)."""

    after_s: float
    action: OverflowAction
    relax_by: int = 1
    skills: Mapping[str, int] = field(default_factory=dict)
    sites: tuple[str, ...] = ()
    queue_id: str = ""

    def __post_init__(self) -> None:
        _finite(self.after_s, "overflow after_s")
        _set(self, "action", OverflowAction(self.action))
        _set(self, "skills", _check_skills(self.skills, "overflow skills"))
        _set(self, "sites", tuple(sorted(set(self.sites))))
        if self.action is OverflowAction.RELAX_LEVEL and not 1 <= self.relax_by < MAX_LEVEL:
            raise InvalidArgument("relax_by must be 1..9")
        if self.action is OverflowAction.ADD_SKILLS and not self.skills:
            raise InvalidArgument("add_skills needs skills")
        if self.action is OverflowAction.MOVE_QUEUE and not self.queue_id:
            raise InvalidArgument("move_queue needs queue_id")


@dataclass(frozen=True, kw_only=True)
class Weights:
    """Weighted strategy, higher score first:
    score = idle*idle_s - occupancy*busy_s_today + 60*(skill*level - tier*tier)."""

    idle: float = 1.0
    occupancy: float = 0.0
    skill: float = 0.0
    tier: float = 0.0


@dataclass(frozen=True, kw_only=True)
class SlaStep:
    """``before_s`` seconds before a contact's SLA deadline its priority gets ``boost``."""

    before_s: float
    boost: float


DEFAULT_SLA_STEPS: tuple[SlaStep, ...] = (
    SlaStep(before_s=3600.0, boost=10.0),
    SlaStep(before_s=900.0, boost=40.0),
    SlaStep(before_s=0.0, boost=80.0),
)


@dataclass(frozen=True, kw_only=True)
class QueueConfig:
    """One queue: who may serve it, in which order, and what happens when it waits too long.

    Priorities are points (higher first). Effective priority of a waiting contact =
    base_priority + media_priority[media] + contact.priority + SLA boost + aging_per_min * minutes
    waited. ``sites`` are the home sites (empty = every site).
    """

    queue_id: str
    tenant_id: str
    skills: Mapping[str, int] = field(default_factory=dict)
    media: tuple[Media, ...] = ALL_MEDIA
    base_priority: float = 0.0
    media_priority: Mapping[Media, float] = field(default_factory=dict)
    aging_per_min: float = 1.0
    sla_steps: tuple[SlaStep, ...] = DEFAULT_SLA_STEPS
    service_level: ServiceLevel = field(default_factory=ServiceLevel)
    strategy: Strategy = Strategy.LONGEST_IDLE
    weights: Weights = field(default_factory=Weights)
    tiers: Mapping[str, int] = field(default_factory=dict)
    overflow: tuple[OverflowStep, ...] = ()
    sites: tuple[str, ...] = ()
    max_wait_s: float | None = None
    max_wait_action: MaxWaitAction = MaxWaitAction.VOICEMAIL
    max_wait_target: str = ""
    max_length: int | None = None
    ring_timeout_s: float = 20.0
    wrap_up_s: float = 60.0
    sticky_s: float = 30.0
    transfer_wait_s: float = 60.0
    default_aht_s: float = 180.0

    def __post_init__(self) -> None:
        if not self.queue_id or not self.tenant_id:
            raise InvalidArgument("queue_id and tenant_id are required")
        _set(self, "skills", _check_skills(self.skills, f"queue {self.queue_id}"))
        media = {Media(m) for m in self.media}
        if not media:
            raise InvalidArgument("a queue accepts at least one medium")
        _set(self, "media", tuple(m for m in ALL_MEDIA if m in media))
        prio = {Media(m): _finite(v, "media priority", minimum=None)
                for m, v in self.media_priority.items()}
        _set(self, "media_priority", _frozen_map(prio))
        _finite(self.base_priority, "base_priority", minimum=None)
        _finite(self.aging_per_min, "aging_per_min")
        steps = tuple(sorted(self.sla_steps, key=lambda s: (-s.before_s, s.boost)))
        for step in steps:
            _finite(step.before_s, "sla step before_s", minimum=None)
            _finite(step.boost, "sla step boost", minimum=None)
        _set(self, "sla_steps", steps)
        _set(self, "strategy", Strategy(self.strategy))
        _set(self, "tiers", _frozen_map({str(k): int(v) for k, v in self.tiers.items()}))
        # Stable sort: steps due at the same time apply in the order given.
        _set(self, "overflow", tuple(sorted(self.overflow, key=lambda s: s.after_s)))
        _set(self, "sites", tuple(sorted(set(self.sites))))
        if self.max_wait_s is not None:
            _finite(self.max_wait_s, "max_wait_s")
        _set(self, "max_wait_action", MaxWaitAction(self.max_wait_action))
        if self.max_length is not None and self.max_length < 0:
            raise InvalidArgument("max_length must be >= 0")
        for name in ("ring_timeout_s", "wrap_up_s", "sticky_s", "transfer_wait_s"):
            _finite(getattr(self, name), name)
        if self.ring_timeout_s <= 0 or self.default_aht_s <= 0:
            raise InvalidArgument("ring_timeout_s and default_aht_s must be > 0")


DEFAULT_CAPACITY: Mapping[Media, int] = MappingProxyType({Media.VOICE: 1, Media.CALLBACK: 1})


@dataclass(frozen=True, kw_only=True)
class AgentProfile:
    """Who an agent is for routing. ``capacity[m]`` = most contacts of medium m at once.

    Exclusive media (voice, callback, video) have capacity 0 or 1. Other media share one load:
    each contact of medium m uses 1/capacity[m] of it, so {"chat": 3, "email": 5} allows 3 chats,
    or 5 emails, or 2 chats and 1 email.
    """

    agent_id: str
    site: str
    team: str = ""
    skills: Mapping[str, int] = field(default_factory=dict)
    capacity: Mapping[Media, int] = field(default_factory=lambda: dict(DEFAULT_CAPACITY))

    def __post_init__(self) -> None:
        if not self.agent_id or not self.site:
            raise InvalidArgument("agent_id and site are required")
        _set(self, "skills", _check_skills(self.skills, f"agent {self.agent_id}"))
        cap: dict[Media, int] = {}
        for medium, count in self.capacity.items():
            m = Media(medium)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise InvalidArgument(f"capacity of {m} must be an integer >= 0")
            if m in EXCLUSIVE_MEDIA and count > 1:
                raise InvalidArgument(f"{m} is exclusive: capacity 0 or 1")
            if count > 100:
                raise InvalidArgument("capacity above 100 is not supported")
            if count:
                cap[m] = count
        _set(self, "capacity", MappingProxyType({m: cap[m] for m in ALL_MEDIA if m in cap}))


@dataclass(frozen=True, kw_only=True)
class Contact:
    """A unit of work to route. ``priority`` adds to the queue's base priority (VIP: +20, ...)."""

    contact_id: str
    tenant_id: str
    queue_id: str
    media: Media
    priority: float = 0.0
    customer_id: str = ""
    attributes: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    skills: Mapping[str, int] = field(default_factory=dict)
    created_at: datetime | None = None
    preferred_agent: str | None = None
    preferred_until: datetime | None = None
    sla_deadline: datetime | None = None

    def __post_init__(self) -> None:
        if not self.contact_id or not self.tenant_id or not self.queue_id:
            raise InvalidArgument("contact_id, tenant_id and queue_id are required")
        try:
            _set(self, "media", Media(self.media))
        except ValueError as exc:
            raise InvalidArgument(f"unknown medium {self.media!r}") from exc
        _finite(self.priority, "priority", minimum=None)
        _set(self, "attributes", _frozen_map(self.attributes))
        _set(self, "skills", _check_skills(self.skills, f"contact {self.contact_id}"))
        for name in ("created_at", "preferred_until", "sla_deadline"):
            value = getattr(self, name)
            if value is not None:
                try:
                    _set(self, name, ensure_utc(value))
                except ValueError as exc:
                    raise InvalidArgument(f"{name}: {exc}") from exc

    @classmethod
    def trusted(
        cls, contact_id: str, tenant_id: str, queue_id: str, media: Media, priority: float = 0.0
    ) -> Contact:
        """A contact without the checks of __post_init__, for trusted in-process callers whose
        values are valid by construction (the digital twin: ids are non-empty strings, ``media``
        a Media, ``priority`` a finite float). Equal to ``Contact(...)`` with the same values;
        input from outside (API, stored commands) goes through the checking constructor."""
        contact: Contact = _new(cls)
        _setattr(contact, "__dict__", {
            "contact_id": contact_id, "tenant_id": tenant_id, "queue_id": queue_id,
            "media": media, "priority": priority, "customer_id": "", "attributes": _NO_MAP,
            "skills": _NO_MAP, "created_at": None, "preferred_agent": None,
            "preferred_until": None, "sla_deadline": None,
        })
        return contact
