"""Staffing math: Erlang B, C and A, chat concurrency and shrinkage, computed in log space.

Units: ``load`` is the offered load in Erlangs (arrival rate × AHT), times are in seconds and
probabilities are fractions in [0, 1]. Every public function checks its input and raises
:class:`StaffingInputError` (a ``ValueError``) naming the offending argument.

Numerics. Erlang B is ``B(N, A) = poisson_pmf(N; A) / Q(N + 1, A)`` with the regularized upper
incomplete gamma ``Q`` (``scipy.special.gammaincc``) and a cancellation-free log pmf (Loader's
``bd0`` and Stirling error terms) while ``A`` is at most about ``N``; above that ``1/B`` is the
convergent sum ``Σ_j Π_{i<j} (N − i)/A``. Erlang A uses the Kummer series
``S = Σ_j Π_{k≤j} y/(x + k)`` (closed form ``x·e^y·y^−x·γ(x, y)`` when it is large). All
intermediate quantities are logarithms, so nothing overflows for any number of agents; only the
final probability can underflow to 0.0 (below 1e-308). See docs/wfm.md for the formulas.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.special import digamma, gammainc, gammaincc, gammaln

__all__ = [
    "ChatResult",
    "ErlangAResult",
    "StaffingInputError",
    "agents_for_chat",
    "agents_for_erlang_a",
    "agents_for_service_level",
    "asa",
    "chat_erlang",
    "combine_shrinkage",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "occupancy",
    "offered_load",
    "scheduled_staff",
    "service_level",
]


class StaffingInputError(ValueError):
    """Bad input to the staffing math; ``field`` names the offending argument."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --------------------------------------------------------------------------------------------
# Input checks


