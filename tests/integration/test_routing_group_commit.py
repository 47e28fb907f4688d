"""The routing worker stores the commands that queued up meanwhile in one transaction (group
commit). A command whose write fails must fail alone: the others of its batch are stored, the
engine matches the log, and nothing is half-stored."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.bootstrap import Container
from kefu.routing.commands import AddSkills
from kefu.routing.events import RoutingEvent
from kefu.routing.runtime import RoutingRuntime
from kefu.routing.tables import RoutingCommandRecord

pytestmark = pytest.mark.integration


def _submit_async(
    runtime: RoutingRuntime, name: str, before_commit: Any = None
) -> Future[list[RoutingEvent]]:
    out: Future[list[RoutingEvent]] = Future()

    def run() -> None:
        try:
            out.set_result(
                runtime.submit(
                    AddSkills(names=(name,)), tenant_id=None, before_commit=before_commit
                )
            )
        except BaseException as exc:  # handed to the test
            out.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return out


def test_a_failing_write_fails_only_its_own_command(container: Container) -> None:
    runtime = container.routing
    runtime.start()
    try:
        gate, entered = threading.Event(), threading.Event()

        def hold(_session: Session, _events: list[RoutingEvent]) -> None:
            entered.set()
            gate.wait(10)  # the worker is busy: the next commands queue up behind this one

        def broken(_session: Session, _events: list[RoutingEvent]) -> None:
            raise RuntimeError("the channel's write failed")

        first = _submit_async(runtime, "first", hold)
        assert entered.wait(10)
        deadline = time.monotonic() + 10
        others = [_submit_async(runtime, f"s{n}") for n in range(8)]
        bad = _submit_async(runtime, "bad", broken)
        others += [_submit_async(runtime, f"t{n}") for n in range(8)]
        while runtime._jobs.qsize() < 17 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert runtime._jobs.qsize() == 17  # one batch behind the held command
        gate.set()

        assert first.result(10) is not None
        for f in others:
            f.result(10)
        with pytest.raises(RuntimeError, match="write failed"):
            bad.result(10)
    finally:
        runtime.stop()

    with container.db.sessions() as session:
        stored = [
            d["names"][0]
            for d in session.scalars(
                select(RoutingCommandRecord.data)
                .where(RoutingCommandRecord.type == "add_skills")
                .order_by(RoutingCommandRecord.id)
            )
            if d["names"][0]
            in {"first", "bad"} | {f"s{n}" for n in range(8)} | {f"t{n}" for n in range(8)}
        ]
    assert stored == ["first"] + [f"s{n}" for n in range(8)] + [f"t{n}" for n in range(8)]
    # The engine was rebuilt from the log: it knows exactly what was stored.
    assert "bad" not in runtime.skills
    assert {"first", "s0", "t7"} <= runtime.skills


def test_commands_that_queue_up_share_one_transaction(container: Container) -> None:
    """The worker's cost is database round trips: 16 queued commands are one commit."""
    from sqlalchemy import event

    runtime = container.routing
    commits: list[int] = []
    event.listen(runtime.db.sessions, "after_commit", lambda _s: commits.append(1))
    runtime.start()
    try:
        gate, entered = threading.Event(), threading.Event()

        def hold(_session: Session, _events: list[RoutingEvent]) -> None:
            entered.set()
            gate.wait(10)

        first = _submit_async(runtime, "first", hold)
        assert entered.wait(10)
        queued = [_submit_async(runtime, f"q{n}") for n in range(16)]
        deadline = time.monotonic() + 10
        while runtime._jobs.qsize() < 16 and time.monotonic() < deadline:
            time.sleep(0.01)
        before = len(commits)
        gate.set()
        first.result(10)
        for f in queued:
            f.result(10)
        assert len(commits) - before <= 2  # the held command's, then one for all 16
    finally:
        runtime.stop()
    assert {f"q{n}" for n in range(16)} <= runtime.skills
