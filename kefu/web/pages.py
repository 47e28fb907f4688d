"""The web shell: sign-in, language switch, role-aware navigation and the first pages."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select

from kefu.api.deps import SESSION_COOKIE, Ctx, get_ctx
from kefu.core.errors import AuthenticationError, DomainError
from kefu.core.i18n import LOCALES, negotiate, translate
from kefu.core.ids import new_token
from kefu.customers import mask_phone
from kefu.customers.tables import Customer, Interaction
from kefu.tenancy import NAV_ITEMS
from kefu.tenancy import services as tenancy
from kefu.tenancy.tables import AuditEntry, Site, Team, Tenant, User

__all__ = ["mount_web"]

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)
_FIRST = ("username", "display_name", "name", "code", "day")


def _changes(values: dict[str, Any] | None, limit: int = 200) -> str:
    """An audit row's values as ``key=value`` text, identifying fields first."""
    if not values:
        return ""
    keys = [k for k in _FIRST if k in values] + sorted(k for k in values if k not in _FIRST)
    text = ", ".join(f"{k}={values[k]}" for k in keys if values[k] not in (None, "", []))
    return text if len(text) <= limit else text[: limit - 1] + "…"


templates.env.filters["changes"] = _changes
LOGIN_CSRF_COOKIE = "kefu_login_csrf"


def _locale(request: Request, fallback: str | None = None) -> str:
    return negotiate(
        request.cookies.get("kefu_lang"), fallback, request.headers.get("accept-language")
    )


def render(
    request: Request, name: str, ctx: Ctx | None = None, status: int = 200, **data: Any
) -> HTMLResponse:
    principal = ctx.principal if ctx else None
    locale = _locale(request, principal.locale if principal else None)

    def t(key: str, **params: Any) -> str:
        return translate(key, locale, **params)

    nav = []
    if principal is not None:
        nav = [n for n in NAV_ITEMS if n.permission is None or principal.can(n.permission)]
    other = "en" if locale == "zh-CN" else "zh-CN"
    context = {
        "request": request,
        "t": t,
        "locale": locale,
        "other_locale": other,
        "nav": nav,
        "principal": principal,
        "csrf_token": ctx.csrf_token if ctx else "",
        "path": request.url.path,
        "mask_phone": mask_phone,
        **data,
    }
    return templates.TemplateResponse(request, name, context, status_code=status)


class _LoginRequired(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def page_ctx(permission: str | None = None) -> Any:
    """Dependency for pages: a signed-in user (else redirect to /login) holding ``permission``."""

    def dependency(request: Request, ctx: Ctx = Depends(get_ctx)) -> Ctx:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            raise _LoginRequired("")
        try:
            ctx.principal, ctx.csrf_token = tenancy.principal_from_session(
                ctx.session, raw, ctx.container.clock
            )
        except AuthenticationError as exc:
            raise _LoginRequired(exc.code) from exc
        if permission and not ctx.principal.can(permission):
            raise DomainError("permission_denied", status=403, permission=permission)
        return ctx

    return dependency


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, reason: str = "", next: str = "/") -> Response:
    token = new_token(nbytes=16)
    response = render(request, "login.html", reason=reason, next=next, login_csrf=token)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return response


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    username: str = Form(max_length=80),
    password: str = Form(max_length=200),
    csrf_token: str = Form(max_length=64),
    next: str = Form("/", max_length=500),
    ctx: Ctx = Depends(get_ctx),
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return RedirectResponse("/login?reason=csrf_failed", status_code=303)
    try:
        user = tenancy.authenticate(ctx.session, username, password)
    except AuthenticationError:
        token = new_token(nbytes=16)
        failed = render(
            request,
            "login.html",
            reason="bad_credentials",
            next=next,
            login_csrf=token,
            username=username,
            status=401,
        )
        failed.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
        return failed
    raw, _csrf = tenancy.start_session(
        ctx.session, user, ctx.container.clock, ctx.container.settings.session_hours
    )
    ctx.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        httponly=True,
        samesite="lax",
        path="/",
        secure=ctx.container.settings.cookie_secure,
        max_age=int(ctx.container.settings.session_hours * 3600),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(csrf_token: str = Form(max_length=64), ctx: Ctx = Depends(page_ctx())) -> Response:
    if hmac.compare_digest(csrf_token, ctx.csrf_token):
        tenancy.end_session(ctx.session, ctx.request.cookies[SESSION_COOKIE], ctx.container.clock)
        ctx.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{locale}")
def switch_language(locale: str, request: Request, next: str = "/") -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    if locale in LOCALES:
        response.set_cookie("kefu_lang", locale, max_age=365 * 86400, samesite="lax", path="/")
    return response


def _count(ctx: Ctx, model: Any) -> int:
    return int(
        ctx.session.scalar(select(func.count()).select_from(ctx.scope.select(model).subquery()))
        or 0
    )


