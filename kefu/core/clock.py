"""One notion of "now" for every engine: system time, manual time for tests, simulated time.

All clocks return timezone-aware UTC datetimes. Engines take a Clock and never call
datetime.now() themselves, so the same code runs live, under test and in the digital twin.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "SimClock", "SystemClock", "ensure_utc"]


def ensure_utc(moment: datetime) -> datetime:
    """Return ``moment`` in UTC; refuse naive datetimes (they are ambiguous)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: a time zone is required")
    return moment.astimezone(UTC)


@runtime_checkable
class Clock(Protocol):
    """Source of the current time (timezone-aware, UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to: for tests."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = ensure_utc(start) if start else datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        moment = ensure_utc(moment)
        with self._lock:
            if moment < self._now:
                raise ValueError("a clock does not go backwards")
            self._now = moment

    def advance(self, seconds: float = 0.0, **delta: float) -> datetime:
        step = timedelta(seconds=seconds, **delta)
        if step < timedelta(0):
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += step
            return self._now


@dataclass(order=True)
class _Scheduled:
    at: datetime
    seq: int
    action: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class SimClock:
    """Discrete-event virtual time: actions are scheduled at instants and run in order.

    ``run_until`` jumps from one scheduled instant to the next; ``now()`` is the instant of the
    action being run. Ties run in scheduling order, which keeps simulations reproducible.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = ensure_utc(start) if start else datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
        self._queue: list[_Scheduled] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._now

    def schedule_at(self, at: datetime, action: Callable[[], None]) -> _Scheduled:
        at = ensure_utc(at)
        if at < self._now:
            at = self._now
        item = _Scheduled(at, next(self._seq), action)
        heapq.heappush(self._queue, item)
        return item

    def schedule_in(self, seconds: float, action: Callable[[], None]) -> _Scheduled:
        return self.schedule_at(self._now + timedelta(seconds=max(0.0, seconds)), action)

    @staticmethod
    def cancel(item: _Scheduled) -> None:
        item.cancelled = True

    def pending(self) -> int:
        return sum(1 for item in self._queue if not item.cancelled)

    def run_until(self, end: datetime | None = None) -> int:
        """Run scheduled actions up to and including ``end`` (or until none remain)."""
        limit = ensure_utc(end) if end else None
        ran = 0
        while self._queue:
            head = self._queue[0]
            if limit is not None and head.at > limit:
                break
            heapq.heappop(self._queue)
            if head.cancelled:
                continue
            self._now = head.at
            head.action()
            ran += 1
        if limit is not None and limit > self._now:
            self._now = limit
        return ran
