"""Interval histories: reading ``interval_start,queue,offered[,aht_s]`` CSVs, checking them row by
row, and turning them into per-queue :class:`DayHistory` matrices and forecasts (stdlib + numpy).

Rules for the CSV:

- ``interval_start`` is ISO-8601 **with an offset** (``2026-03-02T09:00:00+08:00`` or ``...Z``);
  it must lie on the 15-minute grid after local midnight. Finer histories (e.g. 15-minute rows
  for a 30-minute forecast) are summed into the interval; coarser ones are refused.
- ``queue`` is a non-empty queue code; when the caller knows the queues, unknown codes are errors.
- ``offered`` is a non-negative count; ``aht_s`` (optional) a non-negative number of seconds,
  empty when nothing was handled.
- One row per (interval, queue): duplicates are errors. Intervals without a row mean nothing was
  offered (closed or zero); long stretches without any row are reported as warnings.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from kefu.wfm.forecast import (
    DayHistory,
    FloatArray,
    SpecialDay,
    forecast_aht,
    forecast_volume,
    reforecast_intraday,
)

__all__ = [
    "ALLOWED_INTERVALS",
    "CsvProblem",
    "ForecastRow",
    "HistoryCsvError",
    "IntervalHistory",
    "forecast_rows",
    "parse_history_csv",
    "write_forecast_csv",
]

ALLOWED_INTERVALS = (15, 30, 60)
REQUIRED = ("interval_start", "queue", "offered")
OPTIONAL = ("aht_s",)
GAP_WARNING = timedelta(days=3)
GRID_MIN = 15

# Problem kinds: English text here (CLI); the API translates ``error.wfm.csv.<key>``.
MESSAGES = {
    "bad_interval": "must be one of {allowed}, not {value}",
    "empty_file": "the file is empty",
    "missing_columns": "missing column(s): {columns}",
    "unknown_columns": "unknown column(s): {columns} "
    "(expected interval_start,queue,offered[,aht_s])",
    "too_many": "too many problems; stopped reading",
    "field_count": "{count} fields, expected {expected}",
    "not_iso": "not an ISO-8601 timestamp: {value!r}",
    "no_offset": "{value!r} has no time-zone offset (write e.g. 2026-03-02T09:00:00+08:00)",
    "off_grid": "{value} is not on the {grid}-minute grid",
    "empty_queue": "empty queue",
    "unknown_queue": "unknown queue {value!r}",
    "not_number": "not a number: {value!r}",
    "not_finite": "not a finite number: {value!r}",
    "negative": "negative value {value}: must be 0 or more",
    "duplicate": "duplicate of line {other} ({value}, queue {queue})",
    "coarse": "the history has {grain}-minute rows: forecast {grain}-minute intervals or longer, "
    "or give a finer history",
    "no_rows": "no data rows",
    "gap": "queue {queue}: no rows between {first} and {last}; counted as nothing offered",
}


def _problem(line: int, column: str, key: str, **params: object) -> CsvProblem:
    return CsvProblem(line, column, MESSAGES[key].format(**params), key, params)


@dataclass(frozen=True)
class CsvProblem:
    """One problem in an input file: 1-based line number (header = 1), column and message."""

    line: int
    column: str
    message: str
    key: str = ""
    params: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.message}"


class HistoryCsvError(ValueError):
    """The CSV has errors; ``problems`` lists each one with its line."""

    def __init__(self, problems: Sequence[CsvProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = list(problems)


@dataclass
class IntervalHistory:
    """Checked rows: per queue, offered and handled seconds by interval start (UTC)."""

    interval_min: int
    offered: dict[str, dict[datetime, float]] = field(default_factory=dict)
    handled_s: dict[str, dict[datetime, float]] = field(default_factory=dict)
    warnings: list[CsvProblem] = field(default_factory=list)

    @property
    def queues(self) -> list[str]:
        return sorted(self.offered)

    @property
    def last_start(self) -> datetime | None:
        starts = [t for rows in self.offered.values() for t in rows]
        return max(starts) if starts else None

    @property
    def has_aht(self) -> bool:
        return any(self.handled_s.values())

    def add(self, queue: str, start: datetime, offered: float, aht_s: float | None) -> None:
        self.offered.setdefault(queue, {})
        self.handled_s.setdefault(queue, {})
        self.offered[queue][start] = self.offered[queue].get(start, 0.0) + offered
        if aht_s is not None and offered > 0:
            self.handled_s[queue][start] = self.handled_s[queue].get(start, 0.0) + aht_s * offered

    def day_history(self, queue: str, zone: ZoneInfo, before: date) -> DayHistory | None:
        """Local-day matrix of a queue's rows on days before ``before`` (None if none)."""
        slots = 1440 // self.interval_min
        rows = self.offered.get(queue, {})
        local = [(t.astimezone(zone), v) for t, v in rows.items()]
        days = [lt.date() for lt, _ in local if lt.date() < before]
        if not days:
            return None
        first = min(days)
        n = (before - first).days
        volumes = np.zeros((n, slots))
        work = np.zeros((n, slots))
        handled = self.handled_s.get(queue, {})
        for (lt, value), moment in zip(local, rows, strict=True):
            if lt.date() >= before:
                continue
            i, s = (lt.date() - first).days, (lt.hour * 60 + lt.minute) // self.interval_min
            volumes[i, s] += value
            work[i, s] += handled.get(moment, 0.0)
        aht = None
        if self.has_aht:
            with np.errstate(invalid="ignore", divide="ignore"):
                aht = np.where((volumes > 0) & (work > 0), work / volumes, math.nan)
        return DayHistory(first, volumes, aht)


