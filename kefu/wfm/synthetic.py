"""Synthetic but realistic contact histories for the demo center and tests (no real data).

Volumes are Poisson around a rate built from: a weekday level (Monday busiest, Sunday quietest),
a double-peaked intraday curve inside opening hours, a slow trend, a pay-day bump early in the
month, Chinese public holidays (quiet) and 调休 make-up workdays (busy) from the business calendar.
AHT varies by time of day around a queue's mean.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from kefu.core.calendar import BusinessCalendar

__all__ = ["SyntheticQueue", "synthetic_rows"]

WEEKDAY_LEVEL = (1.15, 1.05, 1.0, 0.98, 0.95, 0.55, 0.45)


@dataclass(frozen=True)
class SyntheticQueue:
    code: str
    daily_calls: float  # a typical Wednesday
    aht_s: float
    open_hour: int = 8
    close_hour: int = 22


def _intraday(hour: float, open_hour: int, close_hour: int) -> float:
    if not open_hour <= hour < close_hour:
        return 0.0
    morning = math.exp(-(((hour - 10.5) / 1.4) ** 2))
    afternoon = 0.85 * math.exp(-(((hour - 15.0) / 1.8) ** 2))
    evening = 0.35 * math.exp(-(((hour - 20.0) / 1.5) ** 2))
    return 0.08 + morning + afternoon + evening


def synthetic_rows(
    queues: list[SyntheticQueue],
    first: date,
    days: int,
    interval_min: int = 30,
    timezone: str = "Asia/Shanghai",
    seed: int = 7,
) -> Iterator[tuple[datetime, str, int, float | None]]:
    """Yield ``(interval_start UTC, queue, offered, aht_s)`` for every interval with contacts."""
    rng = np.random.default_rng(seed)
    zone = ZoneInfo(timezone)
    calendar = BusinessCalendar(timezone=timezone)
    slots = 1440 // interval_min
    for q in queues:
        shape = np.array(
            [
                _intraday((s + 0.5) * interval_min / 60, q.open_hour, q.close_hour)
                for s in range(slots)
            ]
        )
        shape /= shape.sum()
        for k in range(days):
            day = first + timedelta(days=k)
            level = WEEKDAY_LEVEL[day.weekday()]
            if calendar.is_makeup_workday(day):
                level = 1.1
            elif calendar.holiday_name(day) is not None and not calendar.is_working_day(day):
                level = 0.35
            if day.day <= 3:
                level *= 1.12
            trend = 1.0 + 0.1 * k / max(days, 1)
            total = q.daily_calls * level * trend * math.exp(rng.normal(0.0, 0.05))
            counts = rng.poisson(total * shape)
            for s in np.flatnonzero(counts):
                local = datetime.combine(day, datetime.min.time(), tzinfo=zone) + timedelta(
                    minutes=int(s) * interval_min
                )
                hour = int(s) * interval_min / 60
                aht = q.aht_s * (1.1 if hour >= 19 else 1.0) * math.exp(rng.normal(0.0, 0.08))
                yield local.astimezone(UTC), q.code, int(counts[s]), round(aht, 1)
