"""Web chat through the API: a customer (no login, a token) and an agent serve one chat end to
end; messages are numbered, never duplicated, resumable; bad input is refused clearly."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from kefu.tenancy.model import Role
from tests.factories import World, login, make_world

pytestmark = pytest.mark.api

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def chat_center(app, container, label: str = "wc", *, callback: bool = True):
    """A tenant with a chat queue (ring 20 s, wrap-up 30 s), a callback queue, a widget and an
    agent who can chat. Returns (world, admin, agent client, agent id, widget key)."""
    world = make_world(container, label)
    admin = login(app, world.username(Role.ADMIN))
    skill = admin.post("/api/v1/routing/skills", json={"code": "chat", "name": "文字"})
    assert skill.status_code == 201
    chat_queue = {
        "code": "CHAT",
        "name": "在线",
        "media": "chat",
        "skills": [{"skill": "chat", "min_level": 1}],
        "options": {"ring_timeout_s": 20, "wrap_up_s": 30},
    }
    assert admin.post("/api/v1/routing/queues", json=chat_queue).status_code == 201
    if callback:
        cb = {"code": "CB", "name": "回电", "media": "callback", "skills": []}
        assert admin.post("/api/v1/routing/queues", json=cb).status_code == 201
    agent_id = world.users[Role.AGENT].id
    assert (
        admin.put(
            f"/api/v1/routing/agents/{agent_id}/skills", json={"skills": {"chat": 5}}
        ).status_code
        == 200
    )
    key = f"w-{uuid.uuid4().hex[:12]}"
    widget = {
        "key": key,
        "name": "官网在线客服",
        "queue_code": "CHAT",
        "callback_queue": "CB" if callback else "",
        "welcome": "欢迎光临",
        "topics": [{"code": "bill", "label": "话费查询"}],
    }
    assert admin.post("/api/v1/webchat/widgets", json=widget).status_code == 201
    agent = login(app, world.username(Role.AGENT))
    return world, admin, agent, agent_id, key


def ready(agent: TestClient) -> None:
    assert agent.post("/api/v1/routing/me/login").status_code == 204
    assert agent.put("/api/v1/routing/me/state", json={"presence": "ready"}).status_code == 204


def customer(app, key: str, **start) -> tuple[TestClient, dict]:
    client = TestClient(app)
    response = client.post(f"/api/v1/webchat/public/{key}/conversations", json=start)
    assert response.status_code == 201, response.text
    body = response.json()
    client.headers["X-Chat-Token"] = body["token"]
    return client, body["conversation"]


def offered_contact(agent: TestClient) -> str:
    slots = agent.get("/api/v1/routing/me").json()["slots"]
    assert len(slots) == 1, slots
    return next(iter(slots))


def test_a_customer_and_an_agent_chat_end_to_end(app, container) -> None:
    world, _admin, agent, _agent_id, key = chat_center(app, container)
    public = TestClient(app).get(f"/api/v1/webchat/public/{key}").json()
    assert public["name"] == "官网在线客服" and public["callback_available"] is True
    cust, state = customer(
        app, key, name="王先生", phone="13912345678", topic="bill", message="我的话费不对"
    )
    assert state["status"] == "waiting" and state["position"] == 1
    ready(agent)
    contact_id = offered_contact(agent)
    # The offered agent may preview the chat before answering.
    preview = agent.get(f"/api/v1/webchat/contacts/{contact_id}").json()
    kinds = [m["kind"] for m in preview["messages"]]
    assert kinds == ["welcome", "self_service", "text"]
    conversation_id = preview["conversation"]["id"]
    assert agent.post(f"/api/v1/routing/me/offers/{contact_id}/accept").status_code == 204
    state = cust.get("/api/v1/webchat/conversation").json()
    assert state["status"] == "active"
    me = world.users[Role.AGENT]
    assert state["agent"] == {"name": me.display_name, "job_number": me.job_number}
    sent = agent.post(
        f"/api/v1/webchat/conversations/{conversation_id}/messages",
        json={"text": "您好，我帮您查询", "client_id": "a1"},
    )
    assert sent.status_code == 201 and sent.json()["seq"] == 5
    reply = cust.post(
        "/api/v1/webchat/conversation/messages",
        json={"text": "<script>alert(1)</script> 谢谢", "client_id": "c1"},
    )
    assert reply.status_code == 201 and reply.json()["seq"] == 6
    again = cust.post(
        "/api/v1/webchat/conversation/messages",
        json={"text": "<script>alert(1)</script> 谢谢", "client_id": "c1"},
    )
    assert again.json()["seq"] == 6  # a retried send is stored once
    items = cust.get("/api/v1/webchat/conversation/messages", params={"after_seq": 3}).json()[
        "items"
    ]
    assert [(m["seq"], m["sender"], m["kind"]) for m in items] == [
        (4, "system", "agent_joined"),
        (5, "agent", "text"),
        (6, "customer", "text"),
    ]
    assert items[0]["data"]["job_number"] == me.job_number
    assert items[2]["body"] == "<script>alert(1)</script> 谢谢"  # stored as typed, shown as text
    assert all("agent_id" not in m for m in items)  # customers never see staff ids
    # Rating before the end is refused; the agent ends; the customer rates once.
    early = cust.post("/api/v1/webchat/conversation/rating", json={"score": 5})
    assert early.status_code == 409 and early.json()["code"] == "chat_not_ended"
    assert agent.post(f"/api/v1/webchat/conversations/{conversation_id}/end").status_code == 204
    assert cust.get("/api/v1/webchat/conversation").json()["status"] == "ended"
    late = cust.post(
        "/api/v1/webchat/conversation/messages", json={"text": "还在吗", "client_id": "c2"}
    )
    assert late.status_code == 409 and late.json()["code"] == "chat_closed"
    assert (
        cust.post(
            "/api/v1/webchat/conversation/rating", json={"score": 4, "comment": "很快"}
        ).status_code
        == 204
    )
    twice = cust.post("/api/v1/webchat/conversation/rating", json={"score": 1})
    assert twice.status_code == 409 and twice.json()["code"] == "chat_already_rated"
    seen = agent.get(f"/api/v1/webchat/conversations/{conversation_id}").json()
    assert seen["conversation"]["rating"] == 4 and seen["conversation"]["rating_comment"] == "很快"
    assert agent.get("/api/v1/routing/me").json()["state"] == "wrap_up"


def test_customer_socket_resumes_in_order_without_duplicates(app, container) -> None:
    _world, _admin, agent, _agent_id, key = chat_center(app, container)
    cust, _state = customer(app, key, name="李", message="第一条")
    token = cust.headers["X-Chat-Token"]
    with cust.websocket_connect("/api/v1/webchat/ws") as ws:
        ws.send_json({"op": "hello", "token": token, "after_seq": 0})
        assert ws.receive_json()["op"] == "welcome"
        got = [ws.receive_json()["message"]["seq"] for _ in range(2)]
        assert got == [1, 2]
        ws.send_json({"op": "send", "client_id": "s1", "text": "第二条"})
        frames = [ws.receive_json() for _ in range(2)]
        ops = sorted(f["op"] for f in frames)
        assert ops == ["ack", "message"]
    ready(agent)
    contact_id = offered_contact(agent)
    assert agent.post(f"/api/v1/routing/me/offers/{contact_id}/accept").status_code == 204
    # Reconnect after seq 2: exactly 3 (own message) and 4 (agent joined) follow, in order.
    with cust.websocket_connect("/api/v1/webchat/ws") as ws:
        ws.send_json({"op": "hello", "token": token, "after_seq": 2})
        welcome = ws.receive_json()
        assert welcome["conversation"]["status"] == "active"
        seqs = [ws.receive_json()["message"] for _ in range(2)]
        assert [(m["seq"], m["kind"]) for m in seqs] == [(3, "text"), (4, "agent_joined")]
        ws.send_json({"op": "ping"})
        assert ws.receive_json()["op"] == "pong"  # nothing else was queued: no duplicate


def test_a_token_reads_only_its_own_conversation(app, container) -> None:
    _world, _admin, agent, _agent_id, key = chat_center(app, container)
    alice, _ = customer(app, key, name="Alice", message="alice secret")
    bob, _ = customer(app, key, name="Bob", message="bob secret")
    ready(agent)
    contact_id = offered_contact(agent)
    agent.post(f"/api/v1/routing/me/offers/{contact_id}/accept")
    conversation = agent.get(f"/api/v1/webchat/contacts/{contact_id}").json()["conversation"]
    upload = alice.post("/api/v1/webchat/files/conversation", params={"name": "a.png"}, content=PNG)
    assert upload.status_code == 201, upload.text
    attachment_id = upload.json()["data"]["attachment_id"]
    bob_view = bob.get("/api/v1/webchat/conversation/messages").json()["items"]
    assert "alice secret" not in str(bob_view) and "bob secret" in str(bob_view)
    assert bob.get(f"/api/v1/webchat/conversation/files/{attachment_id}").status_code == 404
    got = alice.get(f"/api/v1/webchat/conversation/files/{attachment_id}")
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["x-content-type-options"] == "nosniff"
    nobody = TestClient(app)
    assert nobody.get("/api/v1/webchat/conversation").status_code == 401
    forged = nobody.get("/api/v1/webchat/conversation", headers={"X-Chat-Token": "guess"})
    assert forged.status_code == 401 and forged.json()["code"] == "chat_token_invalid"
    with nobody.websocket_connect("/api/v1/webchat/ws") as ws:
        ws.send_json({"op": "hello", "token": "guess", "after_seq": 0})
        assert ws.receive_json() == {"op": "error", "code": "chat_token_invalid"}
    # Bob's socket never carries Alice's messages.
    with bob.websocket_connect("/api/v1/webchat/ws") as ws:
        ws.send_json({"op": "hello", "token": bob.headers["X-Chat-Token"], "after_seq": 0})
        assert ws.receive_json()["op"] == "welcome"
        backlog = [ws.receive_json() for _ in range(2)]
        agent.post(
            f"/api/v1/webchat/conversations/{conversation['id']}/messages",
            json={"text": "只给Alice", "client_id": "x"},
        )
        ws.send_json({"op": "ping"})
        assert ws.receive_json()["op"] == "pong"
        assert "alice" not in str(backlog).lower()


def test_files_are_checked_by_content_size_and_type(app, container) -> None:
    _world, _admin, _agent, _agent_id, key = chat_center(app, container)
    cust, _ = customer(app, key, name="文件")
    html = cust.post(
        "/api/v1/webchat/files/conversation",
        params={"name": "x.png"},
        content=b"<html><script>alert(1)</script></html>",
    )
    assert html.status_code == 415 and html.json()["code"] == "chat_file_type"
    exe = cust.post(
        "/api/v1/webchat/files/conversation", params={"name": "a.exe"}, content=b"MZ\x90\x00"
    )
    assert exe.status_code == 415
    renamed = cust.post(
        "/api/v1/webchat/files/conversation", params={"name": "photo.pdf"}, content=PNG
    )
    assert renamed.status_code == 415 and renamed.json()["code"] == "chat_file_type_mismatch"
    big = cust.post(
        "/api/v1/webchat/files/conversation",
        params={"name": "big.png"},
        content=PNG + b"\x00" * (6 * 1024 * 1024),
    )
    assert big.status_code == 413 and big.json()["code"] == "chat_file_too_large"
    assert "5 MB" in big.json()["detail"]
    ok = cust.post(
        "/api/v1/webchat/files/conversation",
        params={"name": "账单.txt"},
        content="话费明细\n".encode(),
    )
    assert ok.status_code == 201 and ok.json()["kind"] == "file"
    empty = cust.post(
        "/api/v1/webchat/conversation/messages", json={"text": "   ", "client_id": "e"}
    )
    assert empty.status_code == 422 and empty.json()["code"] == "chat_empty_message"


def test_callback_instead_of_waiting_and_leaving_the_queue(app, container) -> None:
    _world, admin, _agent, _agent_id, key = chat_center(app, container)
    cust, _ = customer(app, key, name="回电")
    bad = cust.post("/api/v1/webchat/conversation/callback", json={"phone": "12"})
    assert bad.status_code == 422
    assert (
        cust.post(
            "/api/v1/webchat/conversation/callback", json={"phone": "13800001111"}
        ).status_code
        == 204
    )
    state = cust.get("/api/v1/webchat/conversation").json()
    assert state["status"] == "callback"
    last = cust.get("/api/v1/webchat/conversation/messages").json()["items"][-1]
    assert last["kind"] == "callback_booked" and last["data"]["phone_tail"] == "1111"
    stats = admin.get("/api/v1/routing/stats").json()["queues"]
    assert stats["CB"]["waiting"] == 1 and stats["CHAT"]["waiting"] == 0
    assert stats["CHAT"]["abandoned"] == 0  # a callback is not an abandon (formula F3)
    leaver, _ = customer(app, key, name="走了")
    assert leaver.post("/api/v1/webchat/conversation/end").status_code == 204
    assert leaver.get("/api/v1/webchat/conversation").json()["status"] == "abandoned"
    assert leaver.post("/api/v1/webchat/conversation/end").status_code == 204  # twice: no-op


def test_agents_act_only_on_their_own_chats(app, container) -> None:
    world, _admin, agent, _agent_id, key = chat_center(app, container)
    cust, _ = customer(app, key, name="A", message="hi")
    ready(agent)
    contact_id = offered_contact(agent)
    agent.post(f"/api/v1/routing/me/offers/{contact_id}/accept")
    conversation_id = agent.get(f"/api/v1/webchat/contacts/{contact_id}").json()["conversation"][
        "id"
    ]
    other = _second_agent(app, container, world)
    assert other.get(f"/api/v1/webchat/conversations/{conversation_id}").status_code == 403
    post = other.post(
        f"/api/v1/webchat/conversations/{conversation_id}/messages",
        json={"text": "hijack", "client_id": "h"},
    )
    assert post.status_code == 403
    assert other.post(f"/api/v1/webchat/conversations/{conversation_id}/end").status_code == 403
    # The team leader may look (silent view) but not write.
    leader = login(app, world.username(Role.TEAM_LEADER))
    open_chats = leader.get("/api/v1/webchat/conversations").json()["items"]
    assert [c["id"] for c in open_chats] == [conversation_id]
    assert leader.get(f"/api/v1/webchat/conversations/{conversation_id}").status_code == 200
    assert (
        leader.post(
            f"/api/v1/webchat/conversations/{conversation_id}/messages",
            json={"text": "x", "client_id": "l"},
        ).status_code
        == 403
    )
    assert "hijack" not in str(cust.get("/api/v1/webchat/conversation/messages").json())


def _second_agent(app, container, world: World) -> TestClient:
    from kefu.tenancy.security import hash_password
    from kefu.tenancy.tables import User
    from tests.factories import PASSWORD

    with container.db.session(clock=container.clock, actor_name="test") as session:
        user = User(
            tenant_id=world.tenant_id,
            username=f"agent2.{world.code}",
            display_name="第二座席",
            password_hash=hash_password(PASSWORD),
            roles=["agent"],
            created_at=container.clock.now(),
            job_number="2002",
        )
        session.add(user)
    return login(app, f"agent2.{world.code}")


def test_many_customers_starting_at_once_all_get_a_place(app, container) -> None:
    """A tenant's first chats arrive together (its queue is not in the engine yet, as after a
    fresh install): the queue is added once and every customer gets a place."""
    from concurrent.futures import ThreadPoolExecutor

    from kefu.channels.webchat.tables import ChatWidget
    from kefu.routing.tables import QueueConfig

    world = make_world(container, "rush")
    key = f"w-{uuid.uuid4().hex[:12]}"
    with container.db.session(clock=container.clock, actor_name="test") as session:
        session.add(QueueConfig(tenant_id=world.tenant_id, code="CHAT", name="c", media="chat"))
        session.add(
            ChatWidget(tenant_id=world.tenant_id, key=key, name="w", queue_code="CHAT", topics=[])
        )

    def start(n: int) -> int:
        client = TestClient(app)
        return client.post(
            f"/api/v1/webchat/public/{key}/conversations", json={"message": f"hi {n}"}
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(start, range(16)))
    assert codes == [201] * 16


def test_a_burst_of_chats_does_not_starve_the_routing_worker(app, container) -> None:
    """More customers at once than the database pool has connections, with the routing worker
    running as in the server: each request waits for the worker while holding a connection,
    so the worker must not depend on that pool."""
    from concurrent.futures import ThreadPoolExecutor

    from kefu.channels.webchat.tables import ChatWidget
    from kefu.routing.tables import QueueConfig

    world = make_world(container, "burst")
    key = f"w-{uuid.uuid4().hex[:12]}"
    with container.db.session(clock=container.clock, actor_name="test") as session:
        session.add(QueueConfig(tenant_id=world.tenant_id, code="CHAT", name="c", media="chat"))
        session.add(
            ChatWidget(tenant_id=world.tenant_id, key=key, name="w", queue_code="CHAT", topics=[])
        )
    pool = container.db.engine.pool
    burst = 2 * (pool.size() + pool._max_overflow) + 4  # type: ignore[attr-defined]
    container.routing.start()
    try:

        def start(n: int) -> int:
            return (
                TestClient(app)
                .post(f"/api/v1/webchat/public/{key}/conversations", json={"message": f"{n}"})
                .status_code
            )

        with ThreadPoolExecutor(burst) as threads:
            codes = list(threads.map(start, range(burst)))
    finally:
        container.routing.stop()
    assert codes == [201] * burst


def test_a_waiting_customer_sees_the_queue_move(app, container, monkeypatch) -> None:
    """Positions reach waiting sockets (computed for all of them in one batch)."""
    import kefu.channels.webchat.api as webchat_api

    monkeypatch.setattr(webchat_api, "POSITION_EVERY_S", 0.05)
    _world, _admin, _agent, _agent_id, key = chat_center(app, container)
    first, _ = customer(app, key, name="一")
    second, state = customer(app, key, name="二")
    assert state["position"] == 2
    with second.websocket_connect("/api/v1/webchat/ws") as ws:
        ws.send_json({"op": "hello", "token": second.headers["X-Chat-Token"], "after_seq": 0})
        assert ws.receive_json()["op"] == "welcome"
        assert ws.receive_json()["op"] == "message"  # the welcome text
        queue = ws.receive_json()
        assert (queue["op"], queue["position"]) == ("queue", 2)
        assert first.post("/api/v1/webchat/conversation/end").status_code == 204
        while (moved := ws.receive_json())["op"] != "queue":
            pass
        assert moved["position"] == 1


def test_an_agent_follows_all_its_chats_on_one_topic(app, container) -> None:
    world, _admin, agent, agent_id, key = chat_center(app, container)
    cust, _ = customer(app, key, name="话题", message="在吗")
    ready(agent)
    contact_id = offered_contact(agent)
    assert agent.post(f"/api/v1/routing/me/offers/{contact_id}/accept").status_code == 204
    other = _second_agent(app, container, world)
    with other.websocket_connect("/api/v1/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": [f"webchat.agent.{agent_id}"]})
        denied = ws.receive_json()
        assert denied["code"] == "topic_denied"
    leader = login(app, world.username(Role.TEAM_LEADER))
    with leader.websocket_connect("/api/v1/ws") as watch:
        watch.send_json({"op": "subscribe", "topics": [f"webchat.agent.{agent_id}"]})
        assert watch.receive_json()["op"] == "snapshot"
        with agent.websocket_connect("/api/v1/ws") as ws:
            ws.send_json({"op": "subscribe", "topics": [f"webchat.agent.{agent_id}"]})
            assert ws.receive_json()["op"] == "snapshot"
            cust.post(
                "/api/v1/webchat/conversation/messages", json={"text": "第二句", "client_id": "2"}
            )
            event = ws.receive_json()["event"]
            assert (event["type"], event["data"]["body"]) == ("webchat.message", "第二句")
            assert watch.receive_json()["event"]["data"]["body"] == "第二句"  # silent view


def test_retried_and_late_sends_are_stored_once_or_refused(app, container) -> None:
    """The short path for texts (socket and agent reply) keeps the rules of the long one: a
    retried client id is the same message, a closed chat takes nothing, replay finds it all."""
    _world, _admin, agent, agent_id, key = chat_center(app, container, callback=False)
    cust, _ = customer(app, key, name="重试", message="你好")
    ready(agent)
    contact_id = offered_contact(agent)
    assert agent.post(f"/api/v1/routing/me/offers/{contact_id}/accept").status_code == 204
    chat = agent.get(f"/api/v1/webchat/contacts/{contact_id}").json()["conversation"]
    url = f"/api/v1/webchat/conversations/{chat['id']}/messages"
    token = cust.headers["X-Chat-Token"]
    with agent.websocket_connect("/api/v1/ws") as staff:
        staff.send_json({"op": "subscribe", "topics": [f"webchat.agent.{agent_id}"]})
        assert staff.receive_json()["op"] == "snapshot"
        with cust.websocket_connect("/api/v1/webchat/ws") as ws:
            ws.send_json({"op": "hello", "token": token, "after_seq": 3})
            assert ws.receive_json()["op"] == "welcome"
            acks = []
            for _ in range(2):
                ws.send_json({"op": "send", "client_id": "r1", "text": "同一条"})
                frames = [ws.receive_json() for _ in range(2 if not acks else 1)]
                acks += [f["seq"] for f in frames if f["op"] == "ack"]
            assert acks == [4, 4]
            event = staff.receive_json()["event"]
            assert (event["data"]["seq"], event["data"]["body"]) == (4, "同一条")
            first = agent.post(url, json={"text": "收到", "client_id": "a1"})
            again = agent.post(url, json={"text": "收到", "client_id": "a1"})
            assert first.status_code == again.status_code == 201
            assert first.json()["seq"] == again.json()["seq"] == 5
            assert ws.receive_json()["message"]["body"] == "收到"
            assert agent.post(url, json={"text": " ", "client_id": "a2"}).status_code == 422
            assert cust.post("/api/v1/webchat/conversation/end").status_code == 204
            kinds = [ws.receive_json()["message"]["kind"] for _ in range(2)]
            assert kinds[-1] == "ended"
            ws.send_json({"op": "send", "client_id": "r2", "text": "还在吗"})
            assert ws.receive_json() == {"op": "error", "code": "chat_closed", "client_id": "r2"}
    late = agent.post(url, json={"text": "再见", "client_id": "a3"})
    assert late.status_code in (403, 409)
    items = cust.get("/api/v1/webchat/conversation/messages").json()["items"]
    texts = [m["body"] for m in items if m["kind"] == "text"]
    assert texts == ["你好", "同一条", "收到"]
    assert [m["seq"] for m in items] == list(range(1, len(items) + 1))


def test_an_agent_replies_over_the_staff_socket_with_the_rules_of_rest(app, container) -> None:
    """``chat.send`` on /api/v1/ws: stored once per client id, in order, seen by the customer;
    someone else's chat, a bad text, a missing permission or an ended session get a translated
    problem with the client's ref, and nothing is written."""
    world, _admin, agent, _agent_id, key = chat_center(app, container, callback=False)
    cust, _ = customer(app, key, name="套接字", message="你好")
    ready(agent)
    contact_id = offered_contact(agent)
    assert agent.post(f"/api/v1/routing/me/offers/{contact_id}/accept").status_code == 204
    chat_id = agent.get(f"/api/v1/webchat/contacts/{contact_id}").json()["conversation"]["id"]

    def send(ws, ref: str, **fields) -> dict:
        ws.send_json({"op": "chat.send", "ref": ref, **fields})
        return ws.receive_json()

    with agent.websocket_connect("/api/v1/ws", headers={"Accept-Language": "zh-CN"}) as ws:
        first = send(ws, "1", conversation_id=chat_id, text="您好，请讲", client_id="s1")
        assert first["op"] == "result" and first["ref"] == "1"
        assert (first["data"]["seq"], first["data"]["sender"]) == (4, "agent")
        again = send(ws, "2", conversation_id=chat_id, text="您好，请讲", client_id="s1")
        assert again["data"]["seq"] == 4  # a retried client id is the same message
        second = send(ws, "3", conversation_id=chat_id, text="<b>稍等</b>", client_id="s2")
        assert second["data"]["seq"] == 5
        too_long = send(ws, "4", conversation_id=chat_id, text="长" * 4001, client_id="s3")
        assert (too_long["op"], too_long["ref"], too_long["code"]) == (
            "error",
            "4",
            "validation_failed",
        )
        assert too_long["problem"]["errors"][0]["field"] == "text"
        missing = send(ws, "5", conversation_id=10**9, text="x", client_id="s4")
        assert (missing["code"], missing["problem"]["status"]) == ("not_found", 404)
        assert missing["problem"]["title"] != "not found"  # translated, not the bare code
    other = _second_agent(app, container, world)
    with other.websocket_connect("/api/v1/ws") as ws:
        hijack = send(ws, "h", conversation_id=chat_id, text="hijack", client_id="h1")
        assert (hijack["code"], hijack["problem"]["status"]) == ("not_your_conversation", 403)
    leader = login(app, world.username(Role.TEAM_LEADER))
    with leader.websocket_connect("/api/v1/ws") as ws:
        # silent view may read, never write
        assert send(ws, "l", conversation_id=chat_id, text="x", client_id="l1")["op"] == "error"
    with agent.websocket_connect("/api/v1/ws") as ws:
        assert agent.post("/api/v1/auth/logout").status_code == 204
        ended = send(ws, "6", conversation_id=chat_id, text="登出后", client_id="s5")
        assert (ended["code"], ended["problem"]["status"]) == ("not_authenticated", 401)
    items = cust.get("/api/v1/webchat/conversation/messages").json()["items"]
    texts = [(m["sender"], m["body"]) for m in items if m["kind"] == "text"]
    assert texts == [("customer", "你好"), ("agent", "您好，请讲"), ("agent", "<b>稍等</b>")]


