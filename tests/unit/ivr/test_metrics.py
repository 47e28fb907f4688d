"""Per-node IVR metrics from session summaries."""

from __future__ import annotations

import pytest

from kefu.ivr.metrics import flow_metrics

pytestmark = pytest.mark.unit


def test_rates_hops_and_times_per_node() -> None:
    sessions = [
        {
            "path": [["main", 0], ["bill", 6], ["bye", 9]],
            "outcome": "self_service",
            "duration_s": 10,
        },
        {
            "path": [["main", 0], ["main", 8]],
            "outcome": "queued",
            "zero_out_node": "main",
            "duration_s": 12,
        },
        {"path": [["main", 0], ["fault", 5]], "outcome": "abandoned", "duration_s": 7},
        {"path": [], "outcome": "queued", "reason": "elderly", "duration_s": 0},
    ]
    m = flow_metrics(sessions)
    assert m.sessions == 4
    assert m.outcomes == {"abandoned": 1, "queued": 2, "self_service": 1}
    assert (m.self_service_rate, m.zero_out_rate, m.abandon_rate) == (0.25, 0.25, 0.25)
    nodes = {n.node: n for n in m.nodes}
    main = nodes["main"]
    assert (main.reached, main.reach_rate) == (3, 0.75)  # reached once per session
    assert main.visits == 4  # the replayed main menu counts as a visit
    assert main.completion_rate == pytest.approx(0.3333)
    assert main.zero_out_rate == pytest.approx(0.3333) and main.abandon_rate == 0.0
    assert main.avg_time_in_node_s == pytest.approx((6 + 8 + 4 + 5) / 4, abs=0.01)
    assert nodes["fault"].abandon_rate == 1.0 and nodes["fault"].avg_time_in_node_s == 2.0
    assert nodes["bill"].avg_hops == 2 and nodes["bye"].avg_time_to_reach_s == 9
    assert m.nodes[0].node == "main"  # most reached first


def test_no_sessions_and_malformed_rows() -> None:
    assert flow_metrics([]).sessions == 0
    m = flow_metrics([{"path": "garbage", "outcome": None, "duration_s": "x"}])
    assert m.outcomes == {"unknown": 1} and m.nodes == []
