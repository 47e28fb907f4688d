"""Plain-data (JSON-ready) encoding of routing dataclasses: configs, commands and events."""

from __future__ import annotations

import enum
import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from datetime import datetime
from typing import Any, TypeVar

from kefu.routing.errors import InvalidArgument

__all__ = ["from_plain", "to_plain"]

_T = TypeVar("_T")


def to_plain(value: Any) -> Any:
    """Datetimes become ISO strings, enums their values, dataclasses and mappings dicts."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in fields(value) if f.init}
    if isinstance(value, Mapping):
        return {str(to_plain(k)): to_plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [to_plain(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted(to_plain(v) for v in value)
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_plain(tp: type[_T], data: Any) -> _T:
    """Rebuild a dataclass (or any supported type) from ``to_plain`` output."""
    try:
        result: _T = _decode(tp, data)
    except (TypeError, ValueError, KeyError) as exc:
        raise InvalidArgument(f"cannot decode {getattr(tp, '__name__', tp)}: {exc}") from exc
    return result


def _decode(tp: Any, data: Any) -> Any:
    if tp is Any or tp is object:
        return data
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _decode(arg, data)
            except (TypeError, ValueError, KeyError):
                continue
        raise ValueError(f"{data!r} matches none of {tp}")
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in data)
        return tuple(_decode(a, v) for a, v in zip(args, data, strict=True))
    if origin in (dict, Mapping, typing.Mapping):
        key_tp, val_tp = typing.get_args(tp)
        return {_decode(key_tp, k): _decode(val_tp, v) for k, v in dict(data).items()}
    if origin in (list, frozenset, set):
        (arg,) = typing.get_args(tp)
        return origin(_decode(arg, v) for v in data)
    if isinstance(tp, type):
        if is_dataclass(tp):
            if not isinstance(data, Mapping):
                raise TypeError(f"expected an object for {tp.__name__}")
            hints = _hints(tp)
            kwargs = {f.name: _decode(hints[f.name], data[f.name])
                      for f in fields(tp) if f.init and f.name in data}
            return tp(**kwargs)
        if issubclass(tp, enum.Enum):
            return tp(data)
        if tp is datetime:
            return data if isinstance(data, datetime) else datetime.fromisoformat(data)
        if tp is float:
            if isinstance(data, bool) or not isinstance(data, int | float):
                raise TypeError(f"expected a number, got {data!r}")
            return float(data)
        if tp in (int, str, bool):
            if not isinstance(data, tp) or (tp is int and isinstance(data, bool)):
                raise TypeError(f"expected {tp.__name__}, got {data!r}")
            return data
        if tp is type(None):
            if data is not None:
                raise TypeError("expected null")
            return None
    raise TypeError(f"unsupported type {tp!r}")
