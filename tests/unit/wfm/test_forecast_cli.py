"""``kefu wfm forecast``: the CSV in, the forecast CSV out, bad files reported row by row."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from kefu.cli import main
from kefu.wfm.synthetic import SyntheticQueue, synthetic_rows

pytestmark = pytest.mark.unit
SH = ZoneInfo("Asia/Shanghai")


def _history_csv(path: Path, days: int = 56, with_aht: bool = True) -> Path:
    queues = [SyntheticQueue("sales", 800, 240), SyntheticQueue("support", 400, 360)]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["interval_start", "queue", "offered", *(["aht_s"] if with_aht else [])])
        for start, queue, offered, aht in synthetic_rows(queues, date(2026, 3, 2), days):
            cells = [start.astimezone(SH).isoformat(), queue, offered]
            writer.writerow(cells + ([aht] if with_aht else []))
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["wfm", "forecast", *args])
    return result.exit_code, result.output


def test_forecast_writes_every_interval_of_the_horizon(tmp_path: Path) -> None:
    history = _history_csv(tmp_path / "h.csv")
    out = tmp_path / "f.csv"
    code, output = _run(
        "--history", str(history), "--horizon-days", "7", "--interval-min", "30", "--out", str(out)
    )
    assert code == 0, output
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["interval_start", "queue", "forecast", "aht_s"]
    assert len(rows) == 2 * 7 * 48
    first = datetime.fromisoformat(rows[0]["interval_start"])
    # the history's last row is Sunday 21:30: the horizon starts at the next interval
    assert first == datetime(2026, 4, 26, 22, 0, tzinfo=SH)
    sales = [r for r in rows if r["queue"] == "sales"]
    assert all(float(r["forecast"]) == 0 for r in sales[:4])  # closed after 22:00
    monday = sales[4 : 4 + 48]
    assert monday[0]["interval_start"] == "2026-04-27T00:00:00+08:00"
    assert 700 < sum(float(r["forecast"]) for r in monday) < 1200  # ~800 calls a Wednesday
    assert all(float(r["forecast"]) == 0 for r in monday[:12])  # closed at night
    assert float(monday[22]["aht_s"]) == pytest.approx(240, rel=0.15)


def test_start_and_hourly_intervals(tmp_path: Path) -> None:
    history = _history_csv(tmp_path / "h.csv", with_aht=False)
    out = tmp_path / "f.csv"
    code, output = _run(
        "--history",
        str(history),
        "--horizon-days",
        "1",
        "--interval-min",
        "60",
        "--start",
        "2026-05-04T09:00:00+08:00",
        "--out",
        str(out),
    )
    assert code == 0, output
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["interval_start", "queue", "forecast"]
    assert len(rows) == 2 * 24
    assert rows[0]["interval_start"] == "2026-05-04T09:00:00+08:00"
    assert rows[-1]["interval_start"] == "2026-05-05T08:00:00+08:00"


def test_bad_rows_are_reported_one_by_one(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "interval_start,queue,offered\n"
        "2026-03-02T09:00:00+08:00,sales,10\n"
        "2026-03-02T09:00:00+08:00,sales,12\n"  # line 3: duplicate of line 2
        "2026-03-02T09:30:00,sales,5\n"  # line 4: no offset
        "2026-03-02T10:00:00+08:00,sales,-3\n"  # line 5: negative
        "2026-03-02T10:10:00+08:00,sales,4\n"  # line 6: off the 15-minute grid
        "2026-03-02T10:30:00+08:00,billing,4\n"  # line 7: unknown queue
        "yesterday,sales,4\n"  # line 8: not a timestamp
    )
    code, output = _run(
        "--history",
        str(bad),
        "--horizon-days",
        "1",
        "--interval-min",
        "30",
        "--queues",
        "sales,support",
        "--out",
        str(tmp_path / "f.csv"),
    )
    assert code == 2
    text = " ".join(output.split())
    assert "line 3, interval_start: duplicate of line 2" in text
    assert "line 4, interval_start: '2026-03-02T09:30:00' has no time-zone offset" in text
    assert "line 5, offered: negative value -3" in text
    assert "line 6, interval_start: 2026-03-02T10:10:00+08:00 is not on the 15-minute grid" in text
    assert "line 7, queue: unknown queue 'billing'" in text
    assert "line 8, interval_start: not an ISO-8601 timestamp: 'yesterday'" in text
    assert not (tmp_path / "f.csv").exists()


def test_gaps_are_warnings_and_count_as_zero(tmp_path: Path) -> None:
    path = tmp_path / "gap.csv"
    lines = ["interval_start,queue,offered"]
    for day in (2, 3, 4, 5, 6, 16, 17, 18):
        lines.append(f"2026-03-{day:02d}T10:00:00+08:00,sales,10")
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "f.csv"
    code, output = _run(
        "--history", str(path), "--horizon-days", "1", "--interval-min", "60", "--out", str(out)
    )
    assert code == 0, output
    assert "warning" in output and "line 7" in output and "no rows between" in output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 24


def test_a_coarser_history_than_the_intervals_is_refused(tmp_path: Path) -> None:
    history = _history_csv(tmp_path / "h.csv", days=14, with_aht=False)
    hourly = tmp_path / "hourly.csv"
    rows = [r for r in history.read_text().splitlines() if ":30:00" not in r]
    hourly.write_text("\n".join(rows) + "\n")
    code, output = _run(
        "--history",
        str(hourly),
        "--horizon-days",
        "1",
        "--interval-min",
        "30",
        "--out",
        str(tmp_path / "f.csv"),
    )
    assert code == 2
    assert "the history has 60-minute rows" in " ".join(output.split())


def test_header_problems(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("time,queue,calls\n")
    code, output = _run(
        "--history",
        str(path),
        "--horizon-days",
        "1",
        "--interval-min",
        "30",
        "--out",
        str(tmp_path / "f.csv"),
    )
    assert code == 2
    assert "missing column(s): interval_start, offered" in output
