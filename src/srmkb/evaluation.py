"""Evaluation on BEIR-layout folders: loading, the standard metrics, and a base's
retrieval (:func:`evaluate_retrieval`) and answers (:func:`evaluate_answers`) measured
from Python as ``srmkb eval`` measures them.

Metrics follow trec_eval as BEIR reports them: nDCG@10 with linear gains
(``rel / log2(rank + 1)``), MRR@10 (first relevant result within 10), recall@100.
Documents with relevance 0 in the qrels count as not relevant.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .answering.confidence import default_model
from .documents import Document, JSONValue
from .errors import InputError
from .vocabulary import Mode

if TYPE_CHECKING:
    from .kb import KnowledgeBase

Qrels = dict[str, dict[str, int]]


@dataclass(frozen=True)
class BeirSet:
    """A BEIR-layout data set: corpus, queries and test relevance judgements."""

    name: str
    corpus: list[Document]
    queries: dict[str, str]
    qrels: Qrels


def load_beir(folder: str | Path, *, split: str = "test") -> BeirSet:
    """Load ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``.

    Only queries that have judgements are kept, as BEIR does.
    """
    folder = Path(folder)
    for name in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv"):
        if not (folder / name).is_file():
            raise InputError(f"not a BEIR folder: {name} is missing", path=str(folder))
    # An empty document can never be retrieved; BEIR sets have a few (cranfield: one).
    corpus = [
        Document.from_json(obj)
        for obj in _read_jsonl(folder / "corpus.jsonl")
        if str(obj.get("text") or "").strip() or str(obj.get("title") or "").strip()
    ]
    qrels: Qrels = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        for i, row in enumerate(reader, start=1):
            if i == 1 and row and row[0] == "query-id":
                continue
            if len(row) < 3:
                continue
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    queries = {
        str(obj["_id"]): str(obj["text"])
        for obj in _read_jsonl(folder / "queries.jsonl")
        if str(obj["_id"]) in qrels
    }
    qrels = {q: rel for q, rel in qrels.items() if q in queries}
    return BeirSet(folder.name, corpus, queries, qrels)


def _read_jsonl(path: Path) -> list[dict[str, JSONValue]]:
    out = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"malformed JSON: {exc.msg}", path=str(path), line=number) from exc
    return out


def ndcg_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    dcg = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sorted((r for r in relevant.values() if r > 0), reverse=True)[:k]
    idcg = sum(rel / math.log2(rank + 2) for rank, rel in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def mrr_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    for rank, doc in enumerate(ranked[:k]):
        if relevant.get(doc, 0) > 0:
            return 1.0 / (rank + 1)
    return 0.0


def recall_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 100) -> float:
    wanted = {d for d, r in relevant.items() if r > 0}
    if not wanted:
        return 0.0
    return len(wanted.intersection(ranked[:k])) / len(wanted)


def evaluate_run(run: Mapping[str, Sequence[str]], qrels: Qrels) -> dict[str, float]:
    """Mean nDCG@10, MRR@10 and recall@100 of ranked document ids per query."""
    n = len(qrels) or 1
    return {
        "ndcg@10": sum(ndcg_at(run.get(q, []), rel) for q, rel in qrels.items()) / n,
        "mrr@10": sum(mrr_at(run.get(q, []), rel) for q, rel in qrels.items()) / n,
        "recall@100": sum(recall_at(run.get(q, []), rel) for q, rel in qrels.items()) / n,
    }


def load_oos_queries(folder: str | Path) -> dict[str, str]:
    """Out-of-scope questions (``queries_oos.jsonl``: no answer in the base), if any."""
    path = Path(folder) / "queries_oos.jsonl"
    if not path.is_file():
        return {}
    return {str(obj["_id"]): str(obj["text"]) for obj in _read_jsonl(path)}


def auroc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    if not positives or not negatives:
        return float("nan")
    pos = sorted(positives)
    neg = sorted(negatives)
    wins = 0.0
    j = k = 0
    for p in pos:
        while j < len(neg) and neg[j] < p:
            j += 1
        k = j
        while k < len(neg) and neg[k] == p:
            k += 1
        wins += j + (k - j) / 2
    return wins / (len(pos) * len(neg))


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width bins."""
    n = len(confidences)
    if n == 0:
        return 0.0
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, c in enumerate(confidences) if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        if idx:
            conf = sum(confidences[i] for i in idx) / len(idx)
            acc = sum(1 for i in idx if correct[i]) / len(idx)
            total += len(idx) / n * abs(conf - acc)
    return total


