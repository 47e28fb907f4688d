"""Routing services: configuration rows become engine commands; agents and contacts by tenant.

Engine identifiers are namespaced so one engine serves every tenant without mixing them:
queues, skills and sites are ``<tenant_id>.<code>``; agents are user ids; contacts are random
ids. Every queue also requires, and every agent holds, the tenant's own marker skill
``<tenant_id>.tenant`` — so no agent can ever match another tenant's queue.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.errors import ConflictError, DomainError, NotFoundError, ValidationFailed
from kefu.customers import check_customer
from kefu.db.session import end_read_transaction
from kefu.routing import provision
from kefu.routing.commands import (
    Abandon,
    Accept,
    AddQueue,
    AddSkills,
    Arrive,
    Complete,
    Decline,
    FinishWrapUp,
    Login,
    Logout,
    RequestCallback,
    SetSkills,
    SetState,
    SiteDown,
    SiteUp,
    Transfer,
    UpdateQueue,
)
from kefu.routing.errors import RoutingError
from kefu.routing.events import RoutingEvent
from kefu.routing.model import (
    AgentProfile,
    Contact,
    MaxWaitAction,
    Media,
    OverflowStep,
    Presence,
    ServiceLevel,
    Strategy,
)
from kefu.routing.model import QueueConfig as EngineQueue
from kefu.routing.projection import fold_contact_event
from kefu.routing.runtime import RoutingRuntime, public_event_data
from kefu.routing.tables import AgentSkill, QueueConfig, RoutingContact, Skill
from kefu.tenancy import Principal, Scoped, site_code_of, user_in_tenant

__all__ = [
    "DEFAULT_CAPACITY",
    "RoutingService",
    "agent_profile",
    "engine_queue",
    "queue_id",
    "skill_id",
]

DEFAULT_CAPACITY = {
    "voice": 1,
    "callback": 1,
    "video": 1,
    "chat": 3,
    "social": 3,
    "sms": 5,
    "email": 5,
    "work_order": 10,
}
_STATUS = {
    "unknown_queue": 404,
    "unknown_contact": 404,
    "unknown_agent": 409,
    "unknown_skill": 422,
    "invalid_argument": 422,
    "unsupported_media": 422,
    "duplicate_contact": 409,
    "duplicate_queue": 409,
    "invalid_transition": 409,
    "tenant_mismatch": 404,
}


def queue_id(tenant_id: int, code: str) -> str:
    return f"{tenant_id}.{code}"


def skill_id(tenant_id: int, code: str) -> str:
    return f"{tenant_id}.{code}"


def tenant_skill(tenant_id: int) -> str:
    return f"{tenant_id}.tenant"


def engine_queue(row: QueueConfig) -> EngineQueue:
    """The engine's queue configuration built from a ``queues`` row (options hold the rest)."""
    t = row.tenant_id
    options: dict[str, Any] = dict(row.options or {})
    skills = {skill_id(t, s["skill"]): int(s.get("min_level", 1)) for s in row.skills}
    skills[tenant_skill(t)] = 1
    overflow = []
    for step in options.get("overflow", []):
        step = dict(step)
        if "skills" in step:
            step["skills"] = {skill_id(t, k): int(v) for k, v in step["skills"].items()}
        if "sites" in step:
            step["sites"] = tuple(skill_id(t, s) for s in step["sites"])
        if step.get("queue_id"):
            step["queue_id"] = queue_id(t, step["queue_id"])
        overflow.append(OverflowStep(**step))
    media = options.get("media") or [row.media]
    extra = {
        k: options[k]
        for k in (
            "ring_timeout_s",
            "wrap_up_s",
            "sticky_s",
            "aging_per_min",
            "default_aht_s",
            "max_length",
            "transfer_wait_s",
        )
        if k in options
    }
    return EngineQueue(
        queue_id=queue_id(t, row.code),
        tenant_id=str(t),
        skills=skills,
        media=tuple(Media(m) for m in media),
        base_priority=float(row.priority),
        media_priority={Media(k): float(v) for k, v in options.get("media_priority", {}).items()},
        service_level=ServiceLevel(target=row.sl_target, threshold_s=float(row.sl_threshold_s)),
        strategy=Strategy(row.strategy),
        overflow=tuple(overflow),
        max_wait_s=float(row.max_wait_s) if row.max_wait_s else None,
        max_wait_action=MaxWaitAction(options.get("max_wait_action", "callback")),
        max_wait_target=str(options.get("max_wait_target", "")),
        **extra,
    )


