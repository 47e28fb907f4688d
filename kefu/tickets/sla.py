"""SLA math for work orders: targets on the business calendar, pauses, warnings, breach, escalation.

Pure: standard library and ``kefu.core`` only. All instants are timezone-aware UTC; business time
comes only from ``kefu.core.calendar.BusinessCalendar``.

A *clock* (first response, resolution, legal limit) has a **budget**: the amount of clock time
the target allows, measured either in working time (``working_hours``/``working_days``: only
the calendar's working intervals count) or in elapsed time (``hours``/``calendar_days``). The
budget is fixed when the clock starts (``Target.budget``), so "4 working days" opened on a
Friday before 国庆 keeps its meaning. While the order is paused (pending customer or third
party) the clock does not run; the deadline moves by exactly the paused clock time. ``evaluate``
answers, at any ``now``: how much was used, the due moment, the warning moment (at
``warn_fraction`` of the budget), whether it is paused, breached, met or missed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from kefu.core.calendar import BusinessCalendar
from kefu.core.clock import ensure_utc

__all__ = [
    "CLOCKS",
    "DEFAULT_WARN_FRACTION",
    "TEMPLATES",
    "ClockState",
    "EscalationAction",
    "EscalationStep",
    "Pause",
    "SlaPolicy",
    "Target",
    "Unit",
    "due_escalations",
    "evaluate",
    "evaluate_policy",
    "measure",
    "next_check",
]

DEFAULT_WARN_FRACTION = 0.8
FIRST_RESPONSE, RESOLUTION, LEGAL = "first_response", "resolution", "legal"
CLOCKS: tuple[str, ...] = (FIRST_RESPONSE, RESOLUTION, LEGAL)
ZERO = timedelta(0)

Pause = tuple[datetime, datetime | None]  # [start, end); end None = still paused


class Unit(StrEnum):
    HOURS = "hours"  # elapsed clock hours: "contact within 24 h"
    CALENDAR_DAYS = "calendar_days"  # "answer within 15 days"
    WORKING_HOURS = "working_hours"  # only the calendar's working intervals count
    WORKING_DAYS = "working_days"  # "reply within 4 working days"

    @property
    def working(self) -> bool:
        return self in (Unit.WORKING_HOURS, Unit.WORKING_DAYS)


@dataclass(frozen=True, slots=True)
class Target:
    """A time limit such as 15 calendar days or 4 working days."""

    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError("a target amount is never negative")
        object.__setattr__(self, "unit", Unit(self.unit))

    def deadline(self, calendar: BusinessCalendar, start: datetime) -> datetime:
        """The due moment without pauses, as an operator counts it."""
        start = ensure_utc(start)
        if self.unit is Unit.HOURS:
            return start + timedelta(hours=self.amount)
        if self.unit is Unit.CALENDAR_DAYS:
            return calendar.add_calendar_days(start, self.amount)
        if self.unit is Unit.WORKING_HOURS:
            return calendar.add_working_time(start, timedelta(hours=self.amount))
        return calendar.add_working_days(start, self.amount)

    def to_dict(self) -> dict[str, Any]:
        return {"amount": self.amount, "unit": self.unit.value}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Target:
        return cls(int(raw["amount"]), Unit(str(raw["unit"])))

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.value}"


def measure(calendar: BusinessCalendar, working: bool, start: datetime, end: datetime) -> timedelta:
    """Clock time in ``[start, end]``: working time, or plain elapsed time."""
    if end <= start:
        return ZERO
    return calendar.working_time_between(start, end) if working else end - start


def _advance(
    calendar: BusinessCalendar, working: bool, start: datetime, amount: timedelta
) -> datetime:
    return calendar.add_working_time(start, amount) if working else start + amount


@dataclass(frozen=True, slots=True)
class ClockState:
    """One SLA clock seen at ``now`` (or at the moment it was stopped, if earlier)."""

    name: str
    at: datetime  # the instant this state describes (now, or when the clock was stopped)
    budget: timedelta  # clock time the target allows
    used: timedelta  # clock time consumed so far (pauses excluded)
    due: datetime | None  # None while paused before the deadline was reached
    warn_at: datetime | None  # when ``warn_fraction`` of the budget is used up (same rule)
    paused: bool
    stopped: bool  # the clock was stopped (first reply given, order resolved)
    working: bool  # measured in working time
    warned: bool
    breached: bool  # deadline reached while running, or stopped after it
    moments: tuple[tuple[float, datetime], ...] = ()  # fraction of budget -> instant reached

    @property
    def fraction(self) -> float:
        if self.budget <= ZERO:
            return 1.0
        return self.used / self.budget

    @property
    def remaining(self) -> timedelta:
        return self.budget - self.used

    @property
    def phase(self) -> str:
        """``met``/``missed`` once stopped; else ``breached``, ``paused``, ``warning``, ``ok``."""
        if self.stopped:
            return "missed" if self.breached else "met"
        if self.breached:
            return "breached"
        if self.paused:
            return "paused"
        return "warning" if self.warned else "ok"

    def reached(self, fraction: float) -> datetime | None:
        """When ``fraction`` of the budget is (or will be, if running) used up."""
        return dict(self.moments).get(fraction)


def _running_segments(
    start: datetime, pauses: Sequence[Pause], horizon: datetime
) -> list[tuple[datetime, datetime | None]]:
    """Intervals in which the clock ran up to ``horizon``; the last is open (None) if running."""
    out: list[tuple[datetime, datetime | None]] = []
    cursor: datetime | None = start
    for raw_start, raw_end in sorted(pauses, key=lambda p: ensure_utc(p[0])):
        if cursor is None:
            break
        pause_start = max(ensure_utc(raw_start), cursor)
        if pause_start > horizon:
            break
        if pause_start > cursor:
            out.append((cursor, pause_start))
        cursor = None if raw_end is None else max(ensure_utc(raw_end), pause_start)
    if cursor is not None and cursor <= horizon:
        out.append((cursor, None))
    return out


def evaluate(
    name: str,
    budget: timedelta,
    working: bool,
    calendar: BusinessCalendar,
    start: datetime,
    now: datetime,
    *,
    pauses: Sequence[Pause] = (),
    stopped_at: datetime | None = None,
    warn_fraction: float = DEFAULT_WARN_FRACTION,
    fractions: Iterable[float] = (),
) -> ClockState:
    """The state at ``now`` of a clock started at ``start`` with ``budget`` of clock time.

    ``pauses`` are intervals in which the clock stood still (the last may be open);
    ``stopped_at`` ends the clock (first reply given, order resolved). ``fractions`` asks for
    the instants at which further shares of the budget are used up (escalation steps).
    """
    if not 0.0 < warn_fraction <= 1.0:
        raise ValueError("warn_fraction is in (0, 1]")
    start, now = ensure_utc(start), ensure_utc(now)
    stopped = stopped_at is not None and ensure_utc(stopped_at) <= now
    horizon = max(start, ensure_utc(stopped_at) if stopped and stopped_at else now)
    wanted = sorted({warn_fraction, 1.0, *fractions})
    found: dict[float, datetime] = {}
    used = ZERO
    segments = _running_segments(start, pauses, horizon)
    for seg_start, seg_end in segments:
        piece = measure(calendar, working, seg_start, horizon if seg_end is None else seg_end)
        for fraction in wanted:
            amount = budget * fraction
            if fraction not in found and (seg_end is None or used + piece >= amount):
                found[fraction] = _advance(calendar, working, seg_start, max(amount - used, ZERO))
        used += piece
    paused = not stopped and (not segments or segments[-1][1] is not None)
    due, warn_at = found.get(1.0), found.get(warn_fraction)
    # Stopped exactly at the deadline is met; running at the deadline is already breached.
    breached = due is not None and (due < horizon or (due == horizon and not stopped))
    return ClockState(
        name=name,
        at=horizon,
        budget=budget,
        used=used,
        due=due,
        warn_at=warn_at,
        paused=paused,
        stopped=stopped,
        working=working,
        warned=warn_at is not None and warn_at <= horizon,
        breached=breached,
        moments=tuple(sorted(found.items())),
    )


class EscalationAction(StrEnum):
    NOTIFY_LEADER = "notify_leader"  # tell the group's leader (组长/班长)
    NEXT_GROUP = "next_group"  # move to the next-level group (A -> B -> 疑难/产品部门)
    REGULATOR_RISK = "regulator_risk"  # flag 越级/申诉 risk (12300, 12398, 金融监管)


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """When ``clock`` has used ``at`` of its budget (1.0 = breach), take ``action``."""

    clock: str
    at: float
    action: EscalationAction

    def __post_init__(self) -> None:
        if self.clock not in CLOCKS:
            raise ValueError(f"unknown clock {self.clock!r}")
        if not 0.0 < self.at <= 5.0:
            raise ValueError("escalation fraction is in (0, 5]")
        object.__setattr__(self, "action", EscalationAction(self.action))

    def to_dict(self) -> dict[str, Any]:
        return {"clock": self.clock, "at": self.at, "action": self.action.value}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> EscalationStep:
        return cls(str(raw["clock"]), float(raw["at"]), EscalationAction(str(raw["action"])))


@dataclass(frozen=True)
class SlaPolicy:
    """Targets of one kind of order, with escalation steps and where the numbers come from.

    ``legal`` is the external (regulatory) limit, ``resolution`` the internal 限时办结 target.
    ``extensions`` lengthen resolution and legal clocks one after the other (bank: 15 days,
    extendable to 30, then a further 30 with approval and customer notice).
    """

    code: str
    name_zh: str
    name_en: str
    resolution: Target
    first_response: Target | None = None
    legal: Target | None = None
    extensions: tuple[Target, ...] = ()
    warn_fraction: float = DEFAULT_WARN_FRACTION
    escalation: tuple[EscalationStep, ...] = ()
    source: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        if not 0.0 < self.warn_fraction <= 1.0:
            raise ValueError("warn_fraction is in (0, 1]")
        for step in self.escalation:
            if step.clock == LEGAL and self.legal is None:
                raise ValueError("an escalation on the legal clock needs a legal target")
            if step.clock == FIRST_RESPONSE and self.first_response is None:
                raise ValueError("an escalation on first response needs that target")

    def target(self, clock: str) -> Target | None:
        return {
            FIRST_RESPONSE: self.first_response,
            RESOLUTION: self.resolution,
            LEGAL: self.legal,
        }[clock]

    def budget(
        self, clock: str, calendar: BusinessCalendar, start: datetime, extensions: int = 0
    ) -> timedelta | None:
        """Clock time allowed from ``start``; extensions lengthen resolution and legal."""
        target = self.target(clock)
        if target is None:
            return None
        due = target.deadline(calendar, start)
        if clock != FIRST_RESPONSE:
            for extra in self.extensions[: max(extensions, 0)]:
                due = extra.deadline(calendar, due)
        return measure(calendar, target.unit.working, ensure_utc(start), due)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "resolution": self.resolution.to_dict(),
            "first_response": self.first_response.to_dict() if self.first_response else None,
            "legal": self.legal.to_dict() if self.legal else None,
            "extensions": [t.to_dict() for t in self.extensions],
            "warn_fraction": self.warn_fraction,
            "escalation": [s.to_dict() for s in self.escalation],
            "source": self.source,
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SlaPolicy:
        def opt(key: str) -> Target | None:
            value = raw.get(key)
            return Target.from_dict(value) if value else None

        return cls(
            code=str(raw["code"]),
            name_zh=str(raw.get("name_zh", raw["code"])),
            name_en=str(raw.get("name_en", raw["code"])),
            resolution=Target.from_dict(raw["resolution"]),
            first_response=opt("first_response"),
            legal=opt("legal"),
            extensions=tuple(Target.from_dict(t) for t in raw.get("extensions") or ()),
            warn_fraction=float(raw.get("warn_fraction", DEFAULT_WARN_FRACTION)),
            escalation=tuple(EscalationStep.from_dict(s) for s in raw.get("escalation") or ()),
            source=str(raw.get("source", "")),
            notes=str(raw.get("notes", "")),
        )


def evaluate_policy(
    policy: SlaPolicy,
    calendar: BusinessCalendar,
    start: datetime,
    now: datetime,
    *,
    pauses: Sequence[Pause] = (),
    first_response_at: datetime | None = None,
    resolved_at: datetime | None = None,
    extensions: int = 0,
    resolution_due: datetime | None = None,
) -> dict[str, ClockState]:
    """Every clock of ``policy`` for one order cycle started at ``start``.

    ``resolution_due`` replaces the resolution target by an explicit deadline (a promise made to
    the customer, or a test): its budget is the elapsed time from ``start`` to it.
    """
    states: dict[str, ClockState] = {}
    for clock in CLOCKS:
        target = policy.target(clock)
        if target is None:
            continue
        budget = policy.budget(clock, calendar, start, extensions)
        assert budget is not None
        working = target.unit.working
        if clock == RESOLUTION and resolution_due is not None:
            budget, working = max(ensure_utc(resolution_due) - ensure_utc(start), ZERO), False
        fractions = {step.at for step in policy.escalation if step.clock == clock}
        states[clock] = evaluate(
            clock,
            budget,
            working,
            calendar,
            start,
            now,
            pauses=pauses,
            stopped_at=first_response_at if clock == FIRST_RESPONSE else resolved_at,
            warn_fraction=policy.warn_fraction,
            fractions=fractions,
        )
    return states


def due_escalations(
    policy: SlaPolicy, states: Mapping[str, ClockState], done: Iterable[int]
) -> list[tuple[int, EscalationStep]]:
    """Escalation steps (index, step) reached by clocks still running, not taken before."""
    taken = set(done)
    out = []
    for index, step in enumerate(policy.escalation):
        state = states.get(step.clock)
        if index in taken or state is None or state.stopped:
            continue
        reached = state.reached(step.at)
        if reached is not None and reached <= state.at:
            out.append((index, step))
    return out


def next_check(states: Mapping[str, ClockState], now: datetime) -> datetime | None:
    """The earliest future instant when a warning, breach or escalation step falls due.

    ``None`` when nothing is pending (every clock stopped or paused).
    """
    moments = [
        moment
        for state in states.values()
        if not state.stopped and not state.paused
        for _fraction, moment in state.moments
        if moment > now
    ]
    return min(moments) if moments else None


_H = EscalationAction
TEMPLATES: dict[str, SlaPolicy] = {
    policy.code: policy
    for policy in (
        SlaPolicy(
            code="telecom_cn",
            name_zh="电信投诉（15日内答复）",
            name_en="Telecom complaint (answer within 15 days)",
            first_response=Target(24, Unit.HOURS),
            resolution=Target(5, Unit.WORKING_DAYS),
            legal=Target(15, Unit.CALENDAR_DAYS),
            escalation=(
                EscalationStep(RESOLUTION, 0.8, _H.NOTIFY_LEADER),
                EscalationStep(RESOLUTION, 1.0, _H.NEXT_GROUP),
                EscalationStep(LEGAL, 0.8, _H.REGULATOR_RISK),
            ),
            source=(
                "《电信用户申诉处理办法》（工信部令第35号）：企业应在15日内答复用户投诉，"
                "逾期未答复或用户不满意可向申诉受理机构申诉 (standards.md §2.2)"
            ),
            notes=(
                "legal = 15 calendar days (regulatory); first response 24 h and resolution 5 "
                "working days are internal targets [U], editable (standards.md §6)"
            ),
        ),
        SlaPolicy(
            code="bank_cn",
            name_zh="银行保险投诉（15日，可延至30日，再延30日）",
            name_en="Bank/insurance complaint (15 days, extendable to 30, then +30)",
            first_response=Target(24, Unit.HOURS),
            resolution=Target(15, Unit.CALENDAR_DAYS),
            legal=Target(15, Unit.CALENDAR_DAYS),
            extensions=(Target(15, Unit.CALENDAR_DAYS), Target(30, Unit.CALENDAR_DAYS)),
            escalation=(
                EscalationStep(RESOLUTION, 0.8, _H.NOTIFY_LEADER),
                EscalationStep(RESOLUTION, 1.0, _H.NEXT_GROUP),
                EscalationStep(LEGAL, 0.8, _H.REGULATOR_RISK),
            ),
            source=(
                "《银行业保险业消费投诉处理管理办法》（2020）：一般投诉15日内办结并告知；"
                "复杂投诉可延长至30日；特别复杂的经审批可再延长30日 (standards.md §2.3)"
            ),
            notes="each extension needs approval and a notice to the customer",
        ),
        SlaPolicy(
            code="power_cn_95598",
            name_zh="95598供电服务投诉（24小时内联系，4个工作日内答复）",
            name_en="Power 95598 complaint (contact within 24 h, reply within 4 working days)",
            first_response=Target(24, Unit.HOURS),
            resolution=Target(4, Unit.WORKING_DAYS),
            escalation=(
                EscalationStep(FIRST_RESPONSE, 1.0, _H.NOTIFY_LEADER),
                EscalationStep(RESOLUTION, 0.8, _H.NOTIFY_LEADER),
                EscalationStep(RESOLUTION, 1.0, _H.NEXT_GROUP),
                EscalationStep(RESOLUTION, 1.0, _H.REGULATOR_RISK),
            ),
            source=(
                "国网95598业务管理（国网江苏2021）：投诉24小时内联系客户，4个工作日内处理答复；"
                "举报9个工作日；12398为10个工作日 (standards.md §2.4)"
            ),
        ),
    )
}
