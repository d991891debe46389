"""BM25 over immutable segments, scored with a few NumPy operations per query term.

Each segment stores, per term, its postings (passage rows and term frequencies) in CSC
layout, plus each passage's length. Segments never change once written; deletions are
a mask kept by the caller, and corpus statistics (passage count, document frequency,
average length) are computed over live passages at query time, as Lucene does. That is
what makes incremental add, update and delete possible without rebuilding the index.

Variant: Lucene's BM25 (Robertson–Spärck Jones idf with +1 inside the log, so idf is
never negative), ``k1 = 1.2``, ``b = 0.75``::

    idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
    score(q, d) = Σ_t∈q  qtf(t) · idf(t) · tf(t,d) / (tf(t,d) + k1 · (1 - b + b · |d| / avgdl))

The same formula also scores whole documents (:meth:`LexicalIndex.document_scores`):
a document's term frequencies and length are the sums over its passages, and N, df and
avgdl count documents. They come from the passage postings of the query's terms at query
time, so nothing extra is stored and every add, update and delete is reflected at once.
"""

from __future__ import annotations

import copy
import math
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import faiss
import numpy as np

from .postings import LexicalSegment
from .statistics import GroupStatistics, LexicalStatistics
from .topk import top_k


@dataclass(frozen=True)
class BM25Params:
    k1: float = 1.2
    b: float = 0.75


# Postings whose document-level scoring arrays a view keeps for the terms queried last
# (documents and contributions: 12 bytes a posting, so 48 MB).
TERM_CACHE_POSTINGS = 4_000_000
# A term held by at least this share of a segment's rows is kept as a dense row of
# weights, one per passage: adding a contiguous row costs less than scattering that many
# postings. Measured with the caches cold, as a query in a service finds them (100k
# passages of 25 words, SciFact's queries, benchmarks/bm25_speed.py): a share of 1/8 makes
# 10 terms dense (4 MB), and scoring plus top 10 take 0.30 ms p50, against 0.31 at 1/16
# (29 terms) and 1/4, 0.37 at 1/2 and 0.41 with no dense rows. DENSE_BYTES bounds the
# rows per segment and group, most frequent terms first; small segments keep none.
DENSE_SHARE = 1 / 8
DENSE_BYTES = 64 * 2**20
DENSE_MIN_ROWS = 8_192


@dataclass(frozen=True)
class _Weights:
    """A segment's per-posting BM25 weights for one group, and its frequent terms'
    weights as dense rows (``dense[rows_of[t]]`` for term ``t``; -1: not dense)."""

    weights: np.ndarray
    df: np.ndarray
    dense: np.ndarray
    rows_of: np.ndarray


# A term's weights in one segment: the segment's first row, then either its postings'
# rows and weights, or None and its dense row of weights (idf is applied by scores).
_Postings = tuple[int, np.ndarray | None, np.ndarray]


