"""Shift scheduling: required staff per interval → a weekly tour integer program solved by HiGHS.

Requirement. :func:`required_staff` turns forecast contacts and AHT per interval into agents on
the phones (Erlang C, or Erlang A with patience, from ``kefu.wfm.erlang``) and then into
scheduled staff with the *in-centre* shrinkage that breaks do not already cover (meetings,
coaching, after-call slack): ``⌈N / (1 − s)⌉``. Breaks and lunches are placed explicitly by the
scheduler, so do not count them in that shrinkage.

Model (a weekly tour with implicit breaks, after Bechtold–Jacobs and Aykin):

- a **tour** ``y[p, k, s]`` = agents working days-off pattern ``p`` (a 7-day on/off mask such as
  5 on / 2 off, rotated), shift template ``k`` and start ``s`` (the same start every working day);
- per day ``d`` the agents on ``(k, s)`` take each break rule ``b`` at one placement ``j`` of its
  window: ``Σ_j z[d, k, s, b, j] = Σ_{p works d} y[p, k, s]`` (implicit break variables: the
  placements are chosen per day, without one column per combination);
- **coverage** of every interval ``t`` of the week (7 × 1440 / interval, cyclic, so a night shift
  carries over midnight and Sunday night into Monday):
  ``Σ working (k, s) − Σ breaks placed at t ≥ required[t]``;
- minimise paid hours (one tour costs its paid minutes on each working day), optionally within a
  cap on agents and on the agents per template.

Infeasible inputs are explained, not traced: intervals that no template can work, and, when caps
make the demand impossible, which intervals fall short and which caps are binding
(:class:`ScheduleInfeasibleError`).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
from scipy import sparse

from kefu.wfm.erlang import agents_for_erlang_a, agents_for_service_level, scheduled_staff

__all__ = [
    "WEEKDAYS",
    "BreakRule",
    "DaysOff",
    "Schedule",
    "ScheduleInfeasibleError",
    "ShiftInstance",
    "ShiftTemplate",
    "Tour",
    "required_staff",
    "solve_schedule",
]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
IntArray = np.ndarray[tuple[int, ...], np.dtype[np.int64]]
FloatArray = np.ndarray[tuple[int, ...], np.dtype[np.float64]]


# --------------------------------------------------------------------------------------------
# Requirement


def required_staff(
    volumes: FloatArray,
    aht_s: FloatArray | float,
    interval_min: int,
    target: float = 0.8,
    threshold_s: float = 20.0,
    shrinkage: float = 0.0,
    patience_s: float | None = None,
    max_abandon: float | None = None,
    max_occupancy: float | None = None,
) -> IntArray:
    """Scheduled staff per interval (same shape as ``volumes``).

    ``volumes`` are contacts offered per interval, ``aht_s`` their handle time (array or scalar;
    NaN or non-positive where unknown means no contacts). Erlang C unless ``patience_s`` is given
    (then Erlang A with the abandonment cap ``max_abandon``).
    """
    vol = np.asarray(volumes, dtype=float)
    aht = np.broadcast_to(np.asarray(aht_s, dtype=float), vol.shape)
    out = np.zeros(vol.shape, dtype=np.int64)
    interval_s = 60.0 * interval_min
    for index in np.ndindex(vol.shape):
        v, h = float(vol[index]), float(aht[index])
        if v <= 0 or not math.isfinite(h) or h <= 0:
            continue
        load = v * h / interval_s
        if patience_s is None:
            n = agents_for_service_level(load, h, threshold_s, target, max_occupancy)
        else:
            n = agents_for_erlang_a(
                load, h, patience_s, threshold_s, target, max_abandon, max_occupancy
            )
        out[index] = scheduled_staff(n, shrinkage)
    return out


# --------------------------------------------------------------------------------------------
# Templates


@dataclass(frozen=True)
class BreakRule:
    """A break of ``length_min`` starting between ``earliest_min`` and ``latest_min`` after the
    shift start (on the interval grid). ``paid=False`` for an unpaid lunch."""

    length_min: int
    earliest_min: int
    latest_min: int
    paid: bool = True


@dataclass(frozen=True)
class ShiftTemplate:
    """A shift of ``length_min`` starting every ``step_min`` from ``earliest_start_min`` to
    ``latest_start_min`` (minutes after local midnight; a start past the day's end is not
    allowed, an end past midnight carries into the next day)."""

    name: str
    length_min: int
    earliest_start_min: int
    latest_start_min: int
    step_min: int = 15
    breaks: tuple[BreakRule, ...] = ()
    max_agents: int | None = None

    def starts(self) -> list[int]:
        return list(range(self.earliest_start_min, self.latest_start_min + 1, self.step_min))

    def paid_min(self) -> int:
        return self.length_min - sum(b.length_min for b in self.breaks if not b.paid)

    def is_night(self, start_min: int) -> bool:
        """Works any time between 00:00 and 06:00 (the night premium window)."""
        end = start_min + self.length_min
        return start_min < 360 or end > 1440


@dataclass(frozen=True)
class DaysOff:
    """Working-day patterns: ``work_days`` on out of 7, the days off consecutive when
    ``consecutive_off`` (5 on / 2 off), else any choice of days off."""

    work_days: int = 5
    consecutive_off: bool = True

    def masks(self) -> list[tuple[int, ...]]:
        if not 1 <= self.work_days <= 7:
            raise ValueError("work_days is 1..7")
        if self.consecutive_off:
            base = (1,) * self.work_days + (0,) * (7 - self.work_days)
            found = {base[-r:] + base[:-r] if r else base for r in range(7)}
        else:
            found = set()
            for bits in range(128):
                mask = tuple((bits >> d) & 1 for d in range(7))
                if sum(mask) == self.work_days:
                    found.add(mask)
        return sorted(found, reverse=True)


# --------------------------------------------------------------------------------------------
# Result


@dataclass(frozen=True)
class Tour:
    pattern: tuple[int, ...]  # 1 = works that weekday (Mon..Sun)
    template: str
    start_min: int
    count: int


@dataclass(frozen=True)
class ShiftInstance:
    """One agent's shift on one day: start and end in minutes after that day's midnight (the
    end may pass 1440), breaks as (start, length, paid) in the same minutes."""

    tour: int  # index of the agent slot (0 .. agents-1)
    day: int
    template: str
    start_min: int
    end_min: int
    breaks: tuple[tuple[int, int, bool], ...]
    night: bool


@dataclass
class Schedule:
    status: str  # "optimal" or "feasible" (time limit, gap reported)
    agents: int
    paid_hours: float
    objective: float
    lp_bound: float
    gap: float
    seconds: float
    interval_min: int
    required: IntArray
    scheduled: IntArray  # agents working (not on break) per day and interval
    tours: list[Tour] = field(default_factory=list)
    shifts: list[ShiftInstance] = field(default_factory=list)

    @property
    def understaffed_intervals(self) -> int:
        return int(np.sum(self.scheduled < self.required))


class ScheduleInfeasibleError(ValueError):
    """The demand cannot be met; ``reasons`` says which constraint binds, in plain words."""

    def __init__(self, reasons: Sequence[str], short: dict[str, int] | None = None) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = list(reasons)
        self.short = short or {}


# --------------------------------------------------------------------------------------------
# Model building


def _clock(minute: int) -> str:
    minute %= 1440
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _ranges(cells: list[tuple[int, int]], interval_min: int) -> list[str]:
    """Group (day, slot) cells into 'Tue 02:00-05:00' ranges."""
    out: list[str] = []
    cells = sorted(cells)
    i = 0
    while i < len(cells):
        day, first = cells[i]
        last = first
        while i + 1 < len(cells) and cells[i + 1] == (day, last + 1):
            i += 1
            last = cells[i][1]
        out.append(
            f"{WEEKDAYS[day]} {_clock(first * interval_min)}-{_clock((last + 1) * interval_min)}"
        )
        i += 1
    return out


@dataclass
class _Model:
    cols: int
    cost: list[float]
    upper: list[float]
    rows_lower: list[float]
    rows_upper: list[float]
    matrix: sparse.csc_matrix
    tour_cols: list[tuple[tuple[int, ...], int, int]]  # (pattern, template index, start)
    break_cols: list[tuple[int, int, int, int, int]]  # (day, template, start, rule, placement min)
    coverage_rows: int
    tour_index: list[int] = field(default_factory=list)  # column of each tour
    break_index: list[int] = field(default_factory=list)  # column of each break placement


def _validate(templates: Sequence[ShiftTemplate], interval_min: int) -> None:
    problems: list[str] = []
    for k in templates:
        values = [k.length_min, k.earliest_start_min, k.latest_start_min, k.step_min]
        values += [v for b in k.breaks for v in (b.length_min, b.earliest_min, b.latest_min)]
        if any(v % interval_min for v in values):
            problems.append(f"template {k.name}: times must be multiples of {interval_min} min")
        if not 0 < k.length_min <= 13 * 60:
            problems.append(
                f"template {k.name}: length {k.length_min} min; at most 13 h keeps 11 h of rest "
                "between shifts on consecutive days"
            )
        if not 0 <= k.earliest_start_min <= k.latest_start_min < 1440 or k.step_min <= 0:
            problems.append(f"template {k.name}: start window must lie within the day")
        spans = sorted((b.earliest_min, b.latest_min + b.length_min) for b in k.breaks)
        for b in k.breaks:
            if b.earliest_min > b.latest_min or b.latest_min + b.length_min > k.length_min:
                problems.append(f"template {k.name}: a break window does not fit in the shift")
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start < end:
                problems.append(
                    f"template {k.name}: break windows overlap; give each break its own window"
                )
    if problems:
        raise ScheduleInfeasibleError(problems)


def _build(
    required: IntArray,
    templates: Sequence[ShiftTemplate],
    patterns: Sequence[tuple[int, ...]],
    interval_min: int,
    max_agents: int | None,
) -> _Model:
    days, slots = required.shape
    week = days * slots
    step = interval_min
    cost: list[float] = []
    upper: list[float] = []
    tour_cols: list[tuple[tuple[int, ...], int, int]] = []
    break_cols: list[tuple[int, int, int, int, int]] = []
    tour_index: list[int] = []
    break_index: list[int] = []
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    link_row: dict[tuple[int, int, int, int], int] = {}  # (day, k, start, rule) -> row
    next_row = week

    def add(row: int, col: int, value: float) -> None:
        rows.append(row)
        cols.append(col)
        vals.append(value)

    for ki, k in enumerate(templates):
        n_work = k.length_min // step
        for start in k.starts():
            s0 = start // step
            for pattern in patterns:
                col = len(cost)
                tour_cols.append((pattern, ki, start))
                tour_index.append(col)
                cost.append(sum(pattern) * k.paid_min() / 60.0)
                upper.append(math.inf)
                for d in range(days):
                    if not pattern[d]:
                        continue
                    for j in range(n_work):
                        add((d * slots + s0 + j) % week, col, 1.0)
                    for bi, _ in enumerate(k.breaks):
                        key = (d, ki, start, bi)
                        if key not in link_row:
                            link_row[key] = next_row
                            next_row += 1
                        add(link_row[key], col, 1.0)
            for d in range(days):
                for bi, b in enumerate(k.breaks):
                    row = link_row.get((d, ki, start, bi))
                    if row is None:
                        continue
                    for offset in range(b.earliest_min, b.latest_min + 1, step):
                        col = len(cost)
                        break_cols.append((d, ki, start, bi, offset))
                        break_index.append(col)
                        cost.append(0.0)
                        upper.append(math.inf)
                        add(row, col, -1.0)
                        first = s0 + offset // step
                        for j in range(b.length_min // step):
                            add((d * slots + first + j) % week, col, -1.0)
    rows_lower = [float(v) for v in required.ravel()] + [0.0] * (next_row - week)
    rows_upper = [math.inf] * week + [0.0] * (next_row - week)
    n_rows = next_row
    if max_agents is not None or any(k.max_agents is not None for k in templates):
        if max_agents is not None:
            for ci in tour_index:
                add(n_rows, ci, 1.0)
            rows_lower.append(-math.inf)
            rows_upper.append(float(max_agents))
            n_rows += 1
        for ki, k in enumerate(templates):
            if k.max_agents is None:
                continue
            for ci, (_, kk, _) in zip(tour_index, tour_cols, strict=True):
                if kk == ki:
                    add(n_rows, ci, 1.0)
            rows_lower.append(-math.inf)
            rows_upper.append(float(k.max_agents))
            n_rows += 1
    matrix = sparse.csc_matrix((vals, (rows, cols)), shape=(n_rows, len(cost)))
    matrix.sum_duplicates()
    return _Model(
        len(cost),
        cost,
        upper,
        rows_lower,
        rows_upper,
        matrix,
        tour_cols,
        break_cols,
        week,
        tour_index,
        break_index,
    )


def _solve(
    model: _Model,
    integer: bool,
    time_limit: float,
    mip_gap: float,
    cost: list[float] | None = None,
    start: FloatArray | None = None,
) -> tuple[str, list[float], float, float]:
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.silent()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    h.setOptionValue("threads", 1)
    lp = highspy.HighsLp()
    lp.num_col_ = model.cols
    lp.num_row_ = model.matrix.shape[0]
    lp.col_cost_ = np.array(cost if cost is not None else model.cost, dtype=float)
    lp.col_lower_ = np.zeros(model.cols)
    lp.col_upper_ = np.array(model.upper, dtype=float)
    lp.row_lower_ = np.array(model.rows_lower, dtype=float)
    lp.row_upper_ = np.array(model.rows_upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = model.matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = model.matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = model.matrix.data.astype(float)
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * model.cols
    h.passModel(lp)
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = [float(v) for v in start]
        solution.value_valid = True
        h.setSolution(solution)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info: Any = h.getInfo()
    values = list(h.getSolution().col_value) if info.primal_solution_status == 2 else []
    objective = float(info.objective_function_value)
    bound = float(info.mip_dual_bound) if integer else objective
    return str(status), values, objective, bound


# --------------------------------------------------------------------------------------------
# Explanations


def _uncoverable(
    required: IntArray, templates: Sequence[ShiftTemplate], interval_min: int
) -> list[str]:
    days, slots = required.shape
    week = days * slots
    can = np.zeros(week, dtype=bool)
    for k in templates:
        for start in k.starts():
            for d in range(days):
                for j in range(k.length_min // interval_min):
                    can[(d * slots + start // interval_min + j) % week] = True
    need = required.ravel() > 0
    cells = [(int(i) // slots, int(i) % slots) for i in np.flatnonzero(need & ~can)]
    if not cells:
        return []
    peak = int(max(required.ravel()[i] for i in np.flatnonzero(need & ~can)))
    where = ", ".join(_ranges(cells, interval_min)[:6])
    return [
        f"no shift template works {where} (up to {peak} agents required there): add a template "
        "that covers those hours, such as a night shift, or set the requirement to 0"
    ]


def _explain_caps(
    model: _Model,
    required: IntArray,
    templates: Sequence[ShiftTemplate],
    interval_min: int,
    max_agents: int | None,
) -> ScheduleInfeasibleError:
    """Elastic LP: minimise the total shortfall under the caps, then name the short intervals
    and the caps at their limit."""
    days, slots = required.shape
    week = days * slots
    eye = sparse.identity(week, format="csc")
    pad = sparse.csc_matrix((model.matrix.shape[0] - week, week))
    elastic = _Model(
        model.cols + week,
        [0.0] * model.cols + [1.0] * week,
        model.upper + [math.inf] * week,
        model.rows_lower,
        model.rows_upper,
        sparse.hstack([model.matrix, sparse.vstack([eye, pad])], format="csc"),
        model.tour_cols,
        model.break_cols,
        week,
        model.tour_index,
        model.break_index,
    )
    _, values, _, _ = _solve(elastic, integer=False, time_limit=30.0, mip_gap=0.0)
    if not values:
        return ScheduleInfeasibleError(["the caps on agents cannot be met at all"])
    short = np.array(values[model.cols :])
    cells = [(int(i) // slots, int(i) % slots) for i in np.flatnonzero(short > 1e-6)]
    tours = np.array([values[i] for i in model.tour_index])
    reasons: list[str] = []
    if max_agents is not None and tours.sum() >= max_agents - 1e-6:
        reasons.append(f"the cap of {max_agents} agents is reached")
    for ki, k in enumerate(templates):
        if k.max_agents is None:
            continue
        used = sum(v for v, (_, kk, _) in zip(tours, model.tour_cols, strict=True) if kk == ki)
        if used >= k.max_agents - 1e-6:
            reasons.append(f"the cap of {k.max_agents} agents on template {k.name} is reached")
    total = math.ceil(float(short.sum()) - 1e-6)
    where = ", ".join(_ranges(cells, interval_min)[:6])
    reasons.append(
        f"even then {where} stay short by {total} agent-intervals in total "
        f"(at least {math.ceil(float(short.max()) - 1e-6)} agents at the worst interval)"
    )
    short_map = {
        f"{WEEKDAYS[d]} {_clock(s * interval_min)}": math.ceil(float(short[d * slots + s]) - 1e-6)
        for d, s in cells
    }
    return ScheduleInfeasibleError(reasons, short_map)


# --------------------------------------------------------------------------------------------
# Solve


def solve_schedule(
    required: IntArray,
    templates: Sequence[ShiftTemplate],
    days_off: DaysOff | Sequence[tuple[int, ...]] = DaysOff(),
    interval_min: int = 15,
    max_agents: int | None = None,
    time_limit_s: float = 30.0,
    mip_gap: float = 1e-4,
) -> Schedule:
    """Cheapest set of weekly tours covering ``required`` (7 × intervals-per-day, Monday first).

    Raises :class:`ScheduleInfeasibleError` with the binding constraint in words when the
    demand cannot be met.
    """
    started = time.perf_counter()
    req = np.asarray(required, dtype=np.int64)
    if req.ndim != 2 or req.shape[0] != 7 or req.shape[1] * interval_min != 1440:
        raise ValueError(f"required must be 7 x {1440 // interval_min} (days x intervals)")
    if np.any(req < 0):
        raise ValueError("required staff cannot be negative")
    if not templates:
        raise ScheduleInfeasibleError(["no shift templates given"])
    _validate(templates, interval_min)
    patterns = days_off.masks() if isinstance(days_off, DaysOff) else [tuple(p) for p in days_off]
    reasons = _uncoverable(req, templates, interval_min)
    if reasons:
        raise ScheduleInfeasibleError(reasons)
    model = _build(req, templates, patterns, interval_min, max_agents)
    status, _, lp_value, _ = _solve(model, integer=False, time_limit=time_limit_s, mip_gap=mip_gap)
    if status != "Optimal":
        raise _explain_caps(model, req, templates, interval_min, max_agents)
    remaining = max(1.0, time_limit_s - (time.perf_counter() - started))
    status, values, objective, _ = _solve(
        model,
        integer=True,
        time_limit=remaining,
        mip_gap=mip_gap,
    )
    if not values:
        raise _explain_caps(model, req, templates, interval_min, max_agents)
    x = np.rint(np.array(values)).astype(np.int64)
    days, slots = req.shape
    week = days * slots
    coverage = model.matrix[:week] @ x
    tours: list[Tour] = []
    for ci, (pattern, ki, start) in zip(model.tour_index, model.tour_cols, strict=True):
        if x[ci] > 0:
            tours.append(Tour(pattern, templates[ki].name, start, int(x[ci])))
    shifts = _instances(model, x, templates, tours, interval_min)
    agents = sum(t.count for t in tours)
    paid = float(np.dot(model.cost, x))
    gap = (objective - lp_value) / lp_value if lp_value > 0 else 0.0
    return Schedule(
        status="optimal" if status == "Optimal" else "feasible",
        agents=agents,
        paid_hours=paid,
        objective=objective,
        lp_bound=lp_value,
        gap=gap,
        seconds=time.perf_counter() - started,
        interval_min=interval_min,
        required=req,
        scheduled=np.asarray(coverage, dtype=np.int64).reshape(days, slots),
        tours=tours,
        shifts=shifts,
    )


def _instances(
    model: _Model,
    x: IntArray,
    templates: Sequence[ShiftTemplate],
    tours: list[Tour],
    interval_min: int,
) -> list[ShiftInstance]:
    """Disaggregate tours into one shift per agent and working day, dealing break placements
    out to the agents on each (day, template, start)."""
    by_name = {k.name: (ki, k) for ki, k in enumerate(templates)}
    placements: dict[tuple[int, int, int, int], list[int]] = {}
    for ci, (d, ki, start, bi, offset) in zip(model.break_index, model.break_cols, strict=True):
        count = int(x[ci])
        placements.setdefault((d, ki, start, bi), []).extend([offset] * count)
    dealt: dict[tuple[int, int, int, int], int] = {}
    out: list[ShiftInstance] = []
    agent = 0
    for tour in tours:
        ki, k = by_name[tour.template]
        for _ in range(tour.count):
            for d in range(7):
                if not tour.pattern[d]:
                    continue
                breaks: list[tuple[int, int, bool]] = []
                for bi, rule in enumerate(k.breaks):
                    key = (d, ki, tour.start_min, bi)
                    i = dealt.get(key, 0)
                    dealt[key] = i + 1
                    options = placements.get(key, [])
                    offset = options[i] if i < len(options) else rule.earliest_min
                    breaks.append((tour.start_min + offset, rule.length_min, rule.paid))
                out.append(
                    ShiftInstance(
                        agent,
                        d,
                        k.name,
                        tour.start_min,
                        tour.start_min + k.length_min,
                        tuple(breaks),
                        k.is_night(tour.start_min),
                    )
                )
            agent += 1
    return out
