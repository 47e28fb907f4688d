"""WFM services: history import, forecasts, schedules, rosters, requests and adherence.

Each function takes a :class:`~kefu.tenancy.Scoped` (the caller's tenant and clock), writes in
the caller's transaction and records events with ``scope.emit``. Data of other features (users,
skills, teams) comes in as arguments from the HTTP edge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import delete, select

from kefu.core.errors import ConflictError, DomainError, FieldError, NotFoundError, ValidationFailed
from kefu.db.eventlog import EventRecord
from kefu.tenancy import Scoped, tenant_calendar
from kefu.wfm.adherence import Activity, AdherenceRow, adherence, exceptions, spans_from_changes
from kefu.wfm.forecast import calendar_special_days, reforecast_intraday
from kefu.wfm.history import (
    HistoryCsvError,
    IntervalHistory,
    forecast_rows,
    parse_history_csv,
)
from kefu.wfm.roster import AgentProfile, Line, LineShift, assign_roster, check_swap
from kefu.wfm.schedule import (
    BreakRule,
    DaysOff,
    ScheduleInfeasibleError,
    ShiftTemplate,
    required_staff,
    solve_schedule,
)
from kefu.wfm.tables import (
    WfmAgentSettings,
    WfmForecast,
    WfmHistory,
    WfmRequest,
    WfmSchedule,
    WfmShift,
)

__all__ = [
    "adherence_report",
    "build_roster",
    "create_forecast",
    "create_request",
    "create_schedule",
    "decide_request",
    "default_templates",
    "evaluate_schedule",
    "forecast_view",
    "history_summary",
    "import_history",
    "intraday_view",
    "my_shifts",
    "record_history_from_events",
    "roster_grid",
    "settings_of",
    "store_history",
    "swap_options",
    "update_settings",
    "with_settings",
]


def _zone(scope: Scoped) -> ZoneInfo:
    return ZoneInfo(tenant_calendar(scope.session, scope.tenant_id).timezone)


# --------------------------------------------------------------------------------------------
# History


def store_history(
    scope: Scoped, rows: Sequence[tuple[datetime, str, float, float | None]], interval_min: int
) -> int:
    """Upsert ``(interval_start UTC, queue, offered, aht_s)`` rows; returns how many."""
    by_queue: dict[str, list[tuple[datetime, float, float | None]]] = {}
    for start, queue, offered, aht in rows:
        by_queue.setdefault(queue, []).append((start, offered, aht))
    for queue, items in by_queue.items():
        starts = [s for s, _, _ in items]
        scope.session.execute(
            delete(WfmHistory).where(
                WfmHistory.tenant_id == scope.tenant_id,
                WfmHistory.queue == queue,
                WfmHistory.interval_start >= min(starts),
                WfmHistory.interval_start <= max(starts),
            )
        )
        scope.session.add_all(
            WfmHistory(
                tenant_id=scope.tenant_id,
                queue=queue,
                interval_start=s,
                interval_min=interval_min,
                offered=float(o),
                aht_s=a,
            )
            for s, o, a in items
        )
    scope.session.flush()
    return len(rows)


def import_history(
    scope: Scoped, text: str, interval_min: int, known_queues: Sequence[str] | None
) -> dict[str, Any]:
    """Check a ``interval_start,queue,offered[,aht_s]`` CSV row by row and store it."""
    try:
        parsed = parse_history_csv(text, interval_min, _zone(scope), known_queues)
    except HistoryCsvError as exc:
        raise ValidationFailed(
            "wfm_bad_csv",
            errors=[
                FieldError(f"line {p.line}", f"error.wfm.csv.{p.key}", column=p.column, **p.params)
                for p in exc.problems
            ],
            count=len(exc.problems),
        ) from exc
    rows: list[tuple[datetime, str, float, float | None]] = []
    for queue in parsed.queues:
        handled = parsed.handled_s.get(queue, {})
        for start, offered in parsed.offered[queue].items():
            work = handled.get(start)
            rows.append((start, queue, offered, work / offered if work and offered else None))
    count = store_history(scope, rows, interval_min)
    scope.emit("wfm_history_imported", "wfm", {"rows": count, "queues": parsed.queues})
    return {
        "rows": count,
        "queues": parsed.queues,
        "warnings": [str(w) for w in parsed.warnings],
    }


def history_summary(scope: Scoped) -> list[dict[str, Any]]:
    rows = scope.session.execute(
        select(WfmHistory.queue, WfmHistory.interval_start, WfmHistory.interval_min).where(
            WfmHistory.tenant_id == scope.tenant_id
        )
    ).all()
    out: dict[str, dict[str, Any]] = {}
    for queue, start, interval in rows:
        item = out.setdefault(
            queue,
            {"queue": queue, "first": start, "last": start, "rows": 0, "interval_min": interval},
        )
        item["first"] = min(item["first"], start)
        item["last"] = max(item["last"], start)
        item["rows"] += 1
        item["interval_min"] = min(item["interval_min"], interval)
    return sorted(out.values(), key=lambda r: str(r["queue"]))


def _load_history(
    scope: Scoped, interval_min: int, queues: Sequence[str] | None
) -> IntervalHistory:
    query = select(WfmHistory).where(WfmHistory.tenant_id == scope.tenant_id)
    if queues:
        query = query.where(WfmHistory.queue.in_(list(queues)))
    history = IntervalHistory(interval_min)
    zone = _zone(scope)
    for row in scope.session.scalars(query):
        if row.interval_min > interval_min:
            raise ValidationFailed(
                "wfm_history_too_coarse", stored=row.interval_min, requested=interval_min
            )
        local = row.interval_start.astimezone(zone)
        floored = local - timedelta(minutes=(local.hour * 60 + local.minute) % interval_min)
        history.add(row.queue, floored.astimezone(UTC), row.offered, row.aht_s)
    return history


# --------------------------------------------------------------------------------------------
# Forecasts


def create_forecast(
    scope: Scoped,
    horizon_days: int,
    interval_min: int,
    start: datetime | None = None,
    queues: Sequence[str] | None = None,
    name: str = "",
) -> WfmForecast:
    """Forecast every stored queue (or ``queues``) for ``horizon_days`` from ``start``."""
    history = _load_history(scope, interval_min, queues)
    if not history.offered:
        raise ValidationFailed("wfm_no_history")
    calendar = tenant_calendar(scope.session, scope.tenant_id)
    zone = ZoneInfo(calendar.timezone)
    last = history.last_start
    assert last is not None
    first = min(t for rows in history.offered.values() for t in rows)
    begin = start or (last + timedelta(minutes=interval_min))
    special = calendar_special_days(
        calendar,
        first.astimezone(zone).date(),
        begin.astimezone(zone).date() + timedelta(days=horizon_days + 1),
    )
    try:
        rows = forecast_rows(history, horizon_days, zone, begin, special)
    except ValueError as exc:
        raise ValidationFailed("wfm_bad_forecast_request", reason=str(exc)) from exc
    data: dict[str, Any] = {"queues": {}}
    for queue in history.queues:
        mine = [r for r in rows if r.queue == queue]
        data["queues"][queue] = {
            "forecast": [r.forecast for r in mine],
            "aht_s": [r.aht_s for r in mine],
        }
    forecast = scope.add(
        WfmForecast(
            name=name or f"{begin.astimezone(zone):%Y-%m-%d} +{horizon_days}d",
            start=begin.astimezone(UTC),
            interval_min=interval_min,
            horizon_days=horizon_days,
            timezone=calendar.timezone,
            source="history",
            data=data,
            created_by=scope.principal.user_id,
            created_at=scope.clock.now(),
        )
    )
    scope.emit(
        "wfm_forecast_created",
        "wfm",
        {"forecast_id": forecast.id, "queues": history.queues, "horizon_days": horizon_days},
    )
    return forecast


def forecast_view(scope: Scoped, forecast_id: int, actual_days: int = 7) -> dict[str, Any]:
    """A forecast with the actuals of the days before it and of its own span (for charts)."""
    forecast = scope.get(WfmForecast, forecast_id, entity="wfm_forecast")
    step = timedelta(minutes=forecast.interval_min)
    count = forecast.horizon_days * 1440 // forecast.interval_min
    begin = forecast.start - timedelta(days=actual_days)
    end = forecast.start + count * step
    zone = ZoneInfo(forecast.timezone)
    labels = [
        (begin + i * step).astimezone(zone).isoformat() for i in range(int((end - begin) / step))
    ]
    index = {begin + i * step: i for i in range(len(labels))}
    offset = int((forecast.start - begin) / step)
    queues: dict[str, Any] = {}
    for queue, series in forecast.data.get("queues", {}).items():
        actual: list[float | None] = [None] * len(labels)
        rows = scope.session.scalars(
            select(WfmHistory).where(
                WfmHistory.tenant_id == scope.tenant_id,
                WfmHistory.queue == queue,
                WfmHistory.interval_start >= begin,
                WfmHistory.interval_start < end,
            )
        )
        for row in rows:
            local = row.interval_start.astimezone(zone)
            floored = local - timedelta(
                minutes=(local.hour * 60 + local.minute) % forecast.interval_min
            )
            i = index.get(floored.astimezone(UTC))
            if i is not None:
                actual[i] = (actual[i] or 0.0) + row.offered
        # A closed interval in the past is a true zero once any later row exists.
        last_seen = max((i for i, v in enumerate(actual) if v is not None), default=-1)
        actual = [0.0 if v is None and i <= last_seen else v for i, v in enumerate(actual)]
        predicted: list[float | None] = [None] * offset + list(series["forecast"])
        both = [
            (p, a)
            for p, a in zip(predicted, actual, strict=True)
            if p is not None and a is not None
        ]
        total = sum(a for _, a in both)
        queues[queue] = {
            "actual": actual,
            "forecast": predicted,
            "aht_s": [None] * offset + list(series["aht_s"]),
            "wape": (sum(abs(p - a) for p, a in both) / total) if total > 0 else None,
            "total_forecast": round(sum(series["forecast"]), 1),
        }
    return {
        "id": forecast.id,
        "name": forecast.name,
        "start": forecast.start.isoformat(),
        "interval_min": forecast.interval_min,
        "horizon_days": forecast.horizon_days,
        "timezone": forecast.timezone,
        "labels": labels,
        "queues": queues,
    }


# --------------------------------------------------------------------------------------------
# Schedules


def default_templates(interval_min: int) -> list[ShiftTemplate]:
    """Day shifts (9 h with a 1 h unpaid lunch and a paid 15-30 min break), a late shift, a
    night shift (22:00-07:00 with a 1 h unpaid break, carrying over midnight) and a 4 h
    part-time shift; every full-time line is 40 paid hours a week."""
    small = max(interval_min, 15)
    brk = small if small <= 30 else 60
    return [
        ShiftTemplate(
            "day",
            540,
            6 * 60,
            12 * 60,
            interval_min,
            (BreakRule(brk, 60, 120), BreakRule(60, 180 + 60, 300, paid=False)),
        ),
        ShiftTemplate(
            "late",
            540,
            13 * 60,
            15 * 60,
            interval_min,
            (BreakRule(brk, 60, 120), BreakRule(60, 240, 360, paid=False)),
        ),
        ShiftTemplate(
            "night", 540, 22 * 60, 22 * 60, interval_min, (BreakRule(60, 180, 300, paid=False),)
        ),
        ShiftTemplate("part", 240, 8 * 60, 18 * 60, interval_min),
    ]


def _week_forecast(forecast: WfmForecast, queue: str, week_start: date) -> tuple[Any, Any]:
    series = forecast.data.get("queues", {}).get(queue)
    if series is None:
        raise ValidationFailed(
            errors=[FieldError("queue", "error.field.unknown_reference", value=queue)]
        )
    zone = ZoneInfo(forecast.timezone)
    step = timedelta(minutes=forecast.interval_min)
    slots = 1440 // forecast.interval_min
    first = datetime.combine(week_start, time(0), tzinfo=zone).astimezone(UTC)
    offset = int((first - forecast.start) / step)
    count = len(series["forecast"])
    if offset < 0 or offset + 7 * slots > count:
        raise ValidationFailed("wfm_week_not_forecast", week=str(week_start))
    volumes = np.array(series["forecast"][offset : offset + 7 * slots], dtype=float).reshape(
        7, slots
    )
    aht_raw = [
        math.nan if v is None else float(v) for v in series["aht_s"][offset : offset + 7 * slots]
    ]
    return volumes, np.array(aht_raw).reshape(7, slots)


def create_schedule(
    scope: Scoped,
    forecast_id: int,
    queue: str,
    week_start: date,
    *,
    skill: str | None = None,
    target: float = 0.8,
    threshold_s: float = 20.0,
    shrinkage: float = 0.1,
    default_aht_s: float = 300.0,
    patience_s: float | None = None,
    max_abandon: float | None = None,
    work_days: int = 5,
    max_agents: int | None = None,
    templates: Sequence[ShiftTemplate] | None = None,
    time_limit_s: float = 20.0,
    name: str = "",
) -> WfmSchedule:
    """Requirement from the forecast (Erlang C/A + shrinkage), then the weekly tour optimum."""
    if week_start.weekday() != 0:
        raise ValidationFailed(
            errors=[FieldError("week_start", "error.wfm.not_monday", value=str(week_start))]
        )
    forecast = scope.get(WfmForecast, forecast_id, entity="wfm_forecast")
    volumes, aht = _week_forecast(forecast, queue, week_start)
    aht = np.where(np.isfinite(aht) & (aht > 0), aht, default_aht_s)
    interval = forecast.interval_min
    try:
        required = required_staff(
            volumes, aht, interval, target, threshold_s, shrinkage, patience_s, max_abandon
        )
    except ValueError as exc:
        raise ValidationFailed("wfm_bad_staffing_input", reason=str(exc)) from exc
    chosen = list(templates) if templates else default_templates(interval)
    try:
        result = solve_schedule(
            required, chosen, DaysOff(work_days), interval, max_agents, time_limit_s
        )
    except ScheduleInfeasibleError as exc:
        raise DomainError(
            "wfm_schedule_infeasible", status=422, reasons="; ".join(exc.reasons), short=exc.short
        ) from exc
    zone = ZoneInfo(forecast.timezone)
    schedule = scope.add(
        WfmSchedule(
            name=name or f"{queue} {week_start:%Y-%m-%d}",
            forecast_id=forecast.id,
            queue=queue,
            skill=skill,
            week_start=week_start,
            interval_min=interval,
            timezone=forecast.timezone,
            params={
                "target": target,
                "threshold_s": threshold_s,
                "shrinkage": shrinkage,
                "patience_s": patience_s,
                "max_abandon": max_abandon,
                "work_days": work_days,
                "max_agents": max_agents,
                "templates": [t.name for t in chosen],
            },
            result={
                "status": result.status,
                "agents": result.agents,
                "paid_hours": round(result.paid_hours, 2),
                "lp_bound": round(result.lp_bound, 3),
                "gap": round(result.gap, 5),
                "seconds": round(result.seconds, 2),
                "required": result.required.tolist(),
                "scheduled": result.scheduled.tolist(),
                "forecast": np.round(volumes, 2).tolist(),
                "aht": np.round(aht, 1).tolist(),
                "tours": [
                    {
                        "pattern": list(t.pattern),
                        "template": t.template,
                        "start_min": t.start_min,
                        "count": t.count,
                    }
                    for t in result.tours
                ],
            },
            created_by=scope.principal.user_id,
            created_at=scope.clock.now(),
        )
    )
    paid = {t.name: t.paid_min() for t in chosen}
    for s in result.shifts:
        day = week_start + timedelta(days=s.day)
        midnight = datetime.combine(day, time(0), tzinfo=zone)
        scope.session.add(
            WfmShift(
                tenant_id=scope.tenant_id,
                schedule_id=schedule.id,
                line=s.tour,
                day=day,
                start_at=(midnight + timedelta(minutes=s.start_min)).astimezone(UTC),
                end_at=(midnight + timedelta(minutes=s.end_min)).astimezone(UTC),
                paid_min=paid[s.template],
                night=s.night,
                template=s.template,
                breaks=[
                    {
                        "start": (midnight + timedelta(minutes=b)).astimezone(UTC).isoformat(),
                        "minutes": length,
                        "paid": paid_break,
                        "kind": "break" if paid_break else "lunch",
                    }
                    for b, length, paid_break in s.breaks
                ],
            )
        )
    scope.session.flush()
    scope.emit(
        "wfm_schedule_created",
        "wfm",
        {"schedule_id": schedule.id, "queue": queue, "agents": result.agents},
    )
    return schedule


# --------------------------------------------------------------------------------------------
# Roster


def _line_shift(shift: WfmShift, week_start: date, zone: ZoneInfo) -> LineShift:
    monday = datetime.combine(week_start, time(0), tzinfo=zone)
    start = int((shift.start_at - monday).total_seconds() // 60)
    end = int((shift.end_at - monday).total_seconds() // 60)
    day = (shift.day - week_start).days
    breaks = tuple(
        (
            int((datetime.fromisoformat(b["start"]) - monday).total_seconds() // 60) - day * 1440,
            int(b["minutes"]),
            bool(b["paid"]),
        )
        for b in shift.breaks
    )
    return LineShift(day, start - day * 1440, end - day * 1440, shift.paid_min, shift.night, breaks)


def _lines(scope: Scoped, schedule: WfmSchedule) -> dict[int, tuple[Line, list[WfmShift]]]:
    zone = ZoneInfo(schedule.timezone)
    shifts = list(
        scope.session.scalars(
            select(WfmShift)
            .where(WfmShift.tenant_id == scope.tenant_id, WfmShift.schedule_id == schedule.id)
            .order_by(WfmShift.line, WfmShift.day)
        )
    )
    grouped: dict[int, list[WfmShift]] = {}
    for s in shifts:
        grouped.setdefault(s.line, []).append(s)
    return {
        line: (
            Line(
                str(line),
                tuple(_line_shift(s, schedule.week_start, zone) for s in rows),
                schedule.skill,
            ),
            rows,
        )
        for line, rows in grouped.items()
    }


def _history_profile(
    scope: Scoped, profile: AgentProfile, week_start: date, zone: ZoneInfo
) -> AgentProfile:
    """Fill in last week's end (rest, consecutive days) and the night/weekend counts of the
    last 8 weeks from earlier rosters."""
    user_id = int(profile.id)
    monday = datetime.combine(week_start, time(0), tzinfo=zone)
    past = list(
        scope.session.scalars(
            select(WfmShift).where(
                WfmShift.tenant_id == scope.tenant_id,
                WfmShift.user_id == user_id,
                WfmShift.day < week_start,
                WfmShift.day >= week_start - timedelta(weeks=8),
            )
        )
    )
    if not past:
        return profile
    last_end = max(s.end_at for s in past)
    worked = {s.day for s in past}
    run = 0
    day = week_start - timedelta(days=1)
    while day in worked:
        run += 1
        day -= timedelta(days=1)
    return replace(
        profile,
        last_shift_end_min=int((last_end - monday).total_seconds() // 60),
        days_worked_before=run,
        past_nights=sum(1 for s in past if s.night),
        past_weekends=sum(1 for s in past if s.day.weekday() >= 5),
    )


def build_roster(scope: Scoped, schedule_id: int, agents: Sequence[AgentProfile]) -> dict[str, Any]:
    """Assign ``agents`` (ids are user ids as text) to the schedule's lines; replaces any
    earlier assignment of this schedule."""
    schedule = scope.get(WfmSchedule, schedule_id, entity="wfm_schedule")
    zone = ZoneInfo(schedule.timezone)
    lines = _lines(scope, schedule)
    busy = set(
        scope.session.scalars(
            select(WfmShift.user_id).where(
                WfmShift.tenant_id == scope.tenant_id,
                WfmShift.schedule_id != schedule.id,
                WfmShift.user_id.is_not(None),
                WfmShift.day >= schedule.week_start,
                WfmShift.day < schedule.week_start + timedelta(days=7),
            )
        )
    )
    profiles = [
        _history_profile(scope, a, schedule.week_start, zone)
        for a in with_settings(scope, agents)
        if int(a.id) not in busy
    ]
    roster = assign_roster([line for line, _ in lines.values()], profiles)
    for line, rows in lines.values():
        agent = roster.assignments.get(line.id)
        for row in rows:
            row.user_id = int(agent) if agent is not None else None
    summary = {
        "assigned": len(roster.assignments),
        "open_lines": roster.open_lines,
        "idle_agents": roster.idle_agents,
        "nights": roster.nights,
        "weekends": roster.weekends,
    }
    schedule.result = {**schedule.result, "roster": summary}
    scope.session.flush()
    scope.emit(
        "wfm_roster_built", "wfm", {"schedule_id": schedule.id, "assigned": len(roster.assignments)}
    )
    return summary


def roster_grid(scope: Scoped, schedule_id: int) -> dict[str, Any]:
    """Lines × days with the assigned user id and shift times (local), for the grid page."""
    schedule = scope.get(WfmSchedule, schedule_id, entity="wfm_schedule")
    zone = ZoneInfo(schedule.timezone)
    rows: dict[int, dict[str, Any]] = {}
    for shift in scope.session.scalars(
        select(WfmShift)
        .where(WfmShift.tenant_id == scope.tenant_id, WfmShift.schedule_id == schedule.id)
        .order_by(WfmShift.line, WfmShift.day)
    ):
        row = rows.setdefault(
            shift.line, {"line": shift.line, "user_id": shift.user_id, "days": {}}
        )
        if shift.user_id is not None:
            row["user_id"] = shift.user_id
        row["days"][(shift.day - schedule.week_start).days] = _shift_out(shift, zone)
    return {
        "schedule_id": schedule.id,
        "week_start": schedule.week_start,
        "lines": [rows[k] for k in sorted(rows)],
    }


def _shift_out(shift: WfmShift, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": shift.id,
        "schedule_id": shift.schedule_id,
        "day": shift.day.isoformat(),
        "weekday": shift.day.weekday(),
        "start": shift.start_at.astimezone(zone).strftime("%H:%M"),
        "end": shift.end_at.astimezone(zone).strftime("%H:%M"),
        "start_at": shift.start_at,
        "end_at": shift.end_at,
        "template": shift.template,
        "night": shift.night,
        "user_id": shift.user_id,
        "breaks": [
            {
                "start": datetime.fromisoformat(b["start"]).astimezone(zone).strftime("%H:%M"),
                "minutes": b["minutes"],
                "kind": b["kind"],
            }
            for b in shift.breaks
        ],
    }


def my_shifts(scope: Scoped, first: date, last: date) -> list[dict[str, Any]]:
    zone = _zone(scope)
    rows = scope.session.scalars(
        select(WfmShift)
        .where(
            WfmShift.tenant_id == scope.tenant_id,
            WfmShift.user_id == scope.principal.user_id,
            WfmShift.day >= first,
            WfmShift.day <= last,
        )
        .order_by(WfmShift.start_at)
    )
    return [_shift_out(s, zone) for s in rows]


# --------------------------------------------------------------------------------------------
# Requests


def create_request(
    scope: Scoped, kind: str, shift_id: int, other_shift_id: int | None, reason: str
) -> WfmRequest:
    shift = scope.get(WfmShift, shift_id, entity="wfm_shift")
    if shift.user_id != scope.principal.user_id:
        raise NotFoundError(entity="wfm_shift", id=shift_id)
    if kind == "swap":
        if other_shift_id is None:
            raise ValidationFailed(errors=[FieldError("other_shift_id", "error.field.required")])
        other = scope.get(WfmShift, other_shift_id, entity="wfm_shift")
        if other.user_id is None or other.user_id == shift.user_id or other.day != shift.day:
            raise ValidationFailed(errors=[FieldError("other_shift_id", "error.wfm.swap_target")])
    request = scope.add(
        WfmRequest(
            kind=kind,
            status="pending",
            requester_id=scope.principal.user_id,
            shift_id=shift.id,
            other_shift_id=other_shift_id if kind == "swap" else None,
            reason=reason,
            created_at=scope.clock.now(),
        )
    )
    scope.emit("wfm_request_created", "wfm", {"request_id": request.id, "kind": kind})
    return request


def decide_request(
    scope: Scoped,
    request_id: int,
    approve: bool,
    note: str,
    profiles: Mapping[int, AgentProfile],
) -> WfmRequest:
    """Approve or reject; an approved leave opens the shift, an approved swap exchanges the two
    agents' shifts after checking skills, rest and contract hours (``profiles`` by user id)."""
    request = scope.get(WfmRequest, request_id, entity="wfm_request")
    if request.status != "pending":
        raise ConflictError("wfm_request_decided", status_now=request.status)
    shift = scope.get(WfmShift, request.shift_id, entity="wfm_shift")
    if approve and request.kind == "swap":
        assert request.other_shift_id is not None
        other = scope.get(WfmShift, request.other_shift_id, entity="wfm_shift")
        if other.user_id is None or shift.user_id is None:
            raise ConflictError("wfm_swap_stale")
        problems = _swap_problems(scope, shift, other, profiles)
        if problems:
            raise DomainError("wfm_swap_not_allowed", status=422, reasons="; ".join(problems))
        shift.user_id, other.user_id = other.user_id, shift.user_id
    elif approve and request.kind == "leave":
        shift.user_id = None
    request.status = "approved" if approve else "rejected"
    request.decided_by = scope.principal.user_id
    request.decided_at = scope.clock.now()
    request.note = note
    scope.session.flush()
    scope.emit(
        "wfm_request_decided",
        "wfm",
        {"request_id": request.id, "status": request.status, "kind": request.kind},
    )
    return request


