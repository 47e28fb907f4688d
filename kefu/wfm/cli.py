"""``kefu wfm ...`` commands (registered by kefu/cli.py)."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kefu.core.calendar import BusinessCalendar
from kefu.wfm.forecast import calendar_special_days
from kefu.wfm.history import (
    ALLOWED_INTERVALS,
    HistoryCsvError,
    forecast_rows,
    parse_history_csv,
    write_forecast_csv,
)

console = Console(stderr=True)


@click.group()
def wfm() -> None:
    """Workforce management: forecasting and scheduling."""


@wfm.command("forecast")
@click.option(
    "--history",
    "history_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV with interval_start,queue,offered[,aht_s] (ISO-8601 with offset).",
)
@click.option("--horizon-days", required=True, type=click.IntRange(1, 366))
@click.option(
    "--interval-min", required=True, type=click.Choice([str(m) for m in ALLOWED_INTERVALS])
)
@click.option(
    "--start",
    default=None,
    help="First interval (ISO-8601 with offset); default: the interval after the history ends.",
)
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--timezone",
    default="Asia/Shanghai",
    show_default=True,
    help="Local time zone of the business days.",
)
@click.option(
    "--queues", default=None, help="Comma-separated known queue codes; others are errors."
)
@click.option(
    "--no-holidays", is_flag=True, help="Do not use Chinese public holidays and 调休 days."
)
def forecast_command(
    history_path: Path,
    horizon_days: int,
    interval_min: str,
    start: str | None,
    out_path: Path,
    timezone: str,
    queues: str | None,
    no_holidays: bool,
) -> None:
    """Forecast contacts (and AHT) per interval and queue from a history CSV."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise click.BadParameter(
            f"unknown time zone {timezone!r}", param_hint="--timezone"
        ) from exc
    begin: datetime | None = None
    if start is not None:
        try:
            begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError as exc:
            raise click.BadParameter(f"not ISO-8601: {start!r}", param_hint="--start") from exc
        if begin.tzinfo is None:
            raise click.BadParameter(
                "needs a time-zone offset, e.g. 2026-03-02T00:00:00+08:00", param_hint="--start"
            )
    known = [q.strip() for q in queues.split(",") if q.strip()] if queues else None
    try:
        text = history_path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise click.FileError(str(history_path), hint=str(exc)) from exc
    try:
        history = parse_history_csv(text, int(interval_min), zone, known)
    except HistoryCsvError as exc:
        console.print(f"[red]{history_path}: {len(exc.problems)} problem(s):")
        for problem in exc.problems:
            console.print(f"  {problem}", markup=False, highlight=False)
        sys.exit(2)
    for warning in history.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    special = None
    if not no_holidays:
        last = history.last_start
        first = min(t for rows in history.offered.values() for t in rows)
        assert last is not None
        calendar = BusinessCalendar(timezone=timezone)
        end = (begin or last).astimezone(zone).date() + timedelta(days=horizon_days + 1)
        special = calendar_special_days(calendar, first.astimezone(zone).date(), end)
    with Progress(
        TextColumn("[bold]Forecasting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("queues"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("forecast", total=len(history.queues))
        try:
            rows = forecast_rows(
                history,
                horizon_days,
                zone,
                begin,
                special,
                on_queue=lambda _q: progress.advance(task),
            )
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    out_path.write_text(write_forecast_csv(rows, history.has_aht), encoding="utf-8")
    console.print(f"[green]Wrote {len(rows)} rows for {len(history.queues)} queue(s) to {out_path}")
