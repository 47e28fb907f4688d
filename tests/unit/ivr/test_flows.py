"""Flow format and design rules: one test per rule, each with a flow that breaks it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from kefu.ivr.flows import (
    Finding,
    FlowFormatError,
    MenuNode,
    check,
    has_errors,
    menu_levels,
    parse_flow,
    speech_seconds,
)

pytestmark = pytest.mark.unit


def base() -> dict[str, Any]:
    return {
        "start": "main",
        "settings": {"human_queue": "general"},
        "nodes": {
            "main": {
                "type": "menu",
                "prompt": "查询请按1，办理请按2。",
                "options": {"1": "info", "2": "sub"},
            },
            "info": {"type": "play", "prompt": {"audio": "p-1", "text": "感谢来电"}, "next": "bye"},
            "bye": {"type": "hangup"},
            "sub": {"type": "menu", "prompt": "办理请按1。", "options": {"1": "q"}},
            "q": {"type": "queue", "queue": "sales"},
        },
    }


def codes(data: dict[str, Any]) -> dict[tuple[str, str | None], str]:
    _, findings = check(data)
    return {(f.code, f.node): f.level for f in findings}


def test_a_good_flow_has_no_findings() -> None:
    flow, findings = check(base())
    assert findings == []
    assert flow is not None and isinstance(flow.nodes["main"], MenuNode)
    assert flow.nodes["info"].prompt.audio == "p-1"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("mutate", "code", "node"),
    [
        (lambda d: d["nodes"]["main"].update(type="dance"), "unknown_type", "main"),
        (lambda d: d["nodes"]["main"].update(colour="red"), "unknown_field", "main"),
        (lambda d: d["nodes"]["main"]["options"].update({"12": "q"}), "invalid_field", "main"),
        (lambda d: d["settings"].update(no_input_retries=9), "invalid_field", None),
        (
            lambda d: d["nodes"].update(
                c={"type": "collect", "prompt": "x", "variable": "1x", "next": "q"}
            ),
            "invalid_field",
            "c",
        ),
        (
            lambda d: d["nodes"].update(
                b={
                    "type": "branch",
                    "rules": [{"when": {"time_from": "25:00", "time_to": "08:00"}, "goto": "q"}],
                    "default": "q",
                }
            ),
            "invalid_field",
            "b",
        ),
        (
            lambda d: d["nodes"].update(
                b={
                    "type": "branch",
                    "rules": [{"when": {"attr": "age", "op": "gt", "value": "old"}, "goto": "q"}],
                    "default": "q",
                }
            ),
            "invalid_field",
            "b",
        ),
    ],
)
def test_malformed_definitions_are_format_errors(mutate: Any, code: str, node: str | None) -> None:
    data = base()
    mutate(data)
    with pytest.raises(FlowFormatError) as exc:
        parse_flow(data)
    assert any(f.code == code and f.node == node for f in exc.value.findings)
    assert has_errors(check(data)[1])


def test_not_a_mapping() -> None:
    assert [f.code for f in check([1, 2])[1]] == ["not_a_flow"]


def deepen(levels: int) -> dict[str, Any]:
    data = base()
    parent = "sub"
    for i in range(2, levels):
        nid = f"m{i}"
        data["nodes"][parent]["options"]["2"] = nid
        data["nodes"][nid] = {"type": "menu", "prompt": "请选择", "options": {"1": "q"}}
        parent = nid
    return data


def test_depth_three_is_fine_four_warns_five_is_an_error() -> None:
    assert menu_levels(parse_flow(deepen(3))) == {"main": 1, "sub": 2, "m2": 3}
    assert codes(deepen(3)) == {}
    assert codes(deepen(4)) == {("menu_deep", "m3"): "warning"}
    found = codes(deepen(5))
    assert found[("menu_too_deep", "m4")] == "error"


def test_depth_counts_the_shortest_way_in() -> None:
    data = deepen(4)
    data["nodes"]["main"]["options"]["3"] = "m3"  # m3 is also reachable from the main menu
    assert codes(data) == {}


@pytest.mark.parametrize(
    ("width", "expected"), [(5, None), (6, "warning"), (7, "error"), (9, "error")]
)
def test_menu_width(width: int, expected: str | None) -> None:
    data = base()
    data["nodes"]["main"]["options"] = {str(k): "q" for k in range(1, width + 1)}
    data["nodes"]["main"]["options"][str(width)] = "sub"
    found = codes(data)
    level = found.get(("menu_wide", "main")) or found.get(("menu_too_wide", "main"))
    assert level == expected


def test_zero_must_reach_a_human_without_further_input() -> None:
    data = base()
    data["nodes"]["main"]["options"]["0"] = "sub"  # another menu: not a human
    assert codes(data)[("zero_not_human", "main")] == "error"
    data["nodes"]["main"]["options"]["0"] = "info"  # play then hang up
    assert codes(data)[("zero_not_human", "main")] == "error"
    data["nodes"]["sorry"] = {"type": "play", "prompt": "正在为您转接人工", "next": "q"}
    data["nodes"]["main"]["options"]["0"] = "sorry"
    assert ("zero_not_human", "main") not in codes(data)


def test_without_the_zero_out_convention_every_menu_maps_zero() -> None:
    data = base()
    data["settings"]["zero_out"] = False
    found = codes(data)
    assert found[("zero_missing", "main")] == "error"
    assert found[("zero_missing", "sub")] == "error"


def test_star_and_hash_are_reserved_for_back_and_main_menu() -> None:
    data = base()
    data["nodes"]["sub"]["options"].update({"*": "q", "#": "bye"})
    found = codes(data)
    assert found[("star_not_back", "sub")] == "warning"
    assert found[("hash_not_main", "sub")] == "warning"


def test_long_menu_prompts_warn_per_level() -> None:
    data = base()
    data["nodes"]["main"]["prompt"] = (
        "话费查询请按一" * 12
    )  # 84 characters ≈ 18.7 s: fine at level 1
    data["nodes"]["sub"]["prompt"] = "话费查询请按一" * 12  # too long at level 2 (15 s)
    found = codes(data)
    assert ("prompt_long", "main") not in found
    assert found[("prompt_long", "sub")] == "warning"
    data["nodes"]["info"]["prompt"] = "很" * 300
    assert codes(data)[("prompt_too_long", "info")] == "error"


def test_speech_seconds() -> None:
    assert speech_seconds("话费查询请按1") == pytest.approx(6 / 4.5 + 1 / 2.5, abs=0.01)
    assert speech_seconds("For billing press one") == pytest.approx(4 / 2.5)
    assert speech_seconds("") == 0


def test_unknown_targets_and_missing_start() -> None:
    data = base()
    data["nodes"]["sub"]["options"]["2"] = "nowhere"
    assert codes(data)[("unknown_target", "sub")] == "error"
    data["start"] = "gone"
    assert codes(data)[("start_missing", None)] == "error"


def test_dead_ends() -> None:
    data = base()
    data["nodes"]["info"].pop("next")
    assert codes(data)[("dead_end", "info")] == "error"
    data = base()
    data["nodes"]["b"] = {"type": "branch", "rules": [{"when": {"holiday": True}, "goto": "q"}]}
    data["nodes"]["main"]["options"]["3"] = "b"
    assert codes(data)[("dead_end", "b")] == "error"


def test_unreachable_nodes_warn() -> None:
    data = base()
    data["nodes"]["lost"] = {"type": "hangup"}
    assert codes(data) == {("unreachable", "lost"): "warning"}


def test_every_path_has_to_end() -> None:
    data = base()
    data["nodes"]["sub"]["options"] = {"1": "back"}
    data["nodes"]["back"] = {"type": "goto", "target": "sub"}
    found = codes(data)
    assert found[("no_end", "sub")] == "error"
    assert ("no_end", "main") not in found  # main can still reach the hang-up


def test_cycles_without_input_are_errors() -> None:
    data = base()
    data["nodes"]["info"]["next"] = "again"
    data["nodes"]["again"] = {"type": "goto", "target": "info"}
    data["nodes"]["main"]["options"]["3"] = "bye"
    found = codes(data)
    assert found[("input_free_cycle", "again")] == "error"
    # a loop through a menu waits for the caller: fine
    data = base()
    data["nodes"]["info"]["next"] = "main"
    data["nodes"]["main"]["options"]["3"] = "bye"
    assert not has_errors(check(data)[1])


def test_lookup_without_an_error_path_warns() -> None:
    data = base()
    data["nodes"]["main"]["options"]["3"] = "look"
    data["nodes"]["look"] = {"type": "lookup", "hook": "balance", "next": "bye"}
    assert codes(data) == {("lookup_no_error_path", "look"): "warning"}


def test_menu_without_choices_and_prompt_missing() -> None:
    data = base()
    data["nodes"]["sub"] = {"type": "menu", "options": {"0": "q"}}
    found = codes(data)
    assert found[("menu_empty", "sub")] == "error"
    assert found[("prompt_missing", "sub")] == "error"


def test_findings_round_trip_as_dicts() -> None:
    f = Finding("warning", "menu_wide", "main", {"options": 6, "max": 5})
    assert f.as_dict() == {
        "level": "warning",
        "code": "menu_wide",
        "node": "main",
        "params": {"options": 6, "max": 5},
    }
    assert f.key == "ivr.finding.menu_wide"


def test_every_finding_code_has_messages_in_both_languages() -> None:
    root = Path(__file__).resolve().parents[3] / "kefu" / "ivr" / "i18n"
    zh = json.loads((root / "zh-CN.json").read_text(encoding="utf-8"))
    en = json.loads((root / "en.json").read_text(encoding="utf-8"))
    assert zh.keys() == en.keys()
    source = (root.parent / "flows.py").read_text(encoding="utf-8")
    import re

    used = set(re.findall(r'Finding\(\s*"(?:error|warning)",\s*"([a-z_]+)"', source))
    assert used and all(f"ivr.finding.{c}" in zh for c in used), used - {
        k.split(".")[-1] for k in zh
    }


def test_parsing_does_not_change_the_input() -> None:
    data = base()
    before = copy.deepcopy(data)
    check(data)
    assert data == before
