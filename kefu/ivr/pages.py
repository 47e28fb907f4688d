"""IVR pages: the flow list and editor (JSON/YAML with validation findings, publish, roll back)
and the metrics report per flow and node. They read like the API and write through it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from kefu.api.deps import Ctx
from kefu.api.problems import request_locale
from kefu.ivr import services
from kefu.ivr.api import findings_out
from kefu.ivr.flows import check
from kefu.ivr.formats import dump_source
from kefu.ivr.tables import IvrFlow, IvrPrompt
from kefu.web.pages import page_ctx, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

STARTER: dict[str, Any] = {
    "start": "main",
    "settings": {"human_queue": "default"},
    "nodes": {
        "main": {
            "type": "menu",
            "prompt": "话费查询请按1，人工服务请按0。",
            "options": {"1": "balance"},
        },
        "balance": {"type": "play", "prompt": "请登录网上营业厅查询话费。", "next": "bye"},
        "bye": {"type": "hangup", "prompt": "感谢您的来电，再见。"},
    },
}


@router.get("/ivr", response_class=HTMLResponse)
def flows_page(request: Request, ctx: Ctx = Depends(page_ctx("ivr.read"))) -> HTMLResponse:
    flows = list(ctx.session.scalars(ctx.scope.select(IvrFlow).order_by(IvrFlow.code)))
    prompts = list(ctx.session.scalars(ctx.scope.select(IvrPrompt).order_by(IvrPrompt.code)))
    return render(
        request,
        "ivr_flows.html",
        ctx,
        flows=flows,
        prompts=prompts,
        starter=dump_source(STARTER, "json"),
        can_manage=ctx.principal is not None and ctx.principal.can("ivr.manage"),
    )


@router.get("/ivr/flows/{flow_id}", response_class=HTMLResponse)
def editor_page(
    request: Request,
    flow_id: int,
    version: int | None = None,
    format: Literal["json", "yaml"] = "yaml",
    ctx: Ctx = Depends(page_ctx("ivr.read")),
) -> HTMLResponse:
    flow = ctx.scope.get(IvrFlow, flow_id, entity="ivr_flows")
    versions = services.versions(ctx.scope, flow.id)
    shown = next((v for v in versions if v.version == version), versions[0] if versions else None)
    findings: list[dict[str, Any]] = []
    source = ""
    if shown is not None:
        source = dump_source(shown.definition, format)
        findings = findings_out(check(shown.definition)[1], request_locale(request))
    return render(
        request,
        "ivr_editor.html",
        ctx,
        flow=flow,
        versions=versions,
        shown=shown,
        source=source,
        format=format,
        findings=findings,
        can_manage=ctx.principal is not None and ctx.principal.can("ivr.manage"),
    )


@router.get("/ivr/reports", response_class=HTMLResponse)
def reports_page(
    request: Request, days: int = 7, ctx: Ctx = Depends(page_ctx("ivr.report"))
) -> HTMLResponse:
    days = max(1, min(days, 92))
    end = ctx.container.clock.now() + timedelta(seconds=1)
    start = end - timedelta(days=days)
    rows = []
    for flow in ctx.session.scalars(ctx.scope.select(IvrFlow).order_by(IvrFlow.code)):
        rows.append((flow, services.metrics(ctx.scope, flow.id, start, end)))
    return render(request, "ivr_reports.html", ctx, rows=rows, days=days, flow=None, m=None)


@router.get("/ivr/reports/{flow_id}", response_class=HTMLResponse)
def report_page(
    request: Request, flow_id: int, days: int = 7, ctx: Ctx = Depends(page_ctx("ivr.report"))
) -> HTMLResponse:
    days = max(1, min(days, 92))
    flow = ctx.scope.get(IvrFlow, flow_id, entity="ivr_flows")
    end = ctx.container.clock.now() + timedelta(seconds=1)
    m = services.metrics(ctx.scope, flow.id, end - timedelta(days=days), end)
    chart = [{"name": n.node, "value": n.reached} for n in m.nodes]
    return render(request, "ivr_reports.html", ctx, rows=[], days=days, flow=flow, m=m, chart=chart)