def _number(raw: str, column: str, line: int, problems: list[CsvProblem]) -> float | None:
    text = raw.strip()
    try:
        value = float(text)
    except ValueError:
        problems.append(_problem(line, column, "not_number", value=raw))
        return None
    if not math.isfinite(value):
        problems.append(_problem(line, column, "not_finite", value=raw))
        return None
    if value < 0:
        problems.append(_problem(line, column, "negative", value=text))
        return None
    return value


def parse_history_csv(
    text: str | Iterable[str],
    interval_min: int,
    zone: ZoneInfo,
    known_queues: Iterable[str] | None = None,
    max_problems: int = 200,
) -> IntervalHistory:
    """Read and check a history CSV; raise :class:`HistoryCsvError` listing every bad row."""
    if interval_min not in ALLOWED_INTERVALS:
        raise HistoryCsvError(
            [
                _problem(
                    0, "interval_min", "bad_interval", allowed=ALLOWED_INTERVALS, value=interval_min
                )
            ]
        )
    lines = io.StringIO(text) if isinstance(text, str) else text
    reader = csv.reader(lines)
    problems: list[CsvProblem] = []
    header = next(reader, None)
    if header is None:
        raise HistoryCsvError([_problem(1, "header", "empty_file")])
    columns = [c.strip().lstrip("\ufeff") for c in header]
    missing = [c for c in REQUIRED if c not in columns]
    unknown = [c for c in columns if c not in REQUIRED + OPTIONAL]
    if missing or unknown:
        if missing:
            problems.append(_problem(1, "header", "missing_columns", columns=", ".join(missing)))
        if unknown:
            problems.append(_problem(1, "header", "unknown_columns", columns=", ".join(unknown)))
        raise HistoryCsvError(problems)
    pos = {c: columns.index(c) for c in columns}
    known = set(known_queues) if known_queues is not None else None
    history = IntervalHistory(interval_min)
    seen: dict[tuple[str, datetime], int] = {}
    grain = 1440
    first_line: dict[tuple[str, datetime], int] = {}
    for line, row in enumerate(reader, start=2):
        if len(problems) >= max_problems:
            problems.append(_problem(line, "-", "too_many"))
            break
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            problems.append(
                _problem(line, "row", "field_count", count=len(row), expected=len(columns))
            )
            continue
        raw_start = row[pos["interval_start"]].strip()
        queue = row[pos["queue"]].strip()
        start: datetime | None = None
        try:
            parsed = datetime.fromisoformat(raw_start.replace("Z", "+00:00"))
        except ValueError:
            problems.append(_problem(line, "interval_start", "not_iso", value=raw_start))
        else:
            if parsed.tzinfo is None or parsed.utcoffset() is None:
                problems.append(_problem(line, "interval_start", "no_offset", value=raw_start))
            else:
                local = parsed.astimezone(zone)
                minute = local.hour * 60 + local.minute
                if local.second or local.microsecond or minute % GRID_MIN:
                    problems.append(
                        _problem(line, "interval_start", "off_grid", value=raw_start, grid=GRID_MIN)
                    )
                else:
                    grain = math.gcd(grain, minute)
                    floored = local - timedelta(minutes=minute % interval_min)
                    start = floored.astimezone(UTC)
        if not queue:
            problems.append(_problem(line, "queue", "empty_queue"))
        elif known is not None and queue not in known:
            problems.append(_problem(line, "queue", "unknown_queue", value=queue))
        offered = _number(row[pos["offered"]], "offered", line, problems)
        aht: float | None = None
        if "aht_s" in pos and row[pos["aht_s"]].strip():
            aht = _number(row[pos["aht_s"]], "aht_s", line, problems)
        if start is None or offered is None or not queue:
            continue
        key = (queue, parsed.astimezone(UTC))
        if key in seen:
            problems.append(
                _problem(
                    line,
                    "interval_start",
                    "duplicate",
                    other=seen[key],
                    value=raw_start,
                    queue=queue,
                )
            )
            continue
        seen[key] = line
        first_line.setdefault((queue, start), line)
        history.add(queue, start, offered, aht)
    if not problems and grain > interval_min and len(seen) >= 48:
        problems.append(_problem(1, "interval_start", "coarse", grain=grain))
    if problems:
        raise HistoryCsvError(problems)
    if not history.offered:
        raise HistoryCsvError([_problem(1, "rows", "no_rows")])
    for queue in history.queues:
        starts = sorted(history.offered[queue])
        for before, after in itertools.pairwise(starts):
            if after - before >= GAP_WARNING:
                history.warnings.append(
                    _problem(
                        first_line[(queue, after)],
                        "interval_start",
                        "gap",
                        queue=queue,
                        first=before.isoformat(),
                        last=after.isoformat(),
                    )
                )
    return history


