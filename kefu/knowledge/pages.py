"""Knowledge pages: search for agents, the editor (list, edit, review, versions, analytics,
dictionary), announcements with the read/acknowledged report, and the question loop."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from kefu.api.deps import Ctx
from kefu.core.i18n import translate
from kefu.knowledge import announcements as ann
from kefu.knowledge import services
from kefu.knowledge.api import reader_of
from kefu.knowledge.tables import (
    Announcement,
    AnnouncementReceipt,
    Article,
    ArticleVersion,
    Question,
    Tip,
)
from kefu.tenancy.tables import Team, User
from kefu.web.pages import _locale, page_ctx, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
LOCAL = ZoneInfo("Asia/Shanghai")

BOX_KEYS = ("copy", "copied", "helpful", "not_helpful", "thanks", "took")


def box_i18n(ctx: Ctx) -> str:
    """The strings the knowledge box's script shows, in the reader's language."""
    locale = _locale(ctx.request, ctx.principal.locale if ctx.principal else None)
    texts = {k: translate(f"kb.{k}", locale) for k in BOX_KEYS}
    texts["asked"] = translate("q.title", locale) + " #"
    return json.dumps(texts, ensure_ascii=False)


def _modules(ctx: Ctx) -> list[tuple[int, str]]:
    paths = services.module_paths(ctx.scope)
    return sorted(paths.items(), key=lambda kv: kv[1])


@router.get("/knowledge", response_class=HTMLResponse)
def search_page(q: str = "", ctx: Ctx = Depends(page_ctx("knowledge.read"))) -> Response:
    return render(
        ctx.request,
        "knowledge_search.html",
        ctx,
        q=q[:200],
        modules=_modules(ctx),
        box_i18n=box_i18n(ctx),
    )


@router.get("/knowledge/articles/{article_id}", response_class=HTMLResponse)
def article_page(article_id: int, ctx: Ctx = Depends(page_ctx("knowledge.read"))) -> Response:
    article = ctx.scope.get(Article, article_id, entity="knowledge_articles")
    if article.status != "published" and not ctx.scope.principal.can("knowledge.edit"):
        article = ctx.scope.get(Article, -1, entity="knowledge_articles")
    tips = list(
        ctx.session.scalars(
            ctx.scope.select(Tip)
            .where(Tip.article_id == article.id, Tip.status == "published")
            .order_by(Tip.id)
        )
    )
    return render(
        ctx.request,
        "knowledge_article.html",
        ctx,
        article=article,
        module=services.module_paths(ctx.scope).get(article.module_id or -1, ""),
        tips=tips,
    )


@router.get("/knowledge/editor", response_class=HTMLResponse)
def editor_list(
    status: str = "", q: str = "", ctx: Ctx = Depends(page_ctx("knowledge.edit"))
) -> Response:
    query = ctx.scope.select(Article).order_by(Article.updated_at.desc(), Article.id.desc())
    if status in ("draft", "in_review", "published", "archived"):
        query = query.where(Article.status == status)
    if q.strip():
        query = query.where(Article.title.contains(q.strip()[:100], autoescape=True))
    articles, total = ctx.scope.list(query, limit=200)
    tips = list(
        ctx.session.scalars(
            ctx.scope.select(Tip).where(Tip.status == "proposed").order_by(Tip.id).limit(50)
        )
    )
    settings = services.get_settings(ctx.scope)
    analytics = services.search_analytics(ctx.scope, days=30, limit=10)
    response = render(
        ctx.request,
        "knowledge_editor.html",
        ctx,
        articles=articles,
        total=total,
        status_filter=status,
        q=q,
        paths=services.module_paths(ctx.scope),
        modules=_modules(ctx),
        tips=tips,
        settings=settings,
        analytics=analytics,
    )
    ctx.commit()  # the settings row is created on first visit
    return response


@router.get("/knowledge/editor/{article_id}", response_class=HTMLResponse)
def editor_article(article_id: int, ctx: Ctx = Depends(page_ctx("knowledge.edit"))) -> Response:
    article = ctx.scope.get(Article, article_id, entity="knowledge_articles")
    versions = list(
        ctx.session.scalars(
            ctx.scope.select(ArticleVersion)
            .where(ArticleVersion.article_id == article.id)
            .order_by(ArticleVersion.version.desc())
        )
    )
    return render(
        ctx.request,
        "knowledge_edit.html",
        ctx,
        article=article,
        versions=versions,
        modules=_modules(ctx),
        checks=services.publish_checks(article, ctx.container.clock.now()),
        tz=LOCAL,
    )


@router.get("/knowledge/announcements", response_class=HTMLResponse)
def announcements_page(q: str = "", ctx: Ctx = Depends(page_ctx("knowledge.read"))) -> Response:
    reader = reader_of(ctx)
    found: list[tuple[Announcement, AnnouncementReceipt | None]]
    if q.strip():
        found = [
            (r, None) for r in ann.search_announcements(ctx.scope, q) if ann.in_audience(r, reader)
        ]
    else:
        found = ann.for_reader(
            ctx.scope, reader, any_audience=ctx.scope.principal.can("knowledge.announce")
        )
    return render(
        ctx.request,
        "knowledge_announcements.html",
        ctx,
        items=found,
        q=q,
        must_ack=ann.MUST_ACK,
    )


@router.get("/knowledge/announcements/{announcement_id}/report", response_class=HTMLResponse)
def report_page(announcement_id: int, ctx: Ctx = Depends(page_ctx("knowledge.report"))) -> Response:
    people = list(
        ctx.session.scalars(
            ctx.scope.select(User).where(User.active.is_(True)).order_by(User.job_number)
        )
    )
    if "team_leader" in ctx.scope.principal.roles and not ctx.scope.principal.can(
        "knowledge.review"
    ):
        me = ctx.scope.get(User, ctx.scope.principal.user_id)
        mine = {
            t.id for t in ctx.session.scalars(ctx.scope.select(Team).where(Team.leader_id == me.id))
        }
        people = [p for p in people if p.team_id in mine or p.id == me.id]
    report = ann.receipts_report(ctx.scope, announcement_id, people)
    return render(ctx.request, "knowledge_ack_report.html", ctx, report=report)


@router.get("/knowledge/questions", response_class=HTMLResponse)
def questions_page(ctx: Ctx = Depends(page_ctx("knowledge.read"))) -> Response:
    principal = ctx.scope.principal
    now = ctx.container.clock.now()
    mine = list(
        ctx.session.scalars(
            ctx.scope.select(Question)
            .where(Question.asker_id == principal.user_id)
            .order_by(Question.id.desc())
            .limit(100)
        )
    )
    inbox: list[Question] = []
    if principal.can("knowledge.answer"):
        query = ctx.scope.select(Question).where(Question.status == "open")
        me = ctx.scope.get(User, principal.user_id)
        if not (principal.can("knowledge.review") or principal.can("knowledge.report")):
            query = query.where(
                (Question.owner_team_id.is_(None)) | (Question.owner_team_id == me.team_id)
            )
        inbox = list(ctx.session.scalars(query.order_by(Question.due_at).limit(200)))
    askers = {
        u.id: u.display_name
        for u in ctx.session.scalars(
            ctx.scope.select(User).where(User.id.in_({q.asker_id for q in inbox if q.asker_id}))
        )
    }
    return render(
        ctx.request,
        "knowledge_questions.html",
        ctx,
        mine=mine,
        inbox=inbox,
        askers=askers,
        now=now,
        modules=_modules(ctx),
        paths=services.module_paths(ctx.scope),
        tz=LOCAL,
    )
