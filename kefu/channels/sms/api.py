"""SMS API: a gateway posts received messages; integrations read the outbox."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import func, select

from kefu.api.deps import Ctx, require
from kefu.channels.sms import services
from kefu.channels.sms.schemas import InboundIn, MessageOut
from kefu.channels.sms.tables import SmsMessage

__all__ = ["router"]

router = APIRouter(prefix="/sms", tags=["sms"])
GATEWAY = "routing.contacts"  # channels and integrations (the SMS gateway's API token)


@router.post("/inbound", summary="A received SMS (the gateway calls this)")
def inbound(body: InboundIn, ctx: Ctx = Depends(require(GATEWAY))) -> dict[str, Any]:
    row = services.receive(ctx.scope, ctx.container, body.sender, body.text)
    return MessageOut.model_validate(row).model_dump(mode="json")


@router.get("/messages", summary="Outgoing and received messages, newest first")
def messages(
    phone: str = "", limit: int = 50, ctx: Ctx = Depends(require(GATEWAY))
) -> dict[str, Any]:
    query = ctx.scope.select(SmsMessage)
    if phone:
        query = query.where(SmsMessage.phone == phone[:20])
    total = ctx.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = ctx.session.scalars(query.order_by(SmsMessage.id.desc()).limit(max(1, min(limit, 200))))
    items = [MessageOut.model_validate(r).model_dump(mode="json") for r in rows]
    return {"items": items, "total": int(total)}
