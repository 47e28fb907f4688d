"""API schemas of the knowledge base, announcements, questions, tips and the FAQ bot."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from kefu.api.schemas import Input, Output

Title = Field(min_length=1, max_length=300)
ShortText = Field(max_length=200)
Roles = list[
    Literal[
        "agent",
        "team_leader",
        "duty_manager",
        "qa",
        "backoffice",
        "kb_editor",
        "wfm_planner",
        "admin",
        "client_viewer",
    ]
]


class Attachment(Input):
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=1000, pattern=r"^(/|https?://)")


class ArticleIn(Input):
    title: str = Title
    body: str = Field(default="", max_length=20000)
    internal_notes: str = Field(default="", max_length=20000)
    module_id: int | None = None
    questions: list[str] = Field(default_factory=list, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=50)
    synonyms: list[str] = Field(default_factory=list, max_length=100)
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)
    audience_roles: Roles = Field(default_factory=list)
    audience_sites: list[int] = Field(default_factory=list, max_length=100)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    status: Literal["draft", "in_review", "published"] = "draft"


class ArticlePatch(Input):
    version: int = Field(ge=1, description="The version being edited; a newer one answers 409")
    title: str | None = Field(default=None, min_length=1, max_length=300)
    body: str | None = Field(default=None, max_length=20000)
    internal_notes: str | None = Field(default=None, max_length=20000)
    module_id: int | None = None
    questions: list[str] | None = Field(default=None, max_length=200)
    tags: list[str] | None = Field(default=None, max_length=50)
    synonyms: list[str] | None = Field(default=None, max_length=100)
    attachments: list[Attachment] | None = Field(default=None, max_length=20)
    audience_roles: Roles | None = None
    audience_sites: list[int] | None = Field(default=None, max_length=100)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    note: str = Field(default="", max_length=300)


class ArticleOut(Output):
    id: int
    title: str
    body: str
    internal_notes: str
    module_id: int | None
    module: str = ""
    questions: list[str]
    tags: list[str]
    synonyms: list[str]
    attachments: list[dict[str, Any]]
    audience_roles: list[str]
    audience_sites: list[int]
    valid_from: datetime | None
    valid_until: datetime | None
    status: str
    version: int
    review_note: str
    source: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    helpful: int
    not_helpful: int


class ArticleBrief(Output):
    id: int
    title: str
    module_id: int | None
    module: str = ""
    status: str
    version: int
    updated_at: datetime
    valid_until: datetime | None


class ReviewIn(Input):
    note: str = Field(default="", max_length=1000)


class RollbackIn(Input):
    version: int = Field(ge=1, description="Current version (optimistic check)")
    to_version: int = Field(ge=1)


class VersionOut(Output):
    version: int
    status: str
    author_id: int | None
    note: str
    created_at: datetime
    snapshot: dict[str, Any]


class SearchHitOut(Output):
    id: int
    title: str
    snippet: str = Field(description="HTML: escaped text with <mark> around matched words")
    score: float
    confidence: float
    matched: str
    field: str
    module: str
    body: str
    valid_until: datetime | None


class SearchOut(Output):
    query: str
    took_ms: float
    items: list[SearchHitOut]


class FeedbackIn(Input):
    helpful: bool
    query: str = Field(default="", max_length=500)
    comment: str = Field(default="", max_length=500)


class ModuleIn(Input):
    name: str = Field(min_length=1, max_length=120)
    parent_id: int | None = None
    owner_team_id: int | None = None
    sort: int = 0


class ModulePatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    parent_id: int | None = None
    owner_team_id: int | None = None
    sort: int | None = None


class ModuleOut(Output):
    id: int
    name: str
    parent_id: int | None
    owner_team_id: int | None
    sort: int


class DictionaryIn(Input):
    words: list[str] | None = Field(default=None, max_length=5000)
    synonyms: list[list[str]] | None = Field(default=None, max_length=2000)
    bot_threshold: float | None = Field(default=None, ge=0.0, le=1.0)


class DictionaryOut(Output):
    words: list[str]
    synonyms: list[list[str]]
    bot_threshold: float
    dictionary_revision: int


class AnnouncementIn(Input):
    title: str = Title
    body: str = Field(default="", max_length=20000)
    importance: Literal["normal", "important", "urgent"] = "normal"
    audience_roles: Roles = Field(default_factory=list)
    audience_sites: list[int] = Field(default_factory=list, max_length=100)
    audience_teams: list[int] = Field(default_factory=list, max_length=200)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None


class AnnouncementOut(Output):
    id: int
    title: str
    body: str
    importance: str
    audience_roles: list[str]
    audience_sites: list[int]
    audience_teams: list[int]
    valid_from: datetime | None
    valid_until: datetime | None
    created_at: datetime
    read_at: datetime | None = None
    acked_at: datetime | None = None
    must_acknowledge: bool = False


class QuestionIn(Input):
    text: str = Field(min_length=1, max_length=2000)
    module_id: int | None = None
    context: str = Field(default="", max_length=4000)


class AnswerIn(Input):
    answer: str = Field(min_length=1, max_length=20000)
    title: str | None = Field(default=None, min_length=1, max_length=300)
    module_id: int | None = None
    publish: bool = True


class QuestionOut(Output):
    id: int
    asker_id: int | None
    module_id: int | None
    owner_team_id: int | None
    text: str
    context: str
    status: str
    due_at: datetime
    escalation_level: int
    answer: str
    answered_at: datetime | None
    article_id: int | None
    created_at: datetime
    overdue: bool = False


class TipIn(Input):
    body: str = Field(min_length=1, max_length=5000)
    kind: Literal["tip", "script"] = "tip"


class TipReviewIn(Input):
    publish: bool
    note: str = Field(default="", max_length=300)


class TipOut(Output):
    id: int
    article_id: int
    kind: str
    body: str
    author_id: int | None
    status: str
    review_note: str
    created_at: datetime


class BotIn(Input):
    question: str = Field(min_length=0, max_length=2000)
    conversation: str = Field(default="", max_length=80)
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)


class BotOut(Output):
    answered: bool
    handoff: bool
    handoff_label: str = "转人工"
    confidence: float
    threshold: float
    article_id: int | None
    title: str
    answer: str
    reason: str
    suggestions: list[dict[str, Any]]


class ImportRow(Output):
    row: int
    ok: bool
    id: int | None = None
    title: str = ""
    errors: list[str] = Field(default_factory=list)


class ImportOut(Output):
    created: int
    failed: int
    dry_run: bool
    rows: list[ImportRow]
