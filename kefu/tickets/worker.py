"""The periodic SLA check: every minute, in a worker thread, one transaction per pass.

With the routing engine, the pass then hands what it changed (escalations to the next group)
to ``dispatch`` and re-offers waiting orders whose deadline-driven priority stepped up.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from kefu.channels import deliver_pending
from kefu.core.clock import Clock
from kefu.db.session import Database
from kefu.tickets import dispatch
from kefu.tickets.services import SlaReport, check_sla

__all__ = ["INTERVAL_S", "run_sla_pass", "sla_loop"]

log = logging.getLogger(__name__)
INTERVAL_S = 60.0


def run_sla_pass(db: Database, clock: Clock, routing: Any = None) -> SlaReport:
    """One pass over every tenant; another process doing the same is detected, not doubled."""
    with db.session(clock=clock, actor_name="kefu sla") as session:
        if routing is not None:
            dispatch.routed_session(session, routing)
        report = check_sla(session, clock)
        session.commit()
        if routing is not None:
            dispatch.dispatch_touched(routing, session, clock)
            dispatch.reprioritise(routing, session, clock)
        deliver_pending(session, clock)  # the SMS outbox (回访 surveys), retried every pass
        return report


async def sla_loop(
    db: Database, clock: Clock, interval: float = INTERVAL_S, routing: Any = None
) -> None:
    while True:
        try:
            report = await asyncio.to_thread(run_sla_pass, db, clock, routing)
            if report.checked:
                log.info(
                    "sla check: %d orders, %d warnings, %d breaches, %d escalations",
                    report.checked,
                    report.warnings,
                    report.breaches,
                    report.escalations,
                )
        except StaleDataError:
            log.info("sla check: another process changed the same orders; next pass retries")
        except Exception:  # the loop must survive a bad pass
            log.exception("sla check failed")
        await asyncio.sleep(interval)
