"""Sign-in, sessions, CSRF and API tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from kefu.tenancy.model import Role
from tests.factories import PASSWORD, login, make_world

pytestmark = pytest.mark.api


def test_login_sets_session_and_me_lists_role_navigation(app, container) -> None:
    world = make_world(container)
    agent = login(app, world.username(Role.AGENT))
    me = agent.get("/api/v1/auth/me").json()
    assert me["roles"] == ["agent"]
    assert "workspace" in me["navigation"] and "users" not in me["navigation"]
    admin = login(app, world.username(Role.ADMIN))
    nav = admin.get("/api/v1/auth/me").json()["navigation"]
    assert {"users", "org", "audit"} <= set(nav) and "tenants" not in nav


def test_bad_credentials_are_one_clear_problem(app, container) -> None:
    world = make_world(container)
    client = TestClient(app)
    for username, password in (
        (world.username(Role.ADMIN), "wrong-password"),
        ("nobody-here", PASSWORD),
    ):
        response = client.post(
            "/api/v1/auth/login",
            json={"username": username, "password": password},
            headers={"Accept-Language": "en"},
        )
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["code"] == "bad_credentials"
        assert body["detail"] == "Wrong username or password."


def test_session_expires_by_the_clock(app, container, clock) -> None:
    world = make_world(container)
    client = login(app, world.username(Role.ADMIN))
    assert client.get("/api/v1/auth/me").status_code == 200
    clock.advance(timedelta(hours=container.settings.session_hours, seconds=1).total_seconds())
    response = client.get("/api/v1/auth/me", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"
    assert response.json()["title"] == "会话已过期"


def test_logout_ends_the_session(app, container) -> None:
    world = make_world(container)
    client = login(app, world.username(Role.ADMIN))
    stolen_cookie = client.cookies.get("kefu_session")
    assert client.post("/api/v1/auth/logout").status_code == 204
    replay = TestClient(app, cookies={"kefu_session": stolen_cookie})
    assert replay.get("/api/v1/auth/me").status_code == 401


def test_cookie_writes_need_the_csrf_token(app, container) -> None:
    world = make_world(container)
    client = login(app, world.username(Role.ADMIN))
    token = client.headers.pop("X-CSRF-Token")
    refused = client.post("/api/v1/sites", json={"code": "X1", "name": "无令牌"})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    accepted = client.post(
        "/api/v1/sites", json={"code": "X1", "name": "有令牌"}, headers={"X-CSRF-Token": token}
    )
    assert accepted.status_code == 201


def test_api_token_works_without_cookie_and_dies_when_revoked(app, container) -> None:
    world = make_world(container)
    admin = login(app, world.username(Role.ADMIN))
    issued = admin.post("/api/v1/auth/tokens", json={"name": "crm-sync"})
    assert issued.status_code == 201
    secret = issued.json()["token"]
    assert secret.startswith("kefu_")
    listed = admin.get("/api/v1/auth/tokens").json()["items"]
    assert [t["name"] for t in listed] == ["crm-sync"] and "token" not in listed[0]
    bearer = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    created = bearer.post("/api/v1/sites", json={"code": "API", "name": "接口创建"})
    assert created.status_code == 201  # no CSRF needed for bearer tokens
    assert bearer.post("/api/v1/auth/tokens", json={"name": "again"}).status_code == 403
    admin.delete(f"/api/v1/auth/tokens/{issued.json()['id']}")
    assert bearer.get("/api/v1/sites").json()["code"] == "bad_token"


def test_expired_api_token_is_refused(app, container, clock) -> None:
    world = make_world(container)
    admin = login(app, world.username(Role.ADMIN))
    expires = (clock.now() + timedelta(minutes=5)).isoformat()
    secret = admin.post(
        "/api/v1/auth/tokens", json={"name": "short", "expires_at": expires}
    ).json()["token"]
    bearer = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    assert bearer.get("/api/v1/sites").status_code == 200
    clock.advance(301)
    assert bearer.get("/api/v1/sites").json()["code"] == "token_expired"


def test_roles_limit_what_a_user_may_do(app, container) -> None:
    world = make_world(container)
    agent = login(app, world.username(Role.AGENT))
    refused = agent.post(
        "/api/v1/users",
        json={"username": "x1", "password": "long-enough-1", "display_name": "X"},
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert "users.manage" in refused.json()["detail"]
    viewer = login(app, world.username(Role.CLIENT_VIEWER))
    assert viewer.get("/api/v1/users").status_code == 403
    assert viewer.get("/api/v1/tenants/current").status_code == 200
