"""Dense vectors in faiss, one index per immutable segment.

The index type is a faiss factory string, kept in the manifest:

- ``"Flat"`` (exact inner product, the default) builds no faiss index: exact search is
  one matrix-vector product over the memory-mapped float32 ``vectors.npy``, as fast as
  faiss's flat scan without a second copy of the vectors in RAM.
- ``"SQfp16"`` stores each vector once, as float16 codes in ``dense.faiss`` (no
  ``vectors.npy``), and scans them with faiss's SIMD scalar-quantizer search: half the
  disk and memory of ``"Flat"``, two to two and a half times as fast on one thread (the
  scan is memory-bound), and scores within float16 rounding of exact
  (``benchmarks/results/dense-precision.md``).
- Graph and quantized indexes (``"HNSW32"``, ``"HNSW32,SQ8"``...) keep float32
  ``vectors.npy`` as the source of truth (merges, exact scoring of a few rows) beside
  ``dense.faiss``. Where the index codes are lossy (``SQ8``, ``PQ``) its candidates are
  re-scored exactly from ``vectors.npy``.

``dense.faiss`` is memory-mapped where this faiss can (``IO_FLAG_MMAP_IFC``: flat codes
and HNSW graphs): served from the page cache like ``vectors.npy``, not copied into the
process; an older faiss reads it into RAM. Filters
and deletions reach faiss as an ``IDSelectorBitmap`` so they apply before the top k.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .. import npy
from ..errors import StorageError
from .pages import release
from .topk import top_k

# Below this many allowed rows a segment is scored exactly by NumPy: cheaper than a
# selector-driven faiss search, and exact where a filtered HNSW search would miss.
_EXACT_BELOW = 4096
# For an exhaustive faiss index (SQfp16) the threshold is lower: its selector-driven scan
# skips disallowed rows without decoding them and is exact, so gathering rows only wins
# for a few hundred of them (benchmarks/results/dense-precision.md).
_GATHER_BELOW = 256
# The factory whose codes are the vectors themselves (float16): no vectors.npy.
FP16 = "SQfp16"
# Candidates fetched per wanted hit from an index with lossy codes, before exact
# re-scoring from vectors.npy.
_RESCORE_FACTOR = 2
_READ_FLAGS = getattr(faiss, "IO_FLAG_MMAP_IFC", 0)


def stores_vectors(factory: str) -> bool:
    """Whether segments of ``factory`` keep float32 ``vectors.npy`` (all but ``SQfp16``)."""
    return factory != FP16


def dense_files(factory: str) -> list[str]:
    """The files a dense segment of ``factory`` writes."""
    files = ["vectors.npy"] if stores_vectors(factory) else []
    return files + ([] if factory == "Flat" else ["dense.faiss"])


class DenseSegment:
    """Vectors of one segment and the faiss index built over them.

    ``vectors`` is the float32 source of truth (memory-mapped ``vectors.npy``), or None
    when the index's float16 codes are the only copy (``"SQfp16"``); ``index`` is None
    for ``"Flat"``. Read rows through :meth:`rows`, which serves both.
    """

    def __init__(self, vectors: np.ndarray | None, index: faiss.Index | None) -> None:
        if vectors is None and index is None:
            raise ValueError("a dense segment needs its vectors or an index")
        self._vectors = vectors
        self.index = index
        # Lossy codes (SQ8, PQ) with float32 vectors beside them: re-score candidates.
        self.rescore = index is not None and vectors is not None and _lossy(index)
        # A scan of every code (flat, SQ, PQ): its filtered search is exact, unlike a graph's.
        self.exhaustive = isinstance(index, faiss.IndexFlatCodes)

    @property
    def n_passages(self) -> int:
        if self._vectors is not None:
            return int(self._vectors.shape[0])
        assert self.index is not None
        return int(self.index.ntotal)

    @property
    def dimension(self) -> int:
        if self._vectors is not None:
            return int(self._vectors.shape[1])
        assert self.index is not None
        return int(self.index.d)

    @property
    def vectors(self) -> np.ndarray:
        """All vectors as float32: the memory map, or the float16 codes decoded (a copy
        of the whole segment: for merges, not for the query path)."""
        if self._vectors is not None:
            return self._vectors
        return self.rows(np.arange(self.n_passages, dtype=np.int64))

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """The float32 vectors of the given local rows (a copy)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self._vectors is not None:
            return np.asarray(self._vectors[rows], dtype=np.float32)
        assert self.index is not None
        if not len(rows):
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.index.reconstruct_batch(rows)

    def codes(self) -> np.ndarray:
        """The index's codes, one row of ``sa_code_size()`` bytes per vector (a view of
        the memory-mapped or loaded codes, not a copy): exhaustive indexes only."""
        assert self.index is not None and self.exhaustive
        index: Any = faiss.downcast_index(self.index)  # an IndexFlatCodes
        n, width = int(index.ntotal), int(index.sa_code_size())
        if not n:
            return np.zeros((0, width), dtype=np.uint8)
        return faiss.rev_swig_ptr(index.codes.data(), n * width).reshape(n, width)

    @classmethod
    def build(cls, vectors: np.ndarray, factory: str = "Flat") -> DenseSegment:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = _make_index(vectors, factory)
        return cls(vectors if stores_vectors(factory) else None, index)

    @classmethod
    def merge(
        cls, parts: Sequence[tuple[DenseSegment, np.ndarray]], factory: str = "Flat"
    ) -> DenseSegment:
        """One segment of the given local rows of each part, in order, copied block by
        block: the merged vectors (or codes) are the only full-size array held, so a
        merge at 1M passages does not hold the rows twice over."""
        total = sum(len(rows) for _, rows in parts)
        dim = parts[0][0].dimension if parts else 0
        if stores_vectors(factory) or not _codes_only(factory, dim):
            vectors = np.empty((total, dim), dtype=np.float32)
            at = 0
            for seg, rows in parts:
                for start in range(0, len(rows), _MERGE_BLOCK):
                    block = seg.rows(rows[start : start + _MERGE_BLOCK])
                    vectors[at : at + len(block)] = block
                    at += len(block)
                if seg._vectors is not None:  # read for the last time (see pages.release)
                    release(np.asarray(seg._vectors))
            return cls.build(vectors, factory)
        index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
        for seg, rows in parts:  # the codes are the vectors: copied, never re-encoded
            codes = seg.codes()
            for start in range(0, len(rows), _MERGE_BLOCK):
                index.add_sa_codes(np.ascontiguousarray(codes[rows[start : start + _MERGE_BLOCK]]))
            release(codes)  # read for the last time (see pages.release)
        return cls(None, index)

    def save(self, directory: Path, factory: str) -> None:
        if stores_vectors(factory):
            np.save(directory / "vectors.npy", self.vectors, allow_pickle=False)
        if self.index is not None:
            faiss.write_index(self.index, str(directory / "dense.faiss"))

    @classmethod
    def load(cls, directory: Path, factory: str) -> DenseSegment:
        vectors = None
        if stores_vectors(factory):
            vectors = npy.load(directory / "vectors.npy")
        index = None
        if factory != "Flat":
            path = directory / "dense.faiss"
            try:
                index = faiss.read_index(str(path), _READ_FLAGS)
            except RuntimeError as exc:  # faiss's read errors name neither the file nor why
                raise StorageError(f"{path} is unreadable: the segment is damaged ({exc})") from exc
        return cls(vectors, index)


