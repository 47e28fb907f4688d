"""Required agents per interval: calls per interval (entered or from a CSV) → Erlang C or Erlang A
staffing, predicted service level, ASA, occupancy (and abandonment), and scheduled staff after
shrinkage. Standard library + :mod:`kefu.wfm.erlang` only.

CSV rules (``interval_start,calls[,aht_s]``, header required, UTF-8):

- ``interval_start`` ISO-8601 **with an offset** (``2026-03-02T09:00:00+08:00`` or ``...Z``),
  on the interval grid (minute a multiple of ``interval_min``), each start at most once;
- ``calls`` a non-negative number (0 is a closed or empty interval: 0 agents);
- ``aht_s`` optional, a positive number of seconds overriding the form's AHT for that row.

Every bad row is reported (line, column, problem code); nothing is computed from a bad file.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from kefu.wfm.erlang import (
    StaffingInputError,
    agents_for_erlang_a,
    agents_for_service_level,
    asa,
    erlang_a,
    occupancy,
    offered_load,
    scheduled_staff,
    service_level,
)

__all__ = [
    "HEADER",
    "INTERVALS",
    "MAX_ROWS",
    "CsvRowProblem",
    "Interval",
    "StaffingCsvError",
    "StaffingParams",
    "StaffingRow",
    "parse_intervals_csv",
    "row_values",
    "staff_intervals",
    "totals",
    "write_csv",
]

INTERVALS = (15, 30, 60)
MAX_ROWS = 5000  # about seven weeks of 15-minute intervals
COLUMNS = ("interval_start", "calls", "aht_s")


@dataclass(frozen=True, slots=True)
class Interval:
    start: datetime  # aware
    calls: float
    aht_s: float | None = None  # overrides StaffingParams.aht_s


@dataclass(frozen=True, slots=True)
class StaffingParams:
    """The staffing rule. ``patience_s`` switches from Erlang C to Erlang A (mean patience)."""

    interval_min: int
    aht_s: float
    target: float = 0.8
    threshold_s: float = 20.0
    patience_s: float | None = None
    max_abandon: float | None = None
    max_occupancy: float | None = None
    shrinkage: float = 0.0

    @property
    def model(self) -> str:
        return "erlang_c" if self.patience_s is None else "erlang_a"


@dataclass(frozen=True, slots=True)
class StaffingRow:
    """One interval. Metrics are None when no call is offered (nothing to measure)."""

    start: datetime
    calls: float
    aht_s: float
    load: float  # Erlangs
    agents: int  # required on the phones
    scheduled: int  # to schedule: agents / (1 − shrinkage), rounded up
    service_level: float | None  # Erlang A: on offered calls, abandons count as failures
    asa_s: float | None
    occupancy: float | None
    p_abandon: float | None  # Erlang A only


@dataclass(frozen=True, slots=True)
class CsvRowProblem:
    """One bad cell: 1-based line (header = 1), column and a problem code (see the catalog
    keys ``error.staffing.csv_<code>``)."""

    line: int
    column: str
    code: str
    value: str = ""


class StaffingCsvError(ValueError):
    def __init__(self, problems: Sequence[CsvRowProblem]) -> None:
        super().__init__("; ".join(f"line {p.line} {p.column}: {p.code}" for p in problems))
        self.problems = list(problems)


def _check_params(p: StaffingParams) -> None:
    """Validate the rule once (so a file of empty intervals still gets its errors)."""
    if p.interval_min not in INTERVALS:
        raise StaffingInputError("interval_min", f"must be one of {INTERVALS}")
    if p.patience_s is None:
        if p.max_abandon is not None:
            raise StaffingInputError("max_abandon", "needs patience_s (Erlang A)")
        agents_for_service_level(1.0, p.aht_s, p.threshold_s, p.target, p.max_occupancy)
    else:
        agents_for_erlang_a(
            1.0, p.aht_s, p.patience_s, p.threshold_s, p.target, p.max_abandon, p.max_occupancy
        )
    scheduled_staff(0, p.shrinkage)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def staff_intervals(intervals: Sequence[Interval], params: StaffingParams) -> list[StaffingRow]:
    """Required agents per interval; raises :class:`StaffingInputError` naming the field
    (``intervals[i].calls`` etc. for one interval)."""
    _check_params(params)
    if not intervals:
        raise StaffingInputError("intervals", "give at least one interval")
    if len(intervals) > MAX_ROWS:
        raise StaffingInputError("intervals", f"at most {MAX_ROWS} intervals")
    interval_s = params.interval_min * 60.0
    rows = []
    seen: set[datetime] = set()
    for i, iv in enumerate(intervals):
        where = f"intervals[{i}]"
        if iv.start.tzinfo is None or iv.start.utcoffset() is None:
            raise StaffingInputError(f"{where}.start", "needs a UTC offset, e.g. +08:00")
        if iv.start in seen:
            raise StaffingInputError(f"{where}.start", "the same interval twice")
        seen.add(iv.start)
        aht = params.aht_s if iv.aht_s is None else iv.aht_s
        try:
            load = offered_load(iv.calls, interval_s, aht)
        except StaffingInputError as exc:
            field = "calls" if exc.field == "contacts" else "aht_s"
            raise StaffingInputError(f"{where}.{field}", exc.message) from exc
        if load == 0.0:
            rows.append(StaffingRow(iv.start, iv.calls, aht, 0.0, 0, 0, None, None, None, None))
            continue
        try:
            rows.append(_staff_one(iv, aht, load, params))
        except StaffingInputError as exc:
            raise StaffingInputError(f"{where}.calls", exc.message) from exc
    return rows


def _staff_one(iv: Interval, aht: float, load: float, p: StaffingParams) -> StaffingRow:
    if p.patience_s is None:
        n = agents_for_service_level(load, aht, p.threshold_s, p.target, p.max_occupancy)
        return StaffingRow(
            iv.start,
            iv.calls,
            aht,
            load,
            n,
            scheduled_staff(n, p.shrinkage),
            service_level(load, n, aht, p.threshold_s),
            _finite(asa(load, n, aht)),
            occupancy(load, n),
            None,
        )
    n = agents_for_erlang_a(
        load, aht, p.patience_s, p.threshold_s, p.target, p.max_abandon, p.max_occupancy
    )
    m = erlang_a(load, n, aht, p.patience_s, p.threshold_s)
    return StaffingRow(
        iv.start,
        iv.calls,
        aht,
        load,
        n,
        scheduled_staff(n, p.shrinkage),
        m.service_level,
        _finite(m.asa_s),
        m.occupancy,
        m.p_abandon,
    )


def totals(rows: Sequence[StaffingRow], interval_min: int) -> dict[str, float]:
    hours = interval_min / 60.0
    return {
        "calls": sum(r.calls for r in rows),
        "peak_agents": max((r.agents for r in rows), default=0),
        "peak_scheduled": max((r.scheduled for r in rows), default=0),
        "agent_hours": sum(r.agents for r in rows) * hours,
        "scheduled_hours": sum(r.scheduled for r in rows) * hours,
    }


# --- CSV in and out ---------------------------------------------------------------------------


def _number(raw: str, positive: bool) -> tuple[float | None, str]:
    try:
        value = float(raw)
    except ValueError:
        return None, "not_number"
    if not math.isfinite(value):
        return None, "not_number"
    if positive and value <= 0:
        return None, "not_positive"
    if value < 0:
        return None, "negative"
    return value, ""


def parse_intervals_csv(text: str | Iterable[str], interval_min: int) -> list[Interval]:
    """Read and check an ``interval_start,calls[,aht_s]`` CSV; raise :class:`StaffingCsvError`
    listing every bad cell (at most 200)."""
    lines = io.StringIO(text) if isinstance(text, str) else text
    reader = csv.reader(lines)
    header = [h.strip().lower() for h in next(reader, [])]
    problems: list[CsvRowProblem] = []
    for column in ("interval_start", "calls"):
        if column not in header:
            problems.append(CsvRowProblem(1, column, "missing_column"))
    unknown = [h for h in header if h not in COLUMNS]
    for column in unknown:
        problems.append(CsvRowProblem(1, column, "unknown_column"))
    if problems:
        raise StaffingCsvError(problems)
    col = {name: header.index(name) for name in COLUMNS if name in header}
    out: list[Interval] = []
    seen: dict[datetime, int] = {}
    for line, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(out) >= MAX_ROWS:
            problems.append(CsvRowProblem(line, "interval_start", "too_many_rows"))
            break
        if len(record) != len(header):
            problems.append(CsvRowProblem(line, "interval_start", "wrong_cell_count"))
            continue
        bad = len(problems)
        raw_start = record[col["interval_start"]].strip()
        start: datetime | None = None
        try:
            start = datetime.fromisoformat(raw_start)
        except ValueError:
            problems.append(CsvRowProblem(line, "interval_start", "bad_time", raw_start))
        if start is not None:
            if start.tzinfo is None:
                problems.append(CsvRowProblem(line, "interval_start", "no_offset", raw_start))
            elif start.minute % interval_min or start.second or start.microsecond:
                problems.append(CsvRowProblem(line, "interval_start", "off_grid", raw_start))
            elif start in seen:
                problems.append(CsvRowProblem(line, "interval_start", "duplicate", raw_start))
        raw_calls = record[col["calls"]].strip()
        calls, code = _number(raw_calls, positive=False)
        if code:
            problems.append(CsvRowProblem(line, "calls", code, raw_calls))
        aht: float | None = None
        if "aht_s" in col and record[col["aht_s"]].strip():
            raw_aht = record[col["aht_s"]].strip()
            aht, code = _number(raw_aht, positive=True)
            if code:
                problems.append(CsvRowProblem(line, "aht_s", code, raw_aht))
        if len(problems) >= 200:
            break
        if len(problems) == bad and start is not None and calls is not None:
            seen[start] = line
            out.append(Interval(start, calls, aht))
    if problems:
        raise StaffingCsvError(problems)
    if not out:
        raise StaffingCsvError([CsvRowProblem(2, "interval_start", "empty")])
    return sorted(out, key=lambda iv: iv.start)


HEADER = (
    "interval_start",
    "calls",
    "aht_s",
    "load_erlangs",
    "required_agents",
    "scheduled_staff",
    "service_level",
    "asa_s",
    "occupancy",
    "p_abandon",
)


def row_values(row: StaffingRow) -> list[object]:
    """The export columns of one row (HEADER order); empty metrics are None."""

    def rnd(value: float | None, digits: int) -> float | None:
        return None if value is None else round(value, digits)

    return [
        row.start.isoformat(),
        row.calls,
        row.aht_s,
        round(row.load, 4),
        row.agents,
        row.scheduled,
        rnd(row.service_level, 4),
        rnd(row.asa_s, 1),
        rnd(row.occupancy, 4),
        rnd(row.p_abandon, 4),
    ]


def write_csv(rows: Sequence[StaffingRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row_values(row)])
    return buffer.getvalue()
