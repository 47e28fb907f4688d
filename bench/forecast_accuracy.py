"""Rolling-origin forecast accuracy on the two real bank data sets (evaluation data only).

Run: .venv/bin/python bench/forecast_accuracy.py [--quick]
Prints a table and, as the last line, a JSON object with WAPE/MASE per data set, horizon and
method. Origins: every day of the last ``--days`` days (default 70) for one day ahead, and
every day of the same span (with a full week after it) for one week ahead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.wfm_datasets import anonymous_bank, open_days, us_bank
from kefu.wfm.forecast import (
    DayHistory,
    backtest,
    forecast_volume,
    reforecast_intraday,
    same_slot_average,
)

METHODS = {
    "same_slot_8wk": lambda h, d: same_slot_average(h, d, weeks=8),
    "seasonal_naive": lambda h, d: same_slot_average(h, d, weeks=1),
    "same_slot_4wk": lambda h, d: same_slot_average(h, d, weeks=4),
    "kefu": lambda h, d: forecast_volume(h, d),
}


def run(days: int, step: int = 1) -> dict[str, object]:
    result: dict[str, object] = {}
    for name, loader, week in (
        ("us_bank_2003", us_bank, 5),
        ("anonymous_bank_1999", anonymous_bank, 7),
    ):
        history = loader()
        n = history.days
        for label, horizon in (("1d", 1), ("1w", week)):
            first = n - days - horizon if days else 70
            origins = [i for i in open_days(history) if first <= i][::step]
            started = time.perf_counter()
            scores = backtest(history, origins, horizon, METHODS)
            base = next(s for s in scores if s.method == "same_slot_8wk")
            for s in scores:
                key = f"{name}/{label}/{s.method}"
                result[key] = {
                    "wape": round(s.wape, 4),
                    "mase": round(s.mase, 3),
                    "origins": s.origins,
                    "vs_baseline": round(1 - s.wape / base.wape, 3),
                }
                print(
                    f"{key:45s} WAPE {s.wape:7.2%}  MASE {s.mase:6.3f}  origins {s.origins:3d}  "
                    f"rel. improvement {1 - s.wape / base.wape:+.1%}"
                )
            print(f"   ({time.perf_counter() - started:.1f} s)")
        # Intraday re-forecast: at the slot where half of the day's forecast volume is due, the
        # rest of the day with and without updating on the actuals so far.
        origins = [i for i in open_days(history) if i >= (n - days if days else 70)][::step]
        err = {"day_ahead": 0.0, "reforecast": 0.0}
        mass = 0.0
        for t in origins:
            past = DayHistory(history.start, history.volumes[:t])
            day_fc = forecast_volume(past, [history.day(t)])[0]
            cut = int(np.searchsorted(np.cumsum(day_fc), 0.5 * day_fc.sum()))
            actual = history.volumes[t]
            updated = reforecast_intraday(day_fc, actual, cut)
            err["day_ahead"] += float(np.abs(day_fc[cut:] - actual[cut:]).sum())
            err["reforecast"] += float(np.abs(updated[cut:] - actual[cut:]).sum())
            mass += float(actual[cut:].sum())
        for key, value in err.items():
            result[f"{name}/rest_of_day/{key}"] = {"wape": round(value / mass, 4)}
            print(f"{name}/rest_of_day/{key:12s} WAPE {value / mass:7.2%}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=70)
    parser.add_argument("--step", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(run(args.days, args.step)))
