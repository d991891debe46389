"""What an answer is chosen from: a hybrid ranking and the confidence features drawn
from it, including the question's cosines with the lines of the best passages."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..index.filters import Filters
from ..index.protocol import Index, Ranking, StaleRead
from ..index.query import Query
from ..vocabulary import Audience
from .compose import own_heading, split_sentences
from .confidence import answer_features

# Passages an answer's confidence looks at, lines of a passage it embeds, line vectors
# kept.
EVIDENCE_DEPTH = 20
MAX_LINES = 60
LINE_CACHE = 50_000


@dataclass(frozen=True)
class Evidence:
    """The ranking of a question, its documents best first, and confidence features."""

    ranking: Ranking
    document_ids: list[str]
    features: list[float]


class LineVectors:
    """Document-side vectors of short lines (titles, sentences), cached by text."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray]) -> None:
        self._embed = embed
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, lines: list[str]) -> np.ndarray:
        with self._lock:
            missing = [line for line in dict.fromkeys(lines) if line not in self._cache]
        if missing:
            vectors = self._embed(missing)
            with self._lock:
                for line, vector in zip(missing, vectors):
                    self._cache[line] = vector
                while len(self._cache) > LINE_CACHE:
                    self._cache.popitem(last=False)
        if not lines:
            return np.zeros((0, 1), dtype=np.float32)
        with self._lock:
            found = {line: self._cache.get(line) for line in lines}
        absent = [line for line, v in found.items() if v is None]  # evicted meanwhile
        if absent:
            found.update(zip(absent, self._embed(absent)))
        return np.stack([found[line] for line in lines])  # type: ignore[misc]


def gather(
    index: Index,
    query: Query,
    lines: LineVectors,
    *,
    audience: Audience,
    filters: Filters | None,
    final: bool = True,
    k: int = EVIDENCE_DEPTH,
) -> Evidence:
    """The hybrid ranking of a question and the confidence features drawn from it.

    A passage a newer commit removed raises :class:`StaleRead` unless ``final``."""
    ranking = index.search(query, k, mode="hybrid", audience=audience, filters=filters)
    doc_ids = ranking.document_ids.tolist()
    if not doc_ids or ranking.query_vector is None or ranking.coverage is None:
        empty = np.zeros(0)
        return Evidence(ranking, doc_ids, answer_features([], empty, empty, empty, []))
    found = _line_similarities(index, ranking, lines, final)
    features = answer_features(
        doc_ids,
        # The passage's own BM25 (as the share it covers) picks BM25's best document,
        # as when the model was fitted, not the score with its document's context.
        ranking.coverage,
        ranking.parts["dense"],
        ranking.coverage,
        [best for best, _, _ in found],
        line_mean=found[0][1],
        line_centroid=found[0][2],
    )
    return Evidence(ranking, doc_ids, features)


def _line_similarities(
    index: Index, ranking: Ranking, lines: LineVectors, final: bool, n_docs: int = 2
) -> list[tuple[float, float, float]]:
    """For each of the first ``n_docs`` documents' best passages: the best cosine
    between the question and one of its lines (title, own heading or sentence), the mean
    cosine over its lines, and the cosine with the centroid of its line vectors.

    A passage's cosine dilutes a close match on one of its lines (an FAQ's question,
    one phrasing in a list of example requests); this sharper evidence is what tells
    an answerable question from a near miss. How far the best line stands above the
    others, and how close the lines are as a whole, add what the passage is about. In a
    document of sections (an FAQ chapter, a manual) a passage's question is its section
    heading, not the document's title, so the heading is one of its lines.
    """
    assert ranking.query_vector is not None
    firsts: dict[str, str] = {}
    for pid, doc in zip(ranking.passage_ids.tolist(), ranking.document_ids.tolist()):
        if doc not in firsts:
            firsts[doc] = pid
            if len(firsts) == n_docs:
                break
    records = index.passages(list(firsts.values()))
    if not final and len(records) < len(firsts):
        raise StaleRead
    out = []
    for pid in firsts.values():
        rec = records.get(pid)
        if rec is None:
            out.append((0.0, 0.0, 0.0))
            continue
        heading = own_heading(rec.section) if rec.section else ""
        titles = [rec.title] + ([heading] if heading != rec.title else [])
        texts = [line for line in titles if line] + split_sentences(rec.text)
        vectors = lines([line for line in texts if line.strip()][:MAX_LINES])
        if not len(vectors):
            out.append((0.0, 0.0, 0.0))
            continue
        cosines = vectors @ ranking.query_vector
        centre = vectors.mean(axis=0)
        norm = float(np.linalg.norm(centre))
        centroid = float(centre @ ranking.query_vector) / norm if norm > 0 else 0.0
        out.append((float(cosines.max()), float(cosines.mean()), centroid))
    return out