@dataclass(frozen=True)
class ForecastRow:
    interval_start: datetime  # aware, in the forecast's zone
    queue: str
    forecast: float
    aht_s: float | None


def forecast_rows(
    history: IntervalHistory,
    horizon_days: int,
    zone: ZoneInfo,
    start: datetime | None = None,
    special: Mapping[date, SpecialDay] | None = None,
    on_queue: Callable[[str], None] | None = None,
) -> list[ForecastRow]:
    """Forecast every interval of ``horizon_days`` days from ``start`` for each queue.

    ``start`` defaults to the interval after the last history row. Rows on or after ``start``
    are not used. If ``start`` falls inside a day, that day's earlier intervals re-forecast the
    rest of it (intraday update).
    """
    if horizon_days < 1:
        raise ValueError("horizon_days must be at least 1")
    step = timedelta(minutes=history.interval_min)
    last = history.last_start
    if start is None:
        if last is None:
            raise ValueError("empty history")
        start = last + step
    if start.tzinfo is None:
        raise ValueError("start needs a time-zone offset")
    local_start = start.astimezone(zone)
    minute = local_start.hour * 60 + local_start.minute
    if minute % history.interval_min or local_start.second or local_start.microsecond:
        raise ValueError(
            f"start {start.isoformat()} is not on the {history.interval_min}-minute grid"
        )
    count = horizon_days * 1440 // history.interval_min
    stop = start + count * step
    first_day = local_start.date()
    last_day = (stop - step).astimezone(zone).date()
    days = [first_day + timedelta(days=k) for k in range((last_day - first_day).days + 1)]
    slots = 1440 // history.interval_min
    out: list[ForecastRow] = []
    for queue in history.queues:
        past = history.day_history(queue, zone, first_day)
        volumes: FloatArray
        aht: FloatArray
        if past is None:
            volumes = np.zeros((len(days), slots))
            aht = np.full((len(days), slots), math.nan)
        else:
            volumes = forecast_volume(past, days, special)
            aht = forecast_aht(past, days)
        observed = minute // history.interval_min
        if observed:
            today = np.zeros(slots)
            for moment, value in history.offered[queue].items():
                local = moment.astimezone(zone)
                if local.date() == first_day and moment < start:
                    today[(local.hour * 60 + local.minute) // history.interval_min] += value
            volumes[0] = reforecast_intraday(volumes[0], today, observed)
        for row, day in enumerate(days):
            for s in range(slots):
                moment = datetime.combine(day, datetime.min.time(), tzinfo=zone) + s * step
                if moment < local_start or moment >= stop.astimezone(zone):
                    continue
                a = float(aht[row, s])
                out.append(
                    ForecastRow(
                        moment,
                        queue,
                        round(float(volumes[row, s]), 3),
                        round(a, 1) if history.has_aht and math.isfinite(a) else None,
                    )
                )
        if on_queue is not None:
            on_queue(queue)
    out.sort(key=lambda r: (r.interval_start, r.queue))
    return out


def write_forecast_csv(rows: Sequence[ForecastRow], with_aht: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["interval_start", "queue", "forecast", *(["aht_s"] if with_aht else [])])
    for r in rows:
        cells: list[object] = [r.interval_start.isoformat(), r.queue, f"{r.forecast:.3f}"]
        if with_aht:
            cells.append("" if r.aht_s is None else f"{r.aht_s:.1f}")
        writer.writerow(cells)
    return buffer.getvalue()
