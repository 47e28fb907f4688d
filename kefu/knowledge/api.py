"""HTTP API of the knowledge base: articles, search, review, versions, import/export, modules,
dictionary, feedback and analytics, tips, announcements, the question loop and the FAQ bot."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile
from sqlalchemy import select

from kefu.api.crud import CrudSpec, crud_router
from kefu.api.deps import Ctx, require
from kefu.api.schemas import Page
from kefu.core.calendar import BusinessCalendar, WeeklyHours
from kefu.core.errors import NotFoundError, PermissionDeniedError, ValidationFailed
from kefu.knowledge import announcements as ann
from kefu.knowledge import questions as qs
from kefu.knowledge import services, transfer
from kefu.knowledge.schemas import (
    AnnouncementIn,
    AnnouncementOut,
    AnswerIn,
    ArticleBrief,
    ArticleIn,
    ArticleOut,
    ArticlePatch,
    BotIn,
    BotOut,
    DictionaryIn,
    DictionaryOut,
    FeedbackIn,
    ImportOut,
    ModuleIn,
    ModuleOut,
    ModulePatch,
    QuestionIn,
    QuestionOut,
    ReviewIn,
    RollbackIn,
    SearchOut,
    TipIn,
    TipOut,
    TipReviewIn,
    VersionOut,
)
from kefu.knowledge.tables import (
    Announcement,
    Article,
    ArticleVersion,
    KnowledgeModule,
    Question,
    Tip,
)
from kefu.tenancy.tables import Team, Tenant, TenantHoliday, User

__all__ = ["reader_of", "router", "tenant_calendar_of"]

router = APIRouter(prefix="/knowledge", tags=["knowledge"])


# --- helpers ---------------------------------------------------------------------------------


def tenant_calendar_of(ctx: Ctx) -> BusinessCalendar:
    """The tenant's business calendar: national holidays and 调休 plus its own exceptions
    (the same rule as tenancy's ``tenant_calendar``)."""
    tenant = ctx.session.get(Tenant, ctx.scope.tenant_id)
    rows = ctx.session.scalars(ctx.scope.select(TenantHoliday)).all()
    return BusinessCalendar(
        hours=WeeklyHours.weekdays("09:00-18:00"),
        timezone=tenant.timezone if tenant else "Asia/Shanghai",
        custom_holidays={r.day: r.name for r in rows if r.kind == "holiday"},
        custom_workdays=frozenset(r.day for r in rows if r.kind == "workday"),
    )


def reader_of(ctx: Ctx) -> ann.Reader:
    me = ctx.scope.get(User, ctx.scope.principal.user_id, entity="users")
    return ann.Reader(me.id, frozenset(str(r) for r in me.roles), me.site_id, me.team_id)


def _article_out(ctx: Ctx, article: Article, paths: dict[int, str] | None = None) -> dict[str, Any]:
    paths = paths if paths is not None else services.module_paths(ctx.scope)
    data = ArticleOut.model_validate(article).model_dump(mode="json")
    data["module"] = paths.get(article.module_id or -1, "")
    return data


def _readable(ctx: Ctx, article_id: int) -> Article:
    article = ctx.scope.get(Article, article_id, entity="knowledge_articles")
    principal = ctx.scope.principal
    if article.status != "published" and not principal.can("knowledge.edit"):
        raise NotFoundError(entity="knowledge_articles", id=article_id)
    return article


# --- articles --------------------------------------------------------------------------------


@router.get("/articles", response_model=Page[ArticleBrief], summary="List articles")
def list_articles(
    status: Literal["draft", "in_review", "published", "archived"] | None = None,
    module_id: int | None = None,
    q: str = Query("", max_length=200),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    ctx: Ctx = Depends(require("knowledge.read")),
) -> dict[str, Any]:
    query = ctx.scope.select(Article).order_by(Article.updated_at.desc(), Article.id.desc())
    if not ctx.scope.principal.can("knowledge.edit"):
        status = "published"
    if status:
        query = query.where(Article.status == status)
    if module_id is not None:
        query = query.where(
            Article.module_id.in_(services.module_descendants(ctx.scope, module_id))
        )
    if q.strip():
        query = query.where(Article.title.contains(q.strip(), autoescape=True))
    rows, total = ctx.scope.list(query, limit=limit, offset=offset)
    paths = services.module_paths(ctx.scope)
    items = []
    for row in rows:
        item = ArticleBrief.model_validate(row).model_dump(mode="json")
        item["module"] = paths.get(row.module_id or -1, "")
        items.append(item)
    return {"items": items, "total": total}


@router.post("/articles", status_code=201, response_model=ArticleOut, summary="Create an article")
def create_article(
    body: ArticleIn, ctx: Ctx = Depends(require("knowledge.edit"))
) -> dict[str, Any]:
    values = body.model_dump(exclude={"status"})
    values["attachments"] = [a.model_dump() for a in body.attachments]
    if body.status == "published" and not ctx.scope.principal.can("knowledge.review"):
        raise PermissionDeniedError(permission="knowledge.review")
    article = services.create_article(ctx.scope, services.ArticleData(**values), status=body.status)
    out = _article_out(ctx, article)
    ctx.commit()
    return out


@router.get("/articles/{article_id}", response_model=ArticleOut, summary="Get an article")
def get_article(article_id: int, ctx: Ctx = Depends(require("knowledge.read"))) -> dict[str, Any]:
    return _article_out(ctx, _readable(ctx, article_id))


@router.patch(
    "/articles/{article_id}",
    response_model=ArticleOut,
    summary="Change an article (send the version you edited; 409 when someone saved first)",
)
def update_article(
    article_id: int, body: ArticlePatch, ctx: Ctx = Depends(require("knowledge.edit"))
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True, exclude={"version", "note"})
    if "attachments" in changes and body.attachments is not None:
        changes["attachments"] = [a.model_dump() for a in body.attachments]
    article = services.update_article(ctx.scope, article_id, body.version, changes, body.note)
    out = _article_out(ctx, article)
    ctx.commit()
    return out


@router.delete("/articles/{article_id}", status_code=204, summary="Archive an article")
def delete_article(article_id: int, ctx: Ctx = Depends(require("knowledge.review"))) -> Response:
    services.archive(ctx.scope, article_id, "deleted")
    ctx.commit()
    return Response(status_code=204)


def _transition_route(action: str, permission: str) -> None:
    handler = getattr(services, action)

    def endpoint(
        article_id: int, body: ReviewIn, ctx: Ctx = Depends(require(permission))
    ) -> dict[str, Any]:
        article = handler(ctx.scope, article_id, body.note)
        out = _article_out(ctx, article)
        ctx.commit()
        return out

    router.add_api_route(
        f"/articles/{{article_id}}/{action}",
        endpoint,
        methods=["POST"],
        response_model=ArticleOut,
        summary=f"{action.capitalize()} an article",
        name=f"article_{action}",
    )


for _action, _permission in (
    ("submit", "knowledge.edit"),
    ("approve", "knowledge.review"),
    ("reject", "knowledge.review"),
    ("archive", "knowledge.review"),
    ("restore", "knowledge.edit"),
):
    _transition_route(_action, _permission)


@router.get(
    "/articles/{article_id}/versions", response_model=list[VersionOut], summary="Version history"
)
def list_versions(article_id: int, ctx: Ctx = Depends(require("knowledge.edit"))) -> list[Any]:
    ctx.scope.get(Article, article_id, entity="knowledge_articles")
    return list(
        ctx.session.scalars(
            ctx.scope.select(ArticleVersion)
            .where(ArticleVersion.article_id == article_id)
            .order_by(ArticleVersion.version.desc())
        )
    )


@router.get("/articles/{article_id}/diff", summary="Differences between two versions")
def diff(
    article_id: int,
    from_version: int = Query(1, ge=1, alias="from"),
    to_version: int | None = Query(None, ge=1, alias="to", description="default: current"),
    ctx: Ctx = Depends(require("knowledge.edit")),
) -> dict[str, Any]:
    if to_version is None:
        to_version = ctx.scope.get(Article, article_id, entity="knowledge_articles").version
    changes = services.diff_versions(ctx.scope, article_id, from_version, to_version)
    return {"from": from_version, "to": to_version, "changes": changes}


@router.post(
    "/articles/{article_id}/rollback", response_model=ArticleOut, summary="Roll back to a version"
)
def rollback(
    article_id: int, body: RollbackIn, ctx: Ctx = Depends(require("knowledge.edit"))
) -> dict[str, Any]:
    article = services.rollback(ctx.scope, article_id, body.to_version, body.version)
    out = _article_out(ctx, article)
    ctx.commit()
    return out


@router.post("/articles/{article_id}/feedback", status_code=204, summary="Was this helpful?")
def feedback(
    article_id: int, body: FeedbackIn, ctx: Ctx = Depends(require("knowledge.read"))
) -> Response:
    _readable(ctx, article_id)
    services.record_feedback(ctx.scope, article_id, body.helpful, body.query, body.comment)
    ctx.commit()
    return Response(status_code=204)


# --- search ----------------------------------------------------------------------------------


@router.get("/search", response_model=SearchOut, summary="Search published articles")
def search(
    q: str = Query("", max_length=2000, description="Keywords or the customer's own words"),
    limit: int = Query(10, ge=1, le=50),
    module_id: int | None = None,
    ctx: Ctx = Depends(require("knowledge.read")),
) -> dict[str, Any]:
    reader = reader_of(ctx)
    result = services.search(ctx.scope, q, limit=limit, module_id=module_id, site_id=reader.site_id)
    paths = services.module_paths(ctx.scope) if result.hits else {}
    items = []
    for hit in result.hits:
        article = result.articles[hit.id]
        items.append(
            {
                "id": hit.id,
                "title": article.title,
                "snippet": hit.snippet,
                "score": hit.score,
                "confidence": hit.confidence,
                "matched": hit.matched,
                "field": hit.field,
                "module": paths.get(article.module_id or -1, ""),
                "body": article.body,
                "valid_until": article.valid_until,
            }
        )
    out = {"query": result.query, "took_ms": round(result.took_ms, 2), "items": items}
    ctx.commit()
    return out


@router.get("/analytics", summary="Top queries, zero-result and weak queries, feedback")
def analytics(
    days: int = Query(30, ge=1, le=366),
    limit: int = Query(20, ge=1, le=200),
    ctx: Ctx = Depends(require("knowledge.report")),
) -> dict[str, Any]:
    return services.search_analytics(ctx.scope, days=days, limit=limit)


# --- dictionary ------------------------------------------------------------------------------


@router.get("/dictionary", response_model=DictionaryOut, summary="Domain dictionary and synonyms")
def get_dictionary(ctx: Ctx = Depends(require("knowledge.edit"))) -> Any:
    settings = services.get_settings(ctx.scope)
    out = DictionaryOut.model_validate(settings).model_dump(mode="json")
    ctx.commit()
    return out


@router.put("/dictionary", response_model=DictionaryOut, summary="Replace dictionary/synonyms")
def put_dictionary(body: DictionaryIn, ctx: Ctx = Depends(require("knowledge.edit"))) -> Any:
    settings = services.set_dictionary(
        ctx.scope, words=body.words, synonyms=body.synonyms, bot_threshold=body.bot_threshold
    )
    out = DictionaryOut.model_validate(settings).model_dump(mode="json")
    ctx.commit()
    return out


# --- import / export -------------------------------------------------------------------------


@router.get("/export", summary="Export articles as CSV, XLSX or Markdown")
def export(
    format: Literal["csv", "xlsx", "md"] = "csv",
    status: Literal["draft", "in_review", "published", "archived"] | None = None,
    ctx: Ctx = Depends(require("knowledge.edit")),
) -> Response:
    query = ctx.scope.select(Article).order_by(Article.id)
    if status:
        query = query.where(Article.status == status)
    articles = list(ctx.session.scalars(query))
    data, media = transfer.export_articles(articles, services.module_paths(ctx.scope), format)
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="knowledge.{format}"'},
    )


