"""Staffing math: textbook values, 50-digit references, properties and input checking."""

from __future__ import annotations

import contextlib
import math
from fractions import Fraction
from typing import Any

import mpmath as mp  # a dev dependency: the high-precision reference
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import gammainc

from kefu.wfm.erlang import (
    StaffingInputError,
    agents_for_chat,
    agents_for_erlang_a,
    agents_for_service_level,
    asa,
    chat_erlang,
    combine_shrinkage,
    erlang_a,
    erlang_b,
    erlang_c,
    occupancy,
    offered_load,
    scheduled_staff,
    service_level,
)

pytestmark = pytest.mark.unit
quick = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

AHT = 300.0


def per_hour(calls: float, aht: float = AHT) -> float:
    return offered_load(calls, 3600.0, aht)


def close(ours: float, ref: Any, rel: float = 1e-9, floor: float = 1e-30) -> bool:
    """Relative agreement; below ``floor`` (past the reference's own precision) only tiny."""
    ref = float(ref)
    if abs(ref) < floor:
        return abs(ours) < 1e3 * floor
    return abs(ours - ref) <= rel * abs(ref)


# --------------------------------------------------------------------------------------------
# Textbook and research-note values


@pytest.mark.parametrize(
    ("agents", "load"), [(5, 1.361), (10, 4.461), (20, 12.03), (50, 37.90), (100, 84.06)]
)
def test_erlang_b_one_percent_table(agents: int, load: float) -> None:
    assert erlang_b(load, agents) == pytest.approx(0.0100, abs=5e-5)


def test_closed_forms_of_small_systems() -> None:
    assert erlang_b(3.0, 1) == pytest.approx(3.0 / 4.0, rel=1e-15)
    assert erlang_b(1.0, 2) == pytest.approx(0.2, rel=1e-15)
    assert erlang_b(7.0, 0) == 1.0
    # M/M/1: C = ρ, ASA = ρ·AHT/(1 − ρ), SL = 1 − ρ·e^{−(1−ρ)t/AHT}
    assert erlang_c(0.6, 1) == pytest.approx(0.6, rel=1e-15)
    assert asa(0.6, 1, 100.0) == pytest.approx(150.0, rel=1e-14)
    assert service_level(0.6, 1, 100.0, 50.0) == pytest.approx(1 - 0.6 * math.exp(-0.2), rel=1e-15)
    # M/M/2 at ρ = ½: C = 2ρ²/(1 + ρ) = 1/3
    assert erlang_c(1.0, 2) == pytest.approx(1.0 / 3.0, rel=1e-15)
    assert occupancy(1.0, 2) == 0.5
    # call-center-tools' docstring says 0.0346 for this; the exact value is 0.0312428
    assert erlang_b(123.0, 132) == pytest.approx(0.0312428, abs=5e-8)


def test_unstable_erlang_c_is_defined() -> None:
    assert erlang_c(10.0, 10) == 1.0
    assert erlang_c(12.5, 10) == 1.0
    assert service_level(10.0, 10, AHT, 20.0) == 0.0
    assert asa(10.0, 9, AHT) == math.inf
    assert occupancy(12.0, 10) == 1.0
    assert erlang_c(3.0, 0) == 1.0 and service_level(3.0, 0, AHT, 20.0) == 0.0


@pytest.mark.parametrize(("calls", "agents"), [(1_000, 91), (20_000, 1683), (100_000, 8354)])
def test_erlang_c_staffing_80_20(calls: int, agents: int) -> None:
    load = per_hour(calls)
    assert agents_for_service_level(load, AHT, 20.0, 0.8) == agents


def test_occupancy_cap_raises_staffing() -> None:
    load = per_hour(1_000)  # 83.33 Erlangs: 80/20 needs 91 at 91.6 % occupancy
    assert agents_for_service_level(load, AHT, 20.0, 0.8, max_occupancy=0.85) == 99
    assert agents_for_service_level(load, AHT, 20.0, 0.8, max_occupancy=1.0) == 91


