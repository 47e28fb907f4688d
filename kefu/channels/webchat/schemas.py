"""Web chat request and response bodies."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from kefu.api.schemas import Input, Output

__all__ = [
    "CallbackIn",
    "ConversationOut",
    "MessageIn",
    "RatingIn",
    "StartIn",
    "StartOut",
    "WidgetIn",
    "WidgetOut",
    "WidgetPatch",
]


class StartIn(Input):
    name: str = Field(default="", max_length=60)
    phone: str = Field(default="", max_length=40, pattern=r"^[0-9+\- ]*$")
    topic: str = Field(default="", max_length=60)
    message: str = Field(default="", max_length=4000)
    page_url: str = Field(default="", max_length=500)


class MessageIn(Input):
    text: str = Field(max_length=4000)
    client_id: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_\-]*$")


class CallbackIn(Input):
    phone: str = Field(min_length=7, max_length=40, pattern=r"^[0-9+\- ]+$")


class RatingIn(Input):
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=500)


class ConversationOut(Output):
    status: str
    visitor_name: str
    topic: str
    last_seq: int
    created_at: Any
    answered_at: Any = None
    ended_at: Any = None
    rating: int | None = None
    agent: dict[str, str] | None = None
    position: int | None = None
    expected_wait_s: float | None = None
    callback_available: bool = False


class StartOut(Output):
    token: str
    conversation: ConversationOut


class WidgetIn(Input):
    key: str = Field(min_length=6, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=120)
    queue_code: str = Field(min_length=1, max_length=40)
    callback_queue: str = Field(default="", max_length=40)
    welcome: str = Field(default="", max_length=2000)
    topics: list[dict[str, str]] = Field(default_factory=list, max_length=12)
    ivr_flow: str = Field(default="", max_length=40)  # a published IVR flow's code: text menu
    active: bool = True


class WidgetPatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    queue_code: str | None = Field(default=None, min_length=1, max_length=40)
    callback_queue: str | None = Field(default=None, max_length=40)
    welcome: str | None = Field(default=None, max_length=2000)
    topics: list[dict[str, str]] | None = Field(default=None, max_length=12)
    ivr_flow: str | None = Field(default=None, max_length=40)
    active: bool | None = None


class WidgetOut(Output):
    id: int
    key: str
    name: str
    queue_code: str
    callback_queue: str
    welcome: str
    topics: list[dict[str, Any]]
    ivr_flow: str
    active: bool
