"""Reading a local base: its committed segments, loaded once, as the current version.

An :class:`IndexReader` turns the catalog's committed state into a
:class:`~srmkb.index.snapshot.Snapshot` and serves it as a
:class:`~srmkb.index.local.LocalIndex`. :meth:`IndexReader.current` first reads the
catalog's generation (one SQLite read) and reloads when another process committed, so a
long-lived process sees other processes' commits. Segments are immutable and shared by
successive versions; only new ones are read from disk.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import numpy as np

from ..errors import StorageError
from ..storage.catalog import Catalog
from ..storage.layout import SEGMENTS
from ..storage.records import PassageRecord, filter_fields
from ..text.analysis import passage_terms
from ..text.chunking import chunk_document
from .dense import DenseIndex
from .lexical import BM25Params
from .local import FilterMasks, LocalIndex
from .protocol import StaleRead
from .segments import Segment
from .snapshot import Snapshot, language_codes, language_samples, lexical_index

Embed = Callable[[list[str]], np.ndarray]
_T = TypeVar("_T")
# A read whose records a concurrent commit removed (an update, a delete, a merge) ranks
# again on the new version, this many times at most; the last try drops what is gone.
READ_ATTEMPTS = 3


@dataclass(frozen=True)
class ModelFacts:
    """What ranking needs to know of the base's embedding model (see
    :class:`~srmkb.index.snapshot.Snapshot`)."""

    languages: frozenset[str] | None = None  # None: any language
    query_means: dict[str, np.ndarray] = field(default_factory=dict)
    cosine_map: tuple[float, float] = (0.0, 1.0)


class IndexReader:
    """The versions of the local base at ``path``, as :class:`LocalIndex` objects."""

    def __init__(
        self,
        path: Path,
        catalog: Catalog,
        *,
        params: BM25Params,
        dense_factory: str | None,
        max_words: int,
        model: Callable[[], ModelFacts],
        embed: Callable[[], Embed],
    ) -> None:
        self.path = path
        self.catalog = catalog
        self._params = params
        self._factory = dense_factory
        self._max_words = max_words
        self._model = model
        self._embed = embed
        self._lock = threading.RLock()
        self._loaded: dict[str, Segment] = {}
        self._masks = FilterMasks()
        self._stale = False  # this process's writer committed since _version was loaded
        self._version = self._version_of(self._load_snapshot())

    @property
    def version(self) -> LocalIndex:
        """The version loaded last (no catalog read), or the committed state if this
        process's writer committed since."""
        if self._stale:
            with self._lock:
                if self._stale:
                    self._load()
        return self._version

    def current(self) -> LocalIndex:
        """The latest committed version, reloading if another process committed."""
        self.refresh()
        return self._version

    def refresh(self) -> bool:
        """Pick up commits made elsewhere (or by this process's writer since the last
        load); returns whether anything changed."""
        if not self._stale and self.catalog.generation() == self._version.generation:
            return False
        with self._lock:
            if self._stale or self.catalog.generation() != self._version.generation:
                self._load()
        return True

    def reload(self) -> None:
        """Mark the loaded version out of date (this process's writer committed): the
        next read loads the committed state.

        Loading costs time in proportion to the base (every row's masks and BM25
        statistics), so a build of many batches loads one version when it is next read,
        not one per batch, which made a large build quadratic.
        """
        with self._lock:
            self._stale = True

    def _load(self) -> None:
        self._version = self._version_of(self._load_snapshot())
        self._stale = False

    def read(self, when: float | None, run: Callable[[LocalIndex, bool], _T]) -> _T:
        """``run(version, final)`` on the current version (or its view at ``when``). If a
        commit removed what it ranked before its records were read (:class:`StaleRead`),
        run it again on the new version; the last try (``final``) drops what is gone."""
        for attempt in range(READ_ATTEMPTS):
            version = self.current()
            if when is not None:
                version = version.at(when)
            try:
                return run(version, attempt == READ_ATTEMPTS - 1)
            except StaleRead:
                continue
        raise AssertionError("unreachable: the last attempt does not raise StaleRead")

    def segment(self, seg_id: str) -> Segment:
        """A committed segment (the writer holds the lock), mapped from its files when
        no version loaded yet holds it."""
        with self._lock:
            seg = self._loaded.get(seg_id)
            if seg is None:
                directory = self.path / SEGMENTS / seg_id
                if not directory.is_dir():
                    raise StorageError(f"{directory} is missing: the base is damaged")
                seg = self._loaded[seg_id] = Segment.load(directory, dense_factory=self._factory)
            return seg

    def forget(self, seg_ids: Sequence[str]) -> None:
        """Drop this reader's maps of segments a merge has copied (versions that hold
        them keep their own), so a build does not keep every merged-away file mapped."""
        with self._lock:
            for seg_id in seg_ids:
                self._loaded.pop(seg_id, None)

    def _version_of(self, snapshot: Snapshot) -> LocalIndex:
        return LocalIndex(
            snapshot, self.catalog, name=str(self.path), masks=self._masks, past=self._past
        )

    def _load_segments(self) -> tuple[int, list[tuple[str, int, np.ndarray]], list[Segment]]:
        """The committed state and its segments, loaded. A segment that vanishes while
        it loads was merged away by another process's newer commit: load that one."""
        while True:
            generation, rows = self.catalog.state()
            segments = []
            try:
                for seg_id, n, _ in rows:
                    seg = self._loaded.get(seg_id)
                    if seg is None:
                        directory = self.path / SEGMENTS / seg_id
                        if not directory.is_dir():
                            raise StorageError(f"{directory} is missing: the base is damaged")
                        seg = Segment.load(directory, dense_factory=self._factory)
                        if seg.n_passages != n:
                            raise StorageError(
                                f"{directory}: holds {seg.n_passages} rows, catalog says {n}"
                            )
                        self._loaded[seg_id] = seg
                    segments.append(seg)
            except (StorageError, OSError):
                # Files gone mid-load: a merge by another writer, if the state moved on.
                if self.catalog.generation() != generation:
                    continue
                raise
            return generation, rows, segments

    def _load_snapshot(self) -> Snapshot:
        generation, rows, segments = self._load_segments()
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
        if self._factory is not None and all(s.dense is not None for s in segments):
            dense = DenseIndex([s.dense for s in segments], live)  # type: ignore[misc]
        self._masks.clear()
        codes = language_codes(segments)  # once, for BM25's groups and the samples
        lexical, languages, shares = lexical_index(segments, live, self._params, codes)
        model = self._model()
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
            model_languages=model.languages,
            language_samples=language_samples(codes, live) if dense is not None else {},
            query_means=model.query_means,
            cosine_map=model.cosine_map,
        )

    def _past(self, snap: Snapshot, when: float) -> Snapshot:
        """The base as it stood at ``when``: current documents that were already current
        then, plus earlier versions of the others, indexed in memory for this query (their
        vectors come from the embedder's cache when it has one)."""
        valid = self.catalog.valid_at(when)
        current = [d for d, (_, is_current) in valid.items() if is_current]
        live = snap.live & np.isin(snap.document_ids, np.array(current, dtype=str))
        old = self.catalog.historical([(d, v) for d, (v, c) in valid.items() if not c])
        passages = []
        records: dict[str, PassageRecord] = {}
        by_doc: dict[str, list[PassageRecord]] = {}
        fields: dict[str, dict[str, object]] = {}
        for (doc_id, version), (doc, language) in old.items():
            metadata: dict[str, object] = dict(doc.metadata)
            fields[doc_id] = filter_fields(
                doc_id, metadata, language, doc.visibility, doc.updated_at, doc.source, doc.url
            )
            for p in chunk_document(doc, language=language, max_words=self._max_words):
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
                    metadata=metadata,
                    version=version,
                )
                records[p.id] = rec
                by_doc.setdefault(doc_id, []).append(rec)
        segments = snap.segments
        vectors = None
        if passages:
            tokens = [passage_terms(p) for p in passages]
            if snap.dense is not None:
                vectors = self._embed()([p.indexed_text for p in passages])
            extra = Segment.build(passages, tokens, vectors, factory="Flat")
            segments = (*segments, extra)
            live = np.concatenate([live, np.ones(extra.n_passages, dtype=bool)])
            snap = replace(
                snap,
                internal=np.concatenate([snap.internal, extra.internal]),
                passage_ids=np.concatenate([snap.passage_ids, extra.passage_ids]),
                document_ids=np.concatenate([snap.document_ids, extra.document_ids]),
                history=records,
                history_documents=by_doc,
                history_fields=fields,
            )
        lexical, languages, shares = lexical_index(segments, live, self._params)
        dense = None
        if snap.dense is not None and (not passages or vectors is not None):
            dense = DenseIndex([s.dense for s in segments], live)  # type: ignore[misc]
        return replace(
            snap,
            segments=segments,
            live=live,
            lexical=lexical,
            dense=dense,
            languages=languages,
            language_shares=shares,
            as_of=when,
        )