@pytest.mark.parametrize(
    ("calls", "sl_only", "with_cap"), [(1_000, 82, 84), (20_000, 1486, 1586), (100_000, 7241, 7917)]
)
def test_erlang_a_staffing_patience_120(calls: int, sl_only: int, with_cap: int) -> None:
    load = per_hour(calls)
    assert agents_for_erlang_a(load, AHT, 120.0, 20.0, 0.8) == sl_only
    assert agents_for_erlang_a(load, AHT, 120.0, 20.0, 0.8, max_abandon=0.05) == with_cap


def test_sl_only_answer_can_sit_below_the_load() -> None:
    load = per_hour(20_000)
    n = agents_for_erlang_a(load, AHT, 120.0, 20.0, 0.8)
    metrics = erlang_a(load, n, AHT, 120.0, 20.0)
    assert n < load and metrics.p_abandon == pytest.approx(0.1084, abs=1e-4)


def test_erlang_a_where_uniformization_underflows() -> None:
    # pyworkforce returns 0.6111 here (its Poisson weights underflow); exact is 0.98813
    metrics = erlang_a(per_hour(20_000), 1667, AHT, 120.0, 180.0)
    assert metrics.service_level == pytest.approx(0.98813, abs=5e-6)


@pytest.mark.parametrize(("agents", "load"), [(1, 0.4), (5, 3.0), (40, 41.5), (300, 280.0)])
def test_erlang_a_with_patience_equal_to_aht_is_m_m_infinity(agents: int, load: float) -> None:
    # θ = μ: the number in system is Poisson(A), so P(wait) = P(Poisson(A) ≥ N) = P(N, A)
    metrics = erlang_a(load, agents, AHT, AHT, 20.0)
    assert metrics.p_wait == pytest.approx(float(gammainc(agents, load)), rel=1e-12)


def test_erlang_a_definitions_tie_together() -> None:
    m = erlang_a(per_hour(5_000), 400, AHT, 90.0, 20.0)
    assert m.mean_wait_s == pytest.approx(m.p_abandon * 90.0, rel=1e-15)
    assert m.service_level == pytest.approx(m.service_level_answered * (1 - m.p_abandon))
    assert m.service_level < m.service_level_answered and m.service_level < m.service_level_virtual
    at_zero = erlang_a(per_hour(5_000), 400, AHT, 90.0, 0.0)
    assert at_zero.service_level == pytest.approx(1 - at_zero.p_wait, rel=1e-12)
    assert at_zero.service_level_virtual == pytest.approx(1 - at_zero.p_wait, rel=1e-12)


def test_erlang_a_edges() -> None:
    nobody = erlang_a(5.0, 0, AHT, 60.0, 20.0)
    assert (nobody.p_wait, nobody.p_abandon, nobody.service_level) == (1.0, 1.0, 0.0)
    assert nobody.mean_wait_s == 60.0 and nobody.asa_s == math.inf
    patient = erlang_a(8.0, 10, AHT, math.inf, 20.0)
    assert patient.p_wait == erlang_c(8.0, 10) and patient.p_abandon == 0.0
    assert patient.service_level == service_level(8.0, 10, AHT, 20.0)
    assert patient.asa_s == asa(8.0, 10, AHT)
    overloaded = erlang_a(12.0, 10, AHT, math.inf, 20.0)
    assert overloaded.service_level == 0.0 and overloaded.asa_s == math.inf
    assert agents_for_erlang_a(8.0, AHT, math.inf, 20.0, 0.8) == agents_for_service_level(
        8.0, AHT, 20.0, 0.8
    )


def test_huge_and_tiny_systems_stay_finite() -> None:
    assert 0.0 <= erlang_c(990_000.0, 1_000_000) <= 1.0
    assert erlang_b(1e6, 10) == pytest.approx(1 - 10 / 1e6, rel=1e-3)
    assert erlang_b(10.0, 20_000) == 0.0  # 1e-57000: underflows only at the very end
    assert 0.0 < erlang_b(1e-6, 1) < 1e-5
    deep = erlang_a(1e5, 20_000, AHT, 3_000.0, 20.0)  # 5× overloaded, patient callers
    assert deep.p_abandon == pytest.approx(0.8, rel=1e-6) and deep.occupancy <= 1.0


