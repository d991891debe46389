"""The postings of one immutable BM25 segment: built from analysed passages, merged
without re-analysing text, saved as ``.npy`` files.

Per term, its postings (passage rows and term frequencies) in CSC layout, plus each
passage's length. Segments never change once written; deletions are a mask kept by the
caller, and :mod:`srmkb.index.lexical` scores them with statistics over live passages.
"""

from __future__ import annotations

import itertools
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .. import npy
from .pages import release

_FILES = ("terms", "indptr", "rows", "tf", "length")
LEXICAL_FILES = tuple(f"lexical_{name}.npy" for name in _FILES)


class LexicalSegment:
    """The postings of one immutable segment."""

    def __init__(
        self,
        terms: np.ndarray,
        indptr: np.ndarray,
        rows: np.ndarray,
        tf: np.ndarray,
        length: np.ndarray,
    ) -> None:
        self.terms = terms  # sorted unique terms (unicode array)
        self.indptr = indptr  # int64, len(terms) + 1
        self.rows = rows  # int32 passage rows, grouped by term
        self.tf = tf  # float32 term frequencies, aligned with rows
        self.length = length  # float32 passage lengths in terms
        self._lookup: dict[str, int] | None = None

    @property
    def n_passages(self) -> int:
        return int(self.length.shape[0])

    @classmethod
    def build(cls, token_lists: Iterable[Iterable[str]]) -> LexicalSegment:
        """Index analysed passages; row ``i`` of the segment is the ``i``-th token list.

        Streams: each passage's terms become integer ids as they arrive (one vocabulary
        dict, in C through ``map``), kept in a compact array, so a caller can pass a
        generator and no passage's strings outlive it. A per-token Python list of all
        passages cost twice bm25s's memory and most of the build's time.
        """
        vocab: defaultdict[str, int] = defaultdict(itertools.count().__next__)
        term_of = vocab.__getitem__  # a new term gets the next id (defaultdict.__missing__)
        ids = array("i")
        ends = array("q")
        for tokens in token_lists:
            ids.extend(map(term_of, tokens))
            ends.append(len(ids))
        n = len(ends)
        lengths: np.ndarray = np.diff(np.frombuffer(ends, dtype=np.int64), prepend=0)
        words = np.array(list(vocab), dtype=str) if vocab else np.array([], dtype="<U1")
        del vocab
        # Sort terms alphabetically so segments can be searched with searchsorted.
        order = np.argsort(words, kind="stable")
        rank = np.empty(len(words), dtype=np.int64)
        rank[order] = np.arange(len(words))
        # One int64 key per token, (term rank, row), sorted in place: equal keys are one
        # posting and their run length its term frequency.
        keys = rank[np.frombuffer(ids, dtype=np.int32)]
        del ids, rank
        keys *= max(n, 1)
        keys += np.repeat(np.arange(n, dtype=np.int64), lengths)
        keys.sort()
        starts = np.ones(len(keys), dtype=bool)
        np.not_equal(keys[1:], keys[:-1], out=starts[1:])
        first = np.flatnonzero(starts)
        del starts
        counts = np.diff(first, append=len(keys)).astype(np.float32)
        keys = keys[first]
        del first
        term_index = keys // max(n, 1)
        keys -= term_index * max(n, 1)
        indptr = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term_index, minlength=len(words)), out=indptr[1:])
        return cls(
            terms=words[order],
            indptr=indptr,
            rows=keys.astype(np.int32),
            tf=counts,
            length=lengths.astype(np.float32),
        )

    def term_index(self, term: str) -> int:
        """Position of ``term`` in the segment's vocabulary, or -1.

        The first lookup builds a dict of the vocabulary (a sorted array lookup costs
        more per query than the dict costs once).
        """
        if self._lookup is None:
            self._lookup = {t: i for i, t in enumerate(self.terms.tolist())}
        return self._lookup.get(term, -1)

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Rows and term frequencies of ``term``, or None when the segment lacks it."""
        i = self.term_index(term)
        if i < 0:
            return None
        start, end = int(self.indptr[i]), int(self.indptr[i + 1])
        return self.rows[start:end], self.tf[start:end]

    @classmethod
    def merge(cls, parts: Sequence[tuple[LexicalSegment, np.ndarray]]) -> LexicalSegment:
        """Merge segments, keeping the rows each mask selects, without re-analysing text.

        Works on the postings arrays directly: a unified vocabulary, rows renumbered,
        postings of dropped rows removed. Parts come in row order and each part's
        postings are sorted by (term, row), so every kept posting has a known place in
        the result: it is written there, part by part, with no sort over all postings.
        """
        vocab = np.unique(np.concatenate([np.asarray(seg.terms) for seg, _ in parts]))
        # Pass 1: each part's kept postings per term, and each term's total.
        plans = []
        total = np.zeros(len(vocab), dtype=np.int64)
        base = 0
        for seg, keep in parts:
            new_row, base = _renumber(keep, base)
            to_vocab = np.searchsorted(vocab, np.asarray(seg.terms))
            mapped = new_row[np.asarray(seg.rows)]
            alive = mapped >= 0
            # Kept postings before each posting, and per term (indptr into that count).
            before = np.concatenate(([0], np.cumsum(alive)))
            bounds = before[np.asarray(seg.indptr)]
            counts = np.diff(bounds)
            total[to_vocab] += counts
            plans.append((to_vocab, bounds, counts))
        present = total > 0  # terms whose every posting was in a dropped row go
        indptr = np.zeros(int(present.sum()) + 1, dtype=np.int64)
        np.cumsum(total[present], out=indptr[1:])
        # Pass 2: each part writes its kept postings after the earlier parts' of a term.
        cursor = np.concatenate(([0], np.cumsum(total)))[:-1]
        rows = np.empty(int(indptr[-1]), dtype=np.int32)
        tf = np.empty(int(indptr[-1]), dtype=np.float32)
        base = 0
        for (seg, keep), (to_vocab, bounds, counts) in zip(parts, plans):
            new_row, base = _renumber(keep, base)
            mapped = new_row[np.asarray(seg.rows)]
            alive = np.flatnonzero(mapped >= 0)
            # Where a part's term starts in the result, minus where it starts among the
            # part's kept postings: add a kept posting's index to get its place.
            shift = np.repeat(cursor[to_vocab] - bounds[:-1], counts)
            place = shift + np.arange(len(alive))
            rows[place] = mapped[alive]
            tf[place] = np.asarray(seg.tf)[alive]
            cursor[to_vocab] += counts
            for done in (seg.rows, seg.tf):  # read for the last time (see pages.release)
                release(np.asarray(done))
        lengths = [np.asarray(seg.length)[np.asarray(keep, dtype=bool)] for seg, keep in parts]
        return cls(
            terms=vocab[present],
            indptr=indptr,
            rows=rows,
            tf=tf,
            length=np.concatenate(lengths).astype(np.float32),
        )

    def save(self, directory: Path) -> None:
        arrays = (self.terms, self.indptr, self.rows, self.tf, self.length)
        for name, values in zip(_FILES, arrays):
            np.save(directory / f"lexical_{name}.npy", values, allow_pickle=False)

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = True) -> LexicalSegment:
        # Plain ndarray views of the maps: slicing a np.memmap costs a Python-level
        # __array_finalize__ per slice, a tenth of a 100k-passage query's time.
        arrays = [
            npy.load(directory / f"lexical_{name}.npy", mmap=mmap).view(np.ndarray)
            for name in _FILES
        ]
        return cls(*arrays)


def _renumber(keep: np.ndarray, base: int) -> tuple[np.ndarray, int]:
    """New row numbers of a part's rows (kept rows numbered from ``base``, dropped rows
    -1), and the next part's ``base``."""
    keep = np.asarray(keep, dtype=bool)
    new_row = np.full(keep.shape[0], -1, dtype=np.int32)
    kept = int(np.count_nonzero(keep))
    new_row[keep] = np.arange(base, base + kept, dtype=np.int32)
    return new_row, base + kept
