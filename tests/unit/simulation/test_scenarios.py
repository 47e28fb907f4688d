"""Scenario input, what-if comparisons and the ``kefu simulate`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kefu.simulation import (
    ScenarioError,
    add_agents,
    compare,
    scenario_from_dict,
    simulate,
    with_strategy,
)
from kefu.simulation.cli import simulate_command

pytestmark = pytest.mark.unit

SCENARIO = {
    "name": "small",
    "interval_s": 1800,
    "intervals": 4,
    "queues": [
        {
            "config": {
                "queue_id": "sales",
                "tenant_id": "t",
                "skills": {"sales": 2},
                "media": ["voice", "callback"],
                "wrap_up_s": 10,
            },
            "volumes": [40, 60, 60, 40],
            "handle": {"kind": "lognormal", "mean": 200, "sd": 120},
            "patience": {"kind": "exponential", "mean": 120},
            "callback_share": 0.3,
        },
    ],
    "agents": [
        {
            "group": "a",
            "count": 4,
            "skills": {"sales": 5},
            "shifts": [{"start_s": 0, "end_s": 7200, "breaks": [[3600, 600]]}],
        },
    ],
}


def test_scenario_json_runs_and_reports_every_interval() -> None:
    result = simulate(scenario_from_dict(SCENARIO), replications=3, seed=2)
    rows = result.rows()
    assert [r["queue"] for r in rows] == ["sales"] * 4
    assert sum(r["offered"] for r in rows) > 150
    for row in rows:
        assert 0.0 <= row["sl_f3"] <= 1.0 and row["sl_f3"] >= row["sl_offered"] - 1e-9
        assert 0.0 < row["occupancy"] <= 1.0
    assert sum(int(r.callbacks.sum()) for r in result.replications) > 0
    assert "sl_f3_ci" in result.to_csv().splitlines()[0]


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("queues", 0, "volumes"), [1, 2], "queues[sales].volumes"),
        (("queues", 0, "handle"), {"kind": "gamma", "mean": 3}, "queues[0].handle.kind"),
        (("queues", 0, "patience"), {"kind": "exponential", "mean": -1}, "queues[0].patience.mean"),
        (("agents", 0, "count"), -2, "agents[a].count"),
        (("interval_s",), 0, "interval_s"),
    ],
)
def test_bad_scenarios_name_the_field(path: tuple[object, ...], value: object, field: str) -> None:
    raw = json.loads(json.dumps(SCENARIO))
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(raw)
    assert err.value.field == field


def test_what_if_more_agents_raises_service_level_and_strategy_switch_runs() -> None:
    base = scenario_from_dict(SCENARIO)
    more = add_agents(base, 4, like="a", from_s=1800)
    a = simulate(base, replications=4, seed=9)
    b = simulate(more, replications=4, seed=9)
    diff = compare(a, b, "sl_f3")
    assert diff[0]["diff"] == pytest.approx(0.0)  # same random numbers before 10:00 ...
    assert all(row["diff"] > 0 for row in diff[1:3])  # ... and better service after
    switched = simulate(with_strategy(base, "round_robin"), replications=1, seed=9)
    assert switched.scenario.queues[0].config.strategy == "round_robin"


def test_cli_runs_a_scenario_file_and_writes_csv(tmp_path: Path) -> None:
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps(SCENARIO), encoding="utf-8")
    out = tmp_path / "r.csv"
    res = CliRunner().invoke(
        simulate_command, ["--scenario", str(scenario), "--replications", "2", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert out.read_text(encoding="utf-8").count("\n") == 5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**SCENARIO, "intervals": 3}), encoding="utf-8")
    res = CliRunner().invoke(simulate_command, ["--scenario", str(bad)])
    assert res.exit_code == 2 and "queues[sales].volumes" in res.output
