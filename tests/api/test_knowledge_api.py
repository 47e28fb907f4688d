"""Knowledge base over HTTP: articles, search, review, versions, import/export, announcements,
the question loop, feedback and analytics, tips and the FAQ bot — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from kefu.db.eventlog import EventRecord
from kefu.knowledge.demo import DEMO_ARTICLES, DEMO_SYNONYMS, DEMO_WORDS
from kefu.knowledge.questions import escalate_overdue
from kefu.tenancy.model import Role
from tests.factories import World, login, make_world

pytestmark = pytest.mark.api

BASE = "/api/v1/knowledge"


@pytest.fixture(autouse=True)
def _fast_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    # The character-bigram embedder keeps these tests fast; the e5 model has its own test.
    monkeypatch.setenv("KEFU_KNOWLEDGE_EMBEDDER", "hash")


def _module(client: Any, name: str, parent: int | None = None, team: int | None = None) -> int:
    body: dict[str, Any] = {"name": name, "parent_id": parent}
    if team is not None:
        body["owner_team_id"] = team
    response = client.post(f"{BASE}/modules", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _seed(client: Any, count: int = len(DEMO_ARTICLES)) -> dict[str, int]:
    """The demo FAQ through the API (published by an editor holding knowledge.review)."""
    modules: dict[str, int] = {}
    ids: dict[str, int] = {}
    for item in DEMO_ARTICLES[:count]:
        parent = None
        for depth, name in enumerate(item.module.split(" > ")):
            key = " > ".join(item.module.split(" > ")[: depth + 1])
            if key not in modules:
                modules[key] = _module(client, name, parent)
            parent = modules[key]
        response = client.post(
            f"{BASE}/articles",
            json={
                "title": item.title,
                "body": item.body,
                "questions": list(item.questions),
                "tags": list(item.tags),
                "module_id": parent,
                "status": "published",
            },
        )
        assert response.status_code == 201, response.text
        ids[item.title] = response.json()["id"]
    ids.update({f"module:{k}": v for k, v in modules.items()})
    return ids


@pytest.fixture
def world(container: Any) -> World:
    return make_world(container, "kb")


@pytest.fixture
def admin(app: Any, world: World) -> Any:
    return login(app, world.username(Role.ADMIN))


def test_create_and_search_in_customer_words(app: Any, world: World, admin: Any) -> None:
    ids = _seed(admin)
    agent = login(app, world.username(Role.AGENT))
    response = agent.get(f"{BASE}/search", params={"q": "流量不够用了怎么办", "limit": 10})
    assert response.status_code == 200
    items = response.json()["items"]
    assert items[0]["id"] == ids["如何办理流量包？"]
    assert set(items[0]) >= {"id", "title", "snippet", "score", "confidence", "module", "body"}
    assert items[0]["module"] == "资费套餐 > 流量包"
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    # a module filter keeps the sub-tree only
    broadband = ids["module:宽带业务"]
    filtered = agent.get(f"{BASE}/search", params={"q": "怎么办理", "module_id": broadband})
    assert filtered.json()["items"]
    assert all(i["module"].startswith("宽带业务") for i in filtered.json()["items"])
    # keyword box: two words, and a typo
    assert (
        agent.get(f"{BASE}/search", params={"q": "携号转网 条件"}).json()["items"][0]["title"]
        == "携号转网需要什么条件？"
    )
    typo = agent.get(f"{BASE}/search", params={"q": "停机包号"}).json()["items"]
    assert "停机保号" in typo[0]["title"]  # 包 typed for 保


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "' OR 1=1; DROP TABLE knowledge_articles; --",
        'title:"流量" AND NEAR(a b) *',
        "%_\\",
        "流量包" * 600,
        "<script>alert(1)</script>",
    ],
)
def test_bad_queries_are_safe(app: Any, world: World, admin: Any, query: str) -> None:
    _seed(admin, 5)
    agent = login(app, world.username(Role.AGENT))
    response = agent.get(f"{BASE}/search", params={"q": query[:2000]})
    assert response.status_code == 200, response.text
    assert all("<script>" not in i["snippet"] for i in response.json()["items"])
    assert admin.get(f"{BASE}/articles").json()["total"] == 5  # nothing dropped


def test_absurd_query_length_is_refused_cleanly(app: Any, world: World) -> None:
    agent = login(app, world.username(Role.AGENT))
    response = agent.get(f"{BASE}/search", params={"q": "x" * 5000})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"


def test_publishing_refuses_expired_or_incomplete_articles(admin: Any, clock: Any) -> None:
    module = _module(admin, "资费套餐")
    past = (clock.now() - timedelta(days=1)).isoformat()
    expired = admin.post(
        f"{BASE}/articles",
        json={
            "title": "旧活动",
            "body": "已结束",
            "module_id": module,
            "valid_until": past,
            "status": "published",
        },
    )
    assert expired.status_code == 422
    problem = expired.json()
    assert problem["code"] == "not_publishable"
    assert "旧活动" in problem["detail"]
    assert problem["errors"][0]["field"] == "valid_until"
    assert "过期" in problem["errors"][0]["message"]
    draft = admin.post(f"{BASE}/articles", json={"title": "只有标题"}).json()
    refused = admin.post(f"{BASE}/articles/{draft['id']}/approve", json={})
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {"body", "module_id"}


def test_review_workflow_versions_diff_and_rollback(app: Any, world: World, admin: Any) -> None:
    module = _module(admin, "号码业务")
    editor = login(app, world.username(Role.KB_EDITOR))
    agent = login(app, world.username(Role.AGENT))
    assert agent.post(f"{BASE}/articles", json={"title": "x"}).status_code == 403
    created = admin.post(
        f"{BASE}/articles",
        json={"title": "副卡怎么办理", "body": "在App办理。", "module_id": module},
    ).json()
    aid = created["id"]
    assert created["status"] == "draft" and created["version"] == 1
    assert agent.get(f"{BASE}/articles/{aid}").status_code == 404  # drafts are not for agents
    assert editor.post(f"{BASE}/articles/{aid}/submit", json={}).json()["status"] == "in_review"
    rejected = editor.post(f"{BASE}/articles/{aid}/reject", json={"note": "补充费用"}).json()
    assert rejected["status"] == "draft" and rejected["review_note"] == "补充费用"
    edited = admin.patch(
        f"{BASE}/articles/{aid}",
        json={"version": rejected["version"], "body": "在App办理，每张副卡10元/月。"},
    ).json()
    published = editor.post(f"{BASE}/articles/{aid}/approve", json={}).json()
    assert published["status"] == "published"
    assert agent.get(f"{BASE}/articles/{aid}").status_code == 200
    # a concurrent edit from the stale version is refused with 409
    stale = admin.patch(f"{BASE}/articles/{aid}", json={"version": edited["version"], "title": "x"})
    assert stale.status_code == 409 and stale.json()["code"] == "edit_conflict"
    versions = admin.get(f"{BASE}/articles/{aid}/versions").json()
    assert [v["version"] for v in versions] == list(range(published["version"], 0, -1))
    diff = admin.get(f"{BASE}/articles/{aid}/diff", params={"from": 1, "to": edited["version"]})
    change = {c["field"]: c for c in diff.json()["changes"]}
    assert "body" in change and "+在App办理，每张副卡10元/月。" in change["body"]["diff"]
    back = admin.post(
        f"{BASE}/articles/{aid}/rollback",
        json={"version": published["version"], "to_version": 1},
    ).json()
    assert back["body"] == "在App办理。" and back["version"] == published["version"] + 1
    assert back["status"] == "published"
    # archived articles leave the search
    hits = agent.get(f"{BASE}/search", params={"q": "副卡怎么办理"}).json()["items"]
    assert hits and hits[0]["id"] == aid
    assert editor.delete(f"{BASE}/articles/{aid}").status_code == 204
    assert agent.get(f"{BASE}/search", params={"q": "副卡怎么办理"}).json()["items"] == []


def test_expired_articles_drop_out_of_search(
    app: Any, world: World, admin: Any, clock: Any
) -> None:
    module = _module(admin, "优惠活动")
    admin.post(
        f"{BASE}/articles",
        json={
            "title": "双十二流量半价",
            "body": "首月半价。",
            "module_id": module,
            "valid_until": (clock.now() + timedelta(days=2)).isoformat(),
            "status": "published",
        },
    )
    agent = login(app, world.username(Role.AGENT))
    assert agent.get(f"{BASE}/search", params={"q": "流量半价"}).json()["items"]
    clock.advance(days=3)
    agent = login(app, world.username(Role.AGENT))
    assert agent.get(f"{BASE}/search", params={"q": "流量半价"}).json()["items"] == []


def test_import_with_row_report_and_export(admin: Any, clock: Any) -> None:
    rows = [
        ["标准问", "扩展问", "答案", "业务模块", "标签", "失效时间"],
        [
            "宽带怎么移机",
            "搬家宽带怎么办|宽带迁移",
            "在App申请移机。",
            "宽带业务 > 宽带办理",
            "宽带,移机",
            "",
        ],
        ["", "", "没有标题", "宽带业务", "", ""],
        ["过期活动", "", "已结束", "资费套餐", "", "2001-01-01"],
        ["日期不对", "", "x", "资费套餐", "", "明天"],
    ]
    book = Workbook()
    for row in rows:
        book.active.append(row)
    data = io.BytesIO()
    book.save(data)
    files = {"file": ("kb.xlsx", data.getvalue(), "application/octet-stream")}
    report = admin.post(f"{BASE}/import", params={"publish": "true"}, files=files).json()
    assert report["created"] == 0 and report["failed"] == 3  # all-or-nothing
    by_row = {r["row"]: r for r in report["rows"]}
    assert by_row[2]["ok"] and not by_row[3]["ok"] and "title" in by_row[3]["errors"][0]
    assert "valid_until" in by_row[4]["errors"][0] and "过期" in by_row[4]["errors"][0]
    assert "YYYY-MM-DD" in by_row[5]["errors"][0]
    assert admin.get(f"{BASE}/articles").json()["total"] == 0

    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["title", "questions", "body", "module", "tags"])
    writer.writerow(
        [
            "宽带怎么移机",
            "搬家宽带怎么办|宽带迁移",
            "在App申请移机。",
            "宽带业务 > 宽带办理",
            "宽带",
        ]
    )
    writer.writerow(["彩铃怎么取消", "", "发送QXCL到10088。", "增值业务 > 彩铃", ""])
    files = {"file": ("kb.csv", text.getvalue().encode("utf-8-sig"), "text/csv")}
    dry = admin.post(f"{BASE}/import", params={"dry_run": "true"}, files=files).json()
    assert dry["dry_run"] and dry["created"] == 0 and dry["failed"] == 0
    assert admin.get(f"{BASE}/articles").json()["total"] == 0
    done = admin.post(f"{BASE}/import", params={"publish": "true"}, files=files).json()
    assert done["created"] == 2
    listed = admin.get(f"{BASE}/articles", params={"status": "published"}).json()["items"]
    assert {a["module"] for a in listed} == {"宽带业务 > 宽带办理", "增值业务 > 彩铃"}

    exported = admin.get(f"{BASE}/export", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(exported.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("id", "title", "questions")
    assert {r[1] for r in values[1:]} == {"宽带怎么移机", "彩铃怎么取消"}
    assert "搬家宽带怎么办|宽带迁移" in {r[2] for r in values[1:]}
    csv_out = admin.get(f"{BASE}/export", params={"format": "csv"}).content.decode("utf-8-sig")
    assert "彩铃怎么取消" in csv_out
    markdown = admin.get(f"{BASE}/export", params={"format": "md"}).text
    assert "## 宽带怎么移机" in markdown and "扩展问: 搬家宽带怎么办；宽带迁移" in markdown
    broken = admin.post(
        f"{BASE}/import", files={"file": ("kb.xlsx", b"PK\x03\x04 broken", "application/zip")}
    )
    assert broken.status_code == 422 and broken.json()["code"] == "bad_import_file"


def test_dictionary_and_synonyms_change_the_search(app: Any, world: World, admin: Any) -> None:
    _seed(admin, 10)
    agent = login(app, world.username(Role.AGENT))
    response = admin.put(
        f"{BASE}/dictionary",
        json={"words": list(DEMO_WORDS), "synonyms": [list(g) for g in DEMO_SYNONYMS]},
    )
    assert response.status_code == 200 and response.json()["dictionary_revision"] == 1
    after = agent.get(f"{BASE}/search", params={"q": "叠加包"}).json()["items"]
    assert "流量包" in after[0]["title"]


def test_announcements_must_be_acknowledged(app: Any, world: World, admin: Any, clock: Any) -> None:
    leader = login(app, world.username(Role.TEAM_LEADER))
    agent = login(app, world.username(Role.AGENT))
    qa = login(app, world.username(Role.QA))
    important = leader.post(
        f"{BASE}/announcements",
        json={
            "title": "光缆中断统一口径",
            "body": "洪山区光缆中断，18:00前恢复。",
            "importance": "urgent",
            "audience_roles": ["agent"],
            "valid_until": (clock.now() + timedelta(days=1)).isoformat(),
        },
    ).json()
    leader.post(f"{BASE}/announcements", json={"title": "周六系统升级", "importance": "normal"})
    assert agent.post(f"{BASE}/announcements", json={"title": "x"}).status_code == 403
    pending = agent.get(f"{BASE}/announcements/pending").json()
    assert [p["id"] for p in pending] == [important["id"]]
    assert qa.get(f"{BASE}/announcements/pending").json() == []  # not in the audience
    mine = agent.get(f"{BASE}/announcements").json()
    assert mine[0]["id"] == important["id"] and mine[0]["must_acknowledge"]
    report = leader.get(f"{BASE}/announcements/{important['id']}/report").json()
    assert report["audience"] == 1 and report["acknowledged"] == 0
    assert agent.post(f"{BASE}/announcements/{important['id']}/ack").status_code == 204
    assert agent.get(f"{BASE}/announcements/pending").json() == []
    report = leader.get(f"{BASE}/announcements/{important['id']}/report").json()
    assert report["acknowledged"] == 1 and report["people"][0]["acked_at"]
    assert (
        agent.get(f"{BASE}/announcements", params={"q": "光缆"}).json()[0]["id"]
        == (important["id"])
    )
    clock.advance(days=2)
    agent = login(app, world.username(Role.AGENT))
    assert all(a["id"] != important["id"] for a in agent.get(f"{BASE}/announcements").json())


def test_question_loop_deadline_escalation_and_answer(
    app: Any, container: Any, world: World, clock: Any
) -> None:
    # Friday 17:00 in Shanghai; 24 business hours of 09:00-18:00 weekdays: Fri 1 h, Mon 9 h,
    # Tue 9 h and Wed 5 h -> Wednesday 14:00 Shanghai (06:00 UTC), not Saturday 17:00
    friday = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    clock.set(friday)
    admin = login(app, world.username(Role.ADMIN))
    module = _module(admin, "话费账单", team=world.team_id)
    agent = login(app, world.username(Role.AGENT))
    backoffice = login(app, world.username(Role.BACKOFFICE))
    asked = agent.post(
        f"{BASE}/questions",
        json={"text": "境外刷卡被扣了漫游费怎么处理", "module_id": module, "context": "客户在泰国"},
    )
    assert asked.status_code == 201, asked.text
    question = asked.json()
    assert question["owner_team_id"] == world.team_id
    assert question["due_at"].startswith("2026-12-09T06:00")
    assert agent.get(f"{BASE}/questions").json()[0]["id"] == question["id"]
    assert backoffice.get(f"{BASE}/questions/{question['id']}").status_code == 200
    # overdue: the scheduler's escalation run, driven by the clock
    clock.set(datetime(2026, 12, 9, 6, 30, tzinfo=UTC))
    agent = login(app, world.username(Role.AGENT))
    backoffice = login(app, world.username(Role.BACKOFFICE))
    with container.db.session() as session:
        escalated = escalate_overdue(session, clock, tenant_id=world.tenant_id)
        assert [q.id for q in escalated] == [question["id"]]
        assert escalate_overdue(session, clock, tenant_id=world.tenant_id) == []  # not twice
    assert agent.get(f"{BASE}/questions/{question['id']}").json()["escalation_level"] == 1
    assert agent.get(f"{BASE}/questions/{question['id']}").json()["overdue"]
    answer = backoffice.post(
        f"{BASE}/questions/{question['id']}/answer",
        json={"answer": "核实交易后可申请退还漫游费差额。", "title": "境外漫游扣费怎么处理？"},
    )
    assert answer.status_code == 200, answer.text
    answered = answer.json()
    assert answered["status"] == "answered" and answered["article_id"]
    article = agent.get(f"{BASE}/articles/{answered['article_id']}").json()
    assert article["status"] == "published"
    assert "境外刷卡被扣了漫游费怎么处理" in article["questions"]
    hits = agent.get(f"{BASE}/search", params={"q": "境外刷卡扣漫游费"}).json()["items"]
    assert hits[0]["id"] == answered["article_id"]
    with container.db.sessions() as session:
        kinds = list(
            session.scalars(
                select(EventRecord.data).where(
                    EventRecord.tenant_id == world.tenant_id,
                    EventRecord.type == "knowledge.question.answered",
                )
            )
        )
    assert kinds and kinds[0]["asker_id"] == world.users[Role.AGENT].id
    again = backoffice.post(f"{BASE}/questions/{question['id']}/answer", json={"answer": "x"})
    assert again.status_code == 409


def test_feedback_analytics_tips_and_bot(app: Any, world: World, admin: Any) -> None:
    ids = _seed(admin)
    agent = login(app, world.username(Role.AGENT))
    editor = login(app, world.username(Role.KB_EDITOR))
    for _ in range(3):
        agent.get(f"{BASE}/search", params={"q": "流量包怎么退订"})
    agent.get(f"{BASE}/search", params={"q": "ωψφ"})
    aid = ids["流量包怎么退订？"]
    assert agent.post(f"{BASE}/articles/{aid}/feedback", json={"helpful": True}).status_code == 204
    assert agent.post(f"{BASE}/articles/{aid}/feedback", json={"helpful": False}).status_code == 204
    stats = admin.get(f"{BASE}/analytics").json()
    assert stats["top_queries"][0] == {
        **stats["top_queries"][0],
        "query": "流量包怎么退订",
        "count": 3,
    }
    assert [q["query"] for q in stats["zero_result_queries"]] == ["ωψφ"]
    assert stats["helpful"] == 1 and stats["not_helpful"] == 1
    assert agent.get(f"{BASE}/analytics").status_code == 403
    # best practice: an agent proposes, an editor publishes
    tip = agent.post(
        f"{BASE}/articles/{aid}/tips", json={"body": "先确认客户要退的是哪个包。"}
    ).json()
    assert agent.get(f"{BASE}/articles/{aid}/tips").json() == []
    assert editor.get(f"{BASE}/tips").json()[0]["id"] == tip["id"]
    assert editor.post(f"{BASE}/tips/{tip['id']}/review", json={"publish": True}).status_code == 200
    assert (
        agent.get(f"{BASE}/articles/{aid}/tips").json()[0]["body"] == "先确认客户要退的是哪个包。"
    )
    # the FAQ bot: answers when confident, hands off otherwise, 转人工 always works
    sure = agent.post(f"{BASE}/bot/answer", json={"question": "流量包怎么退订", "threshold": 0.3})
    assert sure.json()["answered"] and sure.json()["article_id"] == aid
    assert sure.json()["handoff_label"] == "转人工"
    unsure = agent.post(f"{BASE}/bot/answer", json={"question": "流量包怎么退订", "threshold": 1.0})
    assert unsure.json()["handoff"] and not unsure.json()["answered"]
    assert unsure.json()["reason"] == "low_confidence" and unsure.json()["suggestions"]
    person = agent.post(f"{BASE}/bot/answer", json={"question": "转人工"}).json()
    assert person["handoff"] and person["reason"] == "customer_asked"
    empty = agent.post(f"{BASE}/bot/answer", json={"question": ""}).json()
    assert empty["handoff"] and empty["reason"] == "empty"


def test_restart_reuses_persisted_vectors(
    app: Any, container: Any, world: World, admin: Any
) -> None:
    from kefu.knowledge.index import reset_indexes, tenant_index

    _seed(admin, 6)
    agent = login(app, world.username(Role.AGENT))
    assert agent.get(f"{BASE}/search", params={"q": "流量包"}).json()["items"]
    reset_indexes()  # what a restart does to the in-memory index
    with container.db.sessions() as session:
        index = tenant_index(session, world.tenant_id)
        assert len(index) == 6
        assert index.embedder is not None and index.embedder.encoded == 0  # type: ignore[attr-defined]


_ = UTC
