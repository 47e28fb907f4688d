"""Audit log written by a flush hook, so no write path can forget it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from kefu.core.clock import Clock
from kefu.db.eventlog import EventRecord
from kefu.tenancy.model import Principal
from kefu.tenancy.tables import AuditEntry, WebSession

__all__ = ["SECRET_COLUMNS", "add_audit", "install_audit"]

# Rows that are themselves logs, or churn on every request, are not audited row by row.
_SKIP = (AuditEntry, EventRecord, WebSession)
SECRET_COLUMNS = frozenset({"password_hash", "token_hash", "csrf_token"})


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"  # binary payloads (vectors, files) are not copied
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _skipped(obj: Any) -> bool:
    """Logs themselves, and tables that opt out with ``__audit__ = False`` (derived data such
    as search vectors, rebuilt from audited rows), are not audited row by row."""
    return isinstance(obj, _SKIP) or getattr(obj, "__audit__", True) is False


def _values(obj: Any, *, old: bool = False) -> dict[str, Any]:
    state = inspect(obj)
    out: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in SECRET_COLUMNS:
            out[key] = "***"
            continue
        hist = state.attrs[key].history
        if old and hist.deleted:
            out[key] = _plain(hist.deleted[0])
        elif old and not hist.has_changes():
            out[key] = _plain(getattr(obj, key))
        elif old:
            out[key] = None
        else:
            out[key] = _plain(getattr(obj, key))
    return out


def add_audit(
    session: Session,
    action: str,
    entity: str,
    entity_id: Any,
    *,
    tenant_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> None:
    """An explicit audit line for actions that are not row writes (login, logout, forced state)."""
    actor: Principal | None = session.info.get("actor")
    clock: Clock = session.info["clock"]
    session.add(
        AuditEntry(
            tenant_id=tenant_id,
            actor_id=actor.user_id if actor else None,
            actor_name=actor.username if actor else session.info.get("actor_name", "system"),
            at=clock.now(),
            action=action,
            entity=entity,
            entity_id=str(entity_id or ""),
            before=before,
            after=after,
            note=note,
        )
    )


def install_audit(factory: sessionmaker[Session]) -> None:
    """Record every insert, update and delete flushed through sessions of ``factory``."""

    @event.listens_for(factory, "before_flush")
    def _audit(session: Session, _ctx: Any, _instances: Any) -> None:
        if "clock" not in session.info:
            return
        pending: list[tuple[str, Any, dict[str, Any] | None]] = []
        for obj in session.dirty:
            if _skipped(obj) or not session.is_modified(obj, include_collections=False):
                continue
            pending.append(("update", obj, _values(obj, old=True)))
        for obj in session.deleted:
            if not _skipped(obj):
                pending.append(("delete", obj, _values(obj)))
        for action, obj, before in pending:
            after = None if action == "delete" else _values(obj)
            if before is not None and after is not None:
                changed = {k for k in after if before.get(k) != after.get(k)}
                before = {k: before[k] for k in changed}
                after = {k: after[k] for k in changed}
            add_audit(
                session,
                action,
                obj.__tablename__,
                getattr(obj, "id", ""),
                tenant_id=getattr(obj, "tenant_id", None),
                before=before,
                after=after,
            )
        news = [obj for obj in session.new if not _skipped(obj)]
        if news:
            session.info.setdefault("kefu_audit_new", []).extend(news)

    @event.listens_for(factory, "after_flush_postexec")
    def _audit_inserts(session: Session, _ctx: Any) -> None:
        # New rows get their ids at flush; audit them afterwards, in the same transaction.
        news = session.info.pop("kefu_audit_new", [])
        for obj in news:
            add_audit(
                session,
                "create",
                obj.__tablename__,
                getattr(obj, "id", ""),
                tenant_id=getattr(obj, "tenant_id", None),
                after=_values(obj),
            )
