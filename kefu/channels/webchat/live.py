"""Customer-side live delivery: committed chat events reach the sockets of their conversation.

The bus calls ``ChatFanout.on_event`` for every committed event (from any thread); a socket is
registered under exactly one conversation id (the one its token names), so a customer's stream
can only ever carry that conversation's messages. Lookup is one dict access per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from kefu.core.events import Event

__all__ = ["ChatFanout", "Listener", "QueueBoard", "fanout_for"]

QUEUE_LIMIT = 5_000


@dataclass(eq=False)
class Listener:
    conversation_id: int
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_LIMIT)
    )

    def offer(self, message: dict[str, Any]) -> None:
        def put() -> None:
            if self.queue.full():  # a stalled reader is cut off (it resumes from its last seq)
                self.queue.put_nowait(None)
                return
            self.queue.put_nowait(message)

        self.loop.call_soon_threadsafe(put)


class QueueBoard:
    """Queue positions of every waiting customer with an open socket, computed in one batch
    (one read of the routing engine) every ``interval`` seconds instead of once per socket."""

    def __init__(self, interval: float = 2.0) -> None:
        self.interval = interval
        self.latest: dict[str, tuple[Any, Any]] = {}
        self._watched: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None

    def watch(self, contact_id: str, compute: Any) -> None:
        self._watched[contact_id] = self._watched.get(contact_id, 0) + 1
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(compute))

    def unwatch(self, contact_id: str) -> None:
        left = self._watched.get(contact_id, 0) - 1
        if left > 0:
            self._watched[contact_id] = left
        else:
            self._watched.pop(contact_id, None)
            self.latest.pop(contact_id, None)

    async def _run(self, compute: Any) -> None:
        from starlette.concurrency import run_in_threadpool

        while self._watched:
            ids = list(self._watched)
            # On a failure the last numbers stay; the next round tries again.
            with contextlib.suppress(Exception):
                self.latest.update(await run_in_threadpool(compute, ids))
            await asyncio.sleep(self.interval)


class ChatFanout:
    def __init__(self) -> None:
        self._by_conversation: dict[int, set[Listener]] = {}
        self._lock = threading.Lock()
        self.board = QueueBoard()

    def add(self, listener: Listener) -> None:
        with self._lock:
            self._by_conversation.setdefault(listener.conversation_id, set()).add(listener)

    def remove(self, listener: Listener) -> None:
        with self._lock:
            group = self._by_conversation.get(listener.conversation_id)
            if group is not None:
                group.discard(listener)
                if not group:
                    del self._by_conversation[listener.conversation_id]

    def count(self) -> int:
        with self._lock:
            return sum(len(g) for g in self._by_conversation.values())

    def on_event(self, event: Event) -> None:
        if event.type != "webchat.message":
            return
        conversation_id = event.data.get("conversation_id")
        if not isinstance(conversation_id, int):
            return
        with self._lock:
            targets = list(self._by_conversation.get(conversation_id, ()))
        for listener in targets:
            listener.offer(event.data)


_FANOUTS: weakref.WeakKeyDictionary[Any, ChatFanout] = weakref.WeakKeyDictionary()


def fanout_for(bus: Any) -> ChatFanout:
    """The fan-out attached to one process's event bus (created and subscribed once)."""
    found = _FANOUTS.get(bus)
    if found is None:
        found = ChatFanout()
        _FANOUTS[bus] = found
        bus.subscribe(found.on_event)
    return found
