"""The periodic SLA check on the working-day calendar: warning Thursday at closing time,
breach and escalation Friday at closing time, nothing over the weekend, pauses respected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kefu.core.calendar import BusinessCalendar
from kefu.tenancy import Principal, Scoped
from kefu.tenancy.model import Role
from kefu.tickets import services
from kefu.tickets.tables import Notification, WorkOrder
from tests.api.test_tickets_api import make_center

pytestmark = pytest.mark.integration
SH = ZoneInfo("Asia/Shanghai")


def _plain_week_after(moment: datetime) -> datetime:
    """Monday 09:00 (Shanghai) of the first week with five working days and no 调休 weekend."""
    calendar = BusinessCalendar()
    day = moment.astimezone(SH).date() + timedelta(days=7)
    while True:
        day += timedelta(days=(7 - day.weekday()) % 7 or 7)
        week = [day + timedelta(days=i) for i in range(8)]
        if (
            all(calendar.is_working_day(d) for d in week[:5])
            and not any(calendar.is_working_day(d) for d in week[5:7])
            and calendar.is_working_day(week[7])
        ):
            return datetime(day.year, day.month, day.day, 9, tzinfo=SH).astimezone(UTC)


def test_working_day_sla_through_the_week(app, container, clock) -> None:
    center = make_center(app, container)
    world = center.world
    monday = _plain_week_after(clock.now())
    clock.set(monday)
    agent = world.users[Role.AGENT]

    def scope(session, user_id: int = agent.id) -> Scoped:
        return Scoped(session, Principal(user_id, world.tenant_id, "u", "u", frozenset()), clock)

    with container.db.session(clock=clock) as session:
        order = services.create_order(
            scope(session),
            template_id=center.template,
            title="五个工作日",
            fields={"amount": "1", "phone": "13800138000"},
        ).order
        order_id = order.id
        resolution_due = order.resolution_due
    clock.set(monday + timedelta(hours=1))  # first reply within 24 h: that clock is met
    with container.db.session(clock=clock) as session:
        back = world.users[Role.BACKOFFICE].id
        services.add_comment(scope(session, back), order_id, body="已受理", visibility="customer")
    assert resolution_due is not None
    assert resolution_due.astimezone(SH).strftime("%a %H:%M") == "Fri 18:00"

    def check(at: datetime) -> services.SlaReport:
        clock.set(at)
        with container.db.session(clock=clock) as session:
            return services.check_sla(session, clock, tenant_id=world.tenant_id)

    thursday = monday + timedelta(days=3)
    assert check(thursday + timedelta(hours=8, minutes=59)).warnings == 0  # 17:59
    at_warning = check(thursday + timedelta(hours=9))  # 18:00: 36 of 45 working hours
    assert at_warning.warnings == 1 and at_warning.escalations == 1
    assert check(thursday + timedelta(hours=20)).checked == 0  # nothing due overnight
    friday_close = monday + timedelta(days=4, hours=9)
    at_breach = check(friday_close)
    assert at_breach.breaches == 1 and at_breach.escalations == 1
    assert check(friday_close + timedelta(days=2)).checked == 0  # the weekend is quiet
    with container.db.session(clock=clock) as session:
        order = session.get(WorkOrder, order_id)
        assert order is not None
        assert order.group_id == center.hard and order.sla_phase == "breached"
        assert order.escalation_level == 2
        leader_notes = (
            session.query(Notification)
            .filter_by(user_id=world.users[Role.TEAM_LEADER].id, order_id=order_id)
            .count()
        )
        assert leader_notes >= 1


def test_a_pause_moves_the_next_check(app, container, clock) -> None:
    center = make_center(app, container)
    world = center.world
    monday = _plain_week_after(clock.now())
    clock.set(monday)
    back = world.users[Role.BACKOFFICE].id
    with container.db.session(clock=clock) as session:
        s = Scoped(session, Principal(back, world.tenant_id, "b", "b", frozenset()), clock)
        order = services.create_order(
            s,
            template_id=center.template,
            title="暂停",
            fields={"amount": "1", "phone": "13800138000"},
        ).order
        session.flush()
        services.act(s, order.id, "start", version=order.version)
        session.flush()
        clock.set(monday + timedelta(hours=2))
        services.act(s, order.id, "wait_customer", version=order.version, reason="等客户回电")
        session.flush()
        assert order.sla_next_at is None and order.resolution_due is None
        order_id = order.id
    clock.set(monday + timedelta(days=1, hours=2))  # Tuesday 11:00: 9 working hours paused
    with container.db.session(clock=clock) as session:
        s = Scoped(session, Principal(back, world.tenant_id, "b", "b", frozenset()), clock)
        order = session.get(WorkOrder, order_id)
        assert order is not None
        services.act(s, order_id, "resume", version=order.version)
        session.flush()
        due = order.resolution_due
    assert due is not None
    assert due.astimezone(SH).strftime("%a %H:%M") == "Mon 18:00"  # Friday 18:00 + 9 h
