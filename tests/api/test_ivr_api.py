"""IVR flows through the API: drafts with findings, publishing blocked by errors (422 listing
them), warnings allowed, versions and roll-back, prompts with size/type limits, session events
into per-node metrics, pages, permissions."""

from __future__ import annotations

import io
import struct
from datetime import timedelta
from typing import Any

import pytest
import yaml

from kefu.ivr import services
from kefu.ivr.runner import Hangup, ToQueue
from kefu.tenancy.model import Role
from tests.factories import login, make_world

pytestmark = pytest.mark.api


def good_flow(prompt: str = "话费查询请按1，办理业务请按2，人工服务请按0。") -> dict[str, Any]:
    return {
        "start": "main",
        "settings": {"human_queue": "general"},
        "nodes": {
            "main": {"type": "menu", "prompt": prompt, "options": {"1": "bill", "2": "biz"}},
            "bill": {"type": "play", "prompt": "您本月话费为58元。", "next": "bye"},
            "bye": {"type": "hangup", "prompt": "感谢来电"},
            "biz": {"type": "queue", "queue": "business"},
        },
    }


def bad_flow() -> dict[str, Any]:
    data = good_flow()
    data["nodes"]["bill"].pop("next")  # dead end
    data["nodes"]["main"]["options"]["3"] = "nowhere"  # unknown target
    return data


@pytest.fixture
def world(container):
    return make_world(container)


@pytest.fixture
def admin(app, world):
    return login(app, world.username(Role.ADMIN))


