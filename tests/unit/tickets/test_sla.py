"""SLA math on the business calendar: weekends, holidays, 调休 make-up days and pauses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.core.calendar import BusinessCalendar
from kefu.core.clock import ManualClock
from kefu.tickets.sla import (
    TEMPLATES,
    EscalationAction,
    SlaPolicy,
    Target,
    Unit,
    due_escalations,
    evaluate,
    evaluate_policy,
    next_check,
)

pytestmark = pytest.mark.unit
SH = ZoneInfo("Asia/Shanghai")
OFFICE = BusinessCalendar()  # Mon-Fri 09:00-18:00 Shanghai, national holidays and 调休
H = timedelta(hours=1)


def sh(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH).astimezone(UTC)


def local(moment: datetime | None) -> str:
    assert moment is not None
    return moment.astimezone(SH).strftime("%m-%d %a %H:%M")


def clock_of(policy: str, clock: str, start: datetime, now: datetime, **kw: object):
    return evaluate_policy(TEMPLATES[policy], OFFICE, start, now, **kw)[clock]  # type: ignore[arg-type]


def test_telecom_legal_limit_is_15_calendar_days_through_national_day() -> None:
    start = sh(9, 28, 10)  # Monday before 国庆
    legal = clock_of("telecom_cn", "legal", start, start)
    assert local(legal.due) == "10-13 Tue 10:00"  # holidays do not stop a calendar-day clock
    assert local(legal.reached(0.8)) == "10-10 Sat 10:00"  # day 12: 越级 risk flag


def test_power_95598_four_working_days_skip_national_day_and_count_the_makeup_saturday() -> None:
    start = sh(9, 30, 10)  # Wednesday; 10-01..10-07 off; Saturday 10-10 is a 调休 workday
    reply = clock_of("power_cn_95598", "resolution", start, start)
    contact = clock_of("power_cn_95598", "first_response", start, start)
    assert local(reply.due) == "10-12 Mon 10:00"  # 10-08, 10-09, 10-10 (Sat), 10-12
    assert local(contact.due) == "10-01 Thu 10:00"  # 24 h is clock time, holiday or not


def test_spring_festival_makeup_saturday_then_the_long_break() -> None:
    start = sh(2, 13, 10)  # Friday; Saturday 02-14 is a make-up workday; 02-15..02-23 off
    reply = clock_of("power_cn_95598", "resolution", start, start)
    assert local(reply.due) == "02-26 Thu 10:00"  # 02-14, 02-24, 02-25, 02-26


def test_working_hours_across_a_weekend() -> None:
    friday = sh(3, 6, 17)
    state = evaluate("resolution", 4 * H, True, OFFICE, friday, friday)
    assert local(state.due) == "03-09 Mon 12:00"


def test_warning_at_80_percent_then_breach_with_a_manual_clock() -> None:
    start = sh(3, 2, 9)  # Monday 09:00; telecom internal target: 5 working days = 45 h
    clock = ManualClock(start)

    def now_state():
        return clock_of("telecom_cn", "resolution", start, clock.now())

    assert now_state().phase == "ok" and now_state().budget == 45 * H
    clock.set(sh(3, 5, 17, 59))
    assert now_state().phase == "ok"
    clock.set(sh(3, 5, 18))  # 36 working hours used: Thursday's close
    assert now_state().phase == "warning" and local(now_state().warn_at) == "03-05 Thu 18:00"
    clock.set(sh(3, 6, 14))
    assert now_state().phase == "warning" and now_state().used == 41 * H
    clock.set(sh(3, 8, 23))  # breached at Friday's close; the weekend adds no working time
    state = now_state()
    assert state.used == 45 * H
    assert state.phase == "breached" and local(state.due) == "03-06 Fri 18:00"
    resolved = clock_of("telecom_cn", "resolution", start, sh(3, 9, 10), resolved_at=sh(3, 6, 17))
    assert resolved.phase == "met" and resolved.stopped
    late = clock_of("telecom_cn", "resolution", start, sh(3, 9, 10), resolved_at=sh(3, 9, 9, 30))
    assert late.phase == "missed"


def test_pending_customer_pauses_the_clock_and_moves_the_deadline() -> None:
    start = sh(3, 2, 9)  # Monday 09:00, 2 working days -> Wednesday 09:00 without pause
    budget = 18 * H
    clock = ManualClock(start)
    pause = (sh(3, 2, 14), None)  # waiting for the customer from Monday 14:00
    clock.set(sh(3, 2, 16))
    paused = evaluate("resolution", budget, True, OFFICE, start, clock.now(), pauses=[pause])
    assert paused.phase == "paused" and paused.due is None and paused.used == 5 * H
    clock.set(sh(3, 3, 10))  # customer answers Tuesday 10:00: 5 working hours were paused
    resumed = [(sh(3, 2, 14), sh(3, 3, 10))]
    state = evaluate("resolution", budget, True, OFFICE, start, clock.now(), pauses=resumed)
    assert state.phase == "ok" and state.used == 5 * H
    assert local(state.due) == "03-04 Wed 14:00"  # Wednesday 09:00 + 5 working hours
    plain = evaluate("resolution", budget, True, OFFICE, start, start)
    assert local(plain.due) == "03-03 Tue 18:00"  # same 18 h, lands at Tuesday's close


def test_a_pause_over_a_holiday_costs_only_the_working_time_it_covered() -> None:
    start = sh(4, 30, 9)  # Thursday before 劳动节 (05-01..05-05); Saturday 05-09 is a workday
    pauses = [(sh(4, 30, 17), sh(5, 6, 9))]  # third party from Thursday 17:00 to Wednesday
    state = evaluate("resolution", 18 * H, True, OFFICE, start, sh(5, 6, 9), pauses=pauses)
    assert state.used == 8 * H
    assert local(state.due) == "05-07 Thu 10:00"  # 10 h left: Wed 9 h + Thu 1 h
    calendar_days = evaluate("legal", 2 * 24 * H, False, OFFICE, start, sh(5, 6, 9), pauses=pauses)
    assert local(calendar_days.due) == "05-08 Fri 01:00"  # 8 h used, 40 h left after the pause


def test_bank_extensions_15_then_30_then_60_days() -> None:
    policy = TEMPLATES["bank_cn"]
    start = sh(1, 5, 10)
    for extensions, expected in (
        (0, "01-20 Tue 10:00"),
        (1, "02-04 Wed 10:00"),
        (2, "03-06 Fri 10:00"),
    ):
        states = evaluate_policy(policy, OFFICE, start, start, extensions=extensions)
        assert local(states["legal"].due) == expected
        assert local(states["resolution"].due) == expected
    beyond = evaluate_policy(policy, OFFICE, start, start, extensions=5)
    assert local(beyond["legal"].due) == "03-06 Fri 10:00"  # only two extensions exist


def test_escalation_steps_in_order_and_only_once() -> None:
    policy = TEMPLATES["telecom_cn"]
    start = sh(3, 2, 9)
    at_warning = evaluate_policy(
        policy, OFFICE, start, sh(3, 5, 18), first_response_at=sh(3, 2, 10)
    )
    steps = due_escalations(policy, at_warning, done=[])
    assert [s.action for _i, s in steps] == [EscalationAction.NOTIFY_LEADER]
    at_breach = evaluate_policy(policy, OFFICE, start, sh(3, 9, 9), first_response_at=sh(3, 2, 10))
    steps = due_escalations(policy, at_breach, done=[0])
    assert [s.action for _i, s in steps] == [EscalationAction.NEXT_GROUP]
    day_12 = evaluate_policy(policy, OFFICE, start, sh(3, 14, 9), first_response_at=sh(3, 2, 10))
    steps = due_escalations(policy, day_12, done=[0, 1])
    assert [s.action for _i, s in steps] == [EscalationAction.REGULATOR_RISK]
    resolved = evaluate_policy(
        policy, OFFICE, start, sh(3, 20, 9), first_response_at=sh(3, 2, 10), resolved_at=sh(3, 3, 9)
    )
    assert due_escalations(policy, resolved, done=[]) == []
    assert next_check(resolved, sh(3, 20, 9)) is None
    fresh = evaluate_policy(policy, OFFICE, start, start)
    assert local(next_check(fresh, start)) == "03-03 Tue 04:12"  # 80 % of the 24 h reply


def test_explicit_due_overrides_the_resolution_target() -> None:
    start = sh(3, 2, 9)
    states = evaluate_policy(
        TEMPLATES["telecom_cn"],
        OFFICE,
        start,
        start + timedelta(seconds=9),
        resolution_due=start + timedelta(seconds=10),
    )
    state = states["resolution"]
    assert state.phase == "warning" and state.due == start + timedelta(seconds=10)
    assert state.warn_at == start + timedelta(seconds=8)


def test_policies_round_trip_and_refuse_nonsense() -> None:
    for policy in TEMPLATES.values():
        assert SlaPolicy.from_dict(policy.to_dict()) == policy
        assert policy.source
    with pytest.raises(ValueError):
        Target(-1, Unit.HOURS)
    with pytest.raises(ValueError):
        SlaPolicy("x", "x", "x", Target(1, Unit.HOURS), warn_fraction=0)
    with pytest.raises(ValueError):
        Unit("fortnights")


pauses_strategy = st.lists(st.tuples(st.integers(0, 400), st.integers(1, 60)), max_size=4)


@settings(max_examples=60, deadline=None)
@given(pauses=pauses_strategy, now_h=st.integers(0, 500), budget_h=st.integers(1, 60))
def test_pauses_only_remove_clock_time(
    pauses: list[tuple[int, int]], now_h: int, budget_h: int
) -> None:
    start = sh(9, 21, 9)  # three weeks around 中秋 and 国庆
    now = start + timedelta(hours=now_h)
    intervals, cursor = [], start
    for gap, length in pauses:
        begin = cursor + timedelta(hours=gap)
        intervals.append((begin, begin + timedelta(hours=length)))
        cursor = begin + timedelta(hours=length)
    for working in (True, False):
        state = evaluate("r", budget_h * H, working, OFFICE, start, now, pauses=intervals)
        plain = evaluate("r", budget_h * H, working, OFFICE, start, now)
        paused_time = sum(
            (
                (OFFICE.working_time_between(a, min(b, now)) if working else min(b, now) - a)
                for a, b in intervals
                if a < now
            ),
            timedelta(0),
        )
        assert state.used == plain.used - paused_time
        assert state.used <= plain.used
        if state.due is not None and plain.due is not None:
            assert state.due >= plain.due
        assert state.breached == (state.due is not None and state.due <= now)
