"""The composition root: one place that builds the app for production, tests and simulation."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import kefu
from kefu.api.limits import BodySizeLimit
from kefu.api.problems import install_problem_handlers
from kefu.config import Settings
from kefu.core.clock import Clock, SystemClock
from kefu.core.events import EventBus, InProcessBus
from kefu.db.eventlog import EventRecord, install_outbox
from kefu.db.group import GroupWriter
from kefu.db.session import Database
from kefu.realtime.hub import Hub
from kefu.routing.runtime import RoutingRuntime
from kefu.routing.services import RoutingService
from kefu.tenancy import Principal
from kefu.tenancy.audit import install_audit

__all__ = ["Container", "build_container", "create_app"]

log = logging.getLogger("kefu")
REQUEST_THREADS = 100


@dataclass
class Container:
    """Everything a process shares: settings, database, clock, event bus, websocket hub."""

    settings: Settings
    db: Database
    clock: Clock
    bus: EventBus
    hub: Hub
    secret_key: str
    routing: RoutingRuntime
    routing_service: RoutingService
    # Small hot writes (chat texts) share transactions: one commit per burst (kefu.db.group).
    writer: GroupWriter

    @staticmethod
    def last_event_id(session: Session) -> int:
        return int(session.scalar(select(func.max(EventRecord.id))) or 0)

    def close(self) -> None:
        self.writer.stop()
        self.routing.stop()
        if self.routing.db is not self.db:
            self.routing.db.dispose()
        self.bus.close()
        self.db.dispose()


def _secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.var_dir) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def make_bus(settings: Settings) -> EventBus:
    if settings.event_bus_url.startswith(("redis://", "rediss://", "unix://")):
        from kefu.realtime.redis_bus import RedisBus

        return RedisBus(settings.event_bus_url)
    return InProcessBus()


def build_container(
    settings: Settings | None = None, *, clock: Clock | None = None, bus: EventBus | None = None
) -> Container:
    settings = settings or Settings()
    db = Database(settings.resolved_database_url())
    bus = bus or make_bus(settings)
    install_outbox(db.sessions, bus)
    install_audit(db.sessions)
    hub = Hub()
    bus.subscribe(hub.on_event)
    clock = clock or SystemClock()
    # The routing worker gets its own connection pool: requests wait for it while holding a
    # connection of theirs, so sharing one pool would let a burst of requests starve it.
    routing_db = Database(settings.resolved_database_url(), pool_size=2)
    install_outbox(routing_db.sessions, bus)
    install_audit(routing_db.sessions)
    runtime = RoutingRuntime(routing_db, clock, bus, settings.timezone)
    container = Container(
        settings,
        db,
        clock,
        bus,
        hub,
        _secret_key(settings),
        runtime,
        RoutingService(runtime),
        GroupWriter(db, name="chat-writer"),
    )
    _register_snapshots(container)
    from kefu.channels.webchat.api import install as install_webchat

    install_webchat(container)  # chats follow routing events; agents subscribe to their chats
    from kefu.wfm.api import install as install_wfm

    install_wfm(container)  # live adherence exceptions from agents' state changes
    from kefu.tickets.dispatch import install as install_workorders

    install_workorders(container)  # routing offers assign work orders
    return container


def _register_snapshots(container: Container) -> None:
    from kefu.tenancy.tables import Site, Team, User

    hub = container.hub

    def tenancy_snapshot(session: Session, principal: Principal, _topic: str) -> dict[str, Any]:
        def count(model: Any) -> int:
            q = (
                select(func.count())
                .select_from(model)
                .where(model.tenant_id == principal.tenant_id)
            )
            return int(session.scalar(q) or 0)

        return {"sites": count(Site), "teams": count(Team), "users": count(User)}

    hub.register_snapshot("tenancy", "org.read", tenancy_snapshot)

    def routing_snapshot(_session: Session, principal: Principal, topic: str) -> dict[str, Any]:
        if topic.startswith("routing.agent."):
            view = container.routing_service.agent_view(int(topic.rsplit(".", 1)[1]))
            return view or {"state": "offline", "slots": {}}
        return container.routing.tenant_stats(principal.tenant_id)

    def own_agent_topic(principal: Principal, topic: str) -> bool:
        return principal.can("agents.supervise") or topic == f"routing.agent.{principal.user_id}"

    hub.register_snapshot("routing.", "agents.supervise", routing_snapshot)
    hub.register_snapshot("routing.agent.", None, routing_snapshot, authorize=own_agent_topic)


def create_app(container: Container | None = None, *, settings: Settings | None = None) -> FastAPI:
    container = container or build_container(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        container.routing.start()  # replays the command log before serving
        # Requests waiting for the routing worker each block a thread (holding no database
        # connection); enough threads that chat traffic never queues behind them.
        anyio.to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
        from kefu.tickets.worker import sla_loop

        sla_task = asyncio.create_task(
            sla_loop(container.db, container.clock, routing=container.routing_service)
        )
        from kefu.knowledge.worker import question_loop

        question_task = asyncio.create_task(question_loop(container.db, container.clock))
        yield
        question_task.cancel()
        sla_task.cancel()
        container.close()

    app = FastAPI(
        title="kefu",
        version=kefu.__version__,
        openapi_url="/api/openapi.json",
        docs_url=None,  # Swagger UI would load from a CDN; the schema itself is served
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.container = container
    install_problem_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=container.settings.max_body_bytes,
        # streamed with their own limits
        exempt_prefixes=("/api/v1/workorders/attachments", "/api/v1/webchat/files"),
    )
    _mount_routes(app)
    return app


def _mount_routes(app: FastAPI) -> None:
    from kefu.api.health import router as health_router
    from kefu.api.routes import prune_by_prefix
    from kefu.channels.sms.api import router as sms_router
    from kefu.channels.voice.api import router as voice_router
    from kefu.channels.voice.kamailio import router as voice_edge
    from kefu.channels.webchat.api import router as webchat_router
    from kefu.channels.webchat.pages import router as webchat_pages
    from kefu.desk.api import router as desk_router
    from kefu.desk.pages import router as desk_pages
    from kefu.ivr.api import router as ivr_router
    from kefu.ivr.pages import router as ivr_pages
    from kefu.knowledge.api import router as knowledge_router
    from kefu.knowledge.pages import router as knowledge_pages
    from kefu.realtime.ws import router as ws_router
    from kefu.routing.api import router as routing_router
    from kefu.simulation.api import pages as simulation_pages
    from kefu.simulation.api import router as simulation_router
    from kefu.tenancy.api import router as tenancy_router
    from kefu.tickets.api import router as tickets_router
    from kefu.tickets.pages import router as tickets_pages
    from kefu.web.pages import mount_web
    from kefu.wfm.api import router as wfm_router
    from kefu.wfm.pages import router as wfm_pages
    from kefu.wfm.staffing.api import pages as staffing_pages
    from kefu.wfm.staffing.api import router as staffing_router

    v1 = APIRouter(prefix="/api/v1")
    v1.include_router(tenancy_router)
    v1.include_router(knowledge_router)
    v1.include_router(tickets_router)
    v1.include_router(routing_router)
    v1.include_router(webchat_router)
    v1.include_router(sms_router)
    v1.include_router(desk_router)
    v1.include_router(ws_router)
    v1.include_router(wfm_router)
    v1.include_router(staffing_router)
    v1.include_router(simulation_router)
    v1.include_router(ivr_router)
    v1.include_router(voice_router)
    app.include_router(health_router)
    app.include_router(v1)
    app.include_router(knowledge_pages)
    app.include_router(tickets_pages)
    app.include_router(wfm_pages)
    app.include_router(staffing_pages)
    app.include_router(simulation_pages)
    app.include_router(ivr_pages)
    app.include_router(webchat_pages)
    app.include_router(desk_pages)
    app.include_router(voice_edge)  # Kamailio asks where calls go (loopback + shared key)
    mount_web(app)
    prune_by_prefix(app.router)  # a request tries only the routers whose prefix it contains
