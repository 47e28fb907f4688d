"""Digital-twin scenarios: the center as configured (queues, agents, schedules) plus demand.

A :class:`Scenario` reuses the routing engine's own configuration objects
(:class:`~kefu.routing.QueueConfig`, :class:`~kefu.routing.AgentProfile` fields), adds
what the live system gets from the outside world (arrivals, handle times, customer patience,
agent schedules) and is plain data: :func:`scenario_from_dict` reads the JSON form used by
``kefu simulate --scenario FILE.json``. Times inside a scenario are seconds from ``start``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from kefu.core.clock import ensure_utc
from kefu.routing import (
    AgentProfile,
    Media,
    OverflowStep,
    QueueConfig,
    RoutingError,
    ServiceLevel,
    SlaStep,
    Strategy,
    Weights,
)

__all__ = [
    "AgentGroup",
    "Distribution",
    "QueueDemand",
    "RecordedArrival",
    "Scenario",
    "ScenarioError",
    "Shift",
    "add_agents",
    "scenario_from_dict",
    "with_strategy",
]

Rng = np.random.Generator
FloatArray = np.ndarray[tuple[int], np.dtype[np.float64]]


class ScenarioError(ValueError):
    """A scenario that cannot be simulated; ``field`` names the offending part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _number(value: object, what: str, *, minimum: float = 0.0, inf: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(what, "must be a number")
    number = float(value)
    if math.isnan(number) or (math.isinf(number) and not inf) or number < minimum:
        raise ScenarioError(what, f"must be a finite number >= {minimum}")
    return number


@dataclass(frozen=True)
class Distribution:
    """A positive random duration in seconds.

    kinds: ``fixed`` (value), ``exponential`` (mean), ``lognormal`` (mean and sd of the duration
    itself, not of its logarithm), ``empirical`` (resampled from recorded ``samples``).
    ``exponential`` with mean ``inf`` never happens (infinitely patient customers).
    """

    kind: str
    mean: float = 0.0
    sd: float = 0.0
    samples: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("fixed", "exponential", "lognormal", "empirical"):
            raise ScenarioError("distribution.kind", f"unknown kind {self.kind!r}")
        if self.kind == "empirical":
            if not self.samples:
                raise ScenarioError("distribution.samples", "empirical needs samples")
            for s in self.samples:
                _number(s, "distribution.samples")
        else:
            _number(self.mean, "distribution.mean", inf=self.kind == "exponential")
        if self.kind == "lognormal" and (
            self.mean <= 0 or _number(self.sd, "distribution.sd") <= 0
        ):
            raise ScenarioError("distribution", "lognormal needs mean > 0 and sd > 0")

    @staticmethod
    def fixed(value: float) -> Distribution:
        return Distribution("fixed", mean=value)

    @staticmethod
    def exponential(mean: float) -> Distribution:
        return Distribution("exponential", mean=mean)

    @staticmethod
    def lognormal(mean: float, sd: float) -> Distribution:
        return Distribution("lognormal", mean=mean, sd=sd)

    @staticmethod
    def empirical(samples: Sequence[float]) -> Distribution:
        return Distribution("empirical", samples=tuple(float(s) for s in samples))

    @property
    def expected(self) -> float:
        if self.kind == "empirical":
            return float(np.mean(self.samples))
        return self.mean

    def sample(self, rng: Rng, n: int) -> FloatArray:
        """``n`` independent draws (numpy, vectorised)."""
        if self.kind == "fixed":
            return np.full(n, self.mean)
        if self.kind == "exponential":
            if math.isinf(self.mean):
                return np.full(n, math.inf)
            return rng.exponential(self.mean, n)
        if self.kind == "lognormal":
            sigma2 = math.log1p((self.sd / self.mean) ** 2)
            mu = math.log(self.mean) - sigma2 / 2
            return rng.lognormal(mu, math.sqrt(sigma2), n)
        return rng.choice(np.asarray(self.samples, dtype=np.float64), n)


@dataclass(frozen=True)
class RecordedArrival:
    """One recorded contact to replay: arrival (s from start), its queue, how long it was
    handled and, when known, how long the customer was willing to wait (None: sample)."""

    at_s: float
    queue_id: str
    handle_s: float
    patience_s: float | None = None
    priority: float = 0.0


@dataclass(frozen=True)
class QueueDemand:
    """A queue exactly as configured in the center, plus its demand.

    ``volumes[k]`` = expected contacts arriving in interval k (time-varying Poisson, constant
    rate inside an interval); ignored when the scenario replays recorded arrivals. Customers who
    run out of patience abandon, or with probability ``callback_share`` ask for a callback in
    place (voice queues that take callbacks). ``vip_share`` of contacts get priority +20.
    """

    config: QueueConfig
    volumes: tuple[float, ...] = ()
    handle: Distribution = field(default_factory=lambda: Distribution.exponential(180.0))
    patience: Distribution = field(default_factory=lambda: Distribution.exponential(math.inf))
    wrap: Distribution | None = None
    media: Media | None = None
    callback_share: float = 0.0
    vip_share: float = 0.0

    def __post_init__(self) -> None:
        qid = self.config.queue_id
        for k, v in enumerate(self.volumes):
            _number(v, f"queues[{qid}].volumes[{k}]")
        if not 0.0 <= _number(self.callback_share, f"queues[{qid}].callback_share") <= 1.0:
            raise ScenarioError(f"queues[{qid}].callback_share", "must be in [0, 1]")
        if not 0.0 <= _number(self.vip_share, f"queues[{qid}].vip_share") <= 1.0:
            raise ScenarioError(f"queues[{qid}].vip_share", "must be in [0, 1]")
        if self.media is not None and self.media not in self.config.media:
            raise ScenarioError(f"queues[{qid}].media", f"queue does not take {self.media}")

    @property
    def medium(self) -> Media:
        return self.media or self.config.media[0]


@dataclass(frozen=True)
class Shift:
    """Logged in from ``start_s`` to ``end_s``; each break is (start_s, duration_s) not ready
    with reason "break". An agent busy at a break or at the shift end finishes the contact first
    (the engine stops new offers at once)."""

    start_s: float
    end_s: float
    breaks: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        if _number(self.end_s, "shift.end_s") <= _number(self.start_s, "shift.start_s"):
            raise ScenarioError("shift", "end_s must be after start_s")
        for b_start, b_len in self.breaks:
            _number(b_start, "shift.breaks.start_s")
            _number(b_len, "shift.breaks.duration_s")


@dataclass(frozen=True)
class AgentGroup:
    """``count`` agents with the same routing profile, following ``shifts`` (each agent works
    every shift) or, instead, a ``staffing`` curve: how many of them are logged in per interval
    (as when replaying a recorded day with its actual staffing)."""

    name: str
    count: int
    site: str = "main"
    team: str = ""
    skills: Mapping[str, int] = field(default_factory=dict)
    capacity: Mapping[Media, int] = field(
        default_factory=lambda: {Media.VOICE: 1, Media.CALLBACK: 1}
    )
    shifts: tuple[Shift, ...] = ()
    staffing: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.name:
            raise ScenarioError("agents.group", "a group needs a name")
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 0:
            raise ScenarioError(f"agents[{self.name}].count", "must be an integer >= 0")
        if self.shifts and self.staffing:
            raise ScenarioError(f"agents[{self.name}]", "give shifts or staffing, not both")
        for k, n in enumerate(self.staffing):
            if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= self.count:
                raise ScenarioError(f"agents[{self.name}].staffing[{k}]", "must be 0..count")
        self.profile(0)  # validates skills and capacity with the engine's own rules

    def profile(self, index: int) -> AgentProfile:
        return AgentProfile(
            agent_id=f"{self.name}-{index:04d}",
            site=self.site,
            team=self.team,
            skills=dict(self.skills),
            capacity=dict(self.capacity),
        )


@dataclass(frozen=True)
class Scenario:
    """A day (or any horizon) of the center: ``intervals`` reporting intervals of ``interval_s``
    seconds from ``start``. Contacts still open at the end are followed for ``drain_s`` more.
    Agents answer an offer after ``ring_delay`` and, after a missed offer, are ready again
    ``missed_ready_s`` later."""

    queues: tuple[QueueDemand, ...]
    agents: tuple[AgentGroup, ...]
    start: datetime = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
    interval_s: int = 1800
    intervals: int = 48
    name: str = "scenario"
    replay: tuple[RecordedArrival, ...] | None = None
    ring_delay: Distribution = field(default_factory=lambda: Distribution.fixed(0.0))
    missed_ready_s: float = 10.0
    drain_s: float = 3600.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", ensure_utc(self.start))
        if not self.queues:
            raise ScenarioError("queues", "at least one queue")
        ids = [q.config.queue_id for q in self.queues]
        if len(set(ids)) != len(ids):
            raise ScenarioError("queues", "queue ids must be unique")
        names = [g.name for g in self.agents]
        if len(set(names)) != len(names):
            raise ScenarioError("agents", "group names must be unique")
        if (
            isinstance(self.interval_s, bool)
            or not isinstance(self.interval_s, int)
            or self.interval_s <= 0
        ):
            raise ScenarioError("interval_s", "must be a positive integer")
        if (
            isinstance(self.intervals, bool)
            or not isinstance(self.intervals, int)
            or self.intervals <= 0
        ):
            raise ScenarioError("intervals", "must be a positive integer")
        for q in self.queues:
            if self.replay is None and len(q.volumes) != self.intervals:
                raise ScenarioError(
                    f"queues[{q.config.queue_id}].volumes",
                    f"needs {self.intervals} values, one per interval",
                )
        for g in self.agents:
            if g.staffing and len(g.staffing) != self.intervals:
                raise ScenarioError(
                    f"agents[{g.name}].staffing", f"needs {self.intervals} values, one per interval"
                )
        if self.replay is not None:
            known = set(ids)
            for i, r in enumerate(self.replay):
                if r.queue_id not in known:
                    raise ScenarioError(f"replay[{i}].queue_id", f"unknown queue {r.queue_id!r}")
        _number(self.missed_ready_s, "missed_ready_s")
        _number(self.drain_s, "drain_s")

    @property
    def horizon_s(self) -> float:
        return float(self.interval_s * self.intervals)


# -- what-if -------------------------------------------------------------------------------------


def add_agents(
    scenario: Scenario,
    count: int,
    *,
    like: str,
    from_s: float,
    until_s: float | None = None,
    name: str = "extra",
) -> Scenario:
    """What if ``count`` more agents, with the profile of group ``like``, worked from ``from_s``
    (seconds from start) until ``until_s`` (default: the end of the horizon)?"""
    base = next((g for g in scenario.agents if g.name == like), None)
    if base is None:
        raise ScenarioError("like", f"no agent group {like!r}")
    end = scenario.horizon_s if until_s is None else until_s
    extra = replace(base, name=name, count=count, staffing=(), shifts=(Shift(from_s, end),))
    return replace(scenario, agents=(*scenario.agents, extra), name=f"{scenario.name}+{count}")


def with_strategy(scenario: Scenario, strategy: str, queue_ids: Sequence[str] = ()) -> Scenario:
    """What if these queues (default: all) routed with another strategy?"""
    queues = tuple(
        replace(q, config=replace(q.config, strategy=Strategy(strategy)))
        if not queue_ids or q.config.queue_id in queue_ids
        else q
        for q in scenario.queues
    )
    return replace(scenario, queues=queues, name=f"{scenario.name}/{strategy}")


# -- JSON form -----------------------------------------------------------------------------------


def _dist(raw: object, what: str) -> Distribution:
    if not isinstance(raw, Mapping):
        raise ScenarioError(what, 'must be an object like {"kind": "exponential", "mean": 180}')
    try:
        kind = str(raw["kind"])
        if kind == "empirical":
            return Distribution.empirical([float(s) for s in raw["samples"]])
        mean = raw.get("mean", raw.get("value", 0.0))
        if mean == "inf":
            mean = math.inf
        return Distribution(kind, mean=mean, sd=raw.get("sd", 0.0))
    except (KeyError, TypeError) as exc:
        raise ScenarioError(what, f"missing or malformed {exc}") from exc
    except ScenarioError as exc:
        raise ScenarioError(
            f"{what}.{exc.field.split('.')[-1]}", str(exc).split(": ", 1)[-1]
        ) from exc


def _queue_config(raw: Mapping[str, Any]) -> QueueConfig:
    data = dict(raw)
    if "overflow" in data:
        data["overflow"] = tuple(OverflowStep(**step) for step in data["overflow"])
    if "service_level" in data:
        data["service_level"] = ServiceLevel(**data["service_level"])
    if "weights" in data:
        data["weights"] = Weights(**data["weights"])
    if "sla_steps" in data:
        data["sla_steps"] = tuple(SlaStep(**step) for step in data["sla_steps"])
    if "media" in data:
        data["media"] = tuple(Media(m) for m in data["media"])
    if "sites" in data:
        data["sites"] = tuple(data["sites"])
    return QueueConfig(**data)


def scenario_from_dict(raw: Mapping[str, Any]) -> Scenario:
    """Build a scenario from its JSON form (see docs/wfm.md, "Digital twin")."""
    try:
        queues = []
        for i, q in enumerate(raw["queues"]):
            what = f"queues[{i}]"
            try:
                config = _queue_config(q["config"])
            except RoutingError as exc:
                raise ScenarioError(f"{what}.config", str(exc)) from exc
            except TypeError as exc:
                raise ScenarioError(f"{what}.config", str(exc)) from exc
            queues.append(
                QueueDemand(
                    config=config,
                    volumes=tuple(q.get("volumes", ())),
                    handle=_dist(
                        q.get("handle", {"kind": "exponential", "mean": 180}), f"{what}.handle"
                    ),
                    patience=_dist(
                        q.get("patience", {"kind": "exponential", "mean": "inf"}),
                        f"{what}.patience",
                    ),
                    wrap=_dist(q["wrap"], f"{what}.wrap") if q.get("wrap") else None,
                    media=Media(q["media"]) if q.get("media") else None,
                    callback_share=q.get("callback_share", 0.0),
                    vip_share=q.get("vip_share", 0.0),
                )
            )
        groups = []
        for i, g in enumerate(raw.get("agents", ())):
            try:
                groups.append(
                    AgentGroup(
                        name=g["group"],
                        count=g["count"],
                        site=g.get("site", "main"),
                        team=g.get("team", ""),
                        skills=g.get("skills", {}),
                        capacity={
                            Media(m): c
                            for m, c in g.get("capacity", {"voice": 1, "callback": 1}).items()
                        },
                        shifts=tuple(
                            Shift(
                                s["start_s"],
                                s["end_s"],
                                tuple((b[0], b[1]) for b in s.get("breaks", ())),
                            )
                            for s in g.get("shifts", ())
                        ),
                        staffing=tuple(g.get("staffing", ())),
                    )
                )
            except RoutingError as exc:
                raise ScenarioError(f"agents[{i}]", str(exc)) from exc
        start = raw.get("start")
        kwargs: dict[str, Any] = {}
        if start is not None:
            try:
                kwargs["start"] = ensure_utc(datetime.fromisoformat(str(start)))
            except ValueError as exc:
                raise ScenarioError("start", f"ISO-8601 with a time zone: {exc}") from exc
        if "ring_delay" in raw:
            kwargs["ring_delay"] = _dist(raw["ring_delay"], "ring_delay")
        for key in ("interval_s", "intervals", "name", "missed_ready_s", "drain_s"):
            if key in raw:
                kwargs[key] = raw[key]
        return Scenario(queues=tuple(queues), agents=tuple(groups), **kwargs)
    except KeyError as exc:
        raise ScenarioError(str(exc.args[0]), "is required") from exc
    except ValueError as exc:
        if isinstance(exc, ScenarioError):
            raise
        raise ScenarioError("scenario", str(exc)) from exc
