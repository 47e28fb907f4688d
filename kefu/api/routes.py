"""Route lookup that skips whole routers by their prefix.

FastAPI finds a request's route by trying every route of every included router in turn (twice:
once to match, once to dispatch), a regular expression each — with a few hundred routes that
was more than a millisecond of CPU per request. A router's own prefix (``/webchat``) is part of
the path of every route it holds, wherever it is included, so a path that does not contain it
cannot match any of them: ``prune_by_prefix`` lets each router answer "not mine" with one
substring test before its routes are tried. It only ever skips routers that could not match;
which route a request reaches is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from starlette.routing import Match

__all__ = ["prune_by_prefix"]

_PRUNED = "_kefu_pruned_by_prefix"


def _guarded(prefix: str, matches: Callable[[Any], tuple[Match, Any]]) -> Callable[..., Any]:
    def guarded_matches(scope: Any) -> tuple[Match, Any]:
        path = scope.get("path")
        if isinstance(path, str) and prefix not in path:
            return Match.NONE, {}
        return matches(scope)

    return guarded_matches


def prune_by_prefix(router: APIRouter) -> int:
    """Guard every router included (at any depth) in ``router``; returns how many."""
    count = 0
    for route in router.routes:
        inner = getattr(route, "original_router", None)  # an included router
        if not isinstance(inner, APIRouter):
            continue
        count += prune_by_prefix(inner)
        prefix = inner.prefix
        if prefix and "{" not in prefix and not getattr(inner, _PRUNED, False):
            setattr(inner, "matches", _guarded(prefix, inner.matches))  # noqa: B010
            setattr(inner, _PRUNED, True)
            count += 1
    return count
