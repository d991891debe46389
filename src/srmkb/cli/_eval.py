"""``srmkb eval``: retrieval (nDCG, MRR, recall, latency) or answers (coverage,
precision, abstention) measured on a BEIR-layout folder."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from ..evaluation import (
    BeirSet,
    evaluate_answers,
    evaluate_retrieval,
    load_beir,
    load_oos_queries,
)
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
        result = evaluate_retrieval(kb, data, mode=args.mode)
        kb.close()
    result["index_seconds"] = round(index_seconds, 3)
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
    unanswerable = load_oos_queries(folder)
    with progress(len(data.queries) + len(unanswerable), "answer", quiet) as bar:
        return evaluate_answers(kb, data, unanswerable, progress=bar.update)


def _print_answers(result: dict[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    print(
        f"{result['set']} answers at threshold {result['threshold']}: coverage"
        f" {result['coverage']}, precision {result['precision']}, oos_abstention"
        f" {result['oos_abstention']}, auroc {result['auroc']}, ece {result['ece']}"
    )