def _real(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise StaffingInputError(field, f"must be a real number, got {value!r}")
    result = float(value)
    if math.isnan(result):
        raise StaffingInputError(field, "must not be NaN")
    return result


def _positive(value: object, field: str) -> float:
    result = _real(value, field)
    if not (0.0 < result < math.inf):
        raise StaffingInputError(field, f"must be positive and finite, got {result!r}")
    return result


_MAX_SIZE = 1e9  # supported load (Erlangs) and agents
_MAX_SCALED = 1e10  # supported max(load, agents) × patience_s / aht_s in Erlang A
_MAX_CHAT_STATES = 10_000_000  # agents × concurrency in the chat model


_MIN_LOAD = 1e-100  # smallest load (Erlangs) or arrival rate (per hour) accepted
_MIN_TIME, _MAX_TIME = 1e-6, 1e9  # accepted durations, seconds


def _load(value: object, field: str = "load") -> float:
    result = _positive(value, field)
    if not (_MIN_LOAD <= result <= _MAX_SIZE):
        raise StaffingInputError(
            field, f"must be between {_MIN_LOAD:g} and {_MAX_SIZE:g}, got {result!r}"
        )
    return result


def _time(value: object, field: str) -> float:
    result = _positive(value, field)
    if not (_MIN_TIME <= result <= _MAX_TIME):
        raise StaffingInputError(
            field, f"must be between {_MIN_TIME:g} and {_MAX_TIME:g} seconds, got {result!r}"
        )
    return result


def _threshold(value: object, field: str = "threshold_s") -> float:
    result = _real(value, field)
    if not (0.0 <= result <= _MAX_TIME):
        raise StaffingInputError(field, f"must be in [0, {_MAX_TIME:g}] seconds, got {result!r}")
    return result


def _patience(value: object, size: float, aht: float) -> float:
    result = _real(value, "patience_s")
    if result < math.inf:
        result = _time(result, "patience_s")
    if result < math.inf and size * result / aht > _MAX_SCALED:
        raise StaffingInputError(
            "patience_s",
            f"max(load, agents) × patience_s / aht_s must be at most {_MAX_SCALED:g}; "
            "abandonment is negligible there: pass math.inf (Erlang C)",
        )
    return result


def _agents(value: object, field: str = "agents") -> int:
    if isinstance(value, bool):
        raise StaffingInputError(field, f"must be an integer, got {value!r}")
    try:
        result = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        if isinstance(value, float) and value.is_integer():
            result = int(value)
        else:
            raise StaffingInputError(field, f"must be an integer, got {value!r}") from None
    if result < 0:
        raise StaffingInputError(field, f"must be >= 0, got {result}")
    if result > _MAX_SIZE:
        raise StaffingInputError(field, f"must be at most {_MAX_SIZE:g}, got {result}")
    return result


def _target(value: object, field: str = "target") -> float:
    result = _real(value, field)
    if not (0.0 < result < 1.0):
        raise StaffingInputError(field, f"must be a fraction in (0, 1), got {result!r}")
    return result


def _cap(value: object, field: str) -> float:
    result = _real(value, field)
    if not (0.0 < result <= 1.0):
        raise StaffingInputError(field, f"must be a fraction in (0, 1], got {result!r}")
    return result


# --------------------------------------------------------------------------------------------
# Log-space kernels

_LN_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_TAIL = 45.0  # series stop once the neglected tail is below e^-45 (≈ 3e-20) of the sum
_INDEX = np.arange(0.0, 65537.0)  # 0, 1, 2, …: sliced instead of calling np.arange per series
_INDEX.flags.writeable = False


def _index(start: int, stop: int) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    """Floats start, start + 1, …, stop − 1."""
    if stop <= _INDEX.size:
        return _INDEX[start:stop]
    return np.arange(start, stop, dtype=np.float64)


def _lae(a: float, b: float) -> float:
    """ln(e^a + e^b) for floats, -inf allowed."""
    if a < b:
        a, b = b, a
    if b == -math.inf:
        return a
    return a + math.log1p(math.exp(b - a))


def _stirlerr(n: float) -> float:
    """ln Γ(n + 1) − [(n + ½)·ln n − n + ln √(2π)], for n > 0."""
    if n > 15.0:
        nn = n * n
        return (
            1.0 / 12.0
            - (1.0 / 360.0 - (1.0 / 1260.0 - (1.0 / 1680.0 - 1.0 / (1188.0 * nn)) / nn) / nn) / nn
        ) / n
    return float(gammaln(n + 1.0)) - (n + 0.5) * math.log(n) + n - _LN_SQRT_2PI


def _bd0(x: float, m: float) -> float:
    """x·ln(x/m) + m − x ≥ 0 without cancellation when x ≈ m (Loader 2000)."""
    d = x - m
    if abs(d) < 0.1 * (x + m):
        v = d / (x + m)
        s = d * v
        ej = 2.0 * x * v
        v2 = v * v
        j = 3.0
        while True:
            ej *= v2
            s_next = s + ej / j
            if s_next == s:
                return s
            s = s_next
            j += 2.0
    return x * math.log(x / m) + m - x


def _log_poisson_pmf(n: int, a: float) -> float:
    """ln(a^n e^-a / n!) for n ≥ 1, accurate to a few ulps of the result."""
    return -_stirlerr(n) - _LN_SQRT_2PI - 0.5 * math.log(n) - _bd0(float(n), a)


def _log_erlang_b(n: int, a: float) -> tuple[float, float]:
    """(ln B, ln(1 − B)) of Erlang B with n ≥ 0 servers and offered load a > 0."""
    if n == 0:
        return 0.0, -math.inf
    if a <= n + 1.0 + 8.0 * math.sqrt(n + 1.0) or (a <= 2.0 * n and _bd0(float(n), a) < 600.0):
        # Q(n+1, a) = P(Poisson(a) ≤ n) ≥ e^-600 here: no underflow, relative error ≤ 1e-11;
        # B ≤ ~1/2 or 1 − B ≥ 1/√n keeps ln(1 − B) as accurate.
        lb = _log_poisson_pmf(n, a) - math.log(float(gammaincc(n + 1.0, a)))
        return lb, math.log(-math.expm1(lb))
    # 1/B = Σ_{j=0..n} Π_{i<j} (n − i)/a; the ratio (n − i)/a < 1 so terms only decrease.
    q = n / a
    size = min(n, math.ceil(math.sqrt(2.0 * n * (_TAIL + math.log(n)))) + 2)
    if q < 1.0 - 1e-12:
        size = min(size, math.ceil((_TAIL - math.log1p(-q)) / -math.log(q)) + 1)
    terms = np.cumprod((n - _index(0, size)) / a)
    rest = float(terms.sum())  # 1/B − 1
    return -math.log1p(rest), math.log(rest) - math.log1p(rest)


def _log_erlang_c(n: int, a: float) -> tuple[float, float]:
    """(ln C, ln(1 − C)) of Erlang C for n > a."""
    lb, l1mb = _log_erlang_b(n, a)
    lden = math.log((n - a) + a * math.exp(lb))
    return math.log(n) + lb - lden, math.log(n - a) + l1mb - lden


def _kummer_size(x: float, y: float) -> int:
    """Terms needed for Σ_j Π_{k≤j} y/(x+k) when y < x + 1 (every ratio is below 1)."""
    size = math.ceil(math.sqrt(2.0 * _TAIL / math.log(2.0) * (x + 1.0))) + 82
    q = y / (x + 1.0)
    if q < 1.0 - 1e-12:
        size = min(size, math.ceil((_TAIL - math.log1p(-q)) / -math.log(q)) + 1)
    return max(size, 1)


def _log_kummer_closed(x: float, y: float) -> float:
    """ln S = ln(x·e^y·y^-x·γ(x, y)), with ``bd0`` and Stirling terms so nothing cancels."""
    return (
        _bd0(x, y)
        + 0.5 * math.log(2.0 * math.pi * x)
        + _stirlerr(x)
        + math.log(float(gammainc(x, y)))
    )


def _kummer_series(x: float, y: float) -> tuple[float, float]:
    """(Σ_{j≥1} t_j, Σ j·t_j) for t_j = Π_{k=1..j} y/(x + k), y < x + 1 (ratios below 1)."""
    k = _index(1, _kummer_size(x, y) + 1)
    terms = np.cumprod(y / (x + k))
    return float(terms.sum()), float(k @ terms)


def _log_kummer(x: float, y: float) -> tuple[float, float, float]:
    """(ln S, ln((S − 1)/S), ln(T/S)) for t_j = Π_{k=1..j} y/(x + k), S = Σ_{j≥0} t_j and
    T = Σ j·t_j. The ratios are returned directly so that callers never subtract large logs."""
    if y >= x + 1.0:
        # S = x e^y y^-x γ(x, y) ≥ 2 and T/S = (y − x) + x/S: no cancellation.
        ls = _log_kummer_closed(x, y)
        return ls, math.log(-math.expm1(-ls)), _lae(math.log(y - x), math.log(x) - ls)
    rest, first_moment = _kummer_series(x, y)
    if rest <= 0.0:  # y/(x+1) underflowed: the first term is all there is
        first = math.log(y) - math.log(x + 1.0)
        return 0.0, first, first
    ls = math.log1p(rest)
    return ls, math.log(rest) - ls, math.log(first_moment) - ls


def _log_q(s: float, v: float) -> float:
    """ln Q(s, v), the regularized upper incomplete gamma, also deep in the tail (v > s)."""
    q = float(gammaincc(s, v))
    if q > 1e-280 or v <= s + 1.0:
        return math.log(q) if q > 0.0 else -math.inf
    # Continued fraction (modified Lentz):
    # Q = v^s e^-v / Γ(s) · 1/(v + 1 − s − 1(1 − s)/(v + 3 − s − 2(2 − s)/(v + 5 − s − …))).
    tiny = 1e-300
    b = v + 1.0 - s
    c, d = 1.0 / tiny, 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - s)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    # v^s e^-v / Γ(s) = s · pois(s; v), with the log pmf free of cancellation.
    log_pmf = -_bd0(s, v) - _LN_SQRT_2PI - 0.5 * math.log(s) - _stirlerr(s)
    return math.log(s) + log_pmf + math.log(h)


