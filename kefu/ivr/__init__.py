"""Self-service IVR (自助语音/文本菜单): flows as data, validated and versioned per tenant, run by
one pure session state machine for voice calls and the web-chat text bot (docs/ivr.md)."""

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

__all__ = [
    "Action",
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
    "ToQueue",
    "Voicemail",
    "check",
    "parse_flow",
    "validate",
]
