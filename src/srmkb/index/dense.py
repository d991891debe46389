"""Dense vectors in faiss, one index per immutable segment.

Each segment keeps its unit vectors in ``vectors.npy`` (the source of truth, used for
merges and exact re-scoring) and, for approximate index types, a faiss file. The index
type is a faiss factory string: ``"Flat"`` (exact inner product, the default) or, for
large bases, ``"HNSW32"`` and friends. Filters and deletions reach faiss as an
``IDSelectorBitmap`` so they apply before the top k, never after.

``"Flat"`` builds no faiss index: exact search is one matrix-vector product over the
memory-mapped ``vectors.npy``, as fast as faiss's flat scan (both read every vector once
per query) without holding a second copy of the vectors in RAM. At 1M passages that
copy was 1.5 GB of the 4.1 GB a served base took (``benchmarks/scale.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np

# Below this many allowed rows a segment is scored exactly by NumPy: cheaper than a
# selector-driven faiss search, and exact where a filtered HNSW search would miss.
_EXACT_BELOW = 4096


class DenseSegment:
    """Vectors of one segment and the faiss index built over them."""

    def __init__(self, vectors: np.ndarray, index: faiss.Index | None) -> None:
        self.vectors = vectors
        self.index = index  # None for "Flat": exact search reads ``vectors`` directly

    @property
    def n_passages(self) -> int:
        return int(self.vectors.shape[0])

    @classmethod
    def build(cls, vectors: np.ndarray, factory: str = "Flat") -> DenseSegment:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        return cls(vectors, _make_index(vectors, factory))

    def save(self, directory: Path, factory: str) -> None:
        np.save(directory / "vectors.npy", self.vectors, allow_pickle=False)
        if self.index is not None:
            faiss.write_index(self.index, str(directory / "dense.faiss"))

    @classmethod
    def load(cls, directory: Path, factory: str) -> DenseSegment:
        vectors = np.load(directory / "vectors.npy", mmap_mode="r", allow_pickle=False)
        index = None if factory == "Flat" else faiss.read_index(str(directory / "dense.faiss"))
        return cls(vectors, index)


def _make_index(vectors: np.ndarray, factory: str) -> faiss.Index | None:
    if factory == "Flat":
        return None
    dim = int(vectors.shape[1])
    index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained and len(vectors):
        index.train(vectors)
    if len(vectors):
        index.add(vectors)
    return index


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
        for segment, offset in zip(self.segments, self.offsets):
            seg_mask = mask[offset : offset + segment.n_passages]
            n_allowed = int(np.count_nonzero(seg_mask))
            if n_allowed == 0:
                continue
            if n_allowed <= _EXACT_BELOW or n_allowed <= k:
                rows = np.flatnonzero(seg_mask)
                sims = np.asarray(segment.vectors[rows]) @ q[0]
                top = _top_k(sims, k)
                all_rows.append(rows[top] + offset)
                all_scores.append(sims[top])
                continue
            if segment.index is None:  # exact: score every row, then drop the disallowed
                sims = np.asarray(segment.vectors @ q[0], dtype=np.float32)
                if n_allowed < segment.n_passages:
                    sims[~seg_mask] = -np.inf
                top = _top_k(sims, min(k, n_allowed))
                all_rows.append(top.astype(np.int64) + offset)
                all_scores.append(sims[top])
                continue
            params = _search_params(segment.index, self.ef_search)
            if n_allowed < segment.n_passages:
                bitmap = np.packbits(seg_mask, bitorder="little")
                params.sel = faiss.IDSelectorBitmap(segment.n_passages, faiss.swig_ptr(bitmap))
            sims, ids = segment.index.search(q, min(k, n_allowed), params=params)
            keep = ids[0] >= 0
            all_rows.append(ids[0][keep].astype(np.int64) + offset)
            all_scores.append(sims[0][keep])
        if not all_rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        rows = np.concatenate(all_rows)
        scores = np.concatenate(all_scores).astype(np.float32)
        top = _top_k(scores, k)
        return rows[top], scores[top]

    def scores_of(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact inner products of ``query`` with the given global rows."""
        out = np.empty(len(rows), dtype=np.float32)
        if not len(rows):
            return out
        q = np.asarray(query, dtype=np.float32)
        seg_of = np.searchsorted(self.offsets, rows, side="right") - 1
        for s in np.unique(seg_of):
            pick = seg_of == s
            local = rows[pick] - self.offsets[s]
            out[pick] = np.asarray(self.segments[s].vectors[local]) @ q
        return out


def _search_params(index: faiss.Index, ef_search: int) -> faiss.SearchParameters:
    if isinstance(index, faiss.IndexHNSW):
        params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
        params.efSearch = ef_search
        return params
    return faiss.SearchParameters()


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest scores, best first."""
    if len(scores) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        return part[np.argsort(-scores[part], kind="stable")]
    return np.argsort(-scores, kind="stable")
