"""IVR services: flow drafts, validation, publishing and roll-back, prompts, session events and
metrics. Every write takes a ``Scoped`` and records its events in the same transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.clock import Clock, ensure_utc
from kefu.core.errors import ConflictError, FieldError, NotFoundError, ValidationFailed
from kefu.core.events import Event
from kefu.db.eventlog import EventRecord, record_event
from kefu.ivr.flows import Finding, Flow, check, has_errors
from kefu.ivr.metrics import FlowMetrics, flow_metrics
from kefu.ivr.runner import IvrSession
from kefu.ivr.tables import IvrFlow, IvrFlowVersion, IvrPrompt
from kefu.tenancy import Scoped, tenant_calendar

__all__ = [
    "AUDIO_TYPES",
    "MAX_AUDIO_BYTES",
    "create_flow",
    "delete_prompt",
    "findings_problem",
    "flow_by_code",
    "flow_version",
    "metrics",
    "new_session",
    "publish",
    "published_flow",
    "record_session",
    "rollback",
    "save_draft",
    "save_prompt",
    "session_summaries",
    "topic_of",
    "versions",
]

MAX_AUDIO_BYTES = 1_000_000  # about 60 s of 8 kHz 16-bit mono WAV; fits the body limit
AUDIO_TYPES = ("audio/wav", "audio/mpeg", "audio/ogg")
SESSION_ENDED = "ivr.session_ended"


def topic_of(code: str) -> str:
    return f"ivr.flow.{code}"


# ------------------------------------------------------------------------------ flows


def findings_problem(findings: list[Finding]) -> ValidationFailed:
    """The 422 that refuses to publish a flow with errors; ``errors`` lists every finding."""
    errors = [
        FieldError(
            f"nodes.{f.node}" if f.node else "flow",
            f.key,
            level=f.level,
            node=f.node or "",
            **{k: v for k, v in f.params.items() if k not in ("level", "node")},
        )
        for f in sorted(findings, key=lambda f: (f.level != "error", f.node or ""))
    ]
    count = sum(f.level == "error" for f in findings)
    return ValidationFailed("ivr_flow_invalid", errors=errors, count=count)


def _counts(findings: list[Finding]) -> tuple[int, int]:
    errors = sum(f.level == "error" for f in findings)
    return errors, len(findings) - errors


def flow_by_code(scope: Scoped, code: str) -> IvrFlow:
    flow: IvrFlow | None = scope.session.scalar(scope.select(IvrFlow).where(IvrFlow.code == code))
    if flow is None:
        raise NotFoundError(entity="ivr_flows", id=code)
    return flow


def create_flow(
    scope: Scoped, *, code: str, name: str, definition: Mapping[str, Any]
) -> tuple[IvrFlow, IvrFlowVersion, list[Finding]]:
    """A new flow with its first draft (saved even with errors: drafts may be unfinished)."""
    exists = scope.session.scalar(scope.select(IvrFlow).where(IvrFlow.code == code))
    if exists is not None:
        raise ConflictError("ivr_flow_exists", flow=code)
    now = scope.clock.now()
    flow = scope.add(IvrFlow(code=code, name=name, created_at=now, updated_at=now))
    version, findings = save_draft(scope, flow.id, definition)
    return flow, version, findings


def _latest(scope: Scoped, flow_id: int) -> IvrFlowVersion | None:
    row: IvrFlowVersion | None = scope.session.scalar(
        scope.select(IvrFlowVersion)
        .where(IvrFlowVersion.flow_id == flow_id)
        .order_by(IvrFlowVersion.version.desc())
        .limit(1)
    )
    return row


def save_draft(
    scope: Scoped, flow_id: int, definition: Mapping[str, Any]
) -> tuple[IvrFlowVersion, list[Finding]]:
    """Save the editor's content: into the open draft, or as a new draft version."""
    flow = scope.get(IvrFlow, flow_id, entity="ivr_flows")
    _, findings = check(definition)
    errors, warnings = _counts(findings)
    now = scope.clock.now()
    draft = _latest(scope, flow.id)
    if draft is None or draft.status != "draft":
        draft = scope.add(
            IvrFlowVersion(
                flow_id=flow.id,
                version=(draft.version + 1) if draft is not None else 1,
                status="draft",
                definition=dict(definition),
                errors=errors,
                warnings=warnings,
                created_by=scope.principal.user_id or None,
                created_at=now,
                updated_at=now,
            )
        )
    else:
        draft.definition = dict(definition)
        draft.errors, draft.warnings = errors, warnings
        draft.updated_at = now
    flow.updated_at = now
    scope.session.flush()
    return draft, findings


