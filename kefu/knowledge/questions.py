"""The question loop: a front-line question goes to the department owning its module, is due in
24 business hours, escalates when overdue, and its answer is published into the base."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from kefu.core.calendar import BusinessCalendar
from kefu.core.clock import Clock
from kefu.core.errors import FieldError, ValidationFailed
from kefu.core.events import Event
from kefu.db.eventlog import record_event
from kefu.knowledge.services import ArticleData, BadTransition, create_article
from kefu.knowledge.tables import KnowledgeModule, Question
from kefu.tenancy import Scoped

__all__ = [
    "ANSWER_WITHIN",
    "ESCALATE_EVERY",
    "answer_question",
    "escalate_overdue",
    "submit_question",
]

TOPIC = "knowledge"
ANSWER_WITHIN = timedelta(hours=24)  # business hours on the tenant's calendar
ESCALATE_EVERY = timedelta(hours=4)  # further escalation levels while still unanswered


def _owner_team(scope: Scoped, module_id: int | None) -> int | None:
    """The team owning the module, or the nearest ancestor that has one."""
    seen: set[int] = set()
    while module_id is not None and module_id not in seen:
        seen.add(module_id)
        module = scope.get(KnowledgeModule, module_id, entity="knowledge_modules")
        if module.owner_team_id is not None:
            return module.owner_team_id
        module_id = module.parent_id
    return None


def submit_question(
    scope: Scoped,
    calendar: BusinessCalendar,
    text: str,
    *,
    module_id: int | None = None,
    context: str = "",
) -> Question:
    if not text.strip():
        raise ValidationFailed(errors=[FieldError("text", "error.knowledge.missing")])
    now = scope.clock.now()
    question = scope.add(
        Question(
            asker_id=scope.principal.user_id,
            module_id=module_id,
            owner_team_id=_owner_team(scope, module_id),
            text=text.strip(),
            context=context.strip(),
            status="open",
            due_at=calendar.add_working_time(now, ANSWER_WITHIN),
            escalation_level=0,
            answer="",
            created_at=now,
        )
    )
    scope.emit(
        "knowledge.question.submitted",
        TOPIC,
        {
            "id": question.id,
            "owner_team_id": question.owner_team_id,
            "due_at": question.due_at.isoformat(),
            "asker_id": question.asker_id,
        },
    )
    return question


def answer_question(
    scope: Scoped,
    question_id: int,
    answer: str,
    *,
    title: str | None = None,
    module_id: int | None = None,
    publish: bool = True,
) -> Question:
    """Answer, publish the answer as an article (the question becomes its extended question),
    and tell the asker (event ``knowledge.question.answered`` with ``asker_id``)."""
    question = scope.get(Question, question_id, entity="knowledge_questions")
    if question.status == "answered":
        raise BadTransition(state=question.status, action="answer")
    if not answer.strip():
        raise ValidationFailed(errors=[FieldError("answer", "error.knowledge.missing")])
    module = module_id if module_id is not None else question.module_id
    article = create_article(
        scope,
        ArticleData(
            title=(title or question.text)[:300],
            body=answer.strip(),
            module_id=module,
            questions=[question.text] if title and title != question.text else [],
        ),
        status="published" if publish else "in_review",
        source="question",
        note=f"answer to question #{question.id}",
    )
    now = scope.clock.now()
    question.status = "answered"
    question.answer = answer.strip()
    question.answered_by = scope.principal.user_id
    question.answered_at = now
    question.article_id = article.id
    scope.emit(
        "knowledge.question.answered",
        TOPIC,
        {
            "id": question.id,
            "asker_id": question.asker_id,
            "article_id": article.id,
            "late": now > question.due_at,
        },
    )
    return question


def escalate_overdue(
    session: Session, clock: Clock, calendars: Any = None, tenant_id: int | None = None
) -> list[Question]:
    """Escalate unanswered questions past their deadline (the scheduler calls this).

    Level 1 at the deadline (the owning team's leader and the duty manager are told), one more
    level every ``ESCALATE_EVERY`` of wall time after that. Returns the questions escalated now.
    Each level is raised by a conditional update, so two workers running this at the same time
    escalate (and notify) once: the second one's update matches no row and it moves on.
    """
    now = clock.now()
    query = select(Question).where(Question.status == "open", Question.due_at <= now)
    if tenant_id is not None:
        query = query.where(Question.tenant_id == tenant_id)
    escalated = []
    for question in session.scalars(query.order_by(Question.id)):
        due = question.due_at + ESCALATE_EVERY * question.escalation_level
        if now < due:
            continue
        level = question.escalation_level + 1
        raised = session.execute(
            update(Question)
            .where(
                Question.id == question.id,
                Question.status == "open",
                Question.escalation_level == question.escalation_level,
            )
            .values(escalation_level=level, escalated_at=now)
            .execution_options(synchronize_session=False)
        )
        if raised.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another worker escalated (or someone answered) it meanwhile
        set_committed_value(question, "escalation_level", level)
        set_committed_value(question, "escalated_at", now)
        escalated.append(question)
        record_event(
            session,
            Event(
                "knowledge.question.escalated",
                TOPIC,
                question.tenant_id,
                now,
                {
                    "id": question.id,
                    "level": level,
                    "owner_team_id": question.owner_team_id,
                    "due_at": question.due_at.isoformat(),
                    "overdue_minutes": int((now - question.due_at) / timedelta(minutes=1)),
                },
            ),
        )
    return escalated


def is_overdue(question: Question, now: datetime) -> bool:
    return question.status == "open" and question.due_at <= now
