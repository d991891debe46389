"""Retrieval quality of srmkb and its peers on every shared BEIR set, in one process.

    python benchmarks/quality.py [--sets scifact covidfaq ...] [--systems ...]

Every system sees the same documents (title + text) and, where it is dense, vectors from
the same MiniLM model (``_vectors``: embedded once, cached outside git). srmkb indexes
each document as it would in use (cut into passages of at most 100 words, a document
ranked by its best passage); the peers index whole documents, as their examples do.
All runs are scored by ``srmkb.evaluation`` (nDCG@10, MRR@10, recall@100), the code
``srmkb eval`` uses. Result: ``results/quality-<stamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _peers import Bm25s, LangChainDense, LangChainEnsemble, RankBM25, Retriever, Txtai
from _record import PEER_PACKAGES, load_average, provenance, write_result
from _vectors import CachedEmbedder, VectorCache
from srmkb import KnowledgeBase
from srmkb.evaluation import BeirSet, evaluate_run, load_beir
from srmkb.text.language import detect_language

HERE = Path(__file__).resolve().parent
BEIR = HERE.parent.parent / "shared" / "data" / "beir"
SETS = sorted(p.name for p in BEIR.iterdir() if (p / "corpus.jsonl").exists())
SRMKB = ["srmkb bm25", "srmkb dense", "srmkb hybrid"]
PEERS = ["rank-bm25", "bm25s", "LangChain FAISS", "LangChain ensemble", "txtai hybrid"]
DEPTH = 100  # documents ranked per query: enough for recall@100


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def corpus_language(data: BeirSet) -> str:
    sample = " ".join(f"{d.title} {d.text}" for d in data.corpus[:30])
    language = detect_language(sample[:20000])
    return language if language in ("en", "fr") else "en"


def run_system(retriever: Retriever, queries: dict[str, str]) -> tuple[dict[str, list[str]], float]:
    """Rank documents for every query; returns the run and mean ms per query."""
    run: dict[str, list[str]] = {}
    start = time.perf_counter()
    for qid, text in queries.items():
        run[qid] = retriever.search(text, DEPTH)
    return run, (time.perf_counter() - start) * 1000 / max(len(queries), 1)


class SrmkbMode:
    """srmkb's documents ranked by best passage, in one mode, from one shared base."""

    def __init__(self, kb: KnowledgeBase, mode: str) -> None:
        self.kb, self.mode, self.name = kb, mode, f"srmkb {mode}"

    def search(self, query: str, k: int) -> list[str]:
        ranked = self.kb.rank_documents(query, k, mode=self.mode, audience="agent")  # type: ignore[arg-type]
        return [doc for doc, _ in ranked]


def evaluate_set(name: str, systems: list[str], tmp: Path) -> list[dict[str, object]]:
    data = load_beir(BEIR / name)
    language = corpus_language(data)
    embedder = CachedEmbedder(VectorCache())
    ids = [d.id for d in data.corpus]
    texts = [f"{d.title} {d.text}".strip() for d in data.corpus]
    # Embed what is missing once, with progress, before anything is timed.
    log(f"{name}: {len(texts)} documents, {len(data.queries)} queries, corpus {language}")
    embedder.embed_queries(list(data.queries.values()))
    vectors = embedder.embed_documents(texts) if set(systems) - set(SRMKB) else None

    builders: dict[str, Callable[[], Retriever]] = {
        "rank-bm25": lambda: RankBM25(ids, texts),
        "bm25s": lambda: Bm25s(ids, texts, language),
        "LangChain FAISS": lambda: LangChainDense(ids, texts, vectors, embedder),
        "LangChain ensemble": lambda: LangChainEnsemble(ids, texts, vectors, embedder, DEPTH),
        "txtai hybrid": lambda: Txtai(ids, texts, embedder.embed_any),
    }
    rows: list[dict[str, object]] = []
    kb = None
    for system in systems:
        start = time.perf_counter()
        if system in SRMKB:
            if kb is None:
                kb = KnowledgeBase(tmp / name, model=embedder)
                kb.upsert(data.corpus)
            retriever: Retriever = SrmkbMode(kb, system.split()[1])
        else:
            retriever = builders[system]()
        index_s = time.perf_counter() - start
        run, ms = run_system(retriever, data.queries)
        metrics = evaluate_run(run, data.qrels)
        row = {
            "set": name,
            "system": system,
            **{k: round(v, 4) for k, v in metrics.items()},
            "index_s": round(index_s, 2),
            "query_ms_mean": round(ms, 2),
            "n_docs": len(ids),
            "n_queries": len(data.queries),
            "corpus_language": language,
        }
        log(json.dumps(row))
        rows.append(row)
    if kb is not None:
        kb.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=SETS)
    parser.add_argument("--systems", nargs="+", default=SRMKB + PEERS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    record = {**provenance("quality", PEER_PACKAGES), "load_average_start": load_average()}
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="srmkb-quality-") as tmp:
        for name in args.sets:
            rows += evaluate_set(name, args.systems, Path(tmp))
    record.update(
        {
            "load_average_end": load_average(),
            "data": "the shared BEIR sets in ../shared/data/beir (test qrels)",
            "depth": DEPTH,
            "results": rows,
        }
    )
    print(write_result(record))


if __name__ == "__main__":
    main()
