"""Reading files and folders into a base: the sources of an ingest and its progress.

:meth:`KnowledgeBase.ingest <srmkb.KnowledgeBase.ingest>` and ``srmkb ingest`` both read
through :class:`Sources`, so a path is checked, read and reported one way: a path that
does not exist is an :class:`InputError` before anything is written; a file the
connectors cannot read is an :class:`IngestError` in the report, and the rest goes on.

Progress counts documents. A base commits them in batches (256 by default) and embeds
a batch's passages in one go, so a count per commit would stand still for the minutes a
large batch embeds and then jump. While an ingest reports progress, the base's model
(:class:`ReportingSlot`) embeds in chunks and :class:`IngestProgress` advances the count
through the batch as its passages are embedded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .documents import Document, IngestError
from .errors import InputError
from .index.protocol import Progress
from .models import Embedder, ModelSlot

# Passages embedded between two progress reports: small enough for a bar to move every
# second or so on two cores, large enough for the model's own length-sorted batches.
_CHUNK = 32


class Sources:
    """The documents in some files and folders, read by the registered connectors.

    Iterating reads them anew, yielding :class:`Document` values and an
    :class:`IngestError` for each file or line that could not be read (as
    ``srmkb.connectors.read_paths`` does), each path with its own connectors so page
    and PDF ids are relative to it. Every path must exist: a typo is an
    :class:`InputError` here, before a base is opened or written.
    """

    def __init__(
        self, paths: str | Path | Iterable[str | Path], *, max_file_bytes: int | None = None
    ) -> None:
        given = [paths] if isinstance(paths, (str, Path)) else list(paths)
        if not given:
            raise InputError("no file or folder to ingest was given")
        self.paths: tuple[Path, ...] = tuple(Path(p) for p in given)
        missing = [str(p) for p in self.paths if not p.exists()]
        if missing:
            raise InputError(f"no such file or folder: {', '.join(missing)}; nothing was ingested")
        self.max_file_bytes = max_file_bytes
        self._connectors: list[object] = []

    @property
    def roots(self) -> list[str]:
        """The paths as absolute paths: the sources a sync mirrors."""
        return [str(p.resolve()) for p in self.paths]

    @property
    def skipped(self) -> int:
        """Records the last reading left out on purpose (a CRM case not yet resolved)."""
        return sum(int(getattr(c, "skipped", 0)) for c in self._connectors)

    def __iter__(self) -> Iterator[Document | IngestError]:
        from .connectors import read_paths, registered_connectors
        from .connectors.registry import MAX_FILE_BYTES

        limit = MAX_FILE_BYTES if self.max_file_bytes is None else self.max_file_bytes
        self._connectors = []
        for path in self.paths:
            connectors = registered_connectors(path if path.is_dir() else path.parent)
            self._connectors.extend(connectors)
            yield from read_paths([path], connectors, max_file_bytes=limit)


class IngestProgress:
    """Documents done, reported through ``report(n)`` (``n`` more done) as a batch's
    passages are embedded, not only when the batch commits.

    While a batch embeds, the documents read into it count as done in proportion to its
    passages embedded, one short of the whole batch; its commit reports the rest. So the
    count never runs ahead of what is committed by more than the batch being embedded,
    and it ends at exactly the number of documents committed.
    """

    def __init__(self, report: Progress) -> None:
        self._report = report
        self._read = 0  # documents read into the batch being built or embedded
        self._shown = 0  # of those, how many were reported already

    def reading(self, items: Iterable[Document | IngestError]) -> Iterator[Document | IngestError]:
        """``items`` passed through, counting the documents the writer takes."""
        for item in items:
            if isinstance(item, Document):
                self._read += 1
            yield item

    def embedded(self, done: int, total: int) -> None:
        """``done`` of the ``total`` passages of one embedding call are embedded."""
        target = min(self._read * done // max(total, 1), self._read - 1)
        if target > self._shown:
            self._report(target - self._shown)
            self._shown = target

    def committed(self, n: int) -> None:
        """The writer committed a batch of ``n`` documents (its progress callback)."""
        rest = n - self._shown
        if rest > 0:
            self._report(rest)
        self._read = max(self._read - n, 0)
        self._shown = 0


class ReportingSlot(ModelSlot):
    """A base's :class:`ModelSlot` that, while :meth:`reporting` is active in a thread,
    hands that thread an embedder reporting its progress chunk by chunk. Other threads
    (searches while an ingest runs) get the model as it is."""

    def __init__(
        self, model: str | Embedder | None, *, base: Path, threads: int | None = None
    ) -> None:
        super().__init__(model, base=base, threads=threads)
        self._local = threading.local()

    @contextmanager
    def reporting(self, progress: IngestProgress) -> Iterator[None]:
        """Report the passages this thread embeds to ``progress`` until the block ends."""
        self._local.progress = progress
        try:
            yield
        finally:
            self._local.progress = None

    def get(self, stored: str | None) -> Embedder:
        embedder = super().get(stored)
        progress: IngestProgress | None = getattr(self._local, "progress", None)
        return embedder if progress is None else _Chunked(embedder, progress)


class _Chunked:
    """An :class:`Embedder` that embeds documents ``_CHUNK`` at a time and reports each
    chunk. Each text is embedded on its own (padding is masked), so the vectors are the
    model's whatever the chunking, to float rounding."""

    def __init__(self, inner: Embedder, progress: IngestProgress) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        self._progress = progress

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) <= _CHUNK:
            out = self.inner.embed_documents(texts)
            self._progress.embedded(len(texts), len(texts))
            return out
        parts = []
        for start in range(0, len(texts), _CHUNK):
            parts.append(self.inner.embed_documents(texts[start : start + _CHUNK]))
            self._progress.embedded(min(start + _CHUNK, len(texts)), len(texts))
        return np.concatenate(parts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)
