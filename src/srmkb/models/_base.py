"""The :class:`Embedder` protocol and what every built-in embedder shares."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Turns text into unit vectors; queries and documents may be encoded differently.

    Any object with ``model_id``, ``dimension``, ``embed_documents`` and ``embed_query``
    plugs in. Vectors are float32 and L2-normalised, so inner product is cosine similarity.
    A multilingual model may also carry ``query_means``, its mean question vector per
    language, for questions asked across languages (see :func:`srmkb.models.query_means`).
    """

    model_id: str
    dimension: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Return a ``(len(texts), dimension)`` float32 array of unit vectors."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Return a ``(dimension,)`` float32 unit vector."""
        ...


def no_vectors(dimension: int) -> np.ndarray:
    """The ``(0, dimension)`` float32 array that embedding no text gives."""
    return np.zeros((0, dimension), dtype=np.float32)


def configure_threads(n: int | None = None) -> int:
    """Pin faiss's thread pool, and torch's if torch is loaded, to ``n`` threads (default:
    ``SRMKB_THREADS``, else the CPU count); return ``n`` for onnxruntime sessions.

    On shared cores the default spinning OpenMP pools made queries 10–100× slower, so
    srmkb sets ``OMP_WAIT_POLICY=PASSIVE`` at import and explicit counts here. torch is
    not imported here: the built-in models run without it.
    """
    n = n or int(os.environ.get("SRMKB_THREADS", 0)) or (os.cpu_count() or 1)
    try:
        import faiss

        faiss.omp_set_num_threads(n)
    except ImportError:  # pragma: no cover - faiss is a core dependency
        pass
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
    return n
