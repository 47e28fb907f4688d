"""The work-order state machine: only allowed moves succeed, each with actor and reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from kefu.core.errors import ConflictError, ValidationFailed
from kefu.tickets.model import (
    OPEN,
    PAUSED,
    REASON_REQUIRED,
    TRANSITIONS,
    Action,
    Status,
    allowed_actions,
    transition,
)

pytestmark = pytest.mark.unit
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def test_the_complaint_closed_loop() -> None:
    path = [
        (Action.ASSIGN, ""),
        (Action.START, ""),
        (Action.WAIT_CUSTOMER, "等客户提供缴费凭证"),
        (Action.RESUME, ""),
        (Action.RESOLVE, "已退还多扣话费 20 元"),
        (Action.REOPEN, "回访：客户表示未解决"),
        (Action.ASSIGN, ""),
        (Action.START, ""),
        (Action.RESOLVE, "补退 5 元"),
        (Action.CLOSE, "回访满意"),
    ]
    status = Status.NEW
    seen = []
    for step, (action, reason) in enumerate(path):
        move = transition(status, action, actor_id=7, reason=reason, at=T0 + timedelta(hours=step))
        assert move.source is status and move.actor_id == 7 and move.reason == reason
        status = move.target
        seen.append(status.value)
    assert seen[-1] == "closed" and "pending_customer" in seen and "reopened" in seen


def test_refusals_name_the_state_and_what_is_allowed() -> None:
    with pytest.raises(ConflictError) as refused:
        transition(Status.CLOSED, Action.RESOLVE, actor_id=1, at=T0)
    assert refused.value.code == "invalid_transition" and refused.value.status == 409
    assert refused.value.params["state"] == "closed"
    assert refused.value.params["allowed"] == "reopen"
    with pytest.raises(ValidationFailed) as no_reason:
        transition(Status.IN_PROGRESS, Action.CANCEL, actor_id=1, reason="  ", at=T0)
    assert no_reason.value.errors[0].field == "reason"
    with pytest.raises(ConflictError):  # a cancelled order never moves again
        transition(Status.CANCELLED, Action.REOPEN, actor_id=1, reason="x", at=T0)


def test_pending_states_pause_and_every_state_is_reachable() -> None:
    assert {Status.PENDING_CUSTOMER, Status.PENDING_THIRD_PARTY} == PAUSED
    assert PAUSED < OPEN and Status.RESOLVED not in OPEN
    targets = {Status.NEW} | set(TRANSITIONS.values())
    assert targets == set(Status)
    assert allowed_actions(Status.CANCELLED) == ()
    with pytest.raises(ValueError):
        transition("archived", Action.CLOSE, actor_id=1, at=T0)
    naive = datetime(2026, 3, 2, 9, 0)  # noqa: DTZ001 - checking that naive time is refused
    with pytest.raises(ValueError):
        transition(Status.NEW, Action.ASSIGN, actor_id=1, at=naive)


class Workflow(RuleBasedStateMachine):
    """Random actions with and without reasons: the machine follows TRANSITIONS exactly."""

    def __init__(self) -> None:
        super().__init__()
        self.status = Status.NEW
        self.history: list[tuple[Status, Status]] = []
        self.now = T0

    @rule(action=st.sampled_from(list(Action)), reason=st.sampled_from(["", "客户要求", " "]))
    def act(self, action: Action, reason: str) -> None:
        self.now += timedelta(minutes=5)
        expected = TRANSITIONS.get((self.status, action))
        needs_reason = action in REASON_REQUIRED and not reason.strip()
        try:
            move = transition(self.status, action, actor_id=3, reason=reason, at=self.now)
        except ConflictError:
            assert expected is None
            return
        except ValidationFailed:
            assert expected is not None and needs_reason
            return
        assert expected is move.target and not needs_reason
        assert move.at == self.now and move.reason == reason.strip()
        self.history.append((move.source, move.target))
        self.status = move.target

    @invariant()
    def history_is_a_chain(self) -> None:
        current = Status.NEW
        for source, target in self.history:
            assert source is current
            current = target
        assert current is self.status
        if Status.CANCELLED in [t for _s, t in self.history]:
            assert self.status is Status.CANCELLED


TestWorkflow = Workflow.TestCase
TestWorkflow.settings = settings(max_examples=100, stateful_step_count=25, deadline=None)
