"""Opaque random identifiers for tokens and external references."""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["digest", "new_token"]


def new_token(prefix: str = "", nbytes: int = 32) -> str:
    """A URL-safe random token, optionally prefixed (e.g. ``kefu_`` for API tokens)."""
    return prefix + secrets.token_urlsafe(nbytes)


def digest(token: str) -> str:
    """SHA-256 hex of a token: what is stored, so a database leak reveals no live token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
