"""IVR flows as data: the definition, its parser and the design-rule checker (pure).

A flow is a mapping (from JSON or YAML) with a ``start`` node id, flow-level ``settings`` and
``nodes`` keyed by id. Every node has a ``type``:

=================  ====================================================  =================
type               fields                                                 continues to
=================  ====================================================  =================
``menu``           prompt, options {digit: node}, timeout_s               the chosen option
``play``           prompt, next                                           next
``collect``        prompt, variable, min_digits, max_digits, terminator,  next
                   timeout_s, next
``branch``         rules [{when: condition, goto}], default               first rule that
                                                                          holds, or default
``lookup``         hook, params {name: template}, assign {var: key},      next / on_error
                   prompt, next, on_error
``sms``            template, params, prompt, next                         next
``goto``           target                                                 target
``queue``          queue (empty: the human queue), priority, prompt       — (hands over)
``callback_offer`` queue, prompt (1 accepts, anything else queues)        — (hands over)
``voicemail``      box, prompt                                            — (ends)
``hangup``         prompt, reason ("completed" = self-service success)    — (ends)
=================  ====================================================  =================

A prompt is a text (shorthand) or ``{"audio": "<uploaded prompt id>", "text": "..."}``; texts
may use ``${variable}`` or ``${caller.attribute}``. A branch condition is a mapping whose keys
all have to hold: ``attr`` or ``var`` with ``op`` (eq ne gt ge lt le in exists truthy) and
``value``; ``time_from``/``time_to`` ("HH:MM", local time, may wrap midnight); ``weekdays``
(ISO 1–7); ``workday``/``holiday`` (booleans the channel computed with the tenant calendar).

Keys ``0``, ``*`` and ``#`` are conventions handled by the runner at every menu: 0 goes to the
human queue (``settings.human_queue``), * to the previous menu, # to the main menu. A menu may
map 0 explicitly, but it has to reach a human without further input.

``parse_flow`` turns a mapping into a :class:`Flow` or raises :class:`FlowFormatError` with the
findings; ``validate`` checks the design rules; ``check`` does both.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "MAX_DEPTH_ERROR",
    "MAX_DEPTH_WARN",
    "MAX_OPTIONS",
    "MAX_OPTIONS_ERROR",
    "NODE_TYPES",
    "BranchNode",
    "CallbackOfferNode",
    "CollectNode",
    "Condition",
    "Finding",
    "Flow",
    "FlowFormatError",
    "GotoNode",
    "HangupNode",
    "LookupNode",
    "MenuNode",
    "Node",
    "PlayNode",
    "Prompt",
    "QueueNode",
    "Rule",
    "Settings",
    "SmsNode",
    "VoicemailNode",
    "check",
    "has_errors",
    "menu_levels",
    "parse_flow",
    "speech_seconds",
    "successors",
    "validate",
]

# Design limits (docs/ivr.md). Depth: the main menu is level 1; level 4 is a warning, deeper an
# error. Width: options other than 0 * #; 6 is a warning, 7 or more an error.
MAX_DEPTH_WARN = 3
MAX_DEPTH_ERROR = 4
MAX_OPTIONS = 5
MAX_OPTIONS_ERROR = 6
# Prompt reading time (seconds) above which a warning is given: main menu, deeper menus, other
# prompts; above PROMPT_ERROR_S any prompt is an error.
PROMPT_WARN_MAIN_S = 20.0
PROMPT_WARN_MENU_S = 15.0
PROMPT_WARN_OTHER_S = 30.0
PROMPT_ERROR_S = 60.0
# Reading speed of Chinese TTS/announcers (characters per second) and of other words.
CJK_PER_S = 4.5
WORDS_PER_S = 2.5

KEYS = "0123456789*#"
OPS = ("eq", "ne", "gt", "ge", "lt", "le", "in", "exists", "truthy")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")
_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One design-rule or format finding; the message is ``ivr.finding.<code>`` with params."""

    level: Level
    code: str
    node: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"ivr.finding.{self.code}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "code": self.code,
            "node": self.node,
            "params": dict(self.params),
        }


