"""HTTP and websocket API of web chat.

Customers have no login: ``POST /webchat/public/{widget key}/conversations`` returns a secret
token; every later call sends it as ``X-Chat-Token`` (or in the socket's ``hello``), and it
names exactly one conversation — there is no conversation id a customer could change to read
another one. Agents and supervisors use their session like every other route.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from kefu.api.crud import CrudSpec, crud_router
from kefu.api.deps import Ctx, get_ctx, require
from kefu.channels.webchat import services
from kefu.channels.webchat.live import Listener, fanout_for
from kefu.channels.webchat.model import OPEN_STATUSES, SeqGate
from kefu.channels.webchat.schemas import (
    CallbackIn,
    ConversationOut,
    MessageIn,
    RatingIn,
    StartIn,
    StartOut,
    WidgetIn,
    WidgetOut,
    WidgetPatch,
)
from kefu.channels.webchat.tables import (
    ChatAttachment,
    ChatConversation,
    ChatWidget,
)
from kefu.core.errors import DomainError, NotFoundError
from kefu.db.session import end_read_transaction
from kefu.tenancy import Principal
from kefu.tenancy.tables import User

if TYPE_CHECKING:
    from kefu.bootstrap import Container

__all__ = ["install", "router"]

router = APIRouter(prefix="/webchat", tags=["webchat"])
TOKEN_HEADER = "X-Chat-Token"
POLICY_VIOLATION = 1008
POSITION_EVERY_S = 2.0
CHUNK = 64 * 1024

router.include_router(
    crud_router(
        CrudSpec(
            "widgets",
            "widget",
            ChatWidget,
            WidgetIn,
            WidgetPatch,
            WidgetOut,
            "org.read",
            "routing.manage",
            topic="webchat.config",
            tags=("webchat",),
        )
    )
)


def _routing(container: Any) -> Any:
    return container.routing_service


def _state(container: Any, session: Session, conversation: ChatConversation) -> dict[str, Any]:
    """What the customer may know about their conversation (no ids of people or contacts)."""
    out = ConversationOut.model_validate(conversation).model_dump(mode="json")
    if conversation.agent_id is not None and conversation.status == "active":
        agent = session.get(User, conversation.agent_id)
        if agent is not None:
            out["agent"] = {"name": agent.display_name, "job_number": agent.job_number}
    widget = session.get(ChatWidget, conversation.widget_id)
    out["callback_available"] = bool(widget and widget.callback_queue)
    end_read_transaction(session)  # the engine may be busy writing: free the connection
    if conversation.status in ("waiting", "transferring"):
        position = _routing(container).position(conversation.contact_id)
        if position:
            out["position"], out["expected_wait_s"] = _customer_position(position)
    return out


def _customer_position(position: dict[str, Any]) -> tuple[int, int | None]:
    """Place in the queue and whole seconds of expected wait (None: no estimate yet)."""
    wait = position["expected_wait_s"]
    finite = wait is not None and math.isfinite(wait)
    return int(position["position"]), (round(wait) if finite else None)


def _customer(ctx: Ctx, token: str | None) -> ChatConversation:
    return services.conversation_by_token(ctx.session, token)


# --- public: the widget and starting a chat ---------------------------------------------------


@router.get("/public/{key}", summary="A widget's public settings (name, greeting, topics, limits)")
def widget_public(key: str, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    from kefu.channels.webchat.model import MAX_FILE_BYTES, MAX_IMAGE_BYTES, MAX_TEXT_CHARS

    widget = services.widget_by_key(ctx.session, key)
    return {
        "name": widget.name,
        "welcome": widget.welcome,
        "topics": widget.topics,
        "callback_available": bool(widget.callback_queue),
        "limits": {
            "text_chars": MAX_TEXT_CHARS,
            "image_bytes": MAX_IMAGE_BYTES,
            "file_bytes": MAX_FILE_BYTES,
        },
    }


@router.post(
    "/public/{key}/conversations",
    status_code=201,
    response_model=StartOut,
    summary="Start a chat (no login): returns the customer's secret token",
)
def start(key: str, body: StartIn, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    widget = services.widget_by_key(ctx.session, key)
    container = ctx.container
    conversation, token = services.start_conversation(
        ctx.session,
        container.clock,
        _routing(container),
        widget,
        name=body.name,
        phone=body.phone,
        topic=body.topic,
        text=body.message,
        page_url=body.page_url,
    )
    ctx.session.refresh(conversation)
    return {"token": token, "conversation": _state(container, ctx.session, conversation)}


# --- the customer's own conversation (token) --------------------------------------------------


@router.get("/conversation", summary="My conversation: status, agent, queue position")
def my_conversation(
    ctx: Ctx = Depends(get_ctx), token: str | None = Header(None, alias=TOKEN_HEADER)
) -> dict[str, Any]:
    conversation = _customer(ctx, token)
    return _state(ctx.container, ctx.session, conversation)


@router.get("/conversation/messages", summary="My messages after a sequence number (resume)")
def my_messages(
    after_seq: int = Query(0, ge=0),
    ctx: Ctx = Depends(get_ctx),
    token: str | None = Header(None, alias=TOKEN_HEADER),
) -> dict[str, Any]:
    conversation = _customer(ctx, token)
    rows = services.load_messages(ctx.session, conversation.id, after_seq)
    return {"items": [services.message_dict(r, for_customer=True) for r in rows]}


@router.post("/conversation/messages", status_code=201, summary="Send a message")
def my_send(
    body: MessageIn,
    ctx: Ctx = Depends(get_ctx),
    token: str | None = Header(None, alias=TOKEN_HEADER),
) -> dict[str, Any]:
    conversation = _customer(ctx, token)
    message = services.customer_send(
        ctx.session,
        ctx.container.clock,
        conversation,
        body.text,
        body.client_id,
        routing=_routing(ctx.container),
    )
    message.pop("agent_id", None)
    return message


@router.get("/conversation/files/{attachment_id}", summary="Download a file of my conversation")
def my_file(
    attachment_id: int,
    ctx: Ctx = Depends(get_ctx),
    token: str | None = Header(None, alias=TOKEN_HEADER),
) -> Response:
    conversation = _customer(ctx, token)
    return _file_response(ctx, conversation, attachment_id)


@router.post("/conversation/callback", status_code=204, summary="Call me back instead of waiting")
def my_callback(
    body: CallbackIn,
    ctx: Ctx = Depends(get_ctx),
    token: str | None = Header(None, alias=TOKEN_HEADER),
) -> Response:
    conversation = _customer(ctx, token)
    widget = ctx.session.get(ChatWidget, conversation.widget_id)
    assert widget is not None
    services.customer_callback(
        ctx.session, ctx.container.clock, _routing(ctx.container), conversation, widget, body.phone
    )
    return Response(status_code=204)


@router.post("/conversation/end", status_code=204, summary="Leave the queue or end the chat")
def my_end(
    ctx: Ctx = Depends(get_ctx), token: str | None = Header(None, alias=TOKEN_HEADER)
) -> Response:
    conversation = _customer(ctx, token)
    services.customer_end(ctx.session, ctx.container.clock, _routing(ctx.container), conversation)
    return Response(status_code=204)


@router.post("/conversation/rating", status_code=204, summary="Rate the service (1-5)")
def my_rating(
    body: RatingIn,
    ctx: Ctx = Depends(get_ctx),
    token: str | None = Header(None, alias=TOKEN_HEADER),
) -> Response:
    conversation = _customer(ctx, token)
    services.rate(ctx.session, ctx.container.clock, conversation, body.score, body.comment)
    return Response(status_code=204)


# --- uploads (streamed, with their own size limit) --------------------------------------------


def _chunks(request: Request) -> Iterator[bytes]:
    """The request body, read from the event loop chunk by chunk by a worker thread."""
    from anyio.from_thread import run as from_thread_run

    stream = request.stream()

    async def next_chunk() -> bytes | None:
        with contextlib.suppress(StopAsyncIteration):
            return await stream.__anext__()
        return None

    while (chunk := from_thread_run(next_chunk)) is not None:
        if chunk:
            yield chunk


@router.post("/files/conversation", status_code=201, summary="Send an image or file (raw body)")
def my_upload(
    request: Request,
    name: str = Query("", max_length=200, description="The file's name (its extension counts)"),
    ctx: Ctx = Depends(get_ctx),
    token: str | None = Header(None, alias=TOKEN_HEADER),
) -> dict[str, Any]:
    conversation = _customer(ctx, token)  # the token first: nothing is read without it
    message = services.store_upload(
        ctx.session,
        ctx.container.clock,
        ctx.container.settings.var_dir,
        conversation,
        filename=name,
        chunks=_chunks(request),
        sender="customer",
    )
    message.pop("agent_id", None)
    return message


@router.post(
    "/files/conversations/{conversation_id}",
    status_code=201,
    summary="Agent: send an image or file to my conversation (raw body)",
)
def agent_upload(
    conversation_id: int,
    request: Request,
    name: str = Query("", max_length=200, description="The file's name (its extension counts)"),
    ctx: Ctx = Depends(require("desktop.use")),
) -> dict[str, Any]:
    conversation = _readable(ctx, conversation_id)
    return services.store_upload(
        ctx.session,
        ctx.container.clock,
        ctx.container.settings.var_dir,
        conversation,
        filename=name,
        chunks=_chunks(request),
        sender="agent",
        agent_id=ctx.scope.principal.user_id,
    )


def _file_response(ctx: Ctx, conversation: ChatConversation, attachment_id: int) -> Response:
    row = ctx.session.get(ChatAttachment, attachment_id)
    if row is None or row.conversation_id != conversation.id:
        raise NotFoundError(entity="file", id=attachment_id)
    path = services.attachment_path(Path(ctx.container.settings.var_dir), row.tenant_id, row.sha256)
    if not path.exists():
        raise NotFoundError(entity="file", id=attachment_id)
    inline = row.content_type.startswith("image/")
    return FileResponse(
        path,
        media_type=row.content_type,
        filename=row.filename,
        content_disposition_type="inline" if inline else "attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )


# --- agents and supervisors -------------------------------------------------------------------


def may_read(container: Any, principal: Principal, conversation: ChatConversation) -> bool:
    """Supervisors (silent view), the agent serving it, or the agent it rings on / wraps up."""
    if conversation.tenant_id != principal.tenant_id:
        return False
    if principal.can("agents.supervise") or conversation.agent_id == principal.user_id:
        return True
    session = object_session(conversation)
    if session is not None:
        end_read_transaction(session)  # the engine may be busy: free the connection first
    view = _routing(container).agent_view(principal.user_id) or {}
    return conversation.contact_id in view.get("slots", {})


def _readable(ctx: Ctx, conversation_id: int) -> ChatConversation:
    return _readable_by(ctx.container, ctx.session, ctx.scope.principal, conversation_id)


def _readable_by(
    container: Container, session: Session, principal: Principal, conversation_id: int
) -> ChatConversation:
    conversation = session.get(ChatConversation, conversation_id)
    if conversation is None or conversation.tenant_id != principal.tenant_id:
        raise NotFoundError(entity="conversation", id=conversation_id)
    if not may_read(container, principal, conversation):
        raise DomainError("not_your_conversation", status=403)
    return conversation


def _agent_view_of(ctx: Ctx, conversation: ChatConversation) -> dict[str, Any]:
    out = _state(ctx.container, ctx.session, conversation)
    out.update(
        id=conversation.id,
        contact_id=conversation.contact_id,
        customer_id=conversation.customer_id,
        agent_id=conversation.agent_id,
        rating_comment=conversation.rating_comment,
        page_url=conversation.page_url,
    )
    return out


@router.get("/contacts/{contact_id}", summary="The chat behind a routing contact, with messages")
def by_contact(contact_id: str, ctx: Ctx = Depends(require())) -> dict[str, Any]:
    conversation = ctx.session.scalar(
        select(ChatConversation).where(
            ChatConversation.contact_id == contact_id[:64],
            ChatConversation.tenant_id == ctx.scope.tenant_id,
        )
    )
    if conversation is None:
        raise NotFoundError(entity="conversation", id=contact_id[:64])
    conversation = _readable(ctx, conversation.id)
    rows = services.load_messages(ctx.session, conversation.id)
    return {
        "conversation": _agent_view_of(ctx, conversation),
        "messages": [services.message_dict(r) for r in rows],
    }


@router.get("/conversations", summary="Supervisor: open chats, optionally of one agent")
def list_conversations(
    agent_id: int | None = None,
    status: str | None = Query(None, max_length=20),
    ctx: Ctx = Depends(require("agents.supervise")),
) -> dict[str, Any]:
    query = ctx.scope.select(ChatConversation).order_by(ChatConversation.id.desc())
    if agent_id is not None:
        query = query.where(ChatConversation.agent_id == agent_id)
    if status:
        query = query.where(ChatConversation.status == status)
    else:
        query = query.where(ChatConversation.status.in_([s.value for s in OPEN_STATUSES]))
    rows, total = ctx.scope.list(query, limit=200)
    names = {
        u.id: u.display_name
        for u in ctx.session.scalars(
            select(User).where(User.id.in_({r.agent_id for r in rows if r.agent_id}))
        )
    }
    return {
        "items": [
            {
                "id": r.id,
                "contact_id": r.contact_id,
                "status": r.status,
                "visitor_name": r.visitor_name,
                "agent_id": r.agent_id,
                "agent_name": names.get(r.agent_id or 0, ""),
                "created_at": r.created_at.isoformat(),
                "last_seq": r.last_seq,
            }
            for r in rows
        ],
        "total": total,
    }


@router.get("/conversations/{conversation_id}", summary="A chat with its messages (silent view)")
def get_conversation(conversation_id: int, ctx: Ctx = Depends(require())) -> dict[str, Any]:
    conversation = _readable(ctx, conversation_id)
    rows = services.load_messages(ctx.session, conversation.id)
    return {
        "conversation": _agent_view_of(ctx, conversation),
        "messages": [services.message_dict(r) for r in rows],
    }


@router.get("/conversations/{conversation_id}/messages", summary="Messages after a number")
def conversation_messages(
    conversation_id: int,
    after_seq: int = Query(0, ge=0),
    ctx: Ctx = Depends(require()),
) -> dict[str, Any]:
    conversation = _readable(ctx, conversation_id)
    rows = services.load_messages(ctx.session, conversation.id, after_seq)
    return {"items": [services.message_dict(r) for r in rows]}


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=201,
    response_model=dict[str, Any],
    summary="Agent: send a message",
)
def agent_message(
    conversation_id: int, body: MessageIn, ctx: Ctx = Depends(require("desktop.use"))
) -> Response:
    message = _agent_text(ctx.container, ctx.session, ctx.scope.principal, conversation_id, body)
    return JSONResponse(message, status_code=201)  # plain JSON already: no re-validation


def _agent_text(
    container: Container,
    session: Session,
    principal: Principal,
    conversation_id: int,
    body: MessageIn,
) -> dict[str, Any]:
    """An agent's text, by REST or over the staff websocket (``chat.send``)."""
    # The common case in three statements: the numbering UPDATE itself checks that this is
    # the agent's active conversation in their tenant (nothing is written otherwise).
    message = services.post_text(
        session,
        container.clock,
        conversation_id,
        text=body.text,
        client_id=body.client_id,
        agent_id=principal.user_id,
        tenant_id=principal.tenant_id,
    )
    if message is None:  # not found, not theirs, closed, a bad text: the full path says which
        message = _agent_text_full(container, session, principal, conversation_id, body)
    return message