@router.post("/import", response_model=ImportOut, summary="Import articles (row-by-row report)")
def import_articles(
    file: UploadFile = File(...),
    dry_run: bool = False,
    publish: bool = False,
    ctx: Ctx = Depends(require("knowledge.edit")),
) -> dict[str, Any]:
    if publish and not ctx.scope.principal.can("knowledge.review"):
        raise PermissionDeniedError(permission="knowledge.review")
    raw = file.file.read(transfer.MAX_IMPORT_BYTES + 1)
    report = transfer.import_articles(
        ctx.scope, raw, file.filename or "", dry_run=dry_run, publish=publish
    )
    if dry_run or report["failed"]:
        ctx.session.rollback()
        report["dry_run"] = True if dry_run else report["dry_run"]
    else:
        ctx.commit()
    return report


# --- modules ---------------------------------------------------------------------------------

router.include_router(
    crud_router(
        CrudSpec(
            "modules",
            "knowledge_module",
            KnowledgeModule,
            ModuleIn,
            ModulePatch,
            ModuleOut,
            "knowledge.read",
            "knowledge.edit",
            refs={"parent_id": KnowledgeModule, "owner_team_id": Team},
            topic="knowledge",
            tags=("knowledge",),
        )
    )
)


# --- tips ------------------------------------------------------------------------------------


