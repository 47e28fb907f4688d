"""Request context: the container, a database session, the authenticated principal, CSRF."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from kefu.core.errors import AuthenticationError, PermissionDeniedError
from kefu.tenancy import Principal, Scoped
from kefu.tenancy.services import principal_from_api_token, principal_from_session

if TYPE_CHECKING:
    from kefu.bootstrap import Container

__all__ = ["SESSION_COOKIE", "Ctx", "authenticate_request", "get_ctx", "require"]

SESSION_COOKIE = "kefu_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class Ctx:
    """What a handler needs: the container, one session, and (after auth) the principal."""

    container: Container
    session: Session
    request: Request
    principal: Principal | None = None
    csrf_token: str = ""
    _scope: Scoped | None = field(default=None, repr=False)

    @property
    def scope(self) -> Scoped:
        if self.principal is None:
            raise AuthenticationError("not_authenticated")
        if self._scope is None:
            self._scope = Scoped(self.session, self.principal, self.container.clock)
        return self._scope

    def commit(self) -> None:
        """End the unit of work; on failure nothing of it stays (the session rolls back)."""
        try:
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise


def _end(session: Session) -> None:
    session.rollback()
    session.close()


async def get_ctx(request: Request) -> AsyncIterator[Ctx]:
    """Async, so that FastAPI needs no worker thread to open and close it (two thread hops per
    request otherwise): opening a session does no I/O, and neither does closing one that
    holds no transaction — a session still in one is ended on a worker thread."""
    container: Container = request.app.state.container
    session = container.db.sessions()
    session.info["clock"] = container.clock
    try:
        yield Ctx(container, session, request)
    finally:
        if session.in_transaction():
            await run_in_threadpool(_end, session)
        else:
            _end(session)


def authenticate_request(ctx: Ctx) -> Principal:
    """Bearer API token, or session cookie (with CSRF on unsafe methods)."""
    request = ctx.request
    clock = ctx.container.clock
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        principal = principal_from_api_token(ctx.session, header[7:].strip(), clock)
    else:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            raise AuthenticationError("not_authenticated")
        principal, csrf = principal_from_session(ctx.session, raw, clock)
        ctx.csrf_token = csrf
        if request.method not in SAFE_METHODS:
            sent = request.headers.get("x-csrf-token", "")
            if not sent or not hmac.compare_digest(sent, csrf):
                raise PermissionDeniedError("csrf_failed")
    ctx.principal = principal
    ctx.session.info["actor"] = principal
    if not (request.cookies.get("kefu_lang") or request.headers.get("accept-language")):
        request.state.locale = principal.locale  # the user's own setting when the client names none
    return principal


def require(permission: str | None = None) -> Callable[..., Any]:
    """Dependency: an authenticated context whose principal holds ``permission``."""

    def dependency(ctx: Ctx = Depends(get_ctx)) -> Ctx:
        principal = authenticate_request(ctx)
        # End the read transaction: its connection goes back to the pool while the request
        # waits for a worker thread to run the endpoint (else a burst of requests holds every
        # connection while the threads that would use them wait for one).
        ctx.session.rollback()
        if permission is not None and not principal.can(permission):
            raise PermissionDeniedError(permission=permission)
        return ctx

    return dependency
