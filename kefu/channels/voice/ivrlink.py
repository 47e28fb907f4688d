"""The IVR session a call runs: the tenant's published flow (``kefu.ivr``), an inline flow, or
a built-in one-level menu (1 → the number's queue, 0 → a human) when neither is configured."""

from __future__ import annotations

import re
from typing import Any

from kefu.tenancy import Scoped, tenant_calendar

__all__ = ["builtin_flow", "ivr_trail", "key_labels", "new_session", "record_ivr", "sms_text"]

WELCOME = "欢迎致电。业务咨询请按1，人工服务请按0。"


def builtin_flow(queue: str) -> dict[str, Any]:
    return {
        "start": "main",
        "settings": {"human_queue": queue, "timeout_s": 5},
        "nodes": {
            "main": {"type": "menu", "prompt": WELCOME, "options": {"1": "agent"}},
            "agent": {"type": "queue", "queue": queue},
        },
    }


def new_session(scope: Scoped, number: Any, caller: str) -> Any:
    """An ``IvrSession`` for this call (``kefu.ivr.runner`` contract)."""
    local_now = scope.clock.now()
    is_workday, is_holiday = True, False
    try:
        calendar = tenant_calendar(scope.session, scope.tenant_id)
        local_now = calendar.to_local(local_now)
        is_workday = calendar.is_working_day(local_now.date())
        is_holiday = not is_workday and local_now.weekday() < 5  # a weekday off: a holiday
    except Exception:  # no calendar configured: a plain working day
        pass
    import kefu.ivr as ivr
    from kefu.ivr import IvrSession, parse_flow

    if number.flow_code:  # the tenant's published flow, with its business calendar
        found = ivr.new_session(
            scope.session,
            scope.tenant_id,
            number.flow_code,
            caller={"phone": caller},
            now=scope.clock.now(),
            clock=scope.clock,
        )
        if found is not None:
            return found
    flow = parse_flow(dict(number.flow) if number.flow else builtin_flow(number.queue))
    return IvrSession(
        flow,
        caller={"phone": caller},
        local_now=local_now,
        is_workday=is_workday,
        is_holiday=is_holiday,
        clock=scope.clock,
    )


def record_ivr(scope: Scoped, session: Any, contact_id: str) -> None:
    """Record the ended session (``ivr.session_ended``: path, outcome) for the IVR metrics."""
    from kefu.ivr import record_session

    record_session(scope, scope.tenant_id, session, "voice", contact_id)


# "话费查询请按1" / "按1查询话费" / "press 1 for billing" / "for billing, press 1"
_KEY_LABELS = (
    (re.compile(r"([^，。,.;；、！!？?\s:：]+?)请?按([0-9])"), 1, 2),
    (re.compile(r"按([0-9])键?([^，。,.;；、！!？?\s]+)"), 2, 1),
    (re.compile(r"[Pp]ress ([0-9]) (?:for|to) ([^,.;!?]+)"), 2, 1),
    (re.compile(r"[Ff]or ([^,.;!?]+?),? press ([0-9])"), 1, 2),
)
_LEADING = ("如果需要", "如需", "需要")
HUMAN = "人工服务"


def key_labels(text: str) -> dict[str, str]:
    """What each key of a menu prompt is for, read from the prompt: {"1": "话费查询"}."""
    labels: dict[str, str] = {}
    for pattern, label_group, key_group in _KEY_LABELS:
        for m in pattern.finditer(text):
            label = m.group(label_group).strip()
            for lead in _LEADING:
                if label.startswith(lead) and len(label) > len(lead):
                    label = label[len(lead) :]
            labels.setdefault(m.group(key_group), label[:20])
    return labels


def ivr_trail(session: Any) -> tuple[str, str]:
    """The caller's way through the flow for the agent's screen-pop: the node ids entered
    (``"main>bill>agent"``) and what the caller chose, in the words of the menu prompts
    (``"话费查询 > 人工服务"``; a node reached by a key the prompt does not name keeps its id)."""
    flow = session.flow
    steps = [str(step[0]) for step in session.path or []]
    chosen: list[str] = []
    menu: Any = None
    for node_id in steps:
        if menu is not None:
            keys = [k for k, target in menu.options.items() if target == node_id]
            if keys:
                chosen.append(key_labels(menu.prompt.text).get(keys[0]) or node_id)
        node = flow.nodes.get(node_id)
        menu = node if getattr(node, "type", "") == "menu" else None
    zero_node = flow.nodes.get(session.zero_out_node or "")
    if session.reason == "zero_out" and zero_node is not None and "0" not in zero_node.options:
        chosen.append(key_labels(zero_node.prompt.text).get("0") or HUMAN)  # 0 at a menu
    elif session.reason == "elderly":
        chosen.append(HUMAN)
    return ">".join(steps), " > ".join(chosen)


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def sms_text(template: str, params: dict[str, str]) -> str:
    """The text of a flow's ``sms`` node: its template with ``${name}`` filled from the params;
    a template name without placeholders (there is no template catalogue yet) is sent with its
    params as ``name: value`` lines."""
    if _PLACEHOLDER.search(template):
        return _PLACEHOLDER.sub(lambda m: params.get(m.group(1), ""), template)
    lines = [template] + [f"{key}: {value}" for key, value in params.items()]
    return "\n".join(lines)