@router.get("/articles/{article_id}/tips", response_model=list[TipOut], summary="Article tips")
def list_tips(article_id: int, ctx: Ctx = Depends(require("knowledge.read"))) -> list[Any]:
    _readable(ctx, article_id)
    query = ctx.scope.select(Tip).where(Tip.article_id == article_id)
    if not ctx.scope.principal.can("knowledge.review"):
        query = query.where(Tip.status == "published")
    return list(ctx.session.scalars(query.order_by(Tip.id)))


@router.post(
    "/articles/{article_id}/tips",
    status_code=201,
    response_model=TipOut,
    summary="Propose a best-practice tip or script",
)
def propose_tip(article_id: int, body: TipIn, ctx: Ctx = Depends(require("knowledge.read"))) -> Any:
    _readable(ctx, article_id)
    tip = services.propose_tip(ctx.scope, article_id, body.body, body.kind)
    out = TipOut.model_validate(tip).model_dump(mode="json")
    ctx.commit()
    return out


@router.get("/tips", response_model=list[TipOut], summary="Tips waiting for review")
def review_queue(
    status: Literal["proposed", "published", "rejected"] = "proposed",
    ctx: Ctx = Depends(require("knowledge.review")),
) -> list[Any]:
    return list(
        ctx.session.scalars(ctx.scope.select(Tip).where(Tip.status == status).order_by(Tip.id))
    )