def _log_p(s: float, v: float) -> float:
    """ln P(s, v), the regularized lower incomplete gamma, also deep in the tail (v < s)."""
    if v <= 0.0:
        return -math.inf
    if v >= s or s <= 1e5:
        p = float(gammainc(s, v))
        if p > 1e-280 or v >= s:
            return math.log(p) if p > 0.0 else -math.inf
    # P(s, v) = pois(s; v) · Σ_j Π_{k≤j} v/(s + k)  (Kummer series, every ratio below 1). Used
    # deep in the tail and for s > 1e5, where scipy's lower tail loses up to 1e-2 relative
    # accuracy (measured at s = 1e6..1e7, 20 to 120 nats below the mode).
    log_pmf = -_bd0(s, v) - _LN_SQRT_2PI - 0.5 * math.log(s) - _stirlerr(s)
    return log_pmf + math.log1p(_kummer_series(s, v)[0])


def _log_p_at(s: float, v: float, log_v: float) -> float:
    """ln P(s, v) given v and ln v: exact also when v underflows (tiny s keeps P(s, v) ≈
    v^s/Γ(s + 1) far from 0 even then). Pass v itself when it is representable: rebuilding it
    from ln v would add a relative error that P(s, ·) amplifies s-fold."""
    if v < 1e-290:
        return s * log_v - float(gammaln(s + 1.0))  # P = v^s e^-v/Γ(s+1)·(1 + O(v))
    return _log_p(s, v)


def _log_gamma_band(s: float, lo: float, log_lo: float, hi: float) -> float:
    """ln(P(s, hi) − P(s, lo)) for lo ≤ hi (``log_lo`` = ln lo), through the small tail."""
    if lo >= s:  # both in the upper tail: Q(s, lo) − Q(s, hi) = Q(s, lo)·(1 − Q(s, hi)/Q(s, lo))
        l_big, l_small = _log_q(s, lo), _log_q(s, hi)
    elif hi <= s:  # both in the lower tail: P(s, hi)·(1 − P(s, lo)/P(s, hi))
        l_big, l_small = _log_p(s, hi), _log_p_at(s, lo, log_lo)
    else:  # straddling the mean: Q(s, lo) ≳ ½ ≳ Q(s, hi)
        band = -math.expm1(_log_p_at(s, lo, log_lo)) - float(gammaincc(s, hi))
        return math.log(band) if band > 0.0 else -math.inf
    if l_big == -math.inf or l_small >= l_big:
        return -math.inf
    return l_big + math.log(-math.expm1(l_small - l_big))


def _log_served_wait_ratio(x: float, y: float) -> float:
    """ln(Σ_j t_j·g_j / Σ_j t_j), g_j = [ψ(x+j+2) − ψ(x+1)]/(x+j+1), summed around the peak."""
    peak = max(0, math.floor(y - x))
    up = _kummer_size(x + peak, y)
    down = min(peak, math.ceil(math.sqrt(2.0 * _TAIL / math.log(2.0) * (y + 1.0))) + 82)
    lo = peak - down
    j = np.arange(lo, peak + up + 1, dtype=np.float64)
    rel = np.ones(j.size)  # t_j / t_peak
    if up:
        rel[down + 1 :] = np.cumprod(y / (x + j[down + 1 :]))
    if down:
        rel[:down] = np.cumprod((x + j[down:0:-1]) / y)[::-1]
    # h_j = Σ_{k=1..j+1} 1/(x + k): start exactly, then add term by term.
    if lo + 1 <= 100_000:
        start = float(np.sum(1.0 / (x + np.arange(1, lo + 2, dtype=np.float64))))
    else:
        start = float(digamma(x + lo + 2.0) - digamma(x + 1.0))
    h = start + np.concatenate(([0.0], np.cumsum(1.0 / (x + j[1:] + 1.0))))
    return math.log(float(rel @ (h / (x + j + 1.0)))) - math.log(float(rel.sum()))


