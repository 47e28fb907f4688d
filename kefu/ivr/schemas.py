"""IVR request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from kefu.api.schemas import Input, Output

__all__ = ["FlowIn", "FlowOut", "SourceIn", "VersionOut"]


class SourceIn(Input):
    """A flow definition: a JSON object, or the editor's text in JSON or YAML."""

    definition: dict[str, Any] | None = None
    source: str | None = Field(default=None, max_length=200_000)
    format: Literal["json", "yaml"] = "json"

    @model_validator(mode="after")
    def _one_of(self) -> SourceIn:
        if (self.definition is None) == (self.source is None):
            raise ValueError("give either definition or source")
        return self


class FlowIn(SourceIn):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,39}$")
    name: str = Field(min_length=1, max_length=120)


class FlowOut(Output):
    id: int
    code: str
    name: str
    published_version: int | None
    created_at: datetime
    updated_at: datetime


class VersionOut(Output):
    version: int
    status: str
    errors: int
    warnings: int
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    published_by: int | None
    published_at: datetime | None
