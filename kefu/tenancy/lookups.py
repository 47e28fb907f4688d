"""Small read helpers other features use instead of reaching into tenancy's tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kefu.tenancy.scope import Scoped
from kefu.tenancy.tables import Site, User

__all__ = ["site_code_of", "user_in_tenant"]


def user_in_tenant(scope: Scoped, user_id: int) -> Any:
    """The user with this id in the caller's tenant (404 otherwise)."""
    return scope.get(User, user_id, entity="users")


def site_code_of(session: Session, site_id: int | None) -> str | None:
    if site_id is None:
        return None
    site = session.get(Site, site_id)
    return site.code if site is not None else None