def test_routing_events_and_the_chat_lines_they_cause_are_logged_in_causal_order(
    app, container
) -> None:
    """The routing worker folds a command's events with one read of their rows; the event log
    must still hold each routing event before the chat line it causes (replay and resume
    follow the log's ids), and the read models must follow every event."""
    from sqlalchemy import select

    from kefu.channels.webchat.tables import ChatConversation
    from kefu.db.eventlog import EventRecord
    from kefu.routing.tables import RoutingContact

    _world, _admin, agent, _agent_id, key = chat_center(app, container, callback=False)
    cust, _ = customer(app, key, name="顺序", message="你好")
    ready(agent)
    contact_id = offered_contact(agent)
    assert agent.post(f"/api/v1/routing/me/offers/{contact_id}/accept").status_code == 204
    assert cust.post("/api/v1/webchat/conversation/end").status_code == 204
    with container.db.sessions() as session:
        chat = session.scalar(
            select(ChatConversation).where(ChatConversation.contact_id == contact_id)
        )
        contact = session.get(RoutingContact, contact_id)
        assert chat is not None and contact is not None
        assert chat.status == "ended" and contact.status in ("wrap_up", "closed")
        assert contact.answered_at is not None and contact.agent_id is not None
        log = session.scalars(select(EventRecord).order_by(EventRecord.id)).all()
    order = [
        (e.type if e.type != "webchat.message" else e.data["kind"])
        for e in log
        if e.data.get("contact_id") == contact_id or e.data.get("conversation_id") == chat.id
    ]
    assert order.index("contact_answered") < order.index("agent_joined")
    assert order.index("contact_completed") < order.index("ended")
