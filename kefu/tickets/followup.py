"""The 回访 answered by SMS: "1 解决" closes the order, "2 未解决" reopens it to the last group
(repeat count +1, the same rule as a follow-up recorded by a person)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kefu.channels import deliver_pending, register_reply_handler
from kefu.core.clock import Clock
from kefu.core.errors import DomainError
from kefu.tenancy import Principal, Scoped
from kefu.tickets import dispatch
from kefu.tickets.policies import parse_followup_reply
from kefu.tickets.services import FOLLOWUP_REF, SMS_QUEUED, follow_up
from kefu.tickets.tables import WorkOrder

__all__ = ["deliver_after_commit", "install", "on_sms_reply"]


def on_sms_reply(
    container: Any, session: Session, clock: Clock, tenant_id: int, order_id: int, text: str
) -> str:
    """Apply the customer's reply to the survey of ``order_id``; returns what was done."""
    solved = parse_followup_reply(text)
    if solved is None:
        return "unreadable"
    order = session.get(WorkOrder, order_id)
    if order is None or order.tenant_id != tenant_id or order.followup_status != "pending":
        return "not_pending"
    service = getattr(container, "routing_service", None)
    if service is not None:
        dispatch.routed_session(session, service)
    principal = Principal(0, tenant_id, "kefu-followup", "SMS 回访", frozenset())
    scope = Scoped(session, principal, clock)
    try:
        follow_up(
            scope, order.id, version=order.version, solved=solved, channel="sms", note=text[:200]
        )
        session.commit()
    except DomainError:
        session.rollback()
        return "refused"
    dispatch.dispatch_touched(service, session, clock)
    return "solved" if solved else "not_solved"


def deliver_after_commit(session: Session, clock: Clock) -> None:
    """Send the survey SMS a transaction queued (the outbox is also swept every minute)."""
    if session.info.pop(SMS_QUEUED, False):
        deliver_pending(session, clock)


def install() -> None:
    register_reply_handler(FOLLOWUP_REF, on_sms_reply)
