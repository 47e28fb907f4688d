"""pjsua2 plumbing shared by the media server and scripted user agents (tests, benchmarks).

Rules learnt the hard way (../shared/research/voice.md §4.4):
- one thread touches pjsua2: ``threadCnt = 0``, ``mainThreadOnly``, the owner calls
  ``libHandleEvents``; callbacks only append to a deque, the owner drains it;
- ``ci = call.getInfo()`` before iterating ``ci.media`` (SWIG frees the temporary otherwise);
- each process gets its own RTP port block;
- the PyPI wheel allows 4 calls per process;
- exit with ``os._exit`` after hang-up (destroying calls after ``libDestroy`` asserts).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import pjsua2 as pj

__all__ = ["Leg", "audio_media", "make_account", "make_endpoint"]


def make_endpoint(sip_port: int, *, log_level: int = 0) -> Any:
    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.uaConfig.userAgent = "kefu-voice"
    cfg.logConfig.level = log_level
    cfg.logConfig.consoleLevel = log_level
    cfg.medConfig.ecTailLen = 0
    cfg.medConfig.noVad = True
    cfg.medConfig.clockRate = 8000
    cfg.medConfig.sndClockRate = 8000
    cfg.medConfig.threadCnt = 1
    ep.libInit(cfg)
    tcfg = pj.TransportConfig()
    tcfg.port = sip_port
    tcfg.boundAddress = "127.0.0.1"
    tcfg.publicAddress = "127.0.0.1"
    ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
    ep.libStart()
    ep.audDevManager().setNullDev()
    for codec in ep.codecEnum2():
        ep.codecSetPriority(codec.codecId, 0)
    ep.codecSetPriority("PCMU/8000/1", 255)
    ep.codecSetPriority("PCMA/8000/1", 254)
    return ep


class _Account(pj.Account):  # type: ignore[misc]
    def __init__(self, events: deque[tuple[Any, ...]]) -> None:
        super().__init__()
        self.events = events

    def onIncomingCall(self, prm: Any) -> None:
        # The Call object must exist when this returns (pjsua2 answers 500 otherwise); it is
        # only created here, all handling happens in the owner's loop.
        self.events.append(("incoming", Leg(self, self.events, prm.callId)))

    def onRegState(self, prm: Any) -> None:
        self.events.append(("reg", int(prm.code)))


def make_account(
    events: deque[tuple[Any, ...]],
    *,
    user: str,
    sip_port: int,
    rtp_port: int,
    proxy: str | None,
    register: bool = False,
) -> Any:
    cfg = pj.AccountConfig()
    host = proxy.split(":", 1)[0] if proxy and register else "127.0.0.1"
    cfg.idUri = f"sip:{user}@{host}" if register else f"sip:{user}@127.0.0.1:{sip_port}"
    if register and proxy:
        cfg.regConfig.registrarUri = f"sip:{proxy}"
        cfg.regConfig.timeoutSec = 300
    else:
        cfg.regConfig.registerOnAdd = False
    if proxy:
        cfg.sipConfig.proxies.append(f"sip:{proxy};lr")
    cfg.mediaConfig.transportConfig.port = rtp_port
    cfg.mediaConfig.transportConfig.portRange = 40
    cfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    cfg.mediaConfig.transportConfig.publicAddress = "127.0.0.1"
    cfg.natConfig.iceEnabled = False
    cfg.natConfig.sdpNatRewriteUse = 0
    account = _Account(events)
    account.create(cfg)
    return account


class Leg(pj.Call):  # type: ignore[misc]
    """One call; its callbacks only queue ``(kind, leg, ...)`` tuples for the owner thread."""

    def __init__(self, account: Any, events: deque[tuple[Any, ...]], call_id: int = -1) -> None:
        if call_id == -1:
            super().__init__(account)
        else:
            super().__init__(account, call_id)
        self.events = events
        self.name = ""

    def onCallState(self, prm: Any) -> None:
        ci = self.getInfo()
        self.events.append(("state", self, int(ci.state), int(ci.lastStatusCode), ci.lastReason))

    def onCallMediaState(self, prm: Any) -> None:
        self.events.append(("media", self))

    def onDtmfDigit(self, prm: Any) -> None:
        method = "info" if prm.method == pj.PJSUA_DTMF_METHOD_SIP_INFO else "rfc4733"
        self.events.append(("dtmf", self, str(prm.digit), method))

    def onCallTransferStatus(self, prm: Any) -> None:
        self.events.append(("xfer", self, int(prm.statusCode), bool(prm.finalNotify)))


def audio_media(call: Any) -> Any | None:
    """The call's active audio media, or None."""
    ci = call.getInfo()  # keep the info alive while iterating its media (SWIG lifetime trap)
    media = ci.media
    for index in range(len(media)):
        mi = media[index]
        if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
            return call.getAudioMedia(index)
    return None