class LexicalIndex:
    """A read-only view over segments and a live mask: the query side of BM25.

    Corpus statistics are fixed for a view, so the per-posting part of BM25,
    ``tf / (tf + k1 · (1 - b + b · |d| / avgdl))``, and each term's live document
    frequency are computed once per segment (on first use), and a query costs, per term
    and segment, a multiply by idf and an add: one scatter-add of all its rare terms'
    postings, and a contiguous add of each frequent term's dense row (see DENSE_SHARE),
    while idf still reflects the live corpus. A writer builds a new view after each
    commit.
    ``documents`` numbers each row's document (rows of a document consecutive, numbers
    ascending), for :meth:`document_scores`; None when every document is one row.
    """

    def __init__(
        self,
        segments: Sequence[LexicalSegment],
        live: np.ndarray,
        params: BM25Params = BM25Params(),
        documents: np.ndarray | None = None,
    ) -> None:
        self.segments = list(segments)
        self.offsets = np.cumsum([0] + [s.n_passages for s in self.segments])[:-1].tolist()
        self.live = live
        self.params = params
        if self.segments:
            self.lengths = np.concatenate([np.asarray(s.length) for s in self.segments])
        else:
            self.lengths = np.zeros(0, dtype=np.float32)
        if self.lengths.shape[0] != live.shape[0]:
            raise ValueError("live mask and segments disagree on the number of rows")
        # Row -> document number; a document's rows are consecutive, numbers ascend.
        self.documents = documents
        self.n_documents = int(documents[-1]) + 1 if documents is not None and len(documents) else 0
        if documents is not None and documents.shape[0] != live.shape[0]:
            raise ValueError("documents and segments disagree on the number of rows")
        # group -> (live documents, average document length, length of every document)
        self._doc_stats: dict[str, tuple[int, float, np.ndarray]] = {}
        self._stats: dict[str, tuple[np.ndarray, int, float]] = {}
        self._stats["*"] = self._make_stats(live)
        # (group, segment index) -> per-posting weights, per-term live document frequency,
        # frequent terms' dense rows
        self._cache: dict[tuple[str, int], _Weights] = {}
        # The same, by average length too, shared with the views of with_statistics: a
        # view per query (a shard scoring with the collection's statistics) finds the
        # weights of the collection's average length computed once (see _segment_terms).
        self._shared: dict[tuple[str, int, float], _Weights] = {}
        # (level, group, term) -> (idf, documents, contributions), oldest first
        self._terms: OrderedDict[tuple[str, str, str], tuple[float, np.ndarray, np.ndarray]] = (
            OrderedDict()
        )
        self._cached_postings = 0
        self._lock = threading.Lock()
        # Collection-wide statistics replacing this index's own (see with_statistics).
        self._global: Mapping[str, GroupStatistics] | None = None

    def _make_stats(self, mask: np.ndarray) -> tuple[np.ndarray, int, float]:
        n_docs = int(np.count_nonzero(mask))
        avgdl = float(self.lengths[mask].sum()) / n_docs if n_docs else 1.0
        return mask, n_docs, max(avgdl, 1e-9)

    def set_stats_group(self, name: str, mask: np.ndarray) -> None:
        """Register a group of rows (a language, say) whose statistics score its rows."""
        self._stats[name] = self._make_stats(mask & self.live)

    def statistics(
        self, terms: Sequence[str], groups: Mapping[str, np.ndarray]
    ) -> LexicalStatistics:
        """This index's statistics for ``terms``: over all live rows (``"*"``) and over
        each group's rows (``groups`` maps a name to its row mask), to be added to other
        parts' (see :mod:`srmkb.index.statistics`)."""
        for name, mask in groups.items():
            if name not in self._stats:
                self.set_stats_group(name, mask)
        unique = list(dict.fromkeys(terms))
        out = {}
        for group in ("*", *groups):
            mask, n, _ = self._stats[group]
            length = float(self.lengths[mask].sum())
            df = {term: d for term in unique if (d := self._df(term, group))}
            if self.documents is None:  # every document is one row
                out[group] = GroupStatistics(n, length, n, length, df, dict(df))
                continue
            n_docs, _, doc_lengths = self._document_stats(group)
            document_df = {}
            for term in unique:
                found = self._document_term(term, group)
                if found is not None:
                    document_df[term] = len(found[1])
            out[group] = GroupStatistics(
                n, length, n_docs, float(doc_lengths.sum()), df, document_df
            )
        return LexicalStatistics(out)

    def _df(self, term: str, group: str) -> int:
        """Live rows of ``group`` that hold ``term``."""
        found = 0
        for i, segment in enumerate(self.segments):
            t = segment.term_index(term)
            if t >= 0:
                found += int(self._segment_terms(group, i).df[t])
        return found

    def with_statistics(
        self, statistics: LexicalStatistics, groups: Mapping[str, np.ndarray]
    ) -> LexicalIndex:
        """A view of this index that scores with ``statistics`` (a whole collection's,
        this index one part of it) instead of its own; ``groups`` maps each group of
        ``statistics`` other than ``"*"`` to its rows here (always the same rows for a
        name). Its caches are its own, except the per-posting weights, which depend only
        on a group's rows and average length: views with the same ones share them."""
        view = copy.copy(self)
        view._global = statistics.groups
        view._stats = {}
        for group, stats in statistics.groups.items():
            mask = self.live if group == "*" else groups[group] & self.live
            view._stats[group] = (mask, stats.passages, stats.avgdl)
        every = statistics.groups.get("*")
        if view.documents is None and every is not None and every.documents < every.passages:
            # Documents of several rows exist elsewhere: score documents here too.
            view.documents = np.arange(self.live.shape[0], dtype=np.int64)
            view.n_documents = int(self.live.shape[0])
        view._doc_stats = {}
        view._cache = {}
        view._terms = OrderedDict()
        view._cached_postings = 0
        view._lock = threading.Lock()
        return view

    def _segment_terms(self, group: str, index: int) -> _Weights:
        key = (group, index)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._cache.get(key)
            if cached is None:
                shared_key = (group, index, self._stats[group][2])
                cached = self._shared.get(shared_key)
                if cached is None:
                    cached = self._precompute(group, index)
                    # At most two lengths per segment and group: this index's own and
                    # the collection's (weights cost 4 bytes a posting).
                    stale = [k for k in self._shared if k[:2] == (group, index)]
                    for k in stale[:-1]:
                        self._shared.pop(k, None)
                    self._shared[shared_key] = cached
                self._cache[key] = cached
        return cached

    def _precompute(self, group: str, index: int) -> _Weights:
        mask, _, avgdl = self._stats[group]
        seg, offset = self.segments[index], self.offsets[index]
        rows = np.asarray(seg.rows)
        tf = np.asarray(seg.tf)
        in_group = mask[offset : offset + seg.n_passages][rows]
        k1, b = self.params.k1, self.params.b
        norm = k1 * (1.0 - b + b * np.asarray(seg.length)[rows] / avgdl)
        # Rows outside the group (or deleted) get weight 0, so they never score.
        weights = np.where(in_group, tf / (tf + norm), 0.0).astype(np.float32)
        indptr = np.asarray(seg.indptr)
        if len(indptr) > 1:
            df = np.add.reduceat(in_group.astype(np.int32), indptr[:-1])
            df[indptr[:-1] == indptr[1:]] = 0  # reduceat reads one element for an empty slice
        else:
            df = np.zeros(0, dtype=np.int32)
        return _Weights(weights, df, *_dense_rows(seg.n_passages, indptr, rows, weights, df))

    def _term(self, term: str, group: str) -> tuple[float, list[_Postings]] | None:
        """A term's idf and, per segment that holds it, the segment's first row and the
        term's weights there: its postings' rows and per-posting weights, or None and a
        dense row for a frequent term (views into the segment's arrays, no copies;
        :meth:`scores` applies idf). None when no live row holds it.

        Nothing is cached per term: locating costs a few dict lookups and slices, so a
        query's first run costs what its next runs do.
        """
        found = []
        df = 0
        for i, segment in enumerate(self.segments):
            t = segment.term_index(term)
            if t >= 0:
                cached = self._segment_terms(group, i)
                if here := int(cached.df[t]):
                    df += here
                    found.append((i, t, cached))
        if self._global is not None:  # a term found only elsewhere still counts in the mass
            df = self._global[group].df.get(term, df)
        if df == 0:
            return None
        idf = math.log1p((self._stats[group][1] - df + 0.5) / (df + 0.5))
        parts: list[_Postings] = []
        for i, t, cached in found:
            if (row := int(cached.rows_of[t])) >= 0:
                parts.append((self.offsets[i], None, cached.dense[row]))
                continue
            segment = self.segments[i]
            start, end = segment.indptr[t : t + 2].tolist()
            parts.append((self.offsets[i], segment.rows[start:end], cached.weights[start:end]))
        return idf, parts

    def _remember(
        self, key: tuple[str, str, str], found: tuple[float, np.ndarray, np.ndarray]
    ) -> tuple[float, np.ndarray, np.ndarray]:
        with self._lock:
            self._terms[key] = found
            self._cached_postings += len(found[1])
            while self._cached_postings > TERM_CACHE_POSTINGS and self._terms:
                self._cached_postings -= len(self._terms.popitem(last=False)[1][1])
        return found

    def _document_stats(self, group: str) -> tuple[int, float, np.ndarray]:
        stats = self._doc_stats.get(group)
        if stats is None:
            assert self.documents is not None
            mask = self._stats[group][0]
            n = self.n_documents
            length = np.bincount(self.documents, weights=self.lengths * mask, minlength=n)
            alive = np.bincount(self.documents, weights=mask, minlength=n) > 0
            n_live = int(np.count_nonzero(alive))
            avgdl = float(length[alive].sum()) / n_live if n_live else 1.0
            if self._global is not None:
                n_live, avgdl = self._global[group].documents, self._global[group].document_avgdl
            stats = (n_live, max(avgdl, 1e-9), length.astype(np.float32))
            self._doc_stats[group] = stats
        return stats

    def _document_term(self, term: str, group: str) -> tuple[float, np.ndarray, np.ndarray] | None:
        """A term's document-level idf, and the documents that hold it with their BM25
        contribution; None when no live document holds it."""
        assert self.documents is not None
        key = ("document", group, term)
        cached = self._terms.get(key)
        if cached is not None:
            return cached
        n_docs, avgdl, length = self._document_stats(group)
        mask = self._stats[group][0]
        rows_parts, tf_parts = [], []
        for segment, offset in zip(self.segments, self.offsets):
            t = segment.term_index(term)
            if t < 0:
                continue
            start, end = segment.indptr[t : t + 2].tolist()
            rows = segment.rows[start:end] + offset
            alive = mask[rows]  # live rows of the group
            rows_parts.append(rows[alive])
            tf_parts.append(segment.tf[start:end][alive])
        rows = np.concatenate(rows_parts) if rows_parts else np.zeros(0, dtype=np.int64)
        if not len(rows):
            elsewhere = self._global[group].document_df.get(term, 0) if self._global else 0
            if not elsewhere:
                return None
            idf = float(np.log1p((n_docs - elsewhere + 0.5) / (elsewhere + 0.5)))
            return self._remember(key, (idf, rows, np.zeros(0, np.float32)))
        # Rows ascend within a term and across segments, so a document's rows are adjacent.
        numbers = self.documents[rows]
        first = np.flatnonzero(np.r_[True, numbers[1:] != numbers[:-1]])
        docs = numbers[first]
        tf = np.add.reduceat(np.concatenate(tf_parts), first)
        df = len(docs)
        if self._global is not None:
            df = self._global[group].document_df.get(term, df)
        idf = float(np.log1p((n_docs - df + 0.5) / (df + 0.5)))
        k1, b = self.params.k1, self.params.b
        norm = k1 * (1.0 - b + b * length[docs] / avgdl)
        contributions = (np.float32(idf) * tf / (tf + norm)).astype(np.float32)
        return self._remember(key, (idf, docs, contributions))

    def document_scores(
        self, query_terms: Sequence[str], *, group: str = "*"
    ) -> tuple[np.ndarray, float] | None:
        """BM25 of every document, its rows taken together as one text, and the query's
        document-level idf mass; None when the index has no documents of several rows
        (every document is then its own passage)."""
        if self.documents is None:
            return None
        return self._accumulate(query_terms, group, self.n_documents, self._document_term)

    def top(
        self, query_terms: Sequence[str], k: int, *, group: str = "*"
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best rows by BM25 and their scores, best first; rows that hold no
        query term are left out."""
        scores, _ = self.scores(query_terms, group=group)
        best = top_k(scores, k)
        best = best[scores[best] > 0]
        return best, scores[best]

    def scores(self, query_terms: Sequence[str], *, group: str = "*") -> tuple[np.ndarray, float]:
        """BM25 score of every row (0 where no term matches or the row is deleted).

        Also returns the query's idf mass, Σ qtf · idf: the score a passage would approach
        if it held every query term many times, so ``score / mass`` lies in [0, 1) and
        says how much of the query a passage covers.
        """
        n = self.live.shape[0]
        mass = 0.0
        if not query_terms or group not in self._stats or self._stats[group][1] == 0:
            return np.zeros(n, dtype=np.float32), mass
        scores: np.ndarray | None = None
        rows_parts, weight_parts, factors = [], [], []
        for term, qtf in Counter(query_terms).items():
            found = self._term(term, group)
            if found is None:
                continue
            idf, parts = found
            mass += qtf * idf
            factor = np.float32(qtf * idf)
            for offset, rows, weights in parts:
                if rows is not None:
                    rows_parts.append(rows + offset if offset else rows)
                    weight_parts.append(weights)
                    factors.append(factor)
                elif scores is None and len(weights) == n:  # the first dense row of all
                    scores = np.multiply(weights, factor)  # rows starts the scores
                else:  # a frequent term's dense row: scores += factor · row in one pass
                    # (faiss's fvec_madd; NumPy needs a multiply and an add, twice the
                    # memory traffic: 23 µs against 41 µs a 100k row)
                    if scores is None:
                        scores = np.zeros(n, dtype=np.float32)
                    target = faiss.swig_ptr(scores[offset : offset + len(weights)])
                    row = faiss.swig_ptr(weights)
                    madd = faiss.fvec_madd  # type: ignore[attr-defined]  # not in its stubs
                    madd(len(weights), target, float(factor), row, target)
        if scores is None:
            scores = np.zeros(n, dtype=np.float32)
        if rows_parts:  # the other terms' postings, scaled and added in one pass
            lengths = [len(r) for r in rows_parts]
            contributions = np.concatenate(weight_parts)
            contributions *= np.repeat(np.asarray(factors, dtype=np.float32), lengths)
            # np.add.at is twice as fast as scores[rows] += … in NumPy 2, and adds rows
            # that several terms share
            np.add.at(scores, np.concatenate(rows_parts), contributions)
        return scores, mass

    def _accumulate(
        self,
        query_terms: Sequence[str],
        group: str,
        size: int,
        lookup: Callable[[str, str], tuple[float, np.ndarray, np.ndarray] | None],
    ) -> tuple[np.ndarray, float]:
        """Σ over the query's terms of each term's contributions (from ``lookup``), into
        an array of ``size`` scores; and the query's idf mass."""
        scores = np.zeros(size, dtype=np.float32)
        mass = 0.0
        if not query_terms or group not in self._stats or self._stats[group][1] == 0:
            return scores, mass
        for term, qtf in Counter(query_terms).items():
            found = lookup(term, group)
            if found is None:
                continue
            idf, where, contributions = found
            mass += qtf * idf
            # np.add.at is twice as fast as scores[where] += … in NumPy 2
            np.add.at(scores, where, contributions if qtf == 1 else np.float32(qtf) * contributions)
        return scores, mass


def _dense_rows(
    n_rows: int, indptr: np.ndarray, rows: np.ndarray, weights: np.ndarray, df: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The weights of a segment's most frequent terms as dense rows (one column per
    passage, 0 where the term is absent), and each term's row (-1 for the others)."""
    rows_of = np.full(len(df), -1, dtype=np.int32)
    limit = min(DENSE_BYTES // max(4 * n_rows, 1), len(df))
    if n_rows < DENSE_MIN_ROWS or limit <= 0:
        return np.zeros((0, n_rows), dtype=np.float32), rows_of
    frequent = np.flatnonzero(df >= DENSE_SHARE * n_rows)
    frequent = frequent[np.argsort(-df[frequent], kind="stable")][:limit]
    dense = np.zeros((len(frequent), n_rows), dtype=np.float32)
    for j, t in enumerate(frequent.tolist()):
        start, end = int(indptr[t]), int(indptr[t + 1])
        dense[j, rows[start:end]] = weights[start:end]
    rows_of[frequent] = np.arange(len(frequent), dtype=np.int32)
    return dense, rows_of
