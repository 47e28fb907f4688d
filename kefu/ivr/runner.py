"""Run one caller (or chat customer) through a flow: a pure state machine (no clock reads).

The channel creates an :class:`IvrSession` with the caller's attributes and the local business
time it computed (``is_workday``/``is_holiday`` from ``kefu.core.calendar``), then feeds it what
happens — keys pressed or typed (``digits``), a ``timeout`` of the last :class:`Collect`, the
result of a :class:`Lookup` hook, a caller ``hangup`` — and performs the actions each call
returns, in order. The session ends with exactly one of :class:`ToQueue`, :class:`OfferCallback`
(accepted), :class:`Voicemail` or :class:`Hangup`, or with the caller leaving (``abandoned``).

Conventions at every menu: 0 → the flow's human queue, * → the previous menu, # → the main menu.
Callers aged ``settings.elderly_age`` or more (attribute ``age``) or flagged ``elderly`` go
straight to the human queue. A caller who gives no input ``no_input_retries`` times after the
first prompt, or wrong input ``invalid_retries`` times, or more than ``max_inputs`` inputs in all,
is handed to the human queue too: every session ends.

Time offsets in ``path`` come from an optional ``clock`` (anything with ``now() -> datetime``);
without one the session estimates them from the prompts' reading time and the timeouts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from kefu.core.clock import Clock
from kefu.ivr.flows import (
    BranchNode,
    CallbackOfferNode,
    CollectNode,
    Condition,
    Flow,
    GotoNode,
    HangupNode,
    LookupNode,
    MenuNode,
    Node,
    PlayNode,
    Prompt,
    QueueNode,
    SmsNode,
    VoicemailNode,
    speech_seconds,
)

__all__ = [
    "Action",
    "Collect",
    "Hangup",
    "IvrSession",
    "Lookup",
    "OfferCallback",
    "PathStep",
    "Play",
    "SendSms",
    "ToQueue",
    "Voicemail",
    "render",
]


@dataclass(frozen=True)
class Play:
    prompt: str  # id of an uploaded audio prompt ("" when there is none: speak/show the text)
    text: str
    interruptible: bool = True


@dataclass(frozen=True)
class Collect:
    max_digits: int
    timeout_s: float
    terminator: str | None = "#"


@dataclass(frozen=True)
class ToQueue:
    queue: str
    priority: int = 0
    reason: str = "menu"  # menu | zero_out | elderly | no_input | invalid_input | max_inputs |
    # lookup_failed | callback_declined | flow_error


@dataclass(frozen=True)
class OfferCallback:
    queue: str


@dataclass(frozen=True)
class SendSms:
    template: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Lookup:
    hook: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Voicemail:
    box: str


@dataclass(frozen=True)
class Hangup:
    reason: str  # "completed" (self-service success), "no_input", …


Action = Play | Collect | ToQueue | OfferCallback | SendSms | Lookup | Voicemail | Hangup


class PathStep(NamedTuple):
    node: str
    at: float  # seconds since the session started


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９＊＃", "0123456789*#")
_INPUT = ("menu", "collect", "callback")


def _dig(data: Mapping[str, Any], dotted: str) -> Any:
    value: Any = data
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def render(template: str, variables: Mapping[str, Any], caller: Mapping[str, Any]) -> str:
    """Fill ``${name}`` from the session variables and ``${caller.attr}`` from the caller."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name.startswith("caller."):
            value = _dig(caller, name.removeprefix("caller."))
        else:
            value = _dig(variables, name)
        return "" if value is None else str(value)

    return _PLACEHOLDER.sub(one, template)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if op == "exists":
        return actual is not None and actual != ""
    if op == "truthy":
        return bool(actual) and actual not in ("0", "false", "no")
    if op == "in":
        return isinstance(expected, list) and (
            actual in expected or str(actual) in [str(e) for e in expected]
        )
    if op in ("eq", "ne"):
        a, b = _number(actual), _number(expected)
        same = (a == b) if a is not None and b is not None else str(actual) == str(expected)
        if actual is None:
            same = expected is None
        return same if op == "eq" else not same
    a, b = _number(actual), _number(expected)
    if a is None or b is None:
        return False
    return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]


def _is_elderly(caller: Mapping[str, Any], age_limit: int) -> bool:
    flag = caller.get("elderly")
    if flag is True or (isinstance(flag, str) and flag.lower() in ("1", "true", "yes")):
        return True
    age = _number(caller.get("age"))
    return age is not None and age >= age_limit


