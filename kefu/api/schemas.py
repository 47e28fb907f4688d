"""Shared API schema bases: strict inputs (unknown fields refused) and paged lists."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

__all__ = ["Input", "Output", "Page"]

T = TypeVar("T")


class Input(BaseModel):
    """Request bodies: unknown fields and wrong types are errors, never silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=False)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
