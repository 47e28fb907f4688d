"""WFM pages: the planner (history → forecast → schedule → roster, requests, adherence) and
"my schedule" for agents."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from kefu.api.deps import Ctx
from kefu.tenancy import tenant_calendar
from kefu.web.pages import page_ctx, render
from kefu.wfm import services
from kefu.wfm.api import job_numbers, team_names, user_names
from kefu.wfm.schedule import WEEKDAYS
from kefu.wfm.tables import WfmForecast, WfmRequest, WfmSchedule, WfmShift

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _today(ctx: Ctx) -> date:
    zone = ZoneInfo(tenant_calendar(ctx.session, ctx.scope.tenant_id).timezone)
    return ctx.container.clock.now().astimezone(zone).date()


def _latest(ctx: Ctx, model: type[Any], pick: int | None) -> Any:
    if pick is not None:
        return ctx.scope.get(model, pick)
    return ctx.session.scalars(ctx.scope.select(model).order_by(model.id.desc()).limit(1)).first()


@router.get("/wfm", response_class=HTMLResponse)
def planner(
    forecast: int | None = None,
    schedule: int | None = None,
    ctx: Ctx = Depends(page_ctx("wfm.read")),
) -> Response:
    scope = ctx.scope
    zone = ZoneInfo(tenant_calendar(ctx.session, scope.tenant_id).timezone)
    history = services.history_summary(scope)
    for row in history:
        row["first"] = row["first"].astimezone(zone)
        row["last"] = row["last"].astimezone(zone)
    fc = _latest(ctx, WfmForecast, forecast)
    view = services.forecast_view(scope, fc.id) if fc is not None else None
    sched = _latest(ctx, WfmSchedule, schedule)
    grid = services.roster_grid(scope, sched.id) if sched is not None else None
    names = user_names(scope)
    jobs = job_numbers(scope)
    teams = team_names(scope)
    if grid is not None:
        for line in grid["lines"]:
            uid = line["user_id"]
            line["name"] = names.get(uid, "") if uid is not None else ""
            line["job_number"] = jobs.get(uid, "") if uid is not None else ""
            line["team"] = teams.get(str(uid), "") if uid is not None else ""
        grid["lines"].sort(key=lambda r: (r["team"] == "", r["team"], r["name"] == "", r["line"]))
    today = _today(ctx)
    next_monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    forecasts = list(
        ctx.session.scalars(scope.select(WfmForecast).order_by(WfmForecast.id.desc()).limit(20))
    )
    schedules = list(
        ctx.session.scalars(scope.select(WfmSchedule).order_by(WfmSchedule.id.desc()).limit(20))
    )
    pending = list(
        ctx.session.scalars(
            scope.select(WfmRequest).where(WfmRequest.status == "pending").order_by(WfmRequest.id)
        )
    )
    shift_days = {
        s.id: s
        for s in ctx.session.scalars(
            select(WfmShift).where(
                WfmShift.tenant_id == scope.tenant_id,
                WfmShift.id.in_([r.shift_id for r in pending] or [0]),
            )
        )
    }
    report = services.adherence_report(scope, today, teams)
    for row in report["agents"]:
        row["name"] = names.get(int(row["key"]), row["key"])
    for row in report["exceptions"]:
        row["name"] = names.get(int(row["agent_id"]), row["agent_id"])
    return render(
        ctx.request,
        "wfm_plan.html",
        ctx,
        history=history,
        forecast=view,
        forecasts=forecasts,
        schedule=sched,
        schedules=schedules,
        grid=grid,
        weekdays=WEEKDAYS,
        next_monday=next_monday,
        pending=pending,
        shift_days=shift_days,
        names=names,
        report=report,
        can_plan=scope.principal.can("wfm.plan"),
        can_approve=scope.principal.can("wfm.approve"),
    )


@router.get("/wfm/my", response_class=HTMLResponse)
def my_schedule(ctx: Ctx = Depends(page_ctx("wfm.own"))) -> Response:
    today = _today(ctx)
    start = today - timedelta(days=today.weekday())
    shifts = services.my_shifts(ctx.scope, start, start + timedelta(days=20))
    requests = list(
        ctx.session.scalars(
            ctx.scope.select(WfmRequest)
            .where(WfmRequest.requester_id == ctx.scope.principal.user_id)
            .order_by(WfmRequest.id.desc())
            .limit(20)
        )
    )
    names = user_names(ctx.scope)
    for shift in shifts:
        if shift["day"] >= today.isoformat():
            options = services.swap_options(ctx.scope, shift["id"])
            for o in options:
                o["name"] = names.get(o["user_id"], "")
            shift["swap_options"] = options
    prefs = services.settings_of(ctx.scope).get(
        ctx.scope.principal.user_id, {"avoid_nights": False, "preferred_days_off": []}
    )
    return render(
        ctx.request,
        "wfm_my.html",
        ctx,
        shifts=shifts,
        requests=requests,
        today=today,
        prefs=prefs,
    )
