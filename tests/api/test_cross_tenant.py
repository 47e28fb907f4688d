"""Every route in the OpenAPI schema: tenant A cannot read or change tenant B's data."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kefu.tenancy.model import Role
from kefu.tenancy.tables import ApiToken, Site, Team, TenantHoliday, User
from tests.factories import World, login, make_world

pytestmark = pytest.mark.api


@dataclass(frozen=True)
class Attack:
    """How to aim one route at the victim: path ids, a body, and what must come back."""

    ids: dict[str, str] = field(default_factory=dict)  # path parameter -> victim object key
    body: dict[str, Any] | None = None  # values "@key" are replaced by victim ids
    expect: tuple[int, ...] = (404,)
    public: bool = False  # needs no tenant (sign-in, health)
    role: Role = Role.ADMIN  # the attacker's role in tenant A


# (method, path) -> attack. A new route without an entry fails test_every_route_is_covered.
ATTACKS: dict[tuple[str, str], Attack] = {
    ("get", "/api/health"): Attack(public=True, expect=(200,)),
    ("post", "/api/v1/auth/login"): Attack(
        public=True,
        expect=(401,),
        body={"username": "@victim_admin_name", "password": "guess-123456"},
    ),
    ("post", "/api/v1/auth/logout"): Attack(expect=(204,)),
    ("get", "/api/v1/auth/me"): Attack(expect=(200,)),
    ("get", "/api/v1/auth/tokens"): Attack(expect=(200,)),
    ("post", "/api/v1/auth/tokens"): Attack(expect=(201,), body={"name": "mine"}),
    ("delete", "/api/v1/auth/tokens/{token_id}"): Attack(ids={"token_id": "token"}),
    ("get", "/api/v1/users"): Attack(expect=(200,)),
    ("post", "/api/v1/users"): Attack(
        expect=(422,),
        body={
            "username": "intruder",
            "password": "long-enough-1",
            "display_name": "X",
            "team_id": "@team",
        },
    ),
    ("get", "/api/v1/users/{user_id}"): Attack(ids={"user_id": "user"}),
    ("patch", "/api/v1/users/{user_id}"): Attack(
        ids={"user_id": "user"}, body={"display_name": "hacked"}
    ),
    ("get", "/api/v1/audit"): Attack(expect=(200,)),
    ("get", "/api/v1/tenants/current"): Attack(expect=(200,)),
    ("get", "/api/v1/tenants"): Attack(expect=(403,)),
    ("post", "/api/v1/tenants"): Attack(expect=(403,), body={"code": "evil", "name": "evil"}),
    ("get", "/api/v1/sites"): Attack(expect=(200,)),
    ("post", "/api/v1/sites"): Attack(expect=(201,), body={"code": "MINE", "name": "mine"}),
    ("get", "/api/v1/sites/{item_id}"): Attack(ids={"item_id": "site"}),
    ("patch", "/api/v1/sites/{item_id}"): Attack(ids={"item_id": "site"}, body={"name": "hacked"}),
    ("delete", "/api/v1/sites/{item_id}"): Attack(ids={"item_id": "site"}),
    ("get", "/api/v1/teams"): Attack(expect=(200,)),
    ("post", "/api/v1/teams"): Attack(
        expect=(422,), body={"name": "mine", "site_id": "@site", "leader_id": "@user"}
    ),
    ("get", "/api/v1/teams/{item_id}"): Attack(ids={"item_id": "team"}),
    ("patch", "/api/v1/teams/{item_id}"): Attack(ids={"item_id": "team"}, body={"name": "hacked"}),
    ("delete", "/api/v1/teams/{item_id}"): Attack(ids={"item_id": "team"}),
    ("get", "/api/v1/calendar/holidays"): Attack(expect=(200,)),
    ("post", "/api/v1/calendar/holidays"): Attack(
        expect=(201,), body={"day": "2026-12-24", "kind": "holiday"}
    ),
    ("get", "/api/v1/calendar/holidays/{item_id}"): Attack(ids={"item_id": "holiday"}),
    ("patch", "/api/v1/calendar/holidays/{item_id}"): Attack(
        ids={"item_id": "holiday"}, body={"name": "hacked"}
    ),
    ("delete", "/api/v1/calendar/holidays/{item_id}"): Attack(ids={"item_id": "holiday"}),
}
# Victim objects: key -> how tenant B's administrator makes one (returns its id, or a value).
VICTIMS: dict[str, Callable[[TestClient, World], Any]] = {
    "site": lambda _client, world: world.site_id,
    "team": lambda _client, world: world.team_id,
    "user": lambda _client, world: world.users[Role.AGENT].id,
    "victim_admin_name": lambda _client, world: world.username(Role.ADMIN),
    "token": lambda client, _world: client.post(
        "/api/v1/auth/tokens", json={"name": "victim-token"}
    ).json()["id"],
    "holiday": lambda client, _world: client.post(
        "/api/v1/calendar/holidays", json={"day": "2026-12-31", "kind": "holiday", "name": "victim"}
    ).json()["id"],
}
# Features add their routes to ATTACKS and their objects to VICTIMS below, one block each.

# --- routing -----------------------------------------------------------------------------------


def _victim_routing(client: TestClient, world: World) -> dict[str, Any]:
    """Tenant B's skill, queue (coded with B's marker), site and a waiting contact."""
    skill = client.post("/api/v1/routing/skills", json={"code": "vskill", "name": "victim"}).json()
    queue = client.post(
        "/api/v1/routing/queues", json={"code": world.code, "name": "victim", "skills": []}
    ).json()
    site = client.post("/api/v1/sites", json={"code": world.code, "name": "victim site"}).json()
    contact = client.post("/api/v1/routing/contacts", json={"queue": world.code}).json()
    return {
        "skill": skill["id"],
        "queue": queue["id"],
        "site_code": site["code"],
        "contact": contact["id"],
        "queue_code": world.code,
    }


VICTIMS["routing"] = _victim_routing
_AGENT = Role.AGENT
ATTACKS.update(
    {
        ("get", "/api/v1/routing/skills"): Attack(expect=(200,)),
        ("post", "/api/v1/routing/skills"): Attack(
            expect=(201,), body={"code": "mine", "name": "mine"}
        ),
        ("get", "/api/v1/routing/skills/{item_id}"): Attack(ids={"item_id": "routing.skill"}),
        ("patch", "/api/v1/routing/skills/{item_id}"): Attack(
            ids={"item_id": "routing.skill"}, body={"name": "x"}
        ),
        ("delete", "/api/v1/routing/skills/{item_id}"): Attack(ids={"item_id": "routing.skill"}),
        ("get", "/api/v1/routing/queues"): Attack(expect=(200,)),
        ("post", "/api/v1/routing/queues"): Attack(
            expect=(422,), body={"code": "MQ", "name": "m", "site_id": "@site"}
        ),
        ("get", "/api/v1/routing/queues/{item_id}"): Attack(ids={"item_id": "routing.queue"}),
        ("patch", "/api/v1/routing/queues/{item_id}"): Attack(
            ids={"item_id": "routing.queue"}, body={"name": "x"}
        ),
        ("delete", "/api/v1/routing/queues/{item_id}"): Attack(ids={"item_id": "routing.queue"}),
        ("put", "/api/v1/routing/agents/{user_id}/skills"): Attack(
            ids={"user_id": "user"}, body={"skills": {}}
        ),
        ("post", "/api/v1/routing/contacts"): Attack(body={"queue": "@routing.queue_code"}),
        ("get", "/api/v1/routing/contacts/{contact_id}"): Attack(
            ids={"contact_id": "routing.contact"}
        ),
        ("post", "/api/v1/routing/contacts/{contact_id}/abandon"): Attack(
            ids={"contact_id": "routing.contact"}
        ),
        ("post", "/api/v1/routing/contacts/{contact_id}/callback"): Attack(
            ids={"contact_id": "routing.contact"}
        ),
        ("post", "/api/v1/routing/contacts/{contact_id}/transfer"): Attack(
            ids={"contact_id": "routing.contact"}, body={"note": "x"}
        ),
        ("get", "/api/v1/routing/me"): Attack(expect=(200,), role=_AGENT),
        ("post", "/api/v1/routing/me/login"): Attack(expect=(204, 409), role=_AGENT),
        ("post", "/api/v1/routing/me/logout"): Attack(expect=(204, 409), role=_AGENT),
        ("put", "/api/v1/routing/me/state"): Attack(
            expect=(204, 409), role=_AGENT, body={"presence": "ready"}
        ),
        ("post", "/api/v1/routing/me/offers/{contact_id}/accept"): Attack(
            ids={"contact_id": "routing.contact"}, expect=(404, 409), role=_AGENT
        ),
        ("post", "/api/v1/routing/me/offers/{contact_id}/decline"): Attack(
            ids={"contact_id": "routing.contact"}, expect=(404, 409), role=_AGENT
        ),
        ("post", "/api/v1/routing/me/contacts/{contact_id}/complete"): Attack(
            ids={"contact_id": "routing.contact"}, expect=(404, 409), role=_AGENT
        ),
        ("post", "/api/v1/routing/me/contacts/{contact_id}/transfer"): Attack(
            ids={"contact_id": "routing.contact"}, role=_AGENT, body={"note": "x"}
        ),
        ("post", "/api/v1/routing/me/wrap-up/finish"): Attack(expect=(204, 409), role=_AGENT),
        ("get", "/api/v1/routing/stats"): Attack(expect=(200,)),
        ("get", "/api/v1/routing/agents"): Attack(expect=(200,)),
        ("put", "/api/v1/routing/agents/{user_id}/state"): Attack(
            ids={"user_id": "user"}, body={"presence": "ready"}
        ),
        ("post", "/api/v1/routing/sites/{code}/down"): Attack(ids={"code": "routing.site_code"}),
        ("post", "/api/v1/routing/sites/{code}/up"): Attack(ids={"code": "routing.site_code"}),
    }
)

# --- work orders (tickets) ---------------------------------------------------------------------


def _victim_workorders(client: TestClient, world: World) -> dict[str, Any]:
    """Tenant B's group (coded with B's marker), policy, template, order, note, file, view."""
    admin_id = world.users[Role.ADMIN].id
    base = "/api/v1/workorders"
    group = client.post(f"{base}/groups", json={"code": world.code, "name": world.code}).json()
    client.put(f"{base}/groups/{group['id']}/members", json={"members": [{"user_id": admin_id}]})
    policy = client.post(
        f"{base}/sla-policies", json={"code": world.code, "name": "v", "base": "telecom_cn"}
    ).json()
    template = client.post(
        f"{base}/templates",
        json={
            "code": world.code,
            "name": "v",
            "category": "complaint",
            "default_group_id": group["id"],
        },
    ).json()
    order = client.post(
        base, json={"template_id": template["id"], "title": f"victim {world.code}"}
    ).json()
    client.post(f"{base}/{order['id']}/comments", json={"body": f"secret {world.code}"})
    upload = client.post(
        f"{base}/attachments",
        params={"filename": "v.txt", "order_id": order["id"]},
        content=world.code.encode(),
        headers={"Content-Type": "text/plain"},
    ).json()
    view = client.post(f"{base}/views", json={"name": world.code}).json()
    note = client.get(f"{base}/notifications/mine").json()["items"][0]
    return {
        "group": group["id"],
        "policy": policy["id"],
        "template": template["id"],
        "order": order["id"],
        "order_ids": [order["id"]],
        "attachment": upload["id"],
        "view": view["id"],
        "notification": note["id"],
    }


VICTIMS["workorders"] = _victim_workorders
_WO = "/api/v1/workorders"
_V1 = {"version": 1}
ATTACKS.update(
    {
        ("get", f"{_WO}/groups"): Attack(expect=(200,)),
        ("post", f"{_WO}/groups"): Attack(
            expect=(422,), body={"code": "mine", "name": "m", "next_group_id": "@workorders.group"}
        ),
        ("get", f"{_WO}/groups/{{group_id}}"): Attack(ids={"group_id": "workorders.group"}),
        ("patch", f"{_WO}/groups/{{group_id}}"): Attack(
            ids={"group_id": "workorders.group"}, body={"name": "x"}
        ),
        ("get", f"{_WO}/groups/{{group_id}}/members"): Attack(ids={"group_id": "workorders.group"}),
        ("put", f"{_WO}/groups/{{group_id}}/members"): Attack(
            ids={"group_id": "workorders.group"}, body={"members": []}
        ),
        ("get", f"{_WO}/sla-templates"): Attack(expect=(200,)),
        ("get", f"{_WO}/sla-policies"): Attack(expect=(200,)),
        ("post", f"{_WO}/sla-policies"): Attack(
            expect=(201,), body={"code": "mine", "name": "m", "base": "telecom_cn"}
        ),
        ("get", f"{_WO}/sla-policies/{{policy_id}}"): Attack(
            ids={"policy_id": "workorders.policy"}
        ),
        ("patch", f"{_WO}/sla-policies/{{policy_id}}"): Attack(
            ids={"policy_id": "workorders.policy"}, body={"name": "x"}
        ),
        ("get", f"{_WO}/templates"): Attack(expect=(200,)),
        ("post", f"{_WO}/templates"): Attack(
            expect=(422,),
            body={
                "code": "t",
                "name": "t",
                "category": "complaint",
                "default_group_id": "@workorders.group",
            },
        ),
        ("get", f"{_WO}/templates/{{template_id}}"): Attack(
            ids={"template_id": "workorders.template"}
        ),
        ("patch", f"{_WO}/templates/{{template_id}}"): Attack(
            ids={"template_id": "workorders.template"}, body={"name": "x"}
        ),
        ("get", _WO): Attack(expect=(200,)),
        ("post", _WO): Attack(body={"template_id": "@workorders.template", "title": "x"}),
        ("get", f"{_WO}/{{order_id}}"): Attack(ids={"order_id": "workorders.order"}),
        ("patch", f"{_WO}/{{order_id}}"): Attack(
            ids={"order_id": "workorders.order"}, body={**_V1, "title": "x"}
        ),
        ("post", f"{_WO}/{{order_id}}/actions"): Attack(
            ids={"order_id": "workorders.order"}, body={**_V1, "action": "cancel", "reason": "x"}
        ),
        ("post", f"{_WO}/bulk"): Attack(
            expect=(200,), body={"ids": "@workorders.order_ids", "action": "cancel", "reason": "x"}
        ),
        ("post", f"{_WO}/{{order_id}}/comments"): Attack(
            ids={"order_id": "workorders.order"}, body={"body": "x"}
        ),
        ("get", f"{_WO}/{{order_id}}/timeline"): Attack(ids={"order_id": "workorders.order"}),
        ("post", f"{_WO}/{{order_id}}/followup"): Attack(
            ids={"order_id": "workorders.order"}, body={**_V1, "solved": False}
        ),
        ("post", f"{_WO}/{{order_id}}/extend"): Attack(
            ids={"order_id": "workorders.order"},
            body={**_V1, "reason": "x", "customer_notified": True},
        ),
        ("post", f"{_WO}/{{order_id}}/merge"): Attack(
            ids={"order_id": "workorders.order"}, body={**_V1, "into_id": "@workorders.order"}
        ),
        ("post", f"{_WO}/attachments"): Attack(expect=(422,)),  # no ?filename: refused first
        ("get", f"{_WO}/attachments/{{attachment_id}}"): Attack(
            ids={"attachment_id": "workorders.attachment"}
        ),
        ("get", f"{_WO}/notifications/mine"): Attack(expect=(200,)),
        ("post", f"{_WO}/notifications/{{notification_id}}/read"): Attack(
            ids={"notification_id": "workorders.notification"}
        ),
        ("get", f"{_WO}/views/mine"): Attack(expect=(200,)),
        ("post", f"{_WO}/views"): Attack(expect=(201,), body={"name": "mine"}),
        ("delete", f"{_WO}/views/{{view_id}}"): Attack(ids={"view_id": "workorders.view"}),
        ("post", f"{_WO}/sla/check"): Attack(expect=(200,)),
        ("get", f"{_WO}/reports/summary"): Attack(expect=(200,)),
        ("get", f"{_WO}/reports/export"): Attack(expect=(200,)),
    }
)

# --- web chat ----------------------------------------------------------------------------------


def _victim_webchat(client: TestClient, world: World) -> dict[str, Any]:
    """Tenant B's chat queue and widget, a customer's conversation (its contact) and a file."""
    client.post(
        "/api/v1/routing/queues",
        json={"code": "VCHAT", "name": "victim chat", "media": "chat", "skills": []},
    )
    key = f"vw{uuid.uuid4().hex[:12]}"
    widget = client.post(
        "/api/v1/webchat/widgets", json={"key": key, "name": "victim web", "queue_code": "VCHAT"}
    ).json()
    started = client.post(
        f"/api/v1/webchat/public/{key}/conversations", json={"message": "victim secret"}
    ).json()
    token = {"X-Chat-Token": started["token"]}
    file = client.post(
        "/api/v1/webchat/files/conversation",
        params={"name": "v.png"},
        content=b"\x89PNG\r\n\x1a\n" + b"\x00" * 16,
        headers=token,
    ).json()
    contact_id = client.get("/api/v1/webchat/conversation", headers=token).json()
    with_contact = client.get("/api/v1/webchat/conversations", params={"status": "waiting"}).json()[
        "items"
    ][0]
    _ = contact_id
    return {
        "widget": widget["id"],
        "key": key,
        "conversation": with_contact["id"],
        "contact": with_contact["contact_id"],
        "file": file["data"]["attachment_id"],
    }


VICTIMS["webchat"] = _victim_webchat
_TOKEN_ONLY = Attack(public=True, expect=(401,))
ATTACKS.update(
    {
        ("get", "/api/v1/webchat/widgets"): Attack(expect=(200,)),
        ("post", "/api/v1/webchat/widgets"): Attack(
            expect=(201,), body={"key": "mine-widget-a", "name": "mine", "queue_code": "Q"}
        ),
        ("get", "/api/v1/webchat/widgets/{item_id}"): Attack(ids={"item_id": "webchat.widget"}),
        ("patch", "/api/v1/webchat/widgets/{item_id}"): Attack(
            ids={"item_id": "webchat.widget"}, body={"name": "x"}
        ),
        ("delete", "/api/v1/webchat/widgets/{item_id}"): Attack(ids={"item_id": "webchat.widget"}),
        # A widget is public by design (its key is written in the website's script tag).
        ("get", "/api/v1/webchat/public/{key}"): Attack(
            public=True, expect=(200,), ids={"key": "webchat.key"}
        ),
        ("post", "/api/v1/webchat/public/{key}/conversations"): Attack(
            public=True, expect=(201,), ids={"key": "webchat.key"}, body={"message": "hi"}
        ),
        # The customer's routes answer only to the conversation's secret token.
        ("get", "/api/v1/webchat/conversation"): _TOKEN_ONLY,
        ("get", "/api/v1/webchat/conversation/messages"): _TOKEN_ONLY,
        ("post", "/api/v1/webchat/conversation/messages"): Attack(
            public=True, expect=(401,), body={"text": "x"}
        ),
        ("get", "/api/v1/webchat/conversation/files/{attachment_id}"): Attack(
            public=True, expect=(401,), ids={"attachment_id": "webchat.file"}
        ),
        ("post", "/api/v1/webchat/conversation/callback"): Attack(
            public=True, expect=(401,), body={"phone": "13800000000"}
        ),
        ("post", "/api/v1/webchat/conversation/end"): _TOKEN_ONLY,
        ("post", "/api/v1/webchat/conversation/rating"): Attack(
            public=True, expect=(401,), body={"score": 5}
        ),
        ("post", "/api/v1/webchat/files/conversation"): _TOKEN_ONLY,
        ("post", "/api/v1/webchat/files/conversations/{conversation_id}"): Attack(
            ids={"conversation_id": "webchat.conversation"}, role=_AGENT
        ),
        ("get", "/api/v1/webchat/contacts/{contact_id}"): Attack(
            ids={"contact_id": "webchat.contact"}
        ),
        ("get", "/api/v1/webchat/conversations"): Attack(expect=(200,)),
        ("get", "/api/v1/webchat/conversations/{conversation_id}"): Attack(
            ids={"conversation_id": "webchat.conversation"}
        ),
        ("get", "/api/v1/webchat/conversations/{conversation_id}/messages"): Attack(
            ids={"conversation_id": "webchat.conversation"}
        ),
        ("post", "/api/v1/webchat/conversations/{conversation_id}/messages"): Attack(
            ids={"conversation_id": "webchat.conversation"}, role=_AGENT, body={"text": "x"}
        ),
        ("post", "/api/v1/webchat/conversations/{conversation_id}/end"): Attack(
            ids={"conversation_id": "webchat.conversation"}, role=_AGENT
        ),
        ("get", "/api/v1/webchat/conversations/{conversation_id}/files/{attachment_id}"): Attack(
            ids={"conversation_id": "webchat.conversation", "attachment_id": "webchat.file"}
        ),
    }
)

# --- workforce management ----------------------------------------------------------------------


def _victim_wfm(client: TestClient, world: World) -> dict[str, Any]:
    """Tenant B's history, forecast, schedule with a rostered shift, and its agent's request."""
    from datetime import UTC, datetime, timedelta

    from tests.api.test_wfm_api import SH, history_csv

    today = datetime.now(UTC).astimezone(SH).date()
    client.post("/api/v1/routing/queues", json={"code": "HOTLINE", "name": "v", "skills": []})
    client.post(
        "/api/v1/wfm/history",
        params={"interval_min": 60},
        content=history_csv(today, weeks=3).encode(),
        headers={"Content-Type": "text/csv"},
    )
    forecast = client.post(
        "/api/v1/wfm/forecasts", json={"horizon_days": 16, "interval_min": 60, "name": world.code}
    ).json()
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    schedule = client.post(
        "/api/v1/wfm/schedules",
        json={
            "forecast_id": forecast["id"],
            "queue": "HOTLINE",
            "week_start": str(monday),
            "name": world.code,
        },
    ).json()
    client.post(f"/api/v1/wfm/schedules/{schedule['id']}/roster")
    agent = login(client.app, world.username(Role.AGENT))
    week = {"start": str(monday), "days": 7}
    shift = agent.get("/api/v1/wfm/me/shifts", params=week).json()[0]
    leave = {"kind": "leave", "shift_id": shift["id"], "reason": world.code}
    request = agent.post("/api/v1/wfm/requests", json=leave).json()
    return {
        "forecast": forecast["id"],
        "schedule": schedule["id"],
        "shift": shift["id"],
        "request": request["id"],
    }


VICTIMS["wfm"] = _victim_wfm
_WFM = "/api/v1/wfm"
ATTACKS.update(
    {
        ("post", f"{_WFM}/history"): Attack(expect=(422,)),  # no body: refused, nothing stored
        ("get", f"{_WFM}/history"): Attack(expect=(200,)),
        ("post", f"{_WFM}/history/from-events"): Attack(expect=(200,), body={"days": 2}),
        ("get", f"{_WFM}/intraday"): Attack(expect=(422,)),  # ?queue= is required
        ("post", f"{_WFM}/forecasts"): Attack(expect=(422,), body={"horizon_days": 1}),
        ("get", f"{_WFM}/forecasts"): Attack(expect=(200,)),
        ("get", f"{_WFM}/forecasts/{{forecast_id}}"): Attack(ids={"forecast_id": "wfm.forecast"}),
        ("post", f"{_WFM}/schedules"): Attack(
            body={"forecast_id": "@wfm.forecast", "queue": "HOTLINE", "week_start": "2026-03-02"}
        ),
        ("get", f"{_WFM}/schedules"): Attack(expect=(200,)),
        ("get", f"{_WFM}/schedules/{{schedule_id}}"): Attack(ids={"schedule_id": "wfm.schedule"}),
        ("post", f"{_WFM}/schedules/{{schedule_id}}/roster"): Attack(
            ids={"schedule_id": "wfm.schedule"}
        ),
        ("get", f"{_WFM}/schedules/{{schedule_id}}/roster"): Attack(
            ids={"schedule_id": "wfm.schedule"}
        ),
        ("post", f"{_WFM}/schedules/{{schedule_id}}/evaluate"): Attack(
            ids={"schedule_id": "wfm.schedule"}, body={"day": 0, "replications": 1}
        ),
        ("get", f"{_WFM}/me/shifts"): Attack(expect=(200,), role=_AGENT),
        ("get", f"{_WFM}/me/shifts/{{shift_id}}/swap-options"): Attack(
            ids={"shift_id": "wfm.shift"}, role=_AGENT
        ),
        ("post", f"{_WFM}/requests"): Attack(
            role=_AGENT, body={"kind": "leave", "shift_id": "@wfm.shift"}
        ),
        ("get", f"{_WFM}/requests"): Attack(expect=(200,)),
        ("post", f"{_WFM}/requests/{{request_id}}/decision"): Attack(
            ids={"request_id": "wfm.request"}, body={"approve": True}
        ),
        ("get", f"{_WFM}/adherence"): Attack(expect=(200,)),
        ("get", f"{_WFM}/agents"): Attack(expect=(200,)),
        ("put", f"{_WFM}/agents/{{user_id}}/settings"): Attack(
            ids={"user_id": "user"}, body={"max_hours": 30}
        ),
        ("put", f"{_WFM}/me/preferences"): Attack(
            expect=(200,), role=_AGENT, body={"avoid_nights": True}
        ),
    }
)

# --- staffing calculator and simulation runs (issue 6) -------------------------------------------


def _victim_simulation(client: TestClient, _world: World) -> dict[str, Any]:
    run = client.post("/api/v1/simulation/runs", json={"replications": 1})
    assert run.status_code == 202, run.text
    return {"run": run.json()["id"]}


VICTIMS["simulation"] = _victim_simulation
_STAFFING_BODY = {"intervals": [{"start": "2026-03-02T09:00:00+08:00", "calls": 50}], "aht_s": 200}
ATTACKS.update(
    {
        # pure calculations on the caller's own input: nothing of tenant B to reach
        ("post", "/api/v1/wfm/staffing"): Attack(expect=(200,), body=_STAFFING_BODY),
        ("post", "/api/v1/wfm/staffing/export"): Attack(expect=(200,), body=_STAFFING_BODY),
        ("post", "/api/v1/simulation/runs"): Attack(expect=(422,), body={"replications": 0}),
        ("get", "/api/v1/simulation/runs"): Attack(expect=(200,)),
        ("get", "/api/v1/simulation/runs/{run_id}"): Attack(ids={"run_id": "simulation.run"}),
    }
)

# --- agent desk and wallboard -------------------------------------------------------------------


def _victim_desk(client: TestClient, _world: World) -> dict[str, Any]:
    disposition = client.post(
        "/api/v1/desk/dispositions", json={"code": "VOK", "name": "victim solved"}
    ).json()
    reply = client.post(
        "/api/v1/desk/quick-replies", json={"title": "victim", "body": "victim reply"}
    ).json()
    return {"disposition": disposition["id"], "reply": reply["id"]}


VICTIMS["desk"] = _victim_desk
_ROUTED = {"contact_id": "routing.contact"}
ATTACKS.update(
    {
        ("get", "/api/v1/desk/dispositions"): Attack(expect=(200,)),
        ("post", "/api/v1/desk/dispositions"): Attack(
            expect=(201,), body={"code": "MINE", "name": "mine"}
        ),
        ("get", "/api/v1/desk/dispositions/{item_id}"): Attack(ids={"item_id": "desk.disposition"}),
        ("patch", "/api/v1/desk/dispositions/{item_id}"): Attack(
            ids={"item_id": "desk.disposition"}, body={"name": "x"}
        ),
        ("delete", "/api/v1/desk/dispositions/{item_id}"): Attack(
            ids={"item_id": "desk.disposition"}
        ),
        ("get", "/api/v1/desk/quick-replies"): Attack(expect=(200,)),
        ("post", "/api/v1/desk/quick-replies"): Attack(
            expect=(201,), body={"title": "mine", "body": "mine"}
        ),
        ("get", "/api/v1/desk/quick-replies/{item_id}"): Attack(ids={"item_id": "desk.reply"}),
        ("patch", "/api/v1/desk/quick-replies/{item_id}"): Attack(
            ids={"item_id": "desk.reply"}, body={"title": "x"}
        ),
        ("delete", "/api/v1/desk/quick-replies/{item_id}"): Attack(ids={"item_id": "desk.reply"}),
        ("get", "/api/v1/desk/me"): Attack(expect=(200,), role=_AGENT),
        ("get", "/api/v1/desk/contacts/{contact_id}/screen-pop"): Attack(ids=_ROUTED),
        ("post", "/api/v1/desk/contacts/{contact_id}/transfer"): Attack(
            ids=_ROUTED, role=_AGENT, body={"queue": "@routing.queue_code", "note": "x"}
        ),
        ("post", "/api/v1/desk/contacts/{contact_id}/wrap-up"): Attack(
            ids=_ROUTED, role=_AGENT, body={"disposition": "VOK"}
        ),
        ("get", "/api/v1/desk/contacts/{contact_id}/quick-replies"): Attack(
            ids=_ROUTED, role=_AGENT
        ),
        ("get", "/api/v1/desk/transfer-targets"): Attack(expect=(200,), role=_AGENT),
        ("get", "/api/v1/desk/wallboard"): Attack(expect=(200,)),
        ("get", "/api/v1/desk/wallboard/waiting"): Attack(expect=(200,)),
    }
)

# --- knowledge -----------------------------------------------------------------------------

_KB: dict[int, dict[str, int]] = {}


def _kb_victims(client: TestClient, world: World) -> dict[str, int]:
    """Tenant B's module, article (two versions), tip, announcement and question."""
    if world.tenant_id not in _KB:
        kb = "/api/v1/knowledge"
        mark = world.code
        module = client.post(f"{kb}/modules", json={"name": f"{mark} 模块"}).json()["id"]
        article = client.post(
            f"{kb}/articles",
            json={
                "title": f"{mark} 流量包",
                "body": f"{mark} 答案",
                "module_id": module,
                "status": "published",
            },
        ).json()["id"]
        client.patch(f"{kb}/articles/{article}", json={"version": 1, "body": f"{mark} 新答案"})
        tip = client.post(f"{kb}/articles/{article}/tips", json={"body": f"{mark} 技巧"})
        notice = client.post(
            f"{kb}/announcements", json={"title": f"{mark}", "importance": "urgent"}
        )
        question = client.post(
            f"{kb}/questions", json={"text": f"{mark} 问题", "module_id": module}
        )
        _KB[world.tenant_id] = {
            "kb_module": module,
            "kb_article": article,
            "kb_tip": tip.json()["id"],
            "kb_announcement": notice.json()["id"],
            "kb_question": question.json()["id"],
        }
    return _KB[world.tenant_id]


