"""Embedding cache for benchmarks: vectors keyed by model and text hash, kept outside git."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from srmkb.models import Embedder

CACHE = Path(os.environ.get("SRMKB_BENCH_CACHE", Path.home() / ".cache" / "srmkb-bench"))


def cached_embeddings(
    embedder: Embedder, texts: Sequence[str], *, query: bool = False
) -> np.ndarray:
    """Embed texts, reusing vectors computed by an earlier run for the same texts."""
    digest = hashlib.sha256()
    digest.update(embedder.model_id.encode())
    digest.update(b"q" if query else b"d")
    for text in texts:
        digest.update(hashlib.sha256(text.encode()).digest())
    path = CACHE / f"{digest.hexdigest()[:24]}.npy"
    if path.exists():
        return np.load(path)
    if query:
        vectors = (
            np.stack([embedder.embed_query(t) for t in texts])
            if texts
            else np.zeros((0, embedder.dimension), np.float32)
        )
    else:
        vectors = embedder.embed_documents(texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    os.replace(tmp, path)
    return vectors