# --------------------------------------------------------------------------------------------
# Erlang B and C


def offered_load(contacts: float, interval_s: float, aht_s: float) -> float:
    """Offered load in Erlangs: ``contacts`` arriving per ``interval_s`` seconds × ``aht_s``."""
    count = _real(contacts, "contacts")
    if not (0.0 <= count < math.inf):
        raise StaffingInputError("contacts", f"must be >= 0 and finite, got {count!r}")
    return count * _time(aht_s, "aht_s") / _time(interval_s, "interval_s")


def erlang_b(load: float, agents: int) -> float:
    """Blocking probability of M/M/N/N (Erlang B): ``(A^N/N!) / Σ_{k≤N} A^k/k!``."""
    a, n = _load(load), _agents(agents)
    return math.exp(_log_erlang_b(n, a)[0])


def erlang_c(load: float, agents: int) -> float:
    """Probability of waiting in M/M/N (Erlang C): ``N·B / (N − A(1 − B))``; 1.0 if A ≥ N."""
    a, n = _load(load), _agents(agents)
    if n <= a:
        return 1.0
    return math.exp(_log_erlang_c(n, a)[0])


def _service_level_c(n: int, a: float, aht: float, t: float) -> float:
    if n <= a:
        return 0.0
    lc, l1mc = _log_erlang_c(n, a)
    decay = (n - a) * t / aht
    late = math.exp(lc - decay)  # C·e^-x: the calls that wait longer than t
    if late <= 0.5:
        return 1.0 - late
    # Few successes: (1 − C) + C·(1 − e^-x), two non-negative terms, no cancellation.
    return min(1.0, math.exp(l1mc) - math.exp(lc) * math.expm1(-decay))


def service_level(load: float, agents: int, aht_s: float, threshold_s: float) -> float:
    """P(wait ≤ threshold_s) in M/M/N: ``1 − C·exp(−(N − A)·t/AHT)``; 0.0 if A ≥ N.

    All calls are answered in Erlang C, so the answered/offered definitions (standards §1.2,
    F1–F3) coincide.
    """
    a, n = _load(load), _agents(agents)
    aht, t = _time(aht_s, "aht_s"), _threshold(threshold_s)
    return _service_level_c(n, a, aht, t)


def asa(load: float, agents: int, aht_s: float) -> float:
    """Average speed of answer in seconds, over all calls: ``C·AHT/(N − A)``; inf if A ≥ N."""
    a, n = _load(load), _agents(agents)
    aht = _time(aht_s, "aht_s")
    if n <= a:
        return math.inf
    return math.exp(_log_erlang_c(n, a)[0]) * aht / (n - a)


def occupancy(load: float, agents: int) -> float:
    """Agent occupancy in Erlang C: ``A/N``, capped at 1.0 (A ≥ N means always busy)."""
    a, n = _load(load), _agents(agents)
    return 1.0 if n <= a else a / n


def _logit(p: float) -> float:
    p = min(max(p, 1e-300), 1.0 - 1e-16)
    return math.log(p) - math.log1p(-p)


def _secant(n0: int, n1: int, memo: dict[int, tuple[bool, float]]) -> float | None:
    """Root of the line through the margins at n0 and n1, or None if it is not defined."""
    m0, m1 = memo[n0][1], memo[n1][1]
    if n0 == n1 or m0 == m1 or not (math.isfinite(m0) and math.isfinite(m1)):
        return None
    root = n1 - m1 * (n1 - n0) / (m1 - m0)
    return root if math.isfinite(root) and abs(root) < 1e15 else None


