"""Knowledge-base tables: articles and their versions, modules, search settings and vectors,
announcements with receipts, the question loop, tips, feedback, search and bot logs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.base import Base, BigId, JsonData, TenantOwned, utc_column

__all__ = [
    "Announcement",
    "AnnouncementReceipt",
    "Article",
    "ArticleVersion",
    "BotLog",
    "Feedback",
    "KnowledgeModule",
    "KnowledgeSettings",
    "KnowledgeVector",
    "Question",
    "SearchLog",
    "Tip",
]

ARTICLE_STATUSES = ("draft", "in_review", "published", "archived")


class KnowledgeModule(TenantOwned, Base):
    """A node of the business module tree (资费套餐 > 流量包); owns questions through a team."""

    __tablename__ = "knowledge_modules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    parent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("knowledge_modules.id", ondelete="SET NULL"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(120))
    owner_team_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("teams.id", ondelete="SET NULL"), nullable=True
    )
    sort: Mapped[int] = mapped_column(Integer, default=0)


class Article(TenantOwned, Base):
    """One FAQ: a standard question (title), extended questions and the customer-facing answer."""

    __tablename__ = "knowledge_articles"
    __table_args__ = (Index("ix_knowledge_articles_tenant_seq", "tenant_id", "index_seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    module_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("knowledge_modules.id", ondelete="SET NULL"), nullable=True
    )
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    internal_notes: Mapped[str] = mapped_column(Text, default="")
    questions: Mapped[list[str]] = mapped_column(JsonData, default=list)
    tags: Mapped[list[str]] = mapped_column(JsonData, default=list)
    synonyms: Mapped[list[str]] = mapped_column(JsonData, default=list)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JsonData, default=list)
    audience_roles: Mapped[list[str]] = mapped_column(JsonData, default=list)
    audience_sites: Mapped[list[int]] = mapped_column(JsonData, default=list)
    valid_from: Mapped[datetime | None] = utc_column(nullable=True)
    valid_until: Mapped[datetime | None] = utc_column(nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    index_seq: Mapped[int] = mapped_column(BigId, default=0)
    review_note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(40), default="editor")
    created_by: Mapped[int | None] = mapped_column(BigId, nullable=True)
    updated_by: Mapped[int | None] = mapped_column(BigId, nullable=True)
    reviewed_by: Mapped[int | None] = mapped_column(BigId, nullable=True)
    created_at: Mapped[datetime] = utc_column()
    updated_at: Mapped[datetime] = utc_column()
    published_at: Mapped[datetime | None] = utc_column(nullable=True)
    helpful: Mapped[int] = mapped_column(Integer, default=0)
    not_helpful: Mapped[int] = mapped_column(Integer, default=0)


class ArticleVersion(TenantOwned, Base):
    __tablename__ = "knowledge_article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("knowledge_articles.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)
    author_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = utc_column()


class KnowledgeSettings(TenantOwned, Base):
    """Per tenant: the domain dictionary, synonyms, bot threshold and the index revision."""

    __tablename__ = "knowledge_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    words: Mapped[list[str]] = mapped_column(JsonData, default=list)
    synonyms: Mapped[list[list[str]]] = mapped_column(JsonData, default=list)
    bot_threshold: Mapped[float] = mapped_column(Float, default=0.6)
    revision: Mapped[int] = mapped_column(BigId, default=0)  # bumped by every article change
    dictionary_revision: Mapped[int] = mapped_column(Integer, default=0)


class KnowledgeVector(TenantOwned, Base):
    """Persisted embeddings by content key, so a restart reads vectors instead of encoding."""

    __tablename__ = "knowledge_vectors"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(40))
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class Announcement(TenantOwned, Base):
    __tablename__ = "knowledge_announcements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    importance: Mapped[str] = mapped_column(String(20), default="normal")  # normal/important/urgent
    audience_roles: Mapped[list[str]] = mapped_column(JsonData, default=list)
    audience_sites: Mapped[list[int]] = mapped_column(JsonData, default=list)
    audience_teams: Mapped[list[int]] = mapped_column(JsonData, default=list)
    valid_from: Mapped[datetime | None] = utc_column(nullable=True)
    valid_until: Mapped[datetime | None] = utc_column(nullable=True)
    created_by: Mapped[int | None] = mapped_column(BigId, nullable=True)
    created_at: Mapped[datetime] = utc_column()
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)


class AnnouncementReceipt(TenantOwned, Base):
    __tablename__ = "knowledge_announcement_receipts"
    __table_args__ = (UniqueConstraint("announcement_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    announcement_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("knowledge_announcements.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    read_at: Mapped[datetime | None] = utc_column(nullable=True)
    acked_at: Mapped[datetime | None] = utc_column(nullable=True)


class Question(TenantOwned, Base):
    """A front-line question to the owning department, due in 24 business hours."""

    __tablename__ = "knowledge_questions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    asker_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    module_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("knowledge_modules.id", ondelete="SET NULL"), nullable=True
    )
    owner_team_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("teams.id", ondelete="SET NULL"), nullable=True
    )
    text: Mapped[str] = mapped_column(Text)
    context: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open/answered
    due_at: Mapped[datetime] = utc_column()
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[datetime | None] = utc_column(nullable=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[int | None] = mapped_column(BigId, nullable=True)
    answered_at: Mapped[datetime | None] = utc_column(nullable=True)
    article_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("knowledge_articles.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = utc_column()


class Tip(TenantOwned, Base):
    """Best practice from experienced agents (a tip or a script), attached to an article."""

    __tablename__ = "knowledge_tips"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("knowledge_articles.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20), default="tip")  # tip / script
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    status: Mapped[str] = mapped_column(
        String(20), default="proposed"
    )  # proposed/published/rejected
    reviewed_by: Mapped[int | None] = mapped_column(BigId, nullable=True)
    review_note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = utc_column()
    reviewed_at: Mapped[datetime | None] = utc_column(nullable=True)


class Feedback(TenantOwned, Base):
    __tablename__ = "knowledge_feedback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("knowledge_articles.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    query: Mapped[str] = mapped_column(String(200), default="")
    comment: Mapped[str] = mapped_column(String(500), default="")
    at: Mapped[datetime] = utc_column()


class SearchLog(TenantOwned, Base):
    __tablename__ = "knowledge_search_log"
    __table_args__ = (Index("ix_knowledge_search_log_tenant_at", "tenant_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    channel: Mapped[str] = mapped_column(String(20), default="desktop")
    query: Mapped[str] = mapped_column(String(200))
    results: Mapped[int] = mapped_column(Integer, default=0)
    top_article_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    took_ms: Mapped[float] = mapped_column(Float, default=0.0)
    at: Mapped[datetime] = utc_column()


class BotLog(TenantOwned, Base):
    """Every FAQ-bot turn: answered from the base, or handed to a person (转人工)."""

    __tablename__ = "knowledge_bot_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation: Mapped[str] = mapped_column(String(80), default="")
    question: Mapped[str] = mapped_column(String(500))
    article_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    handoff: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(40), default="")
    at: Mapped[datetime] = utc_column()
