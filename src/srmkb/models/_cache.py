"""A cache in front of an embedder, so the same passage text is embedded once.

Embedding is the slow part of ingest (multilingual-e5-small: about 10 passages/s on two
cores). A base skips documents whose content hash is unchanged, but an edited document
is re-chunked whole, a rebuilt base starts empty, and answers embed the lines of the
passages they cite; :class:`CachedEmbedder` answers all of those from an
:class:`~srmkb.storage.embedding_store.EmbeddingStore` (SQLite).

Only document embeddings are cached; queries are embedded differently by some models
(e5's ``"query: "`` prefix) and are cheap one at a time.

``SRMKB_EMBEDDING_CACHE`` names a folder for a user-level cache shared by every base
(``embeddings.sqlite`` in it), or ``off`` to cache nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..storage.embedding_store import CACHE_FILE, EmbeddingStore, text_key
from ._base import Embedder

#: The environment variable naming the user-level cache folder, or ``off``.
ENV_VAR = "SRMKB_EMBEDDING_CACHE"


class CachedEmbedder:
    """An :class:`Embedder` that looks document vectors up in a store before embedding.

    Only the texts not found go to the wrapped model, in one ``embed_documents`` call
    (each distinct text once), and their vectors are stored. Vectors come back exactly as
    the model gave them (float32). Caches nest: wrap a :class:`CachedEmbedder` to look in
    a base's cache first and a user-level cache second.
    """

    def __init__(self, embedder: Embedder, store: EmbeddingStore | str | Path) -> None:
        self.inner = embedder
        self.store = store if isinstance(store, EmbeddingStore) else EmbeddingStore(store)
        self.model_id = embedder.model_id
        self.dimension = embedder.dimension
        self.hits = 0
        self.misses = 0

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        keys = [text_key(t) for t in texts]
        found = self.store.get(self.model_id, keys, self.dimension)
        missing: dict[bytes, str] = {}
        for key, text in zip(keys, texts):
            if key not in found:
                missing.setdefault(key, text)
        if missing:
            vectors = np.asarray(self.inner.embed_documents(list(missing.values())), np.float32)
            computed = dict(zip(missing, vectors))
            self.store.put(self.model_id, list(computed.items()))
            found.update(computed)
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        for row, key in enumerate(keys):
            out[row] = found[key]
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def __getattr__(self, name: str) -> object:
        # Anything else (a test embedder's call counter, a model's options) is the
        # wrapped embedder's; "inner" itself is guarded against recursion while unset.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def close(self) -> None:
        """Close the store, and the wrapped embedder's when it has one (a nested cache)."""
        self.store.close()
        inner_close = getattr(self.inner, "close", None)
        if callable(inner_close):
            inner_close()


def cache_for_base(embedder: Embedder, base: str | Path) -> Embedder:
    """``embedder`` behind the cache of the base at ``base`` and, when
    ``SRMKB_EMBEDDING_CACHE`` names a folder, the user-level cache there.

    ``SRMKB_EMBEDDING_CACHE=off`` returns ``embedder`` unchanged.
    """
    setting = os.environ.get(ENV_VAR, "").strip()
    if setting.lower() in ("off", "0", "false", "no"):
        return embedder
    if setting:
        embedder = CachedEmbedder(embedder, Path(setting).expanduser() / CACHE_FILE)
    return CachedEmbedder(embedder, Path(base) / CACHE_FILE)
