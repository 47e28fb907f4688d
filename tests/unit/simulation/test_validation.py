"""The digital twin against queueing theory and against a real recorded call center.

Single-queue models of the real routing engine (FCFS, exponential handle times, no ring delay
nor wrap-up) must agree with the exact Erlang C and Erlang A numbers of kefu.wfm.erlang within
the simulation's 95% confidence interval. Replaying days of the Anonymous Bank 1999 log with
the agents' actual presence must reproduce the observed service level (tolerances below; the
measured errors are in docs/wfm.md, "Digital twin").
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from kefu.routing import QueueConfig
from kefu.simulation import (
    AgentGroup,
    Distribution,
    QueueDemand,
    Scenario,
    Shift,
    simulate,
)
from kefu.wfm.erlang import erlang_a, erlang_c, service_level

pytestmark = pytest.mark.unit

HOURS = 5
WARM = slice(1, HOURS)  # the first hour starts empty: leave it out


def single_queue(
    agents: int, calls_per_hour: float, aht_s: float, patience: Distribution
) -> Scenario:
    config = QueueConfig(queue_id="q", tenant_id="t", media=("voice",), wrap_up_s=0)
    return Scenario(
        queues=(
            QueueDemand(
                config=config,
                volumes=(calls_per_hour,) * HOURS,
                handle=Distribution.exponential(aht_s),
                patience=patience,
            ),
        ),
        agents=(AgentGroup(name="a", count=agents, shifts=(Shift(0, HOURS * 3600 + 3600),)),),
        interval_s=3600,
        intervals=HOURS,
    )


def test_single_queue_without_abandonment_matches_erlang_c() -> None:
    agents, aht, calls = 20, 180.0, 340.0  # 17 Erlangs on 20 agents
    load = calls * aht / 3600
    result = simulate(
        single_queue(agents, calls, aht, Distribution.exponential(math.inf)),
        replications=12,
        seed=11,
    )
    sl = result.estimate("sl_f3", intervals=WARM)
    p_wait = result.estimate("p_wait", intervals=WARM)
    occupancy = result.estimate("occupancy", intervals=WARM)
    assert sl.covers(service_level(load, agents, aht, 20.0)), sl
    assert p_wait.covers(erlang_c(load, agents)), p_wait
    assert occupancy.covers(load / agents), occupancy
    assert result.estimate("p_abandon").mean == 0.0


def test_single_queue_with_abandonment_matches_erlang_a() -> None:
    agents, aht, calls, patience = 16, 180.0, 340.0, 120.0  # overloaded: 17 Erlangs on 16
    load = calls * aht / 3600
    exact = erlang_a(load, agents, aht, patience, 20.0)
    result = simulate(
        single_queue(agents, calls, aht, Distribution.exponential(patience)),
        replications=12,
        seed=5,
    )
    for metric, value in (
        ("sl_f3", exact.service_level),
        ("p_wait", exact.p_wait),
        ("p_abandon", exact.p_abandon),
        ("asa_s", exact.asa_s),
    ):
        est = result.estimate(metric, intervals=WARM)
        assert est.covers(value), (metric, est, value)
    # and a sanity check that the test can tell: with 4 agents fewer the numbers are far off
    fewer = erlang_a(load, agents - 4, aht, patience, 20.0)
    assert not result.estimate("p_abandon", intervals=WARM).covers(fewer.p_abandon)


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    scenario = single_queue(10, 150.0, 200.0, Distribution.exponential(90.0))
    a = simulate(scenario, replications=2, seed=3)
    b = simulate(scenario, replications=2, seed=3)
    c = simulate(scenario, replications=2, seed=4)
    assert np.array_equal(a.replications[1].answered, b.replications[1].answered)
    assert a.rows() == b.rows()
    assert not np.array_equal(a.replications[1].offered, c.replications[1].offered)


def test_replaying_the_anonymous_bank_log_reproduces_its_service_level() -> None:
    from tests.unit.simulation.bank_log import DATA, day_scenario, load_day, observed_sl

    if not (DATA / "raw").is_dir():
        pytest.fail(
            f"evaluation data missing: {DATA} (expected ../shared/data/wfm next to the "
            "repository, as in CI)"
        )
    errors, day_errors = [], []
    for day in ("991003", "991004", "991005"):
        calls = load_day(day)
        result = simulate(day_scenario(day, calls, gap_s=120), replications=1, seed=1)
        observed = observed_sl(calls, 1800)
        for k, (offered, sl) in enumerate(observed):
            if offered >= 30:
                errors.append(result.estimate("sl_f3", intervals=k).mean - sl)
        whole = sum(c.answered and c.wait_s <= 20 for c in calls) / len(calls)
        day_errors.append(result.estimate("sl_f3").mean - whole)
    errors_a = np.abs(np.asarray(errors))
    assert len(errors) >= 60
    assert max(abs(e) for e in day_errors) <= 0.08, day_errors  # measured: +5.8, +3.4, -0.3 pts
    assert abs(float(np.mean(errors))) <= 0.06, np.mean(errors)  # bias of the 30-min SL
    assert float(errors_a.mean()) <= 0.16, errors_a.mean()  # mean absolute 30-min error
