"""SMS services: queue an outgoing message (in the caller's transaction), deliver the outbox,
receive a reply and hand it to the feature that sent the message it answers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.channels.sms.drivers import SmsDriver, SmsSendError, driver_from_env
from kefu.channels.sms.model import MAX_BODY, normalise_phone
from kefu.channels.sms.tables import SmsMessage
from kefu.core.clock import Clock
from kefu.core.errors import FieldError, ValidationFailed
from kefu.tenancy import Scoped

__all__ = [
    "MAX_ATTEMPTS",
    "REPLY_WINDOW_DAYS",
    "ReplyHandler",
    "deliver_pending",
    "queue_sms",
    "receive",
    "register_reply_handler",
]

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
REPLY_WINDOW_DAYS = 7  # a reply answers the newest message sent to that phone this recently
OUTBOX_QUEUED = "wo_sms_queued"  # session.info: an SMS was queued in this transaction

# ref_type -> handler(context, session, clock, tenant_id, ref_id, text) -> result
ReplyHandler = Callable[[Any, Session, Clock, int, int, str], str]
_handlers: dict[str, ReplyHandler] = {}


def register_reply_handler(ref_type: str, handler: ReplyHandler) -> None:
    _handlers[ref_type] = handler


def queue_sms(
    scope: Scoped, phone: str, body: str, *, ref_type: str = "", ref_id: int | None = None
) -> SmsMessage | None:
    """Put a message in the outbox (delivered after the commit); None if not a mobile number."""
    number = normalise_phone(phone)
    if number is None:
        return None
    row = scope.add(
        SmsMessage(
            direction="out",
            phone=number,
            body=body[:MAX_BODY],
            status="queued",
            ref_type=ref_type,
            ref_id=ref_id,
            created_at=scope.clock.now(),
        )
    )
    data = {"id": row.id, "ref_type": ref_type, "ref_id": ref_id}
    scope.emit("sms.queued", f"sms.{row.id}", data)
    scope.session.info[OUTBOX_QUEUED] = True
    return row


def deliver_pending(
    session: Session, clock: Clock, driver: SmsDriver | None = None, limit: int = 100
) -> int:
    """Send queued messages (oldest first), one commit each; returns how many were sent."""
    driver = driver or driver_from_env()
    ids = list(
        session.scalars(
            select(SmsMessage.id)
            .where(SmsMessage.direction == "out", SmsMessage.status == "queued")
            .order_by(SmsMessage.id)
            .limit(limit)
        )
    )
    session.commit()
    sent = 0
    for message_id in ids:
        row = session.get(SmsMessage, message_id)
        if row is None or row.status != "queued":
            continue
        row.attempts += 1
        row.driver = driver.name
        try:
            row.provider_id = driver.send(row.phone, row.body, str(row.id))[:80]
        except SmsSendError as exc:
            row.error = str(exc)[:200]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            log.warning("sms %s not sent (attempt %d): %s", row.id, row.attempts, exc)
        else:
            row.status, row.sent_at, row.error = "sent", clock.now(), ""
            sent += 1
        session.commit()
    return sent


def receive(scope: Scoped, context: Any, phone: str, text: str) -> SmsMessage:
    """Store a reply (the caller commits first its own work) and let the sender's feature act."""
    number = normalise_phone(phone)
    if number is None:
        raise ValidationFailed(errors=[FieldError("from", "error.field.invalid")])
    now = scope.clock.now()
    answered = scope.session.scalar(
        select(SmsMessage)
        .where(
            SmsMessage.tenant_id == scope.tenant_id,
            SmsMessage.phone == number,
            SmsMessage.direction == "out",
            SmsMessage.status == "sent",
            SmsMessage.created_at >= now - timedelta(days=REPLY_WINDOW_DAYS),
        )
        .order_by(SmsMessage.id.desc())
        .limit(1)
    )
    row = scope.add(
        SmsMessage(
            direction="in",
            phone=number,
            body=text[:MAX_BODY],
            status="received",
            reply_to_id=answered.id if answered is not None else None,
            ref_type=answered.ref_type if answered is not None else "",
            ref_id=answered.ref_id if answered is not None else None,
            result="unmatched" if answered is None else "",
            created_at=now,
        )
    )
    scope.emit("sms.received", f"sms.{row.id}", {"id": row.id, "reply_to": row.reply_to_id})
    scope.session.commit()
    handler = _handlers.get(row.ref_type)
    if answered is None or handler is None or row.ref_id is None:
        return row
    result = handler(context, scope.session, scope.clock, scope.tenant_id, row.ref_id, text)
    row = scope.session.get(SmsMessage, row.id) or row
    row.result = result[:40]
    scope.session.commit()
    return row