def _agent_text_full(
    container: Container,
    session: Session,
    principal: Principal,
    conversation_id: int,
    body: MessageIn,
) -> dict[str, Any]:
    """The full path: reads the conversation, says why a text is refused, and answers a
    retried ``client_id`` with the first message."""
    conversation = _readable_by(container, session, principal, conversation_id)
    return services.agent_send(
        session, container.clock, conversation, principal.user_id, body.text, body.client_id
    )


@router.post("/conversations/{conversation_id}/end", status_code=204, summary="Agent: end the chat")
def agent_end(conversation_id: int, ctx: Ctx = Depends(require("desktop.use"))) -> Response:
    conversation = _readable(ctx, conversation_id)
    me = ctx.scope.principal.user_id
    if conversation.agent_id != me:
        raise DomainError("not_your_conversation", status=403)
    if conversation.status != "active":
        raise DomainError("chat_closed", status=409)
    contact_id = conversation.contact_id
    ctx.session.rollback()
    _routing(ctx.container).complete(ctx.scope, me, contact_id)
    return Response(status_code=204)


@router.get(
    "/conversations/{conversation_id}/files/{attachment_id}", summary="Download a chat file"
)
def agent_file(conversation_id: int, attachment_id: int, ctx: Ctx = Depends(require())) -> Response:
    conversation = _readable(ctx, conversation_id)
    return _file_response(ctx, conversation, attachment_id)


