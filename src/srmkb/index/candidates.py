"""A query's candidates and the one step that ranks them: selection and fusion.

Ranking is split in two so that a base split into parts (the shards of
:mod:`srmkb.cluster`) ranks exactly as one part holding every row:

1. *Gathering*, per part (:meth:`srmkb.index.snapshot.Snapshot.candidates`): the part's
   own best rows by each retriever, BM25 scored with the collection's statistics, each
   row with every score the fusion reads (:class:`Candidates`).
2. *Selection* (:func:`select`), once, over the parts' candidates pooled: each
   retriever's global top :data:`CANDIDATES`, then the fusion over their union, with
   the quantities that span candidates (the best coverage, the best cosine, the
   languages of the candidates) computed over the pool.

A single base runs the same two steps over one part. The global top ``n`` of a retriever
is always within the union of every part's top ``n``, provided every part orders rows
the same way: by score, then by passage id (:func:`ranked`), which no layout changes.
Candidates are fused in passage-id order, so the float sums of the z-scores do not
depend on how the rows were spread either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from .fusion import fuse
from .query import Query
from .topk import top_k

__all__ = [
    "BACKGROUND_MIN_ROWS",
    "CANDIDATES",
    "Candidates",
    "Selected",
    "background_languages",
    "cross_language_vector",
    "dense_vector",
    "ranked",
    "select",
]

# Each retriever contributes this many candidates (at least) to the hybrid fusion.
CANDIDATES = 100
# The fewest live rows a language needs for a background of its own (see
# Snapshot.by_language): a median of a handful of passages would be the relevant ones.
BACKGROUND_MIN_ROWS = 16


@dataclass(frozen=True)
class Candidates:
    """One part's candidates for a query, each with every score the selection reads.

    ``searched`` is the dense search's score of the rows the part's dense search found
    (``-inf`` for the others); ``dense`` is the dense score the fusion reads (the
    cosine, or its z-score against the row language's background, see
    :meth:`~srmkb.index.snapshot.Snapshot.by_language`); ``cosine`` the cosine with the
    query's own vector. ``rows`` are rows of the part that gathered them: they mean
    nothing once parts are pooled, where ``keys`` (passage ids) name them.
    """

    keys: np.ndarray
    documents: np.ndarray
    rows: np.ndarray
    lexical: np.ndarray
    coverage: np.ndarray
    searched: np.ndarray
    dense: np.ndarray
    cosine: np.ndarray
    language: np.ndarray
    query_vector: np.ndarray | None = None
    crossed: bool = False  # the dense side searched with the cross-language vector

    def __len__(self) -> int:
        return len(self.keys)

    def take(self, index: np.ndarray) -> Candidates:
        """The candidates at ``index``, in that order."""
        arrays = {f.name: getattr(self, f.name)[index] for f in fields(self) if _is_row(f.name)}
        return Candidates(**arrays, query_vector=self.query_vector, crossed=self.crossed)

    @classmethod
    def empty(cls) -> Candidates:
        none, zeros = np.zeros(0, dtype=str), np.zeros(0, dtype=np.float32)
        return cls(none, none, np.zeros(0, np.int64), zeros, zeros, zeros, zeros, zeros, none)

    @classmethod
    def pool(cls, parts: Sequence[Candidates]) -> Candidates:
        """The candidates of several parts of one collection, for one query."""
        if not parts:
            return cls.empty()
        arrays = {
            f.name: np.concatenate([getattr(p, f.name) for p in parts])
            for f in fields(cls)
            if _is_row(f.name)
        }
        vector = next((p.query_vector for p in parts if p.query_vector is not None), None)
        return cls(**arrays, query_vector=vector, crossed=any(p.crossed for p in parts))


def _is_row(name: str) -> bool:
    return name not in ("query_vector", "crossed")


@dataclass(frozen=True)
class Selected:
    """The ``k`` best of some candidates: their positions, best first, and scores."""

    index: np.ndarray
    scores: np.ndarray
    parts: dict[str, np.ndarray]
    coverage: np.ndarray | None
    query_vector: np.ndarray | None


def ranked(
    scores: np.ndarray, keys: np.ndarray, n: int, rows: np.ndarray | None = None
) -> np.ndarray:
    """Indices of the ``n`` best ``scores``, best first; equal scores by ``keys``
    ascending (passage ids), so the order never depends on where rows are stored.

    ``rows``: ``scores[i]`` is the score of ``keys[rows[i]]`` (only the keys of the few
    best are then gathered: a BM25 query matches most rows of a base, and copying
    every matching row's id cost a tenth of a hybrid query at 100k passages)."""
    if n <= 0 or not len(scores):
        return np.zeros(0, dtype=np.int64)
    if len(scores) > n:
        floor = scores[top_k(scores, n)[-1]]  # the n-th best, found without a full sort
        within = np.flatnonzero(scores >= floor)  # n or more: every tie at the floor too
    else:
        within = np.arange(len(scores))
    tied = keys[within] if rows is None else keys[rows[within]]
    order = np.lexsort((tied, -scores[within].astype(np.float64)))
    return within[order[:n]]


def select(
    found: Candidates,
    query: Query,
    k: int,
    mode: str,
    *,
    model_languages: frozenset[str] | None,
    cosine_map: tuple[float, float],
) -> Selected:
    """The ``k`` best of ``found`` (one part's candidates, or several parts' pooled) by
    BM25, dense or their fusion (see :mod:`srmkb.index.fusion`)."""
    canonical = np.argsort(found.keys, kind="stable")
    found = found.take(canonical)
    keys = found.keys
    if mode == "bm25":
        matched = np.flatnonzero(found.lexical > 0)
        top = matched[ranked(found.lexical[matched], keys, k, matched)]
        parts = {"bm25": found.lexical[top]}
        return Selected(canonical[top], found.lexical[top], parts, found.coverage[top], None)
    hit = np.flatnonzero(np.isfinite(found.searched))
    if mode == "dense":
        top = hit[ranked(found.searched[hit], keys, k, hit)]
        parts = {"dense": found.cosine[top]}
        return Selected(canonical[top], found.searched[top], parts, None, found.query_vector)
    n_cand = max(k, CANDIDATES)
    matched = np.flatnonzero(found.lexical > 0)
    lexical = matched[ranked(found.lexical[matched], keys, n_cand, matched)]
    dense = hit[ranked(found.searched[hit], keys, n_cand, hit)]
    cand = np.union1d(lexical, dense)  # in passage-id order, as ``found`` is
    if not len(cand):
        none = np.zeros(0, dtype=np.int64)
        return Selected(none, np.zeros(0, np.float32), {}, None, found.query_vector)
    knows, same = query_languages(query, model_languages, found.language[cand])
    best = float(found.cosine[cand].max())
    if not found.crossed:  # across languages the raw cosine keeps BM25's weight low
        intercept, slope = cosine_map
        best = intercept + slope * best
    fused = fuse(
        found.lexical[cand],
        found.dense[cand],
        float(found.coverage[cand].max()),
        model_knows_query=knows,
        same_language=same,
        best_cosine=best,
    )
    order = ranked(fused, keys[cand], k)
    top = cand[order]
    parts = {"bm25": found.lexical[top], "dense": found.cosine[top]}
    return Selected(canonical[top], fused[order], parts, found.coverage[top], found.query_vector)


def query_languages(
    query: Query, model_languages: frozenset[str] | None, languages: np.ndarray
) -> tuple[bool, float]:
    """Whether the dense model knows the query's language (P ≥ 0.5), and the
    probability that the query is in the language of the candidates (``languages``)."""
    if model_languages is None:
        return True, 1.0
    p = query.languages
    if not p or sum(v for k, v in p.items() if k in model_languages) >= 0.5:
        return True, 1.0
    names, counts = np.unique(languages, return_counts=True)
    same = sum(p.get(str(n), 0.0) * int(c) for n, c in zip(names, counts))
    return False, float(same) / max(int(counts.sum()), 1)


def background_languages(counts: Mapping[str, int]) -> tuple[str, ...]:
    """The languages with a background of their own, from each language's live rows:
    those with at least :data:`BACKGROUND_MIN_ROWS`, when two or more have that many."""
    enough = tuple(sorted(name for name, n in counts.items() if n >= BACKGROUND_MIN_ROWS))
    return enough if len(enough) >= 2 else ()


def dense_vector(
    query: Query,
    qvec: np.ndarray,
    *,
    query_means: Mapping[str, np.ndarray],
    model_languages: frozenset[str] | None,
    backgrounds: Sequence[str],
    languages: Sequence[str],
) -> np.ndarray:
    """The vector the dense retriever searches with: the query's, or the cross-language
    one (see :func:`cross_language_vector`) when the model is multilingual, a mean
    question is known for the query's language (P ≥ 0.5) and the collection has too few
    passages in that language for a background of its own (not in ``backgrounds``; see
    :func:`background_languages`) and is not mostly in it (``languages``: most frequent
    first): a French question over an English base.

    In a base of both languages the question keeps its own vector and the languages meet
    through their backgrounds (:meth:`~srmkb.index.snapshot.Snapshot.by_language`): the
    centred vector there ranked an English FAQ entry over the French entry worded as the
    question.
    """
    if not query_means or model_languages is not None:
        return qvec
    p = query.languages
    if not p:
        return qvec
    language, probability = max(p.items(), key=lambda item: item[1])
    mean = query_means.get(language)
    if probability < 0.5 or mean is None or language in backgrounds:
        return qvec
    if languages and languages[0] == language:
        return qvec  # the base is in the question's language
    return cross_language_vector(qvec, mean)


def cross_language_vector(query: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """The query's vector less the mean question vector of its language, normalised.

    A multilingual model's question vector carries its language as well as its meaning:
    multilingual-e5 puts every French question near the French mean, so an English
    passage's cosine with a French question reflects the gap between the languages as
    much as the subject. Removing the language's mean question keeps the meaning (the
    centring of Libovický et al., "On the Language Neutrality of Pre-trained
    Multilingual Representations", 2020). Dense nDCG@10, multilingual-e5, the mean
    taken from the other sets' questions (``benchmarks/query_means.py``): French
    questions over English pages or answers, libreoffice-help 0.261 → 0.347, Debian
    FAQ 0.570 → 0.599; English over French, 0.333 → 0.470 and 0.540 → 0.597. Within one
    language it loses (service-public-fr 0.940 → 0.913, covidfaq 0.820 → 0.806), so it
    is used only where the base holds (almost) no passages in the question's language
    (see :func:`dense_vector`).
    """
    centred = np.asarray(query, dtype=np.float32) - mean
    norm = float(np.linalg.norm(centred))
    return (centred / norm).astype(np.float32) if norm > 0 else np.asarray(query, np.float32)
