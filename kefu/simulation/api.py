"""Digital-twin runs over HTTP: start the demo center with what-if knobs in a background thread,
poll its status, read per-interval results (mean and 95% CI); and the page that charts them.

Runs live in memory (per app, per tenant; the last 10 are kept) — they are computations, not
records. One run at a time per tenant, a few replications of a one-day center: seconds.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from kefu.api.deps import Ctx, require
from kefu.api.schemas import Input
from kefu.core.errors import ConflictError, FieldError, NotFoundError, ValidationFailed
from kefu.routing import Strategy
from kefu.simulation.demo import demo_scenario
from kefu.simulation.results import SimulationResult, simulate
from kefu.simulation.scenario import Scenario, ScenarioError, add_agents, with_strategy
from kefu.tenancy import tenant_calendar
from kefu.web.pages import page_ctx, render

__all__ = ["pages", "router"]

router = APIRouter(prefix="/simulation", tags=["simulation"])
pages = APIRouter(include_in_schema=False)

KEEP = 10
_log = logging.getLogger(__name__)
SERIES = ("offered", "answered", "abandoned", "sl_f3", "asa_s", "occupancy", "p_abandon")


class RunIn(Input):
    """What-if knobs on the demo center (see kefu.simulation.demo)."""

    extra_agents: int = Field(default=0, ge=0, le=50)
    extra_group: str = "early"
    extra_from_interval: int = Field(default=0, ge=0)
    strategy: Strategy | None = None
    replications: int = Field(default=3, ge=1, le=10)
    seed: int = Field(default=1, ge=0, le=2**31)


@dataclass
class Run:
    id: str
    knobs: dict[str, Any]
    total: int  # replications to run, both variants
    status: str = "queued"  # queued → running → done | failed
    done: int = 0
    error: str = ""
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0
    result: dict[str, Any] | None = None

    def view(self, with_result: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "done": self.done,
            "total": self.total,
            "knobs": self.knobs,
            "error": self.error,
            "seconds": round(self.seconds, 2),
        }
        if with_result:
            out["result"] = self.result
        return out


class Registry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs: dict[int, dict[str, Run]] = {}


def _registry(request: Request) -> Registry:
    state = request.app.state
    with _INIT:
        if not hasattr(state, "simulation_runs"):
            state.simulation_runs = Registry()
    registry: Registry = state.simulation_runs
    return registry


_INIT = threading.Lock()


def _zone(ctx: Ctx) -> ZoneInfo:
    return ZoneInfo(tenant_calendar(ctx.session, ctx.scope.tenant_id).timezone)


def _num(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else round(value, 4)


def _labels(scenario: Scenario, zone: ZoneInfo) -> list[str]:
    step = timedelta(seconds=scenario.interval_s)
    return [
        (scenario.start + k * step).astimezone(zone).strftime("%H:%M")
        for k in range(scenario.intervals)
    ]


def _series(result: SimulationResult, zone: ZoneInfo) -> dict[str, Any]:
    """Per interval, over all queues: each metric's mean and CI half-width."""
    rows = [r for r in result.rows() if r["queue"] == "*"] or result.rows()
    out: dict[str, Any] = {"labels": _labels(result.scenario, zone)}
    for metric in SERIES:
        out[metric] = [_num(r[metric]) for r in rows]
        out[f"{metric}_ci"] = [_num(r[f"{metric}_ci"]) for r in rows]
    out["summary"] = {
        m: _num(result.estimate(m).mean) for m in ("offered", "sl_f3", "asa_s", "p_abandon")
    }
    return out


def _what_if(base: Scenario, body: RunIn) -> Scenario | None:
    variant = base
    if body.extra_agents:
        if body.extra_from_interval >= base.intervals:
            raise ScenarioError("extra_from_interval", f"must be below {base.intervals}")
        variant = add_agents(
            variant,
            body.extra_agents,
            like=body.extra_group,
            from_s=body.extra_from_interval * base.interval_s,
        )
    if body.strategy is not None:
        variant = with_strategy(variant, body.strategy.value)
    return None if variant is base else variant


def _work(run: Run, base: Scenario, variant: Scenario | None, body: RunIn, zone: ZoneInfo) -> None:
    def tick(offset: int) -> Any:
        def progress(done: int) -> None:
            run.done = offset + done

        return progress

    try:
        run.status = "running"
        first = simulate(base, replications=body.replications, seed=body.seed, progress=tick(0))
        result = {"base": _series(first, zone)}
        if variant is not None:
            # same seed: common random numbers, so the difference is the knob, not the noise
            what_if = simulate(
                variant,
                replications=body.replications,
                seed=body.seed,
                progress=tick(body.replications),
            )
            result["what_if"] = _series(what_if, zone)
        run.result = result
        run.status = "done"
    except Exception:  # reported on the run (no internals shown) and logged
        _log.exception("simulation run %s failed", run.id)
        run.error = "simulation_failed"
        run.status = "failed"
    finally:
        run.seconds = time.monotonic() - run.started


@router.post("/runs", status_code=202, summary="Start a simulation run of the demo center")
def start_run(
    body: RunIn, request: Request, ctx: Ctx = Depends(require("wfm.plan"))
) -> dict[str, Any]:
    base = demo_scenario()
    try:
        variant = _what_if(base, body)
    except ScenarioError as exc:
        field_name = "extra_group" if exc.field == "like" else exc.field
        raise ValidationFailed(
            "simulation_bad_input",
            errors=[FieldError(field_name, "error.simulation.invalid", message=str(exc))],
        ) from exc
    registry = _registry(request)
    tenant = ctx.scope.tenant_id
    with registry.lock:
        runs = registry.runs.setdefault(tenant, {})
        if any(r.status in ("queued", "running") for r in runs.values()):
            raise ConflictError("simulation_busy")
        run = Run(
            id=uuid.uuid4().hex,
            knobs=body.model_dump(mode="json"),
            total=body.replications * (1 if variant is None else 2),
        )
        runs[run.id] = run
        for old in list(runs)[:-KEEP]:
            del runs[old]
    threading.Thread(
        target=_work,
        args=(run, base, variant, body, _zone(ctx)),
        name=f"simulation-{run.id[:8]}",
        daemon=True,
    ).start()
    return run.view(with_result=False)


@router.get("/runs", summary="This tenant's recent runs (no results)")
def list_runs(request: Request, ctx: Ctx = Depends(require("wfm.plan"))) -> list[dict[str, Any]]:
    registry = _registry(request)
    with registry.lock:
        runs = list(registry.runs.get(ctx.scope.tenant_id, {}).values())
    return [r.view(with_result=False) for r in reversed(runs)]


@router.get("/runs/{run_id}", summary="Status, progress and (when done) the results of a run")
def get_run(
    run_id: str, request: Request, ctx: Ctx = Depends(require("wfm.plan"))
) -> dict[str, Any]:
    registry = _registry(request)
    with registry.lock:
        run = registry.runs.get(ctx.scope.tenant_id, {}).get(run_id)
    if run is None:
        raise NotFoundError()
    return run.view()


@pages.get("/simulation", response_class=HTMLResponse)
def simulation_page(ctx: Ctx = Depends(page_ctx("wfm.plan"))) -> Response:
    base = demo_scenario()
    return render(
        ctx.request,
        "simulation_run.html",
        ctx,
        strategies=[s.value for s in Strategy],
        groups=[g.name for g in base.agents],
        intervals=list(enumerate(_labels(base, _zone(ctx)))),
    )
