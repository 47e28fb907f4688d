"""SMS API schemas."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from kefu.api.schemas import Input, Output

__all__ = ["InboundIn", "MessageOut"]


class InboundIn(Input):
    """What a gateway posts for a received SMS (``from`` may carry +86)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    sender: str = Field(alias="from", min_length=5, max_length=20)
    text: str = Field(min_length=1, max_length=500)
    gateway_id: str = Field(default="", max_length=80)


class MessageOut(Output):
    id: int
    direction: str
    phone: str
    body: str
    status: str
    driver: str
    error: str
    attempts: int
    ref_type: str
    ref_id: int | None
    reply_to_id: int | None
    result: str
    created_at: datetime
    sent_at: datetime | None
