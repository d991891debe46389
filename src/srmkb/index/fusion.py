"""Hybrid fusion: one ranking from the BM25 and dense scores of the same candidates.

Candidates are the union of each retriever's top passages, and every candidate is
scored by *both* retrievers exactly, so no candidate lacks a score. Each retriever's
scores are z-normalised over the candidates, then mixed with a BM25 weight set per query
from each retriever's own confidence::

    w_bm25 = coverage · (1 − best cosine)          (the query's language known to the model)
    w_bm25 = (1 + P(same language)) / 2            (a language the model does not know)
    fused  = w_bm25 · z(bm25) + (1 − w_bm25) · z(dense)

``coverage`` is the share of the query's idf mass the best BM25 match reaches; the best
cosine is put on MiniLM's scale first (:func:`srmkb.models.cosine_map`) except across
languages. No constant is tuned per data set. The measurements behind each rule are in
``benchmarks/results/fusion-rules.md`` (and ``fusion-study.md``,
``benchmarks/fusion_study.py``, ``benchmarks/cosine_scale.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def lexical_weight(
    coverage: float,
    best_cosine: float,
    *,
    model_knows_query: bool = True,
    same_language: float = 1.0,
) -> float:
    """The BM25 weight for one query, in [0, 1], from the best coverage of the query by a
    candidate's BM25 (score / Σ idf) and the best cosine; when the model does not know
    the query's language, from ``same_language`` (P(query and candidates share one))."""
    if not model_knows_query:
        return (1.0 + min(max(same_language, 0.0), 1.0)) / 2.0
    covered = min(max(coverage, 0.0), 1.0)
    return covered * (1.0 - min(max(best_cosine, 0.0), 1.0))


def zscore(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    if sd <= 1e-12:
        return np.zeros_like(x, dtype=np.float32)
    return ((x - float(x.mean())) / sd).astype(np.float32)


def fuse(
    bm25: np.ndarray,
    dense: np.ndarray,
    coverage: float,
    *,
    model_knows_query: bool = True,
    same_language: float = 1.0,
    best_cosine: float | None = None,
) -> np.ndarray:
    """Fused scores for candidates scored by both retrievers (same order in both arrays);
    ``coverage`` is the best candidate's share of the query covered by BM25 (see
    :func:`lexical_weight` for the language arguments). ``best_cosine`` defaults to
    ``dense.max()``; pass the raw one when ``dense`` holds adjusted scores."""
    if len(bm25) == 0:
        return np.zeros(0, dtype=np.float32)
    w = lexical_weight(
        coverage,
        float(dense.max()) if best_cosine is None else best_cosine,
        model_knows_query=model_knows_query,
        same_language=same_language,
    )
    return w * zscore(bm25) + (1.0 - w) * zscore(dense)


def fuse_lists(
    lists: Sequence[tuple[np.ndarray, np.ndarray]], weights: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """One list from several ranked lists of (keys, scores), each key once per list:
    (keys, scores) over the union of their keys, in key order.

    Each list's scores are z-normalised over the union, a key missing from a list
    taking that list's lowest score (it ranked below all of them there), then summed
    with ``weights``. Used to fuse a query's ranking with its translation's (see
    :meth:`srmkb.index.Ranking.fuse`); the weights are measured, leave-one-set-out, in
    ``benchmarks/results/cross-language-latest.md``.
    """
    if len(lists) != len(weights):
        raise ValueError("one weight per list")
    keys = np.zeros(0, dtype=str)
    for these, _ in lists:
        keys = np.union1d(keys, these)
    fused = np.zeros(len(keys), dtype=np.float32)
    for (these, scores), weight in zip(lists, weights):
        if not len(these):
            continue
        filled = np.full(len(keys), float(np.min(scores)), dtype=np.float64)
        filled[np.searchsorted(keys, these)] = scores
        fused += np.float32(weight) * zscore(filled)
    return keys, fused
