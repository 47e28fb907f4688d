"""Domain errors: each carries a stable code, an HTTP status and parameters for translation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "DomainError",
    "FieldError",
    "NotFoundError",
    "PermissionDeniedError",
    "ValidationFailed",
]


class FieldError:
    """One invalid field: a dotted location, a message key and its parameters."""

    __slots__ = ("field", "key", "params")

    def __init__(self, field: str, key: str, **params: Any) -> None:
        self.field = field
        self.key = key
        self.params = params

    def __repr__(self) -> str:
        return f"FieldError({self.field!r}, {self.key!r})"


class DomainError(Exception):
    """Base of all expected failures; rendered as RFC 9457 problem details.

    ``code`` is stable and machine-readable; the human ``title``/``detail`` are looked up in the
    message catalogs as ``error.<code>.title`` and ``error.<code>.detail`` with ``params``.
    """

    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        code: str | None = None,
        *,
        status: int | None = None,
        errors: list[FieldError] | None = None,
        **params: Any,
    ) -> None:
        self.code = code or type(self).code
        self.status = status or type(self).status
        self.errors = errors or []
        self.params: Mapping[str, Any] = params
        super().__init__(self.code)


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"


class NotFoundError(DomainError):
    status = 404
    code = "not_found"


class ConflictError(DomainError):
    status = 409
    code = "conflict"


class AuthenticationError(DomainError):
    status = 401
    code = "not_authenticated"


class PermissionDeniedError(DomainError):
    status = 403
    code = "permission_denied"
