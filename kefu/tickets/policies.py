"""Pure rules of work orders: typed template fields, member choice, deadline-driven priority.

Standard library and ``kefu.core`` only (mypy --strict).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from kefu.core.errors import FieldError, ValidationFailed

__all__ = [
    "REPEAT_WINDOW_DAYS",
    "FieldSpec",
    "FieldType",
    "MemberLoad",
    "choose_member",
    "followup_call_time",
    "parse_field_specs",
    "parse_followup_reply",
    "routing_priority",
    "validate_values",
]

REPEAT_WINDOW_DAYS = 30  # standards.md §6: repeat_complaint_window_d
TEXT_LIMIT = 2000
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Mainland mobile, landline with area code, 95xxx/96xxx service numbers, 400/800 numbers.
PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|9[56]\d{3,6}|[48]00-?\d{3}-?\d{4})$")


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    CHOICE = "choice"
    DATE = "date"
    PHONE = "phone"
    AMOUNT = "amount"  # money, yuan with at most 2 decimals, stored as a string "12.50"
    ATTACHMENT = "attachment"  # ids of uploaded attachments


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One typed field of a template (e.g. 争议金额, 争议月份, 联系电话)."""

    key: str
    label: str
    type: FieldType
    required: bool = False
    options: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = TEXT_LIMIT
    help: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key,
            "label": self.label,
            "type": self.type.value,
            "required": self.required,
        }
        if self.options:
            out["options"] = list(self.options)
        if self.minimum is not None:
            out["min"] = self.minimum
        if self.maximum is not None:
            out["max"] = self.maximum
        if self.max_length != TEXT_LIMIT:
            out["max_length"] = self.max_length
        if self.help:
            out["help"] = self.help
        return out


def _spec_error(index: int, name: str, key: str = "error.field.invalid") -> FieldError:
    return FieldError(f"fields.{index}.{name}", key)


def parse_field_specs(raw: Sequence[Mapping[str, Any]]) -> tuple[FieldSpec, ...]:
    """Check and build a template's field list; problems are reported per field."""
    errors: list[FieldError] = []
    specs: list[FieldSpec] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        key = str(item.get("key", ""))
        if not KEY.match(key) or key in seen:
            errors.append(_spec_error(index, "key"))
            continue
        seen.add(key)
        try:
            kind = FieldType(str(item.get("type", "")))
        except ValueError:
            errors.append(_spec_error(index, "type"))
            continue
        options = tuple(str(o).strip() for o in item.get("options") or () if str(o).strip())
        if kind is FieldType.CHOICE and not options:
            errors.append(_spec_error(index, "options", "error.field.missing"))
            continue
        label = str(item.get("label", "")).strip() or key
        low, high = item.get("min"), item.get("max")
        try:
            minimum = None if low is None else float(low)
            maximum = None if high is None else float(high)
            length = int(item.get("max_length", TEXT_LIMIT))
        except (TypeError, ValueError):
            errors.append(_spec_error(index, "min"))
            continue
        if minimum is not None and maximum is not None and minimum > maximum:
            errors.append(_spec_error(index, "max"))
            continue
        if not 1 <= length <= TEXT_LIMIT:
            errors.append(_spec_error(index, "max_length"))
            continue
        specs.append(
            FieldSpec(
                key,
                label[:80],
                kind,
                bool(item.get("required", False)),
                options,
                minimum,
                maximum,
                length,
                str(item.get("help", ""))[:200],
            )
        )
    if errors:
        raise ValidationFailed(errors=errors)
    return tuple(specs)


def _number(spec: FieldSpec, value: Any) -> float | int:
    if isinstance(value, bool):
        raise ValueError
    number = float(value) if not isinstance(value, int) else value
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError
    return int(number) if float(number).is_integer() else number


def _clean(spec: FieldSpec, value: Any) -> tuple[Any, str | None]:
    """(cleaned value, message key of the problem or None)."""
    kind = spec.type
    if kind is FieldType.TEXT:
        text = str(value).strip()
        return text, "error.field.string_too_long" if len(text) > spec.max_length else None
    if kind is FieldType.CHOICE:
        text = str(value).strip()
        return text, None if text in spec.options else "error.field.not_an_option"
    if kind is FieldType.PHONE:
        text = re.sub(r"[\s()]", "", str(value))
        return text, None if PHONE.match(text) else "error.field.bad_phone"
    if kind is FieldType.DATE:
        try:
            return date.fromisoformat(str(value).strip()).isoformat(), None
        except ValueError:
            return value, "error.field.date_parsing"
    if kind is FieldType.ATTACHMENT:
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(i, int) and not isinstance(i, bool) for i in items):
            return value, "error.field.invalid"
        return list(dict.fromkeys(items)), None
    if kind is FieldType.AMOUNT:
        try:
            amount = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            return value, "error.field.bad_amount"
        exponent = amount.as_tuple().exponent
        if not amount.is_finite() or (isinstance(exponent, int) and exponent < -2):
            return value, "error.field.bad_amount"
        number: float | int = float(amount)
        cleaned: Any = f"{amount:.2f}"
    else:  # NUMBER
        try:
            number = _number(spec, value)
        except (TypeError, ValueError):
            return value, "error.field.float_parsing"
        cleaned = number
    if spec.minimum is not None and number < spec.minimum:
        return cleaned, "error.field.greater_than_equal"
    if spec.maximum is not None and number > spec.maximum:
        return cleaned, "error.field.less_than_equal"
    return cleaned, None


