"""The knowledge base: one object to add documents to and search.

A :class:`KnowledgeBase` is a directory. Writes are batched into immutable segments and
committed atomically through the SQLite catalog; reads use an immutable snapshot, so
many threads can search while one writes and each sees one consistent state. Every
search and answer first picks up commits made by other processes (one generation
number read), and everything it returns comes from the version that ranked it: passage
records are read by the segment row the snapshot holds, never by id.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import numbers
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np

from . import filters as _filters
from ._version import __version__
from .answers import (
    CHANNELS,
    Answer,
    Channel,
    Related,
    declined,
    render,
    select,
    split_sentences,
)
from .audit import AuditLog, Outcome
from .check import CheckReport, check_base
from .confidence import answer_features, default_model
from .dense import DenseIndex
from .documents import Document, Hit, IngestError, Passage, SyncReport
from .embedders import (
    MODEL_IDS,
    Embedder,
    cosine_map,
    load_embedder,
    model_languages,
    query_means,
)
from .embedding_cache import CachedEmbedder, cache_for_base
from .errors import DocumentExistsError, InputError, ModelMismatchError, SrmkbError, StorageError
from .lexical import BM25Params
from .persistence import (
    CATALOG,
    FORMAT_VERSION,
    INTERACTIONS,
    SEGMENTS,
    Manifest,
    collect_garbage,
    disk_errors,
    file_checksums,
    read_manifest,
    write_lock,
    write_manifest,
)
from .query import Query
from .retrieval import CANDIDATES, Ranking, Snapshot, language_samples, lexical_index
from .segments import Segment, merge_segments
from .store import (
    Catalog,
    PassageRecord,
    VersionInfo,
    bump_generation,
    delete_documents,
    filter_fields,
    forget_segment_files,
    insert_document,
    insert_passages,
    insert_segment,
    mark_segments,
    move_passages,
    purge_history,
)
from .text.analysis import passage_terms
from .text.chunking import DEFAULT_MAX_WORDS, chunk_document
from .text.language import (
    UNDETERMINED,
    detect_language,
    primary_language,
)

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "bm25", "dense"]
Audience = Literal["customer", "agent"]
MODES: tuple[str, ...] = ("hybrid", "bm25", "dense")
AUDIENCES: tuple[str, ...] = ("customer", "agent")

# Passages an answer's confidence looks at, lines of a passage it embeds, line vectors
# it keeps.
_EVIDENCE_DEPTH = 20
_MAX_LINES = 60
_LINE_CACHE = 50_000
# Tiered merging: segments whose sizes share a power of _MERGE_FACTOR form a tier; a
# tier holding _MERGE_FACTOR segments is merged into one. Segments over half deleted are
# rewritten. This keeps the segment count logarithmic in the base size.
_MERGE_FACTOR = 8
# A read whose records a concurrent commit removed (an update, a delete, a merge) ranks
# again on the new snapshot, this many times at most; the last try drops what is gone.
_READ_ATTEMPTS = 3
# Longest query or question accepted (characters): a query is a question, not a document.
MAX_QUERY_CHARS = 10_000

_T = TypeVar("_T")
Progress = Callable[[int], None]
When = dt.datetime | dt.date | str | float
# What a document's content can raise on its way into the base (a number SQLite cannot
# hold, text a codec rejects...): upsert reports that document and commits the others.
_DOCUMENT_ERRORS = (ValueError, TypeError, ArithmeticError, RecursionError)


@dataclass(frozen=True)
class Evidence:
    """What an answer is chosen from: the ranking, its documents and confidence features."""

    ranking: Ranking
    document_ids: list[str]
    features: list[float]


class SearchResults(list[Hit]):
    """The hits of a search, best first, and the id of the interaction that logged it
    (pass it to :meth:`KnowledgeBase.feedback`)."""

    interaction_id: str | None = None


class _StaleRead(Exception):  # noqa: N818 - internal control flow, never raised to a caller
    """A record the snapshot ranked is gone from the catalog: a newer commit removed it."""


class KnowledgeBase:
    """A searchable knowledge base stored in a directory.

    ``KnowledgeBase(path)`` opens the base at ``path``, creating it when absent.
    ``model`` names the embedding model (``"minilm"``, the default for new bases,
    ``"multilingual"`` for French and cross-lingual bases, or ``"hashing"``) or is an
    :class:`Embedder`; ``dense=False`` builds a BM25-only base.
    Opening an existing base with another model raises :class:`ModelMismatchError`.
    ``dense_index`` is a faiss factory string: ``"Flat"`` (exact, the default) or, for
    large bases, ``"HNSW32"``. ``log_interactions`` overrides the base's logging setting
    for this object only (``False`` for an evaluation run that should leave no trace).

    Opening an existing base never creates, truncates or deletes a file: a missing or
    damaged part raises :class:`StorageError` naming it (see :meth:`check`).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        model: str | Embedder | None = None,
        dense: bool = True,
        dense_index: str = "Flat",
        max_words: int = DEFAULT_MAX_WORDS,
        create: bool = True,
        threads: int | None = None,
        log_interactions: bool | None = None,
    ) -> None:
        self.path = Path(path)
        self._threads = threads
        self._model_lock = threading.Lock()
        self._owns_cache = False
        self._embedder: Embedder | None = (
            model if not isinstance(model, (str, type(None))) else None
        )
        self._model_name = model if isinstance(model, str) else None
        exists = (self.path / "manifest.json").exists()
        if exists:
            self.manifest = read_manifest(self.path)
            self._check_model(model)
        elif not create:
            raise StorageError(f"no knowledge base at {self.path}; create it with srmkb ingest")
        elif (self.path / CATALOG).exists() or any((self.path / SEGMENTS).glob("[!.]*")):
            raise StorageError(
                f"{self.path / 'manifest.json'} is missing but the folder holds a base: it is"
                " damaged; nothing was changed (restore the manifest, or ingest into a new folder)"
            )
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            (self.path / SEGMENTS).mkdir(exist_ok=True)
            model_id, dim = None, None
            if dense:
                embedder = self._get_embedder(model or "minilm")
                model_id, dim = embedder.model_id, embedder.dimension
            self.manifest = Manifest(
                format_version=FORMAT_VERSION,
                srmkb_version=__version__,
                model_id=model_id,
                dimension=dim,
                dense_index=dense_index,
                max_words=max_words,
            )
        self._catalog = Catalog(self.path / CATALOG, create=not exists)
        self._audit = AuditLog(self.path / INTERACTIONS, enabled=log_interactions)
        self._params = BM25Params(self.manifest.bm25_k1, self.manifest.bm25_b)
        self._lock = threading.RLock()
        self._reading = threading.local()  # .final: the last attempt of a read
        self._loaded: dict[str, Segment] = {}
        self._filter_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._line_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        try:
            self._snapshot = self._load_snapshot()
        except BaseException:
            self._catalog.close()
            raise
        if not exists:
            self._write_manifest()

    # -- model -------------------------------------------------------------------------

    @property
    def model_id(self) -> str | None:
        """The embedding model of the base, or None for a BM25-only base."""
        return self.manifest.model_id

    def _check_model(self, model: str | Embedder | None) -> None:
        stored = self.manifest.model_id
        if model is None or stored is None:
            return
        if isinstance(model, str):
            wanted = MODEL_IDS.get(model, model)
        else:
            wanted = model.model_id
        if wanted != stored:
            raise ModelMismatchError(
                f"{self.path} was built with embedding model {stored!r}, not {wanted!r}:"
                " open it without a model (or with that one), or ingest into a new base"
            )

    def _get_embedder(self, model: str | Embedder | None = None) -> Embedder:
        if self._embedder is None:
            with self._model_lock:  # a warm-up thread and a first request load it once
                return self._load_embedder(model)
        return self._embedder

    def _load_embedder(self, model: str | Embedder | None) -> Embedder:
        if self._embedder is None:
            name = model if isinstance(model, str) else self._model_name
            if name is None:
                name = self.manifest.model_id
            if name is None:
                raise SrmkbError("this base has no dense index (it was built with dense=False)")
            # Named models embed through the base's vector cache (embeddings.sqlite), so
            # re-ingest, sync and rebuilt passages never embed the same text twice.
            self._embedder = cache_for_base(load_embedder(name, threads=self._threads), self.path)
            self._owns_cache = True
        return self._embedder

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use."""
        return self._get_embedder()

    # -- snapshot ----------------------------------------------------------------------

    @property
    def _dense_factory(self) -> str | None:
        """The faiss factory of the base's dense segments; None for a BM25-only base."""
        return self.manifest.dense_index if self.manifest.model_id else None

    def _load_segments(self) -> tuple[int, list[tuple[str, int, np.ndarray]], list[Segment]]:
        """The committed state and its segments, loaded. A segment that vanishes while
        it loads was merged away by another process's newer commit: load that one."""
        factory = self._dense_factory
        while True:
            generation, rows = self._catalog.state()
            segments = []
            try:
                for seg_id, n, _ in rows:
                    seg = self._loaded.get(seg_id)
                    if seg is None:
                        directory = self.path / SEGMENTS / seg_id
                        if not directory.is_dir():
                            raise StorageError(f"{directory} is missing: the base is damaged")
                        seg = Segment.load(directory, dense_factory=factory)
                        if seg.n_passages != n:
                            raise StorageError(
                                f"{directory}: holds {seg.n_passages} rows, catalog says {n}"
                            )
                        self._loaded[seg_id] = seg
                    segments.append(seg)
            except (StorageError, OSError):
                # Files gone mid-load: a merge by another writer, if the state moved on.
                if self._catalog.generation() != generation:
                    continue
                raise
            return generation, rows, segments

    def _load_snapshot(self) -> Snapshot:
        generation, rows, segments = self._load_segments()
        factory = self._dense_factory
        self._loaded = {s.id: s for s in segments}
        if segments:
            live = ~np.concatenate([deleted for _, _, deleted in rows])
            internal = np.concatenate([np.asarray(s.internal) for s in segments])
            pids = np.concatenate([np.asarray(s.passage_ids) for s in segments])
            dids = np.concatenate([np.asarray(s.document_ids) for s in segments])
        else:
            live = np.zeros(0, dtype=bool)
            internal = np.zeros(0, dtype=bool)
            pids = dids = np.zeros(0, dtype=str)
        dense = None
        if factory is not None and all(s.dense is not None for s in segments):
            dense = DenseIndex([s.dense for s in segments], live)  # type: ignore[misc]
        self._filter_cache.clear()
        lexical, languages, shares = lexical_index(segments, live, self._params)
        return Snapshot(
            generation=generation,
            segments=tuple(segments),
            live=live,
            internal=internal,
            passage_ids=pids,
            document_ids=dids,
            lexical=lexical,
            dense=dense,
            languages=languages,
            language_shares=shares,
            model_languages=model_languages(self._embedder or self.manifest.model_id),
            language_samples=language_samples(segments, live) if dense is not None else {},
            query_means=query_means(self._embedder or self.manifest.model_id),
            cosine_map=cosine_map(self._embedder or self.manifest.model_id),
        )

    def refresh(self) -> bool:
        """Pick up commits made by another process; returns whether anything changed.

        Searches and answers call it first, so a long-lived base (the service) sees
        another process's commit on its next request.
        """
        if self._catalog.generation() == self._snapshot.generation:
            return False
        with self._lock:
            if self._catalog.generation() != self._snapshot.generation:
                self._snapshot = self._load_snapshot()
        return True

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the write lock on an up-to-date snapshot (another process may have
        committed segments a merge needs), after removing what failed or merged writes
        left; running out of space raises :class:`DiskFullError`."""
        with self._lock, write_lock(self.path), disk_errors(self.path):
            self.refresh()
            marked = self._catalog.segment_files()
            if marked:
                collect_garbage(self.path, marked)
                with self._catalog.transaction() as db:
                    forget_segment_files(db, marked)
            yield

    def _read(self, as_of: When | None, run: Callable[[Snapshot], _T]) -> _T:
        """Run a read on the current snapshot (or the one of ``as_of``); if a commit
        removed what it ranked before its records were read, run it again on the new one."""
        when = None if as_of is None else _timestamp(as_of)
        for attempt in range(_READ_ATTEMPTS):
            self.refresh()
            snap = self._snapshot if when is None else self._snapshot_at(when)
            self._reading.final = attempt == _READ_ATTEMPTS - 1
            try:
                return run(snap)
            except _StaleRead:
                continue
            finally:
                self._reading.final = True
        raise AssertionError("unreachable: the last attempt does not raise _Stale")

    # -- writing -----------------------------------------------------------------------

    def add(self, documents: Iterable[Document], **kwargs: object) -> SyncReport:
        """Add new documents; an id already in the base raises :class:`DocumentExistsError`.

        Use :meth:`upsert` to add or replace.
        """
        docs = list(documents)
        existing = self._catalog.stored_versions([d.id for d in docs])
        if existing:
            first = sorted(existing)[0]
            raise DocumentExistsError(
                f"document {first!r} is already in the base ({len(existing)} such ids); use upsert"
            )
        return self.upsert(docs, **kwargs)  # type: ignore[arg-type]

    def upsert(
        self,
        documents: Iterable[Document],
        *,
        batch_size: int = 256,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Add documents, replacing those whose id exists with other content.

        Documents are committed in batches of ``batch_size``: an interrupted upsert keeps
        every batch committed before the interruption, and running it again finishes the
        rest (unchanged documents are recognised by content hash and cost nothing).
        """
        report = SyncReport()
        with self._writing():
            batch: list[Document] = []
            for doc in documents:
                batch.append(doc)
                if len(batch) >= batch_size:
                    report += self._commit(batch, progress)
                    batch = []
            if batch:
                report += self._commit(batch, progress)
            self._maybe_merge()
            self._write_manifest()
        return report

    def delete(self, ids: Iterable[str]) -> SyncReport:
        """Delete documents by id; ids not in the base are ignored."""
        ids = list(ids)
        with self._writing():
            with self._catalog.transaction() as db:
                removed = delete_documents(db, ids)
                bump_generation(db)
            self._snapshot = self._load_snapshot()
            self._maybe_merge()
            self._write_manifest()
        return SyncReport(deleted=tuple(removed))

    def sync(
        self,
        documents: Iterable[Document],
        *,
        sources: Sequence[str],
        batch_size: int = 256,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Make the documents from ``sources`` mirror ``documents``.

        Upserts every document, then deletes documents whose ``source`` is one of
        ``sources`` (or lies under one of them) and that were not seen.
        """
        seen: set[str] = set()

        def tracked() -> Iterable[Document]:
            for doc in documents:
                seen.add(doc.id)
                yield doc

        report = self.upsert(tracked(), batch_size=batch_size, progress=progress)
        stale = [d for d in self._catalog.document_ids(source_prefixes=sources) if d not in seen]
        if stale:
            report += self.delete(stale)
        return report

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
        hashes = {d.id: d.content_hash() for d in unique.values()}
        # The write lock is held, so what is stored cannot change before the commit below.
        stored = self._catalog.stored_versions(list(unique))
        same = {i for i in unique if i in stored and stored[i][0] == hashes[i]}
        unchanged = tuple(i for i in unique if i in same)
        changed = [d for d in unique.values() if d.id not in same]
        if not changed:
            return SyncReport(unchanged=unchanged)
        passages: list[Passage] = []
        languages: dict[str, str] = {}
        for doc in changed:
            language = primary_language(doc.language) if doc.language else document_language(doc)
            languages[doc.id] = language
            passages.extend(
                chunk_document(doc, language=language, max_words=self.manifest.max_words)
            )
        tokens = [passage_terms(p) for p in passages]
        vectors = None
        if self.manifest.model_id is not None:
            vectors = self.embedder.embed_documents([p.indexed_text for p in passages])
        segment = Segment.build(passages, tokens, vectors, factory=self.manifest.dense_index)
        updated = tuple(d.id for d in changed if d.id in stored)

        def record(db: sqlite3.Connection) -> None:
            delete_documents(db, updated, deleted=False)
            for doc in changed:
                insert_document(db, doc, hashes[doc.id], languages[doc.id])
            insert_passages(db, segment.id, passages)

        self._commit_segment(segment, record)
        self._snapshot = self._load_snapshot()
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
            written = segment.write(self.path / SEGMENTS, self.manifest.dense_index)
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
        self._loaded[segment.id] = segment

    def _discard_segment(self, seg_id: str) -> None:
        collect_garbage(self.path, [seg_id])
        try:
            with self._catalog.transaction() as db:
                forget_segment_files(db, [seg_id])
        except Exception:  # a full disk, say: the pending mark stays, which is safe
            log.warning("segment %s stays marked pending", seg_id, exc_info=True)

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
            tier = int(np.log(max(alive, 1)) / np.log(_MERGE_FACTOR))
            tiers.setdefault(tier, []).append(seg_id)
        for tier in sorted(tiers):
            if len(tiers[tier]) >= _MERGE_FACTOR:
                return tiers[tier]
        return []

    def optimize(self) -> None:
        """Merge every segment into one and drop deleted rows (like Lucene's forceMerge)."""
        with self._writing():
            ids = [s[0] for s in self._catalog.segments()]
            if len(ids) > 1 or any(s[2].any() for s in self._catalog.segments()):
                self._merge(ids)
            self._write_manifest()

    def _merge(self, seg_ids: list[str]) -> None:
        deleted = {s[0]: s[2] for s in self._catalog.segments()}
        parts = [(self._loaded[i], ~deleted[i]) for i in seg_ids]
        alive = sum(int(k.sum()) for _, k in parts)
        if alive == 0:
            with self._catalog.transaction() as db:
                db.executemany("DELETE FROM segments WHERE id = ?", [(i,) for i in seg_ids])
                mark_segments(db, seg_ids, "retired")
                bump_generation(db)
        else:
            merged, pids = merge_segments(parts, factory=self.manifest.dense_index)

            def record(db: sqlite3.Connection) -> None:
                move_passages(db, merged.id, pids, seg_ids)
                mark_segments(db, seg_ids, "retired")

            self._commit_segment(merged, record)
        self._snapshot = self._load_snapshot()
        # Readers holding the old segments keep their maps; their record reads find the
        # passages moved and rank again on the new snapshot.
        collect_garbage(self.path, seg_ids)
        with self._catalog.transaction() as db:
            forget_segment_files(db, seg_ids)

    def _write_manifest(self) -> None:
        self.manifest.counts = {
            **self._catalog.counts(),
            "segments": len(self._snapshot.segments),
        }
        self.manifest.srmkb_version = __version__
        write_manifest(self.path, self.manifest)

    # -- reading -----------------------------------------------------------------------

    def get(self, document_id: str) -> Document | None:
        """The stored document with this id, or None."""
        stored = self._catalog.get_document(document_id)
        return stored.document if stored else None

    def __len__(self) -> int:
        return self._catalog.counts()["documents"]

    def __contains__(self, document_id: object) -> bool:
        return isinstance(document_id, str) and self._catalog.get_document(document_id) is not None

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        mode: Mode = "hybrid",
        filters: _filters.Filters | None = None,
        audience: Audience = "customer",
        as_of: When | None = None,
        channel: str | None = None,
        log: bool = True,
    ) -> SearchResults:
        """The ``k`` best passages for ``query``, best first.

        ``audience="customer"`` (the default: least privilege) sees public passages only;
        ``"agent"`` sees internal ones too. ``filters`` (see :mod:`srmkb.filters`) and the
        audience are applied inside both retrievers, before the top ``k`` is taken.
        ``as_of`` (a datetime, an ISO 8601 string or a POSIX time) searches the base as it
        stood then: each document in the version that was current at that time. Hits
        carry the version they came from. The search is logged (see :meth:`feedback`)
        under ``channel``, unless ``log=False`` (a preview, a test query).
        """
        _check_query(query)

        facts = self._query(query)

        def run(snap: Snapshot) -> list[Hit]:
            return self._hits(snap, self._rank(snap, facts, k, mode, filters, audience), audience)

        results = SearchResults(self._read(as_of, run))
        if not log:
            return results
        results.interaction_id = self._audit.record(
            kind="search",
            audience=audience,
            question=query,
            channel=channel,
            document_id=results[0].document_id if results else None,
            document_version=results[0].version if results else None,
            results=list(dict.fromkeys(h.document_id for h in results)),
        )
        return results

    def rank_documents(
        self,
        query: str,
        k: int = 100,
        *,
        mode: Mode = "hybrid",
        filters: _filters.Filters | None = None,
        audience: Audience = "customer",
    ) -> list[tuple[str, float]]:
        """Documents ranked by their best passage: (document id, score), best first."""
        _check_query(query)
        self.refresh()
        snap = self._snapshot
        facts = self._query(query)
        ranking = self._rank(snap, facts, max(k * 4, CANDIDATES), mode, filters, audience)
        out: dict[str, float] = {}
        for row, score in zip(ranking.rows.tolist(), ranking.scores.tolist()):
            doc = str(snap.document_ids[row])
            if doc not in out:
                out[doc] = score
                if len(out) >= k:
                    break
        return list(out.items())

    def _allowed(
        self, snap: Snapshot, filters: _filters.Filters | None, audience: str
    ) -> np.ndarray:
        if audience not in AUDIENCES:
            raise InputError(f"audience must be one of {AUDIENCES}, got {audience!r}")
        allowed = snap.live & ~snap.internal if audience == "customer" else snap.live
        if filters:
            allowed = allowed & self._filter_mask(snap, filters)
        return allowed

    def _filter_mask(self, snap: Snapshot, filters: _filters.Filters) -> np.ndarray:
        _filters.validate(filters)
        key = f"{snap.generation}:{snap.as_of}:{_filters.cache_key(filters)}"
        cached = self._filter_cache.get(key)
        if cached is not None:
            return cached
        fields = self._catalog.documents_for_filter() + list(snap.history_fields.items())
        wanted = [doc_id for doc_id, f in fields if _filters.matches(f, filters)]
        mask = (
            np.isin(snap.document_ids, np.array(wanted, dtype=str))
            if wanted
            else np.zeros(snap.n_rows, bool)
        )
        self._filter_cache[key] = mask
        while len(self._filter_cache) > 64:
            self._filter_cache.popitem(last=False)
        return mask

    def _rank(
        self,
        snap: Snapshot,
        query: Query,
        k: int,
        mode: str,
        filters: _filters.Filters | None,
        audience: str,
    ) -> Ranking:
        if mode not in MODES:
            raise InputError(f"mode must be one of {MODES}, got {mode!r}")
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise InputError(f"k must be a whole number of at least 1, got {k!r}")
        k = int(k)
        if snap.n_rows == 0 or not query.text.strip():
            return Ranking.empty()
        if mode != "bm25" and snap.dense is None:
            raise SrmkbError(f"{self.path} has no dense index; search it with mode='bm25'")
        allowed = self._allowed(snap, filters, audience)
        if not allowed.any():
            return Ranking.empty()
        # The embedder loads on first use, and only when the dense side runs.
        return snap.rank(query, k, mode, allowed)

    def _evidence(
        self,
        snap: Snapshot,
        question: str | Query,
        audience: str,
        filters: _filters.Filters | None,
        k: int = _EVIDENCE_DEPTH,
    ) -> Evidence:
        """The hybrid ranking of a question and the confidence features drawn from it."""
        query = question if isinstance(question, Query) else self._query(question)
        ranking = self._rank(snap, query, k, "hybrid", filters, audience)
        doc_ids = [str(snap.document_ids[r]) for r in ranking.rows.tolist()]
        if not doc_ids or ranking.query_vector is None or ranking.coverage is None:
            empty = np.zeros(0)
            return Evidence(ranking, doc_ids, answer_features([], empty, empty, empty, []))
        lines = self._line_similarities(snap, ranking, doc_ids)
        feats = answer_features(
            doc_ids,
            # The passage's own BM25 (as the share it covers) picks BM25's best document,
            # as when the model was fitted, not the score with its document's context.
            ranking.coverage,
            ranking.parts["dense"],
            ranking.coverage,
            [best for best, _, _ in lines],
            line_mean=lines[0][1],
            line_centroid=lines[0][2],
        )
        return Evidence(ranking, doc_ids, feats)

    def _line_similarities(
        self, snap: Snapshot, ranking: Ranking, doc_ids: list[str], n_docs: int = 2
    ) -> list[tuple[float, float, float]]:
        """For each of the first ``n_docs`` documents' best passages: the best cosine
        between the question and one of its lines (title or sentence), the mean cosine over
        its lines, and the cosine with the centroid of its line vectors.

        A passage's cosine dilutes a close match on one of its lines (an FAQ's question,
        one phrasing in a list of example requests); this sharper evidence is what tells
        an answerable question from a near miss. How far the best line stands above the
        others, and how close the lines are as a whole, add what the passage is about.
        Line vectors are cached by text.
        """
        assert ranking.query_vector is not None
        firsts: dict[str, int] = {}
        for row, doc in zip(ranking.rows.tolist(), doc_ids):
            if doc not in firsts:
                firsts[doc] = row
                if len(firsts) == n_docs:
                    break
        records = self._records(snap, list(firsts.values()))
        out = []
        for row in firsts.values():
            rec = records.get(row)
            if rec is None:
                out.append((0.0, 0.0, 0.0))
                continue
            lines = ([rec.title] if rec.title else []) + split_sentences(rec.text)
            vectors = self._line_vectors([line for line in lines if line.strip()][:_MAX_LINES])
            if not len(vectors):
                out.append((0.0, 0.0, 0.0))
                continue
            cosines = vectors @ ranking.query_vector
            centre = vectors.mean(axis=0)
            norm = float(np.linalg.norm(centre))
            centroid = float(centre @ ranking.query_vector) / norm if norm > 0 else 0.0
            out.append((float(cosines.max()), float(cosines.mean()), centroid))
        return out

    def _line_vectors(self, lines: list[str]) -> np.ndarray:
        cache = self._line_cache
        missing = [line for line in dict.fromkeys(lines) if line not in cache]
        if missing:
            for line, vector in zip(missing, self.embedder.embed_documents(missing)):
                cache[line] = vector
            while len(cache) > _LINE_CACHE:
                cache.popitem(last=False)
        if not lines:
            return np.zeros((0, 1), dtype=np.float32)
        return np.stack([cache[line] for line in lines])

    def _query(self, text: str) -> Query:
        """The query's facts, computed once per call; the embedder loads on first use,
        and only when the dense side runs."""
        return Query(text, lambda t: self.embedder.embed_query(t))

    def _hits(self, snap: Snapshot, ranking: Ranking, audience: str) -> list[Hit]:
        scores, parts = ranking.scores, ranking.parts
        rows = ranking.rows.tolist()
        records = self._records(snap, rows)
        hits = []
        for i, row in enumerate(rows):
            pid = str(snap.passage_ids[row])
            rec = records.get(row)
            if rec is None or not _visible(rec, audience):  # gone, on the last try only
                continue
            hits.append(
                Hit(
                    document_id=rec.document_id,
                    passage_id=pid,
                    title=rec.title,
                    section=rec.section,
                    url=rec.url,
                    score=float(scores[i]),
                    snippet=_snippet(rec.text),
                    scores={name: float(v[i]) for name, v in parts.items()},
                    page=rec.page,
                    visibility=rec.visibility,  # type: ignore[arg-type]
                    language=rec.language,
                    metadata=_shown_metadata(rec.metadata, audience),  # type: ignore[arg-type]
                    version=rec.version,
                )
            )
        return hits

    def _records(self, snap: Snapshot, rows: Sequence[int]) -> dict[int, PassageRecord]:
        """The records of snapshot rows, from the version that ranked them: earlier
        versions from ``snap``, current ones from the catalog by segment row.

        A row a newer commit removed (an update, a delete, a merge) raises ``_Stale``, so
        the read ranks again on the new snapshot; on the last attempt it is left out.
        """
        out: dict[int, PassageRecord] = {}
        wanted: dict[int, tuple[str, int]] = {}
        starts = snap.segment_starts
        for row in rows:
            pid = str(snap.passage_ids[row])
            if pid in snap.history:
                out[row] = snap.history[pid]
                continue
            index = int(np.searchsorted(starts, row, side="right")) - 1
            wanted[row] = (snap.segments[index].id, row - int(starts[index]))
        if wanted:
            found = self._catalog.passages_at(list(wanted.values()))
            for row, location in wanted.items():
                rec = found.get(location)
                if rec is not None:
                    out[row] = rec
                elif not getattr(self._reading, "final", True):
                    raise _StaleRead
        return out

    def _document_passages(self, snap: Snapshot, doc_id: str) -> list[PassageRecord]:
        """A document's passages in reading order, as ``snap`` holds it: only those in its
        segments (an update or a merge since then moved them elsewhere)."""
        if doc_id in snap.history_documents:
            return snap.history_documents[doc_id]
        held = {s.id for s in snap.segments}
        return [p for p in self._catalog.document_passages(doc_id) if p.segment in held]

    def answer(
        self,
        question: str,
        *,
        channel: Channel = "chat",
        audience: Audience = "customer",
        filters: _filters.Filters | None = None,
        threshold: float | None = None,
        as_of: When | None = None,
        language: str | None = None,
        log: bool = True,
    ) -> Answer:
        """Answer ``question`` from the base for one channel, or decline and offer an agent.

        The source is chosen once from the hybrid ranking (audience and filters applied
        inside retrieval) and then rendered for the channel, so every channel gives the
        same source and facts. ``confidence`` is the calibrated probability that the
        cited document answers the question; below ``threshold`` (default: the shipped
        model's) the answer declines. ``as_of`` answers from the documents as they stood
        then (see :meth:`search`); ``document_version`` names the version used.
        ``language`` is the asker's (detected from the question when None): srmkb's own
        words (refusal, hand-over, voice prompts) are in it, and an answer drawn from a
        document in another language says so. Every call
        is logged in the audit log, with that version (``interaction_id`` names the entry),
        unless ``log=False``.
        """
        if channel not in CHANNELS:
            raise InputError(f"channel must be one of {CHANNELS}, got {channel!r}")
        _check_query(question, "question")
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, (int, float))
            or math.isnan(threshold)
        ):
            raise InputError(f"threshold must be a number, got {threshold!r}")
        model = default_model(self.manifest.model_id)
        cut = model.threshold if threshold is None else threshold

        facts = self._query(question)

        def run(snap: Snapshot) -> Answer:
            evidence = self._evidence(snap, facts, audience, filters)
            asker = (
                primary_language(language) if language else facts.answer_language(snap.languages)
            )
            confidence = model.probability(evidence.features) if evidence.document_ids else 0.0
            if not evidence.document_ids or confidence < cut:
                return declined(question, confidence, channel, audience, asker)
            return self._compose(snap, question, evidence, confidence, channel, audience, asker)

        answer = self._read(as_of, run)
        confidence = answer.confidence
        if not log:
            return answer
        interaction = self._audit.record(
            kind="answer",
            audience=audience,
            question=question,
            channel=channel,
            document_id=answer.document_id,
            document_version=answer.document_version,
            confidence=round(confidence, 6),
            answered=answer.answered,
            results=[answer.document_id] if answer.document_id else [],
        )
        return replace(answer, interaction_id=interaction)

    def _compose(
        self,
        snap: Snapshot,
        question: str,
        evidence: Evidence,
        confidence: float,
        channel: str,
        audience: str,
        language: str,
    ) -> Answer:
        rows = evidence.ranking.rows.tolist()
        best_pid = str(snap.passage_ids[rows[0]])
        doc_id = evidence.document_ids[0]
        passages = self._document_passages(snap, doc_id)
        best = next((p for p in passages if p.id == best_pid), None)
        if best is None or not _visible(best, audience):
            # Changed since this snapshot was taken: rank again, or decline on the last try.
            if not getattr(self._reading, "final", True):
                raise _StaleRead
            return declined(question, 0.0, channel, audience, language)
        # Other documents of the ranking, best first; resolved cases apart (agents only).
        firsts: dict[str, int] = {}
        for row, d in zip(rows, evidence.document_ids):
            if d != doc_id and d not in firsts:
                firsts[d] = row
        records = self._records(snap, list(firsts.values()))
        related: list[Related] = []
        cases: list[Related] = []
        for rec in records.values():
            if not _visible(rec, audience):
                continue
            item = Related(rec.document_id, rec.title, rec.url, rec.visibility == "internal")
            if rec.metadata.get("source_type") == "crm":
                if audience == "agent" and len(cases) < 3:
                    cases.append(item)
            elif len(related) < 3:
                related.append(item)
        order = list(firsts)
        related.sort(key=lambda r: order.index(r.document_id))
        cases.sort(key=lambda r: order.index(r.document_id))
        selection = select(
            passages,
            best,
            audience=audience,
            related=related,
            related_cases=cases,
            question=question,
        )
        text, markup = render(selection, channel, language)
        return Answer(
            question=question,
            answered=True,
            confidence=confidence,
            channel=channel,  # type: ignore[arg-type]
            audience=audience,
            text=text,
            html=markup,
            document_id=selection.document_id,
            document_version=selection.version,
            passage_ids=selection.passage_ids,
            citations=(selection.citation,),
            steps=selection.steps,
            related=selection.related,
            related_cases=selection.related_cases,
            internal_notes=selection.internal_notes,
            internal=selection.internal,
            language=language,
            source_language=selection.language,
        )

    @property
    def audit(self) -> AuditLog:
        """The interaction log of this base."""
        return self._audit

    def feedback(self, interaction_id: str, outcome: Outcome) -> bool:
        """Record what followed a search or answer: ``"resolved"``, ``"escalated"`` (handed
        to an agent) or ``"not_helpful"``. An unknown id raises :class:`InputError`; an
        outcome already recorded for that interaction returns False and counts once."""
        return self._audit.feedback(interaction_id, outcome)

    def configure_log(
        self, *, logging: bool | None = None, retention_days: int | Literal["keep"] | None = "keep"
    ) -> dict[str, object]:
        """Turn interaction logging on or off for this base and set how many days
        interactions are kept (``None``: forever); returns the settings."""
        return dict(self._audit.configure(logging=logging, retention_days=retention_days))

    def report(
        self,
        *,
        since: When | None = None,
        until: When | None = None,
        stale_days: int = 365,
        html: str | Path | None = None,
    ) -> dict[str, object]:
        """The self-service KPI report for interactions in ``[since, until)`` (see
        :mod:`srmkb.report` for every figure's definition); ``html`` also writes it as a
        page with plots."""
        from .report import build_report, render_html

        start = None if since is None else _timestamp(since)
        end = None if until is None else _timestamp(until)
        result = build_report(self, since=start, until=end, stale_days=stale_days)
        if html is not None:
            items = self._audit.interactions(since=start, until=end)
            Path(html).write_text(render_html(result, items), encoding="utf-8")
        return result

    # -- versions ----------------------------------------------------------------------

    def versions(self, document_id: str) -> list[VersionInfo]:
        """Every version of a document still kept, oldest first, with when each was valid."""
        return self._catalog.versions(document_id)

    def get_version(self, document_id: str, version: int) -> Document | None:
        """One version of a document, the current one or an earlier one, or None."""
        return self._catalog.document_version(document_id, version)

    def purge(self, ids: Iterable[str]) -> SyncReport:
        """Delete documents and forget their earlier versions too (``delete`` keeps them,
        so ``as_of`` can still show them)."""
        ids = list(ids)
        report = self.delete(ids)
        with self._writing():
            with self._catalog.transaction() as db:
                purge_history(db, ids)
                bump_generation(db)
        return report

    def _snapshot_at(self, when: float) -> Snapshot:
        """The base as it stood at ``when``: current documents that were already current
        then, plus earlier versions of the others, indexed in memory for this query (their
        vectors come from the embedder's cache when it has one)."""
        snap = self._snapshot
        valid = self._catalog.valid_at(when)
        current = [d for d, (_, is_current) in valid.items() if is_current]
        live = snap.live & np.isin(snap.document_ids, np.array(current, dtype=str))
        old = self._catalog.historical([(d, v) for d, (v, c) in valid.items() if not c])
        passages: list[Passage] = []
        records: dict[str, PassageRecord] = {}
        by_doc: dict[str, list[PassageRecord]] = {}
        fields: dict[str, dict[str, object]] = {}
        for (doc_id, version), (doc, language) in old.items():
            fields[doc_id] = filter_fields(
                doc_id,
                dict(doc.metadata),
                language,
                doc.visibility,
                doc.updated_at,
                doc.source,
                doc.url,
            )
            for p in chunk_document(doc, language=language, max_words=self.manifest.max_words):
                p = replace(p, id=f"{p.id}@{version}")
                passages.append(p)
                rec = PassageRecord(
                    id=p.id,
                    document_id=doc_id,
                    text=p.text,
                    section=p.section,
                    url=p.url,
                    page=p.page,
                    visibility=p.visibility,
                    language=p.language,
                    title=doc.title,
                    metadata=dict(doc.metadata),
                    version=version,
                )
                records[p.id] = rec
                by_doc.setdefault(doc_id, []).append(rec)
        if not passages:
            lexical, languages, shares = lexical_index(snap.segments, live, self._params)
            return replace(
                snap,
                live=live,
                lexical=lexical,
                dense=DenseIndex([s.dense for s in snap.segments], live)  # type: ignore[misc]
                if snap.dense is not None
                else None,
                languages=languages,
                language_shares=shares,
                as_of=when,
            )
        tokens = [passage_terms(p) for p in passages]
        vectors = None
        if snap.dense is not None:
            vectors = self.embedder.embed_documents([p.indexed_text for p in passages])
        extra = Segment.build(passages, tokens, vectors, factory="Flat")
        segments = (*snap.segments, extra)
        live = np.concatenate([live, np.ones(extra.n_passages, dtype=bool)])
        lexical, languages, shares = lexical_index(segments, live, self._params)
        return Snapshot(
            generation=snap.generation,
            segments=segments,
            live=live,
            internal=np.concatenate([snap.internal, extra.internal]),
            passage_ids=np.concatenate([snap.passage_ids, extra.passage_ids]),
            document_ids=np.concatenate([snap.document_ids, extra.document_ids]),
            lexical=lexical,
            dense=DenseIndex([s.dense for s in segments], live)  # type: ignore[misc]
            if vectors is not None
            else None,
            languages=languages,
            language_shares=shares,
            model_languages=snap.model_languages,
            language_samples=snap.language_samples,
            query_means=snap.query_means,
            cosine_map=snap.cosine_map,
            as_of=when,
            history=records,
            history_documents=by_doc,
            history_fields=fields,
        )

    def check(self) -> CheckReport:
        """Check this base's files (see :mod:`srmkb.check`); changes nothing."""
        return check_base(self.path)

    def passage_text(self, passage_id: str) -> str | None:
        """The full text of a passage (hits carry a shortened snippet)."""
        rec = self._catalog.passages([passage_id]).get(passage_id)
        return rec.text if rec else None

    def stats(self) -> dict[str, object]:
        """Counts, model, format and size on disk."""
        size = sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
        return {
            "path": str(self.path),
            **self._catalog.counts(),
            "segments": len(self._snapshot.segments),
            "languages": self._catalog.languages(),
            "model": self.manifest.model_id,
            "dimension": self.manifest.dimension,
            "dense_index": self.manifest.dense_index if self.manifest.model_id else None,
            "format_version": self.manifest.format_version,
            "srmkb_version": __version__,
            "size_bytes": size,
        }

    def close(self) -> None:
        self._catalog.close()
        self._audit.close()
        if self._owns_cache and isinstance(self._embedder, CachedEmbedder):
            self._embedder.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KnowledgeBase({str(self.path)!r}, model={self.manifest.model_id!r})"


