"""The text bot in web chat: the channel starts it on a new conversation and hands it each
customer message while it runs; it answers with messages to show and, at the end, whether the
customer goes to a human (the channel then queues the chat as usual).

HTTP lookups are not performed in chat yet: a ``lookup`` node takes its error path there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.clock import Clock
from kefu.ivr import services
from kefu.ivr.runner import OfferCallback, ToQueue
from kefu.ivr.tables import IvrChatSession
from kefu.ivr.textbot import BotMessage, TextBot
from kefu.tenancy import tenant_calendar

__all__ = ["ChatTurn", "chat_active", "chat_leave", "chat_reply", "start_chat"]


@dataclass
class ChatTurn:
    messages: list[BotMessage] = field(default_factory=list)
    handover: ToQueue | OfferCallback | None = None
    finished: bool = False


def _settle(bot: TextBot, messages: list[BotMessage]) -> None:
    while bot.pending_lookup is not None:  # no hooks in chat yet: the error path
        messages.extend(bot.lookup_result(None))


def _end(
    session: Session, clock: Clock, row: IvrChatSession, bot: TextBot, contact_id: str
) -> ChatTurn:
    turn = ChatTurn(handover=bot.handover, finished=bot.session.finished)
    row.state = bot.state
    row.updated_at = clock.now()
    if bot.session.finished and not row.finished:
        row.finished = True
        services.record_session(
            session, row.tenant_id, bot.session, "webchat", contact_id, now=clock.now()
        )
    return turn


def start_chat(
    session: Session,
    clock: Clock,
    tenant_id: int,
    flow_code: str,
    conversation_id: int,
    contact_id: str,
    caller: Mapping[str, Any],
) -> ChatTurn | None:
    """Start the text menu of the published flow ``flow_code``; None if it is not published
    (the chat then queues as without a flow)."""
    flow = services.published_flow(session, tenant_id, flow_code)
    if flow is None:
        return None
    calendar = tenant_calendar(session, tenant_id)
    local = calendar.to_local(clock.now())
    workday = calendar.is_working_day(local.date())
    holiday = not workday and calendar.holiday_name(local.date()) is not None
    bot, messages = TextBot.begin(
        flow, caller=caller, local_now=local, is_workday=workday, is_holiday=holiday
    )
    _settle(bot, messages)
    now = clock.now()
    row = IvrChatSession(
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        flow_code=flow_code,
        version=flow.version,
        state=bot.state,
        finished=False,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    turn = _end(session, clock, row, bot, contact_id)
    turn.messages = messages
    return turn


def _row(session: Session, conversation_id: int) -> IvrChatSession | None:
    row: IvrChatSession | None = session.scalar(
        select(IvrChatSession).where(IvrChatSession.conversation_id == conversation_id)
    )
    return row


def chat_active(session: Session, conversation_id: int) -> bool:
    row = _row(session, conversation_id)
    return row is not None and not row.finished


def chat_reply(
    session: Session, clock: Clock, conversation_id: int, contact_id: str, text: str
) -> ChatTurn | None:
    """The bot's answer to a customer message; None when no text menu runs for the chat."""
    row = _row(session, conversation_id)
    if row is None or row.finished:
        return None
    flow = services.published_flow(session, row.tenant_id, row.flow_code)
    if flow is None or flow.version != row.version:
        # republished meanwhile: the customer continues on the version they started with
        flow = services.flow_version(session, row.tenant_id, row.flow_code, row.version)
    if flow is None:
        row.finished = True
        return ChatTurn(handover=None, finished=True)
    bot = TextBot(flow, row.state)
    messages = bot.message(text)
    _settle(bot, messages)
    turn = _end(session, clock, row, bot, contact_id)
    turn.messages = messages
    return turn


def chat_leave(session: Session, clock: Clock, conversation_id: int, contact_id: str) -> bool:
    """The customer closed the chat inside the text menu: an IVR abandon (True if so)."""
    row = _row(session, conversation_id)
    if row is None or row.finished:
        return False
    flow = services.flow_version(session, row.tenant_id, row.flow_code, row.version)
    row.finished = True
    row.updated_at = clock.now()
    if flow is not None:
        bot = TextBot(flow, row.state)
        bot.session.hangup()
        services.record_session(
            session, row.tenant_id, bot.session, "webchat", contact_id, now=clock.now()
        )
    return True
