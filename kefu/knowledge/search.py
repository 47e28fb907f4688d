"""Knowledge search, Chinese first: jieba + BM25 with field boosts, pinyin fallback, embeddings.

Pure: the standard library, numpy, jieba and pypinyin only — no web framework, no database. The
service layer (``kefu.knowledge.services``) feeds it published articles and keeps one
:class:`SearchIndex` per tenant in memory; this module knows nothing about tenants.

How a query is answered (docs/knowledge.md has the details and the measured numbers):

1. The text is normalised (NFKC, lower case) and segmented with jieba ``cut_for_search`` using the
   tenant's domain dictionary; stopwords and punctuation go; synonyms add their group's words.
2. Every article contributes several *entries*: its standard question (标准问, the title), each
   extended question (扩展问) and its body. BM25 scores entries; title and question entries are
   boosted above the body; an article scores as its best entry.
3. Query words that are not in the vocabulary are looked up by pinyin (homophone typos such as
   流亮包 → 流量包, or typed pinyin ``liuliangbao``) and added with a lower weight.
4. With an embedding model the query is encoded once and compared with every entry vector (brute
   force, one matrix product); the ranking reads the cosines after "all-but-the-top" (the
   index's mean vector and top principal directions removed, derived from the one product), plus
   an optional second model's; an article scores by its best question-side entry and its body.
   The floor for keyword-less hits and the confidence read the raw cosine.
5. The two article rankings are fused: the semantic score plus a small share of the keyword score
   (relative to the query's best), larger for short keyword queries. CJK character bigrams are a
   second keyword channel (weight 0.5). Articles with the very same answer text are listed once.
"""

from __future__ import annotations

import functools
import html
import logging
import math
import re
import threading
import unicodedata
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from kefu.knowledge import int8rows
from kefu.knowledge.embedding import Embedder

__all__ = [
    "STOPWORDS",
    "SearchConfig",
    "SearchDoc",
    "SearchFilters",
    "SearchHit",
    "SearchIndex",
    "Segmenter",
    "highlight",
    "normalize",
]

MAX_QUERY_CHARS = 200
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "哦",
        "嘛",
        "么",
        "是",
        "我",
        "你",
        "他",
        "她",
        "它",
        "我们",
        "您",
        "在",
        "和",
        "与",
        "及",
        "或",
        "就",
        "也",
        "都",
        "还",
        "又",
        "请问",
        "一下",
        "这个",
        "那个",
        "这样",
        "那样",
        "怎么样",
        "什么",
        "如何",
        "怎么",
        "怎样",
        "为什么",
        "可以",
        "能",
        "能不能",
        "可不可以",
        "要",
        "想",
        "需要",
        "有",
        "没有",
        "没",
        "不",
        "会",
        "被",
        "把",
        "给",
        "对",
        "从",
        "到",
        "让",
        "下",
        "上",
        "个",
        "一个",
        "请",
        "谢谢",
        "好",
        "吗?",
        "么?",
        "the",
        "a",
        "an",
        "of",
        "to",
        "is",
        "are",
        "do",
        "does",
        "how",
        "what",
        "i",
        "my",
    ]
)
_PUNCT = re.compile(r"^[\W_]+$", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff]+")
_ASCII_WORD = re.compile(r"[a-z]{4,}")

FloatArray = npt.NDArray[np.float64]


def normalize(text: str) -> str:
    """NFKC (full-width → half-width), lower case, single spaces, at most MAX_QUERY_CHARS*50."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return " ".join(text.split())


# --- segmentation --------------------------------------------------------------------------

_BASE: Any = None
_BASE_LOCK = threading.Lock()


def _base_tokenizer() -> Any:
    """jieba's default tokenizer, loaded once per process (about a second)."""
    global _BASE
    with _BASE_LOCK:
        if _BASE is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _BASE = tokenizer
        return _BASE


class Segmenter:
    """jieba with a domain dictionary and synonym groups (one per tenant).

    A tenant without its own words shares jieba's default tokenizer; one with words gets a copy
    of the default dictionary plus its words, so tenants never change each other's segmentation.
    The index and the queries must use the same segmenter: rebuild the index after a change.
    """

    def __init__(self, words: Iterable[str] = (), synonyms: Iterable[Iterable[str]] = ()) -> None:
        base = _base_tokenizer()
        synonyms = [list(group) for group in synonyms]
        vocabulary = [*words, *(w for group in synonyms for w in group)]
        self.words = tuple(sorted({normalize(w) for w in vocabulary if normalize(w)}))
        if self.words:
            import jieba

            tokenizer = jieba.Tokenizer()
            tokenizer.FREQ = dict(base.FREQ)
            tokenizer.total = base.total
            tokenizer.initialized = True
            for word in self.words:
                if " " not in word:
                    tokenizer.add_word(word, freq=max(tokenizer.suggest_freq(word), 50))
            self._tk = tokenizer
        else:
            self._tk = base
        self.synonyms: dict[str, tuple[str, ...]] = {}
        self.groups: tuple[tuple[str, ...], ...] = ()
        groups = []
        for group in synonyms:
            members = tuple(dict.fromkeys(normalize(w) for w in group if normalize(w)))
            if len(members) < 2:
                continue
            groups.append(members)
            for member in members:
                others = [m for m in members if m != member]
                self.synonyms[member] = tuple(
                    dict.fromkeys([*self.synonyms.get(member, ()), *others])
                )
        self.groups = tuple(groups)

    def tokens(self, text: str) -> list[str]:
        """Search tokens of ``text`` (already normalised or not): words and their sub-words."""
        out = []
        for token in self._tk.cut_for_search(normalize(text), HMM=True):
            token = token.strip()
            if not token or token in STOPWORDS or _PUNCT.match(token):
                continue
            out.append(token)
        return out

    def query_terms(self, text: str) -> list[tuple[str, float]]:
        """Weighted query terms: the tokens (1.0) and their synonyms (0.8), without repeats."""
        weights: dict[str, float] = {}
        for token in self.tokens(text):
            weights[token] = max(weights.get(token, 0.0), 1.0)
            for synonym in self.synonyms.get(token, ()):
                for part in self.tokens(synonym) or [synonym]:
                    weights[part] = max(weights.get(part, 0.0), 0.8)
        return list(weights.items())