# --- the customer's socket --------------------------------------------------------------------


def _open_socket(container: Container, token: str) -> dict[str, Any] | None:
    with container.db.sessions() as session:
        try:
            conversation = services.conversation_by_token(session, token)
        except DomainError:
            return None
        return {
            "id": conversation.id,
            "tenant_id": conversation.tenant_id,
            "contact_id": conversation.contact_id,
            "state": _state(container, session, conversation),
        }


def _messages_between(
    container: Container, conversation_id: int, after: int, before: int | None
) -> list[tuple[int, dict[str, Any]]]:
    with container.db.sessions() as session:
        rows = services.load_messages(session, conversation_id, after, before)
        return [(r.seq, services.message_dict(r, for_customer=True)) for r in rows]


async def _socket_send(
    container: Container, conversation_id: int, text: str, client_id: str
) -> int:
    """A customer's text from the socket: with other texts in one transaction (group commit),
    unless it is not the simple case (closed chat, a text that breaks a rule, a retried client
    id): then alone, by the full path, which answers it or says why not."""
    clock = container.clock

    def stage(session: Session) -> dict[str, Any] | None:
        return services.stage_text(session, clock, conversation_id, text=text, client_id=client_id)

    try:
        message = await container.writer.run(stage)
    except IntegrityError:
        message = None
    if message is None:
        message = await run_in_threadpool(
            _socket_send_alone, container, conversation_id, text, client_id
        )
    return int(message["seq"])


