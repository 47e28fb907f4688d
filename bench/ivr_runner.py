"""IVR engine cost: validating the demo hotline flow, and running random callers through it.

Prints JSON lines: validation time per flow, sessions per second and inputs per second of the
pure runner (one core), so the text bot / call control overhead per caller can be judged.
Bounded: a few seconds.
"""

from __future__ import annotations

import json
import random
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from kefu.ivr.demo import HOTLINE
from kefu.ivr.flows import check, parse_flow
from kefu.ivr.runner import IvrSession

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def main(sessions: int = 20_000) -> None:
    definition = {k: v for k, v in HOTLINE.items() if k != "name"}
    start = time.perf_counter()
    for _ in range(200):
        check(definition)
    per_check = (time.perf_counter() - start) / 200
    print(
        json.dumps(
            {
                "bench": "ivr_validate",
                "nodes": len(definition["nodes"]),
                "ms_per_flow": round(per_check * 1000, 3),
            }
        )
    )
    flow = parse_flow(definition)
    rng = random.Random(1)
    inputs = 0
    start = time.perf_counter()
    for _ in range(sessions):
        s = IvrSession(
            flow, caller={"phone": "13800000000"}, local_now=NOW, is_workday=True, is_holiday=False
        )
        s.start()
        while not s.finished:
            inputs += 1
            if s.waiting_for == "lookup":
                s.lookup_result({"balance": "1", "month_fee": "2", "remaining_gb": "3"})
            elif rng.random() < 0.1:
                s.timeout()
            else:
                s.digits(rng.choice("0123456789*#"))
    elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {
                "bench": "ivr_sessions",
                "sessions": sessions,
                "inputs": inputs,
                "sessions_per_s": round(sessions / elapsed),
                "inputs_per_s": round(inputs / elapsed),
                "us_per_input": round(elapsed / inputs * 1e6, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