def _staff(margins: Callable[[int], tuple[bool, float]], start: int, step: int, floor: int) -> int:
    """Smallest n ≥ floor whose constraints all hold (every n < floor is known to fail).

    ``margins(n)`` returns (all constraints hold, margin); the margin increases with n and is
    ≈ 0 at the switch (the minimum over the constraints of a transformed slack, e.g. logit(SL) −
    logit(target)). Phase 1 extrapolates the margin to bracket the answer; phase 2 takes secant
    guesses inside the bracket, checks the neighbour of each guess (so a good guess closes the
    bracket at once) and falls back to bisection when a step does not halve the bracket. The
    pass/fail decisions use the exact test only, so the answer is proven: n passes, n − 1 fails.
    """
    memo: dict[int, tuple[bool, float]] = {}
    lo, m_lo = floor - 1, -math.inf  # largest n known to fail
    hi, m_hi = -1, math.inf  # smallest n known to pass (-1: none yet)

    def probe(n: int) -> bool:
        nonlocal lo, m_lo, hi, m_hi
        if n not in memo:
            memo[n] = margins(n)
        ok, m = memo[n]
        if ok and (hi < 0 or n < hi):
            hi, m_hi = n, max(m, 0.0)
        elif not ok and n > lo:
            lo, m_lo = n, min(m, -1e-300)
        return ok

    # Phase 1: bracket. Walk from ``start`` towards the switch; after the first stride, extrapolate
    # the last two margins to the root and overshoot it by half, so one step usually brackets.
    # Strides never shrink and at most quadruple.
    stride = max(1, step)
    n = max(start, floor)
    order: list[int] = []  # probes, oldest first
    while True:
        ok = probe(n)
        order.append(n)
        if hi >= 0 and (lo >= floor or hi == floor):
            break
        if len(order) > 1:
            est = 2 * stride
            root = _secant(order[-2], order[-1], memo)
            if root is not None:
                est = math.ceil(1.5 * abs(root - n)) + 1
            stride = min(max(est, stride), 4 * stride)
        n = max(floor, n - stride) if ok else n + stride
    # Phase 2: shrink [lo, hi] to adjacent integers. Secant through the two latest probes (the
    # closest to the root); a guess already probed means the root is next to it, so probe the
    # neighbour. Bisect when the guess leaves the bracket or three probes did not halve it.
    width = hi - lo
    since = 0  # probes since the bracket last halved
    while hi - lo > 1:
        root = _secant(order[-2], order[-1], memo) if len(order) > 1 else None
        if since >= 3 or root is None or not (lo < root < hi):
            guess = (lo + hi) // 2
        else:
            guess = math.ceil(root)
            if guess in memo:
                guess = guess - 1 if memo[guess][0] else guess + 1
            if not (lo < guess < hi):
                guess = (lo + hi) // 2
        probe(guess)
        order.append(guess)
        since += 1
        if 2 * (hi - lo) <= width:
            width, since = hi - lo, 0
    return hi


def _occupancy_floor(a: float, cap: float) -> int:
    """Smallest n with a/n ≤ cap (as ``occupancy`` computes it)."""
    n = max(1, math.ceil(a / cap))
    while n > 1 and a / (n - 1) <= cap:
        n -= 1
    while a / n > cap:
        n += 1
    return n


def agents_for_service_level(
    load: float,
    aht_s: float,
    threshold_s: float,
    target: float,
    max_occupancy: float | None = None,
) -> int:
    """Smallest N (> load, so stable) with ``service_level ≥ target`` and ``A/N ≤ max_occupancy``.

    Erlang C service level increases with N, so the search gallops from the first stable count in
    steps of ~½√A and bisects: ~10 evaluations of O(1) cost at any size.
    """
    a = _load(load)
    aht, t, goal = _time(aht_s, "aht_s"), _threshold(threshold_s), _target(target)
    start = math.floor(a) + 1
    if max_occupancy is not None:
        start = max(start, _occupancy_floor(a, _cap(max_occupancy, "max_occupancy")))
    goal_logit = _logit(goal)

    def margins(n: int) -> tuple[bool, float]:
        sl = _service_level_c(n, a, aht, t)
        return sl >= goal, _logit(sl) - goal_logit

    return _staff(margins, start, math.ceil(0.5 * math.sqrt(a)), floor=start)


# --------------------------------------------------------------------------------------------
# Erlang A (M/M/N+M, Palm)


@dataclass(frozen=True, slots=True)
class ErlangAResult:
    """Steady-state metrics of M/M/N+M: Poisson arrivals, exponential AHT and patience.

    ``V`` is the offered wait: how long a caller would wait if infinitely patient. A caller
    waits ``W = min(V, patience)`` and is answered iff ``V < patience``. ``t`` is threshold_s.

    - ``p_wait``: P(V > 0), an arrival finds every agent busy and joins the queue.
    - ``p_abandon``: fraction of offered calls that hang up before being answered.
    - ``asa_s``: average speed of answer as reported (standards §1.5): mean wait of the
      *answered* calls, E[W | answered]; ``inf`` with 0 agents.
    - ``mean_wait_s``: mean time in queue over *all* offered calls, abandoners counted until
      they hang up (E[W] of Mandelbaum–Zeltyn) = ``p_abandon × patience_s``.
    - ``service_level``: on offered calls, P(answered and W ≤ t); every abandon, early or late,
      is a failure (standards §1.2 F3, the Chinese N秒接通率).
    - ``service_level_answered``: on answered calls, P(W ≤ t | answered) (standards F2).
    - ``service_level_virtual``: P(V ≤ t), judged on the offered wait: a caller who abandoned
      but would have been answered within t counts as a success (CCmath "virtual" definition).
    - ``occupancy``: carried load per agent, ``A·(1 − p_abandon)/N``.
    """

    p_wait: float
    p_abandon: float
    asa_s: float
    mean_wait_s: float
    service_level: float
    service_level_answered: float
    service_level_virtual: float
    occupancy: float


