"""Tenancy and access services: sign-in, sessions, API tokens, tenants and users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.calendar import BusinessCalendar, WeeklyHours
from kefu.core.clock import Clock
from kefu.core.errors import AuthenticationError, ConflictError, FieldError, ValidationFailed
from kefu.core.ids import digest, new_token
from kefu.tenancy.audit import add_audit
from kefu.tenancy.model import Principal, Role, permissions_for
from kefu.tenancy.scope import Scoped
from kefu.tenancy.security import hash_password, verify_password
from kefu.tenancy.tables import ApiToken, Site, Team, Tenant, TenantHoliday, User, WebSession

__all__ = [
    "IssuedToken",
    "authenticate",
    "create_api_token",
    "create_tenant",
    "create_user",
    "end_session",
    "principal_for",
    "principal_from_api_token",
    "principal_from_session",
    "revoke_api_token",
    "start_session",
    "tenant_calendar",
    "update_user",
]

MIN_PASSWORD = 8


def principal_for(user: User, *, via: str = "session") -> Principal:
    roles = frozenset(Role(r) for r in user.roles if r in Role._value2member_map_)
    return Principal(
        user_id=user.id,
        tenant_id=user.tenant_id,
        username=user.username,
        display_name=user.display_name,
        roles=roles,
        superadmin=user.superadmin,
        locale=user.locale,
        via=via,
        team_id=user.team_id,
        permissions=permissions_for(roles, superadmin=user.superadmin),
    )


def authenticate(session: Session, username: str, password: str) -> User:
    """The active user with these credentials; one error for unknown user and wrong password."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        raise AuthenticationError("bad_credentials")
    tenant = session.get(Tenant, user.tenant_id)
    if tenant is None or not tenant.active:
        raise AuthenticationError("bad_credentials")
    return user


def start_session(session: Session, user: User, clock: Clock, hours: float) -> tuple[str, str]:
    """Open a browser session; returns (cookie token, CSRF token)."""
    raw, csrf = new_token(), new_token(nbytes=24)
    now = clock.now()
    session.add(
        WebSession(
            tenant_id=user.tenant_id,
            user_id=user.id,
            token_hash=digest(raw),
            csrf_token=csrf,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    session.info["actor"] = principal_for(user)
    add_audit(session, "login", "users", user.id, tenant_id=user.tenant_id)
    return raw, csrf


_SESSION_USER = select(
    WebSession.ended_at,
    WebSession.expires_at,
    WebSession.csrf_token,
    User.id,
    User.tenant_id,
    User.username,
    User.display_name,
    User.roles,
    User.superadmin,
    User.locale,
    User.team_id,
    User.active,
).join(User, User.id == WebSession.user_id)


def principal_from_session(session: Session, raw: str, clock: Clock) -> tuple[Principal, str]:
    """The principal behind a session cookie and that session's CSRF token.

    One query for the session and its user (every signed-in request runs it)."""
    row = session.execute(_SESSION_USER.where(WebSession.token_hash == digest(raw))).first()
    if row is None or row.ended_at is not None:
        raise AuthenticationError("not_authenticated")
    if row.expires_at <= clock.now():
        raise AuthenticationError("session_expired")
    if not row.active:
        raise AuthenticationError("not_authenticated")
    return principal_for(row), row.csrf_token  # type: ignore[arg-type]  # a row has its fields


def end_session(session: Session, raw: str, clock: Clock) -> None:
    row = session.scalar(select(WebSession).where(WebSession.token_hash == digest(raw)))
    if row is not None and row.ended_at is None:
        row.ended_at = clock.now()
        add_audit(session, "logout", "users", row.user_id, tenant_id=row.tenant_id)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def create_api_token(scope: Scoped, name: str, expires_at: datetime | None = None) -> IssuedToken:
    secret = new_token("kefu_")
    row = scope.add(
        ApiToken(
            user_id=scope.principal.user_id,
            name=name,
            token_hash=digest(secret),
            prefix=secret[:9],
            created_at=scope.clock.now(),
            expires_at=expires_at,
        )
    )
    return IssuedToken(row, secret)


def revoke_api_token(scope: Scoped, token_id: int) -> ApiToken:
    row = scope.get(ApiToken, token_id, entity="api_tokens")
    if row.revoked_at is None:
        row.revoked_at = scope.clock.now()
    return row


def principal_from_api_token(session: Session, secret: str, clock: Clock) -> Principal:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    now = clock.now()
    if row is None or row.revoked_at is not None:
        raise AuthenticationError("bad_token")
    if row.expires_at is not None and row.expires_at <= now:
        raise AuthenticationError("token_expired")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise AuthenticationError("bad_token")
    return principal_for(user, via="token")


def create_tenant(session: Session, clock: Clock, code: str, name: str, **extra: str) -> Tenant:
    if session.scalar(select(Tenant).where(Tenant.code == code)) is not None:
        raise ConflictError("duplicate", field="code", value=code)
    tenant = Tenant(code=code, name=name, created_at=clock.now(), **extra)
    session.add(tenant)
    session.flush()
    return tenant


def _check_user_fields(scope: Scoped, values: dict[str, object]) -> None:
    password = values.get("password")
    if password is not None and len(str(password)) < MIN_PASSWORD:
        raise ValidationFailed(
            errors=[FieldError("password", "error.field.too_short", min=MIN_PASSWORD)]
        )
    scope.check_refs(values, {"site_id": Site, "team_id": Team})


def create_user(scope: Scoped, *, username: str, password: str, **fields: object) -> User:
    _check_user_fields(scope, {"password": password, **fields})
    taken = scope.session.scalar(select(User.id).where(User.username == username))
    if taken is not None:
        raise ConflictError("duplicate", field="username", value=username)
    user = User(
        username=username,
        password_hash=hash_password(password),
        created_at=scope.clock.now(),
        **fields,
    )
    scope.add(user)
    scope.emit("user.created", "tenancy", {"id": user.id, "username": username})
    return user


def update_user(scope: Scoped, user_id: int, **changes: object) -> User:
    user = scope.get(User, user_id, entity="users")
    _check_user_fields(scope, changes)
    password = changes.pop("password", None)
    if password is not None:
        user.password_hash = hash_password(str(password))
    for key, value in changes.items():
        setattr(user, key, value)
    scope.emit("user.updated", "tenancy", {"id": user.id, "fields": sorted(changes)})
    return user


def tenant_calendar(
    session: Session, tenant_id: int, hours: WeeklyHours | None = None
) -> BusinessCalendar:
    """The tenant's business calendar: national holidays and 调休 plus its own exceptions."""
    tenant = session.get(Tenant, tenant_id)
    rows = session.scalars(select(TenantHoliday).where(TenantHoliday.tenant_id == tenant_id)).all()
    return BusinessCalendar(
        hours=hours or WeeklyHours.weekdays("09:00-18:00"),
        timezone=tenant.timezone if tenant else "Asia/Shanghai",
        custom_holidays={r.day: r.name for r in rows if r.kind == "holiday"},
        custom_workdays=frozenset(r.day for r in rows if r.kind == "workday"),
    )
