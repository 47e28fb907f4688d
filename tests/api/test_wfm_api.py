"""WFM through the API: import history, forecast, schedule, roster, my shifts, leave with
approval, and adherence from recorded agent state events."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kefu.core.events import Event
from kefu.db.eventlog import record_event
from kefu.tenancy.model import Role
from kefu.wfm.synthetic import SyntheticQueue, synthetic_rows
from tests.factories import login, make_world

pytestmark = pytest.mark.api
SH = ZoneInfo("Asia/Shanghai")


def history_csv(today: date, weeks: int = 5) -> str:
    """Synthetic hourly history ending yesterday (no real data)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["interval_start", "queue", "offered", "aht_s"])
    queues = [SyntheticQueue("HOTLINE", 500, 240, 8, 20)]
    for start, queue, offered, aht in synthetic_rows(
        queues, today - timedelta(weeks=weeks), 7 * weeks, interval_min=60
    ):
        writer.writerow([start.astimezone(SH).isoformat(), queue, offered, aht])
    return buffer.getvalue()


@pytest.fixture
def world(container):
    return make_world(container)


def _today(clock) -> date:  # type: ignore[no-untyped-def]
    return clock.now().astimezone(SH).date()


def _plan(app, world, clock):  # type: ignore[no-untyped-def]
    planner = login(app, world.username(Role.WFM_PLANNER))
    today = _today(clock)
    imported = planner.post(
        "/api/v1/wfm/history",
        params={"interval_min": 60},
        content=history_csv(today).encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    forecast = planner.post("/api/v1/wfm/forecasts", json={"horizon_days": 14, "interval_min": 60})
    assert forecast.status_code == 201, forecast.text
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    schedule = planner.post(
        "/api/v1/wfm/schedules",
        json={"forecast_id": forecast.json()["id"], "queue": "HOTLINE", "week_start": str(monday)},
    )
    assert schedule.status_code == 201, schedule.text
    return planner, imported.json(), forecast.json(), schedule.json(), monday


def test_history_forecast_schedule_roster(app, world, clock) -> None:
    planner, imported, forecast, schedule, monday = _plan(app, world, clock)
    assert imported["queues"] == ["HOTLINE"] and imported["rows"] > 400
    view = planner.get(f"/api/v1/wfm/forecasts/{forecast['id']}").json()
    hotline = view["queues"]["HOTLINE"]
    assert len(view["labels"]) == (7 + 14) * 24
    assert sum(v for v in hotline["forecast"] if v) == pytest.approx(
        hotline["total_forecast"], rel=1e-3
    )
    assert 14 * 300 < hotline["total_forecast"] < 14 * 700  # ~500 calls a weekday
    assert hotline["actual"][0] is not None and hotline["forecast"][0] is None
    result = schedule["result"]
    assert result["status"] in ("optimal", "feasible") and result["agents"] > 0
    assert all(
        s >= r
        for day_s, day_r in zip(result["scheduled"], result["required"], strict=True)
        for s, r in zip(day_s, day_r, strict=True)
    )
    assert max(max(d) for d in result["required"]) >= 3

    roster = planner.post(f"/api/v1/wfm/schedules/{schedule['id']}/roster")
    assert roster.status_code == 200, roster.text
    assert roster.json()["assigned"] == 1  # the world has one agent
    grid = planner.get(f"/api/v1/wfm/schedules/{schedule['id']}/roster").json()
    mine = [line for line in grid["lines"] if line["user_id"] == world.users[Role.AGENT].id]
    assert len(mine) == 1 and mine[0]["team"] and len(mine[0]["days"]) == 5

    page = planner.get("/wfm")
    assert page.status_code == 200 and 'id="roster-grid"' in page.text and "HOTLINE" in page.text
    agent = login(app, world.username(Role.AGENT))
    shifts = agent.get("/api/v1/wfm/me/shifts", params={"start": str(monday), "days": 7}).json()
    assert len(shifts) == 5 and all(s["user_id"] == world.users[Role.AGENT].id for s in shifts)
    # the agent cannot plan; the team leader can read but not plan
    assert agent.get("/api/v1/wfm/schedules").status_code == 403
    leader = login(app, world.username(Role.TEAM_LEADER))
    assert leader.get(f"/api/v1/wfm/schedules/{schedule['id']}").status_code == 200
    assert leader.post("/api/v1/wfm/forecasts", json={"horizon_days": 1}).status_code == 403


def test_leave_request_with_approval_opens_the_shift(app, world, clock) -> None:
    planner, _, _, schedule, monday = _plan(app, world, clock)
    planner.post(f"/api/v1/wfm/schedules/{schedule['id']}/roster")
    agent = login(app, world.username(Role.AGENT))
    shift = agent.get("/api/v1/wfm/me/shifts", params={"start": str(monday), "days": 7}).json()[0]
    other = login(app, world.username(Role.QA))
    assert (
        other.post(
            "/api/v1/wfm/requests", json={"kind": "leave", "shift_id": shift["id"]}
        ).status_code
        == 403
    )
    made = agent.post(
        "/api/v1/wfm/requests", json={"kind": "leave", "shift_id": shift["id"], "reason": "家事"}
    )
    assert made.status_code == 201, made.text
    leader = login(app, world.username(Role.TEAM_LEADER))
    pending = leader.get("/api/v1/wfm/requests", params={"status": "pending"}).json()
    assert [r["id"] for r in pending["items"]] == [made.json()["id"]]
    decided = leader.post(
        f"/api/v1/wfm/requests/{made.json()['id']}/decision", json={"approve": True, "note": "ok"}
    )
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    again = leader.post(
        f"/api/v1/wfm/requests/{made.json()['id']}/decision", json={"approve": False}
    )
    assert again.status_code == 409
    left = agent.get("/api/v1/wfm/me/shifts", params={"start": str(monday), "days": 7}).json()
    assert len(left) == 4 and shift["id"] not in {s["id"] for s in left}
    page = agent.get("/wfm/my")
    assert page.status_code == 200 and "已批准" in page.text


def test_adherence_from_recorded_state_events(app, world, container, clock) -> None:
    planner, _, _, schedule, monday = _plan(app, world, clock)
    planner.post(f"/api/v1/wfm/schedules/{schedule['id']}/roster")
    agent = login(app, world.username(Role.AGENT))
    shift = agent.get("/api/v1/wfm/me/shifts", params={"start": str(monday), "days": 7}).json()[0]
    start = datetime.fromisoformat(shift["start_at"])
    end = datetime.fromisoformat(shift["end_at"])
    user = str(world.users[Role.AGENT].id)
    # A recorded day, in the shape the routing runtime writes: ready 5 minutes late, then on
    # through every break (the breaks count against adherence), logged off 30 minutes early.
    events = [
        (start + timedelta(minutes=5), "ready", ""),
        (end - timedelta(minutes=30), "offline", ""),
    ]
    with container.db.session(clock=clock, actor_name="test") as session:
        for at, state, reason in events:
            record_event(
                session,
                Event(
                    "agent_state_changed",
                    f"routing.agent.{user}",
                    world.tenant_id,
                    at,
                    {
                        "agent_id": user,
                        "state": state,
                        "previous": "",
                        "presence": state,
                        "reason": reason,
                    },
                ),
            )
    clock.set(end + timedelta(hours=1))
    planner = login(app, world.username(Role.WFM_PLANNER))  # the old session has expired
    report = planner.get("/api/v1/wfm/adherence", params={"day": shift["day"]}).json()
    row = next(r for r in report["agents"] if r["key"] == user)
    shift_s = (end - start).total_seconds()
    breaks_s = sum(b["minutes"] for b in shift["breaks"]) * 60
    assert row["scheduled_s"] == shift_s
    assert row["in_adherence_s"] == shift_s - breaks_s - 35 * 60
    assert row["adherence"] == pytest.approx((shift_s - breaks_s - 35 * 60) / shift_s)
    assert row["conformance"] == pytest.approx((shift_s - 35 * 60) / (shift_s - breaks_s))
    kinds = {(e["scheduled"], e["actual"]) for e in report["exceptions"]}
    assert kinds == {("work", "offline")} | {(b["kind"], "ready") for b in shift["breaks"]}
    assert report["teams"] and report["teams"][0]["key"].endswith("一班")


def test_bad_csv_is_reported_row_by_row(app, world) -> None:
    planner = login(app, world.username(Role.WFM_PLANNER))
    text = (
        "interval_start,queue,offered\n"
        "2026-03-02T09:00:00+08:00,HOTLINE,5\n"
        "2026-03-02T09:00:00+08:00,HOTLINE,6\n"
        "2026-03-02T10:00:00,HOTLINE,-1\n"
    )
    res = planner.post(
        "/api/v1/wfm/history",
        params={"interval_min": 60},
        content=text.encode(),
        headers={"Content-Type": "text/csv", "Accept-Language": "en"},
    )
    assert res.status_code == 422
    errors = {(e["field"], e["message"]) for e in res.json()["errors"]}
    assert (
        "line 3",
        "interval_start: duplicate of line 2 (2026-03-02T09:00:00+08:00, queue HOTLINE)",
    ) in errors
    assert any(f == "line 4" and "no time-zone offset" in m for f, m in errors)
    assert any(f == "line 4" and "negative value -1" in m for f, m in errors)
    assert planner.get("/api/v1/wfm/history").json() == []
    zh = planner.post(
        "/api/v1/wfm/history",
        params={"interval_min": 60},
        content=text.encode(),
        headers={"Content-Type": "text/csv", "Accept-Language": "zh-CN"},
    ).json()
    assert zh["title"] == "历史文件有错误"
    assert ("line 4", "offered：负值 -1：必须大于或等于 0") in {
        (e["field"], e["message"]) for e in zh["errors"]
    }


def test_infeasible_schedule_is_explained(app, world, clock) -> None:
    planner, _, forecast, _, monday = _plan(app, world, clock)
    res = planner.post(
        "/api/v1/wfm/schedules",
        json={
            "forecast_id": forecast["id"],
            "queue": "HOTLINE",
            "week_start": str(monday),
            "max_agents": 1,
        },
    )
    assert res.status_code == 422
    assert "the cap of 1 agents is reached" in res.json()["detail"]


def _record(container, clock, tenant_id: int, events: list[tuple[str, datetime, dict]]) -> None:  # type: ignore[no-untyped-def]
    with container.db.session(clock=clock, actor_name="test") as session:
        for kind, at, data in events:
            record_event(session, Event(kind, "routing.queue.HOTLINE", tenant_id, at, data))


def test_history_from_the_contacts_kefu_routed(app, world, container, clock) -> None:
    now = clock.now()
    end = datetime.fromtimestamp(int(now.timestamp()) // 1800 * 1800, now.tzinfo)
    first = end - timedelta(minutes=90)
    second = end - timedelta(minutes=30)
    events = []
    for n, handle in enumerate((100.0, 200.0, None)):
        at = first + timedelta(minutes=1 + n)
        events.append(("contact_queued", at, {"contact_id": f"c{n}", "queue_id": "HOTLINE"}))
        if handle is not None:
            done = at + timedelta(minutes=40)  # completed in a later interval
            events.append(
                (
                    "contact_completed",
                    done,
                    {"contact_id": f"c{n}", "queue_id": "HOTLINE", "handle_s": handle},
                )
            )
    for n in (10, 11):
        events.append(
            (
                "contact_queued",
                second + timedelta(minutes=5),
                {"contact_id": f"c{n}", "queue_id": "HOTLINE"},
            )
        )
    # c11 transferred and queued again: still one offered contact
    events.append(
        (
            "contact_queued",
            second + timedelta(minutes=9),
            {"contact_id": "c11", "queue_id": "HOTLINE"},
        )
    )
    events.append(
        (
            "contact_queued",
            end + timedelta(seconds=5),
            {"contact_id": "late", "queue_id": "HOTLINE"},
        )
    )
    _record(container, clock, world.tenant_id, events)
    planner = login(app, world.username(Role.WFM_PLANNER))
    res = planner.post("/api/v1/wfm/history/from-events", json={"days": 1, "interval_min": 30})
    assert res.status_code == 200, res.text
    assert res.json() == {"rows": 2, "queues": ["HOTLINE"]}
    [summary] = planner.get("/api/v1/wfm/history").json()
    assert summary["rows"] == 2 and summary["interval_min"] == 30
    with container.db.session(clock=clock, actor_name="test") as session:
        from sqlalchemy import select

        from kefu.wfm.tables import WfmHistory

        rows = session.scalars(
            select(WfmHistory)
            .where(WfmHistory.tenant_id == world.tenant_id)
            .order_by(WfmHistory.interval_start)
        ).all()
        assert [(r.offered, r.aht_s) for r in rows] == [(3.0, 150.0), (2.0, None)]


def test_intraday_reforecast_and_staffing_gap(app, world, container, clock) -> None:
    today = _today(clock) + timedelta(days=1)  # noon tomorrow: the clock only goes forward
    clock.set(datetime.combine(today, datetime.min.time(), tzinfo=SH).replace(hour=12))
    planner, _, _, _, _ = _plan(app, world, clock)
    before = planner.get("/api/v1/wfm/intraday", params={"queue": "HOTLINE"}).json()
    assert before["elapsed_slots"] == 12 and len(before["labels"]) == 24
    planned = before["forecast"]
    assert sum(planned[8:20]) > 0
    day_start = datetime.combine(today, datetime.min.time(), tzinfo=SH)
    events = []
    for hour in range(8, 12):
        for n in range(round(2 * planned[hour]) + 1):
            at = day_start + timedelta(hours=hour, seconds=n)
            events.append(
                ("contact_queued", at, {"contact_id": f"{hour}-{n}", "queue_id": "HOTLINE"})
            )
    _record(container, clock, world.tenant_id, events)
    after = planner.get("/api/v1/wfm/intraday", params={"queue": "HOTLINE"}).json()
    assert after["actual"][8:12] == [round(2 * planned[h]) + 1 for h in range(8, 12)]
    assert after["actual"][12] is None and after["reforecast"][11] is None
    busy = [h for h in range(12, 20) if planned[h] > 0]
    assert busy and all(after["reforecast"][h] > 1.3 * planned[h] for h in busy)
    assert all(after["required"][h] >= before["required"][h] for h in busy)
    assert any(after["required"][h] > before["required"][h] for h in busy)
    assert after["gap"][15] == after["scheduled"][15] - after["required"][15]


def test_contracts_and_preferences_shape_the_roster(app, world, clock) -> None:
    planner, _, _, schedule, monday = _plan(app, world, clock)
    agent_id = world.users[Role.AGENT].id
    agent = login(app, world.username(Role.AGENT))
    mine = agent.put(
        "/api/v1/wfm/me/preferences", json={"avoid_nights": True, "preferred_days_off": [5, 6]}
    )
    assert mine.status_code == 200 and mine.json()["preferred_days_off"] == [5, 6]
    assert (
        agent.put(f"/api/v1/wfm/agents/{agent_id}/settings", json={"max_hours": 60}).status_code
        == 403
    )
    bad = agent.put("/api/v1/wfm/me/preferences", json={"start_earliest_min": 600})
    assert bad.status_code == 422
    assert (
        planner.put(f"/api/v1/wfm/agents/{agent_id}/settings", json={"max_hours": 30}).status_code
        == 200
    )
    listed = {a["user_id"]: a for a in planner.get("/api/v1/wfm/agents").json()}
    assert listed[agent_id]["max_hours"] == 30 and listed[agent_id]["avoid_nights"] is True
    roster = planner.post(f"/api/v1/wfm/schedules/{schedule['id']}/roster").json()
    shifts = agent.get("/api/v1/wfm/me/shifts", params={"start": str(monday), "days": 7}).json()
    full_time_open = [
        why
        for why in roster["open_lines"].values()
        if any("exceeds the contract's 30 h" in w for w in why)
    ]
    assert full_time_open  # the 40 h lines are barred by the 30 h contract
    if shifts:  # a part-time line fits
        assert all(s["template"] == "part" for s in shifts)


def test_digital_twin_predicts_the_service_level_of_a_scheduled_day(app, world, clock) -> None:
    planner, _, _, schedule, _ = _plan(app, world, clock)
    res = planner.post(
        f"/api/v1/wfm/schedules/{schedule['id']}/evaluate", json={"day": 1, "replications": 3}
    )
    assert res.status_code == 200, res.text
    ev = res.json()
    busy = [k for k, v in enumerate(ev["volumes"]) if v >= 20]
    assert busy and all(ev["agents"][k] > 0 for k in busy)
    # staffed to 80/20 with Erlang C: the twin agrees on the day within noise
    assert ev["day_sl"] > 0.7
    assert all(ev["sl_erlang"][k] >= 0.8 - 1e-9 for k in busy)
    twin = [ev["sl_twin"][k] for k in busy]
    assert sum(twin) / len(twin) > 0.7
    assert ev["sl_twin"][2] is None  # nothing offered at night
    agent = login(app, world.username(Role.AGENT))
    assert (
        agent.post(f"/api/v1/wfm/schedules/{schedule['id']}/evaluate", json={}).status_code == 403
    )


def test_swap_request_checked_and_approved(app, world, clock) -> None:
    planner, _, _, schedule, monday = _plan(app, world, clock)
    admin = login(app, world.username(Role.ADMIN))
    made = admin.post(
        "/api/v1/users",
        json={
            "username": f"agent_b.{world.code}",
            "password": "long-enough-1",
            "display_name": "B",
            "roles": ["agent"],
            "team_id": world.team_id,
        },
    )
    assert made.status_code == 201, made.text
    a = login(app, world.username(Role.AGENT))
    b = login(app, f"agent_b.{world.code}", "long-enough-1")
    assert (
        a.put(
            "/api/v1/wfm/me/preferences", json={"start_earliest_min": 360, "start_latest_min": 540}
        ).status_code
        == 200
    )
    assert (
        b.put(
            "/api/v1/wfm/me/preferences", json={"start_earliest_min": 780, "start_latest_min": 900}
        ).status_code
        == 200
    )
    assert planner.post(f"/api/v1/wfm/schedules/{schedule['id']}/roster").json()["assigned"] == 2
    week = {"start": str(monday), "days": 7}
    mine = {s["day"]: s for s in a.get("/api/v1/wfm/me/shifts", params=week).json()}
    theirs = {s["day"]: s for s in b.get("/api/v1/wfm/me/shifts", params=week).json()}
    common = sorted(set(mine) & set(theirs))
    assert common and mine[common[0]]["start"] != theirs[common[0]]["start"]
    day = common[0]
    options = a.get(f"/api/v1/wfm/me/shifts/{mine[day]['id']}/swap-options").json()
    assert theirs[day]["id"] in {o["id"] for o in options}
    assert b.get(f"/api/v1/wfm/me/shifts/{mine[day]['id']}/swap-options").status_code == 404
    req = a.post(
        "/api/v1/wfm/requests",
        json={"kind": "swap", "shift_id": mine[day]["id"], "other_shift_id": theirs[day]["id"]},
    )
    assert req.status_code == 201, req.text
    leader = login(app, world.username(Role.TEAM_LEADER))
    ok = leader.post(f"/api/v1/wfm/requests/{req.json()['id']}/decision", json={"approve": True})
    assert ok.status_code == 200, ok.text
    after = {s["day"]: s for s in a.get("/api/v1/wfm/me/shifts", params=week).json()}
    assert after[day]["id"] == theirs[day]["id"]


def test_live_adherence_exception_when_an_agent_leaves_the_phones_during_work(
    app, world, container, clock
) -> None:
    planner, _, _, schedule, monday = _plan(app, world, clock)
    planner.post(f"/api/v1/wfm/schedules/{schedule['id']}/roster")
    agent = login(app, world.username(Role.AGENT))
    shift = agent.get("/api/v1/wfm/me/shifts", params={"start": str(monday), "days": 7}).json()[0]
    start = datetime.fromisoformat(shift["start_at"])
    clock.set(start + timedelta(minutes=10))
    agent = login(app, world.username(Role.AGENT))
    assert agent.post("/api/v1/routing/me/login").status_code == 204
    assert agent.put("/api/v1/routing/me/state", json={"presence": "ready"}).status_code == 204
    clock.advance(60)
    res = agent.put("/api/v1/routing/me/state", json={"presence": "not_ready", "reason": "lunch"})
    assert res.status_code == 204, res.text
    with container.db.session(clock=clock, actor_name="test") as session:
        from sqlalchemy import select

        from kefu.db.eventlog import EventRecord

        found = session.scalars(
            select(EventRecord).where(
                EventRecord.tenant_id == world.tenant_id,
                EventRecord.type == "wfm_adherence_exception",
            )
        ).all()
    # signing in lands in not-ready "login" (out of adherence while scheduled to work), ready is
    # in adherence (nothing recorded), lunch during work is out again
    assert [(e.topic, e.data["scheduled"], e.data["actual"]) for e in found] == [
        ("wfm.adherence", "work", "login"),
        ("wfm.adherence", "work", "lunch"),
    ]
    assert found[0].data["agent_id"] == str(world.users[Role.AGENT].id)