def _swap_problems(
    scope: Scoped, shift: WfmShift, other: WfmShift, profiles: Mapping[int, AgentProfile]
) -> list[str]:
    def week_line(user_id: int, anchor: WfmShift) -> tuple[Line, date, ZoneInfo]:
        schedule = scope.get(WfmSchedule, anchor.schedule_id, entity="wfm_schedule")
        zone = ZoneInfo(schedule.timezone)
        rows = scope.session.scalars(
            select(WfmShift).where(
                WfmShift.tenant_id == scope.tenant_id,
                WfmShift.user_id == user_id,
                WfmShift.day >= schedule.week_start,
                WfmShift.day < schedule.week_start + timedelta(days=7),
            )
        )
        return (
            Line(
                str(user_id),
                tuple(_line_shift(s, schedule.week_start, zone) for s in rows),
                schedule.skill,
            ),
            schedule.week_start,
            zone,
        )

    assert shift.user_id is not None and other.user_id is not None
    line_a, week_start, _ = week_line(shift.user_id, shift)
    line_b, _, _ = week_line(other.user_id, other)
    a = profiles.get(shift.user_id, AgentProfile(str(shift.user_id)))
    b = profiles.get(other.user_id, AgentProfile(str(other.user_id)))
    return check_swap(a, line_a, b, line_b, (shift.day - week_start).days)