def _visible(record: PassageRecord, audience: str) -> bool:
    """Checked again when a passage is rendered: a customer never sees internal text."""
    if audience == "agent":
        return True
    if record.visibility != "public":
        log.error("passage %s (%s) withheld from a customer", record.id, record.visibility)
        return False
    return True


# Metadata of case-derived documents a customer may see: the rest (case id, channel,
# status, priority, dates, complaint...) was typed by agents or customers about one case.
_CASE_SOURCES = frozenset({"crm", "draft", "captured"})
_CUSTOMER_CASE_FIELDS = frozenset({"source_type", "product", "category", "language"})


def _shown_metadata(metadata: dict[str, object], audience: str) -> dict[str, object]:
    if audience == "agent" or metadata.get("source_type") not in _CASE_SOURCES:
        return metadata
    return {k: v for k, v in metadata.items() if k in _CUSTOMER_CASE_FIELDS}


def _check_query(query: object, name: str = "query") -> None:
    if not isinstance(query, str):
        raise InputError(f"{name} must be a string, got {type(query).__name__}")
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{name} holds a lone surrogate: it is not valid Unicode text") from None
    if len(query) > MAX_QUERY_CHARS:
        raise InputError(
            f"{name} is {len(query):,} characters long; at most {MAX_QUERY_CHARS:,} are accepted"
        )


def document_language(doc: Document) -> str:
    """The language of a document that does not state one: detected offline from its title
    and text, English when the detector cannot tell."""
    detected = detect_language(f"{doc.title}\n{doc.full_text}")
    return "en" if detected == UNDETERMINED else detected


def _snippet(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit] + "…"


def _timestamp(when: When) -> float:
    """A POSIX time from a datetime (naive ones are taken as UTC), a date (its end, UTC),
    an ISO 8601 string or a number."""
    if isinstance(when, bool):
        raise InputError(f"as_of must be a time, got {when!r}")
    if isinstance(when, (int, float)):
        if not math.isfinite(when):
            raise InputError(f"as_of must be a finite time, got {when!r}")
        return float(when)
    if isinstance(when, str):
        try:
            when = dt.datetime.fromisoformat(when.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"as_of {when!r} is not an ISO 8601 date or time") from None
    if isinstance(when, dt.datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        return when.timestamp()
    if isinstance(when, dt.date):
        end = dt.datetime.combine(when, dt.time.max, tzinfo=dt.timezone.utc)
        return end.timestamp()
    raise InputError(f"as_of must be a datetime, an ISO 8601 string or a POSIX time, got {when!r}")
