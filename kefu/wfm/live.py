"""Live adherence exceptions: each ``agent_state_changed`` the routing runtime records is checked
against the agent's scheduled activity at that instant; a state that breaks adherence records a
``wfm_adherence_exception`` event on topic ``wfm.adherence`` in the same transaction (so the
supervisor's websocket gets it after the commit, and a reconnect replays it)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.events import Event
from kefu.db.eventlog import record_event
from kefu.wfm.adherence import is_adherent
from kefu.wfm.tables import WfmShift

__all__ = ["TOPIC", "on_routing_event", "scheduled_activity"]

TOPIC = "wfm.adherence"


def scheduled_activity(shift: WfmShift, at: datetime) -> str:
    """``work`` or the break kind (``break``, ``lunch`` …) of a shift at an instant."""
    for b in shift.breaks:
        start = datetime.fromisoformat(b["start"])
        if start <= at < start + timedelta(minutes=int(b["minutes"])):
            return str(b["kind"])
    return "work"


def on_routing_event(session: Session, data: dict[str, Any], tenant_id: int | None) -> None:
    if tenant_id is None or data.get("type") != "agent_state_changed":
        return
    agent = str(data.get("agent_id") or "")
    if not agent.isdigit():
        return
    raw_at = data.get("at")
    if isinstance(raw_at, datetime):
        at = raw_at
    elif isinstance(raw_at, str):
        at = datetime.fromisoformat(raw_at)
    else:
        return
    shift = session.scalars(
        select(WfmShift).where(
            WfmShift.tenant_id == tenant_id,
            WfmShift.user_id == int(agent),
            WfmShift.start_at <= at,
            WfmShift.end_at > at,
        )
    ).first()
    if shift is None:
        return
    activity = scheduled_activity(shift, at)
    state = str(data.get("state") or "")
    reason = str(data.get("reason") or "")
    if is_adherent(activity, state, reason):
        return
    actual = reason if state == "not_ready" and reason else state
    record_event(
        session,
        Event(
            "wfm_adherence_exception",
            TOPIC,
            tenant_id,
            at,
            {"agent_id": agent, "scheduled": activity, "actual": actual, "shift_id": shift.id},
        ),
    )