def _erlang_a(
    n: int, a: float, aht: float, patience: float, t: float, with_asa: bool
) -> ErlangAResult:
    if patience == math.inf:  # no abandonment: Erlang C
        if n <= a:
            return ErlangAResult(1.0, 0.0, math.inf, math.inf, 0.0, 0.0, 0.0, 1.0)
        lc = _log_erlang_c(n, a)[0]
        wait = math.exp(lc) * aht / (n - a)
        sl = _service_level_c(n, a, aht, t)
        return ErlangAResult(math.exp(lc), 0.0, wait, wait, sl, sl, sl, a / n)
    if n == 0:  # everyone queues and abandons
        return ErlangAResult(1.0, 1.0, math.inf, patience, 0.0, 0.0, 0.0, 0.0)
    x, y = n * patience / aht, a * patience / aht
    lxy = math.log(n) - math.log(a)  # ln(x/y)
    lb, l1mb = _log_erlang_b(n, a)
    lrm1 = l1mb - lb  # ln(1/B − 1)
    ls, du, dt = _log_kummer(x, y)
    # In units of π_N the chain sums to Z = 1/B + S − 1. Every quantity below is a log *ratio to
    # S*, so the huge magnitudes of ln S and ln(1/B) never cancel against each other.
    dz = _lae(-lb - ls, du)  # ln(Z/S)
    d_served = _lae(lrm1 - ls, lxy + du)  # ln(P(answered)·Z/S), P·Z = (1/B − 1) + (x/y)(S − 1)
    p_served = math.exp(d_served - dz)
    p_abandon = math.exp(dt - math.log(y) - dz)  # P(Ab) = (T/y)/Z
    # Threshold t: z = y·w with w = e^{-t/patience}. Late mass G(z) = e^lw·S(x, z) (offered wait
    # V > t) and late-but-answered mass H(z) = (x/y)·e^lw·(S(x, z) − 1), lw = y(1 − w) − N·t/AHT.
    z, log_z = y * math.exp(-t / patience), math.log(y) - t / patience
    lw = -y * math.expm1(-t / patience) - n * t / aht
    closed = y >= x + 1.0
    if closed:
        # S(x, v) = x e^v v^-x Γ(x) P(x, v) turns the ratios into G(z)/S = P(x, z)/P(x, y) and
        # H(z)/S = (x/y)·P(x+1, z)/P(x, y); well conditioned here since x − z ≤ y(1 − w).
        lp_y = _log_p(x, y)
        late_g = 0.0 if t == 0.0 else _log_p_at(x, z, log_z) - lp_y  # ln(G(z)/S)
        late_h = lxy + _log_p_at(x + 1.0, z, log_z) - lp_y  # ln(H(z)/S)
    else:
        # Series regime (S is moderate): use the sums at z with the exponent lw kept exact.
        if z > 1e-290:
            ls_z, du_z, _ = _log_kummer(x, z)
        else:  # S(x, z) − 1 = z/(x + 1)·(1 + O(z))
            ls_z, du_z = 0.0, log_z - math.log1p(x)
        late_g = lw + ls_z - ls
        late_h = lxy + lw + ls_z + du_z - ls
    fail = math.exp(_lae(dt - math.log(y), late_h) - dz)  # abandons + answered late
    late_v = math.exp(late_g - dz)  # P(V > t)
    sl_offered, sl_virtual = 1.0 - fail, 1.0 - late_v
    if fail > 0.5 or late_v > 0.5:
        # Few successes: add them up instead of 1 − (failures), which would cancel. Successes are
        # the calls that never wait, (1/B − 1)/Z, plus those answered (or, virtually, reached)
        # within t: [H(y) − H(z)]/S and [S − G(z)]/S, i.e. (x/y)·[P(x+1, y) − P(x+1, z)]/P(x, y)
        # and [P(x, y) − P(x, z)]/P(x, y) in closed form, or the differences of the sums.
        base = lrm1 - ls
        if closed:
            early_off = lxy + _log_gamma_band(x + 1.0, z, log_z, y) - lp_y
            early_v = _log_gamma_band(x, z, log_z, y) - lp_y
        else:
            gap = late_h - lxy - du  # ln(e^lw·(S(x, z) − 1)/(S − 1))
            early_off = lxy + du + math.log(-math.expm1(gap)) if gap < 0.0 else -math.inf
            early_v = math.log(-math.expm1(late_g)) if late_g < 0.0 else -math.inf
        if fail > 0.5:
            sl_offered = math.exp(_lae(base, early_off) - dz)
        if late_v > 0.5:
            sl_virtual = math.exp(_lae(base, early_v) - dz)
    if with_asa:
        # E[W; answered] = π_N·(x/θ)·Σ_j t_j g_j (tagged caller behind j: P(answer) = x/(x+j+1)).
        ratio = _log_served_wait_ratio(x, y)  # ln(Σ t_j g_j / S)
        asa_s = math.exp(math.log(x * patience) + ratio - d_served)
    else:
        asa_s = math.nan
    return ErlangAResult(
        p_wait=math.exp(-dz),
        p_abandon=p_abandon,
        asa_s=asa_s,
        mean_wait_s=p_abandon * patience,
        service_level=min(1.0, sl_offered),
        service_level_answered=min(1.0, sl_offered / p_served),
        service_level_virtual=min(1.0, sl_virtual),
        occupancy=min(1.0, a / n * p_served),
    )


