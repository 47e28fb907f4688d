"""Provisioning for features that route their own work (work orders): queue, skill and
agent-skill rows kept in line with the feature's groups, and a login with a medium's capacity.

The rows are the usual configuration (``queues``, ``skills``, ``agent_skills``); the caller
commits, then ``RoutingService.sync_tenant`` / ``set_skills`` push them into the engine.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kefu.routing.tables import AgentSkill, QueueConfig, Skill

__all__ = ["ensure_queue", "grant_skill", "revoke_skill"]


def _skill(session: Session, tenant_id: int, code: str, name: str) -> Skill:
    row = session.scalar(select(Skill).where(Skill.tenant_id == tenant_id, Skill.code == code))
    if row is None:
        row = Skill(tenant_id=tenant_id, code=code, name=name[:120])
        session.add(row)
        session.flush()
    return row


def ensure_queue(
    session: Session,
    tenant_id: int,
    code: str,
    name: str,
    *,
    media: str,
    strategy: str,
    options: dict[str, Any],
) -> bool:
    """A queue ``code`` for one medium requiring the skill of the same code; True if created."""
    _skill(session, tenant_id, code, name)
    row = session.scalar(
        select(QueueConfig).where(QueueConfig.tenant_id == tenant_id, QueueConfig.code == code)
    )
    if row is not None:
        return False
    session.add(
        QueueConfig(
            tenant_id=tenant_id,
            code=code,
            name=name[:120],
            media=media,
            skills=[{"skill": code, "min_level": 1}],
            priority=0,
            strategy=strategy,
            sl_target=0.8,
            sl_threshold_s=86400,
            max_wait_s=0,
            options=options,
        )
    )
    session.flush()
    return True


def grant_skill(session: Session, tenant_id: int, user_id: int, code: str, name: str) -> bool:
    """Give a user the skill ``code`` (level 1); True if it was missing."""
    skill = _skill(session, tenant_id, code, name)
    found = session.scalar(
        select(AgentSkill.id).where(AgentSkill.user_id == user_id, AgentSkill.skill_id == skill.id)
    )
    if found is not None:
        return False
    session.add(AgentSkill(tenant_id=tenant_id, user_id=user_id, skill_id=skill.id, level=1))
    session.flush()
    return True


def revoke_skill(session: Session, tenant_id: int, user_id: int, code: str) -> None:
    skill_id = session.scalar(
        select(Skill.id).where(Skill.tenant_id == tenant_id, Skill.code == code)
    )
    if skill_id is not None:
        session.execute(
            delete(AgentSkill).where(AgentSkill.user_id == user_id, AgentSkill.skill_id == skill_id)
        )
