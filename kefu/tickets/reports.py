"""Work-order reports: on-time rate, reopen rate, backlog by age, weekly volume, hot topics.

Read-only. Outcome counters come from ``wo_daily_stats`` (kept by the services in each writing
transaction), so a report over months reads a few thousand small rows, not the orders. Backlog
is live: open orders counted by age (a covering index).

Formulas (printed with each report):
- 工单处理及时率 (on-time rate) = orders resolved within their time limit / orders that came due
  in the period, where an order cycle "comes due" once: when it is resolved in time, or when its
  resolution deadline passes first (counted on that day, resolved later or not). standards.md
  §1.13: "closed within the time limit / due in the period".
- Reopen rate = reopened cycles / resolved cycles in the period (回访不满意 or repeat complaint).
- Repeat complaints: same customer, same topic, within 30 days (standards.md §1.14, §6).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from kefu.tickets import backlog
from kefu.tickets.tables import DailyStat

__all__ = [
    "AGE_BUCKETS",
    "FORMULAS",
    "Period",
    "backlog_by_age",
    "export_rows",
    "hot_topics",
    "outcomes",
    "summary",
    "to_csv",
    "to_xlsx",
    "weekly_volume",
]

AGE_BUCKETS: tuple[tuple[str, int], ...] = (
    ("<1d", 1),
    ("1-3d", 3),
    ("3-7d", 7),
    ("7-15d", 15),
    ("15-30d", 30),
    (">30d", 0),
)
FORMULAS = {
    "on_time_rate": "on_time / (on_time + overdue)",
    "reopen_rate": "reopened / resolved",
    "backlog": "open orders by age since creation",
}
COUNTERS = ("created", "resolved", "on_time", "overdue", "reopened", "cancelled")


@dataclass(frozen=True)
class Period:
    start: date  # first local day, inclusive
    end: date  # last local day, inclusive

    @classmethod
    def last_days(cls, today: date, days: int) -> Period:
        return cls(today - timedelta(days=days - 1), today)


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _with_rates(counts: dict[str, int]) -> dict[str, Any]:
    return {
        **counts,
        "on_time_rate": _rate(counts["on_time"], counts["on_time"] + counts["overdue"]),
        "reopen_rate": _rate(counts["reopened"], counts["resolved"]),
    }


def _in_period(tenant_id: int, period: Period) -> Any:
    return (
        DailyStat.tenant_id == tenant_id,
        DailyStat.day >= period.start,
        DailyStat.day <= period.end,
    )


def outcomes(
    session: Session, tenant_id: int, period: Period, by: str = "total"
) -> list[dict[str, Any]]:
    """Counters and rates for the period: in total, per ``group`` or per ``agent``."""
    sums = [func.coalesce(func.sum(getattr(DailyStat, c)), 0).label(c) for c in COUNTERS]
    dims = {"total": [], "group": [DailyStat.group_id], "agent": [DailyStat.agent_id]}[by]
    query = select(*dims, *sums).where(*_in_period(tenant_id, period))
    if dims:
        query = query.group_by(*dims)
    out = []
    for row in session.execute(query).all():
        counts = {c: int(getattr(row, c)) for c in COUNTERS}
        item = _with_rates(counts)
        if by != "total":
            item["id"] = int(row[0])
        out.append(item)
    return out


def weekly_volume(session: Session, tenant_id: int, period: Period) -> list[dict[str, Any]]:
    """Created orders per ISO week (Monday), by category and by business type."""
    query = (
        select(
            DailyStat.day,
            DailyStat.category,
            DailyStat.business_type,
            func.sum(DailyStat.created).label("n"),
        )
        .where(*_in_period(tenant_id, period), DailyStat.created > 0)
        .group_by(DailyStat.day, DailyStat.category, DailyStat.business_type)
    )
    weeks: dict[date, dict[str, Any]] = {}
    for day, category, business_type, n in session.execute(query).all():
        monday = day - timedelta(days=day.weekday())
        week = weeks.setdefault(
            monday,
            {
                "week": monday.isoformat(),
                "total": 0,
                "by_category": defaultdict(int),
                "by_business_type": defaultdict(int),
            },
        )
        week["total"] += int(n)
        week["by_category"][category] += int(n)
        week["by_business_type"][business_type or "-"] += int(n)
    return [
        {
            **w,
            "by_category": dict(w["by_category"]),
            "by_business_type": dict(w["by_business_type"]),
        }
        for _k, w in sorted(weeks.items())
    ]


def hot_topics(
    session: Session,
    tenant_id: int,
    period: Period,
    *,
    category: str = "complaint",
    limit: int = 10,
) -> list[dict[str, Any]]:
    """The most frequent topics (templates) of complaints in the period (投诉热点)."""
    total = func.sum(DailyStat.created).label("n")
    query = (
        select(DailyStat.topic, DailyStat.business_type, total)
        .where(*_in_period(tenant_id, period), DailyStat.category == category)
        .group_by(DailyStat.topic, DailyStat.business_type)
        .having(func.sum(DailyStat.created) > 0)
        .order_by(total.desc(), DailyStat.topic)
        .limit(limit)
    )
    return [
        {"topic": topic, "business_type": business_type, "count": int(n)}
        for topic, business_type, n in session.execute(query).all()
    ]


def backlog_by_age(session: Session, tenant_id: int, now: datetime) -> list[dict[str, Any]]:
    """Open orders per group and age bucket (age since creation, to the hour; read from the
    ``wo_backlog_slots`` rollup: a few thousand rows, not every open order)."""
    slots = backlog.open_slots(tenant_id, now).subquery()
    whens = [
        (slots.c.slot > now - timedelta(days=days), label) for label, days in AGE_BUCKETS if days
    ]
    bucket = case(*whens, else_=AGE_BUCKETS[-1][0]).label("bucket")
    query = select(slots.c.group_id, bucket, func.sum(slots.c.open_count).label("n")).group_by(
        slots.c.group_id, bucket
    )
    groups: dict[int, dict[str, int]] = {}
    for group_id, label, n in session.execute(query).all():
        row = groups.setdefault(group_id or 0, {label: 0 for label, _d in AGE_BUCKETS})
        row[label] += int(n)
    return [
        {"group_id": gid, "buckets": buckets, "total": sum(buckets.values())}
        for gid, buckets in sorted(groups.items())
    ]


def summary(session: Session, tenant_id: int, period: Period, now: datetime) -> dict[str, Any]:
    totals = outcomes(session, tenant_id, period)
    return {
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "formulas": FORMULAS,
        "total": totals[0] if totals else _with_rates(dict.fromkeys(COUNTERS, 0)),
        "by_group": outcomes(session, tenant_id, period, "group"),
        "by_agent": outcomes(session, tenant_id, period, "agent"),
        "weekly": weekly_volume(session, tenant_id, period),
        "hot_topics": hot_topics(session, tenant_id, period),
        "backlog": backlog_by_age(session, tenant_id, now),
    }


def export_rows(
    data: dict[str, Any], group_names: dict[int, str], agent_names: dict[int, str]
) -> list[tuple[str, list[list[Any]]]]:
    """The summary as sheets of rows (header first), for CSV and XLSX."""
    head = [*COUNTERS, "on_time_rate", "reopen_rate"]

    def counters(item: dict[str, Any]) -> list[Any]:
        return [item.get(c) for c in head]

    sheets: list[tuple[str, list[list[Any]]]] = [
        (
            "total",
            [
                ["period_start", "period_end", *head],
                [data["period"]["start"], data["period"]["end"], *counters(data["total"])],
            ],
        ),
        (
            "by_group",
            [["group_id", "group", *head]]
            + [[g["id"], group_names.get(g["id"], ""), *counters(g)] for g in data["by_group"]],
        ),
        (
            "by_agent",
            [["agent_id", "agent", *head]]
            + [[a["id"], agent_names.get(a["id"], ""), *counters(a)] for a in data["by_agent"]],
        ),
        (
            "weekly",
            [["week", "total", "by_category", "by_business_type"]]
            + [
                [
                    w["week"],
                    w["total"],
                    "; ".join(f"{k}={v}" for k, v in sorted(w["by_category"].items())),
                    "; ".join(f"{k}={v}" for k, v in sorted(w["by_business_type"].items())),
                ]
                for w in data["weekly"]
            ],
        ),
        (
            "hot_topics",
            [["topic", "business_type", "count"]]
            + [[t["topic"], t["business_type"], t["count"]] for t in data["hot_topics"]],
        ),
        (
            "backlog",
            [["group_id", "group", *(label for label, _d in AGE_BUCKETS), "total"]]
            + [
                [
                    b["group_id"],
                    group_names.get(b["group_id"], ""),
                    *(b["buckets"][label] for label, _d in AGE_BUCKETS),
                    b["total"],
                ]
                for b in data["backlog"]
            ],
        ),
        ("formulas", [["name", "formula"]] + [[k, v] for k, v in FORMULAS.items()]),
    ]
    return sheets


def to_csv(sheets: list[tuple[str, list[list[Any]]]]) -> str:
    """All sheets in one CSV, each introduced by a ``# name`` line (UTF-8 with BOM for Excel)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for index, (name, rows) in enumerate(sheets):
        if index:
            writer.writerow([])
        writer.writerow([f"# {name}"])
        writer.writerows(rows)
    return "\ufeff" + buffer.getvalue()


def to_xlsx(sheets: list[tuple[str, list[list[Any]]]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets:
        sheet = book.create_sheet(title=name[:31])
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
