"""The same questions through LangChain's hybrid retriever and through srmkb's LangChain retriever.

    python benchmarks/langchain_compare.py [--sets covidfaq banking77] [--queries N]

LangChain: ``EnsembleRetriever`` of ``BM25Retriever`` (langchain-community) and a
``FAISS`` vector store, equal weights, its defaults, over whole documents as its
examples index them (``_peers.LangChainEnsemble``, the peer of ``quality.py``). srmkb:
``srmkb.integrations.langchain.SrmkbRetriever`` over a base of the same documents, cut
into passages as srmkb does, with ``log=False`` (LangChain logs nothing either), twice:
with ``collapse="document"`` (one passage per document, its best, so ten results are ten
documents, as LangChain's are) and without (the ten best passages). Both
embed with the same all-MiniLM-L6-v2 (srmkb's int8 ONNX model behind one
``CachedEmbedder``: document vectors from the benchmark cache, every question embedded
live), so the only difference is the retrieval.

Each system is asked for 10 results per question, as a user wanting ten would ask
(``k=10``; LangChain's ensemble fuses the top 10 of each of its two retrievers), through
``retriever.invoke``; the document ids, duplicates dropped (srmkb's passages without
``collapse``: a long document may fill several of the ten places), are scored by ``srmkb.evaluation``
(nDCG@10, MRR@10). Latency is the wall time of one ``invoke``,
question embedding included, the two systems alternating question by question so both
see the same load on shared cores. Results: ``results/langchain-compare-<stamp>.json``
and ``results/langchain-compare-latest.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _peers import LangChainEnsemble
from _record import PEER_PACKAGES, RESULTS, load_average, provenance, provenance_line, write_result
from _vectors import CachedEmbedder, VectorCache
from srmkb import KnowledgeBase
from srmkb.evaluation import BeirSet, evaluate_run, load_beir, percentiles
from srmkb.integrations.langchain import SrmkbRetriever

HERE = Path(__file__).resolve().parent
BEIR = HERE.parent.parent / "shared" / "data" / "beir"
SETS = ["covidfaq", "banking77"]
DEPTH = 10  # results each retriever is asked for per question
WARMUP = 5
SUITE = "langchain-compare"
PACKAGES = PEER_PACKAGES


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def document_ids(invoke: Callable[[str], list], field: str) -> Callable[[str], list[str]]:
    """Ranked distinct document ids of what ``invoke`` returns (``metadata[field]``)."""

    def ranked(question: str) -> list[str]:
        return list(dict.fromkeys(d.metadata[field] for d in invoke(question)))

    return ranked


def compare_set(name: str, tmp: Path, limit: int | None) -> list[dict[str, object]]:
    data: BeirSet = load_beir(BEIR / name)
    questions = dict(list(data.queries.items())[:limit])
    qrels = {q: data.qrels[q] for q in questions}
    embedder = CachedEmbedder(VectorCache(runtime="onnx"), live_queries=True)
    ids = [d.id for d in data.corpus]
    texts = [f"{d.title} {d.text}".strip() for d in data.corpus]
    log(f"{name}: {len(ids)} documents, {len(questions)} questions")

    start = time.perf_counter()
    vectors = embedder.embed_documents(texts)
    ensemble = LangChainEnsemble(ids, texts, vectors, embedder, k=DEPTH)
    langchain_s = time.perf_counter() - start
    start = time.perf_counter()
    kb = KnowledgeBase(tmp / name, model=embedder, log_interactions=False)
    kb.upsert(data.corpus)
    srmkb_s = time.perf_counter() - start
    systems = {
        "LangChain EnsembleRetriever (BM25Retriever + FAISS)": (
            document_ids(ensemble.ensemble.invoke, "id"),
            langchain_s,
        ),
        "srmkb SrmkbRetriever (hybrid, collapse='document')": (
            document_ids(
                SrmkbRetriever(kb, k=DEPTH, log=False, collapse="document").invoke,
                "document_id",
            ),
            srmkb_s,
        ),
        "srmkb SrmkbRetriever (hybrid, passages)": (
            document_ids(SrmkbRetriever(kb, k=DEPTH, log=False).invoke, "document_id"),
            srmkb_s,
        ),
    }
    runs: dict[str, dict[str, list[str]]] = {system: {} for system in systems}
    latencies: dict[str, list[float]] = {system: [] for system in systems}
    for question in list(questions.values())[:WARMUP]:
        for ranked, _ in systems.values():
            ranked(question)
    order = list(systems)
    for i, (qid, question) in enumerate(questions.items()):
        for system in order if i % 2 == 0 else order[::-1]:
            ranked = systems[system][0]
            start = time.perf_counter()
            found = ranked(question)
            latencies[system].append((time.perf_counter() - start) * 1000)
            runs[system][qid] = found[:10]
    rows: list[dict[str, object]] = []
    for system, (_, index_s) in systems.items():
        metrics = evaluate_run(runs[system], qrels)
        row = {
            "set": name,
            "system": system,
            "ndcg@10": round(metrics["ndcg@10"], 4),
            "mrr@10": round(metrics["mrr@10"], 4),
            **{f"{k}_ms": v for k, v in percentiles(latencies[system]).items()},
            "distinct_documents_mean": round(
                sum(len(r) for r in runs[system].values()) / max(len(questions), 1), 2
            ),
            "index_s": round(index_s, 2),  # first build includes loading the model
            "n_docs": len(ids),
            "n_queries": len(questions),
        }
        log(str(row))
        rows.append(row)
    rows[-1]["n_passages"] = int(kb.stats()["passages"])  # type: ignore[call-overload]
    kb.close()
    return rows


def markdown(record: dict) -> str:  # type: ignore[type-arg]
    cut = ", ".join(
        f"{row['set']}: {row['n_passages']:,} passages from {row['n_docs']} documents"
        for row in record["results"]
        if "n_passages" in row
    )
    lines = [
        "# srmkb's LangChain retriever vs LangChain's own hybrid retriever",
        "",
        "The same questions through `EnsembleRetriever(BM25Retriever, FAISS)` (equal weights,"
        " its defaults, whole documents) and through `srmkb.integrations.langchain.SrmkbRetriever`,"
        " each asked for `k=10`, all with all-MiniLM-L6-v2 (srmkb's int8 ONNX"
        " model, question embedded live). srmkb runs twice: with `collapse='document'` (each"
        " document once, by its best passage: ten results are ten documents, as LangChain's"
        " are) and without (the ten best passages, distinct documents kept: a long document"
        f" can hold several places; {cut})."
        " Latency: one `retriever.invoke`, question embedding included; the systems"
        " alternate question by question. Script: `benchmarks/langchain_compare.py`.",
        "",
        "| set | system | nDCG@10 | MRR@10 | p50 ms | p95 ms | distinct documents in 10 | questions |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in record["results"]:
        lines.append(
            f"| {row['set']} | {row['system']} | {row['ndcg@10']:.4f} | {row['mrr@10']:.4f}"
            f" | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {row['distinct_documents_mean']}"
            f" | {row['n_queries']} |"
        )
    lines += ["", provenance_line(record, load=True), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=SETS)
    parser.add_argument("--queries", type=int, default=None, help="first N questions per set")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    record = {**provenance(SUITE, PACKAGES), "load_average_start": load_average()}
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="srmkb-langchain-") as tmp:
        for name in args.sets:
            rows += compare_set(name, Path(tmp), args.queries)
    record.update(
        {
            "load_average_end": load_average(),
            "data": "the shared BEIR sets in ../shared/data/beir (test qrels)",
            "depth": DEPTH,
            "results": rows,
        }
    )
    path = write_result(record)
    (RESULTS / f"{SUITE}-latest.md").write_text(markdown(record))
    print(path)


if __name__ == "__main__":
    main()
