"""FreeSWITCH driver: the same :class:`~kefu.channels.voice.driver.MediaDriver` over inbound ESL.

A small ESL client of our own (the event socket is a plain text protocol): it connects to
``mod_event_socket`` (default 127.0.0.1:8021), authenticates, subscribes to plain events and
sends ``api``/``bgapi`` commands. FreeSWITCH's dialplan parks every call from Kamailio
(``<action application="park"/>``); the parked channel is the ``incoming`` event.

======================  ==================================================================
driver                  FreeSWITCH
======================  ==================================================================
answer                  ``api uuid_answer <uuid>``
play files [loop]       ``api uuid_broadcast <uuid> [endless_playback::]file_string://a!b aleg``
stop                    ``api uuid_break <uuid> all``
originate               ``bgapi originate {origination_uuid=<uuid>}sofia/external/<uri> &park()``
bridge                  ``api uuid_bridge <a> <b>``
transfer (REFER)        ``api uuid_deflect <uuid> <uri>``
record / pause / stop   ``api uuid_record <uuid> start|mask|unmask|stop <path>``
hold / mute / DTMF      ``api uuid_hold [off]``, ``uuid_audio <uuid> start read mute``,
                        ``uuid_send_dtmf <uuid> <digits>``
hang up                 ``api uuid_kill <uuid> <cause>``
======================  ==================================================================

Events: CHANNEL_PARK (inbound) → ``incoming``; CHANNEL_ANSWER → ``media`` (and ``answered``
for originated legs); DTMF → ``dtmf`` (method from ``DTMF-Source``); CHANNEL_BRIDGE →
``bridged``; CHANNEL_HANGUP_COMPLETE → ``hangup`` (``Hangup-Cause``); a closed socket →
``down``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import uuid
from collections.abc import Callable
from urllib.parse import unquote

from kefu.channels.voice.driver import DriverEvent

__all__ = ["EslDriver", "parse_headers"]

log = logging.getLogger("kefu.voice.esl")

EVENTS = (
    "CHANNEL_PARK CHANNEL_ANSWER CHANNEL_BRIDGE CHANNEL_HANGUP_COMPLETE DTMF PLAYBACK_STOP "
    "BACKGROUND_JOB"
)
CAUSES = {
    200: "NORMAL_CLEARING",
    404: "UNALLOCATED_NUMBER",
    486: "USER_BUSY",
    487: "ORIGINATOR_CANCEL",
    503: "NORMAL_TEMPORARY_FAILURE",
    603: "CALL_REJECTED",
}
SIP_CODES = {cause: code for code, cause in CAUSES.items()} | {"NO_ANSWER": 480}


def parse_headers(block: str, *, decode: bool = False) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.split("\n"):
        if ": " in line:
            key, value = line.split(": ", 1)
            headers[key.strip()] = unquote(value.strip()) if decode else value.strip()
    return headers


class EslDriver:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8021,
        password: str = "ClueCon",
        *,
        gateway: str = "sofia/external",
    ) -> None:
        self.address = (host, port)
        self.password = password
        self.gateway = gateway
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._replies: list[threading.Event] = []
        self._reply_data: dict[int, dict[str, str]] = {}
        self._uuids: dict[str, str] = {}  # leg name -> channel uuid (originated legs)
        self._legs: dict[str, str] = {}  # channel uuid -> leg name
        self._originated: set[str] = set()
        self._recording: dict[str, str] = {}
        self._buffer = b""

    # -- connection --------------------------------------------------------------------------
    def connect(self, on_event: Callable[[DriverEvent], None]) -> None:
        sock = socket.create_connection(self.address, timeout=5)
        self._sock = sock
        headers, _ = self._read_message(sock)
        if headers.get("Content-Type") != "auth/request":
            raise ConnectionError(f"not an ESL server: {headers}")
        sock.sendall(f"auth {self.password}\n\n".encode())
        headers, _ = self._read_message(sock)
        if not headers.get("Reply-Text", "").startswith("+OK"):
            raise ConnectionError(f"ESL authentication refused: {headers.get('Reply-Text')}")
        sock.sendall(f"event plain {EVENTS}\n\n".encode())
        headers, _ = self._read_message(sock)
        if not headers.get("Reply-Text", "").startswith("+OK"):
            raise ConnectionError(f"ESL subscription refused: {headers.get('Reply-Text')}")
        sock.settimeout(None)
        threading.Thread(
            target=self._read_loop, args=(sock, on_event), name="voice-esl", daemon=True
        ).start()

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()

    def _read_message(self, sock: socket.socket) -> tuple[dict[str, str], str]:
        while b"\n\n" not in self._buffer:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("ESL connection closed")
            self._buffer += chunk
        head, self._buffer = self._buffer.split(b"\n\n", 1)
        headers = parse_headers(head.decode())
        length = int(headers.get("Content-Length", "0") or 0)
        while len(self._buffer) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("ESL connection closed")
            self._buffer += chunk
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return headers, body.decode()

    def _read_loop(self, sock: socket.socket, on_event: Callable[[DriverEvent], None]) -> None:
        try:
            while True:
                headers, body = self._read_message(sock)
                kind = headers.get("Content-Type", "")
                if kind == "text/event-plain":
                    event = self._translate(parse_headers(body, decode=True))
                    if event is not None:
                        on_event(event)
                elif kind in ("api/response", "command/reply"):
                    with self._lock:
                        waiter = self._replies.pop(0) if self._replies else None
                    if waiter is not None:
                        self._reply_data[id(waiter)] = {**headers, "body": body}
                        waiter.set()
                elif kind == "text/disconnect-notice":
                    break
        except (OSError, ConnectionError, ValueError):
            pass
        on_event(DriverEvent("down"))

    # -- events ------------------------------------------------------------------------------
    def _leg(self, channel: str) -> str:
        return self._legs.get(channel, channel)

    def _translate(self, ev: dict[str, str]) -> DriverEvent | None:
        name = ev.get("Event-Name", "")
        channel = ev.get("Unique-ID", "")
        leg = self._leg(channel)
        if name == "CHANNEL_PARK":
            if channel in self._originated or ev.get("Call-Direction") == "outbound":
                return None
            dest = ev.get("Caller-Destination-Number", "")
            caller = ev.get("Caller-Caller-ID-Number", "")
            return DriverEvent(
                "incoming",
                leg,
                {
                    "remote": f"sip:{caller}@{ev.get('Caller-Network-Addr', '')}",
                    "local": f"sip:{dest}@freeswitch",
                    "sip_call_id": ev.get("variable_sip_call_id", channel),
                },
            )
        if name == "CHANNEL_ANSWER":
            return DriverEvent("answered" if channel in self._originated else "media", leg)
        if name == "DTMF":
            source = ev.get("DTMF-Source", "").lower()
            method = "info" if source in ("info", "inband_info") else "rfc4733"
            return DriverEvent("dtmf", leg, {"digit": ev.get("DTMF-Digit", ""), "method": method})
        if name == "CHANNEL_BRIDGE":
            other = self._leg(ev.get("Other-Leg-Unique-ID", ""))
            return DriverEvent("bridged", "", {"a": leg, "b": other})
        if name == "CHANNEL_HANGUP_COMPLETE":
            cause = ev.get("Hangup-Cause", "NORMAL_CLEARING")
            self._originated.discard(channel)
            name_of = self._legs.pop(channel, None)
            if name_of is not None:
                self._uuids.pop(name_of, None)
            return DriverEvent("hangup", leg, {"code": SIP_CODES.get(cause, 500), "reason": cause})
        return None

    # -- commands ----------------------------------------------------------------------------
    def _api(self, command: str, *, background: bool = False) -> str:
        if self._sock is None:
            raise ConnectionError("ESL not connected")
        waiter = threading.Event()
        with self._lock:
            self._replies.append(waiter)
            self._sock.sendall(f"{'bgapi' if background else 'api'} {command}\n\n".encode())
        if not waiter.wait(10):
            raise TimeoutError(f"no ESL reply to {command.split()[0]}")
        reply = self._reply_data.pop(id(waiter), {})
        text = reply.get("body") or reply.get("Reply-Text", "")
        if text.startswith("-ERR"):
            log.warning("ESL %s: %s", command.split()[0], text.strip())
        return text

    def _uuid(self, leg: str) -> str:
        return self._uuids.get(leg, leg)

    def answer(self, leg: str) -> None:
        self._api(f"uuid_answer {self._uuid(leg)}")

    def play(self, leg: str, files: list[str], *, loop: bool = False) -> None:
        target = files[0] if len(files) == 1 else "file_string://" + "!".join(files)
        app = f"endless_playback::{target}" if loop else target
        self._api(f"uuid_broadcast {self._uuid(leg)} {app} aleg")

    def stop(self, leg: str) -> None:
        self._api(f"uuid_break {self._uuid(leg)} all")

    def originate(self, leg: str, uri: str) -> None:
        channel = str(uuid.uuid4())
        self._uuids[leg] = channel
        self._legs[channel] = leg
        self._originated.add(channel)
        target = uri.removeprefix("sip:")
        self._api(
            f"originate {{origination_uuid={channel}}}{self.gateway}/{target} &park()",
            background=True,
        )

    def bridge(self, a: str, b: str) -> None:
        self._api(f"uuid_bridge {self._uuid(a)} {self._uuid(b)}")

    def transfer(self, leg: str, uri: str) -> None:
        self._api(f"uuid_deflect {self._uuid(leg)} {uri}")

    def record(self, leg: str, path: str, legs: list[str]) -> None:
        self._recording[leg] = path
        self._api(f"uuid_record {self._uuid(leg)} start {path}")

    def record_pause(self, leg: str, paused: bool) -> None:
        path = self._recording.get(leg, "")
        self._api(f"uuid_record {self._uuid(leg)} {'mask' if paused else 'unmask'} {path}")

    def record_stop(self, leg: str) -> None:
        path = self._recording.pop(leg, "all")
        self._api(f"uuid_record {self._uuid(leg)} stop {path}")

    def hold(self, leg: str, other: str, on: bool, music: list[str]) -> None:
        self._api(f"uuid_hold {'' if on else 'off '}{self._uuid(leg)}")

    def mute(self, leg: str, toward: str, on: bool) -> None:
        if on:
            self._api(f"uuid_audio {self._uuid(leg)} start read mute -4")
        else:
            self._api(f"uuid_audio {self._uuid(leg)} stop")

    def send_dtmf(self, leg: str, digits: str) -> None:
        self._api(f"uuid_send_dtmf {self._uuid(leg)} {digits}")

    def hangup(self, leg: str, code: int = 200) -> None:
        self._api(f"uuid_kill {self._uuid(leg)} {CAUSES.get(code, 'NORMAL_CLEARING')}")
