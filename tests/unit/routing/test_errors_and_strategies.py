"""Bad input gets a stable error code and changes nothing; each strategy picks the right agent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from kefu.routing import (
    ERROR_CODES,
    AgentProfile,
    Media,
    OverflowAction,
    OverflowStep,
    RoutingEngine,
    RoutingError,
    Strategy,
    Weights,
)
from tests.unit.routing.support import START, contact, make_engine, queue, ready_agent

pytestmark = pytest.mark.unit


def _busy_engine() -> RoutingEngine:
    engine, clock = make_engine(queue(), queue("q2", tenant_id="t2"),
                                queue("chat_only", media=(Media.CHAT,)))
    ready_agent(engine, "ringing")
    ready_agent(engine, "busy")
    engine.login(AgentProfile(agent_id="off", site="s1", skills={"billing": 1}))
    engine.logout("off")
    engine.arrive(contact("c1"))  # rings on "ringing"
    engine.arrive(contact("c2"))  # rings on "busy"
    engine.accept("busy", "c2")
    engine.arrive(contact("c3"))  # waits
    engine.arrive(contact("gone"))
    engine.abandon("gone")
    clock.advance(1)
    engine.tick()
    return engine


BAD: list[tuple[str, Callable[[RoutingEngine], Any]]] = [
    ("unknown_queue", lambda e: e.arrive(contact("x", queue_id="nope"))),
    ("unknown_skill", lambda e: e.arrive(contact("x", skills={"klingon": 3}))),
    ("unknown_skill", lambda e: e.set_skills("busy", {"klingon": 3})),
    ("unknown_contact", lambda e: e.accept("ringing", "nope")),
    ("unknown_agent", lambda e: e.accept("nobody", "c1")),
    ("unknown_agent", lambda e: e.set_state("nobody", "ready")),
    ("duplicate_contact", lambda e: e.arrive(contact("c3"))),
    ("duplicate_contact", lambda e: e.arrive(contact("gone"))),
    ("duplicate_queue", lambda e: e.add_queue(queue())),
    ("tenant_mismatch", lambda e: e.arrive(contact("x", tenant_id="t2"))),
    ("tenant_mismatch", lambda e: e.transfer("c3", to_queue="q2")),
    ("unsupported_media", lambda e: e.arrive(contact("x", queue_id="chat_only"))),
    ("unsupported_media", lambda e: e.transfer("c3", to_queue="chat_only")),
    ("invalid_transition", lambda e: e.accept("busy", "c1")),
    ("invalid_transition", lambda e: e.accept("ringing", "c2")),
    ("invalid_transition", lambda e: e.accept("ringing", "gone")),
    ("invalid_transition", lambda e: e.logout("busy")),
    ("invalid_transition", lambda e: e.logout("ringing")),
    ("invalid_transition", lambda e: e.logout("off")),
    ("invalid_transition", lambda e: e.set_state("off", "ready")),
    ("invalid_transition", lambda e: e.set_state("busy", "ready")),
    ("invalid_transition", lambda e: e.complete("ringing", "c1")),
    ("invalid_transition", lambda e: e.finish_wrap_up("busy")),
    ("invalid_transition", lambda e: e.abandon("c2")),
    ("invalid_transition", lambda e: e.abandon("gone")),
    ("invalid_transition", lambda e: e.request_callback("c1")),
    ("invalid_transition", lambda e: e.transfer("c1", to_queue="q1")),
    ("invalid_transition", lambda e: e.site_up("s1")),
    ("invalid_transition", lambda e: e.login(AgentProfile(agent_id="busy", site="s1"))),
    ("invalid_argument", lambda e: e.transfer("c3")),
    ("invalid_argument", lambda e: e.set_state("busy", "offline")),
    ("invalid_argument", lambda e: e.set_skills("busy", {"billing": 11})),
    ("invalid_argument", lambda e: e.transfer("c2", to_agent="busy")),
]


@pytest.mark.parametrize(("code", "command"), BAD, ids=[f"{i}-{c}" for i, (c, _) in enumerate(BAD)])
def test_bad_input_raises_its_code_and_changes_nothing(
    code: str, command: Callable[[RoutingEngine], Any]
) -> None:
    engine = _busy_engine()
    before = engine.snapshot()
    with pytest.raises(RoutingError) as err:
        command(engine)
    assert err.value.code == code
    assert code in ERROR_CODES
    assert engine.snapshot() == before
    assert engine.tick() == []


def _pick(strategy: Strategy, setup: Callable[[RoutingEngine], None], **kw: Any) -> str:
    engine, clock = make_engine(queue(strategy=strategy, skills={"billing": 1}, **kw))
    setup(engine)
    clock.advance(1)
    engine.arrive(contact("c1"))
    agent = engine.snapshot()["contacts"]["c1"]["agent_id"]
    assert isinstance(agent, str)
    return agent


def _agents(levels: dict[str, int]) -> Callable[[RoutingEngine], None]:
    def setup(engine: RoutingEngine) -> None:
        for agent_id, level in levels.items():
            ready_agent(engine, agent_id, skills={"billing": level})

    return setup


def test_longest_idle_and_highest_skill() -> None:
    levels = {"a": 3, "b": 9, "c": 5}
    assert _pick(Strategy.LONGEST_IDLE, _agents(levels)) == "a"
    assert _pick(Strategy.HIGHEST_SKILL, _agents(levels)) == "b"


def test_least_occupied_today() -> None:
    def setup(engine: RoutingEngine) -> None:
        _agents({"a": 1, "b": 1})(engine)
        clock = engine._clock
        for i, seconds in enumerate((300, 100)):
            engine.arrive(contact(f"w{i}"))
            holder = engine.snapshot()["contacts"][f"w{i}"]["agent_id"]
            engine.accept(holder, f"w{i}")
            clock.advance(seconds)  # type: ignore[attr-defined]
            engine.complete(holder, f"w{i}")
            engine.finish_wrap_up(holder)

    # "a" got w0 (300 s), "b" got w1 (100 s) and is now the least occupied
    assert _pick(Strategy.LEAST_OCCUPIED, setup) == "b"


def test_round_robin_rotates() -> None:
    engine, _ = make_engine(queue(strategy=Strategy.ROUND_ROBIN, wrap_up_s=0))
    _agents({"a": 1, "b": 1, "c": 1})(engine)
    served = []
    for i in range(5):
        engine.arrive(contact(f"c{i}"))
        agent = engine.snapshot()["contacts"][f"c{i}"]["agent_id"]
        served.append(agent)
        engine.accept(agent, f"c{i}")
        engine.complete(agent, f"c{i}")  # no wrap-up: free again at once
    assert served == ["a", "b", "c", "a", "b"]


def test_top_down_tiers() -> None:
    tiers = {"c": 1, "b": 2}
    assert _pick(Strategy.TOP_DOWN, _agents({"a": 1, "b": 1, "c": 1}), tiers=tiers) == "c"


def test_weighted_score_trades_skill_for_idle_time() -> None:
    levels = {"idle_long": 2, "expert": 9}
    skill_heavy = Weights(idle=1.0, skill=1.0)  # a level is worth 60 s of idle time
    assert _pick(Strategy.WEIGHTED, _agents(levels), weights=skill_heavy) == "expert"
    idle_only = Weights(idle=1.0)
    assert _pick(Strategy.WEIGHTED, _agents(levels), weights=idle_only) == "idle_long"


def test_open_sites_overflow_to_another_site() -> None:
    step = OverflowStep(after_s=45, action=OverflowAction.OPEN_SITES, sites=("south",))
    engine, clock = make_engine(queue(sites=("north",), overflow=(step,)))
    ready_agent(engine, "far", site="south")
    engine.arrive(contact("c1"))
    clock.advance(45)
    events = engine.tick()
    assert events[0].type == "contact_overflowed"
    assert engine.snapshot()["contacts"]["c1"]["agent_id"] == "far"
    assert START + timedelta(seconds=45) == clock.now()
