"""The pjsua2 media server: ``python -m kefu.channels.voice.pjmedia``.

It answers, plays, bridges, records and hangs up calls as kefu's call control tells it over a
control socket: line-delimited JSON on a loopback TCP port (one client at a time). Commands
(``{"op": ...}``) and events (``{"ev": ...}``) are listed in :mod:`kefu.channels.voice.driver`.
Everything pjsua2 runs in the main thread (``libHandleEvents`` between socket polls).

If the control client goes away, every call is hung up: nobody would end them otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import signal
import socket
import sys
import time
from collections import deque
from typing import Any

__all__ = ["MediaServer", "main"]


class MediaServer:
    def __init__(self, *, sip_port: int, control_port: int, rtp_port: int, proxy: str) -> None:
        import pjsua2 as pj

        from kefu.channels.voice.pjcommon import make_account, make_endpoint

        self.pj = pj
        self.events: deque[tuple[Any, ...]] = deque()
        self.ep = make_endpoint(sip_port)
        self.account = make_account(
            self.events, user="media", sip_port=sip_port, rtp_port=rtp_port, proxy=proxy
        )
        self.listener = socket.create_server(("127.0.0.1", control_port))
        self.listener.setblocking(False)
        self.client: socket.socket | None = None
        self.inbuf = b""
        self.calls: dict[str, Any] = {}  # name -> Leg
        self.players: dict[str, Any] = {}
        self.recorders: dict[str, tuple[Any, tuple[str, ...], bool]] = {}
        self.bridges: dict[str, str] = {}
        self.garbage: list[Any] = []
        self.seq = 0
        self.running = True

    # -- control socket ------------------------------------------------------------------------
    def send(self, **event: Any) -> None:
        if self.client is None:
            return
        try:
            self.client.sendall((json.dumps(event) + "\n").encode())
        except OSError:
            self._drop_client()

    def _drop_client(self) -> None:
        if self.client is not None:
            with contextlib.suppress(OSError):
                self.client.close()
        self.client = None
        self.inbuf = b""
        for name in list(self.calls):
            self.hangup(name, 503)

    def poll_socket(self) -> None:
        watch = [self.listener] + ([self.client] if self.client else [])
        readable, _, _ = select.select(watch, [], [], 0)
        for sock in readable:
            if sock is self.listener:
                conn, _ = self.listener.accept()
                if self.client is not None:
                    self._drop_client()
                self.client = conn
                self.send(ev="ready", calls=[])
                continue
            try:
                chunk = sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                self._drop_client()
                return
            self.inbuf += chunk
            while b"\n" in self.inbuf:
                line, self.inbuf = self.inbuf.split(b"\n", 1)
                if line.strip():
                    self.command(line)

    def command(self, line: bytes) -> None:
        try:
            cmd = json.loads(line)
            op = cmd.pop("op")
            handler = getattr(self, f"op_{op}")
            handler(**cmd)
        except Exception as exc:  # one bad command never takes the calls down
            self.send(ev="error", line=line.decode(errors="replace")[:200], error=_describe(exc))

    # -- operations ----------------------------------------------------------------------------
    def _media(self, name: str) -> Any:
        from kefu.channels.voice.pjcommon import audio_media

        call = self.calls.get(name)
        if call is None:
            return None
        try:
            return audio_media(call)
        except Exception:  # the INVITE session is already over
            return None

    def op_answer(self, call: str, code: int = 200) -> None:
        prm = self.pj.CallOpParam()
        prm.statusCode = code
        self.calls[call].answer(prm)

    def op_play(self, call: str, files: list[str], loop: bool = False) -> None:
        self.op_stop(call)
        am = self._media(call)
        if am is None:
            raise RuntimeError("no media")
        player = self.pj.AudioMediaPlayer()
        options = 0 if loop else self.pj.PJMEDIA_FILE_NO_LOOP
        if len(files) == 1:
            player.createPlayer(files[0], options)
        else:
            player.createPlaylist(files, "pl", options)
        player.startTransmit(am)
        self.players[call] = player

    def op_stop(self, call: str) -> None:
        player = self.players.pop(call, None)
        if player is not None:
            am = self._media(call)
            if am is not None:
                with contextlib.suppress(Exception):
                    player.stopTransmit(am)
            self.garbage.append(player)

    def op_originate(self, call: str, uri: str) -> None:
        from kefu.channels.voice.pjcommon import Leg

        leg = Leg(self.account, self.events)
        leg.name = call
        self.calls[call] = leg
        prm = self.pj.CallOpParam(True)
        prm.opt.audioCount = 1
        prm.opt.videoCount = 0
        try:
            leg.makeCall(uri, prm)
        except Exception:
            del self.calls[call]
            self.send(ev="hangup", call=call, code=500, reason="originate failed")
            raise

    def op_bridge(self, a: str, b: str) -> None:
        am_a, am_b = self._media(a), self._media(b)
        if am_a is None or am_b is None:
            raise RuntimeError("no media")
        self.op_stop(a)
        self.op_stop(b)
        am_a.startTransmit(am_b)
        am_b.startTransmit(am_a)
        self.bridges[a], self.bridges[b] = b, a
        self.send(ev="bridged", a=a, b=b)

    def op_record(self, call: str, file: str, legs: list[str] | None = None) -> None:
        recorder = self.pj.AudioMediaRecorder()
        recorder.createRecorder(file)
        names = tuple(legs or [call])
        for name in names:
            am = self._media(name)
            if am is not None:
                am.startTransmit(recorder)
        self.recorders[call] = (recorder, names, True)

    def op_record_pause(self, call: str, paused: bool = True) -> None:
        recorder, names, active = self.recorders[call]
        for name in names:
            am = self._media(name)
            if am is None:
                continue
            if paused and active:
                am.stopTransmit(recorder)
            elif not paused and not active:
                am.startTransmit(recorder)
        self.recorders[call] = (recorder, names, not paused)

    def op_record_stop(self, call: str) -> None:
        found = self.recorders.pop(call, None)
        if found is not None:
            recorder, names, _ = found
            for name in names:
                am = self._media(name)
                if am is not None:
                    with contextlib.suppress(Exception):
                        am.stopTransmit(recorder)
            del recorder  # destroyed now: the WAV header gets its final sizes
            self.send(ev="recorded", call=call)

    def op_hold(self, call: str, other: str, on: bool, files: list[str]) -> None:
        """Hold: the two legs stop hearing each other and ``call`` hears music."""
        am_a, am_b = self._media(call), self._media(other)
        if am_a is None or am_b is None:
            raise RuntimeError("no media")
        if on:
            am_a.stopTransmit(am_b)
            am_b.stopTransmit(am_a)
            self.op_play(call, files, loop=True)
        else:
            self.op_stop(call)
            am_a.startTransmit(am_b)
            am_b.startTransmit(am_a)

    def op_mute(self, call: str, toward: str, on: bool) -> None:
        """Mute: ``toward`` stops hearing ``call`` (the recording still gets both)."""
        am_a, am_b = self._media(call), self._media(toward)
        if am_a is None or am_b is None:
            raise RuntimeError("no media")
        if on:
            am_a.stopTransmit(am_b)
        else:
            am_a.startTransmit(am_b)

    def op_dtmf(self, call: str, digits: str) -> None:
        if digits:
            self.calls[call].dialDtmf(digits)

    def op_transfer(self, call: str, uri: str) -> None:
        self.calls[call].xfer(uri, self.pj.CallOpParam(True))

    def op_hangup(self, call: str, code: int = 200) -> None:
        self.hangup(call, code)

    def op_ping(self, **_: Any) -> None:
        self.send(ev="pong", calls=sorted(self.calls))

    def hangup(self, name: str, code: int = 200) -> None:
        leg = self.calls.get(name)
        if leg is None:
            return
        prm = self.pj.CallOpParam()
        prm.statusCode = code
        with contextlib.suppress(Exception):
            leg.hangup(prm)

    # -- pjsua2 events -------------------------------------------------------------------------
    def drain(self) -> None:
        pj = self.pj
        while self.events:
            item = self.events.popleft()
            kind = item[0]
            if kind == "incoming":
                self.seq += 1
                leg = item[1]
                leg.name = f"in{self.seq}"
                self.calls[leg.name] = leg
                ci = leg.getInfo()
                prm = pj.CallOpParam()
                prm.statusCode = 180
                leg.answer(prm)
                self.send(
                    ev="incoming",
                    call=leg.name,
                    remote=ci.remoteUri,
                    local=ci.localUri,
                    sip_call_id=ci.callIdString,
                )
            elif kind == "state":
                _, leg, state, code, reason = item
                if leg.name not in self.calls:
                    continue
                if state == pj.PJSIP_INV_STATE_CONFIRMED:
                    self.send(ev="answered", call=leg.name)
                elif state == pj.PJSIP_INV_STATE_DISCONNECTED:
                    self._ended(leg, code, reason)
            elif kind == "media":
                leg = item[1]
                if leg.name in self.calls and self._media(leg.name) is not None:
                    self.send(ev="media", call=leg.name)
            elif kind == "dtmf":
                _, leg, digit, method = item
                self.send(ev="dtmf", call=leg.name, digit=digit, method=method)
            elif kind == "xfer":
                _, leg, code, final = item
                self.send(ev="transfer", call=leg.name, code=code, final=final)

    def _ended(self, leg: Any, code: int, reason: str) -> None:
        name = leg.name
        for cleanup in (self.op_stop, self.op_record_stop):
            with contextlib.suppress(Exception):
                cleanup(name)
        other = self.bridges.pop(name, None)
        if other is not None:
            self.bridges.pop(other, None)
        self.calls.pop(name, None)
        self.garbage.append(leg)
        self.send(ev="hangup", call=name, code=code, reason=reason)

    def run(self) -> None:
        while self.running:
            self.poll_socket()
            self.ep.libHandleEvents(10)
            try:
                self.drain()
            except Exception as exc:  # an error in one event must not end every call
                self.send(ev="error", error=_describe(exc))
            if len(self.garbage) > 64:
                self.garbage = self.garbage[-32:]

    def stop(self, *_: Any) -> None:
        self.running = False


def _describe(exc: BaseException) -> str:
    """pjsua2 errors carry their text in ``title``/``reason`` (their repr says nothing)."""
    title, reason = getattr(exc, "title", None), getattr(exc, "reason", None)
    return f"{title}: {reason}" if title or reason else repr(exc)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="kefu pjsua2 media server")
    parser.add_argument("--sip-port", type=int, default=5080)
    parser.add_argument("--control-port", type=int, default=5081)
    parser.add_argument("--rtp-port", type=int, default=20000)
    parser.add_argument("--proxy", default="127.0.0.1:5060", help="Kamailio host:port")
    args = parser.parse_args(argv)
    server = MediaServer(
        sip_port=args.sip_port,
        control_port=args.control_port,
        rtp_port=args.rtp_port,
        proxy=args.proxy,
    )
    signal.signal(signal.SIGTERM, server.stop)
    signal.signal(signal.SIGINT, server.stop)
    print(f"media server: sip 127.0.0.1:{args.sip_port} control {args.control_port}", flush=True)
    server.run()
    for name in list(server.calls):
        server.hangup(name, 503)
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline:
        server.ep.libHandleEvents(10)
    sys.stdout.flush()
    os._exit(0)  # pjsua2 objects must not be destroyed after libDestroy


if __name__ == "__main__":
    main()