# --------------------------------------------------------------------------------------------
# Chat and shrinkage


def test_chat_with_one_slot_is_erlang_c() -> None:
    result = chat_erlang(200.0, [AHT], 20, 20.0)
    load = per_hour(200.0)
    assert result.p_wait == pytest.approx(erlang_c(load, 20), rel=1e-12)
    assert result.service_level == pytest.approx(service_level(load, 20, AHT, 20.0), rel=1e-12)
    assert result.asa_s == pytest.approx(asa(load, 20, AHT), rel=1e-12)
    assert result.occupancy == pytest.approx(occupancy(load, 20), rel=1e-12)


def test_chat_with_equal_handle_times_pools_the_slots() -> None:
    result = chat_erlang(200.0, [AHT, AHT, AHT], 7, 20.0)
    assert result.p_wait == pytest.approx(erlang_c(per_hour(200.0), 21), rel=1e-12)
    assert result.chats_per_agent == pytest.approx(per_hour(200.0) / 7, rel=1e-12)


def test_chat_slowdown_needs_more_agents_than_naive_division() -> None:
    naive = agents_for_service_level(per_hour(600.0, 240.0), 240.0, 60.0, 0.8)
    pooled = agents_for_chat(600.0, [240.0, 240.0, 240.0], 60.0, 0.8)
    slower = agents_for_chat(600.0, [240.0, 330.0, 450.0], 60.0, 0.8)
    assert pooled == math.ceil(naive / 3)  # equal AHTs: Erlang C on N·3 slots
    assert slower > pooled
    # stability needs N > λ·AHT(c)/c = 600/3600 · 450/3 = 25
    assert slower > 25 and chat_erlang(600.0, [240.0, 330.0, 450.0], 24, 60.0).asa_s == math.inf


def test_scheduled_staff_uses_exact_decimals() -> None:
    assert scheduled_staff(70, 0.3) == 100  # float 70/0.7 = 100.00000000000001
    assert scheduled_staff(90, 0.1) == 100
    assert scheduled_staff(91, 0.1) == 102
    assert scheduled_staff(0, 0.35) == 0
    assert scheduled_staff(12.5, 0.0) == 13
    assert combine_shrinkage(0.1, 0.2) == pytest.approx(0.28, rel=1e-15)
    assert combine_shrinkage() == 0.0


# --------------------------------------------------------------------------------------------
# Accuracy against 50-digit references


def mp_erlang_b(n: int, a: float) -> Any:
    a_ = mp.mpf(a)
    return mp.exp(n * mp.log(a_) - a_) / mp.gammainc(n + 1, a_)


def mp_erlang_c(n: int, a: float) -> Any:
    b = mp_erlang_b(n, a)
    return n * b / (n - mp.mpf(a) * (1 - b))


SIZES = [1, 2, 3, 5, 8, 13, 30, 77, 150, 400, 1000, 2500, 5000, 9999, 15000, 20000]
RATIOS = [0.01, 0.3, 0.7, 0.9, 0.97, 0.999, 1.0005, 1.05, 1.5, 3.0, 50.0]


def test_erlang_b_c_sl_asa_match_50_digits() -> None:
    with mp.workdps(50):
        for n in SIZES:
            for ratio in RATIOS:
                a = n * ratio
                ref_b = mp_erlang_b(n, a)
                assert close(erlang_b(a, n), ref_b, floor=1e-300), (n, a)
                if n <= a:
                    continue
                ref_c = mp_erlang_c(n, a)
                decay = mp.exp(-(n - mp.mpf(a)) * 20 / mp.mpf(AHT))
                assert close(erlang_c(a, n), ref_c, floor=1e-300), (n, a)
                assert close(service_level(a, n, AHT, 20.0), 1 - ref_c * decay), (n, a)
                assert close(asa(a, n, AHT), ref_c * AHT / (n - mp.mpf(a)), floor=1e-300)


