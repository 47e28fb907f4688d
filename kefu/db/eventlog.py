"""The event log: events are stored in the writing transaction and published after it commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Index, String, Table, event, insert, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from kefu.core.events import Event, EventBus
from kefu.db.base import Base, BigId, JsonData, UTCDateTime

__all__ = ["EventRecord", "events_since", "insert_event", "install_outbox", "record_event"]

_PENDING = "kefu_pending_events"


class EventRecord(Base):
    """Append-only. ``id`` orders events installation-wide; resume asks for ids above one."""

    __tablename__ = "event_log"
    __table_args__ = (Index("ix_event_log_tenant_topic_id", "tenant_id", "topic", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    topic: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(80))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    data: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)

    def to_event(self) -> Event:
        return Event(
            self.type, self.topic, self.tenant_id, self.occurred_at, dict(self.data), self.id
        )


def record_event(session: Session, event: Event) -> EventRecord:
    """Store ``event`` in this transaction; it is published only if the transaction commits."""
    row = EventRecord(
        tenant_id=event.tenant_id,
        topic=event.topic,
        type=event.type,
        occurred_at=event.occurred_at,
        data=event.data,
    )
    session.add(row)
    session.info.setdefault(_PENDING, []).append(row)
    return row


class _Inserted:
    """A pending event already written by ``insert_event`` (it has its id)."""

    __slots__ = ("event",)

    def __init__(self, event: Event) -> None:
        self.event = event

    def to_event(self) -> Event:
        return self.event


def insert_event(session: Session, event: Event) -> Event:
    """Like ``record_event`` but written at once with one ``INSERT … RETURNING id`` on the
    session's connection (no ORM object: cheaper on hot paths). Published only if the
    transaction commits; returns the event with its id."""
    pending: list[Any] = session.info.setdefault(_PENDING, [])
    if any(isinstance(row, EventRecord) and row.id is None for row in pending):
        session.flush()  # ids follow the order events were recorded in
    table = cast(Table, EventRecord.__table__)
    event_id = (
        session.connection()
        .execute(
            insert(table)
            .values(
                tenant_id=event.tenant_id,
                topic=event.topic,
                type=event.type,
                occurred_at=event.occurred_at,
                data=event.data,
            )
            .returning(table.c.id)
        )
        .scalar_one()
    )
    stored = Event(
        event.type, event.topic, event.tenant_id, event.occurred_at, event.data, int(event_id)
    )
    pending.append(_Inserted(stored))
    return stored


def install_outbox(factory: sessionmaker[Session], bus: EventBus) -> None:
    """Publish a session's recorded events to ``bus`` after each successful commit."""

    @event.listens_for(factory, "before_commit")
    def _flush_ids(session: Session) -> None:
        if any(isinstance(row, EventRecord) for row in session.info.get(_PENDING, ())):
            session.flush()

    @event.listens_for(factory, "after_commit")
    def _publish(session: Session) -> None:
        rows: list[EventRecord | _Inserted] = session.info.pop(_PENDING, [])
        if rows:
            bus.publish([row.to_event() for row in rows])

    @event.listens_for(factory, "after_rollback")
    def _discard(session: Session) -> None:
        session.info.pop(_PENDING, None)


def events_since(
    session: Session, tenant_id: int, topics: list[str], after_id: int, limit: int = 1000
) -> list[Event]:
    """Stored events of one tenant on the given topics (or prefixes ending in ``*``) after an id."""
    exact = [t for t in topics if not t.endswith("*")]
    prefixes = [t[:-1] for t in topics if t.endswith("*")]
    query = select(EventRecord).where(EventRecord.tenant_id == tenant_id, EventRecord.id > after_id)
    conditions: list[ColumnElement[bool]] = []
    if exact:
        conditions.append(EventRecord.topic.in_(exact))
    conditions.extend(EventRecord.topic.startswith(p, autoescape=True) for p in prefixes)
    if not conditions:
        return []

    query = query.where(or_(*conditions)).order_by(EventRecord.id).limit(limit)
    return [row.to_event() for row in session.scalars(query)]
