"""Weekly tour scheduling benchmark: 7 days x 96 quarter-hours, HiGHS.

Requirement: a synthetic 24x7 double-peak week (Erlang C 80/20 in 20 s, AHT 300 s, peak about 250
agents on the phones). Tours: 5 days on / 2 consecutive days off (7 rotations) x 48 starts (every
30 min, the whole day, night shifts carrying over midnight and Sunday into Monday) x a 9-hour
span with a 15-minute break, a 30-minute unpaid lunch and a second 15-minute break, each placed
per day within its own one-hour window (implicit break variables).

Prints a final JSON line: agents, paid hours, LP bound (paid hours and agents), gap, seconds.
Run: .venv/bin/python bench/scheduling.py [--time-limit 30]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kefu.wfm.schedule import BreakRule, DaysOff, ShiftTemplate, required_staff, solve_schedule


def week_requirement() -> np.ndarray:
    hours = (np.arange(96) + 0.5) / 4
    day_shape = (
        0.06
        + np.exp(-(((hours - 10.5) / 1.6) ** 2))
        + 0.85 * np.exp(-(((hours - 15.0) / 2.0) ** 2))
        + 0.3 * np.exp(-(((hours - 20.5) / 1.5) ** 2))
    )
    level = [1.15, 1.05, 1.0, 0.98, 0.95, 0.6, 0.5]
    calls = np.array([620.0 * lv * day_shape for lv in level])  # calls per quarter-hour at peak
    return required_staff(calls, 300.0, 15, target=0.8, threshold_s=20.0)


TEMPLATE = ShiftTemplate(
    "9h",
    length_min=540,
    earliest_start_min=0,
    latest_start_min=1410,
    step_min=30,
    breaks=(
        BreakRule(15, 90, 150),
        BreakRule(30, 210, 270, paid=False),
        BreakRule(15, 360, 420),
    ),
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=30.0)
    args = parser.parse_args()
    required = week_requirement()
    result = solve_schedule(required, [TEMPLATE], DaysOff(5), 15, time_limit_s=args.time_limit)
    per_agent = 5 * TEMPLATE.paid_min() / 60
    out = {
        "intervals": int(required.size),
        "peak_required": int(required.max()),
        "agent_intervals": int(required.sum()),
        "columns": "tours 7x48 + implicit break placements",
        "status": result.status,
        "agents": result.agents,
        "paid_hours": round(result.paid_hours, 2),
        "lp_bound_hours": round(result.lp_bound, 2),
        "lp_bound_agents": round(result.lp_bound / per_agent, 2),
        "agents_lower_bound": math.ceil(result.lp_bound / per_agent - 1e-9),
        "gap": round(result.gap, 5),
        "seconds": round(result.seconds, 2),
        "understaffed_intervals": result.understaffed_intervals,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
