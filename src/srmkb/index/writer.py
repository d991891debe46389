"""Writing a local base: documents into immutable segments, committed atomically.

Each batch of documents becomes one segment: chunked, analysed, embedded, written to
its folder, checksummed and committed with its catalog rows in one SQLite transaction.
The segment is marked pending before its files are written, so a crash at any point
leaves either the whole commit or files the next writer removes. Tiered merging keeps
the segment count logarithmic in the base's size.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..documents import Document, IngestError, Passage, SyncReport, encode_document, tracked
from ..errors import DocumentExistsError
from ..storage.layout import SEGMENTS, collect_garbage, disk_errors, file_checksums, write_lock
from ..storage.writes import (
    bump_generation,
    delete_documents,
    drop_segments,
    forget_segment_files,
    insert_documents,
    insert_passages,
    insert_segment,
    mark_segments,
    move_passages,
    purge_history,
)
from ..text.analysis import passage_terms
from ..text.chunking import chunk_document
from ..text.language import document_language, primary_language
from .protocol import Progress
from .reader import Embed, IndexReader
from .segments import Segment, merge_segments

log = logging.getLogger(__name__)

# Tiered merging: segments whose sizes share a power of MERGE_FACTOR form a tier; a tier
# holding MERGE_FACTOR segments is merged into one. Segments over half deleted are
# rewritten. This keeps the segment count logarithmic in the base size.
MERGE_FACTOR = 8
# What a document's content can raise on its way into the base (a number SQLite cannot
# hold, text a codec rejects...): upsert reports that document and commits the others.
_DOCUMENT_ERRORS = (ValueError, TypeError, ArithmeticError, RecursionError)


class LocalWriter:
    """The :class:`~srmkb.index.protocol.IndexWriter` of a local base.

    ``embed`` gives the function that embeds passages (None for a BM25-only base; the
    model loads only when a batch needs it); ``committed`` runs after every write, under
    the write lock (the base updates its manifest there).
    """

    def __init__(
        self,
        reader: IndexReader,
        *,
        dense_factory: str,
        max_words: int,
        embed: Callable[[], Embed] | None,
        committed: Callable[[], None],
    ) -> None:
        self._reader = reader
        self._catalog = reader.catalog
        self._path = reader.path
        self._factory = dense_factory
        self._max_words = max_words
        self._embed = embed
        self._committed = committed
        self._lock = threading.RLock()  # the file lock does not order this process's threads

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the write lock on an up-to-date version (another process may have
        committed segments a merge needs), after removing what failed or merged writes
        left; running out of space raises :class:`~srmkb.errors.DiskFullError`."""
        with self._lock, write_lock(self._path), disk_errors(self._path):
            self._reader.refresh()
            marked = self._catalog.segment_files()
            if marked:
                collect_garbage(self._path, marked)
                with self._catalog.transaction() as db:
                    forget_segment_files(db, marked)
            yield

    def upsert(
        self,
        documents: Iterable[Document | IngestError],
        *,
        batch_size: int = 256,
        progress: Progress | None = None,
    ) -> SyncReport:
        report = SyncReport()
        with self.writing():
            batch: list[Document] = []
            for doc in documents:
                if isinstance(doc, IngestError):  # what a connector could not read
                    report += SyncReport(errors=(doc,))
                    continue
                batch.append(doc)
                if len(batch) >= batch_size:
                    report += self._commit(batch, progress)
                    batch = []
            if batch:
                report += self._commit(batch, progress)
            self._maybe_merge()
            self._committed()
        return report

    def add(self, documents: Iterable[Document], **kwargs: Any) -> SyncReport:
        """Add new documents; an id already stored raises :class:`DocumentExistsError`."""
        docs = list(documents)
        existing = self._catalog.stored_versions([d.id for d in docs])
        if existing:
            first = sorted(existing)[0]
            raise DocumentExistsError(
                f"document {first!r} is already in the base ({len(existing)} such ids); use upsert"
            )
        return self.upsert(docs, **kwargs)

    def sync(
        self,
        documents: Iterable[Document | IngestError],
        *,
        sources: Sequence[str],
        **kwargs: Any,
    ) -> SyncReport:
        """Upsert ``documents``, then delete those from ``sources`` that were not seen;
        documents from a file that could not be read (an :class:`IngestError` for it)
        are kept, not deleted."""
        seen: set[str] = set()
        unread: list[str] = []
        report = self.upsert(tracked(documents, seen.add, unread), **kwargs)
        kept = set(self._catalog.document_ids(source_prefixes=unread)) if unread else set()
        stored = self._catalog.document_ids(source_prefixes=sources)
        stale = [d for d in stored if d not in seen and d not in kept]
        if stale:
            report += self.delete(stale)
        return report

    def delete(self, ids: Sequence[str]) -> SyncReport:
        with self.writing():
            with self._catalog.transaction() as db:
                removed = delete_documents(db, ids)
                bump_generation(db)
            self._reader.reload()
            self._maybe_merge()
            self._committed()
        return SyncReport(deleted=tuple(removed))

    def purge(self, ids: Sequence[str]) -> None:
        with self.writing():
            with self._catalog.transaction() as db:
                purge_history(db, ids)
                bump_generation(db)

    def optimize(self) -> None:
        with self.writing():
            segments = self._catalog.segments()
            if len(segments) > 1 or any(deleted.any() for _, _, deleted in segments):
                self._merge([seg_id for seg_id, _, _ in segments])
            self._committed()

    # -- commits -----------------------------------------------------------------------

    def _commit(self, batch: list[Document], progress: Progress | None) -> SyncReport:
        unique: dict[str, Document] = {}
        for doc in batch:
            unique[doc.id] = doc  # the last occurrence of an id wins
        report = self._commit_or_split(list(unique.values()))
        if progress:
            progress(len(batch))
        return report

    def _commit_or_split(self, docs: list[Document]) -> SyncReport:
        """Commit ``docs``; if one of them cannot be indexed, commit the rest without it.

        A document's content can still fail where :class:`Document` checks nothing (the
        chunker, an analyzer, the embedder, SQLite). Then the halves are committed apart,
        down to the documents at fault, which are reported: the batch's other documents
        and what the base held under the faulty ids stay. Other errors (a full disk, a
        locked database) are the base's, not a document's, and raise.
        """
        try:
            return self._commit_unique(docs)
        except _DOCUMENT_ERRORS as exc:
            failure = exc  # split outside the handler, so tracebacks don't chain
        if len(docs) > 1:
            mid = len(docs) // 2
            return self._commit_or_split(docs[:mid]) + self._commit_or_split(docs[mid:])
        doc = docs[0]
        log.warning("document %r could not be indexed", doc.id, exc_info=failure)
        reason = f"document {doc.id!r} could not be indexed: {type(failure).__name__}: {failure}"
        return SyncReport(errors=(IngestError(doc.source or doc.id, reason),))

    def _commit_unique(self, docs: list[Document]) -> SyncReport:
        """Index and store ``docs`` (distinct ids) in one segment and one transaction."""
        unique = {d.id: d for d in docs}
        encoded = {d.id: encode_document(d) for d in unique.values()}  # (body, content hash)
        # The write lock is held, so what is stored cannot change before the commit below.
        stored = self._catalog.stored_versions(list(unique))
        same = {i for i in unique if i in stored and stored[i][0] == encoded[i][1]}
        unchanged = tuple(i for i in unique if i in same)
        changed = [d for d in unique.values() if d.id not in same]
        if not changed:
            return SyncReport(unchanged=unchanged)
        passages: list[Passage] = []
        languages: dict[str, str] = {}
        for doc in changed:
            language = primary_language(doc.language) if doc.language else document_language(doc)
            languages[doc.id] = language
            passages.extend(chunk_document(doc, language=language, max_words=self._max_words))
        vectors = None
        if self._embed is not None:
            vectors = self._embed()([p.indexed_text for p in passages])
        # A generator: each passage's terms are analysed as the lexical build takes them,
        # so a large batch never holds every passage's term strings at once.
        tokens = (passage_terms(p) for p in passages)
        segment = Segment.build(passages, tokens, vectors, factory=self._factory)
        updated = tuple(d.id for d in changed if d.id in stored)

        def record(db: sqlite3.Connection) -> None:
            delete_documents(db, updated, deleted=False)
            insert_documents(db, [(d, *encoded[d.id], languages[d.id]) for d in changed])
            insert_passages(db, segment.id, passages)

        self._commit_segment(segment, record)
        self._reader.reload()
        added = tuple(d.id for d in changed if d.id not in stored)
        return SyncReport(added=added, updated=updated, unchanged=unchanged)

    def _commit_segment(
        self, segment: Segment, record: Callable[[sqlite3.Connection], None]
    ) -> None:
        """Write ``segment`` and commit it with what ``record`` writes, in one transaction.

        The segment is marked pending first, so a crash at any point leaves either the
        commit whole or files the next writer removes.
        """
        with self._catalog.transaction() as db:
            mark_segments(db, [segment.id], "pending")
        try:
            written = segment.write(self._path / SEGMENTS, self._factory)
            checksums = file_checksums(written)
            with self._catalog.transaction() as db:
                record(db)
                insert_segment(db, segment.id, segment.n_passages, checksums)
                bump_generation(db)
        except BaseException:
            # Rolled back: no commit refers to the segment. Its files go now; should
            # that fail too, it stays marked pending for the next writer to remove.
            self._discard_segment(segment.id)
            raise
        # Not remembered as built: the reader maps the written files when it next loads,
        # so a build's segments sit in the page cache, not in this process's own memory
        # (kept, they held ~1.4 KB per passage until the build ended: 1M peaked at 3 GB).

    def _discard_segment(self, seg_id: str) -> None:
        collect_garbage(self._path, [seg_id])
        try:
            with self._catalog.transaction() as db:
                forget_segment_files(db, [seg_id])
        except Exception:  # a full disk, say: the pending mark stays, which is safe
            log.warning("segment %s stays marked pending", seg_id, exc_info=True)

    # -- merging -----------------------------------------------------------------------

    def _maybe_merge(self) -> None:
        while True:
            plan = self._merge_plan()
            if not plan:
                return
            self._merge(plan)

    def _merge_plan(self) -> list[str]:
        tiers: dict[int, list[str]] = {}
        for seg_id, n, deleted in self._catalog.segments():
            alive = n - int(deleted.sum())
            if alive == 0 or deleted.sum() > n / 2:
                return [seg_id]
            tier = int(np.log(max(alive, 1)) / np.log(MERGE_FACTOR))
            tiers.setdefault(tier, []).append(seg_id)
        for tier in sorted(tiers):
            if len(tiers[tier]) >= MERGE_FACTOR:
                return tiers[tier]
        return []

    def _merge(self, seg_ids: list[str]) -> None:
        deleted = {seg_id: mask for seg_id, _, mask in self._catalog.segments()}
        parts = [(self._reader.segment(i), ~deleted[i]) for i in seg_ids]
        alive = sum(int(keep.sum()) for _, keep in parts)
        if alive == 0:
            with self._catalog.transaction() as db:
                drop_segments(db, seg_ids)
                bump_generation(db)
        else:
            merged, pids = merge_segments(parts, factory=self._factory)
            del parts  # the inputs' maps go before the merged segment is written
            self._reader.forget(seg_ids)

            def record(db: sqlite3.Connection) -> None:
                move_passages(db, merged.id, pids, [(i, ~deleted[i]) for i in seg_ids])
                mark_segments(db, seg_ids, "retired")

            self._commit_segment(merged, record)
        self._reader.reload()
        # Readers holding the old segments keep their maps; their record reads find the
        # passages moved and rank again on the new version. Folders are removed a few at
        # once: a large build's final merge retires hundreds, one after another ~3× slower.
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(seg_ids)))) as pool:
            list(pool.map(lambda seg_id: collect_garbage(self._path, [seg_id]), seg_ids))
        with self._catalog.transaction() as db:
            forget_segment_files(db, seg_ids)