for _key in ("kb_module", "kb_article", "kb_tip", "kb_announcement", "kb_question"):
    VICTIMS[_key] = lambda client, world, key=_key: _kb_victims(client, world)[key]
_KA = "/api/v1/knowledge/articles/{article_id}"
ATTACKS.update(
    {
        ("get", "/api/v1/knowledge/articles"): Attack(expect=(200,)),
        ("post", "/api/v1/knowledge/articles"): Attack(
            expect=(422,), body={"title": "mine", "module_id": "@kb_module"}
        ),
        ("get", _KA): Attack(ids={"article_id": "kb_article"}),
        ("patch", _KA): Attack(ids={"article_id": "kb_article"}, body={"version": 1, "title": "x"}),
        ("delete", _KA): Attack(ids={"article_id": "kb_article"}),
        **{
            ("post", f"{_KA}/{action}"): Attack(ids={"article_id": "kb_article"}, body={})
            for action in ("submit", "approve", "reject", "archive", "restore")
        },
        ("get", f"{_KA}/versions"): Attack(ids={"article_id": "kb_article"}),
        ("get", f"{_KA}/diff"): Attack(ids={"article_id": "kb_article"}),
        ("post", f"{_KA}/rollback"): Attack(
            ids={"article_id": "kb_article"}, body={"version": 2, "to_version": 1}
        ),
        ("post", f"{_KA}/feedback"): Attack(
            ids={"article_id": "kb_article"}, body={"helpful": True}
        ),
        ("get", f"{_KA}/tips"): Attack(ids={"article_id": "kb_article"}),
        ("post", f"{_KA}/tips"): Attack(ids={"article_id": "kb_article"}, body={"body": "x"}),
        ("get", "/api/v1/knowledge/search"): Attack(expect=(200,)),
        ("get", "/api/v1/knowledge/analytics"): Attack(expect=(200,)),
        ("get", "/api/v1/knowledge/dictionary"): Attack(expect=(200,)),
        ("put", "/api/v1/knowledge/dictionary"): Attack(expect=(200,), body={"words": ["流量包"]}),
        ("get", "/api/v1/knowledge/export"): Attack(expect=(200,)),
        ("post", "/api/v1/knowledge/import"): Attack(expect=(422,)),
        ("get", "/api/v1/knowledge/modules"): Attack(expect=(200,)),
        ("post", "/api/v1/knowledge/modules"): Attack(
            expect=(422,), body={"name": "mine", "parent_id": "@kb_module"}
        ),
        ("get", "/api/v1/knowledge/modules/{item_id}"): Attack(ids={"item_id": "kb_module"}),
        ("patch", "/api/v1/knowledge/modules/{item_id}"): Attack(
            ids={"item_id": "kb_module"}, body={"name": "x"}
        ),
        ("delete", "/api/v1/knowledge/modules/{item_id}"): Attack(ids={"item_id": "kb_module"}),
        ("get", "/api/v1/knowledge/tips"): Attack(expect=(200,)),
        ("post", "/api/v1/knowledge/tips/{tip_id}/review"): Attack(
            ids={"tip_id": "kb_tip"}, body={"publish": True}
        ),
        ("get", "/api/v1/knowledge/announcements"): Attack(expect=(200,)),
        ("post", "/api/v1/knowledge/announcements"): Attack(
            expect=(422,), body={"title": "mine", "audience_teams": ["@team"]}
        ),
        ("get", "/api/v1/knowledge/announcements/pending"): Attack(expect=(200,)),
        **{
            (method, f"/api/v1/knowledge/announcements/{{announcement_id}}{tail}"): Attack(
                ids={"announcement_id": "kb_announcement"}
            )
            for method, tail in (
                ("delete", ""),
                ("post", "/read"),
                ("post", "/ack"),
                ("get", "/report"),
            )
        },
        ("post", "/api/v1/knowledge/questions"): Attack(
            expect=(422,), body={"text": "mine", "module_id": "@kb_module"}
        ),
        ("get", "/api/v1/knowledge/questions"): Attack(expect=(200,)),
        ("get", "/api/v1/knowledge/questions/{question_id}"): Attack(
            ids={"question_id": "kb_question"}
        ),
        ("post", "/api/v1/knowledge/questions/{question_id}/answer"): Attack(
            ids={"question_id": "kb_question"}, body={"answer": "x"}
        ),
        ("post", "/api/v1/knowledge/bot/answer"): Attack(
            expect=(200,), body={"question": "流量包"}
        ),
    }
)

