"""The int8 copy of a large index's vectors: products close to float32, and searches that rank
like float32 searches (it only chooses candidates; their scores are recomputed exactly)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.knowledge.int8rows import Int8Rows
from kefu.knowledge.search import SearchIndex, Segmenter
from tests.unit.knowledge.test_abtt import Skewed, _config, _docs

pytestmark = pytest.mark.unit


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 400),
    st.sampled_from([8, 64, 384]),
    st.integers(0, 2**32 - 1),
)
def test_int8_products_are_within_a_hundredth(rows: int, dim: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(rows, dim)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    query = rng.normal(size=dim).astype(np.float32)
    query /= np.linalg.norm(query)
    approx = Int8Rows(matrix).product(query)
    assert approx.shape == (rows,)
    assert np.abs(approx - matrix @ query).max() < 0.01


def _pair(count: int) -> tuple[SearchIndex, SearchIndex]:
    exact = SearchIndex(Segmenter(), Skewed(dim=64), _config(int8_entries=0))
    fast = SearchIndex(Segmenter(), Skewed(dim=64), _config(int8_entries=1))
    for index in (exact, fast):
        index.upsert(_docs(count))
    return exact, fast


def _agree(exact: SearchIndex, fast: SearchIndex, queries: list[str]) -> float:
    same = 0
    for query in queries:
        a, b = exact.search(query, limit=10), fast.search(query, limit=10)
        assert a[0].id == b[0].id, query
        by_id = {hit.id: hit.score for hit in a}
        for hit in b:  # every score shown is the exact one
            if hit.id in by_id:
                assert hit.score == pytest.approx(by_id[hit.id], abs=1e-5), query
        same += [h.id for h in a] == [h.id for h in b]
    return same / len(queries)


def test_int8_searches_rank_like_float32_as_the_index_grows() -> None:
    exact, fast = _pair(1500)
    assert fast._channels[0].approximate() and not exact._channels[0].approximate()
    assert fast._channels[0]._int8 is None
    fast.prepare()  # as the tenant index does after loading articles, before any search
    assert fast._channels[0]._int8 is not None
    queries = [f"问题{k}号" for k in range(1, 1500, 37)] + ["第12条答案", "问题"]
    assert _agree(exact, fast, queries) >= 0.95
    frozen = fast._channels[0]._int8
    assert frozen is not None and frozen.n == fast._channels[0].vectors.n
    # new articles land after the int8 copy: they are multiplied in float32 until a rebuild
    for index in (exact, fast):
        index.upsert(_docs(300, start=1500))
    assert fast._channels[0]._int8 is frozen
    queries = [f"问题{k}号" for k in range(1500, 1800, 11)]
    assert _agree(exact, fast, queries) >= 0.95