def validate_values(
    specs: Sequence[FieldSpec], values: Mapping[str, Any], *, prefix: str = "fields"
) -> dict[str, Any]:
    """Cleaned template values; every problem (missing, wrong type, unknown key) at once."""
    errors: list[FieldError] = []
    known = {spec.key: spec for spec in specs}
    for key in values:
        if key not in known:
            errors.append(FieldError(f"{prefix}.{key}", "error.field.extra_forbidden"))
    cleaned: dict[str, Any] = {}
    for spec in specs:
        value = values.get(spec.key)
        if value is None or (isinstance(value, str | list) and not value):
            if spec.required:
                errors.append(FieldError(f"{prefix}.{spec.key}", "error.field.missing"))
            continue
        result, problem = _clean(spec, value)
        if problem is not None:
            params: dict[str, Any] = {}
            if problem.endswith("greater_than_equal"):
                params["ge"] = spec.minimum
            elif problem.endswith("less_than_equal"):
                params["le"] = spec.maximum
            elif problem.endswith("string_too_long"):
                params["max_length"] = spec.max_length
            elif problem.endswith("not_an_option"):
                params["options"] = "、".join(spec.options)
            errors.append(FieldError(f"{prefix}.{spec.key}", problem, **params))
            continue
        cleaned[spec.key] = result
    if errors:
        raise ValidationFailed(errors=errors)
    return cleaned


@dataclass(frozen=True, slots=True)
class MemberLoad:
    user_id: int
    open_orders: int
    capacity: int = 0  # 0 = unlimited


def choose_member(members: Sequence[MemberLoad], *, exclude: int | None = None) -> int | None:
    """The member with the fewest open orders (ties: the lowest id); none when all are full.

    This is the placeholder the routing engine replaces (media type ``work_order``).
    """
    candidates = [
        m
        for m in members
        if m.user_id != exclude and (m.capacity <= 0 or m.open_orders < m.capacity)
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda m: (m.open_orders, m.user_id)).user_id


_BASE = {"low": 1, "normal": 2, "high": 3, "urgent": 4}


def routing_priority(priority: str, fraction_used: float) -> int:
    """Priority for the routing engine: the base level, rising as the deadline approaches.

    ``fraction_used`` is the share of the resolution budget already used (1.0 = due now). The
    result is ``base * 10`` plus up to 10 points at 100 % and 5 more once breached.
    """
    base = _BASE.get(priority, 2) * 10
    share = max(0.0, fraction_used)
    return base + min(10, int(share * 10)) + (5 if share >= 1.0 else 0)


_NOT_SOLVED = ("2", "未解决", "没解决", "没有解决", "不解决", "未处理", "不满意")
_SOLVED = ("1", "已解决", "解决", "满意")


def parse_followup_reply(text: str) -> bool | None:
    """The customer's answer to the 回访 SMS ("1 解决 / 2 未解决"): True solved, False not
    solved, None when it cannot be read (a person looks at it). "2"/"未解决" win over "解决"."""
    cleaned = "".join(ch for ch in text.strip() if not ch.isspace())
    cleaned = cleaned.translate(str.maketrans("１２", "12")).strip("。.!！,，")
    if not cleaned:
        return None
    first = cleaned[0]
    if first == "2" or any(word in cleaned for word in _NOT_SOLVED[1:]):
        return False
    if first == "1" or any(word in cleaned for word in _SOLVED[1:]):
        return True
    return None


def followup_call_time(now: datetime, after: datetime | None, before: datetime | None) -> datetime:
    """When to call the customer back: now if inside the preferred window (or none was given),
    its start if it is ahead, else the same window on the next day it is still ahead."""
    if after is None:
        return now  # only an end (or nothing): as soon as possible
    if now < after:
        return after
    if before is None or now < before:
        return now
    days = (now - after).days + 1
    return after + timedelta(days=days)
