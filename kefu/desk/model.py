"""Agent desktop and wallboard rules, pure: reason codes, moods, quick-reply variables, the
"3rd contact today, last at 10:32" line, wrap-up deadlines and wallboard alerts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = [
    "EMOTIONS",
    "REASON_CODES",
    "Alert",
    "VisitSummary",
    "alerts",
    "render_reply",
    "visit_summary",
    "wrap_up_deadline",
]

# Not-ready reason codes (shown translated as desk.reason.<code>): 小休, 培训, 会议, 就餐, 辅导.
REASON_CODES: tuple[str, ...] = ("break", "training", "meeting", "meal", "coaching")
# The customer's mood a transferring agent may pass on (desk.emotion.<code>).
EMOTIONS: tuple[str, ...] = ("calm", "anxious", "angry", "urgent", "satisfied")

_VARIABLE = re.compile(r"\{([a-z_]{1,30})\}")


def render_reply(template: str, values: Mapping[str, str]) -> str:
    """Fill ``{name}`` variables; an unknown or empty variable stays visible as typed."""

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return value if value else match.group(0)

    return _VARIABLE.sub(fill, template)


@dataclass(frozen=True)
class VisitSummary:
    """``ordinal``: this is the customer's n-th contact today; ``last``: the previous one."""

    ordinal: int
    last: datetime | None
    past_year: int
    complaints: int


def visit_summary(
    earlier: Iterable[tuple[datetime, bool]], now: datetime, day_start: datetime
) -> VisitSummary:
    """From the customer's earlier contacts (start, was a complaint): today's count and last
    time, contacts in the past 365 days and complaints among them (this contact included)."""
    year_ago = now - timedelta(days=365)
    today = [at for at, _ in earlier if day_start <= at <= now]
    recent = [(at, c) for at, c in earlier if year_ago <= at <= now]
    return VisitSummary(
        ordinal=len(today) + 1,
        last=max(today) if today else None,
        past_year=len(recent) + 1,
        complaints=sum(1 for _, c in recent if c),
    )


def wrap_up_deadline(since: datetime | None, wrap_up_s: float) -> datetime | None:
    """When automatic wrap-up ends (None: no timer)."""
    if since is None or wrap_up_s <= 0:
        return None
    return since + timedelta(seconds=wrap_up_s)


@dataclass(frozen=True)
class Alert:
    queue: str
    kind: str  # "sl_interval", "sl_today", "long_wait"
    value: float
    limit: float

    def as_dict(self) -> dict[str, Any]:
        return {"queue": self.queue, "kind": self.kind, "value": self.value, "limit": self.limit}


def alerts(
    queues: Mapping[str, Mapping[str, Any]],
    targets: Mapping[str, float],
    wait_limits: Mapping[str, float],
) -> list[Alert]:
    """Service level below target (current interval or today) and waits over their limit.

    ``queues``: live stats per queue code (``interval``/``today`` windows with
    ``service_level``, and ``longest_wait_s``); no service level yet (nothing answered or
    abandoned) raises no alert.
    """
    found: list[Alert] = []
    for code in sorted(queues):
        stats = queues[code]
        target = targets.get(code)
        if target is not None:
            for window in ("interval", "today"):
                level = (stats.get(window) or {}).get("service_level")
                if level is not None and level < target:
                    found.append(Alert(code, f"sl_{window}", float(level), float(target)))
        limit = wait_limits.get(code)
        longest = float(stats.get("longest_wait_s") or 0.0)
        if limit is not None and stats.get("waiting") and longest > limit:
            found.append(Alert(code, "long_wait", round(longest, 1), float(limit)))
    return found
