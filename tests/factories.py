"""Test data: a tenant with one user per role (a fixed cast), and a signed-in API client."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from kefu.bootstrap import Container
from kefu.tenancy.model import Role
from kefu.tenancy.security import hash_password
from kefu.tenancy.services import create_tenant
from kefu.tenancy.tables import Site, Team, User

PASSWORD = "correct-horse-1"
_HASH = hash_password(PASSWORD)  # hashed once: argon2 is deliberately slow

# The cast: a username stem for each role.
CAST = {
    Role.ADMIN: "admin_an",
    Role.AGENT: "agent_ana",
    Role.TEAM_LEADER: "leader_li",
    Role.DUTY_MANAGER: "duty_du",
    Role.QA: "qa_qin",
    Role.BACKOFFICE: "back_bai",
    Role.KB_EDITOR: "kb_ke",
    Role.WFM_PLANNER: "wfm_wu",
    Role.CLIENT_VIEWER: "viewer_wei",
}


@dataclass
class World:
    tenant_id: int
    code: str
    site_id: int
    team_id: int
    users: dict[Role, User] = field(default_factory=dict)

    def username(self, role: Role) -> str:
        return self.users[role].username


def make_world(container: Container, label: str = "t") -> World:
    """A fresh tenant named uniquely, with a site, a team and one user of every role."""
    code = f"{label}-{uuid.uuid4().hex[:10]}"
    with container.db.session(clock=container.clock, actor_name="factory") as session:
        tenant = create_tenant(session, container.clock, code, f"{label.upper()} 公司 {code}")
        site = Site(tenant_id=tenant.id, code="S1", name=f"{code} 职场")
        session.add(site)
        session.flush()
        team = Team(tenant_id=tenant.id, name=f"{code} 一班", site_id=site.id)
        session.add(team)
        session.flush()
        world = World(tenant.id, code, site.id, team.id)
        for role, stem in CAST.items():
            user = User(
                tenant_id=tenant.id,
                username=f"{stem}.{code}",
                display_name=f"{stem} {code}",
                password_hash=_HASH,
                roles=[str(role)],
                created_at=container.clock.now(),
                team_id=team.id if role in (Role.AGENT, Role.TEAM_LEADER) else None,
                job_number=f"{len(world.users) + 1000}",
            )
            session.add(user)
            session.flush()
            world.users[role] = user
        team.leader_id = world.users[Role.TEAM_LEADER].id
    return world


def login(app: Any, username: str, password: str = PASSWORD, **client_kw: Any) -> TestClient:
    """A TestClient signed in through the API, sending its CSRF token on every request."""
    client = TestClient(app, **client_kw)
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client