class FlowFormatError(Exception):
    """The definition is not a flow (wrong shapes or types); ``findings`` says where."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__("; ".join(f"{f.code}@{f.node}:{dict(f.params)}" for f in findings))


@dataclass(frozen=True)
class Prompt:
    audio: str = ""  # id of an uploaded prompt (empty: TTS / text only)
    text: str = ""

    @property
    def empty(self) -> bool:
        return not self.audio and not self.text


@dataclass(frozen=True)
class Settings:
    human_queue: str = "default"
    zero_out: bool = True  # 0 at any menu reaches human_queue unless the menu maps 0 itself
    no_input_retries: int = 2
    invalid_retries: int = 2
    timeout_s: float = 5.0
    elderly_to_human: bool = True
    elderly_age: int = 65
    elderly_priority: int = 0
    max_inputs: int = 30  # inputs in one session before the caller is handed to a human
    invalid_prompt: Prompt = Prompt(text="您的输入有误，请重新输入。")
    no_input_prompt: Prompt = Prompt(text="我们没有收到您的输入。")


@dataclass(frozen=True)
class Condition:
    attr: str | None = None
    var: str | None = None
    op: str = "eq"
    value: Any = None
    time_from: str | None = None
    time_to: str | None = None
    weekdays: tuple[int, ...] | None = None
    workday: bool | None = None
    holiday: bool | None = None


@dataclass(frozen=True)
class Rule:
    when: Condition
    goto: str


@dataclass(frozen=True)
class MenuNode:
    id: str
    prompt: Prompt
    options: Mapping[str, str]
    timeout_s: float | None = None
    type: str = "menu"


@dataclass(frozen=True)
class PlayNode:
    id: str
    prompt: Prompt
    next: str | None
    type: str = "play"


@dataclass(frozen=True)
class CollectNode:
    id: str
    prompt: Prompt
    variable: str
    next: str | None
    min_digits: int = 1
    max_digits: int = 1
    terminator: str | None = "#"
    timeout_s: float | None = None
    type: str = "collect"


@dataclass(frozen=True)
class BranchNode:
    id: str
    rules: tuple[Rule, ...]
    default: str | None
    type: str = "branch"


@dataclass(frozen=True)
class LookupNode:
    id: str
    hook: str
    params: Mapping[str, str]
    assign: Mapping[str, str]
    next: str | None
    on_error: str | None = None
    prompt: Prompt = Prompt()
    type: str = "lookup"


@dataclass(frozen=True)
class SmsNode:
    id: str
    template: str
    params: Mapping[str, str]
    next: str | None
    prompt: Prompt = Prompt()
    type: str = "sms"


@dataclass(frozen=True)
class GotoNode:
    id: str
    target: str | None
    type: str = "goto"


@dataclass(frozen=True)
class QueueNode:
    id: str
    queue: str = ""  # empty: the flow's human queue
    priority: int = 0
    prompt: Prompt = Prompt()
    type: str = "queue"


@dataclass(frozen=True)
class CallbackOfferNode:
    id: str
    queue: str = ""
    prompt: Prompt = Prompt(text="如需我们稍后回电，请按1；继续等待请按其他键。")
    timeout_s: float | None = None
    type: str = "callback_offer"


@dataclass(frozen=True)
class VoicemailNode:
    id: str
    box: str = "default"
    prompt: Prompt = Prompt()
    type: str = "voicemail"


@dataclass(frozen=True)
class HangupNode:
    id: str
    prompt: Prompt = Prompt()
    reason: str = "completed"
    type: str = "hangup"


Node = (
    MenuNode
    | PlayNode
    | CollectNode
    | BranchNode
    | LookupNode
    | SmsNode
    | GotoNode
    | QueueNode
    | CallbackOfferNode
    | VoicemailNode
    | HangupNode
)
NODE_TYPES = (
    "menu",
    "play",
    "collect",
    "branch",
    "lookup",
    "sms",
    "goto",
    "queue",
    "callback_offer",
    "voicemail",
    "hangup",
)
INPUT_TYPES = frozenset({"menu", "collect", "callback_offer"})
TERMINAL_TYPES = frozenset({"queue", "callback_offer", "voicemail", "hangup"})
HUMAN_TYPES = frozenset({"queue", "callback_offer"})


@dataclass(frozen=True)
class Flow:
    start: str
    nodes: Mapping[str, Node]
    settings: Settings = Settings()
    name: str = ""
    code: str = ""  # set when loaded from the database (the flow's code and version)
    version: int = 0

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]


def successors(node: Node) -> list[str]:
    """Node ids this node can continue to (declared edges only, not the 0/*/# conventions)."""
    out: list[str | None]
    if isinstance(node, MenuNode):
        out = list(node.options.values())
    elif isinstance(node, PlayNode | CollectNode | SmsNode):
        out = [node.next]
    elif isinstance(node, BranchNode):
        out = [*(r.goto for r in node.rules), node.default]
    elif isinstance(node, LookupNode):
        out = [node.next, node.on_error]
    elif isinstance(node, GotoNode):
        out = [node.target]
    else:
        out = []
    seen: list[str] = []
    for target in out:
        if target is not None and target not in seen:
            seen.append(target)
    return seen


def speech_seconds(text: str) -> float:
    """How long a text takes to read: CJK characters at 4.5/s, other words at 2.5/s."""
    cjk = 0
    rest: list[str] = []
    for ch in text:
        if unicodedata.east_asian_width(ch) in ("W", "F") and ch.isalnum():
            cjk += 1
            rest.append(" ")
        else:
            rest.append(ch)
    words = sum(1 for w in re.split(r"[\s,.;:!?，。；：！？、]+", "".join(rest)) if w)
    return round(cjk / CJK_PER_S + words / WORDS_PER_S, 2)


# --------------------------------------------------------------------------------- parsing


class _Reader:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def bad(self, node: str | None, fld: str, expected: str) -> None:
        self.findings.append(
            Finding("error", "invalid_field", node, {"field": fld, "expected": expected})
        )

    def text(self, raw: Mapping[str, Any], key: str, node: str | None, default: str = "") -> str:
        value = raw.get(key, default)
        if value is None:
            return default
        if not isinstance(value, str):
            self.bad(node, key, "text")
            return default
        return value

    def opt_id(self, raw: Mapping[str, Any], key: str, node: str | None) -> str | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.bad(node, key, "node id")
            return None
        return value

    def integer(
        self, raw: Mapping[str, Any], key: str, node: str | None, default: int, lo: int, hi: int
    ) -> int:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.bad(node, key, f"integer {lo}–{hi}")
            return default
        return value

    def number(
        self, raw: Mapping[str, Any], key: str, node: str | None, default: float | None
    ) -> float | None:
        value = raw.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 120:
            self.bad(node, key, "seconds 0–120")
            return default
        return float(value)

    def boolean(self, raw: Mapping[str, Any], key: str, node: str | None, default: bool) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self.bad(node, key, "true/false")
            return default
        return value

    def prompt(self, raw: Mapping[str, Any], key: str, node: str | None, default: Prompt) -> Prompt:
        value = raw.get(key)
        if value is None:
            return default
        if isinstance(value, str):
            return Prompt(text=value)
        if isinstance(value, Mapping):
            extra = set(value) - {"audio", "text"}
            if extra:
                self.bad(node, f"{key}.{sorted(extra)[0]}", "audio/text")
            return Prompt(
                audio=self.text(value, "audio", node), text=self.text(value, "text", node)
            )
        self.bad(node, key, "prompt")
        return default

    def strmap(self, raw: Mapping[str, Any], key: str, node: str | None) -> dict[str, str]:
        value = raw.get(key) or {}
        if not isinstance(value, Mapping):
            self.bad(node, key, "mapping")
            return {}
        out: dict[str, str] = {}
        for k, v in value.items():
            if isinstance(v, bool) or not isinstance(v, str | int | float):
                self.bad(node, f"{key}.{k}", "text")
                continue
            out[str(k)] = str(v)
        return out

    def keys(self, raw: Mapping[str, Any], allowed: Iterable[str], node: str | None) -> None:
        for key in raw:
            if key not in allowed:
                self.findings.append(Finding("error", "unknown_field", node, {"field": str(key)}))


_COMMON = ("type",)
_FIELDS: dict[str, tuple[str, ...]] = {
    "menu": ("prompt", "options", "timeout_s"),
    "play": ("prompt", "next"),
    "collect": (
        "prompt",
        "variable",
        "min_digits",
        "max_digits",
        "terminator",
        "timeout_s",
        "next",
    ),
    "branch": ("rules", "default"),
    "lookup": ("hook", "params", "assign", "prompt", "next", "on_error"),
    "sms": ("template", "params", "prompt", "next"),
    "goto": ("target",),
    "queue": ("queue", "priority", "prompt"),
    "callback_offer": ("queue", "prompt", "timeout_s"),
    "voicemail": ("box", "prompt"),
    "hangup": ("prompt", "reason"),
}
_SETTINGS = (
    "human_queue",
    "zero_out",
    "no_input_retries",
    "invalid_retries",
    "timeout_s",
    "elderly_to_human",
    "elderly_age",
    "elderly_priority",
    "max_inputs",
    "invalid_prompt",
    "no_input_prompt",
)
_CONDITION = (
    "attr",
    "var",
    "op",
    "value",
    "time_from",
    "time_to",
    "weekdays",
    "workday",
    "holiday",
)


def _condition(r: _Reader, raw: Any, node: str, where: str) -> Condition:
    if not isinstance(raw, Mapping) or not raw:
        r.bad(node, where, "condition")
        return Condition()
    r.keys(raw, _CONDITION, node)
    attr = raw.get("attr")
    var = raw.get("var")
    if attr is not None and not (isinstance(attr, str) and _IDENT.match(attr)):
        r.bad(node, f"{where}.attr", "attribute name")
        attr = None
    if var is not None and not (isinstance(var, str) and _VAR.match(var)):
        r.bad(node, f"{where}.var", "variable name")
        var = None
    op = raw.get("op", "eq")
    if op not in OPS:
        r.bad(node, f"{where}.op", "|".join(OPS))
        op = "eq"
    if op in ("gt", "ge", "lt", "le") and (
        isinstance(raw.get("value"), bool) or not isinstance(raw.get("value"), int | float)
    ):
        r.bad(node, f"{where}.value", "number")
    if op == "in" and not isinstance(raw.get("value"), list):
        r.bad(node, f"{where}.value", "list")
    times: list[str | None] = []
    for key in ("time_from", "time_to"):
        t = raw.get(key)
        if t is not None and not (isinstance(t, str) and _HHMM.match(t)):
            r.bad(node, f"{where}.{key}", "HH:MM")
            t = None
        times.append(t)
    if (times[0] is None) != (times[1] is None):
        r.bad(node, f"{where}.time_to", "time_from and time_to together")
        times = [None, None]
    weekdays = raw.get("weekdays")
    days: tuple[int, ...] | None = None
    if weekdays is not None:
        if not isinstance(weekdays, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in weekdays
        ):
            r.bad(node, f"{where}.weekdays", "list of 1–7")
        else:
            days = tuple(weekdays)
    flags: list[bool | None] = []
    for key in ("workday", "holiday"):
        v = raw.get(key)
        if v is not None and not isinstance(v, bool):
            r.bad(node, f"{where}.{key}", "true/false")
            v = None
        flags.append(v)
    if attr is None and var is None and "op" in raw:
        r.bad(node, where, "attr or var with op")
    return Condition(
        attr=attr,
        var=var,
        op=op,
        value=raw.get("value"),
        time_from=times[0],
        time_to=times[1],
        weekdays=days,
        workday=flags[0],
        holiday=flags[1],
    )


def _node(r: _Reader, node_id: str, raw: Mapping[str, Any]) -> Node | None:
    kind = raw.get("type")
    if kind not in _FIELDS:
        r.findings.append(Finding("error", "unknown_type", node_id, {"type": str(kind)}))
        return None
    r.keys(raw, (*_COMMON, *_FIELDS[kind]), node_id)
    empty = Prompt()
    if kind == "menu":
        options_raw = raw.get("options") or {}
        options: dict[str, str] = {}
        if not isinstance(options_raw, Mapping):
            r.bad(node_id, "options", "mapping digit → node")
        else:
            for key, target in options_raw.items():
                k = str(key)
                if k not in KEYS or len(k) != 1:
                    r.bad(node_id, f"options.{k}", "one key of 0-9 * #")
                elif not isinstance(target, str) or not target:
                    r.bad(node_id, f"options.{k}", "node id")
                else:
                    options[k] = target
        return MenuNode(
            node_id,
            r.prompt(raw, "prompt", node_id, empty),
            options,
            r.number(raw, "timeout_s", node_id, None),
        )
    if kind == "play":
        return PlayNode(
            node_id, r.prompt(raw, "prompt", node_id, empty), r.opt_id(raw, "next", node_id)
        )
    if kind == "collect":
        variable = r.text(raw, "variable", node_id)
        if not _VAR.match(variable):
            r.bad(node_id, "variable", "variable name")
        lo = r.integer(raw, "min_digits", node_id, 1, 1, 32)
        hi = r.integer(raw, "max_digits", node_id, max(lo, 1), 1, 32)
        if lo > hi:
            r.bad(node_id, "min_digits", "at most max_digits")
        term = raw.get("terminator", "#")
        if term is not None and term not in ("#", "*"):
            r.bad(node_id, "terminator", "# or * or null")
            term = "#"
        return CollectNode(
            node_id,
            r.prompt(raw, "prompt", node_id, empty),
            variable,
            r.opt_id(raw, "next", node_id),
            lo,
            hi,
            term,
            r.number(raw, "timeout_s", node_id, None),
        )
    if kind == "branch":
        rules_raw = raw.get("rules") or []
        rules: list[Rule] = []
        if not isinstance(rules_raw, list):
            r.bad(node_id, "rules", "list")
            rules_raw = []
        for i, rule in enumerate(rules_raw):
            if not isinstance(rule, Mapping) or set(rule) - {"when", "goto"}:
                r.bad(node_id, f"rules.{i}", "{when, goto}")
                continue
            goto = rule.get("goto")
            if not isinstance(goto, str) or not goto:
                r.bad(node_id, f"rules.{i}.goto", "node id")
                continue
            rules.append(Rule(_condition(r, rule.get("when"), node_id, f"rules.{i}.when"), goto))
        return BranchNode(node_id, tuple(rules), r.opt_id(raw, "default", node_id))
    if kind == "lookup":
        hook = r.text(raw, "hook", node_id)
        if not hook:
            r.bad(node_id, "hook", "hook name")
        assign = r.strmap(raw, "assign", node_id)
        for var in assign:
            if not _VAR.match(var):
                r.bad(node_id, f"assign.{var}", "variable name")
        return LookupNode(
            node_id,
            hook,
            r.strmap(raw, "params", node_id),
            assign,
            r.opt_id(raw, "next", node_id),
            r.opt_id(raw, "on_error", node_id),
            r.prompt(raw, "prompt", node_id, empty),
        )
    if kind == "sms":
        template = r.text(raw, "template", node_id)
        if not template:
            r.bad(node_id, "template", "template name")
        return SmsNode(
            node_id,
            template,
            r.strmap(raw, "params", node_id),
            r.opt_id(raw, "next", node_id),
            r.prompt(raw, "prompt", node_id, empty),
        )
    if kind == "goto":
        return GotoNode(node_id, r.opt_id(raw, "target", node_id))
    if kind == "queue":
        return QueueNode(
            node_id,
            r.text(raw, "queue", node_id),
            r.integer(raw, "priority", node_id, 0, -100, 100),
            r.prompt(raw, "prompt", node_id, empty),
        )
    if kind == "callback_offer":
        return CallbackOfferNode(
            node_id,
            r.text(raw, "queue", node_id),
            r.prompt(raw, "prompt", node_id, CallbackOfferNode.prompt),
            r.number(raw, "timeout_s", node_id, None),
        )
    if kind == "voicemail":
        return VoicemailNode(
            node_id,
            r.text(raw, "box", node_id, "default") or "default",
            r.prompt(raw, "prompt", node_id, empty),
        )
    return HangupNode(
        node_id,
        r.prompt(raw, "prompt", node_id, empty),
        r.text(raw, "reason", node_id, "completed") or "completed",
    )


def parse_flow(data: Any) -> Flow:
    """Turn a JSON/YAML mapping into a :class:`Flow`; :class:`FlowFormatError` if malformed."""
    r = _Reader()
    if not isinstance(data, Mapping):
        raise FlowFormatError([Finding("error", "not_a_flow")])
    r.keys(data, ("start", "settings", "nodes", "name", "code"), None)
    raw_settings = data.get("settings") or {}
    if not isinstance(raw_settings, Mapping):
        r.bad(None, "settings", "mapping")
        raw_settings = {}
    r.keys(raw_settings, _SETTINGS, None)
    d = Settings()
    timeout = r.number(raw_settings, "timeout_s", None, d.timeout_s)
    settings = Settings(
        human_queue=r.text(raw_settings, "human_queue", None, d.human_queue),
        zero_out=r.boolean(raw_settings, "zero_out", None, d.zero_out),
        no_input_retries=r.integer(
            raw_settings, "no_input_retries", None, d.no_input_retries, 0, 5
        ),
        invalid_retries=r.integer(raw_settings, "invalid_retries", None, d.invalid_retries, 0, 5),
        timeout_s=timeout if timeout is not None else d.timeout_s,
        elderly_to_human=r.boolean(raw_settings, "elderly_to_human", None, d.elderly_to_human),
        elderly_age=r.integer(raw_settings, "elderly_age", None, d.elderly_age, 0, 150),
        elderly_priority=r.integer(raw_settings, "elderly_priority", None, 0, -100, 100),
        max_inputs=r.integer(raw_settings, "max_inputs", None, d.max_inputs, 1, 200),
        invalid_prompt=r.prompt(raw_settings, "invalid_prompt", None, d.invalid_prompt),
        no_input_prompt=r.prompt(raw_settings, "no_input_prompt", None, d.no_input_prompt),
    )
    raw_nodes = data.get("nodes")
    nodes: dict[str, Node] = {}
    if not isinstance(raw_nodes, Mapping) or not raw_nodes:
        r.bad(None, "nodes", "mapping of node id → node")
        raw_nodes = {}
    for node_id, raw in raw_nodes.items():
        nid = str(node_id)
        if not _IDENT.match(nid):
            r.bad(nid, "id", "letters, digits, _ . -")
            continue
        if not isinstance(raw, Mapping):
            r.bad(nid, "node", "mapping")
            continue
        node = _node(r, nid, raw)
        if node is not None:
            nodes[nid] = node
    start = data.get("start")
    if not isinstance(start, str) or not start:
        r.bad(None, "start", "node id")
        start = ""
    name = data.get("name", "")
    if r.findings:
        raise FlowFormatError(r.findings)
    return Flow(
        start=start, nodes=nodes, settings=settings, name=name if isinstance(name, str) else ""
    )


# ------------------------------------------------------------------------------ validation


def menu_levels(flow: Flow) -> dict[str, int]:
    """Level of every reachable menu: the fewest menus a caller passes through to reach it,
    itself included (the main menu is level 1)."""
    import heapq

    if flow.start not in flow.nodes:
        return {}
    best: dict[str, int] = {}
    first = 1 if isinstance(flow.nodes[flow.start], MenuNode) else 0
    heap: list[tuple[int, str]] = [(first, flow.start)]
    seen: dict[str, int] = {}
    while heap:
        level, nid = heapq.heappop(heap)
        if nid in seen:
            continue
        seen[nid] = level
        node = flow.nodes[nid]
        if isinstance(node, MenuNode):
            best[nid] = level
        for nxt in successors(node):
            if nxt in flow.nodes and nxt not in seen:
                target = flow.nodes[nxt]
                heapq.heappush(heap, (level + (1 if isinstance(target, MenuNode) else 0), nxt))
    return best


def _reachable(flow: Flow, start: str) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        nid = stack.pop()
        if nid in seen or nid not in flow.nodes:
            continue
        seen.add(nid)
        stack.extend(successors(flow.nodes[nid]))
    return seen


def _reaches_human_without_input(flow: Flow, start: str) -> bool:
    """Every way on from ``start`` hands over to a human (queue/callback) before any input."""
    seen: set[str] = set()

    def ok(nid: str) -> bool:
        if nid not in flow.nodes or nid in seen:
            return False
        node = flow.nodes[nid]
        if node.type in HUMAN_TYPES:
            return True
        if node.type in INPUT_TYPES or node.type in TERMINAL_TYPES:
            return False
        seen.add(nid)
        nxt = successors(node)  # a lookup without on_error fails over to the human queue
        return bool(nxt) and all(ok(n) for n in nxt)

    return ok(start)


def _input_free_cycles(flow: Flow) -> list[list[str]]:
    """Strongly connected groups of nodes that loop without waiting for the caller."""
    free = {nid for nid, n in flow.nodes.items() if n.type not in INPUT_TYPES | TERMINAL_TYPES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0

    def strong(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in successors(flow.nodes[v]):
            if w not in free:
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group: list[str] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in successors(flow.nodes[v]):
                groups.append(sorted(group))

    for v in sorted(free):
        if v not in index:
            strong(v)
    return groups


def _prompts(node: Node) -> list[Prompt]:
    if isinstance(node, BranchNode | GotoNode):
        return []
    return [node.prompt]


def validate(flow: Flow) -> list[Finding]:
    """Check the design rules (docs/ivr.md). Errors block publishing; warnings do not."""
    out: list[Finding] = []
    s = flow.settings
    if flow.start not in flow.nodes:
        out.append(Finding("error", "start_missing", None, {"start": flow.start}))
    if not s.human_queue:
        out.append(Finding("error", "human_queue_missing"))
    # unknown targets and dead ends
    for nid, node in flow.nodes.items():
        for target in successors(node):
            if target not in flow.nodes:
                out.append(Finding("error", "unknown_target", nid, {"target": target}))
        dead = (
            (isinstance(node, PlayNode | CollectNode | SmsNode | LookupNode) and node.next is None)
            or (isinstance(node, GotoNode) and node.target is None)
            or (isinstance(node, BranchNode) and node.default is None)
        )
        if dead:
            out.append(Finding("error", "dead_end", nid, {"type": node.type}))
        for prompt in _prompts(node):
            if node.type in ("play", "menu", "collect") and prompt.empty:
                out.append(Finding("error", "prompt_missing", nid))
    reachable = _reachable(flow, flow.start) if flow.start in flow.nodes else set()
    for nid in flow.nodes:
        if nid not in reachable and flow.start in flow.nodes:
            out.append(Finding("warning", "unreachable", nid))
    # menus: depth, width, conventions, prompt length
    levels = menu_levels(flow)
    for nid, node in flow.nodes.items():
        if not isinstance(node, MenuNode):
            continue
        level = levels.get(nid)
        if level is not None and level > MAX_DEPTH_ERROR:
            out.append(
                Finding("error", "menu_too_deep", nid, {"level": level, "max": MAX_DEPTH_WARN})
            )
        elif level is not None and level > MAX_DEPTH_WARN:
            out.append(
                Finding("warning", "menu_deep", nid, {"level": level, "max": MAX_DEPTH_WARN})
            )
        choices = [k for k in node.options if k not in "0*#"]
        if not choices:
            out.append(Finding("error", "menu_empty", nid))
        elif len(choices) > MAX_OPTIONS_ERROR:
            out.append(
                Finding(
                    "error", "menu_too_wide", nid, {"options": len(choices), "max": MAX_OPTIONS}
                )
            )
        elif len(choices) > MAX_OPTIONS:
            out.append(
                Finding("warning", "menu_wide", nid, {"options": len(choices), "max": MAX_OPTIONS})
            )
        if "0" in node.options:
            if not _reaches_human_without_input(flow, node.options["0"]):
                out.append(Finding("error", "zero_not_human", nid, {"target": node.options["0"]}))
        elif not s.zero_out:
            out.append(Finding("error", "zero_missing", nid))
        if "*" in node.options:
            out.append(Finding("warning", "star_not_back", nid, {"target": node.options["*"]}))
        if "#" in node.options:
            out.append(Finding("warning", "hash_not_main", nid, {"target": node.options["#"]}))
        seconds = speech_seconds(node.prompt.text)
        limit = PROMPT_WARN_MAIN_S if level == 1 else PROMPT_WARN_MENU_S
        if seconds > PROMPT_ERROR_S:
            out.append(
                Finding(
                    "error", "prompt_too_long", nid, {"seconds": seconds, "max": PROMPT_ERROR_S}
                )
            )
        elif seconds > limit:
            out.append(Finding("warning", "prompt_long", nid, {"seconds": seconds, "max": limit}))
    for nid, node in flow.nodes.items():
        if isinstance(node, MenuNode):
            continue
        for prompt in _prompts(node):
            seconds = speech_seconds(prompt.text)
            if seconds > PROMPT_ERROR_S:
                out.append(
                    Finding(
                        "error", "prompt_too_long", nid, {"seconds": seconds, "max": PROMPT_ERROR_S}
                    )
                )
            elif seconds > PROMPT_WARN_OTHER_S:
                out.append(
                    Finding(
                        "warning",
                        "prompt_long",
                        nid,
                        {"seconds": seconds, "max": PROMPT_WARN_OTHER_S},
                    )
                )
        if isinstance(node, LookupNode) and node.on_error is None:
            out.append(Finding("warning", "lookup_no_error_path", nid))
    # every path ends: from every reachable node some end (queue, hang-up…) can be reached
    ends = {nid for nid, n in flow.nodes.items() if n.type in TERMINAL_TYPES}
    for nid in sorted(reachable):
        if not (_reachable(flow, nid) & ends):
            out.append(Finding("error", "no_end", nid))
    for group in _input_free_cycles(flow):
        out.append(Finding("error", "input_free_cycle", group[0], {"nodes": ", ".join(group)}))
    return out


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.level == "error" for f in findings)


def check(data: Any) -> tuple[Flow | None, list[Finding]]:
    """Parse and validate: the flow (None when malformed) and every finding."""
    try:
        flow = parse_flow(data)
    except FlowFormatError as exc:
        return None, exc.findings
    return flow, validate(flow)