# An exhaustive scan (SQfp16) of a segment of at least two parts' rows is split into row
# ranges scanned by as many threads at once, up to one per core (four at most): the scan
# is memory-bound on one core, and a query's other stages leave the others idle. At 100k
# rows, two parts: 3.3 vs 6.1 ms on this 2-core machine (benchmarks/results/runtime-*).
_SCAN_PART_ROWS = 32_768
_SCAN_PARTS = max(1, min(4, os.cpu_count() or 1))
# (The pool holds one thread fewer: the calling thread scans the first part itself.)

# Rows a merge copies at a time (16k rows of 384 floats: 25 MB).
_MERGE_BLOCK = 16_384


def _codes_only(factory: str, dim: int) -> bool:
    """Whether ``factory`` keeps no float32 copy and needs no training (``SQfp16``), so a
    merge can add rows to a new index block by block."""
    return not stores_vectors(factory) and bool(
        faiss.index_factory(max(dim, 1), factory, faiss.METRIC_INNER_PRODUCT).is_trained
    )


def _make_index(vectors: np.ndarray, factory: str) -> faiss.Index | None:
    if factory == "Flat":
        return None
    dim = int(vectors.shape[1])
    index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained and len(vectors):
        index.train(vectors)  # on the vectors it will hold: no code is out of range
    if len(vectors):
        index.add(vectors)
    return index


