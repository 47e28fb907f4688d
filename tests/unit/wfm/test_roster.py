"""Rostering: hard rules always hold, nights and weekends rotate fairly, swaps are checked."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.wfm.roster import AgentProfile, Line, LineShift, assign_roster, check_swap, line_problems

pytestmark = pytest.mark.unit


def _line(
    lid: str,
    days: tuple[int, ...],
    start: int = 540,
    length: int = 510,
    skill: str | None = "voice",
) -> Line:
    night = start < 360 or start + length > 1440
    return Line(
        lid, tuple(LineShift(d, start, start + length, length - 30, night) for d in days), skill
    )


WEEKDAY = (0, 1, 2, 3, 4)
WEEKEND = (2, 3, 4, 5, 6)


def test_skills_contracts_and_leave_are_hard_rules() -> None:
    line = _line("L1", WEEKDAY, skill="billing")
    agent = AgentProfile("a", skills=frozenset({"voice"}), max_hours=30, leave_days=frozenset({2}))
    problems = line_problems(agent, line)
    assert "lacks skill billing" in problems
    assert "40 h exceeds the contract's 30 h" in problems
    assert "on leave that day" in problems
    fine = AgentProfile("b", skills=frozenset({"billing"}))
    assert line_problems(fine, line) == []


def test_rest_after_last_week_and_consecutive_days() -> None:
    line = _line("L1", (0, 1, 2, 3, 4), start=360)  # Monday 06:00
    tired = AgentProfile("a", skills=frozenset({"voice"}), last_shift_end_min=-60)  # Sun 23:00
    assert "less than 11 h rest after last week's final shift" in line_problems(tired, line)
    rested = AgentProfile("b", skills=frozenset({"voice"}), last_shift_end_min=-7 * 60)
    assert line_problems(rested, line) == []
    streak = AgentProfile("c", skills=frozenset({"voice"}), days_worked_before=2)
    assert "more than 6 consecutive working days" in line_problems(streak, line)


def test_roster_fills_lines_and_explains_open_ones() -> None:
    lines = [_line("L1", WEEKDAY), _line("L2", WEEKEND), _line("L3", WEEKDAY, skill="chat")]
    agents = [AgentProfile("a", frozenset({"voice"})), AgentProfile("b", frozenset({"voice"}))]
    roster = assign_roster(lines, agents)
    assert set(roster.assignments) == {"L1", "L2"}
    assert roster.open_lines == {"L3": ["2 agent(s): lacks skill chat"]}
    assert roster.idle_agents == []


def test_weekends_and_nights_go_to_who_had_fewer() -> None:
    lines = [_line("W", WEEKEND), _line("N", WEEKDAY, start=1320), _line("D", WEEKDAY)]
    agents = [
        AgentProfile("had_weekends", frozenset({"voice"}), past_weekends=8, past_nights=0),
        AgentProfile("had_nights", frozenset({"voice"}), past_weekends=0, past_nights=10),
        AgentProfile(
            "fresh", frozenset({"voice"}), past_weekends=0, past_nights=0, avoid_nights=False
        ),
    ]
    roster = assign_roster(lines, agents)
    assert roster.assignments["W"] != "had_weekends"
    assert roster.assignments["N"] != "had_nights"


def test_preferences_are_honoured_when_possible() -> None:
    lines = [_line("early", WEEKDAY, start=420), _line("late", WEEKDAY, start=780)]
    agents = [
        AgentProfile("owl", frozenset({"voice"}), start_window=(720, 900)),
        AgentProfile("lark", frozenset({"voice"}), start_window=(360, 480)),
    ]
    assert assign_roster(lines, agents).assignments == {"early": "lark", "late": "owl"}


def test_swap_checks_skills_and_rest() -> None:
    a, b = AgentProfile("a", frozenset({"voice"})), AgentProfile("b", frozenset({"voice", "chat"}))
    la, lb = _line("La", WEEKDAY, start=540), _line("Lb", WEEKDAY, start=540, skill="chat")
    assert check_swap(a, la, b, lb, 2) == ["a: lacks skill chat"]
    late = _line("Lc", WEEKDAY, start=900, skill="voice")
    c = AgentProfile("c", frozenset({"voice"}))
    # a takes c's 15:00-24:00 shift on Tuesday and must be back Wednesday 09:00: 9 h rest
    assert "a: less than 11 h rest between shifts" in check_swap(a, la, c, late, 1)
    assert check_swap(a, la, c, _line("Ld", WEEKDAY, start=600), 4) == []


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([WEEKDAY, WEEKEND, (0, 1, 2, 4, 5), (1, 2, 3)]),
            st.sampled_from([0, 360, 540, 900, 1320]),
            st.sampled_from(["voice", "chat"]),
        ),
        min_size=1,
        max_size=8,
    ),
    st.lists(
        st.tuples(
            st.sets(st.sampled_from(["voice", "chat"]), min_size=1),
            st.sampled_from([20.0, 32.0, 40.0]),
            st.sets(st.integers(0, 6), max_size=2),
            st.integers(0, 4),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_every_assignment_respects_the_hard_rules(line_specs, agent_specs) -> None:  # type: ignore[no-untyped-def]
    lines = [
        _line(f"L{i}", days, start, 480, skill) for i, (days, start, skill) in enumerate(line_specs)
    ]
    agents = [
        AgentProfile(
            f"A{i}", frozenset(sk), max_hours=h, leave_days=frozenset(lv), days_worked_before=b
        )
        for i, (sk, h, lv, b) in enumerate(agent_specs)
    ]
    roster = assign_roster(lines, agents)
    by_id = {a.id: a for a in agents}
    lines_by_id = {line.id: line for line in lines}
    assert len(set(roster.assignments.values())) == len(roster.assignments)
    for line_id, agent_id in roster.assignments.items():
        assert line_problems(by_id[agent_id], lines_by_id[line_id]) == []
    # maximal: no open line could have gone to an idle agent
    for line_id in roster.open_lines:
        for agent_id in roster.idle_agents:
            assert line_problems(by_id[agent_id], lines_by_id[line_id]) != []