# --------------------------------------------------------------------------------------------
# Adherence


def _activities(scope: Scoped, start: datetime, end: datetime) -> list[Activity]:
    out: list[Activity] = []
    for shift in scope.session.scalars(
        select(WfmShift).where(
            WfmShift.tenant_id == scope.tenant_id,
            WfmShift.user_id.is_not(None),
            WfmShift.start_at < end,
            WfmShift.end_at > start,
        )
    ):
        agent = str(shift.user_id)
        cursor = shift.start_at
        for b in sorted(shift.breaks, key=lambda b: str(b["start"])):
            b_start = datetime.fromisoformat(b["start"])
            b_end = b_start + timedelta(minutes=int(b["minutes"]))
            if b_start > cursor:
                out.append(Activity(agent, "work", cursor, b_start))
            out.append(Activity(agent, str(b["kind"]), b_start, b_end))
            cursor = b_end
        if shift.end_at > cursor:
            out.append(Activity(agent, "work", cursor, shift.end_at))
    return out


def state_changes(
    scope: Scoped, start: datetime, end: datetime
) -> list[tuple[str, datetime, str, str]]:
    """``agent_state_changed`` events of the tenant between two instants, as
    ``(agent_id, at, state, reason)`` (the shape documented in docs/wfm.md)."""
    rows = scope.session.scalars(
        select(EventRecord)
        .where(
            EventRecord.tenant_id == scope.tenant_id,
            EventRecord.type == "agent_state_changed",
            EventRecord.occurred_at >= start,
            EventRecord.occurred_at < end,
        )
        .order_by(EventRecord.id)
    )
    out: list[tuple[str, datetime, str, str]] = []
    for row in rows:
        data = row.data or {}
        agent = data.get("agent_id") or data.get("user_id")
        state = data.get("state")
        if agent is None or not isinstance(state, str):
            continue
        out.append((str(agent), row.occurred_at, state, str(data.get("reason") or "")))
    return out


