"""Answer confidence: the probability that the top document answers the question.

A question deserves an answer only when the base holds one. The evidence is in the
ranking itself: how close the best passage is in meaning (cosine), how close its best
line is (an FAQ's question, one phrasing in a list of example requests) and how much
that line stands out from the passage's other lines, how close the passage's lines are
as a whole (their centroid), how clearly the top document beats the next one, how much
of the question it covers word for word, and whether both retrievers agree on it (and
how close it is when they do). A logistic model over these features turns them into a
probability; its weights are fitted by ``benchmarks/confidence_study.py`` and shipped as
``confidence_model.json``, so a new fit is one command and no code change. Cosines
differ by embedding model (multilingual-e5 puts unrelated texts near 0.8, MiniLM near
0.1), so each built-in model has its own fit (:data:`MODEL_FILES`). The study
measures each feature leaving one data set out of the fit at a time; features that did
not help there (the share of query terms unknown to the base, the hybrid score gap,
agreement of the top 3, the density of close documents) are left out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import InputError

FEATURES: tuple[str, ...] = (
    "cos_top",  # dense cosine of the top passage
    "line_cos",  # best cosine of one line (title, sentence) of that passage
    "line_gap",  # line_cos minus the same for the next document
    "line_spread",  # line_cos minus the mean cosine of that passage's lines
    "line_centroid",  # cosine with the centroid of that passage's line vectors
    "coverage",  # BM25 of the top passage / Σ idf of the query terms
    "agree",  # 1 when BM25's and the dense retriever's best documents are the same
    "agree_cos",  # cos_top when they agree, else 0 (agreement counts more on a close match)
    "bias",
)
MODEL_FILE = Path(__file__).with_name("confidence_model.json")  # all-MiniLM-L6-v2's
# The fit for each embedding model that has its own; any other model uses MODEL_FILE's.
MODEL_FILES: dict[str, Path] = {
    "intfloat/multilingual-e5-small@q4_0": MODEL_FILE.with_name("confidence_model_e5.json"),
}


@dataclass(frozen=True)
class ConfidenceModel:
    """Logistic weights over :data:`FEATURES` and the default answering threshold."""

    weights: tuple[float, ...]
    threshold: float
    provenance: str = ""

    def cut(self, threshold: float | None) -> float:
        """The answering threshold: ``threshold`` when given, else this model's own."""
        if threshold is None:
            return self.threshold
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise InputError(f"threshold must be a number, got {threshold!r}")
        if math.isnan(threshold):
            raise InputError(f"threshold must be a number, got {threshold!r}")
        return float(threshold)

    def probability(self, features: Sequence[float]) -> float:
        z = float(np.dot(self.weights, features))
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(FEATURES),
            "weights": list(self.weights),
            "threshold": self.threshold,
            "provenance": self.provenance,
        }


def model_file(embedding_model: str | None = None) -> Path:
    """The confidence model fitted for ``embedding_model`` (a model id)."""
    return MODEL_FILES.get(embedding_model or "", MODEL_FILE)


@lru_cache(maxsize=8)
def default_model(embedding_model: str | None = None) -> ConfidenceModel:
    """The shipped confidence model for answers ranked with ``embedding_model``."""
    path = model_file(embedding_model)
    data = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data["features"]) != FEATURES:
        raise ValueError(f"{path} was fitted on other features: {data['features']}")
    if len(data["weights"]) != len(FEATURES):
        raise ValueError(f"{path} has {len(data['weights'])} weights for {len(FEATURES)}")
    return ConfidenceModel(tuple(data["weights"]), float(data["threshold"]), data["provenance"])


def answer_features(
    document_ids: Sequence[str],
    bm25: np.ndarray,
    dense: np.ndarray,
    coverage: np.ndarray,
    line_cos: Sequence[float],
    *,
    line_mean: float | None = None,
    line_centroid: float | None = None,
) -> list[float]:
    """Features of a hybrid ranking, in the order of :data:`FEATURES`.

    Rows are best first, each with its BM25 score, cosine and coverage (BM25 / Σ idf of
    the query); ``line_cos`` holds the best line cosine of the first and second
    documents. ``line_mean`` is the mean cosine of the question with the lines of the
    first document's best passage and ``line_centroid`` its cosine with their centroid
    (the normalised mean of their vectors): both default to the best line, which reads
    as a passage of one line.
    """
    if not len(document_ids):
        return [0.0] * (len(FEATURES) - 1) + [1.0]
    top_doc = document_ids[0]
    covered = min(float(coverage[0]), 1.0)
    best_bm25_doc = document_ids[int(np.argmax(bm25))] if float(bm25.max()) > 0 else None
    best_dense_doc = document_ids[int(np.argmax(dense))]
    agree = 1.0 if best_bm25_doc == best_dense_doc == top_doc else 0.0
    first = float(line_cos[0]) if len(line_cos) else 0.0
    second = float(line_cos[1]) if len(line_cos) > 1 else 0.0
    mean = first if line_mean is None else float(line_mean)
    centroid = first if line_centroid is None else float(line_centroid)
    return [
        float(dense[0]),
        first,
        first - second,
        first - mean,
        centroid,
        covered,
        agree,
        agree * float(dense[0]),
        1.0,
    ]