# --- self-service IVR (issue 8) -----------------------------------------------------------------

_IVR_FLOW = {
    "start": "main",
    "nodes": {
        "main": {"type": "menu", "prompt": "查询请按1", "options": {"1": "bye"}},
        "bye": {"type": "hangup"},
    },
}


def _victim_ivr(client: TestClient, world: World) -> dict[str, Any]:
    flow = client.post(
        "/api/v1/ivr/flows",
        json={"code": "victim-flow", "name": f"victim {world.code}", "definition": _IVR_FLOW},
    )
    assert flow.status_code == 201, flow.text
    flow_id = flow.json()["flow"]["id"]
    assert client.post(f"/api/v1/ivr/flows/{flow_id}/versions/1/publish").status_code == 200
    client.put(f"/api/v1/ivr/flows/{flow_id}/draft", json={"definition": _IVR_FLOW})
    prompt = client.post(
        "/api/v1/ivr/prompts",
        data={"code": "victim", "name": f"victim {world.code}", "text": f"{world.code}"},
    )
    assert prompt.status_code == 201, prompt.text
    return {"flow": flow_id, "version": 1, "draft": 2, "prompt": prompt.json()["id"]}


VICTIMS["ivr"] = _victim_ivr
_IVR = "/api/v1/ivr"
_IVR_IDS = {"flow_id": "ivr.flow", "version": "ivr.version"}
ATTACKS.update(
    {
        ("post", f"{_IVR}/validate"): Attack(expect=(200,), body={"definition": _IVR_FLOW}),
        ("get", f"{_IVR}/flows"): Attack(expect=(200,)),
        # the same code in another tenant is no conflict
        ("post", f"{_IVR}/flows"): Attack(
            expect=(201,), body={"code": "victim-flow", "name": "mine", "definition": _IVR_FLOW}
        ),
        ("get", f"{_IVR}/flows/{{flow_id}}"): Attack(ids={"flow_id": "ivr.flow"}),
        ("put", f"{_IVR}/flows/{{flow_id}}/draft"): Attack(
            ids={"flow_id": "ivr.flow"}, body={"definition": _IVR_FLOW}
        ),
        ("get", f"{_IVR}/flows/{{flow_id}}/versions/{{version}}"): Attack(ids=_IVR_IDS),
        ("post", f"{_IVR}/flows/{{flow_id}}/versions/{{version}}/publish"): Attack(
            ids={"flow_id": "ivr.flow", "version": "ivr.draft"}
        ),
        ("post", f"{_IVR}/flows/{{flow_id}}/versions/{{version}}/rollback"): Attack(ids=_IVR_IDS),
        ("get", f"{_IVR}/reports"): Attack(expect=(200,)),
        ("get", f"{_IVR}/reports/{{flow_id}}"): Attack(ids={"flow_id": "ivr.flow"}),
        ("get", f"{_IVR}/prompts"): Attack(expect=(200,)),
        ("post", f"{_IVR}/prompts"): Attack(expect=(422,), body={"code": "x"}),  # multipart only
        ("get", f"{_IVR}/prompts/{{prompt_id}}/audio"): Attack(ids={"prompt_id": "ivr.prompt"}),
        ("delete", f"{_IVR}/prompts/{{prompt_id}}"): Attack(ids={"prompt_id": "ivr.prompt"}),
    }
)

