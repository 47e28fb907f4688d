"""Work-order pages: the back-office workbench, order detail, new order, reports."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
