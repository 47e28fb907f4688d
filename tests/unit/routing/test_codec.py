"""Commands and events survive JSON (as a command log and event store keep them)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from kefu.routing import (
    COMMAND_TYPES,
    AgentProfile,
    InvalidArgument,
    Media,
    OverflowAction,
    OverflowStep,
    Presence,
    SlaStep,
    Strategy,
    Weights,
    command_from_dict,
    commands,
    event_from_dict,
)
from tests.unit.routing.support import START, contact, make_engine, queue, ready_agent

pytestmark = pytest.mark.unit

SAMPLES: list[commands.Command] = [
    commands.AddSkills(names=("billing", "fr")),
    commands.AddQueue(config=queue(
        skills={"billing": 4}, media=(Media.VOICE, Media.EMAIL), strategy=Strategy.WEIGHTED,
        weights=Weights(idle=1, skill=2), tiers={"a1": 1}, media_priority={Media.VOICE: 5},
        sla_steps=(SlaStep(before_s=60, boost=9),), sites=("north",), max_wait_s=30,
        overflow=(OverflowStep(after_s=5, action=OverflowAction.ADD_SKILLS, skills={"fr": 2}),),
    )),
    commands.UpdateQueue(config=queue()),
    commands.Login(profile=AgentProfile(agent_id="a1", site="north", skills={"billing": 3},
                                        capacity={Media.CHAT: 3, Media.EMAIL: 5})),
    commands.Logout(agent_id="a1"),
    commands.SetState(agent_id="a1", presence=Presence.NOT_READY, reason="lunch"),
    commands.SetSkills(agent_id="a1", skills={"fr": 7}),
    commands.Arrive(contact=contact("c1", priority=20, skills={"fr": 3},
                                    attributes={"vip": "gold", "years": 4, "new": False},
                                    preferred_agent="a1", sla_deadline=START)),
    commands.Abandon(contact_id="c1", reason="hung_up"),
    commands.RequestCallback(contact_id="c1", at=START + timedelta(hours=1)),
    commands.Accept(agent_id="a1", contact_id="c1"),
    commands.Decline(agent_id="a1", contact_id="c1"),
    commands.Complete(agent_id="a1", contact_id="c1"),
    commands.FinishWrapUp(agent_id="a1"),
    commands.Transfer(contact_id="c1", to_queue="q2", note="needs tech"),
    commands.SiteDown(site="north"),
    commands.SiteUp(site="north"),
    commands.Tick(),
]


def test_every_command_type_is_covered() -> None:
    assert {c.type for c in SAMPLES} == set(COMMAND_TYPES)


@pytest.mark.parametrize("command", SAMPLES, ids=[c.type for c in SAMPLES])
def test_commands_round_trip_through_json(command: commands.Command) -> None:
    data = json.loads(json.dumps(command.as_dict()))
    assert command_from_dict(data) == command


def test_events_round_trip_through_json() -> None:
    engine, clock = make_engine(queue())
    events = ready_agent(engine, "a1")
    events += engine.arrive(contact("c1"))
    clock.advance(3)
    events += engine.accept("a1", "c1")
    events += engine.complete("a1", "c1")
    assert {e.type for e in events} >= {"contact_offered", "contact_answered", "contact_closed"}
    for event in events:
        assert event_from_dict(json.loads(json.dumps(event.as_dict()))) == event


def test_bad_payloads_are_invalid_arguments() -> None:
    with pytest.raises(InvalidArgument):
        command_from_dict({"type": "launch_rockets"})
    with pytest.raises(InvalidArgument):
        command_from_dict({"type": "arrive", "contact": {"contact_id": "x"}})
    with pytest.raises(InvalidArgument):
        event_from_dict({"type": "nope"})
