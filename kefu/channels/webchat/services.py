"""Web chat services: start a conversation, exchange messages, files, callback, end, rating.

Every message is numbered inside its conversation by one atomic ``UPDATE … RETURNING``
(``last_seq + 1``): the row lock (PostgreSQL) or the write lock (SQLite) makes numbers follow
commit order, so a reader that sees number n can always load every number below it. The
message and its event are written in one transaction; the event is published after the commit.
Its topic is ``webchat.agent.<user id>`` while an agent serves the chat (one subscription per
desk, whatever the number of chats) and ``webchat.conv.<id>`` otherwise.

Routing drives the conversation: ``on_routing_event`` runs inside the routing runtime's own
transaction for every routing event, so "an agent joined", "transferred" and "ended" are
recorded exactly once, in the same commit as the routing step.

Lock order: a request never calls the routing runtime while it holds uncommitted writes (the
runtime writes in its own transaction and would wait for them).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from kefu.channels.webchat.model import (
    MAX_FILE_BYTES,
    OPEN_STATUSES,
    ChatRuleError,
    ConversationStatus,
    check_file,
    check_rating,
    clean_text,
    safe_filename,
)
from kefu.channels.webchat.tables import (
    ChatAttachment,
    ChatConversation,
    ChatMessage,
    ChatWidget,
)
from kefu.core.clock import Clock
from kefu.core.errors import AuthenticationError, ConflictError, DomainError, NotFoundError
from kefu.core.events import Event
from kefu.core.ids import digest, new_token
from kefu.customers import identify_customer, vip_level_of
from kefu.db.eventlog import insert_event
from kefu.ivr import chat_leave, chat_reply, start_chat
from kefu.tenancy import Principal, Scoped, user_in_tenant

__all__ = [
    "ATTACHMENT_DIR",
    "agent_send",
    "attachment_path",
    "chat_context",
    "conversation_by_token",
    "conversation_topic",
    "customer_callback",
    "customer_end",
    "customer_send",
    "load_messages",
    "message_dict",
    "on_routing_event",
    "post_text",
    "rate",
    "rule_error",
    "stage_text",
    "start_conversation",
    "store_upload",
    "system_scope",
    "widget_by_key",
]

ATTACHMENT_DIR = "webchat"
_RULE_STATUS = {"chat_file_too_large": 413, "chat_file_type": 415, "chat_file_type_mismatch": 415}


def rule_error(exc: ChatRuleError) -> DomainError:
    params: dict[str, Any] = dict(exc.params)
    return DomainError(exc.code, status=_RULE_STATUS.get(exc.code, 422), **params)


def conversation_topic(conversation: ChatConversation) -> str:
    return _topic(conversation.id, conversation.agent_id)


def _topic(conversation_id: int, agent_id: int | None) -> str:
    """Where a conversation's events go: its agent's topic once served, else its own."""
    if agent_id is not None:
        return f"webchat.agent.{agent_id}"
    return f"webchat.conv.{conversation_id}"


def system_scope(session: Session, tenant_id: int, clock: Clock) -> Scoped:
    """The channel acting for a customer (who has no login) inside one tenant."""
    principal = Principal(0, tenant_id, "webchat", "web chat", frozenset())
    return Scoped(session, principal, clock)


# --- reading ---------------------------------------------------------------------------------


def widget_by_key(session: Session, key: str) -> ChatWidget:
    widget = session.scalar(select(ChatWidget).where(ChatWidget.key == key[:64]))
    if widget is None or not widget.active:
        raise NotFoundError(entity="widget", id=key[:64])
    return widget


def conversation_by_token(session: Session, token: str | None) -> ChatConversation:
    """The conversation a customer's token names; any other token is refused alike (401)."""
    if not token:
        raise AuthenticationError("chat_token_missing")
    conversation = session.scalar(
        select(ChatConversation).where(ChatConversation.token_hash == digest(token[:200]))
    )
    if conversation is None:
        raise AuthenticationError("chat_token_invalid")
    return conversation