def _row_out(row: AdherenceRow) -> dict[str, Any]:
    return {
        "key": row.key,
        "scheduled_s": row.scheduled_s,
        "in_adherence_s": row.in_adherence_s,
        "adherence": row.adherence,
        "scheduled_work_s": row.scheduled_work_s,
        "worked_s": row.worked_s,
        "conformance": row.conformance,
        "out_of_adherence_s": row.out_of_adherence_s,
    }


def adherence_report(scope: Scoped, day: date, teams: Mapping[str, str]) -> dict[str, Any]:
    """Adherence and conformance per agent and team on a local day, up to now, with the
    exceptions (out of adherence for 2 minutes or more)."""
    zone = _zone(scope)
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = min(start + timedelta(days=1), scope.clock.now())
    if end <= start:
        return {"day": day.isoformat(), "agents": [], "teams": [], "exceptions": []}
    changes = state_changes(scope, start - timedelta(days=1), end)
    states = spans_from_changes(changes, end)
    schedule = _activities(scope, start, end)
    agents, team_rows = adherence(schedule, states, start, end, teams)
    found = exceptions(schedule, states, start, end)
    return {
        "day": day.isoformat(),
        "agents": [_row_out(r) for r in agents.values() if r.scheduled_s > 0],
        "teams": [_row_out(r) for r in team_rows.values()],
        "exceptions": [
            {
                "agent_id": e.agent_id,
                "scheduled": e.scheduled,
                "actual": e.actual,
                "start": e.start.astimezone(zone).strftime("%H:%M"),
                "end": e.end.astimezone(zone).strftime("%H:%M"),
                "minutes": round(e.seconds / 60, 1),
            }
            for e in found
        ],
    }


