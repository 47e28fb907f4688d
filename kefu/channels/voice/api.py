"""Voice API: recordings (list, play — logged) and the tenant's retention."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse
from pydantic import Field

from kefu.api.deps import Ctx, require
from kefu.api.schemas import Input
from kefu.channels.voice import services
from kefu.channels.voice.kamailio import voice_for
from kefu.channels.voice.tables import VoiceRecording
from kefu.core.errors import NotFoundError

__all__ = ["router"]

router = APIRouter(prefix="/voice", tags=["voice"])


class SensitiveIn(Input):
    active: bool


class RetentionIn(Input):
    retention_days: int = Field(ge=1, le=3650)


@router.get("/recordings")
def list_recordings(
    contact_id: str | None = None,
    limit: int = 50,
    ctx: Ctx = Depends(require("recordings.read")),
) -> dict[str, Any]:
    query = ctx.scope.select(VoiceRecording).order_by(VoiceRecording.id.desc())
    if contact_id:
        query = query.where(VoiceRecording.contact_id == contact_id)
    rows = ctx.session.scalars(query.limit(max(1, min(limit, 200)))).all()
    return {"items": [services.recording_dict(r) for r in rows]}


@router.get("/recordings/{recording_id}/audio")
def recording_audio(
    recording_id: int, ctx: Ctx = Depends(require("recordings.listen"))
) -> FileResponse:
    path = services.recording_file(ctx.scope, recording_id)
    ctx.commit()  # the access is logged before any byte leaves
    return FileResponse(path, media_type="audio/wav", filename=f"recording-{recording_id}.wav")


@router.post("/calls/{contact_id}/sensitive")
def sensitive_entry(
    contact_id: str, body: SensitiveIn, ctx: Ctx = Depends(require("desktop.use"))
) -> dict[str, Any]:
    """The agent's desk starts/ends sensitive entry (e.g. the caller keys a card number):
    the call's recording pauses meanwhile. Only for the agent connected to that call."""
    control = voice_for(ctx.container)
    agent_id = ctx.scope.principal.user_id
    if control is None or not control.sensitive_entry(contact_id, agent_id, body.active):
        raise NotFoundError(entity="call", id=contact_id)
    return {"contact_id": contact_id, "recording_paused": body.active}


class ControlIn(Input):
    action: str = Field(pattern="^(hold|unhold|mute|unmute|hangup|dtmf)$")
    digits: str = Field(default="", max_length=32, pattern="^[0-9*#]*$")


@router.post("/calls/{contact_id}/control")
def call_control(
    contact_id: str, body: ControlIn, ctx: Ctx = Depends(require("desktop.use"))
) -> dict[str, Any]:
    """The agent's call controls: hold, mute, hang up, DTMF toward the caller's side. A
    transfer goes through routing (``POST /routing/me/contacts/{id}/transfer``): the call
    follows the contact back to a queue."""
    control = voice_for(ctx.container)
    agent_id = ctx.scope.principal.user_id
    if control is None or not control.desk_action(contact_id, agent_id, body.action, body.digits):
        raise NotFoundError(entity="call", id=contact_id)
    return {"contact_id": contact_id, "action": body.action}


@router.get("/settings")
def get_settings(ctx: Ctx = Depends(require("recordings.manage"))) -> dict[str, Any]:
    return {"retention_days": services.retention_days(ctx.session, ctx.scope.tenant_id)}


@router.put("/settings")
def put_settings(
    body: RetentionIn, ctx: Ctx = Depends(require("recordings.manage"))
) -> dict[str, Any]:
    days = services.set_retention(ctx.scope, body.retention_days)
    ctx.commit()
    return {"retention_days": days}
