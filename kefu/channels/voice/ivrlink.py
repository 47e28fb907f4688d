"""The IVR session a call runs: the tenant's published flow (``kefu.ivr``), an inline flow, or
a built-in one-level menu (1 → the number's queue, 0 → a human) when neither is configured."""

from __future__ import annotations

from typing import Any

from kefu.tenancy import Scoped, tenant_calendar

__all__ = ["builtin_flow", "new_session", "record_ivr"]

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