def _lossy(index: faiss.Index) -> bool:
    """Whether the index scores from lossy codes (SQ8, PQ...), not float32 vectors."""
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexHNSW):
        index = faiss.downcast_index(index.storage)
    return not isinstance(index, faiss.IndexFlat)


class DenseIndex:
    """A read-only view over dense segments and a live mask."""

    def __init__(self, segments: Sequence[DenseSegment], live: np.ndarray, *, ef_search: int = 128):
        self.segments = list(segments)
        self.offsets = np.cumsum([0] + [s.n_passages for s in self.segments])[:-1].tolist()
        self.live = live
        self.ef_search = ef_search

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows by inner product among ``allowed`` live rows: (rows, scores)."""
        mask = self.live if allowed is None else (allowed & self.live)
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        all_rows: list[np.ndarray] = []
        all_scores: list[np.ndarray] = []
        scans: list[tuple[DenseSegment, int, np.ndarray, int]] = []
        for segment, offset in zip(self.segments, self.offsets):
            seg_mask = mask[offset : offset + segment.n_passages]
            n_allowed = int(np.count_nonzero(seg_mask))
            if n_allowed == 0:
                continue
            gather_below = _GATHER_BELOW if segment.exhaustive else _EXACT_BELOW
            # Gathering allowed rows copies them; float32 rows all allowed are read in place.
            gather = n_allowed < segment.n_passages or segment.index is not None
            if gather and (n_allowed <= gather_below or n_allowed <= k):
                rows = np.flatnonzero(seg_mask)
                sims = segment.rows(rows) @ q[0]
                top = top_k(sims, k)
                all_rows.append(rows[top] + offset)
                all_scores.append(sims[top])
                continue
            if segment.index is None:  # exact: score every row, then drop the disallowed
                sims = np.asarray(segment.vectors @ q[0], dtype=np.float32)
                if n_allowed < segment.n_passages:
                    sims[~seg_mask] = -np.inf
                top = top_k(sims, min(k, n_allowed))
                all_rows.append(top.astype(np.int64) + offset)
                all_scores.append(sims[top])
                continue
            if segment.exhaustive:  # scanned below, with the others, maybe in parts
                scans.append((segment, offset, seg_mask, n_allowed))
                continue
            rows, sims = _faiss_search(segment, q, k, seg_mask, n_allowed, self.ef_search)
            all_rows.append(rows + offset)
            all_scores.append(sims)
        for rows, sims in _scan(scans, q, k, self.ef_search):
            all_rows.append(rows)
            all_scores.append(sims)
        if not all_rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        rows = np.concatenate(all_rows)
        scores = np.concatenate(all_scores).astype(np.float32)
        top = top_k(scores, k)
        return rows[top], scores[top]

    def scores_of(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Inner products of ``query`` with the given global rows (exact, or from the
        float16 codes of an ``"SQfp16"`` segment)."""
        out = np.empty(len(rows), dtype=np.float32)
        if not len(rows):
            return out
        q = np.asarray(query, dtype=np.float32)
        seg_of = np.searchsorted(self.offsets, rows, side="right") - 1
        for s in np.unique(seg_of):
            pick = seg_of == s
            local = rows[pick] - self.offsets[s]
            out[pick] = self.segments[s].rows(local) @ q
        return out