# --------------------------------------------------------------------------------------------
# History from the contacts kefu routed


def _event_counts(
    scope: Scoped, start: datetime, end: datetime, interval_min: int
) -> tuple[dict[tuple[str, datetime], float], dict[tuple[str, datetime], list[float]]]:
    """Contacts queued per (queue, interval start UTC) and the handle times of those completed."""
    zone = _zone(scope)
    rows = scope.session.scalars(
        select(EventRecord)
        .where(
            EventRecord.tenant_id == scope.tenant_id,
            EventRecord.type.in_(["contact_queued", "contact_completed"]),
            EventRecord.occurred_at >= start,
            EventRecord.occurred_at < end + timedelta(days=1),
        )
        .order_by(EventRecord.id)
    )

    def slot(moment: datetime) -> datetime:
        local = moment.astimezone(zone)
        floored = local.replace(second=0, microsecond=0) - timedelta(
            minutes=(local.hour * 60 + local.minute) % interval_min
        )
        return floored.astimezone(UTC)

    offered: dict[tuple[str, datetime], float] = {}
    handled: dict[tuple[str, datetime], list[float]] = {}
    queued_at: dict[str, tuple[str, datetime]] = {}
    for row in rows:
        data = row.data or {}
        queue = data.get("queue_id")
        contact = str(data.get("contact_id", ""))
        if not isinstance(queue, str) or not queue:
            continue
        if row.type == "contact_queued":
            if row.occurred_at >= end or contact in queued_at:
                continue  # after the span, or re-queued after a transfer: offered once
            key = (queue, slot(row.occurred_at))
            queued_at[contact] = key
            offered[key] = offered.get(key, 0.0) + 1.0
        else:
            key = queued_at.get(contact) or (queue, slot(row.occurred_at))
            if key[1] < start or key[1] >= end:
                continue
            handle = data.get("handle_s")
            if isinstance(handle, int | float) and handle > 0:
                handled.setdefault(key, []).append(float(handle))
    return offered, handled


