"""Knowledge-base services: articles (review, versions, rollback), modules, dictionary, search,
feedback and analytics, best-practice tips, and the FAQ bot. Each takes a ``Scoped``."""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from kefu.core.errors import ConflictError, DomainError, FieldError, ValidationFailed
from kefu.knowledge.index import tenant_index
from kefu.knowledge.search import MAX_QUERY_CHARS, SearchFilters, SearchHit, normalize
from kefu.knowledge.tables import (
    Article,
    ArticleVersion,
    BotLog,
    Feedback,
    KnowledgeModule,
    KnowledgeSettings,
    SearchLog,
    Tip,
)
from kefu.tenancy import Scoped

__all__ = [
    "HANDOFF",
    "ArticleData",
    "BotAnswer",
    "SearchResult",
    "approve",
    "archive",
    "bot_answer",
    "create_article",
    "create_module",
    "diff_versions",
    "get_settings",
    "module_descendants",
    "module_paths",
    "propose_tip",
    "publish_checks",
    "record_feedback",
    "reject",
    "restore",
    "review_tip",
    "rollback",
    "search",
    "search_analytics",
    "set_dictionary",
    "submit",
    "update_article",
]

HANDOFF = "转人工"
TOPIC = "knowledge"
CONTENT_FIELDS = (
    "title",
    "body",
    "internal_notes",
    "module_id",
    "questions",
    "tags",
    "synonyms",
    "attachments",
    "audience_roles",
    "audience_sites",
    "valid_from",
    "valid_until",
)
MAX_QUESTIONS = 200


class EditConflict(ConflictError):
    code = "edit_conflict"


class NotPublishable(ValidationFailed):
    code = "not_publishable"


class BadTransition(ConflictError):
    code = "bad_transition"


# --- settings, dictionary, modules -----------------------------------------------------------


def get_settings(scope: Scoped, *, lock: bool = False) -> KnowledgeSettings:
    """The tenant's settings row (created on first use); ``lock`` takes the row lock once per
    transaction, which orders concurrent article changes on PostgreSQL."""
    transaction = scope.session.get_transaction()
    held = scope.session.info.get("knowledge_settings")
    if held is not None and held[0] is transaction and held[1].tenant_id == scope.tenant_id:
        return held[1]  # type: ignore[no-any-return]
    query = scope.select(KnowledgeSettings)
    if lock:
        query = query.with_for_update()
    row: KnowledgeSettings | None = scope.session.scalar(query)
    if row is None:
        row = scope.add(
            KnowledgeSettings(
                words=[], synonyms=[], bot_threshold=0.6, revision=0, dictionary_revision=0
            )
        )
    if lock and transaction is not None:
        scope.session.info["knowledge_settings"] = (transaction, row)
    return row


def _bump(scope: Scoped, article: Article) -> None:
    """Mark the article for the search index (every process re-reads changed articles)."""
    settings = get_settings(scope, lock=True)
    settings.revision = int(settings.revision or 0) + 1
    article.index_seq = settings.revision


def set_dictionary(
    scope: Scoped,
    *,
    words: Sequence[str] | None = None,
    synonyms: Sequence[Sequence[str]] | None = None,
    bot_threshold: float | None = None,
) -> KnowledgeSettings:
    settings = get_settings(scope, lock=True)
    if words is not None:
        settings.words = sorted({w.strip() for w in words if w.strip()})
    if synonyms is not None:
        groups = [[w.strip() for w in g if w.strip()] for g in synonyms]
        settings.synonyms = [g for g in groups if len(g) >= 2]
    if bot_threshold is not None:
        settings.bot_threshold = float(bot_threshold)
    if words is not None or synonyms is not None:
        settings.dictionary_revision = int(settings.dictionary_revision or 0) + 1
        settings.revision = int(settings.revision or 0) + 1
    scope.emit("knowledge.dictionary.changed", TOPIC, {"words": len(settings.words)})
    return settings


def create_module(
    scope: Scoped, name: str, parent_id: int | None = None, owner_team_id: int | None = None
) -> KnowledgeModule:
    """A module node; the caller checks that ``owner_team_id`` is a team of this tenant."""
    scope.check_refs({"parent_id": parent_id}, {"parent_id": KnowledgeModule})
    module = scope.add(KnowledgeModule(name=name, parent_id=parent_id, owner_team_id=owner_team_id))
    scope.emit("knowledge.module.created", TOPIC, {"id": module.id, "name": name})
    return module


