"""The embedding model of one base: named in its manifest, loaded on first use."""

from __future__ import annotations

import threading
from pathlib import Path

from ..errors import ModelMismatchError, SrmkbError
from ._base import Embedder
from ._cache import CachedEmbedder, cache_for_base
from ._registry import MODEL_IDS, load_embedder


class ModelSlot:
    """The model a base embeds with: an :class:`Embedder` given by the caller, or one
    named (by the caller, else by the base's manifest) and loaded once, on first use,
    behind the base's vector cache (so the same text is never embedded twice)."""

    def __init__(
        self, model: str | Embedder | None, *, base: Path, threads: int | None = None
    ) -> None:
        self._base = base
        self._threads = threads
        self._name = model if isinstance(model, str) else None
        self._embedder = model if not isinstance(model, (str, type(None))) else None
        self._owned = False
        self._lock = threading.Lock()

    @property
    def loaded(self) -> Embedder | None:
        """The model if it is loaded, else None."""
        return self._embedder

    def wanted_id(self) -> str | None:
        """The model id the caller asked for, or None when they named none."""
        if self._embedder is not None:
            return self._embedder.model_id
        return MODEL_IDS.get(self._name, self._name) if self._name else None

    def check(self, stored: str | None) -> None:
        """Raise :class:`ModelMismatchError` when the caller asked for another model than
        the base's ``stored`` one."""
        wanted = self.wanted_id()
        if wanted is not None and stored is not None and wanted != stored:
            raise ModelMismatchError(
                f"{self._base} was built with embedding model {stored!r}, not {wanted!r}:"
                " open it without a model (or with that one), or ingest into a new base"
            )

    def get(self, stored: str | None) -> Embedder:
        """The model, loading the caller's choice or else the ``stored`` one on first use."""
        if self._embedder is not None:
            return self._embedder
        with self._lock:  # a warm-up thread and a first request load it once
            if self._embedder is None:
                name = self._name or stored
                if name is None:
                    raise SrmkbError("this base has no dense index (it was built with dense=False)")
                loaded = load_embedder(name, threads=self._threads)
                self._embedder = cache_for_base(loaded, self._base)
                self._owned = True
            return self._embedder

    def close(self) -> None:
        if self._owned and isinstance(self._embedder, CachedEmbedder):
            self._embedder.close()
