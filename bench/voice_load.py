"""Voice load on loopback: concurrent calls through Kamailio, call control and the pjsua2 media
server, within the PyPI wheel's limit (4 calls per media-server process = 2 bridged calls).

Each round dials ``--calls`` callers at once (one UA process each), each presses 1, reaches one
of ``--calls`` registered agents (one UA process each), talks ``--hold`` seconds and hangs up.
Reported (one JSON line per run): calls bridged, setup latency (INVITE → 200 at the caller),
DTMF → agent ringing, and the media server's CPU per bridged call from /proc/<pid>/stat.

  .venv/bin/python bench/voice_load.py --calls 2 --rounds 3 --hold 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.voice.stack import voice_stack

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--calls", type=int, default=2, help="concurrent calls (wheel limit: 2)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--hold", type=float, default=5.0)
    args = p.parse_args()
    if args.calls > 2:
        raise SystemExit("the PyPI pjsua2 wheel allows 4 calls (2 bridged) per media server")
    setup_ms: list[float] = []
    dtmf_to_ring_ms: list[float] = []
    bridged = 0
    attempted = 0
    media_cpu = 0.0
    bridged_seconds = 0.0
    with (
        tempfile.TemporaryDirectory() as tmp,
        voice_stack(Path(tmp), agents=args.calls) as stack,
    ):
        pid = stack.media_proc.pid
        for round_no in range(args.rounds):
            callers = [stack.caller(f"r{round_no}c{i}.wav") for i in range(args.calls)]
            sent = []
            for caller in callers:
                sent.append(time.monotonic())
                caller.send(op="call", uri=f"sip:4000@127.0.0.1:{stack.kamailio_port}")
            attempted += len(callers)
            # CLOCK_MONOTONIC is system-wide: the UAs' event stamps compare with ours
            for caller, at in zip(callers, sent, strict=True):
                setup_ms.append((caller.wait("confirmed", 15)["t"] - at) * 1000)
                caller.wait("media", 10)
            time.sleep(0.8)
            dtmf_at = []
            for caller in callers:
                dtmf_at.append(time.monotonic())
                caller.send(op="dtmf", digits="1", method="rfc4733")
            rung = [ua.wait("incoming", 15)["t"] for ua in stack.agent_uas[: args.calls]]
            dtmf_to_ring_ms += [
                (t - d) * 1000 for t, d in zip(sorted(rung), sorted(dtmf_at), strict=True)
            ]
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                connected = [c for c in stack.control.calls.values() if c.state == "connected"]
                if len(connected) == args.calls:
                    break
                time.sleep(0.05)
            bridged += len(connected)
            cpu0, t0 = cpu_seconds(pid), time.monotonic()
            time.sleep(args.hold)
            media_cpu += cpu_seconds(pid) - cpu0
            bridged_seconds += len(connected) * (time.monotonic() - t0)
            for caller in callers:
                caller.send(op="hangup")
            for caller in callers:
                caller.wait("disconnected", 10)
                caller.close()
            for ua in stack.agent_uas[: args.calls]:
                ua.wait("disconnected", 10)
            time.sleep(0.5)
    result = {
        "bench": "voice_load",
        "concurrent_calls": args.calls,
        "rounds": args.rounds,
        "attempted": attempted,
        "bridged": bridged,
        "setup_ms_p50": round(statistics.median(setup_ms), 1) if setup_ms else None,
        "setup_ms_max": round(max(setup_ms), 1) if setup_ms else None,
        "dtmf_to_agent_ring_ms_p50": round(statistics.median(dtmf_to_ring_ms), 1),
        "dtmf_to_agent_ring_ms_p95": round(pct(dtmf_to_ring_ms, 0.95), 1),
        "media_cpu_pct_per_bridged_call": round(100 * media_cpu / bridged_seconds, 2)
        if bridged_seconds
        else None,
        "loadavg_1m": float(Path("/proc/loadavg").read_text().split()[0]),
        "cores": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