def _version(scope: Scoped, flow: IvrFlow, version: int) -> IvrFlowVersion:
    row: IvrFlowVersion | None = scope.session.scalar(
        scope.select(IvrFlowVersion).where(
            IvrFlowVersion.flow_id == flow.id, IvrFlowVersion.version == version
        )
    )
    if row is None:
        raise NotFoundError(entity="ivr_flow_versions", id=version)
    return row


def publish(
    scope: Scoped, flow_id: int, version: int, *, rollback: bool = False
) -> tuple[IvrFlowVersion, list[Finding]]:
    """Make ``version`` the one callers get; errors block it (422 listing the findings),
    warnings do not. The previously published version is archived."""
    flow = scope.get(IvrFlow, flow_id, entity="ivr_flows")
    row = _version(scope, flow, version)
    if row.status == "published":
        raise ConflictError("ivr_version_published", version=version)
    if rollback and row.status != "archived":
        raise ConflictError("ivr_rollback_not_archived", version=version)
    _, findings = check(row.definition)
    if has_errors(findings):
        raise findings_problem(findings)
    previous = flow.published_version
    if previous is not None:
        old = _version(scope, flow, previous)
        old.status = "archived"
    now = scope.clock.now()
    row.status = "published"
    row.errors, row.warnings = _counts(findings)
    row.published_by = scope.principal.user_id or None
    row.published_at = now
    flow.published_version = row.version
    flow.updated_at = now
    scope.session.flush()
    scope.emit(
        "ivr.flow_published",
        "ivr",
        {
            "flow_id": flow.id,
            "code": flow.code,
            "version": row.version,
            "previous": previous,
            "rollback": rollback,
            "warnings": row.warnings,
        },
    )
    return row, findings


def rollback(scope: Scoped, flow_id: int, version: int) -> tuple[IvrFlowVersion, list[Finding]]:
    """Publish an earlier (archived) version again."""
    return publish(scope, flow_id, version, rollback=True)


def versions(scope: Scoped, flow_id: int) -> list[IvrFlowVersion]:
    flow = scope.get(IvrFlow, flow_id, entity="ivr_flows")
    return list(
        scope.session.scalars(
            scope.select(IvrFlowVersion)
            .where(IvrFlowVersion.flow_id == flow.id)
            .order_by(IvrFlowVersion.version.desc())
        )
    )


def published_flow(session: Session, tenant_id: int, code: str) -> Flow | None:
    """The tenant's published version of flow ``code`` (None if there is none)."""
    row = session.execute(
        select(IvrFlowVersion.definition, IvrFlowVersion.version)
        .join(IvrFlow, IvrFlow.id == IvrFlowVersion.flow_id)
        .where(
            IvrFlow.tenant_id == tenant_id,
            IvrFlow.code == code,
            IvrFlowVersion.version == IvrFlow.published_version,
        )
    ).first()
    if row is None:
        return None
    flow, findings = check(row[0])
    if flow is None or has_errors(findings):  # cannot happen for a published version
        return None
    return replace(flow, code=code, version=int(row[1]))


def flow_version(session: Session, tenant_id: int, code: str, version: int) -> Flow | None:
    """A given version of flow ``code`` (e.g. the one a running chat started on)."""
    row = session.scalar(
        select(IvrFlowVersion.definition)
        .join(IvrFlow, IvrFlow.id == IvrFlowVersion.flow_id)
        .where(
            IvrFlow.tenant_id == tenant_id,
            IvrFlow.code == code,
            IvrFlowVersion.version == version,
        )
    )
    if row is None:
        return None
    flow, findings = check(row)
    if flow is None or has_errors(findings):
        return None
    return replace(flow, code=code, version=version)


def new_session(
    session: Session,
    tenant_id: int,
    code: str,
    *,
    caller: Mapping[str, Any],
    now: datetime,
    clock: Clock | None = None,
) -> IvrSession | None:
    """An IVR session on the published flow, with the tenant's local time, workday and
    holiday (business calendar) filled in; None when the flow is not published."""
    flow = published_flow(session, tenant_id, code)
    if flow is None:
        return None
    calendar = tenant_calendar(session, tenant_id)
    local = calendar.to_local(ensure_utc(now))
    day = local.date()
    workday = calendar.is_working_day(day)
    holiday = not workday and calendar.holiday_name(day) is not None
    return IvrSession(
        flow,
        caller=caller,
        local_now=local,
        is_workday=workday,
        is_holiday=holiday,
        clock=clock,
    )


