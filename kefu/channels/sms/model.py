"""SMS rules: mainland mobile numbers and message length (pure)."""

from __future__ import annotations

import re

__all__ = ["MAX_BODY", "normalise_phone"]

MAX_BODY = 500  # characters; a gateway splits long messages (70 Chinese characters per part)
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalise_phone(raw: str) -> str | None:
    """A mainland mobile number as 11 digits (``+86``/``0086``/``86`` and separators dropped);
    None when it is not one (landlines cannot receive SMS)."""
    digits = "".join(ch for ch in raw if ch.isdigit())
    for prefix in ("0086", "86"):
        if len(digits) == 11 + len(prefix) and digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits if _MOBILE.match(digits) else None