def create(
    admin, code: str = "hotline", definition: dict[str, Any] | None = None
) -> dict[str, Any]:
    r = admin.post(
        "/api/v1/ivr/flows",
        json={"code": code, "name": "10088 热线", "definition": definition or good_flow()},
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_an_invalid_flow_is_saved_as_a_draft_but_cannot_be_published(admin) -> None:
    created = create(admin, definition=bad_flow())
    codes = {(f["code"], f["node"]) for f in created["findings"]}
    assert {("dead_end", "bill"), ("unknown_target", "main")} <= codes
    assert (
        created["version"]["status"] == "draft" and created["version"]["errors"] == 3
    )  # + no_end at bill
    flow_id = created["flow"]["id"]
    r = admin.post(f"/api/v1/ivr/flows/{flow_id}/versions/1/publish")
    assert r.status_code == 422
    problem = r.json()
    assert problem["code"] == "ivr_flow_invalid"
    assert problem["title"] == "流程有错误，不能发布"
    listed = {(e["field"], e["code"]) for e in problem["errors"]}
    assert {("nodes.bill", "dead_end"), ("nodes.main", "unknown_target")} <= listed
    assert any("nowhere" in e["message"] for e in problem["errors"])
    flow = admin.get(f"/api/v1/ivr/flows/{flow_id}").json()
    assert flow["flow"]["published_version"] is None


def test_publish_with_warnings_then_new_draft_then_roll_back(admin, app, world, container) -> None:
    created = create(admin)
    flow_id = created["flow"]["id"]
    assert created["findings"] == []
    r = admin.post(f"/api/v1/ivr/flows/{flow_id}/versions/1/publish")
    assert r.status_code == 200, r.text
    assert r.json()["version"]["status"] == "published"
    # editing after a publish starts version 2; a long main-menu prompt is only a warning
    long_prompt = "话费查询请按一，" * 14
    saved = admin.put(
        f"/api/v1/ivr/flows/{flow_id}/draft", json={"definition": good_flow(long_prompt)}
    ).json()
    assert saved["version"]["version"] == 2
    assert [f["code"] for f in saved["findings"]] == ["prompt_long"]
    # saving again edits the same draft
    again = admin.put(
        f"/api/v1/ivr/flows/{flow_id}/draft", json={"definition": good_flow(long_prompt + "。")}
    ).json()
    assert again["version"]["version"] == 2
    assert admin.post(f"/api/v1/ivr/flows/{flow_id}/versions/2/publish").status_code == 200
    with container.db.session(clock=container.clock) as session:
        flow = services.published_flow(session, world.tenant_id, "hotline")
        assert flow is not None and flow.version == 2
    versions = admin.get(f"/api/v1/ivr/flows/{flow_id}").json()["versions"]
    assert [(v["version"], v["status"]) for v in versions] == [(2, "published"), (1, "archived")]
    # roll back to 1; a never-published draft cannot be "rolled back" to, only published
    r = admin.post(f"/api/v1/ivr/flows/{flow_id}/versions/1/rollback")
    assert r.status_code == 200, r.text
    versions = admin.get(f"/api/v1/ivr/flows/{flow_id}").json()["versions"]
    assert [(v["version"], v["status"]) for v in versions] == [(2, "archived"), (1, "published")]
    assert admin.post(f"/api/v1/ivr/flows/{flow_id}/versions/1/publish").status_code == 409
    with container.db.session(clock=container.clock) as session:
        flow = services.published_flow(session, world.tenant_id, "hotline")
        assert flow is not None and flow.version == 1
    events = admin.get("/api/v1/audit", params={"entity": "ivr_flow_versions"})
    assert events.status_code == 200


def test_yaml_source_round_trip_and_syntax_errors(admin) -> None:
    source = yaml.safe_dump(good_flow(), allow_unicode=True)
    r = admin.post(
        "/api/v1/ivr/flows",
        json={"code": "yaml-flow", "name": "YAML", "source": source, "format": "yaml"},
    )
    assert r.status_code == 201, r.text
    flow_id = r.json()["flow"]["id"]
    shown = admin.get(f"/api/v1/ivr/flows/{flow_id}/versions/1", params={"format": "yaml"}).json()
    assert yaml.safe_load(shown["source"]) == good_flow()
    broken = admin.put(
        f"/api/v1/ivr/flows/{flow_id}/draft",
        json={"source": "start: main\nnodes: [unclosed", "format": "yaml"},
    )
    assert broken.status_code == 422
    assert broken.json()["code"] == "flow_source_invalid"
    not_json = admin.post("/api/v1/ivr/validate", json={"source": '{"start": ', "format": "json"})
    assert not_json.status_code == 422 and "1" in not_json.json()["detail"]
    not_a_flow = admin.put(f"/api/v1/ivr/flows/{flow_id}/draft", json={"source": "[1, 2]"})
    assert not_a_flow.status_code == 422


def test_bad_input_is_refused(admin) -> None:
    create(admin)
    assert (
        admin.post(
            "/api/v1/ivr/flows", json={"code": "hotline", "name": "x", "definition": good_flow()}
        ).status_code
        == 409
    )
    assert (
        admin.post(
            "/api/v1/ivr/flows", json={"code": "Bad Code!", "name": "x", "definition": good_flow()}
        ).status_code
        == 422
    )
    assert (
        admin.post(  # both a definition and a source
            "/api/v1/ivr/validate", json={"definition": good_flow(), "source": "{}"}
        ).status_code
        == 422
    )
    assert (
        admin.post(
            "/api/v1/ivr/validate", json={"definition": good_flow(), "colour": "red"}
        ).status_code
        == 422
    )
    check = admin.post("/api/v1/ivr/validate", json={"definition": bad_flow()}).json()
    assert check["valid"] is False
    english = admin.post(
        "/api/v1/ivr/validate", json={"definition": bad_flow()}, headers={"Accept-Language": "en"}
    ).json()
    assert any("does not exist" in f["message"] for f in english["findings"])
    assert admin.post("/api/v1/ivr/flows/999999/versions/1/publish").status_code == 404


def wav(seconds: float = 0.1) -> bytes:
    frames = int(8000 * seconds)
    data = b"\x00\x00" * frames
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    return header + fmt + b"data" + struct.pack("<I", len(data)) + data


def test_prompts_audio_and_text_with_limits(admin, app, world) -> None:
    r = admin.post(
        "/api/v1/ivr/prompts",
        data={"code": "welcome", "name": "欢迎语", "text": "欢迎致电"},
        files={"audio": ("welcome.wav", io.BytesIO(wav()), "audio/wav")},
    )
    assert r.status_code == 201, r.text
    prompt = r.json()
    assert prompt["content_type"] == "audio/wav" and prompt["size"] == len(wav())
    audio = admin.get(f"/api/v1/ivr/prompts/{prompt['id']}/audio")
    assert audio.status_code == 200 and audio.content == wav()
    text_only = admin.post(
        "/api/v1/ivr/prompts", data={"code": "bye", "name": "结束语", "text": "再见"}
    )
    assert text_only.status_code == 201
    assert admin.get(f"/api/v1/ivr/prompts/{text_only.json()['id']}/audio").status_code == 404
    fake = admin.post(
        "/api/v1/ivr/prompts",
        data={"code": "fake", "name": "x"},
        files={"audio": ("x.wav", io.BytesIO(b"MZ\x90\x00 not audio"), "audio/wav")},
    )
    assert fake.status_code == 422 and fake.json()["errors"][0]["code"] == "bad_type"
    big = admin.post(
        "/api/v1/ivr/prompts",
        data={"code": "big", "name": "x"},
        files={"audio": ("big.wav", io.BytesIO(wav(63)), "audio/wav")},
    )
    assert big.status_code in (413, 422)
    empty = admin.post("/api/v1/ivr/prompts", data={"code": "empty", "name": "x"})
    assert empty.status_code == 422
    listed = admin.get("/api/v1/ivr/prompts").json()
    assert [p["code"] for p in listed["items"]] == ["bye", "welcome"]
    assert admin.delete(f"/api/v1/ivr/prompts/{prompt['id']}").status_code == 204


def test_permissions(app, world, admin) -> None:
    create(admin)
    agent = login(app, world.username(Role.AGENT))
    assert agent.get("/api/v1/ivr/flows").status_code == 403
    assert agent.get("/api/v1/ivr/reports").status_code == 403
    leader = login(app, world.username(Role.TEAM_LEADER))
    assert leader.get("/api/v1/ivr/reports").status_code == 200
    assert (
        leader.post(
            "/api/v1/ivr/flows", json={"code": "x", "name": "x", "definition": good_flow()}
        ).status_code
        == 403
    )
    assert agent.get("/ivr", follow_redirects=False).status_code == 403


def test_session_events_become_per_node_metrics(admin, app, world, container, clock) -> None:
    flow_id = create(admin)["flow"]["id"]
    admin.post(f"/api/v1/ivr/flows/{flow_id}/versions/1/publish")
    with container.db.session(clock=clock) as session:
        # one self-service, one zero-out, one abandon, one elderly caller
        runs = [({}, "1", None), ({}, "0", None), ({}, None, "hangup"), ({"age": 80}, None, None)]
        for i, (caller, key, end) in enumerate(runs):
            ivr = services.new_session(
                session, world.tenant_id, "hotline", caller=caller, now=clock.now(), clock=clock
            )
            assert ivr is not None
            actions = ivr.start()
            clock.advance(4)
            if key:
                actions = ivr.digits(key)
            if end == "hangup":
                ivr.hangup()
            if i == 0:
                assert isinstance(actions[-1], Hangup)
            if i == 1:
                assert actions == [ToQueue("general", 0, "zero_out")]
            services.record_session(
                session, world.tenant_id, ivr, "voice", f"call-{i}", now=clock.now()
            )
        session.commit()
    report = admin.get(f"/api/v1/ivr/reports/{flow_id}").json()
    assert report["sessions"] == 4
    assert report["outcomes"] == {"abandoned": 1, "queued": 2, "self_service": 1}
    assert report["self_service_rate"] == 0.25 and report["zero_out_rate"] == 0.25
    nodes = {n["node"]: n for n in report["nodes"]}
    assert nodes["main"]["reached"] == 3 and nodes["main"]["reach_rate"] == 0.75
    assert nodes["main"]["zero_out_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert nodes["main"]["abandon_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert nodes["bill"]["completion_rate"] == 1.0 and nodes["bill"]["avg_hops"] == 2
    assert nodes["bill"]["avg_time_to_reach_s"] == 4.0
    overview = admin.get("/api/v1/ivr/reports").json()["items"]
    assert overview[0]["code"] == "hotline" and overview[0]["sessions"] == 4
    earlier = admin.get(
        f"/api/v1/ivr/reports/{flow_id}",
        params={"until": (clock.now() - timedelta(days=1)).isoformat()},
    ).json()
    assert earlier["sessions"] == 0
    page = admin.get(f"/ivr/reports/{flow_id}")
    assert page.status_code == 200 and "bill" in page.text


def test_pages_render(admin) -> None:
    flow_id = create(admin, definition=bad_flow())["flow"]["id"]
    listing = admin.get("/ivr")
    assert listing.status_code == 200 and "hotline" in listing.text
    editor = admin.get(f"/ivr/flows/{flow_id}")
    assert editor.status_code == 200 and 'data-code="dead_end"' in editor.text
    assert admin.get(f"/ivr/flows/{flow_id}", params={"format": "json"}).status_code == 200
    assert admin.get("/ivr/reports").status_code == 200
