"""Announcements (公告): importance, audience and validity; important ones must be acknowledged
by every agent in the audience, with a read/acknowledged report for team leaders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_

from kefu.core.errors import FieldError, ValidationFailed
from kefu.knowledge.search import normalize
from kefu.knowledge.tables import Announcement, AnnouncementReceipt
from kefu.tenancy import Scoped

__all__ = [
    "IMPORTANCE",
    "Reader",
    "acknowledge",
    "create_announcement",
    "for_reader",
    "mark_read",
    "pending_acks",
    "receipts_report",
    "search_announcements",
]

TOPIC = "knowledge"
IMPORTANCE = ("normal", "important", "urgent")
MUST_ACK = frozenset({"important", "urgent"})


@dataclass(frozen=True)
class Reader:
    """Who reads: their id, roles, site and team (audience matching)."""

    user_id: int
    roles: frozenset[str]
    site_id: int | None
    team_id: int | None


def create_announcement(scope: Scoped, **values: Any) -> Announcement:
    if values.get("importance", "normal") not in IMPORTANCE:
        raise ValidationFailed(errors=[FieldError("importance", "error.field.invalid")])
    start, end = values.get("valid_from"), values.get("valid_until")
    if start is not None and end is not None and end <= start:
        raise ValidationFailed(errors=[FieldError("valid_until", "error.knowledge.window")])
    row = scope.add(
        Announcement(
            created_by=scope.principal.user_id,
            created_at=scope.clock.now(),
            withdrawn=False,
            **{
                "body": "",
                "audience_roles": [],
                "audience_sites": [],
                "audience_teams": [],
                **values,
            },
        )
    )
    scope.emit(
        "knowledge.announcement.published",
        TOPIC,
        {"id": row.id, "title": row.title, "importance": row.importance},
    )
    return row


def _live(row: Announcement, now: datetime) -> bool:
    if row.withdrawn:
        return False
    if row.valid_from is not None and now < row.valid_from:
        return False
    return not (row.valid_until is not None and now >= row.valid_until)


def in_audience(row: Announcement, reader: Reader) -> bool:
    if row.audience_roles and not (set(row.audience_roles) & reader.roles):
        return False
    if row.audience_sites and reader.site_id not in row.audience_sites:
        return False
    return not (row.audience_teams and reader.team_id not in row.audience_teams)


def for_reader(
    scope: Scoped, reader: Reader, *, include_expired: bool = False, any_audience: bool = False
) -> list[tuple[Announcement, AnnouncementReceipt | None]]:
    """Announcements this reader should see, most important and newest first (those who
    publish announcements see every audience's: ``any_audience``)."""
    now = scope.clock.now()
    rows = list(
        scope.session.scalars(
            scope.select(Announcement)
            .where(Announcement.withdrawn.is_(False))
            .order_by(Announcement.created_at.desc(), Announcement.id.desc())
            .limit(500)
        )
    )
    rows = [
        r
        for r in rows
        if (any_audience or in_audience(r, reader)) and (include_expired or _live(r, now))
    ]
    receipts = {
        r.announcement_id: r
        for r in scope.session.scalars(
            scope.select(AnnouncementReceipt).where(
                AnnouncementReceipt.user_id == reader.user_id,
                AnnouncementReceipt.announcement_id.in_([a.id for a in rows]),
            )
        )
    }
    rank = {"urgent": 0, "important": 1, "normal": 2}
    rows.sort(key=lambda a: (rank.get(a.importance, 3), -a.created_at.timestamp()))
    return [(a, receipts.get(a.id)) for a in rows]


def pending_acks(scope: Scoped, reader: Reader) -> list[Announcement]:
    """Important, live announcements this reader has not acknowledged yet (the popup)."""
    return [
        a
        for a, receipt in for_reader(scope, reader)
        if a.importance in MUST_ACK and (receipt is None or receipt.acked_at is None)
    ]


def _receipt(scope: Scoped, announcement_id: int, user_id: int) -> AnnouncementReceipt:
    scope.get(Announcement, announcement_id, entity="knowledge_announcements")
    row: AnnouncementReceipt | None = scope.session.scalar(
        scope.select(AnnouncementReceipt).where(
            AnnouncementReceipt.announcement_id == announcement_id,
            AnnouncementReceipt.user_id == user_id,
        )
    )
    if row is None:
        row = scope.add(AnnouncementReceipt(announcement_id=announcement_id, user_id=user_id))
    return row


def mark_read(scope: Scoped, announcement_id: int) -> AnnouncementReceipt:
    row = _receipt(scope, announcement_id, scope.principal.user_id)
    if row.read_at is None:
        row.read_at = scope.clock.now()
    return row


def acknowledge(scope: Scoped, announcement_id: int) -> AnnouncementReceipt:
    row = _receipt(scope, announcement_id, scope.principal.user_id)
    now = scope.clock.now()
    row.read_at = row.read_at or now
    if row.acked_at is None:
        row.acked_at = now
        scope.emit(
            "knowledge.announcement.acknowledged",
            TOPIC,
            {"id": announcement_id, "user_id": scope.principal.user_id},
        )
    return row


def receipts_report(scope: Scoped, announcement_id: int, people: list[Any]) -> dict[str, Any]:
    """Per person in the audience: read and acknowledged times. ``people`` are the tenant's
    users (objects with id, display_name, job_number, roles, site_id, team_id)."""
    row = scope.get(Announcement, announcement_id, entity="knowledge_announcements")
    receipts = {
        r.user_id: r
        for r in scope.session.scalars(
            scope.select(AnnouncementReceipt).where(
                AnnouncementReceipt.announcement_id == announcement_id
            )
        )
    }
    lines = []
    for person in people:
        reader = Reader(person.id, frozenset(person.roles or ()), person.site_id, person.team_id)
        if not in_audience(row, reader):
            continue
        receipt = receipts.get(person.id)
        lines.append(
            {
                "user_id": person.id,
                "display_name": person.display_name,
                "job_number": person.job_number,
                "team_id": person.team_id,
                "read_at": receipt.read_at if receipt else None,
                "acked_at": receipt.acked_at if receipt else None,
            }
        )
    return {
        "announcement_id": row.id,
        "title": row.title,
        "importance": row.importance,
        "audience": len(lines),
        "read": sum(1 for x in lines if x["read_at"]),
        "acknowledged": sum(1 for x in lines if x["acked_at"]),
        "people": lines,
    }


def search_announcements(scope: Scoped, query: str, limit: int = 20) -> list[Announcement]:
    """Announcements whose title or body contains every word of the query (substring match)."""
    words = [w for w in normalize(query)[:100].split() if w][:5]
    if not words:
        return []
    statement = scope.select(Announcement)
    for word in words:
        statement = statement.where(
            or_(
                Announcement.title.contains(word, autoescape=True),
                Announcement.body.contains(word, autoescape=True),
            )
        )
    return list(
        scope.session.scalars(statement.order_by(Announcement.created_at.desc()).limit(limit))
    )
