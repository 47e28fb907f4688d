"""Reading the 回访 reply and choosing when to call back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kefu.channels.sms.model import normalise_phone
from kefu.tickets.policies import followup_call_time, parse_followup_reply

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "solved"),
    [
        ("1", True),
        ("1 解决", True),
        ("１", True),
        ("已解决，谢谢", True),
        ("2", False),
        ("2 未解决", False),
        ("２。", False),
        ("还是没解决", False),
        ("未解决", False),  # contains 解决: the negative wins
        ("你好", None),
        ("   ", None),
        ("3", None),
    ],
)
def test_reply(text: str, solved: bool | None) -> None:
    assert parse_followup_reply(text) is solved


def test_call_time_respects_the_window() -> None:
    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    hour = timedelta(hours=1)
    assert followup_call_time(now, None, None) == now
    assert followup_call_time(now, now + 3 * hour, now + 5 * hour) == now + 3 * hour  # ahead
    assert followup_call_time(now, now - hour, now + hour) == now  # inside
    # the window passed today: the same hours the next day
    assert followup_call_time(now, now - 5 * hour, now - 3 * hour) == now + 19 * hour
    assert followup_call_time(now, now - 49 * hour, now - 47 * hour) == now + 23 * hour


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("008613800138000", "13800138000"),
        ("010-62345678", None),
        ("95598", None),
    ],
)
def test_mobile_numbers(raw: str, number: str | None) -> None:
    assert normalise_phone(raw) == number