def module_paths(scope: Scoped) -> dict[int, str]:
    """Every module's full path, e.g. {7: "资费套餐 > 流量包"}."""
    rows = {m.id: m for m in scope.session.scalars(scope.select(KnowledgeModule))}
    out: dict[int, str] = {}
    for mid in rows:
        parts, cursor, seen = [], rows.get(mid), set()
        while cursor is not None and cursor.id not in seen:
            seen.add(cursor.id)
            parts.append(cursor.name)
            cursor = rows.get(cursor.parent_id) if cursor.parent_id else None
        out[mid] = " > ".join(reversed(parts))
    return out


def module_descendants(scope: Scoped, module_id: int) -> frozenset[int]:
    rows = list(
        scope.session.execute(
            scope.select(KnowledgeModule).with_only_columns(
                KnowledgeModule.id, KnowledgeModule.parent_id
            )
        )
    )
    children: dict[int | None, list[int]] = {}
    for mid, parent in rows:
        children.setdefault(parent, []).append(mid)
    out, stack = {module_id}, [module_id]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in out:
                out.add(child)
                stack.append(child)
    return frozenset(out)


def module_by_path(scope: Scoped, path: str, *, create: bool = False) -> KnowledgeModule | None:
    """The module "资费套餐 > 流量包" (or "资费套餐/流量包"); created on import when asked."""
    parts = [p.strip() for p in path.replace("/", ">").split(">") if p.strip()]
    parent: KnowledgeModule | None = None
    for part in parts:
        query = scope.select(KnowledgeModule).where(KnowledgeModule.name == part)
        query = query.where(
            KnowledgeModule.parent_id == parent.id
            if parent
            else KnowledgeModule.parent_id.is_(None)
        )
        found = scope.session.scalar(query.order_by(KnowledgeModule.id).limit(1))
        if found is None:
            if not create:
                return None
            found = create_module(scope, part, parent.id if parent else None)
        parent = found
    return parent


# --- articles --------------------------------------------------------------------------------


@dataclass
class ArticleData:
    """Content fields of an article as given by an editor (unset fields = None)."""

    title: str | None = None
    body: str | None = None
    internal_notes: str | None = None
    module_id: int | None = None
    questions: list[str] | None = None
    tags: list[str] | None = None
    synonyms: list[str] | None = None
    attachments: list[dict[str, Any]] | None = None
    audience_roles: list[str] | None = None
    audience_sites: list[int] | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None


def _clean_list(values: Iterable[str] | None) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for value in values or []:
        text = " ".join(str(value).split())
        key = normalize(text)
        if text and key not in seen:
            seen.add(key)
            out.append(text)
    return out


