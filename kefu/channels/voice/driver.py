"""The one interface call control uses to drive a media server, and its events.

Commands: answer, play, stop, originate, bridge, transfer, record (start / pause / stop),
hold (music to the held leg), mute (one direction), send DTMF, hang up. Digit collection is
done by call control from ``dtmf`` events (the media server reports every digit with its
method, RFC 4733 or SIP INFO).

Events (``DriverEvent.kind``): ``incoming`` (a new inbound leg: remote, local, sip_call_id),
``media`` (audio flows on a leg), ``answered`` (an originated leg was answered), ``dtmf``
(digit, method), ``bridged``, ``transfer`` (code, final), ``hangup`` (code, reason), and
``down`` — the media server is gone (control connection lost): every leg it had is over.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["DriverEvent", "MediaDriver", "PjMediaDriver"]

log = logging.getLogger("kefu.voice")


@dataclass(frozen=True)
class DriverEvent:
    kind: str
    leg: str = ""
    data: dict[str, Any] = field(default_factory=dict)


class MediaDriver(Protocol):
    def connect(self, on_event: Callable[[DriverEvent], None]) -> None: ...
    def close(self) -> None: ...
    def answer(self, leg: str) -> None: ...
    def play(self, leg: str, files: list[str], *, loop: bool = False) -> None: ...
    def stop(self, leg: str) -> None: ...
    def originate(self, leg: str, uri: str) -> None: ...
    def bridge(self, a: str, b: str) -> None: ...
    def transfer(self, leg: str, uri: str) -> None: ...
    def record(self, leg: str, path: str, legs: list[str]) -> None: ...
    def record_pause(self, leg: str, paused: bool) -> None: ...
    def record_stop(self, leg: str) -> None: ...
    def hold(self, leg: str, other: str, on: bool, music: list[str]) -> None: ...
    def mute(self, leg: str, toward: str, on: bool) -> None: ...
    def send_dtmf(self, leg: str, digits: str) -> None: ...
    def hangup(self, leg: str, code: int = 200) -> None: ...


class PjMediaDriver:
    """Client of ``python -m kefu.channels.voice.pjmedia`` (line-delimited JSON over TCP)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5081) -> None:
        self.address = (host, port)
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None

    def connect(self, on_event: Callable[[DriverEvent], None]) -> None:
        sock = socket.create_connection(self.address, timeout=5)
        sock.settimeout(None)
        self._sock = sock
        self._reader = threading.Thread(
            target=self._read, args=(sock, on_event), name="voice-media", daemon=True
        )
        self._reader.start()

    def _read(self, sock: socket.socket, on_event: Callable[[DriverEvent], None]) -> None:
        buf = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    try:
                        msg = json.loads(line)
                        kind = str(msg.pop("ev"))
                    except (ValueError, KeyError):
                        log.warning("media server sent a bad line: %r", line[:200])
                        continue
                    on_event(DriverEvent(kind, str(msg.pop("call", "")), msg))
        except OSError:
            pass
        on_event(DriverEvent("down"))

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()

    def _send(self, **cmd: Any) -> None:
        data = (json.dumps(cmd) + "\n").encode()
        with self._lock:
            if self._sock is None:
                raise ConnectionError("media server not connected")
            self._sock.sendall(data)

    def answer(self, leg: str) -> None:
        self._send(op="answer", call=leg)

    def play(self, leg: str, files: list[str], *, loop: bool = False) -> None:
        self._send(op="play", call=leg, files=files, loop=loop)

    def stop(self, leg: str) -> None:
        self._send(op="stop", call=leg)

    def originate(self, leg: str, uri: str) -> None:
        self._send(op="originate", call=leg, uri=uri)

    def bridge(self, a: str, b: str) -> None:
        self._send(op="bridge", a=a, b=b)

    def transfer(self, leg: str, uri: str) -> None:
        self._send(op="transfer", call=leg, uri=uri)

    def record(self, leg: str, path: str, legs: list[str]) -> None:
        self._send(op="record", call=leg, file=path, legs=legs)

    def record_pause(self, leg: str, paused: bool) -> None:
        self._send(op="record_pause", call=leg, paused=paused)

    def record_stop(self, leg: str) -> None:
        self._send(op="record_stop", call=leg)

    def hold(self, leg: str, other: str, on: bool, music: list[str]) -> None:
        self._send(op="hold", call=leg, other=other, on=on, files=music)

    def mute(self, leg: str, toward: str, on: bool) -> None:
        self._send(op="mute", call=leg, toward=toward, on=on)

    def send_dtmf(self, leg: str, digits: str) -> None:
        self._send(op="dtmf", call=leg, digits=digits)

    def hangup(self, leg: str, code: int = 200) -> None:
        self._send(op="hangup", call=leg, code=code)
