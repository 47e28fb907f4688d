"""The question loop's scheduler: an overdue question escalates once per level, by the clock,
whether the pass runs once, twice at the same moment, or from the background loop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from kefu.db.eventlog import EventRecord
from kefu.knowledge.questions import ESCALATE_EVERY
from kefu.knowledge.worker import question_loop, run_question_pass
from kefu.tenancy.model import Role
from tests.factories import login, make_world

pytestmark = pytest.mark.integration

BASE = "/api/v1/knowledge"


@pytest.fixture(autouse=True)
def _fast_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_KNOWLEDGE_EMBEDDER", "hash")


def _escalations(container: Any, question_id: int) -> list[int]:
    with container.db.session() as session:
        rows = session.scalars(
            select(EventRecord)
            .where(EventRecord.type == "knowledge.question.escalated")
            .order_by(EventRecord.id)
        )
        return [int(r.data["level"]) for r in rows if r.data["id"] == question_id]


def _level(client: Any, question_id: int) -> int:
    return int(client.get(f"{BASE}/questions/{question_id}").json()["escalation_level"])


def test_overdue_question_escalates_once_per_level(app: Any, container: Any, clock: Any) -> None:
    world = make_world(container)
    clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))  # Friday 17:00 Shanghai
    admin = login(app, world.username(Role.ADMIN))
    module = admin.post(
        f"{BASE}/modules", json={"name": "话费账单", "owner_team_id": world.team_id}
    ).json()["id"]
    agent = login(app, world.username(Role.AGENT))
    asked = agent.post(f"{BASE}/questions", json={"text": "漫游费怎么退", "module_id": module})
    assert asked.status_code == 201, asked.text
    question = asked.json()
    due = datetime.fromisoformat(question["due_at"])
    other = agent.post(f"{BASE}/questions", json={"text": "积分怎么查", "module_id": module}).json()

    clock.set(due - timedelta(minutes=1))
    # The database is shared with other tests (other tenants' questions): count ours only.
    run_question_pass(container.db, clock)
    assert _escalations(container, question["id"]) == []  # not due yet
    # the other question is answered in time: it never escalates
    backoffice = login(app, world.username(Role.BACKOFFICE))
    answered = backoffice.post(
        f"{BASE}/questions/{other['id']}/answer", json={"answer": "发送JF到10086查询积分。"}
    )
    assert answered.status_code == 200, answered.text

    clock.set(due + timedelta(minutes=1))
    run_question_pass(container.db, clock)
    assert _escalations(container, question["id"]) == [1]
    run_question_pass(container.db, clock)  # a second worker, same minute
    assert _escalations(container, question["id"]) == [1]
    clock.advance(minutes=30)
    run_question_pass(container.db, clock)  # still level 1 until 4 hours on
    agent = login(app, world.username(Role.AGENT))
    assert _level(agent, question["id"]) == 1
    assert _escalations(container, question["id"]) == [1]
    assert _escalations(container, other["id"]) == []

    # the background loop started with the application does the next level by itself
    clock.set(due + ESCALATE_EVERY + timedelta(minutes=1))

    async def run_loop_briefly() -> None:
        task = asyncio.create_task(question_loop(container.db, clock, interval=0.01))
        for _ in range(500):
            await asyncio.sleep(0.01)
            if len(_escalations(container, question["id"])) >= 2:
                break
        await asyncio.sleep(0.05)  # a few more passes at the same moment change nothing
        task.cancel()

    asyncio.run(run_loop_briefly())
    assert _escalations(container, question["id"]) == [1, 2]
    agent = login(app, world.username(Role.AGENT))
    assert _level(agent, question["id"]) == 2