def agent_profile(session: Session, principal_tenant: int, user: Any) -> AgentProfile:
    rows = session.execute(
        select(Skill.code, AgentSkill.level)
        .join(AgentSkill, AgentSkill.skill_id == Skill.id)
        .where(AgentSkill.user_id == user.id, AgentSkill.tenant_id == principal_tenant)
    ).all()
    skills = {skill_id(principal_tenant, code): int(level) for code, level in rows}
    skills[tenant_skill(principal_tenant)] = 1
    site_code = site_code_of(session, user.site_id) or "main"
    return AgentProfile(
        agent_id=str(user.id),
        site=skill_id(principal_tenant, site_code),
        team=str(user.team_id or ""),
        skills=skills,
        capacity={Media(k): v for k, v in DEFAULT_CAPACITY.items()},
    )


def as_domain_error(exc: RoutingError) -> DomainError:
    return DomainError(exc.code, status=_STATUS.get(exc.code, 409), reason=exc.message)


class RoutingService:
    """What the API and channels call; every change goes through the runtime's command log."""

    def __init__(self, runtime: RoutingRuntime) -> None:
        self.runtime = runtime
        # One sync at a time: two requests must not both add the same missing queue.
        self._sync_lock = threading.Lock()

    def _submit(self, scope: Scoped, command: Any, **kw: Any) -> list[RoutingEvent]:
        # The runtime commits in a transaction of its own (it would wait for the caller's
        # writes, so callers have none here): end the caller's read-only transaction, so that
        # its connection returns to the pool while the worker runs (a commit: nothing expires).
        end_read_transaction(scope.session)
        try:
            return self.runtime.submit(
                command, tenant_id=scope.tenant_id, actor=scope.principal, **kw
            )
        except RoutingError as exc:
            raise as_domain_error(exc) from exc

    # -- configuration -------------------------------------------------------------------------
    def sync_tenant(
        self, session: Session, tenant_id: int, principal: Principal | None = None
    ) -> None:
        """Bring the engine's skills and queues in line with the tenant's configuration rows."""
        with self._sync_lock:
            self._sync_tenant(session, tenant_id, principal)

    def _sync_tenant(
        self, session: Session, tenant_id: int, principal: Principal | None = None
    ) -> None:
        codes = session.scalars(select(Skill.code).where(Skill.tenant_id == tenant_id)).all()
        known = self.runtime.skills
        wanted = [skill_id(tenant_id, c) for c in codes] + [tenant_skill(tenant_id)]
        missing = tuple(sorted(set(wanted) - known))
        if missing:
            self.runtime.submit(AddSkills(names=missing), tenant_id=tenant_id, actor=principal)
        for row in session.scalars(select(QueueConfig).where(QueueConfig.tenant_id == tenant_id)):
            try:
                config = engine_queue(row)
            except (RoutingError, ValueError, TypeError, KeyError) as exc:
                raise ValidationFailed("bad_queue_config", queue=row.code, reason=str(exc)) from exc
            current = self.runtime.queue_configs.get(config.queue_id)
            if current is None:
                self.runtime.submit(AddQueue(config=config), tenant_id=tenant_id, actor=principal)
            elif current != config:
                self.runtime.submit(
                    UpdateQueue(config=config), tenant_id=tenant_id, actor=principal
                )

    # -- contacts ------------------------------------------------------------------------------
    def arrive(
        self,
        scope: Scoped,
        *,
        queue: str,
        media: str,
        external_id: str | None,
        customer_id: int | None,
        priority: float,
        attributes: dict[str, Any],
        skills: dict[str, int],
        sla_deadline: Any = None,
        contact_id: str | None = None,
    ) -> RoutingContact:
        session = scope.session
        if external_id and session.scalar(
            select(RoutingContact.id).where(
                RoutingContact.tenant_id == scope.tenant_id,
                RoutingContact.external_id == external_id,
            )
        ):
            raise ConflictError("duplicate_contact", external_id=external_id)
        if customer_id is not None:
            check_customer(scope, customer_id)
        contact_id = contact_id or uuid.uuid4().hex  # a channel may name it (to find it in events)
        contact = Contact(
            contact_id=contact_id,
            tenant_id=str(scope.tenant_id),
            queue_id=queue_id(scope.tenant_id, queue),
            media=Media(media),
            priority=priority,
            customer_id=str(customer_id or ""),
            attributes=attributes,
            skills={skill_id(scope.tenant_id, k): v for k, v in skills.items()},
            created_at=scope.clock.now(),
            sla_deadline=sla_deadline,
        )
        row = RoutingContact(
            id=contact_id,
            tenant_id=scope.tenant_id,
            external_id=external_id,
            queue_code=queue,
            media=media,
            customer_id=customer_id,
            created_at=scope.clock.now(),
            attributes=attributes,
        )

        def store(session: Session, events: list[RoutingEvent]) -> None:
            # The read-model row joins the same commit; the arrival's events fold into it.
            session.add(row)
            session.flush()
            for event in events:
                fold_contact_event(session, public_event_data(event), scope.tenant_id)

        self._submit(scope, Arrive(contact=contact), before_commit=store)
        return row

    def contact(self, scope: Scoped, contact_id: str) -> RoutingContact:
        row = scope.session.get(RoutingContact, contact_id)
        if row is None or row.tenant_id != scope.tenant_id:
            raise NotFoundError(entity="contact", id=contact_id)
        scope.session.refresh(row)
        return row

    def position(self, contact_id: str) -> dict[str, Any] | None:
        return self.positions([contact_id]).get(contact_id)

    def positions(self, contact_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Queue position and expected wait of the contacts still waiting, in one engine read."""

        def read(engine: Any) -> dict[str, dict[str, Any]]:
            out: dict[str, dict[str, Any]] = {}
            for contact_id in contact_ids:
                try:
                    pos = engine.position(contact_id)
                except RoutingError:
                    continue  # no longer waiting
                out[contact_id] = {
                    "position": pos.position,
                    "expected_wait_s": pos.expected_wait_s,
                }
            return out

        found: dict[str, dict[str, Any]] = self.runtime.read(read)
        return found

    def abandon(self, scope: Scoped, contact_id: str, reason: str = "abandoned") -> None:
        """The contact leaves: the customer gave up, or its channel ended it (``reason``)."""
        self.contact(scope, contact_id)
        self._submit(scope, Abandon(contact_id=contact_id, reason=reason))

    def callback(self, scope: Scoped, contact_id: str) -> None:
        self.contact(scope, contact_id)
        self._submit(scope, RequestCallback(contact_id=contact_id))

    def transfer(
        self,
        scope: Scoped,
        contact_id: str,
        *,
        to_queue: str | None,
        to_agent: int | None,
        note: str,
        to_ivr: str | None = None,
    ) -> None:
        self.contact(scope, contact_id)
        if to_agent is not None:
            user_in_tenant(scope, to_agent)
        self._submit(
            scope,
            Transfer(
                contact_id=contact_id,
                to_queue=queue_id(scope.tenant_id, to_queue) if to_queue else None,
                to_agent=str(to_agent) if to_agent is not None else None,
                to_ivr=to_ivr,
                note=note,
            ),
        )

    # -- agents --------------------------------------------------------------------------------
    def login(self, scope: Scoped, user: Any) -> None:
        self.sync_tenant(scope.session, scope.tenant_id, scope.principal)
        profile = agent_profile(scope.session, scope.tenant_id, user)
        self._submit(scope, Login(profile=profile))

    def logout(self, scope: Scoped, user_id: int) -> None:
        self._submit(scope, Logout(agent_id=str(user_id)))

    def set_state(self, scope: Scoped, user_id: int, presence: str, reason: str) -> None:
        self._own_agent(user_id)
        self._submit(
            scope, SetState(agent_id=str(user_id), presence=Presence(presence), reason=reason)
        )

    def accept(self, scope: Scoped, user_id: int, contact_id: str) -> None:
        self._submit(scope, Accept(agent_id=str(user_id), contact_id=contact_id))

    def decline(self, scope: Scoped, user_id: int, contact_id: str) -> None:
        self._submit(scope, Decline(agent_id=str(user_id), contact_id=contact_id))

    def complete(self, scope: Scoped, user_id: int, contact_id: str) -> None:
        self._submit(scope, Complete(agent_id=str(user_id), contact_id=contact_id))

    def finish_wrap_up(self, scope: Scoped, user_id: int, contact_id: str | None) -> None:
        self._submit(scope, FinishWrapUp(agent_id=str(user_id), contact_id=contact_id))

    def set_skills(self, scope: Scoped, user: Any) -> None:
        if str(user.id) in self.runtime.agent_tenant:
            self.sync_tenant(scope.session, scope.tenant_id, scope.principal)
            profile = agent_profile(scope.session, scope.tenant_id, user)
            self._submit(scope, SetSkills(agent_id=str(user.id), skills=profile.skills))

    def site(self, scope: Scoped, code: str, up: bool) -> None:
        site = skill_id(scope.tenant_id, code)
        self._submit(scope, SiteUp(site=site) if up else SiteDown(site=site))

    def agent_view(self, user_id: int) -> dict[str, Any] | None:
        if str(user_id) not in self.runtime.agent_tenant:
            return None
        view: dict[str, Any] = self.runtime.read(lambda e: e.agent_view(str(user_id)))
        return view

    def _own_agent(self, user_id: int) -> None:
        if str(user_id) not in self.runtime.agent_tenant:
            raise DomainError("agent_not_logged_in", status=409)

    # -- features that route their own work (work orders) ----------------------------------------
    def ensure_queue(
        self,
        session: Session,
        tenant_id: int,
        code: str,
        name: str,
        *,
        media: str,
        strategy: str = "least_occupied",
        options: dict[str, Any] | None = None,
    ) -> bool:
        """Queue and skill rows ``code`` (caller commits, then ``sync_tenant``); True if new."""
        return provision.ensure_queue(
            session, tenant_id, code, name, media=media, strategy=strategy, options=options or {}
        )

    def grant_skill(self, session: Session, tenant_id: int, user_id: int, code: str) -> bool:
        return provision.grant_skill(session, tenant_id, user_id, code, code)

    def revoke_skill(self, session: Session, tenant_id: int, user_id: int, code: str) -> None:
        provision.revoke_skill(session, tenant_id, user_id, code)

    def login_ready(self, scope: Scoped, user: Any, capacity: dict[str, int]) -> list[RoutingEvent]:
        """Log a user in taking only the media in ``capacity`` (so many at once), and make them
        ready: a feature working for people without a desk (back-office work-order handlers)."""
        self.sync_tenant(scope.session, scope.tenant_id, scope.principal)
        profile = agent_profile(scope.session, scope.tenant_id, user)
        profile = replace(profile, capacity={Media(k): v for k, v in capacity.items()})
        events = self._submit(scope, Login(profile=profile))
        events += self._submit(
            scope, SetState(agent_id=str(user.id), presence=Presence.READY, reason="")
        )
        return events

    def contact_view(self, contact_id: str) -> dict[str, Any] | None:
        """The engine's view of a contact (``status`` ``closed`` once over), None if unknown."""
        try:
            view: dict[str, Any] = self.runtime.read(lambda e: e.contact_view(contact_id))
        except RoutingError:
            return None
        return view
