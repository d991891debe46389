"""``srmkb eval``: retrieval (nDCG, MRR, recall, latency) or answers (coverage,
precision, abstention) measured on a BEIR-layout folder."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..answering.confidence import default_model
from ..evaluation import BeirSet, answer_metrics, evaluate_run, load_beir, load_oos_queries
from ..kb import KnowledgeBase
from ._common import EXIT_OK, progress


def evaluate(args: argparse.Namespace) -> int:
    data = load_beir(args.folder, split=args.split)
    with tempfile.TemporaryDirectory(prefix="srmkb-eval-") as tmp:
        path = Path(args.kb) if args.kb else Path(tmp) / "kb"
        kb = KnowledgeBase(
            path, model=args.model, dense=args.mode != "bm25", log_interactions=False
        )
        start = time.perf_counter()
        with progress(len(data.corpus), f"index {data.name}", args.quiet) as bar:
            kb.upsert(data.corpus, progress=bar.update)
        index_seconds = time.perf_counter() - start
        if args.answers:
            answers = _eval_answers(kb, data, Path(args.folder), args.quiet)
            kb.close()
            answers["index_seconds"] = round(index_seconds, 3)
            _print_answers(answers, args.json)
            return EXIT_OK
        run: dict[str, list[str]] = {}
        latencies: list[float] = []
        for qid, text in data.queries.items():
            t0 = time.perf_counter()
            ranked = kb.rank_documents(text, 100, mode=args.mode, audience="agent")
            latencies.append((time.perf_counter() - t0) * 1000)
            run[qid] = [doc for doc, _ in ranked]
        kb.close()
    metrics = evaluate_run(run, data.qrels)
    result: dict[str, Any] = {
        "set": data.name,
        "mode": args.mode,
        "model": kb.model_id,
        **{k: round(v, 4) for k, v in metrics.items()},
        "latency_ms": _percentiles(latencies),
        "index_seconds": round(index_seconds, 3),
        "n_docs": len(data.corpus),
        "n_queries": len(data.queries),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{data.name} {args.mode}: nDCG@10 {result['ndcg@10']:.4f}"
            f"  MRR@10 {result['mrr@10']:.4f}"
            f"  recall@100 {result['recall@100']:.4f}  p50 {result['latency_ms']['p50']} ms"
            f"  ({result['n_docs']} docs, {result['n_queries']} queries, indexed in"
            f" {result['index_seconds']:.1f} s)"
        )
    return EXIT_OK


def _eval_answers(kb: KnowledgeBase, data: BeirSet, folder: Path, quiet: bool) -> dict[str, Any]:
    oos = load_oos_queries(folder)
    questions = [(q, t, True) for q, t in data.queries.items()]
    questions += [(q, t, False) for q, t in oos.items()]
    confidence: list[float] = []
    correct: list[bool] = []
    answerable: list[bool] = []
    latencies: list[float] = []
    with progress(len(questions), "answer", quiet) as bar:
        for qid, text, in_scope in questions:
            t0 = time.perf_counter()
            answer = kb.answer(text, channel="chat", audience="agent", threshold=0.0)
            latencies.append((time.perf_counter() - t0) * 1000)
            relevant = data.qrels.get(qid, {}) if in_scope else {}
            confidence.append(answer.confidence)
            correct.append(bool(answer.document_id and relevant.get(answer.document_id, 0) > 0))
            answerable.append(in_scope)
            bar.update(1)
    threshold = default_model(kb.model_id).threshold
    metrics = answer_metrics(confidence, correct, answerable, threshold)
    return {
        "set": data.name,
        "mode": "answers",
        "model": kb.model_id,
        "threshold": threshold,
        **{k: round(v, 4) for k, v in metrics.items()},
        "latency_ms": _percentiles(latencies),
        "n_answerable": sum(answerable),
        "n_unanswerable": len(answerable) - sum(answerable),
    }


def _percentiles(latencies: Sequence[float]) -> dict[str, float]:
    import numpy as np

    return {
        "p50": round(float(np.percentile(latencies, 50)), 3),
        "p95": round(float(np.percentile(latencies, 95)), 3),
    }


def _print_answers(result: dict[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    print(
        f"{result['set']} answers at threshold {result['threshold']}: coverage"
        f" {result['coverage']}, precision {result['precision']}, oos_abstention"
        f" {result['oos_abstention']}, auroc {result['auroc']}, ece {result['ece']}"
    )
