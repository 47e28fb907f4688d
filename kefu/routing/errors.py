"""Routing errors: each carries a stable ``code`` that APIs, logs and tests can rely on."""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ERROR_CODES",
    "DuplicateContact",
    "DuplicateQueue",
    "InvalidArgument",
    "InvalidTransition",
    "RoutingError",
    "TenantMismatch",
    "UnknownAgent",
    "UnknownContact",
    "UnknownQueue",
    "UnknownSkill",
    "UnsupportedMedia",
]


class RoutingError(Exception):
    """A rejected command. The engine raises it before changing anything."""

    code: ClassVar[str] = "routing_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownQueue(RoutingError):
    code = "unknown_queue"


class UnknownSkill(RoutingError):
    code = "unknown_skill"


class UnknownContact(RoutingError):
    code = "unknown_contact"


class UnknownAgent(RoutingError):
    code = "unknown_agent"


class DuplicateContact(RoutingError):
    code = "duplicate_contact"


class DuplicateQueue(RoutingError):
    code = "duplicate_queue"


class InvalidTransition(RoutingError):
    code = "invalid_transition"


class InvalidArgument(RoutingError):
    code = "invalid_argument"


class TenantMismatch(RoutingError):
    code = "tenant_mismatch"


class UnsupportedMedia(RoutingError):
    code = "unsupported_media"


ERROR_CODES: tuple[str, ...] = tuple(
    cls.code
    for cls in (
        UnknownQueue,
        UnknownSkill,
        UnknownContact,
        UnknownAgent,
        DuplicateContact,
        DuplicateQueue,
        InvalidTransition,
        InvalidArgument,
        TenantMismatch,
        UnsupportedMedia,
    )
)
