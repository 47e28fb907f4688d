"""The contact read model (routing_contacts), folded from engine events in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.routing.tables import RoutingContact

__all__ = ["fold_contact_event", "preload_contacts"]


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _agent(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def preload_contacts(
    session: Session, datas: list[dict[str, Any]]
) -> dict[str, RoutingContact | None]:
    """The contact rows of these events in one query (None: no row yet, e.g. the events of an
    arrival come before its row is stored), for ``fold_contact_event``'s ``rows``."""
    ids = {str(d["contact_id"]) for d in datas if d.get("contact_id")}
    rows: dict[str, RoutingContact | None] = dict.fromkeys(ids)
    if ids:
        query = select(RoutingContact).where(RoutingContact.id.in_(ids))
        rows.update((row.id, row) for row in session.scalars(query))
    return rows


def fold_contact_event(
    session: Session,
    data: dict[str, Any],
    tenant_id: int | None,
    rows: dict[str, RoutingContact | None] | None = None,
) -> None:
    """Apply one public event to its contact's row (the row is created at arrival). ``rows``:
    what ``preload_contacts`` found for these events (else the row is looked up)."""
    contact_id = data.get("contact_id")
    if not contact_id:
        return
    if rows is not None and contact_id in rows:
        row = rows[contact_id]
    else:
        row = session.get(RoutingContact, contact_id)
    if row is None:
        return
    kind = data["type"]
    at = _moment(data["at"])
    if kind == "contact_offered":
        row.status, row.agent_id = "offered", _agent(data["agent_id"])
    elif kind in ("offer_timed_out", "offer_declined", "offer_rescinded", "contact_requeued"):
        row.status, row.agent_id = "waiting", None
    elif kind == "contact_answered":
        row.status, row.agent_id = "active", _agent(data["agent_id"])
        row.answered_at, row.wait_s = at, float(data["wait_s"])
    elif kind == "contact_completed":
        row.status = "wrap_up"
    elif kind == "contact_transferred":
        row.status = "waiting"
        if data.get("to_queue"):
            row.queue_code = str(data["to_queue"])
        if data.get("note"):
            row.note = str(data["note"])
    elif kind == "contact_overflowed" and data.get("to_queue"):
        row.queue_code = str(data["to_queue"])
    elif kind == "callback_requested":
        row.status = "callback"
    elif kind == "contact_closed":
        row.status, row.outcome, row.ended_at = "closed", str(data["outcome"]), at
