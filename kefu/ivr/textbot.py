"""The same IVR flow as a text menu (web chat): actions become messages, messages become keys.

Pure. A chat has no open line to keep a session in memory, so :class:`TextBot` keeps what
happened as a small JSON-able state (the inputs in order plus the start conditions) and
rebuilds the :class:`~kefu.ivr.runner.IvrSession` by replaying it: the runner is
deterministic, so the replay ends exactly where the customer is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kefu.ivr.flows import Flow
from kefu.ivr.runner import (
    Action,
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

__all__ = ["BotMessage", "TextBot", "keys_of", "messages_of"]

# Words a customer types instead of pressing 0 (转人工), * (返回) or # (主菜单).
WORDS = {
    "0": ("人工", "转人工", "人工服务", "客服", "agent", "human", "operator"),
    "*": ("返回", "上一级", "back"),
    "#": ("主菜单", "菜单", "menu", "main"),
}
_KEYS = re.compile(r"^[0-9*#]{1,32}$")


@dataclass(frozen=True)
class BotMessage:
    """A message the bot shows: ``kind`` is menu (a prompt expecting a key), text, handover,
    end; ``text`` is what the customer reads; ``data`` carries the action's details."""

    kind: str
    text: str
    data: Mapping[str, Any]


def keys_of(message: str) -> str:
    """What a chat message means as keys: digits, * and # as typed (full-width too), or the
    words for 0/*/#; anything else becomes "?" (a wrong input the menu will say so)."""
    text = unicodedata.normalize("NFKC", message).strip().lower()
    text = text.rstrip("。.!！ ")
    compact = re.sub(r"[\s,，、]+", "", text)
    if _KEYS.match(compact):
        return compact
    for key, words in WORDS.items():
        if compact in words:
            return key
    return "?"


def messages_of(actions: list[Action]) -> list[BotMessage]:
    """The customer-visible messages for actions (Collect and Lookup show nothing)."""
    out: list[BotMessage] = []
    for i, action in enumerate(actions):
        if isinstance(action, Play):
            expects = any(isinstance(a, Collect) for a in actions[i + 1 : i + 2])
            if action.text:
                kind = "menu" if expects else "text"
                out.append(BotMessage(kind, action.text, {"prompt": action.prompt}))
        elif isinstance(action, ToQueue):
            out.append(
                BotMessage(
                    "handover",
                    "正在为您转接人工客服，请稍候。",
                    {"queue": action.queue, "reason": action.reason},
                )
            )
        elif isinstance(action, OfferCallback):
            out.append(
                BotMessage(
                    "handover", "已为您登记回电，客服会尽快联系您。", {"queue": action.queue}
                )
            )
        elif isinstance(action, Voicemail):
            out.append(BotMessage("end", "请直接留言，客服上班后会回复您。", {"box": action.box}))
        elif isinstance(action, SendSms):
            out.append(
                BotMessage("text", "相关信息已通过短信发送给您。", {"template": action.template})
            )
        elif isinstance(action, Hangup):
            out.append(
                BotMessage("end", "本次自助服务已结束，感谢使用。", {"reason": action.reason})
            )
    return out


class TextBot:
    """One chat's way through a flow; ``state`` is what to store between messages."""

    def __init__(self, flow: Flow, state: Mapping[str, Any]) -> None:
        self.flow = flow
        self.state: dict[str, Any] = {
            "caller": dict(state.get("caller") or {}),
            "local_now": str(state["local_now"]),
            "is_workday": bool(state.get("is_workday", True)),
            "is_holiday": bool(state.get("is_holiday", False)),
            "inputs": [list(x) for x in state.get("inputs") or []],
        }
        self.session = IvrSession(
            flow,
            caller=self.state["caller"],
            local_now=datetime.fromisoformat(self.state["local_now"]),
            is_workday=self.state["is_workday"],
            is_holiday=self.state["is_holiday"],
        )
        self._last = self.session.start()
        for kind, value in self.state["inputs"]:
            self._last = self._apply(kind, value)

    @classmethod
    def begin(
        cls,
        flow: Flow,
        *,
        caller: Mapping[str, Any],
        local_now: datetime,
        is_workday: bool,
        is_holiday: bool,
    ) -> tuple[TextBot, list[BotMessage]]:
        bot = cls(
            flow,
            {
                "caller": dict(caller),
                "local_now": local_now.isoformat(),
                "is_workday": is_workday,
                "is_holiday": is_holiday,
                "inputs": [],
            },
        )
        return bot, bot.messages(bot._last)

    def _apply(self, kind: str, value: Any) -> list[Action]:
        if kind == "keys":
            return self.session.digits(str(value), complete=True)
        if kind == "lookup":
            return self.session.lookup_result(value if isinstance(value, Mapping) else None)
        if kind == "timeout":
            return self.session.timeout()
        return []

    def _record(self, kind: str, value: Any) -> list[BotMessage]:
        if self.session.finished:
            return []
        self.state["inputs"].append([kind, value])
        self._last = self._apply(kind, value)
        return self.messages(self._last)

    def message(self, text: str) -> list[BotMessage]:
        """The customer wrote ``text``: the bot's answer."""
        return self._record("keys", keys_of(text))

    def lookup_result(self, data: Mapping[str, Any] | None) -> list[BotMessage]:
        return self._record("lookup", dict(data) if data is not None else None)

    @property
    def pending_lookup(self) -> Lookup | None:
        """The hook the channel has to call now (then ``lookup_result``), if any."""
        if self.session.waiting_for != "lookup":
            return None
        found = [a for a in self._last if isinstance(a, Lookup)]
        return found[-1] if found else None

    @property
    def handover(self) -> ToQueue | OfferCallback | None:
        """The hand-over to a human when the session ended in one."""
        for action in reversed(self._last):
            if isinstance(action, ToQueue | OfferCallback):
                return action
        return None

    @staticmethod
    def messages(actions: list[Action]) -> list[BotMessage]:
        return messages_of(actions)