def record_history_from_events(
    scope: Scoped, start: datetime, end: datetime, interval_min: int = 30
) -> dict[str, Any]:
    """Count ``contact_queued`` events per queue and interval between two instants (a contact
    re-queued by a transfer counts once), take the mean ``handle_s`` of their
    ``contact_completed`` events as the interval's AHT, and store that as history."""
    offered, handled = _event_counts(scope, start, end, interval_min)
    out = [
        (
            moment,
            queue,
            count,
            (sum(handled[(queue, moment)]) / len(handled[(queue, moment)]))
            if (queue, moment) in handled
            else None,
        )
        for (queue, moment), count in sorted(offered.items())
    ]
    stored = store_history(scope, out, interval_min) if out else 0
    scope.emit("wfm_history_recorded", "wfm", {"rows": stored})
    return {"rows": stored, "queues": sorted({q for q, _ in offered})}


# --------------------------------------------------------------------------------------------
# Intraday


def _on_phone(
    scope: Scoped, day_start: datetime, slots: int, interval_min: int, queue: str
) -> list[int]:
    """Rostered agents on the phones per interval of a day (breaks taken out)."""
    step = timedelta(minutes=interval_min)
    day_end = day_start + slots * step
    counts = [0] * slots
    schedules = {
        s.id
        for s in scope.session.scalars(scope.select(WfmSchedule).where(WfmSchedule.queue == queue))
    }
    if not schedules:
        return counts
    for shift in scope.session.scalars(
        select(WfmShift).where(
            WfmShift.tenant_id == scope.tenant_id,
            WfmShift.schedule_id.in_(schedules),
            WfmShift.user_id.is_not(None),
            WfmShift.start_at < day_end,
            WfmShift.end_at > day_start,
        )
    ):
        breaks = [(datetime.fromisoformat(b["start"]), int(b["minutes"])) for b in shift.breaks]
        for i in range(slots):
            t0 = day_start + i * step
            if not (shift.start_at <= t0 < shift.end_at):
                continue
            if any(b <= t0 < b + timedelta(minutes=m) for b, m in breaks):
                continue
            counts[i] += 1
    return counts