def message_dict(row: Any, *, for_customer: bool = False) -> dict[str, Any]:
    at = row.created_at
    out = {
        "conversation_id": row.conversation_id,
        "seq": row.seq,
        "sender": row.sender,
        "kind": row.kind,
        "body": row.body,
        "data": dict(row.data or {}),
        "client_id": row.client_id,
        "at": at.isoformat() if isinstance(at, datetime) else str(at),
    }
    if not for_customer:
        out["agent_id"] = row.agent_id
    return out


def load_messages(
    session: Session, conversation_id: int, after_seq: int = 0, before_seq: int | None = None
) -> list[ChatMessage]:
    query = select(ChatMessage).where(
        ChatMessage.conversation_id == conversation_id, ChatMessage.seq > after_seq
    )
    if before_seq is not None:
        query = query.where(ChatMessage.seq < before_seq)
    return list(session.scalars(query.order_by(ChatMessage.seq).limit(2000)))


def chat_context(session: Session, tenant_id: int, contact_id: str) -> dict[str, Any] | None:
    """For the agent's screen-pop: the chat behind a routing contact and what the customer did
    before reaching a human (the self-service topic chosen, the page they came from)."""
    conversation = session.scalar(
        select(ChatConversation).where(
            ChatConversation.contact_id == contact_id, ChatConversation.tenant_id == tenant_id
        )
    )
    if conversation is None:
        return None
    steps = [
        {"kind": m.kind, "label": (m.data or {}).get("label", ""), "at": m.created_at.isoformat()}
        for m in session.scalars(
            select(ChatMessage)
            .where(
                ChatMessage.conversation_id == conversation.id,
                ChatMessage.kind.in_(("self_service",)),
            )
            .order_by(ChatMessage.seq)
        )
    ]
    return {
        "conversation_id": conversation.id,
        "visitor_name": conversation.visitor_name,
        "topic": conversation.topic,
        "page_url": conversation.page_url,
        "self_service": steps,
        "status": conversation.status,
    }


# --- writing ---------------------------------------------------------------------------------


_CONVERSATIONS = cast(Table, ChatConversation.__table__)
_MESSAGES = cast(Table, ChatMessage.__table__)


def _append(
    session: Session,
    conversation: ChatConversation,
    at: datetime,
    *,
    sender: str,
    kind: str,
    body: str = "",
    data: dict[str, Any] | None = None,
    agent_id: int | None = None,
    client_id: str | None = None,
) -> dict[str, Any]:
    """Number and store one message and its event, in the caller's transaction."""
    conversations = _CONVERSATIONS
    seq = session.execute(
        update(conversations)
        .where(conversations.c.id == conversation.id)
        .values(last_seq=conversations.c.last_seq + 1)
        .returning(conversations.c.last_seq)
    ).scalar_one()
    set_committed_value(conversation, "last_seq", seq)
    return _store(
        session,
        conversation.tenant_id,
        conversation.id,
        conversation_topic(conversation),
        seq,
        at,
        sender=sender,
        kind=kind,
        body=body,
        data=data,
        agent_id=agent_id,
        client_id=client_id,
    )


