"""kefu.db.group.GroupWriter: small writes share a transaction, but a job that fails fails alone
— the others of its batch are stored once, nothing of the failing one is kept, and every
caller hears its own outcome."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.bootstrap import Container
from kefu.core.events import Event
from kefu.db.eventlog import EventRecord, insert_event
from kefu.db.group import GroupWriter

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


class Refused(Exception):
    pass


def _job(topic: str, n: int, fails: bool):  # type: ignore[no-untyped-def]
    def work(session: Session) -> int:
        stored = insert_event(session, Event("probe", topic, None, AT, {"n": n}))
        if fails:  # after writing: the batch must not keep this row
            raise Refused(n)
        return int(stored.id or 0)

    return work


def _stored(container: Container, topic: str) -> list[int]:
    with container.db.sessions() as session:
        rows = session.scalars(select(EventRecord).where(EventRecord.topic == topic))
        return sorted(int(r.data["n"]) for r in rows)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fails=st.lists(st.booleans(), min_size=1, max_size=20))
def test_each_job_is_stored_once_or_fails_alone(container: Container, fails: list[bool]) -> None:
    writer = GroupWriter(container.db, max_batch=8, name="test")
    topic = f"probe.{threading.get_ident()}.{id(fails)}.{len(fails)}.{sum(fails)}"
    with container.db.sessions() as session:  # a fresh topic per example
        session.execute(EventRecord.__table__.delete().where(EventRecord.topic == topic))
        session.commit()

    async def main() -> list[object]:
        jobs = [writer.run(_job(topic, n, bad)) for n, bad in enumerate(fails)]
        return await asyncio.gather(*jobs, return_exceptions=True)

    try:
        outcomes = asyncio.run(main())
    finally:
        writer.stop()
    for n, (bad, outcome) in enumerate(zip(fails, outcomes, strict=True)):
        if bad:
            assert isinstance(outcome, Refused) and outcome.args == (n,)
        else:
            assert isinstance(outcome, int) and outcome > 0
    assert _stored(container, topic) == [n for n, bad in enumerate(fails) if not bad]
    good_ids = [o for o in outcomes if isinstance(o, int)]
    assert len(set(good_ids)) == len(good_ids)


def test_a_burst_shares_transactions(container: Container) -> None:
    writer = GroupWriter(container.db, max_batch=64, name="test")
    gate = threading.Event()

    def slow(session: Session) -> int:
        gate.wait(10)  # the writer is busy: the burst queues up behind this job
        return 0

    async def main() -> list[int]:
        first = asyncio.ensure_future(writer.run(slow))
        await asyncio.sleep(0.05)
        burst = [writer.run(_job("probe.burst", n, False)) for n in range(40)]
        gathered = asyncio.gather(*burst)
        await asyncio.sleep(0.05)
        gate.set()
        await first
        return list(await gathered)

    try:
        ids = asyncio.run(main())
    finally:
        writer.stop()
    assert _stored(container, "probe.burst") == list(range(40))
    assert ids == sorted(ids)  # stored in the order submitted
    assert writer.jobs == 41 and writer.batches <= 3
