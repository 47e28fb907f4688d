"""Skipping routers by prefix changes speed only: every request reaches the same route."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from kefu.api.routes import prune_by_prefix

pytestmark = pytest.mark.unit


def _app() -> tuple[FastAPI, int]:
    chat = APIRouter(prefix="/chat")
    files = APIRouter(prefix="/files")
    by_tenant = APIRouter(prefix="/tenants/{tenant_id}")
    bare = APIRouter()

    @chat.get("/items/{item_id}")
    def chat_item(item_id: int) -> dict[str, object]:
        return {"route": "chat_item", "id": item_id}

    @chat.post("/items")
    def chat_post() -> dict[str, object]:
        return {"route": "chat_post"}

    @files.get("")
    def files_root() -> dict[str, object]:
        return {"route": "files_root"}

    @by_tenant.get("/users")
    def tenant_users(tenant_id: int) -> dict[str, object]:
        return {"route": "tenant_users", "tenant": tenant_id}

    @bare.get("/health")
    def health() -> dict[str, object]:
        return {"route": "health"}

    chat.include_router(files)
    v1 = APIRouter(prefix="/api/v1")
    v1.include_router(chat)
    v1.include_router(by_tenant)
    v1.include_router(bare)
    app = FastAPI()
    app.include_router(v1)
    app.include_router(bare)
    return app, prune_by_prefix(app.router)


def test_every_route_is_still_reached_and_misses_stay_misses() -> None:
    app, pruned = _app()
    assert pruned == 3  # /api/v1, /chat and /files; a prefix with a parameter is left alone
    assert prune_by_prefix(app.router) == 0  # guarding twice changes nothing
    client = TestClient(app)
    assert client.get("/api/v1/chat/items/7").json() == {"route": "chat_item", "id": 7}
    assert client.post("/api/v1/chat/items").json() == {"route": "chat_post"}
    assert client.get("/api/v1/chat/files").json() == {"route": "files_root"}
    assert client.get("/api/v1/tenants/3/users").json() == {"route": "tenant_users", "tenant": 3}
    assert client.get("/api/v1/health").json() == {"route": "health"}
    assert client.get("/health").json() == {"route": "health"}
    assert client.delete("/api/v1/chat/items").status_code == 405  # path known, method not
    assert client.get("/api/v1/chat/nothing").status_code == 404
    assert client.get("/api/v1/files").status_code == 404  # /files lives under /chat only
    redirected = client.get("/api/v1/chat/files/", follow_redirects=False)
    assert redirected.status_code == 307
    assert redirected.headers["location"].endswith("/api/v1/chat/files")