# --- documents, filters, hits --------------------------------------------------------------


@dataclass(frozen=True)
class SearchDoc:
    """What the index needs of one published article."""

    id: int
    title: str  # 标准问
    body: str = ""  # the customer-facing answer
    questions: tuple[str, ...] = ()  # 扩展问: how customers actually ask it
    module_id: int | None = None
    tags: tuple[str, ...] = ()
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    roles: frozenset[str] = frozenset()  # empty: every role
    sites: frozenset[int] = frozenset()  # empty: every site
    extra: str = ""  # searchable but not shown (synonyms typed by editors, tags)


@dataclass(frozen=True)
class SearchFilters:
    modules: frozenset[int] | None = None  # module ids (the caller adds the sub-modules)
    at: datetime | None = None  # only articles valid at this moment
    roles: frozenset[str] | None = None  # the reader's roles (audience)
    site_id: int | None = None  # the reader's site (audience)


@dataclass(frozen=True)
class SearchHit:
    id: int
    score: float  # fused score: higher is better, comparable within one result list
    confidence: float  # 0..1, how sure the best match is (the bot's threshold applies here)
    matched: str  # the entry (title, extended question or body) that matched best
    field: str  # "title", "question" or "body"
    snippet: str  # HTML: escaped text with <mark> around the query words
    lexical: float = 0.0
    dense: float = 0.0


@dataclass(frozen=True)
class SearchConfig:
    k1: float = 1.2
    b: float = 0.75
    boost_title: float = 2.0
    boost_question: float = 2.0
    boost_body: float = 1.0
    max_df: float = 0.2  # query words in more than this share of entries are dropped (speed)
    max_df_min_entries: int = 2000  # ...but only in indexes this large
    pinyin_weight: float = 0.6
    # fusion (weighted reciprocal rank): tuned on the dev split of the UnionPay set
    rrf_k: float = 60.0
    w_dense: float = 1.0
    w_lexical: float = 0.25
    w_lexical_short: float = 1.0  # queries of at most `short_query_terms` words
    short_query_terms: int = 2
    dense_body_mix: float = 1.0  # article = (best question score + mix * body score) / (1+mix)
    dense_body_mix_questions: float = 0.5  # the same for an article with 扩展问
    # The floor and ``confidence`` read the model's raw cosines, mixed as before the fourth
    # tuning round: (best question cosine + 0.5 * body cosine) / 1.5 (docs/knowledge.md).
    floor_body_mix: float = 0.5
    # "All-but-the-top" (Mu & Viswanath 2018): the ranking compares vectors after removing the
    # index's mean vector and its top principal directions, fitted separately on the question
    # side (titles, 扩展问) and on the answers, and refitted as articles change. -1: raw
    # cosines. Only once a side has `abtt_min_entries` entries (a handful of vectors have no
    # meaningful directions to remove).
    abtt_question: int = 2
    abtt_body: int = 2
    abtt_min_entries: int = 200
    # A second embedding model (SearchIndex(second=...)): its post-processed cosine is added at
    # this weight to the first model's (an ensemble of two different models).
    second_weight: float = 0.3
    second_abtt_question: int = 1
    second_abtt_body: int = -1
    # the second model scores only the first model's best entries (0: every entry): its
    # product over 50,000 entries would cost more than the rest of the search (docs/knowledge.md)
    second_candidates: int = 5000
    # From this many entries on, the first model's product over every entry reads an int8 copy
    # of the vectors (kefu.knowledge.int8rows: 1/4 of the memory traffic, ~2x faster at 50,000)
    # to choose the candidates; their scores are then recomputed in float32 (0: never).
    int8_entries: int = 20000
    fusion: str = "score"  # "score": dense + weighted keyword score; "rrf": reciprocal ranks
    w_lexical_score: float = 0.015  # tuned on the UnionPay dev split (docs/knowledge.md)
    w_lexical_score_short: float = 0.03
    dense_floor: float | None = None  # below it a hit with no keyword match is dropped
    #                                   (None: the embedder's own ``floor``)
    candidates: int = 200  # entries taken from each list before fusion
    char_bigrams: float = 0.5  # > 0: also index CJK character bigrams, queried at this weight
    body_chars: int = 400  # body text given to the embedding model
    collapse_answers: bool = True  # articles with the very same answer text are listed once
    query_cache: int = 2048  # query vectors kept in memory (0: none); never written anywhere
    # Latency bound: the model reads at most this many tokens of a query (0: all of it). Its cost
    # grows with the tokens; keywords and bigrams still see the whole query (docs/knowledge.md).
    query_max_tokens: int = 64


# --- index ---------------------------------------------------------------------------------


class _Grow:
    """A numpy vector (or matrix) that grows by doubling."""

    def __init__(self, dtype: Any, width: int = 0) -> None:
        self.width = width
        shape = (64, width) if width else (64,)
        self.data: Any = np.zeros(shape, dtype=dtype)
        self.n = 0

    def append(self, values: Any) -> int:
        values = np.asarray(values, dtype=self.data.dtype)
        count = values.shape[0] if values.ndim > (1 if self.width else 0) else 1
        if not self.width and values.ndim == 0:
            values = values.reshape(1)
        while self.n + count > self.data.shape[0]:
            bigger = np.zeros((self.data.shape[0] * 2, *self.data.shape[1:]), self.data.dtype)
            bigger[: self.n] = self.data[: self.n]
            self.data = bigger
        start = self.n
        self.data[start : start + count] = values
        self.n += count
        return start

    def view(self) -> Any:
        return self.data[: self.n]


