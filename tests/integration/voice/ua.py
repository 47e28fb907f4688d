"""A scripted SIP user agent for the voice tests (pjsua2, its own process: 4 calls per process).

Reads JSON commands on stdin, writes JSON events on stdout (one per line):
  {"op": "call", "uri": ...} · {"op": "dtmf", "digits": "1", "method": "rfc4733"|"info"}
  {"op": "hangup"} · {"op": "quit"} · {"op": "raw", "data": "...", "port": 5060} (garbage UDP)
Events: ready, reg, incoming, media, confirmed, disconnected (code), sent.
With --answer it answers every incoming call; on media it plays --play (looped) and records
what it receives into --record.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import socket
import sys
import time
from collections import deque
from typing import Any

import pjsua2 as pj

from kefu.channels.voice.pjcommon import Leg, audio_media, make_account, make_endpoint


def emit(**event: Any) -> None:
    event["t"] = time.monotonic()
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--user", required=True)
    p.add_argument("--sip-port", type=int, required=True)
    p.add_argument("--rtp-port", type=int, required=True)
    p.add_argument("--proxy", required=True)
    p.add_argument("--register", action="store_true")
    p.add_argument("--answer", action="store_true")
    p.add_argument("--play", default="")
    p.add_argument("--record", default="")
    args = p.parse_args()
    events: deque[tuple[Any, ...]] = deque()
    ep = make_endpoint(args.sip_port)
    account = make_account(
        events,
        user=args.user,
        sip_port=args.sip_port,
        rtp_port=args.rtp_port,
        proxy=args.proxy,
        register=args.register,
    )
    keep: list[Any] = []
    call: Any = None
    media_on = False
    emit(ev="ready")
    buf = b""
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)
    while True:
        ready, _, _ = select.select([stdin], [], [], 0)
        if ready:
            chunk = os.read(stdin, 65536)
            if not chunk:
                break
            buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            cmd = json.loads(line)
            op = cmd["op"]
            if op == "quit":
                if call is not None:
                    with contextlib.suppress(Exception):
                        call.hangup(pj.CallOpParam())
                end = time.monotonic() + 0.5
                while time.monotonic() < end:
                    ep.libHandleEvents(10)
                sys.stdout.flush()
                os._exit(0)
            if op == "call":
                call = Leg(account, events)
                prm = pj.CallOpParam(True)
                prm.opt.audioCount = 1
                prm.opt.videoCount = 0
                call.makeCall(cmd["uri"], prm)
                keep.append(call)
            elif op == "dtmf" and call is not None:
                if cmd.get("method") == "info":
                    dp = pj.CallSendDtmfParam()
                    dp.digits = cmd["digits"]
                    dp.method = pj.PJSUA_DTMF_METHOD_SIP_INFO
                    call.sendDtmf(dp)
                else:
                    call.dialDtmf(cmd["digits"])
                emit(ev="sent", digits=cmd["digits"])
            elif op == "hangup" and call is not None:
                call.hangup(pj.CallOpParam())
            elif op == "raw":
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.sendto(cmd["data"].encode("latin-1"), ("127.0.0.1", int(cmd["port"])))
                s.close()
                emit(ev="sent_raw")
        ep.libHandleEvents(10)
        while events:
            item = events.popleft()
            kind = item[0]
            if kind == "reg":
                emit(ev="reg", code=item[1])
            elif kind == "incoming":
                incoming = item[1]
                keep.append(incoming)
                if call is not None or not args.answer:
                    incoming.hangup(_code(486))
                    continue
                call = incoming
                emit(ev="incoming", remote=incoming.getInfo().remoteUri)
                incoming.answer(_code(200))
            elif kind == "dtmf":
                emit(ev="dtmf", digit=item[2], method=item[3])
            elif kind == "state":
                _, leg, state, code, _reason = item
                if leg is not call:
                    continue
                if state == pj.PJSIP_INV_STATE_CONFIRMED:
                    emit(ev="confirmed")
                elif state == pj.PJSIP_INV_STATE_DISCONNECTED:
                    emit(ev="disconnected", code=code)
                    call = None
                    media_on = False
            elif kind == "media":
                leg = item[1]
                am = audio_media(leg)
                if am is None or media_on or leg is not call:
                    continue
                media_on = True
                if args.play:
                    player = pj.AudioMediaPlayer()
                    player.createPlayer(args.play, 0)
                    player.startTransmit(am)
                    keep.append(player)
                if args.record:
                    recorder = pj.AudioMediaRecorder()
                    recorder.createRecorder(args.record)
                    am.startTransmit(recorder)
                    keep.append(recorder)
                emit(ev="media")
    os._exit(0)


def _code(code: int) -> Any:
    prm = pj.CallOpParam()
    prm.statusCode = code
    return prm


if __name__ == "__main__":
    main()
