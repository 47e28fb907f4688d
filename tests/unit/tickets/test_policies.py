"""Typed template fields, the member choice and the deadline-driven routing priority."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu.core.errors import ValidationFailed
from kefu.tickets.policies import (
    MemberLoad,
    choose_member,
    parse_field_specs,
    routing_priority,
    validate_values,
)

pytestmark = pytest.mark.unit

SPECS = parse_field_specs(
    [
        {"key": "amount", "label": "争议金额", "type": "amount", "required": True, "min": 0},
        {"key": "months", "label": "在网时长", "type": "number", "min": 0, "max": 600},
        {"key": "item", "label": "争议项目", "type": "choice", "options": ["月租费", "流量费"]},
        {"key": "month", "label": "争议月份", "type": "date"},
        {"key": "phone", "label": "联系电话", "type": "phone", "required": True},
        {"key": "note", "label": "备注", "type": "text", "max_length": 10},
        {"key": "proof", "label": "凭证", "type": "attachment"},
    ]
)


def _problems(values: dict[str, object]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as failed:
        validate_values(SPECS, values)
    return {e.field: e.key.rsplit(".", 1)[-1] for e in failed.value.errors}


def test_good_values_are_cleaned() -> None:
    cleaned = validate_values(
        SPECS,
        {
            "amount": "1,200.5",
            "months": "36",
            "item": "流量费",
            "month": "2026-07-01",
            "phone": "027-8765 4321",
            "note": " 急 ",
            "proof": [3, 3, 4],
        },
    )
    assert cleaned == {
        "amount": "1200.50",
        "months": 36,
        "item": "流量费",
        "month": "2026-07-01",
        "phone": "027-87654321",
        "note": "急",
        "proof": [3, 4],
    }
    for phone in ("13800138000", "95598", "400-810-0000", "010-12345678"):
        assert validate_values(SPECS, {"amount": "1", "phone": phone})["phone"]


def test_every_problem_is_reported_at_once() -> None:
    assert _problems({"amount": "-1", "months": 601, "item": "短信", "extra": 1}) == {
        "fields.amount": "greater_than_equal",
        "fields.months": "less_than_equal",
        "fields.item": "not_an_option",
        "fields.extra": "extra_forbidden",
        "fields.phone": "missing",
    }
    assert _problems({"amount": "1.005", "phone": "12345", "month": "2026-02-30"}) == {
        "fields.amount": "bad_amount",
        "fields.phone": "bad_phone",
        "fields.month": "date_parsing",
    }
    assert (
        _problems({"amount": "1", "phone": "13800138000", "note": "x" * 11, "months": True})[
            "fields.note"
        ]
        == "string_too_long"
    )
    assert _problems({"amount": "nan", "phone": "13800138000", "proof": ["a"]}) == {
        "fields.amount": "bad_amount",
        "fields.proof": "invalid",
    }


def test_field_specs_are_checked() -> None:
    with pytest.raises(ValidationFailed) as failed:
        parse_field_specs(
            [
                {"key": "ok", "type": "text"},
                {"key": "ok", "type": "text"},
                {"key": "x", "type": "colour"},
                {"key": "c", "type": "choice"},
                {"key": "n", "type": "number", "min": 5, "max": 1},
            ]
        )
    assert [e.field for e in failed.value.errors] == [
        "fields.1.key",
        "fields.2.type",
        "fields.3.options",
        "fields.4.max",
    ]


def test_fewest_open_orders_wins_and_full_members_are_skipped() -> None:
    members = [MemberLoad(7, 3), MemberLoad(5, 3), MemberLoad(9, 1, capacity=1), MemberLoad(2, 4)]
    assert choose_member(members) == 5  # 9 is full; 5 and 7 tie on load, lowest id
    assert choose_member(members, exclude=5) == 7
    assert choose_member([MemberLoad(1, 2, capacity=2)]) is None
    assert choose_member([]) is None


@given(st.sampled_from(["low", "normal", "high", "urgent"]), st.floats(0, 3), st.floats(0, 3))
def test_routing_priority_rises_as_the_deadline_approaches(
    priority: str, first: float, second: float
) -> None:
    low, high = sorted((first, second))
    assert routing_priority(priority, low) <= routing_priority(priority, high)
    assert routing_priority("urgent", 0) > routing_priority("low", 0.99)
    assert routing_priority(priority, 1.0) - routing_priority(priority, 0.0) == 15