def answer_metrics(
    confidence: Sequence[float],
    correct: Sequence[bool],
    answerable: Sequence[bool],
    threshold: float,
) -> dict[str, float]:
    """Answering quality at a threshold.

    ``correct``: the top document is relevant (always False for unanswerable questions).
    coverage = answered share of answerable questions; precision = correct share of all
    answered questions (an answered out-of-scope question counts as wrong);
    oos_abstention = declined share of unanswerable questions; auroc separates correct
    answers from unanswerable questions; ece over all questions.
    """
    answered = [c >= threshold for c in confidence]
    n_ans = sum(answerable)
    n_oos = len(answerable) - n_ans
    n_answered = sum(answered)
    return {
        "coverage": sum(a for a, q in zip(answered, answerable) if q) / n_ans if n_ans else 0.0,
        "precision": (
            sum(1 for a, c in zip(answered, correct) if a and c) / n_answered if n_answered else 0.0
        ),
        "oos_abstention": (
            sum(1 for a, q in zip(answered, answerable) if not q and not a) / n_oos
            if n_oos
            else float("nan")
        ),
        "auroc": auroc(
            [c for c, ok, q in zip(confidence, correct, answerable) if q and ok],
            [c for c, q in zip(confidence, answerable) if not q],
        ),
        "ece": expected_calibration_error(list(confidence), list(correct)),
    }


def evaluate_retrieval(
    kb: KnowledgeBase, data: BeirSet, *, mode: Mode = "hybrid", depth: int = 100
) -> dict[str, Any]:
    """nDCG@10, MRR@10, recall@100 and query latency of ``kb`` (holding ``data.corpus``)
    on ``data``'s queries, documents ranked by their best passage, as an agent sees them."""
    run: dict[str, list[str]] = {}
    latencies: list[float] = []
    for qid, text in data.queries.items():
        start = time.perf_counter()
        ranked = kb.rank_documents(text, depth, mode=mode, audience="agent")
        latencies.append((time.perf_counter() - start) * 1000)
        run[qid] = [doc for doc, _ in ranked]
    metrics = evaluate_run(run, data.qrels)
    return {
        "set": data.name,
        "mode": mode,
        "model": kb.model_id,
        **{k: round(v, 4) for k, v in metrics.items()},
        "latency_ms": percentiles(latencies),
        "n_docs": len(data.corpus),
        "n_queries": len(data.queries),
    }


def evaluate_answers(
    kb: KnowledgeBase,
    data: BeirSet,
    unanswerable: Mapping[str, str] | None = None,
    *,
    progress: Callable[[int], object] | None = None,
) -> dict[str, Any]:
    """Coverage, precision, abstention on ``unanswerable`` questions (see
    :func:`load_oos_queries`), AUROC and calibration of ``kb``'s answers at its model's
    threshold; every question is answered with threshold 0 and judged against it."""
    questions = [(q, t, True) for q, t in data.queries.items()]
    questions += [(q, t, False) for q, t in (unanswerable or {}).items()]
    confidence: list[float] = []
    correct: list[bool] = []
    answerable: list[bool] = []
    latencies: list[float] = []
    for qid, text, in_scope in questions:
        start = time.perf_counter()
        answer = kb.answer(text, channel="chat", audience="agent", threshold=0.0, log=False)
        latencies.append((time.perf_counter() - start) * 1000)
        relevant = data.qrels.get(qid, {}) if in_scope else {}
        confidence.append(answer.confidence)
        correct.append(bool(answer.document_id and relevant.get(answer.document_id, 0) > 0))
        answerable.append(in_scope)
        if progress is not None:
            progress(1)
    threshold = default_model(kb.model_id).threshold
    metrics = answer_metrics(confidence, correct, answerable, threshold)
    return {
        "set": data.name,
        "mode": "answers",
        "model": kb.model_id,
        "threshold": threshold,
        **{k: round(v, 4) for k, v in metrics.items()},
        "latency_ms": percentiles(latencies),
        "n_answerable": sum(answerable),
        "n_unanswerable": len(answerable) - sum(answerable),
    }


def percentiles(latencies: Sequence[float]) -> dict[str, float]:
    """p50 and p95 of latencies, rounded."""
    if not latencies:
        return {"p50": 0.0, "p95": 0.0}
    return {
        "p50": round(float(np.percentile(latencies, 50)), 3),
        "p95": round(float(np.percentile(latencies, 95)), 3),
    }
