"""Events are stored with the write and published only after commit; audit sees every write."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kefu.core.events import Event
from kefu.db.eventlog import EventRecord, events_since, record_event
from kefu.tenancy.tables import AuditEntry, Site
from tests.factories import make_world

pytestmark = pytest.mark.integration


def test_event_published_after_commit_only(container) -> None:
    world = make_world(container)
    seen: list[Event] = []
    container.bus.subscribe(seen.append)
    now = container.clock.now()
    with pytest.raises(RuntimeError), container.db.session(clock=container.clock) as session:
        record_event(session, Event("site.created", "tenancy", world.tenant_id, now, {"id": 1}))
        session.add(Site(tenant_id=world.tenant_id, code="RB", name="回滚"))
        session.flush()
        assert seen == []  # not before commit
        raise RuntimeError("write fails")
    assert seen == []
    with container.db.sessions() as session:
        assert (
            session.scalar(select(Site).where(Site.code == "RB", Site.tenant_id == world.tenant_id))
            is None
        )
        assert not list(
            session.scalars(select(EventRecord).where(EventRecord.tenant_id == world.tenant_id))
        )

    with container.db.session(clock=container.clock) as session:
        record_event(session, Event("site.created", "tenancy", world.tenant_id, now, {"id": 2}))
        record_event(session, Event("site.updated", "tenancy", world.tenant_id, now, {"id": 2}))
    assert [e.type for e in seen] == ["site.created", "site.updated"]
    assert seen[0].id is not None and seen[1].id > seen[0].id


def test_events_since_filters_tenant_topic_and_id(container) -> None:
    a, b = make_world(container, "a"), make_world(container, "b")
    now = container.clock.now()
    with container.db.session(clock=container.clock) as session:
        first = record_event(session, Event("x", "tenancy", a.tenant_id, now))
        record_event(session, Event("x", "routing.queue.1", a.tenant_id, now))
        record_event(session, Event("x", "tenancy", b.tenant_id, now))
        record_event(session, Event("y", "tenancy", a.tenant_id, now))
    with container.db.sessions() as session:
        got = events_since(session, a.tenant_id, ["tenancy"], first.id)
        assert [(e.type, e.topic) for e in got] == [("y", "tenancy")]
        got = events_since(session, a.tenant_id, ["routing.*"], 0)
        assert [e.topic for e in got] == ["routing.queue.1"]


def test_audit_records_direct_service_writes(container) -> None:
    world = make_world(container)
    with container.db.session(clock=container.clock, actor_name="night-job") as session:
        site = session.get(Site, world.site_id)
        site.city = "成都"
    with container.db.sessions() as session:
        row = session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "sites",
                AuditEntry.entity_id == str(world.site_id),
                AuditEntry.action == "update",
            )
        ).one()
        assert (
            row.actor_name == "night-job"
            and row.after == {"city": "成都"}
            and row.tenant_id == world.tenant_id
        )


def test_tenant_calendar_combines_national_days_and_own_exceptions(container) -> None:
    from datetime import UTC, date, datetime, timedelta

    from kefu.tenancy.services import tenant_calendar
    from kefu.tenancy.tables import TenantHoliday

    world = make_world(container)
    with container.db.session(clock=container.clock) as session:
        session.add(
            TenantHoliday(
                tenant_id=world.tenant_id, day=date(2026, 3, 16), kind="holiday", name="司庆"
            )
        )
        session.add(TenantHoliday(tenant_id=world.tenant_id, day=date(2026, 3, 21), kind="workday"))
    with container.db.sessions() as session:
        calendar = tenant_calendar(session, world.tenant_id)
    assert not calendar.is_working_day(date(2026, 3, 16))  # own holiday, a Monday
    assert calendar.is_working_day(date(2026, 3, 21))  # own extra working Saturday
    assert not calendar.is_working_day(date(2026, 10, 1))  # 国庆
    # Friday 2026-03-13 17:00 Beijing + 2 working hours; Monday is a company holiday:
    # due Tuesday 10:00.
    start = datetime(2026, 3, 13, 9, 0, tzinfo=UTC)
    assert calendar.add_working_time(start, timedelta(hours=2)) == datetime(
        2026, 3, 17, 2, 0, tzinfo=UTC
    )


def test_audit_copes_with_binary_columns(container) -> None:
    from sqlalchemy import select as _select

    from kefu.tenancy.audit import _plain

    assert _plain(b"\x00\x01\x02") == "<3 bytes>"
    world = make_world(container)
    with container.db.sessions() as session:
        rows = session.scalars(
            _select(AuditEntry).where(AuditEntry.tenant_id == world.tenant_id)
        ).all()
    assert rows, "creating a tenant's users is audited"
