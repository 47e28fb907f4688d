"""PII masking as shown in UI, exports and transcripts (e.g. 138****1234)."""

from __future__ import annotations

__all__ = ["mask_card", "mask_phone"]


def mask_phone(phone: str) -> str:
    """Keep the first 3 and last 4 digits of an 11-digit mobile; shorter numbers keep the last 2."""
    digits = phone.strip()
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) > 4:
        return "*" * (len(digits) - 2) + digits[-2:]
    return "*" * len(digits)


def mask_card(number: str) -> str:
    """Bank cards: first 6 and last 4 visible."""
    digits = number.replace(" ", "")
    if len(digits) <= 10:
        return "*" * len(digits)
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]