class AllButTheTop:
    """Running mean and scatter of a set of vectors, and the "all-but-the-top" fit on them.

    Mu & Viswanath (2018): sentence vectors share a large common mean and a few dominant
    directions that say little about meaning; cosines compare better once those are removed:
    ``v' = (v - mean) - U U^T (v - mean)`` with U the top ``components`` principal directions.
    Rows are added and removed as articles change (float64 sums, so removal is exact enough);
    the fit (one symmetric eigendecomposition, dim x dim) is redone lazily when asked after a
    change. With fewer than ``min_count`` rows, or ``components`` < 0, the fit is the identity
    (zero mean, no direction removed): raw cosines.
    """

    def __init__(self, dim: int, components: int, min_count: int) -> None:
        self.dim = dim
        self.components = components
        self.min_count = max(1, min_count)
        self.count = 0
        self._sum = np.zeros(dim, dtype=np.float64)
        self._scatter = np.zeros((dim, dim), dtype=np.float64)
        self._fit: tuple[Any, Any] | None = None

    def add(self, rows: Any, sign: float = 1.0) -> None:
        """Add (``sign`` 1) or remove (``sign`` -1) the rows of a (n, dim) matrix."""
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, self.dim)
        if not rows.shape[0]:
            return
        self.count += int(sign) * rows.shape[0]
        self._sum += sign * rows.sum(axis=0)
        self._scatter += sign * (rows.T @ rows)
        self._fit = None

    def remove(self, rows: Any) -> None:
        self.add(rows, -1.0)

    @property
    def active(self) -> bool:
        return self.components >= 0 and self.count >= self.min_count

    def fit(self) -> tuple[Any, Any]:
        """(mean (dim,), basis (dim, d)) as float32; the identity fit has a zero mean, d = 0."""
        if self._fit is None:
            if not self.active:
                mean = np.zeros(self.dim, dtype=np.float64)
                basis = np.zeros((self.dim, 0), dtype=np.float64)
            else:
                mean = self._sum / self.count
                covariance = self._scatter / self.count - np.outer(mean, mean)
                _values, vectors = np.linalg.eigh(covariance)  # ascending eigenvalues
                basis = vectors[:, ::-1][:, : self.components]
            self._fit = (mean.astype(np.float32), np.ascontiguousarray(basis, dtype=np.float32))
        return self._fit

    def transform(self, rows: Any) -> Any:
        """The post-processed, L2-normalised rows (the explicit computation; search uses an
        equivalent one on the raw dot products, without a second matrix product)."""
        mean, basis = self.fit()
        centred = np.asarray(rows, dtype=np.float32) - mean
        centred = centred - (centred @ basis) @ basis.T
        norms = np.linalg.norm(centred, axis=-1, keepdims=True)
        return centred / np.maximum(norms, 1e-12)