def _store(
    session: Session,
    tenant_id: int,
    conversation_id: int,
    topic: str,
    seq: int,
    at: datetime,
    *,
    sender: str,
    kind: str,
    body: str,
    data: dict[str, Any] | None,
    agent_id: int | None,
    client_id: str | None,
) -> dict[str, Any]:
    """Insert message number ``seq`` and its event (two statements, no ORM objects)."""
    values = {
        "tenant_id": tenant_id,
        "conversation_id": conversation_id,
        "seq": seq,
        "sender": sender,
        "agent_id": agent_id,
        "kind": kind,
        "body": body,
        "data": data or {},
        "client_id": client_id,
        "created_at": at,
    }
    session.connection().execute(insert(_MESSAGES).values(values))
    message = message_dict(_Row(values))
    insert_event(session, Event("webchat.message", topic, tenant_id, at, message))
    return message


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def post_text(
    session: Session,
    clock: Clock,
    conversation_id: int,
    *,
    text: str,
    client_id: str,
    agent_id: int | None = None,
    tenant_id: int | None = None,
) -> dict[str, Any] | None:
    """The common case of a text message, in one transaction of three statements (see
    ``stage_text``); then commit.

    Returns None, having written nothing, when it is not that simple (the text breaks a rule,
    the conversation is closed or not this agent's): the caller then takes the full path,
    which reads the conversation and says why.
    """
    try:
        message = stage_text(
            session,
            clock,
            conversation_id,
            text=text,
            client_id=client_id,
            agent_id=agent_id,
            tenant_id=tenant_id,
        )
        if message is None:
            session.rollback()
            return None
        session.commit()
    except IntegrityError:  # a retried client_id: the first message is the answer
        session.rollback()
        found = _existing(session, conversation_id, client_id or "")
        if found is None:
            raise
        return found
    return message


def stage_text(
    session: Session,
    clock: Clock,
    conversation_id: int,
    *,
    text: str,
    client_id: str,
    agent_id: int | None = None,
    tenant_id: int | None = None,
) -> dict[str, Any] | None:
    """Write a text in the caller's transaction (no commit) with three statements: number it
    (an ``UPDATE … RETURNING`` that also checks the conversation takes it), store it, store its
    event. From the customer when ``agent_id`` is None (the conversation must be open), else
    from that agent (their active conversation, in ``tenant_id``).

    Returns None, having written nothing, when it is not that simple (see ``post_text``). A
    retried ``client_id`` raises IntegrityError: ``post_text`` answers it with the first
    message.
    """
    try:
        body = clean_text(text)
    except ChatRuleError:
        return None
    conversations = _CONVERSATIONS
    query = update(conversations).where(conversations.c.id == conversation_id)
    if agent_id is None:
        query = query.where(conversations.c.status.in_([s.value for s in OPEN_STATUSES]))
    else:
        query = query.where(
            conversations.c.agent_id == agent_id,
            conversations.c.tenant_id == tenant_id,
            conversations.c.status == ConversationStatus.ACTIVE.value,
        )
    numbered = session.execute(
        query.values(last_seq=conversations.c.last_seq + 1).returning(
            conversations.c.last_seq, conversations.c.tenant_id, conversations.c.agent_id
        )
    ).first()
    if numbered is None:
        return None
    seq, owner, serving = numbered
    topic = _topic(conversation_id, serving)
    return _store(
        session,
        int(owner),
        conversation_id,
        topic,
        int(seq),
        clock.now(),
        sender="customer" if agent_id is None else "agent",
        kind="text",
        body=body,
        data=None,
        agent_id=agent_id,
        client_id=client_id or None,
    )


def _set_status(session: Session, conversation: ChatConversation, **values: Any) -> None:
    session.execute(
        update(ChatConversation).where(ChatConversation.id == conversation.id).values(**values)
    )
    for key, value in values.items():
        setattr(conversation, key, value)


def _existing(session: Session, conversation_id: int, client_id: str) -> dict[str, Any] | None:
    row = session.scalar(
        select(ChatMessage).where(
            ChatMessage.conversation_id == conversation_id, ChatMessage.client_id == client_id
        )
    )
    return message_dict(row) if row is not None else None


def _send(
    session: Session,
    conversation: ChatConversation,
    clock: Clock,
    *,
    sender: str,
    text: str,
    client_id: str | None,
    agent_id: int | None = None,
) -> dict[str, Any]:
    """Store a text message once per ``client_id`` (a retried send returns the first one)."""
    try:
        body = clean_text(text)
    except ChatRuleError as exc:
        raise rule_error(exc) from exc
    try:  # a retried client_id hits the unique constraint and returns the first message
        message = _append(
            session,
            conversation,
            clock.now(),
            sender=sender,
            kind="text",
            body=body,
            agent_id=agent_id,
            client_id=client_id or None,
        )
        session.commit()
    except IntegrityError:  # the same client_id raced in twice: the first one won
        session.rollback()
        found = _existing(session, conversation.id, client_id or "")
        if found is None:
            raise
        return found
    return message


