"""The text bot: one flow as a chat menu; the state survives a round trip through JSON."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kefu.ivr.flows import parse_flow
from kefu.ivr.runner import Lookup, ToQueue
from kefu.ivr.textbot import TextBot, keys_of

pytestmark = pytest.mark.unit
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
FLOW = parse_flow(
    {
        "start": "main",
        "settings": {"human_queue": "chat"},
        "nodes": {
            "main": {
                "type": "menu",
                "prompt": "1 话费查询；2 故障报修；0 人工",
                "options": {"1": "bill", "2": "fault"},
            },
            "bill": {
                "type": "lookup",
                "hook": "balance",
                "assign": {"balance": "balance"},
                "next": "say",
                "on_error": "main",
            },
            "say": {"type": "play", "prompt": "余额${balance}元", "next": "bye"},
            "bye": {"type": "hangup"},
            "fault": {"type": "menu", "prompt": "1 宽带；2 固话", "options": {"1": "q", "2": "q"}},
            "q": {"type": "queue", "queue": "fault"},
        },
    }
)


def begin(caller: dict[str, Any] | None = None) -> tuple[TextBot, list[Any]]:
    return TextBot.begin(
        FLOW, caller=caller or {}, local_now=NOW, is_workday=True, is_holiday=False
    )


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("1", "1"),
        ("１", "1"),
        (" 2。", "2"),
        ("转人工", "0"),
        ("人工", "0"),
        ("返回", "*"),
        ("＃", "#"),
        ("1 2", "12"),
        ("查话费", "?"),
        ("", "?"),
    ],
)
def test_messages_become_keys(text: str, keys: str) -> None:
    assert keys_of(text) == keys


def test_menu_by_message_with_a_lookup_and_a_json_round_trip() -> None:
    bot, first = begin()
    assert [(m.kind, m.text) for m in first] == [("menu", "1 话费查询；2 故障报修；0 人工")]
    assert bot.message("1") == []
    assert bot.pending_lookup == Lookup("balance", {})
    stored = json.loads(json.dumps(bot.state))  # what the chat keeps between messages
    again = TextBot(FLOW, stored)
    assert again.pending_lookup == Lookup("balance", {})
    answer = again.lookup_result({"balance": "12.30"})
    assert [m.text for m in answer] == ["余额12.30元", "本次自助服务已结束，感谢使用。"]
    assert again.session.outcome == "self_service" and again.handover is None


def test_wrong_text_is_a_wrong_input_and_zero_hands_over() -> None:
    bot, _ = begin()
    wrong = bot.message("查话费")
    assert wrong[0].text == "您的输入有误，请重新输入。" and wrong[-1].kind == "menu"
    bot.message("2")
    handover = bot.message("人工")
    assert handover[-1].kind == "handover"
    assert bot.handover == ToQueue("chat", 0, "zero_out")
    assert bot.message("1") == []  # finished: later messages go to the agent


def test_elderly_customers_are_handed_over_at_once() -> None:
    bot, first = begin({"age": 70})
    assert [m.kind for m in first] == ["handover"]
    assert bot.handover == ToQueue("chat", 0, "elderly")
