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


_PACKAGE = _DIR.parent.parent  # kefu/


@cache
def catalog(locale: str) -> dict[str, str]:
    """The flat key -> message mapping of one locale.

    The shared catalog lives here; each feature may add its own keys in
    ``kefu/<feature>/i18n/<locale>.json`` (a key defined twice is an error).
    """
    data: dict[str, str] = {}
    features = [p for p in sorted(_PACKAGE.glob(f"*/i18n/{locale}.json")) if p.parent != _DIR]
    for path in [_DIR / f"{locale}.json", *features]:
        with path.open(encoding="utf-8") as fh:
            part: dict[str, str] = json.load(fh)
        clash = set(part) & set(data)
        if clash:
            raise ValueError(f"{path}: keys already defined: {sorted(clash)[:5]}")
        data.update(part)
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
