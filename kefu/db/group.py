"""Group commit for small hot writes (chat texts): one thread runs the jobs that queued up
meanwhile in one transaction, so a burst costs one commit and one thread wake-up per batch
instead of one per write.

A job is a function of a session. It may read and write, must not commit or roll back, and its
result must not depend on rows the other jobs of its batch write. If any job of a batch raises
(a refused check, a unique-key clash) or the commit fails, nothing of the batch is kept: every
job is run again alone, in a transaction of its own, and only the failing one gets its error.
Events recorded by the jobs are published after the commit, like any transaction's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from kefu.db.session import Database

__all__ = ["GroupWriter"]

log = logging.getLogger("kefu.db.group")
T = TypeVar("T")
MAX_BATCH = 64


@dataclass(slots=True)
class _Job:
    work: Callable[[Session], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # the caller went away (a closed socket): nothing to tell
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _reply(job: _Job, ok: bool, value: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the caller's loop has closed (shutdown)
        job.loop.call_soon_threadsafe(_settle, job.future, ok, value)


class GroupWriter:
    """Runs jobs on one thread, as many per transaction as have queued up (at most
    ``max_batch``). Starts on first use; ``stop`` ends the thread after the queued jobs."""

    def __init__(self, db: Database, *, max_batch: int = MAX_BATCH, name: str = "group") -> None:
        self.db = db
        self.max_batch = max_batch
        self.name = name
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batches = 0  # transactions committed (for benchmarks: jobs / batches)
        self.jobs = 0

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a shared transaction; its result once that transaction committed."""
        loop = asyncio.get_running_loop()
        job = _Job(work, loop, loop.create_future())
        self._ensure_started()
        self._queue.put(job)
        result: T = await job.future
        return result

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._loop, name=f"kefu-{self.name}", daemon=True)
                thread.start()
                self._thread = thread

    def stop(self) -> None:
        thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stopping = False
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
            self._run_batch(batch)
            if stopping:
                return

    def _run_batch(self, batch: list[_Job]) -> None:
        results: list[Any] = []
        try:
            with self.db.sessions() as session:
                for job in batch:
                    results.append(job.work(session))
                session.commit()
        except Exception:
            if len(batch) == 1:
                self._run_alone(batch[0])
            else:
                for job in batch:  # one of them failed: each alone, so it fails alone
                    self._run_alone(job)
            return
        self.batches += 1
        self.jobs += len(batch)
        for job, result in zip(batch, results, strict=True):
            _reply(job, True, result)

    def _run_alone(self, job: _Job) -> None:
        try:
            with self.db.sessions() as session:
                result = job.work(session)
                session.commit()
        except Exception as exc:  # the caller decides: a refusal to report, a clash to retry
            _reply(job, False, exc)
            return
        self.batches += 1
        self.jobs += 1
        _reply(job, True, result)
