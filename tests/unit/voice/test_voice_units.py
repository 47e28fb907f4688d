"""Small pure pieces of the voice channel: announcements, SIP URIs, number specs, ESL events."""

from __future__ import annotations

import math

import click
import pytest

from kefu.channels.voice.callcontrol import _sip_user, announcement_text
from kefu.channels.voice.cli import parse_number
from kefu.channels.voice.esl import EslDriver, parse_headers

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("position", "wait", "text"),
    [
        (4, 60.0, "您前面还有3位客户, 预计等待1分钟"),
        (1, 10.0, "您前面还有0位客户, 预计等待1分钟"),  # never "0 minutes"
        (12, 330.0, "您前面还有11位客户, 预计等待6分钟"),
        (2, None, "您前面还有1位客户"),
        (2, math.inf, "您前面还有1位客户"),  # nobody ready: no estimate
    ],
)
def test_queue_announcement(position: int, wait: float | None, text: str) -> None:
    assert announcement_text(position, wait) == text


def test_sip_user_of_uris() -> None:
    assert _sip_user('"张三" <sip:4000@127.0.0.1:5060;transport=udp>;tag=x') == "4000"
    assert _sip_user("sip:1001;foo=bar@host") == "1001"
    assert _sip_user("tel:+861234") == ""


def test_number_specs() -> None:
    assert parse_number("10088=demo-telecom:Q_BILL") == ("10088", "demo-telecom", "Q_BILL", "")
    assert parse_number("4000=acme:HOT:main") == ("4000", "acme", "HOT", "main")
    for bad in ("10088", "=a:b", "1=a", "1=:b"):
        with pytest.raises(click.BadParameter):
            parse_number(bad)


def test_esl_events_become_driver_events() -> None:
    driver = EslDriver()
    headers = parse_headers(
        "Event-Name: DTMF\nUnique-ID: u1\nDTMF-Digit: %23\nDTMF-Source: INFO\n", decode=True
    )
    event = driver._translate(headers)
    assert event is not None and (event.kind, event.leg, event.data["digit"]) == ("dtmf", "u1", "#")
    assert event.data["method"] == "info"
    hangup = driver._translate(
        {"Event-Name": "CHANNEL_HANGUP_COMPLETE", "Unique-ID": "u1", "Hangup-Cause": "USER_BUSY"}
    )
    assert hangup is not None and hangup.data == {"code": 486, "reason": "USER_BUSY"}
    assert driver._translate({"Event-Name": "HEARTBEAT"}) is None
