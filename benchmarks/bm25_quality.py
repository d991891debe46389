"""BM25 quality: srmkb's lexical ranking against bm25s question by question, and k1, b.

    python benchmarks/bm25_quality.py [--sets NAME ...] [--grid 1.2:0.75,1.5:0.9] [--hybrid]

1. For each set, nDCG@10 of srmkb's BM25 and of bm25s with its Snowball stemmer and stop
   list (the strongest lexical peer, as in ``multilingual.py``), with the mean difference
   per question, its 95% bootstrap interval and a paired sign-flip randomisation p-value:
   on sets of a hundred-odd questions, whether one lexical ranker really beats another.
2. srmkb's BM25 at each ``k1:b`` of ``--grid``; with ``--hybrid``, also the hybrid of
   each embedding model (passage vectors from the benchmark cache), because a BM25
   default is worth changing only if the default search, the hybrid, gains too. The
   answer-confidence models are fitted on BM25 features at the shipped k1 and b, so a
   change would also mean refitting them.

Writes ``results/bm25-quality-<stamp>.json`` and ``results/bm25-quality-latest.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

from _paired import paired_test, per_question
from _record import RESULTS, provenance, write_result
from multilingual import (
    ALL_SETS,
    CACHE,
    CORPUS_LANGUAGE,
    MODELS,
    QueryMemo,
    load_set,
    peer_bm25s_stemmer,
    run_mode,
)
from srmkb import KnowledgeBase
from srmkb.evaluation import BeirSet
from srmkb.models import CachedEmbedder, Embedder, EmbeddingStore, load_embedder
from srmkb.storage.layout import read_manifest, write_manifest

SHIPPED = (1.2, 0.75)


def knowledge_base(
    folder: Path, params: tuple[float, float], embedder: Embedder | None, data: BeirSet
) -> KnowledgeBase:
    """A base of ``data`` with BM25's ``k1`` and ``b`` set in its manifest (where a base
    keeps them, so a base built with other values is read with its own)."""
    KnowledgeBase(folder, model=embedder, dense=embedder is not None, threads=2).close()
    manifest = read_manifest(folder)
    manifest.bm25_k1, manifest.bm25_b = params
    write_manifest(folder, manifest)
    kb = KnowledgeBase(folder, model=embedder, dense=embedder is not None, threads=2)
    kb.upsert(data.corpus)
    return kb


def ndcg(kb: KnowledgeBase, data: BeirSet, mode: str) -> np.ndarray:
    run, _ = run_mode(kb, data, mode)
    kb.close()
    return per_question(run, data)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=ALL_SETS)
    parser.add_argument("--grid", default="1.2:0.75,1.5:0.75,1.2:0.9,1.5:0.9")
    parser.add_argument("--hybrid", action="store_true", help="also the hybrid per k1:b")
    args = parser.parse_args(argv)
    grid = [tuple(float(x) for x in point.split(":")) for point in args.grid.split(",")]
    embedders: dict[str, QueryMemo] = {}
    if args.hybrid:
        store = EmbeddingStore(CACHE / "embeddings.sqlite")
        embedders = {
            name: QueryMemo(CachedEmbedder(load_embedder(name, threads=2), store))
            for name in MODELS
        }
    record = provenance("bm25-quality", ("bm25s", "PyStemmer"))
    results: dict[str, dict[str, object]] = {}
    for name in args.sets:
        data = load_set(name)
        peer = per_question(peer_bm25s_stemmer(data, CORPUS_LANGUAGE.get(name, "english")), data)
        row: dict[str, object] = {"bm25s+stemmer (peer)": round(float(peer.mean()), 4)}
        with tempfile.TemporaryDirectory(prefix="srmkb-bm25q-") as tmp:
            for k1, b in grid:
                key = f"k1={k1} b={b}"
                ours = ndcg(knowledge_base(Path(tmp) / key, (k1, b), None, data), data, "bm25")
                row[f"bm25 {key}"] = round(float(ours.mean()), 4)
                if (k1, b) == SHIPPED:
                    row["srmkb vs bm25s"] = paired_test(ours, peer)
                for model, embedder in embedders.items():
                    kb = knowledge_base(Path(tmp) / f"{key}-{model}", (k1, b), embedder, data)
                    row[f"hybrid {model} {key}"] = round(float(ndcg(kb, data, "hybrid").mean()), 4)
        results[name] = row
        print(name, json.dumps(row), flush=True)
    record["results"] = results
    path = write_result(record)
    (RESULTS / "bm25-quality-latest.md").write_text(render(record))
    print("wrote", path)
    return 0


def render(record: dict[str, object]) -> str:
    results: dict[str, dict[str, object]] = record["results"]  # type: ignore[assignment]
    lines = [
        "# BM25 quality: srmkb against bm25s, and k1, b (nDCG@10)",
        "",
        f"`{record['command']}` at {record['git_commit']} on {record['date']}.",
        "",
        "srmkb BM25 (shipped k1 1.2, b 0.75) against bm25s with its Snowball stemmer, per"
        " question: mean difference, 95% bootstrap interval, paired sign-flip p-value, and"
        " questions won / lost.",
        "",
        "| set | srmkb | bm25s | difference | 95% interval | p | won / lost |",
        "|---|---|---|---|---|---|---|",
    ]
    shipped = f"bm25 k1={SHIPPED[0]} b={SHIPPED[1]}"
    for name, row in results.items():
        test = row.get("srmkb vs bm25s")
        if not isinstance(test, dict):
            continue
        low, high = test["ci95"]
        lines.append(
            f"| {name} | {row[shipped]:.3f} | {row['bm25s+stemmer (peer)']:.3f} |"
            f" {test['difference']:+.4f} | [{low:+.3f}, {high:+.3f}] | {test['p']:.3f} |"
            f" {test['wins']} / {test['losses']} |"
        )
    columns = [c for c in next(iter(results.values()), {}) if c.startswith(("bm25 ", "hybrid "))]
    if columns:
        lines += ["", "k1 and b:", "", "| set | " + " | ".join(columns) + " |"]
        lines.append("|---" * (len(columns) + 1) + "|")
        for name, row in results.items():
            lines.append(f"| {name} | " + " | ".join(f"{row[c]:.4f}" for c in columns) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
