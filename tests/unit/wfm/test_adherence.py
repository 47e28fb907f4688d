"""Adherence and conformance on a recorded day of agent state events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kefu.wfm.adherence import Activity, adherence, exceptions, spans_from_changes

pytestmark = pytest.mark.unit

DAY = datetime(2026, 3, 2, tzinfo=UTC)


def at(hhmm: str) -> datetime:
    h, m = hhmm.split(":")
    return DAY + timedelta(hours=int(h), minutes=int(m))


SCHEDULE = [
    Activity("7", "work", at("09:00"), at("10:30")),
    Activity("7", "break", at("10:30"), at("10:45")),
    Activity("7", "work", at("10:45"), at("12:00")),
    Activity("7", "lunch", at("12:00"), at("12:30")),
    Activity("7", "work", at("12:30"), at("18:00")),
    Activity("8", "work", at("09:00"), at("13:00")),
]
# (agent, time, state, reason) as the routing runtime records agent_state_changed
EVENTS = [
    ("7", "08:55", "ready", ""),
    ("7", "09:10", "busy", ""),
    ("7", "09:20", "wrap_up", ""),
    ("7", "09:22", "ready", ""),
    ("7", "10:35", "not_ready", "break"),
    ("7", "10:50", "ready", ""),
    ("7", "12:00", "not_ready", "lunch"),
    ("7", "12:40", "ready", ""),
    ("7", "17:50", "offline", ""),
    ("8", "09:05", "ready", ""),
    ("8", "13:00", "offline", ""),
]


def _states():  # type: ignore[no-untyped-def]
    return spans_from_changes([(a, at(t), s, r) for a, t, s, r in EVENTS], at("20:00"))


def test_adherence_and_conformance_of_a_recorded_day() -> None:
    agents, teams = adherence(SCHEDULE, _states(), at("08:00"), at("20:00"), {"7": "A", "8": "A"})
    seven = agents["7"]
    assert seven.scheduled_s == 9 * 3600
    assert seven.in_adherence_s == 30600  # out: 5 min late to break, 5 min late back,
    # 10 min late from lunch, 10 min early off
    assert seven.adherence == pytest.approx(30600 / 32400)
    assert seven.scheduled_work_s == 29700
    assert seven.worked_s == 28800  # ready from 08:55 counts: conformance is time worked
    assert seven.conformance == pytest.approx(28800 / 29700)
    assert seven.out_of_adherence_s == {
        "break→ready": 300.0,
        "work→break": 300.0,
        "work→lunch": 600.0,
        "work→offline": 600.0,
    }
    assert agents["8"].adherence == pytest.approx(14100 / 14400)
    assert teams["A"].adherence == pytest.approx(44700 / 46800)
    assert teams["A"].conformance == pytest.approx((28800 + 14100) / (29700 + 14400))


def test_exceptions_list_what_was_scheduled_and_what_happened() -> None:
    found = exceptions(SCHEDULE, _states(), at("08:00"), at("20:00"))
    assert [
        (e.agent_id, e.scheduled, e.actual, e.start.strftime("%H:%M"), e.seconds) for e in found
    ] == [
        ("8", "work", "offline", "09:00", 300.0),
        ("7", "break", "ready", "10:30", 300.0),
        ("7", "work", "break", "10:45", 300.0),
        ("7", "work", "lunch", "12:30", 600.0),
        ("7", "work", "offline", "17:50", 600.0),
    ]
    assert (
        exceptions(SCHEDULE, _states(), at("08:00"), at("20:00"), timedelta(minutes=6))[0].actual
        == "lunch"
    )


def test_no_schedule_no_adherence_and_an_empty_window() -> None:
    agents, _ = adherence([], _states(), at("08:00"), at("20:00"))
    assert agents["7"].adherence is None
    assert agents["7"].worked_s > 0
    agents, _ = adherence(SCHEDULE, [], at("08:00"), at("20:00"))
    assert agents["7"].adherence == 0.0
    assert agents["7"].conformance == 0.0
