"""The websocket endpoint /api/v1/ws: subscribe, snapshot, resume from an event id, heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from kefu.api.deps import SESSION_COOKIE
from kefu.api.problems import field_errors, problem_body
from kefu.core.errors import AuthenticationError, DomainError, PermissionDeniedError
from kefu.core.events import Event
from kefu.core.i18n import negotiate
from kefu.db.eventlog import events_since
from kefu.realtime.hub import Connection
from kefu.tenancy import Principal
from kefu.tenancy.services import principal_from_api_token, principal_from_session

if TYPE_CHECKING:
    from kefu.bootstrap import Container

__all__ = ["router"]

router = APIRouter()
POLICY_VIOLATION = 1008
MAX_TOPICS = 50


def _credential(ws: WebSocket) -> tuple[str, str]:
    """How the socket signs in: an API token (header or ``?token=``) or the session cookie."""
    header = ws.headers.get("authorization", "")
    token = (
        header[7:].strip() if header.lower().startswith("bearer ") else ws.query_params.get("token")
    )
    if token:
        return "token", token
    raw = ws.cookies.get(SESSION_COOKIE)
    if not raw:
        raise AuthenticationError("not_authenticated")
    origin = ws.headers.get("origin")
    # A cookie-authenticated socket must come from our own pages (no cross-site hijacking).
    if origin and urlsplit(origin).netloc != ws.headers.get("host"):
        raise AuthenticationError("bad_origin")
    return "session", raw


def _principal(session: Session, container: Container, credential: tuple[str, str]) -> Principal:
    kind, secret = credential
    if kind == "token":
        return principal_from_api_token(session, secret, container.clock)
    principal, _csrf = principal_from_session(session, secret, container.clock)
    return principal


def _authenticate(container: Container, credential: tuple[str, str]) -> Principal:
    with container.db.sessions() as session:
        return _principal(session, container, credential)


def _catch_up(
    container: Container, principal: Principal, topics: list[str], since: int | None
) -> list[dict[str, Any]]:
    """Snapshots (fresh subscription) or missed events (resume), as messages to send."""
    out: list[dict[str, Any]] = []
    with container.db.sessions() as session:
        if since is None:
            last = container.last_event_id(session)
            for topic in topics:
                data = container.hub.snapshot(session, principal, topic)
                out.append({"op": "snapshot", "topic": topic, "last_event_id": last, "data": data})
        else:
            missed = events_since(session, principal.tenant_id, topics, since)
            out.extend({"op": "event", "event": e.as_dict()} for e in missed)
            out.append({"op": "resumed", "since": since, "replayed": len(missed)})
    return out


@router.websocket("/ws")
async def websocket(ws: WebSocket) -> None:
    container: Container = ws.app.state.container
    try:
        credential = _credential(ws)
        principal = await run_in_threadpool(_authenticate, container, credential)
    except AuthenticationError as exc:
        await ws.close(code=POLICY_VIOLATION, reason=exc.code)
        return
    await ws.accept()
    loop = asyncio.get_running_loop()
    connection = Connection(principal, loop, last_seen=loop.time(), credential=credential)
    connection.gate.set()
    container.hub.add(connection)
    sender = asyncio.create_task(_send_loop(ws, connection))
    heartbeat = asyncio.create_task(_heartbeat(ws, connection, container.settings.ws_heartbeat_s))
    try:
        await _receive_loop(ws, container, connection)
    except WebSocketDisconnect:
        pass
    finally:
        container.hub.remove(connection)
        sender.cancel()
        heartbeat.cancel()
        with contextlib.suppress(Exception):
            await ws.close()


async def _receive_loop(ws: WebSocket, container: Container, connection: Connection) -> None:
    while True:
        raw = await ws.receive_text()
        connection.last_seen = connection.loop.time()
        try:
            message = json.loads(raw)
            op = message.get("op")
        except (ValueError, AttributeError):
            await ws.send_json({"op": "error", "code": "malformed_message"})
            continue
        if op == "ping":
            await ws.send_json({"op": "pong"})
        elif op == "pong":
            continue
        elif op == "subscribe":
            await _subscribe(ws, container, connection, message)
        elif op == "unsubscribe":
            connection.topics.difference_update(str(t) for t in message.get("topics") or [])
        elif isinstance(op, str) and container.hub.command(op) is not None:
            # In order, one at a time: an agent's messages are stored in the order sent.
            await ws.send_json(await _command(container, connection, ws, message))
        else:
            await ws.send_json({"op": "error", "code": "unknown_op"})


async def _command(
    container: Container, connection: Connection, ws: WebSocket, message: dict[str, Any]
) -> dict[str, Any]:
    """Run one command; the reply carries the client's ``ref``: ``{"op": "result", "ref",
    "data"}`` or ``{"op": "error", "ref", "code", "problem"}`` (translated problem details).

    The socket's credential is checked again in the command's own transaction, so a session
    that ended or a user who was deactivated or lost the permission cannot act through a
    socket opened before. A command with a ``stage`` first tries it in a shared transaction
    (``container.writer``, group commit); if that says None (not the simple case) or clashes,
    the command runs alone."""
    ref = message.get("ref")
    found = container.hub.command(str(message["op"]))
    assert found is not None
    permission, command, stage = found

    def checked(session: Session) -> Principal:
        principal = _principal(session, container, connection.credential)
        if principal.tenant_id != connection.principal.tenant_id:
            raise AuthenticationError("not_authenticated")
        if not principal.can(permission):
            raise PermissionDeniedError(permission=permission)
        return principal

    def alone() -> dict[str, Any]:
        with container.db.sessions() as session:
            return command(session, checked(session), message)

    def staged(session: Session) -> dict[str, Any] | None:
        assert stage is not None
        return stage(session, checked(session), message)

    try:
        data = None
        if stage is not None:
            with contextlib.suppress(IntegrityError):  # e.g. a retried client id: alone
                data = await container.writer.run(staged)
        if data is None:
            data = await run_in_threadpool(alone)
        return {"op": "result", "ref": ref, "data": data}
    except ValidationError as exc:
        problem = problem_body("validation_failed", 422, _locale(ws), errors=field_errors(exc))
    except DomainError as exc:
        problem = problem_body(
            exc.code, exc.status, _locale(ws), params=dict(exc.params), errors=exc.errors
        )
    return {"op": "error", "ref": ref, "code": problem["code"], "problem": problem}


def _locale(ws: WebSocket) -> str:
    return negotiate(
        ws.query_params.get("lang"), ws.cookies.get("kefu_lang"), ws.headers.get("accept-language")
    )


async def _subscribe(
    ws: WebSocket, container: Container, connection: Connection, message: dict[str, Any]
) -> None:
    topics = [str(t) for t in (message.get("topics") or [])][:MAX_TOPICS]
    since = message.get("since")
    if since is not None and not isinstance(since, int):
        await ws.send_json({"op": "error", "code": "bad_since"})
        return
    # Authorizers may look rows up: off the event loop, which must never wait on the database.
    denied = await run_in_threadpool(
        lambda: [t for t in topics if not container.hub.allowed(connection.principal, t)]
    )
    if denied:
        await ws.send_json({"op": "error", "code": "topic_denied", "topics": denied})
        topics = [t for t in topics if t not in denied]
    if not topics:
        return
    # Listen first, then catch up: live events arriving meanwhile wait behind the gate and are
    # de-duplicated by id, so the client sees each event once and in order.
    connection.gate.clear()
    try:
        connection.topics.update(topics)
        backlog = await run_in_threadpool(_catch_up, container, connection.principal, topics, since)
        high = since or 0
        for item in backlog:
            if item["op"] == "snapshot":
                high = max(high, int(item["last_event_id"] or 0))
            elif item["op"] == "event":
                high = max(high, int(item["event"]["id"]))
            await ws.send_json(item)
        for topic in topics:
            connection.covered[topic] = high
    finally:
        connection.gate.set()


async def _send_loop(ws: WebSocket, connection: Connection) -> None:
    while True:
        event: Event | None = await connection.queue.get()
        if event is None:
            await ws.close(code=POLICY_VIOLATION, reason="too_slow")
            return
        await connection.gate.wait()
        if connection.already_sent(event):
            continue
        await ws.send_json({"op": "event", "event": event.as_dict()})


async def _heartbeat(ws: WebSocket, connection: Connection, interval: float) -> None:
    """Ping every ``interval``; a client silent for three intervals is disconnected."""
    while True:
        await asyncio.sleep(interval)
        if connection.loop.time() - connection.last_seen > 3 * interval:
            await ws.close(code=POLICY_VIOLATION, reason="heartbeat_timeout")
            return
        await ws.send_json({"op": "ping"})