def mp_kummer(x: Any, y: Any) -> tuple[Any, Any, Any]:
    """S = Σ t_j, T = Σ j t_j, G = Σ t_j·h_j/(x+j+1) with t_j = Π y/(x+k), summed to precision."""
    term, total, first_moment = mp.mpf(1), mp.mpf(1), mp.mpf(0)
    h = 1 / (x + 1)
    served_wait = h / (x + 1)
    eps = mp.mpf(10) ** -(mp.mp.dps + 5)
    j = 0
    while True:
        j += 1
        term = term * y / (x + j)
        total += term
        first_moment += j * term
        h += 1 / (x + j + 1)
        served_wait += term * h / (x + j + 1)
        if j > y - x and term < total * eps:
            return total, first_moment, served_wait


def mp_erlang_a(n: int, a: float, aht: float, patience: float, t: float) -> dict[str, Any]:
    """The M/M/N+M chain summed state by state: π_k ∝ A^k/k! up to N, then × y/(x + j)."""
    a_, aht_, pat, t_ = (mp.mpf(v) for v in (a, aht, patience, t))
    x, y = n * pat / aht_, a_ * pat / aht_
    r = 1 / mp_erlang_b(n, a)  # Σ_{k≤N} π_k / π_N
    s, first, served_wait = mp_kummer(x, y)
    w = mp.exp(-t_ / pat)
    s_z = mp_kummer(x, y * w)[0]
    scale = mp.exp(y * (1 - w)) * w**x
    z = r + s - 1
    served = (r - 1 + x / y * (s - 1)) / z
    sl = 1 - (first / y + x / y * scale * (s_z - 1)) / z
    return {
        "p_wait": s / z,
        "p_abandon": first / (y * z),
        "asa_s": x * pat * served_wait / (z * served),
        "mean_wait_s": first / (y * z) * pat,
        "service_level": sl,
        "service_level_answered": sl / served,
        "service_level_virtual": 1 - scale * s_z / z,
        "occupancy": a_ / n * served,
    }


ERLANG_A_CASES = [
    # agents, load / agents, patience / AHT, threshold / AHT
    (1, 0.5, 0.4, 0.07),
    (2, 1.6, 3.0, 1.0),
    (5, 0.9, 0.05, 0.0),
    (20, 1.1, 0.4, 0.07),
    (20, 4.0, 0.002, 6.0),
    (100, 0.3, 50.0, 0.07),
    (100, 1.0, 0.4, 0.01),
    (700, 0.9, 3.0, 0.07),
    (700, 1.6, 0.4, 1.0),
    (1683, 1666.6667 / 1683, 0.4, 0.0667),
    (3000, 1.1, 1.0, 0.07),
    (7917, 8333.3333 / 7917, 0.4, 0.0667),
    (8354, 8333.3333 / 8354, 0.4, 0.0667),
    (20000, 0.95, 0.4, 0.07),
    (20000, 1.05, 0.05, 0.5),
    (40, 39 / 40, 1e6, 0.18),  # nearly infinite patience: x = 4e7, series regime
    (97, 96 / 97, 1e4, 0.07),
]


@pytest.mark.parametrize(("n", "ratio", "patience", "threshold"), ERLANG_A_CASES)
def test_erlang_a_matches_the_chain_summed_at_60_digits(
    n: int, ratio: float, patience: float, threshold: float
) -> None:
    load = n * ratio
    ours = erlang_a(load, n, AHT, AHT * patience, AHT * threshold)
    with mp.workdps(60):
        ref = mp_erlang_a(n, load, AHT, AHT * patience, AHT * threshold)
    for name, value in ref.items():
        assert close(getattr(ours, name), value), (name, getattr(ours, name), float(value))


def test_erlang_a_keeps_relative_accuracy_deep_in_the_tail() -> None:
    # 1.6× overloaded with patient callers: SL ≈ 1e-109, far below 1 − (failures) in floats
    ours = erlang_a(1120.0, 700, AHT, 900.0, 21.0)
    with mp.workdps(250):
        ref = mp_erlang_a(700, 1120.0, AHT, 900.0, 21.0)
    assert 1e-110 < ours.service_level < 1e-107
    for name in ("service_level", "service_level_answered", "service_level_virtual"):
        assert close(getattr(ours, name), ref[name], floor=1e-300), name