def start_conversation(
    session: Session,
    clock: Clock,
    routing: Any,
    widget: ChatWidget,
    *,
    name: str,
    phone: str,
    topic: str,
    text: str,
    page_url: str,
) -> tuple[ChatConversation, str]:
    """A new conversation queued for an agent; returns it with the customer's secret token."""
    scope = system_scope(session, widget.tenant_id, clock)
    first = ""
    if text:
        try:
            first = clean_text(text)
        except ChatRuleError as exc:
            raise rule_error(exc) from exc
    topics = {str(t.get("code")): str(t.get("label", "")) for t in widget.topics or []}
    if topic and topic not in topics:
        topic = ""
    customer_id = identify_customer(scope, phone=phone, name=name) if phone else None
    token = new_token(nbytes=32)
    now = clock.now()
    conversation = scope.add(
        ChatConversation(
            widget_id=widget.id,
            token_hash=digest(token),
            contact_id=uuid.uuid4().hex,
            customer_id=customer_id,
            visitor_name=name.strip()[:60],
            phone=phone.strip()[:40],
            topic=topic,
            page_url=page_url[:500],
            status=ConversationStatus.WAITING.value,
            last_seq=0,
            created_at=now,
            rating_comment="",
        )
    )
    if widget.welcome:
        _append(session, conversation, now, sender="system", kind="welcome", body=widget.welcome)
    if topic:
        _append(
            session,
            conversation,
            now,
            sender="system",
            kind="self_service",
            data={"topic": topic, "label": topics.get(topic, topic)},
        )
    if first:
        _append(session, conversation, now, sender="customer", kind="text", body=first)
    session.commit()
    if widget.ivr_flow and _ivr_first(session, clock, scope, widget, conversation):
        return conversation, token  # the self-service text menu first; queued on a hand-over
    queue_conversation(session, clock, routing, widget, conversation)
    return conversation, token


def _bot_say(session: Session, clock: Clock, conversation: ChatConversation, turn: Any) -> None:
    for m in turn.messages:
        data = {"bot": m.kind}
        _append(
            session, conversation, clock.now(), sender="system", kind="ivr", body=m.text, data=data
        )


def _ivr_first(
    session: Session,
    clock: Clock,
    scope: Scoped,
    widget: ChatWidget,
    conversation: ChatConversation,
) -> bool:
    """Start the widget's IVR flow as a text menu; True while the customer is in it."""
    customer_id = conversation.customer_id
    vip = vip_level_of(scope, customer_id) if customer_id is not None else 0
    caller = {"phone": conversation.phone, "vip_level": vip, "customer_id": customer_id}
    turn = start_chat(
        session,
        clock,
        widget.tenant_id,
        widget.ivr_flow,
        conversation.id,
        conversation.contact_id,
        caller,
    )
    if turn is None:
        return False  # the flow is not published: straight to the queue
    _bot_say(session, clock, conversation, turn)
    session.commit()
    return not _ivr_over(session, clock, conversation, turn)


def _ivr_over(session: Session, clock: Clock, conversation: ChatConversation, turn: Any) -> bool:
    """After a bot turn: True when the chat should go to the queue now; a self-service success
    ends the chat instead."""
    if not turn.finished:
        return False
    if turn.handover is None:
        _set_status(
            session, conversation, status=ConversationStatus.ENDED.value, ended_at=clock.now()
        )
        _append(session, conversation, clock.now(), sender="system", kind="ended")
        session.commit()
        return False
    return True


