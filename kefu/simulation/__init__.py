"""Digital twin: the real routing engine in virtual time (see docs/wfm.md, "Digital twin")."""

# First (kefu.core.native): the compiled modules run only when they match their sources.
import kefu.core.native_guard  # noqa: F401
from kefu.simulation.results import METRICS, Estimate, SimulationResult, compare, simulate
from kefu.simulation.scenario import (
    AgentGroup,
    Distribution,
    QueueDemand,
    RecordedArrival,
    Scenario,
    ScenarioError,
    Shift,
    add_agents,
    scenario_from_dict,
    with_strategy,
)
from kefu.simulation.simulator import Replication, run_replication

__all__ = [
    "METRICS",
    "AgentGroup",
    "Distribution",
    "Estimate",
    "QueueDemand",
    "RecordedArrival",
    "Replication",
    "Scenario",
    "ScenarioError",
    "Shift",
    "SimulationResult",
    "add_agents",
    "compare",
    "run_replication",
    "scenario_from_dict",
    "simulate",
    "with_strategy",
]
