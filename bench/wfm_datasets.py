"""Loaders for the real evaluation data in ../shared/data/wfm (never shipped with the product).

Both series become a :class:`kefu.wfm.forecast.DayHistory` of 30-minute slots over consecutive
local days (closed days and intervals are zeros):

- ``us_bank``: the US commercial bank (Weinberg, Brown & Stroud 2007; fpp3 ``bank_calls``),
  calls handled per 5 min on weekdays 07:00-21:00 (the lone 21:00 five-minute bucket is left out),
  2003-03-03 .. 2003-10-24. Weekends and six weekday holidays are absent, i.e. zero.
- ``anonymous_bank``: the Israeli "Anonymous Bank" (Brown et al. 2005), all calls per 6 minutes,
  24x7, the whole of 1999 (Rfssa ``Callcenter``).
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import numpy as np

from kefu.wfm.forecast import DayHistory

ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """../shared/data/wfm beside the repository (CI keeps a copy of shared/ there)."""
    for candidate in (ROOT.parent / "shared" / "data" / "wfm", Path("/work/shared/data/wfm")):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"evaluation data not found: expected {ROOT.parent / 'shared' / 'data' / 'wfm'} "
        "(a copy of the shared/ folder beside the repository)"
    )


def us_bank(slot_min: int = 30) -> DayHistory:
    path = shared_data_dir() / "fpp3_bank_calls" / "bank_calls.csv"
    per_day = 1440 // slot_min
    by_day: dict[date, np.ndarray] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            moment = datetime.fromisoformat(row["DateTime"].replace("Z", "+00:00"))
            minute = moment.hour * 60 + moment.minute
            if minute >= 21 * 60:
                continue
            slots = by_day.setdefault(moment.date(), np.zeros(per_day))
            slots[minute // slot_min] += float(row["Calls"])
    first, last = min(by_day), max(by_day)
    n = (last - first).days + 1
    volumes = np.zeros((n, per_day))
    for day, slots in by_day.items():
        volumes[(day - first).days] = slots
    return DayHistory(first, volumes)


def anonymous_bank(slot_min: int = 30) -> DayHistory:
    path = shared_data_dir() / "rfssa_callcenter_6min" / "callcenter_1999_6min.csv"
    with path.open(newline="") as handle:
        values = np.array([float(row["calls"]) for row in csv.DictReader(handle)])
    per_slot = slot_min // 6
    days = values.size // 240
    volumes = values.reshape(days, 1440 // slot_min, per_slot).sum(axis=2)
    return DayHistory(date(1999, 1, 1), volumes)


def anonymous_bank_aht() -> DayHistory:
    """Offered calls and mean handle time per 30 min (January and October 1999 separately)."""
    path = shared_data_dir() / "anonymous_bank_1999" / "derived_queue_30min.csv"
    rows = list(csv.DictReader(path.open(newline="")))
    first = datetime.fromisoformat(rows[0]["interval_start"]).date()
    last = datetime.fromisoformat(rows[-1]["interval_start"]).date()
    n = (last - first).days + 1
    vol = np.zeros((n, 48))
    aht = np.full((n, 48), np.nan)
    for row in rows:
        moment = datetime.fromisoformat(row["interval_start"])
        i, s = (moment.date() - first).days, (moment.hour * 60 + moment.minute) // 30
        vol[i, s] = float(row["answered"])
        if row["mean_handle_s"]:
            aht[i, s] = float(row["mean_handle_s"])
    return DayHistory(first, vol, aht)


def open_days(history: DayHistory) -> list[int]:
    """Indexes of days with any volume."""
    return [i for i in range(history.days) if float(history.volumes[i].sum()) > 0]
