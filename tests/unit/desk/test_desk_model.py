"""Desk rules: quick-reply variables, "n-th contact today", wrap-up deadlines, wallboard alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kefu.desk.model import alerts, render_reply, visit_summary, wrap_up_deadline

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
DAY = NOW.replace(hour=0)


def test_quick_reply_variables_are_filled_and_unknown_ones_stay_visible() -> None:
    values = {"customer_name": "王先生", "job_number": "1001", "agent_name": ""}
    text = render_reply("{customer_name}您好，{job_number}号为您服务{agent_name}{nope}", values)
    assert text == "王先生您好，1001号为您服务{agent_name}{nope}"
    assert render_reply("{{json}} {customer_name", values) == "{{json}} {customer_name"


def test_visit_summary_counts_today_the_year_and_complaints() -> None:
    earlier = [
        (NOW - timedelta(hours=3, minutes=28), False),  # 10:32
        (NOW - timedelta(hours=5), True),
        (NOW - timedelta(days=3), True),
        (NOW - timedelta(days=400), True),  # more than a year ago: not counted
        (DAY - timedelta(minutes=1), False),  # yesterday 23:59
    ]
    summary = visit_summary(earlier, NOW, DAY)
    assert summary.ordinal == 3  # "今天第3次"
    assert summary.last == NOW - timedelta(hours=3, minutes=28)
    assert summary.past_year == 5 and summary.complaints == 2
    first = visit_summary([], NOW, DAY)
    assert (first.ordinal, first.last, first.past_year, first.complaints) == (1, None, 1, 0)


def test_wrap_up_deadline() -> None:
    assert wrap_up_deadline(NOW, 60) == NOW + timedelta(seconds=60)
    assert wrap_up_deadline(NOW, 0) is None and wrap_up_deadline(None, 60) is None


def test_alerts_when_service_level_drops_or_a_wait_is_too_long() -> None:
    queues = {
        "Q_BILL": {
            "interval": {"service_level": 0.6},
            "today": {"service_level": 0.85},
            "waiting": 3,
            "longest_wait_s": 95.0,
        },
        "Q_CHAT": {
            "interval": {"service_level": None},
            "today": {"service_level": None},
            "waiting": 0,
            "longest_wait_s": 500.0,  # nobody waiting now: a stale number raises nothing
        },
        "Q_VIP": {"interval": {"service_level": 0.9}, "today": {"service_level": 0.95}},
    }
    targets = {"Q_BILL": 0.8, "Q_CHAT": 0.8, "Q_VIP": 0.8}
    found = [a.as_dict() for a in alerts(queues, targets, {"Q_BILL": 60, "Q_CHAT": 180})]
    assert found == [
        {"queue": "Q_BILL", "kind": "sl_interval", "value": 0.6, "limit": 0.8},
        {"queue": "Q_BILL", "kind": "long_wait", "value": 95.0, "limit": 60.0},
    ]