def record_session(
    db: Scoped | Session,
    tenant_id: int,
    ivr: IvrSession,
    channel: str,
    contact_id: str | int | None,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record ``ivr.session_ended`` (path, outcome, durations) in the caller's transaction.

    Voice call control and the web chat call it when a session ends (or the caller leaves:
    call ``ivr.hangup()`` first). With a plain ``Session`` pass ``now`` (the container
    clock's time); with a ``Scoped`` its clock is used. Returns the recorded data.
    """
    data = ivr.summary()
    data.update(channel=channel, contact_id=None if contact_id is None else str(contact_id))
    topic = topic_of(ivr.flow.code or ivr.flow.name or "unnamed")
    if isinstance(db, Scoped):
        if db.tenant_id != tenant_id:
            raise NotFoundError(entity="tenants", id=tenant_id)
        db.emit(SESSION_ENDED, topic, data)
    else:
        if now is None:
            raise ValueError("record_session with a plain Session needs now=")
        record_event(db, Event(SESSION_ENDED, topic, tenant_id, ensure_utc(now), data))
    return data


def session_summaries(
    session: Session, tenant_id: int, code: str, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(EventRecord.data)
        .where(
            EventRecord.tenant_id == tenant_id,
            EventRecord.topic == topic_of(code),
            EventRecord.type == SESSION_ENDED,
            EventRecord.occurred_at >= ensure_utc(since),
            EventRecord.occurred_at < ensure_utc(until),
        )
        .order_by(EventRecord.id)
    )
    return [dict(r) for r in rows]


def metrics(
    scope: Scoped, flow_id: int, since: datetime, until: datetime, version: int | None = None
) -> FlowMetrics:
    flow = scope.get(IvrFlow, flow_id, entity="ivr_flows")
    items = session_summaries(scope.session, scope.tenant_id, flow.code, since, until)
    if version is not None:
        items = [d for d in items if d.get("version") == version]
    return flow_metrics(items)


# ---------------------------------------------------------------------------- prompts


def _sniff(audio: bytes) -> str | None:
    if len(audio) >= 12 and audio[:4] == b"RIFF" and audio[8:12] == b"WAVE":
        return "audio/wav"
    if audio[:3] == b"ID3" or (len(audio) >= 2 and audio[0] == 0xFF and audio[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if audio[:4] == b"OggS":
        return "audio/ogg"
    return None


def save_prompt(
    scope: Scoped,
    *,
    code: str,
    name: str,
    text: str = "",
    audio: bytes | None = None,
    content_type: str = "",
) -> IvrPrompt:
    """Create or replace prompt ``code``: audio (WAV, MP3 or Ogg, at most 1 MB, checked by
    content) and/or the text read by TTS and shown by the text bot."""
    errors: list[FieldError] = []
    kind = ""
    if audio is not None:
        if len(audio) > MAX_AUDIO_BYTES:
            errors.append(
                FieldError("audio", "ivr.prompt.too_large", size=len(audio), max=MAX_AUDIO_BYTES)
            )
        kind = _sniff(audio) or ""
        declared = content_type.split(";")[0].strip().lower().replace("x-wav", "wav")
        if not kind or (declared and declared not in ("application/octet-stream", kind)):
            errors.append(
                FieldError("audio", "ivr.prompt.bad_type", allowed=", ".join(AUDIO_TYPES))
            )
    if audio is None and not text.strip():
        errors.append(FieldError("text", "ivr.prompt.empty"))
    if errors:
        raise ValidationFailed(errors=errors)
    now = scope.clock.now()
    row: IvrPrompt | None = scope.session.scalar(
        scope.select(IvrPrompt).where(IvrPrompt.code == code)
    )
    if row is None:
        row = scope.add(
            IvrPrompt(
                code=code,
                name=name,
                text=text,
                created_by=scope.principal.user_id or None,
                created_at=now,
                updated_at=now,
            )
        )
    row.name, row.text, row.updated_at = name, text, now
    if audio is not None:
        row.audio = audio
        row.content_type = kind
        row.size = len(audio)
        row.sha256 = hashlib.sha256(audio).hexdigest()
    scope.session.flush()
    return row


def delete_prompt(scope: Scoped, prompt_id: int) -> None:
    row = scope.get(IvrPrompt, prompt_id, entity="ivr_prompts")
    scope.session.delete(row)
    scope.session.flush()
