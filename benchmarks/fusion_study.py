"""Fusion study: how candidate fusion rules rank on the shared English sets.

    python benchmarks/fusion_study.py [SET ...]

srmkb's own passages, BM25 and MiniLM embeddings (cached under
``~/.cache/srmkb-bench``); candidates are the union of each retriever's top 100
passages, each scored by both; documents rank by their best passage. Prints nDCG@10 per
rule and writes ``benchmarks/results/fusion-study.json`` and ``fusion-study.md``. This
is the evidence behind the rule in ``srmkb/index/fusion.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _cache import cached_embeddings
from srmkb.evaluation import load_beir, ndcg_at
from srmkb.index.fusion import fuse, zscore
from srmkb.index.lexical import LexicalIndex
from srmkb.index.postings import LexicalSegment
from srmkb.models import minilm
from srmkb.text.analysis import analyzer_for
from srmkb.text.chunking import chunk_document

HERE = Path(__file__).resolve().parent
BEIR = HERE.parent.parent / "shared" / "data" / "beir"
SETS = ["covidfaq", "cranfield", "banking77", "hint3-sofmattress", "scifact"]
N_CAND = 100

Rule = Callable[[np.ndarray, np.ndarray, float], np.ndarray]


def _rank(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(-x))


def _fixed(w: float) -> Rule:
    return lambda b, d, m: w * zscore(b) + (1 - w) * zscore(d)


def _scaled(alpha: float) -> Rule:
    def rule(b: np.ndarray, d: np.ndarray, m: float) -> np.ndarray:
        cov = min(b.max() / m, 1.0) if m > 0 else 0.0
        w = min(alpha * cov * (1 - d.max()), 1.0)
        return w * zscore(b) + (1 - w) * zscore(d)

    return rule


def _coverage_only(b: np.ndarray, d: np.ndarray, m: float) -> np.ndarray:
    w = (min(b.max() / m, 1.0) if m > 0 else 0.0) / 2
    return w * zscore(b) + (1 - w) * zscore(d)


RULES: dict[str, Rule] = {
    "bm25 alone": lambda b, d, m: b,
    "dense alone": lambda b, d, m: d,
    "RRF k=60 (equal weights)": lambda b, d, m: 1 / (60 + _rank(b)) + 1 / (60 + _rank(d)),
    "z-score, w_bm25=0.1": _fixed(0.1),
    "z-score, w_bm25=0.3": _fixed(0.3),
    "z-score, w_bm25=0.5": _fixed(0.5),
    "z-score, w_bm25=coverage/2": _coverage_only,
    "srmkb: w_bm25=coverage·(1−cos) ×0.8": _scaled(0.8),
    "srmkb: w_bm25=coverage·(1−cos)": lambda b, d, m: fuse(b, d, b.max() / m if m > 0 else 0.0),
    "srmkb: w_bm25=coverage·(1−cos) ×1.25": _scaled(1.25),
}


def prepare(name: str, embedder):  # type: ignore[no-untyped-def]
    data = load_beir(BEIR / name)
    passages = [p for doc in data.corpus for p in chunk_document(doc)]
    analyzer = analyzer_for("en")
    lex = LexicalIndex(
        [LexicalSegment.build([analyzer.analyze(p.indexed_text) for p in passages])],
        np.ones(len(passages), bool),
    )
    qids = list(data.queries)
    pvec = cached_embeddings(embedder, [p.indexed_text for p in passages])
    qvec = cached_embeddings(embedder, [data.queries[q] for q in qids], query=True)
    docs = sorted({p.document_id for p in passages})
    index = {d: i for i, d in enumerate(docs)}
    p2d = np.array([index[p.document_id] for p in passages])
    per_query = []
    for j, q in enumerate(qids):
        bm25, mass = lex.scores(analyzer.analyze(data.queries[q]))
        dense = pvec @ qvec[j]
        cand = np.union1d(np.argsort(-bm25)[:N_CAND], np.argsort(-dense)[:N_CAND])
        per_query.append(
            (q, cand, bm25[cand].astype(np.float64), dense[cand].astype(np.float64), mass)
        )
    return data.qrels, docs, p2d, per_query


def score(rule: Rule, qrels, docs, p2d, per_query) -> float:  # type: ignore[no-untyped-def]
    total = 0.0
    for q, cand, bm25, dense, mass in per_query:
        fused = rule(bm25, dense, mass)
        best = np.full(len(docs), -np.inf)
        np.maximum.at(best, p2d[cand], fused)
        order = np.argsort(-best)[:10]
        total += ndcg_at([docs[i] for i in order if np.isfinite(best[i])], qrels[q])
    return total / len(per_query)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", metavar="SET", help="shared sets (default: all)")
    sets = parser.parse_args().sets or SETS
    embedder = minilm()
    table: dict[str, dict[str, float]] = {rule: {} for rule in RULES}
    for name in sets:
        prepared = prepare(name, embedder)
        for rule, fn in RULES.items():
            table[rule][name] = round(score(fn, *prepared), 4)
        print(name, {r: v[name] for r, v in table.items()}, flush=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "fusion-study.json").write_text(
        json.dumps({"sets": sets, "ndcg@10": table}, indent=2) + "\n"
    )
    lines = [
        "| rule | " + " | ".join(sets) + " | worst margin vs best single |",
        "|---|" + "---|" * (len(sets) + 1),
    ]
    for rule, row in table.items():
        margin = min(row[s] - max(table["bm25 alone"][s], table["dense alone"][s]) for s in sets)
        lines.append(
            f"| {rule} | " + " | ".join(f"{row[s]:.4f}" for s in sets) + f" | {margin:+.4f} |"
        )
    (out / "fusion-study.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
