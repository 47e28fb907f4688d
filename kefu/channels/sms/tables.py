"""SMS table: outgoing messages (the outbox) and received replies, one row each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.base import Base, BigId, TenantOwned, UTCDateTime

__all__ = ["SmsMessage"]


class SmsMessage(TenantOwned, Base):
    """``direction`` ``out`` (status queued → sent | failed) or ``in`` (status received).

    ``ref_type``/``ref_id`` name what an outgoing message is about (``workorder.followup`` and
    the order id); a reply points at the message it answers (``reply_to_id``) and records what
    the handler made of it (``result``).
    """

    __tablename__ = "sms_messages"
    __table_args__ = (
        Index("ix_sms_messages_outbox", "direction", "status", "id"),
        Index("ix_sms_messages_phone", "tenant_id", "phone", "direction", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    direction: Mapped[str] = mapped_column(String(3))
    phone: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    driver: Mapped[str] = mapped_column(String(20), default="")
    provider_id: Mapped[str] = mapped_column(String(80), default="")
    error: Mapped[str] = mapped_column(String(200), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    ref_type: Mapped[str] = mapped_column(String(40), default="")
    ref_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    reply_to_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    result: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
