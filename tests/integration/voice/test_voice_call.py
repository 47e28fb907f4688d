"""End to end over real SIP/RTP on loopback: a caller dials the hotline through Kamailio, hears
the IVR prompt, presses a key (RFC 4733 or SIP INFO), is queued with a position announcement,
the routing engine offers the call to the registered agent, whose phone answers; audio flows
both ways; a hang-up on either side ends both legs; everything lands in the event log."""

from __future__ import annotations

import math
import socket
import time

import numpy as np
import pytest
from sqlalchemy import select

from kefu.channels.voice.tables import VoiceRecording
from kefu.routing.tables import RoutingContact
from tests.integration.voice.stack import AGENT_HZ, CALLER_HZ, Stack, read_samples

# one stack per module: keep these tests on one xdist worker (the crash test runs last)
pytestmark = [
    pytest.mark.voice,
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.xdist_group("voice"),
]

RATE = 8000


def tone_strength(samples: list[int], hz: float) -> float:
    """Best normalised correlation (over 1 s windows) of the samples with a ``hz`` sine: the
    known tone the other side sent, after PCMU encoding, RTP and the media server's bridge."""
    x = np.asarray(samples, dtype=float)
    n = RATE
    t = np.arange(n) / RATE
    ref_s, ref_c = np.sin(2 * math.pi * hz * t), np.cos(2 * math.pi * hz * t)
    best = 0.0
    for start in range(0, max(0, len(x) - n), n // 2):
        w = x[start : start + n]
        energy = float(np.sqrt(np.sum(w * w) * np.sum(ref_s * ref_s)))
        if energy < 1e-6:
            continue
        # correlation at the best phase shift = |<w, e^{iωt}>| normalised
        corr = math.hypot(float(np.dot(w, ref_s)), float(np.dot(w, ref_c))) / energy
        best = max(best, corr)
    return best


def voiced_seconds(samples: list[int]) -> float:
    x = np.asarray(samples, dtype=float)
    frames = len(x) // 160
    if frames == 0:
        return 0.0
    rms = np.sqrt(np.mean(x[: frames * 160].reshape(frames, 160) ** 2, axis=1))
    return float(np.sum(rms > 300)) * 0.02


def dial(stack: Stack, record: str):  # type: ignore[no-untyped-def]
    caller = stack.caller(record)
    caller.send(op="call", uri=f"sip:4000@127.0.0.1:{stack.kamailio_port}")
    caller.wait("confirmed", 10)
    caller.wait("media", 5)
    started = stack.wait_event("voice.call_started")
    return caller, started["contact_id"]


def bridged_call(stack: Stack, method: str, record: str) -> tuple[object, str]:
    stack.set_agent("ready")
    caller, contact_id = dial(stack, record)
    time.sleep(1.5)  # part of the welcome prompt
    caller.send(op="dtmf", digits="1", method=method)
    digits = stack.wait_event("voice.digits", contact_id=contact_id)
    assert digits["digits"] == "1" and digits["method"] == method
    stack.agent_ua.wait("incoming", 10)
    stack.wait_event("voice.connected", contact_id=contact_id)
    time.sleep(2.5)  # both sides talk
    return caller, contact_id


def test_call_reaches_the_agent_with_two_way_audio_rfc4733(stack: Stack) -> None:
    caller, contact_id = bridged_call(stack, "rfc4733", "caller_rx_1.wav")
    # the agent's desk asks for sensitive entry: the recording pauses, then resumes
    assert stack.control.sensitive_entry(contact_id, stack.agent.id, True)
    time.sleep(1.0)
    assert stack.control.sensitive_entry(contact_id, stack.agent.id, False)
    assert not stack.control.sensitive_entry(contact_id, stack.agent.id + 999, True)
    caller.send(op="hangup")  # the caller hangs up: the agent's leg ends too
    caller.wait("disconnected", 5)
    stack.agent_ua.wait("disconnected", 5)
    ended = stack.wait_event("voice.call_ended", contact_id=contact_id)
    assert ended["reason"] == "caller_hangup" and ended["in_state"] == "connected"
    caller.close()

    heard = read_samples(stack.tmp / "caller_rx_1.wav")
    assert voiced_seconds(heard) > 1.0, "the caller heard no prompt"
    assert tone_strength(heard, AGENT_HZ) > 0.8, "the caller did not hear the agent"
    assert tone_strength(heard, CALLER_HZ) < 0.5  # no echo of itself
    agent_heard = read_samples(stack.tmp / "agent_rx.wav")
    assert tone_strength(agent_heard, CALLER_HZ) > 0.8, "the agent did not hear the caller"

    kinds = [t for t, _ in stack.events(contact_id)]
    for kind in (
        "voice.call_started",
        "voice.digits",
        "contact_queued",
        "contact_offered",
        "voice.agent_called",
        "contact_answered",
        "voice.connected",
        "contact_completed",
        "voice.call_ended",
    ):
        assert kind in kinds, (kind, kinds)
    assert kinds.index("contact_queued") < kinds.index("contact_answered")
    (ended_ivr,) = [d for t, d in stack.events(contact_id) if t == "ivr.session_ended"]
    assert ended_ivr["outcome"] == "queued"
    assert kinds.index("contact_answered") < kinds.index("contact_completed")
    assert kinds.index("voice.recording_paused") < kinds.index("voice.recording_resumed")
    recording = stack.tmp / "voice" / "recordings" / str(stack.tenant_id) / f"{contact_id}.wav"
    assert recording.exists() and recording.stat().st_size > 8000
    with stack.container.db.sessions() as session:
        row = session.scalar(select(VoiceRecording).where(VoiceRecording.contact_id == contact_id))
    assert row is not None and row.agent_id == stack.agent.id and row.path == str(recording)
    assert row.paused_s >= 0.9 and row.duration_s > row.paused_s
    with stack.container.db.sessions() as session:  # the agent's screen-pop: the IVR trail
        contact = session.get(RoutingContact, contact_id)
    assert contact is not None
    attributes = contact.attributes
    assert attributes["ivr_path"] == "main>agent" and attributes["ivr_labels"] == "业务咨询"
    assert 1 <= attributes["ivr_seconds"] <= 10  # the welcome prompt heard for 1.5 s


def test_sip_info_dtmf_and_the_agent_hangs_up(stack: Stack) -> None:
    caller, contact_id = bridged_call(stack, "info", "caller_rx_2.wav")
    stack.agent_ua.send(op="hangup")  # the agent hangs up: the caller's leg ends too
    stack.agent_ua.wait("disconnected", 5)
    caller.wait("disconnected", 5)
    ended = stack.wait_event("voice.call_ended", contact_id=contact_id)
    assert ended["reason"] == "agent_hangup"
    caller.close()
    assert tone_strength(read_samples(stack.tmp / "caller_rx_2.wav"), AGENT_HZ) > 0.8
    assert "contact_completed" in [t for t, _ in stack.events(contact_id)]


def test_desk_controls_hold_mute_dtmf_and_hang_up(stack: Stack) -> None:
    caller, contact_id = bridged_call(stack, "rfc4733", "caller_rx_desk.wav")
    agent_id = stack.agent.id
    assert stack.control.desk_action(contact_id, agent_id, "hold")
    time.sleep(2.0)  # the caller hears music, not the agent
    assert stack.control.desk_action(contact_id, agent_id, "unhold")
    assert stack.control.desk_action(contact_id, agent_id, "mute")
    time.sleep(1.0)
    assert stack.control.desk_action(contact_id, agent_id, "unmute")
    assert stack.control.desk_action(contact_id, agent_id, "dtmf", "5")
    assert caller.wait("dtmf", 5)["digit"] == "5"
    assert not stack.control.desk_action(contact_id, agent_id + 1, "hold")  # not theirs
    time.sleep(2.5)
    assert stack.control.desk_action(contact_id, agent_id, "hangup")
    caller.wait("disconnected", 5)
    stack.agent_ua.wait("disconnected", 5)
    caller.close()
    kinds = [t for t, _ in stack.events(contact_id)]
    for kind in ("voice.hold", "voice.unhold", "voice.mute", "voice.unmute", "voice.dtmf_sent"):
        assert kind in kinds, (kind, kinds)
    assert "contact_completed" in kinds
    heard = read_samples(stack.tmp / "caller_rx_desk.wav")
    assert tone_strength(heard, 660.0) > 0.5  # music on hold
    assert tone_strength(heard[-4 * RATE :], AGENT_HZ) > 0.8  # the agent again after unmute


def test_hanging_up_in_the_ivr_is_an_ivr_abandon(stack: Stack) -> None:
    caller, contact_id = dial(stack, "caller_rx_3.wav")
    time.sleep(1.0)
    caller.send(op="hangup")
    caller.wait("disconnected", 5)
    caller.close()
    ended = stack.wait_event("voice.call_ended", contact_id=contact_id)
    assert ended["in_state"] == "ivr"
    events = stack.events(contact_id)
    kinds = [t for t, _ in events]
    assert "voice.ivr_abandoned" in kinds
    assert "contact_queued" not in kinds  # never reached routing
    # the IVR's own metrics count it as an abandon in the menu
    (ended_ivr,) = [d for t, d in events if t == "ivr.session_ended"]
    assert ended_ivr["outcome"] == "abandoned" and ended_ivr["channel"] == "voice"


def test_hanging_up_in_the_queue_is_abandoned_after_the_announcement(stack: Stack) -> None:
    stack.set_agent("not_ready")  # nobody to take the call: it waits
    caller, contact_id = dial(stack, "caller_rx_4.wav")
    time.sleep(1.0)
    caller.send(op="dtmf", digits="1", method="rfc4733")
    announced = stack.wait_event("voice.announced", contact_id=contact_id)
    assert announced["position"] == 1
    assert announced["text"].startswith("您前面还有0位客户")
    time.sleep(2.0)  # hears it
    caller.send(op="hangup")
    caller.wait("disconnected", 5)
    caller.close()
    abandoned = stack.wait_event("contact_abandoned", contact_id=contact_id)
    assert abandoned["reason"] == "abandoned"
    kinds = [t for t, _ in stack.events(contact_id)]
    assert "contact_offered" not in kinds and "voice.ivr_abandoned" not in kinds
    heard = read_samples(stack.tmp / "caller_rx_4.wav")
    assert voiced_seconds(heard) > 2.0  # prompt + announcement


def test_malformed_sip_does_not_disturb_a_call(stack: Stack) -> None:
    caller, contact_id = bridged_call(stack, "rfc4733", "caller_rx_5.wav")
    garbage = [
        b"\x00\xff garbage \r\n\r\n",
        b"INVITE sip:4000@127.0.0.1 SIP/2.0\r\nVia: broken\r\nContent-Length: 99999\r\n\r\nv=0",
        b"SIP/2.0 200 OK\r\n\r\n",
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for payload in garbage:
            sock.sendto(payload, ("127.0.0.1", stack.kamailio_port))
            sock.sendto(payload, ("127.0.0.1", stack.media_sip_port))
    time.sleep(1.5)
    assert stack.control.calls, "the call was dropped"
    caller.send(op="hangup")
    caller.wait("disconnected", 5)
    stack.agent_ua.wait("disconnected", 5)
    caller.close()
    ended = stack.wait_event("voice.call_ended", contact_id=contact_id)
    assert ended["reason"] == "caller_hangup"
    # the audio kept flowing through the garbage
    samples = read_samples(stack.tmp / "caller_rx_5.wav")
    assert tone_strength(samples[-3 * RATE :], AGENT_HZ) > 0.8


def test_a_queued_caller_asks_to_be_called_back_and_is(stack: Stack) -> None:
    stack.set_agent("not_ready")
    caller = stack.caller("caller_rx_cb.wav", reachable=True)
    caller.wait("reg", 10, code=200)
    caller.send(op="call", uri=f"sip:4000@127.0.0.1:{stack.kamailio_port}")
    caller.wait("confirmed", 10)
    contact_id = stack.wait_event("voice.call_started")["contact_id"]
    time.sleep(1.0)
    caller.send(op="dtmf", digits="1", method="rfc4733")  # the menu: to the queue
    announced = stack.wait_event("voice.announced", contact_id=contact_id)
    assert "如需回电请按1" in announced["text"]
    caller.send(op="dtmf", digits="1", method="rfc4733")  # call me back
    stack.wait_event("voice.callback_requested", contact_id=contact_id)
    caller.wait("disconnected", 10)  # the center releases the line after the confirmation
    assert "callback_requested" in [t for t, _ in stack.events(contact_id)]
    stack.set_agent("ready")  # the place was kept: the agent gets it and the caller is rung
    stack.agent_ua.wait("incoming", 10)
    caller.wait("incoming", 10)
    stack.wait_event("voice.connected", contact_id=contact_id)
    time.sleep(2.0)
    caller.send(op="hangup")
    caller.wait("disconnected", 5)
    stack.agent_ua.wait("disconnected", 5)
    caller.close()
    kinds = [t for t, _ in stack.events(contact_id)]
    for kind in ("voice.callback_dialing", "contact_answered", "contact_completed"):
        assert kind in kinds, (kind, kinds)
    assert "contact_abandoned" not in kinds
    heard = read_samples(stack.tmp / "caller_rx_cb.wav")
    assert tone_strength(heard, AGENT_HZ) > 0.8  # the agent on the callback


def test_a_media_server_crash_releases_queued_calls(stack: Stack) -> None:
    """Last in this module: it kills the media server."""
    stack.set_agent("not_ready")
    caller, contact_id = dial(stack, "caller_rx_6.wav")
    time.sleep(1.0)
    caller.send(op="dtmf", digits="1", method="rfc4733")
    stack.wait_event("contact_queued", contact_id=contact_id)
    stack.media_proc.kill()
    stack.media_proc.wait()
    abandoned = stack.wait_event("contact_abandoned", contact_id=contact_id)
    assert abandoned["reason"] == "media_server_down"
    ended = stack.wait_event("voice.call_ended", contact_id=contact_id)
    assert ended["reason"] == "media_server_down" and ended["in_state"] == "queued"
    caller.close()
    scope = stack.scope()
    try:
        row = stack.container.routing_service.contact(scope, contact_id)
        assert row.status not in ("waiting", "offered")
    finally:
        scope.session.close()
    # while the media server is down, new calls are refused at the edge
    late = stack.caller("caller_rx_7.wav")
    late.send(op="call", uri=f"sip:4000@127.0.0.1:{stack.kamailio_port}")
    assert late.wait("disconnected", 10)["code"] == 503
    late.close()
