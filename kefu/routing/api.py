"""HTTP API of routing: contacts, the agent's own actions, supervision and configuration."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from sqlalchemy import select

from kefu.api.crud import CrudSpec, crud_router
from kefu.api.deps import Ctx, require
from kefu.core.errors import DomainError, FieldError, NotFoundError, ValidationFailed
from kefu.routing.schemas import (
    AgentSkillsIn,
    ContactIn,
    ContactOut,
    QueueIn,
    QueueOut,
    QueuePatch,
    SkillIn,
    SkillOut,
    SkillPatch,
    StateIn,
    TransferIn,
)
from kefu.routing.services import RoutingService
from kefu.routing.tables import AgentSkill, QueueConfig, Skill
from kefu.tenancy import Scoped, add_audit, user_in_tenant
from kefu.tenancy.tables import Site

__all__ = ["router"]

router = APIRouter(prefix="/routing", tags=["routing"])


def _service(ctx: Ctx) -> RoutingService:
    service: RoutingService = ctx.container.routing_service
    return service


def _sync(ctx: Ctx) -> None:
    scope = ctx.scope
    _service(ctx).sync_tenant(ctx.session, scope.tenant_id, scope.principal)


def _no_content() -> Response:
    return Response(status_code=204)


# --- configuration -------------------------------------------------------------------------

router.include_router(
    crud_router(
        CrudSpec(
            "skills",
            "skill",
            Skill,
            SkillIn,
            SkillPatch,
            SkillOut,
            "org.read",
            "routing.manage",
            topic="routing.config",
            tags=("routing",),
            after_write=_sync,
        )
    )
)
router.include_router(
    crud_router(
        CrudSpec(
            "queues",
            "queue",
            QueueConfig,
            QueueIn,
            QueuePatch,
            QueueOut,
            "org.read",
            "routing.manage",
            topic="routing.config",
            tags=("routing",),
            after_write=_sync,
            refs={"site_id": Site},
        )
    )
)


@router.put("/agents/{user_id}/skills", summary="Set an agent's skill levels (1-10)")
def set_agent_skills(
    user_id: int, body: AgentSkillsIn, ctx: Ctx = Depends(require("routing.manage"))
) -> dict[str, int]:
    scope = ctx.scope
    user = user_in_tenant(scope, user_id)
    known = {s.code: s for s in ctx.session.scalars(scope.select(Skill))}
    unknown = sorted(set(body.skills) - set(known))
    bad = [c for c, level in body.skills.items() if not 1 <= level <= 10]
    if unknown or bad:
        raise ValidationFailed(
            errors=[
                FieldError(f"skills.{c}", "error.field.unknown_reference", value=c) for c in unknown
            ]
            + [FieldError(f"skills.{c}", "error.field.invalid") for c in bad]
        )
    for row in ctx.session.scalars(scope.select(AgentSkill).where(AgentSkill.user_id == user_id)):
        ctx.session.delete(row)
    ctx.session.flush()
    for code, level in sorted(body.skills.items()):
        scope.add(AgentSkill(user_id=user_id, skill_id=known[code].id, level=level))
    scope.emit("agent_skills.updated", "routing.config", {"user_id": user_id})
    ctx.commit()
    _service(ctx).set_skills(scope, user)
    return dict(sorted(body.skills.items()))


# --- contacts ------------------------------------------------------------------------------


def _contact_out(service: RoutingService, scope: Scoped, contact_id: str) -> dict[str, Any]:
    row = service.contact(scope, contact_id)
    out = ContactOut.model_validate(row).model_dump(mode="json")
    if row.status == "waiting":
        out.update(service.position(contact_id) or {})
    return out


@router.post("/contacts", status_code=201, response_model=ContactOut, summary="Queue a contact")
def create_contact(
    body: ContactIn, ctx: Ctx = Depends(require("routing.contacts"))
) -> dict[str, Any]:
    service, scope = _service(ctx), ctx.scope
    exists = ctx.session.scalar(scope.select(QueueConfig).where(QueueConfig.code == body.queue))
    if exists is None:
        raise NotFoundError(entity="queue", id=body.queue)
    if f"{scope.tenant_id}.{body.queue}" not in service.runtime.queue_configs:
        service.sync_tenant(ctx.session, scope.tenant_id, scope.principal)
    row = service.arrive(scope, **body.model_dump())
    return _contact_out(service, scope, row.id)


@router.get(
    "/contacts/{contact_id}",
    response_model=ContactOut,
    summary="A contact, with its queue position",
)
def get_contact(contact_id: str, ctx: Ctx = Depends(require("routing.contacts"))) -> dict[str, Any]:
    return _contact_out(_service(ctx), ctx.scope, contact_id)


@router.post("/contacts/{contact_id}/abandon", status_code=204, summary="The customer gave up")
def abandon_contact(contact_id: str, ctx: Ctx = Depends(require("routing.contacts"))) -> Response:
    _service(ctx).abandon(ctx.scope, contact_id)
    return _no_content()


@router.post(
    "/contacts/{contact_id}/callback",
    status_code=204,
    summary="Call the customer back instead of waiting (keeps the place in the queue)",
)
def callback_contact(contact_id: str, ctx: Ctx = Depends(require("routing.contacts"))) -> Response:
    _service(ctx).callback(ctx.scope, contact_id)
    return _no_content()


@router.post(
    "/contacts/{contact_id}/transfer", status_code=204, summary="Move a contact (supervisor)"
)
def transfer_contact(
    contact_id: str, body: TransferIn, ctx: Ctx = Depends(require("agents.supervise"))
) -> Response:
    _service(ctx).transfer(
        ctx.scope, contact_id, to_queue=body.queue, to_agent=body.agent_id, note=body.note
    )
    return _no_content()


# --- the agent's own actions ---------------------------------------------------------------


@router.get("/me", summary="My routing state, offers and contacts")
def my_state(ctx: Ctx = Depends(require("desktop.use"))) -> dict[str, Any]:
    view = _service(ctx).agent_view(ctx.scope.principal.user_id)
    return view or {"state": "offline", "slots": {}}


@router.post("/me/login", status_code=204, summary="Log in to routing (not ready)")
def agent_login(ctx: Ctx = Depends(require("desktop.use"))) -> Response:
    scope = ctx.scope
    _service(ctx).login(scope, user_in_tenant(scope, scope.principal.user_id))
    return _no_content()


@router.post("/me/logout", status_code=204, summary="Log out of routing (only when idle)")
def agent_logout(ctx: Ctx = Depends(require("desktop.use"))) -> Response:
    _service(ctx).logout(ctx.scope, ctx.scope.principal.user_id)
    return _no_content()


@router.put("/me/state", status_code=204, summary="Ready, or not ready with a reason code")
def agent_state(body: StateIn, ctx: Ctx = Depends(require("desktop.use"))) -> Response:
    _service(ctx).set_state(ctx.scope, ctx.scope.principal.user_id, body.presence, body.reason)
    return _no_content()


@router.post("/me/offers/{contact_id}/accept", status_code=204, summary="Answer an offer")
def accept_offer(contact_id: str, ctx: Ctx = Depends(require("desktop.use"))) -> Response:
    _service(ctx).accept(ctx.scope, ctx.scope.principal.user_id, contact_id)
    return _no_content()


@router.post("/me/offers/{contact_id}/decline", status_code=204, summary="Decline an offer")
def decline_offer(contact_id: str, ctx: Ctx = Depends(require("desktop.use"))) -> Response:
    _service(ctx).decline(ctx.scope, ctx.scope.principal.user_id, contact_id)
    return _no_content()


@router.post(
    "/me/contacts/{contact_id}/complete", status_code=204, summary="End a contact (wrap-up starts)"
)
def complete_contact(contact_id: str, ctx: Ctx = Depends(require("desktop.use"))) -> Response:
    _service(ctx).complete(ctx.scope, ctx.scope.principal.user_id, contact_id)
    return _no_content()


@router.post(
    "/me/contacts/{contact_id}/transfer", status_code=204, summary="Transfer my contact with a note"
)
def agent_transfer(
    contact_id: str, body: TransferIn, ctx: Ctx = Depends(require("desktop.use"))
) -> Response:
    service, scope = _service(ctx), ctx.scope
    row = service.contact(scope, contact_id)
    if row.agent_id != scope.principal.user_id or row.status != "active":
        raise DomainError("not_your_contact", status=409)
    service.transfer(scope, contact_id, to_queue=body.queue, to_agent=body.agent_id, note=body.note)
    return _no_content()


@router.post("/me/wrap-up/finish", status_code=204, summary="Finish after-contact work")
def finish_wrap_up(
    contact_id: str | None = None, ctx: Ctx = Depends(require("desktop.use"))
) -> Response:
    _service(ctx).finish_wrap_up(ctx.scope, ctx.scope.principal.user_id, contact_id)
    return _no_content()


# --- supervision ---------------------------------------------------------------------------


@router.get("/stats", summary="Live queue statistics and agents by state")
def live_stats(ctx: Ctx = Depends(require("agents.supervise"))) -> dict[str, Any]:
    service, scope = _service(ctx), ctx.scope
    if not any(q.startswith(f"{scope.tenant_id}.") for q in service.runtime.queue_configs):
        service.sync_tenant(ctx.session, scope.tenant_id, scope.principal)
    stats: dict[str, Any] = service.runtime.tenant_stats(scope.tenant_id)
    return stats


@router.get("/agents", summary="Logged-in agents of my tenant with their state")
def list_agents(ctx: Ctx = Depends(require("agents.supervise"))) -> dict[str, Any]:
    service, tenant_id = _service(ctx), ctx.scope.tenant_id
    ids = sorted(int(a) for a, t in service.runtime.agent_tenant.items() if t == tenant_id)
    return {"items": [{"user_id": i, **(service.agent_view(i) or {})} for i in ids]}


@router.put("/agents/{user_id}/state", status_code=204, summary="Force an agent's state (audited)")
def force_state(
    user_id: int, body: StateIn, ctx: Ctx = Depends(require("agents.supervise"))
) -> Response:
    scope = ctx.scope
    user_in_tenant(scope, user_id)
    before = _service(ctx).agent_view(user_id)
    _service(ctx).set_state(scope, user_id, body.presence, body.reason or "supervisor")
    add_audit(
        ctx.session,
        "force_state",
        "agents",
        user_id,
        tenant_id=scope.tenant_id,
        before={"presence": (before or {}).get("presence")},
        after={"presence": body.presence},
        note=body.reason,
    )
    ctx.commit()
    return _no_content()


@router.post(
    "/sites/{code}/down", status_code=204, summary="Take a site out: its waiting contacts re-route"
)
def site_down(code: str, ctx: Ctx = Depends(require("routing.manage"))) -> Response:
    _site_exists(ctx, code)
    _service(ctx).site(ctx.scope, code, up=False)
    return _no_content()


@router.post("/sites/{code}/up", status_code=204, summary="Bring a site back")
def site_up(code: str, ctx: Ctx = Depends(require("routing.manage"))) -> Response:
    _site_exists(ctx, code)
    _service(ctx).site(ctx.scope, code, up=True)
    return _no_content()


def _site_exists(ctx: Ctx, code: str) -> None:
    if (
        ctx.session.scalar(
            select(Site.id).where(Site.tenant_id == ctx.scope.tenant_id, Site.code == code)
        )
        is None
    ):
        raise NotFoundError(entity="site", id=code)
