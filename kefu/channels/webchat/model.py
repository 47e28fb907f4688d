"""Web chat rules, pure: message text, file types and sizes, ratings, conversation states,
and the in-order, exactly-once delivery gate used by every live stream of a conversation."""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

__all__ = [
    "ALLOWED_FILES",
    "MAX_FILE_BYTES",
    "MAX_IMAGE_BYTES",
    "MAX_TEXT_CHARS",
    "ChatRuleError",
    "ConversationStatus",
    "FileKind",
    "SeqGate",
    "check_file",
    "check_rating",
    "clean_text",
    "safe_filename",
    "sniff",
]

MAX_TEXT_CHARS = 2000
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_FILE_BYTES = 10 * 1024 * 1024


class ChatRuleError(ValueError):
    """A rule refused the input; ``code`` names it (translated as error.<code>.*)."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class ConversationStatus(enum.StrEnum):
    WAITING = "waiting"  # in the queue (position and expected wait are shown)
    ACTIVE = "active"  # an agent joined
    TRANSFERRING = "transferring"  # back in a queue after a transfer
    ENDED = "ended"  # the agent or the customer ended it: rating is asked
    CALLBACK = "callback"  # the customer left a phone number instead of waiting
    ABANDONED = "abandoned"  # the customer left before an agent joined
    EXPIRED = "expired"  # nobody served it in time


OPEN_STATUSES = frozenset(
    {ConversationStatus.WAITING, ConversationStatus.ACTIVE, ConversationStatus.TRANSFERRING}
)


@dataclass(frozen=True)
class FileKind:
    content_type: str
    extensions: tuple[str, ...]
    image: bool
    max_bytes: int


ALLOWED_FILES: dict[str, FileKind] = {
    "image/png": FileKind("image/png", ("png",), True, MAX_IMAGE_BYTES),
    "image/jpeg": FileKind("image/jpeg", ("jpg", "jpeg"), True, MAX_IMAGE_BYTES),
    "image/gif": FileKind("image/gif", ("gif",), True, MAX_IMAGE_BYTES),
    "image/webp": FileKind("image/webp", ("webp",), True, MAX_IMAGE_BYTES),
    "application/pdf": FileKind("application/pdf", ("pdf",), False, MAX_FILE_BYTES),
    "text/plain": FileKind("text/plain", ("txt", "log", "csv"), False, MAX_FILE_BYTES),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": FileKind(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ("docx",),
        False,
        MAX_FILE_BYTES,
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": FileKind(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ("xlsx",),
        False,
        MAX_FILE_BYTES,
    ),
}
_ZIP_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def clean_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Trimmed message text without control characters (newlines and tabs stay).

    Markup is kept as typed: it is data, always shown as text, never interpreted.
    """
    kept = "".join(
        ch
        for ch in text
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Co", "Cn")
    ).strip()
    if not kept:
        raise ChatRuleError("chat_empty_message")
    if len(kept) > limit:
        raise ChatRuleError("chat_message_too_long", max=limit, length=len(kept))
    return kept


def safe_filename(name: str) -> str:
    """The last path part, without control characters or quotes, at most 120 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(
        ch for ch in base if unicodedata.category(ch)[0] != "C" and ch not in '"<>|:*?'
    ).strip(" .")
    return (base or "file")[-120:]


def sniff(head: bytes, extension: str = "") -> str | None:
    """The content type proven by the first bytes, or None when not an allowed kind."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return _ZIP_TYPES.get(extension)
    if extension in ("txt", "log", "csv") and b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # a character cut at the end of the sample is fine
                return None
        return "text/plain"
    return None


def check_file(filename: str, size: int, head: bytes) -> FileKind:
    """The allowed kind of an upload, or a ChatRuleError saying why it is refused."""
    name = safe_filename(filename)
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if size <= 0:
        raise ChatRuleError("chat_file_empty")
    content_type = sniff(head, extension)
    if content_type is None:
        allowed = ", ".join(sorted({e for k in ALLOWED_FILES.values() for e in k.extensions}))
        raise ChatRuleError("chat_file_type", name=name, allowed=allowed)
    kind = ALLOWED_FILES[content_type]
    if extension not in kind.extensions:
        raise ChatRuleError("chat_file_type_mismatch", name=name, kind=kind.extensions[0])
    if size > kind.max_bytes:
        raise ChatRuleError(
            "chat_file_too_large", name=name, max_mb=kind.max_bytes // (1024 * 1024)
        )
    return kind


def check_rating(score: int) -> int:
    if not 1 <= score <= 5:
        raise ChatRuleError("chat_bad_rating")
    return score


@dataclass
class SeqGate:
    """Delivers a conversation's messages to one reader in sequence order, each exactly once.

    Messages are numbered 1, 2, 3 … per conversation when stored; live notifications may arrive
    late, twice, or out of order (two commits publish in either order). ``offer`` returns what
    to send now, in order: a number already sent is dropped; a number further ahead than the
    next one first pulls the missing ones from the store through ``load(after, before)`` (they
    are committed: numbers are taken in commit order); anything still missing waits.
    """

    last: int = 0
    pending: dict[int, object] = field(default_factory=dict)

    def offer(
        self, seq: int, item: object, load: Callable[[int, int], Iterable[tuple[int, object]]]
    ) -> list[object]:
        if seq <= self.last or seq in self.pending:
            return []
        self.pending[seq] = item
        if seq > self.last + 1 and (self.last + 1) not in self.pending:
            for number, missing in load(self.last, seq):
                if self.last < number < seq:
                    self.pending.setdefault(number, missing)
        out: list[object] = []
        while self.last + 1 in self.pending:
            self.last += 1
            out.append(self.pending.pop(self.last))
        return out
