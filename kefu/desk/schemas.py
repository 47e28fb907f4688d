"""Agent desktop request and response bodies."""

from __future__ import annotations

from pydantic import Field, model_validator

from kefu.api.schemas import Input, Output

__all__ = [
    "DispositionIn",
    "DispositionOut",
    "DispositionPatch",
    "QuickReplyIn",
    "QuickReplyOut",
    "QuickReplyPatch",
    "TransferIn",
    "WrapUpIn",
]


class TransferIn(Input):
    queue: str | None = Field(default=None, max_length=40)
    agent_id: int | None = None
    note: str = Field(default="", max_length=2000)
    emotion: str = Field(default="", max_length=20)

    @model_validator(mode="after")
    def one_target(self) -> TransferIn:
        if (self.queue is None) == (self.agent_id is None):
            raise ValueError("give exactly one of queue and agent_id")
        return self


class WrapUpIn(Input):
    disposition: str = Field(min_length=1, max_length=40)
    business_type: str = Field(default="", max_length=60)
    notes: str = Field(default="", max_length=4000)
    complaint: bool = False


class DispositionIn(Input):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=120)
    business_type: str = Field(default="", max_length=60)
    active: bool = True


class DispositionPatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    business_type: str | None = Field(default=None, max_length=60)
    active: bool | None = None


class DispositionOut(Output):
    id: int
    code: str
    name: str
    business_type: str
    active: bool


class QuickReplyIn(Input):
    title: str = Field(min_length=1, max_length=60)
    body: str = Field(min_length=1, max_length=2000)
    category: str = Field(default="", max_length=60)
    shortcut: str = Field(default="", max_length=20, pattern=r"^[A-Za-z0-9_]*$")


class QuickReplyPatch(Input):
    title: str | None = Field(default=None, min_length=1, max_length=60)
    body: str | None = Field(default=None, min_length=1, max_length=2000)
    category: str | None = Field(default=None, max_length=60)
    shortcut: str | None = Field(default=None, max_length=20, pattern=r"^[A-Za-z0-9_]*$")


class QuickReplyOut(Output):
    id: int
    title: str
    body: str
    category: str
    shortcut: str