def intraday_view(scope: Scoped, queue: str, day: date | None = None) -> dict[str, Any]:
    """Today's forecast for a queue re-forecast on the actuals so far, the staff it needs for
    the rest of the day and the rostered staff: the staffing gap per interval."""
    zone = _zone(scope)
    now = scope.clock.now()
    day = day or now.astimezone(zone).date()
    forecast = scope.session.scalars(
        scope.select(WfmForecast).order_by(WfmForecast.id.desc())
    ).first()
    day_start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    interval = forecast.interval_min if forecast is not None else 30
    slots = 1440 // interval
    step = timedelta(minutes=interval)
    labels = [(day_start + i * step).astimezone(zone).strftime("%H:%M") for i in range(slots)]
    base = [0.0] * slots
    aht: list[float | None] = [None] * slots
    if forecast is not None and queue in forecast.data.get("queues", {}):
        series = forecast.data["queues"][queue]
        offset = int((day_start - forecast.start) / step)
        for i in range(slots):
            j = offset + i
            if 0 <= j < len(series["forecast"]):
                base[i] = float(series["forecast"][j])
                aht[i] = series["aht_s"][j]
    actual = [0.0] * slots
    for row in scope.session.scalars(
        select(WfmHistory).where(
            WfmHistory.tenant_id == scope.tenant_id,
            WfmHistory.queue == queue,
            WfmHistory.interval_start >= day_start,
            WfmHistory.interval_start < day_start + slots * step,
        )
    ):
        actual[int((row.interval_start - day_start) / step)] += row.offered
    # Contacts routed today and not stored as history yet count too.
    live, _ = _event_counts(scope, day_start, min(now, day_start + slots * step), interval)
    for (q, moment), count in live.items():
        i = int((moment - day_start) / step)
        if q == queue and 0 <= i < slots and actual[i] == 0:
            actual[i] = count
    elapsed = max(0, min(slots, int((now - day_start) / step)))
    updated = reforecast_intraday(np.array(base), np.array(actual), elapsed)
    schedule = scope.session.scalars(
        scope.select(WfmSchedule)
        .where(
            WfmSchedule.queue == queue,
            WfmSchedule.week_start <= day,
            WfmSchedule.week_start > day - timedelta(days=7),
        )
        .order_by(WfmSchedule.id.desc())
    ).first()
    params = schedule.params if schedule is not None else {}
    aht_arr = np.array([a if a else 300.0 for a in aht], dtype=float)
    rest = np.where(np.arange(slots) >= elapsed, updated, 0.0)
    required = required_staff(
        rest[None, :],
        aht_arr[None, :],
        interval,
        float(params.get("target", 0.8)),
        float(params.get("threshold_s", 20.0)),
        float(params.get("shrinkage", 0.1)),
        params.get("patience_s"),
        params.get("max_abandon"),
    )[0]
    on_phone = _on_phone(scope, day_start, slots, interval, queue)
    return {
        "queue": queue,
        "day": day.isoformat(),
        "interval_min": interval,
        "elapsed_slots": elapsed,
        "labels": labels,
        "forecast": [round(v, 2) for v in base],
        "actual": [round(v, 2) if i < elapsed else None for i, v in enumerate(actual)],
        "reforecast": [round(float(v), 2) if i >= elapsed else None for i, v in enumerate(updated)],
        "required": [int(v) if i >= elapsed else None for i, v in enumerate(required)],
        "scheduled": on_phone,
        "gap": [(on_phone[i] - int(required[i])) if i >= elapsed else None for i in range(slots)],
    }


# --------------------------------------------------------------------------------------------
# Contracts and preferences


def _settings_row(scope: Scoped, user_id: int) -> WfmAgentSettings:
    row = scope.session.scalars(
        scope.select(WfmAgentSettings).where(WfmAgentSettings.user_id == user_id)
    ).first()
    if row is None:
        row = scope.add(WfmAgentSettings(user_id=user_id, preferred_days_off=[]))
    return row


def update_settings(scope: Scoped, user_id: int, values: Mapping[str, Any]) -> WfmAgentSettings:
    """Set contract limits and/or preferences of one agent (the caller checked who may)."""
    row = _settings_row(scope, user_id)
    for key, value in values.items():
        setattr(row, key, list(value) if key == "preferred_days_off" else value)
    lo, hi = row.start_earliest_min, row.start_latest_min
    if (lo is None) != (hi is None) or (lo is not None and hi is not None and lo > hi):
        raise ValidationFailed(
            errors=[
                FieldError("start_latest_min", "error.wfm.start_window", earliest=lo, latest=hi)
            ]
        )
    if row.min_hours > row.max_hours:
        raise ValidationFailed(errors=[FieldError("min_hours", "error.wfm.hours_range")])
    scope.session.flush()
    scope.emit("wfm_agent_settings_changed", "wfm", {"user_id": user_id})
    return row


def with_settings(scope: Scoped, profiles: Sequence[AgentProfile]) -> list[AgentProfile]:
    """Profiles with each agent's stored contract limits and preferences applied."""
    rows = {r.user_id: r for r in scope.session.scalars(scope.select(WfmAgentSettings))}
    out: list[AgentProfile] = []
    for p in profiles:
        row = rows.get(int(p.id))
        if row is None:
            out.append(p)
            continue
        window = (
            (row.start_earliest_min, row.start_latest_min)
            if row.start_earliest_min is not None and row.start_latest_min is not None
            else None
        )
        out.append(
            replace(
                p,
                min_hours=row.min_hours,
                max_hours=row.max_hours,
                max_consecutive_days=row.max_consecutive_days,
                avoid_nights=row.avoid_nights,
                start_window=window,
                preferred_days_off=frozenset(int(d) for d in row.preferred_days_off or []),
            )
        )
    return out


