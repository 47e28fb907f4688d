"""Engine commands as data: persist ``as_dict()`` with a timestamp, replay with ``execute``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from kefu.routing.codec import from_plain, to_plain
from kefu.routing.errors import InvalidArgument
from kefu.routing.events import RoutingEvent
from kefu.routing.model import AgentProfile, Contact, Presence, QueueConfig

if TYPE_CHECKING:
    from kefu.routing.engine import RoutingEngine

__all__ = [
    "COMMAND_TYPES",
    "Abandon",
    "Accept",
    "AddQueue",
    "AddSkills",
    "Arrive",
    "Command",
    "Complete",
    "Decline",
    "FinishWrapUp",
    "Login",
    "Logout",
    "RequestCallback",
    "SetSkills",
    "SetState",
    "SiteDown",
    "SiteUp",
    "Tick",
    "Transfer",
    "UpdateQueue",
    "command_from_dict",
]


@dataclass(frozen=True, kw_only=True)
class Command:
    type: ClassVar[str] = ""

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        raise NotImplementedError

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type}
        data.update(to_plain(self))
        return data

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Command:
        return command_from_dict(data)


@dataclass(frozen=True, kw_only=True)
class AddSkills(Command):
    type: ClassVar[str] = "add_skills"
    names: tuple[str, ...]

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        return engine.add_skills(self.names)


@dataclass(frozen=True, kw_only=True)
class AddQueue(Command):
    type: ClassVar[str] = "add_queue"
    config: QueueConfig

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        return engine.add_queue(self.config)


@dataclass(frozen=True, kw_only=True)
class UpdateQueue(Command):
    type: ClassVar[str] = "update_queue"
    config: QueueConfig

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        return engine.update_queue(self.config)


@dataclass(frozen=True, kw_only=True)
class Login(Command):
    type: ClassVar[str] = "login"
    profile: AgentProfile

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        return engine.login(self.profile)


@dataclass(frozen=True, kw_only=True)
class Logout(Command):
    type: ClassVar[str] = "logout"
    agent_id: str

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        return engine.logout(self.agent_id)


@dataclass(frozen=True, kw_only=True)
class SetState(Command):
    type: ClassVar[str] = "set_state"
    agent_id: str
    presence: Presence
    reason: str = ""

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        return engine.set_state(self.agent_id, self.presence, self.reason)


@dataclass(frozen=True, kw_only=True)
class SetSkills(Command):
    type: ClassVar[str] = "set_skills"
    agent_id: str
    skills: Mapping[str, int] = field(default_factory=dict)

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        return engine.set_skills(self.agent_id, self.skills)


@dataclass(frozen=True, kw_only=True)
class Arrive(Command):
    type: ClassVar[str] = "arrive"
    contact: Contact

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        return engine.arrive(self.contact)


@dataclass(frozen=True, kw_only=True)
class Abandon(Command):
    type: ClassVar[str] = "abandon"
    contact_id: str
    reason: str = "abandoned"

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        return engine.abandon(self.contact_id, self.reason)


@dataclass(frozen=True, kw_only=True)
class RequestCallback(Command):
    type: ClassVar[str] = "request_callback"
    contact_id: str
    at: datetime | None = None

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        return engine.request_callback(self.contact_id, self.at)


@dataclass(frozen=True, kw_only=True)
class Accept(Command):
    type: ClassVar[str] = "accept"
    agent_id: str
    contact_id: str

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        return engine.accept(self.agent_id, self.contact_id)


@dataclass(frozen=True, kw_only=True)
class Decline(Command):
    type: ClassVar[str] = "decline"
    agent_id: str
    contact_id: str

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        return engine.decline(self.agent_id, self.contact_id)


@dataclass(frozen=True, kw_only=True)
class Complete(Command):
    type: ClassVar[str] = "complete"
    agent_id: str
    contact_id: str

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        return engine.complete(self.agent_id, self.contact_id)


@dataclass(frozen=True, kw_only=True)
class FinishWrapUp(Command):
    type: ClassVar[str] = "finish_wrap_up"
    agent_id: str
    contact_id: str | None = None

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        return engine.finish_wrap_up(self.agent_id, self.contact_id)


@dataclass(frozen=True, kw_only=True)
class Transfer(Command):
    type: ClassVar[str] = "transfer"
    contact_id: str
    to_queue: str | None = None
    to_agent: str | None = None
    to_ivr: str | None = None
    note: str = ""

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        return engine.transfer(self.contact_id, to_queue=self.to_queue, to_agent=self.to_agent,
                               to_ivr=self.to_ivr, note=self.note)


@dataclass(frozen=True, kw_only=True)
class SiteDown(Command):
    type: ClassVar[str] = "site_down"
    site: str

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        return engine.site_down(self.site)


@dataclass(frozen=True, kw_only=True)
class SiteUp(Command):
    type: ClassVar[str] = "site_up"
    site: str

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        return engine.site_up(self.site)


@dataclass(frozen=True, kw_only=True)
class Tick(Command):
    type: ClassVar[str] = "tick"

    def apply(self, engine: RoutingEngine) -> list[RoutingEvent]:
        return engine.tick()


COMMAND_TYPES: dict[str, type[Command]] = {
    cls.type: cls
    for cls in (
        AddSkills, AddQueue, UpdateQueue, Login, Logout, SetState, SetSkills, Arrive, Abandon,
        RequestCallback, Accept, Decline, Complete, FinishWrapUp, Transfer, SiteDown, SiteUp, Tick,
    )
}


def command_from_dict(data: Mapping[str, Any]) -> Command:
    cls = COMMAND_TYPES.get(str(data.get("type")))
    if cls is None:
        raise InvalidArgument(f"unknown command type {data.get('type')!r}")
    return from_plain(cls, {k: v for k, v in data.items() if k != "type"})
