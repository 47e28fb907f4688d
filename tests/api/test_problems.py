"""Bad input gets RFC 9457 problem details in the caller's language, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kefu.tenancy.model import Role
from kefu.tenancy.tables import Site
from tests.factories import login, make_world

pytestmark = pytest.mark.api


@pytest.fixture
def admin(app, container):
    world = make_world(container)
    client = login(app, world.username(Role.ADMIN))
    client.world = world  # type: ignore[attr-defined]
    return client


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code and body["status"] == status and body["type"].endswith(code)
    assert "Traceback" not in response.text
    return body


def test_malformed_json(admin) -> None:
    response = admin.post(
        "/api/v1/sites", content=b'{"code": "A", ', headers={"Content-Type": "application/json"}
    )
    _problem(response, 400, "malformed_json")


def test_unknown_fields_and_wrong_types_name_the_field(admin) -> None:
    body = _problem(
        admin.post(
            "/api/v1/sites",
            json={"code": "A1", "name": "甲", "colour": "red"},
            headers={"Accept-Language": "en"},
        ),
        422,
        "validation_failed",
    )
    assert {"field": "colour", "code": "extra_forbidden", "message": "Unknown field"} in body[
        "errors"
    ]
    body = _problem(
        admin.post("/api/v1/teams", json={"name": "乙", "site_id": "abc"}), 422, "validation_failed"
    )
    assert body["errors"][0]["field"] == "site_id"
    assert body["errors"][0]["message"] == "应为整数"


def test_missing_field_and_bad_timezone(admin) -> None:
    body = _problem(admin.post("/api/v1/sites", json={"name": "无编码"}), 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["code"]
    body = _problem(
        admin.post("/api/v1/sites", json={"code": "TZ", "name": "错时区", "timezone": "Mars/Base"}),
        422,
        "validation_failed",
    )
    assert body["errors"][0]["field"] == "timezone"


def test_oversized_body_is_refused(admin, container) -> None:
    big = "x" * (container.settings.max_body_bytes + 10)
    body = _problem(
        admin.post("/api/v1/sites", json={"code": "BIG", "name": big}), 413, "body_too_large"
    )
    assert str(container.settings.max_body_bytes) in body["detail"]


def test_unknown_route_and_method(admin) -> None:
    _problem(admin.get("/api/v1/no-such-thing"), 404, "route_not_found")
    _problem(admin.put("/api/v1/sites"), 405, "method_not_allowed")


def test_duplicate_is_a_conflict_and_leaves_no_partial_rows(admin, container) -> None:
    assert admin.post("/api/v1/sites", json={"code": "DUP", "name": "一"}).status_code == 201
    _problem(admin.post("/api/v1/sites", json={"code": "DUP", "name": "二"}), 409, "conflict")
    with container.db.sessions() as session:
        names = [
            s.name
            for s in session.query(Site).filter_by(tenant_id=admin.world.tenant_id, code="DUP")
        ]
    assert names == ["一"]


def test_reference_to_missing_object_is_a_field_error(admin) -> None:
    body = _problem(
        admin.post("/api/v1/teams", json={"name": "丙", "site_id": 987654321}),
        422,
        "validation_failed",
    )
    assert body["errors"][0]["field"] == "site_id"


def test_unexpected_failure_is_a_500_problem_without_stack_trace(app, container, admin) -> None:
    @app.get("/api/v1/_boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    client = TestClient(app, raise_server_exceptions=False)
    body = _problem(
        client.get("/api/v1/_boom", headers={"Accept-Language": "en"}), 500, "internal_error"
    )
    assert "secret internals" not in str(body)


def test_language_follows_accept_language_then_cookie(app) -> None:
    client = TestClient(app)
    assert (
        client.get("/api/v1/sites", headers={"Accept-Language": "en-US,en;q=0.9"}).json()["title"]
        == "Not signed in"
    )
    assert client.get("/api/v1/sites").json()["title"] == "未登录"
    client.cookies.set("kefu_lang", "en")
    assert client.get("/api/v1/sites").json()["title"] == "Not signed in"
