"""srmkb's stages of the scale suite; each runs in a fresh process (see ``scale.py``).

``build``: ingest the set with precomputed vectors (embedding is timed apart, on a
sample), close, measure the directory. ``serve``: in a new process, load the model,
reopen the base, time queries of every kind, then add documents one at a time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from _scale_data import extra_passages, scale_set
from _timing import Stopwatch, disk_mb, rss_mb, summary, timed
from _vectors import LookupEmbedder, load_minilm
from bm25_speed import unseen_term_scoring
from srmkb import Document, KnowledgeBase
from srmkb.models import Embedder
from srmkb.text.analysis import analyzer_for


def build(n: int, folder: Path, factory: str, batch_size: int) -> dict[str, object]:
    texts, vectors = scale_set(n)
    embedder = LookupEmbedder(texts, vectors, model=None)
    inputs = rss_mb()["rss_now_mb"]
    docs = (Document(id=f"p{i}", text=t, language="en") for i, t in enumerate(texts))
    with Stopwatch() as sw:
        kb = KnowledgeBase(folder, model=embedder, dense_index=factory)
        kb.upsert(docs, batch_size=batch_size)
        segments = kb.index.segments
        kb.close()
    return {
        "build_s": round(sw.seconds, 2),
        "passages_per_s": round(n / sw.seconds, 1),
        "batch_size": batch_size,
        "segments": segments,
        "disk_mb": disk_mb(folder),
        "rss_inputs_mb": inputs,
        **rss_mb(),
    }


class Counting:
    """An embedder wrapper that counts embedded documents: reopening must embed none."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.documents = inner, 0
        self.model_id, self.dimension = inner.model_id, inner.dimension

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.documents += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


class Given:
    """Query vectors embedded beforehand: times the search without the embedding."""

    def __init__(self, inner: Embedder, vectors: dict[str, np.ndarray]) -> None:
        self.inner, self.vectors = inner, vectors
        self.model_id, self.dimension = inner.model_id, inner.dimension

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.vectors[text]


def serve(
    n: int, folder: Path, queries: list[str], exact_file: Path, hnsw: bool
) -> dict[str, object]:
    """Reopen, query, add documents. ``exact_file``: the exact dense top 10 per query,
    written by the Flat run and read by the HNSW run to measure its recall."""
    with Stopwatch() as load:
        model = load_minilm()
        model.embed_query("warm up")
    counting = Counting(model)
    before = rss_mb()["rss_now_mb"]
    with Stopwatch() as reopen:
        kb = KnowledgeBase(folder, model=counting, create=False)
    with Stopwatch() as first:
        kb.search(queries[0], k=10, mode="hybrid")
    out: dict[str, object] = {
        "model_load_s": round(load.seconds, 3),
        "rss_before_open_mb": before,
        "open_s": round(reopen.seconds, 3),
        "first_query_s": round(first.seconds, 3),
        "reopen_s": round(reopen.seconds + first.seconds, 3),
        "reembedded_on_open": counting.documents,
        "rss_open_mb": rss_mb()["rss_now_mb"],
    }
    embed_ms = timed(model.embed_query, queries)
    qvecs = {q: model.embed_query(q) for q in queries}
    snap = kb.index.snapshot
    assert snap.dense is not None

    def dense_rows(q: str) -> np.ndarray:
        return snap.dense.search(qvecs[q], 10, snap.live)[0]  # type: ignore[union-attr]

    lat = {
        "query_embedding": summary(embed_ms),
        "dense_e2e": summary(timed(lambda q: kb.search(q, k=10, mode="dense"), queries)),
        "dense_search": summary(timed(dense_rows, queries)),
        "hybrid_e2e": summary(timed(lambda q: kb.search(q, k=10, mode="hybrid"), queries)),
    }
    top = {q: [str(snap.document_ids[r]) for r in dense_rows(q)] for q in queries}
    if hnsw:
        exact = json.loads(exact_file.read_text())
        found = [len(set(top[q]) & set(exact[q])) / max(len(exact[q]), 1) for q in queries]
        out["hnsw_recall@10"] = round(float(np.mean(found)), 4)
    else:
        exact_file.write_text(json.dumps(top))
        analyzer = analyzer_for("en")
        tokens = [analyzer.analyze(q) for q in queries]
        # Scoring plus top 10 alone (a view keeps nothing per term between queries).
        lat["bm25_scoring"] = summary(unseen_term_scoring(snap.lexical, tokens))
        lat["bm25_e2e"] = summary(timed(lambda q: kb.search(q, k=10, mode="bm25"), queries))
    # The same searches without the query embedding: the base opened with the vectors.
    given = KnowledgeBase(folder, model=Given(model, qvecs), create=False)
    lat["hybrid_given_vector"] = summary(
        timed(lambda q: given.search(q, k=10, mode="hybrid", log=False), queries)
    )
    given.close()
    out["latency"] = lat
    out.update(rss_mb())
    out["disk_mb"] = disk_mb(folder)
    out.update(add_documents(kb, n, queries[0]))
    kb.close()
    return out


def add_documents(kb: KnowledgeBase, n: int, query: str) -> dict[str, object]:
    """Add five real passages one at a time (each embedded by the model), timing each add
    and the first hybrid search after it (which pays for the new snapshot's caches)."""
    adds, after = [], []
    for i, text in enumerate(extra_passages(n)):
        with Stopwatch() as add:
            kb.upsert([Document(id=f"new{i}", text=text, language="en")])
        with Stopwatch() as search:
            kb.search(query, k=10, mode="hybrid")
        adds.append(add.seconds * 1000)
        after.append(search.seconds * 1000)
    return {"add_one": summary(adds), "first_query_after_add": summary(after)}
