"""Self-service IVR (自助语音/文本菜单): flows as data, validated and versioned per tenant, run by
one pure session state machine for voice calls and the web-chat text bot (docs/ivr.md)."""

from kefu.ivr.chat import ChatTurn, chat_active, chat_leave, chat_reply, start_chat
from kefu.ivr.flows import Finding, Flow, FlowFormatError, check, parse_flow, validate
from kefu.ivr.runner import (
    Action,
    Collect,
    Hangup,
    IvrSession,
    Lookup,
    OfferCallback,
    PathStep,
    Play,
    SendSms,
    ToQueue,
    Voicemail,
)
from kefu.ivr.services import new_session, published_flow, record_session
from kefu.ivr.textbot import BotMessage, TextBot

__all__ = [
    "Action",
    "BotMessage",
    "ChatTurn",
    "Collect",
    "Finding",
    "Flow",
    "FlowFormatError",
    "Hangup",
    "IvrSession",
    "Lookup",
    "OfferCallback",
    "PathStep",
    "Play",
    "SendSms",
    "TextBot",
    "ToQueue",
    "Voicemail",
    "chat_active",
    "chat_leave",
    "chat_reply",
    "check",
    "new_session",
    "parse_flow",
    "published_flow",
    "record_session",
    "start_chat",
    "validate",
]
