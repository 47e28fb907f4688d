"""Websocket fan-out: tenant-scoped topic subscriptions, snapshots and replay on resume."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from kefu.core.events import Event
from kefu.tenancy import Principal

__all__ = [
    "Connection",
    "Hub",
    "SnapshotProvider",
    "SocketCommand",
    "SocketStage",
    "topic_matches",
]

SnapshotProvider = Callable[[Session, Principal, str], dict[str, Any]]
# A command sent over the staff websocket: (session, principal, message) -> reply data. It runs
# on a worker thread with a fresh session whose principal was re-checked in that session, and
# commits its own writes.
SocketCommand = Callable[[Session, Principal, dict[str, Any]], dict[str, Any]]
# Optional fast path of a command, run in a transaction shared with other writes (group
# commit): it must not commit, and returns None (having written nothing) when the command
# must run alone.
SocketStage = Callable[[Session, Principal, dict[str, Any]], dict[str, Any] | None]
Authorizer = Callable[[Principal, str], bool]
QUEUE_LIMIT = 10_000


def topic_matches(pattern: str, topic: str) -> bool:
    return topic.startswith(pattern[:-1]) if pattern.endswith("*") else topic == pattern


@dataclass(eq=False)
class Connection:
    principal: Principal
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Event | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    topics: set[str] = field(default_factory=set)
    # Live events wait behind this gate while a subscription's snapshot or replay is being sent.
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    # Per subscribed topic: the highest event id already covered by its snapshot or replay.
    covered: dict[str, int] = field(default_factory=dict)
    last_seen: float = 0.0
    # How the socket signed in ("token" or "session", and the secret): commands re-check it.
    credential: tuple[str, str] = ("", "")

    def wants(self, event: Event) -> bool:
        return event.tenant_id == self.principal.tenant_id and any(
            topic_matches(t, event.topic) for t in self.topics
        )

    def already_sent(self, event: Event) -> bool:
        """True when every subscription that wants ``event`` already covered it at catch-up."""
        if event.id is None:
            return False
        marks = [self.covered.get(t, 0) for t in self.topics if topic_matches(t, event.topic)]
        return bool(marks) and min(marks) >= event.id

    def offer(self, event: Event) -> None:
        """Called from any thread: hand the event to this connection's loop."""

        def put() -> None:
            if self.queue.full():  # a stalled client is cut off rather than growing memory
                self.queue.put_nowait(None)
                return
            self.queue.put_nowait(event)

        self.loop.call_soon_threadsafe(put)


class Hub:
    """Receives every committed event from the bus and queues it for interested connections."""

    def __init__(self) -> None:
        self._connections: set[Connection] = set()
        self._lock = threading.Lock()
        self._providers: dict[str, tuple[Authorizer, SnapshotProvider]] = {}
        self._commands: dict[str, tuple[str, SocketCommand, SocketStage | None]] = {}

    def register_snapshot(
        self,
        prefix: str,
        permission: str | None,
        provider: SnapshotProvider,
        authorize: Authorizer | None = None,
    ) -> None:
        """Topics starting with ``prefix`` (longest prefix wins) need ``permission`` — or pass
        ``authorize`` for a finer rule — and get their snapshot from ``provider``."""

        def by_permission(principal: Principal, _topic: str) -> bool:
            return not permission or principal.can(permission)

        self._providers[prefix] = (authorize or by_permission, provider)

    def _match(self, topic: str) -> tuple[Authorizer, SnapshotProvider] | None:
        for prefix in sorted(self._providers, key=len, reverse=True):
            if topic.startswith(prefix):
                return self._providers[prefix]
        return None

    def allowed(self, principal: Principal, topic: str) -> bool:
        found = self._match(topic)
        return found is not None and found[0](principal, topic)

    def register_command(
        self,
        op: str,
        permission: str,
        command: SocketCommand,
        stage: SocketStage | None = None,
    ) -> None:
        """Let a signed-in client holding ``permission`` send ``{"op": op, "ref", ...}``."""
        self._commands[op] = (permission, command, stage)

    def command(self, op: str) -> tuple[str, SocketCommand, SocketStage | None] | None:
        return self._commands.get(op)

    def snapshot(self, session: Session, principal: Principal, topic: str) -> dict[str, Any]:
        found = self._match(topic)
        return found[1](session, principal, topic) if found else {}

    def add(self, connection: Connection) -> None:
        with self._lock:
            self._connections.add(connection)

    def remove(self, connection: Connection) -> None:
        with self._lock:
            self._connections.discard(connection)

    def count(self) -> int:
        with self._lock:
            return len(self._connections)

    def on_event(self, event: Event) -> None:
        with self._lock:
            targets = [c for c in self._connections if c.wants(event)]
        for connection in targets:
            connection.offer(event)
