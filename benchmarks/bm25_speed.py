"""BM25 query speed at 100k passages: srmkb against rank-bm25 and bm25s, same process, same tokens.

    python benchmarks/bm25_speed.py [--passages 100000] [--queries 200] [--rank-bm25-queries 30]

The passages are real text: every shared BEIR corpus (SciFact, Cranfield, banking77,
covidfaq, hint3, LibreOffice help in both languages, service-public.fr) cut into
windows of 25 words, in file order, until the count is reached. Queries are SciFact's.
srmkb is timed end to end through ``KnowledgeBase.search(mode="bm25")`` (analysis,
scoring, top-k, hits read from SQLite) and for scoring plus top-10 alone, which is what
the peers are timed for. rank-bm25 scores every document in a Python loop, so it gets
fewer queries. Results: ``benchmarks/results/bm25-speed-<stamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

from _record import provenance, write_result
from srmkb import Document, KnowledgeBase
from srmkb.text.analysis import analyzer_for

HERE = Path(__file__).resolve().parent
BEIR = HERE.parent.parent / "shared" / "data" / "beir"
SOURCES = [
    "scifact",
    "cranfield",
    "banking77",
    "covidfaq",
    "hint3-sofmattress",
    "libreoffice-help-fr2en",
    "libreoffice-help-en2fr",
    "service-public-fr",
]


def passages(n: int, window: int = 25) -> list[str]:
    out: list[str] = []
    for name in SOURCES:
        with open(BEIR / name / "corpus.jsonl", encoding="utf-8") as handle:
            for line in handle:
                obj = json.loads(line)
                words = (obj.get("title", "") + " " + obj.get("text", "")).split()
                for start in range(0, len(words), window):
                    out.append(" ".join(words[start : start + window]))
                    if len(out) == n:
                        return out
    raise SystemExit(f"only {len(out)} passages available, asked for {n}")


def timed(fn, items) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def summary(ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "mean_ms": round(float(np.mean(ms)), 3),
        "n": len(ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rank-bm25-queries", type=int, default=30)
    args = parser.parse_args()

    texts = passages(args.passages)
    with open(BEIR / "scifact" / "queries.jsonl", encoding="utf-8") as handle:
        queries = [json.loads(line)["text"] for line in handle][: args.queries]
    analyzer = analyzer_for("en")
    tokens = [analyzer.analyze(t) for t in texts]
    q_tokens = [analyzer.analyze(q) for q in queries]
    results: dict[str, object] = {}

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        kb = KnowledgeBase(Path(tmp) / "kb", dense=False)
        kb.upsert((Document(id=f"p{i}", text=t) for i, t in enumerate(texts)), batch_size=5000)
        build = time.perf_counter() - t0
        kb.search(queries[0], mode="bm25")
        e2e = timed(lambda q: kb.search(q, k=10, mode="bm25"), queries)
        lex = kb.index.snapshot.lexical

        def srmkb_query(q: list[str]) -> None:
            scores, _ = lex.scores(q)
            np.argpartition(-scores, 10)[:10]

        score_only = timed(srmkb_query, q_tokens)
        results["srmkb"] = {
            "end_to_end": summary(e2e),
            "scoring": summary(score_only),
            "index_seconds": round(build, 2),
            "version": version("srmkb"),
        }
        kb.close()

    import bm25s

    t0 = time.perf_counter()
    retriever = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    retriever.index(tokens, show_progress=False)
    build = time.perf_counter() - t0

    def bm25s_query(q: list[str]) -> None:
        scores = retriever.get_scores(q)
        np.argpartition(-scores, 10)[:10]

    results["bm25s"] = {
        "scoring": summary(timed(bm25s_query, q_tokens)),
        "index_seconds": round(build, 2),
        "version": version("bm25s"),
    }

    from rank_bm25 import BM25Okapi

    t0 = time.perf_counter()
    okapi = BM25Okapi(tokens)
    build = time.perf_counter() - t0

    def okapi_query(q: list[str]) -> None:
        scores = okapi.get_scores(q)
        np.argpartition(-scores, 10)[:10]

    results["rank-bm25"] = {
        "scoring": summary(timed(okapi_query, q_tokens[: args.rank_bm25_queries])),
        "index_seconds": round(build, 2),
        "version": version("rank-bm25"),
    }

    # Ratios > 1 mean srmkb is faster. "scoring" compares like with like (scores for every
    # passage plus the top 10); "end_to_end" puts srmkb's full search (analysis, hits from
    # SQLite) against the peers' scoring alone.
    ratios = {
        kind: {
            peer: round(
                results[peer]["scoring"]["mean_ms"]  # type: ignore[index]
                / results["srmkb"][kind]["mean_ms"],  # type: ignore[index]
                2,
            )
            for peer in ("rank-bm25", "bm25s")
        }
        for kind in ("scoring", "end_to_end")
    }
    record = {
        **provenance("bm25-speed", ("bm25s", "rank-bm25", "numpy")),
        "data": f"{len(texts)} passages of 25 words from the shared BEIR corpora; SciFact queries",
        "results": results,
        "speedup_vs_peer_mean_query": ratios,
    }
    write_result(record)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