@router.post("/tips/{tip_id}/review", response_model=TipOut, summary="Publish or reject a tip")
def review_tip(
    tip_id: int, body: TipReviewIn, ctx: Ctx = Depends(require("knowledge.review"))
) -> Any:
    tip = services.review_tip(ctx.scope, tip_id, body.publish, body.note)
    out = TipOut.model_validate(tip).model_dump(mode="json")
    ctx.commit()
    return out


# --- announcements ---------------------------------------------------------------------------


def _ann_out(row: Announcement, receipt: Any = None) -> dict[str, Any]:
    data = AnnouncementOut.model_validate(row).model_dump(mode="json")
    data["read_at"] = receipt.read_at.isoformat() if receipt and receipt.read_at else None
    data["acked_at"] = receipt.acked_at.isoformat() if receipt and receipt.acked_at else None
    data["must_acknowledge"] = row.importance in ann.MUST_ACK
    return data


@router.get("/announcements", response_model=list[AnnouncementOut], summary="Announcements for me")
def my_announcements(
    q: str = Query("", max_length=200),
    ctx: Ctx = Depends(require("knowledge.read")),
) -> list[Any]:
    if q.strip():
        reader = reader_of(ctx)
        rows = [r for r in ann.search_announcements(ctx.scope, q) if ann.in_audience(r, reader)]
        return [_ann_out(r) for r in rows]
    return [
        _ann_out(a, r)
        for a, r in ann.for_reader(
            ctx.scope,
            reader_of(ctx),
            any_audience=ctx.scope.principal.can("knowledge.announce"),
        )
    ]


@router.get(
    "/announcements/pending",
    response_model=list[AnnouncementOut],
    summary="Important announcements I must still acknowledge (the popup)",
)
def pending(ctx: Ctx = Depends(require("knowledge.read"))) -> list[Any]:
    return [_ann_out(a) for a in ann.pending_acks(ctx.scope, reader_of(ctx))]


@router.post(
    "/announcements",
    status_code=201,
    response_model=AnnouncementOut,
    summary="Publish an announcement",
)
def create_announcement(
    body: AnnouncementIn, ctx: Ctx = Depends(require("knowledge.announce"))
) -> Any:
    if body.audience_teams:
        for team_id in body.audience_teams:
            ctx.scope.check_refs({"audience_teams": team_id}, {"audience_teams": Team})
    row = ann.create_announcement(ctx.scope, **body.model_dump())
    out = _ann_out(row)
    ctx.commit()
    return out


@router.delete("/announcements/{announcement_id}", status_code=204, summary="Withdraw")
def withdraw(announcement_id: int, ctx: Ctx = Depends(require("knowledge.announce"))) -> Response:
    row = ctx.scope.get(Announcement, announcement_id, entity="knowledge_announcements")
    row.withdrawn = True
    ctx.scope.emit("knowledge.announcement.withdrawn", "knowledge", {"id": row.id})
    ctx.commit()
    return Response(status_code=204)


