"""Demo data for workforce management: six weeks of synthetic contact history for the demo
hotline's voice queues (generated, not taken from any real data set)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kefu.core.clock import Clock
from kefu.wfm.synthetic import SyntheticQueue, synthetic_rows
from kefu.wfm.tables import WfmHistory

__all__ = ["DEMO_QUEUES", "seed_wfm"]

DEMO_QUEUES = [
    SyntheticQueue("Q_BILL", 900, 210, 8, 22),
    SyntheticQueue("Q_DATA", 520, 260, 8, 22),
    SyntheticQueue("Q_BB", 300, 420, 8, 20),
]


def seed_wfm(session: Session, clock: Clock, tenant_id: int, weeks: int = 6) -> int:
    """Store ``weeks`` of 30-minute history ending yesterday; returns the number of rows."""
    today = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    first = today - timedelta(weeks=weeks)
    rows = [
        WfmHistory(
            tenant_id=tenant_id,
            queue=queue,
            interval_start=start,
            interval_min=30,
            offered=float(offered),
            aht_s=aht,
        )
        for start, queue, offered, aht in synthetic_rows(DEMO_QUEUES, first, 7 * weeks, 30)
    ]
    session.add_all(rows)
    session.flush()
    return len(rows)