def _socket_send_alone(
    container: Container, conversation_id: int, text: str, client_id: str
) -> dict[str, Any]:
    """The full path, after the shared transaction declined or clashed: says why a text is
    refused (closed chat, a rule broken) and answers a retried client id with the first one."""
    with container.db.sessions() as session:
        conversation = session.get(ChatConversation, conversation_id)
        assert conversation is not None
        return services.customer_send(session, container.clock, conversation, text, client_id)


def _positions(container: Container, contact_ids: list[str]) -> dict[str, tuple[Any, Any]]:
    """Queue position and expected wait of many contacts in one read of the engine."""
    found = _routing(container).positions(contact_ids)
    return {contact_id: _customer_position(p) for contact_id, p in found.items()}


@router.websocket("/ws")
async def customer_socket(ws: WebSocket) -> None:
    """``{"op": "hello", "token", "after_seq"}`` first; then messages in order, exactly once."""
    container: Container = ws.app.state.container
    await ws.accept()
    try:
        hello = await asyncio.wait_for(ws.receive_json(), timeout=15)
    except (TimeoutError, ValueError, WebSocketDisconnect):
        with contextlib.suppress(Exception):
            await ws.close(code=POLICY_VIOLATION)
        return
    token = str(hello.get("token") or "") if isinstance(hello, dict) else ""
    after = hello.get("after_seq", 0) if isinstance(hello, dict) else 0
    opened = await run_in_threadpool(_open_socket, container, token) if token else None
    if opened is None or hello.get("op") != "hello" or not isinstance(after, int) or after < 0:
        await ws.send_json({"op": "error", "code": "chat_token_invalid"})
        await ws.close(code=POLICY_VIOLATION)
        return
    conversation_id = int(opened["id"])
    contact_id = str(opened["contact_id"])
    loop = asyncio.get_running_loop()
    listener = Listener(conversation_id, loop)
    fanout = fanout_for(container.bus)
    fanout.add(listener)  # listen first, then catch up: the gate drops what is sent twice
    gate = SeqGate(last=after)
    status = {"value": opened["state"]["status"]}
    send_lock = asyncio.Lock()

    async def send(payload: dict[str, Any]) -> None:
        async with send_lock:
            await ws.send_json(payload)

    async def deliver(seq: int, message: dict[str, Any]) -> None:
        missing: list[tuple[int, Any]] = []
        if seq > gate.last + 1 and (gate.last + 1) not in gate.pending:
            missing = await run_in_threadpool(
                _messages_between, container, conversation_id, gate.last, seq
            )
        for item in gate.offer(seq, message, lambda _a, _b: missing):
            data = dict(item)  # type: ignore[call-overload]
            data.pop("agent_id", None)
            new_status = data.get("data", {}).get("status")
            if new_status:
                status["value"] = new_status
            await send({"op": "message", "message": data})

    async def pump() -> None:
        while True:
            message = await listener.queue.get()
            if message is None:
                await ws.close(code=POLICY_VIOLATION, reason="too_slow")
                return
            await deliver(int(message["seq"]), message)

    async def positions() -> None:
        board = fanout.board
        board.watch(contact_id, lambda ids: _positions(container, ids))
        last: tuple[Any, Any] | None = None
        try:
            while True:
                await asyncio.sleep(POSITION_EVERY_S)
                now = board.latest.get(contact_id)
                if status["value"] not in ("waiting", "transferring") or now is None:
                    continue
                if now != last:
                    last = now
                    await send({"op": "queue", "position": now[0], "expected_wait_s": now[1]})
        finally:
            board.unwatch(contact_id)

    tasks: list[asyncio.Task[None]] = []
    try:
        await send({"op": "welcome", "conversation": opened["state"]})
        backlog = await run_in_threadpool(
            _messages_between, container, conversation_id, after, None
        )
        for seq, message in backlog:
            await deliver(seq, message)
        tasks = [asyncio.create_task(pump()), asyncio.create_task(positions())]
        while True:
            raw = await asyncio.wait_for(ws.receive_json(), timeout=90)
            op = raw.get("op") if isinstance(raw, dict) else None
            if op == "ping":
                await send({"op": "pong"})
            elif op == "send":
                client_id = str(raw.get("client_id") or "")[:64]
                try:
                    seq = await _socket_send(
                        container, conversation_id, str(raw.get("text") or ""), client_id
                    )
                except DomainError as exc:
                    await send({"op": "error", "code": exc.code, "client_id": client_id})
                    continue
                await send({"op": "ack", "client_id": client_id, "seq": seq})
            else:
                await send({"op": "error", "code": "unknown_op"})
    except (WebSocketDisconnect, TimeoutError, ValueError, RuntimeError):
        pass
    finally:
        fanout.remove(listener)
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await ws.close()


