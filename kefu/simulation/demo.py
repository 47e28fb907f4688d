"""A small synthetic center for ``kefu simulate --demo`` and the examples in docs/wfm.md.

Invented numbers (no recorded data): 08:00-20:00 in 30-minute intervals, a 普通 (general) and
a VIP voice queue on two skills, 36 agents on an early and a late shift with a break each.
"""

from __future__ import annotations

import math

from kefu.routing import Media, OverflowAction, OverflowStep, QueueConfig
from kefu.simulation.scenario import AgentGroup, Distribution, QueueDemand, Scenario, Shift

__all__ = ["demo_scenario"]


def demo_scenario() -> Scenario:
    intervals, step = 24, 1800
    # a morning and an afternoon peak, calls per half hour
    general = tuple(
        round(60 + 50 * math.exp(-((k - 5) ** 2) / 6) + 35 * math.exp(-((k - 15) ** 2) / 8), 1)
        for k in range(intervals)
    )
    vip = tuple(round(v * 0.25, 1) for v in general)
    queues = (
        QueueDemand(
            config=QueueConfig(
                queue_id="general",
                tenant_id="demo",
                skills={"billing": 3},
                media=(Media.VOICE, Media.CALLBACK),
                wrap_up_s=30,
            ),
            volumes=general,
            handle=Distribution.lognormal(200.0, 150.0),
            patience=Distribution.exponential(150.0),
            callback_share=0.2,
        ),
        QueueDemand(
            config=QueueConfig(
                queue_id="vip",
                tenant_id="demo",
                skills={"vip": 5},
                base_priority=20.0,
                media=(Media.VOICE,),
                wrap_up_s=30,
                overflow=(
                    OverflowStep(
                        after_s=20, action=OverflowAction.ADD_SKILLS, skills={"billing": 6}
                    ),
                ),
            ),
            volumes=vip,
            handle=Distribution.lognormal(240.0, 160.0),
            patience=Distribution.exponential(240.0),
        ),
    )
    day = intervals * step
    agents = (
        AgentGroup(
            name="early",
            count=14,
            skills={"billing": 5},
            shifts=(Shift(0, day * 0.6, ((day * 0.3, 1800.0),)),),
        ),
        AgentGroup(
            name="late",
            count=14,
            skills={"billing": 5},
            shifts=(Shift(day * 0.4, day, ((day * 0.7, 1800.0),)),),
        ),
        AgentGroup(
            name="vip",
            count=8,
            skills={"vip": 7, "billing": 7},
            shifts=(Shift(0, day, ((day * 0.5, 3600.0),)),),
        ),
    )
    return Scenario(queues=queues, agents=agents, interval_s=step, intervals=intervals, name="demo")