def hypoexponential_reference(n: int, a: float, aht: float, patience: float, t: float) -> Any:
    """Tagged caller behind j others: V = Σ_{k=0..j} Exp(Nμ + kθ), answered iff V < patience.

    Independent of the incomplete-gamma algebra: sums the hypoexponential laws state by state.
    """
    mu, theta, lam = 1 / mp.mpf(aht), 1 / mp.mpf(patience), mp.mpf(a) / mp.mpf(aht)
    weights = [mp.mpf(a) ** k / mp.factorial(k) for k in range(n + 1)]
    while weights[-1] > mp.mpf(10) ** -40 * mp.fsum(weights):
        weights.append(weights[-1] * lam / (n * mu + (len(weights) - n) * theta))
    total = mp.fsum(weights)
    virtual = offered = served = mp.fsum(weights[:n]) / total
    wait_served = mp.mpf(0)
    for j, weight in enumerate(weights[n:]):
        prob = weight / total
        rates = [n * mu + k * theta for k in range(j + 1)]
        # density of V: Σ_k c_k·r_k·e^{−r_k s}
        terms = [
            (mp.fprod(rates[m] / (rates[m] - r) for m in range(j + 1) if m != k), r)
            for k, r in enumerate(rates)
        ]
        virtual += prob * (1 - mp.fsum(c * mp.exp(-r * t) for c, r in terms))
        offered += prob * mp.fsum(
            c * r / (r + theta) * (1 - mp.exp(-(r + theta) * t)) for c, r in terms
        )
        served += prob * mp.fsum(c * r / (r + theta) for c, r in terms)
        wait_served += prob * mp.fsum(c * r / (r + theta) ** 2 for c, r in terms)
    return {
        "service_level_virtual": virtual,
        "service_level": offered,
        "service_level_answered": offered / served,
        "p_abandon": 1 - served,
        "asa_s": wait_served / served,
    }


@pytest.mark.parametrize(
    ("n", "load", "patience", "threshold"),
    [(1, 0.8, 150.0, 20.0), (3, 2.5, 600.0, 60.0), (4, 5.0, 300.0, 30.0)],
)
def test_erlang_a_sl_definitions_match_a_tagged_caller(
    n: int, load: float, patience: float, threshold: float
) -> None:
    ours = erlang_a(load, n, AHT, patience, threshold)
    with mp.workdps(80):
        ref = hypoexponential_reference(n, load, AHT, patience, threshold)
    for name, value in ref.items():
        assert close(getattr(ours, name), value, rel=1e-10), (name, getattr(ours, name))


# --------------------------------------------------------------------------------------------
# Properties

loads = st.floats(0.05, 1500.0)
ahts = st.floats(5.0, 3600.0)
thresholds = st.floats(0.0, 600.0)
patiences = st.floats(1.0, 3600.0)
targets = st.floats(0.05, 0.99)


@quick
@given(load=loads, agents=st.integers(0, 2000), aht=ahts, t=thresholds, patience=patiences)
def test_probabilities_stay_in_range(
    load: float, agents: int, aht: float, t: float, patience: float
) -> None:
    b, c = erlang_b(load, agents), erlang_c(load, agents)
    assert 0.0 <= b <= c <= 1.0
    assert 0.0 <= service_level(load, agents, aht, t) <= 1.0
    m = erlang_a(load, agents, aht, patience, t)
    for value in (m.p_wait, m.p_abandon, m.occupancy, m.service_level):
        assert 0.0 <= value <= 1.0
    assert m.service_level <= m.service_level_answered + 1e-12 <= 1.0 + 1e-12
    assert m.service_level <= m.service_level_virtual + 1e-12
    assert m.asa_s >= 0.0 and m.mean_wait_s >= 0.0


