"""The open-order rollup behind the backlog-by-age report (``wo_backlog_slots``).

Every flush that inserts an open order, closes or reopens one, or moves an open one to another
group adds ±1 to the order's creation slots (its UTC hour and its UTC day) for the old and the
new group — in the same transaction, one upsert statement per flush. The hook listens on every
session (the API's, the SLA worker's and the routing runtime's), so no writer can forget it.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, delete, event, inspect, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kefu.core.clock import ensure_utc
from kefu.tickets.tables import BacklogSlot, WorkOrder

__all__ = ["HOUR_WINDOW_DAYS", "open_slots", "rebuild", "slots_of"]

_KEY = "wo_backlog_delta"
HOUR_WINDOW_DAYS = 31  # the report reads hour slots this far back, day slots before


def slots_of(created_at: datetime) -> tuple[datetime, datetime]:
    moment = ensure_utc(created_at)
    hour = moment.replace(minute=0, second=0, microsecond=0)
    return hour, hour.replace(hour=0)


def _add(
    delta: Counter[tuple[int, str, datetime, int]], order: WorkOrder, group: Any, n: int
) -> None:
    hour, day = slots_of(order.created_at)
    gid = int(group or 0)
    delta[(order.tenant_id, "h", hour, gid)] += n
    delta[(order.tenant_id, "d", day, gid)] += n


def _old(order: WorkOrder, name: str) -> Any:
    history = inspect(order).attrs[name].history
    if history.deleted:
        return history.deleted[0]
    return getattr(order, name)


@event.listens_for(Session, "before_flush")
def _collect(session: Session, _context: Any, _instances: Any) -> None:
    delta: Counter[tuple[int, str, datetime, int]] = session.info.setdefault(_KEY, Counter())
    for obj in session.new:
        if isinstance(obj, WorkOrder) and obj.is_open and obj.created_at is not None:
            _add(delta, obj, obj.group_id, +1)
    for obj in session.dirty:
        if not isinstance(obj, WorkOrder) or obj.created_at is None:
            continue
        was_open, was_group = bool(_old(obj, "is_open")), _old(obj, "group_id")
        if (was_open, was_group) == (bool(obj.is_open), obj.group_id):
            continue
        if was_open:
            _add(delta, obj, was_group, -1)
        if obj.is_open:
            _add(delta, obj, obj.group_id, +1)


@event.listens_for(Session, "after_flush")
def _apply(session: Session, _context: Any) -> None:
    delta = session.info.pop(_KEY, None)
    changes = {k: n for k, n in (delta or {}).items() if n}
    if not changes:
        return
    connection = session.connection()
    table = cast(Table, BacklogSlot.__table__)
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    rows = [
        {"tenant_id": t, "span": span, "slot": slot, "group_id": g, "open_count": n}
        for (t, span, slot, g), n in sorted(changes.items())
    ]
    stmt = insert(table).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "span", "slot", "group_id"],
        set_={"open_count": table.c.open_count + stmt.excluded.open_count},
    )
    connection.execute(stmt)
    fallen = [k for k, n in changes.items() if n < 0]
    if fallen:
        connection.execute(
            delete(table).where(
                table.c.open_count <= 0,
                or_(
                    *(
                        and_(
                            table.c.tenant_id == t,
                            table.c.span == span,
                            table.c.slot == slot,
                            table.c.group_id == g,
                        )
                        for t, span, slot, g in fallen
                    )
                ),
            )
        )


def open_slots(tenant_id: int, now: datetime) -> Any:
    """The rows to read: hour slots of the last ``HOUR_WINDOW_DAYS``, day slots before."""
    edge = slots_of(ensure_utc(now) - timedelta(days=HOUR_WINDOW_DAYS))[1]
    return select(BacklogSlot.group_id, BacklogSlot.slot, BacklogSlot.open_count).where(
        BacklogSlot.tenant_id == tenant_id,
        or_(
            and_(BacklogSlot.span == "h", BacklogSlot.slot >= edge),
            and_(BacklogSlot.span == "d", BacklogSlot.slot < edge),
        ),
    )


def rebuild(session: Session, tenant_id: int) -> int:
    """Recount a tenant's slots from its open orders (after bulk loads); returns open orders."""
    session.execute(delete(BacklogSlot).where(BacklogSlot.tenant_id == tenant_id))
    delta: Counter[tuple[int, str, datetime, int]] = Counter()
    count = 0
    rows = session.execute(
        select(WorkOrder.group_id, WorkOrder.created_at).where(
            WorkOrder.tenant_id == tenant_id, WorkOrder.is_open.is_(True)
        )
    )
    for group_id, created_at in rows:
        hour, day = slots_of(created_at)
        delta[(tenant_id, "h", hour, int(group_id or 0))] += 1
        delta[(tenant_id, "d", day, int(group_id or 0))] += 1
        count += 1
    for (t, span, slot, g), n in delta.items():
        session.add(BacklogSlot(tenant_id=t, span=span, slot=slot, group_id=g, open_count=n))
    session.flush()
    return count
