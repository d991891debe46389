"""Why srmkb's BM25 scoring trailed bm25s, and what closed the gap (a study).

Its findings are in ``srmkb/index/lexical.py`` since 2026-11-25: plain ndarray views of the
memory-mapped postings, ``np.add.at``, and a cache of each recent term's rows and
contributions; the shipped scoring now runs at least as fast as the variants below.

    python benchmarks/bm25_study.py [--passages 100000] [--queries 300]

Scores the scale set's passages (``_scale_data``) for SciFact queries with srmkb's
``LexicalIndex.scores`` as shipped, with bm25s, and with two variants of srmkb's own
loop that compute the same scores (checked to 1e-5): ``ndarray views`` reads the
memory-mapped postings through plain ndarray views (no ``np.memmap`` wrapping per
slice); ``one add.at`` also gathers every term's postings and adds them with a single
``np.add.at`` instead of one fancy-indexed scatter-add per term. Each query is timed for
every candidate in turn, so load on the shared cores hits all alike. Writes
``results/bm25-study-<stamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from _record import load_average, provenance, write_result
from _scale_data import real_passages
from _timing import summary
from srmkb.index.lexical import LexicalIndex, LexicalSegment
from srmkb.text.analysis import analyzer_for

QUERIES = Path(__file__).resolve().parent.parent.parent / "shared/data/beir/scifact/queries.jsonl"


def variant(index: LexicalIndex, single_add: bool) -> Callable[[list[str]], np.ndarray]:
    """srmkb's scoring loop over plain ndarray views, optionally with one ``np.add.at``."""
    segs = [
        (seg, offset, np.asarray(seg.rows), np.asarray(seg.indptr))
        for seg, offset in zip(index.segments, index.offsets)
    ]
    _, n_docs, _ = index._stats["*"]

    def scores(terms: list[str]) -> np.ndarray:
        out = np.zeros(index.live.shape[0], dtype=np.float32)
        rows_all, weights_all = [], []
        for term, qtf in Counter(terms).items():
            gathered, df = [], 0
            for i, (seg, offset, rows, indptr) in enumerate(segs):
                t = seg.term_index(term)
                if t < 0:
                    continue
                weights, seg_df = index._segment_terms("*", i)
                if seg_df[t] == 0:
                    continue
                df += int(seg_df[t])
                start, end = int(indptr[t]), int(indptr[t + 1])
                r = rows[start:end]
                gathered.append((r + offset if offset else r, weights[start:end]))
            if df == 0:
                continue
            idf = np.float32(qtf * np.log1p((n_docs - df + 0.5) / (df + 0.5)))
            for r, w in gathered:
                if single_add:
                    rows_all.append(r)
                    weights_all.append(idf * w)
                else:
                    out[r] += idf * w
        if rows_all:
            np.add.at(out, np.concatenate(rows_all), np.concatenate(weights_all))
        return out

    return scores


def main() -> None:
    import bm25s

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--segments", type=int, default=1)
    args = parser.parse_args()
    analyzer = analyzer_for("en")
    tokens = [analyzer.analyze(t) for t in real_passages(args.passages)]
    with open(QUERIES, encoding="utf-8") as handle:
        queries = [analyzer.analyze(json.loads(x)["text"]) for x in handle][: args.queries]
    step = -(-len(tokens) // args.segments)
    with tempfile.TemporaryDirectory() as tmp:
        segments = []
        for i in range(0, len(tokens), step):
            folder = Path(tmp) / str(i)
            folder.mkdir()
            LexicalSegment.build(tokens[i : i + step]).save(folder)
            segments.append(LexicalSegment.load(folder))  # memory-mapped, as a base loads
        index = LexicalIndex(segments, np.ones(len(tokens), dtype=bool))
        peer = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
        peer.index(tokens, show_progress=False)
        candidates: dict[str, Callable[[list[str]], np.ndarray]] = {
            "srmkb LexicalIndex.scores": lambda q: index.scores(q)[0],
            "ndarray views": variant(index, single_add=False),
            "ndarray views + one add.at": variant(index, single_add=True),
            "bm25s get_scores": peer.get_scores,
        }
        reference = [index.scores(q)[0] for q in queries[:20]]
        for name, fn in candidates.items():
            if name != "bm25s get_scores":
                diff = max(float(np.abs(fn(q) - r).max()) for q, r in zip(queries, reference))
                assert diff < 1e-4, f"{name} differs by {diff}"
        times: dict[str, list[float]] = {name: [] for name in candidates}
        for _ in range(3):
            for q in queries:
                for name, fn in candidates.items():
                    start = time.perf_counter()
                    np.argpartition(-fn(q), 10)[:10]
                    times[name].append((time.perf_counter() - start) * 1000)
    record = {
        **provenance("bm25-study", ("numpy", "bm25s")),
        "load_average_end": load_average(),
        "data": f"{len(tokens)} scale passages in {len(segments)} segment(s); SciFact queries",
        "results": {name: summary(ms) for name, ms in times.items()},
    }
    print(write_result(record))
    print(json.dumps(record["results"], indent=2))


if __name__ == "__main__":
    main()