def queue_conversation(
    session: Session, clock: Clock, routing: Any, widget: ChatWidget, conversation: ChatConversation
) -> None:
    """Hand the chat to routing in its widget's queue (priority by VIP level)."""
    scope = system_scope(session, widget.tenant_id, clock)
    now = clock.now()
    customer_id = conversation.customer_id
    topic = conversation.topic
    vip = vip_level_of(scope, customer_id) if customer_id is not None else 0
    queue_key = f"{widget.tenant_id}.{widget.queue_code}"
    if queue_key not in routing.runtime.queue_configs:
        routing.sync_tenant(session, widget.tenant_id)
    try:
        routing.arrive(
            scope,
            queue=widget.queue_code,
            media="chat",
            external_id=f"webchat-{conversation.id}",
            customer_id=customer_id,
            priority=float(vip * 2),
            attributes={
                "channel": "webchat",
                "conversation_id": conversation.id,
                "topic": topic,
                "vip_level": vip,
            },
            skills={},
            contact_id=conversation.contact_id,
        )
    except DomainError:
        session.rollback()
        _set_status(session, conversation, status=ConversationStatus.EXPIRED.value, ended_at=now)
        session.commit()
        raise
    session.commit()


def customer_send(
    session: Session,
    clock: Clock,
    conversation: ChatConversation,
    text: str,
    client_id: str,
    routing: Any = None,
) -> dict[str, Any]:
    if conversation.status not in OPEN_STATUSES:
        raise ConflictError("chat_closed")
    message = _send(session, conversation, clock, sender="customer", text=text, client_id=client_id)
    if routing is None:
        return message
    session.refresh(conversation)
    fresh = message.get("seq") == conversation.last_seq  # not a retried client_id
    if fresh and conversation.status == ConversationStatus.WAITING:
        turn = chat_reply(session, clock, conversation.id, conversation.contact_id, text)
        if turn is not None:  # the customer is in the self-service text menu (kefu.ivr)
            _bot_say(session, clock, conversation, turn)
            session.commit()
            if _ivr_over(session, clock, conversation, turn):
                widget = session.get(ChatWidget, conversation.widget_id)
                if widget is not None:
                    queue_conversation(session, clock, routing, widget, conversation)
    return message


def agent_send(
    session: Session,
    clock: Clock,
    conversation: ChatConversation,
    agent_id: int,
    text: str,
    client_id: str,
) -> dict[str, Any]:
    if conversation.agent_id != agent_id:
        raise DomainError("not_your_conversation", status=403)
    if conversation.status != ConversationStatus.ACTIVE:
        raise ConflictError("chat_closed")
    return _send(
        session,
        conversation,
        clock,
        sender="agent",
        text=text,
        client_id=client_id,
        agent_id=agent_id,
    )


def attachment_path(var_dir: Path, tenant_id: int, sha256: str) -> Path:
    return Path(var_dir) / ATTACHMENT_DIR / str(tenant_id) / sha256[:2] / sha256


def store_upload(
    session: Session,
    clock: Clock,
    var_dir: Path,
    conversation: ChatConversation,
    *,
    filename: str,
    chunks: Iterator[bytes] | list[bytes],
    sender: str,
    agent_id: int | None = None,
) -> dict[str, Any]:
    """Check an uploaded file's real type and size, store it once, and post it as a message.

    ``chunks`` is the body as it arrives; reading stops as soon as it is too large.
    """
    if conversation.status not in OPEN_STATUSES:
        raise ConflictError("chat_closed")
    if sender == "agent" and conversation.agent_id != agent_id:
        raise DomainError("not_your_conversation", status=403)
    name = safe_filename(filename)
    folder = Path(var_dir) / ATTACHMENT_DIR / str(conversation.tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".upload-{uuid.uuid4().hex}"
    hasher = hashlib.sha256()
    size = 0
    head = b""
    try:
        with tmp.open("wb") as out:
            for chunk in chunks:
                if len(head) < 512:
                    head += chunk[: 512 - len(head)]
                size += len(chunk)
                if size > MAX_FILE_BYTES:  # stop reading: no kind allows more
                    raise ChatRuleError(
                        "chat_file_too_large", name=name, max_mb=MAX_FILE_BYTES // 1048576
                    )
                hasher.update(chunk)
                out.write(chunk)
        kind = check_file(name, size, head)
    except ChatRuleError as exc:
        tmp.unlink(missing_ok=True)
        raise rule_error(exc) from exc
    sha = hasher.hexdigest()
    final = attachment_path(var_dir, conversation.tenant_id, sha)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, final)
    now = clock.now()
    attachment = ChatAttachment(
        tenant_id=conversation.tenant_id,
        conversation_id=conversation.id,
        filename=name,
        content_type=kind.content_type,
        size=size,
        sha256=sha,
        created_at=now,
    )
    session.add(attachment)
    session.flush()
    message = _append(
        session,
        conversation,
        now,
        sender=sender,
        kind="image" if kind.image else "file",
        body=name,
        data={
            "attachment_id": attachment.id,
            "name": name,
            "size": size,
            "content_type": kind.content_type,
        },
        agent_id=agent_id,
    )
    session.commit()
    return message


