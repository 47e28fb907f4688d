"""Imported first by ``kefu.routing`` and ``kefu.simulation``: runs :func:`kefu.core.native.guard`
before any module that may be compiled is imported (see kefu/core/native.py)."""

from kefu.core.native import guard

__all__ = ["STATE"]

STATE = guard()  # "compiled" or "source"
