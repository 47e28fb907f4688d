"""Message catalogs (zh-CN default, en) and the one translate() used by API errors and pages."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_LOCALE", "LOCALES", "catalog", "negotiate", "translate"]

DEFAULT_LOCALE = "zh-CN"
LOCALES: tuple[str, ...] = ("zh-CN", "en")
_DIR = Path(__file__).parent


@cache
def catalog(locale: str) -> dict[str, str]:
    """The flat key -> message mapping of one locale."""
    with (_DIR / f"{locale}.json").open(encoding="utf-8") as fh:
        data: dict[str, str] = json.load(fh)
    return data


def negotiate(*candidates: str | None) -> str:
    """Pick the first supported locale from explicit choices or Accept-Language values."""
    for candidate in candidates:
        if not candidate:
            continue
        for part in candidate.split(","):
            tag = part.split(";")[0].strip().lower()
            if not tag or tag == "*":
                continue
            if tag.startswith("zh"):
                return "zh-CN"
            if tag.startswith("en"):
                return "en"
    return DEFAULT_LOCALE


def translate(
    key: str, locale: str = DEFAULT_LOCALE, default: str | None = None, **params: Any
) -> str:
    """Message for ``key`` in ``locale``, falling back to zh-CN, then ``default``, then the key."""
    message = catalog(locale).get(key) or catalog(DEFAULT_LOCALE).get(key)
    if message is None:
        message = default if default is not None else key
    if params:
        try:
            return message.format(**params)
        except (KeyError, IndexError, ValueError):
            return message
    return message
