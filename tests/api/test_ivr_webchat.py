"""The IVR flow as a text menu in web chat: the customer answers by message, 0 (or 人工)
reaches the chat queue and an agent, self-service ends the chat, leaving is an IVR abandon;
all of it is recorded as IVR sessions."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests.api.test_webchat_api import chat_center, customer, offered_contact, ready

pytestmark = pytest.mark.api

MENU = {
    "start": "main",
    "settings": {"human_queue": "CHAT"},
    "nodes": {
        "main": {
            "type": "menu",
            "prompt": "话费查询请回复1，宽带报修请回复2，人工服务请回复0。",
            "options": {"1": "bill", "2": "bb"},
        },
        "bill": {"type": "play", "prompt": "本月话费请在掌上营业厅查看。", "next": "bye"},
        "bye": {"type": "hangup", "prompt": "感谢使用。"},
        "bb": {"type": "menu", "prompt": "无法上网请回复1。", "options": {"1": "q"}},
        "q": {"type": "queue", "queue": "CHAT"},
    },
}


def with_menu(app, container):
    world, admin, agent, _agent_id, key = chat_center(app, container, "ivrchat")
    created = admin.post(
        "/api/v1/ivr/flows", json={"code": "chatmenu", "name": "在线自助", "definition": MENU}
    )
    flow_id = created.json()["flow"]["id"]
    assert admin.post(f"/api/v1/ivr/flows/{flow_id}/versions/1/publish").status_code == 200
    widget_id = next(w["id"] for w in admin.get("/api/v1/webchat/widgets").json()["items"])
    r = admin.patch(f"/api/v1/webchat/widgets/{widget_id}", json={"ivr_flow": "chatmenu"})
    assert r.status_code == 200 and r.json()["ivr_flow"] == "chatmenu"
    return world, admin, agent, flow_id, key


def bot_texts(client: TestClient) -> list[str]:
    items = client.get("/api/v1/webchat/conversation/messages").json()["items"]
    return [m["body"] for m in items if m["kind"] == "ivr"]


def say(client: TestClient, text: str) -> None:
    r = client.post(
        "/api/v1/webchat/conversation/messages", json={"text": text, "client_id": uuid.uuid4().hex}
    )
    assert r.status_code == 201, r.text


def test_menu_by_message_then_zero_reaches_an_agent(app, container) -> None:
    _world, admin, agent, flow_id, key = with_menu(app, container)
    ready(agent)
    cust, state = customer(app, key, name="李女士", phone="13900001111")
    assert state["status"] == "waiting"
    assert bot_texts(cust) == ["话费查询请回复1，宽带报修请回复2，人工服务请回复0。"]
    assert agent.get("/api/v1/routing/me").json()["slots"] == {}  # not queued while in the menu
    say(cust, "2")
    assert bot_texts(cust)[-1] == "无法上网请回复1。"
    say(cust, "转人工")
    assert bot_texts(cust)[-1] == "正在为您转接人工客服，请稍候。"
    assert offered_contact(agent)  # the chat reached the queue and was offered
    say(cust, "1")  # after the hand-over messages go to the agent, not to the menu
    assert bot_texts(cust)[-1] == "正在为您转接人工客服，请稍候。"
    report = admin.get(f"/api/v1/ivr/reports/{flow_id}").json()
    assert report["outcomes"] == {"queued": 1}
    assert {n["node"]: n["zero_outs"] for n in report["nodes"]}["bb"] == 1


def test_self_service_ends_the_chat_and_leaving_is_an_ivr_abandon(app, container) -> None:
    _world, admin, _agent, flow_id, key = with_menu(app, container)
    cust, _ = customer(app, key, name="张先生", phone="13900002222")
    say(cust, "abc")  # not a choice: said so, menu again
    assert bot_texts(cust)[-2:] == [
        "您的输入有误，请重新输入。",
        "话费查询请回复1，宽带报修请回复2，人工服务请回复0。",
    ]
    say(cust, "１")
    assert bot_texts(cust)[-3:] == [
        "本月话费请在掌上营业厅查看。",
        "感谢使用。",
        "本次自助服务已结束，感谢使用。",
    ]
    assert cust.get("/api/v1/webchat/conversation").json()["status"] == "ended"
    other, _ = customer(app, key, name="赵先生")
    assert other.post("/api/v1/webchat/conversation/end").status_code == 204
    assert other.get("/api/v1/webchat/conversation").json()["status"] == "abandoned"
    report = admin.get(f"/api/v1/ivr/reports/{flow_id}").json()
    assert report["outcomes"] == {"abandoned": 1, "self_service": 1}


def test_an_unpublished_flow_queues_as_before(app, container) -> None:
    _world, admin, agent, _flow_id, key = with_menu(app, container)
    widget_id = next(w["id"] for w in admin.get("/api/v1/webchat/widgets").json()["items"])
    admin.patch(f"/api/v1/webchat/widgets/{widget_id}", json={"ivr_flow": "missing"})
    ready(agent)
    cust, state = customer(app, key, name="钱女士")
    assert bot_texts(cust) == [] and state["status"] == "waiting"
    assert offered_contact(agent)
