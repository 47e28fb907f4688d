"""Attachment storage: local files under ``<var_dir>/attachments/<tenant>/``."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath

from kefu.core.errors import DomainError, FieldError, ValidationFailed
from kefu.tenancy import Scoped
from kefu.tickets.tables import OrderAttachment

__all__ = ["ALLOWED_TYPES", "MAX_BYTES", "attachment_path", "store_attachment"]

MAX_BYTES = 10 * 1024 * 1024  # 10 MiB per file
# Declared type -> the file name extensions it may carry.
ALLOWED_TYPES: dict[str, tuple[str, ...]] = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "application/pdf": (".pdf",),
    "text/plain": (".txt", ".log"),
    "text/csv": (".csv",),
    "audio/mpeg": (".mp3",),
    "audio/wav": (".wav",),
    "application/msword": (".doc",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.ms-excel": (".xls",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/zip": (".zip",),
}
_SAFE_NAME = re.compile(r"[\\/\x00-\x1f<>:\"|?*]+")


class TooLarge(DomainError):
    status = 413
    code = "attachment_too_large"


def _clean_name(filename: str) -> str:
    name = _SAFE_NAME.sub("_", PurePosixPath(filename.replace("\\", "/")).name).strip(" .")
    return name[:200] or "file"


def attachment_path(var_dir: Path, row: OrderAttachment) -> Path:
    root = (Path(var_dir) / "attachments").resolve()
    path = (root / row.storage_key).resolve()
    if root not in path.parents:
        raise ValueError("attachment outside its storage directory")
    return path


async def store_attachment(
    scope: Scoped,
    var_dir: Path,
    *,
    filename: str,
    content_type: str,
    chunks: AsyncIterator[bytes],
    max_bytes: int = MAX_BYTES,
) -> OrderAttachment:
    """Stream an upload to disk, refusing unknown types and anything over ``max_bytes``."""
    name = _clean_name(filename)
    kind = content_type.split(";")[0].strip().lower()
    extensions = ALLOWED_TYPES.get(kind)
    if extensions is None or not name.lower().endswith(extensions):
        raise ValidationFailed(
            errors=[
                FieldError(
                    "content_type",
                    "error.field.file_type",
                    allowed=", ".join(sorted({e for v in ALLOWED_TYPES.values() for e in v})),
                )
            ]
        )
    key = f"{scope.tenant_id}/{uuid.uuid4().hex}"
    root = Path(var_dir) / "attachments"
    target = root / key
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    try:
        with target.open("wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(limit=max_bytes)
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if size == 0:
        target.unlink(missing_ok=True)
        raise ValidationFailed(errors=[FieldError("file", "error.field.empty_file")])
    row = scope.add(
        OrderAttachment(
            order_id=None,
            filename=name,
            content_type=kind,
            size=size,
            sha256=digest.hexdigest(),
            storage_key=key,
            uploaded_by=scope.principal.user_id or None,
            created_at=scope.clock.now(),
        )
    )
    scope.emit("workorder.attachment_uploaded", "workorders", {"id": row.id, "size": size})
    return row