def settings_of(scope: Scoped) -> dict[int, dict[str, Any]]:
    return {
        r.user_id: {
            "min_hours": r.min_hours,
            "max_hours": r.max_hours,
            "max_consecutive_days": r.max_consecutive_days,
            "avoid_nights": r.avoid_nights,
            "start_earliest_min": r.start_earliest_min,
            "start_latest_min": r.start_latest_min,
            "preferred_days_off": list(r.preferred_days_off or []),
        }
        for r in scope.session.scalars(scope.select(WfmAgentSettings))
    }


# --------------------------------------------------------------------------------------------
# Evaluation with the digital twin


def evaluate_schedule(
    scope: Scoped, schedule_id: int, day: int, replications: int = 5, seed: int = 1
) -> dict[str, Any]:
    """Predicted service level per interval of one day of a schedule, as staffed.

    The digital twin (``kefu.simulation``: the real routing engine in virtual time) runs the
    day's forecast contacts (time-varying Poisson, exponential handle times with the forecast
    AHT, the schedule's patience if any) against the agents on the phones per interval, less
    the in-centre shrinkage. Erlang C/A for the same interval is given beside it.
    """
    from kefu.routing import Media, QueueConfig, ServiceLevel
    from kefu.simulation import AgentGroup, Distribution, QueueDemand, Scenario, simulate
    from kefu.wfm.erlang import erlang_a, service_level

    schedule = scope.get(WfmSchedule, schedule_id, entity="wfm_schedule")
    if not 0 <= day <= 6:
        raise ValidationFailed(errors=[FieldError("day", "error.field.invalid", value=day)])
    result = schedule.result
    params = schedule.params
    interval = schedule.interval_min
    volumes = [float(v) for v in result["forecast"][day]]
    ahts = result.get("aht", [[None] * len(volumes)] * 7)[day]
    weights = [(v, a) for v, a in zip(volumes, ahts, strict=True) if a and v > 0]
    aht = sum(v * a for v, a in weights) / sum(v for v, _ in weights) if weights else 300.0
    shrink = float(params.get("shrinkage", 0.0))
    agents = [math.floor(n * (1.0 - shrink) + 1e-9) for n in result["scheduled"][day]]
    target = float(params.get("target", 0.8))
    threshold = float(params.get("threshold_s", 20.0))
    patience = params.get("patience_s")
    queue = QueueDemand(
        config=QueueConfig(
            queue_id=schedule.queue,
            tenant_id="wfm",
            media=(Media.VOICE,),
            wrap_up_s=0.0,
            service_level=ServiceLevel(target=target, threshold_s=threshold),
        ),
        volumes=tuple(volumes),
        handle=Distribution.exponential(aht),
        patience=Distribution.exponential(float(patience) if patience else math.inf),
    )
    group = AgentGroup(name="scheduled", count=max([*agents, 0]), staffing=tuple(agents))
    scenario = Scenario(
        queues=(queue,),
        agents=(group,),
        start=datetime.combine(
            schedule.week_start + timedelta(days=day), time(0), tzinfo=ZoneInfo(schedule.timezone)
        ),
        interval_s=60 * interval,
        intervals=len(volumes),
        name=f"schedule {schedule.id} day {day}",
    )
    sim = simulate(scenario, replications=replications, seed=seed)
    rows = [r for r in sim.rows() if r["queue"] == schedule.queue]
    erlang: list[float | None] = []
    for v, n in zip(volumes, agents, strict=True):
        load = v * aht / (60.0 * interval)
        if v <= 0:
            erlang.append(None)
        elif patience:
            erlang.append(
                erlang_a(load, n, aht, float(patience), threshold).service_level if n > 0 else 0.0
            )
        else:
            erlang.append(service_level(load, n, aht, threshold) if n > load else 0.0)
    whole = sim.estimate("sl_f3", queue_id=schedule.queue)
    scope.emit("wfm_schedule_evaluated", "wfm", {"schedule_id": schedule.id, "day": day})

    def num(x: Any) -> float | None:
        return None if x is None or not math.isfinite(float(x)) else round(float(x), 4)

    return {
        "schedule_id": schedule.id,
        "day": day,
        "replications": replications,
        "aht_s": round(aht, 1),
        "labels": [
            f"{(k * interval) // 60:02d}:{(k * interval) % 60:02d}" for k in range(len(volumes))
        ],
        "volumes": volumes,
        "agents": agents,
        "sl_twin": [num(r["sl_f3"]) if v > 0 else None for r, v in zip(rows, volumes, strict=True)],
        "sl_twin_ci": [
            num(r["sl_f3_ci"]) if v > 0 else None for r, v in zip(rows, volumes, strict=True)
        ],
        "sl_erlang": [num(x) for x in erlang],
        "day_sl": num(whole.mean),
        "day_sl_ci": num(whole.ci),
        "target": target,
    }


def swap_options(scope: Scoped, shift_id: int) -> list[dict[str, Any]]:
    """Other agents' rostered shifts on the same day as one of mine (candidates for a swap)."""
    mine = scope.get(WfmShift, shift_id, entity="wfm_shift")
    if mine.user_id != scope.principal.user_id:
        raise NotFoundError(entity="wfm_shift", id=shift_id)
    zone = _zone(scope)
    rows = scope.session.scalars(
        select(WfmShift)
        .where(
            WfmShift.tenant_id == scope.tenant_id,
            WfmShift.day == mine.day,
            WfmShift.user_id.is_not(None),
            WfmShift.user_id != scope.principal.user_id,
        )
        .order_by(WfmShift.start_at)
    )
    return [
        _shift_out(s, zone) for s in rows if (s.start_at, s.end_at) != (mine.start_at, mine.end_at)
    ]