@router.post("/announcements/{announcement_id}/read", status_code=204, summary="Mark as read")
def read(announcement_id: int, ctx: Ctx = Depends(require("knowledge.read"))) -> Response:
    ann.mark_read(ctx.scope, announcement_id)
    ctx.commit()
    return Response(status_code=204)


@router.post("/announcements/{announcement_id}/ack", status_code=204, summary="Acknowledge")
def ack(announcement_id: int, ctx: Ctx = Depends(require("knowledge.read"))) -> Response:
    ann.acknowledge(ctx.scope, announcement_id)
    ctx.commit()
    return Response(status_code=204)


@router.get("/announcements/{announcement_id}/report", summary="Who has read and acknowledged it")
def report(
    announcement_id: int,
    team_id: int | None = None,
    ctx: Ctx = Depends(require("knowledge.report")),
) -> dict[str, Any]:
    people = ctx.scope.select(User).where(User.active.is_(True)).order_by(User.job_number)
    if team_id is not None:
        people = people.where(User.team_id == team_id)
    return ann.receipts_report(ctx.scope, announcement_id, list(ctx.session.scalars(people)))


# --- the question loop -----------------------------------------------------------------------


def _question_out(row: Question, ctx: Ctx) -> dict[str, Any]:
    data = QuestionOut.model_validate(row).model_dump(mode="json")
    data["overdue"] = qs.is_overdue(row, ctx.container.clock.now())
    return data


@router.post(
    "/questions", status_code=201, response_model=QuestionOut, summary="Ask the owning department"
)
def ask(body: QuestionIn, ctx: Ctx = Depends(require("knowledge.question"))) -> Any:
    if body.module_id is not None:
        ctx.scope.check_refs({"module_id": body.module_id}, {"module_id": KnowledgeModule})
    row = qs.submit_question(
        ctx.scope,
        tenant_calendar_of(ctx),
        body.text,
        module_id=body.module_id,
        context=body.context,
    )
    out = _question_out(row, ctx)
    ctx.commit()
    return out


@router.get("/questions", response_model=list[QuestionOut], summary="Questions")
def list_questions(
    status: Literal["open", "answered"] | None = None,
    mine: bool = False,
    ctx: Ctx = Depends(require("knowledge.read")),
) -> list[Any]:
    principal = ctx.scope.principal
    query = ctx.scope.select(Question).order_by(Question.due_at, Question.id)
    if mine or not principal.can("knowledge.answer"):
        query = query.where(Question.asker_id == principal.user_id)
    if status:
        query = query.where(Question.status == status)
    return [_question_out(r, ctx) for r in ctx.session.scalars(query.limit(500))]


@router.get("/questions/{question_id}", response_model=QuestionOut, summary="A question")
def get_question(question_id: int, ctx: Ctx = Depends(require("knowledge.read"))) -> Any:
    row = ctx.scope.get(Question, question_id, entity="knowledge_questions")
    principal = ctx.scope.principal
    if row.asker_id != principal.user_id and not principal.can("knowledge.answer"):
        raise NotFoundError(entity="knowledge_questions", id=question_id)
    return _question_out(row, ctx)


@router.post(
    "/questions/{question_id}/answer",
    response_model=QuestionOut,
    summary="Answer: publishes into the base and notifies the asker",
)
def answer(
    question_id: int, body: AnswerIn, ctx: Ctx = Depends(require("knowledge.answer"))
) -> Any:
    if body.publish is False and body.title is None:
        pass
    row = qs.answer_question(
        ctx.scope,
        question_id,
        body.answer,
        title=body.title,
        module_id=body.module_id,
        publish=body.publish,
    )
    out = _question_out(row, ctx)
    ctx.commit()
    return out


# --- FAQ bot ---------------------------------------------------------------------------------


@router.post("/bot/answer", response_model=BotOut, summary="FAQ bot: answer or hand off (转人工)")
def bot(body: BotIn, ctx: Ctx = Depends(require("knowledge.read"))) -> dict[str, Any]:
    result = services.bot_answer(
        ctx.scope, body.question, conversation=body.conversation, threshold=body.threshold
    )
    out = {
        "answered": result.answered,
        "handoff": result.handoff,
        "handoff_label": services.HANDOFF,
        "confidence": result.confidence,
        "threshold": result.threshold,
        "article_id": result.article.id if result.article else None,
        "title": result.article.title if result.article else "",
        "answer": result.answer,
        "reason": result.reason,
        "suggestions": [{"id": a.id, "title": a.title} for a in result.suggestions],
    }
    ctx.commit()
    return out


_ = (select, ValidationFailed)
