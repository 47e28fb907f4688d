"""Routing scenarios: skills, timeouts, wrap-up, overflow, sticky, priorities, sites, callbacks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kefu.routing import (
    MaxWaitAction,
    Media,
    OverflowAction,
    OverflowStep,
    SlaStep,
)
from tests.unit.routing.support import (
    START,
    contact,
    make_engine,
    offers,
    queue,
    ready_agent,
    serve,
    types,
)

pytestmark = pytest.mark.unit


def test_skill_and_level_decide_who_gets_the_contact() -> None:
    engine, _ = make_engine(queue(skills={"billing": 5}))
    ready_agent(engine, "low", skills={"billing": 4})
    ready_agent(engine, "other", skills={"tech": 9})
    events = engine.arrive(contact("c1"))
    assert offers(events) == []
    ready_agent(engine, "good", skills={"billing": 5})
    assert engine.snapshot()["contacts"]["c1"]["agent_id"] == "good"


def test_contact_skills_add_to_the_queue_requirement() -> None:
    engine, _ = make_engine(queue(skills={"billing": 3}))
    ready_agent(engine, "en", skills={"billing": 8, "en": 5})
    ready_agent(engine, "fr", skills={"billing": 3, "fr": 6})
    events = engine.arrive(contact("c1", skills={"fr": 5}))
    assert offers(events) == [("c1", "fr")]


def test_ring_timeout_returns_contact_to_head_and_agent_goes_missed() -> None:
    engine, clock = make_engine(queue(ring_timeout_s=15))
    ready_agent(engine, "a1")
    engine.arrive(contact("c1"))
    clock.advance(1)
    engine.arrive(contact("c2"))
    assert engine.snapshot()["queues"]["q1"]["waiting"] == ["c2"]
    clock.advance(14)
    events = engine.tick()
    assert types(events)[:2] == ["offer_timed_out", "agent_state_changed"]
    snap = engine.snapshot()
    assert snap["queues"]["q1"]["waiting"] == ["c1", "c2"]
    assert snap["agents"]["a1"]["presence"] == "not_ready"
    assert snap["agents"]["a1"]["reason"] == "missed"
    events = engine.set_state("a1", "ready")
    assert offers(events) == [("c1", "a1")]


def test_answering_an_offer_that_timed_out_is_rejected() -> None:
    engine, clock = make_engine(queue(ring_timeout_s=10))
    ready_agent(engine, "a1")
    engine.arrive(contact("c1"))
    clock.advance(10)
    with pytest.raises(Exception) as err:
        engine.accept("a1", "c1")
    assert getattr(err.value, "code", None) == "invalid_transition"
    assert engine.snapshot()["contacts"]["c1"]["status"] == "waiting"


def test_wrap_up_ends_at_its_maximum_then_agent_is_ready() -> None:
    engine, clock = make_engine(queue(wrap_up_s=30))
    ready_agent(engine, "a1")
    engine.arrive(contact("c1"))
    engine.accept("a1", "c1")
    clock.advance(100)
    engine.complete("a1", "c1")
    assert engine.snapshot()["agents"]["a1"]["state"] == "wrap_up"
    engine.arrive(contact("c2"))
    clock.advance(29)
    assert offers(engine.tick()) == []
    clock.advance(1)
    events = engine.tick()
    assert types(events)[0] == "wrap_up_ended"
    assert offers(events) == [("c2", "a1")]


def test_finish_wrap_up_early() -> None:
    engine, _ = make_engine(queue(wrap_up_s=120))
    ready_agent(engine, "a1")
    engine.arrive(contact("c1"))
    engine.accept("a1", "c1")
    engine.complete("a1", "c1")
    events = engine.finish_wrap_up("a1")
    assert engine.snapshot()["agents"]["a1"]["state"] == "ready"
    assert "wrap_up_ended" in types(events)


def test_overflow_relaxes_skill_level_after_t() -> None:
    step = OverflowStep(after_s=30, action=OverflowAction.RELAX_LEVEL, relax_by=2)
    engine, clock = make_engine(queue(skills={"billing": 6}, overflow=(step,)))
    ready_agent(engine, "junior", skills={"billing": 4})
    engine.arrive(contact("c1"))
    clock.advance(29)
    assert offers(engine.tick()) == []
    clock.advance(1)
    events = engine.tick()
    assert types(events)[0] == "contact_overflowed"
    assert offers(events) == [("c1", "junior")]


def test_overflow_adds_secondary_skills_and_moves_queue() -> None:
    steps = (
        OverflowStep(after_s=20, action=OverflowAction.ADD_SKILLS, skills={"tech": 3}),
        OverflowStep(after_s=60, action=OverflowAction.MOVE_QUEUE, queue_id="backup"),
    )
    engine, clock = make_engine(queue("backup", skills={"en": 1}), queue(overflow=steps))
    engine.arrive(contact("c1"))
    engine.arrive(contact("c2"))
    clock.advance(20)
    engine.tick()
    events = ready_agent(engine, "techie", skills={"tech": 5})
    assert offers(events) == [("c1", "techie")]
    engine.accept("techie", "c1")
    clock.advance(40)
    events = engine.tick()
    assert [e.type for e in events if e.type == "contact_overflowed"] == ["contact_overflowed"]
    assert engine.snapshot()["contacts"]["c2"]["queue_id"] == "backup"
    assert offers(ready_agent(engine, "eng", skills={"en": 2})) == [("c2", "eng")]


def test_sticky_agent_waits_for_the_last_agent_then_anyone() -> None:
    engine, clock = make_engine(queue())
    ready_agent(engine, "last")
    ready_agent(engine, "other")
    engine.set_state("last", "not_ready", "lunch")
    until = START + timedelta(seconds=20)
    events = engine.arrive(contact("c1", preferred_agent="last", preferred_until=until))
    assert offers(events) == []
    clock.advance(5)
    assert offers(engine.set_state("last", "ready")) == [("c1", "last")]
    engine.decline("last", "c1")  # declined: stickiness ends, anyone may take it
    assert engine.snapshot()["contacts"]["c1"]["agent_id"] == "other"


def test_sticky_expiry_releases_to_everyone() -> None:
    engine, clock = make_engine(queue(sticky_s=15))
    ready_agent(engine, "other")
    ready_agent(engine, "last")
    engine.set_state("last", "not_ready", "lunch")
    engine.arrive(contact("c1", preferred_agent="last"))
    clock.advance(15)
    events = engine.tick()
    assert types(events)[0] == "sticky_expired"
    assert offers(events) == [("c1", "other")]


def test_vip_priority_is_served_first_then_fifo() -> None:
    engine, clock = make_engine(queue())
    for cid in ("c1", "c2"):
        engine.arrive(contact(cid))
        clock.advance(1)
    engine.arrive(contact("vip", priority=20))
    clock.advance(1)
    engine.arrive(contact("c3"))
    assert engine.snapshot()["queues"]["q1"]["waiting"] == ["vip", "c1", "c2", "c3"]
    ready_agent(engine, "a1")
    order = []
    for _ in range(4):
        cid = engine.snapshot()["agents"]["a1"]["ringing"]
        order.append(cid)
        serve(engine, "a1", cid)
    assert order == ["vip", "c1", "c2", "c3"]


def test_aging_lets_an_old_routine_contact_overtake_a_fresh_priority_one() -> None:
    engine, clock = make_engine(queue(aging_per_min=2.0))
    engine.arrive(contact("old"))
    clock.advance(6 * 60)  # +12 points
    engine.arrive(contact("new", priority=10))
    assert engine.snapshot()["queues"]["q1"]["waiting"] == ["old", "new"]


def test_work_order_near_breach_overtakes_routine_ones() -> None:
    steps = (SlaStep(before_s=600, boost=50),)
    engine, clock = make_engine(queue(media=(Media.WORK_ORDER,), sla_steps=steps))
    for i in range(3):
        engine.arrive(contact(f"wo{i}", media=Media.WORK_ORDER))
        clock.advance(60)
    due = clock.now() + timedelta(minutes=15)
    engine.arrive(contact("urgent", media=Media.WORK_ORDER, sla_deadline=due))
    assert engine.snapshot()["queues"]["q1"]["waiting"][-1] == "urgent"
    clock.advance(5 * 60)
    events = engine.tick()
    assert types(events) == ["contact_escalated"]
    assert engine.snapshot()["queues"]["q1"]["waiting"][0] == "urgent"
    events = ready_agent(engine, "a1", capacity={Media.WORK_ORDER: 10})
    assert offers(events)[0] == ("urgent", "a1")


def test_urgent_email_beats_routine_call_when_queue_says_so() -> None:
    config = queue(media_priority={Media.VOICE: 10.0}, media=(Media.VOICE, Media.EMAIL))
    engine, clock = make_engine(config)
    engine.arrive(contact("email", media=Media.EMAIL))
    engine.arrive(contact("call"))
    clock.advance(1)
    engine.arrive(contact("urgent", media=Media.EMAIL, priority=30))
    assert engine.snapshot()["queues"]["q1"]["waiting"] == ["urgent", "call", "email"]
    events = ready_agent(engine, "a1", capacity={Media.VOICE: 1, Media.EMAIL: 5})
    assert offers(events) == [("urgent", "a1")]


def test_multi_capacity_chats_and_voice_blocks_everything() -> None:
    engine, _ = make_engine(queue(media=(Media.VOICE, Media.CHAT, Media.EMAIL)))
    ready_agent(engine, "a1", capacity={Media.VOICE: 1, Media.CHAT: 3, Media.EMAIL: 5})
    for i in range(4):
        engine.arrive(contact(f"chat{i}", media=Media.CHAT))
    engine.accept("a1", "chat0")
    snap = engine.snapshot()
    assert snap["agents"]["a1"]["state"] == "reserved"  # second chat offered while first active
    engine.accept("a1", "chat1")
    engine.accept("a1", "chat2")
    agent = engine.snapshot()["agents"]["a1"]
    assert agent["state"] == "busy" and agent["free_media"] == []
    assert engine.snapshot()["contacts"]["chat3"]["status"] == "waiting"
    engine.arrive(contact("call"))
    assert engine.snapshot()["contacts"]["call"]["status"] == "waiting"


def test_chats_and_emails_share_one_load() -> None:
    engine, _ = make_engine(queue(media=(Media.CHAT, Media.EMAIL)))
    ready_agent(engine, "a1", capacity={Media.CHAT: 3, Media.EMAIL: 5})
    engine.arrive(contact("ch1", media=Media.CHAT))
    engine.accept("a1", "ch1")
    engine.arrive(contact("ch2", media=Media.CHAT))
    engine.accept("a1", "ch2")
    engine.arrive(contact("em1", media=Media.EMAIL))
    engine.accept("a1", "em1")  # 2/3 + 1/5 <= 1
    engine.arrive(contact("em2", media=Media.EMAIL))  # 2/3 + 2/5 > 1
    assert engine.snapshot()["contacts"]["em2"]["status"] == "waiting"


def test_site_down_reroutes_waiting_and_held_contacts() -> None:
    open_sites = OverflowStep(after_s=120, action=OverflowAction.OPEN_SITES)
    engine, clock = make_engine(queue(sites=("north",), overflow=(open_sites,)))
    ready_agent(engine, "n1", site="north")
    ready_agent(engine, "s1", site="south")
    engine.set_state("s1", "not_ready", "meeting")
    engine.arrive(contact("c1"))
    engine.accept("n1", "c1")
    engine.arrive(contact("c2"))
    engine.set_state("s1", "ready")
    assert engine.snapshot()["contacts"]["c2"]["status"] == "waiting"  # south not open yet
    clock.advance(10)
    events = engine.site_down("north")
    assert "contact_requeued" in types(events)
    snap = engine.snapshot()
    assert snap["agents"]["n1"]["reason"] == "site_down"
    assert snap["contacts"]["c1"]["agent_id"] == "s1"  # held call back at its place, first
    assert snap["contacts"]["c2"]["status"] == "waiting"
    assert len(snap["contacts"]) == 2
    with pytest.raises(Exception, match="down"):
        engine.set_state("n1", "ready")
    engine.site_up("north")
    engine.set_state("n1", "ready")
    assert engine.snapshot()["contacts"]["c2"]["agent_id"] == "n1"


def test_callback_keeps_its_place() -> None:
    engine, clock = make_engine(queue())
    for cid in ("c1", "c2", "c3"):
        engine.arrive(contact(cid))
        clock.advance(1)
    events = engine.request_callback("c2")
    assert types(events) == ["callback_requested"]
    assert engine.snapshot()["queues"]["q1"]["waiting"] == ["c1", "c2", "c3"]
    assert engine.position("c2").position == 2
    ready_agent(engine, "a1")
    serve(engine, "a1", "c1")
    assert engine.snapshot()["contacts"]["c2"]["status"] == "offered"
    assert engine.snapshot()["contacts"]["c2"]["media"] == "callback"


def test_scheduled_callback_closes_with_outcome_callback() -> None:
    engine, _ = make_engine(queue())
    engine.arrive(contact("c1"))
    events = engine.request_callback("c1", START + timedelta(hours=2))
    assert types(events) == ["callback_requested", "contact_closed"]
    assert engine.snapshot()["closed"] == {"c1": "callback"}


def test_position_and_expected_wait() -> None:
    engine, clock = make_engine(queue(default_aht_s=120))
    ready_agent(engine, "a1")
    ready_agent(engine, "a2")
    for cid in ("c1", "c2", "c3", "c4"):
        engine.arrive(contact(cid))
        clock.advance(1)
    pos = engine.position("c4")
    assert pos.position == 2
    assert pos.expected_wait_s == pytest.approx(2 * 120 / 2)
    engine.set_state("a2", "not_ready", "break")
    assert engine.position("c3").expected_wait_s == pytest.approx(120)


def test_max_wait_action_and_max_length() -> None:
    config = queue(max_wait_s=60, max_wait_action=MaxWaitAction.IVR, max_wait_target="menu",
                   max_length=1)
    engine, clock = make_engine(config)
    engine.arrive(contact("c1"))
    events = engine.arrive(contact("c2"))
    assert types(events) == ["contact_queued", "contact_expired", "contact_closed"]
    clock.advance(60)
    events = engine.tick()
    assert types(events) == ["contact_expired", "contact_closed"]
    assert engine.snapshot()["closed"] == {"c1": "transferred", "c2": "transferred"}


def test_transfer_to_queue_agent_and_ivr() -> None:
    engine, _ = make_engine(queue(), queue("q2", skills={"tech": 1}), )
    ready_agent(engine, "a1")
    ready_agent(engine, "t1", skills={"tech": 4})
    engine.set_state("t1", "not_ready", "busy")
    engine.arrive(contact("c1"))
    engine.accept("a1", "c1")
    events = engine.transfer("c1", to_queue="q2", note="needs tech")
    assert types(events)[0] == "contact_transferred"
    assert engine.snapshot()["agents"]["a1"]["state"] == "wrap_up"
    assert engine.snapshot()["contacts"]["c1"]["status"] == "waiting"
    engine.set_state("t1", "ready")
    engine.accept("t1", "c1")
    engine.finish_wrap_up("a1")
    engine.transfer("c1", to_agent="a1")  # direct: a1 has no tech skill
    snap = engine.snapshot()["contacts"]["c1"]
    assert snap["agent_id"] == "a1" and snap["direct"]
    engine.accept("a1", "c1")
    events = engine.transfer("c1", to_ivr="survey")
    assert engine.snapshot()["closed"] == {"c1": "transferred"}
    assert "contact_closed" in types(events)


def test_abandon_while_ringing_frees_the_agent() -> None:
    engine, _ = make_engine(queue())
    ready_agent(engine, "a1")
    engine.arrive(contact("c1"))
    engine.arrive(contact("c2"))
    events = engine.abandon("c1")
    assert types(events)[:3] == ["offer_rescinded", "agent_state_changed", "contact_abandoned"]
    assert offers(events) == [("c2", "a1")]


def test_declined_contact_is_not_offered_again_to_the_same_agent() -> None:
    engine, _ = make_engine(queue())
    ready_agent(engine, "a1")
    engine.arrive(contact("c1"))
    engine.arrive(contact("c2"))
    events = engine.decline("a1", "c1")
    assert offers(events) == [("c2", "a1")]
    ready_agent(engine, "a2")
    assert engine.snapshot()["contacts"]["c1"]["agent_id"] == "a2"


def test_queue_stats() -> None:
    engine, clock = make_engine(queue())
    ready_agent(engine, "a1")
    engine.arrive(contact("c1"))
    clock.advance(5)
    engine.accept("a1", "c1")
    engine.arrive(contact("c2"))
    clock.advance(30)
    engine.abandon("c2")
    stats = engine.queue_stats("q1")
    assert stats["answered"] == 1 and stats["abandoned"] == 1
    assert stats["service_level"] == 0.5
    assert stats["agents"] == {"busy": 1}
