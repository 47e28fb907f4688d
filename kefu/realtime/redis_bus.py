"""Event bus over Redis pub/sub, so every server process sees every committed event."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import redis

from kefu.core.events import Event, Handler, InProcessBus

__all__ = ["RedisBus"]

log = logging.getLogger(__name__)
CHANNEL = "kefu:events"


class RedisBus:
    """Publishes to a Redis channel; a listener thread delivers to this process's subscribers.

    Local subscribers receive their own process's events through Redis too, so every process
    sees one order of events per publisher.
    """

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self._client = redis.Redis.from_url(url)
        self._client.ping()
        self._channel = channel
        self._local = InProcessBus()
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        self._pubsub.subscribe(**{channel: self._on_message})
        self._thread = self._pubsub.run_in_thread(sleep_time=0.05, daemon=True)

    def _on_message(self, message: dict[str, object]) -> None:
        try:
            raw = json.loads(message["data"])  # type: ignore[arg-type]
            self._local.deliver([Event.from_dict(item) for item in raw])
        except Exception:
            log.exception("bad event message on %s", self._channel)

    def publish(self, events: list[Event]) -> None:
        payload = json.dumps([e.as_dict() for e in events], ensure_ascii=False)
        self._client.publish(self._channel, payload)

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        return self._local.subscribe(handler)

    def close(self) -> None:
        try:
            self._thread.stop()
            self._pubsub.close()
        finally:
            self._client.close()
            self._local.close()