# Patching a victim's object with a reference into the attacker's own tenant is refused too.
REFERENCE_PATCHES = [("/api/v1/teams/{id}", {"site_id": "@site"})]


# --- SMS (outbox and replies; the 回访 survey of a work order) ------------------------------------


def _victim_sms(client: TestClient, world: World) -> dict[str, Any]:
    """Tenant B resolved a complaint: a survey SMS went to B's customer, awaiting the reply."""
    admin_id = world.users[Role.ADMIN].id
    base = "/api/v1/workorders"
    group = client.post(f"{base}/groups", json={"code": "sms", "name": "sms"}).json()
    client.put(f"{base}/groups/{group['id']}/members", json={"members": [{"user_id": admin_id}]})
    template = client.post(
        f"{base}/templates",
        json={"code": "sms", "name": "s", "category": "complaint", "default_group_id": group["id"]},
    ).json()
    phone = "139" + str(world.tenant_id).zfill(8)[-8:]
    order = client.post(
        base,
        json={"template_id": template["id"], "title": world.code, "customer_phone": phone},
    ).json()
    for action, extra in (("assign", {"assignee_id": admin_id}), ("start", {}), ("resolve", {})):
        order = client.post(
            f"{base}/{order['id']}/actions",
            json={"action": action, "version": order["version"], "reason": "v", **extra},
        ).json()
    assert order["followup_status"] == "pending"
    return {"phone": phone, "order": order["id"]}