# --- wiring -----------------------------------------------------------------------------------


def install(container: Container) -> None:
    """Fold routing events into chats; let agents subscribe to the chats they may read."""
    container.routing.preloaders.append(services.preload_conversations)
    container.routing.listeners.append(services.on_routing_event)
    fanout_for(container.bus)

    def topic_id(topic: str) -> int | None:
        tail = topic.rsplit(".", 1)[-1]
        return int(tail) if tail.isdigit() else None

    def authorize(principal: Principal, topic: str) -> bool:
        conversation_id = topic_id(topic)
        if conversation_id is None:
            return False
        with container.db.sessions() as session:
            conversation = session.get(ChatConversation, conversation_id)
        return conversation is not None and may_read(container, principal, conversation)

    def snapshot(session: Session, _principal: Principal, topic: str) -> dict[str, Any]:
        conversation = session.get(ChatConversation, topic_id(topic) or 0)
        if conversation is None:
            return {}
        return {"last_seq": conversation.last_seq, "status": conversation.status}

    container.hub.register_snapshot("webchat.conv.", None, snapshot, authorize=authorize)

    def own_chats(principal: Principal, topic: str) -> bool:
        """An agent's own chats; a supervisor may follow any agent's (silent view)."""
        return topic == f"webchat.agent.{principal.user_id}" or (
            principal.can("agents.supervise") and topic_id(topic) is not None
        )

    def no_snapshot(_session: Session, _principal: Principal, _topic: str) -> dict[str, Any]:
        return {}

    container.hub.register_snapshot("webchat.agent.", None, no_snapshot, authorize=own_chats)

    def parse(message: dict[str, Any]) -> tuple[int, MessageIn]:
        conversation_id = message.get("conversation_id")
        if not isinstance(conversation_id, int) or isinstance(conversation_id, bool):
            raise NotFoundError(entity="conversation", id=str(conversation_id))
        body = MessageIn.model_validate(
            {"text": message.get("text"), "client_id": message.get("client_id") or ""}
        )
        return conversation_id, body

    def send_text(
        session: Session, principal: Principal, message: dict[str, Any]
    ) -> dict[str, Any]:
        """``{"op": "chat.send", "ref", "conversation_id", "text", "client_id"}`` on the staff
        socket: the desk's replies without an HTTP request each (same rules as the REST POST).
        This runs when ``stage_text`` below declined or clashed: straight to the full path."""
        conversation_id, body = parse(message)
        return _agent_text_full(container, session, principal, conversation_id, body)

    def stage_text(
        session: Session, principal: Principal, message: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The common case, in a transaction shared with other texts (group commit)."""
        conversation_id, body = parse(message)
        return services.stage_text(
            session,
            container.clock,
            conversation_id,
            text=body.text,
            client_id=body.client_id,
            agent_id=principal.user_id,
            tenant_id=principal.tenant_id,
        )

    container.hub.register_command("chat.send", "desktop.use", send_text, stage_text)
