"""Weekly tour scheduling with HiGHS: coverage, breaks, days off, explanations."""

from __future__ import annotations

import numpy as np
import pytest

from kefu.wfm.erlang import agents_for_service_level
from kefu.wfm.schedule import (
    BreakRule,
    DaysOff,
    ScheduleInfeasibleError,
    ShiftTemplate,
    required_staff,
    solve_schedule,
)

pytestmark = pytest.mark.unit

DAY = ShiftTemplate(
    "day8",
    length_min=8 * 60,
    earliest_start_min=7 * 60,
    latest_start_min=13 * 60,
    step_min=60,
    breaks=(BreakRule(60, 3 * 60, 5 * 60, paid=False),),
)


def _requirement(open_from: int = 8, open_to: int = 20, peak: int = 12) -> np.ndarray:
    req = np.zeros((7, 24), dtype=np.int64)
    for d in range(7):
        for h in range(open_from, open_to):
            req[d, h] = max(1, round(peak * (1.0 if d < 5 else 0.5) * (1 - abs(h - 13) / 10)))
    return req


def test_schedule_covers_every_interval_with_breaks_taken() -> None:
    req = _requirement()
    result = solve_schedule(req, [DAY], DaysOff(5), interval_min=60)
    assert result.status == "optimal"
    assert np.all(result.scheduled >= req)
    # proven optimal: at least the LP bound (7 paid hours x 5 days per agent), gap reported
    assert result.agents >= np.ceil(result.lp_bound / 35 - 1e-9)
    assert result.gap == pytest.approx((result.objective - result.lp_bound) / result.lp_bound)
    # each agent works five consecutive days, same start every day, and takes the lunch
    by_agent: dict[int, list] = {}
    for shift in result.shifts:
        by_agent.setdefault(shift.tour, []).append(shift)
        assert len(shift.breaks) == 1
        start, length, paid = shift.breaks[0]
        assert shift.start_min + 180 <= start <= shift.start_min + 300 and length == 60 and not paid
    assert len(by_agent) == result.agents
    for shifts in by_agent.values():
        days = sorted(s.day for s in shifts)
        assert len(days) == 5 and len({s.start_min for s in shifts}) == 1
        mask = [d in days for d in range(7)]
        assert any(all(mask[(k + j) % 7] for j in range(5)) for k in range(7))
    # on-phone count recomputed from the shift instances matches the solver's coverage
    on = np.zeros((7, 24), dtype=np.int64)
    for s in result.shifts:
        for h in range(s.start_min // 60, s.end_min // 60):
            on[(s.day + h // 24) % 7, h % 24] += 1
        for b, length, _ in s.breaks:
            for h in range(b // 60, (b + length) // 60):
                on[(s.day + h // 24) % 7, h % 24] -= 1
    assert np.array_equal(on, result.scheduled)


def test_night_shifts_carry_over_midnight() -> None:
    req = np.zeros((7, 24), dtype=np.int64)
    req[:, 22:] = 2
    req[:, :4] = 2
    night = ShiftTemplate("night", 6 * 60, 22 * 60, 22 * 60, 60)
    result = solve_schedule(req, [night], DaysOff(5, consecutive_off=False), interval_min=60)
    assert np.all(result.scheduled >= req)
    assert all(s.night and s.end_min == 28 * 60 for s in result.shifts)


def test_uncoverable_hours_are_explained() -> None:
    req = _requirement()
    req[2, 3] = 4  # Wednesday 03:00, no template works then
    with pytest.raises(ScheduleInfeasibleError) as caught:
        solve_schedule(req, [DAY], DaysOff(5), interval_min=60)
    message = str(caught.value)
    assert "no shift template works Wed 03:00-04:00" in message
    assert "up to 4 agents" in message
    assert "Running HiGHS" not in message


def test_a_binding_cap_is_named_with_the_short_intervals() -> None:
    req = _requirement(peak=12)
    with pytest.raises(ScheduleInfeasibleError) as caught:
        solve_schedule(req, [DAY], DaysOff(5), interval_min=60, max_agents=5)
    reasons = caught.value.reasons
    assert reasons[0] == "the cap of 5 agents is reached"
    assert "stay short by" in reasons[-1] and "Mon 08:00-20:00" in reasons[-1]
    assert caught.value.short  # per interval shortfall for the page


def test_template_cap_binds() -> None:
    req = _requirement(peak=6)
    capped = ShiftTemplate("day8", 480, 420, 780, 60, DAY.breaks, max_agents=2)
    with pytest.raises(ScheduleInfeasibleError, match="cap of 2 agents on template day8"):
        solve_schedule(req, [capped], DaysOff(5), interval_min=60)


def test_bad_templates_are_refused_with_reasons() -> None:
    long = ShiftTemplate("long", 14 * 60, 0, 0, 60)
    overlap = ShiftTemplate(
        "x", 480, 480, 480, 60, (BreakRule(60, 120, 240), BreakRule(60, 180, 300))
    )
    with pytest.raises(ScheduleInfeasibleError, match="11 h of rest"):
        solve_schedule(_requirement(), [long], interval_min=60)
    with pytest.raises(ScheduleInfeasibleError, match="break windows overlap"):
        solve_schedule(_requirement(), [overlap], interval_min=60)


def test_cheaper_part_time_mix_when_offered() -> None:
    req = _requirement()
    part = ShiftTemplate("part4", 240, 8 * 60, 16 * 60, 60)
    both = solve_schedule(
        req, [DAY, part], DaysOff(5), interval_min=60, time_limit_s=3, mip_gap=0.01
    )
    only = solve_schedule(req, [DAY], DaysOff(5), interval_min=60)
    assert both.paid_hours < only.paid_hours
    assert {t.template for t in both.tours} == {"day8", "part4"}
    assert np.all(both.scheduled >= req)


def test_required_staff_uses_erlang_and_shrinkage() -> None:
    volumes = np.array([[0.0, 100.0, 400.0]])
    plain = required_staff(volumes, 300.0, 30, 0.8, 20.0)
    assert plain[0, 0] == 0
    assert plain[0, 2] == agents_for_service_level(400 * 300 / 1800, 300.0, 20.0, 0.8)
    shrunk = required_staff(volumes, 300.0, 30, 0.8, 20.0, shrinkage=0.3)
    assert shrunk[0, 2] == int(np.ceil(plain[0, 2] / 0.7 - 1e-9))
    with_patience = required_staff(
        volumes, 300.0, 30, 0.8, 20.0, patience_s=120.0, max_abandon=0.05
    )
    assert 0 < with_patience[0, 2] <= plain[0, 2]
