"""``kefu simulate``: run a digital-twin scenario with replications (registered by kefu/cli.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kefu.simulation.scenario import Scenario, ScenarioError, scenario_from_dict

console = Console(stderr=True)


def _load(path: Path | None, demo: bool) -> Scenario:
    if demo == (path is not None):
        raise click.UsageError("give exactly one of --scenario FILE.json or --demo")
    if demo:
        from kefu.simulation.demo import demo_scenario

        return demo_scenario()
    assert path is not None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise click.UsageError(f"cannot read scenario {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise click.UsageError("the scenario file must hold a JSON object")
    return scenario_from_dict(raw)


@click.command("simulate")
@click.option(
    "--scenario",
    "scenario_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Scenario JSON (see docs/wfm.md, Digital twin).",
)
@click.option("--demo", is_flag=True, help="Run the built-in demo center.")
@click.option("--replications", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write per-interval and per-queue results (mean and 95% CI) as CSV.",
)
def simulate_command(
    scenario_path: Path | None, demo: bool, replications: int, seed: int, out_path: Path | None
) -> None:
    """Simulate a scenario with the real routing engine in virtual time."""
    from kefu.simulation.results import simulate

    try:
        scenario = _load(scenario_path, demo)
    except ScenarioError as exc:
        console.print(f"[red]Scenario error:[/] {escape(str(exc))}")
        sys.exit(2)
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(f"Simulating {scenario.name}", total=replications)
        result = simulate(
            scenario,
            replications=replications,
            seed=seed,
            progress=lambda done: progress.update(task, completed=done),
        )
    table = Table(title=f"{scenario.name}: {replications} replications, 95% CI")
    for col in ("queue", "offered", "SL F3", "SL offered", "ASA s", "P(abandon)", "occupancy"):
        table.add_column(col, justify="right")
    for qid in [*(q.config.queue_id for q in scenario.queues), None]:

        def cell(metric: str, pct: bool, qid: str | None = qid) -> str:
            e = result.estimate(metric, queue_id=qid)
            scale = 100 if pct else 1
            return (
                f"{e.mean * scale:.1f} ± {e.ci * scale:.1f}" if e.n > 1 else f"{e.mean * scale:.1f}"
            )

        table.add_row(
            qid or "all",
            cell("offered", False),
            cell("sl_f3", True),
            cell("sl_offered", True),
            cell("asa_s", False),
            cell("p_abandon", True),
            cell("occupancy", True),
        )
    Console().print(table)
    if out_path is not None:
        out_path.write_text(result.to_csv(), encoding="utf-8")
        console.print(f"[green]Wrote {out_path}")