@router.get("/", response_class=HTMLResponse)
def home(ctx: Ctx = Depends(page_ctx())) -> Response:
    scope = ctx.scope
    tenant = ctx.session.get(Tenant, scope.tenant_id)
    sizes = ctx.session.execute(
        select(Team.name, func.count(User.id))
        .join(User, User.team_id == Team.id, isouter=True)
        .where(Team.tenant_id == scope.tenant_id)
        .group_by(Team.id, Team.name)
        .order_by(Team.name)
    ).all()
    counts = {"sites": _count(ctx, Site), "teams": _count(ctx, Team), "users": _count(ctx, User)}
    return render(
        ctx.request,
        "home.html",
        ctx,
        tenant=tenant,
        counts=counts,
        team_sizes=[{"name": n, "value": v} for n, v in sizes],
    )


@router.get("/workspace", response_class=HTMLResponse)
def workspace(ctx: Ctx = Depends(page_ctx("desktop.use"))) -> Response:
    me = ctx.scope.get(User, ctx.scope.principal.user_id)
    team = ctx.session.get(Team, me.team_id) if me.team_id else None
    leader = ctx.session.get(User, team.leader_id) if team and team.leader_id else None
    mates = (
        list(ctx.session.scalars(ctx.scope.select(User).where(User.team_id == me.team_id)))
        if team
        else []
    )
    return render(ctx.request, "workspace.html", ctx, me=me, team=team, leader=leader, mates=mates)


@router.get("/team", response_class=HTMLResponse)
def team_page(ctx: Ctx = Depends(page_ctx("agents.supervise"))) -> Response:
    query = ctx.scope.select(Team).order_by(Team.name)
    if (
        "team_leader" in ctx.scope.principal.roles
        and "duty_manager" not in ctx.scope.principal.roles
    ):
        query = query.where(Team.leader_id == ctx.scope.principal.user_id)
    teams = list(ctx.session.scalars(query))
    members = {
        t.id: list(
            ctx.session.scalars(
                ctx.scope.select(User).where(User.team_id == t.id).order_by(User.job_number)
            )
        )
        for t in teams
    }
    return render(ctx.request, "team.html", ctx, teams=teams, members=members)


@router.get("/customers", response_class=HTMLResponse)
def customers_page(q: str = "", ctx: Ctx = Depends(page_ctx("customers.read"))) -> Response:
    query = ctx.scope.select(Customer).order_by(Customer.id)
    if q.strip():
        query = query.where(Customer.name.contains(q.strip()[:50], autoescape=True))
    rows, total = ctx.scope.list(query, limit=50)
    counts = dict(
        ctx.session.execute(
            select(Interaction.customer_id, func.count(Interaction.id))
            .where(Interaction.customer_id.in_([c.id for c in rows]))
            .group_by(Interaction.customer_id)
        ).all()
    )
    return render(
        ctx.request, "customers.html", ctx, customers=rows, total=total, q=q, counts=counts
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(ctx: Ctx = Depends(page_ctx("users.read"))) -> Response:
    users, total = ctx.scope.list(ctx.scope.select(User).order_by(User.id), limit=500)
    teams = {t.id: t for t in ctx.session.scalars(ctx.scope.select(Team))}
    from kefu.tenancy.model import Role

    return render(
        ctx.request, "users.html", ctx, users=users, total=total, teams=teams, roles=list(Role)
    )


@router.get("/admin/org", response_class=HTMLResponse)
def org_page(ctx: Ctx = Depends(page_ctx("org.manage"))) -> Response:
    sites = list(ctx.session.scalars(ctx.scope.select(Site).order_by(Site.code)))
    teams = list(ctx.session.scalars(ctx.scope.select(Team).order_by(Team.name)))
    users = {u.id: u for u in ctx.session.scalars(ctx.scope.select(User))}
    return render(
        ctx.request,
        "org.html",
        ctx,
        sites=sites,
        teams=teams,
        users=users,
        site_names={s.id: s.name for s in sites},
    )


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(ctx: Ctx = Depends(page_ctx("audit.read"))) -> Response:
    rows, total = ctx.scope.list(
        ctx.scope.select(AuditEntry).order_by(AuditEntry.id.desc()), limit=200
    )
    return render(ctx.request, "audit.html", ctx, rows=rows, total=total)


@router.get("/admin/tenants", response_class=HTMLResponse)
def tenants_page(ctx: Ctx = Depends(page_ctx("tenants.manage"))) -> Response:
    tenants = list(ctx.session.scalars(select(Tenant).order_by(Tenant.id)))
    return render(ctx.request, "tenants.html", ctx, tenants=tenants)


def mount_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(router)

    @app.exception_handler(_LoginRequired)
    async def _to_login(request: Request, exc: _LoginRequired) -> Response:
        target = f"/login?next={quote(request.url.path)}"
        if exc.reason:
            target += f"&reason={exc.reason}"
        return RedirectResponse(target, status_code=303)
