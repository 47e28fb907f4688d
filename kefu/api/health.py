"""Readiness: 200 with version and database backend once the database answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text

import kefu
from kefu.core.errors import DomainError

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/api/health", summary="Service readiness")
def health(request: Request) -> dict[str, Any]:
    container = request.app.state.container
    try:
        with container.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            rows = conn.execute(text("SELECT version_num FROM alembic_version ORDER BY 1"))
            revisions = [r[0] for r in rows]
    except Exception as exc:
        raise DomainError("not_ready", status=503) from exc
    return {
        "status": "ok",
        "version": kefu.__version__,
        "database": container.db.backend,
        "schema_revisions": revisions,
        "event_bus": type(container.bus).__name__,
    }