def erlang_a(
    load: float, agents: int, aht_s: float, patience_s: float, threshold_s: float
) -> ErlangAResult:
    """Erlang A (M/M/N+M) metrics; stable for any load. ``patience_s`` is the mean patience
    (exponential); ``math.inf`` gives Erlang C (then A ≥ N is unstable: SL 0, ASA inf).
    """
    a, n = _load(load), _agents(agents)
    aht = _time(aht_s, "aht_s")
    patience = _patience(patience_s, max(a, n), aht)
    return _erlang_a(n, a, aht, patience, _threshold(threshold_s), with_asa=True)


def agents_for_erlang_a(
    load: float,
    aht_s: float,
    patience_s: float,
    threshold_s: float,
    target: float,
    max_abandon: float | None = None,
    max_occupancy: float | None = None,
) -> int:
    """Smallest N meeting every given constraint together in Erlang A.

    Constraints: ``service_level`` (offered calls, abandons are failures) ≥ ``target``; and, if
    given, ``p_abandon`` ≤ ``max_abandon`` and ``occupancy`` ≤ ``max_occupancy``. There is no
    implicit N ≥ ⌈A⌉ floor: with abandonment the target can be met below the offered load (the
    queue sheds calls by abandonment), e.g. 80/20 at A = 1666.7, AHT 300 s, patience 120 s needs
    only 1486 agents with 10.8 % abandoning. That *is* the smallest count meeting the offered-call
    SL; an operator who does not accept that abandonment rate must say so with ``max_abandon``
    (5 % gives 1586). All three metrics are monotone in N, so the search gallops and bisects.
    """
    a = _load(load)
    aht = _time(aht_s, "aht_s")
    patience = _patience(patience_s, a, aht)
    t, goal = _threshold(threshold_s), _target(target)
    ab_cap = None if max_abandon is None else _cap(max_abandon, "max_abandon")
    occ_cap = None if max_occupancy is None else _cap(max_occupancy, "max_occupancy")
    if patience == math.inf:
        return agents_for_service_level(a, aht, t, goal, occ_cap)

    goal_logit = _logit(goal)

    def margins(n: int) -> tuple[bool, float]:
        m = _erlang_a(n, a, aht, patience, t, with_asa=False)
        ok = m.service_level >= goal
        margin = _logit(m.service_level) - goal_logit
        if ab_cap is not None:
            ok = ok and m.p_abandon <= ab_cap
            margin = min(margin, math.log(ab_cap) - math.log(max(m.p_abandon, 1e-300)))
        if occ_cap is not None:
            ok = ok and m.occupancy <= occ_cap
            margin = min(margin, math.log(occ_cap) - math.log(max(m.occupancy, 1e-300)))
        return ok, margin

    # Fluid (efficiency-driven) start: below A the queue sheds the excess by abandonment, so
    # P(Ab) ≈ 1 − N/A, occupancy ≈ 1 and the answered wait is ≈ patience·ln(A/N): SL ≈ N/A
    # once N ≥ A·e^{-t/patience}, ≈ 0 below. The search then walks from there.
    guess = max(goal * a, a * math.exp(-t / patience))
    if ab_cap is not None:
        guess = max(guess, a * (1.0 - ab_cap))
    if occ_cap is not None:
        guess = max(guess, a / occ_cap)
    return _staff(margins, max(1, math.ceil(guess)), math.ceil(0.5 * math.sqrt(a)), floor=1)


# --------------------------------------------------------------------------------------------
# Chat / messaging with concurrency


@dataclass(frozen=True, slots=True)
class ChatResult:
    """Steady-state metrics of the chat model (see :func:`chat_erlang`).

    - ``p_wait``: P(an arriving chat finds every slot of every agent taken).
    - ``asa_s``: mean wait in queue over all chats, seconds (inf when unstable).
    - ``service_level``: P(wait ≤ threshold_s) (no abandonment: answered = offered).
    - ``occupancy``: mean busy chat slots / (agents × concurrency).
    - ``chats_per_agent``: mean chats in progress per agent.
    """

    p_wait: float
    asa_s: float
    service_level: float
    occupancy: float
    chats_per_agent: float


def _aht_levels(aht_s: Sequence[float]) -> list[float]:
    if isinstance(aht_s, (str, bytes)) or not isinstance(aht_s, Sequence) or not aht_s:
        raise StaffingInputError("aht_s", "must be a non-empty sequence of seconds per level")
    return [_time(value, "aht_s") for value in aht_s]