@quick
@given(load=loads, agents=st.integers(1, 2000), aht=ahts, t=thresholds, patience=patiences)
def test_more_agents_never_hurt(
    load: float, agents: int, aht: float, t: float, patience: float
) -> None:
    ulps = 1 + 4e-16  # values near 1.0 may round either way
    assert service_level(load, agents + 1, aht, t) * ulps >= service_level(load, agents, aht, t)
    assert erlang_c(load, agents + 1) <= erlang_c(load, agents) * ulps
    fewer, more = (erlang_a(load, k, aht, patience, t) for k in (agents, agents + 1))
    assert more.service_level >= fewer.service_level * (1 - 1e-12)
    assert more.p_abandon <= fewer.p_abandon * (1 + 1e-12)
    assert more.occupancy <= fewer.occupancy * (1 + 1e-12)


@settings(max_examples=25, deadline=None)
@given(load=st.floats(0.05, 1000.0), spare=st.floats(0.5, 200.0), t=thresholds)
def test_infinite_patience_limit_is_erlang_c(load: float, spare: float, t: float) -> None:
    # The gap is O(AHT/patience): it must shrink ~100× from patience 1e4·AHT to 1e6·AHT.
    agents = math.ceil(load + spare)
    exact_c = (erlang_c(load, agents), service_level(load, agents, AHT, t))
    gaps = []
    for factor in (1e4, 1e6):
        m = erlang_a(load, agents, AHT, AHT * factor, t)
        gaps.append(max(abs(m.p_wait - exact_c[0]), abs(m.service_level - exact_c[1])))
        assert m.p_abandon < 1e2 / factor
    assert gaps[1] <= gaps[0] / 30 + 1e-12 and gaps[1] < 1e-3


@quick
@given(
    load=loads,
    aht=ahts,
    t=thresholds,
    target=targets,
    cap=st.one_of(st.none(), st.floats(0.3, 1.0)),
)
def test_erlang_c_staffing_is_minimal(
    load: float, aht: float, t: float, target: float, cap: float | None
) -> None:
    n = agents_for_service_level(load, aht, t, target, cap)

    def meets(k: int) -> bool:
        ok = k > load and service_level(load, k, aht, t) >= target
        return ok and (cap is None or occupancy(load, k) <= cap)

    assert n > load and meets(n) and not meets(n - 1)


@quick
@given(
    load=loads,
    aht=ahts,
    patience=patiences,
    t=thresholds,
    target=targets,
    max_abandon=st.one_of(st.none(), st.floats(0.005, 0.5)),
    cap=st.one_of(st.none(), st.floats(0.3, 1.0)),
)
def test_erlang_a_staffing_is_minimal(
    load: float,
    aht: float,
    patience: float,
    t: float,
    target: float,
    max_abandon: float | None,
    cap: float | None,
) -> None:
    n = agents_for_erlang_a(load, aht, patience, t, target, max_abandon, cap)

    def meets(k: int) -> bool:
        if k < 1:
            return False
        m = erlang_a(load, k, aht, patience, t)
        return (
            m.service_level >= target
            and (max_abandon is None or m.p_abandon <= max_abandon)
            and (cap is None or m.occupancy <= cap)
        )

    assert meets(n) and not meets(n - 1)


@settings(max_examples=25, deadline=None)
@given(
    chats=st.floats(1.0, 2000.0),
    base=st.floats(30.0, 900.0),
    slowdown=st.lists(st.floats(1.0, 1.6), min_size=0, max_size=3),
    t=thresholds,
    target=targets,
)
def test_chat_staffing_is_minimal(
    chats: float, base: float, slowdown: list[float], t: float, target: float
) -> None:
    aht = [base]
    for factor in slowdown:
        aht.append(aht[-1] * factor)
    n = agents_for_chat(chats, aht, t, target)
    assert chat_erlang(chats, aht, n, t).service_level >= target
    assert chat_erlang(chats, aht, n - 1, t).service_level < target


@quick
@given(required=st.integers(0, 100_000), shrinkage=st.floats(0.0, 0.95))
def test_scheduled_staff_is_the_smallest_cover(required: int, shrinkage: float) -> None:
    staff = scheduled_staff(required, shrinkage)
    available = 1 - Fraction(repr(shrinkage))
    assert staff * available >= required
    assert staff == 0 or (staff - 1) * available < required


