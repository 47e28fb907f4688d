"""One generic, tenant-scoped CRUD router for simple configuration tables."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from kefu.api.deps import Ctx, require
from kefu.api.schemas import Page

__all__ = ["CrudSpec", "crud_router"]


@dataclass(frozen=True)
class CrudSpec:
    path: str  # URL segment, e.g. "sites"
    entity: str  # event and message name, e.g. "site"
    model: type[Any]
    create: type[BaseModel]
    update: type[BaseModel]
    out: type[BaseModel]
    read_permission: str
    write_permission: str
    refs: dict[str, type[Any]] = field(default_factory=dict)
    topic: str = "tenancy"
    order_by: str = "id"
    tags: tuple[str, ...] = ()
    # Called after each committed write (e.g. to push configuration into a running engine).
    after_write: Callable[[Ctx], None] | None = None


def crud_router(spec: CrudSpec) -> APIRouter:
    router = APIRouter(prefix=f"/{spec.path}", tags=list(spec.tags or (spec.path,)))
    out, create_schema, update_schema = spec.out, spec.create, spec.update

    def _after(ctx: Ctx) -> None:
        if spec.after_write is not None:
            spec.after_write(ctx)

    def _dump(obj: Any) -> dict[str, Any]:
        return out.model_validate(obj).model_dump(mode="json")

    @router.get("", response_model=Page[out], summary=f"List {spec.path}")  # type: ignore[valid-type]
    def list_items(
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0),
        ctx: Ctx = Depends(require(spec.read_permission)),
    ) -> dict[str, Any]:
        query = ctx.scope.select(spec.model).order_by(getattr(spec.model, spec.order_by))
        rows, total = ctx.scope.list(query, limit=limit, offset=offset)
        return {"items": [_dump(r) for r in rows], "total": total}

    @router.post("", status_code=201, response_model=out, summary=f"Create a {spec.entity}")
    def create_item(
        body: create_schema,  # type: ignore[valid-type]
        ctx: Ctx = Depends(require(spec.write_permission)),
    ) -> dict[str, Any]:
        values = body.model_dump()  # type: ignore[attr-defined]
        ctx.scope.check_refs(values, spec.refs)
        obj = ctx.scope.add(spec.model(**values))
        ctx.scope.emit(f"{spec.entity}.created", spec.topic, {"id": obj.id})
        result = _dump(obj)
        ctx.commit()
        _after(ctx)
        return result

    @router.get("/{item_id}", response_model=out, summary=f"Get a {spec.entity}")
    def get_item(item_id: int, ctx: Ctx = Depends(require(spec.read_permission))) -> dict[str, Any]:
        return _dump(ctx.scope.get(spec.model, item_id, entity=spec.entity))

    @router.patch("/{item_id}", response_model=out, summary=f"Change a {spec.entity}")
    def update_item(
        item_id: int,
        body: update_schema,  # type: ignore[valid-type]
        ctx: Ctx = Depends(require(spec.write_permission)),
    ) -> dict[str, Any]:
        obj = ctx.scope.get(spec.model, item_id, entity=spec.entity)
        changes = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
        ctx.scope.check_refs(changes, spec.refs)
        for key, value in changes.items():
            setattr(obj, key, value)
        ctx.scope.emit(
            f"{spec.entity}.updated", spec.topic, {"id": obj.id, "fields": sorted(changes)}
        )
        ctx.session.flush()
        result = _dump(obj)
        ctx.commit()
        _after(ctx)
        return result

    @router.delete("/{item_id}", status_code=204, summary=f"Delete a {spec.entity}")
    def delete_item(item_id: int, ctx: Ctx = Depends(require(spec.write_permission))) -> Response:
        obj = ctx.scope.get(spec.model, item_id, entity=spec.entity)
        ctx.session.delete(obj)
        ctx.scope.emit(f"{spec.entity}.deleted", spec.topic, {"id": item_id})
        ctx.commit()
        _after(ctx)
        return Response(status_code=204)

    return router
