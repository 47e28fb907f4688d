"""HTTP API of tenancy and access: auth, tokens, users, sites, teams, holidays, audit, tenants."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel
from sqlalchemy import select

from kefu.api.crud import CrudSpec, crud_router
from kefu.api.deps import SESSION_COOKIE, Ctx, get_ctx, require
from kefu.api.schemas import Page
from kefu.core.errors import PermissionDeniedError
from kefu.tenancy import services
from kefu.tenancy.model import NAV_ITEMS
from kefu.tenancy.schemas import (
    HolidayIn,
    HolidayOut,
    HolidayPatch,
    LoginIn,
    SiteIn,
    SiteOut,
    SitePatch,
    TeamIn,
    TeamOut,
    TeamPatch,
    TenantIn,
    TenantOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)
from kefu.tenancy.tables import ApiToken, AuditEntry, Site, Team, Tenant, TenantHoliday, User

__all__ = ["router"]

router = APIRouter()

# --- sign-in -------------------------------------------------------------------------------


class MeOut(BaseModel):
    id: int
    username: str
    display_name: str
    tenant_id: int
    roles: list[str]
    permissions: list[str]
    locale: str
    navigation: list[str]
    csrf_token: str


def _me(ctx: Ctx) -> MeOut:
    p = ctx.principal
    assert p is not None
    return MeOut(
        id=p.user_id,
        username=p.username,
        display_name=p.display_name,
        tenant_id=p.tenant_id,
        roles=sorted(p.roles),
        permissions=sorted(p.permissions),
        locale=p.locale,
        navigation=[n.key for n in NAV_ITEMS if n.permission is None or p.can(n.permission)],
        csrf_token=ctx.csrf_token,
    )


def set_session_cookie(response: Response, ctx: Ctx, raw: str) -> None:
    settings = ctx.container.settings
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=int(timedelta(hours=settings.session_hours).total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


@router.post(
    "/auth/login", response_model=MeOut, tags=["auth"], summary="Sign in (sets the session cookie)"
)
def login(body: LoginIn, response: Response, ctx: Ctx = Depends(get_ctx)) -> MeOut:
    user = services.authenticate(ctx.session, body.username, body.password)
    raw, csrf = services.start_session(
        ctx.session, user, ctx.container.clock, ctx.container.settings.session_hours
    )
    ctx.principal, ctx.csrf_token = services.principal_for(user), csrf
    ctx.commit()
    set_session_cookie(response, ctx, raw)
    return _me(ctx)


@router.post("/auth/logout", status_code=204, tags=["auth"], summary="Sign out")
def logout(ctx: Ctx = Depends(require())) -> Response:
    raw = ctx.request.cookies.get(SESSION_COOKIE)
    if raw:
        services.end_session(ctx.session, raw, ctx.container.clock)
        ctx.commit()
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=MeOut, tags=["auth"], summary="Who am I")
def me(ctx: Ctx = Depends(require())) -> MeOut:
    return _me(ctx)


# --- API tokens ----------------------------------------------------------------------------


class IssuedTokenOut(TokenOut):
    token: str


@router.get("/auth/tokens", response_model=Page[TokenOut], tags=["auth"], summary="My API tokens")
def list_tokens(ctx: Ctx = Depends(require("tokens.manage"))) -> dict[str, Any]:
    query = ctx.scope.select(ApiToken).where(ApiToken.user_id == ctx.scope.principal.user_id)
    rows, total = ctx.scope.list(query.order_by(ApiToken.id))
    return {"items": rows, "total": total}


@router.post(
    "/auth/tokens",
    status_code=201,
    response_model=IssuedTokenOut,
    tags=["auth"],
    summary="Issue an API token (shown once)",
)
def issue_token(body: TokenIn, ctx: Ctx = Depends(require("tokens.manage"))) -> dict[str, Any]:
    if ctx.principal is not None and ctx.principal.via == "token":
        raise PermissionDeniedError("token_cannot_issue")
    issued = services.create_api_token(ctx.scope, body.name, body.expires_at)
    out = TokenOut.model_validate(issued.token).model_dump() | {"token": issued.secret}
    ctx.commit()
    return out


@router.delete(
    "/auth/tokens/{token_id}", status_code=204, tags=["auth"], summary="Revoke an API token"
)
def revoke_token(token_id: int, ctx: Ctx = Depends(require("tokens.manage"))) -> Response:
    services.revoke_api_token(ctx.scope, token_id)
    ctx.commit()
    return Response(status_code=204)


# --- users ---------------------------------------------------------------------------------


@router.get("/users", response_model=Page[UserOut], tags=["users"], summary="List users")
def list_users(
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    team_id: int | None = None,
    ctx: Ctx = Depends(require("users.read")),
) -> dict[str, Any]:
    query = ctx.scope.select(User).order_by(User.id)
    if team_id is not None:
        query = query.where(User.team_id == team_id)
    rows, total = ctx.scope.list(query, limit=limit, offset=offset)
    return {"items": rows, "total": total}


@router.post(
    "/users", status_code=201, response_model=UserOut, tags=["users"], summary="Create a user"
)
def create_user(body: UserIn, ctx: Ctx = Depends(require("users.manage"))) -> User:
    values = body.model_dump()
    values["roles"] = [str(r) for r in body.roles]
    user = services.create_user(ctx.scope, **values)
    ctx.commit()
    return user


@router.get("/users/{user_id}", response_model=UserOut, tags=["users"], summary="Get a user")
def get_user(user_id: int, ctx: Ctx = Depends(require("users.read"))) -> User:
    return ctx.scope.get(User, user_id, entity="users")


@router.patch("/users/{user_id}", response_model=UserOut, tags=["users"], summary="Change a user")
def update_user(user_id: int, body: UserPatch, ctx: Ctx = Depends(require("users.manage"))) -> User:
    changes = body.model_dump(exclude_unset=True)
    if "roles" in changes and changes["roles"] is not None:
        changes["roles"] = [str(r) for r in changes["roles"]]
    user = services.update_user(ctx.scope, user_id, **changes)
    ctx.commit()
    return user


# --- audit ---------------------------------------------------------------------------------


class AuditOut(BaseModel):
    model_config = {"from_attributes": True}
    id: int
    at: Any
    actor_id: int | None
    actor_name: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str


@router.get(
    "/audit", response_model=Page[AuditOut], tags=["audit"], summary="Audit log, newest first"
)
def list_audit(
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    entity: str | None = Query(None, max_length=80),
    ctx: Ctx = Depends(require("audit.read")),
) -> dict[str, Any]:
    query = ctx.scope.select(AuditEntry).order_by(AuditEntry.id.desc())
    if entity:
        query = query.where(AuditEntry.entity == entity)
    rows, total = ctx.scope.list(query, limit=limit, offset=offset)
    return {"items": rows, "total": total}


# --- tenants (platform operators only) -----------------------------------------------------


@router.get("/tenants/current", response_model=TenantOut, tags=["tenants"], summary="My tenant")
def current_tenant(ctx: Ctx = Depends(require())) -> Tenant:
    tenant = ctx.session.get(Tenant, ctx.scope.tenant_id)
    assert tenant is not None
    return tenant


@router.get("/tenants", response_model=Page[TenantOut], tags=["tenants"], summary="All tenants")
def list_tenants(ctx: Ctx = Depends(require("tenants.manage"))) -> dict[str, Any]:
    rows = list(ctx.session.scalars(select(Tenant).order_by(Tenant.id)))
    return {"items": rows, "total": len(rows)}


@router.post(
    "/tenants",
    status_code=201,
    response_model=TenantOut,
    tags=["tenants"],
    summary="Create a tenant",
)
def create_tenant(body: TenantIn, ctx: Ctx = Depends(require("tenants.manage"))) -> Tenant:
    tenant = services.create_tenant(ctx.session, ctx.container.clock, **body.model_dump())
    ctx.commit()
    return tenant


# --- simple configuration tables -----------------------------------------------------------

for spec in (
    CrudSpec("sites", "site", Site, SiteIn, SitePatch, SiteOut, "org.read", "org.manage"),
    CrudSpec(
        "teams",
        "team",
        Team,
        TeamIn,
        TeamPatch,
        TeamOut,
        "org.read",
        "org.manage",
        refs={"site_id": Site, "leader_id": User},
    ),
    CrudSpec(
        "calendar/holidays",
        "holiday",
        TenantHoliday,
        HolidayIn,
        HolidayPatch,
        HolidayOut,
        "org.read",
        "calendar.manage",
        order_by="day",
        tags=("calendar",),
    ),
):
    router.include_router(crud_router(spec))
