"""Events and the bus that carries them to subscribers after the transaction commits."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

__all__ = ["Event", "EventBus", "Handler", "InProcessBus"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened, as stored in the event log and delivered to subscribers.

    ``id`` is the event log's sequence number (assigned when stored, increasing across the
    whole installation); ``topic`` groups events for websocket subscriptions
    (e.g. ``tenancy``, ``routing.queue.7``); ``data`` is JSON-serialisable.
    """

    type: str
    topic: str
    tenant_id: int | None
    occurred_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "topic": self.topic,
            "tenant_id": self.tenant_id,
            "occurred_at": self.occurred_at.isoformat(),
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Event:
        return cls(
            type=str(raw["type"]),
            topic=str(raw["topic"]),
            tenant_id=raw.get("tenant_id"),
            occurred_at=datetime.fromisoformat(str(raw["occurred_at"])),
            data=dict(raw.get("data") or {}),
            id=raw.get("id"),
        )


Handler = Callable[[Event], None]


class EventBus(Protocol):
    """Publishes committed events to every subscriber of every process that shares the bus."""

    def publish(self, events: list[Event]) -> None: ...

    def subscribe(self, handler: Handler) -> Callable[[], None]: ...

    def close(self) -> None: ...


class InProcessBus:
    """The embedded default: subscribers in this process, called synchronously in order."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []
        self._lock = threading.Lock()

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        with self._lock:
            self._handlers.append(handler)

        def unsubscribe() -> None:
            with self._lock:
                if handler in self._handlers:
                    self._handlers.remove(handler)

        return unsubscribe

    def publish(self, events: list[Event]) -> None:
        self.deliver(events)

    def deliver(self, events: list[Event]) -> None:
        """Hand events to the local subscribers; one failing subscriber does not stop others."""
        with self._lock:
            handlers = list(self._handlers)
        for event in events:
            for handler in handlers:
                try:
                    handler(event)
                except Exception:  # a subscriber's bug must not lose the event for others
                    log.exception("event handler failed for %s", event.type)

    def close(self) -> None:
        with self._lock:
            self._handlers.clear()
