"""One version of a local base as an :class:`~srmkb.index.protocol.Index`.

A :class:`LocalIndex` pairs an immutable :class:`~srmkb.index.snapshot.Snapshot` (the
segments of one committed generation and their BM25 and dense indexes) with the catalog
that holds its passage records. Records are read by the (segment, row) the snapshot
ranked, never by id alone, so everything a search returns comes from the version that
ranked it; a row a newer commit removed is simply not found.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from ..errors import SrmkbError
from ..storage.catalog import Catalog
from ..storage.records import PassageRecord
from ..vocabulary import Audience, Mode
from . import filters as _filters
from .candidates import Candidates
from .protocol import Ranking, check_search
from .query import Query
from .snapshot import Snapshot
from .statistics import LexicalStatistics

# Located rows a version remembers from its searches, so reading a ranking's records
# costs no scan; older entries are dropped.
_LOCATED = 20_000
_FILTER_MASKS = 64


class FilterMasks:
    """Row masks of recent filters, per snapshot version; shared by a base's versions."""

    def __init__(self) -> None:
        self._masks: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, build: Callable[[], np.ndarray]) -> np.ndarray:
        with self._lock:
            mask = self._masks.get(key)
        if mask is None:
            mask = build()
            with self._lock:
                self._masks[key] = mask
                while len(self._masks) > _FILTER_MASKS:
                    self._masks.popitem(last=False)
        return mask

    def clear(self) -> None:
        with self._lock:
            self._masks.clear()


