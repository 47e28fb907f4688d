"""Routing events: what the engine reports after each command, as frozen dataclasses."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from datetime import datetime
from typing import Any, ClassVar

from kefu.routing.codec import from_plain, to_plain
from kefu.routing.errors import InvalidArgument
from kefu.routing.model import from_us

__all__ = [
    "EVENT_FIELDS",
    "EVENT_TYPES",
    "AgentSkillsChanged",
    "AgentStateChanged",
    "CallbackRequested",
    "ContactAbandoned",
    "ContactAnswered",
    "ContactClosed",
    "ContactCompleted",
    "ContactEscalated",
    "ContactExpired",
    "ContactOffered",
    "ContactOverflowed",
    "ContactQueued",
    "ContactRequeued",
    "ContactTransferred",
    "EventRecord",
    "OfferDeclined",
    "OfferRescinded",
    "OfferTimedOut",
    "QueueConfigured",
    "RoutingEvent",
    "SiteStateChanged",
    "SkillsAdded",
    "StickyExpired",
    "WrapUpEnded",
    "event_from_dict",
    "event_from_record",
    "record_of",
]


@dataclass(frozen=True, kw_only=True)
class RoutingEvent:
    """Base: ``type`` names the event, ``at`` is when it happened (timer events: their due time)."""

    type: ClassVar[str] = ""
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type}
        data.update(to_plain(self))
        return data

    @staticmethod
    def from_dict(data: dict[str, Any]) -> RoutingEvent:
        return event_from_dict(data)


@dataclass(frozen=True, kw_only=True)
class ContactQueued(RoutingEvent):
    type: ClassVar[str] = "contact_queued"
    contact_id: str
    queue_id: str
    tenant_id: str
    media: str
    priority: float
    customer_id: str = ""
    sticky_agent: str | None = None


@dataclass(frozen=True, kw_only=True)
class ContactOffered(RoutingEvent):
    type: ClassVar[str] = "contact_offered"
    contact_id: str
    agent_id: str
    queue_id: str
    media: str
    stage: int
    ring_deadline: datetime
    wait_s: float
    direct: bool = False


@dataclass(frozen=True, kw_only=True)
class OfferTimedOut(RoutingEvent):
    type: ClassVar[str] = "offer_timed_out"
    contact_id: str
    agent_id: str
    queue_id: str


@dataclass(frozen=True, kw_only=True)
class OfferDeclined(RoutingEvent):
    type: ClassVar[str] = "offer_declined"
    contact_id: str
    agent_id: str
    queue_id: str


@dataclass(frozen=True, kw_only=True)
class OfferRescinded(RoutingEvent):
    type: ClassVar[str] = "offer_rescinded"
    contact_id: str
    agent_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ContactAnswered(RoutingEvent):
    type: ClassVar[str] = "contact_answered"
    contact_id: str
    agent_id: str
    queue_id: str
    media: str
    wait_s: float
    within_sl: bool


@dataclass(frozen=True, kw_only=True)
class ContactAbandoned(RoutingEvent):
    type: ClassVar[str] = "contact_abandoned"
    contact_id: str
    queue_id: str
    reason: str
    wait_s: float


@dataclass(frozen=True, kw_only=True)
class ContactTransferred(RoutingEvent):
    type: ClassVar[str] = "contact_transferred"
    contact_id: str
    from_queue: str
    to_queue: str | None = None
    to_agent: str | None = None
    to_ivr: str | None = None
    by_agent: str | None = None
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class ContactCompleted(RoutingEvent):
    type: ClassVar[str] = "contact_completed"
    contact_id: str
    agent_id: str
    queue_id: str
    handle_s: float


@dataclass(frozen=True, kw_only=True)
class ContactRequeued(RoutingEvent):
    type: ClassVar[str] = "contact_requeued"
    contact_id: str
    queue_id: str
    agent_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ContactOverflowed(RoutingEvent):
    type: ClassVar[str] = "contact_overflowed"
    contact_id: str
    queue_id: str
    stage: int
    action: str
    to_queue: str | None = None


@dataclass(frozen=True, kw_only=True)
class ContactEscalated(RoutingEvent):
    type: ClassVar[str] = "contact_escalated"
    contact_id: str
    queue_id: str
    boost: float


@dataclass(frozen=True, kw_only=True)
class StickyExpired(RoutingEvent):
    type: ClassVar[str] = "sticky_expired"
    contact_id: str
    agent_id: str


@dataclass(frozen=True, kw_only=True)
class ContactExpired(RoutingEvent):
    type: ClassVar[str] = "contact_expired"
    contact_id: str
    queue_id: str
    reason: str
    action: str
    target: str = ""


@dataclass(frozen=True, kw_only=True)
class CallbackRequested(RoutingEvent):
    type: ClassVar[str] = "callback_requested"
    contact_id: str
    queue_id: str
    in_place: bool
    callback_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ContactClosed(RoutingEvent):
    """Exactly one per contact: its terminal state."""

    type: ClassVar[str] = "contact_closed"
    contact_id: str
    queue_id: str
    outcome: str


@dataclass(frozen=True, kw_only=True)
class AgentStateChanged(RoutingEvent):
    type: ClassVar[str] = "agent_state_changed"
    agent_id: str
    state: str
    previous: str
    presence: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class WrapUpEnded(RoutingEvent):
    type: ClassVar[str] = "wrap_up_ended"
    agent_id: str
    contact_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class AgentSkillsChanged(RoutingEvent):
    type: ClassVar[str] = "agent_skills_changed"
    agent_id: str


@dataclass(frozen=True, kw_only=True)
class QueueConfigured(RoutingEvent):
    type: ClassVar[str] = "queue_configured"
    queue_id: str
    created: bool


@dataclass(frozen=True, kw_only=True)
class SkillsAdded(RoutingEvent):
    type: ClassVar[str] = "skills_added"
    names: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class SiteStateChanged(RoutingEvent):
    type: ClassVar[str] = "site_state_changed"
    site: str
    up: bool


EVENT_TYPES: dict[str, type[RoutingEvent]] = {
    cls.type: cls
    for cls in (
        ContactQueued, ContactOffered, OfferTimedOut, OfferDeclined, OfferRescinded,
        ContactAnswered, ContactAbandoned, ContactTransferred, ContactCompleted, ContactRequeued,
        ContactOverflowed, ContactEscalated, StickyExpired, ContactExpired, CallbackRequested,
        ContactClosed, AgentStateChanged, WrapUpEnded, AgentSkillsChanged, QueueConfigured,
        SkillsAdded, SiteStateChanged,
    )
}


# -- records: the compact form the engine builds events in ------------------------------------

EventRecord = tuple[Any, ...]
"""``(event class, at_us, *values)``: the values of the class's fields after ``at``, in
declaration order (EVENT_FIELDS); times are integer microseconds since model.EPOCH (``at`` and
ContactOffered.ring_deadline). The engine builds every event as a record (a tuple costs a
fraction of a frozen dataclass) and turns them into RoutingEvent objects when a command returns,
unless it was created with ``records=True`` (trusted in-process consumers: the digital twin)."""

EVENT_FIELDS: dict[type[RoutingEvent], tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls)) for cls in EVENT_TYPES.values()
}
_DEFAULTS: dict[type[RoutingEvent], dict[str, Any]] = {
    cls: {f.name: f.default for f in fields(cls) if f.default is not MISSING}
    for cls in EVENT_TYPES.values()
}
_US_FIELDS: dict[type[RoutingEvent], tuple[str, ...]] = {ContactOffered: ("ring_deadline",)}
_new = object.__new__


def record_of(cls: type[RoutingEvent], at_us: int, **values: Any) -> EventRecord:
    """A record from keyword values (omitted fields take their defaults)."""
    defaults = _DEFAULTS[cls]
    return (cls, at_us, *[values[n] if n in values else defaults[n]
                          for n in EVENT_FIELDS[cls][1:]])


def event_from_record(record: EventRecord, at: datetime | None = None) -> RoutingEvent:
    """The RoutingEvent of a record (``at``: its time as a datetime, when already known)."""
    cls = record[0]
    event: RoutingEvent = _new(cls)
    # Frozen: the fields are set once, here, as __init__ would (same order: a shared-key dict).
    data = event.__dict__
    data.update(zip(EVENT_FIELDS[cls], record[1:], strict=True))
    data["at"] = at if at is not None else from_us(record[1])
    for name in _US_FIELDS.get(cls, ()):
        data[name] = from_us(data[name])
    return event


def event_from_dict(data: dict[str, Any]) -> RoutingEvent:
    cls = EVENT_TYPES.get(str(data.get("type")))
    if cls is None:
        raise InvalidArgument(f"unknown event type {data.get('type')!r}")
    return from_plain(cls, {k: v for k, v in data.items() if k != "type"})