# --- customer actions that go through routing ------------------------------------------------


def customer_end(
    session: Session, clock: Clock, routing: Any, conversation: ChatConversation
) -> None:
    """The customer closes the chat: leave the queue, or end the conversation with the agent."""
    scope = system_scope(session, conversation.tenant_id, clock)
    status = conversation.status
    if status not in OPEN_STATUSES:
        return  # already over: closing twice changes nothing
    if chat_leave(session, clock, conversation.id, conversation.contact_id):  # left the menu
        now = clock.now()
        _set_status(session, conversation, status=ConversationStatus.ABANDONED.value, ended_at=now)
        _append(session, conversation, now, sender="system", kind="customer_left")
        session.commit()
        return
    if status == ConversationStatus.ACTIVE and conversation.agent_id is not None:
        _append(session, conversation, clock.now(), sender="system", kind="customer_left")
        session.commit()
        routing.complete(scope, conversation.agent_id, conversation.contact_id)
        return
    session.rollback()
    routing.abandon(scope, conversation.contact_id)


def customer_callback(
    session: Session,
    clock: Clock,
    routing: Any,
    conversation: ChatConversation,
    widget: ChatWidget,
    phone: str,
) -> None:
    """Instead of waiting: a callback contact to the widget's callback queue, chat closed."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if not 7 <= len(digits) <= 15:
        raise DomainError("chat_bad_phone", status=422)
    if conversation.status not in (
        ConversationStatus.WAITING,
        ConversationStatus.TRANSFERRING,
    ):
        raise ConflictError("chat_not_waiting")
    if not widget.callback_queue:
        raise ConflictError("chat_callback_unavailable")
    scope = system_scope(session, conversation.tenant_id, clock)
    customer_id = conversation.customer_id or identify_customer(
        scope, phone=digits, name=conversation.visitor_name
    )
    session.commit()
    queue_key = f"{conversation.tenant_id}.{widget.callback_queue}"
    if queue_key not in routing.runtime.queue_configs:
        routing.sync_tenant(session, conversation.tenant_id)
    routing.arrive(
        scope,
        queue=widget.callback_queue,
        media="callback",
        external_id=f"webchat-callback-{conversation.id}",
        customer_id=customer_id,
        priority=0.0,
        attributes={"channel": "webchat", "conversation_id": conversation.id, "phone": digits},
        skills={},
    )
    routing.transfer(
        scope,
        conversation.contact_id,
        to_queue=None,
        to_agent=None,
        note="callback",
        to_ivr="callback",
    )
    conversation = session.get(ChatConversation, conversation.id) or conversation
    session.refresh(conversation)
    _set_status(
        session,
        conversation,
        status=ConversationStatus.CALLBACK.value,
        phone=digits,
        customer_id=customer_id,
        ended_at=clock.now(),
    )
    _append(
        session,
        conversation,
        clock.now(),
        sender="system",
        kind="callback_booked",
        data={"status": "callback", "phone_tail": digits[-4:]},
    )
    session.commit()


def rate(
    session: Session, clock: Clock, conversation: ChatConversation, score: int, comment: str
) -> None:
    try:
        check_rating(score)
    except ChatRuleError as exc:
        raise rule_error(exc) from exc
    if conversation.status != ConversationStatus.ENDED:
        raise ConflictError("chat_not_ended")
    if conversation.rating is not None:
        raise ConflictError("chat_already_rated")
    _set_status(session, conversation, rating=score, rating_comment=comment.strip()[:500])
    _append(
        session,
        conversation,
        clock.now(),
        sender="system",
        kind="rated",
        data={"score": score},
    )
    session.commit()


# --- routing drives the conversation ---------------------------------------------------------

_HANDLED = frozenset(
    {"contact_answered", "contact_transferred", "contact_completed", "contact_closed"}
)


_PRELOADED = "webchat.conversations_by_contact"


def preload_conversations(session: Session, datas: list[dict[str, Any]]) -> None:
    """The chats of one command's routing events, in one query (``on_routing_event`` then
    finds them without a query per event)."""
    ids = {str(d["contact_id"]) for d in datas if d.get("type") in _HANDLED and d.get("contact_id")}
    found: dict[str, ChatConversation | None] = dict.fromkeys(ids)  # None: not a chat
    if ids:
        rows = session.scalars(select(ChatConversation).where(ChatConversation.contact_id.in_(ids)))
        found.update((str(c.contact_id), c) for c in rows)
    session.info[_PRELOADED] = found


def on_routing_event(session: Session, data: dict[str, Any], tenant_id: int | None) -> None:
    """Fold one routing event into its web chat (if it is one), in routing's transaction."""
    kind = data.get("type")
    if kind not in _HANDLED or tenant_id is None or not data.get("contact_id"):
        return
    preloaded: dict[str, ChatConversation | None] | None = session.info.get(_PRELOADED)
    contact_id = str(data["contact_id"])
    if preloaded is not None and contact_id in preloaded:
        conversation: ChatConversation | None = preloaded[contact_id]
    else:
        conversation = session.scalar(
            select(ChatConversation).where(ChatConversation.contact_id == contact_id)
        )
    if conversation is None or conversation.tenant_id != tenant_id:
        return
    at = data["at"] if isinstance(data["at"], datetime) else datetime.fromisoformat(data["at"])
    status = conversation.status
    if kind == "contact_answered":
        clock = session.info.get("clock")
        scope = system_scope(session, tenant_id, clock)  # type: ignore[arg-type]
        agent = user_in_tenant(scope, int(data["agent_id"]))
        _set_status(
            session,
            conversation,
            status=ConversationStatus.ACTIVE.value,
            agent_id=agent.id,
            answered_at=conversation.answered_at or at,
        )
        _append(
            session,
            conversation,
            at,
            sender="system",
            kind="agent_joined",
            data={
                "status": "active",
                "name": agent.display_name,
                "job_number": agent.job_number,
                "wait_s": round(float(data.get("wait_s") or 0.0)),
            },
        )
    elif kind == "contact_transferred" and not data.get("to_ivr"):
        _set_status(
            session, conversation, status=ConversationStatus.TRANSFERRING.value, agent_id=None
        )
        _append(
            session,
            conversation,
            at,
            sender="system",
            kind="transferring",
            data={"status": "transferring"},
        )
    elif kind == "contact_completed" and status in OPEN_STATUSES:
        _set_status(session, conversation, status=ConversationStatus.ENDED.value, ended_at=at)
        _append(session, conversation, at, sender="system", kind="ended", data={"status": "ended"})
    elif kind == "contact_closed" and status in OPEN_STATUSES:
        outcome = str(data.get("outcome"))
        if outcome == "transferred":
            return  # handed over (e.g. to a callback): the handing side writes the outcome
        new = {
            "abandoned": ConversationStatus.ABANDONED,
            "expired": ConversationStatus.EXPIRED,
            "callback": ConversationStatus.CALLBACK,
        }.get(outcome, ConversationStatus.ENDED)
        _set_status(session, conversation, status=new.value, ended_at=at)
        _append(
            session,
            conversation,
            at,
            sender="system",
            kind="closed",
            data={"status": new.value, "outcome": outcome},
        )
