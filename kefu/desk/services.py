"""Agent desktop services: transfer with a note and the customer's mood, wrap-up with a
disposition (written to the customer's history), quick replies filled for a contact.

Routing is reached through the container's routing service (``routing``); as everywhere, a
request calls it before writing its own rows (the runtime commits in its own transaction).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from kefu.core.errors import ConflictError, FieldError, ValidationFailed
from kefu.customers import record_interaction
from kefu.db.session import end_read_transaction
from kefu.desk.model import EMOTIONS, render_reply
from kefu.desk.tables import Disposition, Handover, QuickReply, WrapUp
from kefu.tenancy import Scoped

__all__ = ["my_slot", "quick_replies", "transfer", "wrap_up"]

_CHANNEL = {"callback": "voice", "work_order": "work_order"}


def my_slot(routing: Any, user_id: int, contact_id: str) -> dict[str, Any] | None:
    view = routing.agent_view(user_id) or {}
    slot: dict[str, Any] | None = view.get("slots", {}).get(contact_id)
    return slot


def transfer(
    scope: Scoped,
    routing: Any,
    contact_id: str,
    *,
    to_queue: str | None,
    to_agent: int | None,
    note: str,
    emotion: str,
) -> Handover:
    """Hand my answered contact to a queue or a colleague; the note and mood go with it."""
    me = scope.principal.user_id
    row = routing.contact(scope, contact_id)
    if row.agent_id != me or row.status != "active":
        raise ConflictError("desk_not_your_contact")
    if emotion and emotion not in EMOTIONS:
        raise ValidationFailed(errors=[FieldError("emotion", "error.field.invalid")])
    if to_agent == me:
        raise ValidationFailed(errors=[FieldError("agent_id", "error.field.invalid")])
    scope.session.rollback()  # nothing of ours is pending while routing commits
    routing.transfer(scope, contact_id, to_queue=to_queue, to_agent=to_agent, note=note)
    handover = Handover(
        contact_id=contact_id,
        from_agent_id=me,
        to_queue=to_queue or "",
        to_agent_id=to_agent,
        note=note,
        emotion=emotion,
        created_at=scope.clock.now(),
    )
    scope.add(handover)
    scope.emit(
        "desk.handover",
        f"routing.queue.{to_queue}" if to_queue else f"routing.agent.{to_agent}",
        {"contact_id": contact_id, "emotion": emotion, "from_agent_id": me},
    )
    return handover


def wrap_up(
    scope: Scoped,
    routing: Any,
    contact_id: str,
    *,
    disposition: str,
    business_type: str,
    notes: str,
    complaint: bool,
) -> tuple[WrapUp, int | None]:
    """Record the contact's outcome; finish its after-contact work if it is still running."""
    me = scope.principal.user_id
    row = routing.contact(scope, contact_id)
    end_read_transaction(scope.session)  # read-only so far: free the connection for routing
    slot = my_slot(routing, me, contact_id)
    if slot is None and row.agent_id != me:
        raise ConflictError("desk_not_your_contact")
    if slot is not None and slot.get("phase") != "wrap_up":
        raise ConflictError("desk_contact_not_ended")
    code = scope.session.scalar(
        scope.select(Disposition).where(Disposition.code == disposition, Disposition.active)
    )
    if code is None:
        raise ValidationFailed(
            errors=[FieldError("disposition", "error.field.unknown_reference", value=disposition)]
        )
    if scope.session.scalar(
        select(WrapUp.id).where(WrapUp.contact_id == contact_id, WrapUp.agent_id == me)
    ):
        raise ConflictError("desk_already_wrapped_up")
    customer_id, media, queue_code, created = (
        row.customer_id,
        row.media,
        row.queue_code,
        row.created_at,
    )
    scope.session.rollback()
    if slot is not None:
        routing.finish_wrap_up(scope, me, contact_id)
    now = scope.clock.now()
    record = scope.add(
        WrapUp(
            contact_id=contact_id,
            agent_id=me,
            customer_id=customer_id,
            disposition=code.code,
            business_type=business_type or code.business_type,
            notes=notes,
            created_at=now,
        )
    )
    interaction_id = None
    if customer_id is not None:
        interaction_id = record_interaction(
            scope,
            customer_id=customer_id,
            channel=_CHANNEL.get(media, media),
            started_at=created,
            ended_at=now,
            queue_code=queue_code,
            agent_id=me,
            business_type=business_type or code.business_type,
            disposition=code.name,
            is_complaint=complaint,
            summary=notes or code.name,
        )
    scope.emit("desk.wrapped_up", f"routing.agent.{me}", {"contact_id": contact_id})
    return record, interaction_id


def quick_replies(scope: Scoped, values: dict[str, str]) -> list[dict[str, Any]]:
    rows = scope.session.scalars(
        scope.select(QuickReply).order_by(QuickReply.category, QuickReply.id)
    )
    return [
        {
            "id": r.id,
            "title": r.title,
            "category": r.category,
            "shortcut": r.shortcut,
            "text": render_reply(r.body, values),
        }
        for r in rows
    ]