class _Channel:
    """One model's entry vectors and the all-but-the-top fits of its two sides.

    From the one raw product ``s = V q`` the post-processed cosine of every entry follows
    algebraically: ``(q-m)^T (I - U U^T) (v-m) = s - q.m - v.m + m.m - sum_k ((q-m).u_k)
    ((v-m).u_k)``, divided by ``|q'| |v'|``; ``v.m``, ``(v-m).u_k`` and ``|v'|`` are kept per
    entry (recomputed lazily after a change), so a query costs O(entries x components) more.
    """

    def __init__(
        self, dim: int, components: tuple[int, int], min_count: int, int8_rows: int = 0
    ) -> None:
        self.dim = dim
        self.vectors = _Grow(np.float32, dim)
        # rows are only ever appended (compaction builds a new channel), so an int8 copy of
        # the first rows stays valid; rows added since are multiplied in float32
        self.int8_rows = int8_rows  # > 0: approximate products from this many rows on
        self._int8: int8rows.Int8Rows | None = None
        self.body = _Grow(np.bool_)  # the entry is an answer (body side), not a question
        self.sides = (
            AllButTheTop(dim, components[0], min_count),
            AllButTheTop(dim, components[1], min_count),
        )
        self._consts: tuple[Any, ...] | None = None

    def append(self, rows: Any, body: Sequence[bool], alive: Any) -> None:
        """Add entry rows (in entry order); the live ones count in their side's fit."""
        rows = np.asarray(rows, dtype=np.float32).reshape(-1, self.dim)
        flags = np.asarray(body, dtype=bool)
        live = np.asarray(alive, dtype=bool)
        self.vectors.append(rows)
        self.body.append(flags)
        for side, fit in enumerate(self.sides):
            fit.add(rows[live & (flags == bool(side))])
        self._consts = None

    def forget(self, entries: Sequence[int]) -> None:
        """Take dead entries out of the fits (their rows stay, masked, until compaction)."""
        if not entries:
            return
        at = np.asarray(entries, dtype=np.int64)
        rows, flags = self.vectors.view()[at], self.body.view()[at]
        for side, fit in enumerate(self.sides):
            fit.remove(rows[flags == bool(side)])
        self._consts = None

    @property
    def identity(self) -> bool:
        return not (self.sides[0].active or self.sides[1].active)

    def _constants(self) -> tuple[Any, ...]:
        """Per entry: m.m - v.m, the projections (v-m).u (n, d), 1/|v'|; per side: the fit."""
        if self._consts is not None:
            return self._consts
        fits = [side.fit() for side in self.sides]
        matrix, body = self.vectors.view(), self.body.view()
        width = max(basis.shape[1] for _mean, basis in fits)
        shift = np.zeros(matrix.shape[0], dtype=np.float32)
        proj = np.zeros((matrix.shape[0], width), dtype=np.float32)
        norm2 = np.einsum("ij,ij->i", matrix, matrix)
        for side, (mean, basis) in enumerate(fits):
            rows = body if side else ~body
            if not rows.any():
                continue
            # every row against this side's (mean, basis), then keep this side's rows: a thin
            # product over the whole matrix is cheaper than copying the side's rows out
            part = matrix @ np.concatenate([mean[:, None], basis], axis=1)  # v.m, v.u
            mm = float(mean @ mean)
            p = part[:, 1:] - (mean @ basis)[None, :]
            shift = np.where(rows, mm - part[:, 0], shift)
            proj[:, : basis.shape[1]] = np.where(rows[:, None], p, proj[:, : basis.shape[1]])
            extra = mm - 2.0 * part[:, 0] - np.einsum("ij,ij->i", p, p)
            norm2 = np.where(rows, norm2 + extra, norm2)
        inv_norm = (1.0 / np.sqrt(np.maximum(norm2, 1e-12))).astype(np.float32)
        self._consts = (body, shift, proj, inv_norm, fits)
        return self._consts

    def approximate(self) -> bool:
        """Whether ``cosines(..., approx=True)`` reads the int8 copy (a large enough channel)."""
        return 0 < self.int8_rows <= self.vectors.n and int8rows.available()

    def _frozen(self, matrix: Any) -> int8rows.Int8Rows:
        """The int8 copy, (re)built first when missing or when a quarter of the rows came
        since (synchronously: ~0.3-0.5 s per 50,000 x 384)."""
        n = matrix.shape[0]
        frozen = self._int8
        if frozen is None or n - frozen.n > max(4096, n // 4):
            frozen = self._int8 = int8rows.Int8Rows(matrix)
        return frozen

    def prepare(self) -> None:
        """Compute now what the next search would compute first after changes."""
        if not self.identity:
            self._constants()
        if self.approximate():
            self._frozen(self.vectors.view())

    def _product(self, qvec: Any, approx: bool) -> Any:
        matrix = self.vectors.view()
        if not (approx and self.approximate()):
            return matrix @ qvec
        n = matrix.shape[0]
        frozen = self._frozen(matrix)
        head = frozen.product(qvec)
        if frozen.n == n:
            return head
        return np.concatenate([head, matrix[frozen.n :] @ qvec])

    def cosines(self, qvec: Any, rows: Any = None, approx: bool = False) -> tuple[Any, Any]:
        """(raw cosines, post-processed cosines) of the query against every entry, or against
        the entries numbered in ``rows`` only. ``approx``: every entry, from the int8 copy
        when the channel is large (``approximate``): dot products to about 1e-3."""
        # one matrix-vector product
        raw = self._product(qvec, approx) if rows is None else self.vectors.view()[rows] @ qvec
        if self.identity:
            return raw, raw
        body, shift, proj, inv_norm, fits = self._constants()
        if rows is not None:
            body, shift, proj, inv_norm = body[rows], shift[rows], proj[rows], inv_norm[rows]
        width = proj.shape[1]
        dots: list[float] = []
        qnorms: list[float] = []
        pvecs = np.zeros((width, 2), dtype=np.float32)
        q2 = float(qvec @ qvec)
        for side, (mean, basis) in enumerate(fits):
            b = float(qvec @ mean)
            p = qvec @ basis - mean @ basis
            pvecs[: basis.shape[1], side] = p
            dots.append(b)
            qnorms.append(math.sqrt(max(q2 - 2.0 * b + float(mean @ mean) - float(p @ p), 1e-12)))
        both = proj @ pvecs  # (n, 2): the projection term under either side's fit
        term = np.where(body, both[:, 1] + dots[1], both[:, 0] + dots[0])
        scale = np.where(body, inv_norm / qnorms[1], inv_norm / qnorms[0])
        return raw, (raw + shift - term) * scale


@dataclass
class _Slot:
    doc: SearchDoc
    entries: list[int] = field(default_factory=list)
    index: int = 0
    answer: str = ""  # normalised answer text (articles sharing it are collapsed)


_FIELDS = ("title", "question", "body")
_NEG = -1e9


class SearchIndex:
    """In-memory index of one tenant's published articles; thread-safe; updated incrementally."""

    def __init__(
        self,
        segmenter: Segmenter | None = None,
        embedder: Embedder | None = None,
        config: SearchConfig | None = None,
        second: Embedder | None = None,
    ) -> None:
        self.segmenter = segmenter or Segmenter()
        self.embedder = embedder
        # an optional second model whose scores are added to the first's (only with a first)
        self.second = second if embedder is not None else None
        self.config = config or SearchConfig()
        self._lock = threading.RLock()
        # query text -> query vector, most recently used last (the agent box and the bot see
        # the same questions again and again; encoding is most of a search's CPU time)
        self._qvecs: OrderedDict[str, Any] = OrderedDict()
        self._qvecs_lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._slots: dict[int, _Slot] = {}
        self._slot_list: list[_Slot | None] = []
        self._entry_text: list[str] = []
        self._entry_field: list[int] = []
        self._entry_tokens: list[Counter[str]] = []
        self._entry_slot = _Grow(np.int32)
        self._dl = _Grow(np.float32)
        self._boost = _Grow(np.float32)
        self._alive = _Grow(np.bool_)
        cfg = self.config
        self._channels: list[_Channel] = []
        if self.embedder is not None:
            sides = (cfg.abtt_question, cfg.abtt_body)
            self._channels.append(
                _Channel(self.embedder.dim, sides, cfg.abtt_min_entries, cfg.int8_entries)
            )
            if self.second is not None:
                sides = (cfg.second_abtt_question, cfg.second_abtt_body)
                self._channels.append(_Channel(self.second.dim, sides, cfg.abtt_min_entries))
        self._vectors = self._channels[0].vectors if self._channels else None
        # per slot (article) arrays for vectorised filters
        self._doc_module = _Grow(np.int64)
        self._doc_from = _Grow(np.float64)
        self._doc_until = _Grow(np.float64)
        self._postings: dict[str, list[int]] = {}
        self._tfs: dict[str, list[int]] = {}
        self._cache: dict[str, tuple[Any, Any]] = {}
        self._df: Counter[str] = Counter()
        self._alive_entries = 0
        self._alive_len = 0.0
        self._dead = 0
        self._pinyin: dict[str, set[str]] = {}
        self._syllables: set[str] = set()

    # -- size and contents

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._slots

    @property
    def entries(self) -> int:
        return self._alive_entries

    def doc(self, doc_id: int) -> SearchDoc | None:
        slot = self._slots.get(doc_id)
        return slot.doc if slot else None

    # -- writing

    def _entries_of(self, doc: SearchDoc) -> list[tuple[int, str, str]]:
        """(field, text for keywords, text for the embedding model) of one article, deduplicated."""
        seen: set[str] = set()
        out: list[tuple[int, str, str]] = []
        for fld, text in [(0, doc.title), *((1, q) for q in doc.questions)]:
            key = normalize(text)
            if key and key not in seen:
                seen.add(key)
                out.append((fld, text, text))
        body = " ".join(part for part in (doc.body, doc.extra) if part)
        if normalize(body) and normalize(body) not in seen:
            dense_text = f"{doc.title} {doc.body}"[: self.config.body_chars]
            out.append((2, body, dense_text))
        return out

    def upsert(self, docs: Sequence[SearchDoc]) -> None:
        """Add or replace articles; their texts are encoded in one batch (vectors cached)."""
        if not docs:
            return
        prepared = [(doc, self._entries_of(doc)) for doc in docs]
        vectors = [self._encode(model, prepared) for model in self._models()]
        body = [fld == 2 for _doc, entries in prepared for fld, _t, _d in entries]
        with self._lock:
            for doc, entries in prepared:
                self._remove(doc.id)
                self._add(doc, entries)
            alive = self._alive.view()[self._alive.n - len(body) :]
            for channel, matrix in zip(self._channels, vectors, strict=True):
                channel.append(matrix, body, alive)  # rows in the order _add numbered entries
            if self._dead > max(1000, self._alive_entries):
                self._compact()

    def _models(self) -> list[Embedder]:
        models = [self.embedder, self.second]
        return [m for m in models if m is not None][: len(self._channels)]

    def _encode(
        self, model: Embedder, prepared: list[tuple[SearchDoc, list[tuple[int, str, str]]]]
    ) -> Any:
        texts_q: list[str] = []
        texts_p: list[str] = []
        where: list[tuple[bool, int]] = []
        for _doc, entries in prepared:
            for fld, _text, dense_text in entries:
                if fld == 2:
                    where.append((False, len(texts_p)))
                    texts_p.append(dense_text)
                else:
                    where.append((True, len(texts_q)))
                    texts_q.append(dense_text)
        vq = model.encode(texts_q, query=True)
        vp = model.encode(texts_p, query=False)
        out = np.zeros((len(where), model.dim), dtype=np.float32)
        for row, (is_q, i) in enumerate(where):
            out[row] = vq[i] if is_q else vp[i]
        return out

    def prepare(self) -> None:
        """After changes: fit all-but-the-top and (large indexes) build the int8 copy now, in
        the writer's time, rather than in the next search."""
        with self._lock:
            for channel in self._channels:
                channel.prepare()

    def remove(self, doc_id: int) -> bool:
        with self._lock:
            return self._remove(doc_id)

    def _remove(self, doc_id: int) -> bool:
        slot = self._slots.pop(doc_id, None)
        if slot is None:
            return False
        alive = self._alive.view()
        dying = [e for e in slot.entries if alive[e]]
        for channel in self._channels:
            channel.forget([e for e in dying if e < channel.vectors.n])
        for entry in slot.entries:
            if alive[entry]:
                alive[entry] = False
                self._alive_entries -= 1
                self._alive_len -= float(self._dl.view()[entry])
                self._dead += 1
                for term in self._entry_tokens[entry]:
                    self._df[term] -= 1
        self._slot_list[slot.index] = None
        return True

    def _add(self, doc: SearchDoc, entries: list[tuple[int, str, str]]) -> None:
        """Index one article's entries (the caller appends their vectors to the channels)."""
        cfg = self.config
        slot = _Slot(doc=doc, index=len(self._slot_list), answer=normalize(doc.body))
        self._slot_list.append(slot)
        self._slots[doc.id] = slot
        self._doc_module.append(doc.module_id if doc.module_id is not None else -1)
        self._doc_from.append(doc.valid_from.timestamp() if doc.valid_from else -math.inf)
        self._doc_until.append(doc.valid_until.timestamp() if doc.valid_until else math.inf)
        boosts = (cfg.boost_title, cfg.boost_question, cfg.boost_body)
        for fld, text, _dense in entries:
            tokens = self.segmenter.tokens(text)
            if self.config.char_bigrams:
                tokens += _bigrams(text)
            if fld == 0 and doc.tags:
                tokens += [t for tag in doc.tags for t in self.segmenter.tokens(tag)]
            counts = Counter(tokens)
            entry = self._entry_slot.append(slot.index)
            self._dl.append(float(len(tokens)))
            self._boost.append(boosts[fld])
            self._alive.append(True)
            self._entry_text.append(text)
            self._entry_field.append(fld)
            self._entry_tokens.append(counts)
            for term, tf in counts.items():
                postings = self._postings.get(term)
                if postings is None:
                    postings = self._postings[term] = []
                    self._tfs[term] = []
                    self._learn_pinyin(term)
                postings.append(entry)
                self._tfs[term].append(tf)
                self._cache.pop(term, None)
                self._df[term] += 1
            self._alive_entries += 1
            self._alive_len += float(len(tokens))
            slot.entries.append(entry)

    def _compact(self) -> None:
        slots = [s for s in self._slot_list if s is not None]
        docs = [s.doc for s in slots]
        kept = np.asarray([e for s in slots for e in s.entries], dtype=np.int64)
        matrices = [c.vectors.view()[kept].copy() for c in self._channels]
        self._reset()
        body: list[bool] = []
        for doc in docs:
            entries = self._entries_of(doc)
            self._add(doc, entries)
            body += [fld == 2 for fld, _t, _d in entries]
        for channel, matrix in zip(self._channels, matrices, strict=True):
            channel.append(matrix, body, np.ones(len(body), dtype=bool))

    def rebuild(self, segmenter: Segmenter) -> None:
        """Re-segment everything (after a dictionary change); vectors are kept."""
        with self._lock:
            self.segmenter = segmenter
            self._dead += 1
            self._compact()

    # -- pinyin

    def _learn_pinyin(self, term: str) -> None:
        if not _CJK.fullmatch(term) or len(term) < 2:
            return
        syllables = _pinyin(term)
        self._syllables.update(syllables)
        self._pinyin.setdefault("".join(syllables), set()).add(term)

    def _pinyin_terms(self, text: str, known: set[str]) -> list[str]:
        """Vocabulary words that sound like unknown parts of the query (typos, typed pinyin)."""
        found: list[str] = []
        for run in _CJK.findall(text):
            if run in self._postings and len(run) <= 4:
                continue
            syllables = _pinyin(run)
            for size in (4, 3, 2):
                for start in range(0, len(run) - size + 1):
                    part = run[start : start + size]
                    if part in self._postings:
                        continue
                    for term in self._pinyin.get("".join(syllables[start : start + size]), ()):
                        if term not in known and term not in found:
                            found.append(term)
        for word in _ASCII_WORD.findall(text):
            if word in self._postings:
                continue
            syllables = _split_pinyin(word, self._syllables)
            if not syllables:
                continue
            for size in range(min(4, len(syllables)), 1, -1):
                for start in range(0, len(syllables) - size + 1):
                    for term in self._pinyin.get("".join(syllables[start : start + size]), ()):
                        if term not in known and term not in found:
                            found.append(term)
        return found[:8]

    # -- reading

    def _term_arrays(self, term: str) -> tuple[Any, Any]:
        cached = self._cache.get(term)
        if cached is None:
            ids = np.asarray(self._postings[term], dtype=np.int64)
            tfs = np.asarray(self._tfs[term], dtype=np.float32)
            cached = self._cache[term] = (ids, tfs)
        return cached

    def _entry_mask(self, filters: SearchFilters | None) -> Any:
        alive = self._alive.view()
        if filters is None or (filters.modules is None and filters.at is None):
            return alive
        slots = self._entry_slot.view()
        ok = np.ones(self._doc_module.n, dtype=bool)
        if filters.modules is not None:
            ok &= np.isin(self._doc_module.view(), np.asarray(sorted(filters.modules)))
        if filters.at is not None:
            moment = filters.at.timestamp()
            ok &= (self._doc_from.view() <= moment) & (moment < self._doc_until.view())
        return alive & ok[slots]

    def _audience_ok(self, doc: SearchDoc, filters: SearchFilters | None) -> bool:
        if filters is None:
            return True
        if doc.roles and filters.roles is not None and not (doc.roles & filters.roles):
            return False
        return not (doc.sites and filters.site_id is not None and filters.site_id not in doc.sites)

    def search(
        self, query: str, limit: int = 10, filters: SearchFilters | None = None
    ) -> list[SearchHit]:
        text = normalize(query)[:MAX_QUERY_CHARS]
        limit = max(1, min(int(limit), 100))
        if not text:
            return []
        terms = self.segmenter.query_terms(text)
        if self.config.char_bigrams:
            terms += [(g, self.config.char_bigrams) for g in dict.fromkeys(_bigrams(text))]
        qvec = None
        if self._channels:
            qvec = self._query_vector(text)
        with self._lock:
            if not self._slots:
                return []
            mask = self._entry_mask(filters)
            lexical, idf_total = self._lexical(text, terms, mask)
            dense = self._dense(qvec, mask) if qvec is not None else {}
            hits = self._fuse(text, terms, lexical, dense, idf_total, filters, limit)
        return hits

    def _lexical(
        self, text: str, terms: list[tuple[str, float]], mask: Any
    ) -> tuple[dict[int, tuple[float, int]], float]:
        """Best (score, entry) per slot from BM25 over the entries."""
        cfg = self.config
        n = max(self._alive_entries, 1)
        avgdl = max(self._alive_len / n, 1.0)
        known = {t for t, _w in terms if t in self._postings}
        weighted = [(t, w) for t, w in terms if t in self._postings]
        weighted += [(t, cfg.pinyin_weight) for t in self._pinyin_terms(text, known)]
        if n >= cfg.max_df_min_entries and len(weighted) > 1:
            kept = [(t, w) for t, w in weighted if self._df[t] <= cfg.max_df * n]
            weighted = kept or sorted(weighted, key=lambda tw: self._df[tw[0]])[:1]
        if not weighted:
            return {}, 0.0
        total = self._entry_slot.n
        scores = np.zeros(total, dtype=np.float32)
        dl = self._dl.view()
        idf_total = 0.0
        for term, weight in weighted:
            df = max(self._df[term], 0)
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            idf_total += idf * weight
            ids, tfs = self._term_arrays(term)
            norm = cfg.k1 * (1.0 - cfg.b + cfg.b * dl[ids] / avgdl)
            scores[ids] += (weight * idf) * tfs * (cfg.k1 + 1.0) / (tfs + norm)
        scores *= self._boost.view()
        scores[~mask] = 0.0
        return self._best_per_slot(scores, positive=True), idf_total

    def _query_vector(self, text: str) -> tuple[Any, ...]:
        """The query's vector under each model: from the in-memory LRU, else encoded by the
        models themselves (queries are never written to the persistent vector store)."""
        size = self.config.query_cache
        if size > 0:
            with self._qvecs_lock:
                cached = self._qvecs.get(text)
                if cached is not None:
                    self._qvecs.move_to_end(text)
                    return cast(tuple[Any, ...], cached)
        vectors = []
        for embedder in self._models():
            model = getattr(embedder, "inner", embedder)
            clip = getattr(model, "clip_query", None)
            encoded = clip(text, self.config.query_max_tokens) if clip is not None else text
            search = getattr(model, "encode_search", None)  # a faster engine for live queries
            rows = search([encoded]) if search is not None else model.encode([encoded], query=True)
            qvec = np.ascontiguousarray(rows[0], dtype=np.float32)
            qvec.setflags(write=False)
            vectors.append(qvec)
        out = tuple(vectors)
        if size > 0:
            with self._qvecs_lock:
                self._qvecs[text] = out
                while len(self._qvecs) > size:
                    self._qvecs.popitem(last=False)
        return out

    def clear_query_cache(self) -> None:
        with self._qvecs_lock:
            self._qvecs.clear()

    def _entry_scores(
        self, qvecs: tuple[Any, ...], mask: Any = None, approx: bool = False
    ) -> tuple[Any, Any, Any]:
        """(raw cosines of the first model, ranking scores, the first model's share of them)
        per entry: the first model's post-processed cosine plus ``second_weight`` times the
        second model's; entries outside ``mask`` score ``_NEG``. ``approx``: the first model's
        cosines may come from its int8 copy (``_make_exact`` corrects chosen entries)."""
        cfg = self.config
        raw, first = self._channels[0].cosines(qvecs[0], approx=approx)
        scores = first.copy()
        if mask is not None and not mask.all():
            scores[~mask] = _NEG
        if len(self._channels) > 1 and len(qvecs) > 1 and cfg.second_weight:
            count = scores.shape[0]
            if 0 < cfg.second_candidates < count:
                # the second model re-scores the first's best entries only (the others drop)
                rows = np.argpartition(-scores, cfg.second_candidates - 1)
                rows = np.sort(rows[: cfg.second_candidates])
                _raw2, second = self._channels[1].cosines(qvecs[1], rows)
                kept = scores[rows] + cfg.second_weight * second
                scores.fill(_NEG)
                scores[rows] = kept
            else:
                _raw2, second = self._channels[1].cosines(qvecs[1])
                scores += cfg.second_weight * second
        return raw, scores, first

    def _make_exact(self, qvec: Any, entries: Any, raw: Any, scores: Any, first: Any) -> None:
        """Replace the first model's approximate share of these entries' scores (and their raw
        cosines) by the float32 one, in place; entries scored out (``_NEG``) stay out. Which
        entries the second model scored may differ from a float32 search at its boundary."""
        exact_raw, exact = self._channels[0].cosines(qvec, entries)
        live = scores[entries] > _NEG / 2
        scores[entries] = np.where(live, scores[entries] + (exact - first[entries]), _NEG)
        raw[entries] = exact_raw

    def _dense(self, qvecs: tuple[Any, ...], mask: Any) -> dict[int, tuple[float, int, float]]:
        """Per candidate article: (score, entry, raw). The score is its best question-side
        entry score plus ``dense_body_mix`` times its body score; ``raw`` is the same from the
        first model's raw cosines with ``floor_body_mix`` — what the floor and the confidence
        read. Best first."""
        approx = self._channels[0].approximate()
        raw, sims, first = self._entry_scores(qvecs, mask, approx)
        if approx:
            # the int8 products chose twice the candidates; their entries are scored exactly,
            # then the candidates are taken again, so the boundary is drawn by exact scores
            wide = self._best_per_slot(sims, positive=False, wider=2)
            slots = (self._slot_list[i] for i in wide)
            entries = [e for slot in slots if slot is not None for e in slot.entries]
            if entries:
                at = np.asarray(entries, dtype=np.int64)
                self._make_exact(qvecs[0], at, raw, sims, first)
        best = self._best_per_slot(sims, positive=False)
        raw_mix = self.config.floor_body_mix
        fields = self._entry_field
        combined: dict[int, tuple[float, int, float]] = {}
        for slot_index, (_value, top_entry) in best.items():
            slot = self._slot_list[slot_index]
            if slot is None:
                continue
            question, body, entry = _NEG, 0.0, top_entry
            raw_question, raw_body = _NEG, 0.0
            questions = 0
            for e in slot.entries:
                value, cosine = float(sims[e]), float(raw[e])
                if fields[e] == 2:
                    body, raw_body = max(body, value), max(raw_body, cosine)
                else:
                    questions += 1
                    raw_question = max(raw_question, cosine)
                    if value > question:
                        question, entry = value, e
            # the answer weighs more when the title is the article's only question; an answer
            # scoring below 0 counts as 0, like a missing one (as measured, docs/knowledge.md)
            mix = (
                self.config.dense_body_mix_questions
                if questions > 1
                else self.config.dense_body_mix
            )
            if question <= _NEG / 2:
                question, entry, raw_question = body, top_entry, raw_body
            combined[slot_index] = (
                (question + mix * body) / (1.0 + mix),
                entry,
                (raw_question + raw_mix * raw_body) / (1.0 + raw_mix),
            )
        return dict(sorted(combined.items(), key=lambda kv: -kv[1][0]))

    def _best_per_slot(
        self, scores: Any, *, positive: bool, wider: int = 1
    ) -> dict[int, tuple[float, int]]:
        k = min(self.config.candidates * wider, scores.shape[0])
        if k <= 0:
            return {}
        top = np.argpartition(-scores, k - 1)[:k] if scores.shape[0] > k else np.arange(k)
        top = top[np.argsort(-scores[top], kind="stable")]
        slots = self._entry_slot.view()
        best: dict[int, tuple[float, int]] = {}
        for entry in top.tolist():
            value = float(scores[entry])
            if (positive and value <= 0.0) or value <= _NEG / 2:
                break
            slot = int(slots[entry])
            if slot not in best:
                best[slot] = (value, entry)
        return best

    def _fuse(
        self,
        text: str,
        terms: list[tuple[str, float]],
        lexical: dict[int, tuple[float, int]],
        dense: dict[int, tuple[float, int, float]],
        idf_total: float,
        filters: SearchFilters | None,
        limit: int,
    ) -> list[SearchHit]:
        cfg = self.config
        n_terms = sum(1 for _t, w in terms if w >= 1.0)
        w_lex = cfg.w_lexical_short if n_terms <= cfg.short_query_terms else cfg.w_lexical
        if not dense:
            w_lex = 1.0
        fused: dict[int, float] = {}
        if cfg.fusion == "score" and dense:
            # the dense similarity, nudged by the keyword score relative to the best one
            top = max((v for v, _e in lexical.values()), default=0.0)
            w = (
                cfg.w_lexical_score_short
                if n_terms <= cfg.short_query_terms
                else cfg.w_lexical_score
            )
            floor = min(v[0] for v in dense.values())
            cutoff = cfg.dense_floor
            if cutoff is None:
                cutoff = float(getattr(self.embedder, "floor", 0.0))
            for key, (value, _entry, raw) in dense.items():
                if raw >= cutoff or key in lexical:  # the floor reads the raw cosine
                    fused[key] = value
            for key, (value, _entry) in lexical.items():
                base = fused.get(key, floor)
                fused[key] = base + (w * value / top if top > 0 else 0.0)
        else:
            for weight, ranking in ((w_lex, lexical), (cfg.w_dense, dense)):
                if weight <= 0:
                    continue
                for rank, key in enumerate(ranking):  # dicts keep best-first order
                    fused[key] = fused.get(key, 0.0) + weight / (cfg.rrf_k + rank + 1)
        order = sorted(fused, key=lambda s: (-fused[s], s))
        words = [t for t, _w in terms]
        hits: list[SearchHit] = []
        answers: set[str] = set()
        for slot_index in order:
            slot = self._slot_list[slot_index]
            if slot is None or not self._audience_ok(slot.doc, filters):
                continue
            if cfg.collapse_answers and slot.answer:
                # the same answer under several standard questions: show it once, under the
                # best-matching question (the list then offers more different answers)
                if slot.answer in answers:
                    continue
                answers.add(slot.answer)
            lex = lexical.get(slot_index)
            den = dense.get(slot_index)
            # show the entry that matched: the semantic one, else the keyword one
            entry = (den or lex or (0.0, slot.entries[0]))[1]
            confidence = self._confidence(lex, den, idf_total)
            hits.append(
                SearchHit(
                    id=slot.doc.id,
                    score=round(fused[slot_index], 6),
                    confidence=round(confidence, 4),
                    matched=self._entry_text[entry],
                    field=_FIELDS[self._entry_field[entry]],
                    snippet=highlight(slot.doc.body or slot.doc.title, words),
                    lexical=round(lex[0], 4) if lex else 0.0,
                    dense=round(den[0], 4) if den else 0.0,
                )
            )
            if len(hits) >= limit:
                break
        return hits

    def _confidence(
        self,
        lex: tuple[float, int] | None,
        den: tuple[float, int, float] | None,
        idf_total: float,
    ) -> float:
        """0..1. With embeddings: the raw cosine rescaled from the model's floor (unrelated)
        to 1 — the first model's cosine, whatever the ranking adds to it."""
        if den is not None:
            floor = float(getattr(self.embedder, "floor", 0.0))
            return max(0.0, min(1.0, (den[2] - floor) / max(1.0 - floor, 1e-6)))
        if lex is None or idf_total <= 0:
            return 0.0
        # share of the query's weight that the best entry matched, roughly
        per_term = self.config.k1 + 1.0
        boost = max(self.config.boost_title, self.config.boost_question, 1.0)
        return max(0.0, min(1.0, lex[0] / (idf_total * per_term * boost) * 1.6))

    def with_config(self, **changes: Any) -> SearchConfig:
        self.config = replace(self.config, **changes)
        return self.config


# --- pinyin helpers ------------------------------------------------------------------------


@functools.lru_cache(maxsize=20000)
def _char_pinyin(char: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(char)).strip()


def _pinyin(text: str) -> list[str]:
    """One syllable per character, read character by character (the same for the vocabulary
    and the query, so a homophone typo maps onto the intended word)."""
    return [p for p in (_char_pinyin(c) for c in text) if p]


def _bigrams(text: str) -> list[str]:
    """CJK character bigrams (marked with a leading "§" so they never collide with words)."""
    out: list[str] = []
    for run in _CJK.findall(normalize(text)):
        out += ["§" + run[i : i + 2] for i in range(len(run) - 1)]
    return out


def _split_pinyin(word: str, syllables: set[str]) -> list[str]:
    """Greedy longest-match split of typed pinyin into known syllables; [] when it fails."""
    out: list[str] = []
    i = 0
    while i < len(word):
        for size in range(min(6, len(word) - i), 0, -1):
            if word[i : i + size] in syllables:
                out.append(word[i : i + size])
                i += size
                break
        else:
            return []
    return out


# --- snippets ------------------------------------------------------------------------------


def highlight(text: str, words: Sequence[str], width: int = 120) -> str:
    """An HTML-safe window of ``text`` around the query words, each wrapped in ``<mark>``."""
    plain = " ".join((text or "").split())
    needles = sorted({w for w in words if w and (len(w) > 1 or _CJK.match(w))}, key=len)[::-1]
    lowered = plain.lower()
    spans: list[tuple[int, int]] = []
    for needle in needles:
        start = 0
        while True:
            at = lowered.find(needle, start)
            if at < 0:
                break
            end = at + len(needle)
            if not any(a < end and at < b for a, b in spans):
                spans.append((at, end))
            start = end
    spans.sort()
    begin = 0
    if spans and len(plain) > width:
        # the window with the most matches, starting a little before the first of them
        best, best_count = spans[0][0], 0
        for a, _b in spans:
            count = sum(1 for x, _y in spans if a <= x < a + width)
            if count > best_count:
                best, best_count = a, count
        begin = max(0, best - 20)
    end = min(len(plain), begin + width)
    out: list[str] = ["…" if begin > 0 else ""]
    cursor = begin
    for a, b in spans:
        if a < begin or b > end:
            continue
        out.append(html.escape(plain[cursor:a]))
        out.append(f"<mark>{html.escape(plain[a:b])}</mark>")
        cursor = b
    out.append(html.escape(plain[cursor:end]))
    if end < len(plain):
        out.append("…")
    return "".join(out)
