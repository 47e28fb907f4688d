"""RFC 9457 problem details with translated messages; never a stack trace to the client."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kefu.core.errors import DomainError, FieldError
from kefu.core.i18n import negotiate, translate

__all__ = [
    "field_errors",
    "install_problem_handlers",
    "problem_body",
    "problem_response",
    "request_locale",
]

log = logging.getLogger("kefu.api")
MEDIA_TYPE = "application/problem+json"
_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "route_not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def request_locale(request: Request) -> str:
    chosen = getattr(request.state, "locale", None)
    if chosen:
        return str(chosen)
    return negotiate(
        request.query_params.get("lang"),
        request.cookies.get("kefu_lang"),
        request.headers.get("accept-language"),
    )


def problem_body(
    code: str,
    status: int,
    locale: str,
    *,
    instance: str = "",
    params: dict[str, Any] | None = None,
    errors: list[FieldError] | None = None,
) -> dict[str, Any]:
    params = dict(params or {})
    body: dict[str, Any] = {
        "type": f"urn:kefu:problem:{code}",
        "title": translate(f"error.{code}.title", locale, default=code.replace("_", " ")),
        "status": status,
        "detail": translate(f"error.{code}.detail", locale, default="", **params),
        "code": code,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = [
            {
                "field": e.field,
                "code": e.key.rsplit(".", 1)[-1],
                "message": translate(
                    e.key, locale, default=translate("error.field.invalid", locale), **e.params
                ),
            }
            for e in errors
        ]
    return body


def problem_response(request: Request, code: str, status: int, **kw: Any) -> JSONResponse:
    body = problem_body(code, status, request_locale(request), instance=request.url.path, **kw)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def field_errors(exc: RequestValidationError | ValidationError) -> list[FieldError]:
    """Field errors of a request body (FastAPI) or of a model validated by hand (websocket)."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        ctx = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, str | int | float)}
        out.append(
            FieldError(".".join(loc) or "body", f"error.field.{err.get('type', 'invalid')}", **ctx)
        )
    return out


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(
            request, exc.code, exc.status, params=dict(exc.params), errors=exc.errors
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(exc)
        code = (
            "malformed_json"
            if any(e.key == "error.field.json_invalid" for e in errors)
            else "validation_failed"
        )
        return problem_response(
            request, code, 422 if code == "validation_failed" else 400, errors=errors
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # A unique or foreign-key constraint caught what validation could not (e.g. a race).
        return problem_response(request, "conflict", 409)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        return problem_response(request, code, exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, "internal_error", 500)