VICTIMS["sms"] = _victim_sms
ATTACKS.update(
    {
        # a reply from B's customer's number, posted by A's gateway: matches nothing of B's
        ("post", "/api/v1/sms/inbound"): Attack(
            expect=(200,), body={"from": "@sms.phone", "text": "2 未解决"}
        ),
        ("get", "/api/v1/sms/messages"): Attack(expect=(200,)),
    }
)

# --- voice -------------------------------------------------------------------------------------


def _victim_voice(client: TestClient, world: World) -> dict[str, Any]:
    """Tenant B's call recording (rows come from call control, not the API) and its file."""
    from kefu.channels.voice.tables import VoiceRecording

    container = client.app.state.container
    path = Path(container.settings.var_dir) / f"victim-{world.code}.wav"
    path.write_bytes(b"RIFF" + world.code.encode())
    now = container.clock.now()
    with container.db.session(clock=container.clock, actor_name="factory") as session:
        row = VoiceRecording(
            tenant_id=world.tenant_id,
            contact_id=f"v{world.tenant_id}",
            path=str(path),
            caller=world.code[:40],
            started_at=now,
            ended_at=now,
        )
        session.add(row)
        session.flush()
        return {"recording": row.id, "contact": row.contact_id}


VICTIMS["voice"] = _victim_voice
ATTACKS.update(
    {
        ("get", "/api/v1/voice/recordings"): Attack(expect=(200,)),
        ("get", "/api/v1/voice/recordings/{recording_id}/audio"): Attack(
            ids={"recording_id": "voice.recording"}
        ),
        ("post", "/api/v1/voice/calls/{contact_id}/sensitive"): Attack(
            ids={"contact_id": "voice.contact"}, body={"active": True}, role=_AGENT
        ),
        ("post", "/api/v1/voice/calls/{contact_id}/control"): Attack(
            ids={"contact_id": "voice.contact"}, body={"action": "hold"}, role=_AGENT
        ),
        ("get", "/api/v1/voice/settings"): Attack(expect=(200,)),
        ("put", "/api/v1/voice/settings"): Attack(expect=(200,), body={"retention_days": 30}),
    }
)


