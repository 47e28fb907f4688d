"""Helpers for routing tests: a clock, an engine with skills, and short constructors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kefu.core.clock import ManualClock
from kefu.routing import (
    AgentProfile,
    Contact,
    Media,
    QueueConfig,
    RoutingEngine,
    RoutingEvent,
)

START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
SKILLS = ("billing", "tech", "fr", "en", "vip")


def make_engine(*queues: QueueConfig) -> tuple[RoutingEngine, ManualClock]:
    clock = ManualClock(START)
    engine = RoutingEngine(clock)
    engine.add_skills(SKILLS)
    for queue in queues:
        engine.add_queue(queue)
    return engine, clock


def queue(queue_id: str = "q1", **kw: Any) -> QueueConfig:
    kw.setdefault("tenant_id", "t1")
    return QueueConfig(queue_id=queue_id, **kw)


def ready_agent(
    engine: RoutingEngine, agent_id: str, *, site: str = "s1", skills: dict[str, int] | None = None,
    capacity: dict[Media, int] | None = None,
) -> list[RoutingEvent]:
    profile = AgentProfile(
        agent_id=agent_id, site=site, skills=skills if skills is not None else {"billing": 5},
        **({"capacity": capacity} if capacity is not None else {}),
    )
    engine.login(profile)
    return engine.set_state(agent_id, "ready")


def contact(
    contact_id: str, queue_id: str = "q1", media: Media = Media.VOICE, **kw: Any
) -> Contact:
    kw.setdefault("tenant_id", "t1")
    return Contact(contact_id=contact_id, queue_id=queue_id, media=media, **kw)


def offers(events: list[RoutingEvent]) -> list[tuple[str, str]]:
    """(contact, agent) of every contact_offered event, in order."""
    return [(e.contact_id, e.agent_id) for e in events if e.type == "contact_offered"]  # type: ignore[attr-defined]


def types(events: list[RoutingEvent]) -> list[str]:
    return [e.type for e in events]


def serve(engine: RoutingEngine, agent_id: str, contact_id: str) -> None:
    """Accept, complete and finish wrap-up."""
    engine.accept(agent_id, contact_id)
    engine.complete(agent_id, contact_id)
    engine.finish_wrap_up(agent_id)
