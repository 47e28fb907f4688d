"""Customer-facing pages of web chat: the standalone chat page and the embeddable widget.

``<script src="https://kefu.example.com/webchat/widget.js" data-key="KEY" async></script>``
on any page adds a chat button; it opens ``/chat/KEY?embed=1`` in an iframe served by kefu,
so the customer's browser talks only to kefu (no third-party scripts, no cross-site cookies).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from kefu.api.deps import Ctx, get_ctx
from kefu.channels.webchat import services
from kefu.core.errors import NotFoundError
from kefu.core.i18n import LOCALES, catalog, negotiate, translate

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parents[2] / "web" / "templates"))
ASSETS = {"chat.js": "text/javascript", "chat.css": "text/css"}
PAGE_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self' ws: wss:; frame-ancestors *; base-uri 'none'; "
    "form-action 'none'"
)


def _locale(request: Request) -> str:
    return negotiate(
        request.query_params.get("lang"),
        request.cookies.get("kefu_lang"),
        request.headers.get("accept-language"),
    )


@router.get("/chat/{key}", response_class=HTMLResponse)
def chat_page(key: str, request: Request, embed: int = 0, ctx: Ctx = Depends(get_ctx)) -> Response:
    widget = services.widget_by_key(ctx.session, key)
    locale = _locale(request)
    base, mine = catalog("zh-CN"), catalog(locale)
    strings = {
        k: mine.get(k) or base[k]
        for k in base
        if k.startswith(("webchat.", "error.chat_", "error.not_found", "error.validation"))
    }
    response = TEMPLATES.TemplateResponse(
        request,
        "webchat_chat.html",
        {
            "key": widget.key,
            "name": widget.name,
            "locale": locale,
            "other_locale": next(x for x in LOCALES if x != locale),
            "embed": bool(embed),
            "strings": strings,
            "title": translate("webchat.title", locale),
        },
    )
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/webchat/widget.js")
def widget_script() -> Response:
    return FileResponse(
        STATIC / "widget.js",
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


@router.get("/webchat/assets/{name}")
def asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFoundError(entity="asset", id=name)
    return FileResponse(
        STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"}
    )