class LocalIndex:
    """A committed version of a local base (or a view of its past, :meth:`at`)."""

    def __init__(
        self,
        snapshot: Snapshot,
        catalog: Catalog,
        *,
        name: str,
        masks: FilterMasks,
        past: Callable[[Snapshot, float], Snapshot],
    ) -> None:
        self.snapshot = snapshot
        self._catalog = catalog
        self._name = name
        self._masks = masks
        self._past = past
        self._located: dict[str, int] = {}

    @property
    def generation(self) -> int:
        return self.snapshot.generation

    @property
    def as_of(self) -> float | None:
        return self.snapshot.as_of

    @property
    def languages(self) -> tuple[str, ...]:
        return self.snapshot.languages

    @property
    def segments(self) -> int:
        """Segments this version reads."""
        return len(self.snapshot.segments)

    def __len__(self) -> int:
        return int(np.count_nonzero(self.snapshot.live))

    def __repr__(self) -> str:
        return f"LocalIndex({self._name!r}, generation={self.generation}, passages={len(self)})"

    # -- ranking -----------------------------------------------------------------------

    def search(
        self,
        query: Query,
        k: int,
        *,
        mode: Mode = "hybrid",
        audience: Audience = "customer",
        filters: _filters.Filters | None = None,
        statistics: LexicalStatistics | None = None,
    ) -> Ranking:
        allowed = self._allowed(k, mode, audience, filters, query)
        if allowed is None:
            return Ranking.empty()
        found = self.snapshot.rank(query, int(k), mode, allowed, statistics)
        passage_ids = self._remember(found.rows)
        return Ranking(
            passage_ids=passage_ids,
            document_ids=self.snapshot.document_ids[found.rows],
            scores=found.scores,
            parts=found.parts,
            coverage=found.coverage,
            query_vector=found.query_vector,
        )

    def candidates(
        self,
        query: Query,
        k: int,
        *,
        mode: Mode = "hybrid",
        audience: Audience = "customer",
        filters: _filters.Filters | None = None,
        statistics: LexicalStatistics | None = None,
        dense_vector: np.ndarray | None = None,
    ) -> Candidates:
        """This version's candidates for the ``k`` best passages (see
        :mod:`srmkb.index.candidates`), the audience and filters applied first: what a
        part of a larger collection gives for :func:`~srmkb.index.candidates.select` to
        rank once over every part's. ``statistics`` and ``dense_vector`` are the
        collection's (see :meth:`~srmkb.index.snapshot.Snapshot.candidates`)."""
        allowed = self._allowed(k, mode, audience, filters, query)
        if allowed is None:
            return Candidates.empty()
        found = self.snapshot.candidates(query, int(k), mode, allowed, statistics, dense_vector)
        self._remember(found.rows)
        return found

    def _allowed(
        self,
        k: int,
        mode: Mode,
        audience: Audience,
        filters: _filters.Filters | None,
        query: Query,
    ) -> np.ndarray | None:
        """The rows the audience may see that match the filters, after checking the
        arguments; None when no row can be ranked."""
        check_search(k, mode, audience, filters)
        snap = self.snapshot
        if snap.n_rows == 0 or not query.text.strip():
            return None
        if mode != "bm25" and snap.dense is None:
            raise SrmkbError(f"{self._name} has no dense index; search it with mode='bm25'")
        allowed = snap.live & ~snap.internal if audience == "customer" else snap.live
        if filters:
            allowed = allowed & self._filter_mask(filters)
        return allowed if allowed.any() else None

    def _remember(self, rows: np.ndarray) -> np.ndarray:
        """The passage ids of ranked rows, remembered so reading their records costs no
        scan."""
        passage_ids = self.snapshot.passage_ids[rows]
        if len(self._located) > _LOCATED:
            self._located = {}
        self._located.update(zip(passage_ids.tolist(), rows.tolist()))
        return passage_ids

    def statistics(self, query: Query) -> LexicalStatistics:
        return self.snapshot.statistics(query)

    def _filter_mask(self, filters: _filters.Filters) -> np.ndarray:
        snap = self.snapshot
        key = f"{snap.generation}:{snap.as_of}:{_filters.cache_key(filters)}"

        def build() -> np.ndarray:
            fields = self._catalog.documents_for_filter() + list(snap.history_fields.items())
            wanted = [doc_id for doc_id, f in fields if _filters.matches(f, filters)]
            if not wanted:
                return np.zeros(snap.n_rows, bool)
            return np.isin(snap.document_ids, np.array(wanted, dtype=str))

        return self._masks.get(key, build)

    # -- records -----------------------------------------------------------------------

    def passages(self, ids: Sequence[str]) -> dict[str, PassageRecord]:
        snap = self.snapshot
        out: dict[str, PassageRecord] = {}
        rows: dict[str, int] = {}
        for pid in ids:
            if pid in snap.history:
                out[pid] = snap.history[pid]
            elif pid in self._located:
                rows[pid] = self._located[pid]
        unknown = [pid for pid in ids if pid not in out and pid not in rows]
        if unknown:
            hits = np.flatnonzero(np.isin(snap.passage_ids, unknown) & snap.live)
            rows.update(zip(snap.passage_ids[hits].tolist(), hits.tolist()))
        if rows:
            starts = snap.segment_starts
            where: dict[str, tuple[str, int]] = {}
            for pid, row in rows.items():
                index = int(np.searchsorted(starts, row, side="right")) - 1
                where[pid] = (snap.segments[index].id, row - int(starts[index]))
            found = self._catalog.passages_at(list(where.values()))
            for pid, location in where.items():
                record = found.get(location)
                if record is not None:
                    out[pid] = record
        return out

    def document_passages(self, document_id: str) -> list[PassageRecord]:
        snap = self.snapshot
        if document_id in snap.history_documents:
            return list(snap.history_documents[document_id])
        held = {s.id for s in snap.segments}
        return [p for p in self._catalog.document_passages(document_id) if p.segment in held]

    def variant(self, **changes: object) -> LocalIndex:
        """This version with some of its snapshot's fields changed (``query_means={}``,
        say): an ablation for studies and tests; the base is not touched."""
        return self._with(replace(self.snapshot, **changes))  # type: ignore[arg-type]

    def at(self, when: float) -> LocalIndex:
        return self._with(self._past(self.snapshot, when))

    def _with(self, snapshot: Snapshot) -> LocalIndex:
        return LocalIndex(
            snapshot,
            self._catalog,
            name=self._name,
            masks=self._masks,
            past=self._past,
        )
