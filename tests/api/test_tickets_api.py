"""Work orders through the API: the complaint closed loop, bad input, files, views and reports."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from openpyxl import load_workbook

from kefu.customers.tables import Customer, Interaction
from kefu.tenancy.model import Role
from tests.factories import World, login, make_world

pytestmark = pytest.mark.api

FIELDS = [
    {"key": "amount", "label": "争议金额", "type": "amount", "required": True, "min": 0},
    {"key": "month", "label": "争议月份", "type": "date"},
    {"key": "phone", "label": "联系电话", "type": "phone", "required": True},
    {"key": "kind", "label": "争议类型", "type": "choice", "options": ["月租", "流量", "短信"]},
    {"key": "proof", "label": "凭证", "type": "attachment"},
]


@dataclass
class Center:
    world: World
    admin: Any
    billing: int  # 话费专班 (level 1)
    hard: int  # 疑难专班 (level 2)
    template: int
    customer: int
    contact: int


def make_center(app, container, label: str = "wo") -> Center:
    world = make_world(container, label)
    admin = login(app, world.username(Role.ADMIN))
    leader, duty = world.users[Role.TEAM_LEADER].id, world.users[Role.DUTY_MANAGER].id
    hard = admin.post(
        "/api/v1/workorders/groups",
        json={"code": "hard", "name": "疑难专班", "level": 2, "leader_id": duty},
    ).json()["id"]
    billing = admin.post(
        "/api/v1/workorders/groups",
        json={"code": "billing", "name": "话费专班", "leader_id": leader, "next_group_id": hard},
    )
    assert billing.status_code == 201, billing.text
    billing_id = billing.json()["id"]
    back = world.users[Role.BACKOFFICE].id
    assert (
        admin.put(
            f"/api/v1/workorders/groups/{billing_id}/members", json={"members": [{"user_id": back}]}
        ).status_code
        == 200
    )
    assert (
        admin.put(
            f"/api/v1/workorders/groups/{hard}/members", json={"members": [{"user_id": leader}]}
        ).status_code
        == 200
    )
    policy = admin.post(
        "/api/v1/workorders/sla-policies",
        json={"code": "tel", "name": "电信投诉", "base": "telecom_cn", "category": "complaint"},
    )
    assert policy.status_code == 201, policy.text
    template = admin.post(
        "/api/v1/workorders/templates",
        json={
            "code": "bill_dispute",
            "name": "话费争议",
            "category": "complaint",
            "business_type": "话费",
            "fields": FIELDS,
            "default_group_id": billing_id,
            "default_priority": "high",
        },
    )
    assert template.status_code == 201, template.text
    with container.db.session(clock=container.clock) as session:
        customer = Customer(
            tenant_id=world.tenant_id,
            name="王小明",
            phone="13800138000",
            created_at=container.clock.now(),
        )
        session.add(customer)
        session.flush()
        contact = Interaction(
            tenant_id=world.tenant_id,
            customer_id=customer.id,
            channel="voice",
            started_at=container.clock.now(),
            business_type="话费查询",
            summary="多扣月租",
        )
        session.add(contact)
        session.flush()
        ids = customer.id, contact.id
    return Center(world, admin, billing_id, hard, template.json()["id"], *ids)


def _order(client, center: Center, **extra: Any) -> Any:
    body = {
        "template_id": center.template,
        "title": "七月话费多扣 30 元",
        "description": "客户称未开通的增值业务被扣费",
        "fields": {"amount": "30", "phone": "13800138000", "kind": "月租"},
        "contact_id": center.contact,
        **extra,
    }
    return client.post("/api/v1/workorders", json=body)


def _act(client, order: dict[str, Any], action: str, **extra: Any) -> Any:
    return client.post(
        f"/api/v1/workorders/{order['id']}/actions",
        json={"action": action, "version": order["version"], **extra},
    )


def test_complaint_from_the_front_line_to_reopen(app, container, clock) -> None:
    center = make_center(app, container)
    world = center.world
    agent = login(app, world.username(Role.AGENT))
    back = login(app, world.username(Role.BACKOFFICE))
    duty = login(app, world.username(Role.DUTY_MANAGER))
    leader = login(app, world.username(Role.TEAM_LEADER))
    due = clock.now() + timedelta(hours=2)
    created = _order(
        agent,
        center,
        due=due.isoformat(),
        callback_after=clock.now().isoformat(),
        callback_before=(clock.now() + timedelta(hours=4)).isoformat(),
    )
    assert created.status_code == 201, created.text
    order = created.json()
    # the contact brought its customer; the order went to 话费专班 and its only member
    assert order["customer_id"] == center.customer and order["customer_name"] == "王小明"
    assert order["group_id"] == center.billing and order["status"] == "assigned"
    assert order["assignee_id"] == world.users[Role.BACKOFFICE].id
    assert order["creator_id"] == world.users[Role.AGENT].id and order["policy"] == "tel"
    assert order["number"] == f"GD{order['id']:08d}" and order["fields"]["amount"] == "30.00"
    mine = back.get("/api/v1/workorders", params={"view": "mine"}).json()
    assert [o["id"] for o in mine["items"]] == [order["id"]]
    order = _act(back, order, "start").json()
    assert order["status"] == "in_progress"

    clock.advance(hours=1, minutes=40)  # 83 % of the two hours promised
    check = duty.post("/api/v1/workorders/sla/check").json()
    assert check["warnings"] >= 1 and check["escalations"] == 1
    order = back.get(f"/api/v1/workorders/{order['id']}").json()
    assert order["sla_phase"] == "warning" and order["escalation_level"] == 1
    leader_news = leader.get("/api/v1/workorders/notifications/mine").json()["items"]
    assert ("escalation", order["id"]) in {(n["kind"], n["order_id"]) for n in leader_news}

    clock.advance(minutes=25)  # past the deadline: escalated to 疑难专班
    check = duty.post("/api/v1/workorders/sla/check").json()
    assert check["breaches"] >= 1 and check["escalations"] == 1
    stale = _act(back, order, "resolve", reason="too late")
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    order = leader.get(f"/api/v1/workorders/{order['id']}").json()
    assert order["group_id"] == center.hard and order["status"] == "assigned"
    assert order["assignee_id"] == world.users[Role.TEAM_LEADER].id
    assert order["sla_phase"] == "breached" and order["escalation_level"] == 2
    order = _act(leader, order, "start").json()
    order = _act(leader, order, "resolve", reason="核实为系统误扣，已退费 30 元").json()
    assert order["status"] == "resolved" and order["followup_status"] == "pending"
    refused = _act(leader, order, "close")
    assert refused.status_code == 409 and refused.json()["code"] == "followup_required"
    opener_news = agent.get("/api/v1/workorders/notifications/mine").json()["items"]
    assert "resolved" in {n["kind"] for n in opener_news}  # 首问负责: the opener hears back

    answer = back.post(
        f"/api/v1/workorders/{order['id']}/followup",
        json={
            "version": order["version"],
            "solved": False,
            "channel": "call",
            "satisfaction": 2,
            "note": "客户称仍被扣费",
        },
    )
    assert answer.status_code == 200, answer.text
    order = answer.json()
    assert order["status"] == "assigned" and order["group_id"] == center.hard
    assert order["repeat_count"] == 1 and order["reopen_count"] == 1
    assert order["followup_status"] == "not_solved" and order["sla_phase"] == "ok"
    events = [
        e["type"] for e in agent.get(f"/api/v1/workorders/{order['id']}/timeline").json()["items"]
    ]
    for expected in (
        "workorder.created",
        "workorder.assign",
        "workorder.start",
        "workorder.sla_warning",
        "workorder.escalated",
        "workorder.sla_breached",
        "workorder.transfer",
        "workorder.resolve",
        "workorder.followed_up",
        "workorder.reopen",
    ):
        assert expected in events, expected
    assert events.index("workorder.sla_warning") < events.index("workorder.sla_breached")

    report = leader.get("/api/v1/workorders/reports/summary").json()
    assert report["total"]["created"] == 1 and report["total"]["overdue"] == 1
    assert report["total"]["on_time_rate"] == 0.0 and report["total"]["reopen_rate"] == 1.0
    assert report["hot_topics"][0] == {"topic": "bill_dispute", "business_type": "话费", "count": 1}
    assert report["backlog"][0]["total"] == 1


def test_bad_input_is_refused_with_clear_errors(app, container, clock) -> None:
    center = make_center(app, container)
    agent = login(app, center.world.username(Role.AGENT))
    back = login(app, center.world.username(Role.BACKOFFICE))
    missing = agent.post(
        "/api/v1/workorders",
        json={
            "template_id": center.template,
            "title": "x",
            "fields": {"amount": "1.234", "kind": "话费", "extra": 1},
        },
        headers={"Accept-Language": "zh-CN"},
    )
    assert missing.status_code == 422
    problems = {e["field"]: e["message"] for e in missing.json()["errors"]}
    assert set(problems) == {"fields.amount", "fields.phone", "fields.kind", "fields.extra"}
    assert "月租" in problems["fields.kind"]
    unknown = agent.post("/api/v1/workorders", json={"template_id": 10**9, "title": "x"})
    assert unknown.status_code == 404
    past = _order(agent, center, due=(clock.now() - timedelta(minutes=1)).isoformat())
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "due"
    forbidden = _order(back, center)
    assert forbidden.status_code == 403  # back office handles, the front line opens

    order = _order(agent, center).json()
    wrong = _act(back, order, "resolve", reason="x")
    assert wrong.status_code == 409 and wrong.json()["code"] == "invalid_transition"
    assert "start" in wrong.json()["detail"]
    no_reason = _act(back, order, "cancel")
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    order = _act(back, order, "cancel", reason="客户撤诉").json()
    edit = back.patch(
        f"/api/v1/workorders/{order['id']}", json={"version": order["version"], "title": "y"}
    )
    assert edit.status_code == 409 and edit.json()["code"] == "order_closed"
    note = back.post(f"/api/v1/workorders/{order['id']}/comments", json={"body": "补充"})
    assert note.status_code == 409
    agent_acts = _act(agent, order, "start")
    assert agent_acts.status_code == 403


def test_concurrent_edits_are_detected_not_lost(app, container) -> None:
    center = make_center(app, container)
    agent = login(app, center.world.username(Role.AGENT))
    back = login(app, center.world.username(Role.BACKOFFICE))
    leader = login(app, center.world.username(Role.TEAM_LEADER))
    order = _order(agent, center).json()
    first = back.patch(
        f"/api/v1/workorders/{order['id']}",
        json={"version": order["version"], "priority": "urgent"},
    )
    assert first.status_code == 200 and first.json()["version"] == order["version"] + 1
    second = leader.patch(
        f"/api/v1/workorders/{order['id']}", json={"version": order["version"], "title": "改标题"}
    )
    assert second.status_code == 409 and second.json()["code"] == "stale_version"
    now = back.get(f"/api/v1/workorders/{order['id']}").json()
    assert now["priority"] == "urgent" and now["title"] == order["title"]


def test_repeat_complaint_within_30_days_reopens_the_earlier_order(app, container, clock) -> None:
    center = make_center(app, container)
    agent = login(app, center.world.username(Role.AGENT))
    back = login(app, center.world.username(Role.BACKOFFICE))
    order = _order(agent, center).json()
    order = _act(back, order, "start").json()
    order = _act(back, order, "resolve", reason="已退费").json()
    answer = back.post(
        f"/api/v1/workorders/{order['id']}/followup",
        json={"version": order["version"], "solved": True, "satisfaction": 5},
    ).json()
    assert answer["status"] == "closed" and answer["followup_status"] == "solved"
    clock.advance(days=20)
    agent = login(app, center.world.username(Role.AGENT))  # the old sessions have expired
    back = login(app, center.world.username(Role.BACKOFFICE))
    again = _order(agent, center, title="又被多扣")
    assert again.status_code == 200, again.text  # not a new order
    body = again.json()
    assert body["repeat"] is True and body["id"] == order["id"]
    assert body["status"] == "assigned" and body["repeat_count"] == 1 and body["reopen_count"] == 1
    detail = back.get(f"/api/v1/workorders/{order['id']}").json()
    assert any("又被多扣" in c["body"] for c in detail["comments"])
    clock.advance(days=31)
    agent = login(app, center.world.username(Role.AGENT))
    later = _order(agent, center, title="两个月后")
    assert later.status_code == 201 and later.json()["id"] != order["id"]


def test_notes_replies_first_response_merge_and_bulk(app, container) -> None:
    center = make_center(app, container)
    agent = login(app, center.world.username(Role.AGENT))
    back = login(app, center.world.username(Role.BACKOFFICE))
    one = _order(agent, center).json()
    two = _order(agent, center, contact_id=None, customer_name="李四", title="重复提交").json()
    note = agent.post(f"/api/v1/workorders/{one['id']}/comments", json={"body": "客户情绪激动"})
    assert note.status_code == 201 and note.json()["visibility"] == "internal"
    reply_by_agent = agent.post(
        f"/api/v1/workorders/{one['id']}/comments", json={"body": "您好", "visibility": "customer"}
    )
    assert reply_by_agent.status_code == 403
    reply = back.post(
        f"/api/v1/workorders/{one['id']}/comments",
        json={"body": "您好，我们已受理，将在 3 个工作日内回复", "visibility": "customer"},
    )
    assert reply.status_code == 201
    detail = back.get(f"/api/v1/workorders/{one['id']}").json()
    assert detail["first_response_at"] is not None
    assert {c["name"]: c["phase"] for c in detail["clocks"]}["first_response"] == "met"
    merged = back.post(
        f"/api/v1/workorders/{two['id']}/merge",
        json={"version": two["version"], "into_id": one["id"], "reason": "同一问题重复提单"},
    ).json()
    assert merged["status"] == "cancelled" and merged["merged_into_id"] == one["id"]
    three = _order(agent, center, contact_id=None, title="第三单").json()
    bulk = back.post(
        "/api/v1/workorders/bulk",
        json={"ids": [one["id"], three["id"], two["id"]], "action": "start"},
    ).json()
    assert [r["ok"] for r in bulk["items"]] == [True, True, False]
    assert bulk["items"][2]["code"] == "invalid_transition"


def test_pending_customer_pauses_and_bank_extension_needs_approval(app, container, clock) -> None:
    center = make_center(app, container)
    admin = center.admin
    bank = admin.post(
        "/api/v1/workorders/sla-policies",
        json={"code": "bank", "name": "银行投诉", "base": "bank_cn"},
    ).json()
    template = admin.post(
        "/api/v1/workorders/templates",
        json={
            "code": "card_fee",
            "name": "信用卡年费争议",
            "category": "complaint",
            "default_group_id": center.billing,
            "sla_policy_id": bank["id"],
        },
    ).json()
    agent = login(app, center.world.username(Role.AGENT))
    back = login(app, center.world.username(Role.BACKOFFICE))
    duty = login(app, center.world.username(Role.DUTY_MANAGER))
    order = agent.post(
        "/api/v1/workorders", json={"template_id": template["id"], "title": "年费"}
    ).json()
    assert order["policy"] == "bank"
    legal = order["legal_due"]
    order = _act(back, order, "start").json()
    order = _act(back, order, "wait_customer", reason="等客户提供账单").json()
    assert order["sla_phase"] == "paused" and order["resolution_due"] is None
    clock.advance(days=2)
    back = login(app, center.world.username(Role.BACKOFFICE))
    duty = login(app, center.world.username(Role.DUTY_MANAGER))
    order = _act(back, order, "resume").json()
    assert order["legal_due"] > legal  # two paused days moved the deadline
    denied = back.post(
        f"/api/v1/workorders/{order['id']}/extend",
        json={"version": order["version"], "reason": "复杂", "customer_notified": True},
    )
    assert denied.status_code == 403
    no_notice = duty.post(
        f"/api/v1/workorders/{order['id']}/extend",
        json={"version": order["version"], "reason": "复杂", "customer_notified": False},
    )
    assert no_notice.status_code == 422
    for _ in range(2):
        order = duty.post(
            f"/api/v1/workorders/{order['id']}/extend",
            json={"version": order["version"], "reason": "案情复杂", "customer_notified": True},
        ).json()
    assert order["extensions"] == 2
    third = duty.post(
        f"/api/v1/workorders/{order['id']}/extend",
        json={"version": order["version"], "reason": "再延", "customer_notified": True},
    )
    assert third.status_code == 409 and third.json()["code"] == "no_extension_left"


def test_attachments_views_reports_and_exports(app, container) -> None:
    center = make_center(app, container)
    agent = login(app, center.world.username(Role.AGENT))
    back = login(app, center.world.username(Role.BACKOFFICE))
    viewer = login(app, center.world.username(Role.CLIENT_VIEWER))
    uploaded = agent.post(
        "/api/v1/workorders/attachments",
        params={"filename": "账单.pdf"},
        content=b"%PDF-1.4 bill",
        headers={"Content-Type": "application/pdf"},
    )
    assert uploaded.status_code == 201, uploaded.text
    file_id = uploaded.json()["id"]
    order = _order(
        agent, center, fields={"amount": "30", "phone": "027-87654321", "proof": [file_id]}
    ).json()
    detail = back.get(f"/api/v1/workorders/{order['id']}").json()
    assert [a["filename"] for a in detail["attachments"]] == ["账单.pdf"]
    download = back.get(f"/api/v1/workorders/attachments/{file_id}")
    assert (
        download.content == b"%PDF-1.4 bill"
        and "attachment" in download.headers["content-disposition"]
    )
    reuse = _order(
        agent,
        center,
        contact_id=None,
        fields={"amount": "1", "phone": "13800138000", "proof": [file_id]},
    )
    assert reuse.status_code == 422  # a file belongs to one order
    big = agent.post(
        "/api/v1/workorders/attachments",
        params={"filename": "big.txt"},
        content=b"x" * (10 * 1024 * 1024 + 1),
        headers={"Content-Type": "text/plain"},
    )
    assert big.status_code == 413 and big.json()["code"] == "attachment_too_large"
    exe = agent.post(
        "/api/v1/workorders/attachments",
        params={"filename": "a.exe"},
        content=b"MZ",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert exe.status_code == 422

    view = back.post(
        "/api/v1/workorders/views",
        json={"name": "本组高优先", "filters": {"view": "groups", "priority": "high", "junk": "x"}},
    )
    assert view.status_code == 201 and view.json()["filters"] == {
        "view": "groups",
        "priority": "high",
    }
    assert back.post("/api/v1/workorders/views", json={"name": "本组高优先"}).status_code == 409
    assert [v["name"] for v in back.get("/api/v1/workorders/views/mine").json()["items"]] == [
        "本组高优先"
    ]
    queue = back.get("/api/v1/workorders", params=view.json()["filters"]).json()
    assert [o["id"] for o in queue["items"]] == [order["id"]]
    found = back.get("/api/v1/workorders", params={"q": order["number"]}).json()
    assert found["total"] == 1

    assert viewer.get("/api/v1/workorders").status_code == 403
    summary = viewer.get("/api/v1/workorders/reports/summary", params={"days": 7})
    assert summary.status_code == 200 and summary.json()["formulas"]["on_time_rate"]
    csv_export = viewer.get("/api/v1/workorders/reports/export", params={"format": "csv"})
    assert csv_export.status_code == 200 and "话费专班" in csv_export.text
    assert "on_time / (on_time + overdue)" in csv_export.text
    xlsx = viewer.get("/api/v1/workorders/reports/export", params={"format": "xlsx"})
    book = load_workbook(io.BytesIO(xlsx.content))
    assert {"total", "by_group", "by_agent", "weekly", "hot_topics", "backlog"} <= set(
        book.sheetnames
    )
    assert book["total"]["C2"].value == 1  # created
    bad = viewer.get(
        "/api/v1/workorders/reports/summary", params={"start": "2026-05-01", "end": "2026-01-01"}
    )
    assert bad.status_code == 422


def test_configuration_rules(app, container) -> None:
    center = make_center(app, container)
    admin = center.admin
    bad_fields = admin.post(
        "/api/v1/workorders/templates",
        json={
            "code": "x",
            "name": "x",
            "category": "complaint",
            "fields": [{"key": "Bad Key", "type": "text"}, {"key": "c", "type": "choice"}],
        },
    )
    assert bad_fields.status_code == 422
    assert {e["field"] for e in bad_fields.json()["errors"]} == {"fields.0.key", "fields.1.options"}
    dup = admin.post("/api/v1/workorders/groups", json={"code": "billing", "name": "again"})
    assert dup.status_code == 409
    loop = admin.patch(
        f"/api/v1/workorders/groups/{center.hard}", json={"next_group_id": center.hard}
    )
    assert loop.status_code == 422
    bad_policy = admin.post(
        "/api/v1/workorders/sla-policies",
        json={
            "code": "p",
            "name": "p",
            "definition": {"resolution": {"amount": 3, "unit": "weeks"}},
        },
    )
    assert bad_policy.status_code == 422
    shipped = admin.get("/api/v1/workorders/sla-templates").json()["items"]
    assert {p["code"] for p in shipped} == {"telecom_cn", "bank_cn", "power_cn_95598"}
    members = admin.get(f"/api/v1/workorders/groups/{center.billing}/members").json()["items"]
    assert [m["user_id"] for m in members] == [center.world.users[Role.BACKOFFICE].id]
    agent = login(app, center.world.username(Role.AGENT))
    assert (
        agent.post("/api/v1/workorders/groups", json={"code": "g", "name": "g"}).status_code == 403
    )
