"""Hypothesis stateful tests: random traffic, agent moves, timeouts and site failures keep the
routing invariants, and replaying the command log rebuilds the same state and events."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from kefu.core.clock import ManualClock
from kefu.routing import (
    AgentProfile,
    Contact,
    MaxWaitAction,
    Media,
    OverflowAction,
    OverflowStep,
    Presence,
    QueueConfig,
    RoutingEngine,
    RoutingError,
    RoutingEvent,
    SlaStep,
    Strategy,
    commands,
)
from kefu.routing.model import EXCLUSIVE_MEDIA
from kefu.routing.policies import meets, plan_stages
from tests.unit.routing.support import SKILLS, START

pytestmark = pytest.mark.unit

SITES = ("north", "south")
AGENTS = ("a0", "a1", "a2", "a3", "a4")
CAPACITIES: tuple[dict[Media, int], ...] = (
    {Media.VOICE: 1, Media.CALLBACK: 1},
    {Media.CHAT: 3, Media.EMAIL: 5, Media.WORK_ORDER: 10},
    {Media.VOICE: 1, Media.CALLBACK: 1, Media.CHAT: 2, Media.EMAIL: 4},
)
STEPS = (0, 1, 3, 10, 20, 31, 65)


def _queues(strategies: list[Strategy]) -> list[QueueConfig]:
    return [
        QueueConfig(
            queue_id="q1", tenant_id="t", skills={"billing": 5}, sites=("north",),
            media=(Media.VOICE, Media.CALLBACK, Media.CHAT, Media.EMAIL),
            media_priority={Media.VOICE: 5.0}, strategy=strategies[0], ring_timeout_s=20,
            wrap_up_s=30, max_wait_s=400, max_wait_action=MaxWaitAction.CALLBACK,
            overflow=(OverflowStep(after_s=30, action=OverflowAction.RELAX_LEVEL, relax_by=2),
                      OverflowStep(after_s=60, action=OverflowAction.OPEN_SITES)),
        ),
        QueueConfig(
            queue_id="q2", tenant_id="t", skills={"tech": 3}, strategy=strategies[1],
            ring_timeout_s=15, wrap_up_s=10, max_length=4, max_wait_s=200, tiers={"a1": 1},
            overflow=(OverflowStep(after_s=20, action=OverflowAction.ADD_SKILLS,
                                   skills={"billing": 6}),
                      OverflowStep(after_s=90, action=OverflowAction.MOVE_QUEUE, queue_id="q1")),
        ),
        QueueConfig(
            queue_id="q3", tenant_id="t", media=(Media.EMAIL, Media.WORK_ORDER, Media.CHAT),
            strategy=strategies[2], wrap_up_s=0, aging_per_min=3.0,
            sla_steps=(SlaStep(before_s=120, boost=30.0), SlaStep(before_s=0, boost=90.0)),
        ),
    ]


@dataclass
class Shadow:
    """A contact as seen through the event stream alone."""

    queue: str
    media: str
    status: str = "waiting"
    stage: int = 0
    sticky: bool = False
    declined: set[str] = field(default_factory=set)
    closed: int = 0


class RoutingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(START)
        self.engine = RoutingEngine(self.clock)
        self.log: list[tuple[Any, commands.Command, str | None]] = []
        self.events: list[dict[str, Any]] = []
        self.specs: dict[str, Contact] = {}
        self.configs: dict[str, QueueConfig] = {}
        self.shadow: dict[str, Shadow] = {}
        self.presence: dict[str, str] = {}
        self.sites_down: set[str] = set()  # as the event stream says, event by event
        self.skills_then: dict[str, Any] = {}  # agents whose skills change later in a command
        self.next_id = 0

    # -- plumbing ---------------------------------------------------------------------------
    def run(self, command: commands.Command) -> list[RoutingEvent]:
        idle = (self.engine.next_deadline() or self.clock.now() + timedelta(1)) > self.clock.now()
        start = self.engine.snapshot()
        before = start if idle else None
        try:
            events = self.engine.execute(command)
        except RoutingError as exc:
            self.log.append((self.clock.now(), command, exc.code))
            if before is not None:  # "at" is the clock reading the command began with
                after = self.engine.snapshot()
                assert {**after, "at": None} == {**before, "at": None}, f"{exc.code} changed state"
            else:  # timers fired before the rejection: their events come with the next call
                self.run(commands.Tick())
            return []
        self.log.append((self.clock.now(), command, None))
        self.check_events(events, start)
        return events

    def check_events(self, events: list[RoutingEvent], start: dict[str, Any]) -> None:
        snap = self.engine.snapshot()
        # Skills as they were when each event happened: a timer due before a SetSkills fires
        # first in the same command, so its offer must be judged by the skills before the change
        # (the snapshot after the command is too late to tell).
        self.skills_then = {
            e.agent_id: start["agents"][e.agent_id]["skills"]  # type: ignore[attr-defined]
            for e in events
            if e.type == "agent_skills_changed"
        }
        for event in events:
            data = event.as_dict()
            assert RoutingEvent.from_dict(data) == event
            self.events.append(data)
            if event.type == "agent_skills_changed":
                self.skills_then.pop(event.agent_id, None)  # type: ignore[attr-defined]
            self.follow(event, snap)

    def follow(self, event: Any, snap: dict[str, Any]) -> None:
        kind = event.type
        if kind == "agent_state_changed":
            self.presence[event.agent_id] = event.presence
            return
        if kind == "site_state_changed":
            (self.sites_down.discard if event.up else self.sites_down.add)(event.site)
            return
        if not hasattr(event, "contact_id") or kind in ("wrap_up_ended",):
            return
        cid = event.contact_id
        if kind == "contact_queued":
            assert cid not in self.shadow
            spec = self.specs[cid]
            self.shadow[cid] = Shadow(queue=spec.queue_id, media=spec.media.value,
                                      sticky=event.sticky_agent is not None)
            return
        sh = self.shadow[cid]
        assert sh.status != "closed", f"{kind} after close of {cid}"
        if kind == "contact_offered":
            assert sh.status == "waiting"
            assert self.presence.get(event.agent_id) == Presence.READY.value, "offer to not ready"
            sh.stage = event.stage
            if not event.direct:
                self.check_skills(cid, sh, event.agent_id, snap)
                self.check_fifo(cid, sh, event.agent_id, snap)
            sh.status = "offered"
        elif kind in ("offer_timed_out", "offer_declined", "offer_rescinded", "contact_requeued"):
            assert sh.status in ("offered", "active")
            sh.status = "waiting"
            if kind == "offer_declined":
                sh.declined.add(event.agent_id)
        elif kind == "contact_answered":
            assert sh.status == "offered"
            sh.status = "active"
        elif kind == "contact_overflowed":
            assert sh.status == "waiting"
            if event.to_queue:
                sh.queue, sh.stage = event.to_queue, 0
            else:
                sh.stage = event.stage
        elif kind == "contact_transferred":
            assert sh.status in ("waiting", "active")
            if event.to_queue:
                sh.queue, sh.stage = event.to_queue, 0
            if event.to_agent:
                sh.sticky = True
                if sh.status == "active":
                    sh.stage = 0
            sh.status = "waiting"
        elif kind == "callback_requested":
            assert sh.status == "waiting"
            sh.media = Media.CALLBACK.value
        elif kind == "contact_closed":
            sh.closed += 1
            sh.status = "closed"

    def check_skills(self, cid: str, sh: Shadow, agent_id: str, snap: dict[str, Any]) -> None:
        agent = snap["agents"][agent_id]
        skills = self.skills_then.get(agent_id, agent["skills"])
        stage = self.plan(cid, sh.queue).stages[sh.stage]
        assert any(meets(skills, alt) for alt in stage.alternatives), "skills"
        if stage.sites is not None and agent["site"] not in stage.sites:
            # home sites down *when offered*: a timer may offer before a later SiteUp of the
            # same command, so the snapshot after the command is too late to tell
            home = self.configs[sh.queue].sites
            assert home and all(s in self.sites_down for s in home), "site"

    def check_fifo(self, cid: str, sh: Shadow, agent_id: str, snap: dict[str, Any]) -> None:
        mine = snap["contacts"].get(cid)
        spec = self.specs[cid]
        if mine is None or sh.sticky or spec.sla_deadline is not None:
            return
        for other_id, other in self.shadow.items():
            o_spec = self.specs[other_id]
            view = snap["contacts"].get(other_id)
            if (other_id == cid or other.status != "waiting" or other.sticky or view is None
                    or other.queue != sh.queue or other.media != sh.media
                    or o_spec.priority != spec.priority or o_spec.skills != spec.skills
                    or o_spec.sla_deadline is not None or agent_id in other.declined
                    or other.stage < sh.stage):
                continue
            assert (view["enqueued_at"], view["seq"]) > (mine["enqueued_at"], mine["seq"]), (
                f"{cid} offered to {agent_id} before earlier {other_id}")

    def plan(self, cid: str, queue_id: str) -> Any:
        return plan_stages(self.configs[queue_id], tuple(sorted(self.specs[cid].skills.items())))

    # -- setup ------------------------------------------------------------------------------
    @initialize(data=st.data())
    def setup(self, data: st.DataObject) -> None:
        self.run(commands.AddSkills(names=SKILLS))
        strategies = data.draw(st.lists(st.sampled_from(Strategy), min_size=3, max_size=3))
        for config in _queues(strategies):
            self.configs[config.queue_id] = config
            self.run(commands.AddQueue(config=config))
        for agent_id in AGENTS:
            skills = {s: lv for s in ("billing", "tech", "fr")
                      if (lv := data.draw(st.integers(0, 8), label=f"{agent_id}.{s}"))}
            profile = AgentProfile(agent_id=agent_id, site=data.draw(st.sampled_from(SITES)),
                                   skills=skills, capacity=data.draw(st.sampled_from(CAPACITIES)))
            self.run(commands.Login(profile=profile))
            self.run(commands.SetState(agent_id=agent_id, presence=Presence.READY))

    # -- rules ------------------------------------------------------------------------------
    @rule(queue=st.sampled_from(("q1", "q2", "q3")), media=st.sampled_from(list(Media)),
          priority=st.sampled_from((0.0, 0.0, 20.0)), fr=st.booleans(),
          sticky=st.sampled_from((None, None, "a0", "a3")), sla=st.sampled_from((None, 1, 5)),
          reuse=st.booleans())
    def arrive(self, queue: str, media: Media, priority: float, fr: bool, sticky: str | None,
               sla: int | None, reuse: bool) -> None:
        if reuse and self.specs:
            cid = sorted(self.specs)[0]
        else:
            self.next_id += 1
            cid = f"c{self.next_id}"
        if media not in self.configs[queue].media:
            media = self.configs[queue].media[0]
        spec = Contact(
            contact_id=cid, tenant_id="t", queue_id=queue, media=media, priority=priority,
            skills={"fr": 3} if fr else {}, preferred_agent=sticky,
            sla_deadline=self.clock.now() + timedelta(minutes=sla) if sla else None,
        )
        self.specs.setdefault(cid, spec)
        self.run(commands.Arrive(contact=spec))

    @rule(seconds=st.sampled_from(STEPS), tick=st.booleans())
    def advance(self, seconds: int, tick: bool) -> None:
        self.clock.advance(seconds)
        if tick:
            self.run(commands.Tick())

    def _pick(self, data: st.DataObject, status: str) -> tuple[str, str] | None:
        snap = self.engine.snapshot()["contacts"]
        found = sorted((cid, c["agent_id"]) for cid, c in snap.items() if c["status"] == status)
        return data.draw(st.sampled_from(found)) if found else None

    @rule(data=st.data(), decline=st.booleans())
    def answer(self, data: st.DataObject, decline: bool) -> None:
        picked = self._pick(data, "offered")
        if picked:
            cid, agent = picked
            cmd = commands.Decline if decline else commands.Accept
            self.run(cmd(agent_id=agent, contact_id=cid))

    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        picked = self._pick(data, "active")
        if picked:
            self.run(commands.Complete(agent_id=picked[1], contact_id=picked[0]))

    @rule(agent=st.sampled_from(AGENTS))
    def finish_wrap_up(self, agent: str) -> None:
        self.run(commands.FinishWrapUp(agent_id=agent))

    @rule(agent=st.sampled_from(AGENTS),
          what=st.sampled_from(("ready", "not_ready", "logout", "login", "skills")),
          level=st.integers(0, 8))
    def agent_moves(self, agent: str, what: str, level: int) -> None:
        if what in ("ready", "not_ready"):
            self.run(commands.SetState(agent_id=agent, presence=Presence(what), reason="x"))
        elif what == "logout":
            self.run(commands.Logout(agent_id=agent))
        elif what == "login":
            profile = AgentProfile(agent_id=agent, site=SITES[level % 2],
                                   skills={"billing": max(1, level), "fr": 4},
                                   capacity=CAPACITIES[level % 3])
            self.run(commands.Login(profile=profile))
        else:
            skills = {"tech": level} if level else {}
            self.run(commands.SetSkills(agent_id=agent, skills=skills))

    @rule(data=st.data(), how=st.sampled_from(("abandon", "callback", "queue", "agent", "ivr")))
    def customer_or_supervisor(self, data: st.DataObject, how: str) -> None:
        ids = sorted(self.specs)
        if not ids:
            return
        cid = data.draw(st.sampled_from(ids))
        if how == "abandon":
            self.run(commands.Abandon(contact_id=cid))
        elif how == "callback":
            self.run(commands.RequestCallback(contact_id=cid))
        elif how == "queue":
            target = data.draw(st.sampled_from(("q1", "q2", "q3")))
            self.run(commands.Transfer(contact_id=cid, to_queue=target, note="n"))
        elif how == "agent":
            self.run(commands.Transfer(contact_id=cid, to_agent=data.draw(st.sampled_from(AGENTS))))
        else:
            self.run(commands.Transfer(contact_id=cid, to_ivr="menu"))

    @rule(site=st.sampled_from(SITES), up=st.booleans())
    def site(self, site: str, up: bool) -> None:
        self.run(commands.SiteUp(site=site) if up else commands.SiteDown(site=site))

    # -- invariants -------------------------------------------------------------------------
    @invariant()
    def capacity_and_single_offer(self) -> None:
        snap = self.engine.snapshot()
        holders: dict[str, list[str]] = {}
        for agent_id, agent in snap["agents"].items():
            assert agent["load"] <= agent["limit"]
            per_media: dict[str, int] = {}
            for cid, slot in agent["slots"].items():
                per_media[slot["media"]] = per_media.get(slot["media"], 0) + 1
                if slot["phase"] != "wrap_up":
                    holders.setdefault(cid, []).append(agent_id)
            for medium, count in per_media.items():
                assert count <= agent["capacity"].get(medium, 0), f"{agent_id} over capacity"
            if any(Media(m) in EXCLUSIVE_MEDIA for m in per_media):
                assert len(agent["slots"]) == 1, f"{agent_id}: voice must be alone"
            ringing = [c for c, s in agent["slots"].items() if s["phase"] == "offered"]
            assert ringing == ([agent["ringing"]] if agent["ringing"] else [])
        for cid, contact in snap["contacts"].items():
            if contact["status"] in ("offered", "active"):
                assert holders.get(cid) == [contact["agent_id"]]
            else:
                assert cid not in holders

    @invariant()
    def nothing_routable_is_left_waiting(self) -> None:
        snap = self.engine.snapshot()
        for cid, contact in snap["contacts"].items():
            if contact["status"] != "waiting":
                continue
            stage = self.plan(cid, contact["queue_id"]).stages[contact["stage"]]
            for agent_id, agent in snap["agents"].items():
                if (contact["media"] not in agent["free_media"]
                        or agent_id in contact["declined_by"]):
                    continue
                skilled = contact["direct"] or any(
                    meets(agent["skills"], a) for a in stage.alternatives)
                sited = contact["direct"] or (
                    stage.sites is None or agent["site"] in stage.sites
                    or snap["queues"][contact["queue_id"]]["home_down"])
                if contact["sticky_agent"] is not None and agent_id != contact["sticky_agent"]:
                    continue
                assert not (skilled and sited), f"{cid} waits while {agent_id} is free"

    @invariant()
    def one_terminal_state_per_contact(self) -> None:
        closed = self.engine.snapshot()["closed"]
        for cid, sh in self.shadow.items():
            assert sh.closed == (1 if cid in closed else 0)

    def teardown(self) -> None:
        """Replay the log on a fresh engine, with and without the ticks: same state, events."""
        self.events.extend(e.as_dict() for e in self.engine.tick())
        final = self.engine.snapshot()
        for keep_ticks in (True, False):
            clock = ManualClock(START)
            engine = RoutingEngine(clock)
            events: list[dict[str, Any]] = []
            for at, command, code in self.log:
                if not keep_ticks and isinstance(command, commands.Tick):
                    continue
                clock.set(at)
                try:
                    events.extend(e.as_dict() for e in engine.execute(
                        commands.command_from_dict(command.as_dict())))
                    got = None
                except RoutingError as exc:
                    got = exc.code
                assert got == code, f"{command} gave {got}, not {code}"
            clock.set(self.clock.now())
            events.extend(e.as_dict() for e in engine.tick())
            assert engine.snapshot() == final
            assert events == self.events


# RT_EXAMPLES / RT_STEPS / RT_NO_SHRINK: a longer hunt by hand; the default stays under ~30 s.
RoutingMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("RT_EXAMPLES", "60")),
    stateful_step_count=int(os.environ.get("RT_STEPS", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[p for p in Phase if not (os.environ.get("RT_NO_SHRINK") and p is Phase.shrink)],
)
test_routing_machine = RoutingMachine.TestCase