class IvrSession:
    """One caller's way through a flow (see the module docstring)."""

    def __init__(
        self,
        flow: Flow,
        *,
        caller: Mapping[str, Any],
        local_now: datetime,
        is_workday: bool,
        is_holiday: bool,
        clock: Clock | None = None,
    ) -> None:
        self.flow = flow
        self.caller = dict(caller)
        self.local_now = local_now
        self.is_workday = is_workday
        self.is_holiday = is_holiday
        self.variables: dict[str, str] = {}
        self.path: list[PathStep] = []
        self.finished = False
        self.outcome: str | None = None  # self_service | queued | callback | voicemail |
        # hangup | abandoned
        self.reason: str | None = None  # the final action's reason (queue or hang-up)
        self.queue: str | None = None
        self.zero_out_node: str | None = None  # menu at which the caller pressed 0
        self.inputs = 0
        self._now: Callable[[], datetime] | None = clock.now if clock is not None else None
        self._t0 = self._now() if self._now is not None else None
        self._virtual = 0.0
        self._ended_at: float | None = None
        self._current: str | None = None
        self._waiting: str | None = None  # menu | collect | callback | lookup
        self._wait_timeout = 0.0
        self._menus: list[str] = []
        self._buffer = ""
        self._no_input = 0
        self._invalid = 0
        self._pending_reason: str | None = None
        self._started = False
        self._prompted = False

    # ----------------------------------------------------------------- the channel's calls

    def start(self) -> list[Action]:
        if self._started:
            return []
        self._started = True
        out: list[Action] = []
        s = self.flow.settings
        if s.elderly_to_human and _is_elderly(self.caller, s.elderly_age):
            self._to_queue(out, s.human_queue, s.elderly_priority, "elderly")
            return out
        self._go(self.flow.start, out)
        self._settle(out)
        return out

    def digits(self, digits: str, *, complete: bool = False) -> list[Action]:
        """Keys pressed (one or several, type-ahead kept). An entry at a ``collect`` node ends
        at its terminator, at ``max_digits`` or on ``timeout()``; ``complete=True`` (the text
        bot: one message is one entry) ends it at once."""
        out: list[Action] = []
        if self.finished or not self._started:
            return out
        keys = "".join(ch for ch in digits.translate(_FULL_WIDTH) if not ch.isspace())
        if not keys:
            return self.timeout()
        self.inputs += 1
        if self.inputs > self.flow.settings.max_inputs:
            self._to_queue(out, self.flow.settings.human_queue, 0, "max_inputs")
            return out
        self._buffer += keys
        if self._waiting != "lookup":
            self._settle(out)
        if complete and self._buffer and self.waiting_for == "collect":
            self._end_entry(out)
        return out

    def timeout(self) -> list[Action]:
        out: list[Action] = []
        if self.finished or not self._started or self._waiting in (None, "lookup"):
            return out
        self._virtual += self._wait_timeout
        node = self._node()
        if isinstance(node, CollectNode) and self._buffer:
            self._end_entry(out)  # the caller stopped keying: the entry is what was keyed
            return out
        if isinstance(node, CallbackOfferNode):
            self._to_queue(
                out, node.queue or self.flow.settings.human_queue, 0, "callback_declined"
            )
            return out
        self._no_input += 1
        if self._no_input > self.flow.settings.no_input_retries:
            self._to_queue(out, self.flow.settings.human_queue, 0, "no_input")
            return out
        self._play(out, self.flow.settings.no_input_prompt)
        self._prompt_for_input(out)
        return out

    def lookup_result(self, data: Mapping[str, Any] | None) -> list[Action]:
        out: list[Action] = []
        node = self._node()
        if self.finished or self._waiting != "lookup" or not isinstance(node, LookupNode):
            return out
        self._waiting = None
        if data is None:
            if node.on_error is None:
                self._to_queue(out, self.flow.settings.human_queue, 0, "lookup_failed")
                return out
            self._go(node.on_error, out)
            self._settle(out)
            return out
        else:
            if node.assign:
                for var, key in node.assign.items():
                    value = _dig(data, key)
                    if value is not None:
                        self.variables[var] = str(value)
            else:
                for key, value in data.items():
                    if isinstance(value, str | int | float) and not isinstance(value, bool):
                        self.variables[str(key)] = str(value)
            if node.next is None:
                self._to_queue(out, self.flow.settings.human_queue, 0, "flow_error")
                return out
            self._go(node.next, out)
        self._settle(out)
        return out

    def hangup(self) -> None:
        if not self.finished:
            self._finish("abandoned", "caller")

    # ----------------------------------------------------------------------- read-outs

    def elapsed(self) -> float:
        if self._ended_at is not None:
            return self._ended_at
        if self._now is not None and self._t0 is not None:
            return max(0.0, (self._now() - self._t0).total_seconds())
        return round(self._virtual, 3)

    @property
    def duration_s(self) -> float:
        return self.elapsed()

    @property
    def current_node(self) -> str | None:
        return self._current

    @property
    def waiting_for(self) -> str | None:
        """What the session waits for: menu, collect, callback (input), lookup, or None."""
        return None if self.finished else self._waiting

    def summary(self) -> dict[str, Any]:
        """What ``ivr.session_ended`` records (and the screen-pop shows)."""
        return {
            "flow": self.flow.code or self.flow.name,
            "version": self.flow.version,
            "path": [[step.node, round(step.at, 3)] for step in self.path],
            "outcome": self.outcome,
            "reason": self.reason,
            "queue": self.queue,
            "zero_out_node": self.zero_out_node,
            "inputs": self.inputs,
            "duration_s": round(self.elapsed(), 3),
        }

    # ----------------------------------------------------------------------- internals

    def _node(self) -> Node | None:
        return self.flow.nodes.get(self._current) if self._current is not None else None

    def _finish(self, outcome: str, reason: str | None) -> None:
        self.finished = True
        self.outcome = outcome
        self.reason = reason
        self._waiting = None
        self._buffer = ""
        self._ended_at = self.elapsed()

    def _to_queue(self, out: list[Action], queue: str, priority: int, reason: str) -> None:
        out.append(ToQueue(queue, priority, reason))
        self.queue = queue
        self._finish("queued", reason)

    def _play(self, out: list[Action], prompt: Prompt) -> None:
        if prompt.empty:
            return
        text = render(prompt.text, self.variables, self.caller)
        out.append(Play(prompt.audio, text))
        self._virtual += speech_seconds(text)

    def _prompt_for_input(self, out: list[Action]) -> None:
        node = self._node()
        timeout = self.flow.settings.timeout_s
        if isinstance(node, CollectNode) and self._buffer:  # typed ahead into the entry
            timeout = node.timeout_s or timeout
            out.append(Collect(node.max_digits - len(self._buffer), timeout, node.terminator))
        elif isinstance(node, MenuNode):
            self._play(out, node.prompt)
            timeout = node.timeout_s or timeout
            out.append(Collect(1, timeout, None))
        elif isinstance(node, CollectNode):
            self._play(out, node.prompt)
            timeout = node.timeout_s or timeout
            out.append(Collect(node.max_digits, timeout, node.terminator))
        elif isinstance(node, CallbackOfferNode):
            self._play(out, node.prompt)
            timeout = node.timeout_s or timeout
            out.append(Collect(1, timeout, None))
        self._wait_timeout = timeout
        self._prompted = True

    def _go(self, node_id: str, out: list[Action]) -> None:
        """Enter ``node_id`` and run on until the session waits or ends."""
        steps = 0
        target: str | None = node_id
        while target is not None and not self.finished:
            steps += 1
            if steps > len(self.flow.nodes) + 1 or target not in self.flow.nodes:
                # only an unvalidated flow gets here: a loop without input or a missing node
                self._to_queue(out, self.flow.settings.human_queue, 0, "flow_error")
                return
            target = self._enter(self.flow.nodes[target], out)

    def _enter(self, node: Node, out: list[Action]) -> str | None:
        """Perform ``node``; the next node to enter, or None when waiting or finished."""
        self._current = node.id
        self._waiting = None
        self._prompted = False
        self.path.append(PathStep(node.id, self.elapsed()))
        s = self.flow.settings
        if isinstance(node, MenuNode):
            if node.id in self._menus:
                del self._menus[self._menus.index(node.id) + 1 :]
            else:
                self._menus.append(node.id)
            self._no_input = self._invalid = 0
            self._pending_reason = None
            self._waiting = "menu"
            return None
        if isinstance(node, CollectNode | CallbackOfferNode):
            self._no_input = self._invalid = 0
            self._waiting = "collect" if isinstance(node, CollectNode) else "callback"
            return None
        if isinstance(node, PlayNode):
            self._play(out, node.prompt)
            return node.next
        if isinstance(node, GotoNode):
            return node.target
        if isinstance(node, BranchNode):
            for rule in node.rules:
                if self._holds(rule.when):
                    return rule.goto
            return node.default
        if isinstance(node, SmsNode):
            self._play(out, node.prompt)
            params = {k: render(v, self.variables, self.caller) for k, v in node.params.items()}
            out.append(SendSms(node.template, params))
            return node.next
        if isinstance(node, LookupNode):
            self._play(out, node.prompt)
            params = {k: render(v, self.variables, self.caller) for k, v in node.params.items()}
            out.append(Lookup(node.hook, params))
            self._waiting = "lookup"
            return None
        if isinstance(node, QueueNode):
            self._play(out, node.prompt)
            reason = self._pending_reason or "menu"
            self._to_queue(out, node.queue or s.human_queue, node.priority, reason)
            return None
        if isinstance(node, VoicemailNode):
            self._play(out, node.prompt)
            out.append(Voicemail(node.box))
            self._finish("voicemail", "voicemail")
            return None
        if isinstance(node, HangupNode):
            self._play(out, node.prompt)
            out.append(Hangup(node.reason))
            self._finish("self_service" if node.reason == "completed" else "hangup", node.reason)
            return None
        raise AssertionError(node)  # pragma: no cover - every node type is handled above

    def _settle(self, out: list[Action]) -> None:
        """Use the keys typed ahead, then prompt for input if the session waits for some."""
        self._consume(out)
        if not self.finished and self._waiting in _INPUT and not self._prompted:
            self._prompt_for_input(out)

    def _consume(self, out: list[Action]) -> None:
        """Use the keys in the buffer at the node that waits for them (type-ahead included)."""
        while self._buffer and not self.finished and self._waiting in _INPUT:
            node = self._node()
            if isinstance(node, MenuNode):
                key, self._buffer = self._buffer[0], self._buffer[1:]
                self._menu_key(node, key, out)
            elif isinstance(node, CollectNode):
                if not self._collect_entry(node, out):
                    break  # an entry in progress: wait for more keys, the terminator or timeout
            elif isinstance(node, CallbackOfferNode):
                key, self._buffer = self._buffer[0], ""
                queue = node.queue or self.flow.settings.human_queue
                if key == "1":
                    out.append(OfferCallback(queue))
                    self.queue = queue
                    self._finish("callback", "callback")
                else:
                    self._to_queue(out, queue, 0, "callback_declined")
            else:  # pragma: no cover - waiting implies one of the input nodes
                self._buffer = ""

    def _menu_key(self, node: MenuNode, key: str, out: list[Action]) -> None:
        s = self.flow.settings
        if key in node.options:
            if key == "0":
                self.zero_out_node = node.id
                self._pending_reason = "zero_out"
            self._go(node.options[key], out)
        elif key == "0" and s.zero_out:
            self.zero_out_node = node.id
            self._to_queue(out, s.human_queue, 0, "zero_out")
        elif key == "*":
            back = self._menus[-2] if len(self._menus) > 1 else node.id
            self._go(back, out)
        elif key == "#":
            main = self._menus[0] if self._menus else node.id
            self._go(main, out)
        else:
            self._wrong_input(out)

    def _end_entry(self, out: list[Action]) -> None:
        node = self._node()
        if isinstance(node, CollectNode):
            self._collect_entry(node, out, force=True)
            self._settle(out)

    def _collect_entry(self, node: CollectNode, out: list[Action], force: bool = False) -> bool:
        """Use a complete entry from the buffer; False while the entry is still being keyed."""
        buf = self._buffer
        if buf.startswith("*") and self._menus:  # * at an entry goes back to the last menu
            self._buffer = buf[1:]
            self._go(self._menus[-1], out)
            return True
        if node.terminator and node.terminator in buf:
            entry, _, self._buffer = buf.partition(node.terminator)
        elif len(buf) >= node.max_digits or force:
            entry, self._buffer = buf[: node.max_digits], buf[node.max_digits :]
        else:
            return False
        if entry.isdigit() and node.min_digits <= len(entry) <= node.max_digits:
            self.variables[node.variable] = entry
            if node.next is None:
                self._to_queue(out, self.flow.settings.human_queue, 0, "flow_error")
                return True
            self._go(node.next, out)
        else:
            self._wrong_input(out)
        return True

    def _wrong_input(self, out: list[Action]) -> None:
        self._buffer = ""
        self._invalid += 1
        if self._invalid > self.flow.settings.invalid_retries:
            self._to_queue(out, self.flow.settings.human_queue, 0, "invalid_input")
            return
        self._play(out, self.flow.settings.invalid_prompt)
        self._prompt_for_input(out)

    def _holds(self, c: Condition) -> bool:
        if c.attr is not None and not _compare(_dig(self.caller, c.attr), c.op, c.value):
            return False
        if c.var is not None and not _compare(self.variables.get(c.var), c.op, c.value):
            return False
        if c.time_from is not None and c.time_to is not None:
            now = self.local_now.strftime("%H:%M")
            if c.time_from <= c.time_to:
                inside = c.time_from <= now < c.time_to
            else:  # wraps midnight, e.g. 20:00–08:00
                inside = now >= c.time_from or now < c.time_to
            if not inside:
                return False
        if c.weekdays is not None and self.local_now.isoweekday() not in c.weekdays:
            return False
        if c.workday is not None and c.workday != self.is_workday:
            return False
        return c.holiday is None or c.holiday == self.is_holiday
