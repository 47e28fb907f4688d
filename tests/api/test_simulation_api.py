"""Simulation runs over HTTP: a planner starts a what-if run of the demo center, polls it and gets
per-interval KPIs with confidence intervals for the base and the what-if."""

from __future__ import annotations

import time

import pytest

from kefu.tenancy.model import Role
from tests.factories import login, make_world

pytestmark = pytest.mark.api
URL = "/api/v1/simulation/runs"


def _wait(client, run_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"{URL}/{run_id}").json()
        if run["status"] in ("done", "failed"):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish: {run}")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_what_if_more_agents_improves_service(app, container) -> None:
    world = make_world(container)
    planner = login(app, world.username(Role.WFM_PLANNER))
    knobs = {"extra_agents": 8, "extra_group": "early", "extra_from_interval": 2, "replications": 2}
    started = planner.post(URL, json=knobs)
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    busy = planner.post(URL, json={"replications": 1})
    assert busy.status_code in (202, 409)  # a second run waits for the first (unless it is done)
    run = _wait(planner, run_id)
    assert run["status"] == "done" and run["done"] == run["total"] == 4
    base, what_if = run["result"]["base"], run["result"]["what_if"]
    assert len(base["labels"]) == 24 and base["labels"][0] == "08:00"  # demo day in Shanghai
    assert len(base["sl_f3"]) == len(base["sl_f3_ci"]) == 24
    assert all(0 <= v <= 1 for v in base["sl_f3"] if v is not None)
    assert what_if["summary"]["sl_f3"] > base["summary"]["sl_f3"]
    assert what_if["summary"]["asa_s"] < base["summary"]["asa_s"]
    listed = planner.get(URL).json()
    assert run_id in [r["id"] for r in listed] and "result" not in listed[0]
    if busy.status_code == 202:
        _wait(planner, busy.json()["id"])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bad_knobs_and_permissions(app, container) -> None:
    world = make_world(container)
    planner = login(app, world.username(Role.WFM_PLANNER))
    for body, field in [
        ({"extra_agents": 3, "extra_group": "nobody"}, "extra_group"),
        ({"extra_agents": 3, "extra_from_interval": 99}, "extra_from_interval"),
        ({"strategy": "fastest"}, "strategy"),
        ({"replications": 0}, "replications"),
        ({"replications": 1000}, "replications"),
    ]:
        res = planner.post(URL, json=body)
        assert res.status_code == 422, (body, res.text)
        assert [e["field"] for e in res.json()["errors"]] == [field], body
    assert planner.get(f"{URL}/nope").status_code == 404
    agent = login(app, world.username(Role.AGENT))
    assert agent.post(URL, json={}).status_code == 403
    page = planner.get("/simulation")
    assert page.status_code == 200 and 'id="simulation-form"' in page.text
