"""Recordings: stored when a recorded call ends, listed and played by role (every playback is
logged), deleted with their files after the tenant's retention."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.channels.voice.tables import DEFAULT_RETENTION_DAYS, VoiceRecording, VoiceSettings
from kefu.core.errors import NotFoundError
from kefu.tenancy import Scoped

__all__ = [
    "purge_expired",
    "recording_dict",
    "recording_file",
    "retention_days",
    "set_retention",
    "store_recording",
]


def store_recording(
    scope: Scoped,
    *,
    contact_id: str,
    path: str,
    caller: str,
    agent_id: int | None,
    started_at: datetime,
    paused_s: float = 0.0,
) -> VoiceRecording:
    file = Path(path)
    ended = scope.clock.now()
    size = file.stat().st_size if file.exists() else 0
    row = scope.add(
        VoiceRecording(
            contact_id=contact_id,
            path=str(file),
            caller=caller[:40],
            agent_id=agent_id,
            started_at=started_at,
            ended_at=ended,
            duration_s=round((ended - started_at).total_seconds(), 3),
            size_bytes=size,
            paused_s=round(paused_s, 3),
        )
    )
    scope.session.flush()
    scope.emit(
        "voice.recording_stored",
        "voice.recordings",
        {"recording_id": row.id, "contact_id": contact_id, "size_bytes": size},
    )
    return row


def recording_dict(row: VoiceRecording) -> dict[str, Any]:
    return {
        "id": row.id,
        "contact_id": row.contact_id,
        "caller": row.caller,
        "agent_id": row.agent_id,
        "started_at": row.started_at.isoformat(),
        "ended_at": row.ended_at.isoformat(),
        "duration_s": row.duration_s,
        "size_bytes": row.size_bytes,
        "paused_s": row.paused_s,
    }


def recording_file(scope: Scoped, recording_id: int) -> Path:
    """The recording's file for the principal (their tenant only); the access is logged."""
    row = scope.get(VoiceRecording, recording_id, entity="recording")
    file = Path(row.path)
    if not file.exists():
        raise NotFoundError(entity="recording", id=recording_id)
    scope.emit(
        "voice.recording_accessed",
        "voice.recordings",
        {
            "recording_id": row.id,
            "contact_id": row.contact_id,
            "user_id": scope.principal.user_id,
            "username": scope.principal.username,
        },
    )
    return file


def retention_days(session: Session, tenant_id: int) -> int:
    days = session.scalar(
        select(VoiceSettings.retention_days).where(VoiceSettings.tenant_id == tenant_id)
    )
    return int(days) if days is not None else DEFAULT_RETENTION_DAYS


def set_retention(scope: Scoped, days: int) -> int:
    row = scope.session.scalar(scope.select(VoiceSettings))
    if row is None:
        row = scope.add(VoiceSettings(retention_days=days))
    row.retention_days = days
    scope.emit("voice.retention_changed", "voice.recordings", {"retention_days": days})
    return days


def purge_expired(session: Session, now: datetime) -> int:
    """Delete recordings (rows and files) older than their tenant's retention; returns how many."""
    removed = 0
    tenants = session.scalars(select(VoiceRecording.tenant_id).distinct()).all()
    for tenant_id in tenants:
        cutoff = now - timedelta(days=retention_days(session, tenant_id))
        rows = session.scalars(
            select(VoiceRecording).where(
                VoiceRecording.tenant_id == tenant_id, VoiceRecording.ended_at < cutoff
            )
        ).all()
        for row in rows:
            Path(row.path).unlink(missing_ok=True)
            session.delete(row)
            removed += 1
    return removed
