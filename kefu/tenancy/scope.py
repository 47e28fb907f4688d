"""Tenant-scoped data access: every read and write goes through the principal's tenant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from kefu.core.clock import Clock
from kefu.core.errors import FieldError, NotFoundError, ValidationFailed
from kefu.core.events import Event
from kefu.db.eventlog import record_event
from kefu.tenancy.model import Principal

__all__ = ["Scoped"]

T = TypeVar("T")


class Scoped:
    """A unit of work bound to one principal: queries filter on its tenant, writes stamp it.

    An id of another tenant's row is answered exactly like an id that does not exist (404), so
    a caller can neither read nor probe other tenants' objects.
    """

    def __init__(self, session: Session, principal: Principal, clock: Clock) -> None:
        self.session = session
        self.principal = principal
        self.clock = clock
        self.tenant_id = principal.tenant_id

    def select(self, model: type[Any]) -> Select[Any]:
        return select(model).where(model.tenant_id == self.tenant_id)

    def get(self, model: type[T], obj_id: int, *, entity: str | None = None) -> T:
        obj = self.session.get(model, obj_id) if isinstance(obj_id, int) else None
        if obj is None or getattr(obj, "tenant_id", None) != self.tenant_id:
            raise NotFoundError(entity=entity or model.__tablename__, id=obj_id)  # type: ignore[attr-defined]
        return obj

    def list(
        self, query: Select[Any], *, limit: int = 100, offset: int = 0
    ) -> tuple[list[Any], int]:
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = list(self.session.scalars(query.limit(limit).offset(offset)))
        return rows, total

    def add(self, obj: T) -> T:
        obj.tenant_id = self.tenant_id  # type: ignore[attr-defined]
        self.session.add(obj)
        self.session.flush()
        return obj

    def check_refs(self, values: Mapping[str, Any], refs: Mapping[str, type[Any]]) -> None:
        """Referenced ids must exist in this tenant; otherwise a field error names them."""
        errors = []
        for field, model in refs.items():
            ref = values.get(field)
            if ref is None:
                continue
            obj = self.session.get(model, ref)
            if obj is None or getattr(obj, "tenant_id", None) != self.tenant_id:
                errors.append(FieldError(field, "error.field.unknown_reference", value=ref))
        if errors:
            raise ValidationFailed(errors=errors)

    def emit(self, event_type: str, topic: str, data: dict[str, Any]) -> None:
        record_event(
            self.session,
            Event(event_type, topic, self.tenant_id, self.clock.now(), data),
        )
