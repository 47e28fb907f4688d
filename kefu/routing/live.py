"""Live service-level counters per queue and reporting interval (the wallboard's numbers).

Service level uses formula F3 of ../shared/standards.md §1.2: answered within the threshold
divided by (answered + abandoned) — callbacks are not abandons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["INTERVAL_S", "IntervalCounters", "LiveCounters"]

INTERVAL_S = 15 * 60


@dataclass
class IntervalCounters:
    answered: int = 0
    answered_in_sl: int = 0
    abandoned: int = 0
    wait_s_total: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        handled = self.answered + self.abandoned
        return {
            "answered": self.answered,
            "answered_in_sl": self.answered_in_sl,
            "abandoned": self.abandoned,
            "service_level": round(self.answered_in_sl / handled, 4) if handled else None,
            "asa_s": round(self.wait_s_total / self.answered, 1) if self.answered else None,
            "sl_formula": "F3",
        }


class LiveCounters:
    """Folds answered/abandoned events into (queue, interval start) counters."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, int], IntervalCounters] = {}

    @staticmethod
    def interval_start(moment: datetime) -> int:
        stamp = int(moment.timestamp())
        return stamp - stamp % INTERVAL_S

    def fold(self, kind: str, data: dict[str, Any], at: datetime) -> None:
        if kind not in ("contact_answered", "contact_abandoned"):
            return
        if len(self._by_key) > 500_000:  # keep about the last two days
            horizon = self.interval_start(at) - 2 * 86_400
            self._by_key = {k: v for k, v in self._by_key.items() if k[1] >= horizon}
        key = (str(data["queue_id"]), self.interval_start(at))
        counters = self._by_key.setdefault(key, IntervalCounters())
        if kind == "contact_answered":
            counters.answered += 1
            counters.answered_in_sl += bool(data.get("within_sl"))
            counters.wait_s_total += float(data.get("wait_s") or 0.0)
        else:
            counters.abandoned += 1

    def current(self, queue_id: str, now: datetime) -> dict[str, Any]:
        start = self.interval_start(now)
        counters = self._by_key.get((queue_id, start), IntervalCounters())
        return {
            "interval_start": datetime.fromtimestamp(start, now.tzinfo).isoformat(),
            **counters.as_dict(),
        }

    def today(self, queue_id: str, day_start: datetime, now: datetime) -> dict[str, Any]:
        first, last = self.interval_start(day_start), self.interval_start(now)
        total = IntervalCounters()
        for (qid, start), c in self._by_key.items():
            if qid == queue_id and first <= start <= last:
                total.answered += c.answered
                total.answered_in_sl += c.answered_in_sl
                total.abandoned += c.abandoned
                total.wait_s_total += c.wait_s_total
        return total.as_dict()

    def trend(self, queue_id: str, day_start: datetime, now: datetime) -> list[dict[str, Any]]:
        first, last = self.interval_start(day_start), self.interval_start(now)
        return [
            {"interval_start": datetime.fromtimestamp(start, now.tzinfo).isoformat(), **c.as_dict()}
            for (qid, start), c in sorted(self._by_key.items(), key=lambda kv: kv[0][1])
            if qid == queue_id and first <= start <= last
        ]