def _routes(app) -> list[tuple[str, str]]:
    schema = app.openapi()
    return sorted((method, path) for path, item in schema["paths"].items() for method in item)


def test_every_route_is_covered(app) -> None:
    missing = [r for r in _routes(app) if r not in ATTACKS]
    assert not missing, f"add these routes to ATTACKS: {missing}"


def _victim_state(container, tenant_id: int) -> str:
    with container.db.sessions() as session:
        rows = []
        for model in (Site, Team, User, TenantHoliday, ApiToken):
            for obj in session.scalars(
                select(model).where(model.tenant_id == tenant_id).order_by(model.id)
            ):
                rows.append(
                    {c.key: str(getattr(obj, c.key)) for c in model.__mapper__.column_attrs}
                )
    return json.dumps(rows, sort_keys=True, ensure_ascii=False)


def test_tenant_a_cannot_reach_tenant_b(app, container) -> None:
    victim = make_world(container, "victim")
    attacker_world = make_world(container, "attacker")
    victim_admin = login(app, victim.username(Role.ADMIN))
    victim_ids = {key: make(victim_admin, victim) for key, make in VICTIMS.items()}
    before = _victim_state(container, victim.tenant_id)
    marker = victim.code

    def lookup(key: str) -> Any:
        value: Any = victim_ids
        for part in key.split("."):
            value = value[part]
        return value

    def fill(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("@"):
            return lookup(value[1:])
        return value

    for (method, path), attack in sorted(ATTACKS.items()):
        if method == "post" and path.endswith("/logout"):
            continue  # run last: it ends the attacker's session
        attacker = login(app, attacker_world.username(attack.role))
        url = path
        for param, key in attack.ids.items():
            url = url.replace("{" + param + "}", str(lookup(key)))
        body = {k: fill(v) for k, v in attack.body.items()} if attack.body is not None else None
        response = attacker.request(method.upper(), url, json=body)
        assert response.status_code in attack.expect, (
            method,
            path,
            response.status_code,
            response.text,
        )
        sent = url + json.dumps(body, ensure_ascii=False)
        if marker not in sent:  # an error may repeat what the attacker sent; that is no leak
            assert marker not in response.text, f"{method} {path} leaked tenant B's data"

    attacker = login(app, attacker_world.username(Role.ADMIN))
    for path, patch in REFERENCE_PATCHES:
        own_team = attacker_world.team_id
        response = attacker.patch(
            path.replace("{id}", str(own_team)), json={k: fill(v) for k, v in patch.items()}
        )
        assert response.status_code == 422, response.text
    assert attacker.post("/api/v1/auth/logout").status_code == 204
    assert _victim_state(container, victim.tenant_id) == before
