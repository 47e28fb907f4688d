"""The IVR session: navigation conventions, retries, branches, hooks and, by hypothesis, that
every session on every valid flow ends (in bounded steps) in a queue, self-service or hang-up."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefu.core.clock import ManualClock
from kefu.ivr.flows import has_errors, parse_flow, validate
from kefu.ivr.runner import (
    Collect,
    Hangup,
    IvrSession,
    Lookup,
    OfferCallback,
    Play,
    SendSms,
    ToQueue,
    Voicemail,
)

pytestmark = pytest.mark.unit

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 1, 5, 10, 0, tzinfo=SHANGHAI)

TELECOM: dict[str, Any] = {
    "start": "hours",
    "settings": {"human_queue": "general"},
    "nodes": {
        "hours": {
            "type": "branch",
            "rules": [
                {"when": {"holiday": True}, "goto": "closed"},
                {"when": {"time_from": "08:00", "time_to": "20:00"}, "goto": "vip"},
            ],
            "default": "closed",
        },
        "closed": {"type": "voicemail", "box": "night", "prompt": "现在是非工作时间，请留言。"},
        "vip": {
            "type": "branch",
            "rules": [
                {
                    "when": {"attr": "level", "op": "in", "value": ["gold", "diamond"]},
                    "goto": "vipq",
                }
            ],
            "default": "main",
        },
        "vipq": {"type": "queue", "queue": "vip", "priority": 5},
        "main": {
            "type": "menu",
            "prompt": "话费查询请按1，故障报修请按2，人工服务请按0。",
            "options": {"1": "bill", "2": "fault"},
        },
        "bill": {
            "type": "lookup",
            "hook": "balance",
            "params": {"phone": "${caller.phone}"},
            "assign": {"balance": "account.balance"},
            "next": "say",
            "on_error": "sorry",
        },
        "say": {"type": "play", "prompt": "您的余额为${balance}元。", "next": "sms"},
        "sms": {
            "type": "sms",
            "template": "balance",
            "params": {"amount": "${balance}"},
            "next": "bye",
        },
        "bye": {"type": "hangup"},
        "sorry": {"type": "play", "prompt": "查询暂不可用。", "next": "main"},
        "fault": {
            "type": "menu",
            "prompt": "宽带故障请按1，报修进度请按2。",
            "options": {"1": "fq", "2": "ticket"},
        },
        "fq": {"type": "callback_offer", "queue": "fault"},
        "ticket": {
            "type": "collect",
            "prompt": "请输入工单号，以井号键结束。",
            "variable": "ticket",
            "min_digits": 4,
            "max_digits": 8,
            "next": "bye",
        },
    },
}


def session(caller: dict[str, Any] | None = None, **kw: Any) -> IvrSession:
    flow = parse_flow(TELECOM)
    assert not has_errors(validate(flow))
    args: dict[str, Any] = {"local_now": MONDAY_10, "is_workday": True, "is_holiday": False}
    args.update(kw)
    return IvrSession(flow, caller=caller or {"phone": "13800000000"}, **args)


def test_start_plays_the_main_menu_and_collects_one_key() -> None:
    s = session()
    actions = s.start()
    assert actions == [
        Play("", "话费查询请按1，故障报修请按2，人工服务请按0。"),
        Collect(1, 5.0, None),
    ]
    assert [p.node for p in s.path] == ["hours", "vip", "main"]


def test_balance_lookup_reads_the_result_and_ends_in_self_service() -> None:
    s = session()
    s.start()
    assert s.digits("1") == [Lookup("balance", {"phone": "13800000000"})]
    assert s.waiting_for == "lookup"
    actions = s.lookup_result({"account": {"balance": 35.2}})
    assert actions == [
        Play("", "您的余额为35.2元。"),
        SendSms("balance", {"amount": "35.2"}),
        Hangup("completed"),
    ]
    assert s.finished and s.outcome == "self_service"


def test_failed_lookup_takes_the_error_path() -> None:
    s = session()
    s.start()
    s.digits("1")
    actions = s.lookup_result(None)
    assert actions[0] == Play("", "查询暂不可用。")
    assert s.current_node == "main" and not s.finished


def test_zero_star_and_hash() -> None:
    s = session()
    s.start()
    s.digits("2")
    assert s.current_node == "fault"
    s.digits("*")
    assert s.current_node == "main"
    s.digits("2")
    s.digits("#")
    assert s.current_node == "main"
    s.digits("2")
    assert s.digits("0") == [ToQueue("general", 0, "zero_out")]
    assert s.outcome == "queued" and s.zero_out_node == "fault"


def test_type_ahead_skips_prompts_the_caller_already_knows() -> None:
    s = session()
    s.start()
    actions = s.digits("22")
    assert actions == [Play("", "请输入工单号，以井号键结束。"), Collect(8, 5.0, "#")]
    assert s.digits("1234#") == [Hangup("completed")]
    assert s.variables["ticket"] == "1234"


def test_too_short_entry_is_wrong_input_and_retried() -> None:
    s = session()
    s.start()
    s.digits("22")
    actions = s.digits("12#")
    assert actions[0] == Play("", "您的输入有误，请重新输入。")
    assert actions[-1] == Collect(8, 5.0, "#")
    assert s.digits("9") == []  # an entry in progress
    assert s.timeout()[0] == Play("", "您的输入有误，请重新输入。")
    assert s.digits("9#") == [ToQueue("general", 0, "invalid_input")]


def test_an_entry_keyed_one_digit_at_a_time_ends_at_max_digits_or_timeout() -> None:
    s = session()
    s.start()
    s.digits("2")
    s.digits("2")
    for key in "1234567":
        assert s.digits(key) == []
    assert s.digits("8") == [Hangup("completed")]
    assert s.variables["ticket"] == "12345678"
    s = session()
    s.start()
    s.digits("22")
    s.digits("12345")
    assert s.timeout() == [Hangup("completed")]
    assert s.variables["ticket"] == "12345"
    s = session()
    s.start()
    s.digits("22")
    assert s.digits("4321", complete=True) == [Hangup("completed")]


def test_no_input_replays_twice_then_queues() -> None:
    s = session()
    s.start()
    for _ in range(2):
        actions = s.timeout()
        assert actions[0] == Play("", "我们没有收到您的输入。")
        assert isinstance(actions[-1], Collect)
    assert s.timeout() == [ToQueue("general", 0, "no_input")]


def test_callback_offer_accepted_or_declined() -> None:
    s = session()
    s.start()
    s.digits("21")
    assert s.digits("1") == [OfferCallback("fault")]
    assert s.outcome == "callback"
    s = session()
    s.start()
    s.digits("21")
    assert s.digits("5") == [ToQueue("fault", 0, "callback_declined")]


def test_branches_on_holiday_time_and_customer_attributes() -> None:
    night = session(local_now=datetime(2026, 1, 5, 21, 30, tzinfo=SHANGHAI))
    assert night.start()[-1] == Voicemail("night")
    holiday = session(is_holiday=True)
    assert holiday.start()[-1] == Voicemail("night")
    vip = session({"level": "gold"})
    assert vip.start() == [ToQueue("vip", 5, "menu")]


@pytest.mark.parametrize("caller", [{"age": 65}, {"age": "81"}, {"elderly": True}])
def test_elderly_callers_go_straight_to_a_human(caller: dict[str, Any]) -> None:
    s = session(caller)
    assert s.start() == [ToQueue("general", 0, "elderly")]
    assert s.outcome == "queued" and s.path == []


def test_younger_callers_take_the_menu() -> None:
    assert isinstance(session({"age": 64}).start()[-1], Collect)


def test_full_width_digits_from_a_chat_count_as_keys() -> None:
    s = session()
    s.start()
    s.digits(" ２ ")
    assert s.current_node == "fault"


def test_caller_hangup_is_an_ivr_abandon_and_path_times_come_from_the_clock() -> None:
    clock = ManualClock(datetime(2026, 1, 5, 2, 0, tzinfo=UTC))
    s = session(clock=clock)
    s.start()
    clock.advance(7)
    s.digits("2")
    clock.advance(3)
    s.hangup()
    clock.advance(100)
    assert s.outcome == "abandoned"
    assert [tuple(p) for p in s.path][-1] == ("fault", 7.0)
    assert s.summary()["duration_s"] == 10.0
    assert s.digits("1") == [] and s.timeout() == []


def test_too_many_inputs_hand_over_to_a_human() -> None:
    s = session()
    s.start()
    out: list[Any] = []
    for _ in range(40):
        out = s.digits("2*")
        if s.finished:
            break
    assert out == [ToQueue("general", 0, "max_inputs")]


# ----------------------------------------------------------------------- hypothesis


@st.composite
def flows(draw: st.DrawFn) -> dict[str, Any]:
    """Random valid flows: menus at most 3 deep and 5 wide, every kind of leaf."""
    nodes: dict[str, Any] = {}
    counter = [0]

    def new(prefix: str) -> str:
        counter[0] += 1
        return f"{prefix}{counter[0]}"

    def leaf(depth: int) -> str:
        kinds = [
            "queue",
            "hangup",
            "play",
            "collect",
            "lookup",
            "sms",
            "callback",
            "voicemail",
            "goto",
        ]
        if depth < 3:
            kinds += ["menu", "menu"]
        kind = draw(st.sampled_from(kinds))
        nid = new(kind)
        end = new("end")
        nodes[end] = draw(
            st.sampled_from(
                [
                    {"type": "hangup"},
                    {"type": "queue", "queue": "q2"},
                    {"type": "hangup", "reason": "info"},
                ]
            )
        )
        if kind == "menu":
            return menu(depth + 1, nid)
        if kind == "queue":
            nodes[nid] = {"type": "queue", "queue": draw(st.sampled_from(["", "sales"]))}
        elif kind == "hangup":
            nodes[nid] = {"type": "hangup", "prompt": "再见"}
        elif kind == "play":
            nodes[nid] = {"type": "play", "prompt": "提示", "next": end}
        elif kind == "collect":
            branch = new("branch")
            nodes[branch] = {
                "type": "branch",
                "rules": [{"when": {"var": "v", "op": "gt", "value": 50}, "goto": end}],
                "default": "main",
            }
            nodes[nid] = {
                "type": "collect",
                "prompt": "请输入",
                "variable": "v",
                "max_digits": draw(st.integers(1, 4)),
                "terminator": draw(st.sampled_from(["#", None])),
                "next": branch,
            }
        elif kind == "lookup":
            nodes[nid] = {"type": "lookup", "hook": "h", "next": end, "on_error": "main"}
        elif kind == "sms":
            nodes[nid] = {"type": "sms", "template": "t", "next": end}
        elif kind == "callback":
            nodes[nid] = {"type": "callback_offer", "queue": "cb"}
        elif kind == "voicemail":
            nodes[nid] = {"type": "voicemail"}
        else:
            nodes[nid] = {"type": "goto", "target": "main"}
        return nid

    def menu(depth: int, nid: str) -> str:
        width = draw(st.integers(1, 5))
        options = {str(k): leaf(depth) for k in range(1, width + 1)}
        if depth == 1:  # the main menu always has a way out besides 0 (else: no_end)
            out = new("out")
            nodes[out] = {"type": "queue", "queue": "sales"}
            options[str(width)] = out
        if draw(st.booleans()):
            zero = new("human")
            nodes[zero] = {"type": "queue", "queue": "general"}
            options["0"] = zero
        nodes[nid] = {"type": "menu", "prompt": f"菜单{nid}", "options": options}
        return nid

    menu(1, "main")
    return {
        "start": "main",
        "settings": {
            "human_queue": "general",
            "no_input_retries": draw(st.integers(0, 3)),
            "invalid_retries": draw(st.integers(0, 3)),
            "max_inputs": draw(st.integers(1, 40)),
        },
        "nodes": nodes,
    }


EVENTS = st.one_of(
    st.text(alphabet="0123456789*#", min_size=1, max_size=4).map(lambda d: ("digits", d)),
    st.just(("timeout", "")),
    st.sampled_from([("lookup", None), ("lookup", {"x": 1})]),
)
FINAL = (ToQueue, Hangup, Voicemail, OfferCallback)


def run(
    flow_data: dict[str, Any], events: list[tuple[str, Any]], caller: dict[str, Any]
) -> tuple[IvrSession, list[Any]]:
    flow = parse_flow(flow_data)
    s = IvrSession(flow, caller=caller, local_now=MONDAY_10, is_workday=True, is_holiday=False)
    actions = s.start()
    for kind, value in events:
        if s.finished:
            break
        if kind == "digits":
            actions += s.digits(value)
        elif kind == "timeout":
            actions += s.timeout()
        else:
            actions += s.lookup_result(value)
    return s, actions


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flows(), st.lists(EVENTS, max_size=40))
def test_every_session_ends_in_bounded_steps(flow_data: dict[str, Any], events: list[Any]) -> None:
    assert not has_errors(validate(parse_flow(flow_data)))
    s, actions = run(flow_data, events, {})
    # then the caller stops pressing keys: no more than a handful of further events end it
    for _ in range(4 * (len(flow_data["nodes"]) + 4)):
        if s.finished:
            break
        actions += s.lookup_result(None) if s.waiting_for == "lookup" else s.timeout()
    assert s.finished
    assert s.outcome in {"queued", "self_service", "hangup", "callback", "voicemail"}
    assert isinstance(actions[-1], FINAL)
    assert sum(isinstance(a, FINAL) for a in actions) == 1
    assert s.path and s.path[0].node == "main"
    assert all(a.at <= b.at for a, b in zip(s.path, s.path[1:], strict=False))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flows(), st.lists(EVENTS, max_size=20))
def test_zero_at_any_menu_reaches_the_human_queue(
    flow_data: dict[str, Any], events: list[Any]
) -> None:
    s, _ = run(flow_data, events, {})
    if s.waiting_for != "menu":
        return
    before = s.inputs
    actions = s.digits("0")
    if before + 1 > flow_data["settings"]["max_inputs"]:
        assert actions == [ToQueue("general", 0, "max_inputs")]
    else:
        assert actions == [ToQueue("general", 0, "zero_out")]
    assert s.outcome == "queued"


@settings(max_examples=60, deadline=None)
@given(flows(), st.integers(65, 110) | st.just(None))
def test_elderly_go_straight_to_the_human_queue(flow_data: dict[str, Any], age: int | None) -> None:
    caller = {"age": age} if age is not None else {"elderly": True}
    _, actions = run(flow_data, [("digits", "1")], caller)
    assert actions == [ToQueue("general", 0, "elderly")]