def _faiss_search(
    segment: DenseSegment,
    q: np.ndarray,
    k: int,
    seg_mask: np.ndarray,
    n_allowed: int,
    ef_search: int,
    span: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A segment's top ``k`` local rows from its faiss index (among the rows of ``span``,
    a range, when given), the mask as a selector.

    Lossy codes fetch more candidates and re-score them from ``vectors.npy``: only
    those few rows of it are read."""
    assert segment.index is not None
    n = segment.n_passages
    bitmap = np.packbits(seg_mask, bitorder="little") if n_allowed < n else None
    fetch = min(k * _RESCORE_FACTOR if segment.rescore else k, n_allowed)
    start, stop = span or (0, n)
    rows, sims = _search_part(segment.index, q, fetch, ef_search, bitmap, n, start, stop)
    if segment.rescore:
        sims = segment.rows(rows) @ q[0]
        top = top_k(sims, k)
        rows, sims = rows[top], sims[top]
    return rows, sims


def _scan(
    scans: Sequence[tuple[DenseSegment, int, np.ndarray, int]],
    q: np.ndarray,
    k: int,
    ef_search: int,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The top ``k`` global rows of each exhaustive segment (segment, offset, mask,
    allowed rows) in ``scans``. When they hold two parts' rows or more, their rows are
    cut into that many equal ranges (at most one per core), scanned at once."""
    total = sum(segment.n_passages for segment, _, _, _ in scans)
    parts = min(_SCAN_PARTS, total // _SCAN_PART_ROWS)
    if parts <= 1:
        return [
            (rows + offset, sims)
            for segment, offset, mask, allowed in scans
            for rows, sims in [_faiss_search(segment, q, k, mask, allowed, ef_search)]
        ]
    cuts = np.linspace(0, total, parts + 1).astype(np.int64)
    tasks: list[list[tuple[DenseSegment, int, np.ndarray, int, tuple[int, int]]]] = [
        [] for _ in range(parts)
    ]
    first = 0  # the first row of this segment in the rows of every scan
    for segment, offset, mask, allowed in scans:
        n = segment.n_passages
        for part in range(parts):
            lo, hi = max(int(cuts[part]), first), min(int(cuts[part + 1]), first + n)
            if lo < hi:
                tasks[part].append((segment, offset, mask, allowed, (lo - first, hi - first)))
        first += n

    def run(pieces: list[tuple[DenseSegment, int, np.ndarray, int, tuple[int, int]]]):
        return [
            (rows + offset, sims)
            for segment, offset, mask, allowed, span in pieces
            for rows, sims in [_faiss_search(segment, q, k, mask, allowed, ef_search, span)]
        ]

    futures = [_scan_pool().submit(run, pieces) for pieces in tasks[1:]]
    found = run(tasks[0])  # this thread scans the first part meanwhile
    for future in futures:
        found.extend(future.result())
    return found


def _search_part(
    index: faiss.Index,
    q: np.ndarray,
    k: int,
    ef_search: int,
    bitmap: np.ndarray | None,
    n: int,
    start: int,
    stop: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The top ``k`` of the rows ``start`` to ``stop`` (all of them: ``0, n``) that the
    ``bitmap`` allows (all: None), by the index's own search (faiss releases the GIL)."""
    params = _search_params(index, ef_search)
    selectors: list[Any] = []
    if bitmap is not None:
        selectors.append(faiss.IDSelectorBitmap(n, faiss.swig_ptr(bitmap)))
    if (start, stop) != (0, n):
        selectors.append(faiss.IDSelectorRange(start, stop))
    if len(selectors) == 2:
        params.sel = faiss.IDSelectorAnd(*selectors)
    elif selectors:
        params.sel = selectors[0]
    sims, ids = index.search(q, k, params=params)
    keep = ids[0] >= 0
    return ids[0][keep].astype(np.int64), sims[0][keep]


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _scan_pool() -> ThreadPoolExecutor:
    """The threads that scan the parts of a large exhaustive segment (made on first use)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max(1, _SCAN_PARTS - 1), "srmkb-dense")
        return _POOL


def _search_params(index: faiss.Index, ef_search: int) -> faiss.SearchParameters:
    if isinstance(index, faiss.IndexHNSW):
        params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
        params.efSearch = ef_search
        return params
    return faiss.SearchParameters()