# --------------------------------------------------------------------------------------------
# Bad input

BAD_INPUTS: list[tuple[str, Any, tuple[Any, ...]]] = [
    ("load", erlang_b, (0.0, 5)),
    ("load", erlang_b, (-3.0, 5)),
    ("load", erlang_c, (math.nan, 5)),
    ("load", erlang_c, (math.inf, 5)),
    ("load", erlang_b, ("12", 5)),
    ("load", occupancy, (2e9, 5)),
    ("agents", erlang_b, (5.0, -1)),
    ("agents", erlang_c, (5.0, 2.5)),
    ("agents", erlang_c, (5.0, True)),
    ("agents", occupancy, (5.0, None)),
    ("aht_s", service_level, (5.0, 10, 0.0, 20.0)),
    ("aht_s", asa, (5.0, 10, -300.0)),
    ("threshold_s", service_level, (5.0, 10, AHT, -1.0)),
    ("threshold_s", service_level, (5.0, 10, AHT, math.inf)),
    ("target", agents_for_service_level, (5.0, AHT, 20.0, 0.0)),
    ("target", agents_for_service_level, (5.0, AHT, 20.0, 1.0)),
    ("target", agents_for_erlang_a, (5.0, AHT, 60.0, 20.0, 1.5)),
    ("max_occupancy", agents_for_service_level, (5.0, AHT, 20.0, 0.8, 0.0)),
    ("max_occupancy", agents_for_erlang_a, (5.0, AHT, 60.0, 20.0, 0.8, None, 1.2)),
    ("max_abandon", agents_for_erlang_a, (5.0, AHT, 60.0, 20.0, 0.8, 0.0)),
    ("patience_s", erlang_a, (5.0, 10, AHT, 0.0, 20.0)),
    ("patience_s", erlang_a, (5.0, 10, AHT, math.nan, 20.0)),
    ("patience_s", erlang_a, (5e5, 10, 1.0, 1e6, 20.0)),
    ("threshold_s", erlang_a, (5.0, 10, AHT, 60.0, -5.0)),
    ("chats_per_hour", chat_erlang, (0.0, [AHT], 5, 20.0)),
    ("aht_s", chat_erlang, (10.0, [], 5, 20.0)),
    ("aht_s", chat_erlang, (10.0, [AHT, -1.0], 5, 20.0)),
    ("aht_s", agents_for_chat, (10.0, "300", 20.0, 0.8)),
    ("required", scheduled_staff, (-1, 0.3)),
    ("shrinkage", scheduled_staff, (10, 1.0)),
    ("shrinkage", scheduled_staff, (10, -0.1)),
    ("components[1]", combine_shrinkage, (0.1, 1.2)),
    ("contacts", offered_load, (-1.0, 1800.0, AHT)),
    ("interval_s", offered_load, (10.0, 0.0, AHT)),
]


@pytest.mark.parametrize(("field", "function", "args"), BAD_INPUTS)
def test_bad_input_names_the_field(field: str, function: Any, args: tuple[Any, ...]) -> None:
    with pytest.raises(StaffingInputError) as caught:
        function(*args)
    assert isinstance(caught.value, ValueError)
    assert caught.value.field == field and field in str(caught.value)


anything = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=3),
    st.integers(-5, 5000),
    st.floats(allow_nan=True, allow_infinity=True),
)


@quick
@given(load=anything, agents=anything, aht=anything, patience=anything, t=anything)
def test_nothing_escapes_but_staffing_input_errors(
    load: Any, agents: Any, aht: Any, patience: Any, t: Any
) -> None:
    for call in (
        lambda: erlang_c(load, agents),
        lambda: service_level(load, agents, aht, t),
        lambda: erlang_a(load, agents, aht, patience, t),
        lambda: agents_for_erlang_a(load, aht, patience, t, 0.8, 0.05),
    ):
        with contextlib.suppress(StaffingInputError):
            call()
