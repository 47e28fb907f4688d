"""Staffing speed: kefu.wfm.erlang against pyworkforce, the best existing Python library.

Run by hand: .venv/bin/python bench/erlang.py [--repeat N]
The baseline runs in a throwaway venv under the temp directory (created on first use with
Python ≥ 3.12, which pyworkforce 0.5.4 needs; set KEFU_BENCH_PYTHON to choose the interpreter)
through a subprocess that runs its own timing loop. Both sides answer the same questions: agents
for 80/20 at AHT 300 s and 1k / 20k / 100k calls per hour (Erlang C), and with patience 120 s and
at most 5 % abandonment (Erlang A; pyworkforce only at 1k calls/h, it needs seconds beyond).
Times are medians of repeated calls (time.perf_counter). The last line is a JSON object.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kefu.wfm.erlang import agents_for_erlang_a, agents_for_service_level, offered_load

BASELINE = "pyworkforce==0.5.4"
VENV = Path(tempfile.gettempdir()) / "kefu-bench-erlang-venv"
AHT_S, THRESHOLD_S, TARGET, PATIENCE_S, MAX_ABANDON = 300.0, 20.0, 0.8, 120.0, 0.05
CASES = [  # (name, model, calls per hour, run the baseline)
    ("erlang_c_1k", "C", 1_000, True),
    ("erlang_c_20k", "C", 20_000, True),
    ("erlang_c_100k", "C", 100_000, True),
    ("erlang_a_1k", "A", 1_000, True),
    ("erlang_a_20k", "A", 20_000, False),
    ("erlang_a_100k", "A", 100_000, False),
]
HEADLINE = "erlang_c_100k"

# Runs inside the baseline venv: pyworkforce works in minutes and per-interval volumes.
BASELINE_SCRIPT = r"""
import json, statistics, sys, time
from pyworkforce.queuing import ErlangA, ErlangC

cases, repeat, budget = json.loads(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
out = {}
for name, model, calls, aht_s, t_s, target, patience_s, max_ab in cases:
    kwargs = dict(transactions=calls / 2, aht=aht_s / 60, asa=t_s / 60, interval=30)
    if model == "C":
        solve = lambda: ErlangC(**kwargs).required_positions(service_level=target)
    else:
        solve = lambda: ErlangA(patience=patience_s / 60, **kwargs).required_positions(
            service_level=target, max_abandonment=max_ab)
    times, answer, start = [], None, time.perf_counter()
    while len(times) < repeat and (len(times) < 3 or time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        answer = solve()["raw_positions"]
        times.append(time.perf_counter() - t0)
    out[name] = {"agents": answer, "median_ms": 1e3 * statistics.median(times), "runs": len(times)}
print(json.dumps(out))
"""


def _python_312() -> str:
    """An interpreter that can run pyworkforce (Python ≥ 3.12)."""
    home = Path.home()
    candidates = [
        os.environ.get("KEFU_BENCH_PYTHON", ""),
        "python3.12",
        "python3.13",
        *sorted(glob.glob(str(home / ".pyenv/versions/3.1[2-9]*/bin/python3"))),
        "/usr/bin/python3",
    ]
    for candidate in filter(None, candidates):
        try:
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info >= (3, 12))"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return candidate
    raise SystemExit("no Python >= 3.12 found for pyworkforce; set KEFU_BENCH_PYTHON")


def _baseline_python() -> Path:
    """The venv's interpreter, creating the venv and installing the baseline if needed."""
    python = VENV / "bin" / "python"
    check = [str(python), "-c", "import pyworkforce.queuing"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"creating {VENV} with {BASELINE} (one time) ...", file=sys.stderr)
    subprocess.run([_python_312(), "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", BASELINE], check=True)
    return python


def _median_ms(solve: Callable[[], int], repeat: int) -> tuple[int, float]:
    answer = solve()  # warm-up (imports, caches)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        answer = solve()
        times.append(time.perf_counter() - start)
    return answer, 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300, help="timed calls per case (ours)")
    parser.add_argument("--baseline-repeat", type=int, default=30, help="timed calls (theirs)")
    parser.add_argument("--baseline-budget-s", type=float, default=20.0, help="per case cap")
    args = parser.parse_args()

    ours: dict[str, tuple[int, float]] = {}
    for name, model, calls, _ in CASES:
        load = offered_load(calls, 3600.0, AHT_S)
        if model == "C":

            def solve(load: float = load) -> int:
                return agents_for_service_level(load, AHT_S, THRESHOLD_S, TARGET)
        else:

            def solve(load: float = load) -> int:
                return agents_for_erlang_a(
                    load, AHT_S, PATIENCE_S, THRESHOLD_S, TARGET, max_abandon=MAX_ABANDON
                )

        ours[name] = _median_ms(solve, args.repeat)

    python = _baseline_python()
    payload = [
        (name, model, calls, AHT_S, THRESHOLD_S, TARGET, PATIENCE_S, MAX_ABANDON)
        for name, model, calls, run in CASES
        if run
    ]
    done = subprocess.run(
        [
            str(python),
            "-c",
            BASELINE_SCRIPT,
            json.dumps(payload),
            str(args.baseline_repeat),
            str(args.baseline_budget_s),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    version = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    rows = []
    header = ("case", "load", "ours", "theirs", "ours ms", "theirs ms", "x")
    print("{:15} {:>9} {:>6} {:>6} {:>9} {:>10} {:>8}".format(*header))
    for name, model, calls, _ in CASES:
        agents, ms = ours[name]
        base = theirs.get(name)
        row = {
            "case": name,
            "model": f"Erlang {model}",
            "calls_per_hour": calls,
            "load_erlangs": round(offered_load(calls, 3600.0, AHT_S), 3),
            "agents": agents,
            "ours_ms": round(ms, 4),
        }
        if base is not None:
            row |= {
                "baseline_agents": base["agents"],
                "baseline_ms": round(base["median_ms"], 3),
                "baseline_runs": base["runs"],
                "speedup": round(base["median_ms"] / ms, 1),
                "same_answer": base["agents"] == agents,
            }
        rows.append(row)
        print(
            f"{name:15} {row['load_erlangs']:9.1f} {agents:6d} "
            f"{row.get('baseline_agents', '-'):>6} {ms:9.4f} "
            f"{row.get('baseline_ms', '-'):>10} {row.get('speedup', '-'):>8}"
        )

    head = next(row for row in rows if row["case"] == HEADLINE)
    print(
        json.dumps(
            {
                "ours_ms": head["ours_ms"],
                "baseline_ms": head["baseline_ms"],
                "speedup": head["speedup"],
                "headline_case": {
                    "model": "Erlang C, 80/20, AHT 300 s",
                    "calls_per_hour": head["calls_per_hour"],
                    "load_erlangs": head["load_erlangs"],
                    "agents": head["agents"],
                },
                "cases": rows,
                "baseline": f"{BASELINE} (Python {version})",
                "ours_python": platform.python_version(),
                "repeat": args.repeat,
            }
        )
    )


if __name__ == "__main__":
    main()
