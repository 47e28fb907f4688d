"""The work-order workflow as a pure state machine (no database, no web).

States follow the complaint closed loop: an order is opened (``new``), given to a member of a
back-office group (``assigned``), worked (``in_progress``), may wait for the customer or a third
party (``pending_*``: the SLA clock is paused), is ``resolved``, followed up (回访) and
``closed``. A follow-up answer "not solved" or a repeat complaint ``reopen``s it; it can be
``cancelled`` (also when merged into a duplicate). Only the transitions in ``TRANSITIONS``
succeed; every one is a ``Transition`` record with actor and reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from kefu.core.clock import ensure_utc
from kefu.core.errors import ConflictError, FieldError, ValidationFailed

__all__ = [
    "ACTIVE",
    "CATEGORIES",
    "FINAL",
    "OPEN",
    "PAUSED",
    "PRIORITIES",
    "REASON_REQUIRED",
    "TRANSITIONS",
    "Action",
    "Category",
    "Priority",
    "Status",
    "Transition",
    "allowed_actions",
    "transition",
]


class Status(StrEnum):
    NEW = "new"  # 待派单
    ASSIGNED = "assigned"  # 已派单
    IN_PROGRESS = "in_progress"  # 处理中
    PENDING_CUSTOMER = "pending_customer"  # 待客户反馈 (SLA paused)
    PENDING_THIRD_PARTY = "pending_third_party"  # 待第三方 (SLA paused)
    RESOLVED = "resolved"  # 已办结, awaiting follow-up
    CLOSED = "closed"  # 已归档
    REOPENED = "reopened"  # 重启 (follow-up "not solved" or a repeat complaint)
    CANCELLED = "cancelled"  # 已撤单 (or merged into another order)


class Action(StrEnum):
    ASSIGN = "assign"  # give to a member (also re-assign within or across groups)
    TRANSFER = "transfer"  # move to another group, waiting for a member there
    START = "start"
    WAIT_CUSTOMER = "wait_customer"
    WAIT_THIRD_PARTY = "wait_third_party"
    RESUME = "resume"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    CANCEL = "cancel"


class Category(StrEnum):
    CONSULTATION = "consultation"  # 咨询
    COMPLAINT = "complaint"  # 投诉
    SUGGESTION = "suggestion"  # 建议
    FAULT = "fault"  # 故障
    SERVICE_REQUEST = "service_request"  # 服务申请 / 业务办理


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)
PRIORITIES: tuple[str, ...] = tuple(p.value for p in Priority)

S, A = Status, Action
_WORKING = (S.NEW, S.ASSIGNED, S.IN_PROGRESS, S.REOPENED)
_PENDING = (S.PENDING_CUSTOMER, S.PENDING_THIRD_PARTY)

# (from, action) -> to. Anything not listed is refused.
TRANSITIONS: dict[tuple[Status, Action], Status] = {
    **{(s, A.ASSIGN): S.ASSIGNED for s in _WORKING},
    **{(s, A.TRANSFER): S.NEW for s in _WORKING},
    (S.ASSIGNED, A.START): S.IN_PROGRESS,
    (S.REOPENED, A.START): S.IN_PROGRESS,
    (S.IN_PROGRESS, A.WAIT_CUSTOMER): S.PENDING_CUSTOMER,
    (S.IN_PROGRESS, A.WAIT_THIRD_PARTY): S.PENDING_THIRD_PARTY,
    (S.PENDING_CUSTOMER, A.WAIT_THIRD_PARTY): S.PENDING_THIRD_PARTY,
    (S.PENDING_THIRD_PARTY, A.WAIT_CUSTOMER): S.PENDING_CUSTOMER,
    **{(s, A.RESUME): S.IN_PROGRESS for s in _PENDING},
    (S.IN_PROGRESS, A.RESOLVE): S.RESOLVED,
    **{(s, A.RESOLVE): S.RESOLVED for s in _PENDING},
    (S.RESOLVED, A.CLOSE): S.CLOSED,
    (S.RESOLVED, A.REOPEN): S.REOPENED,
    (S.CLOSED, A.REOPEN): S.REOPENED,
    **{(s, A.CANCEL): S.CANCELLED for s in (*_WORKING, *_PENDING)},
}

# Open orders are in somebody's queue; paused ones stop the SLA clock; final ones never move
# again (a closed order may still be reopened by a follow-up or a repeat complaint).
OPEN: frozenset[Status] = frozenset((*_WORKING, *_PENDING))
PAUSED: frozenset[Status] = frozenset(_PENDING)
ACTIVE: frozenset[Status] = OPEN - PAUSED  # the SLA clock runs
FINAL: frozenset[Status] = frozenset({S.CANCELLED})
# Actions that change the customer's outcome or hide work need a written reason.
REASON_REQUIRED: frozenset[Action] = frozenset(
    {A.TRANSFER, A.WAIT_CUSTOMER, A.WAIT_THIRD_PARTY, A.REOPEN, A.CANCEL}
)


@dataclass(frozen=True, slots=True)
class Transition:
    """One recorded state change: who did what, why and when."""

    source: Status
    target: Status
    action: Action
    actor_id: int | None  # None: the system (SLA escalation, automatic reopen)
    reason: str
    at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "from": self.source.value,
            "to": self.target.value,
            "action": self.action.value,
            "actor_id": self.actor_id,
            "reason": self.reason,
            "at": self.at.isoformat(),
        }


def allowed_actions(status: Status | str) -> tuple[Action, ...]:
    """The actions that may be taken from ``status``, in declaration order."""
    current = Status(status)
    return tuple(action for (source, action) in TRANSITIONS if source is current)


def transition(
    status: Status | str,
    action: Action | str,
    *,
    actor_id: int | None,
    reason: str = "",
    at: datetime,
) -> Transition:
    """The transition ``action`` makes from ``status``; refused when not allowed.

    Raises ``ConflictError("invalid_transition")`` (409) for a move the workflow does not allow
    and ``ValidationFailed`` (422) when the action needs a reason and none is given.
    """
    current, wanted = Status(status), Action(action)
    target = TRANSITIONS.get((current, wanted))
    if target is None:
        raise ConflictError(
            "invalid_transition",
            state=current.value,
            action=wanted.value,
            allowed=", ".join(a.value for a in allowed_actions(current)) or "-",
        )
    text = reason.strip()
    if wanted in REASON_REQUIRED and not text:
        raise ValidationFailed(errors=[FieldError("reason", "error.field.missing")])
    return Transition(current, target, wanted, actor_id, text, ensure_utc(at))
