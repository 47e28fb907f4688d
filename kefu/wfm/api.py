"""WFM HTTP API: history, forecasts, schedules, rosters, my shifts, requests, adherence."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.api.deps import Ctx, require
from kefu.api.schemas import Page
from kefu.core.errors import ValidationFailed
from kefu.routing.tables import AgentSkill, QueueConfig, Skill
from kefu.tenancy import Principal, Scoped, tenant_calendar, user_in_tenant
from kefu.tenancy.tables import Team, User
from kefu.wfm import live, services
from kefu.wfm.roster import AgentProfile
from kefu.wfm.schemas import (
    AgentSettingsIn,
    DecisionIn,
    EvaluateIn,
    ForecastIn,
    ForecastOut,
    FromEventsIn,
    PreferencesIn,
    RequestIn,
    RequestOut,
    ScheduleIn,
    ScheduleOut,
)
from kefu.wfm.tables import WfmForecast, WfmRequest, WfmSchedule

if TYPE_CHECKING:
    from kefu.bootstrap import Container

__all__ = ["agent_profiles", "install", "job_numbers", "router", "team_names", "user_names"]

router = APIRouter(prefix="/wfm", tags=["wfm"])


def install(container: Container) -> None:
    """Check agent state changes against the schedule as the routing runtime records them, and
    let planners and supervisors (``wfm.read``) follow ``wfm.adherence`` on the websocket."""
    container.routing.listeners.append(live.on_routing_event)

    def snapshot(session: Session, principal: Principal, _topic: str) -> dict[str, Any]:
        scope = Scoped(session, principal, container.clock)
        zone = ZoneInfo(tenant_calendar(session, principal.tenant_id).timezone)
        today = container.clock.now().astimezone(zone).date()
        report = services.adherence_report(scope, today, team_names(scope))
        return {"day": report["day"], "exceptions": report["exceptions"][-20:]}

    container.hub.register_snapshot(live.TOPIC, "wfm.read", snapshot)


# --- reads of other features' tables (joins at the edge) -------------------------------------


def agent_profiles(scope: Scoped) -> list[AgentProfile]:
    """Active users with the agent role, their skills (codes) and team."""
    users = scope.session.scalars(
        select(User).where(User.tenant_id == scope.tenant_id, User.active.is_(True))
    ).all()
    skills: dict[int, set[str]] = {}
    for user_id, code in scope.session.execute(
        select(AgentSkill.user_id, Skill.code)
        .join(Skill, Skill.id == AgentSkill.skill_id)
        .where(AgentSkill.tenant_id == scope.tenant_id)
    ):
        skills.setdefault(user_id, set()).add(code)
    return [
        AgentProfile(
            str(u.id),
            skills=frozenset(skills.get(u.id, set())),
            team=str(u.team_id) if u.team_id is not None else None,
        )
        for u in users
        if "agent" in (u.roles or [])
    ]


def team_names(scope: Scoped) -> dict[str, str]:
    """User id (text) → team name, for every user in a team."""
    teams = {
        t.id: t.name
        for t in scope.session.scalars(select(Team).where(Team.tenant_id == scope.tenant_id))
    }
    return {
        str(u.id): teams[u.team_id]
        for u in scope.session.scalars(select(User).where(User.tenant_id == scope.tenant_id))
        if u.team_id in teams
    }


def user_names(scope: Scoped) -> dict[int, str]:
    return {
        u.id: u.display_name
        for u in scope.session.scalars(select(User).where(User.tenant_id == scope.tenant_id))
    }


def job_numbers(scope: Scoped) -> dict[int, str]:
    return {
        u.id: u.job_number
        for u in scope.session.scalars(select(User).where(User.tenant_id == scope.tenant_id))
    }


def _queue_codes(scope: Scoped) -> list[str] | None:
    codes = list(
        scope.session.scalars(
            select(QueueConfig.code).where(QueueConfig.tenant_id == scope.tenant_id)
        )
    )
    return codes or None


# --- history ---------------------------------------------------------------------------------


@router.post("/history", summary="Import interval history (text/csv body)")
async def import_history(
    request: Request,
    interval_min: int = Query(30),
    ctx: Ctx = Depends(require("wfm.plan")),
) -> dict[str, Any]:
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("wfm_bad_csv_encoding") from exc
    result = services.import_history(ctx.scope, text, interval_min, _queue_codes(ctx.scope))
    ctx.commit()
    return result


@router.post("/history/from-events", summary="Record history from the contacts kefu routed")
def history_from_events(
    body: FromEventsIn, ctx: Ctx = Depends(require("wfm.plan"))
) -> dict[str, Any]:
    now = ctx.container.clock.now()
    step = body.interval_min * 60
    end = datetime.fromtimestamp(int(now.timestamp()) // step * step, UTC)
    result = services.record_history_from_events(
        ctx.scope, end - timedelta(days=body.days), end, body.interval_min
    )
    ctx.commit()
    return result


@router.get("/history", summary="Stored history per queue")
def history(ctx: Ctx = Depends(require("wfm.read"))) -> list[dict[str, Any]]:
    return services.history_summary(ctx.scope)


# --- forecasts -------------------------------------------------------------------------------


@router.post("/forecasts", status_code=201, response_model=ForecastOut)
def create_forecast(body: ForecastIn, ctx: Ctx = Depends(require("wfm.plan"))) -> WfmForecast:
    forecast = services.create_forecast(
        ctx.scope, body.horizon_days, body.interval_min, body.start, body.queues, body.name
    )
    ctx.commit()
    return forecast


@router.get("/forecasts", response_model=Page[ForecastOut])
def list_forecasts(ctx: Ctx = Depends(require("wfm.read"))) -> dict[str, Any]:
    items, total = ctx.scope.list(
        ctx.scope.select(WfmForecast).order_by(WfmForecast.id.desc()), limit=50
    )
    return {"items": items, "total": total}


@router.get("/forecasts/{forecast_id}", summary="A forecast with actuals, per queue")
def get_forecast(forecast_id: int, ctx: Ctx = Depends(require("wfm.read"))) -> dict[str, Any]:
    return services.forecast_view(ctx.scope, forecast_id)


# --- schedules and rosters -------------------------------------------------------------------


@router.post("/schedules", status_code=201, response_model=ScheduleOut)
def create_schedule(body: ScheduleIn, ctx: Ctx = Depends(require("wfm.plan"))) -> WfmSchedule:
    schedule = services.create_schedule(
        ctx.scope,
        body.forecast_id,
        body.queue,
        body.week_start,
        skill=body.skill,
        target=body.target,
        threshold_s=body.threshold_s,
        shrinkage=body.shrinkage,
        default_aht_s=body.default_aht_s,
        patience_s=body.patience_s,
        max_abandon=body.max_abandon,
        work_days=body.work_days,
        max_agents=body.max_agents,
        name=body.name,
    )
    ctx.commit()
    return schedule


@router.get("/schedules", response_model=Page[ScheduleOut])
def list_schedules(ctx: Ctx = Depends(require("wfm.read"))) -> dict[str, Any]:
    items, total = ctx.scope.list(
        ctx.scope.select(WfmSchedule).order_by(WfmSchedule.id.desc()), limit=50
    )
    return {"items": items, "total": total}


@router.get("/schedules/{schedule_id}", response_model=ScheduleOut)
def get_schedule(schedule_id: int, ctx: Ctx = Depends(require("wfm.read"))) -> WfmSchedule:
    return ctx.scope.get(WfmSchedule, schedule_id, entity="wfm_schedule")


@router.post("/schedules/{schedule_id}/roster", summary="Assign agents to the schedule's lines")
def build_roster(schedule_id: int, ctx: Ctx = Depends(require("wfm.plan"))) -> dict[str, Any]:
    ctx.scope.get(WfmSchedule, schedule_id, entity="wfm_schedule")
    summary = services.build_roster(ctx.scope, schedule_id, agent_profiles(ctx.scope))
    ctx.commit()
    return summary


@router.post(
    "/schedules/{schedule_id}/evaluate",
    summary="Predicted service level per interval of one day, by the digital twin",
)
def evaluate(
    schedule_id: int, body: EvaluateIn, ctx: Ctx = Depends(require("wfm.plan"))
) -> dict[str, Any]:
    result = services.evaluate_schedule(ctx.scope, schedule_id, body.day, body.replications)
    ctx.commit()
    return result


@router.get("/schedules/{schedule_id}/roster", summary="The roster grid, grouped by team")
def roster(schedule_id: int, ctx: Ctx = Depends(require("wfm.read"))) -> dict[str, Any]:
    grid = services.roster_grid(ctx.scope, schedule_id)
    names = user_names(ctx.scope)
    jobs = job_numbers(ctx.scope)
    teams = team_names(ctx.scope)
    for line in grid["lines"]:
        uid = line["user_id"]
        line["name"] = names.get(uid, "") if uid is not None else ""
        line["job_number"] = jobs.get(uid, "") if uid is not None else ""
        line["team"] = teams.get(str(uid), "") if uid is not None else ""
    grid["lines"].sort(key=lambda r: (r["team"] == "", r["team"], r["name"] == "", r["line"]))
    return grid


# --- agents ----------------------------------------------------------------------------------


@router.get("/me/shifts", summary="My shifts")
def my_shifts(
    start: date | None = None,
    days: int = Query(14, ge=1, le=62),
    ctx: Ctx = Depends(require("wfm.own")),
) -> list[dict[str, Any]]:
    first = start or ctx.container.clock.now().date()
    return services.my_shifts(ctx.scope, first, first + timedelta(days=days - 1))


@router.get("/me/shifts/{shift_id}/swap-options", summary="Shifts I could swap mine with")
def swap_options(shift_id: int, ctx: Ctx = Depends(require("wfm.own"))) -> list[dict[str, Any]]:
    options = services.swap_options(ctx.scope, shift_id)
    names = user_names(ctx.scope)
    for o in options:
        o["name"] = names.get(o["user_id"], "")
    return options


@router.post("/requests", status_code=201, response_model=RequestOut)
def create_request(body: RequestIn, ctx: Ctx = Depends(require("wfm.own"))) -> WfmRequest:
    request = services.create_request(
        ctx.scope, body.kind, body.shift_id, body.other_shift_id, body.reason
    )
    ctx.commit()
    return request


@router.get("/requests", response_model=Page[RequestOut])
def list_requests(
    status: str | None = None, ctx: Ctx = Depends(require("wfm.own"))
) -> dict[str, Any]:
    query = ctx.scope.select(WfmRequest).order_by(WfmRequest.id.desc())
    if not ctx.scope.principal.can("wfm.approve"):
        query = query.where(WfmRequest.requester_id == ctx.scope.principal.user_id)
    if status:
        query = query.where(WfmRequest.status == status)
    items, total = ctx.scope.list(query, limit=100)
    return {"items": items, "total": total}


@router.post("/requests/{request_id}/decision", response_model=RequestOut)
def decide(
    request_id: int, body: DecisionIn, ctx: Ctx = Depends(require("wfm.approve"))
) -> WfmRequest:
    profiles = {int(p.id): p for p in services.with_settings(ctx.scope, agent_profiles(ctx.scope))}
    request = services.decide_request(ctx.scope, request_id, body.approve, body.note, profiles)
    ctx.commit()
    return request


# --- contracts and preferences ----------------------------------------------------------------


@router.get("/agents", summary="Agents with their contract limits and preferences")
def agents(ctx: Ctx = Depends(require("wfm.read"))) -> list[dict[str, Any]]:
    names = user_names(ctx.scope)
    jobs = job_numbers(ctx.scope)
    teams = team_names(ctx.scope)
    stored = services.settings_of(ctx.scope)
    out = []
    for p in services.with_settings(ctx.scope, agent_profiles(ctx.scope)):
        uid = int(p.id)
        out.append(
            {
                "user_id": uid,
                "name": names.get(uid, ""),
                "job_number": jobs.get(uid, ""),
                "team": teams.get(p.id, ""),
                "skills": sorted(p.skills),
                "min_hours": p.min_hours,
                "max_hours": p.max_hours,
                "max_consecutive_days": p.max_consecutive_days,
                "avoid_nights": p.avoid_nights,
                "start_window": list(p.start_window) if p.start_window else None,
                "preferred_days_off": sorted(p.preferred_days_off),
                "customised": uid in stored,
            }
        )
    return out


@router.put("/agents/{user_id}/settings", summary="Contract limits and preferences of an agent")
def agent_settings(
    user_id: int, body: AgentSettingsIn, ctx: Ctx = Depends(require("wfm.plan"))
) -> dict[str, Any]:
    user_in_tenant(ctx.scope, user_id)
    services.update_settings(ctx.scope, user_id, body.model_dump(exclude_unset=True))
    ctx.commit()
    return services.settings_of(ctx.scope)[user_id]


@router.put("/me/preferences", summary="My shift preferences")
def my_preferences(body: PreferencesIn, ctx: Ctx = Depends(require("wfm.own"))) -> dict[str, Any]:
    uid = ctx.scope.principal.user_id
    services.update_settings(ctx.scope, uid, body.model_dump(exclude_unset=True))
    ctx.commit()
    return services.settings_of(ctx.scope)[uid]


# --- intraday --------------------------------------------------------------------------------


@router.get("/intraday", summary="Today's re-forecast, required and rostered staff per interval")
def intraday(
    queue: str = Query(min_length=1, max_length=40),
    day: date | None = None,
    ctx: Ctx = Depends(require("wfm.read")),
) -> dict[str, Any]:
    return services.intraday_view(ctx.scope, queue, day)


# --- adherence -------------------------------------------------------------------------------


@router.get("/adherence", summary="Adherence and conformance per agent and team on a day")
def adherence(day: date | None = None, ctx: Ctx = Depends(require("wfm.read"))) -> dict[str, Any]:
    report = services.adherence_report(
        ctx.scope, day or ctx.container.clock.now().date(), team_names(ctx.scope)
    )
    names = user_names(ctx.scope)
    for row in report["agents"]:
        row["name"] = names.get(int(row["key"]), row["key"]) if row["key"].isdigit() else row["key"]
    for row in report["exceptions"]:
        aid = row["agent_id"]
        row["name"] = names.get(int(aid), aid) if aid.isdigit() else aid
    return report
