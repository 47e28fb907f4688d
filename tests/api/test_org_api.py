"""Sites, teams, users and holidays through the API: each write is audited and emits an event."""

from __future__ import annotations

import pytest

from kefu.tenancy.model import Role
from tests.factories import login, make_world

pytestmark = pytest.mark.api


@pytest.fixture
def world(container):
    return make_world(container)


def test_site_lifecycle_is_audited_with_before_and_after(app, world) -> None:
    admin = login(app, world.username(Role.ADMIN))
    site = admin.post(
        "/api/v1/sites", json={"code": "GZ", "name": "广州职场", "city": "广州"}
    ).json()
    assert (
        admin.patch(f"/api/v1/sites/{site['id']}", json={"name": "广州天河职场"}).json()["name"]
        == "广州天河职场"
    )
    assert admin.get(f"/api/v1/sites/{site['id']}").json()["city"] == "广州"
    assert admin.delete(f"/api/v1/sites/{site['id']}").status_code == 204
    assert admin.get(f"/api/v1/sites/{site['id']}").status_code == 404
    entries = admin.get("/api/v1/audit", params={"entity": "sites"}).json()["items"]
    mine = [e for e in entries if e["entity_id"] == str(site["id"])]
    assert [e["action"] for e in mine] == ["delete", "update", "create"]  # newest first
    update = mine[1]
    assert update["before"] == {"name": "广州职场"} and update["after"] == {"name": "广州天河职场"}
    assert update["actor_name"] == world.username(Role.ADMIN)


def test_create_user_then_sign_in_as_them(app, world) -> None:
    admin = login(app, world.username(Role.ADMIN))
    created = admin.post(
        "/api/v1/users",
        json={
            "username": f"new.{world.code}",
            "password": "s3cret-pass",
            "display_name": "新座席",
            "job_number": "2001",
            "roles": ["agent"],
            "team_id": world.team_id,
        },
    )
    assert created.status_code == 201, created.text
    assert "password" not in created.text and "hash" not in created.text
    agent = login(app, f"new.{world.code}", "s3cret-pass")
    assert agent.get("/api/v1/auth/me").json()["display_name"] == "新座席"
    audit = admin.get("/api/v1/audit", params={"entity": "users"}).json()["items"]
    created_row = next(
        e for e in audit if e["action"] == "create" and e["entity_id"] == str(created.json()["id"])
    )
    assert created_row["after"]["password_hash"] == "***"


def test_user_rules(app, world) -> None:
    admin = login(app, world.username(Role.ADMIN))
    short = admin.post(
        "/api/v1/users",
        json={"username": f"x.{world.code}", "password": "short", "display_name": "X"},
        headers={"Accept-Language": "en"},
    )
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "password"
    taken = admin.post(
        "/api/v1/users",
        json={
            "username": world.username(Role.AGENT),
            "password": "long-enough",
            "display_name": "X",
        },
    )
    assert taken.status_code == 409 and taken.json()["code"] == "duplicate"
    bad_role = admin.post(
        "/api/v1/users",
        json={
            "username": f"y.{world.code}",
            "password": "long-enough",
            "display_name": "Y",
            "roles": ["king"],
        },
    )
    assert bad_role.status_code == 422 and bad_role.json()["errors"][0]["field"].startswith("roles")


def test_deactivated_user_cannot_sign_in(app, world) -> None:
    admin = login(app, world.username(Role.ADMIN))
    agent_id = world.users[Role.AGENT].id
    assert admin.patch(f"/api/v1/users/{agent_id}", json={"active": False}).status_code == 200
    response = admin.post(
        "/api/v1/auth/login",
        json={"username": world.username(Role.AGENT), "password": "correct-horse-1"},
    )
    assert response.status_code == 401


def test_team_with_leader_and_holiday_calendar(app, world) -> None:
    admin = login(app, world.username(Role.ADMIN))
    leader_id = world.users[Role.TEAM_LEADER].id
    team = admin.post(
        "/api/v1/teams", json={"name": "夜班", "site_id": world.site_id, "leader_id": leader_id}
    )
    assert team.status_code == 201 and team.json()["leader_id"] == leader_id
    day = admin.post(
        "/api/v1/calendar/holidays", json={"day": "2026-06-01", "kind": "holiday", "name": "司庆"}
    )
    assert day.status_code == 201
    bad = admin.post("/api/v1/calendar/holidays", json={"day": "2026-13-01", "kind": "holiday"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "day"
    listed = admin.get("/api/v1/calendar/holidays").json()
    assert [h["name"] for h in listed["items"]] == ["司庆"]
