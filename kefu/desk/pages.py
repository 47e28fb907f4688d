"""Pages: the agent desktop (/desk) and the supervisor wallboard (/wallboard)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, HTMLResponse, Response

from kefu.api.deps import Ctx
from kefu.core.errors import NotFoundError
from kefu.core.i18n import catalog, negotiate
from kefu.web.pages import page_ctx, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"
ASSETS = {"desk.js": "text/javascript", "wallboard.js": "text/javascript", "desk.css": "text/css"}


def _strings(ctx: Ctx, *prefixes: str) -> dict[str, str]:
    """The page's messages in the reader's language, for the script (rendered as JSON)."""
    locale = negotiate(
        ctx.request.cookies.get("kefu_lang"),
        ctx.principal.locale if ctx.principal else None,
        ctx.request.headers.get("accept-language"),
    )
    base = catalog("zh-CN")
    mine = catalog(locale)
    keys = [k for k in base if k.startswith(prefixes)]
    return {k: mine.get(k) or base[k] for k in keys}


def _page(ctx: Ctx, template: str, **data: Any) -> Response:
    return render(ctx.request, template, ctx, **data)


@router.get("/desk", response_class=HTMLResponse)
def desk_page(ctx: Ctx = Depends(page_ctx("desktop.use"))) -> Response:
    strings = _strings(ctx, "desk.", "webchat.", "vip.", "error.")
    return _page(ctx, "desk_desktop.html", strings=strings, me=ctx.principal)


@router.get("/wallboard", response_class=HTMLResponse)
def wallboard_page(ctx: Ctx = Depends(page_ctx("agents.supervise"))) -> Response:
    strings = _strings(ctx, "wb.", "desk.state.", "desk.reason.", "desk.msg.", "desk.media.")
    return _page(ctx, "desk_wallboard.html", strings=strings)


@router.get("/desk/assets/{name}")
def asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFoundError(entity="asset", id=name)
    return FileResponse(
        STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"}
    )
