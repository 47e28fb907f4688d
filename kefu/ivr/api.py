"""HTTP API of the IVR: flows (drafts, validation, publish, roll back), prompts, metrics."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from kefu.api.deps import Ctx, require
from kefu.api.problems import request_locale
from kefu.core.errors import FieldError, NotFoundError, ValidationFailed
from kefu.core.i18n import translate
from kefu.ivr import services
from kefu.ivr.flows import Finding, check
from kefu.ivr.formats import dump_source, load_source
from kefu.ivr.schemas import FlowIn, FlowOut, SourceIn, VersionOut
from kefu.ivr.tables import IvrFlow, IvrPrompt

__all__ = ["findings_out", "router"]

router = APIRouter(prefix="/ivr", tags=["ivr"])
READ, MANAGE, REPORT = "ivr.read", "ivr.manage", "ivr.report"


def findings_out(findings: list[Finding], locale: str) -> list[dict[str, Any]]:
    return [
        {**f.as_dict(), "message": translate(f.key, locale, default=f.code, **dict(f.params))}
        for f in sorted(findings, key=lambda f: (f.level != "error", f.node or ""))
    ]


def _definition(body: SourceIn) -> Any:
    if body.definition is not None:
        return body.definition
    return load_source(body.source or "", body.format)


def _as_mapping(definition: Any) -> dict[str, Any]:
    if not isinstance(definition, dict):
        raise ValidationFailed(
            "ivr_flow_invalid",
            errors=[FieldError("flow", "ivr.finding.not_a_flow", level="error", node="")],
            count=1,
        )
    return definition


def _version_out(row: Any) -> dict[str, Any]:
    return VersionOut.model_validate(row).model_dump()


@router.post("/validate", summary="Check a definition against the format and the design rules")
def validate_flow(
    body: SourceIn, request: Request, ctx: Ctx = Depends(require(READ))
) -> dict[str, Any]:
    _, findings = check(_definition(body))
    return {
        "valid": not any(f.level == "error" for f in findings),
        "findings": findings_out(findings, request_locale(request)),
    }


@router.get("/flows", summary="The tenant's flows")
def list_flows(ctx: Ctx = Depends(require(READ))) -> dict[str, Any]:
    rows, total = ctx.scope.list(ctx.scope.select(IvrFlow).order_by(IvrFlow.code), limit=500)
    return {"items": [FlowOut.model_validate(r).model_dump() for r in rows], "total": total}


@router.post("/flows", status_code=201, summary="Create a flow with its first draft")
def create_flow(
    body: FlowIn, request: Request, ctx: Ctx = Depends(require(MANAGE))
) -> dict[str, Any]:
    definition = _as_mapping(_definition(body))
    flow, version, findings = services.create_flow(
        ctx.scope, code=body.code, name=body.name, definition=definition
    )
    ctx.commit()
    return {
        "flow": FlowOut.model_validate(flow).model_dump(),
        "version": _version_out(version),
        "findings": findings_out(findings, request_locale(request)),
    }


@router.get("/flows/{flow_id}", summary="A flow with its versions")
def get_flow(flow_id: int, ctx: Ctx = Depends(require(READ))) -> dict[str, Any]:
    flow = ctx.scope.get(IvrFlow, flow_id, entity="ivr_flows")
    return {
        "flow": FlowOut.model_validate(flow).model_dump(),
        "versions": [_version_out(v) for v in services.versions(ctx.scope, flow.id)],
    }


@router.put("/flows/{flow_id}/draft", summary="Save the draft (a new version after a publish)")
def save_draft(
    flow_id: int, body: SourceIn, request: Request, ctx: Ctx = Depends(require(MANAGE))
) -> dict[str, Any]:
    definition = _as_mapping(_definition(body))
    version, findings = services.save_draft(ctx.scope, flow_id, definition)
    ctx.commit()
    return {
        "version": _version_out(version),
        "findings": findings_out(findings, request_locale(request)),
    }


@router.get("/flows/{flow_id}/versions/{version}", summary="One version: definition, source")
def get_version(
    flow_id: int,
    version: int,
    request: Request,
    format: Literal["json", "yaml"] = "json",
    ctx: Ctx = Depends(require(READ)),
) -> dict[str, Any]:
    rows = [v for v in services.versions(ctx.scope, flow_id) if v.version == version]
    if not rows:
        raise NotFoundError(entity="ivr_flow_versions", id=version)
    row = rows[0]
    _, findings = check(row.definition)
    return {
        **_version_out(row),
        "definition": row.definition,
        "source": dump_source(row.definition, format),
        "format": format,
        "findings": findings_out(findings, request_locale(request)),
    }


@router.post("/flows/{flow_id}/versions/{version}/publish", summary="Publish a version")
def publish(
    flow_id: int, version: int, request: Request, ctx: Ctx = Depends(require(MANAGE))
) -> dict[str, Any]:
    row, findings = services.publish(ctx.scope, flow_id, version)
    ctx.commit()
    return {
        "version": _version_out(row),
        "findings": findings_out(findings, request_locale(request)),
    }


@router.post("/flows/{flow_id}/versions/{version}/rollback", summary="Publish an earlier version")
def rollback(
    flow_id: int, version: int, request: Request, ctx: Ctx = Depends(require(MANAGE))
) -> dict[str, Any]:
    row, findings = services.rollback(ctx.scope, flow_id, version)
    ctx.commit()
    return {
        "version": _version_out(row),
        "findings": findings_out(findings, request_locale(request)),
    }


def _period(
    since: datetime | None, until: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    end = until or now + timedelta(seconds=1)  # include what was recorded just now
    start = since or end - timedelta(days=7)
    if start.tzinfo is None or end.tzinfo is None or start >= end:
        raise ValidationFailed(errors=[FieldError("since", "error.field.invalid")])
    return start, end


@router.get("/reports", summary="Flows with their session counts and rates over a period")
def report_flows(
    since: datetime | None = None,
    until: datetime | None = None,
    ctx: Ctx = Depends(require(REPORT)),
) -> dict[str, Any]:
    start, end = _period(since, until, ctx.container.clock.now())
    items = []
    for flow in ctx.session.scalars(ctx.scope.select(IvrFlow).order_by(IvrFlow.code)):
        m = services.metrics(ctx.scope, flow.id, start, end)
        summary = m.as_dict()
        summary.pop("nodes")
        items.append({"id": flow.id, "code": flow.code, "name": flow.name, **summary})
    return {"items": items, "total": len(items), "since": start, "until": end}


@router.get("/reports/{flow_id}", summary="Per-node metrics of a flow over a period")
def report_flow(
    flow_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
    version: int | None = Query(default=None, ge=1),
    ctx: Ctx = Depends(require(REPORT)),
) -> dict[str, Any]:
    flow = ctx.scope.get(IvrFlow, flow_id, entity="ivr_flows")
    start, end = _period(since, until, ctx.container.clock.now())
    m = services.metrics(ctx.scope, flow.id, start, end, version)
    return {
        "flow": {"id": flow.id, "code": flow.code, "name": flow.name},
        "since": start,
        "until": end,
        **m.as_dict(),
    }


# ---------------------------------------------------------------------------- prompts


def _prompt_out(row: IvrPrompt) -> dict[str, Any]:
    return {
        "id": row.id,
        "code": row.code,
        "name": row.name,
        "text": row.text,
        "content_type": row.content_type,
        "size": row.size,
        "sha256": row.sha256,
        "updated_at": row.updated_at,
    }


@router.get("/prompts", summary="Prompts (uploaded audio and/or text)")
def list_prompts(ctx: Ctx = Depends(require(READ))) -> dict[str, Any]:
    rows, total = ctx.scope.list(ctx.scope.select(IvrPrompt).order_by(IvrPrompt.code), limit=1000)
    return {"items": [_prompt_out(r) for r in rows], "total": total}


@router.post("/prompts", status_code=201, summary="Create or replace a prompt (multipart)")
async def save_prompt(
    code: str = Form(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,59}$"),
    name: str = Form(min_length=1, max_length=120),
    text: str = Form(default="", max_length=2000),
    audio: UploadFile | None = File(default=None),
    ctx: Ctx = Depends(require(MANAGE)),
) -> dict[str, Any]:
    data = None
    content_type = ""
    if audio is not None:
        data = await audio.read(services.MAX_AUDIO_BYTES + 1)
        content_type = audio.content_type or ""
    row = services.save_prompt(
        ctx.scope, code=code, name=name, text=text, audio=data, content_type=content_type
    )
    ctx.commit()
    return _prompt_out(row)


@router.get("/prompts/{prompt_id}/audio", summary="The prompt's audio")
def prompt_audio(prompt_id: int, ctx: Ctx = Depends(require(READ))) -> Response:
    row = ctx.scope.get(IvrPrompt, prompt_id, entity="ivr_prompts")
    if row.audio is None:
        raise NotFoundError(entity="ivr_prompt_audio", id=prompt_id)
    return Response(row.audio, media_type=row.content_type, headers={"Cache-Control": "no-store"})


@router.delete("/prompts/{prompt_id}", status_code=204, summary="Delete a prompt")
def delete_prompt(prompt_id: int, ctx: Ctx = Depends(require(MANAGE))) -> Response:
    services.delete_prompt(ctx.scope, prompt_id)
    ctx.commit()
    return Response(status_code=204)
