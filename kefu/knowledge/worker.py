"""The question loop's scheduler: every minute, in a worker thread, overdue questions escalate.

Started with the application (``kefu.bootstrap`` lifespan), like the tickets' SLA check. Every
process may run it: :func:`kefu.knowledge.questions.escalate_overdue` raises each level with a
conditional update, so a question escalates (and its owners are told) once per level.
"""

from __future__ import annotations

import asyncio
import logging

from kefu.core.clock import Clock
from kefu.db.session import Database
from kefu.knowledge.questions import escalate_overdue

__all__ = ["INTERVAL_S", "question_loop", "run_question_pass"]

log = logging.getLogger(__name__)
INTERVAL_S = 60.0


def run_question_pass(db: Database, clock: Clock) -> int:
    """One pass over every tenant's open questions; returns how many escalated now."""
    with db.session(clock=clock, actor_name="kefu knowledge") as session:
        return len(escalate_overdue(session, clock))


async def question_loop(db: Database, clock: Clock, interval: float = INTERVAL_S) -> None:
    while True:
        try:
            escalated = await asyncio.to_thread(run_question_pass, db, clock)
            if escalated:
                log.info("knowledge questions: %d escalated", escalated)
        except Exception:  # the loop must survive a bad pass
            log.exception("knowledge question escalation failed")
        await asyncio.sleep(interval)