def _chat(n: int, lam: float, aht: list[float], t: float) -> ChatResult:
    c = len(aht)
    rate = np.array([0.0, *(k / aht[k - 1] for k in range(1, c + 1)), 0.0])  # per agent
    top = n * float(rate[c])  # completion rate with every slot busy
    if n == 0 or lam >= top:
        return ChatResult(1.0, math.inf, 0.0, 1.0, float(c))
    m = np.arange(1, n * c + 1)
    q, r = np.divmod(m, n)
    death = r * rate[q + 1] + (n - r) * rate[q]  # balanced routing: agents differ by ≤ 1 chat
    logp = np.concatenate(([0.0], np.cumsum(math.log(lam) - np.log(death))))
    rho = lam / top
    l_full = float(logp[-1]) - math.log1p(-rho)  # Σ_{m ≥ Nc} π_m, geometric tail
    shift = max(float(logp.max()), l_full)
    weights = np.exp(logp[:-1] - shift)
    full = math.exp(l_full - shift)
    z = float(weights.sum()) + full
    p_wait = full / z
    busy = (float(np.arange(n * c) @ weights) + n * c * full) / z
    gap = top - lam
    return ChatResult(
        p_wait=p_wait,
        asa_s=p_wait / gap,
        service_level=min(1.0, (1.0 - p_wait) - p_wait * math.expm1(-gap * t)),
        occupancy=busy / (n * c),
        chats_per_agent=busy / n,
    )


def chat_erlang(
    chats_per_hour: float, aht_s: Sequence[float], agents: int, threshold_s: float
) -> ChatResult:
    """Chat/messaging queue where an agent handles up to ``c = len(aht_s)`` chats at once.

    ``aht_s[k]`` is the mean handle time of a chat while its agent holds ``k + 1`` chats (CCmath
    "Erlang Chat" convention), so an agent with k chats finishes one at rate ``k/aht_s[k−1]``.
    Model: Poisson arrivals, exponential handling, FCFS queue, no abandonment, and a new chat
    goes to the least-loaded agent with loads kept balanced (agents differ by at most one chat),
    which makes the total completion rate a function of the number of chats in the system: a
    birth–death chain on 0..N·c plus a geometric queue. Exact for c = 1 (Erlang C) and for equal
    AHTs (Erlang C with N·c servers); an approximation otherwise. Cost O(N·c).
    """
    lam = _load(chats_per_hour, "chats_per_hour") / 3600.0
    aht, n, t = _aht_levels(aht_s), _agents(agents), _threshold(threshold_s)
    if n * len(aht) > _MAX_CHAT_STATES:
        raise StaffingInputError("agents", f"agents × concurrency must be ≤ {_MAX_CHAT_STATES}")
    return _chat(n, lam, aht, t)


def agents_for_chat(
    chats_per_hour: float,
    aht_s: Sequence[float],
    threshold_s: float,
    target: float,
    max_occupancy: float | None = None,
) -> int:
    """Smallest stable N for :func:`chat_erlang` with ``service_level ≥ target`` and, if given,
    ``occupancy`` (busy slots / all slots) ≤ ``max_occupancy``."""
    lam = _load(chats_per_hour, "chats_per_hour") / 3600.0
    aht, t, goal = _aht_levels(aht_s), _threshold(threshold_s), _target(target)
    cap = None if max_occupancy is None else _cap(max_occupancy, "max_occupancy")
    per_agent = len(aht) / aht[-1]
    start = math.floor(lam / per_agent) + 1
    if 2 * start * len(aht) > _MAX_CHAT_STATES:
        raise StaffingInputError(
            "chats_per_hour", f"needs over {_MAX_CHAT_STATES // 2} chat slots: too large"
        )

    goal_logit = _logit(goal)

    def margins(n: int) -> tuple[bool, float]:
        m = _chat(n, lam, aht, t)
        ok = m.service_level >= goal
        margin = _logit(m.service_level) - goal_logit
        if cap is not None:
            ok = ok and m.occupancy <= cap
            margin = min(margin, math.log(cap) - math.log(max(m.occupancy, 1e-300)))
        return ok, margin

    return _staff(margins, start, math.ceil(0.5 * math.sqrt(lam / per_agent)), floor=start)


# --------------------------------------------------------------------------------------------
# Shrinkage


def _fraction(value: object, field: str) -> Fraction:
    result = _real(value, field)
    if not (0.0 <= result < 1.0):
        raise StaffingInputError(field, f"must be a fraction in [0, 1), got {result!r}")
    return Fraction(repr(result))  # the decimal the caller wrote: 0.3 is 3/10, not 0.2999…


def scheduled_staff(required: float, shrinkage: float) -> int:
    """Staff to schedule so that ``required`` remain after shrinkage: ⌈required / (1 − s)⌉.

    ``shrinkage`` is the fraction of paid time not available for contacts (breaks, training,
    absence …). Computed on the decimal values given, so 70 agents at 30 % is exactly 100, not
    101 through float round-off. Apply it once per requirement (in-centre at the interval level
    or out-of-centre at the roster level, not both on the same figure).
    """
    need = _real(required, "required")
    if not (0.0 <= need < math.inf):
        raise StaffingInputError("required", f"must be >= 0 and finite, got {need!r}")
    return math.ceil(Fraction(repr(need)) / (1 - _fraction(shrinkage, "shrinkage")))


def combine_shrinkage(*components: float) -> float:
    """Total shrinkage of independent components: ``1 − Π(1 − s_i)`` (not their sum)."""
    kept = Fraction(1)
    for index, value in enumerate(components):
        kept *= 1 - _fraction(value, f"components[{index}]")
    return float(1 - kept)
