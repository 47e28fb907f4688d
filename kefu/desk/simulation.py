"""Keeps the demo center alive (``kefu demo`` only; off with KEFU_DEMO_SIMULATION=0).

Simulated customers start web chats and calls at a realistic rate and give up when they wait
too long; simulated agents (demo agents without the chat skill) log in, answer calls, talk,
wrap up with a disposition. Everything goes through the same services as people use, so the
wallboard moves, history grows, and a person signed in as the demo agent ``agent`` receives
the simulated customers' chats — who answer, say thanks and rate the service.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.channels.webchat import services as chat
from kefu.channels.webchat.tables import ChatConversation, ChatWidget
from kefu.core.errors import DomainError
from kefu.core.events import Event
from kefu.customers.tables import Customer
from kefu.desk import services as desk
from kefu.desk.tables import Disposition
from kefu.routing.tables import AgentSkill, Skill
from kefu.tenancy import Principal, Scoped, permissions_for
from kefu.tenancy.model import Role
from kefu.tenancy.tables import Tenant, User

__all__ = ["DemoSimulation", "start_simulation"]

log = logging.getLogger(__name__)

OPENERS = [
    "你好，我这个月话费怎么多扣了30元？",
    "请问怎么把套餐改成5G畅享套餐？",
    "家里宽带从昨晚开始就连不上了",
    "我想查一下流量还剩多少",
    "国际漫游怎么开通？下周去日本",
    "我的积分可以兑换什么？",
]
REPLIES = [
    "好的",
    "手机号就是我现在留的这个",
    "嗯，明白了",
    "那大概要多久能处理好？",
    "好的，我等一下",
    "还有一个问题，月底之前能办好吗？",
]
THANKS = ["好的，谢谢！", "明白了，非常感谢", "行，辛苦了"]
VOICE_QUEUES = ("Q_BILL", "Q_DATA", "Q_BB", "Q_CMPL", "Q_VIP", "Q_EN")


@dataclass(order=True)
class _Due:
    at: float
    n: int
    action: Callable[[], None] = field(compare=False)


@dataclass
class _Customer:
    conversation_id: int
    token: str
    turns: int
    patience_s: float
    said: int = 0


class DemoSimulation:
    """Drive with ``step()`` (tests, with a manual clock) or ``start()`` (a daemon thread)."""

    def __init__(
        self,
        container: Any,
        *,
        tenant_id: int,
        widget_key: str,
        agents: list[int],
        voice_queues: tuple[str, ...] = VOICE_QUEUES,
        chats_per_min: float = 1.5,
        calls_per_min: float = 5.0,
        seed: int = 20261126,
    ) -> None:
        self.container = container
        self.tenant_id = tenant_id
        self.widget_key = widget_key
        self.agents = agents
        self.voice_queues = voice_queues
        self.chats_per_min = chats_per_min
        self.calls_per_min = calls_per_min
        self.rng = random.Random(seed)
        self.inbox: queue.Queue[Event] = queue.Queue()
        self.due: list[_Due] = []
        self.counter = itertools.count()
        self.customers: dict[int, _Customer] = {}
        self.principals: dict[int, Principal] = {}
        self._ids: set[str] = set()
        self.customer_ids: list[int] = []
        self.dispositions: list[str] = []
        self.next_chat = 0.0
        self.next_call = 0.0
        self.started = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # -- plumbing -----------------------------------------------------------------------------
    @property
    def clock(self) -> Any:
        return self.container.clock

    @property
    def routing(self) -> Any:
        return self.container.routing_service

    def _now(self) -> float:
        moment: datetime = self.clock.now()
        return moment.timestamp()

    def _later(self, seconds: float, action: Callable[[], None]) -> None:
        heapq.heappush(self.due, _Due(self._now() + seconds, next(self.counter), action))

    def _session(self) -> Session:
        session: Session = self.container.db.sessions()
        session.info["clock"] = self.clock
        session.info["actor_name"] = "demo simulation"
        return session

    def _as_agent(self, user_id: int, fn: Callable[[Scoped], Any]) -> Any:
        with self._session() as session:
            scope = Scoped(session, self.principals[user_id], self.clock)
            try:
                result = fn(scope)
                session.commit()
                return result
            except DomainError as exc:
                session.rollback()
                log.debug("simulated agent %s: %s", user_id, exc.code)
                return None

    def _on_event(self, event: Event) -> None:
        if event.tenant_id != self.tenant_id:
            return
        if (
            event.type == "webchat.message" and event.data.get("conversation_id") in self.customers
        ) or (event.type == "contact_offered" and str(event.data.get("agent_id")) in self._ids):
            self.inbox.put(event)

    # -- lifecycle ----------------------------------------------------------------------------
    def setup(self) -> None:
        with self._session() as session:
            users = {
                u.id: u
                for u in session.scalars(
                    select(User).where(User.tenant_id == self.tenant_id, User.id.in_(self.agents))
                )
            }
            self.customer_ids = list(
                session.scalars(select(Customer.id).where(Customer.tenant_id == self.tenant_id))
            )
            self.dispositions = list(
                session.scalars(
                    select(Disposition.code).where(Disposition.tenant_id == self.tenant_id)
                )
            )
        for user_id, user in users.items():
            roles = frozenset(Role(r) for r in user.roles)
            self.principals[user_id] = Principal(
                user_id,
                self.tenant_id,
                user.username,
                user.display_name,
                roles,
                permissions=permissions_for(roles),
            )
        self._ids = {str(i) for i in self.principals}
        self._unsubscribe = self.container.bus.subscribe(self._on_event)
        for user_id in self.principals:
            self._as_agent(user_id, functools.partial(self._sign_in, user_id=user_id))
        now = self._now()
        self.next_chat = now + self.rng.expovariate(self.chats_per_min / 60)
        self.next_call = now + self.rng.expovariate(self.calls_per_min / 60)
        self.started = True

    def _sign_in(self, scope: Scoped, *, user_id: int) -> None:
        view = self.routing.agent_view(user_id)
        if view is None or view.get("state") == "offline":
            self.routing.login(scope, scope.session.get(User, user_id))
        self.routing.set_state(scope, user_id, "ready", "")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kefu-demo-sim", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._unsubscribe is not None:
            self._unsubscribe()

    def _run(self) -> None:
        runtime = self.container.routing
        while getattr(runtime, "_thread", None) is None and not self._stop.is_set():
            time.sleep(0.2)  # the server's lifespan starts routing first
        try:
            self.setup()
        except Exception:
            log.exception("demo simulation could not start")
            return
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # the demo must keep running whatever one step does
                log.exception("demo simulation step failed")
            time.sleep(0.5)

    # -- one step -----------------------------------------------------------------------------
    def step(self) -> None:
        if not self.started:
            self.setup()
        while True:
            try:
                event = self.inbox.get_nowait()
            except queue.Empty:
                break
            self._react(event)
        now = self._now()
        while self.due and self.due[0].at <= now:
            heapq.heappop(self.due).action()
        if now >= self.next_chat:
            self.next_chat = now + self.rng.expovariate(self.chats_per_min / 60)
            self._new_chat()
        if now >= self.next_call:
            self.next_call = now + self.rng.expovariate(self.calls_per_min / 60)
            self._new_call()

    def _react(self, event: Event) -> None:
        data = event.data
        if event.type == "contact_offered":
            agent_id, contact_id = int(data["agent_id"]), str(data["contact_id"])
            self._later(self.rng.uniform(2, 6), lambda: self._answer(agent_id, contact_id, data))
            return
        who = self.customers.get(int(data["conversation_id"]))
        if who is None:
            return
        kind, sender = data.get("kind"), data.get("sender")
        if kind == "agent_joined" or (sender == "agent" and kind == "text"):
            self._later(self.rng.uniform(3, 9), lambda: self._customer_says(who))
        elif kind == "ended":
            self._later(self.rng.uniform(2, 5), lambda: self._customer_rates(who))

    # -- customers ----------------------------------------------------------------------------
    def _new_chat(self) -> None:
        phone = ""
        if self.customer_ids and self.rng.random() < 0.6:
            with self._session() as session:
                person = session.get(Customer, self.rng.choice(self.customer_ids))
                phone = person.phone if person is not None else ""
        with self._session() as session:
            try:
                widget = chat.widget_by_key(session, self.widget_key)
                topic = self.rng.choice(widget.topics or [{"code": ""}]).get("code", "")
                conversation, token = chat.start_conversation(
                    session,
                    self.clock,
                    self.routing,
                    widget,
                    name=self.rng.choice(["张女士", "李先生", "王先生", "刘女士", "陈先生"]),
                    phone=phone,
                    topic=str(topic),
                    text=self.rng.choice(OPENERS),
                    page_url="https://www.example.com/help",
                )
            except DomainError as exc:
                log.debug("simulated chat refused: %s", exc.code)
                return
        who = _Customer(
            conversation.id,
            token,
            turns=self.rng.randint(2, 4),
            patience_s=self.rng.uniform(60, 300),
        )
        self.customers[conversation.id] = who
        self._later(who.patience_s, lambda: self._customer_gives_up(who))

    def _conversation(self, session: Session, who: _Customer) -> ChatConversation | None:
        return session.get(ChatConversation, who.conversation_id)

    def _customer_says(self, who: _Customer) -> None:
        with self._session() as session:
            conversation = self._conversation(session, who)
            if conversation is None or conversation.status != "active":
                return
            who.said += 1
            text = self.rng.choice(THANKS if who.said >= who.turns else REPLIES)
            try:
                chat.customer_send(session, self.clock, conversation, text, f"sim-{who.said}")
            except DomainError:
                return
            if who.said >= who.turns:
                self._later(self.rng.uniform(20, 40), lambda: self._customer_leaves(who))

    def _customer_leaves(self, who: _Customer) -> None:
        with self._session() as session:
            conversation = self._conversation(session, who)
            if conversation is not None and conversation.status == "active":
                try:
                    chat.customer_end(session, self.clock, self.routing, conversation)
                except DomainError:
                    return

    def _customer_gives_up(self, who: _Customer) -> None:
        with self._session() as session:
            conversation = self._conversation(session, who)
            if conversation is None or conversation.status not in ("waiting", "transferring"):
                return
            widget = session.get(ChatWidget, conversation.widget_id)
            try:
                if widget is not None and widget.callback_queue and self.rng.random() < 0.3:
                    phone = "139" + "".join(str(self.rng.randint(0, 9)) for _ in range(8))
                    chat.customer_callback(
                        session, self.clock, self.routing, conversation, widget, phone
                    )
                else:
                    chat.customer_end(session, self.clock, self.routing, conversation)
            except DomainError:
                return
        self.customers.pop(who.conversation_id, None)

    def _customer_rates(self, who: _Customer) -> None:
        with self._session() as session:
            conversation = self._conversation(session, who)
            if conversation is not None and conversation.rating is None:
                with contextlib.suppress(DomainError):
                    chat.rate(session, self.clock, conversation, self.rng.choice((3, 4, 5, 5)), "")
        self.customers.pop(who.conversation_id, None)

    def _new_call(self) -> None:
        if not self.voice_queues:
            return
        system = Principal(0, self.tenant_id, "demo", "demo simulation", frozenset())
        with self._session() as session:
            scope = Scoped(session, system, self.clock)
            try:
                row = self.routing.arrive(
                    scope,
                    queue=self.rng.choice(self.voice_queues),
                    media="voice",
                    external_id=None,
                    customer_id=self.rng.choice(self.customer_ids) if self.customer_ids else None,
                    priority=0.0,
                    attributes={"channel": "voice", "simulated": True},
                    skills={},
                )
            except DomainError as exc:
                log.debug("simulated call refused: %s", exc.code)
                return
        contact_id = row.id
        self._later(self.rng.uniform(20, 150), lambda: self._caller_hangs_up(contact_id))

    def _caller_hangs_up(self, contact_id: str) -> None:
        system = Principal(0, self.tenant_id, "demo", "demo simulation", frozenset())
        with self._session() as session:
            scope = Scoped(session, system, self.clock)
            try:
                row = self.routing.contact(scope, contact_id)
                if row.status in ("waiting", "offered"):
                    self.routing.abandon(scope, contact_id)
            except DomainError:
                return

    # -- agents -------------------------------------------------------------------------------
    def _answer(self, agent_id: int, contact_id: str, offer: dict[str, Any]) -> None:
        accepted = self._as_agent(
            agent_id, lambda s: self.routing.accept(s, agent_id, contact_id) or True
        )
        if not accepted:
            return
        talk = (
            self.rng.uniform(40, 200) if offer.get("media") != "chat" else self.rng.uniform(60, 120)
        )
        self._later(talk, lambda: self._hang_up(agent_id, contact_id))

    def _hang_up(self, agent_id: int, contact_id: str) -> None:
        done = self._as_agent(
            agent_id, lambda s: self.routing.complete(s, agent_id, contact_id) or True
        )
        if done:
            self._later(self.rng.uniform(5, 25), lambda: self._wrap_up(agent_id, contact_id))

    def _wrap_up(self, agent_id: int, contact_id: str) -> None:
        if not self.dispositions:
            self._as_agent(agent_id, lambda s: self.routing.finish_wrap_up(s, agent_id, contact_id))
            return
        code = self.rng.choice(self.dispositions)
        self._as_agent(
            agent_id,
            lambda s: desk.wrap_up(
                s,
                self.routing,
                contact_id,
                disposition=code,
                business_type="",
                notes="",
                complaint=False,
            ),
        )


def start_simulation(container: Any, tenant_code: str = "demo-telecom") -> DemoSimulation | None:
    """Find the demo tenant, pick agents without the chat skill, and run in the background."""
    with container.db.sessions() as session:
        tenant = session.scalar(select(Tenant).where(Tenant.code == tenant_code))
        if tenant is None:
            return None
        widget = session.scalar(select(ChatWidget).where(ChatWidget.tenant_id == tenant.id))
        chatters = set(
            session.scalars(
                select(AgentSkill.user_id)
                .join(Skill, Skill.id == AgentSkill.skill_id)
                .where(Skill.tenant_id == tenant.id, Skill.code == "chat")
            )
        )
        agents = [
            u.id
            for u in session.scalars(
                select(User).where(User.tenant_id == tenant.id).order_by(User.id)
            )
            if u.roles == ["agent"]
            and u.username not in ("agent", "a1002")
            and u.id not in chatters
        ][:20]
    simulation = DemoSimulation(
        container,
        tenant_id=tenant.id,
        widget_key=widget.key if widget is not None else "",
        agents=agents,
    )
    simulation.start()
    return simulation