def snapshot(article: Article) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in CONTENT_FIELDS:
        value = getattr(article, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _record_version(scope: Scoped, article: Article, note: str) -> ArticleVersion:
    return scope.add(
        ArticleVersion(
            article_id=article.id,
            version=article.version,
            status=article.status,
            snapshot=snapshot(article),
            author_id=scope.principal.user_id,
            note=note[:300],
            created_at=scope.clock.now(),
        )
    )


def _apply(scope: Scoped, article: Article, values: dict[str, Any]) -> None:
    if "module_id" in values:
        scope.check_refs(values, {"module_id": KnowledgeModule})
    for name in ("questions", "tags", "synonyms"):
        if name in values:
            values[name] = _clean_list(values[name])
    if len(values.get("questions") or []) > MAX_QUESTIONS:
        raise ValidationFailed(
            errors=[FieldError("questions", "error.field.too_many", max=MAX_QUESTIONS)]
        )
    for name, value in values.items():
        if name in ("title",) and value is not None:
            value = " ".join(str(value).split())
        setattr(article, name, value)
    start, end = article.valid_from, article.valid_until
    if start is not None and end is not None and end <= start:
        raise ValidationFailed(errors=[FieldError("valid_until", "error.knowledge.window")])


def publish_checks(article: Article, now: datetime) -> list[FieldError]:
    """Why ``article`` cannot be published (empty: it can)."""
    errors = []
    if not (article.title or "").strip():
        errors.append(FieldError("title", "error.knowledge.missing"))
    if not (article.body or "").strip():
        errors.append(FieldError("body", "error.knowledge.missing"))
    if article.module_id is None:
        errors.append(FieldError("module_id", "error.knowledge.missing"))
    if article.valid_until is not None and article.valid_until <= now:
        errors.append(
            FieldError(
                "valid_until", "error.knowledge.expired", value=article.valid_until.isoformat()
            )
        )
    return errors


def _ensure_publishable(scope: Scoped, article: Article) -> None:
    errors = publish_checks(article, scope.clock.now())
    if errors:
        raise NotPublishable(errors=errors, title=article.title)


def create_article(
    scope: Scoped,
    data: ArticleData,
    *,
    status: str = "draft",
    source: str = "editor",
    note: str = "",
) -> Article:
    now = scope.clock.now()
    if not (data.title or "").strip():
        raise ValidationFailed(errors=[FieldError("title", "error.knowledge.missing")])
    article = Article(
        title="",
        body="",
        internal_notes="",
        questions=[],
        tags=[],
        synonyms=[],
        attachments=[],
        audience_roles=[],
        audience_sites=[],
        status="draft",
        version=1,
        source=source,
        review_note="",
        created_by=scope.principal.user_id,
        updated_by=scope.principal.user_id,
        created_at=now,
        updated_at=now,
        helpful=0,
        not_helpful=0,
    )
    values = {k: v for k, v in vars(data).items() if v is not None}
    _apply(scope, article, values)
    if status == "published":
        _ensure_publishable(scope, article)
        article.status = "published"
        article.published_at = now
        article.reviewed_by = scope.principal.user_id
    elif status == "in_review":
        article.status = "in_review"
    scope.add(article)
    _bump(scope, article)
    _record_version(scope, article, note or "created")
    scope.emit(
        "knowledge.article.created",
        TOPIC,
        {"id": article.id, "title": article.title, "status": article.status},
    )
    return article


def update_article(
    scope: Scoped, article_id: int, expected_version: int, changes: dict[str, Any], note: str = ""
) -> Article:
    """Change content; ``expected_version`` must be the version the editor started from (409)."""
    article = scope.get(Article, article_id, entity="knowledge_articles")
    if article.version != expected_version:
        raise EditConflict(current=article.version, sent=expected_version)
    if article.status == "archived":
        raise BadTransition(state=article.status, action="edit")
    if "title" in changes and not (changes["title"] or "").strip():
        raise ValidationFailed(errors=[FieldError("title", "error.knowledge.missing")])
    _apply(scope, article, dict(changes))
    if article.status == "published":
        _ensure_publishable(scope, article)
    article.version += 1
    article.updated_at = scope.clock.now()
    article.updated_by = scope.principal.user_id
    _bump(scope, article)
    _record_version(scope, article, note or "edited")
    scope.session.flush()
    scope.emit(
        "knowledge.article.updated",
        TOPIC,
        {"id": article.id, "version": article.version, "fields": sorted(changes)},
    )
    return article


def _transition(
    scope: Scoped, article_id: int, allowed: tuple[str, ...], target: str, event: str, note: str
) -> Article:
    article = scope.get(Article, article_id, entity="knowledge_articles")
    if article.status not in allowed:
        raise BadTransition(state=article.status, action=target)
    if target == "published":
        _ensure_publishable(scope, article)
        article.published_at = scope.clock.now()
        article.reviewed_by = scope.principal.user_id
    article.status = target
    article.review_note = note[:1000]
    article.version += 1
    article.updated_at = scope.clock.now()
    article.updated_by = scope.principal.user_id
    _bump(scope, article)
    _record_version(scope, article, note or target)
    scope.emit(event, TOPIC, {"id": article.id, "status": target, "title": article.title})
    return article


def submit(scope: Scoped, article_id: int, note: str = "") -> Article:
    return _transition(
        scope, article_id, ("draft",), "in_review", "knowledge.article.submitted", note
    )


def approve(scope: Scoped, article_id: int, note: str = "") -> Article:
    """A kb_editor publishes an article under review (or a draft directly)."""
    return _transition(
        scope, article_id, ("in_review", "draft"), "published", "knowledge.article.published", note
    )


def reject(scope: Scoped, article_id: int, note: str = "") -> Article:
    return _transition(
        scope, article_id, ("in_review",), "draft", "knowledge.article.rejected", note
    )


def archive(scope: Scoped, article_id: int, note: str = "") -> Article:
    return _transition(
        scope,
        article_id,
        ("published", "draft", "in_review"),
        "archived",
        "knowledge.article.archived",
        note,
    )


def restore(scope: Scoped, article_id: int, note: str = "") -> Article:
    return _transition(
        scope, article_id, ("archived",), "draft", "knowledge.article.restored", note
    )


def _version(scope: Scoped, article_id: int, version: int) -> ArticleVersion:
    row: ArticleVersion | None = scope.session.scalar(
        scope.select(ArticleVersion).where(
            ArticleVersion.article_id == article_id, ArticleVersion.version == version
        )
    )
    if row is None:
        raise DomainError("not_found", status=404, entity="knowledge_article_versions", id=version)
    return row


def _as_text(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return ("" if value is None else str(value)).splitlines() or [""]


def diff_versions(scope: Scoped, article_id: int, old: int, new: int) -> list[dict[str, Any]]:
    """Field-by-field unified diff between two versions (only fields that differ)."""
    scope.get(Article, article_id, entity="knowledge_articles")
    a, b = _version(scope, article_id, old).snapshot, _version(scope, article_id, new).snapshot
    out = []
    for name in CONTENT_FIELDS:
        if a.get(name) == b.get(name):
            continue
        lines = difflib.unified_diff(
            _as_text(a.get(name)), _as_text(b.get(name)), f"v{old}", f"v{new}", lineterm="", n=2
        )
        out.append(
            {"field": name, "old": a.get(name), "new": b.get(name), "diff": "\n".join(lines)}
        )
    return out


def rollback(scope: Scoped, article_id: int, to_version: int, expected_version: int) -> Article:
    """Restore an older version's content as a new version (history is never rewritten)."""
    old = _version(scope, article_id, to_version).snapshot
    changes: dict[str, Any] = {}
    for name in CONTENT_FIELDS:
        value = old.get(name)
        if name in ("valid_from", "valid_until") and isinstance(value, str):
            value = datetime.fromisoformat(value)
        changes[name] = value
    return update_article(
        scope, article_id, expected_version, changes, note=f"rollback to v{to_version}"
    )


# --- search, feedback, analytics -----------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit]
    articles: dict[int, Article]
    took_ms: float
    query: str


def search(
    scope: Scoped,
    query: str,
    *,
    limit: int = 10,
    module_id: int | None = None,
    channel: str = "desktop",
    log: bool = True,
    include_expired: bool = False,
    site_id: int | None = None,
) -> SearchResult:
    """Published articles for ``query``, best first, filtered to what the reader may see."""
    started = time.perf_counter()
    text = (query or "").strip()[: MAX_QUERY_CHARS * 5]
    index = tenant_index(scope.session, scope.tenant_id)
    filters = SearchFilters(
        modules=module_descendants(scope, module_id) if module_id is not None else None,
        at=None if include_expired else scope.clock.now(),
        roles=frozenset(str(r) for r in scope.principal.roles),
        site_id=site_id,
    )
    hits = index.search(text, limit=limit, filters=filters) if text else []
    articles = {}
    if hits:
        rows = scope.session.scalars(
            scope.select(Article).where(Article.id.in_([h.id for h in hits]))
        )
        articles = {a.id: a for a in rows}
        hits = [h for h in hits if h.id in articles and articles[h.id].status == "published"]
    took = (time.perf_counter() - started) * 1000
    if log and text:
        scope.add(
            SearchLog(
                user_id=scope.principal.user_id,
                channel=channel[:20],
                query=normalize(text)[:200],
                results=len(hits),
                top_article_id=hits[0].id if hits else None,
                confidence=hits[0].confidence if hits else 0.0,
                took_ms=round(took, 2),
                at=scope.clock.now(),
            )
        )
    return SearchResult(hits, articles, took, text)


def record_feedback(
    scope: Scoped, article_id: int, helpful: bool, query: str = "", comment: str = ""
) -> Feedback:
    article = scope.get(Article, article_id, entity="knowledge_articles")
    row = scope.add(
        Feedback(
            article_id=article.id,
            user_id=scope.principal.user_id,
            helpful=helpful,
            query=normalize(query)[:200],
            comment=comment[:500],
            at=scope.clock.now(),
        )
    )
    if helpful:
        article.helpful = (article.helpful or 0) + 1
    else:
        article.not_helpful = (article.not_helpful or 0) + 1
    scope.emit("knowledge.feedback", TOPIC, {"article_id": article.id, "helpful": helpful})
    return row


def search_analytics(
    scope: Scoped, days: int = 30, limit: int = 20, low_confidence: float = 0.35
) -> dict[str, Any]:
    """Top queries, queries with no result, and queries whose best answer was weak (the gaps)."""
    since = scope.clock.now() - timedelta(days=days)
    base = scope.select(SearchLog).where(SearchLog.at >= since).subquery()

    def grouped(condition: Any) -> list[dict[str, Any]]:
        q = (
            select(base.c.query, func.count().label("n"), func.max(base.c.at).label("last"))
            .where(condition)
            .group_by(base.c.query)
            .order_by(func.count().desc(), base.c.query)
            .limit(limit)
        )
        return [
            {"query": row.query, "count": int(row.n), "last": row.last}
            for row in scope.session.execute(q)
        ]

    total = int(scope.session.scalar(select(func.count()).select_from(base)) or 0)
    zero = int(
        scope.session.scalar(select(func.count()).select_from(base).where(base.c.results == 0)) or 0
    )
    helpful = scope.session.execute(
        select(Feedback.helpful, func.count())
        .where(Feedback.tenant_id == scope.tenant_id, Feedback.at >= since)
        .group_by(Feedback.helpful)
    ).all()
    votes = {bool(h): int(n) for h, n in helpful}
    return {
        "days": days,
        "searches": total,
        "zero_result_searches": zero,
        "top_queries": grouped(base.c.results >= 0),
        "zero_result_queries": grouped(base.c.results == 0),
        "low_confidence_queries": grouped(
            (base.c.results > 0) & (base.c.confidence < low_confidence)
        ),
        "helpful": votes.get(True, 0),
        "not_helpful": votes.get(False, 0),
    }


# --- best practice -------------------------------------------------------------------------


def propose_tip(scope: Scoped, article_id: int, body: str, kind: str = "tip") -> Tip:
    article = scope.get(Article, article_id, entity="knowledge_articles")
    if not body.strip():
        raise ValidationFailed(errors=[FieldError("body", "error.knowledge.missing")])
    tip = scope.add(
        Tip(
            article_id=article.id,
            kind=kind,
            body=body.strip(),
            author_id=scope.principal.user_id,
            status="proposed",
            review_note="",
            created_at=scope.clock.now(),
        )
    )
    scope.emit("knowledge.tip.proposed", TOPIC, {"id": tip.id, "article_id": article.id})
    return tip


def review_tip(scope: Scoped, tip_id: int, publish: bool, note: str = "") -> Tip:
    tip = scope.get(Tip, tip_id, entity="knowledge_tips")
    if tip.status != "proposed":
        raise BadTransition(state=tip.status, action="review")
    tip.status = "published" if publish else "rejected"
    tip.reviewed_by = scope.principal.user_id
    tip.reviewed_at = scope.clock.now()
    tip.review_note = note[:300]
    scope.emit(
        "knowledge.tip.reviewed",
        TOPIC,
        {"id": tip.id, "status": tip.status, "author": tip.author_id},
    )
    return tip


# --- FAQ bot -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BotAnswer:
    answered: bool
    handoff: bool
    confidence: float
    threshold: float
    article: Article | None
    answer: str
    suggestions: list[Article]
    reason: str


def bot_answer(
    scope: Scoped,
    question: str,
    *,
    conversation: str = "",
    threshold: float | None = None,
) -> BotAnswer:
    """Answer from the base when the best match is confident enough; otherwise hand off.

    The customer can always ask for a person: the text 转人工 (or 人工) hands off at once.
    """
    text = (question or "").strip()
    settings = get_settings(scope)
    limit = float(settings.bot_threshold if threshold is None else threshold)
    wants_person = any(w in text for w in (HANDOFF, "人工客服", "人工服务")) or text in ("人工",)
    result = None
    if text and not wants_person:
        result = search(scope, text, limit=3, channel="bot")
    best = result.hits[0] if result and result.hits else None
    article = result.articles.get(best.id) if result and best else None
    confident = best is not None and best.confidence >= limit
    reason = (
        "customer_asked"
        if wants_person
        else "empty"
        if not text
        else "no_match"
        if best is None
        else "answered"
        if confident
        else "low_confidence"
    )
    answered = bool(confident and article is not None)
    scope.add(
        BotLog(
            conversation=conversation[:80],
            question=text[:500],
            article_id=article.id if article else None,
            confidence=best.confidence if best else 0.0,
            answered=answered,
            handoff=not answered,
            reason=reason,
            at=scope.clock.now(),
        )
    )
    suggestions = [result.articles[h.id] for h in result.hits[1:3]] if result else []
    return BotAnswer(
        answered=answered,
        handoff=not answered,
        confidence=best.confidence if best else 0.0,
        threshold=limit,
        article=article if answered else None,
        answer=article.body if answered and article else "",
        suggestions=suggestions if answered else ([article] if article else []) + suggestions,
        reason=reason,
    )
