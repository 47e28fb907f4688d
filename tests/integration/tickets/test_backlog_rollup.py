"""The backlog rollup stays equal to a count of the open orders through every kind of change."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from kefu.tenancy import Principal, Scoped
from kefu.tickets import backlog, reports, services
from kefu.tickets.model import Action
from kefu.tickets.tables import WorkOrder
from tests.api.test_tickets_api import make_center

pytestmark = pytest.mark.integration


def _direct(session, tenant_id: int, now) -> dict[int, Counter[str]]:
    out: dict[int, Counter[str]] = {}
    rows = session.execute(
        select(WorkOrder.group_id, WorkOrder.created_at).where(
            WorkOrder.tenant_id == tenant_id, WorkOrder.is_open.is_(True)
        )
    )
    for group_id, created_at in rows:
        hour = backlog.slots_of(created_at)[0]
        label = next(
            (
                lab
                for lab, days in reports.AGE_BUCKETS
                if days and hour > now - timedelta(days=days)
            ),
            reports.AGE_BUCKETS[-1][0],
        )
        out.setdefault(group_id or 0, Counter())[label] += 1
    return out


def _report(session, tenant_id: int, now) -> dict[int, Counter[str]]:
    return {
        row["group_id"]: Counter({k: v for k, v in row["buckets"].items() if v})
        for row in reports.backlog_by_age(session, tenant_id, now)
    }


def test_rollup_follows_creates_moves_closes_and_reopens(app, container, clock) -> None:
    center = make_center(app, container, "wob")
    tenant = center.world.tenant_id
    rng = random.Random(5)
    principal = Principal(0, tenant, "test", "test", frozenset())
    ids: list[int] = []
    for step in range(60):
        clock.advance(hours=rng.choice([1, 5, 20, 50, 200]))
        with container.db.session(clock=clock) as session:
            scope = Scoped(session, principal, clock)
            if not ids or rng.random() < 0.5:
                created = services.create_order(
                    scope,
                    template_id=center.template,
                    title=f"单 {step}",
                    fields={"amount": "1", "phone": "13800138000"},
                    group_id=rng.choice([center.billing, center.hard]),
                )
                ids.append(created.order.id)
                continue
            order = session.get(WorkOrder, rng.choice(ids))
            assert order is not None
            allowed = {"new", "assigned", "in_progress", "reopened"}
            if order.status in allowed and rng.random() < 0.5:
                target = center.hard if order.group_id == center.billing else center.billing
                services.act(
                    scope,
                    order.id,
                    Action.TRANSFER,
                    version=order.version,
                    reason="r",
                    group_id=target,
                )
            elif order.status in allowed:
                services.act(scope, order.id, Action.CANCEL, version=order.version, reason="r")
            elif order.status == "cancelled":
                continue
            else:
                services.act(scope, order.id, Action.REOPEN, version=order.version, reason="r")
    now = clock.now()
    with container.db.session(clock=clock) as session:
        expected = _direct(session, tenant, now)
        assert sum(sum(c.values()) for c in expected.values()) > 5
        assert _report(session, tenant, now) == expected
        clock.advance(days=40)  # everything ages into the older buckets (day slots)
        later = clock.now()
        assert _report(session, tenant, later) == _direct(session, tenant, later)
        backlog.rebuild(session, tenant)
        assert _report(session, tenant, later) == _direct(session, tenant, later)
