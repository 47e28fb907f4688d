"""Staffing calculator API: calls per interval (JSON or CSV) → required agents, with the Erlang
numbers, exports, and bad input answered as problem details naming the field."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from kefu.tenancy.model import Role
from kefu.wfm.erlang import agents_for_erlang_a, agents_for_service_level, service_level
from tests.factories import login, make_world

pytestmark = pytest.mark.api
URL = "/api/v1/wfm/staffing"
DAY = [("2026-03-02T09:00:00+08:00", 0), ("2026-03-02T09:30:00+08:00", 100)]
DAY += [("2026-03-02T10:00:00+08:00", 250), ("2026-03-02T10:30:00+08:00", 400)]


@pytest.fixture
def planner(app, container):
    world = make_world(container)
    return login(app, world.username(Role.WFM_PLANNER))


def _body(**kw):
    body = {"intervals": [{"start": s, "calls": c} for s, c in DAY], "aht_s": 240}
    body.update(kw)
    return body


def test_required_agents_per_interval_follow_erlang_c(planner) -> None:
    res = planner.post(URL, json=_body(shrinkage=0.3))
    assert res.status_code == 200, res.text
    data = res.json()
    assert data["model"] == "erlang_c"
    rows = data["rows"]
    assert [r["calls"] for r in rows] == [0, 100, 250, 400]
    assert rows[0]["agents"] == 0 and rows[0]["service_level"] is None  # nothing offered
    for row in rows[1:]:
        load = row["calls"] * 240 / 1800
        assert row["agents"] == agents_for_service_level(load, 240, 20, 0.8)
        assert row["service_level"] >= 0.8
        assert row["service_level"] == pytest.approx(service_level(load, row["agents"], 240, 20))
        assert row["scheduled"] == -(-row["agents"] * 10 // 7)  # ⌈n / 0.7⌉
        assert 0 < row["occupancy"] < 1 and row["asa_s"] > 0
    assert rows[1]["agents"] < rows[2]["agents"] < rows[3]["agents"]
    assert data["totals"]["peak_agents"] == rows[3]["agents"]


def test_patience_switches_to_erlang_a_with_abandon_cap(planner) -> None:
    res = planner.post(URL, json=_body(patience_s=120, max_abandon=0.03))
    assert res.status_code == 200, res.text
    data = res.json()
    assert data["model"] == "erlang_a"
    for row in data["rows"][1:]:
        load = row["calls"] * 240 / 1800
        assert row["agents"] == agents_for_erlang_a(load, 240, 120, 20, 0.8, 0.03)
        assert row["p_abandon"] <= 0.03 and row["service_level"] >= 0.8


def test_csv_upload_with_per_row_aht(planner) -> None:
    text = "interval_start,calls,aht_s\n2026-03-02T09:00:00+08:00,100,\n"
    text += "2026-03-02T09:30:00+08:00,100,480\n"
    res = planner.post(URL, json={"csv": text, "aht_s": 240, "interval_min": 30})
    assert res.status_code == 200, res.text
    short, long = res.json()["rows"]
    assert short["aht_s"] == 240 and long["aht_s"] == 480
    assert long["agents"] > short["agents"]


def test_bad_csv_rows_are_reported_row_by_row(planner) -> None:
    text = "interval_start,calls\n2026-03-02T09:00:00+08:00,100\n2026-03-02T09:30:00,50\n"
    text += "2026-03-02T10:00:00+08:00,-3\n2026-03-02T10:00:00+08:00,x\nyesterday,5\n"
    res = planner.post(URL, json={"csv": text, "aht_s": 240}, headers={"Accept-Language": "en"})
    assert res.status_code == 422
    problem = res.json()
    assert problem["code"] == "staffing_bad_csv"
    got = [(e["field"], e["code"]) for e in problem["errors"]]
    assert got == [
        ("line 3", "csv_no_offset"),
        ("line 4", "csv_negative"),
        ("line 5", "csv_not_number"),
        ("line 6", "csv_bad_time"),
    ]
    assert "interval_start" in problem["errors"][0]["message"]
    assert "calls" in problem["errors"][1]["message"]
    missing = planner.post(URL, json={"csv": "start,calls\n", "aht_s": 240})
    assert [e["code"] for e in missing.json()["errors"]] == [
        "csv_missing_column",
        "csv_unknown_column",
    ]


BAD = [
    ({"aht_s": 0}, "aht_s"),
    ({"aht_s": -5}, "aht_s"),
    ({"target": 1.5}, "target"),
    ({"target": 0}, "target"),
    ({"threshold_s": -1}, "threshold_s"),
    ({"shrinkage": 1}, "shrinkage"),
    ({"max_occupancy": 0}, "max_occupancy"),
    ({"max_abandon": 0.05}, "max_abandon"),  # without patience_s: no abandonment model
    ({"patience_s": 0}, "patience_s"),
    ({"interval_min": 20}, "interval_min"),
    ({"intervals": [{"start": "2026-03-02T09:00:00+08:00", "calls": -1}]}, "intervals[0].calls"),
    ({"intervals": [{"start": "2026-03-02T09:00:00", "calls": 5}]}, "intervals[0].start"),
    (
        {"intervals": [{"start": "2026-03-02T09:00:00Z", "calls": 5, "aht_s": 0}]},
        "intervals[0].aht_s",
    ),
    ({"intervals": [{"start": "2026-03-02T09:00:00Z", "calls": 1e12}]}, "intervals[0].calls"),
    ({"intervals": []}, "intervals"),
    ({"csv": "interval_start,calls\n"}, "intervals"),  # both given
]


def test_bad_input_names_the_field(planner) -> None:
    for change, field in BAD:
        res = planner.post(URL, json=_body(**change))
        assert res.status_code == 422, (change, res.text)
        problem = res.json()
        assert problem["code"] == "staffing_bad_input", change
        assert [e["field"] for e in problem["errors"]] == [field], change


def test_exports_csv_and_xlsx(planner) -> None:
    json_rows = planner.post(URL, json=_body()).json()["rows"]
    res = planner.post(f"{URL}/export", params={"format": "csv"}, json=_body())
    assert res.status_code == 200 and "attachment" in res.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert [int(r["required_agents"]) for r in rows] == [r["agents"] for r in json_rows]
    res = planner.post(f"{URL}/export", params={"format": "xlsx"}, json=_body())
    assert res.status_code == 200
    sheet = load_workbook(io.BytesIO(res.content))["staffing"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][4] == "required_agents"
    assert [v[4] for v in values[1:]] == [r["agents"] for r in json_rows]


def test_only_planners_calculate(app, container) -> None:
    world = make_world(container)
    agent = login(app, world.username(Role.AGENT))
    assert agent.post(URL, json=_body()).status_code == 403
    assert agent.get("/wfm/staffing", follow_redirects=False).status_code == 403
    planner = login(app, world.username(Role.WFM_PLANNER))
    page = planner.get("/wfm/staffing")
    assert page.status_code == 200 and 'id="staffing-form"' in page.text
